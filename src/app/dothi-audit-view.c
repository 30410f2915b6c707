/* dothi-audit-view.c: the history window. Lists the project's actions
 * (dothi_audit_list_actions) newest first with Revert, or one feature's
 * events (dothi_audit_feature_history) with the fields each changed. */
#define G_LOG_DOMAIN "dothi-audit-view"

#include "config.h"
#include "dothi-audit-view.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "dothi-edit.h"
#include "dothi-error.h"

#define PAGE_SIZE 100
/* Lines of field changes shown per event; the rest are counted. */
#define MAX_DIFF_LINES 12

struct _DothiAuditView
{
  AdwWindow       parent_instance;

  DothiProject   *project;
  /* Feature mode: the layer and feature; NULL layer for the action list. */
  DothiLayerInfo *info;
  gint64          fid;
  GArray         *action_ids;   /* gint64 per row (actions view) */
  GArray         *undone;       /* gboolean per row */
  guint           n_loaded;
  gboolean        busy;
  char           *error_message;
  GHashTable     *titles;       /* table name → layer title */

  AdwWindowTitle *window_title;
  GtkRevealer    *error_revealer;
  GtkLabel       *error_label;
  GtkStack       *stack;
  GtkListBox     *list;
  GtkButton      *more_button;
  GtkButton      *revert_button;
  AdwStatusPage  *empty_page;
  GtkSpinner     *spinner;
};

G_DEFINE_FINAL_TYPE (DothiAuditView, dothi_audit_view, ADW_TYPE_WINDOW)

enum {
  REVERT_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update_actions (DothiAuditView *self);

/* "2025-06-01 14:03" in local time, from the ISO 8601 UTC the core keeps. */
static char *
format_time (const char *iso)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) time = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (iso == NULL)
    return g_strdup ("");
  time = g_date_time_new_from_iso8601 (iso, utc);
  if (time == NULL)
    return g_strdup (iso);
  local = g_date_time_to_local (time);
  /* Translators: date and time of an action in the history, in
   * g_date_time_format() notation; Vietnamese writes 01/06/2025 14:03 */
  return g_date_time_format (local, C_("history time", "%Y-%m-%d %H:%M"));
}

static const char *
user_text (const char *user)
{
  if (user == NULL || g_strcmp0 (user, "external") == 0)
    /* Translators: the user of an edit made outside Dothi (QGIS, the
     * spatialite shell) in the history */
    return _("another program");
  return user;
}

static void
clear_list (DothiAuditView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))))
    gtk_list_box_remove (self->list, child);
  g_array_set_size (self->action_ids, 0);
  g_array_set_size (self->undone, 0);
  self->n_loaded = 0;
}

static void
load_titles (DothiAuditView *self)
{
  g_autoptr(GPtrArray) layers = NULL;

  g_hash_table_remove_all (self->titles);
  /* Titles only dress the list; a failure leaves table names. */
  layers = dothi_project_list_layers (self->project, NULL);
  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);

      if (info->title != NULL && info->title[0] != '\0')
        g_hash_table_insert (self->titles, g_strdup (info->name), g_strdup (info->title));
    }
}

static char *
join_layer_titles (DothiAuditView     *self,
                   const char * const *layers)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; layers != NULL && layers[i] != NULL; i++)
    {
      const char *title = g_hash_table_lookup (self->titles, layers[i]);

      if (i > 0)
        /* Translators: separates layer names in a list */
        g_string_append (text, _(", "));
      g_string_append (text, title ? title : layers[i]);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static GtkWidget *
new_row (const char *title,
         const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  return row;
}

/* ---- the action list ---------------------------------------------------- */

static GtkWidget *
new_action_row (DothiAuditView        *self,
                const DothiActionInfo *action)
{
  g_autofree char *time = format_time (action->time);
  g_autofree char *layers = join_layer_titles (self, (const char * const *) action->layers);
  g_autofree char *subtitle = NULL;
  GtkWidget *row;

  /* Translators: the details of an action in the history: time, user,
   * the layers it touched and the number of features it changed, as in
   * "2025-06-01 14:03 · lan · Thửa đất · 3 features" */
  subtitle = g_strdup_printf (ngettext ("%s · %s · %s · %u feature",
                                        "%s · %s · %s · %u features",
                                        action->n_features),
                              time, user_text (action->user), layers, action->n_features);
  row = new_row (action->label ? action->label : "", subtitle);

  if (action->undone)
    {
      /* Translators: shown beside an action of the history that was undone */
      GtkWidget *label = gtk_label_new (_("Undone"));

      gtk_widget_add_css_class (label, "caption");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
      gtk_widget_add_css_class (row, "dim-label");
    }
  return row;
}

static void
load_actions (DothiAuditView *self)
{
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(GError) error = NULL;

  actions = dothi_audit_list_actions (self->project, self->n_loaded, PAGE_SIZE, &error);
  if (actions == NULL)
    {
      dothi_audit_view_show_error (self, error->message);
      return;
    }

  for (guint i = 0; i < actions->len; i++)
    {
      const DothiActionInfo *action = g_ptr_array_index (actions, i);
      gboolean undone = action->undone;

      gtk_list_box_append (self->list, new_action_row (self, action));
      g_array_append_val (self->action_ids, action->id);
      g_array_append_val (self->undone, undone);
    }
  self->n_loaded += actions->len;
  gtk_widget_set_visible (GTK_WIDGET (self->more_button), actions->len == PAGE_SIZE);
}

/* ---- a feature's events ------------------------------------------------- */

static char *
node_text (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      GType type = json_node_get_value_type (node);

      if (type == G_TYPE_STRING)
        return g_strdup (json_node_get_string (node));
      if (type == G_TYPE_INT64)
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      if (type == G_TYPE_DOUBLE)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
        }
      if (type == G_TYPE_BOOLEAN)
        return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    }
  return json_to_string (node, FALSE);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;

  if (text == NULL)
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

