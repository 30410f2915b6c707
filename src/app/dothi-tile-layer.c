/* dothi-tile-layer.c: draws one project layer as 256-pixel XYZ tiles
 * rendered by the shared DothiRenderPool. Tiles are wrapped as
 * GdkMemoryTextures straight from the pool's pixels and kept in an LRU;
 * while a tile is missing its parent or children stand in for it. */
#define G_LOG_DOMAIN "dothi-tile-layer"

#include "config.h"
#include "dothi-tile-layer.h"

#include "dothi-map-transform.h"

#include <math.h>
#include <string.h>

/* The map's deepest zoom (DESIGN.md §5: 1:200 needs 22 and a margin). */
#define MAX_TILE_ZOOM 24
/* Held tiles per layer, visible or not: a 1920×1080 view needs 54, and
 * seven layers of 96 tiles of 256 KB stay under 180 MB (the app's RSS
 * budget is 300 MB). */
#define LRU_SIZE 96
/* How far up or down the pyramid a missing tile looks for a stand-in. */
#define FALLBACK_UP 8
/* Symbols drawn around a feature reach this far beyond its extent. */
#define EXTENT_MARGIN_PX 32.0

typedef struct {
  guint64       key;       /* z/x/y packed: see tile_key() */
  int           z;
  gint64        x;
  gint64        y;
  GdkTexture   *texture;   /* NULL: not in yet, or an empty tile */
  GBytes       *pixels;    /* the texture's pixels, for flattening */
  gboolean      done;      /* a picture (or "nothing here") arrived */
  gboolean      failed;
  gboolean      stale;     /* shown until its replacement arrives */
  GCancellable *pending;   /* the request in flight, or NULL */
  GList         link;      /* in the LRU; data is the entry */
} TileEntry;

typedef struct {
  GWeakRef      layer;
  guint64       key;
  GCancellable *cancellable;
} Request;

typedef struct {
  int    z;
  gint64 x0, y0, x1, y1;   /* inclusive; x1 < x0 when nothing is visible */
} TileRange;

struct _DothiTileLayer
{
  ShumateLayer      parent_instance;

  DothiRenderPool  *pool;
  DothiRenderLayer *layer;

  gboolean          layer_visible;
  double            opacity;

  gboolean          has_extent;
  double            extent[4];   /* Web Mercator */

  GHashTable       *tiles;       /* &key → TileEntry (owned) */
  GQueue            lru;         /* most recent first */
  TileRange         range;
  guint             n_pending;
  guint             generation;
  guint             update_id;
  gboolean          complete;
  gboolean          busy;
  gboolean          error_reported;

  DothiTileCoverFunc cover_func;
  GtkWidget         *cover;   /* the flat layer; drawn again with this one */
};

G_DEFINE_FINAL_TYPE (DothiTileLayer, dothi_tile_layer, SHUMATE_TYPE_LAYER)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_COMPLETE,
  N_PROPS
};

