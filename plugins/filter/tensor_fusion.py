# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tensor_fusion_rollout_plan, for playbooks/tensor_fusion_rollout.yml and users' own rollouts.

The tensor_fusion role's own decisions are the tensor_fusion_plan action plugin's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import rollout


def tensor_fusion_rollout_plan(deployments, items, action):
    try:
        return rollout.rollout_plan(deployments, items, action)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("tensor_fusion_rollout_plan: malformed input %s" % exc)


class FilterModule(object):
    def filters(self):
        return plain_filters({"tensor_fusion_rollout_plan": tensor_fusion_rollout_plan})
