/* test-incident.c: the incidents layer made like an imported one and read
 * back with GDAL, reports inserted through the edit API, their workflow
 * as audited, undoable edits, and the assets near one, on a demo city. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-incident.h"
#include "dothi-style.h"
#include "dothi-project.h"
#include "dothi-spatialite-store.h"
#include "test-util.h"

#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <string.h>

#define DEMO_PARCELS 1500
#define DEMO_SEED 7

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

/* The integer @sql (no user input) answers on the project's connection. */
static gint64
scalar (Fixture *f, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack ? haystack : "(null)", needle);
}

/* An ISO 8601 time with the +07:00 offset of ICT. */
static void
assert_ict_time (const char *text)
{
  g_autoptr(GDateTime) dt = NULL;

  g_assert_nonnull (text);
  g_assert_true (g_str_has_suffix (text, "+07:00"));
  dt = g_date_time_new_from_iso8601 (text, NULL);
  g_assert_nonnull (dt);
  g_assert_cmpint (g_date_time_get_utc_offset (dt), ==, 7 * G_TIME_SPAN_HOUR);
}

/* Inserts one report at (@x, @y) in EPSG:9218 as a GeoJSON change set,
 * as the live ingest does; returns its fid. */
static gint64
insert_incident (Fixture *f, const char *report_id, const char *received_at,
                 const char *category, double x, double y)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(GArray) fids = NULL;
  g_autofree char *json = NULL;
  char xs[G_ASCII_DTOSTR_BUF_SIZE], ys[G_ASCII_DTOSTR_BUF_SIZE];
  gint64 id;

  g_ascii_dtostr (xs, sizeof xs, x);
  g_ascii_dtostr (ys, sizeof ys, y);
  json = g_strdup_printf ("{\"type\": \"FeatureCollection\","
                          " \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"urn:ogc:def:crs:EPSG::9218\"}},"
                          " \"features\": [{\"type\": \"Feature\","
                          "  \"geometry\": {\"type\": \"Point\", \"coordinates\": [%s, %s]},"
                          "  \"properties\": {\"report_id\": \"%s\", \"received_at\": \"%s\","
                          "   \"category\": \"%s\", \"description\": \"Nước chảy tràn mặt đường\","
                          "   \"photo_url\": \"https://example.invalid/anh/%s.jpg\","
                          "   \"reporter\": \"Nguyễn Thị Hoa\", \"status\": \"received\"}}]}",
                          xs, ys, report_id, received_at, category, report_id);
  set = dothi_change_set_new_from_geojson (json, -1, "incidents", &error);
  g_assert_no_error (error);
  id = dothi_edit_apply_sync (f->project, set, "Phản ánh mới", &fids, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  g_assert_cmpuint (fids->len, ==, 1);
  return g_array_index (fids, gint64, 0);
}

/* A point in the middle of the first segment of the first water main. */
static gint64
point_on_main (Fixture *f, double *x, double *y, char **code)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 fid;

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f),
                                       "SELECT fid, ma_ong, "
                                       "ST_X(ST_PointN(ST_GeometryN(geom, 1), 1)), "
                                       "ST_Y(ST_PointN(ST_GeometryN(geom, 1), 1)), "
                                       "ST_X(ST_PointN(ST_GeometryN(geom, 1), 2)), "
                                       "ST_Y(ST_PointN(ST_GeometryN(geom, 1), 2)) "
                                       "FROM water_mains ORDER BY fid LIMIT 1",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  fid = sqlite3_column_int64 (stmt, 0);
  *code = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  *x = (sqlite3_column_double (stmt, 2) + sqlite3_column_double (stmt, 4)) / 2;
  *y = (sqlite3_column_double (stmt, 3) + sqlite3_column_double (stmt, 5)) / 2;
  return fid;
}

