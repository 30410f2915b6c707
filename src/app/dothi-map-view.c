/* dothi-map-view.c: the map widget: a ShumateMap whose layers are one
 * DothiTileLayer per project layer, a query result's highlight tiles, the
 * label and highlight overlay, the edit overlay and an optional basemap;
 * it follows changes to the project file (DESIGN.md §5) and runs the
 * geometry editing tools (§6). */
#define G_LOG_DOMAIN "dothi-map-view"

#include "config.h"
#include "dothi-map-view.h"
#include "dothi-flat-layer.h"

#include "dothi-change-watcher.h"
#include "dothi-edit.h"
#include "dothi-edit-layer.h"
#include "dothi-error.h"
#include "dothi-label-layer.h"
#include "dothi-map-transform.h"
#include "dothi-mbtiles-source.h"
#include "dothi-parcel.h"
#include "dothi-render-pool.h"
#include "dothi-tile-layer.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdarg.h>
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

/* Editing: a vertex handle is grabbed within this many pixels, a feature
 * picked within PICK_TOLERANCE_PX. */
#define HANDLE_RADIUS_PX 8.0
#define PICK_TOLERANCE_PX 6.0
#define DEFAULT_SNAP_TOLERANCE_PX 10.0
/* The snap layers around the viewport are held only when zoomed in this
 * far (Web Mercator metres per pixel, about zoom 17: 10 px are 12 m) and
 * when they have fewer vertices than this (8 MB); otherwise the marker
 * is not shown and clicks read what is near them. */
#define SNAP_MAX_RESOLUTION 1.2
#define SNAP_MAX_VERTICES 250000
/* A click reads the features around it on the main thread: a few. */
#define PICK_MAX_VERTICES 100000
#define SNAP_SETTLE_MS 150
/* Selected features outlined at once. */
#define MAX_SELECTION_SHOWN 500

enum {
  DRAG_NONE,
  DRAG_VERTEX,
  DRAG_FEATURE,
};

typedef struct _SnapCache SnapCache;

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
  /* A query's result (DESIGN.md §6): drawn as highlight tiles by the
   * render pool, above every project layer and below the labels. */
  char               *result_name;
  DothiFidSet        *result;
  DothiTileLayer     *result_layer;   /* NULL while not drawn */
  gboolean            prepared;     /* the pool's threads were warmed up */

  gboolean            has_pending_fit;
  double              pending_fit[4];

  gboolean            waiting_complete;
  guint               complete_idle_id;
  gboolean            first_map_reported;
  gboolean            busy;
  double              scale_denominator;

  double              press_x, press_y;

  /* Editing (DESIGN.md §6): the sketch is in the edit layer's CRS. */
  DothiEditLayer     *edit_overlay;
  DothiEditTool       tool;
  DothiLayerInfo     *edit_info;       /* the tool's layer */
  DothiMapTransform  *edit_transform;  /* borrowed from transforms */
  DothiEditGeometry  *sketch;
  DothiEditGeometry  *original;        /* the picked feature as stored */
  gint64              edit_fid;        /* the picked feature, or -1 */
  gboolean            modified;        /* the sketch differs from original */
  GArray             *last_fids;       /* gint64: inserted by the last edit */
  gboolean            has_pointer;
  double              pointer_x, pointer_y;   /* widget */
  DothiSnap           snap;            /* at the pointer */
  int                 hover_path, hover_vertex;
  GtkGesture         *drag;
  int                 drag_mode;
  int                 drag_path, drag_vertex;
  DothiEditVertex     drag_saved;
  gboolean            drag_was_modified;
  double              drag_start_x, drag_start_y;     /* widget */
  double              drag_origin_x, drag_origin_y;   /* layer CRS */

  char              **snap_layers;
  double              snap_tolerance_px;
  SnapCache          *snap_cache;
  GCancellable       *snap_cancellable;  /* the cache being read */
  double              snap_asked[4];     /* what it covers */
  guint               snap_settle_id;

  char               *selection_layer;
  GArray             *selection;         /* gint64 */
  GCancellable       *selection_cancellable;

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
  EDIT_FINISHED,
  EDIT_FAILED,
  SELECTION_CHANGED,
  FILE_CHANGED,
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
  if (self->result_layer != NULL && !dothi_tile_layer_get_complete (self->result_layer))
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
  if (self->result_layer != NULL)
    busy |= dothi_tile_layer_get_busy (self->result_layer);
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

static void queue_snap_cache (DothiMapView *self);

static void
viewport_changed_cb (DothiMapView *self)
{
  update_scale_denominator (self);
  expect_complete (self);
  queue_snap_cache (self);
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
      if (self->result_layer != NULL)
        dothi_tile_layer_update_now (self->result_layer);
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

/* Editing ---------------------------------------------------------------- */

static void
emit_edit_failed (DothiMapView *self,
                  const GError *error)
{
  g_signal_emit (self, signals[EDIT_FAILED], 0, error);
}

static void
fail_edit (DothiMapView *self,
           int           code,
           const char   *format,
           ...) G_GNUC_PRINTF (3, 4);

static void
fail_edit (DothiMapView *self,
           int           code,
           const char   *format,
           ...)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  error = g_error_new_literal (DOTHI_ERROR, code, message);
  emit_edit_failed (self, error);
}

static const char *
edit_layer_title (DothiMapView *self)
{
  const DothiLayerInfo *info = self->edit_info;

  return info->title != NULL && info->title[0] != '\0' ? info->title : info->name;
}

static gboolean
tool_draws (DothiEditTool tool)
{
  return tool == DOTHI_EDIT_TOOL_ADD_POINT || tool == DOTHI_EDIT_TOOL_ADD_LINE
         || tool == DOTHI_EDIT_TOOL_ADD_POLYGON || tool == DOTHI_EDIT_TOOL_SPLIT_PARCEL;
}

static gboolean
tool_snaps (DothiEditTool tool)
{
  return tool_draws (tool) || tool == DOTHI_EDIT_TOOL_EDIT_VERTICES;
}

/* The kind a tool draws. */
static DothiGeometryKind
tool_kind (DothiEditTool tool)
{
  switch (tool)
    {
    case DOTHI_EDIT_TOOL_ADD_POINT: return DOTHI_GEOMETRY_KIND_MULTIPOINT;
    case DOTHI_EDIT_TOOL_ADD_LINE: return DOTHI_GEOMETRY_KIND_MULTILINESTRING;
    case DOTHI_EDIT_TOOL_SPLIT_PARCEL: return DOTHI_GEOMETRY_KIND_MULTILINESTRING;
    case DOTHI_EDIT_TOOL_ADD_POLYGON: return DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
    default: return DOTHI_GEOMETRY_KIND_NONE;
    }
}

/* Widget point → edit layer CRS, exactly (PROJ per point). */
static gboolean
widget_to_layer (DothiMapView *self,
                 double        wx,
                 double        wy,
                 double       *x,
                 double       *y,
                 double       *metres_per_px)
{
  DothiMapFrame frame;
  double mx, my, lat, lon;

  if (self->edit_transform == NULL || !get_frame (self, &frame))
    return FALSE;
  dothi_map_frame_to_mercator (&frame, wx, wy, &mx, &my);
  if (metres_per_px != NULL)
    {
      dothi_mercator_to_lat_lon (mx, my, &lat, &lon);
      *metres_per_px = frame.resolution * cos (lat * G_PI / 180.0);
    }
  return dothi_map_transform_from_mercator (self->edit_transform, mx, my, x, y);
}

static double
centre_metres_per_px (DothiMapView *self)
{
  DothiMapFrame frame;
  double lat = shumate_location_get_latitude (SHUMATE_LOCATION (self->viewport));

  if (!get_frame (self, &frame))
    return 0.0;
  return frame.resolution * cos (lat * G_PI / 180.0);
}

/* Features read for snapping or picking ---------------------------------- */

typedef struct {
  char              *layer;
  gint64             fid;
  double             bbox[4];     /* the target CRS */
  DothiEditGeometry *geometry;    /* the target CRS */
} SnapFeature;

static void
snap_feature_free (gpointer data)
{
  SnapFeature *feature = data;

  g_free (feature->layer);
  dothi_edit_geometry_free (feature->geometry);
  g_free (feature);
}

struct _SnapCache {
  int        srid;        /* the CRS of everything here */
  double     bbox[4];     /* the area read */
  GPtrArray *features;    /* SnapFeature*; NULL when the area held too many */
};

static void
snap_cache_free (SnapCache *cache)
{
  if (cache == NULL)
    return;
  g_clear_pointer (&cache->features, g_ptr_array_unref);
  g_free (cache);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SnapCache, snap_cache_free)

typedef struct {
  const char        *layer;
  DothiMapTransform *from;       /* layer CRS → Web Mercator, or NULL: same CRS */
  DothiMapTransform *to;         /* Web Mercator → target CRS */
  guint              max_vertices;
  guint              n_vertices;
  gboolean           too_many;
  GPtrArray         *out;
} CollectData;

