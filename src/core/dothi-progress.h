/* dothi-progress.h: hands progress reports from a worker thread to the
 * thread that started the job. */
#pragma once

#include <glib.h>
#include "dothi-types.h"

G_BEGIN_DECLS

/* Calls @func (@fraction, @stage, @data) from @context's own thread, in
 * the order posted, at default priority (so before a GTask's callback that
 * is returned later). Never calls it on the posting thread, even when
 * @context happens to be free: g_main_context_invoke() would. */
void dothi_progress_post (GMainContext      *context,
                          DothiProgressFunc  func,
                          gpointer           data,
                          double             fraction,
                          const char        *stage);

G_END_DECLS
