# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the linstor role: input checks the CRD schemas and argument specs cannot
express, the StorageClass parameters linstor-csi understands, what may change in place,
and which pods use a claim.

Sources (read upstream, not copied):
- piraeus-operator v2.6.0 ``api/v1/linstorsatelliteconfiguration_webhook.go`` and
  ``storagepool.go``: pool names, volume group / thin pool names, one pool type per entry,
  host devices, and that an existing pool's type and source never change.
- linstor-csi ``pkg/volume/parameter.go`` (``NewParameters``): the keys of the
  ``linstor.csi.linbit.com/`` namespace (also accepted without a namespace, case-insensitive);
  an unknown one fails volume creation. ``pkg/volume/remoteaccess.go``: the
  ``allowRemoteVolumeAccess`` grammar. ``pkg/topology/placementpolicy_enumer.go``: placement
  policies.

Every function takes plain data and returns plain data (problems are sentences naming the
variable, its value and the fix). Pure: no I/O, so the unit tests need no mocks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import path_problem

PROVISIONER = "linstor.csi.linbit.com"
PARAMETER_NAMESPACE = "linstor.csi.linbit.com"
PROPERTY_NAMESPACE = "property.linstor.csi.linbit.com"
DRBD_OPTIONS_NAMESPACE = "DrbdOptions"
# linstor-csi's paramKey enum (lower case; the parser lower-cases the key before the lookup).
PARAMETER_KEYS = (
    "allowremotevolumeaccess", "autoplace", "clientlist", "disklessonremaining", "disklessstoragepool",
    "donotplacewithregex", "encryption", "fsopts", "layerlist", "mountopts", "nodelist", "placementcount",
    "placementpolicy", "replicasondifferent", "replicasonsame", "sizekib", "storagepool", "postmountxfsopts",
    "resourcegroup", "usepvcname",
)
PLACEMENT_POLICIES = ("Manual", "AutoPlace", "FollowTopology", "Balanced", "AutoPlaceTopology")
LAYERS = ("drbd", "storage", "luks", "nvme", "cache", "writecache", "openflex", "exos")
# strconv.ParseBool
GO_BOOLS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")
POOL_TYPES = ("lvmPool", "lvmThinPool", "filePool", "fileThinPool", "zfsPool", "zfsThinPool")
BINDING_MODES = ("WaitForFirstConsumer", "Immediate")
RECLAIM_POLICIES = ("Delete", "Retain")
FSTYPES = ("xfs", "ext4")
VOLUME_MODES = ("Filesystem", "Block")
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")

# Matched whole (re.fullmatch): '$' would let a trailing newline through.
_POOL_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,46}[A-Za-z0-9]")
_LVM_NAME_RE = re.compile(r"[A-Za-z0-9.+_-]+")
_LOOP_RE = re.compile(r"/dev/loop[0-9]+")
_INT32_MAX = checks.INT32_MAX


def _replicas(value):
    """A replica count written as a string of digits (StorageClass parameters are strings), or None."""
    count = checks.parse_int(value, strings=True) if isinstance(value, str) else None
    return count if count is not None and 1 <= count <= _INT32_MAX else None


# --- storage pools (LinstorSatelliteConfiguration.spec.storagePools) ---------------------------

def _device_problems(var, devices, seen=None):
    """``seen``: device -> the variable that listed it first, across every pool of the object (the
    operator's webhook refuses a device listed twice anywhere in the satellite configuration)."""
    problems = []
    if not isinstance(devices, list) or not devices:
        return ["%s=%r must be a non-empty list of block devices such as ['/dev/nvme1n1']" % (var, devices)]
    seen = {} if seen is None else seen
    for index, device in enumerate(devices):
        item = "%s[%d]" % (var, index)
        if not isinstance(device, str) or not device.startswith("/dev/"):
            problems.append("%s=%r is not an absolute device path under /dev; write it as '/dev/%s'"
                            % (item, device, str(device).lstrip("/")))
            continue
        problem = checks.path_problem(item, device, "/dev/nvme1n1", config_file=True)
        if problem:
            problems.append(problem)
            continue
        clean = device
        if _LOOP_RE.fullmatch(clean):
            problems.append("%s=%r is a loop device: the operator's pvcreate fails on loop devices (piraeus-operator "
                            "#289, #639); prepare the volume group yourself (pvcreate + vgcreate on the host) and give "
                            "only its name (lvmPool.volumeGroup / lvmThinPool.volumeGroup) without source.hostDevices"
                            % (item, device))
        if clean in seen:
            problems.append("%s=%r is listed twice (first as %s); give each device once, in one pool"
                            % (item, device, seen[clean]))
        else:
            seen[clean] = item
    return problems


