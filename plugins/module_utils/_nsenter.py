# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Other network namespaces on a host: which exist, who lives in them, their keepalive sysctls, and
entering them to open a socket there (`namespaces: all`, the listener probe).

The tcp_keepalive_* sysctls are per network namespace (Linux >= 4.5, net/ipv4/sysctl_net_ipv4.c
ipv4_net_table), and /proc/sys/net/... resolves to the netns of the task that *opens* the file:
net/sysctl_net.c net_ctl_header_lookup() returns &current->nsproxy->net_ns->sysctls. A file opened
before setns() keeps showing the old namespace (checked by experiment on 6.x). So to read another
namespace we fork, setns(fd, CLONE_NEWNET) in the child, open and read there, and send the values back
over a pipe as JSON. Everything here reports errors as data; nothing raises for a vanished process,
a namespace we may not enter, or a missing key.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import select
import signal
import time
from typing import Any, Callable

from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import read_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._common import KEYS, Values, dataclass, field
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import (
    CLONE_NEWNET,
    DEFAULT_TIMEOUT,
    NamespaceContext,
    ProcessInfo,
    Reader,
    _join,
    current_namespace_inode,
    parse_ns_link,
)

KTHREADD_PID = 2

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass
class Namespace:
    """One distinct network namespace, identified by its nsfs inode."""

    inode: int
    current: bool = False
    names: list[str] = field(default_factory=list)  # `ip netns` names (bind mounts under /run/netns)
    mounts: list[str] = field(default_factory=list)  # every nsfs bind mount of it (absolute paths)
    processes: list[ProcessInfo] = field(default_factory=list)

    def entry_paths(self, root: str = "/") -> list[str]:
        """Files that can be opened to enter it: bind mounts first (stable), then /proc/<pid>/ns/net."""
        paths = [_join(root, mount) for mount in self.mounts]
        paths.extend(_join(root, f"proc/{proc.pid}/ns/net") for proc in self.processes)
        return paths

    def as_dict(self) -> dict[str, Any]:
        return {
            "inode": self.inode,
            "current": self.current,
            "names": list(self.names),
            "mounts": list(self.mounts),
            "processes": [proc.as_dict() for proc in self.processes],
        }


@dataclass
class NamespaceScan:
    namespaces: list[Namespace]
    current_inode: int | None
    hidden_processes: int = 0  # processes whose ns link we may not read (no ptrace rights)

    def by_inode(self, inode: int) -> Namespace | None:
        for namespace in self.namespaces:
            if namespace.inode == inode:
                return namespace
        return None


@dataclass
class NamespaceRead:
    """Values read inside one namespace, or why they could not be read."""

    values: Values
    error: str | None = None
    path: str | None = None
    errno: int | None = None  # errno behind `error` when there is one (ENOENT: the process left)

    def as_dict(self) -> dict[str, Any]:
        return {"values": dict(self.values), "error": self.error, "path": self.path}


def _unescape_mountinfo(text: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), text)


def parse_nsfs_mounts(mountinfo: str) -> list[tuple[int, str]]:
    """(inode, mount point) of every network namespace bind mount listed in /proc/self/mountinfo.

    A bind-mounted namespace shows fstype `nsfs` and root `net:[<inode>]` (ip netns add, docker, ...).
    """
    mounts = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if not sep or len(fields) < 5 or tail.split()[:1] != ["nsfs"]:
            continue
        inode = parse_ns_link(fields[3])
        if inode is not None:
            mounts.append((inode, _unescape_mountinfo(fields[4])))
    return mounts


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def parse_stat(text: str) -> tuple[str | None, int | None]:
    """comm and ppid from /proc/<pid>/stat (comm may contain spaces and parentheses)."""
    start, end = text.find("("), text.rfind(")")
    if start < 0 or end < start:
        return None, None
    rest = text[end + 1 :].split()
    ppid = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else None
    return text[start + 1 : end], ppid


def _process_info(pid: int, root: str) -> ProcessInfo | None:
    """Who the process is; None for kernel threads and processes that vanished."""
    stat = _read_text(_join(root, f"proc/{pid}/stat"))
    if stat is None:
        return None
    comm, ppid = parse_stat(stat)
    if pid == KTHREADD_PID or ppid == KTHREADD_PID:
        return None
    info = ProcessInfo(pid=pid, comm=comm)
    cgroup = read_cgroup(pid, root=root)
    if cgroup is not None:
        info.container_id = cgroup.container_id
        info.systemd_unit = cgroup.unit
    return info


