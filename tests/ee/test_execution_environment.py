"""The execution environment, proven with the real tools: `ansible-builder create` and
`build` with podman on the local Debian base image, then playbooks/site.yml run INSIDE the
image through ansible-runner with process isolation, as AWX launches a job (awx_job.py):
extra vars as JSON, the Kubernetes credential as K8S_AUTH_* (a ServiceAccount token, no
kubeconfig), the machine credential's ssh key, a vault password for the inventory's vaulted
value, host keys checked against what the nodes themselves hold. site.yml's second run, the
idempotency check, is an operator's instead: ansible-navigator with podman from a checkout, with
the command docs/execution-environment.md gives for the lab (navigator_job.py).

The job's nodes are a set of lab containers of its own (gpufleet-ee-*, 10.89.43.0/24; a lab
started by scripts/lab is left alone): one GPU node per zone and the NFS server, created by
lab/hosts.yml and removed at the end. The
cluster side is the shared control plane (lab/cluster), converged as scripts/lab converges it.
Needs root, podman and the control plane: `scripts/test ee`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from awx_job import Awx, REPO, job_templates  # noqa: E402  pylint: disable=wrong-import-position
from navigator_job import Navigator, SshAgent  # noqa: E402  pylint: disable=wrong-import-position
from lab_inventory import ONE_PER_ZONE, copy_lab_inventory  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = "gpufleet-ee"
GPU_NODES = ONE_PER_ZONE
NODES = GPU_NODES + ["nfs-1"]
TIMES = {}

SSH_CONNECTION = """---
# The execution environment reaches the nodes over ssh, as AWX reaches real ones: the user
# and key come from the job's machine credential, the host keys from /etc/ssh/ssh_known_hosts.
# Host key checking stays on even where the environment turns it off (AWX's job settings set
# ANSIBLE_HOST_KEY_CHECKING=False): this variable outranks the environment.
ansible_connection: ansible.builtin.ssh
ansible_host: "{{ ip }}"
ansible_ssh_host_key_checking: true
ansible_python_interpreter: /usr/bin/python3
ansible_remote_tmp: /tmp/.ansible-tmp
"""


def sh(*args, env=None, check=True):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=str(REPO), env=env, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (args, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def lab_inventory(dest):
    """inventories/lab with this test's container names, network, subnet and state dir, and one GPU
    node per zone: what the jobs prove (AWX's path, navigator's, the credentials, nothing leaked,
    idempotency) does not depend on the number of nodes, and each node is about 75 tasks a run."""
    copy_lab_inventory(dest, PREFIX, "10.89.43.", gpu_nodes=GPU_NODES)
    # Every node a kwok fake: the lab's real node is proven by tests/commands/test_real_node.py.
    lab_vars = dest / "group_vars" / "all" / "lab.yml"
    text, found = re.subn(r"(?m)^lab_real_node: .*$", "lab_real_node: none", lab_vars.read_text())
    assert found == 1, lab_vars
    lab_vars.write_text(text)
    return dest


def without_fio_benchmark(inventory):
    """Not the lab's fio benchmark Job: no kubelet runs it, so it only adds a wait per run."""
    linstor = inventory / "group_vars" / "k8s_control" / "linstor.yml"
    text = linstor.read_text()
    assert "\nlinstor_fio_benchmark: true\n" in text
    linstor.write_text(text.replace("\nlinstor_fio_benchmark: true\n", "\nlinstor_fio_benchmark: false\n"))


def ee_inventory(podman_inventory, dest, vault_password_file):
    """The same lab as the job's inventory: over ssh, the lab files from the project, and the
    lab's secret vaulted as a real inventory keeps it."""
    shutil.copytree(podman_inventory, dest)
    (dest / "group_vars" / "lab_containers" / "connection.yml").write_text(SSH_CONNECTION)
    telemetry = dest / "group_vars" / "k8s_control" / "gpu_telemetry.yml"
    telemetry.write_text(telemetry.read_text().replace(
        "{{ (inventory_dir ~ '/../../lab/telemetry/dcgm_metrics.csv') | realpath }}",
        "{{ playbook_dir }}/../lab/telemetry/dcgm_metrics.csv"))
    without_fio_benchmark(dest)
    vaulted = dest / "group_vars" / "k8s_control" / "gpu_telemetry_vault.yml"
    sh("ansible-vault", "encrypt", "--vault-password-file", vault_password_file, vaulted)
    assert vaulted.read_text().startswith("$ANSIBLE_VAULT;")
    return dest


