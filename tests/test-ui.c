/* test-ui.c: the application under Xvfb: the real DothiApplication and
 * DothiWindow open a project made with the core, list its layers, draw the
 * demo city, search, identify, restyle, edit, undo and speak Vietnamese. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#include <shumate/shumate.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "dothi-application.h"
#include "dothi-attribute-table.h"
#include "dothi-audit-view.h"
#include "dothi-crs.h"
#include "dothi-demo-city.h"
#include "dothi-domain.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-feature-form.h"
#include "dothi-identify-panel.h"
#include "dothi-import.h"
#include "dothi-import-dialog.h"
#include "dothi-incident.h"
#include "dothi-layer-row.h"
#include "dothi-layout.h"
#include "dothi-layout-editor.h"
#include "dothi-live.h"
#include "dothi-live-layer.h"
#include "dothi-map-view.h"
#include "dothi-network.h"
#include "dothi-network-panel.h"
#include "dothi-ops-panel.h"
#include "dothi-source-dialog.h"
#include "dothi-parcel.h"
#include "dothi-project.h"
#include "dothi-search.h"
#include "dothi-sql-window.h"
#include "dothi-query-dialog.h"
#include "dothi-style-dialog.h"
#include "dothi-topology-view.h"
#include "dothi-window.h"
#include "dothi-tile-layer.h"
#include "dothi-store.h"
#include "dothi-edit-layer.h"
#include "test-util.h"

/* Generous: opening a project takes milliseconds, a loaded CI runner
 * may take seconds. */
#define WAIT_SECONDS 60

/* Small, so the test stays quick; the same generator as the demo. */
#define DEMO_PARCELS 1500
#define DEMO_SEED 42

static DothiApplication *app;
/* XDG_DATA_HOME and XDG_CACHE_HOME: recent files and tile caches. */
static char *home_dir;
/* The demo city project, made once; each test opens a copy. */
static char *demo_dir;
static char *demo_project;

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
  DothiLayerRow *top;

  g_assert_cmpstr (dothi_window_get_page (window), ==, "layers");
  g_assert_nonnull (dothi_window_get_project (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "city.dothi");
  g_assert_cmpstr (dothi_window_get_subtitle (window), ==, DOTHI_PROJECT_DEFAULT_CRS);

  /* The panel lists the topmost layer first: the pipes, drawn last. */
  rows = dothi_window_dup_layer_rows (window);
  g_assert_cmpuint (rows->len, ==, 2);

  row = g_ptr_array_index (rows, 1);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Thửa đất");
  g_assert_cmpstr (dothi_layer_row_get_kind_text (row), ==,
                   dothi_geometry_kind_to_label (DOTHI_GEOMETRY_KIND_MULTIPOLYGON));
  g_assert_cmpstr (dothi_layer_row_get_count_text (row), ==, "3 features");
  g_assert_cmpstr (dothi_layer_row_get_source_text (row), ==, "Created in Dothi");
  g_assert_cmpstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (row)), ==, "3 features");
  g_assert_true (dothi_layer_row_get_layer_visible (row));
  /* The default style has a legend. */
  g_assert_cmpuint (dothi_layer_row_get_n_legend_items (row), >=, 1);

  top = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (top)), ==, "Đường ống cấp nước");
  g_assert_cmpstr (dothi_layer_row_get_kind_text (top), ==,
                   dothi_geometry_kind_to_label (DOTHI_GEOMETRY_KIND_MULTILINESTRING));
  /* C.UTF-8 has no thousands separator. */
  g_assert_cmpstr (dothi_layer_row_get_count_text (top), ==, "1234 features");
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

/* A widget of a template by its id (GtkBuildable's buildable-id). */
static GtkWidget *
find_widget (GtkWidget  *widget,
             const char *id)
{
  if (g_strcmp0 (gtk_buildable_get_buildable_id (GTK_BUILDABLE (widget)), id) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, id);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkLabel *
find_label (GtkWidget  *widget,
            const char *id)
{
  GtkWidget *label = find_widget (widget, id);

  g_assert_true (GTK_IS_LABEL (label));
  return GTK_LABEL (label);
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
  g_assert_cmpstr (dothi_layer_row_get_count_text (g_ptr_array_index (rows, 0)), ==,
                   "1234 đối tượng");
  g_assert_cmpstr (dothi_window_get_subtitle (window), ==, DOTHI_PROJECT_DEFAULT_CRS);

  g_assert_cmpstr (gtk_label_get_text (find_label (GTK_WIDGET (window), "layers_heading")), ==,
                   "2 lớp");

  /* The header bar and the status bar speak Vietnamese. */
  g_assert_cmpstr (gtk_widget_get_tooltip_text (find_widget (GTK_WIDGET (window), "import_button")), ==,
                   "Nhập dữ liệu");
  {
    g_autofree char *placeholder = NULL;

    g_object_get (find_widget (GTK_WIDGET (window), "search_entry"),
                  "placeholder-text", &placeholder, NULL);
    g_assert_cmpstr (placeholder, ==, "Thửa đất, đường phố hoặc tọa độ");
  }
  g_assert_cmpstr (gtk_widget_get_tooltip_text (find_widget (GTK_WIDGET (window), "scale_label")), ==,
                   "Tỷ lệ bản đồ trên màn hình này");
  /* Survey X/Y and the zone; N/E stay as the search entry reads them. */
  g_signal_emit_by_name (dothi_window_get_map_view (window), "pointer-moved",
                         458123.45, 1403012.34, 12.6801, 108.0512);
  g_assert_cmpstr (dothi_window_get_position_text (window), ==,
                   "X: 1403012.34 m  Y: 458123.45 m  (VN-2000 / TM-3 108°30′)");
  g_assert_cmpstr (dothi_window_get_wgs84_text (window), ==,
                   "12.6801° N, 108.0512° E (WGS 84)");

  g_unsetenv ("LANGUAGE");
  setlocale (LC_ALL, "");
}


/* ---- the demo city ------------------------------------------------------ */

/* The demo generator's GeoPackage imported into a project, as
 * build-aux/dev makes the demo; once per run. */
static const char *
make_demo_project (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *gpkg = NULL;

  if (demo_project != NULL)
    return demo_project;

  demo_dir = dothi_test_mkdtemp ();
  gpkg = g_build_filename (demo_dir, "city.gpkg", NULL);
  dothi_demo_city_write (gpkg, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  demo_project = g_build_filename (demo_dir, "demo.dothi", NULL);
  project = dothi_project_create (demo_project, NULL, &error);
  g_assert_no_error (error);
  import = dothi_import_new (project, gpkg);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dothi_project_checkpoint (project, &error);
  g_assert_no_error (error);
  dothi_project_close (project);

  return demo_project;
}

/* Each test gets its own copy (the project file is never shared). */
static void
copy_demo (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) source = g_file_new_for_path (make_demo_project ());
  g_autoptr(GFile) target = g_file_new_for_path (f->path);

  /* Checkpointed and closed: the main file holds everything. */
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
flag_cb (gpointer  instance,
         gboolean *flag)
{
  *flag = TRUE;
}

typedef gboolean (*Condition) (gpointer data);

/* Iterates the main context until @condition holds; fails on time out. */
static void
wait_until (Condition  condition,
            gpointer   data)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* Waits for the next "map-complete" after @flag was cleared. */
static void
wait_for_map (gboolean *flag)
{
  wait_until (is_true, flag);
}

static void
open_demo (Fixture  *f,
           gboolean *map_complete)
{
  DothiMapView *map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));

  copy_demo (f);
  *map_complete = FALSE;
  g_signal_connect (map, "map-complete", G_CALLBACK (flag_cb), map_complete);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1280, 800);
  open_path (f, f->path);
  g_assert_null (dothi_window_get_error_message (f->window));
  g_assert_cmpstr (dothi_window_get_page (f->window), ==, "layers");
  wait_for_map (map_complete);
}

/* Waits until @widget has been painted once more. */
static void
wait_for_paint (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gboolean painted = FALSE;
  gulong id;

  g_assert_nonnull (clock);
  id = g_signal_connect (clock, "after-paint", G_CALLBACK (flag_cb), &painted);
  gtk_widget_queue_draw (widget);
  wait_until (is_true, &painted);
  g_signal_handler_disconnect (clock, id);
}

/* Pixels of @widget as drawn now that differ from its most common
 * colour (the map's background). */
static guint
count_drawn_pixels (GtkWidget *widget)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  graphene_rect_t bounds;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
  g_autofree guint32 *pixels = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  guint32 background = 0;
  guint best = 0, drawn = 0;
  GHashTableIter iter;
  gpointer key, value;

  g_assert_cmpint (width, >, 100);
  g_assert_cmpint (height, >, 100);
  g_assert_true (gtk_widget_get_mapped (widget));
  wait_for_paint (widget);
  /* What the widget draws in its parent, as the window's frame has it. */
  gtk_widget_snapshot_child (gtk_widget_get_parent (widget), widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  gsk_render_node_get_bounds (node, &bounds);
  texture = gsk_renderer_render_texture (renderer, node, &bounds);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) width * 4);

  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, GUINT_TO_POINTER (pixels[i])));
      g_hash_table_insert (counts, GUINT_TO_POINTER (pixels[i]), GUINT_TO_POINTER (n + 1));
    }
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (GPOINTER_TO_UINT (value) > best)
      {
        best = GPOINTER_TO_UINT (value);
        background = GPOINTER_TO_UINT (key);
      }
  for (gsize i = 0; i < (gsize) width * height; i++)
    drawn += pixels[i] != background;

  g_test_message ("%u of %d×%d pixels drawn", drawn, width, height);
  g_assert_cmpuint (drawn, <, (guint) width * height);
  return drawn;
}

static void
test_demo_map (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GError) error = NULL;
  gboolean map_complete = FALSE;
  GtkWidget *map;
  guint drawn;

  open_demo (f, &map_complete);

  /* One row per layer, topmost first. */
  layers = dothi_project_list_layers (dothi_window_get_project (f->window), &error);
  g_assert_no_error (error);
  rows = dothi_window_dup_layer_rows (f->window);
  g_assert_cmpuint (rows->len, ==, layers->len);
  g_assert_cmpuint (rows->len, ==, 7);
  g_assert_cmpstr (dothi_layer_row_get_name (g_ptr_array_index (rows, 0)), ==,
                   ((DothiLayerInfo *) g_ptr_array_index (layers, layers->len - 1))->name);
  g_assert_cmpstr (dothi_layer_row_get_name (g_ptr_array_index (rows, rows->len - 1)), ==,
                   ((DothiLayerInfo *) g_ptr_array_index (layers, 0))->name);

  /* The city is drawn: a good share of the map differs from its background. */
  map = dothi_window_get_map_view (f->window);
  drawn = count_drawn_pixels (map);
  g_assert_cmpuint (drawn, >, (guint) (gtk_widget_get_width (map) * gtk_widget_get_height (map) / 20));

  /* The status bar names the zone and shows the scale as 1:N. */
  g_assert_true (g_str_has_prefix (dothi_window_get_scale_text (f->window), "1:"));
  g_assert_cmpstr (dothi_window_get_position_text (f->window), ==, "VN-2000 / TM-3 108°30′");
  g_signal_emit_by_name (map, "pointer-moved", 458123.45, 1403012.34, 12.6801, 108.0512);
  g_assert_cmpstr (dothi_window_get_position_text (f->window), ==,
                   "X: 1403012.34 m  Y: 458123.45 m  (VN-2000 / TM-3 108°30′)");
  g_assert_cmpstr (dothi_window_get_wgs84_text (f->window), ==, "12.6801° N, 108.0512° E (WGS 84)");

  /* Actions follow the state. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.zoom-in", NULL));
}

/* A digest of @widget's pixels as drawn now. */
static char *
widget_pixels_digest (GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  graphene_rect_t bounds;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width, height;

  wait_for_paint (widget);
  gtk_widget_snapshot_child (gtk_widget_get_parent (widget), widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  gsk_render_node_get_bounds (node, &bounds);
  texture = gsk_renderer_render_texture (renderer, node, &bounds);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_malloc ((gsize) width * height * 4);
  gdk_texture_download (texture, pixels, (gsize) width * 4);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, pixels, (gsize) width * height * 4);
}

/* On a network drive the project opens read-only, the window says why,
 * and "Edit Anyway" opens it again for editing under a lock file. */
static void
test_open_network_drive (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *lock = NULL;
  g_autoptr(GFile) file = NULL;
  DothiProject *project;

  copy_demo (f);
  lock = g_strconcat (f->path, ".lock", NULL);
  dothi_project_assume_network_fs (TRUE);
  open_path (f, f->path);
  project = dothi_window_get_project (f->window);
  g_assert_nonnull (project);
  g_assert_true (dothi_project_get_read_only (project));
  g_assert_true (g_str_has_suffix (dothi_window_get_subtitle (f->window), "—\u00a0read-only")
                 || strstr (dothi_window_get_subtitle (f->window), "read-only") != NULL);
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.edit-anyway", NULL));
  wait_for_window (f->window);
  g_assert_cmpstr (dothi_window_get_error_message (f->window), ==, NULL);
  project = dothi_window_get_project (f->window);
  g_assert_false (dothi_project_get_read_only (project));
  g_assert_true (g_file_test (lock, G_FILE_TEST_EXISTS));
  dothi_project_assume_network_fs (FALSE);
}

/* The spatialite shell changes every parcel's land use while the map is
 * open: the map notices within its one-second poll and draws again. */
