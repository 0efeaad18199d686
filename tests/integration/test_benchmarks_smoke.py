# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke runs of the benchmarks (benchmarks/, scripts/bench.sh): tiny sizes, one round each.

They check that every benchmark still runs and writes well-formed results: the measured things ran,
saw what was set up, and reported sizes and peak RSS. No assertion is ever made on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

from _containers import docker_ready  # noqa: E402

pytestmark = pytest.mark.netns

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, containers)")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = REPO / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}:{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".venv" / "collections"))
    env.setdefault("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "true")
    env.setdefault("ANSIBLE_LOCALHOST_WARNING", "false")
    env.setdefault("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
    return env


def _run(script: str, results: Path, *args: str, timeout: int = 900) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--results-dir", str(results), *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=str(REPO),
        timeout=timeout,
        check=False,
    )
    name = script.replace("bench_", "").replace(".py", "")
    path = results / f"{name}.json"
    assert path.exists(), f"{script} wrote no result (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    data = json.loads(path.read_text())
    assert data["benchmark"] == name
    assert data["machine"]["nproc"] >= 1 and data["machine"]["kernel"]
    assert data["markdown"].startswith(("|", "\n", f"{data.get('hosts')} containers")), data["markdown"][:200]
    data["_rc"], data["_stderr"] = proc.returncode, proc.stderr
    return data


def _assert_measured(row: dict[str, Any]) -> None:
    assert row["ok"], f"{row.get('name', row)}: {row.get('error')}"
    assert row["median_s"] > 0
    assert row["peak_rss_kib"] > 1024  # at least a MiB: a real process was measured


def test_measure_wrapper_reports_the_child_peak_rss():
    """_measure.py sees a child that touches 64 MiB as using at least 64 MiB."""
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "_measure.py"),
            "--capture-json",
            "--",
            sys.executable,
            "-c",
            "import json; b = bytearray(64 << 20); print(json.dumps({'n': len(b)}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    assert data["rc"] == 0
    assert data["maxrss_kib"] >= 64 * 1024
    assert data["inner"] == {"n": 64 << 20}
    assert data["stdout_bytes"] == len(json.dumps({"n": 64 << 20})) + 1


def test_measure_wrapper_reports_failures():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "_measure.py"), "--", "sh", "-c", "echo oops >&2; exit 3"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    assert data["rc"] == 3
    assert "oops" in data["inner"]["stderr_tail"]


@needs_root
def test_socket_scan_benchmark_smoke(tmp_path):
    data = _run("bench_sockets.py", tmp_path, "--sizes", "60", "--repeat", "1", "--profile")
    assert data["_rc"] == 0, data["_stderr"][-3000:]
    (size,) = data["sizes"]
    assert size["connections"] == 60
    assert size["established_sockets"] == 120  # both ends of every connection, inside the private netns
    rows = {row["name"]: row for row in size["rows"]}
    assert set(rows) >= {
        "ss -tanop",
        "ss -tano",
        "dump only",
        "scan, options never",
        "scan, options auto",
        "scan, options always",
        "scan, options never, detail 20000",
        "ansible sockets_info",
        "floor (raw dump + fd walk)",
        "floor + auto's option reads",
    }
    for row in rows.values():
        _assert_measured(row)
    assert rows["ss -tanop"]["ratio_vs_ss_tanop"] == 1.0
    for name in ("dump only", "scan, options never", "scan, options auto", "scan, options always"):
        # the namespace holds exactly the farm: 120 connected sockets plus 4 listeners
        assert rows[name]["sockets_seen"] == 124, (name, rows[name]["sockets_seen"])
    for name in ("scan, options never", "scan, options always"):
        assert 0 < rows[name]["result_bytes"] < 64 * 1024
    # the farm sets SO_KEEPALIVE on known sockets: every scan must classify exactly those (timer or sockopt)
    plan = size["keepalive_plan"]
    assert plan["connected"] == 120 and plan["listeners"] == 4
    for name, row in rows.items():
        if name.startswith("scan"):
            assert row["classification"] == "ok", (name, row["classification"])
    assert rows["scan, options always"]["socket_options"]["read"] == 124
    assert rows["scan, options never"]["socket_options"]["read"] == 0
    # the floor with reads reads what auto reads: the 4 listeners and the 60 connected keepalive sockets
    auto_read = rows["scan, options auto"]["socket_options"]["read"]
    assert auto_read == 4 + plan["connected_with_keepalive"]
    assert rows["floor + auto's option reads"]["options_read_by_floor"] == auto_read
    assert rows["floor (raw dump + fd walk)"]["options_read_by_floor"] is None
    full = rows["scan, options never, detail 20000"]["result_bytes"]
    assert full > rows["scan, options never"]["result_bytes"]
    assert rows["ansible sockets_info"]["stdout_bytes"] > 0
    for mode, path in data["profiles"].items():
        assert Path(path).read_text().startswith("# "), (mode, path)


def _fake_result(when: str, load: float, markdown: str, **extra: Any) -> dict[str, Any]:
    machine = {
        "nproc": 2,
        "cpu": "test CPU",
        "mem_total_mib": 1024,
        "kernel": "6.1-test",
        "os": "Debian",
        "python": "3.11",
        "loadavg": [load, load, load],
        "when_utc": when,
    }
    return {"machine": machine, "command": "python bench.py", "repeat": 1, "markdown": markdown, **extra}


