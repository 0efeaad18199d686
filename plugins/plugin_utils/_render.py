# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet renderers, one function and one RENDERERS entry per format.

A renderer takes the fleet (summary + the newest record per host) and returns the file's text. Every string
taken from a record goes through _text first (XML 1.0 characters only, no markup, no escape sequence).
Each renderer is linear in hosts and findings.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.tcp.keepalive.plugins.module_utils._common import KEYS, SEVERITIES
from ansible_collections.tcp.keepalive.plugins.plugin_utils import _text as T
from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import CHECK_NAMES, format_finding
from ansible_collections.tcp.keepalive.plugins.plugin_utils._records import host_filename


@dataclass(frozen=True)
class Fleet:
    summary: Mapping[str, Any]
    records: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Renderer:
    name: str
    filename: str
    render: Callable[[Fleet], str]


_STATUS_ORDER = {"unreachable": 0, "error": 1, "fail": 2, "pass": 3}


def natural_key(host: str) -> tuple[Any, ...]:
    """web2 before web10: digit runs compare as numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", host) if part
    )


def ordered(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(records, key=lambda r: (_STATUS_ORDER.get(r["status"], 9), natural_key(r["host"])))


def _triple(values: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={values.get(key) if values.get(key) is not None else '?'}" for key in KEYS)


def _fail_on_text(policy: Mapping[str, Any]) -> str:
    return ", ".join(policy.get("fail_on", ())) or "nothing"


def _det(record: Mapping[str, Any], when: str) -> str:
    value = record.get("detection_time", {}).get(when)
    return "?" if value is None else f"{value} s"


def _services_text(record: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{s['service']} ({', '.join(s['listeners']) or str(s['connections']) + ' conn'})"
        for s in record.get("services_without_keepalive", ())
    )


def _status_text(record: Mapping[str, Any]) -> str:
    extra = []
    if record.get("privileged") is False:
        extra.append("not root")
    if record.get("stale"):
        extra.append("stale")
    return record["status"] + (f" ({', '.join(extra)})" if extra else "")


def _run_time(record: Mapping[str, Any]) -> str:
    run = record.get("run")
    return str(run.get("time", "?")) if isinstance(run, Mapping) else "?"


# ---------------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------------
def render_json(fleet: Fleet) -> str:
    hosts = {
        r["host"]: {
            "status": r["status"],
            "stale": bool(r.get("stale")),
            "run": r.get("run"),
            "file": f"hosts/{host_filename(r['host'])}",
        }
        for r in fleet.records
    }
    host_files = {host: entry["file"] for host, entry in hosts.items()}
    document = dict(fleet.summary, hosts_detail=hosts, host_files=host_files)
    return json.dumps(document, indent=1, sort_keys=True, default=str) + "\n"


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------
def render_markdown(fleet: Fleet) -> str:
    summary, md = fleet.summary, T.markdown_cell
    policy = summary["policy"]
    st = summary["status"]
    out = [
        "# TCP keepalive audit (tcp.keepalive.verify)",
        "",
        f"Generated {md(summary['generated'])}. Policy: {md(_triple(policy.get('expected') or {}))}, max "
        "detection "
        f"time {md(policy.get('max_detection_time'))} s, fail\\_on: {md(_fail_on_text(policy))}.",
        "",
        f"**{summary['hosts']} host(s): {st['pass']} compliant, {st['fail']} non-compliant, "
        f"{st['error']} with errors, {st['unreachable']} unreachable; {len(summary['stale'])} stale, "
        f"{summary['waived']} finding(s) waived.**",
        "",
        "Findings by severity: " + ", ".join(f"{k} {v}" for k, v in summary["severities"].items()),
        "",
        "| Check | pass | warn | fail | error |",
        "|---|---|---|---|---|",
    ]
    for name in CHECK_NAMES:
        c = summary["check_status"].get(name, {})
        out.append(
            f"| {name} | {c.get('pass', 0)} | {c.get('warn', 0)} | {c.get('fail', 0)} | {c.get('error', 0)} |"
        )
    if summary["services_without_keepalive"]:
        out += ["", "| Service without keepalive | Hosts | Listeners | Connections |", "|---|---|---|---|"]
        out.extend(
            f"| {md(s['service'])} | {s['hosts']} | {s['listeners']} | {s['connections']} |"
            for s in summary["services_without_keepalive"]
        )
    if summary["not_root"]:
        out += ["", f"Audited without root (limited view): {md(', '.join(summary['not_root']))}"]
    out += [
        "",
        "## Hosts",
        "",
        "| Host | Status | Live time/intvl/probes | After reboot | Detection live / boot (policy) "
        "| Findings high/medium/low/info | Failed checks | Services without keepalive | Record time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ordered(fleet.records):
        v = r.get("values", {})
        sev = r["summary"]["severities"]
        link = f"[{md(r['host'])}](hosts/{host_filename(r['host'])})"
        out.append(
            f"| {link} | {md(_status_text(r))} "
            f"| {md(_triple(v.get('runtime', {})))} | {md(_triple(v.get('boot', {})))} "
            f"| {md(_det(r, 'runtime'))} / {md(_det(r, 'boot'))} ({md(policy.get('max_detection_time'))} s) "
            f"| {sev.get('high', 0)}/{sev.get('medium', 0)}/{sev.get('low', 0)}/{sev.get('info', 0)} "
            f"| {md(', '.join(r['summary']['failed_checks']))} | {md(_services_text(r))} | "
            f"{md(_run_time(r))} |"
        )
    ghosts = [(r["host"], g) for r in ordered(fleet.records) for g in r.get("ghost_candidates", ())]
    if ghosts:
        out += [
            "",
            "## Ghost candidates",
            "",
            "| Host | Service | Pid | Connections | Examples |",
            "|---|---|---|---|---|",
        ]
        out.extend(
            f"| {md(h)} | {md(g.get('service'))} | {md(g.get('pid'))} | {md(g.get('count'))} "
            f"| {md(', '.join(str(s) for s in g.get('sockets', ())))} |"
            for h, g in ghosts
        )
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------
# JUnit
# ---------------------------------------------------------------------------------------------------
def render_junit(fleet: Fleet) -> str:
    """JUnit XML: one testcase per host and check. Only XML 1.0 characters (a strict parser reads it)."""
    x = T.xml_text
    cases = []
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in sorted(fleet.records, key=lambda r: natural_key(r["host"])):
        for check in r.get("checks", ()):
            case = ET.Element("testcase", {"classname": x(r["host"]), "name": x(check["name"]), "time": "0"})
            totals["tests"] += 1
            status = check["status"]
            first = (check.get("failing") or [{}])[0]
            message = x(check["message"])
            if status == "fail":
                totals["failures"] += 1
                attrs = {
                    "message": x(format_finding(first) if first else check["title"]),
                    "type": x(first.get("id", check["name"])),
                }
                ET.SubElement(case, "failure", attrs).text = message
            elif status == "error":
                totals["errors"] += 1
                last = message.splitlines()[-1] if message else "error"
                ET.SubElement(case, "error", {"message": last, "type": x(r["status"])}).text = message
            elif status == "skipped":
                totals["skipped"] += 1
                ET.SubElement(case, "skipped", {"message": message})
            elif message:
                ET.SubElement(case, "system-out").text = message
            cases.append(case)
    attrs = {k: str(v) for k, v in totals.items()}
    root = ET.Element("testsuites", dict(attrs, name="tcp.keepalive.verify"))
    suite = ET.SubElement(root, "testsuite", dict(attrs, name="tcp.keepalive.verify", time="0"))
    suite.extend(cases)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------------
# console (the `make audit` summary): plain text, nothing a terminal would interpret
# ---------------------------------------------------------------------------------------------------
_VERDICT = {
    "pass": "COMPLIANT",
    "fail": "NOT COMPLIANT",
    "error": "INCOMPLETE (errors)",
    "unreachable": "NOT AUDITED",
}
CONSOLE_DETAIL_HOSTS = 5


def exit_status(summary: Mapping[str, Any]) -> int:
    """0 every host compliant, 2 a host not compliant, 1 an audit incomplete (error, unreachable, none)."""
    st = summary["status"]
    if not summary["hosts"] or st.get("error") or st.get("unreachable"):
        return 1
    return 2 if st.get("fail") else 0


def _triple2(values: Mapping[str, Any]) -> str:
    return "  ".join(f"{key}={values.get(key) if values.get(key) is not None else '?'}" for key in KEYS)


def _console_host(r: Mapping[str, Any]) -> list[str]:
    t = T.terminal
    _triple = _triple2  # noqa: N806  (two spaces between the values on a terminal)
    policy = r.get("policy", {})
    det = r.get("detection_time", {})
    who = r.get("user") or f"uid {r.get('uid')}"
    out = [
        f"TCP keepalive audit of {t(r['host'])} as {t(who)}: {_VERDICT.get(r['status'], t(r['status']))}",
        f"  policy        {t(_triple(policy.get('expected', {})))}   max detection time "
        f"{t(policy.get('max_detection_time'))} s",
        f"  now           {t(_triple(r.get('values', {}).get('runtime', {})))}   detection time "
        f"{t(det.get('runtime'))} s",
        f"  after reboot  {t(_triple(r.get('values', {}).get('boot', {})))}   detection time "
        f"{t(det.get('boot'))} s",
    ]
    for check in r.get("checks", ()):
        if check["status"] in ("fail", "error"):
            failing = check.get("failing") or []
            first = (failing or [{}])[0].get("message") or (check["message"].splitlines() or [""])[-1]
            more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
            out.append(f"  FAILED {t(check['name'])}: {t(first)}{more}")
    services = r.get("services_without_keepalive", [])
    out.append(f"  services with sockets lacking keepalive: {len(services) or 'none'}")
    for svc in services:
        where = ", ".join(svc.get("listeners", ())) or f"{svc.get('connections')} connection(s)"
        pids = f" (pid {', '.join(map(str, svc['pids']))})" if svc.get("pids") else ""
        out.append(f"    - {t(svc['service'])}: {t(where)}{t(pids)}")
        if svc.get("hint"):
            out.append(f"      fix: {t(svc['hint'])}")
    ghosts = r.get("ghost_candidates", [])
    total = sum(int(g.get("count", 1) or 1) for g in ghosts)
    out.append(
        f"  ghost candidates (connections without keepalive idle > {t(policy.get('idle_threshold'))} s): "
        f"{total or 'none'}"
    )
    for g in ghosts:
        examples = ", ".join(str(s) for s in g.get("sockets") or [g.get("socket", "")])
        out.append(
            f"    - {t(g.get('service') or '?')} (pid {t(g.get('pid'))}): {t(g.get('count', 1))}: "
            f"{t(examples)}"
        )
    waived = r.get("summary", {}).get("waived", 0)
    if waived:
        out.append(f"  waived by compliance exceptions: {waived} finding(s)")
    out.extend(f"  could not see: {t(item)}" for item in r.get("limitations", []))
    out.extend(f"  error in {t(e.get('step'))}: {t(e.get('msg'))}" for e in r.get("errors", []))
    return out


def render_console(fleet: Fleet) -> str:
    summary = fleet.summary
    st = summary["status"]
    out = [""]
    records = ordered(fleet.records)
    for r in records[:CONSOLE_DETAIL_HOSTS]:
        out.extend(_console_host(r))
    if len(records) > CONSOLE_DETAIL_HOSTS:
        out.append(f"  ... {len(records) - CONSOLE_DETAIL_HOSTS} more host(s) in fleet.html")
    out.append(
        f"fleet: {summary['hosts']} host(s): {st['pass']} compliant, {st['fail']} non-compliant, "
        f"{st['error']} "
        f"with errors, {st['unreachable']} unreachable, {len(summary['stale'])} stale"
    )
    code = exit_status(summary)
    out.append(f"  exit status {code} (0 compliant, 2 not compliant, 1 audit incomplete)")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------
# HTML: the fleet page (self-contained, works without JavaScript, sorts and filters with it)
# ---------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.2em;color:#222;max-width:80em}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 5px;vertical-align:top}
th{background:#eee;text-align:left}th[data-k]{cursor:pointer}.pass{color:#176117}.fail{color:#a11}
.error,.unreachable{color:#a60}.stale{color:#777;font-style:italic}
.b{display:inline-block;min-width:1.4em;text-align:center;border-radius:3px;margin:0 1px;color:#fff}
.high{background:#b00}.medium{background:#d77a00}.low{background:#777}.info{background:#27c}.z{background:#ccc}
.cards span{display:inline-block;border:1px solid #ccc;border-radius:4px;padding:4px 10px;margin:2px}
.charts svg{border:1px solid #ddd;margin:4px;vertical-align:top}details{margin:1px 0}summary{cursor:pointer}
pre{white-space:pre-wrap;margin:2px 0}
"""

