/* test-edit.c: change sets (GeoJSON, checks, one action), undo, redo and
 * revert as compensating actions (also after a restart, against edits of
 * other programs, on the registry), the audit API, a second program's
 * write lock, SpatiaLite's trigger rollback, and a kill -9 in mid-action. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-project.h"
#include "dothi-spatialite-store.h"
#include "dothi-store.h"
#include "dothi-style.h"
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <cpl_conv.h>
#include <ogr_api.h>
#include <signal.h>
#include <spatialite.h>
#include <sqlite3.h>
#include <string.h>

#define LAYER "thua_dat"
#define TITLE "Thửa đất phường Tân Lập"

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

static const struct {
  const char *so_to;
  gint64      so_thua;
  double      dien_tich;
  const char *chu;     /* NULL for NULL */
  const char *ngay;
  gboolean    hop_le;
  const char *ma;      /* bytes of the BLOB field */
  const char *wkt;
} parcels[] = {
  { "5", 10, 973.8, "Uỷ ban nhân dân Phường Tân Lập", "2019-03-01", TRUE, "\x01\x02",
    "MULTIPOLYGON (((458289.01 1403384.29,458314.2 1403390.81,458303.439 1403423.662,"
    "458275.795 1403416.405,458289.01 1403384.29)))" },
  { "5", 16, 261.4, NULL, "2020-11-30", FALSE, "\xff",
    "MULTIPOLYGON (((458143.441 1403343.413,458146.44 1403337.06,458144.32 1403335.44,"
    "458120.0 1403327.64,458116.801 1403327.71,458113.028 1403334.934,458143.441 1403343.413)))" },
  { "05", 17, 615.9, "Nguyễn Thị Ánh", "2021-07-15", TRUE, "",
    "MULTIPOLYGON (((457970.55 1403122.2,457990 1403122.2,457990 1403140,457970.55 1403140,"
    "457970.55 1403122.2)))" },
};

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

static char *
wkt_from_wkb (GBytes *wkb)
{
  g_auto(OGRGeometryH) geom = NULL;
  char *wkt = NULL;
  char *copy;
  gsize len;
  const guint8 *data = g_bytes_get_data (wkb, &len);

  g_assert_cmpint (OGR_G_CreateFromWkbEx (data, NULL, &geom, len), ==, OGRERR_NONE);
  OGR_G_ExportToIsoWkt (geom, &wkt);
  copy = g_strdup (wkt);
  CPLFree (wkt);
  return copy;
}

/* A parcel layer written through the store in one action, as an import
 * does (its audit row is an 'import'). */
static void
create_parcels (DothiProject *project)
{
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GError) error = NULL;

  info->name = g_strdup (LAYER);
  info->title = g_strdup (TITLE);
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->srid = 9218;
  dothi_layer_info_add_field (info, "so_to", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "dien_tich", DOTHI_FIELD_REAL);
  dothi_layer_info_add_field (info, "chu", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "ngay", DOTHI_FIELD_DATE);
  dothi_layer_info_add_field (info, "hop_le", DOTHI_FIELD_BOOLEAN);
  dothi_layer_info_add_field (info, "ma", DOTHI_FIELD_BLOB);

  g_assert_true (dothi_store_begin (store, "Nhập thửa đất", &error));
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (parcels); i++)
    {
      g_autoptr(GBytes) wkb = wkb_from_wkt (parcels[i].wkt);
      DothiValue v[7] = { 0 };
      gsize len;
      const guint8 *data = g_bytes_get_data (wkb, &len);

      v[0].v.s = parcels[i].so_to;
      v[1].v.i = parcels[i].so_thua;
      v[2].v.d = parcels[i].dien_tich;
      v[3].is_null = parcels[i].chu == NULL;
      v[3].v.s = parcels[i].chu;
      v[4].v.s = parcels[i].ngay;
      v[5].v.i = parcels[i].hop_le;
      v[6].v.b.data = (const guint8 *) parcels[i].ma;
      v[6].v.b.len = strlen (parcels[i].ma);
      g_assert_true (dothi_store_insert_feature (store, LAYER, v, data, len, &error));
      g_assert_no_error (error);
    }
  g_assert_true (dothi_store_finish_layer (store, LAYER, &error));
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "tan-lap.dothi", NULL);
  f->project = dothi_project_create (f->path, NULL, &error);
  g_assert_no_error (error);
  create_parcels (f->project);
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

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

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

/* Another program's connection: SQLite with SpatiaLite, as the spatialite
 * shell or QGIS have it (SpatiaLite's triggers call its functions). */
static void *other_cache;

static sqlite3 *
other_open (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_null (other_cache);
  other_cache = spatialite_alloc_connection ();
  spatialite_init_ex (db, other_cache, 0);
  return db;
}

static void
other_close (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
  spatialite_cleanup_ex (other_cache);
  other_cache = NULL;
}

static char *
checksum (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  char *sum = dothi_project_layer_checksum (f->project, LAYER, &error);

  g_assert_no_error (error);
  return sum;
}

/* Actions and audit rows: together with the checksum, "nothing changed". */
static char *
history_state (Fixture *f)
{
  sqlite3 *db = project_db (f->project);

  return g_strdup_printf ("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                          db_int (db, "SELECT count(*) FROM dothi_actions"),
                          db_int (db, "SELECT count(*) FROM dothi_audit"));
}

static JsonObject *
props (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (node));
}

