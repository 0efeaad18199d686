# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sockets_info: which TCP sockets lack keepalive, who owns them, and which connections look like ghosts.

Pipeline (one pass, streaming): owners (one /proc/<pid>/fd scan) -> sock_diag dump per namespace ->
per socket: filter, classify (socket options when readable, else the keepalive timer), aggregate into
services and summary, keep the socket only if it will be listed -> re-sample the few sockets whose timer
was masked -> findings per service.

Classification (see DESIGN.md and net/ipv4/inet_diag.c, net/ipv4/tcp_timer.c):
- socket options (pidfd_getfd + getsockopt) are authoritative: keepalive_source "sockopt".
- otherwise the timer: ESTABLISHED/CLOSE_WAIT with the keepalive timer pending (idiag_timer 2) is true, no
  timer (0) is false -- with SO_KEEPALIVE set, the keepalive timer is armed whenever the connection is
  established (tcp_finish_connect, tcp_create_openreq_child, tcp_set_keepalive) and re-arms itself --, a
  retransmit (1) or zero-window probe (4) timer masks it, so the socket is re-sampled once shortly after,
  then unknown. LISTEN never shows it; an orphaned FIN_WAIT2 shows 2 without SO_KEEPALIVE: both unknown.
"""

from __future__ import annotations

import array
import contextlib
import fnmatch
import json
import math
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import read_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    KEYS,
    SEVERITIES,
    Finding,
    detection_time,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import ProcessCache, scan_socket_fds
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import TCP_STATES, TcpSocket
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import (
    SKIP_NET_CLS,
    SKIP_NEVER,
    SKIP_NO_OWNER,
    SKIP_SELF_NET_CLS,
    SockOptReader,
    SockOpts,
    net_cls_unsafe,
)

# ---- options ----------------------------------------------------------------------------------------

STATE_NAMES = tuple(name for number, name in sorted(TCP_STATES.items()) if name != "NEW_SYN_RECV")
DEFAULT_STATES = ("ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "CLOSE_WAIT", "LAST_ACK",
                  "LISTEN", "CLOSING")
READ_MODES = ("auto", "always", "never")
NAMESPACE_MODES = ("current", "all")
DETAIL_MODES = ("full", "summary")
DEFAULT_IDLE_THRESHOLD = 3600

# Sockets listed by default: a host with 100,000 connections must not flood the controller (a full
# listing measured 74 MB of JSON and 294 MiB peak RSS at 80,000 sockets; see docs/performance.md).
DEFAULT_DETAIL = 1000
SUMMARY_BUDGET = 60 * 1024        # detail=summary: bytes of JSON the whole result stays under
SUMMARY_MAX_NAMESPACES = 50
SUMMARY_EXAMPLES = 3              # example sockets per finding with detail=summary
SEVERITY_ORDER = {severity: index for index, severity in enumerate(SEVERITIES)}
MAX_LISTENERS_PER_SERVICE = 20
MAX_EXAMPLES = 10                 # sockets named in one aggregated finding
MAX_RESAMPLE = 2000               # sockets whose masked timer is looked at again
MAX_ENTRY_ATTEMPTS = 3            # ways tried to enter one namespace (bind mounts, then its processes)
RESAMPLE_DELAY = 0.2              # seconds: long enough for a retransmit / ACK to complete on a live link

CONNECTED = (1, 8)                # ESTABLISHED, CLOSE_WAIT: the states where the timer is a reliable signal
LISTEN = 10
FIN_WAIT2 = 5


class OptionError(ValueError):
    """Bad module input; the message is meant for the user as is."""


@dataclass
class ScanOptions:
    states: tuple[str, ...] = DEFAULT_STATES
    ports: frozenset[int] = frozenset()
    exclude_ports: frozenset[int] = frozenset()
    include_loopback: bool = False
    services: tuple[str, ...] = ()
    exclude_services: tuple[str, ...] = ()
    idle_threshold: int = DEFAULT_IDLE_THRESHOLD
    max_detection_time: int | None = None
    namespaces: str = "current"
    detail: str | int = DEFAULT_DETAIL
    read_socket_options: str = "auto"
    resample_delay: float = RESAMPLE_DELAY


def _as_list(name: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [item.strip() for item in str(value).split(",") if item.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise OptionError(f"{name} must be a list, got {type(value).__name__}")


def _port_set(name: str, value: Any) -> frozenset[int]:
    ports = set()
    for item in _as_list(name, value):
        if isinstance(item, bool):
            raise OptionError(f"{name}: {item!r} is not a port number")
        try:
            port = int(str(item).strip(), 10)
        except ValueError:
            raise OptionError(f"{name}: {item!r} is not a port number (1-65535)") from None
        if not 1 <= port <= 65535:
            raise OptionError(f"{name}: port {port} is out of range (1-65535)")
        ports.add(port)
    return frozenset(ports)


def _states(value: Any) -> tuple[str, ...]:
    items = [str(item).strip().upper().replace("-", "_") for item in _as_list("states", value)]
    if not items:
        return DEFAULT_STATES
    if "ALL" in items:
        return STATE_NAMES
    unknown = [item for item in items if item not in STATE_NAMES]
    if unknown:
        raise OptionError(f"states: unknown TCP state(s) {', '.join(unknown)}; "
                          f"use any of {', '.join(STATE_NAMES)} or 'all'")
    return tuple(dict.fromkeys(items))


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise OptionError(f"{name} must be a whole number of seconds, got {value!r}")
    try:
        number = int(str(value).strip(), 10)
    except ValueError:
        raise OptionError(f"{name} must be a whole number of seconds, got {value!r}") from None
    if number < 0:
        raise OptionError(f"{name} must not be negative, got {number}")
    return number


def _detail(value: Any) -> str | int:
    if value is None:
        return DEFAULT_DETAIL
    if isinstance(value, bool):
        raise OptionError(f"detail must be 'full', 'summary' or a number of sockets, got {value!r}")
    text = str(value).strip().lower()
    if text in DETAIL_MODES:
        return text
    try:
        cap = int(text, 10)
    except ValueError:
        raise OptionError(f"detail must be 'full', 'summary' or a number of sockets, got {value!r}") from None
    if cap < 0:
        raise OptionError(f"detail: a socket cap must not be negative, got {cap}")
    return cap


def _choice(name: str, value: Any, choices: tuple[str, ...], default: str) -> str:
    text = default if value is None else str(value).strip().lower()
    if text not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return text


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def parse_options(raw: dict[str, Any]) -> ScanOptions:
    """Validate module parameters into ScanOptions; OptionError with a clear message on bad input."""
    max_detection = raw.get("max_detection_time")
    return ScanOptions(
        states=_states(raw.get("states")),
        ports=_port_set("ports", raw.get("ports")),
        exclude_ports=_port_set("exclude_ports", raw.get("exclude_ports")),
        include_loopback=bool(raw.get("include_loopback", False)),
        services=tuple(str(item) for item in _as_list("services", raw.get("services"))),
        exclude_services=tuple(str(item) for item in
                               _as_list("exclude_services", raw.get("exclude_services"))),
        idle_threshold=_non_negative_int("idle_threshold", _default(raw.get("idle_threshold"),
                                                                    DEFAULT_IDLE_THRESHOLD)),
        max_detection_time=(None if max_detection is None
                            else _non_negative_int("max_detection_time", max_detection)),
        namespaces=_choice("namespaces", raw.get("namespaces"), NAMESPACE_MODES, "current"),
        detail=_detail(raw.get("detail")),
        read_socket_options=_choice("read_socket_options", raw.get("read_socket_options"), READ_MODES,
                                    "auto"),
    )


# ---- per-socket classification ----------------------------------------------------------------------

@dataclass
class Verdict:
    keepalive: bool | str            # True, False or "unknown"
    source: str | None = None           # "sockopt" | "timer" | None
    reason: str | None = None           # why unknown


class Classified:
    """What the scan concluded about one socket (light: one per socket, not kept unless listed)."""

    __slots__ = ("sock", "verdict", "skipped", "keepidle", "keepintvl", "keepcnt", "user_timeout",
                 "params_source", "detection", "idle", "ghost")

    def __init__(self, sock: TcpSocket, verdict: Verdict, skipped: str | None) -> None:
        self.sock = sock
        self.verdict = verdict
        self.skipped = skipped
        self.keepidle: int | None = None
        self.keepintvl: int | None = None
        self.keepcnt: int | None = None
        self.user_timeout: int | None = None
        self.params_source: str | None = None
        self.detection: int | None = None
        self.idle: int | None = None
        self.ghost = False

    @property
    def local(self) -> str:
        return endpoint(self.sock.family, self.sock.src, self.sock.sport)

    @property
    def where(self) -> str:
        sock = self.sock
        return f"{self.local}->{endpoint(sock.family, sock.dst, sock.dport)}"

    @property
    def bucket(self) -> int:
        """Listing priority: ghosts, listeners without keepalive, connections without, unknown, rest."""
        keepalive = self.verdict.keepalive
        if self.ghost:
            return 0
        if keepalive is False:
            return 1 if self.sock.state == LISTEN else 2
        return 3 if keepalive == "unknown" else 4


TIMER_TRUE = Verdict(True, "timer")      # shared: verdicts are never changed once made
TIMER_FALSE = Verdict(False, "timer")
SOCKOPT_VERDICT = {True: Verdict(True, "sockopt"), False: Verdict(False, "sockopt")}


def timer_verdict(sock: TcpSocket) -> Verdict:
    """What the timer alone says about SO_KEEPALIVE."""
    state = sock.state
    if state in CONNECTED:
        if sock.timer == 2:
            return TIMER_TRUE
        if sock.timer == 0:
            return TIMER_FALSE
        kind = "retransmit" if sock.timer == 1 else "zero-window probe"
        return Verdict("unknown", None, f"a {kind} timer masks the keepalive timer")
    if state == LISTEN:
        return Verdict("unknown", None, "a listening socket never shows a keepalive timer; its socket "
                                        "options were not read")
    if state == FIN_WAIT2:
        return Verdict("unknown", None, "an orphaned FIN_WAIT2 socket shows the same timer without "
                                        "SO_KEEPALIVE")
    return Verdict("unknown", None, f"no keepalive signal in state {sock.state_name}")


def effective_detection_time(keepidle: int, keepintvl: int, keepcnt: int, user_timeout_ms: int) -> int:
    """Seconds from the last data received until a dead idle peer is reset.

    net/ipv4/tcp_timer.c tcp_keepalive_timer(): without TCP_USER_TIMEOUT the reset comes after keepcnt
    unanswered probes (keepidle + keepintvl * keepcnt). With it, the reset comes at the first keepalive
    timer tick where the idle time reaches user_timeout and at least one probe is out: ticks fall at
    keepidle + k * keepintvl, k >= 1.
    """
    if user_timeout_ms > 0:
        user_timeout = user_timeout_ms / 1000.0
        ticks = max(1, math.ceil((user_timeout - keepidle) / keepintvl)) if keepintvl > 0 else 1
        return int(keepidle + ticks * keepintvl)
    return int(detection_time(keepidle, keepintvl, keepcnt) or 0)


def endpoint(family: int, address: str, port: int) -> str:
    return f"[{address}]:{port}" if family == socket.AF_INET6 else f"{address}:{port}"


def is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1" or address.startswith("::ffff:127.")


# ---- remediation hints ------------------------------------------------------------------------------

_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sshd", "sshd-session"),
     "OpenSSH: in sshd_config set `TCPKeepAlive yes` (SO_KEEPALIVE on accepted connections, the default) "
     "and `ClientAliveInterval 60` + `ClientAliveCountMax 3` (protocol-level liveness that also ends "
     "dead sessions); then `systemctl reload ssh`."),
    (("nginx",),
     "nginx: add `so_keepalive=on` (or `so_keepalive=30m::10` for idle:intvl:cnt) to each `listen` "
     "directive, e.g. `listen 443 ssl so_keepalive=on;`; for upstreams `proxy_socket_keepalive on;`."),
    (("haproxy",),
     "HAProxy: `option clitcpka` in frontends and `option srvtcpka` in backends (or `option tcpka` in "
     "defaults); tune with `clitcpka-idle`/`clitcpka-intvl`/`clitcpka-cnt` and the srvtcpka-* variants."),
    (("redis-server", "redis-sentinel", "valkey-server", "keydb-server"),
     "Redis: `tcp-keepalive 300` in redis.conf (or `CONFIG SET tcp-keepalive 300`); 0 disables it."),
    (("postgres", "postmaster"),
     "PostgreSQL: in postgresql.conf set `tcp_keepalives_idle = 300`, `tcp_keepalives_interval = 30`, "
     "`tcp_keepalives_count = 3` (and `tcp_user_timeout`); clients: libpq `keepalives=1 "
     "keepalives_idle=300`."),
    (("mysqld", "mariadbd", "mysqld_safe"),
     "MySQL/MariaDB: the server sets SO_KEEPALIVE on client connections; MariaDB tunes it with "
     "`tcp_keepalive_time`, `tcp_keepalive_interval`, `tcp_keepalive_probes` in [mysqld]; MySQL follows "
     "the net.ipv4.tcp_keepalive_* sysctls. Clients: Connector/J `tcpKeepAlive=true`."),
    (("java",),
     "Java: call `socket.setKeepAlive(true)` (or `setOption(StandardSocketOptions.SO_KEEPALIVE, true)`) and "
     "tune with `jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE`/`TCP_KEEPINTERVAL`/`TCP_KEEPCOUNT` (JDK 11+); "
     "for JDBC use the driver's `tcpKeepAlive=true`."),
)
_SYSTEMD_SOCKET_HINT = (
    "systemd socket activation: in the .socket unit set `KeepAlive=yes` and optionally `KeepAliveTimeSec=`, "
    "`KeepAliveIntervalSec=`, `KeepAliveProbes=`; then `systemctl daemon-reload` and restart the socket.")
_LIBKEEPALIVE_HINT = (
    "No built-in setting known: preload libkeepalive (`LD_PRELOAD=libkeepalive.so KEEPALIVE=on "
    "KEEPIDLE=300 KEEPINTVL=30 KEEPCNT=3`, e.g. via `Environment=` in a systemd drop-in), or fix the "
    "application to set SO_KEEPALIVE.")


def remediation_hint(comm: str | None, exe: str | None, pid: int | None) -> str:
    """The directive that turns keepalive on for a well-known daemon, else the libkeepalive route."""
    if pid == 1 or comm == "systemd":
        return _SYSTEMD_SOCKET_HINT
    names = {comm or "", os.path.basename(exe or "")}
    for known, hint in _HINTS:
        if names & set(known):
            return hint
    return _LIBKEEPALIVE_HINT


# ---- aggregation ------------------------------------------------------------------------------------

@dataclass
class Owner:
    """Who holds a socket, as far as the scan can tell."""

    service: str | None
    pid: int | None = None
    comm: str | None = None
    exe: str | None = None
    unit: str | None = None
    container_id: str | None = None
    unsafe_net_cls: bool = False
    stats: ServiceStats | None = field(default=None, repr=False, compare=False)  # set by Scan.service()


@dataclass
class ServiceStats:
    name: str
    comm: str | None
    exe: str | None
    unit: str | None
    container_id: str | None
    first_pid: int | None
    pids: list[int] = field(default_factory=list)
    listeners: list[dict[str, Any]] = field(default_factory=list)
    listeners_without_keepalive: int = 0
    connections: int = 0
    with_keepalive: int = 0
    without_keepalive: int = 0
    keepalive_unknown: int = 0
    ghost_candidates: int = 0
    max_ghost_idle: int = 0
    max_detection_time: int | None = None
    user_timeout_overrides: int = 0
    detection_exceeded: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    namespaces: set[int | None] = field(default_factory=set)   # None: the current namespace

    def wants_example(self, kind: str) -> bool:
        return len(self.examples.get(kind, ())) < MAX_EXAMPLES

    def example(self, kind: str, text: str) -> None:
        bucket = self.examples.setdefault(kind, [])
        if len(bucket) < MAX_EXAMPLES:
            bucket.append(text)

    @property
    def problems(self) -> int:
        return self.listeners_without_keepalive * 1000 + self.ghost_candidates * 10 + self.without_keepalive

    def as_dict(self) -> dict[str, Any]:
        needs_hint = self.listeners_without_keepalive or self.without_keepalive or self.ghost_candidates
        return {
            "name": self.name,
            "systemd_unit": self.unit,
            "container_id": self.container_id,
            "comm": self.comm,
            "exe": self.exe,
            "pids": list(self.pids),
            "listeners": list(self.listeners),
            "listeners_without_keepalive": self.listeners_without_keepalive,
            "connections": self.connections,
            "with_keepalive": self.with_keepalive,
            "without_keepalive": self.without_keepalive,
            "keepalive_unknown": self.keepalive_unknown,
            "ghost_candidates": self.ghost_candidates,
            "max_detection_time": self.max_detection_time,
            "hint": remediation_hint(self.comm, self.exe, self.first_pid) if needs_hint else None,
        }


@dataclass
class NamespaceContext:
    inode: int | None
    sysctls: dict[str, int | None]
    netlink: socket.socket | None = None     # a NETLINK_SOCK_DIAG socket opened inside the namespace
    error: str | None = None
    current: bool = True


# typing.* generics: these aliases are evaluated at import, and managed nodes may run Python 3.8.
Holders = Sequence[Tuple[int, int]]
Pending = Tuple[NamespaceContext, TcpSocket, Owner, Holders, Optional[str]]
SocketSource = Callable[[NamespaceContext, int], Iterable[TcpSocket]]
Resampler = Callable[[NamespaceContext, List[TcpSocket]], Dict[int, TcpSocket]]


class Scan:
    """One run of sockets_info over the namespaces asked for."""

    def __init__(self, options: ScanOptions, root: str = "/", reader: SockOptReader | None = None,
                 socket_source: SocketSource | None = None, resampler: Resampler | None = None) -> None:
        self.options = options
        self.root = root
        self.reader = reader
        self.methods: set[str] = set()
        self.socket_source = socket_source or default_socket_source(root, self.methods)
        self.resampler = resampler or default_resampler
        self.processes = ProcessCache(root)
        self.owner_map: dict[int, list[tuple[int, int]]] = {}
        self.owner_cache: dict[int, Owner] = {}   # per pid
        self.no_owner = Owner(service=None)       # sockets without a visible owner
        self.services: dict[str, ServiceStats] = {}
        self.by_state = [0] * (max(TCP_STATES) + 1)   # by state number
        self.by_keepalive = {"true": 0, "false": 0, "unknown": 0}
        self.by_source = {"sockopt": 0, "timer": 0}
        self.sockopt_skipped: dict[str, int] = {}
        self.sockopt_read = 0
        self.total = 0
        self.ghosts = 0
        self.listeners_without = 0
        self.listed: list[list[dict[str, Any]]] = [[], [], [], [], []]   # by listing priority
        self.pending: list[Pending] = []
        self.namespace_reports: list[dict[str, Any]] = []
        self.self_unsafe = False
        self.listener_findings: list[Finding] = []

    # -- options ------------------------------------------------------------------------------------
    @property
    def cap(self) -> int | None:
        detail = self.options.detail
        if detail == "full":
            return None
        if detail == "summary":
            return 0
        return int(detail)

    def _port_wanted(self, sock: TcpSocket) -> bool:
        ports, excluded = self.options.ports, self.options.exclude_ports
        remote = sock.dport if sock.state != LISTEN else None
        if ports and sock.sport not in ports and remote not in ports:
            return False
        return not (excluded and (sock.sport in excluded or remote in excluded))

    def _service_wanted(self, owner: Owner) -> bool:
        names = {name for name in (owner.service, owner.comm, owner.unit) if name}
        if owner.unit and owner.unit.endswith(".service"):
            names.add(owner.unit[: -len(".service")])

        def matches(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)

        if self.options.services and not matches(self.options.services):
            return False
        return not (self.options.exclude_services and matches(self.options.exclude_services))

    # -- owners -------------------------------------------------------------------------------------
    def owner_of(self, inode: int) -> tuple[Owner, Holders]:
        """The owning service (cached per pid) and every (pid, fd) holding the socket."""
        holders = self.owner_map.get(inode) if inode else None
        if not holders:
            return self.no_owner, ()
        pid = holders[0][0]
        owner = self.owner_cache.get(pid)
        if owner is None:
            process = self.processes.get(pid)
            unit = process.unit
            service_unit = unit if unit and unit.endswith((".service", ".socket")) else None
            service = service_unit or process.comm or f"pid {pid}"
            if process.container_id and not service_unit:
                service = f"{service}@{process.container_id[:12]}"
            owner = Owner(service=service, pid=pid, comm=process.comm, exe=process.exe, unit=unit,
                          container_id=process.container_id, unsafe_net_cls=net_cls_unsafe(process.cgroup))
            self.owner_cache[pid] = owner
        return owner, holders

    # -- socket options -----------------------------------------------------------------------------
    def _wants_sockopts(self, sock: TcpSocket) -> bool:
        mode = self.options.read_socket_options
        if mode == "never" or self.reader is None:
            return False
        if mode == "always":
            return True
        # auto: read where it adds information; a connected socket without any timer is reliably
        # without keepalive and needs no syscall (keeps a 100,000-socket scan fast).
        return not (sock.state in CONNECTED and sock.timer == 0)

    def _read_sockopts(self, sock: TcpSocket, owner: Owner, holders: Holders
                       ) -> tuple[SockOpts | None, str | None]:
        if self.options.read_socket_options == "never" or self.reader is None:
            return None, SKIP_NEVER
        if not self._wants_sockopts(sock):
            return None, None
        if not holders:
            return None, SKIP_NO_OWNER
        if self.self_unsafe:
            return None, SKIP_SELF_NET_CLS
        if owner.unsafe_net_cls:
            return None, SKIP_NET_CLS
        pid, fd = holders[0]
        return self.reader.read(pid, fd, sock.inode)

    # -- the run ------------------------------------------------------------------------------------
    def run(self, contexts: list[NamespaceContext]) -> None:
        mask = _sockdiag.states_mask(self.options.states)
        if self.reader is not None:
            self.self_unsafe = net_cls_unsafe(read_cgroup(os.getpid(), self.root))
        self.owner_map = scan_socket_fds(self.root)
        for context in contexts:
            count_before = self.total
            if context.error is None:
                try:
                    for sock in self.socket_source(context, mask):
                        self.add(context, sock)
                except (_sockdiag.SockDiagError, OSError) as exc:
                    context.error = f"socket dump failed: {exc}"
            self.namespace_reports.append({
                "inode": context.inode, "current": context.current, "sysctls": dict(context.sysctls),
                "sockets": self.total - count_before, "error": context.error,
            })
        self.resolve_pending()

    def add(self, context: NamespaceContext, sock: TcpSocket) -> None:
        if not self.options.include_loopback and is_loopback(sock.src):
            return
        if (self.options.ports or self.options.exclude_ports) and not self._port_wanted(sock):
            return
        owner, holders = self.owner_of(sock.inode)
        if (self.options.services or self.options.exclude_services) and not self._service_wanted(owner):
            return
        opts, skipped = self._read_sockopts(sock, owner, holders)
        if opts is None and sock.state in CONNECTED and sock.timer in (1, 4) and sock.cookie is not None \
                and len(self.pending) < MAX_RESAMPLE:
            self.pending.append((context, sock, owner, holders, skipped))
            return
        self.record(context, sock, owner, holders, opts, skipped)

    def resolve_pending(self) -> None:
        if not self.pending:
            return
        if self.options.resample_delay > 0:
            time.sleep(self.options.resample_delay)
        by_context: dict[int, list[Pending]] = {}
        for item in self.pending:
            by_context.setdefault(id(item[0]), []).append(item)
        for items in by_context.values():
            context = items[0][0]
            try:
                fresh = self.resampler(context, [item[1] for item in items])
            except (_sockdiag.SockDiagError, OSError):
                fresh = {}
            for ctx, sock, owner, holders, skipped in items:
                again = fresh.get(sock.cookie) if sock.cookie is not None else None
                self.record(ctx, again or sock, owner, holders, None, skipped, resampled=True)
        self.pending = []

    def classify(self, context: NamespaceContext, sock: TcpSocket, opts: SockOpts | None,
                 skipped: str | None, resampled: bool) -> Classified:
        verdict = SOCKOPT_VERDICT[opts.keepalive] if opts is not None else timer_verdict(sock)
        if resampled and verdict.keepalive == "unknown" and sock.state in CONNECTED:
            verdict = Verdict("unknown", None, (verdict.reason or "") + " (still, after a re-sample)")
        item = Classified(sock, verdict, skipped)
        if opts is not None:
            item.keepidle, item.keepintvl, item.keepcnt = opts.keepidle, opts.keepintvl, opts.keepcnt
            item.user_timeout = opts.user_timeout
            item.params_source = "sockopt"
        elif verdict.keepalive is True:
            item.keepidle, item.keepintvl, item.keepcnt = (context.sysctls.get(key) for key in KEYS)
            item.params_source = "assumed"
        if verdict.keepalive is True and None not in (item.keepidle, item.keepintvl, item.keepcnt):
            item.detection = effective_detection_time(item.keepidle, item.keepintvl, item.keepcnt,
                                                      item.user_timeout or 0)
        if sock.last_data_recv is not None and sock.state != LISTEN:
            item.idle = sock.last_data_recv // 1000
        item.ghost = (verdict.keepalive is False and sock.state in CONNECTED and item.idle is not None
                      and item.idle >= self.options.idle_threshold)
        return item

    def record(self, context: NamespaceContext, sock: TcpSocket, owner: Owner, holders: Holders,
               opts: SockOpts | None, skipped: str | None, resampled: bool = False) -> None:
        item = self.classify(context, sock, opts, skipped, resampled)
        self.count(context, item, owner)
        cap = self.cap
        if cap == 0:
            return
        target = self.listed[item.bucket]
        if cap is None or len(target) < cap:
            target.append(self.describe(context, item, owner, holders))

    def describe(self, context: NamespaceContext, item: Classified, owner: Owner,
                 holders: Holders) -> dict[str, Any]:
        sock = item.sock
        listening = sock.state == LISTEN
        return {
            "namespace": context.inode,
            "family": "inet6" if sock.family == socket.AF_INET6 else "inet",
            "state": sock.state_name,
            "local": endpoint(sock.family, sock.src, sock.sport),
            "remote": None if listening else endpoint(sock.family, sock.dst, sock.dport),
            "local_address": sock.src,
            "local_port": sock.sport,
            "remote_address": None if listening else sock.dst,
            "remote_port": None if listening else sock.dport,
            "inode": sock.inode,
            "uid": sock.uid,
            "service": owner.service,
            "systemd_unit": owner.unit,
            "container_id": owner.container_id,
            "processes": [self.processes.get(pid).as_dict(fd) for pid, fd in holders],
            "keepalive": item.verdict.keepalive,
            "keepalive_source": item.verdict.source,
            "keepalive_reason": item.verdict.reason,
            "socket_options_skipped": item.skipped,
            "keepidle": item.keepidle,
            "keepintvl": item.keepintvl,
            "keepcnt": item.keepcnt,
            "user_timeout": item.user_timeout,
            "params_source": item.params_source,
            "detection_time": item.detection,
            "timer": _sockdiag.TIMER_NAMES.get(sock.timer, str(sock.timer)),
            "timer_expires": round(sock.expires / 1000.0, 3) if sock.timer else None,
            "retrans": sock.retrans,
            "idle": item.idle,
            "ghost_candidate": item.ghost,
        }

    def count(self, context: NamespaceContext, item: Classified, owner: Owner) -> None:
        sock = item.sock
        self.total += 1
        self.by_state[sock.state] += 1
        keepalive = item.verdict.keepalive
        self.by_keepalive["unknown" if keepalive == "unknown" else ("true" if keepalive else "false")] += 1
        source = item.verdict.source
        if source:
            self.by_source[source] += 1
        if source == "sockopt":
            self.sockopt_read += 1
        elif item.skipped and item.skipped != SKIP_NEVER:
            self.sockopt_skipped[item.skipped] = self.sockopt_skipped.get(item.skipped, 0) + 1
        if item.ghost:
            self.ghosts += 1
        stats = owner.stats or self.service(owner)
        stats.namespaces.add(None if context.current else context.inode)
        if sock.state == LISTEN:
            self.count_listener(context, stats, owner, item)
        elif sock.state in CONNECTED:
            self.count_connection(stats, item)

    def count_listener(self, context: NamespaceContext, stats: ServiceStats, owner: Owner,
                       item: Classified) -> None:
        local = item.local
        keepalive = item.verdict.keepalive
        if len(stats.listeners) < MAX_LISTENERS_PER_SERVICE:
            stats.listeners.append({"local": local, "namespace": context.inode, "keepalive": keepalive,
                                    "keepalive_source": item.verdict.source})
        if keepalive is False:
            stats.listeners_without_keepalive += 1
            self.listeners_without += 1
            self.listener_findings.append(Finding(
                id="listener_without_keepalive", namespace=finding_namespace(context),
                message=(f"{stats.name} listens on {local} without SO_KEEPALIVE: every connection it "
                         "accepts inherits that and can never detect a dead peer"),
                extra={"pid": owner.pid, "service": stats.name, "socket": local},
            ))
        elif keepalive == "unknown":
            stats.keepalive_unknown += 1
            stats.example("unknown", local)

    def count_connection(self, stats: ServiceStats, item: Classified) -> None:
        stats.connections += 1
        keepalive = item.verdict.keepalive
        if keepalive is True:
            stats.with_keepalive += 1
            detection = item.detection
            if detection is not None:
                if stats.max_detection_time is None or detection > stats.max_detection_time:
                    stats.max_detection_time = detection
                limit = self.options.max_detection_time
                if limit is not None and detection > limit:
                    stats.detection_exceeded += 1
                    if stats.wants_example("detection"):
                        stats.example("detection", f"{item.where} ({detection}s)")
            if item.user_timeout:
                stats.user_timeout_overrides += 1
                if stats.wants_example("user_timeout"):
                    stats.example("user_timeout", f"{item.where} (TCP_USER_TIMEOUT {item.user_timeout} ms)")
        elif keepalive is False:
            stats.without_keepalive += 1
            if stats.wants_example("without"):
                stats.example("without", item.where)
            if item.ghost:
                stats.ghost_candidates += 1
                if item.idle > stats.max_ghost_idle:
                    stats.max_ghost_idle = item.idle
                if stats.wants_example("ghost"):
                    stats.example("ghost", f"{item.where} (idle {item.idle}s)")
        else:
            stats.keepalive_unknown += 1
            if stats.wants_example("unknown"):
                stats.example("unknown", item.where)

    def service(self, owner: Owner) -> ServiceStats:
        name = owner.service or "(no owner visible)"
        stats = self.services.get(name)
        if stats is None:
            stats = ServiceStats(name=name, comm=owner.comm, exe=owner.exe, unit=owner.unit,
                                 container_id=owner.container_id, first_pid=owner.pid)
            self.services[name] = stats
        if owner.pid is not None and owner.pid not in stats.pids and len(stats.pids) < MAX_EXAMPLES:
            stats.pids.append(owner.pid)
        owner.stats = stats  # owners are cached per pid (and one unowned per scan): once per owner
        return stats

    # -- results ------------------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        found: list[Finding] = list(self.listener_findings)
        for stats in self.services.values():
            found.extend(service_findings(stats, self.options))
        for reason, count in sorted(self.sockopt_skipped.items()):
            found.append(Finding(
                id="socket_options_unreadable",
                message=f"socket options of {count} socket(s) not read: {reason}; classified by the timer",
                extra={"count": count, "reason": reason},
            ))
        return found

    def result(self) -> dict[str, Any]:
        sockets = [entry for bucket in self.listed for entry in bucket]
        cap = self.cap
        if cap is not None:
            sockets = sockets[:cap]
        ordered = sorted(self.services.values(), key=lambda stats: (-stats.problems, stats.name))
        services = [stats.as_dict() for stats in ordered]
        findings = sorted((finding.as_dict() for finding in self.findings()),
                          key=lambda finding: SEVERITY_ORDER.get(finding["severity"], len(SEVERITY_ORDER)))
        summary = {
            "sockets": self.total,
            "sockets_listed": len(sockets),
            "sockets_truncated": len(sockets) < self.total,
            "by_state": {TCP_STATES[number]: count for number, count in enumerate(self.by_state) if count},
            "keepalive": dict(self.by_keepalive),
            "keepalive_source": dict(self.by_source),
            "ghost_candidates": self.ghosts,
            "listeners_without_keepalive": self.listeners_without,
            "services": len(services),
            "services_listed": len(services),
            "findings": len(findings),
            "findings_listed": len(findings),
            "idle_threshold": self.options.idle_threshold,
            "socket_options": {"mode": self.options.read_socket_options, "read": self.sockopt_read,
                               "skipped": dict(self.sockopt_skipped)},
            "method": ",".join(sorted(self.methods)) or None,
            "namespaces": self.namespace_reports,
            "namespaces_listed": len(self.namespace_reports),
        }
        if self.options.detail == "summary":
            services, findings = self.fit_summary(summary, services, findings)
        return {"sockets": sockets, "services": services, "summary": summary, "findings": findings}

    @staticmethod
    def fit_summary(summary: dict[str, Any], services: list[dict[str, Any]], findings: list[dict[str, Any]]
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """detail=summary: keep the whole result under SUMMARY_BUDGET bytes of JSON whatever the host holds.
        The most severe findings and the most problematic services come first, so those are kept."""
        summary["namespaces"] = summary["namespaces"][:SUMMARY_MAX_NAMESPACES]
        summary["namespaces_listed"] = len(summary["namespaces"])
        for finding in findings:
            if "sockets" in finding:
                finding["sockets"] = finding["sockets"][:SUMMARY_EXAMPLES]
        remaining = SUMMARY_BUDGET - len(json.dumps(summary))
        kept_findings = _within(findings, remaining // 2)
        remaining -= sum(len(json.dumps(item)) + 2 for item in kept_findings)
        kept_services = _within(services, remaining)
        summary["services_listed"] = len(kept_services)
        summary["findings_listed"] = len(kept_findings)
        return kept_services, kept_findings


def _within(items: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The longest prefix of items whose JSON fits in budget bytes."""
    kept: list[dict[str, Any]] = []
    used = 0
    for item in items:
        used += len(json.dumps(item)) + 2
        if used > budget:
            break
        kept.append(item)
    return kept


