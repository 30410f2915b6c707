#!/usr/bin/env bash
# bench/bench-query.sh BUILD_DIR [N_PARCELS]: the spatial queries of issue 6
# on the benchmark city (default 1M parcels, the project bench-render.sh
# builds): q1 parcels within 50 m of water mains of 300 mm or more, q2 each
# sensor station's containing zoning area. Dothi (dothi-cli query, and the
# core in process) against the `spatialite` shell on the same file: the
# parcel-driven EXISTS form and the hand-tuned mains-driven form for q1, the
# R-tree point-in-polygon join for q2. Prints counts (they must match: exit
# 1 if not), times net of start-up, ratios and the targets.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/bench-query.sh BUILD_DIR [N_PARCELS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
n=${2:-1000000}
cli="$build/src/cli/dothi-cli"
work="$build/bench"
py=/usr/bin/python3
repeats=${BENCH_REPEATS:-5}
mkdir -p "$work"

fail() {
  echo "bench-query: $*" >&2
  exit 1
}

[ -x "$cli" ] || fail "no $cli: build first"
command -v spatialite >/dev/null || fail "the spatialite shell is missing: apt-get install spatialite-bin"

tmp=$(mktemp -d -p "$work" query-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---- the city and its project (shared with bench-render.sh, bench-edit.sh) --
city="$work/city-$n.gpkg"
if [ ! -f "$city" ]; then
  "$cli" demo --parcels "$n" "$city.part" >/dev/null
  mv "$city.part" "$city"
fi
project="$work/render-$n.dothi"
if [ ! -f "$project" ]; then
  rm -f "$project.part"*
  "$cli" new "$project.part" >/dev/null
  if ! "$cli" import "$project.part" "$city" >/dev/null; then
    rm -f "$project.part"*
    fail "cannot import $city"
  fi
  mv "$project.part" "$project"
fi
# Every side reads the file from the page cache.
cat "$project" >/dev/null

# ---- the queries ------------------------------------------------------------
q1_layer=parcels
q1_text="within_distance(water_mains, 50, duong_kinh_mm >= 300)"
q2_layer=sensor_stations
q2_text="within(zoning)"

# q1, parcel-driven: for each parcel, the R-tree candidates among the mains.
q1_exists="SELECT count(*) FROM parcels p WHERE EXISTS (SELECT 1 FROM water_mains m
  WHERE m.duong_kinh_mm >= 300 AND m.fid IN (SELECT rowid FROM SpatialIndex
    WHERE f_table_name = 'water_mains' AND search_frame = BuildMbr (MbrMinX (p.geom) - 50,
      MbrMinY (p.geom) - 50, MbrMaxX (p.geom) + 50, MbrMaxY (p.geom) + 50))
  AND ST_Distance (p.geom, m.geom) <= 50)"
# q1, hand-tuned: the filtered mains drive; for each, the parcels in its
# box grown by 50 m from the R-tree, then the exact distance; DISTINCT.
q1_tuned="SELECT count(DISTINCT p.fid) FROM water_mains m JOIN parcels p
  ON p.fid IN (SELECT rowid FROM SpatialIndex WHERE f_table_name = 'parcels'
    AND search_frame = BuildMbr (MbrMinX (m.geom) - 50, MbrMinY (m.geom) - 50,
      MbrMaxX (m.geom) + 50, MbrMaxY (m.geom) + 50))
  WHERE m.duong_kinh_mm >= 300 AND PtDistWithin (p.geom, m.geom, 50)"
# q2: for each station, the zoning areas whose R-tree box holds it, then
# the exact point-in-polygon test. Pairs and distinct stations.
q2_join="SELECT count(*) || '|' || count(DISTINCT s.fid) FROM sensor_stations s JOIN zoning z
  ON z.fid IN (SELECT rowid FROM SpatialIndex WHERE f_table_name = 'zoning'
    AND search_frame = s.geom)
  WHERE ST_Within (s.geom, z.geom)"

