/* dothi-sql-console.c: the read-only SQL console: one SELECT at a time on a
 * locked-down read-only connection (query_only, defensive, no extensions, an
 * authorizer that allows reading only, SpatiaLite's file functions off). */
#define G_LOG_DOMAIN "dothi-sql-console"

#include "config.h"
#include "dothi-sql-console.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <string.h>

/* SQLite virtual machine steps between two looks at the cancellable. */
#define CANCEL_CHECK_STEPS 1000

struct _DothiSqlConsole
{
  GObject       parent_instance;

  char         *path;
  sqlite3      *db;
  void         *spatialite_cache;
  /* Set for the query running now, read by the progress handler on the
   * same thread. */
  GCancellable *cancellable;
  /* What the authorizer refused first in the current statement, for the
   * message; NULL when nothing was. */
  char         *refused;
  gboolean      refused_schema;   /* that was a write to sqlite_master */
  char         *refused_function; /* lower case, when that was a function */
  int           busy;
};

G_DEFINE_FINAL_TYPE (DothiSqlConsole, dothi_sql_console, G_TYPE_OBJECT)

/* The pragmas the console may run: they only describe the schema. */
static const char * const allowed_pragmas[] = {
  "table_info", "index_list", "index_info", "foreign_key_list",
};

/* Functions refused by exact name (lower case). Those that read or write
 * files: SQLite's load_extension, and the shell's readfile, writefile and
 * edit; SpatiaLite's file functions, which it registers only with
 * SPATIALITE_SECURITY=relaxed (BlobFromFile, BlobToFile, XB_LoadXML,
 * XB_StoreXML, PROJ_GuessSridFromSHP, SqlProc_FromFile, SqlProc_SetLogfile,
 * and eval, which runs any SQL); fts3_tokenizer, which can take a pointer.
 * And SpatiaLite functions that write tables without a prefix below. */
static const char * const denied_functions[] = {
  "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
  "blobfromfile", "blobtofile", "xb_loadxml", "xb_storexml", "eval",
  "proj_guesssridfromshp", "proj_guesssridfromzipshp",
  "sqlproc_fromfile", "sqlproc_setlogfile",
  "addgeometrycolumn", "addfdogeometrycolumn", "addtemporarygeometrycolumn",
  "elementarygeometries", "insertepsgsrid", "removeduplicaterows",
  "rtreealign", "st_cutter", "setdatalicenseurl",
};

/* Functions refused by prefix (lower case): SpatiaLite's import and export
 * of files (ImportSHP, ImportDBF, ImportXLS, ImportDXF*, ImportWFS,
 * ImportGeoJSON, ImportZip*, ExportSHP, ExportDBF, ExportDXF,
 * ExportGeoJSON*, ExportKML), and its functions that create, change or drop
 * tables: metadata (Init*, Create* but CreateUUID, Drop*, Discard*,
 * Recover*, Disable*, Enable*, Register*, Unregister*, Rename*, Clone*,
 * Update*, Invalidate*, Upgrade*, GPKG writers, SE_* styling, WMS_*),
 * stored procedures and variables, and topologies and networks (TopoGeo_*,
 * TopoNet_*, the ISO topology editors ST_AddIsoNode…). The connection is
 * read-only and query_only, and the authorizer also sees every statement
 * such a function prepares, so none of them could write the project
 * anyway: the list gives a clear refusal, and stops file writes, which
 * SQLite cannot see. */
static const char * const denied_prefixes[] = {
  "import", "export",
  "init", "create", "drop", "discard", "recover", "disable", "enable",
  "register", "unregister", "renam", "clone", "update", "invalidate",
  "upgrade", "gpkgadd", "gpkgcreate", "gpkginsert", "se_", "wms_",
  "storedproc_", "storedvar_", "sqlproc_exec", "topogeo_", "toponet_",
  "st_addedge", "st_addiso", "st_addlink", "st_changeedge", "st_changelink",
  "st_createtopo", "st_inittopo", "st_loginetfrom", "st_modedge",
  "st_modgeolink", "st_modlink", "st_modloglink", "st_moveiso", "st_newedge",
  "st_newgeolink", "st_newlink", "st_newloglink", "st_remedge", "st_remiso",
  "st_removelink", "st_spatnetfrom", "st_valid",
};

/* Functions a denied prefix would catch that only read. */
static const char * const allowed_functions[] = {
  "createuuid",
};

