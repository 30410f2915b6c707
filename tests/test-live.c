/* test-live.c: the live ingest engine against a real Mosquitto broker on
 * 127.0.0.1 and a local libsoup server: readings, duplicates, malformed
 * messages, alerts, retention, incidents, a broker restart and a kill. */
#include "config.h"
#include "test-util.h"

#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-incident.h"
#include "dothi-live.h"
#include "dothi-project.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <libsecret/secret.h>
#include <mosquitto.h>
#include <sqlite3.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define MOSQUITTO "/usr/sbin/mosquitto"

/* A square around Buôn Ma Thuột: the project's only layer, so its extent
 * (grown by 10 km) is the city. */
static const char city_geojson[] =
  "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", "
  "\"properties\": {\"ten\": \"Buôn Ma Thuột\"}, \"geometry\": {\"type\": \"Polygon\", "
  "\"coordinates\": [[[108.00, 12.62], [108.10, 12.62], [108.10, 12.72], [108.00, 12.72], "
  "[108.00, 12.62]]]}}]}";

typedef struct {
  char         *dir;
  char         *path;
  char         *companion;
  DothiProject *project;
} Fixture;

/* ---- helpers ------------------------------------------------------------ */

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *geojson = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  f->companion = g_build_filename (f->dir, "city.dothi-live", NULL);
  geojson = g_build_filename (f->dir, "thanh-pho.geojson", NULL);
  g_assert_true (g_file_set_contents (geojson, city_geojson, -1, &error));
  g_assert_no_error (error);
  f->project = dothi_project_create (f->path, "EPSG:9218", &error);
  g_assert_no_error (error);
  import = dothi_import_new (f->project, geojson);
  dothi_import_set_target_name (import, "thanh_pho");
  g_assert_true (dothi_import_run_sync (import, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->companion);
}

/* An ISO 8601 time @offset seconds from now, in @tz ("+07:00"), or
 * without any offset when @tz is NULL (the clock time in ICT). */
static char *
iso_time (gint64 offset, const char *tz)
{
  g_autoptr(GTimeZone) zone = g_time_zone_new_identifier (tz ? tz : "+07:00");
  g_autoptr(GDateTime) now = g_date_time_new_now (zone);
  g_autoptr(GDateTime) t = g_date_time_add_seconds (now, (double) offset);

  if (tz == NULL)
    return g_date_time_format (t, "%Y-%m-%dT%H:%M:%S");
  return g_date_time_format_iso8601 (t);
}

static char *
reading_json (const char *id, const char *sensor, gint64 offset, double value)
{
  g_autofree char *time = iso_time (offset, "+07:00");
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_dtostr (number, sizeof number, value);
  if (id == NULL)
    return g_strdup_printf ("{\"sensor_id\": \"%s\", \"time\": \"%s\", \"value\": %s, "
                            "\"unit\": \"bar\", \"kind\": \"pressure\"}", sensor, time, number);
  return g_strdup_printf ("{\"id\": \"%s\", \"sensor_id\": \"%s\", \"time\": \"%s\", \"value\": %s, "
                          "\"unit\": \"bar\", \"kind\": \"pressure\", "
                          "\"position\": {\"lat\": 12.67, \"lon\": 108.05}}",
                          id, sensor, time, number);
}

