# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sysctl.d precedence model (systemd-sysctl and procps ``sysctl --system``) and drop-in file editing.

Private module_utils: standard library only, no AnsibleModule. Every path argument is a *host* path
("/etc/sysctl.d/x.conf"); it is read under ``root`` (default "/") so tests feed fixture trees.

Loader facts this model follows (checked against the sources and on this machine):

* systemd-sysctl (src/sysctl/sysctl.c + conf-files.c, systemd >= 246): directories /etc/sysctl.d,
  /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d (and /lib/sysctl.d on split-usr). Only
  ``*.conf``. A file in an earlier directory masks every same-named file in later ones; a mask is a
  symlink to /dev/null, a character device or an empty file (``null_or_empty()``). Files are applied in
  basename order; a later assignment of a key replaces an earlier one. /etc/sysctl.conf is read only
  through the /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf symlink distributions ship.
* procps-ng ``sysctl --system`` (src/sysctl.c PreloadSystem, procps >= 3.3.17): the same directories in
  the same order, first same-named file wins, sorted by basename, then /etc/sysctl.conf LAST when it is
  a regular file. So with the 99-sysctl.conf symlink, /etc/sysctl.conf is read twice (once in sort
  order, once last). NOTE: procps <= 3.3.16 listed /run/sysctl.d before /etc/sysctl.d; this model
  follows the modern order.
* Both: ``#`` or ``;`` start a comment only as the first non-blank character; an inline ``#`` is part of
  the value; ``-key = value`` ignores write errors; ``-key`` alone excludes the key from globs; keys may
  use ``/`` instead of ``.``; a glob key (``net.ipv4.tcp_keepalive_*``) applies only to keys that have no
  explicit assignment anywhere (explicit beats glob whatever the order).