# ---- helpers ----------------------------------------------------------------
now_ns() { date +%s%N; }
ms_of() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 1e6}'; }
minimum() {
  sort -g | awk 'NR == 1 {print $1} END {if (NR == 0) print "n/a"}'
}
median() {
  sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
calc() {
  case "$2" in *n/a*) echo n/a; return ;; esac
  awk "BEGIN {printf \"$1\", $2}"
}
# ratio A B: A / B, n/a unless both are positive (a net time below the
# start-up's noise is not a figure).
ratio() {
  case "$1$2" in *n/a*) echo n/a; return ;; esac
  awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.3f", a / b; else print "n/a"}'
}
verdict() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; return; fi
  awk -v v="$1" -v l="$2" 'BEGIN {print (v <= l) ? "OK" : "MISSED"}'
}

# sp_run SQL: one spatialite process with `.timer on`; sets sp_out (the
# result), sp_wall (ms of the process) and sp_cpu (ms of CPU the shell's
# timer gives for the statement: it reports no real time).
sp_run() {
  local a b
  a=$(now_ns)
  if ! printf '.timer on\n%s;\n' "$1" | spatialite -batch -bail -noheader "$project" \
      >"$tmp/sp.out" 2>"$tmp/sp.err"; then
    cat "$tmp/sp.err" >&2
    fail "spatialite failed on: $1"
  fi
  b=$(now_ns)
  grep -q '^Error' "$tmp/sp.err" && { cat "$tmp/sp.err" >&2; fail "spatialite failed on: $1"; }
  sp_wall=$(ms_of "$a" "$b")
  sp_out=$(grep -v '^CPU Time' "$tmp/sp.out" | tail -n 1)
  sp_cpu=$(awk '/^CPU Time/ {printf "%.1f", ($4 + $6) * 1000}' "$tmp/sp.out" | tail -n 1)
}

# sp_bench NAME SQL TIMES: TIMES runs; NAME_count, NAME_wall and NAME_cpu
# (the best run's ms: other jobs on the machine only ever add time).
sp_bench() {
  local name=$1 sql=$2 times=$3 walls=() cpus=() out=
  for _ in $(seq 1 "$times"); do
    sp_run "$sql"
    walls+=("$sp_wall")
    cpus+=("$sp_cpu")
    out=$sp_out
  done
  printf -v "${name}_count" '%s' "$out"
  printf -v "${name}_wall" '%s' "$(printf '%s\n' "${walls[@]}" | minimum)"
  printf -v "${name}_cpu" '%s' "$(printf '%s\n' "${cpus[@]}" | minimum)"
}

