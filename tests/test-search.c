/* test-search.c: search and identify on a small demo city project: folding,
 * parcels by sheet and number, streets by folded name, typed coordinates,
 * the features under a point, failures, and the async variants. */
#include "config.h"

#include <math.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <string.h>

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-project.h"
#include "dothi-search.h"
#include "test-util.h"

#define DEMO_PARCELS 600
#define DEMO_SEED 42
#define STREET "Nguyễn Tất Thành"

/* The project every test reads, written once; searches never write. */
static char *shared_dir;
static char *shared_project;

static const char *
demo_project (void)
{
  if (shared_project == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiProject) project = NULL;
      g_autoptr(DothiImport) import = NULL;
      g_autofree char *gpkg = NULL;

      shared_dir = dothi_test_mkdtemp ();
      gpkg = g_build_filename (shared_dir, "city.gpkg", NULL);
      dothi_demo_city_write (gpkg, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
      g_assert_no_error (error);

      shared_project = g_build_filename (shared_dir, "city.dothi", NULL);
      project = dothi_project_create (shared_project, NULL, &error);
      g_assert_no_error (error);
      import = dothi_import_new (project, gpkg);
      dothi_import_run_sync (import, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      dothi_project_checkpoint (project, &error);
      g_assert_no_error (error);
      dothi_project_close (project);
    }
  return shared_project;
}

/* A read-only SpatiaLite connection of the test's own, to read back what
 * the searches should find. */
typedef struct {
  sqlite3 *db;
  void    *cache;
} Readback;

static Readback *
readback_open (void)
{
  Readback *rb = g_new0 (Readback, 1);

  g_assert_cmpint (sqlite3_open_v2 (demo_project (), &rb->db, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  rb->cache = spatialite_alloc_connection ();
  spatialite_init_ex (rb->db, rb->cache, 0);
  return rb;
}

static void
readback_close (Readback *rb)
{
  sqlite3_close (rb->db);
  spatialite_cleanup_ex (rb->cache);
  g_free (rb);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Readback, readback_close)

static sqlite3_stmt *
readback_row (Readback *rb, const char *sql, const char *param)
{
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (rb->db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (param != NULL)
    sqlite3_bind_text (stmt, 1, param, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return stmt;
}

static GPtrArray *
search (const char *text)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *results = dothi_search_sync (demo_project (), text, 20, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (results);
  return results;
}

static int
find_value (DothiIdentifyResult *r, const char *name)
{
  for (guint i = 0; i < r->names->len; i++)
    if (g_strcmp0 (g_ptr_array_index (r->names, i), name) == 0)
      return (int) i;
  return -1;
}

/* ---- folding ----------------------------------------------------------- */

static void
assert_fold (const char *text, const char *expected)
{
  g_autofree char *folded = dothi_text_fold (text);

  g_assert_cmpstr (folded, ==, expected);
}

static void
test_fold (void)
{
  g_autofree char *a = dothi_text_fold ("Uỷ ban nhân dân");
  g_autofree char *b = dothi_text_fold ("Ủy ban nhân dân");

  /* tone placement: mark on the y (old style) or on the u */
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, ==, "uy ban nhan dan");
  assert_fold ("Nguyễn  Trãi", "nguyen trai");
  assert_fold ("  Đường\tĐinh   Tiên Hoàng \n", "duong dinh tien hoang");
  assert_fold ("đ Đ", "d d");
  /* decomposed input (combining tone marks), as CP1258 gives */
  assert_fold ("Nguye\xcc\x82\xcc\x83n Tra\xcc\x83i", "nguyen trai");
  assert_fold ("HAI BÀ TRƯNG", "hai ba trung");
  assert_fold ("  Plain   ASCII  ", "plain ascii");
  assert_fold ("AL-0001", "al-0001");
  /* no-break and zero-width spaces, an en dash kept, a letter the tables
   * leave to the full fold */
  assert_fold ("Lộ\u00a0476 \u2013 Lê\u200bDuẩn", "lo 476 \u2013 leduan");
  assert_fold ("Ðinh Ɖ ð", "dinh d d");
  assert_fold ("ΑΘΗΝΑ Đà", "αθηνα da");
  assert_fold ("Mũi Né\u00c0", "mui nea");
  assert_fold ("", "");
  assert_fold ("   ", "");
  assert_fold (NULL, "");
}

/* ---- parcels ----------------------------------------------------------- */

/* The fids of the parcels with @sheet and @parcel, in fid order: the demo
 * city numbers parcels per commune, so a pair may recur. */
static GArray *
parcel_fids (Readback *rb, gint64 sheet, gint64 parcel)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GArray *fids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_assert_cmpint (sqlite3_prepare_v2 (rb->db, "SELECT fid FROM parcels WHERE so_to = ?1 "
                                       "AND so_thua = ?2 ORDER BY fid", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, sheet);
  sqlite3_bind_int64 (stmt, 2, parcel);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (fids, fid);
    }
  return fids;
}

static void
test_parcel (void)
{
  g_autoptr(Readback) rb = readback_open ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) fids = NULL;
  gint64 fid, sheet, parcel;
  g_autofree char *address = NULL;
  g_autofree char *label = NULL;
  double bbox[4];

  stmt = readback_row (rb, "SELECT fid, so_to, so_thua, dia_chi, MbrMinX(geom), MbrMinY(geom), "
                           "MbrMaxX(geom), MbrMaxY(geom) FROM parcels ORDER BY fid LIMIT 1 OFFSET 123",
                      NULL);
  fid = sqlite3_column_int64 (stmt, 0);
  sheet = sqlite3_column_int64 (stmt, 1);
  parcel = sqlite3_column_int64 (stmt, 2);
  address = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  for (int k = 0; k < 4; k++)
    bbox[k] = sqlite3_column_double (stmt, 4 + k);
  label = g_strdup_printf ("Sheet %" G_GINT64_FORMAT ", parcel %" G_GINT64_FORMAT, sheet, parcel);
  fids = parcel_fids (rb, sheet, parcel);
  g_assert_cmpuint (fids->len, >=, 1);
  g_assert_cmpuint (fids->len, <=, 20);

  {
    const struct {
      const char *format;
      gboolean    parcel_first;
    } forms[] = {
      { "tờ %lld thửa %lld", FALSE }, { "Tờ %lld, thửa %lld", FALSE },
      { "TỜ  %lld   THỬA %lld", FALSE }, { "to %lld thua %lld", FALSE }, { "%lld/%lld", FALSE },
      { "%lld - %lld", FALSE }, { "t%lld t%lld", FALSE }, { "tờ số %lld thửa số %lld", FALSE },
      { "thửa %lld tờ %lld", TRUE }, { "thửa đất số %lld, tờ bản đồ số %lld", TRUE },
    };

    for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
      {
        g_autofree char *text = NULL;
        g_autoptr(GPtrArray) results = NULL;
        gboolean found = FALSE;

        if (forms[i].parcel_first)
          text = g_strdup_printf (forms[i].format, (long long) parcel, (long long) sheet);
        else
          text = g_strdup_printf (forms[i].format, (long long) sheet, (long long) parcel);
        results = search (text);
        g_test_message ("%s", text);
        /* every parcel with that sheet and number, in fid order, and nothing else */
        g_assert_cmpuint (results->len, ==, fids->len);
        for (guint k = 0; k < results->len; k++)
          {
            DothiSearchResult *r = g_ptr_array_index (results, k);

            g_assert_cmpint (r->kind, ==, DOTHI_SEARCH_PARCEL);
            g_assert_cmpstr (r->layer, ==, "parcels");
            g_assert_cmpstr (r->layer_title, ==, "Thửa đất");
            g_assert_cmpint (r->fid, ==, g_array_index (fids, gint64, k));
            g_assert_cmpstr (r->label, ==, label);
            if (r->fid != fid)
              continue;
            found = TRUE;
            g_assert_cmpstr (r->detail, ==, address);
            for (int c = 0; c < 4; c++)
              g_assert_cmpfloat_with_epsilon (r->bbox[c], bbox[c], 1e-6);
          }
        g_assert_true (found);
      }
  }

  /* a parcel that does not exist */
  {
    g_autoptr(GPtrArray) results = search ("tờ 98765 thửa 4321");

    for (guint i = 0; i < results->len; i++)
      g_assert_cmpint (((DothiSearchResult *) g_ptr_array_index (results, i))->kind, !=,
                       DOTHI_SEARCH_PARCEL);
  }
}

/* ---- named features ---------------------------------------------------- */

static void
test_street_folded (void)
{
  g_autoptr(Readback) rb = readback_open ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const char *queries[] = { "nguyen tat thanh", "NGUYỄN TẤT THÀNH", "  Nguyen   Tat Thanh ",
                            "nguyễn tất" };
  double bbox[4];
  gint64 n_segments;

  stmt = readback_row (rb, "SELECT MIN(MbrMinX(geom)), MIN(MbrMinY(geom)), MAX(MbrMaxX(geom)), "
                           "MAX(MbrMaxY(geom)), COUNT(*) FROM roads WHERE ten_duong = ?1", STREET);
  for (int k = 0; k < 4; k++)
    bbox[k] = sqlite3_column_double (stmt, k);
  n_segments = sqlite3_column_int64 (stmt, 4);
  /* the test means something only for a street of several segments */
  g_assert_cmpint (n_segments, >, 1);

  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      g_autoptr(GPtrArray) results = search (queries[q]);
      DothiSearchResult *r;
      guint n_street = 0;

      g_test_message ("%s", queries[q]);
      g_assert_cmpuint (results->len, >=, 1);
      r = g_ptr_array_index (results, 0);
      g_assert_cmpint (r->kind, ==, DOTHI_SEARCH_FEATURE);
      g_assert_cmpstr (r->layer, ==, "roads");
      g_assert_cmpstr (r->label, ==, STREET);
      g_assert_cmpstr (r->detail, ==, "Đường giao thông");
      g_assert_cmpint (r->fid, >, 0);
      for (int k = 0; k < 4; k++)
        g_assert_cmpfloat_with_epsilon (r->bbox[k], bbox[k], 1e-6);

      /* one result for all its segments */
      for (guint i = 0; i < results->len; i++)
        {
          DothiSearchResult *s = g_ptr_array_index (results, i);

          if (g_strcmp0 (s->layer, "roads") == 0 && g_strcmp0 (s->label, STREET) == 0)
            n_street++;
        }
      g_assert_cmpuint (n_street, ==, 1);
    }
}

static void
test_feature_code (void)
{
  g_autoptr(Readback) rb = readback_open ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *code = NULL;
  g_autofree char *query = NULL;
  gint64 fid;
  DothiSearchResult *r;

  stmt = readback_row (rb, "SELECT fid, ma_tram FROM sensor_stations ORDER BY fid LIMIT 1", NULL);
  fid = sqlite3_column_int64 (stmt, 0);
  code = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  query = g_ascii_strdown (code, -1);

  results = search (query);
  g_assert_cmpuint (results->len, >=, 1);
  r = g_ptr_array_index (results, 0);
  g_assert_cmpint (r->kind, ==, DOTHI_SEARCH_FEATURE);
  g_assert_cmpstr (r->layer, ==, "sensor_stations");
  g_assert_cmpint (r->fid, ==, fid);
  g_assert_cmpstr (r->label, ==, code);
  /* a point: its box is the point */
  g_assert_cmpfloat_with_epsilon (r->bbox[0], r->bbox[2], 1e-6);
}

static void
test_limit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = dothi_search_sync (demo_project (), "nguyen", 3, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 3);
}

