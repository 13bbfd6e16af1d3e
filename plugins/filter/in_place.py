# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over manifests and the objects already read; the decisions live in module_utils.in_place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import in_place
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def k8s_to_write(manifests, live_objects, applied=False):
    return in_place.to_write(manifests, live_objects, applied)


class FilterModule(object):
    def filters(self):
        return plain_filters({"k8s_to_write": k8s_to_write})
