/* test-query-result.c: a query's answer summarised (checked against
 * SpatiaLite's own SUM(ST_Area) and GROUP BY), exported and read back
 * with GDAL, saved as a layer that undo and redo take away and bring
 * back, and saved queries, on a generated demo city. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-project.h"
#include "dothi-query-result.h"
#include "dothi-spatialite-store.h"
#include "test-util.h"

#include <cpl_error.h>
#include <gdal.h>
#include <glib/gstdio.h>
#include <math.h>
#include <ogr_api.h>
#include <string.h>

#define DEMO_PARCELS 2000
#define DEMO_SEED 11

static char *demo_dir;
static char *demo_project;

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

/* One demo project per run, imported once; each test works on a copy. */
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

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) source = g_file_new_for_path (make_demo_project ());
  g_autoptr(GFile) target = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  target = g_file_new_for_path (f->path);
  /* Checkpointed and closed: the main file holds everything. */
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static sqlite3 *
project_db (Fixture *f)
{
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
}

/* The fids of @layer that @where (SQL, no user input) picks. */
static DothiFidSet *
select_fids (Fixture *f, const char *layer, const char *where)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = g_strdup_printf ("SELECT fid FROM \"%s\" WHERE %s", layer, where);
  GArray *fids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (fids, fid);
    }
  return dothi_fid_set_new_take (fids);
}

static void
assert_relative (double value, double expected, double tolerance)
{
  if (expected == 0)
    g_assert_cmpfloat_with_epsilon (value, 0.0, tolerance);
  else
    g_assert_cmpfloat_with_epsilon (value / expected, 1.0, tolerance);
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

/* Count, SUM(ST_Area) and SUM(ST_Perimeter or ST_Length) of the rows of
 * @layer that @where picks, by SpatiaLite. */
static void
sql_totals (Fixture *f, const char *layer, const char *where, const char *length_fn,
            gint64 *count, double *area, double *length)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = g_strdup_printf ("SELECT count(*), total(ST_Area(geom)), total(%s(geom)) "
                                          "FROM \"%s\" WHERE %s", length_fn, layer, where);

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  *count = sqlite3_column_int64 (stmt, 0);
  *area = sqlite3_column_double (stmt, 1);
  *length = sqlite3_column_double (stmt, 2);
}

/* ---- summary ------------------------------------------------------------ */

static void
check_totals (Fixture *f, const char *layer, const char *where, const char *length_fn)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, layer, where);
  g_autoptr(DothiSummary) summary = NULL;
  gint64 count;
  double area, length;

  sql_totals (f, layer, where, length_fn, &count, &area, &length);
  g_assert_cmpint (count, >, 0);
  summary = dothi_query_summarize (f->path, layer, fids, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (summary->total.count, ==, count);
  g_assert_cmpuint (dothi_fid_set_get_size (fids), ==, count);
  assert_relative (summary->total.area, area, 1e-6);
  assert_relative (summary->total.length, length, 1e-6);
  g_assert_null (summary->total.key);
  g_assert_cmpuint (summary->groups->len, ==, 0);
}

static void
test_summary_totals (Fixture *f, gconstpointer data)
{
  /* Most parcels (one scan), a few (lookups by fid), lines, points. */
  check_totals (f, "parcels", "fid % 3 <> 0", "ST_Perimeter");
  check_totals (f, "parcels", "fid % 97 = 5", "ST_Perimeter");
  check_totals (f, "roads", "fid % 2 = 0", "ST_Length");
  check_totals (f, "water_mains", "fid < 40", "ST_Length");
  check_totals (f, "water_valves", "1", "ST_Length");
}

