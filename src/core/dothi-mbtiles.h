/* dothi-mbtiles.h: reads an offline raster basemap in MBTiles (SQLite,
 * TMS row order) for the map's basemap source. One reader per thread. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _DothiMbtiles DothiMbtiles;

/* DOTHI_ERROR_INVALID_DATA, naming @path, if it is not an MBTiles file
 * with raster tiles (png, jpg or webp). */
DothiMbtiles *dothi_mbtiles_open  (const char *path, GError **error);
void          dothi_mbtiles_close (DothiMbtiles *self);
const char   *dothi_mbtiles_get_name   (DothiMbtiles *self);
const char   *dothi_mbtiles_get_format (DothiMbtiles *self);
int           dothi_mbtiles_get_min_zoom (DothiMbtiles *self);
int           dothi_mbtiles_get_max_zoom (DothiMbtiles *self);
/* WGS 84 bounds (west south east north), FALSE when not given. */
gboolean      dothi_mbtiles_get_bounds (DothiMbtiles *self, double bounds[4]);
/* The encoded image of XYZ tile (@x, @y) at @zoom, or NULL without error
 * when the file has none. */
GBytes       *dothi_mbtiles_get_tile (DothiMbtiles  *self,
                                      int            zoom,
                                      int            x,
                                      int            y,
                                      GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiMbtiles, dothi_mbtiles_close)

G_END_DECLS
