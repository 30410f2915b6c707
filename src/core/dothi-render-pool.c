/* dothi-render-pool.c: a pool of render threads, each with its own
 * DothiTileRenderer (SQLite connection, PROJ context) and cache handle.
 * Newest viewport first; results return to the requester's main context. */

#define G_LOG_DOMAIN "dothi-render-pool"

#include "config.h"
#include "dothi-render-pool.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-map-transform.h"
#include "dothi-tile-cache.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

typedef enum {
  JOB_TILE,
  JOB_LABELS,
  JOB_OUTLINE,
  JOB_BLOCK,     /* every layer of one block, composited: render_sync */
  JOB_PREPARE,   /* opens a thread's renderer ahead of the first tile */
} JobKind;

typedef struct {
  JobKind             kind;
  guint               generation;
  guint64             seq;
  DothiRenderLayer   *layer;
  DothiBlock          block;
  double              scale;
  GCancellable       *cancellable;
  /* JOB_TILE */
  DothiTileReadyFunc  func;
  gpointer            user_data;
  GDestroyNotify      destroy;
  GMainContext       *context;
  DothiTile          *tile;
  GError             *error;
  /* JOB_LABELS, JOB_OUTLINE */
  GTask              *task;
  double              bbox[4];
  double              resolution;
  guint               limit;
  gint64              fid;
  /* JOB_BLOCK */
  GPtrArray          *layers;
  DothiRenderLayer   *composite;   /* cache key of the composited block */
  DothiRenderFlags    flags;
  GAsyncQueue        *done;
  cairo_surface_t    *surface;
} Job;

struct _DothiRenderPool
{
  GObject      parent_instance;
  char        *path;
  char        *cache_path;   /* NULL: no disk cache */
  guint        id;
  GThreadPool *threads;
  guint64      seq;          /* guarded by lock */
  GMutex       lock;
  /* Bumped by every invalidation: a block whose render straddled one is
   * not written to the cache, since it may hold the old data. */
  guint        epoch;
  guint        n_rendered;
  guint        n_cache_hits;
  /* Cache writes go to one writer thread that batches them in
   * transactions, so a render never waits on the disk. */
  GAsyncQueue *writes;
  GThread     *writer;
  guint        n_pending_writes;   /* guarded by lock */
  GCond        written;
  guint        n_threads;
  guint        n_rendering;        /* guarded by lock: tile and block jobs running */
  gint64       last_render_end;    /* guarded by lock */
  GCond        idle;
  guint        n_preparing;        /* guarded by lock */
  guint        n_prepared;         /* guarded by lock */
  GCond        prepared;
};

typedef struct {
  DothiRenderLayer *layer;   /* NULL: the writer stops */
  DothiBlock        block;
  GBytes           *pixels;
  guint             epoch;   /* when the render began */
} Write;

static void
write_free (Write *w)
{
  g_clear_pointer (&w->layer, dothi_render_layer_unref);
  g_clear_pointer (&w->pixels, g_bytes_unref);
  g_free (w);
}

G_DEFINE_FINAL_TYPE (DothiRenderPool, dothi_render_pool, G_TYPE_OBJECT)

static guint next_pool_id = 1;

/* ---- tiles ---------------------------------------------------------- */

G_DEFINE_BOXED_TYPE (DothiTile, dothi_tile, dothi_tile_ref, dothi_tile_unref)

static void
tile_clear (DothiTile *tile)
{
  g_clear_pointer (&tile->pixels, g_bytes_unref);
}

DothiTile *
dothi_tile_ref (DothiTile *tile)
{
  return g_atomic_rc_box_acquire (tile);
}

void
dothi_tile_unref (DothiTile *tile)
{
  g_atomic_rc_box_release_full (tile, (GDestroyNotify) tile_clear);
}

static DothiTile *
tile_new (const DothiBlock *block, double scale, GBytes *pixels, gboolean from_cache)
{
  DothiTile *tile = g_atomic_rc_box_new0 (DothiTile);

  tile->block = *block;
  tile->scale = scale;
  tile->pixels = pixels ? g_bytes_ref (pixels) : NULL;
  tile->width = tile->height = block->size;
  tile->stride = (gsize) block->size * 4;
  tile->from_cache = from_cache;
  return tile;
}

