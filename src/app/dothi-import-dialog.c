/* dothi-import-dialog.c: the Import dialog. Previews, CRS checks and the
 * import itself run in GTask threads with their own project connection;
 * the dialog only shows their results. */
#define G_LOG_DOMAIN "dothi-import-dialog"

#include "config.h"
#include "dothi-import-dialog.h"

#include <glib/gi18n.h>
#include "dothi-crs.h"
#include "dothi-encoding.h"
#include "dothi-format.h"
#include "dothi-import.h"

/* Sample rows and text columns in the preview table. */
#define N_SAMPLES     5
#define MAX_COLUMNS  12

struct _DothiImportDialog
{
  AdwWindow             parent_instance;

  DothiProject         *project;
  char                 *source;          /* local path, or NULL */
  GtkFileChooserNative *chooser;

  /* Each cancellable is non-NULL exactly while its job runs; a cancelled
   * job's result is dropped. */
  GCancellable         *preview_cancellable;
  GCancellable         *crs_cancellable;
  GCancellable         *run_cancellable;
  GApplication         *held_application;

  GPtrArray            *previews;        /* DothiImportPreview*, or NULL */
  GStrv                 caps_fields;     /* of the last preview */
  GPtrArray            *layer_rows;      /* AdwActionRow*, as previews */
  GPtrArray            *layer_checks;    /* GtkCheckButton*, as previews */
  GPtrArray            *sample_labels;   /* GtkLabel*, row-major */
  guint                 sample_columns;

  int                   crs_srid;        /* of the CRS entry; 0 when none */
  char                 *default_name;    /* put in the name entry by us */
  char                 *message;
  char                 *summary;
  AdwToast             *toast;           /* weak: the one shown, or NULL */
  gboolean              setting_name;
  gboolean              disposed;

  /* Template children */
  AdwWindowTitle       *window_title;
  GtkButton            *cancel_button;
  GtkButton            *import_button;
  GtkButton            *close_button;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  AdwStatusPage        *loading_page;
  GtkSpinner           *loading_spinner;
  AdwStatusPage        *failed_page;
  GtkRevealer          *error_revealer;
  GtkLabel             *error_label;
  AdwActionRow         *file_row;
  AdwPreferencesGroup  *layers_group;
  GtkSpinner           *preview_spinner;
  AdwComboRow          *encoding_row;
  GtkLabel             *sample_heading;
  GtkWidget            *sample_frame;
  GtkGrid              *sample_grid;
  AdwPreferencesGroup  *crs_group;
  AdwActionRow         *source_crs_row;
  AdwActionRow         *project_crs_row;
  AdwEntryRow          *crs_entry;
  GtkLabel             *crs_status;
  GtkSwitch            *make_valid_switch;
  AdwEntryRow          *name_entry;
  AdwStatusPage        *running_page;
  GtkProgressBar       *progress_bar;
  AdwStatusPage        *done_page;
  GtkListBox           *summary_list;
};

G_DEFINE_FINAL_TYPE (DothiImportDialog, dothi_import_dialog, ADW_TYPE_WINDOW)

enum {
  IMPORTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The encoding row's items, in the order of the .ui's string list. */
static const struct {
  const char *id;        /* for dothi_import_dialog_set_encoding() */
  const char *encoding;  /* for the core; NULL: automatic */
  gboolean    caps;
} encodings[] = {
  { "auto", NULL, FALSE },
  { "UTF-8", DOTHI_ENCODING_UTF8, FALSE },
  { "CP1258", DOTHI_ENCODING_CP1258, FALSE },
  { "TCVN3", DOTHI_ENCODING_TCVN3, FALSE },
  { "TCVN3-caps", DOTHI_ENCODING_TCVN3, TRUE },
  { "VNI", DOTHI_ENCODING_VNI, FALSE },
};

/* ---- workers ----------------------------------------------------------- */

/* A copy of what a preview needs; the worker touches nothing else. */
typedef struct {
  char     *project_path;
  char     *source;
  char     *encoding;
  gboolean  caps;
} PreviewJob;

typedef struct {
  GPtrArray *previews;
  GStrv      caps_fields;
  char      *project_crs;
} PreviewResult;

static void
preview_job_free (PreviewJob *job)
{
  g_free (job->project_path);
  g_free (job->source);
  g_free (job->encoding);
  g_free (job);
}

static void
preview_result_free (PreviewResult *result)
{
  g_clear_pointer (&result->previews, g_ptr_array_unref);
  g_strfreev (result->caps_fields);
  g_free (result->project_crs);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PreviewResult, preview_result_free)

/* "EPSG:9218 VN-2000 / TM-3 108-30"; PROJ's database is read, so workers
 * call it. */
static char *
describe_srid (int srid)
{
  g_autofree char *name = dothi_crs_dup_name (srid);

  if (name == NULL)
    return g_strdup_printf ("EPSG:%d", srid);
  /* Translators: an EPSG code and the CRS's name, as in
   * "EPSG:9218 VN-2000 / TM-3 108-30" */
  return g_strdup_printf (_("EPSG:%d %s"), srid, name);
}

/* Runs in a worker with its own read-only connection to the project
 * (the preview names tables that do not clash with the project's). */
static void
preview_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  PreviewJob *job = task_data;
  g_autoptr(PreviewResult) result = g_new0 (PreviewResult, 1);
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autoptr(GError) error = NULL;

