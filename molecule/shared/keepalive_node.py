# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Testinfra helpers shared by the scenarios default, platforms and conflicts (via their tests/conftest.py).

`node` wraps a testinfra host (a Molecule docker container) with what the keepalive tests need: the live
values of the three sysctls, the definitions in a sysctl.d file, and an honest "reboot": `docker restart`
(a fresh network namespace at the kernel defaults 7200/75/9) followed by the real boot loader restricted
to our keys (a container with SYS_ADMIN could otherwise write host-global sysctls).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest

KEYS = ("time", "intvl", "probes")
KEY_PREFIX = "net.ipv4.tcp_keepalive_"
KERNEL_DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}
PROCPS_PATTERN = r"^-?/?net[./]ipv4[./]tcp_keepalive_"
SYSTEMD_SYSCTL = "/lib/systemd/systemd-sysctl"
SYSTEMD_PREFIXES = " ".join(f"--prefix=net.ipv4.tcp_keepalive_{key}" for key in KEYS)
_ASSIGNMENT = re.compile(r"^\s*-?\s*(?P<key>[^=\s]+)\s*=\s*(?P<value>.*?)\s*$")


def parse_definitions(text: str) -> list[tuple[int, str, str]]:
    """(line number, dotted key, value) for every assignment in a sysctl.d file's text."""
    found = []
    # Lines end at "\n" as the loaders (and an editor) count them; str.splitlines() would also split at
    # \v, \f, \x1c-\x1e, \x85 and \u2028 (issue 11 item 3).
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.lstrip()[:1] in ("#", ";", ""):
            continue
        match = _ASSIGNMENT.match(line)
        if match:
            found.append((number, match["key"].replace("/", "."), match["value"]))
    return found


@dataclass
class Node:
    host: object  # testinfra.host.Host

    @property
    def name(self) -> str:
        return self.host.backend.get_hostname()

    def run(self, command: str, expect_rc: int | None = 0) -> str:
        result = self.host.run(command)
        if expect_rc is not None:
            assert result.rc == expect_rc, (
                f"{self.name}: `{command}` exited {result.rc}, expected {expect_rc}: "
                f"stdout={result.stdout!r} stderr={result.stderr!r}"
            )
        return result.stdout

    def live(self) -> dict[str, int]:
        """The three values in the container's network namespace, read from /proc/sys."""
        return {
            key: int(self.host.file(f"/proc/sys/net/ipv4/tcp_keepalive_{key}").content_string.strip())
            for key in KEYS
        }

    def definitions(self, path: str) -> list[tuple[int, str, str]]:
        file = self.host.file(path)
        assert file.exists, f"{self.name}: {path} does not exist"
        return parse_definitions(file.content_string)

    def keepalive_definitions(self, path: str) -> list[tuple[str, str]]:
        """Sorted (dotted key, value) of the keepalive keys a file defines (duplicates kept)."""
        found = self.definitions(path)
        return sorted((key, value) for _line, key, value in found if key.startswith(KEY_PREFIX))

    def has_binary(self, path: str) -> bool:
        return self.host.file(path).exists

    def restart(self) -> None:
        """`docker restart` the container and check it came back in a fresh namespace at the defaults."""
        subprocess.run(["docker", "restart", "-t", "0", self.name], check=True, capture_output=True)
        fresh = self.live()
        assert fresh == KERNEL_DEFAULTS, (
            f"{self.name}: a restarted container must start at {KERNEL_DEFAULTS}, got {fresh}"
        )

    def load_procps(self) -> str:
        """Run the real procps loader (`sysctl --system`) restricted to our keys."""
        return self.run(f"sysctl --pattern '{PROCPS_PATTERN}' --system")

    def load_systemd(self) -> str:
        """Run the real systemd-sysctl loader restricted to our keys (prefixes match whole components)."""
        return self.run(f"{SYSTEMD_SYSCTL} {SYSTEMD_PREFIXES}")


@pytest.fixture
def node(host) -> Node:
    return Node(host)
