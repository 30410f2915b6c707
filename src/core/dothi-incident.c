/* dothi-incident.c: the "incidents" point layer of a project, the status
 * workflow of each report as audited edits, and the assets near one. */
#define G_LOG_DOMAIN "dothi-incident"

#include "config.h"
#include "dothi-incident.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"
#include "dothi-style.h"

#include <glib/gi18n-lib.h>
#include <cpl_error.h>
#include <geos_c.h>
#include <math.h>
#include <string.h>

#define LAYER "incidents"
/* The layer's title in the registry: data, in Vietnamese like the
 * statuses, not a UI string. */
#define LAYER_TITLE "Phản ánh hiện trường"
/* The pipe an incident "sits on" is the nearest one within this many
 * metres (a phone's GPS fix is good to about 5 m). */
#define ON_PIPE_DISTANCE 10.0
/* Incidents are stamped in ICT, the offset the operations room reads. */
#define ICT_OFFSET (7 * 3600)

/* Colours as the operations room's live layer draws them (GNOME
 * palette): orange while nobody is on it, amber, purple, green, grey. */
static const struct {
  const char *name;
  const char *label;
  const char *time_field;
  const char *color;
} statuses[DOTHI_N_INCIDENT_STATUSES] = {
  { "received",    "Đã tiếp nhận",  "received_at",    "#e66100" },
  { "assigned",    "Đã giao xử lý", "assigned_at",    "#c88800" },
  { "in_progress", "Đang xử lý",    "in_progress_at", "#813d9c" },
  { "resolved",    "Đã xử lý",      "resolved_at",    "#26a269" },
  { "published",   "Đã công khai",  "published_at",   "#5e5c64" },
};

static const struct {
  const char     *name;
  DothiFieldType  type;
} fields[] = {
  { "report_id",      DOTHI_FIELD_TEXT },
  { "received_at",    DOTHI_FIELD_DATETIME },
  { "category",       DOTHI_FIELD_TEXT },
  { "description",    DOTHI_FIELD_TEXT },
  { "photo_url",      DOTHI_FIELD_TEXT },
  { "reporter",       DOTHI_FIELD_TEXT },
  { "status",         DOTHI_FIELD_TEXT },
  { "unit",           DOTHI_FIELD_TEXT },
  { "notes",          DOTHI_FIELD_TEXT },
  { "assigned_at",    DOTHI_FIELD_DATETIME },
  { "in_progress_at", DOTHI_FIELD_DATETIME },
  { "resolved_at",    DOTHI_FIELD_DATETIME },
  { "published_at",   DOTHI_FIELD_DATETIME },
};

/* The columns list and get read, in this order. */
#define INCIDENT_COLUMNS \
  "fid, report_id, category, description, photo_url, reporter, received_at, status, " \
  "assigned_at, in_progress_at, resolved_at, published_at, unit, notes, geom"

/* ---- statuses ----------------------------------------------------------- */

const char *
dothi_incident_status_to_string (DothiIncidentStatus status)
{
  g_return_val_if_fail ((guint) status < DOTHI_N_INCIDENT_STATUSES, NULL);
  return statuses[status].name;
}

const char *
dothi_incident_status_label (DothiIncidentStatus status)
{
  g_return_val_if_fail ((guint) status < DOTHI_N_INCIDENT_STATUSES, NULL);
  return statuses[status].label;
}

gboolean
dothi_incident_status_from_string (const char *text, DothiIncidentStatus *status)
{
  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    if (g_str_equal (text, statuses[i].name))
      {
        if (status != NULL)
          *status = (DothiIncidentStatus) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- helpers ------------------------------------------------------------ */

/* A private name, so a cleanup the header may declare one day cannot clash. */
typedef DothiIncident Incident;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Incident, dothi_incident_free)

static gboolean
set_db_error (sqlite3 *db, const char *path, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), path, sqlite3_errmsg (db));
  return FALSE;
}

static void
set_no_layer (const char *path, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: project file */
               _("Project “%s” has no incident layer “incidents”"), path);
}

static void
set_no_incident (const char *path, gint64 fid, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: feature number, project file */
               _("There is no incident %lld in layer “incidents” of “%s”"),
               (long long) fid, path);
}

