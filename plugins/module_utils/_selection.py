# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which TCP sockets a socket module looks at: the selection options and the per-socket and per-owner filters.

Shared by sockets_info and any module that acts on sockets (one parser, one filter, never copied).

Entry points:
- `parse_selection(raw)` -> `Selection` (states, ports, exclude_ports, include_loopback, services,
  exclude_services, namespaces); `parse_options(raw)` -> `ScanOptions` (a Selection plus sockets_info's own
  options). Both raise `OptionError` whose message names the option, for what argument_spec cannot check
  (empty or null elements, NUL bytes, values that can never match).
- `Selector(selection, owner_map, root)`: `raw_filter()` for `_sockdiag.dump_tcp(keep=...)` (drops sockets
  on the raw bytes, before any object is built), `owner_of(inode)` -> (`Owner`, holders) cached per pid,
  `owner_wanted(owner)`.
"""

from __future__ import annotations

import fnmatch
import socket
import struct
from typing import Any, Callable, Sequence, Tuple

from ansible_collections.tcp.keepalive.plugins.module_utils._common import LIMITS, dataclass, field
from ansible_collections.tcp.keepalive.plugins.module_utils._owners import ProcessCache
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import TCP_STATES
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import net_cls_unsafe

STATE_NAMES = tuple(name for number, name in sorted(TCP_STATES.items()) if name != "NEW_SYN_RECV")
DEFAULT_STATES = (
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
)
READ_MODES = ("auto", "always", "never")
NAMESPACE_MODES = ("current", "all")
# The selection options as both sockets_info and sockets declare them: same names, types and defaults.
SELECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "states": {"type": "list", "elements": "str", "default": list(DEFAULT_STATES)},
    "ports": {"type": "list", "elements": "int", "default": []},
    "exclude_ports": {"type": "list", "elements": "int", "default": []},
    "include_loopback": {"type": "bool", "default": False},
    "services": {"type": "list", "elements": "str", "default": []},
    "exclude_services": {"type": "list", "elements": "str", "default": []},
    "namespaces": {"type": "str", "default": "current", "choices": list(NAMESPACE_MODES)},
}
DETAIL_MODES = ("full", "summary")
DEFAULT_IDLE_THRESHOLD = 3600
# Sockets listed by default: a host with 100,000 connections must not flood the controller (a full
# listing measured 74 MB of JSON and 294 MiB peak RSS at 80,000 sockets; see docs/performance.md).
DEFAULT_DETAIL = 1000
# The most sockets one result may list (detail=full or a number): AnsibleModule's exit path took 89% of a
# 219 s, 937 MiB run listing 100,000 sockets; 20,000 stays near 20 MB of JSON.
MAX_DETAIL = 20000
# tcpi_last_data_recv is a u32 in milliseconds: no idle time is ever above this many seconds.
MAX_IDLE_THRESHOLD = 0xFFFFFFFF // 1000
# The longest detection any socket can have: TCP_KEEPIDLE + TCP_KEEPINTVL * TCP_KEEPCNT at their maxima
# (include/net/tcp.h); TCP_USER_TIMEOUT (an int of ms) cannot exceed it either in seconds.
MAX_DETECTION_TIME = LIMITS["time"][1] + LIMITS["intvl"][1] * LIMITS["probes"][1]

LISTEN = 10
_PORT = struct.Struct("!H")


class OptionError(ValueError):
    """Bad module input; the message names the option and is meant for the user as is."""


@dataclass
class Selection:
    """Which sockets to look at."""

    states: tuple[str, ...] = DEFAULT_STATES
    ports: frozenset[int] = frozenset()
    exclude_ports: frozenset[int] = frozenset()
    include_loopback: bool = False
    services: tuple[str, ...] = ()
    exclude_services: tuple[str, ...] = ()
    namespaces: str = "current"

    def port_wanted(self, sport: int, dport: int | None) -> bool:
        """dport is None for a listener (it matches on its local port only)."""
        if self.ports and sport not in self.ports and dport not in self.ports:
            return False
        return not (self.exclude_ports and (sport in self.exclude_ports or dport in self.exclude_ports))

    def names_wanted(self, names: set[str]) -> bool:
        def matches(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)

        if self.services and not matches(self.services):
            return False
        return not (self.exclude_services and matches(self.exclude_services))


@dataclass
class ScanOptions(Selection):
    """sockets_info's options: the selection plus how to judge and how much to return."""

    idle_threshold: int = DEFAULT_IDLE_THRESHOLD
    max_detection_time: int | None = None
    detail: Any = DEFAULT_DETAIL  # "full", "summary" or a number of sockets
    read_socket_options: str = "auto"
    probe_listeners: bool = False
    resample_delay: float = 0.2  # seconds: long enough for a retransmit / ACK on a live link