def pool_problems(var, pools):
    """Problems with a list of storage pools as the CRD takes them (``var`` names the variable)."""
    if not isinstance(pools, list):
        return ["%s=%r must be a list of storage pools" % (var, pools)]
    problems = []
    names = set()
    devices = {}
    for index, pool in enumerate(pools):
        item = "%s[%d]" % (var, index)
        if not isinstance(pool, dict):
            problems.append("%s=%r must be a dict with a name and one pool type (%s)" % (item, pool, ", ".join(POOL_TYPES)))
            continue
        name = pool.get("name")
        if not isinstance(name, str) or not _POOL_NAME_RE.fullmatch(name):
            problems.append("%s.name=%r is not a LINSTOR storage pool name: 3 to 48 letters, digits, '_' or '-', "
                            "starting and ending with a letter or digit (e.g. 'nvme-thin')" % (item, name))
        elif name in names:
            problems.append("%s.name=%r is used twice; pool names must be unique" % (item, name))
        names.add(name)
        unknown = sorted(set(pool) - set(POOL_TYPES) - set(("name", "source", "properties")))
        if unknown:
            problems.append("%s has unknown keys %s; a pool has name, one of %s, source and properties"
                            % (item, ", ".join(unknown), ", ".join(POOL_TYPES)))
        types = [t for t in POOL_TYPES if t in pool]
        if len(types) != 1:
            problems.append("%s (%r) has %s; give exactly one of %s per pool entry"
                            % (item, name, ("pool types " + " and ".join(types)) if types else "no pool type",
                               ", ".join(POOL_TYPES)))
            continue
        kind = types[0]
        spec = pool[kind] if pool[kind] is not None else {}
        if not isinstance(spec, dict):
            problems.append("%s.%s=%r must be a dict" % (item, kind, spec))
            continue
        if kind in ("lvmPool", "lvmThinPool"):
            vg = spec.get("volumeGroup", "")
            if vg and not _LVM_NAME_RE.fullmatch(str(vg)):
                problems.append("%s.%s.volumeGroup=%r is not a valid LVM name: use letters, digits and . + _ -"
                                % (item, kind, vg))
            thin = spec.get("thinPool", "")
            if kind == "lvmThinPool" and thin and not _LVM_NAME_RE.fullmatch(str(thin)):
                problems.append("%s.%s.thinPool=%r is not a valid LVM name: use letters, digits and . + _ -"
                                % (item, kind, thin))
        if kind in ("filePool", "fileThinPool"):
            directory = spec.get("directory")
            if directory not in (None, ""):
                # LINSTOR fills it with volume files as root on every storage node (the satellite
                # mounts it): never a system directory, whose filesystem the host needs.
                example = "/var/lib/linstor-pools/%s" % name
                problem = path_problem("%s.%s.directory" % (item, kind), directory, config_file=True, example=example,
                                       fix="use a directory of its own, e.g. %r" % example)
                if problem:
                    problems.append(problem)
        source = pool.get("source")
        if source is not None:
            if not isinstance(source, dict) or set(source) - set(("hostDevices",)):
                problems.append("%s.source=%r: the only source is hostDevices (a list of /dev paths)" % (item, source))
            else:
                if kind not in ("lvmPool", "lvmThinPool", "zfsPool", "zfsThinPool"):
                    problems.append("%s.source.hostDevices is only for LVM and ZFS pools, not %s; drop source" % (item, kind))
                problems.extend(_device_problems("%s.source.hostDevices" % item, source.get("hostDevices"), devices))
    return problems


def _pool_identity(pool):
    kind = next((t for t in POOL_TYPES if t in pool), None)
    spec = pool.get(kind) or {}
    return {
        "type": kind,
        "volumeGroup": spec.get("volumeGroup", ""),
        "thinPool": spec.get("thinPool", ""),
        "zPool": spec.get("zPool", ""),
        "directory": spec.get("directory", ""),
        # In order: the webhook compares the source whole (reflect.DeepEqual), a reordering included.
        "source": list((pool.get("source") or {}).get("hostDevices") or []),
    }


def pool_changes(var, existing, desired):
    """Refusals for pools whose type, volume group, thin pool, directory or source would change.

    ``existing`` is the ``spec.storagePools`` of the LinstorSatelliteConfiguration in the
    cluster (may be empty), ``desired`` the role's. LINSTOR never moves a pool's data, so the
    operator's webhook refuses such a change; so does this, naming the old and new values.
    """
    old = dict((p.get("name"), p) for p in existing or [] if isinstance(p, dict))
    problems = []
    for index, pool in enumerate(desired or []):
        name = pool.get("name")
        if name not in old:
            continue
        before, after = _pool_identity(old[name]), _pool_identity(pool)
        for field in ("type", "volumeGroup", "thinPool", "zPool", "directory", "source"):
            if before[field] != after[field]:
                reordered = field == "source" and sorted(before[field]) == sorted(after[field])
                problems.append("%s[%d] (pool %r): %s would change from %r to %r%s; an existing pool's type, volume group "
                                "and source never change (LINSTOR would not move its data). Create a pool with a new "
                                "name and migrate, or restore the old value"
                                % (var, index, name, field, before[field], after[field],
                                   " (the same devices in another order: the operator's webhook refuses that too)"
                                   if reordered else ""))
    return problems


# --- satellite placement, properties and the LinstorCluster spec (the operator's webhooks) ----

# fieldpath.ExtractFieldPath on a Node (pkg/utils/fieldpath): what a node property may read.
_NODE_FIELDS = ("metadata.name", "metadata.namespace", "metadata.uid")
_NODE_MAPS = ("metadata.labels", "metadata.annotations")
_SUBSCRIPT_RE = re.compile(r"(metadata\.labels|metadata\.annotations)\['(.*)'\]", re.S)


def node_field_ref(ref):
    """(wildcard, None) for a nodeFieldRef the operator reads from a Node, or (None, reason).

    A whole label/annotation map, or a subscript ending in '*', is a wildcard (one property per
    key: expandFrom); a name, namespace, uid or one label/annotation key is a single value
    (valueFrom)."""
    if not isinstance(ref, str) or not ref:
        return None, "is not a field reference"
    if ref in _NODE_FIELDS:
        return False, None
    if ref in _NODE_MAPS:
        return True, None
    match = _SUBSCRIPT_RE.fullmatch(ref)
    if not match:
        return None, "is not a field the operator reads from a Node (%s, or %s['<key>'])" % (
            ", ".join(_NODE_FIELDS + _NODE_MAPS), "/".join(_NODE_MAPS))
    kind, key = match.groups()
    if key.endswith("*"):
        return True, None
    if not checks.is_label_key(key.lower() if kind == "metadata.annotations" else key):
        return None, "has the key %r, which is not a label key" % key
    return False, None


