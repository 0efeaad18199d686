# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario default: tcp.keepalive.configure with its defaults (600/60/5) on bookworm.

The tests run in file order; the last one restarts the container ("reboot") and runs the loader.
"""

from __future__ import annotations

FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
EXPECTED = {"time": 600, "intvl": 60, "probes": 5}


def test_live_values_are_the_role_defaults(node):
    assert node.live() == EXPECTED


def test_file_sets_each_key_once_and_keeps_other_content(node):
    definitions = node.definitions(FILE)
    ours = node.keepalive_definitions(FILE)
    assert ours == sorted((f"net.ipv4.tcp_keepalive_{k}", str(v)) for k, v in EXPECTED.items()), (
        f"{FILE} should define each keepalive key exactly once with the role's value, found {ours}"
    )
    assert ("net.ipv4.tcp_fin_timeout", "30") in [(key, value) for _line, key, value in definitions]
    content = node.host.file(FILE).content_string
    assert "# Managed by hand before tcp.keepalive.configure (this comment must survive)" in content


def test_file_is_root_owned_and_world_readable(node):
    file = node.host.file(FILE)
    assert file.user == "root"
    assert file.mode & 0o644 == 0o644
    assert not file.mode & 0o022, f"{FILE} must not be group/world writable, mode {oct(file.mode)}"


def test_values_survive_restart_under_the_procps_loader(node):
    node.restart()
    node.load_procps()
    assert node.live() == EXPECTED


def test_values_survive_restart_under_systemd_sysctl(node):
    node.restart()
    node.load_systemd()
    assert node.live() == EXPECTED
