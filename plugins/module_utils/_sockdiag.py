# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP socket enumeration: a NETLINK_SOCK_DIAG dump (standard library socket + struct) and a
/proc/net/tcp{,6} fallback.

The dump is streamed: one reusable receive buffer, one light tuple per socket, nothing else kept, so it
handles 100,000 sockets in bounded memory beyond what the caller keeps. The parser takes raw bytes, so
unit tests replay dumps recorded on a real kernel.

Layouts (include/uapi/linux/inet_diag.h, include/uapi/linux/sock_diag.h, include/uapi/linux/tcp.h):

    struct inet_diag_sockid {          // 48 bytes
        __be16 idiag_sport; __be16 idiag_dport;
        __be32 idiag_src[4]; __be32 idiag_dst[4];
        __u32  idiag_if; __u32 idiag_cookie[2];
    };
    struct inet_diag_req_v2 {          // 56 bytes
        __u8 sdiag_family; __u8 sdiag_protocol; __u8 idiag_ext; __u8 pad;
        __u32 idiag_states; struct inet_diag_sockid id;
    };
    struct inet_diag_msg {             // 72 bytes, followed by rtattr attributes
        __u8 idiag_family; __u8 idiag_state; __u8 idiag_timer; __u8 idiag_retrans;
        struct inet_diag_sockid id;
        __u32 idiag_expires; __u32 idiag_rqueue; __u32 idiag_wqueue; __u32 idiag_uid; __u32 idiag_inode;
    };
    enum { INET_DIAG_NONE, INET_DIAG_MEMINFO, INET_DIAG_INFO, ... };   // INET_DIAG_INFO = 2
    struct tcp_info { __u8 tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes, ...;   // byte 3
        ... __u32 tcpi_last_data_sent;   // byte 44
            __u32 tcpi_last_ack_sent;    // byte 48
            __u32 tcpi_last_data_recv;   // byte 52
            __u32 tcpi_last_ack_recv;    // byte 56
    };

idiag_timer (net/ipv4/inet_diag.c, inet_sk_diag_fill): 1 = retransmit / loss probe / reorder timer,
2 = sk_timer pending (the keepalive timer; also the orphaned FIN_WAIT2 timer), 4 = zero-window probe,
0 = none; TIME_WAIT sockets report 3 (inet_twsk_diag_fill). idiag_expires is in milliseconds.
/proc/net/tcp (net/ipv4/tcp_ipv4.c, get_tcp4_sock) shows the same codes in `tr` and `tm->when` in
USER_HZ ticks (jiffies_delta_to_clock_t).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable, NamedTuple, Tuple

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLMSG_ERROR = 2
NLMSG_DONE = 3
INET_DIAG_INFO = 2
INET_DIAG_NOCOOKIE = 0xFFFFFFFF

# include/net/tcp_states.h
TCP_STATES: dict[int, str] = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
STATE_BY_NAME: dict[str, int] = {name: number for number, name in TCP_STATES.items()}
ALL_STATES_MASK = sum(1 << number for number in TCP_STATES)

TIMER_NAMES = {0: "off", 1: "on", 2: "keepalive", 3: "timewait", 4: "probe"}  # as `ss -o` names them

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_REQ_V2 = struct.Struct("=BBBBI2s2s16s16sI8s")  # inet_diag_req_v2 (ports/addresses/cookie raw)
_MSG_HEAD = struct.Struct("!BBBBHH16s16s")  # family, state, timer, retrans, sport, dport, src, dst
_MSG_TAIL = struct.Struct("=IIIIIIII")  # if, cookie[0], cookie[1], expires, rq, wq, uid, inode
_RTATTR = struct.Struct("=HH")
_TCPI_HEAD = struct.Struct("=BBBB")  # tcpi_state, ca_state, retransmits, probes
_TCPI_TIMES = struct.Struct("=IIII")  # last_data_sent, last_ack_sent, last_data/ack_recv
_MSG_LEN = 72
_TCPI_TIMES_OFFSET = 44
_RECV_BUFFER = 1 << 16  # the kernel fills at most ~32 KiB per dump recv (net/netlink/af_netlink.c)