static void
test_demo_external_edit (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *spatialite = g_find_program_in_path ("spatialite");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  gboolean map_complete = FALSE;
  GtkWidget *map;
  int status = 0;

  if (spatialite == NULL)
    {
      g_test_skip ("the spatialite shell (spatialite-bin) is not installed");
      return;
    }
  open_demo (f, &map_complete);
  map = dothi_window_get_map_view (f->window);
  before = widget_pixels_digest (map);

  {
    const char *argv[] = { spatialite, f->path,
                           "UPDATE parcels SET muc_dich = 'CQP';", NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                 NULL, NULL, NULL, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }

  /* The map draws the touched tiles again and completes once more. */
  map_complete = FALSE;
  wait_for_map (&map_complete);
  after = widget_pixels_digest (map);
  g_assert_cmpstr (before, !=, after);
}

static ShumateMap *
find_shumate_map (GtkWidget *widget)
{
  if (SHUMATE_IS_MAP (widget))
    return SHUMATE_MAP (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      ShumateMap *map = find_shumate_map (child);

      if (map != NULL)
        return map;
    }
  return NULL;
}

typedef struct {
  DothiWindow *window;
  double       bbox[4];
  OGRCoordinateTransformationH to_project;
} FlyCheck;

/* The centre of the map, in the project CRS, lies in the bbox. */
static gboolean
map_shows_bbox (gpointer data)
{
  FlyCheck *check = data;
  DothiMapView *view = DOTHI_MAP_VIEW (dothi_window_get_map_view (check->window));
  ShumateMap *map = find_shumate_map (GTK_WIDGET (view));
  ShumateViewport *viewport = shumate_map_get_viewport (map);
  double x = shumate_location_get_longitude (SHUMATE_LOCATION (viewport));
  double y = shumate_location_get_latitude (SHUMATE_LOCATION (viewport));

  g_assert_true (OCTTransform (check->to_project, 1, &x, &y, NULL));
  return x >= check->bbox[0] - 1 && x <= check->bbox[2] + 1
         && y >= check->bbox[1] - 1 && y <= check->bbox[3] + 1
         && dothi_map_view_get_scale_denominator (view) < 5000;
}

static gboolean
has_search_results (gpointer data)
{
  return !dothi_window_get_searching (data) && dothi_window_get_n_search_results (data) > 0;
}

static void
test_demo_search (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  const DothiSearchResult *parcel;
  OGRSpatialReferenceH wgs84, project_srs;
  gboolean map_complete = FALSE;
  FlyCheck check = { f->window };
  DothiMapView *map;
  double start_scale;

  open_demo (f, &map_complete);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  g_assert_nonnull (find_shumate_map (GTK_WIDGET (map)));
  start_scale = dothi_map_view_get_scale_denominator (map);

  /* What the window will find, from the core directly. */
  results = dothi_search_sync (f->path, "tờ 1 thửa 1", 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, >, 0);
  parcel = g_ptr_array_index (results, 0);
  g_assert_cmpint (parcel->kind, ==, DOTHI_SEARCH_PARCEL);
  memcpy (check.bbox, parcel->bbox, sizeof check.bbox);

  /* Typed, and without tone marks, as people type in a hurry. */
  dothi_window_search (f->window, "to 1 thua 1");
  wait_until (has_search_results, f->window);
  g_assert_true (dothi_window_activate_search_result (f->window, 0));

  wgs84 = dothi_crs_new_srs (4326, &error);
  g_assert_no_error (error);
  project_srs = dothi_crs_new_srs (dothi_project_get_srid (dothi_window_get_project (f->window)), &error);
  g_assert_no_error (error);
  check.to_project = OCTNewCoordinateTransformation (wgs84, project_srs);
  g_assert_nonnull (check.to_project);

  /* The flight may be animated: wait until the map is over the parcel. */
  wait_until (map_shows_bbox, &check);
  g_assert_cmpfloat (dothi_map_view_get_scale_denominator (map), <, start_scale);

  OCTDestroyCoordinateTransformation (check.to_project);
  OSRRelease (wgs84);
  OSRRelease (project_srs);
}

static gboolean
identify_shown (gpointer data)
{
  return dothi_window_get_identify_visible (data) && !dothi_window_get_searching (data);
}

static void
test_demo_identify (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  const DothiSearchResult *parcel;
  DothiIdentifyPanel *panel;
  gboolean map_complete = FALSE;
  double x, y;

  open_demo (f, &map_complete);
  results = dothi_search_sync (f->path, "tờ 1 thửa 1", 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  parcel = g_ptr_array_index (results, 0);
  x = (parcel->bbox[0] + parcel->bbox[2]) / 2;
  y = (parcel->bbox[1] + parcel->bbox[3]) / 2;

  /* A click in the middle of the parcel, as the map reports it. */
  g_assert_false (dothi_window_get_identify_visible (f->window));
  g_signal_emit_by_name (dothi_window_get_map_view (f->window), "clicked", x, y, 0.5);
  wait_until (identify_shown, f->window);

  panel = DOTHI_IDENTIFY_PANEL (dothi_window_get_identify_panel (f->window));
  g_assert_cmpuint (dothi_identify_panel_get_n_results (panel), >=, 1);
  g_assert_nonnull (dothi_identify_panel_get_current (panel));
  g_assert_cmpstr (dothi_identify_panel_get_title (panel), !=, "");

  /* Escape (win.close-identify) closes it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.close-identify", NULL));
  g_assert_false (dothi_window_get_identify_visible (f->window));
}

typedef struct {
  DothiProject *project;
  const char   *layer;
  double        opacity;
} OpacityCheck;

static gboolean
opacity_stored (gpointer data)
{
  OpacityCheck *check = data;
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (check->project, check->layer, NULL);

  return info != NULL && fabs (info->opacity - check->opacity) < 0.001;
}

static void
test_demo_layer_panel (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bottom_name = NULL;
  gboolean map_complete = FALSE;
  DothiProject *project;
  DothiLayerRow *top, *bottom;
  OpacityCheck check;

  open_demo (f, &map_complete);
  project = dothi_window_get_project (f->window);
  rows = dothi_window_dup_layer_rows (f->window);
  top = g_ptr_array_index (rows, 0);
  bottom = g_ptr_array_index (rows, rows->len - 1);
  bottom_name = g_strdup (dothi_layer_row_get_name (bottom));

  /* Visibility is stored at once. */
  dothi_layer_row_set_layer_visible (top, FALSE);
  info = dothi_project_get_layer (project, dothi_layer_row_get_name (top), &error);
  g_assert_no_error (error);
  g_assert_false (info->visible);

  /* Opacity once the slider rests. */
  check.project = project;
  check.layer = dothi_layer_row_get_name (top);
  check.opacity = 0.4;
  dothi_layer_row_set_opacity (top, 0.4);
  wait_until (opacity_stored, &check);

  /* Dropping the bottom layer onto the top row makes it the top layer. */
  g_signal_emit_by_name (top, "layer-dropped", bottom_name);
  after = dothi_window_dup_layer_rows (f->window);
  g_assert_cmpuint (after->len, ==, rows->len);
  g_assert_cmpstr (dothi_layer_row_get_name (g_ptr_array_index (after, 0)), ==, bottom_name);
  layers = dothi_project_list_layers (project, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (((DothiLayerInfo *) g_ptr_array_index (layers, layers->len - 1))->name, ==,
                   bottom_name);
  g_assert_null (dothi_window_get_error_message (f->window));
}

static DothiStyleDialog *
find_style_dialog (void)
{
  /* Transfer none. */
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (DOTHI_IS_STYLE_DIALOG (window))
        return DOTHI_STYLE_DIALOG (window);
    }
  return NULL;
}

static void
test_demo_style (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiStyle) stored = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  gboolean map_complete = FALSE;
  DothiStyleDialog *dialog;
  DothiLayerRow *parcels = NULL;

  open_demo (f, &map_complete);
  rows = dothi_window_dup_layer_rows (f->window);
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (dothi_layer_row_get_name (g_ptr_array_index (rows, i)), "parcels") == 0)
      parcels = g_ptr_array_index (rows, i);
  g_assert_nonnull (parcels);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.layer-style",
                                             "s", "parcels"));
  dialog = find_style_dialog ();
  g_assert_nonnull (dialog);

  /* Graduated by area, five equal classes. */
  dothi_style_dialog_set_kind (dialog, DOTHI_STYLE_GRADUATED);
  g_assert_true (dothi_style_dialog_set_field (dialog, "dien_tich"));
  dothi_style_dialog_classify (dialog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dothi_style_dialog_get_style (dialog)->rules->len, ==, 5);

  /* Categorised by land use, in the conventional colours. */
  dothi_style_dialog_set_kind (dialog, DOTHI_STYLE_CATEGORISED);
  g_assert_true (dothi_style_dialog_set_field (dialog, "muc_dich"));
  dothi_style_dialog_classify (dialog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dothi_style_dialog_get_style (dialog)->rules->len, >, 1);
  g_assert_true (dothi_style_dialog_set_visible_scale (dialog, 25000));
  g_assert_false (dothi_style_dialog_set_visible_scale (dialog, 12345));
  dothi_style_dialog_apply (dialog, &error);
  g_assert_no_error (error);

  stored = dothi_project_dup_style (dothi_window_get_project (f->window), "parcels", &error);
  g_assert_no_error (error);
  g_assert_cmpint (stored->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (stored->field, ==, "muc_dich");
  /* 1:25 000 at 96 dpi is 6.61 m a pixel. */
  g_assert_cmpfloat_with_epsilon (stored->max_resolution, 25000 * 0.0254 / 96, 0.001);
  g_assert_cmpuint (dothi_layer_row_get_n_legend_items (parcels), ==,
                    MIN (stored->rules->len, 24) + (stored->draw_other ? 1 : 0));
}


/* ---- editing: undo, redo, feature form, history ------------------------- */

/* Changes @field of @fid in @layer to @value with the core, on the
 * window's own connection, as one action named @label. */
static gint64
edit_text (DothiWindow *window,
           const char  *layer,
           gint64       fid,
           const char  *field,
           const char  *value,
           const char  *label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) properties = json_object_new ();
  gint64 id;

  json_object_set_string_member (properties, field, value);
  dothi_change_set_update (set, layer, fid, properties, NULL);
  id = dothi_edit_apply_sync (dothi_window_get_project (window), set, label, NULL,
                              NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static char *
layer_checksum (DothiWindow *window,
                const char  *layer)
{
  g_autoptr(GError) error = NULL;
  char *sum = dothi_project_layer_checksum (dothi_window_get_project (window), layer, &error);

  g_assert_no_error (error);
  return sum;
}

typedef struct {
  DothiWindow *window;
  const char  *undo;
  const char  *redo;
} HistoryCheck;

/* No edit runs and the window offers to undo and redo these labels. */
static gboolean
history_shows (gpointer data)
{
  HistoryCheck *check = data;

  return !dothi_window_get_edit_running (check->window)
         && g_strcmp0 (dothi_window_get_undo_label (check->window), check->undo) == 0
         && g_strcmp0 (dothi_window_get_redo_label (check->window), check->redo) == 0;
}

/* An attribute edit made with the core (on the window's own connection)
 * reaches the Undo button within the window's one-second poll; undo and
 * redo run from the window and swap the labels and the layer's rows. */
static void
test_edit_undo_redo (Fixture       *f,
                     gconstpointer  data)
{
  const char *label = "Sửa số thửa 1 & 2";
  g_autofree char *before_label = NULL;
  g_autofree char *before_sum = NULL;
  g_autofree char *after_sum = NULL;
  g_autofree char *now_sum = NULL;
  GtkWidget *undo_button, *redo_button;
  HistoryCheck check = { f->window };

  make_project (f, TRUE);
  open_path (f, f->path);
  undo_button = find_widget (GTK_WIDGET (f->window), "undo_button");
  redo_button = find_widget (GTK_WIDGET (f->window), "redo_button");

  before_label = dothi_edit_dup_undo_label (dothi_window_get_project (f->window));
  g_assert_cmpstr (dothi_window_get_undo_label (f->window), ==, before_label);
  g_assert_null (dothi_window_get_redo_label (f->window));
  g_assert_false (gtk_widget_get_sensitive (redo_button));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (redo_button), ==, "Nothing to Redo");

  before_sum = layer_checksum (f->window, "thua_dat");
  edit_text (f->window, "thua_dat", 1, "so_thua", "00042", label);
  after_sum = layer_checksum (f->window, "thua_dat");
  g_assert_cmpstr (before_sum, !=, after_sum);

  check.undo = label;
  check.redo = NULL;
  wait_until (history_shows, &check);
  g_assert_true (gtk_widget_get_sensitive (undo_button));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (undo_button), ==, "Undo “Sửa số thửa 1 & 2”");
  g_assert_false (gtk_widget_get_sensitive (redo_button));

  /* Undo runs in a worker; nothing else may start meanwhile. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.undo", NULL));
  g_assert_true (dothi_window_get_edit_running (f->window));
  g_assert_false (gtk_widget_get_sensitive (undo_button));
  check.undo = before_label;
  check.redo = label;
  wait_until (history_shows, &check);
  now_sum = layer_checksum (f->window, "thua_dat");
  g_assert_cmpstr (now_sum, ==, before_sum);
  g_assert_true (gtk_widget_get_sensitive (redo_button));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (redo_button), ==, "Redo “Sửa số thửa 1 & 2”");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.redo", NULL));
  check.undo = label;
  check.redo = NULL;
  wait_until (history_shows, &check);
  g_clear_pointer (&now_sum, g_free);
  now_sum = layer_checksum (f->window, "thua_dat");
  g_assert_cmpstr (now_sum, ==, after_sum);
  g_assert_null (dothi_window_get_error_message (f->window));
}

/* A read-only project: editing is off, and the tooltips say why. */
static void
test_edit_read_only (Fixture       *f,
                     gconstpointer  data)
{
  GtkWidget *edit_button;

  make_project (f, TRUE);
  g_assert_cmpint (g_chmod (f->path, 0444), ==, 0);
  open_path (f, f->path);
  if (!dothi_project_get_read_only (dothi_window_get_project (f->window)))
    {
      /* root may write a 0444 file, so the project opens writable. */
      g_test_skip ("the read-only file opened writable (running as root?)");
      g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
      return;
    }

  edit_button = find_widget (GTK_WIDGET (f->window), "edit_button");
  g_assert_false (gtk_widget_get_sensitive (edit_button));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (edit_button), ==,
                   "The project is open read-only, so it cannot be edited");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (find_widget (GTK_WIDGET (f->window), "undo_button")), ==,
                   "The project is open read-only, so it cannot be edited");
  g_object_set (f->window, "editing", TRUE, NULL);
  {
    gboolean editing = TRUE;
    g_object_get (f->window, "editing", &editing, NULL);
    g_assert_false (editing);
  }
  g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
}

static void
saved_cb (DothiFeatureForm *form,
          gint64            action_id,
          gint64           *saved)
{
  *saved = action_id;
}

static gboolean
is_nonzero (gpointer data)
{
  return *(gint64 *) data != 0;
}

/* A bad integer is refused with the field named, and Save waits; a good
 * one is saved as one action; a parcel number may not be emptied. */
static void
test_edit_feature_form (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) pipes = NULL;
  g_autoptr(DothiLayerInfo) parcels = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  g_autofree char *undo_label = NULL;
  g_autofree char *text = NULL;
  DothiProject *project;
  DothiFeatureForm *form;
  GtkWidget *widget;
  const char *message;
  gint64 saved = 0;

  make_project (f, TRUE);
  open_path (f, f->path);
  project = dothi_window_get_project (f->window);
  pipes = dothi_project_get_layer (project, "duong_ong", &error);
  g_assert_no_error (error);

  g_ptr_array_add (names, (gpointer) "duong_kinh");
  g_ptr_array_add (values, (gpointer) "100");
  widget = dothi_feature_form_new (GTK_WINDOW (f->window), project, pipes, NULL, 1,
                                   names, values, &error);
  g_assert_no_error (error);
  form = DOTHI_FEATURE_FORM (widget);
  g_signal_connect (form, "saved", G_CALLBACK (saved_cb), &saved);
  gtk_window_present (GTK_WINDOW (form));
  g_assert_null (dothi_feature_form_get_error_message (form));
  text = dothi_feature_form_dup_text (form, "duong_kinh");
  g_assert_cmpstr (text, ==, "100");

  g_assert_true (dothi_feature_form_set_text (form, "duong_kinh", "12a"));
  message = dothi_feature_form_get_error_message (form);
  g_assert_cmpstr (message, ==, "Field “duong_kinh” needs a whole number, not “12a”");
  g_assert_false (gtk_widget_get_sensitive (find_widget (widget, "save_button")));
  g_assert_false (dothi_feature_form_save (form));
  g_assert_false (dothi_feature_form_get_busy (form));
  g_assert_false (dothi_feature_form_validate (form, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "duong_kinh"));
  g_clear_error (&error);
  g_assert_false (dothi_feature_form_set_text (form, "no_such_field", "1"));

  /* A good value clears the error and is saved as one action. */
  g_assert_true (dothi_feature_form_set_text (form, "duong_kinh", "150"));
  g_assert_null (dothi_feature_form_get_error_message (form));
  g_assert_true (gtk_widget_get_sensitive (find_widget (widget, "save_button")));
  g_assert_true (dothi_feature_form_save (form));
  wait_until (is_nonzero, &saved);
  g_assert_cmpint (saved, >, 0);
  undo_label = dothi_edit_dup_undo_label (project);
  g_assert_cmpstr (undo_label, ==, "Edit feature 1 of “Đường ống cấp nước”");

  /* The parcel number is required. */
  parcels = dothi_project_get_layer (project, "thua_dat", &error);
  g_assert_no_error (error);
  g_ptr_array_index (names, 0) = (gpointer) "so_thua";
  g_ptr_array_index (values, 0) = (gpointer) "00001";
  widget = dothi_feature_form_new (GTK_WINDOW (f->window), project, parcels, NULL, 1,
                                   names, values, &error);
  g_assert_no_error (error);
  form = DOTHI_FEATURE_FORM (widget);
  g_assert_true (dothi_feature_form_get_required (form, "so_thua"));
  g_assert_false (dothi_feature_form_get_has_domain (form, "so_thua"));
  g_assert_true (dothi_feature_form_set_text (form, "so_thua", ""));
  g_assert_false (dothi_feature_form_save (form));
  g_assert_cmpstr (dothi_feature_form_get_error_message (form), ==,
                   "Field “so_thua” is required");
  gtk_window_destroy (GTK_WINDOW (form));
}

/* On the demo city the parcels are categorised by land use: the form
 * offers the land-use codes with their Vietnamese names. */
static void
test_edit_feature_form_domain (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) parcels = NULL;
  g_autoptr(DothiStyle) style = NULL;
  gboolean map_complete = FALSE;
  DothiProject *project;
  DothiFeatureForm *form;
  GtkWidget *widget;

  open_demo (f, &map_complete);
  project = dothi_window_get_project (f->window);
  parcels = dothi_project_get_layer (project, "parcels", &error);
  g_assert_no_error (error);
  style = dothi_project_dup_style (project, "parcels", &error);
  g_assert_no_error (error);
  if (style->kind != DOTHI_STYLE_CATEGORISED || style->field == NULL)
    {
      g_test_skip ("the demo parcels are not categorised by default");
      return;
    }

  /* Read by the form itself, as from the attribute table. */
  widget = dothi_feature_form_new (GTK_WINDOW (f->window), project, parcels, style, 1,
                                   NULL, NULL, &error);
  g_assert_no_error (error);
  form = DOTHI_FEATURE_FORM (widget);
  g_assert_true (dothi_feature_form_get_has_domain (form, style->field));
  g_assert_true (dothi_feature_form_get_required (form, style->field));
  g_assert_true (dothi_feature_form_set_text (form, style->field,
                                              ((DothiStyleRule *) g_ptr_array_index (style->rules, 0))->value));
  g_assert_false (dothi_feature_form_set_text (form, style->field, "no such code"));
  g_assert_null (dothi_feature_form_get_error_message (form));
  gtk_window_destroy (GTK_WINDOW (form));
}

typedef struct {
  DothiWindow *window;
  const char  *layer;
  const char  *sum;
} SumCheck;

static gboolean
checksum_is (gpointer data)
{
  SumCheck *check = data;
  g_autofree char *sum = NULL;

  if (dothi_window_get_edit_running (check->window))
    return FALSE;
  sum = layer_checksum (check->window, check->layer);
  return g_strcmp0 (sum, check->sum) == 0;
}

/* History (Ctrl+H) lists the action newest first; Revert undoes it from
 * there; a feature's history names the field that changed. */
