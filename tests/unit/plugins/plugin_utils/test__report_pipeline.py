# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report pipeline's tables and the record directory: findings -> checks, renderers, newest record per
host, stale marking, compliance exceptions."""

from __future__ import annotations

import datetime
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._common import FINDING_SEVERITY, FINDINGS
from ansible_collections.tcp.keepalive.plugins.plugin_utils import _checks, _records, _render, _report

REPO = Path(__file__).resolve().parents[4]
POLICY = {
    "expected": {"time": 600, "intvl": 60, "probes": 5},
    "max_detection_time": 900,
    "fail_on": ["high", "medium"],
    "idle_threshold": 900,
}
GOOD = {"time": 600, "intvl": 60, "probes": 5}


def _emitted_ids() -> set[str]:
    """Every finding id the node-side code emits, read from the sources (id="..." / "id": "...")."""
    ids: set[str] = set()
    for path in (REPO / "plugins" / "module_utils").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        ids.update(re.findall(r"\bid=\"([a-z_]+)\"", text))
        ids.update(re.findall(r"\"id\": \"([a-z_]+)\"", text))
    for path in (REPO / "plugins" / "modules").glob("*.py"):
        ids.update(re.findall(r"\bid=\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    return ids


def test_every_finding_id_belongs_to_exactly_one_check():
    known = set(FINDING_SEVERITY) | _emitted_ids()
    assert "not_expected" in known and "ghost_candidate" in known  # the scan found the sources
    missing = known - set(_checks.FINDING_ROUTES)
    assert not missing, f"finding ids without a check in _checks.FINDING_ROUTES: {sorted(missing)}"
    for fid, route in _checks.FINDING_ROUTES.items():
        assert route.check in _checks.CHECK_NAMES, fid
        assert route.scope in _checks.SCOPES, fid
        # one check per (id, scope): the boot check is only for the boot scope
        for scope in _checks.SCOPES:
            checks = {_checks.check_for({"id": fid, "scope": scope, "source": "sockets"})}
            assert len(checks) == 1 and checks <= set(_checks.CHECK_NAMES)


# FINDING_ROUTES as it was written by hand before it was derived from _common.FINDINGS: the derived table
# must route every id exactly as this one did.
ROUTES_BEFORE_FINDINGS = {
    "not_expected": ("runtime_values", "runtime", "persistence"),
    "missing_key": ("runtime_values", "runtime", None),
    "detection_time_exceeded": ("detection_time", "runtime", None),
    "not_persisted": ("persistence", "boot", None),
    "overridden_at_boot": ("persistence", "boot", None),
    "drift": ("persistence", "boot", None),
    "conflicting_definitions": ("persistence", "boot", None),
    "unparsable_line": ("persistence", "boot", None),
    "unreadable_file": ("persistence", "boot", None),
    "namespace_defaults": ("namespaces", "runtime", None),
    "namespace_unreadable": ("namespaces", "runtime", None),
    "listener_without_keepalive": ("listeners", "runtime", None),
    "listener_keepalive_unverified": ("listeners", "runtime", None),
    "connection_without_keepalive": ("listeners", "runtime", None),
    "user_timeout_overrides_probes": ("listeners", "runtime", None),
    "keepalive_unknown": ("listeners", "runtime", None),
    "socket_options_unreadable": ("listeners", "runtime", None),
    "ghost_candidate": ("ghosts", "runtime", None),
    "timer_mismatch": ("timer", "runtime", None),
}


def test_the_routes_derived_from_findings_are_the_routes_of_before():
    routes = {fid: (r.check, r.scope, r.boot_check) for fid, r in _checks.FINDING_ROUTES.items()}
    assert routes == ROUTES_BEFORE_FINDINGS
    assert list(_checks.FINDING_ROUTES) == list(FINDINGS)
    assert _checks.OTHER_CHECK == "runtime_values"
    checks_before = {
        fid: (check,) if boot_check is None else (check, boot_check)
        for fid, (check, _scope, boot_check) in ROUTES_BEFORE_FINDINGS.items()
    }
    assert checks_before == _checks.FINDING_CHECKS
    before = {fid: _checks.FindingRoute(*route) for fid, route in ROUTES_BEFORE_FINDINGS.items()}
    for fid in [*ROUTES_BEFORE_FINDINGS, "no_such_id"]:
        for scope in (None, "runtime", "boot", "bogus"):
            for source, namespace in (("settings", None), ("settings", 4026532000), ("sockets", None)):
                finding: dict[str, Any] = {"id": fid, "source": source, "namespace": namespace}
                if scope is not None:
                    finding["scope"] = scope
                route = before.get(fid)
                default_scope = route.scope if route else "runtime"
                wanted_scope = scope if scope in ("runtime", "boot") else default_scope
                if source == "settings" and namespace is not None and fid != "unreadable_file":
                    wanted = "namespaces"
                elif route is None:
                    wanted = "runtime_values"
                elif route.boot_check and wanted_scope == "boot":
                    wanted = route.boot_check
                else:
                    wanted = route.check
                assert _checks.scope_of(finding) == wanted_scope, finding
                assert _checks.check_for(finding) == wanted, finding


def test_every_check_of_the_findings_table_is_a_check_of_the_role():
    for fid, kind in FINDINGS.items():
        assert kind.check in _checks.CHECK_NAMES, fid
        assert kind.boot_check is None or kind.boot_check in _checks.CHECK_NAMES, fid
        assert kind.boot_check != kind.check, f"{fid}: boot_check repeats check"
        assert kind.scope in _checks.SCOPES, fid


def test_routing_uses_scope_and_namespace_never_the_message():
    base = {"id": "not_expected", "source": "settings"}
    assert _checks.check_for(dict(base, scope="runtime", message="after boot")) == "runtime_values"
    assert _checks.check_for(dict(base, scope="boot", message="at runtime")) == "persistence"
    assert _checks.check_for(dict(base, scope="boot", namespace=4026532000)) == "namespaces"
    source = (REPO / "plugins" / "plugin_utils" / "_checks.py").read_text(encoding="utf-8")
    assert not re.search(r"in str\(finding\.get\(\"message\"", source)


def test_every_renderer_is_one_entry_with_its_own_file(tmp_path):
    names = [r.name for r in _render.RENDERERS]
    files = [r.filename for r in _render.RENDERERS]
    assert len(set(names)) == len(names) and len(set(files)) == len(files)
    assert {"json", "markdown", "html", "junit", "console"} <= set(names)
    record = _checks.evaluate_host({"host": "h1", "audit": _audit()}, POLICY)
    _records.write_records(str(tmp_path), [_records.stamp(record, "run1", _records.utc_now())])
    built = _report.rebuild([str(tmp_path)], POLICY)
    assert set(built["paths"]) == set(names)
    for renderer in _render.RENDERERS:
        assert "h1" in (tmp_path / renderer.filename).read_text(encoding="utf-8"), renderer.name


def _audit(time_value: int = 600, service: str | None = None) -> dict[str, Any]:
    values = dict(GOOD, time=time_value)
    findings = []
    if time_value != 600:
        findings.append({"id": "not_expected", "severity": "high", "scope": "runtime", "message": "time"})
    sockets: dict[str, Any] = {"findings": [], "services": []}
    if service:
        sockets["findings"].append(
            {"id": "listener_without_keepalive", "severity": "high", "service": service, "message": "no ka"}
        )
    return {
        "user": {"uid": 0, "name": "root"},
        "settings": {
            "settings": {k: {"runtime": v, "boot": v} for k, v in values.items()},
            "findings": findings,
            "namespaces": [],
        },
        "sockets": sockets,
        "timer": {"ok": True, "findings": [], "observed_time": 600},
    }


def _write(directory: Path, host: str, run: str, moment: float, audit: dict[str, Any]) -> None:
    record = _checks.evaluate_host({"host": host, "audit": audit}, POLICY)
    stamped = _records.stamp(record, run, datetime.datetime.fromtimestamp(moment, datetime.timezone.utc))
    _records.write_records(str(directory), [stamped])


def test_fleet_takes_the_newest_record_per_host_and_marks_stale_ones(tmp_path):
    now = time.time()
    slice_a, slice_b = tmp_path / "a", tmp_path / "b"
    _write(slice_a, "web1", "old", now - 3600, _audit(7200))
    _write(slice_b, "web1", "new", now - 60, _audit(600))
    _write(slice_b, "web2", "new", now - 60, _audit(600))
    _write(slice_a, "db1", "ancient", now - 10 * 86400, _audit(600))
    built = _report.rebuild(
        [str(slice_a), str(slice_b)], POLICY, out_dir=str(tmp_path / "out"), stale_after=86400, now=now
    )
    by_host = {r["host"]: r for r in built["records"]}
    assert sorted(by_host) == ["db1", "web1", "web2"]  # every host exactly once
    assert by_host["web1"]["run"]["id"] == "new" and by_host["web1"]["status"] == "pass"
    assert built["summary"]["stale"] == ["db1"] and by_host["db1"]["stale"] is True
    fleet = json.loads((tmp_path / "out" / "fleet.json").read_text())
    assert fleet["hosts"] == 3 and fleet["stale"] == ["db1"]
    assert "stale" in (tmp_path / "out" / "fleet.md").read_text()


def test_files_that_are_not_records_are_named_not_fatal(tmp_path):
    _write(tmp_path, "web1", "r", time.time(), _audit())
    (tmp_path / "hosts" / "broken.json").write_text("{not json")
    (tmp_path / "hosts" / "other.json").write_text('{"some": "thing"}')
    records, warnings = _records.load_records([str(tmp_path)])
    assert [r["host"] for r in records] == ["web1"]
    assert len(warnings) == 2 and any("broken.json" in w for w in warnings)


def test_unreachable_hosts_are_not_counted_as_failing_checks():
    records = [
        _checks.evaluate_host({"host": "a", "audit": _audit()}, POLICY),
        _checks.missing_host_record("b", POLICY),
    ]
    summary = _records.summarize_fleet(records, POLICY)
    assert summary["status"]["unreachable"] == 1 and summary["unreachable"] == ["b"]
    assert all(counts.get("error", 0) == 0 for counts in summary["check_status"].values())
    assert summary["check_status"]["runtime_values"] == {"pass": 1}


def test_services_without_keepalive_ranked_by_hosts():
    records = [
        _checks.evaluate_host(
            {"host": f"h{i}", "audit": _audit(service="redis" if i < 3 else "nginx")}, POLICY
        )
        for i in range(4)
    ]
    ranked = _records.summarize_fleet(records, POLICY)["services_without_keepalive"]
    assert [(s["service"], s["hosts"]) for s in ranked] == [("redis", 3), ("nginx", 1)]


def test_natural_host_order():
    hosts = ["web10", "web2", "web1", "db3"]
    assert sorted(hosts, key=_render.natural_key) == ["db3", "web1", "web2", "web10"]


# ---- compliance exceptions -------------------------------------------------------------------------
def _exception(**fields: Any) -> dict[str, Any]:
    return dict(
        {"hosts": "web*", "service": "redis", "reason": "vendor fix due (CHG-1)", "expires": "2030-01-01"},
        **fields,
    )


def test_a_valid_exception_waives_and_is_shown_an_expired_one_fails():
    raw = {"host": "web1", "audit": _audit(service="redis")}
    plain = _checks.evaluate_host(raw, POLICY)
    assert plain["status"] == "fail"
    waived = _checks.evaluate_host(raw, dict(POLICY, exceptions=[_exception()], today="2026-12-01"))
    assert waived["status"] == "pass", waived["message"]
    listeners = next(c for c in waived["checks"] if c["name"] == "listeners")
    assert (
        len(listeners["waived"]) == 1
        and "waived until 2030-01-01: vendor fix due (CHG-1)" in listeners["message"]
    )
    assert waived["summary"]["waived"] == 1 and waived["summary"]["severities"]["high"] == 0
    other_host = _checks.evaluate_host(
        {"host": "db1", "audit": _audit(service="redis")}, dict(POLICY, exceptions=[_exception()])
    )
    assert other_host["status"] == "fail"
    # an exception for a low finding that would not fail: once expired, it fails
    expired = _checks.evaluate_host(
        raw,
        dict(POLICY, fail_on=["medium"], exceptions=[_exception(expires="2026-01-01")], today="2026-12-01"),
    )
    assert expired["status"] == "fail"
    assert "exception expired 2026-01-01" in expired["message"]
    page = _render.render_html(_render.Fleet(_records.summarize_fleet([waived], POLICY), [waived]))
    assert "waived until 2030-01-01" in page


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"service": "x", "expires": "2030-01-01"}, "reason is required"),
        ({"service": "x", "reason": "r"}, "expires is required"),
        ({"service": "x", "reason": "r", "expires": "soon"}, "expires must be a date"),
        ({"reason": "r", "expires": "2030-01-01"}, "finding id or the service"),
        ({"finding": "no_such_id", "reason": "r", "expires": "2030-01-01"}, "is not a finding id"),
        ({"service": "x", "reason": "r", "expires": "2030-01-01", "typo": 1}, "unknown key(s) typo"),
        ("just a string", "must be a dict"),
    ],
)
def test_bad_exceptions_are_named(entry, named):
    with pytest.raises(ValueError, match=re.escape(named)) as caught:
        _checks.normalize_exceptions([entry])
    assert "exceptions[0]" in str(caught.value)


def test_public_result_is_small_and_says_the_verdict():
    record = _checks.evaluate_host({"host": "web1", "audit": _audit(7200)}, POLICY)
    result = _checks.public_result(record)
    assert result["status"] == "fail" and result["compliant"] is False
    assert result["checks"]["runtime_values"] == "fail" and "runtime_values" in result["failed_checks"]
    assert result["finding_ids"] == ["not_expected"] and result["findings"]["high"] == 1


def _role_readme_check_table() -> tuple[list[str], str, str]:
    """roles/verify/README.md's "| Check | ... |" table: the check names of its first column, the text of
    the step holding it up to the table, and the table itself."""
    lines = (REPO / "roles" / "verify" / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\s*\| Check \|", line))
    end = start + 1
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    step = max(i for i in range(start) if re.match(r"^\d+\. ", lines[i]))
    rows = [re.match(r"^\s*\| `([a-z_]+)` \|", line) for line in lines[start + 2 : end]]
    assert all(rows), "every row of the check table starts with a `check` name"
    names = [row.group(1) for row in rows if row]
    return names, "\n".join(lines[step:start]), "\n".join(lines[start:end])


def test_the_role_readme_check_table_names_every_check_and_links_the_findings_page():
    # The ids are listed once, in docs/findings.md (tests/unit/test_docs.py compares it with FINDINGS);
    # the role README describes the checks and links there.
    names, before, table = _role_readme_check_table()
    assert names == list(_checks.CHECK_NAMES), "roles/verify/README.md check table vs _checks.CHECKS"
    assert "](../../docs/findings.md)" in before, "the text before the check table links docs/findings.md"
    listed = [fid for fid in FINDINGS if f"`{fid}`" in table]
    assert not listed, f"roles/verify/README.md's check table lists finding ids again: {listed}"
