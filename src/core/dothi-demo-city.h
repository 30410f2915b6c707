/* dothi-demo-city.h: a deterministic generator of a demo city around Buôn Ma
 * Thuột in VN-2000 / TM-3 108°30' (EPSG:9218), written as a GeoPackage. */
#pragma once

#include <gio/gio.h>
#include "dothi-types.h"

G_BEGIN_DECLS

/* Writes @path (a new GeoPackage; an existing file is an error) with the
 * layers parcels, zoning, roads, water_mains, water_valves, power_lines and
 * sensor_stations, all in EPSG:9218. @n_parcels parcels (10 000 for the
 * demo, 100 000 and 1 000 000 for benchmarks), valid and non-overlapping;
 * the same @n_parcels and @seed always give the same file contents.
 *
 * Every layer gets a GeoPackage R-tree.  @cancellable is checked every
 * 1 024 features and between layers while indexing (the parcels index of
 * a 1M city is one GDAL call of some seconds); a cancelled or failed run
 * removes the partial file. */
gboolean dothi_demo_city_write (const char        *path,
                                guint              n_parcels,
                                guint32            seed,
                                DothiProgressFunc  progress,
                                gpointer           progress_data,
                                GCancellable      *cancellable,
                                GError           **error);

/* The same in a worker thread.  @progress runs on the thread-default main
 * context of the caller, always before @callback; @progress_data must live
 * until then. */
void     dothi_demo_city_write_async  (const char          *path,
                                       guint                n_parcels,
                                       guint32              seed,
                                       GCancellable        *cancellable,
                                       DothiProgressFunc    progress,
                                       gpointer             progress_data,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
gboolean dothi_demo_city_write_finish (GAsyncResult        *result,
                                       GError             **error);

G_END_DECLS
