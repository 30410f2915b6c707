/* test-project.c: the .dothi project file: creation, opening, versions and
 * migration, pragmas, the SpatiaLite store (layers, registry, rollback,
 * reserved names), the audit trail as other programs see it, checksums, and
 * the VN-2000 zone table against PROJ. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-project.h"
#include "dothi-spatialite-store.h"
#include "dothi-store.h"
#include "test-util.h"
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <spatialite.h>
#include <sqlite3.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "buon-ma-thuot.dothi", NULL);
  f->project = dothi_project_create (f->path, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->project);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->project);
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static sqlite3 *
project_db (DothiProject *project)
{
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (project)));
}

/* A second connection as another program has it: plain SQLite, without
 * SpatiaLite unless @spatialite. */
typedef struct {
  sqlite3 *db;
  void    *cache;
} Conn;

static Conn *
conn_open (const char *path, gboolean spatialite)
{
  Conn *c = g_new0 (Conn, 1);

  g_assert_cmpint (sqlite3_open_v2 (path, &c->db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (c->db, 5000);
  if (spatialite)
    {
      c->cache = spatialite_alloc_connection ();
      spatialite_init_ex (c->db, c->cache, 0);
    }
  return c;
}

static void
conn_close (Conn *c)
{
  g_assert_cmpint (sqlite3_close (c->db), ==, SQLITE_OK);
  if (c->cache != NULL)
    spatialite_cleanup_ex (c->cache);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Conn, conn_close)

static void
db_exec (sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);

  if (rc != SQLITE_OK)
    g_test_message ("%s: %s", sql, msg);
  sqlite3_free (msg);
  g_assert_cmpint (rc, ==, SQLITE_OK);
}

static gint64
db_int (sqlite3 *db, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_nonnull (stmt);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static char *
db_text (sqlite3 *db, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_nonnull (stmt);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return NULL;
  g_assert_cmpint (rc, ==, SQLITE_ROW);
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

static GBytes *
db_blob (sqlite3 *db, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  if (sqlite3_column_type (stmt, 0) == SQLITE_NULL)
    return NULL;
  g_assert_cmpint (sqlite3_column_type (stmt, 0), ==, SQLITE_BLOB);
  return g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
}

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guint8 *) contents, len);
}

static GBytes *
wkb_from_wkt (const char *wkt)
{
  g_auto(OGRGeometryH) geom = NULL;
  char *text = (char *) wkt;
  guint8 *buf;
  int size;

  g_assert_cmpint (OGR_G_CreateFromWkt (&text, NULL, &geom), ==, OGRERR_NONE);
  size = OGR_G_WkbSize (geom);
  buf = g_malloc (size);
  g_assert_cmpint (OGR_G_ExportToIsoWkb (geom, wkbNDR, buf), ==, OGRERR_NONE);
  return g_bytes_new_take (buf, size);
}

static JsonObject *
parse_json_object (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (text);
  node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* ---- a small parcel layer, written through the DothiStore API ---------- */

#define PARCELS_TITLE "Thửa đất phường Tân Lập"
#define PARCELS_ACTION "Nhập thửa đất"

static const struct {
  const char *so_to;
  gint64      so_thua;
  double      dien_tich;
  const char *chu;   /* NULL for NULL */
  const char *wkt;
} parcels[] = {
  { "5", 10, 973.8, "Uỷ ban nhân dân Phường Tân Lập",
    "MULTIPOLYGON (((458289.01 1403384.29,458314.2 1403390.81,458303.439 1403423.662,"
    "458275.795 1403416.405,458289.01 1403384.29)))" },
  { "5", 16, 261.4, NULL,
    "MULTIPOLYGON (((458143.441 1403343.413,458146.44 1403337.06,458144.32 1403335.44,"
    "458120.0 1403327.64,458116.801 1403327.71,458113.028 1403334.934,458143.441 1403343.413)))" },
  { "05", 17, 615.9, "Nguyễn Thị Ánh",
    "MULTIPOLYGON (((457970.55 1403122.2,457990 1403122.2,457990 1403140,457970.55 1403140,"
    "457970.55 1403122.2),(457975 1403125,457975 1403130,457980 1403130,457980 1403125,457975 1403125)),"
    "((458360 1403460,458371.61 1403460,458371.61 1403475.65,458360 1403460)))" },
};

static DothiLayerInfo *
parcels_info (const char *name)
{
  DothiLayerInfo *info = dothi_layer_info_new ();

  info->name = g_strdup (name);
  info->title = g_strdup (PARCELS_TITLE);
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->srid = 9218;
  info->source = g_strdup ("/tmp/Thua_Dat.gml");
  info->driver = g_strdup ("GML");
  dothi_layer_info_add_field (info, "so_to", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "dien_tich", DOTHI_FIELD_REAL);
  dothi_layer_info_add_field (info, "chu", DOTHI_FIELD_TEXT);
  return info;
}

static void
insert_parcels (DothiStore *store, const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (parcels); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) wkb = wkb_from_wkt (parcels[i].wkt);
      DothiValue values[4] = { 0 };
      gsize len;
      const guint8 *data = g_bytes_get_data (wkb, &len);

      values[0].v.s = parcels[i].so_to;
      values[1].v.i = parcels[i].so_thua;
      values[2].v.d = parcels[i].dien_tich;
      values[3].is_null = parcels[i].chu == NULL;
      values[3].v.s = parcels[i].chu;
      g_assert_true (dothi_store_insert_feature (store, name, values, data, len, &error));
      g_assert_no_error (error);
    }
}

