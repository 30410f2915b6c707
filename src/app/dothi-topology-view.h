/* dothi-topology-view.h: the topology check window: overlaps and gaps
 * between the parcels of a polygon layer (dothi_parcel_check_topology_sync
 * in a worker), listed; a row zooms the map to the problem. */
#pragma once

#include <adwaita.h>
#include "dothi-map-view.h"
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_TOPOLOGY_VIEW (dothi_topology_view_get_type ())
G_DECLARE_FINAL_TYPE (DothiTopologyView, dothi_topology_view, DOTHI, TOPOLOGY_VIEW, AdwWindow)

/* The polygon layers of @project (listed on the main thread) are offered,
 * the first with a so_thua field chosen. The check opens its own
 * read-only connection to the project's file; the view keeps no reference
 * to @project. Activating a problem zooms @map_view (held weakly) to it
 * and selects the parcels involved. Signal "finished" (): a check ended,
 * with a list, an empty result, an error or a cancel. */
GtkWidget  *dothi_topology_view_new        (GtkWindow    *parent,
                                            DothiProject *project,
                                            DothiMapView *map_view);

/* The layer (table name) and the smallest area reported, m². */
void        dothi_topology_view_set_layer    (DothiTopologyView *self,
                                              const char        *layer);
const char *dothi_topology_view_get_layer    (DothiTopologyView *self);
void        dothi_topology_view_set_min_area (DothiTopologyView *self,
                                              double             min_area);

/* Starts the check (as the Check button does); a running one is
 * cancelled first. */
void        dothi_topology_view_run          (DothiTopologyView *self);
/* For tests: runs the check and iterates the main context until it has
 * finished; FALSE if it failed or was cancelled. */
gboolean    dothi_topology_view_run_sync     (DothiTopologyView *self);
gboolean    dothi_topology_view_get_running  (DothiTopologyView *self);

/* The listed problems (after a check), their texts and the summary. */
guint       dothi_topology_view_get_n_problems (DothiTopologyView *self);
/* @kind, @fid_a, @fid_b (0 for a gap) and @area of problem @index; FALSE
 * if there is none. Any out pointer may be NULL. */
gboolean    dothi_topology_view_get_problem  (DothiTopologyView *self,
                                              guint              index,
                                              int               *kind,
                                              gint64            *fid_a,
                                              gint64            *fid_b,
                                              double            *area);
const char *dothi_topology_view_get_problem_text (DothiTopologyView *self,
                                                  guint              index);
/* The summary line, the empty-result text, or the error; borrowed. */
const char *dothi_topology_view_get_message  (DothiTopologyView *self);
/* Zooms to problem @index as activating its row does; FALSE if none. */
gboolean    dothi_topology_view_activate_problem (DothiTopologyView *self,
                                                  guint              index);

G_END_DECLS