static void
test_edit_audit_view (Fixture       *f,
                      gconstpointer  data)
{
  const char *label = "Sửa số thửa 2";
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) parcels = NULL;
  g_autofree char *before_sum = NULL;
  DothiAuditView *view;
  GtkWidget *feature_view;
  SumCheck check = { f->window, "thua_dat" };
  gint64 id;

  make_project (f, TRUE);
  open_path (f, f->path);
  before_sum = layer_checksum (f->window, "thua_dat");
  id = edit_text (f->window, "thua_dat", 2, "so_thua", "00099", label);

  g_assert_null (dothi_window_get_audit_view (f->window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.history", NULL));
  view = DOTHI_AUDIT_VIEW (dothi_window_get_audit_view (f->window));
  g_assert_nonnull (view);
  g_assert_cmpuint (dothi_audit_view_get_n_items (view), >=, 1);
  g_assert_cmpstr (dothi_audit_view_get_item_title (view, 0), ==, label);
  g_assert_nonnull (strstr (dothi_audit_view_get_item_subtitle (view, 0), "Thửa đất · 1 feature"));
  g_assert_true (dothi_audit_view_select (view, 0));
  g_assert_cmpint (dothi_audit_view_get_selected_action (view), ==, id);

  /* Revert: a new action, and the list follows. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "audit.revert", NULL));
  g_assert_true (dothi_window_get_edit_running (f->window));
  check.sum = before_sum;
  wait_until (checksum_is, &check);
  g_assert_null (dothi_audit_view_get_error_message (view));
  g_assert_cmpuint (dothi_audit_view_get_n_items (view), >=, 2);
  g_assert_cmpstr (dothi_audit_view_get_item_title (view, 1), ==, label);

  /* The feature's own history: the change and its revert. */
  parcels = dothi_project_get_layer (dothi_window_get_project (f->window), "thua_dat", &error);
  g_assert_no_error (error);
  feature_view = dothi_audit_view_new_for_feature (GTK_WINDOW (f->window),
                                                   dothi_window_get_project (f->window),
                                                   parcels, 2);
  g_assert_cmpuint (dothi_audit_view_get_n_items (DOTHI_AUDIT_VIEW (feature_view)), >=, 2);
  g_assert_cmpstr (dothi_audit_view_get_item_title (DOTHI_AUDIT_VIEW (feature_view), 1), ==, "Changed");
  g_assert_nonnull (strstr (dothi_audit_view_get_item_subtitle (DOTHI_AUDIT_VIEW (feature_view), 1),
                            "so_thua: 00002 → 00099"));
  gtk_window_destroy (GTK_WINDOW (feature_view));
}

static DothiTopologyView *
find_topology_view (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (DOTHI_IS_TOPOLOGY_VIEW (window))
        return DOTHI_TOPOLOGY_VIEW (window);
    }
  return NULL;
}

static gboolean
topology_stopped (gpointer data)
{
  return !dothi_topology_view_get_running (data);
}

/* Check Topology…: parcel 2 moved 10 m onto parcel 1 overlaps it by
 * 5 × 15 m; the check lists that, a larger smallest area hides it, and
 * the row flies the map to the overlap with both parcels selected. */
static void
test_topology_view (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(GByteArray) moved = square_wkb (445010, 1400000, 15);
  g_autoptr(GBytes) wkb = g_bytes_new (moved->data, moved->len);
  OGRSpatialReferenceH wgs84, project_srs;
  FlyCheck check = { f->window, { 445010, 1400000, 445015, 1400015 } };
  DothiTopologyView *view;
  DothiMapView *map;
  GArray *selection;
  int kind = -1;
  gint64 fid_a = 0, fid_b = 0;
  double area = 0;

  make_project (f, TRUE);
  open_path (f, f->path);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  dothi_change_set_update (set, "thua_dat", 2, NULL, wkb);
  dothi_edit_apply_sync (dothi_window_get_project (f->window), set, "Dời thửa 2", NULL,
                         NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  g_assert_null (find_topology_view ());
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.check-topology", NULL));
  view = find_topology_view ();
  g_assert_nonnull (view);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (view)) == GTK_WINDOW (f->window));
  /* Only polygon layers are offered; the one with so_thua is chosen. */
  g_assert_cmpstr (dothi_topology_view_get_layer (view), ==, "thua_dat");
  dothi_topology_view_set_layer (view, "duong_ong");
  g_assert_cmpstr (dothi_topology_view_get_layer (view), ==, "thua_dat");

  g_assert_true (dothi_topology_view_run_sync (view));
  g_assert_false (dothi_topology_view_get_running (view));
  g_assert_cmpuint (dothi_topology_view_get_n_problems (view), ==, 1);
  g_assert_true (dothi_topology_view_get_problem (view, 0, &kind, &fid_a, &fid_b, &area));
  g_assert_cmpint (kind, ==, DOTHI_TOPOLOGY_OVERLAP);
  g_assert_cmpint (fid_a, ==, 1);
  g_assert_cmpint (fid_b, ==, 2);
  g_assert_cmpfloat_with_epsilon (area, 75.0, 0.01);
  g_assert_true (g_str_has_prefix (dothi_topology_view_get_problem_text (view, 0),
                                   "Parcels 1 and 2 overlap by 75"));
  g_assert_true (g_str_has_prefix (dothi_topology_view_get_message (view), "1 overlap and 0 gaps"));
  g_assert_nonnull (strstr (dothi_topology_view_get_message (view), "Thửa đất"));

  /* Nothing as large as 100 m². */
  dothi_topology_view_set_min_area (view, 100);
  g_assert_true (dothi_topology_view_run_sync (view));
  g_assert_cmpuint (dothi_topology_view_get_n_problems (view), ==, 0);
  g_assert_true (g_str_has_prefix (dothi_topology_view_get_message (view),
                                   "No overlaps or gaps larger than 100"));

  /* Cancelled at once: said so, nothing listed. */
  dothi_topology_view_set_min_area (view, 0.1);
  dothi_topology_view_run (view);
  g_assert_true (dothi_topology_view_get_running (view));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "topology.cancel", NULL));
  wait_until (topology_stopped, view);
  g_assert_cmpuint (dothi_topology_view_get_n_problems (view), ==, 0);
  g_assert_cmpstr (dothi_topology_view_get_message (view), ==, "The check was cancelled");

  /* The row flies the map to the overlap and selects both parcels. */
  g_assert_true (dothi_topology_view_run_sync (view));
  g_assert_cmpuint (dothi_topology_view_get_n_problems (view), ==, 1);
  g_assert_true (dothi_topology_view_activate_problem (view, 0));
  selection = dothi_map_view_get_selection (map);
  g_assert_cmpstr (dothi_map_view_get_selection_layer (map), ==, "thua_dat");
  g_assert_cmpuint (selection->len, ==, 2);
  g_assert_cmpint (g_array_index (selection, gint64, 0), ==, 1);
  g_assert_cmpint (g_array_index (selection, gint64, 1), ==, 2);

  wgs84 = dothi_crs_new_srs (4326, &error);
  g_assert_no_error (error);
  project_srs = dothi_crs_new_srs (dothi_project_get_srid (dothi_window_get_project (f->window)), &error);
  g_assert_no_error (error);
  check.to_project = OCTNewCoordinateTransformation (wgs84, project_srs);
  g_assert_nonnull (check.to_project);
  wait_until (map_shows_bbox, &check);
  OCTDestroyCoordinateTransformation (check.to_project);
  OSRRelease (wgs84);
  OSRRelease (project_srs);
}

static DothiFeatureForm *
find_feature_form (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (DOTHI_IS_FEATURE_FORM (window))
        return DOTHI_FEATURE_FORM (window);
    }
  return NULL;
}

/* The Edit toggle shows the tools that fit the layer; the table (Ctrl+T)
 * shows the topmost layer, passes its selection to the map and opens a
 * row's form. */
static void
test_edit_tools_and_table (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *tool = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  DothiMapView *map;
  DothiAttributeTable *table;
  DothiFeatureForm *form;
  gboolean editing = FALSE;
  gint64 fid = 2;

  make_project (f, TRUE);
  open_path (f, f->path);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));

  /* Tools wait for the Edit toggle. */
  g_assert_false (gtk_widget_get_sensitive (find_widget (GTK_WIDGET (f->window), "vertices_button")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.edit-mode", NULL));
  g_object_get (f->window, "editing", &editing, NULL);
  g_assert_true (editing);
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (find_widget (GTK_WIDGET (f->window), "edit_revealer"))));
  g_assert_true (gtk_widget_get_sensitive (find_widget (GTK_WIDGET (f->window), "vertices_button")));

  /* The pipes (topmost) are lines: “add” draws a line, no parcel split. */
  g_assert_true (gtk_widget_get_visible (find_widget (GTK_WIDGET (f->window), "add_line_button")));
  g_assert_false (gtk_widget_get_visible (find_widget (GTK_WIDGET (f->window), "add_polygon_button")));
  g_assert_false (gtk_widget_get_visible (find_widget (GTK_WIDGET (f->window), "split_button")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.edit-tool", "s", "add"));
  g_object_get (f->window, "edit-tool", &tool, NULL);
  g_assert_cmpstr (tool, ==, "add-line");
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_ADD_LINE);
  g_clear_pointer (&tool, g_free);
  g_object_set (f->window, "edit-tool", "split", NULL);
  g_object_get (f->window, "edit-tool", &tool, NULL);
  g_assert_cmpstr (tool, ==, "none");
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_NONE);

  /* A typed vertex that is not two numbers is refused, naming it. */
  g_object_set (f->window, "edit-tool", "add-line", NULL);
  gtk_editable_set_text (GTK_EDITABLE (find_widget (GTK_WIDGET (f->window), "coordinate_entry")),
                         "1401000 abc");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.add-vertex", NULL));
  g_assert_nonnull (strstr (dothi_window_get_error_message (f->window), "“1401000 abc”"));

  /* Leaving edit mode stops the tool. */
  g_object_set (f->window, "editing", FALSE, NULL);
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_NONE);

  /* The table shows the topmost layer and drives the map's selection. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.toggle-table", NULL));
  table = DOTHI_ATTRIBUTE_TABLE (dothi_window_get_attribute_table (f->window));
  g_assert_true (gtk_widget_get_visible (find_widget (GTK_WIDGET (f->window), "table_pane")));
  g_assert_cmpstr (dothi_attribute_table_get_layer (table), ==, "duong_ong");
  g_array_append_val (fids, fid);
  g_signal_emit_by_name (table, "selection-changed", fids);
  g_assert_cmpstr (dothi_map_view_get_selection_layer (map), ==, "duong_ong");
  g_assert_cmpuint (dothi_map_view_get_selection (map)->len, ==, 1);
  g_assert_cmpint (g_array_index (dothi_map_view_get_selection (map), gint64, 0), ==, 2);

  /* Activating a row opens its form, with the values read from the file. */
  g_assert_null (find_feature_form ());
  g_signal_emit_by_name (table, "feature-activated", (gint64) 3);
  form = find_feature_form ();
  g_assert_nonnull (form);
  g_assert_cmpint (dothi_feature_form_get_fid (form), ==, 3);
  g_assert_cmpstr (dothi_feature_form_get_layer (form), ==, "duong_ong");
  text = dothi_feature_form_dup_text (form, "duong_kinh");
  g_assert_cmpstr (text, ==, "100");
  gtk_window_destroy (GTK_WINDOW (form));
}

/* ---- map editing -------------------------------------------------------- */

/* ---- editing on the map -------------------------------------------------- */

static gboolean
count_feature_cb (gint64            fid,
                  const DothiValue *values,
                  const guint8     *wkb,
                  gsize             wkb_len,
                  gpointer          user_data,
                  GError          **error)
{
  (*(guint *) user_data)++;
  return TRUE;
}

static guint
count_features (DothiProject *project,
                const char   *layer)
{
  g_autoptr(GError) error = NULL;
  guint n = 0;

  dothi_store_read_features (dothi_project_get_store (project), layer, NULL,
                             count_feature_cb, &n, NULL, &error);
  g_assert_no_error (error);
  return n;
}

typedef struct {
  gint64             fid;
  DothiEditGeometry *geometry;
} FeatureRead;

static gboolean
read_feature_cb (gint64            fid,
                 const DothiValue *values,
                 const guint8     *wkb,
                 gsize             wkb_len,
                 gpointer          user_data,
                 GError          **error)
{
  FeatureRead *read = user_data;

  if (fid == read->fid)
    read->geometry = dothi_edit_geometry_new_from_wkb (wkb, wkb_len);
  return TRUE;
}

/* Feature @fid of @layer, found within @bbox (layer CRS); NULL if gone. */
static DothiEditGeometry *
read_feature (DothiProject *project,
              const char   *layer,
              gint64        fid,
              const double  bbox[4])
{
  g_autoptr(GError) error = NULL;
  FeatureRead read = { fid, NULL };

  dothi_store_read_features (dothi_project_get_store (project), layer, bbox,
                             read_feature_cb, &read, NULL, &error);
  g_assert_no_error (error);
  return read.geometry;
}

typedef struct {
  gint64  action;
  GError *error;
  guint   n_finished;
} EditOutcome;

static void
edit_finished_cb (DothiMapView *map,
                  gint64        action,
                  EditOutcome  *outcome)
{
  outcome->action = action;
  outcome->n_finished++;
}

static void
edit_failed_cb (DothiMapView *map,
                const GError *error,
                EditOutcome  *outcome)
{
  g_clear_error (&outcome->error);
  outcome->error = g_error_copy (error);
}

/* Parcel "tờ 1 thửa 1" of the demo: its fid, bbox and geometry. */
static DothiEditGeometry *
demo_parcel (Fixture *f,
             gint64  *fid,
             double   bbox[4])
{
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  const DothiSearchResult *parcel;
  DothiEditGeometry *geometry;

  results = dothi_search_sync (f->path, "tờ 1 thửa 1", 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  parcel = g_ptr_array_index (results, 0);
  g_assert_cmpstr (parcel->layer, ==, "parcels");
  *fid = parcel->fid;
  memcpy (bbox, parcel->bbox, 4 * sizeof (double));
  geometry = read_feature (dothi_window_get_project (f->window), "parcels", *fid, bbox);
  g_assert_nonnull (geometry);
  g_assert_cmpint (geometry->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  return geometry;
}

static gboolean
map_zoomed_in (gpointer data)
{
  return dothi_map_view_get_scale_denominator (data) < 600.0;
}

/* A tool the layer cannot take fails at once and leaves no tool. */
static void
test_edit_refused (Fixture       *f,
                   gconstpointer  data)
{
  EditOutcome outcome = { 0 };
  gboolean map_complete = FALSE;
  DothiMapView *map;

  open_demo (f, &map_complete);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  g_signal_connect (map, "edit-failed", G_CALLBACK (edit_failed_cb), &outcome);

  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_ADD_LINE, "parcels");
  g_assert_error (outcome.error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (outcome.error->message, "“"));
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_NONE);
  g_clear_error (&outcome.error);

  /* Two vertices are no polygon: refused before the core sees it, and the
   * sketch stays for a third. */
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_ADD_POLYGON, "parcels");
  g_assert_null (outcome.error);
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_ADD_POLYGON);
  g_assert_cmpstr (dothi_map_view_get_edit_layer (map), ==, "parcels");
  dothi_map_view_add_typed_vertex (map, 1403000.0, 457000.0);
  dothi_map_view_add_typed_vertex (map, 1403000.0, 457010.0);
  g_assert_false (dothi_map_view_finish_edit (map));
  g_assert_error (outcome.error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&outcome.error);

  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_NONE, NULL);
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_NONE);
  g_assert_null (dothi_map_view_get_edit_layer (map));
}

/* Four typed vertices, the first a few centimetres from a parcel corner:
 * it snaps onto the corner exactly; the polygon becomes a new feature. */
static void
test_edit_add_polygon_snapped (Fixture       *f,
                               gconstpointer  data)
{
  static const char * const snap_layers[] = { "parcels", NULL };
  g_autoptr(DothiEditGeometry) parcel = NULL;
  g_autoptr(DothiEditGeometry) added = NULL;
  EditOutcome outcome = { 0 };
  gboolean map_complete = FALSE;
  DothiProject *project;
  DothiMapView *map;
  DothiEditVertex corner;
  const DothiEditPath *ring;
  GArray *fids;
  double bbox[4], around[4];
  gint64 fid;
  guint before;

  open_demo (f, &map_complete);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  project = dothi_window_get_project (f->window);
  g_signal_connect (map, "edit-finished", G_CALLBACK (edit_finished_cb), &outcome);
  g_signal_connect (map, "edit-failed", G_CALLBACK (edit_failed_cb), &outcome);

  parcel = demo_parcel (f, &fid, bbox);
  ring = g_ptr_array_index (parcel->paths, 0);
  corner = g_array_index (ring->vertices, DothiEditVertex, 0);

  /* Close in on the corner: 10 px are then well under a metre. */
  around[0] = corner.x - 20.0;
  around[1] = corner.y - 20.0;
  around[2] = corner.x + 20.0;
  around[3] = corner.y + 20.0;
  dothi_map_view_zoom_to_bbox (map, around);
  wait_until (map_zoomed_in, map);

  before = count_features (project, "parcels");
  dothi_map_view_set_snapping (map, snap_layers, 10.0);
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_ADD_POLYGON, "parcels");
  g_assert_null (outcome.error);

  /* X is the northing, Y the easting (survey convention). */
  dothi_map_view_add_typed_vertex (map, corner.y + 0.05, corner.x + 0.04);
  /* The other corners exactly as typed. */
  dothi_map_view_set_snapping (map, NULL, 10.0);
  dothi_map_view_add_typed_vertex (map, corner.y, corner.x - 12.5);
  dothi_map_view_add_typed_vertex (map, corner.y - 9.75, corner.x - 12.5);
  dothi_map_view_add_typed_vertex (map, corner.y - 9.75, corner.x);
  g_assert_cmpuint (outcome.n_finished, ==, 0);

  g_assert_true (dothi_map_view_finish_edit (map));
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (outcome.n_finished, ==, 1);
  g_assert_cmpint (outcome.action, >, 0);
  g_assert_cmpuint (count_features (project, "parcels"), ==, before + 1);

  fids = dothi_map_view_get_last_edit_fids (map);
  g_assert_cmpuint (fids->len, ==, 1);
  around[0] = corner.x - 13.0;
  around[1] = corner.y - 10.0;
  around[2] = corner.x + 1.0;
  around[3] = corner.y + 1.0;
  added = read_feature (project, "parcels", g_array_index (fids, gint64, 0), around);
  g_assert_nonnull (added);
  g_assert_cmpuint (added->paths->len, ==, 1);
  ring = g_ptr_array_index (added->paths, 0);
  g_assert_cmpuint (ring->vertices->len, ==, 4);
  /* The snapped corner, and the typed ones, to the centimetre. */
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 0).x, corner.x, 0.01);
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 0).y, corner.y, 0.01);
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 1).x, corner.x - 12.5, 0.01);
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 2).y, corner.y - 9.75, 0.01);

  /* The tool stays, ready for the next feature. */
  g_assert_cmpint (dothi_map_view_get_edit_tool (map), ==, DOTHI_EDIT_TOOL_ADD_POLYGON);
  g_clear_error (&outcome.error);
}

