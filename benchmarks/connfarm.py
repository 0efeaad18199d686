# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hold N established loopback TCP connections, spread over several processes, in THIS network namespace.

Run it only inside a private network namespace (bench_sockets.py does: `unshare --net`): it brings `lo`
up and raises net.core.somaxconn, net.ipv4.ip_local_port_range and net.ipv4.tcp_max_syn_backlog there,
which are per-namespace sysctls and leave the host alone.

Layout: `servers` processes each listen on `ports_per_server` ports on their own 127.0.0.x address and
accept; `clients` processes connect round-robin to every listener, so each (destination ip, port) pair
needs at most N / listeners ephemeral ports (the 4-tuple, not the local port alone, must be unique).
Every connection therefore appears twice in a dump (client end + accepted end), both ESTABLISHED and both
owned by a process. A fraction of the client sockets set SO_KEEPALIVE (and some TCP_KEEPIDLE) and a
fraction of the listeners too, so classification has mixed input.

Start(): fork the holders, wait until each has its share, return a Farm with the pids; stop() kills them.
As a script it holds the farm until stdin closes (or SIGTERM): `python connfarm.py --connections 1000`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass

BASE_PORT = 20000


@dataclass
class Farm:
    connections: int
    server_pids: list[int]
    client_pids: list[int]
    listeners: list[tuple[str, int]]
    setup_s: float
    keepalive: dict[str, int]  # what a correct classifier must find, by construction (see keepalive_plan)

    def as_dict(self) -> dict:
        return {
            "connections": self.connections,
            "server_pids": self.server_pids,
            "client_pids": self.client_pids,
            "listeners": [f"{h}:{p}" for h, p in self.listeners],
            "setup_s": self.setup_s,
            "keepalive": self.keepalive,
        }

    def stop(self) -> None:
        for pid in self.server_pids + self.client_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in self.server_pids + self.client_pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def write_sysctl(name: str, value: str) -> None:
    with open("/proc/sys/" + name.replace(".", "/"), "w", encoding="ascii") as handle:
        handle.write(value)


def prepare_namespace() -> None:
    """Loopback up and room for many connections (per-namespace sysctls only)."""
    os.system("ip link set lo up")  # noqa: S605 - fixed command, no input
    write_sysctl("net.core.somaxconn", "65535")
    write_sysctl("net.ipv4.ip_local_port_range", "1024 65000")
    write_sysctl("net.ipv4.tcp_max_syn_backlog", "65535")


