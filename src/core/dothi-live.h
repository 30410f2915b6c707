/* dothi-live.h: live feeds for the operations room: sensor readings and
 * citizens' incident reports over MQTT (libmosquitto) and HTTP polling
 * (libsoup), validated, stored in batches of at most 50 ms, readings in
 * the companion database <project>.dothi-live, incidents in the project
 * with the audit trail (DESIGN.md §6 Live, §7).
 *
 * Message shapes (JSON; README documents them):
 *  reading:  { "id": "msg-123" (optional message id), "sensor_id": "AL-05",
 *              "time": "2026-11-23T09:15:00+07:00", "value": 2.35,
 *              "unit": "bar", "kind": "pressure" (optional),
 *              "position": { "lat": 12.68, "lon": 108.04 } or
 *                          { "x": 457900, "y": 1403000, "crs": "EPSG:9218" } (optional) }
 *  incident: { "type": "incident", "id": "PA-2026-0042", "time": "…",
 *              "category": "vỡ ống" | "cây đổ" | "ngập" | …, "description": "…",
 *              "position": { … as above, required },
 *              "photo_url": "https://…" (optional), "reporter": "…" (optional) }
 *  SensorThings Observation (topic v1.1/Datastreams(N)/Observations, or an
 *  HTTP Observations response's "value" array):
 *            { "@iot.id": 77, "phenomenonTime": "…", "result": 2.35 }
 *            → sensor_id "Datastreams(N)", the id from "@iot.id".
 * A payload may also hold an array of messages, a SensorThings collection
 * {"value": [ … ]} or a GeoJSON FeatureCollection (each Feature's
 * properties a message, its Point the position).
 * A time without an offset takes the source's "timezone" (default +07:00,
 * ICT) and a position without a CRS the source's "crs" (default WGS 84):
 * never a silent guess; a number as time is unix seconds. "lat"/"lon" and
 * "x"/"y" are both read in that CRS, longitude and easting first. A
 * position outside the project's extent (the union of its layers, grown
 * by 10 km; no check while the project has no layer), a time more than a
 * day in the future or older than the retention (90 days), a value that
 * is not a finite number, a unit other than the sensor kind's, a message
 * over 1 MB or not JSON: counted per reason (dothi_live_dup_rejections),
 * logged with g_debug and the "rejected" signal, skipped; never fatal.
 *
 * Duplicates: a reading is stored once per message id (or, without one,
 * per sensor_id and time to the second); an incident once per report id.
 * libmosquitto acknowledges a QoS 1 message before Dothi stores it, so a
 * crash loses at most what waits for the writer: the batch in flight
 * (≤ 50 ms of messages); redelivered ones are not doubled.
 *
 * The companion of "city.dothi" is "city.dothi-live" (any other name gets
 * ".dothi-live" appended): plain SQLite in WAL, tables readings, sensors,
 * hourly and meta; deletable, made again on first use. */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"

G_BEGIN_DECLS

/* A source, stored as JSON in the project (table dothi_live_sources):
 * { "name": "tram-ap-luc", "kind": "mqtt" | "http",
 *   "host": "127.0.0.1", "port": 1883, "tls": false, "username": "ops",
 *   "ca_file": "/etc/dothi/ca-thanh-pho.pem",   (optional: a private CA)
 *   "topics": ["dothi/readings/#", "v1.1/Datastreams(5)/Observations"],
 *   "qos": 1, "client_id": "dothi-<project uuid>",   (a persistent session)
 *   "url": "http://…/Observations", "interval": 10,   (http, seconds)
 *   "timezone": "+07:00", "crs": "EPSG:4326",
 *   "sensor_kind": "pressure", "unit": "bar",   (optional: for readings,
 *                          such as SensorThings ones, that name none)
 *   "stations": {"layer": "sensor_stations", "id_field": "ma_tram"} }
 *      (optional: a reading without a position takes the point of the
 *       station whose id is its sensor_id; checked against the project
 *       when defined, read when the source starts)
 * Defaults: port 1883 (8883 with TLS, checked against the system CAs or
 * "ca_file", which also serves https URLs; the host name is verified),
 * qos 1, client_id "dothi-<project uuid>-<name>", interval 60.
 * The password never goes in the project (a "password" member is refused):
 * the desktop keyring (libsecret, attribute "dothi-source" = name) or a
 * --password-file for the CLI. Definitions are written on the project's
 * connection in their own transaction, not as actions of the history. */
