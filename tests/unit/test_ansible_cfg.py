"""The repository's ansible.cfg is what a user gets against real hosts from the checkout (and what
AWX reads from the project): production defaults only, every line one that ansible-core really
reads, no lab convenience. The lab's relaxations live in the lab (scripts/lab, inventories/lab)."""

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CFG = REPO / "ansible.cfg"
BIN = Path(sys.executable).parent


def _clean_env():
    """The environment of a user who runs ansible-playbook from the checkout: no ANSIBLE_*
    variable of ours (scripts/lab and the tests set some)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "K8S_AUTH_"))}
    env["ANSIBLE_CONFIG"] = str(CFG)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
    return env


def _dump(*args):
    proc = subprocess.run([str(BIN / "ansible-config"), "dump", "--format", "json", *args],
                          capture_output=True, text=True, env=_clean_env(), cwd=str(REPO), check=True)
    return proc.stdout


def _effective():
    return {entry["name"]: entry for entry in json.loads(_dump()) if "name" in entry}


def _known_ini_keys():
    """(section, key) of every setting ansible-core and the plugins this file configures read."""
    import ansible.config  # pylint: disable=import-outside-toplevel

    base = yaml.safe_load((Path(ansible.config.__file__).parent / "base.yml").read_text())
    known = {(ini["section"], ini["key"]) for entry in base.values() for ini in entry.get("ini") or []}
    for plugin_type, name in (("connection", "ssh"), ("connection", "local"), ("callback", "default"),
                              ("callback", "ansible.posix.profile_tasks"), ("cache", "jsonfile")):
        proc = subprocess.run([str(BIN / "ansible-doc"), "-t", plugin_type, name, "--json"], capture_output=True,
                              text=True, env=_clean_env(), check=True)
        doc = next(iter(json.loads(proc.stdout).values()))["doc"]
        for option in (doc.get("options") or {}).values():
            known |= {(ini["section"], ini["key"]) for ini in option.get("ini") or []}
    return known


def test_every_setting_is_one_ansible_core_reads():
    """A dead line is worse than none: it says a thing is configured when it is not (ansible-core
    2.19 has no [defaults] gather_subset, and the default callback reads callback_result_format)."""
    parser = configparser.ConfigParser()
    parser.read(CFG)
    known = _known_ini_keys()
    dead = [(section, key) for section in parser.sections() for key in parser[section] if (section, key) not in known]
    assert not dead, "settings ansible-core does not read: %s" % dead


def test_host_keys_are_checked_and_no_inventory_is_implied():
    effective = _effective()
    assert effective["HOST_KEY_CHECKING"]["value"] is True
    assert effective["HOST_KEY_CHECKING"]["origin"] == "default"
    # No inventory named here: a run without -i reaches localhost only, never the lab.
    assert effective["DEFAULT_HOST_LIST"]["origin"] == "default"
    # Interpreter discovery as Ansible does it (it warns when it guesses); the lab names its own.
    assert effective["INTERPRETER_PYTHON"]["origin"] == "default"


def test_ssh_settings_do_not_relax_host_key_checking():
    parser = configparser.ConfigParser()
    parser.read(CFG)
    for section in parser.sections():
        for key, value in parser[section].items():
            lowered = value.lower().replace(" ", "")
            assert "stricthostkeychecking=no" not in lowered, (section, key)
            assert "userknownhostsfile=/dev/null" not in lowered, (section, key)
            assert not (key == "host_key_checking" and lowered in ("false", "no", "0")), (section, key)


RELAXED = ("stricthostkeychecking=no", "stricthostkeychecking=accept-new", "userknownhostsfile=/dev/null",
           "ansible_host_key_checking:false", "ansible_ssh_host_key_checking:false",
           "ansible_host_key_checking=false", "ansible_ssh_host_key_checking=false")


def test_no_production_inventory_relaxes_host_key_checking():
    """inventories/sample is what users copy; only the lab's inventory may relax anything. The
    sample turns checking on explicitly: AWX puts ANSIBLE_HOST_KEY_CHECKING=False into every
    job's environment, and only an inventory variable outranks it."""
    checked = 0
    for path in sorted((REPO / "inventories").rglob("*")):
        if not path.is_file() or path.relative_to(REPO / "inventories").parts[0] == "lab":
            continue
        # Settings, not comments (which may name AWX's ANSIBLE_HOST_KEY_CHECKING=False).
        lines = [line.split("#", 1)[0] for line in path.read_text().splitlines()]
        text = "\n".join(lines).lower().replace(" ", "").replace('"', "").replace("'", "")
        checked += 1
        for relaxed in RELAXED:
            assert relaxed not in text, (path, relaxed)
    assert checked
    connection = yaml.safe_load((REPO / "inventories" / "sample" / "group_vars" / "all" / "connection.yml").read_text())
    assert connection["ansible_ssh_host_key_checking"] is True


def test_a_run_without_inventory_touches_only_localhost():
    proc = subprocess.run([str(BIN / "ansible-inventory"), "--list"], capture_output=True, text=True,
                          env=_clean_env(), cwd=str(REPO), check=True)
    inventory = json.loads(proc.stdout)
    hosts = {h for group in inventory.values() if isinstance(group, dict) for h in group.get("hosts", [])}
    assert not hosts, "ansible.cfg implies an inventory: %s" % sorted(hosts)