/* ---- worker state --------------------------------------------------- */

typedef struct {
  guint              pool_id;
  DothiTileRenderer *renderer;
  DothiTileCache    *cache;
} Worker;

static void
worker_free (gpointer data)
{
  Worker *w = data;

  if (w == NULL)
    return;
  g_clear_pointer (&w->renderer, dothi_tile_renderer_free);
  g_clear_pointer (&w->cache, dothi_tile_cache_close);
  g_free (w);
}

static GPrivate worker_key = G_PRIVATE_INIT (worker_free);

/* The calling thread's renderer for @self; the pool's threads are its
 * own (exclusive), so a thread serves one pool, but the CLI's thread may
 * meet several. */
static Worker *
get_worker (DothiRenderPool *self, GError **error)
{
  Worker *w = g_private_get (&worker_key);

  if (w != NULL && w->pool_id == self->id)
    return w;
  w = g_new0 (Worker, 1);
  w->pool_id = self->id;
  w->renderer = dothi_tile_renderer_new (self->path, error);
  if (w->renderer == NULL)
    {
      worker_free (w);
      return NULL;
    }
  if (self->cache_path != NULL)
    /* A cache that cannot be opened costs speed only. */
    w->cache = dothi_tile_cache_open (self->cache_path, NULL);
  g_private_replace (&worker_key, w);
  return w;
}

static void
job_free (Job *job)
{
  if (job->destroy)
    job->destroy (job->user_data);
  g_clear_pointer (&job->layer, dothi_render_layer_unref);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_clear_pointer (&job->tile, dothi_tile_unref);
  g_clear_error (&job->error);
  g_clear_object (&job->task);
  g_clear_pointer (&job->layers, g_ptr_array_unref);
  g_clear_pointer (&job->composite, dothi_render_layer_unref);
  g_clear_pointer (&job->surface, cairo_surface_destroy);
  g_free (job);
}

static gpointer
writer_thread (gpointer data)
{
  DothiRenderPool *self = data;
  g_autoptr(DothiTileCache) cache = dothi_tile_cache_open (self->cache_path, NULL);
  gboolean running = TRUE;

  while (running)
    {
      Write *w = g_async_queue_pop (self->writes);
      guint n = 0;

      /* Renders first: the disk waits until no block has been drawn for
       * 50 ms (a render's blocks come back to back), up to 256 queued
       * blocks (64 MB) or a second. */
      if (w->layer != NULL)
        {
          gint64 until = g_get_monotonic_time () + G_TIME_SPAN_SECOND;

          g_mutex_lock (&self->lock);
          while (g_async_queue_length (self->writes) < 256)
            {
              gint64 now = g_get_monotonic_time ();
              gint64 quiet = self->last_render_end + 50 * G_TIME_SPAN_MILLISECOND;

              if (now >= until || (self->n_rendering == 0 && now >= quiet))
                break;
              g_cond_wait_until (&self->idle, &self->lock,
                                 self->n_rendering == 0 ? MIN (quiet, until) : until);
            }
          g_mutex_unlock (&self->lock);
        }
      if (cache)
        dothi_tile_cache_begin (cache);
      while (w != NULL)
        {
          if (w->layer == NULL)
            running = FALSE;
          /* A block whose render straddled an invalidation may hold the
           * old data: not cached. */
          else if (cache && w->epoch == (guint) g_atomic_int_get (&self->epoch))
            dothi_tile_cache_put (cache, w->layer, &w->block, w->pixels);
          write_free (w);
          w = ++n < 64 && running ? g_async_queue_try_pop (self->writes) : NULL;
        }
      if (cache)
        dothi_tile_cache_commit (cache);
      g_mutex_lock (&self->lock);
      self->n_pending_writes -= MIN (self->n_pending_writes, n);
      g_cond_broadcast (&self->written);
      g_mutex_unlock (&self->lock);
    }
  return NULL;
}