gboolean  dothi_live_source_define (DothiProject *project, const char *json, GError **error);
GStrv     dothi_live_source_list   (DothiProject *project, GError **error);
/* Removes source @name's definition (its keyring entry stays);
 * DOTHI_ERROR_NOT_FOUND when there is none. */
gboolean  dothi_live_source_remove (DothiProject *project, const char *name, GError **error);
char     *dothi_live_source_dup    (DothiProject *project, const char *name, GError **error);

/* Sensor kinds and their thresholds, in the project (dothi_live_kinds):
 * { "kind": "pressure", "title": "Áp lực nước", "unit": "bar", "low": 1.5, "high": 6.0,
 *   "expected_interval": 300,   (seconds; longer without a reading: stale)
 *   "raw_days": 90 }            (raw readings kept, 1–90; then hourly means) */
gboolean  dothi_live_kind_define   (DothiProject *project, const char *json, GError **error);

typedef struct {
  char   *kind;               /* "pressure" */
  char   *title;              /* "Áp lực nước"; NULL: the kind itself */
  char   *unit;               /* NULL: none */
  double  low, high;          /* NAN: none */
  gint64  expected_interval;  /* seconds; 0: never stale */
  int     raw_days;           /* raw readings kept; 0: the default, 90 */
} DothiSensorKind;

void       dothi_sensor_kind_free (DothiSensorKind *kind);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiSensorKind, dothi_sensor_kind_free)
/* The project's sensor kinds (DothiSensorKind*), by kind. */
GPtrArray *dothi_live_kind_list   (DothiProject *project, GError **error);
/* Defines or replaces @kind, checked as dothi_live_kind_define () checks
 * a file's (DOTHI_ERROR_INVALID_DATA naming what is wrong). */
gboolean   dothi_live_kind_save   (DothiProject *project, const DothiSensorKind *kind, GError **error);

typedef enum {
  DOTHI_LIVE_DISCONNECTED,
  DOTHI_LIVE_CONNECTING,
  DOTHI_LIVE_CONNECTED,
  DOTHI_LIVE_RETRYING,      /* lost; retried with back-off (1 s doubling to 60 s) */
} DothiLiveState;

typedef struct {
  gint64 received;          /* messages */
  gint64 stored;            /* readings and incidents written */
  gint64 duplicates;        /* message ids seen before */
  gint64 malformed;         /* every rejected message, whatever the reason */
  gint64 batches;
  double last_batch_ms;
} DothiLiveStats;

#define DOTHI_TYPE_LIVE (dothi_live_get_type ())
G_DECLARE_FINAL_TYPE (DothiLive, dothi_live, DOTHI, LIVE, GObject)

/* An ingest engine on the project at @path (its own connections: the
 * project for incidents, the companion <path>.dothi-live for readings,
 * created here when missing). One writer thread stores batches of at
 * most 50 ms or 5 000 rows: readings in one transaction of the
 * companion, the batch's new incidents as one edit action of the project
 * (labelled "Incident report … received"; waiting while another program
 * holds the project's lock). Signals, on the thread-default main context
 * of the caller of dothi_live_new (posted, never emitted on a worker):
 *  "state-changed" (const char *source, int state (a DothiLiveState), const char *message)
 *  "batch" (guint n_readings, guint n_incidents): a batch was stored
 *  "rejected" (const char *source, const char *reason): a malformed message
 *  "alert" (const char *sensor_id, double value, double threshold,
 *           const char *kind, gboolean high): the sensor's newest reading
 *           went from another level to below "low" or above "high" of its
 *           kind (once per crossing, not on every reading; a late reading
 *           changes nothing). The levels survive a restart.
 * Queued signals hold a reference on the engine: disconnect handlers
 * whose data goes away. */
DothiLive *dothi_live_new    (const char  *path, GError **error);
/* Starts @source (defined in the project; the definitions and kinds are
 * read again) with @password (NULL: none or the keyring's). Returns at
 * once; connecting and retrying run on the engine's threads: MQTT on a
 * libmosquitto loop thread with a persistent session (clean_session
 * false) retried 1 s doubling to 60 s; HTTP on a thread of its own with
 * a libsoup session polling every "interval" seconds, retried the same
 * way. A broker that is down is no error (state RETRYING); a running
 * source is DOTHI_ERROR_EXISTS, an unknown one DOTHI_ERROR_NOT_FOUND. */
