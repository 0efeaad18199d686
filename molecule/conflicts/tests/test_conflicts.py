# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario conflicts: what each on_conflict outcome leaves on disk, and the boot value it produces.

converge.yml already asserted the module's results (and that failures changed nothing). Here each host is
restarted (fresh namespace at 7200/75/9) and the real loaders run, restricted to our keys: the values they
produce prove which definition wins at boot. Tests run per host in file order; restarts come last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

ROLE_FILE = "/etc/sysctl.d/60-tcp-keepalive.conf"
ROLE_VALUES = {"time": 600, "intvl": 60, "probes": 5}
DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}


@dataclass(frozen=True)
class Case:
    live: dict  # live values after converge
    boot: dict  # values after restart + either loader (both agree in every case here)
    role_file: str | None  # where the role's values must be persisted (None: nothing written)
    untouched: dict = field(default_factory=dict)  # path -> (key, value) still an active definition
    commented: dict = field(default_factory=dict)  # path -> (key, value) commented out, with a backup
    masks: tuple = ()  # same-name symlinks to /dev/null that must still be in place


CASES = {
    # /etc/sysctl.conf is read last by procps and via /etc/sysctl.d/99-sysctl.conf by systemd-sysctl.
    "conflicts-fail": Case(
        live=DEFAULTS,
        boot={"time": 7000, "intvl": 75, "probes": 9},
        role_file=None,
        untouched={"/etc/sysctl.conf": ("net.ipv4.tcp_keepalive_time", "7000")},
    ),
    "conflicts-warn": Case(
        live=ROLE_VALUES,
        boot={"time": 600, "intvl": 20, "probes": 5},
        role_file=ROLE_FILE,
        untouched={"/etc/sysctl.d/90-tuning.conf": ("net.ipv4.tcp_keepalive_intvl", "20")},
    ),
    "conflicts-comment": Case(
        live=ROLE_VALUES,
        boot=ROLE_VALUES,
        role_file=ROLE_FILE,
        untouched={"/etc/sysctl.d/90-tuning.conf": ("net.ipv4.tcp_fin_timeout", "30")},
        commented={"/etc/sysctl.d/90-tuning.conf": ("net.ipv4.tcp_keepalive_probes", "20")},
    ),
    "conflicts-vendor": Case(
        live=DEFAULTS,
        boot={"time": 3600, "intvl": 75, "probes": 9},
        role_file=None,
        untouched={"/usr/lib/sysctl.d/95-vendor.conf": ("net.ipv4.tcp_keepalive_time", "3600")},
    ),
    # The role's file exists with the right values, but a same-name /dev/null symlink in /etc/sysctl.d
    # masks it for both loaders: the module refused, and the boot values stay the kernel defaults.
    "conflicts-mask": Case(
        live=DEFAULTS,
        boot=DEFAULTS,
        role_file="/usr/local/lib/sysctl.d/60-tcp-keepalive.conf",
        masks=(ROLE_FILE,),
    ),
}


@pytest.fixture
def case(node) -> Case:
    assert node.name in CASES, f"unexpected host {node.name}: add it to CASES"
    return CASES[node.name]


def _expected_definitions(values: dict) -> list:
    return sorted((f"net.ipv4.tcp_keepalive_{key}", str(value)) for key, value in values.items())


def test_live_values_after_converge(node, case):
    assert node.live() == case.live


def test_role_file(node, case):
    if case.role_file is None:
        assert not node.host.file(ROLE_FILE).exists, f"{ROLE_FILE} must not be written when the module fails"
    else:
        assert node.keepalive_definitions(case.role_file) == _expected_definitions(ROLE_VALUES)


def test_other_definitions_left_in_place(node, case):
    for path, definition in case.untouched.items():
        assert definition in [(key, value) for _line, key, value in node.definitions(path)], (
            f"{node.name}: {path} should still define {definition[0]} = {definition[1]}"
        )


def test_masks_left_in_place(node, case):
    for path in case.masks:
        mask = node.host.file(path)
        assert mask.is_symlink and mask.linked_to == "/dev/null", f"{node.name}: {path} is no longer a mask"


def test_comment_out_disabled_only_the_conflicting_line_and_kept_a_backup(node, case):
    backups = node.run("ls -d /etc/sysctl.conf.*~ /etc/sysctl.d/*~ 2>/dev/null || true").split()
    expected = list(case.commented)
    assert sorted(backup.split(".conf.")[0] + ".conf" for backup in backups) == sorted(expected), (
        f"{node.name}: backups {backups}, expected one for each of {expected}"
    )
    for path, (key, value) in case.commented.items():
        active = [found for _line, found, _value in node.definitions(path)]
        assert key not in active, f"{path} still sets {key}"
        content = node.host.file(path).content_string
        assert "# Site tuning (hand-written; tcp.keepalive must keep everything but its own keys)" in content
        assert f"{key} = {value}" in content, f"{path}: the line must be commented out, not deleted"
        backup = next(backup for backup in backups if backup.startswith(path + "."))
        assert (key, value) in [(found, text) for _line, found, text in node.definitions(backup)]


def test_boot_values_under_procps(node, case):
    node.restart()
    node.load_procps()
    assert node.live() == case.boot


def test_boot_values_under_systemd_sysctl(node, case):
    node.restart()
    node.load_systemd()
    assert node.live() == case.boot
