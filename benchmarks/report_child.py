# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the verify role's fleet reports for N synthetic host results, in a fresh process.

    python report_child.py --hosts 1000 [--profile FILE]

What the role does on the controller (plugins/plugin_utils/_report.py): evaluate_host() per host (the
verify_checks filter), then summarize_fleet() and write_reports() once (the verify_report action:
hosts/<host>.json, fleet.json, fleet.md, fleet.html, junit.xml) into a temporary directory.
Prints one JSON line: seconds per phase, host count, bytes written, statuses counted.

Synthetic hosts cycle through kinds that exercise every branch: compliant, not persisted (two
findings), a service without keepalive with its listener, connections and ghosts (12 findings),
unreachable, a failed module, not root, low-severity only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from _collection import import_collection

import_collection()

POLICY = {
    "expected": {"time": 600, "intvl": 60, "probes": 5},
    "max_detection_time": 900,
    "fail_on": ["high", "medium"],
    "require_root": False,
    "idle_threshold": 900,
}
GOOD = {"time": 600, "intvl": 60, "probes": 5}
DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}
BOOT_FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
KINDS = ("compliant", "unpersisted", "service", "unreachable", "broken", "not_root", "low_only", "compliant")


def _finding(fid: str, severity: str, message: str, **extra: Any) -> dict[str, Any]:
    base = {
        "id": fid,
        "severity": severity,
        "key": None,
        "message": message,
        "file": None,
        "line": None,
        "namespace": None,
    }
    base.update(extra)
    return base


def _settings(
    runtime: dict[str, int], boot: dict[str, int], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "changed": False,
        "loader": {"name": "systemd", "reason": "systemd-sysctl present"},
        "settings": {
            key: {
                "runtime": runtime[key],
                "boot": boot[key],
                "boot_source": BOOT_FILE,
                "definitions": [],
                "kernel_default": 0,
                "drift": runtime[key] != boot[key],
            }
            for key in ("time", "intvl", "probes")
        },
        "detection_time": {
            "runtime": runtime["time"] + runtime["intvl"] * runtime["probes"],
            "boot": boot["time"] + boot["intvl"] * boot["probes"],
        },
        "namespaces": [{"inode": 4026531840}],
        "findings": findings,
        "compliant": not findings,
    }


def _service_findings(i: int) -> list[dict[str, Any]]:
    pid = 1000 + i % 30000
    found = [
        _finding(
            "listener_without_keepalive",
            "high",
            "listener on :5432 without SO_KEEPALIVE",
            pid=pid,
            service="postgresql.service",
            socket={"local": "0.0.0.0:5432", "remote": "0.0.0.0:*", "state": "LISTEN"},
        )
    ]
    for c in range(8):
        found.append(
            _finding(
                "connection_without_keepalive",
                "medium",
                "connection without SO_KEEPALIVE",
                pid=pid,
                service="postgresql.service",
                socket=f"10.0.{i % 250}.5:5432 -> 10.1.{c}.9:{40000 + c}",
            )
        )
    for c in range(3):
        found.append(
            _finding(
                "ghost_candidate",
                "high",
                f"idle {86400 + c} s without keepalive",
                pid=pid,
                service="postgresql.service",
                idle=86400 + c,
                socket=f"10.0.{i % 250}.5:5432 -> 10.2.{c}.9:{50000 + c}",
            )
        )
    return found


def synthetic_raw(i: int) -> dict[str, Any]:
    """Host i's registered results, shaped like the verify role's (see roles/verify/tasks/main.yml)."""
    kind = KINDS[i % len(KINDS)]
    host = f"host{i:05d}.bench.example"
    reach = {"changed": False, "ansible_facts": {"ansible_user_uid": 0, "ansible_user_id": "root"}}
    settings = _settings(GOOD, GOOD, [])
    sockets: dict[str, Any] = {"changed": False, "sockets": [], "services": {}, "summary": {}, "findings": []}
    timer = {"changed": False, "expected": 600, "observed": 600, "ok": True, "findings": []}
    if kind == "unreachable":
        return {
            "host": host,
            "reach": {"unreachable": True, "msg": "ssh: connect to host: No route to host"},
            "settings": {"skipped": True},
            "sockets": {"skipped": True},
            "timer": {"skipped": True},
        }
    if kind == "unpersisted":
        settings = _settings(
            GOOD,
            DEFAULTS,
            [
                _finding(
                    "not_persisted",
                    "medium",
                    "live 600 is not persisted; 7200 after reboot",
                    key="net.ipv4.tcp_keepalive_time",
                ),
                _finding("detection_time_exceeded", "high", "7875 s after reboot exceeds 900 s"),
            ],
        )
    if kind == "service":
        sockets["findings"] = _service_findings(i)
    if kind == "not_root":
        reach["ansible_facts"] = {"ansible_user_uid": 1000, "ansible_user_id": "alice"}
    if kind == "broken":
        sockets = {"failed": True, "msg": "netlink: permission denied", "changed": False}
    if kind == "low_only":
        settings = _settings(
            GOOD,
            GOOD,
            [
                _finding(
                    "conflicting_definitions",
                    "low",
                    "also set to 600 in /etc/sysctl.conf",
                    key="net.ipv4.tcp_keepalive_time",
                    file="/etc/sysctl.conf",
                    line=12,
                ),
            ],
        )
    return {"host": host, "reach": reach, "settings": settings, "sockets": sockets, "timer": timer}


def run(hosts: int, out_dir: str) -> dict[str, Any]:
    from ansible_collections.tcp.keepalive.plugins.plugin_utils import _report as report

    raws = [synthetic_raw(i) for i in range(hosts)]
    t0 = time.perf_counter()
    records = [report.evaluate_host(raw, POLICY) for raw in raws]
    t1 = time.perf_counter()
    summary = report.summarize_fleet(records, POLICY, "2026-01-01T00:00:00Z")
    paths = report.write_reports(out_dir, records, summary)
    t2 = time.perf_counter()
    written = 0
    for dirpath, _dirs, files in os.walk(out_dir):
        written += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record["status"]] = statuses.get(record["status"], 0) + 1
    return {
        "hosts": hosts,
        "evaluate_s": t1 - t0,
        "render_s": t2 - t1,
        "total_s": t2 - t0,
        "bytes_written": written,
        "statuses": statuses,
        "files": sorted(k for k in paths if k != "host_files"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--profile", help="write cProfile's top functions to this file")
    args = parser.parse_args()
    out_dir = tempfile.mkdtemp(prefix="tcp-keepalive-bench-report-")
    try:
        if args.profile:
            import cProfile
            import io
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            result = run(args.hosts, out_dir)
            profiler.disable()
            out = io.StringIO()
            out.write(f"# report_child.py --hosts {args.hosts}: {result['total_s']:.3f} s under cProfile\n")
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(25)
            stats.sort_stats("tottime").print_stats(25)
            with open(args.profile, "w", encoding="utf-8") as handle:
                handle.write(out.getvalue())
        else:
            result = run(args.hosts, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