/* A line typed across parcel "tờ 1 thửa 1" splits it into two. */
static void
test_edit_split_typed_line (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(DothiEditGeometry) parcel = NULL;
  g_autoptr(DothiEditGeometry) gone = NULL;
  EditOutcome outcome = { 0 };
  gboolean map_complete = FALSE;
  DothiProject *project;
  DothiMapView *map;
  GArray *fids;
  double bbox[4], cy;
  gint64 fid;
  guint before;

  open_demo (f, &map_complete);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  project = dothi_window_get_project (f->window);
  g_signal_connect (map, "edit-finished", G_CALLBACK (edit_finished_cb), &outcome);
  g_signal_connect (map, "edit-failed", G_CALLBACK (edit_failed_cb), &outcome);

  parcel = demo_parcel (f, &fid, bbox);
  before = count_features (project, "parcels");
  /* Across the middle, from just outside to just outside; no snapping. */
  cy = (bbox[1] + bbox[3]) / 2.0 + 0.013;
  dothi_map_view_set_snapping (map, NULL, 10.0);
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_SPLIT_PARCEL, "parcels");
  g_assert_null (outcome.error);
  dothi_map_view_add_typed_vertex (map, cy, bbox[0] - 0.4);
  dothi_map_view_add_typed_vertex (map, cy, bbox[2] + 0.4);

  g_assert_true (dothi_map_view_finish_edit (map));
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (outcome.n_finished, ==, 1);
  g_assert_cmpint (outcome.action, >, 0);

  /* One parcel out, two in. */
  fids = dothi_map_view_get_last_edit_fids (map);
  g_assert_cmpuint (fids->len, ==, 2);
  g_assert_cmpuint (count_features (project, "parcels"), ==, before + 1);
  gone = read_feature (project, "parcels", fid, bbox);
  g_assert_null (gone);
  for (guint i = 0; i < fids->len; i++)
    {
      g_autoptr(DothiEditGeometry) half =
        read_feature (project, "parcels", g_array_index (fids, gint64, i), bbox);

      g_assert_nonnull (half);
      g_assert_cmpfloat (dothi_edit_geometry_area (half), >, 0.0);
      g_assert_cmpfloat (dothi_edit_geometry_area (half), <, dothi_edit_geometry_area (parcel));
    }
  g_clear_error (&outcome.error);
}

/* ---- pointer tools, driven through the map's own gestures --------------- */

/* The controller of @type on the ShumateMap that the map view connected
 * (its handlers carry the view as data); @button 0 for any. */
static GtkEventController *
find_view_controller (DothiMapView *view,
                      GType         type,
                      guint         button)
{
  GtkWidget *map = GTK_WIDGET (dothi_map_view_get_map (view));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (map);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!G_TYPE_CHECK_INSTANCE_TYPE (controller, type)
          || g_signal_handler_find (controller, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, view) == 0)
        continue;
      if (button != 0 && gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (controller)) != button)
        continue;
      return controller;
    }
  g_assert_not_reached ();
  return NULL;
}

/* Widget coordinates of (@x, @y) in the layer CRS @srid. */
static void
layer_to_widget (DothiMapView *view,
                 int           srid,
                 double        x,
                 double        y,
                 double       *wx,
                 double       *wy)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiMapTransform) transform = dothi_map_transform_new (srid, &error);
  ShumateMap *map = dothi_map_view_get_map (view);
  DothiMapFrame frame;
  double mx, my;

  g_assert_no_error (error);
  g_assert_true (dothi_map_frame_init (&frame, shumate_map_get_viewport (map), GTK_WIDGET (map)));
  g_assert_true (dothi_map_transform_to_mercator (transform, x, y, &mx, &my));
  dothi_map_frame_to_widget (&frame, mx, my, wx, wy);
}

static void
click_at (DothiMapView *view,
          double        wx,
          double        wy,
          int           n_press)
{
  GtkEventController *click = find_view_controller (view, GTK_TYPE_GESTURE_CLICK, GDK_BUTTON_PRIMARY);

  g_signal_emit_by_name (click, "pressed", n_press, wx, wy);
  g_signal_emit_by_name (click, "released", n_press, wx, wy);
}

static void
drag_from (DothiMapView *view,
           double        wx,
           double        wy,
           double        dx,
           double        dy)
{
  GtkEventController *drag = find_view_controller (view, GTK_TYPE_GESTURE_DRAG, 0);

  g_signal_emit_by_name (drag, "drag-begin", wx, wy);
  g_signal_emit_by_name (drag, "drag-update", dx / 2, dy / 2);
  g_signal_emit_by_name (drag, "drag-update", dx, dy);
  g_signal_emit_by_name (drag, "drag-end", dx, dy);
}

static void
count_cb (gpointer  instance,
          guint    *count)
{
  (*count)++;
}

/* Draws a square by clicks (double click finishes), picks it and drags a
 * vertex, moves it, selects it and deletes it: every step one action, and
 * no "clicked" (identify) meanwhile. */
static void
test_edit_pointer_tools (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(DothiEditGeometry) parcel = NULL;
  g_autoptr(DothiEditGeometry) square = NULL;
  EditOutcome outcome = { 0 };
  gboolean map_complete = FALSE;
  guint n_clicked = 0, n_selection = 0;
  DothiProject *project;
  DothiMapView *map;
  const DothiEditPath *ring;
  int srid;
  double bbox[4], around[4], ox, oy, wx, wy, wx2, wy2;
  gint64 fid, added;

  open_demo (f, &map_complete);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  project = dothi_window_get_project (f->window);
  srid = dothi_project_get_srid (project);
  g_signal_connect (map, "edit-finished", G_CALLBACK (edit_finished_cb), &outcome);
  g_signal_connect (map, "edit-failed", G_CALLBACK (edit_failed_cb), &outcome);
  g_signal_connect (map, "clicked", G_CALLBACK (count_cb), &n_clicked);
  g_signal_connect (map, "selection-changed", G_CALLBACK (count_cb), &n_selection);

  /* A square of 10 m beside parcel "tờ 1 thửa 1", outside the city's
   * parcels' corners: 30 m left of its bbox. */
  parcel = demo_parcel (f, &fid, bbox);
  ox = bbox[0] - 40.0;
  oy = bbox[1];
  around[0] = ox - 20.0;
  around[1] = oy - 20.0;
  around[2] = ox + 30.0;
  around[3] = oy + 30.0;
  dothi_map_view_zoom_to_bbox (map, around);
  wait_until (map_zoomed_in, map);
  /* Let the flight end: the clicks below assume a still map. */
  shumate_map_stop_go_to (dothi_map_view_get_map (map));

  dothi_map_view_set_snapping (map, NULL, 10.0);
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_ADD_POLYGON, "parcels");
  layer_to_widget (map, srid, ox, oy, &wx, &wy);
  click_at (map, wx, wy, 1);
  layer_to_widget (map, srid, ox + 10, oy, &wx, &wy);
  click_at (map, wx, wy, 1);
  layer_to_widget (map, srid, ox + 10, oy + 10, &wx, &wy);
  click_at (map, wx, wy, 1);
  layer_to_widget (map, srid, ox, oy + 10, &wx, &wy);
  click_at (map, wx, wy, 1);
  /* The second click of the double click finishes, adding nothing. */
  click_at (map, wx, wy, 2);
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (outcome.n_finished, ==, 1);
  g_assert_cmpuint (n_clicked, ==, 0);
  g_assert_cmpuint (dothi_map_view_get_last_edit_fids (map)->len, ==, 1);
  added = g_array_index (dothi_map_view_get_last_edit_fids (map), gint64, 0);
  square = read_feature (project, "parcels", added, around);
  g_assert_nonnull (square);
  ring = g_ptr_array_index (square->paths, 0);
  g_assert_cmpuint (ring->vertices->len, ==, 4);
  /* A click lands within half a pixel of the vertex it means. */
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 2).x, ox + 10, 0.05);
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 2).y, oy + 10, 0.05);
  g_clear_pointer (&square, dothi_edit_geometry_free);

  /* Pick it, drag its corner (ox + 10, oy + 10) 2 m east, apply. */
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_EDIT_VERTICES, "parcels");
  layer_to_widget (map, srid, ox + 5, oy + 5, &wx, &wy);
  click_at (map, wx, wy, 1);
  layer_to_widget (map, srid, ox + 10, oy + 10, &wx, &wy);
  layer_to_widget (map, srid, ox + 12, oy + 10, &wx2, &wy2);
  drag_from (map, wx, wy, wx2 - wx, wy2 - wy);
  g_assert_cmpuint (outcome.n_finished, ==, 1);
  g_assert_true (dothi_map_view_finish_edit (map));
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (outcome.n_finished, ==, 2);
  square = read_feature (project, "parcels", added, around);
  ring = g_ptr_array_index (square->paths, 0);
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 2).x, ox + 12, 0.05);
  g_clear_pointer (&square, dothi_edit_geometry_free);

  /* Move it 3 m north by dragging from its middle. */
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_MOVE_FEATURE, "parcels");
  layer_to_widget (map, srid, ox + 5, oy + 5, &wx, &wy);
  layer_to_widget (map, srid, ox + 5, oy + 8, &wx2, &wy2);
  drag_from (map, wx, wy, wx2 - wx, wy2 - wy);
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (outcome.n_finished, ==, 3);
  square = read_feature (project, "parcels", added, around);
  ring = g_ptr_array_index (square->paths, 0);
  g_assert_cmpfloat_with_epsilon (g_array_index (ring->vertices, DothiEditVertex, 0).y, oy + 3, 0.05);
  g_clear_pointer (&square, dothi_edit_geometry_free);

  /* Select it, then shift-less click on nothing clears the selection. */
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_SELECT, "parcels");
  layer_to_widget (map, srid, ox + 5, oy + 8, &wx, &wy);
  click_at (map, wx, wy, 1);
  g_assert_cmpuint (n_selection, ==, 1);
  g_assert_cmpstr (dothi_map_view_get_selection_layer (map), ==, "parcels");
  g_assert_cmpuint (dothi_map_view_get_selection (map)->len, ==, 1);
  g_assert_cmpint (g_array_index (dothi_map_view_get_selection (map), gint64, 0), ==, added);
  layer_to_widget (map, srid, ox - 15, oy - 15, &wx, &wy);
  click_at (map, wx, wy, 1);
  g_assert_cmpuint (dothi_map_view_get_selection (map)->len, ==, 0);

  /* Delete it with one click. */
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_DELETE_FEATURE, "parcels");
  layer_to_widget (map, srid, ox + 5, oy + 8, &wx, &wy);
  click_at (map, wx, wy, 1);
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (outcome.n_finished, ==, 4);
  square = read_feature (project, "parcels", added, around);
  g_assert_null (square);
  g_assert_cmpuint (n_clicked, ==, 0);

  /* Without a tool, clicks identify again. */
  dothi_map_view_set_edit_tool (map, DOTHI_EDIT_TOOL_NONE, NULL);
  click_at (map, wx, wy, 1);
  g_assert_cmpuint (n_clicked, ==, 1);
}


/* ---- Import dialog ------------------------------------------------------ */

static const char *const import_owners[] = {
  "Nguyễn Văn Đông", "Trần Thị Hà", "Lê Quang Hưng",
  "Phạm Thị Thu Hương", "Hồ Văn Bờ", "Đỗ Minh Tuấn",
};

/* TCVN3 (ABC) bytes; glibc's TCVN5712-1 agrees with TCVN3 on text
 * without toned capitals. */
static char *
tcvn3_encode (const char *utf8)
{
  g_autoptr(GError) error = NULL;
  char *bytes = g_convert (utf8, -1, "TCVN5712-1", "UTF-8", NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

/* ban_do.shp in @dir: six points in EPSG:9218 (or with no .prj) whose
 * field "Chủ" holds TCVN3 bytes, plus an ASCII code. */
static char *
write_tcvn3_shapefile (const char *dir,
                       gboolean    with_crs)
{
  static const char *const lco[] = { "ENCODING=", NULL };
  g_autofree char *path = g_build_filename (dir, "ban_do.shp", NULL);
  g_autofree char *owner_field = tcvn3_encode ("Chủ");
  OGRSpatialReferenceH srs = NULL;
  GDALDatasetH ds;
  OGRLayerH layer;
  OGRFieldDefnH field;

  GDALAllRegister ();
  ds = GDALCreate (GDALGetDriverByName ("ESRI Shapefile"), path, 0, 0, 0, GDT_Unknown, NULL);
  g_assert_nonnull (ds);
  if (with_crs)
    {
      srs = OSRNewSpatialReference (NULL);
      g_assert_cmpint (OSRImportFromEPSG (srs, 9218), ==, OGRERR_NONE);
    }
  layer = GDALDatasetCreateLayer (ds, "ban_do", srs, wkbPoint, (char **) lco);
  g_assert_nonnull (layer);

  field = OGR_Fld_Create (owner_field, OFTString);
  g_assert_cmpint (OGR_L_CreateField (layer, field, TRUE), ==, OGRERR_NONE);
  OGR_Fld_Destroy (field);
  field = OGR_Fld_Create ("Ma_thua", OFTString);
  g_assert_cmpint (OGR_L_CreateField (layer, field, TRUE), ==, OGRERR_NONE);
  OGR_Fld_Destroy (field);

  for (guint i = 0; i < G_N_ELEMENTS (import_owners); i++)
    {
      OGRFeatureH feature = OGR_F_Create (OGR_L_GetLayerDefn (layer));
      OGRGeometryH point = OGR_G_CreateGeometry (wkbPoint);
      g_autofree char *owner = tcvn3_encode (import_owners[i]);
      g_autofree char *code = g_strdup_printf ("%05u", i + 1);

      OGR_F_SetFieldString (feature, 0, owner);
      OGR_F_SetFieldString (feature, 1, code);
      OGR_G_SetPoint_2D (point, 0, 458000.0 + i, 1403200.0 + i);
      OGR_F_SetGeometryDirectly (feature, point);
      g_assert_cmpint (OGR_L_CreateFeature (layer, feature), ==, OGRERR_NONE);
      OGR_F_Destroy (feature);
    }
  GDALClose (ds);
  if (srs != NULL)
    OSRRelease (srs);
  return g_steal_pointer (&path);
}

/* Iterates the main context until the dialog's preview, CRS check or
 * import is done. */
static void
wait_for_dialog (DothiImportDialog *dialog)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (dothi_import_dialog_get_busy (dialog) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

/* Iterates until *@pointer (a weak pointer) is NULL. */
static void
wait_for_finalize (gpointer *pointer)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (*pointer != NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
count_imported_cb (DothiImportDialog *dialog,
                   guint             *n_imported)
{
  (*n_imported)++;
}

static guint
project_layer_count (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (dothi_window_get_project (f->window),
                                                           &error);

  g_assert_no_error (error);
  return layers->len;
}

/* The window shows the test project (two layers); a dialog over it reads
 * @source (NULL: none yet) and counts "imported" in @n_imported. */
static DothiImportDialog *
new_import_dialog (Fixture    *f,
                   const char *source,
                   guint      *n_imported)
{
  g_autoptr(GFile) file = source ? g_file_new_for_path (source) : NULL;
  GtkWidget *dialog;

  make_project (f, TRUE);
  open_path (f, f->path);
  g_assert_nonnull (dothi_window_get_project (f->window));

  dialog = dothi_import_dialog_new (GTK_WINDOW (f->window),
                                    dothi_window_get_project (f->window), file);
  g_signal_connect (dialog, "imported", G_CALLBACK (count_imported_cb), n_imported);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (f->window));
  if (source != NULL)
    {
      g_assert_cmpstr (dothi_import_dialog_get_page (DOTHI_IMPORT_DIALOG (dialog)), ==, "loading");
      wait_for_dialog (DOTHI_IMPORT_DIALOG (dialog));
    }
  return DOTHI_IMPORT_DIALOG (dialog);
}

/* Without a source the dialog offers a file chooser; Import does
 * nothing, Cancel (Escape) closes it. */
static void
test_import_dialog_choose (Fixture       *f,
                           gconstpointer  data)
{
  guint n_imported = 0;
  DothiImportDialog *dialog = new_import_dialog (f, NULL, &n_imported);

  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "choose");
  g_assert_false (dothi_import_dialog_get_busy (dialog));
  g_assert_null (dothi_import_dialog_get_message (dialog));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "choose");
  g_assert_false (dothi_import_dialog_get_busy (dialog));

  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.cancel", NULL);
  wait_for_finalize ((gpointer *) &dialog);
  g_assert_cmpuint (n_imported, ==, 0);
  g_assert_cmpuint (project_layer_count (f), ==, 2);
}

/* TCVN3 is detected and the sample table shows the decoded values; other
 * encodings re-run the preview; the import keeps the chosen encoding. */
static void
test_import_dialog_tcvn3 (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (f->dir, "tcvn3", NULL);
  g_autofree char *shp = NULL;
  g_autofree char *upper = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  guint n_imported = 0;
  DothiImportDialog *dialog;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  shp = write_tcvn3_shapefile (dir, TRUE);
  dialog = new_import_dialog (f, shp, &n_imported);

  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");
  g_assert_null (dothi_import_dialog_get_message (dialog));
  g_assert_cmpuint (dothi_import_dialog_get_n_layers (dialog), ==, 1);
  g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, -1, 0), ==, "Chủ");
  g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, -1, 1), ==, "Ma_thua");
  for (int r = 0; r < 5; r++)
    g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, r, 0), ==, import_owners[r]);
  g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, 0, 1), ==, "00001");
  g_assert_null (dothi_import_dialog_get_sample_text (dialog, 5, 0));
  g_assert_null (dothi_import_dialog_get_sample_text (dialog, 0, 2));

  /* VNI reads the same bytes as something else. */
  dothi_import_dialog_set_encoding (dialog, "VNI");
  g_assert_true (dothi_import_dialog_get_busy (dialog));
  wait_for_dialog (dialog);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");
  g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, 0, 0), !=, import_owners[0]);

  /* Capital-letter fonts: the same words in capitals. */
  dothi_import_dialog_set_encoding (dialog, "TCVN3-caps");
  wait_for_dialog (dialog);
  upper = g_utf8_strup (import_owners[0], -1);
  g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, 0, 0), ==, upper);

  dothi_import_dialog_set_encoding (dialog, "TCVN3");
  wait_for_dialog (dialog);
  g_assert_cmpstr (dothi_import_dialog_get_sample_text (dialog, 0, 0), ==, import_owners[0]);

  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "running");
  g_assert_true (dothi_import_dialog_get_busy (dialog));
  wait_for_dialog (dialog);

  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "done");
  g_assert_null (dothi_import_dialog_get_message (dialog));
  g_assert_cmpuint (n_imported, ==, 1);
  g_assert_cmpstr (dothi_import_dialog_get_summary (dialog), ==,
                   "ban_do: Imported 6 features into table “ban_do”");

  /* The window's own connection sees the new layer. */
  g_assert_cmpuint (project_layer_count (f), ==, 3);
  info = dothi_project_get_layer (dothi_window_get_project (f->window), "ban_do", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->encoding, ==, "TCVN3");
  g_assert_cmpint (info->srid, ==, 9218);
  g_assert_cmpint (info->feature_count, ==, 6);
}

