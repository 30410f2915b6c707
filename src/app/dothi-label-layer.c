/* dothi-label-layer.c: labels placed in widget space once the viewport
 * settles (greedy by priority, no overlaps), kept in Web Mercator so they
 * follow pans at once, plus the amber outline of the highlighted feature. */
#define G_LOG_DOMAIN "dothi-label-layer"

#include "config.h"
#include "dothi-label-layer.h"

#include "dothi-map-transform.h"
#include "dothi-tile-layer.h"

#include <math.h>
#include <pango/pangocairo.h>

/* Quiet time after the last viewport change before labels are asked for. */
#define SETTLE_MS 100
/* Candidates per layer, and labels on screen at once. */
#define LABEL_LIMIT 400
#define MAX_PLACED 300
/* White halo around the text, logical pixels. */
#define HALO 2.0
/* Room kept free around each label. */
#define LABEL_GAP 3.0
#define TEXT_CACHE_SIZE 4096

typedef struct {
  double      width, height;   /* logical pixels, halo included */
  double      ink_dx;          /* where the text starts inside */
  GdkTexture *texture;         /* made when first placed */
} LabelImage;

typedef struct {
  double      mx, my;          /* anchor, Web Mercator */
  double      dx, dy;          /* top-left of the image from the anchor */
  LabelImage *image;           /* borrowed from the text cache */
} PlacedLabel;

typedef struct {
  GWeakRef      layer;
  GCancellable *cancellable;
  DothiMapFrame frame;
  guint         n_waiting;
  GPtrArray    *layers;    /* DothiRenderLayer*, in the order asked */
  GPtrArray    *results;   /* per layer: GPtrArray of DothiLabel*, or NULL */
} LabelBatch;

typedef struct {
  DothiLabelLayer *self;
  LabelBatch      *batch;
  guint            index;
} LabelQuery;

struct _DothiLabelLayer
{
  ShumateLayer           parent_instance;

  DothiRenderPool       *pool;
  GPtrArray             *layers;        /* DothiRenderLayer*, bottom first */
  GHashTable            *shown;         /* table name → visible, overriding
                                         * the registry until set_layers */

  guint                  settle_id;
  GCancellable          *labels_cancellable;
  LabelBatch            *batch;         /* the batch being collected */

  GArray                *placed;        /* PlacedLabel */
  double                 placed_zoom;
  double                 placed_rotation;
  GHashTable            *images;        /* text → LabelImage */
  PangoFontDescription  *font;

  gboolean               error_reported;  /* once until labels come again */

  GCancellable          *outline_cancellable;
  GPtrArray             *outline;       /* GArray of (x, y) pairs, Web Mercator */
};

G_DEFINE_FINAL_TYPE (DothiLabelLayer, dothi_label_layer, SHUMATE_TYPE_LAYER)

enum {
  LABELS_PLACED,
  ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
label_image_free (gpointer data)
{
  LabelImage *image = data;

  g_clear_object (&image->texture);
  g_free (image);
}

static void
labels_unref (gpointer labels)
{
  if (labels != NULL)
    g_ptr_array_unref (labels);
}

static void
label_batch_free (LabelBatch *batch)
{
  g_weak_ref_clear (&batch->layer);
  g_clear_object (&batch->cancellable);
  g_clear_pointer (&batch->layers, g_ptr_array_unref);
  g_clear_pointer (&batch->results, g_ptr_array_unref);
  g_free (batch);
}

static gboolean
layer_is_labelled (DothiLabelLayer        *self,
                   const DothiRenderLayer *layer,
                   double                  resolution)
{
  gpointer shown;
  gboolean visible = layer->visible;

  if (g_hash_table_lookup_extended (self->shown, layer->name, NULL, &shown))
    visible = GPOINTER_TO_INT (shown);
  return visible
         && layer->style != NULL
         && layer->style->label_field != NULL
         && layer->style->label_field[0] != '\0'
         && (layer->style->label_max_resolution <= 0.0
             || resolution <= layer->style->label_max_resolution);
}

/* Measures @text once per text (and scale); the image is drawn only when a
 * label with that text is first placed. */
static LabelImage *
lookup_image (DothiLabelLayer *self,
              const char      *text)
{
  LabelImage *image = g_hash_table_lookup (self->images, text);
  g_autoptr(PangoLayout) layout = NULL;
  PangoRectangle ink, logical;

  if (image != NULL)
    return image;
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  pango_layout_set_font_description (layout, self->font);
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  image = g_new0 (LabelImage, 1);
  image->width = logical.width + 2 * HALO;
  image->height = logical.height + 2 * HALO;
  image->ink_dx = HALO - logical.x;
  g_hash_table_insert (self->images, g_strdup (text), image);
  return image;
}

static void
draw_image (DothiLabelLayer *self,
            const char      *text,
            LabelImage      *image)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  int width = (int) ceil (image->width * scale);
  int height = (int) ceil (image->height * scale);
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  cairo_surface_t *surface;
  cairo_t *cr;
  GBytes *bytes;

