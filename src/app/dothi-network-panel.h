/* dothi-network-panel.h: the network window: build the topology, pick a
 * break on the map, see the valves to close and who loses water, export
 * and print the work order. */
#pragma once

#include <adwaita.h>
#include "dothi-network.h"
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_NETWORK_PANEL (dothi_network_panel_get_type ())
G_DECLARE_FINAL_TYPE (DothiNetworkPanel, dothi_network_panel, DOTHI, NETWORK_PANEL, AdwWindow)

/* A window on @project's networks, transient for @parent. The panel keeps
 * a reference to @project (main thread) for the valve edits; builds and
 * traces run in workers on read-only connections of their own.
 *
 * Properties "picking" and "busy" (booleans, read-only, notified).
 * Signals:
 *  "highlight" (const char *layer, DothiFidSet *fids): the features of
 *     edge layer @layer to show as the map's query result (the pipes lost
 *     by an isolation, the pipes reached by a trace); NULL, NULL clears it;
 *  "zoom-to" (double minx, double miny, double maxx, double maxy): an
 *     area to show, in the project CRS. */
DothiNetworkPanel *dothi_network_panel_new (GtkWindow *parent, DothiProject *project);
/* TRUE while the user is picking a break: the window then sends map clicks here. */
gboolean dothi_network_panel_get_picking (DothiNetworkPanel *self);
/* A map click in the project CRS (x easting, y northing), @tolerance metres a pixel or so. */
void     dothi_network_panel_pick (DothiNetworkPanel *self, double x, double y, double tolerance);
gboolean dothi_network_panel_get_busy (DothiNetworkPanel *self);
DothiTrace *dothi_network_panel_get_trace (DothiNetworkPanel *self);   /* borrowed, NULL */
/* Writes the valve-bounded districts of the built network to @out_path
 * as GeoJSON polygons, in a worker, as Export Districts… does. */
void     dothi_network_panel_export_districts (DothiNetworkPanel *self, const char *out_path);

G_END_DECLS
