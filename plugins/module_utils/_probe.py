# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The opt-in active probe of a listener (sockets_info `probe_listeners: true`).

Many servers set SO_KEEPALIVE on each connection after accept() and never on the listener (PostgreSQL,
MariaDB, Go, Node's setKeepAlive, socat). When no accepted connection is visible, the only way to know
is to be accepted: from inside the listener's namespace, connect to it, find the server-side socket with
sock_diag, wait (bounded) until the application has accepted it (the socket gets an inode when accept()
gives it a file), read its options (pidfd_getfd + getsockopt, else its keepalive timer), and close with a
reset (SO_LINGER 0: no TIME_WAIT, the server sees ECONNRESET and may log it).

Entry point: `probe_listener(context, listener, pids, reader, root)` -> `ProbeResult`.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Sequence

from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import NamespaceContext
from ansible_collections.tcp.keepalive.plugins.module_utils._nsenter import open_in_namespace
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import scan_socket_fds
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import TcpSocket

ACCEPT_WAIT = 2.0  # seconds the application gets to accept() the probe connection
SETTLE_WAIT = 0.5  # and then to set SO_KEEPALIVE on it (Node sets it in its 'connection' handler)
CONNECT_TIMEOUT = 2.0
_RESET_ON_CLOSE = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # struct linger {1, 0}


@dataclass
class ProbeResult:
    keepalive: bool | str  # True, False or "unknown"
    source: str | None = None  # "sockopt" or "timer" (of the accepted socket)
    error: str | None = None
    keepidle: int | None = None
    accepted_by: int | None = None  # pid holding the accepted socket


def _target(listener: TcpSocket) -> tuple[int, str]:
    if listener.family == socket.AF_INET6:
        address = listener.src
        return socket.AF_INET6, "::1" if address in ("::", "::ffff:0.0.0.0") else address
    return socket.AF_INET, "127.0.0.1" if listener.src == "0.0.0.0" else listener.src


def _connector(family: int, address: str, port: int) -> Any:
    def connect() -> socket.socket:
        client = socket.socket(family, socket.SOCK_STREAM)
        try:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
            client.settimeout(CONNECT_TIMEOUT)
            client.connect((address, port))
        except OSError:
            client.close()
            raise
        return client

    return connect


def _server_side(context: NamespaceContext, client: socket.socket) -> TcpSocket | None:
    local = client.getsockname()
    peer = client.getpeername()
    try:
        return _sockdiag.query_tcp(client.family, peer[0], peer[1], local[0], local[1], sock=context.netlink)
    except _sockdiag.SockDiagError:
        return None


def _holder(inode: int, pids: Sequence[int], root: str) -> tuple[int, int] | None:
    for pid in pids:  # the service's own processes first; a worker it forked is found by the full walk
        found = _fds_of(pid, inode, root)
        if found is not None:
            return found
    holders = scan_socket_fds(root, wanted={inode}).get(inode)
    return holders[0] if holders else None


def _fds_of(pid: int, inode: int, root: str) -> tuple[int, int] | None:
    import os

    target = f"socket:[{inode}]"
    directory = os.path.join(root, "proc", str(pid), "fd")
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in names:
        try:
            if os.readlink(os.path.join(directory, name)) == target:
                return pid, int(name)
        except OSError:
            continue
    return None


def probe_listener(
    context: NamespaceContext, listener: TcpSocket, pids: Sequence[int], reader: Any, root: str = "/"
) -> ProbeResult:
    """Connect to the listener from inside its namespace and read the accepted socket's keepalive."""
    family, address = _target(listener)
    connect = _connector(family, address, listener.sport)
    if context.current:
        try:
            client = connect()
        except OSError as exc:
            return ProbeResult("unknown", error=f"cannot connect to {address}:{listener.sport}: {exc}")
    else:
        if context.entry_path is None or context.netlink is None:
            return ProbeResult("unknown", error="the namespace cannot be entered")
        entered = open_in_namespace(context.entry_path, connect, expected_inode=context.inode)
        if entered.sock is None:
            return ProbeResult("unknown", error=entered.error)
        client = entered.sock
    try:
        return _observe(context, client, pids, reader, root)
    finally:
        client.close()


def _observe(
    context: NamespaceContext, client: socket.socket, pids: Sequence[int], reader: Any, root: str
) -> ProbeResult:
    deadline = time.monotonic() + ACCEPT_WAIT
    server = _server_side(context, client)
    while server is not None and server.inode == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
        server = _server_side(context, client)
    if server is None:
        return ProbeResult("unknown", error="the accepted connection was not found in the socket table")
    if server.inode == 0:
        return ProbeResult("unknown", error=f"the application did not accept() it within {ACCEPT_WAIT:g}s")
    holder = _holder(server.inode, pids, root) if reader is not None else None
    settle = time.monotonic() + SETTLE_WAIT
    while True:
        result = _read(context, client, server, holder, reader)
        if result.keepalive is not False or time.monotonic() >= settle:
            return result
        time.sleep(0.05)
        server = _server_side(context, client) or server


def _read(
    context: NamespaceContext,
    client: socket.socket,
    server: TcpSocket,
    holder: tuple[int, int] | None,
    reader: Any,
) -> ProbeResult:
    if holder is not None:
        opts, _reason = reader.read(holder[0], holder[1], server.inode, params_if_off=False)
        if opts is not None:
            return ProbeResult(opts.keepalive, "sockopt", keepidle=opts.keepidle, accepted_by=holder[0])
    fresh = _server_side(context, client) or server
    if fresh.timer == 2:
        return ProbeResult(True, "timer", accepted_by=holder[0] if holder else None)
    if fresh.timer == 0:
        return ProbeResult(False, "timer", accepted_by=holder[0] if holder else None)
    return ProbeResult("unknown", error="the accepted connection's timer is masked")
