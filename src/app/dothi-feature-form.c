/* dothi-feature-form.c: edits one feature's attributes: a row per field by
 * type, the layer's field domains (ranges, required fields, code lists; the
 * style's categories otherwise), inline errors that block Save, one update
 * action applied off the main loop, and a small editor of the field rules. */
#define G_LOG_DOMAIN "dothi-feature-form"

#include "config.h"
#include "dothi-feature-form.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dothi-domain.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-feature-list.h"

/* Field names that hold a parcel number: such a field may not be empty
 * (the default only for a layer without field domains). */
static const char *const parcel_number_names[] = {
  "so_thua", "sothua", "so_hieu_thua", "ma_thua",
  "parcel_no", "parcel_id", "parcel_number", NULL
};

typedef enum {
  EDITOR_ENTRY,   /* AdwEntryRow: text, numbers, dates */
  EDITOR_CHOICE,  /* AdwComboRow: a domain, or a boolean */
  EDITOR_NONE,    /* AdwActionRow: a blob, shown only */
} EditorKind;

typedef struct {
  const DothiField *field;   /* borrowed from self->info */
  EditorKind        kind;
  GtkWidget        *row;
  char             *original;  /* text as read, NULL for null */
  GPtrArray        *codes;     /* EDITOR_CHOICE: char* per item, NULL for null */
  DothiDomain      *rules;     /* the stored domain of the field, or NULL */
  DothiDomain      *choices;   /* the code list of the drop-down, or NULL */
  gboolean          required;
  gboolean          domain;
} FieldEditor;

struct _DothiFeatureForm
{
  AdwWindow        parent_instance;

  char            *path;
  DothiProject    *project;   /* the window's, main thread: field rules */
  DothiStyle      *style;
  GHashTable      *domains;   /* field → DothiDomain*, empty for none */
  GtkWidget       *rules_window;
  DothiLayerInfo  *info;
  gint64           fid;
  GPtrArray       *editors;   /* FieldEditor* */
  GCancellable    *cancellable;   /* a save in progress */
  char            *error_message;
  gboolean         read_only;

  AdwWindowTitle  *window_title;
  GtkRevealer     *error_revealer;
  GtkLabel        *error_label;
  AdwPreferencesGroup *fields_group;
  GtkSpinner      *spinner;
  GtkWidget       *rules_button;
};

G_DEFINE_FINAL_TYPE (DothiFeatureForm, dothi_feature_form, ADW_TYPE_WINDOW)

enum {
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
field_editor_free (FieldEditor *editor)
{
  g_free (editor->original);
  g_clear_pointer (&editor->codes, g_ptr_array_unref);
  g_clear_pointer (&editor->rules, dothi_domain_free);
  g_clear_pointer (&editor->choices, dothi_domain_free);
  g_free (editor);
}

static const char *
layer_title (const DothiLayerInfo *info)
{
  return info->title && info->title[0] ? info->title : info->name;
}

static FieldEditor *
find_editor (DothiFeatureForm *self,
             const char       *name)
{
  for (guint i = 0; self->editors != NULL && i < self->editors->len; i++)
    {
      FieldEditor *editor = g_ptr_array_index (self->editors, i);

      if (g_strcmp0 (editor->field->name, name) == 0)
        return editor;
    }
  return NULL;
}

static gboolean
is_parcel_number_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return g_strv_contains (parcel_number_names, lower);
}

/* "1", "true", "t", "yes" and "có" are true; "0", "false"… false. */
static const char *
normalise_boolean (const char *text)
{
  if (text == NULL)
    return NULL;
  if (g_ascii_strcasecmp (text, "1") == 0 || g_ascii_strcasecmp (text, "true") == 0
      || g_ascii_strcasecmp (text, "t") == 0 || g_ascii_strcasecmp (text, "yes") == 0)
    return "1";
  if (g_ascii_strcasecmp (text, "0") == 0 || g_ascii_strcasecmp (text, "false") == 0
      || g_ascii_strcasecmp (text, "f") == 0 || g_ascii_strcasecmp (text, "no") == 0)
    return "0";
  return text;
}

/* The text an editor holds now; NULL for null (an empty entry). */
static char *
editor_dup_text (FieldEditor *editor)
{
  switch (editor->kind)
    {
    case EDITOR_ENTRY:
      {
        g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editor->row))));

        return text[0] != '\0' ? g_steal_pointer (&text) : NULL;
      }

    case EDITOR_CHOICE:
      {
        guint selected = adw_combo_row_get_selected (ADW_COMBO_ROW (editor->row));

        if (selected == GTK_INVALID_LIST_POSITION || selected >= editor->codes->len)
          return NULL;
        return g_strdup (g_ptr_array_index (editor->codes, selected));
      }

    case EDITOR_NONE:
    default:
      return g_strdup (editor->original);
    }
}

/* ---- checking values ---------------------------------------------------- */

