# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX survey specs from role argument specs (meta/argument_specs.yml options).

Pure functions over dicts. ``survey(roles, name)`` turns the options of one or more roles into
the survey spec AWX's ``/job_templates/<id>/survey_spec/`` endpoint takes
(``{name, description, spec: [question, ...]}``) and lists the options it left out, each with
the reason. The rules follow what AWX checks (awx/api/views/__init__.py
``JobTemplateSurveySpec._validate_spec_data`` when the spec is saved,
awx/main/models/mixins.py ``SurveyJobTemplateMixin._survey_element_validation`` when a job
is launched) and what a role can consume from the answer AWX sends:

- AWX sends text, textarea, password and multiplechoice answers as strings, integer as int,
  float as a number, multiselect as a list of strings.
- A bool option becomes a multiplechoice ``true``/``false``: the role gets the string and
  must read it with ``| bool`` (the collection's roles do).
- A list of strings with choices becomes a multiselect; any other list, a dict or raw is left
  out: a string answer is not what the role takes.
- A default computed by the play (a Jinja template) is left out: AWX sends survey answers as
  unsafe text, so the template would arrive as literal text.
- A secret (``no_log: true``) becomes a password question without a default: a default would
  put the secret into the spec, and AWX shows a stored one as ``$encrypted$``, so re-applying
  the spec would differ every time.
- An empty-string default is no default (AWX's UI does not send a blank answer, so the role's
  own default applies): AWX writes answers to the job's extra vars file tagged ``!unsafe``, and
  ansible-core 2.19 resolves a tagged scalar as if it were plain YAML, so ``''`` would arrive as
  null (and ``'yes'`` as true, ``'0755'`` as 493).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

QUESTION_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")
BOOL_CHOICES = ["true", "false"]
OVERRIDE_KEYS = ("question_name", "question_description", "required", "default", "min", "max")
# Ansible variable names (the survey's variable becomes an extra var).
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # matched whole: '$' lets "name\n" through
# Ansible doc markup: C(x), V(x), O(x), P(name#type), L(text,url), U(url), ...
_MARKUP = re.compile(r"\b(C|V|O|I|B|M|P|U|L|E|RV)\(([^()]*)\)")
_TEMPLATE = ("{{", "{%")
# YAML 1.1's implicit types (PyYAML's resolver, which ansible-core's loader uses): a string
# matching one of these in AWX's extra vars file reaches the play as bool, null, int, float or
# date, even tagged !unsafe (see the module docstring). '$' on purpose: PyYAML's resolver uses it too.
_YAML_IMPLICIT = re.compile(r"""^(?:
    yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
  | ~|null|Null|NULL|
  | [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
  | [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
  | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
  | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?
)$""", re.X)


class SurveyError(ValueError):
    """A survey that cannot be made as asked (a variable it may not or cannot ask, an override or a
    list of choices that names nothing)."""


# What a launcher never chooses: the job template's admin fixes it (the template's extra vars, the
# inventory, a credential) or lists the values a launcher may pick (the template's survey_choices).
# By the option's name, in this order; a secret or a path type first.
_ADMIN_ONLY = (
    (re.compile(r"_(chart_ref|chart_version|chart_values|chart_repo)$|_images?(_|$)|_repository$|_registry$"),
     "what runs in the cluster (a chart or an image reference)"),
    (re.compile(r"_(path|paths|dir|dirs|file|files|binary|device|devices|mount_point)$"),
     "a path on the controller, the execution node or the hosts"),
    (re.compile(r"_(kubeconfig|context|user|username)$"), "which cluster, service and identity the job uses"),
    (re.compile(r"_namespaces?$"), "a namespace the job acts in"),
    (re.compile(r"_(release|cluster|volume|configuration|secret|configmap|config_map)_name$"),
     "the name of an object the job changes (another one of that name could be someone else's)"),
    (re.compile(r"_(host|hosts|server|servers|address|url|endpoint|port|node)$"),
     "where the job connects, sends data or writes"),
    (re.compile(r"_state$|_(force|recover|replace|delete|wipe)(_|$)"),
     "a state or a switch that deletes or overwrites"),
)


def admin_only(variable, option):
    """Why a launcher may not choose this variable at launch ('' when they may): a secret, a chart
    or image reference, a path, the cluster identity, a namespace, an address, a state or switch
    that deletes. The job template's admin sets it, or offers a list of values (survey choices)."""
    option = option or {}
    if option.get("no_log"):
        return "a secret (a vault variable or an AWX credential sets it)"
    if option.get("type") == "path" or option.get("elements") == "path":
        return "a path on the controller, the execution node or the hosts"
    for pattern, reason in _ADMIN_ONLY:
        if pattern.search(variable):
            return reason
    return ""


def _choices_problem(variable, listed):
    if not isinstance(listed, list) or not listed or not all(isinstance(c, str) and c for c in listed):
        return "survey choices for %s must be a non-empty list of non-empty strings, got %r" % (variable, listed)
    retyped_ = [c for c in listed if retyped(c)]
    if retyped_:
        return ("survey choices for %s: %s would reach the play as another type (ansible-core reads AWX's answers as "
                "YAML)" % (variable, ", ".join(retyped_)))
    return ""


def _restricted(q, option, listed):
    """The question limited to the admin's values: a multiple choice (a multiselect for a list)."""
    default = option.get("default")
    if option.get("type") == "list":
        q.update(type="multiselect", choices=list(listed))
        if default and all(str(d) in listed for d in default):
            q["default"] = "\n".join(str(d) for d in default)
        return q
    q.update(type="multiplechoice", choices=list(listed))
    if default is not None and str(default) in listed:
        q["default"] = str(default)
    else:
        q["required"] = True
    return q


def plain(text):
    """Ansible doc markup removed: C(foo) -> foo, P(a.b.c#role) -> a.b.c, L(text,url) -> text."""
    def repl(match):
        kind, body = match.group(1), match.group(2)
        if kind == "P":
            return body.split("#", 1)[0]
        if kind == "L":
            return body.split(",", 1)[0]
        return body
    return _MARKUP.sub(repl, text)


def _description(option):
    description = option.get("description") or ""
    if isinstance(description, (list, tuple)):
        description = " ".join(str(d) for d in description)
    return " ".join(plain(str(description)).split())


def _label(role, variable):
    short = variable[len(role) + 1:] if role and variable.startswith(role + "_") else variable
    short = short.replace("_", " ").strip() or variable
    return "%s: %s" % (role, short[0].upper() + short[1:]) if role else short[0].upper() + short[1:]


def retyped(text):
    """Whether AWX's text answer `text` reaches the play as something other than that string."""
    return bool(_YAML_IMPLICIT.match(text))


def _templated(value):
    if isinstance(value, str):
        return any(mark in value for mark in _TEMPLATE)
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_templated(v) for v in value)
    return False


