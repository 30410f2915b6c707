/* dothi-mbtiles-source.h: a ShumateDataSource over an offline MBTiles
 * raster file, read in worker threads, for the map's basemap. */
#pragma once

#include <shumate/shumate.h>

G_BEGIN_DECLS

#define DOTHI_TYPE_MBTILES_SOURCE (dothi_mbtiles_source_get_type ())
G_DECLARE_FINAL_TYPE (DothiMbtilesSource, dothi_mbtiles_source, DOTHI, MBTILES_SOURCE, ShumateDataSource)

/* Opens and checks @path in a worker thread (DOTHI_ERROR_INVALID_DATA,
 * naming the file, when it is not a raster MBTiles). */
void                dothi_mbtiles_source_new_async  (const char          *path,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
DothiMbtilesSource *dothi_mbtiles_source_new_finish (GAsyncResult        *result,
                                                     GError             **error);

const char         *dothi_mbtiles_source_get_path     (DothiMbtilesSource *self);
const char         *dothi_mbtiles_source_get_name     (DothiMbtilesSource *self);
guint               dothi_mbtiles_source_get_min_zoom (DothiMbtilesSource *self);
guint               dothi_mbtiles_source_get_max_zoom (DothiMbtilesSource *self);

/* A ShumateRasterRenderer (a map source) showing this file's tiles. */
ShumateMapSource   *dothi_mbtiles_source_create_map_source (DothiMbtilesSource *self);

G_END_DECLS
