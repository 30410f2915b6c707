#!/usr/bin/env bash
# bench/bench-network.sh BUILD_DIR [N_PARCELS]: the utility network of issue 8
# on a copy of the benchmark city (default 1M parcels, the project
# bench-render.sh builds): the water network (water_mains, water_valves with
# trang_thai, a source point added from GeoJSON), timed in process (a small
# C program built with meson's own commands for test-network-pgrouting):
# topology build, connected / upstream / downstream traces, shortest path,
# isolation and its parcel lookup. Peers in the same run: pgRouting 3 in a
# PostgreSQL 15 server started here on 127.0.0.1 (pgr_createTopology on the
# mains; pgr_connectedComponents, pgr_drivingDistance and pgr_dijkstra on
# Dothi's own edges, whose answers must match: exit 1 if not) and SpatiaLite
# 5 (CreateRoutingNodes + CreateRouting on the mains, a VirtualRouting
# within-cost query). Prints times, ratios and the targets.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/bench-network.sh BUILD_DIR [N_PARCELS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
n=${2:-1000000}
cli="$build/src/cli/dothi-cli"
work="$build/bench"
py=/usr/bin/python3
repeats=${BENCH_REPEATS:-5}
pg_bindir=${DOTHI_PG_BINDIR:-/usr/lib/postgresql/15/bin}
tolerance=0.5
mkdir -p "$work"

fail() {
  echo "bench-network: $*" >&2
  exit 1
}

[ -x "$cli" ] || fail "no $cli: build first"

tmp=$(mktemp -d -p "$work" network-XXXXXX)
pg_dir=
pg_runas=()
cleanup() {
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    "${pg_runas[@]}" "$pg_bindir/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  [ -z "$pg_dir" ] || rm -rf "$pg_dir"
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the city, its project and a copy (shared with bench-render.sh) ---------
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
project="$tmp/network.dothi"
echo "bench-network: copying $source_project…" >&2
# sqlite3_backup (the WAL's content included), never a file copy (DESIGN.md §2).
"$py" - "$source_project" "$project" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.execute("PRAGMA journal_mode=WAL")
dst.close()
PY

# ---- the source: a point at the start of the first of the widest mains ------
read -r src_fid src_x src_y < <("$py" - "$project" <<'PY'
import sqlite3, struct, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
fid, blob = db.execute("SELECT fid, geom FROM water_mains ORDER BY duong_kinh_mm DESC, fid LIMIT 1").fetchone()
# SpatiaLite blob: 0x00, endian, srid, mbr (4 doubles), 0x7C, class (MULTILINESTRING 5),
# number of parts, then the first part: 0x69, class 2, number of points, points.
e = "<" if blob[1] == 1 else ">"
assert struct.unpack_from(e + "i", blob, 39)[0] == 5, "water_mains is not a plain MULTILINESTRING blob"
off = 39 + 4 + 4 + 1 + 4 + 4
x, y = struct.unpack_from(e + "dd", blob, off)
print(fid, repr(x), repr(y))
PY
)
[ -n "${src_y:-}" ] || fail "no water_mains in $project"
printf '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"ten": "Nhà máy nước"}, "geometry": {"type": "Point", "coordinates": [%s, %s]}}]}\n' \
  "$src_x" "$src_y" >"$tmp/nguon_nuoc.geojson"
"$cli" import --src-crs EPSG:9218 "$project" "$tmp/nguon_nuoc.geojson" >/dev/null \
  || fail "cannot import the source point"

cat >"$tmp/definition.json" <<EOF
{"name": "cap_nuoc", "tolerance": $tolerance,
 "edges": [{"layer": "water_mains", "id_field": "ma_ong", "length_field": null}],
 "nodes": [{"layer": "water_valves", "role": "valve", "id_field": "ma_van",
            "status_field": "trang_thai", "open": ["mở"], "closed": ["đóng"], "seized": ["kẹt"]},
           {"layer": "nguon_nuoc", "role": "source"}],
 "parcels": {"layer": "parcels", "service_distance": 30}}
EOF

# ---- helpers ----------------------------------------------------------------
now_ns() { date +%s%N; }
ms_of() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 1e6}'; }
minimum() {
  sort -g | awk 'NR == 1 {print $1} END {if (NR == 0) print "n/a"}'
}
median() {
  sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
calc() {
  case "$2" in *n/a*) echo n/a; return ;; esac
  awk "BEGIN {printf \"$1\", $2}"
}
ratio() {
  case "$1$2" in *n/a*) echo n/a; return ;; esac
  awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.4f", a / b; else print "n/a"}'
}
verdict() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; return; fi
  awk -v v="$1" -v l="$2" 'BEGIN {print (v <= l) ? "OK" : "MISSED"}'
}