static char *
dup_column (sqlite3_stmt *stmt, int c)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, c));
}

/* The current time in ICT as ISO 8601 with its offset, and the same for
 * a note's line ("23/11/2026 09:15"). */
static GDateTime *
now_ict (void)
{
  g_autoptr(GTimeZone) ict = g_time_zone_new_offset (ICT_OFFSET);
  return g_date_time_new_now (ict);
}

static gboolean
blob_first_point (sqlite3_stmt *stmt, int c, double *x, double *y)
{
  g_autoptr(GByteArray) wkb = g_byte_array_new ();

  if (sqlite3_column_type (stmt, c) != SQLITE_BLOB
      || !dothi_blob_to_wkb (sqlite3_column_blob (stmt, c), sqlite3_column_bytes (stmt, c), wkb, NULL))
    return FALSE;
  return dothi_wkb_first_point (wkb->data, wkb->len, x, y);
}

static gboolean
table_exists (sqlite3 *db, const char *name)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
                          "AND name = ?1", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

/* Whether @info has every field of an incident layer; else
 * DOTHI_ERROR_INVALID_DATA naming the missing one. */
static gboolean
check_layer (const DothiLayerInfo *info, const char *path, GError **error)
{
  if (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOINT && info->kind != DOTHI_GEOMETRY_KIND_GEOMETRY)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: project file */
                   _("Layer “incidents” of “%s” is not a point layer, so it cannot hold incident reports"),
                   path);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (dothi_layer_info_find_field (info, fields[i].name) < 0)
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: project file, field name */
                     _("Layer “incidents” of “%s” has no field “%s”, so it cannot hold incident reports"),
                     path, fields[i].name);
        return FALSE;
      }
  return TRUE;
}

/* ---- the layer ---------------------------------------------------------- */

/* The layer's own style, stored with it: squares by status in the
 * workflow's colours and names (every status in the legend, not only the
 * ones sampled when the layer was made), the category as label. */
