/* dothi-map-view.c: the map widget: a ShumateMap whose layers are one
 * DothiTileLayer per project layer, the label and highlight overlay and an
 * optional basemap; it follows changes to the project file (DESIGN.md §5). */
#define G_LOG_DOMAIN "dothi-map-view"

#include "config.h"
#include "dothi-map-view.h"
#include "dothi-flat-layer.h"

#include "dothi-change-watcher.h"
#include "dothi-label-layer.h"
#include "dothi-map-transform.h"
#include "dothi-mbtiles-source.h"
#include "dothi-render-pool.h"
#include "dothi-tile-layer.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deep enough for cadastral work at 1:200 (DESIGN.md §5). */
#define MAX_ZOOM 24
/* zoom_to_* never goes deeper than this for a tiny feature. */
#define MAX_FIT_ZOOM 21.0
#define POLL_SECONDS 1
#define FLY_MS 600
#define ZOOM_STEP_MS 250
/* A press that moves further than this is a pan, not a click. */
#define CLICK_SLOP_PX 4.0
#define CLICK_TOLERANCE_PX 4.0
/* Metres per CSS pixel at 96 dpi. */
#define METRES_PER_CSS_PX (0.0254 / 96.0)

struct _DothiMapView
{
  AdwBin              parent_instance;

  ShumateMap         *map;
  ShumateScale       *scale;
  ShumateCompass     *compass;
  ShumateViewport    *viewport;
  ShumateMapSource   *reference;

  DothiBasemapKind    basemap_kind;
  ShumateMapLayer    *basemap_layer;
  GCancellable       *basemap_cancellable;

  DothiProject       *project;
  DothiRenderPool    *pool;
  DothiChangeWatcher *watcher;
  GCancellable       *watch_cancellable;
  guint               watch_id;
  gboolean            polling;
  gboolean            poll_error_shown;
  GHashTable         *transforms;   /* srid → DothiMapTransform (main thread) */

  GPtrArray          *tile_layers;  /* DothiTileLayer*, bottom first */
  GHashTable         *extents;      /* layer name → double[4] Web Mercator */
  DothiLabelLayer    *label_layer;
  DothiFlatLayer     *flat_layer;
  gboolean            prepared;     /* the pool's threads were warmed up */

  gboolean            has_pending_fit;
  double              pending_fit[4];

  gboolean            waiting_complete;
  guint               complete_idle_id;
  gboolean            first_map_reported;
  gboolean            busy;
  double              scale_denominator;

  double              press_x, press_y;

  /* DOTHI_BENCH_PAN: frame times of a warm pan, for the benchmark. */
  guint               pan_tick_id;
  guint               pan_frame;
  gint64              pan_frame_start;
  GArray             *pan_times;     /* double, ms */
  gulong              after_paint_id;
};

G_DEFINE_FINAL_TYPE (DothiMapView, dothi_map_view, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SCALE_DENOMINATOR,
  PROP_BUSY,
  N_PROPS
};

enum {
  POINTER_MOVED,
  POINTER_LEFT,
  CLICKED,
  MAP_COMPLETE,
  ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];
static gint64 class_init_time;

static void reload_layers (DothiMapView *self, gboolean fit);

/* Helpers ---------------------------------------------------------------- */

static void
report_error (DothiMapView *self, const GError *error)
{
  g_signal_emit (self, signals[ERROR], 0, error);
}

static void
transform_free (gpointer transform)
{
  if (transform != NULL)
    dothi_map_transform_free (transform);
}

static DothiMapTransform *
get_transform (DothiMapView *self, int srid)
{
  DothiMapTransform *transform = NULL;
  g_autoptr(GError) error = NULL;

  if (srid <= 0)
    return NULL;
  /* A CRS PROJ cannot map is remembered as NULL: reported once. */
  if (g_hash_table_lookup_extended (self->transforms, GINT_TO_POINTER (srid),
                                    NULL, (gpointer *) &transform))
    return transform;
  /* PROJ set-up on the main thread, once per CRS; points are cheap after. */
  transform = dothi_map_transform_new (srid, &error);
  if (transform == NULL)
    report_error (self, error);
  g_hash_table_insert (self->transforms, GINT_TO_POINTER (srid), transform);
  return transform;
}

static DothiMapTransform *
get_project_transform (DothiMapView *self)
{
  if (self->project == NULL)
    return NULL;
  return get_transform (self, dothi_project_get_srid (self->project));
}

static DothiTileLayer *
find_tile_layer (DothiMapView *self, const char *name)
{
  if (self->tile_layers == NULL || name == NULL)
    return NULL;
  for (guint i = 0; i < self->tile_layers->len; i++)
    {
      DothiTileLayer *layer = self->tile_layers->pdata[i];

      if (g_strcmp0 (dothi_tile_layer_get_name (layer), name) == 0)
        return layer;
    }
  return NULL;
}

static gboolean
get_frame (DothiMapView *self, DothiMapFrame *frame)
{
  return dothi_map_frame_init (frame, self->viewport, GTK_WIDGET (self->map));
}

