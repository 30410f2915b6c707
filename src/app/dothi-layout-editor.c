/* dothi-layout-editor.c: the print layout editor. The page is drawn by the
 * core's printer on a worker thread into a texture; dragging draws that
 * texture and the item outlines only, and re-renders after a quiet spell,
 * so even A0 stays fluid. Printing runs in a GTask with progress. */
#define G_LOG_DOMAIN "dothi-layout-editor"

#include "config.h"
#include "dothi-layout-editor.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "dothi-error.h"
#include "dothi-format.h"
#include "dothi-print.h"

/* Re-render after this much quiet following a change or a drag. */
#define RENDER_QUIET_MS 300
/* ... and after a zoom or pan that leaves the preview short. */
#define VIEW_QUIET_MS 150
/* The largest preview texture (about 48 MB); past it only the visible
 * part of the page is drawn (A0 zoomed in). */
#define MAX_PREVIEW_PIXELS (12.0 * 1024 * 1024)
/* An atlas longer than this asks before printing. */
#define ATLAS_WARN_PAGES 50
/* Handles and margins, in widget pixels. */
#define HANDLE_PX 8.0
#define PAGE_MARGIN_PX 24.0
/* Zoom limits in pixels per millimetre; 96 dpi is 3.78 px/mm. */
#define MIN_ZOOM 0.05
#define MAX_ZOOM 60.0
#define ACTUAL_SIZE_ZOOM (96.0 / 25.4)
#define MIN_ITEM_MM 1.0

/* ---- the page canvas ------------------------------------------------------ */

/* Draws through the editor that owns it; a widget of its own so that the
 * preview is a texture in the snapshot, never a cairo repaint. */
#define DOTHI_TYPE_LAYOUT_CANVAS (dothi_layout_canvas_get_type ())
G_DECLARE_FINAL_TYPE (DothiLayoutCanvas, dothi_layout_canvas, DOTHI, LAYOUT_CANVAS, GtkWidget)

struct _DothiLayoutCanvas
{
  GtkWidget          parent_instance;
  DothiLayoutEditor *editor;  /* borrowed; cleared in the editor's dispose */
};

G_DEFINE_FINAL_TYPE (DothiLayoutCanvas, dothi_layout_canvas, GTK_TYPE_WIDGET)

static void snapshot_canvas (DothiLayoutEditor *self, GtkWidget *widget, GtkSnapshot *snapshot);
static void canvas_resized  (DothiLayoutEditor *self);

static void
dothi_layout_canvas_snapshot (GtkWidget   *widget,
                              GtkSnapshot *snapshot)
{
  DothiLayoutCanvas *canvas = DOTHI_LAYOUT_CANVAS (widget);

  if (canvas->editor != NULL)
    snapshot_canvas (canvas->editor, widget, snapshot);
}

static void
dothi_layout_canvas_size_allocate (GtkWidget *widget,
                                   int        width,
                                   int        height,
                                   int        baseline)
{
  DothiLayoutCanvas *canvas = DOTHI_LAYOUT_CANVAS (widget);

  if (canvas->editor != NULL)
    canvas_resized (canvas->editor);
}

static void
dothi_layout_canvas_class_init (DothiLayoutCanvasClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = dothi_layout_canvas_snapshot;
  widget_class->size_allocate = dothi_layout_canvas_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "layout-canvas");
}

static void
dothi_layout_canvas_init (DothiLayoutCanvas *self)
{
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
}

/* ---- the editor ----------------------------------------------------------- */

typedef enum {
  DRAG_NONE,
  DRAG_MOVE,
  DRAG_RESIZE,
  DRAG_PAN,
} DragMode;

/* Which JSON object a panel widget edits. */
typedef enum {
  TARGET_ITEM,
  TARGET_PAGE,
  TARGET_ROOT,
  TARGET_FIELDS,  /* a title block's "fields" */
} Target;

typedef struct {
  char         *project_path;
  DothiPrinter *printer;   /* owned; made in the thread when NULL */
  DothiLayout  *layout;    /* a copy */
  double        x, y, w, h;  /* the part of the page drawn, mm */
  double        ppm;       /* device pixels per mm */
  int           width, height, stride;
  guchar       *pixels;
  guint         serial;
  guint         page;      /* the atlas page drawn (0-based) */
  gint64        n_pages;   /* the layout's pages, counted by the thread */
} RenderJob;

typedef struct {
  DothiLayoutEditor *self;   /* borrowed: the task holds a reference */
  char              *project_path;
  char              *out_path;
  DothiLayout       *layout;
  DothiPrintOptions  options;
  gboolean           confirmed;  /* the page count was accepted */
  guint              serial;
} PrintJob;

struct _DothiLayoutEditor
{
  AdwWindow          parent_instance;

  DothiProject      *project;
  char              *project_path;
  GPtrArray         *layers;        /* DothiLayerInfo*, z-order */
  GPtrArray         *atlas_layers;  /* char *: names behind the atlas list */
  DothiLayout       *layout;        /* NULL when none could be made */
  gboolean           modified;
  gboolean           layout_valid;
  guint              serial;        /* bumped on every change of the layout */
  int                selected;      /* index in "items", or -1: the page */
  char              *error_message;
  gboolean           updating;      /* widgets are being set from the layout */
  gboolean           disposed;
  gboolean           close_confirmed;
  guint              rebuild_source;

  /* The view: the page's top-left corner in widget pixels, and the zoom. */
  double             zoom;          /* widget px per mm */
  double             origin_x, origin_y;
  gboolean           fit;
  int                last_width, last_height;

  /* The preview. */
  GdkTexture        *texture;
  double             tex_rect[4];   /* mm: x y w h */
  double             tex_ppm;
  DothiPrinter      *printer;       /* NULL while a render holds it */
  GCancellable      *render_cancellable;  /* the render running, or NULL */
  double             render_rect[4];
  double             render_ppm;
  gboolean           render_pending;
  guint              render_source;

  /* Dragging. */
  DragMode           drag_mode;
  int                drag_corner;   /* 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left */
  double             drag_rect[4];
  double             drag_origin[2];
  double             pointer[2];    /* the last pointer position, px */

  /* Printing. */
  GCancellable      *print_cancellable;
  guint              print_serial;

  /* Panel rows that follow a drag; NULL when not shown. */
  GtkSpinButton     *geometry_spins[4];

  AdwToastOverlay   *toasts;
  AdwWindowTitle    *window_title;
  GtkMenuButton     *layout_button;
  GtkToggleButton   *atlas_button;
  GtkDropDown       *atlas_dropdown;
  GtkWidget         *canvas;
  GtkWidget         *spinner;
  GtkButton         *zoom_button;
  GtkWidget         *page_box;
  GtkLabel          *page_label;
  guint              preview_page;  /* the atlas page the preview shows */
  gint64             n_pages;       /* as the last render counted; 0 unknown */
  GtkRevealer       *error_revealer;
  GtkLabel          *error_label;
  GtkBox            *panel_box;
  GtkRevealer       *progress_revealer;
  GtkLabel          *progress_label;
  GtkProgressBar    *progress_bar;
};

G_DEFINE_FINAL_TYPE (DothiLayoutEditor, dothi_layout_editor, ADW_TYPE_WINDOW)

static const char * const geometry_keys[4] = { "x", "y", "w", "h" };

static const struct {
  const char *type;
  const char *label;
} item_types[] = {
  /* Translators: kinds of items on a print layout, as headings of the
   * properties panel */
  { "map",         N_("Map") },
  { "overview",    N_("Overview Map") },
  { "legend",      N_("Legend") },
  { "scale_bar",   N_("Scale Bar") },
  { "north_arrow", N_("North Arrow") },
  { "title_block", N_("Title Block") },
  { "text",        N_("Text") },
  { "image",       N_("Image") },
  { "table",       N_("Table") },
  { "frame",       N_("Frame") },
};

static const char * const page_sizes[] = { "A4", "A3", "A2", "A1", "A0", "custom", NULL };

static void rebuild_panel   (DothiLayoutEditor *self);
static void schedule_render (DothiLayoutEditor *self, guint delay_ms);
static void start_print     (DothiLayoutEditor *self, PrintJob *job);

/* ---- JSON helpers --------------------------------------------------------- */

static double
get_number (JsonObject *object,
            const char *key,
            double      fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE:
      return json_node_get_double (node);
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (node) ? 1 : 0;
    default:
      return fallback;
    }
}

static const char *
get_string (JsonObject *object,
            const char *key,
            const char *fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (node);
}

static gboolean
get_boolean (JsonObject *object,
             const char *key,
             gboolean    fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

static JsonArray *
get_array (JsonObject *object,
           const char *key)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
get_object (JsonObject *object,
            const char *key)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* A member that is an object, made when missing. */
static JsonObject *
ensure_object (JsonObject *object,
               const char *key)
{
  JsonObject *child = get_object (object, key);

  if (child == NULL)
    {
      child = json_object_new ();
      json_object_set_object_member (object, key, child);
    }
  return child;
}

static JsonArray *
copy_numbers (JsonArray *array)
{
  JsonArray *copy = json_array_new ();

  for (guint i = 0; i < json_array_get_length (array); i++)
    json_array_add_double_element (copy, json_array_get_double_element (array, i));
  return copy;
}

static JsonObject *
get_root (DothiLayoutEditor *self)
{
  return self->layout != NULL ? dothi_layout_get_object (self->layout) : NULL;
}

static JsonArray *
get_items (DothiLayoutEditor *self)
{
  return get_array (get_root (self), "items");
}

static guint
count_items (DothiLayoutEditor *self)
{
  JsonArray *items = get_items (self);

  return items != NULL ? json_array_get_length (items) : 0;
}

static JsonObject *
get_item (DothiLayoutEditor *self,
          int                index)
{
  JsonArray *items = get_items (self);
  JsonNode *node;

  if (items == NULL || index < 0 || (guint) index >= json_array_get_length (items))
    return NULL;
  node = json_array_get_element (items, index);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonObject *
get_selected (DothiLayoutEditor *self)
{
  return get_item (self, self->selected);
}

static void
get_rect (JsonObject *item,
          double      rect[4])
{
  for (guint i = 0; i < 4; i++)
    rect[i] = get_number (item, geometry_keys[i], 0);
}

/* Lengths are kept to 0.01 mm: the snapped values stay short in the JSON. */
static void
set_rect (JsonObject   *item,
          const double  rect[4])
{
  for (guint i = 0; i < 4; i++)
    json_object_set_double_member (item, geometry_keys[i], round (rect[i] * 100) / 100);
}

static void
get_page_size (DothiLayoutEditor *self,
               double            *width,
               double            *height)
{
  *width = *height = 0;
  if (self->layout != NULL)
    dothi_layout_get_page_size (self->layout, width, height);
  if (!(*width > 0 && *height > 0))
    {
      *width = 420;
      *height = 297;
    }
}

static const char *
item_type_label (const char *type)
{
  for (guint i = 0; i < G_N_ELEMENTS (item_types); i++)
    if (g_strcmp0 (item_types[i].type, type) == 0)
      return _(item_types[i].label);
  return type != NULL ? type : "";
}

/* The "id" of every map item, in order ("map" for one without). */
static GPtrArray *
dup_map_ids (DothiLayoutEditor *self)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < count_items (self); i++)
    {
      JsonObject *item = get_item (self, i);

      if (g_strcmp0 (get_string (item, "type", NULL), "map") == 0)
        g_ptr_array_add (ids, g_strdup (get_string (item, "id", "map")));
    }
  return ids;
}

/* ---- state ---------------------------------------------------------------- */

static gboolean
is_printing (DothiLayoutEditor *self)
{
  return self->print_cancellable != NULL;
}

static void
update_busy (DothiLayoutEditor *self)
{
  gboolean rendering = self->render_source != 0 || self->render_cancellable != NULL;

  gtk_widget_set_visible (self->spinner, rendering);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), rendering);
}

static void
update_actions (DothiLayoutEditor *self)
{
  gboolean have = self->layout != NULL;
  gboolean writable = self->project != NULL && !dothi_project_get_read_only (self->project);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", have && writable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.print",
                                 have && self->layout_valid && !is_printing (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.cancel-print", is_printing (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.add-item", have);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.delete-item",
                                 have && self->selected >= 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.zoom-in", have);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.zoom-out", have);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.zoom-fit", have);
  gtk_widget_set_sensitive (GTK_WIDGET (self->atlas_button),
                            have && self->atlas_layers != NULL && self->atlas_layers->len > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->atlas_dropdown),
                            have && gtk_toggle_button_get_active (self->atlas_button));
}

static void
update_title (DothiLayoutEditor *self)
{
  const char *name = self->layout != NULL ? dothi_layout_get_name (self->layout) : NULL;
  g_autofree char *subtitle = NULL;

  if (name == NULL || *name == '\0')
    /* Translators: subtitle of the layout editor for a layout without a name */
    name = _("Untitled layout");
  if (self->modified)
    /* Translators: subtitle of the layout editor; a layout name */
    subtitle = g_strdup_printf (_("%s (not saved)"), name);
  else
    subtitle = g_strdup (name);
  adw_window_title_set_subtitle (self->window_title, self->layout != NULL ? subtitle : NULL);
}

