/* dothi-query-dialog.c: the query builder. The rows write the query text
 * (dothi-query.h); a typed expression replaces them for parentheses and
 * NOT. A change recounts after a short pause, on a worker; Run selects. */
#define G_LOG_DOMAIN "dothi-query-dialog"

#include "config.h"
#include "dothi-query-dialog.h"
#include "dothi-error.h"
#include "dothi-export.h"
#include "dothi-format.h"
#include "dothi-layer-info.h"
#include "dothi-query-result.h"

#include <glib/gi18n.h>
#include <string.h>

/* Milliseconds of quiet before the count runs again. */
#define COUNT_DELAY 350

static const struct {
  const char *code;
  const char *label;
} operators[] = {
  { "=",           N_("equals") },
  { "<>",          N_("is not") },
  { "<",           N_("is less than") },
  { "<=",          N_("is at most") },
  { ">",           N_("is greater than") },
  { ">=",          N_("is at least") },
  { "contains",    N_("contains") },
  { "starts-with", N_("starts with") },
  { "~=",          N_("equals, ignoring case and tone marks") },
  { "in",          N_("is one of (comma-separated)") },
  { "null",        N_("is empty") },
  { "not-null",    N_("is not empty") },
};

typedef struct {
  gboolean      spatial;
  GtkWidget    *row;
  GtkToggleButton *not_button;
  /* field conditions */
  GtkDropDown  *field;
  GtkDropDown  *op;
  GtkEntry     *value;
  /* location conditions */
  GtkDropDown  *predicate;
  GtkDropDown  *other;
  GtkSpinButton *distance;
  GtkWidget    *distance_box;
  GtkEntry     *other_where;
} Condition;

struct _DothiQueryDialog
{
  AdwWindow       parent_instance;

  DothiProject   *project;
  char           *path;
  GPtrArray      *layers;          /* DothiLayerInfo*: every layer */
  GPtrArray      *spatial_layers;  /* borrowed from layers: with geometry */
  GPtrArray      *conditions;      /* Condition*, owned by their rows */
  gboolean        building;        /* rows are being set up: no recount */

  guint           count_source;
  GCancellable   *count_cancellable;
  gint64          count;
  char           *message;

  GCancellable   *run_cancellable;
  DothiFidSet    *result;
  char           *result_layer;
  char           *result_label;
  GCancellable   *summary_cancellable;
  char           *summary_text;
  GCancellable   *export_cancellable;

  AdwToastOverlay *toasts;
  AdwWindowTitle *window_title;
  AdwComboRow    *layer_row;
  AdwComboRow    *match_row;
  GtkListBox     *condition_list;
  GtkButton      *add_attribute_button;
  GtkButton      *add_spatial_button;
  GtkSwitch      *edit_switch;
  GtkEntry       *expression_entry;
  GtkSpinner     *count_spinner;
  GtkLabel       *count_label;
  GtkWidget      *progress_box;
  GtkProgressBar *progress_bar;
  GtkWidget      *result_group;
  AdwComboRow    *group_row;
  GtkLabel       *summary_label;
  GtkListBox     *saved_list;
  GtkPopover     *saved_popover;
};

G_DEFINE_FINAL_TYPE (DothiQueryDialog, dothi_query_dialog, ADW_TYPE_WINDOW)

enum {
  RESULT,
  SHOW_TABLE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void schedule_count (DothiQueryDialog *self);
static void update_actions (DothiQueryDialog *self);
static void refresh_saved (DothiQueryDialog *self);

/* ---- the target layer ----------------------------------------------------- */

static const DothiLayerInfo *
target_info (DothiQueryDialog *self)
{
  guint i = adw_combo_row_get_selected (self->layer_row);

  return i < self->layers->len ? g_ptr_array_index (self->layers, i) : NULL;
}

static const char *
layer_title (const DothiLayerInfo *info)
{
  return info->title != NULL && info->title[0] != '\0' ? info->title : info->name;
}

static GtkStringList *
field_model (const DothiLayerInfo *info)
{
  GtkStringList *list = gtk_string_list_new (NULL);

  gtk_string_list_append (list, "fid");
  if (info != NULL)
    for (guint i = 0; i < info->fields->len; i++)
      {
        const DothiField *f = g_ptr_array_index (info->fields, i);

        if (f->type != DOTHI_FIELD_BLOB)
          gtk_string_list_append (list, f->name);
      }
  return list;
}

static const char *
dropdown_string (GtkDropDown *dropdown)
{
  GObject *item = gtk_drop_down_get_selected_item (dropdown);

  return item != NULL ? gtk_string_object_get_string (GTK_STRING_OBJECT (item)) : NULL;
}

static gboolean
select_string (GtkDropDown *dropdown, const char *text)
{
  GListModel *model = gtk_drop_down_get_model (dropdown);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GtkStringObject) item = g_list_model_get_item (model, i);

