# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""verify_compliant: the verify role passes a configured host and its reports say so; nothing changed."""

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
HOST = "verify_compliant-bookworm"
POLICY = yaml.safe_load((SCENARIO / "inventory_group_vars" / "all.yml").read_text())
EXPECTED = {key: POLICY[f"tcp_keepalive_{key}"] for key in ("time", "intvl", "probes")}


def _record() -> dict:
    fleet = json.loads((REPORTS / "fleet.json").read_text())
    assert fleet["host_status"] == {HOST: "pass"} and fleet["compliant"] is True
    return json.loads((REPORTS / fleet["host_files"][HOST]).read_text())


def test_host_record_passes_with_the_policy_values():
    record = _record()
    assert record["status"] == "pass", record["message"]
    assert record["values"] == {"runtime": EXPECTED, "boot": EXPECTED}
    detection = EXPECTED["time"] + EXPECTED["intvl"] * EXPECTED["probes"]
    assert record["detection_time"] == {"runtime": detection, "boot": detection, "policy": detection}
    assert [c["name"] for c in record["checks"]] == list(CHECKS)
    assert all(c["ok"] for c in record["checks"])
    assert record["services_without_keepalive"] == [] and record["ghost_candidates"] == []


def test_the_kernel_proof_and_the_keepalive_service_were_seen():
    record = _record()
    timer = record["facts"]["timer"]
    assert timer["ok"] is True and timer["expected_time"] == EXPECTED["time"]
    assert abs(timer["observed_time"] - EXPECTED["time"]) <= 2
    python = [s for s in record["facts"]["sockets"]["services"] if s["comm"] == "python3"]
    assert python, record["facts"]["sockets"]["services"]
    assert any(
        listener["local"].endswith(":6000") and listener["keepalive"] is True
        for service in python
        for listener in service["listeners"]
    )
    assert sum(s["with_keepalive"] for s in python) >= 2  # both ends of the idle connection


def test_junit_all_pass():
    suites = ET.parse(REPORTS / "junit.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == list(CHECKS)
    assert {c.get("classname") for c in cases} == {HOST}
    assert suites.get("failures") == "0" and suites.get("errors") == "0"
    assert all(c.find("failure") is None and c.find("error") is None for c in cases)


def test_html_and_markdown():
    html = (REPORTS / "fleet.html").read_text()
    assert HOST in html
    assert_self_contained(html)
    assert "1 host(s): 1 compliant, 0 non-compliant" in (REPORTS / "fleet.md").read_text()


def test_nothing_changed_on_the_host(host):
    before = assert_host_unchanged(host)
    assert f"live net.ipv4.tcp_keepalive_time={EXPECTED['time']}" in before