static void
check_groups (Fixture *f, const char *field, const char *where)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", where);
  g_autoptr(DothiSummary) summary = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *sql = NULL;
  gint64 total = 0;
  guint n_groups = 0;

  sql = g_strdup_printf ("SELECT CAST(\"%s\" AS TEXT), count(*), total(ST_Area(geom)) FROM parcels "
                         "WHERE %s GROUP BY \"%s\"", field, where, field);
  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      double *v = g_new (double, 2);
      const char *key = (const char *) sqlite3_column_text (stmt, 0);

      v[0] = sqlite3_column_int64 (stmt, 1);
      v[1] = sqlite3_column_double (stmt, 2);
      g_hash_table_insert (expected, g_strdup (key ? key : "(null)"), v);
      n_groups++;
    }

  summary = dothi_query_summarize (f->path, "parcels", fids, field, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (summary->groups->len, ==, n_groups);
  g_assert_cmpuint (n_groups, >, 1);
  for (guint i = 0; i < summary->groups->len; i++)
    {
      const DothiSummaryRow *row = g_ptr_array_index (summary->groups, i);
      const double *v = g_hash_table_lookup (expected, row->key ? row->key : "(null)");

      if (v == NULL)
        g_test_message ("group “%s” is not one of SQLite's", row->key);
      g_assert_nonnull (v);
      g_assert_cmpint (row->count, ==, (gint64) v[0]);
      assert_relative (row->area, v[1], 1e-6);
      total += row->count;
      if (i > 0)
        {
          const DothiSummaryRow *prev = g_ptr_array_index (summary->groups, i - 1);
          g_assert_cmpint (prev->count, >=, row->count);
        }
    }
  g_assert_cmpint (total, ==, summary->total.count);
}

static void
test_summary_grouped (Fixture *f, gconstpointer data)
{
  check_groups (f, "muc_dich", "fid % 2 = 0");
  check_groups (f, "so_to", "1");
  check_groups (f, "ma_xa", "fid % 50 = 1");
}

static void
test_summary_numbers (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = NULL;
  g_autoptr(DothiSummary) summary = NULL;
  gboolean seen_half = FALSE, seen_whole = FALSE, seen_null = FALSE;

  /* A few parcels with round and half areas and one without. */
  g_assert_cmpint (sqlite3_exec (project_db (f),
                                 "UPDATE parcels SET dien_tich = 250.0 WHERE fid IN (1, 2);"
                                 "UPDATE parcels SET dien_tich = 12.5 WHERE fid = 3;"
                                 "UPDATE parcels SET dien_tich = NULL WHERE fid = 4;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  fids = select_fids (f, "parcels", "fid <= 4");
  summary = dothi_query_summarize (f->path, "parcels", fids, "dien_tich", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (summary->groups->len, ==, 3);
  for (guint i = 0; i < summary->groups->len; i++)
    {
      const DothiSummaryRow *row = g_ptr_array_index (summary->groups, i);

      if (row->key == NULL)
        seen_null = TRUE;
      else if (g_str_equal (row->key, "250"))
        seen_whole = row->count == 2;
      else if (g_str_equal (row->key, "12.5"))
        seen_half = row->count == 1;
    }
  g_assert_true (seen_whole);
  g_assert_true (seen_half);
  g_assert_true (seen_null);
  /* Largest count first; the NULL group after the value it ties with. */
  g_assert_cmpstr (((DothiSummaryRow *) g_ptr_array_index (summary->groups, 0))->key, ==, "250");
  g_assert_cmpstr (((DothiSummaryRow *) g_ptr_array_index (summary->groups, 1))->key, ==, "12.5");
  g_assert_null (((DothiSummaryRow *) g_ptr_array_index (summary->groups, 2))->key);
}

static void
test_summary_unknown_field (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "fid < 10");
  DothiSummary *summary;

  summary = dothi_query_summarize (f->path, "parcels", fids, "loai_dat_khong_co", NULL, &error);
  g_assert_null (summary);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "loai_dat_khong_co");
  g_clear_error (&error);

  summary = dothi_query_summarize (f->path, "khong_co_lop", fids, NULL, NULL, &error);
  g_assert_null (summary);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "khong_co_lop");
}

