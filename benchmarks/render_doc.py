# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write docs/performance.md from benchmarks/results/*.json (and benchmarks/NOTES.md, the analysis).

    python render_doc.py [--results-dir DIR] [--out docs/performance.md] [--note TEXT]

Targets (issues 4 and 7) are checked against the numbers here, never in a test: each shows met / NOT
met / not measured, with the numbers behind it.

A benchmark without a result file (a `bash scripts/bench.sh --only ...` run) keeps what the page at
--out already says of it: its section, its target rows and its load and date under Machine, verbatim,
and the header names the sections kept. Only a benchmark that the page never showed reads "Not
measured".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from _bench import fmt_mib, fmt_s

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BENCHMARKS = ("sockets", "settings", "fleet", "report")
RSS_LIMIT_KIB = 100 * 1024
SUMMARY_LIMIT = 64 * 1024


SECTIONS = (
    ("sockets", "1. Socket scan (private network namespace, loopback connections)"),
    ("settings", "2. Per host: one tcp.keepalive.settings task vs three ansible.posix.sysctl tasks"),
    ("fleet", "3a. Fleet: the audit playbook end to end"),
    ("report", "3b. Fleet report rendering (synthetic host results)"),
)
NOT_MEASURED = "Not measured in this run."
LOAD_PREFIX = "- Load average (1/5/15 min) when each benchmark finished: "
WHEN_PREFIX = "- Measured at (UTC): "


def target_owner(label: str) -> str:
    """The benchmark a target row belongs to (socket_targets() and report_targets() write them)."""
    return "report" if label.startswith("report rendering") else "sockets"


def previous_page(text: str) -> dict[str, Any]:
    """What a page written by render() says per benchmark: section bodies by title, target rows by
    benchmark, and the load and date entries under Machine by benchmark."""
    page: dict[str, Any] = {"sections": {}, "targets": {}, "loads": {}, "when": {}}
    heading, body = None, []
    chunks = []
    for line in text.splitlines():
        if line.startswith("## "):
            chunks.append((heading, body))
            heading, body = line[3:].strip(), []
        else:
            body.append(line)
    chunks.append((heading, body))
    for title, lines in chunks:
        if title is None:
            continue
        page["sections"][title] = "\n".join(lines).strip()
        if title == "Targets":
            for line in lines:
                cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
                if not line.startswith("| ") or cells[0] in ("target", "---") or len(cells) < 3:
                    continue
                page["targets"].setdefault(target_owner(cells[0]), []).append(line)
        if title == "Machine":
            for line in lines:
                for prefix, key in ((LOAD_PREFIX, "loads"), (WHEN_PREFIX, "when")):
                    if line.startswith(prefix):
                        for entry in line[len(prefix) :].split("; "):
                            name = entry.split(" ", 1)[0]
                            page[key][name] = entry
    return page


def kept_sections(results: dict[str, dict[str, Any]], previous: dict[str, Any] | None) -> list[str]:
    """Benchmarks without a result whose section the previous page shows measured."""
    if not previous:
        return []
    kept = []
    for name, title in SECTIONS:
        body = previous["sections"].get(title)
        if name not in results and body and not body.startswith(NOT_MEASURED):
            kept.append(name)
    return kept


def load(results_dir: str) -> dict[str, dict[str, Any]]:
    found = {}
    for name in BENCHMARKS:
        path = os.path.join(results_dir, name + ".json")
        try:
            with open(path, encoding="utf-8") as handle:
                found[name] = json.load(handle)
        except (OSError, ValueError):
            continue
    return found


def _row(size: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in size["rows"] if r["name"] == name and r["ok"]), None)


def _size_nearest(sockets: dict[str, Any], connections: int) -> dict[str, Any] | None:
    sizes = sockets.get("sizes") or []
    exact = [s for s in sizes if s["connections"] == connections]
    return exact[0] if exact else None