# The lab's vaulted credential (the telemetry collectors' MongoDB URI), as the inventory holds it.
LAB_MONGODB_URI = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "k8s_control" / "gpu_telemetry_vault.yml")
                                 .read_text())["vault_gpu_telemetry_mongodb_uri"]


def lab_ssh_dir():
    """The lab's key pair (lab/hosts.yml makes it; inventories/lab names it lab_ssh_dir)."""
    return Path(os.environ.get("GPUFLEET_CACHE", Path.home() / ".cache" / "gpufleet")) / "lab-ssh"


def constraint_pins():
    """{package: version} of requirements/constraints.txt: the versions the tests ran with."""
    return dict(line.split("==") for line in (REPO / "requirements" / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))


@pytest.fixture(scope="module")
def image():
    t0 = time.monotonic()
    ref = sh(REPO / "ee" / "build").stdout.strip().splitlines()[-1]
    TIMES["ee/build"] = time.monotonic() - t0
    assert ref.startswith("localhost/gpufleet-ee:")
    return ref


@pytest.fixture(scope="module")
def cluster_env():
    """The control plane's environment; started here if it is not running, and stopped at the
    end if it was started here (unless GPUFLEET_CLUSTER_KEEP=1), as tests/integration does."""
    was_up = sh(REPO / "lab" / "cluster", "status", check=False).returncode == 0
    sh(REPO / "lab" / "cluster", "up")
    env = dict(os.environ)
    for line in sh(REPO / "lab" / "cluster", "env").stdout.splitlines():
        if line.startswith("export ") and "PATH" not in line:
            key, value = line[len("export "):].split("=", 1)
            env[key] = value
    yield env
    if not was_up and os.environ.get("GPUFLEET_CLUSTER_KEEP") != "1":
        # --purge: what site.yml installed (releases, CRDs, claims, the lab's stand-in volumes)
        # must not reach the next stage's tests through etcd.
        sh(REPO / "lab" / "cluster", "down", "--purge")


@pytest.fixture(scope="module")
def awx(image, cluster_env, tmp_path_factory):
    work = tmp_path_factory.mktemp("ee")
    podman_inventory = lab_inventory(work / "inventory-podman")
    vault_password = os.urandom(12).hex()
    vault_file = work / "vault-password"
    vault_file.write_text(vault_password)
    vault_file.chmod(0o600)
    inventory = ee_inventory(podman_inventory, work / "inventory", vault_file)
    lab_vars = yaml.safe_load((podman_inventory / "group_vars" / "all" / "lab.yml").read_text())
    known_hosts = Path(lab_vars["lab_state_dir"]) / "known_hosts"
    ssh_dir = lab_ssh_dir()
    credential_file = work / "k8s-credential.json"
    sh("ansible-playbook", "-i", podman_inventory, "lab/hosts.yml", "-e", "lab_state=absent", env=cluster_env)
    try:
        sh("ansible-playbook", "-i", podman_inventory, "lab/hosts.yml", env=cluster_env)
        charts = sh(sys.executable, REPO / "tests" / "charts" / "stage", work / "charts").stdout.strip().splitlines()[-1]
        sh("ansible-playbook", "-i", podman_inventory, "lab/standin-volumes.yml", env=cluster_env)
        sh("ansible-playbook", "-i", "localhost,", "lab/awx_credential.yml",
           "-e", "lab_awx_credential_file=%s" % credential_file, env=cluster_env)
        kubernetes = json.loads(credential_file.read_text())
        yield Awx(
            image=image,
            inventory=inventory,
            workdir=work,
            credentials={
                "machine": {"username": "root", "ssh_key_data": (ssh_dir / "id_ed25519").read_text()},
                "kubernetes": kubernetes,
                "vault": {"vault_password": vault_password},
            },
            extra_env={"GPUFLEET_HELM": "/usr/local/bin/helm", "GPUFLEET_LAB_CHARTS": "/runner/charts"},
            show_paths=["%s:/etc/ssh/ssh_known_hosts:ro" % known_hosts],
            extra_dirs={"charts": Path(charts)},
        )
    finally:
        sh("ansible-playbook", "-i", podman_inventory, "lab/hosts.yml", "-e", "lab_state=absent", env=cluster_env, check=False)
        sh("ansible-playbook", "-i", "localhost,", "lab/awx_credential.yml", "-e", "lab_awx_credential_state=absent",
           env=cluster_env, check=False)
        print("\nEE timings (s): " + ", ".join("%s %.0f" % kv for kv in TIMES.items()))


