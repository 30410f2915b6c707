/* dothi-live.c: the live ingest engine: MQTT and HTTP sources feed one
 * writer thread that stores readings in <project>.dothi-live and incidents
 * in the project, in batches of at most 50 ms or 5 000 rows. */
#define G_LOG_DOMAIN "dothi-live"

#include "config.h"
#include "dothi-live.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-incident.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libsecret/secret.h>
#include <libsoup/soup.h>
#include <mosquitto.h>
#include <math.h>
#include <proj.h>
#include <stdlib.h>
#include <string.h>

/* A batch closes this long after its first message: short enough that
 * publish → map stays under a quarter second with the map's own frame
 * on top, long enough for one commit to carry hundreds of readings. */
#define BATCH_US        (50 * G_TIME_SPAN_MILLISECOND)
#define BATCH_ROWS      5000
#define MAX_MESSAGE     (1024 * 1024)
#define EXTENT_MARGIN   10000.0              /* metres around the project's layers */
#define RETENTION_DAYS  90                   /* older readings are refused */
/* The writer moves raw readings past their kind's "raw_days" into hourly
 * means when it starts and then this often. */
#define RETENTION_EVERY (G_TIME_SPAN_HOUR)
#define FUTURE_SLACK    (24 * 3600)          /* a clock a day fast is still sane */
#define BACKOFF_MAX     60                   /* seconds */
#define CA_PATH         "/etc/ssl/certs"

/* Rejection reasons: the keys of dothi_live_dup_rejections(), translated. */
#define R_TOO_LARGE   N_("message over 1 MB")
#define R_NOT_JSON    N_("not JSON")
#define R_MISSING     N_("missing field")
#define R_WRONG_TYPE  N_("wrong type")
#define R_NOT_FINITE  N_("value not a finite number")
#define R_BAD_TIME    N_("time not valid")
#define R_FUTURE      N_("time in the future")
#define R_TOO_OLD     N_("time older than the retention")
#define R_BAD_POS     N_("position not valid")
#define R_OUTSIDE     N_("position outside the city")
#define R_CRS         N_("unknown CRS")
#define R_UNIT        N_("unit does not match the sensor kind")
#define R_REFUSED     N_("refused by the project")

/* ---- definitions ------------------------------------------------------- */

typedef struct {
  char       *name;
  char       *kind;          /* "mqtt" or "http" */
  char       *host;
  int         port;
  gboolean    tls;
  char       *ca_file;       /* NULL: the system's CAs */
  char       *username;
  GStrv       topics;
  int         qos;
  char       *client_id;
  char       *url;
  int         interval;      /* seconds */
  GTimeZone  *tz;            /* for times without an offset */
  int         srid;          /* for positions without a CRS */
  char       *sensor_kind;   /* for readings that name none */
  char       *unit;
  char       *stations_layer;  /* places sensors whose readings have none */
  char       *stations_field;
  GHashTable *stations;        /* id → double[2] in the project CRS, read at start */
} SourceConfig;

/* A kind as the engine keeps it: the public DothiSensorKind. */
typedef DothiSensorKind KindDef;

/* What the engine remembers of a sensor, to check units, raise an alert
 * only when the level changes and hand the map what changed. */
typedef struct {
  char    *kind;
  char    *unit;
  gint64   last_time;
  int      level;
  double   value;     /* NAN before any reading */
  double   x, y;      /* project CRS; NAN when no message placed it */
  gboolean changed;   /* since the last dothi_live_take_changes () */
} SensorMem;

/* ---- items for the writer --------------------------------------------- */

typedef struct {
  GMutex   mutex;
  GCond    cond;
  gboolean done;
  gboolean ok;
  GError  *error;
} FlushWait;

typedef enum {
  ITEM_READING,
  ITEM_INCIDENT,
  ITEM_FLUSH,
  ITEM_STOP,
} ItemKind;

typedef struct {
  ItemKind   kind;
  char      *source;
  char      *msg_id;        /* readings: message id; incidents: report id */
  char      *sensor_id;
  gint64     time;
  double     value;
  char      *unit;
  char      *sensor_kind;
  double     x, y;          /* project CRS, NAN when unknown */
  char      *category;
  char      *description;
  char      *photo_url;
  char      *reporter;
  char      *received_at;
  FlushWait *wait;
  gboolean   inserted;
} Item;

/* ---- running sources --------------------------------------------------- */

typedef struct {
  DothiLive        *self;   /* not a reference: the engine stops its sources first */
  SourceConfig     *config;
  char             *password;
  DothiLiveState    state;  /* under self->lock */
  GCancellable     *cancellable;
  struct mosquitto *mosq;
  gboolean          looping;
  /* http: a thread with its own context */
  GThread          *thread;
  GMainContext     *http_context;
  GMainLoop        *loop;
  SoupSession      *session;
  GSource          *timer;
  GTlsDatabase     *tls_database;   /* the source's "ca_file", or NULL */
  guint             failures;
  gboolean          reading;    /* the last poll succeeded */
} Source;

struct _DothiLive
{
  GObject       parent_instance;

  char         *path;
  char         *companion;
  char         *uuid;
  int           srid;
  GMainContext *context;

  /* Guards what follows up to the queue: the network threads, the
   * writer and the caller all meet here. */
  GMutex        lock;
  DothiLiveStats stats;
  GHashTable   *rejections;   /* translated reason → count */
  GHashTable   *sources;      /* name → Source, running */
  GHashTable   *configs;      /* name → SourceConfig, as last read */
  GPtrArray    *retired;      /* SourceConfig replaced since: another thread may still read one */
  GHashTable   *kinds;        /* kind → KindDef */
  GHashTable   *sensors;      /* sensor_id → SensorMem */
  GPtrArray    *changed;      /* sensor_id keys of @sensors, changed since taken */
  gint64        stored_row;   /* the companion's highest readings row committed */
  GHashTable   *crs_codes;    /* CRS text → srid */
  GHashTable   *transforms;   /* srid → PJ to the project CRS */
  PJ_CONTEXT   *pj;
  gboolean      has_extent;
  double        extent[4];    /* project CRS, grown by EXTENT_MARGIN */

  GAsyncQueue  *queue;        /* Item */
  GThread      *writer;
};

G_DEFINE_TYPE (DothiLive, dothi_live, G_TYPE_OBJECT)

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_BATCH,
  SIGNAL_REJECTED,
  SIGNAL_ALERT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const SecretSchema source_schema = {
  "vn.dothi.Dothi.LiveSource", SECRET_SCHEMA_NONE,
  {
    { "dothi-source", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static void
source_config_free (SourceConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->name);
  g_free (config->kind);
  g_free (config->host);
  g_free (config->ca_file);
  g_free (config->username);
  g_strfreev (config->topics);
  g_free (config->client_id);
  g_free (config->url);
  g_clear_pointer (&config->tz, g_time_zone_unref);
  g_free (config->sensor_kind);
  g_free (config->unit);
  g_free (config->stations_layer);
  g_free (config->stations_field);
  g_clear_pointer (&config->stations, g_hash_table_unref);
  g_free (config);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SourceConfig, source_config_free)

static gboolean load_stations (DothiProject *project, SourceConfig *config, GError **error);

void
dothi_sensor_kind_free (DothiSensorKind *def)
{
  if (def == NULL)
    return;
  g_free (def->kind);
  g_free (def->title);
  g_free (def->unit);
  g_free (def);
}

#define kind_def_free dothi_sensor_kind_free

static void
sensor_mem_free (SensorMem *mem)
{
  g_free (mem->kind);
  g_free (mem->unit);
  g_free (mem);
}

static void
item_free (Item *item)
{
  if (item == NULL)
    return;
  g_free (item->source);
  g_free (item->msg_id);
  g_free (item->sensor_id);
  g_free (item->unit);
  g_free (item->sensor_kind);
  g_free (item->category);
  g_free (item->description);
  g_free (item->photo_url);
  g_free (item->reporter);
  g_free (item->received_at);
  g_free (item);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Item, item_free)

/* ---- small helpers ----------------------------------------------------- */

static gboolean
set_db_error (sqlite3 *db, const char *path, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file name, then the database's own message */
               _("Database error in “%s”: %s"), path, sqlite3_errmsg (db));
  return FALSE;
}

/* "city.dothi" → "city.dothi-live"; any other name gets ".dothi-live". */
static char *
companion_path (const char *path)
{
  if (g_str_has_suffix (path, ".dothi"))
    return g_strconcat (path, "-live", NULL);
  return g_strconcat (path, ".dothi-live", NULL);
}

static gboolean
member_is_number (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
member_is_string (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

static const char *
string_or_null (JsonObject *obj, const char *member)
{
  return member_is_string (obj, member) ? json_object_get_string_member (obj, member) : NULL;
}

static gboolean
member_is_null (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

/* @kind: a sensor kind's definition, else a source's. */
static JsonObject *
parse_object (const char *json, gssize length, gboolean kind, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, json, length, &local))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: JSON's own message */
                   kind ? _("The sensor kind definition is not valid JSON: %s")
                        : _("The source definition is not valid JSON: %s"), local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           kind ? _("The sensor kind definition is not a JSON object")
                                : _("The source definition is not a JSON object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* ---- source and kind definitions --------------------------------------- */

static gboolean
bad_member (const char *name, const char *member, const char *expected, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: a source name, a JSON member, what it should be (e.g. “a string”) */
               _("Member “%2$s” of source “%1$s” must be %3$s"), name, member, expected);
  return FALSE;
}

/* Checks a source definition and reads it; @uuid gives the default
 * client id of a persistent session. */
static SourceConfig *
source_config_from_object (JsonObject *obj, const char *uuid, GError **error)
{
  g_autoptr(SourceConfig) config = g_new0 (SourceConfig, 1);
  const char *name, *tz_text = "+07:00", *crs = "EPSG:4326";
  g_autoptr(GError) local = NULL;

  if (!member_is_string (obj, "name") || *(name = json_object_get_string_member (obj, "name")) == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("A live source needs a “name”"));
      return NULL;
    }
  config->name = g_strdup (name);
  if (json_object_has_member (obj, "password"))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a source name */
                   _("The password of source “%s” cannot be kept in the project: "
                     "use the keyring or a password file"), name);
      return NULL;
    }
  if (!member_is_string (obj, "kind"))
    return bad_member (name, "kind", _("“mqtt” or “http”"), error), NULL;
  config->kind = g_strdup (json_object_get_string_member (obj, "kind"));
  if (g_strcmp0 (config->kind, "mqtt") != 0 && g_strcmp0 (config->kind, "http") != 0)
    return bad_member (name, "kind", _("“mqtt” or “http”"), error), NULL;

  if (!member_is_null (obj, "tls"))
    {
      JsonNode *tls = json_object_get_member (obj, "tls");

      if (!JSON_NODE_HOLDS_VALUE (tls) || json_node_get_value_type (tls) != G_TYPE_BOOLEAN)
        return bad_member (name, "tls", _("true or false"), error), NULL;
      config->tls = json_node_get_boolean (tls);
    }
  if (!member_is_null (obj, "ca_file"))
    {
      if (!member_is_string (obj, "ca_file")
          || !g_path_is_absolute (json_object_get_string_member (obj, "ca_file")))
        return bad_member (name, "ca_file", _("the absolute path of a PEM file of CA certificates"),
                           error), NULL;
      config->ca_file = g_strdup (json_object_get_string_member (obj, "ca_file"));
    }
  if (!member_is_null (obj, "username") && !member_is_string (obj, "username"))
    return bad_member (name, "username", _("a string"), error), NULL;
  config->username = g_strdup (string_or_null (obj, "username"));
  if (!member_is_null (obj, "timezone"))
    {
      if (!member_is_string (obj, "timezone"))
        return bad_member (name, "timezone", _("a time zone such as “+07:00”"), error), NULL;
      tz_text = json_object_get_string_member (obj, "timezone");
    }
  config->tz = g_time_zone_new_identifier (tz_text);
  if (config->tz == NULL)
    return bad_member (name, "timezone", _("a time zone such as “+07:00”"), error), NULL;
  if (!member_is_null (obj, "crs"))
    {
      if (!member_is_string (obj, "crs"))
        return bad_member (name, "crs", _("a CRS such as “EPSG:4326”"), error), NULL;
      crs = json_object_get_string_member (obj, "crs");
    }
  config->srid = dothi_crs_parse (crs, &local);
  if (config->srid == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: a source name, then the reason */
                   _("Source “%s”: %s"), name, local->message);
      return NULL;
    }
  if (!member_is_null (obj, "sensor_kind") && !member_is_string (obj, "sensor_kind"))
    return bad_member (name, "sensor_kind", _("a string"), error), NULL;
  config->sensor_kind = g_strdup (string_or_null (obj, "sensor_kind"));
  if (!member_is_null (obj, "unit") && !member_is_string (obj, "unit"))
    return bad_member (name, "unit", _("a string"), error), NULL;
  config->unit = g_strdup (string_or_null (obj, "unit"));
  if (!member_is_null (obj, "stations"))
    {
      JsonNode *node = json_object_get_member (obj, "stations");
      JsonObject *stations = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (stations == NULL || !member_is_string (stations, "layer") || !member_is_string (stations, "id_field"))
        return bad_member (name, "stations",
                           _("a point layer and its id field: {\"layer\": …, \"id_field\": …}"), error), NULL;
      config->stations_layer = g_strdup (json_object_get_string_member (stations, "layer"));
      config->stations_field = g_strdup (json_object_get_string_member (stations, "id_field"));
    }

  if (g_str_equal (config->kind, "mqtt"))
    {
      JsonArray *topics;
      gint64 port, qos;

      if (!member_is_string (obj, "host"))
        return bad_member (name, "host", _("a host name or address"), error), NULL;
      config->host = g_strdup (json_object_get_string_member (obj, "host"));
      port = config->tls ? 8883 : 1883;
      if (!member_is_null (obj, "port"))
        {
          if (!member_is_number (obj, "port"))
            return bad_member (name, "port", _("a port number"), error), NULL;
          port = json_object_get_int_member (obj, "port");
        }
      if (port < 1 || port > 65535)
        return bad_member (name, "port", _("a port number"), error), NULL;
      config->port = (int) port;
      qos = 1;
      if (!member_is_null (obj, "qos"))
        {
          if (!member_is_number (obj, "qos"))
            return bad_member (name, "qos", _("0, 1 or 2"), error), NULL;
          qos = json_object_get_int_member (obj, "qos");
        }
      if (qos < 0 || qos > 2)
        return bad_member (name, "qos", _("0, 1 or 2"), error), NULL;
      config->qos = (int) qos;
      if (json_object_get_member (obj, "topics") == NULL
          || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "topics"))
          || json_array_get_length (topics = json_object_get_array_member (obj, "topics")) == 0)
        return bad_member (name, "topics", _("a list of topics"), error), NULL;
      config->topics = g_new0 (char *, json_array_get_length (topics) + 1);
      for (guint i = 0; i < json_array_get_length (topics); i++)
        {
          JsonNode *t = json_array_get_element (topics, i);

          if (!JSON_NODE_HOLDS_VALUE (t) || json_node_get_value_type (t) != G_TYPE_STRING
              || mosquitto_sub_topic_check (json_node_get_string (t)) != MOSQ_ERR_SUCCESS)
            return bad_member (name, "topics", _("a list of topics"), error), NULL;
          config->topics[i] = g_strdup (json_node_get_string (t));
        }
      if (!member_is_null (obj, "client_id") && !member_is_string (obj, "client_id"))
        return bad_member (name, "client_id", _("a string"), error), NULL;
      config->client_id = g_strdup (string_or_null (obj, "client_id"));
      if (config->client_id == NULL)
        config->client_id = g_strdup_printf ("dothi-%s-%s", uuid ? uuid : "project", name);
    }
  else
    {
      gint64 interval = 60;
      const char *url;
      g_autoptr(GUri) uri = NULL;

      if (!member_is_string (obj, "url"))
        return bad_member (name, "url", _("an http or https address"), error), NULL;
      url = json_object_get_string_member (obj, "url");
      uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
      if (uri == NULL || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0
                          && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
        return bad_member (name, "url", _("an http or https address"), error), NULL;
      config->url = g_strdup (url);
      if (!member_is_null (obj, "interval"))
        {
          if (!member_is_number (obj, "interval"))
            return bad_member (name, "interval", _("a number of seconds"), error), NULL;
          interval = json_object_get_int_member (obj, "interval");
        }
      if (interval < 1 || interval > 86400)
        return bad_member (name, "interval", _("a number of seconds"), error), NULL;
      config->interval = (int) interval;
    }
  return g_steal_pointer (&config);
}

