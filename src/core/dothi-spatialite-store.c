/* dothi-spatialite-store.c: DothiStore on a SpatiaLite 5 database: layer
 * tables, the registry, audit triggers, the bulk path of import (plain
 * blobs first, then the spatial index), and the schema changes behind
 * undoable layer and field actions (hidden tables, ADD/DROP COLUMN). */
#define G_LOG_DOMAIN "dothi-spatialite-store"

#include "config.h"
#include "dothi-spatialite-store.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-spatialite-blob.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <spatialite.h>
#include <cpl_conv.h>
#include <math.h>
#include <string.h>

/* One leaf entry of the spatial index: a row and its box, rounded outward
 * to the R-tree's 32-bit floats. */
typedef struct {
  gint64 id;
  float  box[4];   /* xmin, xmax, ymin, ymax: the R-tree's column order */
} RtreeCell;

typedef struct {
  DothiLayerInfo *info;
  sqlite3_stmt   *insert;
  GByteArray     *blob;
  gint64          count;
  double          extent[4];
  GArray         *cells;      /* RtreeCell, for the bulk-loaded spatial index */
  GPtrArray      *triggers;   /* SpatiaLite's trigger SQL, held back during the load */
} PendingLayer;

struct _DothiSpatialiteStore
{
  GObject     parent_instance;

  char       *path;
  sqlite3    *db;
  void       *spatialite_cache;
  gboolean    read_only;
  gboolean    in_action;
  gboolean    schema_changed;  /* the open action created tables or triggers */
  gint64      action_id;       /* dothi_actions.id of the open action, or 0 */
  GHashTable *pending;   /* name -> PendingLayer*, layers created in the open action */
};

static void dothi_spatialite_store_iface_init (DothiStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DothiSpatialiteStore, dothi_spatialite_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DOTHI_TYPE_STORE,
                                                      dothi_spatialite_store_iface_init))

/* Tables SpatiaLite, GDAL and Dothi keep for themselves. */
static const char *reserved_tables[] = {
  "geometry_columns", "spatial_ref_sys", "spatial_ref_sys_aux", "views_geometry_columns",
  "virts_geometry_columns", "geometry_columns_auth", "geometry_columns_statistics",
  "views_geometry_columns_auth", "views_geometry_columns_statistics",
  "virts_geometry_columns_auth", "virts_geometry_columns_statistics",
  "geometry_columns_field_infos", "views_geometry_columns_field_infos",
  "virts_geometry_columns_field_infos", "geometry_columns_time", "sql_statements_log",
  "spatialite_history", "spatialindex", "elementarygeometries", "knn", "knn2",
  "data_licenses", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4",
  "spatial_ref_sys_all", "spatial_ref_sys_init2", NULL,
};

static void
pending_layer_free (PendingLayer *pl)
{
  dothi_layer_info_free (pl->info);
  sqlite3_finalize (pl->insert);
  g_byte_array_unref (pl->blob);
  g_clear_pointer (&pl->cells, g_array_unref);
  g_clear_pointer (&pl->triggers, g_ptr_array_unref);
  g_free (pl);
}

static gboolean
set_db_error (sqlite3 *db, const char *context, GError **error)
{
  int code = sqlite3_extended_errcode (db);

  g_set_error (error, DOTHI_ERROR,
               code == SQLITE_READONLY || code == SQLITE_READONLY_DBMOVED
                 ? DOTHI_ERROR_READ_ONLY : DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), context, sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
prepare (DothiSpatialiteStore *self, const char *sql, sqlite3_stmt **stmt, GError **error)
{
  if (sqlite3_prepare_v2 (self->db, sql, -1, stmt, NULL) != SQLITE_OK)
    return set_db_error (self->db, self->path, error);
  return TRUE;
}

gboolean
dothi_spatialite_store_exec (DothiSpatialiteStore *self, const char *sql, GError **error)
{
  char *msg = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);

  if (sqlite3_exec (self->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Database error in “%s”: %s"), self->path, msg ? msg : "");
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_slug (const char *name)
{
  if (name == NULL || !(g_ascii_islower (name[0]) || name[0] == '_'))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_'))
      return FALSE;
  return strlen (name) <= 60;
}

static gboolean
is_reserved (const char *name)
{
  if (g_str_has_prefix (name, "dothi_") || g_str_has_prefix (name, "idx_")
      || g_str_has_prefix (name, "sqlite_") || g_str_has_prefix (name, "rtree_"))
    return TRUE;
  return g_strv_contains (reserved_tables, name);
}

static gboolean
store_has_table (DothiStore *store, const char *name)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (name == NULL || is_reserved (name))
    return name != NULL;
  if (sqlite3_prepare_v2 (self->db,
                          "SELECT 1 FROM sqlite_master WHERE lower(name) = lower(?1) "
                          "UNION ALL SELECT 1 FROM dothi_layers WHERE lower(name) = lower(?1)",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

gboolean
dothi_spatialite_store_ensure_srid (DothiSpatialiteStore *self, int srid, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  OGRSpatialReferenceH srs;
  char *wkt = NULL, *proj4 = NULL;
  gboolean ok;

  if (!prepare (self, "SELECT 1 FROM spatial_ref_sys WHERE srid = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_int (stmt, 1, srid);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return TRUE;
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* SpatiaLite's inlined EPSG dataset first: it writes the same srtext and
   * proj4text that QGIS and OGR expect. */
  if (!prepare (self, "SELECT InsertEpsgSrid(?1)", &stmt, error))
    return FALSE;
  sqlite3_bind_int (stmt, 1, srid);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 1)
    return TRUE;
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* A CRS newer than SpatiaLite's table: take PROJ's definition. */
  srs = dothi_crs_new_srs (srid, error);
  if (srs == NULL)
    return FALSE;
  OSRExportToWkt (srs, &wkt);
  OSRExportToProj4 (srs, &proj4);
  ok = prepare (self,
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, ref_sys_name, proj4text, srtext) "
                "VALUES (?1, 'epsg', ?1, ?2, ?3, ?4)", &stmt, error);
  if (ok)
    {
      sqlite3_bind_int (stmt, 1, srid);
      sqlite3_bind_text (stmt, 2, OSRGetName (srs), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, proj4 ? proj4 : "", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 4, wkt ? wkt : "", -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        ok = set_db_error (self->db, self->path, error);
    }
  CPLFree (wkt);
  CPLFree (proj4);
  OSRRelease (srs);
  return ok;
}

/* ---- audit triggers ---------------------------------------------------- */

/* json_object() takes at most 127 arguments (SQLITE_MAX_FUNCTION_ARG), so
 * wide layers are imaged as json_patch() of chunks. Only built-in functions:
 * QGIS must be able to run these triggers. */
static void
append_json_image (GString *sql, GPtrArray *columns, GPtrArray *is_blob, const char *row)
{
  const guint chunk = 50;

  if (columns->len == 0)
    {
      g_string_append (sql, "json_object()");
      return;
    }
  for (guint start = 0; start < columns->len; start += chunk)
    {
      if (start + chunk < columns->len)
        g_string_append (sql, "json_patch(");
      g_string_append (sql, "json_object(");
      for (guint i = start; i < columns->len && i < start + chunk; i++)
        {
          const char *col = g_ptr_array_index (columns, i);
          g_autoptr(DothiSqlStr) pair = NULL;

          /* hex(NULL) is '', which would make NULL and an empty BLOB
           * one image. */
          if (GPOINTER_TO_INT (g_ptr_array_index (is_blob, i)))
            pair = sqlite3_mprintf ("%s%Q, CASE WHEN %s.\"%w\" IS NULL THEN NULL ELSE hex(%s.\"%w\") END",
                                    i > start ? ", " : "", col, row, col, row, col);
          else
            pair = sqlite3_mprintf ("%s%Q, %s.\"%w\"", i > start ? ", " : "", col, row, col);
          g_string_append (sql, pair);
        }
      g_string_append (sql, ")");
      if (start + chunk < columns->len)
        g_string_append (sql, ", ");
    }
  for (guint start = chunk; start < columns->len; start += chunk)
    g_string_append (sql, ")");
}

/* The columns the audit images hold (all but fid and geom, in table
 * order), whether each is declared BLOB (imaged as hex()), and whether the
 * table has the geometry column "geom". */
static gboolean
read_image_columns (DothiSpatialiteStore *self, const char *table, GPtrArray *columns,
                    GPtrArray *is_blob, gboolean *has_geom, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) pragma = NULL;

  *has_geom = FALSE;
  pragma = sqlite3_mprintf ("PRAGMA table_info(\"%w\")", table);
  if (!prepare (self, pragma, &stmt, error))
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 1);
      const char *type = (const char *) sqlite3_column_text (stmt, 2);

      if (g_strcmp0 (name, "fid") == 0)
        continue;
      if (g_strcmp0 (name, "geom") == 0)
        {
          *has_geom = TRUE;
          continue;
        }
      g_ptr_array_add (columns, g_strdup (name));
      g_ptr_array_add (is_blob, GINT_TO_POINTER (type != NULL && g_ascii_strcasecmp (type, "BLOB") == 0));
    }
  return TRUE;
}

static gboolean
create_audit_triggers (DothiSpatialiteStore *self, const char *table, GError **error)
{
  g_autoptr(GPtrArray) columns = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) is_blob = g_ptr_array_new ();
  g_autoptr(GString) sql = g_string_new (NULL);
  gboolean geom = FALSE;
  const char *ops[] = { "insert", "update", "delete" };

  g_assert (is_slug (table));

  if (!read_image_columns (self, table, columns, is_blob, &geom, error))
    return FALSE;

  for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
    {
      g_autoptr(DothiSqlStr) head = NULL;
      gboolean before = k > 0, after = k < 2;

      head = sqlite3_mprintf ("DROP TRIGGER IF EXISTS \"dothi_audit_%w_%s\";\n"
                              "CREATE TRIGGER \"dothi_audit_%w_%s\" AFTER %s ON \"%w\" BEGIN\n"
                              "INSERT INTO dothi_audit (action_id, user, layer, fid, op, "
                              "before_attrs, after_attrs, before_geom, after_geom) VALUES ("
                              "(SELECT action_id FROM dothi_context WHERE id = 1), "
                              "COALESCE((SELECT user FROM dothi_context WHERE id = 1), 'external'), "
                              "%Q, %s.fid, '%s', ",
                              table, ops[k], table, ops[k], k == 0 ? "INSERT" : k == 1 ? "UPDATE" : "DELETE",
                              table, table, after ? "NEW" : "OLD", ops[k]);
      g_string_append (sql, head);
      if (before)
        append_json_image (sql, columns, is_blob, "OLD");
      else
        g_string_append (sql, "NULL");
      g_string_append (sql, ", ");
      if (after)
        append_json_image (sql, columns, is_blob, "NEW");
      else
        g_string_append (sql, "NULL");
      g_string_append_printf (sql, ", %s, %s);\nEND;\n",
                              before && geom ? "OLD.geom" : "NULL",
                              after && geom ? "NEW.geom" : "NULL");
    }
  return dothi_spatialite_store_exec (self, sql->str, error);
}

gboolean
dothi_spatialite_store_regenerate_triggers (DothiSpatialiteStore *self, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  /* A layer table dropped by another program (DropGeoTable in the
   * spatialite shell) leaves its registry row behind. */
  if (!dothi_spatialite_store_exec (self,
                                    "DELETE FROM dothi_layers WHERE name NOT IN "
                                    "(SELECT name FROM sqlite_master WHERE type = 'table')", error))
    return FALSE;

  if (!prepare (self, "SELECT name FROM dothi_layers", &stmt, error))
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      if (is_slug (name) && store_has_table (DOTHI_STORE (self), name)
          && !create_audit_triggers (self, name, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
dothi_spatialite_store_get_image_columns (DothiSpatialiteStore  *self,
                                          const char            *table,
                                          GPtrArray            **columns,
                                          GArray               **is_blob,
                                          char                 **image_sql,
                                          gboolean              *has_geom,
                                          GError               **error)
{
  g_autoptr(GPtrArray) cols = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) blobs = g_ptr_array_new ();
  g_autoptr(GString) sql = g_string_new (NULL);
  gboolean geom = FALSE;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);

  if (!is_slug (table) || !store_has_table (DOTHI_STORE (self), table))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("There is no layer “%s” in “%s”"), table, self->path);
      return FALSE;
    }
  if (!read_image_columns (self, table, cols, blobs, &geom, error))
    return FALSE;
  append_json_image (sql, cols, blobs, "t");
  if (is_blob != NULL)
    {
      *is_blob = g_array_sized_new (FALSE, FALSE, sizeof (gboolean), blobs->len);
      for (guint i = 0; i < blobs->len; i++)
        {
          gboolean b = GPOINTER_TO_INT (g_ptr_array_index (blobs, i));
          g_array_append_val (*is_blob, b);
        }
    }
  if (columns != NULL)
    *columns = g_steal_pointer (&cols);
  if (image_sql != NULL)
    *image_sql = g_string_free (g_steal_pointer (&sql), FALSE);
  if (has_geom != NULL)
    *has_geom = geom;
  return TRUE;
}

void
dothi_spatialite_store_set_busy_timeout (DothiSpatialiteStore *self, int ms)
{
  g_return_if_fail (DOTHI_IS_SPATIALITE_STORE (self));
  sqlite3_busy_timeout (self->db, ms);
}

gint64
dothi_spatialite_store_get_action_id (DothiSpatialiteStore *self)
{
  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), 0);
  return self->in_action ? self->action_id : 0;
}

