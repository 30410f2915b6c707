/* dothi-project.c: creates, opens and migrates .dothi project files
 * (SpatiaLite databases with Dothi's registry, audit and meta tables); the
 * registry, layer and field actions, each journalled with its inverse. */
#define G_LOG_DOMAIN "dothi-project"

#include "config.h"
#include "dothi-project.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <sys/vfs.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

struct _DothiProject
{
  GObject               parent_instance;

  char                 *path;
  char                 *uuid;
  char                 *crs;
  int                   srid;
  int                   schema_version;
  gboolean              read_only;
  gboolean              network_fs;
  char                 *lock_path;   /* held while editing on a network FS */
  DothiSpatialiteStore *store;
  /* Default styles computed so far (layer name → DothiStyle): sampling
   * a million-parcel layer once per session is enough. */
  GHashTable           *default_styles;
};

enum {
  PROP_0,
  PROP_PATH,
  PROP_CRS,
  PROP_READ_ONLY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (DothiProject, dothi_project, G_TYPE_OBJECT)

/* Version 1: the foundation. Each later version appends one migration
 * script run in the open transaction that upgrades a file. */
static const char schema_v1[] =
  "CREATE TABLE dothi_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
  "CREATE TABLE dothi_layers (\n"
  "  name TEXT PRIMARY KEY,\n"
  "  title TEXT NOT NULL,\n"
  "  kind TEXT NOT NULL,\n"
  "  srid INTEGER NOT NULL DEFAULT 0,\n"
  "  has_z INTEGER NOT NULL DEFAULT 0,\n"
  "  has_m INTEGER NOT NULL DEFAULT 0,\n"
  "  source TEXT, driver TEXT, encoding TEXT, operation TEXT, imported_at TEXT,\n"
  "  z_order INTEGER NOT NULL DEFAULT 0,\n"
  "  visible INTEGER NOT NULL DEFAULT 1,\n"
  "  opacity REAL NOT NULL DEFAULT 1.0,\n"
  "  style TEXT,\n"
  "  feature_count INTEGER NOT NULL DEFAULT 0,\n"
  "  min_x REAL, min_y REAL, max_x REAL, max_y REAL);\n"
  "CREATE TABLE dothi_fields (\n"
  "  layer TEXT NOT NULL REFERENCES dothi_layers (name) ON DELETE CASCADE,\n"
  "  position INTEGER NOT NULL,\n"
  "  name TEXT NOT NULL,\n"
  "  type TEXT NOT NULL,\n"
  "  PRIMARY KEY (layer, name));\n"
  "CREATE TABLE dothi_actions (\n"
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
  "  time TEXT NOT NULL,\n"
  "  user TEXT NOT NULL,\n"
  "  label TEXT NOT NULL,\n"
  "  undo_of INTEGER REFERENCES dothi_actions (id),\n"
  "  inverse TEXT);\n"
  "CREATE TABLE dothi_audit (\n"
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
  "  action_id INTEGER,\n"
  "  time TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
  "  user TEXT NOT NULL,\n"
  "  layer TEXT NOT NULL,\n"
  "  fid INTEGER,\n"
  "  op TEXT NOT NULL,\n"
  "  before_attrs TEXT, after_attrs TEXT,\n"
  "  before_geom BLOB, after_geom BLOB);\n"
  "CREATE INDEX dothi_audit_layer_fid ON dothi_audit (layer, fid);\n"
  "CREATE INDEX dothi_audit_action ON dothi_audit (action_id);\n"
  "CREATE INDEX dothi_actions_undo_of ON dothi_actions (undo_of);\n"
  "CREATE TABLE dothi_context (\n"
  "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
  "  action_id INTEGER,\n"
  "  user TEXT);\n";

static const char *migrations[] = {
  /* [n] upgrades version n to n + 1; none yet after version 1. */
  NULL,
};

static void
dothi_project_finalize (GObject *object)
{
  DothiProject *self = DOTHI_PROJECT (object);

  dothi_project_close (self);
  g_clear_object (&self->store);
  g_clear_pointer (&self->default_styles, g_hash_table_unref);
  g_free (self->path);
  g_free (self->uuid);
  g_free (self->crs);
  G_OBJECT_CLASS (dothi_project_parent_class)->finalize (object);
}

static void
dothi_project_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DothiProject *self = DOTHI_PROJECT (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_CRS:
      g_value_set_string (value, self->crs);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_project_class_init (DothiProjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = dothi_project_finalize;
  object_class->get_property = dothi_project_get_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CRS] =
    g_param_spec_string ("crs", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
dothi_project_init (DothiProject *self)
{
  self->default_styles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) dothi_style_unref);
}

static gboolean
set_meta (DothiProject *self, const char *key, const char *value, GError **error)
{
  sqlite3 *db = dothi_spatialite_store_get_db (self->store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "INSERT OR REPLACE INTO dothi_meta (key, value) VALUES (?1, ?2)",
                          -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC) != SQLITE_OK
      || sqlite3_bind_text (stmt, 2, value, -1, SQLITE_TRANSIENT) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_DONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Database error in “%s”: %s"), self->path, sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}

static char *
get_meta (DothiProject *self, const char *key)
{
  sqlite3 *db = dothi_spatialite_store_get_db (self->store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT value FROM dothi_meta WHERE key = ?1", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

static int
sqlite_schema_version (DothiProject *self)
{
  sqlite3 *db = dothi_spatialite_store_get_db (self->store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "PRAGMA schema_version", -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_ROW)
    return -1;
  return sqlite3_column_int (stmt, 0);
}

/* Records the SQLite schema cookie after Dothi wrote its triggers: a later
 * difference means another program changed a table. */
static gboolean
record_trigger_schema (DothiProject *self, GError **error)
{
  g_autofree char *v = NULL;

  /* Writing dothi_meta does not change the schema cookie. */
  v = g_strdup_printf ("%d", sqlite_schema_version (self));
  return set_meta (self, "triggers_schema_version", v, error);
}

static gboolean assume_network_fs = FALSE;

void
dothi_project_assume_network_fs (gboolean assume)
{
  assume_network_fs = assume;
}

/* SQLite locking is unsafe on network and FUSE file systems. */
static gboolean
is_network_fs (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct statfs st;

  if (assume_network_fs)
    return TRUE;
  if (statfs (dir, &st) != 0)
    return FALSE;
  switch ((unsigned long) st.f_type)
    {
    case 0x6969UL:      /* NFS */
    case 0x517BUL:      /* SMB */
    case 0xFF534D42UL:  /* CIFS */
    case 0xFE534D42UL:  /* SMB2 */
    case 0x5346414FUL:  /* AFS */
    case 0x01021997UL:  /* 9P */
    case 0x65735546UL:  /* FUSE (gvfs, sshfs) */
    case 0x73757245UL:  /* Coda */
      return TRUE;
    default:
      return FALSE;
    }
}

DothiProject *
dothi_project_create (const char *path, const char *crs, GError **error)
{
  g_autoptr(DothiProject) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *uuid = NULL;
  int srid;

  g_return_val_if_fail (path != NULL, NULL);

  srid = dothi_crs_parse (crs ? crs : DOTHI_PROJECT_DEFAULT_CRS, error);
  if (srid == 0)
    return NULL;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   /* Translators: file name */
                   _("“%s” already exists; choose another name"), path);
      return NULL;
    }

  self = g_object_new (DOTHI_TYPE_PROJECT, NULL);
  self->path = g_strdup (path);
  self->srid = srid;
  self->crs = g_strdup_printf ("EPSG:%d", srid);
  self->schema_version = DOTHI_PROJECT_SCHEMA_VERSION;
  self->store = dothi_spatialite_store_open (path, DOTHI_STORE_OPEN_CREATE, error);
  if (self->store == NULL)
    return NULL;

  uuid = g_uuid_string_random ();
  self->uuid = g_strdup (uuid);

  /* InitSpatialMetadata runs its own transaction; the CRS rows and Dothi's
   * tables follow in ours. 'NONE' keeps the file small: CRSs are added as
   * layers need them. */
  if (!dothi_spatialite_store_make_durable (self->store, &local_error)
      || !dothi_spatialite_store_exec (self->store, "SELECT InitSpatialMetadata(1, 'NONE')", &local_error)
      || !dothi_spatialite_store_exec (self->store, "BEGIN IMMEDIATE", &local_error)
      || !dothi_spatialite_store_ensure_srid (self->store, 4326, &local_error)
      || !dothi_spatialite_store_ensure_srid (self->store, srid, &local_error)
      || !dothi_spatialite_store_exec (self->store, schema_v1, &local_error)
      || !set_meta (self, "schema_version", G_STRINGIFY (DOTHI_PROJECT_SCHEMA_VERSION), &local_error)
      || !set_meta (self, "uuid", uuid, &local_error)
      || !set_meta (self, "crs", self->crs, &local_error)
      || !set_meta (self, "created_by", "Dothi " PACKAGE_VERSION, &local_error)
      || !set_meta (self, "audit_image_version", DOTHI_AUDIT_IMAGE_VERSION, &local_error)
      || !record_trigger_schema (self, &local_error)
      || !dothi_spatialite_store_exec (self->store, "COMMIT", &local_error))
    {
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      g_autofree char *shm = g_strconcat (path, "-shm", NULL);

      dothi_spatialite_store_close (self->store);
      g_remove (path);
      g_remove (wal);
      g_remove (shm);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&self);
}

static const char history_indexes[] =
  "CREATE INDEX IF NOT EXISTS dothi_audit_action ON dothi_audit (action_id);\n"
  "CREATE INDEX IF NOT EXISTS dothi_actions_undo_of ON dothi_actions (undo_of);\n";

static gboolean
has_history_indexes (DothiProject *self)
{
  sqlite3 *db = dothi_spatialite_store_get_db (self->store);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                          "AND name IN ('dothi_audit_action', 'dothi_actions_undo_of')",
                          -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_ROW)
    return TRUE;
  return sqlite3_column_int (stmt, 0) == 2;
}

static gboolean
migrate (DothiProject *self, int from, GError **error)
{
  g_autofree char *v = NULL;

  if (!dothi_spatialite_store_exec (self->store, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (int i = from; i < DOTHI_PROJECT_SCHEMA_VERSION; i++)
    if (migrations[i] != NULL && !dothi_spatialite_store_exec (self->store, migrations[i], error))
      goto fail;
  v = g_strdup_printf ("%d", DOTHI_PROJECT_SCHEMA_VERSION);
  if (!set_meta (self, "schema_version", v, error)
      || !dothi_spatialite_store_exec (self->store, "COMMIT", error))
    goto fail;
  self->schema_version = DOTHI_PROJECT_SCHEMA_VERSION;
  return TRUE;

fail:
  dothi_spatialite_store_exec (self->store, "ROLLBACK", NULL);
  return FALSE;
}

/* The lock file of an edit on a network file system: host, user and
 * process of its holder. SQLite's own locks cannot be trusted there, so
 * a second Dothi is kept out by this file; a holder's process that no
 * longer runs on this host leaves a stale lock, which is taken over. */
static gboolean
take_lock (DothiProject *self, GError **error)
{
  g_autofree char *lock_path = g_strconcat (self->path, ".lock", NULL);
  g_autofree char *text = g_strdup_printf ("%s\n%s\n%d\n", g_get_host_name (),
                                           g_get_user_name (), (int) getpid ());

  for (int attempt = 0; attempt < 2; attempt++)
    {
      int fd = open (lock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
      g_autofree char *held = NULL;
      g_auto(GStrv) parts = NULL;

      if (fd >= 0)
        {
          gboolean ok = write (fd, text, strlen (text)) == (gssize) strlen (text);

          ok = fsync (fd) == 0 && ok;
          close (fd);
          if (!ok)
            {
              g_unlink (lock_path);
              break;
            }
          self->lock_path = g_steal_pointer (&lock_path);
          return TRUE;
        }
      if (errno != EEXIST || !g_file_get_contents (lock_path, &held, NULL, NULL))
        break;
      parts = g_strsplit (held, "\n", 4);
      if (g_strv_length (parts) >= 3
          && g_strcmp0 (parts[0], g_get_host_name ()) == 0
          && kill (atoi (parts[2]), 0) != 0 && errno == ESRCH)
        {
          g_unlink (lock_path);
          continue;
        }
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                   /* Translators: project file, user, host, process id */
                   _("“%s” is being edited by %s on %s (process %s); it opens read-only until they close it"),
                   self->path, parts[1] ? parts[1] : "?", parts[0] ? parts[0] : "?",
                   parts[1] && parts[2] ? parts[2] : "?");
      return FALSE;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: a lock file's name, then the system's message */
               _("Cannot write the lock file “%s”: %s"), lock_path, g_strerror (errno));
  return FALSE;
}

static void
release_lock (DothiProject *self)
{
  if (self->lock_path == NULL)
    return;
  g_unlink (self->lock_path);
  g_clear_pointer (&self->lock_path, g_free);
}

DothiProject *
dothi_project_open (const char *path, DothiProjectOpenFlags flags, GError **error)
{
  g_autoptr(DothiProject) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *version = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *image = NULL;
  gboolean read_only;
  gboolean network;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name */
                   _("Project file “%s” does not exist"), path);
      return NULL;
    }
  network = is_network_fs (path);
  read_only = (flags & DOTHI_PROJECT_OPEN_READ_ONLY) != 0
              || (network && (flags & DOTHI_PROJECT_OPEN_EDIT_ANYWAY) == 0)
              || g_access (path, W_OK) != 0;

  self = g_object_new (DOTHI_TYPE_PROJECT, NULL);
  self->path = g_strdup (path);
  self->read_only = read_only;
  self->network_fs = network;
  if (network && !read_only && !take_lock (self, error))
    return NULL;
  self->store = dothi_spatialite_store_open (path, read_only ? DOTHI_STORE_OPEN_READ_ONLY
                                                             : DOTHI_STORE_OPEN_READ_WRITE,
                                             &local_error);
  if (self->store == NULL)
    {
      /* SQLite says "file is not a database" only at the first statement. */
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("“%s” is not a Dothi project: %s"), path, local_error->message);
      return NULL;
    }

