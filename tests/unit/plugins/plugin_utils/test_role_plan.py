"""role_plan's helpers for what kubernetes.core's helm / helm_info return."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import release_summary, release_values


@pytest.mark.parametrize("release, expected", [
    # kubernetes.core >= 6.3.0 returns both; release_values is the current name.
    ({"status": "deployed", "release_values": {"a": 1}, "values": {"a": 1}}, {"a": 1}),
    ({"status": "deployed", "release_values": {"a": 1}, "values": {"stale": 1}}, {"a": 1}),
    # older kubernetes.core: values only.
    ({"status": "deployed", "values": {"b": 2}}, {"b": 2}),
    # a release with no user values, no release, and anything that is not a release.
    ({"status": "deployed", "release_values": None}, {}),
    ({}, {}), (None, {}), ([], {}), ("deployed", {}),
])
def test_release_values_prefers_the_current_name(release, expected):
    assert release_values(release) == expected


def test_release_summary_keeps_no_values_manifest_notes_or_hooks():
    release = {"status": "deployed", "revision": 3, "name": "r", "chart": "c-1.0", "values": {"password": "s"},
               "release_values": {"password": "s"}, "manifest": "kind: Secret\ndata: {password: cw==}",
               "notes": "token s", "hooks": [{"manifest": "s"}], "anything_new": "s"}
    assert release_summary(release) == {"status": "deployed", "revision": 3, "name": "r", "chart": "c-1.0"}
    assert release_summary(None) == {}
