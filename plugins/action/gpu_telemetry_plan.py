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
        observed = dict(args["observed"])
        stat = observed.get("csv_stat")
        if isinstance(stat, dict) and stat.get("isreg") and stat.get("path"):
            # The CSV is on the controller, where this runs: its first bytes say whether it is a CSV
            # at all before the role publishes it in a ConfigMap (gt_inputs.csv_head_problem).
            observed["csv_stat"] = dict(stat, head=_head(stat["path"]))
        return gt_plan.plan(inputs, observed, check_mode)


def _head(path, size=4096):
    """The file's first bytes; None when it cannot be read (stat's readable says why)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except (IOError, OSError):
        return None