def finding_namespace(context: NamespaceContext) -> int | None:
    """Findings name other namespaces by inode and the module's own as null, as settings_info does."""
    return None if context.current else context.inode


def service_findings(stats: ServiceStats, options: ScanOptions) -> Iterator[Finding]:
    """Aggregated findings of one service: one per id, with a count and example sockets."""
    namespace = list(stats.namespaces)[0] if len(stats.namespaces) == 1 else None
    common = {"pid": stats.first_pid, "service": stats.name}

    def make(finding_id: str, kind: str, count: int, message: str) -> Finding:
        examples = stats.examples.get(kind, [])
        extra = dict(common, count=count, socket=examples[0] if examples else None, sockets=list(examples))
        return Finding(id=finding_id, message=message, namespace=namespace, extra=extra)

    if stats.ghost_candidates:
        ghost = make("ghost_candidate", "ghost", stats.ghost_candidates,
                     f"{stats.name}: {stats.ghost_candidates} connection(s) without keepalive idle for at "
                     f"least {options.idle_threshold}s (longest {stats.max_ghost_idle}s): possibly dead "
                     "peers that will never be detected")
        ghost.extra["idle"] = stats.max_ghost_idle
        yield ghost
    if stats.without_keepalive:
        yield make("connection_without_keepalive", "without", stats.without_keepalive,
                   f"{stats.name}: {stats.without_keepalive} of {stats.connections} connection(s) without "
                   "SO_KEEPALIVE")
    if stats.detection_exceeded:
        yield make("detection_time_exceeded", "detection", stats.detection_exceeded,
                   f"{stats.name}: {stats.detection_exceeded} connection(s) would detect a dead peer only "
                   "after "
                   f"more than {options.max_detection_time}s (max {stats.max_detection_time}s)")
    if stats.user_timeout_overrides:
        yield make("user_timeout_overrides_probes", "user_timeout", stats.user_timeout_overrides,
                   f"{stats.name}: {stats.user_timeout_overrides} keepalive connection(s) set "
                   "TCP_USER_TIMEOUT, "
                   "which replaces the probe count in deciding when to reset")
    if stats.keepalive_unknown:
        yield make("keepalive_unknown", "unknown", stats.keepalive_unknown,
                   f"{stats.name}: keepalive of {stats.keepalive_unknown} socket(s) could not be determined")


