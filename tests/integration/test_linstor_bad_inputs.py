"""The linstor role refuses bad input before it changes anything, naming variable, value and fix."""

from __future__ import annotations

import copy

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from cluster_helpers import assert_nothing_changed, cluster_objects, settled_objects, wait_for
from test_linstor import CRDS, play

pytestmark = pytest.mark.cluster

SC = "t-bad-input-class"
GOOD = {
    "linstor_chart_ref": "/nonexistent/chart/never/reached",
    "linstor_storage_nodes": ["gpu-ucsd-1"],
    "linstor_release_name": "t-bad-input-piraeus",
    "linstor_namespace": "t-bad-input",
    "linstor_storage_pools": [{"name": "fast-cache", "lvmThinPool": {"volumeGroup": "vg", "thinPool": "thin"}}],
    "linstor_storage_classes": [{"name": SC, "storage_pool": "fast-cache"}],
    "linstor_pvcs": [{"name": "t-bad-claim", "namespace": "t-bad-input", "storage_class": SC, "size": "1Gi"}],
    "linstor_create_claim_namespaces": True,
}
# The namespace the role would write in (release and claims); with it, every cluster-scoped object.
TOUCHED = ("t-bad-input",)


def _set(variables, path, value):
    """Set variables[a][0][b] = value for path 'a.0.b'."""
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = variables
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value


CASES = [
    ("linstor_storage_pools.0.name", "a",
     "linstor_storage_pools[0].name='a' is not a LINSTOR storage pool name: 3 to 48 letters"),
    ("linstor_storage_pools.0.filePool", {"directory": "/p"},
     "has pool types lvmThinPool and filePool; give exactly one"),
    ("linstor_storage_pools.0.source", {"hostDevices": ["sdb"]},
     "linstor_storage_pools[0].source.hostDevices[0]='sdb' is not an absolute device path under /dev; write it as '/dev/sdb'"),
    ("linstor_storage_pools.0.source", {"hostDevices": ["/dev/loop7"]},
     "'/dev/loop7' is a loop device: the operator's pvcreate fails on loop devices"),
    ("linstor_storage_classes.0.placement_count", "0",
     "linstor_storage_classes[0].placement_count='0' must be a whole number of replicas of at least 1"),
    ("linstor_storage_classes.0.placement_count", "abc",
     "linstor_storage_classes[0].placement_count='abc' must be a whole number"),
    ("linstor_storage_classes.0.allow_remote_volume_access", "maybe",
     "allow_remote_volume_access='maybe' is not a remote-access policy: use \"false\""),
    ("linstor_storage_classes.0.parameters", {"linstor.csi.linbit.com/replicaCount": "2"},
     "'linstor.csi.linbit.com/replicaCount', which linstor-csi does not know"),
    ("linstor_storage_classes.0.volume_binding_mode", "WaitForFirstConsumers",
     "volume_binding_mode='WaitForFirstConsumers' is not a binding mode"),
    ("linstor_pvcs.0.volume_mode", "Block", None),  # with the fstype below
    ("linstor_pvcs.0.size", "5GB", "linstor_pvcs[0].size='5GB' is not a Kubernetes quantity (Kubernetes has no 'B' suffix: "
                                   "write '5Gi')"),
    # Hostile values, one per class: a control character, signed / overflowing numbers and quantities,
    # a string for a boolean, selector syntax inside a label value, traversal.
    ("linstor_pvcs.0.name", "t-bad-claim\n", "is not a valid claim name (it contains the control character(s)"),
    ("linstor_pvcs.0.size", "-1Gi", "linstor_pvcs[0].size='-1Gi' is not a Kubernetes quantity (a size or count takes no sign)"),
    ("linstor_storage_classes.0.placement_count", "2147483648",
     "linstor_storage_classes[0].placement_count='2147483648' must be a whole number of replicas"),
    ("linstor_storage_classes.0.placement_count", "+1", "linstor_storage_classes[0].placement_count='+1' must be a whole number"),
    ("linstor_storage_classes.0.allow_volume_expansion", "maybe",
     "linstor_storage_classes[0].allow_volume_expansion='maybe' is not a boolean"),
    ("linstor_job_zones", ["ucsd,sdsu"], "linstor_job_zones[0]='ucsd,sdsu' is not a label value (selector syntax"),
    ("linstor_storage_pools.0.source", {"hostDevices": ["/dev/../etc/shadow"]},
     "linstor_storage_pools[0].source.hostDevices[0]='/dev/../etc/shadow' climbs with '..'"),
    ("linstor_job_zones", ["chico"], "linstor_job_zones: zone 'chico' is carried by no node"),
    ("linstor_storage_nodes", ["gpu-ucsd-9"], "linstor_storage_nodes names gpu-ucsd-9, which the cluster has no Node for"),
    # A reserved namespace: the release would sit among the cluster's own components.
    ("linstor_namespace", "kube-system",
     "linstor_namespace='kube-system' is a namespace Kubernetes keeps for its own components"),
    # What the operator's webhooks refuse, refused first: a JSON patch without target, a property with
    # no source, the satellites' placement overridden through the generic LinstorCluster spec.
    ("linstor_satellite_patches", [{"patch": "- op: add\n  path: /spec/hostNetwork\n  value: true\n"}],
     "linstor_satellite_patches[0] has no target; a JSON patch needs one"),
    ("linstor_satellite_properties", [{"name": "Aux/rack"}],
     "linstor_satellite_properties[0] ('Aux/rack') has none of them; give exactly one of value, valueFrom, expandFrom"),
    ("linstor_cluster_spec", {"nodeAffinity": {"nodeSelectorTerms": []}},
     "linstor_cluster_spec sets nodeAffinity.nodeSelectorTerms, which the role sets from linstor_storage_nodes"),
    # A claim's namespace that does not exist (a typo) is an error, never a new namespace.
    ("linstor_create_claim_namespaces", False,
     "linstor: linstor_pvcs names the namespace(s) t-bad-input, which the cluster does not have"),
    # The benchmark without an image: the seed's Docker Hub name is no default any more.
    ("linstor_fio_benchmark", True,
     "linstor_fio_benchmark_image is not set; push the image to a registry your nodes pull from and name it with its "
     "registry host and a version tag or digest, e.g. 'registry.example.com/tools/alpine-fio:3.36' (the Job runs it "
     "as root on the claim's node); or set linstor_fio_benchmark: false"),
    # kubernetes.core's helm modules split their command line again: an option in the version would
    # run a post-renderer of the caller's choosing on the controller (the preflight's render).
    ("linstor_chart_version", "2.6.0 --post-renderer /bin/sh",
     "linstor_chart_version='2.6.0 --post-renderer /bin/sh' is not one word for helm's command line"),
    ("linstor_storage_pools.0.lvmThinPool", None, None),  # replaced by a relative file pool below
]


