# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp.keepalive.sockets against the real kernel, each test in a private network namespace.

A forked child unshares its network namespace (the host's is never touched) and starts a real server
process there (the `python -c` program SERVER below) holding a listener without SO_KEEPALIVE, one where
the application set keepalive itself, and the connections it accepted from clients the child holds. The
module file then runs as its own process, as Ansible runs it on a node, and the outcome is read back from
the kernel with `ss -o` (keepalive timers) and from the server, which reports its own sockets' options
(getsockopt in the server process itself).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import ansible_collections.tcp.keepalive.plugins as plugins_pkg
import pytest
from ansible_collections.tcp.keepalive.tests.integration.forked import in_private_netns

pytestmark = pytest.mark.netns
PLUGINS = Path(list(plugins_pkg.__path__)[0])
MODULE = PLUGINS / "modules" / "sockets.py"
COLLECTIONS_ROOT = str(PLUGINS.parents[3])
PLAIN, APP_KA = 7301, 7302  # listener without keepalive; listener whose application set it (idle 77)

# The server: two listeners, accepts forever, echoes, and answers "report" on a control pipe (stdin) with
# the options of every socket it holds, read by itself.
SERVER = r"""
import json, os, select, socket, sys
def listener(port, ka):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if ka:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
    s.bind(("127.0.0.1", port)); s.listen(4096); return s
ls = [listener(PLAIN_PORT, False), listener(APP_KA_PORT, True)]
conns = []
selfs = [socket.create_connection(("127.0.0.1", PLAIN_PORT))
         for _i in range(int(os.environ.get("SELF", "0")))]
print("ready", flush=True)
while True:
    r, _, _ = select.select(ls + conns + [sys.stdin], [], [])
    for s in r:
        if s is sys.stdin:
            if not sys.stdin.readline():
                sys.exit(0)
            out = []
            for c in ls + conns:
                try:
                    g = c.getsockopt
                    out.append({"port": c.getsockname()[1], "listen": c in ls,
                                "ka": g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                                "idle": g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                                "intvl": g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                                "cnt": g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                                "ut": g(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)})
                except OSError as exc:
                    out.append({"port": None, "error": str(exc)})
            print(json.dumps(out), flush=True)
        elif s in ls:
            conns.append(s.accept()[0])
        else:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                s.sendall(data)
            else:
                conns.remove(s); s.close()
""".replace("PLAIN_PORT", str(PLAIN)).replace("APP_KA_PORT", str(APP_KA))


@pytest.fixture(autouse=True)
def _needs_root():
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("ss"):
        pytest.skip("needs root, iproute2 and ss")


class Lab:
    """Inside the namespace: the server process and the clients' ends of its connections."""

    def __init__(self, plain: int = 5, app: int = 2) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.server.stdout.readline().strip() == "ready"
        self.clients = [socket.create_connection(("127.0.0.1", PLAIN)) for _index in range(plain)]
        self.clients += [socket.create_connection(("127.0.0.1", APP_KA)) for _index in range(app)]
        self.expected = plain + app
        while len([row for row in self.report() if not row["listen"]]) < self.expected:
            time.sleep(0.01)  # accept() runs in the server: wait until it holds them all

    def report(self) -> list[dict]:
        self.server.stdin.write("report\n")
        self.server.stdin.flush()
        return json.loads(self.server.stdout.readline())

    def start_time(self) -> str:
        with open(f"/proc/{self.server.pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.server.stdin.close()
        self.server.wait(5)


def run_module(args: dict, check: bool = False, diff: bool = False) -> dict:
    payload = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    done = subprocess.run(
        [sys.executable, str(MODULE), json.dumps({"ANSIBLE_MODULE_ARGS": payload})],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT),
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr + done.stdout
    return json.loads(done.stdout.strip().splitlines()[-1])


def ss_keepalive(port: int) -> tuple[int, int]:
    """(established connections on the server side of port, how many show the keepalive timer)."""
    out = subprocess.run(
        ["ss", "-tnoH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return len(out), sum("timer:(keepalive" in line for line in out)


VALUES = {"include_loopback": True, "idle": 2, "intvl": 1, "count": 3}


def _apply_check_then_twice() -> dict:
    lab = Lab()
    try:
        pid, started = lab.server.pid, lab.start_time()
        before_ss = ss_keepalive(PLAIN)
        args = dict(VALUES, ports=[PLAIN, APP_KA], pids=[pid])  # the server's sockets, not the clients'
        checked = run_module(args, check=True, diff=True)
        after_check = lab.report()
        first = run_module(args, diff=True)
        after_first = lab.report()
        second = run_module(args)
        ss_after = ss_keepalive(PLAIN)
        lab.clients.append(socket.create_connection(("127.0.0.1", PLAIN)))
        while len([row for row in lab.report() if not row["listen"]]) < lab.expected + 1:
            time.sleep(0.01)
        new_conn = [row for row in lab.report() if not row["listen"]][-1]
        alive = lab.server.poll() is None and lab.start_time() == started
        return {
            "pid": pid,
            "checked": checked,
            "after_check": after_check,
            "first": first,
            "after_first": after_first,
            "second": second,
            "before_ss": before_ss,
            "ss_after": ss_after,
            "new_conn": new_conn,
            "alive": alive,
        }
    finally:
        lab.close()


def test_check_apply_idempotent_and_inherited():
    out = in_private_netns(_apply_check_then_twice)
    checked, first, second = out["checked"], out["first"], out["second"]
    # check mode: would change the plain listener and its 5 connections, changes nothing
    assert checked["changed"] is True and checked["sockets_changed"] == 6, checked
    assert checked["listeners_changed"] == 1 and checked["connections_changed"] == 5
    assert all(row["ka"] == 0 for row in out["after_check"] if row["port"] == PLAIN), out["after_check"]
    assert out["before_ss"] == [5, 0]
    assert "keepalive=off" in checked["diff"]["before"] and "keepalive=on idle=2" in checked["diff"]["after"]
    # apply: what the server itself reads afterwards
    assert first["changed"] is True and first["sockets_changed"] == 6, first
    for row in out["after_first"]:
        if row["port"] == PLAIN:
            assert (row["ka"], row["idle"], row["intvl"], row["cnt"]) == (1, 2, 1, 3), row
        else:  # only_missing: the application's own keepalive (idle 77) is left as it set it
            assert row["ka"] == 1 and row["idle"] == 77, row
    assert first["skipped_reasons"] == {
        "already has SO_KEEPALIVE (only_missing: true leaves what the application set)": 3
    }, first["skipped_reasons"]
    assert {entry["before"]["keepalive"] for entry in first["sockets"]} == {False}
    assert {entry["after"]["idle"] for entry in first["sockets"]} == {2}
    assert all(entry["pid"] == out["pid"] for entry in first["sockets"])
    services = {service["name"]: service for service in first["services"]}
    assert any(s["lasts"] and "restarts" in s["lasts"] and s["persistent_fix"] for s in services.values())
    # the kernel now runs the keepalive timer on every plain connection
    assert out["ss_after"] == [5, 5]
    # idempotent; a connection accepted afterwards inherits keepalive from the listener; server untouched
    assert second["changed"] is False and second["sockets_changed"] == 0, second
    assert (out["new_conn"]["ka"], out["new_conn"]["idle"]) == (1, 2), out["new_conn"]
    assert out["alive"] is True


def _selection_cases() -> dict:
    lab = Lab(plain=3, app=1)
    try:
        cases = {
            "loopback_default": run_module({"ports": [PLAIN], "idle": 5}, check=True),
            "listeners": run_module(
                {"ports": [PLAIN], "include_loopback": True, "scope": "listeners"}, check=True
            ),
            "connections": run_module(
                {"ports": [PLAIN], "include_loopback": True, "scope": "connections"}, check=True
            ),
            "other_pid": run_module(
                {"pids": [os.getpid()], "ports": [PLAIN], "include_loopback": True}, check=True
            ),
            "server_pid": run_module({"pids": [lab.server.pid], "include_loopback": True}, check=True),
            "excluded": run_module(
                {"ports": [PLAIN, APP_KA], "exclude_ports": [APP_KA], "include_loopback": True}, check=True
            ),
            "service": run_module({"services": ["python*"], "include_loopback": True}, check=True),
            "no_service": run_module({"services": ["nginx"], "include_loopback": True}, check=True),
            "too_many": run_module({"ports": [PLAIN], "include_loopback": True, "max_sockets": 3}),
            "not_missing": run_module(
                {
                    "ports": [APP_KA],
                    "pids": [lab.server.pid],
                    "include_loopback": True,
                    "only_missing": False,
                    "idle": 9,
                },
                check=True,
            ),
            "detail": run_module({"ports": [PLAIN], "include_loopback": True, "detail": 1}, check=True),
        }
        cases["after"] = lab.report()
        cases["child_pid"] = os.getpid()
        return cases
    finally:
        lab.close()


def test_selection_scope_pids_services_and_limits():
    cases = in_private_netns(_selection_cases)
    assert cases["loopback_default"]["sockets_selected"] == 0  # loopback left out unless asked for
    assert (cases["listeners"]["sockets_changed"], cases["listeners"]["listeners_changed"]) == (1, 1)
    # connections: the server's 3 accepted ones and the clients' 3 ends (remote port PLAIN)
    assert (cases["connections"]["sockets_changed"], cases["connections"]["listeners_changed"]) == (6, 0)
    # the clients' own ends (held by the test process, remote port PLAIN) belong to another pid
    assert cases["other_pid"]["sockets_selected"] == 3 and cases["other_pid"]["sockets_changed"] == 3
    assert {entry["pid"] for entry in cases["other_pid"]["sockets"]} == {cases["child_pid"]}
    assert cases["server_pid"]["sockets_selected"] == 6  # 2 listeners + 4 accepted
    assert cases["server_pid"]["sockets_changed"] == 4  # the plain listener and its 3 connections
    assert cases["excluded"]["sockets_selected"] == 4 + 3  # server + client ends of PLAIN only
    assert cases["service"]["sockets_changed"] >= 4
    assert cases["no_service"]["sockets_selected"] == 0 and cases["no_service"]["changed"] is False
    too_many = cases["too_many"]
    assert too_many.get("failed") is True and "max_sockets" in too_many["msg"], too_many
    assert "nothing was changed" in too_many["msg"] and too_many["changed"] is False
    assert all(row["ka"] == 0 for row in cases["after"] if row["port"] == PLAIN)  # refused: nothing set
    not_missing = cases["not_missing"]
    assert not_missing["sockets_changed"] == 2
    assert {entry["before"]["idle"] for entry in not_missing["sockets"]} == {77}
    detail = cases["detail"]
    assert detail["sockets_changed"] == 7 and len(detail["sockets"]) == 1 and detail["sockets_truncated"]


def _bad_input() -> dict:
    lab = Lab(plain=1, app=0)
    try:
        cases = {}
        for name, args in {
            "no_selection": {"idle": 5},
            "idle_high": {"ports": [PLAIN], "idle": 32768},
            "intvl_zero": {"ports": [PLAIN], "intvl": 0},
            "count_high": {"ports": [PLAIN], "count": 128},
            "user_timeout_negative": {"ports": [PLAIN], "user_timeout": -1},
            "port_range": {"ports": [70000]},
            "state": {"ports": [PLAIN], "states": ["BOGUS"]},
            "off_only_missing": {"ports": [PLAIN], "keepalive": False},
            "pid_zero": {"pids": [0]},
        }.items():
            cases[name] = run_module(dict(args, include_loopback=True))
        cases["after"] = lab.report()
        return cases
    finally:
        lab.close()


def test_bad_input_named_errors_and_nothing_changed():
    cases = in_private_netns(_bad_input)
    expected_words = {
        "no_selection": "ports, services or pids",
        "idle_high": "idle must be between 1 and 32767",
        "intvl_zero": "intvl must be between 1 and 32767",
        "count_high": "count must be between 1 and 127",
        "user_timeout_negative": "user_timeout",
        "port_range": "ports",
        "state": "states",
        "off_only_missing": "only_missing",
        "pid_zero": "pids",
    }
    for name, words in expected_words.items():
        result = cases[name]
        assert result.get("failed") is True, (name, result)
        assert words in result["msg"], (name, result["msg"])
        assert "Traceback" not in result["msg"]
    assert all(row["ka"] == 0 for row in cases["after"] if row["port"] == PLAIN)


def _destroy() -> dict:
    lab = Lab(plain=3, app=1)
    try:
        base = {
            "ports": [PLAIN, APP_KA],
            "pids": [lab.server.pid],
            "include_loopback": True,
            "destroy_ghosts": True,
            "scope": "connections",
        }
        high = run_module(dict(base, idle_threshold=86400), check=True)
        checked = run_module(dict(base, idle_threshold=0), check=True)
        ss_checked = ss_keepalive(PLAIN)
        done = run_module(dict(base, idle_threshold=0))
        ss_done = ss_keepalive(PLAIN), ss_keepalive(APP_KA)
        client_errors = []
        for client in lab.clients[:3]:
            client.settimeout(5)
            try:
                client.sendall(b"x")
                client_errors.append(client.recv(1) == b"")
            except OSError as exc:
                client_errors.append(type(exc).__name__)
        return {
            "high": high,
            "checked": checked,
            "ss_checked": ss_checked,
            "done": done,
            "ss_done": ss_done,
            "client_errors": client_errors,
            "alive": lab.server.poll() is None,
        }
    finally:
        lab.close()


def test_destroy_ghosts():
    out = in_private_netns(_destroy)
    assert out["high"]["sockets_destroyed"] == 0 and out["high"]["sockets_changed"] == 3  # not idle enough
    checked = out["checked"]
    # the server's 3 plain connections (no keepalive, idle >= 0) are candidates; the application's
    # keepalive connection is not (only_missing skips it)
    assert checked["sockets_destroyed"] == 3 and checked["changed"] is True, checked
    assert checked["sockets_skipped"] == 1, checked["skipped_sockets"]
    assert all(entry["destroyed"] is False for entry in checked["destroyed"])
    assert out["ss_checked"] == [3, 0]  # check mode destroyed nothing
    done = out["done"]
    assert done["sockets_destroyed"] == 3 and done["errors"] == 0, done
    assert all(entry["destroyed"] is True for entry in done["destroyed"])
    assert out["ss_done"][0] == [0, 0]  # every plain connection gone from the kernel
    assert out["ss_done"][1] == [1, 1]  # the keepalive one kept
    assert all(
        item in (True, "ConnectionAbortedError", "ConnectionResetError", "BrokenPipeError")
        for item in out["client_errors"]
    ), out["client_errors"]
    assert out["alive"] is True


# A seccomp filter that answers pidfd_getfd (438) with EPERM, as Docker's default profile does for a
# container without CAP_SYS_PTRACE: the module then meets the kernel's real EPERM on a visible owner.
SECCOMP_WRAPPER = r"""
import ctypes, os, struct, sys
filters = [(0x20, 0, 0, 0), (0x15, 0, 1, 438), (0x06, 0, 0, 0x00050000 | 1), (0x06, 0, 0, 0x7fff0000)]
program = b"".join(struct.pack("=HBBI", *item) for item in filters)
buffer = ctypes.create_string_buffer(program)
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
prog = Prog(len(filters), ctypes.addressof(buffer))
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0                                  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0, ctypes.get_errno()  # PR_SET_SECCOMP, FILTER
os.execv(sys.executable, [sys.executable] + sys.argv[1:])
"""


def _ptrace_denied() -> dict:
    lab = Lab(plain=2, app=0)
    try:
        args = {"ports": [PLAIN], "pids": [lab.server.pid], "include_loopback": True, "idle": 2}
        payload = {"ANSIBLE_MODULE_ARGS": args}
        done = subprocess.run(
            [sys.executable, "-c", SECCOMP_WRAPPER, str(MODULE), json.dumps(payload)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT),
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        return {"result": result, "after": lab.report(), "stderr": done.stderr}
    finally:
        lab.close()


def test_no_ptrace_rights_skips_with_the_reason_and_changes_nothing():
    out = in_private_netns(_ptrace_denied)
    result = out["result"]
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["sockets_changed"] == 0, result
    assert result["sockets_selected"] == 3  # the plain listener and its 2 connections
    assert result["skipped_reasons"] == {"no ptrace rights over the owner (pidfd_getfd: EPERM)": 3}
    assert all(row["ka"] == 0 for row in out["after"] if row["port"] == PLAIN)


def _other_namespace() -> dict:
    """The server in a namespace nested below the test's (its own clients, `SELF` connections to itself):
    namespaces: current must not see it, namespaces: all must change exactly its sockets."""
    command = f"ip link set lo up && exec {sys.executable} -c {shlex.quote(SERVER)}"
    server = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, SELF="2"),
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        args = {"ports": [PLAIN], "pids": [server.pid], "include_loopback": True, "idle": 2}
        current = run_module(dict(args, namespaces="current"))
        everywhere = run_module(dict(args, namespaces="all"))
        server.stdin.write("report\n")
        server.stdin.flush()
        report = json.loads(server.stdout.readline())
        own = os.stat("/proc/self/ns/net").st_ino
        theirs = os.stat(f"/proc/{server.pid}/ns/net").st_ino
        return {"current": current, "all": everywhere, "report": report, "own": own, "theirs": theirs}
    finally:
        server.stdin.close()
        server.wait(5)


def test_namespaces_all_reaches_a_server_in_another_namespace():
    out = in_private_netns(_other_namespace)
    assert out["current"]["sockets_selected"] == 0 and out["current"]["changed"] is False
    changed = out["all"]
    assert changed["changed"] is True, changed
    # the plain listener, the 2 connections it accepted and the server's own 2 client ends
    assert changed["sockets_changed"] == 5 and changed["listeners_changed"] == 1, changed
    assert {entry["namespace"] for entry in changed["sockets"]} == {out["theirs"]} != {out["own"]}
    assert all(row["ka"] == 1 and row["idle"] == 2 for row in out["report"] if row["port"] == PLAIN)


V6_SERVER = r"""
import socket, sys, time
l = socket.socket(socket.AF_INET6); l.bind(("::1", 7303)); l.listen(4)
c = socket.create_connection(("::1", 7303)); a = l.accept()[0]
print("ready", flush=True); sys.stdin.readline()
print(a.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
      a.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), flush=True)
"""


def _ipv6() -> dict:
    server = subprocess.Popen(
        [sys.executable, "-c", V6_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        result = run_module({"ports": [7303], "pids": [server.pid], "include_loopback": True, "idle": 4})
        server.stdin.write("\n")
        server.stdin.flush()
        return {"result": result, "accepted": server.stdout.readline().split()}
    finally:
        server.wait(5)


def test_ipv6_sockets_are_changed_too():
    out = in_private_netns(_ipv6)
    result = out["result"]
    # the listener, the accepted connection and the client end, all held by the server process
    assert result["sockets_changed"] == 3 and result["listeners_changed"] == 1, result
    assert {entry["local"].startswith("[::1]:") for entry in result["sockets"]} == {True}
    assert out["accepted"] == ["1", "4"]
