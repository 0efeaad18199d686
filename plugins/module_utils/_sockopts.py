# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read another process's socket options: pidfd_open + pidfd_getfd, getsockopt on the copy, close it.

The copy is a second file descriptor for the same socket, held for a few microseconds; getsockopt never
blocks and never changes the socket. Two rules keep it harmless (docs/development.md, "Kernel facts"):
- pidfd_getfd needs PTRACE_MODE_ATTACH_REALCREDS over the target (kernel/pid.c, pidfd_getfd()); without
  it the kernel says EPERM and we fall back to the timer, saying why.
- The kernel runs __receive_sock() on the copy (net/core/sock.c), which rewrites the socket's cgroup-v1
  net_cls classid and net_prio index to the *inspector's*. That would change the traffic class of a
  target in a non-root v1 net_cls/net_prio cgroup (or of any target when the inspector sits in one), so
  those are skipped.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
from typing import Any, TypeVar

from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import CgroupInfo
from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass

# Generic syscall numbers, shared by x86_64, aarch64 and the other architectures using the unified
# table since Linux 5.1 (include/uapi/asm-generic/unistd.h: __NR_pidfd_open 434, __NR_pidfd_getfd 438).
# alpha, ia64 and mips offset them, so those are not supported.
SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
_SUPPORTED_MACHINES = {
    "x86_64",
    "aarch64",
    "arm64",
    "armv7l",
    "armv6l",
    "i686",
    "i386",
    "ppc64le",
    "ppc64",
    "s390x",
    "riscv64",
    "loongarch64",
}

SOL_SOCKET = 1
SO_KEEPALIVE = 9
SOL_TCP = 6
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_USER_TIMEOUT = 18

# Reasons a socket's options were not read (values of `sockopt_skipped`).
SKIP_NEVER = "read_socket_options=never"
SKIP_NO_OWNER = "no owning process visible"
SKIP_PTRACE = "no ptrace rights over the owner (pidfd_getfd: EPERM)"
SKIP_NET_CLS = (
    "owner is in a non-root cgroup-v1 net_cls/net_prio cgroup (pidfd_getfd would reset its classid)"
)
SKIP_SELF_NET_CLS = "inspector is in a non-root cgroup-v1 net_cls/net_prio cgroup"
SKIP_UNSUPPORTED = "pidfd_open/pidfd_getfd not available (Linux >= 5.6 needed)"
SKIP_GONE = "process or descriptor went away"
SKIP_CHANGED = "descriptor now refers to another file"
SKIP_ERROR = "getsockopt failed"


@dataclass
class SockOpts:
    keepalive: bool
    keepidle: int | None  # seconds, effective (the namespace sysctl when the socket has no own value);
    keepintvl: int | None  # None when not read (SO_KEEPALIVE off and read(params_if_off=False))
    keepcnt: int | None
    user_timeout: int  # milliseconds, 0 = not set

    def as_dict(self) -> dict[str, object]:
        return {
            "keepalive": self.keepalive,
            "keepidle": self.keepidle,
            "keepintvl": self.keepintvl,
            "keepcnt": self.keepcnt,
            "user_timeout": self.user_timeout,
        }


def net_cls_unsafe(cgroup: CgroupInfo | None) -> bool:
    """True when the process sits in a non-root cgroup-v1 net_cls or net_prio cgroup."""
    if cgroup is None:
        return False
    for controllers, path in cgroup.paths.items():
        names = controllers.split(",")
        if ("net_cls" in names or "net_prio" in names) and path not in ("", "/"):
            return True
    return False


_Reader = TypeVar("_Reader", bound="SockOptReader")  # __enter__ returns the subclass (SockOptWriter)


