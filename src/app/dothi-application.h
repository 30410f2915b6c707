/* dothi-application.h: the Dothi application: app-wide actions, their
 * accelerators, and one window per open project. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DOTHI_TYPE_APPLICATION (dothi_application_get_type ())
G_DECLARE_FINAL_TYPE (DothiApplication, dothi_application, DOTHI, APPLICATION, AdwApplication)

DothiApplication *dothi_application_new (void);

G_END_DECLS