/* A layer without a CRS needs one typed before Import does anything; a
 * wrong one is refused with the core's message. */
static void
test_import_dialog_crs_required (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (f->dir, "noprj", NULL);
  g_autofree char *shp = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  guint n_imported = 0;
  DothiImportDialog *dialog;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  shp = write_tcvn3_shapefile (dir, FALSE);
  dialog = new_import_dialog (f, shp, &n_imported);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");

  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");
  g_assert_false (dothi_import_dialog_get_busy (dialog));

  dothi_import_dialog_set_source_crs (dialog, "Dak Lakk");
  wait_for_dialog (dialog);
  g_assert_nonnull (dothi_import_dialog_get_message (dialog));
  g_assert_nonnull (strstr (dothi_import_dialog_get_message (dialog), "Dak Lakk"));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");

  dothi_import_dialog_set_source_crs (dialog, "Đắk Lắk");
  wait_for_dialog (dialog);
  g_assert_null (dothi_import_dialog_get_message (dialog));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "running");
  wait_for_dialog (dialog);

  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "done");
  g_assert_cmpuint (n_imported, ==, 1);
  info = dothi_project_get_layer (dothi_window_get_project (f->window), "ban_do", &error);
  g_assert_no_error (error);
  g_assert_cmpint (info->srid, ==, 9218);
}

/* Cancel while the import runs: the core rolls back. Cancelling before
 * the worker reaches its first check makes this deterministic. */
static void
test_import_dialog_cancel (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *shp = write_tcvn3_shapefile (f->dir, TRUE);
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  guint n_imported = 0;
  DothiImportDialog *dialog = new_import_dialog (f, shp, &n_imported);

  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "running");
  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.cancel", NULL);
  wait_for_dialog (dialog);

  /* Cancel stopped the import; it did not close the dialog. */
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");
  g_assert_cmpstr (dothi_import_dialog_get_message (dialog), ==,
                   "Import cancelled; the project is unchanged");
  g_assert_cmpuint (n_imported, ==, 0);
  g_assert_cmpuint (project_layer_count (f), ==, 2);
  info = dothi_project_get_layer (dothi_window_get_project (f->window), "ban_do", &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_null (info);
}

/* Closing the dialog cancels the import; the dialog lives until the
 * worker has rolled back. */
static void
test_import_dialog_close_while_running (Fixture       *f,
                                        gconstpointer  data)
{
  g_autofree char *shp = write_tcvn3_shapefile (f->dir, TRUE);
  guint n_imported = 0;
  DothiImportDialog *dialog = new_import_dialog (f, shp, &n_imported);

  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_true (dothi_import_dialog_get_busy (dialog));
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  gtk_window_close (GTK_WINDOW (dialog));
  wait_for_finalize ((gpointer *) &dialog);

  g_assert_cmpuint (n_imported, ==, 0);
  g_assert_cmpuint (project_layer_count (f), ==, 2);
}

/* A file that is not GIS data: the core's message, naming the file, on
 * the "failed" page. */
static void
test_import_dialog_unreadable (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "broken.geojson", NULL);
  g_autoptr(GError) error = NULL;
  guint n_imported = 0;
  DothiImportDialog *dialog;

  g_file_set_contents (path, "{ not json", -1, &error);
  g_assert_no_error (error);
  dialog = new_import_dialog (f, path, &n_imported);

  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "failed");
  g_assert_nonnull (dothi_import_dialog_get_message (dialog));
  g_assert_nonnull (strstr (dothi_import_dialog_get_message (dialog), "broken.geojson"));
  g_assert_cmpuint (dothi_import_dialog_get_n_layers (dialog), ==, 0);
  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "failed");
  g_assert_cmpuint (n_imported, ==, 0);
}

/* A file that fails half-way (an OSM node at lat=200): the error is
 * shown, the dialog stays open, the project is unchanged. */
static void
test_import_dialog_run_error (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *osm = dothi_test_shared_path ("osm2pgsql/test_invalid_location.osm");
  guint n_imported = 0;
  DothiImportDialog *dialog;

  if (osm == NULL)
    return;
  dialog = new_import_dialog (f, osm, &n_imported);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");
  g_assert_cmpuint (dothi_import_dialog_get_n_layers (dialog), >, 0);

  gtk_widget_activate_action (GTK_WIDGET (dialog), "import.run", NULL);
  wait_for_dialog (dialog);
  g_assert_cmpstr (dothi_import_dialog_get_page (dialog), ==, "options");
  g_assert_nonnull (dothi_import_dialog_get_message (dialog));
  g_assert_nonnull (strstr (dothi_import_dialog_get_message (dialog), "test_invalid_location.osm"));
  g_assert_cmpuint (n_imported, ==, 0);
  g_assert_cmpuint (project_layer_count (f), ==, 2);
}

/* A stored range on duong_kinh (0..100): the form shows it, refuses 150
 * naming the field and the range, and saves 80; the field rules editor
 * opens from the form. A layer with domains no longer gets the
 * parcel-number default. */
static void
test_edit_feature_form_rules (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) pipes = NULL;
  g_autoptr(DothiDomain) range = dothi_domain_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  g_autofree char *text = NULL;
  DothiProject *project;
  DothiFeatureForm *form;
  GtkWidget *widget;
  GtkWidget *rules;
  const char *message;
  gint64 saved = 0;

  make_project (f, TRUE);
  open_path (f, f->path);
  project = dothi_window_get_project (f->window);
  pipes = dothi_project_get_layer (project, "duong_ong", &error);
  g_assert_no_error (error);

  range->required = TRUE;
  range->has_min = TRUE;
  range->min = 0;
  range->has_max = TRUE;
  range->max = 100;
  g_assert_true (dothi_domain_set (project, "duong_ong", "duong_kinh", range, &error));
  g_assert_no_error (error);

  g_ptr_array_add (names, (gpointer) "duong_kinh");
  g_ptr_array_add (values, (gpointer) "100");
  widget = dothi_feature_form_new (GTK_WINDOW (f->window), project, pipes, NULL, 1,
                                   names, values, &error);
  g_assert_no_error (error);
  form = DOTHI_FEATURE_FORM (widget);
  g_signal_connect (form, "saved", G_CALLBACK (saved_cb), &saved);
  gtk_window_present (GTK_WINDOW (form));
  g_assert_null (dothi_feature_form_get_error_message (form));
  g_assert_true (dothi_feature_form_get_required (form, "duong_kinh"));

  /* 150 is over the maximum: refused inline, naming field and range. */
  g_assert_true (dothi_feature_form_set_text (form, "duong_kinh", "150"));
  message = dothi_feature_form_get_error_message (form);
  g_assert_cmpstr (message, ==,
                   "Field “duong_kinh” of “Đường ống cấp nước” must be between 0 and 100, not 150");
  g_assert_false (gtk_widget_get_sensitive (find_widget (widget, "save_button")));
  g_assert_false (dothi_feature_form_save (form));
  g_assert_false (dothi_feature_form_get_busy (form));
  g_assert_false (dothi_feature_form_validate (form, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "duong_kinh"));
  g_clear_error (&error);

  /* Required: emptying it is refused with the core's message. */
  g_assert_true (dothi_feature_form_set_text (form, "duong_kinh", ""));
  g_assert_cmpstr (dothi_feature_form_get_error_message (form), ==,
                   "Field “duong_kinh” is required in “Đường ống cấp nước”");

  /* The editor of the rules opens over the form, and closes with it. */
  rules = dothi_feature_form_open_rules (form);
  g_assert_nonnull (rules);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (rules)) == GTK_WINDOW (form));
  gtk_window_destroy (GTK_WINDOW (rules));

  /* 80 is in range: the error clears and the edit is saved. */
  g_assert_true (dothi_feature_form_set_text (form, "duong_kinh", "80"));
  g_assert_null (dothi_feature_form_get_error_message (form));
  g_assert_true (gtk_widget_get_sensitive (find_widget (widget, "save_button")));
  g_assert_true (dothi_feature_form_save (form));
  wait_until (is_nonzero, &saved);
  g_assert_cmpint (saved, >, 0);
}

/* Optional second test (register as "/ui/edit/feature-form-rules-editor"):
 * the Field Rules… editor refuses a minimum above the maximum, naming the
 * field, then saves a new maximum as one action and the form follows it. */
static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_named (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_edit_feature_form_rules_editor (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) pipes = NULL;
  g_autoptr(GHashTable) domains = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  g_autoptr(GPtrArray) actions = NULL;
  DothiProject *project;
  DothiFeatureForm *form;
  const DothiDomain *domain;
  GtkWidget *widget, *rules;

  make_project (f, TRUE);
  open_path (f, f->path);
  project = dothi_window_get_project (f->window);
  pipes = dothi_project_get_layer (project, "duong_ong", &error);
  g_assert_no_error (error);
  g_ptr_array_add (names, (gpointer) "duong_kinh");
  g_ptr_array_add (values, (gpointer) "100");
  widget = dothi_feature_form_new (GTK_WINDOW (f->window), project, pipes, NULL, 1,
                                   names, values, &error);
  g_assert_no_error (error);
  form = DOTHI_FEATURE_FORM (widget);
  gtk_window_present (GTK_WINDOW (form));
  g_assert_true (dothi_feature_form_set_text (form, "duong_kinh", "150"));
  g_assert_null (dothi_feature_form_get_error_message (form));

  rules = dothi_feature_form_open_rules (form);
  g_assert_nonnull (rules);
  gtk_editable_set_text (GTK_EDITABLE (find_named (rules, "min-duong_kinh")), "200");
  gtk_editable_set_text (GTK_EDITABLE (find_named (rules, "max-duong_kinh")), "100");
  g_signal_emit_by_name (find_named (rules, "rules-save"), "clicked");
  /* Refused: the editor stays, nothing is stored. */
  domains = dothi_domain_get_all (project, "duong_ong", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (domains), ==, 0);
  g_clear_pointer (&domains, g_hash_table_unref);

  gtk_editable_set_text (GTK_EDITABLE (find_named (rules, "min-duong_kinh")), "");
  gtk_switch_set_active (GTK_SWITCH (find_named (rules, "required-duong_kinh")), TRUE);
  g_signal_emit_by_name (find_named (rules, "rules-save"), "clicked");

  domains = dothi_domain_get_all (project, "duong_ong", &error);
  g_assert_no_error (error);
  domain = g_hash_table_lookup (domains, "duong_kinh");
  g_assert_nonnull (domain);
  g_assert_true (domain->required);
  g_assert_false (domain->has_min);
  g_assert_true (domain->has_max);
  g_assert_cmpfloat_with_epsilon (domain->max, 100, 1e-9);
  actions = dothi_audit_list_actions (project, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (((DothiActionInfo *) actions->pdata[0])->label, "duong_kinh"));

  /* The form follows: what was typed (150) is now refused. */
  g_assert_true (dothi_feature_form_get_required (form, "duong_kinh"));
  g_assert_cmpstr (dothi_feature_form_get_error_message (form), ==,
                   "Field “duong_kinh” of “Đường ống cấp nước” must be at most 100, not 150");
  gtk_window_destroy (GTK_WINDOW (form));
}

/* ---- the SQL console ---------------------------------------------------- */

static gboolean
sql_window_idle (gpointer data)
{
  return !dothi_sql_window_get_busy (data);
}

/* Types @sql, presses Run and waits for the answer. */
static void
run_sql (DothiSqlWindow *window,
         const char     *sql)
{
  GtkWidget *text = find_named (GTK_WIDGET (window), "sql-text");

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (text)), sql, -1);
  g_signal_emit_by_name (find_named (GTK_WIDGET (window), "sql-run"), "clicked");
  g_assert_true (dothi_sql_window_get_busy (window));
  wait_until (sql_window_idle, window);
}

static GtkWidget *
find_label_text (GtkWidget  *widget,
                 const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget)
      && g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label_text (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

typedef struct {
  GtkWidget  *root;
  const char *text;
} ShownLabel;

static gboolean
label_shown (gpointer data)
{
  ShownLabel *shown = data;
  GtkWidget *result = find_named (shown->root, "sql-result");

  return result != NULL && find_label_text (result, shown->text) != NULL;
}

static void
clipboard_text_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  char **text = user_data;
  g_autoptr(GError) error = NULL;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
is_set (gpointer data)
{
  return *(char **) data != NULL;
}

static void
assert_sql_text (DothiSqlWindow *window,
                 const char     *expected)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (find_named (GTK_WIDGET (window), "sql-text")));
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  g_assert_cmpstr (text, ==, expected);
}

/* The SQL console shows a count from the demo city, refuses a DELETE
 * with the core's message and leaves the table as it was, cancels a
 * query that would never end, copies a result as quoted CSV and recalls
 * earlier queries. */
