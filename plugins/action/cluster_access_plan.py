# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_access_plan: the cluster_access role's decisions (docs: plugins/modules/cluster_access_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import COLLECTION, PlanAction, yaml_text
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.cluster_access import plan as ca_plan


def rules_document():
    """The rules the collection ships (roles/cluster_access/files/rules.yml)."""
    with open(os.path.join(COLLECTION, ca_plan.RULES_FILE)) as handle:
        return yaml_text(handle.read())


class ActionModule(PlanAction):
    ROLE = "cluster_access"
    OBSERVED = ()

    def plan(self, inputs, args, check_mode):
        return ca_plan.plan(inputs, rules_document())
