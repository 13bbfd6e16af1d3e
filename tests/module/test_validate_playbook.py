"""playbooks/validate.yml end to end on this host: two "GPU nodes" (local connections with their
own directories), a snapshot for the placement check, the report written and the run gated."""

import json
import os
import re
import subprocess

import pytest
import yaml

from playbook_env import FILES, REPO, environment


# Only the three roles' preflights: what a bad input must stop (nothing is measured or written).
PREFLIGHTS = ("--tags", "storage_validation_preflight,placement_validation_preflight,validation_report_preflight")


def run_validate(tmp_path, extra_vars, check=False, args=()):
    good = tmp_path / "cache"
    good.mkdir(exist_ok=True)
    inventory = {"all": {"children": {"gpu_nodes": {"hosts": {
        "node-a": {"ansible_connection": "local", "storage_validation_paths": [str(good)]},
        "node-b": {"ansible_connection": "local", "storage_validation_paths": [str(good), str(tmp_path / "raid" / "models")]},
    }}}, "vars": {"storage_validation_size": "8MiB", "storage_validation_engine": "builtin",
                  "storage_validation_poll_seconds": 1}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    variables = dict({"validation_report_dir": str(tmp_path / "report"),
                      "placement_validation_snapshot": [os.path.join(FILES, "cluster-violations.yaml")]}, **extra_vars)
    cmd = ["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), os.path.join(REPO, "playbooks", "validate.yml"),
           "-e", json.dumps(variables)]
    if check:
        cmd.append("--check")
    cmd.extend(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environment(), cwd=str(tmp_path), check=False)
    return proc


def test_report_is_written_then_the_run_fails_on_errors(tmp_path):
    proc = run_validate(tmp_path, {})
    assert proc.returncode != 0
    assert "What to fix is in %s/report.html" % (tmp_path / "report") in proc.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["status"] == "failed"
    # Placement: 5 errors and 3 warnings from the snapshot; nodes: node-b's missing directory.
    assert report["counts"] == {"error": 6, "warning": 3, "info": 0}
    assert [(p["host"], p["source"]) for p in report["problems"]] == [("node-b", "throughput")]
    assert "does not exist" in report["problems"][0]["message"]
    assert sorted(report["nodes"]) == ["node-a", "node-b"]
    measured = report["nodes"]["node-a"]["throughput"][0]
    assert measured["ok"] and measured["engine"] == "builtin" and measured["read"]["mibps"] > 0
    assert report["nodes"]["node-a"]["disk_space"]["paths"][0]["fstype"]
    assert report["placement"]["ran"] and len(report["placement"]["findings"]) == 8
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "FAILED" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    assert "pod-node-violates-pv-affinity" in html and "node-b" in html
    assert oct(os.stat(str(tmp_path / "report")).st_mode & 0o777) == "0o750"
    # Each directory is measured as a background job, polled: one task per directory.
    assert proc.stdout.count("TASK [gpufleet.cluster.storage_validation : Measure /") == 2
    recap = proc.stdout[proc.stdout.index("PLAY RECAP"):]
    assert re.search(r"node-a +: ok=\d+ +changed=0 ", recap) and re.search(r"node-b +: ok=\d+ +changed=0 ", recap)


LAYER_SECTION = {"name": "demo", "title": "Demo layer <b>",
                 "tables": [{"title": "Claims", "columns": ["Claim", "Phase"], "rows": [["cache/a", "Pending"]]}],
                 "problems": [{"severity": "warning", "subject": "pvc cache/a", "message": "claim Pending"}],
                 "notes": ["proven in the lab only"],
                 # An in-pod fio run: a snapshot run reads no claim, so the report says why there is no
                 # host-side figure (tests/integration/test_validation_report_cluster.py has one).
                 "benchmarks": [{"title": "fio in a pod", "job": "cache/bench", "claim": "cache/a", "node": "node-a",
                                 "completed": True, "read_mibps": 812.5, "read_iops": 203.13, "read_p99_ms": 9.5,
                                 "latency_source": "clat", "unavailable": None}]}


def test_fail_on_never_passes_and_thresholds_are_errors(tmp_path):
    # A cluster layer's section reaches the report through a <role>_report_section variable.
    proc = run_validate(tmp_path, {"validation_report_fail_on": "never", "storage_validation_min_write_mibps": 10**9,
                                   "demo_report_section": LAYER_SECTION})
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    below = [p for p in report["problems"] if "below min_write_mibps" in p["message"]]
    assert sorted(p["host"] for p in below) == ["node-a", "node-b"]
    assert [s["name"] for s in report["sections"]] == ["demo"]
    assert [p["message"] for p in report["problems"] if p["source"] == "demo"] == ["claim Pending"]
    bench = report["figures"]["benchmarks"]
    why = "no host-side figure for node-a: the claim's volume was not read (validation_report_read_cluster is off)"
    assert [(b["job"], b["read_mibps"], b["read_iops"], b["read_p99_ms"], b["host_missing"]) for b in bench] == [
        ("cache/bench", 812.5, 203.13, 9.5, why)]
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<h2>Demo layer &lt;b&gt;</h2>" in html
    assert '<td data-column="Claim">cache/a</td><td data-column="Phase">Pending</td>' in html
    assert "proven in the lab only" in html and "claim Pending" in html
    assert ('<td class="num" data-column="Read IOPS">203.13</td><td class="num" data-column="Read p99 (ms)">9.5</td>'
            '<td data-column="Host-side read MiB/s">%s</td>' % why.replace("'", "&#39;")) in html


def test_check_mode_writes_nothing(tmp_path):
    proc = run_validate(tmp_path, {"validation_report_fail_on": "never"}, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Check mode: no report written" in proc.stdout
    assert not (tmp_path / "report").exists()
    assert not os.listdir(str(tmp_path / "cache"))


@pytest.mark.parametrize("bad, expected", [
    ({"storage_validation_size": "10XB"}, "storage_validation_size='10XB' has an unknown unit"),
    ({"storage_validation_size": "10MiB"}, "must be a whole number"),
    ({"storage_validation_paths": ["relative/dir"]}, "storage_validation_paths[0]='relative/dir' is relative"),
    # One case of each class the roles can meet: a control character, a string for a boolean, a signed
    # number, traversal, a system directory by prefix (the measurement writes a test file there).
    ({"storage_validation_paths": ["/raid\n"]}, "control character"),
    ({"storage_validation_direct": "maybe"}, "argument 'storage_validation_direct' is of type str and we were unable to "
                                             "convert to bool: The value 'maybe' is not a valid boolean"),
    ({"storage_validation_min_read_mibps": -5}, "storage_validation_min_read_mibps=-5"),
    ({"storage_validation_paths": ["/raid/../etc"]}, "storage_validation_paths[0]='/raid/../etc' climbs with '..'"),
    ({"storage_validation_paths": ["/etc/gpufleet"]},
     "storage_validation_paths[0]='/etc/gpufleet' is inside the system directory '/etc'"),
    ({"validation_report_dir": "/var/tmp/../../etc/report"}, "validation_report_dir='/var/tmp/../../etc/report' climbs"),
    ({"validation_report_dir": "/var/tmp/gpufleet-report\n"}, "control character"),
    ({"validation_report_dir": "/usr/share/gpufleet-report"},
     "validation_report_dir='/usr/share/gpufleet-report' is inside the system directory '/usr'"),
])
def test_preflight_names_the_variable(tmp_path, bad, expected):
    proc = run_validate(tmp_path, bad, args=PREFLIGHTS)
    assert proc.returncode != 0
    assert expected in proc.stdout, proc.stdout[-3000:]
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("variable", ["storage_validation_paths", "validation_report_dir"])
def test_a_symlinked_parent_into_a_system_directory_is_refused_before_anything_is_written(tmp_path, variable):
    """The path as written is clean; on the host it leads through a symlink into /etc. Nothing is
    measured there and no report is written there."""
    (tmp_path / "etc-link").symlink_to("/etc")
    target = str(tmp_path / "etc-link" / "gpufleet-check")
    proc = run_validate(tmp_path, {variable: [target] if variable == "storage_validation_paths" else target},
                        args=PREFLIGHTS)
    assert proc.returncode != 0
    assert "%s: %s resolves through the symlink %s -> /etc to /etc/gpufleet-check" % (
        variable, target, tmp_path / "etc-link") in proc.stdout, proc.stdout[-3000:]
    assert not os.path.exists("/etc/gpufleet-check")


@pytest.mark.parametrize("snapshot", ["a directory", "missing"])
def test_a_snapshot_that_is_not_a_file_is_refused_before_any_report(tmp_path, snapshot):
    """placement_validation reads a snapshot instead of the cluster: a directory or a missing file
    named there fails the preflight, naming it, and no report is written."""
    path = tmp_path / "snapshots" if snapshot == "a directory" else tmp_path / "missing.json"
    if snapshot == "a directory":
        path.mkdir()
    proc = run_validate(tmp_path, {"placement_validation_snapshot": [str(path)]}, args=PREFLIGHTS)
    assert proc.returncode != 0
    assert "placement_validation: placement_validation_snapshot names %s, which is not a file" % path in proc.stdout, \
        proc.stdout[-3000:]
    assert not (tmp_path / "report").exists()