# ---- namespaces and sources -------------------------------------------------------------------------

def _current_inode(root: str) -> int | None:
    try:
        return os.stat(os.path.join(root, "proc", "self", "ns", "net")).st_ino
    except OSError:
        return None


def _read_sysctls(root: str) -> dict[str, int | None]:
    from ansible_collections.tcp.keepalive.plugins.module_utils._procsys import read_values

    return read_values(root)


def default_socket_source(root: str, methods: set[str]) -> SocketSource:
    """sock_diag in the context's namespace; /proc/net/tcp* for the current one when sock_diag fails
    before the first socket. `methods` collects which one was used."""

    def source(context: NamespaceContext, mask: int) -> Iterator[TcpSocket]:
        dump = _sockdiag.dump_tcp(mask, sock=context.netlink)
        try:
            first = next(dump, None)
        except _sockdiag.SockDiagError:
            if not context.current:
                raise
            methods.add("proc")
            yield from _sockdiag.proc_tcp(mask, root)
            return
        methods.add("sock_diag")
        if first is not None:
            yield first
            yield from dump

    return source


def default_resampler(context: NamespaceContext, sockets: list[TcpSocket]) -> dict[int, TcpSocket]:
    return _sockdiag.lookup_tcp(sockets, sock=context.netlink)


