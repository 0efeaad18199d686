# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Socket owners: which processes hold which socket inode, found by one scan of /proc/<pid>/fd.

One pass over every process's fd directory (opened once, entries read relative to it), keeping only
"socket:[inode]" links. Process details (comm, exe, cmdline, systemd unit, container id) are read
lazily, once per pid, only for pids that own a socket the caller reports. Processes that exit mid-scan
and unreadable entries are skipped silently: a scan is a snapshot, not a transaction.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import CgroupInfo, read_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass, field

MAX_OWNERS_PER_SOCKET = 8  # a socket shared by a pre-fork server's 200 workers: the first few say enough
MAX_CMDLINE = 512

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


@dataclass
class Process:
    pid: int
    comm: str | None = None
    exe: str | None = None
    cmdline: str | None = None
    cgroup: CgroupInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> str | None:
        return self.cgroup.unit if self.cgroup else None

    @property
    def container_id(self) -> str | None:
        return self.cgroup.container_id if self.cgroup else None

    def as_dict(self, fd: int | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "pid": self.pid,
            "comm": self.comm,
            "exe": self.exe,
            "cmdline": self.cmdline,
        }
        if fd is not None:
            result["fd"] = fd
        return result


def _pids(root: str) -> list[int]:
    try:
        names = os.listdir(os.path.join(root, "proc"))
    except OSError:
        return []
    return [int(name) for name in names if name.isdigit()]


def scan_socket_fds(
    root: str = "/", wanted: set[int] | None = None, pids: frozenset[int] | None = None
) -> dict[int, list[tuple[int, int]]]:
    """Map socket inode -> [(pid, fd), ...] for every process whose fd directory is readable.

    `wanted` limits the map to these inodes (memory stays proportional to what the caller reports);
    `pids` to these processes (tcp.keepalive.sockets with `pids`: a busy host's other 200,000 fds are not
    read).
    """
    owners: dict[int, list[tuple[int, int]]] = {}
    proc = os.path.join(root, "proc")
    readlink = os.readlink
    get = owners.get
    for pid in sorted(pids) if pids is not None else _pids(root):
        try:
            dir_fd = os.open(f"{proc}/{pid}/fd", _OPEN_DIR)
        except OSError:
            continue  # gone, or not ours to read
        try:
            try:
                names = os.listdir(dir_fd)
            except OSError:
                continue
            for name in names:
                try:  # one try for the whole body: a gone descriptor (OSError), a garbled link (ValueError)
                    target = readlink(name, dir_fd=dir_fd)
                    if target[:8] != "socket:[":
                        continue
                    inode = int(target[8:-1])
                    if wanted is not None and inode not in wanted:
                        continue
                    entry = get(inode)
                    if entry is None:
                        owners[inode] = [(pid, int(name))]
                    elif len(entry) < MAX_OWNERS_PER_SOCKET:
                        entry.append((pid, int(name)))
                except (OSError, ValueError):
                    continue
        finally:
            os.close(dir_fd)
    return owners


def _read_text(path: str, limit: int = 4096) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def read_process(pid: int, root: str = "/") -> Process:
    """comm, exe, cmdline and cgroup of a process; fields it cannot read stay None."""
    base = os.path.join(root, "proc", str(pid))
    comm = _read_text(os.path.join(base, "comm"))
    cmdline = _read_text(os.path.join(base, "cmdline"), MAX_CMDLINE)
    try:
        exe: str | None = os.readlink(os.path.join(base, "exe"))
    except OSError:
        exe = None
    return Process(
        pid=pid,
        comm=comm.rstrip("\n") if comm is not None else None,
        exe=exe,
        cmdline=cmdline.replace("\0", " ").strip() if cmdline else None,
        cgroup=read_cgroup(pid, root),
    )


class ProcessCache:
    """read_process() once per pid."""

    def __init__(self, root: str = "/") -> None:
        self.root = root
        self._cache: dict[int, Process] = {}

    def get(self, pid: int) -> Process:
        process = self._cache.get(pid)
        if process is None:
            process = read_process(pid, self.root)
            self._cache[pid] = process
        return process
