/* dothi-window.h: the main window: opens one project and lists its
 * layers. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_WINDOW (dothi_window_get_type ())
G_DECLARE_FINAL_TYPE (DothiWindow, dothi_window, DOTHI, WINDOW, AdwApplicationWindow)

DothiWindow  *dothi_window_new          (AdwApplication *application);

/* Opens @file in a worker thread and shows its layers; an error is shown
 * in the window. A newer call cancels an open still in progress. */
void          dothi_window_open_file    (DothiWindow    *self,
                                         GFile          *file);

/* The open project, or NULL; borrowed. Owned by the main thread once the
 * open has finished. */
DothiProject *dothi_window_get_project  (DothiWindow    *self);
/* TRUE while a project is being opened. */
gboolean      dothi_window_get_busy     (DothiWindow    *self);

/* For tests/test-ui.c. */
/* The visible page: "empty", "loading", "no-layers" or "layers". */
const char   *dothi_window_get_page             (DothiWindow *self);
const char   *dothi_window_get_placeholder_title (DothiWindow *self);
/* The header bar subtitle: the project CRS, or NULL. */
const char   *dothi_window_get_subtitle         (DothiWindow *self);
/* The last error shown to the user, or NULL. */
const char   *dothi_window_get_error_message    (DothiWindow *self);
/* The DothiLayerRow widgets in list order; a new array of borrowed rows. */
GPtrArray    *dothi_window_dup_layer_rows       (DothiWindow *self);

G_END_DECLS
