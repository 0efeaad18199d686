# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real ansible-playbook runs of the verify role over many local inventory hosts (ansible_connection=local,
each inventory name audits this machine read-only): serial batches, strategy free, --limit slices into one
directory and tcp.keepalive.report from a directory all end in one fleet report that covers every host
exactly once, the newest record winning and old ones marked stale; set_stats and tcp_keepalive_verify_result
are read back in a later play. Nothing on the host changes (info modules only)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LONG = "long-" + "x" * 260  # longer than a file name may be
HOSTS = [f"web{i}" for i in (1, 2, 3, 10, 11)] + [f"db{i}" for i in (1, 2)] + [LONG]
KEYS = ("time", "intvl", "probes")


def _live() -> dict[str, int]:
    return {k: int(Path(f"/proc/sys/net/ipv4/tcp_keepalive_{k}").read_text()) for k in KEYS}


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".venv" / "collections"))
    env.update(
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_SHOW_CUSTOM_STATS="1",
        ANSIBLE_HOST_KEY_CHECKING="false",
    )
    env.update(extra)
    return env


@pytest.fixture()
def inventory(tmp_path: Path) -> Path:
    python = REPO / ".venv" / "bin" / "python"
    lines = [f"{h} ansible_connection=local ansible_python_interpreter={python}" for h in HOSTS]
    # unreachable on loopback: nothing listens on port 1
    lines.append("gone ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody")
    path = tmp_path / "inventory.ini"
    path.write_text("[all]\n" + "\n".join(lines) + "\n")
    return path


def _policy_vars(report_dir: Path) -> list[str]:
    """The live values as the policy, fail_on nothing: every reachable host passes (errors still fail)."""
    live = _live()
    extra = {
        "tcp_keepalive_verify_time": live["time"],
        "tcp_keepalive_verify_intvl": live["intvl"],
        "tcp_keepalive_verify_probes": live["probes"],
        "tcp_keepalive_verify_fail_on": [],
        "tcp_keepalive_verify_report_dir": str(report_dir),
        "tcp_keepalive_verify_timer": False,
    }
    return ["-e", json.dumps(extra)]