enum {
  TILES_COMPLETE,
  TILE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Map frames ------------------------------------------------------------ */

void
dothi_mercator_to_lat_lon (double mx, double my, double *lat, double *lon)
{
  *lon = mx / DOTHI_MERCATOR_HALF_WORLD * 180.0;
  *lat = (2.0 * atan (exp (my / DOTHI_MERCATOR_HALF_WORLD * G_PI)) - G_PI / 2.0)
         * 180.0 / G_PI;
}

void
dothi_lat_lon_to_mercator (double lat, double lon, double *mx, double *my)
{
  /* Web Mercator stops at ±85.0511°, where it is square. */
  lat = CLAMP (lat, -85.05112878, 85.05112878);
  *mx = lon / 180.0 * DOTHI_MERCATOR_HALF_WORLD;
  *my = log (tan ((90.0 + lat) * G_PI / 360.0)) / G_PI * DOTHI_MERCATOR_HALF_WORLD;
}

gboolean
dothi_map_frame_init (DothiMapFrame   *frame,
                      ShumateViewport *viewport,
                      GtkWidget       *widget)
{
  double lat = shumate_location_get_latitude (SHUMATE_LOCATION (viewport));
  double lon = shumate_location_get_longitude (SHUMATE_LOCATION (viewport));

  frame->zoom = shumate_viewport_get_zoom_level (viewport);
  /* The same scale as libshumate's 256-pixel tiles at a fractional zoom. */
  frame->resolution = 2.0 * DOTHI_MERCATOR_HALF_WORLD / (256.0 * exp2 (frame->zoom));
  dothi_lat_lon_to_mercator (lat, lon, &frame->cx, &frame->cy);
  frame->width = gtk_widget_get_width (widget);
  frame->height = gtk_widget_get_height (widget);
  frame->rotation = shumate_viewport_get_rotation (viewport);
  return frame->width > 0 && frame->height > 0;
}

void
dothi_map_frame_to_widget (const DothiMapFrame *frame,
                           double mx, double my,
                           double *x, double *y)
{
  double dx = (mx - frame->cx) / frame->resolution;
  double dy = (frame->cy - my) / frame->resolution;

  if (frame->rotation != 0.0)
    {
      double c = cos (frame->rotation), s = sin (frame->rotation);
      double rx = c * dx - s * dy;
      double ry = s * dx + c * dy;

      dx = rx;
      dy = ry;
    }
  *x = dx + frame->width / 2.0;
  *y = dy + frame->height / 2.0;
}

void
dothi_map_frame_to_mercator (const DothiMapFrame *frame,
                             double x, double y,
                             double *mx, double *my)
{
  double dx = x - frame->width / 2.0;
  double dy = y - frame->height / 2.0;

  if (frame->rotation != 0.0)
    {
      double c = cos (-frame->rotation), s = sin (-frame->rotation);
      double rx = c * dx - s * dy;
      double ry = s * dx + c * dy;

      dx = rx;
      dy = ry;
    }
  *mx = frame->cx + dx * frame->resolution;
  *my = frame->cy - dy * frame->resolution;
}

void
dothi_map_frame_get_bbox (const DothiMapFrame *frame,
                          double               bbox[4])
{
  double hw = frame->width / 2.0, hh = frame->height / 2.0;

  if (frame->rotation != 0.0)
    hw = hh = sqrt (hw * hw + hh * hh);
  bbox[0] = frame->cx - hw * frame->resolution;
  bbox[1] = frame->cy - hh * frame->resolution;
  bbox[2] = frame->cx + hw * frame->resolution;
  bbox[3] = frame->cy + hh * frame->resolution;
}

/* Tiles ------------------------------------------------------------------ */

/* Whatever changes this layer's picture changes the flattened one too. */
static void
queue_draw (DothiTileLayer *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->cover != NULL)
    gtk_widget_queue_draw (self->cover);
}

static inline guint64
tile_key (int z, gint64 x, gint64 y)
{
  /* x and y are below 2^24 up to zoom 24. */
  return ((guint64) z << 50) | ((guint64) x << 25) | (guint64) y;
}

static void
tile_bbox (int z, gint64 x, gint64 y, double bbox[4])
{
  double size = 2.0 * DOTHI_MERCATOR_HALF_WORLD / exp2 (z);

  bbox[0] = -DOTHI_MERCATOR_HALF_WORLD + x * size;
  bbox[2] = bbox[0] + size;
  bbox[3] = DOTHI_MERCATOR_HALF_WORLD - y * size;
  bbox[1] = bbox[3] - size;
}