static gboolean
in_list (const char *name, const char * const *list, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (strcmp (name, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
function_allowed (const char *name)
{
  g_autofree char *lower = NULL;

  if (name == NULL)
    return FALSE;
  lower = g_ascii_strdown (name, -1);
  if (in_list (lower, allowed_functions, G_N_ELEMENTS (allowed_functions)))
    return TRUE;
  if (in_list (lower, denied_functions, G_N_ELEMENTS (denied_functions)))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (denied_prefixes); i++)
    if (g_str_has_prefix (lower, denied_prefixes[i]))
      return FALSE;
  return TRUE;
}

static gboolean
pragma_allowed (const char *name)
{
  if (name == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (allowed_pragmas); i++)
    if (g_ascii_strcasecmp (name, allowed_pragmas[i]) == 0)
      return TRUE;
  return FALSE;
}

/* What the authorizer refused, for “Only reading is allowed…: %s”. */
static char *
describe_refusal (int action, const char *arg1, const char *arg2)
{
  const char *a1 = arg1 ? arg1 : "?";
  const char *a2 = arg2 ? arg2 : "?";

  switch (action)
    {
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; a table name */
      return g_strdup_printf (_("writing to “%s”"), a1);
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; a table, view, index or trigger name */
      return g_strdup_printf (_("creating “%s”"), a1);
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; a table, view, index or trigger name */
      return g_strdup_printf (_("dropping “%s”"), a1);
    case SQLITE_ALTER_TABLE:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; a table name */
      return g_strdup_printf (_("changing the table “%s”"), a2);
    case SQLITE_ATTACH:
      return g_strdup ("ATTACH");
    case SQLITE_DETACH:
      return g_strdup ("DETACH");
    case SQLITE_ANALYZE:
      return g_strdup ("ANALYZE");
    case SQLITE_REINDEX:
      return g_strdup ("REINDEX");
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; BEGIN, COMMIT, ROLLBACK or RELEASE */
      return g_strdup_printf (_("transactions (%s)"), a1);
    case SQLITE_PRAGMA:
      if (arg2 != NULL)
        /* Translators: completes “Only reading is allowed in the SQL
         * console: %s”; a pragma and its value */
        return g_strdup_printf (_("the pragma %s = %s"), a1, a2);
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; a pragma name */
      return g_strdup_printf (_("the pragma %s"), a1);
    case SQLITE_FUNCTION:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s”; a function name */
      return g_strdup_printf (_("the function %s"), a2);
    default:
      /* Translators: completes “Only reading is allowed in the SQL
       * console: %s” */
      return g_strdup (_("this statement"));
    }
}

static int
authorize_cb (void       *data,
              int         action,
              const char *arg1,
              const char *arg2,
              const char *database,
              const char *trigger)
{
  DothiSqlConsole *self = data;

  switch (action)
    {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_FUNCTION:
      if (function_allowed (arg2))
        return SQLITE_OK;
      break;
    case SQLITE_PRAGMA:
      if (pragma_allowed (arg1))
        return SQLITE_OK;
      break;
    default:
      break;
    }
  /* CREATE and DROP are first refused as a write to the schema table: the
   * statement's keywords then name them (see run_statement()). */
  if (self->refused == NULL)
    {
      self->refused = describe_refusal (action, arg1, arg2);
      if (action == SQLITE_FUNCTION)
        self->refused_function = g_strdup (arg2);
      self->refused_schema = (action == SQLITE_INSERT || action == SQLITE_UPDATE
                              || action == SQLITE_DELETE)
                             && arg1 != NULL && (g_str_has_prefix (arg1, "sqlite_master")
                                                 || g_str_has_prefix (arg1, "sqlite_temp_master")
                                                 || g_str_has_prefix (arg1, "sqlite_schema")
                                                 || g_str_has_prefix (arg1, "sqlite_temp_schema"));
    }
  return SQLITE_DENY;
}

/* Stands in for a refused file function that SpatiaLite did not register,
 * so the authorizer refuses it by name instead of “no such function”; it
 * never runs, as the authorizer refuses every statement naming it. */
static void
refused_function (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  sqlite3_result_error (context, "refused", -1);
}

static gboolean
register_refused_functions (DothiSqlConsole *self)
{
  static const char * const names[] = {
    "BlobFromFile", "BlobToFile", "XB_LoadXML", "XB_StoreXML", "eval",
    "ExportDBF", "ExportDXF", "ExportGeoJSON", "ExportGeoJSON2", "ExportKML",
    "ExportSHP", "ImportDBF", "ImportDXF", "ImportDXFfromDir", "ImportGeoJSON",
    "ImportSHP", "ImportWFS", "ImportXLS", "ImportZipDBF", "ImportZipSHP",
    "PROJ_GuessSridFromSHP", "PROJ_GuessSridFromZipSHP", "SqlProc_FromFile",
    "SqlProc_SetLogfile", "readfile", "writefile", "edit",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (sqlite3_create_function (self->db, names[i], -1, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                 NULL, refused_function, NULL, NULL) != SQLITE_OK)
      return FALSE;
  return TRUE;
}

static int
progress_cb (void *data)
{
  DothiSqlConsole *self = data;

  return self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable);
}

static void
dothi_sql_console_finalize (GObject *object)
{
  DothiSqlConsole *self = DOTHI_SQL_CONSOLE (object);

  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  if (self->spatialite_cache != NULL)
    spatialite_cleanup_ex (self->spatialite_cache);
  g_free (self->refused);
  g_free (self->refused_function);
  g_free (self->path);

  G_OBJECT_CLASS (dothi_sql_console_parent_class)->finalize (object);
}

static void
dothi_sql_console_class_init (DothiSqlConsoleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_sql_console_finalize;
}

static void
dothi_sql_console_init (DothiSqlConsole *self)
{
}

static gboolean
relaxed_security (const char *value)
{
  return value != NULL && g_ascii_strcasecmp (value, "relaxed") == 0;
}

static void
set_relaxed_error (GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
               _("The SQL console is off while SPATIALITE_SECURITY=relaxed is set: "
                 "SpatiaLite would let a query read and write files. Unset it and "
                 "start again."));
}

static void
set_open_error (DothiSqlConsole *self, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file name, then the database's message */
               _("Cannot open “%s” for the SQL console: %s"), self->path,
               self->db ? sqlite3_errmsg (self->db) : "out of memory");
}