  project = dothi_project_open (job->project_path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  if (project == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  import = dothi_import_new (project, job->source);
  dothi_import_set_encoding (import, job->encoding);
  result->previews = dothi_import_preview_sync (import, N_SAMPLES, &error);
  if (result->previews == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Capital-letter fonts apply to the text fields, named as TCVN3 decodes
   * them: the second pass shows their values in capitals. */
  if (job->caps)
    {
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

      for (guint i = 0; i < result->previews->len; i++)
        {
          DothiImportPreview *pv = g_ptr_array_index (result->previews, i);

          for (guint k = 0; k < pv->fields->len; k++)
            {
              DothiImportFieldPreview *fp = g_ptr_array_index (pv->fields, k);

              if (fp->type == DOTHI_FIELD_TEXT)
                g_strv_builder_add (builder, fp->name);
            }
        }
      result->caps_fields = g_strv_builder_end (builder);
      dothi_import_set_caps_fields (import, (const char * const *) result->caps_fields);
      if (g_task_return_error_if_cancelled (task))
        return;
      g_ptr_array_unref (result->previews);
      result->previews = dothi_import_preview_sync (import, N_SAMPLES, &error);
      if (result->previews == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }

  result->project_crs = describe_srid (dothi_project_get_srid (project));
  g_task_return_pointer (task, g_steal_pointer (&result),
                         (GDestroyNotify) preview_result_free);
}

typedef struct {
  int   srid;
  char *description;
} CrsResult;

static void
crs_result_free (CrsResult *result)
{
  g_free (result->description);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CrsResult, crs_result_free)

/* Parsing an EPSG code reads PROJ's database: off the main loop. */
static void
parse_crs_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  g_autoptr(CrsResult) result = g_new0 (CrsResult, 1);
  g_autoptr(GError) error = NULL;

  result->srid = dothi_crs_parse (task_data, &error);
  if (result->srid == 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  result->description = describe_srid (result->srid);
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) crs_result_free);
}

/* ---- helpers ----------------------------------------------------------- */

static gboolean
is_running (DothiImportDialog *self)
{
  return self->run_cancellable != NULL;
}

static guint
count_checked (DothiImportDialog *self,
               guint             *first)
{
  guint n = 0;

  for (guint i = 0; self->layer_checks != NULL && i < self->layer_checks->len; i++)
    if (gtk_check_button_get_active (g_ptr_array_index (self->layer_checks, i)))
      {
        if (n == 0 && first != NULL)
          *first = i;
        n++;
      }
  return n;
}

static gboolean
layer_checked (DothiImportDialog *self,
               guint              i)
{
  return gtk_check_button_get_active (g_ptr_array_index (self->layer_checks, i));
}

/* TRUE when a chosen layer has geometry but no CRS Dothi knows. */
static gboolean
needs_source_crs (DothiImportDialog *self)
{
  for (guint i = 0; self->previews != NULL && i < self->previews->len; i++)
    {
      DothiImportPreview *pv = g_ptr_array_index (self->previews, i);

      if (layer_checked (self, i) && pv->kind != DOTHI_GEOMETRY_KIND_NONE && pv->source_srid == 0)
        return TRUE;
    }
  return FALSE;
}

static void
set_message (DothiImportDialog *self,
             const char        *message)
{
  g_free (self->message);
  self->message = g_strdup (message);
}

static void
show_error (DothiImportDialog *self,
            const char        *message)
{
  set_message (self, message);
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
dismiss_toast (DothiImportDialog *self)
{
  if (self->toast != NULL)
    adw_toast_dismiss (self->toast);
}

static void
show_toast (DothiImportDialog *self,
            const char        *message)
{
  AdwToast *toast = adw_toast_new (message);

  dismiss_toast (self);
  set_message (self, message);
  g_set_weak_pointer (&self->toast, toast);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* One place decides what can be done now. */
static void
update_actions (DothiImportDialog *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->stack);
  gboolean options = g_strcmp0 (page, "options") == 0;
  gboolean done = g_strcmp0 (page, "done") == 0;
  gboolean can_run;

  can_run = options
            && self->previews != NULL
            && self->preview_cancellable == NULL
            && self->crs_cancellable == NULL
            && count_checked (self, NULL) > 0
            && (!needs_source_crs (self) || self->crs_srid > 0);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "import.run", can_run);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "import.choose", !is_running (self));
  gtk_widget_set_visible (GTK_WIDGET (self->import_button), !done);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), !done);
  gtk_widget_set_visible (GTK_WIDGET (self->close_button), done);
  gtk_window_set_default_widget (GTK_WINDOW (self),
                                 GTK_WIDGET (done ? self->close_button : self->import_button));
}

static void
set_page (DothiImportDialog *self,
          const char        *name)
{
  gtk_stack_set_visible_child_name (self->stack, name);
  gtk_spinner_set_spinning (self->loading_spinner, g_strcmp0 (name, "loading") == 0);
  update_actions (self);
}

static int
selected_encoding (DothiImportDialog *self)
{
  guint selected = adw_combo_row_get_selected (self->encoding_row);

  return selected < G_N_ELEMENTS (encodings) ? (int) selected : 0;
}

/* "polygons · 1,234 features", the CRS, and the text encoding: one line
 * each. */
