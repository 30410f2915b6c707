/* dothi-attribute-table.c: the attribute table (see the header). The column
 * view shows DothiFeatureList directly: no GtkSortListModel or
 * GtkFilterListModel, which would read every row; sort, filter and a
 * query result's fid set run in the model's SQL. Cells are labels that
 * become an entry to edit. */
#define G_LOG_DOMAIN "dothi-attribute-table"

#include "config.h"
#include "dothi-attribute-table.h"
#include "dothi-domain.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-feature-list.h"
#include "dothi-format.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

/* Column widths, pixels: fixed, so a scroll never re-measures columns. */
#define FID_WIDTH 90
#define NUMBER_WIDTH 120
#define TEXT_WIDTH 200

/* Shared (g_rc_box) by a view column and its cells, which may outlive it
 * by a moment when the columns are replaced. */
typedef struct {
  DothiAttributeTable *table;   /* unowned: the table outlives its cells */
  int                  field;   /* -1: the fid column */
} ColumnInfo;

typedef struct {
  ColumnInfo      *column;
  GtkWidget       *box;         /* the cell; owns this struct */
  GtkWidget       *label;
  GtkWidget       *entry;       /* while editing */
  DothiFeatureRow *row;
  gulong           loaded_id;
} Cell;

struct _DothiAttributeTable
{
  AdwBin             parent_instance;

  DothiProject      *project;
  char              *layer;
  DothiFeatureList  *list;
  GtkMultiSelection *selection;
  GCancellable      *cancellable;    /* opening a layer */
  guint              total;          /* rows before any filter */
  gboolean           filling;        /* the field drop-down is ours */
  Cell              *editing;
  ColumnInfo        *probed;         /* see sorter_changed_cb() */
  gint64             scroll_position;
  guint              scroll_tick;
  guint              scroll_tries;

  /* A query's result: only its rows are shown (see show_fids). It
   * belongs to one layer of one file; NULL fids_layer: the next shown. */
  DothiFidSet       *fids;
  char              *fids_label;
  char              *fids_layer;
  char              *fids_path;
  GtkWidget         *result_bar;     /* made in code: the .ui is shared */
  GtkLabel          *result_label;

  GtkDropDown       *field_dropdown;
  GtkStringList     *field_names;
  GtkSearchEntry    *filter_entry;
  GtkSpinner        *spinner;
  GtkLabel          *count_label;
  GtkScrolledWindow *scrolled;
  GtkColumnView     *column_view;
};

G_DEFINE_FINAL_TYPE (DothiAttributeTable, dothi_attribute_table, ADW_TYPE_BIN)

enum {
  SELECTION_CHANGED,
  FEATURE_ACTIVATED,
  ERROR,
  EDITED,
  RESULT_CLEARED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const DothiField *
column_field (ColumnInfo *column)
{
  const DothiLayerInfo *info;

  if (column->field < 0 || column->table->list == NULL)
    return NULL;
  info = dothi_feature_list_get_info (column->table->list);
  if ((guint) column->field >= info->fields->len)
    return NULL;
  return g_ptr_array_index (info->fields, column->field);
}

static gboolean
is_numeric (DothiFieldType type)
{
  return type == DOTHI_FIELD_INTEGER || type == DOTHI_FIELD_REAL || type == DOTHI_FIELD_BOOLEAN;
}

static void
emit_error (DothiAttributeTable *self, const GError *error)
{
  g_signal_emit (self, signals[ERROR], 0, error);
}

static const char *
layer_title (DothiAttributeTable *self)
{
  const DothiLayerInfo *info = self->list ? dothi_feature_list_get_info (self->list) : NULL;

  if (info != NULL && info->title != NULL && info->title[0] != '\0')
    return info->title;
  return self->layer ? self->layer : "";
}

/* ---- the row count ------------------------------------------------------- */

static void
update_count (DothiAttributeTable *self)
{
  g_autofree char *text = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *total = NULL;
  guint n, all;

  if (self->list == NULL)
    {
      gtk_label_set_text (self->count_label, "");
      return;
    }
  n = g_list_model_get_n_items (G_LIST_MODEL (self->list));
  shown = dothi_format_int64 (n);
  /* Filtered within a query result: out of the result's rows. */
  all = self->fids != NULL ? dothi_fid_set_get_size (self->fids) : self->total;
  total = dothi_format_int64 (all);
  if (gtk_editable_get_text (GTK_EDITABLE (self->filter_entry))[0] != '\0')
    /* Translators: the attribute table's count of filtered rows, then of all rows */
    text = g_strdup_printf (ngettext ("%s of %s row", "%s of %s rows", all), shown, total);
  else
    /* Translators: the attribute table's row count */
    text = g_strdup_printf (ngettext ("%s row", "%s rows", n), shown);
  gtk_label_set_text (self->count_label, text);
}

static gboolean scroll_tick_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer data);

/* Scrolls row @position to the middle after the next layout. */
static void
schedule_scroll (DothiAttributeTable *self,
                 gint64               position)
{
  self->scroll_position = position;
  self->scroll_tries = 0;
  if (self->scroll_tick == 0)
    self->scroll_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_tick_cb, NULL, NULL);
}

