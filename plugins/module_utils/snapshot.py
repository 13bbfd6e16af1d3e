# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load and check cluster snapshots: the v1 Lists ``kubectl get ... -o json`` (or ``-o yaml``) writes.

The result is an *inventory*, the same plain dict the live reader builds::

    {"nodes": [...], "pvs": [...], "pvcs": [...], "pods": [...], "storageclasses": [...]}

Everything the analysis reads is type-checked here, so a malformed snapshot (wrong kind,
truncated JSON, missing fields) ends in one SnapshotError naming the file and the place,
never in a traceback further on. Only ``load_snapshot_files`` touches the filesystem.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:
    import yaml

    HAS_YAML = True
    _YAML_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False
    _YAML_LOADER = None

# kind -> (inventory key, namespaced, accepted apiVersions)
KINDS = {
    "Node": ("nodes", False, ("v1",)),
    "PersistentVolume": ("pvs", False, ("v1",)),
    "PersistentVolumeClaim": ("pvcs", True, ("v1",)),
    "Pod": ("pods", True, ("v1",)),
    "StorageClass": ("storageclasses", False, ("storage.k8s.io/v1", "storage.k8s.io/v1beta1")),
}
INVENTORY_KEYS = ("nodes", "pvs", "pvcs", "pods", "storageclasses")
_LIST_KINDS = dict((kind + "List", kind) for kind in KINDS)
_KIND_HINT = (
    "a snapshot holds Node, PersistentVolume, PersistentVolumeClaim, Pod and StorageClass objects, "
    "as written by `kubectl get nodes,pv,pvc,pods,storageclasses -A -o json`"
)


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message names the file and the place."""


def empty_inventory():
    return dict((key, []) for key in INVENTORY_KEYS)


def _type_name(value):
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


class _Checker(object):
    """Type checks for one item, raising SnapshotError with the file and the place."""

    def __init__(self, source, place):
        self.source = source
        self.place = place

    def fail(self, path, problem):
        raise SnapshotError("snapshot %s: %s: %s %s" % (self.source, self.place, path, problem))

    def mapping(self, obj, key, path, required=False):
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "is missing")
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping, got %s" % _type_name(value))
        return value

    def string(self, obj, key, path, required=False):
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "is missing")
            return None
        if not isinstance(value, str) or (required and not value):
            self.fail(path, "must be a non-empty string, got %r" % (value,))
        return value

    def seq(self, obj, key, path):
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "must be a list, got %s" % _type_name(value))
        return value

    def string_map(self, obj, key, path):
        value = self.mapping(obj, key, path)
        for k, v in value.items():
            if not isinstance(v, str):
                self.fail("%s[%r]" % (path, k), "must be a string, got %s" % _type_name(v))
        return value

    def string_list(self, obj, key, path):
        for i, value in enumerate(self.seq(obj, key, path)):
            if not isinstance(value, str):
                self.fail("%s[%d]" % (path, i), "must be a string, got %r" % (value,))

    def node_selector(self, obj, key, path):
        """A v1.NodeSelector's shape; its meaning (operators, values) is judged by the analysis."""
        selector = self.mapping(obj, key, path)
        for t, term in enumerate(self.seq(selector, "nodeSelectorTerms", path + ".nodeSelectorTerms")):
            tpath = "%s.nodeSelectorTerms[%d]" % (path, t)
            if not isinstance(term, dict):
                self.fail(tpath, "must be a mapping, got %s" % _type_name(term))
            for field in ("matchExpressions", "matchFields"):
                for r, req in enumerate(self.seq(term, field, "%s.%s" % (tpath, field))):
                    rpath = "%s.%s[%d]" % (tpath, field, r)
                    if not isinstance(req, dict):
                        self.fail(rpath, "must be a mapping, got %s" % _type_name(req))
                    self.string(req, "key", rpath + ".key", required=True)
                    self.string(req, "operator", rpath + ".operator", required=True)
                    self.string_list(req, "values", rpath + ".values")


def _check_node(chk, item):
    chk.string_map(item["metadata"], "labels", "metadata.labels")


def _check_pv(chk, item):
    chk.string_map(item["metadata"], "labels", "metadata.labels")
    spec = chk.mapping(item, "spec", "spec", required=True)
    affinity = chk.mapping(spec, "nodeAffinity", "spec.nodeAffinity")
    if affinity.get("required") is not None:
        chk.node_selector(affinity, "required", "spec.nodeAffinity.required")
    claim = chk.mapping(spec, "claimRef", "spec.claimRef")
    if spec.get("claimRef") is not None:
        chk.string(claim, "name", "spec.claimRef.name", required=True)
        chk.string(claim, "namespace", "spec.claimRef.namespace")
    chk.mapping(spec, "local", "spec.local")
    chk.mapping(spec, "hostPath", "spec.hostPath")
    chk.string(spec, "storageClassName", "spec.storageClassName")
    chk.string(chk.mapping(item, "status", "status"), "phase", "status.phase")


