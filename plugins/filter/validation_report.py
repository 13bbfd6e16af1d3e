# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the validation_report role; the decisions live in module_utils.validation_report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import (
    FAIL_ON,
    build_report,
    gate,
)


def validation_report(placement, nodes, generated, sections=None):
    try:
        return build_report(placement, nodes, generated, sections)
    except ValueError as exc:
        raise AnsibleFilterError("validation_report: a cluster layer's report section is malformed: %s" % exc)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("validation_report: the registered results have an unexpected shape: %s" % exc)


def validation_failed(report, fail_on="error"):
    if fail_on not in FAIL_ON:
        raise AnsibleFilterError("validation_failed: fail_on=%r is not one of %s" % (fail_on, ", ".join(FAIL_ON)))
    return gate(report, fail_on)


class FilterModule(object):
    def filters(self):
        return {"validation_report": validation_report, "validation_failed": validation_failed}
