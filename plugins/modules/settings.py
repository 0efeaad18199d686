#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: settings
short_description: Set the TCP keepalive sysctls live and persistently, aware of sysctl.d precedence
version_added: 0.1.0
description:
  - Sets C(net.ipv4.tcp_keepalive_time), C(net.ipv4.tcp_keepalive_intvl) and C(net.ipv4.tcp_keepalive_probes)
    of the network namespace the module runs in, by writing C(/proc/sys/net/ipv4/tcp_keepalive_*) directly
    (no C(sysctl) binary needed) and reading the values back.
  - Persists them in a sysctl.d drop-in file (O(file)), editing it in place. Other keys, comments, blank lines
    and their order are kept. An existing definition of the same key (dot or slash form, any spacing, with
    or without the C(-) prefix) is updated in place; later duplicates of it in that file are commented out
    with a marker line, so the file never holds two live definitions of a key. New files get mode C(0644).
    Writes are atomic.
  - Works out the value each key will have after boot under the host's loader, C(systemd-sysctl) or procps
    C(sysctl --system), following their precedence rules (same-named files in earlier directories mask later
    ones, a symlink to C(/dev/null) masks, files applied in basename order, the later assignment wins, procps
    reads C(/etc/sysctl.conf) last, explicit keys beat globs). If a file read after O(file), or a file masking
    it, would set a key to another value, O(on_conflict) decides what happens.
  - Values in files are read the way the kernel parses them. C(0600) in a file is octal (384) for the
    kernel, so the module always writes plain decimal numbers.
  - The values apply to IPv4 and IPv6 TCP sockets alike. Sockets that set C(TCP_KEEPIDLE), C(TCP_KEEPINTVL) or
    C(TCP_KEEPCNT) themselves are not affected, and an already armed keepalive timer keeps its old deadline.
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff lists the live values and each file the module touches, before and after.
  idempotent:
    support: full
options:
  time:
    description:
      - Seconds a connection must be idle before the first keepalive probe (C(net.ipv4.tcp_keepalive_time)).
      - An integer from 1 to 32767 (the kernel's per-socket limit C(MAX_TCP_KEEPIDLE)). A string of digits is
        read as a decimal number, so V("0600") means 600. Unquoted C(0600) in YAML is octal (384) before the
        module sees it, so quote it or write V(600).
      - With O(state=absent), naming the option selects the key to remove; its value is not used.
    type: raw
    aliases: [tcp_keepalive_time]
  intvl:
    description:
      - Seconds between two keepalive probes (C(net.ipv4.tcp_keepalive_intvl)).
      - An integer from 1 to 32767 (C(MAX_TCP_KEEPINTVL)). Read as decimal, like O(time).
    type: raw
    aliases: [tcp_keepalive_intvl]
  probes:
    description:
      - Unanswered probes before the connection is reset (C(net.ipv4.tcp_keepalive_probes)).
      - An integer from 1 to 127 (C(MAX_TCP_KEEPCNT)). Read as decimal, like O(time).
    type: raw
    aliases: [tcp_keepalive_probes]
  state:
    description:
      - V(present) sets the given keys. At least one of O(time), O(intvl), O(probes) is required.
      - V(absent) removes the definitions of the given keys (of all three when none is given) from
        O(file), and the file itself when nothing but the module's header line is left. Live values are left
        as they are and the result says so. Definitions in other files are not touched.
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Write the values to O(file) so that they survive a reboot.
      - With V(false) only the live values change; the result still reports the values expected after boot.
    type: bool
    default: true
  file:
    description:
      - The sysctl.d drop-in file to edit. Use a C(*.conf) file in one of C(/etc/sysctl.d), C(/run/sysctl.d),
        C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d), or C(/etc/sysctl.conf) (read last by procps, and by
        C(systemd-sysctl) through the C(99-sysctl.conf) symlink). Another path is written but is not read at
        boot, and the module warns about it.
      - A symlink is followed and its target edited. Missing parent directories are created (mode C(0755)).
    type: path
    default: /etc/sysctl.d/60-tcp-keepalive.conf
  apply:
    description:
      - Write the live values to C(/proc/sys) and read them back.
      - Use V(false) where C(/proc/sys) is read-only (containers without the right to write it) to persist
        only.
    type: bool
    default: true
  on_conflict:
    description:
      - What to do when a definition in a file read after O(file) (or a file masking O(file)) would set a key
        to another value at boot.
      - V(fail) stops before changing anything and names that file and line.
      - V(warn) goes ahead and warns; the boot value stays the other file's.
      - V(comment_out) comments out those lines (a marker line above each says tcp.keepalive disabled it)
        in files under C(/etc), with a backup when O(backup=true). It still fails, changing nothing, when
        the winning line is in a file it must not edit (vendor directories, C(/run)) or when O(file) is
        masked, and explains what would win.
    type: str
    choices: [fail, warn, comment_out]
    default: fail
  loader:
    description:
      - Which boot loader's precedence rules to model.
      - V(auto) picks C(systemd) when C(/run/systemd/system) exists (systemd is PID 1), else C(procps).
      - V(systemd) is C(systemd-sysctl). V(procps) is C(sysctl --system), which also reads
        C(/etc/sysctl.conf) last. procps-ng 3.3.16 and older (found with C(sysctl --version)) read
        C(/run/sysctl.d) before C(/etc/sysctl.d); the model follows the installed version. The versions
        modelled are systemd-sysctl 252 and procps-ng 4.0.2 (checked against the real binaries) and
        procps-ng 3.3.16 and older (from its source).
    type: str
    choices: [auto, systemd, procps]
    default: auto
  backup:
    description:
      - Before changing an existing file (O(file) or a file whose lines are commented out), keep a timestamped
        copy next to it.
    type: bool
    default: false
