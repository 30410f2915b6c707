/* dothi-window.c: the main window. Opens a project off the main loop,
 * then shows its layer panel, map, identify panel, attribute table and
 * status bar; runs search, identify, undo, redo, revert and merge in the
 * core's worker threads, and hosts the editing tools. */
#define G_LOG_DOMAIN "dothi-window"

#include "config.h"
#include "dothi-window.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "dothi-attribute-table.h"
#include "dothi-audit-view.h"
#include "dothi-crs.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-feature-form.h"
#include "dothi-feature-list.h"
#include "dothi-format.h"
#include "dothi-identify-panel.h"
#include "dothi-import-dialog.h"
#include "dothi-layer-row.h"
#include "dothi-map-view.h"
#include "dothi-parcel.h"
#include "dothi-search.h"
#include "dothi-style-dialog.h"
#include "dothi-topology-view.h"
#include "dothi-layout-editor.h"
#include "dothi-network-panel.h"
#include "dothi-ops-panel.h"
#include "dothi-query-dialog.h"
#include "dothi-sql-window.h"

#define PROJECT_MIME_TYPE "application/x-dothi-project"
#define MAX_RECENT 10
#define SEARCH_LIMIT 10
/* A search result that is a point still gets this much around it, m. */
#define MIN_FLY_SIZE 60.0
#define DEFAULT_TILE_SERVER "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
/* Parcels merged must share a boundary within this much, m (cadastral
 * survey tolerance). */
#define MERGE_TOLERANCE 0.05
#define DEFAULT_SNAP_TOLERANCE_PX 10.0

struct _DothiWindow
{
  AdwApplicationWindow  parent_instance;

  DothiProject         *project;
  /* Cancels the open (or create) in progress; NULL when none is. */
  GCancellable         *open_cancellable;
  GCancellable         *search_cancellable;
  GCancellable         *identify_cancellable;
  GtkFileChooserNative *chooser;
  GtkWidget            *error_dialog;
  AdwToast             *error_toast;
  char                 *error_message;
  /* "VN-2000 / TM-3 108°30′": names the zone in the status bar. */
  char                 *crs_name;
  GPtrArray            *search_results;   /* DothiSearchResult* */
  gboolean              fly_when_found;
  gboolean              sidebar_visible;
  char                 *basemap;          /* "none", "mbtiles", "online" */
  GtkRecentManager     *recent_manager;
  GtkPopover           *search_popover;
  GtkListBox           *search_list;
  /* The last identify click (x, y, tolerance): identify again after a
   * feature form saved. */
  double                last_click[3];
  gboolean              has_last_click;

  /* The layers as last listed (DothiLayerInfo*, bottom first) and their
   * styles (DothiStyle* or NULL, parallel). */
  GPtrArray            *layer_infos;
  GPtrArray            *layer_styles;

  /* Editing */
  gboolean              editing;
  char                 *edit_tool;        /* "none", "add-point", … */
  char                 *edit_layer;       /* table name, or NULL */
  GPtrArray            *edit_layers;      /* char*: edit drop-down order */
  gboolean              snapping;
  GHashTable           *snap_off;         /* layers unticked for snapping */
  gboolean              filling_choices;
  /* An undo, redo, revert or merge in a worker; NULL when none runs. */
  GCancellable         *edit_cancellable;
  char                 *undo_label;
  char                 *redo_label;
  AdwToast             *edit_toast;
  GtkWidget            *audit_view;       /* weak */
  GtkWidget            *topology_view;    /* weak */
  GtkWidget            *query_dialog;     /* weak */
  GtkWidget            *sql_window;       /* weak */
  GtkWidget            *layout_editor;    /* weak */
  GtkWidget            *network_panel;    /* weak */
  GtkWidget            *ops_panel;        /* weak */

  /* Follows the file, as the map does, for the undo and redo labels. */

  /* The attribute table */
  gboolean              table_visible;
  char                 *table_layer;
  GPtrArray            *table_layers;     /* char*: table drop-down order */
  GtkWidget            *attribute_table;
  gboolean              syncing_selection;

  /* Template children */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  gboolean              close_now;   /* set_project closes the old one at once */
  GtkMenuButton        *recent_button;
  GtkSearchEntry       *search_entry;
  GtkStack             *stack;
  AdwStatusPage        *empty_page;
  GtkSpinner           *spinner;
  AdwFlap              *flap;
  GtkLabel             *layers_heading;
  GtkListBox           *layer_list;
  DothiMapView         *map_view;
  GtkRevealer          *identify_revealer;
  DothiIdentifyPanel   *identify_panel;
  GtkLabel             *position_label;
  GtkLabel             *wgs84_label;
  GtkSpinner           *map_spinner;
  GtkLabel             *scale_label;
  GtkButton            *undo_button;
  GtkButton            *redo_button;
  GtkToggleButton      *edit_button;
  GtkRevealer          *edit_revealer;
  GtkDropDown          *edit_layer_dropdown;
  GtkStringList        *edit_layer_titles;
  GtkWidget            *add_point_button;
  GtkWidget            *add_line_button;
  GtkWidget            *add_polygon_button;
  GtkWidget            *split_button;
  GtkWidget            *merge_button;
  GtkBox               *snap_layers_box;
  GtkSpinButton        *snap_tolerance_spin;
  GtkEntry             *coordinate_entry;
  GtkWidget            *table_pane;
  GtkDropDown          *table_layer_dropdown;
  GtkStringList        *table_layer_titles;
  GtkBox               *table_box;
};

G_DEFINE_FINAL_TYPE (DothiWindow, dothi_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_PROJECT,
  PROP_BUSY,
  PROP_SIDEBAR_VISIBLE,
  PROP_BASEMAP,
  PROP_EDITING,
  PROP_EDIT_TOOL,
  PROP_SNAPPING,
  PROP_TABLE_VISIBLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void update_actions (DothiWindow *self);
static void set_editing (DothiWindow *self, gboolean editing);
static void fill_layer_choices (DothiWindow *self);
static void refresh_history (DothiWindow *self);
static void close_project_windows (DothiWindow *self);

/* ---- opening and closing ------------------------------------------------ */

/* What the open worker hands back to the main thread. */
typedef struct {
  DothiProject *project;
  GPtrArray    *layers;   /* DothiLayerInfo* */
  GPtrArray    *styles;   /* DothiStyle* or NULL, parallel to layers */
  char         *crs_name;
} OpenResult;

static void
open_result_free (OpenResult *result)
{
  g_clear_object (&result->project);
  g_clear_pointer (&result->layers, g_ptr_array_unref);
  g_clear_pointer (&result->styles, g_ptr_array_unref);
  g_free (result->crs_name);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OpenResult, open_result_free)

static void
style_unref0 (gpointer style)
{
  if (style != NULL)
    dothi_style_unref (style);
}

/* "VN-2000 / TM-3 108-30" → "VN-2000 / TM-3 108°30′", as surveyors write
 * it; other names stay as PROJ has them. Runs in a worker (PROJ). */
static char *
dup_zone_name (int srid)
{
  g_autofree char *name = dothi_crs_dup_name (srid);
  g_autoptr(GRegex) regex = NULL;

  if (name == NULL)
    return g_strdup_printf ("EPSG:%d", srid);
  regex = g_regex_new ("(TM-3 |TM-6 |UTM )?([0-9]{2,3})-([0-9]{2})$", 0, 0, NULL);
  return g_regex_replace (regex, name, -1, 0, "\\1\\2°\\3′", 0, NULL);
}

/* Runs in a worker thread: it owns the project it opens until the result
 * reaches the main thread, which then is its only user. */
static void
open_project_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(OpenResult) result = g_new0 (OpenResult, 1);
  g_autoptr(GError) error = NULL;
  DothiProjectOpenFlags flags =
    GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "dothi-open-flags"));

  result->project = dothi_project_open (path, flags, &error);
  if (result->project == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  result->layers = dothi_project_list_layers (result->project, &error);
  if (result->layers == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* A broken style only loses its legend; the map reports it. */
  result->styles = g_ptr_array_new_with_free_func (style_unref0);
  for (guint i = 0; i < result->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (result->layers, i);

      g_ptr_array_add (result->styles,
                       dothi_project_dup_style (result->project, info->name, NULL));
    }

  result->crs_name = dup_zone_name (dothi_project_get_srid (result->project));

  g_task_return_pointer (task, g_steal_pointer (&result),
                         (GDestroyNotify) open_result_free);
}

/* Closing checkpoints the WAL, which is disk I/O: it runs in a thread,
 * and the application stays alive until it is done. */
static void
close_project_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  dothi_project_close (DOTHI_PROJECT (task_data));
  g_task_return_boolean (task, TRUE);
}

static void
project_closed_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GApplication) application = user_data;

  if (application != NULL)
    {
      g_application_unmark_busy (application);
      g_application_release (application);
    }
}

static void
close_project_in_background (DothiWindow  *self,
                             DothiProject *project)
{
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  g_autoptr(GTask) task = NULL;

  /* Busy until closed, so tests can wait for it too. */
  if (application != NULL)
    {
      g_application_hold (application);
      g_application_mark_busy (application);
    }

  task = g_task_new (NULL, NULL, project_closed_cb,
                     application ? g_object_ref (application) : NULL);
  g_task_set_source_tag (task, close_project_in_background);
  g_task_set_task_data (task, project, g_object_unref);
  g_task_run_in_thread (task, close_project_thread);
}

static void
hide_identify (DothiWindow *self)
{
  g_cancellable_cancel (self->identify_cancellable);
  g_clear_object (&self->identify_cancellable);
  gtk_revealer_set_reveal_child (self->identify_revealer, FALSE);
  dothi_identify_panel_set_results (self->identify_panel, NULL);
  if (self->map_view != NULL && dothi_map_view_get_project (self->map_view) != NULL)
    dothi_map_view_highlight (self->map_view, NULL, -1);
  update_actions (self);
}

