/* dothi-export.h: writes project layers to the formats other offices use:
 * GeoPackage, GeoJSON, CSV, Shapefile (with .cpg), DXF and DGN v7. */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"
#include "dothi-types.h"

G_BEGIN_DECLS

/* GDAL driver short name for @format ("gpkg", "geojson", "csv", "shp",
 * "dxf", "dgn", case-insensitive) or, when @format is NULL, for the
 * extension of @path; NULL if neither names a supported format. */
const char *dothi_export_driver_for (const char *format, const char *path);

/* Writes @layers (table names; NULL for all) of @project to a new file
 * @path. Formats holding one layer (GeoJSON, CSV, Shapefile, DXF, DGN)
 * take exactly one. An existing @path is DOTHI_ERROR_EXISTS; on error the
 * partial output is removed. */
gboolean dothi_export_sync (DothiProject       *project,
                            const char * const *layers,
                            const char         *path,
                            const char         *format,
                            GCancellable       *cancellable,
                            DothiProgressFunc   progress,
                            gpointer            progress_data,
                            GError            **error);

/* The same on a worker thread with its own connection to the project;
 * @progress runs on the calling thread. */
void     dothi_export_async  (DothiProject       *project,
                              const char * const *layers,
                              const char         *path,
                              const char         *format,
                              GCancellable       *cancellable,
                              DothiProgressFunc   progress,
                              gpointer            progress_data,
                              GAsyncReadyCallback callback,
                              gpointer            user_data);
gboolean dothi_export_finish (DothiProject       *project,
                              GAsyncResult       *result,
                              GError            **error);

G_END_DECLS