def question(variable, option, role=""):
    """One option as a survey question: (question, None) or (None, reason it is left out)."""
    kind = option.get("type", "str")
    default = option.get("default")
    choices = option.get("choices")
    required = bool(option.get("required", False))
    if not _VARIABLE.fullmatch(variable):
        return None, "not a valid Ansible variable name"
    if _templated(default):
        return None, ("its default is computed when the play runs (%s); AWX sends survey answers as unsafe text, "
                      "so it would arrive as literal text" % default)
    q = {
        "question_name": _label(role, variable),
        "question_description": "%s (variable %s%s)" % (_description(option), variable, ", role %s" % role if role else ""),
        "variable": variable,
        "required": required,
    }
    if kind == "bool":
        q.update(type="multiplechoice", choices=list(BOOL_CHOICES))
        if default is not None:
            q["default"] = "true" if default else "false"
        return q, None
    if kind == "int":
        if default is not None and (isinstance(default, bool) or not isinstance(default, int)):
            return None, "its default %r is not an integer" % (default,)
        q["type"] = "integer"
        if choices:
            return None, "an integer with choices has no survey type that answers an int"
        if default is not None:
            q["default"] = default
        return q, None
    if kind == "float":
        if default is not None and (isinstance(default, bool) or not isinstance(default, (int, float))):
            return None, "its default %r is not a number" % (default,)
        q["type"] = "float"
        if choices:
            return None, "a float with choices has no survey type that answers a number"
        if default is not None:
            q["default"] = default
        return q, None
    if kind == "list":
        if not choices:
            return None, ("a list without choices: a survey answer is a string, the role needs a list; set it in the "
                          "inventory or the job template's extra_vars")
        if option.get("elements", "str") not in ("str", "path"):
            return None, "a list of %s: multiselect answers are strings" % option.get("elements")
        q.update(type="multiselect", choices=[str(c) for c in choices if str(c) != ""])
        if default:
            q["default"] = "\n".join(str(d) for d in default)
        return q, None
    if kind in ("str", "path"):
        if option.get("no_log"):
            if choices:
                return None, "a secret with choices"
            # No default: the role's own default stays (see the module docstring).
            q["type"] = "password"
            return q, None
        if default is None and not required:
            return None, ("no default (null means the role decides, e.g. from a profile); a blank text answer would "
                          "arrive as '' rather than null")
        if choices:
            listed = [str(c) for c in choices if str(c) != ""]
            if any(retyped(c) for c in listed):
                return None, ("its choices %s include one AWX's answer would turn into another type "
                              "(ansible-core reads the answers as YAML)" % ", ".join(listed))
            q.update(type="multiplechoice", choices=listed)
            # An empty-string choice means "not set": it is the blank answer, not a listed one.
            if default is not None and str(default) != "":
                if str(default) not in listed:
                    return None, "its default %r is not one of its choices" % (default,)
                q["default"] = str(default)
            elif default is not None and "" in [str(c) for c in choices]:
                q["required"] = False
            return q, None
        q["type"] = "text"
        if default is not None:
            if not isinstance(default, (str, int, float)) or isinstance(default, bool):
                return None, "its default %r is not text" % (default,)
            # An empty default is no default: AWX would send '' and ansible-core (2.19) reads a
            # '' tagged !unsafe in AWX's extra vars file as null; unanswered, the role's '' stays.
            if str(default) != "":
                if retyped(str(default)):
                    return None, ("its default %r would reach the play as another type: ansible-core reads AWX's answers "
                                  "as YAML, even tagged !unsafe" % str(default))
                q["default"] = str(default)
        return q, None
    if kind == "dict":
        return None, ("a dict: a survey answer is a string, the role needs a dict; set it in the inventory or the job "
                      "template's extra_vars")
    return None, "type %s has no survey question type" % kind


