# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the gpu_telemetry role; the decisions live in module_utils.gpu_telemetry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils.gpu_telemetry import problems, report_section, values_diff
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def gpu_telemetry_problems(inputs):
    try:
        return problems(inputs)
    except (KeyError, TypeError) as exc:
        # Never the inputs themselves: they hold the MongoDB URI.
        raise AnsibleFilterError("gpu_telemetry_problems: missing or malformed input %s" % exc)


def gpu_telemetry_report_section(release, workloads, autoscalers, settings):
    try:
        return report_section(release, workloads, autoscalers, settings)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("gpu_telemetry_report_section: the objects read have an unexpected shape: %s" % exc)


def gpu_telemetry_values_diff(before, after):
    return values_diff(before, after)


class FilterModule(object):
    def filters(self):
        return plain_filters({
            "gpu_telemetry_problems": gpu_telemetry_problems,
            "gpu_telemetry_report_section": gpu_telemetry_report_section,
            "gpu_telemetry_values_diff": gpu_telemetry_values_diff,
        })
