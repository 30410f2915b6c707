/* dothi-live-layer.h: sensors and incidents drawn live over the map, as an
 * overlay that never touches the city tiles and redraws at most ten times
 * a second however fast the data comes (DESIGN.md §5, §6 Live). */
#pragma once

#include <shumate/shumate.h>
#include "dothi-incident.h"
#include "dothi-live.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_LIVE_LAYER (dothi_live_layer_get_type ())
G_DECLARE_FINAL_TYPE (DothiLiveLayer, dothi_live_layer, DOTHI, LIVE_LAYER, ShumateLayer)

/* @srid: the project CRS, in which sensors and incidents are placed. */
DothiLiveLayer *dothi_live_layer_new (ShumateViewport *viewport,
                                      int              srid);

/* Sensors (DothiSensorState*) as circles coloured by level (normal green,
 * low blue, high red, stale grey and hollow), with the value and unit at
 * large zooms. The array is read now, not kept; sensors without a
 * position are left out. Main thread. */
void     dothi_live_layer_set_sensors   (DothiLiveLayer *self,
                                         GPtrArray      *sensors);
/* Incidents (DothiIncident*) as squares coloured by status, with the
 * category's initial. Read now, not kept. */
void     dothi_live_layer_set_incidents (DothiLiveLayer *self,
                                         GPtrArray      *incidents);
/* Replay: only incidents received up to @until (unix seconds) are shown;
 * 0 shows them all. */
void     dothi_live_layer_set_replay_time (DothiLiveLayer *self,
                                           gint64          until);
gint64   dothi_live_layer_get_replay_time (DothiLiveLayer *self);

/* For the panel and tests. */
guint    dothi_live_layer_get_n_sensors   (DothiLiveLayer *self);
gboolean dothi_live_layer_has_sensor      (DothiLiveLayer *self,
                                           const char     *sensor_id);
/* The level shown for @sensor_id (-1, 0, 1), or 2 when stale; FALSE when
 * the layer has no such sensor. */
gboolean dothi_live_layer_get_sensor_level (DothiLiveLayer *self,
                                            const char     *sensor_id,
                                            int            *level);
/* Incidents shown at the replay time. */
guint    dothi_live_layer_get_n_incidents (DothiLiveLayer *self);
/* Times the layer was drawn (snapshot), to check the refresh cap. */
guint    dothi_live_layer_get_n_draws     (DothiLiveLayer *self);
/* The alert banner over the map's top-right corner: @lines (NULL or
 * empty: none), drawn in the alert red on the map and the wall. */
void     dothi_live_layer_set_alerts      (DothiLiveLayer     *self,
                                           const char * const *lines);
const char * const *dothi_live_layer_get_alerts (DothiLiveLayer *self);
/* A number the caller gives with new data (the engine's stored row of
 * dothi_live_take_changes ()), and the one the last drawn frame showed:
 * what reached the screen, for latency measurements. */
void     dothi_live_layer_set_data_mark   (DothiLiveLayer *self,
                                           gint64          mark);
gint64   dothi_live_layer_get_drawn_mark  (DothiLiveLayer *self);

G_END_DECLS
