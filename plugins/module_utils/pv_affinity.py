# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement checks for PersistentVolumes, their claims, the pods using them and StorageClasses.

``analyze(inventory, ...)`` takes the plain-dict inventory (see snapshot.py) and returns
findings, a summary and a zone map. Pure: no I/O, no AnsibleModule.

PV node affinity is judged as the scheduler's volume binding judges it (node labels only,
so ``matchFields`` are ignored: see node_affinity), since that is what decides where a pod
using the volume may run.

Cost: one pass over each kind of object. PV node affinity is evaluated through
node_affinity.NodeIndex (set algebra on a label index, memoized per distinct selector), so
the work grows with the number of objects, not with PVs x nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils.node_affinity import (
    NodeIndex,
    describe_selector,
    selector_errors,
)

HOSTNAME_LABEL = "kubernetes.io/hostname"

DEFAULT_ZONE_LABEL = "topology.kubernetes.io/zone"
LINSTOR_PROVISIONER = "linstor.csi.linbit.com"
NO_ZONE = "(no zone)"

CHECKS = (
    "local-pv-without-affinity",
    "pv-affinity-matches-no-node",
    "pv-affinity-matchfields-ignored",
    "pod-node-violates-pv-affinity",
    "cross-zone-pod-volume",
    "zonal-storageclass-immediate-binding",
    "pvc-pending",
    "remote-volume-access-enabled",
)
SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "never")

# Provisioners whose volumes live on one node or in one zone. A StorageClass with
# allowedTopologies counts as zonal whatever its provisioner.
DEFAULT_ZONAL_PROVISIONERS = (
    "kubernetes.io/no-provisioner",
    "linstor.csi.linbit.com",
    "rancher.io/local-path",
    "topolvm.io",
    "topolvm.cybozu.com",
    "local.csi.openebs.io",
    "openebs.io/local",
    "lvm.csi.metal-stack.io",
    "hostpath.csi.k8s.io",
    "ebs.csi.aws.com",
    "kubernetes.io/aws-ebs",
    "pd.csi.storage.gke.io",
    "kubernetes.io/gce-pd",
    "disk.csi.azure.com",
    "kubernetes.io/azure-disk",
    "cinder.csi.openstack.org",
)

_TERMINAL_POD_PHASES = ("Succeeded", "Failed")
_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")


def _meta(obj):
    return obj.get("metadata") or {}


def _ref(kind, name, namespace=None):
    return {"kind": kind, "namespace": namespace, "name": name}


def _finding(check, severity, obj, message, related=None):
    return {"check": check, "severity": severity, "object": obj, "message": message, "related": related or []}


def _claim_names(pod):
    """Names of the PVCs a pod mounts, including generic ephemeral volumes (<pod>-<volume>)."""
    names = []
    pod_name = _meta(pod).get("name")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = volume.get("persistentVolumeClaim")
        if claim:
            names.append(claim["claimName"])
        elif volume.get("ephemeral") is not None:
            names.append("%s-%s" % (pod_name, volume["name"]))
    return names


def linstor_remote_access(parameters):
    """How a LINSTOR StorageClass's parameters set remote volume access.

    Returns (state, value) where state is "disabled", "enabled" (anywhere: "true" or the
    default) or "restricted" (a policy such as ``- fromSame: [topology.kubernetes.io/zone]``).
    Mirrors linstor-csi: keys are matched without their ``linstor.csi.linbit.com/`` prefix and
    case-insensitively; the default is "anywhere" when the layer list has drbd or nvme (the
    default list is "drbd storage") and local-only otherwise.
    """
    access = None
    layers = None
    for key, value in (parameters or {}).items():
        namespace, sep, raw = key.partition("/")
        if not sep:
            namespace, raw = "", key
        if namespace not in ("", LINSTOR_PROVISIONER):
            continue
        raw = raw.lower()
        if raw == "allowremotevolumeaccess" and (access is None or namespace):
            access = value
        elif raw == "layerlist" and (layers is None or namespace):
            layers = value
    if access is None:
        stack = (layers if layers is not None else "drbd storage").lower().split()
        if "drbd" in stack or "nvme" in stack:
            return "enabled", None
        return "disabled", None
    text = access.strip()
    if text in _GO_FALSE:
        return "disabled", access
    if text in _GO_TRUE:
        return "enabled", access
    return "restricted", access