static void
add_line (GString *text, guint *n_lines, const char *line)
{
  if (*n_lines < MAX_DIFF_LINES)
    {
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, line);
    }
  (*n_lines)++;
}

/* The fields whose values differ: "so_thua: 12 → 13", one per line. */
static char *
describe_changes (const DothiFeatureEvent *event)
{
  g_autoptr(JsonObject) before = parse_object (event->before_attrs);
  g_autoptr(JsonObject) after = parse_object (event->after_attrs);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GList) members = NULL;
  JsonObject *names = after ? after : before;
  guint n_lines = 0;

  if (names != NULL)
    members = json_object_get_members (names);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      g_autofree char *old_text = before ? node_text (json_object_get_member (before, name)) : NULL;
      g_autofree char *new_text = after ? node_text (json_object_get_member (after, name)) : NULL;
      g_autofree char *line = NULL;
      /* Translators: an empty (NULL) value in a feature's history */
      const char *empty = _("(empty)");

      if (g_strcmp0 (event->op, "update") == 0)
        {
          if (g_strcmp0 (old_text, new_text) == 0)
            continue;
          /* Translators: a changed field in a feature's history: field,
           * old value, new value */
          line = g_strdup_printf (_("%s: %s → %s"), name,
                                  old_text ? old_text : empty, new_text ? new_text : empty);
        }
      else
        {
          const char *value = after ? new_text : old_text;

          if (value == NULL)
            continue;
          /* Translators: a field and its value in a feature's history */
          line = g_strdup_printf (_("%s: %s"), name, value);
        }
      add_line (text, &n_lines, line);
    }

  if (g_strcmp0 (event->op, "update") == 0
      && ((event->before_wkb == NULL) != (event->after_wkb == NULL)
          || (event->before_wkb != NULL && event->after_wkb != NULL
              && !g_bytes_equal (event->before_wkb, event->after_wkb))))
    /* Translators: in a feature's history: its geometry was changed */
    add_line (text, &n_lines, _("Shape changed"));

  if (n_lines > MAX_DIFF_LINES)
    {
      g_autofree char *more = NULL;
      guint n_more = n_lines - MAX_DIFF_LINES;

      /* Translators: after the first lines of a feature's changes */
      more = g_strdup_printf (ngettext ("and %u more field", "and %u more fields", n_more), n_more);
      g_string_append_c (text, '\n');
      g_string_append (text, more);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static const char *
op_text (const char *op)
{
  if (g_strcmp0 (op, "insert") == 0)
    /* Translators: what happened to a feature, in its history */
    return C_("feature event", "Added");
  if (g_strcmp0 (op, "update") == 0)
    return C_("feature event", "Changed");
  if (g_strcmp0 (op, "delete") == 0)
    return C_("feature event", "Deleted");
  if (g_strcmp0 (op, "import") == 0)
    return C_("feature event", "Imported");
  return op ? op : "";
}

static void
load_feature_events (DothiAuditView *self)
{
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;

  events = dothi_audit_feature_history (self->project, self->info->name, self->fid, &error);
  if (events == NULL)
    {
      dothi_audit_view_show_error (self, error->message);
      return;
    }

  /* Newest first, as the action list. */
  for (guint i = events->len; i-- > 0;)
    {
      const DothiFeatureEvent *event = g_ptr_array_index (events, i);
      g_autofree char *time = format_time (event->time);
      g_autofree char *changes = describe_changes (event);
      g_autofree char *subtitle = NULL;
      gint64 action_id = event->action_id;
      gboolean undone = FALSE;

      if (changes[0] != '\0')
        /* Translators: details of a feature's event: time, user, then the
         * changed fields on the following lines */
        subtitle = g_strdup_printf (_("%s · %s\n%s"), time, user_text (event->user), changes);
      else
        /* Translators: details of a feature's event: time, user */
        subtitle = g_strdup_printf (_("%s · %s"), time, user_text (event->user));

      gtk_list_box_append (self->list, new_row (op_text (event->op), subtitle));
      g_array_append_val (self->action_ids, action_id);
      g_array_append_val (self->undone, undone);
    }
  self->n_loaded = events->len;
}

/* ---- actions ------------------------------------------------------------ */

static void
update_actions (DothiAuditView *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->list);
  int index = row ? gtk_list_box_row_get_index (row) : -1;
  gboolean can_revert = FALSE;

  if (self->info == NULL && index >= 0 && (guint) index < self->action_ids->len)
    can_revert = g_array_index (self->action_ids, gint64, index) > 0
                 && !g_array_index (self->undone, gboolean, index);
  can_revert = can_revert && !self->busy && !dothi_project_get_read_only (self->project);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "audit.revert", can_revert);
  gtk_widget_set_visible (GTK_WIDGET (self->revert_button), self->info == NULL);
}