/* Benchmark hooks -------------------------------------------------------- */

#define PAN_FRAMES 120

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Each frame's work: from the tick that moves the map to the end of its
 * paint (snapshot and GSK render). */
static void
pan_after_paint_cb (GdkFrameClock *clock, DothiMapView *self)
{
  if (self->pan_frame_start == 0)
    return;
  {
    double ms = (g_get_monotonic_time () - self->pan_frame_start) / 1000.0;

    g_array_append_val (self->pan_times, ms);
  }
  self->pan_frame_start = 0;
  if (self->pan_times->len < PAN_FRAMES)
    return;

  g_array_sort (self->pan_times, compare_doubles);
  printf ("pan-frame-ms median %.2f p95 %.2f max %.2f frames %u\n",
          g_array_index (self->pan_times, double, self->pan_times->len / 2),
          g_array_index (self->pan_times, double, self->pan_times->len * 95 / 100),
          g_array_index (self->pan_times, double, self->pan_times->len - 1),
          self->pan_times->len);
  fflush (stdout);
  g_clear_signal_handler (&self->after_paint_id, clock);
  if (self->pan_tick_id)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self->map), self->pan_tick_id);
  self->pan_tick_id = 0;
}

/* Pans 16 px a frame, back and forth over 256 px, so every tile shown
 * was drawn before: a warm pan. */
static gboolean
pan_tick_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  DothiMapView *self = data;
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  double lat, lon;
  int step = (self->pan_frame / 16) % 2 ? -16 : 16;

  self->pan_frame++;
  shumate_viewport_widget_coords_to_location (self->viewport, widget, w / 2 + step, h / 2,
                                              &lat, &lon);
  self->pan_frame_start = g_get_monotonic_time ();
  shumate_map_center_on (self->map, lat, lon);
  return G_SOURCE_CONTINUE;
}

static void
start_pan_benchmark (DothiMapView *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self->map));

  if (clock == NULL || self->pan_times != NULL)
    return;
  self->pan_times = g_array_new (FALSE, FALSE, sizeof (double));
  self->after_paint_id = g_signal_connect (clock, "after-paint",
                                           G_CALLBACK (pan_after_paint_cb), self);
  self->pan_tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self->map), pan_tick_cb,
                                                    self, NULL);
}

/* Completion ------------------------------------------------------------- */

static void
report_first_map (DothiMapView *self)
{
  const char *start_env = g_getenv ("DOTHI_BENCH_FIRST_MAP");
  gint64 start = class_init_time;
  gint64 now = g_get_monotonic_time ();

  if (self->first_map_reported || start_env == NULL)
    return;
  self->first_map_reported = TRUE;
  if (start_env[0] != '\0')
    {
      char *end = NULL;
      gint64 value = g_ascii_strtoll (start_env, &end, 10);

      if (end != start_env && *end == '\0' && value > 0 && value <= now)
        start = value;
    }
  printf ("first-map-ms %" G_GINT64_FORMAT "\n", (now - start) / 1000);
  fflush (stdout);
  if (g_getenv ("DOTHI_BENCH_PAN") != NULL)
    start_pan_benchmark (self);
}

static void
check_complete (DothiMapView *self)
{
  if (!self->waiting_complete || self->project == NULL
      || gtk_widget_get_width (GTK_WIDGET (self->map)) <= 0)
    return;
  for (guint i = 0; i < self->tile_layers->len; i++)
    if (!dothi_tile_layer_get_complete (self->tile_layers->pdata[i]))
      return;

  self->waiting_complete = FALSE;
  g_signal_emit (self, signals[MAP_COMPLETE], 0);
  report_first_map (self);
}

static gboolean
check_complete_cb (gpointer user_data)
{
  DothiMapView *self = user_data;

  self->complete_idle_id = 0;
  check_complete (self);
  return G_SOURCE_REMOVE;
}

/* After a change the layers recompute their grids in a HIGH_IDLE idle;
 * this one runs after them, so a viewport served wholly from memory is
 * complete too. */
static void
expect_complete (DothiMapView *self)
{
  self->waiting_complete = TRUE;
  if (self->complete_idle_id == 0)
    self->complete_idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE + 5,
                                              check_complete_cb, self, NULL);
}

static void
tiles_complete_cb (DothiMapView *self)
{
  check_complete (self);
}

