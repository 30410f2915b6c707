/* test-query.c: spatial and attribute queries on the generated 10 000-parcel
 * city checked against hand-written SpatiaLite SQL run by the `spatialite`
 * program (the oracle), the parser's errors, injection, cancel and plan. */
#include "config.h"

#include <gio/gio.h>
#include <sqlite3.h>
#include <string.h>

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-project.h"
#include "dothi-query.h"
#include "dothi-query-result.h"
#include "test-util.h"

#define CITY_PARCELS 10000
#define CITY_SEED 1      /* dothi-cli demo's default */

static char *city_dir;
static char *city_project;

/* The 10 000-parcel city imported into a project, built once, checkpointed
 * and closed: every test only reads it. */
static const char *
city (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *gpkg = NULL;

  if (city_project != NULL)
    return city_project;

  city_dir = dothi_test_mkdtemp ();
  gpkg = g_build_filename (city_dir, "city.gpkg", NULL);
  dothi_demo_city_write (gpkg, CITY_PARCELS, CITY_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  city_project = g_build_filename (city_dir, "city.dothi", NULL);
  project = dothi_project_create (city_project, NULL, &error);
  g_assert_no_error (error);
  import = dothi_import_new (project, gpkg);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dothi_project_checkpoint (project, &error);
  g_assert_no_error (error);
  dothi_project_close (project);

  return city_project;
}

/* ---- the oracle: the spatialite program ------------------------------------ */

static gboolean
have_spatialite (void)
{
  g_autofree char *program = g_find_program_in_path ("spatialite");

  if (program == NULL)
    {
      g_test_skip ("the spatialite program is missing (apt-get install spatialite-bin)");
      return FALSE;
    }
  return TRUE;
}

/* Runs @sql (given on standard input) in the spatialite shell on the
 * project; the output, one row a line, fields split by '|'. */
static char **
spatialite_rows_on (const char *path,
                    const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *input = g_strconcat (sql, ";\n", NULL);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                           | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                           "spatialite", "-batch", "-bail", "-noheader", path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0
      || (err != NULL && strstr (err, "Error") != NULL))
    {
      g_test_message ("spatialite failed on:\n%s\n%s", sql, err);
      g_assert_not_reached ();
    }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_ptr_array_add (rows, g_strdup (lines[i]));
  g_ptr_array_add (rows, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&rows), FALSE);
}

static char **
spatialite_rows (const char *sql)
{
  return spatialite_rows_on (city (), sql);
}

/* The fids in the first column of @sql's rows. */
static DothiFidSet *
spatialite_fids_on (const char *path,
                    const char *sql)
{
  g_auto(GStrv) rows = spatialite_rows_on (path, sql);
  GArray *fids = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; rows[i] != NULL; i++)
    {
      char *end = NULL;
      gint64 fid = g_ascii_strtoll (rows[i], &end, 10);

      g_assert_true (end != rows[i] && (*end == '\0' || *end == '|'));
      g_array_append_val (fids, fid);
    }
  return dothi_fid_set_new_take (fids);
}

static DothiFidSet *
spatialite_fids (const char *sql)
{
  return spatialite_fids_on (city (), sql);
}

/* A folded text in SQL the oracle can run: a recursive CTE that replaces
 * every Vietnamese letter with a diacritic by its base letter, one letter
 * per step (nested replace() calls would overflow SQLite's parser), then
 * lower(): a table NAME(fid, f) of the folded values of a column.
 * Independent of Dothi's own folding (dothi_text_fold). */
static const char *const fold_groups[][2] = {
  { "a", "àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ" },
  { "e", "èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆ" },
  { "i", "ìíỉĩịÌÍỈĨỊ" },
  { "o", "òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ" },
  { "u", "ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰ" },
  { "y", "ỳýỷỹỵỲÝỶỸỴ" },
  { "d", "đĐ" },
};

/* "WITH RECURSIVE m(…) AS (…), r1(…) AS (…), NAME(fid, f) AS (…), …" for
 * the @n triples (table, column, NAME) in @folds. */
static char *
fold_ctes (const char *const (*folds)[3],
           guint              n_folds)
{
  GString *sql = g_string_new ("WITH RECURSIVE m(i, a, b) AS (VALUES ");
  guint n = 0;

  for (guint g = 0; g < G_N_ELEMENTS (fold_groups); g++)
    for (const char *p = fold_groups[g][1]; *p != '\0'; p = g_utf8_next_char (p))
      {
        g_string_append_printf (sql, "%s(%u, '%.*s', '%s')", n > 0 ? ", " : "", n + 1,
                                (int) (g_utf8_next_char (p) - p), p, fold_groups[g][0]);
        n++;
      }
  g_string_append (sql, ")");
  for (guint k = 0; k < n_folds; k++)
    g_string_append_printf (sql, ", r%u(fid, s, i) AS (SELECT fid, \"%s\", 0 FROM \"%s\" "
                            "UNION ALL SELECT r%u.fid, replace (r%u.s, m.a, m.b), r%u.i + 1 "
                            "FROM r%u JOIN m ON m.i = r%u.i + 1), "
                            "%s(fid, f) AS (SELECT fid, lower (s) FROM r%u WHERE i = %u)",
                            k, folds[k][1], folds[k][0], k, k, k, k, k, folds[k][2], k, n);
  g_string_append (sql, " ");
  return g_string_free (sql, FALSE);
}