def _name_list(names, limit=5):
    ordered = sorted(names)
    if len(ordered) > limit:
        return "%s and %d more" % (", ".join(ordered[:limit]), len(ordered) - limit)
    return ", ".join(ordered)


def _describe_fields(fields):
    return " AND ".join("%s %s (%s)" % (req.get("key"), req.get("operator"), ", ".join(req.get("values") or ()))
                        for req in fields)


def _hostname_expressions(fields, index):
    """The matchExpressions that say what ``fields`` meant: the named node's hostname label."""
    parts = []
    for req in fields:
        value = (req.get("values") or [""])[0]
        host = (index.labels.get(value) or {}).get(HOSTNAME_LABEL, value)
        parts.append("{key: %s, operator: %s, values: [%s]}" % (HOSTNAME_LABEL, req.get("operator"), host))
    return ", ".join(parts)


def is_linstor_pv(pv):
    return ((pv.get("spec") or {}).get("csi") or {}).get("driver") == LINSTOR_PROVISIONER


def _storageclass_lookup(storageclasses):
    by_name = {}
    default = None
    for sc in storageclasses:
        name = _meta(sc)["name"]
        by_name[name] = sc
        annotations = _meta(sc).get("annotations") or {}
        if any(annotations.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):
            default = name
    return by_name, default


def _affinity_zone_values(selector, zone_label):
    """Zones an affinity names with ``<zone_label> In (...)`` in every term, else None."""
    zones = set()
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        named = None
        for req in term.get("matchExpressions") or []:
            if req.get("key") == zone_label and req.get("operator") == "In":
                named = set(req.get("values") or [])
        if named is None:
            return None
        zones |= named
    return zones or None


