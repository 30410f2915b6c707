/* test-ui.c: the application under Xvfb: the real DothiApplication and
 * DothiWindow open a project made with the core and list its layers. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "dothi-application.h"
#include "dothi-error.h"
#include "dothi-layer-row.h"
#include "dothi-project.h"
#include "dothi-window.h"
#include "test-util.h"

/* Generous: opening a project takes milliseconds, a loaded CI runner
 * may take seconds. */
#define WAIT_SECONDS 60

static DothiApplication *app;

typedef struct {
  char *dir;
  char *path;
  DothiWindow *window;
} Fixture;

/* ISO WKB, little-endian. */
static void
append_u8 (GByteArray *wkb, guint8 v)
{
  g_byte_array_append (wkb, &v, 1);
}

static void
append_u32 (GByteArray *wkb, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);
  g_byte_array_append (wkb, (const guint8 *) &le, 4);
}

static void
append_point (GByteArray *wkb, double x, double y)
{
  double xy[2] = { x, y };

  for (int i = 0; i < 2; i++)
    {
      guint64 bits;
      memcpy (&bits, &xy[i], 8);
      bits = GUINT64_TO_LE (bits);
      g_byte_array_append (wkb, (const guint8 *) &bits, 8);
    }
}

/* MULTIPOLYGON of one square, @size metres wide. */
static GByteArray *
square_wkb (double x, double y, double size)
{
  GByteArray *wkb = g_byte_array_new ();

  append_u8 (wkb, 1);
  append_u32 (wkb, 6);
  append_u32 (wkb, 1);
  append_u8 (wkb, 1);
  append_u32 (wkb, 3);
  append_u32 (wkb, 1);
  append_u32 (wkb, 5);
  append_point (wkb, x, y);
  append_point (wkb, x + size, y);
  append_point (wkb, x + size, y + size);
  append_point (wkb, x, y + size);
  append_point (wkb, x, y);
  return wkb;
}

/* MULTILINESTRING of one segment. */
static GByteArray *
segment_wkb (double x0, double y0, double x1, double y1)
{
  GByteArray *wkb = g_byte_array_new ();

  append_u8 (wkb, 1);
  append_u32 (wkb, 5);
  append_u32 (wkb, 1);
  append_u8 (wkb, 1);
  append_u32 (wkb, 2);
  append_u32 (wkb, 2);
  append_point (wkb, x0, y0);
  append_point (wkb, x1, y1);
  return wkb;
}

/* Two layers in z-order: 3 parcels, then 1234 pipes (enough for a
 * thousands separator). */
static void
fill_project (DothiProject *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) parcels = dothi_layer_info_new ();
  g_autoptr(DothiLayerInfo) pipes = dothi_layer_info_new ();
  DothiStore *store = dothi_project_get_store (project);
  int srid = dothi_project_get_srid (project);

  parcels->name = g_strdup ("thua_dat");
  parcels->title = g_strdup ("Thửa đất");
  parcels->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  parcels->srid = srid;
  dothi_layer_info_add_field (parcels, "so_thua", DOTHI_FIELD_TEXT);

  pipes->name = g_strdup ("duong_ong");
  pipes->title = g_strdup ("Đường ống cấp nước");
  pipes->kind = DOTHI_GEOMETRY_KIND_MULTILINESTRING;
  pipes->srid = srid;
  dothi_layer_info_add_field (pipes, "duong_kinh", DOTHI_FIELD_INTEGER);

  dothi_store_begin (store, "test", &error);
  g_assert_no_error (error);

  dothi_store_create_layer (store, parcels, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GByteArray) wkb = square_wkb (445000 + 20 * i, 1400000, 15);
      g_autofree char *number = g_strdup_printf ("%05d", i + 1);
      DothiValue values[1] = { { .is_null = FALSE, .v.s = number } };

      dothi_store_insert_feature (store, "thua_dat", values, wkb->data, wkb->len, &error);
      g_assert_no_error (error);
    }
  dothi_store_finish_layer (store, "thua_dat", &error);
  g_assert_no_error (error);

  dothi_store_create_layer (store, pipes, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 1234; i++)
    {
      g_autoptr(GByteArray) wkb = segment_wkb (445000 + i, 1401000, 445001 + i, 1401000);
      DothiValue values[1] = { { .is_null = FALSE, .v.i = 100 } };

      dothi_store_insert_feature (store, "duong_ong", values, wkb->data, wkb->len, &error);
      g_assert_no_error (error);
    }
  dothi_store_finish_layer (store, "duong_ong", &error);
  g_assert_no_error (error);

  dothi_store_commit (store, &error);
  g_assert_no_error (error);
}

