/* dothi-network-panel.c: the network window. Builds a network's topology
 * and runs its traces in workers that share the DothiNetwork by reference,
 * lists what an isolation cuts off, exports and prints it, and records
 * the valves closed as undoable edits. */
#define G_LOG_DOMAIN "dothi-network-panel"

#include "config.h"
#include "dothi-network-panel.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-fid-set.h"
#include "dothi-format.h"
#include "dothi-layer-info.h"
#include "dothi-network-report.h"

/* Metres: a click farther than this from every pipe picks nothing. */
#define PICK_DISTANCE 20.0
#define MAX_PICK_DISTANCE 200.0
/* Problems listed after a build; the count says how many there are. */
#define MAX_PROBLEM_ROWS 200
/* Customer ids named under each kind. */
#define MAX_CUSTOMER_IDS 5
/* An area shown is at least this wide (m), with this margin around it. */
#define MIN_ZOOM_SIZE 120.0
#define ZOOM_MARGIN 0.15
/* Metres drawn around each district's pipes when they are exported. */
#define DISTRICT_WIDTH 15.0

typedef enum {
  PICK_NONE,
  PICK_BREAK,
  PICK_NODE,
} PickMode;

/* In the order of the Trace combo row, after the isolation. */
typedef enum {
  TRACE_ISOLATION,
  TRACE_CONNECTED,
  TRACE_UPSTREAM,
  TRACE_DOWNSTREAM,
} TraceKind;

/* ---- shared state ------------------------------------------------------- */

/* A built network, shared by the panel and its workers: a worker holds a
 * reference while it reads the network, so a rebuild or closing the
 * window never frees it under the worker. */
typedef struct {
  DothiNetwork *network;
  char         *name;
} SharedNetwork;

static void
shared_network_clear (SharedNetwork *shared)
{
  g_clear_pointer (&shared->network, dothi_network_free);
  g_clear_pointer (&shared->name, g_free);
}

static SharedNetwork *
shared_network_ref (SharedNetwork *shared)
{
  return g_atomic_rc_box_acquire (shared);
}

static void
shared_network_unref (SharedNetwork *shared)
{
  g_atomic_rc_box_release_full (shared, (GDestroyNotify) shared_network_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SharedNetwork, shared_network_unref)

/* A trace and what it was run on; the worker fills @trace, the panel then
 * shows it, and export and print workers hold a reference. */
typedef struct {
  SharedNetwork *shared;
  TraceKind      kind;
  guint          edge;          /* the break (isolation), else G_MAXUINT */
  guint          node;          /* the start node of a simple trace, else G_MAXUINT */
  double         x, y;          /* the click, project CRS */
  GArray        *seized;        /* guint: valves marked seized by the user */
  DothiTrace    *trace;         /* NULL until the worker has run */
  char          *parcels_error; /* the parcels could not be read, or NULL */
} TraceResult;

static void
trace_result_clear (TraceResult *result)
{
  g_clear_pointer (&result->shared, shared_network_unref);
  g_clear_pointer (&result->seized, g_array_unref);
  g_clear_pointer (&result->trace, dothi_trace_free);
  g_clear_pointer (&result->parcels_error, g_free);
}

static TraceResult *
trace_result_new (SharedNetwork *shared,
                  TraceKind      kind)
{
  TraceResult *result = g_atomic_rc_box_new0 (TraceResult);

  result->shared = shared_network_ref (shared);
  result->kind = kind;
  result->edge = G_MAXUINT;
  result->node = G_MAXUINT;
  result->seized = g_array_new (FALSE, FALSE, sizeof (guint));
  return result;
}

static TraceResult *
trace_result_ref (TraceResult *result)
{
  return g_atomic_rc_box_acquire (result);
}

static void
trace_result_unref (TraceResult *result)
{
  g_atomic_rc_box_release_full (result, (GDestroyNotify) trace_result_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TraceResult, trace_result_unref)

/* ---- the window --------------------------------------------------------- */

struct _DothiNetworkPanel
{
  AdwWindow        parent_instance;

  DothiProject    *project;
  char            *path;
  GStrv            networks;        /* names, as the combo row lists them */

  SharedNetwork   *shared;          /* the built network, or NULL */
  GPtrArray       *problems;        /* DothiNetworkProblem* of the last build */
  TraceResult     *result;          /* the trace shown, or NULL */
  gboolean         highlighted;     /* a "highlight" is shown on the map */

  GCancellable    *cancellable;     /* the job running, or NULL */
  PickMode         pick_mode;
  gboolean         syncing_toggles;

  /* After valves were closed or reopened: isolate the same break again
   * once the network is rebuilt. */
  gboolean         rerun_pending;
  double           rerun_x, rerun_y;

  char            *work_order;      /* the last work order number typed */
  GArray          *closed_actions;  /* gint64: action ids of the last Close Valves */

  AdwToastOverlay *toasts;
  AdwWindowTitle  *window_title;
  GtkStack        *stack;
  GtkTextView     *definition_view;
  GtkLabel        *define_error_label;
  AdwComboRow     *network_row;
  AdwExpanderRow  *topology_row;
  GPtrArray       *problem_rows;    /* GtkWidget*: the rows in topology_row */
  GtkWidget       *running_box;
  GtkSpinner      *running_spinner;
  GtkLabel        *running_label;
  GtkLabel        *message_label;
  GtkToggleButton *pick_break_button;
  GtkWidget       *result_box;
  GtkLabel        *result_label;
  GtkWidget       *valves_group;
  GtkListBox      *valves_list;
  GtkWidget       *closed_group;
  GtkListBox      *closed_list;
  GtkWidget       *customers_group;
  GtkListBox      *customers_list;
  GtkWidget       *work_order_button;
  GtkWidget       *close_valves_button;
  AdwComboRow     *trace_row;
  GtkToggleButton *pick_node_button;
};

G_DEFINE_FINAL_TYPE (DothiNetworkPanel, dothi_network_panel, ADW_TYPE_WINDOW)

enum {
  PROP_0,
  PROP_PICKING,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  HIGHLIGHT,
  ZOOM_TO,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_build (DothiNetworkPanel *self);
static void start_trace (DothiNetworkPanel *self, TraceResult *input);

/* ---- numbers ------------------------------------------------------------ */

/* Survey convention: X is the northing, Y the easting. */
static char *
format_position (double x,
                 double y)
{
  g_autofree char *northing = dothi_format_double (y, 2);
  g_autofree char *easting = dothi_format_double (x, 2);

  /* Translators: a position in VN-2000, survey convention: X is the
   * northing, Y the easting, in metres */
  return g_strdup_printf (_("X: %s m  Y: %s m"), northing, easting);
}

static const char *
state_text (DothiValveState state)
{
  switch (state)
    {
    case DOTHI_VALVE_OPEN:
      /* Translators: the state of a valve */
      return C_("valve", "open");
    case DOTHI_VALVE_CLOSED:
      /* Translators: the state of a valve */
      return C_("valve", "closed");
    case DOTHI_VALVE_SEIZED:
    default:
      /* Translators: the state of a valve that cannot be turned */
      return C_("valve", "seized");
    }
}

/* A node's id, or its layer and fid when it has none. */
static char *
node_label (const DothiNetworkNode *node,
            guint                   index)
{
  if (node->id != NULL && node->id[0] != '\0')
    return g_strdup (node->id);
  if (node->layer != NULL)
    {
      g_autofree char *fid = g_strdup_printf ("%" G_GINT64_FORMAT, node->fid);

      /* Translators: a feature without an id: its layer and fid, "water_valves #12" */
      return g_strdup_printf (_("%s #%s"), node->layer, fid);
    }
  /* Translators: a junction of pipes that is no feature; %u is its number */
  return g_strdup_printf (_("junction %u"), index);
}

/* ---- state -------------------------------------------------------------- */

static gboolean
is_busy (DothiNetworkPanel *self)
{
  return self->cancellable != NULL;
}

static const char *
selected_network (DothiNetworkPanel *self)
{
  guint index = adw_combo_row_get_selected (self->network_row);

  if (self->networks == NULL || index == GTK_INVALID_LIST_POSITION
      || index >= g_strv_length (self->networks))
    return NULL;
  return self->networks[index];
}

static void
update_actions (DothiNetworkPanel *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean busy = is_busy (self);

  if (self->project == NULL)   /* disposed */
    return;
  gboolean built = self->shared != NULL;
  gboolean traced = self->result != NULL && self->result->trace != NULL;
  gboolean isolation = traced && self->result->kind == TRACE_ISOLATION;

  gtk_widget_action_set_enabled (widget, "network.build", !busy && selected_network (self) != NULL);
  gtk_widget_action_set_enabled (widget, "network.cancel", busy);
  gtk_widget_action_set_enabled (widget, "network.propose", !busy);
  gtk_widget_action_set_enabled (widget, "network.define", !busy);
  gtk_widget_action_set_enabled (widget, "network.export", !busy && traced);
  gtk_widget_action_set_enabled (widget, "network.export-districts", !busy && built);
  gtk_widget_action_set_enabled (widget, "network.save-topology",
                                 !busy && built && !dothi_project_get_read_only (self->project));
  gtk_widget_action_set_enabled (widget, "network.work-order", !busy && isolation);
  gtk_widget_action_set_enabled (widget, "network.close-valves",
                                 !busy && isolation
                                 && self->result->trace->valves_to_close->len > 0
                                 && !dothi_project_get_read_only (self->project));
  gtk_widget_action_set_enabled (widget, "network.undo-close",
                                 !busy && self->closed_actions->len > 0
                                 && !dothi_project_get_read_only (self->project));
  gtk_widget_set_sensitive (GTK_WIDGET (self->network_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pick_break_button), built && !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pick_node_button), built && !busy);
  gtk_widget_set_sensitive (self->result_box, !busy);
  gtk_widget_set_visible (self->running_box, busy);
  gtk_spinner_set_spinning (self->running_spinner, busy);
}

static void
set_message (DothiNetworkPanel *self,
             const char        *message,
             gboolean           error)
{
  gtk_label_set_text (self->message_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), message != NULL);
  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self->message_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->message_label), "error");
}

