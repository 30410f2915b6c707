/* dothi-check.h: the validity report of a project's layers (GEOS rules:
 * self-intersections, rings, holes) that `dothi-cli check` prints. */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"

G_BEGIN_DECLS

typedef struct {
  char   *layer;
  gint64  fid;
  char   *reason;    /* GEOS's reason, e.g. "Self-intersection[104.84 19.90]" */
} DothiCheckProblem;

void dothi_check_problem_free (DothiCheckProblem *problem);

/* Checks every geometry of @layers (NULL for all) and returns the invalid
 * ones as DothiCheckProblem*, in layer and fid order; @n_checked (may be
 * NULL) gets the number of geometries checked. */
GPtrArray *dothi_check_sync (DothiProject       *project,
                             const char * const *layers,
                             gint64             *n_checked,
                             GCancellable       *cancellable,
                             GError            **error);

/* The same on a worker thread with its own connection to the project. */
void       dothi_check_async  (DothiProject       *project,
                               const char * const *layers,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data);
/* The problems as dothi_check_sync() returns them, or NULL. */
GPtrArray *dothi_check_finish (DothiProject       *project,
                               GAsyncResult       *result,
                               gint64             *n_checked,
                               GError            **error);

G_END_DECLS