static gint64
apply (Fixture *f, DothiChangeSet *set, const char *label, GArray **fids)
{
  g_autoptr(GError) error = NULL;
  gint64 id = dothi_edit_apply_sync (f->project, set, label, fids, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
undo (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  gint64 id = dothi_edit_undo_sync (f->project, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
redo (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  gint64 id = dothi_edit_redo_sync (f->project, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

#define NEW_PARCEL \
  "MULTIPOLYGON (((458400 1403500,458420 1403500,458420 1403520,458400 1403520,458400 1403500)))"

/* ---- GeoJSON ------------------------------------------------------------ */

static void
test_geojson_parse (void)
{
  const char *text =
    "{\"type\": \"FeatureCollection\", \"features\": ["
    " {\"type\": \"Feature\", \"properties\": {\"so_thua\": 30},"
    "  \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,0],[1,1],[0,0]]]}},"
    " {\"type\": \"Feature\", \"id\": 4, \"properties\": {\"chu\": null}, \"geometry\": null},"
    " {\"type\": \"Feature\", \"id\": \"5\", \"dothi:op\": \"delete\", \"dothi:layer\": \"roads\","
    "  \"properties\": null, \"geometry\": null}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new_from_geojson (text, -1, LAYER, &error);
  const DothiFeatureChange *c;

  g_assert_no_error (error);
  g_assert_cmpuint (dothi_change_set_get_n_changes (set), ==, 3);
  c = dothi_change_set_get_change (set, 0);
  g_assert_cmpint (c->op, ==, DOTHI_CHANGE_INSERT);
  g_assert_cmpstr (c->layer, ==, LAYER);
  g_assert_cmpint (c->fid, ==, -1);
  g_assert_cmpint (json_object_get_int_member (c->properties, "so_thua"), ==, 30);
  g_assert_nonnull (c->wkb);
  c = dothi_change_set_get_change (set, 1);
  g_assert_cmpint (c->op, ==, DOTHI_CHANGE_UPDATE);
  g_assert_cmpint (c->fid, ==, 4);
  g_assert_null (c->wkb);
  g_assert_true (json_object_has_member (c->properties, "chu"));
  c = dothi_change_set_get_change (set, 2);
  g_assert_cmpint (c->op, ==, DOTHI_CHANGE_DELETE);
  g_assert_cmpint (c->fid, ==, 5);
  g_assert_cmpstr (c->layer, ==, "roads");

  {
    static const struct {
      const char *text;
      int         code;
      const char *needle;
    } bad[] = {
      { "{\"type\": ", DOTHI_ERROR_INVALID_DATA, "JSON" },
      { "[1, 2]", DOTHI_ERROR_INVALID_DATA, "FeatureCollection" },
      { "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"id\": 1.5}]}",
        DOTHI_ERROR_INVALID_DATA, "Feature 1" },
      { "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\"}, "
        "{\"type\": \"Feature\", \"dothi:op\": \"delete\"}]}", DOTHI_ERROR_INVALID_DATA, "Feature 2" },
      { "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"dothi:op\": \"move\"}]}",
        DOTHI_ERROR_INVALID_DATA, "move" },
      { "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", "
        "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": 7}}]}", DOTHI_ERROR_INVALID_DATA, "Feature 1" },
      { "{\"type\": \"FeatureCollection\", \"crs\": {\"type\": \"name\", \"properties\": "
        "{\"name\": \"EPSG:999999\"}}, \"features\": []}", DOTHI_ERROR_CRS, NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GError) e = NULL;
        g_autoptr(DothiChangeSet) s = dothi_change_set_new_from_geojson (bad[i].text, -1, LAYER, &e);

        g_test_message ("%s", bad[i].text);
        g_assert_null (s);
        g_assert_error (e, DOTHI_ERROR, bad[i].code);
        if (bad[i].needle)
          assert_contains (e->message, bad[i].needle);
      }
  }
}

/* ---- apply, undo, redo -------------------------------------------------- */

static void
test_insert_undo_redo (Fixture *f, gconstpointer data)
{
  g_autofree char *before = checksum (f);
  g_autofree char *after = NULL;
  g_autofree char *again = NULL;
  g_autofree char *undone = NULL;
  g_autofree char *label = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) p1 = props ("{\"so_to\": \"7\", \"so_thua\": 31, \"dien_tich\": 400.0, "
                                    "\"chu\": \"Trần Văn Bình\", \"ngay\": \"2024-05-06\", "
                                    "\"hop_le\": true, \"ma\": \"0A0B\"}");
  g_autoptr(GBytes) g1 = wkb_from_wkt (NEW_PARCEL);
  /* A single Polygon goes into a MULTIPOLYGON layer. */
  g_autoptr(GBytes) g2 = wkb_from_wkt ("POLYGON ((458500 1403500,458520 1403500,458520 1403520,458500 1403500))");
  g_autoptr(GArray) fids = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = project_db (f->project);
  gint64 action, undo_id, redo_id;

  dothi_change_set_insert (set, LAYER, p1, g1);
  dothi_change_set_insert (set, LAYER, NULL, g2);
  action = apply (f, set, "Thêm hai thửa", &fids);
  g_assert_cmpuint (fids->len, ==, 2);
  g_assert_cmpint (g_array_index (fids, gint64, 0), ==, 4);
  g_assert_cmpint (g_array_index (fids, gint64, 1), ==, 5);
  after = checksum (f);
  g_assert_cmpstr (after, !=, before);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM thua_dat"), ==, 5);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit WHERE op = 'insert'"), ==, 2);
  g_assert_cmpint (db_int (db, "SELECT hop_le FROM thua_dat WHERE fid = 4"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT ST_IsValid(geom) + 10 * (GeometryType(geom) = 'MULTIPOLYGON') "
                               "FROM thua_dat WHERE fid = 5"), ==, 11);
  g_free (label);
  label = db_text (db, "SELECT hex(ma) FROM thua_dat WHERE fid = 4");
  g_assert_cmpstr (label, ==, "0A0B");
  /* The registry counts the new rows. */
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info->feature_count, ==, 5);

  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Thêm hai thửa");
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_null (label);

  undo_id = undo (f);
  g_assert_cmpint (undo_id, >, action);
  undone = checksum (f);
  g_assert_cmpstr (undone, ==, before);
  g_clear_pointer (&label, g_free);
  label = db_text (db, "SELECT label || '|' || undo_of FROM dothi_actions ORDER BY id DESC LIMIT 1");
  {
    g_autofree char *want = g_strdup_printf ("Undo: Thêm hai thửa|%" G_GINT64_FORMAT, action);
    g_assert_cmpstr (label, ==, want);
  }
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_cmpstr (label, ==, "Thêm hai thửa");

  redo_id = redo (f);
  g_assert_cmpint (redo_id, >, undo_id);
  again = checksum (f);
  g_assert_cmpstr (again, ==, after);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_null (label);
  /* The deleted fids came back as themselves. */
  g_assert_cmpint (db_int (db, "SELECT max(fid) FROM thua_dat"), ==, 5);

  /* Undo again (the redo is the newest action now), then nothing is left
   * but the import: the edits since are undone, so it can be undone too,
   * which puts the layer out of sight. */
  undo (f);
  g_clear_pointer (&undone, g_free);
  undone = checksum (f);
  g_assert_cmpstr (undone, ==, before);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Nhập thửa đất");
  undo (f);
  g_assert_null (dothi_project_get_layer (f->project, LAYER, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING);
}

static void
test_update_delete_undo (Fixture *f, gconstpointer data)
{
  g_autofree char *before = checksum (f);
  g_autofree char *after = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *text = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) p1 = props ("{\"chu\": \"Lê Thị Hoa\", \"dien_tich\": 980.25, \"ma\": \"FF00\", "
                                    "\"hop_le\": false, \"ngay\": null}");
  g_autoptr(GBytes) g1 = wkb_from_wkt ("MULTIPOLYGON (((458289.01 1403384.29,458320 1403390.81,"
                                       "458303.439 1403423.662,458275.795 1403416.405,458289.01 1403384.29)))");
  sqlite3 *db = project_db (f->project);

  dothi_change_set_update (set, LAYER, 1, p1, g1);
  dothi_change_set_delete (set, LAYER, 2);
  dothi_change_set_update (set, LAYER, 3, NULL, NULL);
  apply (f, set, NULL, NULL);
  after = checksum (f);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM thua_dat"), ==, 2);
  text = db_text (db, "SELECT chu || '|' || dien_tich || '|' || hex(ma) || '|' || COALESCE(ngay, 'NULL') "
                      "FROM thua_dat WHERE fid = 1");
  g_assert_cmpstr (text, ==, "Lê Thị Hoa|980.25|FF00|NULL");
  g_clear_pointer (&text, g_free);
  /* No label: a counted default. */
  text = db_text (db, "SELECT label FROM dothi_actions ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (text, ==, "Edit 3 features");

  undo (f);
  sum = checksum (f);
  g_assert_cmpstr (sum, ==, before);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM thua_dat WHERE fid = 2"), ==, 1);
  g_clear_pointer (&text, g_free);
  text = db_text (db, "SELECT hex(ma) FROM thua_dat WHERE fid = 1");
  g_assert_cmpstr (text, ==, "0102");

  redo (f);
  g_clear_pointer (&sum, g_free);
  sum = checksum (f);
  g_assert_cmpstr (sum, ==, after);
}

static void
test_undo_after_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *before = checksum (f);
  g_autofree char *after = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *label = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) p = props ("{\"so_thua\": 99}");

  dothi_change_set_update (set, LAYER, 3, p, NULL);
  dothi_change_set_delete (set, LAYER, 1);
  apply (f, set, "Sửa thửa 17", NULL);
  after = checksum (f);

  /* A restart: the history is the file. */
  reopen (f);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Sửa thửa 17");
  undo (f);
  sum = checksum (f);
  g_assert_cmpstr (sum, ==, before);

  reopen (f);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_cmpstr (label, ==, "Sửa thửa 17");
  redo (f);
  g_clear_pointer (&sum, g_free);
  sum = checksum (f);
  g_assert_cmpstr (sum, ==, after);
}

