# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp.keepalive.sockets: option validation, the setsockopt plan, the per-socket decisions (safety skips,
only_missing, destroy_ghosts, collected errors, capped lists, the diff) and SOCK_DESTROY's wire format.

Only what leaves the process is replaced: the pidfd writer (a fake with recorded calls) and SOCK_DESTROY.
The real syscalls run in tests/integration/test_sockets_module.py and below on our own sockets."""

from __future__ import annotations

import json
import os
import socket
import struct

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._live import (
    SKIP_ALREADY,
    LiveOptions,
    Picker,
    Remediation,
    Target,
    parse_live_options,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import NamespaceContext
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import OptionError, Owner
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import (
    SKIP_NET_CLS,
    SKIP_NO_OWNER,
    SKIP_PTRACE,
    SKIP_SELF_NET_CLS,
    SO_KEEPALIVE,
    SOL_SOCKET,
    SOL_TCP,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    SockOpts,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockwrite import (
    KeepaliveSetting,
    SetResult,
    SockOptWriter,
    planned_changes,
)
from ansible_collections.tcp.keepalive.plugins.modules import sockets as sockets_module
from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args

OFF = SockOpts(keepalive=False, keepidle=7200, keepintvl=75, keepcnt=9, user_timeout=0)
ON_APP = SockOpts(keepalive=True, keepidle=77, keepintvl=75, keepcnt=9, user_timeout=0)


# ---- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({}, "at least one of ports, services or pids"),
        ({"ports": [80], "idle": 0}, "idle must be between 1 and 32767"),
        ({"ports": [80], "idle": 32768}, "idle must be between 1 and 32767"),
        ({"ports": [80], "intvl": 40000}, "intvl must be between 1 and 32767"),
        ({"ports": [80], "count": 128}, "count must be between 1 and 127"),
        ({"ports": [80], "user_timeout": -5}, "user_timeout must be between 0"),
        ({"ports": [80], "scope": "everything"}, "scope must be one of listeners, connections, all"),
        ({"ports": [80], "keepalive": False}, "only_missing"),
        ({"ports": [80], "max_sockets": 0}, "max_sockets"),
        ({"ports": [80], "detail": "lots"}, "detail"),
        ({"pids": ["x"]}, "pids"),
        ({"ports": [0]}, "ports"),
        ({"ports": [80], "states": ["NOPE"]}, "states"),
    ],
)
def test_bad_options_name_the_option(raw, words):
    with pytest.raises(OptionError, match=words):
        parse_live_options(raw)


def test_options_parsed_with_sockets_info_selection():
    options = parse_live_options(
        {
            "ports": ["443", 80],
            "services": ["nginx*"],
            "pids": [12],
            "idle": "300",
            "count": 5,
            "scope": "LISTENERS",
            "detail": "full",
        }
    )
    assert options.selection.ports == frozenset({80, 443}) and options.selection.services == ("nginx*",)
    assert options.pids == frozenset({12}) and options.scope == "listeners" and options.detail is None
    assert options.setting == KeepaliveSetting(keepalive=True, idle=300, intvl=None, count=5)
    assert options.only_missing is True and options.max_sockets == 100000 and options.destroy_ghosts is False


def test_module_fails_with_msg_and_no_traceback(capsys):
    with patch_module_args({"ports": [80], "count": 500}), pytest.raises(SystemExit):
        sockets_module.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True and "count must be between 1 and 127" in result["msg"]


# ---- the setsockopt plan --------------------------------------------------------------------------


def test_plan_sets_params_before_keepalive_and_only_what_differs():
    calls = planned_changes(OFF, KeepaliveSetting(True, idle=2, intvl=75, count=3))
    assert calls == [(SOL_TCP, TCP_KEEPIDLE, 2), (SOL_TCP, TCP_KEEPCNT, 3), (SOL_SOCKET, SO_KEEPALIVE, 1)]
    on = SockOpts(keepalive=True, keepidle=2, keepintvl=1, keepcnt=3, user_timeout=0)
    assert planned_changes(on, KeepaliveSetting(True, idle=2, intvl=1, count=3)) == []  # idempotent
    assert planned_changes(on, KeepaliveSetting(True)) == []  # unset: left alone
    assert planned_changes(on, KeepaliveSetting(False)) == [(SOL_SOCKET, SO_KEEPALIVE, 0)]


def test_writer_on_own_socket_sets_reads_back_and_check_mode_sets_nothing():
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        inode = os.fstat(listener.fileno()).st_ino
        with SockOptWriter() as writer:
            if writer.disabled_reason:
                pytest.skip(writer.disabled_reason)
            setting = KeepaliveSetting(True, idle=5, intvl=2, count=4)
            checked = writer.apply(os.getpid(), listener.fileno(), inode, setting, check_mode=True)
            assert checked.changed and checked.after.keepidle == 5
            assert listener.getsockopt(SOL_SOCKET, SO_KEEPALIVE) == 0  # check mode: untouched
            done = writer.apply(os.getpid(), listener.fileno(), inode, setting)
            assert done.changed and done.error is None
            assert listener.getsockopt(SOL_SOCKET, SO_KEEPALIVE) == 1
            assert (
                listener.getsockopt(SOL_TCP, TCP_KEEPIDLE),
                listener.getsockopt(SOL_TCP, TCP_KEEPINTVL),
                listener.getsockopt(SOL_TCP, TCP_KEEPCNT),
            ) == (5, 2, 4)
            again = writer.apply(os.getpid(), listener.fileno(), inode, setting)
            assert again.changed is False and again.reason is None
            wrong = writer.apply(os.getpid(), listener.fileno(), inode + 1, setting)
            assert wrong.reason == "descriptor now refers to another file"
    finally:
        listener.close()


# ---- per-socket decisions -------------------------------------------------------------------------


class FakeWriter:
    """Stands in for SockOptWriter: per (pid, fd) the options found, or a SKIP_* reason."""

    def __init__(self, found: dict, fail: set | None = None) -> None:
        self.found = found
        self.fail = fail or set()
        self.set_calls: list = []

    def read(self, pid, fd, inode):
        value = self.found[(pid, fd)]
        return (None, value) if isinstance(value, str) else (value, None)

    def apply(self, pid, fd, inode, setting, check_mode=False, decide=None):
        value = self.found[(pid, fd)]
        if isinstance(value, str):
            return SetResult(reason=value)
        veto = decide(value) if decide else None
        if veto:
            return SetResult(before=value, after=value, reason=veto)
        if not planned_changes(value, setting):
            return SetResult(before=value, after=value)
        after = SockOpts(
            setting.keepalive,
            setting.idle or value.keepidle,
            setting.intvl or value.keepintvl,
            setting.count or value.keepcnt,
            value.user_timeout,
        )
        if (pid, fd) in self.fail:
            return SetResult(before=value, after=value, error="setsockopt failed: TCP_KEEPIDLE=2: boom")
        if not check_mode:
            self.set_calls.append((pid, fd))
        return SetResult(before=value, after=after, changed=True)


def sock(state=1, port=40000, inode=100, idle_ms=0):
    return _sockdiag.TcpSocket(
        socket.AF_INET,
        state,
        0,
        0,
        "10.0.0.1",
        8080,
        "10.0.0.9",
        port,
        0,
        0,
        0,
        0,
        inode,
        inode,
        idle_ms,
        0,
        0,
    )


CONTEXT = NamespaceContext(inode=4026531840, sysctls={})


def owner(pid=10, unsafe=False):
    return Owner(
        service="app.service",
        pid=pid,
        comm="app",
        exe="/usr/bin/app",
        unit="app.service",
        unsafe_net_cls=unsafe,
    )


def options(**overrides) -> LiveOptions:
    raw = dict({"ports": [8080], "idle": 2, "intvl": 1, "count": 3}, **overrides)
    return parse_live_options(raw)


def test_safety_skips_only_missing_and_counts():
    found = {(10, 3): OFF, (10, 4): ON_APP, (10, 5): SKIP_PTRACE, (11, 3): OFF}
    writer = FakeWriter(found)
    run = Remediation(options(), check_mode=False, writer=writer)
    targets = [
        Target(CONTEXT, sock(state=10, inode=1), owner(), ((10, 3),)),  # listener: changed
        Target(CONTEXT, sock(inode=2), owner(), ((10, 4),)),  # the app's own keepalive
        Target(CONTEXT, sock(inode=3), owner(), ((10, 5),)),  # no ptrace rights
        Target(CONTEXT, sock(inode=4), owner(pid=11, unsafe=True), ((11, 3),)),  # net_cls v1 cgroup
        Target(CONTEXT, sock(inode=5), Owner(service=None), ()),  # no owner visible
    ]
    for target in targets:
        run.handle(target)
    result = run.result(len(targets))
    assert writer.set_calls == [(10, 3)]  # the net_cls owner is never touched
    counts = (result["sockets_changed"], result["listeners_changed"], result["connections_changed"])
    assert counts == (1, 1, 0)
    assert result["skipped_reasons"] == {SKIP_ALREADY: 1, SKIP_PTRACE: 1, SKIP_NET_CLS: 1, SKIP_NO_OWNER: 1}
    assert result["changed"] is True and result["sockets_selected"] == 5
    assert {entry["reason"] for entry in result["skipped_sockets"]} == set(result["skipped_reasons"])
    assert "skipped" not in result  # a true `skipped` would make Ansible show the task as skipped
    service = next(item for item in result["services"] if item["name"] == "app.service")
    assert service["listeners_changed"] == 1 and "restarts" in service["lasts"]
    assert "libkeepalive" in service["persistent_fix"] or "KeepAlive" in service["persistent_fix"]


def test_owner_in_v1_net_cls_cgroup_found_from_proc_tree_is_skipped(tmp_path):
    """The chain from /proc/<pid>/cgroup (a fixture tree) through the shared Selector to the skip."""
    cgroups = {10: "12:net_cls,net_prio:/kubepods/pod1\n0::/\n", 11: "0::/system.slice/b.service\n"}
    for pid, text in cgroups.items():
        base = tmp_path / "proc" / str(pid)
        base.mkdir(parents=True)
        (base / "cgroup").write_text(text)
        (base / "comm").write_text("app\n")
    picker = Picker(options(), root=str(tmp_path))
    picker.selector.owner_map = {1: [(10, 3)], 2: [(11, 3)]}
    writer = FakeWriter({(10, 3): OFF, (11, 3): OFF})
    run = Remediation(options(), check_mode=False, writer=writer)
    for inode in (1, 2):
        chosen = picker.wanted(sock(inode=inode))
        assert chosen is not None
        run.handle(Target(CONTEXT, sock(inode=inode), chosen[0], chosen[1]))
    assert writer.set_calls == [(11, 3)]
    assert run.result(2)["skipped_reasons"] == {SKIP_NET_CLS: 1}


def test_inspector_in_net_cls_cgroup_touches_nothing():
    writer = FakeWriter({(10, 3): OFF})
    run = Remediation(options(), check_mode=False, writer=writer, self_unsafe=True)
    run.handle(Target(CONTEXT, sock(), owner(), ((10, 3),)))
    assert writer.set_calls == [] and run.result(1)["skipped_reasons"] == {SKIP_SELF_NET_CLS: 1}


def test_errors_are_collected_not_fatal():
    writer = FakeWriter({(10, 3): OFF, (10, 4): OFF}, fail={(10, 3)})
    run = Remediation(options(), check_mode=False, writer=writer)
    run.handle(Target(CONTEXT, sock(inode=1), owner(), ((10, 3),)))
    run.handle(Target(CONTEXT, sock(inode=2), owner(), ((10, 4),)))
    result = run.result(2)
    assert result["errors"] == 1 and result["sockets_changed"] == 1
    assert "TCP_KEEPIDLE" in result["socket_errors"][0]["error"]


def test_lists_capped_counts_complete_and_diff_summarized():
    found = {(10, fd): OFF for fd in range(200)}
    run = Remediation(options(detail=5), check_mode=True, writer=FakeWriter(found))
    for fd in range(200):
        run.handle(Target(CONTEXT, sock(inode=fd + 1, port=40000 + fd), owner(), ((10, fd),)))
    result = run.result(200)
    assert result["sockets_changed"] == 200 and len(result["sockets"]) == 5 and result["sockets_truncated"]
    before, after = result["diff"]["before"].splitlines(), result["diff"]["after"].splitlines()
    assert len(before) == 51 and before[-1].startswith("... and 150 more")
    assert "keepalive=off idle=7200" in before[0] and "keepalive=on idle=2 intvl=1 count=3" in after[0]


def test_destroy_ghosts_only_idle_connections_without_keepalive():
    destroyed = []
    found = {(10, 3): OFF, (10, 4): OFF, (10, 5): ON_APP, (10, 6): OFF}
    run = Remediation(
        options(destroy_ghosts=True, idle_threshold=60),
        check_mode=False,
        writer=FakeWriter(found),
        destroy=lambda target: destroyed.append(target.sock.inode) or 0,
    )
    run.handle(Target(CONTEXT, sock(inode=1, idle_ms=120000), owner(), ((10, 3),)))  # ghost candidate
    run.handle(Target(CONTEXT, sock(inode=2, idle_ms=1000), owner(), ((10, 4),)))  # recently active
    run.handle(Target(CONTEXT, sock(inode=3, idle_ms=120000), owner(), ((10, 5),)))  # has keepalive
    run.handle(Target(CONTEXT, sock(state=10, inode=4), owner(), ((10, 6),)))  # a listener
    result = run.result(4)
    assert destroyed == [1] and result["sockets_destroyed"] == 1
    assert result["destroyed"][0]["destroyed"] is True and result["destroyed"][0]["idle"] == 120
    assert result["sockets_changed"] == 2  # the recent connection and the listener probe
    assert "destroyed (SOCK_DESTROY)" in result["diff"]["after"]


def test_destroy_in_check_mode_lists_and_sends_nothing():
    sent = []
    run = Remediation(
        options(destroy_ghosts=True, idle_threshold=0),
        check_mode=True,
        writer=FakeWriter({(10, 3): OFF}),
        destroy=lambda target: sent.append(target) or 0,
    )
    run.handle(Target(CONTEXT, sock(idle_ms=5000), owner(), ((10, 3),)))
    result = run.result(1)
    assert sent == [] and result["sockets_destroyed"] == 1 and result["destroyed"][0]["destroyed"] is False


def test_destroy_failure_is_an_error_naming_the_kernel_option():
    run = Remediation(
        options(destroy_ghosts=True, idle_threshold=0),
        check_mode=False,
        writer=FakeWriter({(10, 3): OFF}),
        destroy=lambda target: 95,
    )
    run.handle(Target(CONTEXT, sock(idle_ms=5000), owner(), ((10, 3),)))
    result = run.result(1)
    assert result["errors"] == 1 and result["sockets_destroyed"] == 0
    assert "CONFIG_INET_DIAG_DESTROY" in result["socket_errors"][0]["error"]


# ---- SOCK_DESTROY on the wire ---------------------------------------------------------------------


def test_destroy_request_is_an_exact_lookup_with_type_21_and_ack():
    item = sock()._replace(cookie=0x1122334455667788)
    data = _sockdiag.build_destroy(item, seq=7)
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", data)
    assert (length, kind, flags, seq) == (len(data), 21, 0x1 | 0x4, 7)
    lookup = _sockdiag.build_request(socket.AF_INET, _sockdiag.ALL_STATES_MASK, seq=7, dump=False, sock=item)
    assert data[16:] == lookup[16:]  # same inet_diag_req_v2: ports, addresses, cookie
    assert struct.unpack_from("=II", data, 16 + 48) == (0x55667788, 0x11223344)


def test_destroy_of_a_connection_already_gone_is_a_skip_and_netlink_failure_an_error():
    run = Remediation(
        options(destroy_ghosts=True, idle_threshold=0),
        check_mode=False,
        writer=FakeWriter({(10, 3): OFF, (10, 4): OFF}),
        destroy=lambda target: 2 if target.sock.inode == 1 else _raise(),
    )
    run.handle(Target(CONTEXT, sock(inode=1, idle_ms=5000), owner(), ((10, 3),)))
    run.handle(Target(CONTEXT, sock(inode=2, idle_ms=5000), owner(), ((10, 4),)))
    result = run.result(2)
    assert result["skipped_reasons"] == {"connection went away before SOCK_DESTROY (ENOENT)": 1}
    assert result["errors"] == 1 and "no acknowledgement" in result["socket_errors"][0]["error"]


def _raise() -> int:
    raise _sockdiag.SockDiagError("sock_diag destroy: no acknowledgement from the kernel")