static void
toast (DothiLayoutEditor *self,
       const char        *text)
{
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (text));
}

/* The message under the panel's heading; NULL hides it. */
static void
show_error (DothiLayoutEditor *self,
            const char        *message)
{
  if (message != NULL)
    {
      g_free (self->error_message);
      self->error_message = g_strdup (message);
    }
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
set_modified (DothiLayoutEditor *self,
              gboolean           modified)
{
  self->modified = modified;
  update_title (self);
}

static void
update_geometry_spins (DothiLayoutEditor *self)
{
  JsonObject *item = get_selected (self);
  double rect[4];

  if (item == NULL)
    return;
  get_rect (item, rect);
  self->updating = TRUE;
  for (guint i = 0; i < 4; i++)
    if (self->geometry_spins[i] != NULL)
      gtk_spin_button_set_value (self->geometry_spins[i], rect[i]);
  self->updating = FALSE;
}

/* After any change of the layout: checks it, shows what is wrong, and
 * draws it again after a quiet spell. */
static void
note_change (DothiLayoutEditor *self,
             gboolean           rebuild)
{
  g_autoptr(GError) error = NULL;

  if (self->layout == NULL)
    return;
  self->serial++;
  self->layout_valid = dothi_layout_validate (self->layout, &error);
  show_error (self, error != NULL ? error->message : NULL);
  set_modified (self, TRUE);
  if (rebuild)
    rebuild_panel (self);
  if (self->layout_valid)
    schedule_render (self, RENDER_QUIET_MS);
  else
    {
      g_clear_handle_id (&self->render_source, g_source_remove);
      update_busy (self);
    }
  gtk_widget_queue_draw (self->canvas);
  update_actions (self);
}

static gboolean
rebuild_idle_cb (gpointer data)
{
  DothiLayoutEditor *self = data;

  self->rebuild_source = 0;
  rebuild_panel (self);
  return G_SOURCE_REMOVE;
}

/* From a panel widget's own handler: the widget must outlive it. */
static void
queue_rebuild_panel (DothiLayoutEditor *self)
{
  if (self->rebuild_source == 0)
    self->rebuild_source = g_idle_add (rebuild_idle_cb, self);
}

/* ---- the view ------------------------------------------------------------- */

static void
update_zoom_label (DothiLayoutEditor *self)
{
  /* Translators: the preview's zoom, a percentage of the real size */
  g_autofree char *text = g_strdup_printf (_("%.0f %%"), self->zoom / ACTUAL_SIZE_ZOOM * 100);

  gtk_button_set_label (self->zoom_button, text);
}

static void
apply_fit (DothiLayoutEditor *self)
{
  double width = gtk_widget_get_width (self->canvas);
  double height = gtk_widget_get_height (self->canvas);
  double page_w, page_h;

  get_page_size (self, &page_w, &page_h);
  if (width <= 2 * PAGE_MARGIN_PX || height <= 2 * PAGE_MARGIN_PX)
    return;
  self->zoom = CLAMP (MIN ((width - 2 * PAGE_MARGIN_PX) / page_w,
                           (height - 2 * PAGE_MARGIN_PX) / page_h), MIN_ZOOM, MAX_ZOOM);
  self->origin_x = (width - page_w * self->zoom) / 2;
  self->origin_y = (height - page_h * self->zoom) / 2;
}

/* The part of the page on screen, mm; FALSE when none is. */
static gboolean
get_visible_rect (DothiLayoutEditor *self,
                  double             rect[4])
{
  double width = gtk_widget_get_width (self->canvas);
  double height = gtk_widget_get_height (self->canvas);
  double page_w, page_h, x0, y0, x1, y1;

  get_page_size (self, &page_w, &page_h);
  if (width <= 0 || height <= 0)
    {
      rect[0] = rect[1] = 0;
      rect[2] = page_w;
      rect[3] = page_h;
      return TRUE;
    }
  x0 = MAX (0, -self->origin_x / self->zoom);
  y0 = MAX (0, -self->origin_y / self->zoom);
  x1 = MIN (page_w, (width - self->origin_x) / self->zoom);
  y1 = MIN (page_h, (height - self->origin_y) / self->zoom);
  rect[0] = x0;
  rect[1] = y0;
  rect[2] = x1 - x0;
  rect[3] = y1 - y0;
  return rect[2] > 0 && rect[3] > 0;
}

static double
device_ppm (DothiLayoutEditor *self)
{
  return self->zoom * gtk_widget_get_scale_factor (self->canvas);
}

/* Whether a preview of @rect at @ppm serves the view as it is now. */
static gboolean
rect_serves_view (DothiLayoutEditor *self,
                  const double       rect[4],
                  double             ppm)
{
  double visible[4];
  double want = device_ppm (self);
  const double slack = 0.5;  /* mm */

  if (ppm < want * 0.9 || ppm > want * 2.5)
    return FALSE;
  if (!get_visible_rect (self, visible))
    return TRUE;
  return visible[0] >= rect[0] - slack && visible[1] >= rect[1] - slack
         && visible[0] + visible[2] <= rect[0] + rect[2] + slack
         && visible[1] + visible[3] <= rect[1] + rect[3] + slack;
}

/* After a zoom, pan or resize: redraw now, render again when the preview
 * no longer covers the view at its resolution. */
static void
view_changed (DothiLayoutEditor *self)
{
  gboolean served;

  update_zoom_label (self);
  gtk_widget_queue_draw (self->canvas);
  if (self->layout == NULL || !self->layout_valid)
    return;
  if (self->render_cancellable != NULL)
    served = rect_serves_view (self, self->render_rect, self->render_ppm);
  else
    served = self->texture != NULL && rect_serves_view (self, self->tex_rect, self->tex_ppm);
  if (!served)
    schedule_render (self, VIEW_QUIET_MS);
}

static void
canvas_resized (DothiLayoutEditor *self)
{
  int width = gtk_widget_get_width (self->canvas);
  int height = gtk_widget_get_height (self->canvas);

  if (width == self->last_width && height == self->last_height)
    return;
  if (self->fit || self->last_width == 0)
    {
      self->fit = TRUE;
      apply_fit (self);
    }
  else
    {
      /* Keep the middle of the view where it was. */
      self->origin_x += (width - self->last_width) / 2.0;
      self->origin_y += (height - self->last_height) / 2.0;
    }
  self->last_width = width;
  self->last_height = height;
  view_changed (self);
}

static void
zoom_at (DothiLayoutEditor *self,
         double             factor,
         double             cx,
         double             cy)
{
  double zoom = CLAMP (self->zoom * factor, MIN_ZOOM, MAX_ZOOM);
  double mm_x = (cx - self->origin_x) / self->zoom;
  double mm_y = (cy - self->origin_y) / self->zoom;

  if (zoom == self->zoom)
    return;
  self->fit = FALSE;
  self->zoom = zoom;
  self->origin_x = cx - mm_x * zoom;
  self->origin_y = cy - mm_y * zoom;
  view_changed (self);
}

static void
zoom_centre (DothiLayoutEditor *self,
             double             factor)
{
  zoom_at (self, factor, gtk_widget_get_width (self->canvas) / 2.0,
           gtk_widget_get_height (self->canvas) / 2.0);
}

/* ---- the preview ---------------------------------------------------------- */

static void
render_job_free (RenderJob *job)
{
  g_free (job->project_path);
  g_clear_pointer (&job->printer, dothi_printer_free);
  g_clear_pointer (&job->layout, dothi_layout_free);
  g_free (job->pixels);
  g_free (job);
}

/* A worker: the printer is the job's alone while it runs. */
static void
render_thread (GTask        *task,
               gpointer      source,
               gpointer      data,
               GCancellable *cancellable)
{
  RenderJob *job = data;
  GError *error = NULL;
  DothiPrintOptions options = { DOTHI_PRINT_PNG, job->ppm * 25.4, NULL, NULL };
  cairo_surface_t *surface;
  cairo_t *cr;
  gboolean ok;

  if (job->printer == NULL)
    {
      job->printer = dothi_printer_new (job->project_path, &error);
      if (job->printer == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  job->stride = cairo_format_stride_for_width (CAIRO_FORMAT_ARGB32, job->width);
  job->pixels = g_try_malloc0 ((gsize) job->stride * job->height);
  if (job->pixels == NULL)
    {
      g_task_return_new_error (task, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                               /* Translators: the page preview's size in pixels */
                               _("Not enough memory for a page preview of %d × %d pixels"),
                               job->width, job->height);
      return;
    }
  surface = cairo_image_surface_create_for_data (job->pixels, CAIRO_FORMAT_ARGB32,
                                                 job->width, job->height, job->stride);
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_scale (cr, job->ppm, job->ppm);
  cairo_translate (cr, -job->x, -job->y);
  job->n_pages = dothi_printer_count_pages (job->printer, job->layout, &options, NULL);
  ok = dothi_printer_draw_page (job->printer, job->layout, &options, job->page, cr, options.dpi,
                                cancellable, &error);
  if (ok && cairo_status (cr) != CAIRO_STATUS_SUCCESS)
    {
      ok = FALSE;
      g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: a cairo error message */
                   _("The page preview could not be drawn: %s"),
                   cairo_status_to_string (cairo_status (cr)));
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  cairo_surface_destroy (surface);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void start_render (DothiLayoutEditor *self);

/* The atlas page bar: shown for more than one page, "3 / 30". */
static void
update_page_bar (DothiLayoutEditor *self)
{
  gboolean atlas = self->n_pages > 1;
  g_autofree char *text = NULL;

  gtk_widget_set_visible (self->page_box, atlas);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.page-previous",
                                 atlas && self->preview_page > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.page-next",
                                 atlas && self->preview_page + 1 < (guint64) self->n_pages);
  if (!atlas)
    return;
  /* Translators: the atlas page the preview shows, of how many */
  text = g_strdup_printf (_("%u / %u"), self->preview_page + 1, (guint) self->n_pages);
  gtk_label_set_text (self->page_label, text);
}

static void
set_page_count (DothiLayoutEditor *self,
                gint64             n_pages,
                guint              page_drawn)
{
  if (n_pages < 0)
    return;
  self->n_pages = n_pages;
  /* Fewer pages than before (another atlas layer): the last is drawn. */
  if (n_pages > 0 && self->preview_page >= n_pages && page_drawn == self->preview_page)
    self->preview_page = (guint) n_pages - 1;
  update_page_bar (self);
}

static void
render_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (source);
  RenderJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  /* The printer comes back for the next render. */
  if (self->printer == NULL)
    self->printer = g_steal_pointer (&job->printer);
  g_clear_object (&self->render_cancellable);
  if (self->disposed)
    return;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&job->pixels),
                                                  (gsize) job->stride * job->height);

      g_clear_object (&self->texture);
      /* Cairo's ARGB32 premultiplied in native order is GDK_MEMORY_DEFAULT. */
      self->texture = gdk_memory_texture_new (job->width, job->height, GDK_MEMORY_DEFAULT,
                                              bytes, job->stride);
      self->tex_rect[0] = job->x;
      self->tex_rect[1] = job->y;
      self->tex_rect[2] = job->w;
      self->tex_rect[3] = job->h;
      self->tex_ppm = job->ppm;
      if (job->serial == self->serial && self->layout_valid)
        show_error (self, NULL);
      set_page_count (self, job->n_pages, job->page);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error (self, error->message);

  if (self->render_pending)
    {
      self->render_pending = FALSE;
      start_render (self);
    }
  update_busy (self);
  gtk_widget_queue_draw (self->canvas);
}

/* The part of the page to draw and its resolution: the whole page when
 * it fits the pixel budget, else what is on screen and a margin. */
static gboolean
choose_render_rect (DothiLayoutEditor *self,
                    double             rect[4],
                    double            *ppm_out)
{
  double page_w, page_h, ppm, visible[4];

  get_page_size (self, &page_w, &page_h);
  if (gtk_widget_get_width (self->canvas) <= 0)
    {
      /* Not on screen yet: the page about 1000 pixels across. */
      ppm = 1000.0 / MAX (page_w, page_h);
      rect[0] = rect[1] = 0;
      rect[2] = page_w;
      rect[3] = page_h;
      *ppm_out = ppm;
      return TRUE;
    }
  ppm = device_ppm (self);
  rect[0] = rect[1] = 0;
  rect[2] = page_w;
  rect[3] = page_h;
  if (page_w * ppm * page_h * ppm > MAX_PREVIEW_PIXELS)
    {
      double margin_x, margin_y, x0, y0, x1, y1;

      if (!get_visible_rect (self, visible))
        return FALSE;
      margin_x = visible[2] / 4;
      margin_y = visible[3] / 4;
      if ((visible[2] + 2 * margin_x) * (visible[3] + 2 * margin_y) * ppm * ppm > MAX_PREVIEW_PIXELS)
        margin_x = margin_y = 0;
      x0 = MAX (0, visible[0] - margin_x);
      y0 = MAX (0, visible[1] - margin_y);
      x1 = MIN (page_w, visible[0] + visible[2] + margin_x);
      y1 = MIN (page_h, visible[1] + visible[3] + margin_y);
      rect[0] = x0;
      rect[1] = y0;
      rect[2] = x1 - x0;
      rect[3] = y1 - y0;
      /* A huge screen at a huge zoom: fewer pixels, a bit blurred. */
      if (rect[2] * rect[3] * ppm * ppm > MAX_PREVIEW_PIXELS)
        ppm = sqrt (MAX_PREVIEW_PIXELS / (rect[2] * rect[3]));
    }
  *ppm_out = ppm;
  return rect[2] > 0 && rect[3] > 0;
}

