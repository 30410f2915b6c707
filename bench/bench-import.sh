#!/usr/bin/env bash
# bench/bench-import.sh BUILD_DIR [SIZES...]: imports the generated cities
# (GeoPackage, seven layers) with dothi-cli and, in the same run, with
# ogr2ogr -f SQLite -dsco SPATIALITE=YES; prints both times, peak RSS and
# the ratio. Target at 1M parcels: Dothi <= 0.5x ogr2ogr, RSS <= 300 MB.
set -euo pipefail

build=$1
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

cli="$build/src/cli/dothi-cli"
work="$build/bench"
mkdir -p "$work"

# Prints "SECONDS KILOBYTES" of one run of the command.
measure() {
  local out
  out=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>&1
  cat "$out"
  rm -f "$out"
}

printf '%-10s %12s %10s %12s %10s %8s\n' parcels dothi_s dothi_MB ogr2ogr_s ogr_MB ratio
for n in "${sizes[@]}"; do
  city="$work/city-$n.gpkg"
  if [ ! -f "$city" ]; then
    "$cli" demo --parcels "$n" "$city.part" >/dev/null
    mv "$city.part" "$city"
  fi

  rm -f "$work/dothi-$n.dothi"* "$work/ogr-$n.sqlite"
  "$cli" new "$work/dothi-$n.dothi" >/dev/null
  sync
  read -r d_s d_kb < <(measure "$cli" import "$work/dothi-$n.dothi" "$city")
  sync
  read -r o_s o_kb < <(measure ogr2ogr -f SQLite -dsco SPATIALITE=YES "$work/ogr-$n.sqlite" "$city")

  # Both must hold the same features.
  d_count=$(sqlite3 "$work/dothi-$n.dothi" 'SELECT sum(feature_count) FROM dothi_layers')
  o_count=$(ogrinfo -ro -so -al "$work/ogr-$n.sqlite" | awk '/Feature Count/ {s += $3} END {print s}')
  if [ "$d_count" != "$o_count" ]; then
    echo "bench: feature counts differ: dothi $d_count, ogr2ogr $o_count" >&2
    exit 1
  fi

  ratio=$(awk -v a="$d_s" -v b="$o_s" 'BEGIN {printf "%.2f", a / b}')
  printf '%-10s %12s %10d %12s %10d %8s\n' "$n" "$d_s" $((d_kb / 1024)) "$o_s" $((o_kb / 1024)) "$ratio"
  rm -f "$work/dothi-$n.dothi"* "$work/ogr-$n.sqlite"
done
