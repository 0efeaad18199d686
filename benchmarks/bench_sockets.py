# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark 1: socket scan at 10,000 / 40,000 / 100,000 established loopback connections.

    python bench_sockets.py [--sizes 10000,40000,100000] [--repeat 5] [--no-ansible] [--profile]

Re-executes itself under `unshare --net` (a private network namespace: needs root), holds the
connections there with connfarm.py (several processes, both ends of every connection local, so N
connections are 2N ESTABLISHED sockets), then measures, interleaved round by round so background load
hits every contender alike, each in a fresh process (the Python ones warmed up once, at the first size):

  ss -tanop                        baseline: every TCP socket with owners and timers
  ss -tano                         the same without owners
  floor (raw dump + fd walk)       floor_scan.py: the least a Python scan does (see there)
  floor + auto's option reads      floor_scan.py --reads: the same plus the pidfd_getfd reads that
                                   `auto` makes (every socket but the connected ones without a timer)
  dump                             _sockdiag.dump_tcp alone (no owners, no classification)
  scan (options never)             sockets_info's scan via module_utils: classification + owners
  scan (options auto)              the module's default: options read where the timer cannot tell
  scan (options always)            the same, every socket's options read through pidfd_getfd
  ansible sockets_info summary     `ansible localhost -m tcp.keepalive.sockets_info -a detail=summary`

Medians, ratio to `ss -tanop` of the same size and run, peak RSS (fresh wrapper per run, see
_measure.py), and the JSON size of a `detail: summary` result. Writes results/sockets.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

import connfarm
from _bench import (
    Measurement,
    command_line,
    fmt_mib,
    fmt_ratio,
    fmt_s,
    log,
    measure_once,
    ratio,
    table,
    write_result,
)
from _containers import first_failure

HERE = os.path.dirname(os.path.abspath(__file__))
NETNS_MARK = "TCP_KEEPALIVE_BENCH_NETNS"
BASELINE = "ss -tanop"
FLOOR = "floor (raw dump + fd walk)"
FLOOR_READS = "floor + auto's option reads"


def contenders(ansible: bool, full: bool) -> dict[str, list[str]]:
    child = [sys.executable, os.path.join(HERE, "scan_child.py")]
    result = {
        "ss -tanop": ["ss", "-tanop"],
        "ss -tano": ["ss", "-tano"],
        FLOOR: [sys.executable, os.path.join(HERE, "floor_scan.py")],
        FLOOR_READS: [sys.executable, os.path.join(HERE, "floor_scan.py"), "--reads"],
        "dump only": [*child, "--stage", "dump"],
        "scan, options never": [*child, "--stage", "scan", "--read-socket-options", "never"],
        "scan, options auto": [*child, "--stage", "scan", "--read-socket-options", "auto"],
        "scan, options always": [*child, "--stage", "scan", "--read-socket-options", "always"],
    }
    if full:  # detail=full is refused above 20,000 listed sockets: the largest listing a result may carry
        result["scan, options never, detail 20000"] = [
            *child,
            "--stage",
            "scan",
            "--read-socket-options",
            "never",
            "--detail",
            "20000",
        ]
    if ansible:
        result["ansible sockets_info"] = [
            "ansible",
            "localhost",
            "-m",
            "tcp.keepalive.sockets_info",
            "-a",
            "detail=summary read_socket_options=never include_loopback=true",
        ]
    return result


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    # The json callback prints the whole result: its size is what a controller receives.
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    return env


def count_processes() -> int:
    """Processes on the machine: `ss -tanop` (and any owner lookup) walks every /proc/<pid>/fd."""
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def count_established() -> int:
    out = subprocess.run(["ss", "-Htn", "state", "established"], capture_output=True, text=True, check=True)
    return len(out.stdout.splitlines())