/* ---- coordinates ------------------------------------------------------- */

static void
assert_coordinate (const char *text, double east, double north, double epsilon)
{
  g_autoptr(GPtrArray) results = search (text);
  DothiSearchResult *r;

  g_test_message ("%s", text);
  g_assert_cmpuint (results->len, ==, 1);
  r = g_ptr_array_index (results, 0);
  g_assert_cmpint (r->kind, ==, DOTHI_SEARCH_COORDINATE);
  g_assert_null (r->layer);
  g_assert_cmpint (r->fid, ==, -1);
  g_assert_nonnull (r->label);
  g_assert_nonnull (r->detail);
  g_assert_cmpfloat_with_epsilon ((r->bbox[0] + r->bbox[2]) / 2, east, epsilon);
  g_assert_cmpfloat_with_epsilon ((r->bbox[1] + r->bbox[3]) / 2, north, epsilon);
  g_assert_cmpfloat_with_epsilon (r->bbox[2] - r->bbox[0], 100.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (r->bbox[3] - r->bbox[1], 100.0, 1e-6);
}

static void
assert_not_coordinate (const char *text)
{
  g_autoptr(GPtrArray) results = search (text);

  g_test_message ("%s", text);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (((DothiSearchResult *) g_ptr_array_index (results, i))->kind, !=,
                     DOTHI_SEARCH_COORDINATE);
}

static void
test_coordinate_vn2000 (void)
{
  g_autoptr(GPtrArray) results = NULL;
  DothiSearchResult *r;

  assert_coordinate ("X 1403000 Y 458000", 458000, 1403000, 0.01);
  assert_coordinate ("x=1403000.25 y=458000.75", 458000.75, 1403000.25, 0.01);
  assert_coordinate ("Y 458000 X 1403000", 458000, 1403000, 0.01);
  assert_coordinate ("1403000 458000", 458000, 1403000, 0.01);
  assert_coordinate ("1403000, 458000", 458000, 1403000, 0.01);
  assert_coordinate ("1403000,458000", 458000, 1403000, 0.01);
  assert_coordinate ("1403000,5 458000,25", 458000.25, 1403000.5, 0.01);
  /* the other order, which the magnitudes make unambiguous */
  assert_coordinate ("458000 1403000", 458000, 1403000, 0.01);
  assert_coordinate ("E 458000 N 1403000", 458000, 1403000, 0.01);
  assert_coordinate ("458000E 1403000N", 458000, 1403000, 0.01);

  /* two northings, or two eastings: no way to tell */
  assert_not_coordinate ("1403000 1500000");
  assert_not_coordinate ("458000 460000");
  assert_not_coordinate ("1403000");

  /* the detail shows the survey form and WGS 84 */
  results = search ("X 1403000 Y 458000");
  r = g_ptr_array_index (results, 0);
  g_assert_nonnull (strstr (r->label, "1403000.00"));
  g_assert_nonnull (strstr (r->detail, "1403000.00"));
  g_assert_nonnull (strstr (r->detail, "458000.00"));
  g_assert_nonnull (strstr (r->detail, "° N"));
  g_assert_nonnull (strstr (r->detail, "° E"));
}

/* WGS 84 latitude and longitude of a project-CRS point, or the reverse. */
static void
wgs84_of (double east, double north, double *lat, double *lon)
{
  g_autoptr(PJ_CONTEXT) ctx = proj_context_create ();
  g_autoptr(PJ) raw = proj_create_crs_to_crs (ctx, "EPSG:9218", "EPSG:4326", NULL);
  g_autoptr(PJ) pj = NULL;
  PJ_COORD c;

  g_assert_nonnull (raw);
  pj = proj_normalize_for_visualization (ctx, raw);
  g_assert_nonnull (pj);
  c = proj_trans (pj, PJ_FWD, proj_coord (east, north, 0, 0));
  *lon = c.lp.lam;
  *lat = c.lp.phi;
}

static void
project_of (double lat, double lon, double *east, double *north)
{
  g_autoptr(PJ_CONTEXT) ctx = proj_context_create ();
  g_autoptr(PJ) raw = proj_create_crs_to_crs (ctx, "EPSG:4326", "EPSG:9218", NULL);
  g_autoptr(PJ) pj = NULL;
  PJ_COORD c;

  g_assert_nonnull (raw);
  pj = proj_normalize_for_visualization (ctx, raw);
  g_assert_nonnull (pj);
  c = proj_trans (pj, PJ_FWD, proj_coord (lon, lat, 0, 0));
  *east = c.xy.x;
  *north = c.xy.y;
}

static void
test_coordinate_wgs84 (void)
{
  char lat_text[G_ASCII_DTOSTR_BUF_SIZE], lon_text[G_ASCII_DTOSTR_BUF_SIZE];
  double lat, lon, east, north;

  /* a known point round-trips through latitude and longitude */
  wgs84_of (458000, 1403000, &lat, &lon);
  g_ascii_formatd (lat_text, sizeof lat_text, "%.10f", lat);
  g_ascii_formatd (lon_text, sizeof lon_text, "%.10f", lon);
  {
    g_autofree char *plain = g_strdup_printf ("%s, %s", lat_text, lon_text);
    g_autofree char *suffix = g_strdup_printf ("%sN %sE", lat_text, lon_text);
    g_autofree char *prefix = g_strdup_printf ("lat %s lon %s", lat_text, lon_text);
    g_autofree char *swapped = g_strdup_printf ("%s %s", lon_text, lat_text);

    assert_coordinate (plain, 458000, 1403000, 0.01);
    assert_coordinate (suffix, 458000, 1403000, 0.01);
    assert_coordinate (prefix, 458000, 1403000, 0.01);
    assert_coordinate (swapped, 458000, 1403000, 0.01);
  }

  /* 12°40'48" N, 108°03'00" E is 12.68, 108.05 */
  project_of (12.68, 108.05, &east, &north);
  g_assert_cmpfloat (north, >, 1.3e6);
  g_assert_cmpfloat (east, >, 4.0e5);
  assert_coordinate ("12.68, 108.05", east, north, 0.01);
  assert_coordinate ("12,68 108,05", east, north, 0.01);
  assert_coordinate ("12.68N 108.05E", east, north, 0.01);
  assert_coordinate ("N 12.68 E 108.05", east, north, 0.01);
  assert_coordinate ("12°40'48\"N 108°03'00\"E", east, north, 0.01);
  assert_coordinate ("12°40′48″ N, 108°3′0″ E", east, north, 0.01);
  assert_coordinate ("12°40.8'N 108°3'E", east, north, 0.01);
  assert_coordinate ("vĩ độ 12.68 kinh độ 108.05", east, north, 0.01);

  /* latitude out of range, and a minute of 61 */
  assert_not_coordinate ("95.5, 200.5");
  assert_not_coordinate ("12°61'N 108°03'E");
}

/* ---- nothing, and errors ----------------------------------------------- */

static void
test_none (void)
{
  const char *texts[] = { "zzqqxxww", "", "   ", "qz", "x" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GPtrArray) results = search (texts[i]);

      g_test_message ("“%s”", texts[i]);
      g_assert_cmpuint (results->len, ==, 0);
    }
}

