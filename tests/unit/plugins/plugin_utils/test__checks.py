# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify role's checks fed with real settings_info results (module_utils._policy on fixture trees)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _policy
from ansible_collections.tcp.keepalive.plugins.plugin_utils import _report as report

EXPECTED = {"time": 600, "intvl": 60, "probes": 5}
POLICY = {
    "expected": EXPECTED,
    "max_detection_time": 900,
    "fail_on": ["high", "medium"],
    "idle_threshold": 900,
}
ROOT_REACH = {"changed": False, "ansible_facts": {"ansible_user_uid": 0, "ansible_user_id": "root"}}
QUIET_SOCKETS = {"changed": False, "findings": [], "sockets": [], "services": {}}
GOOD_TIMER = {"changed": False, "expected": 600, "observed": 600, "ok": True}


def _tree(root: Path, live: dict[str, int], files: dict[str, str]) -> str:
    (root / "proc/sys/net/ipv4").mkdir(parents=True)
    for key, value in live.items():
        (root / f"proc/sys/net/ipv4/tcp_keepalive_{key}").write_text(f"{value}\n")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


def _record(root: str, **policy: Any) -> dict[str, Any]:
    settings = _policy.audit(root=root, expected=EXPECTED, max_detection_time=900, loader="procps")
    raw = {
        "host": "web1",
        "reach": ROOT_REACH,
        "settings": dict(settings, changed=False),
        "sockets": QUIET_SOCKETS,
        "timer": GOOD_TIMER,
    }
    return report.evaluate_host(raw, dict(POLICY, **policy))


def _check(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in record["checks"] if c["name"] == name)


def test_configured_host_passes(tmp_path):
    conf = "".join(f"net.ipv4.tcp_keepalive_{key} = {value}\n" for key, value in EXPECTED.items())
    root = _tree(tmp_path, EXPECTED, {"etc/sysctl.d/60-tcp-keepalive.conf": conf})
    record = _record(root)
    assert record["status"] == "pass", record["message"]
    assert record["values"] == {"runtime": EXPECTED, "boot": EXPECTED}
    assert record["detection_time"] == {"runtime": 900, "boot": 900, "policy": 900}


def test_live_only_host_fails_persistence_not_runtime(tmp_path):
    root = _tree(tmp_path, EXPECTED, {"etc/sysctl.d/10-old.conf": "net.ipv4.tcp_keepalive_time = 7200\n"})
    record = _record(root)
    assert record["status"] == "fail"
    assert _check(record, "runtime_values")["status"] == "pass"
    persistence = _check(record, "persistence")
    assert persistence["status"] == "fail"
    assert "/etc/sysctl.d/10-old.conf:1" in persistence["message"]
    assert "found after reboot time=7200 intvl=75 probes=9" in persistence["message"]
    sources = "(time from /etc/sysctl.d/10-old.conf:1, intvl kernel default, probes kernel default)"
    assert sources in persistence["message"]
    assert {f["id"] for f in persistence["failing"]} == {"drift", "not_persisted", "not_expected"}
    detection = _check(record, "detection_time")
    assert detection["status"] == "fail" and "7875 s after reboot" in detection["message"]


def test_unconfigured_host_fails_runtime_values_with_expected_and_found(tmp_path):
    root = _tree(tmp_path, {"time": 7200, "intvl": 75, "probes": 9}, {})
    record = _record(root)
    runtime = _check(record, "runtime_values")
    assert runtime["status"] == "fail"
    assert runtime["message"].startswith(
        "expected time=600 intvl=60 probes=5; found live time=7200 intvl=75 probes=9"
    )
    assert [f["key"] for f in runtime["failing"]] == ["time", "intvl", "probes"]
    assert record["summary"]["failed_checks"] == ["runtime_values", "persistence", "detection_time"]


def test_fail_on_a_single_id(tmp_path):
    root = _tree(tmp_path, {"time": 7200, "intvl": 75, "probes": 9}, {})
    record = _record(root, fail_on=["detection_time_exceeded"])
    assert record["summary"]["failed_checks"] == ["detection_time"]
    assert _check(record, "runtime_values")["status"] == "warn"


@pytest.mark.parametrize(
    ("finding", "check"),
    [
        ({"id": "not_expected", "message": "x is 1 at runtime, expected 2"}, "runtime_values"),
        ({"id": "not_expected", "message": "x is 1 after boot (text never routes)"}, "runtime_values"),
        ({"id": "not_expected", "scope": "boot", "message": "anything"}, "persistence"),
        ({"id": "not_expected", "namespace": 4026532000, "message": "x at runtime in netns"}, "namespaces"),
        ({"id": "missing_key", "namespace": 4026532000, "message": "cannot be read"}, "namespaces"),
        ({"id": "ghost_candidate", "message": "idle"}, "ghosts"),
        ({"id": "a_future_id", "message": "new"}, "runtime_values"),
    ],
)
def test_findings_are_routed_to_their_check(finding, check):
    assert report.check_for(dict(finding, source="settings")) == check


def test_module_failure_is_an_error_not_a_pass(tmp_path):
    root = _tree(tmp_path, EXPECTED, {})
    settings = _policy.audit(root=root, expected=EXPECTED, max_detection_time=900, loader="procps")
    raw = {
        "host": "web1",
        "reach": ROOT_REACH,
        "settings": settings,
        "sockets": {"failed": True, "msg": "sock_diag: Operation not permitted"},
        "timer": {"skipped": True},
    }
    record = report.evaluate_host(raw, POLICY)
    assert record["status"] == "error"
    assert _check(record, "listeners")["status"] == "error"
    assert "Operation not permitted" in _check(record, "listeners")["message"]
    assert _check(record, "timer")["status"] == "error"
    assert {"step": "sockets", "msg": "sock_diag: Operation not permitted"} in record["errors"]