static gboolean
collect_feature_cb (gint64            fid,
                    const DothiValue *values,
                    const guint8     *wkb,
                    gsize             wkb_len,
                    gpointer          user_data,
                    GError          **error)
{
  CollectData *data = user_data;
  g_autoptr(DothiEditGeometry) geometry = dothi_edit_geometry_new_from_wkb (wkb, wkb_len);
  SnapFeature *feature;

  /* Features Dothi cannot edit still exist: they just do not attract. */
  if (geometry == NULL)
    return TRUE;
  data->n_vertices += dothi_edit_geometry_get_n_vertices (geometry);
  if (data->n_vertices > data->max_vertices)
    {
      data->too_many = TRUE;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "too many vertices");
      return FALSE;
    }
  if (data->from != NULL)
    {
      /* Another zone: through Web Mercator, both steps exact PROJ calls. */
      for (guint i = 0; i < geometry->paths->len; i++)
        {
          DothiEditPath *path = geometry->paths->pdata[i];

          for (guint j = 0; j < path->vertices->len; j++)
            {
              DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, j);
              double mx, my;

              if (!dothi_map_transform_to_mercator (data->from, v->x, v->y, &mx, &my)
                  || !dothi_map_transform_from_mercator (data->to, mx, my, &v->x, &v->y))
                return TRUE;
            }
        }
    }

  feature = g_new0 (SnapFeature, 1);
  feature->layer = g_strdup (data->layer);
  feature->fid = fid;
  dothi_edit_geometry_get_bbox (geometry, feature->bbox);
  feature->geometry = g_steal_pointer (&geometry);
  g_ptr_array_add (data->out, feature);
  return TRUE;
}

/* The transform of @srid in @transforms (this thread's), made when first
 * needed; NULL when PROJ has none. */
static DothiMapTransform *
lookup_transform (GHashTable *transforms,
                  int         srid)
{
  DothiMapTransform *transform = NULL;

  if (g_hash_table_lookup_extended (transforms, GINT_TO_POINTER (srid), NULL,
                                    (gpointer *) &transform))
    return transform;
  transform = dothi_map_transform_new (srid, NULL);
  g_hash_table_insert (transforms, GINT_TO_POINTER (srid), transform);
  return transform;
}

/* Reads the features of @layers that meet @bbox (in @srid) into @out as
 * SnapFeatures in @srid. Runs on the thread that owns @project and
 * @transforms. FALSE without @error when more than @max_vertices. */