/* TRUE when SpatiaLite registered its file functions after all. */
static gboolean
has_file_functions (DothiSqlConsole *self)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (self->db,
                          "SELECT 1 FROM pragma_function_list"
                          " WHERE lower(name) IN ('blobtofile', 'exportshp')",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  return sqlite3_step (stmt) == SQLITE_ROW;
}

DothiSqlConsole *
dothi_sql_console_open (const char *project_path, GError **error)
{
  g_autoptr(DothiSqlConsole) self = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (project_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* SpatiaLite reads SPATIALITE_SECURITY when it registers its functions. */
  if (relaxed_security (g_getenv ("SPATIALITE_SECURITY")))
    {
      set_relaxed_error (error);
      return NULL;
    }
  if (!g_file_test (project_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("No project file “%s”"), project_path);
      return NULL;
    }

  self = g_object_new (DOTHI_TYPE_SQL_CONSOLE, NULL);
  self->path = g_strdup (project_path);
  if (sqlite3_open_v2 (project_path, &self->db,
                       SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      set_open_error (self, error);
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 0);
  sqlite3_busy_timeout (self->db, 5000);
  /* Never sqlite3_enable_load_extension(): that would also turn on the
   * SQL function. */
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  self->spatialite_cache = spatialite_alloc_connection ();
  spatialite_init_ex (self->db, self->spatialite_cache, 0);
  if (has_file_functions (self))
    {
      set_relaxed_error (error);
      return NULL;
    }
  if (!register_refused_functions (self)
      || sqlite3_exec (self->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK)
    {
      set_open_error (self, error);
      return NULL;
    }
  /* SQLite reads the header at the first statement: a file that is not a
   * database fails here. */
  if (sqlite3_prepare_v2 (self->db, "SELECT count(*) FROM sqlite_master",
                          -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_ROW)
    {
      set_open_error (self, error);
      return NULL;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  sqlite3_set_authorizer (self->db, authorize_cb, self);
  sqlite3_progress_handler (self->db, CANCEL_CHECK_STEPS, progress_cb, self);
  return g_steal_pointer (&self);
}

void
dothi_sql_console_close (DothiSqlConsole *self)
{
  g_return_if_fail (DOTHI_IS_SQL_CONSOLE (self));

  g_object_unref (self);
}

/* Skips spaces, empty statements and comments. */
static const char *
skip_blank (const char *p)
{
  for (;;)
    {
      if (g_ascii_isspace (*p) || *p == ';')
        p++;
      else if (p[0] == '-' && p[1] == '-')
        {
          const char *end = strchr (p, '\n');

          p = end ? end + 1 : p + strlen (p);
        }
      else if (p[0] == '/' && p[1] == '*')
        {
          const char *end = strstr (p + 2, "*/");

          p = end ? end + 2 : p + strlen (p);
        }
      else
        return p;
    }
}

static void
set_refused_error (const char *what, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: what was refused: “writing to “parcels””,
                * “ATTACH”, “the function BlobToFile” */
               _("Only reading is allowed in the SQL console: %s"), what);
}

static void
set_sql_error (DothiSqlConsole *self, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: the database's message */
               _("SQL error: %s"), sqlite3_errmsg (self->db));
}

/* The leading keywords of @sql in capitals (“VACUUM”, “DROP TABLE IF
 * EXISTS”), to name a statement. */
static char *
leading_keywords (const char *sql)
{
  static const char * const keywords[] = {
    "CREATE", "DROP", "TEMP", "TEMPORARY", "UNIQUE", "VIRTUAL", "TABLE", "VIEW",
    "INDEX", "TRIGGER", "IF", "NOT", "EXISTS", "VACUUM", "ANALYZE", "REINDEX",
    "ALTER",
  };
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = sql;

  for (;;)
    {
      const char *end = p;
      g_autofree char *word = NULL;

      while (g_ascii_isalpha (*end))
        end++;
      if (end == p)
        break;
      word = g_ascii_strup (p, end - p);
      if (!in_list (word, keywords, G_N_ELEMENTS (keywords)))
        break;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, word);
      p = end;
      while (g_ascii_isspace (*p))
        p++;
    }
  if (out->len == 0)
    /* Translators: completes “Only reading is allowed in the SQL
     * console: %s” */
    return g_strdup (_("this statement"));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* “the function BlobToFile” as the user spelled it in @sql; SQLite gives
 * the authorizer the name in lower case. */
static char *
describe_refused_function (const char *sql, const char *lower)
{
  gsize len = strlen (lower);

  for (const char *p = sql; *p != '\0'; p++)
    if ((p == sql || !(g_ascii_isalnum (p[-1]) || p[-1] == '_'))
        && g_ascii_strncasecmp (p, lower, len) == 0
        && !(g_ascii_isalnum (p[len]) || p[len] == '_'))
      {
        g_autofree char *name = g_strndup (p, len);

        return describe_refusal (SQLITE_FUNCTION, NULL, name);
      }
  return describe_refusal (SQLITE_FUNCTION, NULL, lower);
}

static void
clear_refusal (DothiSqlConsole *self)
{
  g_clear_pointer (&self->refused, g_free);
  g_clear_pointer (&self->refused_function, g_free);
  self->refused_schema = FALSE;
}

static void
set_refusal_error (DothiSqlConsole *self, const char *sql, GError **error)
{
  g_autofree char *what = NULL;

  if (self->refused_schema)
    what = leading_keywords (sql);
  else if (self->refused_function != NULL)
    what = describe_refused_function (sql, self->refused_function);
  else
    what = g_strdup (self->refused);
  set_refused_error (what, error);
}

static char *
display_text (sqlite3_stmt *stmt, int col)
{
  switch (sqlite3_column_type (stmt, col))
    {
    case SQLITE_NULL:
      return NULL;
    case SQLITE_BLOB:
      {
        int n = sqlite3_column_bytes (stmt, col);

        /* Translators: a binary value (a geometry, an image) in a result */
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "<%d byte>", "<%d bytes>", n), n);
      }
    default:
      {
        const char *text = (const char *) sqlite3_column_text (stmt, col);
        int n = sqlite3_column_bytes (stmt, col);

        return g_utf8_make_valid (text ? text : "", n);
      }
    }
}

static GPtrArray *
run_statement (DothiSqlConsole  *self,
               const char       *sql,
               guint             max_rows,
               GStrv            *column_names,
               GError          **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  const char *start = skip_blank (sql);
  const char *tail = NULL;
  int n_cols, rc = SQLITE_DONE;

  if (*start == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The SQL query is empty"));
      return NULL;
    }

  clear_refusal (self);
  if (sqlite3_prepare_v2 (self->db, start, -1, &stmt, &tail) != SQLITE_OK)
    {
      if (self->refused != NULL)
        set_refusal_error (self, start, error);
      else if (sqlite3_errcode (self->db) == SQLITE_INTERRUPT
               && g_cancellable_is_cancelled (self->cancellable))
        g_cancellable_set_error_if_cancelled (self->cancellable, error);
      else
        set_sql_error (self, error);
      return NULL;
    }
  if (*skip_blank (tail) != '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The SQL console runs one statement at a time: remove what "
                     "follows the first “;”"));
      return NULL;
    }
  /* VACUUM INTO, for one, passes the authorizer but writes a file. */
  if (!sqlite3_stmt_readonly (stmt))
    {
      g_autofree char *what = leading_keywords (start);

      set_refused_error (what, error);
      return NULL;
    }

  n_cols = sqlite3_column_count (stmt);
  if (column_names != NULL)
    {
      GStrvBuilder *builder = g_strv_builder_new ();

      for (int i = 0; i < n_cols; i++)
        {
          const char *name = sqlite3_column_name (stmt, i);

          g_strv_builder_add (builder, name ? name : "");
        }
      *column_names = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
    }

  if (max_rows == 0)
    max_rows = DOTHI_SQL_CONSOLE_DEFAULT_MAX_ROWS;
  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  while (rows->len < max_rows && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      GPtrArray *row = g_ptr_array_new_full (n_cols, g_free);

      for (int i = 0; i < n_cols; i++)
        g_ptr_array_add (row, display_text (stmt, i));
      g_ptr_array_add (rows, row);
    }
  if (rows->len < max_rows && rc != SQLITE_DONE)
    {
      if (rc == SQLITE_INTERRUPT && g_cancellable_is_cancelled (self->cancellable))
        g_cancellable_set_error_if_cancelled (self->cancellable, error);
      else if (self->refused != NULL)
        set_refusal_error (self, start, error);
      else
        set_sql_error (self, error);
      if (column_names != NULL)
        g_clear_pointer (column_names, g_strfreev);
      return NULL;
    }
  return g_steal_pointer (&rows);
}