static void
make_project (Fixture  *f,
              gboolean  with_layers)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;

  project = dothi_project_create (f->path, NULL, &error);
  g_assert_no_error (error);
  if (with_layers)
    fill_project (project);
  dothi_project_close (project);
}

static gboolean
timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until the window has finished opening. */
static void
wait_for_window (DothiWindow *window)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (dothi_window_get_busy (window) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

/* Projects close in a worker thread that marks the application busy. */
static void
wait_for_closes (void)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (g_application_get_is_busy (G_APPLICATION (app)) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
destroy_windows (void)
{
  GList *windows;

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  wait_for_closes ();
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  f->window = dothi_window_new (ADW_APPLICATION (app));
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  destroy_windows ();
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
open_path (Fixture    *f,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  dothi_window_open_file (f->window, file);
  g_assert_true (dothi_window_get_busy (f->window));
  g_assert_cmpstr (dothi_window_get_page (f->window), ==, "loading");
  wait_for_window (f->window);
}

static void
assert_layers (DothiWindow *window)
{
  g_autoptr(GPtrArray) rows = NULL;
  DothiLayerRow *row;

  g_assert_cmpstr (dothi_window_get_page (window), ==, "layers");
  g_assert_nonnull (dothi_window_get_project (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "city.dothi");
  g_assert_cmpstr (dothi_window_get_subtitle (window), ==, DOTHI_PROJECT_DEFAULT_CRS);

  rows = dothi_window_dup_layer_rows (window);
  g_assert_cmpuint (rows->len, ==, 2);

  row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Thửa đất");
  g_assert_cmpstr (dothi_layer_row_get_kind_text (row), ==,
                   dothi_geometry_kind_to_label (DOTHI_GEOMETRY_KIND_MULTIPOLYGON));
  g_assert_cmpstr (dothi_layer_row_get_count_text (row), ==, "3 features");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, "Created in Dothi");

  row = g_ptr_array_index (rows, 1);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Đường ống cấp nước");
  g_assert_cmpstr (dothi_layer_row_get_kind_text (row), ==,
                   dothi_geometry_kind_to_label (DOTHI_GEOMETRY_KIND_MULTILINESTRING));
  /* C.UTF-8 has no thousands separator. */
  g_assert_cmpstr (dothi_layer_row_get_count_text (row), ==, "1234 features");
}

static void
test_window_empty (Fixture       *f,
                   gconstpointer  data)
{
  g_assert_cmpstr (dothi_window_get_page (f->window), ==, "empty");
  g_assert_cmpstr (dothi_window_get_placeholder_title (f->window), ==, "Open a Project");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (f->window)), ==, "Dothi");
  g_assert_null (dothi_window_get_project (f->window));
  g_assert_false (dothi_window_get_busy (f->window));
  g_assert_null (dothi_window_get_error_message (f->window));
}

static void
test_open_layers (Fixture       *f,
                  gconstpointer  data)
{
  make_project (f, TRUE);
  open_path (f, f->path);

  g_assert_null (dothi_window_get_error_message (f->window));
  assert_layers (f->window);
}

static void
test_open_no_layers (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = NULL;

  make_project (f, FALSE);
  open_path (f, f->path);

  g_assert_null (dothi_window_get_error_message (f->window));
  g_assert_cmpstr (dothi_window_get_page (f->window), ==, "no-layers");
  g_assert_nonnull (dothi_window_get_project (f->window));
  rows = dothi_window_dup_layer_rows (f->window);
  g_assert_cmpuint (rows->len, ==, 0);
}

/* `dothi city.dothi`: GApplication::open makes or reuses a window. */
static void
test_open_command_line (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GFile) file = g_file_new_for_path (f->path);
  GList *windows;

  make_project (f, TRUE);
  g_application_open (G_APPLICATION (app), &file, 1, "");

  windows = gtk_application_get_windows (GTK_APPLICATION (app));
  g_assert_cmpuint (g_list_length (windows), ==, 1);
  g_assert_true (windows->data == (gpointer) f->window);
  wait_for_window (f->window);
  assert_layers (f->window);

  /* A second project gets a window of its own. */
  g_application_open (G_APPLICATION (app), &file, 1, "");
  windows = gtk_application_get_windows (GTK_APPLICATION (app));
  g_assert_cmpuint (g_list_length (windows), ==, 2);
  for (GList *l = windows; l != NULL; l = l->next)
    {
      wait_for_window (l->data);
      assert_layers (l->data);
    }
}