static void
start_render (DothiLayoutEditor *self)
{
  g_autoptr(GTask) task = NULL;
  RenderJob *job;
  double rect[4], ppm;

  if (self->layout == NULL || !self->layout_valid || self->disposed)
    return;
  if (self->render_cancellable != NULL)
    {
      /* One printer, one render at a time: the newest follows. */
      g_cancellable_cancel (self->render_cancellable);
      self->render_pending = TRUE;
      return;
    }
  if (!choose_render_rect (self, rect, &ppm))
    return;

  job = g_new0 (RenderJob, 1);
  job->project_path = g_strdup (self->project_path);
  job->printer = g_steal_pointer (&self->printer);
  job->layout = dothi_layout_copy (self->layout);
  job->x = rect[0];
  job->y = rect[1];
  job->w = rect[2];
  job->h = rect[3];
  job->ppm = ppm;
  job->width = MAX (1, (int) ceil (rect[2] * ppm));
  job->height = MAX (1, (int) ceil (rect[3] * ppm));
  job->serial = self->serial;
  job->page = self->preview_page;
  memcpy (self->render_rect, rect, sizeof rect);
  self->render_ppm = ppm;

  self->render_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->render_cancellable, render_done_cb, NULL);
  g_task_set_source_tag (task, start_render);
  g_task_set_task_data (task, job, (GDestroyNotify) render_job_free);
  g_task_run_in_thread (task, render_thread);
}

static gboolean
render_timeout_cb (gpointer data)
{
  DothiLayoutEditor *self = data;

  self->render_source = 0;
  start_render (self);
  update_busy (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_render (DothiLayoutEditor *self,
                 guint              delay_ms)
{
  g_clear_handle_id (&self->render_source, g_source_remove);
  self->render_source = g_timeout_add (delay_ms, render_timeout_cb, self);
  update_busy (self);
}

/* ---- drawing -------------------------------------------------------------- */

static void
append_outline (GtkSnapshot   *snapshot,
                const graphene_rect_t *rect,
                const GdkRGBA *color,
                float          width)
{
  GskRoundedRect outline;
  float widths[4] = { width, width, width, width };
  GdkRGBA colors[4] = { *color, *color, *color, *color };

  gsk_rounded_rect_init_from_rect (&outline, rect, 0);
  gtk_snapshot_append_border (snapshot, &outline, widths, colors);
}

static void
item_rect_px (DothiLayoutEditor *self,
              JsonObject        *item,
              graphene_rect_t   *out)
{
  double rect[4];

  get_rect (item, rect);
  graphene_rect_init (out, self->origin_x + rect[0] * self->zoom,
                      self->origin_y + rect[1] * self->zoom,
                      rect[2] * self->zoom, rect[3] * self->zoom);
}

static void
handle_centre (const graphene_rect_t *rect,
               int                    corner,
               double                *x,
               double                *y)
{
  *x = corner == 0 || corner == 3 ? rect->origin.x : rect->origin.x + rect->size.width;
  *y = corner == 0 || corner == 1 ? rect->origin.y : rect->origin.y + rect->size.height;
}

static void
snapshot_canvas (DothiLayoutEditor *self,
                 GtkWidget         *widget,
                 GtkSnapshot       *snapshot)
{
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GdkRGBA background = dark ? (GdkRGBA) { 0.16, 0.16, 0.16, 1 } : (GdkRGBA) { 0.80, 0.80, 0.79, 1 };
  GdkRGBA white = { 1, 1, 1, 1 };
  GdkRGBA shadow = { 0, 0, 0, 0.35 };
  GdkRGBA accent = { 0.21, 0.52, 0.89, 1 };
  GdkRGBA faint = { 0.21, 0.52, 0.89, 0.5 };
  graphene_rect_t page;
  GskRoundedRect rounded;
  double page_w, page_h;

  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (self->layout == NULL)
    return;

  get_page_size (self, &page_w, &page_h);
  graphene_rect_init (&page, self->origin_x, self->origin_y,
                      page_w * self->zoom, page_h * self->zoom);
  gsk_rounded_rect_init_from_rect (&rounded, &page, 0);
  gtk_snapshot_append_outset_shadow (snapshot, &rounded, &shadow, 0, 2, 0, 8);
  gtk_snapshot_append_color (snapshot, &white, &page);

  /* The cached page, scaled to the zoom until the next render. */
  if (self->texture != NULL)
    {
      gtk_snapshot_push_clip (snapshot, &page);
      gtk_snapshot_append_texture (snapshot, self->texture,
                                   &GRAPHENE_RECT_INIT (self->origin_x + self->tex_rect[0] * self->zoom,
                                                        self->origin_y + self->tex_rect[1] * self->zoom,
                                                        self->tex_rect[2] * self->zoom,
                                                        self->tex_rect[3] * self->zoom));
      gtk_snapshot_pop (snapshot);
    }

  for (guint i = 0; i < count_items (self); i++)
    {
      JsonObject *item = get_item (self, i);
      graphene_rect_t rect;

      if (item == NULL || (int) i == self->selected)
        continue;
      item_rect_px (self, item, &rect);
      append_outline (snapshot, &rect, &faint, 1);
    }

  if (get_selected (self) != NULL)
    {
      graphene_rect_t rect;

      item_rect_px (self, get_selected (self), &rect);
      append_outline (snapshot, &rect, &accent, 2);
      for (int corner = 0; corner < 4; corner++)
        {
          double x, y;
          graphene_rect_t handle;

          handle_centre (&rect, corner, &x, &y);
          graphene_rect_init (&handle, x - HANDLE_PX / 2, y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
          gtk_snapshot_append_color (snapshot, &white, &handle);
          append_outline (snapshot, &handle, &accent, 1.5);
        }
    }
}

/* ---- pointer and keys ----------------------------------------------------- */

/* The corner handle of the selected item under (@x, @y) px, or -1. */
static int
hit_handle (DothiLayoutEditor *self,
            double             x,
            double             y)
{
  JsonObject *item = get_selected (self);
  graphene_rect_t rect;

  if (item == NULL)
    return -1;
  item_rect_px (self, item, &rect);
  for (int corner = 0; corner < 4; corner++)
    {
      double hx, hy;

      handle_centre (&rect, corner, &hx, &hy);
      if (fabs (x - hx) <= HANDLE_PX && fabs (y - hy) <= HANDLE_PX)
        return corner;
    }
  return -1;
}

/* The topmost item (the last drawn) under (@x, @y) mm, or -1. */
static int
hit_item (DothiLayoutEditor *self,
          double             x,
          double             y)
{
  for (int i = (int) count_items (self) - 1; i >= 0; i--)
    {
      double rect[4];

      get_rect (get_item (self, i), rect);
      if (x >= rect[0] && x <= rect[0] + rect[2] && y >= rect[1] && y <= rect[1] + rect[3])
        return i;
    }
  return -1;
}

static void
select_index (DothiLayoutEditor *self,
              int                index)
{
  if (index == self->selected)
    return;
  self->selected = index;
  rebuild_panel (self);
  gtk_widget_queue_draw (self->canvas);
  update_actions (self);
}

/* A move or resize in progress: outlines now, the page after a pause. */
static void
geometry_changed (DothiLayoutEditor *self)
{
  update_geometry_spins (self);
  note_change (self, FALSE);
}

static void
drag_begin_cb (GtkGestureDrag    *gesture,
               double             x,
               double             y,
               DothiLayoutEditor *self)
{
  int corner, index;

  self->drag_mode = DRAG_NONE;
  if (self->layout == NULL)
    return;
  gtk_widget_grab_focus (self->canvas);
  corner = hit_handle (self, x, y);
  if (corner >= 0)
    {
      self->drag_mode = DRAG_RESIZE;
      self->drag_corner = corner;
      get_rect (get_selected (self), self->drag_rect);
      return;
    }
  index = hit_item (self, (x - self->origin_x) / self->zoom, (y - self->origin_y) / self->zoom);
  select_index (self, index);
  if (index >= 0)
    {
      self->drag_mode = DRAG_MOVE;
      get_rect (get_selected (self), self->drag_rect);
    }
  else
    {
      self->drag_mode = DRAG_PAN;
      self->drag_origin[0] = self->origin_x;
      self->drag_origin[1] = self->origin_y;
    }
}

static void
drag_update_cb (GtkGestureDrag    *gesture,
                double             offset_x,
                double             offset_y,
                DothiLayoutEditor *self)
{
  JsonObject *item = get_selected (self);
  double dx = offset_x / self->zoom;
  double dy = offset_y / self->zoom;
  double rect[4];

  switch (self->drag_mode)
    {
    case DRAG_MOVE:
      if (item == NULL)
        return;
      /* Snapped to whole millimetres. */
      rect[0] = round (self->drag_rect[0] + dx);
      rect[1] = round (self->drag_rect[1] + dy);
      rect[2] = self->drag_rect[2];
      rect[3] = self->drag_rect[3];
      set_rect (item, rect);
      geometry_changed (self);
      break;

    case DRAG_RESIZE:
      {
        double x0 = self->drag_rect[0], y0 = self->drag_rect[1];
        double x1 = x0 + self->drag_rect[2], y1 = y0 + self->drag_rect[3];
        int c = self->drag_corner;

        if (item == NULL)
          return;
        if (c == 0 || c == 3)
          x0 = MIN (round (x0 + dx), x1 - MIN_ITEM_MM);
        else
          x1 = MAX (round (x1 + dx), x0 + MIN_ITEM_MM);
        if (c == 0 || c == 1)
          y0 = MIN (round (y0 + dy), y1 - MIN_ITEM_MM);
        else
          y1 = MAX (round (y1 + dy), y0 + MIN_ITEM_MM);
        rect[0] = x0;
        rect[1] = y0;
        rect[2] = x1 - x0;
        rect[3] = y1 - y0;
        set_rect (item, rect);
        geometry_changed (self);
      }
      break;

    case DRAG_PAN:
      self->fit = FALSE;
      self->origin_x = self->drag_origin[0] + offset_x;
      self->origin_y = self->drag_origin[1] + offset_y;
      view_changed (self);
      break;

    case DRAG_NONE:
    default:
      break;
    }
}

static void
drag_end_cb (GtkGestureDrag    *gesture,
             double             offset_x,
             double             offset_y,
             DothiLayoutEditor *self)
{
  self->drag_mode = DRAG_NONE;
}

static gboolean
scrolled_cb (GtkEventControllerScroll *controller,
             double                    dx,
             double                    dy,
             DothiLayoutEditor        *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  gboolean wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;

  if (self->layout == NULL)
    return FALSE;
  if (state & GDK_CONTROL_MASK)
    {
      /* About the pointer, which stays over the same spot of the page. */
      zoom_at (self, wheel ? pow (1.2, -dy) : exp (-dy * 0.01), self->pointer[0], self->pointer[1]);
      return TRUE;
    }
  if (state & GDK_SHIFT_MASK && dx == 0)
    {
      dx = dy;
      dy = 0;
    }
  self->fit = FALSE;
  self->origin_x -= dx * (wheel ? 48 : 1);
  self->origin_y -= dy * (wheel ? 48 : 1);
  view_changed (self);
  return TRUE;
}

static void
pointer_moved_cb (GtkEventControllerMotion *controller,
                  double                    x,
                  double                    y,
                  DothiLayoutEditor        *self)
{
  self->pointer[0] = x;
  self->pointer[1] = y;
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                DothiLayoutEditor     *self)
{
  double step = state & GDK_SHIFT_MASK ? 10 : 1;

  if (self->layout == NULL || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK)))
    return FALSE;
  switch (keyval)
    {
    case GDK_KEY_Delete:
    case GDK_KEY_KP_Delete:
    case GDK_KEY_BackSpace:
      if (self->selected < 0)
        return FALSE;
      dothi_layout_editor_delete_selected (self);
      return TRUE;
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      dothi_layout_editor_move_selected (self, -step, 0);
      return self->selected >= 0;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      dothi_layout_editor_move_selected (self, step, 0);
      return self->selected >= 0;
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      dothi_layout_editor_move_selected (self, 0, -step);
      return self->selected >= 0;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      dothi_layout_editor_move_selected (self, 0, step);
      return self->selected >= 0;
    case GDK_KEY_Escape:
      if (self->selected < 0)
        return FALSE;
      select_index (self, -1);
      return TRUE;
    default:
      return FALSE;
    }
}

/* ---- the properties panel ------------------------------------------------- */

static JsonObject *
target_object (DothiLayoutEditor *self,
               GObject           *widget)
{
  Target target = GPOINTER_TO_INT (g_object_get_data (widget, "dothi-target"));

  switch (target)
    {
    case TARGET_ITEM:
      return get_selected (self);
    case TARGET_PAGE:
      return get_root (self) != NULL ? ensure_object (get_root (self), "page") : NULL;
    case TARGET_ROOT:
      return get_root (self);
    case TARGET_FIELDS:
      return get_selected (self) != NULL ? ensure_object (get_selected (self), "fields") : NULL;
    default:
      return NULL;
    }
}

static void
tag_widget (gpointer    widget,
            Target      target,
            const char *key)
{
  g_object_set_data (G_OBJECT (widget), "dothi-target", GINT_TO_POINTER (target));
  g_object_set_data_full (G_OBJECT (widget), "dothi-key", g_strdup (key), g_free);
}

static const char *
widget_key (gpointer widget)
{
  return g_object_get_data (G_OBJECT (widget), "dothi-key");
}

static GtkWidget *
add_group (DothiLayoutEditor *self,
           const char        *title)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  gtk_box_append (self->panel_box, group);
  return group;
}

