#!/usr/bin/env bash
# bench/bench-edit.sh BUILD_DIR [N_PARCELS]: edits a copy of the benchmark
# city (default 1M parcels, as bench-render.sh builds it): one attribute edit,
# a parcel split, a 10 000-feature batch and their undo, in process (a small C
# program built with meson's own compile and link commands for test-parcel)
# and through dothi-cli when it has edit/undo; the peer is the same UPDATE
# through plain SQLite (in process) and the `spatialite` shell (a process).
# Prints times and what bounds each figure.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/bench-edit.sh BUILD_DIR [N_PARCELS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
n=${2:-1000000}
cli="$build/src/cli/dothi-cli"
work="$build/bench"
py=/usr/bin/python3
batch=10000
repeats=5
mkdir -p "$work"

fail() {
  echo "bench-edit: $*" >&2
  exit 1
}

[ -x "$cli" ] || fail "no $cli: build first"
have_spatialite=1
command -v spatialite >/dev/null || have_spatialite=0

# The copy lives beside the source project (same disk), removed on exit.
tmp=$(mktemp -d -p "$work" edit-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---- the city and its copy ---------------------------------------------------
city="$work/city-$n.gpkg"
if [ ! -f "$city" ]; then
  "$cli" demo --parcels "$n" "$city.part" >/dev/null
  mv "$city.part" "$city"
fi
source_project="$work/render-$n.dothi"
if [ ! -f "$source_project" ]; then
  rm -f "$source_project.part"*
  "$cli" new "$source_project.part" >/dev/null
  if ! "$cli" import "$source_project.part" "$city" >/dev/null; then
    rm -f "$source_project.part"*
    fail "cannot import $city"
  fi
  mv "$source_project.part" "$source_project"
fi
project="$tmp/edit.dothi"
# sqlite3_backup (the WAL's content included), never a file copy (DESIGN.md §2).
t0=$(date +%s.%N)
"$py" - "$source_project" "$project" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
# The backup is in rollback-journal mode; Dothi's own files are WAL.
dst.execute("PRAGMA journal_mode=WAL")
dst.close()
PY
copy_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
disk=$(df -T "$tmp" | awk 'NR == 2 {print $2 " on " $1 " (" $7 ")"}')

# Features to edit: the middle of the fid range (contiguous fids are
# neighbours in the generated city).
read -r edit_fid split_fid batch_from < <("$py" - "$project" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
(fid,) = db.execute("SELECT fid FROM parcels WHERE fid >= (SELECT max(fid) / 2 FROM parcels) "
                    "ORDER BY fid LIMIT 1").fetchone()
print(fid, fid + 1, fid + 100)
PY
)
[ -n "${batch_from:-}" ] || fail "no parcels in $project"

# ms_of START_NS END_NS
ms_of() {
  awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 1e6}'
}
median() {
  sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
calc() {
  case "$2" in *n/a*) echo n/a; return ;; esac
  awk "BEGIN {printf \"$1\", $2}"
}

# ---- in process: a C program on the core library ----------------------------
cat >"$tmp/bench-edit-core.c" <<'EOF'
/* In-process timings of edits on a copy of the benchmark city. */
#include "config.h"
#include <math.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <geos_c.h>
#include "dothi-edit.h"
#include "dothi-parcel.h"
#include "dothi-project.h"