static gint64
query_int (const char *db_path, const char *sql, const char *text)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (!g_file_test (db_path, G_FILE_TEST_EXISTS))
    return 0;
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  /* A child process may have made the file and not yet its tables. */
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_assert_nonnull (strstr (sqlite3_errmsg (db), "no such table"));
      sqlite3_close (db);
      return 0;
    }
  if (text != NULL)
    sqlite3_bind_text (stmt, 1, text, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static gint64
count_readings (const char *companion, const char *sensor)
{
  return query_int (companion, "SELECT count(*) FROM readings WHERE sensor_id = ?1", sensor);
}

static char *
integrity (const char *db_path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *result = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return result;
}

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context (woken every 20 ms) until @cond holds or
 * @timeout_ms passes. */
static gboolean
wait_until (Condition cond, gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint id = g_timeout_add (20, wake_cb, NULL);
  gboolean ok;

  while (!(ok = cond (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint id = g_timeout_add (10, wake_cb, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
}

static void
define_kind (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (dothi_live_kind_define (f->project,
                                         "{\"kind\": \"pressure\", \"unit\": \"bar\", \"low\": 1.5, "
                                         "\"high\": 6.0, \"expected_interval\": 300}", &error));
  g_assert_no_error (error);
}

/* ---- a broker --------------------------------------------------------- */

typedef struct {
  char  *dir;
  char  *conf;
  int    port;
  GPid   pid;
} Broker;

static gboolean
port_open_cb (gpointer data)
{
  Broker *b = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", b->port, NULL, NULL);
  return conn != NULL;
}

/* A broker or ingest child must not outlive a test that failed. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static void
broker_run (Broker *b)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { MOSQUITTO, "-c", b->conf, NULL };

  g_assert_true (g_spawn_async (b->dir, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                                | G_SPAWN_STDERR_TO_DEV_NULL,
                                die_with_parent, NULL, &b->pid, &error));
  g_assert_no_error (error);
  g_assert_true (wait_until (port_open_cb, b, 10000));
}

/* @autosave: the fault tests' broker, saving its state on every change
 * (a few thousand messages/s at most); else it saves on exit only. */
static Broker *
broker_start (const char *parent, gboolean autosave)
{
  Broker *b = g_new0 (Broker, 1);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  b->dir = g_build_filename (parent, "broker", NULL);
  g_assert_cmpint (g_mkdir_with_parents (b->dir, 0700), ==, 0);
  b->port = dothi_test_free_port ();
  b->conf = g_build_filename (b->dir, "mosquitto.conf", NULL);
  /* "user": run as root, mosquitto would drop to user "mosquitto" and
   * could not write its persistence file in our folder. */
  text = g_strdup_printf ("user %s\n"
                          "listener %d 127.0.0.1\n"
                          "allow_anonymous true\n"
                          "persistence true\n"
                          "persistence_location %s/\n"
                          "%s"
                          "max_queued_messages 0\n"
                          "message_size_limit 0\n"
                          "log_dest none\n", g_get_user_name (), b->port, b->dir,
                          autosave ? "autosave_on_changes true\nautosave_interval 1\n" : "");
  g_assert_true (g_file_set_contents (b->conf, text, -1, &error));
  g_assert_no_error (error);
  broker_run (b);
  return b;
}

/* SIGTERM, as a service manager stops it: the broker saves its state. */
static void
broker_stop (Broker *b)
{
  int status;

  if (b->pid == 0)
    return;
  kill (b->pid, SIGTERM);
  waitpid (b->pid, &status, 0);
  g_spawn_close_pid (b->pid);
  b->pid = 0;
}

static void
broker_free (Broker *b)
{
  broker_stop (b);
  g_free (b->dir);
  g_free (b->conf);
  g_free (b);
}

/* ---- a publisher (libmosquitto, QoS 1) ------------------------------- */

typedef struct {
  struct mosquitto *mosq;
  gint              acked;
  gint              connected;
  gint              sent;
} Publisher;

static void
pub_connected_cb (struct mosquitto *mosq, void *data, int rc)
{
  Publisher *p = data;

  g_atomic_int_set (&p->connected, rc == 0);
}

static void
pub_published_cb (struct mosquitto *mosq, void *data, int mid)
{
  Publisher *p = data;

  g_atomic_int_inc (&p->acked);
}

static gboolean
pub_connected (gpointer data)
{
  Publisher *p = data;

  return g_atomic_int_get (&p->connected);
}

static Publisher *
publisher_new (int port, const char *client_id)
{
  Publisher *p = g_new0 (Publisher, 1);

  /* A persistent session: what it publishes while the broker is away is
   * queued here and sent again on reconnect. */
  p->mosq = mosquitto_new (client_id, false, p);
  g_assert_nonnull (p->mosq);
  mosquitto_int_option (p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set (p->mosq, 100);
  mosquitto_connect_callback_set (p->mosq, pub_connected_cb);
  mosquitto_publish_callback_set (p->mosq, pub_published_cb);
  mosquitto_reconnect_delay_set (p->mosq, 1, 1, false);
  g_assert_cmpint (mosquitto_connect (p->mosq, "127.0.0.1", port, 30), ==, MOSQ_ERR_SUCCESS);
  g_assert_cmpint (mosquitto_loop_start (p->mosq), ==, MOSQ_ERR_SUCCESS);
  g_assert_true (wait_until (pub_connected, p, 10000));
  return p;
}

static void
publish (Publisher *p, const char *topic, const char *payload, gsize length)
{
  int rc = mosquitto_publish (p->mosq, NULL, topic, (int) length, payload, 1, false);

  /* While the broker is away, libmosquitto keeps QoS 1 messages queued. */
  g_assert_true (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN);
  g_atomic_int_inc (&p->sent);
}

static void
publish_text (Publisher *p, const char *topic, const char *payload)
{
  publish (p, topic, payload, strlen (payload));
}

static gboolean
pub_all_acked (gpointer data)
{
  Publisher *p = data;

  return g_atomic_int_get (&p->acked) >= g_atomic_int_get (&p->sent);
}

static void
publisher_free (Publisher *p)
{
  mosquitto_disconnect (p->mosq);
  mosquitto_loop_stop (p->mosq, false);
  mosquitto_destroy (p->mosq);
  g_free (p);
}

static void
define_mqtt_source (Fixture *f, const char *name, int port, const char *client_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  json = g_strdup_printf ("{\"name\": \"%s\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                          "\"port\": %d, \"topics\": [\"dothi/%s/#\", \"v1.1/+/Observations\"], "
                          "\"qos\": 1, \"client_id\": \"%s\", \"timezone\": \"+07:00\", "
                          "\"crs\": \"EPSG:4326\"}", name, port, name, client_id);
  g_assert_true (dothi_live_source_define (f->project, json, &error));
  g_assert_no_error (error);
}

typedef struct {
  Fixture   *f;
  Publisher *pub;
  const char *topic;
  const char *sensor;
  guint      n;
  gint64     last;
} Probe;

/* Publishes a probe reading each call until one is stored: then the
 * engine's subscription is in place. */
static gboolean
probe_stored (gpointer data)
{
  Probe *p = data;
  gint64 now = g_get_monotonic_time ();

  if (count_readings (p->f->companion, p->sensor) > 0)
    return TRUE;
  if (now - p->last > 200 * 1000)
    {
      g_autofree char *id = g_strdup_printf ("%s-%u", p->sensor, p->n++);
      g_autofree char *msg = reading_json (id, p->sensor, -1, 3.0);

      publish_text (p->pub, p->topic, msg);
      p->last = now;
    }
  return FALSE;
}

static void
wait_subscribed (Fixture *f, Publisher *pub, const char *topic, const char *sensor)
{
  Probe probe = { f, pub, topic, sensor, 0, 0 };

  g_assert_true (wait_until (probe_stored, &probe, 20000));
}

typedef struct {
  DothiLive *live;
  gint64     stored;
  gint64     malformed;
} StatsWait;

static gboolean
stats_reached (gpointer data)
{
  StatsWait *w = data;
  DothiLiveStats stats;

  dothi_live_get_stats (w->live, &stats);
  return stats.stored >= w->stored && stats.malformed >= w->malformed;
}

typedef struct {
  const char *companion;
  const char *sensor;
  gint64      n;
} CountWait;

static gboolean
count_reached (gpointer data)
{
  CountWait *w = data;

  return count_readings (w->companion, w->sensor) >= w->n;
}

/* ---- definitions ------------------------------------------------------ */

static void
test_define (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *json = NULL;

  names = dothi_live_source_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), ==, 0);

  define_mqtt_source (f, "tram-ap-luc", 1883, "dothi-test");
  g_assert_true (dothi_live_source_define (f->project,
                                           "{\"name\": \"sta\", \"kind\": \"http\", "
                                           "\"url\": \"http://127.0.0.1:9/v1.1/Datastreams(5)/Observations\", "
                                           "\"interval\": 10}", &error));
  g_assert_no_error (error);
  g_clear_pointer (&names, g_strfreev);
  names = dothi_live_source_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_cmpstr (names[0], ==, "sta");
  g_assert_cmpstr (names[1], ==, "tram-ap-luc");
  json = dothi_live_source_dup (f->project, "tram-ap-luc", &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (json, "\"client_id\":\"dothi-test\""));

  /* Redefining replaces. */
  define_mqtt_source (f, "tram-ap-luc", 1884, "dothi-test");
  g_clear_pointer (&json, g_free);
  json = dothi_live_source_dup (f->project, "tram-ap-luc", &error);
  g_assert_nonnull (strstr (json, "1884"));

  /* The password never goes into the project. */
  g_assert_false (dothi_live_source_define (f->project,
                                            "{\"name\": \"x\", \"kind\": \"mqtt\", \"host\": \"h\", "
                                            "\"topics\": [\"a\"], \"username\": \"ops\", \"password\": \"s\"}",
                                            &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "“x”"));
  g_clear_error (&error);
  g_assert_false (dothi_live_source_define (f->project, "{\"name\": \"x\", \"kind\": \"ftp\"}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (dothi_live_source_define (f->project,
                                            "{\"name\": \"x\", \"kind\": \"mqtt\", \"host\": \"h\", "
                                            "\"topics\": [\"a/#/b\"]}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (dothi_live_source_define (f->project,
                                            "{\"name\": \"x\", \"kind\": \"mqtt\", \"host\": \"h\", "
                                            "\"topics\": [\"a\"], \"crs\": \"EPSG:999999\"}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
  g_clear_error (&error);
  g_assert_false (dothi_live_source_define (f->project, "not json", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_null (dothi_live_source_dup (f->project, "khong-co", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  define_kind (f);
  g_assert_false (dothi_live_kind_define (f->project, "{\"kind\": \"level\", \"low\": 5, \"high\": 1}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (dothi_live_kind_define (f->project, "{\"kind\": \"level\", \"high\": \"1\"}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* Definitions are no edits: the history stays empty of them. */
  {
    g_autoptr(GPtrArray) actions = dothi_audit_list_actions (f->project, 0, 10, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < actions->len; i++)
      {
        DothiActionInfo *a = g_ptr_array_index (actions, i);
        g_assert_null (a->label && strstr (a->label, "tram") ? a->label : NULL);
      }
  }
}

/* ---- ingest without a broker ----------------------------------------- */

static void
ingest_ok (DothiLive *live, const char *source, const char *json)
{
  g_autoptr(GError) error = NULL;

  gboolean ok = dothi_live_ingest_message (live, source, "dothi/test/x", json, strlen (json), &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
ingest_bad (DothiLive *live, const char *source, const char *json, gsize length, const char *reason)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (dothi_live_ingest_message (live, source, "dothi/test/x", json, length, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  if (strstr (error->message, reason) == NULL)
    g_test_message ("“%s” does not name “%s”", error->message, reason);
  g_assert_nonnull (strstr (error->message, reason));
}

static void
test_ingest_readings (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GPtrArray) sensors = NULL;
  g_autoptr(GArray) series = NULL;
  g_autofree char *r1 = reading_json ("m-1", "AL-05", -120, 2.35);
  g_autofree char *r2 = reading_json ("m-2", "AL-05", -60, 2.40);
  g_autofree char *r3 = reading_json (NULL, "AL-06", -60, 3.10);
  g_autofree char *vn2000 = NULL;
  g_autofree char *naive = NULL;
  g_autofree char *naive_json = NULL;
  g_autoptr(GDateTime) expected = NULL;
  DothiLiveStats stats;
  DothiSensorState *al05 = NULL, *al07 = NULL;
  double x, y;

  define_kind (f);
  define_mqtt_source (f, "test", 1883, "dothi-ingest");
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->companion, G_FILE_TEST_EXISTS));

  ingest_ok (live, "test", r1);
  ingest_ok (live, "test", r2);
  ingest_ok (live, "test", r1);   /* the same id again */
  ingest_ok (live, "test", r3);
  ingest_ok (live, "test", r3);   /* no id: the same sensor and time */
  /* An array of two, one of them a position in x/y with a CRS. */
  naive = iso_time (-30, NULL);
  naive_json = g_strdup_printf ("[{\"id\": \"m-7\", \"sensor_id\": \"AL-07\", \"time\": \"%s\", "
                                "\"value\": 4.0, \"unit\": \"bar\", "
                                "\"position\": {\"x\": 108.05, \"y\": 12.67, \"crs\": \"EPSG:4326\"}},"
                                " {\"id\": \"m-8\", \"sensor_id\": \"AL-08\", \"time\": 0, \"value\": 1}]",
                                naive);
  /* The second is a reading of 1970: too old; the first still counts. */
  g_assert_false (dothi_live_ingest_message (live, "test", NULL, naive_json, strlen (naive_json), &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_no_error (error);

  dothi_live_get_stats (live, &stats);
  g_assert_cmpint (stats.received, ==, 7);
  g_assert_cmpint (stats.stored, ==, 4);
  g_assert_cmpint (stats.duplicates, ==, 2);
  g_assert_cmpint (stats.malformed, ==, 1);
  g_assert_cmpint (stats.batches, >=, 1);
  g_assert_cmpint (count_readings (f->companion, "AL-05"), ==, 2);
  g_assert_cmpint (count_readings (f->companion, "AL-06"), ==, 1);

  /* A time without an offset is ICT (the source's +07:00). */
  {
    g_autoptr(GTimeZone) ict = g_time_zone_new_identifier ("+07:00");
    expected = g_date_time_new_from_iso8601 (naive, ict);
  }
  g_assert_cmpint (query_int (f->companion, "SELECT time FROM readings WHERE msg_id = ?1", "m-7"),
                   ==, g_date_time_to_unix (expected));

  sensors = dothi_live_sensors (f->path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sensors->len, ==, 3);
  for (guint i = 0; i < sensors->len; i++)
    {
      DothiSensorState *s = g_ptr_array_index (sensors, i);

      if (g_str_equal (s->sensor_id, "AL-05"))
        al05 = s;
      else if (g_str_equal (s->sensor_id, "AL-07"))
        al07 = s;
    }
  g_assert_nonnull (al05);
  g_assert_nonnull (al07);
  g_assert_cmpfloat_with_epsilon (al05->last_value, 2.40, 1e-9);
  g_assert_cmpstr (al05->kind, ==, "pressure");
  g_assert_cmpstr (al05->unit, ==, "bar");
  g_assert_cmpint (al05->level, ==, 0);
  g_assert_false (al05->stale);
  /* VN-2000 TM-3 108°30': about 1.4 M north, 450 km east; both forms of
   * the same place agree to the centimetre. */
  g_assert_cmpfloat (al05->y, >, 1.39e6);
  g_assert_cmpfloat (al05->y, <, 1.41e6);
  g_assert_cmpfloat (al05->x, >, 4.0e5);
  g_assert_cmpfloat (al05->x, <, 5.0e5);
  g_assert_cmpfloat_with_epsilon (al07->x, al05->x, 0.01);
  g_assert_cmpfloat_with_epsilon (al07->y, al05->y, 0.01);
  g_assert_true (isnan (((DothiSensorState *) g_ptr_array_index (sensors, 1))->x));  /* AL-06 */
  x = al05->x;
  y = al05->y;

  /* The same states from the engine's memory, as the map takes them:
   * each changed sensor once, then nothing until new rows. */
  {
    g_autoptr(GPtrArray) changes = NULL;
    gint64 stored_row = -1;

    changes = dothi_live_take_changes (live, &stored_row);
    g_assert_cmpuint (changes->len, ==, 3);
    g_assert_cmpint (stored_row, ==, query_int (f->companion, "SELECT max (id) FROM readings WHERE ?1 IS NOT NULL", "-"));
    for (guint i = 0; i < changes->len; i++)
      {
        DothiSensorState *c = g_ptr_array_index (changes, i);
        DothiSensorState *s = NULL;

        for (guint j = 0; j < sensors->len; j++)
          if (g_str_equal (((DothiSensorState *) sensors->pdata[j])->sensor_id, c->sensor_id))
            s = sensors->pdata[j];
        g_assert_nonnull (s);
        g_assert_cmpfloat (c->last_value, ==, s->last_value);
        g_assert_cmpint (c->last_time, ==, s->last_time);
        g_assert_cmpint (c->level, ==, s->level);
        g_assert_cmpstr (c->unit, ==, s->unit);
        g_assert_true (isnan (c->x) == isnan (s->x));
        if (!isnan (s->x))
          g_assert_cmpfloat_with_epsilon (c->x, s->x, 1e-6);
      }
    g_clear_pointer (&changes, g_ptr_array_unref);
    changes = dothi_live_take_changes (live, NULL);
    g_assert_cmpuint (changes->len, ==, 0);
    g_clear_pointer (&changes, g_ptr_array_unref);

    /* A late reading does not change the value shown, but the first
     * position known places a sensor that had none. */
    {
      g_autofree char *late = reading_json ("m-late", "AL-06", -600, 5.5);
      g_autofree char *later = reading_json ("m-later", "AL-06", -900, 5.6);
      DothiSensorState *c;

      ingest_ok (live, "test", late);
      g_assert_true (dothi_live_flush (live, &error));
      g_assert_no_error (error);
      changes = dothi_live_take_changes (live, NULL);
      g_assert_cmpuint (changes->len, ==, 1);
      c = g_ptr_array_index (changes, 0);
      g_assert_cmpstr (c->sensor_id, ==, "AL-06");
      g_assert_cmpfloat_with_epsilon (c->last_value, 3.10, 1e-9);
      g_assert_cmpfloat_with_epsilon (c->x, x, 0.01);
      g_clear_pointer (&changes, g_ptr_array_unref);

      ingest_ok (live, "test", later);
      g_assert_true (dothi_live_flush (live, &error));
      changes = dothi_live_take_changes (live, NULL);
      g_assert_cmpuint (changes->len, ==, 0);
    }
  }

  /* Stale when nothing came for longer than the kind's 300 s. */
  g_clear_pointer (&sensors, g_ptr_array_unref);
  sensors = dothi_live_sensors (f->path, g_get_real_time () / G_USEC_PER_SEC + 3600, &error);
  g_assert_no_error (error);
  g_assert_true (((DothiSensorState *) g_ptr_array_index (sensors, 0))->stale);

  series = dothi_live_readings (f->path, "AL-05", 0, G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (series->len, ==, 4);
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 1), 2.35, 1e-9);
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 3), 2.40, 1e-9);

  /* A VN-2000 position straight in the project CRS is kept as given. */
  vn2000 = g_strdup_printf ("{\"id\": \"m-9\", \"sensor_id\": \"AL-09\", \"time\": \"%s\", "
                            "\"value\": 2, \"position\": {\"x\": %.3f, \"y\": %.3f, \"crs\": \"EPSG:9218\"}}",
                            naive, x, y);
  ingest_ok (live, "test", vn2000);
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_cmpint (query_int (f->companion, "SELECT round (x * 1000) FROM sensors WHERE sensor_id = ?1", "AL-09"),
                   ==, (gint64) round (x * 1000));

  /* A SensorThings observation with its Datastream expanded: the
   * Datastream names the sensor and its unitOfMeasurement the unit. */
  {
    g_autofree char *sta = g_strdup_printf ("{\"@iot.id\": 1, \"phenomenonTime\": \"%s\", \"result\": 3.25, "
                                            "\"Datastream\": {\"@iot.id\": 9, \"unitOfMeasurement\": "
                                            "{\"name\": \"Bar\", \"symbol\": \"bar\"}}}", naive);

    g_assert_true (dothi_live_ingest_message (live, "test", NULL, sta, strlen (sta), &error));
    g_assert_no_error (error);
    g_assert_true (dothi_live_flush (live, &error));
    g_assert_cmpint (count_readings (f->companion, "Datastreams(9)"), ==, 1);
    g_assert_cmpint (query_int (f->companion, "SELECT count (*) FROM readings WHERE sensor_id = ?1 "
                                "AND unit = 'bar'", "Datastreams(9)"), ==, 1);
  }

  /* An unknown source is an error, no source at all the defaults. */
  g_assert_false (dothi_live_ingest_message (live, "khong-co", NULL, r1, strlen (r1), &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  ingest_ok (live, NULL, r2);
}

static void
test_ingest_malformed (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GHashTable) reasons = NULL;
  g_autofree char *now = iso_time (-10, "+07:00");
  g_autofree char *future = iso_time (3 * 86400, "+07:00");
  g_autofree char *wrong_type = NULL, *lat200 = NULL, *outside = NULL, *late = NULL;
  g_autofree char *unit = NULL, *no_sensor = NULL, *bad_time = NULL, *big = NULL, *inf = NULL;
  gsize big_length = 10 * 1024 * 1024;
  DothiLiveStats stats;

  define_kind (f);
  define_mqtt_source (f, "test", 1883, "dothi-malformed");
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);

  wrong_type = g_strdup_printf ("{\"sensor_id\": \"A\", \"time\": \"%s\", \"value\": \"2.3\"}", now);
  lat200 = g_strdup_printf ("{\"sensor_id\": \"A\", \"time\": \"%s\", \"value\": 2.3, "
                            "\"position\": {\"lat\": 200, \"lon\": 108}}", now);
  outside = g_strdup_printf ("{\"sensor_id\": \"A\", \"time\": \"%s\", \"value\": 2.3, "
                             "\"position\": {\"lat\": 21.03, \"lon\": 105.85}}", now);
  late = g_strdup_printf ("{\"sensor_id\": \"A\", \"time\": \"%s\", \"value\": 2.3}", future);
  unit = g_strdup_printf ("{\"sensor_id\": \"A\", \"time\": \"%s\", \"value\": 230, "
                          "\"unit\": \"kPa\", \"kind\": \"pressure\"}", now);
  no_sensor = g_strdup_printf ("{\"time\": \"%s\", \"value\": 2.3}", now);
  bad_time = g_strdup ("{\"sensor_id\": \"A\", \"time\": \"hôm qua\", \"value\": 2.3}");
  inf = g_strdup_printf ("{\"sensor_id\": \"A\", \"time\": \"%s\", \"value\": 1e999}", now);
  big = g_malloc (big_length);
  memset (big, ' ', big_length);
  big[0] = '[';
  big[big_length - 1] = ']';

  ingest_bad (live, "test", "not JSON at all {", 17, "not JSON");
  ingest_bad (live, "test", "\"a string\"", 10, "wrong type");
  ingest_bad (live, "test", wrong_type, strlen (wrong_type), "wrong type");
  ingest_bad (live, "test", lat200, strlen (lat200), "position not valid");
  ingest_bad (live, "test", outside, strlen (outside), "position outside the city");
  ingest_bad (live, "test", late, strlen (late), "time in the future");
  ingest_bad (live, "test", unit, strlen (unit), "unit does not match");
  ingest_bad (live, "test", no_sensor, strlen (no_sensor), "missing field");
  ingest_bad (live, "test", bad_time, strlen (bad_time), "time not valid");
  ingest_bad (live, "test", inf, strlen (inf), "finite");
  ingest_bad (live, "test", big, big_length, "over 1 MB");
  g_assert_true (dothi_live_flush (live, &error));

  dothi_live_get_stats (live, &stats);
  g_assert_cmpint (stats.received, ==, 11);
  g_assert_cmpint (stats.malformed, ==, 11);
  g_assert_cmpint (stats.stored, ==, 0);
  reasons = dothi_live_dup_rejections (live);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "not JSON")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "wrong type")), ==, 2);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "position not valid")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "position outside the city")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "message over 1 MB")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "time in the future")), ==, 1);

  /* Still running: a good one goes in. */
  g_clear_pointer (&wrong_type, g_free);
  wrong_type = reading_json ("ok-1", "A", -5, 2.5);
  ingest_ok (live, "test", wrong_type);
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_cmpint (count_readings (f->companion, "A"), ==, 1);
}

/* ---- alerts ----------------------------------------------------------- */

typedef struct {
  guint    n;
  gboolean high[8];
  double   threshold[8];
  double   value[8];
} Alerts;

static void
alert_cb (DothiLive *live, const char *sensor, double value, double threshold,
          const char *kind, gboolean high, Alerts *alerts)
{
  g_assert_cmpstr (sensor, ==, "AL-10");
  g_assert_cmpstr (kind, ==, "pressure");
  if (alerts->n < G_N_ELEMENTS (alerts->high))
    {
      alerts->high[alerts->n] = high;
      alerts->threshold[alerts->n] = threshold;
      alerts->value[alerts->n] = value;
    }
  alerts->n++;
}

static void
batch_cb (DothiLive *live, guint n_readings, guint n_incidents, guint *total)
{
  *total += n_readings;
}

static void
test_alerts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  const double values[] = { 2.0, 6.5, 7.0, 6.8, 3.0, 7.2, 1.0, 1.2, 2.0 };
  Alerts alerts = { 0 };
  guint batched = 0;

  define_kind (f);
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_signal_connect (live, "alert", G_CALLBACK (alert_cb), &alerts);
  g_signal_connect (live, "batch", G_CALLBACK (batch_cb), &batched);
  /* The thresholds the chart draws, before any alert. */
  {
    double low, high;

    g_assert_true (dothi_live_get_thresholds (live, "pressure", &low, &high));
    g_assert_cmpfloat (low, ==, 1.5);
    g_assert_cmpfloat (high, ==, 6.0);
    g_assert_false (dothi_live_get_thresholds (live, "khong-co", &low, &high));
    g_assert_true (isnan (low) && isnan (high));
  }
  /* Its name for people: the kind itself until it has a title. */
  {
    g_autofree char *bare = dothi_live_dup_kind_title (live, "pressure");
    g_autofree char *titled = NULL;

    g_assert_cmpstr (bare, ==, "pressure");
    g_assert_true (dothi_live_kind_define (f->project, "{\"kind\": \"muc-nuoc\", \"title\": \"Mực nước\", "
                                           "\"unit\": \"cm\"}", &error));
    g_assert_no_error (error);
    g_assert_false (dothi_live_kind_define (f->project, "{\"kind\": \"x\", \"title\": 5}", &error));
    g_assert_nonnull (strstr (error->message, "title"));
    g_clear_error (&error);
    g_clear_object (&live);
    live = dothi_live_new (f->path, &error);
    g_assert_no_error (error);
    g_signal_connect (live, "alert", G_CALLBACK (alert_cb), &alerts);
    g_signal_connect (live, "batch", G_CALLBACK (batch_cb), &batched);
    titled = dothi_live_dup_kind_title (live, "muc-nuoc");
    g_assert_cmpstr (titled, ==, "Mực nước");
  }
  /* Kinds as the window edits them: listed, changed, checked, and the
   * running engine takes the new thresholds when told. */
  {
    g_autoptr(GPtrArray) kinds = dothi_live_kind_list (f->project, &error);
    DothiSensorKind *pressure = NULL;
    DothiSensorKind bad = { (char *) "pressure", NULL, (char *) "bar", 7.0, 3.0, 0, 0 };
    double low, high;

    g_assert_no_error (error);
    g_assert_cmpuint (kinds->len, ==, 2);
    g_assert_cmpstr (((DothiSensorKind *) kinds->pdata[0])->kind, ==, "muc-nuoc");
    g_assert_cmpstr (((DothiSensorKind *) kinds->pdata[0])->title, ==, "Mực nước");
    pressure = kinds->pdata[1];
    g_assert_cmpstr (pressure->kind, ==, "pressure");
    g_assert_cmpfloat (pressure->high, ==, 6.0);
    g_assert_cmpint (pressure->expected_interval, ==, 300);
    g_assert_true (isnan (((DothiSensorKind *) kinds->pdata[0])->low));

    g_assert_false (dothi_live_kind_save (f->project, &bad, &error));
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
    g_clear_error (&error);
    pressure->high = 8.0;
    g_assert_true (dothi_live_kind_save (f->project, pressure, &error));
    g_assert_no_error (error);
    g_assert_true (dothi_live_get_thresholds (live, "pressure", &low, &high));
    g_assert_cmpfloat (high, ==, 6.0);
    g_assert_true (dothi_live_reload_kinds (live, &error));
    g_assert_no_error (error);
    g_assert_true (dothi_live_get_thresholds (live, "pressure", &low, &high));
    g_assert_cmpfloat (low, ==, 1.5);
    g_assert_cmpfloat (high, ==, 8.0);
    /* Back as it was, for what follows. */
    pressure->high = 6.0;
    g_assert_true (dothi_live_kind_save (f->project, pressure, &error));
    g_assert_true (dothi_live_reload_kinds (live, &error));
  }

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *id = g_strdup_printf ("al-%u", i);
      g_autofree char *json = reading_json (id, "AL-10", -600 + 10 * (gint64) i, values[i]);

      ingest_ok (live, NULL, json);
      /* Each its own batch as well as all in one: the same alerts. */
      if (i % 2 == 0)
        g_assert_true (dothi_live_flush (live, &error));
    }
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_no_error (error);
  /* A late reading, above high, is history, not the present state. */
  {
    g_autofree char *json = reading_json ("al-late", "AL-10", -3000, 9.0);

    ingest_ok (live, NULL, json);
    g_assert_true (dothi_live_flush (live, &error));
  }
  run_for (100);

  /* Crossings only: up (6.5), up again after normal (7.2), down (1.0). */
  g_assert_cmpuint (alerts.n, ==, 3);
  g_assert_true (alerts.high[0]);
  g_assert_cmpfloat_with_epsilon (alerts.value[0], 6.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (alerts.threshold[0], 6.0, 1e-9);
  g_assert_true (alerts.high[1]);
  g_assert_cmpfloat_with_epsilon (alerts.value[1], 7.2, 1e-9);
  g_assert_false (alerts.high[2]);
  g_assert_cmpfloat_with_epsilon (alerts.threshold[2], 1.5, 1e-9);
  g_assert_cmpuint (batched, ==, G_N_ELEMENTS (values) + 1);
  g_signal_handlers_disconnect_by_data (live, &alerts);
  g_signal_handlers_disconnect_by_data (live, &batched);

  /* A new engine on the same files knows the sensor is normal now. */
  g_clear_object (&live);
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_signal_connect (live, "alert", G_CALLBACK (alert_cb), &alerts);
  {
    g_autofree char *json = reading_json ("al-next", "AL-10", -1, 2.2);

    ingest_ok (live, NULL, json);
    g_assert_true (dothi_live_flush (live, &error));
  }
  run_for (50);
  g_assert_cmpuint (alerts.n, ==, 3);
  /* Signals still queued must not reach this function's locals. */
  g_signal_handlers_disconnect_by_data (live, &alerts);
}

/* ---- stations -------------------------------------------------------- */

/* A source that names the project's station layer: a reading without a
 * position (as a SensorThings observation has none) is placed at its
 * station, by the station's id, text or integer; one with a position
 * keeps its own. A layer that is missing, not of points, or without the
 * field is refused when the source is defined. */
static void
test_stations (Fixture *f, gconstpointer data)
{
  static const char stations[] =
    "{\"type\": \"FeatureCollection\", \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:9218\"}}, "
    "\"features\": ["
    "{\"type\": \"Feature\", \"properties\": {\"ma_tram\": \"AL-0001\", \"so\": 7}, "
    "\"geometry\": {\"type\": \"Point\", \"coordinates\": [457100.5, 1402200.25]}},"
    "{\"type\": \"Feature\", \"properties\": {\"ma_tram\": \"AL-0002\", \"so\": 8}, "
    "\"geometry\": {\"type\": \"Point\", \"coordinates\": [457300, 1402400]}}]}";
  const char *bad[] = {
    "{\"name\": \"s\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", \"topics\": [\"a\"], "
    "\"stations\": {\"layer\": \"khong_co\", \"id_field\": \"ma_tram\"}}",
    "{\"name\": \"s\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", \"topics\": [\"a\"], "
    "\"stations\": {\"layer\": \"thanh_pho\", \"id_field\": \"ten\"}}",
    "{\"name\": \"s\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", \"topics\": [\"a\"], "
    "\"stations\": {\"layer\": \"tram\", \"id_field\": \"khong_co\"}}",
    "{\"name\": \"s\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", \"topics\": [\"a\"], "
    "\"stations\": \"tram\"}",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autoptr(GPtrArray) sensors = NULL;
  g_autofree char *geojson = g_build_filename (f->dir, "tram.geojson", NULL);
  g_autofree char *r1 = NULL;
  g_autofree char *r2 = NULL;
  g_autofree char *r3 = NULL;
  g_autofree char *r4 = NULL;
  g_autofree char *time = iso_time (-60, "+07:00");

  g_assert_true (g_file_set_contents (geojson, stations, -1, &error));
  import = dothi_import_new (f->project, geojson);
  dothi_import_set_target_name (import, "tram");
  g_assert_true (dothi_import_run_sync (import, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (dothi_live_source_define (f->project, bad[i], &error));
      g_assert_nonnull (error);
      g_test_message ("refused: %s", error->message);
      g_assert_true (strstr (error->message, "stations") != NULL || strstr (error->message, "khong_co") != NULL
                     || strstr (error->message, "thanh_pho") != NULL);
      g_clear_error (&error);
    }
  g_assert_true (dothi_live_source_define (f->project,
                                           "{\"name\": \"tram-ma\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                                           "\"topics\": [\"a\"], \"crs\": \"EPSG:9218\", "
                                           "\"stations\": {\"layer\": \"tram\", \"id_field\": \"ma_tram\"}}", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_live_source_define (f->project,
                                           "{\"name\": \"tram-so\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                                           "\"topics\": [\"a\"], "
                                           "\"stations\": {\"layer\": \"tram\", \"id_field\": \"so\"}}", &error));
  g_assert_no_error (error);

  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  r1 = g_strdup_printf ("{\"id\": \"s-1\", \"sensor_id\": \"AL-0001\", \"time\": \"%s\", \"value\": 2.5}", time);
  r2 = g_strdup_printf ("{\"id\": \"s-2\", \"sensor_id\": \"AL-0002\", \"time\": \"%s\", \"value\": 2.5, "
                        "\"position\": {\"x\": 457500, \"y\": 1402500}}", time);
  r3 = g_strdup_printf ("{\"id\": \"s-3\", \"sensor_id\": \"AL-9999\", \"time\": \"%s\", \"value\": 2.5}", time);
  r4 = g_strdup_printf ("{\"id\": \"s-4\", \"sensor_id\": \"8\", \"time\": \"%s\", \"value\": 2.5}", time);
  ingest_ok (live, "tram-ma", r1);
  ingest_ok (live, "tram-ma", r2);
  ingest_ok (live, "tram-ma", r3);
  ingest_ok (live, "tram-so", r4);
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_no_error (error);

  sensors = dothi_live_sensors (f->path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sensors->len, ==, 4);
  for (guint i = 0; i < sensors->len; i++)
    {
      DothiSensorState *st = sensors->pdata[i];

      if (g_str_equal (st->sensor_id, "AL-0001"))
        {
          g_assert_cmpfloat (st->x, ==, 457100.5);
          g_assert_cmpfloat (st->y, ==, 1402200.25);
        }
      else if (g_str_equal (st->sensor_id, "AL-0002"))
        {
          /* Its own position, given in the source's CRS, wins. */
          g_assert_cmpfloat (st->x, ==, 457500);
          g_assert_cmpfloat (st->y, ==, 1402500);
        }
      else if (g_str_equal (st->sensor_id, "AL-9999"))
        g_assert_true (isnan (st->x));
      else
        {
          g_assert_cmpstr (st->sensor_id, ==, "8");
          g_assert_cmpfloat (st->x, ==, 457300);
          g_assert_cmpfloat (st->y, ==, 1402400);
        }
    }
}

/* ---- retention -------------------------------------------------------- */

static void
test_retention (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GArray) series = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 hour0 = (now - 10 * 86400) - (now - 10 * 86400) % 3600;

  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  /* Ten days ago: 3 readings in one hour, 2 in the next; and 2 today. */
  for (guint i = 0; i < 7; i++)
    {
      gint64 t = i < 3 ? hour0 + 600 * i : i < 5 ? hour0 + 3600 + 600 * (i - 3) : now - 100 * (i - 4);
      g_autofree char *json = g_strdup_printf ("{\"id\": \"rt-%u\", \"sensor_id\": \"RT-1\", "
                                               "\"time\": %" G_GINT64_FORMAT ", \"value\": %u}",
                                               i, t, i + 1);

      ingest_ok (live, NULL, json);
    }
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_cmpint (count_readings (f->companion, "RT-1"), ==, 7);

  g_assert_true (dothi_live_apply_retention (f->path, 7, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_readings (f->companion, "RT-1"), ==, 2);
  g_assert_cmpint (query_int (f->companion, "SELECT count(*) FROM hourly WHERE sensor_id = ?1", "RT-1"), ==, 2);
  g_assert_cmpint (query_int (f->companion, "SELECT n FROM hourly WHERE sensor_id = ?1 ORDER BY hour", "RT-1"),
                   ==, 3);
  g_assert_cmpint (query_int (f->companion, "SELECT max FROM hourly WHERE sensor_id = ?1 ORDER BY hour", "RT-1"),
                   ==, 3);

  series = dothi_live_readings (f->path, "RT-1", 0, G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (series->len, ==, 8);
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 0), (double) hour0, 1e-9);
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 1), 2.0, 1e-9);   /* mean of 1, 2, 3 */
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 2), (double) hour0 + 3600, 1e-9);
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 3), 4.5, 1e-9);   /* mean of 4, 5 */
  g_assert_cmpfloat_with_epsilon (g_array_index (series, double, 5), 7.0, 1e-9);

  /* Again: nothing left to move, the aggregates unchanged. */
  g_assert_true (dothi_live_apply_retention (f->path, 7, &error));
  g_assert_cmpint (query_int (f->companion, "SELECT sum(n) FROM hourly WHERE sensor_id = ?1", "RT-1"), ==, 5);

  /* A kind's own "raw_days", applied by the engine by itself when it
   * starts (then hourly): a flow meter keeps 2 days of raw readings, a
   * sensor of no kind the default 90. */
  {
    const char *bad[] = {
      "{\"kind\": \"luu-luong\", \"raw_days\": 0}",
      "{\"kind\": \"luu-luong\", \"raw_days\": 1.5}",
      "{\"kind\": \"luu-luong\", \"raw_days\": 91}",
      "{\"kind\": \"luu-luong\", \"raw_days\": \"2\"}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_assert_false (dothi_live_kind_define (f->project, bad[i], &error));
        g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
        g_assert_nonnull (strstr (error->message, "raw_days"));
        g_clear_error (&error);
      }
  }
  g_assert_true (dothi_live_kind_define (f->project, "{\"kind\": \"luu-luong\", \"unit\": \"m3/h\", "
                                         "\"raw_days\": 2}", &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 4; i++)
    {
      /* RT-2 (a flow meter) and RT-3 (no kind): three days ago and now. */
      gint64 t = i % 2 == 0 ? now - 3 * 86400 : now - 10;
      g_autofree char *json = g_strdup_printf ("{\"id\": \"k-%u\", \"sensor_id\": \"RT-%u\", %s"
                                               "\"time\": %" G_GINT64_FORMAT ", \"value\": %u}",
                                               i, 2 + i / 2,
                                               i / 2 == 0 ? "\"kind\": \"luu-luong\", \"unit\": \"m3/h\", " : "",
                                               t, i + 1);

      ingest_ok (live, NULL, json);
    }
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_cmpint (count_readings (f->companion, "RT-2"), ==, 2);
  g_assert_cmpint (count_readings (f->companion, "RT-3"), ==, 2);
  g_clear_object (&live);
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  /* The flush waits behind the retention the writer ran first. */
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_readings (f->companion, "RT-2"), ==, 1);
  g_assert_cmpint (query_int (f->companion, "SELECT n FROM hourly WHERE sensor_id = ?1", "RT-2"), ==, 1);
  g_assert_cmpint (count_readings (f->companion, "RT-3"), ==, 2);
  g_assert_cmpint (query_int (f->companion, "SELECT count (*) FROM hourly WHERE sensor_id = ?1", "RT-3"), ==, 0);
  g_assert_cmpint (count_readings (f->companion, "RT-1"), ==, 2);
}

