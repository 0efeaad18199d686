# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: enabling keepalive in place on N connections of one process, against the option-read path.

    python bench_remediate.py [--connections 19500]    (re-executes itself under `unshare --net`, as root)

One server process of a connection farm (benchmarks/connfarm.py, a listener without SO_KEEPALIVE) holds N
accepted connections. In the same run, on the same (pid, fd) pairs, it times:
  1. read      SockOptReader.read(params_if_off=False), the call sockets_info's scan makes (pidfd_getfd,
               getsockopt of SO_KEEPALIVE and TCP_USER_TIMEOUT, TCP_KEEP* only when on, close) -- the
               baseline;
  2. apply     SockOptWriter.apply: tcp.keepalive.sockets's path (pidfd_getfd, read, 4 setsockopt, read
               back, close); checks every socket changed;
  3. again     SockOptWriter.apply once more: nothing to set (the idempotent second run);
  4. module    _live.remediate(): the whole module logic (selection over the dump, owners, apply) in check
               mode on the already changed farm (reads only), and with only_missing: false and a new idle
               (sets TCP_KEEPIDLE on every socket);
  5. sockets_info_scan  _sockets.scan_sockets with the same ports and read_socket_options: always (the whole
               sockets_info pipeline over the same sockets and their client ends: no pid filter there);
then the kernel is asked (sock_diag) how many of the server's connections show the keepalive timer.
Prints microseconds per socket and each path's ratio to `read`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import connfarm
from _collection import import_collection

import_collection()

from ansible_collections.tcp.keepalive.plugins.module_utils import (  # noqa: E402
    _live,
    _sockdiag,
    _sockets,
    _sockwrite,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import scan_socket_fds  # noqa: E402

NETNS_MARK = "TCP_KEEPALIVE_BENCH_NETNS"
SETTING = _sockwrite.KeepaliveSetting(keepalive=True, idle=300, intvl=30, count=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 19,500: one process can hold them under a 20,000 RLIMIT_NOFILE hard limit (this machine's, when it
    # cannot be raised); connfarm spreads more over several server processes and the report says so.
    parser.add_argument("--connections", type=int, default=19500)
    args = parser.parse_args()
    if os.environ.get(NETNS_MARK) != "1":
        env = dict(os.environ, **{NETNS_MARK: "1"})
        return subprocess.call(["unshare", "--net", "--", sys.executable, *sys.argv], env=env)
    connfarm.prepare_namespace()
    farm = connfarm.start(args.connections, servers=1, clients=4, ports_per_server=1)
    try:
        server = farm.server_pids[0]
        owners = scan_socket_fds()
        pairs = [
            (holders[0][0], holders[0][1], inode)
            for inode, holders in owners.items()
            if holders[0][0] == server
        ]
        seconds: dict[str, float] = {}
        with _sockwrite.SockOptWriter() as writer:
            start = time.perf_counter()
            # exactly the call sockets_info's Scan.read_sockopts makes
            read = [writer.read(pid, fd, inode, params_if_off=False) for pid, fd, inode in pairs]
            seconds["read"] = time.perf_counter() - start
            start = time.perf_counter()
            applied = [writer.apply(pid, fd, inode, SETTING) for pid, fd, inode in pairs]
            seconds["apply"] = time.perf_counter() - start
            start = time.perf_counter()
            again = [writer.apply(pid, fd, inode, SETTING) for pid, fd, inode in pairs]
            seconds["again"] = time.perf_counter() - start
        listen_port = farm.listeners[0][1]
        base = {"ports": [listen_port], "pids": [server], "include_loopback": True, "detail": 0}
        start = time.perf_counter()
        scanned = _sockets.scan_sockets(
            _sockets.parse_options(dict(base, read_socket_options="always", detail="summary", pids=None))
        )
        seconds["sockets_info_scan"] = time.perf_counter() - start
        start = time.perf_counter()
        checked = _live.remediate(
            _live.parse_live_options(dict(base, idle=300, intvl=30, count=5)), check_mode=True
        )
        seconds["module_check"] = time.perf_counter() - start
        start = time.perf_counter()
        changed = _live.remediate(
            _live.parse_live_options(dict(base, idle=600, only_missing=False)), check_mode=False
        )
        seconds["module_apply"] = time.perf_counter() - start
        inodes = {inode for _pid, _fd, inode in pairs}
        timers = sum(
            1
            for item in _sockdiag.dump_tcp(_sockdiag.states_mask(["ESTABLISHED"]))
            if item.inode in inodes and item.timer == 2
        )
        sockets = len(pairs)
        report = {
            "server_processes": len(farm.server_pids),
            "sockets": sockets,
            "read_ok": sum(1 for opts, _reason in read if opts is not None),
            "without_keepalive_before": sum(
                1 for opts, _reason in read if opts is not None and not opts.keepalive
            ),
            "applied_changed": sum(1 for item in applied if item.changed),
            "again_changed": sum(1 for item in again if item.changed),
            "module_check": {
                key: checked[key] for key in ("sockets_selected", "sockets_changed", "sockets_skipped")
            },
            "module_apply": {key: changed[key] for key in ("sockets_selected", "sockets_changed", "errors")},
            "sockets_info_scan": {
                "sockets": scanned["summary"]["sockets"],
                "read": scanned["summary"]["socket_options"]["read"],
                "us_per_scanned_socket": round(
                    seconds["sockets_info_scan"] / max(1, scanned["summary"]["sockets"]) * 1e6, 2
                ),
            },
            "keepalive_timers_after": timers,
            "us_per_socket": {key: round(value / max(1, sockets) * 1e6, 2) for key, value in seconds.items()},
            "ratio_to_read": {key: round(value / seconds["read"], 2) for key, value in seconds.items()},
            "total_s": {key: round(value, 3) for key, value in seconds.items()},
        }
        print(json.dumps(report, indent=1))
        ok = report["applied_changed"] == sockets and report["again_changed"] == 0
        return 0 if ok else 1
    finally:
        farm.stop()


if __name__ == "__main__":
    sys.exit(main())