static char *
incidents_style_json (void)
{
  g_autoptr(DothiStyle) style = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  DothiSymbol symbol = { 0 };

  style->field = g_strdup ("status");
  symbol.marker = DOTHI_MARKER_SQUARE;
  symbol.marker_size = 12;
  symbol.stroke_width = 1.5;
  dothi_color_parse ("#ffffff", &symbol.stroke);
  for (guint i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    {
      dothi_color_parse (statuses[i].color, &symbol.fill);
      dothi_style_add_rule (style, statuses[i].label, statuses[i].name, 0, 0, &symbol);
    }
  dothi_color_parse ("#868e96", &symbol.fill);
  style->other = symbol;
  style->draw_other = TRUE;
  style->label_field = g_strdup ("category");
  /* Labels from about 1:7 500 on a screen, as the plot numbers. */
  style->label_max_resolution = 2.0;
  return dothi_style_to_json (style);
}

static gboolean
create_layer (DothiProject *project, DothiStore *store, GError **error)
{
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  DothiSpatialiteStore *sl = DOTHI_SPATIALITE_STORE (store);

  info->name = g_strdup (LAYER);
  info->title = g_strdup (LAYER_TITLE);
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOINT;
  info->srid = dothi_project_get_srid (project);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    dothi_layer_info_add_field (info, fields[i].name, fields[i].type);

  /* Report ids make redelivered messages idempotent; the list filters
   * by status. Dothi's own index names start with dothi_ix_. */
  if (!dothi_store_create_layer (store, info, error)
      || !dothi_store_finish_layer (store, LAYER, error))
    return FALSE;
  {
    g_autoptr(DothiLayerInfo) made = dothi_store_get_layer (store, LAYER, error);

    if (made == NULL)
      return FALSE;
    g_free (made->style);
    made->style = incidents_style_json ();
    if (!dothi_store_update_layer (store, made, error))
      return FALSE;
  }
  return dothi_spatialite_store_exec (sl,
                                         "CREATE UNIQUE INDEX \"dothi_ix_incidents_report_id\" "
                                         "ON \"incidents\" (report_id);"
                                         "CREATE INDEX \"dothi_ix_incidents_status\" "
                                         "ON \"incidents\" (status)",
                                         error);
}

gboolean
dothi_incident_ensure_layer (DothiProject *project, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *action = NULL;
  DothiStore *store;
  const char *path;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  store = dothi_project_get_store (project);
  path = dothi_project_get_path (project);
  info = dothi_store_get_layer (store, LAYER, &local_error);
  if (info != NULL)
    return check_layer (info, path, error);
  if (!g_error_matches (local_error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_clear_error (&local_error);

  if (dothi_project_get_read_only (project))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   /* Translators: project file */
                   _("Project “%s” is open read-only, so its incident layer “incidents” cannot be created"),
                   path);
      return FALSE;
    }

  /* Translators: the action's name in the history; a layer title */
  action = g_strdup_printf (_("Add layer “%s”"), LAYER_TITLE);
  if (!dothi_store_begin (store, action, error))
    return FALSE;
  /* Another program (the live ingest on its own connection) may have
   * made it while this one waited for the write lock. */
  info = dothi_store_get_layer (store, LAYER, NULL);
  if (info != NULL)
    {
      dothi_store_rollback (store);
      return check_layer (info, path, error);
    }
  if (!create_layer (project, store, error))
    {
      dothi_store_rollback (store);
      return FALSE;
    }
  return dothi_store_commit (store, error);
}

/* ---- reading ------------------------------------------------------------ */

void
dothi_incident_free (DothiIncident *incident)
{
  if (incident == NULL)
    return;
  g_free (incident->report_id);
  g_free (incident->category);
  g_free (incident->description);
  g_free (incident->photo_url);
  g_free (incident->reporter);
  g_free (incident->received_at);
  for (guint i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    g_free (incident->status_at[i]);
  g_free (incident->unit);
  g_free (incident->notes);
  g_free (incident);
}

static DothiIncident *
incident_from_row (sqlite3_stmt *stmt)
{
  DothiIncident *incident = g_new0 (DothiIncident, 1);
  DothiIncidentStatus status = DOTHI_INCIDENT_RECEIVED;

  incident->fid = sqlite3_column_int64 (stmt, 0);
  incident->report_id = dup_column (stmt, 1);
  incident->category = dup_column (stmt, 2);
  incident->description = dup_column (stmt, 3);
  incident->photo_url = dup_column (stmt, 4);
  incident->reporter = dup_column (stmt, 5);
  incident->received_at = dup_column (stmt, 6);
  /* A status another program wrote that Dothi does not know counts as
   * received: the report is then still in the operators' queue. */
  dothi_incident_status_from_string ((const char *) sqlite3_column_text (stmt, 7), &status);
  incident->status = status;
  incident->status_at[DOTHI_INCIDENT_RECEIVED] = dup_column (stmt, 6);
  for (guint i = 1; i < DOTHI_N_INCIDENT_STATUSES; i++)
    incident->status_at[i] = dup_column (stmt, 7 + (int) i);
  incident->unit = dup_column (stmt, 12);
  incident->notes = dup_column (stmt, 13);
  if (!blob_first_point (stmt, 14, &incident->x, &incident->y))
    incident->x = incident->y = NAN;
  return incident;
}

/* A read-only connection of the caller's own; NULL with @error. */
static DothiSpatialiteStore *
open_reader (const char *path, GError **error)
{
  return dothi_spatialite_store_open (path, DOTHI_STORE_OPEN_READ_ONLY, error);
}

GPtrArray *
dothi_incident_list (const char *path, int status, GError **error)
{
  g_autoptr(DothiSpatialiteStore) store = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (status < DOTHI_N_INCIDENT_STATUSES, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  store = open_reader (path, error);
  if (store == NULL)
    return NULL;
  db = dothi_spatialite_store_get_db (store);
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_incident_free);
  /* A project that never had a report has none. */
  if (!dothi_store_has_table (DOTHI_STORE (store), LAYER) || !table_exists (db, LAYER))
    return g_steal_pointer (&list);

  /* julianday() reads the offsets, so reports stamped in different
   * zones still sort by the moment they were received. */
  if (sqlite3_prepare_v2 (db,
                          "SELECT " INCIDENT_COLUMNS " FROM \"incidents\" "
                          "WHERE ?1 IS NULL OR status = ?1 "
                          "ORDER BY julianday(received_at) DESC, fid DESC",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, path, error);
      return NULL;
    }
  if (status >= 0)
    sqlite3_bind_text (stmt, 1, statuses[status].name, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, incident_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, path, error);
      return NULL;
    }
  return g_steal_pointer (&list);
}

static DothiIncident *
read_incident (sqlite3 *db, DothiStore *store, const char *path, gint64 fid, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!dothi_store_has_table (store, LAYER) || !table_exists (db, LAYER))
    {
      set_no_layer (path, error);
      return NULL;
    }
  if (sqlite3_prepare_v2 (db, "SELECT " INCIDENT_COLUMNS " FROM \"incidents\" WHERE fid = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, path, error);
      return NULL;
    }
  sqlite3_bind_int64 (stmt, 1, fid);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return incident_from_row (stmt);
  if (rc == SQLITE_DONE)
    set_no_incident (path, fid, error);
  else
    set_db_error (db, path, error);
  return NULL;
}

DothiIncident *
dothi_incident_get (const char *path, gint64 fid, GError **error)
{
  g_autoptr(DothiSpatialiteStore) store = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  store = open_reader (path, error);
  if (store == NULL)
    return NULL;
  return read_incident (dothi_spatialite_store_get_db (store), DOTHI_STORE (store), path, fid, error);
}

/* ---- the workflow ------------------------------------------------------- */

/* @text as NFC, or DOTHI_ERROR_INVALID_DATA naming the report and
 * whether the unit or the note was at fault. */
static char *
normalize_text (const char *text, gboolean is_note, const char *report_id, GError **error)
{
  char *nfc = NULL;

  if (g_utf8_validate (text, -1, NULL))
    nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
  if (nfc != NULL)
    return nfc;
  if (is_note)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: report id */
                 _("The note for incident “%s” is not valid UTF-8 text"), report_id);
  else
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: report id */
                 _("The unit assigned to incident “%s” is not valid UTF-8 text"), report_id);
  return NULL;
}