static void
set_project (DothiWindow  *self,
             DothiProject *project)
{
  DothiProject *old;

  if (self->project == project)
    return;

  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_pointer (&self->search_results, g_ptr_array_unref);
  hide_identify (self);
  self->has_last_click = FALSE;

  /* Editing, the table and the history belong to the old project; a
   * running undo finishes its transaction unwatched. */
  g_cancellable_cancel (self->edit_cancellable);
  g_clear_object (&self->edit_cancellable);
  set_editing (self, FALSE);
  close_project_windows (self);
  if (self->attribute_table != NULL)
    dothi_attribute_table_set_layer (DOTHI_ATTRIBUTE_TABLE (self->attribute_table), NULL, NULL);
  g_clear_pointer (&self->table_layer, g_free);
  g_clear_pointer (&self->edit_layer, g_free);

  /* The map lets go of the old project before it is closed. */
  old = g_steal_pointer (&self->project);
  self->project = project ? g_object_ref (project) : NULL;
  dothi_map_view_set_project (self->map_view, self->project);
  if (old != NULL && self->close_now)
    {
      /* A read-only project closes at once: nothing to write back. */
      dothi_project_close (old);
      g_object_unref (old);
    }
  else if (old != NULL)
    close_project_in_background (self, old);

  refresh_history (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

static void
set_busy (DothiWindow *self,
          gboolean     busy)
{
  if (gtk_spinner_get_spinning (self->spinner) == busy)
    return;
  gtk_spinner_set_spinning (self->spinner, busy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
update_title (DothiWindow *self)
{
  g_autofree char *name = NULL;

  if (self->project == NULL)
    {
      adw_window_title_set_title (self->window_title, "Dothi");
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_window_set_title (GTK_WINDOW (self), "Dothi");
      return;
    }

  name = g_filename_display_basename (dothi_project_get_path (self->project));
  adw_window_title_set_title (self->window_title, name);
  if (dothi_project_get_read_only (self->project))
    {
      /* Translators: window subtitle; a CRS code such as EPSG:9218. The
       * project is on a network drive or a read-only file. */
      g_autofree char *subtitle = g_strdup_printf (_("%s — read-only"),
                                                   dothi_project_get_crs (self->project));
      adw_window_title_set_subtitle (self->window_title, subtitle);
    }
  else
    adw_window_title_set_subtitle (self->window_title,
                                   dothi_project_get_crs (self->project));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->window_title), self->crs_name);
  gtk_window_set_title (GTK_WINDOW (self), name);
}

/* ---- messages ----------------------------------------------------------- */

static void
set_error_message (DothiWindow *self,
                   const char  *message)
{
  g_free (self->error_message);
  self->error_message = g_strdup (message);
}

static void
error_toast_dismissed_cb (AdwToast    *toast,
                          DothiWindow *self)
{
  if (self->error_toast == toast)
    self->error_toast = NULL;
}

/* A failed action: @error's message names the layer or file. The same
 * message is not stacked while it still shows (a failing tile repeats). */
static void
show_toast_error (DothiWindow  *self,
                  const GError *error)
{
  AdwToast *toast;

  if (self->error_toast != NULL && g_strcmp0 (self->error_message, error->message) == 0)
    return;

  set_error_message (self, error->message);
  toast = adw_toast_new (error->message);
  adw_toast_set_timeout (toast, 6);
  g_signal_connect_object (toast, "dismissed",
                           G_CALLBACK (error_toast_dismissed_cb), self, 0);
  self->error_toast = toast;
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
show_toast (DothiWindow *self,
            const char  *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
error_dialog_response_cb (AdwMessageDialog *dialog,
                          const char       *response,
                          DothiWindow      *self)
{
  if (self->error_dialog == GTK_WIDGET (dialog))
    self->error_dialog = NULL;
}

/* @message is translated and names the file (DothiError messages do). */
static void
show_error (DothiWindow *self,
            const char  *heading,
            const char  *message)
{
  GtkWidget *dialog;

  set_error_message (self, message);

  if (self->error_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->error_dialog));

  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, message);
  /* Translators: button that closes an error message */
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);
  g_signal_connect_object (dialog, "response",
                           G_CALLBACK (error_dialog_response_cb), self, 0);
  self->error_dialog = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- numbers for the status bar ----------------------------------------- */

/* 1:N with N rounded to two significant digits from 1000 up, as map
 * sheets name scales (1:2500, not 1:2537). */
static char *
format_scale (double denominator)
{
  g_autofree char *number = NULL;
  double n = denominator;

  if (!(n > 0) || !isfinite (n))
    return g_strdup ("");
  if (n >= 1000)
    {
      double step = pow (10.0, floor (log10 (n)) - 1.0);
      n = round (n / step) * step;
    }
  number = dothi_format_int64 ((gint64) llround (n));
  /* Translators: the map scale in the status bar, "1:2500" */
  return g_strdup_printf (_("1:%s"), number);
}

static void
pointer_moved_cb (DothiMapView *map,
                  double        x,
                  double        y,
                  double        lat,
                  double        lon,
                  DothiWindow  *self)
{
  /* Survey convention: X is the northing, Y the easting. */
  g_autofree char *northing = dothi_format_double (y, 2);
  g_autofree char *easting = dothi_format_double (x, 2);
  g_autofree char *lat_text = dothi_format_double (fabs (lat), 4);
  g_autofree char *lon_text = dothi_format_double (fabs (lon), 4);
  g_autofree char *lat_part = NULL;
  g_autofree char *lon_part = NULL;
  g_autofree char *position = NULL;
  g_autofree char *wgs84 = NULL;

  /* Translators: pointer position in the status bar in the Vietnamese
   * survey convention: X is the northing, Y the easting, in metres; then
   * the coordinate system, such as "VN-2000 / TM-3 108°30′" */
  position = g_strdup_printf (_("X: %s m  Y: %s m  (%s)"), northing, easting,
                              self->crs_name ? self->crs_name : "");

  lat_part = g_strdup_printf (lat >= 0
                              /* Translators: latitude north, "12.6801° N" */
                              ? _("%s° N")
                              /* Translators: latitude south, "12.6801° S" */
                              : _("%s° S"), lat_text);
  lon_part = g_strdup_printf (lon >= 0
                              /* Translators: longitude east, "108.0512° E" */
                              ? _("%s° E")
                              /* Translators: longitude west, "108.0512° W" */
                              : _("%s° W"), lon_text);
  /* Translators: latitude and longitude in the status bar */
  wgs84 = g_strdup_printf (_("%s, %s (WGS 84)"), lat_part, lon_part);

  gtk_label_set_text (self->position_label, position);
  gtk_label_set_text (self->wgs84_label, wgs84);
}

/* Off the map, the status bar still names the zone coordinates are in. */
static void
pointer_left_cb (DothiMapView *map,
                 DothiWindow  *self)
{
  gtk_label_set_text (self->position_label, self->crs_name ? self->crs_name : "");
  gtk_label_set_text (self->wgs84_label, "");
}

static void
scale_changed_cb (DothiMapView *map,
                  GParamSpec   *pspec,
                  DothiWindow  *self)
{
  g_autofree char *scale = format_scale (dothi_map_view_get_scale_denominator (map));

  gtk_label_set_text (self->scale_label, scale);
}

static void
map_busy_cb (DothiMapView *map,
             GParamSpec   *pspec,
             DothiWindow  *self)
{
  gtk_spinner_set_spinning (self->map_spinner, dothi_map_view_get_busy (map));
}

static void
map_error_cb (DothiMapView *map,
              GError       *error,
              DothiWindow  *self)
{
  if (error != NULL)
    show_toast_error (self, error);
}

/* ---- layer panel -------------------------------------------------------- */

static void
clear_layer_list (DothiWindow *self)
{
  GtkWidget *child;

  /* gtk_list_box_remove_all() is GTK 4.12. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list))))
    gtk_list_box_remove (self->layer_list, child);
}

static DothiLayerRow *
find_row (DothiWindow *self,
          const char  *name)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (DOTHI_IS_LAYER_ROW (child)
        && g_strcmp0 (dothi_layer_row_get_name (DOTHI_LAYER_ROW (child)), name) == 0)
      return DOTHI_LAYER_ROW (child);
  return NULL;
}

static guint
count_rows (DothiWindow *self)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += DOTHI_IS_LAYER_ROW (child);
  return n;
}

static gboolean
project_writable (DothiWindow *self)
{
  return self->project != NULL && !dothi_project_get_read_only (self->project);
}

static void
row_visible_toggled_cb (DothiLayerRow *row,
                        gboolean       visible,
                        DothiWindow   *self)
{
  const char *name = dothi_layer_row_get_name (row);
  g_autoptr(GError) error = NULL;

  if (self->project == NULL)
    return;
  dothi_map_view_set_layer_visible (self->map_view, name, visible);
  /* A read-only project still shows and hides; it just keeps no record. */
  if (project_writable (self)
      && !dothi_project_set_layer_visible (self->project, name, visible, &error))
    show_toast_error (self, error);
}

static void
row_opacity_changed_cb (DothiLayerRow *row,
                        double         opacity,
                        gboolean       done,
                        DothiWindow   *self)
{
  const char *name = dothi_layer_row_get_name (row);
  g_autoptr(GError) error = NULL;

  if (self->project == NULL)
    return;
  if (!done)
    {
      dothi_map_view_set_layer_opacity (self->map_view, name, opacity);
      return;
    }
  if (project_writable (self)
      && !dothi_project_set_layer_opacity (self->project, name, opacity, &error))
    show_toast_error (self, error);
}

static void
row_layer_dropped_cb (DothiLayerRow *target,
                      const char    *name,
                      DothiWindow   *self)
{
  g_autoptr(GError) error = NULL;
  DothiLayerRow *source = find_row (self, name);
  int index = gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (target));
  guint n = count_rows (self);

  if (self->project == NULL || source == NULL || source == target || index < 0)
    return;

  /* Rows run top first; the project counts z-order from the bottom. */
  if (!dothi_project_move_layer (self->project, name, n - 1 - (guint) index, &error))
    {
      show_toast_error (self, error);
      return;
    }

  g_object_ref (source);
  gtk_list_box_remove (self->layer_list, GTK_WIDGET (source));
  gtk_list_box_insert (self->layer_list, GTK_WIDGET (source), index);
  g_object_unref (source);

  dothi_map_view_reload_layers (self->map_view);
}

static void
show_layers (DothiWindow *self,
             GPtrArray   *layers,
             GPtrArray   *styles)
{
  g_autofree char *heading = NULL;

  if (self->layer_infos != layers)
    {
      g_clear_pointer (&self->layer_infos, g_ptr_array_unref);
      self->layer_infos = g_ptr_array_ref (layers);
    }
  if (self->layer_styles != styles)
    {
      g_clear_pointer (&self->layer_styles, g_ptr_array_unref);
      self->layer_styles = styles ? g_ptr_array_ref (styles) : NULL;
    }

  clear_layer_list (self);
  /* Topmost first: the project lists bottom first. */
  for (guint i = layers->len; i-- > 0;)
    {
      GtkWidget *row = dothi_layer_row_new (g_ptr_array_index (layers, i));

      if (styles != NULL && i < styles->len)
        dothi_layer_row_set_style (DOTHI_LAYER_ROW (row), g_ptr_array_index (styles, i));
      g_signal_connect_object (row, "visible-toggled",
                               G_CALLBACK (row_visible_toggled_cb), self, 0);
      g_signal_connect_object (row, "opacity-changed",
                               G_CALLBACK (row_opacity_changed_cb), self, 0);
      g_signal_connect_object (row, "layer-dropped",
                               G_CALLBACK (row_layer_dropped_cb), self, 0);
      gtk_list_box_append (self->layer_list, row);
    }

  /* Translators: heading above the list of a project's layers */
  heading = g_strdup_printf (ngettext ("%u Layer", "%u Layers", layers->len),
                             layers->len);
  gtk_label_set_text (self->layers_heading, heading);

  gtk_stack_set_visible_child_name (self->stack,
                                    layers->len > 0 ? "layers" : "no-layers");
  fill_layer_choices (self);
  update_actions (self);
}

/* After an import: the registry changed under another connection. The
 * registry is a few rows; reading it is quicker than a frame. The map
 * too unless @map_done (its watcher reloaded it already). */
static void
reload_layers_full (DothiWindow *self,
                    gboolean     map_done)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) styles = NULL;
  g_autoptr(GError) error = NULL;

  if (self->project == NULL)
    return;

  layers = dothi_project_list_layers (self->project, &error);
  if (layers == NULL)
    {
      show_toast_error (self, error);
      return;
    }
  styles = g_ptr_array_new_with_free_func (style_unref0);
  for (guint i = 0; i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_ptr_array_add (styles, dothi_project_dup_style (self->project, info->name, NULL));
    }

  if (!map_done)
    dothi_map_view_reload_layers (self->map_view);
  show_layers (self, layers, styles);
}

static void
reload_layers (DothiWindow *self)
{
  reload_layers_full (self, FALSE);
}

/* ---- identify ----------------------------------------------------------- */

static void
identified_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(DothiWindow) self = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = dothi_identify_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->identify_cancellable);

  if (results == NULL)
    {
      show_toast_error (self, error);
      update_actions (self);
      return;
    }

  if (results->len == 0)
    {
      hide_identify (self);
      return;
    }

  dothi_identify_panel_set_results (self->identify_panel, results);
  gtk_revealer_set_reveal_child (self->identify_revealer, TRUE);
  update_actions (self);
}

static void
map_clicked_cb (DothiMapView *map,
                double        x,
                double        y,
                double        tolerance,
                DothiWindow  *self)
{
  if (self->project == NULL)
    return;
  /* With an editing tool on, clicks draw or pick; they do not identify. */
  if (dothi_map_view_get_edit_tool (map) != DOTHI_EDIT_TOOL_NONE)
    return;
  /* The network window is waiting for the break to be picked. */
  if (self->network_panel != NULL
      && dothi_network_panel_get_picking (DOTHI_NETWORK_PANEL (self->network_panel)))
    {
      dothi_network_panel_pick (DOTHI_NETWORK_PANEL (self->network_panel), x, y, tolerance);
      return;
    }

  self->last_click[0] = x;
  self->last_click[1] = y;
  self->last_click[2] = tolerance;
  self->has_last_click = TRUE;

  g_cancellable_cancel (self->identify_cancellable);
  g_clear_object (&self->identify_cancellable);
  self->identify_cancellable = g_cancellable_new ();

  dothi_identify_async (dothi_project_get_path (self->project), NULL, x, y, tolerance,
                        self->identify_cancellable, identified_cb, g_object_ref (self));
}

static void
identify_result_shown_cb (DothiIdentifyPanel *panel,
                          const char         *layer,
                          gint64              fid,
                          DothiWindow        *self)
{
  if (self->project == NULL)
    return;
  dothi_map_view_highlight (self->map_view, layer, fid);
  /* The table follows what was identified, when it shows that layer. */
  if (self->table_visible && g_strcmp0 (self->table_layer, layer) == 0
      && !self->syncing_selection)
    {
      self->syncing_selection = TRUE;
      dothi_attribute_table_select_fid (DOTHI_ATTRIBUTE_TABLE (self->attribute_table), fid);
      self->syncing_selection = FALSE;
    }
  update_actions (self);
}

static void
fly_to_bbox (DothiWindow  *self,
             const double  bbox[4])
{
  double cx = (bbox[0] + bbox[2]) / 2, cy = (bbox[1] + bbox[3]) / 2;
  /* The feature among its neighbours, and a point gets a street's worth. */
  double w = MAX ((bbox[2] - bbox[0]) * 3.0, MIN_FLY_SIZE);
  double h = MAX ((bbox[3] - bbox[1]) * 3.0, MIN_FLY_SIZE);
  double padded[4] = { cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2 };

  dothi_map_view_zoom_to_bbox (self->map_view, padded);
}

static void
identify_zoom_requested_cb (DothiIdentifyPanel *panel,
                            DothiWindow        *self)
{
  const DothiIdentifyResult *result = dothi_identify_panel_get_current (panel);

  if (result != NULL && self->project != NULL)
    fly_to_bbox (self, result->bbox);
}

static void
identify_close_requested_cb (DothiIdentifyPanel *panel,
                             DothiWindow        *self)
{
  hide_identify (self);
}

/* ---- search ------------------------------------------------------------- */

static GtkWidget *
new_search_row (const char *label,
                const char *detail)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (label);

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 8);
  gtk_widget_set_margin_end (box, 8);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (box), title);
  if (detail != NULL && detail[0] != '\0')
    {
      GtkWidget *sub = gtk_label_new (detail);

      gtk_label_set_xalign (GTK_LABEL (sub), 0);
      gtk_label_set_ellipsize (GTK_LABEL (sub), PANGO_ELLIPSIZE_END);
      gtk_widget_add_css_class (sub, "caption");
      gtk_widget_add_css_class (sub, "dim-label");
      gtk_box_append (GTK_BOX (box), sub);
    }
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  return row;
}

static void
show_search_results (DothiWindow *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->search_list))))
    gtk_list_box_remove (self->search_list, child);

  if (self->search_results == NULL || self->search_results->len == 0)
    {
      /* Translators: shown under the search entry when nothing matched */
      GtkWidget *row = new_search_row (_("No Results"),
                                       /* Translators: hint under “No Results” */
                                       _("Try a sheet and parcel number such as “tờ 12 thửa 345”, a street name, or X Y coordinates"));

      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_list_box_append (self->search_list, row);
    }
  else
    {
      for (guint i = 0; i < self->search_results->len; i++)
        {
          const DothiSearchResult *result = g_ptr_array_index (self->search_results, i);

          gtk_list_box_append (self->search_list,
                               new_search_row (result->label, result->detail));
        }
      gtk_list_box_select_row (self->search_list,
                               gtk_list_box_get_row_at_index (self->search_list, 0));
    }

  gtk_popover_popup (self->search_popover);
}

