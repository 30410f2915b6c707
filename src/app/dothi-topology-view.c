/* dothi-topology-view.c: the topology check window. Runs
 * dothi_parcel_check_topology_sync on a read-only connection of its own in
 * a worker, lists the overlaps and gaps, and zooms the map to one. */
#define G_LOG_DOMAIN "dothi-topology-view"

#include "config.h"
#include "dothi-topology-view.h"

#include <glib/gi18n.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-format.h"
#include "dothi-layer-info.h"
#include "dothi-parcel.h"

#define DEFAULT_MIN_AREA 0.1
/* A problem is shown this many times its size, and at least this wide, m. */
#define ZOOM_FACTOR 3.0
#define MIN_ZOOM_SIZE 40.0

struct _DothiTopologyView
{
  AdwWindow       parent_instance;

  char           *path;
  int             project_srid;
  GPtrArray      *layers;        /* DothiLayerInfo*: the polygon layers */
  DothiMapView   *map_view;      /* weak */

  GCancellable   *cancellable;   /* the check in progress, or NULL */
  gboolean        last_ok;
  char           *result_layer;  /* the layer the listed problems are of */
  GPtrArray      *problems;      /* DothiTopologyProblem* */
  GArray         *bboxes;        /* double[4] per problem, project CRS */
  GPtrArray      *texts;         /* char* per problem */
  char           *message;

  AdwWindowTitle *window_title;
  AdwComboRow    *layer_row;
  GtkSpinButton  *min_area_spin;
  GtkWidget      *running_box;
  GtkSpinner     *spinner;
  GtkLabel       *message_label;
  GtkListBox     *list;
};

G_DEFINE_FINAL_TYPE (DothiTopologyView, dothi_topology_view, ADW_TYPE_WINDOW)

enum {
  FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef double Bbox[4];

/* ---- numbers ------------------------------------------------------------ */

/* The smallest area as typed: one decimal, two when it has them. */
static char *
format_min_area (double value)
{
  return dothi_format_double (value, fabs (value * 10 - round (value * 10)) > 1e-6 ? 2 : 1);
}

/* ---- the worker ---------------------------------------------------------- */

typedef struct {
  char   *path;
  char   *layer;
  int     layer_srid;
  int     project_srid;
  double  min_area;
} CheckJob;

static void
check_job_free (CheckJob *job)
{
  g_free (job->path);
  g_free (job->layer);
  g_free (job);
}

typedef struct {
  GPtrArray *problems;
  GArray    *bboxes;
} CheckResult;

static void
check_result_free (CheckResult *result)
{
  g_clear_pointer (&result->problems, g_ptr_array_unref);
  g_clear_pointer (&result->bboxes, g_array_unref);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CheckResult, check_result_free)

/* The envelope of a problem's polygon, read with OGR (no geometry maths);
 * NaN when the WKB cannot be read. */
static void
wkb_envelope (GBytes *wkb,
              double  bbox[4])
{
  OGRGeometryH geometry = NULL;
  OGREnvelope envelope;
  gsize len = 0;
  const void *data = wkb ? g_bytes_get_data (wkb, &len) : NULL;

  bbox[0] = bbox[1] = bbox[2] = bbox[3] = NAN;
  if (data == NULL
      || OGR_G_CreateFromWkbEx (data, NULL, &geometry, len) != OGRERR_NONE)
    return;
  OGR_G_GetEnvelope (geometry, &envelope);
  OGR_G_DestroyGeometry (geometry);
  bbox[0] = envelope.MinX;
  bbox[1] = envelope.MinY;
  bbox[2] = envelope.MaxX;
  bbox[3] = envelope.MaxY;
}

/* The bboxes into the project CRS, for a layer kept in another zone. */
static gboolean
transform_bboxes (GArray  *bboxes,
                  int      from_srid,
                  int      to_srid,
                  GError **error)
{
  OGRSpatialReferenceH from = NULL, to = NULL;
  OGRCoordinateTransformationH transform = NULL;
  gboolean ok = FALSE;

  from = dothi_crs_new_srs (from_srid, error);
  if (from == NULL)
    goto out;
  to = dothi_crs_new_srs (to_srid, error);
  if (to == NULL)
    goto out;
  transform = OCTNewCoordinateTransformation (from, to);
  if (transform == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: the two CRSs as EPSG codes */
                   _("Cannot transform from EPSG:%d to EPSG:%d"), from_srid, to_srid);
      goto out;
    }
  for (guint i = 0; i < bboxes->len; i++)
    {
      double *b = g_array_index (bboxes, Bbox, i);

      if (isnan (b[0])
          || !OCTTransformBounds (transform, b[0], b[1], b[2], b[3], &b[0], &b[1], &b[2], &b[3], 21))
        b[0] = b[1] = b[2] = b[3] = NAN;
    }
  ok = TRUE;

out:
  if (transform != NULL)
    OCTDestroyCoordinateTransformation (transform);
  if (from != NULL)
    OSRRelease (from);
  if (to != NULL)
    OSRRelease (to);
  return ok;
}