gint64
dothi_incident_set_status (DothiProject         *project,
                           gint64                fid,
                           DothiIncidentStatus   status,
                           const char           *unit,
                           const char           *note,
                           GError              **error)
{
  g_autoptr(Incident) incident = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(JsonObject) props = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *label = NULL;
  g_autofree char *time = NULL;
  g_autofree char *unit_nfc = NULL;
  g_autofree char *note_nfc = NULL;
  const char *path;
  const char *id;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  g_return_val_if_fail ((guint) status < DOTHI_N_INCIDENT_STATUSES, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  path = dothi_project_get_path (project);
  /* Read on the project's own connection: its writer sees its commits. */
  incident = read_incident (dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (project))),
                            dothi_project_get_store (project), path, fid, error);
  if (incident == NULL)
    return 0;
  id = incident->report_id != NULL ? incident->report_id : "";

  if (unit != NULL && *unit != '\0' && (unit_nfc = normalize_text (unit, FALSE, id, error)) == NULL)
    return 0;
  if (note != NULL && *note != '\0' && (note_nfc = normalize_text (note, TRUE, id, error)) == NULL)
    return 0;

  if (status < incident->status)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: report id, its current status, the status asked for
                    * (statuses in Vietnamese, e.g. "Đã xử lý", "Đã giao xử lý") */
                   _("Incident “%s” is already “%s” and cannot go back to “%s”"),
                   id, statuses[incident->status].label, statuses[status].label);
      return 0;
    }
  if (status == incident->status && unit_nfc == NULL && note_nfc == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING,
                   /* Translators: report id, its status (in Vietnamese) */
                   _("Incident “%s” is already “%s”; nothing was changed"),
                   id, statuses[status].label);
      return 0;
    }

  now = now_ict ();
  time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S%:z");
  props = json_object_new ();
  if (status > incident->status)
    {
      json_object_set_string_member (props, "status", statuses[status].name);
      json_object_set_string_member (props, statuses[status].time_field, time);
    }
  if (unit_nfc != NULL)
    json_object_set_string_member (props, "unit", unit_nfc);
  if (note_nfc != NULL)
    {
      g_autofree char *stamp = g_date_time_format (now, "%d/%m/%Y %H:%M");
      g_autofree char *notes = NULL;

      if (incident->notes != NULL && *incident->notes != '\0')
        notes = g_strdup_printf ("%s\n%s — %s", incident->notes, stamp, note_nfc);
      else
        notes = g_strdup_printf ("%s — %s", stamp, note_nfc);
      json_object_set_string_member (props, "notes", notes);
    }

  set = dothi_change_set_new ();
  dothi_change_set_update (set, LAYER, fid, props, NULL);
  /* The history names the report and where it went, in the same
   * Vietnamese as the statuses (data, not a UI string). */
  label = g_strdup_printf ("Sự cố %s: %s", id, statuses[status].label);
  return dothi_edit_apply_sync (project, set, label, NULL, NULL, NULL, NULL, error);
}