def satellite_property_problems(var, props):
    """LinstorSatelliteConfiguration.spec.properties as the webhook checks them (ValidateNodeProperties)."""
    if not isinstance(props, list):
        return ["%s=%r must be a list of properties ({name, value | valueFrom | expandFrom})" % (var, props)]
    problems = []
    for index, prop in enumerate(props):
        item = "%s[%d]" % (var, index)
        if not isinstance(prop, dict):
            problems.append("%s=%r must be a dict with a name and one of value, valueFrom, expandFrom" % (item, prop))
            continue
        unknown = sorted(set(prop) - set(("name", "value", "valueFrom", "expandFrom", "optional")))
        if unknown:
            problems.append("%s has unknown keys %s; a property has name, value | valueFrom | expandFrom and optional"
                            % (item, ", ".join(unknown)))
        name = prop.get("name")
        if not isinstance(name, str) or not name.strip() or checks.control_characters(name):
            problems.append("%s.name=%r is not a LINSTOR property name, e.g. 'Aux/rack'" % (item, name))
        sources = [k for k in ("value", "valueFrom", "expandFrom") if prop.get(k) not in (None, "")]
        if len(sources) != 1:
            problems.append("%s (%r) has %s; give exactly one of value, valueFrom, expandFrom"
                            % (item, name, " and ".join(sources) if sources else "none of them"))
        if "value" in prop and prop["value"] is not None and not isinstance(prop["value"], str):
            problems.append("%s.value=%r must be a string; quote it" % (item, prop["value"]))
        for key, want_wildcard in (("valueFrom", False), ("expandFrom", True)):
            source = prop.get(key)
            if source in (None, ""):
                continue
            if not isinstance(source, dict):
                problems.append("%s.%s=%r must be a dict with nodeFieldRef" % (item, key, source))
                continue
            ref = source.get("nodeFieldRef")
            wildcard, reason = node_field_ref(ref)
            if reason:
                problems.append("%s.%s.nodeFieldRef=%r %s" % (item, key, ref, reason))
            elif wildcard != want_wildcard:
                problems.append("%s.%s.nodeFieldRef=%r %s" % (item, key, ref, (
                    "reads many keys: use expandFrom for a wildcard (a map or a subscript ending in '*')"
                    if wildcard else "reads one value: expandFrom needs a wildcard (a map, or a subscript ending "
                    "in '*'); use valueFrom")))
            if key == "expandFrom" and source.get("nameTemplate") and source.get("delimiter"):
                problems.append("%s.expandFrom has both nameTemplate and delimiter; give only one" % item)
        if "optional" in prop:
            problem = checks.boolean_problem("%s.optional" % item, prop["optional"])
            if problem:
                problems.append(problem)
    return problems


# What the role writes into LinstorCluster.spec from its own variables (plugin_utils/linstor/objects.py):
# linstor_cluster_spec is merged over it and would win past the checks.
CLUSTER_SPEC_FROM_VARIABLES = (
    ("nodeAffinity", "linstor_storage_nodes"),
    ("nodeSelector", "linstor_satellite_node_selector"),
    ("csiNode.podTemplate.spec.tolerations", "linstor_gpu_tolerations"),
    ("highAvailabilityController.podTemplate.spec.tolerations", "linstor_gpu_tolerations"),
)


def cluster_spec_problems(var, spec):
    """linstor_cluster_spec: a dict merged into LinstorCluster.spec. What the role sets from its own
    variables is refused (name the variable instead); the external controller's URL must parse (the
    webhook's ValidateExternalController). Patches are checked by the controller-side patch check."""
    if not isinstance(spec, dict):
        return ["%s=%r must be a dict (merged into LinstorCluster.spec)" % (var, spec)]
    variables = dict(CLUSTER_SPEC_FROM_VARIABLES)
    problems = []
    for path, owned in checks.overriding_paths(spec, [p for p, _v in CLUSTER_SPEC_FROM_VARIABLES]):
        problems.append("%s sets %s, which the role sets from %s: set %s instead"
                        % (var, path, variables[owned], variables[owned]))
    external = spec.get("externalController")
    if external is not None:
        url = external.get("url") if isinstance(external, dict) else None
        problem = checks.url_problem("%s.externalController.url" % var, url, example="http://linstor-controller:3370")
        if problem:
            problems.append(problem)
    return problems


# --- StorageClasses --------------------------------------------------------------------------

def remote_access_problem(var, value):
    """None if linstor-csi parses ``value`` as an allowRemoteVolumeAccess policy, else the problem."""
    if not isinstance(value, str):
        return "%s=%r must be a string: \"false\" (only the replica's node), \"true\" (any node) or a YAML list of rules" % (var, value)
    if value in GO_BOOLS:
        return None
    rules = _parse_rule_list(value)
    if rules is None:
        return ("%s=%r is not a remote-access policy: use \"false\" (only nodes with a replica: the seed's choice), "
                "\"true\" (any node; LINSTOR's default) or a YAML list of rules such as "
                "'- fromSame: [topology.kubernetes.io/zone]'" % (var, value))
    return None


def _parse_rule_list(text):
    """The rules of a remote-access policy written as a YAML/JSON list, or None.

    A deliberately small parser for the forms linstor-csi documents: a JSON-style flow list
    (``[{"fromSame": ["a"]}]``) or a block list (``- fromSame:\\n  - a``). The values are
    label / property names.
    """
    import json  # pylint: disable=import-outside-toplevel
    try:
        data = json.loads(text)
    except ValueError:
        data = _block_rules(text)
    if not isinstance(data, list) or not data:
        return None
    for rule in data:
        if not isinstance(rule, dict) or not rule or set(rule) - set(("fromSame", "fromDifferent")):
            return None
        for names in rule.values():
            if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                return None
    return data


def _block_rules(text):
    rules = []
    current = None
    key = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        match = re.fullmatch(r"- (fromSame|fromDifferent):[ \t]*(.*)", stripped) if indent == 0 else None
        if match:
            current = {}
            rules.append(current)
        else:
            match = re.fullmatch(r"(fromSame|fromDifferent):[ \t]*(.*)", stripped)
        if match:
            if current is None:
                return None
            key, rest = match.group(1), match.group(2)
            current[key] = []
            if rest:
                flow = re.fullmatch(r"\[(.*)\]", rest)
                if not flow:
                    return None
                current[key] = [v.strip().strip("'\"") for v in flow.group(1).split(",") if v.strip()]
                key = None
            continue
        item = re.fullmatch(r"- ([^ \t].*)", stripped)
        if item and current is not None and key is not None:
            current[key].append(item.group(1).strip("'\""))
            continue
        return None
    return rules