class TcpSocket(NamedTuple):
    """One TCP socket as the kernel reports it. Times in milliseconds; None when not reported."""

    family: int  # socket.AF_INET or socket.AF_INET6
    state: int  # TCP_STATES key
    timer: int  # idiag_timer / tr
    retrans: int  # idiag_retrans (retransmits, or probes out for timers 2 and 4)
    src: str
    sport: int
    dst: str
    dport: int
    expires: int  # ms until the pending timer fires (0 when none)
    rqueue: int
    wqueue: int
    uid: int
    inode: int  # 0 for sockets without a file (TIME_WAIT, orphans, request sockets)
    cookie: int | None  # socket cookie (sock_diag only), lets a re-sample ask for this exact socket
    last_data_recv: int | None  # ms since data was last received (TCP_INFO), None without TCP_INFO
    last_data_sent: int | None
    probes: int | None  # tcpi_probes: unanswered keepalive / zero-window probes

    @property
    def state_name(self) -> str:
        return TCP_STATES.get(self.state, str(self.state))


class SockDiagError(Exception):
    """NETLINK_SOCK_DIAG is not usable here (no netlink, no inet_diag/tcp_diag, kernel error)."""


def states_mask(names: Iterable[str]) -> int:
    """Bitmask of TCP states for inet_diag_req_v2.idiag_states. Asking for SYN_RECV also asks for the
    request sockets (NEW_SYN_RECV) the kernel keeps for pending connections, as ss does."""
    mask = 0
    for name in names:
        number = STATE_BY_NAME[name]
        mask |= 1 << number
        if number == 3:
            mask |= 1 << 12
    return mask


def build_request(
    family: int, mask: int, seq: int = 1, dump: bool = True, sock: TcpSocket | None = None
) -> bytes:
    """A SOCK_DIAG_BY_FAMILY request: a dump of `family` sockets in the states of `mask`, or (dump=False)
    a lookup of the one socket `sock` (addresses, ports and cookie), used to re-sample its timer."""
    ext = 1 << (INET_DIAG_INFO - 1)
    ports = (b"\0\0", b"\0\0")
    src = dst = b"\0" * 16
    cookie = struct.pack("=II", INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE)
    if sock is not None:
        ports = (struct.pack("!H", sock.sport), struct.pack("!H", sock.dport))
        src = socket.inet_pton(family, sock.src).ljust(16, b"\0")
        dst = socket.inet_pton(family, sock.dst).ljust(16, b"\0")
        if sock.cookie is not None:
            cookie = struct.pack("=II", sock.cookie & 0xFFFFFFFF, sock.cookie >> 32)
    body = _REQ_V2.pack(family, socket.IPPROTO_TCP, ext, 0, mask, ports[0], ports[1], src, dst, 0, cookie)
    flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, flags, seq, 0) + body


# A raw socket: the fields of one inet_diag_msg as unpacked, addresses still bytes, plus three of TCP_INFO.
# What the bulk of a large scan needs (state, timer, inode, idle time) costs no address text and no object;
# socket_from_raw() makes the TcpSocket when one is wanted. Index by the R_* constants.
RawSocket = Tuple[Any, ...]
R_FAMILY, R_STATE, R_TIMER, R_RETRANS, R_SPORT, R_DPORT, R_SRC, R_DST = range(8)
R_IF, R_COOKIE_LO, R_COOKIE_HI, R_EXPIRES, R_RQUEUE, R_WQUEUE, R_UID, R_INODE = range(8, 16)
R_LAST_RECV, R_LAST_SENT, R_PROBES = range(16, 19)


