# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side logic of the verify role: per-host checks and verdict, and the fleet reports.

Private plugin_utils (leading underscore): not a public API. Pure functions over plain dicts; the only
I/O is in write_reports(). Every renderer is linear in the number of hosts and findings, so a fleet of
thousands of hosts renders in one pass (no per-host template loops).

Inputs per host ("raw"): the registered results of setup (reach), settings_info, sockets_info and
timer_info. Output per host ("record"): a JSON-ready dict with the checks, the verdict and all facts.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    FINDING_SEVERITY,
    KEYS,
    SEVERITIES,
    SYSCTL_NAMES,
    detection_time,
    parse_int,
)

REPORT_FORMAT_VERSION = 1
STATUSES = ("pass", "fail", "error", "unreachable")


@dataclass(frozen=True)
class CheckSpec:
    name: str
    title: str
    source: str  # which registered result feeds it: settings, sockets, timer, reach
    finding_ids: tuple[str, ...]


# One check per assert of the role; every finding id of the collection belongs to exactly one check.
CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "privileges", "The audit ran with root privileges (sees every socket and namespace)", "reach", ()
    ),
    CheckSpec("runtime_values", "Live values match the policy", "settings", ("not_expected", "missing_key")),
    CheckSpec(
        "persistence",
        "The policy survives a reboot (persisted, not overridden, no drift)",
        "settings",
        (
            "not_persisted",
            "overridden_at_boot",
            "drift",
            "conflicting_definitions",
            "unparsable_line",
            "unreadable_file",
        ),
    ),
    CheckSpec(
        "detection_time",
        "A dead peer is detected within max_detection_time",
        "settings",
        ("detection_time_exceeded",),
    ),
    CheckSpec(
        "namespaces",
        "Every network namespace follows the policy",
        "settings",
        ("namespace_defaults", "namespace_unreadable"),
    ),
    CheckSpec(
        "listeners",
        "Services set SO_KEEPALIVE on their sockets",
        "sockets",
        (
            "listener_without_keepalive",
            "connection_without_keepalive",
            "user_timeout_overrides_probes",
            "keepalive_unknown",
            "socket_options_unreadable",
        ),
    ),
    CheckSpec(
        "ghosts", "No idle connection without keepalive (ghost candidate)", "sockets", ("ghost_candidate",)
    ),
    CheckSpec(
        "timer", "The kernel arms the keepalive timer after the configured time", "timer", ("timer_mismatch",)
    ),
)
CHECK_NAMES = tuple(spec.name for spec in CHECKS)
_CHECK_BY_FINDING = {fid: spec.name for spec in CHECKS for fid in spec.finding_ids}
OTHER_CHECK = "runtime_values"  # an unknown finding id (newer module) still lands somewhere visible

NOT_ROOT_LIMITATION = (
    "not root: sockets of other users' processes cannot be tied to a pid or service nor their socket "
    "options read, and other network namespaces cannot be entered"
)


# ---------------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------------
def _as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def _ran(result: Mapping[str, Any]) -> bool:
    return bool(result) and not result.get("skipped") and not result.get("unreachable")


def _failed(result: Mapping[str, Any]) -> bool:
    return bool(result.get("failed")) or bool(result.get("unreachable"))


def normalize_fail_on(fail_on: Iterable[Any]) -> list[str]:
    """fail_on entries are finding ids or severities; unknown entries raise ValueError."""
    known = set(FINDING_SEVERITY) | set(SEVERITIES)
    normalized = []
    for entry in fail_on or ():
        text = str(entry).strip().lower()
        if text not in known:
            raise ValueError(
                f"fail_on entry {entry!r} is neither a severity ({', '.join(SEVERITIES)}) nor a finding id "
                f"({', '.join(sorted(FINDING_SEVERITY))})"
            )
        normalized.append(text)
    return normalized


def finding_fails(finding: Mapping[str, Any], fail_on: Sequence[str]) -> bool:
    return finding.get("id") in fail_on or finding.get("severity") in fail_on