_SCRIPT = """
(function(){var t=document.getElementById('hosts');if(!t)return;var b=t.tBodies[0],
c=new Intl.Collator(undefined,{numeric:true,sensitivity:'base'}),f=document.getElementById('filter'),
s=document.getElementById('status');
function v(r,i){var d=r.cells[i];return d.getAttribute('data-v')||d.textContent;}
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(h,i){h.setAttribute('data-k','1');
h.addEventListener('click',function(){var d=h.getAttribute('data-d')==='1'?-1:1;
h.setAttribute('data-d',d===1?'0':'1');
var n=h.hasAttribute('data-n'),rows=Array.prototype.slice.call(b.rows);
rows.sort(function(x,y){var a=v(x,i),z=v(y,i);
return d*(n?(parseFloat(a)||0)-(parseFloat(z)||0):c.compare(a,z));});
rows.forEach(function(r){b.appendChild(r);});});});
function go(){var q=f.value.toLowerCase(),w=s.value;Array.prototype.forEach.call(b.rows,function(r){
var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&(!w||r.getAttribute('data-s')===w);r.hidden=!ok;});}
f.hidden=false;s.hidden=false;f.addEventListener('input',go);s.addEventListener('change',go);})();
"""

_SVG_W = 560


def _badges(severities: Mapping[str, int]) -> str:
    return "".join(
        f'<span class="b {sev if severities.get(sev) else "z"}" title="{sev}">'
        f"{int(severities.get(sev, 0))}</span>"
        for sev in SEVERITIES
    )


