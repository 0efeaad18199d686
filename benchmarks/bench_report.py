# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark 3b: fleet report rendering time for 1,000 and 10,000 synthetic host results.

    python bench_report.py [--sizes 1000,10000] [--repeat 3] [--profile]

Each run is a fresh process (report_child.py) under the _measure.py wrapper: per-host evaluation
(verify_checks), then summary + every report file (verify_report). Sizes alternate round by round, with
os.sync() before each run so that one run's writes are not flushed during the next. Medians per phase,
growth ratio of each size to the smallest (linear growth: ratio ~= size ratio), peak RSS. Writes
results/report.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from _bench import Measurement, command_line, fmt_mib, fmt_s, log, measure_once, table, write_result

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "report_child.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the smallest size")
    parser.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="report")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows: list[dict[str, Any]] = []
    runs = {
        hosts: Measurement(f"{hosts} hosts", [sys.executable, CHILD, "--hosts", str(hosts)], [], True)
        for hosts in sizes
    }
    for round_ in range(args.repeat):  # sizes interleaved: background load and disk state hit both alike
        for m in runs.values():
            if not m.ok:
                continue
            os.sync()  # earlier runs' dirty pages are flushed now, not during this run's writes
            try:
                sample = measure_once(m.command, capture_json=True)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
                m.ok, m.error = False, str(exc)[-500:]
                continue
            if sample.rc != 0:
                m.ok, m.error = False, sample.inner.get("stderr_tail", "")[-500:]
            m.samples.append(sample)
        log(f"report: round {round_ + 1}/{args.repeat} done")
    for hosts, m in runs.items():
        log(f"report: {hosts} hosts: {fmt_s(m.inner_median('total_s'))}")
        statuses = m.samples[-1].inner.get("statuses") if m.samples else None
        rows.append(
            {
                "hosts": hosts,
                "ok": m.ok and bool(statuses) and sum(statuses.values()) == hosts,
                "error": m.error,
                "wall_s": m.median_s,
                "evaluate_s": m.inner_median("evaluate_s"),
                "render_s": m.inner_median("render_s"),
                "total_s": m.inner_median("total_s"),
                "peak_rss_kib": m.peak_rss_kib,
                "bytes_written": m.inner_median("bytes_written"),
                "statuses": statuses,
                "runs": len(m.samples),
            }
        )
    smallest = rows[0]
    for row in rows:
        for key in ("evaluate_s", "render_s", "total_s"):
            base, value = smallest.get(key), row.get(key)
            row[f"{key}_growth"] = value / base if value and base else None
        row["size_ratio"] = row["hosts"] / smallest["hosts"]
    result: dict[str, Any] = {"rows": rows, "repeat": args.repeat, "command": command_line()}
    if args.profile:
        path = os.path.join(args.results_dir, f"profile_report_{sizes[0]}.txt")
        os.makedirs(args.results_dir, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, CHILD, "--hosts", str(sizes[0]), "--profile", path],
            capture_output=True,
            text=True,
            check=False,
        )
        result["profile"] = path if proc.returncode == 0 else "failed: " + proc.stderr.strip()[-500:]
    result["markdown"] = render(rows)
    out = write_result(args.name, result, args.results_dir)
    print(result["markdown"])
    log(f"report: wrote {out}")
    return 0 if all(r["ok"] for r in rows) else 1


def render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        if not r["ok"]:
            lines.append([f"{r['hosts']:,}", "failed", "", "", "", "", "", (r["error"] or "")[:100]])
            continue
        growth = ""
        if r["total_s_growth"]:
            growth = (
                f"total x{r['total_s_growth']:.1f}, evaluate x{r['evaluate_s_growth']:.1f}, "
                f"write x{r['render_s_growth']:.1f} (hosts x{r['size_ratio']:.0f})"
            )
        lines.append(
            [
                f"{r['hosts']:,}",
                fmt_s(r["evaluate_s"]),
                fmt_s(r["render_s"]),
                fmt_s(r["total_s"]),
                growth,
                fmt_mib(r["peak_rss_kib"]),
                f"{(r['bytes_written'] or 0) / 1048576:.1f} MiB",
                ", ".join(f"{k} {v}" for k, v in sorted((r["statuses"] or {}).items())),
            ]
        )
    return table(
        [
            "hosts",
            "evaluate (verify_checks)",
            "write reports (verify_report)",
            "total",
            "growth vs smallest",
            "peak RSS",
            "written",
            "statuses",
        ],
        lines,
    )


if __name__ == "__main__":
    sys.exit(main())
