"""Make the checkout importable as ansible_collections.gpufleet.cluster for the unit tests."""

import os
import sys

_COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
if _COLLECTIONS and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