def _process_namespaces(root: str) -> tuple[dict[int, list[ProcessInfo]], int]:
    found: dict[int, list[ProcessInfo]] = {}
    hidden = 0
    try:
        entries = os.listdir(_join(root, "proc"))
    except OSError:
        return found, hidden
    for entry in sorted((name for name in entries if name.isdigit()), key=int):
        pid = int(entry)
        try:
            inode = parse_ns_link(os.readlink(_join(root, f"proc/{pid}/ns/net")))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we scanned
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                hidden += 1
            continue
        if inode is None:
            continue
        info = _process_info(pid, root)
        if info is not None:
            found.setdefault(inode, []).append(info)
    return found, hidden


def list_namespaces(root: str = "/") -> NamespaceScan:
    """Every distinct network namespace: those of processes, plus bind-mounted ones without any."""
    by_process, hidden = _process_namespaces(root)
    current = current_namespace_inode(root)
    namespaces: dict[int, Namespace] = {
        inode: Namespace(inode=inode, processes=procs) for inode, procs in by_process.items()
    }
    mountinfo = _read_text(_join(root, "proc/self/mountinfo")) or ""
    for inode, mount in parse_nsfs_mounts(mountinfo):
        namespace = namespaces.setdefault(inode, Namespace(inode=inode))
        if mount not in namespace.mounts:
            namespace.mounts.append(mount)
        if os.path.dirname(mount) == "/run/netns":
            namespace.names.append(os.path.basename(mount))
    if current is not None:
        namespaces.setdefault(current, Namespace(inode=current)).current = True
    ordered = sorted(namespaces.values(), key=lambda ns: (not ns.current, ns.inode))
    return NamespaceScan(namespaces=ordered, current_inode=current, hidden_processes=hidden)


def setns(fd: int, nstype: int = CLONE_NEWNET, force_ctypes: bool = False) -> None:
    """setns(2): os.setns on Python >= 3.12, libc through ctypes before that (or when forced)."""
    if not force_ctypes and hasattr(os, "setns"):
        os.setns(fd, nstype)
        return
    import ctypes  # only here: Python < 3.12 in a child entering a namespace (3 ms to import, every run)

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _default_reader() -> Values:
    from ansible_collections.tcp.keepalive.plugins.module_utils._procsys import read_values

    return read_values("/")


def _describe_os_error(exc: OSError, path: str, step: str) -> str:
    name = errno.errorcode.get(exc.errno or 0, "error")
    return f"{step} {path}: {exc.strerror or exc} ({name})"


def _child_result(
    path: str, expected_inode: int | None, force_ctypes: bool, reader: Reader
) -> dict[str, Any]:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return {"error": _describe_os_error(exc, path, "cannot open"), "errno": exc.errno}
    inode = os.fstat(fd).st_ino
    if expected_inode is not None and inode != expected_inode:
        return {
            "error": f"{path} is now namespace {inode}, not {expected_inode} (process replaced)",
            "errno": errno.ESRCH,
        }
    try:
        setns(fd, CLONE_NEWNET, force_ctypes)
    except OSError as exc:
        return {"error": _describe_os_error(exc, path, "cannot enter"), "errno": exc.errno}
    entered = current_namespace_inode("/")
    if entered != inode:
        return {"error": f"setns into {path} left us in namespace {entered}", "errno": None}
    values = reader()
    return {"values": {key: values.get(key) for key in KEYS}, "inode": inode}


def _run_child(
    write_fd: int, path: str, expected_inode: int | None, force_ctypes: bool, reader: Reader
) -> None:
    """Body of the forked child: never returns, never runs the parent's cleanup."""
    status = 0
    try:
        try:
            result = _child_result(path, expected_inode, force_ctypes, reader)
        except Exception as exc:  # noqa: BLE001 - anything in the child must come back as data
            result = {"error": f"reading in namespace failed: {exc}", "errno": None}
        payload = json.dumps(result).encode("utf-8")
        while payload:
            written = os.write(write_fd, payload)
            payload = payload[written:]
    except BaseException:  # noqa: BLE001
        status = 1
    finally:
        os._exit(status)


