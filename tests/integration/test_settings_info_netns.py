"""settings_info with namespaces=all on the real kernel.

Creates two namespaces: A configured (600/30/5), B left at the kernel defaults. The audit runs from the
host namespace, and from inside A (so "the host is configured" without touching the host's own values):
every namespace must be reported with its own values, B with `namespace_defaults`. Namespaces are removed
in `finally`, and the host's values are checked unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _policy

pytestmark = pytest.mark.netns

KEYS = ("time", "intvl", "probes")
DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}
CONFIGURED = {"time": 600, "intvl": 30, "probes": 5}


def host_values():
    values = {}
    for key in KEYS:
        with open(f"/proc/sys/net/ipv4/tcp_keepalive_{key}", encoding="ascii") as handle:
            values[key] = int(handle.read())
    return values


def collections_root():
    return next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections/tcp/keepalive")))


@pytest.fixture
def two_namespaces():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")
    before = host_values()
    suffix = uuid.uuid4().hex[:8]
    names = {"A": f"tka-test-a-{suffix}", "B": f"tka-test-b-{suffix}"}
    try:
        for name in names.values():
            subprocess.run(["ip", "netns", "add", name], check=True)
        script = "; ".join(f"echo {v} > /proc/sys/net/ipv4/tcp_keepalive_{k}" for k, v in CONFIGURED.items())
        subprocess.run(["ip", "netns", "exec", names["A"], "sh", "-c", script], check=True)
        inodes = {label: os.stat(f"/run/netns/{name}").st_ino for label, name in names.items()}
        yield names, inodes, before
    finally:
        for name in names.values():
            subprocess.run(["ip", "netns", "delete", name], check=False)
        assert host_values() == before, "the host namespace's values changed"


def by_inode(result):
    return {entry["inode"]: entry for entry in result["namespaces"]}


def findings_for(result, inode):
    return [(f["id"], f["key"]) for f in result["findings"] if f["namespace"] == inode]


def test_audit_from_the_host_reports_each_namespace(two_namespaces):
    names, inodes, host = two_namespaces
    result = _policy.audit(namespaces="all", expected=CONFIGURED, max_detection_time=800)
    entries = by_inode(result)
    a, b = entries[inodes["A"]], entries[inodes["B"]]
    assert (a["names"], a["current"], a["values"], a["error"]) == ([names["A"]], False, CONFIGURED, None)
    assert (b["names"], b["current"], b["values"], b["error"]) == ([names["B"]], False, DEFAULTS, None)
    assert a["detection_time"] == 600 + 30 * 5 and b["detection_time"] == 7200 + 75 * 9
    current = [entry for entry in result["namespaces"] if entry["current"]]
    assert current == [result["namespaces"][0]] and current[0]["values"] == host
    assert current[0]["inode"] == os.stat("/proc/self/ns/net").st_ino
    assert findings_for(result, inodes["A"]) == []
    b_findings = findings_for(result, inodes["B"])
    assert [f for f in b_findings if f[0] != "namespace_defaults"] == [
        ("not_expected", "time"),
        ("not_expected", "intvl"),
        ("not_expected", "probes"),
        ("detection_time_exceeded", None),
    ]
    assert result["compliant"] is False


AUDIT_IN_A = (
    "import json, sys; sys.path.insert(0, sys.argv[1]);"
    "from ansible_collections.tcp.keepalive.plugins.module_utils import _policy;"
    "print(json.dumps(_policy.audit(namespaces='all')))"
)


def test_namespace_defaults_seen_from_a_configured_namespace(two_namespaces):
    names, inodes, host = two_namespaces
    command = ["ip", "netns", "exec", names["A"], sys.executable, "-c", AUDIT_IN_A, collections_root()]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    entries = by_inode(result)
    assert result["namespaces"][0]["inode"] == inodes["A"] and entries[inodes["A"]]["current"] is True
    assert {key: result["settings"][key]["runtime"] for key in KEYS} == CONFIGURED
    assert entries[inodes["B"]]["values"] == DEFAULTS
    assert findings_for(result, inodes["B"]) == [("namespace_defaults", None)]
    message = next(f["message"] for f in result["findings"] if f["namespace"] == inodes["B"])
    assert message.startswith(f"namespace {inodes['B']} (ip netns {names['B']}) is still at the kernel")
    host_inode = os.stat("/proc/self/ns/net").st_ino
    assert entries[host_inode]["values"] == host and entries[host_inode]["current"] is False
    expected_host = [("namespace_defaults", None)] if host == DEFAULTS else []
    assert [f for f in findings_for(result, host_inode) if f[0] == "namespace_defaults"] == expected_host


def test_module_through_ansible_inside_a_namespace(two_namespaces):
    names, inodes, _host = two_namespaces
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=collections_root(),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
    )
    args = json.dumps({"namespaces": "all", "expected": CONFIGURED, "max_detection_time": 750})
    run = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            names["A"],
            ansible,
            "localhost",
            "-o",
            "-m",
            "tcp.keepalive.settings_info",
            "-a",
            args,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout[run.stdout.index("{") :])
    assert result["changed"] is False
    entries = by_inode(result)
    assert entries[inodes["A"]]["current"] is True and entries[inodes["A"]]["values"] == CONFIGURED
    # A itself meets the policy at runtime; B does not (and neither does the boot model: nothing persists 600)
    assert findings_for(result, inodes["B"]) == [
        ("not_expected", "time"),
        ("not_expected", "intvl"),
        ("not_expected", "probes"),
        ("detection_time_exceeded", None),
        ("namespace_defaults", None),
    ]
    assert result["compliant"] is False
