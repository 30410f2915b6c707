#!/usr/bin/env bash
# bench/bench-render.sh BUILD_DIR [SIZES...]: renders the generated cities
# (parcels, zoning, roads, water_mains) with `dothi-cli render` and, in the
# same run on the same .dothi file, with QGIS (bench/qgis-render.py); prints
# times, memory, the ratio and the DESIGN.md §5 targets (MISSED, not a failure).
# Note: QGIS's SpatiaLite provider fills geometry_columns_statistics of the
# file the first time it opens a layer (a write; slow at 1M parcels).
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bench/bench-render.sh BUILD_DIR [SIZES...]" >&2
  exit 2
fi
build=$1
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli="$build/src/cli/dothi-cli"
app="$build/src/app/dothi"
work="$build/bench"
py=/usr/bin/python3   # Debian's python3, where python3-qgis is installed
layers=parcels,zoning,roads,water_mains
width=1920
height=1080
threads=2
mkdir -p "$work"

tmp=$(mktemp -d)
app_pid=
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# Dothi's tile cache lives here for the whole run: the user's is untouched.
export XDG_CACHE_HOME="$tmp/cache"
export QT_QPA_PLATFORM=offscreen
export QGIS_CUSTOM_CONFIG_PATH="$tmp/qgis-profile"
mkdir -p "$XDG_CACHE_HOME"

fail() {
  echo "bench-render: $*" >&2
  exit 1
}

[ -x "$cli" ] || fail "no $cli: build first"
"$py" -c 'import qgis.core' 2>/dev/null \
  || fail "PyQGIS is missing: apt-get install qgis python3-qgis"
have_render=1
"$cli" render --help >/dev/null 2>&1 || have_render=0
have_style=1
"$cli" style --help >/dev/null 2>&1 || have_style=0

# json FILE EXPR: a value of the JSON object in FILE (Python expression on d).
json() {
  "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# calc FORMAT EXPR: awk arithmetic, "n/a" when an operand is "n/a".
calc() {
  case "$2" in *n/a*) echo n/a; return ;; esac
  awk "BEGIN {printf \"$1\", $2}"
}

# verdict VALUE LIMIT: OK, MISSED or n/a.
verdict() {
  if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; return; fi
  awk -v v="$1" -v l="$2" 'BEGIN {print (v <= l) ? "OK" : "MISSED"}'
}

clear_cache() {
  rm -rf "${XDG_CACHE_HOME:?}/dothi"
}

# dothi_render OUT.png ARGS...: sets d_ms (render time reported by --json),
# d_wall (process seconds), d_mb (peak RSS) and d_info (blocks, cache hits).
dothi_render() {
  local out=$1
  shift
  d_ms=n/a d_wall=n/a d_mb=n/a d_info=
  [ "$have_render" = 1 ] || return 0
  rm -f "$out"
  if ! /usr/bin/time -f '%e %M' -o "$tmp/time" "$cli" render "$project" --layers "$layers" \
      --size "${width}x${height}" --json -o "$out" "$@" >"$tmp/render.json" 2>"$tmp/render.err"; then
    cat "$tmp/render.err" >&2
    fail "dothi-cli render $* failed"
  fi
  [ -s "$out" ] || fail "dothi-cli render wrote no $out"
  local kb
  read -r d_wall kb <"$tmp/time"
  d_mb=$((kb / 1024))
  d_ms=$(json "$tmp/render.json" 'd["ms"]')
  d_info=$(json "$tmp/render.json" \
    '", ".join("%s %s" % (d[k], t) for k, t in (("blocks", "blocks drawn"), ("cache_hits", "from cache"), ("features", "features")) if k in d)')
}