static void
toast (DothiNetworkPanel *self,
       const char        *text)
{
  /* libadwaita 1.2 toasts take markup. */
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (escaped));
}

static void
set_picking (DothiNetworkPanel *self,
             PickMode           mode)
{
  gboolean was_picking = self->pick_mode != PICK_NONE;

  self->pick_mode = mode;
  self->syncing_toggles = TRUE;
  gtk_toggle_button_set_active (self->pick_break_button, mode == PICK_BREAK);
  gtk_toggle_button_set_active (self->pick_node_button, mode == PICK_NODE);
  self->syncing_toggles = FALSE;
  if (mode == PICK_BREAK)
    /* Translators: shown while the user picks a broken pipe on the map */
    set_message (self, _("Click the broken pipe on the map"), FALSE);
  else if (mode == PICK_NODE)
    /* Translators: shown while the user picks the start of a trace on the map */
    set_message (self, _("Click near the end of a pipe on the map to start the trace there"), FALSE);
  if (was_picking != (mode != PICK_NONE))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PICKING]);
}

/* Every job goes through here, so "busy" is notified once each way. */
static GCancellable *
begin_job (DothiNetworkPanel *self,
           const char        *label)
{
  g_assert (self->cancellable == NULL);

  self->cancellable = g_cancellable_new ();
  gtk_label_set_text (self->running_label, label);
  set_picking (self, PICK_NONE);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  return self->cancellable;
}

/* TRUE when @task is the job running now (not one superseded or left by
 * a closed window); it is then over. */
static gboolean
end_job (DothiNetworkPanel *self,
         GTask             *task)
{
  if (self->cancellable == NULL || self->cancellable != g_task_get_cancellable (task))
    return FALSE;
  g_clear_object (&self->cancellable);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  return TRUE;
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static void
emit_highlight (DothiNetworkPanel *self,
                const char        *layer,
                DothiFidSet       *fids)
{
  self->highlighted = layer != NULL;
  g_signal_emit (self, signals[HIGHLIGHT], 0, layer, fids);
}

static void
clear_result (DothiNetworkPanel *self,
              gboolean           clear_highlight)
{
  g_clear_pointer (&self->result, trace_result_unref);
  clear_list (self->valves_list);
  clear_list (self->closed_list);
  clear_list (self->customers_list);
  gtk_widget_set_visible (self->result_box, FALSE);
  if (clear_highlight && self->highlighted)
    emit_highlight (self, NULL, NULL);
}

static void
clear_network (DothiNetworkPanel *self)
{
  clear_result (self, TRUE);
  g_clear_pointer (&self->shared, shared_network_unref);
  g_clear_pointer (&self->problems, g_ptr_array_unref);
  for (guint i = 0; i < self->problem_rows->len; i++)
    adw_expander_row_remove (self->topology_row, g_ptr_array_index (self->problem_rows, i));
  g_ptr_array_set_size (self->problem_rows, 0);
  adw_expander_row_set_expanded (self->topology_row, FALSE);
  adw_expander_row_set_enable_expansion (self->topology_row, FALSE);
  adw_expander_row_set_subtitle (self->topology_row, _("Not built yet: press Build"));
  self->rerun_pending = FALSE;
}

static void
zoom_to (DothiNetworkPanel *self,
         double             minx,
         double             miny,
         double             maxx,
         double             maxy)
{
  double cx = (minx + maxx) / 2, cy = (miny + maxy) / 2;
  double w = MAX ((maxx - minx) * (1 + 2 * ZOOM_MARGIN), MIN_ZOOM_SIZE);
  double h = MAX ((maxy - miny) * (1 + 2 * ZOOM_MARGIN), MIN_ZOOM_SIZE);

  if (!isfinite (cx) || !isfinite (cy))
    return;
  g_signal_emit (self, signals[ZOOM_TO], 0, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
}

/* ---- the network list ----------------------------------------------------- */

static void
refresh_networks (DothiNetworkPanel *self,
                  const char        *select)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint chosen = 0;

  g_clear_pointer (&self->networks, g_strfreev);
  self->networks = dothi_network_list (self->project, &error);
  if (self->networks == NULL)
    {
      set_message (self, error->message, TRUE);
      self->networks = g_new0 (char *, 1);
    }
  for (guint i = 0; self->networks[i] != NULL; i++)
    {
      gtk_string_list_append (names, self->networks[i]);
      if (g_strcmp0 (self->networks[i], select) == 0)
        chosen = i;
    }
  adw_combo_row_set_model (self->network_row, G_LIST_MODEL (names));
  if (self->networks[0] != NULL)
    {
      adw_combo_row_set_selected (self->network_row, chosen);
      gtk_stack_set_visible_child_name (self->stack, "network");
    }
  else if (error == NULL)
    gtk_stack_set_visible_child_name (self->stack, "none");
  else
    gtk_stack_set_visible_child_name (self->stack, "network");
}

/* ---- build ---------------------------------------------------------------- */

typedef struct {
  char *path;
  char *name;
} BuildJob;

static void
build_job_free (BuildJob *job)
{
  g_free (job->path);
  g_free (job->name);
  g_free (job);
}

typedef struct {
  SharedNetwork *shared;
  GPtrArray     *problems;     /* NULL when the check failed */
  char          *check_error;
} BuildResult;

static void
build_result_free (BuildResult *result)
{
  g_clear_pointer (&result->shared, shared_network_unref);
  g_clear_pointer (&result->problems, g_ptr_array_unref);
  g_free (result->check_error);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BuildResult, build_result_free)

static void
build_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  BuildJob *job = task_data;
  g_autoptr(BuildResult) result = g_new0 (BuildResult, 1);
  g_autoptr(GError) error = NULL;
  DothiNetwork *network;

  network = dothi_network_build (job->path, job->name, cancellable, &error);
  if (network == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  result->shared = g_atomic_rc_box_new0 (SharedNetwork);
  result->shared->network = network;
  result->shared->name = g_strdup (job->name);
  if (g_task_return_error_if_cancelled (task))
    return;
  result->problems = dothi_network_check (network, &error);
  if (result->problems == NULL)
    result->check_error = g_strdup (error->message);
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) build_result_free);
}

static const char *
problem_kind_text (DothiNetworkProblemKind kind)
{
  switch (kind)
    {
    case DOTHI_NETWORK_PROBLEM_DISCONNECTED:
      /* Translators: a kind of network problem: a part not connected to the rest */
      return C_("network problem", "Disconnected");
    case DOTHI_NETWORK_PROBLEM_DANGLING:
      /* Translators: a kind of network problem: a pipe end that joins nothing */
      return C_("network problem", "Dangling end");
    case DOTHI_NETWORK_PROBLEM_NEAR_MISS:
      /* Translators: a kind of network problem: two pipe ends almost touching */
      return C_("network problem", "Near miss");
    case DOTHI_NETWORK_PROBLEM_CROSSING:
      /* Translators: a kind of network problem: pipes crossing without a node */
      return C_("network problem", "Crossing");
    case DOTHI_NETWORK_PROBLEM_OFF_LINE:
    default:
      /* Translators: a kind of network problem: a valve or node away from every pipe */
      return C_("network problem", "Off the pipes");
    }
}

static void
problem_activated_cb (AdwActionRow      *row,
                      DothiNetworkPanel *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "dothi-index"));
  const DothiNetworkProblem *problem;

  if (self->problems == NULL || index >= self->problems->len)
    return;
  problem = g_ptr_array_index (self->problems, index);
  zoom_to (self, problem->x, problem->y, problem->x, problem->y);
}

static void
show_build (DothiNetworkPanel *self,
            BuildResult       *result)
{
  DothiNetwork *network;
  g_autofree char *nodes = NULL;
  g_autofree char *edges = NULL;
  g_autofree char *counts = NULL;
  g_autofree char *subtitle = NULL;
  guint n_problems;

  clear_network (self);
  self->shared = g_steal_pointer (&result->shared);
  network = self->shared->network;
  nodes = dothi_format_int64 (dothi_network_get_n_nodes (network));
  edges = dothi_format_int64 (dothi_network_get_n_edges (network));
  /* Translators: the size of a built network: node count, edge count,
   * formatted with thousands separators */
  counts = g_strdup_printf (_("%s nodes, %s edges"), nodes, edges);

  if (result->problems == NULL)
    {
      adw_expander_row_set_subtitle (self->topology_row, counts);
      set_message (self, result->check_error, TRUE);
      return;
    }
  self->problems = g_steal_pointer (&result->problems);
  n_problems = self->problems->len;
  if (n_problems == 0)
    /* Translators: the topology row after a build that found no problem;
     * %s is "1,234 nodes, 1,300 edges" */
    subtitle = g_strdup_printf (_("%s; no problems"), counts);
  else
    {
      g_autofree char *n = dothi_format_int64 (n_problems);

      /* Translators: the topology row after a build: "1,234 nodes, 1,300
       * edges", then the number of problems found */
      subtitle = g_strdup_printf (ngettext ("%s; %s problem", "%s; %s problems", n_problems),
                                  counts, n);
    }
  adw_expander_row_set_subtitle (self->topology_row, subtitle);

  for (guint i = 0; i < n_problems && i < MAX_PROBLEM_ROWS; i++)
    {
      const DothiNetworkProblem *problem = g_ptr_array_index (self->problems, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *kind = gtk_label_new (problem_kind_text (problem->kind));

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     problem->message ? problem->message : "");
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      gtk_widget_add_css_class (kind, "caption-heading");
      gtk_widget_add_css_class (kind, "warning");
      gtk_label_set_width_chars (GTK_LABEL (kind), 10);
      gtk_label_set_wrap (GTK_LABEL (kind), TRUE);
      gtk_label_set_xalign (GTK_LABEL (kind), 0);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), kind);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 gtk_image_new_from_icon_name ("find-location-symbolic"));
      g_object_set_data (G_OBJECT (row), "dothi-index", GUINT_TO_POINTER (i));
      g_signal_connect (row, "activated", G_CALLBACK (problem_activated_cb), self);
      adw_expander_row_add_row (self->topology_row, row);
      g_ptr_array_add (self->problem_rows, row);
    }
  if (n_problems > MAX_PROBLEM_ROWS)
    {
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *more = dothi_format_int64 (n_problems - MAX_PROBLEM_ROWS);
      g_autofree char *text = NULL;

      /* Translators: the last row of a cut list of network problems; %s
       * is how many more there are */
      text = g_strdup_printf (ngettext ("And %s more problem: see “dothi-cli network check”",
                                        "And %s more problems: see “dothi-cli network check”",
                                        n_problems - MAX_PROBLEM_ROWS), more);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_widget_add_css_class (row, "dim-label");
      adw_expander_row_add_row (self->topology_row, row);
      g_ptr_array_add (self->problem_rows, row);
    }
  /* Enabling the expansion expands the row: the problems stay folded
   * under their count, the break is what matters at 2 a.m. */
  adw_expander_row_set_enable_expansion (self->topology_row, n_problems > 0);
  adw_expander_row_set_expanded (self->topology_row, FALSE);
}

