# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit_only: the audit playbook on an unconfigured host reports non-compliance, exits 2, changes nothing."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from verify_reports import CHECKS, EPHEMERAL, assert_host_unchanged, assert_self_contained  # noqa: E402

SCENARIO = Path(__file__).resolve().parent.parent
HOST = "audit_only-bookworm"
RUNS = ("run", "check")


def _json(path: Path) -> dict:
    assert path.is_file(), f"{path} was not written"
    return json.loads(path.read_text())


@pytest.mark.parametrize("run", RUNS)
def test_audit_exits_2_and_reports_no_change(run):
    result = _json(EPHEMERAL / f"audit-{run}.json")
    assert result["rc"] == 2, result["stdout"][-2000:]
    recap = re.search(rf"^{re.escape(HOST)}\s*:\s*(.*)$", result["stdout"], re.M)
    assert recap, result["stdout"][-2000:]
    counts = dict(re.findall(r"(\w+)=(\d+)", recap.group(1)))
    assert counts["changed"] == "0" and counts["failed"] == "1" and counts["unreachable"] == "0"


@pytest.mark.parametrize("run", RUNS)
def test_host_report_says_not_compliant_with_kernel_defaults(run):
    reports = EPHEMERAL / f"reports-{run}"
    fleet = _json(reports / "fleet.json")
    assert fleet["hosts"] == 1 and fleet["compliant"] is False
    assert fleet["host_status"] == {HOST: "fail"}
    record = _json(reports / fleet["host_files"][HOST])
    assert record["status"] == "fail" and record["privileged"] is True
    defaults = {"time": 7200, "intvl": 75, "probes": 9}
    assert record["values"] == {"runtime": defaults, "boot": defaults}
    assert record["detection_time"]["runtime"] == 7875 and record["detection_time"]["boot"] == 7875
    failed = set(record["summary"]["failed_checks"])
    assert {"runtime_values", "persistence", "detection_time", "timer"} <= failed
    runtime = next(c for c in record["checks"] if c["name"] == "runtime_values")
    assert "expected time=600 intvl=60 probes=5; found live time=7200 intvl=75 probes=9" in runtime["message"]


@pytest.mark.parametrize("run", RUNS)
def test_junit_and_html(run):
    reports = EPHEMERAL / f"reports-{run}"
    suites = ET.parse(reports / "junit.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    assert sorted(c.get("name") for c in cases) == sorted(CHECKS)
    assert {c.get("classname") for c in cases} == {HOST}
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert failed["runtime_values"].get("type") == "not_expected"
    assert int(suites.get("failures")) == len(failed) >= 4
    html = (reports / "fleet.html").read_text()
    assert HOST in html
    assert_self_contained(html)
    assert "1 non-compliant" in (reports / "fleet.md").read_text()


def test_nothing_changed_on_the_host(host):
    before = assert_host_unchanged(host)
    assert "live net.ipv4.tcp_keepalive_time=7200" in before
