# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side checks of the verify role: one host's facts -> its checks, verdict and record.

Private plugin_utils (leading underscore): not a public API. Pure functions over plain dicts, no I/O.
The report pipeline is three modules: _checks (this file: per-host evaluation), _records (the record
directory: one JSON file per host, the fleet built from every record in it) and _render (one renderer
per report format, in a registry).

Input per host ("raw"): either the registered result of tcp.keepalive.audit_info (key `audit`: settings,
sockets, timer and the effective user from one module call), or the registered results of setup (reach),
settings_info, sockets_info and timer_info. Output ("record"): a JSON-ready dict with the checks, the
verdict and all facts.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    FINDING_SCOPES,
    FINDING_SEVERITY,
    FINDINGS,
    KEYS,
    SEVERITIES,
    SYSCTL_NAMES,
    detection_time,
    parse_int,
)

REPORT_FORMAT_VERSION = 2
STATUSES = ("pass", "fail", "error", "unreachable")
SCOPES = FINDING_SCOPES  # ("runtime", "boot")


class _CheckBase(TypedDict):
    name: str
    title: str
    status: str  # pass | warn | fail | error | skipped
    ok: bool
    failing: list[dict[str, Any]]  # findings
    other: list[dict[str, Any]]
    message: str


class Check(_CheckBase, total=False):
    """One entry of a host record's `checks` (read by _records, _render and the role's assert loop)."""

    waived: list[dict[str, Any]]  # absent on the checks of an unreachable host


class HostSummary(TypedDict):
    """A host record's `summary` (summed over the fleet by _records.summarize_fleet)."""

    waived: int
    expired_exceptions: int
    severities: dict[str, int]
    failed_checks: list[str]
    warned_checks: list[str]


class CheckContext(TypedDict):
    """What evaluate_host found, for the `expected ...; found ...` header of each check."""

    uid: int | None
    values: dict[str, dict[str, int | None]]  # runtime/boot -> key -> value
    boot_sources: dict[str, Any]  # key -> settings_info boot_source ({file, line} or "kernel_default")
    detection_time: dict[str, Any]  # runtime/boot -> seconds
    namespace_count: int
    timer_observed: str


@dataclass(frozen=True)
class CheckSpec:
    name: str
    title: str
    source: str  # which gathered result feeds it: settings, sockets, timer, reach


# One check per aspect of the policy; the verify role asserts each in one loop.
CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("privileges", "The audit ran with root privileges (sees every socket and namespace)", "reach"),
    CheckSpec("runtime_values", "Live values match the policy", "settings"),
    CheckSpec(
        "persistence", "The policy survives a reboot (persisted, not overridden, no drift)", "settings"
    ),
    CheckSpec("detection_time", "A dead peer is detected within max_detection_time", "settings"),
    CheckSpec("namespaces", "Every network namespace follows the policy", "settings"),
    CheckSpec("listeners", "Services set SO_KEEPALIVE on their sockets", "sockets"),
    CheckSpec("ghosts", "No idle connection without keepalive (ghost candidate)", "sockets"),
    CheckSpec("timer", "The kernel arms the keepalive timer after the configured time", "timer"),
)
CHECK_NAMES = tuple(spec.name for spec in CHECKS)


@dataclass(frozen=True)
class FindingRoute:
    """Where a finding id goes: its check, its default scope, and, for ids the settings module emits for
    both the live and the boot values, the check of its boot-scoped occurrences."""

    check: str
    scope: str
    boot_check: str | None = None


# Every finding id of the collection -> exactly one check per scope, derived from THE table,
# _common.FINDINGS (id -> severity, check, scope, boot_check); tests/unit/plugins/plugin_utils/
# test__report_pipeline.py checks that its checks are CHECK_NAMES. A finding's own `scope` field (runtime or
# boot) decides between `check` and `boot_check`; nothing is routed by the text of a message. A settings
# finding about another network namespace (its `namespace` inode set) belongs to `namespaces`.
FINDING_ROUTES: dict[str, FindingRoute] = {
    fid: FindingRoute(kind.check, kind.scope, boot_check=kind.boot_check) for fid, kind in FINDINGS.items()
}
OTHER_CHECK = "runtime_values"  # an unknown finding id (newer module) still lands somewhere visible
FINDING_CHECKS: dict[str, tuple[str, ...]] = {
    fid: tuple(dict.fromkeys(c for c in (route.check, route.boot_check) if c))
    for fid, route in FINDING_ROUTES.items()
}

