# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark 3a: the audit playbook end to end against a fleet of containers, forks = fleet size.

    python bench_fleet.py [--hosts 32] [--repeat 3]

`--hosts` containers (local image tcp-keepalive/debian:bookworm, NET_ADMIN + SYS_ADMIN, /proc/sys
read-write), reached with community.docker.docker. Every container is first made compliant with the
default policy (600/60/5 live and in /etc/sysctl.d/60-tcp-keepalive.conf), so a correct audit passes on
every host. Then, interleaved each round:

  baseline   ansible.builtin.ping on every host (the fixed cost of reaching the fleet)
  audit      ansible-playbook tcp.keepalive.audit (one audit_info call per host, checks, reports)

Wall time of ansible-playbook (fresh process per run), ratio to the baseline, peak RSS of the largest
single process of the controller's tree (ru_maxrss is per process, not a sum over the forks), and what
the audit reported: the play recap and the statuses in the fleet report. Writes results/fleet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from typing import Any

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
from _containers import (
    ContainerError,
    ansible_json_env,
    docker_ready,
    first_failure,
    play_stats,
    start_fleet,
    task_durations,
)

HERE = os.path.dirname(os.path.abspath(__file__))
COMPLIANT = (
    "printf 'net.ipv4.tcp_keepalive_time = 600\\nnet.ipv4.tcp_keepalive_intvl = 60\\n"
    "net.ipv4.tcp_keepalive_probes = 5\\n' > /etc/sysctl.d/60-tcp-keepalive.conf"
    " && echo 600 > /proc/sys/net/ipv4/tcp_keepalive_time"
    " && echo 60 > /proc/sys/net/ipv4/tcp_keepalive_intvl"
    " && echo 5 > /proc/sys/net/ipv4/tcp_keepalive_probes"
)


def fleet_statuses(report_dir: str) -> dict[str, int]:
    """Host statuses from the fleet report the audit wrote ({} when there is none)."""
    path = os.path.join(report_dir, "fleet.json")
    try:
        with open(path, encoding="utf-8") as handle:
            fleet = json.load(handle)
    except (OSError, ValueError):
        return {}
    counts = fleet.get("status") if isinstance(fleet.get("status"), dict) else {}
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and v}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--forks", type=int, default=0, help="default: as many as hosts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="fleet")
    args = parser.parse_args()
    forks = args.forks or args.hosts
    why = docker_ready()
    if why:
        print(f"bench_fleet: {why}", file=sys.stderr)
        return 2
    log(f"fleet: starting {args.hosts} containers")
    try:
        fleet = start_fleet(f"tcpka-bench-fleet-{os.getpid()}", args.hosts)
    except ContainerError as exc:
        print(f"bench_fleet: {exc}", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="tcp-keepalive-bench-fleet-")
    # ansible-playbook exits 2 when a host fails its checks: a finished audit, timed like a passing one.
    runs = {
        "ping (baseline)": Measurement("ping (baseline)", [], [], True),
        "tcp.keepalive.audit": Measurement("tcp.keepalive.audit", [], [], True, ok_rc=(0, 2)),
    }
    outcomes: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    try:
        fleet.exec_all(COMPLIANT)
        inventory = fleet.inventory(os.path.join(tmp, "hosts.ini"))
        report_dir = os.path.join(tmp, "reports")
        env = ansible_json_env()
        commands = {
            "ping (baseline)": [
                "ansible-playbook",
                "-i",
                inventory,
                "-f",
                str(forks),
                os.path.join(HERE, "playbooks", "fleet_ping.yml"),
            ],
            "tcp.keepalive.audit": [
                "ansible-playbook",
                "-i",
                inventory,
                "-f",
                str(forks),
                "tcp.keepalive.audit",
                "-e",
                f"tcp_keepalive_verify_report_dir={report_dir}",
            ],
        }
        for name, cmd in commands.items():
            runs[name].command = cmd
        for round_ in range(args.repeat):
            for name, cmd in commands.items():
                m = runs[name]
                if not m.ok:
                    continue
                shutil.rmtree(report_dir, ignore_errors=True)
                sample = measure_once(cmd, env=env, capture_json=True)
                stats = play_stats(sample.inner)
                outcome = {
                    "rc": sample.rc,
                    "stats": stats,
                    "failure": first_failure(sample.inner),
                    "statuses": fleet_statuses(report_dir) if "audit" in name else None,
                    "tasks": task_durations(sample.inner),
                }
                if sample.rc not in (0, 2) or stats["hosts"] != args.hosts:
                    m.ok = False
                    m.error = (
                        f"rc={sample.rc}, hosts in recap {stats['hosts']}: "
                        f"{outcome['failure'] or sample.inner.get('stderr_tail', '')[-300:]}"
                    )
                sample.inner = {}
                m.samples.append(sample)
                outcomes[name].append(outcome)
            log(f"fleet: round {round_ + 1}/{args.repeat} done")
    except ContainerError as exc:
        print(f"bench_fleet: {exc}", file=sys.stderr)
        return 1
    finally:
        fleet.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    base = runs["ping (baseline)"].median_s
    rows = []
    for name, m in runs.items():
        last = outcomes[name][-1] if outcomes[name] else {}
        rows.append(
            {
                "name": name,
                "ok": m.ok,
                "error": m.error,
                "median_s": m.median_s,
                "ratio_vs_ping": ratio(m.median_s, base),
                "peak_rss_kib": m.peak_rss_kib,
                "runs": len(m.samples),
                "rc": [o["rc"] for o in outcomes[name]],
                "recap": last.get("stats"),
                "statuses": last.get("statuses"),
                "failure": last.get("failure"),
                "tasks": last.get("tasks") or [],
            }
        )
    result = {
        "hosts": args.hosts,
        "forks": forks,
        "repeat": args.repeat,
        "image": fleet.image,
        "rows": rows,
        "command": command_line(),
    }
    result["markdown"] = render(result)
    path = write_result(args.name, result, args.results_dir)
    print(result["markdown"])
    log(f"fleet: wrote {path}")
    return 0 if all(r["ok"] for r in rows) else 1