def storageclass_parameters(sc):
    """The StorageClass ``parameters`` for one role entry (see the role's argument spec)."""
    params = {
        "%s/storagePool" % PARAMETER_NAMESPACE: sc.get("storage_pool"),
        "%s/placementCount" % PARAMETER_NAMESPACE: str(sc.get("placement_count", "1")),
        "%s/allowRemoteVolumeAccess" % PARAMETER_NAMESPACE: str(sc.get("allow_remote_volume_access", "false")),
        "csi.storage.k8s.io/fstype": sc.get("fstype", "xfs"),
    }
    for key, value in (sc.get("parameters") or {}).items():
        params[key] = value
    return dict((k, v) for k, v in params.items() if v is not None)


def parameter_problems(var, parameters):
    """Problems linstor-csi would raise for these StorageClass parameters (keys and values)."""
    problems = []
    for key in sorted(parameters):
        value = parameters[key]
        if not isinstance(value, str):
            problems.append("%s[%r]=%r must be a string (StorageClass parameters are strings; quote it: \"%s\")"
                            % (var, key, value, value))
            continue
        namespace, _sep, raw = key.rpartition("/")
        if namespace in (PROPERTY_NAMESPACE, DRBD_OPTIONS_NAMESPACE):
            continue
        if namespace not in ("", PARAMETER_NAMESPACE):
            continue  # another component's parameter (csi.storage.k8s.io/...): linstor-csi ignores it
        name = raw.lower()
        if name not in PARAMETER_KEYS:
            problems.append("%s has %r, which linstor-csi does not know (volume creation would fail with 'invalid "
                            "parameter'); known keys: %s; LINSTOR properties go under '%s/'"
                            % (var, key, ", ".join("%s/%s" % (PARAMETER_NAMESPACE, k) for k in PARAMETER_KEYS),
                               PROPERTY_NAMESPACE))
            continue
        item = "%s[%r]" % (var, key)
        if name in ("placementcount", "autoplace"):
            if value != "" and _replicas(value) is None:
                problems.append("%s=%r must be a whole number of replicas of at least 1, as a string (e.g. \"1\")" % (item, value))
        elif name in ("encryption", "disklessonremaining", "usepvcname"):
            if value not in GO_BOOLS:
                problems.append("%s=%r must be \"true\" or \"false\"" % (item, value))
        elif name == "allowremotevolumeaccess":
            problem = remote_access_problem(item, value)
            if problem:
                problems.append(problem)
        elif name == "placementpolicy":
            if value not in PLACEMENT_POLICIES:
                problems.append("%s=%r is not a placement policy; use one of %s" % (item, value, ", ".join(PLACEMENT_POLICIES)))
        elif name == "layerlist":
            bad = [layer for layer in value.split(" ") if layer.lower() not in LAYERS]
            if bad:
                problems.append("%s=%r has unknown layers %s; use space-separated layers from %s"
                                % (item, value, ", ".join(repr(b) for b in bad), ", ".join(LAYERS)))
        elif name == "storagepool" and not _POOL_NAME_RE.fullmatch(value):
            problems.append("%s=%r is not a LINSTOR storage pool name (3 to 48 letters, digits, '_' or '-')" % (item, value))
    return problems


# The StorageClass parameters the role writes from an entry's own fields (storageclass_parameters):
# the seed's pool, placement, remote access and xfs. A generic ``parameters`` key for one of them
# would silently win over the field, past its checks.
FIELD_PARAMETERS = {"storagepool": "storage_pool", "placementcount": "placement_count", "autoplace": "placement_count",
                    "allowremotevolumeaccess": "allow_remote_volume_access"}


def parameter_override_problems(var, parameters):
    """A ``parameters`` key that would override what the role sets from the entry's own fields."""
    problems = []
    for key in sorted(parameters):
        namespace, _sep, raw = key.rpartition("/")
        field = None
        if namespace in ("", PARAMETER_NAMESPACE) or namespace.lower() == PARAMETER_NAMESPACE:
            field = FIELD_PARAMETERS.get(raw.lower())
        elif key.lower() == "csi.storage.k8s.io/fstype":
            field = "fstype"
        if field:
            problems.append("%s has %r, which would override what the role sets from the entry's %s; set %s "
                            "instead (the role checks it and compares it with the class in the cluster)"
                            % (var, key, field, field))
    return problems


def storageclass_problems(var, classes, pool_names=None):
    """Problems with the role's StorageClass entries (before anything is applied)."""
    if not isinstance(classes, list):
        return ["%s=%r must be a list of StorageClasses" % (var, classes)]
    problems = []
    names = set()
    for index, sc in enumerate(classes):
        item = "%s[%d]" % (var, index)
        if not isinstance(sc, dict):
            problems.append("%s=%r must be a dict" % (item, sc))
            continue
        name = sc.get("name")
        problem = checks.dns_subdomain_problem("%s.name" % item, name, "linstor-fast-cache", what="a valid StorageClass name")
        if problem:
            problems.append(problem)
        elif name in names:
            problems.append("%s.name=%r is used twice" % (item, name))
        names.add(name)
        count = sc.get("placement_count", "1")
        if _replicas(count) is None:
            problems.append("%s.placement_count=%r must be a whole number of replicas of at least 1, as a string "
                            "(the seed uses \"1\": fastest writes, no HA)" % (item, count))
        remote = remote_access_problem("%s.allow_remote_volume_access" % item, sc.get("allow_remote_volume_access", "false"))
        if remote:
            problems.append(remote)
        binding = sc.get("volume_binding_mode", "WaitForFirstConsumer")
        if binding not in BINDING_MODES:
            problems.append("%s.volume_binding_mode=%r is not a binding mode; use WaitForFirstConsumer (the volume "
                            "is made where the first pod lands) or Immediate" % (item, binding))
        reclaim = sc.get("reclaim_policy", "Delete")
        if reclaim not in RECLAIM_POLICIES:
            problems.append("%s.reclaim_policy=%r must be Delete or Retain" % (item, reclaim))
        fstype = sc.get("fstype", "xfs")
        if fstype not in FSTYPES:
            problems.append("%s.fstype=%r: linstor-csi formats xfs or ext4; use one of those" % (item, fstype))
        for key in ("allow_volume_expansion",):
            if key in sc:
                problem = checks.boolean_problem("%s.%s" % (item, key), sc[key])
                if problem:
                    problems.append(problem)
        problems.extend(checks.labels_problems("%s.labels" % item, sc.get("labels")))
        pool = sc.get("storage_pool")
        if not isinstance(pool, str) or not _POOL_NAME_RE.fullmatch(pool):
            problems.append("%s.storage_pool=%r is not a LINSTOR storage pool name (3 to 48 letters, digits, '_' or '-')"
                            % (item, pool))
        elif pool_names is not None and pool not in pool_names:
            problems.append("%s.storage_pool=%r is not one of the pools this role configures (%s); add it to "
                            "linstor_storage_pools or name an existing pool"
                            % (item, pool, ", ".join(sorted(pool_names)) or "none"))
        extra = sc.get("parameters") or {}
        if not isinstance(extra, dict):
            problems.append("%s.parameters=%r must be a dict of strings" % (item, extra))
        else:
            problems.extend(parameter_problems("%s.parameters" % item, extra))
            problems.extend(parameter_override_problems("%s.parameters" % item, extra))
    return problems


