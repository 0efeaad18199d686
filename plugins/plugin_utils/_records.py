# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record directory: one JSON record per host is the unit; the fleet report is built from every record
in the directory (the newest per host), so serial batches, --limit slices, strategy free, AWX job slices and
records collected from several controllers all end in one fleet report.

Layout of a report directory:
  hosts/<host file>.json   one record per host (hosts/ may hold sub-directories of collected records)
  fleet.json fleet.md fleet.html junit.xml summary.txt   rendered from the records (see _render.RENDERERS)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import (
    CHECK_NAMES,
    REPORT_FORMAT_VERSION,
    SEVERITIES,
    STATUSES,
)

HOSTS_DIR = "hosts"
# A file name may be 255 bytes on every Linux file system; keep well below, with room for the hash and
# the temporary-file prefix.
MAX_NAME = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


def host_filename(host: str) -> str:
    """A safe, distinct, bounded file name for a host's record.

    Host names made only of [A-Za-z0-9._@-] (not starting with a dot) and short enough keep their name;
    any other name is sanitized, cut to MAX_NAME characters and made distinct by a hash of the full name.
    """
    host = str(host)
    safe = _UNSAFE.sub("_", host).lstrip(".") or "_"
    if safe == host and len(safe) <= MAX_NAME:
        return safe + ".json"
    digest = hashlib.sha256(host.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{safe[:MAX_NAME]}-{digest}.json"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_text(path: str, content: str) -> None:
    """Atomic write: a temporary file in the same directory, then rename over the target."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def stamp(record: Mapping[str, Any], run_id: str, moment: datetime.datetime) -> dict[str, Any]:
    """The record with the run it came from and when."""
    return dict(record, run={"id": run_id, "time": iso(moment), "epoch": moment.timestamp()})


def write_records(report_dir: str, records: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Write hosts/<host>.json for each record; one host's failure never stops the others.

    Returns ({host: path}, [error messages])."""
    hosts_dir = os.path.join(report_dir, HOSTS_DIR)
    os.makedirs(hosts_dir, exist_ok=True)
    written: dict[str, str] = {}
    errors: list[str] = []
    for record in records:
        host = str(record.get("host", ""))
        path = os.path.join(hosts_dir, host_filename(host))
        try:
            write_text(path, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
        except (OSError, TypeError, ValueError) as exc:
            errors.append(f"cannot write the record of {host!r} to {path}: {exc}")
            continue
        written[host] = path
    return written, errors


def _record_time(record: Mapping[str, Any], path: str) -> float:
    run = record.get("run")
    if isinstance(run, Mapping) and isinstance(run.get("epoch"), (int, float)):
        return float(run["epoch"])
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _record_files(directory: str) -> list[str]:
    root = os.path.join(directory, HOSTS_DIR)
    if not os.path.isdir(root):
        root = directory
    found: list[str] = []
    for base, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(os.path.join(base, name) for name in sorted(files) if name.endswith(".json"))
    return found


def load_records(directories: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every host record under the directories, the newest per host (by its run time).

    Returns (records, warnings); a file that is not a record is named in the warnings, never fatal."""
    newest: dict[str, tuple[float, dict[str, Any]]] = {}
    warnings: list[str] = []
    for directory in directories:
        for path in _record_files(directory):
            try:
                with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                    record = json.load(handle)
            except (OSError, ValueError) as exc:
                warnings.append(f"skipped {path}: not a readable JSON record ({exc})")
                continue
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("host"), str)
                or "status" not in record
            ):
                if os.path.basename(path) != "fleet.json":
                    warnings.append(f"skipped {path}: not a host record (no host and status)")
                continue
            when = _record_time(record, path)
            record["file"] = os.path.relpath(path, directory)
            seen = newest.get(record["host"])
            if seen is None or when > seen[0]:
                newest[record["host"]] = (when, record)
    return [record for _when, record in newest.values()], warnings


def _count(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


def summarize_fleet(
    records: Sequence[dict[str, Any]],
    policy: Mapping[str, Any],
    generated: str = "",
    now: float | None = None,
    stale_after: float | None = None,
    run_id: str = "",
) -> dict[str, Any]:
    """The fleet summary; marks each record `stale` when its run is older than stale_after seconds."""
    counts = {status: 0 for status in STATUSES}
    severities = {sev: 0 for sev in SEVERITIES}
    check_status: dict[str, dict[str, int]] = {name: {} for name in CHECK_NAMES}
    check_failures = {name: 0 for name in CHECK_NAMES}
    findings: dict[str, set[str]] = {}
    services: dict[str, dict[str, Any]] = {}
    ghosts: dict[str, dict[str, Any]] = {}
    runs: dict[str, int] = {}
    not_root, stale, waived = [], [], 0
    for record in records:
        host = record["host"]
        raw_run = record.get("run")
        run: Mapping[str, Any] = raw_run if isinstance(raw_run, Mapping) else {}
        epoch = run.get("epoch")
        record["stale"] = bool(
            stale_after is not None
            and now is not None
            and isinstance(epoch, (int, float))
            and now - epoch > stale_after
        )
        if record["stale"]:
            stale.append(host)
        _count(runs, str(run.get("id", "unknown")))
        _count(counts, record["status"])
        summary = record.get("summary", {})
        waived += int(summary.get("waived", 0) or 0)
        for sev, n in summary.get("severities", {}).items():
            _count(severities, sev, n)
        if record["status"] != "unreachable":  # unreachable hosts are not failing checks: counted apart
            for check in record.get("checks", ()):
                _count(check_status.setdefault(check["name"], {}), check["status"])
            for name in summary.get("failed_checks", ()):
                _count(check_failures, name)
        for finding in record.get("findings", ()):
            if not finding.get("waived"):
                findings.setdefault(str(finding.get("id")), set()).add(host)
        for svc in record.get("services_without_keepalive", ()):
            entry = services.setdefault(
                str(svc.get("service")), {"hosts": 0, "listeners": 0, "connections": 0}
            )
            entry["hosts"] += 1
            entry["listeners"] += len(svc.get("listeners", ()))
            entry["connections"] += int(svc.get("connections", 0) or 0)
        ghost_services: set[str] = set()
        for ghost in record.get("ghost_candidates", ()):
            name = str(ghost.get("service") or "?")
            entry = ghosts.setdefault(name, {"hosts": 0, "connections": 0})
            entry["connections"] += int(ghost.get("count", 1) or 1)
            if name not in ghost_services:
                ghost_services.add(name)
                entry["hosts"] += 1
        if record.get("privileged") is False:
            not_root.append(host)
    ranked = sorted(services.items(), key=lambda item: (-item[1]["hosts"], item[0]))
    ghost_ranked = sorted(
        ghosts.items(), key=lambda item: (-item[1]["hosts"], -item[1]["connections"], item[0])
    )
    top = sorted(findings.items(), key=lambda item: (-len(item[1]), item[0]))
    return {
        "format": REPORT_FORMAT_VERSION,
        "generated": generated,
        "run": run_id,
        "policy": dict(policy),
        "hosts": len(records),
        "status": counts,
        "compliant": counts["pass"] == len(records) and len(records) > 0,
        "severities": severities,
        "check_failures": check_failures,
        "check_status": check_status,
        "top_findings": [{"id": fid, "hosts": len(hosts)} for fid, hosts in top[:10]],
        "services_without_keepalive": [dict(v, service=k) for k, v in ranked],
        "ghosts_by_service": [dict(v, service=k) for k, v in ghost_ranked],
        "not_root": sorted(not_root),
        "unreachable": sorted(r["host"] for r in records if r["status"] == "unreachable"),
        "non_compliant": sorted(r["host"] for r in records if r["status"] in ("fail", "error")),
        "stale": sorted(stale),
        "stale_after": stale_after,
        "waived": waived,
        "runs": runs,
        "host_status": {r["host"]: r["status"] for r in records},
    }


def stats_summary(summary: Mapping[str, Any], limit: int = 50) -> dict[str, Any]:
    """What set_stats publishes for the job (AWX/AAP artifacts): small, whatever the fleet size."""
    return {
        "hosts": summary["hosts"],
        "status": dict(summary["status"]),
        "compliant": summary["compliant"],
        "stale": len(summary["stale"]),
        "waived": summary["waived"],
        "non_compliant": list(summary["non_compliant"][:limit]),
        "unreachable": list(summary["unreachable"][:limit]),
        "top_findings": list(summary["top_findings"]),
        "severities": dict(summary["severities"]),
    }