static gboolean
bbox_meets (const double a[4], const double b[4])
{
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

static void
request_free (gpointer data)
{
  Request *request = data;

  g_weak_ref_clear (&request->layer);
  g_clear_object (&request->cancellable);
  g_free (request);
}

static void
tile_entry_free (gpointer data)
{
  TileEntry *entry = data;

  if (entry->pending != NULL)
    {
      g_cancellable_cancel (entry->pending);
      g_clear_object (&entry->pending);
    }
  g_clear_object (&entry->texture);
  g_clear_pointer (&entry->pixels, g_bytes_unref);
  g_free (entry);
}

static int
tile_range_for (const DothiMapFrame *frame, TileRange *range)
{
  double bbox[4];
  double size;
  gint64 n;

  range->z = CLAMP ((int) round (frame->zoom), 0, MAX_TILE_ZOOM);
  n = G_GINT64_CONSTANT (1) << range->z;
  size = 2.0 * DOTHI_MERCATOR_HALF_WORLD / n;
  dothi_map_frame_get_bbox (frame, bbox);
  range->x0 = CLAMP ((gint64) floor ((bbox[0] + DOTHI_MERCATOR_HALF_WORLD) / size), 0, n - 1);
  range->x1 = CLAMP ((gint64) floor ((bbox[2] + DOTHI_MERCATOR_HALF_WORLD) / size), 0, n - 1);
  range->y0 = CLAMP ((gint64) floor ((DOTHI_MERCATOR_HALF_WORLD - bbox[3]) / size), 0, n - 1);
  range->y1 = CLAMP ((gint64) floor ((DOTHI_MERCATOR_HALF_WORLD - bbox[1]) / size), 0, n - 1);
  return range->z;
}

static gboolean
in_range (const TileRange *range, int z, gint64 x, gint64 y)
{
  return z == range->z && x >= range->x0 && x <= range->x1
         && y >= range->y0 && y <= range->y1;
}

/* Tiles wholly outside the layer's extent, or at a zoom its style hides
 * it, are known to be empty: never asked for. */
static gboolean
outside_extent (DothiTileLayer *self, int z, gint64 x, gint64 y)
{
  double bbox[4];
  double margin;

  if (self->layer != NULL && self->layer->style->max_resolution > 0
      && dothi_mercator_resolution (z) > self->layer->style->max_resolution * 1.0001)
    return TRUE;
  if (!self->has_extent)
    return FALSE;
  tile_bbox (z, x, y, bbox);
  margin = EXTENT_MARGIN_PX * (bbox[2] - bbox[0]) / 256.0;
  bbox[0] -= margin;
  bbox[1] -= margin;
  bbox[2] += margin;
  bbox[3] += margin;
  return !bbox_meets (bbox, self->extent);
}

static void
remove_entry (DothiTileLayer *self, TileEntry *entry)
{
  if (entry->pending != NULL)
    self->n_pending--;
  g_queue_unlink (&self->lru, &entry->link);
  g_hash_table_remove (self->tiles, &entry->key);
}

static void
cancel_entry (DothiTileLayer *self, TileEntry *entry)
{
  if (entry->pending == NULL)
    return;
  g_cancellable_cancel (entry->pending);
  g_clear_object (&entry->pending);
  self->n_pending--;
}

static void
touch_entry (DothiTileLayer *self, TileEntry *entry)
{
  g_queue_unlink (&self->lru, &entry->link);
  g_queue_push_head_link (&self->lru, &entry->link);
}

static void
evict (DothiTileLayer *self)
{
  while (self->lru.length > LRU_SIZE)
    {
      TileEntry *entry = self->lru.tail->data;

      if (in_range (&self->range, entry->z, entry->x, entry->y))
        break;
      remove_entry (self, entry);
    }
}

static gboolean
compute_complete (DothiTileLayer *self)
{
  if (!self->layer_visible || self->opacity <= 0.0 || self->range.x1 < self->range.x0)
    return TRUE;

  for (gint64 y = self->range.y0; y <= self->range.y1; y++)
    for (gint64 x = self->range.x0; x <= self->range.x1; x++)
      {
        guint64 key = tile_key (self->range.z, x, y);
        TileEntry *entry = g_hash_table_lookup (self->tiles, &key);

        if (entry == NULL)
          {
            if (!outside_extent (self, self->range.z, x, y))
              return FALSE;
            continue;
          }
        if (entry->failed)
          continue;
        if (!entry->done || entry->stale || entry->pending != NULL)
          return FALSE;
      }
  return TRUE;
}

/* Updates "busy" and "complete"; "tiles-complete" follows every update
 * that ends complete, so the map hears of viewports the cache served. */
static void
update_state (DothiTileLayer *self)
{
  gboolean busy = self->n_pending > 0;
  gboolean complete = compute_complete (self);

  if (self->busy != busy)
    {
      self->busy = busy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  if (self->complete != complete)
    {
      self->complete = complete;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
    }
  if (complete)
    g_signal_emit (self, signals[TILES_COMPLETE], 0);
}

static void
tile_ready_cb (DothiRenderPool *pool,
               DothiTile       *tile,
               const GError    *error,
               gpointer         user_data)
{
  Request *request = user_data;
  g_autoptr(DothiTileLayer) self = g_weak_ref_get (&request->layer);
  TileEntry *entry;

  if (self == NULL || g_cancellable_is_cancelled (request->cancellable))
    return;
  entry = g_hash_table_lookup (self->tiles, &request->key);
  /* A newer request or an invalidation replaced this one. */
  if (entry == NULL || entry->pending != request->cancellable)
    return;

  g_clear_object (&entry->pending);
  self->n_pending--;

  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          if (!entry->done)
            remove_entry (self, entry);
        }
      else
        {
          entry->failed = TRUE;
          if (!self->error_reported)
            {
              self->error_reported = TRUE;
              g_signal_emit (self, signals[TILE_FAILED], 0, error);
            }
        }
    }
  else
    {
      g_clear_object (&entry->texture);
      g_clear_pointer (&entry->pixels, g_bytes_unref);
      if (tile != NULL && tile->pixels != NULL)
        {
          entry->texture = gdk_memory_texture_new (tile->width, tile->height,
                                                   GDK_MEMORY_DEFAULT,
                                                   tile->pixels, tile->stride);
          entry->pixels = g_bytes_ref (tile->pixels);
        }
      entry->done = TRUE;
      entry->stale = FALSE;
      entry->failed = FALSE;
      queue_draw (self);
    }
  update_state (self);
}

