"""playbooks/awx_configure.yml against the installed awx.awx: every option each task passes is one
the module's argument spec has, every fixed value one of its choices, every required option given.

No controller runs here, so a run cannot show a wrong option name: the module's own
argument_spec is read from its source (the ``argument_spec = dict(...)`` of its main() and
ControllerModule.AUTH_ARGSPEC of module_utils/controller_api.py, evaluated as the module does),
not from its documentation. The credentials' input names are those of AWX's managed credential
types (awx/main/models/credential/__init__.py, ManagedCredentialType namespace ssh /
kubernetes_bearer_token / vault).
"""

import ast
import os
import re

import ansible_collections
import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(REPO, "playbooks", "awx_configure.yml")
AWX = [os.path.join(p, "awx", "awx") for p in ansible_collections.__path__ if os.path.isdir(os.path.join(p, "awx", "awx"))]
# ManagedCredentialType(name=..., inputs fields) in AWX.
CREDENTIAL_INPUTS = {
    "Machine": {"username", "password", "ssh_key_data", "ssh_public_key_data", "ssh_key_unlock", "become_method",
                "become_username", "become_password"},
    "OpenShift or Kubernetes API Bearer Token": {"host", "bearer_token", "verify_ssl", "ssl_ca_cert"},
    "Vault": {"vault_password", "vault_id"},
}


def _dict_call(source, target):
    """The dict(...) assigned to `target` in source, evaluated (fallbacks become placeholders)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == target for t in node.targets):
            return eval(compile(ast.Expression(node.value), "<argspec>", "eval"),  # pylint: disable=eval-used
                        {"__builtins__": {}, "dict": dict, "env_fallback": "env_fallback"})
    raise AssertionError("no %s = dict(...) found" % target)


def argspec(module):
    assert AWX, "awx.awx is not installed (scripts/bootstrap takes it from PyPI: see GPUFLEET_AWX_FROM in scripts/lib.sh)"
    with open(os.path.join(AWX[0], "plugins", "modules", module + ".py")) as handle:
        spec = _dict_call(handle.read(), "argument_spec")
    with open(os.path.join(AWX[0], "plugins", "module_utils", "controller_api.py")) as handle:
        spec.update(_dict_call(handle.read(), "AUTH_ARGSPEC"))
    return spec


def names(spec):
    known = {}
    for name, option in spec.items():
        known[name] = name
        for alias in option.get("aliases", []):
            known[alias] = name
    return known


def play():
    with open(PLAYBOOK) as handle:
        return yaml.safe_load(handle)[0]


def awx_tasks():
    return [(t["name"], key[len("awx.awx."):], t[key]) for t in play()["tasks"] for key in t if key.startswith("awx.awx.")]


def _literal(value):
    return isinstance(value, (bool, int, float)) or isinstance(value, str) and "{{" not in value


def _play_default(value):
    """The play's own default for a value that is just "{{ var }}" (or var | filter)."""
    match = re.match(r"^\{\{\s*(\w+)\s*(\|[^}]*)?\}\}$", value) if isinstance(value, str) else None
    return play()["vars"].get(match.group(1)) if match else None


def test_the_playbook_uses_the_awx_modules_it_should():
    used = sorted(set(task[1] for task in awx_tasks()))
    assert used == ["credential", "execution_environment", "inventory", "inventory_source", "job_template",
                    "organization", "project"]


@pytest.mark.parametrize("task, module, args", awx_tasks(), ids=[t[0] for t in awx_tasks()])
def test_each_option_is_the_modules(task, module, args):
    spec = argspec(module)
    known = names(spec)
    defaults = play()["module_defaults"]["group/awx.awx.controller"]
    for option in list(args) + list(defaults):
        assert option in known, "%s: awx.awx.%s has no option %s" % (task, module, option)
    for option, value in args.items():
        choices = spec[known[option]].get("choices")
        if not choices:
            continue
        if _literal(value):
            assert value in choices, "%s: %s=%r is not one of %s" % (task, option, value, choices)
        elif _play_default(value) is not None:
            assert _play_default(value) in choices, "%s: %s's default is not one of %s" % (task, option, choices)
    given = set(known[o] for o in list(args) + list(defaults))
    missing = [o for o, s in spec.items() if s.get("required") and o not in given]
    assert not missing, "%s: awx.awx.%s requires %s" % (task, module, missing)


def test_credentials_use_awx_credential_types_and_their_input_names():
    credentials = [(name, args) for name, module, args in awx_tasks() if module == "credential"]
    assert sorted(args["credential_type"] for name, args in credentials) == sorted(CREDENTIAL_INPUTS)
    for name, args in credentials:
        keys = set(re.findall(r"'(\w+)':", args["inputs"]))
        assert keys and keys <= CREDENTIAL_INPUTS[args["credential_type"]], (name, keys)
    tasks = dict((t["name"], t) for t in play()["tasks"])
    for name in dict(credentials):
        assert tasks[name].get("no_log") is True, "%s must be no_log: it carries secrets" % name


def test_the_controller_settings_are_all_given():
    """Every setting a tower_cli.cfg could supply is passed, so no config file (in the home
    directory, /etc/tower or the working directory) changes what the playbook talks to."""
    defaults = play()["module_defaults"]["group/awx.awx.controller"]
    with open(os.path.join(AWX[0], "plugins", "module_utils", "controller_api.py")) as handle:
        short_params = _dict_call(handle.read(), "short_params")
    assert set(short_params.values()) <= set(defaults)
