# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render benchmark of the fleet report: N synthetic host records written to a record directory, then the
whole pipeline (load every record, newest per host, summary, every renderer). Reports time and bytes per
host per format, at each size, so page weight can be read as linear (or not) in hosts.

    python bench_fleet_render.py [--sizes 1000,10000] [--out results/fleet_render.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".venv", "collections"))

from ansible_collections.tcp.keepalive.plugins.plugin_utils import (  # noqa: E402
    _checks,
    _records,
    _render,
    _report,
)

POLICY = {"expected": {"time": 600, "intvl": 60, "probes": 5}, "max_detection_time": 900, "fail_on": ["high"]}


def synthetic(i: int) -> dict:
    if i % 50 == 49:
        return _checks.missing_host_record(f"node{i}", POLICY)
    time_value = (600, 7200, 1800, 300)[i % 4]
    values = {"time": time_value, "intvl": 60, "probes": 5}
    findings = []
    if i % 3 == 0:
        findings.append(
            {
                "id": "listener_without_keepalive",
                "severity": "high",
                "service": f"svc{i % 17}",
                "message": "listener without keepalive",
                "socket": {"local": "0.0.0.0:5432"},
            }
        )
    if i % 7 == 0:
        findings.append(
            {
                "id": "ghost_candidate",
                "severity": "high",
                "service": f"svc{i % 5}",
                "count": 4,
                "message": "idle",
                "sockets": ["10.0.0.1:5432->10.0.0.2:40000"],
            }
        )
    audit = {
        "user": {"uid": 0, "name": "root"},
        "settings": {"settings": {k: {"runtime": v, "boot": v} for k, v in values.items()}, "findings": []},
        "sockets": {"findings": findings, "services": []},
        "timer": {"ok": True, "findings": []},
    }
    return _checks.evaluate_host({"host": f"node{i}", "audit": audit}, POLICY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "fleet_render.json"))
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        work = tempfile.mkdtemp(prefix=f"bench-render-{size}-")
        records = [_records.stamp(synthetic(i), "bench", _records.utc_now()) for i in range(size)]
        start = time.perf_counter()
        _records.write_records(work, records)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        built = _report.rebuild([work], POLICY)
        render_s = time.perf_counter() - start
        sizes = {r.name: os.path.getsize(os.path.join(work, r.filename)) for r in _render.RENDERERS}
        row = {
            "hosts": size,
            "write_records_s": write_s,
            "load_and_render_s": render_s,
            "render_ms_per_host": 1000 * render_s / size,
            "bytes_per_host": {name: round(n / size, 1) for name, n in sizes.items()},
            "bytes": sizes,
            "covered": built["summary"]["hosts"],
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"benchmark": "fleet_render", "nproc": os.cpu_count(), "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