static gboolean
parse_integer (const char *text,
               gint64     *value)
{
  char *end = NULL;

  errno = 0;
  *value = g_ascii_strtoll (text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

/* A decimal comma is read as a point ("973,8"), as people type it here. */
static gboolean
parse_real (const char *text,
            double     *value)
{
  g_autofree char *copy = g_strdup (text);
  char *comma = strchr (copy, ',');
  char *end = NULL;

  if (comma != NULL && strchr (comma + 1, ',') == NULL && strchr (copy, '.') == NULL)
    *comma = '.';
  errno = 0;
  *value = g_ascii_strtod (copy, &end);
  return errno == 0 && end != copy && *end == '\0' && isfinite (*value);
}

static gboolean
parse_date (const char *text)
{
  unsigned int y, m, d;
  char tail;

  if (strlen (text) != 10 || text[4] != '-' || text[7] != '-')
    return FALSE;
  if (sscanf (text, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
    return FALSE;
  return g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y);
}

static gboolean
parse_datetime (const char *text)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, utc);

  return time != NULL;
}

static void set_json_value (JsonObject  *object,
                            FieldEditor *editor,
                            const char  *text);

/* Checks one field's value; the message names the field. A stored domain
 * checks a changed value as the core will (range, code list); an empty
 * required field is refused even when it was empty before. */
static gboolean
check_editor (const DothiLayerInfo  *info,
              FieldEditor           *editor,
              GError               **error)
{
  g_autofree char *text = editor_dup_text (editor);
  const char *name = editor->field->name;
  gint64 i;
  double d;

  if (editor->kind == EDITOR_NONE)
    return TRUE;

  if (text == NULL)
    {
      if (!editor->required)
        return TRUE;
      if (editor->rules != NULL)
        return dothi_domain_check_value (editor->rules, info, editor->field, NULL, error);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field of the feature form left empty */
                   _("Field “%s” is required"), name);
      return FALSE;
    }

  switch (editor->field->type)
    {
    case DOTHI_FIELD_INTEGER:
      if (!parse_integer (text, &i))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: field name, then the text typed */
                       _("Field “%s” needs a whole number, not “%s”"), name, text);
          return FALSE;
        }
      break;

    case DOTHI_FIELD_REAL:
      if (!parse_real (text, &d))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: field name, then the text typed */
                       _("Field “%s” needs a number, not “%s”"), name, text);
          return FALSE;
        }
      break;

    case DOTHI_FIELD_DATE:
      if (!parse_date (text))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: field name, then the text typed; keep
                        * YYYY-MM-DD, it is the format to type */
                       _("Field “%s” needs a date as YYYY-MM-DD, not “%s”"), name, text);
          return FALSE;
        }
      break;

    case DOTHI_FIELD_DATETIME:
      if (!parse_datetime (text))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: field name, then the text typed; keep
                        * YYYY-MM-DD HH:MM:SS, it is the format to type */
                       _("Field “%s” needs a date and time as YYYY-MM-DD HH:MM:SS, not “%s”"),
                       name, text);
          return FALSE;
        }
      break;

    case DOTHI_FIELD_TEXT:
    case DOTHI_FIELD_BOOLEAN:
    case DOTHI_FIELD_BLOB:
    default:
      break;
    }

  if (editor->rules != NULL && g_strcmp0 (text, editor->original) != 0)
    {
      g_autoptr(JsonObject) object = json_object_new ();

      set_json_value (object, editor, text);
      if (!dothi_domain_check_value (editor->rules, info, editor->field,
                                     json_object_get_member (object, name), error))
        return FALSE;
    }
  return TRUE;
}

static void
show_error (DothiFeatureForm *self,
            const char       *message)
{
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

/* Marks every bad row and shows the first error; Save waits for none. */
static gboolean
check_all (DothiFeatureForm  *self,
           GError           **error)
{
  g_autoptr(GError) first = NULL;

  for (guint i = 0; i < self->editors->len; i++)
    {
      FieldEditor *editor = g_ptr_array_index (self->editors, i);
      g_autoptr(GError) local = NULL;

      if (check_editor (self->info, editor, &local))
        gtk_widget_remove_css_class (editor->row, "error");
      else
        {
          gtk_widget_add_css_class (editor->row, "error");
          if (first == NULL)
            first = g_steal_pointer (&local);
        }
    }

  show_error (self, first ? first->message : NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "form.save",
                                 first == NULL && self->cancellable == NULL
                                 && !self->read_only);
  if (first != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first));
      return FALSE;
    }
  return TRUE;
}

static void
value_changed_cb (GObject          *row,
                  GParamSpec       *pspec,
                  DothiFeatureForm *self)
{
  check_all (self, NULL);
}

static void
text_changed_cb (GtkEditable      *editable,
                 DothiFeatureForm *self)
{
  check_all (self, NULL);
}

/* ---- building the rows -------------------------------------------------- */

/* "ODT — Đất ở tại đô thị" when the legend says more than the code. */
static char *
choice_label (const char *code,
              const char *label)
{
  if (label == NULL || label[0] == '\0' || g_strcmp0 (label, code) == 0)
    {
      const char *land_use = dothi_style_land_use_name (code);

      if (land_use == NULL)
        return g_strdup (code);
      label = land_use;
    }
  /* Translators: an item of a drop-down in the feature form: a code, then
   * what it means, "ODT — Đất ở tại đô thị" */
  return g_strdup_printf (_("%s — %s"), code, label);
}