def render(result: dict[str, Any]) -> str:
    lines = []
    for r in result["rows"]:
        if not r["ok"] and not r["median_s"]:
            lines.append([r["name"], "failed", "", "", "", (r["error"] or "")[:120].replace("|", "/")])
            continue
        recap = r["recap"] or {}
        seen = (
            f"rc {'/'.join(str(c) for c in r['rc'])}; recap ok {recap.get('ok')} "
            f"changed {recap.get('changed')} failed {recap.get('failures')} "
            f"unreachable {recap.get('unreachable')}"
        )
        if r["statuses"]:
            seen += "; report: " + ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
        if r["failure"]:
            seen += f"; first failure: {r['failure'][:120]}"
        lines.append(
            [
                r["name"],
                fmt_s(r["median_s"]),
                fmt_ratio(r["ratio_vs_ping"]),
                fmt_mib(r["peak_rss_kib"]),
                str(r["runs"]),
                seen.replace("|", "/"),
            ]
        )
    head = f"{result['hosts']} containers, forks {result['forks']}\n\n"
    text = head + table(
        ["playbook", "median wall", "vs ping", "peak RSS (largest process)", "runs", "what it reported"],
        lines,
    )
    audit = next((r for r in result["rows"] if "audit" in r["name"]), None)
    if audit and audit["tasks"]:
        total = sum(seconds for _name, seconds in audit["tasks"])
        top = sorted(audit["tasks"], key=lambda item: -item[1])[:8]
        text += (
            "\n\nWhere the audit's time goes (last run; a task runs on every host before the next one "
            f"starts; {len(audit['tasks'])} tasks, {total:.1f} s in tasks):\n\n"
        )
        shares = [
            [name.replace("|", "/"), f"{seconds:.1f}", f"{seconds / total:.0%}"] for name, seconds in top
        ]
        text += table(["task", "seconds", "share"], shares)
    return text


if __name__ == "__main__":
    sys.exit(main())
