# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark 2: per-host cost of one tcp.keepalive.settings task vs three ansible.posix.sysctl tasks.

    python bench_settings.py [--repeat 5]

One container (local image tcp-keepalive/debian:bookworm, NET_ADMIN + SYS_ADMIN, /proc/sys remounted
read-write), reached with community.docker.docker. Each round, for each contender: reset the container
(file removed, kernel defaults 7200/75/9 written back), run its playbook (first run: must report
changed), run it again (idempotent run: must report nothing changed), then check that the live values
and the file are what was asked. Contenders alternate within every round, so background load hits both.
Medians of `ansible-playbook` wall time (fresh process per run), ratio to the baseline, peak RSS of the
controller process tree. Writes results/settings.json.
"""

from __future__ import annotations

import argparse
import os
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
    docker,
    docker_ready,
    first_failure,
    play_stats,
    start_fleet,
)

HERE = os.path.dirname(os.path.abspath(__file__))
FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
WANT = {"time": 600, "intvl": 60, "probes": 5}
RESET = (
    f"rm -f {FILE}; echo 7200 > /proc/sys/net/ipv4/tcp_keepalive_time; "
    "echo 75 > /proc/sys/net/ipv4/tcp_keepalive_intvl; echo 9 > /proc/sys/net/ipv4/tcp_keepalive_probes"
)
CONTENDERS = {
    "ansible.posix.sysctl x3": "sysctl_three_tasks.yml",
    "tcp.keepalive.settings x1": "settings_one_task.yml",
}
BASELINE = "ansible.posix.sysctl x3"


def live_values(container: str) -> dict[str, int]:
    out = docker(
        "exec",
        container,
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/tcp_keepalive_time /proc/sys/net/ipv4/tcp_keepalive_intvl "
        "/proc/sys/net/ipv4/tcp_keepalive_probes",
    ).stdout.split()
    return dict(zip(("time", "intvl", "probes"), (int(v) for v in out)))


def file_values(container: str) -> dict[str, int]:
    text = docker("exec", container, "cat", FILE, check=False).stdout
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip().replace("/", ".")
        if sep and key.startswith("net.ipv4.tcp_keepalive_"):
            values[key.rsplit("_", 1)[1]] = int(value.strip())
    return values


def run_playbook(playbook: str, inventory: str, env: dict[str, str]) -> dict[str, Any]:
    cmd = ["ansible-playbook", "-i", inventory, os.path.join(HERE, "playbooks", playbook)]
    sample = measure_once(cmd, env=env, capture_json=True)
    stats = play_stats(sample.inner)
    error = ""
    if sample.rc != 0 or stats["failures"] or stats["unreachable"]:
        error = first_failure(sample.inner) or sample.inner.get("stderr_tail", "")[-500:] or f"rc={sample.rc}"
    sample.inner = {"stats": stats}  # keep the result file small
    return {"sample": sample, "stats": stats, "error": error}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="settings")
    args = parser.parse_args()
    why = docker_ready()
    if why:
        print(f"bench_settings: {why}", file=sys.stderr)
        return 2
    fleet = start_fleet(f"tcpka-bench-settings-{os.getpid()}", 1)
    container = fleet.names[0]
    runs: dict[str, dict[str, Measurement]] = {
        name: {
            phase: Measurement(f"{name} {phase}", [playbook], [], True) for phase in ("first", "idempotent")
        }
        for name, playbook in CONTENDERS.items()
    }
    checks: dict[str, list[str]] = {name: [] for name in CONTENDERS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = fleet.inventory(os.path.join(tmp, "hosts.ini"))
            env = ansible_json_env()
            for round_ in range(args.repeat + 1):  # round 0 is the warm-up, not recorded
                for name, playbook in CONTENDERS.items():
                    if not all(m.ok for m in runs[name].values()):
                        continue
                    fleet.exec_all(RESET)
                    for phase in ("first", "idempotent"):
                        m = runs[name][phase]
                        outcome = run_playbook(playbook, inventory, env)
                        if outcome["error"]:
                            m.ok, m.error = False, outcome["error"]
                            break
                        changed = outcome["stats"]["changed"]
                        if phase == "first" and changed == 0:
                            checks[name].append(f"round {round_}: first run reported no change")
                        if phase == "idempotent" and changed != 0:
                            checks[name].append(f"round {round_}: idempotent run reported {changed} changed")
                        if round_ > 0:
                            m.samples.append(outcome["sample"])
                    if runs[name]["first"].ok:
                        live, persisted = live_values(container), file_values(container)
                        if live != WANT or persisted != WANT:
                            checks[name].append(f"round {round_}: live {live}, file {persisted}, want {WANT}")
                log(f"settings: round {round_}/{args.repeat} done")
    except ContainerError as exc:
        print(f"bench_settings: {exc}", file=sys.stderr)
        return 1
    finally:
        fleet.remove()
    rows = []
    for phase in ("first", "idempotent"):
        base = runs[BASELINE][phase].median_s
        for name in CONTENDERS:
            m = runs[name][phase]
            if phase == "idempotent" and not runs[name]["first"].ok:
                m.ok, m.error = False, "not run: the first run failed"
            rows.append(
                {
                    "contender": name,
                    "phase": phase,
                    "ok": m.ok,
                    "error": m.error,
                    "median_s": m.median_s,
                    "ratio_vs_baseline": ratio(m.median_s, base),
                    "peak_rss_kib": m.peak_rss_kib,
                    "runs": len(m.samples),
                    "changed": [s.inner["stats"]["changed"] for s in m.samples],
                    "checks": checks[name],
                }
            )
    result = {"repeat": args.repeat, "image": fleet.image, "rows": rows, "command": command_line()}
    result["markdown"] = render(rows)
    path = write_result(args.name, result, args.results_dir)
    print(result["markdown"])
    log(f"settings: wrote {path}")
    return 0


def render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        if not r["ok"]:
            error = (r["error"] or "")[:100].replace("|", "/")
            lines.append([r["contender"], r["phase"], "failed", "", "", "", error])
            continue
        note = "; ".join(r["checks"])[:160] or "changed as expected; live values and file correct"
        lines.append(
            [
                r["contender"],
                r["phase"],
                fmt_s(r["median_s"]),
                fmt_ratio(r["ratio_vs_baseline"]),
                fmt_mib(r["peak_rss_kib"]),
                "/".join(str(c) for c in r["changed"]),
                note,
            ]
        )
    return table(
        [
            "contender",
            "run",
            "median wall",
            "vs 3x ansible.posix.sysctl",
            "peak RSS",
            "changed per run",
            "checks",
        ],
        lines,
    )


if __name__ == "__main__":
    sys.exit(main())
