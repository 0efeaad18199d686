# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Network namespaces: which one we are in, and the namespaces a scan covers.

The tcp_keepalive_* sysctls are per network namespace (Linux >= 4.5, net/ipv4/sysctl_net_ipv4.c
ipv4_net_table). This file is what every run needs (the caller's own namespace: its inode, and the scan
context of `namespaces: current`); listing the other namespaces of the host and entering them lives in
_nsenter.py, imported only by `namespaces: all` and the listener probe (about 400 lines that a module would
otherwise compile on every run).
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, TypedDict

from ansible_collections.tcp.keepalive.plugins.module_utils._common import Values, dataclass

CLONE_NEWNET = 0x40000000  # include/uapi/linux/sched.h
DEFAULT_TIMEOUT = 5.0  # seconds a child entering another namespace may take (_nsenter)

_NS_LINK = re.compile(r"^net:\[(?P<inode>\d+)\]$")

Reader = Callable[[], Values]


class ProcessDict(TypedDict):
    """ProcessInfo.as_dict() (settings_info `namespaces[].processes`)."""

    pid: int
    comm: str | None
    container_id: str | None
    systemd_unit: str | None


@dataclass
class ProcessInfo:
    pid: int
    comm: str | None = None
    container_id: str | None = None
    systemd_unit: str | None = None

    def as_dict(self) -> ProcessDict:
        return {
            "pid": self.pid,
            "comm": self.comm,
            "container_id": self.container_id,
            "systemd_unit": self.systemd_unit,
        }


def _join(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def parse_ns_link(target: str) -> int | None:
    """'net:[4026531840]' -> 4026531840; None for anything else."""
    match = _NS_LINK.match(target.strip())
    return int(match.group("inode")) if match else None


def current_namespace_inode(root: str = "/") -> int | None:
    """Inode of the caller's own network namespace (readlink /proc/self/ns/net)."""
    try:
        return parse_ns_link(os.readlink(_join(root, "proc/self/ns/net")))
    except OSError:
        return None


@dataclass
class NamespaceContext:
    """One namespace a scan covers: its sysctls, a NETLINK_SOCK_DIAG socket opened inside it, the path it
    was entered by (to open more sockets there), and why it was not scanned (error) or that it left (gone)."""

    inode: int | None
    sysctls: Values
    netlink: Any = None
    error: str | None = None
    current: bool = True
    entry_path: str | None = None
    gone: bool = False

    def close(self) -> None:
        if self.netlink is not None:
            self.netlink.close()
            self.netlink = None


def scan_contexts(mode: str, root: str = "/", sysctls: Reader | None = None) -> list[NamespaceContext]:
    """The current namespace, or (mode "all") every namespace on the host, current first."""
    from ansible_collections.tcp.keepalive.plugins.module_utils._procsys import read_values

    current = NamespaceContext(
        inode=current_namespace_inode(root), sysctls=sysctls() if sysctls else read_values(root)
    )
    contexts = [current]
    if mode != "all":
        return contexts
    from ansible_collections.tcp.keepalive.plugins.module_utils._nsenter import (
        enter_for_scan,
        list_namespaces,
    )

    for namespace in list_namespaces(root).namespaces:
        if namespace.current or namespace.inode == current.inode:
            continue
        contexts.append(enter_for_scan(namespace, root))
    return contexts