static void
items_changed_cb (GListModel          *model,
                  guint                position,
                  guint                removed,
                  guint                added,
                  DothiAttributeTable *self)
{
  update_count (self);
  /* A new sort or filter (all rows replaced) starts at the top. */
  if (position == 0 && (removed > 1 || added > 1))
    schedule_scroll (self, 0);
}

static void
busy_changed_cb (DothiFeatureList    *list,
                 GParamSpec          *pspec,
                 DothiAttributeTable *self)
{
  gboolean busy = dothi_feature_list_get_busy (list);

  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
}

static void
list_error_cb (DothiFeatureList    *list,
               GError              *error,
               DothiAttributeTable *self)
{
  emit_error (self, error);
}

/* ---- cells --------------------------------------------------------------- */

static void
cell_show_value (Cell *cell)
{
  const char *value;

  gtk_widget_remove_css_class (cell->label, "dim-label");
  if (cell->row == NULL)
    {
      gtk_label_set_text (GTK_LABEL (cell->label), "");
      return;
    }
  if (cell->column->field < 0)
    {
      g_autofree char *fid = g_strdup_printf ("%" G_GINT64_FORMAT,
                                              dothi_feature_row_get_fid (cell->row));
      gtk_label_set_text (GTK_LABEL (cell->label), fid);
      return;
    }
  if (!dothi_feature_row_get_loaded (cell->row))
    {
      /* The row's page is being read. */
      gtk_label_set_text (GTK_LABEL (cell->label), "…");
      gtk_widget_add_css_class (cell->label, "dim-label");
      return;
    }
  value = dothi_feature_row_get_value (cell->row, cell->column->field);
  if (value == NULL)
    {
      gtk_label_set_text (GTK_LABEL (cell->label), "—");
      gtk_widget_add_css_class (cell->label, "dim-label");
      return;
    }
  gtk_label_set_text (GTK_LABEL (cell->label), value);
}

static void
row_loaded_cb (DothiFeatureRow *row,
               Cell            *cell)
{
  cell_show_value (cell);
}

static void
cell_stop_edit (Cell *cell)
{
  DothiAttributeTable *self = cell->column->table;

  if (cell->entry == NULL)
    return;
  gtk_box_remove (GTK_BOX (cell->box), cell->entry);
  cell->entry = NULL;
  gtk_widget_set_visible (cell->label, TRUE);
  if (self->editing == cell)
    self->editing = NULL;
  cell_show_value (cell);
}

static void
cell_free (Cell *cell)
{
  if (cell->column->table->editing == cell)
    cell->column->table->editing = NULL;
  g_clear_signal_handler (&cell->loaded_id, cell->row);
  g_clear_object (&cell->row);
  g_rc_box_release (cell->column);
  g_free (cell);
}

/* Parses @text for @field into a JSON value, or sets an error naming the
 * field. An empty entry is NULL, except in a text field. */
static JsonNode *
parse_value (const DothiField  *field,
             const char        *text,
             GError           **error)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  if (field->type != DOTHI_FIELD_TEXT && stripped[0] == '\0')
    {
      json_node_free (node);
      return json_node_new (JSON_NODE_NULL);
    }

  switch (field->type)
    {
    case DOTHI_FIELD_TEXT:
      {
        g_autofree char *nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);

        json_node_set_string (node, nfc ? nfc : text);
        return node;
      }
    case DOTHI_FIELD_INTEGER:
      {
        gint64 value;

        if (g_ascii_string_to_signed (stripped, 10, G_MININT64, G_MAXINT64, &value, NULL))
          {
            json_node_set_int (node, value);
            return node;
          }
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: field name, then the value typed */
                     _("Field “%s” needs a whole number, not “%s”"), field->name, stripped);
        break;
      }
    case DOTHI_FIELD_REAL:
      {
        char *end = NULL;
        double value;

        /* "973,80" as typed in Vietnamese is 973.80. */
        if (strchr (stripped, ',') != NULL && strchr (stripped, '.') == NULL)
          g_strdelimit (stripped, ",", '.');
        value = g_ascii_strtod (stripped, &end);
        if (end != stripped && *end == '\0' && isfinite (value))
          {
            json_node_set_double (node, value);
            return node;
          }
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: field name, then the value typed */
                     _("Field “%s” needs a number, not “%s”"), field->name, text);
        break;
      }
    case DOTHI_FIELD_BOOLEAN:
      {
        g_autofree char *lower = g_utf8_strdown (stripped, -1);
        /* Translators: typed in a yes/no cell of the attribute table, lower case */
        const char *yes = C_("boolean typed in a cell", "yes");
        /* Translators: typed in a yes/no cell of the attribute table, lower case */
        const char *no = C_("boolean typed in a cell", "no");

        if (g_str_equal (lower, "1") || g_str_equal (lower, "true") || g_str_equal (lower, yes))
          {
            json_node_set_int (node, 1);
            return node;
          }
        if (g_str_equal (lower, "0") || g_str_equal (lower, "false") || g_str_equal (lower, no))
          {
            json_node_set_int (node, 0);
            return node;
          }
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: field name, then the value typed */
                     _("Field “%s” needs 1 (yes) or 0 (no), not “%s”"), field->name, stripped);
        break;
      }
    case DOTHI_FIELD_DATE:
      {
        g_auto(GStrv) parts = g_strsplit_set (stripped, "-/.", 3);
        guint64 a = 0, b = 0, c = 0;

        /* ISO 8601 (2024-03-15) or the Vietnamese day first (15/03/2024). */
        if (g_strv_length (parts) == 3
            && g_ascii_string_to_unsigned (parts[0], 10, 1, 9999, &a, NULL)
            && g_ascii_string_to_unsigned (parts[1], 10, 1, 12, &b, NULL)
            && g_ascii_string_to_unsigned (parts[2], 10, 1, 9999, &c, NULL))
          {
            guint year = strlen (parts[0]) == 4 ? a : c;
            guint day = strlen (parts[0]) == 4 ? c : a;

            if (day <= 31 && g_date_valid_dmy (day, b, year))
              {
                g_autofree char *iso = g_strdup_printf ("%04u-%02u-%02u", year, (guint) b, day);

                json_node_set_string (node, iso);
                return node;
              }
          }
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: field name, then the value typed; keep YYYY-MM-DD as is */
                     _("Field “%s” needs a date such as 2024-03-15, not “%s”"), field->name, stripped);
        break;
      }
    case DOTHI_FIELD_DATETIME:
      {
        g_autofree char *iso = g_strdelimit (g_strdup (stripped), " ", 'T');
        g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
        g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (iso, utc);

        if (time != NULL)
          {
            json_node_set_string (node, iso);
            return node;
          }
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: field name, then the value typed */
                     _("Field “%s” needs a date and time such as 2024-03-15 08:30:00, not “%s”"),
                     field->name, stripped);
        break;
      }
    case DOTHI_FIELD_BLOB:
    default:
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: field name */
                   _("Field “%s” holds binary data and cannot be edited here"), field->name);
      break;
    }
  json_node_free (node);
  return NULL;
}

