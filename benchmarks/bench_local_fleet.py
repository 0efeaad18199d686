# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cost per host of the audit against its baseline, in the same run: `ansible -m ping` and
`ansible-playbook tcp.keepalive.audit` over one inventory of N local hosts (ansible_connection=local,
each name audits this machine read-only), forks F, rounds interleaved (ping, audit, ping, audit, ...).

    python bench_local_fleet.py [--hosts 100] [--forks 20] [--repeat 3] [--out results/local_fleet.json]

Reports the median wall time of each, the audit/ping ratio, and the module round trips per host counted
from the JSON callback (tasks that ran a module on the host, excluding controller-only actions).
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
    ping, audit, trips = [], [], []
    for round_no in range(args.repeat):
        t, _out = _timed(["ansible", "all", *common, "-m", "ansible.builtin.ping"], work)
        ping.append(t)
        extra = json.dumps({"tcp_keepalive_verify_report_dir": os.path.join(work, f"r{round_no}")})
        t, out = _timed(["ansible-playbook", *common, "tcp.keepalive.audit", "-e", extra], work)
        audit.append(t)
        per_host: dict[str, int] = {}
        for play in out["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    action = result.get("action", "")
                    if action and action not in CONTROLLER_ONLY and not result.get("skipped"):
                        per_host[host] = per_host.get(host, 0) + 1
        trips.append(max(per_host.values()) if per_host else 0)
        print(f"round {round_no + 1}: ping {ping[-1]:.2f} s, audit {audit[-1]:.2f} s", file=sys.stderr)
    result = {
        "benchmark": "local_fleet",
        "hosts": args.hosts,
        "forks": args.forks,
        "repeat": args.repeat,
        "nproc": os.cpu_count(),
        "ping_median_s": statistics.median(ping),
        "audit_median_s": statistics.median(audit),
        "ratio_audit_to_ping": statistics.median(audit) / statistics.median(ping),
        "ping_per_host_ms": 1000 * statistics.median(ping) / args.hosts,
        "audit_per_host_ms": 1000 * statistics.median(audit) / args.hosts,
        "module_round_trips_per_host": max(trips),
        "ping_s": ping,
        "audit_s": audit,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