NOT_ROOT_LIMITATION = (
    "not root: sockets of other users' processes cannot be tied to a pid or service nor their socket "
    "options read, and other network namespaces cannot be entered"
)


def scope_of(finding: Mapping[str, Any]) -> str:
    """The finding's scope: its own `scope` field, else the default of its id."""
    scope = finding.get("scope")
    if scope in SCOPES:
        return str(scope)
    route = FINDING_ROUTES.get(str(finding.get("id")))
    return route.scope if route else "runtime"


def check_for(finding: Mapping[str, Any]) -> str:
    """The check a finding belongs to, from FINDING_ROUTES and the finding's fields (never its message)."""
    fid = str(finding.get("id"))
    if (
        finding.get("source") == "settings"
        and finding.get("namespace") is not None
        and fid != "unreadable_file"
    ):
        return "namespaces"
    route = FINDING_ROUTES.get(fid)
    if route is None:
        return OTHER_CHECK
    if route.boot_check and scope_of(finding) == "boot":
        return route.boot_check
    return route.check


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
    """A finding fails its check when its id or severity is in fail_on, or when the exception that waived
    it has expired; a finding under a valid exception never fails."""
    if finding.get("waived"):
        return False
    if finding.get("waiver_expired"):
        return True
    return finding.get("id") in fail_on or finding.get("severity") in fail_on


# ---------------------------------------------------------------------------------------------------
# compliance exceptions (waivers): reason + expiry per host pattern and finding id or service
# ---------------------------------------------------------------------------------------------------
_EXCEPTION_KEYS = ("hosts", "finding", "service", "reason", "expires")


def _parse_date(value: Any, where: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{where}: expires must be a date YYYY-MM-DD, got {value!r}") from None


def normalize_exceptions(entries: Any) -> list[dict[str, Any]]:
    """Validate tcp_keepalive_verify_exceptions; ValueError naming the entry and the field otherwise."""
    if entries in (None, ""):
        return []
    if not isinstance(entries, (list, tuple)):
        raise ValueError(f"exceptions must be a list of dicts, got {type(entries).__name__}")
    result = []
    for index, entry in enumerate(entries):
        where = f"exceptions[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be a dict with reason, expires and finding or service")
        unknown = sorted(str(k) for k in entry if k not in _EXCEPTION_KEYS)
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_EXCEPTION_KEYS)})"
            )
        finding = str(entry.get("finding") or "").strip()
        service = str(entry.get("service") or "").strip()
        if not finding and not service:
            raise ValueError(f"{where}: give the finding id or the service it waives (or both)")
        if finding and finding != "*" and finding not in FINDING_ROUTES:
            raise ValueError(
                f"{where}: finding {finding!r} is not a finding id ({', '.join(sorted(FINDING_ROUTES))})"
            )
        reason = str(entry.get("reason") or "").strip()
        if not reason:
            raise ValueError(
                f"{where}: reason is required (why the finding is accepted, and who accepted it)"
            )
        if entry.get("expires") in (None, ""):
            raise ValueError(
                f"{where}: expires is required (a date YYYY-MM-DD; exceptions must not be for ever)"
            )
        expires = _parse_date(entry["expires"], where)
        result.append(
            {
                "hosts": str(entry.get("hosts") or "*"),
                "finding": finding or "*",
                "service": service or None,
                "reason": reason,
                "expires": expires.isoformat(),
            }
        )
    return result


def _exception_matches(exception: Mapping[str, Any], host: str, finding: Mapping[str, Any]) -> bool:
    if not fnmatch.fnmatchcase(host, exception["hosts"]):
        return False
    if exception["finding"] != "*" and exception["finding"] != finding.get("id"):
        return False
    if exception["service"]:
        name = str(finding.get("service") or finding.get("comm") or "")
        return bool(name) and fnmatch.fnmatchcase(name, exception["service"])
    return True


