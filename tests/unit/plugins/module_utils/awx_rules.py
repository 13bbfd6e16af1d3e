"""AWX's own survey rules, ported to check the surveys this collection generates.

No AWX server runs here, so the tests hold the generated specs to AWX's code, ported line by
line from ansible/awx (devel; awx 24.x):

- ``validate_spec_data``: awx/api/views/__init__.py ``JobTemplateSurveySpec._validate_spec_data``,
  run when a survey spec is POSTed to /api/v2/job_templates/<id>/survey_spec/ (what
  awx.awx.job_template's ``update_survey`` does). Returns the error AWX would answer with
  (HTTP 400), or None; like AWX it normalises the spec it accepts, in place.
- ``SURVEY_TYPE_MAPPING``: awx/main/constants.py.
- ``survey_element_validation``: awx/main/models/mixins.py
  ``SurveyJobTemplateMixin._survey_element_validation``, run on every launch for each answer and
  for each default before it is applied.
- ``job_extra_vars``: the same file's ``_update_unified_job_kwargs`` (JT extra_vars, then survey
  defaults that pass validation, then the launch's answers) and ``_accept_or_ignore_variables``.
- ``display_survey_spec``: the same file; what a GET of the survey returns, which
  awx.awx.job_template compares with the spec it is given to decide whether it changed.
- ``safe_dump``: awx/main/utils/safe_yaml.py, how AWX writes the job's extra vars file (every
  string of a survey answer or launch variable tagged ``!unsafe``; only the job template's own
  extra vars are trusted, with ALLOW_JINJA_IN_EXTRA_VARS at its default ``template``).
"""

import copy

import yaml

SURVEY_TYPE_MAPPING = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                       "integer": int, "float": (float, int)}


def validate_spec_data(new_spec, old_spec=None):
    for field, expect_type, type_label in [("name", str, "string"), ("description", str, "string"),
                                           ("spec", list, "list of items")]:
        if field not in new_spec:
            return "Field '{}' is missing from survey spec.".format(field)
        if not isinstance(new_spec[field], expect_type):
            return "Expected {} for field '{}', received {} type.".format(type_label, field, type(new_spec[field]).__name__)
    if len(new_spec["spec"]) < 1:
        return "'spec' doesn't contain any items."
    variable_set = set()
    old_spec_dict = pivot_spec(old_spec or {})
    for idx, survey_item in enumerate(new_spec["spec"]):
        if not isinstance(survey_item, dict):
            return "Survey question %s is not a json object." % idx
        for field_name in ["type", "question_name", "variable", "required"]:
            if field_name not in survey_item:
                return "'{}' missing from survey question {}".format(field_name, idx)
            allow_types, type_label = (bool, "boolean") if field_name == "required" else (str, "string")
            if not isinstance(survey_item[field_name], allow_types):
                return "'{}' in survey question {} expected to be {}.".format(field_name, idx, type_label)
        if survey_item["variable"] in variable_set:
            return "'variable' '%s' duplicated in survey question %s." % (survey_item["variable"], idx)
        variable_set.add(survey_item["variable"])
        qtype = survey_item["type"]
        if qtype not in SURVEY_TYPE_MAPPING:
            return "'{}' in survey question {} is not one of '{}' allowed question types.".format(
                qtype, idx, ", ".join(SURVEY_TYPE_MAPPING))
        if "default" in survey_item and survey_item["default"] != "":
            if not isinstance(survey_item["default"], SURVEY_TYPE_MAPPING[qtype]):
                return "Default value {} in survey question {} expected to be {}.".format(
                    survey_item["default"], idx, qtype if qtype in ["integer", "float"] else "string")
        for key in ["min", "max"]:
            if key in survey_item and survey_item[key] is not None and not isinstance(survey_item[key], int):
                return "The {} limit in survey question {} expected to be integer.".format(key, idx)
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in survey_item:
                return "Survey question {} of type {} must specify choices.".format(idx, qtype)
            if isinstance(survey_item["choices"], str):
                survey_item["choices"] = "\n".join(c for c in survey_item["choices"].splitlines() if c.strip() != "")
            if "default" in survey_item:
                if isinstance(survey_item["default"], str):
                    survey_item["default"] = "\n".join(c for c in survey_item["default"].splitlines() if c.strip() != "")
                    list_of_defaults = survey_item["default"].splitlines()
                else:
                    list_of_defaults = survey_item["default"]
                if qtype == "multiplechoice" and len(list_of_defaults) > 1:
                    return "Multiple Choice (Single Select) can only have one default value."
                if any(item not in survey_item["choices"] for item in list_of_defaults):
                    return "Default choice must be answered from the choices listed."
        if "default" in survey_item and isinstance(survey_item["default"], str) and survey_item["default"].startswith("$encrypted$"):
            if qtype != "password":
                return "$encrypted$ is a reserved keyword for password question defaults, survey question %s is type %s." % (idx, qtype)
            old_element = old_spec_dict.get(survey_item["variable"], {})
            old_default = old_element.get("default")
            if not (isinstance(old_default, str) and (old_default.startswith("$encrypted$") or old_default == "")):
                return "$encrypted$ is a reserved keyword, may not be used for new default in position %s." % idx
            survey_item["default"] = old_element["default"]
        elif qtype == "password" and "default" in survey_item:
            # AWX stores encrypt_value(default); the marker stands for it here.
            survey_item["default"] = "$encrypted$UTF8$AESCBC$stored"
    return None


