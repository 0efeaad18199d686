# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two peers of the dead_peer scenario, as long-lived detached processes (standard library only).

serve:  a TCP service on --port. With --keepalive the LISTENING socket gets SO_KEEPALIVE and nothing else,
        so the probe timing comes from the namespace sysctls net.ipv4.tcp_keepalive_{time,intvl,probes};
        accepted sockets inherit the flag. Without it the service behaves like `nc -l`: no keepalive.
        It never sends: the connections stay idle. Every event is appended to --log as one JSON object
        per line with a wall-clock timestamp, e.g.
        {"t": 1764485000.12, "event": "error", "peer": "172.18.0.3:41234", "errno": "ETIMEDOUT"}.
hold:   connect to each HOST:PORT and hold the connections idle (no socket option set: the client's
        kernel answers keepalive probes with plain ACKs). Prints one JSON line with the addresses.

Both bind or connect before detaching, and the command returns only once the detached process has
written --pidfile: when it returns, the port is open or the connections are ESTABLISHED.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
import threading
import time


def log_event(path: str, event: str, **fields: object) -> None:
    record = {"t": time.time(), "event": event}
    record.update(fields)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def detach(pidfile: str) -> None:
    """Double fork; the original process waits until the detached one has written the pidfile, then exits."""
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    sys.stdout.flush()
    if os.fork() > 0:
        deadline = time.monotonic() + 10
        while not os.path.exists(pidfile) and time.monotonic() < deadline:
            time.sleep(0.02)
        os._exit(0 if os.path.exists(pidfile) else 1)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    tmp = pidfile + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    os.rename(tmp, pidfile)


def serve_connection(conn: socket.socket, port: int, peer: str, log_path: str) -> None:
    """Read until EOF or an error (ETIMEDOUT when keepalive gives up on a dead peer)."""
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                log_event(log_path, "eof", port=port, peer=peer)
                return
            log_event(log_path, "data", port=port, peer=peer, size=len(data))
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        log_event(log_path, "error", port=port, peer=peer, errno=name)
    finally:
        conn.close()


def set_process_name(name: str) -> None:
    """Name the process (comm, 15 bytes max) so that sockets_info reports it as a service of its own."""
    with open("/proc/self/comm", "w", encoding="utf-8") as handle:
        handle.write(name[:15])


def serve(args: argparse.Namespace) -> int:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.keepalive:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    listener.bind(("0.0.0.0", args.port))
    listener.listen(16)
    log_event(args.log, "listen", port=args.port, keepalive=bool(args.keepalive))
    detach(args.pidfile)
    if args.name:
        set_process_name(args.name)
    while True:
        conn, addr = listener.accept()
        peer = f"{addr[0]}:{addr[1]}"
        inherited = bool(conn.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        log_event(args.log, "accept", port=args.port, peer=peer, so_keepalive=inherited)
        threading.Thread(target=serve_connection, args=(conn, args.port, peer, args.log), daemon=True).start()


def connect(target: str, timeout: float) -> socket.socket:
    host, _colon, port = target.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, int(port)), timeout=2.0)
            sock.settimeout(None)
            return sock
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def address(pair: tuple) -> str:
    return f"{pair[0]}:{pair[1]}"


def hold(args: argparse.Namespace) -> int:
    held: list[socket.socket] = [connect(target, args.timeout) for target in args.targets]
    report = [{"local": address(s.getsockname()), "remote": address(s.getpeername())} for s in held]
    print(json.dumps({"t": time.time(), "connections": report}), flush=True)
    detach(args.pidfile)
    while True:  # never send, never read: idle until killed
        time.sleep(3600)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--port", type=int, required=True)
    p_serve.add_argument("--keepalive", action="store_true", help="set SO_KEEPALIVE on the listener")
    p_serve.add_argument("--log", required=True)
    p_serve.add_argument("--name", help="process name (comm) the service shows as")
    p_serve.add_argument("--pidfile", required=True)
    p_hold = sub.add_parser("hold")
    p_hold.add_argument("targets", nargs="+", metavar="HOST:PORT")
    p_hold.add_argument("--pidfile", required=True)
    p_hold.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    return serve(args) if args.command == "serve" else hold(args)


if __name__ == "__main__":
    sys.exit(main())
