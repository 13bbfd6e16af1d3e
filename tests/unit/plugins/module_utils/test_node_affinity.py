"""Node-selector semantics, rule by rule (tests/module/test_pv_affinity_differential.py
compares them with Kubernetes' own code on generated cases).

Each rule is checked twice: one node at a time (match_node_selector) and for all nodes at once
through the label index (NodeIndex.matching_nodes); the two must always agree, for a pod's
node affinity (names seen) and for a PV's as volume binding checks it (labels only).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.node_affinity import (
    NodeIndex,
    describe_selector,
    ignored_match_fields,
    label_key_error,
    match_node_selector,
    parse_int64,
    requirement_error,
    selector_errors,
)


def node(name, **labels):
    return {"metadata": {"name": name, "labels": dict((k.replace("__", "/").replace("_", "."), v) for k, v in labels.items())}}


def expr(key, operator, *values):
    req = {"key": key, "operator": operator}
    if values:
        req["values"] = list(values)
    return req


def sel(*terms):
    return {"nodeSelectorTerms": list(terms)}


def term(*exprs, **kw):
    t = {}
    if exprs:
        t["matchExpressions"] = list(exprs)
    if kw.get("fields"):
        t["matchFields"] = kw["fields"]
    return t


N1 = node("n1", zone="ucsd", disk="ssd", gpus="8")
N2 = node("n2", zone="sdsu", gpus="2")
N3 = node("n3", zone="ucsd", gpus="many")
N4 = node("n4")
NODES = [N1, N2, N3, N4]


def matched(selector, nodes=None):
    """Names matched, asserting that the per-node and the indexed evaluation agree."""
    nodes = NODES if nodes is None else nodes
    direct = {n["metadata"]["name"] for n in nodes if match_node_selector(selector, n)}
    indexed = set(NodeIndex(nodes).matching_nodes(selector))
    assert direct == indexed, (selector, direct, indexed)
    volume_matched(selector, nodes)
    return direct


def volume_matched(selector, nodes=None):
    """Names a PV with this affinity admits (volume binding: labels only), both ways."""
    nodes = NODES if nodes is None else nodes
    direct = {n["metadata"]["name"] for n in nodes if match_node_selector(selector, n, node_fields=False)}
    indexed = set(NodeIndex(nodes).volume_nodes(selector))
    assert direct == indexed, (selector, direct, indexed)
    return direct


@pytest.mark.parametrize(
    "requirement, expected",
    [
        # In: the label exists and has one of the values.
        (expr("zone", "In", "ucsd"), {"n1", "n3"}),
        (expr("zone", "In", "ucsd", "sdsu"), {"n1", "n2", "n3"}),
        (expr("zone", "In", "gatech"), set()),
        # NotIn: the label is absent or has none of the values.
        (expr("zone", "NotIn", "ucsd"), {"n2", "n4"}),
        (expr("disk", "NotIn", "ssd"), {"n2", "n3", "n4"}),
        # Exists / DoesNotExist.
        (expr("disk", "Exists"), {"n1"}),
        (expr("disk", "DoesNotExist"), {"n2", "n3", "n4"}),
        (expr("zone", "DoesNotExist"), {"n4"}),
        # Gt / Lt compare integers; a non-integer label or an absent one never matches.
        (expr("gpus", "Gt", "4"), {"n1"}),
        (expr("gpus", "Gt", "8"), set()),
        (expr("gpus", "Lt", "4"), {"n2"}),
        (expr("gpus", "Lt", "100"), {"n1", "n2"}),
        (expr("gpus", "Gt", "0"), {"n1", "n2"}),
        (expr("gpus", "Lt", "008"), {"n2"}),  # leading zeros: strconv.ParseInt reads 8
        (expr("gpus", "Lt", "9223372036854775807"), {"n1", "n2"}),
        (expr("zone", "In", ""), set()),  # an empty value is a value; no node has zone=""
    ],
)
def test_operators(requirement, expected):
    assert matched(sel(term(requirement))) == expected


@pytest.mark.parametrize(
    "requirement",
    [
        expr("zone", "In"),  # In needs values
        expr("zone", "NotIn"),  # NotIn needs values
        expr("zone", "Exists", "ucsd"),  # Exists takes none
        expr("zone", "DoesNotExist", "ucsd"),  # DoesNotExist takes none
        expr("gpus", "Gt", "1", "2"),  # exactly one value
        expr("gpus", "Gt"),
        expr("gpus", "Lt", "four"),  # must be an integer
        expr("gpus", "Gt", "1.5"),
        expr("gpus", "Gt", "9223372036854775808"),  # out of int64 range
        # An integer, but not a valid label value: labels.NewRequirement rejects a sign. (The
        # API accepts these PVs: it only counts Gt/Lt values. Found by the differential test.)
        expr("gpus", "Gt", "-1"),
        expr("gpus", "Lt", "+3"),
        expr("gpus", "Gt", "-0"),
        expr("gpus", "Gt", "3\n"),  # Python's $ would let a final newline through; Go's does not
        expr("zone", "In", "ucsd\n"),
        expr("zone", "Equals", "ucsd"),  # unknown operator
        expr("bad key!", "DoesNotExist"),  # invalid label key
        expr("zone", "NotIn", "not a label value!"),
    ],
)
def test_invalid_requirement_makes_its_term_match_nothing(requirement):
    # The scheduler treats these as parse errors: the term matches no node, even where a
    # negative operator would otherwise match every node.
    assert requirement_error(requirement)
    assert matched(sel(term(requirement))) == set()
    # ...but another valid term still matches (terms are ORed).
    assert matched(sel(term(requirement), term(expr("zone", "In", "sdsu")))) == {"n2"}
    assert selector_errors(sel(term(requirement)))


def test_expressions_in_a_term_are_anded():
    assert matched(sel(term(expr("zone", "In", "ucsd"), expr("gpus", "Gt", "4")))) == {"n1"}
    assert matched(sel(term(expr("zone", "In", "ucsd"), expr("zone", "In", "sdsu")))) == set()


def test_terms_are_ored():
    assert matched(sel(term(expr("disk", "Exists")), term(expr("zone", "In", "sdsu")))) == {"n1", "n2"}


@pytest.mark.parametrize(
    "selector",
    [
        {},  # no nodeSelectorTerms
        {"nodeSelectorTerms": None},
        sel(),  # empty list
        sel(term()),  # a term with neither expressions nor fields
        sel({"matchExpressions": [], "matchFields": []}),
        None,
    ],
)
def test_empty_selectors_and_terms_match_nothing(selector):
    assert matched(selector) == set()


def test_an_empty_term_does_not_stop_other_terms():
    assert matched(sel(term(), term(expr("zone", "In", "sdsu")))) == {"n2"}


def test_match_fields_metadata_name():
    assert matched(sel(term(fields=[expr("metadata.name", "In", "n3")]))) == {"n3"}
    assert matched(sel(term(fields=[expr("metadata.name", "NotIn", "n3")]))) == {"n1", "n2", "n4"}
    assert matched(sel(term(fields=[expr("metadata.name", "In", "gone")]))) == set()
    # Fields and expressions in one term are ANDed.
    assert matched(sel(term(expr("zone", "In", "ucsd"), fields=[expr("metadata.name", "NotIn", "n1")]))) == {"n3"}
    # Nodes have no other field: its value is "" on every node.
    assert matched(sel(term(fields=[expr("spec.unschedulable", "In", "true")]))) == set()


def test_volume_binding_ignores_match_fields():
    # CheckNodeAffinity builds the node from its labels: no name, no fields, matchFields skipped.
    assert volume_matched(sel(term(fields=[expr("metadata.name", "In", "n3")]))) == {"n1", "n2", "n3", "n4"}
    assert volume_matched(sel(term(fields=[expr("metadata.name", "In", "gone")]))) == {"n1", "n2", "n3", "n4"}
    assert volume_matched(sel(term(expr("zone", "In", "ucsd"), fields=[expr("metadata.name", "NotIn", "n1")]))) == {"n1", "n3"}
    # ...but an invalid matchFields still voids its term.
    assert volume_matched(sel(term(expr("zone", "In", "ucsd"), fields=[expr("metadata.name", "In", "n1", "n3")]))) == set()
    assert ignored_match_fields(sel(term(fields=[expr("metadata.name", "In", "n3")]), term(expr("zone", "In", "x")))) == [
        expr("metadata.name", "In", "n3")]
    assert ignored_match_fields(sel(term(expr("zone", "Bad"), fields=[expr("metadata.name", "In", "n3")]))) == []
    index = NodeIndex(NODES)
    nodes, fields = index.volume_affinity(sel(term(fields=[expr("metadata.name", "In", "n3")])))
    assert nodes is index.all and fields == (expr("metadata.name", "In", "n3"),)  # shared, not copied


@pytest.mark.parametrize(
    "field",
    [
        expr("metadata.name", "Exists"),  # only In and NotIn
        expr("metadata.name", "In", "n1", "n2"),  # exactly one value
        expr("metadata.name", "In"),
    ],
)
def test_invalid_match_fields_match_nothing(field):
    assert matched(sel(term(fields=[field]))) == set()


@pytest.mark.parametrize(
    "text, value",
    [("0", 0), ("42", 42), ("-7", -7), ("+3", 3), ("9223372036854775807", 2**63 - 1),
     ("9223372036854775808", None), ("1_000", None), (" 1", None), ("1.0", None), ("", None), ("0x10", None),
     ("007", 7), ("1\n", None)],
)
def test_parse_int64_is_go_strconv(text, value):
    assert parse_int64(text) == value


@pytest.mark.parametrize(
    "key, ok",
    [("zone", True), ("topology.kubernetes.io/zone", True), ("nvidia.com/gpu.product", True),
     ("a" * 63, True), ("a" * 64, False), ("-bad", False), ("Bad.Prefix/x", False), ("/x", False), ("x/", False), ("", False),
     ("zone\n", False), ("example.org\n/zone", False), ("a/b/c", False)],
)
def test_label_keys(key, ok):
    assert (label_key_error(key) is None) == ok


def test_index_memoizes_per_distinct_selector():
    index = NodeIndex(NODES, zone_label="zone")
    a = index.matching_nodes(sel(term(expr("zone", "In", "ucsd"))))
    b = index.matching_nodes(sel(term(expr("zone", "In", "ucsd"))))
    assert a is b
    assert index.zones_of(a) == {"ucsd"}


def test_index_zone_of_uses_the_zone_label():
    index = NodeIndex([node("a", site="x"), node("b")], zone_label="site")
    assert index.node_zone("a") == "x"
    assert index.node_zone("b") is None
    assert "a" in index and "gone" not in index


def test_describe_selector():
    text = describe_selector(sel(term(expr("zone", "In", "a", "b")), term(expr("disk", "Exists"), fields=[expr("metadata.name", "NotIn", "x")])))
    assert text == "zone In (a, b) OR disk Exists AND field metadata.name NotIn (x)"
    assert "matches nothing" in describe_selector(sel())
    assert "matches nothing" in describe_selector(sel(term()))


def test_random_selectors_agree_with_per_node_evaluation():
    """The indexed evaluation is the per-node one, for random nodes and selectors."""
    rng = random.Random(7)
    keys = ["zone", "disk", "gpus", "rack"]
    values = ["a", "b", "c", "1", "2", "10", "-3", "x1"]
    nodes = []
    for i in range(40):
        labels = dict((k, rng.choice(values)) for k in keys if rng.random() < 0.6)
        nodes.append({"metadata": {"name": "n%d" % i, "labels": labels}})
    ops = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    for _selector in range(600):
        terms = []
        for _term in range(rng.randint(0, 3)):
            exprs = []
            for _expr in range(rng.randint(0, 3)):
                op = rng.choice(ops)
                if op in ("In", "NotIn"):
                    vals = rng.sample(values, rng.randint(1, 3))
                elif op in ("Gt", "Lt"):
                    vals = [rng.choice(["0", "1", "5", "-5"])]
                else:
                    vals = None
                exprs.append(expr(rng.choice(keys), op, *(vals or [])))
            fields = []
            if rng.random() < 0.3:
                fields.append(expr("metadata.name", rng.choice(["In", "NotIn"]), "n%d" % rng.randint(0, 45)))
            terms.append(term(*exprs, fields=fields))
        matched(sel(*terms), nodes)
