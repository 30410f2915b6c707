/* dothi-layer-row.h: one layer in the layer panel: visibility, opacity,
 * its legend, a menu (zoom to layer, style) and drag and drop to reorder. */
#pragma once

#include <adwaita.h>
#include "dothi-layer-info.h"
#include "dothi-style.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_LAYER_ROW (dothi_layer_row_get_type ())
G_DECLARE_FINAL_TYPE (DothiLayerRow, dothi_layer_row, DOTHI, LAYER_ROW, AdwExpanderRow)

/* The row keeps its own copy of @info; it never touches the project; the
 * window listens to its signals:
 *  "visible-toggled" (gboolean visible): the check button was toggled;
 *  "opacity-changed" (double opacity, gboolean done): the slider moved;
 *     @done is TRUE once it has rested for 300 ms (store it then);
 *  "layer-dropped" (const char *name): layer @name was dropped on the row. */
GtkWidget            *dothi_layer_row_new             (const DothiLayerInfo *info);
const DothiLayerInfo *dothi_layer_row_get_info        (DothiLayerRow *self);
/* The layer's table name. */
const char           *dothi_layer_row_get_name        (DothiLayerRow *self);

/* Shows @style (NULL: none known) as the row's legend. */
void                  dothi_layer_row_set_style       (DothiLayerRow *self,
                                                       DothiStyle    *style);
/* Number of legend entries shown, for tests. */
guint                 dothi_layer_row_get_n_legend_items (DothiLayerRow *self);

gboolean              dothi_layer_row_get_layer_visible (DothiLayerRow *self);
/* Sets the check button (emits "visible-toggled"). */
void                  dothi_layer_row_set_layer_visible (DothiLayerRow *self,
                                                         gboolean       visible);
double                dothi_layer_row_get_opacity     (DothiLayerRow *self);
/* Moves the slider (emits "opacity-changed" as a user would). */
void                  dothi_layer_row_set_opacity     (DothiLayerRow *self,
                                                       double         opacity);

/* The texts shown, for tests: "polygons", "1,234 features", and where
 * the layer came from ("Created in Dothi", "thua_dat.shp, encoding …"). */
const char           *dothi_layer_row_get_kind_text   (DothiLayerRow *self);
const char           *dothi_layer_row_get_count_text  (DothiLayerRow *self);
const char           *dothi_layer_row_get_source_text (DothiLayerRow *self);

G_END_DECLS