static void
test_open_not_a_project (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const char *message;

  g_file_set_contents (f->path, "not a database\n", -1, &error);
  g_assert_no_error (error);
  open_path (f, f->path);

  message = dothi_window_get_error_message (f->window);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "city.dothi"));
  g_assert_cmpstr (dothi_window_get_page (f->window), ==, "empty");
  g_assert_null (dothi_window_get_project (f->window));
}

static void
test_open_missing_file (Fixture       *f,
                        gconstpointer  data)
{
  const char *message;

  open_path (f, f->path);

  message = dothi_window_get_error_message (f->window);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "city.dothi"));
  g_assert_cmpstr (dothi_window_get_page (f->window), ==, "empty");
  g_assert_null (dothi_window_get_project (f->window));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

/* A file dropped onto the window, as GtkDropTarget delivers it. */
static void
test_open_drop (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->window));
  g_autoptr(GFile) file = g_file_new_for_path (f->path);
  g_auto(GValue) value = G_VALUE_INIT;
  GtkDropTarget *target = NULL;
  GSList *files = g_slist_prepend (NULL, file);
  gboolean accepted = FALSE;

  make_project (f, TRUE);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free (files);
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_assert_true (accepted);

  g_assert_true (dothi_window_get_busy (f->window));
  wait_for_window (f->window);
  assert_layers (f->window);
}

/* A failed open keeps the project that was already shown. */
static void
test_open_error_keeps_project (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (f->dir, "missing.dothi", NULL);

  make_project (f, TRUE);
  open_path (f, f->path);
  assert_layers (f->window);

  open_path (f, missing);
  g_assert_nonnull (dothi_window_get_error_message (f->window));
  assert_layers (f->window);
}

/* The strings come from <builddir>/po (DOTHI_LOCALEDIR). LC_ALL is
 * C.UTF-8, where gettext honours LANGUAGE (it ignores it only in "C"). */
static void
test_vietnamese (Fixture       *f,
                 gconstpointer  data)
{
  const char *localedir = g_getenv ("DOTHI_LOCALEDIR");
  g_autofree char *mo = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  DothiWindow *window;

  mo = g_build_filename (localedir ? localedir : LOCALEDIR,
                         "vi", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
  if (!g_file_test (mo, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("no catalogue at %s", mo);
      g_test_skip (msg);
      return;
    }

  g_setenv ("LANGUAGE", "vi", TRUE);
  setlocale (LC_ALL, "");   /* drops gettext's cache of translations */

  make_project (f, TRUE);
  /* Templates are translated when built: a window made now is Vietnamese. */
  window = dothi_window_new (ADW_APPLICATION (app));
  gtk_window_present (GTK_WINDOW (window));
  g_assert_cmpstr (dothi_window_get_placeholder_title (window), ==, "Mở một dự án");

  {
    g_autoptr(GFile) file = g_file_new_for_path (f->path);
    dothi_window_open_file (window, file);
  }
  wait_for_window (window);
  rows = dothi_window_dup_layer_rows (window);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpstr (dothi_layer_row_get_count_text (g_ptr_array_index (rows, 1)), ==,
                   "1234 đối tượng");

  g_unsetenv ("LANGUAGE");
  setlocale (LC_ALL, "");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  dothi_test_init (&argc, &argv);

  /* Non-unique: a running Dothi on the session bus must not take the
   * test's windows. */
  app = dothi_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/ui/window/empty", test_window_empty);
  ADD ("/ui/open/layers", test_open_layers);
  ADD ("/ui/open/no-layers", test_open_no_layers);
  ADD ("/ui/open/command-line", test_open_command_line);
  ADD ("/ui/open/drop", test_open_drop);
  ADD ("/ui/open/not-a-project", test_open_not_a_project);
  ADD ("/ui/open/missing-file", test_open_missing_file);
  ADD ("/ui/open/error-keeps-project", test_open_error_keeps_project);
  ADD ("/ui/i18n/vietnamese", test_vietnamese);
#undef ADD

  ret = g_test_run ();

  destroy_windows ();
  g_clear_object (&app);
  return ret;
}