/* ---- running queries --------------------------------------------------------- */

static DothiFidSet *
run_query_on (const char  *path,
              const char  *layer,
              const char  *text,
              DothiQuery **out_query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiQuery) query = dothi_query_new (path, layer, text, &error);
  DothiFidSet *fids;

  if (error != NULL)
    g_test_message ("query on %s failed: %s", layer, text);
  g_assert_no_error (error);
  g_assert_nonnull (query);
  fids = dothi_query_run (query, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fids);
  if (out_query != NULL)
    *out_query = g_steal_pointer (&query);
  return fids;
}

static DothiFidSet *
run_query (const char  *layer,
           const char  *text,
           DothiQuery **out_query)
{
  return run_query_on (city (), layer, text, out_query);
}

static gint64
count_rows_on (const char *path,
               const char *table)
{
  g_autofree char *uri = g_strdup_printf ("file:%s?mode=ro", path);
  g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("SELECT count(*) FROM \"%w\"", table);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_open_v2 (uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

static gint64
count_rows (const char *table)
{
  return count_rows_on (city (), table);
}

/* Logs up to ten fids of @a missing from @b. */
static void
log_difference (const char        *what,
                const DothiFidSet *a,
                const DothiFidSet *b)
{
  g_autoptr(DothiFidSet) diff = dothi_fid_set_difference (a, b);
  g_autoptr(GString) text = g_string_new (NULL);
  guint n;
  const gint64 *fids = dothi_fid_set_get_fids (diff, &n);

  for (guint i = 0; i < MIN (n, 10); i++)
    g_string_append_printf (text, " %" G_GINT64_FORMAT, fids[i]);
  g_test_message ("%u fids %s:%s%s", n, what, text->str, n > 10 ? " …" : "");
}

static void
assert_same_fids_on (const char  *path,
                     const char  *layer,
                     const char  *text,
                     DothiFidSet *got,
                     DothiFidSet *expected)
{
  gint64 total = count_rows_on (path, layer);

  g_test_message ("%s: %s → Dothi %u, SQL %u of %" G_GINT64_FORMAT, layer, text,
                  dothi_fid_set_get_size (got), dothi_fid_set_get_size (expected), total);
  if (!dothi_fid_set_equal (got, expected))
    {
      log_difference ("only in Dothi's result", got, expected);
      log_difference ("only in the SQL result", expected, got);
    }
  g_assert_cmpuint (dothi_fid_set_get_size (got), ==, dothi_fid_set_get_size (expected));
  g_assert_true (dothi_fid_set_equal (got, expected));
  /* Non-trivial, so that the comparison can fail. */
  g_assert_cmpuint (dothi_fid_set_get_size (expected), >, 0);
  g_assert_cmpint (dothi_fid_set_get_size (expected), <, total);
}

static void
assert_same_fids (const char  *layer,
                  const char  *text,
                  DothiFidSet *got,
                  DothiFidSet *expected)
{
  assert_same_fids_on (city (), layer, text, got, expected);
}

/* ---- oracle cases --------------------------------------------------------------- */

/* The R-tree candidates of @table whose box meets @geom's box grown by @d
 * metres (SpatiaLite's SpatialIndex on the layer's R-tree). */
#define RTREE(table, geom, d) \
  "fid IN (SELECT rowid FROM SpatialIndex WHERE f_table_name = '" table "' " \
  "AND search_frame = BuildMbr (MbrMinX (" geom ") - " d ", MbrMinY (" geom ") - " d ", " \
  "MbrMaxX (" geom ") + " d ", MbrMaxY (" geom ") + " d "))"

typedef struct {
  const char *layer;
  const char *text;
  const char *sql;   /* the fids, hand-written */
} OracleCase;

static const OracleCase oracle_cases[] = {
  /* within distance, parcels vs water mains, with a condition on the mains */
  { "parcels", "within_distance(water_mains, 50, duong_kinh_mm >= 300)",
    "SELECT p.fid FROM parcels p WHERE EXISTS (SELECT 1 FROM water_mains o "
    "WHERE o.duong_kinh_mm >= 300 AND o." RTREE ("water_mains", "p.geom", "50")
    " AND ST_Distance (p.geom, o.geom) <= 50)" },
  /* within distance, points vs lines, OR in the other layer's condition */
  { "water_valves", "within_distance(\"water_mains\", 0.5, duong_kinh_mm >= 400 OR vat_lieu = 'PVC')",
    "SELECT p.fid FROM water_valves p WHERE EXISTS (SELECT 1 FROM water_mains o "
    "WHERE (o.duong_kinh_mm >= 400 OR o.vat_lieu = 'PVC') AND ST_Distance (p.geom, o.geom) <= 0.5)" },
  /* within distance, roads vs parcels */
  { "roads", "within_distance(parcels, 6, muc_dich = 'TMD')",
    "SELECT p.fid FROM roads p WHERE EXISTS (SELECT 1 FROM parcels o "
    "WHERE o.muc_dich = 'TMD' AND o." RTREE ("parcels", "p.geom", "6")
    " AND ST_Distance (p.geom, o.geom) <= 6)" },
  /* intersects, lines vs lines */
  { "roads", "intersects(power_lines, cap_dien_ap_kv >= 22)",
    "SELECT p.fid FROM roads p WHERE EXISTS (SELECT 1 FROM power_lines o "
    "WHERE o.cap_dien_ap_kv >= 22 AND o." RTREE ("power_lines", "p.geom", "0")
    " AND ST_Intersects (p.geom, o.geom))" },
  { "water_mains", "intersects(roads, cap = 'Đường chính đô thị')",
    "SELECT p.fid FROM water_mains p WHERE EXISTS (SELECT 1 FROM roads o "
    "WHERE o.cap = 'Đường chính đô thị' AND o." RTREE ("roads", "p.geom", "0")
    " AND ST_Intersects (p.geom, o.geom))" },
  /* within: points in polygons, and polygons in polygons (shared edges) */
  { "sensor_stations", "within(zoning)",
    "SELECT p.fid FROM sensor_stations p WHERE EXISTS (SELECT 1 FROM zoning o "
    "WHERE ST_Within (p.geom, o.geom))" },
  { "parcels", "within(\"Quy hoạch phân khu\", chuc_nang = 'Đất ở mới')",
    "SELECT p.fid FROM parcels p WHERE EXISTS (SELECT 1 FROM zoning o "
    "WHERE o.chuc_nang = 'Đất ở mới' AND o." RTREE ("zoning", "p.geom", "0")
    " AND ST_Within (p.geom, o.geom))" },
  /* contains: zoning contains sensor stations, and parcels */
  { "zoning", "contains(sensor_stations, loai = 'Mực nước')",
    "SELECT p.fid FROM zoning p WHERE EXISTS (SELECT 1 FROM sensor_stations o "
    "WHERE o.loai = 'Mực nước' AND ST_Contains (p.geom, o.geom))" },
  { "zoning", "contains(parcels, muc_dich = 'LUC')",
    "SELECT p.fid FROM zoning p WHERE EXISTS (SELECT 1 FROM parcels o "
    "WHERE o.muc_dich = 'LUC' AND o." RTREE ("parcels", "p.geom", "0")
    " AND ST_Contains (p.geom, o.geom))" },
  /* touches: a layer against itself, and points at the ends of lines */
  { "roads", "touches(roads, cap = 'Đường nội bộ')",
    "SELECT p.fid FROM roads p WHERE EXISTS (SELECT 1 FROM roads o "
    "WHERE o.cap = 'Đường nội bộ' AND o." RTREE ("roads", "p.geom", "0")
    " AND ST_Touches (p.geom, o.geom))" },
  { "parcels", "touches(parcels, muc_dich IN ('DGT', 'DYT'))",
    "SELECT p.fid FROM parcels p WHERE EXISTS (SELECT 1 FROM parcels o "
    "WHERE o.muc_dich IN ('DGT', 'DYT') AND o." RTREE ("parcels", "p.geom", "0")
    " AND ST_Touches (p.geom, o.geom))" },
  { "sensor_stations", "touches(roads)",
    "SELECT p.fid FROM sensor_stations p WHERE EXISTS (SELECT 1 FROM roads o "
    "WHERE ST_Touches (p.geom, o.geom))" },
  /* disjoint: intersects no feature of the other layer (that qualifies);
   * against its own layer, a feature counts against itself */
  { "parcels", "disjoint(parcels, muc_dich <> 'ODT')",
    "SELECT p.fid FROM parcels p WHERE NOT EXISTS (SELECT 1 FROM parcels o "
    "WHERE o.muc_dich <> 'ODT' AND o." RTREE ("parcels", "p.geom", "0")
    " AND ST_Intersects (p.geom, o.geom))" },
  { "roads", "disjoint(power_lines)",
    "SELECT p.fid FROM roads p WHERE NOT EXISTS (SELECT 1 FROM power_lines o "
    "WHERE o." RTREE ("power_lines", "p.geom", "0") " AND ST_Intersects (p.geom, o.geom))" },
  { "parcels", "disjoint(zoning, chuc_nang IN ('Đất ở mới', 'Đất ở hiện hữu'))",
    "SELECT p.fid FROM parcels p WHERE NOT EXISTS (SELECT 1 FROM zoning o "
    "WHERE o.chuc_nang IN ('Đất ở mới', 'Đất ở hiện hữu') AND o." RTREE ("zoning", "p.geom", "0")
    " AND ST_Intersects (p.geom, o.geom))" },
  /* attribute and spatial combined, with parentheses, NOT, AND, OR */
  { "parcels",
    "(muc_dich IN ('ODT', 'ONT') AND within_distance(water_mains, 50, duong_kinh_mm >= 300)) "
    "OR (NOT within(zoning, chuc_nang = 'Đất ở hiện hữu') AND dien_tich BETWEEN 400 AND 800)",
    "SELECT p.fid FROM parcels p WHERE (p.muc_dich IN ('ODT', 'ONT') AND EXISTS (SELECT 1 "
    "FROM water_mains o WHERE o.duong_kinh_mm >= 300 AND o." RTREE ("water_mains", "p.geom", "50")
    " AND ST_Distance (p.geom, o.geom) <= 50)) OR (NOT EXISTS (SELECT 1 FROM zoning o "
    "WHERE o.chuc_nang = 'Đất ở hiện hữu' AND o." RTREE ("zoning", "p.geom", "0")
    " AND ST_Within (p.geom, o.geom)) AND p.dien_tich BETWEEN 400 AND 800)" },
  { "parcels",
    "NOT (within_distance(sensor_stations, 150) OR muc_dich = 'ODT') "
    "AND intersects(zoning, NOT (chuc_nang LIKE 'Đất ở%') AND mat_do_xd >= 40)",
    "SELECT p.fid FROM parcels p WHERE NOT (EXISTS (SELECT 1 FROM sensor_stations o WHERE o."
    RTREE ("sensor_stations", "p.geom", "150") " AND ST_Distance (p.geom, o.geom) <= 150) "
    "OR p.muc_dich = 'ODT') AND EXISTS (SELECT 1 FROM zoning o WHERE NOT (o.chuc_nang LIKE 'Đất ở%') "
    "AND o.mat_do_xd >= 40 AND o." RTREE ("zoning", "p.geom", "0") " AND ST_Intersects (p.geom, o.geom))" },
};

static void
test_oracle (gconstpointer data)
{
  const OracleCase *c = data;
  g_autoptr(DothiFidSet) got = NULL;
  g_autoptr(DothiFidSet) expected = NULL;

  if (!have_spatialite ())
    return;
  got = run_query (c->layer, c->text, NULL);
  expected = spatialite_fids (c->sql);
  assert_same_fids (c->layer, c->text, got, expected);
}

/* Attribute-only, folded: case, tone marks, đ and tone placement ignored
 * (“THUỲ” matches “Thùy”). */
static void
test_oracle_folded_equal (void)
{
  const char *text = "ten_chu ~= 'LÊ THUỲ UYÊN'";
  g_autoptr(DothiFidSet) got = NULL;
  g_autoptr(DothiFidSet) expected = NULL;
  g_autofree char *cte = NULL;
  g_autofree char *sql = NULL;

  if (!have_spatialite ())
    return;
  got = run_query ("parcels", text, NULL);
  cte = fold_ctes ((const char *const[][3]) { { "parcels", "ten_chu", "fv" } }, 1);
  sql = g_strconcat (cte, "SELECT fid FROM fv WHERE f = 'le thuy uyen'", NULL);
  expected = spatialite_fids (sql);
  assert_same_fids ("parcels", text, got, expected);
}

/* Folded LIKE on the target and a folded equality in the other layer's
 * condition (“gang deo” is “Gang dẻo”). */
static void
test_oracle_folded_like (void)
{
  const char *text = "dia_chi ILIKE '%NGUYEN TAT THANH%' AND dien_tich > 200 "
                     "AND NOT within_distance(water_mains, 30, vat_lieu ~= 'gang deo' AND NOT (duong_kinh_mm < 200))";
  g_autoptr(DothiFidSet) got = NULL;
  g_autoptr(DothiFidSet) expected = NULL;
  g_autofree char *cte = NULL;
  g_autofree char *sql = NULL;

  if (!have_spatialite ())
    return;
  got = run_query ("parcels", text, NULL);
  cte = fold_ctes ((const char *const[][3]) {
                       { "parcels", "dia_chi", "fp" },
                       { "water_mains", "vat_lieu", "fm" } }, 2);
  sql = g_strconcat (cte, "SELECT p.fid FROM parcels p JOIN fp ON fp.fid = p.fid "
                     "WHERE fp.f LIKE '%nguyen tat thanh%' AND p.dien_tich > 200 "
                     "AND NOT EXISTS (SELECT 1 FROM water_mains o JOIN fm ON fm.fid = o.fid "
                     "WHERE fm.f = 'gang deo' AND NOT (o.duong_kinh_mm < 200) AND o." RTREE ("water_mains", "p.geom", "30")
                     " AND ST_Distance (p.geom, o.geom) <= 30)", NULL);
  expected = spatialite_fids (sql);
  assert_same_fids ("parcels", text, got, expected);
}

/* Grouped: the parcels within 50 m of the big mains, per land-use code,
 * against GROUP BY; with their total area. */
static void
test_oracle_grouped (void)
{
  const char *text = "within_distance(water_mains, 50, duong_kinh_mm >= 300)";
  const char *where =
    "FROM parcels p WHERE EXISTS (SELECT 1 FROM water_mains o "
    "WHERE o.duong_kinh_mm >= 300 AND o." RTREE ("water_mains", "p.geom", "50")
    " AND ST_Distance (p.geom, o.geom) <= 50)";
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) got = NULL;
  g_autoptr(DothiSummary) summary = NULL;
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *sql = NULL;
  g_autofree char *area_sql = NULL;
  g_auto(GStrv) rows = NULL;
  gint64 total = 0;
  double area;

  if (!have_spatialite ())
    return;
  got = run_query ("parcels", text, NULL);

  sql = g_strconcat ("SELECT p.muc_dich, count(*) ", where, " GROUP BY p.muc_dich", NULL);
  rows = spatialite_rows (sql);
  for (guint i = 0; rows[i] != NULL; i++)
    {
      g_auto(GStrv) cols = g_strsplit (rows[i], "|", 2);
      gint64 n = g_ascii_strtoll (cols[1], NULL, 10);

      g_hash_table_insert (expected, g_strdup (cols[0]), GINT_TO_POINTER ((int) n));
      total += n;
    }
  g_assert_cmpuint (g_hash_table_size (expected), >, 3);
  g_assert_cmpint (total, ==, dothi_fid_set_get_size (got));

  summary = dothi_query_summarize (city (), "parcels", got, "muc_dich", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (summary);
  g_assert_cmpint (summary->total.count, ==, total);
  g_assert_cmpuint (summary->groups->len, ==, g_hash_table_size (expected));
  for (guint i = 0; i < summary->groups->len; i++)
    {
      DothiSummaryRow *row = g_ptr_array_index (summary->groups, i);
      gpointer n;

      g_assert_nonnull (row->key);
      g_assert_true (g_hash_table_lookup_extended (expected, row->key, NULL, &n));
      g_test_message ("%s: %" G_GINT64_FORMAT, row->key, row->count);
      g_assert_cmpint (row->count, ==, GPOINTER_TO_INT (n));
      if (i > 0)
        g_assert_cmpint (row->count, <=, ((DothiSummaryRow *) g_ptr_array_index (summary->groups, i - 1))->count);
    }

  area_sql = g_strconcat ("SELECT printf ('%.3f', sum (ST_Area (p.geom))) ", where, NULL);
  g_strfreev (rows);
  rows = spatialite_rows (area_sql);
  g_assert_cmpuint (g_strv_length (rows), ==, 1);
  area = g_ascii_strtod (rows[0], NULL);
  g_assert_cmpfloat (area, >, 0);
  g_assert_cmpfloat_with_epsilon (summary->total.area, area, area * 1e-6);
}

/* NULLs: the generated city has none, so a copy gets some; a condition on
 * a NULL value is unknown, as in SQL, whether or not a spatial condition
 * sits beside it under NOT: NOT (x = 'ODT' OR <false>) is NOT (x = 'ODT'). */
static const OracleCase null_cases[] = {
  { "parcels", "NOT (muc_dich = 'ODT')",
    "SELECT fid FROM parcels WHERE NOT (muc_dich = 'ODT')" },
  { "parcels", "NOT (muc_dich = 'ODT' OR within_distance(water_mains, 50, duong_kinh_mm >= 300))",
    "SELECT p.fid FROM parcels p WHERE NOT (p.muc_dich = 'ODT' OR EXISTS (SELECT 1 FROM water_mains o "
    "WHERE o.duong_kinh_mm >= 300 AND o." RTREE ("water_mains", "p.geom", "50")
    " AND ST_Distance (p.geom, o.geom) <= 50))" },
  { "parcels", "NOT (dien_tich > 300 AND within_distance(water_mains, 50))",
    "SELECT p.fid FROM parcels p WHERE NOT (p.dien_tich > 300 AND EXISTS (SELECT 1 FROM water_mains o "
    "WHERE o." RTREE ("water_mains", "p.geom", "50") " AND ST_Distance (p.geom, o.geom) <= 50))" },
  { "parcels", "NOT within_distance(water_mains, 50, NOT (duong_kinh_mm < 300))",
    "SELECT p.fid FROM parcels p WHERE NOT EXISTS (SELECT 1 FROM water_mains o "
    "WHERE NOT (o.duong_kinh_mm < 300) AND o." RTREE ("water_mains", "p.geom", "50")
    " AND ST_Distance (p.geom, o.geom) <= 50)" },
  { "parcels", "muc_dich <> 'ODT' OR NOT within(zoning, chuc_nang = 'Đất ở mới')",
    "SELECT p.fid FROM parcels p WHERE p.muc_dich <> 'ODT' OR NOT EXISTS (SELECT 1 FROM zoning o "
    "WHERE o.chuc_nang = 'Đất ở mới' AND o." RTREE ("zoning", "p.geom", "0")
    " AND ST_Within (p.geom, o.geom))" },
};

static void
test_oracle_nulls (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) source = NULL;
  g_autoptr(GFile) target = NULL;
  sqlite3 *db = NULL;

  if (!have_spatialite ())
    return;
  dir = dothi_test_mkdtemp ();
  path = g_build_filename (dir, "nulls.dothi", NULL);
  source = g_file_new_for_path (city ());
  target = g_file_new_for_path (path);
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* An outside program's edit (the audit triggers record it). */
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "UPDATE parcels SET muc_dich = NULL WHERE fid % 7 = 0;"
                                 "UPDATE parcels SET dien_tich = NULL WHERE fid % 11 = 0;"
                                 "UPDATE water_mains SET duong_kinh_mm = NULL WHERE fid % 5 = 0;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  for (guint i = 0; i < G_N_ELEMENTS (null_cases); i++)
    {
      g_autoptr(DothiFidSet) got = run_query_on (path, null_cases[i].layer, null_cases[i].text, NULL);
      g_autoptr(DothiFidSet) expected = spatialite_fids_on (path, null_cases[i].sql);

      assert_same_fids_on (path, null_cases[i].layer, null_cases[i].text, got, expected);
    }
  dothi_test_rmdir (dir);
}

/* ---- the parser ------------------------------------------------------------------ */

static void
test_parse_good (void)
{
  static const struct {
    const char *layer;
    const char *text;
    gboolean    spatial;
  } good[] = {
    { "parcels", "within_distance(water_mains, 50)", TRUE },
    { "parcels", "within_distance(water_mains, 50.5, duong_kinh_mm >= 300)", TRUE },
    { "parcels", "WITHIN_DISTANCE( \"water_mains\" , 0 , vat_lieu IN ('PVC', 'HDPE') )", TRUE },
    { "parcels", "within_distance(\"Ống cấp nước\", 1e2)", TRUE },
    { "parcels", "intersects(zoning) AND contains(water_valves) OR within(zoning)", TRUE },
    { "parcels", "NOT touches(parcels, muc_dich = 'DGT') AND (disjoint(roads) OR dien_tich > 100)", TRUE },
    { "zoning", "contains(sensor_stations, loai ~= 'ap luc nuoc' AND ten IS NOT NULL)", TRUE },
    { "sensor_stations", "within(zoning, chuc_nang ILIKE 'dat o%' AND mat_do_xd BETWEEN 10 AND 60)", TRUE },
    { "parcels", "muc_dich = 'ODT' AND dien_tich > 500", FALSE },
    { "parcels", "", FALSE },
    { "parcels", NULL, FALSE },
    { "Thửa đất", "so_to = 1", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiQuery) query = dothi_query_new (city (), good[i].layer, good[i].text, &error);

      g_test_message ("%s: %s", good[i].layer, good[i].text);
      g_assert_no_error (error);
      g_assert_nonnull (query);
      g_assert_cmpint (dothi_query_is_spatial (query), ==, good[i].spatial);
      g_assert_nonnull (dothi_query_get_layer (query));
      g_assert_null (dothi_query_get_plan (query));
      if (good[i].text != NULL && good[i].text[0] != '\0')
        g_assert_cmpstr (dothi_query_get_text (query), ==, good[i].text);
    }

  for (int p = 0; p < DOTHI_N_SPATIAL_PREDICATES; p++)
    {
      DothiSpatialPredicate back = DOTHI_N_SPATIAL_PREDICATES;
      const char *name = dothi_spatial_predicate_to_string (p);

      g_assert_nonnull (name);
      g_assert_nonnull (dothi_spatial_predicate_to_label (p));
      g_assert_true (dothi_spatial_predicate_from_string (name, &back));
      g_assert_cmpint (back, ==, p);
    }
  g_assert_cmpstr (dothi_spatial_predicate_to_string (DOTHI_SPATIAL_WITHIN_DISTANCE), ==, "within_distance");
  g_assert_false (dothi_spatial_predicate_from_string ("nearby", &(DothiSpatialPredicate) { 0 }));
}

/* Empty text is every feature; a layer named by title and by table name
 * gives the same answer; quoted layer names too. */
static void
test_parse_equivalent (void)
{
  g_autoptr(DothiFidSet) all = run_query ("parcels", "", NULL);
  g_autoptr(DothiFidSet) by_name = run_query ("parcels", "within_distance(water_mains, 25, duong_kinh_mm >= 300)", NULL);
  g_autoptr(DothiFidSet) by_title = run_query ("Thửa đất", "within_distance(\"Ống cấp nước\", 25, DUONG_KINH_MM >= 300)", NULL);
  g_autoptr(DothiFidSet) complement = run_query ("parcels", "NOT within_distance(water_mains, 25, duong_kinh_mm >= 300)", NULL);
  g_autoptr(DothiFidSet) both = NULL;
  g_autoptr(DothiFidSet) any = NULL;

  g_assert_cmpint (dothi_fid_set_get_size (all), ==, count_rows ("parcels"));
  g_assert_true (dothi_fid_set_equal (by_name, by_title));
  g_assert_cmpuint (dothi_fid_set_get_size (by_name), >, 0);
  both = dothi_fid_set_intersect (by_name, complement);
  any = dothi_fid_set_union (by_name, complement);
  g_assert_cmpuint (dothi_fid_set_get_size (both), ==, 0);
  g_assert_true (dothi_fid_set_equal (any, all));
}

/* TRUE when @message holds @number as a whole number. */
static gboolean
has_number (const char *message,
            int         number)
{
  g_autofree char *digits = g_strdup_printf ("%d", number);
  size_t len = strlen (digits);

  for (const char *p = strstr (message, digits); p != NULL; p = strstr (p + 1, digits))
    if ((p == message || !g_ascii_isdigit (p[-1])) && !g_ascii_isdigit (p[len]))
      return TRUE;
  return FALSE;
}

/* @text must fail with @code, naming the 1-based character @position and,
 * when @names is not NULL, that name. */
static void
assert_query_fails_at (const char *layer,
                       const char *text,
                       int         code,
                       int         position,
                       const char *names)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiQuery) query = dothi_query_new (city (), layer, text, &error);

  g_test_message ("%s: %s → %s", layer, text, error != NULL ? error->message : "no error");
  g_assert_null (query);
  g_assert_error (error, DOTHI_ERROR, code);
  if (!has_number (error->message, position))
    g_test_message ("expected position %d in “%s”", position, error->message);
  g_assert_true (has_number (error->message, position));
  if (names != NULL)
    g_assert_nonnull (strstr (error->message, names));
}

