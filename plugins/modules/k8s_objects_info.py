#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_objects_info
short_description: Several kubernetes.core.k8s_info reads in one task
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - Runs each query of O(queries) exactly as M(kubernetes.core.k8s_info) runs one (the same
    kubernetes.core client, discovery and C(find)), in one process and over one API client, and
    returns the resources found under each query's O(queries[].key).
  - What a role reads before planning (nodes, namespaces, CRDs, the objects the plan compares
    against) costs one task instead of one task per kind and per loop item; on a re-run, where
    reading is most of the work, that is most of a role's time.
  - A kind whose API is not served (a CRD not installed) is not an error; its key has no
    resources and RV(api_found) is V(false) for it. Any other failure (a refused read, an
    unreachable API) fails the task, naming the query.
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
  queries:
    description:
      - The reads, in order. Queries with the same O(queries[].key) add up (their resources are
        concatenated in query order), the way a loop of M(kubernetes.core.k8s_info) tasks would.
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description: The key of RV(resources) and RV(api_found) under which this query's results go.
        type: str
        required: true
      kind:
        description: The kind, as M(kubernetes.core.k8s_info)'s O(kubernetes.core.k8s_info#module:kind).
        type: str
        required: true
      api_version:
        description: The API version, as M(kubernetes.core.k8s_info)'s.
        type: str
        default: v1
      name:
        description: One object's name (a missing object gives no resource, not an error).
        type: str
      namespace:
        description: The namespace to read in; omitted reads a namespaced kind in every namespace.
        type: str
      label_selectors:
        description: Label selectors, as M(kubernetes.core.k8s_info)'s.
        type: list
        elements: str
        default: []
      field_selectors:
        description: Field selectors, as M(kubernetes.core.k8s_info)'s.
        type: list
        elements: str
        default: []
      wait:
        description:
          - Wait for the objects found, as M(kubernetes.core.k8s_info)'s O(kubernetes.core.k8s_info#module:wait)
            does (a Deployment, StatefulSet or DaemonSet until its rollout is done, a Pod until Ready).
          - The queries run in order, so queries after a waiting one read the cluster after the wait.
          - A wait that does not end within O(queries[].wait_timeout) does not fail the task, unlike
            M(kubernetes.core.k8s_info)'s; the objects are read again as they are and the wait's
            message goes to RV(waits_failed), so that one rollout still under way does not hide the others.
        type: bool
        default: false
      wait_timeout:
        description: How many seconds to wait, as M(kubernetes.core.k8s_info)'s.
        type: int
        default: 120
      wait_sleep:
        description: Seconds between checks while waiting, as M(kubernetes.core.k8s_info)'s.
        type: int
        default: 5
      wait_condition:
        description:
          - Wait for this condition instead of the kind's own readiness, as M(kubernetes.core.k8s_info)'s
            O(kubernetes.core.k8s_info#module:wait_condition) (e.g. a CRD's V(Established)).
        type: dict
        suboptions:
          type:
            description: The condition's type.
            type: str
          status:
            description: The condition's status.
            type: str
            default: "True"
            choices: ["True", "False", "Unknown"]
          reason:
            description: The condition's reason.
            type: str
  server_version:
    description:
      - Also return the API server's version as RV(version), as M(kubernetes.core.k8s_cluster_info)
        returns it under C(version.server), without that module's discovery of every API group.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0 (Python client)
notes:
  - Belongs to the C(gpufleet.cluster.k8s) action group, which extends C(kubernetes.core.k8s), so
    C(module_defaults) for C(group/kubernetes.core.k8s) or C(group/gpufleet.cluster.k8s) set its connection once.
  - "RBAC: C(get) or C(list) on each kind queried, as for M(kubernetes.core.k8s_info)."
  - The result holds the objects as read, like M(kubernetes.core.k8s_info)'s; use C(no_log) on a
    task whose queries can return Secrets or other teams' pod specs.
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read the nodes, two CRDs and a StorageClass in one task
  gpufleet.cluster.k8s_objects_info:
    queries:
      - {key: nodes, kind: Node}
      - {key: crds, kind: CustomResourceDefinition, api_version: apiextensions.k8s.io/v1, name: linstorclusters.piraeus.io}
      - {key: crds, kind: CustomResourceDefinition, api_version: apiextensions.k8s.io/v1, name: linstorsatellites.piraeus.io}
      - {key: classes, kind: StorageClass, api_version: storage.k8s.io/v1, name: linstor-fast-cache}
  register: cluster

- name: Say how many nodes there are
  ansible.builtin.debug:
    msg: "{{ cluster.resources.nodes | length }} nodes; CRDs installed: {{ cluster.resources.crds | length }}"
"""

RETURN = r"""
resources:
  description: Per key, the objects its queries found (an empty list when none).
  returned: always
  type: dict
  sample: {nodes: [{apiVersion: v1, kind: Node, metadata: {name: gpu-ucsd-1}}], crds: []}
api_found:
  description: Per key, whether the API of its kind is served (V(false) when the CRD is not installed).
  returned: always
  type: dict
  sample: {nodes: true, crds: true}
version:
  description: The API server's version under C(server), as M(kubernetes.core.k8s_cluster_info) returns it under C(version.server).
  returned: when O(server_version) is true
  type: dict
  sample: {server: {kubernetes: {gitVersion: v1.33.4, major: "1", minor: "33"}}}
waits_failed:
  description: Per key, the messages of the waits that did not end in time (only keys with such a wait).
  returned: always
  type: dict
  sample: {workloads: ["reading apps/v1 Deployment ns/collector: Failed to gather information about Deployment(s) even after waiting for 120 seconds"]}
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import QueryError, find_all

QUERY = dict(
    key=dict(type="str", required=True, no_log=False),
    kind=dict(type="str", required=True),
    api_version=dict(type="str", default="v1"),
    name=dict(type="str"),
    namespace=dict(type="str"),
    label_selectors=dict(type="list", elements="str", default=[]),
    field_selectors=dict(type="list", elements="str", default=[]),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=120),
    wait_sleep=dict(type="int", default=5),
    wait_condition=dict(type="dict", options=dict(
        type=dict(type="str"),
        status=dict(type="str", default="True", choices=["True", "False", "Unknown"]),
        reason=dict(type="str"),
    )),
)


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(queries=dict(type="list", elements="dict", required=True, options=QUERY),
                server_version=dict(type="bool", default=False))
    return spec


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argspec(), supports_check_mode=True)
    result = dict(changed=False)
    try:
        client = get_api_client(module=module)
        if module.params["server_version"]:
            result["version"] = dict(server=client.client.version)
        service = K8sService(client, module)
        result["resources"], result["api_found"], result["waits_failed"] = find_all(service.find, module.params["queries"])
    except CoreException as exc:
        module.fail_from_exception(exc)
    except QueryError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