def parse_raw(
    data: bytes | bytearray | memoryview,
    length: int | None = None,
    keep: Callable[[int, int, int, int, bytes], bool] | None = None,
) -> tuple[list[RawSocket], bool]:
    """Parse the netlink messages in data[:length]: (raw sockets, done); done once an NLMSG_DONE was seen.

    `keep(family, state, sport, dport, src)` (src: the 16 raw address bytes) drops a socket before anything
    else of it is decoded (no tail, no TCP_INFO).

    Raises SockDiagError for an NLMSG_ERROR carrying a non-zero errno.
    """
    end = len(data) if length is None else length
    head_unpack = _MSG_HEAD.unpack_from
    tail_unpack = _MSG_TAIL.unpack_from
    hdr_unpack = _NLMSGHDR.unpack_from
    rta_unpack = _RTATTR.unpack_from
    times_unpack = _TCPI_TIMES.unpack_from
    info_min = 4 + _TCPI_TIMES_OFFSET + 16
    info_len = 0
    info_at = 0  # where INET_DIAG_INFO sat in the previous message: the kernel writes the same attributes
    # in the same order for the sockets of one dump (inet_sk_diag_fill), so it is looked for there first
    out: list[RawSocket] = []
    append = out.append
    offset = 0
    done = False
    while offset + 16 <= end:
        msg_len, msg_type, _flags, _seq, _pid = hdr_unpack(data, offset)
        if msg_len < 16 or offset + msg_len > end:
            break
        if msg_type == SOCK_DIAG_BY_FAMILY and msg_len >= 16 + _MSG_LEN:
            base = offset + 16
            head = head_unpack(data, base)
            if keep is not None and not keep(head[0], head[1], head[4], head[5], head[6]):
                offset += (msg_len + 3) & ~3
                continue
            msg_end = offset + msg_len
            attr = base + _MSG_LEN + info_at
            if not (
                info_at
                and attr + info_min <= msg_end
                and rta_unpack(data, attr) == (info_len, INET_DIAG_INFO)
            ):
                attr = base + _MSG_LEN
                info_len = 0
                while attr + 4 <= msg_end:
                    rta_len, rta_type = rta_unpack(data, attr)
                    if rta_len < 4:
                        break
                    if rta_type == INET_DIAG_INFO and rta_len >= info_min and attr + rta_len <= msg_end:
                        info_len = rta_len
                        info_at = attr - base - _MSG_LEN
                        break
                    attr += (rta_len + 3) & ~3
            if info_len:
                last_sent, _last_ack_sent, last_recv, _last_ack_recv = times_unpack(
                    data, attr + 4 + _TCPI_TIMES_OFFSET
                )
                append(head + tail_unpack(data, base + 40) + (last_recv, last_sent, data[attr + 7]))
            else:
                append(head + tail_unpack(data, base + 40) + (None, None, None))
        elif msg_type == NLMSG_DONE:
            done = True  # the kernel ends each dump with it; bytes after it belong to a following one
        elif msg_type == NLMSG_ERROR:
            code = struct.unpack_from("=i", data, offset + 16)[0]
            if code:
                raise SockDiagError("sock_diag: " + os.strerror(-code))
        offset += (msg_len + 3) & ~3
    return out, done


def raw_address(family: int, raw: bytes) -> str:
    """The text of a raw inet_diag address (16 bytes; an IPv4 address is the first 4)."""
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    return socket.inet_ntop(socket.AF_INET6, raw)


def socket_from_raw(raw: RawSocket) -> TcpSocket:
    family = raw[0]
    return TcpSocket(
        family,
        raw[1],
        raw[2],
        raw[3],
        raw_address(family, raw[6]),
        raw[4],
        raw_address(family, raw[7]),
        raw[5],
        raw[11],
        raw[12],
        raw[13],
        raw[14],
        raw[15],
        raw[9] | (raw[10] << 32),  # sock_diag_save_cookie() splits the u64 this way
        raw[16],
        raw[17],
        raw[18],
    )


def raw_from_socket(sock: TcpSocket) -> RawSocket:
    """The raw record a dump would have given for `sock` (tests feed parsed fixtures to the raw path)."""
    src = socket.inet_pton(sock.family, sock.src).ljust(16, b"\0")
    dst = socket.inet_pton(sock.family, sock.dst).ljust(16, b"\0")
    cookie = sock.cookie if sock.cookie is not None else (INET_DIAG_NOCOOKIE << 32) | INET_DIAG_NOCOOKIE
    return (
        sock.family,
        sock.state,
        sock.timer,
        sock.retrans,
        sock.sport,
        sock.dport,
        src,
        dst,
        0,
        cookie & 0xFFFFFFFF,
        cookie >> 32,
        sock.expires,
        sock.rqueue,
        sock.wqueue,
        sock.uid,
        sock.inode,
        sock.last_data_recv,
        sock.last_data_sent,
        sock.probes,
    )


def parse_messages(
    data: bytes | bytearray | memoryview,
    length: int | None = None,
    keep: Callable[[int, int, int, int, bytes], bool] | None = None,
) -> tuple[list[TcpSocket], bool]:
    """parse_raw(), each socket as a TcpSocket (addresses as text)."""
    raws, done = parse_raw(data, length, keep)
    return [socket_from_raw(raw) for raw in raws], done


def _open_netlink() -> socket.socket:
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
    except (OSError, AttributeError) as exc:
        raise SockDiagError(f"cannot open NETLINK_SOCK_DIAG socket: {exc}") from exc
    sock.settimeout(10.0)
    return sock