static void
test_sql_console (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *csv = NULL;
  DothiSqlWindow *window;
  ShownLabel shown;

  copy_demo (f);
  window = dothi_sql_window_new (GTK_WINDOW (f->window), f->path);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "SQL Console");

  run_sql (window, "SELECT count(*) FROM parcels");
  g_assert_null (dothi_sql_window_get_error_message (window));
  g_assert_true (g_str_has_prefix (dothi_sql_window_get_status_text (window), "1 row in "));
  shown.root = GTK_WIDGET (window);
  shown.text = G_STRINGIFY (DEMO_PARCELS);
  wait_until (label_shown, &shown);
  shown.text = "count(*)";
  wait_until (label_shown, &shown);

  run_sql (window, "DELETE FROM parcels");
  g_assert_cmpstr (dothi_sql_window_get_error_message (window), ==,
                   "Only reading is allowed in the SQL console: writing to “parcels”");
  g_assert_null (find_named (GTK_WIDGET (window), "sql-result"));
  run_sql (window, "SELECT count(*) FROM parcels");
  g_assert_null (dothi_sql_window_get_error_message (window));
  shown.text = G_STRINGIFY (DEMO_PARCELS);
  wait_until (label_shown, &shown);

  /* Counts for ever unless Cancel really stops it. */
  {
    GtkWidget *text = find_named (GTK_WIDGET (window), "sql-text");

    gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (text)),
                              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                              "SELECT count(*) FROM c", -1);
    g_signal_emit_by_name (find_named (GTK_WIDGET (window), "sql-run"), "clicked");
    g_assert_true (dothi_sql_window_get_busy (window));
    g_signal_emit_by_name (find_named (GTK_WIDGET (window), "sql-cancel"), "clicked");
    wait_until (sql_window_idle, window);
    g_assert_cmpstr (dothi_sql_window_get_status_text (window), ==, "Query cancelled");
    g_assert_null (dothi_sql_window_get_error_message (window));
  }

  /* NULL dimmed in the table; in the CSV an empty field, apart from an
   * empty text. */
  run_sql (window, "SELECT 'a,\"b\"' AS \"x y\", NULL AS n, '' AS e, 7 AS k");
  shown.text = "NULL";
  wait_until (label_shown, &shown);
  {
    GtkWidget *result = find_named (GTK_WIDGET (window), "sql-result");

    g_assert_true (gtk_widget_has_css_class (find_label_text (result, "NULL"), "dim-label"));
  }
  g_signal_emit_by_name (find_named (GTK_WIDGET (window), "sql-copy-csv"), "clicked");
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (GTK_WIDGET (window)), NULL,
                                 clipboard_text_cb, &csv);
  wait_until (is_set, &csv);
  g_assert_cmpstr (csv, ==, "x y,n,e,k\r\n\"a,\"\"b\"\"\",,\"\",7\r\n");

  /* Up in the empty view: the last query first, a repeated one once. */
  {
    GtkWidget *text = find_named (GTK_WIDGET (window), "sql-text");

    gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (text)), "", -1);
  }
  gtk_widget_activate_action (GTK_WIDGET (window), "sql.history-previous", NULL);
  assert_sql_text (window, "SELECT 'a,\"b\"' AS \"x y\", NULL AS n, '' AS e, 7 AS k");
  gtk_widget_activate_action (GTK_WIDGET (window), "sql.history-previous", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "sql.history-previous", NULL);
  assert_sql_text (window, "SELECT count(*) FROM parcels");
  gtk_widget_activate_action (GTK_WIDGET (window), "sql.history-previous", NULL);
  assert_sql_text (window, "DELETE FROM parcels");
  gtk_widget_activate_action (GTK_WIDGET (window), "sql.history-next", NULL);
  assert_sql_text (window, "SELECT count(*) FROM parcels");

  gtk_window_destroy (GTK_WINDOW (window));
}


/* ---- the query builder -------------------------------------------------- */

static DothiQueryDialog *
find_query_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (DOTHI_IS_QUERY_DIALOG (window))
        return DOTHI_QUERY_DIALOG (window);
    }
  return NULL;
}

static gboolean
query_idle (gpointer data)
{
  return !dothi_query_dialog_get_busy (data);
}

static gboolean
query_has_result (gpointer data)
{
  return dothi_query_dialog_get_result (data) != NULL && !dothi_query_dialog_get_busy (data);
}

typedef struct {
  DothiAttributeTable *table;
  guint                n;
} TableCheck;

static gboolean
table_has_rows (gpointer data)
{
  TableCheck *check = data;
  GListModel *model = dothi_attribute_table_get_model (check->table);

  return model != NULL && g_list_model_get_n_items (model) == check->n;
}

/* The expected count, straight from the core on the same file. */
static guint
core_count (const char *path, const char *layer, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiQuery) query = dothi_query_new (path, layer, text, &error);
  g_autoptr(DothiFidSet) fids = NULL;

  g_assert_no_error (error);
  fids = dothi_query_run (query, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return dothi_fid_set_get_size (fids);
}

static void
test_query_builder (Fixture       *f,
                    gconstpointer  data)
{
  DothiMapView *map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  DothiQueryDialog *dialog;
  gboolean map_complete = FALSE;
  guint expected, within;
  TableCheck check;

  open_demo (f, &map_complete);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.query", NULL));
  dialog = find_query_dialog ();
  g_assert_nonnull (dialog);

  /* Parcels within 50 m of a main of 300 mm or more, of land use ODT:
   * built from the rows as a planner would. */
  g_assert_true (dothi_query_dialog_set_layer (dialog, "parcels"));
  g_assert_true (dothi_query_dialog_add_spatial (dialog, DOTHI_SPATIAL_WITHIN_DISTANCE,
                                                 "water_mains", 50, "duong_kinh_mm >= 300"));
  wait_until (query_idle, dialog);
  within = core_count (f->path, "parcels", "within_distance(water_mains, 50, duong_kinh_mm >= 300)");
  g_assert_cmpint (dothi_query_dialog_get_count (dialog), ==, within);
  g_assert_cmpint (within, >, 0);

  g_assert_true (dothi_query_dialog_add_attribute (dialog, "muc_dich", "=", "ODT"));
  g_assert_false (dothi_query_dialog_add_attribute (dialog, "no_such_field", "=", "1"));
  g_assert_cmpstr (dothi_query_dialog_get_expression (dialog), ==,
                   "within_distance(\"water_mains\", 50, duong_kinh_mm >= 300) AND \"muc_dich\" = 'ODT'");
  wait_until (query_idle, dialog);
  expected = core_count (f->path, "parcels",
                         "within_distance(water_mains, 50, duong_kinh_mm >= 300) AND muc_dich = 'ODT'");
  g_assert_cmpint (expected, >, 0);
  g_assert_cmpint (expected, <, within);
  g_assert_cmpint (dothi_query_dialog_get_count (dialog), ==, expected);

  /* Run: the selection on the map is the answer. */
  dothi_query_dialog_run (dialog);
  wait_until (query_has_result, dialog);
  g_assert_cmpint (dothi_fid_set_get_size (dothi_query_dialog_get_result (dialog)), ==, expected);
  g_assert_nonnull (dothi_map_view_get_result (map));
  g_assert_cmpstr (dothi_map_view_get_result_layer (map), ==, "parcels");
  g_assert_cmpint (dothi_fid_set_get_size (dothi_map_view_get_result (map)), ==, expected);

  /* The summary, grouped. */
  dothi_query_dialog_set_group_by (dialog, "muc_dich");
  wait_until (query_idle, dialog);
  g_assert_nonnull (dothi_query_dialog_get_summary_text (dialog));
  g_assert_nonnull (strstr (dothi_query_dialog_get_summary_text (dialog), "ODT"));

  /* Show in Table: only the result's rows. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "query.show-table", NULL));
  check.table = DOTHI_ATTRIBUTE_TABLE (dothi_window_get_attribute_table (f->window));
  check.n = expected;
  wait_until (table_has_rows, &check);

  /* A typed expression with a mistake: the message names the position. */
  dothi_query_dialog_set_expression (dialog, "muc_dich = 'ODT' AND (dien_tich > ");
  wait_until (query_idle, dialog);
  g_assert_cmpint (dothi_query_dialog_get_count (dialog), ==, -1);
  g_assert_nonnull (strstr (dothi_query_dialog_get_message (dialog), "position"));
  dothi_query_dialog_set_expression (dialog, "NOT (muc_dich = 'ODT') OR disjoint(zoning)");
  wait_until (query_idle, dialog);
  g_assert_cmpint (dothi_query_dialog_get_count (dialog), ==,
                   core_count (f->path, "parcels", "NOT (muc_dich = 'ODT') OR disjoint(zoning)"));

  /* Clear Query Result empties the map's highlight. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.clear-query-result", NULL));
  g_assert_null (dothi_map_view_get_result (map));
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* ---- print layout editor ------------------------------------------------ */

static gboolean
layout_editor_idle (gpointer data)
{
  return !dothi_layout_editor_get_busy (data);
}

static gboolean
layout_editor_rendered (gpointer data)
{
  return !dothi_layout_editor_get_busy (data)
         && dothi_layout_editor_get_preview_texture (data) != NULL;
}

/* Pixels of the preview that are not white paper. */
static gsize
count_inked_pixels (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guchar *pixels = g_malloc (stride * height);
  gsize inked = 0;

  gdk_texture_download (texture, pixels, stride);
  for (gsize i = 0; i < stride * height; i += 4)
    if (pixels[i] < 250 || pixels[i + 1] < 250 || pixels[i + 2] < 250)
      inked++;
  return inked;
}

static void
test_layout_editor (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pdf = g_build_filename (f->dir, "quy-hoach.pdf", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(DothiLayout) stored = NULL;
  gboolean map_complete;
  DothiLayoutEditor *editor;
  DothiLayout *layout;
  JsonObject *map;
  GdkTexture *texture;
  double width, height, x;
  guint n_items;
  gsize length;

  open_demo (f, &map_complete);
  editor = dothi_layout_editor_new (GTK_WINDOW (f->window), dothi_window_get_project (f->window));
  gtk_window_set_default_size (GTK_WINDOW (editor), 1200, 800);
  gtk_window_present (GTK_WINDOW (editor));

  /* A planning map on A3, drawn off the main thread. */
  g_assert_true (dothi_layout_editor_new_from_template (editor, "planning", "A3",
                                                        "BẢN ĐỒ QUY HOẠCH SỬ DỤNG ĐẤT", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_layout_editor_get_modified (editor));
  g_assert_true (dothi_layout_editor_get_busy (editor));
  wait_until (layout_editor_rendered, editor);
  layout = dothi_layout_editor_get_layout (editor);
  dothi_layout_get_page_size (layout, &width, &height);
  g_assert_cmpfloat_with_epsilon (MAX (width, height), 420, 0.01);
  g_assert_cmpfloat_with_epsilon (MIN (width, height), 297, 0.01);
  texture = dothi_layout_editor_get_preview_texture (editor);
  g_assert_cmpfloat_with_epsilon ((double) gdk_texture_get_width (texture) / gdk_texture_get_height (texture),
                                  width / height, 0.01);
  /* The city, the title block and the frame are on the paper. */
  g_assert_cmpuint (count_inked_pixels (texture), >,
                    (gsize) gdk_texture_get_width (texture) * gdk_texture_get_height (texture) / 20);

  /* The map frame moves 10 mm; the JSON follows and the page is drawn again. */
  before = dothi_layout_to_json (layout);
  g_assert_true (dothi_layout_editor_select_item (editor, "map"));
  map = dothi_layout_find_item (layout, "map");
  g_assert_nonnull (map);
  x = json_object_get_double_member (map, "x");
  dothi_layout_editor_move_selected (editor, 10, 0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (map, "x"), x + 10, 0.001);
  after = dothi_layout_to_json (layout);
  g_assert_cmpstr (before, !=, after);
  g_assert_true (dothi_layout_editor_get_busy (editor));
  g_assert_false (dothi_layout_editor_select_item (editor, "no-such-item"));

  /* Added and removed again. */
  n_items = json_array_get_length (json_object_get_array_member (dothi_layout_get_object (layout), "items"));
  g_assert_true (dothi_layout_editor_add_item (editor, "legend"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (dothi_layout_get_object (layout), "items")),
                    ==, n_items + 1);
  dothi_layout_editor_delete_selected (editor);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (dothi_layout_get_object (layout), "items")),
                    ==, n_items);
  g_assert_cmpint (dothi_layout_editor_get_selected_index (editor), ==, -1);

  /* A negative scale is shown at once and fixed again. */
  json_object_set_int_member (map, "scale", -5);
  dothi_layout_editor_layout_changed (editor);
  g_assert_nonnull (dothi_layout_editor_get_error_message (editor));
  g_assert_false (dothi_layout_editor_get_busy (editor));
  json_object_set_int_member (map, "scale", 2000);
  dothi_layout_editor_layout_changed (editor);
  wait_until (layout_editor_rendered, editor);

  /* Saved in the project. */
  dothi_layout_editor_save (editor, &error);
  g_assert_no_error (error);
  g_assert_false (dothi_layout_editor_get_modified (editor));
  names = dothi_layout_list (dothi_window_get_project (f->window), &error);
  g_assert_no_error (error);
  g_assert_true (g_strv_contains ((const char * const *) names, dothi_layout_get_name (layout)));
  stored = dothi_layout_load (dothi_window_get_project (f->window), dothi_layout_get_name (layout), &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (dothi_layout_find_item (stored, "map"), "x"),
                                  x + 10, 0.001);

  /* Printed to a PDF in a worker. */
  dothi_layout_editor_print (editor, pdf);
  g_assert_true (dothi_layout_editor_get_busy (editor));
  wait_until (layout_editor_idle, editor);
  g_assert_null (dothi_layout_editor_get_error_message (editor));
  g_file_get_contents (pdf, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, >, 4);
  g_assert_cmpmem (contents, 4, "%PDF", 4);

  /* An atlas: the preview steps through its pages, "1 / N" to "2 / N",
   * and back; each page is drawn anew. */
  {
    GtkWidget *pages = find_named (GTK_WIDGET (editor), "layout-atlas-pages");
    GtkLabel *page = GTK_LABEL (find_named (GTK_WIDGET (editor), "layout-atlas-page"));
    g_autofree guchar *first = NULL;
    g_autofree guchar *second = NULL;
    GdkTexture *texture1, *texture2;
    gsize size;
    guint n = 0;

    g_assert_false (gtk_widget_get_visible (pages));
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_named (GTK_WIDGET (editor), "layout-atlas")), TRUE);
    wait_until (layout_editor_idle, editor);
    g_assert_null (dothi_layout_editor_get_error_message (editor));
    g_assert_true (gtk_widget_get_visible (pages));
    g_assert_true (sscanf (gtk_label_get_text (page), "1 / %u", &n) == 1);
    g_assert_cmpuint (n, >, 1);
    g_assert_false (gtk_widget_is_sensitive (gtk_widget_get_first_child (pages)));
    texture1 = dothi_layout_editor_get_preview_texture (editor);
    size = (gsize) gdk_texture_get_width (texture1) * gdk_texture_get_height (texture1) * 4;
    first = g_malloc (size);
    gdk_texture_download (texture1, first, gdk_texture_get_width (texture1) * 4);

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.page-next", NULL));
    g_assert_true (dothi_layout_editor_get_busy (editor));
    wait_until (layout_editor_idle, editor);
    g_assert_true (g_str_has_prefix (gtk_label_get_text (page), "2 / "));
    texture2 = dothi_layout_editor_get_preview_texture (editor);
    g_assert_true (texture2 != texture1);
    g_assert_cmpint (gdk_texture_get_width (texture2) * gdk_texture_get_height (texture2) * 4, ==, size);
    second = g_malloc (size);
    gdk_texture_download (texture2, second, gdk_texture_get_width (texture2) * 4);
    g_assert_true (memcmp (first, second, size) != 0);

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.page-previous", NULL));
    wait_until (layout_editor_idle, editor);
    g_assert_true (g_str_has_prefix (gtk_label_get_text (page), "1 / "));

    /* Off again: one page, no bar. */
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_named (GTK_WIDGET (editor), "layout-atlas")), FALSE);
    wait_until (layout_editor_idle, editor);
    g_assert_false (gtk_widget_get_visible (pages));
  }

  /* The map frame's offline basemap, from its Basemap row: a file that is
   * no MBTiles is an error naming it; none again, the page draws. */
  {
    g_autofree char *not_tiles = g_build_filename (f->dir, "khong-phai.mbtiles", NULL);
    GdkTexture *before;
    AdwActionRow *row;

    g_assert_true (g_file_set_contents (not_tiles, "not tiles", -1, &error));
    g_assert_true (dothi_layout_editor_select_item (editor, "map"));
    row = ADW_ACTION_ROW (find_named (GTK_WIDGET (editor), "layout-basemap"));
    g_assert_nonnull (row);
    g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "None: the layers alone");
    dothi_layout_editor_set_basemap (editor, not_tiles);
    g_assert_cmpstr (json_object_get_string_member (dothi_layout_find_item (layout, "map"), "basemap"), ==,
                     not_tiles);
    wait_until (layout_editor_idle, editor);
    g_assert_nonnull (dothi_layout_editor_get_error_message (editor));
    g_assert_nonnull (strstr (dothi_layout_editor_get_error_message (editor), "khong-phai.mbtiles"));
    /* The panel was rebuilt while the page was drawn. */
    while (g_main_context_iteration (NULL, FALSE))
      ;
    row = ADW_ACTION_ROW (find_named (GTK_WIDGET (editor), "layout-basemap"));
    g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "khong-phai.mbtiles");
    /* A failed page keeps the last good preview; none again draws anew. */
    before = dothi_layout_editor_get_preview_texture (editor);
    dothi_layout_editor_set_basemap (editor, NULL);
    g_assert_false (json_object_has_member (dothi_layout_find_item (layout, "map"), "basemap"));
    wait_until (layout_editor_idle, editor);
    g_assert_true (dothi_layout_editor_get_preview_texture (editor) != before);
  }

  gtk_window_destroy (GTK_WINDOW (editor));
}

/* ---- the network window (issue 8) ----------------------------------------- */

typedef struct {
  guint        count;
  char        *layer;
  DothiFidSet *fids;
} Highlight;

static void
highlight_cb (DothiNetworkPanel *panel,
              const char        *layer,
              DothiFidSet       *fids,
              Highlight         *highlight)
{
  highlight->count++;
  g_free (highlight->layer);
  highlight->layer = g_strdup (layer);
  g_clear_pointer (&highlight->fids, dothi_fid_set_unref);
  if (fids != NULL)
    highlight->fids = dothi_fid_set_ref (fids);
}

