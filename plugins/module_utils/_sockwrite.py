# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write another process's socket options (tcp.keepalive.sockets): the setter half of _sockopts.py, in a
file of its own so that the info modules, which only read, do not compile it on every run."""

from __future__ import annotations

import socket
from typing import Callable

from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import (
    SKIP_ERROR,
    SO_KEEPALIVE,
    SOL_SOCKET,
    SOL_TCP,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_USER_TIMEOUT,
    SockOptReader,
    SockOpts,
)

# ---- writing: enable keepalive in place (tcp.keepalive.sockets) -------------------------------------
# setsockopt on the pidfd_getfd copy changes the target's own socket (the copy is the same struct file).
# Same rules as the read path: the copy is made by SockOptReader.duplicate(), which re-checks the copy's
# inode before anything is set, and is closed at once; nothing here stops, signals or blocks the target
# (setsockopt takes the socket lock for microseconds, as the target's own calls do). Callers skip owners
# in non-root cgroup-v1 net_cls/net_prio cgroups before asking (net_cls_unsafe()).

SKIP_SET_ERROR = "setsockopt failed"

# Per-socket limits the kernel enforces in do_tcp_setsockopt() (include/net/tcp.h MAX_TCP_KEEPIDLE,
# MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT); the sysctls do not, so the collection checks them itself.
MAX_KEEPIDLE = 32767
MAX_KEEPINTVL = 32767
MAX_KEEPCNT = 127
MAX_USER_TIMEOUT = 2**31 - 1  # milliseconds; the kernel takes any non-negative int


@dataclass(frozen=True)
class KeepaliveSetting:
    """What to set on a socket; None leaves that option as it is (the socket's own or the sysctl)."""

    keepalive: bool = True
    idle: int | None = None  # TCP_KEEPIDLE, seconds
    intvl: int | None = None  # TCP_KEEPINTVL, seconds
    count: int | None = None  # TCP_KEEPCNT
    user_timeout: int | None = None  # TCP_USER_TIMEOUT, milliseconds


def read_options(sock: socket.SocketType) -> SockOpts:
    """The five options, read with getsockopt on an open socket (a pidfd_getfd copy or one's own)."""
    get = sock.getsockopt
    return SockOpts(
        keepalive=bool(get(SOL_SOCKET, SO_KEEPALIVE)),
        keepidle=get(SOL_TCP, TCP_KEEPIDLE),
        keepintvl=get(SOL_TCP, TCP_KEEPINTVL),
        keepcnt=get(SOL_TCP, TCP_KEEPCNT),
        user_timeout=get(SOL_TCP, TCP_USER_TIMEOUT),
    )


def planned_changes(before: SockOpts, setting: KeepaliveSetting) -> list[tuple[int, int, int]]:
    """The (level, option, value) setsockopt calls that bring `before` to `setting`, in the order they must
    be made: TCP_KEEP* and TCP_USER_TIMEOUT first, SO_KEEPALIVE last, so the keepalive timer is armed once
    with the new idle time (net/ipv4/tcp.c tcp_sock_set_keepidle_locked() re-arms it either way). Empty when
    the socket already matches: that is what makes a second run `changed: false`."""
    calls: list[tuple[int, int, int]] = []
    for wanted, current, option in (
        (setting.idle, before.keepidle, TCP_KEEPIDLE),
        (setting.intvl, before.keepintvl, TCP_KEEPINTVL),
        (setting.count, before.keepcnt, TCP_KEEPCNT),
        (setting.user_timeout, before.user_timeout, TCP_USER_TIMEOUT),
    ):
        if wanted is not None and wanted != current:
            calls.append((SOL_TCP, option, int(wanted)))
    if setting.keepalive != before.keepalive:
        calls.append((SOL_SOCKET, SO_KEEPALIVE, 1 if setting.keepalive else 0))
    return calls


@dataclass
class SetResult:
    """One socket's outcome: before/after as read on the copy; reason when nothing could be done."""

    before: SockOpts | None = None
    after: SockOpts | None = None
    changed: bool = False
    reason: str | None = None  # a SKIP_* text when the socket was not reached
    error: str | None = None  # setsockopt failed part way (after holds what is now in force)


class SockOptWriter(SockOptReader):
    """Reads and, unless check mode, sets keepalive options of (pid, fd) pairs on pidfd_getfd copies."""

    def apply(
        self,
        pid: int,
        fd: int,
        inode: int,
        setting: KeepaliveSetting,
        check_mode: bool = False,
        decide: Callable[[SockOpts], str | None] | None = None,
    ) -> SetResult:
        """Duplicate pid's fd (inode re-checked), read the options, set what differs, read them back, close.

        `decide(before) -> str | None` may veto the change after the read (e.g. only_missing); its text is
        returned as the reason and nothing is set. In check mode the copy is only read.
        """
        sock, reason = self.duplicate(pid, fd, inode)
        if sock is None:
            return SetResult(reason=reason)
        try:
            try:
                before = read_options(sock)
            except OSError:
                return SetResult(reason=SKIP_ERROR)
            veto = decide(before) if decide is not None else None
            if veto:
                return SetResult(before=before, after=before, reason=veto)
            calls = planned_changes(before, setting)
            if not calls:
                return SetResult(before=before, after=before)
            if check_mode:
                return SetResult(before=before, after=predicted(before, setting), changed=True)
            error = None
            for level, option, value in calls:
                try:
                    sock.setsockopt(level, option, value)
                except OSError as exc:
                    name = OPTION_NAMES.get(option, str(option))
                    error = f"{SKIP_SET_ERROR}: {name}={value}: {exc.strerror or exc}"
                    break
            try:
                after = read_options(sock)
            except OSError:
                after = None
            changed = after is not None and after.as_dict() != before.as_dict()
            return SetResult(before=before, after=after, changed=changed, error=error)
        finally:
            sock.close()


OPTION_NAMES = {
    SO_KEEPALIVE: "SO_KEEPALIVE",
    TCP_KEEPIDLE: "TCP_KEEPIDLE",
    TCP_KEEPINTVL: "TCP_KEEPINTVL",
    TCP_KEEPCNT: "TCP_KEEPCNT",
    TCP_USER_TIMEOUT: "TCP_USER_TIMEOUT",
}


def predicted(before: SockOpts, setting: KeepaliveSetting) -> SockOpts:
    """What the options would read after the change (check mode)."""
    return SockOpts(
        keepalive=setting.keepalive,
        keepidle=before.keepidle if setting.idle is None else setting.idle,
        keepintvl=before.keepintvl if setting.intvl is None else setting.intvl,
        keepcnt=before.keepcnt if setting.count is None else setting.count,
        user_timeout=before.user_timeout if setting.user_timeout is None else setting.user_timeout,
    )
