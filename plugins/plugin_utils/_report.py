# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report pipeline in one call: host records -> record directory -> fleet -> every renderer.

  _checks   one host's facts -> its record (checks, verdict, waivers)        (verify_checks filter)
  _records  records on disk: bounded distinct file names, newest per host, stale marking, summary
  _render   one renderer per format, in RENDERERS
  _text     escaping for XML, HTML, Markdown and terminals

Names used before the split are re-exported here so callers keep working.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import (
    CHECK_NAMES,
    CHECKS,
    FINDING_ROUTES,
    NOT_ROOT_LIMITATION,
    REPORT_FORMAT_VERSION,
    STATUSES,
    check_for,
    evaluate_host,
    failure_message,
    finding_fails,
    format_finding,
    format_socket,
    format_where,
    missing_host_record,
    normalize_exceptions,
    normalize_fail_on,
    public_result,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._records import (
    host_filename,
    iso,
    load_records,
    stats_summary,
    summarize_fleet,
    utc_now,
    write_records,
    write_text,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._render import (
    RENDERER_BY_NAME,
    RENDERERS,
    Fleet,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._render import (
    render_html as _render_html,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._render import (
    render_junit as _render_junit,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._render import (
    render_markdown as _render_markdown,
)

# Names used before the split, re-exported for callers (benchmarks, tests).
__all__ = [
    "CHECK_NAMES",
    "CHECKS",
    "FINDING_ROUTES",
    "NOT_ROOT_LIMITATION",
    "REPORT_FORMAT_VERSION",
    "STATUSES",
    "check_for",
    "evaluate_host",
    "failure_message",
    "finding_fails",
    "format_finding",
    "format_socket",
    "format_where",
    "missing_host_record",
    "normalize_exceptions",
    "normalize_fail_on",
    "public_result",
    "host_filename",
    "iso",
    "load_records",
    "stats_summary",
    "summarize_fleet",
    "utc_now",
    "write_records",
    "write_text",
    "rebuild",
    "render_fleet",
    "render_html",
    "render_junit",
    "render_markdown",
    "write_reports",
]


def render_fleet(
    report_dir: str,
    summary: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    formats: Sequence[str] | None = None,
) -> dict[str, str]:
    """Write every report format (or those named) into report_dir; return {format: path}."""
    fleet = Fleet(summary, records)
    paths = {}
    for renderer in RENDERERS if formats is None else [RENDERER_BY_NAME[name] for name in formats]:
        path = os.path.join(report_dir, renderer.filename)
        write_text(path, renderer.render(fleet))
        paths[renderer.name] = path
    return paths


def rebuild(
    report_dirs: Sequence[str],
    policy: Mapping[str, Any],
    out_dir: str | None = None,
    stale_after: float | None = None,
    run_id: str = "",
    now: float | None = None,
    formats: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The fleet report from every record under report_dirs (the newest per host), written to out_dir."""
    now = time.time() if now is None else now
    records, warnings = load_records(report_dirs)
    if not policy.get("expected") and records:  # re-rendering from records: the newest record's policy
        newest = max(records, key=lambda r: (r.get("run") or {}).get("epoch") or 0)
        policy = dict(newest.get("policy") or {})
    out = os.path.abspath(os.path.expanduser(out_dir or report_dirs[0]))
    os.makedirs(out, exist_ok=True)
    summary = summarize_fleet(
        records, policy, iso(utc_now()), now=now, stale_after=stale_after, run_id=run_id
    )
    summary["warnings"] = warnings
    paths = render_fleet(out, summary, records, formats)
    return {"summary": summary, "records": records, "paths": paths, "warnings": warnings}


# Before the split: renderers took (summary, records); kept for existing callers (benchmarks).
def render_markdown(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    return _render_markdown(Fleet(summary, records))


def render_html(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    return _render_html(Fleet(summary, records))


def render_junit(records: Sequence[Mapping[str, Any]], summary: Mapping[str, Any] | None = None) -> str:
    return _render_junit(Fleet(summary or {}, records))


def write_reports(
    report_dir: str, records: Sequence[Mapping[str, Any]], summary: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Write the host records, then the fleet from every record in the directory."""
    report_dir = os.path.abspath(os.path.expanduser(report_dir))
    host_files, errors = write_records(report_dir, records)
    policy = (summary or {}).get("policy") or (records[0].get("policy") if records else {}) or {}
    result = rebuild([report_dir], policy)
    paths: dict[str, Any] = {
        "report_dir": report_dir,
        "hosts_dir": os.path.join(report_dir, "hosts"),
        "markdown": result["paths"].get("markdown"),
        "json": result["paths"].get("json"),
        "html": result["paths"].get("html"),
        "junit": result["paths"].get("junit"),
        "console": result["paths"].get("console"),
    }
    paths["host_files"] = host_files
    paths["errors"] = errors
    return paths
