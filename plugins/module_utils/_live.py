# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp.keepalive.sockets: enable keepalive in place on the sockets of running services.

Pipeline: parse and validate the options (the selection is sockets_info's, parsed by the same code in
_selection) -> select sockets with the shared Selector (raw prefilter on the sock_diag dump, owners,
service filter) in the namespaces _netns enters, plus this module's pids and scope -> refuse, changing
nothing, above max_sockets -> per socket: safety skips (no owner, ptrace, cgroup-v1 net_cls/net_prio),
then either SOCK_DESTROY for a ghost candidate (destroy_ghosts) or SockOptWriter.apply (pidfd_getfd copy,
read, set what differs, read back, close) -> results, per-service notes with the persistent fix (the hint
table in _remediation), and a diff.

Nothing here stops or blocks a target. Check mode reads the options on the copy (as sockets_info does)
and sets nothing; SOCK_DESTROY is not sent.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag
from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import read_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._classify import CONNECTED, LISTEN, endpoint
from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass, field
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import NamespaceContext, scan_contexts
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import scan_socket_fds
from ansible_collections.tcp.keepalive.plugins.module_utils._remediation import remediation_hint
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import (
    DEFAULT_IDLE_THRESHOLD,
    MAX_IDLE_THRESHOLD,
    OptionError,
    Owner,
    Selection,
    Selector,
    parse_selection,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import TcpSocket
from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import default_socket_source
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import (
    SKIP_NET_CLS,
    SKIP_NO_OWNER,
    SKIP_SELF_NET_CLS,
    SockOpts,
    net_cls_unsafe,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockwrite import (
    MAX_KEEPCNT,
    MAX_KEEPIDLE,
    MAX_KEEPINTVL,
    MAX_USER_TIMEOUT,
    KeepaliveSetting,
    SockOptWriter,
)

PER_SOCKET = " (the kernel's per-socket limit)"
SCOPES = ("listeners", "connections", "all")
DEFAULT_MAX_SOCKETS = 100000
DEFAULT_DETAIL = 1000  # entries per list (changed, skipped, destroyed), like sockets_info's detail
DIFF_MAX_SOCKETS = 50  # sockets shown one per line in the diff; the rest summarized

SKIP_ALREADY = "already has SO_KEEPALIVE (only_missing: true leaves what the application set)"
SKIP_NOT_TCP_OWNED = "socket has no file (orphaned or a request socket)"
SKIP_GONE_BEFORE_DESTROY = "connection went away before SOCK_DESTROY (ENOENT)"
LASTS = "lasts until the service restarts (the change is made on the running process's sockets only)"


@dataclass
class LiveOptions:
    selection: Selection  # sockets_info's selection, parsed by the same code (_selection)
    setting: KeepaliveSetting
    pids: frozenset[int] = frozenset()
    scope: str = "all"
    only_missing: bool = True
    max_sockets: int = DEFAULT_MAX_SOCKETS
    destroy_ghosts: bool = False
    idle_threshold: int = DEFAULT_IDLE_THRESHOLD
    detail: int | None = DEFAULT_DETAIL  # None: list everything


def _bounded(name: str, value: Any, low: int, high: int, unit: str = "", why: str = "") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise OptionError(f"{name} must be a whole number, got {value!r}")
    try:
        number = int(str(value).strip(), 10)
    except ValueError:
        raise OptionError(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise OptionError(f"{name} must be between {low} and {high}{unit}{why}, got {number}")
    return number


def _pids(value: Any) -> frozenset[int]:
    pids = set()
    for item in value or []:
        if isinstance(item, bool):
            raise OptionError(f"pids: {item!r} is not a process id")
        try:
            pid = int(str(item).strip(), 10)
        except ValueError:
            raise OptionError(f"pids: {item!r} is not a process id") from None
        if pid < 1:
            raise OptionError(f"pids: {pid} is not a process id (must be 1 or more)")
        pids.add(pid)
    return frozenset(pids)


def _detail(value: Any) -> int | None:
    if value is None:
        return DEFAULT_DETAIL
    text = str(value).strip().lower()
    if text == "full":
        return None
    if isinstance(value, bool) or not text.isdigit():
        raise OptionError(f"detail must be 'full' or a number of entries per list, got {value!r}")
    return int(text)


def parse_live_options(raw: dict[str, Any]) -> LiveOptions:
    """Validate module parameters; OptionError naming the option on bad input. Selection options go through
    sockets_info's parse_options, so they mean exactly the same."""
    selection = parse_selection(raw)
    pids = _pids(raw.get("pids"))
    if not (selection.ports or selection.services or pids):
        raise OptionError(
            "at least one of ports, services or pids is required: this module changes running "
            "sockets and never selects the whole host by accident"
        )
    scope = str(raw.get("scope") or "all").strip().lower()
    if scope not in SCOPES:
        raise OptionError(f"scope must be one of {', '.join(SCOPES)}, got {raw.get('scope')!r}")
    keepalive = raw.get("keepalive")
    keepalive = True if keepalive is None else bool(keepalive)
    only_missing = raw.get("only_missing")
    only_missing = True if only_missing is None else bool(only_missing)
    if not keepalive and only_missing:
        raise OptionError(
            "keepalive: false turns SO_KEEPALIVE off, which only_missing: true (touch only "
            "sockets without it) can never do; set only_missing: false to turn it off"
        )
    setting = KeepaliveSetting(
        keepalive=keepalive,
        idle=_bounded("idle", raw.get("idle"), 1, MAX_KEEPIDLE, " seconds", PER_SOCKET),
        intvl=_bounded("intvl", raw.get("intvl"), 1, MAX_KEEPINTVL, " seconds", PER_SOCKET),
        count=_bounded("count", raw.get("count"), 1, MAX_KEEPCNT, "", PER_SOCKET),
        user_timeout=_bounded("user_timeout", raw.get("user_timeout"), 0, MAX_USER_TIMEOUT, " milliseconds"),
    )
    max_sockets = raw.get("max_sockets")
    max_sockets = (
        DEFAULT_MAX_SOCKETS if max_sockets is None else _bounded("max_sockets", max_sockets, 1, 2**31 - 1)
    )
    destroy = bool(raw.get("destroy_ghosts"))
    idle_threshold: Any = raw.get("idle_threshold")
    idle_threshold = (
        DEFAULT_IDLE_THRESHOLD
        if idle_threshold is None
        else _bounded("idle_threshold", idle_threshold, 0, MAX_IDLE_THRESHOLD, " seconds")
    )
    return LiveOptions(
        selection=selection,
        setting=setting,
        pids=pids,
        scope=scope,
        only_missing=only_missing,
        max_sockets=int(max_sockets or DEFAULT_MAX_SOCKETS),
        destroy_ghosts=destroy,
        idle_threshold=int(idle_threshold),
        detail=_detail(raw.get("detail")),
    )


# ---- selection --------------------------------------------------------------------------------------


class Target(NamedTuple):
    context: NamespaceContext
    sock: TcpSocket
    owner: Owner
    holders: tuple[tuple[int, int], ...]


def in_scope(sock: TcpSocket, scope: str) -> bool:
    listening = sock.state == LISTEN
    return scope == "all" or (scope == "listeners") == listening


class Picker:
    """sockets_info's selection (the shared Selector: raw prefilter on the dump, owners, owner filter) plus
    this module's pids and scope."""

    def __init__(self, options: LiveOptions, root: str = "/") -> None:
        self.options = options
        self.root = root
        self.selector = Selector(options.selection, root=root)
        self.methods: set[str] = set()
        self.socket_source = default_socket_source(root, self.methods)

    def wanted(self, sock: TcpSocket) -> tuple[Owner, tuple[tuple[int, int], ...]] | None:
        if not in_scope(sock, self.options.scope):
            return None
        selector = self.selector
        if not selector.socket_wanted(sock.family, sock.state, sock.src, sock.sport, sock.dport):
            return None  # the raw filter already dropped these from a sock_diag dump; /proc/net/tcp is not
        owner, holders = selector.owner_of(sock.inode)
        if selector.filters_owners and not selector.owner_wanted(owner):
            return None
        pids = self.options.pids
        if pids:
            holders = tuple(holder for holder in holders if holder[0] in pids)
            if not holders:
                return None
        return owner, tuple(holders)

    def run(self, contexts: list[NamespaceContext]) -> Iterator[Target]:
        mask = _sockdiag.states_mask(self.options.selection.states)
        self.selector.owner_map = scan_socket_fds(self.root, pids=self.options.pids or None)
        keep = self.selector.raw_filter()
        for context in contexts:
            if context.error is not None or context.gone:
                continue
            try:
                for sock in self.socket_source(context, mask, keep):
                    chosen = self.wanted(sock)
                    if chosen is not None:
                        yield Target(context, sock, chosen[0], chosen[1])
            except (_sockdiag.SockDiagError, OSError) as exc:
                context.error = f"socket dump failed: {exc}"


# ---- results ----------------------------------------------------------------------------------------


def options_dict(opts: SockOpts | None) -> dict[str, Any] | None:
    if opts is None:
        return None
    return {
        "keepalive": opts.keepalive,
        "idle": opts.keepidle,
        "intvl": opts.keepintvl,
        "count": opts.keepcnt,
        "user_timeout": opts.user_timeout,
    }


def options_text(opts: dict[str, Any] | None) -> str:
    if opts is None:
        return "unreadable"
    return (
        f"keepalive={'on' if opts['keepalive'] else 'off'} idle={opts['idle']} intvl={opts['intvl']} "
        f"count={opts['count']} user_timeout={opts['user_timeout']}"
    )


@dataclass
class ServiceNote:
    name: str
    unit: str | None
    container_id: str | None
    comm: str | None
    exe: str | None
    first_pid: int | None
    root: str = "/"
    pids: list[int] = field(default_factory=list)
    listeners_changed: int = 0
    connections_changed: int = 0
    destroyed: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        touched = self.listeners_changed + self.connections_changed + self.destroyed
        return {
            "name": self.name,
            "systemd_unit": self.unit,
            "container_id": self.container_id,
            "pids": list(self.pids),
            "listeners_changed": self.listeners_changed,
            "connections_changed": self.connections_changed,
            "sockets_destroyed": self.destroyed,
            "sockets_skipped": self.skipped,
            "lasts": LASTS if touched else None,
            "persistent_fix": remediation_hint(self.comm, self.exe, self.first_pid, self.root),
        }


class Remediation:
    """One run of tcp.keepalive.sockets."""

    def __init__(
        self,
        options: LiveOptions,
        check_mode: bool,
        writer: SockOptWriter,
        destroy: Any = None,
        self_unsafe: bool = False,
        root: str = "/",
    ) -> None:
        self.options = options
        self.root = root
        self.check_mode = check_mode
        self.writer = writer
        self.destroy = destroy or _destroy_in
        self.self_unsafe = self_unsafe
        self.changed: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.destroyed: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.skip_reasons: dict[str, int] = {}
        self.counts = {
            "sockets_changed": 0,
            "listeners_changed": 0,
            "connections_changed": 0,
            "sockets_unchanged": 0,
            "sockets_skipped": 0,
            "sockets_destroyed": 0,
            "errors": 0,
        }
        self.services: dict[str, ServiceNote] = {}
        self.diff_before: list[str] = []
        self.diff_after: list[str] = []
        self.diff_more = 0

    def _room(self, bucket: list[dict[str, Any]]) -> bool:
        cap = self.options.detail
        return cap is None or len(bucket) < cap

    def _keep(self, bucket: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        if self._room(bucket):
            bucket.append(entry)

    def note(self, owner: Owner) -> ServiceNote:
        name = owner.service or "(no owner visible)"
        note = self.services.get(name)
        if note is None:
            note = ServiceNote(
                name=name,
                unit=owner.unit,
                container_id=owner.container_id,
                comm=owner.comm,
                exe=owner.exe,
                first_pid=owner.pid,
                root=self.root,
            )
            self.services[name] = note
        if owner.pid is not None and owner.pid not in note.pids and len(note.pids) < 10:
            note.pids.append(owner.pid)
        return note

    @staticmethod
    def describe(target: Target) -> dict[str, Any]:
        sock = target.sock
        listening = sock.state == LISTEN
        pid, fd = target.holders[0] if target.holders else (None, None)
        return {
            "namespace": target.context.inode,
            "state": sock.state_name,
            "local": endpoint(sock.family, sock.src, sock.sport),
            "remote": None if listening else endpoint(sock.family, sock.dst, sock.dport),
            "inode": sock.inode,
            "service": target.owner.service,
            "pid": pid,
            "fd": fd,
            "idle": None if listening or sock.last_data_recv is None else sock.last_data_recv // 1000,
        }

    def skip(self, target: Target, reason: str, note: ServiceNote | None = None) -> None:
        self.counts["sockets_skipped"] += 1
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1
        if note is not None:
            note.skipped += 1
        if self._room(self.skipped):  # entries are built only when listed: 100,000 sockets stay cheap
            self.skipped.append(dict(self.describe(target), reason=reason))

    def safety_reason(self, target: Target) -> str | None:
        if not target.sock.inode:
            return SKIP_NOT_TCP_OWNED
        if not target.holders:
            return SKIP_NO_OWNER
        if self.self_unsafe:
            return SKIP_SELF_NET_CLS
        if target.owner.unsafe_net_cls:
            return SKIP_NET_CLS
        return None

    def is_ghost(self, target: Target, before: SockOpts | None) -> bool:
        sock = target.sock
        return (
            self.options.destroy_ghosts
            and sock.state in CONNECTED
            and before is not None
            and not before.keepalive
            and sock.last_data_recv is not None
            and sock.last_data_recv // 1000 >= self.options.idle_threshold
        )

    def handle(self, target: Target) -> None:
        note = self.note(target.owner)
        reason = self.safety_reason(target)
        if reason:
            self.skip(target, reason, note)
            return
        pid, fd = target.holders[0]
        if self.options.destroy_ghosts and target.sock.state in CONNECTED:
            before, why = self.writer.read(pid, fd, target.sock.inode)
            if before is None:
                self.skip(target, why or "socket options unreadable", note)
                return
            if self.is_ghost(target, before):
                self.destroy_one(target, note, before)
                return
        only_missing = self.options.only_missing
        result = self.writer.apply(
            pid,
            fd,
            target.sock.inode,
            self.options.setting,
            self.check_mode,
            decide=(lambda opts: SKIP_ALREADY if opts.keepalive else None) if only_missing else None,
        )
        if result.reason:
            self.skip(target, result.reason, note)
            return
        wanted = self._room(self.changed) or len(self.diff_before) < DIFF_MAX_SOCKETS
        listed = bool(result.error) or (result.changed and wanted)
        entry = (
            dict(self.describe(target), before=options_dict(result.before), after=options_dict(result.after))
            if listed
            else {}
        )
        if result.error:
            self.counts["errors"] += 1
            self._keep(self.errors, dict(entry, error=result.error))
        if not result.changed:
            if not result.error:
                self.counts["sockets_unchanged"] += 1
            return
        self.counts["sockets_changed"] += 1
        if target.sock.state == LISTEN:
            self.counts["listeners_changed"] += 1
            note.listeners_changed += 1
        else:
            self.counts["connections_changed"] += 1
            note.connections_changed += 1
        if entry:
            self._keep(self.changed, entry)
            self.add_diff(entry)
        else:
            self.diff_more += 1

    def destroy_one(self, target: Target, note: ServiceNote, before: SockOpts) -> None:
        entry = dict(
            self.describe(target), before=options_dict(before), destroyed=not self.check_mode, error=None
        )
        if not self.check_mode:
            try:
                code = self.destroy(target)
            except (_sockdiag.SockDiagError, OSError) as exc:
                code, entry["error"] = -1, f"SOCK_DESTROY failed: {exc}"
            if code == errno.ENOENT:  # closed by its owner or peer between the dump and now
                self.skip(target, SKIP_GONE_BEFORE_DESTROY, note)
                return
            if code:
                entry["destroyed"] = False
                if code > 0:
                    entry["error"] = f"SOCK_DESTROY failed: {os.strerror(code)}" + (
                        " (kernel without CONFIG_INET_DIAG_DESTROY)" if code == errno.EOPNOTSUPP else ""
                    )
                self.counts["errors"] += 1
                self._keep(self.errors, entry)
                return
        self.counts["sockets_destroyed"] += 1
        note.destroyed += 1
        self._keep(self.destroyed, entry)
        self.add_diff(dict(entry, after=None))

    def add_diff(self, entry: dict[str, Any]) -> None:
        if len(self.diff_before) >= DIFF_MAX_SOCKETS:
            self.diff_more += 1
            return
        where = entry["local"] + (f"->{entry['remote']}" if entry["remote"] else "")
        label = f"{entry['state']} {where} ({entry['service']}, pid {entry['pid']} fd {entry['fd']})"
        self.diff_before.append(f"{label}: {options_text(entry['before'])}")
        after = "destroyed (SOCK_DESTROY)" if entry.get("after") is None else options_text(entry["after"])
        self.diff_after.append(f"{label}: {after}")

    def diff(self) -> dict[str, str]:
        before, after = list(self.diff_before), list(self.diff_after)
        if self.diff_more:
            tail = f"... and {self.diff_more} more socket(s) (see sockets_changed, sockets_destroyed)"
            before.append(tail)
            after.append(tail)
        return {
            "before": "\n".join(before) + ("\n" if before else ""),
            "after": "\n".join(after) + ("\n" if after else ""),
            "before_header": "live socket options",
            "after_header": "live socket options",
        }

    def result(self, selected: int) -> dict[str, Any]:
        counts = dict(self.counts)
        touched = counts["sockets_changed"] + counts["sockets_destroyed"]
        services = sorted(
            (note.as_dict() for note in self.services.values()),
            key=lambda item: (
                -(item["listeners_changed"] + item["connections_changed"] + item["sockets_destroyed"]),
                item["name"],
            ),
        )
        return dict(
            counts,
            changed=touched > 0,
            sockets_selected=selected,
            sockets=self.changed,
            sockets_truncated=len(self.changed) < counts["sockets_changed"],
            destroyed=self.destroyed,
            skipped_sockets=self.skipped,
            skipped_reasons=dict(self.skip_reasons),
            socket_errors=self.errors,
            services=services,
            diff=self.diff(),
        )


def _destroy_in(target: Target) -> int:
    return _sockdiag.destroy_tcp(target.sock, nl=target.context.netlink)


class TooManySockets(Exception):
    """The selection is larger than max_sockets; nothing was changed."""


def remediate(options: LiveOptions, check_mode: bool, root: str = "/") -> dict[str, Any]:
    """The whole module result. Raises TooManySockets (nothing changed) above max_sockets."""
    contexts = scan_contexts(options.selection.namespaces, root)
    try:
        picker = Picker(options, root)
        targets = list(picker.run(contexts))
        if len(targets) > options.max_sockets:
            raise TooManySockets(
                f"the selection holds {len(targets)} sockets, more than max_sockets "
                f"({options.max_sockets}); nothing was changed. Narrow ports, services or "
                "pids, or raise max_sockets"
            )
        with contextlib.ExitStack() as stack:
            writer = stack.enter_context(SockOptWriter())
            run = Remediation(
                options,
                check_mode,
                writer,
                self_unsafe=net_cls_unsafe(read_cgroup(os.getpid(), root)),
                root=root,
            )
            for target in targets:
                run.handle(target)
        result = run.result(len(targets))
        result["method"] = ",".join(sorted(picker.methods)) or None
        result["namespaces"] = [
            {"inode": context.inode, "current": context.current, "error": context.error, "gone": context.gone}
            for context in contexts
        ]
        result["unsupported"] = writer.disabled_reason
        return result
    finally:
        for context in contexts:
            with contextlib.suppress(OSError):
                context.close()