static void
searched_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(DothiWindow) self = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = dothi_search_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->search_cancellable);

  if (results == NULL)
    {
      self->fly_when_found = FALSE;
      show_toast_error (self, error);
      return;
    }

  g_clear_pointer (&self->search_results, g_ptr_array_unref);
  self->search_results = g_steal_pointer (&results);

  if (self->fly_when_found)
    {
      self->fly_when_found = FALSE;
      if (dothi_window_activate_search_result (self, 0))
        return;
    }
  show_search_results (self);
}

static void
search_changed_cb (GtkSearchEntry *entry,
                   DothiWindow    *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_pointer (&self->search_results, g_ptr_array_unref);
  self->fly_when_found = FALSE;

  if (stripped[0] == '\0' || self->project == NULL)
    {
      gtk_popover_popdown (self->search_popover);
      return;
    }

  self->search_cancellable = g_cancellable_new ();
  dothi_search_async (dothi_project_get_path (self->project), stripped, SEARCH_LIMIT,
                      self->search_cancellable, searched_cb, g_object_ref (self));
}

static void
search_activated_cb (GtkSearchEntry *entry,
                     DothiWindow    *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->search_list);

  if (self->search_cancellable != NULL)
    {
      /* Enter before the results came: fly to the best one when they do. */
      self->fly_when_found = TRUE;
      return;
    }
  dothi_window_activate_search_result (self, row ? (guint) gtk_list_box_row_get_index (row) : 0);
}

static void
search_stopped_cb (GtkSearchEntry *entry,
                   DothiWindow    *self)
{
  gtk_popover_popdown (self->search_popover);
}

static void
search_row_activated_cb (GtkListBox    *list,
                         GtkListBoxRow *row,
                         DothiWindow   *self)
{
  dothi_window_activate_search_result (self, (guint) gtk_list_box_row_get_index (row));
}

/* Up and Down move through the results while typing goes on. */
static gboolean
search_key_pressed_cb (GtkEventControllerKey *controller,
                       guint                  keyval,
                       guint                  keycode,
                       GdkModifierType        state,
                       DothiWindow           *self)
{
  GtkListBoxRow *row;
  int index;

  if (keyval != GDK_KEY_Down && keyval != GDK_KEY_Up
      && keyval != GDK_KEY_KP_Down && keyval != GDK_KEY_KP_Up)
    return GDK_EVENT_PROPAGATE;
  if (self->search_results == NULL || self->search_results->len == 0)
    return GDK_EVENT_PROPAGATE;

  if (!gtk_widget_get_visible (GTK_WIDGET (self->search_popover)))
    {
      show_search_results (self);
      return GDK_EVENT_STOP;
    }

  row = gtk_list_box_get_selected_row (self->search_list);
  index = row ? gtk_list_box_row_get_index (row) : -1;
  index += (keyval == GDK_KEY_Down || keyval == GDK_KEY_KP_Down) ? 1 : -1;
  index = CLAMP (index, 0, (int) self->search_results->len - 1);
  gtk_list_box_select_row (self->search_list,
                           gtk_list_box_get_row_at_index (self->search_list, index));
  return GDK_EVENT_STOP;
}

/* ---- recent projects ---------------------------------------------------- */

static gboolean
is_project_info (GtkRecentInfo *info)
{
  const char *mime = gtk_recent_info_get_mime_type (info);
  const char *uri = gtk_recent_info_get_uri (info);

  return g_strcmp0 (mime, PROJECT_MIME_TYPE) == 0
         || (uri != NULL && g_str_has_suffix (uri, ".dothi"));
}

static int
compare_recent (gconstpointer a,
                gconstpointer b)
{
  GtkRecentInfo *ia = *(GtkRecentInfo **) a;
  GtkRecentInfo *ib = *(GtkRecentInfo **) b;

  /* Newest first. */
  return g_date_time_compare (gtk_recent_info_get_modified (ib),
                              gtk_recent_info_get_modified (ia));
}

static void
update_recent_menu (DothiWindow *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) gtk_recent_info_unref);
  GList *items = gtk_recent_manager_get_items (self->recent_manager);

  for (GList *l = items; l != NULL; l = l->next)
    {
      if (is_project_info (l->data))
        g_ptr_array_add (infos, l->data);
      else
        gtk_recent_info_unref (l->data);
    }
  g_list_free (items);
  g_ptr_array_sort (infos, compare_recent);

  for (guint i = 0; i < infos->len && i < MAX_RECENT; i++)
    {
      GtkRecentInfo *info = g_ptr_array_index (infos, i);
      g_autoptr(GMenuItem) item = NULL;

      item = g_menu_item_new (gtk_recent_info_get_display_name (info), NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent",
                                               g_variant_new_string (gtk_recent_info_get_uri (info)));
      g_menu_append_item (section, item);
    }

  if (infos->len == 0)
    {
      /* Translators: the only, disabled, item of an empty recent projects menu */
      g_autoptr(GMenuItem) item = g_menu_item_new (_("No Recent Projects"), "win.none");
      g_menu_append_item (section, item);
    }

  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  gtk_menu_button_set_menu_model (self->recent_button, G_MENU_MODEL (menu));
}

static void
recent_changed_cb (GtkRecentManager *manager,
                   DothiWindow      *self)
{
  update_recent_menu (self);
}

static void
add_to_recent (DothiWindow *self,
               DothiProject *project)
{
  g_autoptr(GFile) file = g_file_new_for_path (dothi_project_get_path (project));
  g_autofree char *uri = g_file_get_uri (file);
  GtkRecentData data = {
    .mime_type = (char *) PROJECT_MIME_TYPE,
    .app_name = (char *) g_get_application_name (),
    .app_exec = (char *) "dothi %u",
  };

  gtk_recent_manager_add_full (self->recent_manager, uri, &data);
}

/* ---- opening from the UI ------------------------------------------------ */

static void
project_opened_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  DothiWindow *self = DOTHI_WINDOW (object);
  g_autoptr(GApplication) application = user_data;
  g_autoptr(OpenResult) opened = NULL;
  g_autoptr(GError) error = NULL;

  if (application != NULL)
    g_application_release (application);

  opened = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;  /* A newer open took over, or the window went away. */

  g_clear_object (&self->open_cancellable);
  set_busy (self, FALSE);

  if (opened == NULL)
    {
      /* Back to what was shown before. */
      if (self->project == NULL)
        gtk_stack_set_visible_child_name (self->stack, "empty");
      else
        gtk_stack_set_visible_child_name (self->stack,
                                          count_rows (self) > 0 ? "layers" : "no-layers");
      /* Translators: heading of the message shown when a project file
       * cannot be opened; the reason follows */
      show_error (self, _("Could Not Open Project"), error->message);
      update_actions (self);
      return;
    }

  g_free (self->crs_name);
  self->crs_name = g_steal_pointer (&opened->crs_name);
  set_project (self, opened->project);
  update_title (self);
  show_layers (self, opened->layers, opened->styles);
  add_to_recent (self, opened->project);
  pointer_left_cb (self->map_view, self);

  /* SQLite's locks cannot be trusted on a network drive (DESIGN.md §2):
   * say why the project is read-only, and offer to edit anyway. */
  if (dothi_project_get_on_network_fs (self->project)
      && dothi_project_get_read_only (self->project))
    {
      AdwToast *toast =
        adw_toast_new (_("This project is on a network drive, where editing can damage it: it is open read-only"));

      adw_toast_set_timeout (toast, 0);
      adw_toast_set_button_label (toast, _("_Edit Anyway"));
      adw_toast_set_action_name (toast, "win.edit-anyway");
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
    }
}

/* Opens the project again for editing on its network drive, under a lock
 * file that keeps any other Dothi out. */
static void
edit_anyway_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  g_autoptr(GFile) file = NULL;

  if (self->project == NULL)
    return;
  file = g_file_new_for_path (dothi_project_get_path (self->project));
  /* The read-only connections (the map's too) must let go first: leaving
   * WAL needs the file to itself. The open waits for them (busy timeout). */
  self->close_now = dothi_project_get_read_only (self->project);
  set_project (self, NULL);
  self->close_now = FALSE;
  dothi_window_open_file_full (self, file, DOTHI_PROJECT_OPEN_EDIT_ANYWAY);
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     DothiWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        dothi_window_open_file (self, file);
    }

  g_clear_object (&self->chooser);
}

static void
add_project_filter (GtkFileChooser *chooser)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  /* Translators: file type filter in the Open dialog */
  gtk_file_filter_set_name (filter, _("Dothi projects"));
  gtk_file_filter_add_mime_type (filter, PROJECT_MIME_TYPE);
  gtk_file_filter_add_suffix (filter, "dothi");
  gtk_file_chooser_add_filter (chooser, filter);
}

static gboolean
reuse_chooser (DothiWindow *self)
{
  if (self->chooser == NULL)
    return FALSE;
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
  return TRUE;
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (reuse_chooser (self))
    return;

  /* Translators: title, accept and cancel buttons of the file chooser */
  self->chooser = gtk_file_chooser_native_new (_("Open Project"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  add_project_filter (GTK_FILE_CHOOSER (self->chooser));

  g_signal_connect (self->chooser, "response",
                    G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_recent_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));

  /* Another project opens beside this one, as from the command line. */
  if (self->project != NULL || dothi_window_get_busy (self))
    g_application_open (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))),
                        &file, 1, "");
  else
    dothi_window_open_file (self, file);
}

/* ---- new project -------------------------------------------------------- */

typedef struct {
  char *path;
  char *crs;
} CreateData;

static void
create_data_free (CreateData *data)
{
  g_free (data->path);
  g_free (data->crs);
  g_free (data);
}

/* The chooser asked before replacing a file: the old one goes to the
 * trash with its SQLite companions, so nothing is lost for good. */
static void
create_project_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  CreateData *data = task_data;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GError) error = NULL;

  if (g_file_test (data->path, G_FILE_TEST_EXISTS))
    {
      static const char *const suffixes[] = { "", "-wal", "-shm" };

      for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
        {
          g_autofree char *path = g_strconcat (data->path, suffixes[i], NULL);
          g_autoptr(GFile) file = g_file_new_for_path (path);
          g_autoptr(GError) trash_error = NULL;

          if (!g_file_test (path, G_FILE_TEST_EXISTS))
            continue;
          if (!g_file_trash (file, cancellable, &trash_error))
            {
              g_autofree char *name = g_filename_display_name (data->path);

              g_task_return_new_error (task, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                                       /* Translators: file name, then the system's reason */
                                       _("Could not move the existing “%s” to the trash: %s"),
                                       name, trash_error->message);
              return;
            }
        }
    }

  project = dothi_project_create (data->path, data->crs, &error);
  if (project == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  dothi_project_close (project);
  g_task_return_boolean (task, TRUE);
}

static void
project_created_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  DothiWindow *self = DOTHI_WINDOW (object);
  g_autoptr(GApplication) application = user_data;
  g_autoptr(GError) error = NULL;
  CreateData *data = g_task_get_task_data (G_TASK (result));

  if (application != NULL)
    g_application_release (application);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_clear_object (&self->open_cancellable);
      set_busy (self, FALSE);
      gtk_stack_set_visible_child_name (self->stack,
                                        self->project == NULL ? "empty"
                                        : count_rows (self) > 0 ? "layers" : "no-layers");
      /* Translators: heading of the message shown when a new project
       * cannot be made; the reason follows */
      show_error (self, _("Could Not Create Project"), error->message);
      update_actions (self);
      return;
    }

  g_clear_object (&self->open_cancellable);
  {
    g_autoptr(GFile) file = g_file_new_for_path (data->path);
    dothi_window_open_file (self, file);
  }
}

static void
create_project (DothiWindow *self,
                const char  *path,
                const char  *crs)
{
  g_autoptr(GTask) task = NULL;
  CreateData *data = g_new0 (CreateData, 1);
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  data->path = g_strdup (path);
  data->crs = g_strdup (crs);

  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();
  gtk_stack_set_visible_child_name (self->stack, "loading");
  set_busy (self, TRUE);
  if (application != NULL)
    g_application_hold (application);

  task = g_task_new (self, self->open_cancellable, project_created_cb,
                     application ? g_object_ref (application) : NULL);
  g_task_set_source_tag (task, create_project);
  g_task_set_task_data (task, data, (GDestroyNotify) create_data_free);
  g_task_run_in_thread (task, create_project_thread);
}

static void
new_chooser_response_cb (GtkNativeDialog *dialog,
                         int              response,
                         DothiWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      const char *zone = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "crs");
      g_autofree char *crs = NULL;
      guint n_zones;
      const DothiVn2000Zone *zones = dothi_crs_vn2000_zones (&n_zones);
      guint64 index = zone ? g_ascii_strtoull (zone, NULL, 10) : G_MAXUINT64;

      if (index < n_zones)
        crs = g_strdup_printf ("EPSG:%d", zones[index].srid);

      if (path != NULL && !g_str_has_suffix (path, ".dothi"))
        {
          char *with_suffix = g_strconcat (path, ".dothi", NULL);
          g_free (path);
          path = with_suffix;
        }
      if (path != NULL)
        create_project (self, path, crs);
    }

  g_clear_object (&self->chooser);
}