# Fields of a StorageClass the API server refuses to update.
IMMUTABLE_FIELDS = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")


def storageclass_immutable_changes(existing, desired):
    """The immutable fields of a StorageClass that differ between the cluster and the role.

    Returns a list of {field, before, after}; empty when the class can be updated in place
    (only labels, annotations, allowVolumeExpansion, mountOptions... changed) or is new.
    """
    if not existing:
        return []
    changes = []
    for field in IMMUTABLE_FIELDS:
        before = existing.get(field)
        after = desired.get(field)
        if field == "reclaimPolicy":
            before, after = before or "Delete", after or "Delete"
        if field == "volumeBindingMode":
            before, after = before or "Immediate", after or "Immediate"
        if field == "parameters":
            before, after = before or {}, after or {}
            keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            before = dict((k, before[k]) for k in keys if k in before)
            after = dict((k, after[k]) for k in keys if k in after)
        if before != after:
            changes.append({"field": field, "before": before, "after": after})
    return changes


# --- claims ----------------------------------------------------------------------------------

def quantity_problem(var, value):
    """A claim's size: an unsigned quantity string above zero, a whole number of bytes."""
    return checks.quantity_problem(var, value, "500Gi", whole=True, numbers=False)


def pvc_problems(var, claims, class_names=(), class_fstypes=None):
    """Problems with the role's PersistentVolumeClaim entries."""
    if not isinstance(claims, list):
        return ["%s=%r must be a list of claims" % (var, claims)]
    problems = []
    seen = set()
    for index, claim in enumerate(claims):
        item = "%s[%d]" % (var, index)
        if not isinstance(claim, dict):
            problems.append("%s=%r must be a dict" % (item, claim))
            continue
        name, namespace = claim.get("name"), claim.get("namespace", "default")
        for problem in (checks.dns_subdomain_problem("%s.name" % item, name, "ms-swift-cache-pvc", what="a valid claim name"),
                        checks.namespace_problem("%s.namespace" % item, namespace)):
            if problem:
                problems.append(problem)
        if (namespace, name) in seen:
            problems.append("%s: claim %s/%s is listed twice" % (item, namespace, name))
        seen.add((namespace, name))
        size = quantity_problem("%s.size" % item, claim.get("size"))
        if size:
            problems.append(size)
        mode = claim.get("volume_mode", "Filesystem")
        if mode not in VOLUME_MODES:
            problems.append("%s.volume_mode=%r must be Filesystem or Block" % (item, mode))
        access = claim.get("access_modes", ["ReadWriteOnce"])
        if not isinstance(access, list) or not access or any(a not in ACCESS_MODES for a in access):
            problems.append("%s.access_modes=%r must be a list of %s" % (item, access, ", ".join(ACCESS_MODES)))
        klass = claim.get("storage_class")
        if class_names and klass not in class_names:
            problems.append("%s.storage_class=%r is not one of the StorageClasses this role manages (%s)"
                            % (item, klass, ", ".join(sorted(class_names))))
        if mode == "Block" and claim.get("fstype"):
            problems.append("%s: a Block claim has no filesystem, but fstype=%r is set; drop fstype or use "
                            "volume_mode Filesystem" % (item, claim.get("fstype")))
        if claim.get("fstype") and class_fstypes and klass in class_fstypes and claim["fstype"] != class_fstypes[klass]:
            problems.append("%s.fstype=%r differs from StorageClass %s's csi.storage.k8s.io/fstype %r: the class "
                            "decides the filesystem; drop fstype" % (item, claim["fstype"], klass, class_fstypes[klass]))
    return problems


def pods_using_claim(pods, namespace, claim):
    """Names (namespace/name) of the pods in ``pods`` (API dicts) that mount ``namespace/claim``.

    The seed's ``jq 'select(.spec.volumes[]?.persistentVolumeClaim.claimName == ...)'``,
    restricted to the claim's namespace (a claim is only usable from its own namespace) and
    to pods that have not finished (Succeeded/Failed pods keep no volume attached).
    """
    using = []
    for pod in pods or []:
        meta = pod.get("metadata") or {}
        if meta.get("namespace") != namespace:
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if (volume.get("persistentVolumeClaim") or {}).get("claimName") == claim:
                using.append("%s/%s" % (namespace, meta.get("name")))
                break
    return sorted(using)


def saved_claim(pvc):
    """The parts of a live claim worth recreating it from (no status, uid, volumeName...)."""
    meta = pvc.get("metadata") or {}
    spec = dict(pvc.get("spec") or {})
    for field in ("volumeName", "dataSource", "dataSourceRef"):
        spec.pop(field, None)
    keep_meta = {"name": meta.get("name"), "namespace": meta.get("namespace")}
    labels = meta.get("labels")
    if labels:
        keep_meta["labels"] = labels
    annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items()
                       if not k.startswith(("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/",
                                            "kubectl.kubernetes.io/last-applied")))
    if annotations:
        keep_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": keep_meta, "spec": spec}


# --- zone pinning ----------------------------------------------------------------------------

ZONE_LABEL = "topology.kubernetes.io/zone"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