def _log_x(value: float, low: float, high: float, left: int, width: int) -> float:
    return left + width * (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))


def detection_chart(records: Sequence[Mapping[str, Any]], limit: Any) -> str:
    """Hosts by detection time, live and after reboot: log-scale histogram (nothing saturates) with the
    policy as a vertical line."""
    series: dict[str, list[float]] = {"runtime": [], "boot": []}
    for r in records:
        for when in series:
            value = r.get("detection_time", {}).get(when)
            if isinstance(value, (int, float)) and value > 0:
                series[when].append(float(value))
    values = series["runtime"] + series["boot"]
    limit_value = float(limit) if isinstance(limit, (int, float)) and limit and limit > 0 else None
    top = max(values + ([limit_value] if limit_value else []) + [10.0])
    low, high = 1.0, 10 ** math.ceil(math.log10(top * 1.01))
    left, width, row_h = 60, _SVG_W - 80, 70
    bins = 40
    parts = [
        f'<svg id="chart-detection" role="img" width="{_SVG_W}" '
        f'height="{2 * row_h + 50}" viewBox="0 0 {_SVG_W} {2 * row_h + 50}">'
        "<title>Hosts by detection time (log scale), live and after reboot, against the policy</title>"
    ]
    for index, (when, label) in enumerate((("runtime", "live"), ("boot", "after reboot"))):
        counts = [0] * bins
        for value in series[when]:
            position = (math.log10(max(value, low)) - math.log10(low)) / (math.log10(high) - math.log10(low))
            counts[min(bins - 1, int(position * bins))] += 1
        peak = max(counts) or 1
        base = 20 + (index + 1) * row_h
        parts.append(f'<text x="2" y="{base - row_h / 2:.0f}" font-size="11">{label}</text>')
        for b, n in enumerate(counts):
            if not n:
                continue
            h = max(1.0, (row_h - 14) * math.log10(1 + n) / math.log10(1 + peak))
            x = left + width * b / bins
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{width / bins - 1:.1f}" '
                f'height="{h:.1f}" '
                f'fill="#4a7"><title>{n} host(s)</title></rect>'
            )
        parts.append(f'<line x1="{left}" y1="{base}" x2="{left + width}" y2="{base}" stroke="#999"/>')
    decade = 1.0
    while decade <= high:
        x = _log_x(decade, low, high, left, width)
        parts.append(
            f'<text x="{x:.0f}" y="{2 * row_h + 45}" font-size="10" text-anchor="middle">{decade:g} s</text>'
        )
        decade *= 10
    if limit_value:
        x = _log_x(limit_value, low, high, left, width)
        parts.append(
            f'<line class="policy" x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{2 * row_h + 22}" stroke="#c00" '
            f'stroke-width="2"/><text x="{x + 3:.0f}" y="12" font-size="10" fill="#c00">policy '
            f"{limit_value:g} s</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[tuple[int, str, str]]]]) -> str:
    """Horizontal (stacked) bars: rows of (label, [(count, colour, name)])."""
    rows = list(rows)
    peak = max([sum(n for n, _c, _s in segments) for _label, segments in rows] + [1])
    label_w, width, row_h = 170, _SVG_W - 230, 16
    height = 24 + row_h * max(1, len(rows))
    parts = [
        f'<svg id="{chart_id}" role="img" width="{_SVG_W}" height="{height}" '
        f'viewBox="0 0 {_SVG_W} {height}"><title>{T.html_text(title)}</title>'
        f'<text x="2" y="12" font-size="11" font-weight="bold">{T.html_text(title)}</text>'
    ]
    if not rows:
        parts.append('<text x="2" y="32" font-size="11">none</text>')
    for index, (label, segments) in enumerate(rows):
        y = 20 + index * row_h
        parts.append(f'<text x="2" y="{y + 11}" font-size="11">{T.html_text(label[:28])}</text>')
        x = float(label_w)
        for n, colour, name in segments:
            if n <= 0:
                continue
            w = width * n / peak
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row_h - 4}" '
                f'fill="{colour}"><title>{T.html_text(name)}: {n}</title></rect>'
            )
            x += w
        total = sum(n for n, _c, _s in segments)
        parts.append(f'<text x="{x + 4:.0f}" y="{y + 11}" font-size="11">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CHECK_COLOURS = (("pass", "#4a4"), ("warn", "#db3"), ("fail", "#c33"), ("error", "#a60"))
TOP_N = 20


def _host_row(r: Mapping[str, Any], limit: Any) -> str:
    e = T.html_text
    det = r.get("detection_time", {})
    failed = r["summary"]["failed_checks"]
    details = "".join(
        f"<details><summary>{e(c['name'])}: {e(c['status'])}</summary><pre>{e(c['message'])}</pre></details>"
        for c in r.get("checks", ())
        if c["status"] != "pass" or c.get("waived")
    )
    services = "<br>".join(
        e(f"{s['service']}: {', '.join(s['listeners']) or s['connections']}")
        for s in r.get("services_without_keepalive", ())
    )
    cells = []
    for when in ("runtime", "boot"):
        value = det.get(when)
        over = isinstance(value, (int, float)) and isinstance(limit, (int, float)) and value > limit
        text = "?" if value is None else f"{e(value)} s"
        cells.append(
            f'<td data-v="{e(value if value is not None else -1)}"{" class=fail" if over else ""}>{text}</td>'
        )
    sev = r["summary"]["severities"]
    weight = sev.get("high", 0) * 1000000 + sev.get("medium", 0) * 1000 + sev.get("low", 0)
    status_class = "stale" if r.get("stale") else e(r["status"])
    return (
        f'<tr data-s="{e(r["status"])}"><td><a href="hosts/{e(host_filename(r["host"]))}">'
        f"{e(r['host'])}</a></td>"
        f'<td class="{status_class}">{e(_status_text(r))}</td>{cells[0]}{cells[1]}'
        f'<td data-v="{weight}">{_badges(sev)}</td><td>{e(", ".join(failed))}{details}</td><td>'
        f"{services}</td>"
        f"<td>{e(_run_time(r))}</td></tr>"
    )


def render_html(fleet: Fleet) -> str:
    """The fleet page: one self-contained file (inline CSS, SVG and script; no external reference)."""
    e = T.html_text
    summary = fleet.summary
    policy = summary["policy"]
    limit = policy.get("max_detection_time")
    st = summary["status"]
    records = ordered(fleet.records)
    reachable = [r for r in records if r["status"] != "unreachable"]
    unreachable = [r for r in records if r["status"] == "unreachable"]
    check_rows = [
        (name, [(summary["check_status"].get(name, {}).get(s, 0), colour, s) for s, colour in _CHECK_COLOURS])
        for name in CHECK_NAMES
    ]
    service_rows = [
        (s["service"], [(s["hosts"], "#c33", "hosts")]) for s in summary["services_without_keepalive"][:TOP_N]
    ]
    ghost_rows = [
        (g["service"], [(g["hosts"], "#a3c", "hosts")]) for g in summary["ghosts_by_service"][:TOP_N]
    ]
    groups: dict[str, list[str]] = {}
    for r in unreachable:
        reason = (r.get("errors") or [{}])[0].get("msg", "unreachable")
        groups.setdefault(str(reason), []).append(r["host"])
    unreachable_html = "".join(
        f"<details><summary>{len(hosts)} host(s): {e(reason)}</summary><p>"
        + ", ".join(f'<a href="hosts/{e(host_filename(h))}">{e(h)}</a>' for h in hosts)
        + "</p></details>"
        for reason, hosts in sorted(groups.items(), key=lambda item: -len(item[1]))
    )
    stale = summary["stale"]
    stale_html = (
        f"<p class=stale>{len(stale)} record(s) older than {e(summary.get('stale_after'))} s (stale): "
        f"{e(', '.join(stale[:50]))}{' ...' if len(stale) > 50 else ''}</p>"
        if stale
        else ""
    )
    rows = "".join(_host_row(r, limit) for r in reachable)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>TCP keepalive audit</title><style>{_CSS}</style></head><body>"
        "<h1>TCP keepalive audit</h1>"
        f'<section id="summary"><p class="cards"><span><b>{summary["hosts"]}</b> hosts</span>'
        f'<span class="pass"><b>{st["pass"]}</b> compliant</span><span class="fail"><b>{st["fail"]}</b> '
        "non-compliant"
        f'</span><span class="error"><b>{st["error"]}</b> with errors</span><span class="unreachable">'
        f'<b>{st["unreachable"]}</b> unreachable</span><span class="stale"><b>{len(stale)}</b> stale</span>'
        f"<span><b>{summary['waived']}</b> waived</span></p>"
        f"<p>Generated {e(summary['generated'])} (run {e(summary.get('run'))}). Policy: "
        f"{e(_triple(policy.get('expected') or {}))}, max detection time {e(limit)} s, "
        f"fail_on: {e(_fail_on_text(policy))}. Findings by severity (high, medium, low, info): "
        f"{_badges(summary['severities'])}</p>{stale_html}</section>"
        '<section class="charts"><h2>Charts</h2>'
        + detection_chart(reachable, limit)
        + bar_chart("chart-checks", "Hosts per check status (reachable hosts)", check_rows)
        + bar_chart("chart-services", "Services without keepalive, by hosts", service_rows)
        + bar_chart("chart-ghosts", "Ghost candidates by service, by hosts", ghost_rows)
        + "</section>"
        + f'<section id="unreachable"><h2>Unreachable ({len(unreachable)})</h2>'
        f"{unreachable_html or '<p>none</p>'}</section>"
        + f'<section><h2>Hosts ({len(reachable)})</h2><p><input id="filter" placeholder="filter" hidden> '
        '<select id="status" hidden><option value="">any status</option><option>fail</option>'
        "<option>error</option><option>pass</option></select></p>"
        '<table id="hosts"><thead><tr><th>Host</th><th>Status</th><th data-n>Detection live (s)</th>'
        "<th data-n>Detection after reboot (s)</th><th data-n>Findings</th><th>Failed or warned checks</th>"
        f"<th>Services without keepalive</th><th>Record time</th></tr></thead><tbody>{rows}</tbody></table>"
        "</section>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


# One entry per format: a new format is one function and one line here.
RENDERERS: tuple[Renderer, ...] = (
    Renderer("json", "fleet.json", render_json),
    Renderer("markdown", "fleet.md", render_markdown),
    Renderer("html", "fleet.html", render_html),
    Renderer("junit", "junit.xml", render_junit),
    Renderer("console", "summary.txt", render_console),
)
RENDERER_BY_NAME = {renderer.name: renderer for renderer in RENDERERS}
