"""Every check id, positive and negative, on plain-dict inventories."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.pv_affinity import (
    CHECKS,
    NO_ZONE,
    analyze,
    failure_message,
    linstor_remote_access,
    should_fail,
)

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def node(name, zone=None, **labels):
    labels = dict(labels)
    labels[HOST] = name
    if zone:
        labels[ZONE] = zone
    return {"kind": "Node", "metadata": {"name": name, "labels": labels}}


def on_host(*names):
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": HOST, "operator": "In", "values": list(names)}]}]}}


def pv(name, claim=None, affinity=None, phase=None, labels=None, **spec):
    spec = dict(spec)
    if affinity is not None:
        spec["nodeAffinity"] = affinity
    if claim:
        ns, cname = claim.split("/", 1)
        spec["claimRef"] = {"namespace": ns, "name": cname}
    obj = {"kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec}
    if labels:
        obj["metadata"]["labels"] = labels
    if phase or claim:
        obj["status"] = {"phase": phase or "Bound"}
    return obj


def pvc(ref, volume=None, phase="Bound", storage_class="local"):
    ns, name = ref.split("/", 1)
    spec = {}
    if volume:
        spec["volumeName"] = volume
    if storage_class is not False:
        spec["storageClassName"] = storage_class
    return {"kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": ns}, "spec": spec, "status": {"phase": phase}}


def pod(ref, node_name=None, claims=(), phase="Running", ephemeral=()):
    ns, name = ref.split("/", 1)
    volumes = [{"name": "v%d" % i, "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)]
    volumes += [{"name": e, "ephemeral": {"volumeClaimTemplate": {"spec": {}}}} for e in ephemeral]
    spec = {"volumes": volumes}
    if node_name:
        spec["nodeName"] = node_name
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": spec, "status": {"phase": phase}}


def sc(name, provisioner="kubernetes.io/no-provisioner", mode="WaitForFirstConsumer", parameters=None, default=False, **extra):
    obj = {"kind": "StorageClass", "metadata": {"name": name}, "provisioner": provisioner}
    if mode:
        obj["volumeBindingMode"] = mode
    if parameters is not None:
        obj["parameters"] = parameters
    if default:
        obj["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    obj.update(extra)
    return obj


def inventory(nodes=(), pvs=(), pvcs=(), pods=(), storageclasses=()):
    return {"nodes": list(nodes), "pvs": list(pvs), "pvcs": list(pvcs), "pods": list(pods), "storageclasses": list(storageclasses)}


NODES = [node("gpu-ucsd-1", "ucsd"), node("gpu-ucsd-2", "ucsd"), node("gpu-sdsu-1", "sdsu"), node("gpu-sdsu-2", "sdsu")]
LOCAL = sc("local")


def findings(inv, check=None, **kw):
    result = analyze(inv, **kw)
    return [f for f in result["findings"] if check is None or f["check"] == check]


def healthy():
    """A correct cluster: a local PV on gpu-ucsd-1, its claim, a pod on that node."""
    return inventory(
        NODES,
        [pv("models", claim="ml/models", affinity=on_host("gpu-ucsd-1"), local={"path": "/raid/models"})],
        [pvc("ml/models", volume="models")],
        [pod("ml/infer", "gpu-ucsd-1", claims=["models"])],
        [LOCAL],
    )


def test_healthy_cluster_has_no_findings():
    result = analyze(healthy())
    assert result["findings"] == []
    assert result["summary"]["total"] == 0
    assert result["summary"]["by_check"] == dict((c, 0) for c in CHECKS)
    assert result["zones"]["ucsd"] == {"nodes": ["gpu-ucsd-1", "gpu-ucsd-2"], "pvs": ["models"], "pods": ["ml/infer"]}
    assert result["zones"]["sdsu"] == {"nodes": ["gpu-sdsu-1", "gpu-sdsu-2"], "pvs": [], "pods": []}


# -- local-pv-without-affinity --------------------------------------------------------------
@pytest.mark.parametrize("source", [{"local": {"path": "/raid/models"}}, {"hostPath": {"path": "/raid/models"}}])
def test_local_pv_without_affinity(source):
    found = findings(inventory(NODES, [pv("models", **source)]), "local-pv-without-affinity")
    assert len(found) == 1
    assert found[0]["severity"] == "error"
    assert found[0]["object"] == {"kind": "PersistentVolume", "namespace": None, "name": "models"}
    assert "/raid/models" in found[0]["message"] and "nodeAffinity" in found[0]["message"]


@pytest.mark.parametrize(
    "volume",
    [
        pv("models", affinity=on_host("gpu-ucsd-1"), local={"path": "/raid/models"}),
        pv("shared", nfs={"server": "nfs", "path": "/export"}),  # not node-local: no affinity needed
        pv("csi", csi={"driver": "linstor.csi.linbit.com", "volumeHandle": "x"}),
    ],
)
def test_local_pv_without_affinity_negative(volume):
    assert findings(inventory(NODES, [volume]), "local-pv-without-affinity") == []


# -- pv-affinity-matches-no-node ------------------------------------------------------------
def test_pv_affinity_matches_no_node_claimed_is_error():
    inv = inventory(NODES, [pv("models", claim="ml/models", affinity=on_host("host-10-97-65-155"), local={"path": "/raid/models"})])
    found = findings(inv, "pv-affinity-matches-no-node")
    assert [f["severity"] for f in found] == ["error"]
    assert "host-10-97-65-155" in found[0]["message"] and "ml/models" in found[0]["message"]


def test_pv_affinity_matches_no_node_unclaimed_is_warning():
    found = findings(inventory(NODES, [pv("spare", affinity=on_host("gone"), phase="Available")]), "pv-affinity-matches-no-node")
    assert [f["severity"] for f in found] == ["warning"]


@pytest.mark.parametrize(
    "affinity, why",
    [
        ({"required": {"nodeSelectorTerms": []}}, "matches nothing"),
        ({"required": {"nodeSelectorTerms": [{}]}}, "matches nothing"),
        ({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "Near", "values": ["ucsd"]}]}]}}, "Near"),
    ],
)
def test_pv_affinity_matches_no_node_for_empty_or_invalid_affinity(affinity, why):
    found = findings(inventory(NODES, [pv("x", affinity=affinity)]), "pv-affinity-matches-no-node")
    assert len(found) == 1 and why in found[0]["message"]


@pytest.mark.parametrize(
    "affinity",
    [
        on_host("gpu-sdsu-2"),
        {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "NotIn", "values": ["ucsd"]}]}]}},
        {},  # nodeAffinity without required: no constraint
        {"required": None},
    ],
)
def test_pv_affinity_matches_no_node_negative(affinity):
    assert findings(inventory(NODES, [pv("x", affinity=affinity)]), "pv-affinity-matches-no-node") == []


# -- pod-node-violates-pv-affinity ----------------------------------------------------------
def test_pod_node_violates_pv_affinity():
    inv = healthy()
    inv["pods"] = [pod("ml/infer", "gpu-ucsd-2", claims=["models"])]
    found = findings(inv, "pod-node-violates-pv-affinity")
    assert len(found) == 1
    f = found[0]
    assert f["severity"] == "error"
    assert f["object"] == {"kind": "Pod", "namespace": "ml", "name": "infer"}
    assert {"kind": "Node", "namespace": None, "name": "gpu-ucsd-2"} in f["related"]
    assert {"kind": "PersistentVolume", "namespace": None, "name": "models"} in f["related"]
    assert "gpu-ucsd-2" in f["message"] and "models" in f["message"]


def test_pod_node_violates_pv_affinity_through_ephemeral_volume():
    inv = inventory(NODES, [pv("eph", claim="ml/job-scratch", affinity=on_host("gpu-sdsu-1"))],
                    [pvc("ml/job-scratch", volume="eph")], [pod("ml/job", "gpu-sdsu-2", ephemeral=["scratch"])])
    assert len(findings(inv, "pod-node-violates-pv-affinity")) == 1


@pytest.mark.parametrize(
    "consumer",
    [
        pod("ml/infer", "gpu-ucsd-1", claims=["models"]),  # on the right node
        pod("ml/infer", None, claims=["models"]),  # not scheduled yet
        pod("ml/infer", "gpu-ucsd-2", claims=["models"], phase="Succeeded"),  # finished
        pod("ml/infer", "gpu-ucsd-2", claims=["other"]),  # another claim
        pod("other/infer", "gpu-ucsd-2", claims=["models"]),  # same claim name, other namespace
        pod("ml/infer", "unknown-node", claims=["models"]),  # node not in the inventory: cannot judge
    ],
)
def test_pod_node_violates_pv_affinity_negative(consumer):
    inv = healthy()
    inv["pods"] = [consumer]
    assert findings(inv, "pod-node-violates-pv-affinity") == []


def test_claim_bound_to_another_volume_is_not_this_volumes_user():
    inv = healthy()
    inv["pvs"].append(pv("stale", claim="ml/models", affinity=on_host("gpu-sdsu-1")))
    assert findings(inv, "pod-node-violates-pv-affinity") == []


def test_pv_of_an_earlier_claim_of_the_same_name_is_not_this_claims_volume():
    # The claim was deleted and created again (new uid) and waits for a volume; the old PV,
    # Released, still names it in claimRef with the old uid.
    inv = healthy()
    inv["pvs"] = [pv("old", claim="ml/models", affinity=on_host("gpu-sdsu-1"), phase="Released")]
    inv["pvs"][0]["spec"]["claimRef"]["uid"] = "uid-of-the-first-claim"
    inv["pvcs"] = [pvc("ml/models", phase="Pending")]
    inv["pvcs"][0]["metadata"]["uid"] = "uid-of-the-second-claim"
    assert findings(inv, "pod-node-violates-pv-affinity") == []
    # The same claim (same uid) is judged.
    inv["pvcs"][0]["metadata"]["uid"] = "uid-of-the-first-claim"
    assert len(findings(inv, "pod-node-violates-pv-affinity")) == 1
    # A claim bound to the PV by name is its claim, whatever the uids say.
    inv["pvcs"] = [pvc("ml/models", volume="old")]
    inv["pvcs"][0]["metadata"]["uid"] = "uid-of-the-second-claim"
    assert len(findings(inv, "pod-node-violates-pv-affinity")) == 1


def linstor_pv(name, claim, *hosts):
    obj = pv(name, claim=claim, affinity={"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "topology.linstor.csi.linbit.com/node", "operator": "In", "values": [h]}]} for h in hosts]}},
        csi={"driver": "linstor.csi.linbit.com", "volumeHandle": name})
    return obj


def linstor_nodes():
    return [node(n["metadata"]["name"], n["metadata"]["labels"].get(ZONE),
                 **{"topology.linstor.csi.linbit.com/node": n["metadata"]["name"]}) for n in NODES]


def test_pod_node_violates_linstor_pv_affinity_names_the_affinity_controller():
    inv = inventory(linstor_nodes(), [linstor_pv("pvc-1", "ml/cache", "gpu-ucsd-1")], [pvc("ml/cache", volume="pvc-1")],
                    [pod("ml/train", "gpu-ucsd-2", claims=["cache"])])
    found = findings(inv, "pod-node-violates-pv-affinity")
    assert len(found) == 1
    message = found[0]["message"]
    assert "LINSTOR Affinity Controller" in message and "piraeusdatastore/linstor-affinity-controller" in message
    assert "pvc-1" in message and "gpu-ucsd-2" in message
    # Not for other volumes.
    other = findings(healthy_with_pod_on("gpu-ucsd-2"), "pod-node-violates-pv-affinity")
    assert len(other) == 1 and "Affinity Controller" not in other[0]["message"]


def healthy_with_pod_on(node_name):
    inv = healthy()
    inv["pods"] = [pod("ml/infer", node_name, claims=["models"])]
    return inv


def test_linstor_pv_replaced_by_the_affinity_controller_is_judged_by_its_new_affinity():
    # The controller deletes the PV and creates it again under the same name and claimRef
    # (claim uid included) with an affinity naming where the replicas are now.
    old = linstor_pv("pvc-1", "ml/cache", "gpu-ucsd-1")
    old["metadata"].update(uid="uid-old", creationTimestamp="2025-01-01T00:00:00Z")
    new = linstor_pv("pvc-1", "ml/cache", "gpu-ucsd-2")
    new["metadata"].update(uid="uid-new", creationTimestamp="2025-03-01T00:00:00Z")
    for p in (old, new):
        p["spec"]["claimRef"]["uid"] = "uid-claim"
    claim = pvc("ml/cache", volume="pvc-1")
    claim["metadata"]["uid"] = "uid-claim"
    result = analyze(inventory(linstor_nodes(), [new], [claim], [pod("ml/train", "gpu-ucsd-2", claims=["cache"])]),
                     admitted_nodes=True)
    assert [f for f in result["findings"] if f["check"] == "pod-node-violates-pv-affinity"] == []
    assert result["pvs"] == {"pvc-1": {"uid": "uid-new", "created": "2025-03-01T00:00:00Z", "claim": "ml/cache",
                                       "nodes": ["gpu-ucsd-2"]}}


# -- pv-affinity-matchfields-ignored --------------------------------------------------------
def by_name(*names):
    return {"required": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]}
                                               for n in names]}}


@pytest.mark.parametrize(
    "source, severity",
    [({"local": {"path": "/raid/data"}}, "error"), ({"hostPath": {"path": "/raid/data"}}, "error"),
     ({"csi": {"driver": "linstor.csi.linbit.com", "volumeHandle": "x"}}, "warning"),
     ({"nfs": {"server": "s", "path": "/"}}, "warning")],
)
def test_pv_affinity_matchfields_ignored(source, severity):
    inv = inventory(NODES, [pv("pinned", claim="ml/data", affinity=by_name("gpu-ucsd-1"), **source)], [pvc("ml/data", volume="pinned")],
                    [pod("ml/job", "gpu-sdsu-1", claims=["data"])])
    result = analyze(inv, admitted_nodes=True)
    found = [f for f in result["findings"] if f["check"] == "pv-affinity-matchfields-ignored"]
    assert len(found) == 1
    f = found[0]
    assert f["severity"] == severity
    assert f["object"] == {"kind": "PersistentVolume", "namespace": None, "name": "pinned"}
    message = f["message"]
    assert "PersistentVolume pinned" in message and "volume binding ignores" in message
    assert "every node (4)" in message and "not only gpu-ucsd-1" in message
    assert "{key: kubernetes.io/hostname, operator: In, values: [gpu-ucsd-1]}" in message
    # Judged as volume binding judges it: the pod in sdsu is legitimately there, the PV admits every node.
    assert {f["check"] for f in result["findings"]} == {"pv-affinity-matchfields-ignored"}
    assert result["pvs"]["pinned"]["nodes"] == ["gpu-sdsu-1", "gpu-sdsu-2", "gpu-ucsd-1", "gpu-ucsd-2"]


def test_pv_affinity_matchfields_ignored_with_expressions_lists_what_it_admits():
    affinity = {"required": {"nodeSelectorTerms": [{
        "matchExpressions": [{"key": ZONE, "operator": "In", "values": ["ucsd"]}],
        "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["gpu-ucsd-1"]}]}]}}
    inv = inventory([node("gpu-ucsd-1", "ucsd"), node("gpu-ucsd-2", "ucsd"), node("gpu-sdsu-1", "sdsu")],
                    [pv("z", affinity=affinity, local={"path": "/d"})])
    result = analyze(inv, admitted_nodes=True)
    (f,) = [f for f in result["findings"] if f["check"] == "pv-affinity-matchfields-ignored"]
    assert "2 node(s): gpu-ucsd-1, gpu-ucsd-2, not only gpu-ucsd-2" in f["message"]
    assert "operator: NotIn, values: [gpu-ucsd-1]" in f["message"]
    assert result["pvs"]["z"]["nodes"] == ["gpu-ucsd-1", "gpu-ucsd-2"]


def test_pv_affinity_matchfields_ignored_suggests_the_named_nodes_hostname_label():
    nodes = [{"kind": "Node", "metadata": {"name": "gpu-b1.example.org", "labels": {HOST: "gpu-b1"}}}]
    (f,) = findings(inventory(nodes, [pv("p", affinity=by_name("gpu-b1.example.org"), local={"path": "/d"})]),
                    "pv-affinity-matchfields-ignored")
    assert "values: [gpu-b1]}" in f["message"]


def test_matchfields_naming_a_gone_node_do_not_make_the_pv_match_no_node():
    found = findings(inventory(NODES, [pv("p", claim="ml/x", affinity=by_name("gone"), csi={"driver": "d", "volumeHandle": "h"})]))
    assert [f["check"] for f in found] == ["pv-affinity-matchfields-ignored"]
    assert "not only the nodes its matchFields name" in found[0]["message"]


@pytest.mark.parametrize(
    "affinity",
    [
        on_host("gpu-ucsd-1"),
        # An invalid matchFields voids its term: nothing is ignored, the term matches nothing.
        {"required": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}]}},
        {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "Gt", "values": ["-1"]}],
                                             "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-ucsd-1"]}]}]}},
    ],
)
def test_pv_affinity_matchfields_ignored_negative(affinity):
    assert findings(inventory(NODES, [pv("x", affinity=affinity, local={"path": "/d"})]), "pv-affinity-matchfields-ignored") == []


def test_admitted_nodes_only_when_asked():
    assert "pvs" not in analyze(healthy())
    result = analyze(healthy(), admitted_nodes=True)
    assert result["pvs"] == {"models": {"uid": None, "created": None, "claim": "ml/models", "nodes": ["gpu-ucsd-1"]}}
    nfs = analyze(inventory(NODES, [pv("n", nfs={"server": "s", "path": "/"})]), admitted_nodes=True)
    assert nfs["pvs"]["n"]["nodes"] is None  # no affinity: every node


# -- cross-zone-pod-volume ------------------------------------------------------------------
def test_cross_zone_pod_volume_from_node_zone():
    # The volume's affinity keeps it in ucsd; the pod runs in sdsu.
    affinity = {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["ucsd"]}]}]}}
    inv = inventory(NODES, [pv("cache", claim="ml/cache", affinity=affinity)], [pvc("ml/cache", volume="cache")],
                    [pod("ml/train", "gpu-sdsu-1", claims=["cache"])])
    found = findings(inv, "cross-zone-pod-volume")
    assert [f["severity"] for f in found] == ["warning"]
    assert "sdsu" in found[0]["message"] and "ucsd" in found[0]["message"]


def test_cross_zone_pod_volume_from_pv_label_without_affinity():
    inv = inventory(NODES, [pv("nfs", claim="ml/data", labels={ZONE: "ucsd"}, nfs={"server": "s", "path": "/"})],
                    [pvc("ml/data", volume="nfs")], [pod("ml/train", "gpu-sdsu-1", claims=["data"])])
    assert len(findings(inv, "cross-zone-pod-volume")) == 1


def test_cross_zone_uses_the_zone_label_option():
    nodes = [node("a", site="east"), node("b", site="west")]
    inv = inventory(nodes, [pv("v", claim="ml/c", affinity=on_host("a"))], [pvc("ml/c", volume="v")], [pod("ml/p", "b", claims=["c"])])
    assert findings(inv, "cross-zone-pod-volume") == []  # default label: no zones known
    assert len(findings(inv, "cross-zone-pod-volume", zone_label="site")) == 1


@pytest.mark.parametrize(
    "volume",
    [
        pv("models", claim="ml/models", affinity=on_host("gpu-ucsd-1", "gpu-ucsd-2")),  # same zone
        pv("models", claim="ml/models", affinity=on_host("gpu-ucsd-1", "gpu-sdsu-1")),  # spans the pod's zone
        pv("models", claim="ml/models", nfs={"server": "s", "path": "/"}),  # no zone known
    ],
)
def test_cross_zone_pod_volume_negative(volume):
    inv = inventory(NODES, [volume], [pvc("ml/models", volume="models")], [pod("ml/infer", "gpu-ucsd-2", claims=["models"])])
    assert findings(inv, "cross-zone-pod-volume") == []


# -- zonal-storageclass-immediate-binding ---------------------------------------------------
@pytest.mark.parametrize(
    "klass, explicit",
    [
        (sc("local", mode="Immediate"), True),
        (sc("local", mode=None), False),  # the default is Immediate
        (sc("linstor", provisioner="linstor.csi.linbit.com", mode="Immediate", parameters={"allowRemoteVolumeAccess": "false"}), True),
        (sc("any", provisioner="example.com/csi", mode="Immediate", allowedTopologies=[{"matchLabelExpressions": []}]), True),
    ],
)
def test_zonal_storageclass_immediate_binding(klass, explicit):
    found = findings(inventory(storageclasses=[klass]), "zonal-storageclass-immediate-binding")
    assert [f["severity"] for f in found] == ["warning"]
    assert ("default is Immediate" in found[0]["message"]) != explicit
    assert "WaitForFirstConsumer" in found[0]["message"]


@pytest.mark.parametrize(
    "klass",
    [
        sc("local", mode="WaitForFirstConsumer"),
        sc("nfs", provisioner="nfs.csi.k8s.io", mode="Immediate"),
        sc("nfs", provisioner="nfs.csi.k8s.io", mode=None),
    ],
)
def test_zonal_storageclass_immediate_binding_negative(klass):
    assert findings(inventory(storageclasses=[klass]), "zonal-storageclass-immediate-binding") == []


def test_zonal_provisioners_option():
    klass = sc("nfs", provisioner="nfs.csi.k8s.io", mode="Immediate")
    assert len(findings(inventory(storageclasses=[klass]), "zonal-storageclass-immediate-binding", zonal_provisioners=["nfs.csi.k8s.io"])) == 1


# -- pvc-pending ----------------------------------------------------------------------------
def test_pvc_pending_waiting_for_first_consumer_is_info():
    found = findings(inventory(NODES, pvcs=[pvc("ml/cache", phase="Pending", storage_class="local")], storageclasses=[LOCAL]), "pvc-pending")
    assert [f["severity"] for f in found] == ["info"]
    assert "WaitForFirstConsumer" in found[0]["message"]


def test_pvc_pending_wffc_with_a_consumer_is_error():
    inv = inventory(NODES, pvcs=[pvc("ml/cache", phase="Pending")], pods=[pod("ml/train", None, claims=["cache"])], storageclasses=[LOCAL])
    found = findings(inv, "pvc-pending")
    assert [f["severity"] for f in found] == ["error"]
    assert "ml/train" in found[0]["message"]
    assert {"kind": "Pod", "namespace": "ml", "name": "train"} in found[0]["related"]


@pytest.mark.parametrize(
    "claim, classes, why",
    [
        (pvc("ml/c", phase="Pending", storage_class="nfs"), [sc("nfs", provisioner="nfs.csi.k8s.io", mode="Immediate")], "binds immediately"),
        (pvc("ml/c", phase="Pending", storage_class="missing"), [], "does not exist"),
        (pvc("ml/c", phase="Pending", storage_class=""), [], "no StorageClass"),
        # No storageClassName: the default class applies.
        (pvc("ml/c", phase="Pending", storage_class=None), [sc("nfs", provisioner="nfs.csi.k8s.io", mode="Immediate", default=True)], "binds immediately"),
    ],
)
def test_pvc_pending_is_error_otherwise(claim, classes, why):
    found = findings(inventory(pvcs=[claim], storageclasses=classes), "pvc-pending")
    assert [f["severity"] for f in found] == ["error"]
    assert why in found[0]["message"]


def test_pvc_pending_default_class_wffc_is_info():
    claim = pvc("ml/c", phase="Pending", storage_class=None)
    found = findings(inventory(pvcs=[claim], storageclasses=[sc("local", default=True)]), "pvc-pending")
    assert [f["severity"] for f in found] == ["info"]


@pytest.mark.parametrize("phase", ["Bound", "Lost"])
def test_pvc_pending_negative(phase):
    assert findings(inventory(pvcs=[pvc("ml/c", phase=phase)], storageclasses=[LOCAL]), "pvc-pending") == []


# -- remote-volume-access-enabled -----------------------------------------------------------
LINSTOR = "linstor.csi.linbit.com"


@pytest.mark.parametrize(
    "parameters, severity",
    [
        ({}, "warning"),  # default: true
        (None, "warning"),
        ({"allowRemoteVolumeAccess": "true"}, "warning"),
        ({"linstor.csi.linbit.com/allowRemoteVolumeAccess": "true"}, "warning"),
        ({"linstor.csi.linbit.com/allowremotevolumeaccess": "True"}, "warning"),
        ({"linstor.csi.linbit.com/layerList": "drbd storage"}, "warning"),
        ({"linstor.csi.linbit.com/allowRemoteVolumeAccess": "- fromSame:\n  - topology.kubernetes.io/zone\n"}, "info"),
    ],
)
def test_remote_volume_access_enabled(parameters, severity):
    found = findings(inventory(storageclasses=[sc("fast", provisioner=LINSTOR, parameters=parameters)]), "remote-volume-access-enabled")
    assert [f["severity"] for f in found] == [severity]
    assert 'allowRemoteVolumeAccess: "false"' in found[0]["message"]


@pytest.mark.parametrize(
    "klass",
    [
        sc("fast", provisioner=LINSTOR, parameters={"allowRemoteVolumeAccess": "false"}),
        sc("fast", provisioner=LINSTOR, parameters={"linstor.csi.linbit.com/allowRemoteVolumeAccess": "false"}),
        sc("fast", provisioner=LINSTOR, parameters={"linstor.csi.linbit.com/allowRemoteVolumeAccess": "0"}),
        # Without DRBD (or NVMe) in the layer list, LINSTOR's default is local-only.
        sc("fast", provisioner=LINSTOR, parameters={"linstor.csi.linbit.com/layerList": "storage"}),
        # Another provisioner's parameter of the same name is not LINSTOR's.
        sc("other", provisioner="example.com/csi", parameters={"allowRemoteVolumeAccess": "true"}),
    ],
)
def test_remote_volume_access_enabled_negative(klass):
    assert findings(inventory(storageclasses=[klass]), "remote-volume-access-enabled") == []


def test_linstor_remote_access_prefixed_key_wins():
    params = {"allowRemoteVolumeAccess": "true", "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false"}
    assert linstor_remote_access(params) == ("disabled", "false")
    assert linstor_remote_access({"example.org/allowRemoteVolumeAccess": "false"}) == ("enabled", None)


# -- options, summary, failing --------------------------------------------------------------
def test_skip_checks():
    inv = inventory(storageclasses=[sc("fast", provisioner=LINSTOR, mode=None)])
    assert {f["check"] for f in findings(inv)} == {"remote-volume-access-enabled", "zonal-storageclass-immediate-binding"}
    assert {f["check"] for f in findings(inv, skip_checks=["remote-volume-access-enabled"])} == {"zonal-storageclass-immediate-binding"}


def test_findings_are_sorted_by_severity_then_check():
    inv = healthy()
    inv["pods"] = [pod("ml/infer", "gpu-sdsu-1", claims=["models"])]
    inv["storageclasses"].append(sc("fast", provisioner=LINSTOR, mode=None))
    inv["pvcs"].append(pvc("ml/later", phase="Pending"))
    result = analyze(inv)
    severities = [f["severity"] for f in result["findings"]]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert result["summary"]["by_severity"] == {"error": 1, "warning": 3, "info": 1}
    assert result["summary"]["total"] == 5
    assert result["summary"]["objects"]["pods"] == 1


def test_zone_map_lists_unzoned_objects():
    inv = inventory([node("plain")], [pv("nfs", nfs={"server": "s", "path": "/"})], pods=[pod("a/p", "plain", claims=["c"])])
    zones = analyze(inv)["zones"]
    assert zones == {NO_ZONE: {"nodes": ["plain"], "pvs": ["nfs"], "pods": ["a/p"]}}


@pytest.mark.parametrize(
    "counts, fail_on, expected",
    [
        ({"error": 1, "warning": 0, "info": 0}, "error", True),
        ({"error": 0, "warning": 3, "info": 1}, "error", False),
        ({"error": 0, "warning": 1, "info": 0}, "warning", True),
        ({"error": 0, "warning": 0, "info": 5}, "warning", False),
        ({"error": 9, "warning": 9, "info": 9}, "never", False),
    ],
)
def test_should_fail(counts, fail_on, expected):
    summary = {"by_severity": counts, "by_check": {"pvc-pending": 1}}
    assert should_fail(summary, fail_on) is expected
    assert "fail_on=%s" % fail_on in failure_message(summary, fail_on)