/* Writes the layer @name in one action, as an import does. */
static void
create_parcels (DothiProject *project, const char *name)
{
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(DothiLayerInfo) info = parcels_info (name);
  g_autoptr(GError) error = NULL;

  g_assert_true (dothi_store_begin (store, PARCELS_ACTION, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  insert_parcels (store, name);
  g_assert_true (dothi_store_finish_layer (store, name, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

/* An attribute-only layer (no SpatiaLite triggers on it). */
static void
create_register (DothiProject *project)
{
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GError) error = NULL;
  DothiValue values[2] = { 0 };

  info->name = g_strdup ("so_muc_ke");
  info->title = g_strdup ("Sổ mục kê");
  info->kind = DOTHI_GEOMETRY_KIND_NONE;
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "ghi_chu", DOTHI_FIELD_TEXT);

  g_assert_true (dothi_store_begin (store, "Nhập sổ mục kê", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  values[0].v.i = 10;
  values[1].v.s = "Đất ở đô thị";
  g_assert_true (dothi_store_insert_feature (store, "so_muc_ke", values, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_finish_layer (store, "so_muc_ke", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

/* ---- create ------------------------------------------------------------ */

static void
test_create_default (Fixture *f, gconstpointer data)
{
  sqlite3 *db = project_db (f->project);
  g_autofree char *version = NULL;
  g_autofree char *uuid = NULL;
  g_autofree char *crs = NULL;
  g_autofree char *srtext = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (dothi_project_get_srid (f->project), ==, 9218);
  g_assert_cmpstr (dothi_project_get_crs (f->project), ==, "EPSG:9218");
  g_assert_cmpstr (dothi_project_get_path (f->project), ==, f->path);
  g_assert_cmpint (dothi_project_get_schema_version (f->project), ==, DOTHI_PROJECT_SCHEMA_VERSION);
  g_assert_cmpint (DOTHI_PROJECT_SCHEMA_VERSION, ==, 1);
  g_assert_false (dothi_project_get_read_only (f->project));
  g_assert_true (g_uuid_string_is_valid (dothi_project_get_uuid (f->project)));
  g_assert_true (DOTHI_IS_SPATIALITE_STORE (dothi_project_get_store (f->project)));

  version = db_text (db, "SELECT value FROM dothi_meta WHERE key = 'schema_version'");
  g_assert_cmpstr (version, ==, "1");
  uuid = db_text (db, "SELECT value FROM dothi_meta WHERE key = 'uuid'");
  g_assert_cmpstr (uuid, ==, dothi_project_get_uuid (f->project));
  crs = db_text (db, "SELECT value FROM dothi_meta WHERE key = 'crs'");
  g_assert_cmpstr (crs, ==, "EPSG:9218");

  /* A SpatiaLite 5 file with the project CRS ready for QGIS. */
  g_assert_cmpint (db_int (db, "SELECT CheckSpatialMetaData()"), ==, 3);
  srtext = db_text (db, "SELECT srtext FROM spatial_ref_sys WHERE srid = 9218");
  assert_contains (srtext, "VN-2000");
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM spatial_ref_sys WHERE srid = 4326"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_context"), ==, 0);

  layers = dothi_project_list_layers (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 0);
}

static void
test_create_province (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "bao-loc.dothi", NULL);
  g_autofree char *path2 = g_build_filename (dir, "da-lat.dothi", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiProject) project2 = NULL;
  g_autofree char *crs = NULL;

  project = dothi_project_create (path, "Lâm Đồng", &error);
  g_assert_no_error (error);
  g_assert_cmpint (dothi_project_get_srid (project), ==, 5899);
  g_assert_cmpstr (dothi_project_get_crs (project), ==, "EPSG:5899");
  crs = db_text (project_db (project), "SELECT value FROM dothi_meta WHERE key = 'crs'");
  g_assert_cmpstr (crs, ==, "EPSG:5899");
  g_assert_cmpint (db_int (project_db (project), "SELECT count(*) FROM spatial_ref_sys WHERE srid = 5899"),
                   ==, 1);
  g_clear_object (&project);

  /* The CRS survives a reopen. */
  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dothi_project_get_srid (project), ==, 5899);

  project2 = dothi_project_create (path2, "lam dong", &error);
  g_assert_no_error (error);
  g_assert_cmpint (dothi_project_get_srid (project2), ==, 5899);

  g_clear_object (&project);
  g_clear_object (&project2);
  dothi_test_rmdir (dir);
}

static void
test_create_bad_crs (void)
{
  const char *bad[] = { "EPSG:999999", "Hà Lội", "VN-2000", "EPSG:", NULL };
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "x.dothi", NULL);

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiProject) project = dothi_project_create (path, bad[i], &error);

      g_assert_null (project);
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiProject) project = dothi_project_create (path, "Hà Lội", &error);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
    assert_contains (error->message, "Hà Lội");
  }
  dothi_test_rmdir (dir);
}

static void
test_create_exists (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) again = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *other = g_build_filename (f->dir, "notes.txt", NULL);
  g_autofree char *uuid = g_strdup (dothi_project_get_uuid (f->project));

  g_clear_object (&f->project);
  before = file_checksum (f->path);
  again = dothi_project_create (f->path, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  assert_contains (error->message, f->path);
  after = file_checksum (f->path);
  g_assert_cmpstr (before, ==, after);

  /* The project is still the same one. */
  reopen (f);
  g_assert_cmpstr (dothi_project_get_uuid (f->project), ==, uuid);

  /* Any existing file, not only a project, is refused. */
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (other, "ghi chú\n", -1, NULL));
  again = dothi_project_create (other, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  assert_contains (error->message, other);
  {
    g_autofree char *contents = NULL;
    g_assert_true (g_file_get_contents (other, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, "ghi chú\n");
  }
}

/* ---- open -------------------------------------------------------------- */

static void
test_open_keeps_uuid (Fixture *f, gconstpointer data)
{
  g_autofree char *uuid = g_strdup (dothi_project_get_uuid (f->project));

  reopen (f);
  g_assert_cmpstr (dothi_project_get_uuid (f->project), ==, uuid);
  g_assert_cmpint (dothi_project_get_srid (f->project), ==, 9218);
  g_assert_cmpstr (dothi_project_get_crs (f->project), ==, "EPSG:9218");
  g_assert_cmpint (dothi_project_get_schema_version (f->project), ==, 1);
  reopen (f);
  g_assert_cmpstr (dothi_project_get_uuid (f->project), ==, uuid);
}

static void
assert_pragmas (DothiProject *project)
{
  sqlite3 *db = project_db (project);
  g_autofree char *mode = db_text (db, "PRAGMA journal_mode");

  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (db_int (db, "PRAGMA auto_vacuum"), ==, 2);
  g_assert_cmpint (db_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (db_int (db, "PRAGMA synchronous"), ==, 2);   /* FULL */
}

static void
test_open_pragmas (Fixture *f, gconstpointer data)
{
  assert_pragmas (f->project);
  reopen (f);
  assert_pragmas (f->project);

  /* WAL is recorded in the file itself (header bytes 18 and 19), so QGIS
   * and the sqlite3 shell use it too. */
  g_clear_object (&f->project);
  {
    g_autoptr(Conn) c = conn_open (f->path, FALSE);
    g_autofree char *mode = db_text (c->db, "PRAGMA journal_mode");
    g_assert_cmpstr (mode, ==, "wal");
    g_assert_cmpint (db_int (c->db, "PRAGMA auto_vacuum"), ==, 2);
  }
}

static void
test_open_missing (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "không-có.dothi", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;

  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_null (project);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, path);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  g_clear_error (&error);
  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* A directory is not a project either. */
  g_clear_error (&error);
  project = dothi_project_open (dir, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_null (project);
  g_assert_nonnull (error);
  g_assert_true (error->domain == DOTHI_ERROR);
  assert_contains (error->message, dir);
  dothi_test_rmdir (dir);
}

static void
assert_open_invalid (const char *path)
{
  g_autofree char *before = file_checksum (path);
  g_autofree char *after = NULL;
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;

  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_null (project);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, path);

  /* Refusing a file does not change it (no WAL switch, no tables). */
  after = file_checksum (path);
  g_assert_cmpstr (before, ==, after);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
}

static void
test_open_plain_sqlite (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "so-lieu.sqlite", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  db_exec (db, "CREATE TABLE chu_su_dung (ten TEXT); INSERT INTO chu_su_dung VALUES ('Lê Văn Tám')");
  sqlite3_close (db);

  assert_open_invalid (path);
  dothi_test_rmdir (dir);
}

static void
test_open_text_file (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "ghi-chu.dothi", NULL);

  g_assert_true (g_file_set_contents (path, "Đây không phải là dự án.\n", -1, NULL));
  assert_open_invalid (path);
  dothi_test_rmdir (dir);
}

static void
set_schema_version (const char *path, const char *version)
{
  g_autoptr(Conn) c = conn_open (path, FALSE);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (c->db, "UPDATE dothi_meta SET value = ?1 WHERE key = 'schema_version'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, version, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (c->db), ==, 1);
}

static char *
meta_schema_version (const char *path)
{
  g_autoptr(Conn) c = conn_open (path, FALSE);
  return db_text (c->db, "SELECT value FROM dothi_meta WHERE key = 'schema_version'");
}

static void
test_open_newer (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *version = NULL;

  create_parcels (f->project, "thua_dat");
  g_clear_object (&f->project);
  set_schema_version (f->path, "99");

  project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_null (project);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_VERSION);
  assert_contains (error->message, f->path);
  assert_contains (error->message, "99");

  g_clear_error (&error);
  project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_null (project);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_VERSION);

  /* Refused, not downgraded. */
  version = meta_schema_version (f->path);
  g_assert_cmpstr (version, ==, "99");
}

