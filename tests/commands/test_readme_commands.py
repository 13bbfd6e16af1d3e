"""The README's two commands, one after the other in one checkout, as a newcomer runs them.

Run by `scripts/test commands`: `scripts/lab` converges the lab on a control plane of the stage's
own, and the suite's lint stage reads nothing the lab wrote into the checkout (its report and OME's
values file). Every YAML file the lab wrote passes the project's own lint rules all the same.

conftest.py runs scripts/lab once for this file and tests/commands/test_real_node.py, which then
proves the lab's real node on it. A lab that was up before is left up; one this run started is
taken down again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from yamllint import linter
from yamllint.config import YamlLintConfig

REPO = Path(__file__).resolve().parents[2]


def _lint_problems(path):
    """yamllint's problems for one file, by the project's rules (its ignore lists aside)."""
    rules = (REPO / ".yamllint").read_text()
    rules = re.sub(r"^ignore-from-file:.*$", "", rules, flags=re.M)
    conf = YamlLintConfig(content=rules)
    return ["%s:%d:%d %s" % (path.name, p.line, p.column, p.desc)
            for p in linter.run(path.read_text(), conf, str(path)) if p.level in ("error", "warning")]


@pytest.fixture(scope="module")
def lab(scripts_lab):
    """(exit status, output, report directory) of conftest.py's scripts/lab run."""
    return scripts_lab.rc, scripts_lab.out, scripts_lab.report


def test_the_lab_converges(lab):
    rc, out, report = lab
    assert rc == 0, out[-6000:]
    assert report is not None and (report / "report.json").is_file(), out[-3000:]


REAL_NODE = "gpu-sdsu-1"  # scripts/lab's default GPUFLEET_LAB_REAL_NODE


def _table(report_json, section_word, title):
    for section in report_json["sections"]:
        if section_word in section["title"]:
            for table in section["tables"]:
                if table["title"].startswith(title):
                    return [dict(zip(table["columns"], row)) for row in table["rows"]]
    raise AssertionError("no table %r in a section named like %r" % (title, section_word))


def test_the_report_shows_what_ran_on_the_real_node(lab):
    """The lab's real kubelet node (docs/lab.md): the seed's fio benchmark measured in a pod there,
    next to the host-side figure of the same filesystem; the telemetry pods running there; a pod
    mounting the model volume there; a pod reading the Block-mode claim as a raw device there."""
    _rc, out, report = lab
    assert report is not None, out[-3000:]
    data = json.loads((report / "report.json").read_text())
    [bench] = _table(data, "Storage", "fio benchmark Job")
    print("in-pod fio on %s: %s" % (REAL_NODE, bench))
    assert bench["Node"] == REAL_NODE and bench["Completed"] == "yes" and bench["Result"] == "measured", bench
    assert isinstance(bench["Read MiB/s"], (int, float)) and bench["Read MiB/s"] > 0, bench
    assert isinstance(bench["Read IOPS"], (int, float)) and bench["Read IOPS"] > 0, bench
    assert isinstance(bench["Host-side read MiB/s"], (int, float)), bench
    # The table shows the ratio with two decimals.
    assert abs(float(bench["In-pod / host ratio"]) - bench["Read MiB/s"] / bench["Host-side read MiB/s"]) < 0.01, bench
    workloads = _table(data, "telemetry", "Workloads")
    assert workloads and all(w["nodes"] == REAL_NODE and w["state"] == "ready" for w in workloads), workloads
    volume = _table(data, "OME", "Model volume")
    readers = [row for row in volume if row["Object"] == "Pod"]
    # Placed on the real node when the report was written (still starting, on a loaded machine) ...
    assert [(r["Name"], r["Nodes / volume"]) for r in readers] == [("model-serving/lab-model-reader", REAL_NODE)], volume
    assert readers[0]["Phase"] in ("Pending", "Running"), volume
    # ... and it reads the model from the volume there.
    # The lab's API server: the kubeconfig scripts/lab used (the stage's control plane, or the lab's own).
    kubeconfig = os.environ.get("K8S_AUTH_KUBECONFIG") or os.path.expanduser("~/.cache/gpufleet/cluster/kubeconfig")
    core = k8s_client.CoreV1Api(k8s_config.new_client_from_config(config_file=kubeconfig))
    deadline = time.monotonic() + 120
    while core.read_namespaced_pod("lab-model-reader", "model-serving").status.phase != "Running":
        assert time.monotonic() < deadline, "lab-model-reader not Running within 120 s of the lab's end"
        time.sleep(2)
    log = core.read_namespaced_pod_log("lab-model-reader", "model-serving", container="read-model")
    assert json.loads(log)["architectures"] == ["LlamaForCausalLM"], log
    # The seed's Block-mode claim, bound on the real node and read raw by a pod there (lab/readers.yml).
    claims = {row["Claim"]: row for row in _table(data, "Storage", "Claims")}
    block = claims["default/ms-swift-cache-pvc-block"]
    assert (block["Mode"], block["Phase"], block["Volume's nodes"]) == ("Block", "Bound", REAL_NODE), block
    assert "lab-block-reader" in block["Used by"], block
    while core.read_namespaced_pod("lab-block-reader", "default").status.phase != "Running":
        assert time.monotonic() < deadline, "lab-block-reader not Running within 120 s of the lab's end"
        time.sleep(2)
    device = json.loads(core.read_namespaced_pod_log("lab-block-reader", "default", container="read-device"))
    assert device["is_block_device"] and device["size_bytes"] > 0, device


def test_every_yaml_file_the_lab_wrote_passes_the_projects_lint_rules(lab):
    _rc, out, report = lab
    assert report is not None, out[-3000:]
    files = sorted(report.rglob("*.yaml")) + sorted(report.rglob("*.yml"))
    assert [f.name for f in files] == ["ome-values.yaml"], files
    for path in files:
        assert path.read_text().startswith("---\n"), path
        assert _lint_problems(path) == [], path


def test_the_lint_stage_reads_nothing_the_lab_wrote(lab):
    """The lab writes its report under reports/, which git ignores; yamllint takes .gitignore as its
    ignore file and ansible-lint lints what git does not ignore, so the lint stage over the checkout
    with the report in it lints exactly what it lints without. Proven here without re-running the whole
    lint stage (a minute of CPU on the suite's busiest lane): git ignores the report, ansible-lint's
    own file discovery leaves it out, and yamllint over the checkout passes with it in place."""
    _rc, out, report = lab
    assert report is not None and report.is_relative_to(REPO), out[-3000:]
    assert subprocess.run(["git", "check-ignore", "-q", str(report)], cwd=REPO, check=False).returncode == 0, report
    discovered = subprocess.run(
        [sys.executable, "-c", "from ansiblelint.config import Options\n"
         "from ansiblelint.file_utils import discover_lintables\n"
         "print('\\n'.join(str(f) for f in discover_lintables(Options())))"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert len(discovered) > 100, discovered
    assert [f for f in discovered if (REPO / f).resolve().is_relative_to(report.resolve())] == []
    proc = subprocess.run([sys.executable, "-m", "yamllint", "--strict", "."], cwd=REPO, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
