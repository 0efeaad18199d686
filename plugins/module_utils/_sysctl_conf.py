# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sysctl.d precedence model (systemd-sysctl and procps ``sysctl --system``); the settings module's
drop-in file editing is in _sysctl_edit.

Private module_utils: standard library only, no AnsibleModule. Every path argument is a *host* path
("/etc/sysctl.d/x.conf"); it is read under ``root`` (default "/") so tests feed fixture trees.

Modelled loader versions: systemd-sysctl 252 (Debian 12), procps-ng 4.0.2 (also used for every procps-ng
>= 3.3.17, whose release notes adopt systemd's directory order and globs; only 4.0.2 was run) and, from
the source only, procps-ng <= 3.3.16 (RHEL 8 family: /run before /etc, no globs; not run: no binary).
The first two are checked against the real binaries on random trees by
tests/integration/test_loader_differential.py. Rules, each confirmed there:

* Files. systemd lists ``*.conf`` names that do not start with "." in /etc/sysctl.d, /run/sysctl.d,
  /usr/local/lib/sysctl.d, /usr/lib/sysctl.d (and /lib/sysctl.d on split-usr); procps lists every name
  of at least 5 characters ending in ".conf", hidden ones included. The first directory holding a name
  wins, whatever the entry is: a /dev/null symlink or an empty file reads as nothing, and so does a
  dangling symlink, a directory or a symlink to one (the loader fails to read it): each masks the
  same-named files of later directories. Files are read in basename order. procps then reads
  /etc/sysctl.conf when stat() says it is a regular file (so the 99-sysctl.conf symlink reads it twice);
  systemd reads it only through that symlink.
* Lines. systemd ends a line at "\\n", "\\r", "\\r\\n" or "\\n\\r" and strips " \\t\\r\\n"; procps ends a line
  at "\\n" only and strips C isspace() (" \\t\\n\\v\\f\\r"). Neither splits at \\f, \\v, \\x1c-\\x1e, \\x85 or
  \\u2028 (``str.splitlines`` does). ``#``/``;`` as the first non-blank character make a comment.
  Reported line numbers count "\\n" (what an editor shows).
* systemd: ``key = value`` (a leading "-" ignores errors, blanks around the key and the value are
  stripped); ``-key`` without "=" stores the key with no value. Keys are normalized (dots and slashes
  swapped when the first separator is a dot, repeated and trailing separators dropped, a leading "/"
  dropped). A later line for the same key replaces an earlier one unless the value is the same, so
  ``-key`` after ``key = 5`` drops the assignment. Explicit keys are written once, in order; a glob is
  expanded over /proc/sys and skips every key that has an entry of its own (assignment or ``-key``).
* procps: the line up to the first "=" is the key (a leading "-" ignores errors and is removed; a blank
  after it stays in the key, so ``- key = 5`` names no sysctl); the key is turned into a /proc/sys path
  (dots and slashes swapped when the first separator is a dot; nothing else). Every assignment is
  written in file order; a glob skips each path that another line (an assignment or a ``-key``) names
  exactly, as a string, wherever that line is (4.0.2 does not fnmatch ``-key`` globs). ``--pattern``
  filters lines by an ERE on the text as written, before the key is split off.
* Values. The kernel reads what the loader writes (the value and "\\n") with proc_get_long(): leading
  kernel-isspace bytes skipped, optional "-", base 0 (``0600`` is octal 384, ``0x10`` is 16), at most 20
  characters, then a blank, a tab or the end. ``tcp_keepalive_probes`` is a u8 (0..255, no "-", not even
  "-0"); ``time``/``intvl`` are jiffies: |value| <= INT_MAX/HZ (8589934 at HZ=250), "-5" is stored as -5.
  A rejected write leaves the earlier value in force. ``kernel_int()`` implements exactly that.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import subprocess
from collections.abc import Iterable
from typing import Dict, List, Optional, Tuple, TypedDict

from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    KEYS,
    SYSCTL_NAMES,
    dataclass,
    field,
)

