# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_sockdiag parsers on bytes recorded from a real kernel (fixtures/sockdiag/record.py), checked against
what the recorder knew about the sockets it opened, and the two sources checked against each other."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import (
    SockDiagError,
    build_request,
    parse_messages,
    parse_proc_net_tcp,
    states_mask,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sockdiag"
TRUTH = json.loads((FIXTURES / "sockets.json").read_text())
DUMP = (FIXTURES / "dump.bin").read_bytes()


def _by_inode(items):
    return {item.inode: item for item in items}


def _parsed():
    sockets, done = parse_messages(DUMP)
    return sockets, done


def test_dump_holds_exactly_the_recorded_sockets():
    sockets, done = _parsed()
    assert done is True
    assert sorted(s.inode for s in sockets) == sorted(entry["inode"] for entry in TRUTH["sockets"])


@pytest.mark.parametrize("entry", TRUTH["sockets"], ids=[e["role"] for e in TRUTH["sockets"]])
def test_each_socket_matches_what_was_opened(entry):
    sock = _by_inode(_parsed()[0])[entry["inode"]]
    assert sock.family == entry["family"]
    assert (sock.src, sock.sport) == tuple(entry["local"])
    if entry["listening"]:
        assert sock.state_name == "LISTEN"
        assert sock.timer == 0  # a listener never shows the keepalive timer, even with SO_KEEPALIVE
    else:
        assert sock.state_name == "ESTABLISHED"
        assert (sock.dst, sock.dport) == tuple(entry["remote"])
        assert sock.timer == (2 if entry["keepalive"] else 0)
        assert sock.last_data_recv is not None and sock.last_data_recv < 60_000
        assert sock.cookie is not None


def test_keepalive_expiry_follows_namespace_time_and_per_socket_keepidle():
    sockets = _by_inode(_parsed()[0])
    roles = {entry["role"]: entry for entry in TRUTH["sockets"]}
    inherited = sockets[roles["accepted_inherits"]["inode"]]
    own = sockets[roles["client_keepidle6"]["inode"]]
    assert TRUTH["namespace_time"] * 1000 - 5000 <= inherited.expires <= TRUTH["namespace_time"] * 1000
    assert TRUTH["keepidle6"] * 1000 - 5000 <= own.expires <= TRUTH["keepidle6"] * 1000


def test_parsing_chunk_by_chunk_gives_the_same_sockets():
    offset, parsed, done = 0, [], False
    for size in TRUTH["chunks"]:
        batch, done = parse_messages(DUMP[offset : offset + size])
        parsed.extend(batch)
        offset += size
    assert done is True
    assert parsed == _parsed()[0]


def test_proc_net_tcp_agrees_with_sock_diag():
    ticks = TRUTH["clock_ticks"]
    proc = list(parse_proc_net_tcp((FIXTURES / "proc_net_tcp").read_text(), socket.AF_INET, ticks))
    proc += list(parse_proc_net_tcp((FIXTURES / "proc_net_tcp6").read_text(), socket.AF_INET6, ticks))
    diag = _by_inode(_parsed()[0])
    assert sorted(item.inode for item in proc) == sorted(diag)
    for item in proc:
        other = diag[item.inode]
        fields = ("family", "state", "timer", "src", "sport", "dst", "dport", "uid")
        assert tuple(getattr(item, f) for f in fields) == tuple(getattr(other, f) for f in fields)
        assert abs(item.expires - other.expires) <= 1000 // ticks + 1000  # ticks, and the time between reads
        assert item.last_data_recv is None  # /proc/net/tcp has no TCP_INFO


def test_request_layout_matches_inet_diag_req_v2():
    request = build_request(socket.AF_INET6, states_mask(["ESTABLISHED"]), seq=7)
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", request)
    assert (length, kind, seq) == (len(request), 20, 7) and len(request) == 16 + 56
    assert flags == 0x301  # NLM_F_REQUEST | NLM_F_DUMP
    family, proto, ext, _pad, states = struct.unpack_from("=BBBBI", request, 16)
    assert (family, proto, ext, states) == (socket.AF_INET6, socket.IPPROTO_TCP, 2, 1 << 1)


def test_states_mask_adds_request_sockets_to_syn_recv():
    assert states_mask(["SYN_RECV"]) == (1 << 3) | (1 << 12)
    assert states_mask(["LISTEN", "CLOSE_WAIT"]) == (1 << 10) | (1 << 8)


def test_kernel_error_is_raised_and_truncation_is_not_a_crash():
    error = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -2) + b"\0" * 16
    with pytest.raises(SockDiagError, match="No such file"):
        parse_messages(error)
    truncated = DUMP[: TRUTH["chunks"][0] // 2 + 3]  # inside the first (AF_INET) dump
    sockets, done = parse_messages(truncated)
    assert not done and 0 < len(sockets) < 3
    assert parse_messages(b"") == ([], False)


def test_proc_parser_skips_garbage_lines():
    text = "header\n  0: zz:zz 00000000:0000 0A\n  1: nonsense line\n"
    assert list(parse_proc_net_tcp(text, socket.AF_INET, 100)) == []


def test_proc_tcp_reads_a_fixture_tree(tmp_path):
    net = tmp_path / "proc" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text((FIXTURES / "proc_net_tcp").read_text())
    (net / "tcp6").write_text((FIXTURES / "proc_net_tcp6").read_text())
    listening = list(_sockdiag.proc_tcp(states_mask(["LISTEN"]), root=str(tmp_path)))
    expected = sorted(e["inode"] for e in TRUTH["sockets"] if e["listening"])
    assert sorted(item.inode for item in listening) == expected
    assert {item.src for item in listening} == {"127.0.0.1", "::1"}


def _messages(data: bytes) -> list:
    out, offset = [], 0
    while offset + 16 <= len(data):
        length = struct.unpack_from("=I", data, offset)[0]
        out.append(data[offset : offset + ((length + 3) & ~3)])
        offset += (length + 3) & ~3
    return out


def test_tcp_info_is_found_when_the_attribute_layout_changes_between_messages():
    """parse_raw looks for INET_DIAG_INFO where the previous message had it first: a message with another
    attribute in front of it (or none at all) is still read right."""
    sockets = [m for m in _messages(DUMP) if struct.unpack_from("=H", m, 4)[0] == 20]
    first, second = sockets[0], sockets[1]
    extra = struct.pack("=HH", 8, 99) + b"\0\0\0\0"  # an attribute this parser does not know
    at = 16 + 72
    shifted = bytearray(second[:at] + extra + second[at:])
    struct.pack_into("=I", shifted, 0, struct.unpack_from("=I", second)[0] + len(extra))
    bare = bytearray(second[:at])  # no attributes at all
    struct.pack_into("=I", bare, 0, at)
    expected = parse_messages(first + second)[0]
    assert expected[1].last_data_recv is not None
    assert parse_messages(first + bytes(shifted))[0] == expected
    got = parse_messages(first + bytes(bare) + bytes(shifted))[0]
    assert got[1] == expected[1]._replace(last_data_recv=None, last_data_sent=None, probes=None)
    assert got[2] == expected[1]
    assert _sockdiag.parse_raw(first + second)[0][1][_sockdiag.R_INODE] == expected[1].inode
