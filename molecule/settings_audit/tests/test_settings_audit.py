# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""settings_audit: tcp.keepalive.settings_info before and after tcp.keepalive.configure.

prepare.yml seeded the host and saved the "before" audit, converge.yml applied the role and saved the
"after" audit, each as <ephemeral dir>/audit-<phase>.json: {result, check_result, snapshot_before,
snapshot_after, lines}. `lines` is `grep -Hn ''` of the sysctl files at audit time: the tests locate each
definition there (independently of the module's parser) and expect the module to name the same file:line.
The last test restarts the container ("reboot"), so it stays last.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SCENARIO = Path(__file__).resolve().parent.parent
HOST = "settings_audit-bookworm"
PHASES = ("before", "after")
KEYS = ("time", "intvl", "probes")

APP = "/etc/sysctl.d/10-app.conf"
TUNING = "/etc/sysctl.d/90-tuning.conf"
ROLE_FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
NOT_AN_ASSIGNMENT = "this line is not an assignment"

SEEDED_LIVE = {"time": 900, "intvl": 30, "probes": 9}  # prepare.yml: sysctl -w time=900 intvl=30
SEEDED_BOOT = {"time": 1800, "intvl": 75, "probes": 9}  # 90-tuning.conf wins time; the rest kernel defaults
ROLE_VALUES = {"time": 600, "intvl": 60, "probes": 5}  # role defaults = the audit's `expected`
MAX_DETECTION_TIME = 900
# Documented severities (plugins/modules/settings_info.py RETURN, findings).
SEVERITY = {
    "drift": "medium",
    "not_persisted": "medium",
    "overridden_at_boot": "medium",
    "conflicting_definitions": "low",
    "unparsable_line": "low",
    "not_expected": "high",
    "detection_time_exceeded": "high",
}


def _detection(values: dict) -> int:
    return values["time"] + values["intvl"] * values["probes"]


def _load(phase: str) -> dict:
    path = EPHEMERAL / f"audit-{phase}.json"
    assert path.is_file(), f"{path} was not written"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def saved() -> dict:
    return {phase: _load(phase) for phase in PHASES}


def line_of(saved_phase: dict, path: str, text: str) -> int:
    """Line number of the only line of `path` that reads `text` (stripped), from the saved grep -Hn."""
    found = []
    for entry in saved_phase["lines"]:
        file, number, content = entry.split(":", 2)
        if file == path and content.strip() == text:
            found.append(int(number))
    assert len(found) == 1, f"expected exactly one line {text!r} in {path}, found lines {found}"
    return found[0]


def _finding_keys(findings: list[dict]) -> list[tuple]:
    """(id, key, file, line, namespace) of each finding, sorted (None sorts first)."""
    return sorted(
        ((f["id"], f["key"], f["file"], f["line"], f["namespace"]) for f in findings),
        key=lambda t: tuple("" if v is None else str(v) for v in t),
    )


def _by_id(findings: list[dict], finding_id: str, key: str | None = None) -> list[dict]:
    return [f for f in findings if f["id"] == finding_id and (key is None or f["key"] == key)]


# --- the audit never changes anything -------------------------------------------------------------


@pytest.mark.parametrize("phase", PHASES)
def test_audit_reports_changed_false_also_in_check_mode(saved, phase):
    result, check = saved[phase]["result"], saved[phase]["check_result"]
    assert result["changed"] is False and check["changed"] is False
    assert "failed" not in result or result["failed"] is False
    assert _finding_keys(check["findings"]) == _finding_keys(result["findings"]), (
        "check mode must report the same findings"
    )
    assert check["compliant"] == result["compliant"]


@pytest.mark.parametrize("phase", PHASES)
def test_audit_changed_no_file_and_no_value(saved, phase):
    before, after = saved[phase]["snapshot_before"], saved[phase]["snapshot_after"]
    assert before == after
    live = {key: saved[phase]["result"]["settings"][key]["runtime"] for key in KEYS}
    for key, value in live.items():
        assert f"live net.ipv4.tcp_keepalive_{key}={value}" in after.splitlines()


def test_snapshot_sees_what_the_role_changed(saved):
    """The snapshot is sensitive: between the two audits the role wrote its file, edited 90-tuning.conf
    and set the live values, and the snapshots show each of those (10-app.conf stays byte-identical)."""
    before = saved["before"]["snapshot_after"].splitlines()
    after = saved["after"]["snapshot_before"].splitlines()
    assert before != after

    def entry(lines: list[str], path: str) -> str | None:
        return next((line for line in lines if line.startswith(f"file {path} ")), None)

    assert entry(before, ROLE_FILE) is None and entry(after, ROLE_FILE) is not None
    assert entry(before, TUNING) != entry(after, TUNING)
    assert entry(before, APP) is not None
    assert entry(before, APP) == entry(after, APP)
    for key in KEYS:
        assert f"live net.ipv4.tcp_keepalive_{key}={SEEDED_LIVE[key]}" in before
        assert f"live net.ipv4.tcp_keepalive_{key}={ROLE_VALUES[key]}" in after


def test_nothing_changed_since_the_last_audit(host, saved):
    """Idempotence re-ran the role and the audit: the host still matches the last snapshot."""
    now = host.run((SCENARIO.parent / "shared" / "snapshot.sh").read_text())
    assert now.rc == 0, now.stderr
    assert now.stdout.strip() == saved["after"]["snapshot_after"].strip()


# --- before: the seeded problems -------------------------------------------------------------------


def test_before_values_and_definitions(saved):
    phase = saved["before"]
    result = phase["result"]
    app_time = line_of(phase, APP, "net.ipv4.tcp_keepalive_time = 600")
    tuning_time = line_of(phase, TUNING, "net.ipv4.tcp_keepalive_time = 1800")
    settings = result["settings"]
    assert result["loader"]["name"] == "procps"  # auto: systemd is not PID 1 in the container
    assert {key: settings[key]["runtime"] for key in KEYS} == SEEDED_LIVE
    assert {key: settings[key]["boot"] for key in KEYS} == SEEDED_BOOT
    assert {key: settings[key]["drift"] for key in KEYS} == {"time": True, "intvl": True, "probes": False}
    assert settings["time"]["boot_source"] == {"file": TUNING, "line": tuning_time}
    assert settings["intvl"]["boot_source"] == settings["probes"]["boot_source"] == "kernel_default"
    time_defs = [
        (d["file"], d["line"], d["int_value"], d["wins"], d["overridden_by"])
        for d in settings["time"]["definitions"]
    ]
    assert time_defs == [
        (APP, app_time, 600, False, {"file": TUNING, "line": tuning_time}),
        (TUNING, tuning_time, 1800, True, None),
    ]
    assert settings["intvl"]["definitions"] == settings["probes"]["definitions"] == []
    assert result["detection_time"] == {"runtime": _detection(SEEDED_LIVE), "boot": _detection(SEEDED_BOOT)}
    assert result["compliant"] is False


def test_before_findings_are_exactly_the_seeded_problems(saved):
    phase = saved["before"]
    findings = phase["result"]["findings"]
    app_time = line_of(phase, APP, "net.ipv4.tcp_keepalive_time = 600")
    app_bad = line_of(phase, APP, NOT_AN_ASSIGNMENT)
    tuning_time = line_of(phase, TUNING, "net.ipv4.tcp_keepalive_time = 1800")
    expected = [
        ("drift", "time", TUNING, tuning_time, None),  # live 900, boot 1800 from 90-tuning.conf
        ("not_persisted", "intvl", None, None, None),  # live 30, no file sets intvl
        ("overridden_at_boot", "time", APP, app_time, None),  # 600 in 10-app.conf loses to 1800
        ("conflicting_definitions", "time", TUNING, tuning_time, None),
        ("unparsable_line", None, APP, app_bad, None),
        ("detection_time_exceeded", None, None, None, None),  # runtime 1170 s
        ("detection_time_exceeded", None, None, None, None),  # boot 2475 s
    ]
    # not_expected: every key differs from 600/60/5 at runtime and after boot; only boot time has a source.
    for key in KEYS:
        expected.append(("not_expected", key, None, None, None))
        boot_where = (TUNING, tuning_time) if key == "time" else (None, None)
        expected.append(("not_expected", key, *boot_where, None))
    assert _finding_keys(findings) == _finding_keys(
        [dict(zip(("id", "key", "file", "line", "namespace"), item)) for item in expected]
    )
    for finding in findings:
        assert finding["severity"] == SEVERITY[finding["id"]], finding


def test_before_messages_say_what_and_where(saved):
    phase = saved["before"]
    findings = phase["result"]["findings"]
    tuning_time = line_of(phase, TUNING, "net.ipv4.tcp_keepalive_time = 1800")
    (drift,) = _by_id(findings, "drift")
    assert "900" in drift["message"] and "1800" in drift["message"]
    assert f"{TUNING}:{tuning_time}" in drift["message"]
    (overridden,) = _by_id(findings, "overridden_at_boot")
    assert f"overridden at boot by {TUNING}:{tuning_time}" in overridden["message"]
    (not_persisted,) = _by_id(findings, "not_persisted")
    assert "30" in not_persisted["message"] and "75" in not_persisted["message"]
    exceeded = sorted(f["message"] for f in _by_id(findings, "detection_time_exceeded"))
    assert f"{_detection(SEEDED_LIVE)}s at runtime" in exceeded[0]
    assert f"{_detection(SEEDED_BOOT)}s after boot" in exceeded[1]
    assert all(f"max_detection_time {MAX_DETECTION_TIME}s" in message for message in exceeded)


# --- after tcp.keepalive.configure ----------------------------------------------------------------


def test_after_values_and_definitions(saved):
    phase = saved["after"]
    result = phase["result"]
    settings = result["settings"]
    app_time = line_of(phase, APP, "net.ipv4.tcp_keepalive_time = 600")
    role_lines = {
        key: line_of(phase, ROLE_FILE, f"net.ipv4.tcp_keepalive_{key} = {ROLE_VALUES[key]}") for key in KEYS
    }
    assert result["loader"]["name"] == "procps"
    for key in KEYS:
        assert settings[key]["runtime"] == settings[key]["boot"] == ROLE_VALUES[key]
        assert settings[key]["drift"] is False
        assert settings[key]["boot_source"] == {"file": ROLE_FILE, "line": role_lines[key]}
    time_defs = [
        (d["file"], d["line"], d["int_value"], d["wins"], d["overridden_by"])
        for d in settings["time"]["definitions"]
    ]
    assert time_defs == [
        (APP, app_time, 600, False, {"file": ROLE_FILE, "line": role_lines["time"]}),
        (ROLE_FILE, role_lines["time"], 600, True, None),
    ]  # the commented-out 1800 in 90-tuning.conf is no definition any more
    for key in ("intvl", "probes"):
        assert [(d["file"], d["line"], d["wins"]) for d in settings[key]["definitions"]] == [
            (ROLE_FILE, role_lines[key], True)
        ]
    assert result["detection_time"] == {"runtime": MAX_DETECTION_TIME, "boot": MAX_DETECTION_TIME}
    assert result["compliant"] is True


def test_after_findings_only_what_the_role_does_not_own(saved):
    """The role fixed everything in its remit; 10-app.conf (not its file) keeps a same-value definition
    that loses to the role's file (no finding: it changes nothing at boot, issue 11 item 7) and a line
    that is not an assignment."""
    phase = saved["after"]
    findings = phase["result"]["findings"]
    app_bad = line_of(phase, APP, NOT_AN_ASSIGNMENT)
    assert _finding_keys(findings) == [("unparsable_line", None, APP, app_bad, None)]
    time_definitions = phase["result"]["settings"]["time"]["definitions"]
    app_time = line_of(phase, APP, "net.ipv4.tcp_keepalive_time = 600")
    role_time = line_of(phase, ROLE_FILE, "net.ipv4.tcp_keepalive_time = 600")
    app = next(d for d in time_definitions if (d["file"], d["line"]) == (APP, app_time))
    assert app["wins"] is False and app["overridden_by"] == {"file": ROLE_FILE, "line": role_time}


def test_fixed_findings_are_gone(saved):
    before = {f["id"] for f in saved["before"]["result"]["findings"]}
    after = {f["id"] for f in saved["after"]["result"]["findings"]}
    assert before - after == {
        "drift",
        "not_persisted",
        "conflicting_definitions",
        "not_expected",
        "detection_time_exceeded",
        "overridden_at_boot",
    }
    assert after <= before
    assert (saved["before"]["result"]["compliant"], saved["after"]["result"]["compliant"]) == (False, True)


def test_boot_prediction_matches_the_real_loader_after_restart(host, saved):
    """Last: `docker restart` (fresh namespace at 7200/75/9), then the real procps loader restricted to our
    keys must produce exactly the boot values the after-audit predicted."""
    subprocess.run(["docker", "restart", "-t", "0", HOST], check=True, capture_output=True)
    read = (
        "cat /proc/sys/net/ipv4/tcp_keepalive_time /proc/sys/net/ipv4/tcp_keepalive_intvl "
        "/proc/sys/net/ipv4/tcp_keepalive_probes"
    )
    fresh = host.run(read)
    assert fresh.rc == 0 and fresh.stdout.split() == ["7200", "75", "9"], fresh.stdout
    loaded = host.run("sysctl --pattern '^-?/?net[./]ipv4[./]tcp_keepalive_' --system")
    assert loaded.rc == 0, loaded.stderr
    live = dict(zip(KEYS, map(int, host.run(read).stdout.split())))
    predicted = {key: saved["after"]["result"]["settings"][key]["boot"] for key in KEYS}
    assert live == predicted == ROLE_VALUES