      if (g_ascii_strcasecmp (gtk_string_object_get_string (item), text) == 0)
        {
          gtk_drop_down_set_selected (dropdown, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- writing the text ----------------------------------------------------- */

static void
append_identifier (GString *text, const char *name)
{
  g_string_append_c (text, '"');
  for (const char *p = name; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (text, '"');
      g_string_append_c (text, *p);
    }
  g_string_append_c (text, '"');
}

static void
append_literal (GString *text, DothiFieldType type, const char *value)
{
  g_autofree char *v = g_strstrip (g_strdup (value));

  if (type == DOTHI_FIELD_INTEGER || type == DOTHI_FIELD_REAL || type == DOTHI_FIELD_BOOLEAN)
    {
      /* Numbers as typed; a decimal comma is the Vietnamese habit. */
      if (type == DOTHI_FIELD_REAL)
        g_strdelimit (v, ",", '.');
      g_string_append (text, v[0] != '\0' ? v : "''");
      return;
    }
  g_string_append_c (text, '\'');
  for (const char *p = v; *p != '\0'; p++)
    {
      if (*p == '\'')
        g_string_append_c (text, '\'');
      g_string_append_c (text, *p);
    }
  g_string_append_c (text, '\'');
}

static DothiFieldType
field_type (const DothiLayerInfo *info, const char *name)
{
  int i = info != NULL ? dothi_layer_info_find_field (info, name) : -1;

  if (i < 0)
    return DOTHI_FIELD_INTEGER;   /* fid */
  return ((const DothiField *) g_ptr_array_index (info->fields, i))->type;
}

static gboolean
append_condition (DothiQueryDialog *self, const Condition *c, GString *text)
{
  g_autoptr(GString) piece = g_string_new (NULL);

  if (c->spatial)
    {
      guint p = gtk_drop_down_get_selected (c->predicate);
      guint o = gtk_drop_down_get_selected (c->other);
      const DothiLayerInfo *other;
      g_autofree char *where = NULL;

      if (p >= DOTHI_N_SPATIAL_PREDICATES || o >= self->spatial_layers->len)
        return FALSE;
      other = g_ptr_array_index (self->spatial_layers, o);
      g_string_append_printf (piece, "%s(", dothi_spatial_predicate_to_string (p));
      append_identifier (piece, other->name);
      if (p == DOTHI_SPATIAL_WITHIN_DISTANCE)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append_printf (piece, ", %s",
                                  g_ascii_formatd (buf, sizeof buf, "%g",
                                                   gtk_spin_button_get_value (c->distance)));
        }
      where = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (c->other_where))));
      if (where[0] != '\0')
        g_string_append_printf (piece, ", %s", where);
      g_string_append_c (piece, ')');
    }
  else
    {
      const char *field = dropdown_string (c->field);
      guint op = gtk_drop_down_get_selected (c->op);
      const char *code;
      const char *value = gtk_editable_get_text (GTK_EDITABLE (c->value));
      DothiFieldType type;

      if (field == NULL || op >= G_N_ELEMENTS (operators))
        return FALSE;
      code = operators[op].code;
      type = field_type (target_info (self), field);
      append_identifier (piece, field);
      if (strcmp (code, "null") == 0)
        g_string_append (piece, " IS NULL");
      else if (strcmp (code, "not-null") == 0)
        g_string_append (piece, " IS NOT NULL");
      else if (strcmp (code, "contains") == 0 || strcmp (code, "starts-with") == 0)
        {
          g_autofree char *pattern = g_strdup_printf ("%s%s%%", code[0] == 'c' ? "%" : "",
                                                      value);
          g_string_append (piece, " ILIKE ");
          append_literal (piece, DOTHI_FIELD_TEXT, pattern);
        }
      else if (strcmp (code, "in") == 0)
        {
          g_auto(GStrv) parts = g_strsplit (value, ",", -1);

          g_string_append (piece, " IN (");
          for (guint i = 0; parts[i] != NULL; i++)
            {
              if (i > 0)
                g_string_append (piece, ", ");
              append_literal (piece, type, parts[i]);
            }
          g_string_append_c (piece, ')');
        }
      else
        {
          g_string_append_printf (piece, " %s ", code);
          append_literal (piece, strcmp (code, "~=") == 0 ? DOTHI_FIELD_TEXT : type, value);
        }
    }

  if (gtk_toggle_button_get_active (c->not_button))
    g_string_append_printf (text, "NOT (%s)", piece->str);
  else
    g_string_append (text, piece->str);
  return TRUE;
}

static void
write_expression (DothiQueryDialog *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean any = adw_combo_row_get_selected (self->match_row) == 1;

  if (gtk_switch_get_active (self->edit_switch))
    return;
  for (guint i = 0; i < self->conditions->len; i++)
    {
      gsize before = text->len;

      if (text->len > 0)
        g_string_append (text, any ? " OR " : " AND ");
      if (!append_condition (self, g_ptr_array_index (self->conditions, i), text))
        g_string_truncate (text, before);
    }
  gtk_editable_set_text (GTK_EDITABLE (self->expression_entry), text->str);
}

static void
changed (DothiQueryDialog *self)
{
  if (self->building)
    return;
  write_expression (self);
  schedule_count (self);
}

/* ---- condition rows ------------------------------------------------------- */

static void
condition_changed_cb (DothiQueryDialog *self)
{
  changed (self);
}

static void
predicate_changed_cb (GtkDropDown *dropdown, GParamSpec *pspec, Condition *c)
{
  gtk_widget_set_visible (c->distance_box,
                          gtk_drop_down_get_selected (dropdown) == DOTHI_SPATIAL_WITHIN_DISTANCE);
}

static void
remove_clicked_cb (GtkButton *button, DothiQueryDialog *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);
  Condition *c = g_object_get_data (G_OBJECT (row), "dothi-condition");

  g_ptr_array_remove (self->conditions, c);
  gtk_list_box_remove (self->condition_list, row);
  changed (self);
}

static GtkDropDown *
new_dropdown (GListModel *model)
{
  /* gtk_drop_down_new() takes both references. */
  GtkWidget *dropdown = gtk_drop_down_new (g_object_ref (model), NULL);

  gtk_widget_set_valign (dropdown, GTK_ALIGN_CENTER);
  return GTK_DROP_DOWN (dropdown);
}

