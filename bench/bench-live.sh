#!/usr/bin/env bash
# bench/bench-live.sh BUILD_DIR: live ingest (issue 7) against a real
# mosquitto started here on 127.0.0.1 (a free port, a temporary config):
# 5 000 readings/s for BENCH_LIVE_SECONDS (default 60) s, then a burst of
# 50 000/s for 5 s, then one reading over its threshold. The ingest runs in
# a small C program (built with meson's own commands for test-live) using
# dothi_live_new/dothi_live_start on a copy of the demo project; each
# message carries its publish time, read back from the stored rows at each
# "batch" signal (publish → stored) and at the "alert" signal (publish →
# alert). The publisher is a C program on libmosquitto (QoS 1, paced); the
# peer is mosquitto_sub writing the same stream to a file, the floor.
# Prints rates, loss, latency, CPU and RSS with targets; exit 1 on a loss.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/bench-live.sh BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
work="$build/bench"
py=/usr/bin/python3
seconds=${BENCH_LIVE_SECONDS:-60}
rate=5000
burst_rate=50000
burst_seconds=5
topic=bench/readings
demo="$build/demo/buon-ma-thuot.dothi"
mosquitto=/usr/sbin/mosquitto
mkdir -p "$work"

fail() {
  echo "bench-live: $*" >&2
  exit 1
}

[ -f "$demo" ] || fail "no $demo: build first"
[ -x "$mosquitto" ] || fail "no $mosquitto (apt-get install mosquitto)"
command -v mosquitto_sub >/dev/null || fail "no mosquitto_sub (apt-get install mosquitto-clients)"
pkg-config --exists libmosquitto || fail "no libmosquitto (apt-get install libmosquitto-dev)"

