# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gpu_telemetry_plan: the gpu_telemetry role's decisions (docs: plugins/modules/gpu_telemetry_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import PlanAction
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry import plan as gt_plan


class ActionModule(PlanAction):
    ROLE = "gpu_telemetry"
    OBSERVED = gt_plan.OBSERVED

    def plan(self, inputs, args, check_mode):
        return gt_plan.plan(inputs, args["observed"], check_mode)