static Condition *
add_row (DothiQueryDialog *self, gboolean spatial)
{
  Condition *c = g_new0 (Condition, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *remove = gtk_button_new_from_icon_name ("list-remove-symbolic");

  c->spatial = spatial;
  c->row = gtk_list_box_row_new ();
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (c->row), FALSE);
  g_object_set_data_full (G_OBJECT (c->row), "dothi-condition", c, g_free);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 8);
  gtk_widget_set_margin_end (box, 8);

  c->not_button = GTK_TOGGLE_BUTTON (gtk_toggle_button_new_with_label (
    /* Translators: toggle before a condition that negates it */
    C_("condition", "Not")));
  gtk_widget_set_valign (GTK_WIDGET (c->not_button), GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (GTK_WIDGET (c->not_button), _("Keep the features that do not meet this condition"));
  gtk_box_append (GTK_BOX (line), GTK_WIDGET (c->not_button));
  g_signal_connect_swapped (c->not_button, "toggled", G_CALLBACK (condition_changed_cb), self);

  if (spatial)
    {
      g_autoptr(GtkStringList) predicates = gtk_string_list_new (NULL);
      g_autoptr(GtkStringList) others = gtk_string_list_new (NULL);
      GtkWidget *metres;

      for (guint i = 0; i < DOTHI_N_SPATIAL_PREDICATES; i++)
        gtk_string_list_append (predicates, dothi_spatial_predicate_to_label (i));
      for (guint i = 0; i < self->spatial_layers->len; i++)
        gtk_string_list_append (others, layer_title (g_ptr_array_index (self->spatial_layers, i)));
      c->predicate = new_dropdown (G_LIST_MODEL (predicates));
      c->other = new_dropdown (G_LIST_MODEL (others));
      gtk_widget_set_hexpand (GTK_WIDGET (c->other), TRUE);
      c->distance = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 100000, 1));
      gtk_spin_button_set_value (c->distance, 50);
      gtk_widget_set_valign (GTK_WIDGET (c->distance), GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (c->distance), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Distance in metres"), -1);
      c->distance_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
      gtk_box_append (GTK_BOX (c->distance_box), GTK_WIDGET (c->distance));
      /* Translators: unit after the distance box */
      metres = gtk_label_new (_("m of"));
      gtk_box_append (GTK_BOX (c->distance_box), metres);
      c->other_where = GTK_ENTRY (gtk_entry_new ());
      gtk_entry_set_placeholder_text (c->other_where,
                                      /* Translators: placeholder of the box that picks which features of the other layer count */
                                      _("Only its features where… (e.g. duong_kinh_mm >= 300)"));
      gtk_widget_add_css_class (GTK_WIDGET (c->other_where), "monospace");

      gtk_box_append (GTK_BOX (line), GTK_WIDGET (c->predicate));
      gtk_box_append (GTK_BOX (line), c->distance_box);
      gtk_box_append (GTK_BOX (line), GTK_WIDGET (c->other));
      g_signal_connect (c->predicate, "notify::selected", G_CALLBACK (predicate_changed_cb), c);
      g_signal_connect_swapped (c->predicate, "notify::selected", G_CALLBACK (condition_changed_cb), self);
      g_signal_connect_swapped (c->other, "notify::selected", G_CALLBACK (condition_changed_cb), self);
      g_signal_connect_swapped (c->distance, "value-changed", G_CALLBACK (condition_changed_cb), self);
      g_signal_connect_swapped (c->other_where, "changed", G_CALLBACK (condition_changed_cb), self);
    }
  else
    {
      g_autoptr(GtkStringList) fields = field_model (target_info (self));
      g_autoptr(GtkStringList) ops = gtk_string_list_new (NULL);

      for (guint i = 0; i < G_N_ELEMENTS (operators); i++)
        gtk_string_list_append (ops, _(operators[i].label));
      c->field = new_dropdown (G_LIST_MODEL (fields));
      gtk_drop_down_set_enable_search (c->field, TRUE);
      c->op = new_dropdown (G_LIST_MODEL (ops));
      c->value = GTK_ENTRY (gtk_entry_new ());
      gtk_widget_set_hexpand (GTK_WIDGET (c->value), TRUE);
      gtk_entry_set_placeholder_text (c->value, _("Value"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (c->value), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Value"), -1);
      gtk_box_append (GTK_BOX (line), GTK_WIDGET (c->field));
      gtk_box_append (GTK_BOX (line), GTK_WIDGET (c->op));
      g_signal_connect_swapped (c->field, "notify::selected", G_CALLBACK (condition_changed_cb), self);
      g_signal_connect_swapped (c->op, "notify::selected", G_CALLBACK (condition_changed_cb), self);
      g_signal_connect_swapped (c->value, "changed", G_CALLBACK (condition_changed_cb), self);
      g_signal_connect_swapped (c->value, "activate", G_CALLBACK (dothi_query_dialog_run), self);
    }

  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, _("Remove this condition"));
  g_signal_connect (remove, "clicked", G_CALLBACK (remove_clicked_cb), self);
  if (!spatial)
    gtk_box_append (GTK_BOX (line), GTK_WIDGET (c->value));
  gtk_box_append (GTK_BOX (line), remove);
  gtk_box_append (GTK_BOX (box), line);
  if (spatial)
    gtk_box_append (GTK_BOX (box), GTK_WIDGET (c->other_where));
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (c->row), box);
  gtk_list_box_append (self->condition_list, c->row);
  g_ptr_array_add (self->conditions, c);
  return c;
}

static void
clear_rows (DothiQueryDialog *self, gboolean spatial_too)
{
  for (guint i = self->conditions->len; i > 0; i--)
    {
      Condition *c = g_ptr_array_index (self->conditions, i - 1);

      if (c->spatial && !spatial_too)
        continue;
      g_ptr_array_remove_index (self->conditions, i - 1);
      gtk_list_box_remove (self->condition_list, c->row);
    }
}

static void
add_attribute_clicked_cb (DothiQueryDialog *self)
{
  Condition *c = add_row (self, FALSE);

  changed (self);
  gtk_widget_grab_focus (GTK_WIDGET (c->value));
}

static void
add_spatial_clicked_cb (DothiQueryDialog *self)
{
  add_row (self, TRUE);
  changed (self);
}

/* ---- counting and running ------------------------------------------------- */

static void
set_message (DothiQueryDialog *self, const char *message, gboolean error)
{
  g_free (self->message);
  self->message = g_strdup (message);
  gtk_label_set_text (self->count_label, message);
  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self->count_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->count_label), "error");
}

static const char *
current_text (DothiQueryDialog *self)
{
  return gtk_editable_get_text (GTK_EDITABLE (self->expression_entry));
}