  version = get_meta (self, "schema_version");
  if (version == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("“%s” is not a Dothi project"), path);
      return NULL;
    }
  self->schema_version = atoi (version);
  if (self->schema_version > DOTHI_PROJECT_SCHEMA_VERSION)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_VERSION,
                   /* Translators: file name, then two version numbers */
                   _("“%s” was saved by a newer Dothi (project version %d; this one reads up to %d)"),
                   path, self->schema_version, DOTHI_PROJECT_SCHEMA_VERSION);
      return NULL;
    }
  if (self->schema_version < 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("“%s” is not a Dothi project"), path);
      return NULL;
    }
  /* On a network file system WAL's shared memory cannot work: a rollback
   * journal, synchronous, under the lock file. */
  if (!(network && !read_only ? dothi_spatialite_store_make_durable_journal (self->store, error)
                              : dothi_spatialite_store_make_durable (self->store, error)))
    return NULL;
  if (self->schema_version < DOTHI_PROJECT_SCHEMA_VERSION)
    {
      if (read_only)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                       _("“%s” needs an upgrade but is open read-only"), path);
          return NULL;
        }
      if (!migrate (self, self->schema_version, error))
        return NULL;
    }

  self->uuid = get_meta (self, "uuid");
  self->crs = get_meta (self, "crs");
  self->srid = dothi_crs_parse (self->crs, NULL);

  /* Undo and the audit view find an action's rows by these indexes; files
   * written before they were part of version 1 get them once. */
  if (!read_only && !has_history_indexes (self))
    {
      if (!dothi_spatialite_store_exec (self->store, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!dothi_spatialite_store_exec (self->store, history_indexes, error)
          || !dothi_spatialite_store_exec (self->store, "COMMIT", error))
        {
          dothi_spatialite_store_exec (self->store, "ROLLBACK", NULL);
          return NULL;
        }
    }

  /* A table changed by another program (a column added in QGIS) gets its
   * audit triggers written anew so nothing escapes the trail. */
  recorded = get_meta (self, "triggers_schema_version");
  image = get_meta (self, "audit_image_version");
  if (!read_only && (recorded == NULL || atoi (recorded) != sqlite_schema_version (self)
                     || g_strcmp0 (image, DOTHI_AUDIT_IMAGE_VERSION) != 0))
    {
      if (!dothi_spatialite_store_exec (self->store, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!dothi_spatialite_store_regenerate_triggers (self->store, error)
          || !set_meta (self, "audit_image_version", DOTHI_AUDIT_IMAGE_VERSION, error)
          || !record_trigger_schema (self, error)
          || !dothi_spatialite_store_exec (self->store, "COMMIT", error))
        {
          dothi_spatialite_store_exec (self->store, "ROLLBACK", NULL);
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

const char *
dothi_project_get_path (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return self->path;
}

const char *
dothi_project_get_uuid (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return self->uuid;
}

int
dothi_project_get_srid (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), 0);
  return self->srid;
}

const char *
dothi_project_get_crs (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return self->crs;
}

int
dothi_project_get_schema_version (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), 0);
  return self->schema_version;
}