/* Writes the entry's value as one action; FALSE keeps the entry open. */
static gboolean
cell_commit (Cell *cell)
{
  DothiAttributeTable *self = cell->column->table;
  const DothiField *field = column_field (cell->column);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) properties = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(GHashTable) domains = NULL;
  g_autofree char *fid_text = NULL;
  g_autofree char *label = NULL;
  const char *old;
  gint64 fid, action;

  if (field == NULL || cell->row == NULL || self->project == NULL)
    return TRUE;
  fid = dothi_feature_row_get_fid (cell->row);
  node = parse_value (field, gtk_editable_get_text (GTK_EDITABLE (cell->entry)), &error);
  if (node == NULL)
    {
      gtk_widget_add_css_class (cell->entry, "error");
      emit_error (self, error);
      return FALSE;
    }

  /* Nothing changed: nothing to write or undo. */
  old = dothi_feature_row_get_value (cell->row, cell->column->field);
  if ((JSON_NODE_HOLDS_NULL (node) && old == NULL)
      || (field->type == DOTHI_FIELD_TEXT && g_strcmp0 (json_node_get_string (node), old) == 0))
    return TRUE;

  properties = json_object_new ();
  json_object_set_member (properties, field->name, g_steal_pointer (&node));

  /* The field's rules (range, required, code list) refuse the value here,
   * naming the field, and the entry stays open to correct it. */
  domains = dothi_domain_get_all (self->project, self->layer, &error);
  if (domains == NULL
      || !dothi_domain_check_properties (domains, dothi_feature_list_get_info (self->list),
                                         properties, FALSE, &error))
    {
      gtk_widget_add_css_class (cell->entry, "error");
      emit_error (self, error);
      return FALSE;
    }

  set = dothi_change_set_new ();
  dothi_change_set_update (set, self->layer, fid, properties, NULL);
  fid_text = g_strdup_printf ("%" G_GINT64_FORMAT, fid);
  /* Translators: an action in the history: field name, feature number (fid) */
  label = g_strdup_printf (_("Edit “%s” of feature %s"), field->name, fid_text);
  action = dothi_edit_apply_sync (self->project, set, label, NULL, NULL, NULL, NULL, &error);
  if (action == 0)
    {
      emit_error (self, error);
      return TRUE;
    }
  g_signal_emit (self, signals[EDITED], 0, action);
  dothi_feature_list_refresh (self->list, &fid, 1);
  return TRUE;
}

static void
entry_activated_cb (GtkEntry *entry,
                    Cell     *cell)
{
  if (cell_commit (cell))
    {
      GtkWidget *box = cell->box;

      cell_stop_edit (cell);
      gtk_widget_grab_focus (box);
    }
}

static gboolean
entry_key_pressed_cb (GtkEventControllerKey *controller,
                      guint                  keyval,
                      guint                  keycode,
                      GdkModifierType        state,
                      Cell                  *cell)
{
  if (keyval != GDK_KEY_Escape)
    return FALSE;
  cell_stop_edit (cell);
  gtk_widget_grab_focus (cell->box);
  return TRUE;
}