static void
test_conflict (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) p = props ("{\"chu\": \"Phạm Văn Đức\"}");
  g_autoptr(GError) error = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *sum2 = NULL;
  g_autofree char *state = NULL;
  g_autofree char *state2 = NULL;
  sqlite3 *other;

  dothi_change_set_update (set, LAYER, 2, p, NULL);
  apply (f, set, "Đổi chủ thửa 16", NULL);

  /* Another program changes the row after the action. */
  other = other_open (f->path);
  db_exec (other, "UPDATE thua_dat SET chu = 'Hộ ông Đức' WHERE fid = 2");
  other_close (other);

  sum = checksum (f);
  state = history_state (f);
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
  assert_contains (error->message, "feature 2");
  assert_contains (error->message, TITLE);
  assert_contains (error->message, "Đổi chủ thửa 16");
  sum2 = checksum (f);
  state2 = history_state (f);
  g_assert_cmpstr (sum2, ==, sum);
  g_assert_cmpstr (state2, ==, state);
  g_assert_true (sqlite3_get_autocommit (project_db (f->project)));

  /* A deleted row that came back is a conflict too. */
  {
    g_autoptr(DothiChangeSet) del = dothi_change_set_new ();
    g_autoptr(GError) e = NULL;

    g_clear_error (&error);
    dothi_change_set_delete (del, LAYER, 3);
    apply (f, del, "Xoá thửa 17", NULL);
    other = other_open (f->path);
    db_exec (other, "INSERT INTO thua_dat (fid, so_to, so_thua) VALUES (3, '05', 17)");
    other_close (other);
    g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &e), ==, 0);
    g_assert_error (e, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
    assert_contains (e->message, "feature 3");
  }
}

static void
test_revert (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiChangeSet) a = dothi_change_set_new ();
  g_autoptr(DothiChangeSet) b = dothi_change_set_new ();
  g_autoptr(JsonObject) pa = props ("{\"so_thua\": 110}");
  g_autoptr(JsonObject) pb = props ("{\"so_thua\": 160}");
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  sqlite3 *db = project_db (f->project);
  gint64 id_a, id_rev;

  dothi_change_set_update (a, LAYER, 1, pa, NULL);
  dothi_change_set_update (b, LAYER, 2, pb, NULL);
  id_a = apply (f, a, "Số thửa 110", NULL);
  apply (f, b, "Số thửa 160", NULL);

  id_rev = dothi_edit_revert_sync (f->project, id_a, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id_rev, >, 0);
  g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 1"), ==, 10);
  g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 2"), ==, 160);
  label = db_text (db, "SELECT label FROM dothi_actions ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (label, ==, "Revert: Số thửa 110");

  /* Reverted once is enough. */
  g_assert_cmpint (dothi_edit_revert_sync (f->project, id_a, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING);
  g_clear_error (&error);
  g_assert_cmpint (dothi_edit_revert_sync (f->project, 9999, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The revert is an action like any: undo takes it back. */
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Revert: Số thửa 110");
  undo (f);
  g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 1"), ==, 110);

  /* A revert over a later change of the same row is a conflict. */
  {
    g_autoptr(DothiChangeSet) c = dothi_change_set_new ();
    g_autoptr(JsonObject) pc = props ("{\"so_thua\": 170}");
    gint64 id_c;

    dothi_change_set_update (c, LAYER, 3, pc, NULL);
    id_c = apply (f, c, "Số thửa 170", NULL);
    g_assert_cmpint (id_c, >, 0);
    {
      g_autoptr(DothiChangeSet) d = dothi_change_set_new ();
      g_autoptr(JsonObject) pd = props ("{\"so_thua\": 171}");
      dothi_change_set_update (d, LAYER, 3, pd, NULL);
      apply (f, d, "Số thửa 171", NULL);
    }
    g_assert_cmpint (dothi_edit_revert_sync (f->project, id_c, NULL, &error), ==, 0);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
    assert_contains (error->message, "Cannot revert");
    g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 3"), ==, 171);
  }
}

static void
test_new_action_clears_redo (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiChangeSet) a = dothi_change_set_new ();
  g_autoptr(DothiChangeSet) b = dothi_change_set_new ();
  g_autoptr(DothiChangeSet) c = dothi_change_set_new ();
  g_autoptr(JsonObject) pa = props ("{\"so_thua\": 1}");
  g_autoptr(JsonObject) pb = props ("{\"so_thua\": 2}");
  g_autoptr(JsonObject) pc = props ("{\"so_thua\": 3}");
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  sqlite3 *db = project_db (f->project);

  dothi_change_set_update (a, LAYER, 1, pa, NULL);
  dothi_change_set_update (b, LAYER, 2, pb, NULL);
  dothi_change_set_update (c, LAYER, 3, pc, NULL);
  apply (f, a, "A", NULL);
  apply (f, b, "B", NULL);
  undo (f);
  undo (f);
  g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 1"), ==, 10);
  /* Redo goes forward in order: A first, then B. */
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_cmpstr (label, ==, "A");
  redo (f);
  g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 1"), ==, 1);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_cmpstr (label, ==, "B");

  /* A new action: B cannot be redone any more. */
  apply (f, c, "C", NULL);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_null (label);
  g_assert_cmpint (dothi_edit_redo_sync (f->project, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING);
  g_assert_cmpint (db_int (db, "SELECT so_thua FROM thua_dat WHERE fid = 2"), ==, 16);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "C");
  undo (f);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "A");
}

static void
add_second_layer (Fixture *f)
{
  DothiStore *store = dothi_project_get_store (f->project);
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GError) error = NULL;

  info->name = g_strdup ("so_muc_ke");
  info->title = g_strdup ("Sổ mục kê");
  info->kind = DOTHI_GEOMETRY_KIND_NONE;
  dothi_layer_info_add_field (info, "ghi_chu", DOTHI_FIELD_TEXT);
  g_assert_true (dothi_store_begin (store, "Sổ mục kê", &error));
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_true (dothi_store_finish_layer (store, "so_muc_ke", &error));
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

static char *
layer_order (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (f->project, &error);
  GString *s = g_string_new (NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < layers->len; i++)
    g_string_append_printf (s, "%s%s", i ? "," : "", ((DothiLayerInfo *) layers->pdata[i])->name);
  return g_string_free (s, FALSE);
}

static void
test_registry_undo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiStyle) style = NULL;
  g_autofree char *order = NULL;
  g_autofree char *label = NULL;
  g_autofree char *stored = NULL;

  add_second_layer (f);
  order = layer_order (f);
  g_assert_cmpstr (order, ==, "thua_dat,so_muc_ke");

  /* Visibility. */
  g_assert_true (dothi_project_set_layer_visible (f->project, LAYER, FALSE, &error));
  g_assert_no_error (error);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Hide layer");
  undo (f);
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_true (info->visible);
  g_clear_pointer (&info, dothi_layer_info_free);
  redo (f);
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_false (info->visible);
  g_clear_pointer (&info, dothi_layer_info_free);

  /* Opacity. */
  g_assert_true (dothi_project_set_layer_opacity (f->project, LAYER, 0.4, &error));
  undo (f);
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_cmpfloat_with_epsilon (info->opacity, 1.0, 1e-9);
  g_assert_false (info->visible);
  g_clear_pointer (&info, dothi_layer_info_free);

  /* Style: back to none stored. */
  style = dothi_project_dup_style (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_project_set_style (f->project, LAYER, style, &error));
  g_assert_no_error (error);
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_nonnull (info->style);
  stored = g_strdup (info->style);
  g_clear_pointer (&info, dothi_layer_info_free);
  undo (f);
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_null (info->style);
  g_clear_pointer (&info, dothi_layer_info_free);
  redo (f);
  info = dothi_project_get_layer (f->project, LAYER, &error);
  g_assert_cmpstr (info->style, ==, stored);
  g_clear_pointer (&info, dothi_layer_info_free);

  /* Order, also after a restart. */
  g_assert_true (dothi_project_move_layer (f->project, "so_muc_ke", 0, &error));
  g_assert_no_error (error);
  g_clear_pointer (&order, g_free);
  order = layer_order (f);
  g_assert_cmpstr (order, ==, "so_muc_ke,thua_dat");
  reopen (f);
  undo (f);
  g_clear_pointer (&order, g_free);
  order = layer_order (f);
  g_assert_cmpstr (order, ==, "thua_dat,so_muc_ke");
  redo (f);
  g_clear_pointer (&order, g_free);
  order = layer_order (f);
  g_assert_cmpstr (order, ==, "so_muc_ke,thua_dat");

  /* A registry change made since is a conflict. */
  g_assert_true (dothi_project_set_layer_visible (f->project, "so_muc_ke", FALSE, &error));
  {
    sqlite3 *other = other_open (f->path);
    db_exec (other, "UPDATE dothi_layers SET visible = 1 WHERE name = 'so_muc_ke'");
    other_close (other);
  }
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
  assert_contains (error->message, "Sổ mục kê");
}