gboolean
dothi_project_get_read_only (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), TRUE);
  return self->read_only;
}

DothiStore *
dothi_project_get_store (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return DOTHI_STORE (self->store);
}

GPtrArray *
dothi_project_list_layers (DothiProject *self, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return dothi_store_list_layers (DOTHI_STORE (self->store), error);
}

DothiLayerInfo *
dothi_project_get_layer (DothiProject *self, const char *name, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return dothi_store_get_layer (DOTHI_STORE (self->store), name, error);
}

char *
dothi_project_layer_checksum (DothiProject *self, const char *name, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return dothi_store_layer_checksum (DOTHI_STORE (self->store), name, error);
}

void
dothi_project_set_busy_timeout (DothiProject *self, guint ms)
{
  g_return_if_fail (DOTHI_IS_PROJECT (self));
  dothi_spatialite_store_set_busy_timeout (self->store, (int) MIN (ms, (guint) G_MAXINT));
}

gboolean
dothi_project_checkpoint (DothiProject *self, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), FALSE);
  if (self->read_only)
    return TRUE;
  return dothi_spatialite_store_exec (self->store, "PRAGMA wal_checkpoint(TRUNCATE)", error);
}

void
dothi_project_close (DothiProject *self)
{
  g_return_if_fail (DOTHI_IS_PROJECT (self));
  if (self->store != NULL)
    dothi_spatialite_store_close (self->store);
  release_lock (self);
}