static void
build_done_cb (GObject      *object,
               GAsyncResult *res,
               gpointer      user_data)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);
  GTask *task = G_TASK (res);
  g_autoptr(BuildResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = g_task_propagate_pointer (task, &error);
  if (!end_job (self, task))
    return;

  if (result == NULL)
    {
      self->rerun_pending = FALSE;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        /* Translators: shown when the user cancelled the network build */
        set_message (self, _("The build was cancelled"), FALSE);
      else
        set_message (self, error->message, TRUE);
      return;
    }

  set_message (self, NULL, FALSE);
  {
    gboolean rerun = self->rerun_pending;
    double x = self->rerun_x, y = self->rerun_y;

    show_build (self, result);
    update_actions (self);
    if (rerun)
      {
        guint edge = dothi_network_nearest_edge (self->shared->network, x, y, PICK_DISTANCE, NULL);

        if (edge != G_MAXUINT)
          {
            g_autoptr(TraceResult) input = trace_result_new (self->shared, TRACE_ISOLATION);

            input->edge = edge;
            input->x = x;
            input->y = y;
            start_trace (self, input);
          }
      }
  }
}

static void
start_build (DothiNetworkPanel *self)
{
  const char *name = selected_network (self);
  g_autoptr(GTask) task = NULL;
  BuildJob *job;
  GCancellable *cancellable;

  if (name == NULL || is_busy (self))
    return;
  set_message (self, NULL, FALSE);
  /* Translators: shown while the network's topology is built */
  cancellable = begin_job (self, _("Building the network…"));
  job = g_new0 (BuildJob, 1);
  job->path = g_strdup (self->path);
  job->name = g_strdup (name);
  /* The task holds the panel until the result is in. */
  task = g_task_new (self, cancellable, build_done_cb, NULL);
  g_task_set_source_tag (task, start_build);
  g_task_set_task_data (task, job, (GDestroyNotify) build_job_free);
  g_task_run_in_thread (task, build_thread);
}

/* ---- traces --------------------------------------------------------------- */

static void
trace_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  TraceResult *input = task_data;
  DothiNetwork *network = input->shared->network;
  g_autoptr(GError) error = NULL;
  DothiTrace *trace = NULL;

  switch (input->kind)
    {
    case TRACE_ISOLATION:
      trace = dothi_network_isolate (network, input->edge,
                                     (const guint *) input->seized->data, input->seized->len,
                                     &error);
      break;
    case TRACE_CONNECTED:
      trace = dothi_network_trace_connected (network, input->node, &error);
      break;
    case TRACE_UPSTREAM:
      trace = dothi_network_trace_upstream (network, input->node, &error);
      break;
    case TRACE_DOWNSTREAM:
    default:
      trace = dothi_network_trace_downstream (network, input->node, &error);
      break;
    }
  if (trace == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  input->trace = trace;
  if (input->kind == TRACE_ISOLATION
      && !dothi_network_trace_parcels (network, trace, cancellable, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      /* The valves and customers still stand; the parcels are said missing. */
      input->parcels_error = g_strdup (error->message);
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_boolean (task, TRUE);
}

/* The edge layer holding most of @edges, and their fids there (a network
 * of one edge layer, the usual case, gives all of them). */
static DothiFidSet *
edges_fid_set (DothiNetwork  *network,
               GArray        *edges,
               const char   **layer)
{
  g_autoptr(GHashTable) by_layer = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                          (GDestroyNotify) g_array_unref);
  GHashTableIter iter;
  gpointer key, value;
  GArray *best = NULL;

  *layer = NULL;
  for (guint i = 0; i < edges->len; i++)
    {
      DothiNetworkEdge edge;
      GArray *fids;

      if (!dothi_network_get_edge (network, g_array_index (edges, guint, i), &edge)
          || edge.layer == NULL)
        continue;
      fids = g_hash_table_lookup (by_layer, edge.layer);
      if (fids == NULL)
        {
          fids = g_array_new (FALSE, FALSE, sizeof (gint64));
          g_hash_table_insert (by_layer, (gpointer) edge.layer, fids);
        }
      g_array_append_val (fids, edge.fid);
    }
  g_hash_table_iter_init (&iter, by_layer);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (best == NULL || ((GArray *) value)->len > best->len
        || (((GArray *) value)->len == best->len && strcmp (key, *layer) < 0))
      {
        best = value;
        *layer = key;
      }
  if (best == NULL)
    return NULL;
  g_hash_table_steal (by_layer, *layer);
  return dothi_fid_set_new_take (best);
}

/* The extent of @edges' end nodes and of @nodes, project CRS; FALSE if
 * there is none. */
static gboolean
trace_extent (DothiNetwork *network,
              GArray       *edges,
              GArray       *nodes,
              double        bbox[4])
{
  gboolean any = FALSE;

  bbox[0] = bbox[1] = INFINITY;
  bbox[2] = bbox[3] = -INFINITY;
  for (guint pass = 0; pass < 2; pass++)
    {
      GArray *list = pass == 0 ? edges : nodes;

      for (guint i = 0; list != NULL && i < list->len; i++)
        {
          guint ends[2];
          guint n_ends = 0;

          if (pass == 0)
            {
              DothiNetworkEdge edge;

              if (!dothi_network_get_edge (network, g_array_index (list, guint, i), &edge))
                continue;
              ends[n_ends++] = edge.node_a;
              ends[n_ends++] = edge.node_b;
            }
          else
            ends[n_ends++] = g_array_index (list, guint, i);
          for (guint e = 0; e < n_ends; e++)
            {
              DothiNetworkNode node;

              if (!dothi_network_get_node (network, ends[e], &node))
                continue;
              bbox[0] = MIN (bbox[0], node.x);
              bbox[1] = MIN (bbox[1], node.y);
              bbox[2] = MAX (bbox[2], node.x);
              bbox[3] = MAX (bbox[3], node.y);
              any = TRUE;
            }
        }
    }
  return any;
}

/* Distinct features of @edges and their length, m. */
static guint
count_pipes (DothiNetwork *network,
             GArray       *edges,
             double       *length)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  *length = 0;
  for (guint i = 0; i < edges->len; i++)
    {
      DothiNetworkEdge edge;

      if (!dothi_network_get_edge (network, g_array_index (edges, guint, i), &edge))
        continue;
      *length += edge.length;
      g_hash_table_add (seen, g_strdup_printf ("%s\n%" G_GINT64_FORMAT,
                                               edge.layer ? edge.layer : "", edge.fid));
    }
  return g_hash_table_size (seen);
}

typedef struct {
  guint  node;
  double x, y;
} RowNode;

static void
valve_activated_cb (GtkListBox        *list,
                    GtkListBoxRow     *row,
                    DothiNetworkPanel *self)
{
  RowNode *data = g_object_get_data (G_OBJECT (row), "dothi-node");

  if (data != NULL)
    zoom_to (self, data->x, data->y, data->x, data->y);
}

static gboolean
array_has (GArray *array,
           guint   value)
{
  for (guint i = 0; array != NULL && i < array->len; i++)
    if (g_array_index (array, guint, i) == value)
      return TRUE;
  return FALSE;
}

static void
seized_toggled_cb (GtkToggleButton   *button,
                   DothiNetworkPanel *self)
{
  RowNode *data = g_object_get_data (G_OBJECT (button), "dothi-node");
  g_autoptr(TraceResult) input = NULL;
  gboolean seized = gtk_toggle_button_get_active (button);

  if (self->syncing_toggles || data == NULL || self->result == NULL
      || self->result->kind != TRACE_ISOLATION || is_busy (self))
    return;

  input = trace_result_new (self->result->shared, TRACE_ISOLATION);
  input->edge = self->result->edge;
  input->x = self->result->x;
  input->y = self->result->y;
  for (guint i = 0; i < self->result->seized->len; i++)
    {
      guint node = g_array_index (self->result->seized, guint, i);

      if (node != data->node)
        g_array_append_val (input->seized, node);
    }
  if (seized)
    g_array_append_val (input->seized, data->node);
  start_trace (self, input);
}

