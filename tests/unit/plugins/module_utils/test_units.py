from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.units import (
    SizeError,
    format_bytes,
    parse_size,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, 0),
        (4096, 4096),
        ("4096", 4096),
        ("4MiB", 4 * 1024**2),
        ("4M", 4 * 1024**2),
        ("512Mi", 512 * 1024**2),
        ("1G", 1024**3),
        ("1.5GiB", 1536 * 1024**2),
        ("100GB", 100 * 1000**3),
        (" 2 Ti ", 2 * 1024**4),
        ("1k", 1024),
    ],
)
def test_parse_size_accepts(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("10XB", "unknown unit 'XB'"),
        ("20Gx", "unknown unit 'Gx'"),
        ("-1G", "not a size"),
        ("", "not a size"),
        ("G", "not a size"),
        ("1.2.3G", "not a size"),
        (True, "not a size"),
        (None, "not a size"),
        (-5, "negative"),
        ("0.5B", "whole number"),
        ("4MiB\n", "not a size"),
        ("\t4MiB", "not a size"),
        ("\uff14MiB", "not a size"),  # fullwidth 4: \d and float() accept it
        ("+4MiB", "not a size"),
        ("4e3", "not a size"),
        ("0x10", "not a size"),
    ],
)
def test_parse_size_rejects_with_named_value(value, fragment):
    with pytest.raises(SizeError) as err:
        parse_size(value, name="block_size")
    assert fragment in str(err.value)
    assert "block_size=" in str(err.value)


def test_format_bytes():
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536 * 1024**2) == "1.5 GiB"