notes:
  - The live values belong to the network namespace the module runs in. Containers and other network
    namespaces have their own values, and a new namespace starts at the kernel defaults 7200/75/9.
  - Glob definitions (C(net.ipv4.tcp_keepalive_*)) in other files never override O(file), because an explicit
    key beats a glob in both loaders.
seealso:
  - module: ansible.posix.sysctl
    description: Sets any sysctl, without precedence awareness.
  - name: sysctl.d(5)
    description: systemd's description of the drop-in directories and their precedence.
    link: https://www.freedesktop.org/software/systemd/man/latest/sysctl.d.html
"""

EXAMPLES = r"""
- name: Detect dead peers within 2 minutes (60 + 10 * 6 seconds), live and after reboot
  tcp.keepalive.settings:
    time: 60
    intvl: 10
    probes: 6

- name: Same, but comment out older definitions in /etc that would win at boot, keeping backups
  tcp.keepalive.settings:
    time: 60
    intvl: 10
    probes: 6
    on_conflict: comment_out
    backup: true

- name: Persist only, where /proc/sys is read-only (for example an unprivileged container)
  tcp.keepalive.settings:
    time: 600
    apply: false

- name: Change the live value only, for a test; the next boot restores the persisted one
  tcp.keepalive.settings:
    tcp_keepalive_time: 300
    persist: false

- name: Preview the change with its diff, without touching anything
  tcp.keepalive.settings:
    time: 600
  check_mode: true
  diff: true
  register: keepalive_preview

- name: Show where each value would come from after boot
  ansible.builtin.debug:
    msg: "{{ keepalive_preview.boot_before }} -> {{ keepalive_preview.boot_after }}"

- name: Remove the persisted definitions again (live values stay until reboot)
  tcp.keepalive.settings:
    state: absent
"""

RETURN = r"""
msg:
  description: What was done (or would be done in check mode), or why the module failed.
  returned: always
  type: str
  sample: "net.ipv4.tcp_keepalive_time set to 600 live and in /etc/sysctl.d/60-tcp-keepalive.conf"
file:
  description: The file that was (or would be) edited, after following a symlink given in O(file).
  returned: always
  type: str
  sample: /etc/sysctl.d/60-tcp-keepalive.conf