@pytest.fixture(scope="module")
def navigator(awx, cluster_env):
    """ansible-navigator from an operator's checkout against the same nodes and control plane as
    the AWX jobs (after the awx fixture made them), with the lab's key in an ssh agent."""
    work = awx.workdir / "navigator"
    lab_vars = yaml.safe_load((awx.workdir / "inventory-podman" / "group_vars" / "all" / "lab.yml").read_text())
    checkout = Navigator.checkout(work / "checkout", lab_inventory)
    without_fio_benchmark(checkout / "inventories" / "lab")
    agent = SshAgent(work / "agent", lab_ssh_dir() / "id_ed25519")
    try:
        yield Navigator(image=awx.image, workdir=checkout, known_hosts=Path(lab_vars["lab_state_dir"]) / "known_hosts",
                        kubeconfig=Path(cluster_env["K8S_AUTH_KUBECONFIG"]), charts=awx.extra_dirs["charts"],
                        agent=agent)
    finally:
        agent.stop()


def test_create_generates_containerfile():
    context = Path(sh(REPO / "ee" / "build", "--create").stdout.strip().splitlines()[-1])
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="localhost/gpufleet-ee-base:latest"' in containerfile
    assert 'ARG PKGMGR="/usr/local/bin/gpufleet-pkgmgr"' in containerfile
    assert 'ARG ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in containerfile
    # ansible-core and ansible-runner at the versions the tests ran with on the controller.
    pins = constraint_pins()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==%s"' % (
        pins["ansible-core"], pins["ansible-runner"]) in containerfile
    assert "COPY _build/bin/helm /usr/local/bin/helm" in containerfile
    assert "host_key_checking = True" in containerfile
    # pip installs what the tests ran with (requirements/constraints.txt), in the build only.
    assert "ENV PIP_CONSTRAINT=/usr/share/gpufleet/pip-constraints.txt" in containerfile
    assert containerfile.rstrip().splitlines()[-1] != "ENV PIP_CONSTRAINT=/usr/share/gpufleet/pip-constraints.txt"
    assert "\nENV PIP_CONSTRAINT=\n" in containerfile
    assert (context / "_build" / "pip" / "constraints.txt").read_text() == (REPO / "requirements" / "constraints.txt").read_text()
    assert (context / "_build" / "bin" / "helm").stat().st_size > 1_000_000
    collections = sorted(p.name for p in (context / "_build" / "collections").iterdir())
    assert collections == ["ansible.posix", "ansible.utils", "community.general",
                           "community.library_inventory_filtering_v1", "containers.podman",
                           "gpufleet-cluster.tar.gz", "kubernetes.core"]
    # The pins are the versions this repository is tested with.
    for pin in (context / "_build" / "requirements.txt").read_text().split():
        name, version = pin.split("==")
        assert pins[name] == version, pin


def test_introspection_finds_collection_requirements(tmp_path):
    """ansible-builder reads the collection's meta/execution-environment.yml from the built
    collection (what the image build's introspect step does)."""
    context = Path(sh(REPO / "ee" / "build", "--create").stdout.strip().splitlines()[-1])
    collections = context / "_build" / "collections"
    sh("ansible-galaxy", "collection", "install", "--offline", "--force", "--no-deps",
       "-p", tmp_path, collections / "gpufleet-cluster.tar.gz", collections / "kubernetes.core")
    out = sh("ansible-builder", "introspect", "--sanitize", tmp_path).stdout
    data = yaml.safe_load(out)
    python = "\n".join(data["python"])
    system = "\n".join(data["system"])
    assert "kubernetes>=24.2.0" in python and "jmespath" in python, out
    assert "openssh-client [platform:dpkg]" in system and "fio [platform:dpkg platform:rpm]" in system, out


