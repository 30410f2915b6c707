/* dothi-types.h: small types shared by every unit of the core. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs on the thread that started the job, at most ~10 times a second.
 * @fraction is 0..1, or negative when the total is unknown; @stage is a
 * translated, human-readable description of the current step. */
typedef void (*DothiProgressFunc) (double      fraction,
                                   const char *stage,
                                   gpointer    user_data);

G_END_DECLS
