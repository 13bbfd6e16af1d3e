# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes node-selector semantics, over plain dicts.

Two ways to answer "which nodes does this v1.NodeSelector admit":

* ``match_node_selector(selector, node)`` evaluates one node, the way
  k8s.io/component-helpers/scheduling/corev1/nodeaffinity does;
* ``NodeIndex.matching_nodes(selector)`` answers for all nodes at once with set algebra over
  a label index (label key -> value -> node names), so checking N volumes against M nodes
  costs about the size of the candidate sets, never N x M.

Both come in two flavours, because Kubernetes itself has two:

* a pod's node affinity (the scheduler's NodeAffinity plugin) sees the whole node, so a term's
  ``matchFields`` are checked against the node's name;
* a PersistentVolume's node affinity (volume binding, pkg/scheduler/framework/plugins/
  volumebinding/binder.go) is checked with k8s.io/component-helpers/storage/volume
  CheckNodeAffinity(pv, node.Labels), which builds a node from the labels alone. A node without
  a name has no fields, and nodeaffinity skips ``matchFields`` then: in a PV they are ignored
  (still parsed, so an invalid one still voids its term). ``node_fields=False`` (and
  ``NodeIndex.volume_nodes``) gives this answer.

Both follow the API's rules: terms are ORed, the requirements inside a term ANDed; an empty
term list and a term without requirements match nothing; In/NotIn need values, Exists and
DoesNotExist none, Gt/Lt exactly one integer; NotIn and DoesNotExist match nodes without the
label; Gt/Lt never match a label that is not an integer; a Gt/Lt value must be an integer that
is also a valid label value (digits only: "-1" and "+3" are parse errors, as in
k8s.io/apimachinery labels.NewRequirement); matchFields knows ``metadata.name`` with In/NotIn and
one value. A term with an invalid requirement matches nothing (the scheduler
treats it as a parse error) and the reason is kept for the message.

Pure functions, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
FIELD_OPERATORS = ("In", "NotIn")
NODE_NAME_FIELD = "metadata.name"

# strconv.ParseInt(text, 10, 64) takes a sign (checks.parse_int does not), matched whole.
_INT64_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def parse_int64(text):
    """Return the int Go's strconv.ParseInt(text, 10, 64) would, or None."""
    if not isinstance(text, str) or not _INT64_RE.fullmatch(text):
        return None
    value = int(text)
    if value < _INT64_MIN or value > _INT64_MAX:
        return None
    return value


_KEY_ERRORS = {}
_VALUE_ERRORS = {}


def label_key_error(key):
    """Why ``key`` is not a valid label key (qualified name), or None."""
    if isinstance(key, str):
        if key not in _KEY_ERRORS:
            _KEY_ERRORS[key] = _label_key_error(key)
        return _KEY_ERRORS[key]
    return _label_key_error(key)


def _label_key_error(key):
    if checks.is_label_key(key):
        return None
    if isinstance(key, str) and key.count("/") == 1 and not checks.is_dns_subdomain(key.split("/")[0]):
        return "key %r has an invalid prefix %r" % (key, key.split("/")[0])
    return "key %r is not a valid label key" % (key,)


def label_value_error(value):
    """Why ``value`` is not a valid label value, or None."""
    if isinstance(value, str):
        if value not in _VALUE_ERRORS:
            _VALUE_ERRORS[value] = _label_value_error(value)
        return _VALUE_ERRORS[value]
    return _label_value_error(value)


def _label_value_error(value):
    if not isinstance(value, str):
        return "value %r is not a string" % (value,)
    if checks.is_label_value(value):
        return None
    return "value %r is not a valid label value" % (value,)


def requirement_error(req):
    """Why a matchExpressions entry is invalid (the scheduler's parse error), or None."""
    if not isinstance(req, dict):
        return "requirement %r is not a mapping" % (req,)
    key = req.get("key")
    operator = req.get("operator")
    values = req.get("values") or []
    if operator not in OPERATORS:
        return "operator %r on key %r is not one of %s" % (operator, key, ", ".join(OPERATORS))
    error = label_key_error(key)
    if error:
        return error
    if not isinstance(values, list):
        return "values of %r must be a list" % (key,)
    if operator in ("In", "NotIn") and not values:
        return "%s on key %r needs at least one value" % (operator, key)
    if operator in ("Exists", "DoesNotExist") and values:
        return "%s on key %r must not have values" % (operator, key)
    if operator in ("Gt", "Lt"):
        if len(values) != 1:
            return "%s on key %r needs exactly one value" % (operator, key)
        if parse_int64(values[0]) is None:
            return "%s on key %r needs an integer value, got %r" % (operator, key, values[0])
        # labels.NewRequirement checks every value as a label value too: no sign allowed.
        if label_value_error(values[0]):
            return "%s on key %r needs an unsigned integer (a valid label value), got %r" % (operator, key, values[0])
        return None
    for value in values:
        error = label_value_error(value)
        if error:
            return "%s (key %r)" % (error, key)
    return None