static gboolean
stop_edit_idle_cb (gpointer data)
{
  g_autoptr(GtkWidget) box = data;
  Cell *cell = g_object_get_data (G_OBJECT (box), "dothi-cell");

  /* Leaving the entry without Enter writes nothing. */
  if (cell != NULL && cell->entry != NULL && !gtk_widget_has_focus (cell->entry)
      && !gtk_widget_is_focus (cell->entry))
    {
      GtkRoot *root = gtk_widget_get_root (cell->entry);
      GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;

      if (focus == NULL || !gtk_widget_is_ancestor (focus, cell->entry))
        cell_stop_edit (cell);
    }
  return G_SOURCE_REMOVE;
}

static void
entry_focus_left_cb (GtkEventControllerFocus *controller,
                     Cell                    *cell)
{
  /* Not from inside the focus change. */
  g_idle_add (stop_edit_idle_cb, g_object_ref (cell->box));
}

static void
cell_start_edit (Cell *cell)
{
  DothiAttributeTable *self = cell->column->table;
  const DothiField *field = column_field (cell->column);
  GtkEventController *controller;
  const char *value;

  if (field == NULL || field->type == DOTHI_FIELD_BLOB || cell->row == NULL
      || !dothi_feature_row_get_loaded (cell->row) || cell->entry != NULL)
    return;
  if (self->project != NULL && dothi_project_get_read_only (self->project))
    {
      g_autoptr(GError) error = NULL;

      g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   /* Translators: layer title */
                   _("Layer “%s” cannot be edited: the project is open read-only"),
                   layer_title (self));
      emit_error (self, error);
      return;
    }
  if (self->editing != NULL)
    cell_stop_edit (self->editing);

  value = dothi_feature_row_get_value (cell->row, cell->column->field);
  cell->entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (cell->entry), value ? value : "");
  gtk_widget_set_hexpand (cell->entry, TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (cell->entry), 4);
  if (is_numeric (field->type))
    gtk_entry_set_alignment (GTK_ENTRY (cell->entry), 1.0);
  gtk_accessible_update_property (GTK_ACCESSIBLE (cell->entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, field->name, -1);
  g_signal_connect (cell->entry, "activate", G_CALLBACK (entry_activated_cb), cell);
  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (entry_key_pressed_cb), cell);
  gtk_widget_add_controller (cell->entry, controller);
  controller = gtk_event_controller_focus_new ();
  g_signal_connect (controller, "leave", G_CALLBACK (entry_focus_left_cb), cell);
  gtk_widget_add_controller (cell->entry, controller);

  gtk_widget_set_visible (cell->label, FALSE);
  gtk_box_append (GTK_BOX (cell->box), cell->entry);
  self->editing = cell;
  gtk_widget_grab_focus (cell->entry);
}

static void
cell_pressed_cb (GtkGestureClick *gesture,
                 int              n_press,
                 double           x,
                 double           y,
                 Cell            *cell)
{
  if (n_press != 2 || cell->column->field < 0)
    return;
  /* Ours, not the row's activation. */
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  cell_start_edit (cell);
}

static gboolean
cell_key_pressed_cb (GtkEventControllerKey *controller,
                     guint                  keyval,
                     guint                  keycode,
                     GdkModifierType        state,
                     Cell                  *cell)
{
  if (cell->entry != NULL || cell->column->field < 0)
    return FALSE;
  if (keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter || keyval == GDK_KEY_ISO_Enter
      || keyval == GDK_KEY_F2)
    {
      cell_start_edit (cell);
      return TRUE;
    }
  return FALSE;
}

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               ColumnInfo               *column)
{
  Cell *cell = g_new0 (Cell, 1);
  const DothiField *field = column_field (column);
  gboolean numeric = column->field < 0 || (field != NULL && is_numeric (field->type));
  GtkGesture *gesture;
  GtkEventController *controller;

  cell->column = g_rc_box_acquire (column);
  cell->box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  cell->label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (cell->label), numeric ? 1.0 : 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (cell->label), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (cell->label), TRUE);
  gtk_widget_set_hexpand (cell->label, TRUE);
  if (numeric)
    gtk_widget_add_css_class (cell->label, "numeric");
  gtk_box_append (GTK_BOX (cell->box), cell->label);
  g_object_set_data_full (G_OBJECT (cell->box), "dothi-cell", cell, (GDestroyNotify) cell_free);

  if (column->field >= 0)
    {
      /* Cells take the focus so Enter or F2 edits the one chosen. */
      gtk_widget_set_focusable (cell->box, TRUE);
      gesture = gtk_gesture_click_new ();
      gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
      g_signal_connect (gesture, "pressed", G_CALLBACK (cell_pressed_cb), cell);
      gtk_widget_add_controller (cell->box, GTK_EVENT_CONTROLLER (gesture));
      controller = gtk_event_controller_key_new ();
      g_signal_connect (controller, "key-pressed", G_CALLBACK (cell_key_pressed_cb), cell);
      gtk_widget_add_controller (cell->box, controller);
    }
  gtk_list_item_set_child (item, cell->box);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              ColumnInfo               *column)
{
  Cell *cell = g_object_get_data (G_OBJECT (gtk_list_item_get_child (item)), "dothi-cell");
  DothiFeatureRow *row = gtk_list_item_get_item (item);

  cell->row = g_object_ref (row);
  if (column->field >= 0)
    cell->loaded_id = g_signal_connect (row, "loaded", G_CALLBACK (row_loaded_cb), cell);
  cell_show_value (cell);
}