static void
test_missing_file (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "nowhere.dothi", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) found = NULL;

  results = dothi_search_sync (path, "nguyen", 10, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  found = dothi_identify_sync (path, NULL, 458000, 1403000, 1.0, NULL, &error);
  g_assert_null (found);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
  /* nothing was created in its place */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  dothi_test_rmdir (dir);
}

static void
test_not_a_project (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "notes.dothi", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;

  g_assert_true (g_file_set_contents (path, "Tờ 12 thửa 345, not a database\n", -1, NULL));
  results = dothi_search_sync (path, "nguyen", 10, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, path));
  dothi_test_rmdir (dir);
}

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guint8 *) contents, len);
}

static void
test_read_only (void)
{
  g_autofree char *before = file_checksum (demo_project ());
  g_autofree char *after = NULL;
  g_autoptr(GPtrArray) a = search ("nguyen tat thanh");
  g_autoptr(GPtrArray) b = search ("tờ 1 thửa 1");
  g_autoptr(GPtrArray) c = dothi_identify_sync (demo_project (), NULL, 458000, 1403000, 5.0,
                                                NULL, NULL);

  g_assert_nonnull (c);
  after = file_checksum (demo_project ());
  g_assert_cmpstr (before, ==, after);
}

/* ---- identify ---------------------------------------------------------- */