def survey(roles, name, description="", ask=None, overrides=None, choices=None):
    """The survey of a job template from its roles' options.

    roles: ordered mapping role name -> options (meta/argument_specs.yml argument_specs.main.options).
    ask: the variables the survey asks, in that order (the job template's allow-list); None asks
    every option that can be a question and that a launcher may choose. A variable a launcher may
    not choose (admin_only) is refused in ask unless choices lists the values a launcher may pick.
    overrides: variable -> question keys to set (OVERRIDE_KEYS), e.g. the min/max an argument spec
    cannot say. choices: variable -> the values (strings) a launcher may pick, which the admin
    chose: the question becomes a multiple choice of exactly those.
    Returns {"survey": {name, description, spec}, "skipped": [{role, variable, reason}]}; the spec
    may be empty (AWX refuses an empty one: do not enable the survey then).
    """
    overrides = dict(overrides or {})
    choices = dict(choices or {})
    explicit = ask is not None
    ask = list(ask or [])
    owner, options = {}, {}
    skipped = []
    for role, role_options in (roles or {}).items():
        for variable, option in (role_options or {}).items():
            if variable in owner:
                skipped.append({"role": role, "variable": variable, "reason": "asked already by an earlier role"})
                continue
            owner[variable], options[variable] = role, option or {}
    problems = []
    unknown = [v for v in ask + list(choices) if v not in owner]
    if unknown:
        raise SurveyError("survey asks or lists choices for %s, which no role of the survey has"
                          % ", ".join(sorted(set(unknown))))
    duplicated = sorted(set(v for v in ask if ask.count(v) > 1))
    if duplicated:
        raise SurveyError("survey asks %s more than once" % ", ".join(duplicated))
    if explicit:
        stray = sorted(set(choices) - set(ask))
        if stray:
            raise SurveyError("survey choices for %s, which the survey does not ask" % ", ".join(stray))
    order = ask if explicit else list(owner)
    spec = []
    for variable in order:
        role, option = owner[variable], options[variable]
        fixed = admin_only(variable, option)
        if variable in choices:
            problem = _choices_problem(variable, choices[variable])
            if problem:
                problems.append(problem)
                continue
        if variable in choices:
            kind = option.get("type", "str")
            if kind not in ("str", "path", "list") or kind == "list" and option.get("elements", "str") not in ("str", "path"):
                problems.append("survey choices for %s: only a text option or a list of texts takes them (it is %s)"
                                % (variable, kind))
                continue
            spec.append(_restricted({"question_name": _label(role, variable), "variable": variable,
                                     "required": bool(option.get("required", False)),
                                     "question_description": "%s (variable %s, role %s)"
                                     % (_description(option), variable, role)}, option, choices[variable]))
            continue
        q, reason = question(variable, option, role)
        if fixed:
            if explicit:
                problems.append("survey asks %s, which a launcher may not choose (%s): set it in the job template's "
                                "extra_vars, or list the values a launcher may pick in survey_choices" % (variable, fixed))
            else:
                skipped.append({"role": role, "variable": variable, "reason": "fixed by the job template's admin: " + fixed})
            continue
        if q is None:
            if explicit:
                problems.append("survey asks %s, which cannot be a question: %s" % (variable, reason))
            else:
                skipped.append({"role": role, "variable": variable, "reason": reason})
            continue
        spec.append(q)
    if explicit:
        for variable in owner:
            if variable not in ask:
                fixed = admin_only(variable, options[variable])
                skipped.append({"role": owner[variable], "variable": variable,
                                "reason": "not asked by the job template" + (" (its admin's: %s)" % fixed if fixed else "")})
    if problems:
        raise SurveyError("; ".join(problems))
    by_variable = dict((q["variable"], q) for q in spec)
    for variable, changes in overrides.items():
        if variable not in by_variable:
            why = [s["reason"] for s in skipped if s["variable"] == variable]
            raise SurveyError("survey override for %s: not a question of this survey (%s)"
                              % (variable, why[0] if why else "no role of the survey has it"))
        bad = sorted(set(changes or {}) - set(OVERRIDE_KEYS))
        if bad:
            raise SurveyError("survey override for %s: %s cannot be set (only %s)"
                              % (variable, ", ".join(bad), ", ".join(OVERRIDE_KEYS)))
        by_variable[variable].update(changes or {})
    for q in spec:
        problems.extend(question_problems(q))
    if problems:
        raise SurveyError("; ".join(problems))
    if not description:
        description = "Generated from the argument specs of %s." % ", ".join(roles or {}) if roles else ""
    return {"survey": {"name": name, "description": description, "spec": spec}, "skipped": skipped}


def question_problems(q):
    """What would make AWX refuse the question or drop its default (overrides can cause it)."""
    problems = []
    variable = q.get("variable")
    for key in ("min", "max"):
        if key in q and q[key] is not None and (isinstance(q[key], bool) or not isinstance(q[key], int)):
            problems.append("%s: %s=%r must be an integer (AWX takes no other)" % (variable, key, q[key]))
    if problems:
        return problems
    low, high = q.get("min"), q.get("max")
    if low is not None and high is not None and low > high:
        problems.append("%s: min %s is above max %s" % (variable, low, high))
    if "default" in q and q["type"] in ("integer", "float"):
        if low is not None and q["default"] < low or high is not None and q["default"] > high:
            problems.append("%s: default %s is outside %s..%s" % (variable, q["default"], low, high))
    if "default" in q and q["type"] == "text" and q["default"] != "":
        if low is not None and len(q["default"]) < low or high is not None and len(q["default"]) > high:
            problems.append("%s: default %r is not %s..%s characters long" % (variable, q["default"], low, high))
    return problems


def bool_answer(value):
    """The answer AWX sends for a bool question (what the role reads with | bool)."""
    return "true" if value else "false"