static void
row_selected_cb (GtkListBox     *list,
                 GtkListBoxRow  *row,
                 DothiAuditView *self)
{
  update_actions (self);
}

static void
revert_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiAuditView *self = DOTHI_AUDIT_VIEW (widget);
  gint64 id = dothi_audit_view_get_selected_action (self);

  if (id > 0 && !self->busy)
    {
      dothi_audit_view_show_error (self, NULL);
      g_signal_emit (self, signals[REVERT_REQUESTED], 0, id);
    }
}

static void
more_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiAuditView *self = DOTHI_AUDIT_VIEW (widget);

  if (self->info == NULL)
    load_actions (self);
  update_actions (self);
}

/* ---- GObject ------------------------------------------------------------ */

static void
dothi_audit_view_dispose (GObject *object)
{
  DothiAuditView *self = DOTHI_AUDIT_VIEW (object);

  g_clear_object (&self->project);
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_AUDIT_VIEW);

  G_OBJECT_CLASS (dothi_audit_view_parent_class)->dispose (object);
}

static void
dothi_audit_view_finalize (GObject *object)
{
  DothiAuditView *self = DOTHI_AUDIT_VIEW (object);

  g_clear_pointer (&self->info, dothi_layer_info_free);
  g_clear_pointer (&self->action_ids, g_array_unref);
  g_clear_pointer (&self->undone, g_array_unref);
  g_clear_pointer (&self->titles, g_hash_table_unref);
  g_free (self->error_message);

  G_OBJECT_CLASS (dothi_audit_view_parent_class)->finalize (object);
}