static void
queue_write (DothiRenderPool *self, DothiRenderLayer *layer, const DothiBlock *block,
             GBytes *pixels, guint epoch)
{
  Write *w;

  if (layer->selection != NULL)
    return;
  w = g_new0 (Write, 1);
  w->layer = dothi_render_layer_ref (layer);
  w->block = *block;
  w->pixels = pixels ? g_bytes_ref (pixels) : NULL;
  w->epoch = epoch;
  g_mutex_lock (&self->lock);
  self->n_pending_writes++;
  g_mutex_unlock (&self->lock);
  g_async_queue_push (self->writes, w);
}

/* Renders one layer into one block, or reads it from the cache. */
static DothiTile *
render_tile (DothiRenderPool *self, Worker *w, DothiRenderLayer *layer,
             const DothiBlock *block, double scale, DothiRenderFlags flags,
             gboolean store, GCancellable *cancellable, GError **error)
{
  /* A selection is the user's, of the moment: never on disk. */
  gboolean use_cache = w->cache != NULL && (flags & DOTHI_RENDER_REFERENCE) == 0
                       && layer->selection == NULL;
  g_autoptr(GBytes) pixels = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;
  guint8 *data;
  gsize len = (gsize) block->size * block->size * 4;
  guint n_drawn = 0;
  guint epoch;
  gboolean ok;

  if (use_cache && dothi_tile_cache_get (w->cache, layer, block, &pixels))
    {
      g_atomic_int_inc (&self->n_cache_hits);
      return tile_new (block, scale, pixels, TRUE);
    }

  epoch = (guint) g_atomic_int_get (&self->epoch);
  data = g_malloc0 (len);
  surface = cairo_image_surface_create_for_data (data, CAIRO_FORMAT_ARGB32, block->size,
                                                 block->size, block->size * 4);
  cr = cairo_create (surface);
  ok = dothi_tile_renderer_draw (w->renderer, layer, block, scale, flags, cr, &n_drawn,
                                 cancellable, error);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  cairo_surface_destroy (surface);
  if (!ok)
    {
      g_free (data);
      return NULL;
    }
  g_atomic_int_inc (&self->n_rendered);
  if (n_drawn > 0)
    pixels = g_bytes_new_take (data, len);
  else
    g_free (data);
  if (use_cache && store && !g_cancellable_is_cancelled (cancellable))
    queue_write (self, layer, block, pixels, epoch);
  return tile_new (block, scale, pixels, FALSE);
}

static gboolean
deliver_tile (gpointer data)
{
  Job *job = data;

  if (job->func)
    {
      if (job->tile == NULL && job->error == NULL)
        g_set_error_literal (&job->error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("Operation was cancelled"));
      job->func (NULL, job->tile, job->error, job->user_data);
    }
  return G_SOURCE_REMOVE;
}

