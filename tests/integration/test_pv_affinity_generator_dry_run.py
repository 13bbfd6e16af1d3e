"""The differential test's generator only writes objects the API server accepts.

tests/module/test_pv_affinity_differential.py judges pv_affinity_info on generated Nodes and
PersistentVolumes; a case the API would refuse proves nothing about a real cluster. This test
sends a sample (every node, and PVs that together use every operator, every Gt/Lt value, every
value count, empty terms and matchFields) to the lab's API server with server-side dry-run,
which runs admission and validation and stores nothing. It runs once per version of the
generator: a pass is recorded under $GPUFLEET_CACHE keyed by the generator's source hash
(GPUFLEET_AFFINITY_DRY_RUN=always checks again).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

import pytest
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO

sys.path.insert(0, str(REPO / "tests" / "tools"))
import affinity_cases  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.cluster

GENERATOR = REPO / "tests" / "tools" / "affinity_cases.py"
CACHE = Path(os.environ.get("GPUFLEET_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gpufleet")
SEEDS = (20260801, 1)
SAMPLE = 600


def _signature(pv):
    """What about a PV's affinity the sample must cover."""
    marks = set()
    affinity = pv["spec"].get("nodeAffinity")
    if not affinity:
        return {"no-affinity"}
    for term in affinity["required"]["nodeSelectorTerms"]:
        if not (term.get("matchExpressions") or term.get("matchFields")):
            marks.add("empty-term:%s" % json.dumps(term, sort_keys=True))
        for req in term.get("matchExpressions") or []:
            values = req.get("values") or []
            marks.add("op:%s:%d" % (req["operator"], len(values)))
            if req["operator"] in ("Gt", "Lt"):
                marks.update("compare:%r" % v for v in values)
            marks.update("value:%r" % v for v in values if v == "")
        for req in term.get("matchFields") or []:
            marks.add("field:%s" % req["operator"])
    return marks


def _sample(pvs, seed):
    rng = random.Random(seed)
    chosen = rng.sample(pvs, SAMPLE)
    covered = set().union(*(_signature(p) for p in chosen))
    for pv in pvs:
        extra = _signature(pv) - covered
        if extra:
            chosen.append(pv)
            covered |= extra
    return chosen, covered


def test_generated_nodes_and_pvs_pass_server_side_dry_run(cluster):
    key = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:16]
    marker = CACHE / "tests" / "affinity-dry-run" / key
    if marker.exists() and os.environ.get("GPUFLEET_AFFINITY_DRY_RUN") != "always":
        print("generator %s already checked: %s" % (key, marker.read_text().strip()))
        return
    core = cluster.core
    refused = []
    checked = 0
    started = time.monotonic()
    for seed in SEEDS:
        cases = affinity_cases.generate(seed, prefix="t-dryrun-af-pv")
        pvs, covered = _sample(cases["pvs"], seed)
        assert any(m.startswith("compare:") for m in covered) and "field:In" in covered and "field:NotIn" in covered
        for node in cases["nodes"]:
            try:
                core.create_node(node, dry_run="All")
            except ApiException as exc:
                refused.append(("Node", node["metadata"]["name"], exc.status, exc.body[:400]))
            checked += 1
        for pv in pvs:
            try:
                core.create_persistent_volume(pv, dry_run="All")
            except ApiException as exc:
                refused.append(("PersistentVolume", json.dumps(pv["spec"].get("nodeAffinity")), exc.status, exc.body[:600]))
            checked += 1
    assert not refused, "the API refuses %d of %d generated objects, e.g.:\n%s" % (
        len(refused), checked, "\n".join(map(str, refused[:5])))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("%d objects accepted by server-side dry-run in %.1f s at %s\n"
                      % (checked, time.monotonic() - started, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
