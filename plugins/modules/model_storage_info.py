#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: model_storage_info
short_description: Read the objects OME model storage depends on, in one call
version_added: 0.1.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "Reads, in one connection, what P(gpufleet.cluster.model_storage#role) plans against and verifies: the
    Nodes (with their labels), whether OME's C(basemodels.ome.io) and C(clusterbasemodels.ome.io) CRDs are
    installed, OME's controller Deployment (its image tag is the OME version), the StorageClass, the model
    PersistentVolume and its claim, the pods using the claim, and the BaseModel/ClusterBaseModel objects."
  - What does not exist is returned as null (or left out of RV(models)); a model whose CRD is not installed
    is not asked for.
  - Never changes anything.
options:
  namespace:
    description: Namespace of the claim.
    type: str
  pv_name:
    description: Name of the PersistentVolume to read.
    type: str
  pvc_name:
    description: Name of the PersistentVolumeClaim to read (in O(namespace)).
    type: str
  storage_class:
    description: Name of the StorageClass to read.
    type: str
  ome_namespace:
    description: Namespace of OME's controller.
    type: str
    default: ome
  ome_controller:
    description: Name of OME's controller Deployment; empty reads none.
    type: str
    default: ome-controller-manager
  models:
    description:
      - Model objects to read, as manifests (C(kind), C(metadata.name), C(metadata.namespace) are used), such as
        the ones the role applied.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    details:
      - Only reads.
  diff_mode:
    support: none
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpufleet.cluster.read_only
requirements:
  - kubernetes >= 24.2.0 (Python client)
notes:
  - Belongs to the C(gpufleet.cluster.k8s) action group, like P(gpufleet.cluster.pv_affinity_info#module).
  - Needs RBAC C(list) on nodes, C(get) on the objects named and, when the claim exists, C(list) on pods in
    O(namespace).
seealso:
  - module: gpufleet.cluster.pv_affinity_info
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read the model volume, its claim and the nodes
  gpufleet.cluster.model_storage_info:
    namespace: model-serving
    pv_name: model-storage-pv
    pvc_name: model-storage-pvc
    storage_class: local-storage
    models:
      - kind: ClusterBaseModel
        metadata:
          name: llama-3-2-1b-instruct
  register: model_storage

- name: Say whether OME's CRDs are there
  ansible.builtin.debug:
    msg: "{{ model_storage.crds }}"
"""

RETURN = r"""
nodes:
  description: The Node objects.
  returned: always
  type: list
  elements: dict
crds:
  description: Whether the CRD of each OME model kind is installed.
  returned: always
  type: dict
  sample: {"BaseModel": true, "ClusterBaseModel": true}
controller:
  description: OME's controller Deployment, or null.
  returned: always
  type: dict
serving_namespace:
  description: The Namespace named by O(namespace), or null (read so that a role that is not to create it can refuse its absence).
  returned: always
  type: dict
storage_class:
  description: The StorageClass, or null.
  returned: always
  type: dict
pv:
  description: The PersistentVolume, or null.
  returned: always
  type: dict
pvc:
  description: The PersistentVolumeClaim, or null.
  returned: always
  type: dict
models:
  description: The model objects that exist.
  returned: always
  type: list
  elements: dict
pods:
  description:
    - The pods in O(namespace) that mount the claim O(pvc_name) (empty when it does not exist); only their names,
      nodes and phases, never their specs.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "llama-serving-0", "node": "gpu-ucsd-1", "phase": "Running"}]
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import api_error_text, api_request, list_all
from ansible_collections.gpufleet.cluster.plugins.module_utils.model_storage import read_state


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str"),
        pv_name=dict(type="str"),
        pvc_name=dict(type="str"),
        storage_class=dict(type="str"),
        ome_namespace=dict(type="str", default="ome"),
        ome_controller=dict(type="str", default="ome-controller-manager"),
        models=dict(type="list", elements="dict", default=[]),
    )
    return spec


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argspec(), supports_check_mode=True,
                              check_pyyaml=False)
    params = module.params
    if params["pvc_name"] and not params["namespace"]:
        module.fail_json(msg="pvc_name=%s needs namespace" % params["pvc_name"])
    try:
        client = get_api_client(module=module)
    except CoreException as exc:
        module.fail_json(msg=str(exc))
    request = api_request(client)

    def get(path):
        try:
            return request(path, [])
        except Exception as exc:  # pylint: disable=broad-except  # the dynamic client raises one type per status
            if getattr(exc, "status", None) == 404:
                return None
            module.fail_json(msg="reading %s from the API failed: %s" % (path, api_error_text(exc)))

    query = dict(params)
    query["models"] = [{"kind": m.get("kind"), "name": (m.get("metadata") or {}).get("name"),
                        "namespace": (m.get("metadata") or {}).get("namespace")} for m in params["models"]]
    bad = [m for m in query["models"] if m["kind"] not in ("ClusterBaseModel", "BaseModel") or not m["name"]]
    if bad:
        module.fail_json(msg="models: each entry needs kind ClusterBaseModel or BaseModel and metadata.name: %r" % bad)
    try:
        state = read_state(get, lambda path: list_all(request, path, 500), query)
    except Exception as exc:  # pylint: disable=broad-except  # listing nodes: the same client errors
        module.fail_json(msg="reading the nodes from the API failed: %s" % api_error_text(exc))
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