static gboolean
collect_features (DothiProject        *project,
                  const char * const  *layers,
                  int                  srid,
                  const double         bbox[4],
                  GHashTable          *transforms,
                  guint                max_vertices,
                  GPtrArray           *out,
                  GCancellable        *cancellable,
                  GError             **error)
{
  guint n_vertices = 0;

  for (guint i = 0; layers != NULL && layers[i] != NULL; i++)
    {
      g_autoptr(DothiLayerInfo) info = NULL;
      g_autoptr(GError) local_error = NULL;
      CollectData data = { layers[i], NULL, NULL, max_vertices, n_vertices, FALSE, out };
      double layer_bbox[4];

      info = dothi_project_get_layer (project, layers[i], NULL);
      /* A layer removed meanwhile, or one without geometry, attracts nothing. */
      if (info == NULL || info->kind == DOTHI_GEOMETRY_KIND_NONE || info->srid <= 0)
        continue;
      memcpy (layer_bbox, bbox, sizeof layer_bbox);
      if (info->srid != srid)
        {
          double merc[4];

          data.from = lookup_transform (transforms, info->srid);
          data.to = lookup_transform (transforms, srid);
          if (data.from == NULL || data.to == NULL
              || !dothi_map_transform_bbox_to_mercator (data.to, bbox, merc)
              || !dothi_map_transform_bbox_from_mercator (data.from, merc, layer_bbox))
            continue;
        }
      if (!dothi_store_read_features (dothi_project_get_store (project), layers[i], layer_bbox,
                                      collect_feature_cb, &data, cancellable, &local_error))
        {
          if (data.too_many)
            return FALSE;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      n_vertices = data.n_vertices;
    }
  return TRUE;
}

typedef struct {
  char   *path;
  GStrv   layers;
  int     srid;
  double  bbox[4];
} SnapRequest;

static void
snap_request_free (SnapRequest *request)
{
  g_free (request->path);
  g_strfreev (request->layers);
  g_free (request);
}

/* On a worker thread, with a read-only connection of its own. */
static void
read_snap_cache_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  SnapRequest *request = task_data;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GHashTable) transforms = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                                            NULL, transform_free);
  g_autoptr(SnapCache) cache = g_new0 (SnapCache, 1);
  GError *error = NULL;

  project = dothi_project_open (request->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  if (project == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  cache->srid = request->srid;
  memcpy (cache->bbox, request->bbox, sizeof cache->bbox);
  cache->features = g_ptr_array_new_with_free_func (snap_feature_free);
  if (!collect_features (project, (const char * const *) request->layers, request->srid,
                         request->bbox, transforms, SNAP_MAX_VERTICES, cache->features,
                         cancellable, &error))
    {
      if (error != NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      /* Too dense to hold: the pointer snaps on clicks only. */
      g_clear_pointer (&cache->features, g_ptr_array_unref);
    }
  g_task_return_pointer (task, g_steal_pointer (&cache), (GDestroyNotify) snap_cache_free);
}

static gboolean
bbox_covers (const double outer[4], const double inner[4])
{
  return outer[0] <= inner[0] && outer[1] <= inner[1]
         && outer[2] >= inner[2] && outer[3] >= inner[3];
}

static double
bbox_area (const double bbox[4])
{
  return (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]);
}

static gboolean
bbox_meets (const double a[4], const double b[4])
{
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

static void update_pointer (DothiMapView *self);

static void
snap_cache_read_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(DothiMapView) self = user_data;
  g_autoptr(GError) error = NULL;
  SnapCache *cache = g_task_propagate_pointer (G_TASK (result), &error);

  if (cache == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        report_error (self, error);
      return;
    }
  if (g_task_get_cancellable (G_TASK (result)) != self->snap_cancellable)
    {
      snap_cache_free (cache);
      return;
    }
  g_clear_object (&self->snap_cancellable);
  snap_cache_free (self->snap_cache);
  self->snap_cache = cache;
  update_pointer (self);
}

static void
drop_snap_cache (DothiMapView *self)
{
  if (self->snap_cancellable != NULL)
    g_cancellable_cancel (self->snap_cancellable);
  g_clear_object (&self->snap_cancellable);
  g_clear_pointer (&self->snap_cache, snap_cache_free);
}

/* Reads the snap layers around the viewport on a worker, unless what is
 * held (or asked for) covers it already. */
static void
ensure_snap_cache (DothiMapView *self)
{
  g_autoptr(GTask) task = NULL;
  SnapRequest *request;
  DothiMapFrame frame;
  double merc[4], bbox[4], w, h;

  if (self->project == NULL || !tool_snaps (self->tool) || self->edit_transform == NULL
      || self->snap_layers == NULL || self->snap_layers[0] == NULL
      || self->snap_tolerance_px <= 0.0 || !get_frame (self, &frame)
      || frame.resolution > SNAP_MAX_RESOLUTION)
    return;
  dothi_map_frame_get_bbox (&frame, merc);
  if (!dothi_map_transform_bbox_from_mercator (self->edit_transform, merc, bbox))
    return;
  /* An area found too dense is asked again once zoomed in well past it. */
  if (self->snap_cache != NULL && self->snap_cache->srid == self->edit_info->srid
      && bbox_covers (self->snap_cache->bbox, bbox)
      && (self->snap_cache->features != NULL
          || bbox_area (bbox) * 4.5 >= bbox_area (self->snap_cache->bbox)))
    return;
  if (self->snap_cancellable != NULL && bbox_covers (self->snap_asked, bbox))
    return;

  drop_snap_cache (self);
  /* A margin, so small pans are served from what is held. */
  w = bbox[2] - bbox[0];
  h = bbox[3] - bbox[1];
  request = g_new0 (SnapRequest, 1);
  request->path = g_strdup (dothi_project_get_path (self->project));
  request->layers = g_strdupv (self->snap_layers);
  request->srid = self->edit_info->srid;
  request->bbox[0] = bbox[0] - w / 4.0;
  request->bbox[1] = bbox[1] - h / 4.0;
  request->bbox[2] = bbox[2] + w / 4.0;
  request->bbox[3] = bbox[3] + h / 4.0;
  memcpy (self->snap_asked, request->bbox, sizeof self->snap_asked);

  self->snap_cancellable = g_cancellable_new ();
  task = g_task_new (NULL, self->snap_cancellable, snap_cache_read_cb, g_object_ref (self));
  g_task_set_source_tag (task, ensure_snap_cache);
  g_task_set_task_data (task, request, (GDestroyNotify) snap_request_free);
  g_task_run_in_thread (task, read_snap_cache_thread);
}

static gboolean
snap_settled_cb (gpointer user_data)
{
  DothiMapView *self = user_data;

  self->snap_settle_id = 0;
  ensure_snap_cache (self);
  return G_SOURCE_REMOVE;
}

static void
queue_snap_cache (DothiMapView *self)
{
  if (!tool_snaps (self->tool) || self->snap_layers == NULL)
    return;
  g_clear_handle_id (&self->snap_settle_id, g_source_remove);
  self->snap_settle_id = g_timeout_add (SNAP_SETTLE_MS, snap_settled_cb, self);
}

static gboolean
skip_snap_feature (DothiMapView *self, const SnapFeature *feature)
{
  /* The picked feature as stored: its vertices are being moved. */
  return self->edit_fid >= 0 && feature->fid == self->edit_fid
         && g_strcmp0 (feature->layer, self->edit_info->name) == 0;
}

/* The snap target near (@x, @y) in the edit layer CRS: from the cache, or
 * with @allow_read by reading the few features around it (a small
 * bbox, on the main thread: clicks and typed vertices). */
static gboolean
find_snap (DothiMapView *self,
           double        x,
           double        y,
           double        tolerance,
           gboolean      allow_read,
           DothiSnap    *snap)
{
  g_autoptr(GPtrArray) read = NULL;
  GPtrArray *features = NULL;
  double box[4] = { x - tolerance, y - tolerance, x + tolerance, y + tolerance };

  snap->kind = DOTHI_SNAP_NONE;
  snap->distance = G_MAXDOUBLE;
  if (self->project == NULL || self->snap_layers == NULL || self->snap_layers[0] == NULL
      || tolerance <= 0.0 || isnan (x) || self->edit_info == NULL)
    return FALSE;

  if (self->snap_cache != NULL && self->snap_cache->features != NULL
      && self->snap_cache->srid == self->edit_info->srid
      && bbox_covers (self->snap_cache->bbox, box))
    features = self->snap_cache->features;
  else if (allow_read)
    {
      g_autoptr(GError) error = NULL;

      read = g_ptr_array_new_with_free_func (snap_feature_free);
      if (!collect_features (self->project, (const char * const *) self->snap_layers,
                             self->edit_info->srid, box, self->transforms,
                             SNAP_MAX_VERTICES, read, NULL, &error)
          && error != NULL)
        report_error (self, error);
      features = read;
    }
  if (features == NULL)
    return FALSE;

  for (guint i = 0; i < features->len; i++)
    {
      const SnapFeature *feature = features->pdata[i];

      if (bbox_meets (feature->bbox, box) && !skip_snap_feature (self, feature))
        dothi_edit_geometry_snap (feature->geometry, x, y, tolerance, snap);
    }
  return snap->kind != DOTHI_SNAP_NONE;
}

/* The feature of the edit layer at (@x, @y) (layer CRS) within @tolerance:
 * inside a polygon or nearest to the point; the upper one (later fid) on
 * a tie. */
static gboolean
pick_feature (DothiMapView       *self,
              double              x,
              double              y,
              double              tolerance,
              gint64             *fid,
              DothiEditGeometry **geometry)
{
  g_autoptr(GPtrArray) read = g_ptr_array_new_with_free_func (snap_feature_free);
  g_autoptr(GError) error = NULL;
  const char *layers[] = { self->edit_info->name, NULL };
  double box[4] = { x - tolerance, y - tolerance, x + tolerance, y + tolerance };
  SnapFeature *best = NULL;
  double best_distance = G_MAXDOUBLE;

  if (!collect_features (self->project, layers, self->edit_info->srid, box, self->transforms,
                         PICK_MAX_VERTICES, read, NULL, &error))
    {
      if (error != NULL)
        report_error (self, error);
      return FALSE;
    }
  for (guint i = 0; i < read->len; i++)
    {
      SnapFeature *feature = read->pdata[i];
      double d = dothi_edit_geometry_distance (feature->geometry, x, y);

      if (d <= tolerance && (d < best_distance || (d == best_distance && feature->fid > best->fid)))
        {
          best = feature;
          best_distance = d;
        }
    }
  if (best == NULL)
    return FALSE;
  *fid = best->fid;
  *geometry = g_steal_pointer (&best->geometry);
  return TRUE;
}

/* The sketch on the overlay ---------------------------------------------- */

static void
show_sketch (DothiMapView *self)
{
  if (self->edit_overlay == NULL)
    return;
  dothi_edit_layer_set_sketch (self->edit_overlay, self->sketch, self->edit_transform,
                               self->tool == DOTHI_EDIT_TOOL_EDIT_VERTICES || tool_draws (self->tool));
  if (self->sketch == NULL)
    dothi_edit_layer_set_hover (self->edit_overlay, -1, -1);
}

static void
clear_sketch (DothiMapView *self)
{
  g_clear_pointer (&self->sketch, dothi_edit_geometry_free);
  g_clear_pointer (&self->original, dothi_edit_geometry_free);
  self->edit_fid = -1;
  self->modified = FALSE;
  self->drag_mode = DRAG_NONE;
  self->hover_path = -1;
  self->hover_vertex = -1;
  show_sketch (self);
  if (self->edit_overlay != NULL)
    dothi_edit_layer_set_rubber_band (self->edit_overlay, -1, 0, 0);
}

static void
set_cursor (DothiMapView *self, const char *name)
{
  GtkWidget *map = GTK_WIDGET (self->map);
  GdkCursor *cursor = gtk_widget_get_cursor (map);

  if (cursor != NULL && g_strcmp0 (gdk_cursor_get_name (cursor), name) == 0)
    return;
  gtk_widget_set_cursor_from_name (map, name);
}

/* Snap marker, rubber band, hovered vertex and cursor for the pointer at
 * (pointer_x, pointer_y). */
static void
update_pointer (DothiMapView *self)
{
  double x, y, metres_per_px;
  gboolean over_handle = FALSE;

  if (self->edit_overlay == NULL || self->tool == DOTHI_EDIT_TOOL_NONE)
    return;
  if (!self->has_pointer
      || !widget_to_layer (self, self->pointer_x, self->pointer_y, &x, &y, &metres_per_px))
    {
      self->snap.kind = DOTHI_SNAP_NONE;
      dothi_edit_layer_set_snap (self->edit_overlay, DOTHI_SNAP_NONE, 0, 0);
      dothi_edit_layer_set_rubber_band (self->edit_overlay, -1, 0, 0);
      return;
    }

  if (tool_snaps (self->tool) && self->drag_mode != DRAG_FEATURE
      && find_snap (self, x, y, self->snap_tolerance_px * metres_per_px, FALSE, &self->snap))
    {
      x = self->snap.x;
      y = self->snap.y;
    }
  dothi_edit_layer_set_snap (self->edit_overlay, self->snap.kind, self->snap.x, self->snap.y);

  if (tool_draws (self->tool) && self->sketch != NULL && self->sketch->paths->len > 0
      && self->tool != DOTHI_EDIT_TOOL_ADD_POINT)
    dothi_edit_layer_set_rubber_band (self->edit_overlay, self->sketch->paths->len - 1, x, y);
  else
    dothi_edit_layer_set_rubber_band (self->edit_overlay, -1, 0, 0);

  if (self->tool == DOTHI_EDIT_TOOL_EDIT_VERTICES && self->sketch != NULL
      && self->drag_mode == DRAG_NONE)
    {
      int path = -1, vertex = -1;

      over_handle = dothi_edit_layer_find_vertex (self->edit_overlay, self->pointer_x,
                                                  self->pointer_y, HANDLE_RADIUS_PX,
                                                  &path, &vertex);
      self->hover_path = over_handle ? path : -1;
      self->hover_vertex = over_handle ? vertex : -1;
      dothi_edit_layer_set_hover (self->edit_overlay, self->hover_path, self->hover_vertex);
    }

  if (self->drag_mode != DRAG_NONE)
    set_cursor (self, "grabbing");
  else if (tool_draws (self->tool))
    set_cursor (self, "crosshair");
  else if (over_handle)
    set_cursor (self, "move");
  else
    set_cursor (self, self->tool == DOTHI_EDIT_TOOL_SELECT
                      || self->tool == DOTHI_EDIT_TOOL_DELETE_FEATURE ? "pointer" : "grab");
}

/* Applying --------------------------------------------------------------- */

/* Draws the tiles of @bbox (layer CRS of @srid) of @layer again at once,
 * without waiting for the change watcher. */
static void
invalidate_edited (DothiMapView *self,
                   const char   *layer,
                   int           srid,
                   const double  bbox[4])
{
  DothiMapTransform *transform = get_transform (self, srid);
  DothiTileLayer *tile_layer = find_tile_layer (self, layer);
  DothiMapFrame frame;
  double merc[4], margin = 0.0;

  if (self->pool == NULL || transform == NULL
      || !dothi_map_transform_bbox_to_mercator (transform, bbox, merc))
    return;
  /* Symbols reach beyond the geometry: a few dozen pixels. */
  if (get_frame (self, &frame))
    margin = 32.0 * frame.resolution;
  merc[0] -= margin;
  merc[1] -= margin;
  merc[2] += margin;
  merc[3] += margin;
  dothi_render_pool_invalidate (self->pool, layer, merc);
  if (tile_layer != NULL)
    dothi_tile_layer_invalidate_bbox (tile_layer, merc);
  if (self->result_layer != NULL && g_strcmp0 (layer, self->result_name) == 0)
    dothi_tile_layer_invalidate_bbox (self->result_layer, merc);
  if (self->label_layer != NULL)
    dothi_label_layer_refresh (self->label_layer);
  expect_complete (self);
}

static void
bbox_union (double into[4], const double bbox[4])
{
  into[0] = MIN (into[0], bbox[0]);
  into[1] = MIN (into[1], bbox[1]);
  into[2] = MAX (into[2], bbox[2]);
  into[3] = MAX (into[3], bbox[3]);
}

static void
set_last_fids (DothiMapView *self, GArray *fids)
{
  g_array_set_size (self->last_fids, 0);
  if (fids != NULL)
    g_array_append_vals (self->last_fids, fids->data, fids->len);
}

/* Applies @set as one action; afterwards the map shows it at once. The
 * caller emits "edit-finished" once its own state is settled. */
static gint64
apply_change_set (DothiMapView   *self,
                  DothiChangeSet *set,
                  const char     *label,
                  const double    bbox[4])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) new_fids = NULL;
  gint64 action;

  action = dothi_edit_apply_sync (self->project, set, label, &new_fids, NULL, NULL, NULL, &error);
  if (action <= 0)
    {
      emit_edit_failed (self, error);
      return 0;
    }
  set_last_fids (self, new_fids);
  invalidate_edited (self, self->edit_info->name, self->edit_info->srid, bbox);
  drop_snap_cache (self);
  queue_snap_cache (self);
  return action;
}