static GtkWidget *
new_valve_row (DothiNetworkPanel *self,
               DothiNetwork      *network,
               guint              index,
               guint              number,
               gboolean           toggle,
               gboolean           seized_by_user)
{
  DothiNetworkNode node;
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *label = NULL;
  g_autofree char *position = NULL;
  g_autofree char *subtitle = NULL;
  RowNode *data;

  if (!dothi_network_get_node (network, index, &node))
    return row;
  label = node_label (&node, index);
  position = format_position (node.x, node.y);
  /* Translators: under a valve's id: its position ("X: … m  Y: … m") and state */
  subtitle = g_strdup_printf (_("%s · %s"), position, state_text (node.state));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), label);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  gtk_widget_set_tooltip_text (row, _("Show this valve on the map"));

  data = g_new (RowNode, 1);
  data->node = index;
  data->x = node.x;
  data->y = node.y;
  g_object_set_data_full (G_OBJECT (row), "dothi-node", data, g_free);

  if (number > 0)
    {
      g_autofree char *text = g_strdup_printf ("%u", number);
      GtkWidget *prefix = gtk_label_new (text);

      gtk_widget_add_css_class (prefix, "numeric");
      gtk_widget_add_css_class (prefix, "heading");
      gtk_label_set_width_chars (GTK_LABEL (prefix), 2);
      gtk_label_set_xalign (GTK_LABEL (prefix), 1);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), prefix);
    }
  if (toggle)
    {
      /* Translators: toggle beside a valve to close: the valve cannot be turned */
      GtkWidget *button = gtk_toggle_button_new_with_label (C_("valve", "Seized"));
      RowNode *copy = g_memdup2 (data, sizeof *data);

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (button, _("This valve cannot be turned: close the next ring of valves instead"));
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button),
                                    seized_by_user || node.state == DOTHI_VALVE_SEIZED);
      /* A valve seized in the project stays seized here. */
      gtk_widget_set_sensitive (button, node.state != DOTHI_VALVE_SEIZED);
      g_object_set_data_full (G_OBJECT (button), "dothi-node", copy, g_free);
      g_signal_connect (button, "toggled", G_CALLBACK (seized_toggled_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  return row;
}

static GtkWidget *
new_count_row (const char *title,
               const char *subtitle,
               guint       count,
               gboolean    critical)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *text = dothi_format_int64 (count);
  GtkWidget *label = gtk_label_new (text);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
        }
  gtk_widget_add_css_class (label, "numeric");
  gtk_widget_add_css_class (label, critical ? "error" : "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  return row;
}

/* Kinds the crew must call first (the core sorts them first, without
 * saying which they are): shown in red. */
static gboolean
is_critical_kind (const char *kind)
{
  static const char * const words[] = { "benh vien", "hospital", "y te", "clinic", "truong",
                                        "school", "mam non", "kindergarten", NULL };
  g_autofree char *ascii = g_str_to_ascii (kind, "C");
  g_autofree char *lower = g_ascii_strdown (ascii, -1);

  g_strdelimit (lower, "_-", ' ');
  for (guint i = 0; words[i] != NULL; i++)
    if (strstr (lower, words[i]) != NULL)
      return TRUE;
  return FALSE;
}

typedef struct {
  char      *kind;     /* NULL: no kind */
  guint      count;
  GPtrArray *ids;      /* char*, the first few */
  guint      first;    /* position of the first customer of this kind */
} KindCount;

static void
kind_count_free (KindCount *count)
{
  g_free (count->kind);
  g_ptr_array_unref (count->ids);
  g_free (count);
}

/* Customers counted by kind, in the order of the trace (critical first). */
static void
fill_customers (DothiNetworkPanel *self,
                DothiNetwork      *network,
                DothiTrace        *trace,
                const char        *parcels_error)
{
  g_autoptr(GPtrArray) counts = g_ptr_array_new_with_free_func ((GDestroyNotify) kind_count_free);
  g_autoptr(GHashTable) by_kind = g_hash_table_new (g_str_hash, g_str_equal);
  KindCount *none = NULL;

  for (guint i = 0; i < trace->customers->len; i++)
    {
      DothiNetworkNode node;
      KindCount *count;

      if (!dothi_network_get_node (network, g_array_index (trace->customers, guint, i), &node))
        continue;
      count = node.kind != NULL && node.kind[0] != '\0'
              ? g_hash_table_lookup (by_kind, node.kind) : none;
      if (count == NULL)
        {
          count = g_new0 (KindCount, 1);
          count->kind = node.kind != NULL && node.kind[0] != '\0' ? g_strdup (node.kind) : NULL;
          count->ids = g_ptr_array_new_with_free_func (g_free);
          count->first = i;
          g_ptr_array_add (counts, count);
          if (count->kind != NULL)
            g_hash_table_insert (by_kind, count->kind, count);
          else
            none = count;
        }
      count->count++;
      if (count->ids->len < MAX_CUSTOMER_IDS)
        g_ptr_array_add (count->ids, node_label (&node, g_array_index (trace->customers, guint, i)));
    }

  if (counts->len == 0)
    /* Translators: the count row when no customer loses water */
    gtk_list_box_append (self->customers_list, new_count_row (_("Customers"), NULL, 0, FALSE));
  for (guint i = 0; i < counts->len; i++)
    {
      KindCount *count = g_ptr_array_index (counts, i);
      g_autoptr(GString) ids = g_string_new (NULL);
      g_autofree char *subtitle = NULL;

      for (guint j = 0; j < count->ids->len; j++)
        {
          if (j > 0)
            /* Translators: between customer ids in a list */
            g_string_append (ids, _(", "));
          g_string_append (ids, g_ptr_array_index (count->ids, j));
        }
      if (count->count > count->ids->len)
        {
          g_autofree char *more = dothi_format_int64 (count->count - count->ids->len);

          /* Translators: the first customer ids of a kind, then how many
           * more there are: "KH-001, KH-002 and 12 more" */
          subtitle = g_strdup_printf (ngettext ("%s and %s more", "%s and %s more",
                                                count->count - count->ids->len),
                                      ids->str, more);
        }
      else
        subtitle = g_strdup (ids->str);
      gtk_list_box_append (self->customers_list,
                           new_count_row (count->kind ? count->kind
                                          /* Translators: customers whose kind is not recorded */
                                          : _("Customers of no kind"),
                                          subtitle, count->count,
                                          count->kind != NULL && is_critical_kind (count->kind)));
    }

  {
    GtkWidget *row;

    /* Translators: the count of land parcels that lose water */
    row = new_count_row (_("Parcels"), parcels_error, trace->parcels ? trace->parcels->len : 0, FALSE);
    gtk_list_box_append (self->customers_list, row);
  }
}

static void
show_trace (DothiNetworkPanel *self,
            TraceResult       *result)
{
  DothiNetwork *network = result->shared->network;
  DothiTrace *trace = result->trace;
  GArray *shown_edges = result->kind == TRACE_ISOLATION ? trace->lost_edges : trace->edges;
  g_autoptr(DothiFidSet) fids = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *length_text = NULL;
  g_autofree char *pipes_text = NULL;
  const char *layer = NULL;
  double length = 0, bbox[4];
  guint n_pipes;

  /* The new highlight replaces the old one on the map. */
  clear_result (self, FALSE);
  self->result = trace_result_ref (result);

  n_pipes = count_pipes (network, shown_edges, &length);
  length_text = dothi_format_double (length, 0);
  pipes_text = dothi_format_int64 (n_pipes);

  if (result->kind == TRACE_ISOLATION)
    {
      DothiNetworkEdge edge;
      g_autofree char *position = format_position (result->x, result->y);
      g_autofree char *n_valves = dothi_format_int64 (trace->valves_to_close->len);
      g_autofree char *n_customers = dothi_format_int64 (trace->customers->len);
      guint number = 0;

      if (dothi_network_get_edge (network, result->edge, &edge))
        {
          g_autofree char *fid = g_strdup_printf ("%" G_GINT64_FORMAT, edge.fid);

          /* Translators: the first line of an isolation result: the
           * broken pipe (its fid and layer) and where it was picked */
          g_string_append_printf (text, _("Break on pipe %s of “%s” at %s"),
                                  fid, edge.layer ? edge.layer : "", position);
          g_string_append_c (text, '\n');
        }
      /* Translators: a line of an isolation result */
      g_string_append_printf (text, ngettext ("%s valve to close", "%s valves to close",
                                              trace->valves_to_close->len), n_valves);
      g_string_append_c (text, '\n');
      /* Translators: a line of an isolation result: pipes (features)
       * without water and their length in metres */
      g_string_append_printf (text, ngettext ("%s pipe loses water (%s m)",
                                              "%s pipes lose water (%s m)", n_pipes),
                              pipes_text, length_text);
      g_string_append_c (text, '\n');
      /* Translators: a line of an isolation result */
      g_string_append_printf (text, ngettext ("%s customer loses water",
                                              "%s customers lose water",
                                              trace->customers->len), n_customers);

      for (guint i = 0; i < trace->valves_to_close->len; i++)
        {
          guint node = g_array_index (trace->valves_to_close, guint, i);

          gtk_list_box_append (self->valves_list,
                               new_valve_row (self, network, node, ++number, TRUE, FALSE));
        }
      for (guint i = 0; i < trace->valves_seized->len; i++)
        {
          guint node = g_array_index (trace->valves_seized, guint, i);

          gtk_list_box_append (self->valves_list,
                               new_valve_row (self, network, node, 0, TRUE,
                                              array_has (result->seized, node)));
        }
      /* A seized valve the isolation did not reach stays listed, to be
       * unmarked. */
      for (guint i = 0; i < result->seized->len; i++)
        {
          guint node = g_array_index (result->seized, guint, i);

          if (!array_has (trace->valves_seized, node))
            gtk_list_box_append (self->valves_list,
                                 new_valve_row (self, network, node, 0, TRUE, TRUE));
        }
      if (trace->valves_to_close->len == 0 && trace->valves_seized->len == 0
          && result->seized->len == 0)
        {
          GtkWidget *row = adw_action_row_new ();

          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                         /* Translators: an isolation that needs no valve turned */
                                         _("No valve to close: the break is already cut off"));
          gtk_list_box_append (self->valves_list, row);
        }
      for (guint i = 0; i < trace->valves_closed->len; i++)
        gtk_list_box_append (self->closed_list,
                             new_valve_row (self, network,
                                            g_array_index (trace->valves_closed, guint, i),
                                            0, FALSE, FALSE));
      fill_customers (self, network, trace, result->parcels_error);
    }
  else
    {
      const char *format;

      switch (result->kind)
        {
        case TRACE_CONNECTED:
          /* Translators: the result of a connected trace: pipes (features)
           * reached and their length in metres */
          format = ngettext ("Connected: %s pipe, %s m", "Connected: %s pipes, %s m", n_pipes);
          break;
        case TRACE_UPSTREAM:
          /* Translators: the result of an upstream trace: pipes (features)
           * between the node and its sources, their length in metres */
          format = ngettext ("Upstream: %s pipe, %s m", "Upstream: %s pipes, %s m", n_pipes);
          break;
        case TRACE_DOWNSTREAM:
        default:
          /* Translators: the result of a downstream trace: pipes (features)
           * fed through the node, their length in metres */
          format = ngettext ("Downstream: %s pipe, %s m", "Downstream: %s pipes, %s m", n_pipes);
          break;
        }
      g_string_append_printf (text, format, pipes_text, length_text);
      {
        DothiNetworkNode node;

        if (dothi_network_get_node (network, result->node, &node))
          {
            g_autofree char *position = format_position (node.x, node.y);

            g_string_append_c (text, '\n');
            /* Translators: the start of a trace: its position "X: … m  Y: … m" */
            g_string_append_printf (text, _("From the node at %s"), position);
          }
      }
    }
  gtk_label_set_text (self->result_label, text->str);
  gtk_widget_set_visible (self->valves_group, result->kind == TRACE_ISOLATION);
  gtk_widget_set_visible (self->closed_group,
                          result->kind == TRACE_ISOLATION && trace->valves_closed->len > 0);
  gtk_widget_set_visible (self->customers_group, result->kind == TRACE_ISOLATION);
  /* A simple trace exports, but has no valves to close or work order. */
  gtk_widget_set_visible (self->work_order_button, result->kind == TRACE_ISOLATION);
  gtk_widget_set_visible (self->close_valves_button, result->kind == TRACE_ISOLATION);
  gtk_widget_set_visible (self->result_box, TRUE);

  fids = edges_fid_set (network, shown_edges, &layer);
  if (fids != NULL)
    emit_highlight (self, layer, fids);
  else if (self->highlighted)
    emit_highlight (self, NULL, NULL);
  if (trace_extent (network, shown_edges,
                    result->kind == TRACE_ISOLATION ? trace->valves_to_close : NULL, bbox))
    zoom_to (self, bbox[0], bbox[1], bbox[2], bbox[3]);
}

