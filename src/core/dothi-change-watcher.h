/* dothi-change-watcher.h: notices changes to a project made by anyone (this
 * app, QGIS, the spatialite shell) through PRAGMA data_version and the
 * audit rows, and says which layers and which areas changed. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char    *layer;       /* table name */
  double   bbox[4];     /* Web Mercator; the union of before and after */
  gboolean everywhere;  /* the whole layer (an import, a schema change) */
} DothiChange;

void dothi_change_free (DothiChange *change);

#define DOTHI_TYPE_CHANGE_WATCHER (dothi_change_watcher_get_type ())
G_DECLARE_FINAL_TYPE (DothiChangeWatcher, dothi_change_watcher, DOTHI, CHANGE_WATCHER, GObject)

/* Opens its own read-only connection; starts from the newest audit row. */
DothiChangeWatcher *dothi_change_watcher_new (const char  *path,
                                              GError     **error);

/* One poll, cheap when nothing changed (a PRAGMA). Returns the changes
 * since the last poll: DothiChange*, empty when none. *@registry_changed
 * (may be NULL) is TRUE when layers, their order or styles changed. Runs on
 * any single thread at a time. */
GPtrArray *dothi_change_watcher_poll_sync   (DothiChangeWatcher  *self,
                                             gboolean            *registry_changed,
                                             GCancellable        *cancellable,
                                             GError             **error);
void       dothi_change_watcher_poll_async  (DothiChangeWatcher  *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
GPtrArray *dothi_change_watcher_poll_finish (DothiChangeWatcher  *self,
                                             GAsyncResult        *result,
                                             gboolean            *registry_changed,
                                             GError             **error);

G_END_DECLS