# qgis_render OUT.json CASE EXTENT PNG [CASE EXTENT PNG...]: one PyQGIS process.
qgis_render() {
  local out=$1
  shift
  local args=()
  while [ $# -gt 0 ]; do
    args+=(--render "$1" "$2" "$3")
    shift 3
  done
  if ! "$py" "$here/qgis-render.py" --project "$project" --layers "$layers" "${styles[@]}" \
      --size "${width}x${height}" --threads "$threads" "${args[@]}" >"$out" 2>"$tmp/qgis.err"; then
    cat "$tmp/qgis.err" >&2
    fail "qgis-render.py failed"
  fi
}

# lod_diff A.png B.png: percentage of differing pixels (> 24/255 on white).
lod_diff() {
  if "$py" "$here/compare-png.py" "$1" "$2" 24 2>"$tmp/compare.err"; then
    return 0
  fi
  # Fallback: ImageMagick's fuzz is a colour distance, close to 24/255 per channel.
  command -v compare >/dev/null || { cat "$tmp/compare.err" >&2; echo n/a; return 0; }
  local ae
  ae=$(compare -metric AE -fuzz 10% -background white -alpha remove "$1" "$2" null: 2>&1 >/dev/null || true)
  awk -v ae="$ae" -v n=$((width * height)) 'BEGIN {printf "%.3f", 100 * ae / n}'
}

# app_first_map [warm]: launches the app under Xvfb (on a cold cache unless
# "warm") and sets f_ms (its "first-map-ms N"), f_hwm_mb and f_rss_mb at
# that moment; then the app pans 16 px a frame over tiles it holds
# (DOTHI_BENCH_PAN) and prints "pan-frame-ms median M p95 P max X": p_med, p_p95.
app_first_map() {
  f_ms=n/a f_hwm_mb=n/a f_rss_mb=n/a f_note= p_med=n/a p_p95=n/a
  if [ ! -x "$app" ]; then f_note="no $app"; return 0; fi
  if ! command -v xvfb-run >/dev/null; then f_note="xvfb-run missing (apt-get install xvfb xauth)"; return 0; fi
  # The app is one executable (libdothi-app is static): without the hook
  # there is nothing to wait for.
  if ! grep -qa DOTHI_BENCH_FIRST_MAP "$app"; then
    f_note="this build of the app has no DOTHI_BENCH_FIRST_MAP hook (first-map-ms)"
    return 0
  fi
  [ "${1:-}" = warm ] || clear_cache
  rm -f "$tmp/app.pid" "$tmp/app.out"
  # The shell writes its pid, then execs env, stdbuf and the app: one pid.
  # DOTHI_BENCH_FIRST_MAP holds the launch time (g_get_monotonic_time, µs),
  # taken once Xvfb is up, just before the exec.
  xvfb-run -a -s "-screen 0 ${width}x${height}x24" \
    sh -c 'echo $$ >"$0"; t=$("$3" -c "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)")
           exec env DOTHI_BENCH_FIRST_MAP="$t" DOTHI_BENCH_PAN=1 GSK_RENDERER=cairo stdbuf -oL "$1" "$2"' \
    "$tmp/app.pid" "$app" "$project" "$py" >"$tmp/app.out" 2>"$tmp/app.err" &
  local xvfb_pid=$! waited=0 line=
  while [ $waited -lt 1200 ]; do   # 120 s
    [ -z "$app_pid" ] && [ -s "$tmp/app.pid" ] && app_pid=$(cat "$tmp/app.pid")
    line=$(grep -m1 '^first-map-ms ' "$tmp/app.out" 2>/dev/null || true)
    if [ -n "$line" ] && [ -n "$app_pid" ]; then
      local hwm rss
      hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$app_pid/status" 2>/dev/null || true)
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$app_pid/status" 2>/dev/null || true)
      f_ms=${line#first-map-ms }
      [ -n "$hwm" ] && f_hwm_mb=$((hwm / 1024))
      [ -n "$rss" ] && f_rss_mb=$((rss / 1024))
      # Then the warm pan, a few seconds at most.
      local k=0 pan=
      while [ $k -lt 300 ] && kill -0 "$xvfb_pid" 2>/dev/null; do
        pan=$(grep -m1 '^pan-frame-ms ' "$tmp/app.out" 2>/dev/null || true)
        [ -n "$pan" ] && break
        sleep 0.1
        k=$((k + 1))
      done
      if [ -n "$pan" ]; then
        p_med=$(echo "$pan" | awk '{print $3}')
        p_p95=$(echo "$pan" | awk '{print $5}')
      fi
      break
    fi
    kill -0 "$xvfb_pid" 2>/dev/null || break
    sleep 0.1
    waited=$((waited + 1))
  done
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; fi
  wait "$xvfb_pid" 2>/dev/null || true
  app_pid=
  if [ "$f_ms" = n/a ]; then
    if [ $waited -ge 1200 ]; then f_note="no first map within 120 s"
    else f_note="the app printed no first-map-ms (DOTHI_BENCH_FIRST_MAP not implemented?)"; fi
    if [ -s "$tmp/app.err" ]; then
      echo "bench-render: app stderr (last lines):" >&2
      tail -n 5 "$tmp/app.err" >&2
    fi
  fi
}

row() {
  printf '%-26s %9s %8s %9s %8s %7s %10s %7s\n' "$@"
}

status=0
[ "$have_render" = 1 ] || echo "bench-render: “dothi-cli render” is missing: Dothi columns are n/a" >&2

for n in "${sizes[@]}"; do
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
  png="$work/render-$n-png"
  mkdir -p "$png"

  # The same styles on both sides: Dothi's stored or default style JSON.
  styles=()
  if [ "$have_style" = 1 ]; then
    for layer in ${layers//,/ }; do
      "$cli" style "$project" "$layer" >"$tmp/style-$layer.json" \
        || fail "dothi-cli style $project $layer failed"
      styles+=(--style "$layer=$tmp/style-$layer.json")
    done
    outline_px=$(json "$tmp/style-${layers%%,*}.json" 'd.get("outline_min_px")')
  else
    # Not comparable: printed, but the run fails.
    echo "bench-render: “dothi-cli style” is missing: QGIS uses its default symbols" >&2
    status=1
  fi

  # Extents in the project CRS: the union of the layers; a 1 km × 0.6 km
  # window at its centre; that window panned east by 1/8 of its width.
  read -r full win pans < <("$py" - "$project" "$layers" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
names = sys.argv[2].split(",")
rows = db.execute("SELECT min(min_x), min(min_y), max(max_x), max(max_y) FROM dothi_layers "
                  f"WHERE name IN ({','.join('?' * len(names))})", names).fetchone()
fmt = lambda r: ",".join(f"{v:.2f}" for v in r)
cx, cy = (rows[0] + rows[2]) / 2, (rows[1] + rows[3]) / 2
win = (cx - 500, cy - 300, cx + 500, cy + 300)
pans = ";".join(fmt((win[0] + k * 125, win[1], win[2] + k * 125, win[3])) for k in range(1, 5))
print(fmt(rows), fmt(win), pans)
PY
)
  [ -n "${pans:-}" ] || fail "cannot read the layer extents of $project"
  IFS=';' read -r -a pan <<<"$pans"

  # QGIS, process 1: full extent twice; process 2: window, then one pan step.
  qgis_render "$tmp/q1.json" full "$full" "$png/qgis-full.png" full-again "$full" "$png/qgis-full-again.png"
  qgis_render "$tmp/q2.json" window "$win" "$png/qgis-window.png" pan "${pan[0]}" "$png/qgis-pan.png"
  q_a=$(json "$tmp/q1.json" 'd["renders"][0]["ms"]')
  q_b=$(json "$tmp/q1.json" 'd["renders"][1]["ms"]')
  q_c=$(json "$tmp/q2.json" 'd["renders"][0]["ms"]')
  q_d=$(json "$tmp/q2.json" 'd["renders"][1]["ms"]')
  q1_mb=$(($(json "$tmp/q1.json" 'd["vmhwm_kb"]') / 1024))
  q2_mb=$(($(json "$tmp/q2.json" 'd["vmhwm_kb"]') / 1024))
  q_launch=$(json "$tmp/q1.json" 'd["launch_ms"]')

  # Dothi: (a) cold full extent, (b) warm, (c) cold window, (d) pan steps.
  clear_cache
  dothi_render "$png/dothi-full.png" --extent "$full"
  a_ms=$d_ms a_wall=$d_wall a_mb=$d_mb a_info=$d_info
  dothi_render "$png/dothi-full-warm.png" --extent "$full"
  b_ms=$d_ms b_wall=$d_wall b_mb=$d_mb b_info=$d_info
  clear_cache
  dothi_render "$png/dothi-window.png" --extent "$win"
  c_ms=$d_ms c_wall=$d_wall c_mb=$d_mb c_info=$d_info
  pan_ms=()
  for k in 0 1 2 3; do
    dothi_render "$png/dothi-pan-$((k + 1)).png" --extent "${pan[$k]}"
    pan_ms+=("$d_ms")
    if [ $k -eq 0 ]; then d_mb1=$d_mb d_info1=$d_info; fi
  done
  if [ "$have_render" = 1 ]; then
    d_med=$(printf '%s\n' "${pan_ms[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%s", (v[2] + v[3]) / 2}')
    d_max=$(printf '%s\n' "${pan_ms[@]}" | sort -g | tail -n 1)
  else
    d_med=n/a d_max=n/a
  fi
  # (e) level of detail: reference render against (a).
  dothi_render "$png/dothi-reference.png" --extent "$full" --reference
  e_ms=$d_ms e_wall=$d_wall
  e_pct=n/a
  if [ "$have_render" = 1 ]; then e_pct=$(lod_diff "$png/dothi-full.png" "$png/dothi-reference.png"); fi
  # The same picture on both sides? (information, not a target)
  same_full=n/a same_win=n/a
  if [ "$have_render" = 1 ]; then
    same_full=$(lod_diff "$png/dothi-full.png" "$png/qgis-full.png")
    same_win=$(lod_diff "$png/dothi-window.png" "$png/qgis-window.png")
  fi
  # (f) the app, warm cache (filled by a first launch), then cold.
  app_first_map
  app_first_map warm
  fw_ms=$f_ms fw_mb=$f_hwm_mb
  app_first_map

  ratio_a=$(calc %.2f "$a_ms / $q_a")
  ratio_b=$(calc %.3f "$b_ms / $q_b")
  ratio_c=$(calc %.2f "$c_ms / $q_c")
  ratio_d=$(calc %.2f "$d_med / $q_d")
  ratio_f=$(calc %.2f "$f_ms / $q_launch")
  lim_a=$(calc %.1f "0.25 * $q_a")
  lim_c=$(calc %.1f "1.0 * $q_c")

  echo
  echo "== render, $n parcels: layers $layers, ${width}x${height}, $threads threads =="
  row case dothi_ms dothi_MB qgis_ms qgis_MB ratio target result
  row "(a) full extent, cold" "$a_ms" "$a_mb" "$q_a" "$q1_mb" "$ratio_a" "<=0.25x" "$(verdict "$a_ms" "$lim_a")"
  row "(b) full extent, warm" "$b_ms" "$b_mb" "$q_b" "$q1_mb" "$ratio_b" "<=50ms" "$(verdict "$b_ms" 50)"
  row "(c) 1x0.6 km window, cold" "$c_ms" "$c_mb" "$q_c" "$q2_mb" "$ratio_c" "<=1x" "$(verdict "$c_ms" "$lim_c")"
  row "(d) app pan frame, warm" "$p_med" "$f_hwm_mb" "$q_d" "$q2_mb" "$(calc %.2f "$p_med / $q_d")" "<=16ms" "$(verdict "$p_med" 16)"
  row "(d2) CLI pan 1/8 width" "$d_med" "$d_mb1" "$q_d" "$q2_mb" "$ratio_d" - info
  row "(e) LOD vs reference, %px" "$e_pct" - - - - "<=2%" "$(verdict "$e_pct" 2)"
  row "(f) app first map, cold" "$f_ms" "$f_hwm_mb" "$q_launch" "$q1_mb" "$ratio_f" "<=1500ms" "$(verdict "$f_ms" 1500)"
  row "(f2) app first map, warm" "$fw_ms" "$fw_mb" "$q_launch" "$q1_mb" "$(calc %.2f "$fw_ms / $q_launch")" "<=1500ms" "$(verdict "$fw_ms" 1500)"
  row "(g) app RSS, 1M open" "$f_hwm_mb" - - "$q1_mb" - "<=300MB" "$(verdict "$f_hwm_mb" 300)"
  echo "notes:"
  echo "  dothi_ms: render time from dothi-cli render --json (process wall: a ${a_wall} s, b ${b_wall} s, c ${c_wall} s); dothi_MB: peak RSS of dothi-cli."
  echo "  qgis_ms: QgsMapRendererParallelJob start to finished (PNG encode excluded, project loading excluded:"
  echo "    QgsApplication start $(json "$tmp/q1.json" 'd["init_ms"]') ms, opening and styling the layers $(json "$tmp/q1.json" 'd["load_ms"]') ms;"
  echo "    QGIS $(json "$tmp/q1.json" 'd["qgis_version"]'), $(json "$tmp/q1.json" 'd["threads"]') threads, layer CRS $(json "$tmp/q1.json" 'd["layer_crs"]'), vector simplification $(json "$tmp/q1.json" '"on" if d["simplify"] else "off"'), no labels on either side."
  echo "  (a) dothi: $a_info. qgis: first render of a fresh process; qgis_MB: VmHWM of that process."
  echo "  (b) dothi: $b_info. qgis: a second render of the same extent in the same process (QGIS has no tile cache)."
  echo "  (c) dothi: $c_info; cache cleared before. qgis: first render of a second fresh process."
  echo "  (d) dothi: the app pans 16 px a frame over held tiles; frame work from the tick to the end of the paint, median of 120 frames (p95 ${p_p95} ms)."
  echo "  (d2) dothi: median of 4 successive pan steps of 125 m ($(IFS=,; echo "${pan_ms[*]}") ms, worst $d_max ms), the first: $d_info1."
  echo "      qgis: the first step, rendered in full in the process of (c) (a QGIS canvas also re-renders on pan)."
  echo "  (e) pixels differing by more than 24/255 in a channel after compositing on white; reference render ${e_ms} ms (${e_wall} s)."
  echo "  (f) GSK_RENDERER=cairo under Xvfb ${width}x${height}x24, tile cache cold; dothi_MB: VmHWM at the first map (VmRSS then: ${f_rss_mb} MB)."
  echo "      qgis: PyQGIS process start to the end of its first full-extent render (no GUI), VmHWM.${f_note:+ dothi: $f_note.}"
  echo "  dothi vs qgis images, pixels differing as in (e): full extent ${same_full} %, window ${same_win} % (QGIS strokes every outline, Dothi only from ${outline_px:-?} px)."
  echo "  images: $png"
  if [ "$have_render" != 1 ]; then status=1; fi
done
[ "$have_render" = 1 ] || echo "bench-render: “dothi-cli render” is missing: only the QGIS half ran" >&2
exit $status