gboolean
dothi_spatialite_store_set_action_journal (DothiSpatialiteStore  *self,
                                           gint64                 undo_of,
                                           const char            *inverse,
                                           GError               **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  g_return_val_if_fail (self->in_action, FALSE);

  if (!prepare (self, "UPDATE dothi_actions SET undo_of = ?2, inverse = ?3 WHERE id = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, self->action_id);
  if (undo_of > 0)
    sqlite3_bind_int64 (stmt, 2, undo_of);
  else
    sqlite3_bind_null (stmt, 2);
  sqlite3_bind_text (stmt, 3, inverse, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, self->path, error);
  return TRUE;
}

/* ---- actions ----------------------------------------------------------- */

static gboolean
store_begin (DothiStore *store, const char *action, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 action_id;

  if (self->read_only)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   _("Project “%s” is open read-only"), self->path);
      return FALSE;
    }
  g_return_val_if_fail (!self->in_action, FALSE);

  /* The busy timeout waits for another program's write lock; after it
   * the user is told who is in the way, not "database is locked". */
  if (sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      if ((sqlite3_extended_errcode (self->db) & 0xff) == SQLITE_BUSY)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                     /* Translators: project file */
                     _("Another program is writing to “%s”; try again when it has finished"),
                     self->path);
      else
        set_db_error (self->db, self->path, error);
      return FALSE;
    }
  self->in_action = TRUE;

  if (!prepare (self,
                "INSERT INTO dothi_actions (time, user, label) "
                "VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?1, ?2)", &stmt, error))
    goto fail;
  sqlite3_bind_text (stmt, 1, g_get_user_name (), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, action ? action : "", -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self->db, self->path, error);
      goto fail;
    }
  action_id = sqlite3_last_insert_rowid (self->db);
  self->action_id = action_id;
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* The row only lives inside an action; REPLACE clears one that another
   * program left behind (dothi_context has no triggers to skip). */
  if (!prepare (self, "INSERT OR REPLACE INTO dothi_context (id, action_id, user) VALUES (1, ?1, ?2)",
                &stmt, error))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, action_id);
  sqlite3_bind_text (stmt, 2, g_get_user_name (), -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self->db, self->path, error);
      goto fail;
    }
  return TRUE;

fail:
  dothi_store_rollback (store);
  return FALSE;
}

static gboolean
store_commit (DothiStore *store, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);

  g_return_val_if_fail (self->in_action, FALSE);

  /* A SpatiaLite trigger's RAISE(ROLLBACK) ends the transaction silently. */
  if (sqlite3_get_autocommit (self->db))
    {
      self->in_action = FALSE;
      self->schema_changed = FALSE;
      g_hash_table_remove_all (self->pending);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("The change to “%s” was cancelled by the database; nothing was saved"),
                   self->path);
      return FALSE;
    }
  /* Dothi's own DDL is not another program's: record the schema cookie
   * so the next open does not rewrite the audit triggers. */
  if (self->schema_changed
      && !dothi_spatialite_store_exec (self,
                                       "INSERT OR REPLACE INTO dothi_meta (key, value) "
                                       "SELECT 'triggers_schema_version', schema_version "
                                       "FROM pragma_schema_version", error))
    {
      dothi_store_rollback (store);
      return FALSE;
    }
  if (!dothi_spatialite_store_exec (self, "DELETE FROM dothi_context", error)
      || !dothi_spatialite_store_exec (self, "COMMIT", error))
    {
      dothi_store_rollback (store);
      return FALSE;
    }
  self->in_action = FALSE;
  self->schema_changed = FALSE;
  g_hash_table_remove_all (self->pending);
  return TRUE;
}

static void
store_rollback (DothiStore *store)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);

  g_hash_table_remove_all (self->pending);
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  self->in_action = FALSE;
  self->schema_changed = FALSE;
}

/* ---- registry ---------------------------------------------------------- */

/* The type of a column another program added, from its declared type
 * (SQLite's affinity rules, with the names OGR and QGIS write). */
static DothiFieldType
field_type_from_declared (const char *declared)
{
  g_autofree char *t = g_ascii_strup (declared ? declared : "", -1);

  if (strstr (t, "INT") != NULL)
    return strstr (t, "BOOL") ? DOTHI_FIELD_BOOLEAN : DOTHI_FIELD_INTEGER;
  if (strstr (t, "BOOL") != NULL)
    return DOTHI_FIELD_BOOLEAN;
  if (strstr (t, "DATETIME") != NULL || strstr (t, "TIMESTAMP") != NULL)
    return DOTHI_FIELD_DATETIME;
  if (strstr (t, "DATE") != NULL)
    return DOTHI_FIELD_DATE;
  if (strstr (t, "REAL") != NULL || strstr (t, "FLOA") != NULL || strstr (t, "DOUB") != NULL
      || strstr (t, "NUMERIC") != NULL || strstr (t, "DECIMAL") != NULL)
    return DOTHI_FIELD_REAL;
  if (strstr (t, "BLOB") != NULL)
    return DOTHI_FIELD_BLOB;
  return DOTHI_FIELD_TEXT;
}