class SockOptReader:
    """Reads socket options of (pid, fd) pairs; keeps one pidfd per pid until close()."""

    def __init__(self) -> None:
        self.disabled_reason: str | None = None
        self._pidfds: dict[int, int] = {}
        self._libc: Any = None  # libc through ctypes (for syscall()); set whenever disabled_reason is None
        self._getfd: Any = None  # syscall() with pidfd_getfd's argument types, called with plain ints
        if platform.machine() not in _SUPPORTED_MACHINES:
            self.disabled_reason = SKIP_UNSUPPORTED
            return
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            prototype = ctypes.CFUNCTYPE(
                ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.c_int, ctypes.c_uint, use_errno=True
            )
            self._getfd = prototype(("syscall", libc))
            self._libc = libc
        except (OSError, AttributeError):
            self.disabled_reason = SKIP_UNSUPPORTED

    def __enter__(self: _Reader) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for pidfd in self._pidfds.values():
            if pidfd >= 0:
                os.close(pidfd)
        self._pidfds.clear()

    def _pidfd(self, pid: int) -> tuple[int, int]:
        pidfd = self._pidfds.get(pid)
        if pidfd is not None:
            return pidfd, 0
        result = self._libc.syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0))
        err = ctypes.get_errno() if result < 0 else 0
        pidfd = int(result) if result >= 0 else -1
        self._pidfds[pid] = pidfd
        return pidfd, err

    def duplicate(self, pid: int, fd: int, inode: int) -> tuple[socket.SocketType | None, str | None]:
        """(a socket object on a pidfd_getfd copy of pid's fd, None) or (None, reason). Close it at once.

        The copy is wrapped in a socket object so getsockopt goes through CPython's socket module: measured
        13.9 -> 10.1 us per socket against five ctypes getsockopt calls (benchmarks/micro_sockopts.py). The
        object is the C type itself (socket.SocketType, without the Python wrapper's __init__ and close),
        and pidfd_getfd goes through a ctypes prototype taking plain ints: 14 -> 10 us per socket with
        half of them reading five options. family/type are given so that no detection syscall runs;
        getsockopt does not depend on them.
        """
        if self.disabled_reason or self._getfd is None:
            return None, self.disabled_reason or SKIP_UNSUPPORTED
        pidfd = self._pidfds.get(pid)
        if pidfd is None:
            pidfd, err = self._pidfd(pid)
        else:
            err = 0
        if pidfd < 0:
            return None, self._reason(err)
        copy = self._getfd(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            return None, self._reason(ctypes.get_errno())
        sock = socket.SocketType(socket.AF_INET, socket.SOCK_STREAM, 0, copy)
        try:
            if os.fstat(copy).st_ino != inode:
                sock.close()
                return None, SKIP_CHANGED
        except OSError:
            sock.close()
            return None, SKIP_ERROR
        return sock, None

    def read(
        self, pid: int, fd: int, inode: int, params_if_off: bool = True
    ) -> tuple[SockOpts | None, str | None]:
        """(options, None) or (None, reason). With params_if_off=False, TCP_KEEPIDLE/INTVL/CNT are read only
        where SO_KEEPALIVE is on (None otherwise): three syscalls saved on every socket without keepalive."""
        values, reason = self.read_values(pid, fd, inode, params_if_off)
        if values is None:
            return None, reason
        return SockOpts(*values), None

    def read_values(
        self, pid: int, fd: int, inode: int, params_if_off: bool = True
    ) -> tuple[Any, str | None]:
        """read() as a plain tuple in SockOpts's field order (keepalive, keepidle, keepintvl, keepcnt,
        user_timeout), or (None, reason): the bulk of a large scan (_sockets.Scan.add_raw) builds no object
        per socket."""
        sock, reason = self.duplicate(pid, fd, inode)
        if sock is None:
            return None, reason
        try:
            get = sock.getsockopt
            keepalive = bool(get(SOL_SOCKET, SO_KEEPALIVE))
            if not keepalive and not params_if_off:
                return (False, None, None, None, get(SOL_TCP, TCP_USER_TIMEOUT)), None
            return (
                keepalive,
                get(SOL_TCP, TCP_KEEPIDLE),
                get(SOL_TCP, TCP_KEEPINTVL),
                get(SOL_TCP, TCP_KEEPCNT),
                get(SOL_TCP, TCP_USER_TIMEOUT),
            ), None
        except OSError:
            return None, SKIP_ERROR
        finally:
            sock.close()

    def _reason(self, err: int) -> str:
        if err == errno.ENOSYS:
            self.disabled_reason = SKIP_UNSUPPORTED
            return SKIP_UNSUPPORTED
        if err in (errno.EPERM, errno.EACCES):
            return SKIP_PTRACE
        return SKIP_GONE