static void
update_busy (DothiMapView *self)
{
  gboolean busy = FALSE;

  for (guint i = 0; self->tile_layers != NULL && i < self->tile_layers->len; i++)
    busy |= dothi_tile_layer_get_busy (self->tile_layers->pdata[i]);
  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
tile_failed_cb (DothiMapView *self, const GError *error)
{
  report_error (self, error);
}

/* Viewport --------------------------------------------------------------- */

static void
update_scale_denominator (DothiMapView *self)
{
  DothiMapFrame frame;
  double lat = shumate_location_get_latitude (SHUMATE_LOCATION (self->viewport));
  double denominator;

  frame.zoom = shumate_viewport_get_zoom_level (self->viewport);
  frame.resolution = dothi_mercator_resolution (frame.zoom);
  /* Ground metres per CSS pixel over the metres a CSS pixel is wide. */
  denominator = frame.resolution * cos (lat * G_PI / 180.0) / METRES_PER_CSS_PX;
  if (fabs (denominator - self->scale_denominator) <= 1e-9 * denominator)
    return;
  self->scale_denominator = denominator;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCALE_DENOMINATOR]);
}

static void
viewport_changed_cb (DothiMapView *self)
{
  update_scale_denominator (self);
  expect_complete (self);
}

static void
rotation_changed_cb (DothiMapView *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->compass),
                          shumate_viewport_get_rotation (self->viewport) != 0.0);
  expect_complete (self);
}

/* Moves the viewport to show @bbox (Web Mercator); @duration_ms 0 jumps. */
static void
fit_mercator_bbox (DothiMapView *self,
                   const double  bbox[4],
                   guint         duration_ms)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self->map));
  double height = gtk_widget_get_height (GTK_WIDGET (self->map));
  double cx = (bbox[0] + bbox[2]) / 2.0, cy = (bbox[1] + bbox[3]) / 2.0;
  double resolution, zoom, lat, lon;

  if (width <= 0 || height <= 0)
    {
      /* Not laid out yet: fit at the first allocation. */
      memcpy (self->pending_fit, bbox, sizeof self->pending_fit);
      self->has_pending_fit = TRUE;
      return;
    }
  self->has_pending_fit = FALSE;

  /* A margin of 5 % on each side. */
  resolution = MAX ((bbox[2] - bbox[0]) / (width * 0.9),
                    (bbox[3] - bbox[1]) / (height * 0.9));
  if (resolution <= 0.0)
    zoom = MAX_FIT_ZOOM - 2.0;
  else
    zoom = log2 (2.0 * DOTHI_MERCATOR_HALF_WORLD / (256.0 * resolution));
  zoom = CLAMP (zoom, 1.0, MAX_FIT_ZOOM);
  dothi_mercator_to_lat_lon (cx, cy, &lat, &lon);

  if (duration_ms == 0 || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      shumate_map_stop_go_to (self->map);
      shumate_viewport_set_zoom_level (self->viewport, zoom);
      shumate_map_center_on (self->map, lat, lon);
    }
  else
    shumate_map_go_to_full_with_duration (self->map, lat, lon, zoom, duration_ms);
}

static gboolean
get_project_extent (DothiMapView *self, double out[4])
{
  GHashTableIter iter;
  gpointer value;
  gboolean any = FALSE;

  g_hash_table_iter_init (&iter, self->extents);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const double *e = value;

      if (!any)
        memcpy (out, e, 4 * sizeof (double));
      else
        {
          out[0] = MIN (out[0], e[0]);
          out[1] = MIN (out[1], e[1]);
          out[2] = MAX (out[2], e[2]);
          out[3] = MAX (out[3], e[3]);
        }
      any = TRUE;
    }
  return any;
}

static void
sizer_resized_cb (GtkDrawingArea *sizer,
                  int             width,
                  int             height,
                  DothiMapView   *self)
{
  if (self->has_pending_fit && gtk_widget_get_width (GTK_WIDGET (self->map)) > 0)
    {
      double bbox[4];

      memcpy (bbox, self->pending_fit, sizeof bbox);
      fit_mercator_bbox (self, bbox, 0);
      /* The first frame takes a while to paint: the tiles are drawn
       * meanwhile. */
      for (guint i = 0; self->tile_layers != NULL && i < self->tile_layers->len; i++)
        dothi_tile_layer_update_now (self->tile_layers->pdata[i]);
    }
  expect_complete (self);
}

static void
dothi_map_view_snapshot (GtkWidget   *widget,
                         GtkSnapshot *snapshot)
{
  /* Neutral paper under the layers when there is no basemap. */
  static const GdkRGBA paper = { 0xf2 / 255.0, 0xf1 / 255.0, 0xee / 255.0, 1.0 };

  gtk_snapshot_append_color (snapshot, &paper,
                             &GRAPHENE_RECT_INIT (0, 0,
                                                  gtk_widget_get_width (widget),
                                                  gtk_widget_get_height (widget)));
  GTK_WIDGET_CLASS (dothi_map_view_parent_class)->snapshot (widget, snapshot);
}

/* Pointer ---------------------------------------------------------------- */

