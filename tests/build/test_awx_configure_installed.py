"""playbooks/awx_configure.yml from the installed collection (gpufleet.cluster.awx_configure) finds
its job templates and the roles' argument specs beside itself, not in a checkout."""

import json
import os
import subprocess

import pytest

INSTALLED = os.environ.get("GPUFLEET_INSTALLED")
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture(scope="module")
def installed():
    assert INSTALLED and os.path.isdir(INSTALLED), (
        "GPUFLEET_INSTALLED is not set or missing; run these tests through `scripts/test build`"
    )
    return INSTALLED


def test_render_from_the_installed_collection(installed, tmp_path):
    assert os.path.isfile(os.path.join(installed, "playbooks", "vars", "awx_job_templates.yml"))
    extra = {"gpufleet_awx_host": "https://awx.example.com", "gpufleet_awx_token": "t",
             "gpufleet_awx_scm_url": "https://git.example.com/ops/gpufleet-cluster.git",
             "gpufleet_awx_ee_image": "registry.example.com/gpufleet-ee:1",
             "gpufleet_awx_inventory_source_path": "inventories/mycluster/hosts.yml",
             "gpufleet_awx_machine_username": "ops", "gpufleet_awx_machine_ssh_key": KEY,
             "gpufleet_awx_kubernetes_host": "https://api.example.com:6443", "gpufleet_awx_kubernetes_token": "k",
             "gpufleet_awx_vault_password": "v", "gpufleet_awx_render_to": str(tmp_path)}
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "gpufleet.cluster.awx_configure",
                           "-e", json.dumps(extra)], capture_output=True, text=True, cwd=str(tmp_path), check=False,
                          stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    objects = json.loads((tmp_path / "awx_objects.json").read_text())
    surveys = dict((t["name"], t["survey_spec"]) for t in objects["job_templates"])
    assert len(surveys) == 6 and len(surveys["gpufleet migrate_pvc"]["spec"]) > 5
    assert "migrate_pvc_confirm" in [q["variable"] for q in surveys["gpufleet migrate_pvc"]["spec"]]