def _check_pvc(chk, item):
    spec = chk.mapping(item, "spec", "spec", required=True)
    chk.string(spec, "volumeName", "spec.volumeName")
    chk.string(spec, "storageClassName", "spec.storageClassName")
    chk.string(chk.mapping(item, "status", "status"), "phase", "status.phase")
    chk.string_map(item["metadata"], "annotations", "metadata.annotations")


def _check_pod(chk, item):
    spec = chk.mapping(item, "spec", "spec", required=True)
    chk.string(spec, "nodeName", "spec.nodeName")
    for i, volume in enumerate(chk.seq(spec, "volumes", "spec.volumes")):
        vpath = "spec.volumes[%d]" % i
        if not isinstance(volume, dict):
            chk.fail(vpath, "must be a mapping, got %s" % _type_name(volume))
        chk.string(volume, "name", vpath + ".name", required=True)
        claim = chk.mapping(volume, "persistentVolumeClaim", vpath + ".persistentVolumeClaim")
        if volume.get("persistentVolumeClaim") is not None:
            chk.string(claim, "claimName", vpath + ".persistentVolumeClaim.claimName", required=True)
        chk.mapping(volume, "ephemeral", vpath + ".ephemeral")
    chk.string(chk.mapping(item, "status", "status"), "phase", "status.phase")


def _check_storageclass(chk, item):
    chk.string(item, "provisioner", "provisioner", required=True)
    chk.string(item, "volumeBindingMode", "volumeBindingMode")
    chk.string_map(item, "parameters", "parameters")
    chk.seq(item, "allowedTopologies", "allowedTopologies")
    chk.string_map(item["metadata"], "annotations", "metadata.annotations")


# Fast paths: the same rules as the _check_* functions, written as flat isinstance tests so that a
# well-formed snapshot of tens of thousands of objects is accepted at little more than the
# cost of reading it. They only ever say "certainly well-formed"; anything else goes through
# the detailed checks, which find the fault and name its place.
def _str_or_none(value):
    return value is None or isinstance(value, str)


def _str_map_or_none(value):
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    for v in value.values():
        if not isinstance(v, str):
            return False
    return True


def _status_ok(item):
    status = item.get("status")
    return status is None or (isinstance(status, dict) and _str_or_none(status.get("phase")))


def _selector_ok(selector):
    if not isinstance(selector, dict):
        return False
    terms = selector.get("nodeSelectorTerms")
    if terms is None:
        return True
    if not isinstance(terms, list):
        return False
    for term in terms:
        if not isinstance(term, dict):
            return False
        for field in ("matchExpressions", "matchFields"):
            reqs = term.get(field)
            if reqs is None:
                continue
            if not isinstance(reqs, list):
                return False
            for req in reqs:
                if not isinstance(req, dict):
                    return False
                key, operator, values = req.get("key"), req.get("operator"), req.get("values")
                if not isinstance(key, str) or not key or not isinstance(operator, str) or not operator:
                    return False
                if values is not None:
                    if not isinstance(values, list):
                        return False
                    for value in values:
                        if not isinstance(value, str):
                            return False
    return True


def _fast_node(item):
    return _str_map_or_none(item["metadata"].get("labels"))


def _fast_pv(item):
    spec = item.get("spec")
    if not isinstance(spec, dict) or not _str_map_or_none(item["metadata"].get("labels")):
        return False
    affinity = spec.get("nodeAffinity")
    if affinity is not None:
        if not isinstance(affinity, dict):
            return False
        required = affinity.get("required")
        if required is not None and not _selector_ok(required):
            return False
    claim = spec.get("claimRef")
    if claim is not None:
        if not isinstance(claim, dict):
            return False
        name = claim.get("name")
        if not isinstance(name, str) or not name or not _str_or_none(claim.get("namespace")):
            return False
    for key in ("local", "hostPath"):
        value = spec.get(key)
        if value is not None and not isinstance(value, dict):
            return False
    return _str_or_none(spec.get("storageClassName")) and _status_ok(item)


def _fast_pvc(item):
    spec = item.get("spec")
    return (isinstance(spec, dict) and _str_or_none(spec.get("volumeName")) and _str_or_none(spec.get("storageClassName"))
            and _status_ok(item) and _str_map_or_none(item["metadata"].get("annotations")))