static DothiLayerInfo *
layer_from_row (DothiSpatialiteStore *self, sqlite3_stmt *stmt)
{
  DothiLayerInfo *info = dothi_layer_info_new ();
  g_autoptr(sqlite3_stmt) fields = NULL;

#define COL_TEXT(i) g_strdup ((const char *) sqlite3_column_text (stmt, i))
  info->name = COL_TEXT (0);
  info->title = COL_TEXT (1);
  info->kind = dothi_geometry_kind_from_string ((const char *) sqlite3_column_text (stmt, 2));
  info->srid = sqlite3_column_int (stmt, 3);
  info->has_z = sqlite3_column_int (stmt, 4);
  info->has_m = sqlite3_column_int (stmt, 5);
  info->source = COL_TEXT (6);
  info->driver = COL_TEXT (7);
  info->encoding = COL_TEXT (8);
  info->operation = COL_TEXT (9);
  info->imported_at = COL_TEXT (10);
  info->z_order = sqlite3_column_int (stmt, 11);
  info->visible = sqlite3_column_int (stmt, 12);
  info->feature_count = sqlite3_column_int64 (stmt, 13);
  for (int i = 0; i < 4; i++)
    info->extent[i] = sqlite3_column_double (stmt, 14 + i);
  info->opacity = CLAMP (sqlite3_column_double (stmt, 18), 0.0, 1.0);
  info->style = COL_TEXT (19);
#undef COL_TEXT

  /* The table itself is the truth: a column added, renamed or dropped in
   * QGIS or the spatialite shell is seen at once. dothi_fields keeps the
   * types SQLite cannot tell apart (date, boolean). */
  if (sqlite3_prepare_v2 (self->db,
                          "SELECT c.name, f.type, c.type FROM pragma_table_info(?1) AS c "
                          "LEFT JOIN dothi_fields AS f ON f.layer = ?1 AND f.name = c.name "
                          "WHERE c.name NOT IN ('fid', 'geom') ORDER BY c.cid",
                          -1, &fields, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (fields, 1, info->name, -1, SQLITE_TRANSIENT);
      while (sqlite3_step (fields) == SQLITE_ROW)
        {
          const char *name = (const char *) sqlite3_column_text (fields, 0);
          const char *known = (const char *) sqlite3_column_text (fields, 1);
          const char *declared = (const char *) sqlite3_column_text (fields, 2);

          dothi_layer_info_add_field (info, name,
                                      known ? dothi_field_type_from_string (known)
                                            : field_type_from_declared (declared));
        }
    }
  return info;
}

#define LAYER_COLUMNS \
  "name, title, kind, srid, has_z, has_m, source, driver, encoding, operation, " \
  "imported_at, z_order, visible, feature_count, min_x, min_y, max_x, max_y, " \
  "opacity, style"

static GPtrArray *
store_list_layers (DothiStore *store, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_layer_info_free);
  int rc;

  if (!prepare (self, "SELECT " LAYER_COLUMNS " FROM dothi_layers ORDER BY z_order, name",
                &stmt, error))
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (layers, layer_from_row (self, stmt));
  if (rc != SQLITE_DONE)
    {
      set_db_error (self->db, self->path, error);
      return NULL;
    }
  return g_steal_pointer (&layers);
}

static DothiLayerInfo *
store_get_layer (DothiStore *store, const char *name, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!prepare (self, "SELECT " LAYER_COLUMNS " FROM dothi_layers WHERE name = ?1", &stmt, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return layer_from_row (self, stmt);
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: layer name, project file */
               _("There is no layer “%s” in “%s”"), name, self->path);
  return NULL;
}

/* ---- spatial index bulk load ------------------------------------------- */

/* SQLite's R-tree stores 32-bit floats rounded outward (rtree.c,
 * rtreeValueDown/Up); the same rounding keeps rtreecheck() happy. */
#define RNDTOWARDS (1.0 - 1.0 / 8388608.0)
#define RNDAWAY    (1.0 + 1.0 / 8388608.0)

static float
rtree_value_down (double d)
{
  float f = (float) d;
  if (f > d)
    f = (float) (d * (d < 0 ? RNDAWAY : RNDTOWARDS));
  return f;
}

static float
rtree_value_up (double d)
{
  float f = (float) d;
  if (f < d)
    f = (float) (d * (d < 0 ? RNDTOWARDS : RNDAWAY));
  return f;
}

static int
compare_cell_x (gconstpointer a, gconstpointer b)
{
  const RtreeCell *ca = a, *cb = b;
  float xa = ca->box[0] + ca->box[1], xb = cb->box[0] + cb->box[1];
  return (xa > xb) - (xa < xb);
}

static int
compare_cell_y (gconstpointer a, gconstpointer b)
{
  const RtreeCell *ca = a, *cb = b;
  float ya = ca->box[2] + ca->box[3], yb = cb->box[2] + cb->box[3];
  return (ya > yb) - (ya < yb);
}

static void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_BE (v);
  memcpy (p, &v, 4);
}

static void
put_be64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_BE (v);
  memcpy (p, &v, 8);
}

static int
compare_key (gconstpointer a, gconstpointer b)
{
  gint64 ka = *(const gint64 *) a, kb = *(const gint64 *) b;
  return (ka > kb) - (ka < kb);
}

/* Inserts (key, node) pairs sorted by key, and empties @map. */
static gboolean
write_map (DothiSpatialiteStore *self, const char *table, sqlite3_stmt *stmt, GArray *map,
           GError **error)
{
  qsort (map->data, map->len, 2 * sizeof (gint64), compare_key);
  for (guint i = 0; i < map->len; i++)
    {
      const gint64 *pair = (const gint64 *) (map->data + (gsize) i * 2 * sizeof (gint64));

      sqlite3_bind_int64 (stmt, 1, pair[0]);
      sqlite3_bind_int64 (stmt, 2, pair[1]);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        return set_db_error (self->db, table, error);
      sqlite3_reset (stmt);
    }
  g_array_set_size (map, 0);
  return TRUE;
}

/* Fills the (empty) R-tree "idx_<table>_geom" that CreateSpatialIndex made,
 * by writing its node, rowid and parent shadow tables directly, packed
 * Sort-Tile-Recursive. Inserting a million boxes one by one costs ~7 s;
 * packing them costs well under one, and gives fuller nodes. */