/* The map frame's centre in the project CRS (easting, northing). */
static void
get_centre (JsonObject *item,
            double      centre[2])
{
  JsonArray *center = get_array (item, "center");
  JsonArray *extent = get_array (item, "extent");

  centre[0] = centre[1] = 0;
  if (center != NULL && json_array_get_length (center) == 2)
    {
      centre[0] = json_array_get_double_element (center, 0);
      centre[1] = json_array_get_double_element (center, 1);
    }
  else if (extent != NULL && json_array_get_length (extent) == 4)
    {
      centre[0] = (json_array_get_double_element (extent, 0) + json_array_get_double_element (extent, 2)) / 2;
      centre[1] = (json_array_get_double_element (extent, 1) + json_array_get_double_element (extent, 3)) / 2;
    }
}

static void
set_centre (JsonObject *item,
            int         axis,
            double      value)
{
  JsonArray *extent = get_array (item, "extent");
  double centre[2];

  get_centre (item, centre);
  if (get_number (item, "scale", 0) <= 0 && extent != NULL && json_array_get_length (extent) == 4)
    {
      /* Fitted to an extent: the extent moves. */
      double e[4], shift = value - centre[axis];
      JsonArray *moved = json_array_new ();

      for (guint i = 0; i < 4; i++)
        {
          e[i] = json_array_get_double_element (extent, i);
          if (i % 2 == (guint) axis)
            e[i] += shift;
          json_array_add_double_element (moved, e[i]);
        }
      json_object_set_array_member (item, "extent", moved);
    }
  else
    {
      JsonArray *center = json_array_new ();

      centre[axis] = value;
      json_array_add_double_element (center, centre[0]);
      json_array_add_double_element (center, centre[1]);
      json_object_set_array_member (item, "center", center);
      if (json_object_has_member (item, "extent"))
        json_object_remove_member (item, "extent");
    }
}

static void
number_changed_cb (GtkSpinButton     *spin,
                   DothiLayoutEditor *self)
{
  JsonObject *object;
  const char *key = widget_key (spin);
  double value = gtk_spin_button_get_value (spin);

  if (self->updating || (object = target_object (self, G_OBJECT (spin))) == NULL)
    return;
  if (strcmp (key, "center-x") == 0)
    set_centre (object, 1, value);   /* X is the northing */
  else if (strcmp (key, "center-y") == 0)
    set_centre (object, 0, value);
  else if (gtk_spin_button_get_digits (spin) == 0)
    json_object_set_int_member (object, key, (gint64) value);
  else
    json_object_set_double_member (object, key, value);
  note_change (self, FALSE);
  if (g_object_get_data (G_OBJECT (spin), "dothi-refit") != NULL && self->fit)
    {
      apply_fit (self);
      view_changed (self);
    }
}

static GtkSpinButton *
add_spin_row (DothiLayoutEditor *self,
              GtkWidget         *group,
              const char        *title,
              const char        *subtitle,
              Target             target,
              const char        *key,
              double             min,
              double             max,
              double             step,
              guint              digits,
              double             value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (min, max, step);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  tag_widget (spin, target, key);
  g_signal_connect (spin, "value-changed", G_CALLBACK (number_changed_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  return GTK_SPIN_BUTTON (spin);
}

static void
text_changed_cb (GtkEditable       *editable,
                 DothiLayoutEditor *self)
{
  JsonObject *object;
  const char *key = widget_key (editable);
  const char *text = gtk_editable_get_text (editable);

  if (self->updating || (object = target_object (self, G_OBJECT (editable))) == NULL)
    return;
  if (strcmp (key, "fields") == 0)
    {
      /* A table's fields, typed with commas between. */
      g_auto(GStrv) names = g_strsplit (text, ",", -1);
      JsonArray *fields = json_array_new ();

      for (guint i = 0; names[i] != NULL; i++)
        {
          g_strstrip (names[i]);
          if (*names[i] != '\0')
            json_array_add_string_element (fields, names[i]);
        }
      json_object_set_array_member (object, key, fields);
    }
  else if (strcmp (key, "where") == 0 && *text == '\0')
    {
      if (json_object_has_member (object, key))
        json_object_remove_member (object, key);
    }
  else
    json_object_set_string_member (object, key, text);
  note_change (self, FALSE);
}

static void
add_entry_row (DothiLayoutEditor *self,
               GtkWidget         *group,
               const char        *title,
               Target             target,
               const char        *key,
               const char        *value)
{
  GtkWidget *row = adw_entry_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_editable_set_text (GTK_EDITABLE (row), value != NULL ? value : "");
  tag_widget (row, target, key);
  g_signal_connect (row, "changed", G_CALLBACK (text_changed_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
}

static void
switch_changed_cb (GtkSwitch         *toggle,
                   GParamSpec        *pspec,
                   DothiLayoutEditor *self)
{
  JsonObject *object;
  const char *key = widget_key (toggle);
  gboolean active = gtk_switch_get_active (toggle);

  if (self->updating || (object = target_object (self, G_OBJECT (toggle))) == NULL)
    return;
  if (strcmp (key, "grid-auto") == 0)
    {
      /* An absent "grid" is the automatic interval. */
      if (active && json_object_has_member (object, "grid"))
        json_object_remove_member (object, "grid");
      else if (!active)
        json_object_set_int_member (object, "grid", 0);
      note_change (self, FALSE);
      queue_rebuild_panel (self);
      return;
    }
  json_object_set_boolean_member (object, key, active);
  note_change (self, FALSE);
}

static GtkWidget *
add_switch_row (DothiLayoutEditor *self,
                GtkWidget         *group,
                const char        *title,
                const char        *subtitle,
                Target             target,
                const char        *key,
                gboolean           value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *toggle = gtk_switch_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_switch_set_active (GTK_SWITCH (toggle), value);
  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  tag_widget (toggle, target, key);
  g_signal_connect (toggle, "notify::active", G_CALLBACK (switch_changed_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  return row;
}

static void
combo_changed_cb (AdwComboRow       *row,
                  GParamSpec        *pspec,
                  DothiLayoutEditor *self)
{
  JsonObject *object;
  const char *key = widget_key (row);
  char **values = g_object_get_data (G_OBJECT (row), "dothi-values");
  guint selected = adw_combo_row_get_selected (row);

  if (self->updating || selected == GTK_INVALID_LIST_POSITION
      || selected >= g_strv_length (values)
      || (object = target_object (self, G_OBJECT (row))) == NULL)
    return;
  json_object_set_string_member (object, key, values[selected]);
  if (strcmp (key, "size") == 0 && strcmp (values[selected], "custom") == 0)
    {
      double width, height;

      /* A custom page starts as the page it was. */
      get_page_size (self, &width, &height);
      json_object_set_double_member (object, "width", width);
      json_object_set_double_member (object, "height", height);
      json_object_set_string_member (object, "orientation", "portrait");
    }
  else if (strcmp (key, "size") == 0)
    {
      if (json_object_has_member (object, "width"))
        json_object_remove_member (object, "width");
      if (json_object_has_member (object, "height"))
        json_object_remove_member (object, "height");
    }
  note_change (self, FALSE);
  if (strcmp (key, "size") == 0 || strcmp (key, "orientation") == 0)
    {
      if (self->fit)
        apply_fit (self);
      view_changed (self);
      queue_rebuild_panel (self);
    }
}

/* @values are written to the JSON, @labels shown (NULL: the values). A
 * @current value not among them is added, so nothing is lost. */
static void
add_combo_row (DothiLayoutEditor  *self,
               GtkWidget          *group,
               const char         *title,
               Target              target,
               const char         *key,
               const char * const *values,
               const char * const *labels,
               const char         *current)
{
  GtkWidget *row = adw_combo_row_new ();
  g_autoptr(GtkStringList) model = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();
  guint selected = 0;

  for (guint i = 0; values[i] != NULL; i++)
    {
      gtk_string_list_append (model, labels != NULL ? labels[i] : values[i]);
      g_ptr_array_add (kept, g_strdup (values[i]));
      if (g_strcmp0 (current, values[i]) == 0)
        selected = i;
    }
  if (current != NULL && !g_strv_contains (values, current))
    {
      gtk_string_list_append (model, current);
      g_ptr_array_add (kept, g_strdup (current));
      selected = kept->len - 1;
    }
  g_ptr_array_add (kept, NULL);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (model));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
  tag_widget (row, target, key);
  g_object_set_data_full (G_OBJECT (row), "dothi-values",
                          g_ptr_array_free (g_steal_pointer (&kept), FALSE),
                          (GDestroyNotify) g_strfreev);
  g_signal_connect (row, "notify::selected", G_CALLBACK (combo_changed_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
}

/* The layers a map item shows: its "layers", or the visible ones. */
static gboolean
map_shows_layer (DothiLayoutEditor *self,
                 JsonObject        *item,
                 const DothiLayerInfo *info)
{
  JsonArray *layers = get_array (item, "layers");

  if (layers == NULL)
    return info->visible;
  for (guint i = 0; i < json_array_get_length (layers); i++)
    if (g_strcmp0 (json_array_get_string_element (layers, i), info->name) == 0)
      return TRUE;
  return FALSE;
}

static void
layer_toggled_cb (GtkCheckButton    *check,
                  DothiLayoutEditor *self)
{
  JsonObject *item = get_selected (self);
  const char *name = widget_key (check);
  JsonArray *layers;

  if (self->updating || item == NULL)
    return;
  /* Kept in the project's z-order, bottom first. */
  layers = json_array_new ();
  for (guint i = 0; i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);
      gboolean shown = strcmp (info->name, name) == 0
                       ? gtk_check_button_get_active (check)
                       : map_shows_layer (self, item, info);

      if (shown)
        json_array_add_string_element (layers, info->name);
    }
  json_object_set_array_member (item, "layers", layers);
  note_change (self, FALSE);
}

static void
add_layer_checks (DothiLayoutEditor *self,
                  GtkWidget         *group,
                  JsonObject        *item)
{
  GtkWidget *expander = adw_expander_row_new ();

  /* Translators: a map frame's list of layers to draw */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (expander), _("Layers"));
  if (get_array (item, "layers") == NULL)
    /* Translators: subtitle of a map frame's layer list when none were chosen */
    adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (expander), _("The layers visible on the map"));
  for (guint i = 0; self->layers != NULL && i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();

      if (info->kind == DOTHI_GEOMETRY_KIND_NONE)
        continue;
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     info->title != NULL ? info->title : info->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), info->name);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), map_shows_layer (self, item, info));
      tag_widget (check, TARGET_ITEM, info->name);
      g_signal_connect (check, "toggled", G_CALLBACK (layer_toggled_cb), self);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), row);
    }
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), expander);
}

static void
add_map_combo (DothiLayoutEditor *self,
               GtkWidget         *group,
               JsonObject        *item)
{
  g_autoptr(GPtrArray) ids = dup_map_ids (self);

  g_ptr_array_add (ids, NULL);
  /* Translators: the map frame a legend, scale bar or overview belongs to */
  add_combo_row (self, group, _("Map"), TARGET_ITEM, "map",
                 (const char * const *) ids->pdata, NULL, get_string (item, "map", NULL));
}