/* ---- refused change sets ------------------------------------------------ */

static void
assert_refused (Fixture *f, const char *geojson, int code, const char * const *needles)
{
  g_autofree char *sum = checksum (f);
  g_autofree char *state = history_state (f);
  g_autofree char *sum2 = NULL;
  g_autofree char *state2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  gint64 id = 0;

  g_test_message ("%s", geojson);
  set = dothi_change_set_new_from_geojson (geojson, -1, LAYER, &error);
  g_assert_no_error (error);
  id = dothi_edit_apply_sync (f->project, set, "Bị từ chối", NULL, NULL, NULL, NULL, &error);
  g_assert_cmpint (id, ==, 0);
  g_assert_error (error, DOTHI_ERROR, code);
  for (guint i = 0; needles[i] != NULL; i++)
    assert_contains (error->message, needles[i]);
  sum2 = checksum (f);
  state2 = history_state (f);
  g_assert_cmpstr (sum2, ==, sum);
  g_assert_cmpstr (state2, ==, state);
  g_assert_true (sqlite3_get_autocommit (project_db (f->project)));
}

#define FC(features) "{\"type\": \"FeatureCollection\", \"features\": [" features "]}"
#define GOOD "{\"type\": \"Feature\", \"properties\": {\"so_thua\": 50}, \"geometry\": {\"type\": \"Polygon\", " \
  "\"coordinates\": [[[458400,1403500],[458420,1403500],[458420,1403520],[458400,1403500]]]}}"