def socket_targets(sockets: dict[str, Any]) -> list[list[str]]:
    rows = []
    # Issue 13: the module's default (options auto), half the sockets with keepalive, against `ss -tanop`
    # and the floor script measured in the same run.
    goals = (
        (10000, "ss -tanop", 1.0),
        (40000, "ss -tanop", 0.8),
        (40000, "floor (raw dump + fd walk)", 1.2),
        (100000, "ss -tanop", 0.8),
        (100000, "floor (raw dump + fd walk)", 1.2),
    )
    for connections, baseline, limit in goals:
        size = _size_nearest(sockets, connections)
        row = _row(size, "scan, options auto") if size else None
        base = _row(size, baseline) if size else None
        label = f"{connections:,} connections: scan (options auto) <= {limit:g}x `{baseline}`"
        if not (row and base):
            rows.append([label, "not measured", ""])
            continue
        verdict = "met" if row["median_s"] <= limit * base["median_s"] else "NOT met"
        numbers = (
            f"{fmt_s(row['median_s'])} vs {fmt_s(base['median_s'])} "
            f"({row['median_s'] / base['median_s']:.2f}x; {size.get('processes', '?')} processes)"
        )
        rows.append([label, verdict, numbers])
    # Context for the floor targets (measured, not a target): the floor with the option reads `auto` must
    # make, against the floor. Above 1.2x, no scan that makes those reads can meet the floor target.
    for connections in (10000, 40000, 100000):
        size = _size_nearest(sockets, connections)
        floor = _row(size, "floor (raw dump + fd walk)") if size else None
        reads = _row(size, "floor + auto's option reads") if size else None
        auto = _row(size, "scan, options auto") if size else None
        ss = _row(size, "ss -tanop") if size else None
        if not (floor and reads and auto and ss):
            continue
        rows.append(
            [
                f"{connections:,} connections: `floor + auto's option reads` against the floor "
                "(what the reads alone cost; not a target)",
                "context",
                f"{reads['median_s'] / floor['median_s']:.2f}x the floor, "
                f"{reads['median_s'] / ss['median_s']:.2f}x `ss -tanop`; scan (options auto) is "
                f"{auto['median_s'] / reads['median_s']:.2f}x the floor with the reads",
            ]
        )
    at100 = _size_nearest(sockets, 100000)
    for name in ("scan, options never", "scan, options always"):
        row = _row(at100, name) if at100 else None
        label = f"100,000 connections: peak RSS < 100 MiB ({name}, detail summary)"
        if not row:
            rows.append([label, "not measured", ""])
            continue
        rss = row["peak_rss_kib"]
        rows.append([label, "met" if rss < RSS_LIMIT_KIB else "NOT met", fmt_mib(rss)])
    sizes_seen = []
    worst = 0.0
    for size in sockets.get("sizes") or []:
        for row in size["rows"]:
            if not row["ok"]:
                continue
            if row["name"] in ("scan, options never", "scan, options always"):
                worst = max(worst, row["result_bytes"] or 0)
                sizes_seen.append(size["connections"])
            if row["name"] == "ansible sockets_info":
                worst = max(worst, row["stdout_bytes"] or 0)
    checks = [
        (size["connections"], row["name"], row.get("classification"))
        for size in sockets.get("sizes") or []
        for row in size["rows"]
        if row.get("classification")
    ]
    wrong = [f"{n:,} {name}" for n, name, check in checks if check != "ok"]
    rows.append(
        [
            "every scan finds the keepalive sockets the farm set up (not a timing target)",
            ("met" if not wrong else "NOT met") if checks else "not measured",
            f"{len(checks)} scans checked" + (f"; wrong: {', '.join(wrong)}" if wrong else ""),
        ]
    )
    label = "`detail: summary` result < 64 KiB at every size"
    if sizes_seen:
        rows.append(
            [
                label,
                "met" if worst < SUMMARY_LIMIT else "NOT met",
                f"largest {worst / 1024:.1f} KiB over {sorted(set(sizes_seen))} connections",
            ]
        )
    else:
        rows.append([label, "not measured", ""])
    return rows


def report_targets(report: dict[str, Any]) -> list[list[str]]:
    rows = report.get("rows") or []
    ok = [r for r in rows if r["ok"]]
    if len(ok) < 2:
        return [["report rendering grows linearly (1,000 -> 10,000 hosts)", "not measured", ""]]
    last = ok[-1]
    growth, size = last["total_s_growth"], last["size_ratio"]
    linear = growth is not None and growth <= 1.3 * size
    return [
        [
            f"report rendering grows linearly ({ok[0]['hosts']:,} -> {last['hosts']:,} hosts)",
            "met" if linear else "NOT met",
            f"time x{growth:.2f} for hosts x{size:.0f}",
        ]
    ]


