"""AWX surveys from argument specs: the mapping, and every generated survey held to AWX's rules
(awx_rules.py, ported from AWX's source) and to the roles' own argument spec validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.gpufleet.cluster.plugins.module_utils import awx_survey
from ansible_collections.gpufleet.cluster.plugins.module_utils.awx_survey import SurveyError, question, survey

from ansible.parsing.dataloader import DataLoader

from .awx_rules import display_survey_spec, job_extra_vars, safe_dump, survey_element_validation, validate_spec_data, yaml_dump

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# Roles a job template can run: those with a main entry point (the internal common role is only
# ever called with tasks_from).
ROLES = sorted(r for r in os.listdir(os.path.join(REPO, "roles"))
               if os.path.exists(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml"))
               and "main:" in open(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml")).read())


def options(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def job_templates():
    with open(os.path.join(REPO, "playbooks", "vars", "awx_job_templates.yml")) as handle:
        return yaml.safe_load(handle)["gpufleet_awx_job_templates"]


def template_survey(jt):
    return survey(dict((r, options(r)) for r in jt["survey_roles"]), jt["name"], "",
                  jt.get("survey", []), jt.get("survey_overrides"), jt.get("survey_choices"))


# --- the mapping --------------------------------------------------------------------------------

def test_types_map_to_the_question_types_awx_answers_with():
    q = question("r_flag", {"type": "bool", "default": False, "description": "Do C(it)."}, "r")[0]
    assert q == {"question_name": "r: Flag", "question_description": "Do it. (variable r_flag, role r)",
                 "variable": "r_flag", "required": False, "type": "multiplechoice", "choices": ["true", "false"],
                 "default": "false"}
    assert question("r_n", {"type": "int", "default": 3})[0]["type"] == "integer"
    assert question("r_n", {"type": "int", "default": 3})[0]["default"] == 3
    assert question("r_x", {"type": "float", "default": 0})[0]["type"] == "float"
    assert question("r_s", {"type": "str", "default": "a"})[0]["type"] == "text"
    assert question("r_s", {"default": "a"})[0]["type"] == "text"  # type defaults to str
    assert question("r_p", {"type": "path", "default": "/a"})[0]["type"] == "text"
    assert question("r_c", {"type": "str", "choices": ["a", "b"], "default": "b"})[0] == {
        "question_name": "R c", "question_description": " (variable r_c)", "variable": "r_c", "required": False,
        "type": "multiplechoice", "choices": ["a", "b"], "default": "b"}
    multi = question("r_l", {"type": "list", "elements": "str", "choices": ["a", "b", "c"], "default": ["a", "c"]})[0]
    assert multi["type"] == "multiselect" and multi["default"] == "a\nc"


def test_secrets_are_passwords_without_a_default():
    q = question("r_secret", {"type": "str", "no_log": True, "default": "hunter2"}, "r")[0]
    assert q["type"] == "password" and "default" not in q and "hunter2" not in repr(q)


@pytest.mark.parametrize("option, reason", [
    ({"type": "dict", "default": {}}, "a dict"),
    ({"type": "list", "elements": "str", "default": []}, "a list without choices"),
    ({"type": "list", "elements": "int", "choices": [1, 2]}, "a list of int"),
    ({"type": "raw"}, "type raw has no survey question type"),
    ({"type": "str", "default": "{{ playbook_dir }}/x"}, "computed when the play runs"),
    ({"type": "str"}, "a blank text answer would arrive as ''"),
    ({"type": "int", "default": "8"}, "not an integer"),
    ({"type": "int", "default": True}, "not an integer"),
    ({"type": "str", "choices": ["a"], "default": "b"}, "not one of its choices"),
])
def test_what_a_survey_cannot_ask_is_left_out_with_the_reason(option, reason):
    q, why = question("r_v", option, "r")
    assert q is None and reason in why


def test_an_empty_text_default_is_no_default():
    q = question("r_size", {"type": "str", "default": ""})[0]
    assert q["type"] == "text" and "default" not in q
    # Why: AWX writes '' tagged !unsafe, and ansible-core reads that back as null.
    assert DataLoader().load(safe_dump({"r_size": ""})) == {"r_size": None}


def test_an_int_without_default_is_asked_but_not_a_str():
    assert question("r_n", {"type": "int"})[0] == {"question_name": "R n", "question_description": " (variable r_n)",
                                                   "variable": "r_n", "required": False, "type": "integer"}
    assert question("r_s", {"type": "str", "required": True})[0]["required"] is True


def test_an_empty_choice_is_the_blank_answer():
    q = question("r_mode", {"type": "str", "choices": ["", "Filesystem", "Block"], "default": ""})[0]
    assert q["choices"] == ["Filesystem", "Block"] and "default" not in q and q["required"] is False


def test_markup_is_plain_text():
    assert awx_survey.plain("C(a) V(b) O(c=d) P(gpufleet.cluster.linstor#role) L(docs,https://x) U(https://y)") == \
        "a b c=d gpufleet.cluster.linstor docs https://y"


def test_overrides_ask_and_duplicates():
    roles = {"a": {"a_n": {"type": "int", "default": 5}, "a_d": {"type": "dict"}}, "b": {"a_n": {"type": "int"}}}
    made = survey(roles, "T", overrides={"a_n": {"min": 1, "max": 10}})
    assert made["survey"]["spec"][0]["min"] == 1 and made["survey"]["spec"][0]["max"] == 10
    assert sorted((s["role"], s["variable"]) for s in made["skipped"]) == [("a", "a_d"), ("b", "a_n")]
    assert made["survey"]["description"] == "Generated from the argument specs of a, b."
    assert [q["variable"] for q in survey(roles, "T", ask=[])["survey"]["spec"]] == []
    assert [s["reason"] for s in survey(roles, "T", ask=[])["skipped"] if s["variable"] == "a_n" and s["role"] == "a"] \
        == ["not asked by the job template"]
    with pytest.raises(SurveyError, match="survey asks or lists choices for nope, which no role of the survey has"):
        survey(roles, "T", ask=["nope"])
    with pytest.raises(SurveyError, match="survey asks a_d, which cannot be a question: a dict"):
        survey(roles, "T", ask=["a_d"])
    with pytest.raises(SurveyError, match="survey asks a_n more than once"):
        survey(roles, "T", ask=["a_n", "a_n"])
    with pytest.raises(SurveyError, match=r"override for a_d: not a question of this survey \(a dict"):
        survey(roles, "T", overrides={"a_d": {"min": 1}})
    with pytest.raises(SurveyError, match="choices cannot be set"):
        survey(roles, "T", overrides={"a_n": {"choices": ["1"]}})
    with pytest.raises(SurveyError, match=r"a_n: min=0.5 must be an integer \(AWX takes no other\)"):
        survey(roles, "T", overrides={"a_n": {"min": 0.5}})
    with pytest.raises(SurveyError, match=r"a_n: default 5 is outside 6..10"):
        survey(roles, "T", overrides={"a_n": {"min": 6, "max": 10}})
    with pytest.raises(SurveyError, match="min 3 is above max 2"):
        survey(roles, "T", overrides={"a_n": {"min": 3, "max": 2}})


# --- what a launcher may choose -------------------------------------------------------------------

@pytest.mark.parametrize("variable, option, why", [
    ("r_password", {"type": "str", "no_log": True}, "a secret"),
    ("r_chart_ref", {"type": "str", "default": "oci://x"}, "a chart or an image reference"),
    ("r_chart_version", {"type": "str"}, "a chart or an image reference"),
    ("r_fio_benchmark_image", {"type": "str"}, "a chart or an image reference"),
    ("r_queue_image", {"type": "str"}, "a chart or an image reference"),
    ("r_report_dir", {"type": "str"}, "a path"),
    ("r_host_path", {"type": "str"}, "a path"),
    ("r_anything", {"type": "path"}, "a path"),
    ("r_helm_binary", {"type": "str"}, "a path"),
    ("r_kubeconfig", {"type": "str"}, "which cluster, service and identity"),
    ("r_greptimedb_user", {"type": "str"}, "which cluster, service and identity"),
    ("r_namespace", {"type": "str"}, "a namespace"),
    ("r_claim_namespaces", {"type": "list"}, "a namespace"),
    ("r_greptimedb_host", {"type": "str"}, "where the job connects"),
    ("r_alertmanager_address", {"type": "str"}, "where the job connects"),
    ("r_greptimedb_port", {"type": "int"}, "where the job connects"),
    ("r_greptimedb_node", {"type": "str"}, "where the job connects"),
    ("r_release_name", {"type": "str"}, "the name of an object the job changes"),
    ("r_greptimedb_volume_name", {"type": "str"}, "the name of an object the job changes"),
    ("r_state", {"type": "str", "choices": ["present", "absent"]}, "deletes or overwrites"),
    ("r_recover_pending_revision", {"type": "int"}, "deletes or overwrites"),
    ("r_replace_storageclass_names", {"type": "list"}, "deletes or overwrites"),
    ("r_delete_volume", {"type": "str"}, "deletes or overwrites"),
    ("r_force", {"type": "bool"}, "deletes or overwrites"),
])
def test_what_a_launcher_may_not_choose(variable, option, why):
    assert why in awx_survey.admin_only(variable, option)
    with pytest.raises(SurveyError, match="survey asks %s, which a launcher may not choose" % variable):
        survey({"r": {variable: option}}, "T", ask=[variable])
    assert survey({"r": {variable: option}}, "T")["survey"]["spec"] == [], "never asked by default either"


@pytest.mark.parametrize("variable", ["r_wait_timeout", "r_profile", "r_fio_benchmark_size", "r_metrics_format",
                                      "r_storage_class", "r_name", "r_confirm", "r_rollback_digest", "r_zone_label",
                                      "r_enabled", "r_metrics_ttl", "r_controller_replicas"])
def test_what_a_launcher_may_choose(variable):
    assert awx_survey.admin_only(variable, {"type": "str"}) == ""


def test_admin_choices_make_a_multiple_choice_of_exactly_those_and_awx_refuses_any_other_answer():
    roles = {"r": {"r_namespace": {"type": "str", "default": "default"}, "r_name": {"type": "str", "required": True},
                   "r_namespaces": {"type": "list", "elements": "str", "default": []}}}
    made = survey(roles, "T", ask=["r_namespace", "r_name", "r_namespaces"],
                  choices={"r_namespace": ["team-a", "team-b"], "r_namespaces": ["team-a", "team-b"]})
    by_var = dict((q["variable"], q) for q in made["survey"]["spec"])
    assert by_var["r_namespace"]["type"] == "multiplechoice" and by_var["r_namespace"]["choices"] == ["team-a", "team-b"]
    assert by_var["r_namespace"]["required"] is True and "default" not in by_var["r_namespace"], \
        "the role's default is not among the admin's: the launcher must pick one"
    assert by_var["r_namespaces"]["type"] == "multiselect"
    assert validate_spec_data(copy.deepcopy(made["survey"])) is None
    errors = job_extra_vars(made["survey"], {"r_namespace": "kube-system", "r_name": "c"})[1]
    assert errors == ["Value kube-system for 'r_namespace' expected to be one of ['team-a', 'team-b']."]
    assert job_extra_vars(made["survey"], {"r_namespace": "team-b", "r_name": "c"}) == (
        {"r_namespace": "team-b", "r_name": "c"}, [])
    with pytest.raises(SurveyError, match="survey choices for r_namespace must be a non-empty list"):
        survey(roles, "T", ask=["r_namespace"], choices={"r_namespace": []})
    with pytest.raises(SurveyError, match="survey choices for r_namespace: yes would reach the play as another type"):
        survey(roles, "T", ask=["r_namespace"], choices={"r_namespace": ["yes"]})
    with pytest.raises(SurveyError, match="survey choices for r_namespaces, which the survey does not ask"):
        survey(roles, "T", ask=["r_name"], choices={"r_namespaces": ["a"]})


# --- every role's survey against AWX's rules ----------------------------------------------------

def _check_against_awx(made):
    """The spec AWX would store, the job it would launch with the defaults, and idempotence."""
    spec = made["survey"]
    if not spec["spec"]:
        assert validate_spec_data(copy.deepcopy(spec)) == "'spec' doesn't contain any items."
        return {}
    stored = copy.deepcopy(spec)
    assert validate_spec_data(stored) is None, spec
    # What AWX keeps is what was sent, and what it shows is what awx.awx compares with: equal,
    # so a second run of awx_configure.yml changes nothing.
    assert stored == spec
    assert display_survey_spec(stored) == spec
    for element in spec["spec"]:
        assert element["type"] in awx_survey.QUESTION_TYPES
        assert "$encrypted$" not in repr(element)
        if "default" in element:
            assert survey_element_validation(element, {element["variable"]: element["default"]}) == [], element
    # A launch answers the required questions (the UI pre-fills their defaults); the rest take
    # the defaults AWX applies.
    answers = dict((e["variable"], e.get("default", SAMPLE[e["type"]])) for e in spec["spec"] if e["required"])
    extra_vars, errors = job_extra_vars(spec, answers)
    assert errors == []
    _check_ansible_reads(spec, extra_vars)
    return extra_vars


def _kind(value):
    """The plain type of a loaded value (ansible-core's tagged str and int are subclasses)."""
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    return repr(value)


def _check_ansible_reads(spec, extra_vars):
    """What the play gets from the file AWX writes: ansible-core's own loader (2.19 resolves a
    value tagged !unsafe as plain YAML, so a bool question's "false" becomes False). Every other
    value must arrive unchanged, and so must every choice a person can pick."""
    bools = set(q["variable"] for q in spec["spec"] if q.get("choices") == ["true", "false"])
    for dump in (safe_dump, yaml_dump):
        read = DataLoader().load(dump(extra_vars))
        for variable, value in extra_vars.items():
            if variable in bools and dump is safe_dump:
                assert read[variable] is (value == "true"), (variable, value, read[variable])
            else:
                assert read[variable] == value and _kind(read[variable]) == _kind(value), (variable, value, read[variable])
    for q in spec["spec"]:
        if q.get("choices") and q["variable"] not in bools:
            for choice in q["choices"]:
                read = DataLoader().load(safe_dump({"v": choice}))["v"]
                assert read == choice and _kind(read) == "str", (q["variable"], choice)


SAMPLE = {"text": "x", "textarea": "x", "password": "x", "integer": 1, "float": 1.0}


@pytest.mark.parametrize("role", ROLES)
def test_every_roles_survey_passes_awx_and_the_role(role):
    made = survey({role: options(role)}, "gpufleet %s" % role)
    extra_vars = _check_against_awx(made)
    # A required option a launcher may not choose comes from the template's admin (extra vars).
    admin = dict((v, {"str": "x", "path": "/x", "int": 1, "bool": True, "list": [], "dict": {}}[o.get("type", "str")])
                 for v, o in options(role).items() if o.get("required") and awx_survey.admin_only(v, o))
    _check_role_accepts(role, dict(admin, **extra_vars))
    asked = set(q["variable"] for q in made["survey"]["spec"])
    left = set(s["variable"] for s in made["skipped"])
    assert asked | left == set(options(role)) and not asked & left


@pytest.mark.parametrize("jt", job_templates(), ids=lambda jt: jt["name"])
def test_every_job_templates_survey_passes_awx_and_its_roles(jt):
    made = template_survey(jt)
    extra_vars = _check_against_awx(made)
    for role in jt["survey_roles"]:
        _check_role_accepts(role, dict((k, v) for k, v in extra_vars.items() if k in options(role)))
    assert bool(made["survey"]["spec"]) == bool(jt["survey_roles"])


def _check_role_accepts(role, extra_vars):
    """The role's own argument spec validation (ansible-core's, as at role entry) takes the answers."""
    spec = copy.deepcopy(options(role))
    for option in spec.values():
        option.pop("description", None)
        option.pop("default", None)  # the answers, not the defaults, are validated
    result = ArgumentSpecValidator(spec).validate(extra_vars)
    assert result.error_messages == [], (role, extra_vars, result.error_messages)


def test_migrate_pvc_answers_as_awx_sends_them():
    jt = [j for j in job_templates() if j["name"] == "gpufleet migrate_pvc"][0]
    spec = template_survey(jt)["survey"]
    by_var = dict((q["variable"], q) for q in spec["spec"])
    # The confirmation is a text naming the claim, empty unless answered: nothing standing to leave on.
    confirm = by_var["migrate_pvc_confirm"]
    assert (confirm["type"], confirm.get("default"), confirm["max"]) == ("text", None, 317)
    assert "migrate_pvc_confirm_data_loss" not in by_var
    extra_vars, errors = job_extra_vars(spec, {"migrate_pvc_name": "c", "migrate_pvc_wait_timeout": 30})
    assert errors == [] and "migrate_pvc_confirm" not in extra_vars and "migrate_pvc_rollback_digest" not in extra_vars
    assert extra_vars["migrate_pvc_wait_timeout"] == 30 and extra_vars["migrate_pvc_rollback"] == "false"
    assert extra_vars["migrate_pvc_retain_volume"] == "false"
    # The answers AWX refuses at launch, with AWX's messages.
    errors = job_extra_vars(spec, {"migrate_pvc_name": "c", "migrate_pvc_wait_timeout": "30",
                                   "migrate_pvc_retain_volume": "yes", "migrate_pvc_volume_mode": "Raw"})[1]
    assert "Value 30 for 'migrate_pvc_wait_timeout' expected to be an integer." in errors
    assert "Value yes for 'migrate_pvc_retain_volume' expected to be one of ['true', 'false']." in errors
    assert "Value Raw for 'migrate_pvc_volume_mode' expected to be one of ['Filesystem', 'Block']." in errors
    errors = job_extra_vars(spec, {"migrate_pvc_name": "", "migrate_pvc_wait_timeout": 0})[1]
    assert "'migrate_pvc_name' value  is too small (length is 0 must be at least 1)." in errors
    assert "'migrate_pvc_wait_timeout' value 0 is too small (must be at least 1)." in errors
    errors = job_extra_vars(spec, {})[1]
    assert errors == ["'migrate_pvc_name' value missing"]
    errors = job_extra_vars(spec, {"migrate_pvc_name": "c", "migrate_pvc_kubeconfig": "/root/.kube/config"})[1]
    assert errors == ["Variables migrate_pvc_kubeconfig are not allowed on launch."]


def test_the_checker_refuses_what_awx_refuses():
    """The port itself: specs AWX answers 400 to are refused here too."""
    good = {"question_name": "q", "variable": "v", "required": False, "type": "text"}
    cases = [
        ({"name": "n", "spec": [good]}, "Field 'description' is missing from survey spec."),
        ({"name": "n", "description": "", "spec": [dict(good, required="no")]}, "'required' in survey question 0 expected to be boolean."),
        ({"name": "n", "description": "", "spec": [good, good]}, "'variable' 'v' duplicated in survey question 1."),
        ({"name": "n", "description": "", "spec": [dict(good, type="bool")]}, "is not one of"),
        ({"name": "n", "description": "", "spec": [dict(good, type="integer", default="1")]}, "expected to be integer."),
        ({"name": "n", "description": "", "spec": [dict(good, min=0.5)]}, "The min limit in survey question 0 expected to be integer."),
        ({"name": "n", "description": "", "spec": [dict(good, type="multiplechoice")]}, "must specify choices."),
        ({"name": "n", "description": "", "spec": [dict(good, type="multiplechoice", choices=["a"], default="b")]},
         "Default choice must be answered from the choices listed."),
        ({"name": "n", "description": "", "spec": [dict(good, type="multiselect", choices=["a"], default=["a"])]},
         "expected to be string."),
        ({"name": "n", "description": "", "spec": [dict(good, default="$encrypted$")]}, "reserved keyword for password"),
        ({"name": "n", "description": "", "spec": [dict(good, type="password", default="$encrypted$")]},
         "may not be used for new default"),
    ]
    for spec, message in cases:
        assert message in (validate_spec_data(spec) or ""), (spec, message)
    assert survey_element_validation(dict(good, type="integer"), {"v": True}) == ["Value True for 'v' expected to be an integer."]


@pytest.mark.parametrize("text", ["4.2", "4.10", "0755", "yes", "Off", "", "null", "~", "2026-01-01", "1.0e+3", "0x1f",
                                  "-1", "1_000", ".5", "12:30", "2.6.0", "1.8.7", "10G", "30d", "1e3", "y", "abc",
                                  "ms-swift-cache-pvc", "/raid/models", "https://x:443/a"])
def test_retyped_agrees_with_ansible_cores_loader(text):
    """awx_survey.retyped (used to keep such defaults out of surveys) says what ansible-core's
    own loader does with AWX's extra vars file."""
    read = DataLoader().load(safe_dump({"v": text}))["v"]
    assert awx_survey.retyped(text) == (_kind(read) != "str" or read != text), (text, read)


def test_defaults_that_would_change_type_are_not_asked():
    q, why = question("r_version", {"type": "str", "default": "4.2"})
    assert q is None and "'4.2' would reach the play as another type" in why
    q, why = question("r_mode", {"type": "str", "choices": ["on", "off"], "default": "on"})
    assert q is None and "turn into another type" in why


# Hostile launch answers, one per class a launcher may not choose.
HOSTILE = {"chart_ref": "oci://evil.example/chart", "chart_version": "6.6.6", "chart_values": "{installCRDs: false}",
           "image": "evil.example/miner:latest", "dir": "/", "path": "/etc", "binary": "/bin/sh",
           "kubeconfig": "/root/.kube/config", "context": "admin@prod", "namespace": "kube-system", "state": "absent",
           "host": "evil.example", "address": "evil.example:9093", "port": 1, "node": "control-plane-1",
           "release_name": "kube-proxy", "password": "x", "recover_pending_revision": 1, "delete_volume": "pvc-other-team"}


@pytest.mark.parametrize("jt", job_templates(), ids=lambda jt: jt["name"])
def test_a_launcher_cannot_set_what_the_templates_admin_fixes(jt):
    """Each job template launched with a hostile answer for every variable of its roles that its
    survey does not ask: AWX refuses the launch (no ask_variables_on_launch), naming them; no asked
    variable is one a launcher may not choose, unless it is a choice among the admin's values."""
    made = template_survey(jt)["survey"]
    asked = dict((q["variable"], q) for q in made["spec"])
    roles_options = {}
    for role in jt["survey_roles"]:
        roles_options.update(options(role))
    for variable, question_ in asked.items():
        fixed = awx_survey.admin_only(variable, roles_options[variable])
        assert not fixed or question_["choices"] == (jt.get("survey_choices") or {})[variable], (variable, fixed)
    hostile = {}
    for variable, option in roles_options.items():
        if variable in asked:
            continue
        kinds = [k for k in HOSTILE if variable.endswith(k)] or ["path"]
        hostile[variable] = HOSTILE[kinds[0]] if option.get("type") != "int" else 1
    if not hostile:
        return
    extra_vars, errors = job_extra_vars(made, hostile)
    assert errors[-1] == "Variables %s are not allowed on launch." % ", ".join(sorted(hostile)), errors
    assert not set(hostile) & set(k for k in extra_vars if k not in (jt.get("extra_vars") or {}))
    for variable, listed in (jt.get("survey_choices") or {}).items():
        refused = job_extra_vars(made, {variable: "kube-system"})[1]
        assert "Value kube-system for '%s' expected to be one of %s." % (variable, listed) in refused