static void
test_summary_empty (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = dothi_fid_set_new_take (NULL);
  g_autoptr(DothiSummary) summary = NULL;

  summary = dothi_query_summarize (f->path, "parcels", fids, "muc_dich", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (summary->total.count, ==, 0);
  g_assert_cmpfloat (summary->total.area, ==, 0.0);
  g_assert_cmpuint (summary->groups->len, ==, 0);
}

static void
test_summary_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "1");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  g_cancellable_cancel (cancellable);
  g_assert_null (dothi_query_summarize (f->path, "parcels", fids, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* ---- export ------------------------------------------------------------- */

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
check_export (Fixture *f, const char *name, const char *format, gboolean has_geometry_field)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "fid % 4 = 1");
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, "parcels", &error);
  g_autofree char *out_dir = g_build_filename (f->dir, name, NULL);
  g_autofree char *out = g_build_filename (out_dir, name, NULL);
  g_auto(GDALDatasetH) ds = NULL;
  OGRLayerH layer;
  OGRFeatureDefnH defn;
  OGRFeatureH feature;
  guint n_features = 0;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (out_dir, 0700), ==, 0);
  g_assert_true (dothi_query_export (f->path, "parcels", fids, out, format, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* One file, no temporary left beside it. */
  g_assert_cmpuint (count_files (out_dir), ==, 1);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));

  /* GDAL warns of a GeoPackage named without .gpkg, which one test wants. */
  CPLPushErrorHandler (CPLQuietErrorHandler);
  ds = GDALOpenEx (out, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  CPLPopErrorHandler ();
  g_assert_nonnull (ds);
  g_assert_cmpint (GDALDatasetGetLayerCount (ds), ==, 1);
  layer = GDALDatasetGetLayer (ds, 0);
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==, dothi_fid_set_get_size (fids));
  defn = OGR_L_GetLayerDefn (layer);
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *fld = g_ptr_array_index (info->fields, i);
      g_assert_cmpint (OGR_FD_GetFieldIndex (defn, fld->name), >=, 0);
    }
  g_assert_cmpint (OGR_FD_GetFieldCount (defn), ==, info->fields->len + (has_geometry_field ? 1 : 0));

  OGR_L_ResetReading (layer);
  while ((feature = OGR_L_GetNextFeature (layer)) != NULL)
    {
      OGRGeometryH geom = OGR_F_GetGeometryRef (feature);
      int so_thua = OGR_FD_GetFieldIndex (defn, "so_thua");

      g_assert_nonnull (geom);
      g_assert_cmpint (wkbFlatten (OGR_G_GetGeometryType (geom)), ==, wkbMultiPolygon);
      g_assert_true (OGR_F_IsFieldSetAndNotNull (feature, so_thua));
      /* The project's VN-2000 coordinates, kept. */
      g_assert_cmpfloat (OGR_G_Area (geom), >, 1.0);
      if (n_features == 0 && !has_geometry_field)
        g_assert_cmpint (OGR_F_GetFID (feature), ==, dothi_fid_set_get_fids (fids, NULL)[0]);
      OGR_F_Destroy (feature);
      n_features++;
    }
  g_assert_cmpuint (n_features, ==, dothi_fid_set_get_size (fids));
}

static void
test_export_formats (Fixture *f, gconstpointer data)
{
  check_export (f, "ket-qua.gpkg", NULL, FALSE);
  check_export (f, "ket-qua.geojson", NULL, FALSE);
  /* The CSV's WKT column reads back as a field too. */
  check_export (f, "ket-qua.csv", NULL, TRUE);
  check_export (f, "ket-qua-gpkg", "gpkg", FALSE);
}

static void
test_export_csv_text (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "fid <= 3");
  g_autofree char *out = g_build_filename (f->dir, "thua.csv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_true (dothi_query_export (f->path, "parcels", fids, out, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (out, &text, NULL, &error));
  g_assert_true (g_utf8_validate (text, -1, NULL));
  lines = g_strsplit (text, "\n", -1);
  assert_contains (lines[0], "WKT");
  assert_contains (lines[0], "ten_chu");
  assert_contains (lines[1], "MULTIPOLYGON");
  /* Vietnamese owner names, as UTF-8. */
  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), "SELECT ten_chu FROM parcels WHERE fid = 1",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  assert_contains (lines[1], (const char *) sqlite3_column_text (stmt, 0));
}

