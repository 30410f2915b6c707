/* dothi-tile-cache.c: rendered blocks as raw premultiplied ARGB32 rows in
 * SQLite: copying them back is cheaper than any image decoding, which
 * keeps a warm full-extent map under the 50 ms target. */

#define G_LOG_DOMAIN "dothi-tile-cache"

#include "config.h"
#include "dothi-tile-cache.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-map-transform.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>

/* Bumped when the stored pixel format or key changes: older caches are
 * emptied, never misread. */
#define CACHE_FORMAT "dothi-argb32-1"
#define DOTHI_SYMBOL_MARGIN_PX 32

struct _DothiTileCache
{
  sqlite3      *db;
  sqlite3_stmt *get;
  sqlite3_stmt *put;
};

char *
dothi_tile_cache_path_for (const char *uuid)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "dothi", NULL);
  g_autofree char *name = g_strconcat (uuid, ".mbtiles", NULL);

  g_mkdir_with_parents (dir, 0700);
  return g_build_filename (dir, name, NULL);
}

/* Resolutions are keyed in nanometres per pixel: exact for every zoom's
 * resolution and for any CLI extent that shares them. */
static gint64
res_key (double resolution)
{
  return llround (resolution * 1e9);
}

static const char schema[] =
  "PRAGMA journal_mode = WAL;"
  "PRAGMA synchronous = OFF;"
  "CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT);"
  "CREATE TABLE IF NOT EXISTS blocks ("
  "  layer TEXT NOT NULL, revision INTEGER NOT NULL, res INTEGER NOT NULL,"
  "  size INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,"
  "  pixels BLOB,"
  "  PRIMARY KEY (layer, res, size, x, y, revision)) WITHOUT ROWID;";

