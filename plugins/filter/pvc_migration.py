# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the migrate_pvc role; the decisions live in module_utils.pvc_migration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import pvc_migration
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def migrate_pvc_new_claim(base, name, namespace, storage_class, size="", volume_mode="", access_modes=None):
    return pvc_migration.new_claim(base, name, namespace, storage_class, size, volume_mode, access_modes)


def migrate_pvc_plan(current, backup, wanted, rollback=False):
    return pvc_migration.plan(current or None, backup or None, wanted, rollback)


def migrate_pvc_quota_problems(quotas, old, new):
    return pvc_migration.quota_problems(quotas, old or None, new)


class FilterModule(object):
    def filters(self):
        return plain_filters({"migrate_pvc_new_claim": migrate_pvc_new_claim, "migrate_pvc_plan": migrate_pvc_plan,
                              "migrate_pvc_quota_problems": migrate_pvc_quota_problems})