loader:
  description: The loader whose precedence rules were applied, and why it was chosen.
  returned: always
  type: dict
  contains:
    name:
      description: V(systemd) or V(procps).
      type: str
    reason:
      description: What the module saw to choose it.
      type: str
    version:
      description:
        - The installed loader's version (C(sysctl --version), C(systemd-sysctl --version)); V(null) when
          unknown. procps-ng 3.3.16 and older read C(/run/sysctl.d) before C(/etc/sysctl.d) and expand no
          globs; the model follows that. Checked against the real systemd-sysctl 252 and procps-ng 4.0.2.
      type: str
  sample: {"name": "systemd", "reason": "/run/systemd/system exists ...", "version": "systemd 252"}
live_before:
  description: Live values before the module ran, per key (C(null) when the key does not exist here).
  returned: always
  type: dict
  sample: {"time": 7200, "intvl": 75, "probes": 9}
live_after:
  description: Live values after the module ran (predicted in check mode), per key.
  returned: always
  type: dict
  sample: {"time": 600, "intvl": 75, "probes": 9}
boot_before:
  description:
    - Values the loader would set at boot before the change, per key. C(null) means no file sets the key, so
      the kernel default stays (7200, 75, 9).
  returned: always
  type: dict
  sample: {"time": null, "intvl": null, "probes": null}
boot_after:
  description: Values the loader would set at boot after the change (as planned in check mode), per key.
  returned: always
  type: dict
  sample: {"time": 600, "intvl": null, "probes": null}
conflicts:
  description: Definitions in other files that would win over O(file) at boot, and what the module did.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: Short key, V(time), V(intvl) or V(probes).
      type: str
    file:
      description: The file holding the winning definition, or the file masking O(file).
      type: str
    line:
      description: 1-based line number, C(null) for a masking file.
      type: int
    value:
      description: The value text as written in that file, C(null) for a masking file.
      type: str
    action:
      description:
        - V(failed) (O(on_conflict=fail)), V(warned), V(commented_out), or V(not_editable)
          (O(on_conflict=comment_out) met a file outside C(/etc) or a mask).
        - V(not_changed) marks a line O(on_conflict=comment_out) would have commented out when another
          conflict made the module fail; nothing was written.
      type: str
    reason:
      description: A sentence explaining the conflict.
      type: str
  sample: [{"key": "time", "file": "/etc/sysctl.d/99-tuning.conf", "line": 3, "value": "7200",
            "action": "commented_out", "reason": "net.ipv4.tcp_keepalive_time is managed in ..."}]
files_changed:
  description: Files written, created or removed (that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/sysctl.d/60-tcp-keepalive.conf]
backup_file:
  description: Backup of O(file), when O(backup=true) and it was changed.
  returned: when a backup of O(file) was made
  type: str
  sample: /etc/sysctl.d/60-tcp-keepalive.conf.12345.2026-01-01@00:00:00~
backup_files:
  description: Every backup made, by original path (O(file) and files whose lines were commented out).
  returned: always
  type: dict
  sample: {"/etc/sysctl.d/99-tuning.conf": "/etc/sysctl.d/99-tuning.conf.12345.2026-01-01@00:00:00~"}
