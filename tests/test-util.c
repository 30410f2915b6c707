/* test-util.c: helpers shared by the test programs. */
#include "config.h"
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <gdal.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

void
dothi_test_init (int *argc, char ***argv)
{
  const char *localedir = g_getenv ("DOTHI_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_test_init (argc, argv, NULL);
  GDALAllRegister ();
}

char *
dothi_test_shared_path (const char *relative)
{
  const char *root = g_getenv ("DOTHI_SHARED_DATA");
  g_autofree char *path = NULL;

  if (root == NULL)
    {
      g_test_skip ("DOTHI_SHARED_DATA is not set");
      return NULL;
    }
  path = g_build_filename (root, relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("sample data missing: %s", path);
      g_test_skip (msg);
      return NULL;
    }
  return g_steal_pointer (&path);
}

char *
dothi_test_data_path (const char *relative)
{
  return g_test_build_filename (G_TEST_DIST, "data", relative, NULL);
}

char *
dothi_test_mkdtemp (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("dothi-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_recursive (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_recursive (child);
        }
    }
  g_remove (path);
}

void
dothi_test_rmdir (const char *path)
{
  if (path != NULL)
    remove_recursive (path);
}

int
dothi_test_free_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* A broker must not outlive a test that failed. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

GPid
dothi_test_broker_start (const char *dir, const char *extra, int *port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *conf = g_build_filename (dir, "mosquitto.conf", NULL);
  g_autofree char *text = NULL;
  const char *argv[] = { "/usr/sbin/mosquitto", "-c", conf, NULL };
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  GPid pid = 0;

  if (!g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no mosquitto (apt-get install mosquitto)");
      return 0;
    }
  *port = dothi_test_free_port ();
  /* "user": as root, mosquitto would drop to user "mosquitto". */
  text = g_strdup_printf ("user %s\nlistener %d 127.0.0.1\n%slog_dest none\n",
                          g_get_user_name (), *port, extra != NULL ? extra : "");
  g_assert_true (g_file_set_contents (conf, text, -1, &error));
  g_assert_true (g_spawn_async (dir, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                                | G_SPAWN_STDERR_TO_DEV_NULL,
                                die_with_parent, NULL, &pid, &error));
  g_assert_no_error (error);
  for (;;)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host (client, "127.0.0.1", *port,
                                                                           NULL, NULL);

      if (conn != NULL)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (50000);
    }
  return pid;
}

void
dothi_test_broker_stop (GPid pid)
{
  int status;

  if (pid == 0)
    return;
  kill (pid, SIGTERM);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
}