static void
image_chosen_cb (GtkNativeDialog   *chooser,
                 int                response,
                 DothiLayoutEditor *self)
{
  g_autoptr(GFile) file = NULL;
  gboolean add = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (chooser), "dothi-add"));

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (file == NULL || self->layout == NULL)
    return;
  if (add)
    {
      if (dothi_layout_editor_add_item (self, "image") && get_selected (self) != NULL)
        {
          g_autofree char *path = g_file_get_path (file);

          json_object_set_string_member (get_selected (self), "path", path);
          note_change (self, TRUE);
        }
    }
  else if (get_selected (self) != NULL)
    {
      g_autofree char *path = g_file_get_path (file);

      json_object_set_string_member (get_selected (self), "path", path);
      note_change (self, FALSE);
      queue_rebuild_panel (self);
    }
}

static void
choose_image (DothiLayoutEditor *self,
              gboolean           add)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (_("Choose an Image"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  /* Translators: file filter of the image chooser */
  gtk_file_filter_set_name (filter, _("Images (PNG, JPEG, SVG)"));
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  gtk_file_filter_add_mime_type (filter, "image/svg+xml");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_set_data (G_OBJECT (chooser), "dothi-add", GINT_TO_POINTER (add));
  g_signal_connect (chooser, "response", G_CALLBACK (image_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
choose_image_clicked_cb (GtkButton         *button,
                         DothiLayoutEditor *self)
{
  choose_image (self, FALSE);
}

static void
basemap_chosen_cb (GtkNativeDialog   *chooser,
                   int                response,
                   DothiLayoutEditor *self)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (file != NULL)
    {
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        dothi_layout_editor_set_basemap (self, path);
    }
}

static void
choose_basemap_clicked_cb (GtkButton         *button,
                           DothiLayoutEditor *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  /* Translators: title and accept button of the basemap file chooser */
  chooser = gtk_file_chooser_native_new (_("Choose an Offline Basemap"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Use"), _("_Cancel"));
  /* Translators: file type filter in the basemap file chooser */
  gtk_file_filter_set_name (filter, _("MBTiles raster tiles"));
  gtk_file_filter_add_suffix (filter, "mbtiles");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_signal_connect (chooser, "response", G_CALLBACK (basemap_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
clear_basemap_clicked_cb (GtkButton         *button,
                          DothiLayoutEditor *self)
{
  dothi_layout_editor_set_basemap (self, NULL);
}

static void
build_page_panel (DothiLayoutEditor *self)
{
  JsonObject *root = get_root (self);
  JsonObject *page = get_object (root, "page");
  const char *size = get_string (page, "size", "A3");
  gboolean custom = g_ascii_strcasecmp (size, "custom") == 0;
  const char *page_labels[] = { "A4", "A3", "A2", "A1", "A0",
                                /* Translators: a page size other than A4–A0 */
                                _("Custom"), NULL };
  const char *orientations[] = { "portrait", "landscape", NULL };
  const char *orientation_labels[] = { _("Portrait"), _("Landscape"), NULL };
  double width, height;
  GtkWidget *group;
  GtkSpinButton *spin;

  /* Translators: heading of the layout's own properties */
  group = add_group (self, _("Layout"));
  /* Translators: the layout's name, under which it is stored in the project */
  add_entry_row (self, group, _("Name"), TARGET_ROOT, "name", get_string (root, "name", ""));

  /* Translators: heading of the page properties */
  group = add_group (self, _("Page"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                         _("Select an item on the page to change it"));
  /* Translators: the paper size */
  add_combo_row (self, group, _("Size"), TARGET_PAGE, "size", page_sizes, page_labels,
                 custom ? "custom" : size);
  add_combo_row (self, group, _("Orientation"), TARGET_PAGE, "orientation", orientations,
                 orientation_labels, get_string (page, "orientation", "portrait"));
  get_page_size (self, &width, &height);
  if (custom)
    {
      /* Translators: page width in millimetres */
      spin = add_spin_row (self, group, _("Width (mm)"), NULL, TARGET_PAGE, "width",
                           10, DOTHI_PAGE_MAX_LONG_MM, 1, 0, get_number (page, "width", width));
      g_object_set_data (G_OBJECT (spin), "dothi-refit", GINT_TO_POINTER (TRUE));
      /* Translators: page height in millimetres */
      spin = add_spin_row (self, group, _("Height (mm)"), NULL, TARGET_PAGE, "height",
                           10, DOTHI_PAGE_MAX_LONG_MM, 1, 0, get_number (page, "height", height));
      g_object_set_data (G_OBJECT (spin), "dothi-refit", GINT_TO_POINTER (TRUE));
    }
}

static void
build_map_panel (DothiLayoutEditor *self,
                 JsonObject        *item)
{
  GtkWidget *group, *spin_row;
  GtkSpinButton *spin;
  double centre[2];
  gboolean automatic = !json_object_has_member (item, "grid");

  /* Translators: heading of a map frame's properties */
  group = add_group (self, _("Map Frame"));
  /* Translators: the map scale 1:N; the subtitle says what 0 means */
  add_spin_row (self, group, _("Scale 1:"), _("0 fits the extent to the frame"), TARGET_ITEM,
                "scale", 0, 100000000, 100, 0, get_number (item, "scale", 0));
  get_centre (item, centre);
  /* Translators: the map frame's centre, X = northing in the Vietnamese
   * survey convention, in metres */
  add_spin_row (self, group, _("Centre X (northing, m)"), NULL, TARGET_ITEM, "center-x",
                -1e8, 1e8, 10, 1, centre[1]);
  /* Translators: the map frame's centre, Y = easting, in metres */
  add_spin_row (self, group, _("Centre Y (easting, m)"), NULL, TARGET_ITEM, "center-y",
                -1e8, 1e8, 10, 1, centre[0]);
  add_layer_checks (self, group, item);

  /* Translators: heading of the map frame's coordinate grid and labels */
  group = add_group (self, _("Grid and Labels"));
  /* Translators: the VN-2000 grid interval is chosen from the scale */
  add_switch_row (self, group, _("Automatic grid"), _("An interval that suits the scale"),
                  TARGET_ITEM, "grid-auto", automatic);
  /* Translators: the VN-2000 coordinate grid interval in metres */
  spin = add_spin_row (self, group, _("Grid interval (m)"), _("0: no grid"), TARGET_ITEM, "grid",
                       0, 100000, 50, 0, get_number (item, "grid", 0));
  spin_row = gtk_widget_get_ancestor (GTK_WIDGET (spin), ADW_TYPE_ACTION_ROW);
  gtk_widget_set_sensitive (spin_row, !automatic);
  /* Translators: plot labels of a planning map: code, area, population */
  add_switch_row (self, group, _("Plot labels"), _("Land use code, area and population"),
                  TARGET_ITEM, "labels", get_boolean (item, "labels", FALSE));

  /* Translators: heading of the map frame's background imagery */
  group = add_group (self, _("Basemap"));
  {
    const char *basemap = get_string (item, "basemap", NULL);
    g_autofree char *name = basemap != NULL ? g_path_get_basename (basemap) : NULL;
    GtkWidget *row = adw_action_row_new ();
    GtkWidget *choose = gtk_button_new_with_mnemonic (_("_Choose…"));

    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Offline basemap"));
    adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
    /* Translators: subtitle of the basemap row when the frame has none */
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), name != NULL ? name : _("None: the layers alone"));
    gtk_widget_set_name (row, "layout-basemap");
    gtk_widget_set_tooltip_text (choose, _("An MBTiles file of raster tiles, warped to the project's grid when printing"));
    gtk_widget_set_valign (choose, GTK_ALIGN_CENTER);
    g_signal_connect (choose, "clicked", G_CALLBACK (choose_basemap_clicked_cb), self);
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), choose);
    if (basemap != NULL)
      {
        GtkWidget *clear = gtk_button_new_from_icon_name ("edit-clear-symbolic");

        /* Translators: tooltip of the button taking the basemap off a map frame */
        gtk_widget_set_tooltip_text (clear, _("No basemap"));
        gtk_widget_set_valign (clear, GTK_ALIGN_CENTER);
        gtk_widget_add_css_class (clear, "flat");
        g_signal_connect (clear, "clicked", G_CALLBACK (clear_basemap_clicked_cb), self);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), clear);
      }
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  }
}

static void
build_title_block_panel (DothiLayoutEditor *self,
                         JsonObject        *item)
{
  static const char * const templates[] = { "tt04-planning", "tt25-cadastral", "simple", NULL };
  const char *template_labels[] = {
    /* Translators: title block templates */
    _("Planning map (Circular 04/2022)"),
    _("Cadastral sheet (Circular 25/2014)"),
    _("Simple"),
    NULL };
  static const char * const keys[] = { "agency", "title", "drawing", "scale",
                                       "decision", "date", "signer", NULL };
  const char *labels[] = {
    /* Translators: title block fields */
    _("Agency"), _("Title"), _("Drawing"), _("Scale"),
    _("Approval decision"), _("Date"), _("Signer"), NULL };
  JsonObject *fields = get_object (item, "fields");
  g_autoptr(GList) members = fields != NULL ? json_object_get_members (fields) : NULL;
  GtkWidget *group;

  /* Translators: heading of a title block's properties */
  group = add_group (self, _("Title Block"));
  /* Translators: the title block's layout */
  add_combo_row (self, group, _("Template"), TARGET_ITEM, "template", templates, template_labels,
                 get_string (item, "template", "simple"));

  /* Translators: heading of the title block's texts; {page}, {date} and
   * {field} stay as they are */
  group = add_group (self, _("Fields"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                         _("{date}, {scale}, {page} and atlas fields such as {ten} are filled in when printing"));
  for (guint i = 0; keys[i] != NULL; i++)
    add_entry_row (self, group, labels[i], TARGET_FIELDS, keys[i], get_string (fields, keys[i], ""));
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (keys, l->data))
      add_entry_row (self, group, l->data, TARGET_FIELDS, l->data, get_string (fields, l->data, ""));
}

static void
build_text_panel (DothiLayoutEditor *self,
                  JsonObject        *item)
{
  static const char * const aligns[] = { "left", "center", "right", NULL };
  const char *align_labels[] = {
    /* Translators: text alignment */
    _("Left"), _("Centre"), _("Right"), NULL };
  GtkWidget *group = add_group (self, _("Text"));

  /* Translators: the text printed */
  add_entry_row (self, group, _("Text"), TARGET_ITEM, "text", get_string (item, "text", ""));
  /* Translators: font size in points */
  add_spin_row (self, group, _("Size (pt)"), NULL, TARGET_ITEM, "size", 4, 400, 1, 1,
                get_number (item, "size", 12));
  /* Translators: bold text */
  add_switch_row (self, group, _("Bold"), NULL, TARGET_ITEM, "bold", get_boolean (item, "bold", FALSE));
  /* Translators: text alignment */
  add_combo_row (self, group, _("Alignment"), TARGET_ITEM, "align", aligns, align_labels,
                 get_string (item, "align", "left"));
}

static void
build_table_panel (DothiLayoutEditor *self,
                   JsonObject        *item)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GString) fields_text = g_string_new (NULL);
  JsonArray *fields = get_array (item, "fields");
  GtkWidget *group = add_group (self, _("Table"));

  for (guint i = 0; self->layers != NULL && i < self->layers->len; i++)
    g_ptr_array_add (names, ((DothiLayerInfo *) g_ptr_array_index (self->layers, i))->name);
  g_ptr_array_add (names, NULL);
  for (guint i = 0; fields != NULL && i < json_array_get_length (fields); i++)
    {
      const char *name = json_array_get_string_element (fields, i);

      if (name == NULL)
        continue;
      if (fields_text->len > 0)
        g_string_append (fields_text, ", ");
      g_string_append (fields_text, name);
    }
  /* Translators: the layer whose features the table lists */
  add_combo_row (self, group, _("Layer"), TARGET_ITEM, "layer",
                 (const char * const *) names->pdata, NULL, get_string (item, "layer", NULL));
  /* Translators: the table's columns, field names separated by commas */
  add_entry_row (self, group, _("Fields (separated by commas)"), TARGET_ITEM, "fields", fields_text->str);
  /* Translators: an attribute condition choosing the table's rows */
  add_entry_row (self, group, _("Condition"), TARGET_ITEM, "where", get_string (item, "where", ""));
  /* Translators: the most rows the printed table shows */
  add_spin_row (self, group, _("Rows at most"), NULL, TARGET_ITEM, "max_rows", 1, 1000, 1, 0,
                get_number (item, "max_rows", 40));
}

static void
build_image_panel (DothiLayoutEditor *self,
                   JsonObject        *item)
{
  GtkWidget *group = add_group (self, _("Image"));
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *button = gtk_button_new_with_mnemonic (_("_Choose…"));
  const char *path = get_string (item, "path", NULL);
  g_autofree char *name = path != NULL ? g_path_get_basename (path) : NULL;

  /* Translators: the image file printed */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("File"));
  /* Translators: no image file chosen */
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), name != NULL ? name : _("None"));
  gtk_widget_set_tooltip_text (row, path);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect (button, "clicked", G_CALLBACK (choose_image_clicked_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
}

static void
rebuild_panel (DothiLayoutEditor *self)
{
  GtkWidget *child;
  JsonObject *item = get_selected (self);
  const char *type;
  GtkWidget *group, *remove;

  g_clear_handle_id (&self->rebuild_source, g_source_remove);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->panel_box))) != NULL)
    gtk_box_remove (self->panel_box, child);
  for (guint i = 0; i < 4; i++)
    self->geometry_spins[i] = NULL;
  if (self->layout == NULL)
    return;

  self->updating = TRUE;
  if (item == NULL)
    {
      build_page_panel (self);
      self->updating = FALSE;
      return;
    }

  type = get_string (item, "type", "");
  group = add_group (self, item_type_label (type));
  remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  /* Translators: tooltip of the button removing the selected item */
  gtk_widget_set_tooltip_text (remove, _("Remove the item (Delete)"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (remove), "editor.delete-item");
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (group), remove);
  {
    const char *titles[4] = {
      /* Translators: the item's position from the page's left and top
       * edges, and its size, in millimetres */
      _("Left (mm)"), _("Top (mm)"), _("Width (mm)"), _("Height (mm)") };
    double rect[4];

    get_rect (item, rect);
    for (guint i = 0; i < 4; i++)
      self->geometry_spins[i] = add_spin_row (self, group, titles[i], NULL, TARGET_ITEM,
                                              geometry_keys[i], i < 2 ? -DOTHI_PAGE_MAX_LONG_MM : MIN_ITEM_MM,
                                              DOTHI_PAGE_MAX_LONG_MM, 1, 1, rect[i]);
  }

  if (strcmp (type, "map") == 0)
    build_map_panel (self, item);
  else if (strcmp (type, "title_block") == 0)
    build_title_block_panel (self, item);
  else if (strcmp (type, "text") == 0)
    build_text_panel (self, item);
  else if (strcmp (type, "legend") == 0)
    {
      group = add_group (self, _("Legend"));
      /* Translators: the legend's heading */
      add_entry_row (self, group, _("Title"), TARGET_ITEM, "title", get_string (item, "title", ""));
      add_map_combo (self, group, item);
    }
  else if (strcmp (type, "scale_bar") == 0 || strcmp (type, "overview") == 0)
    {
      group = add_group (self, item_type_label (type));
      add_map_combo (self, group, item);
    }
  else if (strcmp (type, "table") == 0)
    build_table_panel (self, item);
  else if (strcmp (type, "image") == 0)
    build_image_panel (self, item);
  else if (strcmp (type, "frame") == 0)
    {
      group = add_group (self, _("Frame"));
      /* Translators: line width in millimetres */
      add_spin_row (self, group, _("Line width (mm)"), NULL, TARGET_ITEM, "line", 0.05, 5, 0.05, 2,
                    get_number (item, "line", 0.5));
    }
  self->updating = FALSE;
}

