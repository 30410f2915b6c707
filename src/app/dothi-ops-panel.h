/* dothi-ops-panel.h: the operations room window: live sources and their
 * state, alerts to acknowledge, incidents and their workflow, a sensor's
 * history and the incident replay. */
#pragma once

#include <adwaita.h>
#include "dothi-live.h"
#include "dothi-live-layer.h"
#include "dothi-map-view.h"
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_OPS_PANEL (dothi_ops_panel_get_type ())
G_DECLARE_FINAL_TYPE (DothiOpsPanel, dothi_ops_panel, DOTHI, OPS_PANEL, AdwWindow)

/* A window on @project's live feeds, transient for @parent, with its own
 * ingest engine (DothiLive) on the project's file; the sources it started
 * stop when it closes. Reads (sensors, readings, incidents, nearest
 * street, assets) and status changes run in workers on connections of
 * their own.
 * Property "busy" (boolean, read-only, notified): a status change or a
 * read of incidents is running. */
DothiOpsPanel *dothi_ops_panel_new (GtkWindow *parent, DothiProject *project);

/* Adds the panel's DothiLiveLayer over @map (the window's map view; NULL
 * takes it off) and zooms @map to an incident when one is chosen. */
void            dothi_ops_panel_set_map_view (DothiOpsPanel *self,
                                              DothiMapView  *map);
/* The overlay (created on the first set_map_view; else NULL); borrowed. */
DothiLiveLayer *dothi_ops_panel_get_live_layer (DothiOpsPanel *self);
/* The engine, or NULL when it could not be created (the window says
 * why); borrowed. */
DothiLive      *dothi_ops_panel_get_live (DothiOpsPanel *self);

/* Starts @source with @password (NULL: none), as the Start button does
 * once the password is known. */
gboolean        dothi_ops_panel_start_source (DothiOpsPanel *self,
                                              const char    *source,
                                              const char    *password,
                                              GError       **error);
/* The state shown for @source ("Connected", "Retrying… reason"), or NULL
 * when the panel lists no such source. */
const char     *dothi_ops_panel_get_source_status (DothiOpsPanel *self,
                                                   const char    *source);

/* Alerts not yet acknowledged, and acknowledging them all (as each
 * row's button does for one). */
guint           dothi_ops_panel_get_n_alerts (DothiOpsPanel *self);
void            dothi_ops_panel_acknowledge_all (DothiOpsPanel *self);

/* Re-reads sensors and incidents now (by themselves, sensors follow each
 * stored batch from the engine's memory, incidents are read again at
 * most four times a second). */
void            dothi_ops_panel_refresh (DothiOpsPanel *self);
/* Incidents read by the last refresh (any status). */
guint           dothi_ops_panel_get_n_incidents (DothiOpsPanel *self);
/* Shows @fid in the detail view and zooms the map to it; FALSE when the
 * last refresh has no such incident. */
gboolean        dothi_ops_panel_show_incident (DothiOpsPanel *self,
                                               gint64         fid);
/* Moves incident @fid one status forward with @unit (used when
 * assigning) and @note (either may be NULL), as the detail view's button
 * does: in a worker, then the list is read again; "busy" meanwhile.
 * Errors are shown as a toast and kept for get_error_message. */
void            dothi_ops_panel_advance_incident (DothiOpsPanel *self,
                                                  gint64         fid,
                                                  const char    *unit,
                                                  const char    *note);
gboolean        dothi_ops_panel_get_busy (DothiOpsPanel *self);
/* The last error shown, or NULL. */
const char     *dothi_ops_panel_get_error_message (DothiOpsPanel *self);

G_END_DECLS
