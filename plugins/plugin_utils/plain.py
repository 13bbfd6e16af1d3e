# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain Python data from what Ansible hands a filter (controller side only).

ansible-core 2.19 passes a filter its arguments as lazy templating containers whose strings and
numbers carry data tags (origin, trust). Python's own operations on them are slow: one
`copy.deepcopy` of the TensorFusion chart's defaults took 16 s inside Ansible and 1 ms on the
same data as plain dicts. The collection's filters work on plain data: `plain_arguments` converts
the arguments once (one walk), before the decisions in module_utils see them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from collections.abc import Mapping, Set


def plain(value):
    """`value` with every mapping a dict, every list a list, every string, integer and float of
    its exact built-in type; tuples stay tuples and sets sets. Anything else (None, booleans,
    dates, Ansible's markers for undefined values) is returned as it is."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, Mapping):
        return dict((plain(key), plain(item)) for key, item in value.items())
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Set):
        return set(plain(item) for item in value)
    return value


def plain_arguments(function):
    """`function` called with its arguments as plain data (see plain)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*[plain(arg) for arg in args], **dict((key, plain(arg)) for key, arg in kwargs.items()))

    return wrapper


def plain_filters(filters):
    """A FilterModule's mapping of names to functions, each taking plain arguments."""
    return dict((name, plain_arguments(function)) for name, function in filters.items())
