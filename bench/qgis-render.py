#!/usr/bin/python3
# bench/qgis-render.py: the QGIS peer of `dothi-cli render` for
# bench/bench-render.sh. Opens the layers of a .dothi file through the
# SpatiaLite provider, styles them like Dothi's style JSON and renders
# extents to PNG in Web Mercator with QgsMapRendererParallelJob.
"""Usage:
  /usr/bin/python3 bench/qgis-render.py --project P.dothi
      --layers parcels,zoning,roads,water_mains [--style NAME=FILE.json ...]
      --size 1920x1080 [--threads 2]
      --render CASE MINX,MINY,MAXX,MAXY OUT.png [--render ...]

Extents are in the project CRS (read from the layers; EPSG:9218 for the
demo city). The renders run in the order given, in this one process. On
stdout: one JSON object with init_ms (QgsApplication start-up), load_ms
(opening and styling the layers), each render's ms (job start to
finished, without the PNG encode), launch_ms (process start to the end
of the first render) and the process's VmHWM/VmRSS in KiB.
"""

import argparse
import json
import os
import sqlite3
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep QGIS away from the user's profile and settings.
os.environ.setdefault("QGIS_CUSTOM_CONFIG_PATH", "/tmp/dothi-bench-qgis-profile")


def process_age_ms():
    """Milliseconds since this process was started (by the kernel)."""
    with open("/proc/self/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])  # field 22 of stat(5), counted from 3
    hz = os.sysconf("SC_CLK_TCK")
    now = time.clock_gettime(time.CLOCK_BOOTTIME)
    return (now - start_ticks / hz) * 1000.0


def proc_status_kb(key):
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--project", required=True)
    p.add_argument("--layers", required=True,
                   help="comma-separated table names; drawn in the project's z-order")
    p.add_argument("--style", action="append", default=[], metavar="NAME=FILE",
                   help="Dothi style JSON of a layer (dothi-cli style PROJECT NAME)")
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--render", nargs=3, action="append", default=[],
                   metavar=("CASE", "EXTENT", "OUT"))
    return p.parse_args()


def qcolor_string(text, default):
    """'#rrggbb' or '#rrggbbaa' to the 'r,g,b,a' form of QgsSymbolLayer props."""
    if not isinstance(text, str) or not text.startswith("#") or len(text) not in (7, 9):
        return default
    r, g, b = (int(text[i:i + 2], 16) for i in (1, 3, 5))
    a = int(text[7:9], 16) if len(text) == 9 else 255
    return f"{r},{g},{b},{a}"


def make_symbol(qgis_core, geometry_type, sym):
    """A QGIS symbol from a Dothi symbol object (fill, stroke, stroke_width,
    marker_size, marker); sizes are in pixels on both sides."""
    QgsFillSymbol = qgis_core.QgsFillSymbol
    QgsLineSymbol = qgis_core.QgsLineSymbol
    QgsMarkerSymbol = qgis_core.QgsMarkerSymbol
    QgsWkbTypes = qgis_core.QgsWkbTypes
    sym = sym or {}
    fill = qcolor_string(sym.get("fill"), "190,190,190,255")
    stroke = qcolor_string(sym.get("stroke"), "80,80,80,255")
    width = float(sym.get("stroke_width") or 0.0)
    if geometry_type == QgsWkbTypes.PolygonGeometry:
        return QgsFillSymbol.createSimple({
            "color": fill, "style": "solid",
            "outline_color": stroke,
            "outline_style": "solid" if width > 0 else "no",
            "outline_width": str(width), "outline_width_unit": "Pixel",
        })
    if geometry_type == QgsWkbTypes.LineGeometry:
        return QgsLineSymbol.createSimple({
            "line_color": stroke, "line_style": "solid",
            "line_width": str(max(width, 0.0)), "line_width_unit": "Pixel",
        })
    shape = {"circle": "circle", "square": "square", "triangle": "triangle",
             "diamond": "diamond"}.get(str(sym.get("marker", "circle")).lower(), "circle")
    return QgsMarkerSymbol.createSimple({
        "name": shape, "color": fill, "outline_color": stroke,
        "outline_style": "solid" if width > 0 else "no",
        "outline_width": str(width), "outline_width_unit": "Pixel",
        "size": str(float(sym.get("marker_size") or 6.0)), "size_unit": "Pixel",
    })


def rule_symbol(rule):
    """The symbol of a rule, whether nested under "symbol" or inline."""
    if isinstance(rule.get("symbol"), dict):
        return rule["symbol"]
    return rule


