# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tensor_fusion_plan: the tensor_fusion role's decisions (docs: plugins/modules/tensor_fusion_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import PlanAction, yaml_text
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import plan as tf_plan


class ActionModule(PlanAction):
    ROLE = "tensor_fusion"
    # observed: an object left out was not read yet (its step is not planned); None or [] was read
    # and not found. Its keys are checked below: a dict's suboptions would fill every one with None.
    ARGUMENT_SPEC = {"chart_defaults": {"type": "str"}, "observed": {"type": "dict", "default": {}}}

    def plan(self, inputs, args, check_mode):
        unknown = sorted(set(args["observed"]) - set(tf_plan.OBSERVED))
        if unknown:
            raise AnsibleActionFail("tensor_fusion_plan: observed has no %s; it takes %s"
                                    % (", ".join(unknown), ", ".join(tf_plan.OBSERVED)))
        defaults = args.get("chart_defaults")
        return tf_plan.plan(inputs, yaml_text(defaults) if defaults is not None else None, args["observed"], check_mode,
                            (inputs.get("chart_ref"), inputs.get("chart_version")))
