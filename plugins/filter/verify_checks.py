# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter tcp.keepalive.verify_checks: a host's registered results -> checks and verdict.

Its documentation is in this file, not in a verify_checks.yml beside it: with both, galaxy-importer lists
the filter twice.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_checks
short_description: Evaluate one host's keepalive facts against a policy
version_added: 0.1.0
author:
  - tcp.keepalive developers (@tcp-keepalive)
description:
  - Used by the R(tcp.keepalive.verify,ansible_collections.tcp.keepalive.verify_role) role. Takes the
    registered results of M(ansible.builtin.setup), M(tcp.keepalive.settings_info),
    M(tcp.keepalive.sockets_info) and M(tcp.keepalive.timer_info) for one host and returns the host's report
    record, with one check per assertion of the role and the host's verdict.
  - Runs on the controller and never contacts the host.
  - A finding fails its check when its id or its severity is listed in the policy's C(fail_on).
positional: _input, policy
options:
  _input:
    description:
      - 'A dict with the keys C(host) (inventory name) and C(audit) (the registered result of
        M(tcp.keepalive.audit_info), or an unreachable result).'
      - 'Also accepted: C(host), C(reach) (the registered setup result), C(settings), C(sockets) and
        C(timer) (registered results of the three info modules, skipped or failed ones allowed).'
    type: dict
    required: true
  policy:
    description:
      - 'The policy: C(expected) (dict with C(time), C(intvl), C(probes)), C(max_detection_time),
        C(fail_on) (list of finding ids and severities), C(require_root), C(idle_threshold), C(exceptions)
        (list of C(hosts) pattern, C(finding) id or C(service) pattern, C(reason), C(expires) date).'
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Evaluate this host
  ansible.builtin.set_fact:
    keepalive_record: >-
      {{ {'host': inventory_hostname, 'audit': keepalive_audit} | tcp.keepalive.verify_checks(policy) }}
  vars:
    policy:
      expected: {time: 600, intvl: 60, probes: 5}
      max_detection_time: 900
      fail_on: [high, medium]
      require_root: false
      idle_threshold: 600
"""

RETURN = r"""
_value:
  description:
    - 'The host record: C(host), C(status) (V(pass), V(fail), V(error) or V(unreachable)), C(message),
      C(privileged), C(checks) (list of C(name), C(title), C(status) V(pass)/V(warn)/V(fail)/V(error),
      C(ok), C(failing), C(other), C(message)), C(findings), C(values) (C(runtime) and C(boot) values),
      C(detection_time), C(services_without_keepalive), C(ghost_candidates), C(limitations), C(errors),
      C(summary), C(facts) (the module results), C(result) (the small public verdict the role publishes
      as C(tcp_keepalive_verify_result)) and C(asserts) (what the role asserts: each check that failed,
      status V(fail) or V(error), as C(name), C(status), C(ok), C(message); for an unreachable host, or
      one whose verdict is not V(pass) without a failed check, one entry C(host) carrying the verdict).'
    - 'Each finding carries C(scope) (V(runtime) or V(boot)); a finding under a valid compliance exception
      carries C(waived) and never fails; one whose exception has expired carries C(waiver_expired) and fails.'
  type: dict
"""

from collections.abc import Mapping
from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import evaluate_record


def verify_checks(raw: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise AnsibleFilterError(
            f"verify_checks expects a dict of registered results, got {type(raw).__name__}"
        )
    if not isinstance(policy, Mapping):
        raise AnsibleFilterError(f"verify_checks expects a policy dict, got {type(policy).__name__}")
    try:
        return evaluate_record(raw, policy)
    except ValueError as exc:  # a bad fail_on entry or compliance exception
        raise AnsibleFilterError(f"verify_checks: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"verify_checks": verify_checks}