static void
new_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  const DothiVn2000Zone *zones;
  guint n_zones;
  char *selected = NULL;

  if (reuse_chooser (self))
    return;

  /* Translators: title and accept button of the New Project file chooser */
  self->chooser = gtk_file_chooser_native_new (_("New Project"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE,
                                               _("_Create"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  add_project_filter (GTK_FILE_CHOOSER (self->chooser));
  /* Translators: suggested file name of a new project; keep .dothi */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), _("project.dothi"));

  /* The province chooses the VN-2000 zone (DESIGN.md §2). */
  zones = dothi_crs_vn2000_zones (&n_zones);
  for (guint i = 0; i < n_zones; i++)
    {
      g_ptr_array_add (ids, g_strdup_printf ("%u", i));
      /* Translators: a choice of coordinate system for a new project: a
       * province name and the EPSG code of its VN-2000 zone */
      g_ptr_array_add (labels, g_strdup_printf (_("%s (EPSG:%d)"),
                                                zones[i].province, zones[i].srid));
      if (zones[i].srid == 9218 && selected == NULL)
        selected = g_ptr_array_index (ids, i);
    }
  g_ptr_array_add (ids, NULL);
  g_ptr_array_add (labels, NULL);
  gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (self->chooser), "crs",
                               /* Translators: label of the province choice in the New Project dialog */
                               _("Province (VN-2000 zone)"),
                               (const char **) ids->pdata, (const char **) labels->pdata);
  if (selected != NULL)
    gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (self->chooser), "crs", selected);

  g_signal_connect (self->chooser, "response",
                    G_CALLBACK (new_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- import ------------------------------------------------------------- */

static void
imported_cb (GtkWidget   *dialog,
             DothiWindow *self)
{
  reload_layers (self);
}

static void
show_import_dialog (DothiWindow *self,
                    GFile       *source)
{
  GtkWidget *dialog;

  if (!project_writable (self))
    return;

  dialog = dothi_import_dialog_new (GTK_WINDOW (self), self->project, source);
  g_signal_connect_object (dialog, "imported", G_CALLBACK (imported_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
import_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  show_import_dialog (DOTHI_WINDOW (widget), NULL);
}

/* ---- map actions -------------------------------------------------------- */

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL)
    return;
  if (g_str_equal (action_name, "win.zoom-in"))
    dothi_map_view_zoom_in (self->map_view);
  else if (g_str_equal (action_name, "win.zoom-out"))
    dothi_map_view_zoom_out (self->map_view);
  else
    dothi_map_view_zoom_to_project (self->map_view);
}

static void
zoom_to_layer_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project != NULL)
    dothi_map_view_zoom_to_layer (self->map_view, g_variant_get_string (parameter, NULL));
}

static void
style_applied_cb (DothiStyleDialog *dialog,
                  DothiStyle       *style,
                  DothiWindow      *self)
{
  const DothiLayerInfo *info = NULL;
  DothiLayerRow *row;
  g_autofree char *message = NULL;

  g_object_get_data (G_OBJECT (dialog), "layer");
  row = find_row (self, g_object_get_data (G_OBJECT (dialog), "layer"));
  if (row == NULL || self->project == NULL)
    return;
  info = dothi_layer_row_get_info (row);
  dothi_layer_row_set_style (row, style);
  dothi_map_view_reload_layers (self->map_view);

  /* Translators: shown after a layer's style was changed; layer title */
  message = g_strdup_printf (_("Style of “%s” changed"),
                             info->title && info->title[0] ? info->title : info->name);
  show_toast (self, message);
}

static void
layer_style_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  DothiLayerRow *row = find_row (self, name);
  g_autoptr(DothiStyle) style = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *dialog;

  if (self->project == NULL || row == NULL)
    return;

  style = dothi_project_dup_style (self->project, name, &error);
  if (style == NULL)
    {
      show_toast_error (self, error);
      return;
    }

  dialog = dothi_style_dialog_new (GTK_WINDOW (self), self->project,
                                   dothi_layer_row_get_info (row), style);
  g_object_set_data_full (G_OBJECT (dialog), "layer", g_strdup (name), g_free);
  g_signal_connect_object (dialog, "applied", G_CALLBACK (style_applied_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
  gtk_editable_select_region (GTK_EDITABLE (self->search_entry), 0, -1);
}

static void
close_identify_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  hide_identify (DOTHI_WINDOW (widget));
}

static void
close_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  gtk_window_close (GTK_WINDOW (widget));
}

/* ---- basemap ------------------------------------------------------------ */

static void
set_basemap_state (DothiWindow *self,
                   const char  *state)
{
  if (g_strcmp0 (self->basemap, state) == 0)
    return;
  g_free (self->basemap);
  self->basemap = g_strdup (state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BASEMAP]);
}

static void
mbtiles_chooser_response_cb (GtkNativeDialog *dialog,
                             int              response,
                             DothiWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        {
          dothi_map_view_set_basemap (self->map_view, DOTHI_BASEMAP_MBTILES, path);
          set_basemap_state (self, "mbtiles");
        }
    }
  g_clear_object (&self->chooser);
}

static void
choose_mbtiles (DothiWindow *self)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (reuse_chooser (self))
    return;

  /* Translators: title and accept button of the basemap file chooser */
  self->chooser = gtk_file_chooser_native_new (_("Choose an Offline Basemap"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Use"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  /* Translators: file type filter in the basemap file chooser */
  gtk_file_filter_set_name (filter, _("MBTiles raster tiles"));
  gtk_file_filter_add_suffix (filter, "mbtiles");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response",
                    G_CALLBACK (mbtiles_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
online_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    DothiWindow      *self)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  const char *url = gtk_editable_get_text (entry);

  if (!g_str_equal (response, "use"))
    return;
  if (!g_str_has_prefix (url, "https://") && !g_str_has_prefix (url, "http://"))
    {
      /* Translators: the text typed is not a web address; %s is that text */
      g_autofree char *message = g_strdup_printf (_("“%s” is not a web address (https://…)"), url);
      show_toast (self, message);
      return;
    }
  dothi_map_view_set_basemap (self->map_view, DOTHI_BASEMAP_ONLINE, url);
  set_basemap_state (self, "online");
}

static void
choose_online (DothiWindow *self)
{
  GtkWidget *dialog;
  GtkWidget *entry = gtk_entry_new ();

  dialog = adw_message_dialog_new (GTK_WINDOW (self),
                                   /* Translators: heading of the online basemap dialog */
                                   _("Use an Online Basemap?"),
                                   /* Translators: body of the online basemap dialog */
                                   _("Map tiles will be downloaded from this server whenever the map moves, so the server sees which area you look at. Online tiles are not printed: their terms of use forbid it. Enter an address with {z}, {x} and {y}."));
  gtk_editable_set_text (GTK_EDITABLE (entry), DEFAULT_TILE_SERVER);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    /* Translators: button of the online basemap dialog */
                                    "use", _("_Use Online Tiles"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "use",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "use");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (online_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The radio items set the property; a file or server is asked for first,
 * and the state changes only once one is chosen. */
static void
request_basemap (DothiWindow *self,
                 const char  *kind)
{
  if (g_strcmp0 (kind, "mbtiles") == 0)
    choose_mbtiles (self);
  else if (g_strcmp0 (kind, "online") == 0)
    choose_online (self);
  else
    {
      dothi_map_view_set_basemap (self->map_view, DOTHI_BASEMAP_NONE, NULL);
      set_basemap_state (self, "none");
    }
}

/* ---- layers known to the window ----------------------------------------- */

static const char *
info_title (const DothiLayerInfo *info)
{
  return info->title && info->title[0] ? info->title : info->name;
}

static const DothiLayerInfo *
find_info (DothiWindow *self,
           const char  *name)
{
  for (guint i = 0; name != NULL && self->layer_infos != NULL && i < self->layer_infos->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layer_infos, i);

      if (g_strcmp0 (info->name, name) == 0)
        return info;
    }
  return NULL;
}

static DothiStyle *
find_style (DothiWindow *self,
            const char  *name)
{
  for (guint i = 0; name != NULL && self->layer_infos != NULL && i < self->layer_infos->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layer_infos, i);

      if (g_strcmp0 (info->name, name) == 0)
        return self->layer_styles && i < self->layer_styles->len
               ? g_ptr_array_index (self->layer_styles, i) : NULL;
    }
  return NULL;
}

static const DothiLayerInfo *
edit_layer_info (DothiWindow *self)
{
  return find_info (self, self->edit_layer);
}

/* ---- messages about edits ----------------------------------------------- */

static void
edit_toast_dismissed_cb (AdwToast    *toast,
                         DothiWindow *self)
{
  if (self->edit_toast == toast)
    self->edit_toast = NULL;
}

/* One toast at a time for edits, with the button that takes it back.
 * @message is plain text (labels may hold “&”). */
static void
show_action_toast (DothiWindow *self,
                   const char  *message,
                   const char  *button_label,
                   const char  *action)
{
  g_autofree char *markup = g_markup_escape_text (message, -1);
  AdwToast *toast = adw_toast_new (markup);

  if (self->edit_toast != NULL)
    adw_toast_dismiss (self->edit_toast);
  adw_toast_set_timeout (toast, 8);
  adw_toast_set_button_label (toast, button_label);
  adw_toast_set_action_name (toast, action);
  g_signal_connect_object (toast, "dismissed",
                           G_CALLBACK (edit_toast_dismissed_cb), self, 0);
  self->edit_toast = toast;
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* After an edit: its label (the newest action), and Undo. */
static void
show_edit_toast (DothiWindow *self)
{
  if (self->undo_label == NULL)
    return;
  /* Translators: button of the toast shown after an edit */
  show_action_toast (self, self->undo_label, _("_Undo"), "win.undo");
}

/* ---- undo and redo labels ------------------------------------------------ */

/* The labels are two indexed reads of the history: milliseconds. */
static void
refresh_history (DothiWindow *self)
{
  g_clear_pointer (&self->undo_label, g_free);
  g_clear_pointer (&self->redo_label, g_free);
  if (self->project != NULL)
    {
      self->undo_label = dothi_edit_dup_undo_label (self->project);
      self->redo_label = dothi_edit_dup_redo_label (self->project);
    }
  update_actions (self);
}

static void
refresh_table (DothiWindow *self)
{
  DothiAttributeTable *table = DOTHI_ATTRIBUTE_TABLE (self->attribute_table);

  if (!self->table_visible || self->table_layer == NULL || self->project == NULL)
    return;
  /* Set again from scratch: rows changed, may be gone or new. */
  dothi_attribute_table_set_layer (table, NULL, NULL);
  dothi_attribute_table_set_layer (table, self->project, self->table_layer);
}

static void
reidentify (DothiWindow *self)
{
  if (!self->has_last_click || self->project == NULL
      || !gtk_revealer_get_reveal_child (self->identify_revealer))
    return;
  map_clicked_cb (self->map_view, self->last_click[0], self->last_click[1],
                  self->last_click[2], self);
}

/* Whatever changed the file, everything that shows it follows. */
static void
follow_edit (DothiWindow *self)
{
  refresh_history (self);
  refresh_table (self);
  reidentify (self);
  if (self->audit_view != NULL)
    dothi_audit_view_reload (DOTHI_AUDIT_VIEW (self->audit_view));
}

/* ---- following the file ------------------------------------------------- */

/* Anyone's edit (QGIS, the spatialite shell, a second window) reaches the
 * undo labels and the history through the map's watcher. */
static void
file_changed_cb (DothiMapView *map,
                 gboolean      registry_changed,
                 DothiWindow  *self)
{
  /* A layer made elsewhere (an import in another window, the incidents
   * layer of the live engine) joins the panel. */
  if (registry_changed)
    reload_layers_full (self, TRUE);
  refresh_history (self);
  if (self->audit_view != NULL)
    dothi_audit_view_reload (DOTHI_AUDIT_VIEW (self->audit_view));
}

/* ---- undo, redo, revert and merge in a worker --------------------------- */

typedef enum {
  JOB_UNDO,
  JOB_REDO,
  JOB_REVERT,
  JOB_MERGE,
} JobKind;

typedef struct {
  JobKind         kind;
  char           *path;
  gint64          action_id;   /* revert */
  DothiLayerInfo *info;        /* merge */
  GArray         *fids;        /* merge: gint64 */
  char           *label;       /* undo, redo: the action's label */
} EditJob;

static void
edit_job_free (EditJob *job)
{
  g_free (job->path);
  g_clear_pointer (&job->info, dothi_layer_info_free);
  g_clear_pointer (&job->fids, g_array_unref);
  g_free (job->label);
  g_free (job);
}

/* A connection of its own: the window's project belongs to the main
 * thread (DESIGN.md §7). The map's watcher sees the change like any. */
static void
edit_job_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  EditJob *job = task_data;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id = 0;

  project = dothi_project_open (job->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  switch (job->kind)
    {
    case JOB_UNDO:
      id = dothi_edit_undo_sync (project, cancellable, &error);
      break;
    case JOB_REDO:
      id = dothi_edit_redo_sync (project, cancellable, &error);
      break;
    case JOB_REVERT:
      id = dothi_edit_revert_sync (project, job->action_id, cancellable, &error);
      break;
    case JOB_MERGE:
      {
        g_autoptr(DothiParcelRules) rules = dothi_parcel_rules_new_default (job->info);
        gint64 new_fid = 0;

        id = dothi_parcel_merge_sync (project, job->info->name,
                                      (const gint64 *) (gpointer) job->fids->data,
                                      job->fids->len, MERGE_TOLERANCE, rules,
                                      &new_fid, &error);
      }
      break;
    default:
      g_assert_not_reached ();
    }
  dothi_project_close (project);

  if (id <= 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_memdup2 (&id, sizeof id), g_free);
}

static void
report_edit_error (DothiWindow  *self,
                   EditJob      *job,
                   const GError *error)
{
  const char *heading;

  if (!g_error_matches (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT))
    {
      show_toast_error (self, error);
      return;
    }

  switch (job->kind)
    {
    case JOB_UNDO:
      /* Translators: heading of the message shown when undo is refused
       * because the feature changed since; the core's reason follows */
      heading = _("Could Not Undo");
      break;
    case JOB_REDO:
      /* Translators: heading of the message shown when redo is refused */
      heading = _("Could Not Redo");
      break;
    case JOB_REVERT:
      /* Translators: heading of the message shown when reverting a past
       * action is refused */
      heading = _("Could Not Revert");
      break;
    case JOB_MERGE:
    default:
      /* Translators: heading of the message shown when merging parcels
       * is refused */
      heading = _("Could Not Merge");
      break;
    }
  if (job->kind == JOB_REVERT && self->audit_view != NULL)
    dothi_audit_view_show_error (DOTHI_AUDIT_VIEW (self->audit_view), error->message);
  /* The message names the layer and the feature in the way. */
  show_error (self, heading, error->message);
}

static void
edit_job_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DothiWindow *self = DOTHI_WINDOW (object);
  g_autoptr(GApplication) application = user_data;
  EditJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *action_id = g_task_propagate_pointer (G_TASK (result), &error);

  if (application != NULL)
    g_application_release (application);
  /* The window went away, or another project is shown now (set_project
   * dropped the job's cancellable). */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || self->edit_cancellable == NULL
      || g_task_get_cancellable (G_TASK (result)) != self->edit_cancellable)
    return;

  g_clear_object (&self->edit_cancellable);
  if (self->audit_view != NULL)
    dothi_audit_view_set_busy (DOTHI_AUDIT_VIEW (self->audit_view), FALSE);

  if (action_id == NULL)
    {
      report_edit_error (self, job, error);
      refresh_history (self);
      return;
    }

  /* A style or layer change may have been undone: the registry too. */
  reload_layers (self);
  follow_edit (self);

  switch (job->kind)
    {
    case JOB_UNDO:
      {
        /* Translators: toast after undo; the action's label follows */
        g_autofree char *message = g_strdup_printf (_("Undone: %s"), job->label ? job->label : "");
        /* Translators: button of the toast shown after undo */
        show_action_toast (self, message, _("_Redo"), "win.redo");
      }
      break;
    case JOB_REDO:
      {
        /* Translators: toast after redo; the action's label follows */
        g_autofree char *message = g_strdup_printf (_("Redone: %s"), job->label ? job->label : "");
        show_action_toast (self, message, _("_Undo"), "win.undo");
      }
      break;
    case JOB_REVERT:
    case JOB_MERGE:
    default:
      show_edit_toast (self);
      break;
    }
}

