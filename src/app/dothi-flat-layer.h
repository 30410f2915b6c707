/* dothi-flat-layer.h: the project's tile layers flattened into one
 * texture per tile, drawn beneath them, so a frame composites one layer
 * instead of seven. Each flat tile stays in use only while every layer's
 * tile, visibility and opacity are what it was made from; otherwise the
 * tile layers draw that tile themselves, as before. */
#pragma once

#include <shumate/shumate.h>
#include "dothi-tile-layer.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_FLAT_LAYER (dothi_flat_layer_get_type ())
G_DECLARE_FINAL_TYPE (DothiFlatLayer, dothi_flat_layer, DOTHI, FLAT_LAYER, ShumateLayer)

DothiFlatLayer *dothi_flat_layer_new        (ShumateViewport *viewport);
/* @layers: DothiTileLayer*, bottom first. Sets their cover functions.
 * Highlight layers (a render layer with a selection) are left out: they
 * draw themselves, above. */
void            dothi_flat_layer_set_layers (DothiFlatLayer *self,
                                             GPtrArray      *layers);
/* A tile layer changed (opacity, visibility, new tiles): look again. */
void            dothi_flat_layer_changed    (DothiFlatLayer *self);

G_END_DECLS
