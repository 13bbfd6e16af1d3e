"""What the collection says it supports is what the suite tests: meta/runtime.yml's requires_ansible,
the README's requirements line and the roles' min_ansible_version name the oldest ansible-core
of the test matrix (scripts/test's core<version> stages), and the matrix covers every minor version
from there to the pinned one (requirements/constraints.txt)."""

import glob
import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(*path):
    with open(os.path.join(REPO, *path)) as handle:
        return handle.read()


def _matrix():
    cells = sorted(re.findall(r"^stage_core(\d+\.\d+)\(\)", _read("scripts", "test"), re.M),
                   key=lambda v: tuple(int(p) for p in v.split(".")))
    pinned = re.search(r"^ansible-core==(\d+\.\d+)\.\d+$", _read("requirements", "constraints.txt"), re.M).group(1)
    return cells, pinned


def test_the_matrix_runs_every_minor_version_from_the_oldest_to_the_pinned_one():
    cells, pinned = _matrix()
    assert cells, "no core<version> stage in scripts/test"
    major, oldest = (int(p) for p in cells[0].split("."))
    newest = int(pinned.split(".")[1])
    assert cells + [pinned] == ["%d.%d" % (major, minor) for minor in range(oldest, newest + 1)]
    for cell in cells:
        pins = _read("requirements", "core-%s.txt" % cell)
        assert re.search(r"^ansible-core==%s\.\d+$" % re.escape(cell), pins, re.M), cell
        assert "core%s" % cell in re.search(r"^ALL_STAGES=\((.*)\)$", _read("scripts", "test"), re.M).group(1)


def test_requires_ansible_the_readme_and_the_roles_name_the_oldest_tested_version():
    oldest = _matrix()[0][0]
    runtime = yaml.safe_load(_read("meta", "runtime.yml"))
    assert runtime["requires_ansible"] == ">=%s.0" % oldest
    assert "The collection needs ansible-core >= %s " % oldest in _read("README.md")
    for meta in glob.glob(os.path.join(REPO, "roles", "*", "meta", "main.yml")):
        with open(meta) as handle:
            assert str(yaml.safe_load(handle)["galaxy_info"]["min_ansible_version"]) == oldest, meta


def test_no_version_specific_sanity_ignore_file():
    # A version that truly needs one may get one; none does today.
    assert glob.glob(os.path.join(REPO, "tests", "sanity", "ignore-*.txt")) == []


def test_no_module_of_ours_hands_warnings_to_exit_json():
    # scripts/test allows ansible-core 2.21's deprecation of exit_json(warnings=...) because
    # kubernetes.core's k8s module does it; ours must not (AnsibleModule.warn instead).
    offenders = []
    for path in glob.glob(os.path.join(REPO, "plugins", "**", "*.py"), recursive=True):
        with open(path) as handle:
            if re.search(r"\b(exit|fail)_json\([^)]*\bwarnings\s*=", handle.read(), re.S):
                offenders.append(os.path.relpath(path, REPO))
    assert offenders == []