static void
unbind_cell_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                ColumnInfo               *column)
{
  Cell *cell = g_object_get_data (G_OBJECT (gtk_list_item_get_child (item)), "dothi-cell");

  /* A cell scrolled away, or its row re-sorted, ends its edit unwritten. */
  cell_stop_edit (cell);
  g_clear_signal_handler (&cell->loaded_id, cell->row);
  g_clear_object (&cell->row);
}

/* ---- columns and sorting --------------------------------------------------
 *
 * GTK 4.8 cannot say which column the user sorted by
 * (gtk_column_view_sorter_get_primary_sort_column is 4.10). Each column's
 * sorter is a probe: comparing two items with the view's sorter calls the
 * primary column's sorter first, which records itself and says "smaller";
 * the view's answer is then inverted for a descending sort. */

static int
probe_sort_cb (gconstpointer a,
               gconstpointer b,
               gpointer      data)
{
  ColumnInfo *column = data;

  column->table->probed = column;
  return GTK_ORDERING_SMALLER;
}

static void
sorter_changed_cb (GtkSorter           *sorter,
                   GtkSorterChange      change,
                   DothiAttributeTable *self)
{
  const DothiField *field;
  GtkOrdering order;

  if (self->list == NULL)
    return;
  self->probed = NULL;
  /* Two different objects: gtk_sorter_compare() says "equal" for one. */
  order = gtk_sorter_compare (sorter, G_OBJECT (self), G_OBJECT (self->column_view));
  field = self->probed ? column_field (self->probed) : NULL;
  dothi_feature_list_set_sort (self->list, field ? field->name : NULL,
                               self->probed != NULL && order == GTK_ORDERING_LARGER);
  self->probed = NULL;
}

static void
add_column (DothiAttributeTable *self,
            int                  field_index,
            const char          *title,
            int                  width)
{
  ColumnInfo *column = g_rc_box_new0 (ColumnInfo);
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkColumnViewColumn) view_column = NULL;
  g_autoptr(GtkSorter) sorter = NULL;

  column->table = self;
  column->field = field_index;
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), column);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), column);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell_cb), column);
  view_column = gtk_column_view_column_new (title, g_object_ref (factory));
  g_object_set_data_full (G_OBJECT (view_column), "dothi-column", column, g_rc_box_release);
  gtk_column_view_column_set_resizable (view_column, TRUE);
  gtk_column_view_column_set_fixed_width (view_column, width);
  sorter = GTK_SORTER (gtk_custom_sorter_new (probe_sort_cb, column, NULL));
  gtk_column_view_column_set_sorter (view_column, sorter);
  gtk_column_view_append_column (self->column_view, view_column);
}

static void
remove_columns (DothiAttributeTable *self)
{
  GListModel *columns = gtk_column_view_get_columns (self->column_view);
  guint n;

  while ((n = g_list_model_get_n_items (columns)) > 0)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, n - 1);

      gtk_column_view_remove_column (self->column_view, column);
    }
}

/* ---- selection and activation -------------------------------------------- */

static void
selection_changed_cb (GtkSelectionModel   *model,
                      guint                position,
                      guint                n_items,
                      DothiAttributeTable *self)
{
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (model);
  g_autoptr(GArray) fids = g_array_sized_new (FALSE, FALSE, sizeof (gint64),
                                              gtk_bitset_get_size (selected));
  GtkBitsetIter iter;
  guint index;

  if (self->list == NULL)
    return;
  for (gboolean more = gtk_bitset_iter_init_first (&iter, selected, &index);
       more; more = gtk_bitset_iter_next (&iter, &index))
    {
      gint64 fid = dothi_feature_list_get_fid (self->list, index);

      if (fid >= 0)
        g_array_append_val (fids, fid);
    }
  g_signal_emit (self, signals[SELECTION_CHANGED], 0, fids);
}

static void
activated_cb (GtkColumnView       *view,
              guint                position,
              DothiAttributeTable *self)
{
  gint64 fid;

  if (self->list == NULL)
    return;
  fid = dothi_feature_list_get_fid (self->list, position);
  if (fid >= 0)
    g_signal_emit (self, signals[FEATURE_ACTIVATED], 0, fid);
}

/* ---- filter ---------------------------------------------------------------- */

static void
apply_filter (DothiAttributeTable *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->filter_entry));
  guint selected = gtk_drop_down_get_selected (self->field_dropdown);
  const DothiLayerInfo *info;
  const char *field = NULL;

  if (self->list == NULL)
    return;
  info = dothi_feature_list_get_info (self->list);
  /* Item 0 is "All Fields". */
  if (selected != GTK_INVALID_LIST_POSITION && selected > 0 && selected - 1 < info->fields->len)
    field = ((const DothiField *) g_ptr_array_index (info->fields, selected - 1))->name;
  dothi_feature_list_set_filter (self->list, field, text[0] ? text : NULL);
  update_count (self);
}

