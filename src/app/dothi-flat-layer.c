/* dothi-flat-layer.c: composites the held tiles of every project layer
 * into one texture per tile on a worker thread. In software rendering a
 * frame costs about 6 ms per full-screen layer at 1920×1080; flattened,
 * a warm pan draws one. */

#define G_LOG_DOMAIN "dothi-flat-layer"

#include "config.h"
#include "dothi-flat-layer.h"

#include <cairo.h>
#include <string.h>

/* Flat tiles held: more than a 1920×1080 view needs, twice over. */
#define FLAT_LRU_SIZE 128

typedef struct {
  guint64     key;
  int         z;
  gint64      x, y;
  GdkTexture *texture;    /* NULL: every layer is empty here */
  guint       n;          /* layers it was made from */
  GBytes    **sources;    /* each layer's pixels then (NULL: empty) */
  double     *opacity;
  gboolean   *visible;
  GList       link;
} FlatEntry;

typedef struct {
  guint64  key;
  int      size;
  guint    n;
  GBytes **sources;
  double  *opacity;
  gboolean *visible;
  GBytes  *result;
} Job;

struct _DothiFlatLayer
{
  ShumateLayer  parent_instance;

  GPtrArray    *layers;     /* DothiTileLayer*, bottom first */
  GHashTable   *entries;    /* &key → FlatEntry */
  GQueue        lru;
  GHashTable   *pending;    /* keys being composited */
  GCancellable *cancellable;
  guint         generation;  /* bumped by set_layers: older jobs are dropped */
};

G_DEFINE_FINAL_TYPE (DothiFlatLayer, dothi_flat_layer, SHUMATE_TYPE_LAYER)

static inline guint64
flat_key (int z, gint64 x, gint64 y)
{
  return ((guint64) z << 50) | ((guint64) x << 25) | (guint64) y;
}

static void
free_sources (guint n, GBytes **sources)
{
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&sources[i], g_bytes_unref);
  g_free (sources);
}

static void
flat_entry_free (gpointer data)
{
  FlatEntry *entry = data;

  g_clear_object (&entry->texture);
  free_sources (entry->n, entry->sources);
  g_free (entry->opacity);
  g_free (entry->visible);
  g_free (entry);
}

static void
job_free (Job *job)
{
  free_sources (job->n, job->sources);
  g_free (job->opacity);
  g_free (job->visible);
  g_clear_pointer (&job->result, g_bytes_unref);
  g_free (job);
}

/* The state of every layer at tile (z, x, y): FALSE while one of them is
 * still being drawn. */
