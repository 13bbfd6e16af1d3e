"""Seeded generator of Nodes and PersistentVolumes for the node-affinity differential test.

``generate(seed)`` returns ``{"nodes": [...], "pvs": [...]}`` of v1 objects the API server
accepts (tests/integration/test_pv_affinity_generator_dry_run.py checks a sample with
server-side dry-run whenever this file changes). The affinities cover every operator (In,
NotIn, Exists, DoesNotExist, Gt, Lt) with 1-4 values where values belong, integers with
leading zeros and out of int64 range, non-integers (Gt/Lt values must only be valid label
values), empty label values, keys no node has, one to four terms per PV, empty terms, and
matchFields In/NotIn on metadata.name naming existing and missing nodes. Node labels reuse the
same small value pools, so most requirements are decided both ways.

``legacy=True`` adds values the API refuses today (Kubernetes 1.36 checks every value of a
required node affinity as a label value: "-1", "+3", " 3", "3\n") but that PVs created by
older API servers may still carry, and snapshots may hold.

Same seed, same objects: a failure is replayed with GPUFLEET_AFFINITY_SEED=<seed>.
"""

from __future__ import annotations

import random

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
GPUS = "example.org/gpus"
TIER = "tier"
FLAG = "example.org/flag"
ABSENT = "example.org/absent"
KEYS = (HOSTNAME, ZONE, GPUS, TIER, FLAG, ABSENT)
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
FIELD_OPERATORS = ("In", "NotIn")

ZONES = ("ucsd", "sdsu", "gatech")
# Node label values must be valid label values; "99999999999999999999" is out of int64 range,
# "9223372036854775807" is its maximum, "007"/"010" have leading zeros, "" is empty.
NODE_INTS = ("0", "1", "2", "4", "8", "007", "010", "9223372036854775807", "9223372036854775808",
             "99999999999999999999", "1e3", "x", "")
TIERS = ("a", "b", "c", "")
# Gt/Lt values: the API checks that there is one and that it is a label value, not that it
# is an integer: out-of-range numbers, words and "" reach the scheduler.
COMPARE_VALUES = ("0", "1", "2", "3", "7", "8", "007", "08", "9223372036854775806", "9223372036854775807",
                  "9223372036854775808", "99999999999999999999", "1e3", "abc", "")
LEGACY_VALUES = ("-1", "-0", "+3", "-9223372036854775808", " 3", "3 ", "3\n")
MISSING_NODE = "ghost.example.org"


def _node_name(i):
    zone = ZONES[i % len(ZONES)]
    if i % 7 == 6:
        return "host-%d.%s.example.org" % (i, zone)
    return "af-%s-%d" % (zone, i)


def nodes(rng, count):
    result = []
    for i in range(count):
        name = _node_name(i)
        labels = {}
        # Most nodes carry their name as hostname label; some a short name, some none.
        roll = rng.random()
        if roll < 0.8:
            labels[HOSTNAME] = name
        elif roll < 0.9:
            labels[HOSTNAME] = name.split(".")[0]
        if rng.random() < 0.85:
            labels[ZONE] = ZONES[i % len(ZONES)]
        if rng.random() < 0.8:
            labels[GPUS] = rng.choice(NODE_INTS)
        if rng.random() < 0.6:
            labels[TIER] = rng.choice(TIERS)
        if rng.random() < 0.3:
            labels[FLAG] = ""
        # Every edge value is on some node whatever the seed (at random, one of the two values
        # beyond int64 was missing from about one seed in 200).
        if i < len(NODE_INTS):
            labels[GPUS] = NODE_INTS[i]
        result.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}})
    return result


def _values_for(rng, key, names, count, legacy=False):
    if key == HOSTNAME:
        pool = list(names) + [n.split(".")[0] for n in names if "." in n] + ["nope"]
    elif key == ZONE:
        pool = list(ZONES) + ["mars"]
    elif key == GPUS:
        pool = [v for v in NODE_INTS if v not in ("99999999999999999999", "9223372036854775808")] + ["3"]
    elif key in (TIER, FLAG):
        pool = list(TIERS) + ["z"]
    else:
        pool = ["a", "", "1"]
    if legacy:
        pool = pool + list(LEGACY_VALUES)
    return [rng.choice(pool) for _value in range(count)]


def expression(rng, names, legacy=False):
    key = rng.choice(KEYS)
    operator = rng.choice(OPERATORS)
    req = {"key": key, "operator": operator}
    if operator in ("In", "NotIn"):
        req["values"] = _values_for(rng, key, names, rng.choice((1, 1, 2, 3, 4)), legacy)
    elif operator in ("Gt", "Lt"):
        req["key"] = rng.choice((GPUS, GPUS, GPUS, TIER, ABSENT, ZONE))
        req["values"] = [rng.choice(COMPARE_VALUES + (LEGACY_VALUES if legacy else ()))]
    return req


