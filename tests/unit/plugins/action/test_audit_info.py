# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit_info's action plugin: the module unchanged without `policy`; with it, the host's verdict in the same
task, never a task failure for the host's state (unreachable, failed module), a clear msg for a bad policy.

The module's execution is replaced by a recorded result (ActionBase._execute_module is what would send it to
the host); everything after it, the evaluation included, is the real code. The whole role runs against real
hosts in tests/integration and the molecule scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible_collections.tcp.keepalive.plugins.action import audit_info
from ansible_collections.tcp.keepalive.plugins.module_utils import _policy
from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import evaluate_record

EXPECTED = {"time": 600, "intvl": 60, "probes": 5}
POLICY = {"expected": EXPECTED, "max_detection_time": 900, "fail_on": ["high", "medium"]}
ARGS = {"settings": {"expected": EXPECTED}, "timer": {"enabled": False}}

QUIET_SOCKETS = {"changed": False, "findings": [], "sockets": [], "services": {}}
TIMER_DISABLED = {"skipped": True, "disabled": True, "msg": "timer proof disabled (timer.enabled=false)"}


def _module_result(root: Path, live: dict[str, int], persisted: dict[str, int]) -> dict[str, Any]:
    """What the module returns on a host whose /proc/sys and /etc/sysctl.d are the fixture tree at root:
    its settings part is module_utils._policy.audit on that tree, as on the host."""
    (root / "proc/sys/net/ipv4").mkdir(parents=True)
    for key, value in live.items():
        (root / f"proc/sys/net/ipv4/tcp_keepalive_{key}").write_text(f"{value}\n")
    conf = root / "etc/sysctl.d/60-tcp-keepalive.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("".join(f"net.ipv4.tcp_keepalive_{k} = {v}\n" for k, v in persisted.items()))
    settings = _policy.audit(root=str(root), expected=EXPECTED, max_detection_time=900, loader="procps")
    return {
        "changed": False,
        "user": {"uid": 0, "name": "root"},
        "settings": dict(settings, changed=False),
        "sockets": QUIET_SOCKETS,
        "timer": TIMER_DISABLED,
    }


@pytest.fixture
def configured(tmp_path: Path) -> dict[str, Any]:
    return _module_result(tmp_path, EXPECTED, EXPECTED)


@pytest.fixture
def drifted(tmp_path: Path) -> dict[str, Any]:
    return _module_result(tmp_path, {"time": 7200, "intvl": 75, "probes": 9}, EXPECTED)


def _action(args: dict[str, Any], module: Any) -> tuple[audit_info.ActionModule, mock.Mock]:
    task = Task()
    task.action = "tcp.keepalive.audit_info"
    task.args = args
    action = audit_info.ActionModule(
        task=task,
        connection=mock.Mock(),
        play_context=PlayContext(),
        loader=mock.Mock(),
        templar=mock.Mock(),
        shared_loader_obj=mock.Mock(),
    )
    execute = mock.Mock(side_effect=module) if callable(module) or isinstance(module, Exception) else None
    if execute is None:
        execute = mock.Mock(return_value=module)
    action._execute_module = execute  # type: ignore[method-assign]
    return action, execute


def _run(args: dict[str, Any], module: Any) -> tuple[dict[str, Any], mock.Mock]:
    action, execute = _action(args, module)
    return action.run(task_vars={"inventory_hostname": "web1"}), execute


def test_without_policy_it_is_the_module_unchanged(configured):
    result, execute = _run(dict(ARGS), dict(configured))
    execute.assert_called_once()
    assert execute.call_args.kwargs["module_name"] == "tcp.keepalive.audit_info"
    assert execute.call_args.kwargs["module_args"] == ARGS
    assert "record" not in result
    assert result["settings"] == configured["settings"] and result["user"] == {"uid": 0, "name": "root"}


def test_a_failed_module_without_policy_fails_the_task():
    result = _run(dict(ARGS), {"failed": True, "msg": "boom"})[0]
    assert result["failed"] is True and result["msg"] == "boom"