static void
test_open_version_zero (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *version = NULL;

  g_clear_object (&f->project);
  set_schema_version (f->path, "0");
  project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_null (project);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, f->path);
  version = meta_schema_version (f->path);
  g_assert_cmpstr (version, ==, "0");
}

/* Version 1 is the only one so far: a v1 file opens as it is and stays 1,
 * with its layers and audit intact. */
static void
test_open_migrate_current (Fixture *f, gconstpointer data)
{
  g_autofree char *uuid = g_strdup (dothi_project_get_uuid (f->project));
  g_autofree char *sum = NULL;
  g_autofree char *sum2 = NULL;
  g_autofree char *version = NULL;
  g_autoptr(GError) error = NULL;

  create_parcels (f->project, "thua_dat");
  sum = dothi_project_layer_checksum (f->project, "thua_dat", &error);
  g_assert_no_error (error);
  reopen (f);
  g_assert_cmpint (dothi_project_get_schema_version (f->project), ==, 1);
  g_assert_cmpstr (dothi_project_get_uuid (f->project), ==, uuid);
  sum2 = dothi_project_layer_checksum (f->project, "thua_dat", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sum, ==, sum2);
  g_clear_object (&f->project);
  version = meta_schema_version (f->path);
  g_assert_cmpstr (version, ==, "1");
}

static void
test_open_read_only (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *sum2 = NULL;
  DothiStore *store;

  create_parcels (f->project, "thua_dat");
  sum = dothi_project_layer_checksum (f->project, "thua_dat", &error);
  g_clear_object (&f->project);

  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_project_get_read_only (f->project));
  store = dothi_project_get_store (f->project);

  g_assert_false (dothi_store_begin (store, "Sửa thửa đất", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY);
  assert_contains (error->message, f->path);
  g_clear_error (&error);

  /* Reading still works. */
  layers = dothi_project_list_layers (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 1);
  sum2 = dothi_project_layer_checksum (f->project, "thua_dat", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sum, ==, sum2);

  /* Nor can SQL sneak past it. */
  {
    char *msg = NULL;
    g_assert_cmpint (sqlite3_exec (project_db (f->project), "DELETE FROM thua_dat", NULL, NULL, &msg),
                     !=, SQLITE_OK);
    sqlite3_free (msg);
  }
}

/* ---- layers through the store ------------------------------------------ */

typedef struct {
  guint n;
} ReadState;

static gboolean
check_feature_cb (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
                  gpointer user_data, GError **error)
{
  ReadState *rs = user_data;
  guint i = rs->n++;
  g_autoptr(GBytes) want = NULL;

  g_assert_cmpuint (i, <, G_N_ELEMENTS (parcels));
  g_assert_cmpint (fid, ==, (gint64) i + 1);
  g_assert_false (values[0].is_null);
  g_assert_cmpstr (values[0].v.s, ==, parcels[i].so_to);
  g_assert_cmpint (values[1].v.i, ==, parcels[i].so_thua);
  g_assert_cmpfloat_with_epsilon (values[2].v.d, parcels[i].dien_tich, 1e-9);
  if (parcels[i].chu == NULL)
    g_assert_true (values[3].is_null);
  else
    g_assert_cmpstr (values[3].v.s, ==, parcels[i].chu);

  /* Coordinates of record come back bit for bit. */
  want = wkb_from_wkt (parcels[i].wkt);
  g_assert_nonnull (wkb);
  g_assert_cmpmem (wkb, wkb_len, g_bytes_get_data (want, NULL), g_bytes_get_size (want));
  return TRUE;
}

static void
assert_parcels_registry (const DothiLayerInfo *info)
{
  static const char *names[] = { "so_to", "so_thua", "dien_tich", "chu" };
  static const DothiFieldType types[] = { DOTHI_FIELD_TEXT, DOTHI_FIELD_INTEGER, DOTHI_FIELD_REAL, DOTHI_FIELD_TEXT };

  g_assert_cmpstr (info->name, ==, "thua_dat");
  g_assert_cmpstr (info->title, ==, PARCELS_TITLE);
  g_assert_cmpint (info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  g_assert_false (info->has_z);
  g_assert_false (info->has_m);
  g_assert_cmpint (info->srid, ==, 9218);
  g_assert_cmpint (info->feature_count, ==, 3);
  g_assert_cmpstr (info->source, ==, "/tmp/Thua_Dat.gml");
  g_assert_cmpstr (info->driver, ==, "GML");
  g_assert_null (info->operation);
  g_assert_nonnull (info->imported_at);
  g_assert_true (info->visible);
  g_assert_cmpfloat_with_epsilon (info->extent[0], 457970.55, 0.01);
  g_assert_cmpfloat_with_epsilon (info->extent[1], 1403122.2, 0.01);
  g_assert_cmpfloat_with_epsilon (info->extent[2], 458371.61, 0.01);
  g_assert_cmpfloat_with_epsilon (info->extent[3], 1403475.65, 0.01);
  g_assert_cmpuint (info->fields->len, ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const DothiField *fld = g_ptr_array_index (info->fields, i);
      g_assert_cmpstr (fld->name, ==, names[i]);
      g_assert_cmpint (fld->type, ==, types[i]);
    }
}

static void
test_layer_create (Fixture *f, gconstpointer data)
{
  DothiStore *store = dothi_project_get_store (f->project);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  sqlite3 *db;
  ReadState rs = { 0 };

  create_parcels (f->project, "thua_dat");
  db = project_db (f->project);

  /* Registered with SpatiaLite as MULTIPOLYGON XY in EPSG:9218, with an
   * R*Tree that SpatiaLite itself finds consistent. */
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM geometry_columns WHERE f_table_name = 'thua_dat' "
                               "AND f_geometry_column = 'geom' AND geometry_type = 6 AND coord_dimension = 2 "
                               "AND srid = 9218 AND spatial_index_enabled = 1"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM sqlite_master WHERE name = 'idx_thua_dat_geom'"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM idx_thua_dat_geom"), ==, 3);
  g_assert_cmpint (db_int (db, "SELECT CheckSpatialIndex('thua_dat', 'geom')"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM vector_layers WHERE table_name = 'thua_dat' "
                               "AND geometry_column = 'geom' AND srid = 9218"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM thua_dat WHERE ST_IsValid(geom) = 1 "
                               "AND ST_SRID(geom) = 9218 AND GeometryType(geom) = 'MULTIPOLYGON'"), ==, 3);
  /* fid is AUTOINCREMENT: a deleted fid is never reused. */
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM sqlite_sequence WHERE name = 'thua_dat' AND seq = 3"), ==, 1);

  g_assert_true (dothi_store_has_table (store, "thua_dat"));
  g_assert_true (dothi_store_has_table (store, "THUA_DAT"));
  g_assert_false (dothi_store_has_table (store, "thua_dat_2"));

  info = dothi_project_get_layer (f->project, "thua_dat", &error);
  g_assert_no_error (error);
  assert_parcels_registry (info);

  g_assert_true (dothi_store_read_features (store, "thua_dat", NULL, check_feature_cb, &rs, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rs.n, ==, 3);

  /* The registry survives a reopen. */
  reopen (f);
  layers = dothi_project_list_layers (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 1);
  assert_parcels_registry (g_ptr_array_index (layers, 0));

  g_clear_pointer (&info, dothi_layer_info_free);
  info = dothi_project_get_layer (f->project, "khong_co", &error);
  g_assert_null (info);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "khong_co");
}