static double
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static gint64
read_number (sqlite3 *db, gint64 fid)
{
  sqlite3_stmt *st;
  gint64 v = 0;

  sqlite3_prepare_v2 (db, "SELECT so_thua FROM parcels WHERE fid = ?1", -1, &st, NULL);
  sqlite3_bind_int64 (st, 1, fid);
  if (sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

static void
die (const char *what, GError *error)
{
  g_printerr ("bench-edit-core: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

/* A line through the middle of @fid's box, from outside to outside. */
static GBytes *
cut_line (sqlite3 *db, gint64 fid)
{
  sqlite3_stmt *st;
  GByteArray *w = g_byte_array_new ();
  guint8 order = 1;
  guint32 type = 2, count = 2;
  double p[4];

  sqlite3_prepare_v2 (db, "SELECT MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) "
                          "FROM parcels WHERE fid = ?1", -1, &st, NULL);
  sqlite3_bind_int64 (st, 1, fid);
  if (sqlite3_step (st) != SQLITE_ROW)
    die ("no parcel to split", NULL);
  p[0] = p[2] = (sqlite3_column_double (st, 0) + sqlite3_column_double (st, 2)) / 2;
  p[1] = sqlite3_column_double (st, 1) - 1;
  p[3] = sqlite3_column_double (st, 3) + 1;
  sqlite3_finalize (st);
  g_byte_array_append (w, &order, 1);
  g_byte_array_append (w, (guint8 *) &type, 4);
  g_byte_array_append (w, (guint8 *) &count, 4);
  g_byte_array_append (w, (guint8 *) p, sizeof p);
  return g_byte_array_free_to_bytes (w);
}

int
main (int argc, char **argv)
{
  const char *path = argv[1];
  gint64 edit_fid = g_ascii_strtoll (argv[2], NULL, 10);
  gint64 split_fid = g_ascii_strtoll (argv[3], NULL, 10);
  gint64 batch_from = g_ascii_strtoll (argv[4], NULL, 10);
  int batch = atoi (argv[5]), repeats = atoi (argv[6]);
  GError *error = NULL;
  DothiProject *project;
  sqlite3 *raw;
  sqlite3_stmt *st;
  void *cache = spatialite_alloc_connection ();
  gint64 t0;
  GArray *new_fids = NULL;

  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    die ("open", error);
  /* The peer: the same statements on a plain connection, no Dothi context
   * (the audit triggers still fire and record user "external"). */
  if (sqlite3_open_v2 (path, &raw, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    die ("open (sqlite)", NULL);
  spatialite_init_ex (raw, cache, 0);
  sqlite3_exec (raw, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
  sqlite3_busy_timeout (raw, 5000);

  /* (b) one attribute edit, committed with its audit row. */
  for (int r = 0; r < repeats; r++)
    {
      DothiChangeSet *set = dothi_change_set_new ();
      JsonObject *props = json_object_new ();

      json_object_set_int_member (props, "so_thua", read_number (raw, edit_fid) + (r % 2 ? -1 : 1));
      dothi_change_set_update (set, "parcels", edit_fid, props, NULL);
      t0 = g_get_monotonic_time ();
      if (dothi_edit_apply_sync (project, set, "bench", NULL, NULL, NULL, NULL, &error) <= 0)
        die ("edit", error);
      g_print ("edit_ms %.2f\n", ms_since (t0));
      json_object_unref (props);
      dothi_change_set_free (set);
    }
  for (int r = 0; r < repeats; r++)
    {
      t0 = g_get_monotonic_time ();
      sqlite3_exec (raw, "BEGIN IMMEDIATE", NULL, NULL, NULL);
      sqlite3_prepare_v2 (raw, "UPDATE parcels SET so_thua = so_thua + ?2 WHERE fid = ?1", -1, &st, NULL);
      sqlite3_bind_int64 (st, 1, edit_fid);
      sqlite3_bind_int64 (st, 2, r % 2 ? -1 : 1);
      if (sqlite3_step (st) != SQLITE_DONE)
        die (sqlite3_errmsg (raw), NULL);
      sqlite3_finalize (st);
      if (sqlite3_exec (raw, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die (sqlite3_errmsg (raw), NULL);
      g_print ("raw_edit_ms %.2f\n", ms_since (t0));
    }

  /* (c) split one parcel, (d) undo it. */
  {
    GBytes *line = cut_line (raw, split_fid);

    t0 = g_get_monotonic_time ();
    if (dothi_parcel_split_sync (project, "parcels", split_fid, line, NULL, &new_fids, &error) <= 0)
      die ("split", error);
    g_print ("split_ms %.2f\nsplit_pieces %u\n", ms_since (t0), new_fids->len);
    t0 = g_get_monotonic_time ();
    if (dothi_edit_undo_sync (project, NULL, &error) <= 0)
      die ("undo split", error);
    g_print ("split_undo_ms %.2f\n", ms_since (t0));
    g_bytes_unref (line);
    g_array_unref (new_fids);
  }

  /* (e) a batch of updates, (f) its undo. */
  {
    DothiChangeSet *set = dothi_change_set_new ();

    for (int k = 0; k < batch; k++)
      {
        JsonObject *props = json_object_new ();

        json_object_set_int_member (props, "so_thua", read_number (raw, batch_from + k) + 1000000);
        dothi_change_set_update (set, "parcels", batch_from + k, props, NULL);
        json_object_unref (props);
      }
    t0 = g_get_monotonic_time ();
    if (dothi_edit_apply_sync (project, set, "bench batch", NULL, NULL, NULL, NULL, &error) <= 0)
      die ("batch", error);
    g_print ("batch_ms %.2f\n", ms_since (t0));
    dothi_change_set_free (set);
    t0 = g_get_monotonic_time ();
    if (dothi_edit_undo_sync (project, NULL, &error) <= 0)
      die ("undo batch", error);
    g_print ("batch_undo_ms %.2f\n", ms_since (t0));
  }
  /* The peer batch: the same updates, one prepared statement, one
   * transaction, and back. */
  for (int dir = 1; dir >= -1; dir -= 2)
    {
      t0 = g_get_monotonic_time ();
      sqlite3_exec (raw, "BEGIN IMMEDIATE", NULL, NULL, NULL);
      sqlite3_prepare_v2 (raw, "UPDATE parcels SET so_thua = so_thua + ?2 WHERE fid = ?1", -1, &st, NULL);
      for (int k = 0; k < batch; k++)
        {
          sqlite3_bind_int64 (st, 1, batch_from + k);
          sqlite3_bind_int64 (st, 2, dir * 1000000);
          if (sqlite3_step (st) != SQLITE_DONE)
            die (sqlite3_errmsg (raw), NULL);
          sqlite3_reset (st);
        }
      sqlite3_finalize (st);
      if (sqlite3_exec (raw, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die (sqlite3_errmsg (raw), NULL);
      g_print ("%s %.2f\n", dir > 0 ? "raw_batch_ms" : "raw_batch_back_ms", ms_since (t0));
    }
  sqlite3_close (raw);
  spatialite_cleanup_ex (cache);
  dothi_project_close (project);
  g_object_unref (project);
  return 0;
}
EOF

core_ok=0
core_note=
# meson's own commands for tests/test-parcel, with our source and output.
if ninja -C "$build" -t commands tests/test-parcel >"$tmp/commands" 2>/dev/null \
    && [ -f "$build/src/core/libdothi-core.a" ] \
    && "$py" - "$build" "$tmp" >"$tmp/build.sh" 2>"$tmp/build.err" <<'PY'
import json, shlex, sys
build, tmp = sys.argv[1], sys.argv[2]
cc = next(e for e in json.load(open(f"{build}/compile_commands.json"))
          if e["file"].endswith("tests/test-parcel.c"))
args, out, skip = shlex.split(cc["command"]), [], 0
for a in args:
    if skip:
        skip -= 1
        continue
    if a in ("-o", "-c", "-MQ", "-MF"):
        skip = 1
        continue
    if a == "-MD" or a == "--tap":
        continue
    out.append(a)
out += ["-c", f"{tmp}/bench-edit-core.c", "-o", f"{tmp}/bench-edit-core.o"]
link = shlex.split(open(f"{tmp}/commands").read().strip().splitlines()[-1])
i = link.index("-o")
objs = [a for a in link if a.endswith(".o")]
link = [a for a in link if a not in objs]
link[i + 1] = f"{tmp}/bench-edit-core"
link.insert(i + 2, f"{tmp}/bench-edit-core.o")
print("cd " + shlex.quote(cc["directory"]))
print(shlex.join(out))
print(shlex.join(link))
PY
then
  if sh -e "$tmp/build.sh" >"$tmp/build.log" 2>&1; then
    core_ok=1
  else
    core_note="the in-process program did not build: $(grep -m1 -E 'error|undefined' "$tmp/build.log" || true)"
  fi
else
  core_note="no meson commands for tests/test-parcel in $build"
fi

declare -A core
if [ "$core_ok" = 1 ]; then
  if /usr/bin/time -f '%e %M' -o "$tmp/core.time" "$tmp/bench-edit-core" "$project" "$edit_fid" \
      "$split_fid" "$batch_from" "$batch" "$repeats" >"$tmp/core.out" 2>"$tmp/core.err"; then
    while read -r k v; do
      case "$k" in
        edit_ms|raw_edit_ms) echo "$v" >>"$tmp/$k" ;;
        *) core[$k]=$v ;;
      esac
    done <"$tmp/core.out"
    core[edit_ms]=$(median <"$tmp/edit_ms")
    core[raw_edit_ms]=$(median <"$tmp/raw_edit_ms")
    core[edit_min]=$(sort -g "$tmp/edit_ms" | head -n 1)
    core[raw_edit_min]=$(sort -g "$tmp/raw_edit_ms" | head -n 1)
    read -r _ kb <"$tmp/core.time"
    core[mb]=$((kb / 1024))
  else
    core_note="the in-process program failed: $(tail -n 1 "$tmp/core.err")"
    core_ok=0
  fi
fi
c() { if [ "$core_ok" = 1 ]; then echo "${core[$1]:-n/a}"; else echo n/a; fi; }

# ---- processes: dothi-cli edit/undo and the spatialite shell ----------------
have_edit=1
"$cli" edit --help >/dev/null 2>&1 || have_edit=0
have_undo=1
"$cli" undo --help >/dev/null 2>&1 || have_undo=0

# geojson FILE FROM COUNT DELTA: updates of so_thua (current + DELTA).
geojson() {
  "$py" - "$project" "$@" <<'PY'
import json, sqlite3, sys
project, out, start, count, delta = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
db = sqlite3.connect(f"file:{project}?mode=ro", uri=True)
rows = db.execute("SELECT fid, so_thua FROM parcels WHERE fid >= ? ORDER BY fid LIMIT ?", (start, count))
feats = [{"type": "Feature", "id": fid, "properties": {"so_thua": v + delta}, "geometry": None}
         for fid, v in rows]
json.dump({"type": "FeatureCollection", "features": feats}, open(out, "w"))
PY
}

# timed OUT_VAR CMD...: wall ms of one process (and peak RSS in MB to OUT_VAR_mb).
timed() {
  local var=$1
  shift
  local a b kb
  a=$(date +%s%N)
  if ! /usr/bin/time -f '%M' -o "$tmp/p.time" "$@" >"$tmp/p.out" 2>"$tmp/p.err"; then
    echo "bench-edit: $* failed: $(tail -n 1 "$tmp/p.err")" >&2
    printf -v "$var" n/a
    printf -v "${var}_mb" n/a
    return 0
  fi
  b=$(date +%s%N)
  kb=$(tail -n 1 "$tmp/p.time")
  printf -v "$var" '%s' "$(ms_of "$a" "$b")"
  printf -v "${var}_mb" '%s' "$((kb / 1024))"
}

cli_edit=n/a cli_edit_mb=n/a cli_edit_json=n/a
cli_batch=n/a cli_batch_mb=n/a cli_undo=n/a cli_undo_mb=n/a
if [ "$have_edit" = 1 ]; then
  : >"$tmp/cli_edit"
  for r in $(seq 1 "$repeats"); do
    geojson "$tmp/one.geojson" "$edit_fid" 1 $(( r % 2 ? 1 : -1 ))
    timed t "$cli" edit "$project" --layer parcels --json "$tmp/one.geojson"
    echo "$t" >>"$tmp/cli_edit"
    cli_edit_mb=$t_mb
    # The in-process time, when the CLI reports it ("ms" in its JSON).
    ms=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("ms", "n/a"))' "$tmp/p.out" 2>/dev/null || echo n/a)
    echo "$ms" >>"$tmp/cli_edit_json"
  done
  cli_edit=$( (grep -v n/a "$tmp/cli_edit" || true) | median)
  cli_edit_json=$( (grep -v n/a "$tmp/cli_edit_json" || true) | median)
  geojson "$tmp/batch.geojson" "$batch_from" "$batch" 1000000
  timed cli_batch "$cli" edit "$project" --layer parcels --json "$tmp/batch.geojson"
  if [ "$have_undo" = 1 ]; then
    timed cli_undo "$cli" undo "$project" --json
  fi
fi

sp_edit=n/a sp_edit_mb=n/a sp_batch=n/a sp_sync=n/a
if [ "$have_spatialite" = 1 ]; then
  : >"$tmp/sp_edit"
  for r in $(seq 1 "$repeats"); do
    timed t spatialite "$project" "UPDATE parcels SET so_thua = so_thua + $(( r % 2 ? 1 : -1 )) WHERE fid = $edit_fid"
    echo "$t" >>"$tmp/sp_edit"
    sp_edit_mb=$t_mb
  done
  sp_edit=$( (grep -v n/a "$tmp/sp_edit" || true) | median)
  timed sp_batch spatialite "$project" \
    "UPDATE parcels SET so_thua = so_thua + 1000000 WHERE fid BETWEEN $batch_from AND $((batch_from + batch - 1))"
  timed t spatialite "$project" \
    "UPDATE parcels SET so_thua = so_thua - 1000000 WHERE fid BETWEEN $batch_from AND $((batch_from + batch - 1))"
  sp_sync=$(spatialite "$project" "PRAGMA synchronous" 2>/dev/null | tail -n 1)
  case "$sp_sync" in 0) sp_sync=OFF ;; 1) sp_sync=NORMAL ;; 2) sp_sync=FULL ;; 3) sp_sync=EXTRA ;; esac
fi
# Process start alone (dothi-cli), start and open of the project (spatialite:
# on :memory: it would build spatial metadata first, slower than the edit).
timed cli_start "$cli" --help
sp_start=n/a
[ "$have_spatialite" = 1 ] && timed sp_start spatialite "$project" "SELECT 1"

row() {
  printf '%-34s %10s %8s %10s %7s  %s\n' "$@"
}
echo
echo "== edit, $n parcels: a copy on $disk (backup ${copy_s} s) =="
row case dothi_ms dothi_MB peer_ms ratio peer
row "(a) 1 attribute edit, process" "$cli_edit" "$cli_edit_mb" "$sp_edit" "$(calc %.2f "$cli_edit / $sp_edit")" "spatialite shell, same UPDATE"
row "(b) 1 attribute edit, in process" "$(c edit_ms)" "$(c mb)" "$(c raw_edit_ms)" "$(calc %.2f "$(c edit_ms) / $(c raw_edit_ms)")" "plain SQLite, same connection kind"
row "(c) split 1 parcel, in process" "$(c split_ms)" "$(c mb)" - - "none (no split in any CLI)"
row "(d) undo of (c), in process" "$(c split_undo_ms)" "$(c mb)" - - -
row "(e) $batch updates, in process" "$(c batch_ms)" "$(c mb)" "$(c raw_batch_ms)" "$(calc %.2f "$(c batch_ms) / $(c raw_batch_ms)")" "plain SQLite, one prepared UPDATE"
row "(f) undo of (e), in process" "$(c batch_undo_ms)" "$(c mb)" "$(c raw_batch_back_ms)" "$(calc %.2f "$(c batch_undo_ms) / $(c raw_batch_back_ms)")" "plain SQLite, the UPDATEs back"
row "(g) $batch updates, process" "$cli_batch" "$cli_batch_mb" "$sp_batch" "$(calc %.2f "$cli_batch / $sp_batch")" "spatialite shell, one UPDATE … BETWEEN"
row "(h) undo of (g), process" "$cli_undo" "$cli_undo_mb" - - -
echo "notes:"
echo "  All on one copy of $source_project made with sqlite3_backup, in $tmp (removed at exit): $disk."
echo "  Every commit is WAL with synchronous=FULL on Dothi's side (an fsync of the WAL per action); the spatialite"
echo "    shell runs with its own default synchronous=${sp_sync:-?}. Both sides fire the audit triggers: the peer's rows are"
echo "    recorded as user \"external\", so each figure includes the audit before/after images (geometry blobs copied)."
echo "  (a) wall time of a whole process: start, open, SpatiaLite init, the edit, commit, close; median of $repeats."
echo "      Bounded by process start and open, not by the edit: dothi-cli --help alone ${cli_start} ms; spatialite opening"
echo "      the copy for a SELECT 1 ${sp_start} ms. dothi-cli edit --json reported ${cli_edit_json} ms inside (n/a: no \"ms\" member)."
echo "  (b) dothi_edit_apply_sync of one update (checks, BEGIN IMMEDIATE, context, UPDATE, audit row, COMMIT), median of"
echo "      $repeats (min $(c edit_min) ms); peer: BEGIN IMMEDIATE, the UPDATE, COMMIT (min $(c raw_edit_min) ms). Both include"
echo "      one fsync of the WAL: the peer's minimum is the floor of a commit on this disk. Other jobs on the machine"
echo "      move these figures by 2-3x between runs: compare within one run."
echo "  (c) dothi_parcel_split_sync: read, GEOS node + polygonize ($(c split_pieces) pieces), NEXT_NUMBER = max(so_thua) of"
echo "      the sheet (through the import's index on so_to, ma_xa, so_thua: one sheet read, not the layer), the"
echo "      change set and its commit; the geometry work is under a millisecond."
echo "  (e)(f) fids $batch_from–$((batch_from + batch - 1)) (neighbours in the generated city); undo checks every row"
echo "      against its after-image. Peer rows do no such check."
echo "  (g)(h) process wall time; (h) undoes (g)."
[ "$have_edit" = 1 ] || echo "  (a)(g)(h): “dothi-cli edit” is missing in this build: n/a."
[ "$have_edit" = 0 ] || [ "$have_undo" = 1 ] || echo "  (h): “dothi-cli undo” is missing in this build: n/a."
[ "$have_spatialite" = 1 ] || echo "  peer shell: spatialite is missing (apt-get install spatialite-bin): n/a."
[ "$core_ok" = 1 ] || echo "  (b)–(f): $core_note"
