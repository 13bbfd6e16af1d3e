"""plugin_utils.plain: the filters' arguments as plain Python data.

The tagged data comes from Ansible's own YAML loader (what a role's defaults, an inventory
and a registered result become inside ansible-core 2.19: every string and number carries its
origin), not from stand-ins.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import importlib
import pkgutil

import pytest
import yaml
from ansible.parsing.yaml.loader import AnsibleLoader

from ansible_collections.gpufleet.cluster.plugins import filter as filter_package
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain, plain_arguments

DOC = """
name: tensor-fusion
replicas: 3
ratio: 0.5
enabled: true
nothing: null
tags: [a, b, {c: [1, 2.5, "3"]}]
nested: {one: {two: {three: [x, y]}}}
"""


def _types(value):
    """Every type found in value, keys included."""
    found = {type(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            found |= _types(key) | _types(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            found |= _types(item)
    return found


def tagged(text):
    return yaml.load(text, Loader=AnsibleLoader)  # nosec - Ansible's own safe loader


def test_the_loader_tags_what_it_reads():
    # What the filters receive is not plain: the premise of plugin_utils.plain.
    assert not _types(tagged(DOC)) <= {dict, list, str, int, float, bool, type(None)}


def test_plain_data_has_only_built_in_types_and_equal_values():
    result = plain(tagged(DOC))
    assert _types(result) <= {dict, list, str, int, float, bool, type(None)}
    assert result == yaml.safe_load(DOC)


@pytest.mark.parametrize("value", [None, True, False, 0, -1, 2 ** 70, 1.5, "", "x\n", b"\x00b",
                                   datetime.date(2026, 12, 3), ("a", 1), {"a", "b"}, {1: {"k": [1]}}])
def test_plain_keeps_every_value(value):
    result = plain(value)
    assert result == value
    assert type(result) is type(value)  # pylint: disable=unidiomatic-typecheck


def test_plain_arguments_converts_positional_and_keyword_arguments():
    seen = []

    @plain_arguments
    def probe(first, second=None):
        """probe's docstring"""
        seen.append((first, second))
        return first

    probe(tagged("[a, 1]"), second=tagged("{k: v}"))
    assert seen == [(["a", 1], {"k": "v"})]
    assert _types(seen[0]) <= {tuple, list, dict, str, int}
    assert probe.__name__ == "probe" and probe.__doc__ == "probe's docstring"


def _filter_modules():
    for info in pkgutil.iter_modules(filter_package.__path__):
        module = importlib.import_module(filter_package.__name__ + "." + info.name)
        if hasattr(module, "FilterModule"):
            yield info.name, module.FilterModule().filters()


def test_every_filter_of_the_collection_takes_plain_arguments():
    modules = dict(_filter_modules())
    assert {"tensor_fusion", "linstor", "validation_report"} <= set(modules), sorted(modules)
    for name, filters in modules.items():
        for filter_name, function in filters.items():
            assert getattr(function, "__wrapped__", None) is not None, (name, filter_name)


def test_a_filter_given_tagged_data_returns_plain_data():
    filters = dict(_filter_modules())["node_inputs"]
    assert filters["size_bytes"](tagged("'10Gi'")) == 10 * 2 ** 30
    problems = filters["input_problems"](tagged("{data_dirs: [], allow_world_writable: false, min_free_gb: 100}"),
                                         tagged("node_prep"))
    assert problems == [] and type(problems) is list  # pylint: disable=unidiomatic-typecheck