static SourceConfig *
source_config_default (void)
{
  SourceConfig *config = g_new0 (SourceConfig, 1);

  /* Translators: the source of messages given straight to the engine */
  config->name = g_strdup (_("direct input"));
  config->kind = g_strdup ("mqtt");
  config->tz = g_time_zone_new_identifier ("+07:00");
  config->srid = 4326;
  return config;
}

static KindDef *
kind_def_from_object (JsonObject *obj, GError **error)
{
  g_autoptr(DothiSensorKind) def = g_new0 (KindDef, 1);
  const char *kind;

  if (!member_is_string (obj, "kind") || *(kind = json_object_get_string_member (obj, "kind")) == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("A sensor kind needs a “kind”"));
      return NULL;
    }
  def->kind = g_strdup (kind);
  def->low = def->high = NAN;
  if (!member_is_null (obj, "title") && !member_is_string (obj, "title"))
    goto bad;
  def->title = g_strdup (string_or_null (obj, "title"));
  if (!member_is_null (obj, "unit") && !member_is_string (obj, "unit"))
    goto bad;
  def->unit = g_strdup (string_or_null (obj, "unit"));
  if (!member_is_null (obj, "low"))
    {
      if (!member_is_number (obj, "low"))
        goto bad;
      def->low = json_object_get_double_member (obj, "low");
    }
  if (!member_is_null (obj, "high"))
    {
      if (!member_is_number (obj, "high"))
        goto bad;
      def->high = json_object_get_double_member (obj, "high");
    }
  if (!member_is_null (obj, "expected_interval"))
    {
      if (!member_is_number (obj, "expected_interval")
          || json_object_get_double_member (obj, "expected_interval") <= 0)
        goto bad;
      def->expected_interval = (gint64) ceil (json_object_get_double_member (obj, "expected_interval"));
    }
  if (!member_is_null (obj, "raw_days"))
    {
      double days;

      if (!member_is_number (obj, "raw_days"))
        goto bad;
      days = json_object_get_double_member (obj, "raw_days");
      if (days < 1 || days > RETENTION_DAYS || days != floor (days))
        goto bad;
      def->raw_days = (int) days;
    }
  if (!isnan (def->low) && !isnan (def->high) && def->low > def->high)
    goto bad;
  return g_steal_pointer (&def);

bad:
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: a sensor kind such as “pressure” */
               _("Sensor kind “%s” needs a text “title” and “unit”, numbers “low” ≤ “high”, a "
                 "positive “expected_interval” in seconds and whole “raw_days” from 1 to %d"),
               kind, RETENTION_DAYS);
  return NULL;
}

static sqlite3 *
project_db (DothiProject *project, GError **error)
{
  DothiStore *store = dothi_project_get_store (project);

  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: project file */
                   _("Live sources of “%s” need a SpatiaLite project"),
                   dothi_project_get_path (project));
      return NULL;
    }
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
}

static gboolean
has_table (sqlite3 *db, const char *table)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  return sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                             -1, &stmt, NULL) == SQLITE_OK
         && sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC) == SQLITE_OK
         && sqlite3_step (stmt) == SQLITE_ROW;
}

/* One definition row (@table is one of Dothi's two, never user input),
 * written in its own transaction on the project's connection: definitions
 * are not features, so they are no action in the history. */
/* The project's connection for a definition, or NULL with an error when
 * the project is open read-only. */
static sqlite3 *
writable_db (DothiProject *project, GError **error)
{
  if (dothi_project_get_read_only (project))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   _("Project “%s” is open read-only"), dothi_project_get_path (project));
      return NULL;
    }
  return project_db (project, error);
}

static gboolean
store_definition (DothiProject *project, const char *table, const char *key_column,
                  const char *key, const char *definition, GError **error)
{
  const char *path = dothi_project_get_path (project);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *ddl = NULL;
  g_autofree char *sql = NULL;
  sqlite3 *db;
  gboolean ok;

  db = writable_db (project, error);
  if (db == NULL)
    return FALSE;
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      if ((sqlite3_extended_errcode (db) & 0xff) == SQLITE_BUSY)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                     /* Translators: project file */
                     _("Another program is writing to “%s”; try again when it has finished"),
                     path);
      else
        set_db_error (db, path, error);
      return FALSE;
    }
  ddl = g_strdup_printf ("CREATE TABLE IF NOT EXISTS %s (\n"
                         "  %s TEXT PRIMARY KEY,\n"
                         "  definition TEXT NOT NULL,\n"
                         "  modified TEXT NOT NULL)", table, key_column);
  sql = g_strdup_printf ("INSERT INTO %s (%s, definition, modified) "
                         "VALUES (?1, ?2, strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now')) "
                         "ON CONFLICT (%s) DO UPDATE SET definition = excluded.definition, "
                         "modified = excluded.modified", table, key_column, key_column);
  ok = dothi_spatialite_ensure_own_table (db, table, ddl, path, error);
  if (ok)
    {
      ok = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
           && sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_bind_text (stmt, 2, definition, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        set_db_error (db, path, error);
      g_clear_pointer (&stmt, sqlite3_finalize);
    }
  if (ok && sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
    return TRUE;
  if (ok)
    set_db_error (db, path, error);
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static char *
object_to_string (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, obj);
  return json_to_string (node, FALSE);
}

gboolean
dothi_live_source_define (DothiProject *project, const char *json, GError **error)
{
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(SourceConfig) config = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (json != NULL, FALSE);

  obj = parse_object (json, -1, FALSE, error);
  if (obj == NULL)
    return FALSE;
  config = source_config_from_object (obj, dothi_project_get_uuid (project), error);
  if (config == NULL || !load_stations (project, config, error))
    return FALSE;
  text = object_to_string (obj);
  return store_definition (project, "dothi_live_sources", "name", config->name, text, error);
}

gboolean
dothi_live_source_remove (DothiProject *project, const char *name, GError **error)
{
  const char *path;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  path = dothi_project_get_path (project);
  db = writable_db (project, error);
  if (db == NULL)
    return FALSE;
  if (!has_table (db, "dothi_live_sources"))
    ok = FALSE;
  else
    {
      if (sqlite3_prepare_v2 (db, "DELETE FROM dothi_live_sources WHERE name = ?1", -1, &stmt, NULL) != SQLITE_OK
          || sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT) != SQLITE_OK
          || sqlite3_step (stmt) != SQLITE_DONE)
        return set_db_error (db, path, error);
      ok = sqlite3_changes (db) == 1;
    }
  if (!ok)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                 /* Translators: a source name, then the project file */
                 _("No live source named “%s” in “%s”"), name, path);
  return ok;
}

GStrv
dothi_live_source_list (DothiProject *project, GError **error)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (!has_table (db, "dothi_live_sources"))
    return g_strv_builder_end (names);
  if (sqlite3_prepare_v2 (db, "SELECT name FROM dothi_live_sources ORDER BY name",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, dothi_project_get_path (project), error);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_strv_builder_add (names, (const char *) sqlite3_column_text (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, dothi_project_get_path (project), error);
      return NULL;
    }
  return g_strv_builder_end (names);
}

char *
dothi_live_source_dup (DothiProject *project, const char *name, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (has_table (db, "dothi_live_sources"))
    {
      if (sqlite3_prepare_v2 (db, "SELECT definition FROM dothi_live_sources WHERE name = ?1",
                              -1, &stmt, NULL) != SQLITE_OK
          || sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        {
          set_db_error (db, dothi_project_get_path (project), error);
          return NULL;
        }
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      if (rc != SQLITE_DONE)
        {
          set_db_error (db, dothi_project_get_path (project), error);
          return NULL;
        }
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: a source name, then the project file */
               _("No live source named “%s” in “%s”"), name, dothi_project_get_path (project));
  return NULL;
}

gboolean
dothi_live_kind_define (DothiProject *project, const char *json, GError **error)
{
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(DothiSensorKind) def = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (json != NULL, FALSE);

  obj = parse_object (json, -1, TRUE, error);
  if (obj == NULL)
    return FALSE;
  def = kind_def_from_object (obj, error);
  if (def == NULL)
    return FALSE;
  text = object_to_string (obj);
  return store_definition (project, "dothi_live_kinds", "kind", def->kind, text, error);
}

static GHashTable *new_kinds_table (void);
static gboolean load_kinds (sqlite3 *db, const char *path, GHashTable *kinds, GError **error);

static int
compare_kinds (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(const DothiSensorKind * const *) a)->kind,
                    (*(const DothiSensorKind * const *) b)->kind);
}

GPtrArray *
dothi_live_kind_list (DothiProject *project, GError **error)
{
  g_autoptr(GHashTable) kinds = new_kinds_table ();
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_sensor_kind_free);
  GHashTableIter iter;
  gpointer value;
  sqlite3 *db;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  db = project_db (project, error);
  if (db == NULL || !load_kinds (db, dothi_project_get_path (project), kinds, error))
    return NULL;
  g_hash_table_iter_init (&iter, kinds);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_ptr_array_add (list, value);
      g_hash_table_iter_steal (&iter);
    }
  g_ptr_array_sort (list, compare_kinds);
  return g_steal_pointer (&list);
}

gboolean
dothi_live_kind_save (DothiProject *project, const DothiSensorKind *kind, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (kind != NULL && kind->kind != NULL, FALSE);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind->kind);
  if (kind->title != NULL && *kind->title != '\0')
    {
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, kind->title);
    }
  if (kind->unit != NULL && *kind->unit != '\0')
    {
      json_builder_set_member_name (b, "unit");
      json_builder_add_string_value (b, kind->unit);
    }
  if (!isnan (kind->low))
    {
      json_builder_set_member_name (b, "low");
      json_builder_add_double_value (b, kind->low);
    }
  if (!isnan (kind->high))
    {
      json_builder_set_member_name (b, "high");
      json_builder_add_double_value (b, kind->high);
    }
  if (kind->expected_interval > 0)
    {
      json_builder_set_member_name (b, "expected_interval");
      json_builder_add_int_value (b, kind->expected_interval);
    }
  if (kind->raw_days > 0)
    {
      json_builder_set_member_name (b, "raw_days");
      json_builder_add_int_value (b, kind->raw_days);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json = json_to_string (root, FALSE);
  /* The same checks as a definition from a file. */
  return dothi_live_kind_define (project, json, error);
}

/* Reads every kind of the project on @db into @kinds (kind → KindDef);
 * a row that no longer parses is skipped with a debug message. */
static gboolean
load_kinds (sqlite3 *db, const char *path, GHashTable *kinds, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!has_table (db, "dothi_live_kinds"))
    return TRUE;
  if (sqlite3_prepare_v2 (db, "SELECT definition FROM dothi_live_kinds", -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (db, path, error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) obj = NULL;
      g_autoptr(GError) local = NULL;
      KindDef *def;

      obj = parse_object ((const char *) sqlite3_column_text (stmt, 0), -1, TRUE, &local);
      def = obj ? kind_def_from_object (obj, &local) : NULL;
      if (def == NULL)
        {
          g_debug ("%s: skipping a sensor kind: %s", path, local->message);
          continue;
        }
      g_hash_table_replace (kinds, def->kind, def);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (db, path, error);
  return TRUE;
}

static GHashTable *
new_kinds_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) kind_def_free);
}

static int
level_of (const KindDef *def, double value)
{
  if (def == NULL)
    return 0;
  if (!isnan (def->low) && value < def->low)
    return -1;
  if (!isnan (def->high) && value > def->high)
    return 1;
  return 0;
}

/* ---- the companion database ------------------------------------------- */