/* The same at the position of @at, its first occurrence in @text. */
static void
assert_query_fails (const char *layer,
                    const char *text,
                    int         code,
                    const char *at,
                    const char *names)
{
  const char *p = strstr (text, at);

  g_assert_nonnull (p);
  assert_query_fails_at (layer, text, code, (int) g_utf8_pointer_to_offset (text, p) + 1, names);
}

static void
test_parse_errors (void)
{
  /* unknown layer */
  assert_query_fails ("parcels", "within_distance(nowhere, 50)",
                      DOTHI_ERROR_NOT_FOUND, "nowhere", "nowhere");
  assert_query_fails ("parcels", "muc_dich = 'ODT' AND intersects(\"Sông ngòi\")",
                      DOTHI_ERROR_NOT_FOUND, "\"Sông", "Sông ngòi");
  /* an unknown field of the other layer */
  assert_query_fails ("parcels", "within_distance(water_mains, 50, duong_kinh >= 300)",
                      DOTHI_ERROR_NOT_FOUND, "duong_kinh ", "duong_kinh");
  /* a field of the target inside the other layer's condition */
  assert_query_fails ("parcels", "within_distance(water_mains, 50, muc_dich = 'ODT')",
                      DOTHI_ERROR_NOT_FOUND, "muc_dich", "muc_dich");
  assert_query_fails ("sensor_stations", "within(zoning, loai = 'Mực nước')",
                      DOTHI_ERROR_NOT_FOUND, "loai", "loai");
  /* an unknown field of the target, after a spatial condition */
  assert_query_fails ("parcels", "intersects(zoning) AND dien_tich_m2 > 5",
                      DOTHI_ERROR_NOT_FOUND, "dien_tich_m2", "dien_tich_m2");
  /* a negative distance, a distance as text, no distance */
  assert_query_fails ("parcels", "within_distance(water_mains, -5)",
                      DOTHI_ERROR_INVALID_DATA, "-5", NULL);
  assert_query_fails ("parcels", "within_distance(water_mains, '50')",
                      DOTHI_ERROR_INVALID_DATA, "'50'", NULL);
  assert_query_fails ("parcels", "within_distance(water_mains, duong_kinh_mm >= 300)",
                      DOTHI_ERROR_INVALID_DATA, "duong_kinh_mm", NULL);
  /* missing parentheses: the one never closed */
  assert_query_fails_at ("parcels", "within_distance(water_mains, 50",
                         DOTHI_ERROR_INVALID_DATA, 16, NULL);
  assert_query_fails_at ("parcels", "muc_dich = 'ODT' AND (intersects(zoning) OR dien_tich > 5",
                         DOTHI_ERROR_INVALID_DATA, 22, NULL);
  /* without "(", a predicate's name reads as a field name */
  assert_query_fails ("parcels", "intersects zoning",
                      DOTHI_ERROR_NOT_FOUND, "intersects", "intersects");
  assert_query_fails ("parcels", "intersects(zoning)) OR muc_dich = 'ODT'",
                      DOTHI_ERROR_INVALID_DATA, ") OR", NULL);
  /* a type mismatch in the other layer's condition */
  assert_query_fails ("parcels", "within_distance(water_mains, 50, duong_kinh_mm >= 'lớn')",
                      DOTHI_ERROR_INVALID_DATA, "'lớn'", NULL);
  /* an unknown target layer */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiQuery) query = dothi_query_new (city (), "rivers", "intersects(zoning)", &error);

    g_assert_null (query);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "rivers"));
  }
}

