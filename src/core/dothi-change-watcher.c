/* dothi-change-watcher.c: polls PRAGMA data_version on a read-only
 * connection of its own and turns new audit rows into changed areas, so
 * the map follows edits made here, in QGIS or in the spatialite shell. */

#define G_LOG_DOMAIN "dothi-change-watcher"

#include "config.h"
#include "dothi-change-watcher.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-map-transform.h"

#include <glib/gi18n-lib.h>
#include <sqlite3.h>
#include <string.h>

/* Beyond this many audit rows for one layer in one poll, the whole layer
 * is redrawn: cheaper than thousands of small invalidations. */
#define MAX_ROWS_PER_LAYER 5000

struct _DothiChangeWatcher
{
  GObject     parent_instance;
  char       *path;
  sqlite3    *db;
  GMutex      lock;          /* one poll at a time */
  gint64      data_version;
  gint64      last_audit_id;
  char       *registry_sum;
  GHashTable *transforms;    /* srid → DothiMapTransform* */
};

G_DEFINE_FINAL_TYPE (DothiChangeWatcher, dothi_change_watcher, G_TYPE_OBJECT)

void
dothi_change_free (DothiChange *change)
{
  if (change == NULL)
    return;
  g_free (change->layer);
  g_free (change);
}

static void
dothi_change_watcher_finalize (GObject *object)
{
  DothiChangeWatcher *self = DOTHI_CHANGE_WATCHER (object);

  if (self->db)
    sqlite3_close_v2 (self->db);
  g_clear_pointer (&self->transforms, g_hash_table_unref);
  g_free (self->registry_sum);
  g_free (self->path);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (dothi_change_watcher_parent_class)->finalize (object);
}

static void
dothi_change_watcher_class_init (DothiChangeWatcherClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_change_watcher_finalize;
}

static void
dothi_change_watcher_init (DothiChangeWatcher *self)
{
  g_mutex_init (&self->lock);
  self->transforms = g_hash_table_new_full (NULL, NULL, NULL,
                                            (GDestroyNotify) dothi_map_transform_free);
}