static void
emit_edit_finished (DothiMapView *self, gint64 action)
{
  g_signal_emit (self, signals[EDIT_FINISHED], 0, action);
}

/* Rings of three distinct vertices, lines of two, points of one. */
static gboolean
check_sketch (DothiMapView            *self,
              const DothiEditGeometry *sketch)
{
  guint n_points = 0;

  for (guint i = 0; i < sketch->paths->len; i++)
    {
      const DothiEditPath *path = sketch->paths->pdata[i];
      guint n = dothi_edit_path_count_distinct (path);

      if (sketch->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON && n < 3)
        {
          fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: layer title */
                     _("A polygon in “%s” needs at least three distinct vertices"),
                     edit_layer_title (self));
          return FALSE;
        }
      if (sketch->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING && n < 2)
        {
          fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: layer title */
                     _("A line in “%s” needs at least two distinct vertices"),
                     edit_layer_title (self));
          return FALSE;
        }
      n_points += n;
    }
  if (n_points == 0)
    {
      fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: layer title */
                 _("Nothing was drawn for “%s”"), edit_layer_title (self));
      return FALSE;
    }
  return TRUE;
}

static gboolean
finish_add (DothiMapView *self)
{
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(JsonObject) properties = NULL;
  g_autoptr(GBytes) wkb = NULL;
  g_autofree char *label = NULL;
  double bbox[4];
  gint64 action;

  if (self->sketch == NULL || !check_sketch (self, self->sketch))
    return FALSE;
  dothi_edit_geometry_get_bbox (self->sketch, bbox);
  wkb = dothi_edit_geometry_to_wkb (self->sketch);
  /* No attributes yet: the window opens the form after "edit-finished". */
  properties = json_object_new ();
  set = dothi_change_set_new ();
  dothi_change_set_insert (set, self->edit_info->name, properties, wkb);
  /* Translators: an action in the history; the layer title */
  label = g_strdup_printf (_("Add feature to “%s”"), edit_layer_title (self));
  action = apply_change_set (self, set, label, bbox);
  if (action <= 0)
    return FALSE;
  clear_sketch (self);
  update_pointer (self);
  emit_edit_finished (self, action);
  return TRUE;
}

static gboolean
finish_vertices (DothiMapView *self)
{
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(GBytes) wkb = NULL;
  g_autofree char *label = NULL;
  double bbox[4], new_bbox[4];
  gint64 action;

  if (self->sketch == NULL || !self->modified || !check_sketch (self, self->sketch))
    return FALSE;
  dothi_edit_geometry_get_bbox (self->original, bbox);
  dothi_edit_geometry_get_bbox (self->sketch, new_bbox);
  bbox_union (bbox, new_bbox);
  wkb = dothi_edit_geometry_to_wkb (self->sketch);
  set = dothi_change_set_new ();
  dothi_change_set_update (set, self->edit_info->name, self->edit_fid, NULL, wkb);
  /* Translators: an action in the history; a feature id */
  label = g_strdup_printf (_("Edit geometry of feature %lld"), (long long) self->edit_fid);
  action = apply_change_set (self, set, label, bbox);
  if (action <= 0)
    return FALSE;
  /* Still picked, as it is now stored. */
  g_clear_pointer (&self->original, dothi_edit_geometry_free);
  self->original = dothi_edit_geometry_copy (self->sketch);
  self->modified = FALSE;
  emit_edit_finished (self, action);
  return TRUE;
}

static gboolean
finish_move (DothiMapView *self)
{
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(GBytes) wkb = NULL;
  g_autofree char *label = NULL;
  double bbox[4], new_bbox[4];
  gint64 action;

  if (self->sketch == NULL || !self->modified)
    {
      clear_sketch (self);
      return FALSE;
    }
  dothi_edit_geometry_get_bbox (self->original, bbox);
  dothi_edit_geometry_get_bbox (self->sketch, new_bbox);
  bbox_union (bbox, new_bbox);
  wkb = dothi_edit_geometry_to_wkb (self->sketch);
  set = dothi_change_set_new ();
  dothi_change_set_update (set, self->edit_info->name, self->edit_fid, NULL, wkb);
  /* Translators: an action in the history; a feature id */
  label = g_strdup_printf (_("Move feature %lld"), (long long) self->edit_fid);
  action = apply_change_set (self, set, label, bbox);
  clear_sketch (self);
  if (action <= 0)
    return FALSE;
  emit_edit_finished (self, action);
  return TRUE;
}

static gboolean
delete_feature (DothiMapView      *self,
                gint64             fid,
                DothiEditGeometry *geometry)
{
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autofree char *label = NULL;
  double bbox[4];
  gint64 action;

  dothi_edit_geometry_get_bbox (geometry, bbox);
  dothi_change_set_delete (set, self->edit_info->name, fid);
  /* Translators: an action in the history; a feature id */
  label = g_strdup_printf (_("Delete feature %lld"), (long long) fid);
  action = apply_change_set (self, set, label, bbox);
  if (action <= 0)
    return FALSE;
  emit_edit_finished (self, action);
  return TRUE;
}

/* The parcel the drawn line goes across; exactly one, or an error. */
static gboolean
finish_split (DothiMapView *self)
{
  g_autoptr(GPtrArray) read = g_ptr_array_new_with_free_func (snap_feature_free);
  g_autoptr(DothiParcelRules) rules = NULL;
  g_autoptr(GArray) new_fids = NULL;
  g_autoptr(GBytes) wkb = NULL;
  g_autoptr(GError) error = NULL;
  const char *layers[] = { self->edit_info->name, NULL };
  const DothiEditPath *line;
  SnapFeature *parcel = NULL;
  guint n_crossed = 0;
  double bbox[4];
  gint64 action;

  if (self->sketch == NULL || !check_sketch (self, self->sketch))
    return FALSE;
  line = self->sketch->paths->pdata[0];
  dothi_edit_geometry_get_bbox (self->sketch, bbox);
  /* The parcels along one drawn line: a small read. */
  if (!collect_features (self->project, layers, self->edit_info->srid, bbox, self->transforms,
                         PICK_MAX_VERTICES, read, NULL, &error))
    {
      if (error == NULL)
        fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer title */
                   _("The line crosses too many parcels of “%s”; draw it across one"),
                   edit_layer_title (self));
      else
        emit_edit_failed (self, error);
      return FALSE;
    }
  for (guint i = 0; i < read->len; i++)
    {
      SnapFeature *feature = read->pdata[i];

      if (dothi_edit_geometry_crossed_by (feature->geometry, line))
        {
          parcel = feature;
          n_crossed++;
        }
    }
  if (n_crossed == 0)
    {
      fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: layer title */
                 _("The line does not cross a parcel of “%s”; draw it from outside to outside"),
                 edit_layer_title (self));
      return FALSE;
    }
  if (n_crossed > 1)
    {
      fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: number of parcels, layer title */
                 ngettext ("The line crosses %u parcel of “%s”; draw it across one",
                           "The line crosses %u parcels of “%s”; draw it across one",
                           n_crossed),
                 n_crossed, edit_layer_title (self));
      return FALSE;
    }

  rules = dothi_parcel_rules_new_default (self->edit_info);
  wkb = dothi_edit_path_to_line_wkb (line);
  action = dothi_parcel_split_sync (self->project, self->edit_info->name, parcel->fid, wkb,
                                    rules, &new_fids, &error);
  if (action <= 0)
    {
      emit_edit_failed (self, error);
      return FALSE;
    }
  set_last_fids (self, new_fids);
  invalidate_edited (self, self->edit_info->name, self->edit_info->srid, parcel->bbox);
  drop_snap_cache (self);
  queue_snap_cache (self);
  clear_sketch (self);
  update_pointer (self);
  emit_edit_finished (self, action);
  return TRUE;
}

/* Drawing ---------------------------------------------------------------- */

/* Appends a vertex (edit layer CRS, already snapped) to the sketch. */
static void
add_vertex (DothiMapView *self,
            double        x,
            double        y)
{
  DothiEditVertex vertex = { x, y, 0.0, 0.0 };
  DothiEditPath *path;

  if (self->sketch == NULL)
    {
      self->sketch = dothi_edit_geometry_new (tool_kind (self->tool), self->edit_info->has_z,
                                              self->edit_info->has_m);
      dothi_edit_geometry_add_path (self->sketch, 0,
                                    self->tool == DOTHI_EDIT_TOOL_ADD_POLYGON);
    }
  path = self->sketch->paths->pdata[0];
  /* A second click on the same spot adds nothing. */
  if (path->vertices->len > 0
      && g_array_index (path->vertices, DothiEditVertex, path->vertices->len - 1).x == x
      && g_array_index (path->vertices, DothiEditVertex, path->vertices->len - 1).y == y)
    return;
  g_array_append_val (path->vertices, vertex);
  show_sketch (self);

  if (self->tool == DOTHI_EDIT_TOOL_ADD_POINT)
    finish_add (self);
  else
    update_pointer (self);
}

