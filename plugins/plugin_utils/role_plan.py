# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's plan action plugins share (controller side only).

A cluster role hands its decisions to one action plugin, ``<role>_plan``. The plugin reads the
role's variables from the task's variables, exactly the options of the role's own argument spec
(``roles/<role>/meta/argument_specs.yml``, the one AWX and ``ansible-doc`` read), templates them,
checks them against that spec as Ansible's role argument validation does, and gives them to a
pure planning function as plain data, without the role's prefix. The plugin's own arguments
(what the role read from the API, the chart's defaults) are checked against the plugin's spec.

No hand-mapped dict of inputs, no second list of the role's variables: a variable added to the
role's argument spec reaches its plan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader
import yaml

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SPECS = {}


def role_options(role, entry_point="main"):
    """The options of one of the role's entry points (``main`` unless named), as its
    meta/argument_specs.yml declares them."""
    if role not in _SPECS:
        with open(os.path.join(COLLECTION, "roles", role, "meta", "argument_specs.yml"), "rb") as handle:
            _SPECS[role] = yaml.load(handle, Loader=_Loader)["argument_specs"]
    return _SPECS[role][entry_point].get("options") or {}


def first_object(items):
    """The object an ``observed`` entry holds: the first of a k8s_info result's resources, or the
    one object given (None when there is none)."""
    if isinstance(items, list):
        return items[0] if items else None
    return items if isinstance(items, dict) and items else None


def release_values(release):
    """The user-supplied values of a Helm release as kubernetes.core's ``helm`` / ``helm_info``
    return it in ``status``: ``release_values`` (kubernetes.core 6.3.0 and later), else the
    deprecated ``values`` (removed in 8.0.0) of older versions; {} when there is no release."""
    release = release if isinstance(release, dict) else {}
    values = release["release_values"] if "release_values" in release else release.get("values")
    return values if isinstance(values, dict) else {}


# What a report or an output may show of a Helm release: kubernetes.core.helm_info's status also
# holds the values (under two names), the rendered manifest (the chart's Secrets and ConfigMaps,
# whatever credentials they carry), the notes and the hooks.
RELEASE_FIELDS = ("name", "namespace", "revision", "status", "chart", "app_version", "updated")


def release_summary(release):
    """A Helm release's status without its values, manifest, notes or hooks, for reports and output."""
    return dict((k, v) for k, v in (release or {}).items() if k in RELEASE_FIELDS)


def unprefixed(role, values):
    """``{'tensor_fusion_profile': x}`` -> ``{'profile': x}`` for the role ``tensor_fusion``."""
    prefix = role + "_"
    return dict((name[len(prefix):] if name.startswith(prefix) else name, value) for name, value in values.items())


class PlanAction(ActionBase):
    """Base of the ``<role>_plan`` action plugins: set ``ROLE``, ``OBSERVED`` (the names the
    ``observed`` argument takes) and write ``plan(inputs, args, check_mode)``, a call to a pure
    function. ``ARGUMENT_SPEC`` is the plugin's own arguments; ``observed`` is one of them: an
    object left out was not read yet (its step is not planned), None or [] was read and not found.
    Its names are checked here (a dict's suboptions would fill every one with None). A plugin whose
    spec has ``entry_point`` plans for that entry point of the role, with its options; ``self.host``
    is the inventory host the task runs for."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ROLE = None
    OBSERVED = ()
    # Variables the role no longer takes (their full names): given, they reach the plan (unprefixed,
    # untemplated) so that it refuses them, naming what replaced them; an argument spec alone would
    # let them pass unseen.
    RETIRED = ()
    ARGUMENT_SPEC = {"observed": {"type": "dict", "default": {}}}

    def plan(self, inputs, args, check_mode):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(PlanAction, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        unknown = sorted(set(args.get("observed") or {}) - set(self.OBSERVED))
        if unknown:
            raise AnsibleActionFail("%s_plan: observed has no %s; it takes %s"
                                    % (self.ROLE, ", ".join(unknown), ", ".join(self.OBSERVED)))
        options = role_options(self.ROLE, args.get("entry_point") or "main")
        self.host = task_vars.get("inventory_hostname")
        given = self._templar.template(dict((name, task_vars[name]) for name in options if name in task_vars))
        checked = ArgumentSpecValidator(options).validate(dict(given))
        if checked.error_messages:
            result.update(failed=True, msg="%s_plan: the role's variables do not meet its argument spec: %s"
                          % (self.ROLE, "; ".join(checked.error_messages)))
            return result
        inputs = unprefixed(self.ROLE, plain(given))
        inputs.update(unprefixed(self.ROLE, dict((name, True) for name in self.RETIRED if name in task_vars)))
        result.update(self.plan(inputs, plain(args), bool(self._play_context.check_mode)))
        result["changed"] = False
        # The settings and chart values hold what the user gave, passwords and tokens included.
        result["_ansible_no_log"] = True
        return result


def yaml_text(text):
    """Plain data from a YAML document (such as ``helm show values``), without Jinja's from_yaml:
    the data stays plain (see plain.py) and libyaml parses it when it is there."""
    return yaml.load(text, Loader=_Loader) if text else {}