static void
test_refused (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *geojson;
    int         code;
    const char *needles[4];
  } cases[] = {
    { FC (GOOD ", {\"type\": \"Feature\", \"properties\": {\"chu_su_dung\": \"x\"}}"),
      DOTHI_ERROR_NOT_FOUND, { "chu_su_dung", "new feature 2", TITLE, NULL } },
    { FC (GOOD ", {\"type\": \"Feature\", \"id\": 1, \"properties\": {\"so_thua\": \"12\"}}"),
      DOTHI_ERROR_INVALID_DATA, { "so_thua", "feature 1 of layer", "whole number", NULL } },
    { FC ("{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"so_thua\": 12.5}}"),
      DOTHI_ERROR_INVALID_DATA, { "so_thua", NULL } },
    { FC ("{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"chu\": 12}}"),
      DOTHI_ERROR_INVALID_DATA, { "chu", "text", NULL } },
    { FC ("{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"dien_tich\": \"nhiều\"}}"),
      DOTHI_ERROR_INVALID_DATA, { "dien_tich", "number", NULL } },
    { FC ("{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"ngay\": \"2024-02-30\"}}"),
      DOTHI_ERROR_INVALID_DATA, { "ngay", "date", NULL } },
    { FC ("{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"hop_le\": 1}}"),
      DOTHI_ERROR_INVALID_DATA, { "hop_le", "true or false", NULL } },
    { FC ("{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"ma\": \"xyz\"}}"),
      DOTHI_ERROR_INVALID_DATA, { "ma", NULL } },
    { FC (GOOD ", {\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"LineString\", "
          "\"coordinates\": [[458400,1403500],[458420,1403500]]}}"),
      DOTHI_ERROR_INVALID_DATA, { "new feature 2", "Line String", "polygons", NULL } },
    { FC (GOOD ", {\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
          "\"coordinates\": [[[458400,1403500,1],[458420,1403500,1],[458420,1403520,1],[458400,1403500,1]]]}}"),
      DOTHI_ERROR_INVALID_DATA, { "Z", NULL } },
    /* WGS 84 degrees given as if in the layer's VN-2000 metres. */
    { FC ("{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
          "\"coordinates\": [[[108.05,12.68],[108.06,12.68],[108.06,12.69],[108.05,12.68]]]}}"),
      DOTHI_ERROR_CRS, { "EPSG:9218", "crs", NULL } },
    /* A bow tie. */
    { FC (GOOD ", {\"type\": \"Feature\", \"id\": 2, \"geometry\": {\"type\": \"Polygon\", "
          "\"coordinates\": [[[458400,1403500],[458420,1403520],[458420,1403500],[458400,1403520],[458400,1403500]]]}}"),
      DOTHI_ERROR_INVALID_DATA, { "feature 2 of layer", "invalid", "Self-intersection", NULL } },
    { FC (GOOD ", {\"type\": \"Feature\", \"id\": 999, \"properties\": {\"so_thua\": 1}}"),
      DOTHI_ERROR_NOT_FOUND, { "999", TITLE, NULL } },
    { FC (GOOD ", {\"type\": \"Feature\", \"id\": 998, \"dothi:op\": \"delete\"}"),
      DOTHI_ERROR_NOT_FOUND, { "998", NULL } },
    { FC (GOOD ", {\"type\": \"Feature\", \"dothi:layer\": \"duong\", \"properties\": {}}"),
      DOTHI_ERROR_NOT_FOUND, { "duong", "Change 2", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (f, cases[i].geojson, cases[i].code, cases[i].needles);

  /* An empty set changes nothing. */
  {
    g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (dothi_edit_apply_sync (f->project, set, NULL, NULL, NULL, NULL, NULL, &error), ==, 0);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  }
  /* And a good set still goes in. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiChangeSet) set = dothi_change_set_new_from_geojson (FC (GOOD), -1, LAYER, &error);
    g_assert_no_error (error);
    apply (f, set, NULL, NULL);
  }
}

static void
test_crs_transform (Fixture *f, gconstpointer data)
{
  /* Around Buôn Ma Thuột in WGS 84, named by the collection. */
  const char *text =
    "{\"type\": \"FeatureCollection\", \"crs\": {\"type\": \"name\", \"properties\": "
    "{\"name\": \"urn:ogc:def:crs:OGC:1.3:CRS84\"}}, \"features\": [{\"type\": \"Feature\", "
    "\"properties\": {\"so_thua\": 77}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
    "[[[108.05,12.68],[108.0505,12.68],[108.0505,12.6805],[108.05,12.68]]]}}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new_from_geojson (text, -1, LAYER, &error);
  g_autoptr(GArray) fids = NULL;
  sqlite3 *db = project_db (f->project);
  g_autofree char *sql = NULL;

  g_assert_no_error (error);
  apply (f, set, NULL, &fids);
  sql = g_strdup_printf ("SELECT CAST(MbrMinX(geom) AS INTEGER) / 1000 * 1000000 + "
                         "CAST(MbrMinY(geom) AS INTEGER) / 1000 FROM thua_dat WHERE fid = %"
                         G_GINT64_FORMAT, g_array_index (fids, gint64, 0));
  /* E 450.9 km, N 1402.3 km in VN-2000 / TM-3 108°30′. */
  g_assert_cmpint (db_int (db, sql), ==, 450001402);
  g_assert_cmpint (db_int (db, "SELECT ST_SRID(geom) FROM thua_dat WHERE so_thua = 77"), ==, 9218);
}

/* ---- the database's own refusals ---------------------------------------- */

static void
test_trigger_rollback (Fixture *f, gconstpointer data)
{
  g_autofree char *sum = NULL;
  g_autofree char *sum2 = NULL;
  g_autofree char *state = NULL;
  g_autofree char *state2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) ok1 = props ("{\"so_thua\": 41}");
  g_autoptr(JsonObject) bad = props ("{\"so_thua\": 999}");
  g_autoptr(JsonObject) ok2 = props ("{\"so_thua\": 42}");
  g_autoptr(GBytes) g = wkb_from_wkt (NEW_PARCEL);
  sqlite3 *other;

  /* A trigger that ends the transaction the way SpatiaLite's geometry
   * triggers do. */
  other = other_open (f->path);
  db_exec (other, "CREATE TRIGGER refuse_999 BEFORE INSERT ON thua_dat WHEN NEW.so_thua = 999 "
                  "BEGIN SELECT RAISE(ROLLBACK, 'thua_dat.so_thua 999 refused'); END");
  other_close (other);

  sum = checksum (f);
  state = history_state (f);
  dothi_change_set_insert (set, LAYER, ok1, g);
  dothi_change_set_insert (set, LAYER, bad, g);
  dothi_change_set_insert (set, LAYER, ok2, g);
  g_assert_cmpint (dothi_edit_apply_sync (f->project, set, NULL, NULL, NULL, NULL, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED);
  assert_contains (error->message, "nothing was saved");
  assert_contains (error->message, "999 refused");
  sum2 = checksum (f);
  state2 = history_state (f);
  /* The first insert did not survive alone, nor the third in autocommit. */
  g_assert_cmpstr (sum2, ==, sum);
  g_assert_cmpstr (state2, ==, state);
  g_assert_cmpint (db_int (project_db (f->project), "SELECT count(*) FROM dothi_context"), ==, 0);

  /* The project is still usable. */
  {
    g_autoptr(DothiChangeSet) good = dothi_change_set_new ();
    dothi_change_set_insert (good, LAYER, ok1, g);
    apply (f, good, NULL, NULL);
  }
}

static void
test_busy (Fixture *f, gconstpointer data)
{
  g_autofree char *sum = NULL;
  g_autofree char *sum2 = NULL;
  g_autofree char *state = NULL;
  g_autofree char *state2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(DothiChangeSet) first = dothi_change_set_new ();
  g_autoptr(JsonObject) p = props ("{\"chu\": \"Võ Thị Sáu\"}");
  g_autoptr(JsonObject) p2 = props ("{\"so_thua\": 20}");
  sqlite3 *other;
  gint64 start;

  /* Something to undo. */
  dothi_change_set_update (first, LAYER, 2, p2, NULL);
  apply (f, first, NULL, NULL);
  sum = checksum (f);
  state = history_state (f);
  other = other_open (f->path);

  dothi_change_set_update (set, LAYER, 1, p, NULL);
  db_exec (other, "BEGIN IMMEDIATE");
  db_exec (other, "UPDATE thua_dat SET so_thua = 11 WHERE fid = 1");

  dothi_project_set_busy_timeout (f->project, 300);
  start = g_get_monotonic_time ();
  g_assert_cmpint (dothi_edit_apply_sync (f->project, set, NULL, NULL, NULL, NULL, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY);
  assert_contains (error->message, f->path);
  /* It waited, then gave up. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 250000);
  g_clear_error (&error);
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY);
  g_clear_error (&error);

  sum2 = checksum (f);
  state2 = history_state (f);
  g_assert_cmpstr (sum2, ==, sum);
  g_assert_cmpstr (state2, ==, state);

  /* The other program commits; then the edit goes in, nothing lost. */
  db_exec (other, "COMMIT");
  other_close (other);
  apply (f, set, NULL, NULL);
  g_clear_pointer (&sum, g_free);
  sum = db_text (project_db (f->project), "SELECT so_thua || '|' || chu FROM thua_dat WHERE fid = 1");
  g_assert_cmpstr (sum, ==, "11|Võ Thị Sáu");
}

static void
progress_cancel (double fraction, const char *stage, gpointer data)
{
  if (fraction > 0.5)
    g_cancellable_cancel (data);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(GBytes) g = wkb_from_wkt (NEW_PARCEL);
  g_autoptr(GError) error = NULL;
  g_autofree char *sum = checksum (f);
  g_autofree char *sum2 = NULL;
  g_autofree char *state = history_state (f);
  g_autofree char *state2 = NULL;

  for (guint i = 0; i < 2500; i++)
    dothi_change_set_insert (set, LAYER, NULL, g);
  g_assert_cmpint (dothi_edit_apply_sync (f->project, set, NULL, NULL, cancellable,
                                          progress_cancel, cancellable, &error), ==, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  sum2 = checksum (f);
  state2 = history_state (f);
  g_assert_cmpstr (sum2, ==, sum);
  g_assert_cmpstr (state2, ==, state);
}

/* ---- the audit API ------------------------------------------------------ */

static void
test_audit_list (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiChangeSet) a = dothi_change_set_new ();
  g_autoptr(JsonObject) pa = props ("{\"so_thua\": 12}");
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GError) error = NULL;
  DothiActionInfo *info;
  DothiFeatureEvent *e;
  gint64 id_a;

  dothi_change_set_update (a, LAYER, 1, pa, NULL);
  dothi_change_set_delete (a, LAYER, 2);
  id_a = apply (f, a, "Hai thay đổi", NULL);
  g_assert_true (dothi_project_set_layer_visible (f->project, LAYER, FALSE, &error));
  undo (f);

  list = dothi_audit_list_actions (f->project, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 4);
  info = list->pdata[0];
  g_assert_cmpstr (info->label, ==, "Undo: Hide layer");
  g_assert_cmpint (info->n_features, ==, 0);
  g_assert_cmpstr (info->layers[0], ==, LAYER);
  info = list->pdata[1];
  g_assert_cmpstr (info->label, ==, "Hide layer");
  g_assert_true (info->undone);
  info = list->pdata[2];
  g_assert_cmpint (info->id, ==, id_a);
  g_assert_cmpuint (info->n_features, ==, 2);
  g_assert_cmpstr (info->user, ==, g_get_user_name ());
  g_assert_false (info->undone);
  g_assert_cmpstr (info->layers[0], ==, LAYER);
  g_assert_null (info->layers[1]);
  info = list->pdata[3];
  g_assert_cmpstr (info->label, ==, "Nhập thửa đất");
  g_assert_cmpuint (info->n_features, ==, 1);

  page = dothi_audit_list_actions (f->project, 2, 1, &error);
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_cmpint (((DothiActionInfo *) page->pdata[0])->id, ==, id_a);

  history = dothi_audit_feature_history (f->project, LAYER, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 1);
  e = history->pdata[0];
  g_assert_cmpstr (e->op, ==, "delete");
  g_assert_cmpint (e->action_id, ==, id_a);
  g_assert_null (e->after_attrs);
  g_assert_null (e->after_wkb);
  g_assert_nonnull (e->before_wkb);
  {
    g_autofree char *wkt = wkt_from_wkb (e->before_wkb);
    assert_contains (wkt, "MULTIPOLYGON ((("); 
    assert_contains (wkt, "458143.441 1403343.413");
  }

  g_clear_pointer (&history, g_ptr_array_unref);
  history = dothi_audit_feature_history (f->project, "khong_co", 1, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
}

static gboolean
run_spatialite (const char *path, const char *sql)
{
  g_autofree char *program = g_find_program_in_path ("spatialite");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;

  if (program == NULL)
    return FALSE;
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                           &error, program, path, sql, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (proc, NULL, &error));
  g_assert_no_error (error);
  return TRUE;
}

static void
test_external_edit (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) p = props ("{\"so_thua\": 12}");
  DothiFeatureEvent *e;
  DothiActionInfo *info;

  dothi_change_set_update (set, LAYER, 1, p, NULL);
  apply (f, set, "Số thửa 12", NULL);
  if (!run_spatialite (f->path, "UPDATE thua_dat SET chu = 'UBND phường', "
                                "geom = ST_Translate(geom, 1.5, 0, 0) WHERE fid = 1; "
                                "UPDATE thua_dat SET so_to = '6' WHERE fid = 3;"))
    {
      g_test_skip ("spatialite is not installed");
      return;
    }

  history = dothi_audit_feature_history (f->project, LAYER, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 2);
  e = history->pdata[0];
  g_assert_cmpstr (e->user, ==, g_get_user_name ());
  g_assert_cmpint (e->action_id, >, 0);
  e = history->pdata[1];
  g_assert_cmpstr (e->user, ==, "external");
  g_assert_cmpint (e->action_id, ==, 0);
  g_assert_cmpstr (e->op, ==, "update");
  assert_contains (e->after_attrs, "UBND phường");
  {
    g_autofree char *b = wkt_from_wkb (e->before_wkb);
    g_autofree char *a = wkt_from_wkb (e->after_wkb);

    assert_contains (b, "458289.01 1403384.29");
    assert_contains (a, "458290.51 1403384.29");
  }

  /* Both rows of that run are one entry in the list. */
  list = dothi_audit_list_actions (f->project, 0, 10, &error);
  g_assert_no_error (error);
  info = list->pdata[0];
  g_assert_cmpint (info->id, ==, 0);
  g_assert_cmpstr (info->user, ==, "external");
  g_assert_cmpuint (info->n_features, ==, 2);
  g_assert_cmpstr (info->layers[0], ==, LAYER);
  info = list->pdata[1];
  g_assert_cmpstr (info->label, ==, "Số thửa 12");

  /* And undoing the edit under it is refused. */
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
  assert_contains (error->message, "feature 1");
}

/* ---- kill -9 in the middle of an action --------------------------------- */

static goffset
file_size (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return 0;
  return st.st_size;
}

static void
test_crash (Fixture *f, gconstpointer data)
{
  const char *cli = g_getenv ("DOTHI_CLI");
  g_autofree char *changes = g_build_filename (f->dir, "changes.geojson", NULL);
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
  g_autofree char *sum = checksum (f);
  g_autofree char *sum2 = NULL;
  g_autofree char *state = history_state (f);
  g_autofree char *state2 = NULL;
  g_autoptr(GString) json = g_string_new ("{\"type\": \"FeatureCollection\", \"features\": [");
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;
  goffset wal_start;
  gboolean killed = FALSE;

  if (cli == NULL || !g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("DOTHI_CLI is not built");
      return;
    }
  for (guint i = 0; i < 20000; i++)
    {
      double x = 456500 + (i % 140) * 20.0, y = 1401900 + (i / 140) * 20.0;

      g_string_append_printf (json,
                              "%s{\"type\": \"Feature\", \"properties\": {\"so_to\": \"%u\", \"so_thua\": %u, "
                              "\"chu\": \"Nguyễn Văn %u\"}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
                              "[[[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f]]]}}",
                              i ? "," : "", i / 100, i, i,
                              x, y, x + 15, y, x + 15, y + 15, x, y + 15, x, y);
    }
  g_string_append (json, "]}");
  g_assert_true (g_file_set_contents (changes, json->str, json->len, &error));
  g_assert_no_error (error);

  /* The child has the project to itself; the WAL starts empty. */
  g_clear_object (&f->project);
  wal_start = file_size (wal);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                           cli, "edit", f->path, "--changes", changes, "--layer", LAYER, NULL);
  g_assert_no_error (error);

  /* Killed once the action's pages spill into the WAL: mid-transaction,
   * long before its commit. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      if (file_size (wal) > wal_start + 512 * 1024)
        {
          g_subprocess_send_signal (proc, SIGKILL);
          killed = TRUE;
          break;
        }
      g_usleep (500);
    }
  g_assert_true (killed);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (proc));
  g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGKILL);
  g_test_message ("killed with a WAL of %" G_GOFFSET_FORMAT " bytes", file_size (wal));

  /* The last committed action is intact; nothing of the half one. */
  reopen (f);
  sum2 = checksum (f);
  state2 = history_state (f);
  g_assert_cmpstr (sum2, ==, sum);
  g_assert_cmpstr (state2, ==, state);
  g_assert_cmpint (db_int (project_db (f->project), "SELECT count(*) FROM dothi_context"), ==, 0);
  g_assert_cmpint (db_int (project_db (f->project), "SELECT count(*) FROM thua_dat"), ==, 3);

  /* And a later edit works. */
  {
    g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
    g_autoptr(JsonObject) p = props ("{\"so_thua\": 12}");

    dothi_change_set_update (set, LAYER, 1, p, NULL);
    apply (f, set, NULL, NULL);
    undo (f);
  }
}