/* ---- injection ------------------------------------------------------------------- */

static const char *const city_tables[] = {
  "parcels", "zoning", "roads", "water_mains", "water_valves", "power_lines",
  "sensor_stations", "sqlite_master",
};

static void
test_injection (void)
{
  gint64 before[G_N_ELEMENTS (city_tables)];
  static const char *const refused_other[] = {
    "intersects(\"parcels) OR 1=1 --\")",
    "within_distance(\"water_mains) OR 1=1 --\", 50)",
    "\"fid) OR 1=1 --\" = 1",
    "within(zoning, \"fid) OR 1=1 --\" = 1)",
    "within_distance(water_mains, 50) OR \"fid) OR 1=1 --\" IS NULL",
  };

  for (guint i = 0; i < G_N_ELEMENTS (city_tables); i++)
    before[i] = count_rows (city_tables[i]);

  /* Values are values. */
  {
    g_autoptr(DothiFidSet) none = run_query ("parcels", "muc_dich = 'x''; DROP TABLE parcels; --'", NULL);
    g_autoptr(DothiFidSet) none_other =
      run_query ("parcels", "within_distance(water_mains, 50, ma_ong = 'x''); DROP TABLE water_mains; --')", NULL);
    g_autoptr(DothiFidSet) none_like = run_query ("parcels", "ten_chu ILIKE '%'' OR 1=1 --'", NULL);

    g_assert_cmpuint (dothi_fid_set_get_size (none), ==, 0);
    g_assert_cmpuint (dothi_fid_set_get_size (none_other), ==, 0);
    g_assert_cmpuint (dothi_fid_set_get_size (none_like), ==, 0);
  }

  /* Names that are not layers or fields are refused. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiQuery) query = dothi_query_new (city (), "parcels) OR 1=1 --", "", &error);

    g_assert_null (query);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  }
  for (guint i = 0; i < G_N_ELEMENTS (refused_other); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiQuery) query = dothi_query_new (city (), "parcels", refused_other[i], &error);

      g_test_message ("%s → %s", refused_other[i], error != NULL ? error->message : "accepted");
      g_assert_null (query);
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
    }

  for (guint i = 0; i < G_N_ELEMENTS (city_tables); i++)
    g_assert_cmpint (count_rows (city_tables[i]), ==, before[i]);
  g_assert_cmpint (before[0], ==, CITY_PARCELS);
}

/* ---- cancel ------------------------------------------------------------------------ */

static void
test_cancel_before (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(DothiQuery) query = dothi_query_new (city (), "parcels",
                                                 "within_distance(water_mains, 50, duong_kinh_mm >= 300)", &error);
  g_autoptr(DothiFidSet) fids = NULL;

  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);
  fids = dothi_query_run (query, NULL, NULL, cancellable, &error);
  g_assert_null (fids);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The query runs again afterwards. */
  g_clear_error (&error);
  fids = dothi_query_run (query, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dothi_fid_set_get_size (fids), >, 0);
}