def _collect(read_fd: int, timeout: float) -> tuple[bytes, bool]:
    """Read the child's answer until EOF or timeout; returns (data, timed_out)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), True
        ready = select.select([read_fd], [], [], remaining)[0]
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def read_namespace_values(
    path: str,
    expected_inode: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    force_ctypes: bool = False,
    reader: Reader | None = None,
) -> NamespaceRead:
    """Read time/intvl/probes inside the namespace behind `path` (/proc/<pid>/ns/net, /run/netns/<name>).

    Forks; the child enters the namespace and reads there, so the caller's namespace never changes.
    Errors (ENOENT, EPERM, timeout, missing key as None) come back in the result, never raised.
    """
    empty: Values = {key: None for key in KEYS}
    try:
        read_fd, write_fd = os.pipe()
    except OSError as exc:
        return NamespaceRead(
            values=empty, error=_describe_os_error(exc, path, "cannot create pipe for"), path=path
        )
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        error = _describe_os_error(exc, path, "cannot fork to read")
        return NamespaceRead(values=empty, error=error, path=path)
    if pid == 0:
        os.close(read_fd)
        _run_child(write_fd, path, expected_inode, force_ctypes, reader or _default_reader)
    os.close(write_fd)
    try:
        data, timed_out = _collect(read_fd, timeout)
    finally:
        os.close(read_fd)
    if timed_out:
        _kill_quietly(pid)
    status = os.waitpid(pid, 0)[1]
    if timed_out:
        return NamespaceRead(values=empty, error=f"timed out after {timeout:g}s reading {path}", path=path)
    return _parse_child_answer(data, status, path)


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _parse_child_answer(data: bytes, status: int, path: str) -> NamespaceRead:
    empty: Values = {key: None for key in KEYS}
    try:
        answer = json.loads(data.decode("utf-8"))
    except ValueError:
        return NamespaceRead(
            values=empty,
            path=path,
            error=f"reader for {path} exited (wait status {status}) without an answer",
        )
    if answer.get("error"):
        return NamespaceRead(values=empty, error=answer["error"], path=path, errno=answer.get("errno"))
    values = answer.get("values") or {}
    return NamespaceRead(values={key: values.get(key) for key in KEYS}, path=path)


_GONE = (errno.ENOENT, errno.ESRCH)


def read_namespace(
    namespace: Namespace,
    root: str = "/",
    timeout: float = DEFAULT_TIMEOUT,
    force_ctypes: bool = False,
    reader: Reader | None = None,
) -> NamespaceRead:
    """Read one listed namespace, trying its bind mounts and then its processes until one works.

    A process that exited (ENOENT/ESRCH) makes us try the next one; any other error stops the attempts.
    """
    paths = namespace.entry_paths(root)
    if not paths:
        return NamespaceRead(
            values={key: None for key in KEYS},
            error=f"no process or bind mount left to enter namespace {namespace.inode}",
        )
    result = NamespaceRead(values={key: None for key in KEYS})
    for path in paths:
        result = read_namespace_values(
            path, expected_inode=namespace.inode, timeout=timeout, force_ctypes=force_ctypes, reader=reader
        )
        if result.error is None or result.errno not in _GONE:
            return result
    return result


# ---- entering a namespace to open a socket there (sock_diag dumps, listener probes) --------------------
# A socket keeps the network namespace it was created in (net/socket.c __sock_create uses current's
# net), so a forked child enters the namespace, creates the socket and passes the descriptor back over a
# socketpair with SCM_RIGHTS; the caller never changes namespace. The same child reads the namespace's
# keepalive sysctls, so one fork per namespace does both.


@dataclass
class Entered:
    """What a child brought back from inside a namespace."""

    sock: Any = None  # socket.socket created inside, or None
    values: Values = field(default_factory=dict)
    error: str | None = None
    errno: int | None = None

    @property
    def gone(self) -> bool:
        """The namespace (its last process or bind mount) went away meanwhile."""
        return self.errno in _GONE


Opener = Callable[[], Any]  # runs in the child, inside the namespace; returns a socket.socket


def _entered_child(
    channel: Any, path: str, expected_inode: int | None, opener: Opener, reader: Reader | None
) -> None:  # pragma: no cover - runs in the child
    import array
    import socket

    status = 0
    try:
        answer: dict[str, Any] = {}
        fds: list[int] = []
        made = None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            if expected_inode is not None and os.fstat(fd).st_ino != expected_inode:
                answer = {
                    "error": f"{path} is now another namespace (process replaced)",
                    "errno": errno.ESRCH,
                }
            else:
                setns(fd, CLONE_NEWNET)
                if reader is not None:
                    values = reader()
                    answer["values"] = {key: values.get(key) for key in KEYS}
                made = opener()  # kept referenced until sent: a collected socket closes its fd
                fds.append(made.fileno())
        except OSError as exc:
            answer = {
                "error": _describe_os_error(exc, path, "cannot enter or open a socket in"),
                "errno": exc.errno,
            }
        except Exception as exc:  # noqa: BLE001 - anything in the child comes back as data
            answer = {"error": f"inside {path}: {exc}", "errno": None}
        payload = json.dumps(answer).encode("utf-8")
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        channel.sendmsg([payload], ancillary)
    except BaseException:  # noqa: BLE001
        status = 1
    finally:
        os._exit(status)


def open_in_namespace(
    path: str,
    opener: Opener,
    expected_inode: int | None = None,
    reader: Reader | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Entered:
    """Run `opener` inside the namespace behind `path` in a forked child and return the socket it made (and
    the namespace's sysctls when `reader` is given). Errors come back in the result, never raised."""
    import array
    import socket

    try:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        return Entered(error=_describe_os_error(exc, path, "cannot create a socketpair for"), errno=exc.errno)
    try:
        pid = os.fork()
    except OSError as exc:
        parent.close()
        child.close()
        return Entered(error=_describe_os_error(exc, path, "cannot fork to enter"), errno=exc.errno)
    if pid == 0:  # pragma: no cover - the child
        parent.close()
        _entered_child(child, path, expected_inode, opener, reader)
    child.close()
    fds = array.array("i")
    try:
        parent.settimeout(timeout)
        message, ancdata, _flags, _addr = parent.recvmsg(65536, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    except OSError as exc:  # socket.timeout is an OSError
        _kill_quietly(pid)
        message = json.dumps({"error": f"no answer from inside {path}: {exc}"}).encode()
    finally:
        parent.close()
        os.waitpid(pid, 0)
    try:
        answer = json.loads(message.decode("utf-8") or "{}")
    except ValueError:
        answer = {"error": f"unreadable answer from inside {path}"}
    if not fds:
        return Entered(
            values=answer.get("values") or {},
            errno=answer.get("errno"),
            error=answer.get("error") or f"no socket came back from inside {path}",
        )
    for extra in fds[1:]:
        os.close(extra)
    return Entered(sock=socket.socket(fileno=fds[0]), values=answer.get("values") or {})


MAX_ENTRY_ATTEMPTS = 3  # ways tried to enter one namespace (bind mounts, then its processes)


def _sock_diag_opener() -> Any:
    import socket

    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 4)  # NETLINK_SOCK_DIAG


def enter_for_scan(
    namespace: Namespace, root: str = "/", timeout: float = DEFAULT_TIMEOUT
) -> NamespaceContext:
    """A context for one listed namespace other than ours. A namespace whose processes and mounts all
    vanished before we got in is `gone` (short-lived containers), not an error."""
    context = NamespaceContext(inode=namespace.inode, sysctls={key: None for key in KEYS}, current=False)
    paths = namespace.entry_paths(root)[:MAX_ENTRY_ATTEMPTS]
    errors = []
    all_gone = True
    for path in paths:
        entered = open_in_namespace(
            path, _sock_diag_opener, expected_inode=namespace.inode, reader=_default_reader, timeout=timeout
        )
        if entered.sock is not None:
            context.netlink, context.entry_path = entered.sock, path
            context.sysctls = {key: entered.values.get(key) for key in KEYS}
            return context
        errors.append(entered.error or "unknown error")
        all_gone = all_gone and entered.gone
    if all_gone:
        context.gone = True
    else:
        context.error = "; ".join(errors)
    return context