static void
test_export_exists (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "fid < 100");
  g_autofree char *out = g_build_filename (f->dir, "co-roi.geojson", NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_set_contents (out, "giữ nguyên", -1, &error));
  g_assert_false (dothi_query_export (f->path, "parcels", fids, out, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  assert_contains (error->message, out);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (out, &text, NULL, &error));
  g_assert_cmpstr (text, ==, "giữ nguyên");

  /* Neither a format the result cannot take. */
  g_assert_false (dothi_query_export (f->path, "parcels", fids, "/nonexistent/x.dxf", NULL,
                                      NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
}

typedef struct {
  GCancellable *cancellable;
  guint         calls;
} CancelData;

static void
cancel_progress_cb (double fraction, const char *stage, gpointer data)
{
  CancelData *cd = data;

  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  cd->calls++;
  g_cancellable_cancel (cd->cancellable);
}

static void
test_export_cancelled (Fixture *f, gconstpointer data)
{
  const char *names[] = { "huy.gpkg", "huy.geojson", "huy.csv" };
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "1");
  g_autofree char *out_dir = g_build_filename (f->dir, "out", NULL);

  g_assert_cmpint (g_mkdir (out_dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autofree char *out = g_build_filename (out_dir, names[i], NULL);
      CancelData cd = { cancellable, 0 };

      g_assert_false (dothi_query_export (f->path, "parcels", fids, out, NULL, cancellable,
                                          cancel_progress_cb, &cd, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpuint (cd.calls, ==, 1);
      g_assert_cmpuint (count_files (out_dir), ==, 0);
    }
}

/* ---- save as layer ------------------------------------------------------ */

static gint64
scalar (Fixture *f, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static gboolean
has_layer (Fixture *f, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (f->project, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < layers->len; i++)
    if (g_str_equal (((DothiLayerInfo *) g_ptr_array_index (layers, i))->name, name))
      return TRUE;
  return FALSE;
}

static void
check_saved_layer (Fixture *f, DothiFidSet *fids, const char *checksum)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, "thua_dat_ven_ong", &error);
  g_autoptr(DothiLayerInfo) src = dothi_project_get_layer (f->project, "parcels", &error);
  g_autoptr(DothiSummary) a = NULL;
  g_autoptr(DothiSummary) b = NULL;
  g_autoptr(DothiFidSet) all = NULL;
  g_autofree char *sum = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (info->title, ==, "Thửa đất ven ống");
  g_assert_cmpint (info->kind, ==, src->kind);
  g_assert_cmpint (info->srid, ==, src->srid);
  g_assert_cmpuint (info->fields->len, ==, src->fields->len);
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *x = g_ptr_array_index (info->fields, i);
      const DothiField *y = g_ptr_array_index (src->fields, i);
      g_assert_cmpstr (x->name, ==, y->name);
      g_assert_cmpint (x->type, ==, y->type);
    }
  g_assert_cmpint (info->feature_count, ==, dothi_fid_set_get_size (fids));

  /* What QGIS and SpatiaLite need: the registered column, a full index. */
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM geometry_columns WHERE f_table_name = "
                              "'thua_dat_ven_ong' AND srid = 9218 AND spatial_index_enabled = 1"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM idx_thua_dat_ven_ong_geom"), ==,
                   dothi_fid_set_get_size (fids));
  g_assert_cmpint (scalar (f, "SELECT CheckSpatialIndex('thua_dat_ven_ong', 'geom')"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                              "AND tbl_name = 'thua_dat_ven_ong' AND name LIKE 'dothi_%'"), >, 0);

  /* The same features: the same totals. */
  a = dothi_query_summarize (f->path, "parcels", fids, "muc_dich", NULL, &error);
  g_assert_no_error (error);
  all = select_fids (f, "thua_dat_ven_ong", "1");
  b = dothi_query_summarize (f->path, "thua_dat_ven_ong", all, "muc_dich", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->total.count, ==, b->total.count);
  g_assert_cmpfloat (a->total.area, ==, b->total.area);
  g_assert_cmpuint (a->groups->len, ==, b->groups->len);

  sum = dothi_project_layer_checksum (f->project, "thua_dat_ven_ong", &error);
  g_assert_no_error (error);
  if (checksum != NULL)
    g_assert_cmpstr (sum, ==, checksum);
}

static void
test_save_layer (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "fid % 7 = 2");
  g_autofree char *table = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *parcels_before = NULL;
  g_autofree char *undo_label = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  gint64 id, undo, redo;

  parcels_before = dothi_project_layer_checksum (f->project, "parcels", &error);
  g_assert_no_error (error);
  id = dothi_query_save_layer (f->project, "parcels", fids, "Thửa đất ven ống",
                               "Thửa đất ven ống", &table, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  g_assert_cmpstr (table, ==, "thua_dat_ven_ong");
  g_assert_true (has_layer (f, "thua_dat_ven_ong"));
  check_saved_layer (f, fids, NULL);
  checksum = dothi_project_layer_checksum (f->project, "thua_dat_ven_ong", &error);
  g_assert_no_error (error);

  /* One action in the history, recorded as an import. */
  actions = dothi_audit_list_actions (f->project, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((DothiActionInfo *) g_ptr_array_index (actions, 0))->id, ==, id);
  g_assert_cmpuint (((DothiActionInfo *) g_ptr_array_index (actions, 0))->n_features, ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_audit WHERE op = 'import' "
                              "AND layer = 'thua_dat_ven_ong'"), ==, 1);
  undo_label = dothi_edit_dup_undo_label (f->project);
  assert_contains (undo_label, "Thửa đất ven ống");

  /* Undo hides it, redo brings it back as it was. */
  undo = dothi_edit_undo_sync (f->project, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (undo, >, id);
  g_assert_false (has_layer (f, "thua_dat_ven_ong"));
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM sqlite_master WHERE name = 'thua_dat_ven_ong'"), ==, 0);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                              "AND name LIKE 'dothi\\_trash\\_%\\_thua_dat_ven_ong' ESCAPE '\\'"), ==, 1);

  redo = dothi_edit_redo_sync (f->project, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (redo, >, undo);
  g_assert_true (has_layer (f, "thua_dat_ven_ong"));
  check_saved_layer (f, fids, checksum);

  /* The layer it came from is untouched, and the file reopens as it is. */
  {
    g_autofree char *parcels_after = dothi_project_layer_checksum (f->project, "parcels", &error);
    g_assert_cmpstr (parcels_after, ==, parcels_before);
  }
  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  check_saved_layer (f, fids, checksum);
}

static void
test_save_layer_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = select_fids (f, "parcels", "fid < 10");
  g_autofree char *table = NULL;
  gint64 actions = scalar (f, "SELECT count(*) FROM dothi_actions");

  /* An existing name. */
  g_assert_cmpint (dothi_query_save_layer (f->project, "parcels", fids, "Roads", NULL, &table,
                                           &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  assert_contains (error->message, "roads");
  g_assert_null (table);
  g_clear_error (&error);

  /* A source layer that does not exist. */
  g_assert_cmpint (dothi_query_save_layer (f->project, "khong_co", fids, "moi", NULL, NULL,
                                           &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A name Dothi keeps for itself. */
  g_assert_cmpint (dothi_query_save_layer (f->project, "parcels", fids, "dothi_meta", NULL, NULL,
                                           &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_actions"), ==, actions);

  /* A failure half way (a geometry Dothi cannot read, written by another
   * program) rolls the whole action back. */
  g_assert_cmpint (sqlite3_exec (project_db (f),
                                 "UPDATE parcels SET geom = CompressGeometry(geom) WHERE fid = 7",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  actions = scalar (f, "SELECT count(*) FROM dothi_actions");
  g_assert_cmpint (dothi_query_save_layer (f->project, "parcels", fids, "Hỏng", NULL, NULL,
                                           &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "7");
  assert_contains (error->message, "parcels");
  g_clear_error (&error);
  g_assert_false (has_layer (f, "hong"));
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%hong%'"), ==, 0);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM geometry_columns WHERE f_table_name = 'hong'"), ==, 0);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_actions"), ==, actions);

  /* The summary names the feature too. */
  g_assert_null (dothi_query_summarize (f->path, "parcels", fids, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "parcels");
}

/* ---- saved queries ------------------------------------------------------ */

static void
test_saved_queries (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(DothiSavedQuery) saved = NULL;
  gint64 actions = scalar (f, "SELECT count(*) FROM dothi_actions");

  list = dothi_saved_query_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);
  g_assert_null (dothi_saved_query_get (f->project, "Đất ở", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (dothi_saved_query_store (f->project, "Đất ở", "parcels",
                                          "muc_dich = 'ODT'", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_saved_query_store (f->project, "Cấp nước", "parcels",
                                          "within_distance(water_mains, 50)", "ống chính", &error));
  g_assert_true (dothi_saved_query_store (f->project, "Ánh sáng", "power_lines", "1 = 1", NULL, &error));
  g_assert_true (dothi_saved_query_store (f->project, "Dân cư", "parcels", "so_to = 3", NULL, &error));
  g_assert_no_error (error);
  /* Replaced, not added. */
  g_assert_true (dothi_saved_query_store (f->project, "Đất ở", "parcels",
                                          "muc_dich = 'ODT' AND dien_tich > 500", "lớn", &error));
  g_assert_no_error (error);
  /* Dothi's own table is no schema change of another program's. */
  g_assert_cmpint (scalar (f, "SELECT CAST(value AS INTEGER) FROM dothi_meta "
                              "WHERE key = 'triggers_schema_version'"), ==,
                   scalar (f, "PRAGMA schema_version"));
  /* Saved queries are no edits: the history is as it was. */
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_actions"), ==, actions);

  list = dothi_saved_query_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 4);
  /* Vietnamese order: Đ after D. */
  g_assert_cmpstr (((DothiSavedQuery *) g_ptr_array_index (list, 0))->name, ==, "Ánh sáng");
  g_assert_cmpstr (((DothiSavedQuery *) g_ptr_array_index (list, 1))->name, ==, "Cấp nước");
  g_assert_cmpstr (((DothiSavedQuery *) g_ptr_array_index (list, 2))->name, ==, "Dân cư");
  g_assert_cmpstr (((DothiSavedQuery *) g_ptr_array_index (list, 3))->name, ==, "Đất ở");

  saved = dothi_saved_query_get (f->project, "Đất ở", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (saved->layer, ==, "parcels");
  g_assert_cmpstr (saved->text, ==, "muc_dich = 'ODT' AND dien_tich > 500");
  g_assert_cmpstr (saved->note, ==, "lớn");
  g_assert_nonnull (saved->modified);
  g_assert_true (g_str_has_suffix (saved->modified, "Z"));
  g_clear_pointer (&saved, dothi_saved_query_free);

  saved = dothi_saved_query_get (f->project, "Ánh sáng", &error);
  g_assert_no_error (error);
  g_assert_null (saved->note);
  g_clear_pointer (&saved, dothi_saved_query_free);

  g_assert_true (dothi_saved_query_delete (f->project, "Cấp nước", &error));
  g_assert_no_error (error);
  g_assert_null (dothi_saved_query_get (f->project, "Cấp nước", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "Cấp nước");
  g_clear_error (&error);
  g_assert_false (dothi_saved_query_delete (f->project, "Cấp nước", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A layer the project lacks, an empty name. */
  g_assert_false (dothi_saved_query_store (f->project, "Sai", "khong_co", "1", NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (dothi_saved_query_store (f->project, "  ", "parcels", "1", NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* They live in the file. */
  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = dothi_saved_query_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_false (dothi_saved_query_store (f->project, "Mới", "parcels", "1", NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY);
}

int
main (int argc, char **argv)
{
  int ret;

  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/query-result/summary/totals", test_summary_totals);
  ADD ("/query-result/summary/grouped", test_summary_grouped);
  ADD ("/query-result/summary/numbers", test_summary_numbers);
  ADD ("/query-result/summary/unknown-field", test_summary_unknown_field);
  ADD ("/query-result/summary/empty", test_summary_empty);
  ADD ("/query-result/summary/cancelled", test_summary_cancelled);
  ADD ("/query-result/export/formats", test_export_formats);
  ADD ("/query-result/export/csv-text", test_export_csv_text);
  ADD ("/query-result/export/exists", test_export_exists);
  ADD ("/query-result/export/cancelled", test_export_cancelled);
  ADD ("/query-result/save-layer/undo-redo", test_save_layer);
  ADD ("/query-result/save-layer/refused", test_save_layer_refused);
  ADD ("/query-result/saved-queries", test_saved_queries);

  ret = g_test_run ();
  if (demo_dir != NULL)
    dothi_test_rmdir (demo_dir);
  g_free (demo_dir);
  g_free (demo_project);
  return ret;
}
