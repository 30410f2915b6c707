/* dothi-audit-view.h: the history window: every action on the project,
 * newest first, with Revert; or the events of one feature with the fields
 * each changed. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_AUDIT_VIEW (dothi_audit_view_get_type ())
G_DECLARE_FINAL_TYPE (DothiAuditView, dothi_audit_view, DOTHI, AUDIT_VIEW, AdwWindow)

/* The project's actions, newest first, a page of 100 at a time (“Load
 * More” reads the next). Reads with @project on the main thread (an
 * indexed page of the audit tables: milliseconds). The view keeps a
 * reference to @project; the window closes the view before it lets go of
 * the project. Signal "revert-requested" (gint64 action_id): Revert was
 * pressed; the window runs it and calls _reload() or _show_error(). */
GtkWidget  *dothi_audit_view_new             (GtkWindow            *parent,
                                              DothiProject         *project);
/* The events of feature @fid of the layer of @info, newest first: time,
 * user, what happened and the fields that changed (before → after). */
GtkWidget  *dothi_audit_view_new_for_feature (GtkWindow            *parent,
                                              DothiProject         *project,
                                              const DothiLayerInfo *info,
                                              gint64                fid);

/* Reads the list again (after an edit, undo or revert). */
void        dothi_audit_view_reload          (DothiAuditView *self);
/* While TRUE (a revert runs), Revert is disabled. */
void        dothi_audit_view_set_busy        (DothiAuditView *self,
                                              gboolean        busy);
/* Shows @message (a conflict naming the feature) above the list; NULL
 * hides it. */
void        dothi_audit_view_show_error      (DothiAuditView *self,
                                              const char     *message);
const char *dothi_audit_view_get_error_message (DothiAuditView *self);

/* For tests. */
guint       dothi_audit_view_get_n_items     (DothiAuditView *self);
const char *dothi_audit_view_get_item_title  (DothiAuditView *self,
                                              guint           index);
const char *dothi_audit_view_get_item_subtitle (DothiAuditView *self,
                                                guint           index);
/* Selects action @index (actions view); FALSE when there is none. */
gboolean    dothi_audit_view_select          (DothiAuditView *self,
                                              guint           index);
/* The id of the selected action, or 0. */
gint64      dothi_audit_view_get_selected_action (DothiAuditView *self);

G_END_DECLS
