# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mountns.empty_dirs_script(): the loader tests' directories, empty inside a private mount namespace, the
host unchanged, whether the host has each directory or not."""

from __future__ import annotations

import os
import shutil

import pytest
from ansible_collections.tcp.keepalive.tests.integration.mountns import (
    empty_dirs_script,
    nearest_existing,
    run_private,
)

pytestmark = pytest.mark.netns


def test_nearest_existing():
    assert nearest_existing("/etc") == "/etc"
    assert nearest_existing("/etc/no-such-dir.d/deeper") == "/etc"
    assert nearest_existing("/no-such-top/x") == "/"


def test_missing_and_present_directories_are_empty_inside_and_untouched_outside(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1)")
    present = tmp_path / "present.d"
    present.mkdir()
    (present / "host.conf").write_text("host file\n")
    missing = tmp_path / "parent" / "missing.d"  # two levels that do not exist
    (tmp_path / "sibling.txt").write_text("kept\n")
    layers = tmp_path / "layers"
    layers.mkdir()
    dirs = (str(present), str(missing))
    script = "\n".join(
        [
            *empty_dirs_script(dirs, str(layers)),
            f"ls -A {present} | wc -l; ls -A {missing} | wc -l",
            f"echo x > {missing}/new.conf; echo y > {present}/new.conf; cat {tmp_path}/sibling.txt",
        ]
    )
    done = run_private(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0", "kept"]  # both empty inside; the parent keeps its contents
    assert not (tmp_path / "parent").exists()  # nothing was created on the host
    assert sorted(os.listdir(present)) == ["host.conf"]
    assert sorted(os.listdir(tmp_path)) == ["layers", "present.d", "sibling.txt"]
    assert os.listdir(layers) == []  # the layers lived on a tmpfs of the namespace