/* ---- assets near an incident -------------------------------------------- */

void
dothi_near_asset_free (DothiNearAsset *asset)
{
  if (asset == NULL)
    return;
  g_free (asset->layer);
  g_free (asset->label);
  g_free (asset);
}

typedef struct {
  DothiNearAsset *asset;
  gboolean        on_pipe;   /* the pipe the incident sits on */
} Near;

static int
compare_near (gconstpointer pa, gconstpointer pb)
{
  const Near *a = pa, *b = pb;
  int c;

  if (a->on_pipe != b->on_pipe)
    return a->on_pipe ? -1 : 1;
  if (a->asset->distance != b->asset->distance)
    return a->asset->distance < b->asset->distance ? -1 : 1;
  c = strcmp (a->asset->layer, b->asset->layer);
  if (c != 0)
    return c;
  return a->asset->fid < b->asset->fid ? -1 : a->asset->fid > b->asset->fid;
}

/* Whether the layer holds water pipes, by its table name or title: the
 * demo's water_mains ("Ống cấp nước"), EPANET's pipes, a slug with "ong". */
static gboolean
is_pipe_layer (const DothiLayerInfo *info)
{
  g_auto(GStrv) words = NULL;
  g_autofree char *title = NULL;

  if (info->kind != DOTHI_GEOMETRY_KIND_MULTILINESTRING && info->kind != DOTHI_GEOMETRY_KIND_GEOMETRY)
    return FALSE;
  words = g_strsplit (info->name, "_", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (g_str_equal (words[i], "ong") || g_str_equal (words[i], "pipe") || g_str_equal (words[i], "pipes")
        || g_str_equal (words[i], "main") || g_str_equal (words[i], "mains"))
      return TRUE;
  if (info->title == NULL)
    return FALSE;
  title = g_utf8_casefold (info->title, -1);
  return strstr (title, "ống") != NULL;
}

/* The fields that name a feature of @info for people: a parcel by sheet
 * and number, else its code (ma_*, but not an administrative code such
 * as ma_xa), its name, an id. @second is only set for parcels. */
static void
pick_label_fields (const DothiLayerInfo *info, const char **first, const char **second)
{
  static const char *admin[] = { "ma_xa", "ma_huyen", "ma_tinh", "ma_phuong", NULL };
  static const char *plain[] = { "name", "id", "code", "report_id", NULL };

  *first = *second = NULL;
  if (dothi_layer_info_find_field (info, "so_thua") >= 0)
    {
      *first = "so_thua";
      if (dothi_layer_info_find_field (info, "so_to") >= 0)
        *second = "so_to";
      return;
    }
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      if (g_str_has_prefix (f->name, "ma_") && !g_strv_contains (admin, f->name)
          && f->type != DOTHI_FIELD_BLOB)
        {
          *first = f->name;
          return;
        }
    }
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      if (g_str_has_prefix (f->name, "ten") && f->type == DOTHI_FIELD_TEXT)
        {
          *first = f->name;
          return;
        }
    }
  for (guint k = 0; plain[k] != NULL; k++)
    for (guint i = 0; i < info->fields->len; i++)
      {
        const DothiField *f = g_ptr_array_index (info->fields, i);
        if (g_ascii_strcasecmp (f->name, plain[k]) == 0 && f->type != DOTHI_FIELD_BLOB)
          {
            *first = f->name;
            return;
          }
      }
}