  pango_layout_set_font_description (layout, self->font);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_surface_set_device_scale (surface, scale, scale);
  cr = cairo_create (surface);
  cairo_move_to (cr, image->ink_dx, HALO);
  pango_cairo_layout_path (cr, layout);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_width (cr, 2 * HALO);
  cairo_set_source_rgba (cr, 1.0, 1.0, 1.0, 0.92);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, 0.13, 0.13, 0.13);
  cairo_fill (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);

  /* ARGB32 premultiplied in native order is GDK_MEMORY_DEFAULT. */
  bytes = g_bytes_new (cairo_image_surface_get_data (surface),
                       (gsize) cairo_image_surface_get_stride (surface) * height);
  image->texture = gdk_memory_texture_new (width, height, GDK_MEMORY_DEFAULT, bytes,
                                           cairo_image_surface_get_stride (surface));
  g_bytes_unref (bytes);
  cairo_surface_destroy (surface);
}

typedef struct {
  const DothiLabel *label;
  guint             layer_index;
  gboolean          is_point;
  double            offset;      /* points: right of the marker */
} Candidate;

static int
compare_candidates (gconstpointer a, gconstpointer b)
{
  const Candidate *ca = a, *cb = b;

  if (ca->label->priority != cb->label->priority)
    return ca->label->priority > cb->label->priority ? -1 : 1;
  /* Upper layers first on a tie. */
  return (int) cb->layer_index - (int) ca->layer_index;
}

static gboolean
rects_meet (const graphene_rect_t *a, const graphene_rect_t *b)
{
  return a->origin.x < b->origin.x + b->size.width
         && b->origin.x < a->origin.x + a->size.width
         && a->origin.y < b->origin.y + b->size.height
         && b->origin.y < a->origin.y + a->size.height;
}