/* A connection of its own, read-only: the window's project belongs to the
 * main thread (DESIGN.md §7). */
static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CheckJob *job = task_data;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(CheckResult) result = g_new0 (CheckResult, 1);
  g_autoptr(GError) error = NULL;

  project = dothi_project_open (job->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  if (project == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  result->problems = dothi_parcel_check_topology_sync (project, job->layer, NULL, job->min_area,
                                                       cancellable, &error);
  dothi_project_close (project);
  if (result->problems == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  result->bboxes = g_array_sized_new (FALSE, FALSE, sizeof (Bbox), result->problems->len);
  for (guint i = 0; i < result->problems->len; i++)
    {
      const DothiTopologyProblem *problem = g_ptr_array_index (result->problems, i);
      Bbox bbox;

      wkb_envelope (problem->wkb, bbox);
      g_array_append_val (result->bboxes, bbox);
    }
  if (job->layer_srid > 0 && job->project_srid > 0 && job->layer_srid != job->project_srid
      && !transform_bboxes (result->bboxes, job->layer_srid, job->project_srid, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) check_result_free);
}

/* ---- state --------------------------------------------------------------- */

static const DothiLayerInfo *
selected_info (DothiTopologyView *self)
{
  guint index = adw_combo_row_get_selected (self->layer_row);

  if (self->layers == NULL || index == GTK_INVALID_LIST_POSITION || index >= self->layers->len)
    return NULL;
  return g_ptr_array_index (self->layers, index);
}

static const char *
layer_title (const DothiLayerInfo *info)
{
  return info->title != NULL && info->title[0] != '\0' ? info->title : info->name;
}

static void
update_actions (DothiTopologyView *self)
{
  gboolean running = self->cancellable != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "topology.check",
                                 !running && selected_info (self) != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "topology.cancel", running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->layer_row), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->min_area_spin), !running);
  gtk_widget_set_visible (self->running_box, running);
  gtk_spinner_set_spinning (self->spinner, running);
}

static void
set_message (DothiTopologyView *self,
             const char        *message,
             gboolean           error)
{
  g_free (self->message);
  self->message = g_strdup (message);
  gtk_label_set_text (self->message_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), message != NULL);
  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self->message_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->message_label), "error");
}

static void
clear_results (DothiTopologyView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))))
    gtk_list_box_remove (self->list, child);
  gtk_widget_set_visible (GTK_WIDGET (self->list), FALSE);
  g_clear_pointer (&self->problems, g_ptr_array_unref);
  g_clear_pointer (&self->bboxes, g_array_unref);
  g_ptr_array_set_size (self->texts, 0);
  g_clear_pointer (&self->result_layer, g_free);
  set_message (self, NULL, FALSE);
}

static char *
describe_problem (const DothiTopologyProblem *problem)
{
  g_autofree char *area = dothi_format_double (problem->area, 1);
  g_autofree char *a = g_strdup_printf ("%" G_GINT64_FORMAT, problem->fid_a);
  g_autofree char *b = g_strdup_printf ("%" G_GINT64_FORMAT, problem->fid_b);

  if (problem->kind == DOTHI_TOPOLOGY_OVERLAP)
    /* Translators: a problem of the topology check: two parcel numbers
     * (fids) and the overlapping area, "Parcels 12 and 13 overlap by 10.0 m²" */
    return g_strdup_printf (_("Parcels %s and %s overlap by %s m²"), a, b, area);
  /* Translators: a problem of the topology check: the area of a gap
   * between parcels and one parcel (fid) beside it */
  return g_strdup_printf (_("A gap of %s m² beside parcel %s"), area, a);
}

static GtkWidget *
new_problem_row (const DothiTopologyProblem *problem,
                 const char                 *text)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *kind;

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  if (problem->kind == DOTHI_TOPOLOGY_OVERLAP)
    /* Translators: the kind of a topology problem: parcels overlap */
    kind = gtk_label_new (C_("topology", "Overlap"));
  else
    /* Translators: the kind of a topology problem: a gap between parcels */
    kind = gtk_label_new (C_("topology", "Gap"));
  gtk_widget_add_css_class (kind, "caption-heading");
  gtk_widget_add_css_class (kind, problem->kind == DOTHI_TOPOLOGY_OVERLAP ? "error" : "warning");
  gtk_label_set_width_chars (GTK_LABEL (kind), 8);
  gtk_label_set_xalign (GTK_LABEL (kind), 0);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), kind);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("find-location-symbolic"));
  return row;
}

