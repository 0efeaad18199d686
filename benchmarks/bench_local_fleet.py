# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cost per host of the audit against its baseline, in the same run: `ansible -m ping` and
`ansible-playbook tcp.keepalive.audit` over one inventory of N local hosts (ansible_connection=local,
each name audits this machine read-only), forks F, rounds interleaved (ping, audit, ping, audit, ...).

    python bench_local_fleet.py [--hosts 100] [--forks 20] [--repeat 3] [--out results/local_fleet.json]

Two audits per round: the default policy (600/60/5, which this machine, at the kernel defaults, fails:
every host has failed checks to assert) and a policy this machine meets (its live values: a compliant
fleet, nothing to assert). Reports the median wall time of each, the audit/ping ratios, the module round
trips per host counted from the JSON callback (tasks that ran a module on the host, excluding
controller-only actions), and the process count and load average beside them (ping and the audit both
walk /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTROLLER_ONLY = {
    "ansible.builtin.set_fact",
    "ansible.builtin.assert",
    "ansible.builtin.fail",
    "ansible.builtin.set_stats",
    "ansible.builtin.validate_argument_spec",
    "tcp.keepalive.verify_report",
    "ansible.builtin.debug",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # A controller caches bytecode; a sandbox with PYTHONDONTWRITEBYTECODE=1 recompiles every collection
    # plugin in every forked worker (ping has none), which is not what a user's controller does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = f"{REPO}/.venv/bin:{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", f"{REPO}/.venv/collections")
    env.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
    )
    return env


def _timed(cmd: list[str], cwd: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=cwd, check=False, timeout=3600)
    elapsed = time.perf_counter() - start
    try:
        return elapsed, json.loads(proc.stdout)
    except ValueError:
        sys.exit(f"{cmd[0]} printed no JSON (rc {proc.returncode}): {proc.stderr[-2000:]}")


def _live_values() -> dict[str, int]:
    values = {}
    for key in ("time", "intvl", "probes"):
        with open(f"/proc/sys/net/ipv4/tcp_keepalive_{key}", encoding="ascii") as handle:
            values[key] = int(handle.read())
    return values


def _process_count() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def _round_trips(out: dict) -> int:
    per_host: dict[str, int] = {}
    for play in out["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                action = result.get("action", "")
                if action and action not in CONTROLLER_ONLY and not result.get("skipped"):
                    per_host[host] = per_host.get(host, 0) + 1
    return max(per_host.values()) if per_host else 0


def _statuses(report_dir: str) -> dict[str, int]:
    """Hosts per status in the fleet report the audit wrote (so a ratio says which fleet it measured)."""
    with open(os.path.join(report_dir, "fleet.json"), encoding="utf-8") as handle:
        return {k: v for k, v in json.load(handle)["status"].items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "local_fleet.json"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-local-fleet-")
    inventory = os.path.join(work, "inventory.ini")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("[all]\n")
        for i in range(args.hosts):
            handle.write(f"node{i} ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    common = ["-i", inventory, "-f", str(args.forks)]
    live = _live_values()
    compliant = {
        "tcp_keepalive_verify_time": live["time"],
        "tcp_keepalive_verify_intvl": live["intvl"],
        "tcp_keepalive_verify_probes": live["probes"],
        "tcp_keepalive_verify_max_detection_time": live["time"] + live["intvl"] * live["probes"],
    }
    ping, audit, audit_ok, trips, statuses = [], [], [], [], {}
    processes, loads = [], []
    for round_no in range(args.repeat):
        processes.append(_process_count())
        loads.append(os.getloadavg()[0])
        t, _out = _timed(["ansible", "all", *common, "-m", "ansible.builtin.ping"], work)
        ping.append(t)
        for name, times, policy in (("default", audit, {}), ("compliant", audit_ok, compliant)):
            extra = json.dumps(
                dict(policy, tcp_keepalive_verify_report_dir=os.path.join(work, f"{name}{round_no}"))
            )
            t, out = _timed(["ansible-playbook", *common, "tcp.keepalive.audit", "-e", extra], work)
            times.append(t)
            trips.append(_round_trips(out))
            statuses[name] = _statuses(os.path.join(work, f"{name}{round_no}"))
        print(
            f"round {round_no + 1}: ping {ping[-1]:.2f} s, audit (default policy) {audit[-1]:.2f} s, "
            f"audit (compliant) {audit_ok[-1]:.2f} s; ratios {audit[-1] / ping[-1]:.2f}x and "
            f"{audit_ok[-1] / ping[-1]:.2f}x ({processes[-1]} processes, load {loads[-1]:.1f})",
            file=sys.stderr,
        )
    result = {
        "benchmark": "local_fleet",
        "hosts": args.hosts,
        "forks": args.forks,
        "repeat": args.repeat,
        "nproc": os.cpu_count(),
        "processes": processes,
        "load_1min": loads,
        "ping_median_s": statistics.median(ping),
        "audit_median_s": statistics.median(audit),
        "ratio_audit_to_ping": statistics.median(audit) / statistics.median(ping),
        "audit_compliant_median_s": statistics.median(audit_ok),
        "ratio_audit_compliant_to_ping": statistics.median(audit_ok) / statistics.median(ping),
        "ping_per_host_ms": 1000 * statistics.median(ping) / args.hosts,
        "audit_per_host_ms": 1000 * statistics.median(audit) / args.hosts,
        "audit_compliant_per_host_ms": 1000 * statistics.median(audit_ok) / args.hosts,
        "host_statuses": statuses,
        "module_round_trips_per_host": max(trips),
        "ping_s": ping,
        "audit_s": audit,
        "audit_compliant_s": audit_ok,
        # the same-run comparison, round by round (a round's ping, then its two audits)
        "ratio_per_round": [round(a / p, 3) for a, p in zip(audit, ping)],
        "ratio_compliant_per_round": [round(a / p, 3) for a, p in zip(audit_ok, ping)],
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
