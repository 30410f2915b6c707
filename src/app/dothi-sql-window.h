/* dothi-sql-window.h: the read-only SQL console for experts: a SELECT
 * with SpatiaLite functions, its rows in a table, on a connection that
 * can change nothing (dothi-sql-console.h). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DOTHI_TYPE_SQL_WINDOW (dothi_sql_window_get_type ())
G_DECLARE_FINAL_TYPE (DothiSqlWindow, dothi_sql_window, DOTHI, SQL_WINDOW, AdwWindow)

/* A console on the project at @path, transient for @parent. */
DothiSqlWindow *dothi_sql_window_new (GtkWindow  *parent,
                                      const char *path);

/* For tests and the shortcuts window. TRUE while the console opens or a
 * query runs. */
gboolean        dothi_sql_window_get_busy          (DothiSqlWindow *self);
/* The error shown for the last query (or the opening), NULL when none. */
const char     *dothi_sql_window_get_error_message (DothiSqlWindow *self);
/* The status line: "1,234 rows in 0.12 s", "Query cancelled"… */
const char     *dothi_sql_window_get_status_text   (DothiSqlWindow *self);

G_END_DECLS