/* The query as it stands, or NULL with the message shown. */
static DothiQuery *
make_query (DothiQueryDialog *self)
{
  const DothiLayerInfo *info = target_info (self);
  g_autoptr(GError) error = NULL;
  DothiQuery *query;

  if (info == NULL)
    return NULL;
  query = dothi_query_new (self->path, info->name, current_text (self), &error);
  if (query == NULL)
    {
      self->count = -1;
      set_message (self, error->message, TRUE);
    }
  return query;
}

typedef struct {
  DothiQueryDialog *self;
  DothiQuery       *query;
} Job;

static void
job_free (Job *job)
{
  g_object_unref (job->self);
  dothi_query_free (job->query);
  g_free (job);
}

static void
count_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  DothiQueryDialog *self = job->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = dothi_query_run_finish (job->query, result, &error);

  if (fids == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      job_free (job);
      return;
    }
  g_clear_object (&self->count_cancellable);
  gtk_spinner_stop (self->count_spinner);
  if (fids == NULL)
    {
      self->count = -1;
      set_message (self, error->message, TRUE);
    }
  else
    {
      const DothiLayerInfo *info = target_info (self);
      g_autofree char *n = dothi_format_int64 (dothi_fid_set_get_size (fids));
      g_autofree char *total = dothi_format_int64 (info != NULL ? info->feature_count : 0);
      g_autofree char *text = NULL;

      self->count = dothi_fid_set_get_size (fids);
      /* Translators: count, total, layer title: the live count of the query builder */
      text = g_strdup_printf (ngettext ("%s of %s features of “%s” meets the conditions",
                                        "%s of %s features of “%s” meet the conditions",
                                        (gulong) self->count),
                              n, total, info != NULL ? layer_title (info) : "");
      set_message (self, text, FALSE);
    }
  update_actions (self);
  job_free (job);
}

static gboolean
count_timeout_cb (gpointer data)
{
  DothiQueryDialog *self = data;
  DothiQuery *query;
  Job *job;

  self->count_source = 0;
  if (self->count_cancellable != NULL)
    g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);

  query = make_query (self);
  if (query == NULL)
    {
      gtk_spinner_stop (self->count_spinner);
      update_actions (self);
      return G_SOURCE_REMOVE;
    }
  self->count_cancellable = g_cancellable_new ();
  job = g_new0 (Job, 1);
  job->self = g_object_ref (self);
  job->query = query;
  gtk_spinner_start (self->count_spinner);
  set_message (self, _("Counting…"), FALSE);
  dothi_query_run_async (query, NULL, NULL, self->count_cancellable, count_done_cb, job);
  update_actions (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_count (DothiQueryDialog *self)
{
  g_clear_handle_id (&self->count_source, g_source_remove);
  self->count = -1;
  gtk_spinner_start (self->count_spinner);
  self->count_source = g_timeout_add (COUNT_DELAY, count_timeout_cb, self);
  update_actions (self);
}

/* In the user's number format ("12,35 ha" in Vietnamese). */
static char *
format_measure (double value, gboolean area)
{
  gboolean large = area ? value >= 10000 : value >= 1000;
  g_autofree char *number = dothi_format_double (large ? value / (area ? 10000 : 1000) : value,
                                                 large ? 2 : 1);

  if (area)
    /* Translators: an area; the number is formatted already */
    return large ? g_strdup_printf (_("%s ha"), number) : g_strdup_printf (_("%s m²"), number);
  /* Translators: a length; the number is formatted already */
  return large ? g_strdup_printf (_("%s km"), number) : g_strdup_printf (_("%s m"), number);
}

static void
append_summary_row (GString *text, const char *key, const DothiSummaryRow *row,
                    DothiGeometryKind kind)
{
  g_autofree char *n = dothi_format_int64 (row->count);
  g_autofree char *measure = NULL;

  if (kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
    measure = format_measure (row->area, TRUE);
  else if (kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING)
    measure = format_measure (row->length, FALSE);
  g_string_append_printf (text, "%-24s %10s  %s\n", key, n, measure != NULL ? measure : "");
}

static void
summary_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  char **args = data;   /* path, layer, field or NULL */
  DothiFidSet *fids = g_object_get_data (G_OBJECT (task), "dothi-fids");
  GError *error = NULL;
  DothiSummary *summary = dothi_query_summarize (args[0], args[1], fids, args[2],
                                                 cancellable, &error);

  if (summary == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, summary, (GDestroyNotify) dothi_summary_free);
}

static void
summary_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiSummary) summary = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(GString) text = g_string_new (NULL);
  const DothiLayerInfo *info;

  if (summary == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->summary_cancellable);
  info = NULL;
  for (guint i = 0; i < self->layers->len && self->result_layer != NULL; i++)
    if (strcmp (((const DothiLayerInfo *) g_ptr_array_index (self->layers, i))->name,
                self->result_layer) == 0)
      info = g_ptr_array_index (self->layers, i);
  if (summary == NULL)
    g_string_append (text, error->message);
  else
    {
      DothiGeometryKind kind = info != NULL ? info->kind : DOTHI_GEOMETRY_KIND_NONE;

      /* Translators: first row of the query summary */
      append_summary_row (text, _("Total"), &summary->total, kind);
      for (guint i = 0; i < summary->groups->len; i++)
        {
          const DothiSummaryRow *row = g_ptr_array_index (summary->groups, i);

          /* Translators: a group of the summary whose field is empty */
          append_summary_row (text, row->key != NULL ? row->key : _("(empty)"), row, kind);
        }
    }
  g_free (self->summary_text);
  self->summary_text = g_string_free (g_steal_pointer (&text), FALSE);
  gtk_label_set_text (self->summary_label, self->summary_text);
}