static gboolean
bulk_load_rtree (DothiSpatialiteStore *self, const char *table, GArray *cells, GError **error)
{
  g_autoptr(DothiSqlStr) idx = sqlite3_mprintf ("idx_%s_geom", table);
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) node_stmt = NULL;
  g_autoptr(sqlite3_stmt) rowid_stmt = NULL;
  g_autoptr(sqlite3_stmt) parent_stmt = NULL;
  g_autoptr(GArray) level = NULL;
  g_autofree guint8 *blob = NULL;
  g_autoptr(GArray) row_map = NULL;
  g_autoptr(GArray) parent_map = NULL;
  gint64 next_node = 2;
  int node_size, cap, depth = 0;

  if (cells->len == 0)
    return TRUE;

  sql = sqlite3_mprintf ("SELECT length(data) FROM \"%w_node\" WHERE nodeno = 1", idx);
  if (!prepare (self, sql, &node_stmt, error))
    return FALSE;
  if (sqlite3_step (node_stmt) != SQLITE_ROW)
    return set_db_error (self->db, table, error);
  node_size = sqlite3_column_int (node_stmt, 0);
  g_clear_pointer (&node_stmt, sqlite3_finalize);
  cap = (node_size - 4) / 24;
  if (cap < 4)
    return set_db_error (self->db, table, error);
  blob = g_malloc (node_size);

  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("DELETE FROM \"%w_node\"; DELETE FROM \"%w_rowid\"; DELETE FROM \"%w_parent\";",
                         idx, idx, idx);
  if (!dothi_spatialite_store_exec (self, sql, error))
    return FALSE;

  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("INSERT INTO \"%w_node\" (nodeno, data) VALUES (?1, ?2)", idx);
  if (!prepare (self, sql, &node_stmt, error))
    return FALSE;
  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("INSERT INTO \"%w_rowid\" (rowid, nodeno) VALUES (?1, ?2)", idx);
  if (!prepare (self, sql, &rowid_stmt, error))
    return FALSE;
  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("INSERT INTO \"%w_parent\" (nodeno, parentnode) VALUES (?1, ?2)", idx);
  if (!prepare (self, sql, &parent_stmt, error))
    return FALSE;

  row_map = g_array_sized_new (FALSE, FALSE, 2 * sizeof (gint64), cells->len);
  parent_map = g_array_new (FALSE, FALSE, 2 * sizeof (gint64));
  level = g_array_ref (cells);
  for (;;)
    {
      gboolean root = level->len <= (guint) cap;
      g_autoptr(GArray) parents = g_array_new (FALSE, FALSE, sizeof (RtreeCell));
      RtreeCell *c = (RtreeCell *) level->data;
      guint n = level->len;
      guint n_nodes = root ? 1 : (n + cap - 1) / cap;
      guint n_slices = (guint) ceil (sqrt ((double) n_nodes));
      guint per_slice = n_slices * (guint) cap;

      if (!root)
        {
          qsort (c, n, sizeof *c, compare_cell_x);
          for (guint s = 0; s < n; s += per_slice)
            qsort (c + s, MIN (per_slice, n - s), sizeof *c, compare_cell_y);
        }

      for (guint start = 0; start < n; start += cap)
        {
          guint count = MIN ((guint) cap, n - start);
          gint64 nodeno = root ? 1 : next_node++;
          RtreeCell parent = { nodeno, { G_MAXFLOAT, -G_MAXFLOAT, G_MAXFLOAT, -G_MAXFLOAT } };

          memset (blob, 0, node_size);
          put_be16 (blob, root ? (guint16) depth : 0);
          put_be16 (blob + 2, (guint16) count);
          for (guint k = 0; k < count; k++)
            {
              const RtreeCell *e = &c[start + k];
              guint8 *p = blob + 4 + 24 * k;

              put_be64 (p, (guint64) e->id);
              for (int d = 0; d < 4; d++)
                {
                  guint32 bits;
                  memcpy (&bits, &e->box[d], 4);
                  put_be32 (p + 8 + 4 * d, bits);
                }
              parent.box[0] = MIN (parent.box[0], e->box[0]);
              parent.box[1] = MAX (parent.box[1], e->box[1]);
              parent.box[2] = MIN (parent.box[2], e->box[2]);
              parent.box[3] = MAX (parent.box[3], e->box[3]);

              /* Leaves map rows to nodes; inner nodes map children to parents. */
              {
                gint64 pair[2] = { e->id, nodeno };
                g_array_append_vals (depth == 0 ? row_map : parent_map, pair, 1);
              }
            }
          sqlite3_bind_int64 (node_stmt, 1, nodeno);
          sqlite3_bind_blob (node_stmt, 2, blob, node_size, SQLITE_STATIC);
          if (sqlite3_step (node_stmt) != SQLITE_DONE)
            return set_db_error (self->db, table, error);
          sqlite3_reset (node_stmt);
          g_array_append_val (parents, parent);
        }
      /* Written in key order, the maps' B-trees only ever append. */
      if (depth == 0 && !write_map (self, table, rowid_stmt, row_map, error))
        return FALSE;
      if (depth > 0 && !write_map (self, table, parent_stmt, parent_map, error))
        return FALSE;
      if (root)
        break;
      g_array_unref (level);
      level = g_steal_pointer (&parents);
      depth++;
    }
  return TRUE;
}

/* Registers the geometry column and creates SpatiaLite's (empty) spatial
 * index while the table is empty, then holds SpatiaLite's triggers back
 * until finish_layer(): the bulk load writes plain blobs without per-row
 * type checks or R-tree inserts (DESIGN.md §4); types, SRID and dimensions
 * are guaranteed by the blob encoder instead. */
