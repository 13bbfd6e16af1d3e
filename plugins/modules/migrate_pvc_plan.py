#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name
# (plugins/action/migrate_pvc_plan.py, over plugins/plugin_utils/migrate_pvc/); this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: migrate_pvc_plan
short_description: Make every decision of the migrate_pvc role, on the controller
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "The plan of P(gpufleet.cluster.migrate_pvc#role): reads the role's variables (every option of the role's argument
    spec, C(migrate_pvc_*), from the task's variables), checks them against that spec and returns what the role's tasks
    need: the problems (the role refuses them before anything changes), what to do with the claim, the claim to
    create, the backup to write, and the guards before anything is deleted."
  - "The role calls it three times in its preflight: with nothing read (the variables' problems); with the claim, its
    saved copy and the new StorageClass (what to do); and, when the claim is to be deleted, with the namespace's pods,
    its quotas and the server-side dry run of the replacement (the guards)."
  - "A saved copy is only taken when it is exactly the PersistentVolumeClaim of this name in this namespace with the
    fields a claim is recreated from (a field beyond them is refused): whoever can write the backup ConfigMap cannot
    make the job create anything else. A rollback restores it only when its sha256 digest is C(migrate_pvc_rollback_digest)
    or that of the controller's backup file."
  - Never changes anything and reads nothing from the cluster itself.
options:
  observed:
    description:
      - What the role read, by name. A key left out was not read yet, and the decisions that need it are not made.
      - "C(current) (the claim), C(backup) (the ConfigMap C(<claim>-pvc-backup)) and C(storage_class) (the new class;
        not read for a rollback), each as a k8s_info result's C(resources), and C(backup_file) (the text of the file
        C(<namespace>_<claim>.json) under C(migrate_pvc_backup_dir), null when there is none): give RV(action),
        RV(reason), RV(replacement), RV(saved_claim), RV(backup_digest), RV(backup_config_map), RV(volume_name) and
        RV(dry_run_claim), and their problems (a backup that is not exactly the claim's, or whose digest is not the
        trusted one)."
      - "With those, when RV(destructive): C(pods) (the namespace's pods), C(quotas) (its ResourceQuotas), C(dry_run)
        (the registered result of C(kubernetes.core.k8s) in check mode on RV(dry_run_claim)) and C(volume) (the
        PersistentVolume RV(volume_name), [] when the claim is bound to none): the pods that use the claim, what the API
        server would refuse (a quota is decided again without the old claim, which the dry run still counts), a volume
        whose reclaim policy would delete its data, and a missing confirmation become problems; RV(retain_volume)."
    type: dict
    default: {}
extends_documentation_fragment:
  - gpufleet.cluster.plan
notes:
  - The logic is pure Python in C(plugins/plugin_utils/migrate_pvc/) (claims, plan), unit-tested without mocks.
"""

EXAMPLES = r"""
- name: Decide what to do with the claim
  gpufleet.cluster.migrate_pvc_plan:
    observed:
      current: "{{ __current.resources }}"
      backup: "{{ __backup.resources }}"
      storage_class: "{{ __class.resources | default([]) }}"
  register: __plan

- name: Refuse what cannot be done
  ansible.builtin.assert:
    that: __plan.problems | length == 0
    fail_msg: "migrate_pvc: {{ __plan.problems | join(' | ') }}"
    quiet: true
"""

RETURN = r"""
problems:
  description: What stops the role, one sentence each, naming the variable or object, the value and the fix.
  returned: always
  type: list
  elements: str
action:
  description:
    - "V(none) (the claim already is the wanted one), V(replace) (delete and create), V(create) (an earlier run was
      interrupted after the delete), V(restore) (roll back: delete and create the saved claim), V(create-backup)
      (roll back after an interrupted rollback), or V(error)."
  returned: when the claim step's objects are in O(observed)
  type: str
reason:
  description: Why, in a few words.
  returned: when the claim step's objects are in O(observed)
  type: str
destructive:
  description: Whether the action deletes the claim (V(replace), V(restore)).
  returned: when the claim step's objects are in O(observed)
  type: bool
replacement:
  description: The claim the run creates (the saved one for a rollback).
  returned: when the claim step's objects are in O(observed)
  type: dict
saved_claim:
  description:
    - The claim as it is, cut down to what it is recreated from (the controller's backup file) - C(metadata.name),
      C(namespace), C(labels); C(spec.storageClassName), C(accessModes), C(volumeMode), C(resources.requests.storage).
  returned: when the claim exists
  type: dict
backup_digest:
  description: C(sha256:) and the hex digest of RV(saved_claim)'s canonical JSON (sorted keys, no spaces), printed for a rollback.
  returned: when the claim exists
  type: str
backup_config_map:
  description: The ConfigMap C(<claim>-pvc-backup) holding RV(saved_claim) as JSON.
  returned: when the claim exists
  type: dict
volume_name:
  description: The PersistentVolume the claim is bound to (empty when none).
  returned: when the claim exists
  type: str
retain_volume:
  description: The PersistentVolume whose reclaim policy the role sets to Retain before the delete (empty for none).
  returned: when the guards' objects are in O(observed) and the action is destructive
  type: str
dry_run_claim:
  description: RV(replacement) under a name of its own, for the server-side dry run while the old claim exists.
  returned: when there is a replacement
  type: dict
"""