static void
place_labels (DothiLabelLayer *self,
              LabelBatch      *batch)
{
  const DothiMapFrame *frame = &batch->frame;
  g_autoptr(GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (graphene_rect_t));

  g_array_set_size (self->placed, 0);
  /* Placed labels borrow their images: forget old texts only here. */
  if (g_hash_table_size (self->images) > TEXT_CACHE_SIZE)
    g_hash_table_remove_all (self->images);

  for (guint i = 0; i < batch->results->len; i++)
    {
      GPtrArray *labels = batch->results->pdata[i];
      const DothiRenderLayer *layer = batch->layers->pdata[i];
      gboolean is_point = layer->kind == DOTHI_GEOMETRY_KIND_MULTIPOINT;
      double offset = 0.0;

      if (labels == NULL)
        continue;
      if (is_point && layer->style != NULL)
        offset = layer->style->other.marker_size / 2.0 + 2.0;
      for (guint j = 0; j < labels->len; j++)
        {
          Candidate c = { labels->pdata[j], i, is_point, offset };

          if (c.label->text != NULL && c.label->text[0] != '\0')
            g_array_append_val (candidates, c);
        }
    }
  g_array_sort (candidates, compare_candidates);

  for (guint i = 0; i < candidates->len && self->placed->len < MAX_PLACED; i++)
    {
      const Candidate *c = &g_array_index (candidates, Candidate, i);
      LabelImage *image = lookup_image (self, c->label->text);
      PlacedLabel placed;
      graphene_rect_t box;
      double x, y;
      gboolean free_spot = TRUE;

      dothi_map_frame_to_widget (frame, c->label->mx, c->label->my, &x, &y);
      placed.mx = c->label->mx;
      placed.my = c->label->my;
      placed.dx = c->is_point ? c->offset : -image->width / 2.0;
      placed.dy = -image->height / 2.0;
      placed.image = image;

      graphene_rect_init (&box, x + placed.dx - LABEL_GAP, y + placed.dy - LABEL_GAP,
                          image->width + 2 * LABEL_GAP, image->height + 2 * LABEL_GAP);
      /* Whole labels only: never cut at the widget's edge either. */
      if (box.origin.x < 0 || box.origin.y < 0
          || box.origin.x + box.size.width > frame->width
          || box.origin.y + box.size.height > frame->height)
        continue;
      for (guint k = 0; k < boxes->len && free_spot; k++)
        free_spot = !rects_meet (&box, &g_array_index (boxes, graphene_rect_t, k));
      if (!free_spot)
        continue;

      if (image->texture == NULL)
        draw_image (self, c->label->text, image);
      g_array_append_val (boxes, box);
      g_array_append_val (self->placed, placed);
    }

  self->error_reported = FALSE;
  self->placed_zoom = frame->zoom;
  self->placed_rotation = frame->rotation;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[LABELS_PLACED], 0);
}

static void
labels_ready_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  LabelQuery *query = user_data;
  LabelBatch *batch = query->batch;
  guint index = query->index;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) labels = NULL;
  g_autoptr(DothiLabelLayer) self = NULL;

  g_free (query);
  labels = dothi_render_pool_labels_finish (DOTHI_RENDER_POOL (source), result, &error);
  self = g_weak_ref_get (&batch->layer);

  if (labels != NULL)
    g_ptr_array_index (batch->results, index) = g_steal_pointer (&labels);
  else if (self != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
           && !g_cancellable_is_cancelled (batch->cancellable) && !self->error_reported)
    {
      self->error_reported = TRUE;
      g_signal_emit (self, signals[ERROR], 0, error);
    }

  if (--batch->n_waiting > 0)
    return;

  if (self != NULL && self->batch == batch)
    {
      self->batch = NULL;
      if (!g_cancellable_is_cancelled (batch->cancellable))
        place_labels (self, batch);
    }
  label_batch_free (batch);
}

static void
request_labels (DothiLabelLayer *self)
{
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  LabelBatch *batch;
  double bbox[4];

  if (self->labels_cancellable != NULL)
    g_cancellable_cancel (self->labels_cancellable);
  g_clear_object (&self->labels_cancellable);
  /* A batch still collecting belongs to the old viewport: it frees itself
   * when its last answer comes in. */
  self->batch = NULL;

  batch = g_new0 (LabelBatch, 1);
  g_weak_ref_init (&batch->layer, self);
  batch->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
  batch->results = g_ptr_array_new_with_free_func (labels_unref);

  if (self->pool == NULL || self->layers == NULL
      || !dothi_map_frame_init (&batch->frame, viewport, GTK_WIDGET (self)))
    {
      g_array_set_size (self->placed, 0);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      label_batch_free (batch);
      return;
    }

  for (guint i = 0; i < self->layers->len; i++)
    {
      DothiRenderLayer *layer = self->layers->pdata[i];

      if (layer_is_labelled (self, layer, batch->frame.resolution))
        {
          g_ptr_array_add (batch->layers, dothi_render_layer_ref (layer));
          g_ptr_array_add (batch->results, NULL);
        }
    }
  if (batch->layers->len == 0)
    {
      place_labels (self, batch);
      label_batch_free (batch);
      return;
    }

  self->labels_cancellable = g_cancellable_new ();
  batch->cancellable = g_object_ref (self->labels_cancellable);
  batch->n_waiting = batch->layers->len;
  self->batch = batch;
  dothi_map_frame_get_bbox (&batch->frame, bbox);
  for (guint i = 0; i < batch->layers->len; i++)
    {
      LabelQuery *query = g_new0 (LabelQuery, 1);

      query->batch = batch;
      query->index = i;
      dothi_render_pool_labels_async (self->pool, batch->layers->pdata[i], bbox,
                                      batch->frame.resolution, LABEL_LIMIT,
                                      batch->cancellable, labels_ready_cb, query);
    }
}