static gboolean
add_geometry_column (DothiSpatialiteStore *self, PendingLayer *pl, GError **error)
{
  const DothiLayerInfo *info = pl->info;
  const char *dims = info->has_z && info->has_m ? "XYZM" : info->has_z ? "XYZ"
                     : info->has_m ? "XYM" : "XY";
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) drop = NULL;

  /* A table of this name dropped with plain DROP TABLE leaves SpatiaLite's
   * metadata and index behind; the table itself is known to be gone. */
  if (!prepare (self, "DELETE FROM geometry_columns WHERE lower(f_table_name) = lower(?1)", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, info->name, error);
  g_clear_pointer (&stmt, sqlite3_finalize);
  drop = sqlite3_mprintf ("DROP TABLE IF EXISTS \"idx_%w_geom\"", info->name);
  if (!dothi_spatialite_store_exec (self, drop, error))
    return FALSE;

  if (!prepare (self, "SELECT AddGeometryColumn(?1, 'geom', ?2, ?3, ?4)", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, info->srid);
  sqlite3_bind_text (stmt, 3, dothi_geometry_kind_to_string (info->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, dims, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: layer name */
                   _("The geometries of layer “%s” could not be registered"), info->name);
      return FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (!prepare (self, "SELECT CreateSpatialIndex(?1, 'geom')", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("The spatial index of layer “%s” could not be built"), info->name);
      return FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (!prepare (self, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1",
                &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  {
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    while (sqlite3_step (stmt) == SQLITE_ROW)
      {
        g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
        g_ptr_array_add (pl->triggers, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
      }
    for (guint i = 0; i < names->len; i++)
      {
        g_autoptr(DothiSqlStr) drop = sqlite3_mprintf ("DROP TRIGGER \"%w\"", (char *) g_ptr_array_index (names, i));
        if (!dothi_spatialite_store_exec (self, drop, error))
          return FALSE;
      }
  }
  return TRUE;
}

/* ---- bulk writing ------------------------------------------------------ */

static gboolean
store_create_layer (DothiStore *store, const DothiLayerInfo *info, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(GString) create = g_string_new (NULL);
  g_autoptr(GString) insert = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new (NULL);
  g_autoptr(sqlite3_stmt) reg = NULL;
  g_autoptr(DothiSqlStr) head = NULL;
  PendingLayer *pl;
  guint n = 0;

  g_return_val_if_fail (self->in_action, FALSE);

  if (!is_slug (info->name) || is_reserved (info->name))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a table name */
                   _("“%s” cannot be used as a layer table name"), info->name);
      return FALSE;
    }
  if (store_has_table (store, info->name))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   _("Layer “%s” already exists in “%s”"), info->name, self->path);
      return FALSE;
    }
  if (info->kind != DOTHI_GEOMETRY_KIND_NONE
      && !dothi_spatialite_store_ensure_srid (self, info->srid, error))
    return FALSE;

  head = sqlite3_mprintf ("CREATE TABLE \"%w\" (fid INTEGER PRIMARY KEY AUTOINCREMENT", info->name);
  g_string_append (create, head);
  g_clear_pointer (&head, sqlite3_free);
  head = sqlite3_mprintf ("INSERT INTO \"%w\" (", info->name);
  g_string_append (insert, head);

  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf (", \"%w\" %s", f->name, dothi_field_type_to_sql (f->type));
      g_autoptr(DothiSqlStr) ins = sqlite3_mprintf ("%s\"%w\"", n > 0 ? ", " : "", f->name);

      g_string_append (create, col);
      g_string_append (insert, ins);
      g_string_append_printf (params, "%s?%u", n > 0 ? ", " : "", n + 1);
      n++;
    }
  if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
    {
      /* Added by AddGeometryColumn below. */
      g_string_append_printf (insert, "%sgeom", n > 0 ? ", " : "");
      g_string_append_printf (params, "%s?%u", n > 0 ? ", " : "", n + 1);
      n++;
    }
  g_string_append (create, ")");
  if (n == 0)
    g_string_append (insert, ") DEFAULT VALUES");
  else
    g_string_append_printf (insert, ") VALUES (%s)", params->str);

  if (!dothi_spatialite_store_exec (self, create->str, error))
    return FALSE;

  pl = g_new0 (PendingLayer, 1);
  pl->info = dothi_layer_info_copy (info);
  pl->blob = g_byte_array_sized_new (1024);
  pl->cells = g_array_sized_new (FALSE, FALSE, sizeof (RtreeCell), 1024);
  pl->triggers = g_ptr_array_new_with_free_func (g_free);
  pl->extent[0] = pl->extent[1] = G_MAXDOUBLE;
  pl->extent[2] = pl->extent[3] = -G_MAXDOUBLE;
  g_hash_table_replace (self->pending, pl->info->name, pl);

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE
      && !add_geometry_column (self, pl, error))
    return FALSE;

  if (!prepare (self,
                "INSERT INTO dothi_layers (name, title, kind, srid, has_z, has_m, source, driver, "
                "encoding, operation, imported_at, z_order, visible) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                "?7, ?8, ?9, ?10, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
                "(SELECT COALESCE(MAX(z_order), 0) + 1 FROM dothi_layers), 1)",
                &reg, error))
    return FALSE;
  sqlite3_bind_text (reg, 1, info->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (reg, 2, info->title ? info->title : info->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (reg, 3, dothi_geometry_kind_to_string (info->kind), -1, SQLITE_STATIC);
  sqlite3_bind_int (reg, 4, info->kind == DOTHI_GEOMETRY_KIND_NONE ? 0 : info->srid);
  sqlite3_bind_int (reg, 5, info->has_z);
  sqlite3_bind_int (reg, 6, info->has_m);
  sqlite3_bind_text (reg, 7, info->source, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (reg, 8, info->driver, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (reg, 9, info->encoding, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (reg, 10, info->operation, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (reg) != SQLITE_DONE)
    return set_db_error (self->db, self->path, error);
  g_clear_pointer (&reg, sqlite3_finalize);

  if (!prepare (self, "INSERT INTO dothi_fields (layer, position, name, type) VALUES (?1, ?2, ?3, ?4)",
                &reg, error))
    return FALSE;
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);

      sqlite3_reset (reg);
      sqlite3_bind_text (reg, 1, info->name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (reg, 2, (int) i);
      sqlite3_bind_text (reg, 3, f->name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (reg, 4, dothi_field_type_to_string (f->type), -1, SQLITE_STATIC);
      if (sqlite3_step (reg) != SQLITE_DONE)
        return set_db_error (self->db, self->path, error);
    }

  return prepare (self, insert->str, &pl->insert, error);
}

static gboolean
store_insert_feature (DothiStore *store, const char *layer, const DothiValue *values,
                      const guint8 *wkb, gsize wkb_len, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  PendingLayer *pl = g_hash_table_lookup (self->pending, layer);
  sqlite3_stmt *stmt;
  guint nf;

  gboolean have_box = FALSE;
  float box[4];

  g_return_val_if_fail (pl != NULL, FALSE);
  stmt = pl->insert;
  nf = pl->info->fields->len;

  for (guint i = 0; i < nf; i++)
    {
      const DothiField *f = g_ptr_array_index (pl->info->fields, i);
      const DothiValue *v = &values[i];
      int p = (int) i + 1;

      if (v->is_null)
        sqlite3_bind_null (stmt, p);
      else
        switch (f->type)
          {
          case DOTHI_FIELD_INTEGER:
          case DOTHI_FIELD_BOOLEAN:
            sqlite3_bind_int64 (stmt, p, v->v.i);
            break;
          case DOTHI_FIELD_REAL:
            sqlite3_bind_double (stmt, p, v->v.d);
            break;
          case DOTHI_FIELD_BLOB:
            sqlite3_bind_blob64 (stmt, p, v->v.b.data, v->v.b.len, SQLITE_STATIC);
            break;
          case DOTHI_FIELD_TEXT:
          case DOTHI_FIELD_DATE:
          case DOTHI_FIELD_DATETIME:
          default:
            sqlite3_bind_text (stmt, p, v->v.s, -1, SQLITE_STATIC);
            break;
          }
    }

  if (pl->info->kind != DOTHI_GEOMETRY_KIND_NONE)
    {
      double mbr[4];

      if (wkb == NULL)
        sqlite3_bind_null (stmt, (int) nf + 1);
      else if (!dothi_blob_from_wkb (wkb, wkb_len, pl->info->srid, pl->blob, mbr))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: layer name */
                       _("A geometry of layer “%s” could not be encoded"), layer);
          sqlite3_reset (stmt);
          return FALSE;
        }
      else
        {
          sqlite3_bind_blob (stmt, (int) nf + 1, pl->blob->data, (int) pl->blob->len, SQLITE_STATIC);
          have_box = TRUE;
          box[0] = rtree_value_down (mbr[0]);
          box[1] = rtree_value_up (mbr[2]);
          box[2] = rtree_value_down (mbr[1]);
          box[3] = rtree_value_up (mbr[3]);
          if (mbr[0] < pl->extent[0]) pl->extent[0] = mbr[0];
          if (mbr[1] < pl->extent[1]) pl->extent[1] = mbr[1];
          if (mbr[2] > pl->extent[2]) pl->extent[2] = mbr[2];
          if (mbr[3] > pl->extent[3]) pl->extent[3] = mbr[3];
        }
    }

  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      set_db_error (self->db, layer, error);
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  pl->count++;
  if (have_box)
    {
      RtreeCell cell = { sqlite3_last_insert_rowid (self->db), { box[0], box[1], box[2], box[3] } };
      g_array_append_val (pl->cells, cell);
    }
  return TRUE;
}

/* A parcel layer numbered per map sheet (and commune) gets an index on
 * them: a split's next parcel number, and the search of "tờ 12 thửa 345",
 * then read one sheet instead of a million rows. */
static gboolean
create_sheet_index (DothiSpatialiteStore *self, const DothiLayerInfo *info, GError **error)
{
  g_autoptr(DothiSqlStr) sql = NULL;
  gboolean commune;

  if (dothi_layer_info_find_field (info, "so_to") < 0
      || dothi_layer_info_find_field (info, "so_thua") < 0)
    return TRUE;
  commune = dothi_layer_info_find_field (info, "ma_xa") >= 0;
  sql = sqlite3_mprintf ("CREATE INDEX IF NOT EXISTS \"dothi_ix_%w_sheet\" ON \"%w\" "
                         "(so_to%s, so_thua)", info->name, info->name,
                         commune ? ", ma_xa" : "");
  return dothi_spatialite_store_exec (self, sql, error);
}

static gboolean
store_finish_layer (DothiStore *store, const char *layer, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  PendingLayer *pl = g_hash_table_lookup (self->pending, layer);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const DothiLayerInfo *info;

  g_return_val_if_fail (pl != NULL, FALSE);
  info = pl->info;
  g_clear_pointer (&pl->insert, sqlite3_finalize);

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
    {
      if (!bulk_load_rtree (self, info->name, pl->cells, error))
        return FALSE;
      for (guint i = 0; i < pl->triggers->len; i++)
        if (!dothi_spatialite_store_exec (self, g_ptr_array_index (pl->triggers, i), error))
          return FALSE;
      g_clear_pointer (&pl->cells, g_array_unref);
    }

  if (!create_audit_triggers (self, info->name, error))
    return FALSE;
  if (!create_sheet_index (self, info, error))
    return FALSE;
  self->schema_changed = TRUE;

  if (!prepare (self,
                "UPDATE dothi_layers SET feature_count = ?2, min_x = ?3, min_y = ?4, max_x = ?5, "
                "max_y = ?6 WHERE name = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, pl->count);
  for (int i = 0; i < 4; i++)
    {
      if (pl->extent[0] <= pl->extent[2])
        sqlite3_bind_double (stmt, 3 + i, pl->extent[i]);
      else
        sqlite3_bind_null (stmt, 3 + i);
    }
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, self->path, error);
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* One audit row for the whole import, not one per feature. */
  if (!prepare (self,
                "INSERT INTO dothi_audit (action_id, user, layer, fid, op, after_attrs) VALUES ("
                "(SELECT action_id FROM dothi_context WHERE id = 1), "
                "COALESCE((SELECT user FROM dothi_context WHERE id = 1), 'external'), "
                "?1, NULL, 'import', json_object('features', ?2, 'source', ?3))", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, pl->count);
  sqlite3_bind_text (stmt, 3, info->source, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, self->path, error);

  g_hash_table_remove (self->pending, layer);
  return TRUE;
}

/* ---- reading ----------------------------------------------------------- */

static gboolean
store_read_features (DothiStore *store, const char *layer, const double *bbox,
                     DothiFeatureFunc func, gpointer user_data,
                     GCancellable *cancellable, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GString) sql = g_string_new ("SELECT fid");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  g_autofree DothiValue *values = NULL;
  g_autoptr(DothiSqlStr) from = NULL;
  gboolean has_geom;
  guint nf;
  gint64 row = 0;
  int rc;

  info = store_get_layer (store, layer, error);
  if (info == NULL)
    return FALSE;
  has_geom = info->kind != DOTHI_GEOMETRY_KIND_NONE;
  nf = info->fields->len;
  values = g_new0 (DothiValue, MAX (nf, 1));

  for (guint i = 0; i < nf; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf (", \"%w\"", f->name);
      g_string_append (sql, col);
    }
  g_string_append (sql, has_geom ? ", geom" : ", NULL");
  from = sqlite3_mprintf (" FROM \"%w\"", info->name);
  g_string_append (sql, from);
  if (bbox != NULL && has_geom)
    {
      g_autoptr(DothiSqlStr) where =
        sqlite3_mprintf (" WHERE fid IN (SELECT pkid FROM \"idx_%w_geom\" WHERE xmin <= ?3 "
                         "AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2)", info->name);
      g_string_append (sql, where);
    }
  g_string_append (sql, " ORDER BY fid");

  if (!prepare (self, sql->str, &stmt, error))
    return FALSE;
  if (bbox != NULL && has_geom)
    for (int i = 0; i < 4; i++)
      sqlite3_bind_double (stmt, i + 1, bbox[i]);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const guint8 *geom = NULL;
      gsize geom_len = 0;

      if ((row++ & 0x3ff) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      for (guint i = 0; i < nf; i++)
        {
          const DothiField *f = g_ptr_array_index (info->fields, i);
          int c = (int) i + 1;
          DothiValue *v = &values[i];

          v->is_null = sqlite3_column_type (stmt, c) == SQLITE_NULL;
          switch (f->type)
            {
            case DOTHI_FIELD_INTEGER:
            case DOTHI_FIELD_BOOLEAN:
              v->v.i = sqlite3_column_int64 (stmt, c);
              break;
            case DOTHI_FIELD_REAL:
              v->v.d = sqlite3_column_double (stmt, c);
              break;
            case DOTHI_FIELD_BLOB:
              v->v.b.data = sqlite3_column_blob (stmt, c);
              v->v.b.len = (gsize) sqlite3_column_bytes (stmt, c);
              break;
            default:
              v->v.s = (const char *) sqlite3_column_text (stmt, c);
              break;
            }
        }
      if (has_geom && sqlite3_column_type (stmt, (int) nf + 1) == SQLITE_BLOB)
        {
          const guint8 *blob = sqlite3_column_blob (stmt, (int) nf + 1);
          gsize len = (gsize) sqlite3_column_bytes (stmt, (int) nf + 1);

          if (!dothi_blob_to_wkb (blob, len, wkb, NULL))
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: feature id, layer name */
                           _("Feature %lld of layer “%s” has an unreadable geometry"),
                           (long long) sqlite3_column_int64 (stmt, 0), info->name);
              return FALSE;
            }
          geom = wkb->data;
          geom_len = wkb->len;
        }
      if (!func (sqlite3_column_int64 (stmt, 0), values, geom, geom_len, user_data, error))
        return FALSE;
    }
  if (rc != SQLITE_DONE)
    return set_db_error (self->db, info->name, error);
  return TRUE;
}

static int
compare_column_names (gconstpointer a, gconstpointer b, gpointer data)
{
  sqlite3_stmt *stmt = data;

  return g_strcmp0 (sqlite3_column_name (stmt, *(const int *) a),
                    sqlite3_column_name (stmt, *(const int *) b));
}

static char *
store_layer_checksum (DothiStore *store, const char *layer, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GArray) order = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  int rc;

  if (!is_slug (layer) || !store_has_table (store, layer))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("There is no layer “%s” in “%s”"), layer, self->path);
      return NULL;
    }
  sql = sqlite3_mprintf ("SELECT * FROM \"%w\" ORDER BY fid", layer);
  if (!prepare (self, sql, &stmt, error))
    return NULL;
  /* Columns in name order: a field removed and restored by undo comes
   * back at the end of the table, with the same values. */
  {
    int n = sqlite3_column_count (stmt);

    order = g_array_sized_new (FALSE, FALSE, sizeof (int), n);
    for (int c = 0; c < n; c++)
      g_array_append_val (order, c);
    g_array_sort_with_data (order, compare_column_names, stmt);
  }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      for (guint k = 0; k < order->len; k++)
        {
          int c = g_array_index (order, int, k);
          guint8 type = (guint8) sqlite3_column_type (stmt, c);
          int len;

          g_checksum_update (sum, &type, 1);
          if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
            {
              const char *text = (const char *) sqlite3_column_text (stmt, c);
              g_checksum_update (sum, (const guint8 *) text, -1);
            }
          else if (type == SQLITE_TEXT || type == SQLITE_BLOB)
            {
              const void *data = type == SQLITE_TEXT ? (const void *) sqlite3_column_text (stmt, c)
                                                     : sqlite3_column_blob (stmt, c);
              len = sqlite3_column_bytes (stmt, c);
              g_checksum_update (sum, (const guint8 *) &len, sizeof len);
              g_checksum_update (sum, data, len);
            }
        }
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (self->db, layer, error);
      return NULL;
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* ---- undoable layer and field actions ---------------------------------- */

