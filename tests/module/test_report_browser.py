"""The report page in a real browser: Debian's headless Chromium renders report.html from a
validate.yml run, the screenshot is kept in tests/output/report/ (collected with the test
output), checked to be a non-blank PNG of the window's size, and every number the charts and
tables show in the rendered DOM is checked against report.json."""

import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from playbook_env import REPO
from test_validate_playbook import LAYER_SECTION, run_validate

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WINDOW = (1280, 2200)
OUTPUT = os.path.join(REPO, "tests", "output", "report")


def chromium(*args):
    """Run headless Chromium (its Debian wrapper prints a harmless shell warning on stderr)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("chromium is not installed (scripts/bootstrap installs Debian's chromium)", pytrace=False)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
           # Nothing may be fetched: any host name fails to resolve.
           "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=%d,%d" % WINDOW] + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, HOME=os.environ.get("TMPDIR", "/tmp")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def png_facts(path):
    """Width, height and how many scanlines hold more than a uniform colour (no decoder needed).

    A scanline of one colour, whatever PNG filter the encoder chose, is at most the first pixel's
    bytes and zeros; a line with text or bars has many different bytes.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour = header[:4]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = 1 + width * channels * depth // 8
    raw = zlib.decompress(b"".join(idat))
    assert len(raw) == stride * height
    busy = sum(1 for y in range(height) if len(set(raw[y * stride + 1:(y + 1) * stride])) > 8)
    return width, height, busy