"""

import os
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    KEYS,
    LIMITS,
    SYSCTL_NAMES,
    parse_int,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._procsys import (
    ProcSysError,
    read_values,
    writable,
    write_value,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import (
    DEFAULT_FILE,
    ON_CONFLICT,
    PersistPlan,
    boot_model,
    detect_loader,
    host_path,
    plan_persist,
)

# Tree the module reads and writes. Always "/" in use; unit tests point it at a fixture tree.
ROOT = "/"


def argument_spec() -> dict[str, Any]:
    return {
        "time": {"type": "raw", "aliases": ["tcp_keepalive_time"]},
        "intvl": {"type": "raw", "aliases": ["tcp_keepalive_intvl"]},
        "probes": {"type": "raw", "aliases": ["tcp_keepalive_probes"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "persist": {"type": "bool", "default": True},
        "file": {"type": "path", "default": DEFAULT_FILE},
        "apply": {"type": "bool", "default": True},
        "on_conflict": {"type": "str", "choices": list(ON_CONFLICT), "default": "fail"},
        "loader": {"type": "str", "choices": ["auto", "systemd", "procps"], "default": "auto"},
        "backup": {"type": "bool", "default": False},
    }


def parse_value(option: str, raw: Any) -> int:
    """A user value as a decimal integer within LIMITS; ValueError with a message naming the option."""
    low, high = LIMITS[option]
    # parse_int() reads decimal ("0600" is 600), which is what a user means; floats and blanks are refused.
    number = None if isinstance(raw, float) or not str(raw).strip() else parse_int(raw)
    if number is None or not low <= number <= high:
        raise ValueError(
            f"{option} must be an integer from {low} to {high} ({SYSCTL_NAMES[option]}), got {raw!r}"
        )
    return number


def wanted_values(params: dict[str, Any]) -> dict[str, int]:
    return {key: parse_value(key, params[key]) for key in KEYS if params.get(key) is not None}


def render_values(values: dict[str, int | None], keys: list[str]) -> str:
    return "".join(f"{SYSCTL_NAMES[key]} = {values.get(key)}\n" for key in keys)


def write_file(module: AnsibleModule, path: str, text: str | None, backup: bool) -> str | None:
    """Atomically replace (or remove, text None) host file `path`; returns the backup path if one was made."""
    full = host_path(ROOT, path)
    exists = os.path.exists(full)
    backup_path = module.backup_local(full) if backup and exists else None
    if text is None:
        if exists:
            os.unlink(full)
        return backup_path or None
    directory = os.path.dirname(full)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".tcp-keepalive-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8", errors="surrogateescape"))
        if exists:
            info = os.stat(full)
            os.chmod(temp, info.st_mode & 0o7777)
        else:
            os.chmod(temp, 0o644)
        module.atomic_move(temp, full)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    if not exists:
        os.chmod(full, 0o644)
    return backup_path or None


class Settings:
    """Decides the plan from the parameters, then applies it unless in check mode."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.params = module.params
        self.result: dict[str, Any] = {
            "changed": False,
            "file": self.params["file"],
            "conflicts": [],
            "files_changed": [],
            "backup_files": {},
            "diff": [],
        }
        self.warnings: list[str] = []

    def flush_warnings(self) -> None:
        for warning in self.warnings:
            self.module.warn(warning)
        self.warnings = []

    def fail(self, msg: str) -> None:
        self.result.pop("diff", None)
        self.flush_warnings()
        self.module.fail_json(msg=msg, **self.result)

    def run(self) -> None:
        params = self.params
        try:
            values = wanted_values(params)
        except ValueError as exc:
            self.fail(str(exc))
            return
        state = params["state"]
        if not os.path.isabs(params["file"]):
            self.fail(f"file must be an absolute path, got {params['file']!r}")
            return
        if state == "present" and not values:
            self.fail("state=present needs at least one of time, intvl, probes")
            return
        keys = [key for key in KEYS if key in values] or list(KEYS)
        live_before = read_values(ROOT)
        self.result.update(live_before=live_before, live_after=dict(live_before))
        plan = self.plan_files(values, state, keys)
        if plan is None:
            return
        live_changes = self.live_changes(values, live_before) if state == "present" else {}
        if live_changes is None:
            return
        self.add_diffs(plan, live_before, live_changes, keys)
        self.result["changed"] = bool(plan.edits or live_changes)
        if not self.module.check_mode:
            self.apply_files(plan)
            self.apply_live(live_changes)
        self.result["msg"] = self.message(plan, values, live_changes, state, keys)
        if not self.module._diff:
            self.result.pop("diff")
        self.flush_warnings()
        self.module.exit_json(**self.result)

    def plan_files(self, values: dict[str, int], state: str, keys: list[str]) -> PersistPlan | None:
        params = self.params
        try:
            if params["persist"]:
                plan = plan_persist(
                    ROOT, params["loader"], params["file"], values, state, params["on_conflict"], keys
                )
            else:
                loader, reason = detect_loader(ROOT, params["loader"])
                boot = boot_model(ROOT, loader).boot
                plan = PersistPlan(loader, reason, params["file"], params["file"], {}, dict(boot), dict(boot))
                if params["apply"] and state == "present":
                    self.warn_not_persisted(values, boot)
        except (OSError, ValueError) as exc:
            self.fail(f"cannot plan the change of {params['file']}: {exc}")
            return None
        self.result.update(
            file=plan.target,
            loader={"name": plan.loader, "reason": plan.loader_reason, "version": plan.loader_version},
            boot_before=plan.boot_before,
            boot_after=plan.boot_after,
            conflicts=[conflict.as_dict() for conflict in plan.conflicts],
            files_changed=list(plan.edits),
        )
        self.warnings.extend(plan.warnings)
        if plan.error:
            self.result["files_changed"] = []
            self.fail(plan.error)
            return None
        return plan

    def warn_not_persisted(self, values: dict[str, int], boot: dict[str, int | None]) -> None:
        for key, value in values.items():
            if boot.get(key) != value:
                after_boot = boot.get(key) if boot.get(key) is not None else "the kernel default"
                self.warnings.append(
                    f"persist=false: {SYSCTL_NAMES[key]} = {value} lasts until reboot; "
                    f"after boot it will be {after_boot}"
                )

    def live_changes(
        self, values: dict[str, int], live_before: dict[str, int | None]
    ) -> dict[str, int] | None:
        if not self.params["apply"]:
            return {}
        changes = {key: value for key, value in values.items() if live_before.get(key) != value}
        for key in changes:
            problem = writable(key, ROOT)
            if problem and self.module.check_mode:
                self.warnings.append(problem)
            elif problem:
                self.result["files_changed"] = []
                self.fail(problem)
                return None
        self.result["live_after"] = {**live_before, **changes}
        return changes

    def add_diffs(
        self,
        plan: PersistPlan,
        live_before: dict[str, int | None],
        changes: dict[str, int],
        keys: list[str],
    ) -> None:
        if changes:
            live_path = host_path(ROOT, "/proc/sys/net/ipv4")
            self.result["diff"].append(
                {
                    "before_header": f"live values ({live_path})",
                    "after_header": f"live values ({live_path})",
                    "before": render_values(live_before, keys),
                    "after": render_values({**live_before, **changes}, keys),
                }
            )
        for path, (before, after) in plan.edits.items():
            self.result["diff"].append(
                {
                    "before_header": path if before is not None else f"{path} (absent)",
                    "after_header": path if after is not None else f"{path} (removed)",
                    "before": before or "",
                    "after": after or "",
                }
            )

    def apply_files(self, plan: PersistPlan) -> None:
        for path, (_before, after) in plan.edits.items():
            try:
                backup = write_file(self.module, path, after, self.params["backup"])
            except OSError as exc:
                self.fail(f"cannot write {path}: {exc.strerror or exc}")
                return
            if backup:
                self.result["backup_files"][path] = backup
                if path == plan.target:
                    self.result["backup_file"] = backup

    def apply_live(self, changes: dict[str, int]) -> None:
        for key, value in changes.items():
            try:
                write_value(key, value, ROOT)
            except ProcSysError as exc:
                self.fail(str(exc))
                return
        if changes:
            self.result["live_after"] = read_values(ROOT)

    def message(
        self, plan: PersistPlan, values: dict[str, int], live: dict[str, int], state: str, keys: list[str]
    ) -> str:
        verb = "would be" if self.module.check_mode else "were"
        names = ", ".join(SYSCTL_NAMES[key] for key in keys)
        if state == "absent":
            if not self.params["persist"]:
                return "state=absent with persist=false: nothing to do (live values are never removed)"
            if plan.edits:
                text = f"definitions of {names} {verb} removed from {plan.target}"
            else:
                text = f"{plan.target} holds no definition of {names}; nothing to remove"
            return text + "; live values are left unchanged (they stay until reboot or until set again)"
        wanted = ", ".join(f"{SYSCTL_NAMES[key]}={value}" for key, value in values.items())
        parts = []
        if not self.params["apply"]:
            parts.append("live values not touched (apply=false)")
        elif live:
            parts.append(f"live values {verb} set")
        else:
            parts.append("live values already in place")
        if not self.params["persist"]:
            parts.append("not persisted (persist=false)")
        elif plan.edits:
            parts.append(f"{', '.join(plan.edits)} {verb} updated")
        else:
            parts.append(f"{plan.target} already up to date")
        return f"{wanted}: " + "; ".join(parts)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        Settings(module).run()
    except ProcSysError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