static void
dothi_audit_view_class_init (DothiAuditViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_audit_view_dispose;
  object_class->finalize = dothi_audit_view_finalize;

  signals[REVERT_REQUESTED] =
    g_signal_new ("revert-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-audit-view.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, error_label);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, stack);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, list);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, more_button);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, revert_button);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, empty_page);
  gtk_widget_class_bind_template_child (widget_class, DothiAuditView, spinner);

  gtk_widget_class_install_action (widget_class, "audit.revert", NULL, revert_action);
  gtk_widget_class_install_action (widget_class, "audit.more", NULL, more_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
dothi_audit_view_init (DothiAuditView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->action_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->undone = g_array_new (FALSE, FALSE, sizeof (gboolean));
  self->titles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_signal_connect (self->list, "row-selected", G_CALLBACK (row_selected_cb), self);
}

/* ---- public API --------------------------------------------------------- */

GtkWidget *
dothi_audit_view_new (GtkWindow    *parent,
                      DothiProject *project)
{
  DothiAuditView *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  self = g_object_new (DOTHI_TYPE_AUDIT_VIEW, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  {
    g_autofree char *name = g_filename_display_basename (dothi_project_get_path (project));
    adw_window_title_set_subtitle (self->window_title, name);
  }
  adw_status_page_set_description (self->empty_page,
                                   /* Translators: shown in an empty history window */
                                   _("Edits, undos and imports will be listed here."));
  dothi_audit_view_reload (self);
  return GTK_WIDGET (self);
}

GtkWidget *
dothi_audit_view_new_for_feature (GtkWindow            *parent,
                                  DothiProject         *project,
                                  const DothiLayerInfo *info,
                                  gint64                fid)
{
  DothiAuditView *self;
  g_autofree char *number = NULL;
  g_autofree char *title = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_AUDIT_VIEW, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  self->info = dothi_layer_info_copy (info);
  self->fid = fid;
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);

  number = g_strdup_printf ("%" G_GINT64_FORMAT, fid);
  /* Translators: title of a feature's history: the feature number (fid) */
  title = g_strdup_printf (_("History of Feature %s"), number);
  adw_window_title_set_title (self->window_title, title);
  gtk_window_set_title (GTK_WINDOW (self), title);
  adw_window_title_set_subtitle (self->window_title,
                                 info->title && info->title[0] ? info->title : info->name);
  adw_status_page_set_description (self->empty_page,
                                   /* Translators: shown when a feature's history is empty */
                                   _("Nothing was recorded for this feature."));
  dothi_audit_view_reload (self);
  return GTK_WIDGET (self);
}

void
dothi_audit_view_reload (DothiAuditView *self)
{
  g_return_if_fail (DOTHI_IS_AUDIT_VIEW (self));

  if (self->project == NULL)
    return;
  clear_list (self);
  load_titles (self);
  if (self->info == NULL)
    load_actions (self);
  else
    load_feature_events (self);
  gtk_stack_set_visible_child_name (self->stack, self->n_loaded > 0 ? "list" : "empty");
  update_actions (self);
}

void
dothi_audit_view_set_busy (DothiAuditView *self,
                           gboolean        busy)
{
  g_return_if_fail (DOTHI_IS_AUDIT_VIEW (self));

  self->busy = !!busy;
  gtk_spinner_set_spinning (self->spinner, self->busy);
  update_actions (self);
}

void
dothi_audit_view_show_error (DothiAuditView *self,
                             const char     *message)
{
  g_return_if_fail (DOTHI_IS_AUDIT_VIEW (self));

  g_free (self->error_message);
  self->error_message = g_strdup (message);
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

const char *
dothi_audit_view_get_error_message (DothiAuditView *self)
{
  g_return_val_if_fail (DOTHI_IS_AUDIT_VIEW (self), NULL);

  return self->error_message;
}

guint
dothi_audit_view_get_n_items (DothiAuditView *self)
{
  g_return_val_if_fail (DOTHI_IS_AUDIT_VIEW (self), 0);

  return self->n_loaded;
}

static AdwPreferencesRow *
get_row (DothiAuditView *self,
         guint           index)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->list, (int) index);

  return row ? ADW_PREFERENCES_ROW (row) : NULL;
}

const char *
dothi_audit_view_get_item_title (DothiAuditView *self,
                                 guint           index)
{
  AdwPreferencesRow *row;

  g_return_val_if_fail (DOTHI_IS_AUDIT_VIEW (self), NULL);

  row = get_row (self, index);
  return row ? adw_preferences_row_get_title (row) : NULL;
}

const char *
dothi_audit_view_get_item_subtitle (DothiAuditView *self,
                                    guint           index)
{
  AdwPreferencesRow *row;

  g_return_val_if_fail (DOTHI_IS_AUDIT_VIEW (self), NULL);

  row = get_row (self, index);
  return row ? adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) : NULL;
}

gboolean
dothi_audit_view_select (DothiAuditView *self,
                         guint           index)
{
  GtkListBoxRow *row;

  g_return_val_if_fail (DOTHI_IS_AUDIT_VIEW (self), FALSE);

  row = gtk_list_box_get_row_at_index (self->list, (int) index);
  if (row == NULL)
    return FALSE;
  gtk_list_box_select_row (self->list, row);
  update_actions (self);
  return TRUE;
}

gint64
dothi_audit_view_get_selected_action (DothiAuditView *self)
{
  GtkListBoxRow *row;
  int index;

  g_return_val_if_fail (DOTHI_IS_AUDIT_VIEW (self), 0);

  row = gtk_list_box_get_selected_row (self->list);
  index = row ? gtk_list_box_row_get_index (row) : -1;
  if (self->info != NULL || index < 0 || (guint) index >= self->action_ids->len)
    return 0;
  return g_array_index (self->action_ids, gint64, index);
}