static void
update_summary (DothiQueryDialog *self)
{
  g_autoptr(GTask) task = NULL;
  guint group = adw_combo_row_get_selected (self->group_row);
  GObject *item = adw_combo_row_get_selected_item (self->group_row);
  char **args;

  if (self->summary_cancellable != NULL)
    g_cancellable_cancel (self->summary_cancellable);
  g_clear_object (&self->summary_cancellable);
  if (self->result == NULL)
    return;
  self->summary_cancellable = g_cancellable_new ();
  args = g_new0 (char *, 4);
  args[0] = g_strdup (self->path);
  args[1] = g_strdup (self->result_layer);
  args[2] = group > 0 && item != NULL
            ? g_strdup (gtk_string_object_get_string (GTK_STRING_OBJECT (item))) : NULL;
  task = g_task_new (self, self->summary_cancellable, summary_done_cb, NULL);
  g_task_set_task_data (task, args, (GDestroyNotify) g_strfreev);
  g_object_set_data_full (G_OBJECT (task), "dothi-fids", dothi_fid_set_ref (self->result),
                          (GDestroyNotify) dothi_fid_set_unref);
  g_clear_pointer (&self->summary_text, g_free);
  gtk_label_set_text (self->summary_label, _("Summing…"));
  g_task_run_in_thread (task, summary_thread);
}

static void
run_progress_cb (double fraction, const char *stage, gpointer data)
{
  DothiQueryDialog *self = data;

  if (self->run_cancellable != NULL)
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);
}

static void
run_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  DothiQueryDialog *self = job->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFidSet) fids = dothi_query_run_finish (job->query, result, &error);

  g_clear_object (&self->run_cancellable);
  gtk_widget_set_visible (self->progress_box, FALSE);
  if (fids == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_message (self, _("The query was cancelled"), FALSE);
      else
        set_message (self, error->message, TRUE);
    }
  else
    {
      const DothiLayerInfo *info = target_info (self);
      g_autofree char *n = dothi_format_int64 (dothi_fid_set_get_size (fids));
      g_autofree char *text = NULL;

      g_clear_pointer (&self->result, dothi_fid_set_unref);
      self->result = dothi_fid_set_ref (fids);
      g_free (self->result_layer);
      self->result_layer = g_strdup (dothi_query_get_layer (job->query));
      g_free (self->result_label);
      self->result_label = g_strdup (dothi_query_get_text (job->query));
      self->count = dothi_fid_set_get_size (fids);
      /* Translators: count, layer title: after Run */
      text = g_strdup_printf (ngettext ("%s feature of “%s” selected",
                                        "%s features of “%s” selected",
                                        (gulong) self->count),
                              n, info != NULL ? layer_title (info) : self->result_layer);
      set_message (self, text, FALSE);
      gtk_widget_set_visible (self->result_group, TRUE);
      update_summary (self);
      g_signal_emit (self, signals[RESULT], 0, self->result_layer, self->result,
                     self->result_label);
    }
  update_actions (self);
  job_free (job);
}

void
dothi_query_dialog_run (DothiQueryDialog *self)
{
  DothiQuery *query;
  Job *job;

  g_return_if_fail (DOTHI_IS_QUERY_DIALOG (self));

  if (self->run_cancellable != NULL)
    return;
  /* The run answers the count too. */
  g_clear_handle_id (&self->count_source, g_source_remove);
  if (self->count_cancellable != NULL)
    g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);
  gtk_spinner_stop (self->count_spinner);

  query = make_query (self);
  if (query == NULL)
    {
      update_actions (self);
      return;
    }
  self->run_cancellable = g_cancellable_new ();
  job = g_new0 (Job, 1);
  job->self = g_object_ref (self);
  job->query = query;
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (self->progress_box, TRUE);
  set_message (self, _("Running the query…"), FALSE);
  dothi_query_run_async (query, run_progress_cb, self, self->run_cancellable, run_done_cb, job);
  update_actions (self);
}

void
dothi_query_dialog_cancel (DothiQueryDialog *self)
{
  g_return_if_fail (DOTHI_IS_QUERY_DIALOG (self));

  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  if (self->export_cancellable != NULL)
    g_cancellable_cancel (self->export_cancellable);
}

/* ---- results -------------------------------------------------------------- */

static void
toast (DothiQueryDialog *self, const char *text)
{
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (text));
}

static char *
ask_name_text (AdwMessageDialog *dialog)
{
  GtkWidget *entry = adw_message_dialog_get_extra_child (dialog);

  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
}

static void
save_layer_response_cb (AdwMessageDialog *dialog, const char *response, DothiQueryDialog *self)
{
  g_autofree char *name = NULL;
  g_autofree char *table = NULL;
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (response, "save") != 0 || self->result == NULL)
    return;
  name = ask_name_text (dialog);
  if (name[0] == '\0')
    return;
  if (dothi_query_save_layer (self->project, self->result_layer, self->result, name, name,
                              &table, &error) == 0)
    {
      toast (self, error->message);
      return;
    }
  {
    /* Translators: a layer title */
    g_autofree char *text = g_strdup_printf (_("Saved as the new layer “%s”"), name);
    toast (self, text);
  }
}

static AdwMessageDialog *
ask_name (DothiQueryDialog *self, const char *heading, const char *body,
          const char *initial, const char *action_label)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
  GtkWidget *entry = gtk_entry_new ();

  gtk_editable_set_text (GTK_EDITABLE (entry), initial);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "save", action_label,
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  return ADW_MESSAGE_DIALOG (dialog);
}

