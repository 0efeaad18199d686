# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_owners on /proc fixture trees: socket inode -> (pid, fd), and process details."""

from __future__ import annotations

import os
from pathlib import Path

from ansible_collections.tcp.keepalive.plugins.module_utils._owners import (
    MAX_OWNERS_PER_SOCKET,
    ProcessCache,
    read_process,
    scan_socket_fds,
)

CONTAINER = "a" * 64


def make_process(
    root: Path, pid: int, fds: dict, comm: str = "", cmdline: str = "", exe: str = "", cgroup: str = ""
) -> None:
    base = root / "proc" / str(pid)
    (base / "fd").mkdir(parents=True)
    for fd, target in fds.items():
        os.symlink(target, base / "fd" / str(fd))
    if comm:
        (base / "comm").write_text(comm + "\n")
    if cmdline:
        (base / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode() + b"\0")
    if exe:
        os.symlink(exe, base / "exe")
    if cgroup:
        (base / "cgroup").write_text(cgroup)


def test_scan_maps_socket_inodes_to_every_holder(tmp_path):
    make_process(tmp_path, 100, {3: "socket:[555]", 4: "/dev/null", 5: "pipe:[9]", 6: "socket:[777]"})
    make_process(tmp_path, 200, {7: "socket:[555]"})
    (tmp_path / "proc" / "300").mkdir()  # exited: no fd directory any more
    (tmp_path / "proc" / "self").mkdir()  # not a pid
    owners = scan_socket_fds(str(tmp_path))
    found = {inode: sorted(holders) for inode, holders in owners.items()}
    assert found == {555: [(100, 3), (200, 7)], 777: [(100, 6)]}


def test_scan_keeps_only_wanted_inodes_and_caps_holders(tmp_path):
    for pid in range(1, MAX_OWNERS_PER_SOCKET + 5):
        make_process(tmp_path, pid, {3: "socket:[42]", 4: "socket:[43]"})
    owners = scan_socket_fds(str(tmp_path), wanted={42})
    assert list(owners) == [42]
    assert len(owners[42]) == MAX_OWNERS_PER_SOCKET


def test_scan_of_a_missing_proc_is_empty(tmp_path):
    assert scan_socket_fds(str(tmp_path / "nowhere")) == {}


def test_read_process_details_and_cgroup(tmp_path):
    make_process(
        tmp_path,
        812,
        {},
        comm="sshd",
        cmdline="sshd: /usr/sbin/sshd -D",
        exe="/usr/sbin/sshd",
        cgroup="0::/system.slice/ssh.service\n",
    )
    make_process(
        tmp_path, 900, {}, comm="redis-server", cgroup=f"0::/system.slice/docker-{CONTAINER}.scope\n"
    )
    sshd = read_process(812, str(tmp_path))
    assert (sshd.comm, sshd.exe, sshd.unit) == ("sshd", "/usr/sbin/sshd", "ssh.service")
    assert sshd.container_id is None
    assert sshd.cmdline == "sshd: /usr/sbin/sshd -D"
    assert sshd.as_dict(fd=4) == {
        "pid": 812,
        "comm": "sshd",
        "exe": "/usr/sbin/sshd",
        "cmdline": "sshd: /usr/sbin/sshd -D",
        "fd": 4,
    }
    redis = read_process(900, str(tmp_path))
    assert redis.container_id == CONTAINER and redis.exe is None


def test_vanished_process_reads_as_empty_and_is_cached(tmp_path):
    cache = ProcessCache(str(tmp_path))
    gone = cache.get(4242)
    assert (gone.comm, gone.exe, gone.cmdline, gone.cgroup) == (None, None, None, None)
    make_process(tmp_path, 4242, {}, comm="late")
    assert cache.get(4242) is gone  # read once per pid, a snapshot