gboolean
dothi_project_get_on_network_fs (DothiProject *self)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), FALSE);
  return self->network_fs;
}

/* ---- display state --------------------------------------------------- */

static void
add_registry_entry (JsonBuilder *b, const DothiLayerInfo *info)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, info->title);
  json_builder_set_member_name (b, "z_order");
  json_builder_add_int_value (b, info->z_order);
  json_builder_set_member_name (b, "visible");
  json_builder_add_boolean_value (b, info->visible);
  json_builder_set_member_name (b, "opacity");
  json_builder_add_double_value (b, info->opacity);
  json_builder_set_member_name (b, "style");
  if (info->style != NULL)
    json_builder_add_string_value (b, info->style);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

/* The journal entry of a registry action: the registry rows it changed,
 * before and after (DothiLayerInfo* pairs in the same order), from which
 * undo restores them (dothi-edit.c reads it). */
static char *
registry_journal (GPtrArray *before, GPtrArray *after)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, "do");
  json_builder_set_member_name (b, "registry");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "before");
  json_builder_begin_array (b);
  for (guint i = 0; i < before->len; i++)
    add_registry_entry (b, before->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "after");
  json_builder_begin_array (b);
  for (guint i = 0; i < after->len; i++)
    add_registry_entry (b, after->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* Writes the registry rows @after (whose earlier state is @before) as one
 * action named @action, journalled with its inverse so it can be undone. */
static gint64
update_layers (DothiProject *self,
               const char   *action,
               GPtrArray    *before,
               GPtrArray    *after,
               GError      **error)
{
  DothiStore *store = DOTHI_STORE (self->store);
  g_autofree char *journal = NULL;
  gint64 action_id;

  if (self->read_only)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   /* Translators: project file */
                   _("“%s” is open read-only"), self->path);
      return FALSE;
    }
  journal = registry_journal (before, after);
  if (!dothi_store_begin (store, action, error))
    return 0;
  action_id = dothi_spatialite_store_get_action_id (self->store);
  for (guint i = 0; i < after->len; i++)
    if (!dothi_store_update_layer (store, after->pdata[i], error))
      {
        dothi_store_rollback (store);
        return 0;
      }
  if (!dothi_spatialite_store_set_action_journal (self->store, 0, journal, error)
      || !dothi_store_commit (store, error))
    {
      dothi_store_rollback (store);
      return 0;
    }
  return action_id;
}