LOADERS = ("systemd", "procps")
SYSCTL_D_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
# procps-ng <= 3.3.16 read /run/sysctl.d before /etc/sysctl.d (3.3.17 NEWS: "Match systemd directory order").
PROCPS_LEGACY_DIRS = (
    "/run/sysctl.d",
    "/etc/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
PROCPS_LEGACY_MAX = (3, 3, 16)
SYSCTL_CONF = "/etc/sysctl.conf"
COMMENT_CHARS = "#;"
GLOB_CHARS = "*?["
BLANKS = " \t\r\n\f\v"
SYSTEMD_BLANKS = " \t\n\r"  # systemd's WHITESPACE (strstrip)
C_SPACES = " \t\n\v\f\r"  # isspace() in the C locale (procps)
# kernel isspace() (lib/ctype.c): the C spaces and the byte 0xa0 (a lone byte, decoded as a surrogate).
KERNEL_SPACES = C_SPACES + "\udca0"
KERNEL_SEPARATORS = " \t\n"  # what proc_get_long() accepts right after a number (proc_wspace_sep)
KERNEL_NUMBER_MAX_CHARS = 20  # TMPBUFLEN - 2: a 21-character number is refused
INT_MAX = 2**31 - 1
U8_KEYS = ("probes",)  # proc_dou8vec_minmax on Linux >= 5.14; time and intvl use proc_dointvec_jiffies
DEFAULT_HZ = 250
PROC_SYS = "/proc/sys/"
KEY_PATHS = {key: SYSCTL_NAMES[key].replace(".", "/") for key in KEYS}  # net/ipv4/tcp_keepalive_time
PATH_KEYS = {path: key for key, path in KEY_PATHS.items()}
_SYSTEMD_EOL = re.compile("\n\r\0|\r\n\0|\n\r|\r\n|\n\0|\r\0|\n|\r|\0")


# --------------------------------------------------------------------------------------------------
# Data model (public API used by settings and settings_info)
# --------------------------------------------------------------------------------------------------
# The dicts the models return (module results; _policy.settings_report). Under `from __future__ import
# annotations` a TypedDict body is not evaluated (typing keeps each field as a ForwardRef, Python 3.8 too),
# so `str | None` and `list[...]` are fine there, as in dataclass fields.
class Location(TypedDict):
    """Where a definition is: host path and line number."""

    file: str
    line: int


class DefinitionDict(TypedDict):
    """Definition.as_dict()."""

    key: str
    sysctl: str
    file: str
    line: int
    value: str
    int_value: int | None
    ignore_errors: bool
    wins: bool
    overridden_by: Location | None
    glob: bool
    via: str | None
    masked_by: str | None


class ConfFileDict(TypedDict):
    """ConfFile.as_dict()."""

    path: str
    masked_by: str | None
    null_mask: bool
    readable: bool
    error: str | None
    target: str | None


class UnparsableDict(TypedDict):
    file: str
    line: int
    text: str


class UnreadableDict(TypedDict):
    file: str
    error: str


class BootModelDict(TypedDict):
    """BootModel.as_dict()."""

    loader: str
    version: str | None
    files: list[ConfFileDict]
    definitions: dict[str, list[DefinitionDict]]
    boot: dict[str, int | None]
    boot_source: dict[str, DefinitionDict | None]
    unparsable: list[UnparsableDict]
    unreadable: list[UnreadableDict]


@dataclass
class Definition:
    """One assignment of one of our keys, as a loader would read it."""

    key: str
    sysctl: str
    file: str
    line: int
    value: str
    int_value: int | None
    ignore_errors: bool
    wins: bool = False
    overridden_by: tuple[str, int] | None = None
    # Extra fields (beyond the agreed API):
    glob: bool = False  # the key text is a glob that matched this key
    via: str | None = None  # path the loader opened when it differs from `file` (a symlink)
    # Set when the file is masked (the loader never reads it): the path of the masking file (a same-named
    # file in an earlier directory, or a /dev/null symlink / empty file). Such a definition never wins.
    masked_by: str | None = None

    def as_dict(self) -> DefinitionDict:
        return {
            "key": self.key,
            "sysctl": self.sysctl,
            "file": self.file,
            "line": self.line,
            "value": self.value,
            "int_value": self.int_value,
            "ignore_errors": self.ignore_errors,
            "wins": self.wins,
            "overridden_by": (
                {"file": self.overridden_by[0], "line": self.overridden_by[1]} if self.overridden_by else None
            ),
            "glob": self.glob,
            "via": self.via,
            "masked_by": self.masked_by,
        }


@dataclass
class ConfFile:
    """A candidate file: `path` as listed in its directory; `target` is the real file when a symlink."""

    path: str
    masked_by: str | None
    null_mask: bool = False
    readable: bool = True
    error: str | None = None
    target: str | None = None  # resolved host path when `path` is a symlink (e.g. /etc/sysctl.conf)

    @property
    def real(self) -> str:
        return self.target or self.path

    def as_dict(self) -> ConfFileDict:
        return {
            "path": self.path,
            "masked_by": self.masked_by,
            "null_mask": self.null_mask,
            "readable": self.readable,
            "error": self.error,
            "target": self.target,
        }


@dataclass
class BootModel:
    loader: str
    files: list[ConfFile]
    definitions: dict[str, list[Definition]]
    boot: dict[str, int | None]
    boot_source: dict[str, Definition | None]
    unparsable: list[tuple[str, int, str]]
    unreadable: list[tuple[str, str]]
    excluded: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # '-key' glob exclusions
    version: str | None = None  # the loader version modelled ("procps-ng 4.0.2", "systemd 252"), when known
    legacy: bool = False  # procps-ng <= 3.3.16 rules (/run before /etc, no globs)

    def applied_files(self) -> list[ConfFile]:
        """Files the loader actually reads, in order (masked and unreadable ones left out)."""
        return [f for f in self.files if f.masked_by is None and f.readable and not f.null_mask]

    def reads(self, path: str) -> bool:
        """True when the loader reads host file `path` (directly or through a symlink)."""
        return any(path in (f.path, f.real) for f in self.applied_files())

    def masker_of(self, path: str) -> ConfFile | None:
        for conf in self.files:
            if conf.path == path and conf.masked_by is not None:
                return next((f for f in self.files if f.path == conf.masked_by), None)
            if conf.path == path and conf.null_mask:
                return conf
        return None

    def as_dict(self) -> BootModelDict:
        return {
            "loader": self.loader,
            "version": self.version,
            "files": [f.as_dict() for f in self.files],
            "definitions": {k: [d.as_dict() for d in v] for k, v in self.definitions.items()},
            "boot": dict(self.boot),
            "boot_source": {k: (d.as_dict() if d else None) for k, d in self.boot_source.items()},
            "unparsable": [{"file": f, "line": n, "text": t} for f, n, t in self.unparsable],
            "unreadable": [{"file": f, "error": e} for f, e in self.unreadable],
        }


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def host_path(root: str, path: str) -> str:
    """Absolute path of host path `path` inside the tree at `root`."""
    return os.path.join(root or "/", path.lstrip("/"))


def _kernel_number(value: str) -> tuple[bool, int] | None:
    """(negative, magnitude) that proc_get_long() reads from `value` + "\\n" (what loaders write), or None."""
    text = value + "\n"
    size = len(text)
    index = 0
    while index < size and text[index] in KERNEL_SPACES:
        index += 1
    start = index
    if index >= size:
        return None
    negative = text[index] == "-" and size - index > 1
    if negative:
        index += 1
    if text[index] not in "0123456789":
        return None
    hexadecimal = text[index + 1 : index + 2] in ("x", "X") and _is_hex(text[index + 2 : index + 3])
    if text[index] == "0" and hexadecimal:
        base, digits, index = 16, "0123456789abcdefABCDEF", index + 2
    elif text[index] == "0":
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    end = index
    while end < size and text[end] in digits:
        end += 1
    number = int(text[index:end], base)
    if number > 2**64 - 1 or end - start > KERNEL_NUMBER_MAX_CHARS:
        return None
    if text[end] not in KERNEL_SEPARATORS:
        return None
    return negative, number


def _is_hex(char: str) -> bool:
    return bool(char) and char in "0123456789abcdefABCDEF"


def kernel_int(value: str, key: str | None = None, hz: int | None = None) -> int | None:
    """The integer the kernel stores when a loader writes `value` to sysctl `key`, or None if it refuses.

    Mirrors proc_get_long() (kernel/sysctl.c, checked on 6.18): leading kernel-isspace bytes skipped,
    optional '-', base 0 (0x.. hex, 0.. octal), at most 20 characters, then a blank, a tab or the end
    (text after that blank is ignored: ``600 # note`` stores 600; ``600#note`` and ``600\\f`` are refused).
    With `key`: ``probes`` is a u8 (0..255, no sign, so ``-0`` is refused), ``time``/``intvl`` are jiffies
    (|value| <= INT_MAX/HZ; ``-5`` is stored as -5). Without `key` only the syntax is checked.
    """
    parsed = _kernel_number(value)
    if parsed is None:
        return None
    negative, number = parsed
    if key is None:
        return -number if negative else number
    if key in U8_KEYS:
        return None if negative or number > 255 else number
    if number > INT_MAX // (hz or DEFAULT_HZ):
        return None
    return -number if negative else number


def kernel_hz(root: str = "/") -> int:
    """CONFIG_HZ of the running kernel (from /boot/config-<release>), DEFAULT_HZ (Debian's) when unknown."""
    if root not in ("", "/"):
        return DEFAULT_HZ
    try:
        with open(f"/boot/config-{os.uname().release}", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("CONFIG_HZ="):
                    return int(line.split("=", 1)[1])
    except (OSError, ValueError):
        pass
    return DEFAULT_HZ


def normalize_name(name: str) -> str:
    """Dotted form of a sysctl name; like sysctl_normalize(): if the first separator is '/', swap."""
    for char in name:
        if char == "/":
            return name.translate(str.maketrans("/.", "./"))
        if char == ".":
            break
    return name


def _swap_separators(name: str, first: str) -> str:
    """Swap '.' and '/' when the first separator of `name` is `first` (systemd and procps slashdot())."""
    for char in name:
        if char in "./":
            return name.translate(str.maketrans("/.", "./")) if char == first else name
    return name


def systemd_key(name: str) -> str:
    """The key systemd-sysctl stores for `name`: sysctl_normalize() + path_simplify(), slash form."""
    path = _swap_separators(name, ".")
    if not path:
        return path
    parts = [part for part in path.split("/") if part not in ("", ".")]
    simple = ("/" if path.startswith("/") else "") + "/".join(parts)
    if not simple:
        simple = "."
    if simple.startswith("/") and len(simple) > 1:
        simple = simple[1:]
    return simple


def procps_path(name: str) -> str:
    """The /proc/sys path procps-ng opens for key `name` (setting_new(): one more '-' dropped, slashdot())."""
    if name.startswith("-"):
        name = name[1:]
    return PROC_SYS + _swap_separators(name, ".")


def _path_key(rest: str) -> str | None:
    """Our short key for a path below /proc/sys as the kernel resolves it (repeated '/' ignored)."""
    if rest.endswith("/"):
        return None  # ENOTDIR: our sysctls are files
    stack: list[str] = []
    for part in rest.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return None
            stack.pop()
            continue
        stack.append(part)
    return PATH_KEYS.get("/".join(stack))


def is_glob(name: str) -> bool:
    return any(char in name for char in GLOB_CHARS)


def _glob_matches(pattern: str) -> list[tuple[str, str]]:
    """(key, path as glob(3) returns it) for our keys matched by glob `pattern` (relative to /proc/sys)."""
    if pattern.endswith("/"):
        return []
    parts = pattern.split("/")
    real = [part for part in parts if part]
    found = []
    for key, key_path in KEY_PATHS.items():
        names = key_path.split("/")
        if len(real) != len(names):
            continue
        if all(fnmatch.fnmatchcase(n, p) if is_glob(p) else n == p for n, p in zip(names, real)):
            substituted = iter(names)
            found.append((key, PROC_SYS + "/".join(next(substituted) if part else "" for part in parts)))
    return found


def matching_keys(name: str) -> tuple[str, ...]:
    """Short keys a (normalized) name or glob assigns; a glob matches component by component."""
    dotted = normalize_name(name)
    if not is_glob(dotted):
        return tuple(key for key in KEYS if SYSCTL_NAMES[key] == dotted)
    pattern = dotted.split(".")
    found = []
    for key in KEYS:
        parts = SYSCTL_NAMES[key].split(".")
        if len(parts) == len(pattern) and all(fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern)):
            found.append(key)
    return tuple(found)


# --------------------------------------------------------------------------------------------------
# Line parsing for editing (loader-neutral: a line is what "\n" ends, as an editor shows it)
# --------------------------------------------------------------------------------------------------
@dataclass
class ParsedLine:
    number: int
    raw: str  # without its line ending
    kind: str  # blank | comment | assignment | exclude | invalid
    name: str = ""
    value: str = ""
    ignore_errors: bool = False
    keys: tuple[str, ...] = ()
    glob: bool = False


def parse_line(number: int, raw: str) -> ParsedLine:
    text = raw.strip(BLANKS)
    if not text:
        return ParsedLine(number, raw, "blank")
    if text[0] in COMMENT_CHARS:
        return ParsedLine(number, raw, "comment")
    if "=" not in text:
        if text.startswith("-") and text[1:].strip(BLANKS):
            name = text[1:].strip(BLANKS)
            return ParsedLine(number, raw, "exclude", name=name, keys=matching_keys(name), glob=is_glob(name))
        return ParsedLine(number, raw, "invalid")
    name, value = text.split("=", 1)
    ignore_errors = name.startswith("-")
    name = (name[1:] if ignore_errors else name).strip(BLANKS)
    if not name:
        return ParsedLine(number, raw, "invalid")
    return ParsedLine(
        number,
        raw,
        "assignment",
        name=name,
        value=value.strip(BLANKS),
        ignore_errors=ignore_errors,
        keys=matching_keys(name),
        glob=is_glob(normalize_name(name)),
    )


def split_lines(text: str) -> list[str]:
    """Lines ended by "\\n" (loaders never split at \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028); endings kept."""
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def strip_eol(line: str) -> tuple[str, str]:
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith("\n"):
        return line[:-1], "\n"
    return line, ""


def parse_text(text: str) -> list[ParsedLine]:
    return [parse_line(number, strip_eol(line)[0]) for number, line in enumerate(split_lines(text), 1)]


# --------------------------------------------------------------------------------------------------
# Line parsing as each loader reads a file
# --------------------------------------------------------------------------------------------------
@dataclass
class LoaderLine:
    """One line a loader reads that may concern our keys (or that it refuses)."""

    number: int  # counted in "\n" (several systemd lines share one when a lone "\r" splits them)
    raw: str
    kind: str  # assign | exclude | invalid
    name: str = ""  # the key as the loader keeps it (after '-' and blanks)
    value: str | None = None
    ignore_errors: bool = False
    ident: str = ""  # systemd: normalized key; procps: the /proc/sys path it opens (or globs)
    glob: bool = False


def _may_concern_us(text: str) -> bool:
    return "tcp_keepalive" in text or "*" in text or "?" in text or "[" in text


def _systemd_segments(text: str) -> Iterable[tuple[int, str]]:
    """systemd read_line(): a line ends at \\n, \\r, \\r\\n, \\n\\r (or NUL)."""
    if "\r" not in text and "\0" not in text:
        yield from enumerate(text.split("\n"), 1)
        return
    number, position = 1, 0
    for match in _SYSTEMD_EOL.finditer(text):
        yield number, text[position : match.start()]
        number += match.group().count("\n")
        position = match.end()
    yield number, text[position:]


def parse_systemd(text: str) -> list[LoaderLine]:
    """The lines of `text` that systemd-sysctl 252 (parse_file()) acts on for our keys, or refuses."""
    found = []
    for number, segment in _systemd_segments(text):
        if not segment or segment[0] in COMMENT_CHARS:
            continue
        if "=" in segment and segment[0] not in "=" + SYSTEMD_BLANKS and not _may_concern_us(segment):
            continue  # fast path: an assignment of another key (most lines of a large file)
        line = segment.strip(SYSTEMD_BLANKS)
        if not line or line[0] in COMMENT_CHARS:
            continue
        if not _may_concern_us(line):
            if line[0] == "=" or ("=" not in line and line[0] != "-"):
                found.append(LoaderLine(number, segment, "invalid"))
            continue
        equals = line.find("=")
        if equals >= 0:
            key, value = line[:equals], line[equals + 1 :].strip(SYSTEMD_BLANKS)
            ignore = key.startswith("-")
            key = key[1:] if ignore else key
            kind = "assign"
        elif line[0] == "-":
            key, value, ignore, kind = line[1:], None, False, "exclude"
        else:
            found.append(LoaderLine(number, segment, "invalid"))
            continue
        name = key.strip(SYSTEMD_BLANKS)
        if not name:
            found.append(LoaderLine(number, segment, "invalid"))
            continue
        ident = systemd_key(name)
        found.append(LoaderLine(number, segment, kind, name, value, ignore, ident, is_glob(ident)))
    return found


def _c_rstrip(text: str) -> str:
    """procps rstrip(): trailing isspace() removed, but never the first character."""
    stripped = text.rstrip(C_SPACES)
    return stripped if stripped or not text else text[0]


def parse_procps(text: str, pattern: re.Pattern | None = None) -> list[LoaderLine]:
    """The lines of `text` that procps-ng 4.0.2 (parse_setting_line()) acts on for our keys, or refuses."""
    found = []
    lines = text.split("\n")
    last = len(lines)
    nul = "\0" in text
    for number, body in enumerate(lines, 1):
        if nul:
            body = body.split("\0", 1)[0]  # C strings: a NUL ends what procps sees of the line
        if not body or body[0] in COMMENT_CHARS:
            continue  # blank (or the end of the file) or a comment: len < 2 or '#'/';' first
        if "=" in body and body[0] not in "=" + C_SPACES and not _may_concern_us(body):
            continue  # fast path: an assignment of another key (most lines of a large file)
        line = body if number == last else body + "\n"  # getline() keeps the "\n"
        if len(line) < 2:
            continue
        key = line.lstrip(C_SPACES)
        if len(key) < 2 or key[0] in COMMENT_CHARS:
            continue
        if pattern is not None and not pattern.search(key):
            continue
        if not _may_concern_us(key):
            if key[0] == "=" or ("=" not in key and key[0] != "-"):
                found.append(LoaderLine(number, body, "invalid"))
            continue
        equals = key.find("=")
        if equals >= 0:
            name, value = key[:equals], key[equals + 1 :].strip(C_SPACES)
            ignore = name.startswith("-")
            name = _c_rstrip(name[1:] if ignore else name)
            kind = "assign"
        elif key[0] == "-":
            name, value, ignore, kind = _c_rstrip(key[1:]), None, False, "exclude"
        else:
            found.append(LoaderLine(number, body, "invalid"))
            continue
        if not name.strip(C_SPACES):
            found.append(LoaderLine(number, body, "invalid"))
            continue
        ident = procps_path(name)
        found.append(LoaderLine(number, body, kind, name, value, ignore, ident, is_glob(ident)))
    return found


def parse_procps_legacy(text: str, pattern: re.Pattern | None = None) -> list[LoaderLine]:
    """procps-ng <= 3.3.16 Preload() (from its source; not run here): strtok() on "=", no globs, no -key."""
    found = []
    for number, body in enumerate(text.split("\n"), 1):
        line = body.rstrip(" \t\r").lstrip(" \t")
        if len(line) < 2 or line[0] in COMMENT_CHARS:
            continue
        stripped = line.lstrip("=")
        name, _sep, rest = stripped.partition("=")
        name = name.strip(" \t")
        value = re.split("[\r\n]", rest, maxsplit=1)[0].lstrip(" \t") if _sep else ""
        if not name or not value:
            found.append(LoaderLine(number, body, "invalid"))
            continue
        if pattern is not None and not pattern.search(name):
            continue
        if not _may_concern_us(name):
            continue
        ignore = name.startswith("-")
        key = name[1:] if ignore else name
        path = PROC_SYS + _swap_separators(key, ".")
        found.append(LoaderLine(number, body, "assign", key, value, ignore, path, False))
    return found


# --------------------------------------------------------------------------------------------------
# File discovery
# --------------------------------------------------------------------------------------------------
def search_dirs(loader: str, legacy: bool = False) -> list[str]:
    """Directories the loader scans, highest priority first."""
    if loader not in LOADERS:
        raise ValueError("loader must be one of {}, got {!r}".format(", ".join(LOADERS), loader))
    return list(PROCPS_LEGACY_DIRS if legacy and loader == "procps" else SYSCTL_D_DIRS)


def resolve(root: str, path: str) -> tuple[str, str | None]:
    """Follow symlinks of the last component inside `root`: (host path, error or None)."""
    current = path
    for _hop in range(40):
        full = host_path(root, current)
        if not os.path.islink(full):
            return current, None
        try:
            target = os.readlink(full)
        except OSError as exc:
            return current, exc.strerror
        current = os.path.normpath(
            target if target.startswith("/") else os.path.join(os.path.dirname(current), target)
        )
    return current, "too many levels of symbolic links"


def parse_version(text: str | None) -> tuple[int, ...] | None:
    match = re.search(r"(\d+(?:\.\d+)*)", text or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def is_legacy_procps(version: str | None) -> bool:
    """procps-ng <= 3.3.16 (RHEL 8 family): /run/sysctl.d before /etc/sysctl.d, no globs."""
    number = parse_version(version)
    return number is not None and number <= PROCPS_LEGACY_MAX


SYSTEMD_SYSCTL_PATHS = ("/lib/systemd/systemd-sysctl", "/usr/lib/systemd/systemd-sysctl")
_VERSIONS: dict[str, str | None] = {}


def _run_version(command: list[str]) -> str:
    environment = {"LC_ALL": "C", "PATH": os.defpath}
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False, env=environment)
    return done.stdout + done.stderr


def loader_version(loader: str, root: str = "/", runner=None) -> str | None:
    """Installed loader version ("procps-ng 4.0.2", "systemd 252") from `--version`; None when unknown.

    Only on the real root (a fixture tree has no binaries). `runner(command) -> output` replaces running.
    """
    if root not in ("", "/"):
        return None
    if runner is None and loader in _VERSIONS:
        return _VERSIONS[loader]
    run = runner or _run_version
    version = None
    try:
        if loader == "procps":
            command = next((p for p in ("/usr/sbin/sysctl", "/sbin/sysctl") if os.path.exists(p)), "sysctl")
            match = re.search(r"procps(?:-ng)?\s+(?:version\s+)?(\d+(?:\.\d+)+)", run([command, "--version"]))
            version = f"procps-ng {match.group(1)}" if match else None
        elif loader == "systemd":
            binary = next((p for p in SYSTEMD_SYSCTL_PATHS if os.path.exists(p)), None)
            match = re.search(r"^systemd (\d+)", run([binary, "--version"]), re.M) if binary else None
            version = f"systemd {match.group(1)}" if match else None
    except (OSError, subprocess.SubprocessError):
        version = None
    if runner is None:
        _VERSIONS[loader] = version
    return version


def detect_loader(root: str = "/", requested: str = "auto") -> tuple[str, str]:
    """(loader, reason). `auto` picks systemd when /run/systemd/system exists (systemd is PID 1)."""
    if requested in LOADERS:
        return requested, f"loader={requested} was requested"
    if requested != "auto":
        raise ValueError(f"loader must be one of auto, systemd, procps, got {requested!r}")
    marker = host_path(root, "/run/systemd/system")
    if os.path.isdir(marker):
        return (
            "systemd",
            "/run/systemd/system exists (systemd is PID 1): systemd-sysctl applies sysctl.d at boot",
        )
    return "procps", (
        "/run/systemd/system does not exist (systemd is not PID 1): assuming procps `sysctl --system` "
        "applies sysctl.d and then /etc/sysctl.conf at boot"
    )


Overrides = Dict[str, Optional[str]]  # typing.Dict: evaluated at import, Python 3.8


def _entry(root: str, path: str, overrides: Overrides) -> ConfFile | None:
    """A ConfFile for a directory entry (None: a planned removal). Every entry masks later same names."""
    if path in overrides:
        return ConfFile(path=path, masked_by=None) if overrides[path] is not None else None
    real, error = resolve(root, path)
    target = real if real != path else None
    if error:
        return ConfFile(path=path, masked_by=None, readable=False, error=error, target=target)
    if real == "/dev/null":
        return ConfFile(path=path, masked_by=None, null_mask=True, target=target)
    full = host_path(root, real)
    try:
        info = os.stat(full)
    except OSError as exc:
        return ConfFile(
            path=path, masked_by=None, readable=False, error=f"{exc.strerror}: {real}", target=target
        )
    if stat.S_ISDIR(info.st_mode):
        error = f"Is a directory: {real}"
        return ConfFile(path=path, masked_by=None, readable=False, error=error, target=target)
    if stat.S_ISCHR(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_size == 0):
        return ConfFile(path=path, masked_by=None, null_mask=True, target=target)
    if not stat.S_ISREG(info.st_mode):
        return ConfFile(
            path=path, masked_by=None, readable=False, error=f"not a regular file: {real}", target=target
        )
    return ConfFile(path=path, masked_by=None, target=target)


def _listed(loader: str, name: str) -> bool:
    """systemd skips hidden names (conf-files.c); procps takes any name of 5+ characters ending in .conf."""
    if loader == "systemd":
        return name.endswith(".conf") and not name.startswith(".")
    return len(name) >= 5 and name.endswith(".conf")


def list_files(
    root: str = "/", loader: str = "procps", overrides: Overrides | None = None, legacy: bool = False
) -> list[ConfFile]:
    """Every candidate file in application order, masked ones right after the file masking them."""
    overrides = overrides or {}
    by_name: dict[str, list[ConfFile]] = {}
    seen_dirs: list[str] = []
    for directory in search_dirs(loader, legacy):
        full_dir = host_path(root, directory)
        names = set()
        if os.path.isdir(full_dir):
            real_dir = os.path.realpath(full_dir)
            if real_dir in seen_dirs:  # /lib -> usr/lib on merged-usr systems
                continue
            seen_dirs.append(real_dir)
            try:
                names.update(os.listdir(full_dir))
            except OSError:
                names = set()
        names.update(os.path.basename(p) for p in overrides if os.path.dirname(p) == directory)
        for name in sorted(names):
            if not _listed(loader, name):
                continue
            conf = _entry(root, directory + "/" + name, overrides)
            if conf is not None:
                by_name.setdefault(name, []).append(conf)
    ordered: list[ConfFile] = []
    for name in sorted(by_name):
        winner, *later = by_name[name]  # the first directory wins, whatever the entry is
        for conf in later:
            conf.masked_by = winner.path
            conf.null_mask = winner.null_mask
        ordered.append(winner)
        ordered.extend(later)
    if loader == "procps":
        conf = _sysctl_conf_entry(root, overrides)
        if conf is not None:
            ordered.append(conf)
    return ordered


def _sysctl_conf_entry(root: str, overrides: Overrides) -> ConfFile | None:
    """procps reads /etc/sysctl.conf last when stat() says it is a regular file."""
    if SYSCTL_CONF in overrides:
        return ConfFile(path=SYSCTL_CONF, masked_by=None) if overrides[SYSCTL_CONF] is not None else None
    real, _error = resolve(root, SYSCTL_CONF)
    if os.path.isfile(host_path(root, real)):
        return ConfFile(path=SYSCTL_CONF, masked_by=None, target=real if real != SYSCTL_CONF else None)
    return None


def read_text(full_path: str) -> str:
    with open(full_path, "rb") as handle:
        return handle.read().decode("utf-8", errors="surrogateescape")


def load_text(root: str, path: str, overrides: Overrides | None = None) -> str | None:
    """Content of host file `path` (None when absent); `overrides` win over the disk."""
    if overrides and path in overrides:
        return overrides[path]
    full = host_path(root, path)
    if not os.path.lexists(full):
        return None
    return read_text(full)


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------
ParseCache = Dict[Tuple[str, str, str], Tuple[str, List[LoaderLine]]]


class ModelContext(TypedDict, total=False):
    """Keyword arguments of boot_model() that plan_persist() shares between the models it builds."""

    version: str | None
    hz: int
    cache: ParseCache


@dataclass
class _Read:
    """A line as read from one file (a file read twice gives two _Read of the same LoaderLine)."""

    line: LoaderLine
    file: str
    via: str | None
    definitions: dict[str, Definition] = field(default_factory=dict)


def _parse(variant: str, path: str, text: str, pattern: re.Pattern | None, cache: ParseCache | None):
    slot = (variant, path, pattern.pattern if pattern is not None else "")
    if cache is not None and slot in cache and cache[slot][0] == text:
        return cache[slot][1]
    if variant == "systemd":
        lines = parse_systemd(text)
    elif variant == "legacy":
        lines = parse_procps_legacy(text, pattern)
    else:
        lines = parse_procps(text, pattern)
    if cache is not None:
        cache[slot] = (text, lines)
    return lines


def _keys_of(variant: str, line: LoaderLine) -> list[str]:
    """Our keys an assignment line writes (before exclusions and explicit entries are considered)."""
    if variant == "systemd":
        if line.glob:
            return [key for key, _path in _glob_matches(line.ident)]
        key = PATH_KEYS.get(line.ident)
        return [key] if key else []
    if line.glob:
        if variant == "legacy":
            return []  # procps-ng <= 3.3.16 has no globs: it stats the literal path and fails
        return [key for key, _path in _glob_matches(line.ident[len(PROC_SYS) :])]
    key = _path_key(line.ident[len(PROC_SYS) :])
    return [key] if key else []


def boot_model(
    root: str = "/",
    loader: str = "procps",
    overrides: Overrides | None = None,
    *,
    version: str | None = None,
    pattern: str | None = None,
    hz: int | None = None,
    cache: ParseCache | None = None,
) -> BootModel:
    """What the loader would apply at boot, with every definition of our keys and why it wins or loses.

    `overrides` maps host paths to planned content (None = file removed), to model a planned edit.
    Assignments in masked files are listed too, in file order, with `masked_by` set: the loader never
    reads them, so they never win, override nothing and take no part in choosing the boot value.
    `version` is the loader version (default: `--version` of the installed loader on the real root;
    procps-ng <= 3.3.16 selects the legacy rules); `pattern` models ``sysctl --pattern`` (procps);
    `hz` the kernel's CONFIG_HZ (limits time/intvl); `cache` shares parsed files between calls.
    """
    overrides = overrides or {}
    if version is None:
        version = loader_version(loader, root)
    legacy = loader == "procps" and is_legacy_procps(version)
    variant = "legacy" if legacy else loader
    compiled = re.compile(pattern) if pattern else None
    hz = hz or kernel_hz(root)
    files = list_files(root, loader, overrides, legacy)
    definitions: dict[str, list[Definition]] = {key: [] for key in KEYS}
    excluded: dict[str, list[tuple[str, int]]] = {key: [] for key in KEYS}
    unparsable: list[tuple[str, int, str]] = []
    unreadable: list[tuple[str, str]] = []
    reads: list[_Read] = []
    for conf in files:
        if conf.masked_by is not None:
            _collect_masked(root, conf, overrides, definitions, variant, compiled, hz, cache)
            continue
        if conf.null_mask:
            continue
        if not conf.readable:
            unreadable.append((conf.path, conf.error or "unreadable"))
            continue
        real = conf.real
        try:
            text = overrides[real] if real in overrides else read_text(host_path(root, real))
        except OSError as exc:
            conf.readable = False
            conf.error = f"{exc.strerror or exc.__class__.__name__}: {real}"
            unreadable.append((conf.path, conf.error))
            continue
        via = conf.path if conf.target else None
        for line in _parse(variant, real, text or "", compiled, cache):
            if line.kind == "invalid":
                entry = (real, line.number, line.raw.strip(BLANKS))
                if entry not in unparsable:  # procps may read /etc/sysctl.conf twice
                    unparsable.append(entry)
                continue
            read = _Read(line, real, via)
            if line.kind == "assign":
                for key in _keys_of(variant, line):
                    definition = _definition(key, line, real, via, hz)
                    read.definitions[key] = definition
                    definitions[key].append(definition)
            reads.append(read)
    if variant == "systemd":
        boot, boot_source = _apply_systemd(reads, excluded, hz)
    else:
        boot, boot_source = _apply_procps(reads, excluded, hz)
    _mark_overridden(definitions, boot_source)
    model = BootModel(loader, files, definitions, boot, boot_source, unparsable, unreadable, excluded)
    model.version = version
    model.legacy = legacy
    return model


def _write(key: str, read: _Read, current: dict, source: dict) -> None:
    definition = read.definitions.get(key)
    if definition is not None and definition.int_value is not None:
        current[key] = definition.int_value
        source[key] = definition


def _apply_systemd(reads: list[_Read], excluded: dict, hz: int) -> tuple[dict, dict]:
    """systemd-sysctl 252: one entry per key (a different value replaces it and moves it last)."""
    options: dict[str, _Read] = {}
    for read in reads:
        existing = options.get(read.line.ident)
        if existing is not None:
            if existing.line.value == read.line.value:
                continue
            del options[read.line.ident]
        options[read.line.ident] = read
    current: dict[str, int | None] = {key: None for key in KEYS}
    source: dict[str, Definition | None] = {key: None for key in KEYS}
    for ident, read in options.items():
        if read.line.value is None:
            key = PATH_KEYS.get(ident)
            if key:
                excluded[key].append((read.file, read.line.number))
            continue
        if read.line.glob:
            for key, _path in _glob_matches(ident):
                if KEY_PATHS[key] not in options:  # "explicit setting exists"
                    _write(key, read, current, source)
        else:
            key = PATH_KEYS.get(ident)
            if key:
                _write(key, read, current, source)
    return current, source


def _apply_procps(reads: list[_Read], excluded: dict, hz: int) -> tuple[dict, dict]:
    """procps-ng 4.0.2 write_setting_list(): every line in order; a glob skips each path that a line names.

    The skip compares paths as strings (settinglist_findpath() strcmp), so ``-key`` excludes only the
    exact path it names: a ``-key`` glob excludes nothing in 4.0.2 (later versions also fnmatch it).
    """
    paths = {read.line.ident for read in reads}
    for read in reads:
        if read.line.kind == "exclude":
            key = PATH_KEYS.get(read.line.ident[len(PROC_SYS) :])
            if key:
                excluded[key].append((read.file, read.line.number))
    current: dict[str, int | None] = {key: None for key in KEYS}
    source: dict[str, Definition | None] = {key: None for key in KEYS}
    for read in reads:
        if read.line.kind != "assign":
            continue
        if read.line.glob:
            for key, path in _glob_matches(read.line.ident[len(PROC_SYS) :]):
                if path in paths:
                    continue
                _write(key, read, current, source)
        else:
            for key in read.definitions:
                _write(key, read, current, source)
    return current, source


def _mark_overridden(definitions: dict[str, list[Definition]], source: dict[str, Definition | None]) -> None:
    for key, winner in source.items():
        if winner is None:
            continue
        winner.wins = True
        for definition in definitions[key]:
            if definition is winner or definition.masked_by is not None or definition.int_value is None:
                continue
            if definition.file == winner.file and definition.line == winner.line:
                continue  # the same line read twice (procps: 99-sysctl.conf symlink, then sysctl.conf)
            definition.overridden_by = (winner.file, winner.line)


def _collect_masked(
    root: str,
    conf: ConfFile,
    overrides: Overrides,
    definitions: dict[str, list[Definition]],
    variant: str,
    pattern: re.Pattern | None,
    hz: int,
    cache: ParseCache | None,
) -> None:
    """Assignments of a masked file, each with `masked_by` set (the file itself may be absent or empty)."""
    if not conf.readable:
        return
    real = conf.real
    if real in overrides:
        text = overrides[real]
    else:
        if real == "/dev/null":
            return
        try:
            text = read_text(host_path(root, real))
        except OSError:
            return  # the loader never opens it: nothing to report
    via = conf.path if conf.target else None
    for line in _parse(variant, real, text or "", pattern, cache):
        if line.kind != "assign":
            continue
        for key in _keys_of(variant, line):
            definitions[key].append(_definition(key, line, real, via, hz, masked_by=conf.masked_by))


def _definition(
    key: str, line: LoaderLine, path: str, via: str | None, hz: int, masked_by: str | None = None
) -> Definition:
    return Definition(
        key=key,
        sysctl=line.name,
        file=path,
        line=line.number,
        value=line.value or "",
        int_value=kernel_int(line.value or "", key, hz),
        ignore_errors=line.ignore_errors,
        glob=line.glob,
        via=via,
        masked_by=masked_by,
    )
