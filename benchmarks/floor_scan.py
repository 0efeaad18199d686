# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The floor of a socket audit in Python: one raw NETLINK_SOCK_DIAG dump per family with TCP_INFO (the
messages counted, nothing decoded) plus one /proc/*/fd readlink walk (socket inodes counted). Standard
library only, no collection code: whatever sockets_info does beyond this is its own cost.

    python floor_scan.py            prints {"sockets": N, "socket_fds": M, "scan_s": seconds}
    python floor_scan.py --reads    the same plus the socket-option reads `read_socket_options: auto`
                                    must make: "reads" more in the output

With --reads the dump also decodes state, timer and inode, the walk keeps the first (pid, fd) of every
socket `auto` reads (all but the connected ones, ESTABLISHED or CLOSE_WAIT, without any timer: on a
connected socket with the keepalive timer the per-socket TCP_KEEPIDLE/INTVL/CNT and TCP_USER_TIMEOUT
override the sysctls; listeners are read for SO_KEEPALIVE), and each is read the least a correct reader
can: pidfd_open once per process, pidfd_getfd, an fstat to check that the descriptor still holds that
socket, SO_KEEPALIVE, then TCP_KEEPIDLE/INTVL/CNT and TCP_USER_TIMEOUT (TCP_USER_TIMEOUT alone where
keepalive is off, as `auto` reads them), close. Nothing is classified or kept: the cost of the reads
themselves, as CPython and the kernel charge it.
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
CONNECTED = (1, 8)  # ESTABLISHED, CLOSE_WAIT
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438  # x86_64 and aarch64 (asm-generic) alike
TCP_USER_TIMEOUT = 18  # linux/tcp.h, as in plugins/module_utils/_sockopts.py
TCP_OPTIONS = (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT, TCP_USER_TIMEOUT)


def request(family: int, seq: int) -> bytes:
    body = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0, ALL_STATES)
    body += b"\0" * 48  # inet_diag_sockid: ports, addresses, interface, cookie (any)
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, 0x301, seq, 0) + body


def dump(wanted: set[int] | None = None) -> int:
    """Messages of both dumps; with `wanted`, also the inodes of the sockets `auto` reads, added to it."""
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
                    if kind == SOCK_DIAG_BY_FAMILY:
                        count += 1
                        if wanted is not None:  # idiag_state, idiag_timer; idiag_inode ends the 72 bytes
                            state, timer = buffer[offset + 17], buffer[offset + 18]
                            if timer or state not in CONNECTED:
                                wanted.add(struct.unpack_from("=I", buffer, offset + 84)[0])
                    offset += (length + 3) & ~3
    return count


def fd_walk(wanted: set[int] | None = None, found: dict[int, tuple[int, int]] | None = None) -> int:
    """Socket descriptors of every process; with `wanted`, the first (pid, fd) of each such inode goes
    into `found`."""
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
                try:
                    link = os.readlink(fd, dir_fd=dir_fd)
                    if link[:8] != "socket:[":
                        continue
                    sockets += 1
                    if wanted is not None and found is not None:
                        inode = int(link[8:-1])
                        if inode in wanted and inode not in found:
                            found[inode] = (int(name), int(fd))
                except (OSError, ValueError):
                    pass
        except OSError:
            pass
        finally:
            os.close(dir_fd)
    return sockets


def read_options(found: dict[int, tuple[int, int]]) -> int:
    """Read each socket's keepalive options through a pidfd_getfd copy; return how many were read."""
    import ctypes  # only with --reads: its import is part of what the reads cost

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    getfd = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.c_int, ctypes.c_uint)(
        ("syscall", libc)
    )
    pidfds: dict[int, int] = {}
    read = 0
    sol_socket, so_keepalive, sol_tcp = socket.SOL_SOCKET, socket.SO_KEEPALIVE, socket.IPPROTO_TCP
    for inode, (pid, fd) in found.items():
        pidfd = pidfds.get(pid)
        if pidfd is None:
            pidfd = pidfds[pid] = int(libc.syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0)))
        if pidfd < 0:
            continue
        copy = getfd(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            continue
        sock = socket.SocketType(socket.AF_INET, socket.SOCK_STREAM, 0, copy)
        try:
            if os.fstat(copy).st_ino != inode:
                continue
            get = sock.getsockopt
            if get(sol_socket, so_keepalive):
                for option in TCP_OPTIONS:
                    get(sol_tcp, option)
            else:
                get(sol_tcp, TCP_USER_TIMEOUT)
            read += 1
        except OSError:
            pass
        finally:
            sock.close()
    for pidfd in pidfds.values():
        if pidfd >= 0:
            os.close(pidfd)
    return read


def main() -> int:
    reads = sys.argv[1:] == ["--reads"]
    if sys.argv[1:] and not reads:
        print(__doc__, file=sys.stderr)
        return 2
    start = time.perf_counter()
    wanted: set[int] | None = set() if reads else None
    found: dict[int, tuple[int, int]] = {}
    sockets = dump(wanted)
    socket_fds = fd_walk(wanted, found)
    result = {"sockets": sockets, "socket_fds": socket_fds}
    if reads:
        result["reads"] = read_options(found)
    result["scan_s"] = time.perf_counter() - start
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