static gboolean
widget_to_project (DothiMapView *self,
                   double x, double y,
                   double *px, double *py,
                   double *lat, double *lon,
                   double *metres_per_px)
{
  DothiMapFrame frame;
  DothiMapTransform *transform;
  double mx, my;

  if (!get_frame (self, &frame))
    return FALSE;
  dothi_map_frame_to_mercator (&frame, x, y, &mx, &my);
  dothi_mercator_to_lat_lon (mx, my, lat, lon);
  if (metres_per_px != NULL)
    *metres_per_px = frame.resolution * cos (*lat * G_PI / 180.0);
  transform = get_project_transform (self);
  if (transform == NULL || !dothi_map_transform_from_mercator (transform, mx, my, px, py))
    {
      *px = NAN;
      *py = NAN;
    }
  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           DothiMapView             *self)
{
  double px, py, lat, lon;

  if (widget_to_project (self, x, y, &px, &py, &lat, &lon, NULL))
    g_signal_emit (self, signals[POINTER_MOVED], 0, px, py, lat, lon);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          DothiMapView             *self)
{
  g_signal_emit (self, signals[POINTER_LEFT], 0);
}

static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            DothiMapView    *self)
{
  self->press_x = x;
  self->press_y = y;
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
released_cb (GtkGestureClick *gesture,
             int              n_press,
             double           x,
             double           y,
             DothiMapView    *self)
{
  double px, py, lat, lon, metres_per_px;

  if (n_press != 1 || hypot (x - self->press_x, y - self->press_y) > CLICK_SLOP_PX)
    return;
  if (self->project == NULL
      || !widget_to_project (self, x, y, &px, &py, &lat, &lon, &metres_per_px)
      || isnan (px))
    return;
  g_signal_emit (self, signals[CLICKED], 0, px, py, CLICK_TOLERANCE_PX * metres_per_px);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                DothiMapView          *self)
{
  DothiMapFrame frame;
  double dx = 0, dy = 0, mx, my, lat, lon;

  switch (keyval)
    {
    case GDK_KEY_Left: case GDK_KEY_KP_Left: dx = -1; break;
    case GDK_KEY_Right: case GDK_KEY_KP_Right: dx = 1; break;
    case GDK_KEY_Up: case GDK_KEY_KP_Up: dy = -1; break;
    case GDK_KEY_Down: case GDK_KEY_KP_Down: dy = 1; break;
    default:
      return GDK_EVENT_PROPAGATE;
    }
  if (!get_frame (self, &frame))
    return GDK_EVENT_PROPAGATE;
  /* A quarter of the view per press. */
  dothi_map_frame_to_mercator (&frame,
                               frame.width / 2.0 + dx * frame.width / 4.0,
                               frame.height / 2.0 + dy * frame.height / 4.0,
                               &mx, &my);
  dothi_mercator_to_lat_lon (mx, my, &lat, &lon);
  shumate_map_center_on (self->map, lat, lon);
  return GDK_EVENT_STOP;
}

/* Layers ----------------------------------------------------------------- */

static void
remove_tile_layers (DothiMapView *self)
{
  for (guint i = 0; i < self->tile_layers->len; i++)
    {
      GtkWidget *layer = self->tile_layers->pdata[i];

      g_signal_handlers_disconnect_by_data (layer, self);
      if (gtk_widget_get_parent (layer) != NULL)
        shumate_map_remove_layer (self->map, SHUMATE_LAYER (layer));
      g_object_run_dispose (G_OBJECT (layer));
    }
  g_ptr_array_set_size (self->tile_layers, 0);
}

static void
busy_changed_cb (DothiMapView *self)
{
  update_busy (self);
}

static DothiTileLayer *
add_tile_layer (DothiMapView *self, DothiRenderLayer *render_layer)
{
  DothiTileLayer *layer = g_object_ref_sink (dothi_tile_layer_new (self->viewport, self->pool,
                                                                  render_layer));

  g_signal_connect_swapped (layer, "tiles-complete", G_CALLBACK (tiles_complete_cb), self);
  g_signal_connect_swapped (layer, "tile-failed", G_CALLBACK (tile_failed_cb), self);
  g_signal_connect_swapped (layer, "notify::busy", G_CALLBACK (busy_changed_cb), self);
  return layer;
}

/* Puts the tile layers between the basemap and the labels, in @order. */
static void
stack_layers (DothiMapView *self, GPtrArray *order)
{
  gboolean same = order->len == self->tile_layers->len;

  for (guint i = 0; same && i < order->len; i++)
    same = order->pdata[i] == self->tile_layers->pdata[i]
           && gtk_widget_get_parent (order->pdata[i]) != NULL;
  if (same)
    return;

  for (guint i = 0; i < self->tile_layers->len; i++)
    {
      GtkWidget *layer = self->tile_layers->pdata[i];

      if (gtk_widget_get_parent (layer) != NULL)
        shumate_map_remove_layer (self->map, SHUMATE_LAYER (layer));
    }
  for (guint i = 0; i < order->len; i++)
    shumate_map_insert_layer_behind (self->map, order->pdata[i],
                                     SHUMATE_LAYER (self->label_layer));
}

static void
reload_layers (DothiMapView *self, gboolean fit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) render_layers =
    g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);

  if (self->project == NULL || self->pool == NULL)
    return;

  /* Registry rows only: a few small reads of the project's own connection. */
  infos = dothi_project_list_layers (self->project, &error);
  if (infos == NULL)
    {
      report_error (self, error);
      return;
    }

  g_hash_table_remove_all (self->extents);
  for (guint i = 0; i < infos->len; i++)
    {
      const DothiLayerInfo *info = infos->pdata[i];
      g_autoptr(GError) style_error = NULL;
      g_autoptr(DothiStyle) style = NULL;
      g_autoptr(DothiRenderLayer) render_layer = NULL;
      DothiMapTransform *transform;
      DothiTileLayer *layer;
      double extent[4];
      gboolean has_extent = FALSE;

      if (info->kind == DOTHI_GEOMETRY_KIND_NONE || info->srid <= 0)
        continue;
      style = dothi_project_dup_style (self->project, info->name, &style_error);
      if (style == NULL)
        {
          report_error (self, style_error);
          continue;
        }
      render_layer = dothi_render_layer_new (info, style);

      transform = get_transform (self, info->srid);
      if (transform != NULL && info->feature_count > 0
          && info->extent[0] <= info->extent[2] && info->extent[1] <= info->extent[3]
          && dothi_map_transform_bbox_to_mercator (transform, info->extent, extent))
        {
          has_extent = TRUE;
          g_hash_table_insert (self->extents, g_strdup (info->name),
                               g_memdup2 (extent, sizeof extent));
        }

      layer = find_tile_layer (self, info->name);
      if (layer == NULL)
        layer = add_tile_layer (self, render_layer);
      else
        {
          DothiRenderLayer *old = dothi_tile_layer_get_render_layer (layer);

          g_object_ref (layer);
          if (old->style_revision != render_layer->style_revision
              || old->srid != render_layer->srid)
            dothi_tile_layer_set_render_layer (layer, render_layer);
          else
            {
              dothi_tile_layer_set_layer_visible (layer, render_layer->visible);
              dothi_tile_layer_set_opacity (layer, render_layer->opacity);
            }
        }
      dothi_tile_layer_set_extent (layer, has_extent ? extent : NULL);
      g_ptr_array_add (order, layer);
      g_ptr_array_add (render_layers, dothi_render_layer_ref (render_layer));
    }

  /* Layers gone from the registry. */
  for (guint i = 0; i < self->tile_layers->len; i++)
    {
      GtkWidget *layer = self->tile_layers->pdata[i];

      if (g_ptr_array_find (order, layer, NULL))
        continue;
      g_signal_handlers_disconnect_by_data (layer, self);
      if (gtk_widget_get_parent (layer) != NULL)
        shumate_map_remove_layer (self->map, SHUMATE_LAYER (layer));
      g_object_run_dispose (G_OBJECT (layer));
    }

  stack_layers (self, order);
  g_ptr_array_set_size (self->tile_layers, 0);
  for (guint i = 0; i < order->len; i++)
    g_ptr_array_add (self->tile_layers, g_object_ref (order->pdata[i]));

  dothi_label_layer_set_layers (self->label_layer, render_layers);
  /* The render threads open their connections and PROJ while the window
   * lays out its first frame. */
  if (!self->prepared)
    {
      dothi_render_pool_prepare (self->pool, render_layers, FALSE);
      self->prepared = TRUE;
    }
  if (self->flat_layer != NULL)
    dothi_flat_layer_set_layers (self->flat_layer, self->tile_layers);
  update_busy (self);
  expect_complete (self);

  if (fit)
    dothi_map_view_zoom_to_project (self);
}