static void
run_edit_job (DothiWindow *self,
              EditJob     *job)
{
  g_autoptr(GTask) task = NULL;
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  if (self->project == NULL || self->edit_cancellable != NULL)
    {
      edit_job_free (job);
      return;
    }

  job->path = g_strdup (dothi_project_get_path (self->project));
  self->edit_cancellable = g_cancellable_new ();
  if (self->audit_view != NULL)
    dothi_audit_view_set_busy (DOTHI_AUDIT_VIEW (self->audit_view), TRUE);
  /* Quitting waits for the transaction to end. */
  if (application != NULL)
    g_application_hold (application);

  task = g_task_new (self, self->edit_cancellable, edit_job_done_cb,
                     application ? g_object_ref (application) : NULL);
  g_task_set_source_tag (task, run_edit_job);
  g_task_set_task_data (task, job, (GDestroyNotify) edit_job_free);
  g_task_run_in_thread (task, edit_job_thread);
  update_actions (self);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  gboolean undo = g_str_equal (action_name, "win.undo");
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  EditJob *job;

  /* Ctrl+Z while typing in an entry takes back the typing (the
   * application's accelerators see keys before the entry does). */
  if (GTK_IS_TEXT (focus)
      && gtk_editable_get_text (GTK_EDITABLE (focus))[0] != '\0')
    {
      gtk_widget_activate_action (focus, undo ? "text.undo" : "text.redo", NULL);
      return;
    }

  if ((undo ? self->undo_label : self->redo_label) == NULL)
    return;
  job = g_new0 (EditJob, 1);
  job->kind = undo ? JOB_UNDO : JOB_REDO;
  job->label = g_strdup (undo ? self->undo_label : self->redo_label);
  run_edit_job (self, job);
}

static void
revert_requested_cb (DothiAuditView *view,
                     gint64          action_id,
                     DothiWindow    *self)
{
  EditJob *job = g_new0 (EditJob, 1);

  job->kind = JOB_REVERT;
  job->action_id = action_id;
  run_edit_job (self, job);
}

static void
merge_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  const DothiLayerInfo *info = edit_layer_info (self);
  GArray *selection = self->project ? dothi_map_view_get_selection (self->map_view) : NULL;
  EditJob *job;

  if (info == NULL)
    return;
  if (selection == NULL || selection->len < 2
      || g_strcmp0 (dothi_map_view_get_selection_layer (self->map_view), info->name) != 0)
    {
      /* Translators: toast when Merge is asked for with fewer than two
       * parcels selected; a layer title */
      g_autofree char *message = g_strdup_printf (_("Select two or more parcels of “%s” to merge them"),
                                                  info_title (info));
      show_toast (self, message);
      return;
    }

  job = g_new0 (EditJob, 1);
  job->kind = JOB_MERGE;
  job->info = dothi_layer_info_copy (info);
  job->fids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), selection->len);
  g_array_append_vals (job->fids, selection->data, selection->len);
  run_edit_job (self, job);
}

/* ---- feature forms and history ------------------------------------------ */

static void
form_saved_cb (DothiFeatureForm *form,
               gint64            action_id,
               DothiWindow      *self)
{
  if (action_id <= 0)
    return;
  follow_edit (self);
  show_edit_toast (self);
}

static void
open_feature_form (DothiWindow *self,
                   const char  *layer,
                   gint64       fid,
                   GPtrArray   *names,
                   GPtrArray   *values)
{
  const DothiLayerInfo *info = find_info (self, layer);
  g_autoptr(GError) error = NULL;
  GtkWidget *form;

  if (self->project == NULL || info == NULL)
    return;

  form = dothi_feature_form_new (GTK_WINDOW (self), self->project, info,
                                 find_style (self, layer), fid, names, values, &error);
  if (form == NULL)
    {
      show_toast_error (self, error);
      return;
    }
  g_signal_connect_object (form, "saved", G_CALLBACK (form_saved_cb), self, 0);
  gtk_window_present (GTK_WINDOW (form));
}

/* The feature just drawn: fids only grow (AUTOINCREMENT), so it is the
 * layer's last. (edit-finished names the action, not its features.) */
static void
open_form_for_new_feature (DothiWindow *self,
                           const char  *layer)
{
  GArray *fids = dothi_map_view_get_last_edit_fids (self->map_view);

  /* The fid the edit inserted: no read of the layer on the main loop. */
  if (fids == NULL || fids->len == 0)
    return;
  open_feature_form (self, layer, g_array_index (fids, gint64, 0), NULL, NULL);
}

static void
edit_feature_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  const DothiIdentifyResult *result = dothi_identify_panel_get_current (self->identify_panel);

  if (result != NULL)
    open_feature_form (self, result->layer, result->fid, result->names, result->values);
}

static void
feature_history_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  const DothiIdentifyResult *result = dothi_identify_panel_get_current (self->identify_panel);
  const DothiLayerInfo *info = result ? find_info (self, result->layer) : NULL;
  GtkWidget *view;

  if (info == NULL || self->project == NULL)
    return;
  view = dothi_audit_view_new_for_feature (GTK_WINDOW (self), self->project, info, result->fid);
  gtk_window_present (GTK_WINDOW (view));
}

static void
history_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL)
    return;
  if (self->audit_view == NULL)
    {
      self->audit_view = dothi_audit_view_new (GTK_WINDOW (self), self->project);
      g_object_add_weak_pointer (G_OBJECT (self->audit_view), (gpointer *) &self->audit_view);
      g_signal_connect_object (self->audit_view, "revert-requested",
                               G_CALLBACK (revert_requested_cb), self, 0);
      dothi_audit_view_set_busy (DOTHI_AUDIT_VIEW (self->audit_view),
                                 self->edit_cancellable != NULL);
    }
  gtk_window_present (GTK_WINDOW (self->audit_view));
}

static gboolean
has_polygon_layer (DothiWindow *self)
{
  for (guint i = 0; self->layer_infos != NULL && i < self->layer_infos->len; i++)
    if (((DothiLayerInfo *) g_ptr_array_index (self->layer_infos, i))->kind
        == DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
      return TRUE;
  return FALSE;
}

static void
check_topology_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL || !has_polygon_layer (self))
    return;
  if (self->topology_view == NULL)
    {
      self->topology_view = dothi_topology_view_new (GTK_WINDOW (self), self->project,
                                                     self->map_view);
      g_object_add_weak_pointer (G_OBJECT (self->topology_view), (gpointer *) &self->topology_view);
    }
  gtk_window_present (GTK_WINDOW (self->topology_view));
}

/* The query builder's answer: highlight tiles on the map. */
static void
query_result_cb (DothiQueryDialog *dialog,
                 const char       *layer,
                 DothiFidSet      *fids,
                 const char       *label,
                 DothiWindow      *self)
{
  dothi_map_view_show_result (self->map_view, layer, fids);
  /* A table already showing the layer follows the query at once. */
  if (self->table_visible && g_strcmp0 (self->table_layer, layer) == 0)
    dothi_attribute_table_show_fids (DOTHI_ATTRIBUTE_TABLE (self->attribute_table), fids, label);
  update_actions (self);
}

static void set_table_layer (DothiWindow *self, const char *name);
static void set_table_visible (DothiWindow *self, gboolean visible);

static void
query_show_table_cb (DothiQueryDialog *dialog,
                     const char       *layer,
                     DothiFidSet      *fids,
                     const char       *label,
                     DothiWindow      *self)
{
  set_table_layer (self, layer);
  /* The result belongs to the layer shown, or to the next one. */
  dothi_attribute_table_show_fids (DOTHI_ATTRIBUTE_TABLE (self->attribute_table), fids, label);
  set_table_visible (self, TRUE);
}

static void
query_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL)
    return;
  if (self->query_dialog == NULL)
    {
      self->query_dialog = GTK_WIDGET (dothi_query_dialog_new (GTK_WINDOW (self), self->project,
                                                               self->table_layer));
      g_object_add_weak_pointer (G_OBJECT (self->query_dialog), (gpointer *) &self->query_dialog);
      g_signal_connect_object (self->query_dialog, "result", G_CALLBACK (query_result_cb), self, 0);
      g_signal_connect_object (self->query_dialog, "show-table", G_CALLBACK (query_show_table_cb),
                               self, 0);
    }
  gtk_window_present (GTK_WINDOW (self->query_dialog));
}

static void
clear_query_result_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  dothi_map_view_show_result (self->map_view, NULL, NULL);
  dothi_attribute_table_show_fids (DOTHI_ATTRIBUTE_TABLE (self->attribute_table), NULL, NULL);
  update_actions (self);
}

/* "Show All Rows" in the table ends the query result on the map too. */
static void
table_result_cleared_cb (DothiAttributeTable *table,
                         DothiWindow         *self)
{
  dothi_map_view_show_result (self->map_view, NULL, NULL);
  update_actions (self);
}

static void
sql_console_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL)
    return;
  if (self->sql_window == NULL)
    {
      self->sql_window = GTK_WIDGET (dothi_sql_window_new (GTK_WINDOW (self),
                                                           dothi_project_get_path (self->project)));
      g_object_add_weak_pointer (G_OBJECT (self->sql_window), (gpointer *) &self->sql_window);
    }
  gtk_window_present (GTK_WINDOW (self->sql_window));
}

static void
print_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL)
    return;
  if (self->layout_editor == NULL)
    {
      self->layout_editor = GTK_WIDGET (dothi_layout_editor_new (GTK_WINDOW (self), self->project));
      g_object_add_weak_pointer (G_OBJECT (self->layout_editor), (gpointer *) &self->layout_editor);
    }
  gtk_window_present (GTK_WINDOW (self->layout_editor));
}

static void
network_highlight_cb (DothiNetworkPanel *panel,
                      const char        *layer,
                      DothiFidSet       *fids,
                      DothiWindow       *self)
{
  dothi_map_view_show_result (self->map_view, layer, fids);
  update_actions (self);
}

static void
network_zoom_cb (DothiNetworkPanel *panel,
                 double             minx,
                 double             miny,
                 double             maxx,
                 double             maxy,
                 DothiWindow       *self)
{
  double bbox[4] = { minx, miny, maxx, maxy };

  dothi_map_view_zoom_to_bbox (self->map_view, bbox);
}

static void
network_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project == NULL)
    return;
  if (self->network_panel == NULL)
    {
      self->network_panel = GTK_WIDGET (dothi_network_panel_new (GTK_WINDOW (self), self->project));
      g_object_add_weak_pointer (G_OBJECT (self->network_panel), (gpointer *) &self->network_panel);
      g_signal_connect_object (self->network_panel, "highlight", G_CALLBACK (network_highlight_cb),
                               self, 0);
      g_signal_connect_object (self->network_panel, "zoom-to", G_CALLBACK (network_zoom_cb),
                               self, 0);
    }
  gtk_window_present (GTK_WINDOW (self->network_panel));
}

static void
present_ops_panel (DothiWindow *self)
{
  if (self->ops_panel == NULL)
    {
      self->ops_panel = GTK_WIDGET (dothi_ops_panel_new (GTK_WINDOW (self), self->project));
      g_object_add_weak_pointer (G_OBJECT (self->ops_panel), (gpointer *) &self->ops_panel);
      dothi_ops_panel_set_map_view (DOTHI_OPS_PANEL (self->ops_panel), self->map_view);
    }
  gtk_window_present (GTK_WINDOW (self->ops_panel));
}

static void
operations_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (self->project != NULL)
    present_ops_panel (self);
}

/* The operations room's wall: the map full screen without the side
 * panel, the live overlay on it; again to leave. */
static void
wall_mode_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  gboolean wall = !gtk_window_is_fullscreen (GTK_WINDOW (self));

  if (self->project == NULL)
    return;
  if (wall)
    {
      present_ops_panel (self);
      g_object_set (self, "sidebar-visible", FALSE, NULL);
      gtk_window_fullscreen (GTK_WINDOW (self));
      gtk_window_present (GTK_WINDOW (self));
    }
  else
    {
      gtk_window_unfullscreen (GTK_WINDOW (self));
      g_object_set (self, "sidebar-visible", TRUE, NULL);
    }
}