static gboolean
settle_cb (gpointer user_data)
{
  DothiLabelLayer *self = user_data;

  self->settle_id = 0;
  request_labels (self);
  return G_SOURCE_REMOVE;
}

static void
queue_labels (DothiLabelLayer *self)
{
  g_clear_handle_id (&self->settle_id, g_source_remove);
  self->settle_id = g_timeout_add (SETTLE_MS, settle_cb, self);
}

static void
viewport_changed_cb (DothiLabelLayer *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  queue_labels (self);
}

/* Highlight -------------------------------------------------------------- */

static void
outline_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(DothiLabelLayer) self = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *outline;

  outline = dothi_render_pool_outline_finish (DOTHI_RENDER_POOL (source), result, &error);
  if (outline == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[ERROR], 0, error);
      return;
    }
  g_clear_pointer (&self->outline, g_ptr_array_unref);
  self->outline = outline;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Widget coordinates of one outline part, and whether it is a ring. */
static GArray *
part_to_widget (const DothiMapFrame *frame,
                GArray              *part,
                gboolean            *closed)
{
  /* Pairs of doubles, stored as doubles or as two-double elements. */
  guint n = g_array_get_element_size (part) >= 2 * sizeof (double) ? part->len : part->len / 2;
  GArray *points = g_array_sized_new (FALSE, FALSE, sizeof (graphene_point_t), n);
  const double *xy = (const double *) part->data;

  for (guint i = 0; i < n; i++)
    {
      double x, y;
      graphene_point_t p;

      dothi_map_frame_to_widget (frame, xy[2 * i], xy[2 * i + 1], &x, &y);
      p.x = x;
      p.y = y;
      g_array_append_val (points, p);
    }
  *closed = n > 2 && xy[0] == xy[2 * (n - 1)] && xy[1] == xy[2 * (n - 1) + 1];
  return points;
}

static void
snapshot_outline (DothiLabelLayer     *self,
                  GtkSnapshot         *snapshot,
                  const DothiMapFrame *frame)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr(GArray) closed = g_array_new (FALSE, FALSE, sizeof (gboolean));
  double minx = G_MAXDOUBLE, miny = G_MAXDOUBLE, maxx = -G_MAXDOUBLE, maxy = -G_MAXDOUBLE;
  graphene_rect_t bounds;
  cairo_t *cr;

  for (guint i = 0; i < self->outline->len; i++)
    {
      gboolean ring;
      GArray *points = part_to_widget (frame, self->outline->pdata[i], &ring);

      for (guint j = 0; j < points->len; j++)
        {
          const graphene_point_t *p = &g_array_index (points, graphene_point_t, j);

          minx = MIN (minx, p->x);
          miny = MIN (miny, p->y);
          maxx = MAX (maxx, p->x);
          maxy = MAX (maxy, p->y);
        }
      g_ptr_array_add (parts, points);
      g_array_append_val (closed, ring);
    }
  if (minx > maxx)
    return;

  /* Only the part on screen: a parcel seen at 1:200 can be huge. */
  minx = MAX (minx - 12.0, 0.0);
  miny = MAX (miny - 12.0, 0.0);
  maxx = MIN (maxx + 12.0, frame->width);
  maxy = MIN (maxy + 12.0, frame->height);
  if (minx >= maxx || miny >= maxy)
    return;
  graphene_rect_init (&bounds, minx, miny, maxx - minx, maxy - miny);

  cr = gtk_snapshot_append_cairo (snapshot, &bounds);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (int pass = 0; pass < 2; pass++)
    {
      for (guint i = 0; i < parts->len; i++)
        {
          GArray *points = parts->pdata[i];
          const graphene_point_t *p = (const graphene_point_t *) points->data;

          if (points->len == 1)
            {
              cairo_new_sub_path (cr);
              cairo_arc (cr, p[0].x, p[0].y, 9.0, 0, 2 * G_PI);
              continue;
            }
          cairo_move_to (cr, p[0].x, p[0].y);
          for (guint j = 1; j < points->len; j++)
            cairo_line_to (cr, p[j].x, p[j].y);
          if (g_array_index (closed, gboolean, i))
            cairo_close_path (cr);
        }
      if (pass == 0)
        {
          /* A dark halo keeps the amber visible on yellow land use. */
          cairo_set_source_rgba (cr, 0.1, 0.1, 0.1, 0.65);
          cairo_set_line_width (cr, 6.5);
        }
      else
        {
          cairo_set_source_rgb (cr, 1.0, 0.70, 0.0);
          cairo_set_line_width (cr, 3.5);
        }
      cairo_stroke (cr);
    }
  cairo_destroy (cr);
}