# ---- option checks argument_spec cannot express ------------------------------------------------------


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
        if isinstance(item, bool) or item is None:
            raise OptionError(f"{name}: {item!r} is not a port number (1-65535)")
        try:
            port = int(str(item).strip(), 10)
        except ValueError:
            raise OptionError(f"{name}: {item!r} is not a port number (1-65535)") from None
        if not 1 <= port <= 65535:
            raise OptionError(f"{name}: port {port} is out of range (1-65535)")
        ports.add(port)
    return frozenset(ports)


def _states(value: Any) -> tuple[str, ...]:
    items = []
    for item in _as_list("states", value):
        if item is None or not str(item).strip():
            raise OptionError("states: an element is empty or null; use TCP state names or 'all'")
        items.append(str(item).strip().upper().replace("-", "_"))
    if not items:
        return DEFAULT_STATES
    if "ALL" in items:
        return STATE_NAMES
    unknown = [item for item in items if item not in STATE_NAMES]
    if unknown:
        raise OptionError(
            f"states: unknown TCP state(s) {', '.join(unknown)}; use any of {', '.join(STATE_NAMES)} or 'all'"
        )
    return tuple(dict.fromkeys(items))


def _patterns(name: str, value: Any) -> tuple[str, ...]:
    """Service name patterns. An element that can match nothing would turn the audit into a false
    all-clear (`services: [null]` arrives as '' and `[{}]` as '{}' after argument_spec's str conversion),
    so it is refused by position."""
    patterns = []
    for index, item in enumerate(_as_list(name, value), start=1):
        if item is None or isinstance(item, (dict, list, tuple, bool)):
            raise OptionError(f"{name}: element {index} is {item!r}, not a service name pattern")
        text = str(item)
        if not text.strip():
            raise OptionError(f"{name}: element {index} is empty (a null or '' element matches no service)")
        if any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise OptionError(f"{name}: element {index} {text!r} contains a NUL or control character")
        if text.startswith("{") and text.endswith("}"):
            raise OptionError(f"{name}: element {index} {text!r} is a mapping, not a service name pattern")
        patterns.append(text.strip())
    return tuple(patterns)


def _bounded_int(name: str, value: Any, low: int, high: int, unit: str = "seconds") -> int:
    if isinstance(value, (bool, float)) or value is None:
        raise OptionError(f"{name} must be a whole number of {unit}, got {value!r}")
    try:
        number = int(str(value).strip(), 10)
    except ValueError:
        raise OptionError(f"{name} must be a whole number of {unit}, got {value!r}") from None
    if not low <= number <= high:
        raise OptionError(f"{name} must be between {low} and {high} {unit}, got {number}")
    return number


def _detail(value: Any) -> Any:
    if value is None:
        return DEFAULT_DETAIL
    if isinstance(value, (bool, float)):
        raise OptionError(f"detail must be 'full', 'summary' or a number of sockets, got {value!r}")
    text = str(value).strip().lower()
    if text in DETAIL_MODES:
        return text
    try:
        cap = int(text, 10)
    except ValueError:
        raise OptionError(f"detail must be 'full', 'summary' or a number of sockets, got {value!r}") from None
    if not 0 <= cap <= MAX_DETAIL:
        raise OptionError(
            f"detail: a socket cap must be between 0 and {MAX_DETAIL}, got {cap}; use "
            "'summary' for counts only"
        )
    return cap


def _choice(name: str, value: Any, choices: tuple[str, ...], default: str) -> str:
    text = default if value is None else str(value).strip().lower()
    if text not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return text


def _flag(name: str, value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise OptionError(f"{name} must be true or false, got {value!r}")
    return value


def selection_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "states": _states(raw.get("states")),
        "ports": _port_set("ports", raw.get("ports")),
        "exclude_ports": _port_set("exclude_ports", raw.get("exclude_ports")),
        "include_loopback": _flag("include_loopback", raw.get("include_loopback")),
        "services": _patterns("services", raw.get("services")),
        "exclude_services": _patterns("exclude_services", raw.get("exclude_services")),
        "namespaces": _choice("namespaces", raw.get("namespaces"), NAMESPACE_MODES, "current"),
    }