static gboolean
layer_state (DothiFlatLayer *self, int z, gint64 x, gint64 y,
             GBytes **sources, double *opacity, gboolean *visible)
{
  for (guint i = 0; i < self->layers->len; i++)
    {
      DothiTileLayer *layer = self->layers->pdata[i];

      visible[i] = dothi_tile_layer_get_layer_visible (layer)
                   && dothi_tile_layer_get_opacity (layer) > 0;
      opacity[i] = dothi_tile_layer_get_opacity (layer);
      sources[i] = NULL;
      if (visible[i] && !dothi_tile_layer_peek (layer, z, x, y, &sources[i]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
entry_is_current (DothiFlatLayer *self, FlatEntry *entry)
{
  if (entry->n != self->layers->len)
    return FALSE;
  for (guint i = 0; i < entry->n; i++)
    {
      DothiTileLayer *layer = self->layers->pdata[i];
      gboolean visible = dothi_tile_layer_get_layer_visible (layer)
                         && dothi_tile_layer_get_opacity (layer) > 0;
      GBytes *pixels = NULL;

      if (visible != entry->visible[i])
        return FALSE;
      if (!visible)
        continue;
      if (dothi_tile_layer_get_opacity (layer) != entry->opacity[i]
          || !dothi_tile_layer_peek (layer, entry->z, entry->x, entry->y, &pixels)
          || pixels != entry->sources[i])
        return FALSE;
    }
  return TRUE;
}

static FlatEntry *
lookup (DothiFlatLayer *self, int z, gint64 x, gint64 y)
{
  guint64 key = flat_key (z, x, y);

  return g_hash_table_lookup (self->entries, &key);
}

static gboolean
covers_cb (int z, gint64 x, gint64 y, GtkWidget *cover)
{
  DothiFlatLayer *self = DOTHI_FLAT_LAYER (cover);
  FlatEntry *entry = lookup (self, z, x, y);

  return entry != NULL && entry_is_current (self, entry);
}

static void
composite_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  gsize len = (gsize) job->size * job->size * 4;
  guint8 *pixels = NULL;
  cairo_surface_t *target = NULL;
  cairo_t *cr = NULL;

  for (guint i = 0; i < job->n; i++)
    {
      cairo_surface_t *s;

      if (!job->visible[i] || job->sources[i] == NULL)
        continue;
      if (g_bytes_get_size (job->sources[i]) != len)
        continue;
      if (target == NULL)
        {
          pixels = g_malloc0 (len);
          target = cairo_image_surface_create_for_data (pixels, CAIRO_FORMAT_ARGB32,
                                                        job->size, job->size, job->size * 4);
          cr = cairo_create (target);
        }
      s = cairo_image_surface_create_for_data ((guint8 *) g_bytes_get_data (job->sources[i], NULL),
                                               CAIRO_FORMAT_ARGB32, job->size, job->size,
                                               job->size * 4);
      cairo_set_source_surface (cr, s, 0, 0);
      cairo_paint_with_alpha (cr, job->opacity[i]);
      cairo_surface_destroy (s);
    }
  if (target != NULL)
    {
      cairo_destroy (cr);
      cairo_surface_finish (target);
      cairo_surface_destroy (target);
      job->result = g_bytes_new_take (pixels, len);
    }
  g_task_return_boolean (task, TRUE);
}

static void
evict (DothiFlatLayer *self)
{
  while (self->lru.length > FLAT_LRU_SIZE)
    {
      FlatEntry *entry = g_queue_peek_tail (&self->lru);

      g_queue_unlink (&self->lru, &entry->link);
      g_hash_table_remove (self->entries, &entry->key);
    }
}

static void
composite_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DothiFlatLayer *self = DOTHI_FLAT_LAYER (source);
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  FlatEntry *entry;
  guint generation = GPOINTER_TO_UINT (data);

  g_hash_table_remove (self->pending, &job->key);
  if (!g_task_propagate_boolean (task, NULL) || generation != self->generation)
    return;

  entry = g_new0 (FlatEntry, 1);
  entry->key = job->key;
  entry->z = (int) (job->key >> 50);
  entry->x = (gint64) ((job->key >> 25) & ((1u << 25) - 1));
  entry->y = (gint64) (job->key & ((1u << 25) - 1));
  entry->n = job->n;
  entry->sources = g_steal_pointer (&job->sources);
  entry->opacity = g_steal_pointer (&job->opacity);
  entry->visible = g_steal_pointer (&job->visible);
  job->n = 0;
  if (job->result != NULL)
    entry->texture = gdk_memory_texture_new (job->size, job->size, GDK_MEMORY_DEFAULT,
                                             job->result, (gsize) job->size * 4);
  entry->link.data = entry;
  {
    /* A stale entry for the same tile leaves the LRU before the table
     * frees it: its link lives inside it. */
    FlatEntry *old = g_hash_table_lookup (self->entries, &entry->key);

    if (old != NULL)
      {
        g_queue_unlink (&self->lru, &old->link);
        g_hash_table_remove (self->entries, &old->key);
      }
  }
  g_hash_table_insert (self->entries, &entry->key, entry);
  g_queue_push_head_link (&self->lru, &entry->link);
  evict (self);

  /* The tile layers stop drawing this tile; the map draws again. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
  for (guint i = 0; i < self->layers->len; i++)
    gtk_widget_queue_draw (self->layers->pdata[i]);
}

static void
request_composite (DothiFlatLayer *self, int z, gint64 x, gint64 y, int size)
{
  g_autoptr(GTask) task = NULL;
  Job *job;
  guint n = self->layers->len;
  guint64 key = flat_key (z, x, y);

  if (n == 0 || g_hash_table_contains (self->pending, &key))
    return;
  job = g_new0 (Job, 1);
  job->key = key;
  job->size = size;
  job->n = n;
  job->sources = g_new0 (GBytes *, n);
  job->opacity = g_new0 (double, n);
  job->visible = g_new0 (gboolean, n);
  if (!layer_state (self, z, x, y, job->sources, job->opacity, job->visible))
    {
      /* Still drawing: borrowed pointers only so far, nothing to free. */
      memset (job->sources, 0, n * sizeof (GBytes *));
      job_free (job);
      return;
    }
  for (guint i = 0; i < n; i++)
    if (job->sources[i] != NULL)
      g_bytes_ref (job->sources[i]);

  g_hash_table_add (self->pending, g_memdup2 (&key, sizeof key));
  task = g_task_new (self, self->cancellable, composite_done_cb,
                     GUINT_TO_POINTER (self->generation));
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, composite_thread);
}