class _Analysis(object):
    def __init__(self, inventory, zone_label, zonal_provisioners, skip_checks, admitted_nodes=False):
        self.inv = inventory
        self.zone_label = zone_label
        self.zonal_provisioners = frozenset(zonal_provisioners)
        self.enabled = frozenset(c for c in CHECKS if c not in set(skip_checks or ()))
        self.findings = []
        self.index = NodeIndex(inventory["nodes"], zone_label)
        self.storageclasses, self.default_class = _storageclass_lookup(inventory["storageclasses"])
        self.pvcs = dict(((_meta(c).get("namespace"), _meta(c)["name"]), c) for c in inventory["pvcs"])
        self.zone_nodes = {}
        self.zone_pvs = {}
        self.zone_pods = {}
        self._zones_memo = {}
        self._sorted_memo = {}
        self.pv_nodes = {} if admitted_nodes else None

    def add(self, check, severity, obj, message, related=None):
        if check in self.enabled:
            self.findings.append(_finding(check, severity, obj, message, related))

    # -- pods ------------------------------------------------------------------------------
    def consumers(self):
        """(namespace, claim) -> running or pending pods mounting it; fills the zone map's pods."""
        consumers = {}
        zone_pods = self.zone_pods
        zone_of = self.index.zone_of
        for pod in self.inv["pods"]:
            status = pod.get("status") or {}
            if status.get("phase") in _TERMINAL_POD_PHASES:
                continue
            claims = _claim_names(pod)
            if not claims:
                continue
            metadata = _meta(pod)
            namespace = metadata.get("namespace")
            for claim in claims:
                key = (namespace, claim)
                found = consumers.get(key)
                if found is None:
                    consumers[key] = [pod]
                else:
                    found.append(pod)
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                zone = zone_of.get(node, NO_ZONE)
                zone_pods.setdefault(zone, []).append("%s/%s" % (namespace, metadata["name"]))
        return consumers

    # -- PVs -------------------------------------------------------------------------------
    def pv_zones(self, pv, selector, matching):
        if selector is not None:
            if matching:
                key = id(matching)
                zones = self._zones_memo.get(key)
                if zones is None:
                    zones = self._zones_memo[key] = (matching, frozenset(self.index.zones_of(matching)))
                return zones[1]
            named = _affinity_zone_values(selector, self.zone_label)
            if named:
                return frozenset(named)
        label = (_meta(pv).get("labels") or {}).get(self.zone_label)
        return frozenset([label]) if label else frozenset()

    def check_pvs(self, consumers):
        index = self.index
        pvcs = self.pvcs
        for pv in self.inv["pvs"]:
            metadata = _meta(pv)
            name = metadata["name"]
            spec = pv["spec"]
            obj = _ref("PersistentVolume", name)
            selector = (spec.get("nodeAffinity") or {}).get("required")
            claim_ref = spec.get("claimRef") or {}
            claim_key = (claim_ref.get("namespace"), claim_ref["name"]) if claim_ref else None
            claim_desc = "%s/%s" % claim_key if claim_key else None
            phase = (pv.get("status") or {}).get("phase")

            source = spec.get("local") or spec.get("hostPath")
            node_local = spec.get("local") is not None or spec.get("hostPath") is not None
            if source is not None and selector is None:
                kind = "local" if spec.get("local") is not None else "hostPath"
                self.add(
                    "local-pv-without-affinity", "error", obj,
                    "PersistentVolume %s is a %s volume at %s but has no spec.nodeAffinity.required, so a pod "
                    "using it can start on any node and see that node's directory (or an empty one) instead of "
                    "the data. Recreate the PV with spec.nodeAffinity.required naming the node that holds the data, "
                    "e.g. kubernetes.io/hostname In (<node>); PV node affinity cannot be changed in place."
                    % (name, kind, source.get("path", "?")),
                )

            matching = None
            if selector is not None:
                matching, ignored_fields = index.volume_affinity(selector)
                if ignored_fields:
                    self.matchfields_ignored(name, obj, node_local, selector, matching, ignored_fields)
                if not matching:
                    errors = selector_errors(selector)
                    why = (" Its affinity is invalid: %s." % "; ".join(errors)) if errors else ""
                    users = (" Pods using claim %s cannot be scheduled." % claim_desc) if claim_desc else ""
                    severity = "error" if claim_key or phase == "Bound" else "warning"
                    self.add(
                        "pv-affinity-matches-no-node", severity, obj,
                        "PersistentVolume %s requires nodes matching %s, and no node in the cluster does.%s%s "
                        "Restore or relabel the node the data is on, or recreate the PV with an affinity that "
                        "names an existing node." % (name, describe_selector(selector), why, users),
                    )

            if self.pv_nodes is not None:
                self.pv_nodes[name] = {
                    "uid": metadata.get("uid"),
                    "created": metadata.get("creationTimestamp"),
                    "claim": claim_desc,
                    "nodes": self.sorted_names(matching) if matching is not None else None,
                }

            zones = self.pv_zones(pv, selector, matching)
            if zones:
                for zone in zones:
                    self.zone_pvs.setdefault(zone, []).append(name)
            else:
                self.zone_pvs.setdefault(NO_ZONE, []).append(name)

            if not claim_key:
                continue
            pvc = pvcs.get(claim_key)
            if pvc is not None:
                bound_to = (pvc.get("spec") or {}).get("volumeName")
                if bound_to and bound_to != name:
                    continue
                # A claim not bound by name: a PV whose claimRef names an earlier claim of the same
                # name (its uid differs, e.g. a Released PV) is not its volume. A PV replaced by
                # LINSTOR's affinity controller keeps the claimRef, uid included, so it still is.
                ref_uid, claim_uid = claim_ref.get("uid"), _meta(pvc).get("uid")
                if not bound_to and ref_uid and claim_uid and ref_uid != claim_uid:
                    continue
            linstor = is_linstor_pv(pv)
            for pod in consumers.get(claim_key, ()):
                node = (pod.get("spec") or {}).get("nodeName")
                if not node or node not in index:
                    continue
                pod_obj = _ref("Pod", _meta(pod)["name"], _meta(pod).get("namespace"))
                related = [obj, _ref("PersistentVolumeClaim", claim_key[1], claim_key[0]), _ref("Node", node)]
                if matching is not None and node not in matching:
                    pod_desc = pod_obj["namespace"] + "/" + pod_obj["name"]
                    if linstor:
                        message = (
                            "Pod %s runs on node %s, but the LINSTOR volume %s (claim %s) is only available on "
                            "nodes matching %s. LINSTOR moved the volume's replicas (evacuation, rebalancing, a "
                            "replaced node) and the PV's affinity, which Kubernetes cannot change in place, still "
                            "names where they were. Deploy the LINSTOR Affinity Controller "
                            "(piraeusdatastore/linstor-affinity-controller, Helm chart "
                            "piraeus-charts/linstor-affinity-controller): it replaces such a PV, same name and "
                            "claim, with one whose affinity follows the replicas. If the pod was placed by hand, "
                            "delete it so the scheduler places it on a matching node."
                            % (pod_desc, node, name, claim_desc, describe_selector(selector)))
                    else:
                        message = (
                            "Pod %s runs on node %s, but the volume %s (claim %s) is only available on nodes "
                            "matching %s. The affinity is stale (the node was relabelled, the data moved) or the "
                            "pod was placed by hand. Delete the pod so the scheduler places it on a matching node, "
                            "or recreate the PV with an affinity naming where the data now is."
                            % (pod_desc, node, name, claim_desc, describe_selector(selector)))
                    self.add("pod-node-violates-pv-affinity", "error", pod_obj, message, related)
                pod_zone = index.zone_of.get(node)
                if zones and pod_zone and pod_zone not in zones:
                    self.add(
                        "cross-zone-pod-volume", "warning", pod_obj,
                        "Pod %s runs in zone %s (node %s) but its volume %s (claim %s) is in zone %s, so every "
                        "read and write crosses zones. Pin the pod to zone %s with a nodeAffinity on %s, or "
                        "provision the volume with a WaitForFirstConsumer StorageClass so it is created where "
                        "the pod runs."
                        % (pod_obj["namespace"] + "/" + pod_obj["name"], pod_zone, node, name, claim_desc,
                           ", ".join(sorted(zones)), " or ".join(sorted(zones)), self.zone_label),
                        related,
                    )

    def sorted_names(self, names):
        key = id(names)
        found = self._sorted_memo.get(key)
        if found is None:
            found = self._sorted_memo[key] = (names, sorted(names))
        return found[1]

    def matchfields_ignored(self, name, obj, node_local, selector, matching, fields):
        index = self.index
        if matching is index.all:
            really = "every node (%d)" % len(matching)
        elif matching:
            really = "%d node(s): %s" % (len(matching), _name_list(matching))
        else:
            really = "no node"
        meant = index.matching_nodes(selector)
        if meant != matching:
            really += ", not only %s" % (_name_list(meant) if meant else "the nodes its matchFields name")
        risk = (" A pod using this node-local volume can start on a node that does not hold its data."
                if node_local else "")
        self.add(
            "pv-affinity-matchfields-ignored", "error" if node_local else "warning", obj,
            "PersistentVolume %s restricts its nodes with matchFields (%s), which volume binding ignores: the "
            "scheduler checks a PV's node affinity against the node's labels only (CheckNodeAffinity in "
            "k8s.io/component-helpers/storage/volume), so the PV really admits %s.%s Recreate the PV with the "
            "requirement as a matchExpression on the node's %s label instead, e.g. matchExpressions: [%s]; PV node "
            "affinity cannot be changed in place."
            % (name, _describe_fields(fields), really, risk, HOSTNAME_LABEL, _hostname_expressions(fields, index)),
        )

    # -- StorageClasses --------------------------------------------------------------------
    def check_storageclasses(self):
        for sc in self.inv["storageclasses"]:
            name = _meta(sc)["name"]
            obj = _ref("StorageClass", name)
            provisioner = sc["provisioner"]
            mode = sc.get("volumeBindingMode")
            zonal = provisioner in self.zonal_provisioners or bool(sc.get("allowedTopologies"))
            if zonal and (mode or "Immediate") == "Immediate":
                how = "volumeBindingMode: Immediate" if mode else "no volumeBindingMode (the default is Immediate)"
                self.add(
                    "zonal-storageclass-immediate-binding", "warning", obj,
                    "StorageClass %s (provisioner %s) creates node- or zone-local volumes and has %s, so each "
                    "volume is placed before the scheduler picks a node for its pod: pods end up in another zone "
                    "than their data, or cannot be scheduled. Set volumeBindingMode: WaitForFirstConsumer "
                    "(StorageClasses are immutable: delete and recreate it; existing PVs are not affected)."
                    % (name, provisioner, how),
                )
            if provisioner == LINSTOR_PROVISIONER:
                state, value = linstor_remote_access(sc.get("parameters"))
                if state == "disabled":
                    continue
                if state == "restricted":
                    self.add(
                        "remote-volume-access-enabled", "info", obj,
                        "StorageClass %s allows remote (diskless) access to its LINSTOR volumes under the policy "
                        "%r: pods may run on nodes without a local replica and read over the network within that "
                        "scope. Set parameters.linstor.csi.linbit.com/allowRemoteVolumeAccess: \"false\" if "
                        "volumes must be node-local." % (name, value),
                    )
                    continue
                how = "is %r" % value if value is not None else "is not set (LINSTOR's default is true)"
                self.add(
                    "remote-volume-access-enabled", "warning", obj,
                    "StorageClass %s: allowRemoteVolumeAccess %s, so pods may run on nodes without a local replica "
                    "and read their volume over the network (DRBD diskless), possibly from another zone. For "
                    "node-local performance set parameters.linstor.csi.linbit.com/allowRemoteVolumeAccess: "
                    "\"false\" together with volumeBindingMode: WaitForFirstConsumer." % (name, how),
                )

    # -- PVCs ------------------------------------------------------------------------------
    def check_pvcs(self, consumers):
        for pvc in self.inv["pvcs"]:
            status = pvc.get("status") or {}
            if status.get("phase") != "Pending":
                continue
            metadata = _meta(pvc)
            namespace, name = metadata.get("namespace"), metadata["name"]
            obj = _ref("PersistentVolumeClaim", name, namespace)
            spec = pvc.get("spec") or {}
            class_name = spec.get("storageClassName")
            if class_name is None:
                class_name = self.default_class
            sc = self.storageclasses.get(class_name) if class_name else None
            users = consumers.get((namespace, name), ())
            wffc = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
            if wffc and not users:
                self.add(
                    "pvc-pending", "info", obj,
                    "PersistentVolumeClaim %s/%s is Pending: StorageClass %s binds on first use "
                    "(WaitForFirstConsumer) and no pod uses the claim yet. This is expected until a pod mounts it."
                    % (namespace, name, class_name),
                )
                continue
            if sc is None:
                why = (
                    "it names StorageClass %r, which does not exist" % class_name if class_name
                    else "it has no StorageClass and no PersistentVolume matches it"
                )
                fix = "Create the StorageClass or a matching PV, or fix spec.storageClassName."
            elif wffc:
                why = "pod %s uses it, yet no volume was provisioned" % ", ".join(
                    "%s/%s" % (namespace, _meta(p)["name"]) for p in users[:3])
                fix = "See `kubectl describe pvc %s -n %s` and the provisioner's logs; the pod's node may have no capacity." % (name, namespace)
            else:
                why = "StorageClass %s binds immediately, yet no volume was bound" % class_name
                fix = "See `kubectl describe pvc %s -n %s` and the provisioner (%s) logs." % (name, namespace, sc.get("provisioner"))
            related = [_ref("StorageClass", class_name)] if class_name else []
            related.extend(_ref("Pod", _meta(p)["name"], namespace) for p in users)
            self.add("pvc-pending", "error", obj, "PersistentVolumeClaim %s/%s is Pending: %s. %s" % (namespace, name, why, fix), related)

    # -- zone map --------------------------------------------------------------------------
    def zones(self):
        for node in self.inv["nodes"]:
            name = _meta(node)["name"]
            self.zone_nodes.setdefault(self.index.zone_of.get(name, NO_ZONE), []).append(name)
        result = {}
        for zone in sorted(set(self.zone_nodes) | set(self.zone_pvs) | set(self.zone_pods)):
            result[zone] = {
                "nodes": sorted(self.zone_nodes.get(zone, ())),
                "pvs": sorted(self.zone_pvs.get(zone, ())),
                "pods": sorted(self.zone_pods.get(zone, ())),
            }
        return result