/* The first toggle button in @widget, depth first. */
static GtkWidget *
find_toggle (GtkWidget *widget)
{
  if (GTK_IS_TOGGLE_BUTTON (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_toggle (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
network_panel_idle (gpointer data)
{
  return !dothi_network_panel_get_busy (data);
}

/* Two doubles (and a fid) from one row of @sql on the project, with
 * SpatiaLite's functions. */
static gint64
query_point (const char *path,
             const char *sql,
             double     *x,
             double     *y)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  void *cache = spatialite_alloc_connection ();
  gint64 fid;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  spatialite_init_ex (db, cache, 0);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  *x = sqlite3_column_double (stmt, 0);
  *y = sqlite3_column_double (stmt, 1);
  fid = sqlite3_column_int64 (stmt, 2);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  spatialite_cleanup_ex (cache);
  return fid;
}

/* The lost pipes of an isolation at (@x, @y), computed with the core
 * alone: what the window must highlight. */
static DothiFidSet *
expected_lost_pipes (const char *path,
                     double      x,
                     double      y)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiNetwork) network = dothi_network_build (path, "cap_nuoc", NULL, &error);
  g_autoptr(DothiTrace) trace = NULL;
  GArray *fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint edge;

  g_assert_no_error (error);
  edge = dothi_network_nearest_edge (network, x, y, 20, NULL);
  g_assert_cmpuint (edge, !=, G_MAXUINT);
  trace = dothi_network_isolate (network, edge, NULL, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < trace->lost_edges->len; i++)
    {
      DothiNetworkEdge e;

      g_assert_true (dothi_network_get_edge (network, g_array_index (trace->lost_edges, guint, i), &e));
      g_assert_cmpstr (e.layer, ==, "water_mains");
      g_array_append_val (fids, e.fid);
    }
  return dothi_fid_set_new_take (fids);
}

/* The network window on the demo city with a source imported at a main's
 * first vertex: it proposes a definition while there is none; with one
 * defined by the core it builds, says so for a click away from the pipes,
 * isolates a break picked on a main (valves to close, the lost pipes
 * highlighted exactly as the core finds them) and finds the next ring
 * when a valve is marked seized. */
static void
test_network_panel (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autoptr(DothiFidSet) expected = NULL;
  g_autofree char *geojson = NULL;
  g_autofree char *text = NULL;
  g_autofree char *json = NULL;
  char sx[G_ASCII_DTOSTR_BUF_SIZE], sy[G_ASCII_DTOSTR_BUF_SIZE];
  double source_x, source_y, break_x, break_y;
  gint64 break_fid;
  Highlight highlight = { 0 };
  DothiNetworkPanel *panel;
  DothiTrace *trace;
  GtkWidget *widget;
  guint first_valve;

  copy_demo (f);
  query_point (f->path,
               "SELECT X (StartPoint (GeometryN (geom, 1))), Y (StartPoint (GeometryN (geom, 1))), fid "
               "FROM water_mains ORDER BY duong_kinh_mm DESC, fid LIMIT 1",
               &source_x, &source_y);
  /* The middle of a main with a valve on it. */
  break_fid = query_point (f->path,
                           "SELECT X (p), Y (p), fid FROM (SELECT m.fid AS fid,"
                           " Line_Interpolate_Point (GeometryN (m.geom, 1), 0.5) AS p"
                           " FROM water_mains m WHERE EXISTS (SELECT 1 FROM water_valves v"
                           "  WHERE PtDistWithin (v.geom, m.geom, 0.1))"
                           " ORDER BY m.duong_kinh_mm, m.fid LIMIT 1)",
                           &break_x, &break_y);

  project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  geojson = g_build_filename (f->dir, "nguon_nuoc.geojson", NULL);
  g_ascii_dtostr (sx, sizeof sx, source_x);
  g_ascii_dtostr (sy, sizeof sy, source_y);
  text = g_strdup_printf ("{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\","
                          " \"properties\": {\"ten\": \"Nhà máy nước\"},"
                          " \"geometry\": {\"type\": \"Point\", \"coordinates\": [%s, %s]}}]}", sx, sy);
  g_file_set_contents (geojson, text, -1, &error);
  g_assert_no_error (error);
  import = dothi_import_new (project, geojson);
  dothi_import_set_source_crs (import, "EPSG:9218");
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  /* No network yet: the window proposes one from the layers' names. */
  panel = dothi_network_panel_new (GTK_WINDOW (f->window), project);
  gtk_window_present (GTK_WINDOW (panel));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (panel)), ==, "Network");
  gtk_widget_activate_action (GTK_WIDGET (panel), "network.propose", NULL);
  widget = find_named (GTK_WIDGET (panel), "network-definition");
  {
    GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (widget));
    GtkTextIter start, end;

    gtk_text_buffer_get_bounds (buffer, &start, &end);
    json = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  }
  g_assert_nonnull (strstr (json, "\"layer\" : \"water_mains\""));
  g_assert_nonnull (strstr (json, "\"status_field\" : \"trang_thai\""));
  g_assert_nonnull (strstr (json, "\"layer\" : \"nguon_nuoc\""));
  g_assert_nonnull (strstr (json, "\"role\" : \"source\""));
  gtk_window_destroy (GTK_WINDOW (panel));

  dothi_network_define (project,
                        "{\"name\": \"cap_nuoc\", \"tolerance\": 0.5,"
                        " \"edges\": [{\"layer\": \"water_mains\", \"id_field\": \"ma_ong\"}],"
                        " \"nodes\": [{\"layer\": \"water_valves\", \"role\": \"valve\", \"id_field\": \"ma_van\","
                        "              \"status_field\": \"trang_thai\", \"open\": [\"mở\"], \"closed\": [\"đóng\"],"
                        "              \"seized\": [\"kẹt\"]},"
                        "             {\"layer\": \"nguon_nuoc\", \"role\": \"source\"}]}",
                        &error);
  g_assert_no_error (error);
  expected = expected_lost_pipes (f->path, break_x, break_y);
  g_assert_true (dothi_fid_set_contains (expected, break_fid));

  panel = dothi_network_panel_new (GTK_WINDOW (f->window), project);
  g_signal_connect (panel, "highlight", G_CALLBACK (highlight_cb), &highlight);
  gtk_window_present (GTK_WINDOW (panel));
  g_assert_false (dothi_network_panel_get_busy (panel));
  g_assert_null (dothi_network_panel_get_trace (panel));

  gtk_widget_activate_action (GTK_WIDGET (panel), "network.build", NULL);
  g_assert_true (dothi_network_panel_get_busy (panel));
  wait_until (network_panel_idle, panel);
  widget = find_named (GTK_WIDGET (panel), "network-topology");
  g_assert_nonnull (strstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (widget)), " nodes, "));
  g_assert_false (gtk_widget_get_visible (find_named (GTK_WIDGET (panel), "network-message")));

  /* The topology as tables in the project, for QGIS and SQL: every node
   * and edge, in a worker. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (panel), "network.save-topology", NULL));
  g_assert_true (dothi_network_panel_get_busy (panel));
  wait_until (network_panel_idle, panel);
  g_assert_false (gtk_widget_get_visible (find_named (GTK_WIDGET (panel), "network-message")));
  {
    double nodes, edges;
    g_autofree char *shown = NULL;

    query_point (f->path, "SELECT (SELECT count (*) FROM dothi_network_nodes WHERE network = 'cap_nuoc'), "
                 "(SELECT count (*) FROM dothi_network_edges WHERE network = 'cap_nuoc'), 0", &nodes, &edges);
    g_assert_cmpfloat (nodes, >, 0);
    g_assert_cmpfloat (edges, >, 0);
    shown = g_strdup_printf ("%.0f nodes", nodes);
    g_assert_nonnull (strstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (widget)), shown));
  }

  /* The districts bounded by valves, as polygons in a GeoJSON file. */
  {
    g_autofree char *dma = g_build_filename (f->dir, "dma.geojson", NULL);
    g_autofree char *contents = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonArray *features;

    g_assert_true (gtk_widget_get_sensitive (find_named (GTK_WIDGET (panel), "network-export-districts")));
    dothi_network_panel_export_districts (panel, dma);
    wait_until (network_panel_idle, panel);
    g_assert_false (gtk_widget_get_visible (find_named (GTK_WIDGET (panel), "network-message")));
    g_assert_true (g_file_get_contents (dma, &contents, NULL, &error));
    g_assert_true (json_parser_load_from_data (parser, contents, -1, &error));
    features = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "features");
    g_assert_cmpuint (json_array_get_length (features), >, 1);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
                       json_array_get_object_element (features, 0), "geometry"), "type"), ==, "MultiPolygon");
  }

  /* Picking is the toggle; a click far from every pipe says so and
   * keeps picking. */
  widget = find_named (GTK_WIDGET (panel), "network-pick-break");
  g_assert_true (gtk_widget_get_sensitive (widget));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (widget), TRUE);
  g_assert_true (dothi_network_panel_get_picking (panel));
  dothi_network_panel_pick (panel, break_x + 50000, break_y, 1.0);
  g_assert_false (dothi_network_panel_get_busy (panel));
  g_assert_true (dothi_network_panel_get_picking (panel));
  g_assert_null (dothi_network_panel_get_trace (panel));
  widget = find_named (GTK_WIDGET (panel), "network-message");
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)),
                                   "No pipe of network “cap_nuoc” within 20 m of the click at X: "));
  g_assert_cmpuint (highlight.count, ==, 0);

  dothi_network_panel_pick (panel, break_x, break_y, 1.0);
  g_assert_true (dothi_network_panel_get_busy (panel));
  g_assert_false (dothi_network_panel_get_picking (panel));
  wait_until (network_panel_idle, panel);
  trace = dothi_network_panel_get_trace (panel);
  g_assert_nonnull (trace);
  g_assert_cmpuint (trace->valves_to_close->len, >=, 1);
  g_assert_cmpuint (highlight.count, ==, 1);
  g_assert_cmpstr (highlight.layer, ==, "water_mains");
  g_assert_nonnull (highlight.fids);
  g_assert_true (dothi_fid_set_equal (highlight.fids, expected));
  first_valve = g_array_index (trace->valves_to_close, guint, 0);

  /* The first valve seized: the next ring closes instead. */
  {
    GtkWidget *rows = find_named (GTK_WIDGET (panel), "network-valves");
    GtkWidget *seized = NULL;

    for (GtkWidget *w = gtk_widget_get_first_child (rows); w != NULL && seized == NULL;
         w = gtk_widget_get_next_sibling (w))
      seized = find_toggle (w);
    g_assert_nonnull (seized);
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (seized), TRUE);
  }
  g_assert_true (dothi_network_panel_get_busy (panel));
  wait_until (network_panel_idle, panel);
  trace = dothi_network_panel_get_trace (panel);
  g_assert_nonnull (trace);
  g_assert_cmpuint (trace->valves_seized->len, >=, 1);
  for (guint i = 0; i < trace->valves_to_close->len; i++)
    g_assert_cmpuint (g_array_index (trace->valves_to_close, guint, i), !=, first_valve);
  g_assert_cmpuint (highlight.count, ==, 2);

  gtk_window_destroy (GTK_WINDOW (panel));
  g_free (highlight.layer);
  g_clear_pointer (&highlight.fids, dothi_fid_set_unref);
  dothi_project_close (project);
}

/* ---- the operations room (issue 7) ----------------------------------------- */

typedef struct {
  GSubprocess *process;
  int          port;
} Broker;

/* A real Mosquitto on 127.0.0.1 on a free port, anonymous, no
 * persistence; FALSE (and the test skipped) when it is not installed. */
static gboolean
broker_start (Broker     *broker,
              const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *program = g_find_program_in_path ("mosquitto");
  g_autofree char *conf = g_build_filename (dir, "mosquitto.conf", NULL);
  g_autofree char *text = NULL;
  gint64 deadline;

  if (program == NULL && g_file_test ("/usr/sbin/mosquitto", G_FILE_TEST_IS_EXECUTABLE))
    program = g_strdup ("/usr/sbin/mosquitto");
  if (program == NULL)
    {
      g_test_skip ("mosquitto is not installed");
      return FALSE;
    }
  /* The kernel's free port; closed just before the broker takes it. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, TRUE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  broker->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);

  text = g_strdup_printf ("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n",
                          broker->port);
  g_file_set_contents (conf, text, -1, &error);
  g_assert_no_error (error);
  broker->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                      &error, program, "-c", conf, NULL);
  g_assert_no_error (error);

  /* Up when it accepts a connection. */
  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection = NULL;
      g_autoptr(GError) connect_error = NULL;

      connection = g_socket_client_connect_to_host (client, "127.0.0.1", broker->port, NULL,
                                                    &connect_error);
      if (connection != NULL)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  return TRUE;
}

static void
broker_stop (Broker *broker)
{
  g_autoptr(GError) error = NULL;

  if (broker->process == NULL)
    return;
  g_subprocess_send_signal (broker->process, SIGTERM);
  g_subprocess_wait (broker->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&broker->process);
}

/* A retained QoS 1 message, so it reaches a subscription made later. */
static void
publish (Broker     *broker,
         const char *topic,
         const char *payload)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port = g_strdup_printf ("%d", broker->port);
  const char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-r",
                         "-t", topic, "-m", payload, NULL };
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
}

/* Wakes the main loop while waiting on other threads and processes. */
static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

typedef struct {
  DothiOpsPanel *panel;
  const char    *source;
  const char    *stored;
} OpsWait;

static gboolean
source_connected (gpointer data)
{
  OpsWait *w = data;

  return g_strcmp0 (dothi_ops_panel_get_source_status (w->panel, w->source), "Connected") == 0;
}

static gboolean
readings_shown (gpointer data)
{
  OpsWait *w = data;
  DothiLiveLayer *layer = dothi_ops_panel_get_live_layer (w->panel);
  GtkWidget *stored = find_named (GTK_WIDGET (w->panel), "ops-stored");
  int level = 0;

  return g_strcmp0 (gtk_label_get_text (GTK_LABEL (stored)), w->stored) == 0
         && dothi_ops_panel_get_n_alerts (w->panel) == 1
         && dothi_live_layer_get_sensor_level (layer, "AL-05", &level) && level == 1;
}

static gboolean
street_found (gpointer data)
{
  GtkWidget *row = gtk_widget_get_first_child (data);
  const char *subtitle = row ? adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) : NULL;

  return subtitle != NULL && strstr (subtitle, "Nearest street: ") != NULL
         && strstr (subtitle, "looking") == NULL;
}

typedef struct {
  DothiWindow *window;
  guint        n;
} RowsWait;

static gboolean
layer_rows_reach (gpointer data)
{
  RowsWait *w = data;
  g_autoptr(GPtrArray) rows = dothi_window_dup_layer_rows (w->window);

  return rows->len == w->n;
}

/* Pixels of @widget, as drawn in its parent, within @tolerance of the
 * colour @rgb in each channel. */
static guint
count_color_pixels (GtkWidget *widget,
                    guint32    rgb,
                    int        tolerance)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guint32 *pixels = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  graphene_rect_t bounds;
  int width, height;
  guint n = 0;

  wait_for_paint (widget);
  gtk_widget_snapshot_child (gtk_widget_get_parent (widget), widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return 0;
  gsk_render_node_get_bounds (node, &bounds);
  texture = gsk_renderer_render_texture (renderer, node, &bounds);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) width * 4);
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      /* GDK_MEMORY_DEFAULT: B, G, R, A in memory on little-endian. */
      int r = (pixels[i] >> 16) & 0xff, g = (pixels[i] >> 8) & 0xff, b = pixels[i] & 0xff;

      n += ABS (r - (int) ((rgb >> 16) & 0xff)) <= tolerance
           && ABS (g - (int) ((rgb >> 8) & 0xff)) <= tolerance
           && ABS (b - (int) (rgb & 0xff)) <= tolerance
           && (pixels[i] >> 24) > 200;
    }
  return n;
}