static void
show_results (DothiTopologyView *self,
              const char        *layer,
              double             min_area,
              CheckResult       *result)
{
  g_autofree char *min_text = format_min_area (min_area);
  g_autofree char *message = NULL;
  const DothiLayerInfo *info = NULL;
  guint n_overlaps = 0, n_gaps = 0;

  self->result_layer = g_strdup (layer);
  self->problems = g_steal_pointer (&result->problems);
  self->bboxes = g_steal_pointer (&result->bboxes);
  for (guint i = 0; self->layers != NULL && i < self->layers->len; i++)
    if (g_strcmp0 (((DothiLayerInfo *) g_ptr_array_index (self->layers, i))->name, layer) == 0)
      info = g_ptr_array_index (self->layers, i);

  for (guint i = 0; i < self->problems->len; i++)
    {
      const DothiTopologyProblem *problem = g_ptr_array_index (self->problems, i);
      char *text = describe_problem (problem);

      if (problem->kind == DOTHI_TOPOLOGY_OVERLAP)
        n_overlaps++;
      else
        n_gaps++;
      g_ptr_array_add (self->texts, text);
      gtk_list_box_append (self->list, new_problem_row (problem, text));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->list), self->problems->len > 0);

  if (self->problems->len == 0)
    {
      /* Translators: the result of a topology check that found nothing;
       * %s is the smallest area checked, "0.1" */
      message = g_strdup_printf (_("No overlaps or gaps larger than %s m²"), min_text);
    }
  else
    {
      g_autofree char *n_o = dothi_format_int64 (n_overlaps);
      g_autofree char *n_g = dothi_format_int64 (n_gaps);
      g_autofree char *overlaps = NULL;
      g_autofree char *gaps = NULL;

      /* Translators: part of the topology check's summary, "3 overlaps" */
      overlaps = g_strdup_printf (ngettext ("%s overlap", "%s overlaps", n_overlaps), n_o);
      /* Translators: part of the topology check's summary, "1 gap" */
      gaps = g_strdup_printf (ngettext ("%s gap", "%s gaps", n_gaps), n_g);
      /* Translators: the topology check's summary: "3 overlaps", "1 gap",
       * the smallest area checked and the layer, as in "3 overlaps and
       * 1 gap larger than 0.1 m² in “Thửa đất”" */
      message = g_strdup_printf (_("%s and %s larger than %s m² in “%s”"), overlaps, gaps,
                                 min_text, info ? layer_title (info) : layer);
    }
  set_message (self, message, FALSE);
}