/* Following the file ----------------------------------------------------- */

static void
poll_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(DothiMapView) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  gboolean registry_changed = FALSE;

  changes = dothi_change_watcher_poll_finish (DOTHI_CHANGE_WATCHER (source), result,
                                              &registry_changed, &error);
  self->polling = FALSE;
  if (changes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !self->poll_error_shown)
        {
          /* Once until a poll works again: the file may be on a slow disk. */
          self->poll_error_shown = TRUE;
          report_error (self, error);
        }
      return;
    }
  self->poll_error_shown = FALSE;
  if (changes->len > 0 || registry_changed)
    g_debug ("%u changes in the file%s", changes->len,
             registry_changed ? ", and to the layer registry" : "");
  if (self->pool == NULL || source != G_OBJECT (self->watcher))
    return;

  for (guint i = 0; i < changes->len; i++)
    {
      const DothiChange *change = changes->pdata[i];
      const double *bbox = change->everywhere ? NULL : change->bbox;
      DothiTileLayer *layer = find_tile_layer (self, change->layer);

      dothi_render_pool_invalidate (self->pool, change->layer, bbox);
      if (layer != NULL)
        dothi_tile_layer_invalidate_bbox (layer, bbox);
    }
  if (changes->len > 0)
    {
      dothi_label_layer_refresh (self->label_layer);
      expect_complete (self);
    }
  if (registry_changed)
    reload_layers (self, FALSE);
}