static gboolean
drop_audit_triggers (DothiSpatialiteStore *self, const char *table, GError **error)
{
  g_autoptr(DothiSqlStr) sql =
    sqlite3_mprintf ("DROP TRIGGER IF EXISTS \"dothi_audit_%w_insert\";\n"
                     "DROP TRIGGER IF EXISTS \"dothi_audit_%w_update\";\n"
                     "DROP TRIGGER IF EXISTS \"dothi_audit_%w_delete\";\n", table, table, table);

  return dothi_spatialite_store_exec (self, sql, error);
}

/* The column of @table named @column in any case, or NULL. */
static char *
find_column (DothiSpatialiteStore *self, const char *table, const char *column)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT name FROM pragma_table_info(?1) WHERE lower(name) = lower(?2)",
                          -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, column, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

gboolean
dothi_spatialite_store_has_column (DothiSpatialiteStore *self, const char *table, const char *column)
{
  g_autofree char *found = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  found = find_column (self, table, column);
  return found != NULL;
}

gboolean
dothi_spatialite_store_table_exists (DothiSpatialiteStore *self, const char *table)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  if (sqlite3_prepare_v2 (self->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_TRANSIENT);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

/* ADD COLUMN and its dothi_fields row, at the end of the table. */
static gboolean
add_column (DothiSpatialiteStore *self, const char *layer, const char *name,
            DothiFieldType type, GError **error)
{
  g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("ALTER TABLE \"%w\" ADD COLUMN \"%w\" %s",
                                                layer, name, dothi_field_type_to_sql (type));
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!dothi_spatialite_store_exec (self, sql, error))
    return FALSE;
  /* A row left by a column another program dropped would stand in the way. */
  if (!prepare (self, "DELETE FROM dothi_fields WHERE layer = ?1 AND name = ?2", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, layer, error);
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!prepare (self,
                "INSERT INTO dothi_fields (layer, position, name, type) VALUES (?1, "
                "(SELECT COALESCE(max(position) + 1, 0) FROM dothi_fields WHERE layer = ?1), ?2, ?3)",
                &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, dothi_field_type_to_string (type), -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, layer, error);
  self->schema_changed = TRUE;
  return TRUE;
}

static DothiLayerInfo *
get_action_layer (DothiSpatialiteStore *self, const char *layer, GError **error)
{
  DothiLayerInfo *info;

  g_return_val_if_fail (self->in_action, NULL);
  info = store_get_layer (DOTHI_STORE (self), layer, error);
  if (info != NULL && !is_slug (info->name))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("“%s” cannot be used as a layer table name"), info->name);
      g_clear_pointer (&info, dothi_layer_info_free);
    }
  return info;
}

gboolean
dothi_spatialite_store_add_field (DothiSpatialiteStore  *self,
                                  const char            *layer,
                                  const char            *name,
                                  DothiFieldType         type,
                                  GError               **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *existing = NULL;
  static const char *reserved_columns[] = { "fid", "geom", "rowid", "oid", "_rowid_", NULL };

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  info = get_action_layer (self, layer, error);
  if (info == NULL)
    return FALSE;
  if (!is_slug (name))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name */
                   _("“%s” cannot be used as a field name: use lower-case ASCII letters, digits and _, "
                     "starting with a letter"), name);
      return FALSE;
    }
  if (g_strv_contains (reserved_columns, name) || g_str_has_prefix (name, "dothi_"))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name */
                   _("“%s” is a reserved name and cannot be used as a field name"), name);
      return FALSE;
    }
  existing = find_column (self, layer, name);
  if (existing != NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   /* Translators: layer title, field name */
                   _("Layer “%s” already has a field “%s”"), info->title ? info->title : layer, existing);
      return FALSE;
    }
  return add_column (self, layer, name, type, error)
         && create_audit_triggers (self, layer, error);
}

gboolean
dothi_spatialite_store_remove_field (DothiSpatialiteStore  *self,
                                     const char            *layer,
                                     const char            *name,
                                     const char            *trash,
                                     GError               **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const char *title;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  info = get_action_layer (self, layer, error);
  if (info == NULL)
    return FALSE;
  title = info->title ? info->title : layer;
  if (dothi_layer_info_find_field (info, name) < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: field name, layer title */
                   _("Layer “%s” has no field “%s”"), title, name);
      return FALSE;
    }
  if (!prepare (self,
                "SELECT 1 FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii "
                "WHERE ii.name = ?2", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: field name, layer title */
                   _("Field “%s” of layer “%s” is indexed and cannot be removed"), name, title);
      return FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* The values are kept, exactly as stored, for undo. */
  if (trash != NULL)
    {
      sql = sqlite3_mprintf ("CREATE TABLE \"%w\" (fid INTEGER PRIMARY KEY, value);\n"
                             "INSERT INTO \"%w\" (fid, value) SELECT fid, \"%w\" FROM \"%w\" "
                             "WHERE \"%w\" IS NOT NULL;\n", trash, trash, name, layer, name);
      if (!dothi_spatialite_store_exec (self, sql, error))
        return FALSE;
      g_clear_pointer (&sql, sqlite3_free);
    }
  /* The audit triggers name the column: DROP COLUMN refuses while they do. */
  if (!drop_audit_triggers (self, layer, error))
    return FALSE;
  sql = sqlite3_mprintf ("ALTER TABLE \"%w\" DROP COLUMN \"%w\"", layer, name);
  if (!dothi_spatialite_store_exec (self, sql, error))
    return FALSE;
  if (!prepare (self, "DELETE FROM dothi_fields WHERE layer = ?1 AND name = ?2", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, layer, error);
  self->schema_changed = TRUE;
  return create_audit_triggers (self, layer, error);
}

gboolean
dothi_spatialite_store_restore_field (DothiSpatialiteStore  *self,
                                      const char            *layer,
                                      const char            *name,
                                      DothiFieldType         type,
                                      const char            *trash,
                                      GError               **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *existing = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  info = get_action_layer (self, layer, error);
  if (info == NULL)
    return FALSE;
  existing = find_column (self, layer, name);
  if (existing != NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   _("Layer “%s” already has a field “%s”"), info->title ? info->title : layer, existing);
      return FALSE;
    }
  /* Without audit triggers while the values go back: restoring them is
   * part of the schema action, not an edit of each feature. */
  if (!drop_audit_triggers (self, layer, error)
      || !add_column (self, layer, name, type, error))
    return FALSE;
  if (trash != NULL)
    {
      g_autoptr(DothiSqlStr) sql =
        sqlite3_mprintf ("UPDATE \"%w\" SET \"%w\" = (SELECT value FROM \"%w\" AS t WHERE t.fid = \"%w\".fid) "
                         "WHERE fid IN (SELECT fid FROM \"%w\");\n"
                         "DROP TABLE \"%w\";\n", layer, name, trash, layer, trash, trash);
      if (!dothi_spatialite_store_exec (self, sql, error))
        return FALSE;
    }
  return create_audit_triggers (self, layer, error);
}