def profile_excerpt(path: str, rows: int = 10) -> str:
    """The first line and the top `rows` functions by own time of a cProfile dump written by a child."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return ""
    try:
        start = next(i for i, line in enumerate(lines) if "Ordered by: internal time" in line)
        header = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("ncalls"))
    except StopIteration:
        return ""
    table_lines = [line for line in lines[header : header + 1 + rows] if line.strip()]
    shortened = [_short_path(line) for line in [lines[0], *table_lines]]
    return "```\n" + "\n".join(shortened) + "\n```"


def _short_path(line: str) -> str:
    for marker in ("ansible_collections/tcp/keepalive/", "/lib/python3."):
        index = line.find(marker)
        if index >= 0:
            start = line.rfind(" ", 0, index) + 1
            keep = marker if marker.startswith("ansible") else "python3."
            line = line[:start] + (keep if keep == "python3." else "") + line[index + len(marker) :]
    return line


def machine_text(
    results: dict[str, dict[str, Any]], kept: list[str] | None = None, previous: dict[str, Any] | None = None
) -> str:
    """The machine of this run; the load and date entries of kept sections as the previous page had them."""
    first = next(iter(results.values()))["machine"]
    loads = {}
    when = {}
    for name, _title in SECTIONS:
        if name in results:
            load = results[name]["machine"].get("loadavg")
            if load:
                loads[name] = f"{name} {' / '.join(f'{v:.1f}' for v in load)}"
            when[name] = f"{name} {results[name]['machine'].get('when_utc')}"
        elif kept and name in kept and previous:
            for table, key in ((loads, "loads"), (when, "when")):
                if name in previous[key]:
                    table[name] = previous[key][name]
    lines = [
        f"- CPU: {first.get('nproc')} cores ({first.get('cpu')}), memory {first.get('mem_total_mib')} MiB",
        f"- Kernel {first.get('kernel')}, {first.get('os')}, Python {first.get('python')} (controller venv)",
        LOAD_PREFIX + "; ".join(loads.values()),
        WHEN_PREFIX + "; ".join(when.values()),
    ]
    if kept:
        lines.append(
            "- The CPU and kernel above are this run's; the kept sections ran when their date says, possibly "
            "on another CPU: compare ratios across runs, not absolute times"
        )
    return "\n".join(lines)


def render(
    results: dict[str, dict[str, Any]],
    notes: str,
    note: str,
    command: str = "bash scripts/bench.sh",
    previous: dict[str, Any] | None = None,
) -> str:
    runs = sorted({str(r.get("invocation") or command).strip() for r in results.values()})
    shown = " and ".join(f"`{run}`" for run in runs) if runs else f"`{command.strip()}`"
    kept = kept_sections(results, previous) if results else []
    titles = dict(SECTIONS)
    kept_text = ""
    if kept:
        numbers = ", ".join(titles[name].split(".", 1)[0] for name in kept)
        kept_text = (
            f" Sections {numbers} were not measured by this run: they are kept from the previous page as they"
            " were, each with the command that measured it, and their dates are under Machine."
        )
    out = [
        "# Performance",
        "",
        f"Command: {shown} (as root, from the repository root).{kept_text}",
        "",
        "Generated by `bash scripts/bench.sh` (benchmarks/render_doc.py) from benchmarks/results/*.json;",
        "the analysis at the end is benchmarks/NOTES.md. Numbers are medians over repeated runs, each",
        "run a fresh process started by benchmarks/_measure.py, which reports its wall time and peak RSS",
        "(`getrusage(RUSAGE_CHILDREN).ru_maxrss`: the largest single process of the measured tree). Linux",
        "carries the pre-exec high-water mark across exec, so no row can show less than the wrapper's own",
        "~12 MiB. Ratios are against the baseline measured in the same run, interleaved round by round.",
        "",
    ]
    if note:
        out += [f"> {note}", ""]
    if not results:
        return "\n".join(out + ["No results yet: run `bash scripts/bench.sh`.", ""])
    out += ["## Machine", "", machine_text(results, kept, previous), ""]
    out += ["## Targets", "", "| target | verdict | numbers |", "|---|---|---|"]
    targets = []
    for name, rows in (("sockets", socket_targets), ("report", report_targets)):
        if name in results:
            targets += [f"| {' | '.join(row)} |" for row in rows(results[name])]
        elif name in kept and previous:
            targets += previous["targets"].get(name, [])
    out += targets + [""]
    for name, title in SECTIONS:
        out += [f"## {title}", ""]
        if name not in results:
            body = previous["sections"][title] if previous and name in kept else NOT_MEASURED
            out += [body, ""]
            continue
        r = results[name]
        run_by = r.get("invocation") or command
        out += [
            f"Command: `{r.get('command')}` (repeat {r.get('repeat')}), run by `{run_by}`",
            "",
            r.get("markdown", "").strip(),
            "",
        ]
        profiles = r.get("profiles") or ({"report": r["profile"]} if r.get("profile") else {})
        if profiles:
            shown = ", ".join(
                f"{k}: `{os.path.relpath(v, REPO) if os.path.isabs(v) else v}`" for k, v in profiles.items()
            )
            out += [f"cProfile output: {shown} (not committed). Top functions by own time:", ""]
            for key, path in profiles.items():
                excerpt = profile_excerpt(path)
                if excerpt:
                    out += [f"{key}:", "", excerpt, ""]
    if notes.strip():
        out += [notes.strip(), ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "performance.md"))
    parser.add_argument("--notes", default=os.path.join(HERE, "NOTES.md"))
    parser.add_argument("--note", default="", help="a line shown at the top (e.g. smoke run, busy machine)")
    parser.add_argument("--command", default="bash scripts/bench.sh", help="how the run was started")
    args = parser.parse_args()
    results = load(args.results_dir)
    try:
        with open(args.notes, encoding="utf-8") as handle:
            notes = handle.read()
    except OSError:
        notes = ""
    try:
        with open(args.out, encoding="utf-8") as handle:
            previous: dict[str, Any] | None = previous_page(handle.read())
    except OSError:
        previous = None
    text = render(results, notes, args.note, args.command, previous)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"wrote {args.out} ({', '.join(results) or 'no results'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