/* ---- MQTT ------------------------------------------------------------- */

static void
test_mqtt_stream (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GHashTable) reasons = NULL;
  g_autofree char *naive = iso_time (-20, NULL);
  g_autofree char *naive_json = NULL, *wrong = NULL, *lat200 = NULL, *sta = NULL;
  g_autofree char *big = NULL;
  gsize big_length = 10 * 1024 * 1024;
  Broker *broker;
  Publisher *pub;
  StatsWait sw;
  DothiLiveStats before, after;
  const guint n = 20000;
  gint64 start;
  double seconds;

  broker = broker_start (f->dir, FALSE);
  define_mqtt_source (f, "stream", broker->port, "dothi-stream");
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_live_start (live, "stream", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (dothi_live_start (live, "stream", NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  g_clear_error (&error);

  pub = publisher_new (broker->port, "test-pub-stream");
  wait_subscribed (f, pub, "dothi/stream/probe", "probe");
  g_assert_cmpint (dothi_live_get_state (live, "stream"), ==, DOTHI_LIVE_CONNECTED);

  /* A stream of readings, every tenth one sent twice. */
  dothi_live_get_stats (live, &before);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%u", i);
      g_autofree char *sensor = g_strdup_printf ("S-%02u", i % 50);
      g_autofree char *json = reading_json (id, sensor, -3600 + (gint64) i / 10, 2.0 + (i % 7) * 0.1);

      publish_text (pub, "dothi/stream/readings", json);
      if (i % 10 == 0)
        publish_text (pub, "dothi/stream/readings", json);
    }
  sw = (StatsWait) { live, before.stored + n, 0 };
  g_assert_true (wait_until (stats_reached, &sw, 120000));
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_true (wait_until (pub_all_acked, pub, 20000));
  g_assert_true (dothi_live_flush (live, &error));
  dothi_live_get_stats (live, &after);
  g_assert_cmpint (after.stored - before.stored, ==, n);
  g_assert_cmpint (after.duplicates - before.duplicates, ==, n / 10);
  g_assert_cmpint (query_int (f->companion, "SELECT count(*) FROM readings WHERE msg_id LIKE 's-%'", NULL), ==, n);
  g_test_message ("MQTT QoS 1 loopback: %u readings (+%u duplicates) stored in %.2f s: %.0f messages/s, "
                  "%" G_GINT64_FORMAT " batches, last %.1f ms",
                  n, n / 10, seconds, (n + n / 10) / seconds, after.batches - before.batches,
                  after.last_batch_ms);

  /* Malformed messages through the broker: counted, skipped. */
  naive_json = g_strdup_printf ("{\"id\": \"naive\", \"sensor_id\": \"N-1\", \"time\": \"%s\", \"value\": 2}", naive);
  wrong = g_strdup_printf ("{\"sensor_id\": \"N-1\", \"time\": \"%s\", \"value\": [2]}", naive);
  lat200 = g_strdup_printf ("{\"sensor_id\": \"N-1\", \"time\": \"%s\", \"value\": 2, "
                            "\"position\": {\"lat\": 200, \"lon\": 108}}", naive);
  big = g_malloc (big_length);
  memset (big, 'x', big_length);
  publish_text (pub, "dothi/stream/readings", "{\"sensor_id\": ");
  publish_text (pub, "dothi/stream/readings", wrong);
  publish_text (pub, "dothi/stream/readings", lat200);
  publish (pub, "dothi/stream/readings", big, big_length);
  publish_text (pub, "dothi/stream/readings", naive_json);
  /* A SensorThings topic. */
  sta = g_strdup_printf ("{\"@iot.id\": 77, \"phenomenonTime\": \"%s\", \"result\": 2.35}", naive);
  publish_text (pub, "v1.1/Datastreams(5)/Observations", sta);
  sw = (StatsWait) { live, after.stored + 2, after.malformed + 4 };
  g_assert_true (wait_until (stats_reached, &sw, 30000));
  g_assert_true (dothi_live_flush (live, &error));
  reasons = dothi_live_dup_rejections (live);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "not JSON")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "wrong type")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "position not valid")), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (reasons, "message over 1 MB")), ==, 1);
  {
    g_autoptr(GTimeZone) ict = g_time_zone_new_identifier ("+07:00");
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601 (naive, ict);

    g_assert_cmpint (query_int (f->companion, "SELECT time FROM readings WHERE msg_id = ?1", "naive"),
                     ==, g_date_time_to_unix (t));
  }
  g_assert_cmpint (query_int (f->companion, "SELECT count(*) FROM readings WHERE msg_id = ?1",
                              "Datastreams(5)/Observations(77)"), ==, 1);
  g_assert_cmpint (dothi_live_get_state (live, "stream"), ==, DOTHI_LIVE_CONNECTED);

  dothi_live_stop (live);
  g_assert_cmpint (dothi_live_get_state (live, "stream"), ==, DOTHI_LIVE_DISCONNECTED);
  publisher_free (pub);
  broker_free (broker);
}