static void
test_identify_parcel (void)
{
  g_autoptr(Readback) rb = readback_open ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) all = NULL;
  const char *layers[] = { "parcels", NULL };
  g_autofree char *sheet = NULL;
  g_autofree char *owner = NULL;
  double x, y, area, bbox[4];
  gint64 fid;
  DothiIdentifyResult *r;
  int i_area;
  int last_z = G_MAXINT;

  stmt = readback_row (rb, "SELECT fid, so_to, ten_chu, dien_tich, ST_X(ST_PointOnSurface(geom)), "
                           "ST_Y(ST_PointOnSurface(geom)), MbrMinX(geom), MbrMinY(geom), "
                           "MbrMaxX(geom), MbrMaxY(geom) FROM parcels ORDER BY fid LIMIT 1 OFFSET 77",
                      NULL);
  fid = sqlite3_column_int64 (stmt, 0);
  sheet = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  owner = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  area = sqlite3_column_double (stmt, 3);
  x = sqlite3_column_double (stmt, 4);
  y = sqlite3_column_double (stmt, 5);
  for (int k = 0; k < 4; k++)
    bbox[k] = sqlite3_column_double (stmt, 6 + k);

  results = dothi_identify_sync (demo_project (), layers, x, y, 0.5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, >=, 1);
  r = g_ptr_array_index (results, 0);
  g_assert_cmpstr (r->layer, ==, "parcels");
  g_assert_cmpstr (r->layer_title, ==, "Thửa đất");
  g_assert_cmpint (r->fid, ==, fid);
  g_assert_cmpuint (r->names->len, ==, r->values->len);
  g_assert_cmpint (find_value (r, "fid"), ==, -1);
  g_assert_cmpint (find_value (r, "geom"), ==, -1);
  g_assert_cmpint (find_value (r, "so_to"), ==, 0);
  g_assert_cmpstr (g_ptr_array_index (r->values, 0), ==, sheet);
  g_assert_cmpstr (g_ptr_array_index (r->values, find_value (r, "ten_chu")), ==, owner);
  i_area = find_value (r, "dien_tich");
  g_assert_cmpint (i_area, >=, 0);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (g_ptr_array_index (r->values, i_area), NULL),
                                  area, 0.005 + 1e-9);
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat_with_epsilon (r->bbox[k], bbox[k], 1e-6);

  /* every visible layer: topmost first, the parcel still the first parcel */
  all = dothi_identify_sync (demo_project (), NULL, x, y, 0.5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, >=, 2);
  {
    const char *order[] = { "sensor_stations", "power_lines", "water_valves", "water_mains",
                            "roads", "zoning", "parcels" };
    gboolean seen_parcel = FALSE, seen_zoning = FALSE;

    for (guint i = 0; i < all->len; i++)
      {
        DothiIdentifyResult *s = g_ptr_array_index (all, i);
        int z = -1;

        for (guint k = 0; k < G_N_ELEMENTS (order); k++)
          if (g_strcmp0 (s->layer, order[k]) == 0)
            z = (int) (G_N_ELEMENTS (order) - k);
        g_assert_cmpint (z, >, 0);
        g_assert_cmpint (z, <=, last_z);
        last_z = z;
        if (g_strcmp0 (s->layer, "zoning") == 0)
          seen_zoning = TRUE;
        if (g_strcmp0 (s->layer, "parcels") == 0 && !seen_parcel)
          {
            seen_parcel = TRUE;
            g_assert_cmpint (s->fid, ==, fid);
          }
      }
    g_assert_true (seen_parcel);
    /* parcels lie inside their zoning block, which is drawn above them */
    g_assert_true (seen_zoning);
  }
}

