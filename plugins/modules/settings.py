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
      - Anything else is refused with a message naming the option, such as a sign (V("+600")), blanks
        or a trailing newline (V(" 600")), an exponent (V("6e2")), a float, a boolean, an empty value.
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
      - It must be a regular file (or a symlink to one), or not exist yet. A directory, FIFO, socket or device
        is refused by name without being opened, and so is an immutable or append-only file or directory
        (C(chattr +i), C(chattr +a)), before anything is changed.
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
  - Runs of this module on one host take turns. Each holds an exclusive C(flock) on
    C(/run/lock/tcp-keepalive.settings.lock) (C(/run) when there is no C(/run/lock)) from reading the
    files and live values to the last rename and live write, so simultaneous runs on one file lose no
    value. The lock file is removed on release, also in check mode. A run waits up to 300 seconds for the
    lock, then fails naming it.
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

import contextlib
import errno
import fcntl
import os
import stat
import struct
import tempfile
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    KEYS,
    LIMITS,
    SYSCTL_NAMES,
    parse_decimal,
    shown,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._procsys import (
    ProcSysError,
    read_values,
    writable,
    write_value,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import (
    boot_model,
    detect_loader,
    host_path,
    resolve,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_edit import (
    DEFAULT_FILE,
    ON_CONFLICT,
    PersistPlan,
    plan_persist,
)

# Tree the module reads and writes. Always "/" in use; unit tests point it at a fixture tree.
ROOT = "/"

# One lock for every run of this module on a host, held from reading the files and live values to the last
# rename and live write. One host-wide lock rather than one per target: the plan reads every sysctl.d file
# and on_conflict=comment_out may edit files other than `file`, so two runs on different targets can race on
# the same file too. It lives in /run/lock (tmpfs: gone at reboot, nothing left in /etc, works before the
# target exists) and is removed on release, so check mode leaves no file behind either.
LOCK_DIRS = ("/run/lock", "/run")
LOCK_NAME = "tcp-keepalive.settings.lock"
LOCK_TIMEOUT = 300.0  # seconds; planning a 50 MB file takes seconds, so this only ends a stuck holder

# linux/fs.h: FS_IOC_GETFLAGS is _IOR('f', 1, long); FS_IMMUTABLE_FL, FS_APPEND_FL (chattr +i, +a).
FS_IOC_GETFLAGS = (2 << 30) | (struct.calcsize("l") << 16) | (ord("f") << 8) | 1
FS_IMMUTABLE_FL = 0x10
FS_APPEND_FL = 0x20
ATTRIBUTES = ((FS_IMMUTABLE_FL, "i", "immutable"), (FS_APPEND_FL, "a", "append-only"))
FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class LockError(Exception):
    """The host-wide lock of this module could not be taken."""


class HostLock:
    """flock(LOCK_EX) on /run/lock/tcp-keepalive.settings.lock, created on entry and removed on exit.

    Removing a lock file is safe only with a check after locking: a run that opened the file just before the
    holder removed it finds, once it holds the lock, that the path no longer names its inode, and starts over.
    """

    def __init__(self, root: str, fallback_dir: str, timeout: float | None = None) -> None:
        directory = next(
            (host_path(root, d) for d in LOCK_DIRS if os.path.isdir(host_path(root, d))), fallback_dir
        )
        self.path = os.path.join(directory, LOCK_NAME)
        self.timeout = LOCK_TIMEOUT if timeout is None else timeout
        self.fd: int | None = None

    def __enter__(self) -> HostLock:
        deadline = time.monotonic() + self.timeout
        while True:
            fd = self._open()
            if self._lock(fd, deadline) and self._still_linked(fd):
                self.fd = fd
                return self
            os.close(fd)

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise LockError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from exc
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise LockError(
                f"lock file {self.path} is not a regular file owned by uid {os.geteuid()}; remove it"
            )
        return fd

    def _lock(self, fd: int, deadline: float) -> bool:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LockError(
                        f"another run of tcp.keepalive.settings has held {self.path} for more than "
                        f"{self.timeout:g}s; try again when it is done"
                    ) from None
                time.sleep(0.02)

    def _still_linked(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = None


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
    """A user value as a decimal integer within LIMITS; ValueError with a message naming the option.

    An int, or a string of digits only ("0600" is 600, what a user means). Signs, blanks, newlines, exponents,
    floats and booleans are refused: the docs promise "a string of digits", and "+600" or "600\\n" is a typo.
    """
    low, high = LIMITS[option]
    number = parse_decimal(raw)
    if number is None or not low <= number <= high:
        raise ValueError(
            f"{option} must be an integer from {low} to {high} ({SYSCTL_NAMES[option]}) or a string of "
            f"digits, got {shown(raw)}"
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


def file_problem(file: str) -> str | None:
    """Why the `file` option itself is unusable (before anything is read), or None."""
    if "\0" in file:
        return f"file must not contain a NUL byte, got {file!r}"
    if not os.path.isabs(file):
        return f"file must be an absolute path, got {file!r}"
    if os.path.basename(file) in ("", ".", ".."):
        return f"file must name a file, not a directory, got {file!r}"
    top = os.path.normpath(file).split("/")[1]
    if top in ("proc", "sys"):
        return (
            f"file must be a sysctl.d configuration file, not a path under /{top} (a kernel interface), "
            f"got {file!r}"
        )
    return None


def target_problem(file: str) -> str | None:
    """Why the file `file` names (after its symlinks) cannot be read and edited, or None.

    lstat/stat only, never open: a FIFO would block a read for ever, a device or socket is not a config file.
    A missing file is fine (it is created); a dangling or looping symlink is left to plan_persist to name.
    """
    target, error = resolve(ROOT, file)
    if error:
        return None
    full = host_path(ROOT, target)
    try:
        info = os.stat(full)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"file {file} cannot be examined ({target}): {exc.strerror or exc}"
    if stat.S_ISREG(info.st_mode):
        return None
    kind = next((name for test, name in FILE_KINDS if test(info.st_mode)), "not a regular file")
    via = f" (the target of the symlink {file})" if target != file else ""
    return f"file {target}{via} is {kind}, not a regular file; give the path of a *.conf file"


def file_flags(full: str) -> int:
    """chattr flags of host path `full` (0 where the file system has none, as on tmpfs)."""
    fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(struct.calcsize("l")))
    except OSError as exc:
        if exc.errno in (errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP):
            return 0
        raise
    finally:
        os.close(fd)
    return struct.unpack("l", raw)[0]


def unwritable_because(path: str) -> str | None:
    """Why host file `path` (or the directory that gets the new file) cannot be replaced, or None.

    An immutable (chattr +i) or append-only (+a) file cannot be renamed over or removed, nor can a file be
    created in an immutable directory; ansible-core's atomic_move would end with a bare Exception.
    """
    full = host_path(ROOT, path)
    checks = [(full, "file", path, "it cannot be replaced or removed")] if os.path.lexists(full) else []
    directory = nearest_directory(full)
    relative = os.path.relpath(directory, host_path(ROOT, "/"))
    shown = "/" if relative == "." else "/" + relative
    checks.append((directory, "directory", shown, "no file in it can be created, replaced or removed"))
    for candidate, kind, name, consequence in checks:
        try:
            flags = file_flags(candidate)
        except OSError:
            continue  # not readable here: the write itself reports it
        for flag, attribute, word in ATTRIBUTES:
            if flags & flag:
                return (
                    f"cannot write {path}: {kind} {name} is {word} (chattr +{attribute}), so {consequence}; "
                    f"remove the attribute (chattr -{attribute} {name}) if the change is wanted"
                )
    return None


def nearest_directory(full: str) -> str:
    """The nearest existing directory above host path `full` (where a missing parent would be created)."""
    directory = os.path.dirname(full)
    while not os.path.isdir(directory) and directory != os.path.dirname(directory):
        directory = os.path.dirname(directory)
    return directory


def lock_fallback_dir(file: str) -> str:
    """Where the lock goes on a tree without /run (unit-test fixtures): the nearest directory above `file`."""
    return nearest_directory(host_path(ROOT, file))


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
        problem = file_problem(params["file"])
        if problem:
            self.fail(problem)
            return
        if state == "present" and not values:
            self.fail("state=present needs at least one of time, intvl, probes")
            return
        keys = [key for key in KEYS if key in values] or list(KEYS)
        try:
            with HostLock(ROOT, lock_fallback_dir(params["file"])):
                self.locked_run(values, state, keys)
        except LockError as exc:
            self.fail(str(exc))
            return
        if not self.module._diff:
            self.result.pop("diff")
        self.flush_warnings()
        self.module.exit_json(**self.result)

    def locked_run(self, values: dict[str, int], state: str, keys: list[str]) -> None:
        """Read, plan and apply, all under the host lock (fail_json exits the process, releasing it)."""
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

    def plan_files(self, values: dict[str, int], state: str, keys: list[str]) -> PersistPlan | None:
        params = self.params
        if params["persist"]:
            problem = target_problem(params["file"])
            if problem:
                self.fail(problem)
                return None
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
        for path in plan.edits:
            problem = unwritable_because(path)
            if problem and self.module.check_mode:
                self.warnings.append(problem)
            elif problem:
                self.result["files_changed"] = []
                self.fail(problem)
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
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # ansible-core's atomic_move raises a bare Exception when neither rename nor copy works.
                self.fail(f"cannot write {path}: {exc}")
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