/* Each display change is one action, so it has its history entry and its
 * undo step. */
static gint64
update_layer (DothiProject         *self,
              const char           *action,
              const DothiLayerInfo *before,
              const DothiLayerInfo *info,
              GError              **error)
{
  g_autoptr(GPtrArray) b = g_ptr_array_new ();
  g_autoptr(GPtrArray) a = g_ptr_array_new ();

  g_ptr_array_add (b, (gpointer) before);
  g_ptr_array_add (a, (gpointer) info);
  return update_layers (self, action, b, a, error);
}

gboolean
dothi_project_set_layer_visible (DothiProject *self, const char *name,
                                 gboolean visible, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiLayerInfo) before = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), FALSE);
  info = dothi_project_get_layer (self, name, error);
  if (info == NULL)
    return FALSE;
  if (info->visible == !!visible)
    return TRUE;
  before = dothi_layer_info_copy (info);
  info->visible = !!visible;
  return update_layer (self, visible ? _("Show layer") : _("Hide layer"), before, info, error) > 0;
}

gboolean
dothi_project_set_layer_opacity (DothiProject *self, const char *name,
                                 double opacity, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiLayerInfo) before = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), FALSE);
  info = dothi_project_get_layer (self, name, error);
  if (info == NULL)
    return FALSE;
  opacity = CLAMP (opacity, 0.0, 1.0);
  if (fabs (info->opacity - opacity) < 1e-6)
    return TRUE;
  before = dothi_layer_info_copy (info);
  info->opacity = opacity;
  return update_layer (self, _("Change layer opacity"), before, info, error) > 0;
}

