"""The built tarball, installed into an empty collections path, is complete and usable.

Run by `scripts/test build`, which builds with `ansible-galaxy collection build`, installs the
tarball offline into a temp path and points ANSIBLE_COLLECTIONS_PATH at that path only.
"""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

INSTALLED = os.environ.get("GPUFLEET_INSTALLED")
TARBALL = os.environ.get("GPUFLEET_TARBALL")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def installed():
    assert INSTALLED and os.path.isdir(INSTALLED), (
        "GPUFLEET_INSTALLED is not set or missing; run these tests through `scripts/test build`"
    )
    return INSTALLED


@pytest.fixture(scope="module")
def manifest(installed):
    with open(os.path.join(installed, "MANIFEST.json")) as f:
        return json.load(f)


def _repo_files(*parts):
    base = os.path.join(REPO, *parts)
    if not os.path.isdir(base):
        return []
    return sorted(
        os.path.relpath(os.path.join(d, f), REPO)
        for d, _dirs, files in os.walk(base)
        for f in files
        if not f.endswith(".pyc") and "__pycache__" not in d
    )


def test_manifest_names_the_collection(manifest):
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("gpufleet", "cluster")
    for dep in ("kubernetes.core", "ansible.posix", "ansible.utils", "community.general"):
        assert dep in info["dependencies"], dep


@pytest.mark.parametrize("tree", ["plugins", "roles", "playbooks", "meta"])
def test_every_shipped_file_is_in_the_artifact(installed, tree):
    expected = _repo_files(tree)
    missing = [p for p in expected if not os.path.exists(os.path.join(installed, p))]
    assert not missing, "files missing from the built collection: %s" % missing


def test_lab_and_dev_clutter_is_not_shipped():
    with tarfile.open(TARBALL) as tar:
        names = tar.getnames()
    for clutter in ("lab/", "scripts/", ".ci/", "bench/", "requirements/", "inventories/lab/", "tests/output/",
                    "tests/tools/"):
        assert not [n for n in names if n.startswith(clutter)], clutter
    # The checkout's tool settings: ansible-navigator's and the EE definition (ee/build builds it).
    for settings in ("ansible-navigator.yml", "execution-environment.yml"):
        assert settings not in names, settings
    assert "README.md" in names and "meta/runtime.yml" in names


def test_runtime_requires_ansible(installed):
    with open(os.path.join(installed, "meta", "runtime.yml")) as f:
        runtime = yaml.safe_load(f)
    assert runtime["requires_ansible"].startswith(">=")


