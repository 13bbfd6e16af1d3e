# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tensor_fusion_plan: the tensor_fusion role's decisions (docs: plugins/modules/tensor_fusion_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import PlanAction, yaml_text
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import plan as tf_plan


class ActionModule(PlanAction):
    ROLE = "tensor_fusion"
    OBSERVED = tf_plan.OBSERVED
    ARGUMENT_SPEC = dict(PlanAction.ARGUMENT_SPEC, chart_defaults={"type": "str"})

    def plan(self, inputs, args, check_mode):
        defaults = args.get("chart_defaults")
        return tf_plan.plan(inputs, yaml_text(defaults) if defaults is not None else None, args["observed"], check_mode,
                            (inputs.get("chart_ref"), inputs.get("chart_version")))