def parse_selection(raw: dict[str, Any]) -> Selection:
    """The selection options of module parameters; OptionError naming the option on bad input."""
    return Selection(**selection_fields(raw))


def parse_options(raw: dict[str, Any]) -> ScanOptions:
    """sockets_info's parameters; OptionError naming the option on bad input."""
    idle = raw.get("idle_threshold")
    max_detection = raw.get("max_detection_time")
    return ScanOptions(
        idle_threshold=(
            DEFAULT_IDLE_THRESHOLD
            if idle is None
            else _bounded_int("idle_threshold", idle, 0, MAX_IDLE_THRESHOLD)
        ),
        max_detection_time=(
            None
            if max_detection is None
            else _bounded_int("max_detection_time", max_detection, 0, MAX_DETECTION_TIME)
        ),
        detail=_detail(raw.get("detail")),
        read_socket_options=_choice(
            "read_socket_options", raw.get("read_socket_options"), READ_MODES, "auto"
        ),
        probe_listeners=_flag("probe_listeners", raw.get("probe_listeners")),
        **selection_fields(raw),
    )


# ---- filters -------------------------------------------------------------------------------------------


def is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1" or address.startswith("::ffff:127.")


_V4_MAPPED = b"\0" * 10 + b"\xff\xff"
_V6_LOOPBACK = b"\0" * 15 + b"\x01"


def raw_is_loopback(family: int, src: bytes) -> bool:
    """is_loopback() on the 4 or 16 raw address bytes of an inet_diag_sockid."""
    if family == socket.AF_INET:
        return src[0] == 127
    return src == _V6_LOOPBACK or (src[:12] == _V4_MAPPED and src[12] == 127)


RawFilter = Callable[[int, int, int, int, bytes], bool]  # family, state, sport, dport, src (16 bytes)


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
    stats: Any = field(default=None, repr=False, compare=False)  # the consumer's per-service aggregate

    def names(self) -> set[str]:
        names = {name for name in (self.service, self.comm, self.unit) if name}
        if self.unit and self.unit.endswith(".service"):
            names.add(self.unit[: -len(".service")])
        return names


# typing generics: evaluated at import, and managed nodes may run Python 3.8.
Holders = Sequence[Tuple[int, int]]  # (pid, fd) of every process holding the socket


class Selector:
    """The selection applied to one scan: raw prefilter, owners cached per pid, owner filter."""

    def __init__(
        self,
        selection: Selection,
        owner_map: dict[int, list[tuple[int, int]]] | None = None,
        root: str = "/",
        processes: ProcessCache | None = None,
    ) -> None:
        self.selection = selection
        self.owner_map = owner_map or {}
        self.processes = processes or ProcessCache(root)
        self.owner_cache: dict[int, Owner] = {}
        self.no_owner = Owner(service=None)
        self.filters_owners = bool(selection.services or selection.exclude_services)

    def raw_filter(self) -> RawFilter | None:
        """A predicate on raw dump fields, or None when every socket passes (no call per socket)."""
        selection = self.selection
        skip_loopback = not selection.include_loopback
        ports_matter = bool(selection.ports or selection.exclude_ports)
        if not skip_loopback and not ports_matter:
            return None
        port_wanted = selection.port_wanted

        def keep(family: int, state: int, sport: int, dport: int, src: bytes) -> bool:
            if skip_loopback and raw_is_loopback(family, src):
                return False
            return not ports_matter or port_wanted(sport, None if state == LISTEN else dport)

        return keep

    def socket_wanted(self, family: int, state: int, src: str, sport: int, dport: int) -> bool:
        """The same test on a parsed socket (for sources without a raw filter, e.g. /proc/net/tcp)."""
        if not self.selection.include_loopback and is_loopback(src):
            return False
        return self.selection.port_wanted(sport, None if state == LISTEN else dport)

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
            owner = Owner(
                service=service,
                pid=pid,
                comm=process.comm,
                exe=process.exe,
                unit=unit,
                container_id=process.container_id,
                unsafe_net_cls=net_cls_unsafe(process.cgroup),
            )
            self.owner_cache[pid] = owner
        return owner, holders

    def owner_wanted(self, owner: Owner) -> bool:
        return not self.filters_owners or self.selection.names_wanted(owner.names())