/* ---- layouts -------------------------------------------------------------- */

static void
sync_atlas_widgets (DothiLayoutEditor *self)
{
  JsonObject *atlas = get_object (get_root (self), "atlas");
  const char *layer = get_string (atlas, "layer", NULL);

  self->updating = TRUE;
  gtk_toggle_button_set_active (self->atlas_button, layer != NULL);
  for (guint i = 0; layer != NULL && i < self->atlas_layers->len; i++)
    if (strcmp (g_ptr_array_index (self->atlas_layers, i), layer) == 0)
      gtk_drop_down_set_selected (self->atlas_dropdown, i);
  self->updating = FALSE;
}

/* Takes @layout. */
static void
set_layout (DothiLayoutEditor *self,
            DothiLayout       *layout,
            gboolean           modified)
{
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->layout, dothi_layout_free);
  self->layout = layout;
  self->selected = -1;
  self->serial++;
  self->preview_page = 0;
  self->n_pages = 0;
  update_page_bar (self);
  g_clear_object (&self->texture);
  if (self->render_cancellable != NULL)
    g_cancellable_cancel (self->render_cancellable);
  self->layout_valid = layout != NULL && dothi_layout_validate (layout, &error);
  show_error (self, error != NULL ? error->message : NULL);
  self->modified = modified;
  update_title (self);
  self->fit = TRUE;
  apply_fit (self);
  sync_atlas_widgets (self);
  rebuild_panel (self);
  if (self->layout_valid)
    schedule_render (self, 0);
  update_zoom_label (self);
  update_actions (self);
  gtk_widget_queue_draw (self->canvas);
}

/* Underscores in a menu label would be mnemonics. */
static char *
escape_mnemonic (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, "_", -1);

  return g_strjoinv ("__", parts);
}

static void
refresh_layout_menu (DothiLayoutEditor *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) stored = g_menu_new ();
  g_autoptr(GMenu) commands = g_menu_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = dothi_layout_list (self->project, &error);

  if (names == NULL && error != NULL)
    toast (self, error->message);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree char *label = escape_mnemonic (names[i]);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target_value (item, "editor.open-layout",
                                               g_variant_new_string (names[i]));
      g_menu_append_item (stored, item);
    }
  /* Translators: Layouts menu: makes a new layout from a ready one */
  g_menu_append (commands, _("_New from Template…"), "editor.new-from-template");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (stored));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (commands));
  gtk_menu_button_set_menu_model (self->layout_button, G_MENU_MODEL (menu));
}

static void
atlas_changed (DothiLayoutEditor *self)
{
  JsonObject *root = get_root (self);
  guint selected = gtk_drop_down_get_selected (self->atlas_dropdown);

  update_actions (self);
  if (self->updating || root == NULL)
    return;
  if (gtk_toggle_button_get_active (self->atlas_button) && selected < self->atlas_layers->len)
    {
      JsonObject *atlas = ensure_object (root, "atlas");

      json_object_set_string_member (atlas, "layer", g_ptr_array_index (self->atlas_layers, selected));
    }
  else if (json_object_has_member (root, "atlas"))
    json_object_remove_member (root, "atlas");
  else
    return;
  /* Another atlas: its first page. */
  self->preview_page = 0;
  note_change (self, FALSE);
}

static void
atlas_toggled_cb (GtkToggleButton   *button,
                  DothiLayoutEditor *self)
{
  atlas_changed (self);
}

static void
atlas_layer_changed_cb (GtkDropDown       *dropdown,
                        GParamSpec        *pspec,
                        DothiLayoutEditor *self)
{
  if (gtk_toggle_button_get_active (self->atlas_button))
    atlas_changed (self);
}

static void
load_layers (DothiLayoutEditor *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GtkStringList) model = gtk_string_list_new (NULL);

  self->layers = dothi_project_list_layers (self->project, &error);
  if (self->layers == NULL)
    {
      show_error (self, error->message);
      self->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_layer_info_free);
    }
  /* An atlas page per feature of a polygon layer: wards, sheets, zones. */
  for (guint i = 0; i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);

      if (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
        continue;
      g_ptr_array_add (self->atlas_layers, g_strdup (info->name));
      gtk_string_list_append (model, info->title != NULL && *info->title != '\0' ? info->title : info->name);
    }
  gtk_drop_down_set_model (self->atlas_dropdown, G_LIST_MODEL (model));
}

/* ---- new items ------------------------------------------------------------ */

/* The extent a new map shows: the first map's, else the visible layers'. */
static void
copy_map_view (DothiLayoutEditor *self,
               JsonObject        *item)
{
  double extent[4] = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  JsonArray *array;

  for (guint i = 0; i < count_items (self); i++)
    {
      JsonObject *other = get_item (self, i);

      if (other == item || g_strcmp0 (get_string (other, "type", NULL), "map") != 0)
        continue;
      if ((array = get_array (other, "extent")) != NULL)
        json_object_set_array_member (item, "extent", copy_numbers (array));
      if ((array = get_array (other, "center")) != NULL)
        json_object_set_array_member (item, "center", copy_numbers (array));
      if (get_number (other, "scale", 0) > 0)
        json_object_set_double_member (item, "scale", get_number (other, "scale", 0));
      return;
    }
  for (guint i = 0; i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);

      if (!info->visible || info->kind == DOTHI_GEOMETRY_KIND_NONE || info->feature_count == 0)
        continue;
      extent[0] = MIN (extent[0], info->extent[0]);
      extent[1] = MIN (extent[1], info->extent[1]);
      extent[2] = MAX (extent[2], info->extent[2]);
      extent[3] = MAX (extent[3], info->extent[3]);
    }
  if (extent[0] <= extent[2])
    {
      array = json_array_new ();
      for (guint i = 0; i < 4; i++)
        json_array_add_double_element (array, extent[i]);
      json_object_set_array_member (item, "extent", array);
    }
}

static char *
unique_map_id (DothiLayoutEditor *self)
{
  g_autoptr(GPtrArray) ids = dup_map_ids (self);

  for (guint n = 1; ; n++)
    {
      g_autofree char *id = n == 1 ? g_strdup ("map") : g_strdup_printf ("map%u", n);
      gboolean taken = FALSE;

      for (guint i = 0; i < ids->len; i++)
        taken = taken || strcmp (g_ptr_array_index (ids, i), id) == 0;
      if (!taken)
        return g_steal_pointer (&id);
    }
}

static JsonObject *
make_item (DothiLayoutEditor *self,
           const char        *type)
{
  JsonObject *item = json_object_new ();
  g_autoptr(GPtrArray) map_ids = dup_map_ids (self);
  const char *map_id = map_ids->len > 0 ? g_ptr_array_index (map_ids, 0) : "map";
  double page_w, page_h, visible[4], rect[4] = { 0, 0, 60, 40 };

  json_object_set_string_member (item, "type", type);
  /* Texts printed on the page are data of the layout, Vietnamese by
   * default, not UI strings. */
  if (strcmp (type, "map") == 0)
    {
      g_autofree char *id = unique_map_id (self);

      json_object_set_string_member (item, "id", id);
      copy_map_view (self, item);
      rect[2] = 160;
      rect[3] = 110;
    }
  else if (strcmp (type, "overview") == 0)
    {
      json_object_set_string_member (item, "map", map_id);
      rect[2] = rect[3] = 60;
    }
  else if (strcmp (type, "legend") == 0)
    {
      json_object_set_string_member (item, "map", map_id);
      json_object_set_string_member (item, "title", "Chú giải");
      rect[2] = 55;
      rect[3] = 70;
    }
  else if (strcmp (type, "scale_bar") == 0)
    {
      json_object_set_string_member (item, "map", map_id);
      rect[2] = 80;
      rect[3] = 12;
    }
  else if (strcmp (type, "north_arrow") == 0)
    {
      rect[2] = 12;
      rect[3] = 20;
    }
  else if (strcmp (type, "title_block") == 0)
    {
      JsonObject *fields = json_object_new ();

      json_object_set_string_member (item, "template", "simple");
      json_object_set_string_member (fields, "title", "Tiêu đề bản đồ");
      json_object_set_string_member (fields, "date", "{date}");
      json_object_set_object_member (item, "fields", fields);
      rect[2] = 120;
      rect[3] = 40;
    }
  else if (strcmp (type, "text") == 0)
    {
      json_object_set_string_member (item, "text", "Văn bản");
      json_object_set_double_member (item, "size", 12);
      json_object_set_boolean_member (item, "bold", FALSE);
      json_object_set_string_member (item, "align", "left");
      rect[2] = 80;
      rect[3] = 10;
    }
  else if (strcmp (type, "image") == 0)
    {
      rect[2] = rect[3] = 30;
    }
  else if (strcmp (type, "table") == 0)
    {
      const DothiLayerInfo *layer = NULL;
      JsonArray *fields = json_array_new ();

      for (guint i = 0; i < self->layers->len && layer == NULL; i++)
        if (((DothiLayerInfo *) g_ptr_array_index (self->layers, i))->fields->len > 0)
          layer = g_ptr_array_index (self->layers, i);
      if (layer != NULL)
        {
          json_object_set_string_member (item, "layer", layer->name);
          for (guint i = 0; i < MIN (4, layer->fields->len); i++)
            json_array_add_string_element (fields, ((DothiField *) g_ptr_array_index (layer->fields, i))->name);
        }
      json_object_set_array_member (item, "fields", fields);
      json_object_set_int_member (item, "max_rows", 20);
      rect[2] = 120;
      rect[3] = 60;
    }
  else if (strcmp (type, "frame") == 0)
    {
      get_page_size (self, &page_w, &page_h);
      json_object_set_double_member (item, "line", 0.5);
      rect[0] = rect[1] = 10;
      rect[2] = page_w - 20;
      rect[3] = page_h - 20;
      set_rect (item, rect);
      return item;
    }

  /* In the middle of what is on screen, on the page. */
  get_page_size (self, &page_w, &page_h);
  if (!get_visible_rect (self, visible))
    {
      visible[0] = visible[1] = 0;
      visible[2] = page_w;
      visible[3] = page_h;
    }
  rect[2] = MIN (rect[2], page_w);
  rect[3] = MIN (rect[3], page_h);
  rect[0] = CLAMP (round (visible[0] + (visible[2] - rect[2]) / 2), 0, page_w - rect[2]);
  rect[1] = CLAMP (round (visible[1] + (visible[3] - rect[3]) / 2), 0, page_h - rect[3]);
  set_rect (item, rect);
  return item;
}

