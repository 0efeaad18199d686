# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How to turn keepalive on persistently, per daemon and per runtime: one table.

`REMEDIES` is the table (docs/remediation.md is tested against it: every entry's name and directive appear
there). Entry point: `remedy_for(comm, exe, pid, root)` -> the matching `Remedy` (daemon by name, then
runtime from the executable: Go, Node, Java, Python, a static ELF without PT_INTERP, then libkeepalive for a
dynamically linked program); `hint_for(remedy, keepalive_seen)` -> the text of services[].hint, which says
"already on" where the daemon enables keepalive itself and the scan saw it on.

ELF facts come from the program headers (PT_INTERP: a dynamic loader, so LD_PRELOAD works) and the section
names (`.go.buildinfo` / `.note.go.buildid`: a Go binary), read through /proc/<pid>/exe so a binary in a
container or a deleted one is still readable.
"""

from __future__ import annotations

import os
import struct

from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass


@dataclass(frozen=True)
class Remedy:
    id: str  # stable key (tests and docs key on it)
    name: str  # as docs/remediation.md names it
    hint: str  # the persistent fix
    names: tuple[str, ...] = ()  # comm or executable basename
    prefixes: tuple[str, ...] = ()  # executable basename prefixes (python3.11)
    default_on: str | None = None  # what it enables by itself, when it does
    directive: str = ""  # the setting docs/remediation.md must name for it


REMEDIES: tuple[Remedy, ...] = (
    Remedy(
        "systemd_socket",
        "systemd socket activation",
        "systemd socket activation: in the .socket unit set `KeepAlive=yes` and optionally "
        "`KeepAliveTimeSec=`, `KeepAliveIntervalSec=`, `KeepAliveProbes=`; then `systemctl daemon-reload` "
        "and restart the socket.",
        names=("systemd",),
        directive="KeepAlive=yes",
    ),
    Remedy(
        "openssh",
        "OpenSSH server",
        "OpenSSH: in sshd_config set `TCPKeepAlive yes` (SO_KEEPALIVE on accepted connections, the "
        "default) and `ClientAliveInterval 60` + `ClientAliveCountMax 3` (protocol-level liveness that "
        "also ends dead sessions); then `systemctl reload ssh`.",
        names=("sshd", "sshd-session"),
        default_on="sshd sets SO_KEEPALIVE on each accepted connection (`TCPKeepAlive yes`, the default)",
        directive="TCPKeepAlive yes",
    ),
    Remedy(
        "nginx",
        "nginx",
        "nginx: add `so_keepalive=on` (or `so_keepalive=30m::10` for idle:intvl:cnt) to each `listen` "
        "directive, e.g. `listen 443 ssl so_keepalive=on;`; for upstreams `proxy_socket_keepalive on;`.",
        names=("nginx",),
        directive="so_keepalive=on",
    ),
    Remedy(
        "haproxy",
        "HAProxy",
        "HAProxy: `option clitcpka` in frontends and `option srvtcpka` in backends (or `option tcpka` in "
        "defaults); tune with `clitcpka-idle`/`clitcpka-intvl`/`clitcpka-cnt` and the "
        "srvtcpka-* variants.",
        names=("haproxy",),
        directive="option clitcpka",
    ),
    Remedy(
        "redis",
        "Redis",
        "Redis: `tcp-keepalive 300` in redis.conf (or `CONFIG SET tcp-keepalive 300`); 0 disables it.",
        names=("redis-server", "redis-sentinel", "valkey-server", "keydb-server"),
        default_on="Redis 3.2.1+ sets keepalive on client connections (`tcp-keepalive 300`, the default)",
        directive="tcp-keepalive",
    ),
    Remedy(
        "postgresql",
        "PostgreSQL server",
        "PostgreSQL: in postgresql.conf set `tcp_keepalives_idle = 300`, `tcp_keepalives_interval = 30`, "
        "`tcp_keepalives_count = 3` (and `tcp_user_timeout`); clients: libpq `keepalives=1 "
        "keepalives_idle=300`.",
        names=("postgres", "postmaster"),
        default_on="PostgreSQL sets SO_KEEPALIVE on every accepted TCP connection, after accept(), never "
        "on the listener",
        directive="tcp_keepalives_idle",
    ),
    Remedy(
        "mariadb",
        "MariaDB server",
        "MySQL/MariaDB: the server sets SO_KEEPALIVE on client connections; MariaDB tunes it with "
        "`tcp_keepalive_time`, `tcp_keepalive_interval`, `tcp_keepalive_probes` in [mysqld]; "
        "MySQL follows "
        "the net.ipv4.tcp_keepalive_* sysctls. Clients: Connector/J `tcpKeepAlive=true`.",
        names=("mysqld", "mariadbd", "mysqld_safe"),
        default_on="MySQL and MariaDB set SO_KEEPALIVE on each client connection after accept()",
        directive="tcp_keepalive_time",
    ),
    Remedy(
        "socat",
        "socat",
        "socat: add `keepalive,keepidle=300,keepintvl=30,keepcnt=3` to the TCP address, e.g. "
        "`socat TCP-LISTEN:5000,fork,reuseaddr,keepalive,keepidle=300 ...` (socat sets it on "
        "each accepted connection, not on the listener).",
        names=("socat",),
        directive="keepalive,keepidle=",
        default_on=None,
    ),
    Remedy(
        "java",
        "Java",
        "Java: call `socket.setKeepAlive(true)` (or "
        "`setOption(StandardSocketOptions.SO_KEEPALIVE, true)`) "
        "and tune with `jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE`/`TCP_KEEPINTERVAL`/`TCP_KEEPCOUNT` "
        "(JDK 11+); for JDBC use the driver's `tcpKeepAlive=true`.",
        names=("java",),
        directive="jdk.net.ExtendedSocketOptions",
    ),
    Remedy(
        "node",
        "Node.js",
        "Node.js: `socket.setKeepAlive(true, 300000)` in the server's 'connection' handler, or "
        "`net.createServer({keepAlive: true, keepAliveInitialDelay: 300000})` (Node 16.5+; "
        "`http.createServer` takes the same options). `server.keepAliveTimeout` is HTTP "
        "keep-alive, not TCP.",
        names=("node", "nodejs"),
        directive="setKeepAlive",
    ),
    Remedy(
        "python",
        "Python",
        "Python: `sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)` and `socket.TCP_KEEPIDLE`, "
        "`TCP_KEEPINTVL`, `TCP_KEEPCNT` on the listening socket (accepted sockets inherit them); asyncio: "
        "`loop.create_server(..., keep_alive=True)` (3.13+) or the same setsockopt on "
        "`transport.get_extra_info('socket')`.",
        prefixes=("python",),
        directive="SO_KEEPALIVE, 1",
    ),
    Remedy(
        "go",
        "Go",
        "Go: `net.Listen` and `net.Dial` enable keepalive by default (15 s since Go 1.13); this program "
        "turned it off (`KeepAlive < 0`) or wraps the socket itself. Set `net.ListenConfig{KeepAlive: 5 * "
        "time.Minute}` (or, Go 1.23+, `KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: ..., "
        "Interval: ..., Count: ...}`) and the same on `net.Dialer`. A static Go binary "
        "ignores LD_PRELOAD: "
        "libkeepalive cannot help.",
        default_on="Go's net package enables keepalive (15 s) on accepted and dialed connections",
        directive="net.ListenConfig",
    ),
    Remedy(
        "static",
        "Static binaries",
        "Statically linked program (no ELF interpreter): LD_PRELOAD and libkeepalive have no "
        "effect on it. "
        "Use the program's own keepalive setting, or change it to set SO_KEEPALIVE (and TCP_KEEPIDLE, "
        "TCP_KEEPINTVL, TCP_KEEPCNT) on its listening sockets.",
        directive="LD_PRELOAD",
    ),
    Remedy(
        "libkeepalive",
        "Anything else (dynamically linked, glibc)",
        "No built-in setting known: preload libkeepalive (`LD_PRELOAD=libkeepalive.so KEEPALIVE=on "
        "KEEPIDLE=300 KEEPINTVL=30 KEEPCNT=3`, e.g. via `Environment=` in a systemd drop-in), or fix the "
        "application to set SO_KEEPALIVE.",
        directive="libkeepalive",
    ),
)
REMEDY_BY_ID = {remedy.id: remedy for remedy in REMEDIES}


@dataclass(frozen=True)
class ElfFacts:
    elf: bool
    static: bool = False  # no PT_INTERP: the dynamic loader never runs, LD_PRELOAD is ignored
    go: bool = False


_PT_INTERP = 3
_GO_SECTIONS = (b".go.buildinfo", b".note.go.buildid")
_MAX_SECTIONS = 4096


def elf_facts(path: str) -> ElfFacts:
    """Whether `path` is an ELF file, statically linked, built by Go. Any read problem: not an ELF."""
    try:
        with open(path, "rb") as handle:
            return _elf_facts(handle)
    except (OSError, struct.error, ValueError):
        return ElfFacts(elf=False)


def _elf_facts(handle) -> ElfFacts:
    ident = handle.read(64)
    if len(ident) < 52 or ident[:4] != b"\x7fELF":
        return ElfFacts(elf=False)
    wide = ident[4] == 2
    order = "<" if ident[5] == 1 else ">"
    if wide:
        phoff, shoff = struct.unpack_from(order + "QQ", ident, 32)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(order + "HHHHH", ident, 54)
    else:
        phoff, shoff = struct.unpack_from(order + "II", ident, 28)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(order + "HHHHH", ident, 42)
    handle.seek(phoff)
    program = handle.read(phentsize * phnum)
    interp = any(
        struct.unpack_from(order + "I", program, index * phentsize)[0] == _PT_INTERP
        for index in range(len(program) // max(phentsize, 1))
    )
    go = _has_go_section(handle, order, wide, shoff, shentsize, shnum, shstrndx)
    return ElfFacts(elf=True, static=not interp, go=go)


def _has_go_section(
    handle, order: str, wide: bool, shoff: int, shentsize: int, shnum: int, shstrndx: int
) -> bool:
    if not shoff or not shnum or shnum > _MAX_SECTIONS or shstrndx >= shnum:
        return False
    handle.seek(shoff)
    table = handle.read(shentsize * shnum)
    name_offset, offset_at, size_fmt = (0, 24, "QQ") if wide else (0, 16, "II")
    strtab_entry = shstrndx * shentsize
    strtab_offset, strtab_size = struct.unpack_from(order + size_fmt, table, strtab_entry + offset_at)
    handle.seek(strtab_offset)
    names = handle.read(min(strtab_size, 1 << 20))
    for index in range(len(table) // max(shentsize, 1)):
        start = struct.unpack_from(order + "I", table, index * shentsize + name_offset)[0]
        end = names.find(b"\0", start)
        if names[start:end] in _GO_SECTIONS:
            return True
    return False


def _preloads_libkeepalive(pid: int | None, root: str) -> bool:
    if pid is None:
        return False
    try:
        with open(os.path.join(root, "proc", str(pid), "maps"), "rb") as handle:
            return b"libkeepalive" in handle.read(1 << 20)
    except OSError:
        return False


def remedy_for(comm: str | None, exe: str | None, pid: int | None, root: str = "/") -> Remedy:
    """The table entry for this program: a known daemon by name, else its runtime, else libkeepalive."""
    if pid == 1 or comm == "systemd":
        return REMEDY_BY_ID["systemd_socket"]
    base = os.path.basename(exe or "")
    if base.endswith(" (deleted)"):
        base = base[: -len(" (deleted)")]
    names = {comm or "", base}
    for remedy in REMEDIES:
        if names & set(remedy.names) or any(
            name.startswith(remedy.prefixes) for name in names if name and remedy.prefixes
        ):
            return remedy
    if pid is not None:
        facts = elf_facts(os.path.join(root, "proc", str(pid), "exe"))
        if facts.go:
            return REMEDY_BY_ID["go"]
        if facts.elf and facts.static:
            return REMEDY_BY_ID["static"]
    return REMEDY_BY_ID["libkeepalive"]


def hint_for(remedy: Remedy, keepalive_seen: bool, pid: int | None = None, root: str = "/") -> str:
    """services[].hint: the fix, prefixed by what is already on where the scan saw it."""
    if remedy.id == "libkeepalive" and _preloads_libkeepalive(pid, root):
        return (
            "libkeepalive is already preloaded in this process: check its environment (`KEEPALIVE=on`, "
            "`KEEPIDLE`, `KEEPINTVL`, `KEEPCNT`); it sets SO_KEEPALIVE at socket() time. " + remedy.hint
        )
    if keepalive_seen and remedy.default_on:
        return f"Already on: {remedy.default_on}; the connections seen have it. To tune it: {remedy.hint}"
    if keepalive_seen:
        return f"Already on for the connections seen. To make it persistent or tune it: {remedy.hint}"
    return remedy.hint


def remediation_hint(comm: str | None, exe: str | None, pid: int | None, root: str = "/") -> str:
    """The directive that turns keepalive on for this program (no scan evidence)."""
    return hint_for(remedy_for(comm, exe, pid, root), False, pid, root)