gboolean
dothi_project_move_layer (DothiProject *self, const char *name,
                          guint position, GError **error)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_layer_info_free);
  g_autoptr(GPtrArray) after = g_ptr_array_new ();
  DothiLayerInfo *moved = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), FALSE);
  layers = dothi_project_list_layers (self, error);
  if (layers == NULL)
    return FALSE;
  for (guint i = 0; i < layers->len; i++)
    if (g_strcmp0 (((DothiLayerInfo *) layers->pdata[i])->name, name) == 0)
      moved = g_ptr_array_steal_index (layers, i);
  if (moved == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("There is no layer “%s” in “%s”"), name, self->path);
      return FALSE;
    }
  g_ptr_array_insert (layers, MIN (position, layers->len), moved);

  /* z_order is renumbered 1..n, bottom first; only the rows that change
   * are written and journalled. */
  for (guint i = 0; i < layers->len; i++)
    {
      DothiLayerInfo *info = layers->pdata[i];

      if (info->z_order == (int) i + 1)
        continue;
      g_ptr_array_add (before, dothi_layer_info_copy (info));
      info->z_order = i + 1;
      g_ptr_array_add (after, info);
    }
  if (after->len == 0 && self->read_only)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   _("“%s” is open read-only"), self->path);
      return FALSE;
    }
  if (after->len == 0)
    return TRUE;
  return update_layers (self, _("Change layer order"), before, after, error) > 0;
}