def make_renderer(qgis_core, layer, style):
    gtype = layer.geometryType()
    if not style:
        return qgis_core.QgsSingleSymbolRenderer(make_symbol(qgis_core, gtype, {}))
    kind = str(style.get("kind", "single")).lower()
    other = style.get("other") or style.get("symbol") or {}
    draw_other = bool(style.get("draw_other", True))
    rules = style.get("rules") or []
    field = style.get("field")
    if kind in ("categorised", "categorized") and field:
        cats = []
        for rule in rules:
            cats.append(qgis_core.QgsRendererCategory(
                rule.get("value"), make_symbol(qgis_core, gtype, rule_symbol(rule)),
                str(rule.get("label") or rule.get("value") or "")))
        if draw_other:
            # An empty value is QGIS's "all other values" category.
            cats.append(qgis_core.QgsRendererCategory(
                "", make_symbol(qgis_core, gtype, other), str(style.get("other_label") or "")))
        return qgis_core.QgsCategorizedSymbolRenderer(field, cats)
    if kind == "graduated" and field:
        ranges = []
        for rule in rules:
            # Open class bounds ("100 and more") are null in Dothi's JSON.
            low = rule.get("min")
            high = rule.get("max")
            ranges.append(qgis_core.QgsRendererRange(
                -1e308 if low is None else float(low), 1e308 if high is None else float(high),
                make_symbol(qgis_core, gtype, rule_symbol(rule)),
                str(rule.get("label") or "")))
        return qgis_core.QgsGraduatedSymbolRenderer(field, ranges)
    return qgis_core.QgsSingleSymbolRenderer(make_symbol(qgis_core, gtype, other))


def main():
    args = parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    project = os.path.abspath(args.project)
    wanted = [n for n in args.layers.split(",") if n]
    styles = {}
    for item in args.style:
        name, _, path = item.partition("=")
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        styles[name] = json.loads(text) if text else None

    # The project's z-order (first drawn first), opacity and visibility.
    db = sqlite3.connect(f"file:{project}?mode=ro", uri=True)
    rows = db.execute("SELECT name, opacity FROM dothi_layers "
                      "ORDER BY z_order, name").fetchall()
    db.close()
    order = [(n, o) for n, o in rows if n in wanted]
    missing = set(wanted) - {n for n, _ in order}
    if missing:
        sys.exit(f"qgis-render: no layer {', '.join(sorted(missing))} in {project}")

    t0 = time.perf_counter()
    from qgis import core as qgis_core
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor
    QgsApplication = qgis_core.QgsApplication
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.setMaxThreads(args.threads)
    t1 = time.perf_counter()

    qgis_layers = []
    for name, opacity in order:
        uri = f"dbname='{project}' table=\"{name}\" (geom)"
        layer = qgis_core.QgsVectorLayer(uri, name, "spatialite")
        if not layer.isValid():
            sys.exit(f"qgis-render: QGIS cannot open layer {name} of {project}")
        layer.setRenderer(make_renderer(qgis_core, layer, styles.get(name)))
        layer.setOpacity(float(opacity))
        qgis_layers.append(layer)
    crs = qgis_layers[0].crs()
    dest = qgis_core.QgsCoordinateReferenceSystem("EPSG:3857")
    transform = qgis_core.QgsCoordinateTransform(crs, dest, qgis_core.QgsProject.instance())
    t2 = time.perf_counter()

    result = {
        "qgis_version": qgis_core.Qgis.QGIS_VERSION,
        "threads": QgsApplication.maxThreads(),
        "layer_crs": crs.authid(),
        "simplify": qgis_layers[0].simplifyMethod().simplifyHints() != 0,
        "init_ms": round((t1 - t0) * 1000.0, 1),
        "load_ms": round((t2 - t1) * 1000.0, 1),
        "renders": [],
    }
    for case, extent_text, out in args.render:
        minx, miny, maxx, maxy = (float(v) for v in extent_text.split(","))
        extent = transform.transformBoundingBox(qgis_core.QgsRectangle(minx, miny, maxx, maxy))
        settings = qgis_core.QgsMapSettings()
        # QGIS draws the first layer of the list on top.
        settings.setLayers(list(reversed(qgis_layers)))
        settings.setDestinationCrs(dest)
        settings.setOutputSize(QSize(width, height))
        settings.setOutputDpi(96)
        settings.setExtent(extent)
        settings.setBackgroundColor(QColor(255, 255, 255))
        settings.setFlag(qgis_core.QgsMapSettings.Antialiasing, True)
        settings.setFlag(qgis_core.QgsMapSettings.UseRenderingOptimization, True)
        settings.setFlag(qgis_core.QgsMapSettings.DrawLabeling, False)
        job = qgis_core.QgsMapRendererParallelJob(settings)
        start = time.perf_counter()
        job.start()
        job.waitForFinished()
        ms = (time.perf_counter() - start) * 1000.0
        if "launch_ms" not in result:
            result["launch_ms"] = round(process_age_ms(), 1)
        errors = [f"{e.layerID}: {e.message}" for e in job.errors()]
        if errors:
            sys.exit(f"qgis-render: {case}: " + "; ".join(errors))
        if not job.renderedImage().save(out, "PNG"):
            sys.exit(f"qgis-render: cannot write {out}")
        vis = settings.visibleExtent()
        result["renders"].append({
            "case": case, "ms": round(ms, 1), "out": out,
            "extent_3857": [round(vis.xMinimum(), 2), round(vis.yMinimum(), 2),
                            round(vis.xMaximum(), 2), round(vis.yMaximum(), 2)],
        })

    result["vmhwm_kb"] = proc_status_kb("VmHWM")
    result["vmrss_kb"] = proc_status_kb("VmRSS")
    print(json.dumps(result))
    sys.stdout.flush()
    # exitQgis() can crash in offscreen runs after the job threads are gone;
    # the figures are out, so leave without it.
    os._exit(0)


if __name__ == "__main__":
    main()
