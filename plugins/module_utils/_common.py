# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared vocabulary of the collection: the three keys, their limits, and the finding shape.

Private module_utils (leading underscore): not a public API. Standard library only; no AnsibleModule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, NamedTuple, Optional

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