GPtrArray *
dothi_project_distinct_values (DothiProject *self, const char *layer,
                               const char *field, guint limit, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  return dothi_store_distinct_values (DOTHI_STORE (self->store), layer, field, limit, 0, error);
}

DothiStyle *
dothi_project_dup_style (DothiProject *self, const char *name, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), NULL);
  info = dothi_project_get_layer (self, name, error);
  if (info == NULL)
    return NULL;
  if (info->style != NULL)
    return dothi_style_new_from_json (info->style, info->title ? info->title : name, error);
  {
    DothiStyle *known = g_hash_table_lookup (self->default_styles, name);

    if (known != NULL)
      return dothi_style_copy (known);
  }

  {
    DothiStyle *style = dothi_spatialite_store_default_style (self->store, info);

    g_hash_table_replace (self->default_styles, g_strdup (name), dothi_style_copy (style));
    return style;
  }
}

gboolean
dothi_project_set_style (DothiProject *self, const char *name,
                         const DothiStyle *style, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiLayerInfo) before = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (style != NULL, FALSE);
  info = dothi_project_get_layer (self, name, error);
  if (info == NULL)
    return FALSE;
  before = dothi_layer_info_copy (info);
  g_free (info->style);
  info->style = dothi_style_to_json (style);
  g_hash_table_remove (self->default_styles, name);
  return update_layer (self, _("Change layer style"), before, info, error) > 0;
}

/* ---- layer and field actions ----------------------------------------- */

/* The journal of a schema action: what it did, one step, from which undo
 * derives the inverse (dothi-edit.c reads it). */
static char *
schema_journal (const char     *op,
                const char     *layer,
                const char     *field,
                DothiFieldType  type,
                const char     *trash)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, "do");
  json_builder_set_member_name (b, "schema");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, op);
  json_builder_set_member_name (b, "layer");
  json_builder_add_string_value (b, layer);
  json_builder_set_member_name (b, "field");
  json_builder_add_string_value (b, field);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, dothi_field_type_to_string (type));
  json_builder_set_member_name (b, "trash");
  if (trash != NULL)
    json_builder_add_string_value (b, trash);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static gboolean
check_writable (DothiProject *self, GError **error)
{
  if (self->read_only)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   /* Translators: project file */
                   _("“%s” is open read-only"), self->path);
      return FALSE;
    }
  return TRUE;
}

static const char *
title_of (const DothiLayerInfo *info)
{
  return info->title && *info->title ? info->title : info->name;
}

