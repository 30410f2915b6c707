/* dothi-window.c: the main window. Opens a project off the main loop,
 * then lists its layers; the map comes in its own widget. */
#define G_LOG_DOMAIN "dothi-window"

#include "config.h"
#include "dothi-window.h"

#include <glib/gi18n.h>
#include "dothi-layer-row.h"

struct _DothiWindow
{
  AdwApplicationWindow  parent_instance;

  DothiProject         *project;
  /* Cancels the open in progress; NULL when none is. */
  GCancellable         *open_cancellable;
  GtkFileChooserNative *chooser;
  GtkWidget            *error_dialog;
  char                 *error_message;

  /* Template children */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  AdwStatusPage        *empty_page;
  GtkSpinner           *spinner;
  GtkLabel             *layers_heading;
  GtkListBox           *layer_list;
};

G_DEFINE_FINAL_TYPE (DothiWindow, dothi_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_PROJECT,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What the open worker hands back to the main thread. */
typedef struct {
  DothiProject *project;
  GPtrArray    *layers;   /* DothiLayerInfo* */
} OpenResult;

static void
open_result_free (OpenResult *result)
{
  g_clear_object (&result->project);
  g_clear_pointer (&result->layers, g_ptr_array_unref);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OpenResult, open_result_free)

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

  result->project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
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
set_project (DothiWindow  *self,
             DothiProject *project)
{
  if (self->project == project)
    return;

  if (self->project != NULL)
    close_project_in_background (self, g_steal_pointer (&self->project));
  self->project = project ? g_object_ref (project) : NULL;

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
  gtk_window_set_title (GTK_WINDOW (self), name);
}

static void
clear_layer_list (DothiWindow *self)
{
  GtkWidget *child;

  /* gtk_list_box_remove_all() is GTK 4.12. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list))))
    gtk_list_box_remove (self->layer_list, child);
}

static void
show_layers (DothiWindow *self,
             GPtrArray   *layers)
{
  g_autofree char *heading = NULL;

  clear_layer_list (self);
  for (guint i = 0; i < layers->len; i++)
    gtk_list_box_append (self->layer_list,
                         dothi_layer_row_new (g_ptr_array_index (layers, i)));

  /* Translators: heading above the list of a project's layers */
  heading = g_strdup_printf (ngettext ("%u Layer", "%u Layers", layers->len),
                             layers->len);
  gtk_label_set_text (self->layers_heading, heading);

  gtk_stack_set_visible_child_name (self->stack,
                                    layers->len > 0 ? "layers" : "no-layers");
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

  g_free (self->error_message);
  self->error_message = g_strdup (message);

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
        {
          GtkWidget *first = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list));
          gtk_stack_set_visible_child_name (self->stack,
                                            first != NULL ? "layers" : "no-layers");
        }
      /* Translators: heading of the message shown when a project file
       * cannot be opened; the reason follows */
      show_error (self, _("Could Not Open Project"), error->message);
      return;
    }

  set_project (self, opened->project);
  update_title (self);
  show_layers (self, opened->layers);
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
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiWindow *self = DOTHI_WINDOW (widget);
  g_autoptr(GtkFileFilter) filter = NULL;

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }

  /* Translators: title, accept and cancel buttons of the file chooser */
  self->chooser = gtk_file_chooser_native_new (_("Open Project"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);

  filter = gtk_file_filter_new ();
  /* Translators: file type filter in the Open dialog */
  gtk_file_filter_set_name (filter, _("Dothi projects"));
  gtk_file_filter_add_mime_type (filter, "application/x-dothi-project");
  gtk_file_filter_add_suffix (filter, "dothi");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);

  g_signal_connect (self->chooser, "response",
                    G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         DothiWindow   *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;

  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;

  dothi_window_open_file (self, files->data);

  /* Further projects open in windows of their own. */
  if (files->next != NULL)
    {
      g_autoptr(GPtrArray) rest = g_ptr_array_new ();

      for (GSList *l = files->next; l != NULL; l = l->next)
        g_ptr_array_add (rest, l->data);
      g_application_open (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))),
                          (GFile **) rest->pdata, rest->len, "");
    }

  g_slist_free (files);
  return TRUE;
}

static void
dothi_window_dispose (GObject *object)
{
  DothiWindow *self = DOTHI_WINDOW (object);

  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->project != NULL)
    close_project_in_background (self, g_steal_pointer (&self->project));

  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_WINDOW);

  G_OBJECT_CLASS (dothi_window_parent_class)->dispose (object);
}

static void
dothi_window_finalize (GObject *object)
{
  DothiWindow *self = DOTHI_WINDOW (object);

  g_free (self->error_message);

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

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL,
                         DOTHI_TYPE_PROJECT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, layers_heading);
  gtk_widget_class_bind_template_child (widget_class, DothiWindow, layer_list);

  /* Accelerators are set in DothiApplication's startup table. */
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
}

static void
dothi_window_init (DothiWindow *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

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

  /* Held until the worker is done: quitting in the middle of an open
   * (which may migrate the file) waits for it. */
  application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  if (application != NULL)
    g_application_hold (application);

  task = g_task_new (self, self->open_cancellable, project_opened_cb,
                     application ? g_object_ref (application) : NULL);
  g_task_set_source_tag (task, dothi_window_open_file);
  g_task_set_task_data (task, g_steal_pointer (&path), g_free);
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
