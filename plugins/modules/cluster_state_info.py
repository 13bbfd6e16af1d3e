#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_state_info
short_description: The cluster layer's state for the validation report, read in one pass
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "Reads, in one process, what the validation report says of the cluster layer, and returns only
    its summary: every Helm release (decoded from Helm's release Secrets and ConfigMaps, labelled
    C(owner=helm); identity and state only, never values or manifest), the LINSTOR, TensorFusion
    and OME objects with their conditions (a layer whose CustomResourceDefinitions are not installed
    is absent), and every PersistentVolumeClaim with its PersistentVolume and the nodes holding it."
  - No Secret, no pod spec and no release's values ever appear in the result, so the task needs no
    C(no_log) and nothing of another team's objects reaches a job's events.
  - A read the API refuses does not fail the task; RV(cluster.read) is then V(false) and
    RV(cluster.error) says what could not be read and which RBAC rule is missing, so that the report
    is still written.
attributes:
  check_mode:
    support: full
    details:
      - Only reads; check mode reads the same.
  diff_mode:
    support: none
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpufleet.cluster.read_only
options:
  helm_namespaces:
    description:
      - The namespaces whose Helm release records are read (the releases the report covers).
      - Empty reads them in every namespace, which needs C(list) on Secrets cluster-wide; naming the
        namespaces needs it only there.
    type: list
    elements: str
    default: []
  page_size:
    description: Objects per page of each list request (the API's C(limit)).
    type: int
    default: 500
requirements:
  - kubernetes >= 24.2.0 (Python client)
notes:
  - Belongs to the C(gpufleet.cluster.k8s) action group, which extends C(kubernetes.core.k8s), so
    C(module_defaults) for C(group/kubernetes.core.k8s) or C(group/gpufleet.cluster.k8s) set its connection once.
  - "RBAC: C(list) on secrets and configmaps (in O(helm_namespaces), or cluster-wide), on
    persistentvolumeclaims, persistentvolumes and pods (cluster-wide), C(get) on
    customresourcedefinitions.apiextensions.k8s.io and C(list) on the layers' kinds."
seealso:
  - module: kubernetes.core.k8s_info
  - module: gpufleet.cluster.pv_affinity_info
"""

EXAMPLES = r"""
- name: Read the cluster's state for a report
  gpufleet.cluster.cluster_state_info:
    kubeconfig: ~/.kube/config
    helm_namespaces: [piraeus-datastore, tensor-fusion-sys]
  register: cluster_state

- name: Say which layers are installed
  ansible.builtin.debug:
    msg: "{{ cluster_state.cluster.layers | selectattr('present') | map(attribute='name') | list }}"
"""

RETURN = r"""
cluster:
  description: The cluster layer's state.
  returned: always
  type: dict
  contains:
    read:
      description: Whether the cluster could be read.
      type: bool
      sample: true
    error:
      description: Why it could not be read (and the RBAC rule missing, on HTTP 403); V(null) when it was.
      type: str
      sample: "listing secrets labelled owner=helm failed (HTTP 403): Forbidden."
    releases:
      description: The newest revision of each Helm release, with C(name), C(namespace), C(revision),
        C(revisions), C(status), C(chart), C(chart_version), C(app_version), C(updated),
        C(description), C(storage) and C(error) (why the record could not be decoded).
      type: list
      elements: dict
    layers:
      description: Per layer (C(linstor), C(tensor_fusion), C(ome)) C(name), C(title), C(present), the
        C(kinds) served with their object counts, the C(objects) with their conditions and nodes, and
        the C(errors) of kinds that could not be read.
      type: list
      elements: dict
    claims:
      description: Every PersistentVolumeClaim with C(namespace), C(name), C(phase), C(storage_class),
        C(capacity), C(volume_mode), C(volume), C(volume_found), C(pv_nodes), C(pods) (names) and
        C(nodes).
      type: list
      elements: dict
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.gpufleet.cluster.plugins.module_utils.cluster_state import cluster_state, read_raw
from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import api_request


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        helm_namespaces=dict(type="list", elements="str", default=[]),
        page_size=dict(type="int", default=500),
    )
    return spec


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argspec(), supports_check_mode=True, check_pyyaml=False)
    params = module.params
    if params["page_size"] < 1:
        module.fail_json(msg="page_size=%d must be at least 1" % params["page_size"])
    try:
        client = get_api_client(module=module)
    except CoreException as exc:
        module.exit_json(changed=False, cluster=cluster_state({"error": str(exc)}))
    except Exception as exc:  # pylint: disable=broad-except  # the client raises urllib3/kubernetes/OS errors alike
        module.exit_json(changed=False, cluster=cluster_state(
            {"error": "cannot reach the Kubernetes API (%s): %s" % (params.get("host") or "from kubeconfig", exc)}))
    raw = read_raw(api_request(client), params["page_size"], params["helm_namespaces"])
    module.exit_json(changed=False, cluster=cluster_state(raw))


if __name__ == "__main__":
    main()