def bench_size(connections: int, repeat: int, ansible: bool, warmup: bool, full: bool) -> dict[str, Any]:
    log(f"sockets: holding {connections} connections")
    connfarm.fresh_namespace()
    farm = connfarm.start(connections)
    try:
        established = count_established()
        log(
            f"sockets: {established} ESTABLISHED sockets in {farm.setup_s:.1f} s "
            f"({len(farm.server_pids)} servers, {len(farm.client_pids)} clients)"
        )
        commands = contenders(ansible, full)
        runs = {name: Measurement(name, cmd, [], True) for name, cmd in commands.items()}
        env = ansible_env()
        if warmup:  # once, at the first size: page cache and bytecode of the Python contenders
            for name, cmd in commands.items():
                if cmd[0] != "ss":
                    _run_into(runs[name], cmd, env, keep=False)
        for round_ in range(repeat):
            for name, cmd in commands.items():
                if runs[name].ok:
                    _run_into(runs[name], cmd, env)
            log(f"sockets: {connections} round {round_ + 1}/{repeat} done")
        base = runs[BASELINE].median_s
        floor = runs[FLOOR].median_s
        floor_reads = runs[FLOOR_READS].median_s if runs[FLOOR_READS].ok else None
        processes = count_processes()
        rows = []
        for name, m in runs.items():
            rows.append(
                {
                    "name": name,
                    "ok": m.ok,
                    "error": m.error,
                    "median_s": m.median_s,
                    "inner_scan_s": m.inner_median("scan_s"),
                    "ratio_vs_ss_tanop": ratio(m.median_s, base),
                    "ratio_vs_floor": ratio(m.median_s, floor),
                    "ratio_vs_floor_reads": ratio(m.median_s, floor_reads),
                    "peak_rss_kib": m.peak_rss_kib,
                    "result_bytes": m.inner_median("result_bytes"),
                    "stdout_bytes": m.samples[-1].stdout_bytes if m.samples else None,
                    "sockets_seen": m.inner_median("sockets"),
                    "socket_options": m.samples[-1].inner.get("socket_options") if m.samples else None,
                    "keepalive": m.samples[-1].inner.get("keepalive") if m.samples else None,
                    "options_read_by_floor": m.samples[-1].inner.get("reads") if m.samples else None,
                    "runs": len(m.samples),
                }
            )
        for row in rows:
            row["classification"] = classification_check(row["name"], row["keepalive"], farm.keepalive)
        return {
            "connections": connections,
            "established_sockets": established,
            "setup_s": farm.setup_s,
            "keepalive_plan": farm.keepalive,
            "processes": processes,
            "holders": len(farm.server_pids) + len(farm.client_pids),
            "rows": rows,
        }
    finally:
        farm.stop()


def classification_check(name: str, keepalive: dict[str, int] | None, plan: dict[str, int]) -> str | None:
    """Compare a scan's keepalive totals with what the farm set up; None for rows that do not classify.

    By the timer alone a LISTEN socket is unknown; through socket options every socket is known.
    """
    if not name.startswith("scan") or keepalive is None:
        return None
    connected_ka = plan["connected_with_keepalive"]
    if "options never" in name:
        want = {"true": connected_ka, "false": plan["connected"] - connected_ka, "unknown": plan["listeners"]}
    else:
        total_ka = connected_ka + plan["listeners_with_keepalive"]
        want = {"true": total_ka, "false": plan["connected"] + plan["listeners"] - total_ka, "unknown": 0}
    got = {key: int(keepalive.get(key, 0)) for key in want}
    return "ok" if got == want else f"expected {want}, found {got}"


def _run_into(m: Measurement, cmd: list[str], env: dict[str, str], keep: bool = True) -> None:
    capture = cmd[0] != "ss"
    try:
        sample = measure_once(cmd, env=env, capture_json=capture)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        m.ok, m.error = False, str(exc)[-1000:]
        return
    if sample.rc != 0:
        tail = [line for line in sample.inner.get("stderr_tail", "").splitlines() if line.strip()]
        why = first_failure(sample.inner) or (tail[-1] if tail else "no stderr")
        m.ok, m.error = False, f"exit code {sample.rc}: {why}"
        return
    if "plays" in sample.inner:  # ansible's json callback: keep the size, not the whole result
        sample.inner = {"result_bytes": sample.stdout_bytes}
    if keep:
        m.samples.append(sample)