static void
post (Job *job)
{
  GSource *source = g_idle_source_new ();

  /* An idle source, not g_main_context_invoke(): the latter may run the
   * callback on this worker when nobody iterates the context. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver_tile, job, (GDestroyNotify) job_free);
  g_source_attach (source, job->context);
  g_source_unref (source);
}

static void
run_job (gpointer data, gpointer user_data)
{
  Job *job = data;
  DothiRenderPool *self = user_data;
  GError *error = NULL;
  Worker *w;

  if (job->kind == JOB_PREPARE)
    {
      /* Every thread takes one: each waits here until all have started. */
      g_mutex_lock (&self->lock);
      self->n_preparing++;
      g_cond_broadcast (&self->prepared);
      while (self->n_preparing < self->n_threads)
        g_cond_wait (&self->prepared, &self->lock);
      g_mutex_unlock (&self->lock);
    }
  if (job->kind == JOB_TILE || job->kind == JOB_BLOCK)
    {
      g_mutex_lock (&self->lock);
      self->n_rendering++;
      g_mutex_unlock (&self->lock);
    }
  if (g_cancellable_set_error_if_cancelled (job->cancellable, &error))
    goto out;
  w = get_worker (self, &error);
  if (w == NULL)
    goto out;

  switch (job->kind)
    {
    case JOB_TILE:
      job->tile = render_tile (self, w, job->layer, &job->block, job->scale, 0,
                               TRUE, job->cancellable, &error);
      break;

    case JOB_LABELS:
      {
        GPtrArray *labels = dothi_tile_renderer_labels (w->renderer, job->layer, job->bbox,
                                                        job->resolution, job->limit,
                                                        job->cancellable, &error);
        if (labels)
          g_task_return_pointer (job->task, labels, (GDestroyNotify) g_ptr_array_unref);
      }
      break;

    case JOB_OUTLINE:
      {
        GPtrArray *outline = dothi_tile_renderer_outline (w->renderer, job->layer, job->fid, &error);

        if (outline)
          g_task_return_pointer (job->task, outline, (GDestroyNotify) g_ptr_array_unref);
      }
      break;

    case JOB_PREPARE:
      for (guint i = 0; i < job->layers->len; i++)
        dothi_tile_renderer_prepare (w->renderer, job->layers->pdata[i], NULL);
      break;

    case JOB_BLOCK:
      {
        gboolean use_cache = w->cache != NULL && job->composite != NULL
                             && (job->flags & DOTHI_RENDER_REFERENCE) == 0;
        g_autoptr(GBytes) cached = NULL;
        gsize len = (gsize) job->block.size * job->block.size * 4;
        guint epoch = (guint) g_atomic_int_get (&self->epoch);
        cairo_t *cr;

        job->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, job->block.size,
                                                   job->block.size);
        /* The whole map of a block is cached too: one read instead of
         * one per layer keeps a warm full-extent render fast. */
        if (use_cache && dothi_tile_cache_get (w->cache, job->composite, &job->block, &cached))
          {
            g_atomic_int_inc (&self->n_cache_hits);
            if (cached != NULL)
              {
                cairo_surface_flush (job->surface);
                memcpy (cairo_image_surface_get_data (job->surface),
                        g_bytes_get_data (cached, NULL), len);
                cairo_surface_mark_dirty (job->surface);
              }
            break;
          }
        cr = cairo_create (job->surface);
        for (guint i = 0; i < job->layers->len && error == NULL; i++)
          {
            DothiRenderLayer *layer = job->layers->pdata[i];
            guint n_drawn = 0;

            if (!layer->visible)
              continue;
            /* Drawn straight into the block, through a group only when
             * translucent. (Layer blocks the app cached are not looked
             * up: at a CLI's resolution they are rarely there, and the
             * lookups cost more than they save.) */
            if (layer->opacity < 1.0)
              cairo_push_group (cr);
            if (dothi_tile_renderer_draw (w->renderer, layer, &job->block, job->scale,
                                          job->flags, cr, &n_drawn, job->cancellable, &error))
              g_atomic_int_inc (&self->n_rendered);
            if (layer->opacity < 1.0)
              {
                cairo_pop_group_to_source (cr);
                cairo_paint_with_alpha (cr, layer->opacity);
              }
          }
        cairo_destroy (cr);
        cairo_surface_flush (job->surface);
        if (use_cache && error == NULL)
          {
            /* The surface itself, not a copy: it is only read from now. */
            g_autoptr(GBytes) pixels =
              g_bytes_new_with_free_func (cairo_image_surface_get_data (job->surface), len,
                                          (GDestroyNotify) cairo_surface_destroy,
                                          cairo_surface_reference (job->surface));

            queue_write (self, job->composite, &job->block, pixels, epoch);
          }
      }
      break;
    }

out:
  if (job->kind == JOB_TILE || job->kind == JOB_BLOCK)
    {
      g_mutex_lock (&self->lock);
      self->last_render_end = g_get_monotonic_time ();
      if (--self->n_rendering == 0)
        g_cond_broadcast (&self->idle);
      g_mutex_unlock (&self->lock);
    }
  switch (job->kind)
    {
    case JOB_TILE:
      job->error = error;
      post (job);
      return;
    case JOB_LABELS:
    case JOB_OUTLINE:
      if (error)
        g_task_return_error (job->task, error);
      job_free (job);
      return;
    case JOB_BLOCK:
      job->error = error;
      g_async_queue_push (job->done, job);
      return;
    case JOB_PREPARE:
      g_mutex_lock (&self->lock);
      self->n_prepared++;
      g_cond_broadcast (&self->prepared);
      g_mutex_unlock (&self->lock);
      g_clear_error (&error);
      job_free (job);
      return;
    }
}

