"""tests/README.md finds a role's tests together: every test file is named there, and every path it
names exists."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INDEX = REPO / "tests" / "README.md"
PATH = re.compile(r"(?:tests|extensions)/[\w/.-]+?\.py")


def _test_files():
    found = set()
    for top in ("tests", "extensions"):
        for path in (REPO / top).rglob("test_*.py"):
            relative = path.relative_to(REPO).as_posix()
            if "/output/" not in relative:
                found.add(relative)
    return found


def test_every_test_file_is_in_the_index():
    named = set(PATH.findall(INDEX.read_text()))
    files = _test_files()
    assert len(files) > 50, "the glob found too few test files: %s" % sorted(files)
    assert sorted(files - named) == [], "test files tests/README.md does not name"


def test_every_path_the_index_names_exists():
    assert sorted(p for p in set(PATH.findall(INDEX.read_text())) if not (REPO / p).is_file()) == []