static void
dothi_flat_layer_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DothiFlatLayer *self = DOTHI_FLAT_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  double scale = gtk_widget_get_scale_factor (widget);
  DothiMapFrame frame;
  gint64 x0, y0, x1, y1;
  int z;

  if (self->layers == NULL || self->layers->len == 0
      || !dothi_map_frame_init (&frame, viewport, widget))
    return;
  z = dothi_map_frame_tile_range (&frame, &x0, &y0, &x1, &y1);

  gtk_snapshot_save (snapshot);
  if (frame.rotation != 0.0)
    {
      graphene_point_t centre = GRAPHENE_POINT_INIT (frame.width / 2.0, frame.height / 2.0);
      graphene_point_t back = GRAPHENE_POINT_INIT (-frame.width / 2.0, -frame.height / 2.0);

      gtk_snapshot_translate (snapshot, &centre);
      gtk_snapshot_rotate (snapshot, frame.rotation * 180.0 / G_PI);
      gtk_snapshot_translate (snapshot, &back);
    }
  for (gint64 y = y0; y <= y1; y++)
    for (gint64 x = x0; x <= x1; x++)
      {
        FlatEntry *entry = lookup (self, z, x, y);
        graphene_rect_t rect;

        if (entry != NULL && entry_is_current (self, entry))
          {
            g_queue_unlink (&self->lru, &entry->link);
            g_queue_push_head_link (&self->lru, &entry->link);
            if (entry->texture == NULL)
              continue;
            dothi_map_frame_tile_rect (&frame, scale, z, x, y, &rect);
            gtk_snapshot_append_texture (snapshot, entry->texture, &rect);
          }
        else
          request_composite (self, z, x, y, (int) (256 * scale));
      }
  gtk_snapshot_restore (snapshot);
}

static void
dothi_flat_layer_dispose (GObject *object)
{
  DothiFlatLayer *self = DOTHI_FLAT_LAYER (object);

  g_cancellable_cancel (self->cancellable);
  dothi_flat_layer_set_layers (self, NULL);
  G_OBJECT_CLASS (dothi_flat_layer_parent_class)->dispose (object);
}

static void
dothi_flat_layer_finalize (GObject *object)
{
  DothiFlatLayer *self = DOTHI_FLAT_LAYER (object);

  g_queue_init (&self->lru);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (dothi_flat_layer_parent_class)->finalize (object);
}

static void
dothi_flat_layer_class_init (DothiFlatLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_flat_layer_dispose;
  object_class->finalize = dothi_flat_layer_finalize;
  widget_class->snapshot = dothi_flat_layer_snapshot;
}

static void
dothi_flat_layer_init (DothiFlatLayer *self)
{
  self->layers = g_ptr_array_new_with_free_func (g_object_unref);
  self->entries = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, flat_entry_free);
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

DothiFlatLayer *
dothi_flat_layer_new (ShumateViewport *viewport)
{
  DothiFlatLayer *self = g_object_new (DOTHI_TYPE_FLAT_LAYER, "viewport", viewport, NULL);

  dothi_viewport_connect_moved (viewport, G_CALLBACK (gtk_widget_queue_draw), self);
  return self;
}

void
dothi_flat_layer_set_layers (DothiFlatLayer *self, GPtrArray *layers)
{
  g_return_if_fail (DOTHI_IS_FLAT_LAYER (self));

  for (guint i = 0; self->layers != NULL && i < self->layers->len; i++)
    dothi_tile_layer_set_cover_func (self->layers->pdata[i], NULL, NULL);
  if (self->layers != NULL)
    g_ptr_array_set_size (self->layers, 0);
  self->generation++;
  /* The links live inside the entries, which the table frees. */
  g_queue_init (&self->lru);
  if (self->entries != NULL)
    g_hash_table_remove_all (self->entries);
  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      DothiRenderLayer *render = dothi_tile_layer_get_render_layer (layers->pdata[i]);

      /* A query's highlight is drawn above every layer by its own tile
       * layer: flattened beneath them it would be hidden. */
      if (render != NULL && render->selection != NULL)
        continue;
      g_ptr_array_add (self->layers, g_object_ref (layers->pdata[i]));
      dothi_tile_layer_set_cover_func (layers->pdata[i], covers_cb, GTK_WIDGET (self));
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dothi_flat_layer_changed (DothiFlatLayer *self)
{
  g_return_if_fail (DOTHI_IS_FLAT_LAYER (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