static void
request_tile (DothiTileLayer *self, TileEntry *entry, double scale)
{
  Request *request;
  DothiBlock block = { 0 };
  int size = (int) round (256 * scale);

  /* At resolution(z) / scale and size 256·scale a block is still XYZ tile
   * (x, y), with scale² as many pixels: crisp on HiDPI screens. */
  block.resolution = dothi_mercator_resolution (entry->z) * 256.0 / size;
  block.x = entry->x;
  block.y = entry->y;
  block.size = size;

  entry->pending = g_cancellable_new ();
  self->n_pending++;
  request = g_new0 (Request, 1);
  g_weak_ref_init (&request->layer, self);
  request->key = entry->key;
  request->cancellable = g_object_ref (entry->pending);
  dothi_render_pool_request (self->pool, self->layer, &block, (double) size / 256.0,
                             self->generation, entry->pending,
                             tile_ready_cb, request, request_free);
}

static void
update_grid (DothiTileLayer *self)
{
  DothiMapFrame frame;
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  GHashTableIter iter;
  gpointer value;
  double scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  GPtrArray *gone;

  if (!dothi_map_frame_init (&frame, viewport, GTK_WIDGET (self))
      || !self->layer_visible || self->opacity <= 0.0)
    {
      self->range.z = -1;
      self->range.x0 = 0;
      self->range.x1 = -1;
    }
  else
    tile_range_for (&frame, &self->range);

  /* Newer viewports are drawn first (the pool orders by generation). */
  self->generation++;

  /* Tiles that left the view stop being drawn. */
  gone = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->tiles);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      TileEntry *entry = value;

      if (entry->pending != NULL
          && !in_range (&self->range, entry->z, entry->x, entry->y))
        {
          cancel_entry (self, entry);
          if (!entry->done)
            g_ptr_array_add (gone, entry);
        }
    }
  for (guint i = 0; i < gone->len; i++)
    remove_entry (self, gone->pdata[i]);
  g_ptr_array_unref (gone);

  for (gint64 y = self->range.y0; y <= self->range.y1 && self->range.x1 >= self->range.x0; y++)
    for (gint64 x = self->range.x0; x <= self->range.x1; x++)
      {
        guint64 key = tile_key (self->range.z, x, y);
        TileEntry *entry = g_hash_table_lookup (self->tiles, &key);

        if (entry == NULL)
          {
            if (outside_extent (self, self->range.z, x, y))
              continue;
            entry = g_new0 (TileEntry, 1);
            entry->key = key;
            entry->z = self->range.z;
            entry->x = x;
            entry->y = y;
            entry->link.data = entry;
            g_hash_table_insert (self->tiles, &entry->key, entry);
            g_queue_push_head_link (&self->lru, &entry->link);
          }
        else
          touch_entry (self, entry);

        if ((!entry->done || entry->stale) && entry->pending == NULL && !entry->failed)
          request_tile (self, entry, scale);
      }

  evict (self);
  update_state (self);
}

