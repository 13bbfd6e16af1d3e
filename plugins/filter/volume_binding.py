# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over a volume and its claim; the decisions live in module_utils.volume_binding."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import volume_binding
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def volume_rebind(pv, claim, namespace, name, owner, variable):
    return volume_binding.rebind(pv, claim, namespace, name, owner, variable)


def volume_binding_blocked(pv, claim):
    return volume_binding.blocked_binding(pv, claim)


class FilterModule(object):
    def filters(self):
        return plain_filters({"volume_rebind": volume_rebind, "volume_binding_blocked": volume_binding_blocked})
