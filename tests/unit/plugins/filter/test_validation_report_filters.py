"""The validation_report filters: they call module_utils and turn bad input into filter errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.filter.validation_report import FilterModule

FILTERS = FilterModule().filters()


def test_the_filters_are_registered():
    assert sorted(FILTERS) == ["validation_cluster_state", "validation_failed", "validation_report",
                               "validation_report_chart"]


def test_a_report_and_its_charts():
    report = FILTERS["validation_report"]({}, {}, "2026-01-01T00:00:00Z", [], {})
    assert report["cluster"]["read"] is None and report["figures"]["throughput"] == []
    for name in ("throughput", "disk", "zones", "findings"):
        assert FILTERS["validation_report_chart"](report, name).startswith('<svg id="chart-%s"' % name)
    with pytest.raises(AnsibleFilterError, match="'pie' is not one of disk, findings, throughput, zones"):
        FILTERS["validation_report_chart"](report, "pie")
    with pytest.raises(AnsibleFilterError, match="no usable figures"):
        FILTERS["validation_report_chart"]({}, "disk")


def test_cluster_state_shape_errors():
    assert FILTERS["validation_cluster_state"]({"error": "refused"})["read"] is False
    with pytest.raises(AnsibleFilterError, match="unexpected shape"):
        FILTERS["validation_cluster_state"]({"helm": [{"metadata": "not a dict"}]})
