# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/molecule_platforms.py, which scripts/molecule.sh runs to find the containers of a scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.tcp.keepalive.tests.unit.source_loader import load_tool

REPO = Path(__file__).resolve().parents[2]


molecule_platforms = load_tool("molecule_platforms")

SCENARIO = """\
---
driver:
  name: docker
platforms:
  - name: demo-server  # scenario-prefixed
    image: tcp-keepalive/debian:bookworm
    labels:
      tcp-keepalive.scenario: demo
  - name: demo-client
    image: tcp-keepalive/debian:trixie
verifier:
  name: testinfra
"""


def _printed(capsys: pytest.CaptureFixture[str], *paths: Path) -> list[str]:
    assert molecule_platforms.main([str(path) for path in paths]) == 0
    out = capsys.readouterr().out
    assert out == "".join(f"{line}\n" for line in out.splitlines()), "one name per line"
    return out.splitlines()


def test_prints_each_platform_name_in_file_order(tmp_path, capsys):
    path = tmp_path / "molecule.yml"
    path.write_text(SCENARIO, encoding="utf-8")
    assert _printed(capsys, path) == ["demo-server", "demo-client"]
    assert molecule_platforms.platform_names(path) == ["demo-server", "demo-client"]


@pytest.mark.parametrize(
    "text", ["", "---\n", "driver:\n  name: docker\n", "platforms:\n", "platforms: []\n"]
)
def test_a_scenario_without_platforms_prints_nothing(tmp_path, capsys, text):
    path = tmp_path / "molecule.yml"
    path.write_text(text, encoding="utf-8")
    assert _printed(capsys, path) == []


def test_several_files_print_their_names_in_turn(tmp_path, capsys):
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text(SCENARIO, encoding="utf-8")
    second.write_text("platforms:\n  - name: other-bookworm\n", encoding="utf-8")
    assert _printed(capsys, first, second) == ["demo-server", "demo-client", "other-bookworm"]


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(OSError):
        molecule_platforms.main([str(tmp_path / "absent.yml")])


SCENARIO_FILES = sorted(REPO.glob("molecule/*/molecule.yml"))


def test_the_repository_has_scenarios():
    assert SCENARIO_FILES, "no molecule/*/molecule.yml found"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda path: path.parent.name)
def test_the_names_of_each_repository_scenario_are_its_platform_names(path, capsys):
    platforms = yaml.safe_load(path.read_text(encoding="utf-8"))["platforms"]
    wanted = [platform["name"] for platform in platforms]
    assert wanted and all(isinstance(name, str) and name for name in wanted), path
    assert _printed(capsys, path) == wanted
    # scenarios run in parallel: each container name is prefixed by its scenario's name
    assert all(name.startswith(path.parent.name + "-") for name in wanted), wanted