/* Newest generation first, then first come, first served. */
static gint
compare_jobs (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Job *ja = a, *jb = b;

  if (ja->generation != jb->generation)
    return ja->generation > jb->generation ? -1 : 1;
  return ja->seq < jb->seq ? -1 : ja->seq > jb->seq;
}

static void
push (DothiRenderPool *self, Job *job)
{
  g_mutex_lock (&self->lock);
  job->seq = self->seq++;
  g_mutex_unlock (&self->lock);
  g_thread_pool_push (self->threads, job, NULL);
}

/* ---- object --------------------------------------------------------- */

static void
dothi_render_pool_finalize (GObject *object)
{
  DothiRenderPool *self = DOTHI_RENDER_POOL (object);

  /* Waits for running jobs; queued ones still run and see their
   * cancellables. Their threads exit and free their renderers. */
  if (self->threads)
    g_thread_pool_free (self->threads, FALSE, TRUE);
  if (self->writer)
    {
      /* The stop mark goes last: queued writes are kept. */
      g_async_queue_push (self->writes, g_new0 (Write, 1));
      g_thread_join (self->writer);
    }
  g_clear_pointer (&self->writes, g_async_queue_unref);
  g_free (self->path);
  g_free (self->cache_path);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->written);
  g_cond_clear (&self->prepared);
  g_cond_clear (&self->idle);
  G_OBJECT_CLASS (dothi_render_pool_parent_class)->finalize (object);
}

static void
dothi_render_pool_class_init (DothiRenderPoolClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_render_pool_finalize;
}

static void
dothi_render_pool_init (DothiRenderPool *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->written);
  g_cond_init (&self->prepared);
  g_cond_init (&self->idle);
}

/* Brings the disk cache up to date with edits made while no Dothi had
 * the project open: the audit rows since the cache's audit id. */
