#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pv_affinity_info
short_description: Check PersistentVolume node affinity and zone co-location of PVs, PVCs and pods
version_added: 0.1.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - Reads Nodes, PersistentVolumes, PersistentVolumeClaims, Pods and StorageClasses, from a live
    cluster (paged lists, through the kubernetes.core connection options) or from snapshot files,
    and reports placement problems as findings with a stable check id, a severity and a message
    saying what is wrong and how to fix it.
  - "A PV's node affinity is evaluated as the scheduler's volume binding evaluates it
    (C(CheckNodeAffinity) in C(k8s.io/component-helpers/storage/volume)): terms are ORed, the requirements
    of a term ANDed; operators V(In), V(NotIn), V(Exists), V(DoesNotExist), V(Gt), V(Lt); the node is seen
    through its labels only, so C(matchFields) are ignored; an empty term list or a term without
    requirements matches no node; a term with an invalid requirement (unknown operator, wrong number of
    values, a V(Gt)/V(Lt) value that is not an unsigned 64-bit integer) matches no node. A differential
    test compares this with Kubernetes' own code on thousands of generated PVs."
  - "Check ids: V(local-pv-without-affinity) (a C(local) or C(hostPath) PV without required node affinity, error);
    V(pv-affinity-matches-no-node) (no node satisfies a PV's affinity; error when the PV is claimed, warning otherwise);
    V(pv-affinity-matchfields-ignored) (a PV's affinity uses C(matchFields), which volume binding ignores, so the PV
    admits more nodes than it names; error for C(local) and C(hostPath) PVs, warning otherwise);
    V(pod-node-violates-pv-affinity) (a running or pending pod using the PV's claim is on a node the affinity excludes,
    error; for a LINSTOR PV the message names the LINSTOR Affinity Controller as the fix);
    V(cross-zone-pod-volume) (the pod's node is in another zone than the volume, warning);
    V(zonal-storageclass-immediate-binding) (a StorageClass of node- or zone-local storage binds immediately, warning);
    V(pvc-pending) (a Pending claim: info when its StorageClass waits for a first consumer and none exists, error otherwise);
    V(remote-volume-access-enabled) (a LINSTOR StorageClass whose C(allowRemoteVolumeAccess) is not V(false), warning;
    info when it is a restricting policy such as C(fromSame))."
  - "A volume's zone is the set of zones of the nodes its affinity admits; without affinity, its O(zone_label) label."
  - The work grows with the number of objects, not with PVs times nodes, so it runs on fleets of thousands of nodes.
  - "Snapshots that hold the same object twice count it once: the newest incarnation (a PV deleted and created
    again under the same name, as LINSTOR's affinity controller replaces one, has a new uid and creation time),
    else the one read last. A PV whose C(claimRef) uid differs from its claim's uid belongs to an earlier claim
    of that name and is not checked against the claim's pods."
  - Never changes anything. Fails only as O(fail_on) says.
options:
  snapshot:
    description:
      - Read these files instead of a cluster. Each is JSON or YAML holding a v1 List (or the API's
        C(NodeList), C(PodList), ... or one object), as written by
        C(kubectl get nodes,pv,pvc,pods,storageclasses -A -o json). Several files are merged.
      - A malformed file (not JSON/YAML, truncated, another kind, missing fields) fails the task with one
        message naming the file and the place.
      - When set, the connection options are ignored.
      - The files are read on the host the task runs on.
    type: list
    elements: path
  zone_label:
    description:
      - The node label holding a node's zone, and the PV label used for PVs without node affinity.
    type: str
    default: topology.kubernetes.io/zone
  fail_on:
    description:
      - V(never) returns the findings and leaves the judgement to the play (like every C(_info) module).
      - V(error) fails the task when there is at least one error finding, V(warning) when there is at least
        one error or warning. The findings are returned either way.
    type: str
    choices: [error, warning, never]
    default: never
  page_size:
    description:
      - Objects per API request when reading a live cluster (the C(limit) of each paged list).
    type: int
    default: 500
  zonal_provisioners:
    description:
      - Provisioners whose volumes are local to a node or zone, for V(zonal-storageclass-immediate-binding).
        A StorageClass with C(allowedTopologies) counts as zonal whatever its provisioner.
    type: list
    elements: str
    default:
      - kubernetes.io/no-provisioner
      - linstor.csi.linbit.com
      - rancher.io/local-path
      - topolvm.io
      - topolvm.cybozu.com
      - local.csi.openebs.io
      - openebs.io/local
      - lvm.csi.metal-stack.io
      - hostpath.csi.k8s.io
      - ebs.csi.aws.com
      - kubernetes.io/aws-ebs
      - pd.csi.storage.gke.io
      - kubernetes.io/gce-pd
      - disk.csi.azure.com
      - kubernetes.io/azure-disk
      - cinder.csi.openstack.org
  admitted_nodes:
    description:
      - "Also return C(pvs): per PV its uid, creation time, claim and the nodes its affinity admits."
      - Off by default because on a large fleet a PV admitting a zone lists hundreds of names.
    type: bool
    default: false
  skip_checks:
    description:
      - Check ids not to report.
    type: list
    elements: str
    choices:
      - local-pv-without-affinity
      - pv-affinity-matches-no-node
      - pv-affinity-matchfields-ignored
      - pod-node-violates-pv-affinity
      - cross-zone-pod-volume
      - zonal-storageclass-immediate-binding
      - pvc-pending
      - remote-volume-access-enabled
    default: []
attributes:
  check_mode:
    support: full
    details:
      - Only reads; check mode runs the same checks.
  diff_mode:
    support: none
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpufleet.cluster.read_only
requirements:
  - kubernetes >= 24.2.0 (Python client; only to read a live cluster)
  - PyYAML (only for YAML snapshots)
notes:
  - Belongs to the C(gpufleet.cluster.k8s) action group, which extends C(kubernetes.core.k8s), so
    C(module_defaults) for C(group/kubernetes.core.k8s) or C(group/gpufleet.cluster.k8s) set its connection once.
  - Reading a live cluster needs RBAC C(list) on nodes, persistentvolumes, persistentvolumeclaims, pods
    (all namespaces) and storageclasses.
  - Pods that have finished (Succeeded, Failed) are not treated as users of a claim.
seealso:
  - module: kubernetes.core.k8s_info
  - module: gpufleet.cluster.storage_throughput
"""

EXAMPLES = r"""
- name: Check the cluster in K8S_AUTH_KUBECONFIG and fail on errors
  gpufleet.cluster.pv_affinity_info:
    fail_on: error

- name: Check a support bundle offline
  gpufleet.cluster.pv_affinity_info:
    snapshot:
      - bundle/cluster.json
  register: placement

- name: Show what to fix
  ansible.builtin.debug:
    msg: "{{ placement.findings | selectattr('severity', 'equalto', 'error') | map(attribute='message') | list }}"

- name: Use a context of a given kubeconfig; zones come from a custom label
  gpufleet.cluster.pv_affinity_info:
    kubeconfig: ~/.kube/gpu-fleet
    context: prod
    zone_label: example.org/site
    skip_checks:
      - pvc-pending
"""

RETURN = r"""
findings:
  description: What is wrong, most severe first (then by check id and object).
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: The stable check id.
      type: str
      sample: pod-node-violates-pv-affinity
    severity:
      description: V(error), V(warning) or V(info).
      type: str
      sample: error
    object:
      description: The object the finding is about (C(namespace) is null for cluster-scoped kinds).
      type: dict
      sample: {"kind": "Pod", "namespace": "ml", "name": "trainer-0"}
    message:
      description: What is wrong and how to fix it.
      type: str
    related:
      description: Other objects involved (the PV, its claim, the node), as kind/namespace/name dicts.
      type: list
      elements: dict
summary:
  description: Counts of findings and of the objects read.
  returned: always
  type: dict
  contains:
    total:
      description: Number of findings.
      type: int
    by_severity:
      description: Findings per severity (every severity present, zeros included).
      type: dict
      sample: {"error": 1, "warning": 2, "info": 0}
    by_check:
      description: Findings per check id (every check id present, zeros included).
      type: dict
    objects:
      description: Objects read, per kind.
      type: dict
      sample: {"nodes": 4, "pvs": 3, "pvcs": 3, "pods": 2, "storageclasses": 2}
zones:
  description:
    - Per zone, the names of its nodes, of the PVs whose affinity admits nodes there, and of the pods
      (C(namespace/name)) that mount a claim and run there. Objects without a zone are under C((no zone)).
  returned: always
  type: dict
  sample: {"ucsd": {"nodes": ["gpu-ucsd-1"], "pvs": ["model-storage-pv"], "pods": ["ml/trainer-0"]}}
pvs:
  description:
    - Per PV name, what the checks used; only with O(admitted_nodes=true).
  returned: when O(admitted_nodes=true)
  type: dict
  sample: {"model-storage-pv": {"uid": "5b0c...", "created": "2025-06-01T10:00:00Z", "claim": "ml/model-storage",
           "nodes": ["gpu-ucsd-1"]}}
  contains:
    uid:
      description: The PV's uid (a PV replaced under the same name has a new one).
      type: str
    created:
      description: The PV's creation time.
      type: str
    claim:
      description: The claim in its C(claimRef) as C(namespace/name), or null.
      type: str
    nodes:
      description:
        - Sorted names of the nodes the PV may be used on, as volume binding decides (node labels only,
          C(matchFields) ignored); null when the PV has no required node affinity (every node).
      type: list
      elements: str
source:
  description: Where the objects came from.
  returned: always
  type: dict
  sample: {"type": "snapshot", "files": ["bundle/cluster.json"]}
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.gpufleet.cluster.plugins.module_utils.checks import label_key_problem
from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import (
    ReadError,
    api_request,
    read_inventory,
)
from ansible_collections.gpufleet.cluster.plugins.module_utils.pv_affinity import (
    CHECKS,
    DEFAULT_ZONAL_PROVISIONERS,
    DEFAULT_ZONE_LABEL,
    FAIL_ON,
    analyze,
    failure_message,
    should_fail,
)
from ansible_collections.gpufleet.cluster.plugins.module_utils.snapshot import (
    SnapshotError,
    load_snapshot_files,
)


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        snapshot=dict(type="list", elements="path"),
        zone_label=dict(type="str", default=DEFAULT_ZONE_LABEL),
        fail_on=dict(type="str", choices=list(FAIL_ON), default="never"),
        page_size=dict(type="int", default=500),
        zonal_provisioners=dict(type="list", elements="str", default=list(DEFAULT_ZONAL_PROVISIONERS)),
        skip_checks=dict(type="list", elements="str", choices=list(CHECKS), default=[]),
        admitted_nodes=dict(type="bool", default=False),
    )
    return spec


def main():
    # The kubernetes client is only needed for a live cluster; a snapshot check runs without it.
    module = AnsibleK8SModule(
        module_class=AnsibleModule,
        argument_spec=argspec(),
        supports_check_mode=True,
        check_k8s=False,
        check_pyyaml=False,
    )
    params = module.params
    if params["page_size"] < 1:
        module.fail_json(msg="page_size=%d must be at least 1" % params["page_size"])
    problem = label_key_problem("zone_label", params["zone_label"], "topology.kubernetes.io/zone")
    if problem:
        module.fail_json(msg=problem)

    if params["snapshot"]:
        try:
            inventory = load_snapshot_files(params["snapshot"])
        except SnapshotError as exc:
            module.fail_json(msg=str(exc))
        source = {"type": "snapshot", "files": params["snapshot"]}
    else:
        module.requires("kubernetes")
        try:
            client = get_api_client(module=module)
        except CoreException as exc:
            module.fail_json(msg=str(exc))
        except Exception as exc:  # pylint: disable=broad-except  # the client raises urllib3/kubernetes/OS errors alike
            module.fail_json(msg="cannot reach the Kubernetes API (%s): %s" % (params.get("host") or "from kubeconfig", exc))
        try:
            inventory = read_inventory(api_request(client), params["page_size"])
        except ReadError as exc:
            module.fail_json(msg=str(exc))
        source = {"type": "cluster", "host": getattr(client.configuration, "host", None)}

    result = analyze(
        inventory,
        zone_label=params["zone_label"],
        zonal_provisioners=params["zonal_provisioners"],
        skip_checks=params["skip_checks"],
        admitted_nodes=params["admitted_nodes"],
    )
    result["source"] = source
    if should_fail(result["summary"], params["fail_on"]):
        module.fail_json(msg=failure_message(result["summary"], params["fail_on"]), changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