@pytest.mark.parametrize("path, value, expected", [c for c in CASES if c[2]], ids=[c[0] + "=" + repr(c[1]) for c in CASES if c[2]])
def test_bad_input_is_refused_before_anything_changes(cluster, path, value, expected):
    variables = copy.deepcopy(GOOD)
    _set(variables, path, value)
    before = settled_objects(cluster, TOUCHED)
    run = play(cluster, variables)
    assert run.rc != 0
    assert expected in run.out, run.out[-3000:]
    assert run.changed == 0
    _nothing_applied(cluster, before)


def test_block_claim_with_a_filesystem_type_and_a_relative_file_pool(cluster):
    variables = copy.deepcopy(GOOD)
    variables["linstor_pvcs"][0].update(volume_mode="Block", fstype="xfs")
    variables["linstor_storage_pools"][0] = {"name": "fast-cache", "fileThinPool": {"directory": "pools/fast"}}
    before = settled_objects(cluster, TOUCHED)
    run = play(cluster, variables)
    assert run.rc != 0
    assert "linstor_pvcs[0]: a Block claim has no filesystem, but fstype='xfs' is set" in run.out
    assert "linstor_storage_pools[0].fileThinPool.directory='pools/fast' is relative" in run.out
    _nothing_applied(cluster, before)


def test_own_chart_values_without_installcrds_are_refused_while_the_crds_are_missing(cluster):
    """A linstor_chart_values of the user's own replaces the default dict, installCRDs included: with
    no Piraeus CRD in the cluster the role refuses at once instead of waiting for CRDs that never come.
    (The CRDs are cluster-wide and belong to these tests here; a lab's come back with scripts/lab.)"""
    apiext = client.ApiextensionsV1Api(cluster.api)
    for crd in CRDS:
        try:
            apiext.delete_custom_resource_definition(crd)
        except ApiException as exc:
            assert exc.status == 404, exc
    wait_for(lambda: not [c for c in apiext.list_custom_resource_definition().items if c.metadata.name in CRDS],
             timeout=60, what="the Piraeus CRDs gone")
    before = settled_objects(cluster, TOUCHED)
    run = play(cluster, dict(GOOD, linstor_chart_values={"replicaCount": 2}))
    assert run.rc != 0
    assert ("linstor: linstor_chart_values has no installCRDs: true (unset) and the cluster lacks the CRDs "
            + ", ".join(CRDS)) in run.out, run.out[-3000:]
    assert "Add installCRDs: true to linstor_chart_values" in run.out
    assert run.changed == 0
    _nothing_applied(cluster, before)


def _nothing_applied(cluster, before):
    """Nothing created, changed or deleted in the role's namespace or among the cluster-scoped
    objects (resourceVersions compared), and by name: no StorageClass, no namespace."""
    assert_nothing_changed(before, cluster_objects(cluster, TOUCHED))
    with pytest.raises(ApiException) as err:
        cluster.storage.read_storage_class(SC)
    assert err.value.status == 404
    assert "t-bad-input" not in [n.metadata.name for n in cluster.core.list_namespace().items]