# ---- Dothi in process ---------------------------------------------------------
cat >"$tmp/bench-network-core.c" <<'EOF'
/* In-process timings of the network core on the copy: define, build (best
 * of REPEATS), save, traces, isolation and its parcels; writes Dothi's
 * edges for pgRouting (closed valves split into one vertex per edge end,
 * so no path passes them). */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "dothi-network.h"
#include "dothi-project.h"

static void
die (const char *what, GError *error)
{
  g_printerr ("bench-network-core: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static double
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000.0;
}

int
main (int argc, char **argv)
{
  const char *path = argv[1], *json_path = argv[2], *edges_path = argv[3];
  int repeats = atoi (argv[4]);
  GError *error = NULL;
  DothiProject *project;
  DothiNetwork *net = NULL;
  char *json = NULL;
  guint n_nodes, n_edges, source, far = 0, mid_edge;
  DothiNetworkNode node;
  DothiNetworkEdge edge;
  double sx, sy, cx, cy, best = -1, pos;
  DothiTrace *trace, *iso;
  gint64 t0;
  FILE *out;

  if (!g_file_get_contents (json_path, &json, NULL, &error))
    die ("definition", error);
  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    die ("open", error);
  t0 = g_get_monotonic_time ();
  if (!dothi_network_define (project, json, &error))
    die ("define", error);
  g_print ("define_ms %.2f\n", ms_since (t0));

  for (int r = 0; r < repeats; r++)
    {
      if (net != NULL)
        dothi_network_free (net);
      t0 = g_get_monotonic_time ();
      net = dothi_network_build (path, "cap_nuoc", NULL, &error);
      if (net == NULL)
        die ("build", error);
      g_print ("build_ms %.2f\n", ms_since (t0));
    }
  n_nodes = dothi_network_get_n_nodes (net);
  n_edges = dothi_network_get_n_edges (net);
  g_print ("nodes %u\nedges %u\n", n_nodes, n_edges);
  t0 = g_get_monotonic_time ();
  if (!dothi_network_save (net, project, &error))
    die ("save", error);
  g_print ("save_ms %.2f\n", ms_since (t0));

  source = dothi_network_find_node (net, "nguon_nuoc", 1);
  if (source == G_MAXUINT)
    die ("no node for the source point", NULL);
  dothi_network_get_node (net, source, &node);
  sx = node.x;
  sy = node.y;
  for (guint i = 0; i < n_nodes; i++)
    {
      double d;

      dothi_network_get_node (net, i, &node);
      d = hypot (node.x - sx, node.y - sy);
      if (d > best && !((node.role == DOTHI_NODE_VALVE || node.role == DOTHI_NODE_SWITCH)
                        && node.state == DOTHI_VALVE_CLOSED))
        {
          best = d;
          far = i;
        }
    }
  /* the break: the edge nearest the point two thirds of the way from the
   * source to the farthest node (a break by the only source cuts off the
   * whole network) */
  dothi_network_get_node (net, far, &node);
  cx = sx + (node.x - sx) * 2 / 3;
  cy = sy + (node.y - sy) * 2 / 3;
  mid_edge = dothi_network_nearest_edge (net, cx, cy, 2000, &pos);
  if (mid_edge == G_MAXUINT)
    die ("no edge near the break point", NULL);
  g_print ("source %u\nfar %u\nmid_edge %u\n", source, far, mid_edge);

#define TIMED(label, call, report)                                          \
  for (int r = 0; r < repeats; r++)                                         \
    {                                                                       \
      t0 = g_get_monotonic_time ();                                         \
      trace = (call);                                                       \
      if (trace == NULL)                                                    \
        die (label, error);                                                 \
      g_print (label "_ms %.3f\n", ms_since (t0));                          \
      if (r == repeats - 1)                                                 \
        report;                                                             \
      dothi_trace_free (trace);                                             \
    }

  TIMED ("connected", dothi_network_trace_connected (net, source, &error),
         g_print ("connected_nodes %u\nconnected_edges %u\nconnected_m %.3f\n",
                  trace->nodes->len, trace->edges->len, trace->length));
  TIMED ("upstream", dothi_network_trace_upstream (net, far, &error),
         g_print ("upstream_edges %u\nupstream_m %.3f\n", trace->edges->len, trace->length));
  TIMED ("downstream", dothi_network_trace_downstream (net, source, &error),
         g_print ("downstream_edges %u\n", trace->edges->len));
  TIMED ("path", dothi_network_shortest_path (net, source, far, &error),
         g_print ("path_edges %u\npath_m %.6f\n", trace->edges->len, trace->length));
  TIMED ("isolate", dothi_network_isolate (net, mid_edge, NULL, 0, &error),
         g_print ("isolate_valves %u\nisolate_closed %u\nisolate_lost %u\nisolate_customers %u\n",
                  trace->valves_to_close->len, trace->valves_closed->len,
                  trace->lost_edges->len, trace->customers->len));
  /* the parcels of the isolation, then the "valve seized" re-run */
  iso = dothi_network_isolate (net, mid_edge, NULL, 0, &error);
  if (iso == NULL)
    die ("isolate", error);
  for (int r = 0; r < repeats; r++)
    {
      t0 = g_get_monotonic_time ();
      if (!dothi_network_trace_parcels (net, iso, NULL, &error))
        die ("parcels", error);
      g_print ("parcels_ms %.3f\n", ms_since (t0));
    }
  g_print ("parcels %u\n", iso->parcels->len);
  if (iso->valves_to_close->len > 0)
    {
      guint seized = g_array_index (iso->valves_to_close, guint, 0);

      TIMED ("seized", dothi_network_isolate (net, mid_edge, &seized, 1, &error),
             g_print ("seized_valves %u\nseized_lost %u\n", trace->valves_to_close->len,
                      trace->lost_edges->len));
    }
  dothi_trace_free (iso);

  out = fopen (edges_path, "w");
  for (guint e = 0; e < n_edges; e++)
    {
      gint64 v[2];

      dothi_network_get_edge (net, e, &edge);
      for (int side = 0; side < 2; side++)
        {
          guint m = side ? edge.node_b : edge.node_a;

          dothi_network_get_node (net, m, &node);
          if ((node.role == DOTHI_NODE_VALVE || node.role == DOTHI_NODE_SWITCH)
              && node.state == DOTHI_VALVE_CLOSED)
            v[side] = (gint64) n_nodes + 1 + 2 * (gint64) e + side;
          else
            v[side] = m + 1;
        }
      fprintf (out, "%u\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%.17g\t%.17g\t%u\t%u\n",
               e + 1, v[0], v[1], edge.length, edge.length, edge.node_a, edge.node_b);
    }
  fclose (out);
  dothi_network_free (net);
  dothi_project_close (project);
  g_object_unref (project);
  g_free (json);
  return 0;
}
EOF

core_ok=0
core_note=
if ninja -C "$build" -t commands tests/test-network-pgrouting >"$tmp/commands" 2>/dev/null \
    && [ -f "$build/src/core/libdothi-core.a" ] \
    && "$py" - "$build" "$tmp" >"$tmp/build.sh" 2>"$tmp/build.err" <<'PY'
import json, shlex, sys
build, tmp = sys.argv[1], sys.argv[2]
cc = next(e for e in json.load(open(f"{build}/compile_commands.json"))
          if e["file"].endswith("tests/test-network-pgrouting.c"))
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
out += ["-c", f"{tmp}/bench-network-core.c", "-o", f"{tmp}/bench-network-core.o"]
link = shlex.split(open(f"{tmp}/commands").read().strip().splitlines()[-1])
i = link.index("-o")
objs = [a for a in link if a.endswith(".o")]
link = [a for a in link if a not in objs]
link[i + 1] = f"{tmp}/bench-network-core"
link.insert(i + 2, f"{tmp}/bench-network-core.o")
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
  core_note="no meson commands for tests/test-network-pgrouting in $build"
fi
[ "$core_ok" = 1 ] || fail "$core_note"

echo "bench-network: Dothi in process…" >&2
/usr/bin/time -f '%e %M' -o "$tmp/core.time" "$tmp/bench-network-core" "$project" \
  "$tmp/definition.json" "$tmp/edges.tsv" "$repeats" >"$tmp/core.out" 2>"$tmp/core.err" \
  || fail "the in-process program failed: $(tail -n 3 "$tmp/core.err")"
declare -A core
while read -r k v; do
  case "$k" in
    *_ms) echo "$v" >>"$tmp/$k" ;;
    *) core[$k]=$v ;;
  esac