def test_a_partial_run_keeps_what_the_page_said_of_the_benchmarks_it_did_not_run():
    """`bash scripts/bench.sh --only settings` must not erase the report section of the page it rewrites."""
    import render_doc

    report_rows = [
        {"ok": True, "hosts": 1000, "total_s_growth": 1.0, "size_ratio": 1.0},
        {"ok": True, "hosts": 10000, "total_s_growth": 8.5, "size_ratio": 10.0},
    ]
    first = render_doc.render(
        {
            "settings": _fake_result("2026-11-30 08:39:05", 2.1, "| settings table, first run |"),
            "report": _fake_result("2026-11-30 08:45:20", 1.8, "| report table |", rows=report_rows),
        },
        "",
        "",
    )
    report_target = (
        "| report rendering grows linearly (1,000 -> 10,000 hosts) | met | time x8.50 for hosts x10 |"
    )
    assert report_target in first
    second = render_doc.render(
        {"settings": _fake_result("2026-12-04 19:04:08", 0.5, "| settings table, second run |")},
        "",
        "",
        previous=render_doc.previous_page(first),
    )
    assert "| settings table, second run |" in second and "first run" not in second
    report = second.split("## 3b. Fleet report rendering (synthetic host results)", 1)[1]
    assert report.split("\n## ", 1)[0].strip() == (
        "Command: `python bench.py` (repeat 1), run by `bash scripts/bench.sh`\n\n| report table |"
    )
    assert report_target in second
    assert "when each benchmark finished: settings 0.5 / 0.5 / 0.5; report 1.8 / 1.8 / 1.8" in second
    assert "Measured at (UTC): settings 2026-12-04 19:04:08; report 2026-11-30 08:45:20" in second
    assert "Sections 3b were not measured by this run" in second
    # what the page never measured stays "not measured", and so does everything without a previous page
    fleet = second.split("## 3a. Fleet: the audit playbook end to end", 1)[1].split("\n## ", 1)[0]
    assert fleet.strip() == render_doc.NOT_MEASURED
    alone = render_doc.render({"settings": _fake_result("2026-12-04 19:04:08", 0.5, "| s |")}, "", "")
    assert "| report table |" not in alone and "report rendering grows" not in alone
    assert "were not measured by this run" not in alone


def test_report_rendering_benchmark_smoke(tmp_path):
    data = _run("bench_report.py", tmp_path, "--sizes", "16,32", "--repeat", "1")
    assert data["_rc"] == 0, data["_stderr"][-3000:]
    rows = data["rows"]
    assert [row["hosts"] for row in rows] == [16, 32]
    for row in rows:
        assert row["ok"], row["error"]
        assert sum(row["statuses"].values()) == row["hosts"]
        assert set(row["statuses"]) == {"pass", "fail", "error", "unreachable"}
        assert row["bytes_written"] > 0 and row["peak_rss_kib"] > 1024
    assert rows[1]["size_ratio"] == 2.0 and rows[1]["total_s_growth"] > 0


def _docker_or_skip() -> None:
    why = docker_ready()
    if why:
        pytest.skip(why)


@needs_root
def test_settings_benchmark_smoke(tmp_path):
    _docker_or_skip()
    data = _run("bench_settings.py", tmp_path, "--repeat", "1")
    rows = {(row["contender"], row["phase"]): row for row in data["rows"]}
    assert len(rows) == 4
    for (contender, phase), row in rows.items():
        assert row["ok"], (contender, phase, row["error"])
        assert row["checks"] == [], (contender, phase, row["checks"])
        assert row["changed"] == ([0] if phase == "idempotent" else [3 if "posix" in contender else 1])
        assert row["peak_rss_kib"] > 1024
    assert data["_rc"] == 0


@needs_root
def test_fleet_benchmark_smoke(tmp_path):
    _docker_or_skip()
    data = _run("bench_fleet.py", tmp_path, "--hosts", "2", "--repeat", "1")
    rows = {row["name"]: row for row in data["rows"]}
    ping, audit = rows["ping (baseline)"], rows["tcp.keepalive.audit"]
    _assert_measured(ping)
    assert ping["recap"]["hosts"] == 2 and ping["recap"]["failures"] == 0
    assert audit["ok"], audit["error"]
    assert audit["recap"]["hosts"] == 2 and audit["recap"]["unreachable"] == 0
    assert sum(audit["statuses"].values()) == 2  # the fleet report covers every container
    assert len(audit["tasks"]) >= 4 and all(seconds >= 0 for _name, seconds in audit["tasks"])


def test_render_doc_from_results(tmp_path):
    results = tmp_path / "results"
    _run("bench_report.py", results, "--sizes", "8,16", "--repeat", "1")
    out = tmp_path / "performance.md"
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "render_doc.py"),
            "--results-dir",
            str(results),
            "--out",
            str(out),
            "--note",
            "smoke",
        ],
        check=True,
        capture_output=True,
        env=_env(),
    )
    text = out.read_text()
    assert "## Machine" in text and "## Targets" in text and "> smoke" in text
    assert "report rendering grows linearly (8 -> 16 hosts)" in text
    assert "| 16 |" in text
    assert "## 1. Socket scan" in text and "Not measured in this run." in text