static gboolean
poll_cb (gpointer user_data)
{
  DothiMapView *self = user_data;

  if (!self->polling && self->watcher != NULL)
    {
      self->polling = TRUE;
      dothi_change_watcher_poll_async (self->watcher, self->watch_cancellable,
                                       poll_done_cb, g_object_ref (self));
    }
  return G_SOURCE_CONTINUE;
}

static void
clear_project (DothiMapView *self)
{
  g_clear_handle_id (&self->watch_id, g_source_remove);
  if (self->watch_cancellable != NULL)
    g_cancellable_cancel (self->watch_cancellable);
  g_clear_object (&self->watch_cancellable);
  self->polling = FALSE;
  g_clear_object (&self->watcher);
  if (self->flat_layer != NULL)
    {
      dothi_flat_layer_set_layers (self->flat_layer, NULL);
      shumate_map_remove_layer (self->map, SHUMATE_LAYER (self->flat_layer));
      g_object_run_dispose (G_OBJECT (self->flat_layer));
      g_clear_object (&self->flat_layer);
    }
  if (self->tile_layers != NULL)
    remove_tile_layers (self);
  if (self->label_layer != NULL)
    {
      dothi_label_layer_set_highlight (self->label_layer, NULL, 0);
      shumate_map_remove_layer (self->map, SHUMATE_LAYER (self->label_layer));
      g_object_run_dispose (G_OBJECT (self->label_layer));
      g_clear_object (&self->label_layer);
    }
  if (self->extents != NULL)
    g_hash_table_remove_all (self->extents);
  g_clear_object (&self->pool);
  self->prepared = FALSE;
  g_clear_object (&self->project);
  self->waiting_complete = FALSE;
  self->has_pending_fit = FALSE;
  update_busy (self);
}

/* Basemap ---------------------------------------------------------------- */

static void
remove_basemap (DothiMapView *self)
{
  if (self->basemap_cancellable != NULL)
    g_cancellable_cancel (self->basemap_cancellable);
  g_clear_object (&self->basemap_cancellable);
  if (self->basemap_layer != NULL)
    {
      shumate_map_remove_layer (self->map, SHUMATE_LAYER (self->basemap_layer));
      g_clear_object (&self->basemap_layer);
    }
}

static void
show_basemap (DothiMapView *self, ShumateMapSource *source)
{
  self->basemap_layer = g_object_ref_sink (shumate_map_layer_new (source, self->viewport));
  /* At the bottom, under every project layer. */
  shumate_map_insert_layer_above (self->map, SHUMATE_LAYER (self->basemap_layer), NULL);
}

static void
mbtiles_opened_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(DothiMapView) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiMbtilesSource) mbtiles = NULL;
  g_autoptr(ShumateMapSource) map_source = NULL;

  mbtiles = dothi_mbtiles_source_new_finish (result, &error);
  if (mbtiles == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        report_error (self, error);
      return;
    }
  if (self->basemap_kind != DOTHI_BASEMAP_MBTILES || self->basemap_layer != NULL)
    return;
  map_source = dothi_mbtiles_source_create_map_source (mbtiles);
  show_basemap (self, map_source);
}

/* GObject ---------------------------------------------------------------- */

static void
dothi_map_view_dispose (GObject *object)
{
  DothiMapView *self = DOTHI_MAP_VIEW (object);

  g_clear_handle_id (&self->complete_idle_id, g_source_remove);
  if (self->after_paint_id && self->map && gtk_widget_get_frame_clock (GTK_WIDGET (self->map)))
    g_clear_signal_handler (&self->after_paint_id, gtk_widget_get_frame_clock (GTK_WIDGET (self->map)));
  if (self->pan_tick_id && self->map)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self->map), self->pan_tick_id);
  self->pan_tick_id = 0;
  g_clear_pointer (&self->pan_times, g_array_unref);
  clear_project (self);
  remove_basemap (self);
  g_clear_pointer (&self->transforms, g_hash_table_unref);
  g_clear_pointer (&self->tile_layers, g_ptr_array_unref);
  g_clear_pointer (&self->extents, g_hash_table_unref);
  g_clear_object (&self->reference);

  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_MAP_VIEW);

  G_OBJECT_CLASS (dothi_map_view_parent_class)->dispose (object);
}

