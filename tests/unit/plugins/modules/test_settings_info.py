"""tcp.keepalive.settings_info main(): argument checking and the result of a real run on this machine."""

from __future__ import annotations

import json

import pytest
from ansible_collections.tcp.keepalive.plugins.modules import settings_info
from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args


def run_module(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        settings_info.main()
    result = json.loads(capsys.readouterr().out)
    return info.value.code, result


def live(key):
    try:
        with open(f"/proc/sys/net/ipv4/tcp_keepalive_{key}", encoding="ascii") as handle:
            return int(handle.read())
    except FileNotFoundError:
        return None


MDT_RANGE = "max_detection_time must be a whole number of seconds from 1 to 4194176"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"expected": {"time": 600, "bogus": 1}},
            "expected has unknown key(s) bogus; valid keys: time, intvl",
        ),
        ({"expected": {"time": "ten minutes"}}, "expected.time must be an integer, got 'ten minutes'"),
        ({"expected": "600"}, "argument 'expected' is of type"),
        ({"expected": [1]}, "we were unable to convert to dict"),
        ({"expected": {"time": 0}}, "expected.time must be between 1 and 32767, got 0"),
        ({"expected": {"probes": 500}}, "expected.probes must be between 1 and 127, got 500"),
        ({"expected": {"time": None}}, "expected.time must be an integer, got None"),
        ({"max_detection_time": -1}, MDT_RANGE),
        ({"max_detection_time": 0}, MDT_RANGE + ", got 0"),
        ({"max_detection_time": 10**30}, MDT_RANGE),
        ({"max_detection_time": True}, MDT_RANGE),
        ({"max_detection_time": 4194177}, MDT_RANGE),
        ({"max_detection_time": "soon"}, "argument 'max_detection_time' is of type"),
        ({"namespaces": "everything"}, "value of namespaces must be one of: current, all, got: everything"),
        ({"loader": "busybox"}, "value of loader must be one of: auto, systemd, procps, got: busybox"),
    ],
)
def test_bad_input_fails_with_a_clear_message(capsys, args, message):
    code, result = run_module(capsys, args)
    assert code == 1 and result["failed"] is True
    assert message in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]


def test_unknown_expected_key_message_names_valid_keys(capsys):
    code, result = run_module(capsys, {"expected": {"tme": 600}})
    assert code == 1
    assert result["msg"] == "expected has unknown key(s) tme; valid keys: time, intvl, probes"


def test_real_run_in_check_mode_reports_this_host(capsys):
    before = {key: live(key) for key in ("time", "intvl", "probes")}
    args = {"_ansible_check_mode": True, "expected": {"time": before["time"] or 7200}}
    code, result = run_module(capsys, args)
    assert code == 0 and result["changed"] is False and "failed" not in result
    assert {key: result["settings"][key]["runtime"] for key in before} == before
    assert result["loader"]["name"] in ("systemd", "procps") and result["loader"]["reason"]
    assert [ns["current"] for ns in result["namespaces"]] == [True]
    assert result["namespaces"][0]["values"] == before
    mismatch = [f for f in result["findings"] if f["id"] == "not_expected" and "at runtime" in f["message"]]
    assert mismatch == []
    assert {key: live(key) for key in before} == before  # nothing changed