static char *
describe_layer (const DothiImportPreview *pv)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *count = NULL;

  if (pv->feature_count >= 0)
    {
      g_autofree char *number = dothi_format_int64 (pv->feature_count);

      /* Translators: number of features (rows) in a layer, already
       * formatted with thousands separators */
      count = g_strdup_printf (ngettext ("%s feature", "%s features",
                                         (gulong) MIN (pv->feature_count, G_MAXLONG)),
                               number);
    }
  else
    /* Translators: shown instead of a feature count when the file format
     * cannot count them without reading the whole file */
    count = g_strdup (_("features not counted yet"));

  /* Translators: a geometry kind ("polygons") and a feature count
   * ("1,234 features") */
  g_string_append_printf (text, _("%s · %s"), dothi_geometry_kind_to_label (pv->kind), count);

  if (pv->kind != DOTHI_GEOMETRY_KIND_NONE)
    {
      g_string_append_c (text, '\n');
      if (pv->source_srid > 0 && pv->source_crs != NULL)
        /* Translators: an EPSG code and the name of the layer's CRS */
        g_string_append_printf (text, _("CRS: EPSG:%d %s"), pv->source_srid, pv->source_crs);
      else if (pv->source_srid > 0)
        g_string_append_printf (text, _("CRS: EPSG:%d"), pv->source_srid);
      else
        g_string_append (text, _("No coordinate reference system Dothi knows: give it below"));
    }

  if (pv->encoding != NULL)
    {
      g_string_append_c (text, '\n');
      if (pv->encoding_detected)
        /* Translators: an encoding name and how sure the detection is, as
         * in "Text encoding: TCVN3 (detected, 92% sure)" */
        g_string_append_printf (text, _("Text encoding: %s (detected, %.0f%% sure)"),
                                pv->encoding, pv->confidence * 100);
      else
        /* Translators: an encoding name */
        g_string_append_printf (text, _("Text encoding: %s"), pv->encoding);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
clear_layer_rows (DothiImportDialog *self)
{
  for (guint i = 0; self->layer_rows != NULL && i < self->layer_rows->len; i++)
    adw_preferences_group_remove (self->layers_group, g_ptr_array_index (self->layer_rows, i));
  g_clear_pointer (&self->layer_rows, g_ptr_array_unref);
  g_clear_pointer (&self->layer_checks, g_ptr_array_unref);
}

static void layer_toggled_cb (GtkCheckButton *check, DothiImportDialog *self);

/* @checked: the previous check states to keep (same file, new encoding),
 * or NULL for all checked. */
static void
fill_layer_rows (DothiImportDialog *self,
                 GArray            *checked)
{
  g_autofree char *heading = NULL;

  clear_layer_rows (self);
  self->layer_rows = g_ptr_array_new ();
  self->layer_checks = g_ptr_array_new ();

  for (guint i = 0; i < self->previews->len; i++)
    {
      DothiImportPreview *pv = g_ptr_array_index (self->previews, i);
      g_autofree char *subtitle = describe_layer (pv);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();
      gboolean active = checked == NULL || i >= checked->len
                        || g_array_index (checked, gboolean, i);

      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), active);
      g_signal_connect (check, "toggled", G_CALLBACK (layer_toggled_cb), self);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), pv->source_layer);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      gtk_accessible_update_relation (GTK_ACCESSIBLE (check),
                                      GTK_ACCESSIBLE_RELATION_LABELLED_BY, row, NULL,
                                      -1);
      adw_preferences_group_add (self->layers_group, row);
      g_ptr_array_add (self->layer_rows, row);
      g_ptr_array_add (self->layer_checks, check);
    }

  /* Translators: heading of the Import dialog's list of the file's layers */
  heading = g_strdup_printf (ngettext ("%u Layer", "%u Layers", self->previews->len),
                             self->previews->len);
  adw_preferences_group_set_title (self->layers_group, heading);
  adw_preferences_group_set_description (self->layers_group,
                                         self->previews->len > 1
                                         ? _("Each layer you choose becomes a layer of the project.")
                                         : NULL);
}

static void
clear_samples (DothiImportDialog *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->sample_grid))))
    gtk_grid_remove (self->sample_grid, child);
  g_ptr_array_set_size (self->sample_labels, 0);
  self->sample_columns = 0;
}

static GtkWidget *
sample_label (const char *text,
              gboolean    heading)
{
  GtkWidget *label = gtk_label_new (text ? text : "—");

  /* Short values in full; long ones cut at 20 to 28 characters. The
   * table scrolls sideways rather than squeeze its columns. */
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 28);
  gtk_label_set_width_chars (GTK_LABEL (label),
                             text ? (int) MIN (g_utf8_strlen (text, -1), 20) : 1);
  gtk_label_set_single_line_mode (GTK_LABEL (label), TRUE);
  if (text != NULL)
    gtk_widget_set_tooltip_text (label, text);
  if (heading)
    gtk_widget_add_css_class (label, "heading");
  else if (text == NULL)
    gtk_widget_add_css_class (label, "dim-label");
  return label;
}

/* The decoded text values of the first chosen layer that has text fields:
 * whether Vietnamese reads right shows there. */
static void
fill_samples (DothiImportDialog *self)
{
  DothiImportPreview *shown = NULL;
  g_autoptr(GPtrArray) columns = g_ptr_array_new ();
  g_autofree char *heading = NULL;
  guint n_rows = 0;

  clear_samples (self);
  for (guint i = 0; self->previews != NULL && i < self->previews->len && shown == NULL; i++)
    {
      DothiImportPreview *pv = g_ptr_array_index (self->previews, i);

      if (!layer_checked (self, i))
        continue;
      for (guint k = 0; k < pv->fields->len; k++)
        {
          DothiImportFieldPreview *fp = g_ptr_array_index (pv->fields, k);

          if (fp->type == DOTHI_FIELD_TEXT && columns->len < MAX_COLUMNS)
            g_ptr_array_add (columns, fp);
        }
      if (columns->len > 0)
        shown = pv;
    }

  if (shown == NULL)
    {
      gtk_label_set_text (self->sample_heading,
                          _("The chosen layers have no text fields."));
      gtk_widget_set_visible (self->sample_frame, FALSE);
      return;
    }

  for (guint c = 0; c < columns->len; c++)
    {
      DothiImportFieldPreview *fp = g_ptr_array_index (columns, c);
      n_rows = MAX (n_rows, fp->samples->len);
    }
  self->sample_columns = columns->len;
  for (guint r = 0; r <= n_rows; r++)
    for (guint c = 0; c < columns->len; c++)
      {
        DothiImportFieldPreview *fp = g_ptr_array_index (columns, c);
        const char *text = NULL;
        GtkWidget *label;

        if (r == 0)
          text = fp->name;
        else if (r - 1 < fp->samples->len)
          text = g_ptr_array_index (fp->samples, r - 1);
        label = sample_label (text, r == 0);
        gtk_grid_attach (self->sample_grid, label, (int) c, (int) r, 1, 1);
        g_ptr_array_add (self->sample_labels, label);
      }

  if (n_rows == 0)
    /* Translators: a layer name */
    heading = g_strdup_printf (_("No values to show from “%s”; these are its text fields."),
                               shown->source_layer);
  else
    /* Translators: a layer name; a table of its first text values follows */
    heading = g_strdup_printf (_("First values of the text fields of “%s”, decoded:"),
                               shown->source_layer);
  gtk_label_set_text (self->sample_heading, heading);
  gtk_widget_set_visible (self->sample_frame, TRUE);
}

