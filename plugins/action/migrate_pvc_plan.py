# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""migrate_pvc_plan: the migrate_pvc role's decisions (docs: plugins/modules/migrate_pvc_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import PlanAction
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import plan as mp_plan


class ActionModule(PlanAction):
    ROLE = "migrate_pvc"
    OBSERVED = mp_plan.OBSERVED
    RETIRED = tuple("migrate_pvc_" + name for name in mp_plan.RETIRED)

    def plan(self, inputs, args, check_mode):
        return mp_plan.plan(inputs, args["observed"])