static GtkWidget *
new_choice_row (FieldEditor *editor,
                GtkStringList *items)
{
  GtkWidget *row = adw_combo_row_new ();
  guint selected = 0;
  gboolean found = FALSE;

  /* A value outside the domain stays as it is, never silently changed. */
  for (guint i = 0; i < editor->codes->len; i++)
    if (g_strcmp0 (g_ptr_array_index (editor->codes, i), editor->original) == 0)
      {
        selected = i;
        found = TRUE;
        break;
      }
  if (!found && editor->original != NULL)
    {
      gtk_string_list_append (items, editor->original);
      g_ptr_array_add (editor->codes, g_strdup (editor->original));
      selected = editor->codes->len - 1;
    }

  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (items));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
  return row;
}

/* "0 – 100", "≥ 0", "≤ 100": the range of a number field, for people. */
static char *
range_text (const DothiDomain *domain)
{
  g_autofree char *min = domain->has_min ? dothi_domain_format_number (domain->min) : NULL;
  g_autofree char *max = domain->has_max ? dothi_domain_format_number (domain->max) : NULL;

  if (min != NULL && max != NULL)
    /* Translators: the range of a number field in the feature form */
    return g_strdup_printf (_("%s – %s"), min, max);
  if (min != NULL)
    /* Translators: the lowest number a field of the feature form takes */
    return g_strdup_printf (_("≥ %s"), min);
  if (max != NULL)
    /* Translators: the highest number a field of the feature form takes */
    return g_strdup_printf (_("≤ %s"), max);
  return NULL;
}

static void
add_suffix_label (GtkWidget  *row,
                  const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_add_css_class (label, "caption");
  if (ADW_IS_ENTRY_ROW (row))
    adw_entry_row_add_suffix (ADW_ENTRY_ROW (row), label);
  else
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
}

static GtkWidget *
build_row (FieldEditor *editor)
{
  g_autofree char *range = NULL;
  const DothiField *field = editor->field;
  GtkWidget *row = NULL;

  if (editor->domain)
    {
      g_autoptr(GtkStringList) items = gtk_string_list_new (NULL);

      editor->kind = EDITOR_CHOICE;
      editor->codes = g_ptr_array_new_with_free_func (g_free);
      if (!editor->required)
        {
          /* Translators: the drop-down item for no value (NULL) */
          gtk_string_list_append (items, _("(empty)"));
          g_ptr_array_add (editor->codes, NULL);
        }
      for (guint i = 0; i < editor->choices->codes->len; i++)
        {
          const DothiDomainCode *code = g_ptr_array_index (editor->choices->codes, i);
          g_autofree char *label = choice_label (code->value, code->label);

          gtk_string_list_append (items, label);
          g_ptr_array_add (editor->codes, g_strdup (code->value));
        }
      row = new_choice_row (editor, items);
    }
  else if (field->type == DOTHI_FIELD_BOOLEAN)
    {
      g_autoptr(GtkStringList) items = gtk_string_list_new (NULL);
      char *normal = g_strdup (normalise_boolean (editor->original));

      g_free (editor->original);
      editor->original = normal;
      editor->kind = EDITOR_CHOICE;
      editor->codes = g_ptr_array_new_with_free_func (g_free);
      gtk_string_list_append (items, _("(empty)"));
      g_ptr_array_add (editor->codes, NULL);
      /* Translators: a yes/no field's values in the feature form */
      gtk_string_list_append (items, _("Yes"));
      g_ptr_array_add (editor->codes, g_strdup ("1"));
      gtk_string_list_append (items, _("No"));
      g_ptr_array_add (editor->codes, g_strdup ("0"));
      row = new_choice_row (editor, items);
    }
  else if (field->type == DOTHI_FIELD_BLOB)
    {
      editor->kind = EDITOR_NONE;
      row = adw_action_row_new ();
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                   editor->original
                                   /* Translators: a binary field, shown in the feature form but not editable */
                                   ? _("Binary data, not editable here")
                                   : _("(empty)"));
    }
  else
    {
      editor->kind = EDITOR_ENTRY;
      row = adw_entry_row_new ();
      gtk_editable_set_text (GTK_EDITABLE (row), editor->original ? editor->original : "");
      switch (field->type)
        {
        case DOTHI_FIELD_INTEGER:
          adw_entry_row_set_input_purpose (ADW_ENTRY_ROW (row), GTK_INPUT_PURPOSE_DIGITS);
          break;
        case DOTHI_FIELD_REAL:
          adw_entry_row_set_input_purpose (ADW_ENTRY_ROW (row), GTK_INPUT_PURPOSE_NUMBER);
          break;
        default:
          break;
        }
    }

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), field->name);
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), FALSE);
  if (editor->rules != NULL && editor->kind == EDITOR_ENTRY)
    range = range_text (editor->rules);
  if (range != NULL)
    add_suffix_label (row, range);
  if (editor->required)
    /* Translators: the marker of a field of the feature form that may not
     * be empty, shown beside its value */
    add_suffix_label (row, _("required"));
  if (editor->required)
    /* Translators: tooltip of a field of the feature form that may not be empty */
    gtk_widget_set_tooltip_text (row, _("Required"));
  else if (range != NULL)
    gtk_widget_set_tooltip_text (row, range);
  else if (field->type == DOTHI_FIELD_DATE)
    /* Translators: tooltip of a date field of the feature form; keep YYYY-MM-DD */
    gtk_widget_set_tooltip_text (row, _("A date as YYYY-MM-DD"));
  editor->row = row;
  return row;
}