/* Forms, history and topology windows hold the project: they go with it. */
static void
close_project_windows (DothiWindow *self)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if ((DOTHI_IS_AUDIT_VIEW (window) || DOTHI_IS_FEATURE_FORM (window)
           || DOTHI_IS_TOPOLOGY_VIEW (window) || DOTHI_IS_QUERY_DIALOG (window)
           || DOTHI_IS_SQL_WINDOW (window) || DOTHI_IS_LAYOUT_EDITOR (window)
           || DOTHI_IS_NETWORK_PANEL (window) || DOTHI_IS_OPS_PANEL (window))
          && gtk_window_get_transient_for (window) == GTK_WINDOW (self))
        g_ptr_array_add (doomed, g_object_ref (window));
    }
  for (guint i = 0; i < doomed->len; i++)
    gtk_window_destroy (g_ptr_array_index (doomed, i));
}

/* ---- edit tools --------------------------------------------------------- */

static const struct {
  const char    *name;
  DothiEditTool  tool;
} edit_tools[] = {
  { "none",        DOTHI_EDIT_TOOL_NONE },
  { "add-point",   DOTHI_EDIT_TOOL_ADD_POINT },
  { "add-line",    DOTHI_EDIT_TOOL_ADD_LINE },
  { "add-polygon", DOTHI_EDIT_TOOL_ADD_POLYGON },
  { "vertices",    DOTHI_EDIT_TOOL_EDIT_VERTICES },
  { "move",        DOTHI_EDIT_TOOL_MOVE_FEATURE },
  { "delete",      DOTHI_EDIT_TOOL_DELETE_FEATURE },
  { "split",       DOTHI_EDIT_TOOL_SPLIT_PARCEL },
  { "select",      DOTHI_EDIT_TOOL_SELECT },
};

static DothiEditTool
tool_value (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (edit_tools); i++)
    if (g_strcmp0 (edit_tools[i].name, name) == 0)
      return edit_tools[i].tool;
  return DOTHI_EDIT_TOOL_NONE;
}

static gboolean
tool_fits (DothiGeometryKind  kind,
           const char        *tool)
{
  gboolean mixed = kind == DOTHI_GEOMETRY_KIND_GEOMETRY;

  if (g_strcmp0 (tool, "none") == 0)
    return TRUE;
  if (kind == DOTHI_GEOMETRY_KIND_NONE)
    return FALSE;
  if (g_strcmp0 (tool, "add-point") == 0)
    return mixed || kind == DOTHI_GEOMETRY_KIND_MULTIPOINT;
  if (g_strcmp0 (tool, "add-line") == 0)
    return mixed || kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING;
  if (g_strcmp0 (tool, "add-polygon") == 0)
    return mixed || kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  if (g_strcmp0 (tool, "split") == 0)
    return kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  return tool_value (tool) != DOTHI_EDIT_TOOL_NONE;
}

/* "add" (the A key) is the add tool of the layer's kind. */
static const char *
resolve_tool (const DothiLayerInfo *info,
              const char           *name)
{
  if (g_strcmp0 (name, "add") != 0)
    return name;
  if (info == NULL)
    return "none";
  switch (info->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      return "add-point";
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      return "add-line";
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      return "add-polygon";
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      return "none";
    }
}

static gboolean
tool_draws (const char *tool)
{
  return g_str_has_prefix (tool, "add-") || g_strcmp0 (tool, "split") == 0;
}

/* Starts @name on the edit layer (the map then owns the clicks). */
static void
set_edit_tool (DothiWindow *self,
               const char  *name)
{
  const DothiLayerInfo *info = edit_layer_info (self);
  const char *tool = resolve_tool (info, name);
  DothiEditTool value;

  if (tool_value (tool) == DOTHI_EDIT_TOOL_NONE)
    tool = "none";
  if (!self->editing || info == NULL || !project_writable (self) || !tool_fits (info->kind, tool))
    tool = "none";

  if (g_strcmp0 (self->edit_tool, tool) != 0)
    {
      g_free (self->edit_tool);
      self->edit_tool = g_strdup (tool);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EDIT_TOOL]);
    }

  value = tool_value (tool);
  if (self->project != NULL
      && (value != DOTHI_EDIT_TOOL_NONE
          || dothi_map_view_get_edit_tool (self->map_view) != DOTHI_EDIT_TOOL_NONE))
    dothi_map_view_set_edit_tool (self->map_view, value,
                                  value == DOTHI_EDIT_TOOL_NONE ? NULL : info->name);
  if (value != DOTHI_EDIT_TOOL_NONE)
    hide_identify (self);
  update_actions (self);
}

static void
apply_snapping (DothiWindow *self)
{
  g_autoptr(GPtrArray) layers = g_ptr_array_new ();

  if (self->project == NULL)
    return;
  if (self->snapping && self->editing)
    for (guint i = 0; self->edit_layers != NULL && i < self->edit_layers->len; i++)
      {
        const char *name = g_ptr_array_index (self->edit_layers, i);

        if (!g_hash_table_contains (self->snap_off, name))
          g_ptr_array_add (layers, (gpointer) name);
      }
  g_ptr_array_add (layers, NULL);
  dothi_map_view_set_snapping (self->map_view, (const char * const *) layers->pdata,
                               gtk_spin_button_get_value (self->snap_tolerance_spin));
}

static void
set_editing (DothiWindow *self,
             gboolean     editing)
{
  editing = editing && project_writable (self);
  if (self->editing == editing)
    return;

  self->editing = editing;
  gtk_revealer_set_reveal_child (self->edit_revealer, editing);
  set_edit_tool (self, editing && self->edit_tool ? self->edit_tool : "none");
  apply_snapping (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EDITING]);
  update_actions (self);
}

static void
set_edit_layer (DothiWindow *self,
                const char  *name)
{
  if (g_strcmp0 (self->edit_layer, name) == 0)
    return;
  g_free (self->edit_layer);
  self->edit_layer = g_strdup (name);
  /* The same tool on the new layer, when it fits its kind. */
  set_edit_tool (self, self->edit_tool ? self->edit_tool : "none");
}

static void
set_table_layer (DothiWindow *self,
                 const char  *name)
{
  if (g_strcmp0 (self->table_layer, name) == 0)
    return;
  g_free (self->table_layer);
  self->table_layer = g_strdup (name);
  if (self->table_visible && self->project != NULL)
    dothi_attribute_table_set_layer (DOTHI_ATTRIBUTE_TABLE (self->attribute_table),
                                     self->project, self->table_layer);
}

static void
set_table_visible (DothiWindow *self,
                   gboolean     visible)
{
  if (self->table_visible == !!visible)
    return;
  self->table_visible = !!visible;
  gtk_widget_set_visible (self->table_pane, self->table_visible);
  /* Read only while shown: the fid scan of a big layer takes a moment. */
  if (self->table_visible && self->project != NULL && self->table_layer != NULL)
    dothi_attribute_table_set_layer (DOTHI_ATTRIBUTE_TABLE (self->attribute_table),
                                     self->project, self->table_layer);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TABLE_VISIBLE]);
}

static void
snap_layer_toggled_cb (GtkCheckButton *button,
                       DothiWindow    *self)
{
  const char *name = g_object_get_data (G_OBJECT (button), "layer");

  if (gtk_check_button_get_active (button))
    g_hash_table_remove (self->snap_off, name);
  else
    g_hash_table_add (self->snap_off, g_strdup (name));
  apply_snapping (self);
}

static void
snap_tolerance_changed_cb (GtkSpinButton *spin,
                           DothiWindow   *self)
{
  apply_snapping (self);
}

static void
select_by_name (GtkDropDown *dropdown,
                GPtrArray   *names,
                const char  *name)
{
  guint index = 0;

  for (guint i = 0; name != NULL && i < names->len; i++)
    if (g_strcmp0 (g_ptr_array_index (names, i), name) == 0)
      index = i;
  gtk_drop_down_set_selected (dropdown, names->len > 0 ? index : GTK_INVALID_LIST_POSITION);
}

static const char *
selected_name (GtkDropDown *dropdown,
               GPtrArray   *names)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (names == NULL || selected == GTK_INVALID_LIST_POSITION || selected >= names->len)
    return NULL;
  return g_ptr_array_index (names, selected);
}

/* The layer drop-downs of the edit toolbar and the table, and the snapping
 * list, topmost layer first as in the panel; choices kept by name. */
static void
fill_layer_choices (DothiWindow *self)
{
  g_autofree char *edit_layer = g_strdup (self->edit_layer);
  g_autofree char *table_layer = g_strdup (self->table_layer);
  GtkWidget *child;

  self->filling_choices = TRUE;
  g_clear_pointer (&self->edit_layers, g_ptr_array_unref);
  g_clear_pointer (&self->table_layers, g_ptr_array_unref);
  self->edit_layers = g_ptr_array_new_with_free_func (g_free);
  self->table_layers = g_ptr_array_new_with_free_func (g_free);
  gtk_string_list_splice (self->edit_layer_titles, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->edit_layer_titles)), NULL);
  gtk_string_list_splice (self->table_layer_titles, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->table_layer_titles)), NULL);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->snap_layers_box))))
    gtk_box_remove (self->snap_layers_box, child);

  for (guint i = self->layer_infos ? self->layer_infos->len : 0; i-- > 0;)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layer_infos, i);
      GtkWidget *check;

      g_ptr_array_add (self->table_layers, g_strdup (info->name));
      gtk_string_list_append (self->table_layer_titles, info_title (info));
      if (info->kind == DOTHI_GEOMETRY_KIND_NONE)
        continue;

      g_ptr_array_add (self->edit_layers, g_strdup (info->name));
      gtk_string_list_append (self->edit_layer_titles, info_title (info));
      check = gtk_check_button_new_with_label (info_title (info));
      g_object_set_data_full (G_OBJECT (check), "layer", g_strdup (info->name), g_free);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                   !g_hash_table_contains (self->snap_off, info->name));
      g_signal_connect (check, "toggled", G_CALLBACK (snap_layer_toggled_cb), self);
      gtk_box_append (self->snap_layers_box, check);
    }

  select_by_name (self->edit_layer_dropdown, self->edit_layers, edit_layer);
  select_by_name (self->table_layer_dropdown, self->table_layers, table_layer);
  self->filling_choices = FALSE;

  set_edit_layer (self, selected_name (self->edit_layer_dropdown, self->edit_layers));
  set_table_layer (self, selected_name (self->table_layer_dropdown, self->table_layers));
  apply_snapping (self);
}

static void
edit_layer_selected_cb (GtkDropDown *dropdown,
                        GParamSpec  *pspec,
                        DothiWindow *self)
{
  if (!self->filling_choices)
    set_edit_layer (self, selected_name (dropdown, self->edit_layers));
}

static void
table_layer_selected_cb (GtkDropDown *dropdown,
                         GParamSpec  *pspec,
                         DothiWindow *self)
{
  if (!self->filling_choices)
    set_table_layer (self, selected_name (dropdown, self->table_layers));
}

/* "1403012.34 458123.45", "1403012,34 458123,45" or "1403012.34, 458123.45":
 * X (northing) then Y (easting). */
static gboolean
parse_coordinates (const char *text,
                   double     *x,
                   double     *y)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  g_auto(GStrv) tokens = g_regex_split_simple ("[\\s;]+|,\\s+", copy, 0, 0);
  double values[2];
  guint n = 0;

  if (tokens != NULL && g_strv_length (tokens) == 1 && strchr (tokens[0], ',') != NULL
      && strchr (tokens[0], '.') != NULL)
    {
      /* "1403012.34,458123.45" */
      g_strfreev (tokens);
      tokens = g_strsplit (copy, ",", -1);
    }
  for (guint i = 0; tokens != NULL && tokens[i] != NULL; i++)
    {
      char *comma = strchr (tokens[i], ',');
      char *end = NULL;

      if (tokens[i][0] == '\0')
        continue;
      if (n == 2)
        return FALSE;
      /* A decimal comma, as Vietnamese writes numbers. */
      if (comma != NULL && strchr (tokens[i], '.') == NULL && strchr (comma + 1, ',') == NULL)
        *comma = '.';
      values[n] = g_ascii_strtod (tokens[i], &end);
      if (end == tokens[i] || *end != '\0' || !isfinite (values[n]))
        return FALSE;
      n++;
    }
  if (n != 2)
    return FALSE;
  *x = values[0];
  *y = values[1];
  return TRUE;
}

static void
add_vertex_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->coordinate_entry));
  double x, y;

  if (!parse_coordinates (text, &x, &y))
    {
      /* Translators: toast when the typed vertex cannot be read; %s is
       * what was typed */
      g_autofree char *message = g_strdup_printf (_("“%s” is not a pair of coordinates: type X (northing) then Y (easting) in metres"),
                                                  text);
      gtk_widget_add_css_class (GTK_WIDGET (self->coordinate_entry), "error");
      set_error_message (self, message);
      show_toast (self, message);
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (self->coordinate_entry), "error");
  dothi_map_view_add_typed_vertex (self->map_view, x, y);
  gtk_editable_set_text (GTK_EDITABLE (self->coordinate_entry), "");
}

static void
coordinate_activated_cb (GtkEntry    *entry,
                         DothiWindow *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "win.add-vertex", NULL);
}

static void
finish_edit_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);

  if (!dothi_map_view_finish_edit (self->map_view))
    /* Translators: toast when Finish is pressed with nothing drawn */
    show_toast (self, _("Nothing to finish: click on the map or add typed vertices first"));
}

/* ---- map and table signals while editing -------------------------------- */

static void
edit_finished_cb (DothiMapView *map,
                  gint64        action_id,
                  DothiWindow  *self)
{
  g_autofree char *layer = g_strdup (self->edit_layer);
  gboolean added = self->edit_tool != NULL && g_str_has_prefix (self->edit_tool, "add-");

  follow_edit (self);
  show_edit_toast (self);
  /* A new feature gets its attributes next. */
  if (added && layer != NULL && self->project != NULL)
    open_form_for_new_feature (self, layer);
}

static void
edit_failed_cb (DothiMapView *map,
                GError       *error,
                DothiWindow  *self)
{
  if (error != NULL)
    show_toast_error (self, error);
}