static void
sync_cache (DothiRenderPool *self)
{
  g_autoptr(DothiTileCache) cache = NULL;
  sqlite3 *db = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GHashTable) srids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) transforms = g_hash_table_new_full (NULL, NULL, NULL,
                                                            (GDestroyNotify) dothi_map_transform_free);
  gint64 cached_id, max_id = 0;
  gboolean wipe = FALSE;

  cache = dothi_tile_cache_open (self->cache_path, NULL);
  if (cache == NULL)
    {
      g_clear_pointer (&self->cache_path, g_free);
      return;
    }
  if (sqlite3_open_v2 (self->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    goto done;
  sqlite3_busy_timeout (db, 5000);
  sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
  if (sqlite3_prepare_v2 (db, "SELECT COALESCE(MAX(id), 0) FROM dothi_audit", -1, &stmt, NULL)
      != SQLITE_OK || sqlite3_step (stmt) != SQLITE_ROW)
    goto done;
  max_id = sqlite3_column_int64 (stmt, 0);
  g_clear_pointer (&stmt, sqlite3_finalize);
  cached_id = dothi_tile_cache_get_audit_id (cache);
  if (cached_id == max_id)
    goto done;
  if (cached_id > max_id || max_id - cached_id > 20000)
    {
      wipe = TRUE;
      goto done;
    }

  if (sqlite3_prepare_v2 (db, "SELECT name, srid FROM dothi_layers", -1, &stmt, NULL) != SQLITE_OK)
    goto done;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_insert (srids, g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                         GINT_TO_POINTER (sqlite3_column_int (stmt, 1)));
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (sqlite3_prepare_v2 (db, "SELECT layer, op, before_geom, after_geom FROM dothi_audit "
                          "WHERE id > ?1 AND id <= ?2", -1, &stmt, NULL) != SQLITE_OK)
    {
      wipe = TRUE;
      goto done;
    }
  sqlite3_bind_int64 (stmt, 1, cached_id);
  sqlite3_bind_int64 (stmt, 2, max_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *layer = (const char *) sqlite3_column_text (stmt, 0);
      const char *op = (const char *) sqlite3_column_text (stmt, 1);
      int srid = GPOINTER_TO_INT (g_hash_table_lookup (srids, layer ? layer : ""));
      DothiMapTransform *t = g_hash_table_lookup (transforms, GINT_TO_POINTER (srid));

      if (g_strcmp0 (op, "insert") != 0 && g_strcmp0 (op, "update") != 0
          && g_strcmp0 (op, "delete") != 0)
        {
          dothi_tile_cache_invalidate (cache, layer, NULL);
          continue;
        }
      if (t == NULL && srid > 0)
        {
          t = dothi_map_transform_new (srid, NULL);
          if (t)
            g_hash_table_insert (transforms, GINT_TO_POINTER (srid), t);
        }
      for (int col = 2; col <= 3; col++)
        {
          const guint8 *b = sqlite3_column_blob (stmt, col);
          int len = sqlite3_column_bytes (stmt, col);
          double mbr[4], merc[4];

          if (b == NULL || len < 44 || b[0] != 0 || b[38] != 0x7C)
            continue;
          for (int i = 0; i < 4; i++)
            {
              guint64 u;

              memcpy (&u, b + 6 + 8 * i, 8);
              if ((b[1] == 0x01) != (G_BYTE_ORDER == G_LITTLE_ENDIAN))
                u = GUINT64_SWAP_LE_BE (u);
              memcpy (&mbr[i], &u, 8);
            }
          if (t != NULL && dothi_map_transform_bbox_to_mercator (t, mbr, merc))
            dothi_tile_cache_invalidate (cache, layer, merc);
          else
            dothi_tile_cache_invalidate (cache, layer, NULL);
        }
    }

done:
  if (wipe)
    dothi_tile_cache_invalidate (cache, NULL, NULL);
  if (db != NULL)
    {
      g_clear_pointer (&stmt, sqlite3_finalize);
      sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
      sqlite3_close_v2 (db);
      dothi_tile_cache_set_audit_id (cache, max_id);
    }
}

DothiRenderPool *
dothi_render_pool_new (const char  *path,
                       const char  *uuid,
                       guint        n_threads,
                       GError     **error)
{
  g_autoptr(DothiRenderPool) self = g_object_new (DOTHI_TYPE_RENDER_POOL, NULL);

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name */
                   _("The project “%s” does not exist"), path);
      return NULL;
    }
  self->path = g_strdup (path);
  self->id = g_atomic_int_add (&next_pool_id, 1);
  if (uuid != NULL && *uuid != '\0')
    {
      self->cache_path = dothi_tile_cache_path_for (uuid);
      sync_cache (self);
    }
  if (self->cache_path != NULL)
    {
      self->writes = g_async_queue_new ();
      self->writer = g_thread_new ("dothi-cache-writer", writer_thread, self);
    }
  if (n_threads == 0)
    n_threads = MAX (1, g_get_num_processors ());
  self->n_threads = n_threads;
  self->threads = g_thread_pool_new (run_job, self, n_threads, TRUE, error);
  if (self->threads == NULL)
    return NULL;
  g_thread_pool_set_sort_function (self->threads, compare_jobs, NULL);
  return g_steal_pointer (&self);
}

void
dothi_render_pool_request (DothiRenderPool    *self,
                           DothiRenderLayer   *layer,
                           const DothiBlock   *block,
                           double              scale,
                           guint               generation,
                           GCancellable       *cancellable,
                           DothiTileReadyFunc  func,
                           gpointer            user_data,
                           GDestroyNotify      destroy)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (DOTHI_IS_RENDER_POOL (self));
  job->kind = JOB_TILE;
  job->layer = dothi_render_layer_ref (layer);
  job->block = *block;
  job->scale = scale;
  job->generation = generation;
  job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  job->func = func;
  job->user_data = user_data;
  job->destroy = destroy;
  job->context = g_main_context_ref_thread_default ();
  push (self, job);
}

void
dothi_render_pool_labels_async (DothiRenderPool     *self,
                                DothiRenderLayer    *layer,
                                const double         bbox[4],
                                double               resolution,
                                guint                limit,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (DOTHI_IS_RENDER_POOL (self));
  job->kind = JOB_LABELS;
  job->generation = G_MAXUINT;   /* labels are few and the user reads them */
  job->layer = dothi_render_layer_ref (layer);
  memcpy (job->bbox, bbox, sizeof job->bbox);
  job->resolution = resolution;
  job->limit = limit;
  job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, dothi_render_pool_labels_async);
  push (self, job);
}