def _ansible_doc(plugin_type, names):
    """ansible-doc's JSON for every name at once (one process: each costs seconds to start)."""
    out = subprocess.run(["ansible-doc", "--json", "-t", plugin_type] + ["gpufleet.cluster.%s" % n for n in names],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    docs = json.loads(out.stdout)
    assert sorted(docs) == sorted("gpufleet.cluster.%s" % n for n in names), out.stderr
    return docs


def test_every_module_has_docs_from_the_installed_copy(installed):
    modules = sorted(
        f[:-3] for f in os.listdir(os.path.join(installed, "plugins", "modules"))
        if f.endswith(".py") and not f.startswith("_")
    ) if os.path.isdir(os.path.join(installed, "plugins", "modules")) else []
    assert modules
    for fqcn, doc in _ansible_doc("module", modules).items():
        assert doc["doc"]["short_description"], fqcn


def test_every_role_has_an_argument_spec(installed):
    roles_dir = os.path.join(installed, "roles")
    roles = sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []
    assert roles
    for role in roles:
        spec_path = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        assert os.path.isfile(spec_path), "role %s has no meta/argument_specs.yml" % role
    for fqcn, doc in _ansible_doc("role", roles).items():
        # The internal common role has only its tasks_from entry points.
        entry_points = doc["entry_points"] if fqcn.endswith(".common") else {"main": doc["entry_points"]["main"]}
        assert entry_points and all(e["short_description"] for e in entry_points.values()), fqcn


def test_the_telemetry_chart_is_in_the_artifact(installed):
    """gpu_telemetry installs the chart it ships (gpu_telemetry_chart_ref defaults to role_path/files)."""
    chart = os.path.join("roles", "gpu_telemetry", "files", "gpu-telemetry")
    with tarfile.open(TARBALL) as tar:
        names = set(tar.getnames())
    expected = _repo_files(chart)
    assert any(p.endswith("Chart.yaml") for p in expected) and any("/templates/" in p for p in expected)
    assert not [p for p in expected if p not in names], "chart files missing from the tarball"
    with open(os.path.join(installed, chart, "Chart.yaml")) as f:
        assert yaml.safe_load(f)["name"] == "gpu-telemetry"


def test_every_filter_has_docs_from_the_installed_copy(installed):
    filters_dir = os.path.join(installed, "plugins", "filter")
    names = sorted(f[:-4] for f in os.listdir(filters_dir) if f.endswith(".yml")) if os.path.isdir(filters_dir) else []
    assert names
    for fqcn, doc in _ansible_doc("filter", names).items():
        assert doc["doc"]["short_description"], fqcn


def _bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def test_antsibull_docs_lints_the_installed_collection(installed):
    """The docs of every module, filter and role parse and cross-reference correctly, as on
    docs.ansible.com (antsibull-docs validates them with ansible-doc's own output)."""
    # antsibull-docs has ansible-doc dump the metadata of every installed plugin, and ansible-doc
    # announces each deprecated plugin of the other collections as it loads it for the dump: a
    # listing, not a use (scripts/test fails the suite on deprecations a run shows).
    env = dict(os.environ, ANSIBLE_DEPRECATION_WARNINGS="false")
    out = subprocess.run([_bin("antsibull-docs"), "lint-collection-docs", "--plugin-docs", "."],
                         capture_output=True, text=True, cwd=installed, check=False, env=env)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def _fragments():
    folder = os.path.join(REPO, "changelogs", "fragments")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".yml", ".yaml")))


def test_no_fragment_name_is_a_file_kind_of_ansible_lint():
    """ansible-lint (as Galaxy's importer runs it over the collection, without the checkout's
    .ansible-lint) tells a file's kind by its name: a fragment named execution-environment.yml,
    galaxy.yml, requirements.yml, *playbook*.yml or *.meta.yml is checked against that kind's
    schema and fails. Every fragment must be plain YAML to it."""
    from ansiblelint.file_utils import kind_from_path

    kinds = dict((os.path.basename(p), kind_from_path(Path(os.path.relpath(p, REPO)))) for p in _fragments())
    assert kinds
    assert not [name for name, kind in kinds.items() if kind != "yaml"], kinds


def test_changelog_fragments_lint():
    out = subprocess.run([_bin("antsibull-changelog"), "lint"], capture_output=True, text=True, cwd=REPO, check=False)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_changelog_release_builds_the_changelog(tmp_path):
    """`antsibull-changelog release` on a copy of the sources (a release consumes the fragments):
    CHANGELOG.rst has the galaxy.yml version's section and every fragment's every entry."""
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        version = yaml.safe_load(f)["version"]
    copy = tmp_path / "ansible_collections" / "gpufleet" / "cluster"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True, cwd=REPO,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src) or rel.startswith(("tests/", "lab/", "bench/", "reports/")):
            continue
        dest = copy / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    out = subprocess.run([_bin("antsibull-changelog"), "release", "--version", version], capture_output=True,
                         text=True, cwd=str(copy), check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    changelog = (copy / "CHANGELOG.rst").read_text()
    assert "v%s\n" % version in changelog
    entries = []
    for path in _fragments():
        with open(path) as f:
            for section, items in yaml.safe_load(f).items():
                entries += [(os.path.basename(path), section, item) for item in ([items] if isinstance(items, str)
                                                                                 else items)]
    assert entries
    flat = " ".join(changelog.split())
    missing = [(name, section) for name, section, item in entries
               if section != "trivial" and " ".join(item.split())[:60] not in flat]
    assert not missing, "fragment entries absent from CHANGELOG.rst: %s" % missing
    release = yaml.safe_load((copy / "changelogs" / "changelog.yaml").read_text())["releases"][version]
    assert release["fragments"] == sorted(os.path.basename(p) for p in _fragments())
