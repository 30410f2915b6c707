#!/usr/bin/env bash
# bench/bench-print.sh BUILD_DIR [N_PARCELS]: printing (issue 9) on the
# benchmark city (default 1M parcels, the project bench-render.sh builds):
# (a) the "planning" template on A3 landscape of the whole city to PDF,
# against PyQGIS exporting the same layout (its JSON turned into a
# QgsPrintLayout); (b) an A0 vector PDF of one ward at 1:2000; (c) a 30-page
# atlas of zoning areas (and, as information, 30 sheets gridding the whole
# city); (d) a parcel extract. Dothi runs in process (a small C program
# built with meson's commands for test-print) and through `dothi-cli print`
# when it exists. Prints times, sizes, page counts (checked with pdfinfo:
# exit 1 if wrong), ratios and the targets (MISSED is not a failure).
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/bench-print.sh BUILD_DIR [N_PARCELS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
n=${2:-1000000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli="$build/src/cli/dothi-cli"
work="$build/bench"
py=/usr/bin/python3   # Debian's python3, where python3-qgis is installed
repeats=${BENCH_REPEATS:-3}
title="BẢN ĐỒ QUY HOẠCH SỬ DỤNG ĐẤT"
mkdir -p "$work"

fail() {
  echo "bench-print: $*" >&2
  exit 1
}

[ -x "$cli" ] || fail "no $cli: build first"
command -v pdfinfo >/dev/null || fail "pdfinfo is missing: apt-get install poppler-utils"

tmp=$(mktemp -d -p "$work" print-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export QT_QPA_PLATFORM=offscreen
export QGIS_CUSTOM_CONFIG_PATH="$tmp/qgis-profile"

# ---- the city and its project (shared with bench-render.sh and the others) --
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
cat "$project" >/dev/null

# ---- helpers ----------------------------------------------------------------
now_ns() { date +%s%N; }
ms_of() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 1e6}'; }
minimum() {
  sort -g | awk 'NR == 1 {print $1} END {if (NR == 0) print "n/a"}'
}
calc() {
  case "$2" in *n/a*) echo n/a; return ;; esac
  awk "BEGIN {printf \"$1\", $2}"
}
ratio() {
  case "$1$2" in *n/a*) echo n/a; return ;; esac
  awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.3f", a / b; else print "n/a"}'
}
verdict() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; return; fi
  awk -v v="$1" -v l="$2" 'BEGIN {print (v <= l) ? "OK" : "MISSED"}'
}
size_of() { if [ -f "$1" ]; then stat -c %s "$1"; else echo n/a; fi; }
mb() { calc %.2f "$1 / 1048576"; }
pages_of() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ {print $2}'; }

status=0
# check_pages FILE EXPECTED WHAT: pdfinfo's count, and poppler renders page 1.
check_pages() {
  local got
  got=$(pages_of "$1")
  if [ "$got" != "$2" ]; then
    echo "bench-print: $3: $1 has ${got:-no} pages, expected $2" >&2
    status=1
  fi
  if ! pdftoppm -r 10 -f 1 -l 1 -png "$1" "$tmp/check" 2>"$tmp/ppm.err" || grep -q Error "$tmp/ppm.err"; then
    echo "bench-print: $3: pdftoppm cannot render $1: $(head -n 3 "$tmp/ppm.err")" >&2
    status=1
  fi
  rm -f "$tmp"/check*.png
}

# ---- Dothi in process: a C program on the core library ----------------------
cat >"$tmp/bench-print-core.c" <<'EOF'
/* bench-print-core: prints with the core in process and reports the time of
 * dothi_print_sync (or dothi_print_parcel_extract) on stdout. */
#include "config.h"
#include <stdlib.h>
#include "dothi-layout.h"
#include "dothi-print.h"
#include "dothi-project.h"

static char *template_name, *page, *title, *json_path, *dump, *atlas, *where, *out;
static char *extract_layer;
static gint64 extract_fid = -1;
static int repeats = 1;