gint64
dothi_project_add_field (DothiProject    *self,
                         const char      *layer,
                         const char      *name,
                         DothiFieldType   type,
                         GError         **error)
{
  DothiStore *store;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *label = NULL;
  g_autofree char *journal = NULL;
  gint64 action_id;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), 0);
  g_return_val_if_fail (layer != NULL && name != NULL, 0);
  if (!check_writable (self, error))
    return 0;
  info = dothi_project_get_layer (self, layer, error);
  if (info == NULL)
    return 0;
  store = DOTHI_STORE (self->store);
  /* Translators: the name of an action in the history: field, layer title */
  label = g_strdup_printf (_("Add field “%s” to layer “%s”"), name, title_of (info));
  journal = schema_journal ("add_field", info->name, name, type, NULL);
  if (!dothi_store_begin (store, label, error))
    return 0;
  action_id = dothi_spatialite_store_get_action_id (self->store);
  if (!dothi_spatialite_store_add_field (self->store, info->name, name, type, error)
      || !dothi_spatialite_store_set_action_journal (self->store, 0, journal, error)
      || !dothi_store_commit (store, error))
    {
      dothi_store_rollback (store);
      return 0;
    }
  g_hash_table_remove (self->default_styles, info->name);
  return action_id;
}

gint64
dothi_project_remove_field (DothiProject  *self,
                            const char    *layer,
                            const char    *name,
                            GError       **error)
{
  DothiStore *store;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *label = NULL;
  g_autofree char *journal = NULL;
  g_autofree char *trash = NULL;
  const DothiField *field;
  int index;
  gint64 action_id;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), 0);
  g_return_val_if_fail (layer != NULL && name != NULL, 0);
  if (!check_writable (self, error))
    return 0;
  info = dothi_project_get_layer (self, layer, error);
  if (info == NULL)
    return 0;
  index = dothi_layer_info_find_field (info, name);
  if (index < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: field name, layer title */
                   _("Layer “%s” has no field “%s”"), title_of (info), name);
      return 0;
    }
  field = g_ptr_array_index (info->fields, index);
  store = DOTHI_STORE (self->store);
  /* Translators: the name of an action in the history: field, layer title */
  label = g_strdup_printf (_("Remove field “%s” from layer “%s”"), field->name, title_of (info));
  if (!dothi_store_begin (store, label, error))
    return 0;
  action_id = dothi_spatialite_store_get_action_id (self->store);
  trash = g_strdup_printf ("dothi_trash_%" G_GINT64_FORMAT "_%s_%s", action_id, info->name, field->name);
  journal = schema_journal ("remove_field", info->name, field->name, field->type, trash);
  if (!dothi_spatialite_store_remove_field (self->store, info->name, field->name, trash, error)
      || !dothi_spatialite_store_set_action_journal (self->store, 0, journal, error)
      || !dothi_store_commit (store, error))
    {
      dothi_store_rollback (store);
      return 0;
    }
  g_hash_table_remove (self->default_styles, info->name);
  return action_id;
}

gint64
dothi_project_rename_layer (DothiProject  *self,
                            const char    *layer,
                            const char    *title,
                            GError       **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiLayerInfo) before = NULL;
  g_autofree char *nfc = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (self), 0);
  g_return_val_if_fail (layer != NULL && title != NULL, 0);
  if (!check_writable (self, error))
    return 0;
  info = dothi_project_get_layer (self, layer, error);
  if (info == NULL)
    return 0;
  nfc = g_utf8_normalize (title, -1, G_NORMALIZE_NFC);
  if (nfc == NULL || *g_strstrip (nfc) == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer title */
                   _("The new title of layer “%s” is empty"), title_of (info));
      return 0;
    }
  if (g_strcmp0 (info->title, nfc) == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING,
                   /* Translators: layer title */
                   _("Layer “%s” already has that title"), nfc);
      return 0;
    }
  before = dothi_layer_info_copy (info);
  g_free (info->title);
  info->title = g_strdup (nfc);
  /* Translators: the name of an action in the history: old and new title */
  label = g_strdup_printf (_("Rename layer “%s” to “%s”"), title_of (before), nfc);
  return update_layer (self, label, before, info, error);
}
