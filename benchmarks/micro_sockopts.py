# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Micro-benchmark behind a profile finding: reading socket options through pidfd_getfd.

    python micro_sockopts.py [--connections 20000]     (re-executes itself under `unshare --net`)

cProfile of the `read_socket_options: always` scan showed five ctypes getsockopt calls per socket as the
top cost; the reader now wraps the pidfd_getfd copy in a socket object instead (13.9 -> 10.1 us per socket
here). This compares, on the same (pid, fd) pairs of a connection farm, the reader as it is with a variant
that also skips the three TCP_KEEP* reads when SO_KEEPALIVE is off (they must agree on everything that
matters), and with the bare copy (pidfd_getfd, the inode check, close): what any options read costs at
least. Prints the time per socket of each.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import connfarm
from _collection import import_collection

import_collection()

from ansible_collections.tcp.keepalive.plugins.module_utils import _sockopts  # noqa: E402
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import scan_socket_fds  # noqa: E402

NETNS_MARK = "TCP_KEEPALIVE_BENCH_NETNS"


def read_keepalive_first(reader: _sockopts.SockOptReader, pid: int, fd: int, inode: int) -> Any:
    """Proposed: SO_KEEPALIVE and TCP_USER_TIMEOUT always, the TCP_KEEP* values only when it is on."""
    sock, reason = reader.duplicate(pid, fd, inode)
    if sock is None:
        return None, reason
    try:
        get = sock.getsockopt
        keepalive = bool(get(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        user_timeout = get(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        if not keepalive:
            return ("off", user_timeout), None
        return _sockopts.SockOpts(
            keepalive=True,
            keepidle=get(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            keepintvl=get(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            keepcnt=get(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            user_timeout=user_timeout,
        ), None
    except OSError:
        return None, _sockopts.SKIP_ERROR
    finally:
        sock.close()


def same_meaning(full: Any, short: Any) -> bool:
    """The keepalive-first read says the same as the full one (TCP_KEEP* only matter with keepalive on)."""
    (opts, reason), (got, reason2) = full, short
    if opts is None or got is None:
        return opts is None and got is None and reason == reason2
    if not opts.keepalive:
        return got == ("off", opts.user_timeout)
    return got == opts


def copy_and_close(reader: _sockopts.SockOptReader, pid: int, fd: int, inode: int) -> Any:
    """The syscalls no options read can do without: pidfd_getfd and close (no inode check, no getsockopt).
    Not a reader: its time per socket is the lower bound of any scan that reads options this way."""
    sock, reason = reader.duplicate(pid, fd, inode)
    if sock is None:
        return None, reason
    sock.close()
    return ("copied",), None


VARIANTS = {
    "getsockopt x5 on a socket object (current)": None,
    "TCP_KEEP* only with SO_KEEPALIVE (as read_socket_options auto reads)": read_keepalive_first,
    "pidfd_getfd + fstat + close, no getsockopt (lower bound)": copy_and_close,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=20000)
    args = parser.parse_args()
    if os.environ.get(NETNS_MARK) != "1":
        env = dict(os.environ, **{NETNS_MARK: "1"})
        return subprocess.call(["unshare", "--net", "--", sys.executable, *sys.argv], env=env)
    connfarm.prepare_namespace()
    farm = connfarm.start(args.connections)
    try:
        pids = set(farm.server_pids + farm.client_pids)
        owners = scan_socket_fds()
        pairs = [
            (holders[0][0], holders[0][1], inode)
            for inode, holders in owners.items()
            if holders[0][0] in pids
        ]
        timings = {}
        results = {}
        for name, variant in VARIANTS.items():
            with _sockopts.SockOptReader() as reader:
                start = time.perf_counter()
                if variant is None:
                    got = [reader.read(pid, fd, inode) for pid, fd, inode in pairs]
                else:
                    got = [variant(reader, pid, fd, inode) for pid, fd, inode in pairs]
                timings[name] = time.perf_counter() - start
            results[name] = got
        first, second = list(results.values())[:2]
        same = all(same_meaning(a, b) for a, b in zip(first, second))
        read = sum(1 for opts, _reason in first if opts is not None)
        with_keepalive = sum(1 for opts, _reason in first if opts is not None and opts.keepalive)
        report = {
            "sockets": len(pairs),
            "read": read,
            "with_keepalive": with_keepalive,
            "identical": same,
            "us_per_socket": {k: round(v / max(1, len(pairs)) * 1e6, 2) for k, v in timings.items()},
            "total_s": {k: round(v, 3) for k, v in timings.items()},
        }
        print(json.dumps(report, indent=1))
        return 0 if same and read else 1
    finally:
        farm.stop()


if __name__ == "__main__":
    sys.exit(main())