gboolean   dothi_live_start  (DothiLive   *self,
                              const char  *source,
                              const char  *password,
                              GError     **error);
/* Stops every source (the broker keeps the persistent session) and stores
 * what is pending. */
void       dothi_live_stop   (DothiLive   *self);
/* What people call sensor @kind (its "title", else the kind itself);
 * NULL for NULL. */
char      *dothi_live_dup_kind_title (DothiLive *self, const char *kind);
/* The thresholds of sensor @kind as the engine knows them (NAN where the
 * kind sets none); FALSE for a kind the project does not define. */
gboolean   dothi_live_get_thresholds (DothiLive *self, const char *kind,
                                      double *low, double *high);
/* Reads the project's kinds again, so new thresholds, titles and
 * intervals apply to what comes next (a source's start does it too). */
gboolean   dothi_live_reload_kinds (DothiLive *self, GError **error);
/* Stops @source alone and stores what it sent; FALSE when it was not
 * running. */
gboolean   dothi_live_stop_source (DothiLive *self, const char *source);
void       dothi_live_get_stats (DothiLive *self, DothiLiveStats *stats);
DothiLiveState dothi_live_get_state (DothiLive *self, const char *source);
/* The sensors whose newest reading (or first position) was stored since
 * the last call, as DothiSensorState (level and stale as of now; x, y
 * NAN while no message placed the sensor), in the order they changed;
 * @stored_row (may be NULL): the companion's highest readings row id
 * committed at that moment, so a caller knows what the states include.
 * For the one consumer that keeps a map current between full reads of
 * dothi_live_sensors (); on the "batch" handler it costs no database
 * read. Any thread. */
GPtrArray *dothi_live_take_changes (DothiLive *self, gint64 *stored_row);
/* Counts by rejection reason ("not JSON", "position outside the city", …). */
GHashTable *dothi_live_dup_rejections (DothiLive *self);

/* Validates one payload as if it came from @source (NULL: the defaults,
 * ICT and WGS 84) on @topic (may be NULL; a SensorThings topic names the
 * sensor) and queues it for the next batch (dothi_live_flush() stores it
 * now): TRUE when every message in it was accepted, FALSE with
 * DOTHI_ERROR_INVALID_DATA naming the source and the first reason. A
 * duplicate is accepted here and counted when stored. Any thread. */
gboolean   dothi_live_ingest_message (DothiLive   *self,
                                      const char  *source,
                                      const char  *topic,
                                      const char  *payload,
                                      gsize        length,
                                      GError     **error);
/* Stores the pending batch now, waiting for the writer; FALSE with the
 * writer's error (the rows are kept and retried). */
gboolean   dothi_live_flush  (DothiLive   *self, GError **error);

/* ---- reading the stored data (any thread, own connections) ---- */

typedef struct {
  char   *sensor_id;
  char   *kind;
  char   *unit;
  double  x, y;        /* project CRS; NAN when unknown */
  double  last_value;
  gint64  last_time;   /* unix seconds UTC */
  gboolean stale;
  int      level;      /* -1 below low, 0 normal, 1 above high */
} DothiSensorState;

void       dothi_sensor_state_free (DothiSensorState *state);
/* Every sensor's latest state at @now (unix seconds; 0: now), by
 * sensor_id; level and stale from the project's kinds (a sensor without
 * a kind is never stale). No companion yet: empty. */
GPtrArray *dothi_live_sensors (const char *path, gint64 now, GError **error);
/* Readings of @sensor_id in [@since, @until) (unix seconds), raw where
 * kept, hourly aggregates (mean, at the hour's start) beyond the
 * retention: a GArray of double, pairs (time, value) in time order, so
 * 2 × n elements. No companion yet: empty. */
GArray    *dothi_live_readings (const char *path, const char *sensor_id,
                                gint64 since, gint64 until, GError **error);
/* Moves raw readings older than @raw_days into hourly aggregates and
 * deletes them (one transaction on the companion database). */
gboolean   dothi_live_apply_retention (const char *path, int raw_days, GError **error);

G_END_DECLS
