# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_sockopts: the cgroup-v1 safety rule on cgroup texts, and pidfd_getfd + getsockopt on our own sockets
(our own process needs no privilege)."""

from __future__ import annotations

import os
import socket

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import parse_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import (
    SKIP_CHANGED,
    SKIP_GONE,
    SKIP_UNSUPPORTED,
    SockOptReader,
    net_cls_unsafe,
)


@pytest.mark.parametrize(
    ("text", "unsafe"),
    [
        ("0::/system.slice/ssh.service\n", False),  # cgroup v2 only
        ("12:net_cls,net_prio:/\n1:name=systemd:/system.slice/x.service\n", False),  # v1 root cgroup
        ("12:net_cls,net_prio:/kubepods/pod1\n0::/\n", True),
        ("7:net_prio:/tc/high\n", True),
        ("5:net_cls:/\n6:net_prio:/tc\n", True),
        ("4:memory:/limited\n", False),  # other controllers
    ],
)
def test_net_cls_rule(text, unsafe):
    assert net_cls_unsafe(parse_cgroup(text)) is unsafe


def test_no_cgroup_is_not_unsafe():
    assert net_cls_unsafe(None) is False


@pytest.fixture
def connection():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    accepted = listener.accept()[0]
    yield listener, client, accepted
    for item in (client, accepted, listener):
        item.close()


def _read(reader, sock):
    return reader.read(os.getpid(), sock.fileno(), os.fstat(sock.fileno()).st_ino)


def test_reads_the_options_the_socket_has(connection):
    listener, client, accepted = connection
    client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 41)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 7)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 12000)
    with SockOptReader() as reader:
        if reader.disabled_reason == SKIP_UNSUPPORTED:
            pytest.fail("pidfd_getfd unavailable: the test machine must have Linux >= 5.6")
        opts, reason = _read(reader, client)
        assert reason is None
        assert (opts.keepalive, opts.keepidle, opts.keepintvl, opts.keepcnt, opts.user_timeout) == (
            True,
            41,
            7,
            3,
            12000,
        )
        plain, reason = _read(reader, accepted)
        assert reason is None and plain.keepalive is False and plain.user_timeout == 0
        # Effective values without own ones: the namespace sysctls.
        with open("/proc/sys/net/ipv4/tcp_keepalive_time") as handle:
            assert plain.keepidle == int(handle.read())
        listening = _read(reader, listener)[0]
        assert listening.keepalive is False


def test_copy_is_closed_at_once(connection):
    _listener, client, _accepted = connection
    before = set(os.listdir("/proc/self/fd"))
    with SockOptReader() as reader:
        _read(reader, client)
        during = set(os.listdir("/proc/self/fd"))
    after = set(os.listdir("/proc/self/fd"))
    assert len(during - before) <= 1  # the pidfd only (kept per pid until close), never the socket copy
    assert after == before


def test_reused_descriptor_and_vanished_process_are_reasons_not_errors(connection):
    _listener, client, accepted = connection
    with SockOptReader() as reader:
        opts, reason = reader.read(os.getpid(), client.fileno(), os.fstat(accepted.fileno()).st_ino)
        assert (opts, reason) == (None, SKIP_CHANGED)
        opts, reason = reader.read(os.getpid(), 99999, 1)
        assert opts is None and reason == SKIP_GONE
        opts, reason = reader.read(2**22 + 12345, 3, 1)  # above pid_max's default: no such process
        assert opts is None and reason == SKIP_GONE


def test_read_values_is_read_as_a_tuple(connection):
    """The bulk path of a scan reads through read_values(): the same syscalls and values as read()."""
    _listener, client, accepted = connection
    client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 41)
    accepted.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 9000)
    with SockOptReader() as reader:
        for sock in (client, accepted):
            inode = os.fstat(sock.fileno()).st_ino
            for params_if_off in (True, False):
                opts, reason = reader.read(os.getpid(), sock.fileno(), inode, params_if_off)
                values, again = reader.read_values(os.getpid(), sock.fileno(), inode, params_if_off)
                assert reason is again is None
                assert values == (
                    opts.keepalive,
                    opts.keepidle,
                    opts.keepintvl,
                    opts.keepcnt,
                    opts.user_timeout,
                )
        # without keepalive and params_if_off=False the TCP_KEEP* values are not read
        values, reason = reader.read_values(
            os.getpid(), accepted.fileno(), os.fstat(accepted.fileno()).st_ino, False
        )
        assert (values, reason) == ((False, None, None, None, 9000), None)
        assert reader.read_values(os.getpid(), client.fileno(), 1) == (None, SKIP_CHANGED)