/* Somewhere in the city: the middle of the parcels' extent. */
static void
city_centre (Fixture *f, double *x, double *y)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) parcels = dothi_project_get_layer (f->project, "parcels", &error);

  g_assert_no_error (error);
  *x = (parcels->extent[0] + parcels->extent[2]) / 2;
  *y = (parcels->extent[1] + parcels->extent[3]) / 2;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_status_strings (void)
{
  static const char *names[] = { "received", "assigned", "in_progress", "resolved", "published" };
  static const char *labels[] = { "Đã tiếp nhận", "Đã giao xử lý", "Đang xử lý", "Đã xử lý", "Đã công khai" };
  DothiIncidentStatus status;

  for (int i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    {
      g_assert_cmpstr (dothi_incident_status_to_string (i), ==, names[i]);
      g_assert_cmpstr (dothi_incident_status_label (i), ==, labels[i]);
      g_assert_true (dothi_incident_status_from_string (names[i], &status));
      g_assert_cmpint (status, ==, i);
    }
  g_assert_false (dothi_incident_status_from_string ("closed", &status));
  g_assert_false (dothi_incident_status_from_string (NULL, &status));
}

static void
test_ensure_layer (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  gint64 actions;
  static const char *datetimes[] = { "received_at", "assigned_at", "in_progress_at",
                                     "resolved_at", "published_at" };
  static const char *texts[] = { "report_id", "category", "description", "photo_url",
                                 "reporter", "status", "unit", "notes" };

  actions = scalar (f, "SELECT count(*) FROM dothi_actions");
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);

  info = dothi_project_get_layer (f->project, "incidents", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->title, ==, "Phản ánh hiện trường");
  g_assert_cmpint (info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpint (info->srid, ==, dothi_project_get_srid (f->project));
  g_assert_cmpint (info->srid, ==, 9218);
  g_assert_cmpint (info->fields->len, ==, G_N_ELEMENTS (datetimes) - 1 + G_N_ELEMENTS (texts) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (datetimes); i++)
    {
      int k = dothi_layer_info_find_field (info, datetimes[i]);
      g_assert_cmpint (k, >=, 0);
      g_assert_cmpint (((DothiField *) g_ptr_array_index (info->fields, k))->type, ==, DOTHI_FIELD_DATETIME);
    }
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      int k = dothi_layer_info_find_field (info, texts[i]);
      g_assert_cmpint (k, >=, 0);
      g_assert_cmpint (((DothiField *) g_ptr_array_index (info->fields, k))->type, ==, DOTHI_FIELD_TEXT);
    }

  /* Made as an import is: one action with one "import" audit row,
   * geometry registered, an R-tree, audit triggers. */
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_actions"), ==, actions + 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_audit WHERE layer = 'incidents' "
                              "AND op = 'import'"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM geometry_columns WHERE f_table_name = 'incidents' "
                              "AND srid = 9218 AND spatial_index_enabled = 1"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM sqlite_master WHERE name = 'idx_incidents_geom'"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                              "AND name LIKE 'dothi_audit_incidents_%'"), ==, 3);

  /* Its own style: squares by status, every status in the legend with
   * the workflow's names and the live layer's colours. */
  {
    g_autoptr(DothiStyle) style = dothi_project_dup_style (f->project, "incidents", &error);
    const char *names[] = { "received", "assigned", "in_progress", "resolved", "published" };
    const DothiSymbol *received;

    g_assert_no_error (error);
    g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
    g_assert_cmpstr (style->field, ==, "status");
    g_assert_cmpstr (style->label_field, ==, "category");
    g_assert_cmpuint (style->rules->len, ==, G_N_ELEMENTS (names));
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        const DothiStyleRule *rule = g_ptr_array_index (style->rules, i);

        g_assert_cmpstr (rule->value, ==, names[i]);
        g_assert_cmpint (rule->symbol.marker, ==, DOTHI_MARKER_SQUARE);
      }
    g_assert_cmpstr (((DothiStyleRule *) g_ptr_array_index (style->rules, 0))->label, ==, "Đã tiếp nhận");
    received = dothi_style_lookup_text (style, "received");
    g_assert_nonnull (received);
    g_assert_cmpfloat_with_epsilon (received->fill.r, 0xe6 / 255.0, 1e-6);
  }

  /* Twice is the same as once: no second layer, no second action. */
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_layers WHERE name = 'incidents'"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_actions"), ==, actions + 1);

  /* And the same after a restart, whose open did not rewrite anything. */
  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_actions"), ==, actions + 1);
}