static const char companion_schema[] =
  "CREATE TABLE IF NOT EXISTS readings (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  sensor_id TEXT NOT NULL,\n"
  "  time INTEGER NOT NULL,\n"         /* unix seconds UTC */
  "  value REAL NOT NULL,\n"
  "  unit TEXT,\n"
  "  msg_id TEXT NOT NULL UNIQUE);\n"  /* the message id, or sensor_id@time */
  "CREATE INDEX IF NOT EXISTS readings_sensor_time ON readings (sensor_id, time);\n"
  "CREATE INDEX IF NOT EXISTS readings_time ON readings (time);\n"
  "CREATE TABLE IF NOT EXISTS sensors (\n"
  "  sensor_id TEXT PRIMARY KEY,\n"
  "  kind TEXT,\n"
  "  unit TEXT,\n"
  "  x REAL,\n"
  "  y REAL,\n"
  "  last_value REAL,\n"
  "  last_time INTEGER);\n"
  "CREATE TABLE IF NOT EXISTS hourly (\n"
  "  sensor_id TEXT NOT NULL,\n"
  "  hour INTEGER NOT NULL,\n"         /* unix seconds of the hour's start */
  "  mean REAL NOT NULL,\n"
  "  min REAL NOT NULL,\n"
  "  max REAL NOT NULL,\n"
  "  n INTEGER NOT NULL,\n"
  "  PRIMARY KEY (sensor_id, hour));\n"
  "CREATE TABLE IF NOT EXISTS meta (\n"
  "  key TEXT PRIMARY KEY,\n"
  "  value TEXT);\n"
  "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');\n";

/* A writable connection to the companion, created on first use, in WAL
 * with synchronous=FULL like the project (DESIGN.md §2). */
static sqlite3 *
open_companion (const char *companion, const char *uuid, GError **error)
{
  sqlite3 *db = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_open_v2 (companion, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                       | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: file name, then the database's own message */
                   _("Cannot open the live readings “%s”: %s"), companion,
                   db ? sqlite3_errmsg (db) : g_strerror (ENOMEM));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_exec (db, companion_schema, NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db, "INSERT OR IGNORE INTO meta (key, value) VALUES ('project_uuid', ?1)",
                             -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_text (stmt, 1, uuid, -1, SQLITE_TRANSIENT) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_DONE
      || sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      g_clear_pointer (&stmt, sqlite3_finalize);
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      goto fail;
    }
  return db;

fail:
  set_db_error (db, companion, error);
  sqlite3_close (db);
  return NULL;
}

/* A read-only connection, or NULL without an error when there is no
 * companion yet. */
static sqlite3 *
open_companion_read (const char *companion, GError **error)
{
  sqlite3 *db = NULL;

  if (!g_file_test (companion, G_FILE_TEST_EXISTS))
    return NULL;
  if (sqlite3_open_v2 (companion, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot open the live readings “%s”: %s"), companion,
                   db ? sqlite3_errmsg (db) : g_strerror (ENOMEM));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  return db;
}

/* ---- posting signals to the caller's context --------------------------- */

typedef enum {
  EMIT_STATE,
  EMIT_BATCH,
  EMIT_REJECTED,
  EMIT_ALERT,
} EmitKind;

typedef struct {
  DothiLive *self;
  EmitKind   kind;
  char      *a;
  char      *b;
  char      *c;
  int        state;
  guint      n1, n2;
  double     value, threshold;
  gboolean   high;
} Emission;

static void
emission_free (gpointer data)
{
  Emission *e = data;

  g_object_unref (e->self);
  g_free (e->a);
  g_free (e->b);
  g_free (e->c);
  g_free (e);
}

static gboolean
emit_cb (gpointer data)
{
  Emission *e = data;

  switch (e->kind)
    {
    case EMIT_STATE:
      g_signal_emit (e->self, signals[SIGNAL_STATE_CHANGED], 0, e->a, e->state, e->b);
      break;
    case EMIT_BATCH:
      g_signal_emit (e->self, signals[SIGNAL_BATCH], 0, e->n1, e->n2);
      break;
    case EMIT_REJECTED:
      g_signal_emit (e->self, signals[SIGNAL_REJECTED], 0, e->a, e->b);
      break;
    case EMIT_ALERT:
      g_signal_emit (e->self, signals[SIGNAL_ALERT], 0, e->a, e->value, e->threshold, e->c, e->high);
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Like dothi_progress_post(): always through the context's queue, in the
 * order posted, never on the posting thread. */
static void
post (DothiLive *self, Emission *e)
{
  GSource *source;

  e->self = g_object_ref (self);
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_cb, e, emission_free);
  g_source_set_static_name (source, "[dothi] live signal");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
set_state (Source *src, DothiLiveState state, const char *message)
{
  DothiLive *self = src->self;
  Emission *e;

  g_mutex_lock (&self->lock);
  src->state = state;
  g_mutex_unlock (&self->lock);

  g_debug ("%s: state %d%s%s", src->config->name, state, message ? ": " : "", message ? message : "");
  e = g_new0 (Emission, 1);
  e->kind = EMIT_STATE;
  e->a = g_strdup (src->config->name);
  e->state = state;
  e->b = g_strdup (message);
  post (self, e);
}

/* ---- validation -------------------------------------------------------- */

typedef struct {
  const char *reason;   /* untranslated R_ string */
  char       *detail;   /* translated */
} Reject;

static gboolean G_GNUC_PRINTF (3, 4)
reject (Reject *r, const char *reason, const char *format, ...)
{
  va_list args;

  r->reason = reason;
  va_start (args, format);
  g_free (r->detail);
  r->detail = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

/* Counts and reports one rejected message; *@error (may be NULL) gets the
 * first rejection of a call. */
static void
record_rejection (DothiLive *self, const SourceConfig *config, Reject *r, GError **error)
{
  const char *reason = _(r->reason);
  Emission *e;

  g_mutex_lock (&self->lock);
  self->stats.malformed++;
  g_hash_table_replace (self->rejections, g_strdup (reason),
                        GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (self->rejections, reason)) + 1));
  g_mutex_unlock (&self->lock);

  g_debug ("%s: message rejected (%s): %s", config->name, r->reason, r->detail);
  if (error != NULL && *error == NULL)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: a source name, the reason (e.g. “not JSON”), then details */
                 _("Message from “%s” rejected (%s): %s"), config->name, reason, r->detail);
  e = g_new0 (Emission, 1);
  e->kind = EMIT_REJECTED;
  e->a = g_strdup (config->name);
  e->b = g_strdup (reason);
  post (self, e);
  g_clear_pointer (&r->detail, g_free);
}

static gboolean
get_string (JsonObject *obj, const char *member, gboolean required, const char **out, Reject *r)
{
  *out = NULL;
  if (member_is_null (obj, member))
    {
      if (required)
        /* Translators: a JSON member name */
        return reject (r, R_MISSING, _("“%s” is missing"), member);
      return TRUE;
    }
  if (!member_is_string (obj, member))
    /* Translators: a JSON member name */
    return reject (r, R_WRONG_TYPE, _("“%s” is not a string"), member);
  *out = json_object_get_string_member (obj, member);
  return TRUE;
}

/* A message id: text, or an integer written as text. */
static gboolean
get_id (JsonObject *obj, const char *member, gboolean required, char **out, Reject *r)
{
  JsonNode *node = json_object_get_member (obj, member);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        return reject (r, R_MISSING, _("“%s” is missing"), member);
      return TRUE;
    }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
      && *json_node_get_string (node) != '\0')
    *out = g_strdup (json_node_get_string (node));
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    *out = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  else
    /* Translators: a JSON member name */
    return reject (r, R_WRONG_TYPE, _("“%s” is not a text or integer id"), member);
  return TRUE;
}

static gboolean
get_number (JsonObject *obj, const char *member, double *out, Reject *r)
{
  if (member_is_null (obj, member))
    return reject (r, R_MISSING, _("“%s” is missing"), member);
  if (!member_is_number (obj, member))
    /* Translators: a JSON member name */
    return reject (r, R_WRONG_TYPE, _("“%s” is not a number"), member);
  *out = json_object_get_double_member (obj, member);
  if (!isfinite (*out))
    /* Translators: a JSON member name */
    return reject (r, R_NOT_FINITE, _("“%s” is not a finite number"), member);
  return TRUE;
}

/* The message's time as a GDateTime (its own offset, or the source's
 * time zone when it names none; a number is unix seconds), checked
 * against now. */
static GDateTime *
get_time (JsonObject *obj, const char *member, const SourceConfig *config, Reject *r)
{
  g_autoptr(GDateTime) dt = NULL;
  gint64 t, now = g_get_real_time () / G_USEC_PER_SEC;

  if (member_is_null (obj, member))
    return reject (r, R_MISSING, _("“%s” is missing"), member), NULL;
  if (member_is_string (obj, member))
    {
      const char *text = json_object_get_string_member (obj, member);
      const char *slash = strchr (text, '/');
      g_autofree char *start = slash ? g_strndup (text, slash - text) : NULL;

      /* A SensorThings interval "start/end" is read as its start. */
      dt = g_date_time_new_from_iso8601 (start ? start : text, config->tz);
      if (dt == NULL)
        /* Translators: a JSON member name, then its value */
        return reject (r, R_BAD_TIME, _("“%s” is not an ISO 8601 time: “%s”"), member, text), NULL;
    }
  else if (member_is_number (obj, member))
    {
      double secs = json_object_get_double_member (obj, member);
      g_autoptr(GDateTime) utc = NULL;

      if (!isfinite (secs) || fabs (secs) > 1e11)
        return reject (r, R_BAD_TIME, _("“%s” is not a time"), member), NULL;
      utc = g_date_time_new_from_unix_utc ((gint64) floor (secs));
      if (utc == NULL)
        return reject (r, R_BAD_TIME, _("“%s” is not a time"), member), NULL;
      dt = g_date_time_to_timezone (utc, config->tz);
    }
  else
    return reject (r, R_WRONG_TYPE, _("“%s” is not a time"), member), NULL;

  t = g_date_time_to_unix (dt);
  if (t > now + FUTURE_SLACK)
    {
      g_autofree char *text = g_date_time_format_iso8601 (dt);
      /* Translators: a time in ISO 8601 */
      return reject (r, R_FUTURE, _("%s is more than a day ahead"), text), NULL;
    }
  if (t < now - (gint64) RETENTION_DAYS * 86400)
    {
      g_autofree char *text = g_date_time_format_iso8601 (dt);
      /* Translators: a time in ISO 8601, then a number of days */
      return reject (r, R_TOO_OLD, _("%s is older than %d days"), text, RETENTION_DAYS), NULL;
    }
  return g_steal_pointer (&dt);
}

/* Under self->lock. */
static int
lookup_crs (DothiLive *self, const char *text, Reject *r)
{
  gpointer code;
  g_autoptr(GError) local = NULL;
  int srid;

  if (g_hash_table_lookup_extended (self->crs_codes, text, NULL, &code))
    srid = GPOINTER_TO_INT (code);
  else
    {
      srid = dothi_crs_parse (text, &local);
      g_hash_table_insert (self->crs_codes, g_strdup (text), GINT_TO_POINTER (srid));
    }
  if (srid == 0)
    /* Translators: a CRS as the message gave it */
    reject (r, R_CRS, _("“%s” is not a CRS Dothi knows"), text);
  return srid;
}

/* Under self->lock: @x/@y (easting/longitude first) in @srid to the
 * project CRS. */
static gboolean
to_project (DothiLive *self, int srid, double *x, double *y, Reject *r)
{
  PJ *pj;
  PJ_COORD c;

  if (srid == self->srid)
    return TRUE;
  pj = g_hash_table_lookup (self->transforms, GINT_TO_POINTER (srid));
  if (pj == NULL)
    {
      g_autofree char *from = g_strdup_printf ("EPSG:%d", srid);
      g_autofree char *to = g_strdup_printf ("EPSG:%d", self->srid);
      g_autoptr(PJ) op = proj_create_crs_to_crs (self->pj, from, to, NULL);

      if (op != NULL)
        pj = proj_normalize_for_visualization (self->pj, op);
      if (pj == NULL)
        /* Translators: two EPSG codes */
        return reject (r, R_CRS, _("PROJ cannot transform EPSG:%d to EPSG:%d"), srid, self->srid);
      g_hash_table_insert (self->transforms, GINT_TO_POINTER (srid), pj);
    }
  c = proj_trans (pj, PJ_FWD, proj_coord (*x, *y, 0, 0));
  if (!isfinite (c.xy.x) || !isfinite (c.xy.y) || c.xy.x == HUGE_VAL)
    return reject (r, R_BAD_POS, _("the position has no place in EPSG:%d"), self->srid);
  *x = c.xy.x;
  *y = c.xy.y;
  return TRUE;
}

/* "position": {"lat", "lon"} or {"x", "y"}, with an optional "crs";
 * the source's CRS otherwise. */