def zone_affinity(zones, gpu_products=None, zone_label=ZONE_LABEL, product_label=GPU_PRODUCT_LABEL):
    """The seed's pod affinity block pinning a job to zones (and GPU products)."""
    if isinstance(zones, str):
        zones = [zones]
    expressions = [{"key": zone_label, "operator": "In", "values": list(zones)}]
    if gpu_products:
        if isinstance(gpu_products, str):
            gpu_products = [gpu_products]
        expressions.append({"key": product_label, "operator": "In", "values": list(gpu_products)})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": expressions}]}}}


def zone_affinity_problems(var, zones, gpu_products, nodes, zone_label=ZONE_LABEL, product_label=GPU_PRODUCT_LABEL):
    """Zones / GPU products that no Node in ``nodes`` (API dicts) carries, and zones whose nodes lack the product."""
    if isinstance(zones, str):
        zones = [zones]
    if isinstance(gpu_products, str):
        gpu_products = [gpu_products]
    bad = [checks.label_value_problem("%s[%d]" % (var, i), v) for i, v in enumerate(zones or [])]
    products_var = var.replace("zones", "gpu_products") if "zones" in var else var + " GPU product"
    bad += [checks.label_value_problem("%s[%d]" % (products_var, i), v) for i, v in enumerate(gpu_products or [])]
    if any(bad):
        return [p for p in bad if p]
    labels = [((n.get("metadata") or {}).get("labels") or {}) for n in nodes or []]
    known_zones = sorted(set(l[zone_label] for l in labels if zone_label in l))
    known_products = sorted(set(l[product_label] for l in labels if product_label in l))
    problems = []
    if not zones:
        problems.append("%s is empty; name at least one zone (zones in the cluster: %s)" % (var, ", ".join(known_zones) or "none"))
    for zone in zones or []:
        if zone not in known_zones:
            problems.append("%s: zone %r is carried by no node (label %s); zones in the cluster: %s"
                            % (var, zone, zone_label, ", ".join(known_zones) or "none"))
    for product in gpu_products or []:
        if product not in known_products:
            problems.append("%s: GPU product %r is carried by no node (label %s); products in the cluster: %s"
                            % (var, product, product_label, ", ".join(known_products) or "none"))
        else:
            for zone in zones or []:
                if zone in known_zones and not any(l.get(zone_label) == zone and l.get(product_label) == product
                                                   for l in labels):
                    problems.append("%s: no node in zone %r has GPU product %r; a job pinned to both never schedules"
                                    % (var, zone, product))
    return problems


# --- Helm release state ----------------------------------------------------------------------

def release_pending(status):
    """Whether a Helm release status is a pending-* state left by an interrupted run."""
    return isinstance(status, str) and status.startswith("pending-")


# --- the seed's fio benchmark Job ------------------------------------------------------------

def _short_reason(reason):
    """The gist of an error text: the API's Status message if it carries one, else its first line."""
    import json  # pylint: disable=import-outside-toplevel
    text = str(reason or "").strip()
    for line in text.splitlines():
        if line.startswith("HTTP response body: "):
            try:
                message = json.loads(line[len("HTTP response body: "):]).get("message")
            except (ValueError, AttributeError):
                message = None
            if message:
                return message[:300]
    return text.splitlines()[0][:300] if text else ""


# Where fio puts a read's latency, in the order the report takes it: the completion latency
# (fio 3: clat_ns), the total latency (fio 3 with --lat_percentiles=1 keeps its percentiles there,
# and --clat_percentiles=0 drops clat's), and fio 2's clat, in microseconds.
_FIO_LATENCY = (("clat_ns", "clat", 1.0), ("lat_ns", "lat", 1.0), ("clat", "clat", 1000.0))


def _percentile(percentiles, wanted):
    """The value fio keys by ``wanted`` (its keys are formatted floats: '99.000000'), or None."""
    for key, value in (percentiles or {}).items():
        try:
            if float(key) == wanted:
                return float(value)
        except (TypeError, ValueError):
            continue
    return None


def fio_read_latency(stats):
    """The read latency of one fio job's ``read`` stats, in nanoseconds, and what fio measured.

    Returns ``{"source": "clat" or "lat" or None, "ns": {mean, min, max, percentile}}``: the first
    of clat_ns, lat_ns and fio 2's clat (microseconds) that has percentiles, else the first there
    is (without percentiles), else ``source`` None and ``ns`` empty.
    """
    found = []
    for key, source, scale in _FIO_LATENCY:
        value = (stats or {}).get(key)
        if isinstance(value, dict):
            ns = dict((k, float(value[k]) * scale) for k in ("mean", "min", "max") if isinstance(value.get(k), (int, float)))
            percentiles = dict((k, float(v) * scale) for k, v in (value.get("percentile") or {}).items()
                               if isinstance(v, (int, float)))
            if percentiles:
                ns["percentile"] = percentiles
            found.append({"source": source, "ns": ns})
    with_percentiles = [f for f in found if f["ns"].get("percentile")]
    return (with_percentiles or found or [{"source": None, "ns": {}}])[0]