def check_for(finding: Mapping[str, Any]) -> str:
    """The check a finding belongs to.

    By id, except where settings_info uses one id for several scopes: a finding about another network
    namespace (its inode set) belongs to `namespaces`, and a `not_expected` about the boot value (scope
    "boot", or "after boot" in the message when the module gives no scope) belongs to `persistence`.
    """
    fid = finding.get("id")
    source = finding.get("source")
    if source == "settings" and finding.get("namespace") is not None and fid != "unreadable_file":
        return "namespaces"
    if fid == "not_expected":
        scope = finding.get("scope")
        if scope == "boot" or (scope is None and "after boot" in str(finding.get("message", ""))):
            return "persistence"
    return _CHECK_BY_FINDING.get(str(fid), OTHER_CHECK)


def format_socket(socket: Any) -> str:
    """A socket as 'local -> remote (state)' whatever shape the module gave it."""
    if socket is None:
        return ""
    if not isinstance(socket, Mapping):
        return str(socket)
    local = socket.get("local") or socket.get("src") or socket.get("local_address")
    remote = socket.get("remote") or socket.get("dst") or socket.get("remote_address")
    if local is None and socket.get("local_port") is not None:
        local = f"{socket.get('local_ip', '*')}:{socket.get('local_port')}"
    if remote is None and socket.get("remote_port") is not None:
        remote = f"{socket.get('remote_ip', '*')}:{socket.get('remote_port')}"
    text = " -> ".join(str(part) for part in (local, remote) if part not in (None, ""))
    state = socket.get("state")
    if state:
        text = f"{text} ({state})" if text else str(state)
    if not text:
        text = ", ".join(f"{k}={v}" for k, v in sorted(socket.items()) if not isinstance(v, (Mapping, list)))
    return text


def format_where(finding: Mapping[str, Any], message: str = "") -> str:
    """Where a finding was seen: file:line, namespace, service, pid, socket; parts the message already
    names are left out."""
    parts: list[tuple[str, str]] = []  # (label, value)
    if finding.get("file"):
        line = f":{finding['line']}" if finding.get("line") else ""
        parts.append(("", f"{finding['file']}{line}"))
    if finding.get("namespace") is not None:
        parts.append(("netns ", str(finding["namespace"])))
    if finding.get("service"):
        parts.append(("service ", str(finding["service"])))
    elif finding.get("comm"):
        parts.append(("process ", str(finding["comm"])))
    if finding.get("pid") is not None:
        parts.append(("pid ", str(finding["pid"])))
    socket = format_socket(finding.get("socket"))
    if socket:
        parts.append(("socket ", socket))
    elif finding.get("port") is not None:
        parts.append(("port ", str(finding["port"])))
    # a file location or socket inside the message, or a message that starts with the service, says it already
    return ", ".join(
        label + value
        for label, value in parts
        if not (
            (label in ("", "socket ") and value in message)
            or (label == "service " and message.startswith(value))
        )
    )


def format_finding(finding: Mapping[str, Any]) -> str:
    message = str(finding.get("message", ""))
    where = format_where(finding, message)
    key = f" {finding['key']}" if finding.get("key") else ""
    text = f"[{finding.get('severity', 'info')}] {finding.get('id')}{key}: {message}"
    return f"{text} (at {where})" if where else text


def _normalize_finding(raw: Any, source: str) -> dict[str, Any]:
    finding = _as_dict(raw)
    finding.setdefault("id", "unknown")
    if not finding.get("severity"):
        finding["severity"] = FINDING_SEVERITY.get(finding["id"], "info")
    finding.setdefault("message", "")
    finding["source"] = source
    return finding


# ---------------------------------------------------------------------------------------------------
# per-host evaluation
# ---------------------------------------------------------------------------------------------------
def _values(settings: Mapping[str, Any]) -> dict[str, dict[str, int | None]]:
    per_key = _as_dict(settings.get("settings"))
    values: dict[str, dict[str, int | None]] = {"runtime": {}, "boot": {}}
    for key in KEYS:
        entry = _as_dict(per_key.get(key) or per_key.get(SYSCTL_NAMES[key]))
        values["runtime"][key] = parse_int(entry.get("runtime")) if entry.get("runtime") is not None else None
        values["boot"][key] = parse_int(entry.get("boot")) if entry.get("boot") is not None else None
    return values