static void
test_identify_miss (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) none = NULL;
  const char *unknown[] = { "no_such_layer", NULL };

  results = dothi_identify_sync (demo_project (), NULL, 100000, 100000, 10.0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 0);

  none = dothi_identify_sync (demo_project (), unknown, 458000, 1403000, 1.0, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no_such_layer"));
}

static void
test_identify_line (void)
{
  g_autoptr(Readback) rb = readback_open ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) near = NULL;
  g_autoptr(GPtrArray) far = NULL;
  const char *layers[] = { "roads", NULL };
  double x, y;
  gint64 fid;
  gboolean found = FALSE;

  /* 3 m beside the first vertex of a road, across its direction */
  stmt = readback_row (rb, "SELECT fid, ST_X(ST_StartPoint(ST_GeometryN(geom, 1))), "
                           "ST_Y(ST_StartPoint(ST_GeometryN(geom, 1))) FROM roads "
                           "ORDER BY fid LIMIT 1", NULL);
  fid = sqlite3_column_int64 (stmt, 0);
  x = sqlite3_column_double (stmt, 1);
  y = sqlite3_column_double (stmt, 2);

  near = dothi_identify_sync (demo_project (), layers, x + 0.6, y + 0.8, 1.5, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < near->len; i++)
    found |= ((DothiIdentifyResult *) g_ptr_array_index (near, i))->fid == fid;
  g_assert_true (found);
  g_assert_cmpuint (near->len, <=, 20);

  far = dothi_identify_sync (demo_project (), layers, x + 600, y + 800, 1.5, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < far->len; i++)
    g_assert_cmpint (((DothiIdentifyResult *) g_ptr_array_index (far, i))->fid, !=, fid);
}