/* ---- printing ------------------------------------------------------------- */

static void
print_job_free (PrintJob *job)
{
  g_free (job->project_path);
  g_free (job->out_path);
  g_clear_pointer (&job->layout, dothi_layout_free);
  g_free (job);
}

typedef struct {
  DothiLayoutEditor *self;   /* owned */
  guint              serial;
  double             fraction;
  char              *stage;
} ProgressUpdate;

static void
progress_update_free (gpointer data)
{
  ProgressUpdate *update = data;

  g_object_unref (update->self);
  g_free (update->stage);
  g_free (update);
}

static gboolean
progress_update_cb (gpointer data)
{
  ProgressUpdate *update = data;
  DothiLayoutEditor *self = update->self;

  if (update->serial != self->print_serial || !is_printing (self) || self->disposed)
    return G_SOURCE_REMOVE;
  if (update->fraction >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (update->fraction, 0, 1));
  else
    gtk_progress_bar_pulse (self->progress_bar);
  if (update->stage != NULL)
    gtk_label_set_text (self->progress_label, update->stage);
  return G_SOURCE_REMOVE;
}

/* On the printing thread: the bar is moved on the main thread. */
static void
print_progress_cb (double      fraction,
                   const char *stage,
                   gpointer    data)
{
  PrintJob *job = data;
  ProgressUpdate *update = g_new0 (ProgressUpdate, 1);

  update->self = g_object_ref (job->self);
  update->serial = job->serial;
  update->fraction = fraction;
  update->stage = g_strdup (stage);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, progress_update_cb, update,
                              progress_update_free);
}

/* Returns 0 when printed, or the page count when it needs a yes first. */
static void
print_thread (GTask        *task,
              gpointer      source,
              gpointer      data,
              GCancellable *cancellable)
{
  PrintJob *job = data;
  GError *error = NULL;

  if (!job->confirmed)
    {
      gint64 pages = dothi_print_count_pages (job->project_path, job->layout, &job->options, &error);

      if (pages < 0 || error != NULL)
        {
          if (error == NULL)
            g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                         _("The pages of the layout could not be counted"));
          g_task_return_error (task, error);
          return;
        }
      if (pages > ATLAS_WARN_PAGES)
        {
          g_task_return_int (task, pages);
          return;
        }
    }
  if (dothi_print_sync (job->project_path, job->layout, &job->options, job->out_path,
                        cancellable, print_progress_cb, job, &error))
    g_task_return_int (task, 0);
  else
    g_task_return_error (task, error);
}

static void
finish_print (DothiLayoutEditor *self)
{
  g_clear_object (&self->print_cancellable);
  if (self->disposed)
    return;
  gtk_revealer_set_reveal_child (self->progress_revealer, FALSE);
  update_actions (self);
}

static void
confirm_response_cb (AdwMessageDialog  *dialog,
                     const char        *response,
                     DothiLayoutEditor *self)
{
  PrintJob *job = g_object_steal_data (G_OBJECT (dialog), "dothi-job");

  if (job == NULL)
    return;
  if (strcmp (response, "print") == 0 && !self->disposed && !is_printing (self))
    {
      job->confirmed = TRUE;
      start_print (self, job);
    }
  else
    print_job_free (job);
}

static void
confirm_pages (DothiLayoutEditor *self,
               PrintJob          *job,
               gint64             pages)
{
  GtkWidget *dialog;
  g_autofree char *count = dothi_format_int64 (pages);
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  JsonObject *atlas = get_object (dothi_layout_get_object (job->layout), "atlas");
  const char *layer = job->options.atlas_layer != NULL ? job->options.atlas_layer
                      : get_string (atlas, "layer", "");

  /* The layer as people know it. */
  for (guint i = 0; i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);

      if (strcmp (info->name, layer) == 0 && info->title != NULL && *info->title != '\0')
        layer = info->title;
    }

  /* Translators: a number of pages, formatted */
  heading = g_strdup_printf (ngettext ("Print %s Page?", "Print %s Pages?", pages), count);
  /* Translators: a layer name, then a number of pages */
  body = g_strdup_printf (ngettext ("The atlas has one page for each feature of layer “%s”: %s page. Printing it may take several minutes.",
                                    "The atlas has one page for each feature of layer “%s”: %s pages. Printing them may take several minutes.",
                                    pages), layer, count);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    /* Translators: confirms a long atlas print */
                                    "print", _("_Print All"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "print",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "dothi-job", job, (GDestroyNotify) print_job_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
print_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (source);
  PrintJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gssize pages = g_task_propagate_int (G_TASK (result), &error);

  finish_print (self);
  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* Translators: toast after Cancel; nothing was written */
          if (!self->disposed)
            toast (self, _("Printing cancelled"));
          return;
        }
      g_free (self->error_message);
      self->error_message = g_strdup (error->message);
      if (!self->disposed)
        toast (self, error->message);
      return;
    }
  if (pages > 0)
    {
      PrintJob *copy;

      if (self->disposed)
        return;
      /* The job goes on after the warning; the task's copy is freed. */
      copy = g_new0 (PrintJob, 1);
      copy->project_path = g_steal_pointer (&job->project_path);
      copy->out_path = g_steal_pointer (&job->out_path);
      copy->layout = g_steal_pointer (&job->layout);
      copy->options = job->options;
      confirm_pages (self, copy, pages);
      return;
    }
  g_clear_pointer (&self->error_message, g_free);
  if (!self->disposed)
    {
      g_autofree char *name = g_path_get_basename (job->out_path);
      /* Translators: a file name */
      g_autofree char *text = g_strdup_printf (_("Printed “%s”"), name);

      toast (self, text);
    }
}

/* Takes @job. */
static void
start_print (DothiLayoutEditor *self,
             PrintJob          *job)
{
  g_autoptr(GTask) task = NULL;

  job->self = self;
  job->serial = ++self->print_serial;
  self->print_cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->progress_label, job->confirmed ? _("Printing…") : _("Counting pages…"));
  gtk_revealer_set_reveal_child (self->progress_revealer, TRUE);
  task = g_task_new (self, self->print_cancellable, print_done_cb, NULL);
  g_task_set_source_tag (task, start_print);
  g_task_set_task_data (task, job, (GDestroyNotify) print_job_free);
  g_task_run_in_thread (task, print_thread);
  update_actions (self);
}

static void
print_chosen_cb (GtkNativeDialog   *chooser,
                 int                response,
                 DothiLayoutEditor *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  DothiPrintFormat format;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file != NULL)
    {
      GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (chooser));
      const char *extension = filter != NULL ? g_object_get_data (G_OBJECT (filter), "dothi-extension") : NULL;

      path = g_file_get_path (file);
      if (!dothi_print_format_for (NULL, path, &format))
        {
          g_autofree char *with = g_strconcat (path, ".", extension != NULL ? extension : "pdf", NULL);

          g_free (path);
          path = g_steal_pointer (&with);
        }
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (path != NULL)
    dothi_layout_editor_print (self, path);
}

static void
add_print_filter (GtkFileChooser *chooser,
                  const char     *name,
                  const char     *extension,
                  const char     *mime_type)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *pattern = g_strconcat ("*.", extension, NULL);

  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_filter_add_mime_type (filter, mime_type);
  g_object_set_data_full (G_OBJECT (filter), "dothi-extension", g_strdup (extension), g_free);
  gtk_file_chooser_add_filter (chooser, filter);
}

/* ---- actions -------------------------------------------------------------- */

static void
open_layout_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);
  g_autoptr(GError) error = NULL;

  if (!dothi_layout_editor_open_layout (self, g_variant_get_string (parameter, NULL), &error))
    toast (self, error->message);
}

static void
template_response_cb (AdwMessageDialog  *dialog,
                      const char        *response,
                      DothiLayoutEditor *self)
{
  static const char * const templates[] = { "planning", "cadastral", "handout" };
  AdwComboRow *template_row = g_object_get_data (G_OBJECT (dialog), "dothi-template");
  AdwComboRow *size_row = g_object_get_data (G_OBJECT (dialog), "dothi-size");
  GtkEditable *title_row = g_object_get_data (G_OBJECT (dialog), "dothi-title");
  guint template = adw_combo_row_get_selected (template_row);
  guint size = adw_combo_row_get_selected (size_row);
  const char *title = gtk_editable_get_text (title_row);
  g_autoptr(GError) error = NULL;

  if (strcmp (response, "create") != 0 || template >= G_N_ELEMENTS (templates) || size >= 5)
    return;
  if (!dothi_layout_editor_new_from_template (self, templates[template], page_sizes[size],
                                              *title != '\0' ? title : NULL, &error))
    toast (self, error->message);
}

static void
new_from_template_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);
  const char *template_labels[] = {
    /* Translators: layout templates */
    _("Planning map"), _("Cadastral sheet"), _("Handout"), NULL };
  const char *size_labels[] = { "A4", "A3", "A2", "A1", "A0", NULL };
  GtkWidget *dialog, *list, *template_row, *size_row, *title_row;
  g_autoptr(GtkStringList) templates = gtk_string_list_new (template_labels);
  g_autoptr(GtkStringList) sizes = gtk_string_list_new (size_labels);

  /* Translators: heading of the New Layout dialog */
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("New Layout"),
                                   _("Start from a ready layout; everything on it can be changed afterwards."));
  list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  template_row = adw_combo_row_new ();
  /* Translators: the ready layout a new one starts from */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (template_row), _("Template"));
  adw_combo_row_set_model (ADW_COMBO_ROW (template_row), G_LIST_MODEL (templates));
  size_row = adw_combo_row_new ();
  /* Translators: the paper size */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (size_row), _("Page size"));
  adw_combo_row_set_model (ADW_COMBO_ROW (size_row), G_LIST_MODEL (sizes));
  adw_combo_row_set_selected (ADW_COMBO_ROW (size_row), 1);  /* A3 */
  title_row = adw_entry_row_new ();
  /* Translators: the map's title, printed in the title block */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (title_row), _("Title"));
  gtk_list_box_append (GTK_LIST_BOX (list), template_row);
  gtk_list_box_append (GTK_LIST_BOX (list), size_row);
  gtk_list_box_append (GTK_LIST_BOX (list), title_row);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), list);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    /* Translators: makes the new layout */
                                    "create", _("C_reate"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "create",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "create");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "dothi-template", template_row);
  g_object_set_data (G_OBJECT (dialog), "dothi-size", size_row);
  g_object_set_data (G_OBJECT (dialog), "dothi-title", title_row);
  g_signal_connect_object (dialog, "response", G_CALLBACK (template_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);
  g_autoptr(GError) error = NULL;

  if (!dothi_layout_editor_save (self, &error))
    {
      g_free (self->error_message);
      self->error_message = g_strdup (error->message);
      toast (self, error->message);
    }
  else
    {
      /* Translators: a layout name */
      g_autofree char *text = g_strdup_printf (_("Layout “%s” stored in the project"),
                                               dothi_layout_get_name (self->layout));
      toast (self, text);
    }
}

static void
print_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);
  GtkFileChooserNative *chooser;
  const char *name;
  g_autofree char *file_name = NULL;

  if (self->layout == NULL || is_printing (self))
    return;
  chooser = gtk_file_chooser_native_new (_("Print the Layout"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Print"), _("_Cancel"));
  /* Translators: file filters of the Print dialog */
  add_print_filter (GTK_FILE_CHOOSER (chooser), _("PDF document (*.pdf)"), "pdf", "application/pdf");
  add_print_filter (GTK_FILE_CHOOSER (chooser), _("SVG drawing (*.svg)"), "svg", "image/svg+xml");
  add_print_filter (GTK_FILE_CHOOSER (chooser), _("PNG image (*.png)"), "png", "image/png");
  name = dothi_layout_get_name (self->layout);
  if (name == NULL || *name == '\0')
    /* Translators: the default file name of a print, without extension */
    name = _("layout");
  file_name = g_strconcat (name, ".pdf", NULL);
  g_strdelimit (file_name, "/\\", '-');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  g_signal_connect (chooser, "response", G_CALLBACK (print_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
cancel_print_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);

  if (self->print_cancellable != NULL)
    g_cancellable_cancel (self->print_cancellable);
}

static void
add_item_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);
  const char *type = g_variant_get_string (parameter, NULL);

  if (strcmp (type, "image") == 0)
    choose_image (self, TRUE);
  else
    dothi_layout_editor_add_item (self, type);
}

static void
delete_item_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  dothi_layout_editor_delete_selected (DOTHI_LAYOUT_EDITOR (widget));
}

static void
zoom_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  zoom_centre (DOTHI_LAYOUT_EDITOR (widget), 1.25);
}

static void
zoom_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  zoom_centre (DOTHI_LAYOUT_EDITOR (widget), 1 / 1.25);
}