def _boot_sources(settings: Mapping[str, Any]) -> dict[str, Any]:
    per_key = _as_dict(settings.get("settings"))
    return {key: _as_dict(per_key.get(key)).get("boot_source") for key in KEYS}


def _detection(settings: Mapping[str, Any], values: Mapping[str, Mapping[str, int | None]]) -> dict[str, Any]:
    reported = _as_dict(settings.get("detection_time"))
    result = {}
    for when in ("runtime", "boot"):
        value = reported.get(when)
        if value is None:
            v = values[when]
            value = detection_time(v.get("time"), v.get("intvl"), v.get("probes"))
        result[when] = value
    return result


def _source_text(source: Any) -> str:
    """settings_info's boot_source: {file, line} of the winning definition, or "kernel_default"."""
    if isinstance(source, Mapping) and source.get("file"):
        line = f":{source['line']}" if source.get("line") else ""
        return f"from {source['file']}{line}"
    if source == "kernel_default":
        return "kernel default"
    return f"from {source}"


def _triple(values: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={values.get(key) if values.get(key) is not None else '?'}" for key in KEYS)


def _timer_findings(timer: Mapping[str, Any], expected_time: int | None) -> list[dict[str, Any]]:
    findings = [_normalize_finding(f, "timer") for f in _as_list(timer.get("findings"))]
    if not findings and _ran(timer) and not _failed(timer) and timer.get("ok") is False:
        findings.append(
            _normalize_finding(
                {
                    "id": "timer_mismatch",
                    "message": (
                        f"keepalive timer of a fresh loopback connection expires after "
                        f"{timer.get('observed_time', timer.get('observed'))} s, "
                        f"expected {timer.get('expected_time', expected_time)} s"
                    ),
                },
                "timer",
            )
        )
    return findings


def _check_header(name: str, policy: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    expected = _as_dict(policy.get("expected"))
    values = facts["values"]
    det = facts["detection_time"]
    if name == "privileges":
        return f"expected to run as root; found uid {facts.get('uid')}"
    if name == "runtime_values":
        return f"expected {_triple(expected)}; found live {_triple(values['runtime'])}"
    if name == "persistence":
        sources = ", ".join(f"{k} {_source_text(v)}" for k, v in facts["boot_sources"].items() if v)
        found = f"found after reboot {_triple(values['boot'])}"
        return f"expected {_triple(expected)} after reboot; {found}" + (f" ({sources})" if sources else "")
    if name == "detection_time":
        return (
            f"expected a dead peer detected within {policy.get('max_detection_time')} s; found "
            f"{det.get('runtime')} s live and {det.get('boot')} s after reboot (time + intvl * probes)"
        )
    if name == "namespaces":
        found = f"found {facts['namespace_count']} namespace(s)"
        return f"expected every network namespace at {_triple(expected)}; {found}"
    if name == "listeners":
        return "expected every listener and connection of a non-allowlisted service to set SO_KEEPALIVE"
    if name == "ghosts":
        return f"expected no connection without keepalive idle longer than {policy.get('idle_threshold')} s"
    if name == "timer":
        return (
            f"expected a fresh loopback connection's keepalive timer to expire after "
            f"{expected.get('time')} s; found {facts['timer_observed']}"
        )
    return ""


def _make_check(
    spec: CheckSpec,
    status: str,
    findings: list[dict[str, Any]],
    fail_on: Sequence[str],
    header: str,
    error: str | None = None,
) -> dict[str, Any]:
    failing = [f for f in findings if finding_fails(f, fail_on)]
    other = [f for f in findings if not finding_fails(f, fail_on)]
    if status == "pass" and failing:
        status = "fail"
    elif status == "pass" and other:
        status = "warn"
    lines = [header] if header else []
    if error:
        lines.append(f"could not check: {error}")
    if failing:
        lines.append(
            f"{len(failing)} finding(s) fail the policy (fail_on: {', '.join(fail_on) or 'nothing'}):"
        )
        lines.extend(f"  - {format_finding(f)}" for f in failing)
    if other:
        lines.append(f"{len(other)} finding(s) below the fail_on threshold:")
        lines.extend(f"  - {format_finding(f)}" for f in other)
    return {
        "name": spec.name,
        "title": spec.title,
        "status": status,
        "ok": status in ("pass", "warn", "skipped"),
        "failing": failing,
        "other": other,
        "message": "\n".join(lines),
    }


def _services_without_keepalive(
    findings: Iterable[Mapping[str, Any]], service_facts: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    """Services with listeners or connections lacking keepalive, with sockets_info's hint to fix each."""
    hints = {_as_dict(svc).get("name"): _as_dict(svc).get("hint") for svc in service_facts}
    services: dict[str, dict[str, Any]] = {}
    for finding in findings:
        if finding.get("id") not in ("listener_without_keepalive", "connection_without_keepalive"):
            continue
        name = str(
            finding.get("service") or finding.get("comm") or "unknown (no permission to see the owner)"
        )
        entry = services.setdefault(
            name, {"service": name, "listeners": [], "connections": 0, "pids": [], "hint": hints.get(name)}
        )
        if finding["id"] == "listener_without_keepalive":
            entry["listeners"].append(format_socket(finding.get("socket")) or str(finding.get("port", "?")))
        else:
            entry["connections"] += int(finding.get("count") or 1)
        pid = finding.get("pid")
        if pid is not None and pid not in entry["pids"]:
            entry["pids"].append(pid)
    return sorted(services.values(), key=lambda s: s["service"])


def _ghosts(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ghost candidates; sockets_info aggregates them per service (count, up to 10 example sockets)."""
    return [
        {
            "service": f.get("service") or f.get("comm"),
            "pid": f.get("pid"),
            "count": int(f.get("count") or 1),
            "socket": format_socket(f.get("socket")),
            "sockets": [format_socket(s) for s in _as_list(f.get("sockets"))]
            or [format_socket(f.get("socket"))],
            "idle": f.get("idle", f.get("idle_seconds")),
            "message": f.get("message"),
        }
        for f in findings
        if f.get("id") == "ghost_candidate"
    ]


def _error_text(result: Mapping[str, Any]) -> str:
    if result.get("unreachable"):
        return "host unreachable: " + str(result.get("msg", ""))
    return str(result.get("msg") or result.get("module_stderr") or "module failed")


def evaluate_host(raw: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    """Turn one host's registered results into its report record: checks, verdict, facts.

    raw: {host, reach, settings, sockets, timer} (registered results; skipped or failed ones allowed).
    policy: {expected: {time,intvl,probes}, max_detection_time, fail_on, require_root, idle_threshold, ...}.
    """
    fail_on = normalize_fail_on(policy.get("fail_on", ("high", "medium")))
    reach = _as_dict(raw.get("reach"))
    results = {name: _as_dict(raw.get(name)) for name in ("settings", "sockets", "timer")}
    record: dict[str, Any] = {
        "format": REPORT_FORMAT_VERSION,
        "host": str(raw.get("host", "")),
        "policy": dict(policy, fail_on=fail_on),
        "limitations": [],
        "errors": [],
    }
    facts = _as_dict(reach.get("ansible_facts"))
    uid = parse_int(facts.get("ansible_user_uid")) if facts.get("ansible_user_uid") is not None else None
    record["uid"] = uid
    record["user"] = facts.get("ansible_user_id")
    record["privileged"] = None if uid is None else uid == 0

    if reach.get("unreachable") or not reach:
        record.update(
            status="unreachable",
            checks=[],
            findings=[],
            values={"runtime": {}, "boot": {}},
            detection_time={},
            services_without_keepalive=[],
            ghost_candidates=[],
            facts={},
        )
        record["errors"].append(
            {"step": "connect", "msg": _error_text(reach) if reach else "no result (not run)"}
        )
        record["checks"] = [
            {
                "name": s.name,
                "title": s.title,
                "status": "error",
                "ok": False,
                "failing": [],
                "other": [],
                "message": f"host unreachable: {reach.get('msg', 'no result')}",
            }
            for s in CHECKS
        ]
        record["summary"] = _host_summary(record)
        record["message"] = failure_message(record)
        return record
    if _failed(reach):
        record["errors"].append({"step": "setup", "msg": _error_text(reach)})

    findings_by_check: dict[str, list[dict[str, Any]]] = {name: [] for name in CHECK_NAMES}
    all_findings: list[dict[str, Any]] = []
    for source in ("settings", "sockets"):
        for item in _as_list(results[source].get("findings")):
            finding = _normalize_finding(item, source)
            all_findings.append(finding)
            findings_by_check[check_for(finding)].append(finding)
    expected = _as_dict(policy.get("expected"))
    for finding in _timer_findings(results["timer"], expected.get("time")):
        all_findings.append(finding)
        findings_by_check["timer"].append(finding)

    values = _values(results["settings"])
    timer = results["timer"]
    observed = timer.get("observed_time", timer.get("observed"))
    context = {
        "uid": uid,
        "values": values,
        "boot_sources": _boot_sources(results["settings"]),
        "detection_time": _detection(results["settings"], values),
        "namespace_count": len(_as_list(results["settings"].get("namespaces"))),
        "timer_observed": f"{observed} s" if observed is not None else "no observation",
    }

    checks = []
    for spec in CHECKS:
        header = _check_header(spec.name, policy, context)
        if spec.source == "reach":
            status = "pass"
            if record["privileged"] is False:
                status = "fail" if policy.get("require_root") else "warn"
            elif record["privileged"] is None:
                status = "error" if policy.get("require_root") else "warn"
            check = _make_check(spec, status, [], fail_on, header)
            if status == "warn":
                check["message"] += "\n" + (
                    NOT_ROOT_LIMITATION
                    if record["privileged"] is False
                    else "could not tell which user ran the audit"
                )
            checks.append(check)
            continue
        result = results[spec.source]
        if not _ran(result):
            checks.append(
                _make_check(
                    spec,
                    "error",
                    findings_by_check[spec.name],
                    fail_on,
                    header,
                    error=f"{spec.source} was not gathered",
                )
            )
        elif _failed(result):
            checks.append(
                _make_check(
                    spec, "error", findings_by_check[spec.name], fail_on, header, error=_error_text(result)
                )
            )
        else:
            checks.append(_make_check(spec, "pass", findings_by_check[spec.name], fail_on, header))

    for source, result in results.items():
        if _ran(result) and _failed(result):
            record["errors"].append({"step": source, "msg": _error_text(result)})
        for warning in _as_list(result.get("warnings")):
            record["limitations"].append(f"{source}: {warning}")
    if record["privileged"] is False:
        record["limitations"].insert(0, NOT_ROOT_LIMITATION)

    statuses = {c["status"] for c in checks}
    if "error" in statuses or record["errors"]:
        status = "error"
    elif "fail" in statuses:
        status = "fail"
    else:
        status = "pass"
    record.update(
        status=status,
        checks=checks,
        findings=all_findings,
        values=values,
        detection_time=dict(context["detection_time"], policy=policy.get("max_detection_time")),
        services_without_keepalive=_services_without_keepalive(
            all_findings, _as_list(results["sockets"].get("services"))
        ),
        ghost_candidates=_ghosts(all_findings),
        facts={name: _strip_result(result) for name, result in results.items()},
    )
    record["summary"] = _host_summary(record)
    record["message"] = failure_message(record)
    return record


_RESULT_NOISE = ("invocation", "changed", "failed", "skipped", "_ansible_no_log", "_ansible_verbose_always")


def _strip_result(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in _RESULT_NOISE}


def _host_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    severities = {sev: 0 for sev in SEVERITIES}
    for finding in record.get("findings", ()):
        sev = finding.get("severity", "info")
        severities[sev] = severities.get(sev, 0) + 1
    failed_checks = [c["name"] for c in record.get("checks", ()) if not c["ok"]]
    return {
        "severities": severities,
        "failed_checks": failed_checks,
        "warned_checks": [c["name"] for c in record.get("checks", ()) if c["status"] == "warn"],
    }


def failure_message(record: Mapping[str, Any]) -> str:
    """The one-paragraph reason a host fails (used by the role's last task)."""
    if record.get("status") == "pass":
        return f"{record.get('host')}: compliant"
    if record.get("status") == "unreachable":
        return f"{record.get('host')}: unreachable, nothing verified ({record['errors'][0]['msg']})"
    bad = [c for c in record.get("checks", ()) if not c["ok"]]
    lines = [f"{record.get('host')}: {len(bad)} check(s) failed: {', '.join(c['name'] for c in bad)}"]
    for check in bad:
        lines.append(f"* {check['name']} ({check['status']}): {check['message']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# fleet reports
# ---------------------------------------------------------------------------------------------------
def missing_host_record(host: str, policy: Mapping[str, Any]) -> dict[str, Any]:
    """A host of the play that left no record: it was unreachable or failed before the role ran."""
    return evaluate_host(
        {
            "host": host,
            "reach": {"unreachable": True, "msg": "no verification result (unreachable or failed earlier)"},
        },
        policy,
    )


def summarize_fleet(
    records: Sequence[Mapping[str, Any]], policy: Mapping[str, Any], generated: str = ""
) -> dict[str, Any]:
    counts = {status: 0 for status in STATUSES}
    severities = {sev: 0 for sev in SEVERITIES}
    check_failures = {name: 0 for name in CHECK_NAMES}
    not_root = []
    for record in records:
        counts[record["status"]] = counts.get(record["status"], 0) + 1
        for sev, n in record["summary"]["severities"].items():
            severities[sev] = severities.get(sev, 0) + n
        for name in record["summary"]["failed_checks"]:
            check_failures[name] = check_failures.get(name, 0) + 1
        if record.get("privileged") is False:
            not_root.append(record["host"])
    return {
        "format": REPORT_FORMAT_VERSION,
        "generated": generated,
        "policy": dict(policy),
        "hosts": len(records),
        "status": counts,
        "compliant": counts["pass"] == len(records) and len(records) > 0,
        "severities": severities,
        "check_failures": check_failures,
        "not_root": not_root,
        "unreachable": [r["host"] for r in records if r["status"] == "unreachable"],
        "host_status": {r["host"]: r["status"] for r in records},
    }


_STATUS_ORDER = {"unreachable": 0, "error": 1, "fail": 2, "pass": 3}


def _ordered(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(records, key=lambda r: (_STATUS_ORDER.get(r["status"], 9), r["host"]))


def _fail_on_text(policy: Mapping[str, Any]) -> str:
    return ", ".join(policy.get("fail_on", ())) or "nothing"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _det(record: Mapping[str, Any], when: str) -> str:
    value = record.get("detection_time", {}).get(when)
    return "?" if value is None else f"{value} s"


def _services_text(record: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{s['service']} ({', '.join(s['listeners']) or str(s['connections']) + ' conn'})"
        for s in record.get("services_without_keepalive", ())
    )


def render_markdown(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    policy = summary["policy"]
    expected = _as_dict(policy.get("expected"))
    st = summary["status"]
    out = [
        "# TCP keepalive audit (tcp.keepalive.verify)",
        "",
        f"Generated {summary['generated']}. Policy: {_triple(expected)}, max detection time "
        f"{policy.get('max_detection_time')} s, fail_on: {_fail_on_text(policy)}.",
        "",
        f"**{summary['hosts']} host(s): {st['pass']} compliant, {st['fail']} non-compliant, "
        f"{st['error']} with errors, {st['unreachable']} unreachable.**",
        "",
        "Findings by severity: " + ", ".join(f"{k} {v}" for k, v in summary["severities"].items()),
        "",
        "| Check | Hosts failing |",
        "|---|---|",
    ]
    out.extend(f"| {name} | {n} |" for name, n in summary["check_failures"].items())
    if summary["not_root"]:
        out += ["", f"Audited without root (limited view): {', '.join(summary['not_root'])}"]
    out += [
        "",
        "## Hosts",
        "",
        "| Host | Status | Live time/intvl/probes | After reboot | Detection live / boot (policy) "
        "| Findings high/medium/low/info | Failed checks | Services without keepalive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in _ordered(records):
        v = r.get("values", {})
        sev = r["summary"]["severities"]
        link = f"[{_md(r['host'])}](hosts/{host_filename(r['host'])})"
        not_root = " (not root)" if r.get("privileged") is False else ""
        out.append(
            f"| {link} | {r['status']}{not_root} "
            f"| {_md(_triple(v.get('runtime', {})))} | {_md(_triple(v.get('boot', {})))} "
            f"| {_det(r, 'runtime')} / {_det(r, 'boot')} ({policy.get('max_detection_time')} s) "
            f"| {sev.get('high', 0)}/{sev.get('medium', 0)}/{sev.get('low', 0)}/{sev.get('info', 0)} "
            f"| {_md(', '.join(r['summary']['failed_checks']))} | {_md(_services_text(r))} |"
        )
    ghosts = [(r["host"], g) for r in records for g in r.get("ghost_candidates", ())]
    if ghosts:
        out += [
            "",
            "## Ghost candidates",
            "",
            "| Host | Service | Pid | Connections | Examples |",
            "|---|---|---|---|---|",
        ]
        out.extend(
            f"| {_md(h)} | {_md(g['service'])} | {g['pid']} | {g['count']} | {_md(', '.join(g['sockets']))} |"
            for h, g in ghosts
        )
    out.append("")
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#eee;text-align:left}.pass{color:#176117}.fail{color:#a11}.error,.unreachable{color:#a60}
.badge{display:inline-block;min-width:1.6em;text-align:center;border-radius:3px;padding:0 3px;margin:0 1px;
color:#fff}
.high{background:#b00}.medium{background:#d77a00}.low{background:#777}.info{background:#27c}.zero{background:#ccc}
.bar{position:relative;width:160px;height:12px;background:#eee;display:inline-block;vertical-align:middle}
.bar span{position:absolute;left:0;top:0;bottom:0;background:#4a4}.bar span.over{background:#c33}
.bar i{position:absolute;top:-2px;bottom:-2px;width:2px;background:#000}
details{margin:2px 0}summary{cursor:pointer}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _bar(value: int | None, limit: int | None) -> str:
    """Detection time against the policy: full scale is twice the limit; the black tick marks the limit."""
    if value is None or not limit:
        return "?"
    scale = 2 * int(limit)
    width = min(100.0, 100.0 * int(value) / scale)
    over = " over" if int(value) > int(limit) else ""
    return (
        f'<span class="bar" title="{value} s (policy {limit} s)"><span class="{over.strip()}" '
        f'style="width:{width:.1f}%"></span><i style="left:50%"></i></span> {value} s'
    )


def _badges(severities: Mapping[str, int]) -> str:
    return "".join(
        f'<span class="badge {sev if severities.get(sev) else "zero"}" title="{sev}">'
        f"{severities.get(sev, 0)}</span>"
        for sev in SEVERITIES
    )


def render_html(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    """One self-contained page: inline CSS, no script, no external reference."""
    policy = summary["policy"]
    limit = policy.get("max_detection_time")
    st = summary["status"]
    rows = []
    for r in _ordered(records):
        failed = r["summary"]["failed_checks"]
        details = "".join(
            f"<details><summary>{_e(c['name'])}: {_e(c['status'])}</summary>"
            f"<pre>{_e(c['message'])}</pre></details>"
            for c in r.get("checks", ())
            if c["status"] != "pass"
        )
        services = "<br>".join(
            _e(f"{s['service']}: {', '.join(s['listeners']) or s['connections']}")
            for s in r.get("services_without_keepalive", ())
        )
        rows.append(
            f'<tr><td><a href="hosts/{_e(host_filename(r["host"]))}">{_e(r["host"])}</a></td>'
            f'<td class="{_e(r["status"])}">{_e(r["status"])}'
            f"{' (not root)' if r.get('privileged') is False else ''}</td>"
            f"<td>{_bar(r.get('detection_time', {}).get('runtime'), limit)}</td>"
            f"<td>{_bar(r.get('detection_time', {}).get('boot'), limit)}</td>"
            f"<td>{_badges(r['summary']['severities'])}</td><td>{_e(', '.join(failed))}{details}</td>"
            f"<td>{services}</td></tr>"
        )
    check_rows = "".join(
        f"<tr><td>{_e(n)}</td><td>{c}</td></tr>" for n, c in summary["check_failures"].items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>TCP keepalive audit</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>TCP keepalive audit</h1>"
        f"<p>Generated {_e(summary['generated'])}. Policy: {_e(_triple(_as_dict(policy.get('expected'))))}, "
        f"max detection time {_e(limit)} s, fail_on: {_e(_fail_on_text(policy))}.</p>"
        f'<p><b>{summary["hosts"]}</b> host(s): <span class="pass">{st["pass"]} compliant</span>, '
        f'<span class="fail">{st["fail"]} non-compliant</span>, <span class="error">{st["error"]} with errors'
        f'</span>, <span class="unreachable">{st["unreachable"]} unreachable</span>. '
        f"Findings by severity (high, medium, low, info): {_badges(summary['severities'])}</p>"
        f"<table><tr><th>Check</th><th>Hosts failing</th></tr>{check_rows}</table>"
        "<h2>Hosts</h2><table><tr><th>Host</th><th>Status</th><th>Detection time live (tick: policy)</th>"
        "<th>Detection time after reboot</th><th>Findings by severity</th><th>Failed or warned checks</th>"
        "<th>Services with sockets without keepalive</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )


def render_junit(records: Sequence[Mapping[str, Any]]) -> str:
    """JUnit XML: one testsuite per run, one testcase per host and check."""
    cases = []
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in sorted(records, key=lambda r: r["host"]):
        for check in r.get("checks", ()):
            case = ET.Element("testcase", {"classname": r["host"], "name": check["name"], "time": "0"})
            totals["tests"] += 1
            status = check["status"]
            first = (check.get("failing") or [{}])[0]
            if status == "fail":
                totals["failures"] += 1
                el = ET.SubElement(
                    case,
                    "failure",
                    {
                        "message": format_finding(first) if first else check["title"],
                        "type": first.get("id", check["name"]),
                    },
                )
                el.text = check["message"]
            elif status == "error":
                totals["errors"] += 1
                el = ET.SubElement(
                    case,
                    "error",
                    {
                        "message": check["message"].splitlines()[-1] if check["message"] else "error",
                        "type": r["status"],
                    },
                )
                el.text = check["message"]
            elif status == "skipped":
                totals["skipped"] += 1
                ET.SubElement(case, "skipped", {"message": check["message"]})
            elif check["message"]:
                ET.SubElement(case, "system-out").text = check["message"]
            cases.append(case)
    attrs = {k: str(v) for k, v in totals.items()}
    root = ET.Element("testsuites", dict(attrs, name="tcp.keepalive.verify"))
    suite = ET.SubElement(root, "testsuite", dict(attrs, name="tcp.keepalive.verify", time="0"))
    suite.extend(cases)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


def host_filename(host: str) -> str:
    """A safe, distinct file name for a host's JSON report."""
    safe = _UNSAFE.sub("_", host).lstrip(".") or "_"
    if safe != host:
        safe += "-" + format(abs(hash_text(host)), "x")[:8]
    return safe + ".json"


def hash_text(text: str) -> int:
    """Stable (not salted like hash()) 32-bit FNV-1a of a string."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _write(path: str, text: str) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_reports(
    report_dir: str, records: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]
) -> dict[str, Any]:
    """Write hosts/<host>.json, fleet.json, fleet.md, fleet.html, junit.xml; return their paths."""
    report_dir = os.path.abspath(os.path.expanduser(report_dir))
    hosts_dir = os.path.join(report_dir, "hosts")
    os.makedirs(hosts_dir, exist_ok=True)
    host_files = {}
    for record in records:
        path = os.path.join(hosts_dir, host_filename(record["host"]))
        _write(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        host_files[record["host"]] = path
    fleet = dict(summary, host_files={h: os.path.relpath(p, report_dir) for h, p in host_files.items()})
    paths = {
        "report_dir": report_dir,
        "hosts_dir": hosts_dir,
        "json": os.path.join(report_dir, "fleet.json"),
        "markdown": os.path.join(report_dir, "fleet.md"),
        "html": os.path.join(report_dir, "fleet.html"),
        "junit": os.path.join(report_dir, "junit.xml"),
    }
    _write(paths["json"], json.dumps(fleet, indent=2, sort_keys=True, default=str) + "\n")
    _write(paths["markdown"], render_markdown(summary, records))
    _write(paths["html"], render_html(summary, records))
    _write(paths["junit"], render_junit(records))
    paths["host_files"] = host_files
    return paths
