# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet reports of the verify role, rendered from a few hundred synthetic host results."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.tcp.keepalive.plugins.plugin_utils import _report as report

POLICY = {
    "expected": {"time": 600, "intvl": 60, "probes": 5},
    "max_detection_time": 900,
    "fail_on": ["high", "medium"],
    "require_root": False,
    "idle_threshold": 900,
}
N_HOSTS = 300
KINDS = ("compliant", "unpersisted", "listener", "unreachable", "not_root", "broken", "low_only")


def _settings(
    runtime: dict[str, int], boot: dict[str, int], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "changed": False,
        "loader": {"name": "systemd", "reason": "systemd-sysctl present"},
        "settings": {
            key: {
                "runtime": runtime[key],
                "boot": boot[key],
                "boot_source": "/etc/sysctl.d/60-tcp-keepalive.conf",
                "definitions": [],
                "kernel_default": 0,
                "drift": runtime[key] != boot[key],
            }
            for key in ("time", "intvl", "probes")
        },
        "detection_time": {
            "runtime": runtime["time"] + runtime["intvl"] * runtime["probes"],
            "boot": boot["time"] + boot["intvl"] * boot["probes"],
        },
        "namespaces": [{"inode": 4026531840}],
        "findings": findings,
        "compliant": not findings,
    }


GOOD = {"time": 600, "intvl": 60, "probes": 5}
DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}


def synthetic_raw(i: int) -> dict[str, Any]:
    """Host i of the fleet; its kind is KINDS[i % len(KINDS)]."""
    kind = KINDS[i % len(KINDS)]
    host = f"host{i:04d}.example.com"
    reach = {"changed": False, "ansible_facts": {"ansible_user_uid": 0, "ansible_user_id": "root"}}
    settings = _settings(GOOD, GOOD, [])
    sockets = {"changed": False, "sockets": [], "services": [], "summary": {}, "findings": []}
    timer = {"changed": False, "expected_time": 600, "observed_time": 599.996, "ok": True, "findings": []}
    if kind == "unreachable":
        return {
            "host": host,
            "reach": {"unreachable": True, "msg": "ssh: connect to host: No route to host"},
            "settings": {"skipped": True},
            "sockets": {"skipped": True},
            "timer": {"skipped": True},
        }
    if kind == "unpersisted":
        settings = _settings(
            GOOD,
            DEFAULTS,
            [
                {
                    "id": "not_persisted",
                    "severity": "medium",
                    "key": "net.ipv4.tcp_keepalive_time",
                    "message": "live 600 is not persisted; 7200 after reboot",
                    "file": None,
                    "line": None,
                    "namespace": None,
                },
                {
                    "id": "detection_time_exceeded",
                    "severity": "high",
                    "key": None,
                    "message": "7875 s after reboot exceeds 900 s",
                    "file": None,
                    "line": None,
                    "namespace": None,
                },
            ],
        )
    if kind == "listener":
        sockets["findings"] = [
            {
                "id": "listener_without_keepalive",
                "severity": "high",
                "key": None,
                "message": "listener on :5432",
                "file": None,
                "line": None,
                "namespace": None,
                "pid": 4242,
                "service": "postgresql.service",
                "socket": {"local": "0.0.0.0:5432", "remote": "0.0.0.0:*", "state": "LISTEN"},
            },
            {
                "id": "ghost_candidate",
                "severity": "high",
                "key": None,
                "message": "idle 86400 s without keepalive",
                "file": None,
                "line": None,
                "namespace": None,
                "pid": 4242,
                "service": "postgresql.service",
                "socket": "10.0.0.5:5432->10.0.0.9:40000",
                "sockets": [
                    "10.0.0.5:5432->10.0.0.9:40000 (idle 86400s)",
                    "10.0.0.5:5432->10.0.0.7:40100 (idle 90000s)",
                ],
                "count": 2,
            },
        ]
        sockets["services"] = [{"name": "postgresql.service", "hint": "set tcp_keepalives_idle"}]
    if kind == "not_root":
        reach["ansible_facts"] = {"ansible_user_uid": 1000, "ansible_user_id": "alice"}
    if kind == "broken":
        sockets = {"failed": True, "msg": "netlink: permission denied", "changed": False}
    if kind == "low_only":
        settings = _settings(
            GOOD,
            GOOD,
            [
                {
                    "id": "conflicting_definitions",
                    "severity": "low",
                    "key": "net.ipv4.tcp_keepalive_time",
                    "message": "also set to 600 in /etc/sysctl.conf",
                    "file": "/etc/sysctl.conf",
                    "line": 12,
                    "namespace": None,
                },
            ],
        )
    return {"host": host, "reach": reach, "settings": settings, "sockets": sockets, "timer": timer}


