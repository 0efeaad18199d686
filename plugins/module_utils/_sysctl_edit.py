# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sysctl.d drop-in file editing (the settings module): plan new file text, never dropping a line that
is not ours, and the persistence plan checked against the boot model of _sysctl_conf.

Private module_utils: standard library only, no AnsibleModule. Kept apart from the model, which every
info module imports: a module compiles each module_utils file it imports on every run (AnsiballZ ships
source), and only tcp.keepalive.settings edits files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypedDict

from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    KEYS,
    SYSCTL_NAMES,
    dataclass,
    field,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import (
    BLANKS,
    BootModel,
    Definition,
    ModelContext,
    Overrides,
    ParseCache,
    ParsedLine,
    boot_model,
    detect_loader,
    host_path,
    kernel_hz,
    kernel_int,
    load_text,
    loader_version,
    parse_line,
    resolve,
    search_dirs,
    split_lines,
    strip_eol,
)

DEFAULT_FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
MANAGED_HEADER = "# Managed by tcp.keepalive.settings (Ansible): TCP keepalive sysctls."
DISABLED_MARKER = "# tcp.keepalive disabled the next line: "
# Directories a module may edit when commenting out conflicting lines (vendor dirs and /run are not).
EDITABLE_PREFIX = "/etc/"


class ConflictDict(TypedDict):
    """Conflict.as_dict() (the settings module's `conflicts`)."""

    key: str
    file: str
    line: int | None
    value: str | None
    action: str
    reason: str


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
        if "tcp_keepalive" not in line:  # cannot name one of our keys explicitly: kept as it is
            result.append(line)
            continue
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
        if "tcp_keepalive" in line and _explicit_key(parse_line(number, strip_eol(line)[0])) in wanted:
            continue
        kept.append(line)
    for line in kept:
        body = strip_eol(line)[0].strip(BLANKS)
        if body and body != MANAGED_HEADER:
            return "".join(kept)
    return None


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
    """Files a module may edit: under /etc only (not vendor dirs, not /run).

    A package upgrade overwrites files under /usr and /lib, and /run is gone at the next boot. The rule
    holds for the file `settings` writes through a symlink too (checked on the resolved path).
    """
    return os.path.normpath(path).startswith(EDITABLE_PREFIX)


def not_editable_reason(path: str) -> str:
    """Why `path` (a resolved host path outside /etc) must not be edited."""
    if os.path.normpath(path).startswith("/run/"):
        return f"{path} is under /run, which is empty again at the next boot"
    return f"{path} is a vendor file outside /etc: the next upgrade of the package shipping it overwrites it"


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

    def as_dict(self) -> ConflictDict:
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
    loader_version: str | None = None  # "procps-ng 4.0.2", "systemd 252" (None when unknown)


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
    cache: ParseCache = {}  # every file is parsed once per distinct content across the models below
    context: ModelContext = {"version": loader_version(loader, root), "hz": kernel_hz(root), "cache": cache}
    model_before = boot_model(root, loader, **context)
    plan = PersistPlan(loader, reason, file, file, {}, dict(model_before.boot), dict(model_before.boot))
    plan.loader_version = model_before.version
    target, error = resolve(root, file)
    plan.target = target
    if error or target == "/dev/null":
        plan.error = f"file {file} cannot be edited: " + (error or "it is a symlink to /dev/null (a mask)")
        return plan
    if target != file and editable(file) and not editable(target):
        plan.error = (
            f"file {file} is a symlink to {target}; refusing to edit it: {not_editable_reason(target)}. "
            f"Replace the symlink with a regular file (or a copy of {target}) in /etc. Nothing was changed"
        )
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
        _check_conflicts(plan, root, loader, overrides, values, on_conflict, context)
    model_after = boot_model(root, loader, overrides, **context)
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
    context: ModelContext | None = None,
) -> None:
    for _round in range(MAX_COMMENT_ROUNDS):
        model = boot_model(root, loader, overrides, **(context or {}))
        if not model.reads(plan.target):
            _not_read(plan, model, values, on_conflict)
            return
        sources = [
            model.boot_source[key]
            for key in KEYS
            if key in values and model.boot[key] != values[key] and model.boot_source[key] is not None
        ]
        winners = [d for d in sources if d is not None and d.file != plan.target]
        if not winners:
            return
        if on_conflict != "comment_out":
            _report(plan, winners, loader, on_conflict)
            return
        stuck = [d for d in winners if not editable(d.file)]  # d.file is resolved: symlinks into vendor dirs
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
            f"{', '.join(search_dirs(model.loader, model.legacy))}"
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
