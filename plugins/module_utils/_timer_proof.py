# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""timer_info's active proof: does the kernel arm a new socket's keepalive timer with the namespace's
tcp_keepalive_time?

Entry point: `prove_keepalive_timer(tolerance, expected_time, root)` -> `TimerProof` (`ProofError` when no
loopback connection can be made). One loopback connection with SO_KEEPALIVE, read back through sock_diag
(/proc/net/tcp as a fallback), closed with a reset so no TIME_WAIT is left.
"""

from __future__ import annotations

import socket
from typing import Any

from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._classify import endpoint
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    LIMITS,
    Finding,
    check_range,
    dataclass,
    field_names,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import current_namespace_inode
from ansible_collections.tcp.keepalive.plugins.module_utils._procsys import read_values
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import TcpSocket


@dataclass
class TimerProof:
    expected_time: int | None
    expected_source: str  # "option" or "sysctl"
    observed_time: float | None
    tolerance: float
    ok: bool
    timer: str | None
    namespace: int | None
    sysctls: dict[str, int | None]
    method: str | None
    socket: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        result = {name: getattr(self, name) for name in field_names(self)}
        result["difference"] = (
            None
            if self.observed_time is None or self.expected_time is None
            else round(self.observed_time - self.expected_time, 3)
        )
        return result


def option_problem(tolerance: Any, expected_time: Any, prefix: str = "") -> str | None:
    """A message naming the first bad option (`prefix` + name), or None.

    The timer cannot be longer than MAX_TCP_KEEPIDLE (32767 s), so neither can a useful tolerance; NaN
    ("within nan"), infinity and 1e308 would make every proof pass.
    """
    problem = check_range(prefix + "tolerance", tolerance, 0, LIMITS["time"][1], "a number of seconds")
    if problem is None and expected_time is not None:
        problem = check_range(prefix + "expected_time", expected_time, *LIMITS["time"], "a number of seconds")
    return problem


def proof_result(proof: TimerProof) -> dict[str, Any]:
    """The proof as the modules return it: its fields plus a timer_mismatch finding when it failed."""
    result = proof.as_dict()
    result["findings"] = (
        []
        if proof.ok
        else [
            Finding(
                id="timer_mismatch",
                key="time",
                message=proof.message,
                extra={
                    "expected": proof.expected_time,
                    "observed": proof.observed_time,
                    "socket": proof.socket,
                },
            ).as_dict()
        ]
    )
    return result


class ProofError(Exception):
    """The loopback connection could not be made; the message is meant for the user as is."""


def _loopback_pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    """listener, client (SO_KEEPALIVE set before connect, no per-socket TCP_KEEP*), accepted."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # Reset on close instead of FIN: no TIME_WAIT socket is left behind.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.settimeout(5.0)
        client.connect(listener.getsockname())
        listener.settimeout(5.0)
        accepted = listener.accept()[0]
    except OSError as exc:
        listener.close()
        client.close()
        raise ProofError(
            f"cannot open a loopback TCP connection on 127.0.0.1 ({exc}); is `lo` up in this "
            "network namespace?"
        ) from exc
    return listener, client, accepted


def _observe(client: socket.socket) -> tuple[TcpSocket | None, str]:
    src, sport = client.getsockname()[:2]
    dst, dport = client.getpeername()[:2]
    try:
        return _sockdiag.query_tcp(socket.AF_INET, src, sport, dst, dport), "sock_diag"
    except _sockdiag.SockDiagError:
        pass
    for item in _sockdiag.proc_tcp(_sockdiag.ALL_STATES_MASK):
        wanted = (src, sport, dst, dport)
        if item.family == socket.AF_INET and (item.src, item.sport, item.dst, item.dport) == wanted:
            return item, "proc"
    return None, "proc"


def prove_keepalive_timer(
    tolerance: float = 2.0, expected_time: int | None = None, root: str = "/"
) -> TimerProof:
    """Open a loopback connection with SO_KEEPALIVE and read its keepalive timer from the kernel: a new
    socket's timer must expire after the namespace's tcp_keepalive_time (net/ipv4/tcp_input.c
    tcp_finish_connect() arms it with keepalive_time_when(), the sysctl when the socket has no own value).
    Everything opened is closed (the client with a reset, so no TIME_WAIT remains)."""
    sysctls = read_values(root)
    source = "option" if expected_time is not None else "sysctl"
    expected = expected_time if expected_time is not None else sysctls.get("time")
    listener, client, accepted = _loopback_pair()
    try:
        local = endpoint(socket.AF_INET, *client.getsockname()[:2])
        observed_sock, method = _observe(client)
    finally:
        for item in (client, accepted, listener):
            item.close()
    proof = TimerProof(
        expected_time=expected,
        expected_source=source,
        observed_time=None,
        tolerance=tolerance,
        ok=False,
        timer=None,
        namespace=current_namespace_inode(root),
        sysctls=sysctls,
        method=method,
        socket=local,
        message="",
    )
    if observed_sock is None:
        proof.message = "the loopback connection was not found in the kernel's socket table"
        return proof
    proof.timer = _sockdiag.TIMER_NAMES.get(observed_sock.timer, str(observed_sock.timer))
    if observed_sock.timer != 2:
        proof.message = f"the connection shows the {proof.timer} timer, not keepalive"
        return proof
    proof.observed_time = round(observed_sock.expires / 1000.0, 3)
    if expected is None:
        proof.message = (
            f"keepalive timer expires in {proof.observed_time}s; no expected time "
            "(tcp_keepalive_time unreadable)"
        )
        return proof
    proof.ok = abs(proof.observed_time - expected) <= tolerance
    verdict = "matches" if proof.ok else "does not match"
    proof.message = (
        f"keepalive timer of a new socket expires in {proof.observed_time}s, {verdict} the "
        f"expected {expected}s ({source}) within {tolerance:g}s"
    )
    return proof