static GOptionEntry entries[] = {
  { "template", 0, 0, G_OPTION_ARG_STRING, &template_name, "template", "NAME" },
  { "page", 0, 0, G_OPTION_ARG_STRING, &page, "page size", "A3" },
  /* FILENAME: the bytes as given (UTF-8), whatever the locale. */
  { "title", 0, 0, G_OPTION_ARG_FILENAME, &title, "title", "T" },
  { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "layout JSON", "FILE" },
  { "dump", 0, 0, G_OPTION_ARG_FILENAME, &dump, "write the layout JSON", "FILE" },
  { "atlas", 0, 0, G_OPTION_ARG_STRING, &atlas, "atlas layer", "LAYER" },
  { "where", 0, 0, G_OPTION_ARG_FILENAME, &where, "atlas condition", "SQL" },
  { "extract-layer", 0, 0, G_OPTION_ARG_STRING, &extract_layer, "parcel layer", "LAYER" },
  { "extract-fid", 0, 0, G_OPTION_ARG_INT64, &extract_fid, "parcel fid", "FID" },
  { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats, "runs", "N" },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "output", "FILE" },
  { NULL }
};

int
main (int argc, char **argv)
{
  GOptionContext *context = g_option_context_new ("PROJECT");
  GError *error = NULL;
  DothiLayout *layout = NULL;
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, NULL, NULL };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || out == NULL)
    {
      g_printerr ("bench-print-core: %s\n", error ? error->message : "usage: PROJECT -o OUT");
      return 2;
    }
  options.atlas_layer = atlas;
  options.atlas_where = where;
  dothi_print_format_for (NULL, out, &options.format);

  if (extract_layer != NULL)
    {
      for (int r = 0; r < repeats; r++)
        {
          gint64 t0 = g_get_monotonic_time ();
          if (!dothi_print_parcel_extract (argv[1], extract_layer, extract_fid, out,
                                           options.format, NULL, &error))
            {
              g_printerr ("bench-print-core: %s\n", error->message);
              return 1;
            }
          g_print ("ms %.1f\n", (g_get_monotonic_time () - t0) / 1000.0);
        }
      return 0;
    }

  if (template_name != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();
      DothiProject *project = dothi_project_open (argv[1], DOTHI_PROJECT_OPEN_READ_ONLY, &error);

      if (project != NULL)
        layout = dothi_layout_new_template (project, template_name, page, title, &error);
      g_print ("template_ms %.1f\n", (g_get_monotonic_time () - t0) / 1000.0);
      if (project != NULL)
        {
          dothi_project_close (project);
          g_object_unref (project);
        }
    }
  else if (json_path != NULL)
    {
      char *text = NULL;
      if (g_file_get_contents (json_path, &text, NULL, &error))
        layout = dothi_layout_new_from_json (text, &error);
      g_free (text);
    }
  if (layout == NULL)
    {
      g_printerr ("bench-print-core: %s\n", error ? error->message : "no layout: --template or --json");
      return 1;
    }
  if (dump != NULL)
    {
      char *text = dothi_layout_to_json (layout);
      g_file_set_contents (dump, text, -1, NULL);
      g_free (text);
    }

  {
    gint64 t0 = g_get_monotonic_time ();
    gint64 pages = dothi_print_count_pages (argv[1], layout, &options, &error);
    if (pages < 0 || error != NULL)
      {
        g_printerr ("bench-print-core: %s\n", error ? error->message : "no page count");
        return 1;
      }
    g_print ("pages %" G_GINT64_FORMAT "\ncount_ms %.1f\n", pages, (g_get_monotonic_time () - t0) / 1000.0);
  }
  for (int r = 0; r < repeats; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!dothi_print_sync (argv[1], layout, &options, out, NULL, NULL, NULL, &error))
        {
          g_printerr ("bench-print-core: %s\n", error->message);
          return 1;
        }
      g_print ("ms %.1f\n", (g_get_monotonic_time () - t0) / 1000.0);
    }
  dothi_layout_free (layout);
  return 0;
}
EOF

