/* dothi-application.c: the application object: app.about and app.quit,
 * the accelerator table, the app's few style rules, and opening files
 * from the command line. */
#define G_LOG_DOMAIN "dothi-application"

#include "config.h"
#include "dothi-application.h"

#include <glib/gi18n.h>
#include <gdal.h>

#include "dothi-resources.h"
#include "dothi-window.h"

struct _DothiApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (DothiApplication, dothi_application, ADW_TYPE_APPLICATION)

/* Every accelerator of the application, in one place; the shortcuts
 * window (ui/help-overlay.ui) shows them by action name. */
static const struct {
  const char *action;
  const char *accels[3];
} accelerators[] = {
  { "win.open",               { "<Control>o", NULL } },
  { "win.new",                { "<Control>n", NULL } },
  { "win.import",             { "<Control>i", NULL } },
  { "win.search",             { "<Control>f", NULL } },
  { "win.toggle-sidebar",     { "F9", NULL } },
  { "win.zoom-in",            { "<Control>plus", "<Control>equal", "<Control>KP_Add" } },
  { "win.zoom-out",           { "<Control>minus", "<Control>KP_Subtract", NULL } },
  { "win.zoom-project",       { "<Control>0", "<Control>KP_0", NULL } },
  { "win.close",              { "<Control>w", NULL } },
  { "win.undo",               { "<Control>z", NULL } },
  { "win.redo",               { "<Control><Shift>z", "<Control>y", NULL } },
  { "win.toggle-table",       { "<Control>t", NULL } },
  { "win.history",            { "<Control>h", NULL } },
  { "win.query",              { "<Control><Shift>f", NULL } },
  { "win.sql-console",        { "<Control><Shift>l", NULL } },
  { "win.print",              { "<Control>p", NULL } },
  { "win.network",            { "<Control><Shift>n", NULL } },
  { "win.operations",         { "<Control><Shift>o", NULL } },
  { "win.wall-mode",          { "F11", NULL } },
  { "win.merge",              { "<Control>m", NULL } },
  { "win.show-help-overlay",  { "<Control>question", NULL } },
  { "app.quit",               { "<Control>q", NULL } },
  /* Escape (win.close-identify) and the single keys of the editing tools
   * are key bindings of DothiWindow, so entries and popovers see them
   * first: E win.edit-mode, P win.edit-tool('none'), A ('add', the layer's
   * kind), V ('vertices'), M ('move'), D ('delete'), K ('split'),
   * S ('select'), N win.snapping. Enter, Escape and Backspace while
   * drawing belong to the map. */
};

/* Small additions to Adwaita's look: a drop target row while a layer is
 * dragged over it, and a status bar that reads like one. */
static const char app_css[] =
  "row.expander:drop(active) { box-shadow: inset 0 0 0 2px alpha(@accent_color, 0.8); }\n"
  ".dothi-statusbar { min-height: 22px; }\n"
  ".dothi-sidebar list.boxed-list > row.expander list.nested > row { min-height: 0; }\n";

/* A window that shows nothing yet, to reuse before making a new one. */
static DothiWindow *
find_empty_window (DothiApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (DOTHI_IS_WINDOW (window)
      && dothi_window_get_project (DOTHI_WINDOW (window)) == NULL
      && !dothi_window_get_busy (DOTHI_WINDOW (window)))
    return DOTHI_WINDOW (window);

  return NULL;
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  DothiApplication *self = DOTHI_APPLICATION (user_data);
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", TRUE,
                        "application-icon", APPLICATION_ID,
                        "application-name", "Dothi",
                        /* Translators: who made Dothi, in the About window */
                        "developer-name", _("The Dothi developers"),
                        "version", PACKAGE_VERSION,
                        /* Translators: one-line description in the About window */
                        "comments", _("Maps and land records for city staff"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        /* Translators: put your names here, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GApplication *application = G_APPLICATION (user_data);
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (application));

  /* Destroying the windows lets each close its project (in a thread that
   * holds the application) before g_application_run() returns. */
  while (windows != NULL)
    {
      gtk_window_destroy (windows->data);
      windows = gtk_application_get_windows (GTK_APPLICATION (application));
    }
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = about_action },
  { .name = "quit",  .activate = quit_action },
};

static void
dothi_application_startup (GApplication *application)
{
  DothiApplication *self = DOTHI_APPLICATION (application);

  G_APPLICATION_CLASS (dothi_application_parent_class)->startup (application);

  /* The core opens projects with GDAL's SQLite driver among others;
   * registering twice is harmless. */
  GDALAllRegister ();

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (guint i = 0; i < G_N_ELEMENTS (accelerators); i++)
    {
      const char *accels[G_N_ELEMENTS (accelerators[i].accels) + 1] = { NULL };

      /* Each list is NULL-terminated, even a full one. */
      for (guint j = 0; j < G_N_ELEMENTS (accelerators[i].accels); j++)
        accels[j] = accelerators[i].accels[j];
      gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                             accelerators[i].action, accels);
    }

  if (gdk_display_get_default () != NULL)
    {
      g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_data (provider, app_css, -1);
      gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                  GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    }
}

static void
dothi_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (dothi_window_new (ADW_APPLICATION (application)));

  gtk_window_present (window);
}

static void
dothi_application_open (GApplication  *application,
                        GFile        **files,
                        int            n_files,
                        const char    *hint)
{
  DothiApplication *self = DOTHI_APPLICATION (application);

  /* One window per project. */
  for (int i = 0; i < n_files; i++)
    {
      DothiWindow *window = find_empty_window (self);

      if (window == NULL)
        window = dothi_window_new (ADW_APPLICATION (self));

      dothi_window_open_file (window, files[i]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static void
dothi_application_class_init (DothiApplicationClass *klass)
{
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  application_class->startup = dothi_application_startup;
  application_class->activate = dothi_application_activate;
  application_class->open = dothi_application_open;

  /* Registered by hand: the resources live in a static library, whose
   * constructor would not be linked in when nothing refers to it. */
  dothi_register_resource ();
}

static void
dothi_application_init (DothiApplication *self)
{
}

DothiApplication *
dothi_application_new (void)
{
  return g_object_new (DOTHI_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/vn/dothi/Dothi",
                       NULL);
}