static void
dothi_map_view_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  DothiMapView *self = DOTHI_MAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_SCALE_DENOMINATOR:
      g_value_set_double (value, self->scale_denominator);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_map_view_class_init (DothiMapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  class_init_time = g_get_monotonic_time ();

  object_class->dispose = dothi_map_view_dispose;
  object_class->get_property = dothi_map_view_get_property;

  widget_class->snapshot = dothi_map_view_snapshot;

  properties[PROP_SCALE_DENOMINATOR] =
    g_param_spec_double ("scale-denominator", NULL, NULL, 0.0, G_MAXDOUBLE, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[POINTER_MOVED] =
    g_signal_new ("pointer-moved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                  G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[POINTER_LEFT] =
    g_signal_new ("pointer-left", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[CLICKED] =
    g_signal_new ("clicked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                  G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[MAP_COMPLETE] =
    g_signal_new ("map-complete", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);

  g_type_ensure (SHUMATE_TYPE_MAP);
  g_type_ensure (SHUMATE_TYPE_SCALE);
  g_type_ensure (SHUMATE_TYPE_COMPASS);
  gtk_widget_class_set_template_from_resource (widget_class, "/vn/dothi/Dothi/ui/dothi-map-view.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiMapView, map);
  gtk_widget_class_bind_template_child (widget_class, DothiMapView, scale);
  gtk_widget_class_bind_template_child (widget_class, DothiMapView, compass);
  gtk_widget_class_bind_template_callback (widget_class, sizer_resized_cb);
  gtk_widget_class_set_css_name (widget_class, "dothi-map-view");
}

static void
dothi_map_view_init (DothiMapView *self)
{
  g_autoptr(DothiMbtilesSource) no_data = NULL;
  GtkEventController *motion;
  GtkGesture *click;
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->transforms = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            transform_free);
  self->tile_layers = g_ptr_array_new_with_free_func (g_object_unref);
  self->extents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  /* The reference source only gives the grid and the zoom range: it has no
   * data and no layer draws it, so nothing is ever fetched. libshumate
   * clamps the viewport to it, hence 24 on both (DESIGN.md §5). */
  no_data = g_object_new (DOTHI_TYPE_MBTILES_SOURCE, NULL);
  self->reference = SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full ("dothi-web-mercator",
                                                                         "Web Mercator", "", "",
                                                                         0, MAX_ZOOM, 256,
                                                                         SHUMATE_MAP_PROJECTION_MERCATOR,
                                                                         SHUMATE_DATA_SOURCE (no_data)));
  shumate_map_source_set_max_zoom_level (self->reference, MAX_ZOOM);
  self->viewport = shumate_map_get_viewport (self->map);
  shumate_viewport_set_reference_map_source (self->viewport, self->reference);
  shumate_viewport_set_max_zoom_level (self->viewport, MAX_ZOOM);
  shumate_viewport_set_min_zoom_level (self->viewport, 1);
  shumate_scale_set_viewport (self->scale, self->viewport);
  shumate_compass_set_viewport (self->compass, self->viewport);

  g_signal_connect_object (self->viewport, "notify::zoom-level",
                           G_CALLBACK (viewport_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewport, "notify::latitude",
                           G_CALLBACK (viewport_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewport, "notify::longitude",
                           G_CALLBACK (viewport_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewport, "notify::rotation",
                           G_CALLBACK (rotation_changed_cb), self, G_CONNECT_SWAPPED);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->map), motion);

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), self);
  g_signal_connect (click, "released", G_CALLBACK (released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->map), GTK_EVENT_CONTROLLER (click));

  keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  update_scale_denominator (self);
}

/* Public API ------------------------------------------------------------- */

GtkWidget *
dothi_map_view_new (void)
{
  return g_object_new (DOTHI_TYPE_MAP_VIEW, NULL);
}

void
dothi_map_view_set_project (DothiMapView *self,
                            DothiProject *project)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (project == NULL || DOTHI_IS_PROJECT (project));

  if (self->project == project)
    return;
  clear_project (self);
  g_hash_table_remove_all (self->transforms);
  if (project == NULL)
    return;

  self->project = g_object_ref (project);
  self->pool = dothi_render_pool_new (dothi_project_get_path (project),
                                      dothi_project_get_uuid (project), 0, &error);
  if (self->pool == NULL)
    {
      report_error (self, error);
      return;
    }

  self->label_layer = g_object_ref_sink (dothi_label_layer_new (self->viewport, self->pool));
  g_signal_connect_swapped (self->label_layer, "error", G_CALLBACK (report_error), self);
  shumate_map_add_layer (self->map, SHUMATE_LAYER (self->label_layer));
  /* Beneath every tile layer: they are stacked behind the labels. */
  self->flat_layer = g_object_ref_sink (dothi_flat_layer_new (self->viewport));
  shumate_map_insert_layer_behind (self->map, SHUMATE_LAYER (self->flat_layer),
                                   SHUMATE_LAYER (self->label_layer));

  reload_layers (self, TRUE);

  self->watcher = dothi_change_watcher_new (dothi_project_get_path (project), &error);
  if (self->watcher == NULL)
    {
      /* The map still works; it just won't follow other programs' edits. */
      report_error (self, error);
      return;
    }
  self->watch_cancellable = g_cancellable_new ();
  self->watch_id = g_timeout_add_seconds (POLL_SECONDS, poll_cb, self);
}

DothiProject *
dothi_map_view_get_project (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->project;
}

void
dothi_map_view_reload_layers (DothiMapView *self)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  reload_layers (self, FALSE);
}