static gboolean
update_grid_cb (gpointer user_data)
{
  DothiTileLayer *self = user_data;

  self->update_id = 0;
  update_grid (self);
  return G_SOURCE_REMOVE;
}

static void
queue_update (DothiTileLayer *self)
{
  /* Coalesces the notifies of one viewport change (latitude, longitude,
   * zoom come one by one) and runs before the next frame is laid out. */
  if (self->update_id == 0)
    self->update_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, update_grid_cb, self, NULL);
  queue_draw (self);
}

static void
viewport_changed_cb (DothiTileLayer *self)
{
  queue_update (self);
}

/* Drawing ---------------------------------------------------------------- */

void
dothi_map_frame_tile_rect (const DothiMapFrame *frame,
                           double               scale,
                           int z, gint64 x, gint64 y,
                           graphene_rect_t     *rect)
{
  double bbox[4];
  double x0, y0, x1, y1;

  tile_bbox (z, x, y, bbox);
  x0 = (bbox[0] - frame->cx) / frame->resolution + frame->width / 2.0;
  x1 = (bbox[2] - frame->cx) / frame->resolution + frame->width / 2.0;
  y0 = (frame->cy - bbox[3]) / frame->resolution + frame->height / 2.0;
  y1 = (frame->cy - bbox[1]) / frame->resolution + frame->height / 2.0;
  /* Edges on device pixels: neighbours meet without a seam. */
  x0 = round (x0 * scale) / scale;
  x1 = round (x1 * scale) / scale;
  y0 = round (y0 * scale) / scale;
  y1 = round (y1 * scale) / scale;
  graphene_rect_init (rect, x0, y0, x1 - x0, y1 - y0);
}

static TileEntry *
lookup (DothiTileLayer *self, int z, gint64 x, gint64 y)
{
  guint64 key = tile_key (z, x, y);

  return g_hash_table_lookup (self->tiles, &key);
}