static void
save_layer_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (widget);
  const DothiLayerInfo *info = target_info (self);
  g_autofree char *initial = NULL;
  AdwMessageDialog *dialog;

  if (self->result == NULL)
    return;
  /* Translators: default name of a layer made from a query, with the layer's title */
  initial = g_strdup_printf (_("%s (query)"), info != NULL ? layer_title (info) : self->result_layer);
  dialog = ask_name (self, _("Save as Layer"),
                     _("The features found become a new layer of the project, with the same fields. Undo removes it."),
                     initial, _("_Save"));
  g_signal_connect (dialog, "response", G_CALLBACK (save_layer_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
save_query_response_cb (AdwMessageDialog *dialog, const char *response, DothiQueryDialog *self)
{
  g_autofree char *name = NULL;
  g_autoptr(GError) error = NULL;
  const DothiLayerInfo *info = target_info (self);

  if (g_strcmp0 (response, "save") != 0 || info == NULL)
    return;
  name = ask_name_text (dialog);
  if (name[0] == '\0')
    return;
  if (!dothi_saved_query_store (self->project, name, info->name, current_text (self), NULL, &error))
    {
      toast (self, error->message);
      return;
    }
  {
    /* Translators: a query name */
    g_autofree char *text = g_strdup_printf (_("Query “%s” saved in the project"), name);
    toast (self, text);
  }
  refresh_saved (self);
}

static void
save_query_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (widget);
  AdwMessageDialog *dialog = ask_name (self, _("Save Query"),
                                       _("The query is kept in the project file, to run again from Saved Queries."),
                                       "", _("_Save"));

  g_signal_connect (dialog, "response", G_CALLBACK (save_query_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
show_table_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (widget);

  if (self->result != NULL)
    g_signal_emit (self, signals[SHOW_TABLE], 0, self->result_layer, self->result,
                   self->result_label);
}

typedef struct {
  char        *path;
  char        *layer;
  char        *out;
  DothiFidSet *fids;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->path);
  g_free (job->layer);
  g_free (job->out);
  dothi_fid_set_unref (job->fids);
  g_free (job);
}

static void
export_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *job = data;
  GError *error = NULL;

  if (dothi_query_export (job->path, job->layer, job->fids, job->out, NULL, cancellable,
                          NULL, NULL, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
export_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (source);
  g_autoptr(GError) error = NULL;
  ExportJob *job = g_task_get_task_data (G_TASK (result));
  g_autofree char *base = g_path_get_basename (job->out);

  g_clear_object (&self->export_cancellable);
  gtk_widget_set_visible (self->progress_box, FALSE);
  gtk_progress_bar_set_pulse_step (self->progress_bar, 0.1);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    toast (self, error->message);
  else
    {
      /* Translators: a file name */
      g_autofree char *text = g_strdup_printf (_("Exported to “%s”"), base);
      toast (self, text);
    }
  update_actions (self);
}

static void
export_response_cb (GtkNativeDialog *chooser, int response, DothiQueryDialog *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GTask) task = NULL;
  ExportJob *job;

  if (response == GTK_RESPONSE_ACCEPT && self->result != NULL)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  if (file == NULL)
    return;

  job = g_new0 (ExportJob, 1);
  job->path = g_strdup (self->path);
  job->layer = g_strdup (self->result_layer);
  job->out = g_file_get_path (file);
  job->fids = dothi_fid_set_ref (self->result);
  if (dothi_export_driver_for (NULL, job->out) == NULL)
    {
      g_autofree char *name = g_strconcat (job->out, ".gpkg", NULL);
      g_free (job->out);
      job->out = g_steal_pointer (&name);
    }
  self->export_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->export_cancellable, export_done_cb, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  gtk_progress_bar_pulse (self->progress_bar);
  gtk_widget_set_visible (self->progress_box, TRUE);
  g_task_run_in_thread (task, export_thread);
  update_actions (self);
}

static void
add_filter (GtkFileChooser *chooser, const char *name, const char *pattern)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_chooser_add_filter (chooser, filter);
}

static void
export_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;

  if (self->result == NULL || self->export_cancellable != NULL)
    return;
  chooser = gtk_file_chooser_native_new (_("Export the Query Result"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (chooser), _("GeoPackage (*.gpkg)"), "*.gpkg");
  add_filter (GTK_FILE_CHOOSER (chooser), _("GeoJSON (*.geojson)"), "*.geojson");
  add_filter (GTK_FILE_CHOOSER (chooser), _("CSV (*.csv)"), "*.csv");
  name = g_strconcat (self->result_layer, "-query.gpkg", NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", G_CALLBACK (export_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- saved queries -------------------------------------------------------- */

static void
saved_activated_cb (GtkListBox *list, GtkListBoxRow *row, DothiQueryDialog *self)
{
  const char *layer = g_object_get_data (G_OBJECT (row), "dothi-layer");
  const char *text = g_object_get_data (G_OBJECT (row), "dothi-text");

  gtk_popover_popdown (self->saved_popover);
  if (layer == NULL || !dothi_query_dialog_set_layer (self, layer))
    {
      /* Translators: a layer name */
      g_autofree char *message = g_strdup_printf (_("The saved query is about layer “%s”, which is no longer in the project"),
                                                  layer != NULL ? layer : "");
      toast (self, message);
      return;
    }
  dothi_query_dialog_set_expression (self, text);
}

static void
delete_saved_clicked_cb (GtkButton *button, DothiQueryDialog *self)
{
  const char *name = g_object_get_data (G_OBJECT (button), "dothi-name");
  g_autoptr(GError) error = NULL;

  if (!dothi_saved_query_delete (self->project, name, &error))
    toast (self, error->message);
  refresh_saved (self);
}

static void
refresh_saved (DothiQueryDialog *self)
{
  g_autoptr(GPtrArray) saved = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->saved_list))) != NULL)
    gtk_list_box_remove (self->saved_list, child);
  saved = dothi_saved_query_list (self->project, NULL);
  if (saved == NULL)
    return;
  for (guint i = 0; i < saved->len; i++)
    {
      const DothiSavedQuery *q = g_ptr_array_index (saved, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
      g_autofree char *subtitle = g_strdup_printf ("%s: %s", q->layer, q->text);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), q->name);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "dothi-layer", g_strdup (q->layer), g_free);
      g_object_set_data_full (G_OBJECT (row), "dothi-text", g_strdup (q->text), g_free);
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_tooltip_text (remove, _("Delete this saved query"));
      g_object_set_data_full (G_OBJECT (remove), "dothi-name", g_strdup (q->name), g_free);
      g_signal_connect (remove, "clicked", G_CALLBACK (delete_saved_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
      gtk_list_box_append (self->saved_list, row);
    }
}

/* ---- actions -------------------------------------------------------------- */

static void
update_actions (DothiQueryDialog *self)
{
  gboolean running = self->run_cancellable != NULL;
  gboolean has_result = self->result != NULL && !running;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "query.run", !running && target_info (self) != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "query.cancel",
                                 running || self->export_cancellable != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "query.show-table", has_result);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "query.save-layer",
                                 has_result && !dothi_project_get_read_only (self->project));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "query.export",
                                 has_result && self->export_cancellable == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "query.save-query",
                                 !running && !dothi_project_get_read_only (self->project));
}

