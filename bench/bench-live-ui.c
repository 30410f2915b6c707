/* bench-live-ui.c: the ingest side of bench-live.sh, in the real window.
 *
 * Usage: bench-live-ui PROJECT PORT EXPECTED READY_FILE STOP_FILE TOPIC
 *
 * Opens PROJECT in a DothiWindow (under Xvfb), waits for the city map,
 * opens the operations room (DothiOpsPanel) on the window's map, defines
 * and starts an MQTT source "bench" on 127.0.0.1:PORT, TOPIC, writes
 * READY_FILE once connected, then measures until EXPECTED readings are
 * stored (or STOP_FILE exists and nothing new came for 5 s):
 *  - publish → stored: each message's id is "<s|b><seq>-<publish µs>";
 *    the rows each "batch" signal added are read back (after the panel's
 *    own handler) and timed against the wall clock;
 *  - publish → map: the live layer's drawn mark (the highest stored row
 *    the last drawn frame showed) is read after every painted frame; a
 *    row is on the map at the first frame whose mark reaches it;
 *  - frame time: for 2 s in every 4 the map pans 2 px a frame back and
 *    forth over tiles it holds, and every such frame's interval and work
 *    (update to after-paint) are kept; in the other 2 s the map is left
 *    alone, as an operator watching it leaves it, so the live layer's own
 *    refresh (at most 10 a second) is what shows new data: latency is
 *    printed for both halves;
 *  - publish → alert ("alert" signal), CPU and peak RSS of the process.
 * Prints "key value" lines. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dothi-application.h"
#include "dothi-live.h"
#include "dothi-live-layer.h"
#include "dothi-map-view.h"
#include "dothi-ops-panel.h"
#include "dothi-project.h"
#include "dothi-window.h"

typedef struct {
  gint64   id;
  gint64   publish_us;
  int      phase;       /* 0 sustained, 1 burst */
  gboolean panning;     /* published while the map panned */
} Row;

/* Wall-clock halves of 2 s: the map pans in even ones. */
static gboolean
panning_at (gint64 real_us)
{
  return (real_us / (2 * G_USEC_PER_SEC)) % 2 == 0;
}

typedef struct {
  gint64 real_us;
  gint64 mark;
} Frame;

typedef struct {
  GMainLoop      *loop;
  const char     *path;
  sqlite3        *db;          /* the companion, read-only */
  sqlite3_stmt   *rows;
  gint64          last_id;
  gint64          seen;
  gint64          expected;
  gint64          last_new;    /* monotonic µs of the last new rows */
  GArray         *stored_lat[2];
  gint64          count[2];
  GArray         *all_rows;    /* Row */
  GArray         *frames;      /* Frame, when the mark moved */
  GArray         *intervals;   /* ms between painted frames while ingesting */
  GArray         *work;        /* ms from "update" to "after-paint" */
  gint64          frame_start;
  gint64          last_paint;
  gboolean        frame_panned;       /* this frame moved the map */
  gboolean        last_frame_panned;
  gboolean        measuring;   /* from the first stored row */
  DothiLiveLayer *layer;
  ShumateViewport *viewport;
  double          pan_lon0;
  guint           pan_step;
  gint64          alert_us;
  char           *alert_sensor;
  double          alert_value;
  const char     *ready_file;
  const char     *stop_file;
  gboolean        map_complete;
} Bench;