static gboolean
collect_fid_cb (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
                gpointer user_data, GError **error)
{
  g_array_append_val ((GArray *) user_data, fid);
  return TRUE;
}

/* The bbox filter goes through the R*Tree: it selects by bounding box
 * (parcel 3 has two parts far apart, so its box covers the others). */
static void
test_layer_bbox (Fixture *f, gconstpointer data)
{
  DothiStore *store = dothi_project_get_store (f->project);
  g_autoptr(GError) error = NULL;
  const double around_first[4] = { 458280, 1403380, 458320, 1403430 };
  const double west_of_all[4] = { 457000, 1403000, 457900, 1403500 };
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));

  create_parcels (f->project, "thua_dat");
  g_assert_true (dothi_store_read_features (store, "thua_dat", around_first, collect_fid_cb, fids, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fids->len, ==, 2);
  g_assert_cmpint (g_array_index (fids, gint64, 0), ==, 1);
  g_assert_cmpint (g_array_index (fids, gint64, 1), ==, 3);

  g_array_set_size (fids, 0);
  g_assert_true (dothi_store_read_features (store, "thua_dat", west_of_all, collect_fid_cb, fids, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fids->len, ==, 0);

  g_array_set_size (fids, 0);
  g_assert_true (dothi_store_read_features (store, "thua_dat", NULL, collect_fid_cb, fids, NULL, &error));
  g_assert_cmpuint (fids->len, ==, 3);
}

static void
test_layer_rollback (Fixture *f, gconstpointer data)
{
  DothiStore *store = dothi_project_get_store (f->project);
  g_autoptr(DothiLayerInfo) info = parcels_info ("thua_dat");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiLayerInfo) got = NULL;
  sqlite3 *db = project_db (f->project);

  g_assert_true (dothi_store_begin (store, PARCELS_ACTION, &error));
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  insert_parcels (store, "thua_dat");
  g_assert_true (dothi_store_finish_layer (store, "thua_dat", &error));
  g_assert_no_error (error);
  dothi_store_rollback (store);

  g_assert_false (dothi_store_has_table (store, "thua_dat"));
  layers = dothi_project_list_layers (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 0);
  got = dothi_project_get_layer (f->project, "thua_dat", &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%thua_dat%'"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM geometry_columns"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_layers"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_fields"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_actions"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_context"), ==, 0);
  g_assert_true (sqlite3_get_autocommit (db));

  /* The same layer can then be written for real. */
  create_parcels (f->project, "thua_dat");
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM thua_dat"), ==, 3);
}

static void
test_layer_reserved (Fixture *f, gconstpointer data)
{
  const char *refused[] = {
    "dothi_x", "dothi_layers", "geometry_columns", "spatial_ref_sys", "sqlite_sequence",
    "idx_thua_dat_geom", "Thửa đất", "Thua_Dat", "1_thua", "thua dat", "", NULL,
  };
  DothiStore *store = dothi_project_get_store (f->project);
  sqlite3 *db = project_db (f->project);

  for (guint i = 0; refused[i] != NULL; i++)
    {
      g_autoptr(DothiLayerInfo) info = parcels_info (refused[i]);
      g_autoptr(GError) error = NULL;

      g_test_message ("layer name “%s”", refused[i]);
      g_assert_true (dothi_store_begin (store, PARCELS_ACTION, &error));
      g_assert_no_error (error);
      g_assert_false (dothi_store_create_layer (store, info, &error));
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
      assert_contains (error->message, refused[i]);
      dothi_store_rollback (store);
    }
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_layers"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_meta WHERE key = 'schema_version'"), ==, 1);

  /* A name already taken is refused too. */
  create_parcels (f->project, "thua_dat");
  {
    g_autoptr(DothiLayerInfo) info = parcels_info ("thua_dat");
    g_autoptr(GError) error = NULL;

    g_assert_true (dothi_store_begin (store, PARCELS_ACTION, &error));
    g_assert_false (dothi_store_create_layer (store, info, &error));
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
    dothi_store_rollback (store);
  }
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM thua_dat"), ==, 3);
}

/* ---- audit ------------------------------------------------------------- */

