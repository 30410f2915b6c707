/* dothi-source-dialog.h: a live source's definition as a form, to add a
 * source to the project or change one, without writing its JSON. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_SOURCE_DIALOG (dothi_source_dialog_get_type ())
G_DECLARE_FINAL_TYPE (DothiSourceDialog, dothi_source_dialog, DOTHI, SOURCE_DIALOG, AdwWindow)

/* A modal form over @parent for source @name of @project, filled from its
 * definition, or empty (a new MQTT source) when @name is NULL.
 * Signal "saved" (const char *name): the definition was stored; the form
 * closes itself. */
DothiSourceDialog *dothi_source_dialog_new  (GtkWindow    *parent,
                                             DothiProject *project,
                                             const char   *name);
/* Stores the form as the Save button does: FALSE with the definition's
 * error (shown under the header bar too), the project unchanged. */
gboolean           dothi_source_dialog_save (DothiSourceDialog *self,
                                             GError           **error);

G_END_DECLS
