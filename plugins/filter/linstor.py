# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for job authors (claims' users, zone pinning); the linstor role's decisions are linstor_plan's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils import linstor
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def claim_users(pods, namespace, claim):
    return linstor.pods_using_claim(pods, namespace, claim)


def zone_affinity(zones, gpu_products=None):
    if not zones:
        raise AnsibleFilterError("zone_affinity: name at least one zone")
    return linstor.zone_affinity(zones, gpu_products)


def zone_affinity_problems(nodes, zones, gpu_products=None, var="zones"):
    return linstor.zone_affinity_problems(var, zones, gpu_products, nodes)


class FilterModule(object):
    def filters(self):
        return plain_filters({
            "claim_users": claim_users,
            "zone_affinity": zone_affinity,
            "zone_affinity_problems": zone_affinity_problems,
        })
