# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sockets_info's scan: which TCP sockets lack keepalive, who owns them, which connections look like ghosts.

Entry points: `scan_sockets(options, root)` -> the module's result; `Scan` (one run, its steps below).

Steps of one scan (psutil's _pslinux.Connections and _owners.scan_socket_fds are the model):
1. `scan_contexts()` (_netns): the namespaces to scan, each with a sock_diag socket opened inside it;
2. `scan_socket_fds()` (_owners): socket inode -> (pid, fd), one /proc/<pid>/fd walk;
3. per namespace, `dump()`: the sock_diag dump as raw records, filtered on the raw bytes
   (`Selector.raw_filter`), batch by batch into `add_raw()`;
4. per socket: `add_raw()` counts the bulk (connected sockets with no timer or the keepalive timer, not
   listed) from the raw fields, reading their options where they add information; every other socket
   becomes a TcpSocket for `add()`: owner filter, socket options where they add information, else the
   timer (masked timers are re-sampled once, `resolve_pending()`), `record()`: classify (_classify),
   count into its service, keep it only if it will be listed (addresses are formatted only then);
5. `judge_listeners()`: a listener's keepalive from evidence: its own SO_KEEPALIVE, else its accepted
   connections in this scan, else (probe_listeners) an active probe (_probe), else unverified;
6. `result()`: services with their hint (_remediation), findings (each with scope "runtime"), summary.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import read_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._classify import (
    CONNECTED,
    LISTEN,
    Classified,
    classify,
    effective_detection_time,
    endpoint,
    timer_verdict,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    SEVERITIES,
    Finding,
    dataclass,
    field,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import NamespaceContext, scan_contexts
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import scan_socket_fds
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import (
    DEFAULT_IDLE_THRESHOLD,
    DEFAULT_STATES,
    MAX_DETAIL,
    STATE_NAMES,
    Holders,
    OptionError,
    Owner,
    ScanOptions,
    Selector,
    is_loopback,
    parse_options,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import (
    R_DPORT,
    R_DST,
    R_FAMILY,
    R_INODE,
    R_LAST_RECV,
    R_SPORT,
    R_SRC,
    R_STATE,
    R_TIMER,
    TCP_STATES,
    RawSocket,
    TcpSocket,
    raw_address,
    raw_from_socket,
    socket_from_raw,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import (
    SKIP_NET_CLS,
    SKIP_NEVER,
    SKIP_NO_OWNER,
    SKIP_SELF_NET_CLS,
    SockOptReader,
    SockOpts,
    net_cls_unsafe,
)

namespace_contexts = scan_contexts  # the pre-split name

# _probe (only with probe_listeners) and _remediation (only for a service that lacks keepalive) are imported
# where they are used: the module's code travels as source in AnsiballZ and is compiled on every run, and
# most scans need neither (benchmarks/bench_local_fleet.py measures the audit per host).


def _probe_listener(*args: Any, **kwargs: Any) -> Any:
    """_probe.probe_listener, imported on the first probe (probe_listeners is opt-in)."""
    from ansible_collections.tcp.keepalive.plugins.module_utils._probe import probe_listener

    return probe_listener(*args, **kwargs)


__all__ = [
    "DEFAULT_IDLE_THRESHOLD",
    "DEFAULT_STATES",
    "STATE_NAMES",
    "NamespaceContext",
    "OptionError",
    "Scan",
    "ScanOptions",
    "CONNECTED",
    "LISTEN",
    "Owner",
    "endpoint",
    "is_loopback",
    "namespace_contexts",
    "effective_detection_time",
    "parse_options",
    "scan_sockets",
    "timer_verdict",
]

SUMMARY_BUDGET = 60 * 1024  # detail=summary: bytes of JSON the whole result stays under
SUMMARY_MAX_NAMESPACES = 50
SUMMARY_EXAMPLES = 3  # example sockets per finding with detail=summary
SEVERITY_ORDER = {severity: index for index, severity in enumerate(SEVERITIES)}
MAX_LISTENERS_PER_SERVICE = 20
MAX_EXAMPLES = 10  # sockets named in one aggregated finding
MAX_RESAMPLE = 2000  # sockets whose masked timer is looked at again
MAX_PROBES = 32  # listeners probed in one run
SCOPE = "runtime"  # every sockets_info finding is about the running system


class ResultTooLarge(Exception):
    """detail=full on a host with more sockets than one result may carry; the message names the option."""


@dataclass
class Evidence:
    """Accepted connections of one listener (same namespace, service and local port) seen in the scan."""

    with_keepalive: int = 0
    without_keepalive: int = 0
    unknown: int = 0

    def add(self, keepalive: Any) -> None:
        if keepalive is True:
            self.with_keepalive += 1
        elif keepalive is False:
            self.without_keepalive += 1
        else:
            self.unknown += 1


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
    listeners_unverified: int = 0
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
    namespaces: set = field(default_factory=set)  # inodes; None: the current namespace

    def wants_example(self, kind: str) -> bool:
        return len(self.examples.get(kind, ())) < MAX_EXAMPLES

    def example(self, kind: str, text: str) -> None:
        bucket = self.examples.setdefault(kind, [])
        if len(bucket) < MAX_EXAMPLES:
            bucket.append(text)

    def count_connected(
        self,
        keepalive: Any,
        detection: int | None,
        limit: int | None,
        ghost: bool,
        idle: int | None,
        where: Callable[[Any], str],
        subject: Any,
    ) -> None:
        """One connected socket of this service: keepalive True, False or unknown (anything else), its
        detection time against `limit`, and whether it is a ghost candidate idle for `idle` seconds.
        `where(subject)` names it in an example, formatted only when an example is taken."""
        self.connections += 1
        if keepalive is True:
            self.with_keepalive += 1
            if detection is not None:
                if self.max_detection_time is None or detection > self.max_detection_time:
                    self.max_detection_time = detection
                if limit is not None and detection > limit:
                    self.detection_exceeded += 1
                    if self.wants_example("detection"):
                        self.example("detection", f"{where(subject)} ({detection}s)")
        elif keepalive is False:
            self.without_keepalive += 1
            if self.wants_example("without"):
                self.example("without", where(subject))
            if ghost and idle is not None:
                self.ghost_candidates += 1
                if idle > self.max_ghost_idle:
                    self.max_ghost_idle = idle
                if self.wants_example("ghost"):
                    self.example("ghost", f"{where(subject)} (idle {idle}s)")
        else:
            self.keepalive_unknown += 1
            if self.wants_example("unknown"):
                self.example("unknown", where(subject))

    @property
    def problems(self) -> int:
        return self.listeners_without_keepalive * 1000 + self.ghost_candidates * 10 + self.without_keepalive

    def hint(self, root: str) -> str | None:
        if not (
            self.listeners_without_keepalive
            or self.without_keepalive
            or self.ghost_candidates
            or self.listeners_unverified
        ):
            return None
        from ansible_collections.tcp.keepalive.plugins.module_utils._remediation import hint_for, remedy_for

        seen = self.with_keepalive > 0 and not self.without_keepalive
        return hint_for(remedy_for(self.comm, self.exe, self.first_pid, root), seen, self.first_pid, root)

    def as_dict(self, root: str = "/") -> dict[str, Any]:
        return {
            "name": self.name,
            "systemd_unit": self.unit,
            "container_id": self.container_id,
            "comm": self.comm,
            "exe": self.exe,
            "pids": list(self.pids),
            "listeners": list(self.listeners),
            "listeners_without_keepalive": self.listeners_without_keepalive,
            "listeners_unverified": self.listeners_unverified,
            "connections": self.connections,
            "with_keepalive": self.with_keepalive,
            "without_keepalive": self.without_keepalive,
            "keepalive_unknown": self.keepalive_unknown,
            "ghost_candidates": self.ghost_candidates,
            "max_detection_time": self.max_detection_time,
            "hint": self.hint(root),
        }


@dataclass
class ListenerSeen:
    """A listener whose keepalive is judged once the whole namespace has been seen."""

    context: NamespaceContext
    stats: ServiceStats
    owner: Owner
    item: Classified
    summary: dict[str, Any]  # its entry in services[].listeners
    listed: dict[str, Any] | None = None  # its entry in sockets, when listed


Pending = Tuple[NamespaceContext, TcpSocket, Owner, Holders, Optional[str]]
SocketSource = Callable[[NamespaceContext, int, Any], Iterable[TcpSocket]]
RawSource = Callable[[NamespaceContext, int, Any], Iterable[List[RawSocket]]]
Resampler = Callable[[NamespaceContext, List[TcpSocket]], Dict[int, TcpSocket]]
Prober = Callable[..., Any]


def default_socket_source(root: str, methods: set) -> SocketSource:
    """sock_diag in the context's namespace; /proc/net/tcp* for the current one when sock_diag fails
    before the first socket. `methods` collects which one was used."""

    def source(context: NamespaceContext, mask: int, keep: Any = None) -> Iterator[TcpSocket]:
        dump = _sockdiag.dump_tcp(mask, sock=context.netlink, keep=keep)
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


def default_raw_source(context: NamespaceContext, mask: int, keep: Any = None) -> Iterator[list[RawSocket]]:
    """sock_diag's raw batches in the context's namespace."""
    return _sockdiag.dump_raw(mask, sock=context.netlink, keep=keep)


def raw_where(raw: RawSocket) -> str:
    """Classified.where of a raw socket: local->remote."""
    family = raw[R_FAMILY]
    local = endpoint(family, raw_address(family, raw[R_SRC]), raw[R_SPORT])
    return f"{local}->{endpoint(family, raw_address(family, raw[R_DST]), raw[R_DPORT])}"


def default_resampler(context: NamespaceContext, sockets: list[TcpSocket]) -> dict[int, TcpSocket]:
    return _sockdiag.lookup_tcp(sockets, sock=context.netlink)


def _item_where(item: Classified) -> str:
    return item.where


def finding_namespace(context: NamespaceContext) -> int | None:
    """Findings name other namespaces by inode and the module's own as null, as settings_info does."""
    return None if context.current else context.inode


class Scan:
    """One run of sockets_info over the namespaces asked for."""

    def __init__(
        self,
        options: ScanOptions,
        root: str = "/",
        reader: SockOptReader | None = None,
        socket_source: SocketSource | None = None,
        resampler: Resampler | None = None,
        prober: Prober | None = None,
        raw_source: RawSource | None = None,
    ) -> None:
        self.options = options
        self.root = root
        self.reader = reader
        self.methods: set = set()
        self.socket_source = socket_source or default_socket_source(root, self.methods)
        self.resampler = resampler or default_resampler
        self.prober = prober or _probe_listener
        self.selector = Selector(options, root=root)
        self.services: dict[str, ServiceStats] = {}
        self.by_state = [0] * (max(TCP_STATES) + 1)  # by state number
        self.by_keepalive = {"true": 0, "false": 0, "unknown": 0}
        self.by_source = {"sockopt": 0, "timer": 0}
        self.sockopt_skipped: dict[str, int] = {}
        self.sockopt_read = 0
        self.total = 0
        self.ghosts = 0
        self.listed: list[list[dict[str, Any]]] = [[], [], [], [], []]  # by listing priority
        self.pending: list[Pending] = []
        self.namespace_reports: list[dict[str, Any]] = []
        self.self_unsafe = False
        self.listeners: list[ListenerSeen] = []
        self.listener_ports: dict[int, set] = {}  # id(context) -> listening ports
        self.evidence: dict[tuple[int, str, int], Evidence] = {}  # (id(context), service, port)
        self.listener_findings: list[Finding] = []
        self.probes = 0
        self.cap = self._cap()
        self.prefiltered = socket_source is None  # raw sources (the default one) apply the raw filter
        self.timer_only = options.read_socket_options == "never" or reader is None
        self.read_all = options.read_socket_options == "always" and reader is not None
        self.detection_by_context: dict[int, int | None] = {}
        self.lanes: dict[int | None, tuple[Owner, ServiceStats | None]] = {}  # add_raw(): per holding pid
        # The default source streams raw sock_diag batches (add_raw); a caller's source gives TcpSockets.
        self.raw_source = raw_source
        if raw_source is None and socket_source is None:
            self.raw_source = default_raw_source

    # -- the selection, as callers of the pre-split Scan use it (tcp.keepalive.sockets's _live.py) ----
    # New code: use _selection.Selector directly.
    @property
    def owner_map(self) -> dict[int, list[tuple[int, int]]]:
        return self.selector.owner_map

    @owner_map.setter
    def owner_map(self, value: dict[int, list[tuple[int, int]]]) -> None:
        self.selector.owner_map = value

    @property
    def processes(self) -> Any:
        return self.selector.processes

    def owner_of(self, inode: int) -> tuple[Owner, Holders]:
        return self.selector.owner_of(inode)

    def _port_wanted(self, sock: TcpSocket) -> bool:
        return self.options.port_wanted(sock.sport, None if sock.state == LISTEN else sock.dport)

    def _service_wanted(self, owner: Owner) -> bool:
        return self.options.names_wanted(owner.names())

    def _cap(self) -> int | None:
        detail = self.options.detail
        if detail == "full":
            return None
        return 0 if detail == "summary" else int(detail)

    # -- step 2-3: owners and dumps -----------------------------------------------------------------
    def run(self, contexts: list[NamespaceContext]) -> None:
        mask = _sockdiag.states_mask(self.options.states)
        if self.reader is not None:
            self.self_unsafe = net_cls_unsafe(read_cgroup(os.getpid(), self.root))
        self.selector.owner_map = scan_socket_fds(self.root)
        keep = self.selector.raw_filter()
        for context in contexts:
            self.dump(context, mask, keep)
        self.resolve_pending()
        self.judge_listeners()

    def dump(self, context: NamespaceContext, mask: int, keep: Any) -> None:
        count_before = self.total
        if context.error is None and not context.gone:
            try:
                if self.raw_source is not None:
                    self.dump_raw(self.raw_source, context, mask, keep)
                else:
                    for sock in self.socket_source(context, mask, keep):
                        self.add(context, sock)
            except (_sockdiag.SockDiagError, OSError) as exc:
                context.error = f"socket dump failed: {exc}"
        self.namespace_reports.append(
            {
                "inode": context.inode,
                "current": context.current,
                "sysctls": dict(context.sysctls),
                "sockets": self.total - count_before,
                "error": context.error,
                "gone": context.gone,
            }
        )

    def dump_raw(self, source: RawSource, context: NamespaceContext, mask: int, keep: Any) -> None:
        """Raw sock_diag batches into add_raw(); /proc/net/tcp* through add() for the current namespace when
        sock_diag fails before its first batch."""
        batches = iter(source(context, mask, keep))
        try:
            first = next(batches, None)
        except _sockdiag.SockDiagError:
            if not context.current:
                raise
            self.methods.add("proc")
            for sock in _sockdiag.proc_tcp(mask, self.root):
                self.add(context, sock)
            return
        self.methods.add("sock_diag")
        if first is not None:
            self.add_raw(context, first)
            for batch in batches:
                self.add_raw(context, batch)

    # -- step 4: one socket -------------------------------------------------------------------------
    def add(self, context: NamespaceContext, sock: TcpSocket) -> None:
        selector = self.selector
        # The raw filter already dropped unwanted sockets from a sock_diag dump; /proc/net/tcp (and a
        # source given by the caller) was not filtered.
        if (not self.prefiltered or "proc" in self.methods) and not selector.socket_wanted(
            sock.family, sock.state, sock.src, sock.sport, sock.dport
        ):
            return
        owner, holders = selector.owner_of(sock.inode)
        if selector.filters_owners and not selector.owner_wanted(owner):
            return
        timer = sock.timer
        if (
            self.cap is not None
            and sock.state in CONNECTED
            and ((timer == 0 and not self.read_all) or (timer == 2 and self.timer_only))
        ):
            # A caller's source or /proc/net/tcp: the bulk is counted where a sock_diag dump's is.
            self.add_raw(context, [raw_from_socket(sock)])
            return
        opts, skipped = self.read_sockopts(sock, owner, holders)
        self.settle(context, sock, owner, holders, opts, skipped)

    def settle(
        self,
        context: NamespaceContext,
        sock: TcpSocket,
        owner: Owner,
        holders: Holders,
        opts: SockOpts | None,
        skipped: str | None,
    ) -> None:
        """A socket whose options were read (or not): a masked timer waits for the re-sample, else
        record()."""
        if (
            opts is None
            and sock.state in CONNECTED
            and sock.timer in (1, 4)
            and sock.cookie is not None
            and len(self.pending) < MAX_RESAMPLE
        ):
            self.pending.append((context, sock, owner, holders, skipped))
            return
        self.record(context, sock, owner, holders, opts, skipped)

    def add_raw(self, context: NamespaceContext, batch: list[RawSocket]) -> None:
        """Step 4 for one batch of raw sock_diag records (already through the raw filter).

        The bulk of a large host is counted here from the raw fields, the same way add() and record()
        count it, without a TcpSocket, a Classified or address text (unless a finding names the socket as
        an example): connected sockets without any timer (no keepalive; their options are read only with
        `always`) or with the keepalive timer (keepalive; with `auto` and `always` their options are read
        for the per-socket values). Everything else (listeners, other states, masked timers, sockets that
        will be listed, options that could not be read or that carry TCP_USER_TIMEOUT) becomes a TcpSocket
        and goes through add() or settle().
        """
        owner_map = self.selector.owner_map
        lanes = self.lanes
        cap = self.cap
        listed = self.listed
        read_all = self.read_all
        reader = None if self.timer_only else self.reader
        skipped_timer = SKIP_NEVER if self.timer_only else None
        threshold = self.options.idle_threshold
        limit = self.options.max_detection_time
        assumed = self.assumed_detection(context)
        ports = self.listener_ports.setdefault(id(context), set())  # count_listener() adds to this set
        key = id(context)
        namespace = None if context.current else context.inode
        by_state = self.by_state
        detections: dict[tuple[int, int, int], int] = {}  # detection time per (keepidle, keepintvl, keepcnt)
        timer_true = timer_false = opts_true = opts_false = ghosts = 0
        for raw in batch:
            state, timer = raw[R_STATE], raw[R_TIMER]
            if state not in CONNECTED or (timer != 0 and timer != 2) or cap is None:
                self.add(context, socket_from_raw(raw))
                continue
            inode = raw[R_INODE]
            holders = owner_map.get(inode) if inode else None
            pid = holders[0][0] if holders else None
            lane = lanes.get(pid)
            if lane is None:
                lane = lanes[pid] = self.lane(inode)
            owner, stats = lane
            if stats is None:  # the owner filter drops it
                continue
            values = None  # the options read, in SockOpts's field order
            if reader is not None and (timer == 2 or read_all):
                if not holders or self.self_unsafe or owner.unsafe_net_cls:
                    self.add(context, socket_from_raw(raw))  # says why the options were not read
                    continue
                values, skipped = reader.read_values(holders[0][0], holders[0][1], inode, params_if_off=False)
                if values is None or values[4]:  # not read, or TCP_USER_TIMEOUT set: the full path
                    opts = SockOpts(*values) if values is not None else None
                    self.settle(context, socket_from_raw(raw), owner, holders, opts, skipped)
                    continue
                keepalive, keepidle, keepintvl, keepcnt = values[0], values[1], values[2], values[3]
                detection = None
                if keepalive and keepidle is not None and keepintvl is not None and keepcnt is not None:
                    params = (keepidle, keepintvl, keepcnt)
                    detection = detections.get(params)
                    if detection is None:
                        detection = detections[params] = effective_detection_time(
                            keepidle, keepintvl, keepcnt, 0
                        )
            else:
                skipped = skipped_timer
                keepalive = timer == 2
                detection = assumed
            idle = None
            if not keepalive and raw[R_LAST_RECV] is not None:
                idle = raw[R_LAST_RECV] // 1000
            ghost = idle is not None and idle >= threshold
            if cap and len(listed[0 if ghost else (4 if keepalive else 2)]) < cap:
                opts = SockOpts(*values) if values is not None else None
                self.record(context, socket_from_raw(raw), owner, holders or (), opts, skipped)
                continue
            by_state[state] += 1
            stats.namespaces.add(namespace)
            stats.count_connected(keepalive, detection, limit, ghost, idle, raw_where, raw)
            if keepalive:
                if values is None:
                    timer_true += 1
                else:
                    opts_true += 1
            else:
                if values is None:
                    timer_false += 1
                else:
                    opts_false += 1
                if ghost:
                    ghosts += 1
            sport = raw[R_SPORT]
            if ports and sport in ports:  # an accepted connection: evidence for its listener
                self.count_accepted(key, stats.name, sport, keepalive)
        self.total += timer_true + timer_false + opts_true + opts_false
        self.by_keepalive["true"] += timer_true + opts_true
        self.by_keepalive["false"] += timer_false + opts_false
        self.by_source["timer"] += timer_true + timer_false
        self.by_source["sockopt"] += opts_true + opts_false
        self.sockopt_read += opts_true + opts_false
        self.ghosts += ghosts

    def lane(self, inode: int) -> tuple[Owner, ServiceStats | None]:
        """add_raw()'s owner and service for the pid holding `inode` (cached per pid); no service when the
        owner filter drops it."""
        owner, _holders = self.selector.owner_of(inode)
        if self.selector.filters_owners and not self.selector.owner_wanted(owner):
            return owner, None
        return owner, owner.stats or self.service(owner)

    def assumed_detection(self, context: NamespaceContext) -> int | None:
        """Detection time of a keepalive socket seen by its timer: the namespace's sysctls (cached)."""
        key = id(context)
        if key not in self.detection_by_context:
            idle, intvl, count = (context.sysctls.get(name) for name in ("time", "intvl", "probes"))
            self.detection_by_context[key] = (
                None
                if idle is None or intvl is None or count is None
                else effective_detection_time(idle, intvl, count, 0)
            )
        return self.detection_by_context[key]

    def wants_sockopts(self, sock: TcpSocket) -> bool:
        mode = self.options.read_socket_options
        if mode == "never" or self.reader is None:
            return False
        if mode == "always":
            return True
        # auto: read where it adds information; a connected socket without any timer is reliably
        # without keepalive and needs no syscall (keeps a 100,000-socket scan fast).
        return not (sock.state in CONNECTED and sock.timer == 0)

    def read_sockopts(
        self, sock: TcpSocket, owner: Owner, holders: Holders
    ) -> tuple[SockOpts | None, str | None]:
        if self.options.read_socket_options == "never" or self.reader is None:
            return None, SKIP_NEVER
        if not self.wants_sockopts(sock):
            return None, None
        if not holders:
            return None, SKIP_NO_OWNER
        if self.self_unsafe:
            return None, SKIP_SELF_NET_CLS
        if owner.unsafe_net_cls:
            return None, SKIP_NET_CLS
        pid, fd = holders[0]
        return self.reader.read(pid, fd, sock.inode, params_if_off=False)

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

    def record(
        self,
        context: NamespaceContext,
        sock: TcpSocket,
        owner: Owner,
        holders: Holders,
        opts: SockOpts | None,
        skipped: str | None,
        resampled: bool = False,
    ) -> None:
        item = classify(sock, opts, skipped, context.sysctls, self.options.idle_threshold, resampled)
        seen = self.count(context, item, owner)
        cap = self.cap
        if cap == 0:
            return
        target = self.listed[item.bucket]
        if cap is None or len(target) < cap:
            entry = self.describe(context, item, owner, holders)
            target.append(entry)
            if seen is not None:
                seen.listed = entry

    def describe(
        self, context: NamespaceContext, item: Classified, owner: Owner, holders: Holders
    ) -> dict[str, Any]:
        sock = item.sock
        listening = sock.state == LISTEN
        processes = self.selector.processes
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
            "processes": [processes.get(pid).as_dict(fd) for pid, fd in holders],
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
            "listener_verdict": None,
            "listener_evidence": None,
        }

    def count(self, context: NamespaceContext, item: Classified, owner: Owner) -> ListenerSeen | None:
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
            return self.count_listener(context, stats, owner, item)
        if sock.state in CONNECTED:
            self.count_connection(stats, item)
            ports = self.listener_ports.get(id(context))
            if ports and sock.sport in ports:  # the dump lists a family's listeners before its connections
                self.count_accepted(id(context), stats.name, sock.sport, item.verdict.keepalive)
        return None

    def count_listener(
        self, context: NamespaceContext, stats: ServiceStats, owner: Owner, item: Classified
    ) -> ListenerSeen:
        summary = {
            "local": item.local,
            "namespace": context.inode,
            "keepalive": item.verdict.keepalive,
            "keepalive_source": item.verdict.source,
            "verdict": None,
            "evidence": None,
            "accepted_with_keepalive": 0,
            "accepted_without_keepalive": 0,
        }
        if len(stats.listeners) < MAX_LISTENERS_PER_SERVICE:
            stats.listeners.append(summary)
        self.listener_ports.setdefault(id(context), set()).add(item.sock.sport)
        seen = ListenerSeen(context, stats, owner, item, summary)
        self.listeners.append(seen)
        return seen

    def count_accepted(self, key: int, name: str, port: int, keepalive: Any) -> None:
        """An accepted connection of service `name` on listening `port` in the namespace with id `key`:
        evidence for that listener's verdict."""
        evidence = self.evidence.get((key, name, port))
        if evidence is None:
            evidence = self.evidence[(key, name, port)] = Evidence()
        evidence.add(keepalive)

    def count_connection(self, stats: ServiceStats, item: Classified) -> None:
        keepalive = item.verdict.keepalive
        limit = self.options.max_detection_time
        stats.count_connected(keepalive, item.detection, limit, item.ghost, item.idle, _item_where, item)
        if keepalive is True and item.user_timeout:
            stats.user_timeout_overrides += 1
            if stats.wants_example("user_timeout"):
                stats.example("user_timeout", f"{item.where} (TCP_USER_TIMEOUT {item.user_timeout} ms)")

    def service(self, owner: Owner) -> ServiceStats:
        name = owner.service or "(no owner visible)"
        stats = self.services.get(name)
        if stats is None:
            stats = ServiceStats(
                name=name,
                comm=owner.comm,
                exe=owner.exe,
                unit=owner.unit,
                container_id=owner.container_id,
                first_pid=owner.pid,
            )
            self.services[name] = stats
        if owner.pid is not None and owner.pid not in stats.pids and len(stats.pids) < MAX_EXAMPLES:
            stats.pids.append(owner.pid)
        owner.stats = stats  # owners are cached per pid (and one unowned per scan): once per owner
        return stats

    # -- step 5: listeners from evidence ------------------------------------------------------------
    def judge_listeners(self) -> None:
        for seen in self.listeners:
            verdict, evidence, detail = self.listener_verdict(seen)
            seen.summary["verdict"], seen.summary["evidence"] = verdict, evidence
            if seen.listed is not None:
                seen.listed["listener_verdict"], seen.listed["listener_evidence"] = verdict, evidence
            finding = self.listener_finding(seen, verdict, evidence, detail)
            if finding is not None:
                self.listener_findings.append(finding)

    def listener_verdict(self, seen: ListenerSeen) -> tuple[str, str | None, str]:
        """(verdict, evidence, detail): verdict "keepalive" (the listener has it, accepted sockets inherit
        it), "after_accept" (accepted connections have it), "without" or "unverified"."""
        if seen.item.verdict.keepalive is True:
            return "keepalive", "listener", ""
        accepted = self.evidence.get((id(seen.context), seen.stats.name, seen.item.sock.sport))
        if accepted is not None:
            seen.summary["accepted_with_keepalive"] = accepted.with_keepalive
            seen.summary["accepted_without_keepalive"] = accepted.without_keepalive
            total = accepted.with_keepalive + accepted.without_keepalive + accepted.unknown
            if accepted.without_keepalive:
                return (
                    "without",
                    "accepted",
                    (
                        f"{accepted.without_keepalive} of the {total} connection(s) "
                        "it accepted have no keepalive"
                    ),
                )
            if accepted.with_keepalive:
                return "after_accept", "accepted", ""
        if not self.options.probe_listeners:
            return "unverified", None, "no accepted connection visible; probe_listeners is off"
        if self.probes >= MAX_PROBES:
            return (
                "unverified",
                None,
                (f"no accepted connection visible; more than {MAX_PROBES} listeners to probe"),
            )
        self.probes += 1
        result = self.prober(seen.context, seen.item.sock, list(seen.stats.pids), self.reader, self.root)
        if result.keepalive is True:
            return "after_accept", "probe", ""
        if result.keepalive is False:
            return "without", "probe", f"a probe connection it accepted had no keepalive ({result.source})"
        return "unverified", None, f"the probe did not tell: {result.error}"

    def listener_finding(
        self, seen: ListenerSeen, verdict: str, evidence: str | None, detail: str
    ) -> Finding | None:
        stats, local = seen.stats, seen.item.local
        extra = {
            "pid": seen.owner.pid,
            "service": stats.name,
            "socket": local,
            "evidence": evidence,
            "scope": SCOPE,
        }
        namespace = finding_namespace(seen.context)
        itself = (
            "without SO_KEEPALIVE"
            if seen.item.verdict.keepalive is False
            else "(its own SO_KEEPALIVE unread)"
        )
        if verdict == "without":
            stats.listeners_without_keepalive += 1
            return Finding(
                id="listener_without_keepalive",
                namespace=namespace,
                extra=extra,
                message=(
                    f"{stats.name} listens on {local} {itself} and {detail}: those "
                    "connections can never detect a dead peer"
                ),
            )
        if verdict == "unverified":
            from ansible_collections.tcp.keepalive.plugins.module_utils._remediation import remedy_for

            stats.listeners_unverified += 1
            remedy = remedy_for(stats.comm, stats.exe, stats.first_pid, self.root)
            known = f"; {remedy.default_on}" if remedy.default_on else ""
            return Finding(
                id="listener_keepalive_unverified",
                namespace=namespace,
                extra=extra,
                message=(
                    f"{stats.name} listens on {local} {itself}; whether it sets keepalive on "
                    f"the connections it accepts is not verified ({detail}){known}"
                ),
            )
        return None

    # -- step 6: results ----------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        found: list[Finding] = list(self.listener_findings)
        for stats in self.services.values():
            found.extend(service_findings(stats, self.options))
        for reason, count in sorted(self.sockopt_skipped.items()):
            found.append(
                Finding(
                    id="socket_options_unreadable",
                    message=(
                        f"socket options of {count} socket(s) not read: {reason}; classified by the timer"
                    ),
                    extra={"count": count, "reason": reason, "scope": SCOPE},
                )
            )
        return found

    def result(self) -> dict[str, Any]:
        sockets = [entry for bucket in self.listed for entry in bucket]
        cap = self.cap
        if cap is not None:
            sockets = sockets[:cap]
        elif len(sockets) > MAX_DETAIL:
            raise ResultTooLarge(
                f"detail=full: this host has {len(sockets)} sockets to list, more than one result may carry "
                f"({MAX_DETAIL}); use detail: summary (counts, services and findings only) or a number of "
                f"sockets up to {MAX_DETAIL}, and narrow the scan with ports, services or states"
            )
        ordered = sorted(self.services.values(), key=lambda stats: (-stats.problems, stats.name))
        services = [stats.as_dict(self.root) for stats in ordered]
        findings = sorted(
            (finding.as_dict() for finding in self.findings()),
            key=lambda finding: SEVERITY_ORDER.get(finding["severity"], len(SEVERITY_ORDER)),
        )
        summary = {
            "sockets": self.total,
            "sockets_listed": len(sockets),
            "sockets_truncated": len(sockets) < self.total,
            "by_state": {TCP_STATES[number]: count for number, count in enumerate(self.by_state) if count},
            "keepalive": dict(self.by_keepalive),
            "keepalive_source": dict(self.by_source),
            "ghost_candidates": self.ghosts,
            "listeners_without_keepalive": sum(
                stats.listeners_without_keepalive for stats in self.services.values()
            ),
            "listeners_unverified": sum(stats.listeners_unverified for stats in self.services.values()),
            "listeners_probed": self.probes,
            "services": len(services),
            "services_listed": len(services),
            "findings": len(findings),
            "findings_listed": len(findings),
            "idle_threshold": self.options.idle_threshold,
            "socket_options": {
                "mode": self.options.read_socket_options,
                "read": self.sockopt_read,
                "skipped": dict(self.sockopt_skipped),
            },
            "method": ",".join(sorted(self.methods)) or None,
            "namespaces": self.namespace_reports,
            "namespaces_listed": len(self.namespace_reports),
            "namespaces_gone": sum(1 for report in self.namespace_reports if report["gone"]),
        }
        if self.options.detail == "summary":
            services, findings = self.fit_summary(summary, services, findings)
        return {"sockets": sockets, "services": services, "summary": summary, "findings": findings}

    @staticmethod
    def fit_summary(
        summary: dict[str, Any], services: list[dict[str, Any]], findings: list[dict[str, Any]]
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


def service_findings(stats: ServiceStats, options: ScanOptions) -> Iterator[Finding]:
    """Aggregated findings of one service: one per id, with a count and example sockets."""
    namespace = list(stats.namespaces)[0] if len(stats.namespaces) == 1 else None
    common = {"pid": stats.first_pid, "service": stats.name, "scope": SCOPE}

    def make(finding_id: str, kind: str, count: int, message: str) -> Finding:
        examples = stats.examples.get(kind, [])
        extra = dict(common, count=count, socket=examples[0] if examples else None, sockets=list(examples))
        return Finding(id=finding_id, message=message, namespace=namespace, extra=extra)

    if stats.ghost_candidates:
        ghost = make(
            "ghost_candidate",
            "ghost",
            stats.ghost_candidates,
            f"{stats.name}: {stats.ghost_candidates} connection(s) without keepalive idle for at "
            f"least {options.idle_threshold}s (longest {stats.max_ghost_idle}s): possibly dead "
            "peers that will never be detected",
        )
        ghost.extra["idle"] = stats.max_ghost_idle
        yield ghost
    if stats.without_keepalive:
        yield make(
            "connection_without_keepalive",
            "without",
            stats.without_keepalive,
            f"{stats.name}: {stats.without_keepalive} of {stats.connections} connection(s) without "
            "SO_KEEPALIVE",
        )
    if stats.detection_exceeded:
        yield make(
            "detection_time_exceeded",
            "detection",
            stats.detection_exceeded,
            f"{stats.name}: {stats.detection_exceeded} connection(s) would detect a dead peer only "
            f"after more than {options.max_detection_time}s (max {stats.max_detection_time}s)",
        )
    if stats.user_timeout_overrides:
        yield make(
            "user_timeout_overrides_probes",
            "user_timeout",
            stats.user_timeout_overrides,
            f"{stats.name}: {stats.user_timeout_overrides} keepalive connection(s) set "
            "TCP_USER_TIMEOUT, which replaces the probe count in deciding when to reset",
        )
    if stats.keepalive_unknown:
        yield make(
            "keepalive_unknown",
            "unknown",
            stats.keepalive_unknown,
            f"{stats.name}: keepalive of {stats.keepalive_unknown} socket(s) could not be determined",
        )


def scan_sockets(options: ScanOptions, root: str = "/") -> dict[str, Any]:
    """The whole sockets_info result for this host. Raises ResultTooLarge for detail=full above MAX_DETAIL."""
    started = time.monotonic()
    contexts = scan_contexts(options.namespaces, root)
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
            context.close()
    result["summary"]["scan_seconds"] = round(time.monotonic() - started, 3)
    return result