/* What the encoding row says under its title. */
static void
update_encoding_row (DothiImportDialog *self)
{
  DothiImportPreview *first = NULL;
  gboolean any_encoding = FALSE;
  g_autofree char *subtitle = NULL;
  int selected = selected_encoding (self);

  for (guint i = 0; self->previews != NULL && i < self->previews->len; i++)
    {
      DothiImportPreview *pv = g_ptr_array_index (self->previews, i);

      if (pv->encoding == NULL)
        continue;
      any_encoding = TRUE;
      if (first == NULL && layer_checked (self, i))
        first = pv;
    }

  /* Formats that store Unicode (GeoPackage, GeoJSON, KML...) have
   * nothing to choose. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->encoding_row), any_encoding || selected != 0);

  if (!any_encoding)
    subtitle = g_strdup (_("This file format stores Unicode text"));
  else if (selected != 0 || first == NULL)
    subtitle = NULL;
  else if (first->encoding_detected)
    /* Translators: an encoding name and how sure the detection is */
    subtitle = g_strdup_printf (_("Detected: %s (%.0f%% sure)"), first->encoding,
                                first->confidence * 100);
  else
    /* Translators: an encoding name, as declared by the file (.cpg) */
    subtitle = g_strdup_printf (_("From the file: %s"), first->encoding);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->encoding_row), subtitle ? subtitle : "");
}

static void update_crs_status (DothiImportDialog *self);

static void
update_crs_rows (DothiImportDialog *self)
{
  int srid = -1;
  gboolean differs = FALSE, missing = FALSE, any_geometry = FALSE;
  const char *name = NULL;
  g_autofree char *text = NULL;

  for (guint i = 0; self->previews != NULL && i < self->previews->len; i++)
    {
      DothiImportPreview *pv = g_ptr_array_index (self->previews, i);

      if (!layer_checked (self, i) || pv->kind == DOTHI_GEOMETRY_KIND_NONE)
        continue;
      any_geometry = TRUE;
      if (pv->source_srid == 0)
        missing = TRUE;
      else if (srid == -1)
        {
          srid = pv->source_srid;
          name = pv->source_crs;
        }
      else if (srid != pv->source_srid)
        differs = TRUE;
    }

  if (!any_geometry)
    text = g_strdup (_("None needed: the chosen layers have no geometry"));
  else if (missing)
    text = g_strdup (_("None found"));
  else if (differs)
    text = g_strdup (_("Differs by layer (listed under Layers)"));
  else if (name != NULL)
    text = g_strdup_printf (_("EPSG:%d %s"), srid, name);
  else
    text = g_strdup_printf ("EPSG:%d", srid);
  adw_action_row_set_subtitle (self->source_crs_row, text);

  gtk_widget_set_visible (GTK_WIDGET (self->crs_entry), missing);
  adw_preferences_group_set_description (self->crs_group,
                                         missing
                                         ? _("A chosen layer has no coordinate reference system Dothi knows. Type the one it was drawn in, such as EPSG:9218 or a province name (Đắk Lắk); it applies to every layer imported. Layers in a VN-2000 zone keep their coordinates; others are transformed into the project’s.")
                                         : _("Layers in a VN-2000 zone keep their coordinates; others are transformed into the project’s."));
  update_crs_status (self);
}

static void
update_crs_status (DothiImportDialog *self)
{
  gboolean shown = gtk_widget_get_visible (GTK_WIDGET (self->crs_entry));
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->crs_entry));

  /* The label is set by the CRS check; an empty entry says nothing. */
  gtk_widget_set_visible (GTK_WIDGET (self->crs_status), shown && text[0] != '\0');
}

static void
update_name_entry (DothiImportDialog *self)
{
  guint first = 0;
  gboolean single = count_checked (self, &first) == 1;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));

  gtk_widget_set_visible (GTK_WIDGET (self->name_entry), single);
  if (!single)
    return;

  /* The chosen layer's name, unless the user typed one. */
  if (text[0] == '\0' || g_strcmp0 (text, self->default_name) == 0)
    {
      DothiImportPreview *pv = g_ptr_array_index (self->previews, first);

      g_free (self->default_name);
      self->default_name = g_strdup (pv->source_layer);
      self->setting_name = TRUE;
      gtk_editable_set_text (GTK_EDITABLE (self->name_entry), pv->source_layer);
      self->setting_name = FALSE;
    }
}

static void
update_options (DothiImportDialog *self)
{
  update_encoding_row (self);
  fill_samples (self);
  update_crs_rows (self);
  update_name_entry (self);
  update_actions (self);
}

/* ---- preview ----------------------------------------------------------- */

/* Focuses @widget and scrolls the page to it, on the first frame where it
 * has a size (the stack shows the page with a transition). */
static gboolean
focus_when_shown_cb (GtkWidget     *widget,
                     GdkFrameClock *clock,
                     gpointer       user_data)
{
  GtkWidget *scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  graphene_rect_t bounds;

  if (gtk_widget_get_height (widget) == 0)
    return G_SOURCE_CONTINUE;

  gtk_widget_grab_focus (widget);
  if (scrolled != NULL
      && gtk_widget_compute_bounds (widget, gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scrolled)),
                                    &bounds))
    {
      GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
      double value = gtk_adjustment_get_value (adjustment);

      gtk_adjustment_clamp_page (adjustment, value + bounds.origin.y,
                                 value + bounds.origin.y + bounds.size.height);
    }
  return G_SOURCE_REMOVE;
}