/* ---- text columns and a layer in another zone --------------------------- */

typedef struct {
  char *dir;
  char *path;
  char *parcels;    /* table names the import chose */
  char *stations;
  double square[4]; /* the station's square in the project CRS */
} SmallProject;

static void
small_project_free (SmallProject *sp)
{
  dothi_test_rmdir (sp->dir);
  g_free (sp->dir);
  g_free (sp->path);
  g_free (sp->parcels);
  g_free (sp->stations);
  g_free (sp);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmallProject, small_project_free)

static char *
import_one (DothiProject *project, const char *source)
{
  g_autoptr(DothiImport) import = dothi_import_new (project, source);
  g_autoptr(GError) error = NULL;
  GPtrArray *reports;

  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  reports = dothi_import_get_reports (import);
  g_assert_cmpuint (reports->len, ==, 1);
  return g_strdup (((DothiImportReport *) g_ptr_array_index (reports, 0))->table);
}

static char *
geojson_square (double x0, double y0, double x1, double y1)
{
  char v[4][G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (v[0], sizeof v[0], "%.3f", x0);
  g_ascii_formatd (v[1], sizeof v[1], "%.3f", y0);
  g_ascii_formatd (v[2], sizeof v[2], "%.3f", x1);
  g_ascii_formatd (v[3], sizeof v[3], "%.3f", y1);
  return g_strdup_printf ("{\"type\":\"Polygon\",\"coordinates\":[[[%s,%s],[%s,%s],[%s,%s],"
                          "[%s,%s],[%s,%s]]]}", v[0], v[1], v[2], v[1], v[2], v[3], v[0], v[3],
                          v[0], v[1]);
}

/* Parcels whose sheet and parcel numbers are text ("012"), named with both
 * tone placements, and a pumping station in VN-2000 TM-3 107°45'
 * (EPSG:5899), a zone the import keeps. */
static SmallProject *
small_project (void)
{
  SmallProject *sp = g_new0 (SmallProject, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *parcels = NULL;
  g_autofree char *stations = NULL;
  g_autofree char *a = geojson_square (500000, 1400000, 500020, 1400030);
  g_autofree char *b = geojson_square (500020, 1400000, 500040, 1400030);
  g_autofree char *c = NULL;
  g_autofree char *json = NULL;
  g_autoptr(PJ_CONTEXT) ctx = proj_context_create ();
  g_autoptr(PJ) raw = proj_create_crs_to_crs (ctx, "EPSG:9218", "EPSG:5899", NULL);
  g_autoptr(PJ) pj = proj_normalize_for_visualization (ctx, raw);
  double out[4];

  sp->dir = dothi_test_mkdtemp ();
  sp->path = g_build_filename (sp->dir, "small.dothi", NULL);
  project = dothi_project_create (sp->path, "EPSG:9218", &error);
  g_assert_no_error (error);

  parcels = g_build_filename (sp->dir, "thua_dat_xa.geojson", NULL);
  json = g_strdup_printf ("{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":"
                          "{\"name\":\"urn:ogc:def:crs:EPSG::9218\"}},\"features\":["
                          "{\"type\":\"Feature\",\"properties\":{\"so_to\":\"012\",\"so_thua\":\"0345\","
                          "\"dia_chi\":\"Thôn 3, xã Hòa Phú\",\"ten\":\"Nhà văn hóa Uỷ ban thôn\"},"
                          "\"geometry\":%s},"
                          "{\"type\":\"Feature\",\"properties\":{\"so_to\":\"12\",\"so_thua\":\"346\","
                          "\"dia_chi\":null,\"ten\":\"Trụ sở Ủy ban xã\"},\"geometry\":%s}]}", a, b);
  g_assert_true (g_file_set_contents (parcels, json, -1, NULL));
  sp->parcels = import_one (project, parcels);

  /* a 30 m square near the parcels, in the other zone */
  sp->square[0] = 500100;
  sp->square[1] = 1400100;
  sp->square[2] = 500130;
  sp->square[3] = 1400130;
  g_assert_nonnull (pj);
  g_assert_true (proj_trans_bounds (ctx, pj, PJ_FWD, sp->square[0], sp->square[1], sp->square[2],
                                    sp->square[3], &out[0], &out[1], &out[2], &out[3], 21));
  c = geojson_square (out[0], out[1], out[2], out[3]);
  g_clear_pointer (&json, g_free);
  stations = g_build_filename (sp->dir, "tram_bom.geojson", NULL);
  json = g_strdup_printf ("{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":"
                          "{\"name\":\"urn:ogc:def:crs:EPSG::5899\"}},\"features\":["
                          "{\"type\":\"Feature\",\"properties\":{\"ten_tram\":\"Trạm bơm Ea Tam\"},"
                          "\"geometry\":%s}]}", c);
  g_assert_true (g_file_set_contents (stations, json, -1, NULL));
  sp->stations = import_one (project, stations);
  dothi_project_close (project);
  return sp;
}

static void
test_parcel_text (void)
{
  g_autoptr(SmallProject) sp = small_project ();
  g_autoptr(GError) error = NULL;
  const char *texts[] = { "tờ 12 thửa 345", "012/0345", "to 0012 thua 345" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GPtrArray) results = dothi_search_sync (sp->path, texts[i], 10, NULL, &error);
      DothiSearchResult *r;

      g_test_message ("%s", texts[i]);
      g_assert_no_error (error);
      g_assert_cmpuint (results->len, ==, 1);
      r = g_ptr_array_index (results, 0);
      g_assert_cmpint (r->kind, ==, DOTHI_SEARCH_PARCEL);
      g_assert_cmpstr (r->layer, ==, sp->parcels);
      /* the numbers as the register writes them */
      g_assert_cmpstr (r->label, ==, "Sheet 012, parcel 0345");
      g_assert_cmpstr (r->detail, ==, "Thôn 3, xã Hòa Phú");
      g_assert_cmpfloat_with_epsilon (r->bbox[0], 500000, 1e-6);
      g_assert_cmpfloat_with_epsilon (r->bbox[3], 1400030, 1e-6);
    }

  /* no address: the layer title */
  {
    g_autoptr(GPtrArray) results = dothi_search_sync (sp->path, "12/346", 10, NULL, &error);
    DothiSearchResult *r;

    g_assert_no_error (error);
    g_assert_cmpuint (results->len, ==, 1);
    r = g_ptr_array_index (results, 0);
    g_assert_cmpstr (r->detail, ==, r->layer_title);
  }
}

static void
test_tone_placement (void)
{
  g_autoptr(SmallProject) sp = small_project ();
  const char *texts[] = { "ủy ban", "uỷ ban", "UY BAN" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) results = dothi_search_sync (sp->path, texts[i], 10, NULL, &error);

      g_test_message ("%s", texts[i]);
      g_assert_no_error (error);
      /* both spellings, whichever was typed; polygons are not merged */
      g_assert_cmpuint (results->len, ==, 2);
      g_assert_cmpstr (((DothiSearchResult *) g_ptr_array_index (results, 0))->label, ==,
                       "Nhà văn hóa Uỷ ban thôn");
      g_assert_cmpstr (((DothiSearchResult *) g_ptr_array_index (results, 1))->label, ==,
                       "Trụ sở Ủy ban xã");
    }
}

