# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""linstor_plan: the linstor role's decisions (docs: plugins/modules/linstor_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import PlanAction
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import plan as li_plan


class ActionModule(PlanAction):
    ROLE = "linstor"
    OBSERVED = li_plan.OBSERVED
    RETIRED = tuple("linstor_" + name for name in li_plan.RETIRED)

    def plan(self, inputs, args, check_mode):
        return li_plan.plan(inputs, args["observed"], check_mode, now=time.time())
