"""The report's structure, status and gate, from registered-result-shaped dicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import build_report, check_section, gate

NOW = "2026-01-01T12:00:00Z"


def placement(error=0, warning=0, info=0):
    findings = ([{"check": "pod-node-violates-pv-affinity", "severity": "error"}] * error
                + [{"check": "cross-zone-pod-volume", "severity": "warning"}] * warning
                + [{"check": "pvc-pending", "severity": "info"}] * info)
    return {"changed": False, "findings": findings, "zones": {"ucsd": {"nodes": ["n"], "pvs": [], "pods": []}},
            "summary": {"by_severity": {"error": error, "warning": warning, "info": info}, "by_check": {}, "objects": {}},
            "source": {"type": "cluster"}}


def measured(directory, violations=(), fallback=False, checked=True):
    return {"item": directory, "directory": directory, "measured": checked, "engine": "fio", "direct": not fallback,
            "direct_fallback": fallback, "write": {"mibps": 1000.0}, "read": {"mibps": 2000.0},
            "violations": list(violations), "invocation": {"module_args": {"path": directory}}, "changed": False}


def failed(directory, msg):
    return {"item": directory, "failed": True, "msg": msg, "invocation": {"module_args": {"path": directory}}}


def node(*throughput, disk_space=None):
    return {"throughput": {"results": list(throughput), "changed": False},
            "disk_space": disk_space if disk_space is not None else {"paths": [{"path": "/raid"}], "violations": []}}


def test_all_good():
    report = build_report(placement(info=2), {"gpu-1": node(measured("/raid"))}, NOW)
    assert report["status"] == "passed"
    assert report["counts"] == {"error": 0, "warning": 0, "info": 2}
    assert report["problems"] == []
    assert report["generated"] == NOW
    entry = report["nodes"]["gpu-1"]["throughput"][0]
    assert entry["ok"] and entry["read"]["mibps"] == 2000.0
    assert "invocation" not in entry and "item" not in entry
    assert report["placement"]["ran"] and report["placement"]["zones"]["ucsd"]["nodes"] == ["n"]


def test_every_kind_of_problem():
    nodes = {
        "gpu-1": node(measured("/raid", violations=["read throughput 10.0 MiB/s is below min_read_mibps=100"]),
                      failed("/raid/models", "path /raid/models does not exist"),
                      measured("/dev/shm", fallback=True),
                      disk_space={"paths": [], "violations": ["/raid ... 0.1 GB free, 100.0 GB required"]}),
        "gpu-2": {},  # unreachable
        "gpu-3": node(measured("/raid"), disk_space={"failed": True, "msg": "cannot read the mount table"}),
    }
    report = build_report(placement(error=1, warning=1), nodes, NOW)
    assert report["status"] == "failed"
    assert report["counts"] == {"error": 1 + 5, "warning": 1 + 1, "info": 0}
    problems = [(p["severity"], p["source"], p["host"]) for p in report["problems"]]
    assert problems == [
        ("error", "disk_space", "gpu-1"),
        ("error", "disk_space", "gpu-3"),
        ("error", "node", "gpu-2"),
        ("error", "throughput", "gpu-1"),
        ("error", "throughput", "gpu-1"),
        ("warning", "throughput", "gpu-1"),
    ]
    assert report["nodes"]["gpu-2"]["reachable"] is False
    entries = report["nodes"]["gpu-1"]["throughput"]
    assert [e["ok"] for e in entries] == [False, False, True]
    assert entries[1]["error"] == "path /raid/models does not exist" and entries[1]["directory"] == "/raid/models"


def test_placement_that_could_not_run_is_an_error():
    report = build_report({"failed": True, "msg": "cannot reach the Kubernetes API"}, {}, NOW)
    assert report["status"] == "failed"
    assert report["placement"] == {"ran": False, "error": "cannot reach the Kubernetes API", "findings": [], "summary": None,
                                   "zones": {}, "source": None}
    assert "cannot reach" in report["problems"][0]["message"]


@pytest.mark.parametrize("skipped", [{}, {"skipped": True, "changed": False}])
def test_placement_not_run_is_no_problem(skipped):
    report = build_report(skipped, {}, NOW)
    assert report["status"] == "passed" and report["placement"]["ran"] is False


def test_check_mode_results_are_info():
    report = build_report({}, {"gpu-1": node(measured("/raid", checked=False))}, NOW)
    assert report["counts"] == {"error": 0, "warning": 0, "info": 1}
    assert report["status"] == "passed"


def test_skipped_loop_items():
    report = build_report({}, {"gpu-1": node({"skipped": True, "item": "/raid"})}, NOW)
    assert report["nodes"]["gpu-1"]["throughput"][0]["msg"] == "skipped"


@pytest.mark.parametrize(
    "counts, fail_on, expected",
    [({"error": 1, "warning": 0}, "error", True), ({"error": 0, "warning": 2}, "error", False),
     ({"error": 0, "warning": 2}, "warning", True), ({"error": 3, "warning": 3}, "never", False)],
)
def test_gate(counts, fail_on, expected):
    assert gate({"counts": dict(counts, info=0)}, fail_on) is expected


STORAGE_SECTION = {
    "name": "storage",
    "title": "LINSTOR storage",
    "tables": [{"title": "StorageClasses", "columns": ["Name", "Binding"], "rows": [["fast", "WaitForFirstConsumer"]]}],
    "problems": [{"severity": "warning", "subject": "pvc cache/a", "message": "Pending"},
                 {"severity": "info", "message": "no LINSTOR controller"}],
    "notes": ["lab"],
}


def test_sections_are_kept_and_their_problems_counted():
    report = build_report(placement(), {}, NOW, [STORAGE_SECTION])
    assert report["status"] == "warnings"
    assert report["counts"] == {"error": 0, "warning": 1, "info": 1}
    assert report["sections"] == [{"name": "storage", "title": "LINSTOR storage", "notes": ["lab"],
                                   "tables": STORAGE_SECTION["tables"]}]
    assert [(p["source"], p["subject"], p["severity"]) for p in report["problems"]] == [
        ("storage", "pvc cache/a", "warning"), ("storage", None, "info")]


def test_no_sections():
    assert build_report(placement(), {}, NOW)["sections"] == []
    assert build_report(placement(), {}, NOW, [])["sections"] == []


@pytest.mark.parametrize("section, message", [
    ("storage", "must be a dict"),
    ({"title": "x"}, "non-empty string 'name'"),
    ({"name": "s", "rows": []}, "unknown keys rows"),
    ({"name": "s", "tables": [{"rows": []}]}, "table 0 needs a list of 'columns'"),
    ({"name": "s", "tables": [{"title": "t", "columns": ["a", "b"], "rows": [["only one"]]}]}, "not a list of 2 cells"),
    ({"name": "s", "problems": [{"severity": "fatal", "message": "m"}]}, "needs a severity"),
    ({"name": "s", "problems": [{"severity": "error"}]}, "and a message"),
])
def test_malformed_sections(section, message):
    errors = check_section(section)
    assert any(message in e for e in errors), errors
    with pytest.raises(ValueError, match=message):
        build_report(placement(), {}, NOW, [section])


def test_good_section_has_no_errors():
    assert check_section(STORAGE_SECTION) == []