static gboolean
get_position (DothiLive *self, JsonNode *position, const SourceConfig *config,
              double *x, double *y, Reject *r)
{
  JsonObject *pos;
  int srid = config->srid;
  gboolean geographic;
  gboolean ok;

  if (!JSON_NODE_HOLDS_OBJECT (position))
    return reject (r, R_WRONG_TYPE, _("“%s” is not an object"), "position");
  pos = json_node_get_object (position);
  geographic = json_object_has_member (pos, "lat") || json_object_has_member (pos, "lon");
  if (geographic)
    {
      if (!get_number (pos, "lon", x, r) || !get_number (pos, "lat", y, r))
        return FALSE;
      if (fabs (*y) > 90 || fabs (*x) > 180)
        /* Translators: latitude, longitude */
        return reject (r, R_BAD_POS, _("latitude %g, longitude %g is no place on Earth"), *y, *x);
    }
  else if (!get_number (pos, "x", x, r) || !get_number (pos, "y", y, r))
    return FALSE;

  g_mutex_lock (&self->lock);
  ok = TRUE;
  if (!member_is_null (pos, "crs"))
    {
      if (!member_is_string (pos, "crs"))
        ok = reject (r, R_WRONG_TYPE, _("“%s” is not a string"), "crs");
      else
        ok = (srid = lookup_crs (self, json_object_get_string_member (pos, "crs"), r)) != 0;
    }
  ok = ok && to_project (self, srid, x, y, r);
  if (ok && self->has_extent
      && (*x < self->extent[0] || *x > self->extent[2] || *y < self->extent[1] || *y > self->extent[3]))
    ok = reject (r, R_OUTSIDE, _("(%.1f, %.1f) in EPSG:%d is more than 10 km outside the project’s layers"),
                 *x, *y, self->srid);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* A reading that brings no position takes its station's, when the
 * source names a station layer that has one of that id. */
static void
station_position (const SourceConfig *config, Item *item)
{
  const double *xy;

  if (!isnan (item->x) || config->stations == NULL
      || (xy = g_hash_table_lookup (config->stations, item->sensor_id)) == NULL)
    return;
  item->x = xy[0];
  item->y = xy[1];
}

static Item *
validate_reading (DothiLive *self, JsonObject *obj, const SourceConfig *config, Reject *r)
{
  g_autoptr(Item) item = g_new0 (Item, 1);
  g_autoptr(GDateTime) dt = NULL;
  const char *sensor, *unit, *kind;
  JsonNode *position;

  item->kind = ITEM_READING;
  item->x = item->y = NAN;
  if (!get_string (obj, "sensor_id", TRUE, &sensor, r)
      || !get_id (obj, "id", FALSE, &item->msg_id, r)
      || !get_number (obj, "value", &item->value, r)
      || !get_string (obj, "unit", FALSE, &unit, r)
      || !get_string (obj, "kind", FALSE, &kind, r))
    return NULL;
  if (*sensor == '\0')
    return reject (r, R_MISSING, _("“%s” is missing"), "sensor_id"), NULL;
  dt = get_time (obj, "time", config, r);
  if (dt == NULL)
    return NULL;
  position = json_object_get_member (obj, "position");
  if (position != NULL && !JSON_NODE_HOLDS_NULL (position)
      && !get_position (self, position, config, &item->x, &item->y, r))
    return NULL;

  item->sensor_id = g_strdup (sensor);
  item->time = g_date_time_to_unix (dt);
  if (item->msg_id == NULL)
    item->msg_id = g_strdup_printf ("%s@%" G_GINT64_FORMAT, sensor, item->time);
  station_position (config, item);

  /* The kind and unit: the message's, else the source's, else what the
   * sensor had; a unit other than its kind's would compare wrongly. */
  g_mutex_lock (&self->lock);
  {
    SensorMem *mem = g_hash_table_lookup (self->sensors, sensor);
    const KindDef *def;

    if (kind == NULL)
      kind = config->sensor_kind ? config->sensor_kind : mem ? mem->kind : NULL;
    def = kind ? g_hash_table_lookup (self->kinds, kind) : NULL;
    if (unit == NULL)
      unit = config->unit ? config->unit : mem && mem->unit ? mem->unit : def ? def->unit : NULL;
    item->sensor_kind = g_strdup (kind);
    item->unit = g_strdup (unit);
    if (def != NULL && def->unit != NULL && unit != NULL && g_strcmp0 (def->unit, unit) != 0)
      {
        g_mutex_unlock (&self->lock);
        /* Translators: a unit, a sensor kind, its unit */
        return reject (r, R_UNIT, _("“%s” is not the unit of kind “%s” (%s)"), unit, kind, def->unit), NULL;
      }
  }
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&item);
}

static Item *
validate_incident (DothiLive *self, JsonObject *obj, const SourceConfig *config, Reject *r)
{
  g_autoptr(Item) item = g_new0 (Item, 1);
  g_autoptr(GDateTime) dt = NULL;
  const char *category, *description, *photo, *reporter;
  JsonNode *position;

  item->kind = ITEM_INCIDENT;
  if (!get_id (obj, "id", TRUE, &item->msg_id, r)
      || !get_string (obj, "category", TRUE, &category, r)
      || !get_string (obj, "description", FALSE, &description, r)
      || !get_string (obj, "photo_url", FALSE, &photo, r)
      || !get_string (obj, "reporter", FALSE, &reporter, r))
    return NULL;
  if (*category == '\0')
    return reject (r, R_MISSING, _("“%s” is missing"), "category"), NULL;
  if (photo != NULL && !g_str_has_prefix (photo, "https://") && !g_str_has_prefix (photo, "http://"))
    /* Translators: a JSON member name */
    return reject (r, R_WRONG_TYPE, _("“%s” is not an http or https address"), "photo_url"), NULL;
  dt = get_time (obj, "time", config, r);
  if (dt == NULL)
    return NULL;
  position = json_object_get_member (obj, "position");
  if (position == NULL || JSON_NODE_HOLDS_NULL (position))
    return reject (r, R_MISSING, _("“%s” is missing"), "position"), NULL;
  if (!get_position (self, position, config, &item->x, &item->y, r))
    return NULL;
  item->time = g_date_time_to_unix (dt);
  item->received_at = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S%:z");
  item->category = g_utf8_normalize (category, -1, G_NORMALIZE_NFC);
  item->description = description ? g_utf8_normalize (description, -1, G_NORMALIZE_NFC) : NULL;
  item->photo_url = g_strdup (photo);
  item->reporter = reporter ? g_utf8_normalize (reporter, -1, G_NORMALIZE_NFC) : NULL;
  return g_steal_pointer (&item);
}

/* "Datastreams(5)" out of a SensorThings topic or URL, or NULL. */
static char *
find_datastream (const char *text)
{
  const char *p = text ? strstr (text, "Datastreams(") : NULL;
  const char *end;

  if (p == NULL)
    return NULL;
  end = strchr (p, ')');
  if (end == NULL || end == p + strlen ("Datastreams("))
    return NULL;
  return g_strndup (p, end - p + 1);
}

/* A SensorThings Observation as a reading of @datastream. */
static Item *
validate_observation (DothiLive *self, JsonObject *obj, const char *datastream,
                      const SourceConfig *config, Reject *r)
{
  g_autoptr(Item) item = g_new0 (Item, 1);
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *own = NULL;
  g_autofree char *id = NULL;

  item->kind = ITEM_READING;
  item->x = item->y = NAN;
  /* An expanded or linked Datastream names the sensor when the topic or
   * the URL does not. */
  if (datastream == NULL && member_is_string (obj, "Datastream@iot.navigationLink"))
    datastream = own = find_datastream (json_object_get_string_member (obj, "Datastream@iot.navigationLink"));
  if (datastream == NULL && json_object_get_member (obj, "Datastream") != NULL
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "Datastream")))
    {
      JsonObject *ds = json_object_get_object_member (obj, "Datastream");
      g_autofree char *ds_id = NULL;

      if (get_id (ds, "@iot.id", TRUE, &ds_id, r))
        datastream = own = g_strdup_printf ("Datastreams(%s)", ds_id);
    }
  if (datastream == NULL)
    return reject (r, R_MISSING, _("the observation names no Datastream")), NULL;
  if (!get_id (obj, "@iot.id", FALSE, &id, r) || !get_number (obj, "result", &item->value, r))
    return NULL;
  dt = get_time (obj, "phenomenonTime", config, r);
  if (dt == NULL)
    return NULL;
  item->sensor_id = g_strdup (datastream);
  item->time = g_date_time_to_unix (dt);
  item->msg_id = id ? g_strdup_printf ("%s/Observations(%s)", datastream, id)
                    : g_strdup_printf ("%s@%" G_GINT64_FORMAT, datastream, item->time);
  item->sensor_kind = g_strdup (config->sensor_kind);
  item->unit = g_strdup (config->unit);
  /* An expanded Datastream ($expand=Datastream) says its unit. */
  if (item->unit == NULL && json_object_get_member (obj, "Datastream") != NULL
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "Datastream")))
    {
      JsonObject *ds = json_object_get_object_member (obj, "Datastream");
      JsonNode *uom = json_object_get_member (ds, "unitOfMeasurement");

      if (uom != NULL && JSON_NODE_HOLDS_OBJECT (uom)
          && member_is_string (json_node_get_object (uom), "symbol")
          && *json_object_get_string_member (json_node_get_object (uom), "symbol") != '\0')
        item->unit = g_strdup (json_object_get_string_member (json_node_get_object (uom), "symbol"));
    }
  station_position (config, item);
  return g_steal_pointer (&item);
}

/* A GeoJSON Feature: its properties are the message, its Point the
 * position (in the source's CRS, WGS 84 by default as RFC 7946 has it). */
static JsonObject *
feature_as_message (JsonObject *feature, Reject *r)
{
  JsonObject *props, *geom, *msg, *pos;
  JsonArray *coords;
  JsonNode *node;
  GList *members;

  node = json_object_get_member (feature, "properties");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return reject (r, R_MISSING, _("“%s” is missing"), "properties"), NULL;
  props = json_node_get_object (node);
  msg = json_object_new ();
  members = json_object_get_members (props);
  for (GList *m = members; m != NULL; m = m->next)
    json_object_set_member (msg, m->data, json_node_copy (json_object_get_member (props, m->data)));
  g_list_free (members);
  if (member_is_string (feature, "id") || member_is_number (feature, "id"))
    json_object_set_member (msg, "id", json_node_copy (json_object_get_member (feature, "id")));
  node = json_object_get_member (feature, "geometry");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      geom = json_node_get_object (node);
      if (g_strcmp0 (string_or_null (geom, "type"), "Point") != 0
          || json_object_get_member (geom, "coordinates") == NULL
          || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (geom, "coordinates"))
          || json_array_get_length (coords = json_object_get_array_member (geom, "coordinates")) < 2)
        {
          json_object_unref (msg);
          return reject (r, R_BAD_POS, _("the geometry is not a point")), NULL;
        }
      pos = json_object_new ();
      json_object_set_member (pos, "x", json_node_copy (json_array_get_element (coords, 0)));
      json_object_set_member (pos, "y", json_node_copy (json_array_get_element (coords, 1)));
      json_object_set_object_member (msg, "position", pos);
    }
  return msg;
}

static void
queue_item (DothiLive *self, Item *item, const SourceConfig *config)
{
  item->source = g_strdup (config->name);
  g_async_queue_push (self->queue, item);
}

/* One message (an element of a payload): validated, then queued for the
 * writer or counted as rejected. */
static gboolean
handle_node (DothiLive *self, JsonNode *node, const char *datastream, gboolean observation,
             const SourceConfig *config, GError **error)
{
  Reject r = { NULL, NULL };
  JsonObject *obj;
  g_autoptr(JsonObject) feature_msg = NULL;
  Item *item = NULL;
  const char *type;

  g_mutex_lock (&self->lock);
  self->stats.received++;
  g_mutex_unlock (&self->lock);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      reject (&r, R_WRONG_TYPE, _("the message is not a JSON object"));
      record_rejection (self, config, &r, error);
      return FALSE;
    }
  obj = json_node_get_object (node);
  type = member_is_string (obj, "type") ? json_object_get_string_member (obj, "type") : NULL;
  if (g_strcmp0 (type, "Feature") == 0)
    {
      feature_msg = feature_as_message (obj, &r);
      if (feature_msg == NULL)
        {
          record_rejection (self, config, &r, error);
          return FALSE;
        }
      obj = feature_msg;
      type = member_is_string (obj, "type") ? json_object_get_string_member (obj, "type") : NULL;
    }

  if (g_strcmp0 (type, "incident") == 0)
    item = validate_incident (self, obj, config, &r);
  else if (observation || json_object_has_member (obj, "phenomenonTime")
           || (json_object_has_member (obj, "result") && !json_object_has_member (obj, "value")))
    item = validate_observation (self, obj, datastream, config, &r);
  else
    item = validate_reading (self, obj, config, &r);
  if (item == NULL)
    {
      record_rejection (self, config, &r, error);
      return FALSE;
    }
  queue_item (self, item, config);
  return TRUE;
}

/* A payload from @config's source (@topic: the MQTT topic or the HTTP
 * URL): one message, an array of them, a SensorThings collection
 * {"value": […]} or a GeoJSON FeatureCollection. TRUE when every message
 * in it was accepted. Runs on any thread. */
static gboolean
handle_payload (DothiLive *self, const SourceConfig *config, const char *topic,
                const char *payload, gsize length, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *datastream = find_datastream (topic);
  Reject r = { NULL, NULL };
  gboolean observation = datastream != NULL && g_str_has_suffix (topic, "/Observations");
  gboolean ok = TRUE;
  JsonNode *root;
  JsonArray *array = NULL;

  if (length > MAX_MESSAGE)
    {
      g_autofree char *size = g_format_size (length);

      g_mutex_lock (&self->lock);
      self->stats.received++;
      g_mutex_unlock (&self->lock);
      /* Translators: a size such as “10.5 MB” */
      reject (&r, R_TOO_LARGE, _("the message has %s"), size);
      record_rejection (self, config, &r, error);
      return FALSE;
    }
  parser = json_parser_new_immutable ();
  if (!g_utf8_validate (payload, length, NULL)
      || !json_parser_load_from_data (parser, payload, length, &local)
      || (root = json_parser_get_root (parser)) == NULL)
    {
      g_mutex_lock (&self->lock);
      self->stats.received++;
      g_mutex_unlock (&self->lock);
      reject (&r, R_NOT_JSON, "%s", local ? local->message : _("the message is not UTF-8 JSON"));
      record_rejection (self, config, &r, error);
      return FALSE;
    }

  if (JSON_NODE_HOLDS_ARRAY (root))
    array = json_node_get_array (root);
  else if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *obj = json_node_get_object (root);
      JsonNode *value = json_object_get_member (obj, "value");
      JsonNode *features = json_object_get_member (obj, "features");

      /* A reading whose value is a list is a wrong reading, not a list. */
      if (value != NULL && JSON_NODE_HOLDS_ARRAY (value) && !json_object_has_member (obj, "sensor_id"))
        {
          array = json_node_get_array (value);
          observation = TRUE;
        }
      else if (features != NULL && JSON_NODE_HOLDS_ARRAY (features)
               && g_strcmp0 (string_or_null (obj, "type"), "FeatureCollection") == 0)
        array = json_node_get_array (features);
    }
  if (array == NULL)
    return handle_node (self, root, datastream, observation, config, error);
  for (guint i = 0; i < json_array_get_length (array); i++)
    ok &= handle_node (self, json_array_get_element (array, i), datastream, observation, config, error);
  return ok;
}

/* ---- the writer thread ------------------------------------------------- */

typedef struct {
  DothiLive     *self;
  sqlite3       *db;
  sqlite3_stmt  *insert;
  sqlite3_stmt  *upsert;
  DothiProject  *project;      /* for incidents, opened on first use */
  GPtrArray     *incidents;    /* Item, waiting for the project's lock */
} Writer;