def fio_job_result(log, unavailable_reason):
    """The benchmark's read figures from the Job's log (fio --output-format=json), or why not.

    Returns {"result": {...} or None, "unavailable": None or a sentence}. The result holds
    ``bytes``, ``seconds``, ``ops``, ``mibps`` (fio's bw_bytes), ``iops`` (fio's own read IOPS),
    ``latency_us`` (mean, min, max, percentiles), ``p99_ms`` (the read latency's 99th percentile,
    None when fio reported no percentiles: never estimated), ``latency_source`` (``clat``:
    completion latency, ``lat``: total latency, None) and ``fio_version``.
    """
    import json  # pylint: disable=import-outside-toplevel
    from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput import MIB, latency_us, shape
    text = log or ""
    start = text.find("{")
    if start < 0:
        return {"result": None, "unavailable": "no fio output: %s" % (_short_reason(unavailable_reason) or "the Job's log is empty")}
    try:
        data = json.loads(text[start:])
    except ValueError as exc:
        return {"result": None, "unavailable": "the Job's log is not fio JSON: %s" % exc}
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not jobs:
        return {"result": None, "unavailable": "fio's JSON has no jobs"}
    job = jobs[0]
    if job.get("error"):
        return {"result": None, "unavailable": "fio job %s failed with error %s" % (job.get("jobname"), job["error"])}
    stats = job.get("read") or {}
    io_bytes, runtime_ms = int(stats.get("io_bytes", 0)), float(stats.get("runtime", 0))
    if io_bytes <= 0 or runtime_ms <= 0:
        return {"result": None, "unavailable": "fio read no data (io_bytes=%s, runtime=%s ms)" % (io_bytes, runtime_ms)}
    result = shape(io_bytes, runtime_ms / 1000.0, int(stats.get("total_ios") or 0))
    if stats.get("bw_bytes"):
        result["mibps"] = round(float(stats["bw_bytes"]) / MIB, 2)
    if isinstance(stats.get("iops"), (int, float)) and stats["iops"] > 0:
        result["iops"] = round(float(stats["iops"]), 2)
    latency = fio_read_latency(stats)
    result["latency_us"] = latency_us(latency["ns"])
    p99 = _percentile(latency["ns"].get("percentile"), 99.0)
    result["p99_ms"] = round(p99 / 1e6, 3) if p99 is not None else None
    result["latency_source"] = latency["source"]
    result["fio_version"] = data.get("fio version")
    return {"result": result, "unavailable": None}


# --- the report section ----------------------------------------------------------------------

def _conditions(obj):
    conditions = ((obj.get("status") or {}).get("conditions")) or []
    return dict((c.get("type"), c) for c in conditions if isinstance(c, dict))


def _condition_text(obj, wanted):
    conditions = _conditions(obj)
    if not conditions:
        return "no status yet"
    parts = []
    for name in wanted:
        c = conditions.get(name)
        parts.append("%s=%s" % (name, c.get("status") if c else "?"))
    return ", ".join(parts)


