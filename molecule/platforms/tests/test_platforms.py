# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario platforms: the configure role (900/30/4) on bullseye, bookworm, trixie and a minimal image.

Tests run per host in file order; the restart tests come last.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
EXPECTED = {"time": 900, "intvl": 30, "probes": 4}


@dataclass(frozen=True)
class Platform:
    python: str
    loaders: bool  # procps sysctl and systemd-sysctl installed


PLATFORMS = {
    "platforms-bullseye": Platform(python="3.9", loaders=True),
    "platforms-bookworm": Platform(python="3.11", loaders=True),
    "platforms-trixie": Platform(python="3.13", loaders=True),
    "platforms-minimal": Platform(python="3.11", loaders=False),
}


@pytest.fixture
def platform(node) -> Platform:
    assert node.name in PLATFORMS, f"unexpected host {node.name}: add it to PLATFORMS"
    return PLATFORMS[node.name]


def test_the_image_is_the_platform_we_claim(node, platform):
    version = node.run("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'").strip()
    assert version == platform.python
    has_sysctl = node.host.run("command -v sysctl").rc == 0
    has_systemd_sysctl = node.has_binary("/lib/systemd/systemd-sysctl")
    assert (has_sysctl, has_systemd_sysctl) == (platform.loaders, platform.loaders), (
        f"{node.name}: sysctl present={has_sysctl}, systemd-sysctl present={has_systemd_sysctl}, "
        f"expected both {platform.loaders}"
    )


def test_live_values(node):
    assert node.live() == EXPECTED


def test_file_defines_each_key_once(node):
    expected = sorted((f"net.ipv4.tcp_keepalive_{key}", str(value)) for key, value in EXPECTED.items())
    assert node.keepalive_definitions(FILE) == expected


def test_after_restart_the_procps_loader_restores_the_values(node, platform):
    node.restart()
    if platform.loaders:
        node.load_procps()
        assert node.live() == EXPECTED
    else:
        # No loader binary exists on this image, so nothing can apply the file at boot: the values stay at
        # the kernel defaults (restart() checked them) while the file still holds ours.
        assert node.host.run("command -v sysctl").rc != 0
        assert not node.has_binary("/lib/systemd/systemd-sysctl")
        assert node.live() != EXPECTED
        test_file_defines_each_key_once(node)


def test_after_restart_systemd_sysctl_restores_the_values(node, platform):
    node.restart()
    if platform.loaders:
        node.load_systemd()
        assert node.live() == EXPECTED
    else:
        assert not node.has_binary("/lib/systemd/systemd-sysctl")
        assert node.host.run("command -v systemd-sysctl").rc != 0
        test_file_defines_each_key_once(node)