static void
test_ensure_layer_read_only (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) ro = NULL;
  g_autoptr(GPtrArray) list = NULL;

  g_clear_object (&f->project);
  ro = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_assert_false (dothi_incident_ensure_layer (ro, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY);
  assert_contains (error->message, f->path);
  assert_contains (error->message, "read-only");
  g_clear_error (&error);
  g_clear_object (&ro);

  /* Nothing was made; a project without the layer lists no incidents. */
  list = dothi_incident_list (f->path, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_null (dothi_incident_get (f->path, 1, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "incidents");
  g_clear_error (&error);

  /* Once made, a read-only project has it: ensuring is then fine. */
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  g_clear_object (&f->project);
  ro = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_incident_ensure_layer (ro, &error));
  g_assert_no_error (error);
}

static void
test_list_get (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  DothiIncident *incident;
  double x, y;
  gint64 first, second;

  city_centre (f, &x, &y);
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  first = insert_incident (f, "PA-2026-0041", "2026-11-23T08:05:00+07:00", "vỡ ống", x, y);
  second = insert_incident (f, "PA-2026-0042", "2026-11-23T09:15:30+07:00", "ngập", x + 25.5, y - 12.25);
  g_assert_cmpint (second, >, first);

  /* Newest first, by the moment received. */
  list = dothi_incident_list (f->path, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  incident = g_ptr_array_index (list, 0);
  g_assert_cmpint (incident->fid, ==, second);
  g_assert_cmpstr (incident->report_id, ==, "PA-2026-0042");
  g_assert_cmpstr (((DothiIncident *) g_ptr_array_index (list, 1))->report_id, ==, "PA-2026-0041");
  g_clear_pointer (&list, g_ptr_array_unref);

  list = dothi_incident_list (f->path, DOTHI_INCIDENT_RECEIVED, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = dothi_incident_list (f->path, DOTHI_INCIDENT_ASSIGNED, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);

  incident = dothi_incident_get (f->path, second, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->fid, ==, second);
  g_assert_cmpstr (incident->report_id, ==, "PA-2026-0042");
  g_assert_cmpstr (incident->category, ==, "ngập");
  g_assert_cmpstr (incident->description, ==, "Nước chảy tràn mặt đường");
  g_assert_cmpstr (incident->photo_url, ==, "https://example.invalid/anh/PA-2026-0042.jpg");
  g_assert_cmpstr (incident->reporter, ==, "Nguyễn Thị Hoa");
  g_assert_cmpstr (incident->received_at, ==, "2026-11-23T09:15:30+07:00");
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_RECEIVED);
  g_assert_cmpstr (incident->status_at[DOTHI_INCIDENT_RECEIVED], ==, "2026-11-23T09:15:30+07:00");
  for (int i = DOTHI_INCIDENT_ASSIGNED; i < DOTHI_N_INCIDENT_STATUSES; i++)
    g_assert_null (incident->status_at[i]);
  g_assert_null (incident->unit);
  g_assert_null (incident->notes);
  g_assert_cmpfloat_with_epsilon (incident->x, x + 25.5, 0.01);
  g_assert_cmpfloat_with_epsilon (incident->y, y - 12.25, 0.01);
  dothi_incident_free (incident);

  g_assert_null (dothi_incident_get (f->path, second + 100, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, f->path);
  g_clear_error (&error);

  /* A report id is stored once: a redelivered report is refused. */
  {
    g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
    g_autoptr(JsonObject) props = json_object_new ();

    json_object_set_string_member (props, "report_id", "PA-2026-0042");
    dothi_change_set_insert (set, "incidents", props, NULL);
    g_assert_cmpint (dothi_edit_apply_sync (f->project, set, NULL, NULL, NULL, NULL, NULL, &error), ==, 0);
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_cmpint (scalar (f, "SELECT count(*) FROM incidents"), ==, 2);
  }
}

static void
test_workflow (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *after = NULL;
  g_autofree char *undo_label = NULL;
  DothiIncident *incident;
  gint64 fid, ids[DOTHI_N_INCIDENT_STATUSES] = { 0 };
  gint64 undo;
  double x, y;
  char **lines;

  city_centre (f, &x, &y);
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  fid = insert_incident (f, "PA-2026-0042", "2026-11-23T09:15:00+07:00", "vỡ ống", x, y);

  ids[DOTHI_INCIDENT_ASSIGNED] = dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_ASSIGNED,
                                                            "Đội sửa chữa số 2",
                                                            "Giao đội 2, mang theo máy bơm", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ids[DOTHI_INCIDENT_ASSIGNED], >, 0);
  incident = dothi_incident_get (f->path, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_ASSIGNED);
  g_assert_cmpstr (incident->unit, ==, "Đội sửa chữa số 2");
  assert_ict_time (incident->status_at[DOTHI_INCIDENT_ASSIGNED]);
  g_assert_null (incident->status_at[DOTHI_INCIDENT_IN_PROGRESS]);
  dothi_incident_free (incident);

  ids[DOTHI_INCIDENT_IN_PROGRESS] = dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_IN_PROGRESS,
                                                               NULL, NULL, &error);
  g_assert_no_error (error);
  ids[DOTHI_INCIDENT_RESOLVED] = dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_RESOLVED,
                                                            NULL, "Đã thay đoạn ống DN150", &error);
  g_assert_no_error (error);
  checksum = dothi_project_layer_checksum (f->project, "incidents", &error);
  g_assert_no_error (error);
  ids[DOTHI_INCIDENT_PUBLISHED] = dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_PUBLISHED,
                                                             NULL, NULL, &error);
  g_assert_no_error (error);

  incident = dothi_incident_get (f->path, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_PUBLISHED);
  g_assert_cmpstr (incident->status_at[DOTHI_INCIDENT_RECEIVED], ==, "2026-11-23T09:15:00+07:00");
  for (int i = DOTHI_INCIDENT_ASSIGNED; i < DOTHI_N_INCIDENT_STATUSES; i++)
    assert_ict_time (incident->status_at[i]);
  g_assert_cmpstr (incident->unit, ==, "Đội sửa chữa số 2");
  /* Notes: one "dd/mm/yyyy HH:MM — note" line each, oldest first. */
  lines = g_strsplit (incident->notes, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_true (g_regex_match_simple ("^\\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d — Giao đội 2, mang theo máy bơm$",
                                       lines[0], 0, 0));
  g_assert_true (g_regex_match_simple ("^\\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d — Đã thay đoạn ống DN150$",
                                       lines[1], 0, 0));
  g_strfreev (lines);
  dothi_incident_free (incident);

  /* Each step is one action of the history, named for the report. */
  actions = dothi_audit_list_actions (f->project, 0, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (actions->len, ==, 4);
  for (int i = DOTHI_INCIDENT_PUBLISHED; i >= DOTHI_INCIDENT_ASSIGNED; i--)
    {
      DothiActionInfo *a = g_ptr_array_index (actions, DOTHI_INCIDENT_PUBLISHED - i);
      g_autofree char *label = g_strdup_printf ("Sự cố PA-2026-0042: %s", dothi_incident_status_label (i));

      g_assert_cmpint (a->id, ==, ids[i]);
      g_assert_cmpstr (a->label, ==, label);
      g_assert_cmpuint (a->n_features, ==, 1);
      g_assert_cmpstr (a->layers[0], ==, "incidents");
    }
  g_assert_cmpstr (((DothiActionInfo *) g_ptr_array_index (actions, 3))->label, ==,
                   "Sự cố PA-2026-0042: Đã giao xử lý");
  history = dothi_audit_feature_history (f->project, "incidents", fid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 5);
  g_assert_cmpstr (((DothiFeatureEvent *) g_ptr_array_index (history, 0))->op, ==, "insert");
  {
    DothiFeatureEvent *e = g_ptr_array_index (history, 1);
    g_assert_cmpstr (e->op, ==, "update");
    assert_contains (e->before_attrs, "\"received\"");
    assert_contains (e->after_attrs, "\"assigned\"");
    assert_contains (e->after_attrs, "Đội sửa chữa số 2");
  }

  /* Undo of the last takes the report back to resolved. */
  undo_label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (undo_label, ==, "Sự cố PA-2026-0042: Đã công khai");
  undo = dothi_edit_undo_sync (f->project, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (undo, >, ids[DOTHI_INCIDENT_PUBLISHED]);
  incident = dothi_incident_get (f->path, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_RESOLVED);
  g_assert_null (incident->status_at[DOTHI_INCIDENT_PUBLISHED]);
  assert_ict_time (incident->status_at[DOTHI_INCIDENT_RESOLVED]);
  dothi_incident_free (incident);
  after = dothi_project_layer_checksum (f->project, "incidents", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, checksum);

  /* Going back is refused, naming both statuses, and changes nothing. */
  g_assert_cmpint (dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_ASSIGNED,
                                              "Đội sửa chữa số 3", NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "Đã xử lý");
  assert_contains (error->message, "Đã giao xử lý");
  assert_contains (error->message, "PA-2026-0042");
  g_clear_error (&error);

  /* The same status again with nothing to add is nothing to do. */
  g_assert_cmpint (dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_RESOLVED,
                                              NULL, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING);
  g_clear_error (&error);
  g_free (after);
  after = dothi_project_layer_checksum (f->project, "incidents", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, checksum);

  /* The same status with a note only appends the note; bad text is refused. */
  g_assert_cmpint (dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_RESOLVED,
                                              NULL, "Người dân đã xác nhận", &error), >, 0);
  g_assert_no_error (error);
  incident = dothi_incident_get (f->path, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_RESOLVED);
  lines = g_strsplit (incident->notes, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_true (g_str_has_suffix (lines[2], " — Người dân đã xác nhận"));
  g_strfreev (lines);
  dothi_incident_free (incident);
  g_assert_cmpint (dothi_incident_set_status (f->project, fid, DOTHI_INCIDENT_PUBLISHED,
                                              NULL, "Ghi ch\xfa", &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "PA-2026-0042");
  g_clear_error (&error);

  /* Skipping ahead sets only the time of the status reached. */
  {
    gint64 other = insert_incident (f, "PA-2026-0043", "2026-11-23T10:00:00+07:00", "cây đổ", x + 5, y);

    g_assert_cmpint (dothi_incident_set_status (f->project, other, DOTHI_INCIDENT_RESOLVED,
                                                NULL, NULL, &error), >, 0);
    g_assert_no_error (error);
    incident = dothi_incident_get (f->path, other, &error);
    g_assert_no_error (error);
    g_assert_cmpint (incident->status, ==, DOTHI_INCIDENT_RESOLVED);
    g_assert_null (incident->status_at[DOTHI_INCIDENT_ASSIGNED]);
    g_assert_null (incident->status_at[DOTHI_INCIDENT_IN_PROGRESS]);
    assert_ict_time (incident->status_at[DOTHI_INCIDENT_RESOLVED]);
    dothi_incident_free (incident);
  }

  /* An unknown incident. */
  g_assert_cmpint (dothi_incident_set_status (f->project, 9999, DOTHI_INCIDENT_ASSIGNED,
                                              NULL, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
}

static void
test_near_assets (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) assets = NULL;
  g_autoptr(GHashTable) per_layer = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *code = NULL;
  DothiNearAsset *first;
  gint64 main_fid, fid;
  guint n_parcels = 0;
  double x, y;

  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  main_fid = point_on_main (f, &x, &y, &code);
  fid = insert_incident (f, "PA-2026-0050", "2026-11-23T07:30:00+07:00", "vỡ ống", x, y);

  assets = dothi_incident_near_assets (f->path, fid, 60.0, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (assets->len, >, 1);

  /* The pipe it sits on comes first, named by its code. */
  first = g_ptr_array_index (assets, 0);
  g_assert_cmpstr (first->layer, ==, "water_mains");
  g_assert_cmpint (first->fid, ==, main_fid);
  g_assert_cmpfloat_with_epsilon (first->distance, 0.0, 0.01);
  g_assert_cmpstr (first->label, ==, code);

  for (guint i = 0; i < assets->len; i++)
    {
      DothiNearAsset *a = g_ptr_array_index (assets, i);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (per_layer, a->layer)) + 1;

      g_test_message ("%s %" G_GINT64_FORMAT " %.2f m %s", a->layer, a->fid, a->distance, a->label);
      g_assert_cmpstr (a->layer, !=, "incidents");
      g_assert_cmpfloat (a->distance, <=, 60.0);
      g_assert_nonnull (a->label);
      g_hash_table_insert (per_layer, a->layer, GUINT_TO_POINTER (n));
      g_assert_cmpuint (n, <=, 3);
      if (i > 1)
        g_assert_cmpfloat (a->distance, >=, ((DothiNearAsset *) g_ptr_array_index (assets, i - 1))->distance);
      if (g_str_equal (a->layer, "parcels"))
        {
          n_parcels++;
          assert_contains (a->label, "Thửa ");
          assert_contains (a->label, ", tờ ");
        }
    }
  g_assert_cmpuint (n_parcels, >, 0);

  /* Distances agree with SpatiaLite's own. */
  for (guint i = 0; i < assets->len; i++)
    {
      DothiNearAsset *a = g_ptr_array_index (assets, i);
      g_autoptr(sqlite3_stmt) stmt = NULL;
      g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("SELECT ST_Distance(geom, MakePoint(?1, ?2, 9218)) "
                                                    "FROM \"%w\" WHERE fid = ?3", a->layer);

      g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_bind_double (stmt, 1, x);
      sqlite3_bind_double (stmt, 2, y);
      sqlite3_bind_int64 (stmt, 3, a->fid);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      g_assert_cmpfloat_with_epsilon (a->distance, sqlite3_column_double (stmt, 0), 0.01);
    }

  /* A small radius still finds the pipe it sits on. */
  g_clear_pointer (&assets, g_ptr_array_unref);
  assets = dothi_incident_near_assets (f->path, fid, 0.0, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (assets->len, >=, 1);
  g_assert_cmpint (((DothiNearAsset *) g_ptr_array_index (assets, 0))->fid, ==, main_fid);

  /* A layer another program left without a spatial index is scanned. */
  g_assert_cmpint (sqlite3_exec (project_db (f),
                                 "SELECT DisableSpatialIndex('water_mains', 'geom');"
                                 "DROP TABLE idx_water_mains_geom", NULL, NULL, NULL), ==, SQLITE_OK);
  g_clear_pointer (&assets, g_ptr_array_unref);
  assets = dothi_incident_near_assets (f->path, fid, 60.0, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (((DothiNearAsset *) g_ptr_array_index (assets, 0))->layer, ==, "water_mains");
  g_assert_cmpint (((DothiNearAsset *) g_ptr_array_index (assets, 0))->fid, ==, main_fid);

  g_clear_pointer (&assets, g_ptr_array_unref);
  assets = dothi_incident_near_assets (f->path, fid + 1000, 50.0, 3, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_null (assets);
}

static void
test_gdal (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GDALDatasetH) ds = NULL;
  OGRLayerH layer;
  OGRFeatureDefnH defn;
  double x, y;
  static const struct { const char *name; OGRFieldType type; } expected[] = {
    { "report_id", OFTString }, { "received_at", OFTDateTime }, { "category", OFTString },
    { "description", OFTString }, { "photo_url", OFTString }, { "reporter", OFTString },
    { "status", OFTString }, { "unit", OFTString }, { "notes", OFTString },
    { "assigned_at", OFTDateTime }, { "in_progress_at", OFTDateTime },
    { "resolved_at", OFTDateTime }, { "published_at", OFTDateTime },
  };

  city_centre (f, &x, &y);
  g_assert_true (dothi_incident_ensure_layer (f->project, &error));
  g_assert_no_error (error);
  insert_incident (f, "PA-2026-0060", "2026-11-23T11:00:00+07:00", "ngập", x, y);
  dothi_project_checkpoint (f->project, &error);
  g_assert_no_error (error);

  GDALAllRegister ();
  ds = GDALOpenEx (f->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  g_assert_nonnull (ds);
  layer = GDALDatasetGetLayerByName (ds, "incidents");
  g_assert_nonnull (layer);
  g_assert_cmpint (wkbFlatten (OGR_L_GetGeomType (layer)), ==, wkbMultiPoint);
  defn = OGR_L_GetLayerDefn (layer);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      int k = OGR_FD_GetFieldIndex (defn, expected[i].name);
      g_assert_cmpint (k, >=, 0);
      g_assert_cmpint (OGR_Fld_GetType (OGR_FD_GetFieldDefn (defn, k)), ==, expected[i].type);
    }
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==, 1);
  {
    g_auto(OGRFeatureH) feature = NULL;
    OGRGeometryH geom;
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef (layer);

    g_assert_nonnull (srs);
    g_assert_cmpstr (OSRGetAuthorityCode (srs, NULL), ==, "9218");
    OGR_L_ResetReading (layer);
    feature = OGR_L_GetNextFeature (layer);
    g_assert_nonnull (feature);
    g_assert_cmpstr (OGR_F_GetFieldAsString (feature, OGR_FD_GetFieldIndex (defn, "report_id")), ==,
                     "PA-2026-0060");
    g_assert_cmpstr (OGR_F_GetFieldAsString (feature, OGR_FD_GetFieldIndex (defn, "status")), ==,
                     "received");
    geom = OGR_F_GetGeometryRef (feature);
    g_assert_nonnull (geom);
    g_assert_cmpfloat_with_epsilon (OGR_G_GetX (OGR_G_GetGeometryRef (geom, 0), 0), x, 0.01);
    g_assert_cmpfloat_with_epsilon (OGR_G_GetY (OGR_G_GetGeometryRef (geom, 0), 0), y, 0.01);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/incident/status/strings", test_status_strings);
  ADD ("/incident/layer/ensure", test_ensure_layer);
  ADD ("/incident/layer/read-only", test_ensure_layer_read_only);
  ADD ("/incident/layer/gdal", test_gdal);
  ADD ("/incident/list-get", test_list_get);
  ADD ("/incident/workflow", test_workflow);
  ADD ("/incident/near-assets", test_near_assets);

  ret = g_test_run ();
  if (demo_dir != NULL)
    dothi_test_rmdir (demo_dir);
  g_free (demo_dir);
  g_free (demo_project);
  return ret;
}