static void
check_done_cb (GObject      *object,
               GAsyncResult *res,
               gpointer      user_data)
{
  DothiTopologyView *self = DOTHI_TOPOLOGY_VIEW (object);
  GTask *task = G_TASK (res);
  CheckJob *job = g_task_get_task_data (task);
  g_autoptr(CheckResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = g_task_propagate_pointer (task, &error);
  /* Superseded by a newer check, or the window is going. */
  if (self->cancellable == NULL || self->cancellable != g_task_get_cancellable (task))
    return;
  g_clear_object (&self->cancellable);

  self->last_ok = result != NULL;
  if (result != NULL)
    show_results (self, job->layer, job->min_area, result);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    /* Translators: shown when the topology check was cancelled */
    set_message (self, _("The check was cancelled"), FALSE);
  else
    set_message (self, error->message, TRUE);

  update_actions (self);
  g_signal_emit (self, signals[FINISHED], 0);
}

/* ---- actions -------------------------------------------------------------- */

static void
check_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  dothi_topology_view_run (DOTHI_TOPOLOGY_VIEW (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiTopologyView *self = DOTHI_TOPOLOGY_VIEW (widget);

  /* The result comes back as cancelled and is shown so. */
  g_cancellable_cancel (self->cancellable);
}

static void
zoom_to_problem (DothiTopologyView *self,
                 guint              index)
{
  const DothiTopologyProblem *problem = g_ptr_array_index (self->problems, index);
  const double *bbox = g_array_index (self->bboxes, Bbox, index);
  double cx, cy, w, h;
  gint64 fids[2];
  guint n_fids = 0;

  if (self->map_view == NULL || isnan (bbox[0]))
    return;

  /* The problem among the parcels around it. */
  cx = (bbox[0] + bbox[2]) / 2;
  cy = (bbox[1] + bbox[3]) / 2;
  w = MAX ((bbox[2] - bbox[0]) * ZOOM_FACTOR, MIN_ZOOM_SIZE);
  h = MAX ((bbox[3] - bbox[1]) * ZOOM_FACTOR, MIN_ZOOM_SIZE);
  {
    double padded[4] = { cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2 };

    dothi_map_view_zoom_to_bbox (self->map_view, padded);
  }

  if (problem->fid_a > 0)
    fids[n_fids++] = problem->fid_a;
  if (problem->fid_b > 0)
    fids[n_fids++] = problem->fid_b;
  dothi_map_view_set_selection (self->map_view, self->result_layer, fids, n_fids);
}

static void
row_activated_cb (GtkListBox        *list,
                  GtkListBoxRow     *row,
                  DothiTopologyView *self)
{
  dothi_topology_view_activate_problem (self, gtk_list_box_row_get_index (row));
}

static void
layer_selected_cb (AdwComboRow       *row,
                   GParamSpec        *pspec,
                   DothiTopologyView *self)
{
  update_actions (self);
}

/* ---- GObject -------------------------------------------------------------- */

static void
dothi_topology_view_dispose (GObject *object)
{
  DothiTopologyView *self = DOTHI_TOPOLOGY_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_weak_pointer (&self->map_view);
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_TOPOLOGY_VIEW);

  G_OBJECT_CLASS (dothi_topology_view_parent_class)->dispose (object);
}

static void
dothi_topology_view_finalize (GObject *object)
{
  DothiTopologyView *self = DOTHI_TOPOLOGY_VIEW (object);

  g_free (self->path);
  g_free (self->result_layer);
  g_free (self->message);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_pointer (&self->problems, g_ptr_array_unref);
  g_clear_pointer (&self->bboxes, g_array_unref);
  g_clear_pointer (&self->texts, g_ptr_array_unref);

  G_OBJECT_CLASS (dothi_topology_view_parent_class)->finalize (object);
}

static void
dothi_topology_view_class_init (DothiTopologyViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_topology_view_dispose;
  object_class->finalize = dothi_topology_view_finalize;

  signals[FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-topology-view.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, layer_row);
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, min_area_spin);
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, running_box);
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, message_label);
  gtk_widget_class_bind_template_child (widget_class, DothiTopologyView, list);

  gtk_widget_class_install_action (widget_class, "topology.check", NULL, check_action);
  gtk_widget_class_install_action (widget_class, "topology.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
dothi_topology_view_init (DothiTopologyView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->texts = g_ptr_array_new_with_free_func (g_free);
  gtk_spin_button_set_value (self->min_area_spin, DEFAULT_MIN_AREA);
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated_cb), self);
  g_signal_connect (self->layer_row, "notify::selected", G_CALLBACK (layer_selected_cb), self);
  update_actions (self);
}

/* ---- public API ----------------------------------------------------------- */

GtkWidget *
dothi_topology_view_new (GtkWindow    *parent,
                         DothiProject *project,
                         DothiMapView *map_view)
{
  DothiTopologyView *self;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  g_autofree char *name = NULL;
  guint chosen = GTK_INVALID_LIST_POSITION;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (map_view == NULL || DOTHI_IS_MAP_VIEW (map_view), NULL);

  self = g_object_new (DOTHI_TYPE_TOPOLOGY_VIEW, "transient-for", parent, NULL);
  self->path = g_strdup (dothi_project_get_path (project));
  self->project_srid = dothi_project_get_srid (project);
  g_set_weak_pointer (&self->map_view, map_view);

  name = g_filename_display_basename (self->path);
  adw_window_title_set_subtitle (self->window_title, name);

  /* The registry on the main thread: one small table, milliseconds. A
   * failure leaves the list empty and says why. */
  self->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_layer_info_free);
  {
    g_autoptr(GError) error = NULL;

    layers = dothi_project_list_layers (project, &error);
    if (layers == NULL)
      set_message (self, error->message, TRUE);
  }
  /* Topmost first, as the layer panel shows them. */
  for (guint i = layers ? layers->len : 0; i-- > 0;)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);

      if (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
        continue;
      if (chosen == GTK_INVALID_LIST_POSITION && dothi_layer_info_find_field (info, "so_thua") >= 0)
        chosen = self->layers->len;
      g_ptr_array_add (self->layers, dothi_layer_info_copy (info));
      gtk_string_list_append (titles, layer_title (info));
    }
  adw_combo_row_set_model (self->layer_row, G_LIST_MODEL (titles));
  if (self->layers->len > 0)
    adw_combo_row_set_selected (self->layer_row, chosen != GTK_INVALID_LIST_POSITION ? chosen : 0);
  else if (self->message == NULL)
    /* Translators: the topology check window of a project without polygon layers */
    set_message (self, _("This project has no polygon layer to check"), FALSE);

  update_actions (self);
  return GTK_WIDGET (self);
}