def test_a_configured_host_passes_with_nothing_to_assert(configured):
    result, execute = _run(dict(ARGS, policy=POLICY), dict(configured))
    assert execute.call_args.kwargs["module_args"] == ARGS  # the policy is never sent to the host
    assert result["changed"] is False and not result.get("failed")
    record = result["record"]
    assert record["host"] == "web1" and record["status"] == "pass", record["message"]
    assert record["result"]["compliant"] is True and record["result"]["checks"]["timer"] == "skipped"
    assert record["asserts"] == []
    # the same record as the filter tcp.keepalive.verify_checks gives; the parts only once, in the record
    expected = evaluate_record({"host": "web1", "audit": dict(configured)}, POLICY)
    assert {k: v for k, v in record.items() if k != "run"} == {
        k: v for k, v in expected.items() if k != "run"
    }
    assert record["facts"]["settings"] == {k: v for k, v in configured["settings"].items() if k != "changed"}
    assert "settings" not in result and "sockets" not in result and "timer" not in result
    assert result["user"] == {"uid": 0, "name": "root"}
    # registering the task publishes the verdict (the role's tcp_keepalive_verify_result, no set_fact)
    assert {k: result[k] for k in record["result"]} == record["result"]
    assert result["status"] == "pass" and result["compliant"] is True


def test_the_modules_warnings_are_kept_with_policy(configured):
    result = _run(dict(ARGS, policy=POLICY), dict(configured, warnings=["cannot read /proc/42/fd"]))[0]
    assert result["warnings"] == ["cannot read /proc/42/fd"]


def test_a_host_out_of_policy_fails_in_the_record_not_in_the_task(drifted):
    result = _run(dict(ARGS, policy=POLICY), dict(drifted))[0]
    assert not result.get("failed")
    record = result["record"]
    assert record["status"] == "fail" and record["result"]["compliant"] is False
    assert "runtime_values" in record["result"]["failed_checks"]
    assert result["status"] == "fail" and result["compliant"] is False
    assert result["checks"]["runtime_values"] == "fail"
    assert result["failed_checks"] == record["result"]["failed_checks"]
    failing = {a["name"]: a for a in record["asserts"]}
    assert failing["runtime_values"]["ok"] is False and failing["runtime_values"]["status"] == "fail"
    assert "7200" in failing["runtime_values"]["message"]
    assert all(a["ok"] is False and a["status"] in ("fail", "error") for a in record["asserts"])


def test_a_check_passed_with_a_warning_is_a_task_warning_not_an_assert(configured):
    # not root: the privileges check warns (tcp_keepalive_verify_require_root is off)
    result = _run(dict(ARGS, policy=POLICY), dict(configured, user={"uid": 1000, "name": "alice"}))[0]
    record = result["record"]
    assert record["status"] == "pass" and record["result"]["checks"]["privileges"] == "warn"
    assert record["asserts"] == []
    assert [w for w in result["warnings"] if w.startswith("web1: check privileges passed with a warning: ")]


def test_an_unreachable_host_is_a_verdict_with_one_assert_and_a_warning():
    refused = AnsibleConnectionFailure("ssh: connect to host 127.0.0.1 port 1")
    action = _action(dict(ARGS, policy=POLICY), refused)[0]
    with mock.patch.object(action, "_display") as display:
        result = action.run(task_vars={"inventory_hostname": "web1"})
    assert not result.get("failed") and not result.get("unreachable")
    record = result["record"]
    assert record["status"] == "unreachable"
    assert record["result"]["status"] == "unreachable" and record["result"]["compliant"] is False
    assert result["status"] == "unreachable" and result["compliant"] is False
    assert [(a["name"], a["ok"]) for a in record["asserts"]] == [("host", False)]
    assert "port 1" in str(record["asserts"][0]["message"])
    display.warning.assert_called_once()
    assert "web1: unreachable" in display.warning.call_args.args[0]


def test_a_module_that_failed_is_an_error_verdict_not_a_task_failure():
    action = _action(dict(ARGS, policy=POLICY), {"failed": True, "msg": "MODULE FAILURE: no python"})[0]
    with mock.patch.object(action, "_display") as display:
        result = action.run(task_vars={"inventory_hostname": "web1"})
    assert not result.get("failed")
    record = result["record"]
    assert record["status"] not in ("pass", "unreachable")
    assert record["asserts"] and not all(a["ok"] for a in record["asserts"])
    assert "audit_info failed" in display.warning.call_args.args[0]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("high", "policy must be a dict, got str"),
        (dict(POLICY, fail_on=["no_such_finding_or_severity"]), "audit_info: policy: "),
    ],
)
def test_a_bad_policy_fails_the_task_with_a_message(policy, message, configured):
    result = _run(dict(ARGS, policy=policy), dict(configured))[0]
    assert result["failed"] is True and message in result["msg"]
    assert "record" not in result