static void
map_selection_changed_cb (DothiMapView *map,
                          DothiWindow  *self)
{
  GArray *selection = dothi_map_view_get_selection (map);

  update_actions (self);
  if (self->syncing_selection || selection == NULL || selection->len == 0
      || !self->table_visible
      || g_strcmp0 (self->table_layer, dothi_map_view_get_selection_layer (map)) != 0)
    return;
  self->syncing_selection = TRUE;
  dothi_attribute_table_select_fid (DOTHI_ATTRIBUTE_TABLE (self->attribute_table),
                                    g_array_index (selection, gint64, selection->len - 1));
  self->syncing_selection = FALSE;
}

static void
table_selection_changed_cb (GtkWidget   *table,
                            GArray      *fids,
                            DothiWindow *self)
{
  if (self->syncing_selection || self->project == NULL || self->table_layer == NULL)
    return;
  self->syncing_selection = TRUE;
  dothi_map_view_set_selection (self->map_view, self->table_layer,
                                fids ? (const gint64 *) (gpointer) fids->data : NULL,
                                fids ? fids->len : 0);
  self->syncing_selection = FALSE;
}

static void
table_feature_activated_cb (GtkWidget   *table,
                            gint64       fid,
                            DothiWindow *self)
{
  open_feature_form (self, self->table_layer, fid, NULL, NULL);
}

static void
table_error_cb (GtkWidget   *table,
                GError      *error,
                DothiWindow *self)
{
  if (error != NULL)
    show_toast_error (self, error);
}

static void
table_edited_cb (GtkWidget   *table,
                 gint64       action_id,
                 DothiWindow *self)
{
  refresh_history (self);
  reidentify (self);
  if (self->audit_view != NULL)
    dothi_audit_view_reload (DOTHI_AUDIT_VIEW (self->audit_view));
  show_edit_toast (self);
}

/* ---- state -------------------------------------------------------------- */

static void
set_undo_tooltip (GtkButton  *button,
                  gboolean    read_only,
                  const char *label,
                  gboolean    undo)
{
  g_autofree char *tooltip = NULL;

  if (read_only)
    tooltip = g_strdup (_("The project is open read-only, so it cannot be edited"));
  else if (label != NULL)
    tooltip = g_strdup_printf (undo
                               /* Translators: tooltip of the Undo button; the label of
                                * the action it would undo */
                               ? _("Undo “%s”")
                               /* Translators: tooltip of the Redo button; the label of
                                * the action it would redo */
                               : _("Redo “%s”"), label);
  else
    tooltip = g_strdup (undo
                        /* Translators: tooltip of the Undo button when the history is empty */
                        ? _("Nothing to Undo")
                        /* Translators: tooltip of the Redo button when nothing was undone */
                        : _("Nothing to Redo"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (button), tooltip);
}

/* The editing half of update_actions(). A read-only project shows the
 * tools greyed out, the reason in their tooltips. */
static void
update_edit_actions (DothiWindow *self,
                     gboolean     showing_map,
                     gboolean     busy)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has_project = self->project != NULL;
  gboolean read_only = has_project && !project_writable (self);
  gboolean writable = project_writable (self) && !busy;
  gboolean job = self->edit_cancellable != NULL;
  gboolean can_edit = showing_map && writable && !job && self->editing;
  const DothiLayerInfo *info = edit_layer_info (self);
  GArray *selection = has_project ? dothi_map_view_get_selection (self->map_view) : NULL;
  const DothiIdentifyResult *identified = gtk_revealer_get_reveal_child (self->identify_revealer)
                                          ? dothi_identify_panel_get_current (self->identify_panel)
                                          : NULL;
  const char *tool = self->edit_tool ? self->edit_tool : "none";
  DothiGeometryKind kind = info ? info->kind : DOTHI_GEOMETRY_KIND_NONE;

  gtk_widget_action_set_enabled (widget, "win.undo", writable && !job && self->undo_label != NULL);
  gtk_widget_action_set_enabled (widget, "win.redo", writable && !job && self->redo_label != NULL);
  set_undo_tooltip (self->undo_button, read_only, self->undo_label, TRUE);
  set_undo_tooltip (self->redo_button, read_only, self->redo_label, FALSE);

  gtk_widget_action_set_enabled (widget, "win.edit-mode", showing_map && writable);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->edit_button),
                               read_only
                               ? _("The project is open read-only, so it cannot be edited")
                               /* Translators: tooltip of the header bar Edit button */
                               : _("Show the Editing Tools"));
  gtk_widget_action_set_enabled (widget, "win.edit-tool", can_edit && info != NULL);
  gtk_widget_action_set_enabled (widget, "win.snapping", showing_map && self->editing);
  gtk_widget_action_set_enabled (widget, "win.add-vertex", can_edit && tool_draws (tool));
  gtk_widget_action_set_enabled (widget, "win.finish-edit", can_edit && tool_draws (tool));
  gtk_widget_action_set_enabled (widget, "win.merge",
                                 can_edit && kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON
                                 && selection != NULL && selection->len >= 2
                                 && g_strcmp0 (dothi_map_view_get_selection_layer (self->map_view),
                                               info->name) == 0);
  gtk_widget_set_tooltip_text (self->merge_button,
                               /* Translators: tooltip of the Merge Selected button */
                               _("Merge the selected parcels into one; select them with the Select tool"));

  /* Only the tools that fit the layer's kind are offered. */
  gtk_widget_set_visible (self->add_point_button, tool_fits (kind, "add-point") && info);
  gtk_widget_set_visible (self->add_line_button, tool_fits (kind, "add-line") && info);
  gtk_widget_set_visible (self->add_polygon_button, tool_fits (kind, "add-polygon") && info);
  gtk_widget_set_visible (self->split_button, kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  gtk_widget_set_visible (self->merge_button, kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON);

  gtk_widget_action_set_enabled (widget, "win.toggle-table", showing_map);
  gtk_widget_action_set_enabled (widget, "win.history", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.query", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.print", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.network", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.operations", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.wall-mode", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.sql-console", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.clear-query-result",
                                 dothi_map_view_get_result (self->map_view) != NULL);
  gtk_widget_action_set_enabled (widget, "win.check-topology",
                                 has_project && !busy && has_polygon_layer (self));
  gtk_widget_action_set_enabled (widget, "win.edit-feature",
                                 identified != NULL && writable && find_info (self, identified->layer));
  gtk_widget_action_set_enabled (widget, "win.feature-history",
                                 identified != NULL && !busy && find_info (self, identified->layer));
}

static void
update_actions (DothiWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has_project = self->project != NULL;
  gboolean busy = self->open_cancellable != NULL;
  gboolean showing_map = has_project && !busy
                         && g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "layers") == 0;

  gtk_widget_action_set_enabled (widget, "win.import", project_writable (self) && !busy);
  gtk_widget_action_set_enabled (widget, "win.zoom-in", showing_map);
  gtk_widget_action_set_enabled (widget, "win.zoom-out", showing_map);
  gtk_widget_action_set_enabled (widget, "win.zoom-project", showing_map);
  gtk_widget_action_set_enabled (widget, "win.zoom-to-layer", showing_map);
  gtk_widget_action_set_enabled (widget, "win.layer-style", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.search", has_project && !busy);
  gtk_widget_action_set_enabled (widget, "win.toggle-sidebar", showing_map);
  gtk_widget_action_set_enabled (widget, "win.basemap", has_project);
  gtk_widget_action_set_enabled (widget, "win.close-identify",
                                 gtk_revealer_get_reveal_child (self->identify_revealer));
  gtk_widget_action_set_enabled (widget, "win.none", FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->search_entry), has_project && !busy);

  update_edit_actions (self, showing_map, busy);
}

static void
stack_child_changed_cb (GtkStack    *stack,
                        GParamSpec  *pspec,
                        DothiWindow *self)
{
  update_actions (self);
}

/* ---- drag and drop of files --------------------------------------------- */

static gboolean
is_project_file (GFile *file)
{
  g_autofree char *name = g_file_get_basename (file);

  return name != NULL && g_str_has_suffix (name, ".dothi");
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         DothiWindow   *self)
{
  g_autoptr(GPtrArray) projects = g_ptr_array_new ();
  GFile *data_file = NULL;
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;

  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;

  for (GSList *l = files; l != NULL; l = l->next)
    {
      if (is_project_file (l->data))
        g_ptr_array_add (projects, l->data);
      else if (data_file == NULL)
        data_file = l->data;
    }

  /* GIS data goes into the open project, through the import dialog. */
  if (data_file != NULL)
    {
      if (project_writable (self))
        show_import_dialog (self, data_file);
      else
        {
          g_autofree char *name = g_file_get_parse_name (data_file);
          /* Translators: a file dropped onto the window with no project open */
          g_autofree char *message = g_strdup_printf (self->project == NULL
                                                      ? _("Open or create a project to import “%s” into")
                                                      /* Translators: a file dropped onto a read-only project */
                                                      : _("This project is read-only: “%s” cannot be imported into it"),
                                                      name);
          set_error_message (self, message);
          show_toast (self, message);
        }
    }

  if (projects->len > 0)
    {
      GFile *first = g_ptr_array_index (projects, 0);

      /* Further projects open in windows of their own. */
      if (projects->len > 1)
        g_application_open (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))),
                            (GFile **) projects->pdata + 1, projects->len - 1, "");
      dothi_window_open_file (self, first);
    }

  g_slist_free (files);
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------ */

static void
dothi_window_dispose (GObject *object)
{
  DothiWindow *self = DOTHI_WINDOW (object);

  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_cancellable_cancel (self->identify_cancellable);
  g_clear_object (&self->identify_cancellable);
  /* A running undo finishes its transaction; only its result is dropped. */
  g_cancellable_cancel (self->edit_cancellable);
  g_clear_object (&self->edit_cancellable);
  if (self->audit_view != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->audit_view), (gpointer *) &self->audit_view);
  self->audit_view = NULL;
  if (self->topology_view != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->topology_view), (gpointer *) &self->topology_view);
  self->topology_view = NULL;
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->recent_manager != NULL)
    g_signal_handlers_disconnect_by_data (self->recent_manager, self);
  self->recent_manager = NULL;

  /* The map and table let go of the project before it closes. */
  if (self->attribute_table != NULL)
    dothi_attribute_table_set_layer (DOTHI_ATTRIBUTE_TABLE (self->attribute_table), NULL, NULL);
  if (self->map_view != NULL)
    dothi_map_view_set_project (self->map_view, NULL);
  if (self->project != NULL)
    close_project_in_background (self, g_steal_pointer (&self->project));

  if (self->search_popover != NULL)
    {
      gtk_widget_unparent (GTK_WIDGET (self->search_popover));
      self->search_popover = NULL;
    }
  g_clear_pointer (&self->search_results, g_ptr_array_unref);

  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_WINDOW);

  G_OBJECT_CLASS (dothi_window_parent_class)->dispose (object);
}

static void
dothi_window_finalize (GObject *object)
{
  DothiWindow *self = DOTHI_WINDOW (object);

  g_free (self->error_message);
  g_free (self->crs_name);
  g_free (self->basemap);
  g_clear_pointer (&self->layer_infos, g_ptr_array_unref);
  g_clear_pointer (&self->layer_styles, g_ptr_array_unref);
  g_clear_pointer (&self->edit_layers, g_ptr_array_unref);
  g_clear_pointer (&self->table_layers, g_ptr_array_unref);
  g_clear_pointer (&self->snap_off, g_hash_table_unref);
  g_free (self->edit_tool);
  g_free (self->edit_layer);
  g_free (self->table_layer);
  g_free (self->undo_label);
  g_free (self->redo_label);

  G_OBJECT_CLASS (dothi_window_parent_class)->finalize (object);
}

