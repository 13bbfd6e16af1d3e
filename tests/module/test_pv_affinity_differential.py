"""pv_affinity_info against Kubernetes' own code: a differential test.

A seeded generator (tests/tools/affinity_cases.py) writes Nodes and PersistentVolumes the API
server accepts; the module reads them as a snapshot through ansible-playbook and returns, per
PV, the nodes it admits (``admitted_nodes: true``); tests/tools/affinity-oracle, built from
k8s.io/component-helpers at the lab's Kubernetes version, answers the same question as volume
binding does (``volume.CheckNodeAffinity(pv, node.Labels)``). The sets must be equal for every
PV. The same affinities, read as a pod's node affinity (NodeAffinity plugin, the node's name
included), are compared with node_affinity's other flavour in-process.

A second test does the same in-process for values the API refuses today but older API servers
accepted (tests/tools/affinity_cases.py, ``legacy``): PVs that old may still exist.

Each run uses a fixed seed and a fresh one; a failure prints the seed:
``GPUFLEET_AFFINITY_SEED=<seed> python -m pytest tests/module/test_pv_affinity_differential.py``
replays it (the variable replaces the fresh seed).
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.node_affinity import NodeIndex, match_node_selector
from ansible_collections.gpufleet.cluster.plugins.module_utils.pv_affinity import analyze

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import affinity_cases  # noqa: E402  pylint: disable=wrong-import-position
import affinity_oracle  # noqa: E402  pylint: disable=wrong-import-position

MODULE = "gpufleet.cluster.pv_affinity_info"
FIXED_SEED = 20260801
N_NODES = 40
N_PVS = 3000
N_LEGACY_PVS = 1000


def _fresh_seed():
    env = os.environ.get("GPUFLEET_AFFINITY_SEED")
    if env:
        return int(env)
    return random.SystemRandom().randrange(2**32)


SEEDS = [pytest.param(FIXED_SEED, id="fixed-%d" % FIXED_SEED)]
_FRESH = _fresh_seed()
SEEDS.append(pytest.param(_FRESH, id="fresh-%d" % _FRESH))


@pytest.fixture(scope="module")
def oracle():
    try:
        return affinity_oracle.binary()
    except affinity_oracle.OracleError as exc:
        pytest.fail(str(exc))


def _explain(seed, cases, mismatches, what):
    nodes = dict((n["metadata"]["name"], n["metadata"].get("labels") or {}) for n in cases["nodes"])
    pvs = dict((p["metadata"]["name"], p) for p in cases["pvs"])
    lines = ["%d of %d %s differ from Kubernetes (replay: GPUFLEET_AFFINITY_SEED=%d)" % (len(mismatches), len(pvs), what, seed)]
    for name, ours, theirs in mismatches[:8]:
        lines.append("%s: affinity %s" % (name, json.dumps((pvs[name]["spec"].get("nodeAffinity") or {}).get("required"))))
        for node in sorted(set(ours) ^ set(theirs)):
            lines.append("    %s admitted by %s only; labels %s" % (node, "us" if node in ours else "Kubernetes", json.dumps(nodes[node])))
    return "\n".join(lines)


@pytest.mark.parametrize("seed", SEEDS)
def test_module_admits_the_nodes_volume_binding_admits(run_module, tmp_path, oracle, seed):
    cases = affinity_cases.generate(seed, n_nodes=N_NODES, n_pvs=N_PVS)
    # The generator keeps its promises (a change that drops a feature fails here).
    missing = sorted(name for name, count in affinity_cases.features(cases).items() if count == 0)
    assert not missing, "seed %d: the generated cases lack %s" % (seed, ", ".join(missing))

    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": cases["nodes"] + cases["pvs"]}))
    result = run_module(MODULE, {"snapshot": [str(snapshot)], "admitted_nodes": True})
    assert not result.get("failed"), result.get("msg")
    all_nodes = [n["metadata"]["name"] for n in cases["nodes"]]
    ours = dict((name, set(all_nodes) if entry["nodes"] is None else set(entry["nodes"])) for name, entry in result["pvs"].items())

    selectors = [(p["metadata"]["name"], p["spec"]["nodeAffinity"]["required"]) for p in cases["pvs"] if p["spec"].get("nodeAffinity")]
    kubernetes = affinity_oracle.judge(oracle, cases["nodes"], cases["pvs"], selectors)
    assert set(ours) == set(kubernetes["pvs"]) == set(p["metadata"]["name"] for p in cases["pvs"])
    mismatches = [(name, ours[name], set(kubernetes["pvs"][name])) for name in sorted(ours) if ours[name] != set(kubernetes["pvs"][name])]
    assert not mismatches, _explain(seed, cases, mismatches, "PVs' admitted node sets")

    # A PV whose valid terms use matchFields is reported (and such PVs do occur).
    flagged = set(f["object"]["name"] for f in result["findings"] if f["check"] == "pv-affinity-matchfields-ignored")
    assert flagged, "seed %d: no PV reported with pv-affinity-matchfields-ignored" % seed
    widened = [name for name, sel in selectors if set(kubernetes["pvs"][name]) != set(kubernetes["selectors"][name])]
    assert widened and set(widened) <= flagged, "seed %d: PVs widened by ignored matchFields but not reported: %s" % (
        seed, sorted(set(widened) - flagged)[:10])

    # The same affinities as a pod's required node affinity (names seen): both evaluations.
    index = NodeIndex(cases["nodes"])
    wrong = []
    for name, sel in selectors:
        theirs = set(kubernetes["selectors"][name])
        indexed = set(index.matching_nodes(sel))
        direct = set(n["metadata"]["name"] for n in cases["nodes"] if match_node_selector(sel, n))
        if indexed != theirs or direct != theirs:
            wrong.append((name, indexed if indexed != theirs else direct, theirs))
    assert not wrong, _explain(seed, cases, wrong, "node selectors' admitted node sets")


@pytest.mark.parametrize("seed", SEEDS)
def test_values_older_api_servers_accepted_are_judged_as_kubernetes_does(oracle, seed):
    cases = affinity_cases.generate(seed, n_nodes=N_NODES, n_pvs=N_LEGACY_PVS, legacy=True)
    assert affinity_cases.features(cases).get("legacy"), "seed %d: no legacy value generated" % seed
    inventory = {"nodes": cases["nodes"], "pvs": cases["pvs"], "pvcs": [], "pods": [], "storageclasses": []}
    result = analyze(inventory, admitted_nodes=True)
    all_nodes = set(n["metadata"]["name"] for n in cases["nodes"])
    ours = dict((name, all_nodes if entry["nodes"] is None else set(entry["nodes"])) for name, entry in result["pvs"].items())
    kubernetes = affinity_oracle.judge(oracle, cases["nodes"], cases["pvs"])
    mismatches = [(name, ours[name], set(kubernetes["pvs"][name])) for name in sorted(ours) if ours[name] != set(kubernetes["pvs"][name])]
    assert not mismatches, _explain(seed, cases, mismatches, "PVs' admitted node sets (legacy values)")