GPtrArray *
dothi_render_pool_labels_finish (DothiRenderPool *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
dothi_render_pool_outline_async (DothiRenderPool     *self,
                                 DothiRenderLayer    *layer,
                                 gint64               fid,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (DOTHI_IS_RENDER_POOL (self));
  job->kind = JOB_OUTLINE;
  job->generation = G_MAXUINT;
  job->layer = dothi_render_layer_ref (layer);
  job->fid = fid;
  job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, dothi_render_pool_outline_async);
  push (self, job);
}

GPtrArray *
dothi_render_pool_outline_finish (DothiRenderPool *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
dothi_render_pool_invalidate (DothiRenderPool *self, const char *layer, const double *bbox)
{
  g_autoptr(DothiTileCache) cache = NULL;

  g_return_if_fail (DOTHI_IS_RENDER_POOL (self));
  g_atomic_int_inc (&self->epoch);
  if (self->cache_path == NULL)
    return;
  /* A short-lived handle: invalidations are rare (edits), and this keeps
   * the caller's thread free of long-lived connections. */
  cache = dothi_tile_cache_open (self->cache_path, NULL);
  if (cache != NULL)
    dothi_tile_cache_invalidate (cache, layer, bbox);
}

void
dothi_render_pool_prepare (DothiRenderPool *self, GPtrArray *layers, gboolean wait)
{
  g_return_if_fail (DOTHI_IS_RENDER_POOL (self));

  g_mutex_lock (&self->lock);
  self->n_preparing = self->n_prepared = 0;
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < self->n_threads; i++)
    {
      Job *job = g_new0 (Job, 1);

      job->kind = JOB_PREPARE;
      job->generation = G_MAXUINT;
      job->layers = g_ptr_array_ref (layers);
      push (self, job);
    }
  if (!wait)
    return;
  g_mutex_lock (&self->lock);
  while (self->n_prepared < self->n_threads)
    g_cond_wait (&self->prepared, &self->lock);
  g_mutex_unlock (&self->lock);
}

void
dothi_render_pool_wait_cache (DothiRenderPool *self)
{
  g_return_if_fail (DOTHI_IS_RENDER_POOL (self));
  g_mutex_lock (&self->lock);
  while (self->n_pending_writes > 0)
    g_cond_wait (&self->written, &self->lock);
  g_mutex_unlock (&self->lock);
}

guint
dothi_render_pool_get_n_rendered (DothiRenderPool *self)
{
  return g_atomic_int_get (&self->n_rendered);
}

guint
dothi_render_pool_get_n_cache_hits (DothiRenderPool *self)
{
  return g_atomic_int_get (&self->n_cache_hits);
}

/* The cache key of a composited map: "@map" and a hash of what is drawn
 * ('@' never starts a layer table's name); NULL, not cached, when a
 * selection is drawn. */
static DothiRenderLayer *
composite_layer (GPtrArray *layers)
{
  DothiRenderLayer *key;
  guint64 h = 1469598103934665603ull;

  for (guint i = 0; i < layers->len; i++)
    {
      const DothiRenderLayer *layer = layers->pdata[i];

      if (layer->visible && layer->selection != NULL)
        return NULL;
    }

  key = g_atomic_rc_box_new0 (DothiRenderLayer);
  for (guint i = 0; i < layers->len; i++)
    {
      DothiRenderLayer *layer = layers->pdata[i];
      g_autofree char *text = NULL;

      if (!layer->visible)
        continue;
      text = g_strdup_printf ("%s/%" G_GUINT64_FORMAT "/%.3f;", layer->name,
                              layer->style_revision, layer->opacity);
      for (const char *p = text; *p; p++)
        h = (h ^ (guchar) *p) * 1099511628211ull;
    }
  key->name = g_strdup ("@map");
  key->style_revision = h;
  return key;
}