static void
dothi_window_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  DothiWindow *self = DOTHI_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;

    case PROP_BUSY:
      g_value_set_boolean (value, dothi_window_get_busy (self));
      break;

    case PROP_SIDEBAR_VISIBLE:
      g_value_set_boolean (value, self->sidebar_visible);
      break;

    case PROP_BASEMAP:
      g_value_set_string (value, self->basemap);
      break;

    case PROP_EDITING:
      g_value_set_boolean (value, self->editing);
      break;

    case PROP_EDIT_TOOL:
      g_value_set_string (value, self->edit_tool);
      break;

    case PROP_SNAPPING:
      g_value_set_boolean (value, self->snapping);
      break;

    case PROP_TABLE_VISIBLE:
      g_value_set_boolean (value, self->table_visible);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_window_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  DothiWindow *self = DOTHI_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SIDEBAR_VISIBLE:
      if (self->sidebar_visible != g_value_get_boolean (value))
        {
          self->sidebar_visible = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_BASEMAP:
      request_basemap (self, g_value_get_string (value));
      break;

    case PROP_EDITING:
      set_editing (self, g_value_get_boolean (value));
      break;

    case PROP_EDIT_TOOL:
      set_edit_tool (self, g_value_get_string (value));
      break;

    case PROP_SNAPPING:
      if (self->snapping != g_value_get_boolean (value))
        {
          self->snapping = g_value_get_boolean (value);
          apply_snapping (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_TABLE_VISIBLE:
      set_table_visible (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_window_class_init (DothiWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_window_dispose;
  object_class->finalize = dothi_window_finalize;
  object_class->get_property = dothi_window_get_property;
  object_class->set_property = dothi_window_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL,
                         DOTHI_TYPE_PROJECT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIDEBAR_VISIBLE] =
    g_param_spec_boolean ("sidebar-visible", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BASEMAP] =
    g_param_spec_string ("basemap", NULL, NULL,
                         "none",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The editing tools are shown (a writable project only). */
  properties[PROP_EDITING] =
    g_param_spec_boolean ("editing", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* "none", "add-point", "add-line", "add-polygon", "vertices", "move",
   * "delete", "split", "select"; setting "add" picks the layer's kind. */
  properties[PROP_EDIT_TOOL] =
    g_param_spec_string ("edit-tool", NULL, NULL,
                         "none",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SNAPPING] =
    g_param_spec_boolean ("snapping", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TABLE_VISIBLE] =
    g_param_spec_boolean ("table-visible", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (DOTHI_TYPE_MAP_VIEW);
  g_type_ensure (DOTHI_TYPE_IDENTIFY_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, recent_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, layers_heading);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, layer_list);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, map_view);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, identify_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, identify_panel);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, position_label);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, wgs84_label);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, map_spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, scale_label);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, undo_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, redo_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, edit_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, edit_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, edit_layer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, edit_layer_titles);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, add_point_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, add_line_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, add_polygon_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, split_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, merge_button);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, snap_layers_box);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, snap_tolerance_spin);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, coordinate_entry);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, table_pane);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, table_layer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, table_layer_titles);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, table_box);

  /* Accelerators are set in DothiApplication's startup table. */
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.new", NULL, new_action);
  gtk_widget_class_install_action (widget_class, "win.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "win.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-project", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-to-layer", "s", zoom_to_layer_action);
  gtk_widget_class_install_action (widget_class, "win.layer-style", "s", layer_style_action);
  gtk_widget_class_install_action (widget_class, "win.close-identify", NULL, close_identify_action);
  /* Placeholder of empty menus: never enabled. */
  gtk_widget_class_install_action (widget_class, "win.none", NULL, NULL);
  gtk_widget_class_install_property_action (widget_class, "win.toggle-sidebar", "sidebar-visible");
  gtk_widget_class_install_property_action (widget_class, "win.basemap", "basemap");
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, undo_action);
  gtk_widget_class_install_property_action (widget_class, "win.edit-mode", "editing");
  gtk_widget_class_install_property_action (widget_class, "win.edit-tool", "edit-tool");
  gtk_widget_class_install_property_action (widget_class, "win.snapping", "snapping");
  gtk_widget_class_install_property_action (widget_class, "win.toggle-table", "table-visible");
  gtk_widget_class_install_action (widget_class, "win.merge", NULL, merge_action);
  gtk_widget_class_install_action (widget_class, "win.add-vertex", NULL, add_vertex_action);
  gtk_widget_class_install_action (widget_class, "win.finish-edit", NULL, finish_edit_action);
  gtk_widget_class_install_action (widget_class, "win.history", NULL, history_action);
  gtk_widget_class_install_action (widget_class, "win.check-topology", NULL, check_topology_action);
  gtk_widget_class_install_action (widget_class, "win.query", NULL, query_action);
  gtk_widget_class_install_action (widget_class, "win.print", NULL, print_action);
  gtk_widget_class_install_action (widget_class, "win.network", NULL, network_action);
  gtk_widget_class_install_action (widget_class, "win.operations", NULL, operations_action);
  gtk_widget_class_install_action (widget_class, "win.wall-mode", NULL, wall_mode_action);
  gtk_widget_class_install_action (widget_class, "win.clear-query-result", NULL, clear_query_result_action);
  gtk_widget_class_install_action (widget_class, "win.sql-console", NULL, sql_console_action);
  gtk_widget_class_install_action (widget_class, "win.edit-anyway", NULL, edit_anyway_action);
  gtk_widget_class_install_action (widget_class, "win.edit-feature", NULL, edit_feature_action);
  gtk_widget_class_install_action (widget_class, "win.feature-history", NULL, feature_history_action);

  /* Escape belongs to whatever has focus first (the search entry, a
   * popover); a widget binding runs after them, unlike an accelerator. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "win.close-identify", NULL);
  /* Single keys for the editing tools are bindings too, so typing an
   * “e” in an entry stays typing (accelerators see keys first). The
   * shortcuts window lists them beside the table in dothi-application.c. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, 0, "win.edit-mode", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_p, 0, "win.edit-tool", "s", "none");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, 0, "win.edit-tool", "s", "add");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, 0, "win.edit-tool", "s", "vertices");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, 0, "win.edit-tool", "s", "move");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, 0, "win.edit-tool", "s", "delete");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, 0, "win.edit-tool", "s", "split");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, 0, "win.edit-tool", "s", "select");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, 0, "win.snapping", NULL);
}

static void
dothi_window_init (DothiWindow *self)
{
  GtkDropTarget *target;
  GtkEventController *keys;
  GtkWidget *scrolled;

  self->sidebar_visible = TRUE;
  self->basemap = g_strdup ("none");
  self->edit_tool = g_strdup ("none");
  self->snap_off = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_spin_button_set_value (self->snap_tolerance_spin, DEFAULT_SNAP_TOLERANCE_PX);
  g_signal_connect (self->snap_tolerance_spin, "value-changed",
                    G_CALLBACK (snap_tolerance_changed_cb), self);
  g_signal_connect (self->edit_layer_dropdown, "notify::selected",
                    G_CALLBACK (edit_layer_selected_cb), self);
  g_signal_connect (self->table_layer_dropdown, "notify::selected",
                    G_CALLBACK (table_layer_selected_cb), self);
  g_signal_connect (self->coordinate_entry, "activate",
                    G_CALLBACK (coordinate_activated_cb), self);

  self->attribute_table = dothi_attribute_table_new ();
  gtk_widget_set_vexpand (self->attribute_table, TRUE);
  gtk_box_append (self->table_box, self->attribute_table);
  g_signal_connect (self->attribute_table, "selection-changed",
                    G_CALLBACK (table_selection_changed_cb), self);
  g_signal_connect (self->attribute_table, "feature-activated",
                    G_CALLBACK (table_feature_activated_cb), self);
  g_signal_connect (self->attribute_table, "error", G_CALLBACK (table_error_cb), self);
  g_signal_connect (self->attribute_table, "edited", G_CALLBACK (table_edited_cb), self);
  g_signal_connect (self->attribute_table, "result-cleared", G_CALLBACK (table_result_cleared_cb), self);

  g_object_bind_property (self, "sidebar-visible", self->flap, "reveal-flap",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  /* Search results drop down under the entry; typing goes on in it. */
  self->search_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->search_list, GTK_SELECTION_BROWSE);
  gtk_list_box_set_activate_on_single_click (self->search_list, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->search_list), "navigation-sidebar");
  g_signal_connect (self->search_list, "row-activated",
                    G_CALLBACK (search_row_activated_cb), self);
  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 480);
  gtk_widget_set_size_request (scrolled, 340, -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->search_list));
  self->search_popover = GTK_POPOVER (gtk_popover_new ());
  gtk_popover_set_child (self->search_popover, scrolled);
  gtk_popover_set_autohide (self->search_popover, FALSE);
  gtk_popover_set_has_arrow (self->search_popover, FALSE);
  gtk_popover_set_position (self->search_popover, GTK_POS_BOTTOM);
  gtk_widget_set_halign (GTK_WIDGET (self->search_popover), GTK_ALIGN_START);
  gtk_widget_set_parent (GTK_WIDGET (self->search_popover), GTK_WIDGET (self->search_entry));

  g_signal_connect (self->search_entry, "search-changed",
                    G_CALLBACK (search_changed_cb), self);
  g_signal_connect (self->search_entry, "activate",
                    G_CALLBACK (search_activated_cb), self);
  g_signal_connect (self->search_entry, "stop-search",
                    G_CALLBACK (search_stopped_cb), self);
  keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (search_key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->search_entry), keys);

  g_signal_connect (self->map_view, "pointer-moved", G_CALLBACK (pointer_moved_cb), self);
  g_signal_connect (self->map_view, "pointer-left", G_CALLBACK (pointer_left_cb), self);
  g_signal_connect (self->map_view, "clicked", G_CALLBACK (map_clicked_cb), self);
  g_signal_connect (self->map_view, "error", G_CALLBACK (map_error_cb), self);
  g_signal_connect (self->map_view, "notify::scale-denominator",
                    G_CALLBACK (scale_changed_cb), self);
  g_signal_connect (self->map_view, "notify::busy", G_CALLBACK (map_busy_cb), self);
  g_signal_connect (self->map_view, "edit-finished", G_CALLBACK (edit_finished_cb), self);
  g_signal_connect (self->map_view, "file-changed", G_CALLBACK (file_changed_cb), self);
  g_signal_connect (self->map_view, "edit-failed", G_CALLBACK (edit_failed_cb), self);
  g_signal_connect (self->map_view, "selection-changed",
                    G_CALLBACK (map_selection_changed_cb), self);

  g_signal_connect (self->identify_panel, "result-shown",
                    G_CALLBACK (identify_result_shown_cb), self);
  g_signal_connect (self->identify_panel, "zoom-requested",
                    G_CALLBACK (identify_zoom_requested_cb), self);
  g_signal_connect (self->identify_panel, "close-requested",
                    G_CALLBACK (identify_close_requested_cb), self);

  g_signal_connect (self->stack, "notify::visible-child",
                    G_CALLBACK (stack_child_changed_cb), self);

  self->recent_manager = gtk_recent_manager_get_default ();
  g_signal_connect (self->recent_manager, "changed", G_CALLBACK (recent_changed_cb), self);
  update_recent_menu (self);

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  update_actions (self);
}

/* ---- public API --------------------------------------------------------- */

DothiWindow *
dothi_window_new (AdwApplication *application)
{
  g_return_val_if_fail (ADW_IS_APPLICATION (application), NULL);

  return g_object_new (DOTHI_TYPE_WINDOW, "application", application, NULL);
}

void
dothi_window_open_file (DothiWindow *self,
                        GFile       *file)
{
  dothi_window_open_file_full (self, file, DOTHI_PROJECT_OPEN_DEFAULT);
}

void
dothi_window_open_file_full (DothiWindow           *self,
                             GFile                 *file,
                             DothiProjectOpenFlags  flags)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *path = NULL;
  GApplication *application;

  g_return_if_fail (DOTHI_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *name = g_file_get_parse_name (file);
      g_autofree char *message = NULL;

      /* Translators: a location such as "sftp://server/city.dothi"; shown
       * when it is not a file on this computer */
      message = g_strdup_printf (_("“%s” is not on this computer. Copy it to a local folder, then open the copy."),
                                 name);
      show_error (self, _("Could Not Open Project"), message);
      return;
    }

  /* A newer request replaces one still running. */
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();

  gtk_stack_set_visible_child_name (self->stack, "loading");
  set_busy (self, TRUE);
  update_actions (self);

  /* Held until the worker is done: quitting in the middle of an open
   * (which may migrate the file) waits for it. */
  application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  if (application != NULL)
    g_application_hold (application);

  task = g_task_new (self, self->open_cancellable, project_opened_cb,
                     application ? g_object_ref (application) : NULL);
  g_task_set_source_tag (task, dothi_window_open_file);
  g_task_set_task_data (task, g_steal_pointer (&path), g_free);
  g_object_set_data (G_OBJECT (task), "dothi-open-flags", GINT_TO_POINTER (flags));
  g_task_run_in_thread (task, open_project_thread);
}

DothiProject *
dothi_window_get_project (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return self->project;
}

gboolean
dothi_window_get_busy (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), FALSE);

  return self->open_cancellable != NULL;
}

const char *
dothi_window_get_page (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
dothi_window_get_placeholder_title (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return adw_status_page_get_title (self->empty_page);
}

const char *
dothi_window_get_subtitle (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return adw_window_title_get_subtitle (self->window_title);
}

const char *
dothi_window_get_error_message (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return self->error_message;
}

GPtrArray *
dothi_window_dup_layer_rows (DothiWindow *self)
{
  GPtrArray *rows;

  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  rows = g_ptr_array_new ();
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (DOTHI_IS_LAYER_ROW (child))
      g_ptr_array_add (rows, child);

  return rows;
}

GtkWidget *
dothi_window_get_map_view (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return GTK_WIDGET (self->map_view);
}

GtkWidget *
dothi_window_get_identify_panel (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return GTK_WIDGET (self->identify_panel);
}

gboolean
dothi_window_get_identify_visible (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), FALSE);

  return gtk_revealer_get_reveal_child (self->identify_revealer);
}

const char *
dothi_window_get_position_text (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return gtk_label_get_text (self->position_label);
}

const char *
dothi_window_get_wgs84_text (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return gtk_label_get_text (self->wgs84_label);
}

const char *
dothi_window_get_scale_text (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return gtk_label_get_text (self->scale_label);
}

void
dothi_window_search (DothiWindow *self,
                     const char  *text)
{
  g_return_if_fail (DOTHI_IS_WINDOW (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
}

gboolean
dothi_window_get_searching (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), FALSE);

  return self->search_cancellable != NULL || self->identify_cancellable != NULL;
}

guint
dothi_window_get_n_search_results (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), 0);

  return self->search_results ? self->search_results->len : 0;
}

gboolean
dothi_window_activate_search_result (DothiWindow *self,
                                     guint        index)
{
  const DothiSearchResult *result;

  g_return_val_if_fail (DOTHI_IS_WINDOW (self), FALSE);

  if (self->project == NULL || self->search_results == NULL
      || index >= self->search_results->len)
    return FALSE;

  result = g_ptr_array_index (self->search_results, index);
  gtk_popover_popdown (self->search_popover);
  fly_to_bbox (self, result->bbox);
  if (result->kind != DOTHI_SEARCH_COORDINATE && result->layer != NULL)
    dothi_map_view_highlight (self->map_view, result->layer, result->fid);
  else
    dothi_map_view_highlight (self->map_view, NULL, -1);
  return TRUE;
}

const char *
dothi_window_get_undo_label (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return self->undo_label;
}

const char *
dothi_window_get_redo_label (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return self->redo_label;
}

gboolean
dothi_window_get_edit_running (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), FALSE);

  return self->edit_cancellable != NULL;
}

GtkWidget *
dothi_window_get_attribute_table (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return self->attribute_table;
}

GtkWidget *
dothi_window_get_audit_view (DothiWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_WINDOW (self), NULL);

  return self->audit_view;
}

void
dothi_window_open_feature_form (DothiWindow *self,
                                const char  *layer,
                                gint64       fid)
{
  g_return_if_fail (DOTHI_IS_WINDOW (self));

  open_feature_form (self, layer, fid, NULL, NULL);
}