static void
step_page (DothiLayoutEditor *self,
           int                step)
{
  gint64 page = (gint64) self->preview_page + step;

  if (page < 0 || page >= self->n_pages)
    return;
  self->preview_page = (guint) page;
  update_page_bar (self);
  /* The texture shows the other page until this one is drawn. */
  schedule_render (self, 0);
}

static void
page_previous_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  step_page (DOTHI_LAYOUT_EDITOR (widget), -1);
}

static void
page_next_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  step_page (DOTHI_LAYOUT_EDITOR (widget), 1);
}

static void
zoom_fit_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (widget);

  self->fit = TRUE;
  apply_fit (self);
  view_changed (self);
}

static void
close_response_cb (AdwMessageDialog  *dialog,
                   const char        *response,
                   DothiLayoutEditor *self)
{
  g_autoptr(GError) error = NULL;

  if (strcmp (response, "save") == 0 && !dothi_layout_editor_save (self, &error))
    {
      toast (self, error->message);
      return;
    }
  if (strcmp (response, "save") == 0 || strcmp (response, "discard") == 0)
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
}

/* Unsaved changes: a decision, so a dialog. */
static gboolean
dothi_layout_editor_close_request (GtkWindow *window)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (window);
  GtkWidget *dialog;
  const char *name;
  g_autofree char *heading = NULL;

  if (self->layout == NULL || !self->modified || self->close_confirmed
      || dothi_project_get_read_only (self->project))
    return GTK_WINDOW_CLASS (dothi_layout_editor_parent_class)->close_request != NULL
           && GTK_WINDOW_CLASS (dothi_layout_editor_parent_class)->close_request (window);

  name = dothi_layout_get_name (self->layout);
  /* Translators: a layout name */
  heading = g_strdup_printf (_("Save Changes to Layout “%s”?"), name != NULL ? name : "");
  dialog = adw_message_dialog_new (window, heading,
                                   _("The changes are lost unless the layout is stored in the project."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    /* Translators: closes without storing the layout */
                                    "discard", _("_Discard"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (close_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

/* ---- GObject -------------------------------------------------------------- */

static void
dothi_layout_editor_dispose (GObject *object)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (object);

  self->disposed = TRUE;
  g_clear_handle_id (&self->render_source, g_source_remove);
  g_clear_handle_id (&self->rebuild_source, g_source_remove);
  if (self->render_cancellable != NULL)
    g_cancellable_cancel (self->render_cancellable);
  if (self->print_cancellable != NULL)
    g_cancellable_cancel (self->print_cancellable);
  if (self->canvas != NULL)
    DOTHI_LAYOUT_CANVAS (self->canvas)->editor = NULL;
  for (guint i = 0; i < 4; i++)
    self->geometry_spins[i] = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_LAYOUT_EDITOR);
  g_clear_object (&self->project);
  G_OBJECT_CLASS (dothi_layout_editor_parent_class)->dispose (object);
}

static void
dothi_layout_editor_finalize (GObject *object)
{
  DothiLayoutEditor *self = DOTHI_LAYOUT_EDITOR (object);

  /* Tasks hold the editor: none is running by now. */
  g_clear_object (&self->render_cancellable);
  g_clear_object (&self->print_cancellable);
  g_clear_pointer (&self->printer, dothi_printer_free);
  g_clear_object (&self->texture);
  g_clear_pointer (&self->layout, dothi_layout_free);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_pointer (&self->atlas_layers, g_ptr_array_unref);
  g_free (self->project_path);
  g_free (self->error_message);
  G_OBJECT_CLASS (dothi_layout_editor_parent_class)->finalize (object);
}

static void
dothi_layout_editor_class_init (DothiLayoutEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_layout_editor_dispose;
  object_class->finalize = dothi_layout_editor_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = dothi_layout_editor_close_request;

  g_type_ensure (DOTHI_TYPE_LAYOUT_CANVAS);
  gtk_widget_class_set_template_from_resource (widget_class, "/vn/dothi/Dothi/ui/dothi-layout-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, toasts);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, layout_button);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, atlas_button);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, atlas_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, canvas);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, zoom_button);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, page_box);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, page_label);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, error_label);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, panel_box);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, progress_label);
  gtk_widget_class_bind_template_child (widget_class, DothiLayoutEditor, progress_bar);

  gtk_widget_class_install_action (widget_class, "editor.open-layout", "s", open_layout_action);
  gtk_widget_class_install_action (widget_class, "editor.new-from-template", NULL, new_from_template_action);
  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "editor.print", NULL, print_action);
  gtk_widget_class_install_action (widget_class, "editor.cancel-print", NULL, cancel_print_action);
  gtk_widget_class_install_action (widget_class, "editor.add-item", "s", add_item_action);
  gtk_widget_class_install_action (widget_class, "editor.delete-item", NULL, delete_item_action);
  gtk_widget_class_install_action (widget_class, "editor.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "editor.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "editor.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_install_action (widget_class, "editor.page-previous", NULL, page_previous_action);
  gtk_widget_class_install_action (widget_class, "editor.page-next", NULL, page_next_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, 0, "editor.page-previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, 0, "editor.page-next", NULL);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_p, GDK_CONTROL_MASK, "editor.print", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "editor.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "editor.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK, "editor.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "editor.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK, "editor.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "editor.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, GDK_CONTROL_MASK, "editor.zoom-fit", NULL);
}

static void
dothi_layout_editor_init (DothiLayoutEditor *self)
{
  GtkGesture *drag;
  GtkEventController *controller;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->selected = -1;
  self->zoom = 1;
  self->fit = TRUE;
  self->atlas_layers = g_ptr_array_new_with_free_func (g_free);
  DOTHI_LAYOUT_CANVAS (self->canvas)->editor = self;

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (drag));

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (scrolled_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "enter", G_CALLBACK (pointer_moved_cb), self);
  g_signal_connect (controller, "motion", G_CALLBACK (pointer_moved_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  g_signal_connect (self->atlas_button, "toggled", G_CALLBACK (atlas_toggled_cb), self);
  g_signal_connect (self->atlas_dropdown, "notify::selected", G_CALLBACK (atlas_layer_changed_cb), self);
  update_zoom_label (self);
}

/* ---- public API ----------------------------------------------------------- */

DothiLayoutEditor *
dothi_layout_editor_new (GtkWindow    *parent,
                         DothiProject *project)
{
  DothiLayoutEditor *self;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  self = g_object_new (DOTHI_TYPE_LAYOUT_EDITOR, "transient-for", parent, NULL);
  if (parent != NULL && gtk_window_get_application (parent) != NULL)
    gtk_window_set_application (GTK_WINDOW (self), gtk_window_get_application (parent));
  self->project = g_object_ref (project);
  self->project_path = g_strdup (dothi_project_get_path (project));
  load_layers (self);
  refresh_layout_menu (self);

  names = dothi_layout_list (project, NULL);
  if (names != NULL && names[0] != NULL)
    dothi_layout_editor_open_layout (self, names[0], &error);
  else
    dothi_layout_editor_new_from_template (self, "planning", NULL, NULL, &error);
  if (error != NULL)
    {
      g_free (self->error_message);
      self->error_message = g_strdup (error->message);
      show_error (self, error->message);
    }
  update_actions (self);
  return self;
}

DothiLayout *
dothi_layout_editor_get_layout (DothiLayoutEditor *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), NULL);
  return self->layout;
}

void
dothi_layout_editor_layout_changed (DothiLayoutEditor *self)
{
  g_return_if_fail (DOTHI_IS_LAYOUT_EDITOR (self));
  if (self->selected >= (int) count_items (self))
    self->selected = -1;
  sync_atlas_widgets (self);
  note_change (self, TRUE);
}

gboolean
dothi_layout_editor_new_from_template (DothiLayoutEditor *self,
                                       const char        *template_name,
                                       const char        *page_size,
                                       const char        *title,
                                       GError           **error)
{
  DothiLayout *layout;

  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);
  g_return_val_if_fail (template_name != NULL, FALSE);

  layout = dothi_layout_new_template (self->project, template_name, page_size, title, error);
  if (layout == NULL)
    return FALSE;
  set_layout (self, layout, TRUE);
  return TRUE;
}

gboolean
dothi_layout_editor_open_layout (DothiLayoutEditor *self,
                                 const char        *name,
                                 GError           **error)
{
  DothiLayout *layout;

  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  layout = dothi_layout_load (self->project, name, error);
  if (layout == NULL)
    return FALSE;
  set_layout (self, layout, FALSE);
  return TRUE;
}

gboolean
dothi_layout_editor_save (DothiLayoutEditor *self,
                          GError           **error)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);

  if (self->layout == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA, _("There is no layout to save"));
      return FALSE;
    }
  if (!dothi_layout_validate (self->layout, error)
      || !dothi_layout_store (self->project, self->layout, error))
    return FALSE;
  set_modified (self, FALSE);
  refresh_layout_menu (self);
  return TRUE;
}

gboolean
dothi_layout_editor_get_modified (DothiLayoutEditor *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);
  return self->modified;
}

gboolean
dothi_layout_editor_select_item (DothiLayoutEditor *self,
                                 const char        *id)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);

  if (id == NULL)
    {
      select_index (self, -1);
      return TRUE;
    }
  for (guint i = 0; i < count_items (self); i++)
    if (g_strcmp0 (get_string (get_item (self, i), "id", NULL), id) == 0)
      {
        select_index (self, i);
        return TRUE;
      }
  return FALSE;
}

int
dothi_layout_editor_get_selected_index (DothiLayoutEditor *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), -1);
  return self->selected;
}

gboolean
dothi_layout_editor_add_item (DothiLayoutEditor *self,
                              const char        *type)
{
  JsonArray *items;

  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);
  g_return_val_if_fail (type != NULL, FALSE);

  if (self->layout == NULL)
    return FALSE;
  items = get_items (self);
  if (items == NULL)
    {
      items = json_array_new ();
      json_object_set_array_member (get_root (self), "items", items);
    }
  json_array_add_object_element (items, make_item (self, type));
  self->selected = json_array_get_length (items) - 1;
  note_change (self, TRUE);
  gtk_widget_grab_focus (self->canvas);
  return TRUE;
}

void
dothi_layout_editor_move_selected (DothiLayoutEditor *self,
                                   double             dx_mm,
                                   double             dy_mm)
{
  JsonObject *item;
  double rect[4];

  g_return_if_fail (DOTHI_IS_LAYOUT_EDITOR (self));

  if ((item = get_selected (self)) == NULL)
    return;
  get_rect (item, rect);
  rect[0] += dx_mm;
  rect[1] += dy_mm;
  set_rect (item, rect);
  geometry_changed (self);
}

void
dothi_layout_editor_delete_selected (DothiLayoutEditor *self)
{
  JsonArray *items;

  g_return_if_fail (DOTHI_IS_LAYOUT_EDITOR (self));

  if (get_selected (self) == NULL || (items = get_items (self)) == NULL)
    return;
  json_array_remove_element (items, self->selected);
  self->selected = -1;
  note_change (self, TRUE);
}

void
dothi_layout_editor_print (DothiLayoutEditor *self,
                           const char        *out_path)
{
  g_autoptr(GError) error = NULL;
  PrintJob *job;

  g_return_if_fail (DOTHI_IS_LAYOUT_EDITOR (self));
  g_return_if_fail (out_path != NULL);

  if (self->layout == NULL || is_printing (self))
    return;
  job = g_new0 (PrintJob, 1);
  if (!dothi_layout_validate (self->layout, &error)
      || !dothi_print_format_for (NULL, out_path, &job->options.format))
    {
      if (error == NULL)
        /* Translators: a file name */
        g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     _("“%s” does not end in .pdf, .svg or .png"), out_path);
      g_free (self->error_message);
      self->error_message = g_strdup (error->message);
      toast (self, error->message);
      print_job_free (job);
      return;
    }
  job->project_path = g_strdup (self->project_path);
  job->out_path = g_strdup (out_path);
  job->layout = dothi_layout_copy (self->layout);
  start_print (self, job);
}

gboolean
dothi_layout_editor_get_busy (DothiLayoutEditor *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), FALSE);
  return self->render_source != 0 || self->render_cancellable != NULL || is_printing (self);
}

GdkTexture *
dothi_layout_editor_get_preview_texture (DothiLayoutEditor *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), NULL);
  return self->texture;
}

const char *
dothi_layout_editor_get_error_message (DothiLayoutEditor *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYOUT_EDITOR (self), NULL);
  return self->error_message;
}

void
dothi_layout_editor_set_basemap (DothiLayoutEditor *self,
                                 const char        *path)
{
  JsonObject *item;

  g_return_if_fail (DOTHI_IS_LAYOUT_EDITOR (self));

  item = get_selected (self);
  if (item == NULL || g_strcmp0 (get_string (item, "type", NULL), "map") != 0)
    return;
  if (path != NULL)
    json_object_set_string_member (item, "basemap", path);
  else if (json_object_has_member (item, "basemap"))
    json_object_remove_member (item, "basemap");
  else
    return;
  note_change (self, FALSE);
  queue_rebuild_panel (self);
}
