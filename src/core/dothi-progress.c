/* dothi-progress.c: progress reports posted from workers to the job's
 * owner thread. */
#define G_LOG_DOMAIN "dothi-progress"

#include "dothi-progress.h"

typedef struct {
  DothiProgressFunc func;
  gpointer          data;
  double            fraction;
  char             *stage;
} Report;

static void
report_free (gpointer data)
{
  Report *r = data;

  g_free (r->stage);
  g_free (r);
}

static gboolean
deliver_cb (gpointer data)
{
  Report *r = data;

  r->func (r->fraction, r->stage, r->data);
  return G_SOURCE_REMOVE;
}

void
dothi_progress_post (GMainContext *context, DothiProgressFunc func, gpointer data,
                     double fraction, const char *stage)
{
  GSource *source;
  Report *r;

  g_return_if_fail (func != NULL);

  r = g_new0 (Report, 1);
  r->func = func;
  r->data = data;
  r->fraction = fraction;
  r->stage = g_strdup (stage);
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver_cb, r, report_free);
  g_source_set_static_name (source, "[dothi] progress");
  g_source_attach (source, context);
  g_source_unref (source);
}