done <"$tmp/core.out"
for k in build connected upstream downstream path isolate parcels seized; do
  if [ -f "$tmp/${k}_ms" ]; then
    core[${k}_best]=$(minimum <"$tmp/${k}_ms")
    core[${k}_med]=$(median <"$tmp/${k}_ms")
    core[${k}_first]=$(head -n 1 "$tmp/${k}_ms")
  else
    core[${k}_best]=n/a
    core[${k}_med]=n/a
    core[${k}_first]=n/a
  fi
done
core[save]=$(cat "$tmp/save_ms")
read -r _ kb <"$tmp/core.time"
core[mb]=$((kb / 1024))
c() { echo "${core[$1]:-n/a}"; }

# ---- dothi-cli network, when the CLI has it ------------------------------------
cli_build=n/a
if "$cli" network build --help >"$tmp/cli.help" 2>&1; then
  # the network by option or as the argument after the project
  if grep -q -- '--network' "$tmp/cli.help"; then
    cli_args=("$project" --network cap_nuoc)
  else
    cli_args=("$project" cap_nuoc)
  fi
  walls=()
  for _ in $(seq 1 3); do
    a=$(now_ns)
    if "$cli" network build "${cli_args[@]}" >/dev/null 2>"$tmp/cli.err"; then
      walls+=("$(ms_of "$a" "$(now_ns)")")
    else
      echo "bench-network: dothi-cli network build failed: $(tail -n 1 "$tmp/cli.err")" >&2
      break
    fi
  done
  [ ${#walls[@]} -eq 0 ] || cli_build=$(printf '%s\n' "${walls[@]}" | minimum)
fi

# ---- SpatiaLite: CreateRoutingNodes + CreateRouting on the mains -------------
sp_nodes=n/a sp_routing=n/a sp_total=n/a sp_within=n/a sp_within_count=n/a sp_start=n/a sp_note=
if command -v spatialite >/dev/null; then
  echo "bench-network: SpatiaLite CreateRouting…" >&2
  sp_db="$tmp/routing.sqlite"
  # The mains as LINESTRING (CreateRouting takes no MULTILINESTRING), in a
  # database of their own; not timed.
  spatialite -batch -bail "$sp_db" >/dev/null 2>"$tmp/sp.err" <<EOF || fail "spatialite: $(tail -n 1 "$tmp/sp.err")"
SELECT InitSpatialMetadata (1);
ATTACH DATABASE '$project' AS p;
CREATE TABLE mains (fid INTEGER PRIMARY KEY);
SELECT AddGeometryColumn ('mains', 'geom', 9218, 'LINESTRING', 'XY');
INSERT INTO mains SELECT fid, CastToLinestring (geom) FROM p.water_mains;
DETACH DATABASE p;
EOF
  sp_time() {
    local a
    a=$(now_ns)
    printf '%s\n' "$1" | spatialite -batch -bail -noheader "$sp_db" >"$tmp/sp.out" 2>"$tmp/sp.err" \
      || fail "spatialite failed on $1: $(tail -n 1 "$tmp/sp.err")"
    grep -q '^Error' "$tmp/sp.err" && fail "spatialite failed on $1: $(grep -m1 '^Error' "$tmp/sp.err")"
    sp_ms=$(ms_of "$a" "$(now_ns)")
  }
  sp_time "SELECT 1;"
  sp_start=$sp_ms
  sp_time "SELECT CreateRoutingNodes (NULL, 'mains', 'geom', 'node_from', 'node_to');"
  [ "$(tail -n 1 "$tmp/sp.out")" = 1 ] || fail "CreateRoutingNodes failed"
  sp_nodes=$(calc %.1f "$sp_ms - $sp_start")
  sp_time "SELECT CreateRouting ('mains_rd', 'mains_rt', 'mains', 'node_from', 'node_to', 'geom', NULL, NULL, 0, 1);"
  [ "$(tail -n 1 "$tmp/sp.out")" = 1 ] || fail "CreateRouting failed"
  sp_routing=$(calc %.1f "$sp_ms - $sp_start")
  sp_total=$(calc %.1f "$sp_nodes + $sp_routing")
  sp_from=$(printf 'SELECT node_from FROM mains WHERE fid = %s;\n' "$src_fid" | spatialite -batch -noheader "$sp_db" 2>/dev/null | tail -n 1)
  # 20 queries in one process: one alone is within the start-up's noise.
  sp_queries=$(for _ in $(seq 1 20); do echo "SELECT count (*) FROM mains_rt WHERE NodeFrom = $sp_from AND Cost <= 1e12;"; done)
  walls=()
  for _ in $(seq 1 3); do
    sp_time "$sp_queries"
    walls+=("$(calc %.2f "($sp_ms - $sp_start) / 20")")
  done
  sp_within=$(printf '%s\n' "${walls[@]}" | minimum)
  sp_within_count=$(tail -n 1 "$tmp/sp.out")
else
  sp_note="the spatialite shell is missing (apt-get install spatialite-bin)"
fi

# ---- pgRouting ------------------------------------------------------------------
pg_topology=n/a pg_vertices=n/a pg_cc=n/a pg_cc_n=n/a pg_dd=n/a pg_dd_n=n/a
pg_dj=n/a pg_dj_m=n/a pg_note= pg_version=
status=0
if [ -x "$pg_bindir/initdb" ] && [ -x "$pg_bindir/psql" ]; then
  pg_dir=$(mktemp -d)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || fail "running as root: PostgreSQL needs the postgres user"
    chown postgres: "$pg_dir"
    pg_runas=(runuser -u postgres --)
  fi
  port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "bench-network: PostgreSQL 15 on 127.0.0.1:$port…" >&2
  "${pg_runas[@]}" "$pg_bindir/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1 || fail "initdb: $(tail -n 3 "$tmp/initdb.log")"
  "${pg_runas[@]}" "$pg_bindir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c fsync=off -c shared_buffers=512MB -c work_mem=256MB -c max_wal_size=4GB" \
    start >/dev/null || fail "pg_ctl start: $(tail -n 3 "$pg_dir/server.log")"
  psql_run() {
    "$pg_bindir/psql" -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
  }
  if ! psql_run -c "SET client_min_messages = warning; CREATE EXTENSION postgis; CREATE EXTENSION pgrouting;" \
      >/dev/null 2>"$tmp/pg.err"; then
    pg_note="PostGIS or pgRouting is missing: apt-get install postgresql-15-postgis-3 postgresql-15-pgrouting"
  else
    pg_version=$(psql_run -c "SELECT 'pgRouting ' || pgr_version () || ', PostGIS ' || postgis_lib_version ()")
    # The mains' lines (WKT from SpatiaLite) and Dothi's edges; not timed.
    printf '.mode tabs\nSELECT fid, AsText (geom) FROM water_mains;\n' \
      | spatialite -batch -noheader "$project" >"$tmp/mains.tsv" 2>/dev/null
    psql_run >/dev/null <<EOF
SET client_min_messages = warning;
CREATE TABLE mains_wkt (fid bigint, wkt text);
\\copy mains_wkt FROM '$tmp/mains.tsv'
CREATE TABLE mains AS SELECT (row_number () OVER (ORDER BY fid, path))::integer AS id, fid,
  geom AS the_geom, NULL::integer AS source, NULL::integer AS target
  FROM (SELECT fid, (ST_Dump (ST_GeomFromText (wkt))).* FROM mains_wkt) d;
CREATE TABLE dn (id bigint PRIMARY KEY, source bigint, target bigint, cost float8, reverse_cost float8,
  na bigint, nb bigint);
\\copy dn FROM '$tmp/edges.tsv'
VACUUM ANALYZE mains;
VACUUM ANALYZE dn;
EOF
    # pg_time NAME SQL TIMES: the best server-side time (\timing) of TIMES runs;
    # NAME (ms) and NAME_out (the last result).
    pg_time() {
      local name=$1 sql=$2 times=$3 ms
      ms=$( { printf 'SET client_min_messages = warning;\n\\timing on\n'
              for _ in $(seq 1 "$times"); do printf '%s\n' "$sql"; done; } \
            | psql_run 2>"$tmp/pg.err" | tee "$tmp/pg.out" \
            | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | minimum)
      [ -s "$tmp/pg.err" ] && grep -q ERROR "$tmp/pg.err" && fail "psql: $(grep -m1 ERROR "$tmp/pg.err")"
      printf -v "$name" '%s' "$ms"
      printf -v "${name}_out" '%s' "$(grep -v '^Time:' "$tmp/pg.out" | tail -n 1)"
    }
    echo "bench-network: pgr_createTopology on $(wc -l <"$tmp/mains.tsv") mains (tens of seconds)…" >&2
    pg_time pg_topology "SELECT pgr_createTopology ('mains', $tolerance, 'the_geom', 'id', 'source', 'target', clean := true);" 1
    [ "$pg_topology_out" = OK ] || fail "pgr_createTopology: $pg_topology_out"
    pg_vertices=$(psql_run -c "SELECT count (*) FROM mains_vertices_pgr")
    edges_sql="SELECT id, source, target, cost, reverse_cost FROM dn"
    echo "bench-network: pgRouting traces on Dothi's edges…" >&2
    pg_time pg_cc "SELECT count (DISTINCT component) FROM pgr_connectedComponents ('$edges_sql');" 3
    pg_cc_n=$pg_cc_out
    pg_time pg_dd "SELECT count (*) FROM pgr_drivingDistance ('$edges_sql', $(( ${core[source]} + 1 )), 1e300, false);" 3
    pg_dd_n=$pg_dd_out
    pg_time pg_dj "SELECT max (agg_cost) FROM pgr_dijkstra ('$edges_sql', $(( ${core[source]} + 1 )), $(( ${core[far]} + 1 )), false);" 3
    pg_dj_m=$pg_dj_out
    # The same answers: the reach mapped back to Dothi's nodes (a closed
    # valve's per-edge-end vertices to the valve) and the path length.
    n_nodes=$(c nodes)
    pg_reach=$(psql_run -c "SELECT count (DISTINCT CASE WHEN r.node <= $n_nodes THEN r.node - 1
        WHEN (r.node - $n_nodes - 1) % 2 = 0 THEN e.na ELSE e.nb END)
      FROM pgr_drivingDistance ('$edges_sql', $(( ${core[source]} + 1 )), 1e300, false) r
      LEFT JOIN dn e ON r.node > $n_nodes AND e.id = (r.node - $n_nodes - 1) / 2 + 1")
    if [ "$pg_reach" != "$(c connected_nodes)" ]; then
      echo "bench-network: connected trace from the source: Dothi $(c connected_nodes) nodes, pgr_drivingDistance $pg_reach" >&2
      status=1
    fi
    if [ "$pg_dj_m" != "" ] && [ "$(c path_m)" != n/a ] \
        && ! awk -v a="$pg_dj_m" -v b="$(c path_m)" 'BEGIN {exit !(a - b < 1e-6 * a && b - a < 1e-6 * a)}'; then
      echo "bench-network: shortest path source→far: Dothi $(c path_m) m, pgr_dijkstra $pg_dj_m m" >&2
      status=1
    fi
  fi
else
  pg_note="PostgreSQL 15 is missing ($pg_bindir): apt-get install postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting"
fi

# ---- report -------------------------------------------------------------------
row() {
  printf '%-46s %12s %12s %9s  %s\n' "$@"
}
echo
echo "== network, $n parcels: $(c edges) edges, $(c nodes) nodes (copy of $source_project) =="
row "case" dothi_ms peer_ms ratio "peer / target"
row "topology build (dothi_network_build)" "$(c build_best)" "$pg_topology" "$(ratio "$(c build_best)" "$pg_topology")" "pgr_createTopology on $(c edges) → $pg_vertices vertices"
row "  same" "$(c build_best)" "$sp_total" "$(ratio "$(c build_best)" "$sp_total")" "SpatiaLite CreateRoutingNodes ($sp_nodes ms) + CreateRouting ($sp_routing ms)"
row "  same, target" "$(c build_best)" 1000 - "$(verdict "$(c build_best)" 1000) (≤ 1 s; median $(c build_med) ms)"
row "  dothi-cli network build (process)" "$cli_build" - - "(n/a: no “network build” in this CLI)"
row "  save to dothi_network_* tables" "$(c save)" - - -
row "connected trace from the source" "$(c connected_best)" "$pg_dd" "$(ratio "$(c connected_best)" "$pg_dd")" "pgr_drivingDistance (undirected): $pg_dd_n rows vs $(c connected_nodes) nodes"
row "  same" "$(c connected_best)" "$pg_cc" "$(ratio "$(c connected_best)" "$pg_cc")" "pgr_connectedComponents: $pg_cc_n components"
row "  same" "$(c connected_best)" "$sp_within" "$(ratio "$(c connected_best)" "$sp_within")" "SpatiaLite VirtualRouting within cost (mains only): $sp_within_count rows"
row "  same, target" "$(c connected_best)" 10 - "$(verdict "$(c connected_best)" 10) (≤ 10 ms; first call $(c connected_first) ms)"
row "upstream trace (farthest node)" "$(c upstream_best)" - - "$(verdict "$(c upstream_best)" 10) (≤ 10 ms): $(c upstream_edges) edges; first call $(c upstream_first) ms"
row "downstream trace (the source)" "$(c downstream_best)" - - "$(verdict "$(c downstream_best)" 10) (≤ 10 ms): $(c downstream_edges) edges; first call $(c downstream_first) ms"
row "shortest path source → farthest" "$(c path_best)" "$pg_dj" "$(ratio "$(c path_best)" "$pg_dj")" "pgr_dijkstra: $pg_dj_m m vs $(c path_m) m"
row "isolation (a break 2/3 source → farthest)" "$(c isolate_best)" - - "$(verdict "$(c isolate_best)" 5) (≤ 5 ms): $(c isolate_valves) valves, $(c isolate_lost) edges lost; first call $(c isolate_first) ms"
row "  its parcel lookup" "$(c parcels_best)" - - "$(c parcels) parcels (separate, the “+ parcels” of the target)"
row "  re-run, first valve seized" "$(c seized_best)" - - "$(c seized_valves) valves, $(c seized_lost) edges lost"
echo "notes:"
echo "  Dothi: best of $repeats in one process (first calls shown: cold caches); peak RSS $(c mb) MB. Timings exclude"
echo "    process start; build reads the project from the page cache. Source: water_mains fid $src_fid start."
echo "  pgRouting ($pg_version): server-side \\timing of the statement (no psql start); pgr_createTopology on"
echo "    the raw mains (it knows no valves: one vertex per distinct end), the traces on Dothi's own edges"
echo "    (closed valves split so no path passes them), each call re-reading its edge SQL as pgRouting does."
echo "    pgr_drivingDistance's reach mapped back to Dothi's nodes: $pg_reach (Dothi $(c connected_nodes); must be equal)."
echo "  The isolation's parcels: customers' parcels or parcels within the definition's 30 m of the lost edges, read"
echo "    from the project (dothi_network_trace_parcels), timed apart as the target's “+ the parcel lookup”."
echo "  SpatiaLite: wall time of a spatialite process net of its start-up ($sp_start ms); the mains only (no valves)."
[ -z "$pg_note" ] || echo "  pgRouting: $pg_note"
[ -z "$sp_note" ] || echo "  SpatiaLite: $sp_note"
exit $status