_SEVERITY_RANK = dict((s, i) for i, s in enumerate(SEVERITIES))


def summarize(findings, inventory):
    by_severity = dict((s, 0) for s in SEVERITIES)
    by_check = dict((c, 0) for c in CHECKS)
    for finding in findings:
        by_severity[finding["severity"]] += 1
        by_check[finding["check"]] += 1
    return {
        "total": len(findings),
        "by_severity": by_severity,
        "by_check": by_check,
        "objects": dict((key, len(inventory[key])) for key in inventory),
    }


def _sort_key(finding):
    obj = finding["object"]
    return (_SEVERITY_RANK[finding["severity"]], finding["check"], obj["kind"], obj["namespace"] or "", obj["name"])


def analyze(inventory, zone_label=DEFAULT_ZONE_LABEL, zonal_provisioners=DEFAULT_ZONAL_PROVISIONERS, skip_checks=(),
            admitted_nodes=False):
    """Run every check on ``inventory``; returns {"findings", "summary", "zones"}.

    Findings are sorted by severity (error first), check id and object. With
    ``admitted_nodes`` the result also has "pvs": per PV name its uid, creation time, claim
    and the sorted names of the nodes volume binding lets it be used on (None: no affinity,
    every node).
    """
    analysis = _Analysis(inventory, zone_label, zonal_provisioners, skip_checks, admitted_nodes)
    consumers = analysis.consumers()
    analysis.check_pvs(consumers)
    analysis.check_storageclasses()
    analysis.check_pvcs(consumers)
    findings = sorted(analysis.findings, key=_sort_key)
    result = {"findings": findings, "summary": summarize(findings, inventory), "zones": analysis.zones()}
    if analysis.pv_nodes is not None:
        result["pvs"] = analysis.pv_nodes
    return result


def should_fail(summary, fail_on):
    """Whether a task with ``fail_on`` (error, warning, never) fails given ``summary``."""
    if fail_on == "never":
        return False
    counts = summary["by_severity"]
    if fail_on == "warning":
        return counts["error"] + counts["warning"] > 0
    return counts["error"] > 0


def failure_message(summary, fail_on):
    counts = summary["by_severity"]
    checks = ", ".join("%s: %d" % (c, n) for c, n in sorted(summary["by_check"].items()) if n)
    return "PV placement check found %d error(s), %d warning(s), %d info (fail_on=%s; %s). See findings for what to fix." % (
        counts["error"], counts["warning"], counts["info"], fail_on, checks)