static char *
make_label (sqlite3_stmt *stmt, const char *first, const char *second, gint64 fid)
{
  const char *a = first ? (const char *) sqlite3_column_text (stmt, 2) : NULL;
  const char *b = second ? (const char *) sqlite3_column_text (stmt, 3) : NULL;

  /* Data in Vietnamese, as on a land certificate: "Thửa 345, tờ 12". */
  if (a != NULL && b != NULL)
    return g_strdup_printf ("Thửa %s, tờ %s", a, b);
  if (a != NULL && *a != '\0')
    return g_strdup (a);
  return g_strdup_printf ("%" G_GINT64_FORMAT, fid);
}

typedef struct {
  GEOSContextHandle_t h;
  GEOSWKBReader      *reader;
  GByteArray         *wkb;
} Geos;

/* The point (@x, @y) of @from in the CRS of @to. */
static gboolean
transform_point (int from, int to, double *x, double *y, GError **error)
{
  g_auto(OGRSpatialReferenceH) src = NULL;
  g_auto(OGRSpatialReferenceH) dst = NULL;
  g_auto(OGRCoordinateTransformationH) ct = NULL;

  if (from == to || from <= 0 || to <= 0)
    return TRUE;
  src = dothi_crs_new_srs (from, error);
  if (src == NULL)
    return FALSE;
  dst = dothi_crs_new_srs (to, error);
  if (dst == NULL)
    return FALSE;
  CPLPushErrorHandler (CPLQuietErrorHandler);
  ct = OCTNewCoordinateTransformation (src, dst);
  CPLPopErrorHandler ();
  if (ct == NULL || !OCTTransform (ct, 1, x, y, NULL))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: two EPSG codes */
                   _("The incident’s position cannot be transformed from EPSG:%d to EPSG:%d"),
                   from, to);
      return FALSE;
    }
  return TRUE;
}

/* The features of @info within @search of (@x, @y), found through its
 * R-tree when it has one, with their exact distance (GEOS; 0 inside a
 * polygon); appended to @found as Near (asset owned). */
static gboolean
scan_layer (sqlite3 *db, const char *path, const DothiLayerInfo *info, Geos *g,
            const GEOSGeometry *point, double x, double y, double search,
            GArray *found, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(DothiSqlStr) index = sqlite3_mprintf ("idx_%s_geom", info->name);
  g_autoptr(DothiSqlStr) c1 = NULL;
  g_autoptr(DothiSqlStr) c2 = NULL;
  const char *first, *second;
  gboolean rtree;
  int rc;

  pick_label_fields (info, &first, &second);
  c1 = first ? sqlite3_mprintf ("t.\"%w\"", first) : sqlite3_mprintf ("NULL");
  c2 = second ? sqlite3_mprintf ("t.\"%w\"", second) : sqlite3_mprintf ("NULL");
  rtree = table_exists (db, index);
  if (rtree)
    sql = sqlite3_mprintf ("SELECT t.fid, t.geom, %s, %s FROM \"%w\" AS r "
                           "JOIN \"%w\" AS t ON t.fid = r.pkid "
                           "WHERE r.xmin <= ?3 AND r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?2",
                           c1, c2, index, info->name);
  else
    /* A layer another program made without a spatial index: every row. */
    sql = sqlite3_mprintf ("SELECT t.fid, t.geom, %s, %s FROM \"%w\" AS t "
                           "WHERE t.geom IS NOT NULL", c1, c2, info->name);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (db, path, error);
  if (rtree)
    {
      sqlite3_bind_double (stmt, 1, x - search);
      sqlite3_bind_double (stmt, 2, y - search);
      sqlite3_bind_double (stmt, 3, x + search);
      sqlite3_bind_double (stmt, 4, y + search);
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      GEOSGeometry *geom;
      double d = 0;
      int ok;

      if (sqlite3_column_type (stmt, 1) != SQLITE_BLOB
          || !dothi_blob_to_wkb (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1), g->wkb, NULL))
        continue;
      geom = GEOSWKBReader_read_r (g->h, g->reader, g->wkb->data, g->wkb->len);
      if (geom == NULL)
        continue;
      ok = GEOSDistance_r (g->h, point, geom, &d);
      GEOSGeom_destroy_r (g->h, geom);
      if (ok == 1 && d <= search)
        {
          Near n = { g_new0 (DothiNearAsset, 1), FALSE };
          gint64 fid = sqlite3_column_int64 (stmt, 0);

          n.asset->layer = g_strdup (info->name);
          n.asset->fid = fid;
          n.asset->distance = d;
          n.asset->label = make_label (stmt, first, second, fid);
          g_array_append_val (found, n);
        }
    }
  if (rc != SQLITE_DONE)
    return set_db_error (db, path, error);
  return TRUE;
}

