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


def test_async_results_thresholds_and_figures():
    # An async_status result's item is the started job's result, whose item is the directory.
    failed_job = {"item": {"item": "/raid/models", "ansible_job_id": "1.2"}, "failed": True, "finished": 1,
                  "msg": "path /raid/models does not exist"}
    nodes = {"gpu-1": dict(node(measured("/raid"), failed_job,
                                disk_space={"paths": [{"path": "/raid", "free_gb": 120.5, "required_gb": 100.0, "ok": True}],
                                            "violations": []}),
                           thresholds={"min_read_mibps": "1500.0", "min_write_mibps": 0, "min_free_gb": 100})}
    report = build_report(placement(error=1, warning=2), nodes, NOW)
    entries = report["nodes"]["gpu-1"]["throughput"]
    assert entries[1]["directory"] == "/raid/models" and entries[1]["error"].startswith("path /raid/models")
    assert entries[0]["min_read_mibps"] == 1500.0 and entries[0]["min_write_mibps"] is None
    fig = report["figures"]
    assert fig["throughput"] == [
        {"host": "gpu-1", "directory": "/raid", "measured": True, "write_mibps": 1000.0, "read_mibps": 2000.0,
         "min_write_mibps": None, "min_read_mibps": 1500.0, "ok": True},
        {"host": "gpu-1", "directory": "/raid/models", "measured": False, "write_mibps": None, "read_mibps": None,
         "min_write_mibps": None, "min_read_mibps": None, "ok": False}]
    assert fig["disk_space"] == [{"host": "gpu-1", "path": "/raid", "free_gb": 120.5, "required_gb": 100.0, "ok": True}]
    assert fig["zones"] == [{"zone": "ucsd", "nodes": 1, "pvs": 0, "pods": 0}]
    # Errors first, then by count; every row has its fix.
    assert [(f["severity"], f["check"], f["count"]) for f in fig["findings"]] == [
        ("error", "pod-node-violates-pv-affinity", 1), ("error", "throughput", 1), ("warning", "cross-zone-pod-volume", 2)]
    assert fig["findings"][0]["fix"].startswith("delete the pod")
    assert report["cluster"]["read"] is None


def test_cluster_problems_count_and_sections_are_not_repeated():
    cluster = {"read": True, "error": None, "claims": [],
               "releases": [{"namespace": "ns", "name": "tf", "revision": 2, "status": "failed", "error": None,
                             "description": "Upgrade failed"}],
               "layers": [{"name": "linstor", "title": "LINSTOR", "present": True, "kinds": [], "errors": [],
                           "objects": [{"kind": "LinstorCluster", "namespace": "", "name": "c",
                                        "conditions": [{"type": "Available", "status": "False", "reason": "x", "message": "y"}]}]}]}
    report = build_report(placement(), {}, NOW, None, cluster)
    assert [(p["source"], p["severity"], p["subject"]) for p in report["problems"]] == [
        ("cluster", "error", "helm release ns/tf"), ("cluster", "warning", "LinstorCluster c")]
    assert report["status"] == "failed" and report["cluster"] is cluster
    section = dict(STORAGE_SECTION, problems=[{"severity": "error", "subject": "release tf", "message": "not deployed"}])
    report = build_report(placement(), {}, NOW, [section], cluster)
    assert [p["source"] for p in report["problems"]] == ["storage"]
    unread = build_report(placement(), {}, NOW, None, {"read": False, "error": "connection refused", "releases": [],
                                                       "layers": [], "claims": []})
    assert unread["problems"][0]["message"] == "The cluster's state could not be read: connection refused"