/* One row as a JSON object, by storage class (BLOBs are left out). */
static JsonNode *
row_to_json (sqlite3_stmt *stmt)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  for (int c = 0; c < sqlite3_column_count (stmt); c++)
    {
      switch (sqlite3_column_type (stmt, c))
        {
        case SQLITE_INTEGER:
          json_builder_set_member_name (b, sqlite3_column_name (stmt, c));
          json_builder_add_int_value (b, sqlite3_column_int64 (stmt, c));
          break;
        case SQLITE_FLOAT:
          json_builder_set_member_name (b, sqlite3_column_name (stmt, c));
          json_builder_add_double_value (b, sqlite3_column_double (stmt, c));
          break;
        case SQLITE_TEXT:
          json_builder_set_member_name (b, sqlite3_column_name (stmt, c));
          json_builder_add_string_value (b, (const char *) sqlite3_column_text (stmt, c));
          break;
        case SQLITE_NULL:
          json_builder_set_member_name (b, sqlite3_column_name (stmt, c));
          json_builder_add_null_value (b);
          break;
        default:
          break;
        }
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
dothi_spatialite_store_dup_registry (DothiSpatialiteStore *self, const char *layer, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  int rc;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), NULL);
  if (!prepare (self, "SELECT * FROM dothi_layers WHERE name = ?1", &stmt, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("There is no layer “%s” in “%s”"), layer, self->path);
      return NULL;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "layer");
  json_builder_add_value (b, row_to_json (stmt));
  g_clear_pointer (&stmt, sqlite3_finalize);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_array (b);
  if (!prepare (self, "SELECT * FROM dothi_fields WHERE layer = ?1 ORDER BY position", &stmt, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_builder_add_value (b, row_to_json (stmt));
  if (rc != SQLITE_DONE)
    {
      set_db_error (self->db, layer, error);
      return NULL;
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* INSERT of a row written by row_to_json(). */
static gboolean
insert_json_row (DothiSpatialiteStore *self, const char *table, JsonObject *row, GError **error)
{
  g_autoptr(GList) members = json_object_get_members (row);
  g_autoptr(GString) cols = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new (NULL);
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int p = 0;

  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf ("%s\"%w\"", p ? ", " : "", (char *) l->data);

      g_string_append (cols, col);
      g_string_append_printf (params, "%s?%d", p ? ", " : "", p + 1);
      p++;
    }
  sql = sqlite3_mprintf ("INSERT INTO \"%w\" (%s) VALUES (%s)", table, cols->str, params->str);
  if (!prepare (self, sql, &stmt, error))
    return FALSE;
  p = 0;
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (row, l->data);

      p++;
      if (!JSON_NODE_HOLDS_VALUE (node))
        sqlite3_bind_null (stmt, p);
      else if (json_node_get_value_type (node) == G_TYPE_INT64)
        sqlite3_bind_int64 (stmt, p, json_node_get_int (node));
      else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        sqlite3_bind_double (stmt, p, json_node_get_double (node));
      else if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        sqlite3_bind_int (stmt, p, json_node_get_boolean (node));
      else
        sqlite3_bind_text (stmt, p, json_node_get_string (node), -1, SQLITE_TRANSIENT);
    }
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, table, error);
  return TRUE;
}

/* SpatiaLite's RenameTable() renames the table with its geometry_columns,
 * statistics and R-tree rows; its metadata tables refer to each other by
 * foreign keys, checked at COMMIT instead of on each statement. */
static gboolean
rename_layer_table (DothiSpatialiteStore *self, const char *from, const char *to, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!dothi_spatialite_store_exec (self, "PRAGMA defer_foreign_keys = ON", error)
      || !prepare (self, "SELECT RenameTable('main', ?1, ?2)", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, from, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, to, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1)
    return set_db_error (self->db, from, error);
  self->schema_changed = TRUE;
  return TRUE;
}

gboolean
dothi_spatialite_store_hide_layer (DothiSpatialiteStore  *self,
                                   const char            *layer,
                                   const char            *trash,
                                   GError               **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  g_return_val_if_fail (is_reserved (trash), FALSE);
  info = get_action_layer (self, layer, error);
  if (info == NULL)
    return FALSE;
  /* Index names are global: the sheet index goes, so that a new layer of
   * the same name gets its own; it comes back with the layer. */
  sql = sqlite3_mprintf ("DROP INDEX IF EXISTS \"dothi_ix_%w_sheet\"", layer);
  if (!drop_audit_triggers (self, layer, error)
      || !dothi_spatialite_store_exec (self, sql, error)
      || !rename_layer_table (self, layer, trash, error))
    return FALSE;
  if (!prepare (self, "DELETE FROM dothi_fields WHERE layer = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, layer, error);
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!prepare (self, "DELETE FROM dothi_layers WHERE name = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, layer, error);
  return TRUE;
}

gboolean
dothi_spatialite_store_unhide_layer (DothiSpatialiteStore  *self,
                                     const char            *trash,
                                     const char            *layer,
                                     const char            *registry,
                                     GError               **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  JsonObject *obj;
  JsonArray *fields;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);
  g_return_val_if_fail (self->in_action, FALSE);
  root = json_from_string (registry, NULL);
  obj = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (obj == NULL || !is_slug (layer) || is_reserved (layer)
      || json_object_get_object_member (obj, "layer") == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The history of “%s” holds no registry entry for layer “%s”"), self->path, layer);
      return FALSE;
    }
  if (!rename_layer_table (self, trash, layer, error)
      || !insert_json_row (self, "dothi_layers", json_object_get_object_member (obj, "layer"), error))
    return FALSE;
  fields = json_object_get_array_member (obj, "fields");
  for (guint i = 0; fields != NULL && i < json_array_get_length (fields); i++)
    if (!insert_json_row (self, "dothi_fields", json_array_get_object_element (fields, i), error))
      return FALSE;
  info = store_get_layer (DOTHI_STORE (self), layer, error);
  return info != NULL
         && create_audit_triggers (self, layer, error)
         && create_sheet_index (self, info, error);
}

/* ---- life cycle -------------------------------------------------------- */

void
dothi_spatialite_store_close (DothiSpatialiteStore *self)
{
  g_return_if_fail (DOTHI_IS_SPATIALITE_STORE (self));

  if (self->db == NULL)
    return;
  if (self->in_action)
    dothi_store_rollback (DOTHI_STORE (self));
  g_hash_table_remove_all (self->pending);
  if (!self->read_only)
    sqlite3_exec (self->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  sqlite3_close_v2 (self->db);
  self->db = NULL;
  if (self->spatialite_cache != NULL)
    spatialite_cleanup_ex (self->spatialite_cache);
  self->spatialite_cache = NULL;
}

static void
dothi_spatialite_store_finalize (GObject *object)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (object);

  dothi_spatialite_store_close (self);
  g_hash_table_unref (self->pending);
  g_free (self->path);
  G_OBJECT_CLASS (dothi_spatialite_store_parent_class)->finalize (object);
}

static gboolean
store_update_layer (DothiStore *store, const DothiLayerInfo *info, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!prepare (self, "UPDATE dothi_layers SET title = ?2, z_order = ?3, visible = ?4, "
                "opacity = ?5, style = ?6 WHERE name = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, info->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, info->title, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 3, info->z_order);
  sqlite3_bind_int (stmt, 4, info->visible ? 1 : 0);
  sqlite3_bind_double (stmt, 5, CLAMP (info->opacity, 0.0, 1.0));
  if (info->style != NULL)
    sqlite3_bind_text (stmt, 6, info->style, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 6);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self->db, info->name, error);
  if (sqlite3_changes (self->db) != 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("There is no layer “%s” in “%s”"), info->name, self->path);
      return FALSE;
    }
  return TRUE;
}

/* Whether a plain index of @layer starts with @field. */
static gboolean
field_indexed (DothiSpatialiteStore *self, const char *layer, const char *field)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT 1 FROM pragma_index_list (?1) AS l, "
                          "pragma_index_info (l.name) AS i "
                          "WHERE l.partial = 0 AND i.seqno = 0 AND i.name = ?2",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, field, -1, SQLITE_STATIC);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

gboolean
dothi_spatialite_store_field_indexed (DothiSpatialiteStore *self,
                                      const char           *layer,
                                      const char           *field)
{
  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);

  return field_indexed (self, layer, field);
}