static void
test_audit_import (Fixture *f, gconstpointer data)
{
  sqlite3 *db;
  g_autofree char *label = NULL;
  g_autofree char *user = NULL;
  g_autofree char *attrs = NULL;
  g_autoptr(JsonObject) obj = NULL;

  create_parcels (f->project, "thua_dat");
  db = project_db (f->project);
  /* One row for the whole layer, not one per feature. */
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit WHERE op = 'import' AND layer = 'thua_dat'"),
                   ==, 1);
  user = db_text (db, "SELECT user FROM dothi_audit");
  g_assert_cmpstr (user, ==, g_get_user_name ());
  label = db_text (db, "SELECT label FROM dothi_actions a JOIN dothi_audit u ON u.action_id = a.id");
  g_assert_cmpstr (label, ==, PARCELS_ACTION);
  attrs = db_text (db, "SELECT after_attrs FROM dothi_audit");
  obj = parse_json_object (attrs);
  g_assert_cmpint (json_object_get_int_member (obj, "features"), ==, 3);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_context"), ==, 0);

  /* Two layers in one action: two rows under the same action. */
  {
    DothiStore *store = dothi_project_get_store (f->project);
    g_autoptr(DothiLayerInfo) a = parcels_info ("thua_dat_a");
    g_autoptr(DothiLayerInfo) b = parcels_info ("thua_dat_b");
    g_autoptr(GError) error = NULL;

    g_assert_true (dothi_store_begin (store, "Nhập hai lớp", &error));
    g_assert_true (dothi_store_create_layer (store, a, &error));
    g_assert_true (dothi_store_create_layer (store, b, &error));
    g_assert_no_error (error);
    insert_parcels (store, "thua_dat_a");
    insert_parcels (store, "thua_dat_b");
    g_assert_true (dothi_store_finish_layer (store, "thua_dat_a", &error));
    g_assert_true (dothi_store_finish_layer (store, "thua_dat_b", &error));
    g_assert_true (dothi_store_commit (store, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit WHERE op = 'import'"), ==, 3);
  g_assert_cmpint (db_int (db, "SELECT count(DISTINCT action_id) FROM dothi_audit"), ==, 2);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit u JOIN dothi_actions a ON u.action_id = a.id "
                               "WHERE a.label = 'Nhập hai lớp'"), ==, 2);
}

static gint64
audit_count (sqlite3 *db)
{
  return db_int (db, "SELECT count(*) FROM dothi_audit");
}

