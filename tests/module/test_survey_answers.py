"""Survey answers reach the roles as AWX sends them: the extra vars file AWX writes (every string
tagged !unsafe; ansible-runner passes ``-e @env/extravars``), bools as the strings "true"/"false" of the multiplechoice question,
integers and floats as numbers. The answers are taken from the generated survey itself, and
the role must do what the answer says -- a "false" that a role read as truthy would do the
opposite."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.module_utils.awx_survey import survey
from playbook_env import REPO, environment

sys.path.insert(0, os.path.join(REPO, "tests"))
from unit.plugins.module_utils.awx_rules import safe_dump, yaml_dump  # noqa: E402 pylint: disable=wrong-import-position

# How AWX writes the extra vars file: ALLOW_JINJA_IN_EXTRA_VARS=template (the default) or never
# tag every answer !unsafe (ansible-core 2.19 then reads "false" as false); =always writes plain
# YAML (the play gets the string "false").
DUMPS = pytest.mark.parametrize("dump, read_false", [(safe_dump, False), (yaml_dump, "false")], ids=["unsafe", "always"])


def _survey(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    return dict((q["variable"], q) for q in survey({role: options}, role)["survey"]["spec"])


def _answer(question, value):
    """The answer AWX puts into the job's extra vars for this question."""
    if question["type"] == "multiplechoice":
        answer = {True: "true", False: "false"}.get(value, value)
        assert answer in question["choices"]
        return answer
    if question["type"] == "integer":
        assert isinstance(value, int)
    return value


def run_storage_validation(tmp_path, answers, dump=safe_dump):
    """storage_validation on this host with the answers, the role's results kept in a file."""
    questions = _survey("storage_validation")
    extra = dict((k, _answer(questions[k], v)) for k, v in answers.items())
    extra.update(storage_validation_engine=_answer(questions["storage_validation_engine"], "builtin"))
    (tmp_path / "extravars").write_text(dump(extra))
    out = tmp_path / "results.json"
    play = [{"hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "gpufleet.cluster.storage_validation"}],
             "post_tasks": [{"name": "keep", "ansible.builtin.copy": {
                 "content": "{{ {'results': storage_validation_results, 'direct': storage_validation_direct} | to_json }}",
                 "dest": str(out), "mode": "0600"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                           "-e", "@%s" % (tmp_path / "extravars"),
                           # Not a survey question (a list): in AWX it comes from the inventory.
                           "-e", json.dumps({"storage_validation_paths": [str(tmp_path)]})],
                          capture_output=True, text=True, env=environment(), cwd=str(tmp_path), check=False,
                          stdin=subprocess.DEVNULL, timeout=300)
    return proc, (json.loads(out.read_text()) if out.exists() else None)


@DUMPS
def test_false_answers_are_false(tmp_path, dump, read_false):
    # A 1000-byte block is refused for direct I/O only: with direct "false" the preflight lets it
    # through, the measurement is buffered, and disk space is not reported.
    proc, kept = run_storage_validation(tmp_path, {
        "storage_validation_direct": False, "storage_validation_disk_space": False,
        "storage_validation_size": "1000000B", "storage_validation_block_size": "1000B",
        "storage_validation_min_free_gb": 0}, dump)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert kept["direct"] == read_false and kept["direct"] is not True  # what the role got
    measured = kept["results"]["throughput"][0]
    assert measured["direct"] is False and measured["read"]["mibps"] > 0, measured
    assert kept["results"]["disk_space"] == {}


@DUMPS
def test_true_answers_are_true(tmp_path, dump, read_false):  # pylint: disable=unused-argument
    proc = run_storage_validation(tmp_path, {
        "storage_validation_direct": True, "storage_validation_size": "1000000B", "storage_validation_block_size": "1000B"},
        dump)[0]
    assert proc.returncode != 0
    assert "the block size a multiple of 4096 bytes for direct I/O" in " ".join(proc.stdout.split())
    proc, kept = run_storage_validation(tmp_path, {
        "storage_validation_disk_space": True, "storage_validation_size": "1MiB", "storage_validation_block_size": "64KiB",
        "storage_validation_min_free_gb": 0.001}, dump)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert kept["results"]["disk_space"]["paths"][0]["path"] == str(tmp_path)


def tensor_fusion_settings(tmp_path, answers, dump):
    """The tensor_fusion role's inputs (its defaults and vars, the answers on top) through its
    plan (gpufleet.cluster.tensor_fusion_plan), as its preflight does."""
    questions = _survey("tensor_fusion")
    (tmp_path / "extravars").write_text(dump(dict((k, _answer(questions[k], v)) for k, v in answers.items())))
    out = tmp_path / "settings.json"
    role = os.path.join(REPO, "roles", "tensor_fusion")
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars_files": [os.path.join(role, "defaults", "main.yml"), os.path.join(role, "vars", "main.yml")],
             "tasks": [{"name": "plan", "gpufleet.cluster.tensor_fusion_plan": None, "register": "__plan"},
                       {"name": "keep", "ansible.builtin.copy": {
                           "content": "{{ {'settings': __plan.settings, 'problems': __plan.problems} | to_json }}",
                           "dest": str(out), "mode": "0600"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                           "-e", "@%s" % (tmp_path / "extravars")],
                          capture_output=True, text=True, env=environment(), cwd=str(tmp_path), check=False,
                          stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads(out.read_text())


@DUMPS
def test_tensor_fusion_reads_bool_answers(tmp_path, dump, read_false):  # pylint: disable=unused-argument
    off = tensor_fusion_settings(tmp_path, {"tensor_fusion_controller_auto_scale": False,
                                            "tensor_fusion_nvidia_operator_progressive_migration": True,
                                            "tensor_fusion_profile": "production", "tensor_fusion_allow_debug_log_level": False,
                                            "tensor_fusion_wait_timeout": 120}, dump)
    assert off["settings"]["controller_auto_scale"] is False
    assert off["settings"]["nvidia_operator_progressive_migration"] is True
    assert off["settings"]["allow_debug_log_level"] is False and off["settings"]["wait_timeout"] == 120