static void
preview_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (object);
  g_autoptr(PreviewResult) preview = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) checked = NULL;
  gboolean same_file = GPOINTER_TO_INT (user_data);

  preview = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;  /* A newer preview took over, or the dialog went away. */

  g_clear_object (&self->preview_cancellable);
  gtk_spinner_set_spinning (self->preview_spinner, FALSE);

  if (preview == NULL)
    {
      g_clear_pointer (&self->previews, g_ptr_array_unref);
      clear_layer_rows (self);
      set_message (self, error->message);
      adw_status_page_set_description (self->failed_page, error->message);
      set_page (self, "failed");
      return;
    }

  /* A new encoding keeps the layers the user chose. */
  if (same_file && self->layer_checks != NULL && self->layer_checks->len == preview->previews->len)
    {
      checked = g_array_new (FALSE, FALSE, sizeof (gboolean));
      for (guint i = 0; i < self->layer_checks->len; i++)
        {
          gboolean active = layer_checked (self, i);
          g_array_append_val (checked, active);
        }
    }

  g_clear_pointer (&self->previews, g_ptr_array_unref);
  self->previews = g_steal_pointer (&preview->previews);
  g_strfreev (self->caps_fields);
  self->caps_fields = g_steal_pointer (&preview->caps_fields);
  adw_action_row_set_subtitle (self->project_crs_row, preview->project_crs);

  fill_layer_rows (self, checked);
  set_page (self, "options");
  update_options (self);

  /* What the import still needs gets the focus, once it is laid out. */
  if (!same_file && needs_source_crs (self))
    gtk_widget_add_tick_callback (GTK_WIDGET (self->crs_entry), focus_when_shown_cb, NULL, NULL);
}

/* Runs the preview again for the current file and encoding; a preview
 * still running is dropped. */
static void
start_preview (DothiImportDialog *self,
               gboolean           same_file)
{
  g_autoptr(GTask) task = NULL;
  PreviewJob *job;
  int enc = selected_encoding (self);

  g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  self->preview_cancellable = g_cancellable_new ();

  job = g_new0 (PreviewJob, 1);
  job->project_path = g_strdup (dothi_project_get_path (self->project));
  job->source = g_strdup (self->source);
  job->encoding = g_strdup (encodings[enc].encoding);
  job->caps = encodings[enc].caps;

  if (same_file)
    gtk_spinner_set_spinning (self->preview_spinner, TRUE);
  else
    set_page (self, "loading");
  update_actions (self);

  task = g_task_new (self, self->preview_cancellable, preview_done_cb,
                     GINT_TO_POINTER (same_file));
  g_task_set_source_tag (task, start_preview);
  g_task_set_task_data (task, job, (GDestroyNotify) preview_job_free);
  g_task_run_in_thread (task, preview_thread);
}

/* ---- CRS entry --------------------------------------------------------- */

static void
crs_parsed_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (object);
  g_autoptr(CrsResult) crs = NULL;
  g_autoptr(GError) error = NULL;

  crs = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->crs_cancellable);

  if (crs == NULL)
    {
      self->crs_srid = 0;
      set_message (self, error->message);
      gtk_label_set_text (self->crs_status, error->message);
      gtk_widget_remove_css_class (GTK_WIDGET (self->crs_status), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (self->crs_status), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->crs_entry), "error");
    }
  else
    {
      self->crs_srid = crs->srid;
      set_message (self, NULL);
      gtk_label_set_text (self->crs_status, crs->description);
      gtk_widget_remove_css_class (GTK_WIDGET (self->crs_status), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->crs_status), "dim-label");
      gtk_widget_remove_css_class (GTK_WIDGET (self->crs_entry), "error");
    }
  update_crs_status (self);
  update_actions (self);
}

static void
crs_changed_cb (GtkEditable       *editable,
                DothiImportDialog *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (editable)));
  g_autoptr(GTask) task = NULL;

  g_cancellable_cancel (self->crs_cancellable);
  g_clear_object (&self->crs_cancellable);
  self->crs_srid = 0;

  if (text[0] == '\0')
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->crs_entry), "error");
      update_crs_status (self);
      update_actions (self);
      return;
    }

  self->crs_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->crs_cancellable, crs_parsed_cb, NULL);
  g_task_set_source_tag (task, crs_changed_cb);
  g_task_set_task_data (task, g_steal_pointer (&text), g_free);
  g_task_run_in_thread (task, parse_crs_thread);
  update_actions (self);
}

/* ---- running ----------------------------------------------------------- */

static void
release_application (DothiImportDialog *self)
{
  if (self->held_application != NULL)
    {
      g_application_release (self->held_application);
      g_clear_object (&self->held_application);
    }
}

/* Called on the main thread, in order, before the run's callback. */
static void
progress_cb (double      fraction,
             const char *stage,
             gpointer    user_data)
{
  DothiImportDialog *self = user_data;

  if (self->disposed || !is_running (self))
    return;
  if (fraction < 0)
    gtk_progress_bar_pulse (self->progress_bar);
  else
    gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0.0, 1.0));
  gtk_progress_bar_set_text (self->progress_bar, stage);
}

