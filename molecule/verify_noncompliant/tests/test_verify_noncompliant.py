# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""verify_noncompliant: every host fails, the fleet reports are still written and say why; nothing changed."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from verify_reports import CHECKS, EPHEMERAL, assert_host_unchanged, assert_self_contained  # noqa: E402

REPORTS = EPHEMERAL / "reports"
SCENARIO = Path(__file__).resolve().parent.parent
HOST = "verify_noncompliant-bookworm"
ABSENT = "verify_noncompliant-absent"
POLICY = yaml.safe_load((SCENARIO / "policy.yml").read_text())
EXPECTED = {key: POLICY[f"tcp_keepalive_{key}"] for key in ("time", "intvl", "probes")}


def _fleet() -> dict:
    return json.loads((REPORTS / "fleet.json").read_text())


def _record(host: str) -> dict:
    return json.loads((REPORTS / _fleet()["host_files"][host]).read_text())


def _check(record: dict, name: str) -> dict:
    return next(c for c in record["checks"] if c["name"] == name)


def test_fleet_has_both_hosts_failed():
    fleet = _fleet()
    assert fleet["host_status"] == {HOST: "fail", ABSENT: "unreachable"}
    assert fleet["compliant"] is False and fleet["unreachable"] == [ABSENT]


def test_host_fails_exactly_the_broken_checks():
    record = _record(HOST)
    assert record["status"] == "fail"
    assert record["values"]["runtime"] == EXPECTED
    assert record["values"]["boot"] == {"time": 7200, "intvl": 75, "probes": 9}
    assert set(record["summary"]["failed_checks"]) == {"persistence", "detection_time", "listeners", "ghosts"}
    persistence = _check(record, "persistence")
    assert "/etc/sysctl.d/50-legacy.conf:2" in persistence["message"]
    assert {f["id"] for f in persistence["failing"]} >= {"drift", "not_persisted", "not_expected"}
    assert _check(record, "timer")["status"] == "pass"  # the live value is applied: only the boot is wrong


def test_nc_is_named_with_its_listener_and_ghost_connections():
    record = _record(HOST)
    services = {s["service"]: s for s in record["services_without_keepalive"]}
    nc = [s for name, s in services.items() if name.startswith("nc")]
    assert nc and "0.0.0.0:5555" in nc[0]["listeners"] and nc[0]["pids"]
    ghosts = record["ghost_candidates"]
    assert ghosts and ghosts[0]["service"].startswith("nc") and sum(g["count"] for g in ghosts) == 2
    assert any(":5555" in s for g in ghosts for s in g["sockets"])


def test_unreachable_host_record():
    record = _record(ABSENT)
    assert record["status"] == "unreachable" and record["checks"]
    assert all(c["status"] == "error" for c in record["checks"])
    assert record["errors"][0]["step"] == "connect"


def test_junit_failures_and_errors():
    suites = ET.parse(REPORTS / "junit.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == 2 * len(CHECKS)
    by_host: dict = {}
    for case in cases:
        by_host.setdefault(case.get("classname"), {})[case.get("name")] = case
    assert set(by_host) == {HOST, ABSENT}
    failed = {name for name, case in by_host[HOST].items() if case.find("failure") is not None}
    assert failed == {"persistence", "detection_time", "listeners", "ghosts"}
    assert by_host[HOST]["listeners"].find("failure").get("type") == "listener_without_keepalive"
    assert all(case.find("error") is not None for case in by_host[ABSENT].values())
    assert suites.get("failures") == "4" and suites.get("errors") == str(len(CHECKS))


def test_html_and_markdown():
    html = (REPORTS / "fleet.html").read_text()
    assert HOST in html and ABSENT in html
    assert_self_contained(html)
    assert "0.0.0.0:5555" in html
    markdown = (REPORTS / "fleet.md").read_text()
    assert "2 host(s): 0 compliant, 1 non-compliant, 0 with errors, 1 unreachable" in markdown
    assert "## Ghost candidates" in markdown


def test_nothing_changed_on_the_host(host):
    before = assert_host_unchanged(host)
    assert "/etc/sysctl.d/50-legacy.conf" in before
