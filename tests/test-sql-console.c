/* test-sql-console.c: the read-only SQL console on a real project file:
 * SELECTs with SpatiaLite functions work; writes, ATTACH, extensions, file
 * functions, write pragmas and a second statement are refused and leave the
 * file's bytes unchanged; Cancel stops a long query; SPATIALITE_SECURITY. */

#include "config.h"
#include "test-util.h"
#include "dothi-error.h"
#include "dothi-project.h"
#include "dothi-sql-console.h"

#include <glib/gstdio.h>
#include <string.h>

#define X0 457000.0
#define Y0 1402000.0

typedef struct {
  char *dir;
  char *path;
  char *checksum;   /* of the parcels layer, before the console opened */
} Fixture;

static void
put_u32 (GByteArray *a, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (a, (guint8 *) &v, 4);
}

static void
put_f64 (GByteArray *a, double d)
{
  guint64 u;

  memcpy (&u, &d, 8);
  u = GUINT64_TO_LE (u);
  g_byte_array_append (a, (guint8 *) &u, 8);
}

/* ISO WKB of a one-polygon MultiPolygon: the square [x, x+s] × [y, y+s]. */
static GByteArray *
square_wkb (double x, double y, double s)
{
  GByteArray *a = g_byte_array_new ();
  guint8 le = 1;

  g_byte_array_append (a, &le, 1);
  put_u32 (a, 6);
  put_u32 (a, 1);
  g_byte_array_append (a, &le, 1);
  put_u32 (a, 3);
  put_u32 (a, 1);
  put_u32 (a, 5);
  put_f64 (a, x);     put_f64 (a, y);
  put_f64 (a, x + s); put_f64 (a, y);
  put_f64 (a, x + s); put_f64 (a, y + s);
  put_f64 (a, x);     put_f64 (a, y + s);
  put_f64 (a, x);     put_f64 (a, y);
  return a;
}