def field_requirement_error(req):
    """Why a matchFields entry is invalid, or None."""
    if not isinstance(req, dict):
        return "field requirement %r is not a mapping" % (req,)
    operator = req.get("operator")
    values = req.get("values") or []
    if operator not in FIELD_OPERATORS:
        return "matchFields operator %r on %r is not one of In, NotIn" % (operator, req.get("key"))
    if not isinstance(values, list) or len(values) != 1:
        return "matchFields %s on %r needs exactly one value" % (operator, req.get("key"))
    return None


def term_error(term):
    """The first parse error of a nodeSelectorTerm, or None."""
    if not isinstance(term, dict):
        return "term %r is not a mapping" % (term,)
    for req in term.get("matchExpressions") or []:
        error = requirement_error(req)
        if error:
            return error
    for req in term.get("matchFields") or []:
        error = field_requirement_error(req)
        if error:
            return error
    return None


def term_is_empty(term):
    return not (term.get("matchExpressions") or term.get("matchFields"))


def match_requirement(req, labels):
    """Whether one valid matchExpressions entry admits a node with ``labels``."""
    key = req["key"]
    operator = req["operator"]
    present = key in labels
    if operator == "In":
        return present and labels[key] in req["values"]
    if operator == "NotIn":
        return not present or labels[key] not in req["values"]
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if not present:
        return False
    have = parse_int64(labels[key])
    if have is None:
        return False
    want = parse_int64(req["values"][0])
    return have > want if operator == "Gt" else have < want


def _field_value(key, node_name):
    return node_name if key == NODE_NAME_FIELD else ""


def match_field_requirement(req, node_name):
    """Whether one valid matchFields entry admits the node called ``node_name``."""
    value = req["values"][0]
    have = _field_value(req.get("key"), node_name)
    return have == value if req["operator"] == "In" else have != value


def match_term(term, labels, node_name):
    """Whether a nodeSelectorTerm admits a node: all requirements hold (AND).

    An empty term or one with an invalid requirement matches nothing. As in the scheduler,
    matchFields are only consulted when the node has a name.
    """
    if not isinstance(term, dict) or term_is_empty(term) or term_error(term):
        return False
    for req in term.get("matchExpressions") or []:
        if not match_requirement(req, labels):
            return False
    if node_name:
        for req in term.get("matchFields") or []:
            if not match_field_requirement(req, node_name):
                return False
    return True


def match_node_selector(selector, node, node_fields=True):
    """Whether the v1.NodeSelector ``selector`` admits ``node`` (a v1.Node dict).

    Terms are ORed; no terms (missing, null or empty list) match nothing. With
    ``node_fields=False`` the node is seen as volume binding sees it for a PV's
    ``spec.nodeAffinity.required``: labels only, so ``matchFields`` are skipped.
    """
    metadata = node.get("metadata") or {}
    labels = metadata.get("labels") or {}
    name = (metadata.get("name") or "") if node_fields else ""
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        if match_term(term, labels, name):
            return True
    return False


def ignored_match_fields(selector):
    """The matchFields of the valid terms of a PV's affinity: what volume binding ignores.

    Terms with a parse error are left out: they match nothing either way.
    """
    ignored = []
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        if isinstance(term, dict) and term.get("matchFields") and not term_error(term):
            ignored.extend(term["matchFields"])
    return ignored


def selector_errors(selector):
    """Parse errors of all terms of a selector, in order."""
    errors = []
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        error = term_error(term)
        if error:
            errors.append(error)
    return errors


def describe_selector(selector):
    """A short human form: 'kubernetes.io/hostname In (a, b) OR zone NotIn (x)'."""
    terms = []
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        if not isinstance(term, dict):
            terms.append("<invalid term>")
            continue
        parts = []
        for kind, reqs in (("", term.get("matchExpressions")), ("field ", term.get("matchFields"))):
            for req in reqs or []:
                if not isinstance(req, dict):
                    parts.append("<invalid requirement>")
                    continue
                values = req.get("values") or []
                text = "%s%s %s" % (kind, req.get("key"), req.get("operator"))
                if values:
                    text += " (%s)" % ", ".join(str(v) for v in values)
                parts.append(text)
        terms.append(" AND ".join(parts) if parts else "<empty term: matches nothing>")
    if not terms:
        return "<no terms: matches nothing>"
    return " OR ".join(terms)


def _freeze_requirements(reqs):
    return tuple((req.get("key"), req.get("operator"), tuple(req.get("values") or ())) for req in reqs or ())


def selector_key(selector):
    """A hashable key for a selector, so equal selectors share one evaluation.

    Built from the fields the evaluation reads (terms, keys, operators, values), in order; a
    selector of another shape gets its JSON text as key instead.
    """
    try:
        return tuple(
            (_freeze_requirements(term.get("matchExpressions")), _freeze_requirements(term.get("matchFields")))
            for term in (selector or {}).get("nodeSelectorTerms") or ()
        )
    except (AttributeError, TypeError):
        return json.dumps(selector, sort_keys=True, separators=(",", ":"), default=repr)