def profile(connections: int, results_dir: str) -> dict[str, str]:
    """cProfile one scan per socket-option mode at `connections`; return {mode: profile file}."""
    connfarm.fresh_namespace()
    farm = connfarm.start(connections)
    files = {}
    try:
        for mode in ("never", "always"):
            path = os.path.join(results_dir, f"profile_scan_{mode}_{connections}.txt")
            proc = subprocess.run(
                [
                    sys.executable,
                    os.path.join(HERE, "scan_child.py"),
                    "--stage",
                    "scan",
                    "--read-socket-options",
                    mode,
                    "--profile",
                    path,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode == 0:
                files[mode] = path
            else:
                files[mode] = "failed: " + proc.stderr.strip()[-500:]
    finally:
        farm.stop()
    return files


def render(result: dict[str, Any]) -> str:
    parts = []
    for size in result["sizes"]:
        parts.append(
            f"\n{size['connections']:,} connections = {size['established_sockets']:,} ESTABLISHED "
            f"sockets ({size['keepalive_plan']['connected_with_keepalive']:,} with keepalive), "
            f"{size['holders']} holder processes (set up in {size['setup_s']:.1f} s); "
            f"{size.get('processes', '?')} processes on the machine during the run "
            "(`ss -tanop` walks every /proc/*/fd)\n"
        )
        rows = []
        for r in size["rows"]:
            if not r["ok"]:
                error = (r["error"] or "")[:80].replace("|", "/")
                rows.append([r["name"], "failed", "", "", "", "", "", "", error])
                continue
            inner = fmt_s(r["inner_scan_s"]) if r["inner_scan_s"] else ""
            size = r["result_bytes"] or (r["stdout_bytes"] if r["name"].startswith("ansible") else None)
            check = r.get("classification")
            note = "" if check is None else ("classified as set up" if check == "ok" else f"WRONG: {check}")
            rows.append(
                [
                    r["name"],
                    fmt_s(r["median_s"]),
                    inner,
                    fmt_ratio(r["ratio_vs_ss_tanop"]),
                    fmt_ratio(r.get("ratio_vs_floor")),
                    fmt_ratio(r.get("ratio_vs_floor_reads")),
                    fmt_mib(r["peak_rss_kib"]),
                    _size(size),
                    note,
                ]
            )
        parts.append(
            table(
                [
                    "contender",
                    "median wall",
                    "in-process",
                    "vs ss -tanop",
                    "vs floor",
                    "vs floor + reads",
                    "peak RSS",
                    "result JSON",
                    "note",
                ],
                rows,
            )
        )
    return "\n".join(parts)


def _size(value: float | None) -> str:
    if not value:
        return ""
    return f"{value / 1024:.1f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,40000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-ansible", action="store_true", help="skip the run through Ansible")
    parser.add_argument(
        "--full-max",
        type=int,
        default=40000,
        help="measure detail=full only up to this many connections (it keeps every socket)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the scan at the middle size")
    parser.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="sockets")
    args = parser.parse_args()
    if os.environ.get(NETNS_MARK) != "1":
        env = dict(os.environ, **{NETNS_MARK: "1"})
        # A private network namespace: our sysctls and sockets never touch the host's.
        return subprocess.call(["unshare", "--net", "--", sys.executable, *sys.argv], env=env)
    connfarm.prepare_namespace()
    os.makedirs(args.results_dir, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    result: dict[str, Any] = {"sizes": [], "repeat": args.repeat, "command": command_line()}
    for index, connections in enumerate(sizes):
        result["sizes"].append(
            bench_size(
                connections,
                args.repeat,
                not args.no_ansible,
                warmup=index == 0,
                full=connections <= args.full_max,
            )
        )
    if args.profile:
        middle = sizes[len(sizes) // 2]
        log(f"sockets: profiling the scan at {middle} connections")
        result["profiles"] = profile(middle, args.results_dir)
    result["markdown"] = render(result)
    path = write_result(args.name, result, args.results_dir)
    print(result["markdown"])
    log(f"sockets: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
