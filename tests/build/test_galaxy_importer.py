"""Galaxy's importer accepts the built tarball: no error, no warning.

galaxy-importer is what Galaxy and Automation Hub run on an uploaded collection: it checks
MANIFEST.json and FILES.json, reads every plugin's docs with ansible-doc, needs a README for the
collection and for each role, checks the changelog and lints the collection with ansible-lint
(profile production). Run by `scripts/test build`: GPUFLEET_TARBALL is the tarball, and
GPUFLEET_IMPORTER_VENV the importer's own virtualenv (requirements/importer.txt: galaxy-importer
with the ansible-core and ansible-lint it runs; scripts/test build makes it on first use). The importer runs as
on an upload, `python -m galaxy_importer.main <tarball>`, with tests/build/galaxy-importer.cfg
(its container-based ansible-test step off: see there).
"""

import json
import os
import subprocess
import sysconfig
import tarfile
import time

import pytest

TARBALL = os.environ.get("GPUFLEET_TARBALL")
IMPORTER = os.environ.get("GPUFLEET_IMPORTER_VENV")
HERE = os.path.dirname(os.path.abspath(__file__))

# playbooks/awx_configure.yml alone uses awx.awx; it is not a dependency of the collection (no role
# or plugin needs it, and the execution environment does without it), so MANIFEST.json does not
# name it. The importer's ansible-lint syntax-checks that playbook all the same.
PLAYBOOK_COLLECTIONS = ["awx.awx"]

# Lines the importer prints at WARNING or ERROR that are not the collection's own, each matched
# exactly, with the reason. None so far.
ALLOWED = {}


def _collections_dir(tmp, names):
    """A directory whose ansible_collections/ holds the named collections: links to the copies of
    the dev virtualenv's pinned `ansible` package (as scripts/test's sanity stage takes them;
    Galaxy is not reachable). The importer sets ANSIBLE_COLLECTIONS_PATH of its ansible-doc and
    ansible-lint runs to the extracted tarball alone (galaxy_importer/loaders/doc_string.py and
    loaders/collection.py), so that variable cannot add them; ansible-core also finds collections
    in an ansible_collections directory on Python's path (COLLECTIONS_SCAN_SYS_PATH, on by
    default: how the `ansible` package ships them), so PYTHONPATH does."""
    bundled = [os.path.join(sysconfig.get_paths()["purelib"], "ansible_collections")]
    # awx.awx left the `ansible` package: scripts/bootstrap puts it in GPUFLEET_AWX_COLLECTIONS.
    if os.environ.get("GPUFLEET_AWX_COLLECTIONS"):
        bundled.append(os.path.join(os.environ["GPUFLEET_AWX_COLLECTIONS"], "ansible_collections"))
    root = os.path.join(str(tmp), "collections")
    for name in names:
        namespace, collection = name.split(".")
        found = [os.path.join(b, namespace, collection) for b in bundled if os.path.isdir(os.path.join(b, namespace, collection))]
        assert found, "%s is in none of %s" % (name, bundled)
        src = found[0]
        os.makedirs(os.path.join(root, "ansible_collections", namespace), exist_ok=True)
        os.symlink(src, os.path.join(root, "ansible_collections", namespace, collection))
    return root


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    assert TARBALL and os.path.isfile(TARBALL), "GPUFLEET_TARBALL is not set; run these tests through `scripts/test build`"
    assert IMPORTER and os.path.isfile(os.path.join(IMPORTER, ".complete")), (
        "GPUFLEET_IMPORTER_VENV is not set or not complete; run these tests through `scripts/test build`"
    )
    tmp = tmp_path_factory.mktemp("importer")
    with tarfile.open(TARBALL) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    dependencies = sorted(manifest["collection_info"]["dependencies"])
    assert dependencies
    collections = _collections_dir(tmp, dependencies + PLAYBOOK_COLLECTIONS)
    (tmp / "home").mkdir()
    (tmp / "run").mkdir()
    # Nothing of the test run's environment (ANSIBLE_CONFIG, ANSIBLE_COLLECTIONS_PATH, the dev
    # virtualenv on PATH) reaches the importer, and its home is empty: ansible-lint also looks in
    # ~/.ansible/collections, where an installed copy of this collection would shadow the tarball.
    env = {
        "PATH": os.path.join(IMPORTER, "bin") + ":/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        "GALAXY_IMPORTER_CONFIG": os.path.join(HERE, "galaxy-importer.cfg"),
        "PYTHONPATH": collections,
    }
    start = time.monotonic()
    # It writes importer_result.json to its working directory.
    proc = subprocess.run([os.path.join(IMPORTER, "bin", "python"), "-m", "galaxy_importer.main", TARBALL],
                          capture_output=True, text=True, cwd=str(tmp / "run"), env=env, check=False,
                          stdin=subprocess.DEVNULL, timeout=900)
    seconds = time.monotonic() - start
    print("\ngalaxy-importer took %.0f s:\n%s%s" % (seconds, proc.stdout, proc.stderr))
    result = tmp / "run" / "importer_result.json"
    return proc, json.loads(result.read_text()) if result.exists() else None


def test_the_import_succeeds(imported):
    proc, result = imported
    assert proc.returncode == 0 and result, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.stdout.rstrip().endswith("Importer processing completed successfully"), proc.stdout[-3000:]
    assert result["metadata"]["namespace"] == "gpufleet" and result["metadata"]["name"] == "cluster"


def test_no_error_and_no_warning(imported):
    proc, _result = imported
    # The importer prints INFO bare and every other level as "<LEVEL>: <message>" (main.py's
    # CustomFormatter); ansible-lint's findings come as WARNING lines.
    flagged = [line for line in (proc.stdout + proc.stderr).splitlines()
               if line.startswith(("WARNING", "ERROR", "CRITICAL", "Traceback")) and line not in ALLOWED]
    assert not flagged, "\n".join(flagged)
    assert not proc.stderr.strip(), proc.stderr[-3000:]


def test_every_role_and_plugin_is_in_the_result(imported):
    """What Galaxy shows: the collection's README, and each role's with its description; each
    module's and connection plugin's docs as ansible-doc read them. (Galaxy lists filters by their
    Python file, and a file of several filters has no docs of its own: their docs are per filter.)"""
    _proc, result = imported
    assert result["docs_blob"]["collection_readme"]["html"]
    contents = dict(((c["content_type"], c["content_name"]), c) for c in result["docs_blob"]["contents"])
    roles = sorted(r for r in os.listdir(os.path.join(HERE, "..", "..", "roles")))
    assert roles
    for role in roles:
        content = contents.get(("role", role))
        assert content and content["readme_file"] == "README.md" and content["readme_html"], role
    descriptions = dict((c["name"], c["description"]) for c in result["contents"] if c["content_type"] == "role")
    assert sorted(descriptions) == roles and all(descriptions.values()), descriptions
    plugins = [(t, n) for (t, n) in contents if t in ("module", "connection")]
    assert len(plugins) > 10
    undocumented = [key for key in plugins if not (contents[key]["doc_strings"] or {}).get("doc")]
    assert not undocumented, undocumented
