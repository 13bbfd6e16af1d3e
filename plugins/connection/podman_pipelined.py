# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers.podman.podman with pipelining: one `podman exec` per task instead of five."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: podman_pipelined
short_description: Run tasks in podman containers, with pipelining
version_added: 0.1.0
description:
  - The C(containers.podman.podman) connection, with two changes that matter when many
    containers share a few CPUs (the collection's lab, molecule scenarios and role tests).
  - Pipelining. The module is fed to the container's Python on standard input
    (C(podman exec --interactive)), so a task costs one C(podman exec) instead of five
    (home directory, temporary directory, chmod, run, clean-up). Enabled with
    C(ANSIBLE_PIPELINING) / C(ansible_pipelining) / C([connection] pipelining) as usual.
  - The container's filesystem is mounted (C(podman mount)) only when a file is copied, not
    for every command.
  - Files are still copied as C(containers.podman.podman) copies them.
author:
  - gpufleet maintainers (@gpufleet)
requirements:
  - the containers.podman collection
options:
  remote_addr:
    description: Name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User (name or UID) that runs commands inside the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments for the podman command line.
    default: ''
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description: The podman executable.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Feed modules to the container's Python on standard input.
    type: bool
    default: false
    ini:
      - section: defaults
        key: pipelining
      - section: connection
        key: pipelining
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ensure_connect
from ansible.utils.display import Display
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

display = Display()


class Connection(PodmanConnection):
    transport = "gpufleet.cluster.podman_pipelined"
    has_pipelining = True

    def _connect(self):
        # No `podman mount` here: only put_file/fetch_file need the mounted filesystem.
        super(PodmanConnection, self)._connect()
        self._connected = True

    def _mount(self):
        if self._mount_point is None:
            PodmanConnection._connect(self)

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        """podman exec, with --interactive when there is input to feed (pipelining)."""
        super(PodmanConnection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec"]
        if in_data is not None:
            args.append("--interactive")
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)

    def put_file(self, in_path, out_path):
        self._mount()
        super(Connection, self).put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        self._mount()
        super(Connection, self).fetch_file(in_path, out_path)
