# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitogen's linear strategy for the suite's integration, storage and workloads stages, less one cost.

Mitogen's planner (ansible_mitogen/planner.py, ``invoke``) lists every installed collection
(``ansible.collections.list.list_collection_dirs``: about 95 with the ``ansible`` package,
reading each one's metadata) the first time a process runs a collection's module, and keeps
its planners per process. Each task runs in a worker forked from the controller, so every
module task of every run paid that listing again: about 10% of the integration stage's CPU.
The listing is taken once here, in the controller before any worker is forked, and each
worker inherits it. Which collections exist does not change during a run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ansible.collections.list
import ansible_mitogen.loaders
import ansible_mitogen.planner
import ansible_mitogen.strategy

_COLLECTION_DIRS = []


def _collection_dirs():
    if not _COLLECTION_DIRS:
        _COLLECTION_DIRS.extend(path.decode("utf-8") for path in ansible.collections.list.list_collection_dirs())
    return _COLLECTION_DIRS


def _load_collections(invocation):
    invocation._extra_sys_paths.update(_collection_dirs())  # pylint: disable=protected-access


ansible_mitogen.planner._load_collections = _load_collections  # pylint: disable=protected-access

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    def run(self, *args, **kwargs):
        _collection_dirs()  # in the controller, before the play's workers are forked
        return super(StrategyModule, self).run(*args, **kwargs)