/* Widget ----------------------------------------------------------------- */

static void
dothi_label_layer_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  DothiLabelLayer *self = DOTHI_LABEL_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  double scale = gtk_widget_get_scale_factor (widget);
  DothiMapFrame frame;

  if (!dothi_map_frame_init (&frame, viewport, widget))
    return;

  if (self->outline != NULL)
    snapshot_outline (self, snapshot, &frame);

  /* Placed for another zoom they would overlap or drift apart: they come
   * back when the viewport settles. */
  if (fabs (frame.zoom - self->placed_zoom) > 1e-6
      || fabs (frame.rotation - self->placed_rotation) > 1e-6)
    return;

  for (guint i = 0; i < self->placed->len; i++)
    {
      const PlacedLabel *label = &g_array_index (self->placed, PlacedLabel, i);
      graphene_rect_t rect;
      double x, y;

      if (label->image->texture == NULL)
        continue;
      dothi_map_frame_to_widget (&frame, label->mx, label->my, &x, &y);
      x = round ((x + label->dx) * scale) / scale;
      y = round ((y + label->dy) * scale) / scale;
      if (x > frame.width || y > frame.height
          || x + label->image->width < 0 || y + label->image->height < 0)
        continue;
      graphene_rect_init (&rect, x, y,
                          gdk_texture_get_width (label->image->texture) / scale,
                          gdk_texture_get_height (label->image->texture) / scale);
      gtk_snapshot_append_texture (snapshot, label->image->texture, &rect);
    }
}

static void
dothi_label_layer_size_allocate (GtkWidget *widget,
                                 int        width,
                                 int        height,
                                 int        baseline)
{
  queue_labels (DOTHI_LABEL_LAYER (widget));
}

static void
scale_factor_changed_cb (DothiLabelLayer *self)
{
  g_array_set_size (self->placed, 0);
  g_hash_table_remove_all (self->images);
  queue_labels (self);
}

static void
dothi_label_layer_constructed (GObject *object)
{
  DothiLabelLayer *self = DOTHI_LABEL_LAYER (object);
  ShumateViewport *viewport;

  G_OBJECT_CLASS (dothi_label_layer_parent_class)->constructed (object);

  viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  dothi_viewport_connect_moved (viewport, G_CALLBACK (viewport_changed_cb), self);
  g_signal_connect (self, "notify::scale-factor",
                    G_CALLBACK (scale_factor_changed_cb), NULL);
}

static void
dothi_label_layer_dispose (GObject *object)
{
  DothiLabelLayer *self = DOTHI_LABEL_LAYER (object);

  g_clear_handle_id (&self->settle_id, g_source_remove);
  if (self->labels_cancellable != NULL)
    g_cancellable_cancel (self->labels_cancellable);
  g_clear_object (&self->labels_cancellable);
  self->batch = NULL;
  if (self->outline_cancellable != NULL)
    g_cancellable_cancel (self->outline_cancellable);
  g_clear_object (&self->outline_cancellable);
  g_clear_pointer (&self->outline, g_ptr_array_unref);
  if (self->placed != NULL)
    g_array_set_size (self->placed, 0);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_object (&self->pool);

  G_OBJECT_CLASS (dothi_label_layer_parent_class)->dispose (object);
}