/* Publishes @per_tick readings every 10 ms until @n are out, and runs
 * @at_ms[i] actions on the way. */
typedef struct {
  Publisher  *pub;
  const char *topic;
  const char *prefix;
  guint       n;
  guint       per_tick;
  guint       next;
  gint64      start;
  gboolean    done;
} Stream;

static gboolean
stream_tick_cb (gpointer data)
{
  Stream *s = data;

  for (guint k = 0; k < s->per_tick && s->next < s->n; k++, s->next++)
    {
      g_autofree char *id = g_strdup_printf ("%s-%u", s->prefix, s->next);
      g_autofree char *json = reading_json (id, s->prefix, -3600 + (gint64) s->next / 5, 3.0);

      publish_text (s->pub, s->topic, json);
    }
  if (s->next >= s->n)
    {
      s->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
stream_done (gpointer data)
{
  return ((Stream *) data)->done;
}

typedef struct {
  Stream *stream;
  guint   at;
} StreamAt;

static gboolean
stream_reached (gpointer data)
{
  StreamAt *a = data;

  return a->stream->next >= a->at;
}

typedef struct {
  DothiLive  *live;
  const char *source;
  DothiLiveState state;
} StateWait;

static gboolean
state_is (gpointer data)
{
  StateWait *w = data;

  return dothi_live_get_state (w->live, w->source) == w->state;
}

static void
state_changed_cb (DothiLive *live, const char *source, int state, const char *message, GPtrArray *log)
{
  g_ptr_array_add (log, g_strdup_printf ("%s %d %s", source, state, message ? message : ""));
}

static void
test_mqtt_broker_restart (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  Broker *broker;
  Publisher *pub;
  Stream stream = { 0 };
  StreamAt at;
  StateWait sw;
  CountWait cw;
  DothiLiveStats stats;
  gint64 down_start;
  gboolean saw_retrying = FALSE;

  broker = broker_start (f->dir, TRUE);
  define_mqtt_source (f, "restart", broker->port, "dothi-restart");
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_signal_connect (live, "state-changed", G_CALLBACK (state_changed_cb), log);
  g_assert_true (dothi_live_start (live, "restart", NULL, &error));
  pub = publisher_new (broker->port, "test-pub-restart");
  wait_subscribed (f, pub, "dothi/restart/probe", "probe");

  /* 3 000 readings at 500/s; the broker goes down after 800 of them
   * and comes back 1.5 s later, the publisher queueing meanwhile. */
  stream = (Stream) { pub, "dothi/restart/readings", "R", 3000, 5, 0, 0, FALSE };
  g_timeout_add (10, stream_tick_cb, &stream);
  at = (StreamAt) { &stream, 800 };
  g_assert_true (wait_until (stream_reached, &at, 30000));
  broker_stop (broker);
  down_start = g_get_monotonic_time ();
  sw = (StateWait) { live, "restart", DOTHI_LIVE_RETRYING };
  g_assert_true (wait_until (state_is, &sw, 10000));
  run_for (1500);
  broker_run (broker);
  g_test_message ("broker down for %.1f s with %u readings published meanwhile",
                  (g_get_monotonic_time () - down_start) / 1e6, stream.next - at.at);
  g_assert_true (wait_until (stream_done, &stream, 60000));
  sw.state = DOTHI_LIVE_CONNECTED;
  g_assert_true (wait_until (state_is, &sw, 70000));

  cw = (CountWait) { f->companion, "R", stream.n };
  if (!wait_until (count_reached, &cw, 30000))
    {
      g_test_message ("stored %" G_GINT64_FORMAT " of %u; acked %d of %d", count_readings (f->companion, "R"),
                      stream.n, g_atomic_int_get (&pub->acked), g_atomic_int_get (&pub->sent));
      for (guint i = 0; i < stream.n; i++)
        {
          g_autofree char *id = g_strdup_printf ("R-%u", i);
          if (query_int (f->companion, "SELECT count(*) FROM readings WHERE msg_id = ?1", id) == 0)
            g_test_message ("missing %s", id);
        }
      g_assert_not_reached ();
    }
  g_assert_true (wait_until (pub_all_acked, pub, 30000));
  /* Anything resent after the restart lands by now; it must not count twice. */
  run_for (500);
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_cmpint (count_readings (f->companion, "R"), ==, stream.n);
  g_assert_cmpint (query_int (f->companion, "SELECT count(DISTINCT msg_id) FROM readings WHERE sensor_id = ?1", "R"),
                   ==, stream.n);
  dothi_live_get_stats (live, &stats);
  g_test_message ("after the restart: %u stored exactly once, %" G_GINT64_FORMAT " redelivered duplicates",
                  stream.n, stats.duplicates);
  for (guint i = 0; i < log->len; i++)
    if (strstr (g_ptr_array_index (log, i), "restart 3 ") != NULL)
      saw_retrying = TRUE;
  g_assert_true (saw_retrying);
  g_signal_handlers_disconnect_by_data (live, log);

  dothi_live_stop (live);
  publisher_free (pub);
  broker_free (broker);
}

/* A broker that is not there yet when the source starts: retried. */
static void
test_mqtt_late_broker (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  Broker *broker;
  Publisher *pub;
  StateWait sw;

  broker = broker_start (f->dir, TRUE);
  broker_stop (broker);
  define_mqtt_source (f, "late", broker->port, "dothi-late");
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_live_start (live, "late", NULL, &error));
  g_assert_no_error (error);
  sw = (StateWait) { live, "late", DOTHI_LIVE_RETRYING };
  g_assert_true (wait_until (state_is, &sw, 10000));
  run_for (500);
  broker_run (broker);
  sw.state = DOTHI_LIVE_CONNECTED;
  g_assert_true (wait_until (state_is, &sw, 20000));
  pub = publisher_new (broker->port, "test-pub-late");
  wait_subscribed (f, pub, "dothi/late/probe", "probe");

  /* Stopping a source that has been retrying for a while (its next
   * attempt seconds away) does not wait for that attempt, and leaves the
   * other sources running. */
  {
    g_autofree char *json = g_strdup_printf ("{\"name\": \"dead\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                                             "\"port\": %d, \"topics\": [\"x/#\"]}", dothi_test_free_port ());
    gint64 start;

    g_assert_true (dothi_live_source_define (f->project, json, &error));
    g_assert_true (dothi_live_start (live, "dead", NULL, &error));
    g_assert_no_error (error);
    run_for (3500);
    g_assert_cmpint (dothi_live_get_state (live, "dead"), ==, DOTHI_LIVE_RETRYING);
    start = g_get_monotonic_time ();
    g_assert_true (dothi_live_stop_source (live, "dead"));
    g_test_message ("stopped a retrying source in %.0f ms", (g_get_monotonic_time () - start) / 1000.0);
    g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
    g_assert_cmpint (dothi_live_get_state (live, "dead"), ==, DOTHI_LIVE_DISCONNECTED);
    g_assert_false (dothi_live_stop_source (live, "dead"));
    g_assert_cmpint (dothi_live_get_state (live, "late"), ==, DOTHI_LIVE_CONNECTED);
    wait_subscribed (f, pub, "dothi/late/probe2", "probe2");
    /* And it starts again. */
    g_assert_true (dothi_live_start (live, "dead", NULL, &error));
    g_assert_no_error (error);
    start = g_get_monotonic_time ();
    dothi_live_stop (live);
    g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
    g_assert_cmpint (dothi_live_get_state (live, "late"), ==, DOTHI_LIVE_DISCONNECTED);
  }
  publisher_free (pub);
  broker_free (broker);
}

/* ---- TLS and a password ---------------------------------------------- */

static gboolean
run_tool (const char *dir, const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status;

  g_assert_true (g_spawn_sync (dir, (char **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("%s failed: %s", argv[0], err);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  Fixture    *f;
  const char *dir;
  int         port;
  guint       n;
} TlsProbe;

/* Publishes one reading over TLS with mosquitto_pub (as the city's
 * gateway would) and says whether any reading of TLS-1 is stored. */
static gboolean
tls_probe_stored (gpointer data)
{
  TlsProbe *p = data;
  g_autofree char *port = g_strdup_printf ("%d", p->port);
  g_autofree char *json = g_strdup_printf ("{\"id\": \"tls-%u\", \"sensor_id\": \"TLS-1\", "
                                           "\"time\": %" G_GINT64_FORMAT ", \"value\": 3.1}",
                                           p->n++, g_get_real_time () / G_USEC_PER_SEC);
  const char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "--cafile", "ca.crt",
                         "-u", "ops", "-P", "s3cret", "-q", "1", "-t", "dothi/tls/1", "-m", json, NULL };

  if (count_readings (p->f->companion, "TLS-1") > 0)
    return TRUE;
  g_assert_true (run_tool (p->dir, argv));
  run_for (300);
  return count_readings (p->f->companion, "TLS-1") > 0;
}

static void
define_tls_source (Fixture *f, const char *name, int port, const char *ca_file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ca = ca_file != NULL ? g_strdup_printf ("\"ca_file\": \"%s\", ", ca_file) : g_strdup ("");
  g_autofree char *json = g_strdup_printf ("{\"name\": \"%s\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                                           "\"port\": %d, \"tls\": true, %s\"username\": \"ops\", "
                                           "\"topics\": [\"dothi/tls/#\"], \"client_id\": \"dothi-%s\"}",
                                           name, port, ca, name);

  g_assert_true (dothi_live_source_define (f->project, json, &error));
  g_assert_no_error (error);
}

/* A broker that speaks TLS only, in @dir, with a certificate of a
 * private CA (made here with openssl: @dir/ca.crt) and a password file
 * (user "ops", password "s3cret"): anonymous clients are refused. FALSE
 * (the test skipped) without openssl. */
static gboolean
tls_broker_start (const char *dir, Broker *broker)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *san = g_build_filename (dir, "san.ext", NULL);
  const char *make_ca[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
                            "-out", "ca.crt", "-days", "2", "-subj", "/CN=Dothi test CA", NULL };
  const char *make_csr[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key",
                             "-out", "server.csr", "-subj", "/CN=127.0.0.1", NULL };
  const char *sign[] = { "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt",
                         "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
                         "-days", "2", "-extfile", "san.ext", NULL };
  const char *passwd[] = { "mosquitto_passwd", "-c", "-b", "pw", "ops", "s3cret", NULL };

  if (!g_file_test ("/usr/bin/openssl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no openssl (apt-get install openssl)");
      return FALSE;
    }
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (san, "subjectAltName=IP:127.0.0.1\n", -1, &error));
  g_assert_true (run_tool (dir, make_ca));
  g_assert_true (run_tool (dir, make_csr));
  g_assert_true (run_tool (dir, sign));
  g_assert_true (run_tool (dir, passwd));

  broker->dir = g_strdup (dir);
  broker->port = dothi_test_free_port ();
  broker->conf = g_build_filename (dir, "mosquitto.conf", NULL);
  text = g_strdup_printf ("user %s\n"
                          "listener %d 127.0.0.1\n"
                          "cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n"
                          "allow_anonymous false\n"
                          "password_file %s/pw\n"
                          "persistence false\n"
                          "log_dest none\n", g_get_user_name (), broker->port, dir, dir, dir, dir);
  g_assert_true (g_file_set_contents (broker->conf, text, -1, &error));
  broker_run (broker);
  return TRUE;
}

static void
tls_broker_stop (Broker *broker)
{
  broker_stop (broker);
  g_clear_pointer (&broker->dir, g_free);
  g_clear_pointer (&broker->conf, g_free);
}

/* Dothi connects to the TLS broker with the source's "ca_file" and the
 * password given at start, never anonymous. */
static void
test_mqtt_tls (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autofree char *dir = g_build_filename (f->dir, "tls", NULL);
  g_autofree char *ca_file = g_build_filename (dir, "ca.crt", NULL);
  g_autofree char *missing = g_build_filename (dir, "khong-co.pem", NULL);
  Broker broker = { 0 };
  TlsProbe probe = { f, dir, 0, 0 };
  StateWait sw;
  gboolean ok;

  if (!tls_broker_start (dir, &broker))
    return;
  probe.port = broker.port;

  /* A relative CA path is refused when defined; a missing one at start,
   * naming the file, with nothing left running. */
  {
    g_autofree char *json = g_strdup_printf ("{\"name\": \"rel\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                                             "\"port\": %d, \"tls\": true, \"ca_file\": \"ca.crt\", "
                                             "\"topics\": [\"x\"]}", broker.port);

    g_assert_false (dothi_live_source_define (f->project, json, &error));
    g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "ca_file"));
    g_clear_error (&error);
  }
  define_tls_source (f, "tls", broker.port, ca_file);
  define_tls_source (f, "tls-missing-ca", broker.port, missing);
  define_tls_source (f, "tls-system-ca", broker.port, NULL);
  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_false (dothi_live_start (live, "tls-missing-ca", "s3cret", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_assert_cmpint (dothi_live_get_state (live, "tls-missing-ca"), ==, DOTHI_LIVE_DISCONNECTED);

  /* The right CA and password: readings flow. */
  g_assert_true (dothi_live_start (live, "tls", "s3cret", &error));
  g_assert_no_error (error);
  sw = (StateWait) { live, "tls", DOTHI_LIVE_CONNECTED };
  g_assert_true (wait_until (state_is, &sw, 20000));
  g_assert_true (wait_until (tls_probe_stored, &probe, 20000));
  g_assert_true (dothi_live_stop_source (live, "tls"));

  /* A wrong password, or the system's CAs (which do not know the city's
   * private one): refused, retried, never connected. */
  g_assert_true (dothi_live_start (live, "tls", "sai-mat-khau", &error));
  g_assert_no_error (error);
  ok = dothi_live_start (live, "tls-system-ca", "s3cret", &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  run_for (3000);
  g_assert_cmpint (dothi_live_get_state (live, "tls"), ==, DOTHI_LIVE_RETRYING);
  g_assert_cmpint (dothi_live_get_state (live, "tls-system-ca"), ==, DOTHI_LIVE_RETRYING);
  dothi_live_stop (live);
  tls_broker_stop (&broker);
}

/* ---- the desktop keyring --------------------------------------------- */

/* The engine's keyring schema (dothi-live.c): the password of a source
 * as the operations room stores it. */
static const SecretSchema keyring_schema = {
  "vn.dothi.Dothi.LiveSource", SECRET_SCHEMA_NONE,
  {
    { "dothi-source", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/* test-live --keyring-child PROJECT TLS_DIR PORT: on the private session
 * bus of the parent (its environment), stores the password of source
 * "tls-kr" in the keyring, starts the source with no password given and
 * checks a reading gets through; then, the entry gone, that the broker
 * refuses the source. Exit status 0 when all held. */
static int
run_keyring_child (const char *path, const char *dir, const char *port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  Fixture f = { (char *) dir, (char *) path, g_strconcat (path, "-live", NULL), NULL };
  TlsProbe probe = { &f, dir, atoi (port), 0 };
  StateWait sw;

  if (!secret_password_store_sync (&keyring_schema, SECRET_COLLECTION_DEFAULT, "Dothi: tls-kr",
                                   "s3cret", NULL, &error, "dothi-source", "tls-kr", NULL))
    {
      g_printerr ("keyring child: store: %s\n", error->message);
      return 1;
    }
  live = dothi_live_new (path, &error);
  if (live == NULL || !dothi_live_start (live, "tls-kr", NULL, &error))
    {
      g_printerr ("keyring child: %s\n", error->message);
      return 1;
    }
  sw = (StateWait) { live, "tls-kr", DOTHI_LIVE_CONNECTED };
  if (!wait_until (state_is, &sw, 20000) || !wait_until (tls_probe_stored, &probe, 20000))
    {
      g_printerr ("keyring child: the keyring's password did not get through\n");
      return 1;
    }
  dothi_live_stop (live);

  /* Without the entry the source goes without a password: refused. */
  if (!secret_password_clear_sync (&keyring_schema, NULL, &error, "dothi-source", "tls-kr", NULL))
    {
      g_printerr ("keyring child: clear: %s\n", error->message);
      return 1;
    }
  if (!dothi_live_start (live, "tls-kr", NULL, &error))
    {
      g_printerr ("keyring child: %s\n", error->message);
      return 1;
    }
  sw.state = DOTHI_LIVE_RETRYING;
  if (!wait_until (state_is, &sw, 20000))
    {
      g_printerr ("keyring child: connected without the password\n");
      return 1;
    }
  dothi_live_stop (live);
  g_free (f.companion);
  return 0;
}

static gboolean
bus_has_secrets (gpointer data)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (data, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", "org.freedesktop.secrets"),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, 1000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* The password of a source kept in the desktop keyring, never in the
 * project: a private session bus (dbus-daemon) and gnome-keyring-daemon
 * with a login keyring unlocked from stdin, both started here on files
 * of the test; the engine, in a child process on that bus, finds the
 * password by itself. */
static void
test_keyring (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tls_dir = g_build_filename (f->dir, "tls", NULL);
  g_autofree char *dir = g_build_filename (f->dir, "keyring", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  g_autofree char *home = g_build_filename (dir, "data", NULL);
  g_autofree char *socket = g_build_filename (dir, "bus", NULL);
  g_autofree char *address = g_strconcat ("unix:path=", socket, NULL);
  g_autofree char *listen = g_strconcat ("--address=", address, NULL);
  g_autofree char *ca_file = g_build_filename (tls_dir, "ca.crt", NULL);
  g_autofree char *json = NULL;
  g_autofree char *port = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  g_autofree char *child_err = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_auto(GStrv) env = g_get_environ ();
  const char *bus_argv[] = { "dbus-daemon", "--session", "--nofork", "--nopidfile", listen, NULL };
  const char *keyring_argv[] = { "gnome-keyring-daemon", "--foreground", "--unlock",
                                 "--components=secrets", NULL };
  Broker broker = { 0 };
  GPid bus_pid = 0, keyring_pid = 0;
  int keyring_in = -1, status;

  if (g_find_program_in_path ("dbus-daemon") == NULL
      || g_find_program_in_path ("gnome-keyring-daemon") == NULL)
    {
      g_test_skip ("no dbus-daemon or gnome-keyring-daemon (apt-get install dbus-daemon gnome-keyring)");
      return;
    }
  if (!tls_broker_start (tls_dir, &broker))
    return;
  port = g_strdup_printf ("%d", broker.port);
  json = g_strdup_printf ("{\"name\": \"tls-kr\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                          "\"port\": %d, \"tls\": true, \"ca_file\": \"%s\", \"username\": \"ops\", "
                          "\"topics\": [\"dothi/tls/#\"], \"client_id\": \"dothi-tls-kr\"}",
                          broker.port, ca_file);
  g_assert_true (dothi_live_source_define (f->project, json, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_mkdir_with_parents (run, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  env = g_environ_setenv (env, "DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  env = g_environ_setenv (env, "XDG_RUNTIME_DIR", run, TRUE);
  env = g_environ_setenv (env, "XDG_DATA_HOME", home, TRUE);
  g_assert_true (g_spawn_async (dir, (char **) bus_argv, env,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                                | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                die_with_parent, NULL, &bus_pid, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 100 && !g_file_test (socket, G_FILE_TEST_EXISTS); i++)
    run_for (50);
  bus = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_async_with_pipes (dir, (char **) keyring_argv, env,
                                           G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                                           | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                           die_with_parent, NULL, &keyring_pid,
                                           &keyring_in, NULL, NULL, &error));
  g_assert_no_error (error);
  /* The login keyring's own password, then end of input. */
  g_assert_cmpint (write (keyring_in, "test", 4), ==, 4);
  close (keyring_in);
  g_assert_true (wait_until (bus_has_secrets, bus, 20000));

  {
    const char *argv[] = { self, "--keyring-child", f->path, tls_dir, port, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDOUT_TO_DEV_NULL,
                                 die_with_parent, NULL, NULL, &child_err, &status, &error));
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_test_message ("%s", child_err);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  /* Nothing of the password in the project file. */
  g_assert_cmpint (query_int (f->path, "SELECT count (*) FROM dothi_live_sources "
                              "WHERE instr (definition, ?1) > 0", "s3cret"), ==, 0);

  g_clear_object (&bus);
  kill (keyring_pid, SIGTERM);
  waitpid (keyring_pid, &status, 0);
  kill (bus_pid, SIGTERM);
  waitpid (bus_pid, &status, 0);
  tls_broker_stop (&broker);
}

/* ---- incidents -------------------------------------------------------- */

static char *
incident_json (const char *id, const char *category)
{
  g_autofree char *time = iso_time (-300, "+07:00");

  return g_strdup_printf ("{\"type\": \"incident\", \"id\": \"%s\", \"time\": \"%s\", "
                          "\"category\": \"%s\", \"description\": \"Nước phun lên mặt đường\", "
                          "\"position\": {\"lat\": 12.668, \"lon\": 108.038}, "
                          "\"photo_url\": \"https://example.invalid/anh.jpg\", \"reporter\": \"Nguyễn Văn A\"}",
                          id, time, category);
}

static void
test_incidents (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GPtrArray) incidents = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(DothiProject) reopened = NULL;
  g_autofree char *a = incident_json ("PA-2026-0042", "vỡ ống");
  g_autofree char *b = incident_json ("PA-2026-0043", "cây đổ");
  g_autofree char *c = incident_json ("PA-2026-0044", "ngập");
  g_autofree char *r = reading_json ("inc-r", "AL-20", -10, 2.0);
  g_autofree char *now = iso_time (-60, "+07:00");
  g_autofree char *no_pos = g_strdup_printf ("{\"type\": \"incident\", \"id\": \"PA-1\", \"time\": \"%s\", "
                                             "\"category\": \"ngập\"}", now);
  guint n_actions_before;
  DothiLiveStats stats;
  DothiIncident *first = NULL;

  actions = dothi_audit_list_actions (f->project, 0, 100, &error);
  g_assert_no_error (error);
  n_actions_before = actions->len;
  g_clear_pointer (&actions, g_ptr_array_unref);

  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  ingest_ok (live, NULL, a);
  ingest_ok (live, NULL, b);
  ingest_ok (live, NULL, r);
  ingest_ok (live, NULL, a);    /* the same report twice in one batch */
  ingest_bad (live, NULL, no_pos, strlen (no_pos), "missing field");
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_no_error (error);
  ingest_ok (live, NULL, c);
  ingest_ok (live, NULL, b);    /* and again in a later one */
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_no_error (error);

  dothi_live_get_stats (live, &stats);
  g_assert_cmpint (stats.stored, ==, 4);
  g_assert_cmpint (stats.duplicates, ==, 2);
  g_assert_cmpint (stats.malformed, ==, 1);

  incidents = dothi_incident_list (f->path, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (incidents->len, ==, 3);
  for (guint i = 0; i < incidents->len; i++)
    {
      DothiIncident *inc = g_ptr_array_index (incidents, i);

      if (g_strcmp0 (inc->report_id, "PA-2026-0042") == 0)
        first = inc;
    }
  g_assert_nonnull (first);
  g_assert_cmpstr (first->category, ==, "vỡ ống");
  g_assert_cmpstr (first->reporter, ==, "Nguyễn Văn A");
  g_assert_cmpint (first->status, ==, DOTHI_INCIDENT_RECEIVED);
  g_assert_nonnull (g_strrstr (first->received_at, "+07:00"));
  g_assert_cmpfloat (first->y, >, 1.39e6);
  g_assert_cmpfloat (first->y, <, 1.41e6);

  /* Two batches, two audited actions, each one step of the history. */
  reopened = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  actions = dothi_audit_list_actions (reopened, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (actions->len, >=, n_actions_before + 2);
  {
    DothiActionInfo *newest = g_ptr_array_index (actions, 0);
    DothiActionInfo *older = g_ptr_array_index (actions, 1);

    g_assert_cmpstr (newest->label, ==, "Incident report PA-2026-0044 received");
    g_assert_cmpuint (newest->n_features, ==, 1);
    g_assert_cmpstr (older->label, ==, "2 incident reports received");
    g_assert_cmpuint (older->n_features, ==, 2);
    g_assert_cmpstr (older->layers[0], ==, "incidents");
  }
}

/* ---- HTTP (SensorThings) ---------------------------------------------- */

typedef struct {
  guint    requests;
  gboolean fail;
  guint    n_obs;
  char    *time;
} StaServer;

static void
sta_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
             GHashTable *query, gpointer data)
{
  StaServer *s = data;
  g_autoptr(GString) body = g_string_new ("{\"@iot.count\": 0, \"value\": [");

  s->requests++;
  if (s->fail || strstr (path, "Datastreams(5)/Observations") == NULL)
    {
      soup_server_message_set_status (msg, s->fail ? 500 : 404, NULL);
      return;
    }
  for (guint i = 0; i < s->n_obs; i++)
    g_string_append_printf (body, "%s{\"@iot.id\": %u, \"phenomenonTime\": \"%s\", \"result\": %u.5, "
                            "\"resultTime\": null}", i ? ", " : "", 100 + i, s->time, i);
  g_string_append (body, "]}");
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body->str, body->len);
}

typedef struct {
  StaServer  *server;
  guint       requests;
  const char *companion;
  gint64      n;
} HttpWait;

static gboolean
http_reached (gpointer data)
{
  HttpWait *w = data;

  return w->server->requests >= w->requests
         && count_readings (w->companion, "Datastreams(5)") >= w->n;
}

static void
test_http (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoslist(GUri) uris = NULL;
  g_autofree char *json = NULL;
  StaServer sta = { 0, FALSE, 3, NULL };
  HttpWait hw;
  StateWait sw;
  DothiLiveStats stats;

  sta.time = iso_time (-60, NULL);   /* no offset: ICT */
  soup_server_add_handler (server, NULL, sta_handler, &sta, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  json = g_strdup_printf ("{\"name\": \"sta\", \"kind\": \"http\", "
                          "\"url\": \"http://127.0.0.1:%d/v1.1/Datastreams(5)/Observations\", "
                          "\"interval\": 1, \"sensor_kind\": \"pressure\", \"unit\": \"bar\"}",
                          g_uri_get_port (uris->data));
  g_assert_true (dothi_live_source_define (f->project, json, &error));
  g_assert_no_error (error);

  live = dothi_live_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_live_start (live, "sta", NULL, &error));
  g_assert_no_error (error);

  /* Polled three times: the same three observations, stored once. */
  hw = (HttpWait) { &sta, 3, f->companion, 3 };
  g_assert_true (wait_until (http_reached, &hw, 20000));
  g_assert_true (dothi_live_flush (live, &error));
  g_assert_cmpint (count_readings (f->companion, "Datastreams(5)"), ==, 3);
  g_assert_cmpint (query_int (f->companion, "SELECT count(*) FROM readings WHERE msg_id = ?1",
                              "Datastreams(5)/Observations(101)"), ==, 1);
  dothi_live_get_stats (live, &stats);
  g_assert_cmpint (stats.duplicates, >=, 3);
  g_assert_cmpint (dothi_live_get_state (live, "sta"), ==, DOTHI_LIVE_CONNECTED);
  g_assert_cmpint (query_int (f->path, "SELECT count(*) FROM dothi_live_sources", NULL), ==, 1);
  {
    g_autoptr(GPtrArray) sensors = dothi_live_sensors (f->path, 0, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (sensors->len, ==, 1);
    g_assert_cmpstr (((DothiSensorState *) g_ptr_array_index (sensors, 0))->kind, ==, "pressure");
  }

  /* The server fails: retrying; then it is back with a fourth. */
  sta.fail = TRUE;
  sw = (StateWait) { live, "sta", DOTHI_LIVE_RETRYING };
  g_assert_true (wait_until (state_is, &sw, 10000));
  sta.fail = FALSE;
  sta.n_obs = 4;
  hw = (HttpWait) { &sta, sta.requests + 1, f->companion, 4 };
  g_assert_true (wait_until (http_reached, &hw, 20000));
  sw.state = DOTHI_LIVE_CONNECTED;
  g_assert_true (wait_until (state_is, &sw, 5000));

  dothi_live_stop (live);
  g_assert_cmpint (dothi_live_get_state (live, "sta"), ==, DOTHI_LIVE_DISCONNECTED);
  g_free (sta.time);
}

/* ---- Dothi killed mid-stream ------------------------------------------ */

static gboolean
child_quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* test-live --ingest-child PROJECT SOURCE: an engine in its own process,
 * until SIGTERM (or SIGKILL). */
static int
run_ingest_child (const char *path, const char *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  live = dothi_live_new (path, &error);
  if (live == NULL || !dothi_live_start (live, source, NULL, &error))
    {
      g_printerr ("ingest child: %s\n", error->message);
      return 1;
    }
  g_unix_signal_add (SIGTERM, child_quit_cb, loop);
  g_main_loop_run (loop);
  dothi_live_stop (live);
  return 0;
}

static GPid
spawn_child (Fixture *f, const char *source)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  const char *argv[] = { self, "--ingest-child", f->path, source, NULL };
  GPid pid;

  g_assert_no_error (error);
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                die_with_parent, NULL, &pid, &error));
  g_assert_no_error (error);
  return pid;
}

static void
end_child (GPid pid, int signal)
{
  int status;

  kill (pid, signal);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
}

static void
test_killed (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *check = NULL;
  Broker *broker;
  Publisher *pub;
  Stream stream;
  StreamAt at;
  GPid child;
  gint64 stored, last = -1, missing;
  guint stable = 0;
  const guint rate = 1000;   /* readings per second */

  broker = broker_start (f->dir, TRUE);
  define_mqtt_source (f, "kill", broker->port, "dothi-kill");
  child = spawn_child (f, "kill");
  pub = publisher_new (broker->port, "test-pub-kill");
  wait_subscribed (f, pub, "dothi/kill/probe", "probe");

  stream = (Stream) { pub, "dothi/kill/readings", "K", 5000, rate / 100, 0, 0, FALSE };
  g_timeout_add (10, stream_tick_cb, &stream);
  /* An incident in the stream: one edit of the project before the kill. */
  at = (StreamAt) { &stream, 1000 };
  g_assert_true (wait_until (stream_reached, &at, 30000));
  {
    g_autofree char *inc = incident_json ("PA-KILL-1", "ngập");
    publish_text (pub, "dothi/kill/incidents", inc);
  }
  at.at = 2000;
  g_assert_true (wait_until (stream_reached, &at, 30000));
  end_child (child, SIGKILL);
  child = spawn_child (f, "kill");
  g_assert_true (wait_until (stream_done, &stream, 60000));
  g_assert_true (wait_until (pub_all_acked, pub, 30000));

  /* Until nothing more arrives for a second. */
  while (stable < 10)
    {
      run_for (100);
      stored = count_readings (f->companion, "K");
      stable = stored == last ? stable + 1 : 0;
      last = stored;
      if (stored == stream.n)
        break;
    }
  end_child (child, SIGTERM);
  stored = count_readings (f->companion, "K");
  missing = stream.n - stored;
  g_test_message ("killed mid-stream at %u readings/s: %" G_GINT64_FORMAT " of %u missing (%.0f ms of stream)",
                  rate, missing, stream.n, missing * 1000.0 / rate);
  /* At most the batch in flight (≤ 50 ms) plus what waited for it:
   * within the quarter second the operations room allows. */
  g_assert_cmpint (missing, >=, 0);
  g_assert_cmpint (missing, <=, rate * 250 / 1000);
  g_assert_cmpint (query_int (f->companion, "SELECT count(DISTINCT msg_id) FROM readings WHERE sensor_id = ?1", "K"),
                   ==, stored);
  g_assert_cmpint (query_int (f->companion, "SELECT count(*) FROM (SELECT DISTINCT sensor_id, time, value "
                              "FROM readings WHERE sensor_id = ?1)", "K"), <=, stored);
  check = integrity (f->path);
  g_assert_cmpstr (check, ==, "ok");
  g_clear_pointer (&check, g_free);
  check = integrity (f->companion);
  g_assert_cmpstr (check, ==, "ok");
  g_assert_cmpint (query_int (f->path, "SELECT count(*) FROM incidents WHERE report_id = ?1", "PA-KILL-1"), ==, 1);

  publisher_free (pub);
  broker_free (broker);
}

int
main (int argc, char **argv)
{
  if (argc == 4 && g_str_equal (argv[1], "--ingest-child"))
    return run_ingest_child (argv[2], argv[3]);
  if (argc == 5 && g_str_equal (argv[1], "--keyring-child"))
    return run_keyring_child (argv[2], argv[3], argv[4]);

  dothi_test_init (&argc, &argv);
  mosquitto_lib_init ();

  g_test_add ("/live/define", Fixture, NULL, fixture_set_up, test_define, fixture_tear_down);
  g_test_add ("/live/ingest/readings", Fixture, NULL, fixture_set_up, test_ingest_readings, fixture_tear_down);
  g_test_add ("/live/ingest/malformed", Fixture, NULL, fixture_set_up, test_ingest_malformed, fixture_tear_down);
  g_test_add ("/live/alerts", Fixture, NULL, fixture_set_up, test_alerts, fixture_tear_down);
  g_test_add ("/live/stations", Fixture, NULL, fixture_set_up, test_stations, fixture_tear_down);
  g_test_add ("/live/retention", Fixture, NULL, fixture_set_up, test_retention, fixture_tear_down);
  g_test_add ("/live/incidents", Fixture, NULL, fixture_set_up, test_incidents, fixture_tear_down);
  g_test_add ("/live/http/sensorthings", Fixture, NULL, fixture_set_up, test_http, fixture_tear_down);
  g_test_add ("/live/mqtt/stream", Fixture, NULL, fixture_set_up, test_mqtt_stream, fixture_tear_down);
  g_test_add ("/live/mqtt/tls", Fixture, NULL, fixture_set_up, test_mqtt_tls, fixture_tear_down);
  g_test_add ("/live/mqtt/keyring", Fixture, NULL, fixture_set_up, test_keyring, fixture_tear_down);
  g_test_add ("/live/mqtt/late-broker", Fixture, NULL, fixture_set_up, test_mqtt_late_broker, fixture_tear_down);
  g_test_add ("/live/mqtt/broker-restart", Fixture, NULL, fixture_set_up, test_mqtt_broker_restart,
              fixture_tear_down);
  g_test_add ("/live/mqtt/killed", Fixture, NULL, fixture_set_up, test_killed, fixture_tear_down);

  return g_test_run ();
}