typedef struct {
  GCancellable *cancellable;
  gulong        delay_us;
  gint64        cancelled_at;
} Canceller;

static gpointer
cancel_later (gpointer data)
{
  Canceller *c = data;

  g_usleep (c->delay_us);
  c->cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

/* A query heavy enough for the 10k city (tens of thousands of GEOS tests
 * of parcels against their neighbours: half a second here), cancelled from
 * another thread a few milliseconds in: it stops within 200 ms. */
#define HEAVY_QUERY "touches(parcels) AND within(parcels, fid <> 0)"

static void
test_cancel_thread (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiQuery) query = dothi_query_new (city (), "parcels", HEAVY_QUERY, &error);
  g_autoptr(DothiFidSet) fids = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GThread) thread = NULL;
  Canceller canceller = { cancellable, 5000, 0 };
  gint64 t0, full_us, end;

  g_assert_no_error (error);
  t0 = g_get_monotonic_time ();
  fids = dothi_query_run (query, NULL, NULL, NULL, &error);
  full_us = g_get_monotonic_time () - t0;
  g_assert_no_error (error);
  g_test_message ("uncancelled: %.1f ms, %u parcels", full_us / 1000.0, dothi_fid_set_get_size (fids));
  /* Long enough for a cancel at 5 ms to mean something. */
  g_assert_cmpint (full_us, >, 50000);
  g_clear_pointer (&fids, dothi_fid_set_unref);

  thread = g_thread_new ("cancel", cancel_later, &canceller);
  fids = dothi_query_run (query, NULL, NULL, cancellable, &error);
  end = g_get_monotonic_time ();
  g_thread_join (g_steal_pointer (&thread));
  g_test_message ("cancelled after %.1f ms, returned %.1f ms later",
                  canceller.delay_us / 1000.0, (end - canceller.cancelled_at) / 1000.0);
  g_assert_null (fids);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (end - canceller.cancelled_at, <, 200000);
}