static void
die (const char *what, GError *error)
{
  g_printerr ("bench-live-ui: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static void
state_cb (DothiLive *live, const char *source, int state, const char *message, Bench *b)
{
  if (state == DOTHI_LIVE_CONNECTED)
    g_file_set_contents (b->ready_file, "", 0, NULL);
}

/* The rows the batches stored so far. */
static void
read_new_rows (Bench *b)
{
  gint64 now = g_get_real_time ();

  if (b->db == NULL)
    {
      g_autofree char *path = g_strconcat (b->path, "-live", NULL);

      if (sqlite3_open_v2 (path, &b->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
          || sqlite3_prepare_v2 (b->db, "SELECT id, msg_id FROM readings WHERE id > ?1 ORDER BY id",
                                 -1, &b->rows, NULL) != SQLITE_OK)
        die (sqlite3_errmsg (b->db), NULL);
      sqlite3_busy_timeout (b->db, 5000);
    }
  sqlite3_bind_int64 (b->rows, 1, b->last_id);
  while (sqlite3_step (b->rows) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (b->rows, 1);
      const char *dash = id != NULL ? strchr (id, '-') : NULL;
      Row row;

      b->last_id = sqlite3_column_int64 (b->rows, 0);
      b->seen++;
      if (dash == NULL || (id[0] != 's' && id[0] != 'b'))
        continue;
      row.id = b->last_id;
      row.publish_us = g_ascii_strtoll (dash + 1, NULL, 10);
      row.phase = id[0] == 'b' ? 1 : 0;
      row.panning = panning_at (row.publish_us);
      g_array_append_val (b->all_rows, row);
      {
        double ms = (now - row.publish_us) / 1000.0;

        g_array_append_val (b->stored_lat[row.phase], ms);
      }
      b->count[row.phase]++;
      b->measuring = TRUE;
    }
  sqlite3_reset (b->rows);
  b->last_new = g_get_monotonic_time ();
}

static void
batch_cb (DothiLive *live, guint n_readings, guint n_incidents, Bench *b)
{
  if (n_readings > 0)
    read_new_rows (b);
}

static void
alert_cb (DothiLive *live, const char *sensor, double value, double threshold,
          const char *kind, gboolean high, Bench *b)
{
  if (b->alert_us != 0)
    return;
  b->alert_us = g_get_real_time ();
  b->alert_sensor = g_strdup (sensor);
  b->alert_value = value;
}

static void
update_cb (GdkFrameClock *clock, Bench *b)
{
  b->frame_start = g_get_monotonic_time ();
}

static void
after_paint_cb (GdkFrameClock *clock, Bench *b)
{
  gint64 now = g_get_monotonic_time ();
  gint64 mark = dothi_live_layer_get_drawn_mark (b->layer);
  Frame frame = { g_get_real_time (), mark };

  if (b->frames->len == 0 || g_array_index (b->frames, Frame, b->frames->len - 1).mark != mark)
    g_array_append_val (b->frames, frame);
  if (b->measuring && b->last_paint != 0 && b->frame_panned && b->last_frame_panned)
    {
      double interval = (now - b->last_paint) / 1000.0;
      double work = b->frame_start != 0 ? (now - b->frame_start) / 1000.0 : 0;

      g_array_append_val (b->intervals, interval);
      g_array_append_val (b->work, work);
    }
  b->last_paint = now;
  b->frame_start = 0;
  b->last_frame_panned = b->frame_panned;
}

/* 2 px a frame, 64 frames one way then back: always moving, always over
 * tiles already drawn. */
static gboolean
pan_tick_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Bench *b = data;
  ShumateMapSource *source = shumate_viewport_get_reference_map_source (b->viewport);
  double zoom = shumate_viewport_get_zoom_level (b->viewport);
  double lat = shumate_location_get_latitude (SHUMATE_LOCATION (b->viewport));
  guint k;
  double px, x;

  b->frame_panned = FALSE;
  if (source == NULL || !panning_at (g_get_real_time ()))
    return G_SOURCE_CONTINUE;
  b->frame_panned = TRUE;
  k = b->pan_step++ % 128;
  px = k < 64 ? k : 128 - k;
  x = shumate_map_source_get_x (source, zoom, b->pan_lon0) + 2 * px;
  shumate_location_set_location (SHUMATE_LOCATION (b->viewport), lat,
                                 shumate_map_source_get_longitude (source, zoom, x));
  return G_SOURCE_CONTINUE;
}

static gboolean
tick_cb (gpointer data)
{
  Bench *b = data;
  gint64 idle = g_get_monotonic_time () - b->last_new;

  /* Everything stored (and the alert seen, or 2 s past), or the publisher
   * done and nothing new for 5 s. */
  if ((b->seen >= b->expected && (b->alert_us != 0 || idle > 2 * G_USEC_PER_SEC))
      || (g_file_test (b->stop_file, G_FILE_TEST_EXISTS) && idle > 5 * G_USEC_PER_SEC))
    {
      g_main_loop_quit (b->loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
flag_cb (gpointer  instance,
         gboolean *flag)
{
  *flag = TRUE;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
print_stats (const char *name, GArray *a)
{
  if (a->len == 0)
    {
      g_print ("%s_p50 n/a\n%s_p95 n/a\n%s_max n/a\n", name, name, name);
      return;
    }
  g_array_sort (a, cmp_double);
  g_print ("%s_p50 %.1f\n%s_p95 %.1f\n%s_max %.1f\n", name,
           g_array_index (a, double, (a->len - 1) / 2), name,
           g_array_index (a, double, (guint) ((a->len - 1) * 0.95)), name,
           g_array_index (a, double, a->len - 1));
}

/* Each row's first frame showing it, by phase, and for the sustained
 * phase by whether the map was panning (@split[0] idle, [1] panning);
 * rows never shown are counted. */
static void
map_latencies (Bench *b, GArray *out[2], GArray *split[2], gint64 *never)
{
  guint f = 0;

  *never = 0;
  for (guint i = 0; i < b->all_rows->len; i++)
    {
      const Row *row = &g_array_index (b->all_rows, Row, i);
      double ms;

      while (f < b->frames->len && g_array_index (b->frames, Frame, f).mark < row->id)
        f++;
      if (f == b->frames->len)
        {
          (*never)++;
          continue;
        }
      ms = (g_array_index (b->frames, Frame, f).real_us - row->publish_us) / 1000.0;
      g_array_append_val (out[row->phase], ms);
      if (row->phase == 0)
        g_array_append_val (split[row->panning ? 1 : 0], ms);
    }
}

static void
wait_for (gboolean *flag, int seconds, const char *what)
{
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!*flag)
    {
      if (g_get_monotonic_time () > end)
        die (what, NULL);
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
timeout_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  Bench b = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *source = NULL;
  DothiApplication *app;
  DothiWindow *window;
  DothiMapView *map;
  DothiOpsPanel *panel;
  DothiProject *project;
  DothiLive *live;
  DothiLiveStats stats;
  GdkFrameClock *clock;
  GArray *map_lat[2], *split[2];
  gint64 never, t0, t1;
  struct rusage r0, r1;
  gboolean settled = FALSE;

  if (argc != 7)
    {
      g_printerr ("usage: bench-live-ui PROJECT PORT EXPECTED READY_FILE STOP_FILE TOPIC\n");
      return 2;
    }
  b.path = argv[1];
  b.expected = g_ascii_strtoll (argv[3], NULL, 10);
  b.ready_file = argv[4];
  b.stop_file = argv[5];
  for (int i = 0; i < 2; i++)
    {
      b.stored_lat[i] = g_array_new (FALSE, FALSE, sizeof (double));
      map_lat[i] = g_array_new (FALSE, FALSE, sizeof (double));
      split[i] = g_array_new (FALSE, FALSE, sizeof (double));
    }
  b.all_rows = g_array_new (FALSE, FALSE, sizeof (Row));
  b.frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  b.intervals = g_array_new (FALSE, FALSE, sizeof (double));
  b.work = g_array_new (FALSE, FALSE, sizeof (double));

  /* The source and the kind, before the window opens the project. */
  project = dothi_project_open (b.path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    die ("open", error);
  source = g_strdup_printf ("{\"name\": \"bench\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                            "\"port\": %d, \"topics\": [\"%s\"], \"qos\": 1, "
                            "\"client_id\": \"dothi-bench-live\"}", atoi (argv[2]), argv[6]);
  if (!dothi_live_source_define (project, source, &error)
      || !dothi_live_kind_define (project, "{\"kind\": \"pressure\", \"unit\": \"bar\", \"low\": 1.5, "
                                  "\"high\": 6.0, \"expected_interval\": 300}", &error))
    die ("define", error);
  dothi_project_close (project);
  g_object_unref (project);

  /* As the app's main (): the user's language, "C" numbers. */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("DOTHI_LOCALEDIR") ? g_getenv ("DOTHI_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name ("Dothi");
  gtk_init ();
  adw_init ();
  app = dothi_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    die ("register", error);
  window = dothi_window_new (ADW_APPLICATION (app));
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  map = DOTHI_MAP_VIEW (dothi_window_get_map_view (window));
  g_signal_connect (map, "map-complete", G_CALLBACK (flag_cb), &b.map_complete);
  file = g_file_new_for_path (b.path);
  dothi_window_open_file (window, file);
  wait_for (&b.map_complete, 120, "no city map within 120 s");

  panel = dothi_ops_panel_new (GTK_WINDOW (window), dothi_window_get_project (window));
  dothi_ops_panel_set_map_view (panel, map);
  gtk_window_present (GTK_WINDOW (panel));
  live = dothi_ops_panel_get_live (panel);
  b.layer = dothi_ops_panel_get_live_layer (panel);
  if (live == NULL || b.layer == NULL)
    die ("the operations room has no engine or layer", NULL);
  /* After the panel's own handlers: the map has the batch when we look. */
  g_signal_connect (live, "state-changed", G_CALLBACK (state_cb), &b);
  g_signal_connect (live, "batch", G_CALLBACK (batch_cb), &b);
  g_signal_connect (live, "alert", G_CALLBACK (alert_cb), &b);

  /* Let the panel's first reads settle, then pan and count frames. */
  g_timeout_add (1000, timeout_flag_cb, &settled);
  wait_for (&settled, 10, "settle");
  b.viewport = shumate_layer_get_viewport (SHUMATE_LAYER (b.layer));
  b.pan_lon0 = shumate_location_get_longitude (SHUMATE_LOCATION (b.viewport));
  gtk_widget_add_tick_callback (GTK_WIDGET (b.layer), pan_tick_cb, &b, NULL);
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (b.layer));
  if (clock == NULL)
    die ("the live layer has no frame clock", NULL);
  g_signal_connect (clock, "update", G_CALLBACK (update_cb), &b);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &b);

  b.loop = g_main_loop_new (NULL, FALSE);
  getrusage (RUSAGE_SELF, &r0);
  t0 = g_get_monotonic_time ();
  if (!dothi_ops_panel_start_source (panel, "bench", NULL, &error))
    die ("start", error);
  b.last_new = g_get_monotonic_time ();
  g_timeout_add (100, tick_cb, &b);
  g_main_loop_run (b.loop);
  read_new_rows (&b);
  t1 = g_get_monotonic_time ();
  getrusage (RUSAGE_SELF, &r1);
  dothi_live_get_stats (live, &stats);
  map_latencies (&b, map_lat, split, &never);

  g_print ("received %" G_GINT64_FORMAT "\nstored %" G_GINT64_FORMAT "\nduplicates %" G_GINT64_FORMAT
           "\nmalformed %" G_GINT64_FORMAT "\nbatches %" G_GINT64_FORMAT "\nrows %" G_GINT64_FORMAT
           "\nrows_sustained %" G_GINT64_FORMAT "\nrows_burst %" G_GINT64_FORMAT
           "\nrows_never_drawn %" G_GINT64_FORMAT "\nframes %u\n",
           stats.received, stats.stored, stats.duplicates, stats.malformed, stats.batches, b.seen,
           b.count[0], b.count[1], never, b.intervals->len);
  print_stats ("sustained", b.stored_lat[0]);
  print_stats ("burst", b.stored_lat[1]);
  print_stats ("map_sustained", map_lat[0]);
  print_stats ("map_burst", map_lat[1]);
  print_stats ("map_sustained_idle", split[0]);
  print_stats ("map_sustained_panning", split[1]);
  print_stats ("frame_interval", b.intervals);
  print_stats ("frame_work", b.work);
  g_print ("sensors_drawn %u\n", dothi_live_layer_get_n_sensors (b.layer));
  g_print ("alert_us %" G_GINT64_FORMAT "\nalert_sensor %s\nalert_value %g\nalerts_shown %u\n", b.alert_us,
           b.alert_sensor != NULL ? b.alert_sensor : "none", b.alert_value,
           dothi_ops_panel_get_n_alerts (panel));
  g_print ("cpu_s %.2f\nwall_s %.2f\nrss_mb %ld\n",
           (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec)
           + ((r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) / 1e6,
           (t1 - t0) / 1e6, r1.ru_maxrss / 1024);
  fflush (stdout);
  /* The process ends here: the broker keeps the session, the companion
   * its rows; tearing the windows down is not what is measured. */
  _exit (0);
}
