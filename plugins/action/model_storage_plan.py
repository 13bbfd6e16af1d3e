# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""model_storage_plan: the model_storage role's decisions (docs: plugins/modules/model_storage_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import PlanAction
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage import plan as ms_plan


class ActionModule(PlanAction):
    ROLE = "model_storage"
    OBSERVED = ms_plan.OBSERVED
    ARGUMENT_SPEC = {"observed": {"type": "dict", "default": {}},
                     "entry_point": {"type": "str", "default": "main", "choices": ["main", "inspect"]}}

    def plan(self, inputs, args, check_mode):
        return ms_plan.plan(inputs, args["observed"], check_mode, self.host)