DothiTileCache *
dothi_tile_cache_open (const char *path, GError **error)
{
  g_autoptr(DothiTileCache) self = g_new0 (DothiTileCache, 1);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const char *format = NULL;

  if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                       | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_busy_timeout (self->db, 5000);
  if (sqlite3_exec (self->db, schema, NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_prepare_v2 (self->db, "SELECT value FROM metadata WHERE name = 'format'",
                          -1, &stmt, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    format = (const char *) sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (format, CACHE_FORMAT) != 0)
    {
      g_clear_pointer (&stmt, sqlite3_finalize);
      if (sqlite3_exec (self->db, "BEGIN IMMEDIATE; DELETE FROM blocks; DELETE FROM metadata;"
                        "INSERT INTO metadata VALUES ('format', '" CACHE_FORMAT "');"
                        "INSERT INTO metadata VALUES ('name', 'Dothi rendered blocks');"
                        "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        {
          sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
          goto fail;
        }
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (sqlite3_prepare_v3 (self->db,
                          "SELECT pixels FROM blocks WHERE layer = ?1 AND res = ?2 AND size = ?3 "
                          "AND x = ?4 AND y = ?5 AND revision = ?6",
                          -1, SQLITE_PREPARE_PERSISTENT, &self->get, NULL) != SQLITE_OK
      || sqlite3_prepare_v3 (self->db,
                             "INSERT OR REPLACE INTO blocks VALUES (?1, ?6, ?2, ?3, ?4, ?5, ?7)",
                             -1, SQLITE_PREPARE_PERSISTENT, &self->put, NULL) != SQLITE_OK)
    goto fail;
  return g_steal_pointer (&self);

fail:
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: file name, SQLite's message */
               _("Cannot use the map cache “%s”: %s"), path,
               self->db ? sqlite3_errmsg (self->db) : "");
  return NULL;
}

void
dothi_tile_cache_close (DothiTileCache *self)
{
  if (self == NULL)
    return;
  sqlite3_finalize (self->get);
  sqlite3_finalize (self->put);
  sqlite3_close_v2 (self->db);
  g_free (self);
}

static void
bind_key (sqlite3_stmt *stmt, const DothiRenderLayer *layer, const DothiBlock *block)
{
  sqlite3_bind_text (stmt, 1, layer->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, res_key (block->resolution));
  sqlite3_bind_int (stmt, 3, block->size);
  sqlite3_bind_int64 (stmt, 4, block->x);
  sqlite3_bind_int64 (stmt, 5, block->y);
  sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) layer->style_revision);
}

gboolean
dothi_tile_cache_get (DothiTileCache *self, const DothiRenderLayer *layer,
                      const DothiBlock *block, GBytes **pixels)
{
  gboolean hit = FALSE;

  *pixels = NULL;
  /* Selections (query results) are never cached: see the render pool. */
  if (layer->selection != NULL)
    return FALSE;
  bind_key (self->get, layer, block);
  if (sqlite3_step (self->get) == SQLITE_ROW)
    {
      int len = sqlite3_column_bytes (self->get, 0);

      if (len == block->size * block->size * 4)
        {
          *pixels = g_bytes_new (sqlite3_column_blob (self->get, 0), len);
          hit = TRUE;
        }
      else if (len == 0)
        hit = TRUE;
    }
  sqlite3_reset (self->get);
  return hit;
}

void
dothi_tile_cache_put (DothiTileCache *self, const DothiRenderLayer *layer,
                      const DothiBlock *block, GBytes *pixels)
{
  if (layer->selection != NULL)
    return;
  bind_key (self->put, layer, block);
  if (pixels != NULL)
    sqlite3_bind_blob (self->put, 7, g_bytes_get_data (pixels, NULL),
                       g_bytes_get_size (pixels), SQLITE_STATIC);
  else
    sqlite3_bind_zeroblob (self->put, 7, 0);
  sqlite3_step (self->put);
  sqlite3_reset (self->put);
  sqlite3_clear_bindings (self->put);
}

void
dothi_tile_cache_invalidate (DothiTileCache *self, const char *layer, const double *bbox)
{
  g_autoptr(sqlite3_stmt) sizes = NULL;
  g_autoptr(sqlite3_stmt) del = NULL;

  if (bbox == NULL)
    {
      g_autoptr(sqlite3_stmt) all = NULL;

      if (sqlite3_prepare_v2 (self->db, "DELETE FROM blocks WHERE ?1 IS NULL OR layer = ?1 OR layer GLOB '@*'",
                              -1, &all, NULL) == SQLITE_OK)
        {
          sqlite3_bind_text (all, 1, layer, -1, SQLITE_STATIC);
          sqlite3_step (all);
        }
      return;
    }

  /* Every resolution and block size held, the block range meeting @bbox. */
  if (sqlite3_prepare_v2 (self->db, "SELECT DISTINCT res, size FROM blocks "
                          "WHERE ?1 IS NULL OR layer = ?1 OR layer GLOB '@*'", -1, &sizes, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (self->db, "DELETE FROM blocks WHERE (?1 IS NULL OR layer = ?1 OR layer GLOB '@*') "
                             "AND res = ?2 AND size = ?3 AND x BETWEEN ?4 AND ?5 "
                             "AND y BETWEEN ?6 AND ?7", -1, &del, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_text (sizes, 1, layer, -1, SQLITE_STATIC);
  sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  while (sqlite3_step (sizes) == SQLITE_ROW)
    {
      gint64 res = sqlite3_column_int64 (sizes, 0);
      int size = sqlite3_column_int (sizes, 1);
      double span = res / 1e9 * size;
      /* Symbols reach beyond a feature's bbox: a marker's radius, half a
       * stroke. DOTHI_SYMBOL_MARGIN_PX pixels cover every style's. */
      double margin = DOTHI_SYMBOL_MARGIN_PX * res / 1e9;

      sqlite3_bind_text (del, 1, layer, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (del, 2, res);
      sqlite3_bind_int (del, 3, size);
      sqlite3_bind_int64 (del, 4, (gint64) floor ((bbox[0] - margin + DOTHI_MERCATOR_HALF_WORLD) / span));
      sqlite3_bind_int64 (del, 5, (gint64) floor ((bbox[2] + margin + DOTHI_MERCATOR_HALF_WORLD) / span));
      sqlite3_bind_int64 (del, 6, (gint64) floor ((DOTHI_MERCATOR_HALF_WORLD - bbox[3] - margin) / span));
      sqlite3_bind_int64 (del, 7, (gint64) floor ((DOTHI_MERCATOR_HALF_WORLD - bbox[1] + margin) / span));
      sqlite3_step (del);
      sqlite3_reset (del);
    }
  sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
}

gint64
dothi_tile_cache_get_audit_id (DothiTileCache *self)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 id = 0;

  if (sqlite3_prepare_v2 (self->db, "SELECT CAST(value AS INTEGER) FROM metadata "
                          "WHERE name = 'audit_id'", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  return id;
}

void
dothi_tile_cache_set_audit_id (DothiTileCache *self, gint64 id)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, "INSERT OR REPLACE INTO metadata VALUES ('audit_id', ?1)",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      sqlite3_step (stmt);
    }
}

void
dothi_tile_cache_begin (DothiTileCache *self)
{
  sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
}

void
dothi_tile_cache_commit (DothiTileCache *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
}