def _receive(sock: socket.socket, buffer: bytearray, record: list[bytes] | None) -> int:
    try:
        size = sock.recv_into(buffer)
    except OSError as exc:
        raise SockDiagError(f"sock_diag receive failed: {exc}") from exc
    if record is not None:
        record.append(bytes(buffer[:size]))
    return size


def dump_raw(
    mask: int = ALL_STATES_MASK,
    families: Sequence[int] = (socket.AF_INET, socket.AF_INET6),
    sock: socket.socket | None = None,
    record: list[bytes] | None = None,
    keep: Callable[[int, int, int, int, bytes], bool] | None = None,
) -> Iterator[list[RawSocket]]:
    """Stream every TCP socket of the caller's network namespace (or of `sock`'s, a NETLINK_SOCK_DIAG
    socket opened in another namespace) whose state is in `mask`, one list of raw sockets per receive
    (possibly empty). `record` collects the raw bytes received, for test fixtures."""
    own = sock is None
    nl = _open_netlink() if sock is None else sock
    buffer = bytearray(_RECV_BUFFER)
    try:
        for seq, family in enumerate(families, start=1):
            try:
                nl.send(build_request(family, mask, seq))
            except OSError as exc:
                raise SockDiagError(f"sock_diag request failed: {exc}") from exc
            done = False
            while not done:
                size = _receive(nl, buffer, record)
                if size == 0:
                    break
                try:
                    batch, done = parse_raw(buffer, size, keep)
                except SockDiagError:
                    if family == socket.AF_INET6 and not socket.has_ipv6:
                        break
                    raise
                yield batch
    finally:
        if own:
            nl.close()


def dump_tcp(
    mask: int = ALL_STATES_MASK,
    families: Sequence[int] = (socket.AF_INET, socket.AF_INET6),
    sock: socket.socket | None = None,
    record: list[bytes] | None = None,
    keep: Callable[[int, int, int, int, bytes], bool] | None = None,
) -> Iterator[TcpSocket]:
    """dump_raw(), socket by socket, each as a TcpSocket."""
    for batch in dump_raw(mask, families, sock, record, keep):
        for raw in batch:
            yield socket_from_raw(raw)


def query_tcp(
    family: int, src: str, sport: int, dst: str, dport: int, sock: socket.socket | None = None
) -> TcpSocket | None:
    """Ask the kernel for the one TCP socket with these addresses and ports (any cookie); None if none."""
    probe = TcpSocket(family, 0, 0, 0, src, sport, dst, dport, 0, 0, 0, 0, 0, None, None, None, None)
    own = sock is None
    nl = _open_netlink() if sock is None else sock
    buffer = bytearray(_RECV_BUFFER)
    try:
        try:
            nl.send(build_request(family, ALL_STATES_MASK, seq=1, dump=False, sock=probe))
        except OSError as exc:
            raise SockDiagError(f"sock_diag request failed: {exc}") from exc
        try:
            batch, _done = parse_messages(buffer, _receive(nl, buffer, None))
        except SockDiagError:
            return None
        return batch[0] if batch else None
    finally:
        if own:
            nl.close()


def lookup_tcp(sockets: Sequence[TcpSocket], sock: socket.socket | None = None) -> dict[int, TcpSocket]:
    """Ask the kernel again for these exact sockets (by addresses, ports and cookie): {cookie: fresh}.

    Sockets that are gone by now are simply absent from the result.
    """
    result: dict[int, TcpSocket] = {}
    wanted = [s for s in sockets if s.cookie is not None]
    if not wanted:
        return result
    own = sock is None
    nl = _open_netlink() if sock is None else sock
    buffer = bytearray(_RECV_BUFFER)
    try:
        for index, item in enumerate(wanted, start=1):
            try:
                nl.send(build_request(item.family, ALL_STATES_MASK, seq=index, dump=False, sock=item))
            except OSError:
                continue
            try:
                size = _receive(nl, buffer, None)
                batch, _done = parse_messages(buffer, size)
            except SockDiagError:
                continue  # ENOENT: the socket went away meanwhile
            for fresh in batch:
                if fresh.cookie is not None:
                    result[fresh.cookie] = fresh
    finally:
        if own:
            nl.close()
    return result


# ---- /proc/net/tcp fallback -------------------------------------------------------------------------