/* Draws what the held tiles of other zooms know of tile (z, x, y). */
static void
draw_stand_in (DothiTileLayer      *self,
               GtkSnapshot         *snapshot,
               const DothiMapFrame *frame,
               double               scale,
               int z, gint64 x, gint64 y,
               const graphene_rect_t *rect)
{
  /* A parent, cropped to this tile. */
  for (int up = 1; up <= FALLBACK_UP && up <= z; up++)
    {
      TileEntry *parent = lookup (self, z - up, x >> up, y >> up);
      graphene_rect_t parent_rect;

      if (parent == NULL || !parent->done)
        continue;
      if (parent->texture == NULL)
        return;   /* an empty parent: nothing here */
      dothi_map_frame_tile_rect (frame, scale, z - up, x >> up, y >> up, &parent_rect);
      gtk_snapshot_push_clip (snapshot, rect);
      gtk_snapshot_append_texture (snapshot, parent->texture, &parent_rect);
      gtk_snapshot_pop (snapshot);
      break;
    }

  /* Children drawn over it: sharper, when the user zoomed out. */
  if (z < MAX_TILE_ZOOM)
    for (int i = 0; i < 4; i++)
      {
        gint64 cx = 2 * x + (i & 1), cy = 2 * y + (i >> 1);
        TileEntry *child = lookup (self, z + 1, cx, cy);
        graphene_rect_t child_rect;

        if (child == NULL || child->texture == NULL)
          continue;
        dothi_map_frame_tile_rect (frame, scale, z + 1, cx, cy, &child_rect);
        gtk_snapshot_append_texture (snapshot, child->texture, &child_rect);
      }
}

static void
dothi_tile_layer_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  DothiTileLayer *self = DOTHI_TILE_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  double scale = gtk_widget_get_scale_factor (widget);
  DothiMapFrame frame;
  TileRange range;

  if (!self->layer_visible || self->opacity <= 0.0
      || !dothi_map_frame_init (&frame, viewport, widget))
    return;
  tile_range_for (&frame, &range);

  if (self->opacity < 1.0)
    gtk_snapshot_push_opacity (snapshot, self->opacity);
  gtk_snapshot_save (snapshot);
  if (frame.rotation != 0.0)
    {
      graphene_point_t centre = GRAPHENE_POINT_INIT (frame.width / 2.0, frame.height / 2.0);
      graphene_point_t back = GRAPHENE_POINT_INIT (-frame.width / 2.0, -frame.height / 2.0);

      gtk_snapshot_translate (snapshot, &centre);
      gtk_snapshot_rotate (snapshot, frame.rotation * 180.0 / G_PI);
      gtk_snapshot_translate (snapshot, &back);
    }

  for (gint64 y = range.y0; y <= range.y1; y++)
    for (gint64 x = range.x0; x <= range.x1; x++)
      {
        TileEntry *entry = lookup (self, range.z, x, y);
        graphene_rect_t rect;

        if (entry != NULL && entry->done && entry->texture == NULL)
          continue;   /* drawn, and empty */
        /* The flattened map below already shows this tile. */
        if (self->cover_func != NULL && self->cover_func (range.z, x, y, self->cover))
          continue;
        if (entry == NULL && outside_extent (self, range.z, x, y))
          continue;
        dothi_map_frame_tile_rect (&frame, scale, range.z, x, y, &rect);
        if (entry != NULL && entry->texture != NULL)
          gtk_snapshot_append_texture (snapshot, entry->texture, &rect);
        else
          draw_stand_in (self, snapshot, &frame, scale, range.z, x, y, &rect);
      }

  gtk_snapshot_restore (snapshot);
  if (self->opacity < 1.0)
    gtk_snapshot_pop (snapshot);
}

static void
dothi_tile_layer_size_allocate (GtkWidget *widget,
                                int        width,
                                int        height,
                                int        baseline)
{
  queue_update (DOTHI_TILE_LAYER (widget));
}

static void
scale_factor_changed_cb (DothiTileLayer *self)
{
  /* Old tiles have the wrong pixel density but the right place. */
  dothi_tile_layer_invalidate_bbox (self, NULL);
}

/* GObject ---------------------------------------------------------------- */

static void
dothi_tile_layer_constructed (GObject *object)
{
  DothiTileLayer *self = DOTHI_TILE_LAYER (object);
  ShumateViewport *viewport;

  G_OBJECT_CLASS (dothi_tile_layer_parent_class)->constructed (object);

  viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  dothi_viewport_connect_moved (viewport, G_CALLBACK (viewport_changed_cb), self);
  g_signal_connect (self, "notify::scale-factor",
                    G_CALLBACK (scale_factor_changed_cb), NULL);
}

