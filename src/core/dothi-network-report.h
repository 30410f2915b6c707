/* dothi-network-report.h: what a trace gives the crew: the valves to
 * close and the customers to notify as CSV or GeoJSON, and the printable
 * work order (A4 PDF: a map of the area, the valve table, the customers).
 * @project_path is the project the network was built from. */
#pragma once

#include <gio/gio.h>
#include "dothi-network.h"

G_BEGIN_DECLS

/* Writes @trace of @network to @out_path: "csv" (one row a valve to
 * close, then a row a customer: kind, id, layer, fid, X, Y) or "geojson"
 * (a FeatureCollection in WGS 84 with the valves, customers and lost
 * pipes, each with a "dothi:role" property); NULL @format: from the
 * extension. A temporary file renamed at the end. */
gboolean dothi_network_export_trace (const char    *project_path,
                                     DothiNetwork  *network,
                                     DothiTrace    *trace,
                                     const char    *out_path,
                                     const char    *format,
                                     GError       **error);

/* The district areas of @network (@zones from dothi_network_valve_zones)
 * as GeoJSON polygons in WGS 84 at @out_path: each zone's pipes widened
 * by @buffer_m metres on each side, with its number, pipes, length,
 * customers and boundary valves (ids, space between) as properties, for
 * import beside the network or into QGIS. A temporary file renamed at
 * the end. */
gboolean dothi_network_export_zones (const char    *project_path,
                                     DothiNetwork  *network,
                                     GPtrArray     *zones,
                                     double         buffer_m,
                                     const char    *out_path,
                                     GError       **error);

/* The work order for an isolation, A4 portrait PDF: title "PHIẾU CÔNG TÁC
 * CÔ LẬP SỰ CỐ", work order number @work_order, the break's position
 * (VN-2000 X/Y and the pipe), a map of the isolated area (pipes lost in
 * colour, valves to close numbered), the valve table (number, id, X, Y,
 * diameter, state), the customers to notify (critical first) with counts
 * by kind, and signature lines. */
gboolean dothi_network_print_work_order (const char    *project_path,
                                         DothiNetwork  *network,
                                         DothiTrace    *trace,
                                         guint          break_edge,
                                         const char    *work_order,
                                         const char    *out_path,
                                         GCancellable  *cancellable,
                                         GError       **error);

G_END_DECLS
