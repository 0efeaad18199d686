# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter tcp.keepalive.verify_checks: a host's registered results -> checks and verdict.

Documentation: verify_checks.yml next to this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import evaluate_host, public_result


def verify_checks(raw: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise AnsibleFilterError(
            f"verify_checks expects a dict of registered results, got {type(raw).__name__}"
        )
    if not isinstance(policy, Mapping):
        raise AnsibleFilterError(f"verify_checks expects a policy dict, got {type(policy).__name__}")
    try:
        record = evaluate_host(raw, policy)
    except ValueError as exc:  # a bad fail_on entry or compliance exception
        raise AnsibleFilterError(f"verify_checks: {exc}") from exc
    record["result"] = public_result(record)
    return record


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"verify_checks": verify_checks}