static void
dothi_tile_layer_dispose (GObject *object)
{
  DothiTileLayer *self = DOTHI_TILE_LAYER (object);

  g_clear_handle_id (&self->update_id, g_source_remove);
  /* Freeing the entries cancels their requests. */
  if (self->tiles != NULL)
    g_hash_table_remove_all (self->tiles);
  g_queue_init (&self->lru);
  self->n_pending = 0;
  g_clear_object (&self->pool);
  g_clear_pointer (&self->layer, dothi_render_layer_unref);

  G_OBJECT_CLASS (dothi_tile_layer_parent_class)->dispose (object);
}

static void
dothi_tile_layer_finalize (GObject *object)
{
  DothiTileLayer *self = DOTHI_TILE_LAYER (object);

  g_clear_pointer (&self->tiles, g_hash_table_unref);

  G_OBJECT_CLASS (dothi_tile_layer_parent_class)->finalize (object);
}

static void
dothi_tile_layer_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  DothiTileLayer *self = DOTHI_TILE_LAYER (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_COMPLETE:
      g_value_set_boolean (value, self->complete);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_tile_layer_class_init (DothiTileLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = dothi_tile_layer_constructed;
  object_class->dispose = dothi_tile_layer_dispose;
  object_class->finalize = dothi_tile_layer_finalize;
  object_class->get_property = dothi_tile_layer_get_property;

  widget_class->snapshot = dothi_tile_layer_snapshot;
  widget_class->size_allocate = dothi_tile_layer_size_allocate;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPLETE] =
    g_param_spec_boolean ("complete", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[TILES_COMPLETE] =
    g_signal_new ("tiles-complete", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[TILE_FAILED] =
    g_signal_new ("tile-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
dothi_tile_layer_init (DothiTileLayer *self)
{
  self->tiles = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, tile_entry_free);
  g_queue_init (&self->lru);
  self->range.x1 = -1;
  self->layer_visible = TRUE;
  self->opacity = 1.0;
  /* Clicks and motion belong to the map under it. */
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

/* Public API ------------------------------------------------------------- */

DothiTileLayer *
dothi_tile_layer_new (ShumateViewport  *viewport,
                      DothiRenderPool  *pool,
                      DothiRenderLayer *layer)
{
  DothiTileLayer *self;

  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  g_return_val_if_fail (DOTHI_IS_RENDER_POOL (pool), NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_TILE_LAYER, "viewport", viewport, NULL);
  self->pool = g_object_ref (pool);
  self->layer = dothi_render_layer_ref (layer);
  self->layer_visible = layer->visible;
  self->opacity = CLAMP (layer->opacity, 0.0, 1.0);
  return self;
}

const char *
dothi_tile_layer_get_name (DothiTileLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), NULL);
  return self->layer ? self->layer->name : NULL;
}

DothiRenderLayer *
dothi_tile_layer_get_render_layer (DothiTileLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), NULL);
  return self->layer;
}

void
dothi_tile_layer_set_render_layer (DothiTileLayer   *self,
                                   DothiRenderLayer *layer)
{
  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));
  g_return_if_fail (layer != NULL);

  if (self->layer == layer)
    return;
  g_clear_pointer (&self->layer, dothi_render_layer_unref);
  self->layer = dothi_render_layer_ref (layer);
  self->layer_visible = layer->visible;
  self->opacity = CLAMP (layer->opacity, 0.0, 1.0);
  dothi_tile_layer_invalidate_bbox (self, NULL);
}

void
dothi_tile_layer_set_extent (DothiTileLayer *self,
                             const double   *merc_bbox)
{
  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));

  self->has_extent = merc_bbox != NULL;
  if (merc_bbox != NULL)
    memcpy (self->extent, merc_bbox, sizeof self->extent);
  queue_update (self);
}

void
dothi_tile_layer_set_layer_visible (DothiTileLayer *self,
                                    gboolean        visible)
{
  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));

  if (self->layer_visible == !!visible)
    return;
  self->layer_visible = !!visible;
  queue_update (self);
}

