#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: linstor_controller_info
short_description: Ask the LINSTOR controller for its satellites and storage pools through the API server
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - Reads C(GET /v1/nodes) and C(GET /v1/view/storage-pools) of the LINSTOR controller's REST API through the
    Kubernetes API server's service proxy (C(/api/v1/namespaces/<ns>/services/<service>:<port>/proxy/...)), so it
    needs no port-forward, no C(kubectl exec) and no route from the controller host to the pod network.
  - Returns every satellite with its connection status and every storage pool with free and total capacity.
  - Never changes anything.
  - The credentials need RBAC C(get) on C(services/proxy) in O(namespace).
options:
  namespace:
    description: Namespace of the LINSTOR controller's Service.
    type: str
    default: piraeus-datastore
  service:
    description: Name of the LINSTOR controller's Service (the Piraeus operator creates C(linstor-controller)).
    type: str
    default: linstor-controller
  port:
    description: Port (number or name) of the Service that serves the REST API.
    type: str
    default: "3370"
attributes:
  check_mode:
    support: full
    details:
      - Only reads; check mode asks the controller the same.
  diff_mode:
    support: none
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpufleet.cluster.read_only
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Satellites and storage pools of the LINSTOR cluster
  gpufleet.cluster.linstor_controller_info:
    namespace: piraeus-datastore
  register: linstor

- name: Fail when a satellite is offline
  ansible.builtin.assert:
    that: linstor.nodes | rejectattr('connection_status', 'equalto', 'ONLINE') | list | length == 0
"""

RETURN = r"""
nodes:
  description: The controller's nodes, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: LINSTOR node name (the Kubernetes node name).
      type: str
    type:
      description: C(SATELLITE), C(CONTROLLER), ...
      type: str
    connection_status:
      description: C(ONLINE), C(OFFLINE), C(CONNECTED), ...
      type: str
storage_pools:
  description: Storage pools per node, sorted by node and name.
  returned: success
  type: list
  elements: dict
  contains:
    node:
      description: Node of the pool.
      type: str
    name:
      description: Pool name.
      type: str
    driver:
      description: C(LVM_THIN), C(LVM), C(FILE_THIN), C(DISKLESS), ...
      type: str
    free_gib:
      description: Free capacity in GiB (null when LINSTOR does not know it).
      type: float
    total_gib:
      description: Total capacity in GiB.
      type: float
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import api_request
from ansible_collections.gpufleet.cluster.plugins.module_utils.linstor import (
    controller_nodes,
    controller_pools,
    controller_proxy_path,
)


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", default="piraeus-datastore"),
        service=dict(type="str", default="linstor-controller"),
        port=dict(type="str", default="3370"),
    )
    return spec


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argspec(), supports_check_mode=True)
    params = module.params
    try:
        client = get_api_client(module=module)
    except CoreException as exc:
        module.fail_json(msg=str(exc))
    request = api_request(client)
    answers = {}
    for key, api_path in (("nodes", "/v1/nodes"), ("storage_pools", "/v1/view/storage-pools")):
        path = controller_proxy_path(params["namespace"], params["service"], params["port"], api_path)
        try:
            answers[key] = request(path, [])
        except Exception as exc:  # pylint: disable=broad-except  # the client raises urllib3/kubernetes/OS errors alike
            module.fail_json(msg="GET %s through the API server's service proxy failed: %s" % (path, exc))
    module.exit_json(changed=False, nodes=controller_nodes(answers["nodes"]),
                     storage_pools=controller_pools(answers["storage_pools"]))


if __name__ == "__main__":
    main()