/* A click of a drawing tool at widget (@wx, @wy), snapped. */
static void
add_clicked_vertex (DothiMapView *self,
                    double        wx,
                    double        wy)
{
  DothiSnap snap;
  double x, y, metres_per_px;

  if (!widget_to_layer (self, wx, wy, &x, &y, &metres_per_px))
    return;
  if (find_snap (self, x, y, self->snap_tolerance_px * metres_per_px, TRUE, &snap))
    {
      x = snap.x;
      y = snap.y;
    }
  add_vertex (self, x, y);
}

static void
remove_last_vertex (DothiMapView *self)
{
  DothiEditPath *path;

  if (self->sketch == NULL || !tool_draws (self->tool))
    return;
  path = self->sketch->paths->pdata[0];
  if (path->vertices->len > 0)
    g_array_set_size (path->vertices, path->vertices->len - 1);
  if (path->vertices->len == 0)
    g_clear_pointer (&self->sketch, dothi_edit_geometry_free);
  show_sketch (self);
  update_pointer (self);
}

/* Vertex editing --------------------------------------------------------- */

/* Picks the feature under widget (@wx, @wy): the one whose vertices are
 * edited. An unapplied edit of the one before is applied first. */
static void
pick_for_vertices (DothiMapView *self,
                   double        wx,
                   double        wy)
{
  g_autoptr(DothiEditGeometry) geometry = NULL;
  double x, y, metres_per_px;
  gint64 fid;

  if (!widget_to_layer (self, wx, wy, &x, &y, &metres_per_px)
      || !pick_feature (self, x, y, PICK_TOLERANCE_PX * metres_per_px, &fid, &geometry))
    {
      /* Clicking beside it keeps an edit that was not applied yet. */
      if (!self->modified)
        clear_sketch (self);
      return;
    }
  if (fid == self->edit_fid)
    return;
  if (self->modified && !finish_vertices (self))
    return;
  clear_sketch (self);
  self->edit_fid = fid;
  self->original = dothi_edit_geometry_copy (geometry);
  self->sketch = g_steal_pointer (&geometry);
  show_sketch (self);
  update_pointer (self);
}

/* A click on a segment of the picked feature adds a vertex there. */
static gboolean
insert_vertex_at (DothiMapView *self,
                  double        wx,
                  double        wy)
{
  DothiEditPath *path;
  const DothiEditVertex *a, *b;
  DothiEditVertex vertex = { 0 };
  DothiSnap snap;
  double x, y, metres_per_px, dx, dy, t;
  int path_index, after;

  if (self->sketch == NULL
      || !dothi_edit_layer_find_segment (self->edit_overlay, wx, wy, HANDLE_RADIUS_PX,
                                         &path_index, &after)
      || !widget_to_layer (self, wx, wy, &x, &y, &metres_per_px))
    return FALSE;
  path = self->sketch->paths->pdata[path_index];
  a = &g_array_index (path->vertices, DothiEditVertex, after);
  b = &g_array_index (path->vertices, DothiEditVertex, (after + 1) % path->vertices->len);
  /* On the segment, in the layer CRS, unless something attracts it. */
  dx = b->x - a->x;
  dy = b->y - a->y;
  t = dx * dx + dy * dy > 0.0 ? CLAMP (((x - a->x) * dx + (y - a->y) * dy) / (dx * dx + dy * dy), 0.0, 1.0) : 0.0;
  vertex.x = a->x + t * dx;
  vertex.y = a->y + t * dy;
  vertex.z = a->z + t * (b->z - a->z);
  vertex.m = a->m + t * (b->m - a->m);
  if (find_snap (self, x, y, self->snap_tolerance_px * metres_per_px, TRUE, &snap)
      && snap.kind == DOTHI_SNAP_VERTEX)
    {
      vertex.x = snap.x;
      vertex.y = snap.y;
    }
  g_array_insert_val (path->vertices, after + 1, vertex);
  self->modified = TRUE;
  show_sketch (self);
  update_pointer (self);
  return TRUE;
}

static void
delete_vertex (DothiMapView *self,
               int           path_index,
               int           vertex)
{
  DothiEditPath *path;
  guint left;

  if (self->sketch == NULL || path_index < 0 || (guint) path_index >= self->sketch->paths->len)
    return;
  path = self->sketch->paths->pdata[path_index];
  if (vertex < 0 || (guint) vertex >= path->vertices->len)
    return;
  left = path->vertices->len - 1;
  if (self->sketch->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON && left < 3)
    {
      fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: feature id, layer title */
                 _("Feature %lld of “%s” cannot lose this vertex: a ring needs three"),
                 (long long) self->edit_fid, edit_layer_title (self));
      return;
    }
  if (self->sketch->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING && left < 2)
    {
      fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: feature id, layer title */
                 _("Feature %lld of “%s” cannot lose this vertex: a line needs two"),
                 (long long) self->edit_fid, edit_layer_title (self));
      return;
    }
  if (left == 0)
    {
      /* A point of a multipoint: the others stay. */
      if (self->sketch->paths->len < 2)
        {
          fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: feature id, layer title */
                     _("Feature %lld of “%s” cannot lose its only point; delete the feature instead"),
                     (long long) self->edit_fid, edit_layer_title (self));
          return;
        }
      g_ptr_array_remove_index (self->sketch->paths, path_index);
    }
  else
    g_array_remove_index (path->vertices, vertex);
  self->modified = TRUE;
  self->hover_path = -1;
  self->hover_vertex = -1;
  show_sketch (self);
  update_pointer (self);
}

/* Selection -------------------------------------------------------------- */

static void
selection_outline_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(DothiMapView) self = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *outline;

  outline = dothi_render_pool_outline_finish (DOTHI_RENDER_POOL (source), result, &error);
  /* A selected feature deleted meanwhile simply is not drawn. */
  if (outline == NULL || self->edit_overlay == NULL
      || g_cancellable_is_cancelled (self->selection_cancellable))
    {
      g_clear_pointer (&outline, g_ptr_array_unref);
      return;
    }
  dothi_edit_layer_add_selection (self->edit_overlay, outline);
}

/* The selection drawn: outlines from the render pool, in Web Mercator,
 * for the picture only. */
static void
show_selection (DothiMapView *self)
{
  DothiTileLayer *tile_layer;

  if (self->selection_cancellable != NULL)
    g_cancellable_cancel (self->selection_cancellable);
  g_clear_object (&self->selection_cancellable);
  if (self->edit_overlay == NULL)
    return;
  dothi_edit_layer_set_selection (self->edit_overlay, NULL);
  tile_layer = find_tile_layer (self, self->selection_layer);
  if (tile_layer == NULL || self->pool == NULL || self->selection->len == 0)
    return;
  self->selection_cancellable = g_cancellable_new ();
  for (guint i = 0; i < MIN (self->selection->len, MAX_SELECTION_SHOWN); i++)
    dothi_render_pool_outline_async (self->pool, dothi_tile_layer_get_render_layer (tile_layer),
                                     g_array_index (self->selection, gint64, i),
                                     self->selection_cancellable, selection_outline_cb,
                                     g_object_ref (self));
}

static void
replace_selection (DothiMapView *self,
                   const char   *layer,
                   const gint64 *fids,
                   guint         n_fids)
{
  g_array_set_size (self->selection, 0);
  if (g_strcmp0 (self->selection_layer, layer) != 0)
    {
      g_free (self->selection_layer);
      self->selection_layer = g_strdup (layer);
    }
  if (layer != NULL && fids != NULL)
    g_array_append_vals (self->selection, fids, n_fids);
  show_selection (self);
}

static void
select_at (DothiMapView    *self,
           double           wx,
           double           wy,
           GdkModifierType  state)
{
  g_autoptr(DothiEditGeometry) geometry = NULL;
  double x, y, metres_per_px;
  gboolean extend = (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK)) != 0;
  gint64 fid = -1;
  guint index;

  if (!widget_to_layer (self, wx, wy, &x, &y, &metres_per_px))
    return;
  if (!pick_feature (self, x, y, PICK_TOLERANCE_PX * metres_per_px, &fid, &geometry))
    fid = -1;
  if (g_strcmp0 (self->selection_layer, self->edit_info->name) != 0)
    replace_selection (self, self->edit_info->name, NULL, 0);

  if (extend && fid >= 0)
    {
      /* Shift toggles one feature. */
      gboolean found = FALSE;

      for (index = 0; index < self->selection->len && !found; index++)
        found = g_array_index (self->selection, gint64, index) == fid;
      if (found)
        g_array_remove_index (self->selection, index - 1);
      else
        g_array_append_val (self->selection, fid);
    }
  else if (!extend)
    {
      if (fid < 0 && self->selection->len == 0)
        return;
      if (fid >= 0 && self->selection->len == 1 && g_array_index (self->selection, gint64, 0) == fid)
        return;
      g_array_set_size (self->selection, 0);
      if (fid >= 0)
        g_array_append_val (self->selection, fid);
    }
  else
    return;
  show_selection (self);
  g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