def test_image_carries_collections_and_tools(image):
    out = sh("podman", "run", "--rm", image, "sh", "-c",
             "ansible-galaxy collection list --format json; echo ===;"
             " helm version --short; ssh -V 2>&1; fio --version; ansible-runner --version;"
             " python3 -c 'import kubernetes, jmespath; print(kubernetes.__version__)';"
             " python3 -c 'import ansible, sys; print(\"core\", ansible.__version__, \"python\", *sys.version_info[:2])'").stdout
    listing, tools = out.split("===")
    installed = {}
    for path in json.loads(listing).values():
        installed.update(path)
    for name in ("gpufleet.cluster", "kubernetes.core", "ansible.posix", "ansible.utils", "community.general",
                 "community.library_inventory_filtering_v1", "containers.podman"):
        assert name in installed, (name, installed)
    # The collections the image holds are the copies of the `ansible` package the tests ran with.
    bundled = Path(json.loads(sh(sys.executable, "-c", "import ansible_collections, json; print(json.dumps("
                                 "[p for p in ansible_collections.__path__ if 'site-packages' in p]))").stdout)[0])
    for name in ("kubernetes.core", "community.general", "ansible.posix", "ansible.utils", "containers.podman"):
        manifest = json.loads((bundled / name.replace(".", "/") / "MANIFEST.json").read_text())
        assert installed[name]["version"] == manifest["collection_info"]["version"], (name, installed[name])
    pins = constraint_pins()
    assert "v3." in tools and "OpenSSH" in tools and "fio-" in tools, tools
    assert pins["ansible-runner"] in tools and pins["kubernetes"] in tools, tools
    # trixie's python3 (3.13): ansible-core 2.20 and later need 3.12 at least on the controller.
    assert "core %s python 3 13" % pins["ansible-core"] in tools, tools
    size = int(sh("podman", "image", "inspect", "--format", "{{.Size}}", image).stdout)
    print("\nimage %s: %d MB" % (image, size // 10**6))
    assert size < 1_500_000_000


def test_site_converges_in_the_ee(awx, navigator):
    # The lab's stand-in for OME's model agent first (scripts/lab runs it before site.yml).
    models = awx.run("lab/models.yml", {}, ["machine"])
    assert models.rc == 0, models.stdout[-4000:]

    first = awx.run_job_template("gpufleet site", {"validation_report_dir": "/runner/report"})
    TIMES["site.yml in the EE, first run"] = first.seconds
    assert first.rc == 0, first.stdout[-6000:]
    assert set(NODES) <= set(first.recap), first.recap
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in first.recap.values()), first.recap
    report = first.private_data_dir / "report"
    written = json.loads((report / "report.json").read_text())
    assert (report / "report.html").stat().st_size > 1000
    # The report covers every lab GPU node and read the cluster through the token alone.
    assert set(written["nodes"]) == set(GPU_NODES), sorted(written["nodes"])
    assert written["cluster"]["read"] is True and written["cluster"]["releases"], written["cluster"]
    # The roles ran from the collection installed in the image, not from the project copy.
    task_paths, modules_ok = set(), set()
    for event in (first.private_data_dir / "artifacts" / "job" / "job_events").glob("*.json"):
        data = json.loads(event.read_text())
        path = data.get("event_data", {}).get("task_path") or ""
        if "/roles/" in path:
            task_paths.add(path.split("/roles/")[0])
        if data.get("event") == "runner_on_ok":
            modules_ok.add(data["event_data"].get("resolved_action"))
    assert task_paths == {"/usr/share/ansible/collections/ansible_collections/gpufleet/cluster"}, task_paths
    # Every cluster module the roles use took the cluster from K8S_AUTH_* alone: the job's
    # environment has no kubeconfig (linstor_controller_info runs only where a LINSTOR
    # controller Service exists, which the lab has not).
    assert {"kubernetes.core.k8s", "kubernetes.core.k8s_info", "kubernetes.core.helm", "kubernetes.core.helm_info",
            "gpufleet.cluster.pv_affinity_info", "gpufleet.cluster.model_storage_info"} <= modules_ok, modules_ok
    job_env = (first.private_data_dir / "artifacts" / "job" / "env.list").read_text()
    assert "KUBECONFIG" not in job_env and "K8S_AUTH_HOST" in job_env, job_env
    # The vaulted value was needed and read (the telemetry secret holds it); nothing leaked: not in
    # the job's output, not in any job event AWX would store (each task's result, at the job's
    # verbosity), not in the report.
    planted = {"vault password": awx.credentials["vault"]["vault_password"],
               "Kubernetes token": awx.credentials["kubernetes"]["bearer_token"],
               "vaulted MongoDB URI": LAB_MONGODB_URI, "its password": LAB_MONGODB_URI.split(":")[2].split("@")[0]}
    events = sorted((first.private_data_dir / "artifacts" / "job" / "job_events").glob("*.json"))
    assert len(events) > 100, len(events)
    for what, secret in planted.items():
        assert secret not in first.stdout, what
        assert not [e.name for e in events if secret in e.read_text()], what
        assert not [f.name for f in report.iterdir() if f.is_file() and secret in f.read_text(errors="replace")], what

    # The second run, the idempotency check, is the operator's: ansible-navigator with the
    # command docs/execution-environment.md gives, from a checkout, over ssh with an agent's key,
    # the cluster from a kubeconfig. AWX's path (ansible-runner with AWX's credentials) is proven
    # by the first run, navigator's by this one, on the same image, nodes and control plane: one
    # site.yml run each instead of a third run (the suite is CPU-bound and near its time budget).
    report_dir = navigator.workdir / "reports" / "navigator"
    second = navigator.run("playbooks/site.yml", {"validation_report_dir": report_dir})
    TIMES["site.yml in the EE with ansible-navigator, second run"] = second.seconds
    assert second.rc == 0, second.stdout[-6000:]
    assert set(NODES) | {"localhost"} <= set(second.recap), (second.recap, second.stdout[-3000:])
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in second.recap.values()), second.recap
    assert second.changed(NODES) == {host: 0 for host in NODES}, second.recap
    # The jobs' deprecation warnings reach the stage's log (the stage runs pytest with -s), where
    # scripts/test's deprecation check reads every stage's output.
    for job in (first, second):
        for line in job.stdout.splitlines():
            if "DEPRECATION WARNING" in line:
                print("in the EE: " + line.strip())
    # The run read the cluster through the kubeconfig and wrote its report into the checkout.
    written = json.loads((report_dir / "report.json").read_text())
    assert set(written["nodes"]) == set(GPU_NODES), sorted(written["nodes"])
    assert written["cluster"]["read"] is True and written["cluster"]["releases"], written["cluster"]