def _proc_address(text: str) -> tuple[str, int]:
    address, _sep, port = text.partition(":")
    # Each 32-bit word is printed as %08X of the value in host byte order.
    raw = b"".join(struct.pack("=I", int(address[i : i + 8], 16)) for i in range(0, len(address), 8))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw), int(port, 16)


def parse_proc_net_tcp(text: str, family: int, clock_ticks: int) -> Iterator[TcpSocket]:
    """Parse the content of /proc/net/tcp (family AF_INET) or /proc/net/tcp6 (AF_INET6)."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            src, sport = _proc_address(fields[1])
            dst, dport = _proc_address(fields[2])
            state = int(fields[3], 16)
            tx_queue, _sep, rx_queue = fields[4].partition(":")
            timer_text, _sep, when = fields[5].partition(":")
            expires_ms = int(when, 16) * 1000 // clock_ticks
            yield TcpSocket(
                family,
                state,
                int(timer_text, 16),
                int(fields[6], 16),
                src,
                sport,
                dst,
                dport,
                expires_ms,
                int(rx_queue, 16),
                int(tx_queue, 16),
                int(fields[7]),
                int(fields[9]),
                None,
                None,
                None,
                None,
            )
        except (ValueError, struct.error, OSError):
            continue


def proc_tcp(mask: int = ALL_STATES_MASK, root: str = "/") -> Iterator[TcpSocket]:
    """The fallback: sockets of the reader's namespace from <root>/proc/net/tcp and tcp6 (no TCP_INFO,
    hence no idle times)."""
    try:
        clock_ticks = os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError):
        clock_ticks = 100
    for name, family in (("tcp", int(socket.AF_INET)), ("tcp6", int(socket.AF_INET6))):
        try:
            with open(os.path.join(root, "proc", "net", name), encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EACCES):
                continue
            raise
        for item in parse_proc_net_tcp(text, family, clock_ticks):
            if mask & (1 << item.state):
                yield item


# ---- SOCK_DESTROY: close one connection by its 4-tuple and cookie (what `ss -K` does) -----------------
# include/uapi/linux/sock_diag.h: SOCK_DESTROY = 21, same inet_diag_req_v2 body as a lookup. The kernel
# (net/ipv4/inet_diag.c inet_diag_cmd_exact -> tcp_diag_destroy -> tcp_abort) finds the socket by its
# addresses, ports and cookie, and resets it with ECONNABORTED: the owner's next read sees the error, the
# peer gets a RST. Needs CONFIG_INET_DIAG_DESTROY (else EOPNOTSUPP) and CAP_NET_ADMIN over the socket's
# network namespace (else EPERM). The answer is an NLMSG_ERROR ack: 0 on success, -errno otherwise.
SOCK_DESTROY = 21
NLM_F_ACK = 0x4


def build_destroy(sock: TcpSocket, seq: int = 1) -> bytes:
    """A SOCK_DESTROY request for exactly `sock` (addresses, ports and, when known, cookie)."""
    lookup = build_request(sock.family, ALL_STATES_MASK, seq=seq, dump=False, sock=sock)
    body = lookup[_NLMSGHDR.size :]
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def destroy_tcp(sock: TcpSocket, nl: socket.socket | None = None, seq: int = 1) -> int:
    """Ask the kernel to destroy `sock`; 0 on success, else the errno the kernel answered (ENOENT: gone,
    EOPNOTSUPP: no CONFIG_INET_DIAG_DESTROY, EPERM: no CAP_NET_ADMIN). Raises SockDiagError only when
    netlink itself fails."""
    own = nl is None
    link = _open_netlink() if nl is None else nl
    buffer = bytearray(4096)
    try:
        try:
            link.send(build_destroy(sock, seq))
        except OSError as exc:
            raise SockDiagError(f"sock_diag destroy request failed: {exc}") from exc
        size = _receive(link, buffer, None)
        offset = 0
        while offset + 16 <= size:
            msg_len, msg_type, _flags, msg_seq, _pid = _NLMSGHDR.unpack_from(buffer, offset)
            if msg_len < 16:
                break
            if msg_type == NLMSG_ERROR and msg_seq == seq:
                return -struct.unpack_from("=i", buffer, offset + 16)[0]
            offset += (msg_len + 3) & ~3
        raise SockDiagError("sock_diag destroy: no acknowledgement from the kernel")
    finally:
        if own:
            link.close()
