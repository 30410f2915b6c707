/* dothi-window.h: the main window: one project's layer panel, map,
 * identify panel, search, status bar, editing tools, attribute table,
 * undo and redo, and the history. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_WINDOW (dothi_window_get_type ())
G_DECLARE_FINAL_TYPE (DothiWindow, dothi_window, DOTHI, WINDOW, AdwApplicationWindow)

DothiWindow  *dothi_window_new          (AdwApplication *application);

/* Opens @file in a worker thread and shows its layers; an error is shown
 * in the window. A newer call cancels an open still in progress. The
 * project is added to the recent projects once open. */
void          dothi_window_open_file    (DothiWindow    *self,
                                         GFile          *file);
/* With @flags: DOTHI_PROJECT_OPEN_EDIT_ANYWAY on a network drive. */
void          dothi_window_open_file_full (DothiWindow           *self,
                                           GFile                 *file,
                                           DothiProjectOpenFlags  flags);

/* The open project, or NULL; borrowed. Owned by the main thread once the
 * open has finished. */
DothiProject *dothi_window_get_project  (DothiWindow    *self);
/* TRUE while a project is being opened or created. */
gboolean      dothi_window_get_busy     (DothiWindow    *self);

/* For tests/test-ui.c. */
/* The visible page: "empty", "loading", "no-layers" or "layers". */
const char   *dothi_window_get_page             (DothiWindow *self);
const char   *dothi_window_get_placeholder_title (DothiWindow *self);
/* The header bar subtitle: the project CRS, or NULL. */
const char   *dothi_window_get_subtitle         (DothiWindow *self);
/* The last error shown to the user (dialog or toast), or NULL. */
const char   *dothi_window_get_error_message    (DothiWindow *self);
/* The DothiLayerRow widgets in list order (topmost layer first); a new
 * array of borrowed rows. */
GPtrArray    *dothi_window_dup_layer_rows       (DothiWindow *self);
/* The DothiMapView and DothiIdentifyPanel; borrowed. */
GtkWidget    *dothi_window_get_map_view         (DothiWindow *self);
GtkWidget    *dothi_window_get_identify_panel   (DothiWindow *self);
gboolean      dothi_window_get_identify_visible (DothiWindow *self);
/* The status bar texts: pointer in the project CRS ("X: … m  Y: … m
 * (zone)"), in WGS 84, and the scale ("1:2500"). */
const char   *dothi_window_get_position_text    (DothiWindow *self);
const char   *dothi_window_get_wgs84_text       (DothiWindow *self);
const char   *dothi_window_get_scale_text       (DothiWindow *self);
/* Types @text into the search entry (the search starts after the usual
 * short delay). */
void          dothi_window_search               (DothiWindow *self,
                                                 const char  *text);
/* TRUE while a search or identify is running. */
gboolean      dothi_window_get_searching        (DothiWindow *self);
guint         dothi_window_get_n_search_results (DothiWindow *self);
/* Flies to result @index as a click on it does; FALSE if there is none. */
gboolean      dothi_window_activate_search_result (DothiWindow *self,
                                                   guint        index);

/* Editing (DESIGN.md §6). The labels of what win.undo and win.redo would
 * do now, or NULL; borrowed. They follow the file within a second
 * whoever edits it, and at once after the window's own actions. */
const char   *dothi_window_get_undo_label      (DothiWindow *self);
const char   *dothi_window_get_redo_label      (DothiWindow *self);
/* TRUE while an undo, redo, revert or merge runs in a worker. */
gboolean      dothi_window_get_edit_running    (DothiWindow *self);
/* The DothiAttributeTable under the map, and the History window while it
 * is open (else NULL); borrowed. */
GtkWidget    *dothi_window_get_attribute_table (DothiWindow *self);
GtkWidget    *dothi_window_get_audit_view      (DothiWindow *self);
/* Opens the feature form of @fid of @layer, as activating a table row
 * does; an error is shown in the window. */
void          dothi_window_open_feature_form   (DothiWindow *self,
                                                const char  *layer,
                                                gint64       fid);

G_END_DECLS