/* ---- the plan, progress and the async variant ---------------------------------------- */

static void
progress_cb (double      fraction,
             const char *stage,
             gpointer    user_data)
{
  guint *calls = user_data;

  g_assert_true (fraction <= 1.0);
  (*calls)++;
}

static void
test_plan (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiQuery) query = dothi_query_new (city (), "parcels",
                                                 "within_distance(water_mains, 50, duong_kinh_mm >= 300) AND muc_dich <> 'CQP'",
                                                 &error);
  g_autoptr(DothiFidSet) fids = NULL;
  const char *plan;
  guint calls = 0;

  g_assert_no_error (error);
  g_assert_true (dothi_query_is_spatial (query));
  g_assert_null (dothi_query_get_plan (query));
  fids = dothi_query_run (query, progress_cb, &calls, NULL, &error);
  g_assert_no_error (error);
  plan = dothi_query_get_plan (query);
  g_assert_nonnull (plan);
  g_test_message ("plan:\n%s", plan);
  /* Both sides named; the mains (about 270 of them) are the smaller side. */
  g_assert_nonnull (strstr (plan, "water_mains"));
  g_assert_nonnull (strstr (plan, "parcels"));
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiQuery) query = dothi_query_new (city (), "zoning", "contains(sensor_stations)", &error);
  g_autoptr(DothiFidSet) sync_fids = NULL;
  g_autoptr(DothiFidSet) async_fids = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_no_error (error);
  sync_fids = dothi_query_run (query, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dothi_query_run_async (query, NULL, NULL, NULL, run_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  async_fids = dothi_query_run_finish (query, result, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_fid_set_equal (sync_fids, async_fids));
  g_assert_cmpuint (dothi_fid_set_get_size (async_fids), >, 0);
}

int
main (int argc, char **argv)
{
  int status;

  dothi_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (oracle_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/query/oracle/%02u-%s", i + 1, oracle_cases[i].layer);

      g_test_add_data_func (name, &oracle_cases[i], test_oracle);
    }
  g_test_add_func ("/query/oracle/folded-equal", test_oracle_folded_equal);
  g_test_add_func ("/query/oracle/folded-like", test_oracle_folded_like);
  g_test_add_func ("/query/oracle/grouped", test_oracle_grouped);
  g_test_add_func ("/query/oracle/nulls", test_oracle_nulls);
  g_test_add_func ("/query/parse/good", test_parse_good);
  g_test_add_func ("/query/parse/equivalent", test_parse_equivalent);
  g_test_add_func ("/query/parse/errors", test_parse_errors);
  g_test_add_func ("/query/injection", test_injection);
  g_test_add_func ("/query/cancel/before", test_cancel_before);
  g_test_add_func ("/query/cancel/thread", test_cancel_thread);
  g_test_add_func ("/query/plan", test_plan);
  g_test_add_func ("/query/async", test_async);

  status = g_test_run ();
  dothi_test_rmdir (city_dir);
  g_free (city_dir);
  g_free (city_project);
  return status;
}
