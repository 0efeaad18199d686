# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-socket verdicts: does this TCP socket have keepalive, how long would it take to detect a dead peer,
does it look like a ghost.

Entry points: `classify(sock, opts, sysctls, idle_threshold, resampled)` -> `Classified`;
`timer_verdict(sock)`; `effective_detection_time(...)`; `endpoint(family, address, port)`.

Sources (see docs/development.md, "Kernel facts", and net/ipv4/inet_diag.c, net/ipv4/tcp_timer.c):
- socket options (pidfd_getfd + getsockopt) are authoritative: keepalive_source "sockopt".
- otherwise the timer: ESTABLISHED/CLOSE_WAIT with the keepalive timer pending (idiag_timer 2) is true, no
  timer (0) is false -- with SO_KEEPALIVE set, the keepalive timer is armed whenever the connection is
  established (tcp_finish_connect, tcp_create_openreq_child, tcp_set_keepalive) and re-arms itself --, a
  retransmit (1) or zero-window probe (4) timer masks it, so the caller re-samples once shortly after,
  then unknown. LISTEN never shows it; an orphaned FIN_WAIT2 shows 2 without SO_KEEPALIVE: both unknown.
"""

from __future__ import annotations

import math
import socket

from ansible_collections.tcp.keepalive.plugins.module_utils._common import KEYS, dataclass, detection_time
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import TcpSocket
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import SockOpts

CONNECTED = (1, 8)  # ESTABLISHED, CLOSE_WAIT: the states where the timer is a reliable signal
LISTEN = 10
FIN_WAIT2 = 5


@dataclass(frozen=True)
class Verdict:
    keepalive: bool | str  # True, False or "unknown"
    source: str | None = None  # "sockopt" | "timer" | None
    reason: str | None = None  # why unknown


TIMER_TRUE = Verdict(True, "timer")  # shared: verdicts are never changed once made
TIMER_FALSE = Verdict(False, "timer")
SOCKOPT_VERDICT = {True: Verdict(True, "sockopt"), False: Verdict(False, "sockopt")}


def endpoint(family: int, address: str, port: int) -> str:
    return f"[{address}]:{port}" if family == socket.AF_INET6 else f"{address}:{port}"


class Classified:
    """What the scan concluded about one socket (light: one per socket, not kept unless listed)."""

    __slots__ = (
        "sock",
        "verdict",
        "skipped",
        "keepidle",
        "keepintvl",
        "keepcnt",
        "user_timeout",
        "params_source",
        "detection",
        "idle",
        "ghost",
    )

    def __init__(self, sock: TcpSocket, verdict: Verdict, skipped: str | None) -> None:
        self.sock = sock
        self.verdict = verdict
        self.skipped = skipped
        self.keepidle: int | None = None
        self.keepintvl: int | None = None
        self.keepcnt: int | None = None
        self.user_timeout: int | None = None
        self.params_source: str | None = None
        self.detection: int | None = None
        self.idle: int | None = None
        self.ghost = False

    @property
    def local(self) -> str:
        return endpoint(self.sock.family, self.sock.src, self.sock.sport)

    @property
    def where(self) -> str:
        sock = self.sock
        return f"{self.local}->{endpoint(sock.family, sock.dst, sock.dport)}"

    @property
    def bucket(self) -> int:
        """Listing priority: ghosts, listeners without keepalive, connections without, unknown, rest."""
        keepalive = self.verdict.keepalive
        if self.ghost:
            return 0
        if keepalive is False:
            return 1 if self.sock.state == LISTEN else 2
        return 3 if keepalive == "unknown" else 4


def timer_verdict(sock: TcpSocket) -> Verdict:
    """What the timer alone says about SO_KEEPALIVE."""
    state = sock.state
    if state in CONNECTED:
        if sock.timer == 2:
            return TIMER_TRUE
        if sock.timer == 0:
            return TIMER_FALSE
        kind = "retransmit" if sock.timer == 1 else "zero-window probe"
        return Verdict("unknown", None, f"a {kind} timer masks the keepalive timer")
    if state == LISTEN:
        return Verdict(
            "unknown",
            None,
            "a listening socket never shows a keepalive timer; its socket options were not read",
        )
    if state == FIN_WAIT2:
        return Verdict(
            "unknown", None, "an orphaned FIN_WAIT2 socket shows the same timer without SO_KEEPALIVE"
        )
    return Verdict("unknown", None, f"no keepalive signal in state {sock.state_name}")


def effective_detection_time(keepidle: int, keepintvl: int, keepcnt: int, user_timeout_ms: int) -> int:
    """Seconds from the last data received until a dead idle peer is reset.

    net/ipv4/tcp_timer.c tcp_keepalive_timer(): without TCP_USER_TIMEOUT the reset comes after keepcnt
    unanswered probes (keepidle + keepintvl * keepcnt). With it, the reset comes at the first keepalive
    timer tick where the idle time reaches user_timeout and at least one probe is out: ticks fall at
    keepidle + k * keepintvl, k >= 1.
    """
    if user_timeout_ms > 0:
        user_timeout = user_timeout_ms / 1000.0
        ticks = max(1, math.ceil((user_timeout - keepidle) / keepintvl)) if keepintvl > 0 else 1
        return int(keepidle + ticks * keepintvl)
    return int(detection_time(keepidle, keepintvl, keepcnt) or 0)


def classify(
    sock: TcpSocket,
    opts: SockOpts | None,
    skipped: str | None,
    sysctls: dict[str, int | None],
    idle_threshold: int,
    resampled: bool = False,
) -> Classified:
    """One socket's verdict, keepalive parameters, detection time, idle time and ghost flag."""
    verdict = SOCKOPT_VERDICT[opts.keepalive] if opts is not None else timer_verdict(sock)
    if resampled and verdict.keepalive == "unknown" and sock.state in CONNECTED:
        verdict = Verdict("unknown", None, (verdict.reason or "") + " (still, after a re-sample)")
    item = Classified(sock, verdict, skipped)
    if opts is not None:
        if opts.keepalive:  # TCP_KEEP* are read only where SO_KEEPALIVE is on (SockOptReader.read)
            item.keepidle, item.keepintvl, item.keepcnt = opts.keepidle, opts.keepintvl, opts.keepcnt
        item.user_timeout = opts.user_timeout
        item.params_source = "sockopt" if opts.keepalive else None
    elif verdict.keepalive is True:
        item.keepidle, item.keepintvl, item.keepcnt = (sysctls.get(key) for key in KEYS)
        item.params_source = "assumed"
    keepidle, keepintvl, keepcnt = item.keepidle, item.keepintvl, item.keepcnt
    if verdict.keepalive is True and keepidle is not None and keepintvl is not None and keepcnt is not None:
        item.detection = effective_detection_time(keepidle, keepintvl, keepcnt, item.user_timeout or 0)
    if sock.last_data_recv is not None and sock.state != LISTEN:
        item.idle = sock.last_data_recv // 1000
    item.ghost = (
        verdict.keepalive is False
        and sock.state in CONNECTED
        and item.idle is not None
        and item.idle >= idle_threshold
    )
    return item
