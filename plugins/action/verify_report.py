# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action tcp.keepalive.verify_report: write the fleet reports of the verify role on the controller.

Runs once per play (run_once) and never contacts a managed node: it reads each play host's record (set by
the role through the tcp.keepalive.verify_checks filter) from hostvars, one lookup per host, and renders
every report in one linear pass (plugins/plugin_utils/_report.py). Hosts without a record (unreachable,
or failed before the role ran) are reported as unreachable. changed is always false: nothing on any host
changes, and the report files live on the controller.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from ansible.plugins.action import ActionBase
from ansible_collections.tcp.keepalive.plugins.plugin_utils._report import (
    missing_host_record,
    normalize_fail_on,
    summarize_fleet,
    write_reports,
)

_ARGS = {
    "report_dir": {"type": "path", "required": True},
    "policy": {"type": "dict", "required": True},
    "hosts": {"type": "list", "elements": "str"},
    "record_var": {"type": "str", "default": "__tcp_keepalive_verify_record"},
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
    record, which set_fact already rendered (templating it again costs milliseconds per host, and must not
    happen to strings read from the hosts); a plain mapping of mappings (tests) works too."""
    if host not in hostvars:
        return None
    raw_get = getattr(hostvars, "raw_get", None)
    variables = raw_get(host) if raw_get is not None else hostvars[host]
    return variables.get(name) if isinstance(variables, Mapping) else None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=_ARGS)
        policy = dict(args["policy"])
        try:
            policy["fail_on"] = normalize_fail_on(policy.get("fail_on", ("high", "medium")))
        except ValueError as exc:
            return dict(result, failed=True, changed=False, msg=str(exc))
        hosts: list[str] = args["hosts"] or list(task_vars.get("ansible_play_hosts_all") or [])
        if not hosts:
            return dict(result, failed=True, changed=False, msg="no hosts to report on (empty play?)")
        hostvars = task_vars.get("hostvars", {})
        records = []
        for host in hosts:
            record = None
            try:
                record = _host_record(hostvars, host, args["record_var"])
            except Exception as exc:  # an unrenderable var must not lose the whole fleet report
                self._display.warning(f"verify_report: cannot read the record of {host}: {exc}")
            records.append(
                _plain(record) if isinstance(record, Mapping) else missing_host_record(host, policy)
            )
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        summary = summarize_fleet(records, policy, generated)
        try:
            paths = write_reports(args["report_dir"], records, summary)
        except OSError as exc:
            return dict(
                result,
                failed=True,
                changed=False,
                msg=f"cannot write the reports to {args['report_dir']}: {exc}",
            )
        host_files = paths.pop("host_files")
        result.update(
            changed=False,
            files=paths,
            host_files=host_files if len(host_files) <= 50 else {},
            summary={
                k: summary[k]
                for k in (
                    "hosts",
                    "status",
                    "compliant",
                    "severities",
                    "check_failures",
                    "not_root",
                    "unreachable",
                )
            },
            msg=(
                f"{summary['hosts']} host(s): {summary['status']['pass']} compliant, "
                f"{summary['status']['fail']} non-compliant, {summary['status']['error']} with errors, "
                f"{summary['status']['unreachable']} unreachable; reports in {paths['report_dir']}"
            ),
        )
        return result
