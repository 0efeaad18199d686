# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sockets_info and timer_info on the real kernel, each scenario in a private network namespace.

The test body runs in a forked child that unshares its network namespace (the host's is never touched),
brings `lo` up, opens real sockets with and without SO_KEEPALIVE, per-socket TCP_KEEPIDLE and
TCP_USER_TIMEOUT, and runs the scan there; the result comes back as JSON over a pipe and the parent asserts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import parse_options
from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import scan_sockets
from ansible_collections.tcp.keepalive.plugins.module_utils._timer_proof import prove_keepalive_timer
from ansible_collections.tcp.keepalive.tests.integration.forked import in_private_netns

pytestmark = pytest.mark.netns
KEEPIDLE, KEEPINTVL, USER_TIMEOUT = socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_USER_TIMEOUT


@pytest.fixture(autouse=True)
def _needs_root():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")


def set_time(value: int) -> None:
    with open("/proc/sys/net/ipv4/tcp_keepalive_time", "w", encoding="ascii") as handle:
        handle.write(f"{value}\n")


def inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def open_sockets(held: list) -> dict:
    """L1: listener with SO_KEEPALIVE, TCP_KEEPIDLE 50, TCP_USER_TIMEOUT 20 s (inherited by A1), C1 plain
    client; L2 plain listener, C2 client with SO_KEEPALIVE + TCP_KEEPIDLE 40 + TCP_KEEPINTVL 10, A2 plain."""
    l1 = socket.socket()
    l1.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    l1.setsockopt(socket.IPPROTO_TCP, KEEPIDLE, 50)
    l1.setsockopt(socket.IPPROTO_TCP, USER_TIMEOUT, 20000)
    l1.bind(("127.0.0.1", 0))
    l1.listen(8)
    c1 = socket.create_connection(l1.getsockname())
    a1 = l1.accept()[0]
    l2 = socket.socket(socket.AF_INET6)
    l2.bind(("::1", 0))
    l2.listen(8)
    c2 = socket.socket(socket.AF_INET6)
    c2.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c2.setsockopt(socket.IPPROTO_TCP, KEEPIDLE, 40)
    c2.setsockopt(socket.IPPROTO_TCP, KEEPINTVL, 10)
    c2.connect(l2.getsockname()[:2])
    a2 = l2.accept()[0]
    held.extend([l1, c1, a1, l2, c2, a2])
    return {name: inode(sock) for name, sock in zip(("L1", "C1", "A1", "L2", "C2", "A2"), held)}


def scan_roles(raw: dict, sysctl_time: int | None = None) -> dict:
    if sysctl_time is not None:
        set_time(sysctl_time)
    held: list = []
    roles = open_sockets(held)
    result = scan_sockets(parse_options(dict({"include_loopback": True}, **raw)))
    by_inode = {entry["inode"]: entry for entry in result["sockets"]}
    return {
        "sockets": {role: by_inode.get(number) for role, number in roles.items()},
        "findings": result["findings"],
        "summary": result["summary"],
        "pid": os.getpid(),
    }


def test_socket_options_classify_every_socket():
    got = in_private_netns(scan_roles, {"read_socket_options": "always"})
    sockets = got["sockets"]
    for role in ("L1", "A1", "C2"):
        assert (sockets[role]["keepalive"], sockets[role]["keepalive_source"]) == (True, "sockopt"), role
    for role in ("C1", "L2", "A2"):
        assert (sockets[role]["keepalive"], sockets[role]["keepalive_source"]) == (False, "sockopt"), role
    # Accepted sockets inherit the listener's per-socket values.
    a1 = sockets["A1"]
    assert (a1["keepidle"], a1["user_timeout"], a1["params_source"]) == (50, 20000, "sockopt")
    assert a1["detection_time"] == 50 + 75  # TCP_USER_TIMEOUT 20 s: reset at the first tick after a probe
    c2 = sockets["C2"]
    assert (c2["keepidle"], c2["keepintvl"], c2["keepcnt"]) == (40, 10, 9)
    assert c2["detection_time"] == 40 + 10 * 9
    assert all(entry["processes"][0]["pid"] == got["pid"] for entry in sockets.values())
    listeners = [f for f in got["findings"] if f["id"] == "listener_without_keepalive"]
    assert [f["socket"] for f in listeners] == [f"[::1]:{sockets['L2']['local_port']}"]
    assert "user_timeout_overrides_probes" in {f["id"] for f in got["findings"]}
    assert got["summary"]["socket_options"]["read"] == 6


def test_timer_alone_classifies_connections_with_namespace_values():
    got = in_private_netns(scan_roles, {"read_socket_options": "never"}, 30)
    sockets = got["sockets"]
    for role in ("A1", "C2"):
        assert (sockets[role]["keepalive"], sockets[role]["keepalive_source"]) == (True, "timer"), role
        assert sockets[role]["params_source"] == "assumed"
        assert sockets[role]["keepidle"] == 30  # the namespace sysctl, not the per-socket value
    for role in ("C1", "A2"):
        assert (sockets[role]["keepalive"], sockets[role]["keepalive_source"]) == (False, "timer"), role
    for role in ("L1", "L2"):
        assert sockets[role]["keepalive"] == "unknown", role
    # The timers themselves show the per-socket keepidle values.
    assert 45 <= sockets["A1"]["timer_expires"] <= 50
    assert 35 <= sockets["C2"]["timer_expires"] <= 40
    assert got["summary"]["namespaces"][0]["sysctls"]["time"] == 30


def idle_pairs(threshold: int, wait: float) -> dict:
    held: list = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    plain = socket.create_connection(listener.getsockname())
    plain_peer = listener.accept()[0]
    keep = socket.socket()
    keep.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    keep.connect(listener.getsockname())
    keep_peer = listener.accept()[0]
    held.extend([listener, plain, plain_peer, keep, keep_peer])
    plain.sendall(b"ping")
    plain_peer.recv(4)
    time.sleep(wait)
    result = scan_sockets(
        parse_options({"include_loopback": True, "idle_threshold": threshold, "states": ["established"]})
    )
    by_inode = {entry["inode"]: entry for entry in result["sockets"]}
    return {
        "plain": by_inode[inode(plain)],
        "plain_peer": by_inode[inode(plain_peer)],
        "keep": by_inode[inode(keep)],
        "keep_peer": by_inode[inode(keep_peer)],
        "summary": result["summary"],
        "ids": sorted({f["id"] for f in result["findings"]}),
    }


def test_idle_connection_without_keepalive_crosses_idle_threshold():
    got = in_private_netns(idle_pairs, 2, 2.5)
    # keep_peer was accepted by a listener without SO_KEEPALIVE: only its client side has keepalive.
    for role in ("plain", "plain_peer", "keep_peer"):
        assert got[role]["idle"] >= 2 and got[role]["ghost_candidate"] is True, role
    assert got["keep"]["idle"] >= 2 and got["keep"]["ghost_candidate"] is False
    assert got["summary"]["ghost_candidates"] == 3 and "ghost_candidate" in got["ids"]
    fresh = in_private_netns(idle_pairs, 3600, 0)
    assert fresh["summary"]["ghost_candidates"] == 0 and fresh["plain"]["ghost_candidate"] is False


def prove(time_value: int, expected: int | None) -> dict:
    set_time(time_value)
    proof = prove_keepalive_timer(tolerance=2, expected_time=expected).as_dict()
    port = int(proof["socket"].rsplit(":", 1)[1])
    leftovers = subprocess.run(
        ["ss", "-tanH", f"( sport = :{port} or dport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return {"proof": proof, "leftovers": leftovers}


def test_timer_info_sees_the_namespace_time_and_leaves_nothing():
    got = in_private_netns(prove, 30, None)
    proof = got["proof"]
    assert proof["ok"] is True and proof["timer"] == "keepalive" and proof["expected_time"] == 30
    assert 28 <= proof["observed_time"] <= 30
    assert got["leftovers"] == ""  # no listener, connection or TIME_WAIT left behind
    wrong = in_private_netns(prove, 30, 60)["proof"]
    assert wrong["ok"] is False and abs(wrong["difference"] + 30) <= 2


def collections_root() -> str:
    return next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections/tcp/keepalive")))


def run_ansible(module: str, args: str) -> dict:
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=collections_root(),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    done = subprocess.run(
        ["ansible", "localhost", "-m", module, "-a", args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    output = json.loads(done.stdout)
    result = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return {"result": result, "bytes": len(json.dumps(result)), "rc": done.returncode}


def modules_end_to_end() -> dict:
    set_time(45)
    held: list = []
    open_sockets(held)
    return {
        "timer": run_ansible("tcp.keepalive.timer_info", "expected_time=45"),
        "sockets": run_ansible("tcp.keepalive.sockets_info", "detail=summary include_loopback=true"),
    }


def test_modules_run_through_ansible():
    got = in_private_netns(modules_end_to_end)
    timer = got["timer"]["result"]
    assert got["timer"]["rc"] == 0 and timer["ok"] is True and timer["changed"] is False
    sockets = got["sockets"]["result"]
    assert got["sockets"]["rc"] == 0 and sockets["changed"] is False
    assert sockets["sockets"] == [] and got["sockets"]["bytes"] < 64 * 1024
    assert sockets["summary"]["by_state"] == {"ESTABLISHED": 4, "LISTEN": 2}
    assert sockets["summary"]["listeners_without_keepalive"] == 1


def test_namespaces_all_scans_other_namespaces():
    port_read, port_write = os.pipe()
    script = (
        "import os, socket, sys, time\n"
        "l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)\n"
        "l.bind(('127.0.0.1', 0)); l.listen(1)\n"
        f"os.write({port_write}, str(l.getsockname()[1]).encode()); os.close({port_write})\n"
        "time.sleep(60)\n"
    )
    command = f'ip link set lo up && exec {sys.executable} -c "$0"'
    child = subprocess.Popen(["unshare", "-n", "sh", "-c", command, script], pass_fds=(port_write,))
    os.close(port_write)
    try:
        port = int(os.read(port_read, 16) or b"0")
        os.close(port_read)
        assert port, "the child namespace did not report its port"
        child_ns = os.stat(f"/proc/{child.pid}/ns/net").st_ino
        result = scan_sockets(
            parse_options(
                {"namespaces": "all", "include_loopback": True, "ports": [port], "states": ["listen"]}
            )
        )
        found = [entry for entry in result["sockets"] if entry["namespace"] == child_ns]
        assert len(found) == 1, result["summary"]["namespaces"]
        assert (found[0]["keepalive"], found[0]["keepalive_source"]) == (True, "sockopt")
        report = next(ns for ns in result["summary"]["namespaces"] if ns["inode"] == child_ns)
        assert report["error"] is None and report["sysctls"] == {"time": 7200, "intvl": 75, "probes": 9}
        assert result["summary"]["namespaces"][0]["current"] is True
    finally:
        child.kill()
        child.wait()


def probe_only_in(inode: int, options) -> dict:
    """scan_sockets, but the probe may connect only inside the namespace this test made (other namespaces
    on the machine belong to others, and may listen on the same port number)."""
    from ansible_collections.tcp.keepalive.plugins.module_utils._netns import scan_contexts
    from ansible_collections.tcp.keepalive.plugins.module_utils._probe import ProbeResult, probe_listener
    from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import Scan
    from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import SockOptReader

    def guarded(context, listener, pids, reader, root):
        if context.inode != inode:
            return ProbeResult("unknown", error="not this test's namespace")
        return probe_listener(context, listener, pids, reader, root)

    contexts = scan_contexts("all")
    try:
        with SockOptReader() as reader:
            scan = Scan(options, reader=reader, prober=guarded)
            scan.run(contexts)
            return scan.result()
    finally:
        for context in contexts:
            context.close()


def test_probe_enters_another_namespace_to_judge_its_listener():
    """namespaces=all + probe_listeners: the probe connection is made from inside the listener's own
    namespace (a forked child enters it and hands the socket back); the server there sets keepalive after
    accept, so the listener is judged after_accept by the probe, not a finding."""
    port_read, port_write = os.pipe()
    script = (
        "import os, socket, time\n"
        "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4)\n"
        f"os.write({port_write}, str(l.getsockname()[1]).encode()); os.close({port_write})\n"
        "held = []\n"
        "while True:\n"
        "    c = l.accept()[0]; c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1); held.append(c)\n"
    )
    command = f'ip link set lo up && exec {sys.executable} -c "$0"'
    child = subprocess.Popen(["unshare", "-n", "sh", "-c", command, script], pass_fds=(port_write,))
    os.close(port_write)
    try:
        port = int(os.read(port_read, 16) or b"0")
        os.close(port_read)
        assert port, "the child namespace did not report its port"
        child_ns = os.stat(f"/proc/{child.pid}/ns/net").st_ino
        options = {
            "namespaces": "all",
            "include_loopback": True,
            "ports": [port],
            "states": ["listen"],
            "detail": "full",
        }
        quiet = scan_sockets(parse_options(options))
        listener = next(e for e in quiet["sockets"] if e["namespace"] == child_ns)
        assert (listener["keepalive"], listener["listener_verdict"]) == (False, "unverified")
        probed = probe_only_in(child_ns, parse_options(dict(options, probe_listeners=True)))
        listener = next(e for e in probed["sockets"] if e["namespace"] == child_ns)
        assert (listener["listener_verdict"], listener["listener_evidence"]) == ("after_accept", "probe")
        assert not [
            f for f in probed["findings"] if f["id"].startswith("listener_") and f["namespace"] == child_ns
        ]
        assert probed["summary"]["listeners_probed"] == 1
    finally:
        child.kill()
        child.wait()
