# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tcp.keepalive.audit_info: the module's one round trip, and, with `policy`, the verdict.

Without `policy` this is the module, unchanged. With `policy` (the verify role passes it) the module's
result is evaluated here on the controller, in the same task, by the code of the filter
tcp.keepalive.verify_checks, and returned as `record`: the host record with its checks, verdict, public
result and what the role asserts; the public result's keys (`status`, `compliant`, `checks`, ...) are also
the task result's own, so that registering the task is publishing the verdict (the role registers it as
tcp_keepalive_verify_result: no `set_fact` task, another worker process per host). Then the task itself
never fails: an unreachable host or a failed module is a verdict of the record (status `unreachable` or
`error`), which the role asserts after the reports are written. One task instead of a module task, an
evaluating `set_fact` and `ignore_unreachable` + `ignore_errors` (each task costs a worker process per
host; the filter would be loaded in each of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import check_warnings, evaluate_record

MODULE = "tcp.keepalive.audit_info"
_KEPT_WITH_POLICY = ("user", "warnings", "deprecations", "msg")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        policy = args.pop("policy", None)
        if policy is None:
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result
        if not isinstance(policy, Mapping):
            return dict(
                result, failed=True, changed=False, msg=f"policy must be a dict, got {type(policy).__name__}"
            )
        host = str(task_vars.get("inventory_hostname", ""))
        try:
            audit = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            audit = {"unreachable": True, "msg": to_text(exc)}
        try:
            record = evaluate_record({"host": host, "audit": audit}, policy)
        except ValueError as exc:  # a bad fail_on entry or compliance exception: the policy, not the host
            return dict(result, failed=True, changed=False, msg=f"audit_info: policy: {exc}")
        if audit.get("unreachable") or audit.get("failed"):
            what = "unreachable" if audit.get("unreachable") else "audit_info failed"
            self._display.warning(f"{host}: {what}, recorded in the reports: {audit.get('msg', '')}")
        # The parts are in the record (record.facts); returned once, not twice: the registered result of every
        # host stays in the controller's memory for the play. The module's warnings are still shown.
        result.update({k: v for k, v in audit.items() if k in _KEPT_WITH_POLICY})
        warnings = check_warnings(record)
        if warnings:  # the role asserts only failed checks; a warning is printed here, at any verbosity
            result["warnings"] = [*result.get("warnings", ()), *warnings]
        # the verdict at the top level: the registered result is the public tcp_keepalive_verify_result
        result.update(record["result"])
        result.update(changed=False, record=record)
        return result
