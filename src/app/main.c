/* main.c: entry point of the Dothi application. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "dothi-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(DothiApplication) application = NULL;
  const char *localedir = g_getenv ("DOTHI_LOCALEDIR");

  setlocale (LC_ALL, "");
  /* libspatialite sets LC_NUMERIC to "POSIX" for the whole process when
   * the core opens a connection (in a worker thread); start that way so
   * the switch changes nothing. Numbers for people go through
   * dothi_format_int64(), which uses the user's locale. */
  setlocale (LC_NUMERIC, "C");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name ("Dothi");

  application = dothi_application_new ();

  return g_application_run (G_APPLICATION (application), argc, argv);
}