void
dothi_topology_view_set_layer (DothiTopologyView *self,
                               const char        *layer)
{
  g_return_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self));

  for (guint i = 0; i < self->layers->len; i++)
    if (g_strcmp0 (((DothiLayerInfo *) g_ptr_array_index (self->layers, i))->name, layer) == 0)
      adw_combo_row_set_selected (self->layer_row, i);
}

const char *
dothi_topology_view_get_layer (DothiTopologyView *self)
{
  const DothiLayerInfo *info;

  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), NULL);

  info = selected_info (self);
  return info ? info->name : NULL;
}

void
dothi_topology_view_set_min_area (DothiTopologyView *self,
                                  double             min_area)
{
  g_return_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self));

  gtk_spin_button_set_value (self->min_area_spin, min_area);
}

void
dothi_topology_view_run (DothiTopologyView *self)
{
  const DothiLayerInfo *info;
  g_autoptr(GTask) task = NULL;
  CheckJob *job;

  g_return_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self));

  info = selected_info (self);
  if (info == NULL)
    return;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_results (self);
  self->last_ok = FALSE;
  self->cancellable = g_cancellable_new ();

  job = g_new0 (CheckJob, 1);
  job->path = g_strdup (self->path);
  job->layer = g_strdup (info->name);
  job->layer_srid = info->srid;
  job->project_srid = self->project_srid;
  job->min_area = gtk_spin_button_get_value (self->min_area_spin);

  /* The task holds the view until the result is in. */
  task = g_task_new (self, self->cancellable, check_done_cb, NULL);
  g_task_set_source_tag (task, dothi_topology_view_run);
  g_task_set_task_data (task, job, (GDestroyNotify) check_job_free);
  g_task_run_in_thread (task, check_thread);
  update_actions (self);
}

static void
finished_cb (DothiTopologyView *self,
             gboolean          *done)
{
  *done = TRUE;
}

gboolean
dothi_topology_view_run_sync (DothiTopologyView *self)
{
  gboolean done = FALSE;
  gulong id;

  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), FALSE);

  id = g_signal_connect (self, "finished", G_CALLBACK (finished_cb), &done);
  dothi_topology_view_run (self);
  while (!done && self->cancellable != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (self, id);
  return done && self->last_ok;
}

gboolean
dothi_topology_view_get_running (DothiTopologyView *self)
{
  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), FALSE);

  return self->cancellable != NULL;
}

guint
dothi_topology_view_get_n_problems (DothiTopologyView *self)
{
  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), 0);

  return self->problems ? self->problems->len : 0;
}

gboolean
dothi_topology_view_get_problem (DothiTopologyView *self,
                                 guint              index,
                                 int               *kind,
                                 gint64            *fid_a,
                                 gint64            *fid_b,
                                 double            *area)
{
  const DothiTopologyProblem *problem;

  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), FALSE);

  if (self->problems == NULL || index >= self->problems->len)
    return FALSE;
  problem = g_ptr_array_index (self->problems, index);
  if (kind != NULL)
    *kind = problem->kind;
  if (fid_a != NULL)
    *fid_a = problem->fid_a;
  if (fid_b != NULL)
    *fid_b = problem->fid_b;
  if (area != NULL)
    *area = problem->area;
  return TRUE;
}

const char *
dothi_topology_view_get_problem_text (DothiTopologyView *self,
                                      guint              index)
{
  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), NULL);

  return index < self->texts->len ? g_ptr_array_index (self->texts, index) : NULL;
}

const char *
dothi_topology_view_get_message (DothiTopologyView *self)
{
  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), NULL);

  return self->message;
}

gboolean
dothi_topology_view_activate_problem (DothiTopologyView *self,
                                      guint              index)
{
  GtkListBoxRow *row;

  g_return_val_if_fail (DOTHI_IS_TOPOLOGY_VIEW (self), FALSE);

  if (self->problems == NULL || index >= self->problems->len)
    return FALSE;
  row = gtk_list_box_get_row_at_index (self->list, (int) index);
  if (row != NULL)
    gtk_list_box_select_row (self->list, row);
  zoom_to_problem (self, index);
  return TRUE;
}