core_note=
ninja -C "$build" tests/test-print >/dev/null 2>&1 || true
if ninja -C "$build" -t commands tests/test-print >"$tmp/commands" 2>/dev/null \
    && [ -f "$build/src/core/libdothi-core.a" ] \
    && "$py" - "$build" "$tmp" >"$tmp/build.sh" 2>"$tmp/build.err" <<'PY'
import json, shlex, sys
build, tmp = sys.argv[1], sys.argv[2]
cc = next(e for e in json.load(open(f"{build}/compile_commands.json"))
          if e["file"].endswith("tests/test-print.c"))
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
out += ["-c", f"{tmp}/bench-print-core.c", "-o", f"{tmp}/bench-print-core.o"]
link = shlex.split(open(f"{tmp}/commands").read().strip().splitlines()[-1])
i = link.index("-o")
objs = [a for a in link if a.endswith(".o")]
link = [a for a in link if a not in objs]
link[i + 1] = f"{tmp}/bench-print-core"
link.insert(i + 2, f"{tmp}/bench-print-core.o")
print("cd " + shlex.quote(cc["directory"]))
print(shlex.join(out))
print(shlex.join(link))
PY
then
  sh -e "$tmp/build.sh" >"$tmp/build.log" 2>&1 \
    || fail "the in-process program did not build: $(grep -m1 -E 'error|undefined' "$tmp/build.log" || true)"
else
  fail "no meson commands for tests/test-print in $build"
fi
core="$tmp/bench-print-core"