class Dom(HTMLParser):
    """Elements with an id or data-* attributes, their ancestors, and the text inside them."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "area", "base", "source"}

    def __init__(self):
        super().__init__()
        self.stack = []
        self.elements = []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "parent": self.stack[-1] if self.stack else None}
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": "", "parent": self.stack[-1] if self.stack else None})

    def handle_endtag(self, tag):
        if tag not in [e["tag"] for e in self.stack]:
            return
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def find(self, tag=None, **attrs):
        return [e for e in self.elements if (tag is None or e["tag"] == tag)
                and all(e["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items())]

    @staticmethod
    def ancestor(element, tag):
        while element is not None and element["tag"] != tag:
            element = element["parent"]
        return element


def one_decimal(value):
    return "-" if value is None else "%.1f" % value


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("browser")
    proc = run_validate(tmp_path, {"validation_report_fail_on": "never", "storage_validation_min_read_mibps": 1,
                                   "storage_validation_min_write_mibps": 5000, "storage_validation_min_free_gb": 1,
                                   "demo_report_section": LAYER_SECTION})
    assert proc.returncode == 0, proc.stdout[-3000:]
    report_dir = tmp_path / "report"
    shutil.rmtree(OUTPUT, ignore_errors=True)
    os.makedirs(OUTPUT)
    for name in ("report.json", "report.html"):
        shutil.copy(str(report_dir / name), os.path.join(OUTPUT, name))
    url = "file://" + os.path.join(OUTPUT, "report.html")
    screenshot = os.path.join(OUTPUT, "report.png")
    chromium("--screenshot=%s" % screenshot, url)
    dom_text = chromium("--dump-dom", url).stdout
    with open(os.path.join(OUTPUT, "dom.html"), "w") as handle:
        handle.write(dom_text)
    dom = Dom()
    dom.feed(dom_text)
    with open(os.path.join(OUTPUT, "report.json")) as handle:
        report = json.load(handle)
    return {"report": report, "dom": dom, "dom_text": dom_text, "screenshot": screenshot, "tmp": tmp_path}


def test_the_screenshot_is_a_real_page_of_the_window_size(rendered):
    width, height, busy = png_facts(rendered["screenshot"])
    assert (width, height) == WINDOW
    # Text, bars and tables on a good part of the page (a blank page has none: see below).
    assert busy > height // 5, "only %d of %d scanlines show anything" % (busy, height)


def test_a_blank_page_is_told_apart(rendered):
    blank = rendered["tmp"] / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    shot = str(rendered["tmp"] / "blank.png")
    chromium("--screenshot=%s" % shot, "file://%s" % blank)
    assert png_facts(shot)[2] == 0


def test_the_page_fetches_nothing(rendered):
    dom = rendered["dom"]
    assert not dom.find("script") and not dom.find("link") and not dom.find("img") and not dom.find("iframe")
    assert "url(" not in rendered["dom_text"] and "@import" not in rendered["dom_text"]
    assert [e["attrs"]["id"] for e in dom.find("svg")] == ["chart-findings", "chart-throughput", "chart-disk", "chart-zones"]


def test_throughput_on_the_page_is_report_json(rendered):
    report, dom = rendered["report"], rendered["dom"]
    figures = report["figures"]["throughput"]
    assert len(figures) == 3  # node-a: one directory, node-b: two (one missing)
    seen = []
    for element in dom.find("g", **{"class": "bar"}):
        row = element["parent"]
        if Dom.ancestor(element, "svg")["attrs"]["id"] != "chart-throughput":
            continue
        seen.append((row["attrs"]["data-host"], row["attrs"]["data-path"], element["attrs"]["data-series"],
                     element["attrs"]["data-value"], element["attrs"]["data-threshold"], element["attrs"]["data-status"]))
        # The number is also printed next to the bar.
        value = element["attrs"]["data-value"]
        assert (value + " MiB/s" if value else "not measured") in element["text"]
    expected = []
    for f in figures:
        for phase in ("write", "read"):
            value, minimum = f["%s_mibps" % phase], f["min_%s_mibps" % phase]
            status = "none" if value is None or minimum is None else ("ok" if value >= minimum else "bad")
            expected.append((f["host"], f["directory"], phase, "" if value is None else one_decimal(value),
                             "" if minimum is None else one_decimal(minimum), status))
    assert seen == expected
    # Measured directories have a status against their minimum (read: 1 MiB/s, passed: green).
    assert {s[5] for s in seen if s[3] and s[2] == "read"} == {"ok"}
    assert {s[5] for s in seen if s[3]} <= {"bad", "ok"}
    table = []
    for row in dom.find("tr"):
        if Dom.ancestor(row, "table")["attrs"].get("id") == "table-throughput" and "data-path" in row["attrs"]:
            cells = dict((td["attrs"]["data-field"], td["text"].strip()) for td in dom.elements
                         if td["parent"] is row and "data-field" in td["attrs"])
            table.append((row["attrs"]["data-host"], row["attrs"]["data-path"], cells["write_mibps"], cells["read_mibps"],
                          cells["min_write_mibps"], cells["min_read_mibps"]))
    assert table == [(f["host"], f["directory"], one_decimal(f["write_mibps"]), one_decimal(f["read_mibps"]),
                      one_decimal(f["min_write_mibps"]), one_decimal(f["min_read_mibps"])) for f in figures]


def test_disk_zones_and_findings_on_the_page_are_report_json(rendered):
    report, dom = rendered["report"], rendered["dom"]

    def chart_bars(chart_id, *keys):
        return [tuple(b["parent"]["attrs"][k] for k in keys) + (b["attrs"]["data-series"], b["attrs"]["data-value"])
                for b in dom.find("g", **{"class": "bar"}) if Dom.ancestor(b, "svg")["attrs"]["id"] == chart_id]

    disk = report["figures"]["disk_space"]
    assert len(disk) == 3 and all(d["required_gb"] == 1.0 for d in disk)
    assert chart_bars("chart-disk", "data-host", "data-path") == [
        (d["host"], d["path"], "free", one_decimal(d["free_gb"])) for d in disk]
    for d in disk:
        row = [r for r in dom.find("tr", data_host=d["host"], data_path=d["path"])
               if Dom.ancestor(r, "table")["attrs"].get("id") == "table-disk"][0]
        cells = dict((e["attrs"]["data-field"], e["text"].strip()) for e in dom.elements
                     if e["parent"] is row and "data-field" in e["attrs"])
        assert cells == {"free_gb": one_decimal(d["free_gb"]), "required_gb": "1.0"}

    zones = report["figures"]["zones"]
    assert [z["zone"] for z in zones] == ["(no zone)", "sdsu", "ucsd"]
    assert chart_bars("chart-zones", "data-zone") == [
        (z["zone"], key, str(z[key])) for z in zones for key in ("nodes", "pvs", "pods")]
    for zone, z in report["placement"]["zones"].items():
        row = dom.find("tr", data_zone=zone)[0]
        counts = dict((e["attrs"]["data-field"], e["attrs"]["data-count"]) for e in dom.elements
                      if e["parent"] is row and "data-count" in e["attrs"])
        assert counts == {"nodes": str(len(z["nodes"])), "pvs": str(len(z["pvs"])), "pods": str(len(z["pods"]))}

    findings = report["figures"]["findings"]
    assert chart_bars("chart-findings", "data-severity", "data-check") == [
        (f["severity"], f["check"], "count", str(f["count"])) for f in findings]
    assert sum(f["count"] for f in findings if f["severity"] == "error") == report["counts"]["error"]
    for f in findings:
        row = dom.find("tr", data_severity=f["severity"], data_check=f["check"])[0]
        assert f["fix"] in row["text"] and str(f["count"]) in row["text"]
    # The status and the counts at the top.
    assert report["status"] in ("failed", "warnings")
    assert dom.find("span", **{"class": "badge %s" % report["status"]})[0]["text"] == report["status"].upper()
    assert "%d errors" % report["counts"]["error"] in rendered["dom_text"]
    # A layer's section, and the cluster part saying it was not read (a snapshot run).
    assert "Demo layer &lt;b&gt;" in rendered["dom_text"] and report["cluster"]["read"] is None
    assert "The cluster's state was not read" in rendered["dom_text"]
