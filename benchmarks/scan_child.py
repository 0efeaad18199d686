# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One socket scan through the collection's module_utils, called directly (no Ansible), in a fresh process.

    python scan_child.py --stage dump
    python scan_child.py --stage scan --read-socket-options never --detail summary [--profile FILE]

Prints one JSON line: scan_s (time inside the call, interpreter start-up excluded), sockets seen, the
size of the JSON result, and what the scan reported about itself. --profile writes cProfile's top
functions (cumulative and own time) to FILE.

Stages:
  dump   the NETLINK_SOCK_DIAG dump alone (_sockdiag.dump_tcp), nothing joined: the floor.
  scan   the module's whole scan (_sockets): dump, owners from /proc/<pid>/fd, classification,
         services, findings; socket options through pidfd_getfd when --read-socket-options allows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from _collection import import_collection

import_collection()


def stage_dump(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag

    count = 0
    for _record in _sockdiag.dump_tcp():
        count += 1
    return {"sockets": count}, 0


def stage_scan(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """The module's scan entry point, called as the module calls it (see plugins/modules/sockets_info.py)."""
    from ansible_collections.tcp.keepalive.plugins.module_utils import _sockets

    # Loopback included: every benchmark connection is on lo, and `ss` lists them all too.
    options = _sockets.parse_options(
        {"read_socket_options": args.read_socket_options, "detail": args.detail, "include_loopback": True}
    )
    result = _sockets.scan_sockets(options)
    summary = result["summary"]
    size = len(json.dumps(result, default=str))  # what the module would hand to exit_json
    return {
        "sockets": summary.get("sockets"),
        "listed": summary.get("sockets_listed"),
        "keepalive": summary.get("keepalive"),
        "keepalive_source": summary.get("keepalive_source"),
        "socket_options": summary.get("socket_options"),
        "findings": summary.get("findings"),
        "module_scan_seconds": summary.get("scan_seconds"),
    }, size


STAGES = {"dump": stage_dump, "scan": stage_scan}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=sorted(STAGES), default="scan")
    parser.add_argument("--read-socket-options", choices=["auto", "always", "never"], default="never")
    parser.add_argument("--detail", default="summary")
    parser.add_argument("--profile", help="write cProfile's top functions to this file")
    args = parser.parse_args()
    stage = STAGES[args.stage]
    profiler = None
    if args.profile:
        import cProfile  # only when asked: its import time is not part of a measured scan

        profiler = cProfile.Profile()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    info, size = stage(args)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    if profiler and args.profile:
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        out.write(f"# {' '.join(sys.argv[1:])}: {elapsed:.3f} s under cProfile\n")
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(25)
        with open(args.profile, "w", encoding="utf-8") as handle:
            handle.write(out.getvalue())
    print(json.dumps({"scan_s": elapsed, "result_bytes": size, **info}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