static gboolean
field_has_domain (const DothiField *field,
                  DothiStyle       *style)
{
  return style != NULL && style->kind == DOTHI_STYLE_CATEGORISED
         && style->field != NULL && g_strcmp0 (style->field, field->name) == 0
         && style->rules != NULL && style->rules->len > 0
         && field->type != DOTHI_FIELD_BLOB;
}

/* The stored domains decide; a layer without any keeps the old defaults:
 * the style's categorised field and a parcel number are required. The
 * drop-down is the stored code list, else the style's categories. */
static void
set_editor_rules (DothiFeatureForm *self,
                  FieldEditor      *editor)
{
  const DothiField *field = editor->field;
  const DothiDomain *stored = g_hash_table_lookup (self->domains, field->name);
  gboolean has_domains = g_hash_table_size (self->domains) > 0;

  if (stored != NULL && field->type != DOTHI_FIELD_BLOB)
    editor->rules = dothi_domain_copy (stored);
  if (editor->rules != NULL && editor->rules->codes != NULL && editor->rules->codes->len > 0)
    editor->choices = dothi_domain_copy (editor->rules);
  else if (field_has_domain (field, self->style))
    editor->choices = dothi_domain_new_from_style (self->style, field->name);
  editor->domain = editor->choices != NULL;

  if (has_domains)
    editor->required = editor->rules != NULL && editor->rules->required;
  else
    editor->required = field_has_domain (field, self->style) || is_parcel_number_name (field->name);
}

static void
build_rows (DothiFeatureForm *self,
            GPtrArray        *names,
            GPtrArray        *values)
{
  self->editors = g_ptr_array_new_with_free_func ((GDestroyNotify) field_editor_free);

  for (guint i = 0; i < self->info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (self->info->fields, i);
      FieldEditor *editor = g_new0 (FieldEditor, 1);

      editor->field = field;
      for (guint j = 0; names != NULL && j < names->len; j++)
        if (g_strcmp0 (g_ptr_array_index (names, j), field->name) == 0)
          {
            editor->original = values && j < values->len
                               ? g_strdup (g_ptr_array_index (values, j)) : NULL;
            break;
          }
      set_editor_rules (self, editor);

      adw_preferences_group_add (self->fields_group, build_row (editor));
      if (editor->kind == EDITOR_ENTRY)
        g_signal_connect (editor->row, "changed", G_CALLBACK (text_changed_cb), self);
      else if (editor->kind == EDITOR_CHOICE)
        g_signal_connect (editor->row, "notify::selected", G_CALLBACK (value_changed_cb), self);
      g_ptr_array_add (self->editors, editor);
    }
}

/* The values of @fid read with the attribute table's model: one page. */
static gboolean
read_feature_values (const char            *path,
                     const DothiLayerInfo  *info,
                     gint64                 fid,
                     GPtrArray            **names_out,
                     GPtrArray            **values_out,
                     GError               **error)
{
  g_autoptr(DothiFeatureList) list = NULL;
  g_autoptr(DothiFeatureRow) row = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  gint64 position;

  list = dothi_feature_list_new (path, info->name, error);
  if (list == NULL)
    return FALSE;
  position = dothi_feature_list_find_fid (list, fid);
  if (position < 0)
    {
      g_autofree char *number = g_strdup_printf ("%" G_GINT64_FORMAT, fid);

      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: a feature number (fid), then a layer title */
                   _("Feature %s of “%s” no longer exists"), number, layer_title (info));
      return FALSE;
    }
  if (!dothi_feature_list_load_sync (list, (guint) position, 1, error))
    return FALSE;
  row = g_list_model_get_item (G_LIST_MODEL (list), (guint) position);
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (info->fields, i);

      g_ptr_array_add (names, g_strdup (field->name));
      g_ptr_array_add (values, g_strdup (dothi_feature_row_get_value (row, i)));
    }
  *names_out = g_steal_pointer (&names);
  *values_out = g_steal_pointer (&values);
  return TRUE;
}

/* ---- saving ------------------------------------------------------------- */

typedef struct {
  char           *path;
  DothiChangeSet *set;
  char           *label;
} SaveData;

static void
save_data_free (SaveData *data)
{
  g_free (data->path);
  g_clear_pointer (&data->set, dothi_change_set_free);
  g_free (data->label);
  g_free (data);
}

/* A worker with a connection of its own: the window's project belongs to
 * the main thread. */