/* The source form that is on screen, or NULL. */
static DothiSourceDialog *
find_source_dialog (void)
{
  GListModel *windows = gtk_window_get_toplevels ();   /* borrowed */

  for (guint i = 0; i < g_list_model_get_n_items (windows); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (windows, i);

      if (DOTHI_IS_SOURCE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return DOTHI_SOURCE_DIALOG (window);
    }
  return NULL;
}

static gboolean
incident_shown (gpointer data)
{
  OpsWait *w = data;

  return dothi_ops_panel_get_n_incidents (w->panel) == 1
         && dothi_live_layer_get_n_incidents (dothi_ops_panel_get_live_layer (w->panel)) == 1;
}

static gboolean
ops_panel_idle (gpointer data)
{
  return !dothi_ops_panel_get_busy (data);
}

/* The operations window on the demo city with a real broker: a source and
 * a kind defined with the core, two readings published (one over the
 * threshold) are stored, raise one alert naming the nearest street and
 * colour the sensor red on the map; an incident ingested by the engine
 * appears in the list and on the map, moves through its workflow from
 * the window (audited, in the project), and the replay hides it before
 * it was received. */
static void
test_operations (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GTimeZone) ict = g_time_zone_new_offset (7 * 3600);
  g_autoptr(GPtrArray) incidents = NULL;
  DothiIncident *incident;
  g_autofree char *source = NULL;
  g_autofree char *earlier = NULL;
  g_autofree char *later = NULL;
  g_autofree char *reading = NULL;
  g_autofree char *report = NULL;
  g_autofree char *time = NULL;
  char sx[G_ASCII_DTOSTR_BUF_SIZE], sy[G_ASCII_DTOSTR_BUF_SIZE];
  Broker broker = { 0 };
  DothiProject *project;
  DothiMapView *map;
  DothiOpsPanel *panel;
  gboolean complete;
  OpsWait w = { 0 };
  guint n_layer_rows;
  GtkWidget *alerts;
  double x, y;
  gint64 fid;
  guint tick;

  if (!broker_start (&broker, f->dir))
    return;
  tick = g_timeout_add (20, tick_cb, NULL);
  open_demo (f, &complete);
  project = dothi_window_get_project (f->window);
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (f->window));
  /* A sensor 3 m off a named street. */
  query_point (f->path,
               "SELECT X (StartPoint (GeometryN (geom, 1))) + 3, Y (StartPoint (GeometryN (geom, 1))), fid"
               " FROM roads WHERE ten_duong IS NOT NULL AND ten_duong <> '' ORDER BY fid LIMIT 1",
               &x, &y);
  g_ascii_dtostr (sx, sizeof sx, x);
  g_ascii_dtostr (sy, sizeof sy, y);

  dothi_live_kind_define (project, "{\"kind\": \"pressure\", \"unit\": \"bar\", \"low\": 1.5,"
                          " \"high\": 6.0, \"expected_interval\": 3600}", &error);
  g_assert_no_error (error);
  source = g_strdup_printf ("{\"name\": \"tram-ap-luc\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\","
                            " \"port\": %d, \"topics\": [\"dothi/readings/#\"], \"qos\": 1}", broker.port);
  dothi_live_source_define (project, source, &error);
  g_assert_no_error (error);

  {
    g_autoptr(GPtrArray) rows = dothi_window_dup_layer_rows (f->window);

    n_layer_rows = rows->len;
  }
  panel = dothi_ops_panel_new (GTK_WINDOW (f->window), project);
  dothi_ops_panel_set_map_view (panel, map);
  gtk_window_present (GTK_WINDOW (panel));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (panel)), ==, "Operations");
  g_assert_nonnull (dothi_ops_panel_get_live (panel));
  g_assert_cmpstr (dothi_ops_panel_get_source_status (panel, "tram-ap-luc"), ==, "Stopped");
  g_assert_cmpuint (dothi_ops_panel_get_n_alerts (panel), ==, 0);

  w.panel = panel;
  w.source = "tram-ap-luc";
  dothi_ops_panel_start_source (panel, "tram-ap-luc", NULL, &error);
  g_assert_no_error (error);
  wait_until (source_connected, &w);

  now = g_date_time_new_now (ict);
  {
    g_autoptr(GDateTime) before = g_date_time_add_minutes (now, -5);

    earlier = g_date_time_format (before, "%Y-%m-%dT%H:%M:%S%:z");
    later = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S%:z");
  }
  reading = g_strdup_printf ("{\"id\": \"r-1\", \"sensor_id\": \"AL-05\", \"time\": \"%s\", \"value\": 3.2,"
                             " \"unit\": \"bar\", \"kind\": \"pressure\","
                             " \"position\": {\"x\": %s, \"y\": %s, \"crs\": \"EPSG:9218\"}}",
                             earlier, sx, sy);
  publish (&broker, "dothi/readings/AL-05/1", reading);
  g_free (reading);
  reading = g_strdup_printf ("{\"id\": \"r-2\", \"sensor_id\": \"AL-05\", \"time\": \"%s\", \"value\": 7.5,"
                             " \"unit\": \"bar\", \"kind\": \"pressure\","
                             " \"position\": {\"x\": %s, \"y\": %s, \"crs\": \"EPSG:9218\"}}",
                             later, sx, sy);
  publish (&broker, "dothi/readings/AL-05/2", reading);

  w.stored = "2";
  wait_until (readings_shown, &w);
  g_assert_true (dothi_live_layer_has_sensor (dothi_ops_panel_get_live_layer (panel), "AL-05"));
  /* On the map: a red disc over its threshold, about π·6² pixels. */
  {
    guint red = count_color_pixels (GTK_WIDGET (dothi_ops_panel_get_live_layer (panel)), 0xe01b24, 12);

    g_test_message ("%u red pixels of the sensor over its threshold", red);
    g_assert_cmpuint (red, >, 60);
    g_assert_cmpuint (red, <, 400);
  }
  alerts = find_named (GTK_WIDGET (panel), "ops-alerts");
  wait_until (street_found, alerts);
  {
    AdwActionRow *row = ADW_ACTION_ROW (gtk_widget_get_first_child (alerts));
    const char *subtitle = adw_action_row_get_subtitle (row);

    g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Sensor AL-05 (pressure)");
    g_assert_true (g_str_has_prefix (subtitle, "7.50 bar, over the threshold of 6.00 bar\nNearest street: "));
    g_assert_null (gtk_list_box_get_row_at_index (GTK_LIST_BOX (alerts), 1));
    /* Over the map (and the wall): the banner in the alert red. */
    {
      DothiLiveLayer *layer = dothi_ops_panel_get_live_layer (panel);
      const char * const *banner = dothi_live_layer_get_alerts (layer);
      guint banner_red;

      g_assert_nonnull (banner);
      g_assert_cmpstr (banner[0], ==, "⚠ 1 alert");
      g_assert_true (g_str_has_prefix (banner[1], "AL-05  7.50 bar > 6.00 · "));
      g_assert_null (banner[2]);
      banner_red = count_color_pixels (GTK_WIDGET (layer), 0xc01c28, 20);
      g_test_message ("%u pixels of the alert banner", banner_red);
      g_assert_cmpuint (banner_red, >, 2000);
    }
    g_signal_emit_by_name (find_named (GTK_WIDGET (row), "ops-acknowledge"), "clicked");
    g_assert_cmpuint (dothi_ops_panel_get_n_alerts (panel), ==, 0);
    g_assert_null (dothi_live_layer_get_alerts (dothi_ops_panel_get_live_layer (panel)));
  }

  /* An incident report, as the engine ingests one. */
  time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S%:z");
  report = g_strdup_printf ("{\"type\": \"incident\", \"id\": \"PA-2026-0042\", \"time\": \"%s\","
                            " \"category\": \"vỡ ống\", \"description\": \"Nước chảy tràn mặt đường\","
                            " \"position\": {\"x\": %s, \"y\": %s, \"crs\": \"EPSG:9218\"},"
                            " \"photo_url\": \"https://example.org/pa-42.jpg\", \"reporter\": \"Nguyễn Văn A\"}",
                            time, sx, sy);
  dothi_live_ingest_message (dothi_ops_panel_get_live (panel), "tram-ap-luc", "dothi/incidents",
                             report, strlen (report), &error);
  g_assert_no_error (error);
  dothi_live_flush (dothi_ops_panel_get_live (panel), &error);
  g_assert_no_error (error);
  wait_until (incident_shown, &w);
  wait_until (ops_panel_idle, panel);
  /* The engine made the incidents layer: the layer panel follows. */
  {
    g_autoptr(GPtrArray) rows = dothi_window_dup_layer_rows (f->window);
    RowsWait rw = { f->window, n_layer_rows + 1 };

    g_assert_cmpuint (rows->len, <=, n_layer_rows + 1);
    wait_until (layer_rows_reach, &rw);
  }

  incidents = dothi_incident_list (f->path, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (incidents->len, ==, 1);
  fid = ((DothiIncident *) incidents->pdata[0])->fid;
  g_assert_true (dothi_ops_panel_show_incident (panel, fid));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_named (GTK_WIDGET (panel), "ops-incident-title"))),
                   ==, "PA-2026-0042 · vỡ ống");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (find_named (GTK_WIDGET (panel), "ops-advance"))),
                   ==, "Move to “Assigned”");

  dothi_ops_panel_advance_incident (panel, fid, "Đội cấp nước số 2", "Đã điều xe");
  g_assert_true (dothi_ops_panel_get_busy (panel));
  wait_until (ops_panel_idle, panel);
  g_assert_null (dothi_ops_panel_get_error_message (panel));
  incident = dothi_incident_get (f->path, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_ASSIGNED);
  g_assert_cmpstr (incident->unit, ==, "Đội cấp nước số 2");
  g_assert_nonnull (incident->status_at[DOTHI_INCIDENT_ASSIGNED]);
  g_clear_pointer (&incident, dothi_incident_free);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (find_named (GTK_WIDGET (panel), "ops-advance"))),
                   ==, "Move to “In Progress”");

  dothi_ops_panel_advance_incident (panel, fid, NULL, NULL);
  wait_until (ops_panel_idle, panel);
  g_assert_null (dothi_ops_panel_get_error_message (panel));
  incident = dothi_incident_get (f->path, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_IN_PROGRESS);
  dothi_incident_free (incident);

  /* The replay: before the report it is not on the map. */
  {
    GtkWidget *replay = find_named (GTK_WIDGET (panel), "ops-replay");
    GtkRange *scale = GTK_RANGE (find_named (GTK_WIDGET (panel), "ops-replay-time"));
    DothiLiveLayer *layer = dothi_ops_panel_get_live_layer (panel);

    gtk_switch_set_active (GTK_SWITCH (replay), TRUE);
    gtk_range_set_value (scale, g_date_time_to_unix (now) - 3600);
    g_assert_cmpuint (dothi_live_layer_get_n_incidents (layer), ==, 0);
    gtk_range_set_value (scale, g_date_time_to_unix (now) + 1);
    g_assert_cmpuint (dothi_live_layer_get_n_incidents (layer), ==, 1);
    gtk_switch_set_active (GTK_SWITCH (replay), FALSE);
    g_assert_cmpint (dothi_live_layer_get_replay_time (layer), ==, 0);
  }

  /* Sensor kinds, edited in the Sources page: a high threshold typed
   * with a decimal comma reaches the project and the running engine; a
   * word is refused, naming it; a new kind joins the list. */
  {
    GtkWidget *high = find_named (GTK_WIDGET (panel), "ops-kind-pressure-high");
    double low_value, high_value;
    g_autoptr(GPtrArray) kinds = NULL;

    g_assert_nonnull (high);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (high)), ==, "6.00");
    gtk_editable_set_text (GTK_EDITABLE (high), "8,5");
    g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-kind-pressure-save"), "clicked");
    g_assert_true (dothi_live_get_thresholds (dothi_ops_panel_get_live (panel), "pressure", &low_value, &high_value));
    g_assert_cmpfloat (high_value, ==, 8.5);
    g_assert_cmpfloat (low_value, ==, 1.5);
    kinds = dothi_live_kind_list (project, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (((DothiSensorKind *) kinds->pdata[0])->high, ==, 8.5);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    high = find_named (GTK_WIDGET (panel), "ops-kind-pressure-high");
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (high)), ==, "8.50");
    gtk_editable_set_text (GTK_EDITABLE (high), "cao");
    g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-kind-pressure-save"), "clicked");
    g_assert_nonnull (strstr (dothi_ops_panel_get_error_message (panel), "cao"));
    g_assert_true (dothi_live_get_thresholds (dothi_ops_panel_get_live (panel), "pressure", &low_value, &high_value));
    g_assert_cmpfloat (high_value, ==, 8.5);

    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (panel), "ops-kind-new")), "muc-nuoc");
    g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-kind-new"), "apply");
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_nonnull (find_named (GTK_WIDGET (panel), "ops-kind-muc-nuoc"));
  }

  /* Sources from the form: a new one placed at the station layer, one
   * refused (no host), naming what is missing, and the first one's
   * topics changed; the list follows. */
  {
    DothiSourceDialog *dialog;
    g_autofree char *json = NULL;
    g_autoptr(GError) save_error = NULL;

    g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-source-add"), "activated");
    dialog = find_source_dialog ();
    g_assert_nonnull (dialog);
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-name")), "tram-muc-nuoc");
    g_assert_false (dothi_source_dialog_save (dialog, &save_error));
    g_assert_nonnull (strstr (save_error->message, "host"));
    g_clear_error (&save_error);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-host")), "127.0.0.1");
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-topics")),
                           "dothi/muc-nuoc/#, v1.1/Datastreams(7)/Observations");
    adw_combo_row_set_selected (ADW_COMBO_ROW (find_named (GTK_WIDGET (dialog), "source-stations")), 1);
    g_assert_true (dothi_source_dialog_save (dialog, &save_error));
    g_assert_no_error (save_error);
    json = dothi_live_source_dup (project, "tram-muc-nuoc", &error);
    g_assert_no_error (error);
    g_assert_nonnull (strstr (json, "\"stations\""));
    g_assert_nonnull (strstr (json, "Datastreams(7)"));
    g_assert_nonnull (strstr (json, "\"timezone\":\"+07:00\""));
    g_assert_nonnull (find_named (GTK_WIDGET (panel), "ops-source-tram-muc-nuoc"));
    g_clear_pointer (&json, g_free);

    g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-source-edit-tram-ap-luc"), "clicked");
    dialog = find_source_dialog ();
    g_assert_nonnull (dialog);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-topics"))),
                     ==, "dothi/readings/#");
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-topics")),
                           "dothi/readings/#, dothi/incidents");
    g_assert_true (dothi_source_dialog_save (dialog, &save_error));
    json = dothi_live_source_dup (project, "tram-ap-luc", &error);
    g_assert_nonnull (strstr (json, "dothi/incidents"));
    /* What the form has no field for stays. */
    g_assert_nonnull (strstr (json, "\"qos\":1"));
    g_clear_pointer (&json, g_free);

    /* An HTTP endpoint with basic authentication: no MQTT member left. */
    g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-source-add"), "activated");
    dialog = find_source_dialog ();
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-name")), "api-sta");
    adw_combo_row_set_selected (ADW_COMBO_ROW (find_named (GTK_WIDGET (dialog), "source-kind")), 1);
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-url")),
                           "http://127.0.0.1:9/v1.1/Datastreams(5)/Observations");
    gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "source-username")), "ops");
    g_assert_true (dothi_source_dialog_save (dialog, &save_error));
    g_assert_no_error (save_error);
    json = dothi_live_source_dup (project, "api-sta", &error);
    g_assert_nonnull (strstr (json, "\"kind\":\"http\""));
    g_assert_nonnull (strstr (json, "\"username\":\"ops\""));
    g_assert_null (strstr (json, "topics"));
  }

  /* The source's own button stops it alone. */
  g_signal_emit_by_name (find_named (GTK_WIDGET (panel), "ops-source-tram-ap-luc"), "clicked");
  g_assert_cmpstr (dothi_ops_panel_get_source_status (panel, "tram-ap-luc"), ==, "Stopped");
  g_assert_cmpint (dothi_live_get_state (dothi_ops_panel_get_live (panel), "tram-ap-luc"), ==,
                   DOTHI_LIVE_DISCONNECTED);

  gtk_window_destroy (GTK_WINDOW (panel));
  g_source_remove (tick);
  broker_stop (&broker);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  /* Recent files and tile caches go to a folder of the test's own,
   * before anything reads the XDG variables. */
  home_dir = dothi_test_mkdtemp ();
  {
    g_autofree char *data = g_build_filename (home_dir, "data", NULL);
    g_autofree char *cache = g_build_filename (home_dir, "cache", NULL);

    g_setenv ("XDG_DATA_HOME", data, TRUE);
    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  }

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
  ADD ("/ui/demo/map", test_demo_map);
  ADD ("/ui/demo/search", test_demo_search);
  ADD ("/ui/demo/external-edit", test_demo_external_edit);
  ADD ("/ui/open/network-drive", test_open_network_drive);
  ADD ("/ui/demo/identify", test_demo_identify);
  ADD ("/ui/demo/layer-panel", test_demo_layer_panel);
  ADD ("/ui/demo/style", test_demo_style);
  ADD ("/ui/i18n/vietnamese", test_vietnamese);
  ADD ("/ui/edit/undo-redo", test_edit_undo_redo);
  ADD ("/ui/edit/read-only", test_edit_read_only);
  ADD ("/ui/edit/feature-form", test_edit_feature_form);
  ADD ("/ui/edit/feature-form-domain", test_edit_feature_form_domain);
  ADD ("/ui/edit/feature-form-rules", test_edit_feature_form_rules);
  ADD ("/ui/edit/feature-form-rules-editor", test_edit_feature_form_rules_editor);
  ADD ("/ui/edit/audit-view", test_edit_audit_view);
  ADD ("/ui/edit/topology-view", test_topology_view);
  ADD ("/ui/edit/tools-and-table", test_edit_tools_and_table);
  ADD ("/ui/edit/refused", test_edit_refused);
  ADD ("/ui/edit/add-polygon-snapped", test_edit_add_polygon_snapped);
  ADD ("/ui/edit/split-typed-line", test_edit_split_typed_line);
  ADD ("/ui/edit/pointer-tools", test_edit_pointer_tools);
  ADD ("/ui/import-dialog/choose", test_import_dialog_choose);
  ADD ("/ui/import-dialog/tcvn3", test_import_dialog_tcvn3);
  ADD ("/ui/import-dialog/crs-required", test_import_dialog_crs_required);
  ADD ("/ui/import-dialog/cancel", test_import_dialog_cancel);
  ADD ("/ui/import-dialog/close-while-running", test_import_dialog_close_while_running);
  ADD ("/ui/import-dialog/unreadable", test_import_dialog_unreadable);
  ADD ("/ui/import-dialog/run-error", test_import_dialog_run_error);
  ADD ("/ui/sql-console", test_sql_console);
  ADD ("/ui/query-builder", test_query_builder);
  ADD ("/ui/layout-editor", test_layout_editor);
  ADD ("/ui/network", test_network_panel);
  ADD ("/ui/operations", test_operations);
#undef ADD

  ret = g_test_run ();

  destroy_windows ();
  g_clear_object (&app);
  if (demo_dir != NULL)
    dothi_test_rmdir (demo_dir);
  dothi_test_rmdir (home_dir);
  return ret;
}