/* Three 40 m square parcels, owners A, NULL and an injection-looking name. */
static void
create_parcels (DothiProject *project)
{
  static const char * const owners[] = { "Nguyễn Văn A", NULL, "x'); DROP TABLE parcels; --" };
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GError) error = NULL;

  info->name = g_strdup ("parcels");
  info->title = g_strdup ("Thửa đất");
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->srid = 9218;
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "chu", DOTHI_FIELD_TEXT);
  g_assert_true (dothi_store_begin (store, "Nhập thửa đất", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (owners); i++)
    {
      g_autoptr(GByteArray) wkb = square_wkb (X0 + i * 60, Y0, 40);
      DothiValue values[2] = { 0 };

      values[0].v.i = i + 1;
      values[1].v.s = owners[i];
      values[1].is_null = owners[i] == NULL;
      g_assert_true (dothi_store_insert_feature (store, "parcels", values, wkb->data, wkb->len, &error));
      g_assert_no_error (error);
    }
  g_assert_true (dothi_store_finish_layer (store, "parcels", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

static char *
file_checksum (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents, len);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  project = dothi_project_create (f->path, "EPSG:9218", &error);
  g_assert_no_error (error);
  create_parcels (project);
  f->checksum = dothi_project_layer_checksum (project, "parcels", &error);
  g_assert_no_error (error);
  g_assert_true (dothi_project_checkpoint (project, &error));
  g_assert_no_error (error);
  dothi_project_close (project);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  dothi_test_rmdir (f->dir);
  g_free (f->checksum);
  g_free (f->path);
  g_free (f->dir);
}

static DothiSqlConsole *
open_console (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  DothiSqlConsole *console = dothi_sql_console_open (f->path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (console);
  return console;
}

static const char *
cell (GPtrArray *rows, guint row, guint col)
{
  GPtrArray *r;

  g_assert_cmpuint (row, <, rows->len);
  r = rows->pdata[row];
  g_assert_cmpuint (col, <, r->len);
  return r->pdata[col];
}

static void
test_select (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiSqlConsole) console = open_console (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_auto(GStrv) names = NULL;

  rows = dothi_sql_console_run_sync (console,
                                     "-- areas\n SELECT so_thua, ST_Area(geom) AS area,"
                                     " AsText(ST_Centroid(geom)) AS centre, chu, geom"
                                     " FROM parcels ORDER BY so_thua; /* done */ ",
                                     0, &names, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (names);
  g_assert_cmpuint (g_strv_length (names), ==, 5);
  g_assert_cmpstr (names[1], ==, "area");
  g_assert_cmpstr (names[2], ==, "centre");
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (cell (rows, 0, 0), ==, "1");
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (cell (rows, 0, 1), NULL), 1600.0, 1e-6);
  g_assert_cmpstr (cell (rows, 0, 2), ==, "POINT(457020 1402020)");
  g_assert_cmpstr (cell (rows, 0, 3), ==, "Nguyễn Văn A");
  g_assert_null (cell (rows, 1, 3));
  g_assert_true (g_str_has_prefix (cell (rows, 0, 4), "<"));
  g_assert_true (g_str_has_suffix (cell (rows, 0, 4), " bytes>"));
  /* An injection-looking value stays a value. */
  g_assert_cmpstr (cell (rows, 2, 3), ==, "x'); DROP TABLE parcels; --");
  g_clear_pointer (&rows, g_ptr_array_unref);
  g_clear_pointer (&names, g_strfreev);

  /* max_rows, WITH RECURSIVE and the schema pragmas. */
  rows = dothi_sql_console_run_sync (console,
                                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                                     " WHERE x < 50) SELECT x FROM c",
                                     10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 10);
  g_assert_cmpstr (cell (rows, 9, 0), ==, "10");
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = dothi_sql_console_run_sync (console, "PRAGMA table_info(parcels)", 0, &names, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, >=, 3);
  g_assert_cmpstr (names[1], ==, "name");
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* A syntax error is SQLite's message; an empty query is an error. */
  rows = dothi_sql_console_run_sync (console, "SELEKT 1", 0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_null (rows);
  g_assert_nonnull (strstr (error->message, "syntax error"));
  g_clear_error (&error);
  rows = dothi_sql_console_run_sync (console, " ; -- nothing", 0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_null (rows);
}

static void
assert_refused (DothiSqlConsole *console, const char *sql, const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_auto(GStrv) names = NULL;

  rows = dothi_sql_console_run_sync (console, sql, 0, &names, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_null (rows);
  g_assert_null (names);
  if (what != NULL)
    {
      g_autofree char *expected = g_strdup_printf ("Only reading is allowed in the SQL console: %s", what);

      g_assert_cmpstr (error->message, ==, expected);
    }
  else
    g_assert_true (g_str_has_prefix (error->message, "Only reading is allowed in the SQL console: "));
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiSqlConsole) console = open_console (f);
  g_autofree char *before = file_checksum (f->path);
  g_autofree char *out = g_build_filename (f->dir, "out.bin", NULL);
  g_autofree char *attached = g_build_filename (f->dir, "other.db", NULL);
  g_autofree char *vacuumed = g_build_filename (f->dir, "copy.db", NULL);
  g_autofree char *sql = NULL;
  g_autofree char *after = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *checksum = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;

  assert_refused (console, "INSERT INTO parcels (so_thua) VALUES (9)", "writing to “parcels”");
  assert_refused (console, "UPDATE parcels SET chu = 'B'", "writing to “parcels”");
  assert_refused (console, "DELETE FROM parcels", "writing to “parcels”");
  assert_refused (console, "DROP TABLE parcels", "DROP TABLE");
  assert_refused (console, "CREATE TABLE t (a)", "CREATE TABLE");
  assert_refused (console, "CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMP VIEW");
  assert_refused (console, "ALTER TABLE parcels ADD COLUMN z", "changing the table “parcels”");
  assert_refused (console, "BEGIN", "transactions (BEGIN)");
  assert_refused (console, "SAVEPOINT s", "transactions (BEGIN)");
  assert_refused (console, "ANALYZE", "ANALYZE");
  assert_refused (console, "REINDEX", "REINDEX");
  assert_refused (console, "PRAGMA journal_mode=DELETE", "the pragma journal_mode = DELETE");
  assert_refused (console, "PRAGMA query_only = 0", "the pragma query_only = 0");
  assert_refused (console, "SELECT * FROM pragma_journal_mode", NULL);
  assert_refused (console, "SELECT load_extension('mod_spatialite')", "the function load_extension");
  assert_refused (console, "SELECT CreateSpatialIndex('parcels', 'geom')", "the function CreateSpatialIndex");
  assert_refused (console, "SELECT DiscardGeometryColumn('parcels', 'geom')", "the function DiscardGeometryColumn");

  sql = g_strdup_printf ("ATTACH '%s' AS y", attached);
  assert_refused (console, sql, "ATTACH");
  g_assert_false (g_file_test (attached, G_FILE_TEST_EXISTS));
  g_free (sql);
  sql = g_strdup_printf ("SELECT BlobToFile(x'00', '%s')", out);
  assert_refused (console, sql, "the function BlobToFile");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_free (sql);
  sql = g_strdup_printf ("SELECT ExportGeoJSON2('parcels', 'geom', '%s')", out);
  assert_refused (console, sql, "the function ExportGeoJSON2");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_free (sql);
  sql = g_strdup_printf ("VACUUM INTO '%s'", vacuumed);
  assert_refused (console, sql, "VACUUM");
  g_assert_false (g_file_test (vacuumed, G_FILE_TEST_EXISTS));

  /* One statement only: the second never runs. */
  rows = dothi_sql_console_run_sync (console, "SELECT 1; DROP TABLE x", 0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_null (rows);
  g_assert_nonnull (strstr (error->message, "one statement"));
  g_clear_error (&error);

  /* Still usable after the refusals. */
  rows = dothi_sql_console_run_sync (console, "SELECT count(*) FROM parcels", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cell (rows, 0, 0), ==, "3");

  g_clear_object (&console);
  after = file_checksum (f->path);
  g_assert_cmpstr (after, ==, before);
  project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  checksum = dothi_project_layer_checksum (project, "parcels", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (checksum, ==, f->checksum);
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  g_cancellable_cancel (G_CANCELLABLE (data));
  return NULL;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiSqlConsole) console = open_console (f);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  GThread *thread;
  gint64 start, elapsed;

  thread = g_thread_new ("cancel", cancel_later, cancellable);
  start = g_get_monotonic_time ();
  rows = dothi_sql_console_run_sync (console,
                                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
                                     " SELECT count(*) FROM c",
                                     0, NULL, cancellable, &error);
  elapsed = g_get_monotonic_time () - start;
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (rows);
  g_assert_cmpint (elapsed, <, 1200 * G_TIME_SPAN_MILLISECOND);
  g_clear_error (&error);

  /* The console runs the next query. */
  rows = dothi_sql_console_run_sync (console, "SELECT 2", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cell (rows, 0, 0), ==, "2");
}

static void
run_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_async (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiSqlConsole) console = open_console (f);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_auto(GStrv) names = NULL;

  dothi_sql_console_run_async (console, "SELECT so_thua AS n FROM parcels WHERE so_thua = 2",
                               0, NULL, run_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  rows = dothi_sql_console_run_finish (console, result, &names, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (names[0], ==, "n");
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (cell (rows, 0, 0), ==, "2");
  g_clear_object (&result);
  g_clear_pointer (&names, g_strfreev);

  /* Cancel from the main thread, the query on the task's thread; the
   * console may be closed while the task still holds it. */
  dothi_sql_console_run_async (console,
                               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
                               " SELECT count(*) FROM c",
                               0, cancellable, run_done_cb, &result);
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  g_cancellable_cancel (cancellable);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = dothi_sql_console_run_finish (console, result, &names, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (rows);
  g_assert_null (names);
}

static void
test_relaxed_security (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiSqlConsole) console = NULL;

  g_setenv ("SPATIALITE_SECURITY", "relaxed", TRUE);
  console = dothi_sql_console_open (f->path, &error);
  g_unsetenv ("SPATIALITE_SECURITY");
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  g_assert_null (console);
  g_assert_nonnull (strstr (error->message, "SPATIALITE_SECURITY"));
  g_clear_error (&error);

  /* Unset, it opens. */
  console = open_console (f);
}

static void
test_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiSqlConsole) console = NULL;

  console = dothi_sql_console_open ("/nonexistent/none.dothi", &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_null (console);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add ("/sql-console/select", Fixture, NULL, fixture_set_up, test_select, fixture_tear_down);
  g_test_add ("/sql-console/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/sql-console/cancel", Fixture, NULL, fixture_set_up, test_cancel, fixture_tear_down);
  g_test_add ("/sql-console/async", Fixture, NULL, fixture_set_up, test_async, fixture_tear_down);
  g_test_add ("/sql-console/relaxed-security", Fixture, NULL, fixture_set_up,
              test_relaxed_security, fixture_tear_down);
  g_test_add_func ("/sql-console/missing", test_missing);
  return g_test_run ();
}
