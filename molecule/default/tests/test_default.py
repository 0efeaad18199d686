# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario default: tcp.keepalive.configure with its defaults (600/60/5) on bookworm.

The tests run in file order; the last one restarts the container ("reboot") and runs the loader.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

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


def _run_converge(node, *args: str) -> subprocess.CompletedProcess:
    """Run this scenario's converge.yml against the node again, with extra ansible-playbook arguments."""
    command = [
        "ansible-playbook",
        "--inventory",
        os.environ["MOLECULE_INVENTORY_FILE"],
        "--limit",
        node.name,
        *args,
        str(Path(__file__).resolve().parents[1] / "converge.yml"),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_check_and_diff_mode_show_the_change_and_change_nothing(node):
    """The role in --check --diff with another time: reported changed, diff shown, nothing written."""
    before = node.host.file(FILE).content_string
    run = _run_converge(node, "--check", "--diff", "--extra-vars", "tcp_keepalive_time=1200")
    assert run.returncode == 0, f"check mode run failed:\n{run.stdout}\n{run.stderr}"
    assert re.search(rf"{node.name}\s*:.*\bchanged=1\b", run.stdout), run.stdout
    assert f"+++ after: {FILE}" in run.stdout, f"no diff of {FILE}:\n{run.stdout}"
    file_diff = run.stdout.split(f"+++ after: {FILE}", 1)[1]
    assert re.search(r"^\+net[./]ipv4[./]tcp_keepalive_time\s*=\s*1200\s*$", file_diff, re.MULTILINE), (
        f"the diff of {FILE} should show the new time line:\n{run.stdout}"
    )
    assert node.live() == EXPECTED
    assert node.host.file(FILE).content_string == before


def test_out_of_range_value_fails_naming_option_and_range_and_changes_nothing(node):
    before = node.host.file(FILE).content_string
    run = _run_converge(node, "--extra-vars", "tcp_keepalive_probes=128")
    assert run.returncode != 0, f"probes=128 must fail:\n{run.stdout}"
    failure = run.stdout + run.stderr
    assert "probes" in failure and "127" in failure, f"the message should name probes and 127:\n{failure}"
    assert "Traceback" not in failure
    assert node.live() == EXPECTED
    assert node.host.file(FILE).content_string == before


def test_values_survive_restart_under_the_procps_loader(node):
    node.restart()
    node.load_procps()
    assert node.live() == EXPECTED


def test_values_survive_restart_under_systemd_sysctl(node):
    node.restart()
    node.load_systemd()
    assert node.live() == EXPECTED