def pivot_spec(spec):
    return dict((e["variable"], e) for e in spec.get("spec", []) if "variable" in e)


def survey_element_validation(survey_element, data, validate_required=True):
    errors = []
    variable = survey_element["variable"]
    if survey_element["type"] == "password":
        password_value = data.get(variable)
        if isinstance(password_value, str) and password_value == "$encrypted$":
            if survey_element.get("default") is None and survey_element["required"] and validate_required:
                errors.append("'%s' value missing" % variable)
            return errors
    if variable not in data and survey_element["required"]:
        if validate_required:
            errors.append("'%s' value missing" % variable)
    elif survey_element["type"] in ["textarea", "text", "password"]:
        if variable in data:
            value = data[variable]
            if not isinstance(value, str):
                errors.append("Value %s for '%s' expected to be a string." % (value, variable))
                return errors
            if survey_element.get("min") not in ["", None] and len(value) < int(survey_element["min"]):
                errors.append("'%s' value %s is too small (length is %s must be at least %s)."
                              % (variable, value, len(value), survey_element["min"]))
            if survey_element.get("max") not in ["", None] and len(value) > int(survey_element["max"]):
                errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, survey_element["max"]))
    elif survey_element["type"] == "integer":
        if variable in data:
            value = data[variable]
            if not isinstance(value, int) or isinstance(value, bool):  # AWX: type(value) != int
                errors.append("Value %s for '%s' expected to be an integer." % (value, variable))
                return errors
            if survey_element.get("min") not in ["", None] and value < int(survey_element["min"]):
                errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, survey_element["min"]))
            if survey_element.get("max") not in ["", None] and value > int(survey_element["max"]):
                errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, survey_element["max"]))
    elif survey_element["type"] == "float":
        if variable in data:
            value = data[variable]
            if type(value) not in (float, int):
                errors.append("Value %s for '%s' expected to be a numeric type." % (value, variable))
                return errors
            if survey_element.get("min") not in ["", None] and value < float(survey_element["min"]):
                errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, survey_element["min"]))
            if survey_element.get("max") not in ["", None] and value > float(survey_element["max"]):
                errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, survey_element["max"]))
    elif survey_element["type"] == "multiselect":
        if variable in data:
            if not isinstance(data[variable], list):  # AWX: type(...) != list
                errors.append("'%s' value is expected to be a list." % variable)
            else:
                choice_list = _choices(survey_element)
                for val in data[variable]:
                    if val not in choice_list:
                        errors.append("Value %s for '%s' expected to be one of %s." % (val, variable, choice_list))
    elif survey_element["type"] == "multiplechoice":
        choice_list = _choices(survey_element)
        if variable in data and data[variable] not in choice_list:
            errors.append("Value %s for '%s' expected to be one of %s." % (data[variable], variable, choice_list))
    return errors


def _choices(survey_element):
    choice_list = copy.copy(survey_element["choices"])
    if isinstance(choice_list, str):
        choice_list = [c for c in choice_list.splitlines() if c.strip() != ""]
    return choice_list


def job_extra_vars(survey, answers, template_extra_vars=None):
    """(extra vars of the job, launch errors): what AWX passes to ansible-playbook for a launch
    with these answers (no ask_variables_on_launch: only survey variables are accepted)."""
    errors, accepted = [], {}
    for element in survey["spec"]:
        element_errors = survey_element_validation(element, answers)
        errors += element_errors
        if not element_errors and element["variable"] in answers:
            accepted[element["variable"]] = answers[element["variable"]]
    leftover = sorted(set(answers) - set(e["variable"] for e in survey["spec"]))
    if leftover:
        errors.append("Variables %s are not allowed on launch." % ", ".join(leftover))
    extra_vars = dict(template_extra_vars or {})
    for element in survey["spec"]:
        default = element.get("default")
        if default is not None and not survey_element_validation(element, {element["variable"]: default}):
            extra_vars[element["variable"]] = default
    extra_vars.update(accepted)
    return extra_vars, errors


def display_survey_spec(survey):
    shown = copy.deepcopy(survey)
    for field in shown.get("spec", []):
        if field.get("type") == "password" and field.get("default"):
            field["default"] = "$encrypted$"
    return shown


class _SafeStringDumper(yaml.SafeDumper):
    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super(_SafeStringDumper, self).represent_data(data)


def safe_dump(extra_vars, safe_dict=None):
    """The extra vars file AWX gives ansible-runner (which passes it as ``-e @env/extravars``)."""
    safe_dict = safe_dict or {}
    yamls = []
    for key, value in extra_vars.items():
        dumper = yaml.SafeDumper
        if key not in safe_dict or safe_dict.get(key) != value:
            dumper = _SafeStringDumper
        yamls.append(yaml.dump_all([{key: value}], Dumper=dumper, default_flow_style=False))
    return "".join(yamls)


def yaml_dump(extra_vars):
    """The extra vars file with ALLOW_JINJA_IN_EXTRA_VARS=always (plain yaml.safe_dump)."""
    return yaml.safe_dump(extra_vars)