static void
trace_done_cb (GObject      *object,
               GAsyncResult *res,
               gpointer      user_data)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);
  GTask *task = G_TASK (res);
  TraceResult *result = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = g_task_propagate_boolean (task, &error);
  if (!end_job (self, task))
    return;

  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        /* Translators: shown when the user cancelled a trace */
        set_message (self, _("The trace was cancelled"), FALSE);
      else
        set_message (self, error->message, TRUE);
      return;
    }
  set_message (self, NULL, FALSE);
  show_trace (self, result);
  update_actions (self);
}

static void
start_trace (DothiNetworkPanel *self,
             TraceResult       *input)
{
  g_autoptr(GTask) task = NULL;
  GCancellable *cancellable;

  if (is_busy (self))
    return;
  set_message (self, NULL, FALSE);
  cancellable = begin_job (self, input->kind == TRACE_ISOLATION
                                 /* Translators: shown while the isolation trace runs */
                                 ? _("Finding the valves to close…")
                                 /* Translators: shown while a trace runs */
                                 : _("Tracing…"));
  task = g_task_new (self, cancellable, trace_done_cb, NULL);
  g_task_set_source_tag (task, start_trace);
  g_task_set_task_data (task, trace_result_ref (input), (GDestroyNotify) trace_result_unref);
  g_task_run_in_thread (task, trace_thread);
}

/* ---- export and print ------------------------------------------------------ */

typedef struct {
  char        *project_path;
  TraceResult *result;
  char        *out_path;
  char        *work_order;    /* NULL: an export */
} OutputJob;

static void
output_job_free (OutputJob *job)
{
  g_free (job->project_path);
  trace_result_unref (job->result);
  g_free (job->out_path);
  g_free (job->work_order);
  g_free (job);
}

static void
output_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  OutputJob *job = task_data;
  GError *error = NULL;
  gboolean ok;

  if (job->work_order != NULL)
    ok = dothi_network_print_work_order (job->project_path, job->result->shared->network,
                                         job->result->trace, job->result->edge,
                                         job->work_order, job->out_path, cancellable, &error);
  else
    ok = dothi_network_export_trace (job->project_path, job->result->shared->network,
                                     job->result->trace, job->out_path, NULL, &error);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
output_done_cb (GObject      *object,
                GAsyncResult *res,
                gpointer      user_data)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);
  GTask *task = G_TASK (res);
  OutputJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;

  if (!g_task_propagate_boolean (task, &error))
    {
      if (!end_job (self, task))
        return;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_message (self, error->message, TRUE);
      return;
    }
  if (!end_job (self, task))
    return;
  name = g_filename_display_basename (job->out_path);
  if (job->work_order != NULL)
    /* Translators: a work order number and a file name */
    text = g_strdup_printf (_("Work order %s printed to “%s”"), job->work_order, name);
  else
    /* Translators: a file name */
    text = g_strdup_printf (_("Trace exported to “%s”"), name);
  toast (self, text);
}

static void
start_output (DothiNetworkPanel *self,
              const char        *out_path,
              const char        *work_order)
{
  g_autoptr(GTask) task = NULL;
  GCancellable *cancellable;
  OutputJob *job;

  if (is_busy (self) || self->result == NULL || self->result->trace == NULL)
    return;
  set_message (self, NULL, FALSE);
  cancellable = begin_job (self, work_order != NULL
                                 /* Translators: shown while the work order PDF is written */
                                 ? _("Printing the work order…")
                                 /* Translators: shown while a trace is written to a file */
                                 : _("Exporting…"));
  job = g_new0 (OutputJob, 1);
  job->project_path = g_strdup (self->path);
  job->result = trace_result_ref (self->result);
  job->out_path = g_strdup (out_path);
  job->work_order = g_strdup (work_order);
  task = g_task_new (self, cancellable, output_done_cb, NULL);
  g_task_set_source_tag (task, start_output);
  g_task_set_task_data (task, job, (GDestroyNotify) output_job_free);
  g_task_run_in_thread (task, output_thread);
}

/* ---- the topology as tables, for QGIS and SQL ---------------------------- */

typedef struct {
  char          *project_path;
  SharedNetwork *shared;
  char          *out_path;   /* districts */
} SaveJob;

static void
save_job_free (SaveJob *job)
{
  g_free (job->project_path);
  g_free (job->out_path);
  g_clear_pointer (&job->shared, shared_network_unref);
  g_free (job);
}

/* In a worker, on a project connection of its own: one transaction. */
static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveJob *job = task_data;
  g_autoptr(DothiProject) project = NULL;
  GError *error = NULL;

  project = dothi_project_open (job->project_path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL || !dothi_network_save (job->shared->network, project, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  dothi_project_close (project);
  g_task_return_boolean (task, TRUE);
}

static void
save_done_cb (GObject      *object,
              GAsyncResult *res,
              gpointer      user_data)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);
  GTask *task = G_TASK (res);
  SaveJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gboolean ok = g_task_propagate_boolean (task, &error);

  if (!end_job (self, task))
    return;
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_message (self, error->message, TRUE);
      return;
    }
  /* Translators: counts of nodes and edges, then the network's name */
  text = g_strdup_printf (_("Saved %u nodes and %u edges of “%s” in dothi_network_nodes and dothi_network_edges"),
                          dothi_network_get_n_nodes (job->shared->network),
                          dothi_network_get_n_edges (job->shared->network), job->shared->name);
  toast (self, text);
}

/* ---- districts as polygons -------------------------------------------------- */

static void add_filter (GtkFileChooser *chooser, const char *name, const char *extension,
                        const char *mime_type);
static char *chosen_path (GtkNativeDialog *chooser, int response, const char * const *known);

static void
districts_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  SaveJob *job = task_data;
  g_autoptr(GPtrArray) zones = NULL;
  GError *error = NULL;

  zones = dothi_network_valve_zones (job->shared->network, &error);
  if (zones == NULL
      || !dothi_network_export_zones (job->project_path, job->shared->network, zones,
                                      DISTRICT_WIDTH, job->out_path, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_int (task, zones->len);
}

static void
districts_done_cb (GObject      *object,
                   GAsyncResult *res,
                   gpointer      user_data)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);
  GTask *task = G_TASK (res);
  SaveJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;
  gssize n = g_task_propagate_int (task, &error);

  if (!end_job (self, task))
    return;
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_message (self, error->message, TRUE);
      return;
    }
  name = g_filename_display_basename (job->out_path);
  /* Translators: a count of districts, then a file name */
  text = g_strdup_printf (ngettext ("%u district written to “%s”", "%u districts written to “%s”", (gulong) n),
                          (guint) n, name);
  toast (self, text);
}

void
dothi_network_panel_export_districts (DothiNetworkPanel *self,
                                      const char        *out_path)
{
  g_autoptr(GTask) task = NULL;
  GCancellable *cancellable;
  SaveJob *job;

  g_return_if_fail (DOTHI_IS_NETWORK_PANEL (self));
  g_return_if_fail (out_path != NULL);

  if (is_busy (self) || self->shared == NULL)
    return;
  set_message (self, NULL, FALSE);
  /* Translators: shown while the valve-bounded districts are written */
  cancellable = begin_job (self, _("Writing the districts…"));
  job = g_new0 (SaveJob, 1);
  job->project_path = g_strdup (self->path);
  job->shared = shared_network_ref (self->shared);
  job->out_path = g_strdup (out_path);
  task = g_task_new (self, cancellable, districts_done_cb, NULL);
  g_task_set_source_tag (task, dothi_network_panel_export_districts);
  g_task_set_task_data (task, job, (GDestroyNotify) save_job_free);
  g_task_run_in_thread (task, districts_thread);
}