def _netlink_in_namespace(path: str) -> socket.socket:
    """A NETLINK_SOCK_DIAG socket bound to the namespace behind `path`: a forked child enters it, opens
    the socket and hands the descriptor back over a socketpair (SCM_RIGHTS); the caller never moves."""
    from ansible_collections.tcp.keepalive.plugins.module_utils._netns import CLONE_NEWNET, setns

    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            parent.close()
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            setns(fd, CLONE_NEWNET)
            nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _sockdiag.NETLINK_SOCK_DIAG)
            child.sendmsg([b"ok"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [nl.fileno()]))])
        except BaseException as exc:  # noqa: BLE001 - the reason goes back to the parent
            with contextlib.suppress(OSError):
                child.sendall(str(exc).encode("utf-8", "replace")[:1000])
        finally:
            os._exit(0)
    child.close()
    try:
        parent.settimeout(5.0)
        fd, message = _recv_fd(parent)
    finally:
        parent.close()
        os.waitpid(pid, 0)
    if fd is None:
        raise OSError(f"cannot open a sock_diag socket inside {path}: {message or 'no answer'}")
    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _sockdiag.NETLINK_SOCK_DIAG, fileno=fd)


def _recv_fd(sock: socket.socket) -> tuple[int | None, str]:
    """The descriptor a child passed with SCM_RIGHTS, or None and the error text it sent instead."""
    fds = array.array("i")
    message, ancdata, _flags, _addr = sock.recvmsg(1000, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return (fds[0] if fds else None), message.decode("utf-8", "replace")


def namespace_contexts(mode: str, root: str = "/") -> list[NamespaceContext]:
    """The current namespace, or every namespace on the host (current first)."""
    current = NamespaceContext(inode=_current_inode(root), sysctls=_read_sysctls(root))
    if mode == "current":
        return [current]
    from ansible_collections.tcp.keepalive.plugins.module_utils._netns import list_namespaces, read_namespace

    contexts = [current]
    scan = list_namespaces(root)
    for namespace in scan.namespaces:
        if namespace.current or namespace.inode == current.inode:
            continue
        context = NamespaceContext(inode=namespace.inode, sysctls={key: None for key in KEYS}, current=False)
        values = read_namespace(namespace, root)
        if values.error is None:
            context.sysctls = dict(values.values)
        errors = []
        for path in namespace.entry_paths(root)[:MAX_ENTRY_ATTEMPTS]:
            try:
                context.netlink = _netlink_in_namespace(path)
                break
            except OSError as exc:
                errors.append(str(exc))
        if context.netlink is None:
            context.error = "; ".join(errors) or "no way to enter the namespace"
        contexts.append(context)
    return contexts


def scan_sockets(options: ScanOptions, root: str = "/") -> dict[str, Any]:
    """The whole sockets_info result for this host."""
    started = time.monotonic()
    contexts = namespace_contexts(options.namespaces, root)
    try:
        with contextlib.ExitStack() as stack:
            reader = None
            if options.read_socket_options != "never":
                reader = stack.enter_context(SockOptReader())
            scan = Scan(options, root, reader=reader)
            scan.run(contexts)
            result = scan.result()
    finally:
        for context in contexts:
            if context.netlink is not None:
                context.netlink.close()
    result["summary"]["scan_seconds"] = round(time.monotonic() - started, 3)
    return result


# ---- timer_info: the active proof -------------------------------------------------------------------

@dataclass
class TimerProof:
    expected_time: int | None
    expected_source: str                 # "option" or "sysctl"
    observed_time: float | None
    tolerance: float
    ok: bool
    timer: str | None
    namespace: int | None
    sysctls: dict[str, int | None]
    method: str | None
    socket: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        result = {name: getattr(self, name) for name in self.__dataclass_fields__}
        result["difference"] = (None if self.observed_time is None or self.expected_time is None
                                else round(self.observed_time - self.expected_time, 3))
        return result


class ProofError(Exception):
    """The loopback connection could not be made; the message is meant for the user as is."""


def _loopback_pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    """listener, client (SO_KEEPALIVE set before connect, no per-socket TCP_KEEP*), accepted."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # Reset on close instead of FIN: no TIME_WAIT socket is left behind.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.settimeout(5.0)
        client.connect(listener.getsockname())
        listener.settimeout(5.0)
        accepted = listener.accept()[0]
    except OSError as exc:
        listener.close()
        client.close()
        raise ProofError(f"cannot open a loopback TCP connection on 127.0.0.1 ({exc}); is `lo` up in this "
                         "network namespace?") from exc
    return listener, client, accepted


def _observe(client: socket.socket) -> tuple[TcpSocket | None, str]:
    src, sport = client.getsockname()[:2]
    dst, dport = client.getpeername()[:2]
    try:
        return _sockdiag.query_tcp(socket.AF_INET, src, sport, dst, dport), "sock_diag"
    except _sockdiag.SockDiagError:
        pass
    for item in _sockdiag.proc_tcp(_sockdiag.ALL_STATES_MASK):
        wanted = (src, sport, dst, dport)
        if item.family == socket.AF_INET and (item.src, item.sport, item.dst, item.dport) == wanted:
            return item, "proc"
    return None, "proc"


def prove_keepalive_timer(tolerance: float = 2.0, expected_time: int | None = None,
                          root: str = "/") -> TimerProof:
    """Open a loopback connection with SO_KEEPALIVE and read its keepalive timer from the kernel: a new
    socket's timer must expire after the namespace's tcp_keepalive_time (net/ipv4/tcp_input.c
    tcp_finish_connect() arms it with keepalive_time_when(), the sysctl when the socket has no own value).
    Everything opened is closed (the client with a reset, so no TIME_WAIT remains)."""
    sysctls = _read_sysctls(root)
    source = "option" if expected_time is not None else "sysctl"
    expected = expected_time if expected_time is not None else sysctls.get("time")
    listener, client, accepted = _loopback_pair()
    try:
        local = endpoint(socket.AF_INET, *client.getsockname()[:2])
        observed_sock, method = _observe(client)
    finally:
        for item in (client, accepted, listener):
            item.close()
    proof = TimerProof(expected_time=expected, expected_source=source, observed_time=None,
                       tolerance=tolerance, ok=False, timer=None, namespace=_current_inode(root),
                       sysctls=sysctls, method=method, socket=local, message="")
    if observed_sock is None:
        proof.message = "the loopback connection was not found in the kernel's socket table"
        return proof
    proof.timer = _sockdiag.TIMER_NAMES.get(observed_sock.timer, str(observed_sock.timer))
    if observed_sock.timer != 2:
        proof.message = f"the connection shows the {proof.timer} timer, not keepalive"
        return proof
    proof.observed_time = round(observed_sock.expires / 1000.0, 3)
    if expected is None:
        proof.message = (f"keepalive timer expires in {proof.observed_time}s; no expected time "
                         "(tcp_keepalive_time unreadable)")
        return proof
    proof.ok = abs(proof.observed_time - expected) <= tolerance
    verdict = "matches" if proof.ok else "does not match"
    proof.message = (f"keepalive timer of a new socket expires in {proof.observed_time}s, {verdict} the "
                     f"expected {expected}s ({source}) within {tolerance:g}s")
    return proof