# ---- the spatialite shell ---------------------------------------------------
echo "bench-query: $n parcels, $project" >&2
sp_bench sp_empty "SELECT 1" 5
echo "bench-query: spatialite q1 hand-tuned…" >&2
sp_bench sp_q1t "$q1_tuned" "$repeats"
echo "bench-query: spatialite q1 parcel-driven EXISTS (the slow one)…" >&2
sp_bench sp_q1e "$q1_exists" 1
echo "bench-query: spatialite q2…" >&2
sp_bench sp_q2 "$q2_join" "$repeats"
sp_q2_pairs=${sp_q2_count%%|*}
sp_q2_count=${sp_q2_count##*|}
net() { calc %.1f "$1 - $sp_empty_wall"; }
sp_q1t_net=$(net "$sp_q1t_wall")
sp_q1e_net=$(net "$sp_q1e_wall")
sp_q2_net=$(net "$sp_q2_wall")

# ---- Dothi: dothi-cli query --------------------------------------------------
have_cli_query=0
if "$cli" query --help 2>/dev/null | grep -q -- '--count'; then
  have_cli_query=1
fi

# cli_run LAYER TEXT: sets cli_count, cli_wall (ms), cli_ms (the time
# --explain reports on its "result: … in N ms" line, n/a without one), leaves
# the plan in $tmp/cli.plan (stderr of --explain).
cli_run() {
  local a b
  a=$(now_ns)
  if ! "$cli" query "$project" --layer "$1" --where "$2" --count --explain \
      >"$tmp/cli.out" 2>"$tmp/cli.plan"; then
    cat "$tmp/cli.plan" >&2
    fail "dothi-cli query --layer $1 --where \"$2\" failed"
  fi
  b=$(now_ns)
  cli_wall=$(ms_of "$a" "$b")
  cli_count=$(grep -Eo '[0-9]+' "$tmp/cli.out" | tail -n 1)
  cli_ms=$(sed -n 's/^result:.* in \([0-9.]*\) ms.*$/\1/p' "$tmp/cli.plan" | tail -n 1)
  [ -n "$cli_ms" ] || cli_ms=n/a
}

# cli_bench NAME LAYER TEXT: best of $repeats; NAME_count, NAME_wall,
# NAME_ms, and the plan of the last run in $tmp/NAME.plan.
cli_bench() {
  local name=$1 walls=() mss=()
  for _ in $(seq 1 "$repeats"); do
    cli_run "$2" "$3"
    walls+=("$cli_wall")
    mss+=("$cli_ms")
  done
  printf -v "${name}_count" '%s' "$cli_count"
  printf -v "${name}_wall" '%s' "$(printf '%s\n' "${walls[@]}" | minimum)"
  printf -v "${name}_ms" '%s' "$( (printf '%s\n' "${mss[@]}" | grep -v n/a || true) | minimum)"
  cp "$tmp/cli.plan" "$tmp/$name.plan"
}

cli_empty_wall=n/a cli_q1_wall=n/a cli_q1_count=n/a cli_q1_ms=n/a
cli_q2_wall=n/a cli_q2_count=n/a cli_q2_ms=n/a
if [ "$have_cli_query" = 1 ]; then
  echo "bench-query: dothi-cli query…" >&2
  # Start-up: process, libraries, project open, a query that finds nothing
  # from the fid index.
  cli_bench cli_empty parcels "fid < 0"
  cli_bench cli_q1 "$q1_layer" "$q1_text"
  cli_bench cli_q2 "$q2_layer" "$q2_text"
fi
cli_net() { calc %.1f "$1 - $cli_empty_wall"; }
cli_q1_net=$(cli_net "$cli_q1_wall")
cli_q2_net=$(cli_net "$cli_q2_wall")

# ---- Dothi in process: a C program on the core library ----------------------
cat >"$tmp/bench-query-core.c" <<'EOF'
/* In-process timings of dothi_query_new + dothi_query_run: the count, the
 * time of each run and the plan of the last one. */
#include "config.h"
#include <stdlib.h>
#include "dothi-query.h"

int
main (int argc, char **argv)
{
  const char *path = argv[1], *layer = argv[2], *text = argv[3];
  int repeats = atoi (argv[4]);
  GError *error = NULL;
  DothiQuery *query;

  for (int r = 0; r < repeats; r++)
    {
      gint64 t0 = g_get_monotonic_time (), t1, t2;
      DothiFidSet *fids;

      query = dothi_query_new (path, layer, text, &error);
      if (query == NULL)
        {
          g_printerr ("bench-query-core: %s\n", error->message);
          return 1;
        }
      t1 = g_get_monotonic_time ();
      fids = dothi_query_run (query, NULL, NULL, NULL, &error);
      t2 = g_get_monotonic_time ();
      if (fids == NULL)
        {
          g_printerr ("bench-query-core: %s\n", error->message);
          return 1;
        }
      g_print ("count %u\nparse_ms %.1f\nrun_ms %.1f\n", dothi_fid_set_get_size (fids),
               (t1 - t0) / 1000.0, (t2 - t1) / 1000.0);
      if (r == repeats - 1)
        g_printerr ("%s", dothi_query_get_plan (query) != NULL ? dothi_query_get_plan (query) : "(no plan)\n");
      dothi_fid_set_unref (fids);
      dothi_query_free (query);
    }
  return 0;
}
EOF

core_ok=0
core_note=
if ninja -C "$build" -t commands tests/test-query >"$tmp/commands" 2>/dev/null \
    && [ -f "$build/src/core/libdothi-core.a" ] \
    && "$py" - "$build" "$tmp" >"$tmp/build.sh" 2>"$tmp/build.err" <<'PY'
import json, shlex, sys
build, tmp = sys.argv[1], sys.argv[2]
cc = next(e for e in json.load(open(f"{build}/compile_commands.json"))
          if e["file"].endswith("tests/test-query.c"))
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
out += ["-c", f"{tmp}/bench-query-core.c", "-o", f"{tmp}/bench-query-core.o"]
link = shlex.split(open(f"{tmp}/commands").read().strip().splitlines()[-1])
i = link.index("-o")
objs = [a for a in link if a.endswith(".o")]
link = [a for a in link if a not in objs]
link[i + 1] = f"{tmp}/bench-query-core"
link.insert(i + 2, f"{tmp}/bench-query-core.o")
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
  core_note="no meson commands for tests/test-query in $build"
fi

# core_bench NAME LAYER TEXT: NAME_count, NAME_run (best ms of
# dothi_query_run), NAME_med (median), NAME_parse; the plan in $tmp/NAME.plan.
core_bench() {
  local name=$1
  printf -v "${name}_count" n/a
  printf -v "${name}_run" n/a
  printf -v "${name}_med" n/a
  printf -v "${name}_parse" n/a
  [ "$core_ok" = 1 ] || return 0
  if ! "$tmp/bench-query-core" "$project" "$2" "$3" "$repeats" >"$tmp/$name.out" 2>"$tmp/$name.plan"; then
    cat "$tmp/$name.plan" >&2
    fail "the in-process query $3 failed"
  fi
  printf -v "${name}_count" '%s' "$(awk '$1 == "count" {v = $2} END {print v}' "$tmp/$name.out")"
  printf -v "${name}_run" '%s' "$(awk '$1 == "run_ms" {print $2}' "$tmp/$name.out" | minimum)"
  printf -v "${name}_med" '%s' "$(awk '$1 == "run_ms" {print $2}' "$tmp/$name.out" | median)"
  printf -v "${name}_parse" '%s' "$(awk '$1 == "parse_ms" {print $2}' "$tmp/$name.out" | median)"
}
echo "bench-query: in process…" >&2
core_bench core_q1 "$q1_layer" "$q1_text"
core_bench core_q2 "$q2_layer" "$q2_text"

# ---- counts -----------------------------------------------------------------
status=0
check_counts() {
  local what=$1 expected=$2
  shift 2
  for c in "$@"; do
    [ "$c" = n/a ] && continue
    if [ "$c" != "$expected" ]; then
      echo "bench-query: $what: count $c differs from the peer's $expected" >&2
      status=1
    fi
  done
}
check_counts q1 "$sp_q1t_count" "$sp_q1e_count" "$cli_q1_count" "$core_q1_count"
check_counts q2 "$sp_q2_count" "$cli_q2_count" "$core_q2_count"

# ---- report -----------------------------------------------------------------
# Dothi's figure for the ratio: the CLI net of its start-up when there is a
# CLI, else the in-process run.
# (the first positive one of: CLI net, --explain time, in-process run).
pick() {
  for v in "$@"; do
    if [ "$v" != n/a ] && awk -v v="$v" 'BEGIN {exit !(v > 0)}'; then echo "$v"; return; fi
  done
  echo n/a
}
q1_dothi=$(pick "$cli_q1_net" "$cli_q1_ms" "$core_q1_run")
q2_dothi=$(pick "$cli_q2_net" "$cli_q2_ms" "$core_q2_run")
q1_ratio=$(ratio "$q1_dothi" "$sp_q1t_net")
q1_ratio_e=$(ratio "$q1_dothi" "$sp_q1e_net")
q2_ratio=$(ratio "$q2_dothi" "$sp_q2_net")
q1_core_ratio=$(ratio "$core_q1_run" "$sp_q1t_net")
q2_core_ratio=$(ratio "$core_q2_run" "$sp_q2_net")
q1_explain_ratio=$(ratio "$cli_q1_ms" "$sp_q1t_net")
q2_explain_ratio=$(ratio "$cli_q2_ms" "$sp_q2_net")

row() {
  printf '%-44s %9s %11s %11s %9s\n' "$@"
}
echo
echo "== query, $n parcels: $project =="
row "side" count wall_ms net_ms cpu_ms
row "spatialite: start-up (SELECT 1)" - "$sp_empty_wall" - "$sp_empty_cpu"
row "q1 spatialite, parcel-driven EXISTS" "$sp_q1e_count" "$sp_q1e_wall" "$sp_q1e_net" "$sp_q1e_cpu"
row "q1 spatialite, hand-tuned mains-driven" "$sp_q1t_count" "$sp_q1t_wall" "$sp_q1t_net" "$sp_q1t_cpu"
row "q1 dothi-cli query --count" "$cli_q1_count" "$cli_q1_wall" "$cli_q1_net" -
row "q1 dothi-cli query, its --explain time" - - "$cli_q1_ms" -
row "q1 Dothi in process (dothi_query_run)" "$core_q1_count" - "$core_q1_run" -
row "q2 spatialite, R-tree point-in-polygon join" "$sp_q2_count" "$sp_q2_wall" "$sp_q2_net" "$sp_q2_cpu"
row "q2 dothi-cli query --count" "$cli_q2_count" "$cli_q2_wall" "$cli_q2_net" -
row "q2 dothi-cli query, its --explain time" - - "$cli_q2_ms" -
row "q2 Dothi in process (dothi_query_run)" "$core_q2_count" - "$core_q2_run" -
row "dothi-cli: start-up (fid < 0)" - "$cli_empty_wall" - -
echo
echo "ratios (Dothi net ms / peer net ms; target):"
printf '  q1 vs hand-tuned:   %7s  (--explain %s, in process %s)  target <= 0.25  %s\n' "$q1_ratio" "$q1_explain_ratio" "$q1_core_ratio" "$(verdict "$q1_ratio" 0.25)"
printf '  q1 vs EXISTS form:  %7s\n' "$q1_ratio_e"
printf '  q2 vs R-tree join:  %7s  (--explain %s, in process %s)  target <= 0.3   %s\n' "$q2_ratio" "$q2_explain_ratio" "$q2_core_ratio" "$(verdict "$q2_ratio" 0.3)"
printf '  spatialite: EXISTS / hand-tuned = %s\n' "$(ratio "$sp_q1e_net" "$sp_q1t_net")"
echo
for name in core_q1 core_q2 cli_q1 cli_q2; do
  if [ -s "$tmp/$name.plan" ]; then
    echo "plan ($name):"
    sed 's/^/  /' "$tmp/$name.plan"
  fi
done
echo "notes:"
echo "  q1: $q1_layer where $q1_text; q2: $q2_layer where $q2_text (the stations that lie in a zoning"
echo "      area; the peer's join gives $sp_q2_pairs station-area pairs for $sp_q2_count stations)."
echo "  net = best wall time of the process ($repeats runs; the EXISTS form once) minus the best start-up of the"
echo "      same program (spatialite: SELECT 1 on the file; dothi-cli: query \"fid < 0\"), the file in the page"
echo "      cache. cpu = the shell's .timer (user + sys of the statement; it reports no real time)."
echo "  Dothi in process: best dothi_query_run of $repeats (median ${core_q1_med} / ${core_q2_med} ms), after"
echo "      dothi_query_new (${core_q1_parse} / ${core_q2_parse} ms); each run opens its own read-only connection."
echo "  Ratios (and the verdict) use dothi-cli's net wall time when it is above the start-up noise, else the"
echo "      time --explain reports, else the C program's; in brackets the same against those two. n/a: a net"
echo "      time at or below zero (small cities: the start-up's noise is larger than the query)."
echo "  $(nproc) CPUs; other jobs on the machine move these figures: compare within one run."
[ "$have_cli_query" = 1 ] || echo "  “dothi-cli query --count” is missing in this build: its rows are n/a."
[ "$core_ok" = 1 ] || echo "  in process: $core_note"
if [ "$status" != 0 ]; then
  echo "COUNTS DIFFER (see above)" >&2
fi
exit "$status"