static void
test_other_zone (void)
{
  g_autoptr(SmallProject) sp = small_project ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GPtrArray) missed = NULL;
  g_autoptr(GPtrArray) results = NULL;
  const char *layers[] = { sp->stations, NULL };
  DothiIdentifyResult *r;
  DothiSearchResult *s;

  /* the layer kept its zone */
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open_v2 (sp->path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT srid FROM geometry_columns WHERE "
                                         "f_table_name = ?1", -1, &stmt, NULL), ==, SQLITE_OK);
    sqlite3_bind_text (stmt, 1, sp->stations, -1, SQLITE_TRANSIENT);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 5899);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }

  /* the centre of the square, given in the project CRS */
  found = dothi_identify_sync (sp->path, layers, 500115, 1400115, 0.5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  r = g_ptr_array_index (found, 0);
  g_assert_cmpstr (r->layer, ==, sp->stations);
  g_assert_cmpstr (g_ptr_array_index (r->values, find_value (r, "ten_tram")), ==,
                   "Trạm bơm Ea Tam");
  /* its extent back in the project CRS (a little larger: the square's
   * box in the other zone is turned by the meridian convergence) */
  g_assert_cmpfloat (fabs (r->bbox[0] - sp->square[0]), <, 1.0);
  g_assert_cmpfloat (fabs (r->bbox[1] - sp->square[1]), <, 1.0);
  g_assert_cmpfloat (fabs (r->bbox[2] - sp->square[2]), <, 1.0);
  g_assert_cmpfloat (fabs (r->bbox[3] - sp->square[3]), <, 1.0);

  missed = dothi_identify_sync (sp->path, layers, 500100 - 20, 1400115, 5.0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (missed->len, ==, 0);

  /* a name field "ten_tram", found by name with a box in the project CRS */
  results = dothi_search_sync (sp->path, "tram bom", 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  s = g_ptr_array_index (results, 0);
  g_assert_cmpstr (s->label, ==, "Trạm bơm Ea Tam");
  g_assert_cmpfloat (fabs (s->bbox[0] - sp->square[0]), <, 1.0);
  g_assert_cmpfloat (fabs (s->bbox[3] - sp->square[3]), <, 1.0);
}

/* ---- async ------------------------------------------------------------- */

typedef struct {
  GPtrArray *results;
  GError    *error;
  gboolean   done;
} AsyncData;

static void
search_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncData *data = user_data;

  data->results = dothi_search_finish (result, &data->error);
  data->done = TRUE;
}

static void
identify_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncData *data = user_data;

  data->results = dothi_identify_finish (result, &data->error);
  data->done = TRUE;
}