/* ---- layer and field actions ------------------------------------------- */

/* Two pumping stations in WGS 84, imported with the core as a user would. */
static char *
import_stations (Fixture *f)
{
  g_autofree char *source = g_build_filename (f->dir, "tram_bom.geojson", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autoptr(GPtrArray) layers = NULL;

  g_assert_true (g_file_set_contents (source,
                                      "{\"type\": \"FeatureCollection\", \"features\": ["
                                      "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Trạm Ea Tam\", \"cong_suat\": 120},"
                                      " \"geometry\": {\"type\": \"Point\", \"coordinates\": [108.0512, 12.6705]}},"
                                      "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Trạm Tân Lập\", \"cong_suat\": null},"
                                      " \"geometry\": {\"type\": \"Point\", \"coordinates\": [108.0561, 12.6832]}}]}",
                                      -1, &error));
  g_assert_no_error (error);
  import = dothi_import_new (f->project, source);
  g_assert_true (dothi_import_run_sync (import, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  layers = dothi_project_list_layers (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 2);
  for (guint i = 0; i < layers->len; i++)
    {
      DothiLayerInfo *info = layers->pdata[i];
      if (g_strcmp0 (info->name, LAYER) != 0)
        return g_strdup (info->name);
    }
  g_assert_not_reached ();
  return NULL;
}

static gint64
table_count (sqlite3 *db, const char *sql, const char *name)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

#define IN_SCHEMA "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
#define IN_GEOMETRY_COLUMNS "SELECT count(*) FROM geometry_columns WHERE f_table_name = ?1"

static void
assert_layer_listed (Fixture *f, const char *name, gboolean listed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (f->project, &error);
  gboolean found = FALSE;

  g_assert_no_error (error);
  for (guint i = 0; i < layers->len; i++)
    {
      DothiLayerInfo *info = layers->pdata[i];
      found |= g_str_equal (info->name, name);
      /* Hidden tables are never layers. */
      g_assert_false (g_str_has_prefix (info->name, "dothi_"));
    }
  g_assert_cmpint (found, ==, listed);
}

static void
test_import_undo_redo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = import_stations (f);
  g_autofree char *title = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *again = NULL;
  g_autofree char *trash = NULL;
  g_autofree char *label = NULL;
  gint64 undo_id, redo_id, import_id;
  sqlite3 *db;

  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, name, &error);
    g_assert_no_error (error);
    title = g_strdup (info->title);
    g_assert_cmpint (info->feature_count, ==, 2);
  }
  sum = dothi_project_layer_checksum (f->project, name, &error);
  g_assert_no_error (error);
  import_id = db_int (project_db (f->project), "SELECT max(id) FROM dothi_actions");
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_nonnull (label);

  /* Undo, after a restart: the layer goes out of sight, not away. */
  reopen (f);
  undo_id = undo (f);
  assert_layer_listed (f, name, FALSE);
  g_assert_null (dothi_project_get_layer (f->project, name, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (dothi_store_has_table (dothi_project_get_store (f->project), name));
  trash = g_strdup_printf ("dothi_trash_%" G_GINT64_FORMAT "_%s", undo_id, name);
  db = project_db (f->project);
  g_assert_cmpint (table_count (db, IN_SCHEMA, trash), ==, 1);
  g_assert_cmpint (table_count (db, IN_SCHEMA, name), ==, 0);
  /* What QGIS reads: no geometry column under the old name; the hidden
   * table keeps its own metadata and spatial index. */
  g_assert_cmpint (table_count (db, IN_GEOMETRY_COLUMNS, name), ==, 0);
  g_assert_cmpint (table_count (db, IN_GEOMETRY_COLUMNS, trash), ==, 1);
  g_assert_cmpint (table_count (db, "SELECT count(*) FROM dothi_fields WHERE layer = ?1", name), ==, 0);
  {
    g_autofree char *idx = g_strdup_printf ("idx_%s_geom", trash);
    g_assert_cmpint (table_count (db, IN_SCHEMA, idx), ==, 1);
  }
  /* "dothi_" names are never a layer's. */
  g_assert_true (dothi_store_has_table (dothi_project_get_store (f->project), trash));

  /* Redo, after a restart: the same layer, title and rows. */
  reopen (f);
  redo_id = redo (f);
  assert_layer_listed (f, name, TRUE);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, name, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (info->title, ==, title);
    g_assert_cmpint (info->feature_count, ==, 2);
    g_assert_cmpuint (info->fields->len, ==, 2);
  }
  again = dothi_project_layer_checksum (f->project, name, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, sum);
  db = project_db (f->project);
  g_assert_cmpint (table_count (db, IN_SCHEMA, trash), ==, 0);
  g_assert_cmpint (table_count (db, IN_GEOMETRY_COLUMNS, name), ==, 1);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT CheckSpatialIndex('%s', 'geom')", name);
    g_assert_cmpint (db_int (db, sql), ==, 1);
  }

  /* Edits of the restored layer are audited under its name again. */
  {
    g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
    g_autoptr(JsonObject) p = props ("{\"cong_suat\": 90}");
    gint64 edit;

    dothi_change_set_update (set, name, 2, p, NULL);
    edit = apply (f, set, "Sửa công suất", NULL);
    g_assert_cmpint (table_count (db, "SELECT count(*) FROM dothi_audit WHERE layer = ?1 AND op = 'update'",
                                  name), ==, 1);

    /* The import (done again by the redo), edited since, cannot be
     * reverted; the import itself is undone already. */
    g_assert_cmpint (dothi_edit_revert_sync (f->project, import_id, NULL, &error), ==, 0);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING);
    g_clear_error (&error);
    g_assert_cmpint (dothi_edit_revert_sync (f->project, redo_id, NULL, &error), ==, 0);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
    assert_contains (error->message, title);
    g_clear_error (&error);
    assert_layer_listed (f, name, TRUE);
    g_assert_cmpint (edit, >, 0);
  }
  /* Undo the edit, then the redo of the import: nothing is edited on
   * balance, so the layer goes out of sight again, and comes back. */
  undo (f);
  reopen (f);
  undo (f);
  assert_layer_listed (f, name, FALSE);
  redo (f);
  g_clear_pointer (&again, g_free);
  again = dothi_project_layer_checksum (f->project, name, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, sum);
}

