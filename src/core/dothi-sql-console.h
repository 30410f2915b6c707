/* dothi-sql-console.h: the read-only SQL console for experts: any one SELECT,
 * with SpatiaLite's functions, on a read-only connection of its own that can
 * change nothing in the project and write no file (DESIGN.md §6, Query). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DOTHI_TYPE_SQL_CONSOLE (dothi_sql_console_get_type ())
G_DECLARE_FINAL_TYPE (DothiSqlConsole, dothi_sql_console, DOTHI, SQL_CONSOLE, GObject)

/* Rows returned when max_rows is 0. */
#define DOTHI_SQL_CONSOLE_DEFAULT_MAX_ROWS 1000

/* Opens the project at @project_path (a plain path, never a URI) read-only,
 * with SpatiaLite's SQL functions. The connection is locked down: query_only,
 * defensive, untrusted schema, no extension loading, and an authorizer that
 * allows reading only (SELECT, reading tables, WITH RECURSIVE, the pragmas
 * table_info, index_list, index_info and foreign_key_list, and every
 * function except those that touch files or write tables; see the list in
 * dothi-sql-console.c). Refused with DOTHI_ERROR_UNSUPPORTED while the
 * environment has SPATIALITE_SECURITY=relaxed, which would let SpatiaLite's
 * file functions (BlobToFile, ExportSHP…) read and write files. A missing
 * file is DOTHI_ERROR_NOT_FOUND. */
DothiSqlConsole *dothi_sql_console_open  (const char  *project_path,
                                          GError     **error);

/* Drops the caller's reference: the connection closes once a query still
 * running on a thread has finished (its task holds a reference). Same as
 * g_object_unref(); g_autoptr(DothiSqlConsole) does it too. */
void             dothi_sql_console_close (DothiSqlConsole *self);

/* Runs exactly one statement (a trailing “;”, spaces and comments are
 * fine; a second statement is DOTHI_ERROR_INVALID_DATA). Returns the rows,
 * at most @max_rows (0: DOTHI_SQL_CONSOLE_DEFAULT_MAX_ROWS), each row a
 * GPtrArray of display texts, one per column, NULL for SQL NULL, “<N bytes>”
 * for a BLOB (geometries included); numbers as SQLite prints them, text made
 * valid UTF-8. @column_names (optional) receives the column names, even for
 * no rows.
 *
 * Errors: a statement that would write, ATTACH, a pragma outside the list,
 * a file or write function: DOTHI_ERROR_INVALID_DATA “Only reading is allowed
 * in the SQL console: …” naming what was refused; a syntax or run-time error:
 * DOTHI_ERROR_INVALID_DATA with SQLite's message; G_IO_ERROR_CANCELLED when
 * @cancellable fires (checked every 1000 SQLite VM steps, so a long query
 * really stops); DOTHI_ERROR_BUSY when the console is already running a
 * query.
 *
 * Threads: the connection is SQLITE_OPEN_NOMUTEX, so a console runs one
 * query at a time: call _run_sync from one thread at a time (any thread), or
 * use _run_async, and start the next query after the previous finished. */
GPtrArray       *dothi_sql_console_run_sync   (DothiSqlConsole  *self,
                                               const char       *sql,
                                               guint             max_rows,
                                               GStrv            *column_names,
                                               GCancellable     *cancellable,
                                               GError          **error);

/* _run_sync on a GTask thread; @callback runs on the calling thread's main
 * context. */
void             dothi_sql_console_run_async  (DothiSqlConsole     *self,
                                               const char          *sql,
                                               guint                max_rows,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
GPtrArray       *dothi_sql_console_run_finish (DothiSqlConsole  *self,
                                               GAsyncResult     *result,
                                               GStrv            *column_names,
                                               GError          **error);

G_END_DECLS
