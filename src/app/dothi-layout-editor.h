/* dothi-layout-editor.h: the print layout editor: a page preview where
 * items are placed and resized, their properties beside it, and Print. */
#pragma once

#include <adwaita.h>
#include "dothi-layout.h"
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_LAYOUT_EDITOR (dothi_layout_editor_get_type ())
G_DECLARE_FINAL_TYPE (DothiLayoutEditor, dothi_layout_editor, DOTHI, LAYOUT_EDITOR, AdwWindow)

/* An editor on @project (held until the window closes; used on the main
 * thread only), transient for @parent. It opens the first stored layout,
 * or a new "planning" layout when the project has none. */
DothiLayoutEditor *dothi_layout_editor_new (GtkWindow    *parent,
                                            DothiProject *project);

/* The layout being edited, or NULL; borrowed, changed in place by the
 * editor (call dothi_layout_editor_layout_changed after changing it). */
DothiLayout *dothi_layout_editor_get_layout         (DothiLayoutEditor *self);
/* After a change made to dothi_layout_editor_get_layout's object:
 * validates it, refreshes the panel and re-renders the preview. */
void         dothi_layout_editor_layout_changed     (DothiLayoutEditor *self);
/* Replaces the layout with a new one from @template_name ("planning",
 * "cadastral", "handout"), @page_size "A4".."A0" (NULL: the template's)
 * and @title (NULL: the template's); not stored until saved. */
gboolean     dothi_layout_editor_new_from_template  (DothiLayoutEditor *self,
                                                     const char        *template_name,
                                                     const char        *page_size,
                                                     const char        *title,
                                                     GError           **error);
/* Opens layout @name stored in the project. */
gboolean     dothi_layout_editor_open_layout        (DothiLayoutEditor *self,
                                                     const char        *name,
                                                     GError           **error);
/* Stores the layout in the project (replacing one of the same name). */
gboolean     dothi_layout_editor_save               (DothiLayoutEditor *self,
                                                     GError           **error);
/* TRUE while the layout has changes that are not stored. */
gboolean     dothi_layout_editor_get_modified       (DothiLayoutEditor *self);

/* Selects the item whose "id" is @id (NULL: none, the page's properties
 * are shown); FALSE when there is no such item. */
gboolean     dothi_layout_editor_select_item        (DothiLayoutEditor *self,
                                                     const char        *id);
/* The index of the selected item in the layout's "items", or -1. */
int          dothi_layout_editor_get_selected_index (DothiLayoutEditor *self);
/* Adds an item of @type ("map", "legend", "scale_bar", "north_arrow",
 * "title_block", "text", "table", "frame", "overview") in the middle of
 * the visible page and selects it. Images need a file: the Add menu
 * asks for one. */
gboolean     dothi_layout_editor_add_item           (DothiLayoutEditor *self,
                                                     const char        *type);
/* Moves the selected item by @dx_mm, @dy_mm, as the arrow keys do. */
void         dothi_layout_editor_move_selected      (DothiLayoutEditor *self,
                                                     double             dx_mm,
                                                     double             dy_mm);
/* Removes the selected item, as the Delete key does. */
void         dothi_layout_editor_delete_selected    (DothiLayoutEditor *self);

/* Prints the layout to @out_path (PDF, SVG or PNG by its extension) in a
 * worker thread, after a warning when an atlas makes more than 50 pages;
 * the result is a toast, and dothi_layout_editor_get_error_message. */
void         dothi_layout_editor_print              (DothiLayoutEditor *self,
                                                     const char        *out_path);

/* Gives the selected map frame the offline basemap @path (an MBTiles
 * file), or none for NULL, as the Basemap row's buttons do. */
void         dothi_layout_editor_set_basemap        (DothiLayoutEditor *self,
                                                     const char        *path);

/* For tests. TRUE while the preview is waiting to be drawn or is being
 * drawn, and while a print runs. */
gboolean     dothi_layout_editor_get_busy           (DothiLayoutEditor *self);
/* The last preview drawn (it may show the page before the latest change
 * while busy), or NULL; borrowed. */
GdkTexture  *dothi_layout_editor_get_preview_texture (DothiLayoutEditor *self);
/* The last error shown (layout check, preview, save or print), or NULL. */
const char  *dothi_layout_editor_get_error_message  (DothiLayoutEditor *self);

G_END_DECLS
