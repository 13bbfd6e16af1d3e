# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the model_storage role; the decisions live in module_utils/model_storage.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils import model_storage as ms
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def _wrap(func, *args):
    try:
        return func(*args)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("%s: %s" % (func.__name__, exc))


def model_storage_inspection(dir_stats, node, root, root_stat, marker_stats, models, marker):
    return _wrap(ms.summarise_host, node, root, root_stat, (dir_stats or {}).get("results") or [],
                 (marker_stats or {}).get("results") or [], models, marker)


def model_storage_plan(inputs, inspections, hosts):
    by_host = dict((item.get("host"), item) for item in inspections or [])
    return _wrap(ms.plan, inputs, dict((host, by_host.get(host)) for host in hosts or []))


def model_storage_cluster_check(the_plan, inputs, cluster):
    return _wrap(ms.cluster_problems, the_plan, inputs, cluster)


def model_storage_label_findings(model_objects, nodes, pv):
    return _wrap(ms.label_findings, model_objects, nodes, pv)


def model_storage_section(the_plan, inputs, observed):
    return _wrap(ms.report_section, the_plan, inputs, observed)


class FilterModule(object):
    def filters(self):
        return plain_filters({
            "model_storage_inspection": model_storage_inspection,
            "model_storage_plan": model_storage_plan,
            "model_storage_cluster_check": model_storage_cluster_check,
            "model_storage_label_findings": model_storage_label_findings,
            "model_storage_section": model_storage_section,
        })
