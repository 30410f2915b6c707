/* dothi-layer-row.h: one row of the layer list: a layer's title, kind,
 * feature count and where it came from. */
#pragma once

#include <adwaita.h>
#include "dothi-layer-info.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_LAYER_ROW (dothi_layer_row_get_type ())
G_DECLARE_FINAL_TYPE (DothiLayerRow, dothi_layer_row, DOTHI, LAYER_ROW, AdwActionRow)

/* The row keeps its own copy of @info. */
GtkWidget            *dothi_layer_row_new             (const DothiLayerInfo *info);
const DothiLayerInfo *dothi_layer_row_get_info        (DothiLayerRow *self);
/* The texts shown, for tests: "polygons", "1,234 features". */
const char           *dothi_layer_row_get_kind_text   (DothiLayerRow *self);
const char           *dothi_layer_row_get_count_text  (DothiLayerRow *self);

G_END_DECLS