static char *
format_fids (GArray *fids)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint k = 0; k < fids->len && k < 10; k++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, k ? ", " : "",
                            g_array_index (fids, gint64, k));
  if (fids->len > 10)
    g_string_append (text, ", …");
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* One row per layer in the summary, and the same lines as text. */
static void
show_summary (DothiImportDialog *self,
              DothiImport       *import,
              gboolean           make_valid)
{
  GPtrArray *reports = dothi_import_get_reports (import);
  g_autoptr(GString) all = g_string_new (NULL);
  GtkWidget *child;
  g_autofree char *description = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->summary_list))))
    gtk_list_box_remove (self->summary_list, child);

  for (guint i = 0; i < reports->len; i++)
    {
      DothiImportReport *r = g_ptr_array_index (reports, i);
      g_autofree char *count = dothi_format_int64 (r->n_features);
      g_autoptr(GString) lines = g_string_new (NULL);
      GtkWidget *row = adw_action_row_new ();

      /* Translators: a formatted feature count and a table name */
      g_string_append_printf (lines, ngettext ("Imported %s feature into table “%s”",
                                               "Imported %s features into table “%s”",
                                               (gulong) MIN (r->n_features, G_MAXLONG)),
                              count, r->table);
      if (r->operation != NULL)
        {
          g_string_append_c (lines, '\n');
          /* Translators: a PROJ operation name */
          g_string_append_printf (lines, _("Transformed with %s"), r->operation);
        }
      if (r->n_invalid > 0)
        {
          g_autofree char *bad = dothi_format_int64 (r->n_invalid);
          g_autofree char *fids = format_fids (r->invalid_fids);

          g_string_append_c (lines, '\n');
          if (make_valid)
            /* Translators: a formatted count, then source feature ids */
            g_string_append_printf (lines, ngettext ("%s invalid geometry repaired (source feature %s)",
                                                     "%s invalid geometries repaired (source features %s)",
                                                     (gulong) MIN (r->n_invalid, G_MAXLONG)),
                                    bad, fids);
          else
            /* Translators: a formatted count, then source feature ids */
            g_string_append_printf (lines, ngettext ("%s invalid geometry kept as it is (source feature %s); import again with Repair Invalid Geometries to fix it",
                                                     "%s invalid geometries kept as they are (source features %s); import again with Repair Invalid Geometries to fix them",
                                                     (gulong) MIN (r->n_invalid, G_MAXLONG)),
                                    bad, fids);
        }

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), r->title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), lines->str);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
      if (r->n_invalid > 0 && !make_valid)
        adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                   gtk_image_new_from_icon_name ("dialog-warning-symbolic"));
      gtk_list_box_append (self->summary_list, row);

      g_string_append_printf (all, "%s%s: %s", i ? "\n" : "", r->title, lines->str);
    }

  {
    g_autofree char *base = g_filename_display_basename (self->source);

    /* Translators: shown after an import; a number of layers, then a
     * file name */
    description = g_strdup_printf (ngettext ("%u layer from “%s” is now in the project.",
                                             "%u layers from “%s” are now in the project.",
                                             reports->len),
                                   reports->len, base);
  }
  adw_status_page_set_description (self->done_page, description);
  g_free (self->summary);
  self->summary = g_string_free (g_steal_pointer (&all), FALSE);
}

static void
run_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  DothiImport *import = DOTHI_IMPORT (object);
  g_autoptr(DothiImportDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = dothi_import_run_finish (import, result, &error);
  g_clear_object (&self->run_cancellable);
  release_application (self);

  /* The project changed even when the dialog went away meanwhile (the
   * cancel came after the commit): the window still reloads. */
  if (ok)
    g_signal_emit (self, signals[IMPORTED], 0);
  if (self->disposed)
    return;

  if (ok)
    {
      show_error (self, NULL);
      show_summary (self, import,
                    gtk_switch_get_active (self->make_valid_switch));
      set_page (self, "done");
      return;
    }

  set_page (self, "options");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      show_error (self, NULL);
      show_toast (self, _("Import cancelled; the project is unchanged"));
    }
  else
    show_error (self, error->message);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (widget);
  g_autoptr(DothiImport) import = NULL;
  g_autoptr(GStrvBuilder) layers = g_strv_builder_new ();
  g_auto(GStrv) names = NULL;
  guint first = 0;
  guint n_checked = count_checked (self, &first);
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
  int enc = selected_encoding (self);
  GtkWindow *parent;

  if (is_running (self) || self->previews == NULL || n_checked == 0)
    return;

  import = dothi_import_new (self->project, self->source);
  /* All layers checked: none named, so the core takes every one. */
  if (n_checked < self->previews->len)
    for (guint i = 0; i < self->previews->len; i++)
      if (layer_checked (self, i))
        {
          DothiImportPreview *pv = g_ptr_array_index (self->previews, i);
          g_strv_builder_add (layers, pv->source_layer);
        }
  names = g_strv_builder_end (layers);
  dothi_import_set_layers (import, (const char * const *) names);
  dothi_import_set_encoding (import, encodings[enc].encoding);
  if (encodings[enc].caps)
    dothi_import_set_caps_fields (import, (const char * const *) self->caps_fields);
  if (needs_source_crs (self))
    dothi_import_set_source_crs (import, gtk_editable_get_text (GTK_EDITABLE (self->crs_entry)));
  dothi_import_set_make_valid (import, gtk_switch_get_active (self->make_valid_switch));
  if (n_checked == 1 && name[0] != '\0' && g_strcmp0 (name, self->default_name) != 0)
    dothi_import_set_target_name (import, name);

  show_error (self, NULL);
  dismiss_toast (self);
  set_message (self, NULL);
  self->run_cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_progress_bar_set_text (self->progress_bar, _("Starting"));
  {
    g_autofree char *base = g_filename_display_basename (self->source);
    /* Translators: a file name */
    g_autofree char *title = g_strdup_printf (_("Importing “%s”…"), base);
    adw_status_page_set_title (self->running_page, title);
  }
  set_page (self, "running");

  /* Quitting waits for the rollback or the commit. */
  parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  if (parent != NULL && gtk_window_get_application (parent) != NULL)
    {
      self->held_application = g_object_ref (G_APPLICATION (gtk_window_get_application (parent)));
      g_application_hold (self->held_application);
    }

  /* The dialog stays alive until the result is in; progress reports
   * arrive before it. */
  dothi_import_run_async (import, self->run_cancellable, progress_cb, self,
                          run_done_cb, g_object_ref (self));
}