static gboolean
write_readings (Writer *w, GPtrArray *readings, guint *stored, guint *duplicates,
                gint64 *last_row, GError **error)
{
  g_autoptr(GHashTable) latest = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer value;

  *stored = *duplicates = 0;
  if (readings->len == 0)
    return TRUE;
  if (sqlite3_exec (w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (w->db, w->self->companion, error);
  for (guint i = 0; i < readings->len; i++)
    {
      Item *item = g_ptr_array_index (readings, i);
      Item *before;

      sqlite3_reset (w->insert);
      if (sqlite3_bind_text (w->insert, 1, item->sensor_id, -1, SQLITE_STATIC) != SQLITE_OK
          || sqlite3_bind_int64 (w->insert, 2, item->time) != SQLITE_OK
          || sqlite3_bind_double (w->insert, 3, item->value) != SQLITE_OK
          || sqlite3_bind_text (w->insert, 4, item->unit, -1, SQLITE_STATIC) != SQLITE_OK
          || sqlite3_bind_text (w->insert, 5, item->msg_id, -1, SQLITE_STATIC) != SQLITE_OK
          || sqlite3_step (w->insert) != SQLITE_DONE)
        goto fail;
      item->inserted = sqlite3_changes (w->db) == 1;
      if (!item->inserted)
        {
          (*duplicates)++;
          continue;
        }
      (*stored)++;
      *last_row = sqlite3_last_insert_rowid (w->db);
      before = g_hash_table_lookup (latest, item->sensor_id);
      if (before == NULL || item->time >= before->time)
        g_hash_table_insert (latest, item->sensor_id, item);
      else if (before != NULL && isnan (before->x) && !isnan (item->x))
        {
          before->x = item->x;
          before->y = item->y;
        }
    }
  /* One upsert per sensor and batch, with its newest reading. */
  g_hash_table_iter_init (&iter, latest);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Item *item = value;

      sqlite3_reset (w->upsert);
      if (sqlite3_bind_text (w->upsert, 1, item->sensor_id, -1, SQLITE_STATIC) != SQLITE_OK
          || sqlite3_bind_text (w->upsert, 2, item->sensor_kind, -1, SQLITE_STATIC) != SQLITE_OK
          || sqlite3_bind_text (w->upsert, 3, item->unit, -1, SQLITE_STATIC) != SQLITE_OK
          || (isnan (item->x) ? sqlite3_bind_null (w->upsert, 4) : sqlite3_bind_double (w->upsert, 4, item->x)) != SQLITE_OK
          || (isnan (item->y) ? sqlite3_bind_null (w->upsert, 5) : sqlite3_bind_double (w->upsert, 5, item->y)) != SQLITE_OK
          || sqlite3_bind_double (w->upsert, 6, item->value) != SQLITE_OK
          || sqlite3_bind_int64 (w->upsert, 7, item->time) != SQLITE_OK
          || sqlite3_step (w->upsert) != SQLITE_DONE)
        goto fail;
    }
  sqlite3_reset (w->insert);
  sqlite3_reset (w->upsert);
  if (sqlite3_exec (w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  return TRUE;

fail:
  set_db_error (w->db, w->self->companion, error);
  sqlite3_reset (w->insert);
  sqlite3_reset (w->upsert);
  if (!sqlite3_get_autocommit (w->db))
    sqlite3_exec (w->db, "ROLLBACK", NULL, NULL, NULL);
  for (guint i = 0; i < readings->len; i++)
    ((Item *) g_ptr_array_index (readings, i))->inserted = FALSE;
  return FALSE;
}

/* Under self->lock: @sensor_id goes to the next dothi_live_take_changes (). */
static void
mark_changed (DothiLive *self, const char *sensor_id, SensorMem *mem)
{
  if (mem->changed)
    return;
  mem->changed = TRUE;
  g_ptr_array_add (self->changed, g_strdup (sensor_id));
}

/* After a commit: the sensors' levels, newest values and positions for
 * the map, and an alert for each change from one level to low or high. */
static void
raise_alerts (DothiLive *self, GPtrArray *readings, gint64 stored_row)
{
  g_autoptr(GPtrArray) alerts = g_ptr_array_new ();

  g_mutex_lock (&self->lock);
  self->stored_row = MAX (self->stored_row, stored_row);
  for (guint i = 0; i < readings->len; i++)
    {
      Item *item = g_ptr_array_index (readings, i);
      SensorMem *mem;
      const KindDef *def;
      int level;

      if (!item->inserted)
        continue;
      mem = g_hash_table_lookup (self->sensors, item->sensor_id);
      if (mem == NULL)
        {
          mem = g_new0 (SensorMem, 1);
          mem->last_time = G_MININT64;
          mem->value = mem->x = mem->y = NAN;
          g_hash_table_insert (self->sensors, g_strdup (item->sensor_id), mem);
        }
      /* The first position known places the sensor, whatever its time. */
      if (!isnan (item->x) && (item->time >= mem->last_time || isnan (mem->x)))
        {
          mem->x = item->x;
          mem->y = item->y;
          mark_changed (self, item->sensor_id, mem);
        }
      if (item->sensor_kind != NULL && g_strcmp0 (mem->kind, item->sensor_kind) != 0)
        {
          g_free (mem->kind);
          mem->kind = g_strdup (item->sensor_kind);
        }
      if (item->unit != NULL && g_strcmp0 (mem->unit, item->unit) != 0)
        {
          g_free (mem->unit);
          mem->unit = g_strdup (item->unit);
        }
      /* A late reading does not change the sensor's present state. */
      if (item->time < mem->last_time)
        continue;
      mem->last_time = item->time;
      mem->value = item->value;
      mark_changed (self, item->sensor_id, mem);
      def = mem->kind ? g_hash_table_lookup (self->kinds, mem->kind) : NULL;
      level = level_of (def, item->value);
      if (level != 0 && level != mem->level)
        {
          Emission *e = g_new0 (Emission, 1);

          e->kind = EMIT_ALERT;
          e->a = g_strdup (item->sensor_id);
          e->value = item->value;
          e->threshold = level > 0 ? def->high : def->low;
          e->c = g_strdup (mem->kind);
          e->high = level > 0;
          g_ptr_array_add (alerts, e);
        }
      mem->level = level;
    }
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < alerts->len; i++)
    {
      Emission *e = g_ptr_array_index (alerts, i);

      g_debug ("alert: %s %g (%s %g)", e->a, e->value, e->high ? ">" : "<", e->threshold);
      post (self, e);
    }
}

static GBytes *
point_wkb (double x, double y)
{
  guint8 wkb[21];
  guint32 type = GUINT32_TO_LE (1);
  guint64 bits;

  wkb[0] = 1;   /* little endian, ISO WKB Point */
  memcpy (wkb + 1, &type, 4);
  memcpy (&bits, &x, 8);
  bits = GUINT64_TO_LE (bits);
  memcpy (wkb + 5, &bits, 8);
  memcpy (&bits, &y, 8);
  bits = GUINT64_TO_LE (bits);
  memcpy (wkb + 13, &bits, 8);
  return g_bytes_new (wkb, sizeof wkb);
}

static JsonObject *
incident_properties (const Item *item)
{
  JsonObject *props = json_object_new ();

  json_object_set_string_member (props, "report_id", item->msg_id);
  json_object_set_string_member (props, "received_at", item->received_at);
  json_object_set_string_member (props, "category", item->category);
  if (item->description != NULL)
    json_object_set_string_member (props, "description", item->description);
  if (item->photo_url != NULL)
    json_object_set_string_member (props, "photo_url", item->photo_url);
  if (item->reporter != NULL)
    json_object_set_string_member (props, "reporter", item->reporter);
  json_object_set_string_member (props, "status",
                                 dothi_incident_status_to_string (DOTHI_INCIDENT_RECEIVED));
  return props;
}

static gint64
apply_incidents (Writer *w, GPtrArray *items, GError **error)
{
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autofree char *label = NULL;

  for (guint i = 0; i < items->len; i++)
    {
      Item *item = g_ptr_array_index (items, i);
      g_autoptr(JsonObject) props = incident_properties (item);
      g_autoptr(GBytes) wkb = point_wkb (item->x, item->y);

      dothi_change_set_insert (set, "incidents", props, wkb);
    }
  if (items->len == 1)
    /* Translators: an incident report id such as PA-2026-0042 */
    label = g_strdup_printf (_("Incident report %s received"),
                             ((Item *) g_ptr_array_index (items, 0))->msg_id);
  else
    label = g_strdup_printf (ngettext ("%u incident report received",
                                       "%u incident reports received", items->len), items->len);
  return dothi_edit_apply_sync (w->project, set, label, NULL, NULL, NULL, NULL, error);
}

static void
refuse_incident (DothiLive *self, Item *item, const GError *error)
{
  g_autoptr(SourceConfig) config = source_config_default ();
  Reject r = { R_REFUSED, g_strdup_printf ("%s: %s", item->msg_id, error->message) };

  g_free (config->name);
  config->name = g_strdup (item->source);
  record_rejection (self, config, &r, NULL);
}

static gboolean
write_incidents_once (Writer *w, guint *stored, guint *duplicates, GError **error)
{
  DothiLive *self = w->self;
  g_autoptr(GPtrArray) fresh = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GError) local = NULL;
  sqlite3 *db;

  *stored = *duplicates = 0;
  if (w->incidents->len == 0)
    return TRUE;
  if (w->project == NULL)
    {
      w->project = dothi_project_open (self->path, DOTHI_PROJECT_OPEN_DEFAULT, error);
      if (w->project == NULL)
        return FALSE;
      if (!dothi_incident_ensure_layer (w->project, error))
        {
          g_clear_object (&w->project);
          return FALSE;
        }
    }
  db = project_db (w->project, error);
  if (db == NULL
      || sqlite3_prepare_v2 (db, "SELECT 1 FROM incidents WHERE report_id = ?1", -1, &stmt, NULL) != SQLITE_OK)
    return db ? set_db_error (db, self->path, error) : FALSE;
  for (guint i = 0; i < w->incidents->len; i++)
    {
      Item *item = g_ptr_array_index (w->incidents, i);
      int rc;

      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, item->msg_id, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return set_db_error (db, self->path, error);
      if (rc == SQLITE_ROW || g_hash_table_contains (seen, item->msg_id))
        (*duplicates)++;
      else
        {
          g_hash_table_add (seen, item->msg_id);
          g_ptr_array_add (fresh, item);
        }
    }
  sqlite3_reset (stmt);

  if (fresh->len > 0 && apply_incidents (w, fresh, &local) == 0)
    {
      if (g_error_matches (local, DOTHI_ERROR, DOTHI_ERROR_BUSY))
        {
          *duplicates = 0;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      /* One report the project refuses must not hold back the others. */
      g_debug ("incidents refused as a batch: %s", local->message);
      for (guint i = 0; i < fresh->len; i++)
        {
          g_autoptr(GPtrArray) one = g_ptr_array_new ();
          g_autoptr(GError) e = NULL;
          Item *item = g_ptr_array_index (fresh, i);

          g_ptr_array_add (one, item);
          if (apply_incidents (w, one, &e) > 0)
            (*stored)++;
          else
            refuse_incident (self, item, e);
        }
    }
  else
    *stored = fresh->len;
  g_ptr_array_set_size (w->incidents, 0);
  return TRUE;
}

/* Incidents waiting in w->incidents, new report ids only, as one edit
 * action; kept for the next batch while another program holds the
 * project's lock, refused (and counted) on any other error. */
static gboolean
write_incidents (Writer *w, guint *stored, guint *duplicates, GError **error)
{
  g_autoptr(GError) local = NULL;

  *stored = *duplicates = 0;
  if (w->incidents->len == 0)
    return TRUE;
  if (write_incidents_once (w, stored, duplicates, &local))
    return TRUE;
  if (!g_error_matches (local, DOTHI_ERROR, DOTHI_ERROR_BUSY))
    {
      for (guint i = 0; i < w->incidents->len; i++)
        refuse_incident (w->self, g_ptr_array_index (w->incidents, i), local);
      g_ptr_array_set_size (w->incidents, 0);
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static void
finish_wait (FlushWait *wait, gboolean ok, GError *error)
{
  g_mutex_lock (&wait->mutex);
  wait->ok = ok;
  wait->error = error ? g_error_copy (error) : NULL;
  wait->done = TRUE;
  g_cond_signal (&wait->cond);
  g_mutex_unlock (&wait->mutex);
}

static gboolean writer_apply_retention (Writer *w, GError **error);

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  DothiLive *self = w->self;
  g_autoptr(GPtrArray) readings = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  gboolean stop = FALSE;
  gint64 retention_due = 0;

  w->incidents = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  while (!stop)
    {
      g_autoptr(GPtrArray) waits = g_ptr_array_new ();
      g_autoptr(GError) error = NULL;
      gint64 deadline, start, last_row = 0;
      guint n_stored = 0, n_dups = 0, i_stored = 0, i_dups = 0;
      gboolean ok, control = FALSE;
      Item *item;

      /* Raw readings past their time become hourly means, between
       * batches: the writer is the companion's only writer. */
      if (g_get_monotonic_time () >= retention_due)
        {
          g_autoptr(GError) retain_error = NULL;
          gint64 t = g_get_monotonic_time ();

          if (!writer_apply_retention (w, &retain_error))
            g_warning ("%s", retain_error->message);
          else
            g_debug ("retention applied in %.1f ms", (g_get_monotonic_time () - t) / 1000.0);
          retention_due = g_get_monotonic_time () + RETENTION_EVERY;
        }

      /* Pending rows after a failure are retried within the batch time. */
      if (readings->len > 0 || w->incidents->len > 0)
        item = g_async_queue_timeout_pop (self->queue, BATCH_US);
      else
        item = g_async_queue_timeout_pop (self->queue, MAX (retention_due - g_get_monotonic_time (), 1));
      deadline = g_get_monotonic_time () + BATCH_US;
      while (item != NULL)
        {
          switch (item->kind)
            {
            case ITEM_READING:
              g_ptr_array_add (readings, item);
              break;
            case ITEM_INCIDENT:
              g_ptr_array_add (w->incidents, item);
              break;
            case ITEM_FLUSH:
              g_ptr_array_add (waits, item->wait);
              control = TRUE;
              item_free (item);
              break;
            case ITEM_STOP:
              stop = control = TRUE;
              item_free (item);
              break;
            }
          if (control || readings->len + w->incidents->len >= BATCH_ROWS)
            break;
          {
            gint64 left = deadline - g_get_monotonic_time ();

            item = left > 0 ? g_async_queue_timeout_pop (self->queue, left) : NULL;
          }
        }

      start = g_get_monotonic_time ();
      ok = write_readings (w, readings, &n_stored, &n_dups, &last_row, &error);
      if (ok)
        raise_alerts (self, readings, last_row);
      if (ok)
        g_ptr_array_set_size (readings, 0);
      else
        g_debug ("readings kept for the next batch: %s", error->message);
      if (ok && !write_incidents (w, &i_stored, &i_dups, &error))
        {
          ok = FALSE;
          g_debug ("incidents kept for the next batch: %s", error->message);
        }
      if (n_stored + n_dups + i_stored + i_dups > 0)
        {
          g_mutex_lock (&self->lock);
          self->stats.stored += n_stored + i_stored;
          self->stats.duplicates += n_dups + i_dups;
          self->stats.batches++;
          self->stats.last_batch_ms = (g_get_monotonic_time () - start) / 1000.0;
          g_mutex_unlock (&self->lock);
        }
      if (n_stored + i_stored > 0)
        {
          Emission *e = g_new0 (Emission, 1);

          e->kind = EMIT_BATCH;
          e->n1 = n_stored;
          e->n2 = i_stored;
          post (self, e);
        }
      for (guint i = 0; i < waits->len; i++)
        finish_wait (g_ptr_array_index (waits, i), ok, error);
    }

  g_clear_pointer (&w->insert, sqlite3_finalize);
  g_clear_pointer (&w->upsert, sqlite3_finalize);
  sqlite3_close (w->db);
  if (w->project != NULL)
    dothi_project_close (w->project);
  g_clear_object (&w->project);
  g_ptr_array_unref (w->incidents);
  g_free (w);
  return NULL;
}

/* ---- MQTT sources ------------------------------------------------------ */

static void
mqtt_connected_cb (struct mosquitto *mosq, void *data, int rc)
{
  Source *src = data;
  SourceConfig *config = src->config;

  if (rc != 0)
    {
      g_autofree char *msg = g_strdup_printf (_("%s:%d refused the connection: %s"),
                                              config->host, config->port, mosquitto_connack_string (rc));
      set_state (src, DOTHI_LIVE_RETRYING, msg);
      return;
    }
  /* The session persists (clean_session false), yet subscribing again
   * costs nothing and covers a broker that lost it. */
  rc = mosquitto_subscribe_multiple (mosq, NULL, (int) g_strv_length (config->topics),
                                     config->topics, config->qos, 0, NULL);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_autofree char *msg = g_strdup_printf (_("Cannot subscribe on %s:%d: %s"),
                                              config->host, config->port, mosquitto_strerror (rc));
      set_state (src, DOTHI_LIVE_RETRYING, msg);
      return;
    }
  {
    g_autofree char *msg = g_strdup_printf (_("Connected to %s:%d"), config->host, config->port);
    set_state (src, DOTHI_LIVE_CONNECTED, msg);
  }
}

static void
mqtt_disconnected_cb (struct mosquitto *mosq, void *data, int rc)
{
  Source *src = data;
  g_autofree char *msg = NULL;

  if (rc == 0)
    {
      set_state (src, DOTHI_LIVE_DISCONNECTED, NULL);
      return;
    }
  /* Translators: host and port of the broker */
  msg = g_strdup_printf (_("Lost %s:%d; retrying"), src->config->host, src->config->port);
  set_state (src, DOTHI_LIVE_RETRYING, msg);
}

/* libmosquitto reports a failed TLS handshake (an unknown CA, a host
 * name that does not match) only in its log, then retries: without this
 * the source would show "connecting" for ever. */
static void
mqtt_log_cb (struct mosquitto *mosq, void *data, int level, const char *text)
{
  Source *src = data;
  DothiLiveState state;
  g_autofree char *msg = NULL;

  if (level != MOSQ_LOG_ERR)
    return;
  g_mutex_lock (&src->self->lock);
  state = src->state;
  g_mutex_unlock (&src->self->lock);
  if (state == DOTHI_LIVE_CONNECTED || state == DOTHI_LIVE_DISCONNECTED)
    {
      g_debug ("%s: %s", src->config->name, text);
      return;
    }
  /* Translators: host and port of the broker, then libmosquitto's message
   * (such as a TLS error) */
  msg = g_strdup_printf (_("%s:%d: %s; retrying"), src->config->host, src->config->port, text);
  set_state (src, DOTHI_LIVE_RETRYING, msg);
}

/* On the source's libmosquitto thread. libmosquitto has acknowledged a
 * QoS 1 message before this runs: a crash loses at most what is queued
 * for the writer (one batch, ≤ 50 ms). */
static void
mqtt_message_cb (struct mosquitto *mosq, void *data, const struct mosquitto_message *message)
{
  Source *src = data;

  handle_payload (src->self, src->config, message->topic, message->payload,
                  message->payloadlen > 0 ? (gsize) message->payloadlen : 0, NULL);
}

static gpointer
init_mosquitto (gpointer data)
{
  mosquitto_lib_init ();
  return NULL;
}

static gboolean
mqtt_connect (Source *src, GError **error)
{
  SourceConfig *config = src->config;
  int rc;

  src->mosq = mosquitto_new (config->client_id, false, src);
  if (src->mosq == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: a source name, then the system's message */
                   _("Cannot start source “%s”: %s"), config->name, g_strerror (errno));
      return FALSE;
    }
  mosquitto_int_option (src->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set (src->mosq, mqtt_connected_cb);
  mosquitto_disconnect_callback_set (src->mosq, mqtt_disconnected_cb);
  mosquitto_message_callback_set (src->mosq, mqtt_message_cb);
  mosquitto_log_callback_set (src->mosq, mqtt_log_cb);
  mosquitto_reconnect_delay_set (src->mosq, 1, BACKOFF_MAX, true);
  if (config->username != NULL)
    mosquitto_username_pw_set (src->mosq, config->username, src->password);
  if (config->tls
      && (rc = mosquitto_tls_set (src->mosq, config->ca_file,
                                  config->ca_file != NULL ? NULL : CA_PATH,
                                  NULL, NULL, NULL)) != MOSQ_ERR_SUCCESS)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: a source name, then libmosquitto's message */
                   _("Cannot start source “%s”: %s"), config->name, mosquitto_strerror (rc));
      return FALSE;
    }

  set_state (src, DOTHI_LIVE_CONNECTING, NULL);
  /* The loop first: libmosquitto 2.0.11's loop retries a first
   * connection that failed only when it was already running. */
  rc = mosquitto_loop_start (src->mosq);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot start source “%s”: %s"), config->name, mosquitto_strerror (rc));
      return FALSE;
    }
  src->looping = TRUE;
  /* A broker that is down now is not an error: the loop retries it. */
  rc = mosquitto_connect_async (src->mosq, config->host, config->port, 30);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_autofree char *msg = g_strdup_printf (_("Cannot reach %s:%d: %s; retrying"), config->host,
                                              config->port, mosquitto_strerror (rc));
      DothiLiveState state;

      /* A TLS handshake that failed at once (a certificate the CAs do
       * not know) is retried as any lost broker: the certificate may be
       * fixed on the broker's side. */
      if (rc != MOSQ_ERR_ERRNO && rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST
          && rc != MOSQ_ERR_TLS)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       _("Cannot start source “%s”: %s"), config->name, mosquitto_strerror (rc));
          return FALSE;
        }
      g_mutex_lock (&src->self->lock);
      state = src->state;
      g_mutex_unlock (&src->self->lock);
      /* mqtt_log_cb may have given the TLS reason already: keep it. */
      if (rc != MOSQ_ERR_TLS || state != DOTHI_LIVE_RETRYING)
        set_state (src, DOTHI_LIVE_RETRYING, msg);
    }
  return TRUE;
}