/* Import, edit, then undo until the import: the edit goes first. With
 * the edit standing, undoing the import out of turn is a conflict. */
static void
test_import_edit_conflict (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = import_stations (f);
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(JsonObject) p = props ("{\"ten\": \"Trạm mới\"}");
  g_autoptr(GBytes) pt = wkb_from_wkt ("MULTIPOINT ((448000 1402000))");
  g_autofree char *state = NULL;
  g_autofree char *after = NULL;
  gint64 import_id = db_int (project_db (f->project), "SELECT max(id) FROM dothi_actions");

  dothi_change_set_insert (set, name, p, pt);
  apply (f, set, NULL, NULL);
  reopen (f);
  state = history_state (f);
  g_assert_cmpint (dothi_edit_revert_sync (f->project, import_id, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
  assert_contains (error->message, "tram_bom");
  g_clear_error (&error);
  after = history_state (f);
  g_assert_cmpstr (after, ==, state);
  assert_layer_listed (f, name, TRUE);
}

static void
test_field_add_undo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *state = history_state (f);
  g_autofree char *now = NULL;
  g_autofree char *label = NULL;
  gint64 action, redo_id;

  /* Refused names leave the project alone. */
  {
    const struct { const char *name; int code; } bad[] = {
      { "geom", DOTHI_ERROR_INVALID_DATA },
      { "fid", DOTHI_ERROR_INVALID_DATA },
      { "Ghi chu", DOTHI_ERROR_INVALID_DATA },
      { "ghi-chu", DOTHI_ERROR_INVALID_DATA },
      { "dothi_x", DOTHI_ERROR_INVALID_DATA },
      { "so_to", DOTHI_ERROR_EXISTS },
      { "SO_TO", DOTHI_ERROR_INVALID_DATA },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_assert_cmpint (dothi_project_add_field (f->project, LAYER, bad[i].name, DOTHI_FIELD_TEXT, &error), ==, 0);
        g_assert_error (error, DOTHI_ERROR, bad[i].code);
        g_clear_error (&error);
      }
    g_assert_cmpint (dothi_project_add_field (f->project, "khong_co", "ghi_chu", DOTHI_FIELD_TEXT, &error), ==, 0);
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
    g_clear_error (&error);
    now = history_state (f);
    g_assert_cmpstr (now, ==, state);
  }

  action = dothi_project_add_field (f->project, LAYER, "ngay_kiem_tra", DOTHI_FIELD_DATE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  label = dothi_edit_dup_undo_label (f->project);
  assert_contains (label, "ngay_kiem_tra");
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    int i = dothi_layer_info_find_field (info, "ngay_kiem_tra");

    g_assert_cmpint (i, >=, 0);
    g_assert_cmpint (((DothiField *) info->fields->pdata[i])->type, ==, DOTHI_FIELD_DATE);
  }

  reopen (f);
  undo (f);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    g_assert_cmpint (dothi_layer_info_find_field (info, "ngay_kiem_tra"), <, 0);
  }
  g_clear_pointer (&now, g_free);
  now = checksum (f);
  g_assert_cmpstr (now, ==, before);

  reopen (f);
  redo_id = redo (f);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    int i = dothi_layer_info_find_field (info, "ngay_kiem_tra");

    g_assert_cmpint (i, >=, 0);
    g_assert_cmpint (((DothiField *) info->fields->pdata[i])->type, ==, DOTHI_FIELD_DATE);
  }

  /* A value in the new field: the field cannot be taken away under it. */
  {
    g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
    g_autoptr(JsonObject) p = props ("{\"ngay_kiem_tra\": \"2024-05-02\"}");

    dothi_change_set_update (set, LAYER, 1, p, NULL);
    apply (f, set, NULL, NULL);
    g_assert_cmpint (db_int (project_db (f->project),
                             "SELECT count(*) FROM dothi_audit WHERE op = 'update' "
                             "AND json_extract(after_attrs, '$.ngay_kiem_tra') = '2024-05-02'"), ==, 1);
  }
  g_assert_cmpint (dothi_edit_revert_sync (f->project, redo_id, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT);
  assert_contains (error->message, "ngay_kiem_tra");
  g_clear_error (&error);
  /* Undo the value, then the field. */
  undo (f);
  undo (f);
  g_clear_pointer (&now, g_free);
  now = checksum (f);
  g_assert_cmpstr (now, ==, before);
}

