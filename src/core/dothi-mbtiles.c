/* dothi-mbtiles.c: reads raster tiles and metadata from an MBTiles file
 * over a read-only SQLite connection; rows are in TMS order (y flipped). */
#define G_LOG_DOMAIN "dothi-mbtiles"

#include "config.h"
#include "dothi-mbtiles.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <string.h>

struct _DothiMbtiles
{
  char         *path;
  sqlite3      *db;
  sqlite3_stmt *tile_stmt;   /* prepared once: the hot statement */
  char         *name;
  char         *format;
  int           min_zoom;
  int           max_zoom;
  gboolean      has_bounds;
  double        bounds[4];
};

static void
set_invalid (GError     **error,
             const char  *path,
             const char  *detail)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file name, then the reason (from SQLite or Dothi) */
               _("“%s” is not an MBTiles raster file: %s"), path, detail);
}

static void
replace_str (char       **slot,
             const char  *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

static gboolean
parse_bounds (const char *text,
              double      bounds[4])
{
  g_auto(GStrv) parts = NULL;

  if (text == NULL)
    return FALSE;
  parts = g_strsplit (text, ",", -1);
  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      char *end = NULL;

      bounds[i] = g_ascii_strtod (g_strstrip (parts[i]), &end);
      if (end == parts[i] || *end != '\0')
        return FALSE;
    }
  return bounds[0] < bounds[2] && bounds[1] < bounds[3];
}

static gboolean
parse_zoom (const char *text,
            int        *zoom)
{
  gint64 value;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, 0, 30, &value, NULL))
    return FALSE;
  *zoom = (int) value;
  return TRUE;
}

static gboolean
read_metadata (DothiMbtiles  *self,
               GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *min_zoom = NULL;
  g_autofree char *max_zoom = NULL;
  g_autofree char *bounds = NULL;
  int rc;

  if (sqlite3_prepare_v2 (self->db, "SELECT name, value FROM metadata", -1,
                          &stmt, NULL) != SQLITE_OK)
    {
      set_invalid (error, self->path, sqlite3_errmsg (self->db));
      return FALSE;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (stmt, 0);
      const char *value = (const char *) sqlite3_column_text (stmt, 1);

      if (key == NULL || value == NULL)
        continue;
      if (g_str_equal (key, "name"))
        replace_str (&self->name, value);
      else if (g_str_equal (key, "format"))
        replace_str (&self->format, value);
      else if (g_str_equal (key, "minzoom"))
        replace_str (&min_zoom, value);
      else if (g_str_equal (key, "maxzoom"))
        replace_str (&max_zoom, value);
      else if (g_str_equal (key, "bounds"))
        replace_str (&bounds, value);
    }
  if (rc != SQLITE_DONE)
    {
      set_invalid (error, self->path, sqlite3_errmsg (self->db));
      return FALSE;
    }

  /* The spec says png when the format is missing (MBTiles 1.0). */
  if (self->format == NULL)
    self->format = g_strdup ("png");
  if (!g_str_equal (self->format, "png") && !g_str_equal (self->format, "jpg")
      && !g_str_equal (self->format, "jpeg") && !g_str_equal (self->format, "webp"))
    {
      g_autofree char *detail =
        /* Translators: an MBTiles tile format such as "pbf" */
        g_strdup_printf (_("tiles in format “%s” are not raster images"), self->format);

      set_invalid (error, self->path, detail);
      return FALSE;
    }

  if (!parse_zoom (min_zoom, &self->min_zoom) || !parse_zoom (max_zoom, &self->max_zoom))
    {
      g_autoptr(sqlite3_stmt) range = NULL;

      /* Older files leave the zoom range out: ask the tiles. */
      if (sqlite3_prepare_v2 (self->db,
                              "SELECT min(zoom_level), max(zoom_level) FROM tiles",
                              -1, &range, NULL) != SQLITE_OK
          || sqlite3_step (range) != SQLITE_ROW)
        {
          set_invalid (error, self->path, sqlite3_errmsg (self->db));
          return FALSE;
        }
      self->min_zoom = sqlite3_column_int (range, 0);
      self->max_zoom = sqlite3_column_int (range, 1);
    }
  self->has_bounds = parse_bounds (bounds, self->bounds);
  if (self->name == NULL)
    self->name = g_path_get_basename (self->path);
  return TRUE;
}

DothiMbtiles *
dothi_mbtiles_open (const char  *path,
                    GError     **error)
{
  g_autoptr(DothiMbtiles) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name */
                   _("Basemap file “%s” does not exist"), path);
      return NULL;
    }

  self = g_new0 (DothiMbtiles, 1);
  self->path = g_strdup (path);
  if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_invalid (error, path, self->db ? sqlite3_errmsg (self->db) : "");
      return NULL;
    }
  sqlite3_busy_timeout (self->db, 2000);
  if (!read_metadata (self, error))
    return NULL;
  /* "tiles" is a table or a view over map/images: either way these columns. */
  if (sqlite3_prepare_v2 (self->db,
                          "SELECT tile_data FROM tiles WHERE zoom_level = ?1 "
                          "AND tile_column = ?2 AND tile_row = ?3",
                          -1, &self->tile_stmt, NULL) != SQLITE_OK)
    {
      set_invalid (error, path, sqlite3_errmsg (self->db));
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
dothi_mbtiles_close (DothiMbtiles *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->tile_stmt, sqlite3_finalize);
  g_clear_pointer (&self->db, sqlite3_close);
  g_free (self->path);
  g_free (self->name);
  g_free (self->format);
  g_free (self);
}

const char *
dothi_mbtiles_get_name (DothiMbtiles *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->name;
}

const char *
dothi_mbtiles_get_format (DothiMbtiles *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->format;
}

int
dothi_mbtiles_get_min_zoom (DothiMbtiles *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->min_zoom;
}

int
dothi_mbtiles_get_max_zoom (DothiMbtiles *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->max_zoom;
}

gboolean
dothi_mbtiles_get_bounds (DothiMbtiles *self,
                          double        bounds[4])
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (!self->has_bounds)
    return FALSE;
  memcpy (bounds, self->bounds, sizeof self->bounds);
  return TRUE;
}

GBytes *
dothi_mbtiles_get_tile (DothiMbtiles  *self,
                        int            zoom,
                        int            x,
                        int            y,
                        GError       **error)
{
  sqlite3_stmt *stmt;
  gint64 n;
  GBytes *bytes = NULL;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (zoom < 0 || zoom > 30)
    return NULL;
  n = G_GINT64_CONSTANT (1) << zoom;
  if (x < 0 || y < 0 || x >= n || y >= n)
    return NULL;

  stmt = self->tile_stmt;
  sqlite3_reset (stmt);
  if (sqlite3_bind_int (stmt, 1, zoom) != SQLITE_OK
      || sqlite3_bind_int (stmt, 2, x) != SQLITE_OK
      /* TMS rows count from the south. */
      || sqlite3_bind_int64 (stmt, 3, n - 1 - y) != SQLITE_OK)
    goto failed;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      const void *data = sqlite3_column_blob (stmt, 0);
      int size = sqlite3_column_bytes (stmt, 0);

      if (data != NULL && size > 0)
        bytes = g_bytes_new (data, size);
    }
  else if (rc != SQLITE_DONE)
    goto failed;

  sqlite3_reset (stmt);
  return bytes;

failed:
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: zoom, column, row, file name, SQLite's message */
               _("Could not read tile %d/%d/%d of “%s”: %s"),
               zoom, x, y, self->path, sqlite3_errmsg (self->db));
  sqlite3_reset (stmt);
  return NULL;
}
