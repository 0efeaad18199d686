# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The floor of a socket audit in Python: one raw NETLINK_SOCK_DIAG dump per family with TCP_INFO (the
messages counted, nothing decoded) plus one /proc/*/fd readlink walk (socket inodes counted). Standard
library only, no collection code: whatever sockets_info does beyond this is its own cost.

    python floor_scan.py      prints {"sockets": N, "socket_fds": M, "scan_s": seconds}
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time

NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLMSG_DONE = 4, 20, 3
ALL_STATES = 0xFFF
INET_DIAG_INFO = 2


def request(family: int, seq: int) -> bytes:
    body = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0, ALL_STATES)
    body += b"\0" * 48  # inet_diag_sockid: ports, addresses, interface, cookie (any)
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, 0x301, seq, 0) + body


def dump() -> int:
    count = 0
    buffer = bytearray(1 << 16)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), start=1):
            nl.send(request(family, seq))
            done = False
            while not done:
                size = nl.recv_into(buffer)
                offset = 0
                while offset + 16 <= size:
                    length, kind = struct.unpack_from("=IH", buffer, offset)
                    if kind == NLMSG_DONE or length < 16:
                        done = True
                        break
                    count += kind == SOCK_DIAG_BY_FAMILY
                    offset += (length + 3) & ~3
    return count


def fd_walk() -> int:
    sockets = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            dir_fd = os.open(f"/proc/{name}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            for fd in os.listdir(dir_fd):
                try:  # noqa: SIM105 - contextlib.suppress costs a frame per descriptor
                    sockets += os.readlink(fd, dir_fd=dir_fd).startswith("socket:[")
                except OSError:
                    pass
        except OSError:
            pass
        finally:
            os.close(dir_fd)
    return sockets


def main() -> int:
    start = time.perf_counter()
    sockets = dump()
    socket_fds = fd_walk()
    print(json.dumps({"sockets": sockets, "socket_fds": socket_fds, "scan_s": time.perf_counter() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