static void
test_async (void)
{
  AsyncData data = { 0 };
  g_autofree char *text = g_strdup ("nguyen tat thanh");
  const char *layers[] = { "parcels", NULL };
  char *layer = g_strdup ("parcels");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  /* the inputs are copied: changing them after the call changes nothing */
  dothi_search_async (demo_project (), text, 5, NULL, search_done_cb, &data);
  text[0] = 'x';
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (data.error);
  g_assert_cmpuint (data.results->len, >=, 1);
  g_assert_cmpstr (((DothiSearchResult *) g_ptr_array_index (data.results, 0))->label, ==, STREET);
  g_clear_pointer (&data.results, g_ptr_array_unref);

  /* identify far away, then a cancelled search */
  data.done = FALSE;
  layers[0] = layer;
  dothi_identify_async (demo_project (), layers, 0, 0, 1.0, NULL, identify_done_cb, &data);
  g_free (layer);
  layers[0] = NULL;
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (data.error);
  g_assert_cmpuint (data.results->len, ==, 0);
  g_clear_pointer (&data.results, g_ptr_array_unref);

  data.done = FALSE;
  g_cancellable_cancel (cancellable);
  dothi_search_async (demo_project (), "nguyen", 5, cancellable, search_done_cb, &data);
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (data.results);
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&data.error);
}

int
main (int argc, char **argv)
{
  int status;

  dothi_test_init (&argc, &argv);

  g_test_add_func ("/search/fold", test_fold);
  g_test_add_func ("/search/parcel", test_parcel);
  g_test_add_func ("/search/street/folded", test_street_folded);
  g_test_add_func ("/search/feature/code", test_feature_code);
  g_test_add_func ("/search/limit", test_limit);
  g_test_add_func ("/search/coordinate/vn2000", test_coordinate_vn2000);
  g_test_add_func ("/search/coordinate/wgs84", test_coordinate_wgs84);
  g_test_add_func ("/search/none", test_none);
  g_test_add_func ("/search/missing-file", test_missing_file);
  g_test_add_func ("/search/not-a-project", test_not_a_project);
  g_test_add_func ("/search/read-only", test_read_only);
  g_test_add_func ("/search/parcel/text", test_parcel_text);
  g_test_add_func ("/search/feature/tone-placement", test_tone_placement);
  g_test_add_func ("/identify/parcel", test_identify_parcel);
  g_test_add_func ("/identify/other-zone", test_other_zone);
  g_test_add_func ("/identify/line", test_identify_line);
  g_test_add_func ("/identify/miss", test_identify_miss);
  g_test_add_func ("/search/async", test_async);

  status = g_test_run ();
  dothi_test_rmdir (shared_dir);
  g_free (shared_dir);
  g_free (shared_project);
  return status;
}