gboolean
dothi_tile_layer_get_layer_visible (DothiTileLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), FALSE);
  return self->layer_visible;
}

void
dothi_tile_layer_set_opacity (DothiTileLayer *self,
                              double          opacity)
{
  gboolean was_drawn;

  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));

  opacity = CLAMP (opacity, 0.0, 1.0);
  if (self->opacity == opacity)
    return;
  was_drawn = self->opacity > 0.0;
  self->opacity = opacity;
  if (was_drawn != (opacity > 0.0))
    queue_update (self);
  else
    queue_draw (self);
}

double
dothi_tile_layer_get_opacity (DothiTileLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), 0.0);
  return self->opacity;
}

void
dothi_tile_layer_invalidate_bbox (DothiTileLayer *self,
                                  const double   *merc_bbox)
{
  GHashTableIter iter;
  gpointer value;
  GPtrArray *gone;

  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));

  gone = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->tiles);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      TileEntry *entry = value;
      double bbox[4];

      tile_bbox (entry->z, entry->x, entry->y, bbox);
      if (merc_bbox != NULL && !bbox_meets (bbox, merc_bbox))
        continue;
      /* A request in flight may have read the old rows. */
      cancel_entry (self, entry);
      entry->failed = FALSE;
      if (in_range (&self->range, entry->z, entry->x, entry->y) && entry->done)
        entry->stale = TRUE;
      else
        g_ptr_array_add (gone, entry);
    }
  for (guint i = 0; i < gone->len; i++)
    remove_entry (self, gone->pdata[i]);
  g_ptr_array_unref (gone);

  self->error_reported = FALSE;
  queue_update (self);
}

gboolean
dothi_tile_layer_get_busy (DothiTileLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), FALSE);
  return self->busy;
}

gboolean
dothi_tile_layer_get_complete (DothiTileLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), FALSE);
  /* A viewport change not yet looked at is not complete. */
  return self->update_id == 0 && self->complete;
}

gboolean
dothi_tile_layer_peek (DothiTileLayer *self, int z, gint64 x, gint64 y, GBytes **pixels)
{
  TileEntry *entry;

  g_return_val_if_fail (DOTHI_IS_TILE_LAYER (self), FALSE);
  *pixels = NULL;
  entry = lookup (self, z, x, y);
  if (entry == NULL)
    return outside_extent (self, z, x, y);   /* known empty */
  if (!entry->done || entry->stale || entry->failed)
    return FALSE;
  *pixels = entry->pixels;
  return TRUE;
}

void
dothi_tile_layer_set_cover_func (DothiTileLayer     *self,
                                 DothiTileCoverFunc  func,
                                 GtkWidget          *cover)
{
  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));
  self->cover_func = func;
  self->cover = cover;
  queue_draw (self);
}

int
dothi_map_frame_tile_range (const DothiMapFrame *frame,
                            gint64 *x0, gint64 *y0, gint64 *x1, gint64 *y1)
{
  TileRange range;

  tile_range_for (frame, &range);
  *x0 = range.x0;
  *y0 = range.y0;
  *x1 = range.x1;
  *y1 = range.y1;
  return range.z;
}

void
dothi_tile_layer_update_now (DothiTileLayer *self)
{
  g_return_if_fail (DOTHI_IS_TILE_LAYER (self));
  g_clear_handle_id (&self->update_id, g_source_remove);
  update_grid (self);
}

void
dothi_viewport_connect_moved (ShumateViewport *viewport,
                              GCallback        callback,
                              gpointer         object)
{
  static const char * const moves[] = {
    "notify::latitude", "notify::longitude", "notify::zoom-level", "notify::rotation",
  };

  for (guint i = 0; i < G_N_ELEMENTS (moves); i++)
    g_signal_connect_object (viewport, moves[i], callback, object, G_CONNECT_SWAPPED);
}