static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveData *data = task_data;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GError) error = NULL;
  gint64 *action_id = g_new0 (gint64, 1);

  project = dothi_project_open (data->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project != NULL)
    {
      *action_id = dothi_edit_apply_sync (project, data->set, data->label, NULL,
                                          cancellable, NULL, NULL, &error);
      dothi_project_close (project);
    }
  if (*action_id <= 0)
    {
      g_free (action_id);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, action_id, g_free);
}

static void
saved_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  DothiFeatureForm *self = DOTHI_FEATURE_FORM (object);
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *action_id = g_task_propagate_pointer (G_TASK (result), &error);

  /* Cancelled, or the form was closed meanwhile (dispose cleared it). */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->cancellable == NULL)
    return;
  g_clear_object (&self->cancellable);
  gtk_spinner_set_spinning (self->spinner, FALSE);

  if (action_id == NULL)
    {
      /* The core's message names the layer, feature and field. */
      show_error (self, error->message);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "form.save", TRUE);
      return;
    }

  g_signal_emit (self, signals[SAVED], 0, *action_id);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
set_json_value (JsonObject  *object,
                FieldEditor *editor,
                const char  *text)
{
  const char *name = editor->field->name;
  gint64 i;
  double d;

  if (text == NULL)
    {
      json_object_set_null_member (object, name);
      return;
    }
  switch (editor->field->type)
    {
    case DOTHI_FIELD_INTEGER:
      if (parse_integer (text, &i))
        json_object_set_int_member (object, name, i);
      break;
    case DOTHI_FIELD_REAL:
      if (parse_real (text, &d))
        json_object_set_double_member (object, name, d);
      break;
    case DOTHI_FIELD_BOOLEAN:
      json_object_set_boolean_member (object, name, g_str_equal (text, "1"));
      break;
    default:
      json_object_set_string_member (object, name, text);
      break;
    }
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  dothi_feature_form_save (DOTHI_FEATURE_FORM (widget));
}

/* ---- the field rules ---------------------------------------------------- */

/* Reads the layer's domains again and rebuilds the rows, keeping what was
 * typed. */
static void
reload_rules (DothiFeatureForm *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) domains = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) originals = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) typed = g_ptr_array_new_with_free_func (g_free);

  domains = dothi_domain_get_all (self->project, self->info->name, &error);
  if (domains == NULL)
    {
      show_error (self, error->message);
      return;
    }
  for (guint i = 0; i < self->editors->len; i++)
    {
      FieldEditor *editor = g_ptr_array_index (self->editors, i);

      g_ptr_array_add (names, g_strdup (editor->field->name));
      g_ptr_array_add (originals, g_strdup (editor->original));
      g_ptr_array_add (typed, editor_dup_text (editor));
      adw_preferences_group_remove (self->fields_group, editor->row);
    }
  g_clear_pointer (&self->editors, g_ptr_array_unref);
  g_clear_pointer (&self->domains, g_hash_table_unref);
  self->domains = g_steal_pointer (&domains);

  build_rows (self, names, originals);
  for (guint i = 0; i < names->len; i++)
    if (g_strcmp0 (typed->pdata[i], originals->pdata[i]) != 0)
      dothi_feature_form_set_text (self, names->pdata[i], typed->pdata[i]);
  check_all (self, NULL);
}

typedef struct {
  const DothiField *field;
  GtkWidget        *required;   /* GtkSwitch */
  GtkWidget        *min;        /* AdwEntryRow, numbers only */
  GtkWidget        *max;
} RuleRow;

typedef struct {
  DothiFeatureForm *form;       /* unowned: the editor dies with the form */
  GtkWidget        *window;
  GtkRevealer      *error_revealer;
  GtkLabel         *error_label;
  GPtrArray        *rows;       /* RuleRow* */
} RulesEditor;

static void
rules_editor_free (RulesEditor *editor)
{
  g_ptr_array_unref (editor->rows);
  g_free (editor);
}

static void
rules_show_error (RulesEditor *editor,
                  const char  *message)
{
  gtk_label_set_text (editor->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (editor->error_revealer, message != NULL);
}

static char *
number_for_entry (gboolean has, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return has ? g_strdup (g_ascii_dtostr (buf, sizeof buf, value)) : g_strdup ("");
}

/* An empty entry is no limit; FALSE with an error naming the field. */
static gboolean
read_limit (GtkWidget         *entry,
            const DothiField  *field,
            gboolean           is_min,
            gboolean          *has,
            double            *value,
            GError           **error)
{
  g_autofree char *text = NULL;

  *has = FALSE;
  if (entry == NULL)
    return TRUE;
  text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
  if (text[0] == '\0')
    return TRUE;
  if (!parse_real (text, value))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   is_min
                   /* Translators: field rules editor: a field name, then the text typed */
                   ? _("The minimum of field “%s” needs a number, not “%s”")
                   /* Translators: field rules editor: a field name, then the text typed */
                   : _("The maximum of field “%s” needs a number, not “%s”"),
                   field->name, text);
      return FALSE;
    }
  *has = TRUE;
  return TRUE;
}

static gboolean
same_rules (const DothiDomain *a,
            const DothiDomain *b)
{
  if (dothi_domain_is_empty (a) || dothi_domain_is_empty (b))
    return dothi_domain_is_empty (a) && dothi_domain_is_empty (b);
  return a->required == b->required && a->has_min == b->has_min && a->has_max == b->has_max
         && (!a->has_min || a->min == b->min) && (!a->has_max || a->max == b->max);
}