tmp=$(mktemp -d -p "$work" live-XXXXXX)
broker_pid='' sub_pid='' core_pid=''
cleanup() {
  for p in $core_pid $sub_pid $broker_pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the project copy ---------------------------------------------------------
project="$tmp/live.dothi"
# sqlite3_backup (the WAL's content included), never a file copy (DESIGN.md §2).
"$py" - "$demo" "$project" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.execute("PRAGMA journal_mode=WAL")
dst.close()
PY

# ---- the ingest program (in process, on the core library) ----------------------
cat >"$tmp/bench-live-core.c" <<'EOF'
/* Ingest side of bench-live.sh: a DothiLive engine on a copy of the demo
 * project, publish → stored latencies read from each batch's rows. */
#include "config.h"
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "dothi-live.h"
#include "dothi-project.h"

typedef struct {
  GMainLoop *loop;
  sqlite3 *db;          /* the companion, read-only */
  sqlite3_stmt *rows;
  gint64 last_id;
  gint64 seen;
  gint64 expected;
  gint64 last_new;      /* monotonic µs of the last new rows */
  GArray *lat[2];       /* ms: sustained, burst */
  gint64 count[2];
  gint64 alert_us;      /* realtime µs of the alert signal */
  char *alert_sensor;
  double alert_value;
  const char *ready_file;
  const char *stop_file;
} Bench;

static void
die (const char *what, GError *error)
{
  g_printerr ("bench-live-core: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static void
state_cb (DothiLive *live, const char *source, int state, const char *message, Bench *b)
{
  if (state == DOTHI_LIVE_CONNECTED)
    g_file_set_contents (b->ready_file, "", 0, NULL);
}

/* The rows this batch added: msg_id "<s|b><seq>-<publish realtime µs>". */
static void
read_new_rows (Bench *b)
{
  gint64 now = g_get_real_time ();

  if (b->db == NULL)
    {
      g_autofree char *path = g_strconcat (g_getenv ("BENCH_PROJECT"), "-live", NULL);

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
      int phase = id != NULL && id[0] == 'b' ? 1 : 0;

      b->last_id = sqlite3_column_int64 (b->rows, 0);
      b->seen++;
      if (dash == NULL || (id[0] != 's' && id[0] != 'b'))
        continue;
      double ms = (now - g_ascii_strtoll (dash + 1, NULL, 10)) / 1000.0;
      g_array_append_val (b->lat[phase], ms);
      b->count[phase]++;
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

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
print_latency (const char *name, GArray *a)
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

int
main (int argc, char **argv)
{
  const char *path = argv[1];
  int port = atoi (argv[2]);
  Bench b = { 0 };
  GError *error = NULL;
  DothiProject *project;
  DothiLive *live;
  DothiLiveStats stats;
  struct rusage r0, r1;
  gint64 t0, t1;
  g_autofree char *source = NULL;

  b.expected = g_ascii_strtoll (argv[3], NULL, 10);
  b.ready_file = argv[4];
  b.stop_file = argv[5];
  b.lat[0] = g_array_new (FALSE, FALSE, sizeof (double));
  b.lat[1] = g_array_new (FALSE, FALSE, sizeof (double));
  g_setenv ("BENCH_PROJECT", path, TRUE);

  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    die ("open", error);
  source = g_strdup_printf ("{\"name\": \"bench\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                            "\"port\": %d, \"topics\": [\"%s\"], \"qos\": 1, "
                            "\"client_id\": \"dothi-bench-live\"}", port, argv[6]);
  if (!dothi_live_source_define (project, source, &error)
      || !dothi_live_kind_define (project, "{\"kind\": \"pressure\", \"unit\": \"bar\", \"low\": 1.5, "
                                  "\"high\": 6.0, \"expected_interval\": 300}", &error))
    die ("define", error);
  dothi_project_close (project);
  g_object_unref (project);

  b.loop = g_main_loop_new (NULL, FALSE);
  getrusage (RUSAGE_SELF, &r0);
  t0 = g_get_monotonic_time ();
  live = dothi_live_new (path, &error);
  if (live == NULL)
    die ("dothi_live_new", error);
  g_signal_connect (live, "state-changed", G_CALLBACK (state_cb), &b);
  g_signal_connect (live, "batch", G_CALLBACK (batch_cb), &b);
  g_signal_connect (live, "alert", G_CALLBACK (alert_cb), &b);
  if (!dothi_live_start (live, "bench", NULL, &error))
    die ("dothi_live_start", error);
  b.last_new = g_get_monotonic_time ();
  g_timeout_add (100, tick_cb, &b);
  g_main_loop_run (b.loop);
  dothi_live_stop (live);
  read_new_rows (&b);
  t1 = g_get_monotonic_time ();
  getrusage (RUSAGE_SELF, &r1);
  dothi_live_get_stats (live, &stats);

  g_print ("received %" G_GINT64_FORMAT "\nstored %" G_GINT64_FORMAT "\nduplicates %" G_GINT64_FORMAT
           "\nmalformed %" G_GINT64_FORMAT "\nbatches %" G_GINT64_FORMAT "\nrows %" G_GINT64_FORMAT
           "\nrows_sustained %" G_GINT64_FORMAT "\nrows_burst %" G_GINT64_FORMAT "\n",
           stats.received, stats.stored, stats.duplicates, stats.malformed, stats.batches, b.seen,
           b.count[0], b.count[1]);
  print_latency ("sustained", b.lat[0]);
  print_latency ("burst", b.lat[1]);
  g_print ("alert_us %" G_GINT64_FORMAT "\nalert_sensor %s\nalert_value %g\n", b.alert_us,
           b.alert_sensor != NULL ? b.alert_sensor : "none", b.alert_value);
  g_print ("cpu_s %.2f\nwall_s %.2f\nrss_mb %ld\n",
           (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec)
           + ((r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) / 1e6,
           (t1 - t0) / 1e6, r1.ru_maxrss / 1024);
  if (b.rows != NULL)
    sqlite3_finalize (b.rows);
  if (b.db != NULL)
    sqlite3_close (b.db);
  g_object_unref (live);
  return 0;
}
EOF

# meson's own commands for tests/test-live, with our source and output.
ninja -C "$build" -t commands tests/test-live >"$tmp/commands" 2>/dev/null \
  || fail "no meson commands for tests/test-live in $build"
[ -f "$build/src/core/libdothi-core.a" ] || fail "no libdothi-core.a in $build: build first"
"$py" - "$build" "$tmp" >"$tmp/build.sh" <<'PY'
import json, shlex, sys
build, tmp = sys.argv[1], sys.argv[2]
cc = next(e for e in json.load(open(f"{build}/compile_commands.json"))
          if e["file"].endswith("tests/test-live.c"))
args, out, skip = shlex.split(cc["command"]), [], 0
for a in args:
    if skip:
        skip -= 1
        continue
    if a in ("-o", "-c", "-MQ", "-MF"):
        skip = 1
        continue
    if a == "-MD":
        continue
    out.append(a)
out += ["-c", f"{tmp}/bench-live-core.c", "-o", f"{tmp}/bench-live-core.o"]
link = shlex.split(open(f"{tmp}/commands").read().strip().splitlines()[-1])
i = link.index("-o")
objs = [a for a in link if a.endswith(".o")]
link = [a for a in link if a not in objs]
link[i + 1] = f"{tmp}/bench-live-core"
link.insert(i + 2, f"{tmp}/bench-live-core.o")
print("cd " + shlex.quote(cc["directory"]))
print(shlex.join(out))
print(shlex.join(link))
PY
sh -e "$tmp/build.sh" >"$tmp/build.log" 2>&1 \
  || fail "the ingest program did not build: $(grep -m1 -E 'error|undefined' "$tmp/build.log" || tail -n 1 "$tmp/build.log")"

# ---- the publisher (libmosquitto, QoS 1, paced) ----------------------------------
cat >"$tmp/bench-live-pub.c" <<'EOF'
/* Publisher of bench-live.sh: RATE readings/s for SECONDS s, QoS 1, each
 * with its publish time in its id; or (RATE 0) one reading over the
 * threshold. Prints what it published and the broker acknowledged. */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int connected, acked;

static void
connected_cb (struct mosquitto *mosq, void *data, int rc)
{
  connected = rc == 0 ? 1 : -1;
}

static void
published_cb (struct mosquitto *mosq, void *data, int mid)
{
  __atomic_add_fetch (&acked, 1, __ATOMIC_RELAXED);
}

static long long
now_us (int clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int
main (int argc, char **argv)
{
  int port = atoi (argv[1]);
  const char *topic = argv[2];
  char phase = argv[3][0];
  long rate = atol (argv[4]);
  double seconds = atof (argv[5]);
  long total = rate > 0 ? (long) (rate * seconds) : 1, sent = 0;
  char client_id[64], payload[256];
  struct mosquitto *mosq;
  long long t0, t1, wait_end;

  mosquitto_lib_init ();
  snprintf (client_id, sizeof client_id, "bench-pub-%c-%d", phase, (int) getpid ());
  mosq = mosquitto_new (client_id, true, NULL);
  mosquitto_int_option (mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set (mosq, 1000);
  mosquitto_connect_callback_set (mosq, connected_cb);
  mosquitto_publish_callback_set (mosq, published_cb);
  if (mosquitto_connect (mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS
      || mosquitto_loop_start (mosq) != MOSQ_ERR_SUCCESS)
    {
      fprintf (stderr, "bench-live-pub: cannot connect to 127.0.0.1:%d\n", port);
      return 1;
    }
  while (connected == 0)
    usleep (1000);
  if (connected < 0)
    return 1;

  t0 = now_us (CLOCK_MONOTONIC);
  while (sent < total)
    {
      long long elapsed = now_us (CLOCK_MONOTONIC) - t0;
      long due = rate > 0 ? (long) (elapsed * rate / 1000000) + 1 : 1;

      if (due > total)
        due = total;
      while (sent < due)
        {
          long long pub = now_us (CLOCK_REALTIME);
          int n;

          if (rate > 0)
            n = snprintf (payload, sizeof payload,
                          "{\"id\": \"%c%ld-%lld\", \"sensor_id\": \"BL-%03ld\", \"time\": %lld, "
                          "\"value\": %.2f, \"unit\": \"bar\", \"kind\": \"pressure\"}",
                          phase, sent, pub, sent % 500, pub / 1000000, 2.0 + (sent % 100) / 100.0);
          else
            n = snprintf (payload, sizeof payload,
                          "{\"id\": \"a0-%lld\", \"sensor_id\": \"BL-007\", \"time\": %lld, "
                          "\"value\": 9.5, \"unit\": \"bar\", \"kind\": \"pressure\"}",
                          pub, pub / 1000000 + 1);
          if (mosquitto_publish (mosq, NULL, topic, n, payload, 1, false) != MOSQ_ERR_SUCCESS)
            {
              fprintf (stderr, "bench-live-pub: publish failed\n");
              return 1;
            }
          if (rate == 0)
            printf ("alert_pub_us %lld\n", pub);
          sent++;
        }
      usleep (500);
    }
  t1 = now_us (CLOCK_MONOTONIC);
  /* Every PUBACK, or 60 s. */
  wait_end = t1 + 60000000LL;
  while (__atomic_load_n (&acked, __ATOMIC_RELAXED) < sent && now_us (CLOCK_MONOTONIC) < wait_end)
    usleep (1000);
  printf ("published %ld\nacked %d\npublish_s %.3f\nacked_s %.3f\n", sent, acked,
          (t1 - t0) / 1e6, (now_us (CLOCK_MONOTONIC) - t0) / 1e6);
  mosquitto_disconnect (mosq);
  mosquitto_loop_stop (mosq, false);
  mosquitto_destroy (mosq);
  mosquitto_lib_cleanup ();
  return 0;
}
EOF
# shellcheck disable=SC2046
cc -O2 -o "$tmp/bench-live-pub" "$tmp/bench-live-pub.c" $(pkg-config --cflags --libs libmosquitto) \
  || fail "the publisher did not build"

# ---- the broker ----------------------------------------------------------------
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# "user": as root, mosquitto would otherwise drop to user "mosquitto".
# max_queued_messages 0: no per-client queue limit, as the fault tests; the
# default (1000) would let the broker drop what a slow subscriber has not taken.
cat >"$tmp/mosquitto.conf" <<EOF
user $(id -un)
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
log_dest none
EOF
"$mosquitto" -c "$tmp/mosquitto.conf" >/dev/null 2>&1 &
broker_pid=$!
for _ in $(seq 1 100); do
  "$py" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
kill -0 "$broker_pid" 2>/dev/null || fail "mosquitto did not start"
echo "bench-live: mosquitto $("$mosquitto" -h | sed -n '1s/.*version //p') on 127.0.0.1:$port" >&2

# ---- the peer and the ingest ------------------------------------------------------
mosquitto_sub -h 127.0.0.1 -p "$port" -t "$topic" -q 1 -i bench-sub -F '%U %p' >"$tmp/sub.txt" 2>"$tmp/sub.err" &
sub_pid=$!
expected=$(( rate * seconds + burst_rate * burst_seconds + 1 ))
"$tmp/bench-live-core" "$project" "$port" "$expected" "$tmp/ready" "$tmp/stop" "$topic" \
  >"$tmp/core.out" 2>"$tmp/core.err" &
core_pid=$!
for _ in $(seq 1 300); do
  [ -f "$tmp/ready" ] && break
  kill -0 "$core_pid" 2>/dev/null || fail "the ingest program failed: $(tail -n 1 "$tmp/core.err")"
  sleep 0.1
done
[ -f "$tmp/ready" ] || fail "the ingest did not connect"
sleep 1   # the subscriptions (Dothi's and mosquitto_sub's)

echo "bench-live: $rate/s for $seconds s…" >&2
"$tmp/bench-live-pub" "$port" "$topic" s "$rate" "$seconds" >"$tmp/pub-s.out" \
  || fail "the publisher failed (sustained)"
sleep 1
echo "bench-live: $burst_rate/s for $burst_seconds s…" >&2
"$tmp/bench-live-pub" "$port" "$topic" b "$burst_rate" "$burst_seconds" >"$tmp/pub-b.out" \
  || fail "the publisher failed (burst)"
sleep 2
echo "bench-live: one reading over the threshold…" >&2
"$tmp/bench-live-pub" "$port" "$topic" a 0 0 >"$tmp/pub-a.out" || fail "the publisher failed (alert)"
touch "$tmp/stop"
wait "$core_pid" || fail "the ingest program failed: $(tail -n 1 "$tmp/core.err")"
core_pid=
sleep 1
kill "$sub_pid" 2>/dev/null || true
wait "$sub_pid" 2>/dev/null || true
sub_pid=

# ---- figures ------------------------------------------------------------------------
declare -A core
while read -r k v; do core[$k]=$v; done <"$tmp/core.out"
declare -A pub
for ph in s b a; do
  while read -r k v; do pub[$ph.$k]=$v; done <"$tmp/pub-$ph.out"
done
# The peer: its count per phase, its receive rate and latency (receive
# time − the publish time in the payload).
declare -A sub
while read -r k v; do sub[$k]=$v; done < <("$py" - "$tmp/sub.txt" <<'PY'
import re, sys
lat = {"s": [], "b": []}
t = {"s": [], "b": []}
n = {"s": 0, "b": 0, "a": 0}
rx = re.compile(r'"id": "([sba])\d+-(\d+)"')
for line in open(sys.argv[1], errors="replace"):
    ts, _, payload = line.partition(" ")
    m = rx.search(payload)
    if not m:
        continue
    ph = m.group(1)
    n[ph] += 1
    if ph in lat:
        recv = float(ts)
        lat[ph].append((recv - int(m.group(2)) / 1e6) * 1000)
        t[ph].append(recv)
for ph in "sb":
    name = {"s": "sustained", "b": "burst"}[ph]
    print(f"{name}_n {n[ph]}")
    a = sorted(lat[ph])
    if a:
        print(f"{name}_p50 {a[(len(a) - 1) // 2]:.1f}")
        print(f"{name}_p95 {a[int((len(a) - 1) * 0.95)]:.1f}")
        print(f"{name}_max {a[-1]:.1f}")
        span = max(t[ph]) - min(t[ph])
        print(f"{name}_rate {len(a) / span if span > 0 else 0:.0f}")
print(f"alert_n {n['a']}")
PY
)

calc() {
  case "$2" in *n/a*|"") echo n/a; return ;; esac
  awk "BEGIN {printf \"$1\", $2}"
}
# verdict VALUE LIMIT: OK when VALUE ≤ LIMIT.
verdict() {
  case "$1" in n/a|"") echo "n/a"; return ;; esac
  awk -v v="$1" -v l="$2" 'BEGIN {print (v <= l) ? "OK" : "MISSED"}'
}
at_least() {
  case "$1" in n/a|"") echo "n/a"; return ;; esac
  awk -v v="$1" -v l="$2" 'BEGIN {print (v >= l) ? "OK" : "MISSED"}'
}
s_pub=${pub[s.acked]:-0} b_pub=${pub[b.acked]:-0}
s_rate=$(calc %.0f "${pub[s.published]} / ${pub[s.publish_s]}")
b_rate=$(calc %.0f "${pub[b.published]} / ${pub[b.publish_s]}")
s_loss=$(( s_pub - ${core[rows_sustained]:-0} ))
b_loss=$(( b_pub - ${core[rows_burst]:-0} ))
s_sub_loss=$(( s_pub - ${sub[sustained_n]:-0} ))
b_sub_loss=$(( b_pub - ${sub[burst_n]:-0} ))
alert_ms=n/a
if [ "${core[alert_us]:-0}" != 0 ] && [ -n "${pub[a.alert_pub_us]:-}" ]; then
  alert_ms=$(calc %.1f "(${core[alert_us]} - ${pub[a.alert_pub_us]}) / 1000")
fi
cpu_pct=$(calc %.0f "100 * ${core[cpu_s]} / ${core[wall_s]}")
loss_verdict() { if [ "$1" -eq 0 ]; then echo OK; else echo MISSED; fi; }

row() {
  printf '%-34s %14s %14s  %s\n' "$@"
}
echo
echo "== live ingest: mosquitto on 127.0.0.1, QoS 1, copy of $(basename "$demo"), $(nproc) CPUs =="
row "case" dothi peer "target"
row "sustained: published (acked)" "$s_pub" "-" "$rate/s × $seconds s = $((rate * seconds)); publish rate $s_rate/s"
row "  stored / received by the peer" "${core[rows_sustained]}" "${sub[sustained_n]:-0}" \
  "loss $s_loss (peer $s_sub_loss): $(loss_verdict "$s_loss") (zero loss)"
row "  rate (msg/s)" "$(calc %.0f "${core[rows_sustained]} / $seconds")" "${sub[sustained_rate]:-n/a}" \
  "$(at_least "$(calc %.0f "${core[rows_sustained]} / $seconds")" $((rate * 98 / 100))) (≥ $rate/s, stored ÷ the phase's length)"
row "  latency p50 (ms)" "${core[sustained_p50]}" "${sub[sustained_p50]:-n/a}" "publish → stored (batch commit)"
row "  latency p95 (ms)" "${core[sustained_p95]}" "${sub[sustained_p95]:-n/a}" "$(verdict "${core[sustained_p95]}" 250) (≤ 250 ms)"
row "  latency max (ms)" "${core[sustained_max]}" "${sub[sustained_max]:-n/a}" "-"
row "burst: published (acked)" "$b_pub" "-" "$burst_rate/s × $burst_seconds s = $((burst_rate * burst_seconds)); publish rate $b_rate/s"
row "  stored / received by the peer" "${core[rows_burst]}" "${sub[burst_n]:-0}" \
  "loss $b_loss (peer $b_sub_loss): $(loss_verdict "$b_loss") (zero loss)"
row "  peer receive rate (msg/s)" "-" "${sub[burst_rate]:-n/a}" "the floor: what the broker delivers"
row "  latency p50 (ms)" "${core[burst_p50]}" "${sub[burst_p50]:-n/a}" "publish → stored (batch commit)"
row "  latency p95 (ms)" "${core[burst_p95]}" "${sub[burst_p95]:-n/a}" "$(verdict "${core[burst_p95]}" 250) (≤ 250 ms)"
row "  latency max (ms)" "${core[burst_max]}" "${sub[burst_max]:-n/a}" "-"
row "  p95 over the peer's (ms)" "$(calc %.1f "${core[burst_p95]} - ${sub[burst_p95]:-n/a}")" "-" \
  "what storing adds to the broker's own delivery"
row "alert: publish → \"alert\" (ms)" "$alert_ms" "-" "$(verdict "$alert_ms" 1000) (≤ 1 s): ${core[alert_sensor]} ${core[alert_value]} bar > 6.0"
row "ingest CPU (s, % of one core)" "${core[cpu_s]}" "-" "$cpu_pct % over ${core[wall_s]} s"
row "ingest peak RSS (MB)" "${core[rss_mb]}" "-" "-"
echo "notes:"
echo "  Engine counters: received ${core[received]}, stored ${core[stored]}, duplicates ${core[duplicates]},"
echo "    malformed ${core[malformed]}, ${core[batches]} batches."
echo "  Latency: publish wall time (in each message's id) to the \"batch\" signal's handler reading the rows"
echo "    (a little after the commit); the peer's is mosquitto_sub's receive time (%U) — no storing, the floor."
echo "  CPU and RSS: getrusage of the ingest process (libmosquitto loop, validation, writer, and this"
echo "    program's reading back of the rows); the broker, publisher and peer run beside it on the same CPUs."
echo "  Broker: max_queued_messages 0 (no queue limit), default max_inflight_messages (20) to subscribers."
echo "  Not measured here: the map's frame time (needs the window; see the UI)."
status=0
[ "$s_loss" -eq 0 ] && [ "$b_loss" -eq 0 ] || status=1
exit $status