static void
run_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  dothi_query_dialog_run (DOTHI_QUERY_DIALOG (widget));
}

static void
cancel_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  dothi_query_dialog_cancel (DOTHI_QUERY_DIALOG (widget));
}

static void
cancel_or_close_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (widget);

  if (self->run_cancellable != NULL || self->export_cancellable != NULL)
    dothi_query_dialog_cancel (self);
  else
    gtk_window_close (GTK_WINDOW (self));
}

/* ---- widget --------------------------------------------------------------- */

static void
layer_changed_cb (DothiQueryDialog *self)
{
  const DothiLayerInfo *info = target_info (self);
  g_autoptr(GtkStringList) fields = NULL;
  g_autoptr(GtkStringList) groups = gtk_string_list_new (NULL);

  /* Field conditions name the old layer's fields. */
  clear_rows (self, FALSE);
  /* Translators: choice of Summary by: no grouping */
  gtk_string_list_append (groups, _("(no grouping)"));
  if (info != NULL)
    for (guint i = 0; i < info->fields->len; i++)
      {
        const DothiField *f = g_ptr_array_index (info->fields, i);
        if (f->type != DOTHI_FIELD_BLOB)
          gtk_string_list_append (groups, f->name);
      }
  adw_combo_row_set_model (self->group_row, G_LIST_MODEL (groups));
  if (info != NULL)
    adw_window_title_set_subtitle (self->window_title, layer_title (info));
  changed (self);
}

static void
edit_switch_cb (DothiQueryDialog *self)
{
  gboolean typed = gtk_switch_get_active (self->edit_switch);

  gtk_editable_set_editable (GTK_EDITABLE (self->expression_entry), typed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->condition_list), !typed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_attribute_button), !typed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_spatial_button), !typed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->match_row), !typed);
  if (typed)
    gtk_widget_grab_focus (GTK_WIDGET (self->expression_entry));
  else
    changed (self);
}

static void
expression_changed_cb (DothiQueryDialog *self)
{
  if (gtk_switch_get_active (self->edit_switch))
    schedule_count (self);
}

static void
dothi_query_dialog_dispose (GObject *object)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (object);

  g_clear_handle_id (&self->count_source, g_source_remove);
  if (self->count_cancellable != NULL)
    g_cancellable_cancel (self->count_cancellable);
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  if (self->summary_cancellable != NULL)
    g_cancellable_cancel (self->summary_cancellable);
  if (self->export_cancellable != NULL)
    g_cancellable_cancel (self->export_cancellable);
  g_clear_object (&self->count_cancellable);
  g_clear_object (&self->run_cancellable);
  g_clear_object (&self->summary_cancellable);
  g_clear_object (&self->export_cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_QUERY_DIALOG);
  g_clear_object (&self->project);
  G_OBJECT_CLASS (dothi_query_dialog_parent_class)->dispose (object);
}

static void
dothi_query_dialog_finalize (GObject *object)
{
  DothiQueryDialog *self = DOTHI_QUERY_DIALOG (object);

  g_free (self->path);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_pointer (&self->spatial_layers, g_ptr_array_unref);
  g_clear_pointer (&self->conditions, g_ptr_array_unref);
  g_clear_pointer (&self->result, dothi_fid_set_unref);
  g_free (self->result_layer);
  g_free (self->result_label);
  g_free (self->summary_text);
  g_free (self->message);
  G_OBJECT_CLASS (dothi_query_dialog_parent_class)->finalize (object);
}

static void
dothi_query_dialog_class_init (DothiQueryDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_query_dialog_dispose;
  object_class->finalize = dothi_query_dialog_finalize;

  signals[RESULT] = g_signal_new ("result", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                  G_TYPE_STRING, DOTHI_TYPE_FID_SET, G_TYPE_STRING);
  signals[SHOW_TABLE] = g_signal_new ("show-table", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                      G_TYPE_STRING, DOTHI_TYPE_FID_SET, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/vn/dothi/Dothi/ui/dothi-query-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, toasts);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, layer_row);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, match_row);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, condition_list);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, add_attribute_button);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, add_spatial_button);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, edit_switch);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, expression_entry);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, count_spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, count_label);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, progress_box);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, result_group);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, group_row);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, summary_label);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, saved_list);
  gtk_widget_class_bind_template_child (widget_class, DothiQueryDialog, saved_popover);

  gtk_widget_class_install_action (widget_class, "query.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "query.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "query.cancel-or-close", NULL, cancel_or_close_action);
  gtk_widget_class_install_action (widget_class, "query.show-table", NULL, show_table_action);
  gtk_widget_class_install_action (widget_class, "query.save-layer", NULL, save_layer_action);
  gtk_widget_class_install_action (widget_class, "query.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "query.save-query", NULL, save_query_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "query.run", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK, "query.run", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "query.cancel-or-close", NULL);
}

static void
dothi_query_dialog_init (DothiQueryDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->conditions = g_ptr_array_new ();
  self->count = -1;
  g_signal_connect_swapped (self->add_attribute_button, "clicked", G_CALLBACK (add_attribute_clicked_cb), self);
  g_signal_connect_swapped (self->add_spatial_button, "clicked", G_CALLBACK (add_spatial_clicked_cb), self);
  g_signal_connect_swapped (self->match_row, "notify::selected", G_CALLBACK (condition_changed_cb), self);
  g_signal_connect_swapped (self->edit_switch, "notify::active", G_CALLBACK (edit_switch_cb), self);
  g_signal_connect_swapped (self->expression_entry, "changed", G_CALLBACK (expression_changed_cb), self);
  g_signal_connect_swapped (self->expression_entry, "activate", G_CALLBACK (dothi_query_dialog_run), self);
  g_signal_connect_swapped (self->group_row, "notify::selected", G_CALLBACK (update_summary), self);
  g_signal_connect (self->saved_list, "row-activated", G_CALLBACK (saved_activated_cb), self);
}