static void
dothi_label_layer_finalize (GObject *object)
{
  DothiLabelLayer *self = DOTHI_LABEL_LAYER (object);

  g_clear_pointer (&self->placed, g_array_unref);
  g_clear_pointer (&self->images, g_hash_table_unref);
  g_clear_pointer (&self->shown, g_hash_table_unref);
  g_clear_pointer (&self->font, pango_font_description_free);

  G_OBJECT_CLASS (dothi_label_layer_parent_class)->finalize (object);
}

static void
dothi_label_layer_class_init (DothiLabelLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = dothi_label_layer_constructed;
  object_class->dispose = dothi_label_layer_dispose;
  object_class->finalize = dothi_label_layer_finalize;

  widget_class->snapshot = dothi_label_layer_snapshot;
  widget_class->size_allocate = dothi_label_layer_size_allocate;

  signals[LABELS_PLACED] =
    g_signal_new ("labels-placed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
dothi_label_layer_init (DothiLabelLayer *self)
{
  self->shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->images = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, label_image_free);
  self->placed = g_array_new (FALSE, FALSE, sizeof (PlacedLabel));
  self->placed_zoom = -1.0;
  /* Semi-bold 9.5 pt in the UI font: Vietnamese tone marks stay legible. */
  self->font = pango_font_description_from_string ("Sans Semi-Bold 9.5");
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

/* Public API ------------------------------------------------------------- */

DothiLabelLayer *
dothi_label_layer_new (ShumateViewport *viewport,
                       DothiRenderPool *pool)
{
  DothiLabelLayer *self;

  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  g_return_val_if_fail (DOTHI_IS_RENDER_POOL (pool), NULL);

  self = g_object_new (DOTHI_TYPE_LABEL_LAYER, "viewport", viewport, NULL);
  self->pool = g_object_ref (pool);
  return self;
}

void
dothi_label_layer_set_layers (DothiLabelLayer *self,
                              GPtrArray       *layers)
{
  g_return_if_fail (DOTHI_IS_LABEL_LAYER (self));

  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_hash_table_remove_all (self->shown);
  if (layers != NULL)
    {
      self->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
      for (guint i = 0; i < layers->len; i++)
        g_ptr_array_add (self->layers, dothi_render_layer_ref (layers->pdata[i]));
    }
  queue_labels (self);
}

void
dothi_label_layer_set_layer_visible (DothiLabelLayer *self,
                                     const char      *layer,
                                     gboolean         visible)
{
  g_return_if_fail (DOTHI_IS_LABEL_LAYER (self));
  g_return_if_fail (layer != NULL);

  g_hash_table_insert (self->shown, g_strdup (layer), GINT_TO_POINTER (!!visible));
  queue_labels (self);
}

void
dothi_label_layer_refresh (DothiLabelLayer *self)
{
  g_return_if_fail (DOTHI_IS_LABEL_LAYER (self));
  queue_labels (self);
}

void
dothi_label_layer_set_highlight (DothiLabelLayer  *self,
                                 DothiRenderLayer *layer,
                                 gint64            fid)
{
  g_return_if_fail (DOTHI_IS_LABEL_LAYER (self));

  if (self->outline_cancellable != NULL)
    g_cancellable_cancel (self->outline_cancellable);
  g_clear_object (&self->outline_cancellable);
  g_clear_pointer (&self->outline, g_ptr_array_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (layer == NULL || self->pool == NULL)
    return;

  self->outline_cancellable = g_cancellable_new ();
  dothi_render_pool_outline_async (self->pool, layer, fid, self->outline_cancellable,
                                   outline_ready_cb, g_object_ref (self));
}

guint
dothi_label_layer_get_n_placed (DothiLabelLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_LABEL_LAYER (self), 0);
  return self->placed->len;
}