/* Pointer events of the tools -------------------------------------------- */

static void
tool_clicked (DothiMapView    *self,
              int              n_press,
              double           wx,
              double           wy,
              GdkModifierType  state)
{
  switch (self->tool)
    {
    case DOTHI_EDIT_TOOL_ADD_POINT:
      if (n_press == 1)
        add_clicked_vertex (self, wx, wy);
      break;

    case DOTHI_EDIT_TOOL_ADD_LINE:
    case DOTHI_EDIT_TOOL_ADD_POLYGON:
    case DOTHI_EDIT_TOOL_SPLIT_PARCEL:
      /* The first click of a double click added the last vertex. */
      if (n_press == 1)
        add_clicked_vertex (self, wx, wy);
      else if (n_press == 2)
        dothi_map_view_finish_edit (self);
      break;

    case DOTHI_EDIT_TOOL_EDIT_VERTICES:
      {
        int path, vertex;

        if (n_press != 1)
          break;
        if (self->sketch != NULL
            && dothi_edit_layer_find_vertex (self->edit_overlay, wx, wy, HANDLE_RADIUS_PX,
                                             &path, &vertex))
          break;
        if (insert_vertex_at (self, wx, wy))
          break;
        pick_for_vertices (self, wx, wy);
      }
      break;

    case DOTHI_EDIT_TOOL_DELETE_FEATURE:
      if (n_press == 1)
        {
          g_autoptr(DothiEditGeometry) geometry = NULL;
          double x, y, metres_per_px;
          gint64 fid;

          /* No question asked: undo brings it back. */
          if (widget_to_layer (self, wx, wy, &x, &y, &metres_per_px)
              && pick_feature (self, x, y, PICK_TOLERANCE_PX * metres_per_px, &fid, &geometry))
            delete_feature (self, fid, geometry);
        }
      break;

    case DOTHI_EDIT_TOOL_SELECT:
      if (n_press == 1)
        select_at (self, wx, wy, state);
      break;

    case DOTHI_EDIT_TOOL_MOVE_FEATURE:
    case DOTHI_EDIT_TOOL_NONE:
    default:
      break;
    }
}

static void
secondary_pressed_cb (GtkGestureClick *gesture,
                      int              n_press,
                      double           x,
                      double           y,
                      DothiMapView    *self)
{
  int path, vertex;

  if (self->tool != DOTHI_EDIT_TOOL_EDIT_VERTICES || self->sketch == NULL
      || !dothi_edit_layer_find_vertex (self->edit_overlay, x, y, HANDLE_RADIUS_PX,
                                        &path, &vertex))
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  delete_vertex (self, path, vertex);
}

/* Captured before the map's own drag: a press on a vertex handle (or on a
 * feature with the move tool) is the tool's; anything else pans. */
static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               DothiMapView   *self)
{
  self->drag_mode = DRAG_NONE;

  if (self->tool == DOTHI_EDIT_TOOL_EDIT_VERTICES && self->sketch != NULL
      && dothi_edit_layer_find_vertex (self->edit_overlay, x, y, HANDLE_RADIUS_PX,
                                       &self->drag_path, &self->drag_vertex))
    {
      DothiEditPath *path = self->sketch->paths->pdata[self->drag_path];

      self->drag_mode = DRAG_VERTEX;
      self->drag_saved = g_array_index (path->vertices, DothiEditVertex, self->drag_vertex);
      self->drag_was_modified = self->modified;
    }
  else if (self->tool == DOTHI_EDIT_TOOL_MOVE_FEATURE && self->project != NULL)
    {
      g_autoptr(DothiEditGeometry) geometry = NULL;
      double lx, ly, metres_per_px;
      gint64 fid;

      if (widget_to_layer (self, x, y, &lx, &ly, &metres_per_px)
          && pick_feature (self, lx, ly, PICK_TOLERANCE_PX * metres_per_px, &fid, &geometry))
        {
          clear_sketch (self);
          self->drag_mode = DRAG_FEATURE;
          self->drag_origin_x = lx;
          self->drag_origin_y = ly;
          self->edit_fid = fid;
          self->original = dothi_edit_geometry_copy (geometry);
          self->sketch = g_steal_pointer (&geometry);
          show_sketch (self);
        }
    }

  if (self->drag_mode == DRAG_NONE)
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  self->drag_start_x = x;
  self->drag_start_y = y;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  set_cursor (self, "grabbing");
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                DothiMapView   *self)
{
  double wx = self->drag_start_x + offset_x, wy = self->drag_start_y + offset_y;
  double x, y, metres_per_px;

  if (self->drag_mode == DRAG_NONE || self->sketch == NULL
      || !widget_to_layer (self, wx, wy, &x, &y, &metres_per_px))
    return;
  self->has_pointer = TRUE;
  self->pointer_x = wx;
  self->pointer_y = wy;

  if (self->drag_mode == DRAG_VERTEX)
    {
      DothiEditPath *path = self->sketch->paths->pdata[self->drag_path];
      DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, self->drag_vertex);

      if (find_snap (self, x, y, self->snap_tolerance_px * metres_per_px, FALSE, &self->snap))
        {
          x = self->snap.x;
          y = self->snap.y;
        }
      v->x = x;
      v->y = y;
      self->modified = TRUE;
      dothi_edit_layer_set_snap (self->edit_overlay, self->snap.kind, self->snap.x, self->snap.y);
    }
  else
    {
      /* The offset in the layer CRS, from the two ends of the drag. */
      g_clear_pointer (&self->sketch, dothi_edit_geometry_free);
      self->sketch = dothi_edit_geometry_copy (self->original);
      dothi_edit_geometry_translate (self->sketch, x - self->drag_origin_x, y - self->drag_origin_y);
      self->modified = x != self->drag_origin_x || y != self->drag_origin_y;
    }
  show_sketch (self);
  if (self->drag_mode == DRAG_VERTEX)
    dothi_edit_layer_set_hover (self->edit_overlay, self->drag_path, self->drag_vertex);
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          offset_x,
             double          offset_y,
             DothiMapView   *self)
{
  int mode = self->drag_mode;

  if (mode == DRAG_NONE)
    return;
  self->drag_mode = DRAG_NONE;
  if (mode == DRAG_FEATURE)
    finish_move (self);
  update_pointer (self);
}

/* A drag taken away (a grab, Escape): the sketch as before it. */
static void
drag_cancel_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                DothiMapView     *self)
{
  int mode = self->drag_mode;

  if (mode == DRAG_NONE)
    return;
  self->drag_mode = DRAG_NONE;
  if (mode == DRAG_VERTEX && self->sketch != NULL)
    {
      DothiEditPath *path = self->sketch->paths->pdata[self->drag_path];

      g_array_index (path->vertices, DothiEditVertex, self->drag_vertex) = self->drag_saved;
      self->modified = self->drag_was_modified;
      show_sketch (self);
    }
  else if (mode == DRAG_FEATURE)
    clear_sketch (self);
  update_pointer (self);
}

static void
leave_tool (DothiMapView *self)
{
  if (self->drag_mode != DRAG_NONE && self->drag != NULL)
    gtk_event_controller_reset (GTK_EVENT_CONTROLLER (self->drag));
  clear_sketch (self);
  drop_snap_cache (self);
  g_clear_handle_id (&self->snap_settle_id, g_source_remove);
  self->snap.kind = DOTHI_SNAP_NONE;
  if (self->edit_overlay != NULL)
    dothi_edit_layer_set_snap (self->edit_overlay, DOTHI_SNAP_NONE, 0, 0);
  g_clear_pointer (&self->edit_info, dothi_layer_info_free);
  self->edit_transform = NULL;
  self->tool = DOTHI_EDIT_TOOL_NONE;
  if (self->map != NULL)
    {
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self->map), "grab");
      shumate_map_set_zoom_on_double_click (self->map, TRUE);
    }
}

/* The file changed (our edit, an undo, another program): what is held
 * from it is read again. */