static void
keyring_looked_up_cb (GObject *object, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) start_error = NULL;
  char *password = secret_password_lookup_finish (result, &error);
  Source *src;

  /* Cancelled: the source is gone. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  src = data;
  if (error != NULL)
    g_debug ("%s: no password from the keyring: %s", src->config->name, error->message);
  src->password = password;
  if (!mqtt_connect (src, &start_error))
    set_state (src, DOTHI_LIVE_DISCONNECTED, start_error->message);
}

/* ---- HTTP sources ------------------------------------------------------ */

static void poll_http (Source *src);

static gboolean
poll_due_cb (gpointer data)
{
  Source *src = data;

  g_clear_pointer (&src->timer, g_source_unref);
  poll_http (src);
  return G_SOURCE_REMOVE;
}

static void
schedule_poll (Source *src, guint seconds)
{
  src->timer = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (src->timer, poll_due_cb, src, NULL);
  g_source_set_static_name (src->timer, "[dothi] live poll");
  g_source_attach (src->timer, src->http_context);
}

static void
polled_cb (GObject *object, GAsyncResult *result, gpointer data)
{
  Source *src = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  SoupMessage *msg;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  msg = soup_session_get_async_result_message (SOUP_SESSION (object), result);
  status = msg ? soup_message_get_status (msg) : 0;
  if (body == NULL || !SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_autofree char *text = NULL;
      guint delay;

      src->failures++;
      src->reading = FALSE;
      delay = MIN (1u << MIN (src->failures - 1, 6u), (guint) BACKOFF_MAX);
      if (error != NULL)
        /* Translators: an address, then the reason */
        text = g_strdup_printf (_("Cannot read %s: %s; retrying"), src->config->url, error->message);
      else
        /* Translators: an address, then an HTTP status such as 500 and its text */
        text = g_strdup_printf (_("%s answered %u %s; retrying"), src->config->url, status,
                                soup_message_get_reason_phrase (msg));
      set_state (src, DOTHI_LIVE_RETRYING, text);
      schedule_poll (src, delay);
      return;
    }
  if (!src->reading)
    {
      g_autofree char *text = g_strdup_printf (_("Reading %s"), src->config->url);
      set_state (src, DOTHI_LIVE_CONNECTED, text);
    }
  src->failures = 0;
  src->reading = TRUE;
  {
    gsize length;
    const char *payload = g_bytes_get_data (body, &length);

    handle_payload (src->self, src->config, src->config->url, payload ? payload : "", length, NULL);
  }
  schedule_poll (src, src->config->interval);
}

static void
poll_http (Source *src)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", src->config->url);

  if (msg == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("“%s” is not an address Dothi can read"), src->config->url);
      set_state (src, DOTHI_LIVE_DISCONNECTED, text);
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  if (src->config->username != NULL)
    {
      g_autofree char *pair = g_strdup_printf ("%s:%s", src->config->username,
                                               src->password ? src->password : "");
      g_autofree char *b64 = g_base64_encode ((const guchar *) pair, strlen (pair));
      g_autofree char *header = g_strdup_printf ("Basic %s", b64);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
    }
  soup_session_send_and_read_async (src->session, msg, G_PRIORITY_DEFAULT, src->cancellable,
                                    polled_cb, src);
}

static gboolean
http_begin_cb (gpointer data)
{
  Source *src = data;

  poll_http (src);
  return G_SOURCE_REMOVE;
}

static gpointer
http_thread (gpointer data)
{
  Source *src = data;
  GSource *idle;

  g_main_context_push_thread_default (src->http_context);
  src->session = soup_session_new_with_options ("timeout", 30,
                                                "user-agent", "Dothi/" PACKAGE_VERSION,
                                                NULL);
  if (src->tls_database != NULL)
    soup_session_set_tls_database (src->session, src->tls_database);
  idle = g_idle_source_new ();
  g_source_set_callback (idle, http_begin_cb, src, NULL);
  g_source_attach (idle, src->http_context);
  g_source_unref (idle);
  g_main_loop_run (src->loop);

  if (src->timer != NULL)
    {
      g_source_destroy (src->timer);
      g_clear_pointer (&src->timer, g_source_unref);
    }
  soup_session_abort (src->session);
  g_clear_object (&src->session);
  /* Let the cancelled request finish before the context goes. */
  while (g_main_context_iteration (src->http_context, FALSE))
    ;
  g_main_context_pop_thread_default (src->http_context);
  return NULL;
}

static gboolean
quit_loop_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* ---- sources ----------------------------------------------------------- */

static void
source_stop_and_free (Source *src)
{
  g_cancellable_cancel (src->cancellable);
  if (src->mosq != NULL)
    {
      mosquitto_disconnect (src->mosq);
      if (src->looping)
        mosquitto_loop_stop (src->mosq, false);
      mosquitto_destroy (src->mosq);
    }
  if (src->thread != NULL)
    {
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, quit_loop_cb, src->loop, NULL);
      g_source_attach (idle, src->http_context);
      g_source_unref (idle);
      g_thread_join (src->thread);
    }
  g_clear_pointer (&src->loop, g_main_loop_unref);
  g_clear_pointer (&src->http_context, g_main_context_unref);
  g_clear_object (&src->tls_database);
  g_clear_object (&src->cancellable);
  if (src->password != NULL)
    {
      memset (src->password, 0, strlen (src->password));
      g_free (src->password);
    }
  g_free (src);
}

typedef struct {
  GHashTable     *points;
  int             field;
  DothiFieldType  type;
} StationsRead;

static gboolean
station_read_cb (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
                 gpointer data, GError **error)
{
  StationsRead *r = data;
  const DothiValue *id = &values[r->field];
  double xy[2];
  char *key;

  if (id->is_null || wkb == NULL || !dothi_wkb_first_point (wkb, wkb_len, &xy[0], &xy[1]))
    return TRUE;
  if (r->type == DOTHI_FIELD_TEXT)
    key = g_strdup (id->v.s);
  else if (r->type == DOTHI_FIELD_INTEGER)
    key = g_strdup_printf ("%" G_GINT64_FORMAT, id->v.i);
  else
    return TRUE;
  g_hash_table_replace (r->points, key, g_memdup2 (xy, sizeof xy));
  return TRUE;
}

/* The points of @config's station layer by their id, which readings name
 * as their sensor_id: a reading without a position takes its station's.
 * A layer that is not there or not of points, or a missing field, is an
 * error naming them. */