GPtrArray *
dothi_sql_console_run_sync (DothiSqlConsole  *self,
                            const char       *sql,
                            guint             max_rows,
                            GStrv            *column_names,
                            GCancellable     *cancellable,
                            GError          **error)
{
  GPtrArray *rows;

  g_return_val_if_fail (DOTHI_IS_SQL_CONSOLE (self), NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (column_names != NULL)
    *column_names = NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!g_atomic_int_compare_and_exchange (&self->busy, 0, 1))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                   _("The SQL console is still running a query"));
      return NULL;
    }

  self->cancellable = cancellable;
  rows = run_statement (self, sql, max_rows, column_names, error);
  self->cancellable = NULL;
  clear_refusal (self);
  g_atomic_int_set (&self->busy, 0);
  return rows;
}

typedef struct {
  char  *sql;
  guint  max_rows;
  GStrv  column_names;
} RunData;

static void
run_data_free (RunData *data)
{
  g_free (data->sql);
  g_strfreev (data->column_names);
  g_free (data);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *data = task_data;
  GError *error = NULL;
  GPtrArray *rows;

  rows = dothi_sql_console_run_sync (DOTHI_SQL_CONSOLE (source_object), data->sql,
                                     data->max_rows, &data->column_names,
                                     cancellable, &error);
  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
dothi_sql_console_run_async (DothiSqlConsole     *self,
                             const char          *sql,
                             guint                max_rows,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RunData *data;

  g_return_if_fail (DOTHI_IS_SQL_CONSOLE (self));
  g_return_if_fail (sql != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_sql_console_run_async);
  data = g_new0 (RunData, 1);
  data->sql = g_strdup (sql);
  data->max_rows = max_rows;
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

GPtrArray *
dothi_sql_console_run_finish (DothiSqlConsole  *self,
                              GAsyncResult     *result,
                              GStrv            *column_names,
                              GError          **error)
{
  RunData *data;
  GPtrArray *rows;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == dothi_sql_console_run_async, NULL);

  data = g_task_get_task_data (G_TASK (result));
  rows = g_task_propagate_pointer (G_TASK (result), error);
  if (column_names != NULL)
    *column_names = rows != NULL ? g_steal_pointer (&data->column_names) : NULL;
  return rows;
}
