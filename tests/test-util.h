/* test-util.h: helpers shared by the test programs: temporary folders,
 * the real sample data beside the source tree, and locale set-up. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sets the locale and text domain as the mains do (LC_ALL comes from the
 * test environment) and calls g_test_init. */
void   dothi_test_init (int *argc, char ***argv);

/* Path of @relative under the real sample data folder (../shared/data/real),
 * or NULL after g_test_skip() naming the missing path: the caller returns. */
char  *dothi_test_shared_path (const char *relative);

/* Path of a small file shipped in tests/data/. */
char  *dothi_test_data_path (const char *relative);

/* A new empty temporary directory; removed (recursively) by
 * dothi_test_rmdir(). */
char  *dothi_test_mkdtemp (void);
void   dothi_test_rmdir (const char *path);

/* A free TCP port on 127.0.0.1. */
int    dothi_test_free_port (void);
/* A mosquitto broker (Debian's /usr/sbin/mosquitto) on 127.0.0.1, a free
 * port (@port), its configuration in @dir with the lines @extra (may be
 * NULL) after the listener, accepting connections when this returns; 0
 * after g_test_skip() without mosquitto: the caller returns. */
GPid   dothi_test_broker_start (const char *dir, const char *extra, int *port);
/* SIGTERM, as a service manager stops it, and waits. */
void   dothi_test_broker_stop (GPid pid);

G_END_DECLS