static gboolean
load_stations (DothiProject *project, SourceConfig *config, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  StationsRead r = { NULL, -1, DOTHI_FIELD_TEXT };

  if (config->stations_layer == NULL)
    return TRUE;
  info = dothi_project_get_layer (project, config->stations_layer, NULL);
  if (info == NULL || info->kind != DOTHI_GEOMETRY_KIND_MULTIPOINT)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: a source name, then a layer name */
                   _("Source “%s”: the project has no point layer “%s” for its stations"),
                   config->name, config->stations_layer);
      return FALSE;
    }
  r.field = dothi_layer_info_find_field (info, config->stations_field);
  if (r.field < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: a source name, a layer name, then a field name */
                   _("Source “%s”: layer “%s” has no field “%s” to name its stations"),
                   config->name, config->stations_layer, config->stations_field);
      return FALSE;
    }
  r.type = ((DothiField *) g_ptr_array_index (info->fields, r.field))->type;
  r.points = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!dothi_store_read_features (dothi_project_get_store (project), config->stations_layer, NULL,
                                  station_read_cb, &r, NULL, error))
    {
      g_hash_table_unref (r.points);
      return FALSE;
    }
  g_clear_pointer (&config->stations, g_hash_table_unref);
  config->stations = r.points;
  return TRUE;
}

/* Re-reads the project's kinds and the definition of @name (NULL: only
 * the kinds); the configs keep the last definition of each source. */
static SourceConfig *
reload_definitions (DothiLive *self, const char *name, GError **error)
{
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GHashTable) kinds = new_kinds_table ();
  g_autoptr(SourceConfig) config = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) obj = NULL;
  sqlite3 *db;

  project = dothi_project_open (self->path, DOTHI_PROJECT_OPEN_READ_ONLY, error);
  if (project == NULL)
    return NULL;
  db = project_db (project, error);
  if (db == NULL || !load_kinds (db, self->path, kinds, error))
    return NULL;
  if (name != NULL)
    {
      text = dothi_live_source_dup (project, name, error);
      if (text == NULL)
        return NULL;
      obj = parse_object (text, -1, FALSE, error);
      if (obj == NULL)
        return NULL;
      config = source_config_from_object (obj, self->uuid, error);
      if (config == NULL || !load_stations (project, config, error))
        return NULL;
    }
  dothi_project_close (project);

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->kinds, g_hash_table_unref);
  self->kinds = g_steal_pointer (&kinds);
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&config);
}

/* The last definition of @name, read from the project when not yet. */
static const SourceConfig *
get_config (DothiLive *self, const char *name, GError **error)
{
  SourceConfig *config;

  g_mutex_lock (&self->lock);
  config = g_hash_table_lookup (self->configs, name);
  g_mutex_unlock (&self->lock);
  if (config != NULL)
    return config;
  config = reload_definitions (self, name, error);
  if (config == NULL)
    return NULL;
  g_mutex_lock (&self->lock);
  if (g_hash_table_contains (self->configs, name))
    g_ptr_array_add (self->retired, config);   /* read twice at once: keep the first */
  else
    g_hash_table_insert (self->configs, config->name, config);
  config = g_hash_table_lookup (self->configs, name);
  g_mutex_unlock (&self->lock);
  return config;
}

/* ---- the object -------------------------------------------------------- */

static void
dothi_live_dispose (GObject *object)
{
  DothiLive *self = DOTHI_LIVE (object);

  dothi_live_stop (self);
  if (self->writer != NULL)
    {
      Item *item = g_new0 (Item, 1);

      item->kind = ITEM_STOP;
      g_async_queue_push (self->queue, item);
      g_thread_join (self->writer);
      self->writer = NULL;
    }
  G_OBJECT_CLASS (dothi_live_parent_class)->dispose (object);
}

static void
dothi_live_finalize (GObject *object)
{
  DothiLive *self = DOTHI_LIVE (object);

  g_free (self->path);
  g_free (self->companion);
  g_free (self->uuid);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->rejections, g_hash_table_unref);
  g_clear_pointer (&self->sources, g_hash_table_unref);
  g_clear_pointer (&self->configs, g_hash_table_unref);
  g_clear_pointer (&self->retired, g_ptr_array_unref);
  g_clear_pointer (&self->kinds, g_hash_table_unref);
  g_clear_pointer (&self->sensors, g_hash_table_unref);
  g_clear_pointer (&self->changed, g_ptr_array_unref);
  g_clear_pointer (&self->crs_codes, g_hash_table_unref);
  g_clear_pointer (&self->transforms, g_hash_table_unref);
  g_clear_pointer (&self->pj, proj_context_destroy);
  g_clear_pointer (&self->queue, g_async_queue_unref);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (dothi_live_parent_class)->finalize (object);
}

static void
dothi_live_class_init (DothiLiveClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dothi_live_dispose;
  object_class->finalize = dothi_live_finalize;

  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_INT, G_TYPE_STRING);
  signals[SIGNAL_BATCH] =
    g_signal_new ("batch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);
  signals[SIGNAL_REJECTED] =
    g_signal_new ("rejected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_ALERT] =
    g_signal_new ("alert", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_DOUBLE,
                  G_TYPE_DOUBLE, G_TYPE_STRING, G_TYPE_BOOLEAN);
}

static void
destroy_pj (gpointer pj)
{
  proj_destroy (pj);
}

static void
dothi_live_init (DothiLive *self)
{
  g_mutex_init (&self->lock);
  self->rejections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) source_stop_and_free);
  self->configs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) source_config_free);
  self->retired = g_ptr_array_new_with_free_func ((GDestroyNotify) source_config_free);
  self->kinds = new_kinds_table ();
  self->sensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) sensor_mem_free);
  self->changed = g_ptr_array_new_with_free_func (g_free);
  self->crs_codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->transforms = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            destroy_pj);
  self->queue = g_async_queue_new_full ((GDestroyNotify) item_free);
}

/* The union of the layers' extents in the project CRS, grown by 10 km. */
static void
compute_extent (DothiLive *self, DothiProject *project)
{
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (project, NULL);

  self->has_extent = FALSE;
  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      double box[4];

      if (info->srid == 0 || info->feature_count == 0
          || !isfinite (info->extent[0]) || info->extent[0] > info->extent[2])
        continue;
      memcpy (box, info->extent, sizeof box);
      if (info->srid != self->srid)
        {
          g_autofree char *from = g_strdup_printf ("EPSG:%d", info->srid);
          g_autofree char *to = g_strdup_printf ("EPSG:%d", self->srid);
          g_autoptr(PJ) op = proj_create_crs_to_crs (self->pj, from, to, NULL);
          g_autoptr(PJ) pj = op ? proj_normalize_for_visualization (self->pj, op) : NULL;

          if (pj == NULL
              || proj_trans_bounds (self->pj, pj, PJ_FWD, info->extent[0], info->extent[1],
                                    info->extent[2], info->extent[3],
                                    &box[0], &box[1], &box[2], &box[3], 21) == 0)
            continue;
        }
      if (!self->has_extent)
        memcpy (self->extent, box, sizeof box);
      else
        {
          self->extent[0] = MIN (self->extent[0], box[0]);
          self->extent[1] = MIN (self->extent[1], box[1]);
          self->extent[2] = MAX (self->extent[2], box[2]);
          self->extent[3] = MAX (self->extent[3], box[3]);
        }
      self->has_extent = TRUE;
    }
  if (self->has_extent)
    {
      self->extent[0] -= EXTENT_MARGIN;
      self->extent[1] -= EXTENT_MARGIN;
      self->extent[2] += EXTENT_MARGIN;
      self->extent[3] += EXTENT_MARGIN;
    }
}

static gboolean
load_sensors (DothiLive *self, sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT sensor_id, kind, unit, last_value, last_time, x, y FROM sensors",
                          -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (db, self->companion, error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SensorMem *mem = g_new0 (SensorMem, 1);
      const KindDef *def;

      mem->kind = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      mem->unit = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      mem->last_time = sqlite3_column_type (stmt, 4) == SQLITE_NULL
                       ? G_MININT64 : sqlite3_column_int64 (stmt, 4);
      def = mem->kind ? g_hash_table_lookup (self->kinds, mem->kind) : NULL;
      mem->value = NAN;
      if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        {
          mem->value = sqlite3_column_double (stmt, 3);
          mem->level = level_of (def, mem->value);
        }
      mem->x = sqlite3_column_type (stmt, 5) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 5);
      mem->y = sqlite3_column_type (stmt, 6) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 6);
      g_hash_table_insert (self->sensors, g_strdup ((const char *) sqlite3_column_text (stmt, 0)), mem);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (db, self->companion, error);
  return TRUE;
}

DothiLive *
dothi_live_new (const char *path, GError **error)
{
  g_autoptr(DothiLive) self = NULL;
  g_autoptr(DothiProject) project = NULL;
  Writer *w;
  sqlite3 *db;

  g_return_val_if_fail (path != NULL, NULL);

  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_READ_ONLY, error);
  if (project == NULL)
    return NULL;
  db = project_db (project, error);
  if (db == NULL)
    return NULL;

  self = g_object_new (DOTHI_TYPE_LIVE, NULL);
  self->path = g_strdup (path);
  self->companion = companion_path (path);
  self->uuid = g_strdup (dothi_project_get_uuid (project));
  self->srid = dothi_project_get_srid (project);
  self->context = g_main_context_ref_thread_default ();
  self->pj = proj_context_create ();
  proj_log_level (self->pj, PJ_LOG_NONE);
  compute_extent (self, project);
  if (!load_kinds (db, path, self->kinds, error))
    return NULL;
  dothi_project_close (project);

  w = g_new0 (Writer, 1);
  w->self = self;
  w->db = open_companion (self->companion, self->uuid, error);
  if (w->db == NULL)
    {
      g_free (w);
      return NULL;
    }
  if (!load_sensors (self, w->db, error)
      || sqlite3_prepare_v3 (w->db, "INSERT OR IGNORE INTO readings (sensor_id, time, value, unit, msg_id) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)", -1, SQLITE_PREPARE_PERSISTENT,
                             &w->insert, NULL) != SQLITE_OK
      || sqlite3_prepare_v3 (w->db, "INSERT INTO sensors (sensor_id, kind, unit, x, y, last_value, last_time) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                             "ON CONFLICT (sensor_id) DO UPDATE SET "
                             "kind = COALESCE (excluded.kind, sensors.kind), "
                             "unit = COALESCE (excluded.unit, sensors.unit), "
                             "x = COALESCE (excluded.x, sensors.x), "
                             "y = COALESCE (excluded.y, sensors.y), "
                             "last_value = CASE WHEN sensors.last_time IS NULL "
                             "  OR excluded.last_time >= sensors.last_time "
                             "  THEN excluded.last_value ELSE sensors.last_value END, "
                             "last_time = MAX (COALESCE (sensors.last_time, excluded.last_time), "
                             "  excluded.last_time)", -1, SQLITE_PREPARE_PERSISTENT,
                             &w->upsert, NULL) != SQLITE_OK)
    {
      if (error != NULL && *error == NULL)
        set_db_error (w->db, self->companion, error);
      g_clear_pointer (&w->insert, sqlite3_finalize);
      g_clear_pointer (&w->upsert, sqlite3_finalize);
      sqlite3_close (w->db);
      g_free (w);
      return NULL;
    }
  self->writer = g_thread_new ("dothi-live-writer", writer_thread, w);
  return g_steal_pointer (&self);
}

gboolean
dothi_live_start (DothiLive   *self,
                  const char  *source,
                  const char  *password,
                  GError     **error)
{
  static GOnce mosquitto_once = G_ONCE_INIT;
  g_autoptr(GTlsDatabase) tls_database = NULL;
  SourceConfig *config;
  Source *src;
  gboolean running;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);

  g_mutex_lock (&self->lock);
  running = g_hash_table_contains (self->sources, source);
  g_mutex_unlock (&self->lock);
  if (running)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   /* Translators: a source name */
                   _("Source “%s” is already running"), source);
      return FALSE;
    }
  /* Definitions may have changed since: read them again. */
  config = reload_definitions (self, source, error);
  if (config == NULL)
    return FALSE;
  /* A CA file that cannot be read is the operator's to fix, not a
   * connection to retry. */
  if (config->ca_file != NULL)
    {
      g_autoptr(GError) local = NULL;

      tls_database = g_tls_file_database_new (config->ca_file, &local);
      if (tls_database == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a source name, a file name, then the reason */
                       _("Source “%s”: cannot read the CA certificates “%s”: %s"),
                       config->name, config->ca_file, local->message);
          source_config_free (config);
          return FALSE;
        }
    }
  g_mutex_lock (&self->lock);
  {
    SourceConfig *old = g_hash_table_lookup (self->configs, source);

    if (old != NULL)
      {
        g_hash_table_steal (self->configs, source);
        g_ptr_array_add (self->retired, old);
      }
    g_hash_table_insert (self->configs, config->name, config);
  }
  g_mutex_unlock (&self->lock);

  src = g_new0 (Source, 1);
  src->self = self;
  src->config = config;
  src->password = g_strdup (password);
  src->tls_database = g_steal_pointer (&tls_database);
  src->cancellable = g_cancellable_new ();
  g_mutex_lock (&self->lock);
  g_hash_table_insert (self->sources, g_strdup (source), src);
  g_mutex_unlock (&self->lock);

  if (g_str_equal (config->kind, "http"))
    {
      src->http_context = g_main_context_new ();
      src->loop = g_main_loop_new (src->http_context, FALSE);
      set_state (src, DOTHI_LIVE_CONNECTING, NULL);
      src->thread = g_thread_new ("dothi-live-http", http_thread, src);
      return TRUE;
    }

  g_once (&mosquitto_once, init_mosquitto, NULL);
  if (config->username != NULL && password == NULL)
    {
      set_state (src, DOTHI_LIVE_CONNECTING, NULL);
      secret_password_lookup (&source_schema, src->cancellable, keyring_looked_up_cb, src,
                              "dothi-source", config->name, NULL);
      return TRUE;
    }
  if (!mqtt_connect (src, error))
    {
      g_mutex_lock (&self->lock);
      g_hash_table_remove (self->sources, source);
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  return TRUE;
}

void
dothi_live_stop (DothiLive *self)
{
  g_autoptr(GHashTable) sources = NULL;

  g_return_if_fail (DOTHI_IS_LIVE (self));

  g_mutex_lock (&self->lock);
  sources = g_steal_pointer (&self->sources);
  self->sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) source_stop_and_free);
  g_mutex_unlock (&self->lock);
  /* Unlocked: the threads being stopped may still take the lock. */
  g_clear_pointer (&sources, g_hash_table_unref);
  if (self->writer != NULL)
    dothi_live_flush (self, NULL);
}

