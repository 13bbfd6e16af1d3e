# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the validation_report role; the decisions live in module_utils.validation_report,
module_utils.cluster_state and module_utils.report_charts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils.cluster_state import cluster_state
from ansible_collections.gpufleet.cluster.plugins.module_utils.report_charts import CHARTS
from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import (
    FAIL_ON,
    build_report,
    gate,
)
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def validation_report(placement, nodes, generated, sections=None, cluster=None):
    try:
        return build_report(placement, nodes, generated, sections, cluster or None)
    except ValueError as exc:
        raise AnsibleFilterError("validation_report: a cluster layer's report section is malformed: %s" % exc)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("validation_report: the registered results have an unexpected shape: %s" % exc)


def validation_failed(report, fail_on="error"):
    if fail_on not in FAIL_ON:
        raise AnsibleFilterError("validation_failed: fail_on=%r is not one of %s" % (fail_on, ", ".join(FAIL_ON)))
    return gate(report, fail_on)


def validation_cluster_state(raw):
    try:
        return cluster_state(raw)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("validation_cluster_state: the objects read have an unexpected shape: %s" % exc)


def validation_report_chart(report, name):
    if name not in CHARTS:
        raise AnsibleFilterError("validation_report_chart: %r is not one of %s" % (name, ", ".join(sorted(CHARTS))))
    try:
        return CHARTS[name](report["figures"])
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("validation_report_chart: the report has no usable figures: %s" % exc)


class FilterModule(object):
    def filters(self):
        return plain_filters({"validation_report": validation_report, "validation_failed": validation_failed,
                              "validation_cluster_state": validation_cluster_state, "validation_report_chart": validation_report_chart})
