#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_info
short_description: Everything the keepalive audit needs from a host, in one module call
version_added: 0.1.0
description:
  - Runs on the managed node what M(tcp.keepalive.settings_info), M(tcp.keepalive.sockets_info) and
    M(tcp.keepalive.timer_info) do, in one process and one round trip, and reports the effective user the
    audit ran as. The role C(tcp.keepalive.verify) uses it instead of C(setup) plus three module calls.
  - Each part is independent. A part that fails (bad option, permission, missing kernel feature) is
    returned with C(failed=true) and its C(msg); the other parts are still gathered. The task itself
    fails only when every part failed.
  - Changes nothing on the host.
  - With O(policy), the action plugin of this module also evaluates the result on the controller, as the
    filter P(tcp.keepalive.verify_checks#filter) does, and returns the host record as RV(record). The task
    then neither fails nor is unreachable; an unreachable host or a failed module becomes the verdict of
    the record (status V(unreachable) or V(error)), with a warning; each check that passed with a warning
    is returned as a warning of the task. The role C(tcp.keepalive.verify) works
    this way, in one task per host.
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
  - tcp.keepalive._attributes.info_module
attributes:
  action:
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on
        the controller.
    support: full
    details:
      - O(policy) is evaluated by the action plugin on the controller.
options:
  settings:
    description:
      - Options of the settings part, as for M(tcp.keepalive.settings_info).
    type: dict
    default: {}
    suboptions:
      expected:
        description: Expected values, a dict of C(time), C(intvl), C(probes).
        type: dict
      max_detection_time:
        description: Longest accepted time + intvl * probes, in seconds.
        type: int
      loader:
        description: Which boot-time loader decides the values after reboot.
        type: str
        default: auto
        choices: [auto, systemd, procps]
      namespaces:
        description: V(all) also audits every other network namespace.
        type: str
        default: current
        choices: [current, all]
  sockets:
    description:
      - Options of the sockets part, exactly as for M(tcp.keepalive.sockets_info) (C(states), C(ports),
        C(exclude_ports), C(include_loopback), C(services), C(exclude_services), C(idle_threshold),
        C(max_detection_time), C(namespaces), C(detail), C(read_socket_options), C(probe_listeners));
        checked by the same code, so a bad value is named the same way, prefixed with C(sockets.).
    type: dict
    default: {}
  timer:
    description: Options of the active timer proof, as for M(tcp.keepalive.timer_info).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Run the proof (one loopback connection, closed at once).
        type: bool
        default: true
      expected_time:
        description: Keepalive time, in seconds, the timer must show (1 to 32767).
        type: int
      tolerance:
        description: Largest accepted difference in seconds (0 to 3600).
        type: float
        default: 2
  policy:
    description:
      - The policy to evaluate the result against, on the controller (never sent to the host), the same
        dict as the O(tcp.keepalive.verify_checks#filter:policy) of the filter
        P(tcp.keepalive.verify_checks#filter), with C(expected), C(max_detection_time), C(fail_on),
        C(require_root), C(idle_threshold) and C(exceptions).
      - When set, RV(record) is returned, with the verdict also at the top level of the result (RV(status),
        RV(compliant), RV(checks), RV(failed_checks), RV(findings), RV(finding_ids), RV(waived),
        RV(detection_time), RV(privileged)). Registering the task publishes the verdict, as the verify role
        does with C(tcp_keepalive_verify_result). The task does not fail for the host's state.
    type: dict
notes:
  - Run it as root to see every socket and network namespace; as another user it reports what that user can
    see, and RV(user) says who ran it.
seealso:
  - module: tcp.keepalive.settings_info
  - module: tcp.keepalive.sockets_info
  - module: tcp.keepalive.timer_info
  - ref: ansible_collections.tcp.keepalive.verify_role
    description: The role that turns this result into checks and fleet reports.
"""

EXAMPLES = r"""
- name: Gather what the keepalive audit needs, in one round trip
  tcp.keepalive.audit_info:
    settings:
      expected: {time: 600, intvl: 60, probes: 5}
      max_detection_time: 900
    sockets:
      idle_threshold: 900
      exclude_services: [sshd.service]
    timer:
      expected_time: 600
  register: keepalive_audit

- name: Show the effective user and the settings findings
  ansible.builtin.debug:
    msg: "{{ keepalive_audit.user.name }}: {{ keepalive_audit.settings.findings | map(attribute='id') }}"

- name: Gather and evaluate against a policy in the same task (an unreachable host becomes a verdict)
  tcp.keepalive.audit_info:
    settings:
      expected: {time: 600, intvl: 60, probes: 5}
    policy:
      expected: {time: 600, intvl: 60, probes: 5}
      max_detection_time: 900
      fail_on: [high, medium]
  register: keepalive_verdict

- name: Fail the hosts whose verdict is not pass, after whatever else the play does with the records
  ansible.builtin.assert:
    that: keepalive_verdict.compliant
    fail_msg: "{{ keepalive_verdict.record.message }}"
"""

RETURN = r"""
user:
  description: The effective user the module ran as.
  returned: always
  type: dict
  contains:
    uid:
      description: Effective uid.
      type: int
    name:
      description: User name, or the uid as text when it has no passwd entry.
      type: str
  sample: {uid: 0, name: root}
settings:
  description:
    - What M(tcp.keepalive.settings_info) returns, or C(failed) and C(msg).
    - With O(policy), in RV(record) as C(record.facts.settings) instead (not twice in one result).
  returned: when O(policy) is not set
  type: dict
sockets:
  description:
    - What M(tcp.keepalive.sockets_info) returns, or C(failed) and C(msg).
    - With O(policy), in RV(record) as C(record.facts.sockets) instead (not twice in one result).
  returned: when O(policy) is not set
  type: dict
timer:
  description:
    - What M(tcp.keepalive.timer_info) returns, C(skipped) when O(timer.enabled=false), or C(failed).
    - With O(policy), in RV(record) as C(record.facts.timer) instead (not twice in one result).
  returned: when O(policy) is not set
  type: dict
record:
  description:
    - The host record, as the filter P(tcp.keepalive.verify_checks#filter) returns it (C(status), C(checks),
      C(findings), C(result) (the small public verdict), C(asserts), C(facts) (the module's C(settings),
      C(sockets) and C(timer)) and the rest); for an unreachable host the record of an unreachable host.
  returned: when O(policy) is set
  type: dict
  sample:
    host: web1
    status: fail
    result: {status: fail, compliant: false, failed_checks: [runtime_values]}
status:
  description: The host's verdict, V(pass), V(fail), V(error) or V(unreachable) (as C(record.status)).
  returned: when O(policy) is set
  type: str
  sample: fail
compliant:
  description: Whether the verdict is V(pass).
  returned: when O(policy) is set
  type: bool
  sample: false
checks:
  description: Each check's name and its status (V(pass), V(warn), V(fail), V(error) or V(skipped)).
  returned: when O(policy) is set
  type: dict
  sample: {runtime_values: fail, persistence: pass, timer: pass}
failed_checks:
  description: The names of the checks that failed.
  returned: when O(policy) is set
  type: list
  elements: str
  sample: [runtime_values]
findings:
  description: How many findings of each severity (waived ones not counted).
  returned: when O(policy) is set
  type: dict
  sample: {high: 0, medium: 1, low: 0, info: 2}
finding_ids:
  description: The ids of the findings that are not waived, sorted.
  returned: when O(policy) is set
  type: list
  elements: str
  sample: [runtime_mismatch]
waived:
  description: How many findings a valid compliance exception covers.
  returned: when O(policy) is set
  type: int
  sample: 0
detection_time:
  description: Worst-case dead-peer detection time in seconds, live (C(runtime)) and after reboot (C(boot)).
  returned: when O(policy) is set
  type: dict
  sample: {runtime: 7875, boot: 7875}
privileged:
  description: Whether the module ran as root (everything was visible).
  returned: when O(policy) is set
  type: bool
  sample: true
"""

import os
import pwd
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._policy import PolicyError, audit
from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import (
    OptionError,
    ResultTooLarge,
    parse_options,
    scan_sockets,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._timer_proof import (
    ProofError,
    option_problem,
    proof_result,
    prove_keepalive_timer,
)

ARGUMENT_SPEC = {
    "settings": {
        "type": "dict",
        "default": {},
        "options": {
            "expected": {"type": "dict"},
            "max_detection_time": {"type": "int"},
            "loader": {"type": "str", "default": "auto", "choices": ["auto", "systemd", "procps"]},
            "namespaces": {"type": "str", "default": "current", "choices": ["current", "all"]},
        },
    },
    "sockets": {"type": "dict", "default": {}},
    "timer": {
        "type": "dict",
        "default": {},
        "options": {
            "enabled": {"type": "bool", "default": True},
            "expected_time": {"type": "int"},
            "tolerance": {"type": "float", "default": 2.0},
        },
    },
    # Evaluated by the action plugin on the controller, which removes it from the module's arguments.
    "policy": {"type": "dict"},
}


def _user() -> dict[str, Any]:
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return {"uid": uid, "name": name}


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    try:
        result = audit(
            expected=params["expected"],
            max_detection_time=params["max_detection_time"],
            loader=params["loader"],
            namespaces=params["namespaces"],
        )
    except PolicyError as exc:
        return {"failed": True, "msg": f"settings: {exc}"}
    except OSError as exc:
        return {"failed": True, "msg": f"cannot audit the keepalive settings: {exc}"}
    warnings = []
    if result.get("hidden_processes"):
        warnings.append(
            f"{result['hidden_processes']} process(es) hidden: permission denied reading their "
            "/proc/<pid>/ns/net, so their network namespace may be missing from `namespaces`"
        )
    return dict(result, changed=False, warnings=warnings)


def _sockets(params: dict[str, Any]) -> dict[str, Any]:
    try:
        options = parse_options(dict(params))
    except OptionError as exc:
        return {"failed": True, "msg": f"sockets.{exc}"}
    try:
        result = scan_sockets(options)
    except ResultTooLarge as exc:
        return {"failed": True, "msg": f"sockets.{exc}"}
    except OSError as exc:
        return {"failed": True, "msg": f"cannot scan the TCP sockets: {exc}"}
    warnings = []
    if os.geteuid() != 0:
        warnings.append(
            "not running as root: sockets of other users have no visible owner and are "
            "classified by the keepalive timer only"
        )
    failed = [ns for ns in result.get("summary", {}).get("namespaces", ()) if ns.get("error")]
    if failed:
        warnings.append(
            f"{len(failed)} network namespace(s) not scanned, e.g. {failed[0]['inode']}: "
            f"{failed[0]['error']} (see summary.namespaces)"
        )
    return dict(result, changed=False, warnings=warnings)


def _timer(params: dict[str, Any]) -> dict[str, Any]:
    if not params["enabled"]:
        return {"skipped": True, "disabled": True, "msg": "timer proof disabled (timer.enabled=false)"}
    tolerance, expected = params["tolerance"], params["expected_time"]
    problem = option_problem(tolerance, expected, prefix="timer.")
    if problem:
        return {"failed": True, "msg": problem}
    try:
        proof = prove_keepalive_timer(tolerance=tolerance, expected_time=expected)
    except (ProofError, OSError) as exc:
        return {"failed": True, "msg": f"timer proof: {exc}"}
    result = proof_result(proof)
    return dict(result, changed=False)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    parts = {
        "settings": _settings(module.params["settings"]),
        "sockets": _sockets(module.params["sockets"] or {}),
        "timer": _timer(module.params["timer"]),
    }
    result: dict[str, Any] = dict(parts, user=_user(), changed=False)
    ran = [part for part in parts.values() if not part.get("skipped")]
    if ran and all(part.get("failed") for part in ran):
        module.fail_json(msg="; ".join(part["msg"] for part in ran), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
