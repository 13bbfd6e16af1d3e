# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX Kubernetes credential of each job template; the rules live in module_utils.awx_credentials."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils import awx_credentials
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def awx_kubernetes_credentials(per_playbook, templates, names, shared=None):
    if not isinstance(templates, list) or not isinstance(names, dict):
        raise AnsibleFilterError("awx_kubernetes_credentials: expected the job templates (a list) and the credential "
                                 "names (a dict), got %s and %s" % (type(templates).__name__, type(names).__name__))
    return awx_credentials.plan(per_playbook, templates, names, shared)


class FilterModule(object):
    def filters(self):
        return plain_filters({"awx_kubernetes_credentials": awx_kubernetes_credentials})
