# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the node roles' preflights use; the decisions live in module_utils."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import host_path_problems as _host_path_problems
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import dirs_to_write, nfs_server_exports, problems_for
from ansible_collections.gpufleet.cluster.plugins.module_utils.units import SizeError, parse_size
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def input_problems(inputs, role):
    try:
        return problems_for(role, inputs)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("input_problems: %s" % exc)


def nfs_server_export_list(inputs):
    try:
        return nfs_server_exports(inputs)
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("nfs_server_export_list: %s (run the input checks first)" % exc)


def host_path_problems(records, var):
    try:
        return _host_path_problems(var, records)
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("host_path_problems: %s (give it the paths of a disk_space_info result)" % exc)


def node_dirs_to_write(dirs, records, passwd=None, group=None):
    try:
        return dirs_to_write(dirs, records, passwd, group)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("node_dirs_to_write: %s (give it the data directories and a disk_space_info result)" % exc)


def size_bytes(value, name="size"):
    try:
        return parse_size(value, name)
    except SizeError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return plain_filters({"input_problems": input_problems, "nfs_server_export_list": nfs_server_export_list,
                              "host_path_problems": host_path_problems, "size_bytes": size_bytes,
                              "node_dirs_to_write": node_dirs_to_write})