static void
districts_chosen_cb (GtkNativeDialog   *chooser,
                     int                response,
                     DothiNetworkPanel *self)
{
  static const char * const known[] = { ".geojson", ".json", NULL };
  g_autofree char *path = chosen_path (chooser, response, known);

  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (path != NULL)
    dothi_network_panel_export_districts (self, path);
}

static void
export_districts_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  GtkFileChooserNative *chooser;

  if (is_busy (self) || self->shared == NULL)
    return;
  /* Translators: title and button of the file chooser for the districts */
  chooser = gtk_file_chooser_native_new (_("Export the Districts"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (chooser), _("GeoJSON (*.geojson)"), "geojson", "application/geo+json");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "dma.geojson");
  g_signal_connect_object (chooser, "response", G_CALLBACK (districts_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
save_topology_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  g_autoptr(GTask) task = NULL;
  GCancellable *cancellable;
  SaveJob *job;

  if (is_busy (self) || self->shared == NULL)
    return;
  set_message (self, NULL, FALSE);
  /* Translators: shown while the network's nodes and edges are written to the project */
  cancellable = begin_job (self, _("Saving the topology…"));
  job = g_new0 (SaveJob, 1);
  job->project_path = g_strdup (self->path);
  job->shared = shared_network_ref (self->shared);
  task = g_task_new (self, cancellable, save_done_cb, NULL);
  g_task_set_source_tag (task, save_topology_action);
  g_task_set_task_data (task, job, (GDestroyNotify) save_job_free);
  g_task_run_in_thread (task, save_thread);
}

static void
add_filter (GtkFileChooser *chooser,
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

/* The chosen path, with the chosen filter's extension when it has none of
 * @known; NULL when the chooser was cancelled. */
static char *
chosen_path (GtkNativeDialog    *chooser,
             int                 response,
             const char * const *known)
{
  g_autoptr(GFile) file = NULL;
  GtkFileFilter *filter;
  const char *extension;
  char *path;

  if (response != GTK_RESPONSE_ACCEPT)
    return NULL;
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file == NULL)
    return NULL;
  path = g_file_get_path (file);
  if (path == NULL)
    return NULL;
  for (guint i = 0; known[i] != NULL; i++)
    {
      g_autofree char *lower = g_ascii_strdown (path, -1);

      if (g_str_has_suffix (lower, known[i]))
        return path;
    }
  filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (chooser));
  extension = filter != NULL ? g_object_get_data (G_OBJECT (filter), "dothi-extension") : NULL;
  if (extension == NULL)
    extension = known[0] + 1;
  {
    char *with = g_strconcat (path, ".", extension, NULL);

    g_free (path);
    return with;
  }
}

static void
export_chosen_cb (GtkNativeDialog   *chooser,
                  int                response,
                  DothiNetworkPanel *self)
{
  static const char * const known[] = { ".csv", ".geojson", ".json", NULL };
  g_autofree char *path = chosen_path (chooser, response, known);

  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (path != NULL)
    start_output (self, path, NULL);
}

static char *
default_file_name (DothiNetworkPanel *self,
                   const char        *extension)
{
  char *name;

  if (self->work_order != NULL && self->work_order[0] != '\0')
    name = g_strconcat (self->work_order, ".", extension, NULL);
  else
    /* Translators: the default file name of an exported isolation, without extension */
    name = g_strconcat (_("isolation"), ".", extension, NULL);
  g_strdelimit (name, "/\\", '-');
  return name;
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;

  if (is_busy (self) || self->result == NULL)
    return;
  chooser = gtk_file_chooser_native_new (_("Export the Trace"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  /* Translators: file filters of the Export dialog of the network window */
  add_filter (GTK_FILE_CHOOSER (chooser), _("CSV table (*.csv)"), "csv", "text/csv");
  add_filter (GTK_FILE_CHOOSER (chooser), _("GeoJSON (*.geojson)"), "geojson", "application/geo+json");
  name = default_file_name (self, "csv");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect_object (chooser, "response", G_CALLBACK (export_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
work_order_chosen_cb (GtkNativeDialog   *chooser,
                      int                response,
                      DothiNetworkPanel *self)
{
  static const char * const known[] = { ".pdf", NULL };
  g_autofree char *path = chosen_path (chooser, response, known);

  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (path != NULL && self->work_order != NULL)
    start_output (self, path, self->work_order);
}

/* An AdwMessageDialog asking for the work order number, with @response
 * as the accepting response; its entry is the dialog's "dothi-entry". */
static GtkWidget *
new_work_order_dialog (DothiNetworkPanel *self,
                       const char        *heading,
                       const char        *body,
                       const char        *response,
                       const char        *response_label)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
  GtkWidget *entry = gtk_entry_new ();

  gtk_widget_set_name (entry, "network-work-order-entry");
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  /* Translators: placeholder of the work order number entry */
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("Work order number, e.g. WO-2026-031"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Work order number"), -1);
  if (self->work_order != NULL)
    gtk_editable_set_text (GTK_EDITABLE (entry), self->work_order);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    response, response_label,
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), response,
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), response);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "dothi-entry", entry);
  return dialog;
}

/* The trimmed number typed, or NULL when empty; stored for next time. */
static char *
take_work_order (DothiNetworkPanel *self,
                 AdwMessageDialog  *dialog)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "dothi-entry");
  g_autofree char *number = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  if (number[0] == '\0')
    return NULL;
  g_free (self->work_order);
  self->work_order = g_strdup (number);
  return g_steal_pointer (&number);
}