static gboolean
set_db_error (DothiChangeWatcher *self, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               _("Database error in “%s”: %s"), self->path, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
query_int64 (DothiChangeWatcher *self, const char *sql, gint64 *value, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (self, error);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    return set_db_error (self, error);
  return TRUE;
}

/* A digest of what the map shows of the registry: layers, order,
 * visibility, opacity, styles, and the schema (columns added or dropped). */
static char *
registry_digest (DothiChangeWatcher *self, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  gint64 schema = 0;
  int rc;

  if (!query_int64 (self, "PRAGMA schema_version", &schema, error))
    return NULL;
  g_checksum_update (sum, (const guchar *) &schema, sizeof schema);
  if (sqlite3_prepare_v2 (self->db,
                          "SELECT name, title, z_order, visible, opacity, style, srid "
                          "FROM dothi_layers ORDER BY name", -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (self, error);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    for (int i = 0; i < 7; i++)
      {
        const guchar *text = sqlite3_column_text (stmt, i);

        g_checksum_update (sum, text ? text : (const guchar *) "\x01", -1);
        g_checksum_update (sum, (const guchar *) "\x1f", 1);
      }
  if (rc != SQLITE_DONE)
    {
      set_db_error (self, error);
      return NULL;
    }
  return g_strdup (g_checksum_get_string (sum));
}

DothiChangeWatcher *
dothi_change_watcher_new (const char *path, GError **error)
{
  g_autoptr(DothiChangeWatcher) self = g_object_new (DOTHI_TYPE_CHANGE_WATCHER, NULL);

  g_return_val_if_fail (path != NULL, NULL);
  self->path = g_strdup (path);
  if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("Cannot open “%s” to draw the map: %s"), path,
                   self->db ? sqlite3_errmsg (self->db) : "");
      return NULL;
    }
  sqlite3_busy_timeout (self->db, 2000);
  sqlite3_exec (self->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
  if (!query_int64 (self, "PRAGMA data_version", &self->data_version, error)
      || !query_int64 (self, "SELECT COALESCE(MAX(id), 0) FROM dothi_audit",
                       &self->last_audit_id, error))
    return NULL;
  self->registry_sum = registry_digest (self, error);
  if (self->registry_sum == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

static DothiMapTransform *
get_transform (DothiChangeWatcher *self, int srid)
{
  DothiMapTransform *t = g_hash_table_lookup (self->transforms, GINT_TO_POINTER (srid));

  if (t == NULL && srid > 0)
    {
      t = dothi_map_transform_new (srid, NULL);
      if (t != NULL)
        g_hash_table_insert (self->transforms, GINT_TO_POINTER (srid), t);
    }
  return t;
}

/* The MBR in a SpatiaLite blob's header (see dothi-spatialite-blob.c). */
static gboolean
blob_mbr (const guint8 *blob, int len, double mbr[4])
{
  if (blob == NULL || len < 44 || blob[0] != 0x00 || blob[38] != 0x7C)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      guint64 u;

      memcpy (&u, blob + 6 + 8 * i, 8);
      if ((blob[1] == 0x01) != (G_BYTE_ORDER == G_LITTLE_ENDIAN))
        u = GUINT64_SWAP_LE_BE (u);
      memcpy (&mbr[i], &u, 8);
    }
  return TRUE;
}

static void
add_everywhere (GHashTable *whole, GPtrArray *changes, const char *layer)
{
  DothiChange *change;

  if (!g_hash_table_add (whole, g_strdup (layer)))
    return;
  change = g_new0 (DothiChange, 1);
  change->layer = g_strdup (layer);
  change->everywhere = TRUE;
  g_ptr_array_add (changes, change);
}

GPtrArray *
dothi_change_watcher_poll_sync (DothiChangeWatcher  *self,
                                gboolean            *registry_changed,
                                GCancellable        *cancellable,
                                GError             **error)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_change_free);
  g_autoptr(GHashTable) whole = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) srids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autofree char *digest = NULL;
  gint64 version = 0, max_id = 0;
  int rc;

  g_return_val_if_fail (DOTHI_IS_CHANGE_WATCHER (self), NULL);

  locker = g_mutex_locker_new (&self->lock);
  if (registry_changed)
    *registry_changed = FALSE;
  if (!query_int64 (self, "PRAGMA data_version", &version, error))
    return NULL;
  if (version == self->data_version)
    return g_steal_pointer (&changes);

  /* One read transaction, so the audit rows and the registry agree. */
  sqlite3_exec (self->db, "BEGIN", NULL, NULL, NULL);
  if (!query_int64 (self, "SELECT COALESCE(MAX(id), 0) FROM dothi_audit", &max_id, error))
    goto fail;

  if (sqlite3_prepare_v2 (self->db, "SELECT name, srid FROM dothi_layers", -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (self, error);
      goto fail;
    }
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_insert (srids, g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                         GINT_TO_POINTER (sqlite3_column_int (stmt, 1)));
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (max_id < self->last_audit_id)
    {
      /* The audit trail was cut short outside Dothi: redraw everything. */
      GHashTableIter iter;
      gpointer name;

      g_hash_table_iter_init (&iter, srids);
      while (g_hash_table_iter_next (&iter, &name, NULL))
        add_everywhere (whole, changes, name);
    }
  else if (max_id > self->last_audit_id)
    {
      if (sqlite3_prepare_v2 (self->db,
                              "SELECT layer, op, before_geom, after_geom FROM dothi_audit "
                              "WHERE id > ?1 AND id <= ?2 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
        {
          set_db_error (self, error);
          goto fail;
        }
      sqlite3_bind_int64 (stmt, 1, self->last_audit_id);
      sqlite3_bind_int64 (stmt, 2, max_id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *layer = (const char *) sqlite3_column_text (stmt, 0);
          const char *op = (const char *) sqlite3_column_text (stmt, 1);
          int srid;
          guint n;
          DothiMapTransform *t;
          double bbox[4] = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
          double merc[4];
          gboolean any = FALSE;
          DothiChange *change;

          if (layer == NULL || g_hash_table_contains (whole, layer))
            continue;
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto fail;
          srid = GPOINTER_TO_INT (g_hash_table_lookup (srids, layer));
          n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, layer)) + 1;
          g_hash_table_insert (counts, g_strdup (layer), GUINT_TO_POINTER (n));
          if (n > MAX_ROWS_PER_LAYER
              || (g_strcmp0 (op, "insert") != 0 && g_strcmp0 (op, "update") != 0
                  && g_strcmp0 (op, "delete") != 0))
            {
              add_everywhere (whole, changes, layer);
              continue;
            }
          for (int col = 2; col <= 3; col++)
            {
              double mbr[4];

              if (!blob_mbr (sqlite3_column_blob (stmt, col), sqlite3_column_bytes (stmt, col), mbr))
                continue;
              any = TRUE;
              bbox[0] = MIN (bbox[0], mbr[0]);
              bbox[1] = MIN (bbox[1], mbr[1]);
              bbox[2] = MAX (bbox[2], mbr[2]);
              bbox[3] = MAX (bbox[3], mbr[3]);
            }
          if (!any)
            continue;   /* an attribute-only row of a table without geometry */
          t = get_transform (self, srid);
          if (t == NULL || !dothi_map_transform_bbox_to_mercator (t, bbox, merc))
            {
              add_everywhere (whole, changes, layer);
              continue;
            }
          change = g_new0 (DothiChange, 1);
          change->layer = g_strdup (layer);
          memcpy (change->bbox, merc, sizeof merc);
          g_ptr_array_add (changes, change);
        }
      if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        {
          set_db_error (self, error);
          goto fail;
        }
      g_clear_pointer (&stmt, sqlite3_finalize);
    }

  digest = registry_digest (self, error);
  if (digest == NULL)
    goto fail;
  sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);

  /* Bbox changes of a layer that is redrawn whole are dropped. */
  for (guint i = changes->len; i > 0; i--)
    {
      DothiChange *change = changes->pdata[i - 1];

      if (!change->everywhere && g_hash_table_contains (whole, change->layer))
        g_ptr_array_remove_index (changes, i - 1);
    }
  if (registry_changed)
    *registry_changed = g_strcmp0 (digest, self->registry_sum) != 0;
  g_free (self->registry_sum);
  self->registry_sum = g_steal_pointer (&digest);
  self->data_version = version;
  self->last_audit_id = max_id;
  return g_steal_pointer (&changes);

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  return NULL;
}

static void
poll_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  gboolean *registry = g_new0 (gboolean, 1);
  GPtrArray *changes;

  changes = dothi_change_watcher_poll_sync (source, registry, cancellable, &error);
  g_task_set_task_data (task, registry, g_free);
  if (changes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, changes, (GDestroyNotify) g_ptr_array_unref);
}

void
dothi_change_watcher_poll_async (DothiChangeWatcher  *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, dothi_change_watcher_poll_async);
  g_task_run_in_thread (task, poll_thread);
}

GPtrArray *
dothi_change_watcher_poll_finish (DothiChangeWatcher  *self,
                                  GAsyncResult        *result,
                                  gboolean            *registry_changed,
                                  GError             **error)
{
  gboolean *registry;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  registry = g_task_get_task_data (G_TASK (result));
  if (registry_changed)
    *registry_changed = registry ? *registry : FALSE;
  return g_task_propagate_pointer (G_TASK (result), error);
}