static void
test_audit_external (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) geom2 = NULL;
  g_autoptr(GBytes) geom1 = NULL;
  gint64 before;

  create_parcels (f->project, "thua_dat");
  create_register (f->project);
  geom2 = db_blob (project_db (f->project), "SELECT geom FROM thua_dat WHERE fid = 2");
  geom1 = db_blob (project_db (f->project), "SELECT geom FROM thua_dat WHERE fid = 1");

  /* The sqlite3 shell, say: no SpatiaLite, while Dothi has the file open. */
  {
    g_autoptr(Conn) c = conn_open (f->path, FALSE);
    g_autoptr(JsonObject) old_attrs = NULL;
    g_autoptr(JsonObject) new_attrs = NULL;
    g_autofree char *before_attrs = NULL;
    g_autofree char *after_attrs = NULL;
    g_autofree char *user = NULL;
    g_autoptr(GBytes) bg = NULL;
    g_autoptr(GBytes) ag = NULL;

    before = audit_count (c->db);
    db_exec (c->db, "UPDATE thua_dat SET chu = 'Trần Văn Bình', dien_tich = 262.0 WHERE fid = 2");
    g_assert_cmpint (audit_count (c->db), ==, before + 1);
    user = db_text (c->db, "SELECT user FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_cmpstr (user, ==, "external");
    g_assert_cmpint (db_int (c->db, "SELECT count(*) FROM dothi_audit WHERE id = (SELECT max(id) FROM dothi_audit) "
                                    "AND op = 'update' AND layer = 'thua_dat' AND fid = 2 AND action_id IS NULL"),
                     ==, 1);
    before_attrs = db_text (c->db, "SELECT before_attrs FROM dothi_audit ORDER BY id DESC LIMIT 1");
    after_attrs = db_text (c->db, "SELECT after_attrs FROM dothi_audit ORDER BY id DESC LIMIT 1");
    old_attrs = parse_json_object (before_attrs);
    new_attrs = parse_json_object (after_attrs);
    g_assert_true (json_object_has_member (old_attrs, "chu"));
    g_assert_true (json_object_get_null_member (old_attrs, "chu"));
    g_assert_cmpstr (json_object_get_string_member (new_attrs, "chu"), ==, "Trần Văn Bình");
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (old_attrs, "dien_tich"), 261.4, 1e-9);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (new_attrs, "dien_tich"), 262.0, 1e-9);
    g_assert_cmpstr (json_object_get_string_member (new_attrs, "so_to"), ==, "5");
    g_assert_cmpint (json_object_get_int_member (new_attrs, "so_thua"), ==, 16);
    /* Geometry is in the blob columns, not in the JSON. */
    g_assert_false (json_object_has_member (new_attrs, "geom"));
    g_assert_false (json_object_has_member (new_attrs, "fid"));
    bg = db_blob (c->db, "SELECT before_geom FROM dothi_audit ORDER BY id DESC LIMIT 1");
    ag = db_blob (c->db, "SELECT after_geom FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_nonnull (bg);
    g_assert_nonnull (ag);
    g_assert_true (g_bytes_equal (bg, geom2));
    g_assert_true (g_bytes_equal (ag, geom2));

    /* DELETE */
    g_clear_pointer (&before_attrs, g_free);
    g_clear_pointer (&after_attrs, g_free);
    g_clear_pointer (&old_attrs, json_object_unref);
    g_clear_pointer (&bg, g_bytes_unref);
    g_clear_pointer (&ag, g_bytes_unref);
    g_clear_pointer (&user, g_free);
    db_exec (c->db, "DELETE FROM thua_dat WHERE fid = 1");
    g_assert_cmpint (audit_count (c->db), ==, before + 2);
    user = db_text (c->db, "SELECT user FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_cmpstr (user, ==, "external");
    g_assert_cmpint (db_int (c->db, "SELECT count(*) FROM dothi_audit WHERE id = (SELECT max(id) FROM dothi_audit) "
                                    "AND op = 'delete' AND fid = 1 AND after_attrs IS NULL"), ==, 1);
    before_attrs = db_text (c->db, "SELECT before_attrs FROM dothi_audit ORDER BY id DESC LIMIT 1");
    old_attrs = parse_json_object (before_attrs);
    g_assert_cmpstr (json_object_get_string_member (old_attrs, "chu"), ==, "Uỷ ban nhân dân Phường Tân Lập");
    g_assert_cmpint (json_object_get_int_member (old_attrs, "so_thua"), ==, 10);
    bg = db_blob (c->db, "SELECT before_geom FROM dothi_audit ORDER BY id DESC LIMIT 1");
    ag = db_blob (c->db, "SELECT after_geom FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_nonnull (bg);
    g_assert_true (g_bytes_equal (bg, geom1));
    g_assert_null (ag);

    /* INSERT into an attribute-only layer (a geometry layer needs
     * SpatiaLite's own GeometryConstraints() trigger, so only a program
     * with SpatiaLite can insert there, see below). */
    g_clear_pointer (&after_attrs, g_free);
    g_clear_pointer (&new_attrs, json_object_unref);
    g_clear_pointer (&user, g_free);
    db_exec (c->db, "INSERT INTO so_muc_ke (so_thua, ghi_chu) VALUES (16, 'Đất trồng cây lâu năm')");
    g_assert_cmpint (audit_count (c->db), ==, before + 3);
    user = db_text (c->db, "SELECT user FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_cmpstr (user, ==, "external");
    g_assert_cmpint (db_int (c->db, "SELECT count(*) FROM dothi_audit WHERE id = (SELECT max(id) FROM dothi_audit) "
                                    "AND op = 'insert' AND layer = 'so_muc_ke' AND fid = 2 "
                                    "AND before_attrs IS NULL AND before_geom IS NULL AND after_geom IS NULL"), ==, 1);
    after_attrs = db_text (c->db, "SELECT after_attrs FROM dothi_audit ORDER BY id DESC LIMIT 1");
    new_attrs = parse_json_object (after_attrs);
    g_assert_cmpstr (json_object_get_string_member (new_attrs, "ghi_chu"), ==, "Đất trồng cây lâu năm");
  }

  /* QGIS, say: SpatiaLite loaded, inserting a parcel with a geometry. */
  {
    g_autoptr(Conn) c = conn_open (f->path, TRUE);
    g_autofree char *user = NULL;
    g_autofree char *after_attrs = NULL;
    g_autoptr(JsonObject) new_attrs = NULL;
    g_autoptr(GBytes) ag = NULL;
    g_autoptr(GBytes) stored = NULL;

    db_exec (c->db, "INSERT INTO thua_dat (so_to, so_thua, dien_tich, chu, geom) VALUES ('6', 99, 100.0, "
                    "'Lê Thị Hoa', GeomFromText('MULTIPOLYGON(((458000 1403200,458010 1403200,"
                    "458010 1403210,458000 1403200)))', 9218))");
    g_assert_cmpint (audit_count (c->db), ==, before + 4);
    user = db_text (c->db, "SELECT user FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_cmpstr (user, ==, "external");
    /* fid 4: the deleted fid 1 is not reused, nor any import fid. */
    g_assert_cmpint (db_int (c->db, "SELECT fid FROM dothi_audit ORDER BY id DESC LIMIT 1"), ==, 4);
    after_attrs = db_text (c->db, "SELECT after_attrs FROM dothi_audit ORDER BY id DESC LIMIT 1");
    new_attrs = parse_json_object (after_attrs);
    g_assert_cmpstr (json_object_get_string_member (new_attrs, "chu"), ==, "Lê Thị Hoa");
    ag = db_blob (c->db, "SELECT after_geom FROM dothi_audit ORDER BY id DESC LIMIT 1");
    stored = db_blob (c->db, "SELECT geom FROM thua_dat WHERE fid = 4");
    g_assert_nonnull (ag);
    g_assert_true (g_bytes_equal (ag, stored));
  }

  /* Dothi's own view agrees, and nothing is left in dothi_context. */
  g_assert_cmpint (db_int (project_db (f->project), "SELECT count(*) FROM dothi_audit WHERE user = 'external'"),
                   ==, 4);
  g_assert_cmpint (db_int (project_db (f->project), "SELECT count(*) FROM dothi_context"), ==, 0);
}

static void
test_audit_added_column (Fixture *f, gconstpointer data)
{
  g_autofree char *after_attrs = NULL;
  g_autoptr(JsonObject) attrs = NULL;

  create_parcels (f->project, "thua_dat");
  g_clear_object (&f->project);

  /* Another program adds a column (QGIS's "Add field"). */
  {
    g_autoptr(Conn) c = conn_open (f->path, FALSE);
    db_exec (c->db, "ALTER TABLE thua_dat ADD COLUMN ghi_chu TEXT");
  }

  /* Dothi notices the schema change on open and rewrites its triggers. */
  reopen (f);

  {
    g_autoptr(Conn) c = conn_open (f->path, FALSE);
    g_autofree char *before_attrs = NULL;
    g_autoptr(JsonObject) old_attrs = NULL;

    db_exec (c->db, "UPDATE thua_dat SET ghi_chu = 'Đã cấp giấy chứng nhận' WHERE fid = 3");
    after_attrs = db_text (c->db, "SELECT after_attrs FROM dothi_audit WHERE op = 'update' ORDER BY id DESC LIMIT 1");
    before_attrs = db_text (c->db, "SELECT before_attrs FROM dothi_audit WHERE op = 'update' ORDER BY id DESC LIMIT 1");
    attrs = parse_json_object (after_attrs);
    old_attrs = parse_json_object (before_attrs);
    g_assert_true (json_object_has_member (attrs, "ghi_chu"));
    g_assert_cmpstr (json_object_get_string_member (attrs, "ghi_chu"), ==, "Đã cấp giấy chứng nhận");
    g_assert_true (json_object_get_null_member (old_attrs, "ghi_chu"));
    g_assert_cmpstr (json_object_get_string_member (attrs, "chu"), ==, "Nguyễn Thị Ánh");
  }

  /* A second open with nothing changed keeps working the same way. */
  reopen (f);
  {
    g_autoptr(Conn) c = conn_open (f->path, FALSE);
    g_autofree char *text = NULL;
    g_autoptr(JsonObject) obj = NULL;

    db_exec (c->db, "DELETE FROM thua_dat WHERE fid = 3");
    text = db_text (c->db, "SELECT before_attrs FROM dothi_audit WHERE op = 'delete' ORDER BY id DESC LIMIT 1");
    obj = parse_json_object (text);
    g_assert_cmpstr (json_object_get_string_member (obj, "ghi_chu"), ==, "Đã cấp giấy chứng nhận");
  }
}

/* ---- checksums --------------------------------------------------------- */

static char *
checksum (DothiProject *project, const char *layer)
{
  g_autoptr(GError) error = NULL;
  char *sum = dothi_project_layer_checksum (project, layer, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sum);
  return sum;
}

static void
test_checksum (Fixture *f, gconstpointer data)
{
  g_autofree char *sum = NULL;
  g_autofree char *same = NULL;
  g_autofree char *reopened = NULL;
  g_autofree char *changed = NULL;
  g_autofree char *geom_changed = NULL;
  g_autofree char *restored = NULL;
  g_autofree char *other = NULL;
  g_autofree char *other_after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = NULL;

  create_parcels (f->project, "thua_dat");
  create_parcels (f->project, "thua_dat_2");
  sum = checksum (f->project, "thua_dat");
  g_assert_cmpuint (strlen (sum), ==, 64);
  same = checksum (f->project, "thua_dat");
  g_assert_cmpstr (sum, ==, same);
  /* Same content, same sum, whatever the table is called. */
  other = checksum (f->project, "thua_dat_2");
  g_assert_cmpstr (sum, ==, other);

  reopen (f);
  reopened = checksum (f->project, "thua_dat");
  g_assert_cmpstr (sum, ==, reopened);

  {
    g_autoptr(Conn) c = conn_open (f->path, FALSE);

    /* An UPDATE that changes nothing leaves the sum alone. */
    db_exec (c->db, "UPDATE thua_dat SET chu = chu WHERE fid = 1");
    g_clear_pointer (&same, g_free);
    same = checksum (f->project, "thua_dat");
    g_assert_cmpstr (sum, ==, same);

    db_exec (c->db, "UPDATE thua_dat SET chu = 'Uỷ ban nhân dân phường Tân Lập' WHERE fid = 1");
    changed = checksum (f->project, "thua_dat");
    g_assert_cmpstr (sum, !=, changed);

    db_exec (c->db, "UPDATE thua_dat SET chu = 'Uỷ ban nhân dân Phường Tân Lập' WHERE fid = 1");
    restored = checksum (f->project, "thua_dat");
    g_assert_cmpstr (sum, ==, restored);

    /* NULL and empty text differ. */
    db_exec (c->db, "UPDATE thua_dat SET chu = '' WHERE fid = 2");
    g_clear_pointer (&changed, g_free);
    changed = checksum (f->project, "thua_dat");
    g_assert_cmpstr (sum, !=, changed);
    db_exec (c->db, "UPDATE thua_dat SET chu = NULL WHERE fid = 2");

    /* One hundredth of a square metre is a change. */
    db_exec (c->db, "UPDATE thua_dat SET dien_tich = 973.81 WHERE fid = 1");
    g_clear_pointer (&changed, g_free);
    changed = checksum (f->project, "thua_dat");
    g_assert_cmpstr (sum, !=, changed);
    db_exec (c->db, "UPDATE thua_dat SET dien_tich = 973.8 WHERE fid = 1");
  }
  {
    g_autoptr(Conn) c = conn_open (f->path, TRUE);
    /* So is one centimetre in the geometry. */
    db_exec (c->db, "UPDATE thua_dat SET geom = ST_Translate(geom, 0.01, 0, 0) WHERE fid = 3");
    geom_changed = checksum (f->project, "thua_dat");
    g_assert_cmpstr (sum, !=, geom_changed);
  }

  /* The other layer did not move. */
  other_after = checksum (f->project, "thua_dat_2");
  g_assert_cmpstr (other, ==, other_after);

  missing = dothi_project_layer_checksum (f->project, "khong_co", &error);
  g_assert_null (missing);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  missing = dothi_project_layer_checksum (f->project, "dothi_meta", &error);
  g_assert_null (missing);
  g_assert_nonnull (error);
}

/* ---- VN-2000 zones and CRS parsing ------------------------------------- */

/* "Đắk Lắk" -> "Dak Lak": the name typed on a keyboard without Vietnamese. */
static char *
strip_marks (const char *text)
{
  g_autofree char *nfd = g_utf8_normalize (text, -1, G_NORMALIZE_NFD);
  GString *out = g_string_new (NULL);

  for (const char *p = nfd; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0x0111)
        c = 'd';
      else if (c == 0x0110)
        c = 'D';
      if (!g_unichar_ismark (c))
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static void
test_zones_match_proj (void)
{
  guint n = 0;
  const DothiVn2000Zone *zones = dothi_crs_vn2000_zones (&n);
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (n, ==, 63);
  for (guint i = 0; i < n; i++)
    {
      g_auto(OGRSpatialReferenceH) srs = OSRNewSpatialReference (NULL);
      OGRErr err = OGRERR_NONE;
      double meridian;
      g_autofree char *name = NULL;

      g_test_message ("%s: EPSG:%d, %.4f", zones[i].province, zones[i].srid, zones[i].meridian);
      g_assert_cmpint (OSRImportFromEPSG (srs, zones[i].srid), ==, OGRERR_NONE);
      g_assert_true (OSRIsProjected (srs));
      meridian = OSRGetProjParm (srs, SRS_PP_CENTRAL_MERIDIAN, -999.0, &err);
      g_assert_cmpint (err, ==, OGRERR_NONE);
      g_assert_cmpfloat_with_epsilon (meridian, zones[i].meridian, 1e-9);
      g_assert_cmpfloat_with_epsilon (OSRGetProjParm (srs, SRS_PP_SCALE_FACTOR, 0, NULL), 0.9999, 1e-12);
      g_assert_cmpfloat_with_epsilon (OSRGetProjParm (srs, SRS_PP_FALSE_EASTING, 0, NULL), 500000.0, 1e-6);
      g_assert_true (dothi_crs_is_vn2000 (zones[i].srid));
      name = dothi_crs_dup_name (zones[i].srid);
      assert_contains (name, "VN-2000 / TM-3");

      g_assert_true (g_utf8_validate (zones[i].province, -1, NULL));
      g_assert_false (g_hash_table_contains (names, zones[i].province));
      g_hash_table_add (names, (gpointer) zones[i].province);
    }
}

static void
test_zones_sorted (void)
{
  guint n = 0;
  const DothiVn2000Zone *zones = dothi_crs_vn2000_zones (&n);

  for (guint i = 1; i < n; i++)
    {
      g_autofree char *a = strip_marks (zones[i - 1].province);
      g_autofree char *b = strip_marks (zones[i].province);
      g_autofree char *la = g_ascii_strdown (a, -1);
      g_autofree char *lb = g_ascii_strdown (b, -1);

      if (g_strcmp0 (la, lb) > 0)
        g_test_message ("“%s” before “%s”", zones[i - 1].province, zones[i].province);
      g_assert_cmpint (g_strcmp0 (la, lb), <=, 0);
    }
}

static void
test_zones_parse (void)
{
  guint n = 0;
  const DothiVn2000Zone *zones = dothi_crs_vn2000_zones (&n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *plain = strip_marks (zones[i].province);
      g_autofree char *lower = g_utf8_strdown (zones[i].province, -1);
      g_autofree char *upper = g_utf8_strup (plain, -1);
      g_autofree char *nfd = g_utf8_normalize (zones[i].province, -1, G_NORMALIZE_NFD);

      g_test_message ("%s / %s", zones[i].province, plain);
      g_assert_cmpint (dothi_crs_parse (zones[i].province, &error), ==, zones[i].srid);
      g_assert_no_error (error);
      g_assert_cmpint (dothi_crs_parse (plain, &error), ==, zones[i].srid);
      g_assert_no_error (error);
      g_assert_cmpint (dothi_crs_parse (lower, &error), ==, zones[i].srid);
      g_assert_no_error (error);
      g_assert_cmpint (dothi_crs_parse (upper, &error), ==, zones[i].srid);
      g_assert_no_error (error);
      g_assert_cmpint (dothi_crs_parse (nfd, &error), ==, zones[i].srid);
      g_assert_no_error (error);
    }
}

static void
test_crs_parse (void)
{
  static const struct {
    const char *text;
    int         srid;
  } good[] = {
    { "EPSG:9218", 9218 }, { "9218", 9218 }, { "epsg:4326", 4326 }, { "  EPSG:5899 ", 5899 },
    { "Đắk Lắk", 9218 }, { "dak lak", 9218 }, { "Lâm Đồng", 5899 }, { "Hồ Chí Minh", 9210 },
    { "EPSG:32648", 32648 },
  };
  const char *bad[] = { "EPSG:999999", "0", "-5", "Hà Lội", "VN-2000", "", "EPSG:", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_assert_cmpint (dothi_crs_parse (good[i].text, &error), ==, good[i].srid);
      g_assert_no_error (error);
    }
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_test_message ("“%s”", bad[i]);
      g_assert_cmpint (dothi_crs_parse (bad[i], &error), ==, 0);
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
    }
  {
    g_autoptr(GError) error = NULL;
    g_assert_cmpint (dothi_crs_parse (NULL, &error), ==, 0);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
  }
  g_assert_false (dothi_crs_is_vn2000 (4326));
  g_assert_false (dothi_crs_is_vn2000 (32648));
  g_assert_true (dothi_crs_is_vn2000 (4756));
  g_assert_true (dothi_crs_is_vn2000 (3405));
}

/* The .prj ArcGIS writes for VN-2000 / TM-3 108-30 (no authority code). */
static const char esri_tm3_108_30[] =
  "PROJCS[\"VN_2000_TM_3_108_30\",GEOGCS[\"GCS_VN_2000\",DATUM[\"D_Vietnam_2000\","
  "SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],"
  "UNIT[\"Degree\",0.0174532925199433]],PROJECTION[\"Transverse_Mercator\"],"
  "PARAMETER[\"False_Easting\",500000.0],PARAMETER[\"False_Northing\",0.0],"
  "PARAMETER[\"Central_Meridian\",108.5],PARAMETER[\"Scale_Factor\",0.9999],"
  "PARAMETER[\"Latitude_Of_Origin\",0.0],UNIT[\"Meter\",1.0]]";

static void
test_crs_identify (void)
{
  g_auto(OGRSpatialReferenceH) esri = OSRNewSpatialReference (NULL);
  g_auto(OGRSpatialReferenceH) epsg = OSRNewSpatialReference (NULL);
  g_auto(OGRSpatialReferenceH) custom = OSRNewSpatialReference (NULL);
  g_autoptr(GError) error = NULL;
  g_auto(OGRSpatialReferenceH) made = NULL;
  char *lines[] = { (char *) esri_tm3_108_30, NULL };

  g_assert_cmpint (OSRImportFromESRI (esri, lines), ==, OGRERR_NONE);
  g_assert_null (OSRGetAuthorityCode (esri, NULL));
  g_assert_cmpint (dothi_crs_identify (esri), ==, 9218);

  g_assert_cmpint (OSRImportFromEPSG (epsg, 5899), ==, OGRERR_NONE);
  g_assert_cmpint (dothi_crs_identify (epsg), ==, 5899);

  /* A made-up zone matches nothing. */
  g_assert_cmpint (OSRSetFromUserInput (custom, "+proj=tmerc +lon_0=108.1 +k=0.9999 +x_0=500000 "
                                                "+ellps=WGS84 +units=m +no_defs"), ==, OGRERR_NONE);
  g_assert_cmpint (dothi_crs_identify (custom), ==, 0);
  g_assert_cmpint (dothi_crs_identify (NULL), ==, 0);

  /* Traditional GIS axis order: easting first, as the data is stored. */
  made = dothi_crs_new_srs (9218, &error);
  g_assert_no_error (error);
  {
    int n = 0;
    const int *mapping = OSRGetDataAxisToSRSAxisMapping (made, &n);
    g_assert_cmpint (n, ==, 2);
    g_assert_cmpint (mapping[0], ==, 1);
    g_assert_cmpint (mapping[1], ==, 2);
  }
  g_assert_null (dothi_crs_new_srs (999999, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
}

/* On a network file system the project opens read-only; "edit anyway"
 * takes a lock file naming this process and keeps a second Dothi out. */
static void
test_network_fs (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *lock = g_strconcat (f->path, ".lock", NULL);
  g_autofree char *held = NULL;
  g_autofree char *pid = g_strdup_printf ("\n%d\n", (int) getpid ());
  DothiProject *second;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  create_parcels (f->project, "thua_dat");
  g_clear_object (&f->project);
  dothi_project_assume_network_fs (TRUE);

  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_project_get_on_network_fs (f->project));
  g_assert_true (dothi_project_get_read_only (f->project));
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
  g_clear_object (&f->project);

  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_EDIT_ANYWAY, &error);
  g_assert_no_error (error);
  g_assert_false (dothi_project_get_read_only (f->project));
  g_assert_true (g_file_get_contents (lock, &held, NULL, NULL));
  assert_contains (held, g_get_user_name ());
  assert_contains (held, pid);
  g_assert_true (dothi_project_set_layer_visible (f->project, "thua_dat", FALSE, &error));
  g_assert_no_error (error);
  /* A rollback journal, not WAL: its shared memory fails on NFS. */
  g_assert_cmpint (sqlite3_open_v2 (f->path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "delete");
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  /* A second Dothi is refused while the lock is held, and told by whom. */
  second = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_EDIT_ANYWAY, &error);
  g_assert_null (second);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY);
  assert_contains (error->message, g_get_user_name ());
  g_clear_error (&error);

  /* Closing lets go. */
  g_clear_object (&f->project);
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));

  /* A lock left by a process that no longer runs here is taken over. */
  {
    g_autofree char *stale = g_strdup_printf ("%s\nsomeone\n%d\n", g_get_host_name (), 999999);

    g_assert_true (g_file_set_contents (lock, stale, -1, NULL));
    f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_EDIT_ANYWAY, &error);
    g_assert_no_error (error);
    g_assert_false (dothi_project_get_read_only (f->project));
    g_clear_object (&f->project);
  }
  dothi_project_assume_network_fs (FALSE);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/project/create/default-crs", test_create_default);
  g_test_add_func ("/project/create/province", test_create_province);
  g_test_add_func ("/project/create/bad-crs", test_create_bad_crs);
  ADD ("/project/create/exists", test_create_exists);
  ADD ("/project/open/keeps-uuid", test_open_keeps_uuid);
  ADD ("/project/open/pragmas", test_open_pragmas);
  g_test_add_func ("/project/open/missing-file", test_open_missing);
  g_test_add_func ("/project/open/plain-sqlite", test_open_plain_sqlite);
  g_test_add_func ("/project/open/text-file", test_open_text_file);
  ADD ("/project/open/newer-version", test_open_newer);
  ADD ("/project/open/version-zero", test_open_version_zero);
  ADD ("/project/open/migrate-current", test_open_migrate_current);
  ADD ("/project/open/read-only", test_open_read_only);
  ADD ("/project/open/network-fs", test_network_fs);
  ADD ("/project/layer/create", test_layer_create);
  ADD ("/project/layer/bbox", test_layer_bbox);
  ADD ("/project/layer/rollback", test_layer_rollback);
  ADD ("/project/layer/reserved-names", test_layer_reserved);
  ADD ("/project/audit/import", test_audit_import);
  ADD ("/project/audit/external", test_audit_external);
  ADD ("/project/audit/added-column", test_audit_added_column);
  ADD ("/project/checksum", test_checksum);
  g_test_add_func ("/project/crs/zones-match-proj", test_zones_match_proj);
  g_test_add_func ("/project/crs/zones-sorted", test_zones_sorted);
  g_test_add_func ("/project/crs/zones-parse", test_zones_parse);
  g_test_add_func ("/project/crs/parse", test_crs_parse);
  g_test_add_func ("/project/crs/identify", test_crs_identify);

  return g_test_run ();
}