class NodeIndex(object):
    """Nodes indexed by label, answering selector queries with set algebra.

    ``matching_nodes(selector)`` returns the frozenset of node names a selector admits as a
    pod's node affinity does (names included); ``volume_nodes(selector)`` as volume binding
    admits nodes for a PV's affinity (labels only, matchFields skipped). The work is
    proportional to the candidate sets the selector's requirements name (e.g. one node for
    ``hostname In (x)``), and results are memoized per distinct selector. Only terms made
    of nothing but negative requirements (NotIn, DoesNotExist, field NotIn) start from the set
    of all nodes: once per distinct selector.
    """

    def __init__(self, nodes, zone_label="topology.kubernetes.io/zone"):
        self.zone_label = zone_label
        self.labels = {}
        self.by_label = {}
        self.with_key = {}
        self.zone_of = {}
        for node in nodes:
            metadata = node.get("metadata") or {}
            name = metadata.get("name")
            labels = metadata.get("labels") or {}
            self.labels[name] = labels
            for key, value in labels.items():
                values = self.by_label.get(key)
                if values is None:
                    values = self.by_label[key] = {}
                    self.with_key[key] = set()
                members = values.get(value)
                if members is None:
                    members = values[value] = set()
                members.add(name)
                self.with_key[key].add(name)
            zone = labels.get(zone_label)
            if zone:
                self.zone_of[name] = zone
        self.all = frozenset(self.labels)
        self._memo = {}
        self._volume_memo = {}

    def __contains__(self, name):
        return name in self.labels

    def node_zone(self, name):
        return self.zone_of.get(name)

    def _label_sets(self, req):
        """(positive set or None, negative set or None) for one valid requirement.

        The node set a requirement admits is ``positive`` when given, otherwise
        ``all - negative``.
        """
        key = req["key"]
        operator = req["operator"]
        by_value = self.by_label.get(key, {})
        if operator == "In":
            return _union(by_value.get(v) for v in req["values"]), None
        if operator == "NotIn":
            return None, _union(by_value.get(v) for v in req["values"])
        if operator == "Exists":
            return self.with_key.get(key, set()), None
        if operator == "DoesNotExist":
            return None, self.with_key.get(key, set())
        want = parse_int64(req["values"][0])
        chosen = []
        for value, members in by_value.items():
            have = parse_int64(value)
            if have is not None and (have > want if operator == "Gt" else have < want):
                chosen.append(members)
        return _union(chosen), None

    def _field_sets(self, req):
        value = req["values"][0]
        if req.get("key") == NODE_NAME_FIELD:
            named = {value} if value in self.labels else set()
        else:
            # Nodes have no other field; the field's value is "" on every node.
            named = set(self.all) if value == "" else set()
        return (named, None) if req["operator"] == "In" else (None, named)

    def _term_nodes(self, term, node_fields):
        if not isinstance(term, dict) or term_is_empty(term) or term_error(term):
            return set()
        positives = []
        negatives = []
        pairs = [self._label_sets(req) for req in term.get("matchExpressions") or []]
        if node_fields:
            pairs.extend(self._field_sets(req) for req in term.get("matchFields") or [])
        if not pairs:
            # Only matchFields, skipped for a PV: the term admits every node (no copy of them).
            return self.all
        for pos, neg in pairs:
            if pos is not None:
                positives.append(pos)
            else:
                negatives.append(neg)
        if positives:
            positives.sort(key=len)
            result = set(positives[0])
            for other in positives[1:]:
                if not result:
                    break
                result &= other
        else:
            result = set(self.all)
        for neg in negatives:
            if not result:
                break
            result -= neg
        return result

    def matching_nodes(self, selector, node_fields=True):
        """frozenset of the names of the nodes ``selector`` (a v1.NodeSelector) admits."""
        key = (node_fields, selector_key(selector))
        found = self._memo.get(key)
        if found is None:
            result = set()
            for term in (selector or {}).get("nodeSelectorTerms") or []:
                nodes = self._term_nodes(term, node_fields)
                if nodes is self.all:
                    result = nodes
                    break
                result |= nodes
            # Every node: share the one set (a matchFields-only PV admits all of them).
            found = self._memo[key] = self.all if len(result) == len(self.all) else frozenset(result)
        return found

    def volume_affinity(self, selector):
        """(volume_nodes(selector), the matchFields volume binding ignores in it), memoized."""
        key = selector_key(selector)
        found = self._volume_memo.get(key)
        if found is None:
            found = self._volume_memo[key] = (self.volume_nodes(selector), tuple(ignored_match_fields(selector)))
        return found

    def volume_nodes(self, selector):
        """The nodes a PV with ``spec.nodeAffinity.required: selector`` can be used on.

        As volume binding decides (CheckNodeAffinity: node labels only, matchFields skipped).
        """
        return self.matching_nodes(selector, node_fields=False)

    def zones_of(self, names):
        return {self.zone_of[n] for n in names if n in self.zone_of}


def _union(sets):
    result = set()
    for members in sets:
        if members:
            result |= members
    return result
