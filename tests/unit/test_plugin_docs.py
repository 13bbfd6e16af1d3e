"""ansible-doc documents every filter, module and role of the collection, truthfully.

The docs are read through the venv's ansible-doc (the collection as the shell of
gpufleet_activate finds it), and compared with the Python behind them: a filter's options
and `positional` with its function's signature, a module's options with its argspec().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import importlib
import inspect
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "ansible_collections.gpufleet.cluster.plugins"
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")


def _names(kind):
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "plugins", kind, "*.py"))
                  if not os.path.basename(p).startswith("_"))


def _filters():
    """{filter name: function} from every FilterModule of plugins/filter."""
    found = {}
    for name in _names("filter"):
        module = importlib.import_module("%s.filter.%s" % (PACKAGE, name))
        for filter_name, function in module.FilterModule().filters().items():
            assert filter_name not in found, "filter %s is registered twice" % filter_name
            found[filter_name] = function
    return found


FILTERS = _filters()
MODULES = _names("modules")
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")))


def _ansible_doc(*args):
    out = subprocess.run([ANSIBLE_DOC, "--json"] + list(args), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    # A plugin ansible-doc cannot read is left out with a warning instead of failing the run.
    assert "[WARNING]" not in out.stderr, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def filter_docs():
    return _ansible_doc("-t", "filter", *["gpufleet.cluster.%s" % n for n in sorted(FILTERS)])


@pytest.fixture(scope="module")
def module_docs():
    return _ansible_doc("-t", "module", *["gpufleet.cluster.%s" % n for n in MODULES])


def test_the_collection_has_plugins_and_roles():
    # A glob or import that finds nothing would make every test below pass vacuously.
    # (filters shrink as role decisions move into plan action plugins, which count as modules)
    assert len(FILTERS) >= 12 and len(MODULES) >= 10 and len(ROLES) >= 12


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_is_documented(filter_docs, name):
    entry = filter_docs.get("gpufleet.cluster.%s" % name)
    assert entry and entry.get("doc"), "ansible-doc has no documentation for filter %s" % name
    doc = entry["doc"]
    assert doc["name"] == name
    assert (doc.get("short_description") or "").strip(), name
    assert doc.get("description"), name
    assert entry.get("examples") and "gpufleet.cluster.%s" % name in entry["examples"], name
    assert (entry.get("return") or {}).get("_value", {}).get("type"), "%s documents no _value" % name


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_options_match_the_signature(filter_docs, name):
    doc = filter_docs["gpufleet.cluster.%s" % name]["doc"]
    params = list(inspect.signature(FILTERS[name]).parameters.values())
    assert params and all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params), name
    names = ["_input"] + [p.name for p in params[1:]]
    positional = [p.strip() for p in (doc.get("positional") or "").split(",") if p.strip()]
    assert positional == names, "%s: positional %r, the function takes %r" % (name, positional, names)
    options = doc.get("options") or {}
    assert sorted(options) == sorted(names), "%s: options %r, the function takes %r" % (name, sorted(options), names)
    assert options["_input"].get("required") is True, "%s: _input is always given" % name
    for param in params[1:]:
        option = options[param.name]
        has_default = param.default is not param.empty
        assert bool(option.get("required")) is not has_default, \
            "%s(%s): required=%r but the function's default is %r" % (name, param.name, option.get("required"),
                                                                      param.default)
        # None in Python is "not given", which a doc may spell as the empty value it stands for.
        if has_default and option.get("default") is not None and not (param.default is None and option["default"] in ([], {}, "")):
            assert option["default"] == param.default, \
                "%s(%s): documented default %r, the function's %r" % (name, param.name, option["default"], param.default)


@pytest.mark.parametrize("name", MODULES)
def test_module_is_documented(module_docs, name):
    entry = module_docs.get("gpufleet.cluster.%s" % name)
    assert entry and entry.get("doc"), "ansible-doc has no documentation for module %s" % name
    doc = entry["doc"]
    assert (doc.get("short_description") or "").strip(), name
    assert entry.get("examples") and entry.get("return"), name


@pytest.mark.parametrize("name", MODULES)
def test_module_options_match_the_argspec(module_docs, name):
    doc = module_docs["gpufleet.cluster.%s" % name]["doc"]
    module = importlib.import_module("%s.modules.%s" % (PACKAGE, name))
    if hasattr(module, "argspec"):
        spec = module.argspec()
    else:
        # An action-backed module (a plan): its file is a documentation stub, its action plugin holds the spec.
        spec = importlib.import_module("%s.action.%s" % (PACKAGE, name)).ActionModule.ARGUMENT_SPEC
    options = doc.get("options") or {}
    assert sorted(options) == sorted(spec), "%s: documented %r, argspec %r" % (name, sorted(options), sorted(spec))
    for option, arg in spec.items():
        assert bool(options[option].get("required")) == bool(arg.get("required")), "%s.%s required" % (name, option)


@pytest.mark.parametrize("name", [m for m in MODULES if m.endswith("_plan")])
def test_a_plan_documents_every_object_it_takes(module_docs, name):
    observed = importlib.import_module("%s.action.%s" % (PACKAGE, name)).ActionModule.OBSERVED
    text = " ".join(module_docs["gpufleet.cluster.%s" % name]["doc"]["options"]["observed"]["description"])
    # A plan that reads nothing from the cluster (cluster_access_plan) says so.
    assert observed or "Nothing is read" in text, name
    assert all("C(%s)" % key in text for key in observed), [k for k in observed if "C(%s)" % k not in text]


def test_every_role_is_listed_with_its_entry_points():
    listed = _ansible_doc("-t", "role", "-l", "gpufleet.cluster")
    assert sorted(listed) == ["gpufleet.cluster.%s" % r for r in ROLES]
    for role in ROLES:
        entry_points = listed["gpufleet.cluster.%s" % role]["entry_points"]
        # The internal role of steps the node roles share is only ever called with tasks_from.
        assert ("main" in entry_points) != (role == "common"), (role, sorted(entry_points))
        for entry_point, description in entry_points.items():
            assert (description or "").strip(), "%s:%s has no short_description" % (role, entry_point)