static void
search_changed_cb (GtkSearchEntry      *entry,
                   DothiAttributeTable *self)
{
  apply_filter (self);
}

static void
field_selected_cb (GtkDropDown         *dropdown,
                   GParamSpec          *pspec,
                   DothiAttributeTable *self)
{
  if (!self->filling)
    apply_filter (self);
}

/* ---- a query result -------------------------------------------------------- */

static void
update_result_bar (DothiAttributeTable *self)
{
  g_autofree char *count = NULL;
  g_autofree char *text = NULL;
  guint n;

  gtk_widget_set_visible (self->result_bar, self->fids != NULL);
  if (self->fids == NULL)
    return;
  n = dothi_fid_set_get_size (self->fids);
  count = dothi_format_int64 (n);
  if (self->fids_label != NULL && self->fids_label[0] != '\0')
    /* Translators: above the attribute table when it shows only a query's
     * rows: what the query asked (its label), then the number of rows */
    text = g_strdup_printf (ngettext ("Query result “%s”: %s row",
                                      "Query result “%s”: %s rows", n),
                            self->fids_label, count);
  else
    /* Translators: above the attribute table when it shows only a query's
     * rows: the number of rows */
    text = g_strdup_printf (ngettext ("Query result: %s row", "Query result: %s rows", n), count);
  gtk_label_set_text (self->result_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->result_label), text);
}

static void
set_result (DothiAttributeTable *self,
            DothiFidSet         *fids,
            const char          *label)
{
  if (fids != NULL)
    dothi_fid_set_ref (fids);
  g_clear_pointer (&self->fids, dothi_fid_set_unref);
  self->fids = fids;
  g_free (self->fids_label);
  self->fids_label = fids != NULL ? g_strdup (label) : NULL;
  g_free (self->fids_layer);
  self->fids_layer = fids != NULL ? g_strdup (self->layer) : NULL;
  g_free (self->fids_path);
  self->fids_path = fids != NULL && self->project != NULL
                    ? g_strdup (dothi_project_get_path (self->project)) : NULL;
  if (self->list != NULL)
    dothi_feature_list_set_fids (self->list, self->fids);
  update_result_bar (self);
  update_count (self);
}

static void
show_all_clicked_cb (GtkButton           *button,
                     DothiAttributeTable *self)
{
  set_result (self, NULL, NULL);
  g_signal_emit (self, signals[RESULT_CLEARED], 0);
}

/* Made in code, between the filter bar and the table: an accent chip
 * with what the result is and a way back to every row. */
static void
build_result_bar (DothiAttributeTable *self)
{
  GtkWidget *filter_bar = gtk_widget_get_parent (GTK_WIDGET (self->filter_entry));
  GtkWidget *icon, *button;

  self->result_bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (self->result_bar, "card");
  gtk_widget_set_margin_start (self->result_bar, 6);
  gtk_widget_set_margin_end (self->result_bar, 6);
  gtk_widget_set_margin_bottom (self->result_bar, 6);
  icon = gtk_image_new_from_icon_name ("edit-find-symbolic");
  gtk_widget_set_margin_start (icon, 8);
  gtk_widget_add_css_class (icon, "accent");
  gtk_box_append (GTK_BOX (self->result_bar), icon);
  self->result_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->result_label, 0.0);
  gtk_label_set_ellipsize (self->result_label, PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (GTK_WIDGET (self->result_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->result_label), "accent");
  gtk_box_append (GTK_BOX (self->result_bar), GTK_WIDGET (self->result_label));
  /* Translators: button beside "Query result: N rows" above the attribute
   * table; shows every row of the layer again */
  button = gtk_button_new_with_mnemonic (_("Show _All Rows"));
  gtk_widget_add_css_class (button, "flat");
  g_signal_connect (button, "clicked", G_CALLBACK (show_all_clicked_cb), self);
  gtk_box_append (GTK_BOX (self->result_bar), button);
  gtk_widget_set_visible (self->result_bar, FALSE);
  gtk_box_insert_child_after (GTK_BOX (gtk_widget_get_parent (filter_bar)), self->result_bar,
                              filter_bar);
}

/* ---- the layer ------------------------------------------------------------- */

static void
clear_list (DothiAttributeTable *self)
{
  if (self->editing != NULL)
    cell_stop_edit (self->editing);
  gtk_column_view_set_model (self->column_view, NULL);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  if (self->list != NULL)
    g_signal_handlers_disconnect_by_data (self->list, self);
  g_clear_object (&self->list);
  /* After the list: removing a sorted column changes the sorter. */
  remove_columns (self);
  self->total = 0;
  if (self->scroll_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->scroll_tick);
      self->scroll_tick = 0;
    }
  self->filling = TRUE;
  gtk_string_list_splice (self->field_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->field_names)), NULL);
  self->filling = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_spinner_set_spinning (self->spinner, FALSE);
  update_count (self);
}