/* Each changed field is one dothi_domain_set(), one action in the history;
 * code lists are kept as stored. */
static void
rules_save_clicked_cb (GtkButton   *button,
                       RulesEditor *editor)
{
  DothiFeatureForm *self = editor->form;
  g_autoptr(GError) error = NULL;
  gboolean changed = FALSE;

  for (guint i = 0; i < editor->rows->len && error == NULL; i++)
    {
      RuleRow *row = g_ptr_array_index (editor->rows, i);
      const DothiDomain *stored = g_hash_table_lookup (self->domains, row->field->name);
      g_autoptr(DothiDomain) domain = stored ? dothi_domain_copy (stored) : dothi_domain_new ();

      domain->required = gtk_switch_get_active (GTK_SWITCH (row->required));
      if (!read_limit (row->min, row->field, TRUE, &domain->has_min, &domain->min, &error)
          || !read_limit (row->max, row->field, FALSE, &domain->has_max, &domain->max, &error))
        break;
      if (same_rules (domain, stored))
        continue;
      if (dothi_domain_set (self->project, self->info->name, row->field->name, domain, &error))
        changed = TRUE;
    }

  if (changed)
    reload_rules (self);
  if (error != NULL)
    {
      rules_show_error (editor, error->message);
      return;
    }
  gtk_window_destroy (GTK_WINDOW (editor->window));
}

static void
rules_cancel_clicked_cb (GtkButton   *button,
                         RulesEditor *editor)
{
  gtk_window_destroy (GTK_WINDOW (editor->window));
}

static GtkWidget *
new_limit_row (const char *title,
               gboolean    has,
               double      value)
{
  GtkWidget *row = adw_entry_row_new ();
  g_autofree char *text = number_for_entry (has, value);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_entry_row_set_input_purpose (ADW_ENTRY_ROW (row), GTK_INPUT_PURPOSE_NUMBER);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  return row;
}

/* Widget names ("min-dien_tich") let tests find the editor's rows. */
static void
name_widget (GtkWidget  *widget,
             const char *what,
             const char *field)
{
  g_autofree char *name = g_strconcat (what, "-", field, NULL);

  gtk_widget_set_name (widget, name);
}

/* An AdwWindow listing the fields: Required, and Minimum/Maximum for
 * numbers (empty: no limit). */
static GtkWidget *
rules_editor_new (DothiFeatureForm *self)
{
  RulesEditor *editor = g_new0 (RulesEditor, 1);
  GtkWidget *window = adw_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *title = adw_window_title_new (_("Field Rules"), layer_title (self->info));
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  GtkWidget *save = gtk_button_new_with_mnemonic (_("_Save"));
  GtkWidget *revealer = gtk_revealer_new ();
  GtkWidget *error_label = gtk_label_new (NULL);
  GtkWidget *page = adw_preferences_page_new ();

  editor->form = self;
  editor->window = window;
  editor->error_revealer = GTK_REVEALER (revealer);
  editor->error_label = GTK_LABEL (error_label);
  editor->rows = g_ptr_array_new_with_free_func (g_free);
  g_object_set_data_full (G_OBJECT (window), "dothi-rules-editor", editor,
                          (GDestroyNotify) rules_editor_free);

  /* Translators: title of the window that edits a layer's field rules */
  gtk_window_set_title (GTK_WINDOW (window), _("Field Rules"));
  gtk_window_set_modal (GTK_WINDOW (window), TRUE);
  gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (self));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (window), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (window), 420, 560);

  adw_header_bar_set_show_start_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), cancel);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), save);
  gtk_widget_add_css_class (save, "suggested-action");
  gtk_widget_set_name (save, "rules-save");
  g_signal_connect (cancel, "clicked", G_CALLBACK (rules_cancel_clicked_cb), editor);
  g_signal_connect (save, "clicked", G_CALLBACK (rules_save_clicked_cb), editor);
  gtk_box_append (GTK_BOX (box), header);

  gtk_label_set_wrap (GTK_LABEL (error_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (error_label), 0);
  gtk_widget_set_margin_top (error_label, 8);
  gtk_widget_set_margin_bottom (error_label, 8);
  gtk_widget_set_margin_start (error_label, 14);
  gtk_widget_set_margin_end (error_label, 14);
  gtk_widget_add_css_class (error_label, "error");
  gtk_revealer_set_child (GTK_REVEALER (revealer), error_label);
  gtk_box_append (GTK_BOX (box), revealer);

  for (guint i = 0; i < self->info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (self->info->fields, i);
      const DothiDomain *stored = g_hash_table_lookup (self->domains, field->name);
      RuleRow *row;
      GtkWidget *group, *required_row;

      if (field->type == DOTHI_FIELD_BLOB)
        continue;
      row = g_new0 (RuleRow, 1);
      row->field = field;
      group = adw_preferences_group_new ();
      adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), field->name);

      required_row = adw_action_row_new ();
      /* Translators: field rules editor: the switch that makes a field required */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (required_row), _("Required"));
      row->required = gtk_switch_new ();
      name_widget (row->required, "required", field->name);
      gtk_widget_set_valign (row->required, GTK_ALIGN_CENTER);
      gtk_switch_set_active (GTK_SWITCH (row->required), stored != NULL && stored->required);
      adw_action_row_add_suffix (ADW_ACTION_ROW (required_row), row->required);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (required_row), row->required);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), required_row);

      if (field->type == DOTHI_FIELD_INTEGER || field->type == DOTHI_FIELD_REAL)
        {
          /* Translators: field rules editor: the lowest number allowed, empty for none */
          row->min = new_limit_row (_("Minimum"), stored && stored->has_min, stored ? stored->min : 0);
          /* Translators: field rules editor: the highest number allowed, empty for none */
          row->max = new_limit_row (_("Maximum"), stored && stored->has_max, stored ? stored->max : 0);
          name_widget (row->min, "min", field->name);
          name_widget (row->max, "max", field->name);
          adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row->min);
          adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row->max);
        }
      g_ptr_array_add (editor->rows, row);
      adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
    }
  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (box), page);
  adw_window_set_content (ADW_WINDOW (window), box);
  return window;
}

