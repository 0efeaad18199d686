# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Find TCP keepalive probes in a pcap written by `tcpdump -w` and print their timing as JSON.

Standard library only (runs in the scenario's server container). For every IPv4 TCP connection whose
server side is --port it reports:
  probes:        segments from the server with no payload (or the 1 garbage byte old stacks send), flags
                 ACK only, and seq == snd_nxt - 1: the shape tcp_write_wakeup() -> tcp_xmit_probe_skb()
                 gives a keepalive probe (net/ipv4/tcp_output.c). Each carries `answered_at`: the time
                 of the first segment from the client acknowledging snd_nxt after it, or null.
  last_in:       time of the last segment received from the client.
  rst:           time of the first RST the server sent, or null.
  established:   time of the server's SYN-ACK.
Times are seconds since the epoch (same clock as the services' JSON logs: containers share the host's).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
SYN, RST, ACK, FIN = 0x02, 0x04, 0x10, 0x01
SEQ_MOD = 1 << 32


@dataclass
class Segment:
    time: float
    src: tuple[str, int]
    dst: tuple[str, int]
    seq: int
    ack: int
    flags: int
    payload: int


@dataclass
class Connection:
    client: str
    server_port: int
    established: float | None = None
    snd_nxt: int | None = None
    last_in: float | None = None
    rst: float | None = None
    probes: list[dict[str, float | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        answered = [p["t"] for p in self.probes if p["answered_at"] is not None]
        unanswered = [p["t"] for p in self.probes if p["answered_at"] is None]
        return {
            "client": self.client,
            "server_port": self.server_port,
            "established": self.established,
            "last_in": self.last_in,
            "rst": self.rst,
            "probes": self.probes,
            "answered": len(answered),
            "unanswered": len(unanswered),
            # Spacing of consecutive answered probes: each answer restarts the idle clock, so ~time.
            "answered_spacing": _diffs(answered),
            # Unanswered probes: the first ~time after the last segment received, then ~intvl apart.
            "unanswered_spacing": _diffs(unanswered),
            "first_unanswered_after_last_answer": (
                round(unanswered[0] - self._last_in_before(unanswered[0]), 3) if unanswered else None
            ),
            "rst_after_last_in": round(self.rst - self.last_in, 3) if self.rst and self.last_in else None,
        }

    def _last_in_before(self, moment: float) -> float:
        answers = [p["answered_at"] for p in self.probes if p["answered_at"] and p["answered_at"] < moment]
        return max(answers) if answers else (self.established or moment)


def _diffs(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in zip(times, times[1:])]


def read_pcap(path: str) -> Iterator[tuple[float, int, bytes]]:
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < 24:
        return
    magic = data[:4]
    endian, nano = {
        b"\xd4\xc3\xb2\xa1": ("<", False),
        b"\xa1\xb2\xc3\xd4": (">", False),
        b"\x4d\x3c\xb2\xa1": ("<", True),
        b"\xa1\xb2\x3c\x4d": (">", True),
    }[magic]
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[offset : offset + 16])
        offset += 16
        frame = data[offset : offset + incl]
        offset += incl
        if len(frame) < incl:
            break  # truncated last record (tcpdump still writing)
        yield sec + frac / (1e9 if nano else 1e6), linktype, frame


def ip_payload(linktype: int, frame: bytes) -> bytes | None:
    if linktype == LINKTYPE_RAW:
        return frame
    if linktype == LINKTYPE_ETHERNET:
        ethertype, start = struct.unpack("!H", frame[12:14])[0], 14
        while ethertype in (0x8100, 0x88A8) and len(frame) >= start + 4:
            ethertype, start = struct.unpack("!H", frame[start + 2 : start + 4])[0], start + 4
    elif linktype == LINKTYPE_LINUX_SLL:
        ethertype, start = struct.unpack("!H", frame[14:16])[0], 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        ethertype, start = struct.unpack("!H", frame[0:2])[0], 20
    else:
        return None
    return frame[start:] if ethertype == 0x0800 else None


def parse_segment(moment: float, packet: bytes) -> Segment | None:
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != 6:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack("!H", packet[2:4])[0]  # not len(packet): Ethernet pads short frames
    src_ip = ".".join(str(b) for b in packet[12:16])
    dst_ip = ".".join(str(b) for b in packet[16:20])
    tcp = packet[ihl:]
    if len(tcp) < 20:
        return None
    sport, dport, seq, ack, off_flags = struct.unpack("!HHIIH", tcp[:14])
    header = (off_flags >> 12) * 4
    return Segment(moment, (src_ip, sport), (dst_ip, dport), seq, ack, off_flags & 0x3F, total - ihl - header)


def analyse(path: str, port: int) -> list[dict[str, object]]:
    connections: dict[str, Connection] = {}
    for moment, linktype, frame in read_pcap(path):
        packet = ip_payload(linktype, frame)
        seg = parse_segment(moment, packet) if packet else None
        if seg is None or port not in (seg.src[1], seg.dst[1]):
            continue
        outbound = seg.src[1] == port
        host, client_port = seg.dst if outbound else seg.src
        client = f"{host}:{client_port}"
        conn = connections.setdefault(client, Connection(client=client, server_port=port))
        if outbound:
            record_outbound(conn, seg)
        else:
            record_inbound(conn, seg)
    return [conn.as_dict() for conn in connections.values()]


def record_outbound(conn: Connection, seg: Segment) -> None:
    if seg.flags & RST:
        conn.rst = conn.rst or seg.time
        return
    if seg.flags & SYN:
        conn.established = seg.time
    end = (seg.seq + seg.payload + (1 if seg.flags & (SYN | FIN) else 0)) % SEQ_MOD
    is_probe = (
        conn.snd_nxt is not None
        and seg.flags == ACK
        and seg.payload <= 1
        and seg.seq == (conn.snd_nxt - 1) % SEQ_MOD
    )
    if is_probe:
        conn.probes.append({"t": seg.time, "answered_at": None})
        return
    if conn.snd_nxt is None or (end - conn.snd_nxt) % SEQ_MOD < SEQ_MOD // 2:
        conn.snd_nxt = end


def record_inbound(conn: Connection, seg: Segment) -> None:
    conn.last_in = seg.time
    pending = conn.probes[-1] if conn.probes else None
    if pending and pending["answered_at"] is None and seg.flags & ACK and seg.ack == conn.snd_nxt:
        pending["answered_at"] = seg.time


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pcap")
    parser.add_argument("--port", type=int, required=True, help="server-side TCP port")
    args = parser.parse_args()
    json.dump({"port": args.port, "connections": analyse(args.pcap, args.port)}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