static void
install_list (DothiAttributeTable *self,
              DothiFeatureList    *list)
{
  const DothiLayerInfo *info = dothi_feature_list_get_info (list);
  const char *text;

  self->list = g_object_ref (list);
  self->total = g_list_model_get_n_items (G_LIST_MODEL (list));

  self->filling = TRUE;
  /* Translators: first choice of the attribute table's field drop-down */
  gtk_string_list_append (self->field_names, _("All Fields"));
  /* Translators: the attribute table's first column, the feature number */
  add_column (self, -1, C_("attribute table", "Feature"), FID_WIDTH);
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (info->fields, i);

      gtk_string_list_append (self->field_names, field->name);
      add_column (self, i, field->name, is_numeric (field->type) ? NUMBER_WIDTH : TEXT_WIDTH);
    }
  gtk_drop_down_set_selected (self->field_dropdown, 0);
  self->filling = FALSE;

  self->selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (list)));
  g_signal_connect (self->selection, "selection-changed", G_CALLBACK (selection_changed_cb), self);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect (list, "items-changed", G_CALLBACK (items_changed_cb), self);
  g_signal_connect (list, "notify::busy", G_CALLBACK (busy_changed_cb), self);
  g_signal_connect (list, "error", G_CALLBACK (list_error_cb), self);

  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_spinner_set_spinning (self->spinner, FALSE);
  /* A result shown while the layer was read. */
  if (self->fids != NULL)
    dothi_feature_list_set_fids (list, self->fids);
  /* A filter typed while the layer was read. */
  text = gtk_editable_get_text (GTK_EDITABLE (self->filter_entry));
  if (text[0] != '\0')
    apply_filter (self);
  update_count (self);
}

static void
open_thread (GTask        *task,
             gpointer      source,
             gpointer      data,
             GCancellable *cancellable)
{
  char **args = data;   /* path, layer */
  GError *error = NULL;
  DothiFeatureList *list = dothi_feature_list_new (args[0], args[1], &error);

  /* Made here, used only on the main thread from now on. */
  if (list == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, list, g_object_unref);
}

static void
opened_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  DothiAttributeTable *self = DOTHI_ATTRIBUTE_TABLE (source);
  g_autoptr(DothiFeatureList) list = NULL;
  g_autoptr(GError) error = NULL;

  list = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    return;
  g_clear_object (&self->cancellable);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_spinner_set_spinning (self->spinner, FALSE);
  if (list == NULL)
    {
      emit_error (self, error);
      return;
    }
  install_list (self, list);
}

/* ---- scrolling to a row ---------------------------------------------------- */

/* The distance from one row to the next on screen (its border box, with
 * the separator line), from realized rows; 0 when none is. */
static double
measure_row_height (DothiAttributeTable *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->column_view));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *previous = NULL;
      graphene_rect_t previous_bounds;

      if (g_strcmp0 (gtk_widget_get_css_name (child), "listview") != 0)
        continue;
      for (GtkWidget *row = gtk_widget_get_first_child (child);
           row != NULL; row = gtk_widget_get_next_sibling (row))
        {
          graphene_rect_t bounds;

          if (g_strcmp0 (gtk_widget_get_css_name (row), "row") != 0
              || !gtk_widget_get_realized (row)
              || !gtk_widget_compute_bounds (row, child, &bounds)
              || bounds.size.height <= 0)
            continue;
          /* Two neighbours give the pitch; one row its own box. */
          if (previous != NULL && bounds.origin.y > previous_bounds.origin.y)
            return bounds.origin.y - previous_bounds.origin.y;
          previous = row;
          previous_bounds = bounds;
        }
      if (previous != NULL)
        return previous_bounds.size.height;
    }
  return 0;
}

static gboolean
scroll_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       data)
{
  DothiAttributeTable *self = DOTHI_ATTRIBUTE_TABLE (widget);
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);
  double page = gtk_adjustment_get_page_size (adjustment);
  double upper = gtk_adjustment_get_upper (adjustment);
  guint n = self->list ? g_list_model_get_n_items (G_LIST_MODEL (self->list)) : 0;
  double height = measure_row_height (self);
  double value;

  if (n == 0 || page <= 0)
    {
      self->scroll_tick = 0;
      return G_SOURCE_REMOVE;
    }
  /* Right after items-changed the list has not been measured again and
   * its adjustment is stale (GTK 4.8 then refuses the value: "failed to
   * scroll to given position"): wait a few frames for upper ≈ n rows. */
  if (height > 0 && fabs (upper / n - height) > height / 2 && self->scroll_tries++ < 10)
    return G_SOURCE_CONTINUE;
  /* Rows are one line each: a realized row's height holds for all; the
   * list's own estimate (upper / n) serves until one is realized. */
  if (height <= 0)
    height = MAX (1.0, upper / n);
  value = self->scroll_position * height - (page - height) / 2;
  gtk_adjustment_set_value (adjustment, CLAMP (value, 0, MAX (0, upper - page)));
  self->scroll_tick = 0;
  return G_SOURCE_REMOVE;
}

/* ---- GObject ---------------------------------------------------------------- */