/* ---- choosing a file --------------------------------------------------- */

static void
chooser_response_cb (GtkNativeDialog   *dialog,
                     int                response,
                     DothiImportDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        dothi_import_dialog_set_file (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
add_suffixes (GtkFileFilter      *filter,
              const char * const *suffixes)
{
  for (guint i = 0; suffixes[i] != NULL; i++)
    gtk_file_filter_add_suffix (filter, suffixes[i]);
}

static void
choose_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (widget);
  static const char * const all[] = {
    "shp", "zip", "gpkg", "geojson", "json", "kml", "kmz", "dxf", "dgn", "gdb", "gdbtable",
    "csv", "gml", "tab", "mif", "inp", NULL,
  };
  static const char * const shapefile[] = { "shp", "zip", NULL };
  static const char * const cad[] = { "dxf", "dgn", NULL };
  static const char * const epanet[] = { "inp", NULL };
  GtkFileFilter *filter;

  if (is_running (self))
    return;
  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }

  /* Translators: title, accept and cancel buttons of the file chooser
   * of the Import dialog */
  self->chooser = gtk_file_chooser_native_new (_("Import a GIS File"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Choose"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);

  filter = gtk_file_filter_new ();
  /* Translators: file type filter of the Import dialog's file chooser */
  gtk_file_filter_set_name (filter, _("All supported GIS files"));
  add_suffixes (filter, all);
  /* A File Geodatabase is a folder: any file in it stands for it. */
  gtk_file_filter_add_pattern (filter, "gdb");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Shapefiles (.shp, .zip)"));
  add_suffixes (filter, shapefile);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("CAD drawings (.dxf, .dgn)"));
  add_suffixes (filter, cad);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("EPANET models (.inp)"));
  add_suffixes (filter, epanet);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("All files"));
  gtk_file_filter_add_pattern (filter, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- callbacks --------------------------------------------------------- */

/* Escape and Cancel stop a running import; otherwise they close. */
static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (widget);

  if (is_running (self))
    {
      gtk_progress_bar_set_text (self->progress_bar, _("Cancelling…"));
      g_cancellable_cancel (self->run_cancellable);
      return;
    }
  gtk_window_close (GTK_WINDOW (self));
}

static void
layer_toggled_cb (GtkCheckButton    *check,
                  DothiImportDialog *self)
{
  update_options (self);
}

static void
encoding_selected_cb (AdwComboRow       *row,
                      GParamSpec        *pspec,
                      DothiImportDialog *self)
{
  if (self->source == NULL || is_running (self))
    return;
  start_preview (self, TRUE);
}

static void
name_changed_cb (GtkEditable       *editable,
                 DothiImportDialog *self)
{
  if (!self->setting_name)
    g_clear_pointer (&self->default_name, g_free);
}

static gboolean
close_request_cb (GtkWindow *window)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (window);

  /* Closing cancels: the core rolls back in its thread. */
  g_cancellable_cancel (self->run_cancellable);
  if (GTK_WINDOW_CLASS (dothi_import_dialog_parent_class)->close_request != NULL)
    return GTK_WINDOW_CLASS (dothi_import_dialog_parent_class)->close_request (window);
  return FALSE;
}

/* ---- GObject ----------------------------------------------------------- */

static void
dothi_import_dialog_dispose (GObject *object)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (object);

  self->disposed = TRUE;
  g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  g_cancellable_cancel (self->crs_cancellable);
  g_clear_object (&self->crs_cancellable);
  /* Kept until the run's callback, which releases the application. */
  g_cancellable_cancel (self->run_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->layer_rows, g_ptr_array_unref);
  g_clear_pointer (&self->layer_checks, g_ptr_array_unref);
  g_clear_pointer (&self->sample_labels, g_ptr_array_unref);
  g_clear_weak_pointer (&self->toast);

  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_IMPORT_DIALOG);

  G_OBJECT_CLASS (dothi_import_dialog_parent_class)->dispose (object);
}

static void
dothi_import_dialog_finalize (GObject *object)
{
  DothiImportDialog *self = DOTHI_IMPORT_DIALOG (object);

  g_clear_object (&self->run_cancellable);
  release_application (self);
  g_clear_object (&self->project);
  g_free (self->source);
  g_clear_pointer (&self->previews, g_ptr_array_unref);
  g_strfreev (self->caps_fields);
  g_free (self->default_name);
  g_free (self->message);
  g_free (self->summary);

  G_OBJECT_CLASS (dothi_import_dialog_parent_class)->finalize (object);
}

static void
dothi_import_dialog_class_init (DothiImportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = dothi_import_dialog_dispose;
  object_class->finalize = dothi_import_dialog_finalize;
  window_class->close_request = close_request_cb;

  /**
   * DothiImportDialog::imported:
   *
   * Layers were added to the project (through another connection).
   */
  signals[IMPORTED] = g_signal_new ("imported",
                                    G_TYPE_FROM_CLASS (klass),
                                    G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-import-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, import_button);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, close_button);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, loading_page);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, failed_page);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, file_row);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, layers_group);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, preview_spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, encoding_row);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, sample_heading);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, sample_frame);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, sample_grid);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, crs_group);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, source_crs_row);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, project_crs_row);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, crs_entry);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, crs_status);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, make_valid_switch);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, name_entry);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, running_page);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, done_page);
  gtk_widget_class_bind_template_child (widget_class, DothiImportDialog, summary_list);

  gtk_widget_class_install_action (widget_class, "import.choose", NULL, choose_action);
  gtk_widget_class_install_action (widget_class, "import.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "import.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "import.cancel", NULL);
}