DothiQueryDialog *
dothi_query_dialog_new (GtkWindow    *parent,
                        DothiProject *project,
                        const char   *layer)
{
  DothiQueryDialog *self;
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  g_autoptr(GError) error = NULL;
  guint selected = G_MAXUINT;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  self = g_object_new (DOTHI_TYPE_QUERY_DIALOG, "transient-for", parent, NULL);
  if (parent != NULL)
    gtk_window_set_application (GTK_WINDOW (self), gtk_window_get_application (parent));
  self->project = g_object_ref (project);
  self->path = g_strdup (dothi_project_get_path (project));
  self->layers = dothi_project_list_layers (project, &error);
  if (self->layers == NULL)
    {
      self->layers = g_ptr_array_new ();
      set_message (self, error->message, TRUE);
    }
  self->spatial_layers = g_ptr_array_new ();
  for (guint i = 0; i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);

      gtk_string_list_append (titles, layer_title (info));
      if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
        {
          g_ptr_array_add (self->spatial_layers, (gpointer) info);
          if (selected == G_MAXUINT)
            selected = i;
        }
      if (layer != NULL && strcmp (info->name, layer) == 0)
        selected = i;
    }
  self->building = TRUE;
  adw_combo_row_set_model (self->layer_row, G_LIST_MODEL (titles));
  adw_combo_row_set_selected (self->layer_row, selected != G_MAXUINT ? selected : 0);
  self->building = FALSE;
  g_signal_connect_swapped (self->layer_row, "notify::selected", G_CALLBACK (layer_changed_cb), self);
  layer_changed_cb (self);
  refresh_saved (self);
  update_actions (self);
  return self;
}

/* ---- API for the window and tests ----------------------------------------- */

gboolean
dothi_query_dialog_set_layer (DothiQueryDialog *self, const char *layer)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), FALSE);

  for (guint i = 0; i < self->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (self->layers, i);

      if (strcmp (info->name, layer) == 0)
        {
          adw_combo_row_set_selected (self->layer_row, i);
          return TRUE;
        }
    }
  return FALSE;
}

void
dothi_query_dialog_set_match_any (DothiQueryDialog *self, gboolean any)
{
  g_return_if_fail (DOTHI_IS_QUERY_DIALOG (self));
  adw_combo_row_set_selected (self->match_row, any ? 1 : 0);
}

gboolean
dothi_query_dialog_add_attribute (DothiQueryDialog *self,
                                  const char       *field,
                                  const char       *op,
                                  const char       *value)
{
  Condition *c;
  guint k = G_MAXUINT;

  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (operators); i++)
    if (strcmp (operators[i].code, op) == 0)
      k = i;
  if (k == G_MAXUINT)
    return FALSE;
  self->building = TRUE;
  c = add_row (self, FALSE);
  if (!select_string (c->field, field))
    {
      g_ptr_array_remove (self->conditions, c);
      gtk_list_box_remove (self->condition_list, c->row);
      self->building = FALSE;
      return FALSE;
    }
  gtk_drop_down_set_selected (c->op, k);
  gtk_editable_set_text (GTK_EDITABLE (c->value), value != NULL ? value : "");
  self->building = FALSE;
  changed (self);
  return TRUE;
}

gboolean
dothi_query_dialog_add_spatial (DothiQueryDialog      *self,
                                DothiSpatialPredicate  predicate,
                                const char            *other,
                                double                 metres,
                                const char            *other_where)
{
  Condition *c;
  guint k = G_MAXUINT;

  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), FALSE);

  for (guint i = 0; i < self->spatial_layers->len; i++)
    if (strcmp (((const DothiLayerInfo *) g_ptr_array_index (self->spatial_layers, i))->name,
                other) == 0)
      k = i;
  if (k == G_MAXUINT)
    return FALSE;
  self->building = TRUE;
  c = add_row (self, TRUE);
  gtk_drop_down_set_selected (c->predicate, predicate);
  gtk_drop_down_set_selected (c->other, k);
  gtk_spin_button_set_value (c->distance, metres);
  gtk_editable_set_text (GTK_EDITABLE (c->other_where), other_where != NULL ? other_where : "");
  self->building = FALSE;
  changed (self);
  return TRUE;
}

void
dothi_query_dialog_set_expression (DothiQueryDialog *self, const char *text)
{
  g_return_if_fail (DOTHI_IS_QUERY_DIALOG (self));

  gtk_switch_set_active (self->edit_switch, TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->expression_entry), text != NULL ? text : "");
  schedule_count (self);
}

const char *
dothi_query_dialog_get_expression (DothiQueryDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), NULL);
  return current_text (self);
}

gboolean
dothi_query_dialog_get_busy (DothiQueryDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), FALSE);
  return self->count_source != 0 || self->count_cancellable != NULL
         || self->run_cancellable != NULL || self->summary_cancellable != NULL
         || self->export_cancellable != NULL;
}

gint64
dothi_query_dialog_get_count (DothiQueryDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), -1);
  return self->count;
}

DothiFidSet *
dothi_query_dialog_get_result (DothiQueryDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), NULL);
  return self->result;
}

const char *
dothi_query_dialog_get_message (DothiQueryDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), NULL);
  return self->message;
}

void
dothi_query_dialog_set_group_by (DothiQueryDialog *self, const char *field)
{
  GListModel *model;

  g_return_if_fail (DOTHI_IS_QUERY_DIALOG (self));

  model = adw_combo_row_get_model (self->group_row);
  if (field == NULL)
    {
      adw_combo_row_set_selected (self->group_row, 0);
      return;
    }
  for (guint i = 1; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GtkStringObject) item = g_list_model_get_item (model, i);

      if (strcmp (gtk_string_object_get_string (item), field) == 0)
        adw_combo_row_set_selected (self->group_row, i);
    }
}

const char *
dothi_query_dialog_get_summary_text (DothiQueryDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_QUERY_DIALOG (self), NULL);
  return self->summary_text;
}