static void
rules_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  dothi_feature_form_open_rules (DOTHI_FEATURE_FORM (widget));
}

/* ---- GObject ------------------------------------------------------------ */

static void
dothi_feature_form_dispose (GObject *object)
{
  DothiFeatureForm *self = DOTHI_FEATURE_FORM (object);

  /* The worker finishes its transaction; only its result is dropped. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->rules_window != NULL)
    gtk_window_destroy (GTK_WINDOW (self->rules_window));
  g_clear_object (&self->project);
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_FEATURE_FORM);

  G_OBJECT_CLASS (dothi_feature_form_parent_class)->dispose (object);
}

static void
dothi_feature_form_finalize (GObject *object)
{
  DothiFeatureForm *self = DOTHI_FEATURE_FORM (object);

  g_clear_pointer (&self->editors, g_ptr_array_unref);
  g_clear_pointer (&self->info, dothi_layer_info_free);
  g_clear_pointer (&self->domains, g_hash_table_unref);
  g_clear_pointer (&self->style, dothi_style_unref);
  g_free (self->path);
  g_free (self->error_message);

  G_OBJECT_CLASS (dothi_feature_form_parent_class)->finalize (object);
}

static void
dothi_feature_form_class_init (DothiFeatureFormClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_feature_form_dispose;
  object_class->finalize = dothi_feature_form_finalize;

  signals[SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-feature-form.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiFeatureForm, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiFeatureForm, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiFeatureForm, error_label);
  gtk_widget_class_bind_template_child (widget_class, DothiFeatureForm, fields_group);
  gtk_widget_class_bind_template_child (widget_class, DothiFeatureForm, spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiFeatureForm, rules_button);

  gtk_widget_class_install_action (widget_class, "form.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "form.rules", NULL, rules_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "form.save", NULL);
}

static void
dothi_feature_form_init (DothiFeatureForm *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* ---- public API --------------------------------------------------------- */

GtkWidget *
dothi_feature_form_new (GtkWindow            *parent,
                        DothiProject         *project,
                        const DothiLayerInfo *info,
                        DothiStyle           *style,
                        gint64                fid,
                        GPtrArray            *names,
                        GPtrArray            *values,
                        GError              **error)
{
  g_autoptr(GPtrArray) read_names = NULL;
  g_autoptr(GPtrArray) read_values = NULL;
  g_autofree char *number = NULL;
  g_autofree char *subtitle = NULL;
  g_autoptr(GHashTable) domains = NULL;
  DothiFeatureForm *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  if (names == NULL)
    {
      if (!read_feature_values (dothi_project_get_path (project), info, fid,
                                &read_names, &read_values, error))
        return NULL;
      names = read_names;
      values = read_values;
    }
  domains = dothi_domain_get_all (project, info->name, error);
  if (domains == NULL)
    return NULL;

  self = g_object_new (DOTHI_TYPE_FEATURE_FORM, "transient-for", parent, NULL);
  self->path = g_strdup (dothi_project_get_path (project));
  self->project = g_object_ref (project);
  self->style = style ? dothi_style_ref (style) : NULL;
  self->domains = g_steal_pointer (&domains);
  self->info = dothi_layer_info_copy (info);
  self->fid = fid;

  number = g_strdup_printf ("%" G_GINT64_FORMAT, fid);
  /* Translators: subtitle of the feature form: the feature number (fid) */
  subtitle = g_strdup_printf (_("Feature %s"), number);
  adw_window_title_set_title (self->window_title, layer_title (self->info));
  adw_window_title_set_subtitle (self->window_title, subtitle);

  build_rows (self, names, values);
  check_all (self, NULL);

  if (dothi_project_get_read_only (project))
    {
      self->read_only = TRUE;
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "form.save", FALSE);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "form.rules", FALSE);
      for (guint i = 0; i < self->editors->len; i++)
        gtk_widget_set_sensitive (((FieldEditor *) g_ptr_array_index (self->editors, i))->row, FALSE);
      /* Translators: shown in the feature form of a read-only project */
      show_error (self, _("This project is open read-only, so the feature cannot be changed"));
    }

  return GTK_WIDGET (self);
}

