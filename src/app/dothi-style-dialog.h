/* dothi-style-dialog.h: the layer style dialog: single symbol,
 * categorised or graduated by a field, colours, outline width and the
 * label field; Apply stores the style in the project. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_STYLE_DIALOG (dothi_style_dialog_get_type ())
G_DECLARE_FINAL_TYPE (DothiStyleDialog, dothi_style_dialog, DOTHI, STYLE_DIALOG, AdwWindow)

/* A modal dialog over @parent editing a copy of @style (the layer's
 * current style) for layer @info of @project. Signal "applied"
 * (DothiStyle *style): the style was stored in the project; the dialog
 * closes itself then. */
GtkWidget  *dothi_style_dialog_new       (GtkWindow            *parent,
                                          DothiProject         *project,
                                          const DothiLayerInfo *info,
                                          const DothiStyle     *style);

/* For tests and the buttons: */
void        dothi_style_dialog_set_kind  (DothiStyleDialog *self,
                                          DothiStyleKind    kind);
/* Selects @field (by name) as the classification field; FALSE if the
 * layer has no such field. */
gboolean    dothi_style_dialog_set_field (DothiStyleDialog *self,
                                          const char       *field);
/* Fills the rules from the field's values (categorised: distinct values;
 * graduated: equal intervals). */
gboolean    dothi_style_dialog_classify  (DothiStyleDialog  *self,
                                          GError           **error);
/* Stores the edited style; on success emits "applied" and closes. */
gboolean    dothi_style_dialog_apply     (DothiStyleDialog  *self,
                                          GError           **error);
/* The style being edited; borrowed. */
const DothiStyle *dothi_style_dialog_get_style (DothiStyleDialog *self);
/* Chooses the smallest scale the layer is drawn at: 1:@denominator, one
 * of the offered ones, or 0 for every scale. FALSE if not offered. */
gboolean    dothi_style_dialog_set_visible_scale (DothiStyleDialog *self,
                                                  gint64            denominator);

G_END_DECLS
