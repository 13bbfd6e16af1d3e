"""Make the checkout importable as ansible_collections.gpufleet.cluster for the unit tests, and the
collections it depends on from wherever ANSIBLE_COLLECTIONS_PATH puts them (a matrix cell's venv
has ansible-core alone: kubernetes.core & co. come from the main venv's `ansible` package)."""

import os
import sys

for _position, _collections in enumerate(p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p):
    if _collections not in sys.path:
        sys.path.insert(_position, _collections)