static void
edit_data_changed (DothiMapView *self,
                   GPtrArray    *changes)
{
  gboolean selection_touched = FALSE, edit_touched = FALSE;

  for (guint i = 0; i < changes->len; i++)
    {
      const DothiChange *change = changes->pdata[i];

      selection_touched |= g_strcmp0 (change->layer, self->selection_layer) == 0;
      edit_touched |= self->edit_info != NULL
                      && g_strcmp0 (change->layer, self->edit_info->name) == 0;
    }
  if (self->snap_cache != NULL || self->snap_cancellable != NULL)
    {
      drop_snap_cache (self);
      queue_snap_cache (self);
    }
  if (selection_touched && self->selection->len > 0)
    show_selection (self);

  /* The picked feature, unless it holds an unapplied edit, follows the
   * file (an undo brings the old vertices back). */
  if (edit_touched && self->tool == DOTHI_EDIT_TOOL_EDIT_VERTICES && self->original != NULL
      && !self->modified && self->drag_mode == DRAG_NONE)
    {
      g_autoptr(GPtrArray) read = g_ptr_array_new_with_free_func (snap_feature_free);
      const char *layers[] = { self->edit_info->name, NULL };
      gint64 fid = self->edit_fid;
      double bbox[4];

      dothi_edit_geometry_get_bbox (self->original, bbox);
      clear_sketch (self);
      if (!collect_features (self->project, layers, self->edit_info->srid, bbox, self->transforms,
                             PICK_MAX_VERTICES, read, NULL, NULL))
        return;
      for (guint i = 0; i < read->len; i++)
        {
          SnapFeature *feature = read->pdata[i];

          if (feature->fid != fid)
            continue;
          self->edit_fid = fid;
          self->original = dothi_edit_geometry_copy (feature->geometry);
          self->sketch = g_steal_pointer (&feature->geometry);
          break;
        }
      show_sketch (self);
      update_pointer (self);
    }
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           DothiMapView             *self)
{
  double px, py, lat, lon;

  if (self->tool != DOTHI_EDIT_TOOL_NONE && self->drag_mode == DRAG_NONE)
    {
      self->has_pointer = TRUE;
      self->pointer_x = x;
      self->pointer_y = y;
      update_pointer (self);
    }
  if (widget_to_project (self, x, y, &px, &py, &lat, &lon, NULL))
    g_signal_emit (self, signals[POINTER_MOVED], 0, px, py, lat, lon);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          DothiMapView             *self)
{
  if (self->drag_mode == DRAG_NONE)
    {
      self->has_pointer = FALSE;
      update_pointer (self);
    }
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

  if (hypot (x - self->press_x, y - self->press_y) > CLICK_SLOP_PX)
    return;
  /* A tool owns the clicks: no identify meanwhile. */
  if (self->tool != DOTHI_EDIT_TOOL_NONE)
    {
      if (self->project != NULL)
        tool_clicked (self, n_press, x, y,
                      gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture)));
      return;
    }
  if (n_press != 1 || self->project == NULL
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

  if (self->tool != DOTHI_EDIT_TOOL_NONE)
    switch (keyval)
      {
      case GDK_KEY_Return: case GDK_KEY_KP_Enter: case GDK_KEY_ISO_Enter:
        dothi_map_view_finish_edit (self);
        return GDK_EVENT_STOP;
      case GDK_KEY_Escape:
        /* Nothing to cancel: Escape is the window's (closing a panel). */
        if (self->sketch == NULL && self->drag_mode == DRAG_NONE)
          return GDK_EVENT_PROPAGATE;
        dothi_map_view_cancel_edit (self);
        return GDK_EVENT_STOP;
      case GDK_KEY_BackSpace:
        if (!tool_draws (self->tool))
          return GDK_EVENT_PROPAGATE;
        remove_last_vertex (self);
        return GDK_EVENT_STOP;
      case GDK_KEY_Delete: case GDK_KEY_KP_Delete:
        if (self->tool != DOTHI_EDIT_TOOL_EDIT_VERTICES || self->hover_path < 0)
          return GDK_EVENT_PROPAGATE;
        delete_vertex (self, self->hover_path, self->hover_vertex);
        return GDK_EVENT_STOP;
      default:
        break;
      }

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

/* The query result --------------------------------------------------- */

static void
remove_result_layer (DothiMapView *self)
{
  GtkWidget *layer;

  if (self->result_layer == NULL)
    return;
  layer = GTK_WIDGET (self->result_layer);
  g_signal_handlers_disconnect_by_data (layer, self);
  if (gtk_widget_get_parent (layer) != NULL)
    shumate_map_remove_layer (self->map, SHUMATE_LAYER (layer));
  g_object_run_dispose (G_OBJECT (layer));
  g_clear_object (&self->result_layer);
}

static void
forget_result (DothiMapView *self)
{
  remove_result_layer (self);
  g_clear_pointer (&self->result, dothi_fid_set_unref);
  g_clear_pointer (&self->result_name, g_free);
}

/* Right behind the labels: above every project layer (and the flat
 * layer, which is beneath them), below the labels and the edit overlay. */
static void
place_result_layer (DothiMapView *self)
{
  GtkWidget *layer;

  if (self->result_layer == NULL || self->label_layer == NULL)
    return;
  layer = GTK_WIDGET (self->result_layer);
  if (gtk_widget_get_parent (layer) != NULL
      && gtk_widget_get_next_sibling (layer) == GTK_WIDGET (self->label_layer))
    return;
  if (gtk_widget_get_parent (layer) != NULL)
    shumate_map_remove_layer (self->map, SHUMATE_LAYER (layer));
  shumate_map_insert_layer_behind (self->map, SHUMATE_LAYER (layer),
                                   SHUMATE_LAYER (self->label_layer));
}

/* Draws the result over @info (the registry row of its layer, as read
 * now): a new tile layer for another table, new tiles when its CRS or
 * extent changed, the tiles held otherwise. */
static void
update_result_layer (DothiMapView         *self,
                     const DothiLayerInfo *info)
{
  g_autoptr(DothiRenderLayer) render_layer = NULL;
  DothiRenderLayer *old;
  const double *extent;

  if (self->result_layer != NULL
      && g_strcmp0 (dothi_tile_layer_get_name (self->result_layer), info->name) != 0)
    remove_result_layer (self);
  if (info->kind == DOTHI_GEOMETRY_KIND_NONE || info->srid <= 0)
    {
      remove_result_layer (self);   /* rows only: the table shows them */
      return;
    }

  old = self->result_layer ? dothi_tile_layer_get_render_layer (self->result_layer) : NULL;
  if (old == NULL || old->selection != self->result || old->srid != info->srid
      || old->kind != info->kind || memcmp (old->extent, info->extent, sizeof old->extent) != 0)
    {
      render_layer = dothi_render_layer_new_selection (info, self->result);
      if (self->result_layer == NULL)
        self->result_layer = add_tile_layer (self, render_layer);
      else
        dothi_tile_layer_set_render_layer (self->result_layer, render_layer);
    }
  extent = g_hash_table_lookup (self->extents, info->name);
  dothi_tile_layer_set_extent (self->result_layer, extent);
  place_result_layer (self);
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

  /* The result follows its layer: gone with it, redrawn when it moved. */
  if (self->result != NULL)
    {
      const DothiLayerInfo *result_info = NULL;

      for (guint i = 0; i < infos->len && result_info == NULL; i++)
        if (g_strcmp0 (((DothiLayerInfo *) infos->pdata[i])->name, self->result_name) == 0)
          result_info = infos->pdata[i];
      if (result_info != NULL)
        update_result_layer (self, result_info);
      else
        forget_result (self);
    }
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
      if (self->result_layer != NULL && g_strcmp0 (change->layer, self->result_name) == 0)
        dothi_tile_layer_invalidate_bbox (self->result_layer, bbox);
    }
  if (changes->len > 0)
    {
      dothi_label_layer_refresh (self->label_layer);
      expect_complete (self);
      edit_data_changed (self, changes);
    }
  if (registry_changed)
    reload_layers (self, FALSE);
  if (changes->len > 0 || registry_changed)
    g_signal_emit (self, signals[FILE_CHANGED], 0, registry_changed);
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
  leave_tool (self);
  if (self->selection != NULL)
    replace_selection (self, NULL, NULL, 0);
  if (self->edit_overlay != NULL)
    {
      shumate_map_remove_layer (self->map, SHUMATE_LAYER (self->edit_overlay));
      g_object_run_dispose (G_OBJECT (self->edit_overlay));
      g_clear_object (&self->edit_overlay);
    }
  if (self->flat_layer != NULL)
    {
      dothi_flat_layer_set_layers (self->flat_layer, NULL);
      shumate_map_remove_layer (self->map, SHUMATE_LAYER (self->flat_layer));
      g_object_run_dispose (G_OBJECT (self->flat_layer));
      g_clear_object (&self->flat_layer);
    }
  forget_result (self);
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
  g_clear_pointer (&self->snap_layers, g_strfreev);
  g_clear_pointer (&self->selection_layer, g_free);
  g_clear_pointer (&self->selection, g_array_unref);
  g_clear_pointer (&self->last_fids, g_array_unref);
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
  signals[EDIT_FINISHED] =
    g_signal_new ("edit-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[EDIT_FAILED] =
    g_signal_new ("edit-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[FILE_CHANGED] =
    g_signal_new ("file-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

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
  GtkGesture *secondary;
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->transforms = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            transform_free);
  self->tile_layers = g_ptr_array_new_with_free_func (g_object_unref);
  self->extents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->edit_fid = -1;
  self->hover_path = -1;
  self->hover_vertex = -1;
  self->snap_tolerance_px = DEFAULT_SNAP_TOLERANCE_PX;
  self->last_fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->selection = g_array_new (FALSE, FALSE, sizeof (gint64));

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

  /* In the capture phase, ahead of the map's own pan: a press on a vertex
   * handle (or a feature to move) is the tool's, any other press pans. */
  self->drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (self->drag), GDK_BUTTON_PRIMARY);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (self->drag), GTK_PHASE_CAPTURE);
  g_signal_connect (self->drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (self->drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (self->drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  g_signal_connect (self->drag, "cancel", G_CALLBACK (drag_cancel_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->map), GTK_EVENT_CONTROLLER (self->drag));

  secondary = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (secondary), GDK_BUTTON_SECONDARY);
  g_signal_connect (secondary, "pressed", G_CALLBACK (secondary_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->map), GTK_EVENT_CONTROLLER (secondary));

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
  /* Above the labels: the sketch and its handles come first. */
  self->edit_overlay = g_object_ref_sink (dothi_edit_layer_new (self->viewport));
  shumate_map_add_layer (self->map, SHUMATE_LAYER (self->edit_overlay));
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

/* Right behind the edit overlay: above the tiles, the query result and
 * the labels; the sketch stays on top. Without a project (no edit
 * overlay yet) it goes on top, and the edit overlay lands above it when
 * a project opens. */
void
dothi_map_view_add_overlay (DothiMapView *self,
                            ShumateLayer *layer)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (SHUMATE_IS_LAYER (layer));
  g_return_if_fail (gtk_widget_get_parent (GTK_WIDGET (layer)) == NULL);

  if (self->edit_overlay != NULL
      && gtk_widget_get_parent (GTK_WIDGET (self->edit_overlay)) == GTK_WIDGET (self->map))
    shumate_map_insert_layer_behind (self->map, layer, SHUMATE_LAYER (self->edit_overlay));
  else
    shumate_map_add_layer (self->map, layer);
}

void
dothi_map_view_remove_overlay (DothiMapView *self,
                               ShumateLayer *layer)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (SHUMATE_IS_LAYER (layer));

  if (gtk_widget_get_parent (GTK_WIDGET (layer)) == GTK_WIDGET (self->map))
    shumate_map_remove_layer (self->map, layer);
}

guint
dothi_map_view_get_n_labels (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), 0);
  return self->label_layer ? dothi_label_layer_get_n_placed (self->label_layer) : 0;
}

