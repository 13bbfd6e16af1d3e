# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validation report's charts, drawn server-side as inline SVG.

Each chart function takes the report's ``figures`` (see module_utils.validation_report) and
returns one ``<svg>`` element as a string: no script, no external reference, every text
escaped. Every bar carries its number as text and as ``data-*`` attributes, and every chart has
a stable ``id`` (``chart-throughput``, ``chart-disk``, ``chart-zones``, ``chart-findings``), so
a test (or a person with a DOM inspector) can read the figures back. Pure: no I/O.

The layout is a horizontal bar chart: one row per subject (node and path, zone, check), one
bar per series, the value printed after the bar and, where there is one, a requirement drawn as
a dashed line across the bar with its value in the bar's tooltip. Bars that miss their requirement
are red, the others green or blue.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

WIDTH = 920
LABEL_WIDTH = 300
VALUE_WIDTH = 110
BAR_HEIGHT = 14
BAR_GAP = 3
ROW_GAP = 12
TOP = 50
LABEL_CHARS = 40
BOTTOM = 30
COLORS = {"ok": "#2da44e", "bad": "#cf222e", "none": "#8c959f", "write": "#0969da", "read": "#8250df",
          "free": "#0969da", "count": "#0969da", "nodes": "#0969da", "pvs": "#bf8700", "pods": "#2da44e",
          "error": "#cf222e", "warning": "#bf8700", "info": "#0969da"}


