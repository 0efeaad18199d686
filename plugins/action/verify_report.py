# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action tcp.keepalive.verify_report: store host records and render the fleet report on the controller.

Never contacts a managed node. Two steps, both linear:
  1. write each host's record (set by the verify_checks filter) to <report_dir>/hosts/, stamped with the run
     id and time; one host's record that cannot be written never stops the others;
  2. render the fleet report from EVERY record in the directory (newest per host, stale ones marked), so
     serial batches, --limit slices, strategy free and job slices end in one correct report.

With run_once (linear strategy, and per serial batch) it writes the records of the whole batch and renders
once. Where run_once does not hold (strategy free runs the task once per host) it writes only its own
host's record and the host that completes the batch renders: a counter under an flock, O(1) per host.
With records_only=false and no hosts (playbook tcp.keepalive.report) it only renders.
changed is always false: nothing on any host changes; the files live on the controller.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Mapping
from typing import Any

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import (
    missing_host_record,
    normalize_exceptions,
    normalize_fail_on,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._records import (
    stamp,
    stats_summary,
    utc_now,
    write_records,
)
from ansible_collections.tcp.keepalive.plugins.plugin_utils._render import RENDERER_BY_NAME
from ansible_collections.tcp.keepalive.plugins.plugin_utils._report import rebuild

_ARGS = {
    "report_dir": {"type": "path", "required": True},
    "policy": {"type": "dict"},
    "hosts": {"type": "list", "elements": "str"},
    "record_var": {"type": "str", "default": "tcp_keepalive_verify_result.record"},
    "run_id": {"type": "str"},
    "stale_after": {"type": "int", "default": 86400},
    "render_only": {"type": "bool", "default": False},
    "record_dirs": {"type": "list", "elements": "path", "default": []},
    "formats": {"type": "list", "elements": "str"},
}


def _plain(value: Any) -> Any:
    """Deep copy into plain dict/list/scalars (hostvars hands out lazy templating containers)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _host_record(hostvars: Any, host: str, name: str) -> Any:
    """One host's record, or None. HostVars.raw_get returns the host's variables without re-templating the
    record, which register or set_fact already rendered (templating it again costs milliseconds per host,
    and must not happen to strings read from the hosts); a plain mapping of mappings (tests) works too. A
    dotted name (`var.key`) reads a key of the variable: the verify role's
    `tcp_keepalive_verify_result.record`."""
    if host not in hostvars:
        return None
    raw_get = getattr(hostvars, "raw_get", None)
    value: Any = raw_get(host) if raw_get is not None else hostvars[host]
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def default_run_id() -> str:
    """The ansible-playbook process this worker was forked from: controller, pid and its start time."""
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/stat", encoding="ascii") as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "0"
    return f"{socket.gethostname()}-{parent}-{started}"


def _complete(report_dir: str, run_id: str, host: str, batch: list[str]) -> bool:
    """Note this host as done in this run, under an flock; True for the host after which every host still
    active in its batch is done (the batch shrinks as hosts fail, so the set is compared, not a count).
    Each batch renders once: the batch's signature is remembered."""
    key = hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    path = os.path.join(report_dir, ".batches")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        seen_path = os.path.join(path, key + ".seen")
        with open(seen_path, "a", encoding="utf-8", errors="surrogateescape") as seen_file:
            seen_file.write(json.dumps(host) + "\n")
        with open(seen_path, encoding="utf-8", errors="surrogateescape") as seen_file:
            seen = {json.loads(line) for line in seen_file if line.strip()}
        if not set(batch) <= seen:
            return False
        signature = hashlib.sha256("\0".join(sorted(batch)).encode("utf-8", "surrogatepass")).hexdigest()
        done_path = os.path.join(path, key + ".rendered")
        try:
            with open(done_path, encoding="ascii") as done_file:
                if signature in done_file.read().split():
                    return False
        except OSError:
            pass
        with open(done_path, "a", encoding="ascii") as done_file:
            done_file.write(signature + "\n")
        return True


def _per_host(task: Any) -> bool:
    """True when the task runs once per host although it asks for run_once (strategy free)."""
    if not task.run_once:
        return True
    try:
        strategy = task.get_play().strategy
    except AttributeError:
        strategy = None
    # ansible.constants defines every config setting at import (set_constant() into vars()): mypy sees none
    return (strategy or C.DEFAULT_STRATEGY) == "free"  # type: ignore[attr-defined]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=_ARGS)
        if args["policy"] is None and not args["render_only"]:
            return dict(result, failed=True, changed=False, msg="policy is required unless render_only=true")
        policy = dict(args["policy"] or {})
        try:
            policy["fail_on"] = normalize_fail_on(policy.get("fail_on", ("high", "medium")))
            policy["exceptions"] = normalize_exceptions(policy.get("exceptions"))
        except ValueError as exc:
            return dict(result, failed=True, changed=False, msg=f"verify_report: policy: {exc}")
        unknown = [f for f in args["formats"] or () if f not in RENDERER_BY_NAME]
        if unknown:
            return dict(
                result,
                failed=True,
                changed=False,
                msg=f"formats: unknown {', '.join(unknown)} (known: {', '.join(RENDERER_BY_NAME)})",
            )
        if args["stale_after"] < 0:
            return dict(result, failed=True, changed=False, msg="stale_after must be 0 or more seconds")
        report_dir = os.path.abspath(os.path.expanduser(args["report_dir"]))
        run_id = args["run_id"] or default_run_id()
        warnings: list[str] = []
        render = True
        try:
            os.makedirs(report_dir, exist_ok=True)
            if not args["render_only"]:
                batch = list(
                    task_vars.get("ansible_play_batch") or task_vars.get("ansible_play_hosts_all") or []
                )
                per_host = _per_host(self._task)
                hosts = args["hosts"] or ([task_vars["inventory_hostname"]] if per_host else batch)
                if not hosts:
                    return dict(result, failed=True, changed=False, msg="no hosts to report on (empty play?)")
                records = self._records(
                    task_vars.get("hostvars", {}), hosts, args["record_var"], policy, warnings
                )
                moment = utc_now()
                _written, errors = write_records(report_dir, (stamp(r, run_id, moment) for r in records))
                warnings.extend(errors)
                if per_host and not args["hosts"]:
                    render = _complete(report_dir, run_id, task_vars["inventory_hostname"], batch)
            if not render:
                for warning in warnings:
                    self._display.warning(f"verify_report: {warning}")
                return dict(
                    result,
                    changed=False,
                    rendered=False,
                    msg="record written; the fleet report is rendered by the host that completes the batch",
                )
            built = rebuild(
                [report_dir, *args["record_dirs"]],
                policy,
                out_dir=report_dir,
                stale_after=args["stale_after"] or None,
                run_id=run_id,
                formats=args["formats"],
            )
        except OSError as exc:
            return dict(
                result, failed=True, changed=False, msg=f"cannot write the reports to {report_dir}: {exc}"
            )
        summary = built["summary"]
        for warning in warnings + built["warnings"]:
            self._display.warning(f"verify_report: {warning}")
        paths = dict(built["paths"], report_dir=report_dir, hosts_dir=os.path.join(report_dir, "hosts"))
        result.update(
            changed=False,
            rendered=True,
            run_id=run_id,
            files=paths,
            warnings_count=len(warnings) + len(built["warnings"]),
            stats=stats_summary(summary),
            summary={
                k: summary[k]
                for k in (
                    "hosts",
                    "status",
                    "compliant",
                    "severities",
                    "check_failures",
                    "check_status",
                    "not_root",
                    "unreachable",
                    "non_compliant",
                    "stale",
                    "waived",
                    "top_findings",
                )
            },
            msg=(
                f"{summary['hosts']} host(s): {summary['status']['pass']} compliant, "
                f"{summary['status']['fail']} non-compliant, {summary['status']['error']} with errors, "
                f"{summary['status']['unreachable']} unreachable, {len(summary['stale'])} stale; "
                f"reports in {report_dir}"
            ),
        )
        return result

    def _records(
        self, hostvars: Any, hosts: list[str], name: str, policy: Mapping[str, Any], warnings: list[str]
    ) -> list[dict[str, Any]]:
        records = []
        for host in hosts:
            record = None
            try:
                record = _host_record(hostvars, host, name)
            except Exception as exc:  # an unrenderable var must not lose the whole fleet report
                warnings.append(f"cannot read the record of {host}: {exc}")
            records.append(
                _plain(record) if isinstance(record, Mapping) else missing_host_record(host, policy)
            )
        return records


# Re-exported for tests and callers of the former module layout.
__all__ = ["ActionModule", "_host_record", "_plain", "missing_host_record"]