EXPECTED_STATUS = {
    "compliant": "pass",
    "unpersisted": "fail",
    "listener": "fail",
    "unreachable": "unreachable",
    "not_root": "pass",
    "broken": "error",
    "low_only": "pass",
}
EXPECTED_FAILED_CHECKS = {
    "compliant": set(),
    "unpersisted": {"persistence", "detection_time"},
    "listener": {"listeners", "ghosts"},
    "unreachable": set(report.CHECK_NAMES),
    "not_root": set(),
    "broken": {"listeners", "ghosts"},
    "low_only": set(),
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return [report.evaluate_host(synthetic_raw(i), POLICY) for i in range(N_HOSTS)]


def _kind(host: str) -> str:
    return KINDS[int(re.search(r"host(\d+)", host).group(1)) % len(KINDS)]


def test_each_host_gets_the_verdict_of_its_kind(records):
    for record in records:
        kind = _kind(record["host"])
        assert record["status"] == EXPECTED_STATUS[kind], (kind, record["message"])
        assert set(record["summary"]["failed_checks"]) == EXPECTED_FAILED_CHECKS[kind], kind
        assert [c["name"] for c in record["checks"]] == list(report.CHECK_NAMES)


def test_failure_messages_say_expected_found_and_where(records):
    listener = next(r for r in records if _kind(r["host"]) == "listener")
    check = next(c for c in listener["checks"] if c["name"] == "listeners")
    assert "service postgresql.service" in check["message"]
    assert "pid 4242" in check["message"]
    assert "0.0.0.0:5432 -> 0.0.0.0:* (LISTEN)" in check["message"]
    unpersisted = next(r for r in records if _kind(r["host"]) == "unpersisted")
    persistence = next(c for c in unpersisted["checks"] if c["name"] == "persistence")
    assert "expected time=600 intvl=60 probes=5 after reboot" in persistence["message"]
    assert "found after reboot time=7200 intvl=75 probes=9" in persistence["message"]
    low = next(r for r in records if _kind(r["host"]) == "low_only")
    warned = next(c for c in low["checks"] if c["name"] == "persistence")
    assert warned["status"] == "warn" and "/etc/sysctl.conf:12" in warned["message"]
    assert "persistence" in unpersisted["message"] and "detection_time" in unpersisted["message"]


def test_not_root_is_reported_and_can_be_required():
    raw = synthetic_raw(KINDS.index("not_root"))
    lenient = report.evaluate_host(raw, POLICY)
    assert lenient["privileged"] is False and lenient["status"] == "pass"
    assert lenient["limitations"][0] == report.NOT_ROOT_LIMITATION
    strict = report.evaluate_host(raw, dict(POLICY, require_root=True))
    assert strict["status"] == "fail" and strict["summary"]["failed_checks"] == ["privileges"]


def test_fail_on_decides_which_findings_fail():
    raw = synthetic_raw(KINDS.index("listener"))
    only_ghosts = report.evaluate_host(raw, dict(POLICY, fail_on=["ghost_candidate"]))
    assert only_ghosts["summary"]["failed_checks"] == ["ghosts"]
    assert next(c for c in only_ghosts["checks"] if c["name"] == "listeners")["status"] == "warn"
    nothing = report.evaluate_host(raw, dict(POLICY, fail_on=[]))
    assert nothing["status"] == "pass"
    with pytest.raises(ValueError, match="neither a severity"):
        report.evaluate_host(raw, dict(POLICY, fail_on=["critical"]))


def test_timer_ok_false_without_findings_becomes_timer_mismatch():
    raw = synthetic_raw(0)
    raw["timer"] = {"changed": False, "expected_time": 600, "observed_time": 7199.99, "ok": False}
    record = report.evaluate_host(raw, POLICY)
    assert record["summary"]["failed_checks"] == ["timer"]
    assert record["findings"][0]["id"] == "timer_mismatch" and "7199.99 s" in record["findings"][0]["message"]


@pytest.fixture(scope="module")
def written(records, tmp_path_factory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("reports")
    summary = report.summarize_fleet(records, POLICY, "2026-01-01T00:00:00Z")
    paths = report.write_reports(str(out), records, summary)
    return {"paths": paths, "summary": summary}


def _count(kind_status: str) -> int:
    return sum(1 for i in range(N_HOSTS) if EXPECTED_STATUS[KINDS[i % len(KINDS)]] == kind_status)


def test_fleet_json_and_host_files(written):
    paths = written["paths"]
    fleet = json.loads(Path(paths["json"]).read_text())
    assert fleet["hosts"] == N_HOSTS
    for status in report.STATUSES:
        assert fleet["status"][status] == _count(status), status
    assert fleet["compliant"] is False
    assert len(list(Path(paths["hosts_dir"]).glob("*.json"))) == N_HOSTS
    one = json.loads((Path(paths["report_dir"]) / fleet["host_files"]["host0002.example.com"]).read_text())
    assert (
        one["status"] == "fail" and one["facts"]["sockets"]["findings"][0]["service"] == "postgresql.service"
    )
    assert one["services_without_keepalive"][0]["service"] == "postgresql.service"
    ghost = one["ghost_candidates"][0]
    assert ghost["count"] == 2 and ghost["sockets"][1] == "10.0.0.5:5432->10.0.0.7:40100 (idle 90000s)"
    assert one["services_without_keepalive"][0]["hint"] == "set tcp_keepalives_idle"


def test_junit_has_one_case_per_host_and_check(written):
    tree = ET.parse(written["paths"]["junit"])
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == N_HOSTS * len(report.CHECK_NAMES)
    assert int(suites.get("tests")) == len(cases)
    pairs = {(c.get("classname"), c.get("name")) for c in cases}
    assert len(pairs) == len(cases)
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    expected_failures = sum(
        len(EXPECTED_FAILED_CHECKS[KINDS[i % len(KINDS)]])
        for i in range(N_HOSTS)
        if KINDS[i % len(KINDS)] in ("unpersisted", "listener")
    )
    assert len(failures) == expected_failures == int(suites.get("failures"))
    assert len(errors) == int(suites.get("errors"))
    assert len(errors) == _count("unreachable") * len(report.CHECK_NAMES) + _count("error") * 2
    ghost = next(c for c in failures if c.get("name") == "ghosts")
    assert ghost.find("failure").get("type") == "ghost_candidate"


def test_html_is_self_contained_and_shows_every_host(written):
    text = Path(written["paths"]["html"]).read_text()
    assert not re.search(r"(?i)https?://", text)
    assert not re.search(r"(?i)<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"(?i)<script[^>]", text)  # one inline script, no src
    assert text.count("<script>") == 1
    assert not re.search(r"(?i)url\(", text)
    for i in range(N_HOSTS):
        assert f"host{i:04d}.example.com" in text
    assert "postgresql.service: 0.0.0.0:5432 -&gt; 0.0.0.0:* (LISTEN)" in text
    assert text.count("<tr data-s=") == N_HOSTS - _count("unreachable")  # unreachable hosts: own section


def test_markdown_summary(written):
    text = Path(written["paths"]["markdown"]).read_text()
    host_rows = [line for line in text.splitlines() if line.startswith("| [host")]
    ghost_rows = [line for line in text.splitlines() if line.startswith("| host")]
    assert len(host_rows) == N_HOSTS
    assert len(ghost_rows) == sum(1 for i in range(N_HOSTS) if KINDS[i % len(KINDS)] == "listener")
    assert f"{_count('pass')} compliant, {_count('fail')} non-compliant" in text
    assert "| unreachable |" in host_rows[0]  # worst first
    for row in host_rows:  # each host links to its JSON document
        target = re.search(r"\]\((hosts/[^)]+)\)", row).group(1)
        assert (Path(written["paths"]["report_dir"]) / target).is_file(), target


def test_html_links_each_host_to_its_json(written):
    text = Path(written["paths"]["html"]).read_text()
    targets = re.findall(r'<a href="(hosts/[^"]+)">', text)
    assert len(targets) == N_HOSTS
    assert all((Path(written["paths"]["report_dir"]) / target).is_file() for target in targets)


def test_host_filenames_are_safe_and_distinct():
    names = ["web1", "web/1", "web:1", "..", "a b", "web_1"]
    files = [report.host_filename(n) for n in names]
    assert len(set(files)) == len(files)
    assert all("/" not in f and not f.startswith(".") for f in files)


def test_renders_thousands_of_hosts_completely(tmp_path):
    # Rendering time at 1,000 and 10,000 hosts is measured by benchmarks/bench_report.py, never asserted here.
    base = [report.evaluate_host(synthetic_raw(i), POLICY) for i in range(len(KINDS))]
    records = [dict(base[i % len(base)], host=f"h{i}") for i in range(5000)]
    summary = report.summarize_fleet(records, POLICY)
    html = report.render_html(summary, records)
    markdown = report.render_markdown(summary, records)
    suite = ET.fromstring(report.render_junit(records))
    cases = suite.findall(".//testcase")
    assert len(cases) == sum(len(r["checks"]) for r in records)
    assert {case.get("classname") for case in cases} == {f"h{i}" for i in range(5000)}
    assert all(f">h{i}<" in html for i in (0, 2500, 4999))
    assert "h4999" in markdown


def test_format_finding_names_where_once():
    finding = {
        "id": "drift",
        "severity": "medium",
        "key": "time",
        "file": "/etc/sysctl.d/50-a.conf",
        "line": 2,
        "message": "time is 300 at runtime but boot sets 7200 at /etc/sysctl.d/50-a.conf:2",
    }
    assert report.format_finding(finding).count("/etc/sysctl.d/50-a.conf:2") == 1
    listener = {
        "id": "listener_without_keepalive",
        "severity": "high",
        "service": "nc",
        "pid": 7,
        "socket": "0.0.0.0:5555",
        "message": "nc listens on 0.0.0.0:5555 without SO_KEEPALIVE",
    }
    assert report.format_finding(listener).endswith(
        "nc listens on 0.0.0.0:5555 without SO_KEEPALIVE (at pid 7)"
    )
