"""The report's SVG charts: well-formed, self-contained, escaped, and the numbers readable back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils import report_charts as rc

FIGURES = {
    "throughput": [
        {"host": "gpu-1", "directory": "/raid", "write_mibps": 1234.56, "read_mibps": 2000.0, "min_write_mibps": 1500.0,
         "min_read_mibps": None, "ok": False, "measured": True},
        {"host": "gpu-<2>", "directory": "/raid/models/" + "x" * 60, "write_mibps": None, "read_mibps": None,
         "min_write_mibps": None, "min_read_mibps": None, "ok": False, "measured": False},
    ],
    "disk_space": [{"host": "gpu-1", "path": "/raid", "free_gb": 80.25, "required_gb": 100.0, "ok": False},
                   {"host": "gpu-1", "path": "/raid/models", "free_gb": 500.0, "required_gb": 0.0, "ok": True}],
    "zones": [{"zone": "ucsd", "nodes": 3, "pvs": 7, "pods": 2}, {"zone": "sdsu & co", "nodes": 1, "pvs": 0, "pods": 0}],
    "findings": [{"severity": "error", "check": "pvc-pending", "count": 2, "fix": "f"},
                 {"severity": "warning", "check": "cross-zone-pod-volume", "count": 5, "fix": "g"}],
}


def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == "svg"
    text = ET.tostring(root, encoding="unicode")
    assert "<script" not in text and "href" not in text and "http" not in text
    return root


def bars(root):
    out = []
    for row in root.iter("g"):
        if row.get("class") != "chart-row":
            continue
        for spec in row.findall("g"):
            value = spec.find("text").text
            out.append((dict((k, v) for k, v in row.attrib.items() if k.startswith("data-") and k != "data-row"),
                        spec.get("data-series"), spec.get("data-value"), spec.get("data-threshold"), spec.get("data-status"),
                        value))
    return out


def test_throughput_chart():
    root = parse(rc.throughput_chart(FIGURES))
    assert root.get("id") == "chart-throughput" and root.get("data-unit") == "MiB/s"
    assert root.get("data-axis-max") == "2000.00"
    assert bars(root) == [
        ({"data-host": "gpu-1", "data-path": "/raid"}, "write", "1234.6", "1500.0", "bad", "1234.6 MiB/s"),
        ({"data-host": "gpu-1", "data-path": "/raid"}, "read", "2000.0", "", "none", "2000.0 MiB/s"),
        ({"data-host": "gpu-<2>", "data-path": FIGURES["throughput"][1]["directory"]}, "write", "", "", "none", "not measured"),
        ({"data-host": "gpu-<2>", "data-path": FIGURES["throughput"][1]["directory"]}, "read", "", "", "none", "not measured"),
    ]
    # One dashed requirement line (write of gpu-1), drawn at 1500/2000 of the plot.
    lines = [e for e in root.iter("line") if e.get("class") == "threshold"]
    assert len(lines) == 1
    assert float(lines[0].get("x1")) == pytest.approx(rc.LABEL_WIDTH + 1500 / 2000.0 * (rc.WIDTH - rc.LABEL_WIDTH - rc.VALUE_WIDTH), abs=0.1)
    labels = [e for e in root.iter("text") if e.get("class") == "row-label"]
    shown = labels[1].find("title").tail  # the label's text follows its tooltip
    assert shown.startswith(u"gpu-<2> \u2026") and len(shown) <= rc.LABEL_CHARS
    assert labels[1].find("title").text.endswith("x" * 60)  # the whole name on hover


def test_disk_chart_marks_the_shortfall():
    root = parse(rc.disk_chart(FIGURES))
    assert [(b[2], b[3], b[4]) for b in bars(root)] == [("80.2", "100.0", "bad"), ("500.0", "", "none")]
    fills = [e.get("fill") for e in root.iter("rect") if e.get("rx")]
    assert fills == [rc.COLORS["bad"], rc.COLORS["free"]]


def test_zone_and_findings_charts_count_whole_numbers():
    zones = parse(rc.zone_chart(FIGURES))
    assert zones.get("data-axis-max") == "8.00"
    assert [(b[0]["data-zone"], b[1], b[2]) for b in bars(zones)] == [
        ("ucsd", "nodes", "3"), ("ucsd", "pvs", "7"), ("ucsd", "pods", "2"),
        ("sdsu & co", "nodes", "1"), ("sdsu & co", "pvs", "0"), ("sdsu & co", "pods", "0")]
    ticks = [e.text for e in zones.iter("text") if e.get("fill") == "#59636e"]
    assert ticks == ["0", "2", "4", "6", "8"]
    findings = parse(rc.findings_chart(FIGURES))
    assert [(b[0]["data-severity"], b[0]["data-check"], b[2]) for b in bars(findings)] == [
        ("error", "pvc-pending", "2"), ("warning", "cross-zone-pod-volume", "5")]
    assert [e.get("fill") for e in findings.iter("rect") if e.get("rx")] == [rc.COLORS["error"], rc.COLORS["warning"]]


@pytest.mark.parametrize("name", sorted(rc.CHARTS))
def test_empty_charts_say_so(name):
    root = parse(rc.CHARTS[name]({}))
    assert root.get("id") == "chart-" + name
    assert [e.text for e in root.iter("text") if e.get("class") == "chart-empty"][0].startswith("No ")


@pytest.mark.parametrize("value, expected", [(0, 1.0), (None, 1.0), (1, 1.0), (1.2, 2.0), (2.2, 2.5), (3, 5.0),
                                             (7, 10.0), (1234.5, 2000.0), (2000.0, 2000.0), (0.03, 0.05)])
def test_nice_max(value, expected):
    assert rc.nice_max(value) == pytest.approx(expected)


def test_small_helpers():
    assert rc.axis_max(0, whole=True) == 4.0 and rc.axis_max(9, whole=True) == 12.0
    assert rc.tick_text(12.5) == "12.5" and rc.tick_text(250.0) == "250" and rc.tick_text(0.25) == "0.25"
    assert rc.format_number(None) == "-" and rc.format_number(3) == "3" and rc.format_number(2.25, 1) == "2.2"
    assert rc.escape('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert rc.shorten("short") == "short" and len(rc.shorten("y" * 100)) == rc.LABEL_CHARS