def test_kubernetes_only_job_template(awx):
    """A job template with the Kubernetes credential and the vault only (no machine
    credential): its playbook talks to the API server with the token alone."""
    assert job_templates()["gpufleet storage"]["credentials"] == ["kubernetes", "vault"]
    job = awx.run_job_template("gpufleet storage", {})
    TIMES["storage.yml in the EE"] = job.seconds
    assert job.rc == 0, job.stdout[-6000:]
    assert job.recap["localhost"]["failed"] == 0 and job.recap["localhost"]["changed"] == 0, job.recap


def test_host_key_checking_stays_on(awx, tmp_path):
    """With AWX's ANSIBLE_HOST_KEY_CHECKING=False in the job's environment, a node whose key
    is not the known one is refused."""
    wrong = tmp_path / "known_hosts"
    key = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    assert key.returncode == 0
    hosts = yaml.safe_load((awx.inventory / "hosts.yml").read_text())["all"]["children"]["gpu_nodes"]["children"]
    ip = hosts["zone_ucsd"]["hosts"]["gpu-ucsd-1"]["ip"]
    wrong.write_text("%s %s\n" % (ip, " ".join((tmp_path / "k.pub").read_text().split()[:2])))
    saved = awx.show_paths
    awx.show_paths = ["%s:/etc/ssh/ssh_known_hosts:ro" % wrong]
    try:
        job = awx.run("lab/models.yml", {}, ["machine"], limit="gpu-ucsd-1")
    finally:
        awx.show_paths = saved
    assert job.rc != 0
    assert job.recap["gpu-ucsd-1"]["unreachable"] == 1, job.recap
    # ssh's own words, or, when ssh exits on the key before Ansible has written the pipelined
    # module to it, Ansible's broken pipe. The known_hosts file is the only thing that differs from
    # the jobs above, which reached this node.
    assert any(reason in job.stdout for reason in (
        "REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed",
        "Data could not be sent to remote host '%s'" % ip)), job.stdout[-3000:]
