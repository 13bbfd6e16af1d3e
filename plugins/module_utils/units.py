# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strict parsing of human-written sizes ("4MiB", "1G", "512Mi", "100GB").

Pure functions, no I/O. Shared by the validation modules and the node roles' filters so
that every place in the collection accepts and rejects exactly the same spellings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Binary multiples. Kubernetes-style suffixes (Ki, Mi, Gi) and IEC ones (KiB, MiB) are
# binary; bare K/M/G/T are taken as binary too, as fio and dd do ("bs=4M" is 4 MiB).
# Decimal multiples only for the explicit SI byte spellings (KB, MB, GB, TB) — what
# `df -H` and disk vendors print.
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KI": 1024,
    "KIB": 1024,
    "M": 1024**2,
    "MI": 1024**2,
    "MIB": 1024**2,
    "G": 1024**3,
    "GI": 1024**3,
    "GIB": 1024**3,
    "T": 1024**4,
    "TI": 1024**4,
    "TIB": 1024**4,
    "P": 1024**5,
    "PI": 1024**5,
    "PIB": 1024**5,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "PB": 1000**5,
}

# Matched whole, ASCII only: \d and \s would take fullwidth digits and '\n' ('$' a final newline).
_SIZE_RE = re.compile(r" *(?P<num>[0-9]+(?:\.[0-9]+)?) *(?P<unit>[A-Za-z]*) *")

GIB = 1024**3
MIB = 1024**2


class SizeError(ValueError):
    """A size string that does not parse; the message says what is accepted."""


def parse_size(value, name="size"):
    """Return the number of bytes ``value`` stands for.

    Accepts non-negative ints and strings such as ``"4MiB"``, ``"1G"``, ``"512Mi"``,
    ``"1.5GiB"``, ``"100GB"``. Rejects anything else (``"10XB"``, ``"20Gx"``, ``"-1G"``,
    ``""``, booleans) with a SizeError naming ``name`` and the value.
    """
    if isinstance(value, bool):
        raise SizeError("%s=%r is not a size; use a number of bytes or e.g. '4MiB', '1G', '512Mi'" % (name, value))
    if isinstance(value, int):
        if value < 0:
            raise SizeError("%s=%r is negative; sizes must be >= 0" % (name, value))
        return value
    if not isinstance(value, str):
        raise SizeError("%s=%r is not a size; use a number of bytes or e.g. '4MiB', '1G', '512Mi'" % (name, value))
    match = _SIZE_RE.fullmatch(value)
    if not match:
        raise SizeError(
            "%s=%r is not a size; use digits with an optional unit such as '4MiB', '1G', '512Mi' or '100GB'"
            % (name, value)
        )
    unit = match.group("unit").upper()
    if unit not in _UNITS:
        raise SizeError(
            "%s=%r has an unknown unit %r; use one of B, K/Ki/KiB, M/Mi/MiB, G/Gi/GiB, T/Ti/TiB "
            "(binary) or KB, MB, GB, TB (decimal)" % (name, value, match.group("unit"))
        )
    number = float(match.group("num"))
    result = number * _UNITS[unit]
    if result != int(result):
        raise SizeError("%s=%r is not a whole number of bytes" % (name, value))
    return int(result)


def format_bytes(num):
    """Render a byte count in the largest binary unit that keeps it >= 1 (e.g. '1.5 GiB')."""
    num = float(num)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(num) < 1024 or unit == "TiB":
            return ("%d %s" % (num, unit)) if unit == "B" else ("%.1f %s" % (num, unit))
        num /= 1024
    return "%.1f PiB" % num  # pragma: no cover