/* Editing ---------------------------------------------------------------- */

void
dothi_map_view_set_edit_tool (DothiMapView  *self,
                              DothiEditTool  tool,
                              const char    *layer)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  DothiGeometryKind wanted;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (tool == DOTHI_EDIT_TOOL_NONE || layer != NULL);

  /* An unapplied sketch is dropped: the window asks before switching. */
  leave_tool (self);
  if (tool == DOTHI_EDIT_TOOL_NONE || self->project == NULL)
    return;

  info = dothi_project_get_layer (self->project, layer, &error);
  if (info == NULL)
    {
      emit_edit_failed (self, error);
      return;
    }
  if (tool != DOTHI_EDIT_TOOL_SELECT && dothi_project_get_read_only (self->project))
    {
      g_autofree char *name = g_path_get_basename (dothi_project_get_path (self->project));

      fail_edit (self, DOTHI_ERROR_READ_ONLY,
                 /* Translators: a project file name */
                 _("“%s” is open read-only: its layers cannot be edited"), name);
      return;
    }
  wanted = tool == DOTHI_EDIT_TOOL_SPLIT_PARCEL ? DOTHI_GEOMETRY_KIND_MULTIPOLYGON
                                                : tool_kind (tool);
  if (info->kind == DOTHI_GEOMETRY_KIND_NONE
      || (wanted != DOTHI_GEOMETRY_KIND_NONE && info->kind != wanted
          && !(info->kind == DOTHI_GEOMETRY_KIND_GEOMETRY && tool != DOTHI_EDIT_TOOL_SPLIT_PARCEL)))
    {
      const char *title = info->title != NULL && info->title[0] != '\0' ? info->title : info->name;

      if (info->kind == DOTHI_GEOMETRY_KIND_NONE)
        fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer title */
                   _("Layer “%s” has no geometry to edit"), title);
      else
        fail_edit (self, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer title, what the layer holds and what
                    * the tool draws ("polygons", "lines", "points") */
                   _("Layer “%s” holds %s; this tool draws %s"), title,
                   dothi_geometry_kind_to_label (info->kind),
                   dothi_geometry_kind_to_label (wanted));
      return;
    }
  self->edit_transform = get_transform (self, info->srid);
  if (self->edit_transform == NULL)
    return;

  self->edit_info = g_steal_pointer (&info);
  self->tool = tool;
  /* Enter, Escape and Backspace are the map's now. */
  gtk_widget_grab_focus (GTK_WIDGET (self));
  /* A double click finishes a line or polygon instead of zooming. */
  shumate_map_set_zoom_on_double_click (self->map, !tool_draws (tool)
                                                   && tool != DOTHI_EDIT_TOOL_EDIT_VERTICES);
  if (tool == DOTHI_EDIT_TOOL_SELECT && g_strcmp0 (self->selection_layer, layer) != 0)
    replace_selection (self, NULL, NULL, 0);
  ensure_snap_cache (self);
  update_pointer (self);
}

DothiEditTool
dothi_map_view_get_edit_tool (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), DOTHI_EDIT_TOOL_NONE);
  return self->tool;
}

const char *
dothi_map_view_get_edit_layer (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->edit_info != NULL ? self->edit_info->name : NULL;
}

GArray *
dothi_map_view_get_last_edit_fids (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->last_fids;
}

void
dothi_map_view_set_snapping (DothiMapView       *self,
                             const char * const *layers,
                             double              tolerance_px)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));

  g_clear_pointer (&self->snap_layers, g_strfreev);
  if (layers != NULL && layers[0] != NULL)
    self->snap_layers = g_strdupv ((char **) layers);
  self->snap_tolerance_px = tolerance_px > 0.0 ? tolerance_px : DEFAULT_SNAP_TOLERANCE_PX;
  drop_snap_cache (self);
  ensure_snap_cache (self);
  update_pointer (self);
}

void
dothi_map_view_add_typed_vertex (DothiMapView *self,
                                 double        x_northing,
                                 double        y_easting)
{
  DothiMapTransform *project_transform;
  DothiSnap snap;
  double x = y_easting, y = x_northing;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));

  if (!tool_draws (self->tool) || self->project == NULL)
    return;
  /* Typed in the project CRS: the same numbers when the layer shares it. */
  if (self->edit_info->srid != dothi_project_get_srid (self->project))
    {
      double mx, my;

      project_transform = get_project_transform (self);
      if (project_transform == NULL
          || !dothi_map_transform_to_mercator (project_transform, x, y, &mx, &my)
          || !dothi_map_transform_from_mercator (self->edit_transform, mx, my, &x, &y))
        return;
    }
  if (find_snap (self, x, y, self->snap_tolerance_px * centre_metres_per_px (self), TRUE, &snap))
    {
      x = snap.x;
      y = snap.y;
    }
  add_vertex (self, x, y);
}

gboolean
dothi_map_view_finish_edit (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), FALSE);

  if (self->project == NULL || self->drag_mode != DRAG_NONE)
    return FALSE;
  switch (self->tool)
    {
    case DOTHI_EDIT_TOOL_ADD_POINT:
    case DOTHI_EDIT_TOOL_ADD_LINE:
    case DOTHI_EDIT_TOOL_ADD_POLYGON:
      return finish_add (self);
    case DOTHI_EDIT_TOOL_SPLIT_PARCEL:
      return finish_split (self);
    case DOTHI_EDIT_TOOL_EDIT_VERTICES:
      return finish_vertices (self);
    case DOTHI_EDIT_TOOL_MOVE_FEATURE:
    case DOTHI_EDIT_TOOL_DELETE_FEATURE:
    case DOTHI_EDIT_TOOL_SELECT:
    case DOTHI_EDIT_TOOL_NONE:
    default:
      return FALSE;
    }
}

void
dothi_map_view_cancel_edit (DothiMapView *self)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));

  if (self->drag_mode != DRAG_NONE)
    gtk_event_controller_reset (GTK_EVENT_CONTROLLER (self->drag));
  /* The picked feature is let go too: nothing stays half edited. */
  clear_sketch (self);
  update_pointer (self);
}

GArray *
dothi_map_view_get_selection (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->selection;
}

const char *
dothi_map_view_get_selection_layer (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->selection_layer;
}

void
dothi_map_view_set_selection (DothiMapView  *self,
                              const char    *layer,
                              const gint64  *fids,
                              guint          n_fids)
{
  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));
  g_return_if_fail (n_fids == 0 || fids != NULL);

  replace_selection (self, layer, fids, layer != NULL ? n_fids : 0);
}

void
dothi_map_view_show_result (DothiMapView *self,
                            const char   *layer,
                            DothiFidSet  *fids)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (DOTHI_IS_MAP_VIEW (self));

  if (layer == NULL || fids == NULL || self->project == NULL || self->pool == NULL)
    {
      if (self->result != NULL)
        {
          forget_result (self);
          update_busy (self);
          expect_complete (self);
        }
      return;
    }
  if (self->result == fids && g_strcmp0 (self->result_name, layer) == 0)
    return;

  /* One registry row, as reload_layers reads them. */
  info = dothi_project_get_layer (self->project, layer, &error);
  if (info == NULL)
    {
      report_error (self, error);
      forget_result (self);
      update_busy (self);
      return;
    }
  dothi_fid_set_ref (fids);
  g_clear_pointer (&self->result, dothi_fid_set_unref);
  self->result = fids;
  if (g_strcmp0 (self->result_name, info->name) != 0)
    {
      g_free (self->result_name);
      self->result_name = g_strdup (info->name);
    }
  update_result_layer (self, info);
  update_busy (self);
  expect_complete (self);
}

DothiFidSet *
dothi_map_view_get_result (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->result;
}

const char *
dothi_map_view_get_result_layer (DothiMapView *self)
{
  g_return_val_if_fail (DOTHI_IS_MAP_VIEW (self), NULL);
  return self->result != NULL ? self->result_name : NULL;
}
