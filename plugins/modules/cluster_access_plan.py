#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name
# (plugins/action/cluster_access_plan.py, over plugins/plugin_utils/cluster_access/); this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_access_plan
short_description: Make every decision of the cluster_access role, on the controller
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "The plan of P(gpufleet.cluster.cluster_access#role): reads the role's variables (every option of the role's
    argument spec, C(cluster_access_*), from the task's variables), checks them against that spec and returns the
    objects that give each chosen playbook its own ServiceAccount bound to exactly the rules it needs."
  - "The rules are the collection's data, C(roles/cluster_access/files/rules.yml): per playbook, cluster-scoped rules
    (one ClusterRole) and rules in namespace sets (one Role per namespace of
    O(gpufleet.cluster.cluster_access#role:main:cluster_access_namespaces)). docs/rbac.md is generated from the same file."
  - Never changes anything and reads nothing from the cluster itself.
options:
  observed:
    description:
      - Nothing is read for this plan; left empty.
    type: dict
    default: {}
extends_documentation_fragment:
  - gpufleet.cluster.plan
notes:
  - The logic is pure Python in C(plugins/plugin_utils/cluster_access/plan.py), unit-tested without mocks.
"""

EXAMPLES = r"""
- name: Plan the job templates' access
  gpufleet.cluster.cluster_access_plan:
  register: __plan

- name: Refuse bad variables
  ansible.builtin.assert:
    that: __plan.problems | length == 0
    fail_msg: "cluster_access: {{ __plan.problems | join(' | ') }}"
    quiet: true
"""

RETURN = r"""
problems:
  description: What stops the role, one sentence each, naming the variable, the value and the fix.
  returned: always
  type: list
  elements: str
namespaces:
  description: The Namespaces to create first (the ServiceAccounts' and every namespace a Role goes in).
  returned: when there are no problems
  type: list
  elements: dict
objects:
  description: Per playbook, its ServiceAccount, token Secret, ClusterRole and ClusterRoleBinding, Roles and RoleBindings, in creation order.
  returned: when there are no problems
  type: list
  elements: dict
absent_objects:
  description: The same objects in the order to delete them.
  returned: when there are no problems
  type: list
  elements: dict
accounts:
  description:
    - Per playbook, C(playbook), C(job_template) (empty when no AWX job template runs it alone), C(service_account),
      C(namespace), C(secret) (the token Secret), and with O(gpufleet.cluster.cluster_access#role:main:cluster_access_credentials_dir)
      the C(kubeconfig) and C(awx_inputs) file paths.
  returned: when there are no problems
  type: list
  elements: dict
"""