def escape(text):
    """XML-escape a value for text and attribute content."""
    return (u"%s" % (text,)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def nice_max(value):
    """The axis maximum: the smallest 1, 2, 2.5 or 5 times a power of ten >= value (1 for 0)."""
    if value is None or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10 ** exponent
        if top >= value * (1 - 1e-12):
            return float(top)
    return float(10 ** (exponent + 1))  # pragma: no cover (10 always fits)


def axis_max(value, whole=False):
    """nice_max, or for counts (``whole``) a multiple of 4 so that the 4 grid steps are whole numbers."""
    if whole:
        return float(max(4, 4 * int(math.ceil((value or 0) / 4.0))))
    return nice_max(value)


def shorten(text, limit=LABEL_CHARS):
    """``text`` if it fits in ``limit`` characters, else its end after an ellipsis (paths differ at the end)."""
    text = u"%s" % (text,)
    return text if len(text) <= limit else u"\u2026" + text[-(limit - 1):]


def subject_label(host, path, limit=LABEL_CHARS):
    """``host path`` with the path shortened so that the host stays readable."""
    room = max(8, limit - len(host) - 1)
    return u"%s %s" % (host, shorten(path, room))


def format_number(value, digits=1):
    """A figure as the page prints it: fixed decimals, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return "%d" % value
    return "%.*f" % (digits, value)


def tick_text(value):
    """An axis tick: no trailing zeros (12.5, 250, 0.25)."""
    return ("%.2f" % value).rstrip("0").rstrip(".")


def _attrs(attributes):
    return "".join(' %s="%s"' % (k, escape(v)) for k, v in attributes if v is not None)


def bar_chart(chart_id, title, unit, rows, series, digits=1, empty="No data.", legend=None):
    """One horizontal bar chart as an ``<svg>`` string.

    ``rows``: ``[{"label": str, "data": {attr: value}, "bars": {series_key: {"value": number or None,
    "threshold": number or None, "ok": bool or None}}}]``; ``series``: ``[(key, legend text)]``.
    A bar's color: its own ``color`` key when given, else red when ``ok`` is false, green when
    true, the series color when None. ``legend``: ``[(color key, text)]``, by default the series.
    """
    if not rows:
        height = TOP + 30
        return ('<svg id="%s" class="chart" role="img" width="%d" height="%d" '
                'viewBox="0 0 %d %d"><title>%s</title><text x="0" y="18" class="chart-title">%s</text>'
                '<text x="0" y="%d" class="chart-empty">%s</text></svg>'
                % (escape(chart_id), WIDTH, height, WIDTH, height, escape(title), escape(title), TOP + 14, escape(empty)))
    values = []
    for row in rows:
        for key, _legend in series:
            spec = row["bars"].get(key) or {}
            for v in (spec.get("value"), spec.get("threshold")):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    values.append(float(v))
    top = axis_max(max(values) if values else 0, whole=digits == 0)
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    row_height = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    height = TOP + len(rows) * (row_height + ROW_GAP) + BOTTOM
    scale = plot / top
    out = ['<svg id="%s" class="chart" role="img" width="%d" height="%d" '
           'viewBox="0 0 %d %d" data-unit="%s" data-axis-max="%s">'
           % (escape(chart_id), WIDTH, height, WIDTH, height, escape(unit), format_number(top, 2)),
           "<title>%s</title>" % escape(title),
           '<text x="0" y="16" class="chart-title" font-weight="600">%s</text>' % escape(title)]
    # Legend: one swatch per series.
    x = 0
    for key, text in legend or series:
        out.append('<rect x="%d" y="24" width="10" height="10" fill="%s"/><text x="%d" y="33" font-size="12">%s</text>'
                   % (x, COLORS.get(key, COLORS["none"]), x + 14, escape(text)))
        x += 14 + 7 * len(text) + 18
    # Grid: 0, 1/4 ... top.
    bottom_y = height - BOTTOM + 4
    for i in range(5):
        gx = LABEL_WIDTH + plot * i / 4.0
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d8dee4" stroke-width="1"/>'
                   '<text x="%.1f" y="%d" font-size="11" fill="#59636e" text-anchor="middle">%s</text>'
                   % (gx, TOP - 6, gx, bottom_y, gx, bottom_y + 14, escape(tick_text(top * i / 4.0))))
    y = TOP
    for index, row in enumerate(rows):
        out.append('<g class="chart-row" data-row="%d"%s>' % (index, _attrs(sorted((row.get("data") or {}).items()))))
        out.append('<text x="%d" y="%d" font-size="12" text-anchor="end" class="row-label"><title>%s</title>%s</text>'
                   % (LABEL_WIDTH - 8, y + row_height / 2.0 + 4, escape(row.get("full_label") or row["label"]),
                      escape(shorten(row["label"]))))
        for position, (key, series_text) in enumerate(series):
            spec = row["bars"].get(key) or {}
            value = spec.get("value")
            threshold = spec.get("threshold")
            ok = spec.get("ok")
            by = y + position * (BAR_HEIGHT + BAR_GAP)
            color = COLORS["bad"] if ok is False else (COLORS["ok"] if ok is True else COLORS.get(key, COLORS["none"]))
            color = COLORS.get(spec.get("color"), color)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            width = max(0.0, float(value) * scale) if numeric else 0.0
            status = "none" if ok is None else ("ok" if ok else "bad")
            out.append('<g class="bar" data-series="%s" data-value="%s" data-threshold="%s" data-status="%s">'
                       % (escape(key), escape(format_number(value, digits) if numeric else ""),
                          escape(format_number(threshold, digits) if threshold is not None else ""), status))
            out.append('<title>%s %s: %s %s%s</title>' % (
                escape(row.get("full_label") or row["label"]), escape(series_text), escape(format_number(value, digits) if numeric else "not measured"),
                escape(unit), escape("" if threshold is None else " (required %s)" % format_number(threshold, digits))))
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" rx="2"/>'
                       % (LABEL_WIDTH, by, width, BAR_HEIGHT, color))
            if threshold is not None:
                tx = LABEL_WIDTH + min(float(threshold), top) * scale
                out.append('<line class="threshold" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#1d2329" '
                           'stroke-width="2" stroke-dasharray="3,2"/>' % (tx, by - 2, tx, by + BAR_HEIGHT + 2))
            text = (format_number(value, digits) if numeric else "not measured")
            out.append('<text class="bar-value" x="%.1f" y="%d" font-size="12">%s%s</text>'
                       % (LABEL_WIDTH + width + 5, by + BAR_HEIGHT - 3, escape(text), escape(" " + unit if numeric and unit else "")))
            out.append("</g>")
        out.append("</g>")
        y += row_height + ROW_GAP
    out.append("</svg>")
    return "".join(out)


def throughput_chart(figures):
    """Write and read MiB/s per node and directory against min_write_mibps / min_read_mibps."""
    rows = []
    for t in figures.get("throughput") or []:
        rows.append({"label": subject_label(t["host"], t["directory"]), "full_label": "%s %s" % (t["host"], t["directory"]),
                     "data": {"data-host": t["host"], "data-path": t["directory"]},
                     "bars": dict((phase, {"value": t.get("%s_mibps" % phase), "threshold": t.get("min_%s_mibps" % phase),
                                           "ok": None if t.get("%s_mibps" % phase) is None or not t.get("min_%s_mibps" % phase)
                                           else t["%s_mibps" % phase] >= t["min_%s_mibps" % phase]})
                                  for phase in ("write", "read"))})
    return bar_chart("chart-throughput", "Throughput per node and directory (MiB/s; dashed line: required)", "MiB/s",
                     rows, [("write", "write MiB/s"), ("read", "read MiB/s")], empty="No directory was measured.")


def disk_chart(figures):
    """Free GB per node and directory against the required GB."""
    rows = []
    for d in figures.get("disk_space") or []:
        required = d.get("required_gb") or None
        rows.append({"label": subject_label(d["host"], d["path"]), "full_label": "%s %s" % (d["host"], d["path"]),
                     "data": {"data-host": d["host"], "data-path": d["path"]},
                     "bars": {"free": {"value": d.get("free_gb"), "threshold": required,
                                       "ok": None if not required else bool(d.get("ok"))}}})
    return bar_chart("chart-disk", "Free disk per node and directory (GB; dashed line: required)", "GB",
                     rows, [("free", "free GB")], empty="No free space was read.")


def zone_chart(figures):
    """Nodes, PVs and pods using claims per zone."""
    rows = []
    for z in figures.get("zones") or []:
        rows.append({"label": z["zone"], "data": {"data-zone": z["zone"]},
                     "bars": dict((k, {"value": z[k]}) for k in ("nodes", "pvs", "pods"))})
    return bar_chart("chart-zones", "Nodes, PersistentVolumes and pods using claims per zone", "",
                     rows, [("nodes", "nodes"), ("pvs", "PVs"), ("pods", "pods")], digits=0,
                     empty="No zone map (the placement check did not run or found no zones).")


def findings_chart(figures):
    """Problems and findings per severity and check."""
    rows = []
    for f in figures.get("findings") or []:
        rows.append({"label": f["check"], "full_label": "%s %s" % (f["severity"], f["check"]),
                     "data": {"data-severity": f["severity"], "data-check": f["check"]},
                     "bars": {"count": {"value": f["count"], "color": f["severity"]}}})
    return bar_chart("chart-findings", "Findings per severity and check", "", rows, [("count", "findings")], digits=0,
                     empty="No findings.", legend=[("error", "error"), ("warning", "warning"), ("info", "info")])


CHARTS = {"throughput": throughput_chart, "disk": disk_chart, "zones": zone_chart, "findings": findings_chart}
