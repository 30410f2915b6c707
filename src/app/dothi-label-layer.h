/* dothi-label-layer.h: the overlay above the tile layers: feature labels
 * placed per viewport (never cut at tile edges, never overlapping) and the
 * identify/search highlight. */
#pragma once

#include <shumate/shumate.h>
#include "dothi-render-pool.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_LABEL_LAYER (dothi_label_layer_get_type ())
G_DECLARE_FINAL_TYPE (DothiLabelLayer, dothi_label_layer, DOTHI, LABEL_LAYER, ShumateLayer)

/* @pool is referenced. */
DothiLabelLayer *dothi_label_layer_new (ShumateViewport *viewport,
                                        DothiRenderPool *pool);

/* The project's layers, bottom first (DothiRenderLayer*, referenced):
 * those whose style has a label field are labelled, upper layers winning
 * ties. Labels are asked for again. */
void             dothi_label_layer_set_layers       (DothiLabelLayer *self,
                                                     GPtrArray       *layers);
/* Instant show/hide of one layer's labels (by table name). */
void             dothi_label_layer_set_layer_visible (DothiLabelLayer *self,
                                                      const char      *layer,
                                                      gboolean         visible);
/* Asks for the labels of the viewport again (after the data changed). */
void             dothi_label_layer_refresh          (DothiLabelLayer *self);

/* Outlines feature @fid of @layer (fetched on the pool); NULL @layer
 * clears it. */
void             dothi_label_layer_set_highlight    (DothiLabelLayer  *self,
                                                     DothiRenderLayer *layer,
                                                     gint64            fid);

/* For tests: the number of labels placed in the current viewport. */
guint            dothi_label_layer_get_n_placed     (DothiLabelLayer *self);

/* Signals: "labels-placed" (): labels of a settled viewport are placed;
 * "error" (GError*): labels or the outline could not be read. */

G_END_DECLS
