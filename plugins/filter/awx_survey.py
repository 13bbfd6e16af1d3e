# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX survey filters; the rules live in module_utils.awx_survey."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils import awx_survey
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def _build(roles, name, description, ask, overrides, choices):
    if not isinstance(roles, dict):
        raise AnsibleFilterError("awx_survey_spec: expected a dict of role name -> argument spec options, got %s"
                                 % type(roles).__name__)
    try:
        return awx_survey.survey(roles, name, description, ask, overrides, choices)
    except (awx_survey.SurveyError, AttributeError, TypeError) as exc:
        raise AnsibleFilterError("awx_survey_spec for %r: %s" % (name, exc))


def awx_survey_spec(roles, name, description="", ask=None, overrides=None, choices=None):
    return _build(roles, name, description, ask, overrides, choices)["survey"]


def awx_survey_skipped(roles, name="", ask=None, overrides=None, choices=None):
    return _build(roles, name, "", ask, overrides, choices)["skipped"]


class FilterModule(object):
    def filters(self):
        return plain_filters({"awx_survey_spec": awx_survey_spec, "awx_survey_skipped": awx_survey_skipped})
