/* dothi-import-dialog.h: the Import dialog over the core's DothiImport:
 * choose the file and its layers, the text encoding (with decoded sample
 * values), the source CRS, then import with progress and Cancel. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_IMPORT_DIALOG (dothi_import_dialog_get_type ())
G_DECLARE_FINAL_TYPE (DothiImportDialog, dothi_import_dialog, DOTHI, IMPORT_DIALOG, AdwWindow)

/* A modal dialog, transient for @parent (and destroyed with it), that
 * imports into @project. With @source it reads that file at once; without,
 * it offers a file chooser. Present it with gtk_window_present(). It emits
 * "imported" (no arguments) after a successful import; the project has
 * been changed by another connection then, so the caller reloads its
 * layers. Closing it while an import runs cancels the import. */
GtkWidget   *dothi_import_dialog_new (GtkWindow    *parent,
                                      DothiProject *project,
                                      GFile        *source);

/* Reads @file (a new source replaces the current one). */
void         dothi_import_dialog_set_file   (DothiImportDialog *self,
                                             GFile             *file);

/* For tests/test-ui.c; a user does the same with the widgets, and the
 * actions "import.choose", "import.run" and "import.cancel" are the
 * dialog's buttons. */

/* The visible page: "choose", "loading", "failed", "options", "running"
 * or "done". */
const char  *dothi_import_dialog_get_page          (DothiImportDialog *self);
/* TRUE while a preview, a CRS check or the import is running. */
gboolean     dothi_import_dialog_get_busy          (DothiImportDialog *self);
/* The last error or notice shown (translated), or NULL. */
const char  *dothi_import_dialog_get_message       (DothiImportDialog *self);
/* The success summary, one line per fact, or NULL. */
const char  *dothi_import_dialog_get_summary       (DothiImportDialog *self);
/* Number of source layers listed. */
guint        dothi_import_dialog_get_n_layers      (DothiImportDialog *self);
void         dothi_import_dialog_set_layer_active  (DothiImportDialog *self,
                                                    guint              index,
                                                    gboolean           active);
/* "auto", "UTF-8", "CP1258", "TCVN3", "TCVN3-caps" (capital-letter fonts)
 * or "VNI": selects that encoding, which re-runs the preview. */
void         dothi_import_dialog_set_encoding      (DothiImportDialog *self,
                                                    const char        *encoding);
/* Types @text into the source CRS entry (shown only when a layer has no
 * CRS). */
void         dothi_import_dialog_set_source_crs    (DothiImportDialog *self,
                                                    const char        *text);
/* The text of the sample table: @row -1 is the field names; NULL outside
 * the table. */
const char  *dothi_import_dialog_get_sample_text   (DothiImportDialog *self,
                                                    int                row,
                                                    int                column);

G_END_DECLS
