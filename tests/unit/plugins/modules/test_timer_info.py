# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""timer_info module: input checks, failure messages, and the result shape (the kernel proof itself, with a
namespace set to 30 s, is in tests/integration/test_sockets_netns.py)."""

from __future__ import annotations

import json
import socket

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _timer_proof
from ansible_collections.tcp.keepalive.plugins.modules import timer_info
from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args


def run(capsys, args: dict) -> dict:
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit):
        timer_info.main()
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return json.loads(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"tolerance": -1}, "tolerance must be a number of seconds from 0 to 32767, got -1.0"),
        ({"tolerance": "nan"}, "tolerance must be a number of seconds from 0 to 32767, got nan"),
        ({"tolerance": "inf"}, "tolerance must be a number of seconds from 0 to 32767, got inf"),
        ({"tolerance": 1e308}, "tolerance must be a number of seconds from 0 to 32767, got 1e+308"),
        ({"tolerance": "-inf"}, "tolerance must be a number of seconds from 0 to 32767, got -inf"),
        ({"tolerance": "soon"}, "tolerance"),
        ({"expected_time": 0}, "expected_time must be a number of seconds from 1 to 32767, got 0"),
        ({"expected_time": 40000}, "expected_time must be a number of seconds from 1 to 32767, got 40000"),
        ({"expected_time": 10**30}, "expected_time must be a number of seconds from 1 to 32767"),
        ({"expected_time": True}, "expected_time must be a number of seconds from 1 to 32767, got True"),
        ({"expected_time": "soon"}, "expected_time"),
        ({"fail_on_mismatch": "perhaps"}, "fail_on_mismatch"),
    ],
)
def test_bad_input_fails_with_a_message(capsys, args, message):
    result = run(capsys, args)
    assert result["failed"] is True and message in result["msg"]


def test_proof_in_this_namespace_matches_its_sysctl(capsys):
    with open("/proc/sys/net/ipv4/tcp_keepalive_time", encoding="ascii") as handle:
        time_now = int(handle.read())
    result = run(capsys, {})
    assert result["changed"] is False
    assert (result["expected_time"], result["expected_source"]) == (time_now, "sysctl")
    assert result["ok"] is True and result["findings"] == []
    assert time_now - 2 <= result["observed_time"] <= time_now


def test_mismatch_is_a_finding_and_can_fail_the_task(capsys):
    with open("/proc/sys/net/ipv4/tcp_keepalive_time", encoding="ascii") as handle:
        wrong = int(handle.read()) + 100
    result = run(capsys, {"expected_time": wrong, "tolerance": 1})
    assert result["ok"] is False and "failed" not in result
    assert [f["id"] for f in result["findings"]] == ["timer_mismatch"]
    assert result["findings"][0]["severity"] == "high" and result["findings"][0]["expected"] == wrong
    failed = run(capsys, {"expected_time": wrong, "fail_on_mismatch": True})
    assert failed["failed"] is True and "does not match the expected" in failed["msg"]


def test_no_loopback_is_a_clear_failure(capsys, monkeypatch):
    def refuse(self, address):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = run(capsys, {})
    assert result["failed"] is True and "is `lo` up" in result["msg"]


def test_proof_shape_without_sock_diag(monkeypatch):
    def unavailable(*_args, **_kwargs):
        raise _timer_proof._sockdiag.SockDiagError("no netlink here")

    monkeypatch.setattr(_timer_proof._sockdiag, "query_tcp", unavailable)
    proof = _timer_proof.prove_keepalive_timer().as_dict()
    assert proof["method"] == "proc" and proof["timer"] == "keepalive" and proof["ok"] is True