gboolean
dothi_spatialite_store_index_field (DothiSpatialiteStore *self,
                                    const char           *layer,
                                    const char           *field,
                                    GError              **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);

  info = store_get_layer (DOTHI_STORE (self), layer, error);
  if (info == NULL)
    return FALSE;
  /* The names are the registry's own, checked before they are quoted. */
  if (dothi_layer_info_find_field (info, field) < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("Layer “%s” has no field “%s”"), info->title ? info->title : layer, field);
      return FALSE;
    }
  if (field_indexed (self, layer, field))
    return TRUE;
  /* Dothi's own index names start with dothi_ix_. */
  sql = sqlite3_mprintf ("CREATE INDEX \"dothi_ix_%w_%w\" ON \"%w\" (\"%w\")", layer, field, layer, field);
  return dothi_spatialite_store_exec (self, sql, error);
}

static GPtrArray *
store_distinct_values (DothiStore *store, const char *layer, const char *field,
                       guint limit, guint sample, GError **error)
{
  DothiSpatialiteStore *self = DOTHI_SPATIALITE_STORE (store);
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(DothiSqlStr) sql = NULL;
  int rc;

  info = store_get_layer (store, layer, error);
  if (info == NULL)
    return NULL;
  /* The name is checked against the layer's columns before it is quoted. */
  if (dothi_layer_info_find_field (info, field) < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: field name, layer name */
                   _("Layer “%s” has no field “%s”"), info->title ? info->title : layer, field);
      return NULL;
    }
  /* Every row of an indexed field: one index seek per value, from one
   * value to the next (milliseconds on a million rows, where a scan
   * takes most of a second). */
  if (sample == 0 && field_indexed (self, layer, field))
    sql = sqlite3_mprintf ("WITH RECURSIVE d (v) AS ("
                           "  SELECT min (\"%w\") FROM \"%w\""
                           "  UNION ALL"
                           "  SELECT (SELECT min (\"%w\") FROM \"%w\" WHERE \"%w\" > d.v) FROM d"
                           "  WHERE d.v IS NOT NULL) "
                           "SELECT CAST(v AS TEXT) FROM d WHERE v IS NOT NULL LIMIT ?1",
                           field, layer, field, layer, field);
  else
    sql = sqlite3_mprintf ("SELECT DISTINCT CAST(v AS TEXT) AS v FROM "
                           "(SELECT \"%w\" AS v FROM \"%w\" LIMIT ?2) "
                           "WHERE v IS NOT NULL ORDER BY v LIMIT ?1",
                           field, layer);
  if (!prepare (self, sql, &stmt, error))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit);
  if (sqlite3_bind_parameter_count (stmt) >= 2)
    sqlite3_bind_int64 (stmt, 2, sample > 0 ? (gint64) sample : -1);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (values, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  if (rc != SQLITE_DONE)
    {
      set_db_error (self->db, layer, error);
      return NULL;
    }
  return g_steal_pointer (&values);
}

static void
dothi_spatialite_store_iface_init (DothiStoreInterface *iface)
{
  iface->begin = store_begin;
  iface->commit = store_commit;
  iface->rollback = store_rollback;
  iface->list_layers = store_list_layers;
  iface->get_layer = store_get_layer;
  iface->has_table = store_has_table;
  iface->create_layer = store_create_layer;
  iface->insert_feature = store_insert_feature;
  iface->finish_layer = store_finish_layer;
  iface->read_features = store_read_features;
  iface->layer_checksum = store_layer_checksum;
  iface->update_layer = store_update_layer;
  iface->distinct_values = store_distinct_values;
}

static void
dothi_spatialite_store_class_init (DothiSpatialiteStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_spatialite_store_finalize;
}

static void
dothi_spatialite_store_init (DothiSpatialiteStore *self)
{
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) pending_layer_free);
}

DothiSpatialiteStore *
dothi_spatialite_store_open (const char *path, DothiStoreOpenMode mode, GError **error)
{
  g_autoptr(DothiSpatialiteStore) self = NULL;
  int flags;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_SPATIALITE_STORE, NULL);
  self->path = g_strdup (path);
  self->read_only = mode == DOTHI_STORE_OPEN_READ_ONLY;

  flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (mode == DOTHI_STORE_OPEN_READ_ONLY)
    flags |= SQLITE_OPEN_READONLY;
  else if (mode == DOTHI_STORE_OPEN_CREATE)
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  else
    flags |= SQLITE_OPEN_READWRITE;

  if (sqlite3_open_v2 (path, &self->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then the database's message */
                   _("Cannot open “%s”: %s"), path,
                   self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, 5000);
  /* No loadable extensions on this connection: SpatiaLite is linked in. */
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
  /* A quoted column name that no longer exists is an error, not the
   * string literal SQLite would otherwise read it as. */
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  self->spatialite_cache = spatialite_alloc_connection ();
  spatialite_init_ex (self->db, self->spatialite_cache, 0);

  /* 16 KiB pages: a map tile reads a few hundred parcels, and a quarter
   * as many page reads make a cold full-extent render faster. Set before
   * the first table; QGIS and the spatialite shell read any page size. */
  if (mode == DOTHI_STORE_OPEN_CREATE
      && (!dothi_spatialite_store_exec (self, "PRAGMA page_size = 16384", error)
          || !dothi_spatialite_store_exec (self, "PRAGMA auto_vacuum = INCREMENTAL", error)))
    return NULL;
  if (!dothi_spatialite_store_exec (self, "PRAGMA foreign_keys = ON", error))
    return NULL;
  return g_steal_pointer (&self);
}

gboolean
dothi_spatialite_store_make_durable (DothiSpatialiteStore *self, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);

  /* WAL with NORMAL may lose the last commit on power loss (DESIGN.md §2). */
  if (self->read_only)
    return TRUE;
  return dothi_spatialite_store_exec (self, "PRAGMA journal_mode = WAL", error)
         && dothi_spatialite_store_exec (self, "PRAGMA synchronous = FULL", error);
}

gboolean
dothi_spatialite_store_make_durable_journal (DothiSpatialiteStore *self, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), FALSE);

  if (self->read_only)
    return TRUE;
  /* Leaving WAL needs every other connection to the file closed. Ones
   * this process still holds (a window that showed the project read-only
   * a moment ago) get a second; past that the file stays in WAL, still
   * under the lock file, which keeps any other Dothi out. */
  for (int attempt = 0; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      int code;

      if (dothi_spatialite_store_exec (self, "PRAGMA journal_mode = DELETE", &local_error))
        break;
      code = sqlite3_errcode (self->db);
      if (code != SQLITE_BUSY && code != SQLITE_LOCKED)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (attempt >= 20)
        break;
      g_usleep (50 * 1000);
    }
  return dothi_spatialite_store_exec (self, "PRAGMA synchronous = FULL", error);
}

sqlite3 *
dothi_spatialite_store_get_db (DothiSpatialiteStore *self)
{
  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), NULL);
  return self->db;
}

gboolean
dothi_spatialite_ensure_own_table (sqlite3    *db,
                                   const char *table,
                                   const char *ddl,
                                   const char *path,
                                   GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean was_current = FALSE;
  int before = -1;

  g_return_val_if_fail (db != NULL && table != NULL && ddl != NULL, FALSE);

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        return TRUE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (sqlite3_prepare_v2 (db, "PRAGMA schema_version", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    before = sqlite3_column_int (stmt, 0);
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (sqlite3_prepare_v2 (db, "SELECT value FROM dothi_meta WHERE key = 'triggers_schema_version'",
                          -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    was_current = sqlite3_column_int (stmt, 0) == before;
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (sqlite3_exec (db, ddl, NULL, NULL, NULL) != SQLITE_OK
      || (was_current
          && sqlite3_exec (db, "INSERT OR REPLACE INTO dothi_meta (key, value) "
                           "SELECT 'triggers_schema_version', schema_version FROM pragma_schema_version",
                           NULL, NULL, NULL) != SQLITE_OK))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: first a file or layer name, then the database's own message */
                   _("Database error in “%s”: %s"), path, sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}

DothiStyle *
dothi_spatialite_store_default_style (DothiSpatialiteStore *self,
                                      const DothiLayerInfo *info)
{
  DothiStyle *style;
  g_autoptr(GPtrArray) every = NULL;
  g_autoptr(GHashTable) values = NULL;
  DothiStyle *complete;

  g_return_val_if_fail (DOTHI_IS_SPATIALITE_STORE (self), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  style = dothi_store_sample_default_style (DOTHI_STORE (self), info);
  if (style->kind != DOTHI_STYLE_CATEGORISED || style->field == NULL
      || !field_indexed (self, info->name, style->field))
    return style;
  every = store_distinct_values (DOTHI_STORE (self), info->name, style->field, 256, 0, NULL);
  if (every == NULL)
    return style;
  values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_hash_table_insert (values, style->field, g_ptr_array_ref (every));
  complete = dothi_style_new_default (info, values);
  /* The same field, or the sample's answer stands. */
  if (g_strcmp0 (complete->field, style->field) != 0)
    {
      dothi_style_unref (complete);
      return style;
    }
  dothi_style_unref (style);
  return complete;
}
