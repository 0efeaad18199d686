# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared vocabulary of the collection: the three keys, their limits, and the finding shape.

Private module_utils (leading underscore): not a public API. Standard library only; no AnsibleModule.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Dict, NamedTuple, Optional, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_kwargs: Any) -> Any:
        return lambda decorated: decorated


# ---- dataclass: the part of dataclasses.dataclass the collection uses, at a tenth of its import cost -----
# A module runs from AnsiballZ's zip, so everything it imports is built anew on every run; the standard
# dataclass decorator takes about 1 ms per class there (three generated methods compiled, plus its field
# machinery), 23 ms for the classes audit_info imports. This one compiles one __init__ per class and shares
# __eq__ and __repr__. Supported: defaults, field(default=, default_factory=, repr=, compare=), frozen=True
# (hashable, assignment raises), inheritance of the fields. Not supported (not used): __post_init__,
# ClassVar/InitVar annotations, order=, slots=. Instances are not dataclasses.is_dataclass(); `__fields__`
# lists the field names.

_T = TypeVar("_T")
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen instance (as dataclasses.FrozenInstanceError)."""


class _Field:
    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool) -> None:  # noqa: A002
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] = _MISSING,
    repr: bool = True,  # noqa: A002
    compare: bool = True,
) -> Any:
    return _Field(default, default_factory, repr, compare)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return all(getattr(self, name) == getattr(other, name) for name in self.__compared__)


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in self.__compared__))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _build(cls: Any, frozen: bool) -> Any:
    specs: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        specs.update(getattr(base, "__field_specs__", {}))
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Field):
            spec = value
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        else:
            spec = _Field(value, _MISSING, True, True)
        specs[name] = spec  # a redefined field keeps its place, as in dataclasses
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params, lines = ["self"], []
    for index, (name, spec) in enumerate(specs.items()):
        value = name
        if spec.default_factory is not _MISSING:
            namespace[f"_factory{index}"] = spec.default_factory
            params.append(f"{name}=_MISSING")
            value = f"_factory{index}() if {name} is _MISSING else {name}"
        elif spec.default is not _MISSING:
            namespace[f"_default{index}"] = spec.default
            params.append(f"{name}=_default{index}")
        else:
            params.append(name)
        lines.append(f"    _set(self, {name!r}, {value})" if frozen else f"    self.{name} = {value}")
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(lines) or "    pass") + "\n"
    exec(compile(source, f"<dataclass {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    cls.__field_specs__ = specs
    cls.__fields__ = tuple(specs)
    cls.__compared__ = tuple(name for name, spec in specs.items() if spec.compare)
    cls.__shown__ = tuple(name for name, spec in specs.items() if spec.repr)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq
        # as dataclasses: eq without frozen makes instances unhashable, frozen hashes the compared fields
        cls.__hash__ = _hash if frozen else None
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
    return cls


@overload
def dataclass(cls: type[_T], /) -> type[_T]:
    raise NotImplementedError  # typing only: @dataclass


@overload
def dataclass(*, frozen: bool = False) -> Callable[[type[_T]], type[_T]]:
    raise NotImplementedError  # typing only: @dataclass(frozen=True)


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: Any = None, /, *, frozen: bool = False) -> Any:
    """@dataclass or @dataclass(frozen=True), as the standard library's for what the collection uses."""
    if cls is None:
        return lambda decorated: _build(decorated, frozen)
    return _build(cls, frozen)


def field_names(instance: Any) -> tuple[str, ...]:
    """The field names of an instance of a class built by dataclass(), in order."""
    return instance.__fields__


# Short names users type (module options `time`, `intvl`, `probes`) -> full sysctl names.
KEYS = ("time", "intvl", "probes")
SYSCTL_NAMES = {key: "net.ipv4.tcp_keepalive_" + key for key in KEYS}
KEY_BY_SYSCTL = {name: key for key, name in SYSCTL_NAMES.items()}
PROC_SYS_RELPATH = {key: "proc/sys/net/ipv4/tcp_keepalive_" + key for key in KEYS}

# Values a new network namespace starts with (include/net/tcp.h: TCP_KEEPALIVE_TIME 7200*HZ,
# TCP_KEEPALIVE_INTVL 75*HZ, TCP_KEEPALIVE_PROBES 9; set in tcp_sk_init() for every netns).
KERNEL_DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}

# The three values of one namespace (runtime) or of the boot model, by short key; None when unknown.
Values = Dict[str, Optional[int]]  # typing.Dict: evaluated at import, Python 3.8

# The sysctl handlers accept any int (proc_dointvec_jiffies), but the per-socket options are bounded
# (include/net/tcp.h: MAX_TCP_KEEPIDLE 32767, MAX_TCP_KEEPINTVL 32767, MAX_TCP_KEEPCNT 127), so a value
# above these could never be set per socket and is almost surely a mistake. The collection enforces them.
LIMITS = {"time": (1, 32767), "intvl": (1, 32767), "probes": (1, 127)}

SEVERITIES = ("high", "medium", "low", "info")
# What a finding is about: the live values (runtime) or the values the next boot sets (boot).
FINDING_SCOPES = ("runtime", "boot")


