"""Run a playbook the way AWX runs a job: ansible-runner with process isolation in the
execution environment image, from a private data directory that holds only what AWX puts
there (awx/main/tasks/jobs.py, RunJob):

- project/: a copy of the project (the repository's tracked and unignored files), the job's cwd,
- inventory/: the inventory (AWX writes its own, here a directory with group_vars),
- env/extravars: the extra vars as JSON, env/envvars: the environment, env/cmdline: the
  arguments AWX adds (-u <machine user>, --ask-vault-pass),
- credentials as AWX's credential types inject them: machine -> the ssh key given to
  ansible-runner (ssh-agent in the container), kubernetes ("OpenShift or Kubernetes API Bearer
  Token") -> K8S_AUTH_HOST / K8S_AUTH_API_KEY / K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT (a
  file in env/), vault -> the answer to ansible-playbook's "Vault password:" prompt.

The container runs as AWX runs it (`--user=root`), with `--network=host` here so the lab's API
server on 127.0.0.1 is reached, and with AWX's own job environment, ANSIBLE_HOST_KEY_CHECKING
=False included (AWX's settings set it for every job): inventories keep host key checking on
with the ansible_ssh_host_key_checking variable, which outranks that environment variable.
Known hosts come in as AWX's "paths to expose to isolated jobs" would bring them: a read-only
mount of a known_hosts file at /etc/ssh/ssh_known_hosts.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from play_recap import play_recap

REPO = Path(__file__).resolve().parents[2]
JOB_TEMPLATES = REPO / "playbooks" / "vars" / "awx_job_templates.yml"


# What AWX puts in every job's environment (awx/settings/defaults.py: every ANSIBLE_* setting,
# and RunJob.build_env).
AWX_JOB_ENV = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
    "ANSIBLE_FORCE_COLOR": "False",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_RETRY_FILES_ENABLED": "False",
    "ANSIBLE_SSH_CONTROL_PATH_DIR": "/runner/cp",
    "ANSIBLE_NOCOLOR": "True",
}


def job_templates():
    return {t["name"]: t for t in yaml.safe_load(JOB_TEMPLATES.read_text())["gpufleet_awx_job_templates"]}


def project_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                         capture_output=True, check=True).stdout.decode()
    return [p for p in out.split("\0") if p and (REPO / p).is_file()]


def copy_project(dest):
    for rel in project_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return dest


@dataclass
class JobResult:
    rc: int
    status: str
    stdout: str
    recap: dict
    private_data_dir: Path
    seconds: float
    command: list = field(default_factory=list)

    def changed(self, hosts):
        return {h: self.recap[h]["changed"] for h in hosts}


@dataclass
class Awx:
    """What an AWX instance would hold for these jobs: the EE image, the inventory, the
    credentials' inputs by kind, extra environment and paths exposed to jobs."""
    image: str
    inventory: Path
    credentials: dict
    workdir: Path
    extra_env: dict = field(default_factory=dict)
    show_paths: list = field(default_factory=list)
    extra_dirs: dict = field(default_factory=dict)
    job_timeout: int = 1200
    _count: int = 0

    def run(self, playbook, extra_vars, kinds, limit=None):
        """One job: the playbook (project-relative) with extra vars and the credentials of kinds."""
        self._count += 1
        pdd = self.workdir / ("job-%d" % self._count)
        shutil.rmtree(pdd, ignore_errors=True)
        (pdd / "env").mkdir(parents=True)
        copy_project(pdd / "project")
        shutil.copytree(self.inventory, pdd / "inventory")
        for name, src in self.extra_dirs.items():
            shutil.copytree(src, pdd / name)
        (pdd / "cp").mkdir()
        env = dict(AWX_JOB_ENV, **self.extra_env)
        cmdline = []
        passwords = {}
        ssh_key = None
        for kind in kinds:
            inputs = self.credentials[kind]
            if kind == "machine":
                cmdline += ["-u", inputs["username"]]
                ssh_key = inputs["ssh_key_data"]
            elif kind == "kubernetes":
                ca = pdd / "env" / "k8s_ca.crt"
                ca.write_text(inputs["ssl_ca_cert"])
                ca.chmod(0o600)
                env.update(K8S_AUTH_HOST=inputs["host"], K8S_AUTH_API_KEY=inputs["bearer_token"],
                           K8S_AUTH_VERIFY_SSL=str(inputs.get("verify_ssl", True)),
                           K8S_AUTH_SSL_CA_CERT="/runner/env/k8s_ca.crt")
            elif kind == "vault":
                cmdline.append("--ask-vault-pass")
                passwords[r"Vault password:\s*?$"] = inputs["vault_password"]
            else:
                raise ValueError("unknown credential kind %r" % kind)
        if limit:
            cmdline += ["--limit", limit]
        (pdd / "env" / "extravars").write_text(json.dumps(extra_vars))
        (pdd / "env" / "envvars").write_text(json.dumps(env))
        (pdd / "env" / "passwords").write_text(json.dumps(passwords))
        (pdd / "env" / "cmdline").write_text(" ".join(cmdline))
        if ssh_key:
            (pdd / "env" / "ssh_key").write_text(ssh_key)
        settings = {
            "process_isolation": True,
            "process_isolation_executable": "podman",
            "container_image": self.image,
            # AWX: container_options ['--user=root'] (build_execution_environment_params).
            "container_options": ["--user=root", "--network=host"],
            "container_volume_mounts": list(self.show_paths),
            "suppress_env_files": False,
            # AWX's job timeout: a hung job fails instead of holding the suite.
            "job_timeout": self.job_timeout,
        }
        (pdd / "env" / "settings").write_text(json.dumps(settings))
        for path in (pdd / "env").iterdir():
            path.chmod(0o600)
        command = ["ansible-runner", "run", str(pdd), "-p", playbook, "--ident", "job"]
        # Nothing of this machine's environment but what ansible-runner itself needs to start
        # podman: the job sees only envvars (ansible-runner passes them with --env-file).
        runner_env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        t0 = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, env=runner_env, check=False)
        seconds = time.monotonic() - t0
        artifacts = pdd / "artifacts" / "job"
        stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else proc.stdout
        status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "unknown"
        rc = int((artifacts / "rc").read_text()) if (artifacts / "rc").exists() else proc.returncode
        return JobResult(rc, status, stdout + proc.stderr, play_recap(stdout), pdd, seconds, command)

    def run_job_template(self, name, extra_vars=None):
        """A job template of playbooks/vars/awx_job_templates.yml launched with extra vars
        (a survey's answers): its playbook, its fixed extra vars and the credentials it lists."""
        template = job_templates()[name]
        variables = dict(template.get("extra_vars") or {}, **(extra_vars or {}))
        return self.run(template["playbook"], variables, template["credentials"])
