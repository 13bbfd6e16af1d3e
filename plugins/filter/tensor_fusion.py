# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the tensor_fusion role; the decisions live in module_utils.tensor_fusion."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils import tensor_fusion as tf
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def tensor_fusion_settings(inputs):
    return tf.settings(inputs)


def tensor_fusion_problems(settings):
    try:
        return tf.problems(settings)
    except (AttributeError, KeyError, TypeError) as exc:
        # Never the inputs themselves: they may hold the GreptimeDB password.
        raise AnsibleFilterError("tensor_fusion_problems: missing or malformed input %s" % exc)


def tensor_fusion_values(settings, chart_defaults):
    return tf.chart_values(settings, chart_defaults)


def tensor_fusion_changed_paths(after, before):
    return tf.changed_paths(before, after)


def tensor_fusion_objects(settings, what):
    if what == "storage":
        return tf.storage_objects(settings)
    if what == "cluster":
        return tf.cluster_resource(settings)
    raise AnsibleFilterError("tensor_fusion_objects: what must be 'storage' or 'cluster', not %r" % (what,))


def tensor_fusion_restart(after, before, annotation):
    return tf.restart_needed(before, after, annotation)


def tensor_fusion_report_section(release, claims, statefulsets, cluster, settings, extra=None):
    try:
        return tf.report_section(release, claims, statefulsets, cluster, settings, extra)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("tensor_fusion_report_section: the objects read have an unexpected shape: %s" % exc)


def tensor_fusion_rollout_plan(deployments, items, action):
    try:
        return tf.rollout_plan(deployments, items, action)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("tensor_fusion_rollout_plan: malformed input %s" % exc)


class FilterModule(object):
    def filters(self):
        return plain_filters({
            "tensor_fusion_settings": tensor_fusion_settings,
            "tensor_fusion_problems": tensor_fusion_problems,
            "tensor_fusion_values": tensor_fusion_values,
            "tensor_fusion_objects": tensor_fusion_objects,
            "tensor_fusion_changed_paths": tensor_fusion_changed_paths,
            "tensor_fusion_restart": tensor_fusion_restart,
            "tensor_fusion_report_section": tensor_fusion_report_section,
            "tensor_fusion_rollout_plan": tensor_fusion_rollout_plan,
        })