def _fast_pod(item):
    spec = item.get("spec")
    if not isinstance(spec, dict) or not _str_or_none(spec.get("nodeName")):
        return False
    volumes = spec.get("volumes")
    if volumes is not None:
        if not isinstance(volumes, list):
            return False
        for volume in volumes:
            if not isinstance(volume, dict):
                return False
            name = volume.get("name")
            if not isinstance(name, str) or not name:
                return False
            claim = volume.get("persistentVolumeClaim")
            if claim is not None:
                if not isinstance(claim, dict):
                    return False
                claim_name = claim.get("claimName")
                if not isinstance(claim_name, str) or not claim_name:
                    return False
            ephemeral = volume.get("ephemeral")
            if ephemeral is not None and not isinstance(ephemeral, dict):
                return False
    return _status_ok(item)


def _fast_storageclass(item):
    provisioner = item.get("provisioner")
    topologies = item.get("allowedTopologies")
    return (isinstance(provisioner, str) and provisioner != "" and _str_or_none(item.get("volumeBindingMode"))
            and _str_map_or_none(item.get("parameters")) and (topologies is None or isinstance(topologies, list))
            and _str_map_or_none(item["metadata"].get("annotations")))


_FAST = {
    "Node": _fast_node,
    "PersistentVolume": _fast_pv,
    "PersistentVolumeClaim": _fast_pvc,
    "Pod": _fast_pod,
    "StorageClass": _fast_storageclass,
}

_CHECKS = {
    "Node": _check_node,
    "PersistentVolume": _check_pv,
    "PersistentVolumeClaim": _check_pvc,
    "Pod": _check_pod,
    "StorageClass": _check_storageclass,
}


def add_item(item, source, place, inventory, default_kind=None):
    """Check one object and add it to ``inventory``; raise SnapshotError when it is malformed."""
    if isinstance(item, dict):
        kind = item.get("kind", default_kind)
        entry = KINDS.get(kind) if isinstance(kind, str) else None
        metadata = item.get("metadata")
        if entry is not None and isinstance(metadata, dict):
            api_version = item.get("apiVersion")
            name = metadata.get("name")
            namespace = metadata.get("namespace")
            if ((api_version is None or api_version in entry[2]) and isinstance(name, str) and name
                    and (isinstance(namespace, str) and namespace if entry[1] else _str_or_none(namespace))
                    and _FAST[kind](item)):
                inventory[entry[0]].append(item)
                return
    _add_item_checked(item, source, place, inventory, default_kind)


def _add_item_checked(item, source, place, inventory, default_kind):
    chk = _Checker(source, place)
    if not isinstance(item, dict):
        raise SnapshotError("snapshot %s: %s must be a Kubernetes object (a mapping), got %s" % (source, place, _type_name(item)))
    kind = item.get("kind", default_kind)
    if kind is None:
        chk.fail("kind", "is missing; %s" % _KIND_HINT)
    if not isinstance(kind, str) or kind not in KINDS:
        chk.fail("kind", "is %r, which this check does not read; %s" % (kind, _KIND_HINT))
    key, namespaced, versions = KINDS[kind]
    api_version = item.get("apiVersion")
    if api_version is not None and api_version not in versions:
        chk.fail("apiVersion", "is %r; a %s must be %s" % (api_version, kind, " or ".join(versions)))
    chk.place = "%s (%s)" % (place, kind)
    metadata = chk.mapping(item, "metadata", "metadata", required=True)
    name = chk.string(metadata, "name", "metadata.name", required=True)
    namespace = chk.string(metadata, "namespace", "metadata.namespace", required=namespaced)
    chk.place = "%s (%s %s)" % (place, kind, "%s/%s" % (namespace, name) if namespaced else name)
    _CHECKS[kind](chk, item)
    inventory[key].append(item)


def add_document(doc, source, inventory, prefix=""):
    """Add a v1 List (``List`` or ``<Kind>List``) or a single supported object to ``inventory``."""
    if not isinstance(doc, dict):
        raise SnapshotError(
            "snapshot %s: %sthe top level must be a v1 List (kind: List with items), got %s; %s"
            % (source, prefix, _type_name(doc), _KIND_HINT)
        )
    kind = doc.get("kind")
    if kind == "List" or kind in _LIST_KINDS:
        items = doc.get("items")
        if not isinstance(items, list):
            raise SnapshotError("snapshot %s: %sitems of the %s must be a list, got %s" % (source, prefix, kind, _type_name(items)))
        # The API's typed lists (NodeList, ...) leave kind out of their items; kubectl's List keeps it.
        default_kind = _LIST_KINDS.get(kind)
        for index, item in enumerate(items):
            add_item(item, source, "%sitems[%d]" % (prefix, index), inventory, default_kind)
        return
    if kind in KINDS:
        add_item(doc, source, prefix.rstrip(", ") or "top level", inventory)
        return
    raise SnapshotError(
        "snapshot %s: %sthe top level has kind %r; expected a v1 List (kind: List with items) or one of %s. %s"
        % (source, prefix, kind, ", ".join(sorted(KINDS)), _KIND_HINT[0].upper() + _KIND_HINT[1:])
    )