char *
dothi_live_dup_kind_title (DothiLive *self, const char *kind)
{
  const KindDef *def;
  char *title;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), NULL);

  if (kind == NULL)
    return NULL;
  g_mutex_lock (&self->lock);
  def = g_hash_table_lookup (self->kinds, kind);
  title = g_strdup (def != NULL && def->title != NULL ? def->title : kind);
  g_mutex_unlock (&self->lock);
  return title;
}

gboolean
dothi_live_get_thresholds (DothiLive *self, const char *kind, double *low, double *high)
{
  const KindDef *def;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), FALSE);

  *low = *high = NAN;
  if (kind == NULL)
    return FALSE;
  g_mutex_lock (&self->lock);
  def = g_hash_table_lookup (self->kinds, kind);
  if (def != NULL)
    {
      *low = def->low;
      *high = def->high;
    }
  g_mutex_unlock (&self->lock);
  return def != NULL;
}

gboolean
dothi_live_reload_kinds (DothiLive *self, GError **error)
{
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), FALSE);

  /* With no source named, only the kinds are read again. */
  reload_definitions (self, NULL, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

gboolean
dothi_live_stop_source (DothiLive *self, const char *source)
{
  gpointer key = NULL, src = NULL;
  gboolean found;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);

  g_mutex_lock (&self->lock);
  found = g_hash_table_steal_extended (self->sources, source, &key, &src);
  g_mutex_unlock (&self->lock);
  if (!found)
    return FALSE;
  /* Unlocked, as dothi_live_stop (). */
  source_stop_and_free (src);
  g_free (key);
  if (self->writer != NULL)
    dothi_live_flush (self, NULL);
  return TRUE;
}

void
dothi_live_get_stats (DothiLive *self, DothiLiveStats *stats)
{
  g_return_if_fail (DOTHI_IS_LIVE (self));
  g_return_if_fail (stats != NULL);

  g_mutex_lock (&self->lock);
  *stats = self->stats;
  g_mutex_unlock (&self->lock);
}

GPtrArray *
dothi_live_take_changes (DothiLive *self, gint64 *stored_row)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_sensor_state_free);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), list);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->changed->len; i++)
    {
      const char *id = g_ptr_array_index (self->changed, i);
      SensorMem *mem = g_hash_table_lookup (self->sensors, id);
      DothiSensorState *s;
      const KindDef *def;

      if (mem == NULL || !mem->changed)
        continue;
      mem->changed = FALSE;
      s = g_new0 (DothiSensorState, 1);
      s->sensor_id = g_strdup (id);
      s->kind = g_strdup (mem->kind);
      s->unit = g_strdup (mem->unit);
      s->x = mem->x;
      s->y = mem->y;
      s->last_value = mem->value;
      s->last_time = mem->last_time;
      def = mem->kind != NULL ? g_hash_table_lookup (self->kinds, mem->kind) : NULL;
      s->level = isnan (mem->value) ? 0 : level_of (def, mem->value);
      s->stale = def != NULL && def->expected_interval > 0 && now - s->last_time > def->expected_interval;
      g_ptr_array_add (list, s);
    }
  g_ptr_array_set_size (self->changed, 0);
  if (stored_row != NULL)
    *stored_row = self->stored_row;
  g_mutex_unlock (&self->lock);
  return list;
}

DothiLiveState
dothi_live_get_state (DothiLive *self, const char *source)
{
  DothiLiveState state = DOTHI_LIVE_DISCONNECTED;
  Source *src;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), DOTHI_LIVE_DISCONNECTED);
  g_return_val_if_fail (source != NULL, DOTHI_LIVE_DISCONNECTED);

  g_mutex_lock (&self->lock);
  src = g_hash_table_lookup (self->sources, source);
  if (src != NULL)
    state = src->state;
  g_mutex_unlock (&self->lock);
  return state;
}

GHashTable *
dothi_live_dup_rejections (DothiLive *self)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), copy);

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->rejections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), value);
  g_mutex_unlock (&self->lock);
  return copy;
}

gboolean
dothi_live_ingest_message (DothiLive   *self,
                           const char  *source,
                           const char  *topic,
                           const char  *payload,
                           gsize        length,
                           GError     **error)
{
  g_autoptr(SourceConfig) defaults = NULL;
  const SourceConfig *config;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), FALSE);
  g_return_val_if_fail (payload != NULL || length == 0, FALSE);

  if (source == NULL)
    config = defaults = source_config_default ();
  else
    config = get_config (self, source, error);
  if (config == NULL)
    return FALSE;
  return handle_payload (self, config, topic, payload ? payload : "", length, error);
}

gboolean
dothi_live_flush (DothiLive *self, GError **error)
{
  FlushWait wait = { 0 };
  Item *item;

  g_return_val_if_fail (DOTHI_IS_LIVE (self), FALSE);

  g_mutex_init (&wait.mutex);
  g_cond_init (&wait.cond);
  item = g_new0 (Item, 1);
  item->kind = ITEM_FLUSH;
  item->wait = &wait;
  g_async_queue_push (self->queue, item);
  g_mutex_lock (&wait.mutex);
  while (!wait.done)
    g_cond_wait (&wait.cond, &wait.mutex);
  g_mutex_unlock (&wait.mutex);
  g_mutex_clear (&wait.mutex);
  g_cond_clear (&wait.cond);
  if (!wait.ok)
    {
      if (wait.error != NULL)
        g_propagate_error (error, wait.error);
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                     _("Cannot store the live readings in “%s”"), self->companion);
      return FALSE;
    }
  return TRUE;
}

/* ---- reading the stored data ------------------------------------------ */

void
dothi_sensor_state_free (DothiSensorState *state)
{
  if (state == NULL)
    return;
  g_free (state->sensor_id);
  g_free (state->kind);
  g_free (state->unit);
  g_free (state);
}

/* The project's kinds, read with a plain read-only connection (no
 * SpatiaLite needed for Dothi's own tables). */
static GHashTable *
read_kinds (const char *path, GError **error)
{
  g_autoptr(GHashTable) kinds = new_kinds_table ();
  sqlite3 *db = NULL;
  gboolean ok;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then the database's own message */
                   _("Cannot open “%s”: %s"), path, db ? sqlite3_errmsg (db) : g_strerror (ENOMEM));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  ok = load_kinds (db, path, kinds, error);
  sqlite3_close (db);
  return ok ? g_steal_pointer (&kinds) : NULL;
}

GPtrArray *
dothi_live_sensors (const char *path, gint64 now, GError **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_sensor_state_free);
  g_autoptr(GHashTable) kinds = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *companion = NULL;
  g_autoptr(GError) local = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  if (now == 0)
    now = g_get_real_time () / G_USEC_PER_SEC;
  kinds = read_kinds (path, error);
  if (kinds == NULL)
    return NULL;
  companion = companion_path (path);
  db = open_companion_read (companion, &local);
  if (db == NULL)
    {
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      return g_steal_pointer (&list);
    }
  if (sqlite3_prepare_v2 (db, "SELECT sensor_id, kind, unit, x, y, last_value, last_time "
                          "FROM sensors ORDER BY sensor_id", -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, companion, error);
      sqlite3_close (db);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      DothiSensorState *s = g_new0 (DothiSensorState, 1);
      const KindDef *def;

      s->sensor_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      s->kind = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      s->unit = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      s->x = sqlite3_column_type (stmt, 3) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 3);
      s->y = sqlite3_column_type (stmt, 4) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 4);
      s->last_value = sqlite3_column_double (stmt, 5);
      s->last_time = sqlite3_column_int64 (stmt, 6);
      def = s->kind ? g_hash_table_lookup (kinds, s->kind) : NULL;
      s->level = level_of (def, s->last_value);
      s->stale = def != NULL && def->expected_interval > 0 && now - s->last_time > def->expected_interval;
      g_ptr_array_add (list, s);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, companion, error);
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_close (db);
  return g_steal_pointer (&list);
}

GArray *
dothi_live_readings (const char *path, const char *sensor_id,
                     gint64 since, gint64 until, GError **error)
{
  g_autoptr(GArray) pairs = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *companion = NULL;
  g_autoptr(GError) local = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (sensor_id != NULL, NULL);

  companion = companion_path (path);
  db = open_companion_read (companion, &local);
  if (db == NULL)
    {
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      return g_steal_pointer (&pairs);
    }
  if (sqlite3_prepare_v2 (db, "SELECT hour AS t, mean FROM hourly "
                          "WHERE sensor_id = ?1 AND hour >= ?2 AND hour < ?3 "
                          "UNION ALL "
                          "SELECT time AS t, value FROM readings "
                          "WHERE sensor_id = ?1 AND time >= ?2 AND time < ?3 "
                          "ORDER BY t", -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_text (stmt, 1, sensor_id, -1, SQLITE_TRANSIENT) != SQLITE_OK
      || sqlite3_bind_int64 (stmt, 2, since) != SQLITE_OK
      || sqlite3_bind_int64 (stmt, 3, until) != SQLITE_OK)
    {
      set_db_error (db, companion, error);
      sqlite3_close (db);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      double pair[2] = { (double) sqlite3_column_int64 (stmt, 0), sqlite3_column_double (stmt, 1) };

      g_array_append_vals (pairs, pair, 2);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, companion, error);
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_close (db);
  return g_steal_pointer (&pairs);
}

/* Readings older than @cutoff (unix seconds, a whole hour) merged into
 * hourly means and deleted: every sensor's (@all) or those of the sensors
 * of @kind (NULL: of no kind). In the caller's transaction. */
static gboolean
retain_readings (sqlite3 *db, gint64 cutoff, gboolean all, const char *kind)
{
  g_autoptr(sqlite3_stmt) merge = NULL;
  g_autoptr(sqlite3_stmt) drop = NULL;

  return sqlite3_prepare_v2 (db, "INSERT INTO hourly (sensor_id, hour, mean, min, max, n) "
                             "SELECT sensor_id, time - time % 3600, avg (value), min (value), "
                             "max (value), count (*) FROM readings WHERE time < ?1 "
                             "AND (?2 OR sensor_id IN (SELECT sensor_id FROM sensors WHERE kind IS ?3)) "
                             "GROUP BY sensor_id, time - time % 3600 "
                             "ON CONFLICT (sensor_id, hour) DO UPDATE SET "
                             "mean = (hourly.mean * hourly.n + excluded.mean * excluded.n) "
                             "  / (hourly.n + excluded.n), "
                             "min = MIN (hourly.min, excluded.min), "
                             "max = MAX (hourly.max, excluded.max), "
                             "n = hourly.n + excluded.n", -1, &merge, NULL) == SQLITE_OK
         && sqlite3_bind_int64 (merge, 1, cutoff) == SQLITE_OK
         && sqlite3_bind_int (merge, 2, all) == SQLITE_OK
         && sqlite3_bind_text (merge, 3, kind, -1, SQLITE_STATIC) == SQLITE_OK
         && sqlite3_step (merge) == SQLITE_DONE
         && sqlite3_prepare_v2 (db, "DELETE FROM readings WHERE time < ?1 "
                                "AND (?2 OR sensor_id IN (SELECT sensor_id FROM sensors WHERE kind IS ?3))",
                                -1, &drop, NULL) == SQLITE_OK
         && sqlite3_bind_int64 (drop, 1, cutoff) == SQLITE_OK
         && sqlite3_bind_int (drop, 2, all) == SQLITE_OK
         && sqlite3_bind_text (drop, 3, kind, -1, SQLITE_STATIC) == SQLITE_OK
         && sqlite3_step (drop) == SQLITE_DONE;
}

/* Whole hours only, so no hour is split between raw and aggregate. */
static gint64
retention_cutoff (int raw_days)
{
  gint64 cutoff = g_get_real_time () / G_USEC_PER_SEC - (gint64) raw_days * 86400;

  return cutoff - cutoff % 3600;
}

/* The writer's scheduled retention: each kind of sensor in the companion
 * by its "raw_days" (RETENTION_DAYS when it has none or no kind), one
 * transaction. */
static gboolean
writer_apply_retention (Writer *w, GError **error)
{
  DothiLive *self = w->self;
  g_autoptr(GPtrArray) kinds = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) days = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (w->db, "SELECT DISTINCT kind FROM sensors", -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (w->db, self->companion, error);
  g_mutex_lock (&self->lock);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *kind = (const char *) sqlite3_column_text (stmt, 0);
      const KindDef *def = kind != NULL ? g_hash_table_lookup (self->kinds, kind) : NULL;
      int d = def != NULL && def->raw_days > 0 ? def->raw_days : RETENTION_DAYS;

      g_ptr_array_add (kinds, g_strdup (kind));
      g_array_append_val (days, d);
    }
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (rc != SQLITE_DONE)
    return set_db_error (w->db, self->companion, error);
  if (kinds->len == 0)
    return TRUE;
  if (sqlite3_exec (w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (w->db, self->companion, error);
  for (guint i = 0; i < kinds->len; i++)
    if (!retain_readings (w->db, retention_cutoff (g_array_index (days, int, i)), FALSE,
                          g_ptr_array_index (kinds, i)))
      {
        set_db_error (w->db, self->companion, error);
        sqlite3_exec (w->db, "ROLLBACK", NULL, NULL, NULL);
        return FALSE;
      }
  if (sqlite3_exec (w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      set_db_error (w->db, self->companion, error);
      if (!sqlite3_get_autocommit (w->db))
        sqlite3_exec (w->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

gboolean
dothi_live_apply_retention (const char *path, int raw_days, GError **error)
{
  g_autofree char *companion = NULL;
  sqlite3 *db = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (raw_days >= 0, FALSE);

  companion = companion_path (path);
  if (!g_file_test (companion, G_FILE_TEST_EXISTS))
    return TRUE;
  if (sqlite3_open_v2 (companion, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot open the live readings “%s”: %s"), companion,
                   db ? sqlite3_errmsg (db) : g_strerror (ENOMEM));
      sqlite3_close (db);
      return FALSE;
    }
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, "PRAGMA synchronous=FULL; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK
      || !retain_readings (db, retention_cutoff (raw_days), TRUE, NULL)
      || sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      set_db_error (db, companion, error);
      if (!sqlite3_get_autocommit (db))
        sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      sqlite3_close (db);
      return FALSE;
    }
  sqlite3_close (db);
  return TRUE;
}
