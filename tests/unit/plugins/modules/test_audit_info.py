# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit_info's timer part: the same option limits and result shape as timer_info (one shared check)."""

from __future__ import annotations

import pytest
from ansible_collections.tcp.keepalive.plugins.modules import audit_info


def timer(**options) -> dict:
    return audit_info._timer(dict({"enabled": True, "expected_time": None, "tolerance": 2.0}, **options))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tolerance": float("nan")}, "timer.tolerance must be a number of seconds from 0 to 32767, got nan"),
        ({"tolerance": float("inf")}, "timer.tolerance must be a number of seconds from 0 to 32767, got inf"),
        ({"tolerance": -1.0}, "timer.tolerance must be a number of seconds from 0 to 32767, got -1.0"),
        (
            {"expected_time": 40000},
            "timer.expected_time must be a number of seconds from 1 to 32767, got 40000",
        ),
        ({"expected_time": 0}, "timer.expected_time must be a number of seconds from 1 to 32767, got 0"),
    ],
)
def test_bad_timer_options_fail_the_part_with_a_named_message(options, message):
    result = timer(**options)
    assert result == {"failed": True, "msg": message}


def test_disabled_timer_is_skipped():
    assert timer(enabled=False)["skipped"] is True


def test_timer_part_matches_this_namespace_and_a_wrong_expectation_is_a_finding():
    with open("/proc/sys/net/ipv4/tcp_keepalive_time", encoding="ascii") as handle:
        time_now = int(handle.read())
    ok = timer()
    assert ok["ok"] is True and ok["findings"] == [] and ok["expected_time"] == time_now
    wrong = timer(expected_time=time_now + 100 if time_now < 32000 else time_now - 100, tolerance=1.0)
    assert wrong["ok"] is False
    assert [finding["id"] for finding in wrong["findings"]] == ["timer_mismatch"]


def test_settings_part_bounds_max_detection_time_like_settings_info():
    result = audit_info._settings(
        {"expected": None, "max_detection_time": 10**30, "loader": "auto", "namespaces": "current"}
    )
    assert result["failed"] is True
    assert result["msg"].startswith(
        "settings: max_detection_time must be a whole number of seconds from 1 to 4194176, got 1000"
    )
