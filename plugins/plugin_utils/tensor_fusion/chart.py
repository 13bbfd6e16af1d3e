# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names the tensor-fusion chart (1.8.7) fixes, and the role's variable prefix."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


PREFIX = "tensor_fusion_"
RELEASE = "tensor-fusion-sys"
NAMESPACE = "tensor-fusion-sys"
GREPTIME_NAMESPACE = "greptimedb"
GREPTIME_STATEFULSET = RELEASE + "-greptimedb-standalone"
GREPTIME_CLAIM = "datanode-" + GREPTIME_STATEFULSET + "-0"
ALERTMANAGER_STATEFULSET = RELEASE + "-alert-manager"
CONTROLLER_DEPLOYMENT = RELEASE + "-controller"
CONFIG_MAP = RELEASE + "-config"
CLUSTER_CRD = "tensorfusionclusters.tensor-fusion.ai"
CONFIG_KEYS = ("config.yaml", "scheduler-config.yaml")
RESTART_ANNOTATION = "gpufleet.cluster/config-sha256"
WATCHDOG = "Watchdog"
WATCHDOG_RECEIVER = "watchdog"


def var(name):
    """The role variable of a setting: 'profile' -> 'tensor_fusion_profile'."""
    return PREFIX + name