static void
work_order_response_cb (AdwMessageDialog  *dialog,
                        const char        *response,
                        DothiNetworkPanel *self)
{
  g_autofree char *number = NULL;
  g_autofree char *name = NULL;
  GtkFileChooserNative *chooser;

  if (g_strcmp0 (response, "print") != 0)
    return;
  number = take_work_order (self, dialog);
  if (number == NULL)
    {
      /* Translators: the work order dialog was accepted without a number */
      set_message (self, _("A work order needs a number"), TRUE);
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Save the Work Order"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (chooser), _("PDF document (*.pdf)"), "pdf", "application/pdf");
  name = default_file_name (self, "pdf");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect_object (chooser, "response", G_CALLBACK (work_order_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
work_order_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  GtkWidget *dialog;

  if (is_busy (self) || self->result == NULL || self->result->kind != TRACE_ISOLATION)
    return;
  dialog = new_work_order_dialog (self, _("Print Work Order"),
                                  _("The work order sheet shows the area, the valves to close and the customers to notify. Its number is printed on it."),
                                  /* Translators: response of the work order dialog: goes on to choose the PDF file */
                                  "print", _("_Choose File…"));
  g_signal_connect_object (dialog, "response", G_CALLBACK (work_order_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- valve edits ----------------------------------------------------------- */

static void
rebuild_and_rerun (DothiNetworkPanel *self,
                   double             x,
                   double             y)
{
  self->rerun_pending = TRUE;
  self->rerun_x = x;
  self->rerun_y = y;
  start_build (self);
}

static void
close_valves_response_cb (AdwMessageDialog  *dialog,
                          const char        *response,
                          DothiNetworkPanel *self)
{
  g_autofree char *number = NULL;
  g_autoptr(TraceResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GArray *valves;
  guint done = 0;

  if (g_strcmp0 (response, "close") != 0 || self->result == NULL || is_busy (self))
    return;
  number = take_work_order (self, dialog);
  if (number == NULL)
    {
      set_message (self, _("A work order needs a number"), TRUE);
      return;
    }

  result = trace_result_ref (self->result);
  valves = result->trace->valves_to_close;
  g_array_set_size (self->closed_actions, 0);
  /* One edit action a valve, each undoable; a few milliseconds each on
   * the project's own connection. */
  for (guint i = 0; i < valves->len; i++)
    {
      DothiNetworkNode node;
      gint64 action;

      if (!dothi_network_get_node (result->shared->network, g_array_index (valves, guint, i), &node)
          || node.layer == NULL)
        continue;
      action = dothi_network_set_valve_state (self->project, result->shared->name, node.layer,
                                              node.fid, DOTHI_VALVE_CLOSED, number, &error);
      if (action <= 0)
        break;
      g_array_append_val (self->closed_actions, action);
      done++;
    }

  if (error != NULL)
    {
      g_autofree char *count = dothi_format_int64 (done);
      g_autofree char *text = NULL;

      /* Translators: closing valves stopped: how many were closed, then
       * the reason */
      text = g_strdup_printf (ngettext ("%s valve was closed before this error: %s",
                                        "%s valves were closed before this error: %s", done),
                              count, error->message);
      set_message (self, text, TRUE);
    }
  if (done > 0)
    {
      g_autofree char *count = dothi_format_int64 (done);
      g_autofree char *text = NULL;
      AdwToast *closed;

      /* Translators: number of valves recorded as closed, and the work order number */
      text = g_strdup_printf (ngettext ("%s valve closed in the project for work order %s",
                                        "%s valves closed in the project for work order %s", done),
                              count, number);
      {
        g_autofree char *escaped = g_markup_escape_text (text, -1);

        closed = adw_toast_new (escaped);
      }
      adw_toast_set_button_label (closed, _("_Undo"));
      adw_toast_set_action_name (closed, "network.undo-close");
      adw_toast_overlay_add_toast (self->toasts, closed);
      rebuild_and_rerun (self, result->x, result->y);
    }
  update_actions (self);
}

static void
close_valves_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  g_autofree char *count = NULL;
  g_autofree char *body = NULL;
  g_autofree char *name = NULL;
  GtkWidget *dialog;
  guint n;

  if (is_busy (self) || self->result == NULL || self->result->kind != TRACE_ISOLATION)
    return;
  n = self->result->trace->valves_to_close->len;
  count = dothi_format_int64 (n);
  name = g_filename_display_basename (self->path);
  /* Translators: number of valves, then the project file name */
  body = g_strdup_printf (ngettext ("%s valve will be recorded as closed in “%s” for the work order below. It is an edit that can be undone.",
                                    "%s valves will be recorded as closed in “%s” for the work order below. Each is an edit that can be undone.",
                                    n), count, name);
  dialog = new_work_order_dialog (self, _("Close Valves in Project?"), body,
                                  /* Translators: response of the Close Valves dialog */
                                  "close", _("_Close Valves"));
  g_signal_connect_object (dialog, "response", G_CALLBACK (close_valves_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
undo_close_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  g_autoptr(GError) error = NULL;
  guint undone = 0;

  if (is_busy (self) || self->closed_actions->len == 0)
    return;
  /* Newest first, each by its own action id: an edit made since in the
   * main window is left alone (a conflict is reported instead). */
  for (guint i = self->closed_actions->len; i-- > 0;)
    {
      gint64 action = g_array_index (self->closed_actions, gint64, i);

      if (dothi_edit_revert_sync (self->project, action, NULL, &error) <= 0)
        break;
      undone++;
    }
  g_array_set_size (self->closed_actions, self->closed_actions->len - undone);
  if (error != NULL)
    set_message (self, error->message, TRUE);
  if (undone > 0 && self->result != NULL)
    rebuild_and_rerun (self, self->result->x, self->result->y);
  else if (undone > 0)
    start_build (self);
  update_actions (self);
}

/* ---- a proposed definition -------------------------------------------------- */

/* The layer's name and title in lower-case ASCII, words joined by "_":
 * "Ống cấp nước" gives "ong_cap_nuoc". */
static char *
layer_key (const DothiLayerInfo *info)
{
  g_autofree char *title = info->title ? g_str_to_ascii (info->title, "C") : g_strdup ("");
  g_autofree char *both = g_strconcat (info->name, " ", title, NULL);
  char *key = g_ascii_strdown (both, -1);

  for (char *p = key; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p))
      *p = '_';
  return key;
}

/* TRUE when @key has one of @words as a whole "_"-separated part run
 * (a word may itself contain "_"). */
static gboolean
key_has_word (const char         *key,
              const char * const *words)
{
  g_autofree char *padded = g_strconcat ("_", key, "_", NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *word = g_strconcat ("_", words[i], "_", NULL);

      if (strstr (padded, word) != NULL)
        return TRUE;
    }
  return FALSE;
}

static const char *
find_field (const DothiLayerInfo *info,
            const char * const   *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    for (guint f = 0; f < info->fields->len; f++)
      {
        const DothiField *field = g_ptr_array_index (info->fields, f);

        if (g_ascii_strcasecmp (field->name, names[i]) == 0)
          return field->name;
      }
  return NULL;
}

/* An id field: a known name, else the first text field named ma_… or …_id. */
static const char *
find_id_field (const DothiLayerInfo *info,
               const char           *preferred)
{
  const char * const names[] = { preferred, "ma", "id", "code", "ten", "name", NULL };
  const char *found = find_field (info, preferred != NULL ? names : names + 1);

  if (found != NULL)
    return found;
  for (guint f = 0; f < info->fields->len; f++)
    {
      const DothiField *field = g_ptr_array_index (info->fields, f);

      if (field->type == DOTHI_FIELD_TEXT
          && (g_str_has_prefix (field->name, "ma_") || g_str_has_suffix (field->name, "_id")))
        return field->name;
    }
  return NULL;
}

static void
add_values (JsonBuilder        *builder,
            const char         *member,
            const char * const *values)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

static void
add_node_layer (JsonBuilder          *builder,
                const DothiLayerInfo *info,
                const char           *role,
                const char           *id_field,
                const char           *status_field,
                const char           *kind_field)
{
  static const char * const open[] = { "mở", "mo", "open", "Open", "OPEN", NULL };
  static const char * const closed[] = { "đóng", "dong", "closed", "Closed", "CLOSED", NULL };
  static const char * const seized[] = { "kẹt", "ket", "seized", "Seized", "SEIZED", NULL };

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "layer");
  json_builder_add_string_value (builder, info->name);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, role);
  if (id_field != NULL)
    {
      json_builder_set_member_name (builder, "id_field");
      json_builder_add_string_value (builder, id_field);
    }
  if (status_field != NULL)
    {
      json_builder_set_member_name (builder, "status_field");
      json_builder_add_string_value (builder, status_field);
      add_values (builder, "open", open);
      add_values (builder, "closed", closed);
      add_values (builder, "seized", seized);
    }
  if (kind_field != NULL)
    {
      json_builder_set_member_name (builder, "kind_field");
      json_builder_add_string_value (builder, kind_field);
    }
  json_builder_end_object (builder);
}

/* A water network from the layers' names: the first line layer that
 * looks like mains, point layers of valves, hydrants, sources and
 * customers, and the parcels. @warning says what is missing. */
static char *
propose_definition (GPtrArray  *layers,
                    char      **warning)
{
  static const char * const main_words[] = { "water_mains", "water_main", "mains", "pipes", "pipe",
                                             "ong_cap_nuoc", "ong_nuoc", "duong_ong", "cap_nuoc", NULL };
  static const char * const valve_words[] = { "valve", "valves", "van", NULL };
  static const char * const source_words[] = { "reservoir", "reservoirs", "tank", "tanks", "source",
                                               "sources", "nguon", "nguon_nuoc", "be_chua",
                                               "be_nuoc", "dai_nuoc", "nha_may_nuoc", NULL };
  static const char * const hydrant_words[] = { "hydrant", "hydrants", "tru_cuu_hoa", "cuu_hoa", NULL };
  static const char * const customer_words[] = { "meter", "meters", "customer", "customers",
                                                 "dong_ho", "khach_hang", "dau_noi", NULL };
  static const char * const parcel_words[] = { "parcel", "parcels", "thua", "thua_dat", NULL };
  static const char * const status_names[] = { "trang_thai", "tinh_trang", "status", "state", NULL };
  static const char * const kind_names[] = { "loai", "loai_kh", "kind", "type", "category", NULL };
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  const DothiLayerInfo *edges = NULL, *parcels = NULL;
  guint n_sources = 0;

  for (guint i = 0; i < layers->len && edges == NULL; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_autofree char *key = layer_key (info);

      if (info->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING && key_has_word (key, main_words))
        edges = info;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "cap_nuoc");
  json_builder_set_member_name (builder, "tolerance");
  json_builder_add_double_value (builder, 0.5);
  json_builder_set_member_name (builder, "edges");
  json_builder_begin_array (builder);
  if (edges != NULL)
    {
      const char *id_field = find_id_field (edges, "ma_ong");

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "layer");
      json_builder_add_string_value (builder, edges->name);
      if (id_field != NULL)
        {
          json_builder_set_member_name (builder, "id_field");
          json_builder_add_string_value (builder, id_field);
        }
      json_builder_set_member_name (builder, "length_field");
      json_builder_add_null_value (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "nodes");
  json_builder_begin_array (builder);
  for (guint i = 0; i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_autofree char *key = layer_key (info);

      if (info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
        {
          if (parcels == NULL && key_has_word (key, parcel_words))
            parcels = info;
          continue;
        }
      if (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOINT)
        continue;
      if (key_has_word (key, valve_words))
        add_node_layer (builder, info, "valve", find_id_field (info, "ma_van"),
                        find_field (info, status_names), NULL);
      else if (key_has_word (key, hydrant_words))
        add_node_layer (builder, info, "hydrant", find_id_field (info, NULL), NULL, NULL);
      else if (key_has_word (key, source_words))
        {
          add_node_layer (builder, info, "source", find_id_field (info, NULL), NULL, NULL);
          n_sources++;
        }
      else if (key_has_word (key, customer_words))
        add_node_layer (builder, info, "customer", find_id_field (info, "ma_kh"), NULL,
                        find_field (info, kind_names));
    }
  json_builder_end_array (builder);

  if (parcels != NULL)
    {
      json_builder_set_member_name (builder, "parcels");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "layer");
      json_builder_add_string_value (builder, parcels->name);
      json_builder_set_member_name (builder, "service_distance");
      json_builder_add_int_value (builder, 30);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);

  if (edges == NULL)
    *warning = g_strdup (_("No line layer of this project looks like water mains (a name such as “water_mains”, “ong_cap_nuoc” or “pipes”): fill in “edges” by hand."));
  else if (n_sources == 0)
    /* Translators: keep “nodes”, “source” and “role” as they are: they are JSON */
    *warning = g_strdup (_("No point layer looks like a source (a reservoir, tank or “nguon_nuoc”). A network needs one: import the sources as a point layer and add it to “nodes” with the role “source”."));
  else
    *warning = NULL;

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}

static void
set_define_error (DothiNetworkPanel *self,
                  const char        *text)
{
  gtk_label_set_text (self->define_error_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->define_error_label), text != NULL);
}

static void
propose_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autofree char *json = NULL;
  g_autofree char *warning = NULL;

  /* The registry on the main thread: one small table, milliseconds. */
  layers = dothi_project_list_layers (self->project, &error);
  if (layers == NULL)
    {
      set_message (self, error->message, TRUE);
      return;
    }
  json = propose_definition (layers, &warning);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->definition_view), json, -1);
  set_define_error (self, warning);
  gtk_stack_set_visible_child_name (self->stack, "define");
  gtk_widget_grab_focus (GTK_WIDGET (self->definition_view));
}

static void
define_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->definition_view);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;
  const char *name = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  json = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (!dothi_network_define (self->project, json, &error))
    {
      set_define_error (self, error->message);
      return;
    }
  /* Valid JSON by now: the core parsed it. */
  if (json_parser_load_from_data (parser, json, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    name = json_object_get_string_member_with_default (json_node_get_object (json_parser_get_root (parser)),
                                                       "name", NULL);
  set_define_error (self, NULL);
  refresh_networks (self, name);
  /* Translators: a network name */
  text = g_strdup_printf (_("Network “%s” defined"), name ? name : "");
  toast (self, text);
  update_actions (self);
}

static void
define_cancel_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);

  set_define_error (self, NULL);
  gtk_stack_set_visible_child_name (self->stack,
                                    self->networks != NULL && self->networks[0] != NULL
                                    ? "network" : "none");
}