def apply_exceptions(
    host: str,
    findings: Iterable[dict[str, Any]],
    exceptions: Sequence[Mapping[str, Any]],
    today: datetime.date,
) -> None:
    """Mark each finding an exception covers: `waived` while it holds, `waiver_expired` after its date."""
    for finding in findings:
        for exception in exceptions:
            if not _exception_matches(exception, host, finding):
                continue
            note = {k: exception[k] for k in ("hosts", "finding", "service", "reason", "expires")}
            if datetime.date.fromisoformat(exception["expires"]) >= today:
                finding["waived"] = note
            else:
                finding["waiver_expired"] = note
            break


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
    expired = finding.get("waiver_expired")
    if expired:
        text += f" [exception expired {expired.get('expires')}: {expired.get('reason')}]"
    return f"{text} (at {where})" if where else text


def _normalize_finding(raw: Any, source: str) -> dict[str, Any]:
    finding = _as_dict(raw)
    finding.setdefault("id", "unknown")
    if not finding.get("severity"):
        finding["severity"] = FINDING_SEVERITY.get(finding["id"], "info")
    finding.setdefault("message", "")
    finding["source"] = source
    finding["scope"] = scope_of(finding)
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


def _check_header(name: str, policy: Mapping[str, Any], facts: CheckContext) -> str:
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
) -> Check:
    waived = [f for f in findings if f.get("waived")]
    failing = [f for f in findings if finding_fails(f, fail_on)]
    other = [f for f in findings if not f.get("waived") and not finding_fails(f, fail_on)]
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
    if waived:
        lines.append(f"{len(waived)} finding(s) waived by a compliance exception:")
        lines.extend(
            f"  - {format_finding(f)} [waived until {f['waived']['expires']}: {f['waived']['reason']}]"
            for f in waived
        )
    return {
        "name": spec.name,
        "title": spec.title,
        "status": status,
        "ok": status in ("pass", "warn", "skipped"),
        "failing": failing,
        "other": other,
        "waived": waived,
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


def _split_audit(audit: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """tcp.keepalive.audit_info's one result -> (reach, {settings, sockets, timer}) as the checks read them.

    An unreachable host or a module that did not run at all (no Python, crashed) fails every part."""
    if not audit or audit.get("unreachable"):
        return dict(audit, unreachable=True) if audit else {}, {
            n: {} for n in ("settings", "sockets", "timer")
        }
    parts = {name: _as_dict(audit.get(name)) for name in ("settings", "sockets", "timer")}
    if audit.get("failed") and not any(parts.values()):
        error = {"failed": True, "msg": _error_text(audit)}
        return {"failed": True, "msg": _error_text(audit)}, {n: dict(error) for n in parts}
    user = _as_dict(audit.get("user"))
    reach = {"ansible_facts": {"ansible_user_uid": user.get("uid"), "ansible_user_id": user.get("name")}}
    return reach, parts


def evaluate_host(raw: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    """Turn one host's registered results into its report record: checks, verdict, facts.

    raw: {host, reach, settings, sockets, timer} (registered results; skipped or failed ones allowed).
    policy: {expected: {time,intvl,probes}, max_detection_time, fail_on, require_root, idle_threshold, ...}.
    """
    fail_on = normalize_fail_on(policy.get("fail_on", ("high", "medium")))
    exceptions = normalize_exceptions(policy.get("exceptions"))
    if "audit" in raw:
        reach, results = _split_audit(_as_dict(raw.get("audit")))
    else:
        reach = _as_dict(raw.get("reach"))
        results = {name: _as_dict(raw.get(name)) for name in ("settings", "sockets", "timer")}
    record: dict[str, Any] = {
        "format": REPORT_FORMAT_VERSION,
        "host": str(raw.get("host", "")),
        "policy": dict(policy, fail_on=fail_on, exceptions=exceptions),
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
        unreachable: list[Check] = [
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
        record["checks"] = unreachable
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
    if exceptions:
        today = _parse_date(policy["today"], "today") if policy.get("today") else datetime.date.today()
        apply_exceptions(record["host"], all_findings, exceptions, today)

    values = _values(results["settings"])
    timer = results["timer"]
    observed = timer.get("observed_time", timer.get("observed"))
    context: CheckContext = {
        "uid": uid,
        "values": values,
        "boot_sources": _boot_sources(results["settings"]),
        "detection_time": _detection(results["settings"], values),
        "namespace_count": len(_as_list(results["settings"].get("namespaces"))),
        "timer_observed": f"{observed} s" if observed is not None else "no observation",
    }

    checks: list[Check] = []
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
        if result.get("skipped") and result.get("disabled"):  # turned off by the policy, not a failure
            check = _make_check(spec, "skipped", findings_by_check[spec.name], fail_on, header)
            check["message"] += f"\n{spec.source} not checked: disabled ({result.get('msg', '')})"
            checks.append(check)
        elif not _ran(result):
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


def _host_summary(record: Mapping[str, Any]) -> HostSummary:
    severities = {sev: 0 for sev in SEVERITIES}
    for finding in record.get("findings", ()):
        if finding.get("waived"):
            continue
        sev = finding.get("severity", "info")
        severities[sev] = severities.get(sev, 0) + 1
    failed_checks = [c["name"] for c in record.get("checks", ()) if not c["ok"]]
    return {
        "waived": sum(1 for f in record.get("findings", ()) if f.get("waived")),
        "expired_exceptions": sum(1 for f in record.get("findings", ()) if f.get("waiver_expired")),
        "severities": severities,
        "failed_checks": failed_checks,
        "warned_checks": [c["name"] for c in record.get("checks", ()) if c["status"] == "warn"],
    }


def missing_host_record(host: str, policy: Mapping[str, Any]) -> dict[str, Any]:
    """A host of the play that left no record: it was unreachable or failed before the role ran."""
    return evaluate_host(
        {
            "host": host,
            "reach": {"unreachable": True, "msg": "no verification result (unreachable or failed earlier)"},
        },
        policy,
    )


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


def public_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """The per-host fact tcp_keepalive_verify_result: small, stable, for `when:` in later plays."""
    summary = _as_dict(record.get("summary"))
    return {
        "status": record.get("status"),
        "compliant": record.get("status") == "pass",
        "checks": {c["name"]: c["status"] for c in record.get("checks", ())},
        "failed_checks": list(summary.get("failed_checks", ())),
        "findings": dict(_as_dict(summary.get("severities"))),
        "finding_ids": sorted({str(f.get("id")) for f in record.get("findings", ()) if not f.get("waived")}),
        "waived": summary.get("waived", 0),
        "detection_time": {k: v for k, v in _as_dict(record.get("detection_time")).items() if k != "policy"},
        "privileged": record.get("privileged"),
    }


def asserts(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the verify role asserts, one loop item each: every check that failed (status fail or error) and,
    when the verdict is not pass without any failed check (unreachable, or an error outside the checks), one
    item for the host itself. A passing host has none; a check that passed with a warning is not asserted
    but printed as a warning (check_warnings). Small items: the loop's cost per item grows with what it
    carries (the full checks stay in the record)."""
    items: list[dict[str, Any]] = []
    if record.get("status") != "unreachable":
        items = [
            {"name": c["name"], "status": c["status"], "ok": False, "message": c["message"]}
            for c in record.get("checks", ())
            if not c.get("ok")  # fail or error; pass, warn and skipped are ok
        ]
    if record.get("status") != "pass" and not items:
        items.append(
            {"name": "host", "status": record.get("status"), "ok": False, "message": record.get("message")}
        )
    return items


def check_warnings(record: Mapping[str, Any]) -> list[str]:
    """One line per check that passed with a warning (findings below fail_on), naming the host: audit_info's
    action plugin returns them as the task's warnings, which Ansible prints whatever the verbosity."""
    if record.get("status") == "unreachable":
        return []
    return [
        f"{record.get('host')}: check {c['name']} passed with a warning: {c['message']}"
        for c in record.get("checks", ())
        if c.get("status") == "warn"
    ]


def evaluate_record(raw: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    """evaluate_host plus the two views the verify role reads: `result` (public_result, published as
    tcp_keepalive_verify_result) and `asserts`. The filter verify_checks and audit_info's action plugin
    (with `policy`) both return this. Raises ValueError for a bad fail_on entry or compliance exception."""
    record = evaluate_host(raw, policy)
    record["result"] = public_result(record)
    record["asserts"] = asserts(record)
    return record