def field(rng, names):
    value = rng.choice(list(names) + [MISSING_NODE])
    return {"key": "metadata.name", "operator": rng.choice(FIELD_OPERATORS), "values": [value]}


def term(rng, names, legacy=False):
    roll = rng.random()
    if roll < 0.05:
        return {}
    if roll < 0.08:
        return {"matchExpressions": []}
    result = {}
    expressions = [expression(rng, names, legacy) for _expr in range(rng.choice((0, 1, 1, 2, 2, 3)))]
    fields = [field(rng, names) for _field in range(rng.choice((0, 0, 0, 1, 1, 2)))]
    if not expressions and not fields:
        expressions = [expression(rng, names, legacy)]
    if expressions:
        result["matchExpressions"] = expressions
    if fields:
        result["matchFields"] = fields
    return result


def pvs(rng, count, names, prefix="af-pv", legacy=False):
    result = []
    for i in range(count):
        name = "%s-%d" % (prefix, i)
        spec = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": ""}
        with_affinity = rng.random() < 0.95
        kind = rng.choice(("local", "hostPath", "csi", "nfs") if with_affinity else ("hostPath", "csi", "nfs"))
        if kind == "local":
            spec["local"] = {"path": "/mnt/disks/%d" % i}
        elif kind == "hostPath":
            spec["hostPath"] = {"path": "/srv/%d" % i}
        elif kind == "csi":
            spec["csi"] = {"driver": "linstor.csi.linbit.com", "volumeHandle": "pvc-%d" % i}
        else:
            spec["nfs"] = {"server": "nfs.example.org", "path": "/export/%d" % i}
        if with_affinity:
            spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [term(rng, names, legacy) for _term in range(rng.choice((1, 1, 2, 2, 3, 4)))]}}
        result.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec})
    return result


def generate(seed, n_nodes=40, n_pvs=3000, prefix="af-pv", legacy=False):
    rng = random.Random(seed)
    node_list = nodes(rng, n_nodes)
    names = [n["metadata"]["name"] for n in node_list]
    return {"nodes": node_list, "pvs": pvs(rng, n_pvs, names, prefix, legacy)}


def features(cases):
    """Which of the generator's promises a set of cases keeps: name -> count."""
    found = dict.fromkeys(
        ["op:" + op for op in OPERATORS]
        + ["field:" + op for op in FIELD_OPERATORS]
        + ["values:%d" % n for n in (0, 1, 2, 3, 4)]
        + ["leading-zero", "out-of-int64", "not-integer", "empty-value", "empty-term",
           "several-terms", "field-missing-node", "no-affinity", "node-label-empty", "node-label-leading-zero",
           "node-label-out-of-int64"], 0)

    def bump(name):
        found[name] += 1

    for node in cases["nodes"]:
        for value in node["metadata"]["labels"].values():
            if value == "":
                bump("node-label-empty")
            elif value.isdigit() and len(value) > 1 and value.startswith("0"):
                bump("node-label-leading-zero")
            elif value.isdigit() and int(value) > 2**63 - 1:
                bump("node-label-out-of-int64")
    for pv in cases["pvs"]:
        affinity = pv["spec"].get("nodeAffinity")
        if not affinity:
            bump("no-affinity")
            continue
        terms = affinity["required"]["nodeSelectorTerms"]
        if len(terms) > 1:
            bump("several-terms")
        for t in terms:
            if not (t.get("matchExpressions") or t.get("matchFields")):
                bump("empty-term")
            for req in t.get("matchExpressions") or []:
                bump("op:" + req["operator"])
                values = req.get("values") or []
                bump("values:%d" % len(values))
                for value in values:
                    digits = value.lstrip("+-")
                    if value == "":
                        bump("empty-value")
                    if digits.isdigit() and len(digits) > 1 and digits.startswith("0"):
                        bump("leading-zero")
                    if digits.isdigit() and int(digits) >= 2**63:
                        bump("out-of-int64")
                    if value in LEGACY_VALUES:
                        found["legacy"] = found.get("legacy", 0) + 1
                    if req["operator"] in ("Gt", "Lt") and not digits.isdigit():
                        bump("not-integer")
            for req in t.get("matchFields") or []:
                bump("field:" + req["operator"])
                if req["values"][0] == MISSING_NODE:
                    bump("field-missing-node")
    return found
