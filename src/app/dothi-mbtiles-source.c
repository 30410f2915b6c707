/* dothi-mbtiles-source.c: serves tiles of an MBTiles file to libshumate's
 * raster renderer. SQLite reads run in GTask threads on one connection
 * guarded by a mutex (tiles are small; the file's page cache is shared). */
#define G_LOG_DOMAIN "dothi-mbtiles-source"

#include "config.h"
#include "dothi-mbtiles-source.h"

#include "dothi-mbtiles.h"

#include <glib/gi18n.h>

struct _DothiMbtilesSource
{
  ShumateDataSource  parent_instance;

  char              *path;
  char              *name;
  guint              min_zoom;
  guint              max_zoom;
  GMutex             mutex;      /* guards mbtiles */
  DothiMbtiles      *mbtiles;
};

G_DEFINE_FINAL_TYPE (DothiMbtilesSource, dothi_mbtiles_source, SHUMATE_TYPE_DATA_SOURCE)

typedef struct {
  int x, y, zoom;
} TileRequest;

static void
get_tile_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  DothiMbtilesSource *self = source_object;
  TileRequest *request = task_data;
  GError *error = NULL;
  GBytes *bytes;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->mbtiles == NULL)
    {
      /* A source without a file (the map's reference grid). */
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No basemap file");
      return;
    }
  g_mutex_lock (&self->mutex);
  bytes = dothi_mbtiles_get_tile (self->mbtiles, request->zoom, request->x, request->y, &error);
  g_mutex_unlock (&self->mutex);

  if (error != NULL)
    g_task_return_error (task, error);
  else if (bytes == NULL)
    /* libshumate's renderer needs data or an error; a hole is not a fault. */
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                             "No tile %d/%d/%d", request->zoom, request->x, request->y);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

static void
tile_read_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  TileRequest *request = g_task_get_task_data (outer);
  GError *error = NULL;
  GBytes *bytes = g_task_propagate_pointer (G_TASK (result), &error);

  if (bytes == NULL)
    {
      g_task_return_error (outer, error);
      return;
    }
  /* The raster renderer makes its texture from this signal (libshumate 1.0),
   * on the main thread. */
  g_signal_emit_by_name (object, "received-data", request->x, request->y, request->zoom, bytes);
  g_task_return_pointer (outer, bytes, (GDestroyNotify) g_bytes_unref);
}

static void
dothi_mbtiles_source_get_tile_data_async (ShumateDataSource   *source,
                                          int                  x,
                                          int                  y,
                                          int                  zoom_level,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  DothiMbtilesSource *self = DOTHI_MBTILES_SOURCE (source);
  g_autoptr(GTask) outer = NULL;
  g_autoptr(GTask) inner = NULL;
  TileRequest *request = g_new0 (TileRequest, 1);

  request->x = x;
  request->y = y;
  request->zoom = zoom_level;

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, dothi_mbtiles_source_get_tile_data_async);
  g_task_set_task_data (outer, request, g_free);

  inner = g_task_new (self, cancellable, tile_read_cb, g_object_ref (outer));
  g_task_set_task_data (inner, g_memdup2 (request, sizeof *request), g_free);
  g_task_run_in_thread (inner, get_tile_thread);
}

static GBytes *
dothi_mbtiles_source_get_tile_data_finish (ShumateDataSource  *source,
                                           GAsyncResult       *result,
                                           GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, source), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
dothi_mbtiles_source_finalize (GObject *object)
{
  DothiMbtilesSource *self = DOTHI_MBTILES_SOURCE (object);

  g_clear_pointer (&self->mbtiles, dothi_mbtiles_close);
  g_mutex_clear (&self->mutex);
  g_free (self->path);
  g_free (self->name);

  G_OBJECT_CLASS (dothi_mbtiles_source_parent_class)->finalize (object);
}

static void
dothi_mbtiles_source_class_init (DothiMbtilesSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  ShumateDataSourceClass *source_class = SHUMATE_DATA_SOURCE_CLASS (klass);

  object_class->finalize = dothi_mbtiles_source_finalize;
  source_class->get_tile_data_async = dothi_mbtiles_source_get_tile_data_async;
  source_class->get_tile_data_finish = dothi_mbtiles_source_get_tile_data_finish;
}

static void
dothi_mbtiles_source_init (DothiMbtilesSource *self)
{
  g_mutex_init (&self->mutex);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *path = task_data;
  GError *error = NULL;
  DothiMbtiles *mbtiles = dothi_mbtiles_open (path, &error);

  if (mbtiles == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, mbtiles, (GDestroyNotify) dothi_mbtiles_close);
}

void
dothi_mbtiles_source_new_async (const char          *path,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_mbtiles_source_new_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_thread);
}

DothiMbtilesSource *
dothi_mbtiles_source_new_finish (GAsyncResult  *result,
                                 GError       **error)
{
  DothiMbtilesSource *self;
  DothiMbtiles *mbtiles;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  mbtiles = g_task_propagate_pointer (G_TASK (result), error);
  if (mbtiles == NULL)
    return NULL;

  self = g_object_new (DOTHI_TYPE_MBTILES_SOURCE, NULL);
  self->path = g_strdup (g_task_get_task_data (G_TASK (result)));
  self->name = g_strdup (dothi_mbtiles_get_name (mbtiles));
  self->min_zoom = CLAMP (dothi_mbtiles_get_min_zoom (mbtiles), 0, 30);
  self->max_zoom = CLAMP (dothi_mbtiles_get_max_zoom (mbtiles), (int) self->min_zoom, 30);
  self->mbtiles = mbtiles;
  return self;
}

const char *
dothi_mbtiles_source_get_path (DothiMbtilesSource *self)
{
  g_return_val_if_fail (DOTHI_IS_MBTILES_SOURCE (self), NULL);
  return self->path;
}

const char *
dothi_mbtiles_source_get_name (DothiMbtilesSource *self)
{
  g_return_val_if_fail (DOTHI_IS_MBTILES_SOURCE (self), NULL);
  return self->name;
}

guint
dothi_mbtiles_source_get_min_zoom (DothiMbtilesSource *self)
{
  g_return_val_if_fail (DOTHI_IS_MBTILES_SOURCE (self), 0);
  return self->min_zoom;
}

guint
dothi_mbtiles_source_get_max_zoom (DothiMbtilesSource *self)
{
  g_return_val_if_fail (DOTHI_IS_MBTILES_SOURCE (self), 0);
  return self->max_zoom;
}

ShumateMapSource *
dothi_mbtiles_source_create_map_source (DothiMbtilesSource *self)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (DOTHI_IS_MBTILES_SOURCE (self), NULL);

  id = g_strdup_printf ("dothi-mbtiles:%s", self->path);
  return SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full (id, self->name, "", "",
                                                               self->min_zoom, self->max_zoom,
                                                               256, SHUMATE_MAP_PROJECTION_MERCATOR,
                                                               SHUMATE_DATA_SOURCE (self)));
}