# core_run NAME ARGS...: runs the program; NAME_ms (best of the runs),
# NAME_pages (its page count), NAME_size (bytes of -o), NAME_tpl (template ms).
core_run() {
  local name=$1 out=
  shift
  if ! "$core" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    cat "$tmp/$name.err" >&2
    fail "$name: bench-print-core $* failed"
  fi
  while [ $# -gt 0 ]; do
    if [ "$1" = -o ]; then out=$2; fi
    shift
  done
  printf -v "${name}_ms" '%s' "$(awk '$1 == "ms" {print $2}' "$tmp/$name.out" | minimum)"
  printf -v "${name}_pages" '%s' "$(awk '$1 == "pages" {print $2}' "$tmp/$name.out")"
  printf -v "${name}_tpl" '%s' "$(awk '$1 == "template_ms" {print $2}' "$tmp/$name.out")"
  printf -v "${name}_size" '%s' "$(size_of "$out")"
}

# ---- dothi-cli print ----------------------------------------------------------
have_cli_print=0
"$cli" print --help >/dev/null 2>&1 && have_cli_print=1

# cli_run NAME ARGS...: best wall ms of $repeats runs of dothi-cli print.
cli_run() {
  local name=$1 a b walls=()
  shift
  printf -v "${name}_wall" n/a
  [ "$have_cli_print" = 1 ] || return 0
  for _ in $(seq 1 "$repeats"); do
    a=$(now_ns)
    if ! "$cli" print "$@" >"$tmp/cli.out" 2>"$tmp/cli.err"; then
      cat "$tmp/cli.err" >&2
      echo "bench-print: dothi-cli print $* failed" >&2
      status=1
      return 0
    fi
    b=$(now_ns)
    walls+=("$(ms_of "$a" "$b")")
  done
  printf -v "${name}_wall" '%s' "$(printf '%s\n' "${walls[@]}" | minimum)"
}

# ---- the cases --------------------------------------------------------------
# The layers' extent, a ward near the middle (ma_xa of the parcel whose fid
# is in the middle) and its centre, 30 zoning areas spread over the city, the
# parcel of the extract; all from the file with Python's sqlite3 (the
# geometry's bounding box from the layer's R-tree).
read -r full ward ward_c fid zoning_where < <("$py" - "$project" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
ext = db.execute("SELECT min(min_x), min(min_y), max(max_x), max(max_y) FROM dothi_layers").fetchone()
n = db.execute("SELECT max(fid) FROM parcels").fetchone()[0]
fid, ward = db.execute("SELECT fid, ma_xa FROM parcels WHERE fid >= ? ORDER BY fid LIMIT 1", (n // 2,)).fetchone()
# The ward's box: the R-tree boxes of its parcels.
box = db.execute("SELECT min(r.xmin), min(r.ymin), max(r.xmax), max(r.ymax) FROM parcels p "
                 "JOIN idx_parcels_geom r ON r.pkid = p.fid WHERE p.ma_xa = ?", (ward,)).fetchone()
cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
nz = db.execute("SELECT count(*) FROM zoning").fetchone()[0]
step = max(nz // 30, 1)
fids = [r[0] for r in db.execute("SELECT fid FROM zoning ORDER BY fid")][::step][:30]
print(",".join(f"{v:.2f}" for v in ext), ward, f"{cx:.2f},{cy:.2f}", fid,
      "fid IN (" + ",".join(str(f) for f in fids) + ")")
PY
)
[ -n "${fid:-}" ] || fail "cannot read the extents of $project"

# (b) A0 landscape, one ward at 1:2000: map, grid, plot labels, legend, scale
# bar, north arrow, title block.
cat >"$tmp/ward-a0.json" <<EOF
{ "name": "Phường $ward 1:2000",
  "page": { "size": "A0", "orientation": "landscape" },
  "items": [
    { "type": "map", "id": "map", "x": 15, "y": 15, "w": 920, "h": 811, "scale": 2000,
      "center": [${ward_c%,*}, ${ward_c#*,}], "grid": 200, "labels": true },
    { "type": "legend", "map": "map", "x": 950, "y": 15, "w": 224, "h": 380, "title": "Chú giải" },
    { "type": "north_arrow", "x": 1140, "y": 405, "w": 24, "h": 40 },
    { "type": "scale_bar", "map": "map", "x": 950, "y": 410, "w": 160, "h": 20 },
    { "type": "title_block", "template": "tt04-planning", "x": 950, "y": 460, "w": 224, "h": 366,
      "fields": { "agency": "ỦY BAN NHÂN DÂN THÀNH PHỐ BUÔN MA THUỘT", "title": "$title",
                  "drawing": "Phường $ward", "scale": "1:2.000", "decision": "Số 123/QĐ-UBND",
                  "date": "{date}", "signer": "Chủ tịch" } },
    { "type": "frame", "x": 10, "y": 10, "w": 1169, "h": 821, "line": 0.7 } ] }
EOF

dump="$tmp/planning-a3.json"
echo "bench-print: $n parcels, $project" >&2
echo "bench-print: (a) A3 planning template of the whole city…" >&2
core_run a --template planning --page A3 --title "$title" --dump "$dump" --repeats "$repeats" "$project" -o "$tmp/a.pdf"
check_pages "$tmp/a.pdf" 1 "(a)"
cli_run cli_a "$project" --template planning --page A3 --title "$title" -o "$tmp/a-cli.pdf"
echo "bench-print: (b) A0 of ward $ward at 1:2000…" >&2
core_run b --json "$tmp/ward-a0.json" --repeats "$repeats" "$project" -o "$tmp/b.pdf"
check_pages "$tmp/b.pdf" 1 "(b)"
# The atlas layouts: the A3 planning template with its map fitted to each
# feature (the template's own map holds a fixed scale for the whole city).
core_run t --template planning --page A3 --title "Khu {ma_khu} – trang {page}/{pages}" \
  --dump "$tmp/atlas-zoning.json" "$project" -o "$tmp/t.pdf"
"$py" - "$tmp/atlas-zoning.json" "$tmp/atlas-sheets.json" "$project" <<'PY'
import json, sqlite3, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for item in d["items"]:
    if item.get("type") == "map":
        for key in ("scale", "center", "extent", "grid"):   # grid: automatic
            item.pop(key, None)
json.dump(d, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
# The sheets: the city's layers only (not the sheet layer on top of them).
db = sqlite3.connect(f"file:{sys.argv[3]}?mode=ro", uri=True)
city = [r[0] for r in db.execute("SELECT name FROM dothi_layers WHERE visible ORDER BY z_order")]
for item in d["items"]:
    if item.get("type") == "map":
        item["layers"] = city
    if item.get("type") == "title_block":
        item["fields"]["title"] = "Tờ {so_to}: {ten} – trang {page}/{pages}"
d["name"] = "Tờ bản đồ"
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
PY
echo "bench-print: (c) 30-page zoning atlas…" >&2
core_run c --json "$tmp/atlas-zoning.json" --atlas zoning --where "$zoning_where" "$project" -o "$tmp/c.pdf"
check_pages "$tmp/c.pdf" 30 "(c)"
[ "$c_pages" = 30 ] || { echo "bench-print: (c): dothi_print_count_pages says $c_pages" >&2; status=1; }
echo "bench-print: (d) parcel extract of parcel $fid…" >&2
core_run d --extract-layer parcels --extract-fid "$fid" --repeats 5 "$project" -o "$tmp/d.pdf"
check_pages "$tmp/d.pdf" 1 "(d)"
cli_run cli_d "$project" --extract "parcels:$fid" -o "$tmp/d-cli.pdf"

# (c2) information: 30 sheets (6 × 5) gridding the whole city, in a copy of
# the project with a sheet layer imported (BENCH_PRINT_SHEETS=0 skips it).
c2_ms=n/a c2_size=n/a c2_pages=n/a
if [ "${BENCH_PRINT_SHEETS:-1}" = 1 ]; then
  echo "bench-print: (c2) 30 sheets over the whole city (copying the project)…" >&2
  "$py" - "$full" "$tmp/to_ban_do.geojson" <<'PY'
import json, sys
minx, miny, maxx, maxy = (float(v) for v in sys.argv[1].split(","))
dx, dy = (maxx - minx) / 6, (maxy - miny) / 5
feats = []
for j in range(5):
    for i in range(6):
        x0, y0 = minx + i * dx, maxy - (j + 1) * dy
        ring = [[x0, y0], [x0 + dx, y0], [x0 + dx, y0 + dy], [x0, y0 + dy], [x0, y0]]
        k = j * 6 + i + 1
        feats.append({"type": "Feature", "properties": {"so_to": k, "ten": f"Tờ số {k}"},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
json.dump({"type": "FeatureCollection", "name": "to_ban_do",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9218"}},
           "features": feats}, open(sys.argv[2], "w"), ensure_ascii=False)
PY
  copy="$tmp/sheets.dothi"
  cp "$project" "$copy"
  if "$cli" import "$copy" "$tmp/to_ban_do.geojson" >"$tmp/import.out" 2>"$tmp/import.err"; then
    core_run c2 --json "$tmp/atlas-sheets.json" --atlas to_ban_do "$copy" -o "$tmp/c2.pdf"
    check_pages "$tmp/c2.pdf" 30 "(c2)"
  else
    echo "bench-print: (c2) cannot import the sheets: $(head -n 3 "$tmp/import.err")" >&2
  fi
  rm -f "$copy" "$copy"-*
fi

# ---- QGIS: the same layouts as QgsPrintLayout, exportToPdf ------------------
# Styles: Dothi's stored or default style JSON, as bench-render.sh gives them.
styles=()
for layer in parcels zoning roads water_mains water_valves power_lines sensor_stations; do
  if "$cli" style "$project" "$layer" >"$tmp/style-$layer.json" 2>/dev/null; then
    styles+=(--style "$layer=$tmp/style-$layer.json")
  fi
done
cat >"$tmp/qgis-print.py" <<'PY'
"""The PyQGIS peer: a Dothi layout JSON (page, map, legend, scale bar,
north arrow, title block or text, frame) made into a QgsPrintLayout and
exported with QgsLayoutExporter.exportToPdf; prints JSON with the times."""
import argparse, importlib.util, json, math, os, sqlite3, sys, time

p = argparse.ArgumentParser()
p.add_argument("--project", required=True)
p.add_argument("--here", required=True)
p.add_argument("--style", action="append", default=[])
p.add_argument("--job", nargs=3, action="append", default=[], metavar=("CASE", "LAYOUT", "OUT"))
p.add_argument("--title", default="")
args = p.parse_args()

spec = importlib.util.spec_from_file_location("qgis_render", os.path.join(args.here, "qgis-render.py"))
qr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(qr)

styles = {}
for item in args.style:
    name, _, path = item.partition("=")
    text = open(path, encoding="utf-8").read().strip()
    styles[name] = json.loads(text) if text else None

project_path = os.path.abspath(args.project)
db = sqlite3.connect(f"file:{project_path}?mode=ro", uri=True)
rows = db.execute("SELECT name, title, opacity, visible, min_x, min_y, max_x, max_y FROM dothi_layers "
                  "ORDER BY z_order, name").fetchall()
db.close()

t0 = time.perf_counter()
from qgis import core as Q
from qgis.PyQt.QtGui import QFont, QColor
app = Q.QgsApplication([], False)
app.initQgis()
t1 = time.perf_counter()

project = Q.QgsProject.instance()
layers = {}
for name, title, opacity, visible, *_ in rows:
    uri = f"dbname='{project_path}' table=\"{name}\" (geom)"
    layer = Q.QgsVectorLayer(uri, title or name, "spatialite")
    if not layer.isValid():
        sys.exit(f"qgis-print: QGIS cannot open layer {name}")
    layer.setRenderer(qr.make_renderer(Q, layer, styles.get(name)))
    layer.setOpacity(float(opacity))
    project.addMapLayer(layer)
    layers[name] = (layer, bool(visible))
crs = next(iter(layers.values()))[0].crs()
project.setCrs(crs)
full = [min(r[4] for r in rows), min(r[5] for r in rows), max(r[6] for r in rows), max(r[7] for r in rows)]
t2 = time.perf_counter()

MM = Q.QgsUnitTypes.LayoutMillimeters


def nice(v):
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def place(item, d):
    item.attemptMove(Q.QgsLayoutPoint(d["x"], d["y"], MM))
    item.attemptResize(Q.QgsLayoutSize(d["w"], d["h"], MM))


def build(d):
    layout = Q.QgsPrintLayout(project)
    layout.initializeDefaults()
    page = d.get("page", {})
    size = str(page.get("size", "A4")).upper()
    dims = {"A0": (841, 1189), "A1": (594, 841), "A2": (420, 594), "A3": (297, 420), "A4": (210, 297)}
    if size in dims:
        w, h = dims[size]
    else:
        w, h = page["width"], page["height"]
    if page.get("orientation") == "landscape" and w < h:
        w, h = h, w
    layout.pageCollection().page(0).setPageSize(Q.QgsLayoutSize(w, h, MM))
    maps = {}
    for it in d.get("items", []):
        t = it.get("type")
        if t == "map":
            m = Q.QgsLayoutItemMap(layout)
            layout.addLayoutItem(m)
            place(m, it)
            m.setCrs(crs)
            names = it.get("layers") or [n for n, (l, vis) in layers.items() if vis]
            # QGIS draws the first of the list on top.
            m.setLayers([layers[n][0] for n in reversed([r[0] for r in rows]) if n in names])
            # As Dothi resolves a frame: centre and 1:N, or the extent fitted.
            ext = it.get("extent") or full
            scale = float(it.get("scale") or 0)
            if "center" in it and scale > 0:
                cx, cy = it["center"]
            else:
                cx, cy = (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2
            if scale <= 0:
                scale = max((ext[2] - ext[0]) / it["w"], (ext[3] - ext[1]) / it["h"]) * 1000
            hw, hh = it["w"] * scale / 2000, it["h"] * scale / 2000
            m.setExtent(Q.QgsRectangle(cx - hw, cy - hh, cx + hw, cy + hh))
            m.setFrameEnabled(True)
            grid = it.get("grid")
            if grid is None:
                e = m.extent()
                grid = nice(max(e.width(), e.height()) / 8)
            if grid and grid > 0:
                g = Q.QgsLayoutItemMapGrid("grid", m)
                g.setIntervalX(grid)
                g.setIntervalY(grid)
                g.setAnnotationEnabled(True)
                g.setAnnotationPrecision(0)
                m.grids().addGrid(g)
            maps[it.get("id", "map")] = m
        elif t == "legend":
            lg = Q.QgsLayoutItemLegend(layout)
            layout.addLayoutItem(lg)
            lg.setTitle(it.get("title", "Chú giải"))
            lg.setLinkedMap(maps.get(it.get("map", "map")))
            lg.setResizeToContents(False)
            place(lg, it)
        elif t == "scale_bar":
            sb = Q.QgsLayoutItemScaleBar(layout)
            layout.addLayoutItem(sb)
            sb.setStyle("Single Box")
            sb.setLinkedMap(maps.get(it.get("map", "map")))
            sb.applyDefaultSize(Q.QgsUnitTypes.DistanceMeters)
            sb.attemptMove(Q.QgsLayoutPoint(it["x"], it["y"], MM))
        elif t == "north_arrow":
            pic = Q.QgsLayoutItemPicture(layout)
            layout.addLayoutItem(pic)
            pic.setPicturePath(":/images/north_arrows/layout_default_north_arrow.svg")
            place(pic, it)
        elif t in ("title_block", "text"):
            lab = Q.QgsLayoutItemLabel(layout)
            layout.addLayoutItem(lab)
            fields = it.get("fields", {})
            text = it.get("text") or "\n".join(str(fields[k]) for k in
                                                ("agency", "title", "drawing", "scale", "decision", "date", "signer")
                                                if k in fields) or args.title
            lab.setText(text)
            lab.setFont(QFont("Noto Sans", int(it.get("size", 14)), QFont.Bold if it.get("bold", t == "title_block") else QFont.Normal))
            lab.setFrameEnabled(t == "title_block")
            place(lab, it)
        elif t == "frame":
            sh = Q.QgsLayoutItemShape(layout)
            sh.setShapeType(Q.QgsLayoutItemShape.Rectangle)
            layout.addLayoutItem(sh)
            place(sh, it)
    return layout


result = {"qgis_version": Q.Qgis.QGIS_VERSION, "init_ms": round((t1 - t0) * 1000, 1),
          "load_ms": round((t2 - t1) * 1000, 1), "jobs": []}
for case, layout_path, out in args.job:
    d = json.load(open(layout_path, encoding="utf-8"))
    layout = build(d)
    exporter = Q.QgsLayoutExporter(layout)
    settings = Q.QgsLayoutExporter.PdfExportSettings()
    settings.dpi = 300
    start = time.perf_counter()
    res = exporter.exportToPdf(out, settings)
    ms = (time.perf_counter() - start) * 1000
    if res != Q.QgsLayoutExporter.Success:
        sys.exit(f"qgis-print: {case}: exportToPdf failed ({res})")
    result["jobs"].append({"case": case, "ms": round(ms, 1), "size": os.path.getsize(out)})
with open("/proc/self/status", encoding="ascii") as f:
    result["vmhwm_kb"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
print(json.dumps(result))
sys.stdout.flush()
os._exit(0)
PY

q_a=n/a q_a_size=n/a q_b=n/a q_b_size=n/a q_note=
if "$py" -c 'import qgis.core' 2>/dev/null; then
  echo "bench-print: QGIS exports the same layouts…" >&2
  if "$py" "$tmp/qgis-print.py" --project "$project" --here "$here" "${styles[@]}" --title "$title" \
      --job a "$dump" "$tmp/qgis-a.pdf" --job b "$tmp/ward-a0.json" "$tmp/qgis-b.pdf" \
      >"$tmp/qgis.json" 2>"$tmp/qgis.err"; then
    json() { "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/qgis.json" "$1"; }
    q_a=$(json 'd["jobs"][0]["ms"]')
    q_a_size=$(json 'd["jobs"][0]["size"]')
    q_b=$(json 'd["jobs"][1]["ms"]')
    q_b_size=$(json 'd["jobs"][1]["size"]')
    q_note="QGIS $(json 'd["qgis_version"]'): start-up $(json 'd["init_ms"]') ms, layers $(json 'd["load_ms"]') ms (not counted), VmHWM $(( $(json 'd["vmhwm_kb"]') / 1024 )) MB"
    check_pages "$tmp/qgis-a.pdf" 1 "QGIS (a)"
  else
    tail -n 5 "$tmp/qgis.err" >&2
    q_note="qgis-print.py failed (see above)"
  fi
else
  q_note="PyQGIS is missing: apt-get install qgis python3-qgis"
fi

# The PDFs stay for a look (page 1 of (a) is the README's picture).
keep="$work/print-$n-pdf"
mkdir -p "$keep"
for f in a b c c2 d qgis-a qgis-b; do
  [ -f "$tmp/$f.pdf" ] && mv "$tmp/$f.pdf" "$keep/$f.pdf"
done
cp "$tmp"/*.json "$keep/" 2>/dev/null || true

# ---- report -----------------------------------------------------------------
row() {
  printf '%-34s %9s %9s %8s %9s %9s %8s %8s %7s\n' "$@"
}
ratio_a=$(ratio "$a_ms" "$q_a")
ratio_a_size=$(ratio "$a_size" "$q_a_size")
echo
echo "== print, $n parcels: $project =="
row case dothi_ms dothi_MB pages qgis_ms qgis_MB ratio target result
row "(a) A3 whole city, time" "$a_ms" "$(mb "$a_size")" "$a_pages" "$q_a" "$(mb "$q_a_size")" "$ratio_a" "<=0.3x" "$(verdict "$ratio_a" 0.3)"
row "(a) A3 whole city, file size" - "$(mb "$a_size")" - - "$(mb "$q_a_size")" "$ratio_a_size" "<=0.3x" "$(verdict "$ratio_a_size" 0.3)"
row "(b) A0 ward $ward 1:2000" "$b_ms" "$(mb "$b_size")" "$b_pages" "$q_b" "$(mb "$q_b_size")" "$(ratio "$b_ms" "$q_b")" "<=3000ms" "$(verdict "$b_ms" 3000)"
row "(c) atlas, 30 zoning areas (A3)" "$c_ms" "$(mb "$c_size")" "$c_pages" - - - "<=30000ms" "$(verdict "$c_ms" 30000)"
row "(c2) atlas, 30 sheets, whole city" "$c2_ms" "$(mb "$c2_size")" "$c2_pages" - - - "<=30000ms" "$(verdict "$c2_ms" 30000)"
row "(d) parcel extract, fid $fid" "$d_ms" "$(mb "$d_size")" 1 - - - "<=300ms" "$(verdict "$d_ms" 300)"
echo "notes:"
echo "  dothi_ms: dothi_print_sync (or dothi_print_parcel_extract) in process, best of $repeats (the extract: of 5);"
echo "    the project opened by the call itself, the file in the page cache. (a) template built in ${a_tpl} ms (not counted)."
echo "  dothi-cli print, process wall (best of $repeats): (a) ${cli_a_wall} ms, (d) ${cli_d_wall} ms."
[ "$have_cli_print" = 1 ] || echo "    (“dothi-cli print” is missing in this build: n/a)"
echo "  qgis_ms: QgsLayoutExporter.exportToPdf at 300 dpi, QGIS's default export settings (text as outlines,"
echo "    geometry simplification on), the legend not filtered by the map's content; the layout rebuilt from"
echo "    Dothi's JSON (planning-a3.json for (a)): map with the same layers, extent and scale, grid, legend, scale bar,"
echo "    north arrow, title as a label. No plot labels, overview or table on the QGIS side. $q_note."
echo "  (b) A0 landscape at 1:2000 centred on ward $ward ($ward_c), grid 200 m, plot labels on."
echo "  (c) the A3 planning template, its map fitted to each feature, atlas on zoning where $zoning_where."
echo "  (c2) the same on a 6 × 5 grid of sheets over the whole extent ($full), imported into a copy."
echo "  PDFs and layout JSON: $keep"
echo "  $(nproc) CPUs; other jobs on the machine move these figures: compare within one run. Files: sizes in MiB."
exit "$status"