static void
test_field_remove_undo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *now = NULL;
  g_autofree char *trash = NULL;
  g_autofree char *value = NULL;
  const char *fields[] = { "chu", "ma", "ngay" };
  gint64 action;

  action = dothi_project_remove_field (f->project, LAYER, "chu", &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    g_assert_cmpint (dothi_layer_info_find_field (info, "chu"), <, 0);
  }
  /* The values are kept, NULLs left out. */
  trash = g_strdup_printf ("dothi_trash_%" G_GINT64_FORMAT "_" LAYER "_chu", action);
  g_assert_cmpint (table_count (project_db (f->project), IN_SCHEMA, trash), ==, 1);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM \"%s\"", trash);
    g_assert_cmpint (db_int (project_db (f->project), sql), ==, 2);
  }
  assert_layer_listed (f, LAYER, TRUE);
  g_assert_cmpint (dothi_project_remove_field (f->project, LAYER, "chu", &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  reopen (f);
  undo (f);
  now = checksum (f);
  g_assert_cmpstr (now, ==, before);
  g_assert_cmpint (table_count (project_db (f->project), IN_SCHEMA, trash), ==, 0);
  value = db_text (project_db (f->project), "SELECT chu FROM thua_dat WHERE fid = 1");
  g_assert_cmpstr (value, ==, "Uỷ ban nhân dân Phường Tân Lập");
  g_assert_cmpint (db_int (project_db (f->project), "SELECT chu IS NULL FROM thua_dat WHERE fid = 2"), ==, 1);

  reopen (f);
  redo (f);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    g_assert_cmpint (dothi_layer_info_find_field (info, "chu"), <, 0);
  }
  undo (f);
  g_clear_pointer (&now, g_free);
  now = checksum (f);
  g_assert_cmpstr (now, ==, before);

  /* A BLOB and a date field too, each with its type back. */
  for (guint i = 1; i < G_N_ELEMENTS (fields); i++)
    {
      g_autoptr(DothiLayerInfo) old = dothi_project_get_layer (f->project, LAYER, &error);
      g_autoptr(DothiLayerInfo) info = NULL;
      DothiFieldType type = ((DothiField *) old->fields->pdata[dothi_layer_info_find_field (old, fields[i])])->type;

      g_assert_cmpint (dothi_project_remove_field (f->project, LAYER, fields[i], &error), >, 0);
      g_assert_no_error (error);
      reopen (f);
      undo (f);
      info = dothi_project_get_layer (f->project, LAYER, &error);
      g_assert_cmpint (((DothiField *) info->fields->pdata[dothi_layer_info_find_field (info, fields[i])])->type,
                       ==, type);
      g_clear_pointer (&now, g_free);
      now = checksum (f);
      g_assert_cmpstr (now, ==, before);
    }

  /* The restored field is audited again. */
  {
    g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
    g_autoptr(JsonObject) p = props ("{\"chu\": \"Trần Văn Bình\"}");

    dothi_change_set_update (set, LAYER, 2, p, NULL);
    apply (f, set, NULL, NULL);
    g_clear_pointer (&value, g_free);
    value = db_text (project_db (f->project),
                     "SELECT json_extract(after_attrs, '$.chu') FROM dothi_audit ORDER BY id DESC LIMIT 1");
    g_assert_cmpstr (value, ==, "Trần Văn Bình");
    undo (f);
  }

  /* An indexed field stays. */
  db_exec (project_db (f->project), "CREATE INDEX thua_dat_so_thua ON thua_dat (so_thua)");
  g_assert_cmpint (dothi_project_remove_field (f->project, LAYER, "so_thua", &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  assert_contains (error->message, "so_thua");
}

static void
test_rename_layer (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *now = NULL;
  gint64 action;

  action = dothi_project_rename_layer (f->project, LAYER, "Thửa đất (bản mới)", &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    g_assert_cmpstr (info->title, ==, "Thửa đất (bản mới)");
  }
  g_assert_cmpint (dothi_project_rename_layer (f->project, LAYER, "  ", &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_cmpint (dothi_project_rename_layer (f->project, LAYER, "Thửa đất (bản mới)", &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING);
  g_clear_error (&error);

  reopen (f);
  undo (f);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    g_assert_cmpstr (info->title, ==, TITLE);
  }
  reopen (f);
  redo (f);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, LAYER, &error);
    g_assert_cmpstr (info->title, ==, "Thửa đất (bản mới)");
  }
  now = checksum (f);
  g_assert_cmpstr (now, ==, before);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/edit/geojson/parse", test_geojson_parse);
  ADD ("/edit/insert-undo-redo", test_insert_undo_redo);
  ADD ("/edit/update-delete-undo", test_update_delete_undo);
  ADD ("/edit/undo-after-restart", test_undo_after_restart);
  ADD ("/edit/conflict", test_conflict);
  ADD ("/edit/revert", test_revert);
  ADD ("/edit/new-action-clears-redo", test_new_action_clears_redo);
  ADD ("/edit/registry-undo", test_registry_undo);
  ADD ("/edit/refused", test_refused);
  ADD ("/edit/crs-transform", test_crs_transform);
  ADD ("/edit/trigger-rollback", test_trigger_rollback);
  ADD ("/edit/busy", test_busy);
  ADD ("/edit/cancel", test_cancel);
  ADD ("/edit/audit/list", test_audit_list);
  ADD ("/edit/audit/external", test_external_edit);
  ADD ("/edit/crash-kill-9", test_crash);
  ADD ("/edit/layer/import-undo-redo", test_import_undo_redo);
  ADD ("/edit/layer/import-edit-conflict", test_import_edit_conflict);
  ADD ("/edit/layer/rename", test_rename_layer);
  ADD ("/edit/field/add-undo", test_field_add_undo);
  ADD ("/edit/field/remove-undo", test_field_remove_undo);

  return g_test_run ();
}