gint64
dothi_feature_form_get_fid (DothiFeatureForm *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), -1);

  return self->fid;
}

const char *
dothi_feature_form_get_layer (DothiFeatureForm *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), NULL);

  return self->info->name;
}

gboolean
dothi_feature_form_set_text (DothiFeatureForm *self,
                             const char       *field,
                             const char       *text)
{
  FieldEditor *editor;

  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), FALSE);

  editor = find_editor (self, field);
  if (editor == NULL)
    return FALSE;
  if (text != NULL && text[0] == '\0')
    text = NULL;

  switch (editor->kind)
    {
    case EDITOR_ENTRY:
      gtk_editable_set_text (GTK_EDITABLE (editor->row), text ? text : "");
      return TRUE;

    case EDITOR_CHOICE:
      if (editor->field->type == DOTHI_FIELD_BOOLEAN)
        text = normalise_boolean (text);
      for (guint i = 0; i < editor->codes->len; i++)
        if (g_strcmp0 (g_ptr_array_index (editor->codes, i), text) == 0)
          {
            adw_combo_row_set_selected (ADW_COMBO_ROW (editor->row), i);
            return TRUE;
          }
      return FALSE;

    case EDITOR_NONE:
    default:
      return FALSE;
    }
}

char *
dothi_feature_form_dup_text (DothiFeatureForm *self,
                             const char       *field)
{
  FieldEditor *editor;

  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), NULL);

  editor = find_editor (self, field);
  return editor ? editor_dup_text (editor) : NULL;
}

gboolean
dothi_feature_form_get_required (DothiFeatureForm *self,
                                 const char       *field)
{
  FieldEditor *editor;

  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), FALSE);

  editor = find_editor (self, field);
  return editor != NULL && editor->required;
}

gboolean
dothi_feature_form_get_has_domain (DothiFeatureForm *self,
                                   const char       *field)
{
  FieldEditor *editor;

  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), FALSE);

  editor = find_editor (self, field);
  return editor != NULL && editor->domain;
}

gboolean
dothi_feature_form_validate (DothiFeatureForm  *self,
                             GError           **error)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), FALSE);

  return check_all (self, error);
}

gboolean
dothi_feature_form_save (DothiFeatureForm *self)
{
  g_autoptr(JsonObject) properties = NULL;
  g_autoptr(GTask) task = NULL;
  g_autofree char *number = NULL;
  SaveData *data;

  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), FALSE);

  if (self->cancellable != NULL)
    return TRUE;
  if (self->read_only || !check_all (self, NULL))
    return FALSE;

  /* Only what changed is written: a value shown rounded stays as stored. */
  properties = json_object_new ();
  for (guint i = 0; i < self->editors->len; i++)
    {
      FieldEditor *editor = g_ptr_array_index (self->editors, i);
      g_autofree char *text = editor_dup_text (editor);

      if (editor->kind != EDITOR_NONE && g_strcmp0 (text, editor->original) != 0)
        set_json_value (properties, editor, text);
    }

  if (json_object_get_size (properties) == 0)
    {
      g_signal_emit (self, signals[SAVED], 0, (gint64) 0);
      gtk_window_destroy (GTK_WINDOW (self));
      return TRUE;
    }

  data = g_new0 (SaveData, 1);
  data->path = g_strdup (self->path);
  data->set = dothi_change_set_new ();
  dothi_change_set_update (data->set, self->info->name, self->fid, properties, NULL);
  number = g_strdup_printf ("%" G_GINT64_FORMAT, self->fid);
  /* Translators: an action in the history: a feature number (fid), then
   * a layer title */
  data->label = g_strdup_printf (_("Edit feature %s of “%s”"), number,
                                 layer_title (self->info));

  self->cancellable = g_cancellable_new ();
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "form.save", FALSE);
  gtk_spinner_set_spinning (self->spinner, TRUE);
  show_error (self, NULL);

  task = g_task_new (self, self->cancellable, saved_cb, NULL);
  g_task_set_source_tag (task, dothi_feature_form_save);
  g_task_set_task_data (task, data, (GDestroyNotify) save_data_free);
  g_task_run_in_thread (task, save_thread);
  return TRUE;
}

gboolean
dothi_feature_form_get_busy (DothiFeatureForm *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), FALSE);

  return self->cancellable != NULL;
}

const char *
dothi_feature_form_get_error_message (DothiFeatureForm *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), NULL);

  return self->error_message;
}

GtkWidget *
dothi_feature_form_open_rules (DothiFeatureForm *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_FORM (self), NULL);

  if (self->read_only)
    return NULL;
  if (self->rules_window == NULL)
    {
      self->rules_window = rules_editor_new (self);
      g_object_add_weak_pointer (G_OBJECT (self->rules_window), (gpointer *) &self->rules_window);
    }
  gtk_window_present (GTK_WINDOW (self->rules_window));
  return self->rules_window;
}