static void
dothi_import_dialog_init (DothiImportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->sample_labels = g_ptr_array_new ();
  g_signal_connect (self->encoding_row, "notify::selected",
                    G_CALLBACK (encoding_selected_cb), self);
  g_signal_connect (self->crs_entry, "changed", G_CALLBACK (crs_changed_cb), self);
  g_signal_connect (self->name_entry, "changed", G_CALLBACK (name_changed_cb), self);
  set_page (self, "choose");
}

/* ---- public API -------------------------------------------------------- */

GtkWidget *
dothi_import_dialog_new (GtkWindow    *parent,
                         DothiProject *project,
                         GFile        *source)
{
  DothiImportDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (source == NULL || G_IS_FILE (source), NULL);

  self = g_object_new (DOTHI_TYPE_IMPORT_DIALOG, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  if (source != NULL)
    dothi_import_dialog_set_file (self, source);
  return GTK_WIDGET (self);
}

void
dothi_import_dialog_set_file (DothiImportDialog *self,
                              GFile             *file)
{
  g_autofree char *path = NULL;
  g_autofree char *display = NULL;
  g_autofree char *dir = NULL;

  g_return_if_fail (DOTHI_IS_IMPORT_DIALOG (self));
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (!is_running (self));

  path = g_file_get_path (file);
  display = g_file_get_parse_name (file);
  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->previews, g_ptr_array_unref);
  g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  clear_layer_rows (self);
  clear_samples (self);
  show_error (self, NULL);
  dismiss_toast (self);

  if (path == NULL)
    {
      g_autofree char *message = NULL;

      /* Translators: a location such as "sftp://server/roads.shp"; shown
       * when it is not a file on this computer */
      message = g_strdup_printf (_("“%s” is not on this computer. Copy it to a local folder, then import the copy."),
                                 display);
      set_message (self, message);
      adw_status_page_set_description (self->failed_page, message);
      set_page (self, "failed");
      return;
    }

  /* A file inside a File Geodatabase folder stands for the folder. */
  dir = g_path_get_dirname (path);
  if (g_str_has_suffix (dir, ".gdb") && g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_free (path);
      path = g_steal_pointer (&dir);
    }
  self->source = g_steal_pointer (&path);

  {
    g_autofree char *base = g_filename_display_basename (self->source);
    g_autofree char *folder_path = g_path_get_dirname (self->source);
    g_autofree char *folder = g_filename_display_name (folder_path);
    /* Translators: a file name */
    g_autofree char *loading = g_strdup_printf (_("Reading “%s”…"), base);

    adw_window_title_set_subtitle (self->window_title, base);
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->file_row), base);
    adw_action_row_set_subtitle (self->file_row, folder);
    adw_status_page_set_title (self->loading_page, loading);
  }

  /* A new file starts from automatic detection, all layers and no CRS. */
  g_signal_handlers_block_by_func (self->encoding_row, encoding_selected_cb, self);
  adw_combo_row_set_selected (self->encoding_row, 0);
  g_signal_handlers_unblock_by_func (self->encoding_row, encoding_selected_cb, self);
  gtk_editable_set_text (GTK_EDITABLE (self->crs_entry), "");
  self->setting_name = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->name_entry), "");
  self->setting_name = FALSE;
  g_clear_pointer (&self->default_name, g_free);
  set_message (self, NULL);

  start_preview (self, FALSE);
}

const char *
dothi_import_dialog_get_page (DothiImportDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_IMPORT_DIALOG (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

gboolean
dothi_import_dialog_get_busy (DothiImportDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_IMPORT_DIALOG (self), FALSE);

  return self->preview_cancellable != NULL || self->crs_cancellable != NULL
         || self->run_cancellable != NULL;
}

const char *
dothi_import_dialog_get_message (DothiImportDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_IMPORT_DIALOG (self), NULL);

  return self->message;
}

const char *
dothi_import_dialog_get_summary (DothiImportDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_IMPORT_DIALOG (self), NULL);

  return self->summary;
}

guint
dothi_import_dialog_get_n_layers (DothiImportDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_IMPORT_DIALOG (self), 0);

  return self->layer_checks ? self->layer_checks->len : 0;
}

void
dothi_import_dialog_set_layer_active (DothiImportDialog *self,
                                      guint              index,
                                      gboolean           active)
{
  g_return_if_fail (DOTHI_IS_IMPORT_DIALOG (self));
  g_return_if_fail (index < dothi_import_dialog_get_n_layers (self));

  gtk_check_button_set_active (g_ptr_array_index (self->layer_checks, index), active);
}

void
dothi_import_dialog_set_encoding (DothiImportDialog *self,
                                  const char        *encoding)
{
  g_return_if_fail (DOTHI_IS_IMPORT_DIALOG (self));

  for (guint i = 0; i < G_N_ELEMENTS (encodings); i++)
    if (g_ascii_strcasecmp (encoding ? encoding : "auto", encodings[i].id) == 0)
      {
        adw_combo_row_set_selected (self->encoding_row, i);
        return;
      }
  g_return_if_reached ();
}

void
dothi_import_dialog_set_source_crs (DothiImportDialog *self,
                                    const char        *text)
{
  g_return_if_fail (DOTHI_IS_IMPORT_DIALOG (self));

  gtk_editable_set_text (GTK_EDITABLE (self->crs_entry), text ? text : "");
}

const char *
dothi_import_dialog_get_sample_text (DothiImportDialog *self,
                                     int                row,
                                     int                column)
{
  guint index;

  g_return_val_if_fail (DOTHI_IS_IMPORT_DIALOG (self), NULL);

  if (column < 0 || (guint) column >= self->sample_columns || row < -1)
    return NULL;
  index = (guint) (row + 1) * self->sample_columns + (guint) column;
  if (index >= self->sample_labels->len)
    return NULL;
  return gtk_label_get_text (g_ptr_array_index (self->sample_labels, index));
}
