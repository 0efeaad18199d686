# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read and write the live keepalive sysctls through /proc/sys (no `sysctl` binary needed).

Private module_utils: standard library only, no AnsibleModule. /proc/sys always shows the network
namespace of the reading process (net/ipv4 sysctls are per netns since Linux 4.5); other namespaces are
handled in _netns.py.
"""

from __future__ import annotations

import errno
import os

from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    KEYS,
    PROC_SYS_RELPATH,
    SYSCTL_NAMES,
)

READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


class ProcSysError(Exception):
    """A live value could not be read or written."""


class ProcSysReadOnly(ProcSysError):
    """/proc/sys is read-only here (container without the right to write it, or not root)."""


def proc_path(key: str, root: str = "/") -> str:
    if key not in KEYS:
        raise ProcSysError(f"unknown keepalive key {key!r}; expected one of {', '.join(KEYS)}")
    return os.path.join(root or "/", PROC_SYS_RELPATH[key])


def read_value(key: str, root: str = "/") -> int | None:
    """Live value of one key, None when the file does not exist (no IPv4 stack, fixture without it)."""
    path = proc_path(key, root)
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProcSysError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return int(text, 10)
    except ValueError as exc:
        raise ProcSysError(f"unexpected content in {path}: {text!r}") from exc


def read_values(root: str = "/") -> dict[str, int | None]:
    """Live values of time, intvl and probes (missing key -> None)."""
    return {key: read_value(key, root) for key in KEYS}


def writable(key: str, root: str = "/") -> str | None:
    """None when the key looks writable, else a message naming `apply: false` (checked before any change)."""
    path = proc_path(key, root)
    if not os.path.exists(path):
        return f"{path} does not exist, so {SYSCTL_NAMES[key]} cannot be set live here"
    if not os.access(path, os.W_OK):
        try:
            read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        return _read_only_message(path, os.strerror(errno.EROFS if read_only else errno.EACCES))
    return None


def _read_only_message(path: str, reason: str) -> str:
    return (
        f"cannot write {path}: {reason}. /proc/sys is read-only here (a container without "
        "CAP_SYS_ADMIN / a read-only /proc/sys mount, or not root). Use `apply: false` to only persist the "
        "values, or run with become / in a context that may write /proc/sys"
    )


def write_value(key: str, value: int, root: str = "/") -> int:
    """Write one live value and read it back; returns the value read back.

    Raises ProcSysReadOnly (EROFS/EACCES/EPERM, message names `apply: false`) or ProcSysError.
    """
    path = proc_path(key, root)
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(f"{int(value):d}\n")
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS:
            raise ProcSysReadOnly(_read_only_message(path, exc.strerror or str(exc))) from exc
        raise ProcSysError(f"cannot write {value} to {path}: {exc.strerror or exc}") from exc
    read_back = read_value(key, root)
    if read_back != int(value):
        raise ProcSysError(f"wrote {value} to {path} but read back {read_back}")
    return read_back