def parse_text(text, source):
    """Parse a snapshot file's text (JSON, or YAML with one or more documents) into documents."""
    stripped = text.lstrip()
    if not stripped:
        raise SnapshotError("snapshot %s: the file is empty; %s" % (source, _KIND_HINT))
    if stripped[0] in "{[":
        try:
            return [json.loads(text)]
        except ValueError as exc:
            lineno = getattr(exc, "lineno", None)
            where = " at line %s column %s" % (lineno, getattr(exc, "colno", "?")) if lineno else ""
            hint = ""
            # json's "Unterminated string starting at" is followed by the position we print anyway.
            reason = getattr(exc, "msg", str(exc)).replace(" starting at", "")
            # An error within a keyword's length of the end, or a string running unterminated
            # (kubectl's JSON has no raw newlines in strings), means the file stops early.
            if getattr(exc, "pos", 0) >= len(text.rstrip()) - 6 or reason.startswith("Unterminated string"):
                hint = " (the file ends early: it looks truncated)"
            raise SnapshotError("snapshot %s: not valid JSON%s: %s%s" % (source, where, reason, hint))
    if not HAS_YAML:
        raise SnapshotError("snapshot %s: is not JSON, and reading YAML needs PyYAML, which is not installed" % source)
    try:
        return [doc for doc in yaml.load_all(text, Loader=_YAML_LOADER) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SnapshotError("snapshot %s: not valid YAML%s: %s" % (source, where, problem))


def load_text(text, source, inventory=None):
    """Parse and check one file's text; returns the inventory (new or the one given)."""
    if inventory is None:
        inventory = empty_inventory()
    _load_documents(parse_text(text, source), source, inventory)
    return inventory


def _load_documents(documents, source, inventory):
    if not documents:
        raise SnapshotError("snapshot %s: holds no document; %s" % (source, _KIND_HINT))
    for index, doc in enumerate(documents):
        prefix = "document %d, " % (index + 1) if len(documents) > 1 else ""
        add_document(doc, source, inventory, prefix)
    return len(documents)


def load_snapshot_files(paths):
    """Read, parse and check snapshot files; objects seen twice (same kind/namespace/name) count once."""
    inventory = empty_inventory()
    documents = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except (IOError, OSError) as exc:
            raise SnapshotError("snapshot %s: cannot be read: %s" % (path, exc.strerror or exc))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SnapshotError("snapshot %s: is not UTF-8 text (byte %s)" % (path, exc.start))
        documents += _load_documents(parse_text(text, path), path, inventory)
    # One kubectl export never repeats an object; several files or documents may overlap.
    return dedupe(inventory) if documents > 1 else inventory


def _replaces(new, old):
    """Whether ``new`` should stand for its name rather than ``old`` (read earlier).

    The same object (same uid, or no uids) read twice: the later read. Two objects of the same
    name with different uids: one replaced the other (deleted and created again, as LINSTOR's
    affinity controller does with a PV whose replicas moved), so the newer creation time wins
    whatever the order of the files.
    """
    new_meta, old_meta = new["metadata"], old["metadata"]
    new_uid, old_uid = new_meta.get("uid"), old_meta.get("uid")
    if not new_uid or not old_uid or new_uid == old_uid:
        return True
    new_time, old_time = new_meta.get("creationTimestamp"), old_meta.get("creationTimestamp")
    if not isinstance(new_time, str) or not isinstance(old_time, str) or new_time == old_time:
        return True
    # RFC 3339 in UTC ("2025-01-02T03:04:05Z", as the API writes it) sorts as text.
    return new_time > old_time


def dedupe(inventory):
    """Keep one object per kind/namespace/name: the newest incarnation, then the last one read."""
    for key in INVENTORY_KEYS:
        seen = {}
        for item in inventory[key]:
            metadata = item["metadata"]
            ident = (metadata.get("namespace"), metadata["name"])
            old = seen.get(ident)
            if old is None or _replaces(item, old):
                seen[ident] = item
        if len(seen) != len(inventory[key]):
            inventory[key] = list(seen.values())
    return inventory