/* ---- other actions and callbacks ------------------------------------------ */

static void
build_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  start_build (DOTHI_NETWORK_PANEL (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);

  /* The job comes back as cancelled and says so. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

/* Escape stops picking, then a job, then closes the window. */
static void
escape_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (widget);

  if (self->pick_mode != PICK_NONE)
    {
      set_picking (self, PICK_NONE);
      set_message (self, NULL, FALSE);
    }
  else if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  else
    gtk_window_close (GTK_WINDOW (self));
}

static void
pick_toggled_cb (GtkToggleButton   *button,
                 DothiNetworkPanel *self)
{
  PickMode mode = button == self->pick_break_button ? PICK_BREAK : PICK_NODE;

  if (self->syncing_toggles)
    return;
  if (gtk_toggle_button_get_active (button))
    set_picking (self, mode);
  else if (self->pick_mode == mode)
    {
      set_picking (self, PICK_NONE);
      set_message (self, NULL, FALSE);
    }
}

static void
network_selected_cb (AdwComboRow       *row,
                     GParamSpec        *pspec,
                     DothiNetworkPanel *self)
{
  const char *name = selected_network (self);

  if (self->shared != NULL && g_strcmp0 (self->shared->name, name) == 0)
    return;
  set_picking (self, PICK_NONE);
  clear_network (self);
  update_actions (self);
}

static gboolean
close_request_cb (GtkWindow         *window,
                  DothiNetworkPanel *self)
{
  /* The map shows no result of a window that is gone. */
  if (self->highlighted)
    emit_highlight (self, NULL, NULL);
  set_picking (self, PICK_NONE);
  return FALSE;
}

/* ---- GObject -------------------------------------------------------------- */

static void
dothi_network_panel_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);

  switch (prop_id)
    {
    case PROP_PICKING:
      g_value_set_boolean (value, dothi_network_panel_get_picking (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, dothi_network_panel_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_network_panel_dispose (GObject *object)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);

  /* A job still running ends unseen: end_job() sees no cancellable. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->result, trace_result_unref);
  g_clear_pointer (&self->shared, shared_network_unref);
  g_clear_object (&self->project);
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_NETWORK_PANEL);

  G_OBJECT_CLASS (dothi_network_panel_parent_class)->dispose (object);
}

static void
dothi_network_panel_finalize (GObject *object)
{
  DothiNetworkPanel *self = DOTHI_NETWORK_PANEL (object);

  g_free (self->path);
  g_strfreev (self->networks);
  g_clear_pointer (&self->problems, g_ptr_array_unref);
  g_free (self->work_order);
  g_clear_pointer (&self->closed_actions, g_array_unref);
  g_clear_pointer (&self->problem_rows, g_ptr_array_unref);

  G_OBJECT_CLASS (dothi_network_panel_parent_class)->finalize (object);
}

static void
dothi_network_panel_class_init (DothiNetworkPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = dothi_network_panel_get_property;
  object_class->dispose = dothi_network_panel_dispose;
  object_class->finalize = dothi_network_panel_finalize;

  properties[PROP_PICKING] =
    g_param_spec_boolean ("picking", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[HIGHLIGHT] =
    g_signal_new ("highlight", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  DOTHI_TYPE_FID_SET | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[ZOOM_TO] =
    g_signal_new ("zoom-to", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                  G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-network-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, toasts);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, definition_view);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, define_error_label);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, network_row);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, topology_row);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, running_box);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, running_spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, running_label);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, message_label);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, pick_break_button);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, result_box);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, result_label);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, valves_group);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, valves_list);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, closed_group);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, closed_list);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, customers_group);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, customers_list);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, work_order_button);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, close_valves_button);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, trace_row);
  gtk_widget_class_bind_template_child (widget_class, DothiNetworkPanel, pick_node_button);

  gtk_widget_class_install_action (widget_class, "network.build", NULL, build_action);
  gtk_widget_class_install_action (widget_class, "network.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "network.escape", NULL, escape_action);
  gtk_widget_class_install_action (widget_class, "network.propose", NULL, propose_action);
  gtk_widget_class_install_action (widget_class, "network.define", NULL, define_action);
  gtk_widget_class_install_action (widget_class, "network.define-cancel", NULL, define_cancel_action);
  gtk_widget_class_install_action (widget_class, "network.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "network.save-topology", NULL, save_topology_action);
  gtk_widget_class_install_action (widget_class, "network.export-districts", NULL, export_districts_action);
  gtk_widget_class_install_action (widget_class, "network.work-order", NULL, work_order_action);
  gtk_widget_class_install_action (widget_class, "network.close-valves", NULL, close_valves_action);
  gtk_widget_class_install_action (widget_class, "network.undo-close", NULL, undo_close_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "network.escape", NULL);
}

static void
dothi_network_panel_init (DothiNetworkPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->closed_actions = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->problem_rows = g_ptr_array_new ();
  g_signal_connect (self->valves_list, "row-activated", G_CALLBACK (valve_activated_cb), self);
  g_signal_connect (self->closed_list, "row-activated", G_CALLBACK (valve_activated_cb), self);
  g_signal_connect (self->pick_break_button, "toggled", G_CALLBACK (pick_toggled_cb), self);
  g_signal_connect (self->pick_node_button, "toggled", G_CALLBACK (pick_toggled_cb), self);
  g_signal_connect (self, "close-request", G_CALLBACK (close_request_cb), self);
}

/* ---- public API ----------------------------------------------------------- */

DothiNetworkPanel *
dothi_network_panel_new (GtkWindow    *parent,
                         DothiProject *project)
{
  DothiNetworkPanel *self;
  g_autofree char *name = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  self = g_object_new (DOTHI_TYPE_NETWORK_PANEL, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  self->path = g_strdup (dothi_project_get_path (project));
  name = g_filename_display_basename (self->path);
  adw_window_title_set_subtitle (self->window_title, name);

  refresh_networks (self, NULL);
  /* Connected after the first fill: the first network is chosen, not built. */
  g_signal_connect (self->network_row, "notify::selected", G_CALLBACK (network_selected_cb), self);
  update_actions (self);
  return self;
}

gboolean
dothi_network_panel_get_picking (DothiNetworkPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_NETWORK_PANEL (self), FALSE);

  return self->pick_mode != PICK_NONE;
}

/* The end of @edge nearer to (@x, @y). */
static guint
nearer_end (DothiNetwork *network,
            guint         edge,
            double        x,
            double        y)
{
  DothiNetworkEdge e;
  DothiNetworkNode a, b;

  if (!dothi_network_get_edge (network, edge, &e))
    return G_MAXUINT;
  if (!dothi_network_get_node (network, e.node_a, &a))
    return e.node_b;
  if (!dothi_network_get_node (network, e.node_b, &b))
    return e.node_a;
  return hypot (a.x - x, a.y - y) <= hypot (b.x - x, b.y - y) ? e.node_a : e.node_b;
}

void
dothi_network_panel_pick (DothiNetworkPanel *self,
                          double             x,
                          double             y,
                          double             tolerance)
{
  g_autoptr(TraceResult) input = NULL;
  PickMode mode;
  double distance;
  guint edge;

  g_return_if_fail (DOTHI_IS_NETWORK_PANEL (self));

  if (self->pick_mode == PICK_NONE)
    return;
  if (is_busy (self))
    {
      /* Translators: a map click while the network window is working */
      set_message (self, _("Wait until the network window has finished"), TRUE);
      return;
    }
  if (self->shared == NULL)
    {
      /* Translators: a pick on the map before the network was built */
      set_message (self, _("Build the network first"), TRUE);
      return;
    }

  /* Pipes or valves edited since the build (here, in the map or in
   * QGIS): build again, then trace the same place. */
  if (!dothi_network_is_current (self->shared->network, NULL))
    {
      self->rerun_pending = self->pick_mode == PICK_BREAK;
      self->rerun_x = x;
      self->rerun_y = y;
      start_build (self);
      /* Translators: a pick on a network whose layers were edited since it was built */
      set_message (self, self->rerun_pending ? _("The network was edited since it was built: building it again, then the break is traced")
                                             : _("The network was edited since it was built: building it again; pick again when it is done"),
                   FALSE);
      return;
    }

  /* A few pixels when zoomed out, but never a whole district. */
  distance = CLAMP (isfinite (tolerance) ? tolerance : 0, PICK_DISTANCE, MAX_PICK_DISTANCE);
  edge = dothi_network_nearest_edge (self->shared->network, x, y, distance, NULL);
  if (edge == G_MAXUINT)
    {
      g_autofree char *position = format_position (x, y);
      g_autofree char *metres = dothi_format_double (distance, 0);
      g_autofree char *text = NULL;

      /* Translators: a click away from every pipe: the network name, the
       * distance searched in metres and the click's position; picking
       * goes on */
      text = g_strdup_printf (_("No pipe of network “%s” within %s m of the click at %s: click on a pipe"),
                              self->shared->name, metres, position);
      set_message (self, text, TRUE);
      return;
    }

  mode = self->pick_mode;
  if (mode == PICK_BREAK)
    {
      input = trace_result_new (self->shared, TRACE_ISOLATION);
      input->edge = edge;
    }
  else
    {
      guint kind = adw_combo_row_get_selected (self->trace_row);

      input = trace_result_new (self->shared,
                                kind == 1 ? TRACE_UPSTREAM : kind == 2 ? TRACE_DOWNSTREAM : TRACE_CONNECTED);
      input->node = nearer_end (self->shared->network, edge, x, y);
      if (input->node == G_MAXUINT)
        return;
    }
  input->x = x;
  input->y = y;
  set_picking (self, PICK_NONE);
  start_trace (self, input);
}

gboolean
dothi_network_panel_get_busy (DothiNetworkPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_NETWORK_PANEL (self), FALSE);

  return is_busy (self);
}

DothiTrace *
dothi_network_panel_get_trace (DothiNetworkPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_NETWORK_PANEL (self), NULL);

  return self->result != NULL ? self->result->trace : NULL;
}