void
dothi_map_view_set_layer_visible (DothiMapView *self,
                                  const char   *layer,
                                  gboolean      visible)
{
  DothiTileLayer *tile_layer;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (layer != NULL);

  tile_layer = find_tile_layer (self, layer);
  if (tile_layer == NULL)
    return;
  dothi_tile_layer_set_layer_visible (tile_layer, visible);
  dothi_label_layer_set_layer_visible (self->label_layer, layer, visible);
  expect_complete (self);
}

void
dothi_map_view_set_layer_opacity (DothiMapView *self,
                                  const char   *layer,
                                  double        opacity)
{
  DothiTileLayer *tile_layer;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (layer != NULL);

  tile_layer = find_tile_layer (self, layer);
  if (tile_layer == NULL)
    return;
  dothi_tile_layer_set_opacity (tile_layer, opacity);
  expect_complete (self);
}

void
dothi_map_view_zoom_to_bbox (DothiMapView *self,
                             const double  bbox[4])
{
  DothiMapTransform *transform;
  double merc[4];

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (bbox != NULL);

  transform = get_project_transform (self);
  if (transform == NULL || !dothi_map_transform_bbox_to_mercator (transform, bbox, merc))
    return;
  fit_mercator_bbox (self, merc, FLY_MS);
}

void
dothi_map_view_zoom_to_layer (DothiMapView *self,
                              const char   *layer)
{
  const double *extent;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (layer != NULL);

  extent = g_hash_table_lookup (self->extents, layer);
  if (extent != NULL)
    fit_mercator_bbox (self, extent, FLY_MS);
}

void
dothi_map_view_zoom_to_project (DothiMapView *self)
{
  double extent[4];

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));

  if (get_project_extent (self, extent))
    fit_mercator_bbox (self, extent, 0);
}

static void
zoom_by (DothiMapView *self, double step)
{
  double zoom = shumate_viewport_get_zoom_level (self->viewport);
  double lat = shumate_location_get_latitude (SHUMATE_LOCATION (self->viewport));
  double lon = shumate_location_get_longitude (SHUMATE_LOCATION (self->viewport));

  /* Whole zoom levels: tiles come out crisp and the cache is reused. */
  zoom = CLAMP (round (zoom) + step,
                shumate_viewport_get_min_zoom_level (self->viewport),
                shumate_viewport_get_max_zoom_level (self->viewport));
  shumate_map_go_to_full_with_duration (self->map, lat, lon, zoom, ZOOM_STEP_MS);
}

void
dothi_map_view_zoom_in (DothiMapView *self)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  zoom_by (self, 1.0);
}

void
dothi_map_view_zoom_out (DothiMapView *self)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  zoom_by (self, -1.0);
}

void
dothi_map_view_highlight (DothiMapView *self,
                          const char   *layer,
                          gint64        fid)
{
  DothiTileLayer *tile_layer;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));

  if (self->label_layer == NULL)
    return;
  tile_layer = find_tile_layer (self, layer);
  dothi_label_layer_set_highlight (self->label_layer,
                                   tile_layer ? dothi_tile_layer_get_render_layer (tile_layer) : NULL,
                                   fid);
}

void
dothi_map_view_set_basemap (DothiMapView     *self,
                            DothiBasemapKind  kind,
                            const char       *location)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (kind == DOTHI_BASEMAP_NONE || location != NULL);

  remove_basemap (self);
  self->basemap_kind = kind;

  switch (kind)
    {
    case DOTHI_BASEMAP_NONE:
      break;

    case DOTHI_BASEMAP_MBTILES:
      self->basemap_cancellable = g_cancellable_new ();
      dothi_mbtiles_source_new_async (location, self->basemap_cancellable,
                                      mbtiles_opened_cb, g_object_ref (self));
      break;

    case DOTHI_BASEMAP_ONLINE:
      {
        g_autoptr(ShumateMapSource) source = NULL;

        if (strstr (location, "{z}") == NULL || strstr (location, "{x}") == NULL
            || strstr (location, "{y}") == NULL)
          {
            g_autoptr(GError) error =
              g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           /* Translators: a tile server URL template */
                           _("The basemap address “%s” needs {z}, {x} and {y}"), location);
            report_error (self, error);
            self->basemap_kind = DOTHI_BASEMAP_NONE;
            return;
          }
        /* The user chose a network basemap: only now is anything fetched. */
        source = SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full_from_url ("dothi-online",
                                                                              _("Online basemap"),
                                                                              "", "", 0, 19, 256,
                                                                              SHUMATE_MAP_PROJECTION_MERCATOR,
                                                                              location));
        show_basemap (self, source);
      }
      break;

    default:
      g_return_if_reached ();
    }
}

double
dothi_map_view_get_scale_denominator (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), 0.0);
  return self->scale_denominator;
}

gboolean
dothi_map_view_get_busy (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), FALSE);
  return self->busy;
}

ShumateMap *
dothi_map_view_get_map (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->map;
}

guint
dothi_map_view_get_n_labels (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), 0);
  return self->label_layer ? dothi_label_layer_get_n_placed (self->label_layer) : 0;
}