* The kernel parses these values with proc_get_long(): base 0 (``0600`` is octal 384, ``0x10`` is 16),
  optional ``-``, and anything after the number must start with a blank (``600 # note`` sets 600,
  ``600#note`` is rejected). See kernel/sysctl.c. ``kernel_int()`` implements exactly that.
  systemd-sysctl keeps only the last assignment, so an invalid last value leaves the kernel default;
  procps writes every assignment in order, so the last *valid* one stays.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Dict, Optional

from ansible_collections.tcp.keepalive.plugins.module_utils._common import KEYS, SYSCTL_NAMES

LOADERS = ("systemd", "procps")
SYSCTL_D_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
# procps-ng <= 3.3.16 read /run/sysctl.d before /etc/sysctl.d (documentation only; not modelled).
PROCPS_LEGACY_DIRS = (
    "/run/sysctl.d",
    "/etc/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"
DEFAULT_FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
MANAGED_HEADER = "# Managed by tcp.keepalive.settings (Ansible): TCP keepalive sysctls."
DISABLED_MARKER = "# tcp.keepalive disabled the next line: "
COMMENT_CHARS = "#;"
GLOB_CHARS = "*?["
BLANKS = " \t\r\n\f\v"
# Directories a module may edit when commenting out conflicting lines (vendor dirs and /run are not).
EDITABLE_PREFIX = "/etc/"


# --------------------------------------------------------------------------------------------------
# Data model (public API used by settings and settings_info)
# --------------------------------------------------------------------------------------------------
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

    def as_dict(self) -> dict:
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

    def as_dict(self) -> dict:
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

    def as_dict(self) -> dict:
        return {
            "loader": self.loader,
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


def kernel_int(value: str) -> int | None:
    """The integer the kernel stores for `value` written to an int sysctl, or None if it rejects it.

    Mirrors proc_get_long() (kernel/sysctl.c): leading blanks skipped, optional '-', base 0 (0x.. hex,
    0.. octal), the number must be followed by the end or a blank; anything after a blank is ignored.
    """
    text = value.lstrip(BLANKS)
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    if not text[:1].isdigit():
        return None
    end = 0
    while end < len(text) and text[end] not in BLANKS:
        end += 1
    token = text[:end]
    try:
        if token[:2].lower() == "0x":
            number = int(token[2:], 16)
        elif token.startswith("0") and len(token) > 1:
            number = int(token[1:], 8)
        else:
            number = int(token, 10)
    except ValueError:
        return None
    return -number if negative else number


def normalize_name(name: str) -> str:
    """Dotted form of a sysctl name; like sysctl_normalize(): if the first separator is '/', swap."""
    for char in name:
        if char == "/":
            return name.translate(str.maketrans("/.", "./"))
        if char == ".":
            break
    return name


def is_glob(name: str) -> bool:
    return any(char in name for char in GLOB_CHARS)


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
# Line parsing
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
    """Lines with their endings kept, so joining them gives back `text` exactly."""
    return text.splitlines(keepends=True)


def strip_eol(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def parse_text(text: str) -> list[ParsedLine]:
    return [parse_line(number, strip_eol(line)[0]) for number, line in enumerate(split_lines(text), 1)]


# --------------------------------------------------------------------------------------------------
# File discovery
# --------------------------------------------------------------------------------------------------
def search_dirs(loader: str) -> list[str]:
    """Directories the loader scans, highest priority first."""
    if loader not in LOADERS:
        raise ValueError("loader must be one of {}, got {!r}".format(", ".join(LOADERS), loader))
    return list(SYSCTL_D_DIRS)


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
    """A ConfFile for a directory entry, or None when the loader ignores it (a directory)."""
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
    if stat.S_ISCHR(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_size == 0):
        return ConfFile(path=path, masked_by=None, null_mask=True, target=target)
    if not stat.S_ISREG(info.st_mode):
        return None
    return ConfFile(path=path, masked_by=None, target=target)


def list_files(root: str = "/", loader: str = "procps", overrides: Overrides | None = None) -> list[ConfFile]:
    """Every candidate file in application order, masked ones right after the file masking them."""
    overrides = overrides or {}
    by_name: dict[str, list[ConfFile]] = {}
    seen_dirs: list[str] = []
    for directory in search_dirs(loader):
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
            if not name.endswith(".conf"):
                continue
            conf = _entry(root, directory + "/" + name, overrides)
            if conf is not None:
                by_name.setdefault(name, []).append(conf)
    ordered: list[ConfFile] = []
    for name in sorted(by_name):
        group = by_name[name]
        # A dangling/unreadable symlink does not mask (systemd skips entries it cannot stat).
        winner = next((c for c in group if c.readable), None)
        after_winner = False
        for conf in group:
            if conf is winner:
                after_winner = True
            elif after_winner and winner is not None:
                conf.masked_by = winner.path
                conf.null_mask = winner.null_mask
        ordered.extend(group)
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
def boot_model(root: str = "/", loader: str = "procps", overrides: Overrides | None = None) -> BootModel:
    """What the loader would apply at boot, with every definition of our keys and why it wins or loses.

    `overrides` maps host paths to planned content (None = file removed), to model a planned edit.
    Assignments in masked files are listed too, in file order, with `masked_by` set: the loader never
    reads them, so they never win, override nothing and take no part in choosing the boot value (their
    unparsable lines and '-key' exclusions are ignored, and an unreadable masked file is not reported).
    """
    overrides = overrides or {}
    files = list_files(root, loader, overrides)
    definitions: dict[str, list[Definition]] = {key: [] for key in KEYS}
    excluded: dict[str, list[tuple[str, int]]] = {key: [] for key in KEYS}
    unparsable: list[tuple[str, int, str]] = []
    unreadable: list[tuple[str, str]] = []
    for conf in files:
        if conf.masked_by is not None:
            _collect_masked(root, conf, overrides, definitions)
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
        for parsed in parse_text(text or ""):
            _collect(parsed, real, via, definitions, excluded, unparsable)
    boot, boot_source = _resolve_winners(loader, definitions, excluded)
    return BootModel(loader, files, definitions, boot, boot_source, unparsable, unreadable, excluded)


def _collect_masked(
    root: str, conf: ConfFile, overrides: Overrides, definitions: dict[str, list[Definition]]
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
    for parsed in parse_text(text or ""):
        if parsed.kind != "assignment":
            continue
        for key in parsed.keys:
            definitions[key].append(_definition(key, parsed, real, via, masked_by=conf.masked_by))


def _definition(
    key: str, parsed: ParsedLine, path: str, via: str | None, masked_by: str | None = None
) -> Definition:
    return Definition(
        key=key,
        sysctl=parsed.name,
        file=path,
        line=parsed.number,
        value=parsed.value,
        int_value=kernel_int(parsed.value),
        ignore_errors=parsed.ignore_errors,
        glob=parsed.glob,
        via=via,
        masked_by=masked_by,
    )


def _collect(
    parsed: ParsedLine,
    path: str,
    via: str | None,
    definitions: dict[str, list[Definition]],
    excluded: dict[str, list[tuple[str, int]]],
    unparsable: list[tuple[str, int, str]],
) -> None:
    if parsed.kind == "invalid":
        entry = (path, parsed.number, parsed.raw.strip(BLANKS))
        if entry not in unparsable:  # procps may read /etc/sysctl.conf twice
            unparsable.append(entry)
    elif parsed.kind == "exclude":
        for key in parsed.keys:
            excluded[key].append((path, parsed.number))
    elif parsed.kind == "assignment":
        for key in parsed.keys:
            definitions[key].append(_definition(key, parsed, path, via))


def _resolve_winners(
    loader: str, definitions: dict[str, list[Definition]], excluded: dict[str, list[tuple[str, int]]]
) -> tuple[dict[str, int | None], dict[str, Definition | None]]:
    boot: dict[str, int | None] = {}
    boot_source: dict[str, Definition | None] = {}
    for key in KEYS:
        defs = [d for d in definitions[key] if d.masked_by is None]  # masked files are never read
        explicit = [d for d in defs if not d.glob]
        if explicit:
            candidates = explicit
        elif excluded.get(key):
            candidates = []
        else:
            candidates = defs
        winner: Definition | None = None
        if loader == "systemd":
            # systemd keeps only the last assignment; an invalid value then fails to apply.
            if candidates and candidates[-1].int_value is not None:
                winner = candidates[-1]
        else:
            # procps writes every assignment in order: the last valid one stays.
            valid = [d for d in candidates if d.int_value is not None]
            winner = valid[-1] if valid else None
        if winner is not None:
            winner.wins = True
            cut = defs.index(winner)
            for index, definition in enumerate(defs):
                if definition is not winner and (index < cut or (definition.glob and not winner.glob)):
                    definition.overridden_by = (winner.file, winner.line)
        boot[key] = winner.int_value if winner else None
        boot_source[key] = winner
    return boot, boot_source


# --------------------------------------------------------------------------------------------------
# Editing helpers: plan new file text, never dropping a line that is not ours
# --------------------------------------------------------------------------------------------------
def render_assignment(key: str, value: int) -> str:
    return f"{SYSCTL_NAMES[key]} = {value:d}"


def _eol_of(lines: list[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def _replace_value(raw: str, value: int) -> str:
    """Set the number of an assignment line, keeping key form, '-' prefix, spacing and trailing text.

    Text after the number that the kernel ignores (it follows a blank, e.g. an inline ``# note``) stays.
    """
    head, _sep, tail = raw.partition("=")
    stripped = tail.lstrip(BLANKS)
    lead = tail[: len(tail) - len(stripped)]
    token_end = 0
    while token_end < len(stripped) and stripped[token_end] not in BLANKS:
        token_end += 1
    return f"{head}={lead}{value:d}{stripped[token_end:]}"


def disabled_lines(raw: str, reason: str, eol: str) -> str:
    """Comment out `raw`, with a marker line above saying tcp.keepalive disabled it and why."""
    return f"{DISABLED_MARKER}{reason}{eol}# {raw}{eol}"


def plan_set(text: str | None, values: dict[str, int]) -> str:
    """New content of a file that must define each key in `values` exactly once, live.

    * The first explicit assignment of a key (dot or slash form, any spacing, '-' prefix kept) gets the
      new number in place; it is left untouched when the kernel already reads that number from it.
    * Later explicit assignments of the same key in this file are commented out with a marker line
      (never deleted), so the file never holds two live definitions of one key.
    * Keys not defined yet are appended in time/intvl/probes order; a new file starts with a header.
    * Globs, '-key' exclusions, other keys, comments, blank lines and order are kept as they are.
    """
    lines = split_lines(text or "")
    eol = _eol_of(lines)
    seen: dict[str, bool] = {}
    result: list[str] = []
    for number, line in enumerate(lines, 1):
        raw, ending = strip_eol(line)
        parsed = parse_line(number, raw)
        key = _explicit_key(parsed)
        if key is None or key not in values:
            result.append(line)
        elif key in seen:
            result.append(
                disabled_lines(raw, f"duplicate of an earlier {SYSCTL_NAMES[key]} line in this file", eol)
            )
        else:
            seen[key] = True
            same = kernel_int(parsed.value) == values[key]
            result.append(line if same else _replace_value(raw, values[key]) + ending)
    missing = [key for key in KEYS if key in values and key not in seen]
    if missing:
        if not lines:
            result.append(MANAGED_HEADER + eol)
        elif not result[-1].endswith(("\n", "\r")):
            result[-1] += eol
        result.extend(render_assignment(key, values[key]) + eol for key in missing)
    return "".join(result)


def plan_remove(text: str | None, keys: Iterable[str]) -> str | None:
    """Content without the explicit assignments of `keys`; None when only our header/blank lines remain."""
    if text is None:
        return None
    wanted = set(keys)
    kept = []
    for number, line in enumerate(split_lines(text), 1):
        parsed = parse_line(number, strip_eol(line)[0])
        if _explicit_key(parsed) in wanted:
            continue
        kept.append(line)
    leftover = [strip_eol(line)[0].strip(BLANKS) for line in kept]
    if all(not line or line == MANAGED_HEADER for line in leftover):
        return None
    return "".join(kept)


def comment_out(text: str, line_numbers: Iterable[int], reason: str) -> str:
    """Comment out the given 1-based lines (assignments only), each with a tcp.keepalive marker above."""
    wanted = set(line_numbers)
    lines = split_lines(text)
    eol = _eol_of(lines)
    result = []
    for number, line in enumerate(lines, 1):
        raw, ending = strip_eol(line)
        if number in wanted and parse_line(number, raw).kind == "assignment":
            result.append(disabled_lines(raw, reason, ending or eol))
        else:
            result.append(line)
    return "".join(result)


def _explicit_key(parsed: ParsedLine) -> str | None:
    if parsed.kind == "assignment" and not parsed.glob and len(parsed.keys) == 1:
        return parsed.keys[0]
    return None


def editable(path: str) -> bool:
    """Files a module may edit to comment out conflicts: under /etc only (not vendor dirs, not /run)."""
    return os.path.normpath(path).startswith(EDITABLE_PREFIX)


# --------------------------------------------------------------------------------------------------
# Persist planning: what `tcp.keepalive.settings` writes, and what would still win at boot
# --------------------------------------------------------------------------------------------------
ON_CONFLICT = ("fail", "warn", "comment_out")
MAX_COMMENT_ROUNDS = 20


@dataclass
class Conflict:
    """A definition that would win over `file` at boot (or a file masking it)."""

    key: str
    file: str
    line: int | None
    value: str | None
    action: str  # failed | warned | commented_out | not_editable | not_changed
    reason: str = ""

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "file": self.file,
            "line": self.line,
            "value": self.value,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class PersistPlan:
    loader: str
    loader_reason: str
    file: str  # as requested
    target: str  # the file actually edited (symlinks resolved inside root)
    edits: dict[str, tuple[str | None, str | None]]  # host path -> (before, after); None = absent
    boot_before: dict[str, int | None]
    boot_after: dict[str, int | None]
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # set when the module must fail and change nothing


def _where(definition: Definition) -> str:
    via = f" (read through {definition.via})" if definition.via else ""
    return f"{definition.file} line {definition.line}{via}"


def plan_persist(
    root: str,
    requested_loader: str,
    file: str,
    values: dict[str, int],
    state: str = "present",
    on_conflict: str = "fail",
    keys: Iterable[str] | None = None,
) -> PersistPlan:
    """Plan the edit of `file` and every comment-out, and the boot values that result.

    `values` are the wanted numbers (state=present); `keys` the keys to remove (state=absent, default
    all three). Nothing is written: the caller applies `edits` when `error` is None.
    """
    loader, reason = detect_loader(root, requested_loader)
    model_before = boot_model(root, loader)
    plan = PersistPlan(loader, reason, file, file, {}, dict(model_before.boot), dict(model_before.boot))
    target, error = resolve(root, file)
    plan.target = target
    if error or target == "/dev/null":
        plan.error = f"file {file} cannot be edited: " + (error or "it is a symlink to /dev/null (a mask)")
        return plan
    if os.path.isdir(host_path(root, target)):
        plan.error = f"file {file} is a directory; give the path of a *.conf file"
        return plan
    before = load_text(root, target)
    if state == "absent":
        after = plan_remove(before, keys if keys is not None else KEYS)
    else:
        after = plan_set(before, values)
    overrides: Overrides = {target: after}
    if state == "present":
        _check_conflicts(plan, root, loader, overrides, values, on_conflict)
    model_after = boot_model(root, loader, overrides)
    plan.boot_after = dict(model_after.boot)
    for path, text in overrides.items():
        old = before if path == target else load_text(root, path)
        if old != text:
            plan.edits[path] = (old, text)
    return plan


def _check_conflicts(
    plan: PersistPlan,
    root: str,
    loader: str,
    overrides: Overrides,
    values: dict[str, int],
    on_conflict: str,
) -> None:
    for _round in range(MAX_COMMENT_ROUNDS):
        model = boot_model(root, loader, overrides)
        if not model.reads(plan.target):
            _not_read(plan, model, values, on_conflict)
            return
        winners = [
            model.boot_source[key]
            for key in KEYS
            if key in values and model.boot[key] != values[key] and model.boot_source[key] is not None
        ]
        winners = [d for d in winners if d is not None and d.file != plan.target]
        if not winners:
            return
        if on_conflict != "comment_out":
            _report(plan, winners, loader, on_conflict)
            return
        stuck = [d for d in winners if not editable(d.file)]
        if stuck:
            _report(plan, stuck, loader, "not_editable")
            return
        for definition in winners:
            text = load_text(root, definition.file, overrides) or ""
            why = f"{definition.sysctl} is managed in {plan.target}"
            overrides[definition.file] = comment_out(text, [definition.line], why)
            plan.conflicts.append(
                Conflict(
                    definition.key, definition.file, definition.line, definition.value, "commented_out", why
                )
            )
    plan.error = "conflicting definitions kept appearing after commenting out; nothing changed"


def _report(plan: PersistPlan, winners: list[Definition], loader: str, mode: str) -> None:
    lines = []
    for definition in winners:
        text = (
            f"{SYSCTL_NAMES[definition.key]} = {definition.value} in {_where(definition)} is read after "
            f"{plan.target} and would win at boot (loader {loader})"
        )
        lines.append(text)
        action = {"fail": "failed", "warn": "warned", "not_editable": "not_editable"}[mode]
        plan.conflicts.append(
            Conflict(definition.key, definition.file, definition.line, definition.value, action, text)
        )
    if mode == "warn":
        plan.warnings.extend(lines)
    elif mode == "fail":
        plan.error = (
            "; ".join(lines)
            + ". Nothing was changed: remove or fix those lines, or use on_conflict=comment_out "
            "(files under /etc only) or on_conflict=warn"
        )
    else:
        for conflict in plan.conflicts:  # found in an earlier round; nothing will be written now
            if conflict.action == "commented_out":
                conflict.action = "not_changed"
        plan.error = (
            "; ".join(lines)
            + ". on_conflict=comment_out only edits files under /etc, not vendor directories "
            "or /run: override that file with a same-named copy in /etc/sysctl.d, or rename "
            f"{plan.file} so that it sorts after it. Nothing was changed"
        )


def _not_read(plan: PersistPlan, model: BootModel, values: dict[str, int], on_conflict: str) -> None:
    masker = model.masker_of(plan.file) or model.masker_of(plan.target)
    if masker is None:
        plan.warnings.append(
            f"{plan.file} is not read at boot by {model.loader} (it must be a *.conf file in one of "
            f"{', '.join(search_dirs(model.loader))}"
            + (" or /etc/sysctl.conf" if model.loader == "procps" else "")
            + "): the values are persisted there but will not be applied at boot"
        )
        return
    what = "a symlink to /dev/null" if masker.null_mask else "a same-named file in an earlier directory"
    text = f"{plan.file} is masked by {masker.path} ({what}), so {model.loader} never reads it at boot"
    for key in KEYS:
        if key in values:
            action = (
                "warned"
                if on_conflict == "warn"
                else ("not_editable" if on_conflict == "comment_out" else "failed")
            )
            plan.conflicts.append(Conflict(key, masker.path, None, None, action, text))
    if on_conflict == "warn":
        plan.warnings.append(text)
    else:
        plan.error = (
            text + ". Nothing was changed: write to the masking file instead (option file) or remove the mask"
        )