def fresh_namespace() -> None:
    """Move this process into a new, empty network namespace (unshare(2) CLONE_NEWNET) and prepare it.

    Every size gets its own: no TIME_WAIT leftovers of the previous farm, no stale listeners.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    prepare_namespace()


def raise_nofile(need: int) -> int:
    """Raise RLIMIT_NOFILE towards `need` (hard limit too with CAP_SYS_RESOURCE); return the soft limit."""
    with open("/proc/sys/fs/nr_open", encoding="ascii") as handle:
        nr_open = int(handle.read())
    want = min(nr_open, need)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):  # no CAP_SYS_RESOURCE (containers, this CI): stay under the hard limit
        want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def holders_needed(connections: int, nofile: int, minimum: int) -> int:
    """Processes needed on one side so that none holds more fds than its limit allows (with headroom)."""
    per_process = max(1, nofile - 256)
    return max(minimum, -(-connections // per_process))


def keepalive_plan(per_client: list[int], listeners: int) -> dict[str, int]:
    """Sockets with SO_KEEPALIVE by construction: every 2nd client socket (_connect), every accepted
    socket of an odd listener (it inherits the listener's SO_KEEPALIVE), and the odd listeners: about half
    of the connected sockets."""
    clients = sum(len(range(0, count, 2)) for count in per_client)
    accepted = sum(
        1
        for index, count in enumerate(per_client)
        for i in range(count)
        if ((i + index) % listeners) % 2 == 1
    )
    return {
        "connected_with_keepalive": clients + accepted,
        "connected": 2 * sum(per_client),
        "listeners": listeners,
        "listeners_with_keepalive": listeners // 2,
    }


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _serve(listeners: list[socket.socket], expected: int, ready_fd: int) -> None:
    """Accept `expected` connections on these listeners, keep them, report, then sleep forever."""
    held: list[int] = []
    sel = selectors.DefaultSelector()
    for lsock in listeners:
        lsock.setblocking(False)
        sel.register(lsock, selectors.EVENT_READ)
    while len(held) < expected:
        for key, _events in sel.select(timeout=5):
            lsock = key.fileobj
            while len(held) < expected:
                try:
                    conn, _peer = lsock.accept()  # type: ignore[union-attr]
                except BlockingIOError:
                    break
                held.append(conn.detach())
    os.write(ready_fd, f"{os.getpid()} {len(held)}\n".encode())
    while True:
        signal.pause()


def _connect(targets: list[tuple[str, int]], count: int, index: int, ready_fd: int) -> None:
    """Open `count` connections round-robin over targets; every 2nd sets SO_KEEPALIVE, every 8th KEEPIDLE."""
    held: list[int] = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if i % 2 == 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if i % 8 == 0:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 600)
        sock.connect(targets[(i + index) % len(targets)])
        held.append(sock.detach())
    os.write(ready_fd, f"{os.getpid()} {len(held)}\n".encode())
    while True:
        signal.pause()


def start(
    connections: int, servers: int = 2, clients: int = 4, ports_per_server: int = 2, timeout: float = 600.0
) -> Farm:
    """Fork the holders and wait until all `connections` are established; raise on failure."""
    began = time.monotonic()
    nofile = raise_nofile(connections + 4096)
    servers = holders_needed(connections, nofile, servers)
    clients = holders_needed(connections, nofile, clients)
    listeners: list[tuple[str, int]] = []
    server_socks: list[list[socket.socket]] = []
    for s in range(servers):
        socks = []
        for p in range(ports_per_server):
            address = (f"127.0.0.{s + 2}", BASE_PORT + p)
            lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if len(listeners) % 2 == 1:  # odd listeners set keepalive: their accepted sockets inherit it
                lsock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            lsock.bind(address)
            lsock.listen(65535)
            socks.append(lsock)
            listeners.append(address)
        server_socks.append(socks)
    read_fd, write_fd = os.pipe()
    # Each server accepts what round-robin sends to its listeners.
    per_client = _split(connections, clients)
    per_listener = [0] * len(listeners)
    for index, count in enumerate(per_client):
        for i in range(count):
            per_listener[(i + index) % len(listeners)] += 1
    server_pids, client_pids = [], []
    for s in range(servers):
        expected = sum(per_listener[s * ports_per_server : (s + 1) * ports_per_server])
        pid = os.fork()
        if pid == 0:
            _child(lambda s=s, expected=expected: _serve(server_socks[s], expected, write_fd))
        server_pids.append(pid)
    for socks in server_socks:
        for lsock in socks:
            lsock.close()
    for index, count in enumerate(per_client):
        pid = os.fork()
        if pid == 0:
            _child(lambda index=index, count=count: _connect(listeners, count, index, write_fd))
        client_pids.append(pid)
    os.close(write_fd)
    farm = Farm(
        connections, server_pids, client_pids, listeners, 0.0, keepalive_plan(per_client, len(listeners))
    )
    reported = 0
    buffer = b""
    deadline = time.monotonic() + timeout
    with os.fdopen(read_fd, "rb", buffering=0) as reader:
        while reported < servers + clients:
            if time.monotonic() > deadline:
                farm.stop()
                raise RuntimeError(f"connection farm not ready after {timeout} s")
            chunk = reader.read(4096)
            if not chunk:
                farm.stop()
                raise RuntimeError("a connection holder died before it was ready (see stderr)")
            buffer += chunk
            reported = buffer.count(b"\n")
    farm.setup_s = time.monotonic() - began
    return farm


def _child(body) -> None:  # noqa: ANN001 - a closure
    """Run body in a forked holder; never return into the parent's code."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        body()
        code = 0
    except BaseException as exc:  # noqa: BLE001 - report anything, then leave
        print(f"connfarm holder {os.getpid()}: {exc!r}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--prepare", action="store_true", help="lo up and sysctls (private netns only)")
    args = parser.parse_args()
    if args.prepare:
        prepare_namespace()
    farm = start(args.connections, args.servers, args.clients)
    print(json.dumps(farm.as_dict()), flush=True)
    try:
        sys.stdin.read()
    finally:
        farm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