static void
dothi_attribute_table_dispose (GObject *object)
{
  DothiAttributeTable *self = DOTHI_ATTRIBUTE_TABLE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_list (self);
  g_clear_object (&self->project);
  g_clear_pointer (&self->layer, g_free);
  g_clear_pointer (&self->fids, dothi_fid_set_unref);
  g_clear_pointer (&self->fids_label, g_free);
  g_clear_pointer (&self->fids_layer, g_free);
  g_clear_pointer (&self->fids_path, g_free);
  self->result_bar = NULL;
  self->result_label = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_ATTRIBUTE_TABLE);
  G_OBJECT_CLASS (dothi_attribute_table_parent_class)->dispose (object);
}

static void
dothi_attribute_table_class_init (DothiAttributeTableClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_attribute_table_dispose;

  signals[SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ARRAY | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[FEATURE_ACTIVATED] =
    g_signal_new ("feature-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[EDITED] =
    g_signal_new ("edited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[RESULT_CLEARED] =
    g_signal_new ("result-cleared", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-attribute-table.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, field_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, field_names);
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, filter_entry);
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, count_label);
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, scrolled);
  gtk_widget_class_bind_template_child (widget_class, DothiAttributeTable, column_view);

  gtk_widget_class_set_css_name (widget_class, "attributetable");
}

static void
dothi_attribute_table_init (DothiAttributeTable *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self->filter_entry, "search-changed", G_CALLBACK (search_changed_cb), self);
  g_signal_connect (self->field_dropdown, "notify::selected", G_CALLBACK (field_selected_cb), self);
  g_signal_connect (self->column_view, "activate", G_CALLBACK (activated_cb), self);
  g_signal_connect (gtk_column_view_get_sorter (self->column_view), "changed",
                    G_CALLBACK (sorter_changed_cb), self);
  build_result_bar (self);
  update_count (self);
}

/* ---- public API -------------------------------------------------------------- */

GtkWidget *
dothi_attribute_table_new (void)
{
  return g_object_new (DOTHI_TYPE_ATTRIBUTE_TABLE, NULL);
}

void
dothi_attribute_table_set_layer (DothiAttributeTable *self,
                                 DothiProject        *project,
                                 const char          *layer)
{
  g_autoptr(GTask) task = NULL;
  char **args;

  g_return_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self));
  g_return_if_fail (project == NULL || DOTHI_IS_PROJECT (project));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_list (self);
  g_set_object (&self->project, project);
  g_free (self->layer);
  self->layer = g_strdup (layer);
  if (project == NULL || layer == NULL)
    return;

  /* A result stays through a reload of its layer (set to NULL and back)
   * and is dropped for another layer or file. */
  if (self->fids != NULL)
    {
      const char *path = dothi_project_get_path (project);

      if (self->fids_layer == NULL)
        {
          self->fids_layer = g_strdup (layer);
          g_free (self->fids_path);
          self->fids_path = g_strdup (path);
        }
      else if (g_strcmp0 (self->fids_layer, layer) != 0
               || (self->fids_path != NULL && g_strcmp0 (self->fids_path, path) != 0))
        set_result (self, NULL, NULL);
    }

  self->cancellable = g_cancellable_new ();
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), TRUE);
  gtk_spinner_set_spinning (self->spinner, TRUE);
  args = g_new0 (char *, 3);
  args[0] = g_strdup (dothi_project_get_path (project));
  args[1] = g_strdup (layer);
  task = g_task_new (self, self->cancellable, opened_cb, NULL);
  g_task_set_source_tag (task, dothi_attribute_table_set_layer);
  g_task_set_task_data (task, args, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, open_thread);
}

const char *
dothi_attribute_table_get_layer (DothiAttributeTable *self)
{
  g_return_val_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self), NULL);
  return self->layer;
}

void
dothi_attribute_table_select_fid (DothiAttributeTable *self,
                                  gint64               fid)
{
  gint64 position;

  g_return_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self));

  if (self->list == NULL || (position = dothi_feature_list_find_fid (self->list, fid)) < 0)
    return;
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
  /* After the next layout, when the adjustment knows the list's size. */
  schedule_scroll (self, position);
}

void
dothi_attribute_table_refresh (DothiAttributeTable *self,
                               const gint64        *fids,
                               guint                n_fids)
{
  g_return_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self));

  if (self->list != NULL)
    dothi_feature_list_refresh (self->list, fids, n_fids);
}

GListModel *
dothi_attribute_table_get_model (DothiAttributeTable *self)
{
  g_return_val_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self), NULL);
  return self->list ? G_LIST_MODEL (self->list) : NULL;
}

void
dothi_attribute_table_show_fids (DothiAttributeTable *self,
                                 DothiFidSet         *fids,
                                 const char          *label)
{
  g_return_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self));

  if (fids == self->fids && (fids == NULL || g_strcmp0 (label, self->fids_label) == 0))
    return;
  set_result (self, fids, label);
}

DothiFidSet *
dothi_attribute_table_get_fids (DothiAttributeTable *self)
{
  g_return_val_if_fail (DOTHI_IS_ATTRIBUTE_TABLE (self), NULL);
  return self->fids;
}
