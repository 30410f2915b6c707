/* dothi-check.c: validity of every geometry of a project's layers, with
 * GEOS's reason and location for each invalid one. */
#define G_LOG_DOMAIN "dothi-check"

#include "config.h"
#include "dothi-check.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <geos_c.h>

void
dothi_check_problem_free (DothiCheckProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->layer);
  g_free (problem->reason);
  g_free (problem);
}

typedef struct {
  GEOSContextHandle_t  geos;
  GEOSWKBReader       *reader;
  const char          *layer;
  GPtrArray           *problems;
  gint64               checked;
} CheckState;

static gboolean
check_feature (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
               gpointer user_data, GError **error)
{
  CheckState *cs = user_data;
  GEOSGeometry *g;
  char *reason;

  if (wkb == NULL)
    return TRUE;
  cs->checked++;
  g = GEOSWKBReader_read_r (cs->geos, cs->reader, wkb, wkb_len);
  if (g == NULL)
    {
      DothiCheckProblem *p = g_new0 (DothiCheckProblem, 1);
      p->layer = g_strdup (cs->layer);
      p->fid = fid;
      p->reason = g_strdup (_("unreadable geometry"));
      g_ptr_array_add (cs->problems, p);
      return TRUE;
    }
  if (GEOSisValid_r (cs->geos, g) != 1)
    {
      DothiCheckProblem *p = g_new0 (DothiCheckProblem, 1);
      reason = GEOSisValidReason_r (cs->geos, g);
      p->layer = g_strdup (cs->layer);
      p->fid = fid;
      p->reason = g_strdup (reason ? reason : "");
      GEOSFree_r (cs->geos, reason);
      g_ptr_array_add (cs->problems, p);
    }
  GEOSGeom_destroy_r (cs->geos, g);
  return TRUE;
}

GPtrArray *
dothi_check_sync (DothiProject *project, const char * const *layers, gint64 *n_checked,
                  GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_check_problem_free);
  CheckState cs = { 0 };
  gboolean ok = TRUE;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  all = dothi_project_list_layers (project, error);
  if (all == NULL)
    return NULL;
  for (guint i = 0; layers != NULL && layers[i] != NULL; i++)
    {
      gboolean found = FALSE;
      for (guint k = 0; k < all->len && !found; k++)
        found = g_strcmp0 (((DothiLayerInfo *) g_ptr_array_index (all, k))->name, layers[i]) == 0;
      if (!found)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                       _("There is no layer “%s” in “%s”"), layers[i], dothi_project_get_path (project));
          return NULL;
        }
    }

  cs.geos = GEOS_init_r ();
  cs.reader = GEOSWKBReader_create_r (cs.geos);
  cs.problems = problems;
  for (guint k = 0; ok && k < all->len; k++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (all, k);

      if (info->kind == DOTHI_GEOMETRY_KIND_NONE
          || (layers != NULL && layers[0] != NULL && !g_strv_contains (layers, info->name)))
        continue;
      cs.layer = info->name;
      ok = dothi_store_read_features (dothi_project_get_store (project), info->name, NULL,
                                      check_feature, &cs, cancellable, error);
    }
  GEOSWKBReader_destroy_r (cs.geos, cs.reader);
  GEOS_finish_r (cs.geos);
  if (!ok)
    return NULL;
  if (n_checked != NULL)
    *n_checked = cs.checked;
  return g_steal_pointer (&problems);
}

/* ---- async ------------------------------------------------------------- */

typedef struct {
  char   *project_path;
  GStrv   layers;
  gint64  n_checked;
} CheckJob;

static void
check_job_free (CheckJob *job)
{
  g_free (job->project_path);
  g_strfreev (job->layers);
  g_free (job);
}

static void
check_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CheckJob *job = task_data;
  g_autoptr(DothiProject) own = NULL;
  GPtrArray *problems = NULL;
  GError *error = NULL;

  own = dothi_project_open (job->project_path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  if (own != NULL)
    problems = dothi_check_sync (own, (const char * const *) job->layers, &job->n_checked,
                                 cancellable, &error);
  if (problems == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, problems, (GDestroyNotify) g_ptr_array_unref);
}

void
dothi_check_async (DothiProject *project, const char * const *layers, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  CheckJob *job;

  g_return_if_fail (DOTHI_IS_PROJECT (project));

  job = g_new0 (CheckJob, 1);
  job->project_path = g_strdup (dothi_project_get_path (project));
  job->layers = g_strdupv ((char **) layers);
  task = g_task_new (project, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_check_async);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, job, (GDestroyNotify) check_job_free);
  g_task_run_in_thread (task, check_thread);
}

GPtrArray *
dothi_check_finish (DothiProject *project, GAsyncResult *result, gint64 *n_checked, GError **error)
{
  GPtrArray *problems;

  g_return_val_if_fail (g_task_is_valid (result, project), NULL);

  problems = g_task_propagate_pointer (G_TASK (result), error);
  if (problems != NULL && n_checked != NULL)
    *n_checked = ((CheckJob *) g_task_get_task_data (G_TASK (result)))->n_checked;
  return problems;
}