cairo_surface_t *
dothi_render_pool_render_sync (DothiRenderPool   *self,
                               GPtrArray         *layers,
                               const double       bbox[4],
                               int                width,
                               int                height,
                               DothiRenderFlags   flags,
                               GCancellable      *cancellable,
                               GError           **error)
{
  g_autoptr(GAsyncQueue) done = g_async_queue_new ();
  g_autoptr(DothiRenderLayer) composite_key = NULL;
  cairo_surface_t *out;
  cairo_t *cr;
  double res, ox, oy;
  gint64 i0, j0, bx0, by0, bx1, by1;
  /* Blocks of 512: a quarter of the queries and surfaces of 256, and
   * fewer features read twice across block edges. */
  const int size = 256;
  guint n_jobs = 0;
  GError *first_error = NULL;

  g_return_val_if_fail (DOTHI_IS_RENDER_POOL (self), NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  /* The bbox's image fitted into width × height, centred; its top-left
   * snapped to the global pixel grid of that resolution. */
  res = MAX ((bbox[2] - bbox[0]) / width, (bbox[3] - bbox[1]) / height);
  if (!(res > 0))
    res = dothi_mercator_resolution (20);
  /* Resolutions snap to 1/256 of a zoom level (0.27 %): a window moved
   * in VN-2000 comes out a centimetre wider or narrower in Web Mercator,
   * and must still meet its blocks in the cache. */
  {
    double zoom = log2 (2 * DOTHI_MERCATOR_HALF_WORLD / (256 * res));

    res = dothi_mercator_resolution (floor (zoom * 256 + 1e-9) / 256);
  }
  ox = (bbox[0] + bbox[2]) / 2 - res * width / 2.0;
  oy = (bbox[1] + bbox[3]) / 2 + res * height / 2.0;
  i0 = (gint64) floor ((ox + DOTHI_MERCATOR_HALF_WORLD) / res + 0.5);
  j0 = (gint64) floor ((DOTHI_MERCATOR_HALF_WORLD - oy) / res + 0.5);
  bx0 = i0 / size - (i0 % size < 0);
  by0 = j0 / size - (j0 % size < 0);
  bx1 = (i0 + width - 1) / size;
  by1 = (j0 + height - 1) / size;

  composite_key = composite_layer (layers);
  for (gint64 by = by0; by <= by1; by++)
    for (gint64 bx = bx0; bx <= bx1; bx++)
      {
        Job *job = g_new0 (Job, 1);

        job->composite = composite_key ? dothi_render_layer_ref (composite_key) : NULL;
        job->kind = JOB_BLOCK;
        job->block = (DothiBlock) { res, bx, by, size };
        job->scale = 1.0;
        job->flags = flags;
        job->layers = g_ptr_array_ref (layers);
        job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
        job->done = done;
        /* Row by row from the top: the order a reader's eye expects. */
        job->generation = 0;
        push (self, job);
        n_jobs++;
      }

  out = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (out);
  for (guint k = 0; k < n_jobs; k++)
    {
      Job *job = g_async_queue_pop (done);

      if (job->error != NULL && first_error == NULL)
        first_error = g_steal_pointer (&job->error);
      if (first_error == NULL)
        {
          cairo_set_source_surface (cr, job->surface,
                                    (double) (job->block.x * size - i0),
                                    (double) (job->block.y * size - j0));
          cairo_paint (cr);
        }
      job_free (job);
    }
  cairo_destroy (cr);
  if (first_error != NULL)
    {
      cairo_surface_destroy (out);
      g_propagate_error (error, first_error);
      return NULL;
    }
  cairo_surface_flush (out);
  return out;
}

GPtrArray *
dothi_render_layers_for_project (DothiProject *project, GError **error)
{
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  infos = dothi_project_list_layers (project, error);
  if (infos == NULL)
    return NULL;
  for (guint i = 0; i < infos->len; i++)
    {
      DothiLayerInfo *info = infos->pdata[i];
      g_autoptr(DothiStyle) style = NULL;

      if (info->kind == DOTHI_GEOMETRY_KIND_NONE)
        continue;
      style = dothi_project_dup_style (project, info->name, error);
      if (style == NULL)
        return NULL;
      g_ptr_array_add (layers, dothi_render_layer_new (info, style));
    }
  return g_steal_pointer (&layers);
}
