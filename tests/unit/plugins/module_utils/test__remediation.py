# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_remediation: the hint table against docs/remediation.md; runtimes detected from real and crafted ELF
files."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._remediation import (
    REMEDIES,
    REMEDY_BY_ID,
    elf_facts,
    hint_for,
    remedy_for,
)

DOC = (Path(__file__).resolve().parents[4] / "docs" / "remediation.md").read_text(encoding="utf-8")


def doc_row(name: str) -> str:
    rows = [line for line in DOC.splitlines() if line.startswith(f"| **{name}**")]
    assert rows, f"docs/remediation.md has no row for {name!r}"
    return "\n".join(rows)


@pytest.mark.parametrize("remedy", REMEDIES, ids=lambda remedy: remedy.id)
def test_every_table_entry_has_its_row_and_directive_in_the_docs(remedy):
    assert remedy.directive and remedy.directive in remedy.hint
    assert remedy.directive in doc_row(remedy.name)


def test_ids_are_unique():
    assert len(REMEDY_BY_ID) == len(REMEDIES)


def elf(path: Path, interp: bool, sections: tuple[bytes, ...] = ()) -> str:
    """A minimal little-endian ELF64: program headers (PT_LOAD, plus PT_INTERP if asked) and a section
    header table with a .shstrtab holding `sections`."""
    names = b"\0" + b"".join(name + b"\0" for name in (*sections, b".shstrtab"))
    phnum = 2 if interp else 1
    phoff, phentsize, shentsize = 64, 56, 64
    strtab_off = phoff + phnum * phentsize
    shoff = strtab_off + len(names)
    shnum = 1 + len(sections) + 1
    header = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, phoff, shoff, 0, 64, phentsize, phnum, shentsize, shnum, shnum - 1
    )
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, 0, 0, 0)
    if interp:
        program += struct.pack("<IIQQQQQQ", 3, 4, 0, 0, 0, 0, 0, 0)
    table = b"\0" * shentsize
    offset = 1
    for name in (*sections, b".shstrtab"):
        size = len(names) if name == b".shstrtab" else 0
        where = strtab_off if name == b".shstrtab" else 0
        table += struct.pack("<IIQQQQIIQQ", offset, 1, 0, 0, where, size, 0, 0, 1, 0)
        offset += len(name) + 1
    path.write_bytes(header + program + names + table)
    return str(path)


def test_elf_facts_on_crafted_binaries(tmp_path):
    assert elf_facts(elf(tmp_path / "dyn", interp=True)).static is False
    static = elf_facts(elf(tmp_path / "static", interp=False))
    assert static.elf and static.static and not static.go
    go = elf_facts(elf(tmp_path / "go", interp=False, sections=(b".text", b".go.buildinfo")))
    assert go.static and go.go
    (tmp_path / "script").write_text("#!/bin/sh\n")
    assert elf_facts(str(tmp_path / "script")).elf is False
    assert elf_facts(str(tmp_path / "missing")).elf is False
    (tmp_path / "truncated").write_bytes(b"\x7fELF\x02\x01")
    assert elf_facts(str(tmp_path / "truncated")).elf is False


def test_elf_facts_on_this_hosts_binaries():
    ls = elf_facts(shutil.which("ls"))
    assert ls.elf and not ls.static and not ls.go
    go_binary = next(
        (
            path
            for path in ("/usr/bin/containerd", "/usr/bin/runc", "/usr/bin/dockerd")
            if os.path.exists(path)
        ),
        None,
    )
    if go_binary is None:
        pytest.skip("no Go binary on this host")
    assert elf_facts(go_binary).go


def proc_with_exe(root: Path, pid: int, target: str, comm: str) -> None:
    base = root / "proc" / str(pid)
    base.mkdir(parents=True)
    os.symlink(target, base / "exe")
    (base / "maps").write_text("")
    (base / "comm").write_text(comm + "\n")


@pytest.mark.parametrize(
    ("comm", "exe", "expected"),
    [
        ("postgres", "/usr/lib/postgresql/15/bin/postgres", "postgresql"),
        ("mariadbd", "/usr/sbin/mariadbd", "mariadb"),
        ("socat", "/usr/bin/socat", "socat"),
        ("node", "/usr/bin/node", "node"),
        ("nodejs", "/usr/bin/nodejs", "node"),
        ("java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java"),
        ("python3", "/usr/bin/python3.11", "python"),
        ("sshd", "/usr/sbin/sshd", "openssh"),
        ("systemd", "/usr/lib/systemd/systemd", "systemd_socket"),
    ],
)
def test_daemons_and_runtimes_by_name(comm, exe, expected):
    assert remedy_for(comm, exe, None).id == expected


def test_runtime_from_the_executable(tmp_path):
    server = elf(tmp_path / "server", interp=False, sections=(b".go.buildinfo",))
    proc_with_exe(tmp_path, 40, server, "server")
    proc_with_exe(tmp_path, 41, elf(tmp_path / "tool", interp=False), "tool")
    proc_with_exe(tmp_path, 42, elf(tmp_path / "app", interp=True), "app")
    go = remedy_for("server", str(tmp_path / "server"), 40, str(tmp_path))
    assert go.id == "go" and "net.ListenConfig" in go.hint and "ignores LD_PRELOAD" in go.hint
    static = remedy_for("tool", str(tmp_path / "tool"), 41, str(tmp_path))
    assert static.id == "static" and "LD_PRELOAD=" not in static.hint
    assert remedy_for("app", str(tmp_path / "app"), 42, str(tmp_path)).id == "libkeepalive"


def test_hint_says_already_on_where_the_daemon_does_it(tmp_path):
    postgres = REMEDY_BY_ID["postgresql"]
    assert hint_for(postgres, keepalive_seen=True).startswith("Already on: PostgreSQL sets SO_KEEPALIVE")
    assert hint_for(postgres, keepalive_seen=False) == postgres.hint
    proc_with_exe(tmp_path, 50, "/usr/bin/nc.openbsd", "nc")
    (tmp_path / "proc" / "50" / "maps").write_text("7f00-7f01 r-xp 0 08:01 12 /usr/lib/libkeepalive.so\n")
    assert hint_for(REMEDY_BY_ID["libkeepalive"], False, 50, str(tmp_path)).startswith(
        "libkeepalive is already preloaded"
    )
