# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for the benchmarks: measuring a command, medians, machine facts, result files.

Controller-side tooling (not shipped in the collection's plugins): it may use anything in the project
virtualenv, but it only needs the standard library.

Every measurement runs the measured command under a *fresh* wrapper process (benchmarks/_measure.py)
which reports the command's wall time and resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, so the peak RSS
reported is the measured command's own, never the harness's.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS_DIR = os.path.join(HERE, "results")
MEASURE = os.path.join(HERE, "_measure.py")


@dataclass
class Sample:
    """One run of a measured command."""

    wall_s: float
    maxrss_kib: int
    rc: int
    stdout_bytes: int
    inner: dict[str, Any] = field(default_factory=dict)  # JSON the command printed last, if any


@dataclass
class Measurement:
    """Repeated runs of one command: medians plus what every run saw."""

    name: str
    command: list[str]
    samples: list[Sample]
    ok: bool
    error: str | None = None
    ok_rc: tuple[int, ...] = (0,)  # exit codes of a finished run (ansible-playbook: 2 = a host failed)

    @property
    def median_s(self) -> float | None:
        walls = [s.wall_s for s in self.samples if s.rc in self.ok_rc]
        return statistics.median(walls) if walls else None

    @property
    def peak_rss_kib(self) -> int | None:
        rss = [s.maxrss_kib for s in self.samples if s.rc in self.ok_rc]
        return max(rss) if rss else None

    def inner_median(self, key: str) -> float | None:
        values = [
            s.inner[key]
            for s in self.samples
            if s.rc in self.ok_rc and isinstance(s.inner.get(key), (int, float))
        ]
        return statistics.median(values) if values else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "ok": self.ok,
            "error": self.error,
            "median_s": self.median_s,
            "peak_rss_kib": self.peak_rss_kib,
            "samples": [asdict(s) for s in self.samples],
        }


def measure_once(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    capture_json: bool = False,
    timeout: float = 1800.0,
) -> Sample:
    """Run `command` once under a fresh _measure.py wrapper; return its wall time and peak RSS."""
    wrapper = [sys.executable, MEASURE]
    if capture_json:
        wrapper.append("--capture-json")
    proc = subprocess.run(
        [*wrapper, "--", *command], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"measure wrapper failed (rc={proc.returncode}): {proc.stderr.strip()[-2000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return Sample(
        wall_s=data["wall_s"],
        maxrss_kib=data["maxrss_kib"],
        rc=data["rc"],
        stdout_bytes=data["stdout_bytes"],
        inner=data.get("inner") or {},
    )


def measure(
    name: str,
    command: Sequence[str],
    repeat: int,
    env: dict[str, str] | None = None,
    capture_json: bool = False,
    warmup: int = 1,
) -> Measurement:
    """Run `command` warmup + repeat times (fresh wrapper each time); failed runs are kept and flagged."""
    samples: list[Sample] = []
    error = None
    try:
        for _warmup in range(warmup):
            measure_once(command, env=env, capture_json=capture_json)
        for _round in range(repeat):
            sample = measure_once(command, env=env, capture_json=capture_json)
            samples.append(sample)
            if sample.rc != 0:
                error = f"exit code {sample.rc}: {sample.inner.get('stderr_tail', '')}"
                break
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as exc:
        error = str(exc)
    ok = error is None and len(samples) == repeat
    return Measurement(name=name, command=list(command), samples=samples, ok=ok, error=error)


def command_line() -> str:
    """How this benchmark was started, relative to the repository, results dir left out."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if arg == "--results-dir":
            skip = True
            continue
        if not arg.startswith("--results-dir="):
            args.append(arg)
    return " ".join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), REPO), *args])


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return value / baseline


def machine() -> dict[str, Any]:
    """Facts that make a number meaningful: cores, memory, kernel, Python, load when measured."""
    mem_kib = None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu = None
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_total_mib": mem_kib // 1024 if mem_kib else None,
        "kernel": platform.release(),
        "os": _os_release(),
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
        "when_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def _os_release() -> str | None:
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def write_result(name: str, payload: dict[str, Any], results_dir: str = RESULTS_DIR) -> str:
    """Write one benchmark's results as JSON (benchmarks/results/<name>.json); return the path."""
    os.makedirs(results_dir, exist_ok=True)
    path = os.path.join(results_dir, name + ".json")
    payload = {
        "benchmark": name,
        "machine": machine(),
        "invocation": os.environ.get("BENCH_INVOCATION") or command_line(),
        **payload,
    }
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def fmt_s(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable as plain text on a terminal)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _header in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
