/* test-util.c: helpers shared by the test programs. */
#include "config.h"
#include "test-util.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <gdal.h>

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