def _play(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(args: list[str], cwd: Path) -> dict[str, Any]:
    proc = subprocess.run(
        ["ansible-playbook", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=str(cwd),
        timeout=900,
        check=False,
    )
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(
            f"ansible-playbook printed no JSON (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr}"
        )
    out["_rc"] = proc.returncode
    return out


def _task_results(out: dict[str, Any], name_part: str) -> list[dict[str, Any]]:
    found = []
    for play in out["plays"]:
        for task in play["tasks"]:
            if name_part in task["task"]["name"]:
                found.extend(task["hosts"].values())
    return found


def _fleet(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "fleet.json").read_text())


ROLE_PLAY = """
- name: Audit
  hosts: all
  gather_facts: false
  {extra}
  roles:
    - role: tcp.keepalive.verify
"""


def test_serial_batches_end_in_one_report_with_every_host_once(tmp_path, inventory):
    reports = tmp_path / "reports"
    play = _play(tmp_path, "serial.yml", ROLE_PLAY.format(extra="serial: 3"))
    out = _run(["-i", str(inventory), str(play), *_policy_vars(reports)], tmp_path)
    fleet = _fleet(reports)
    assert sorted(fleet["host_status"]) == sorted([*HOSTS, "gone"])
    assert fleet["status"]["unreachable"] == 1 and fleet["unreachable"] == ["gone"]
    assert fleet["status"]["pass"] == len(HOSTS), fleet["host_status"]
    assert len(fleet["runs"]) == 1  # one run id for every batch
    rendered = [r for r in _task_results(out, "render the fleet report") if r.get("rendered")]
    assert len(rendered) == 3  # 9 hosts, serial 3: once per batch, never per host
    assert len(list((reports / "hosts").glob("*.json"))) == len(HOSTS) + 1
    assert out["_rc"] == 2  # the unreachable host fails the run after being reported


def test_strategy_free_renders_once_and_covers_every_host(tmp_path, inventory):
    reports = tmp_path / "reports"
    play = _play(tmp_path, "free.yml", ROLE_PLAY.format(extra="strategy: free"))
    out = _run(["-i", str(inventory), str(play), *_policy_vars(reports)], tmp_path)
    fleet = _fleet(reports)
    assert sorted(fleet["host_status"]) == sorted([*HOSTS, "gone"])
    results = _task_results(out, "render the fleet report")
    assert len(results) == len(HOSTS) + 1  # the task ran per host (free ignores run_once) ...
    assert sum(1 for r in results if r.get("rendered")) == 1  # ... but the fleet was rendered once


def test_limit_slices_into_one_directory_newest_wins_stale_marked(tmp_path, inventory):
    reports = tmp_path / "reports"
    play = _play(tmp_path, "audit.yml", ROLE_PLAY.format(extra=""))
    # a record left by a host that is no longer audited, two days old
    (reports / "hosts").mkdir(parents=True)
    old = {
        "host": "retired1",
        "status": "pass",
        "summary": {"severities": {}, "failed_checks": []},
        "run": {"id": "old-run", "time": "2026-01-01T00:00:00Z", "epoch": time.time() - 2 * 86400},
    }
    (reports / "hosts" / "retired1.json").write_text(json.dumps(old))
    first = _run(["-i", str(inventory), str(play), "--limit", "web*", *_policy_vars(reports)], tmp_path)
    fleet = _fleet(reports)
    assert sorted(fleet["host_status"]) == sorted([h for h in HOSTS if h.startswith("web")] + ["retired1"])
    assert fleet["stale"] == ["retired1"]
    _run(["-i", str(inventory), str(play), "--limit", "db*:long-*", *_policy_vars(reports)], tmp_path)
    fleet = _fleet(reports)
    assert sorted(fleet["host_status"]) == sorted([*HOSTS, "retired1"])  # both slices, every host once
    first_run = {r["run"]["id"] for r in fleet["hosts_detail"].values() if r["run"]["id"] != "old-run"}
    assert len(first_run) == 2
    # re-audit one host of the first slice: its newer record wins, the other hosts keep theirs
    _run(["-i", str(inventory), str(play), "--limit", "web1", *_policy_vars(reports)], tmp_path)
    fleet = _fleet(reports)
    runs = {h: d["run"]["id"] for h, d in fleet["hosts_detail"].items()}
    assert runs["web1"] != runs["web2"] and runs["web2"] != runs["db1"]
    assert sorted(fleet["host_status"]) == sorted([*HOSTS, "retired1"])
    assert first["_rc"] == 0


def test_report_playbook_rerenders_from_records_without_contacting_hosts(tmp_path, inventory):
    reports = tmp_path / "reports"
    play = _play(tmp_path, "audit.yml", ROLE_PLAY.format(extra=""))
    _run(["-i", str(inventory), str(play), "--limit", "web*", *_policy_vars(reports)], tmp_path)
    before = _fleet(reports)
    collected = tmp_path / "artifacts-from-awx"  # records of another controller, merged in
    _run(["-i", str(inventory), str(play), "--limit", "db*", *_policy_vars(collected)], tmp_path)
    for name in ("fleet.json", "fleet.md", "fleet.html", "junit.xml", "summary.txt"):
        (reports / name).unlink()
    out = _run(
        [
            "tcp.keepalive.report",
            "-e",
            json.dumps(
                {
                    "tcp_keepalive_report_dir": str(reports),
                    "tcp_keepalive_report_record_dirs": [str(collected)],
                }
            ),
        ],
        tmp_path,
    )
    assert out["_rc"] == 0
    assert set(out["stats"]) == {"localhost"}  # no managed host was contacted
    fleet = _fleet(reports)
    assert sorted(fleet["host_status"]) == sorted(set(before["host_status"]) | {"db1", "db2"})
    assert (reports / "fleet.html").stat().st_size > 0 and (reports / "junit.xml").stat().st_size > 0
    assert out["global_custom_stats"]["tcp_keepalive_verify"]["hosts"] == len(fleet["host_status"])


def test_set_stats_and_the_result_fact_are_read_in_a_later_play(tmp_path, inventory):
    reports = tmp_path / "reports"
    play = _play(
        tmp_path,
        "two_plays.yml",
        ROLE_PLAY.format(extra="")
        + """
- name: Later play
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the verdict
      ansible.builtin.assert:
        that:
          - tcp_keepalive_verify_result.status == 'pass'
          - tcp_keepalive_verify_result.checks.runtime_values == 'pass'
          - tcp_keepalive_verify_result.compliant
    - name: Only on compliant hosts
      ansible.builtin.debug:
        msg: compliant
      when: tcp_keepalive_verify_result.compliant
""",
    )
    out = _run(["-i", str(inventory), str(play), "--limit", "web*:db*", *_policy_vars(reports)], tmp_path)
    assert out["_rc"] == 0, json.dumps(out["stats"])
    audited = [h for h in HOSTS if h.startswith(("web", "db"))]
    later = _task_results(out, "Only on compliant hosts")
    assert len(later) == len(audited) and all(r.get("msg") == "compliant" for r in later)
    stats = out["global_custom_stats"]["tcp_keepalive_verify"]
    assert stats["hosts"] == len(audited) and stats["status"]["pass"] == len(audited)
    assert stats["compliant"] is True
