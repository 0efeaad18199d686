# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Large sysctl.d files (issue 12 item 8): plan_persist() on 1 MB, 8 MB and 50 MB files.

    python benchmarks/bench_sysctl_parse.py [--sizes 1,8,50] [--repeat 3]

For each size, a fixture tree (a temporary directory, never the host's files) holds
/etc/sysctl.d/60-tcp-keepalive.conf of that many MB: other keys' assignments, comments, blank lines,
with our three keys at the start, in the middle and at the end. Timed in the same process, interleaved
per round, medians of --repeat rounds:

* baseline: read the file and split it into lines (``str.split("\\n")``), the least any parser must do;
* boot_model: the procps and systemd models of the tree (one parse of the file each);
* plan_persist: what tcp.keepalive.settings plans (models before and after, the planned text),
  checked: the planned file sets the three values and keeps every other line.

Prints seconds and the ratio of each to the baseline. No assertion about time anywhere (the smoke test
checks only that it runs and that the plan is right).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from _collection import import_collection

import_collection()
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf  # noqa: E402
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_edit as edit  # noqa: E402

FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
WANT = {"time": 600, "intvl": 30, "probes": 4}


def make_text(megabytes: float) -> str:
    """About `megabytes` MB of sysctl.d text; our keys at the start, in the middle and at the end."""
    block = "".join(
        f"net.core.key_{index} = {index}\n# a comment about key {index}\n\nvm.some/setting_{index}={index}\n"
        for index in range(1000)
    )
    blocks = max(1, int(megabytes * 1024 * 1024 / len(block)))
    head = "net.ipv4.tcp_keepalive_time = 7200\n"
    middle = "net.ipv4.tcp_keepalive_intvl = 75\n"
    tail = "net.ipv4.tcp_keepalive_probes = 9\n"
    half = blocks // 2
    return head + block * half + middle + block * (blocks - half) + tail


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def check_plan(plan: edit.PersistPlan, before: str) -> None:
    assert plan.error is None, plan.error
    old, new = plan.edits[FILE]
    assert old == before
    assert new.count("\n") == before.count("\n"), "a line was lost or added"
    for key, value in WANT.items():
        assert f"{conf.SYSCTL_NAMES[key]} = {value}\n" in new
    assert plan.boot_after == WANT


def run_size(megabytes: float, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sysctl-") as root:
        path = conf.host_path(root, FILE)
        os.makedirs(os.path.dirname(path))
        text = make_text(megabytes)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        size = os.path.getsize(path)
        times: dict[str, list[float]] = {"baseline": [], "boot_model": [], "plan_persist": []}
        for _round in range(repeat):
            seconds, lines = timed(lambda: conf.read_text(path).split("\n"))
            times["baseline"].append(seconds)
            seconds, _models = timed(lambda: [conf.boot_model(root, loader) for loader in conf.LOADERS])
            times["boot_model"].append(seconds)
            seconds, plan = timed(lambda: edit.plan_persist(root, "procps", FILE, WANT))
            times["plan_persist"].append(seconds)
            check_plan(plan, text)
        medians = {name: statistics.median(values) for name, values in times.items()}
        return {
            "megabytes": round(size / 1024 / 1024, 1),
            "lines": len(lines),
            "seconds": {name: round(value, 3) for name, value in medians.items()},
            "ratio_to_baseline": {
                name: round(value / medians["baseline"], 1)
                for name, value in medians.items()
                if name != "baseline"
            },
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,8,50", help="file sizes in MB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
        f"baseline = read + str.split of the same file, same process; medians of {args.repeat} rounds"
    )
    print(
        f"{'MB':>6} {'lines':>10} {'baseline s':>11} {'boot_model s':>13} {'x':>6} {'plan_persist s':>15} "
        f"{'x':>6}"
    )
    results = []
    for size in (float(s) for s in args.sizes.split(",") if s):
        row = run_size(size, args.repeat)
        results.append(row)
        sec, ratio = row["seconds"], row["ratio_to_baseline"]
        print(
            f"{row['megabytes']:>6} {row['lines']:>10} {sec['baseline']:>11.3f} {sec['boot_model']:>13.3f} "
            f"{ratio['boot_model']:>6.1f} {sec['plan_persist']:>15.3f} {ratio['plan_persist']:>6.1f}",
            flush=True,
        )
    print(json.dumps({"sysctl_parse": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