static void
near_clear (gpointer data)
{
  Near *n = data;
  g_clear_pointer (&n->asset, dothi_near_asset_free);
}

GPtrArray *
dothi_incident_near_assets (const char *path, gint64 fid, double radius,
                            guint per_layer, GError **error)
{
  g_autoptr(DothiSpatialiteStore) store = NULL;
  g_autoptr(DothiLayerInfo) own = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GArray) all = NULL;
  g_autoptr(GPtrArray) result = NULL;
  DothiIncident *incident;
  Geos g = { 0 };
  sqlite3 *db;
  double x0, y0;
  gboolean ok = FALSE;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (radius >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  store = open_reader (path, error);
  if (store == NULL)
    return NULL;
  db = dothi_spatialite_store_get_db (store);
  incident = read_incident (db, DOTHI_STORE (store), path, fid, error);
  if (incident == NULL)
    return NULL;
  x0 = incident->x;
  y0 = incident->y;
  if (isnan (x0) || isnan (y0))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: report id, project file */
                   _("Incident “%s” in “%s” has no position"),
                   incident->report_id ? incident->report_id : "", path);
      dothi_incident_free (incident);
      return NULL;
    }
  dothi_incident_free (incident);
  own = dothi_store_get_layer (DOTHI_STORE (store), LAYER, error);
  if (own == NULL)
    return NULL;
  layers = dothi_store_list_layers (DOTHI_STORE (store), error);
  if (layers == NULL)
    return NULL;

  all = g_array_new (FALSE, FALSE, sizeof (Near));
  g_array_set_clear_func (all, near_clear);
  g.h = GEOS_init_r ();
  g.reader = GEOSWKBReader_create_r (g.h);
  g.wkb = g_byte_array_new ();

  for (guint i = 0; i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_autoptr(GArray) found = NULL;
      gboolean pipe = is_pipe_layer (info);
      double search = pipe ? MAX (radius, ON_PIPE_DISTANCE) : radius;
      double x = x0, y = y0;
      GEOSGeometry *point;
      guint kept = 0;

      if (g_str_equal (info->name, LAYER) || info->kind == DOTHI_GEOMETRY_KIND_NONE
          || !table_exists (db, info->name))
        continue;
      if (!transform_point (own->srid, info->srid, &x, &y, error))
        goto out;
      point = GEOSGeom_createPointFromXY_r (g.h, x, y);
      found = g_array_new (FALSE, FALSE, sizeof (Near));
      g_array_set_clear_func (found, near_clear);
      if (!scan_layer (db, path, info, &g, point, x, y, search, found, error))
        {
          GEOSGeom_destroy_r (g.h, point);
          goto out;
        }
      GEOSGeom_destroy_r (g.h, point);
      g_array_sort (found, compare_near);

      for (guint k = 0; k < found->len; k++)
        {
          Near *n = &g_array_index (found, Near, k);
          gboolean on = pipe && k == 0 && n->asset->distance <= ON_PIPE_DISTANCE;

          if (!on && (n->asset->distance > radius || (per_layer > 0 && kept >= per_layer)))
            continue;
          n->on_pipe = on;
          g_array_append_val (all, *n);
          n->asset = NULL;
          kept++;
        }
    }
  g_array_sort (all, compare_near);
  result = g_ptr_array_new_full (all->len, (GDestroyNotify) dothi_near_asset_free);
  for (guint k = 0; k < all->len; k++)
    {
      Near *n = &g_array_index (all, Near, k);
      g_ptr_array_add (result, g_steal_pointer (&n->asset));
    }
  ok = TRUE;

out:
  GEOSWKBReader_destroy_r (g.h, g.reader);
  GEOS_finish_r (g.h);
  g_byte_array_unref (g.wkb);
  return ok ? g_steal_pointer (&result) : NULL;
}