class FindingKind(NamedTuple):
    """What the collection knows about one finding id: its default severity, the verify check it belongs to,
    its default scope, and, for an id the settings module emits for both the live and the boot values, the
    check of its boot-scoped occurrences (a finding's own `scope` field decides; the controller's routing,
    plugins/plugin_utils/_checks.FINDING_ROUTES, is derived from this)."""

    severity: str  # one of SEVERITIES
    check: str  # a check of the verify role (_checks.CHECKS; module_utils does not import plugin_utils)
    scope: str  # one of FINDING_SCOPES: the scope of a finding that does not carry its own
    boot_check: str | None = None  # the check of its occurrences with scope "boot", when not `check`


# THE table: every finding id the collection emits -> its severity, check and scope. Reports, assertions
# and docs key on these ids: add new ones here (and a row in docs/findings.md, which a unit test compares
# with this table), never rename one. The order is meaningful: findings are sorted by it (_policy).
FINDINGS: dict[str, FindingKind] = {
    # settings_info
    "drift": FindingKind("medium", "persistence", "boot"),
    "not_persisted": FindingKind("medium", "persistence", "boot"),
    "overridden_at_boot": FindingKind("medium", "persistence", "boot"),
    "conflicting_definitions": FindingKind("low", "persistence", "boot"),
    "unparsable_line": FindingKind("low", "persistence", "boot"),
    "unreadable_file": FindingKind("medium", "persistence", "boot"),
    "missing_key": FindingKind("medium", "runtime_values", "runtime"),
    "not_expected": FindingKind("high", "runtime_values", "runtime", boot_check="persistence"),
    "detection_time_exceeded": FindingKind("high", "detection_time", "runtime"),
    "namespace_defaults": FindingKind("medium", "namespaces", "runtime"),
    "namespace_unreadable": FindingKind("low", "namespaces", "runtime"),
    # sockets_info
    "listener_without_keepalive": FindingKind("high", "listeners", "runtime"),
    "listener_keepalive_unverified": FindingKind("low", "listeners", "runtime"),
    "connection_without_keepalive": FindingKind("medium", "listeners", "runtime"),
    "ghost_candidate": FindingKind("high", "ghosts", "runtime"),
    "keepalive_unknown": FindingKind("info", "listeners", "runtime"),
    "user_timeout_overrides_probes": FindingKind("low", "listeners", "runtime"),
    "socket_options_unreadable": FindingKind("info", "listeners", "runtime"),
    # verify (active proof)
    "timer_mismatch": FindingKind("high", "timer", "runtime"),
}

# Every finding id with its default severity, in the order of FINDINGS.
FINDING_SEVERITY = {finding_id: kind.severity for finding_id, kind in FINDINGS.items()}


@dataclass
class Finding:
    """One observation, with a stable id and where it was seen."""

    id: str
    message: str
    key: str | None = None
    file: str | None = None
    line: int | None = None
    namespace: int | None = None
    severity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        result = {
            "id": self.id,
            "severity": self.severity or FINDING_SEVERITY.get(self.id, "info"),
            "key": self.key,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "namespace": self.namespace,
        }
        result.update(self.extra)
        return result


def detection_time(time: int | None, intvl: int | None, probes: int | None) -> int | None:
    """Seconds from the last data received until an idle dead peer is reset: time + intvl * probes.

    None when any part is unknown.
    """
    if time is None or intvl is None or probes is None:
        return None
    return int(time) + int(intvl) * int(probes)


def parse_int(value: Any) -> int | None:
    """Parse an integer a user typed ("600", " 600 ", "0600", "+5") as decimal; None if it is not one.

    Decimal on purpose: a user who writes 0600 means six hundred. Note the kernel itself reads a sysctl
    file or /proc/sys write of "0600" as octal (384): _sysctl_conf.kernel_int() models that for files.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    sign = 1
    if text and text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if not text.isdigit() or not text.isascii():
        return None
    return sign * int(text, 10)


# Longest time + intvl * probes with every key at its limit (32767 + 32767 * 127): a bound on any detection
# time a policy can ask for.
MAX_DETECTION_TIME = LIMITS["time"][1] + LIMITS["intvl"][1] * LIMITS["probes"][1]

# Longest digit string parse_decimal() reads: any value of the three keys fits in 5 digits, and int() of a
# string above sys.get_int_max_str_digits() (4300) raises, so a huge string is refused before it is parsed.
MAX_DECIMAL_DIGITS = 20


def parse_decimal(value: Any) -> int | None:
    """A whole number a user gave as an int or as a string of ASCII digits only; None for anything else.

    Stricter than parse_int(): no sign, no blanks, no newline, no underscore, no exponent, never a bool or a
    float ("+600", " 600", "600\\n", "6e2", "1_0", True and 600.0 are all None). "0600" is 600 (decimal).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value or len(value) > MAX_DECIMAL_DIGITS:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value, 10)


def check_range(option: str, value: Any, low: float, high: float, what: str = "a number") -> str | None:
    """None when `value` is a real number (not a bool, not NaN or infinite) within [low, high], else a message
    naming `option` and the accepted range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        number = False
    else:
        number = not (isinstance(value, float) and math.isnan(value))  # math.isnan(int) overflows above 1e308
    if not number or not low <= value <= high:
        return f"{option} must be {what} from {low} to {high}, got {shown(value)}"
    return None


def shown(value: Any, limit: int = 80) -> str:
    """repr() of a user value for a message, cut to about `limit` characters (never fails on a huge int)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        digits = str(len(str(abs(value)))) if value.bit_length() < 14000 else "more than 4000"
        return f"a number of {digits} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"