def _pv_nodes(pv):
    terms = ((((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    nodes = []
    for term in terms:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == "kubernetes.io/hostname" and expr.get("operator") == "In":
                nodes.extend(expr.get("values") or [])
    return sorted(set(nodes))


BENCHMARK_TITLE = "fio benchmark Job (seed: --rw=read --bs=4M)"


def benchmark_entry(benchmark):
    """The seed's benchmark as a report section's ``benchmarks`` entry (see module_utils.validation_report)."""
    result = benchmark.get("result") or {}
    return {"title": BENCHMARK_TITLE, "job": benchmark.get("job") or "", "claim": benchmark.get("claim") or "",
            "node": benchmark.get("node") or "", "completed": bool(benchmark.get("completed")),
            "read_mibps": result.get("mibps"), "read_iops": result.get("iops"), "read_p99_ms": result.get("p99_ms"),
            "latency_source": result.get("latency_source"),
            "unavailable": None if result else benchmark.get("unavailable") or "no result"}


def report_section(data):
    """The storage layer's report section (see module_utils.validation_report) from what verify read."""
    problems = []
    notes = []
    release = (data.get("release") or {}).get("status") or {}
    release_rows = []
    if release:
        release_rows.append([data.get("release_name"), data.get("namespace"), release.get("chart", ""),
                             release.get("app_version", ""), release.get("revision", ""), release.get("status", "")])
        if release.get("status") != "deployed":
            problems.append({"severity": "error", "subject": "helm release %s" % data.get("release_name"),
                             "message": "the operator release is %s, not deployed" % release.get("status")})
    elif not data.get("check_mode"):
        problems.append({"severity": "error", "subject": "helm release %s" % data.get("release_name"),
                         "message": "the operator release is not installed"})
    conditions = {"LinstorCluster": ("Applied", "Available", "Configured"),
                  "LinstorSatelliteConfiguration": ("Applied",),
                  "LinstorSatellite": ("Applied", "Available", "Configured")}
    object_rows = []
    statusless = 0
    for obj in data.get("objects") or []:
        kind = obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        text = _condition_text(obj, conditions.get(kind, ()))
        if text == "no status yet":
            statusless += 1
        for cname, c in _conditions(obj).items():
            if cname in conditions.get(kind, ()) and c.get("status") == "False":
                problems.append({"severity": "error", "subject": "%s %s" % (kind, name),
                                 "message": "%s is False: %s" % (cname, c.get("message") or c.get("reason"))})
        node = ""
        if kind == "LinstorSatellite":
            node = name
        object_rows.append([kind, name, node, text])
    if statusless:
        notes.append("%d LINSTOR object(s) have no status: no Piraeus operator has reconciled them (in the lab the "
                     "operator Deployment is a stand-in whose pods never run, so satellites, DRBD and the CSI driver "
                     "do not exist)." % statusless)
    controller = data.get("controller") or {}
    satellite_rows = []
    pool_rows = []
    if not data.get("controller_service"):
        notes.append("No LINSTOR controller Service (%s/linstor-controller) answers here: satellites online and "
                     "storage-pool capacity were not read." % data.get("namespace"))
    elif controller.get("failed") or "nodes" not in controller:
        problems.append({"severity": "error", "subject": "linstor-controller",
                         "message": "the LINSTOR controller's REST API did not answer through the API server's "
                                    "service proxy: %s" % controller.get("msg", "no answer")})
    else:
        for node in controller.get("nodes") or []:
            satellite_rows.append([node.get("name"), node.get("connection_status"), node.get("type")])
            if node.get("connection_status") != "ONLINE":
                problems.append({"severity": "error", "subject": "satellite %s" % node.get("name"),
                                 "message": "LINSTOR satellite is %s, not ONLINE" % node.get("connection_status")})
        for pool in controller.get("storage_pools") or []:
            pool_rows.append([pool.get("node"), pool.get("name"), pool.get("driver"), pool.get("free_gib"),
                              pool.get("total_gib")])
            if pool.get("free_gib") == 0 and pool.get("driver") != "DISKLESS":
                problems.append({"severity": "warning", "subject": "storage pool %s on %s" % (pool.get("name"), pool.get("node")),
                                 "message": "no free capacity"})
    class_rows = []
    found = dict(((sc.get("metadata") or {}).get("name"), sc) for sc in data.get("storage_classes") or [])
    for name in data.get("wanted_classes") or []:
        sc = found.get(name)
        if not sc:
            if not data.get("check_mode"):
                problems.append({"severity": "error", "subject": "StorageClass %s" % name, "message": "missing"})
            continue
        params = sc.get("parameters") or {}
        class_rows.append([name, sc.get("provisioner"), params.get("%s/storagePool" % PARAMETER_NAMESPACE, ""),
                           params.get("%s/placementCount" % PARAMETER_NAMESPACE, ""),
                           params.get("%s/allowRemoteVolumeAccess" % PARAMETER_NAMESPACE, ""),
                           params.get("csi.storage.k8s.io/fstype", ""), sc.get("volumeBindingMode", ""),
                           sc.get("reclaimPolicy", "")])
    claims = dict((((c.get("metadata") or {}).get("namespace"), (c.get("metadata") or {}).get("name")), c)
                  for c in data.get("claims") or [])
    pvs = dict(((pv.get("metadata") or {}).get("name"), pv) for pv in data.get("pvs") or [])
    modes = dict((n, (found.get(n) or {}).get("volumeBindingMode")) for n in found)
    claim_rows = []
    for wanted in data.get("wanted_claims") or []:
        namespace = wanted.get("namespace", "default")
        key = (namespace, wanted.get("name"))
        claim = claims.get(key)
        subject = "pvc %s/%s" % key
        if not claim:
            if not data.get("check_mode"):
                problems.append({"severity": "error", "subject": subject, "message": "missing"})
            continue
        spec, status = claim.get("spec") or {}, claim.get("status") or {}
        users = pods_using_claim(data.get("pods"), namespace, wanted.get("name"))
        phase = status.get("phase", "")
        volume = spec.get("volumeName") or ""
        nodes = _pv_nodes(pvs.get(volume)) if volume else []
        note = ""
        if phase == "Pending":
            if modes.get(spec.get("storageClassName")) == "WaitForFirstConsumer" and not users:
                note = "expected: WaitForFirstConsumer binds when the first pod using the claim is scheduled"
            elif users:
                note = "pods use it but no volume is bound: is LINSTOR's CSI controller running?"
                problems.append({"severity": "warning", "subject": subject,
                                 "message": "Pending although %s use it; no volume was provisioned (check the LINSTOR "
                                            "CSI controller and the storage pool)" % ", ".join(users)})
            else:
                note = "not bound"
                problems.append({"severity": "warning", "subject": subject, "message": "Pending and not bound"})
        claim_rows.append(["%s/%s" % key, spec.get("storageClassName", ""), spec.get("volumeMode", "Filesystem"),
                           ((spec.get("resources") or {}).get("requests") or {}).get("storage", ""), phase,
                           volume, ", ".join(nodes), ", ".join(users), note])
    tables = [
        {"title": "Operator release", "columns": ["Release", "Namespace", "Chart", "App version", "Revision", "Status"],
         "rows": release_rows},
        {"title": "LINSTOR objects", "columns": ["Kind", "Name", "Node", "Conditions"], "rows": object_rows},
    ]
    if satellite_rows or pool_rows:
        tables.append({"title": "Satellites (LINSTOR controller)", "columns": ["Node", "Connection", "Type"],
                       "rows": satellite_rows})
        tables.append({"title": "Storage pools (LINSTOR controller)",
                       "columns": ["Node", "Pool", "Driver", "Free GiB", "Total GiB"], "rows": pool_rows})
    tables.append({"title": "StorageClasses",
                   "columns": ["Name", "Provisioner", "Pool", "Replicas", "Remote access", "fstype", "Binding", "Reclaim"],
                   "rows": class_rows})
    tables.append({"title": "Claims",
                   "columns": ["Claim", "Class", "Mode", "Size", "Phase", "Volume", "Volume's nodes", "Used by", "Note"],
                   "rows": claim_rows})
    benchmark = data.get("benchmark")
    benchmarks = []
    if benchmark:
        # The report lays the in-pod figures next to storage_validation's host-side figures for the
        # same filesystem (module_utils.benchmark_comparison), in a table of this title.
        benchmarks.append(benchmark_entry(benchmark))
        if not benchmark.get("result"):
            problems.append({"severity": "info", "subject": "job %s" % benchmark.get("job"),
                             "message": "fio result unavailable: %s" % benchmark.get("unavailable")})
    if data.get("check_mode"):
        notes.append("Check mode: what the cluster holds now; nothing was changed.")
    return {"name": "storage", "title": "Storage: LINSTOR through the Piraeus operator", "tables": tables,
            "problems": problems, "notes": notes, "benchmarks": benchmarks}


# --- the LINSTOR controller's REST API (GET /v1/nodes, GET /v1/view/storage-pools) ----------

def controller_proxy_path(namespace, service, port, api_path):
    """The API server's service-proxy path to the LINSTOR controller (no port-forward, no exec)."""
    return "/api/v1/namespaces/%s/services/%s:%s/proxy%s" % (namespace, service, port, api_path)


def controller_nodes(nodes):
    """LINSTOR's node list as {name, type, connection_status}, sorted by name."""
    out = []
    for node in nodes or []:
        if isinstance(node, dict):
            out.append({"name": node.get("name"), "type": node.get("type"),
                        "connection_status": node.get("connection_status", "UNKNOWN")})
    return sorted(out, key=lambda n: n["name"] or "")


def controller_pools(pools):
    """LINSTOR's storage pools as {node, name, driver, free_gib, total_gib} (capacities are KiB upstream)."""
    out = []
    for pool in pools or []:
        if not isinstance(pool, dict):
            continue
        free, total = pool.get("free_capacity"), pool.get("total_capacity")
        out.append({"node": pool.get("node_name"), "name": pool.get("storage_pool_name"),
                    "driver": pool.get("provider_kind"),
                    "free_gib": round(free / 1048576.0, 1) if isinstance(free, (int, float)) else None,
                    "total_gib": round(total / 1048576.0, 1) if isinstance(total, (int, float)) else None})
    return sorted(out, key=lambda p: (p["node"] or "", p["name"] or ""))
