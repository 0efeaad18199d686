# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks in tools/ that scripts/ run: each finds what it is for and passes what is fine."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.tcp.keepalive.tests.unit.source_loader import load_tool

REPO = Path(__file__).resolve().parents[2]


def subscripts(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "m.py"
    path.write_text(source)
    return [line.rsplit(": ", 1)[-1] for line in load_tool("runtime_subscripts").findings(path)]


def test_runtime_alias_cast_and_default_factory_are_found(tmp_path):
    source = (
        "from __future__ import annotations\n"
        "from collections.abc import Sequence\n"
        "from typing import Optional, cast\n"
        "from dataclasses import dataclass, field\n"
        "Values = dict[str, Optional[int]]\n"
        "Holders = Sequence[int]\n"
        "x = cast(list[int], [])\n"
        "@dataclass\n"
        "class A:\n"
        "    y: dict[str, int] = field(default_factory=dict)\n"
        "    z: tuple[int, ...] = ()\n"
    )
    assert subscripts(tmp_path, source) == ["dict[str, Optional[int]]", "Sequence[int]", "list[int]"]


def test_lazy_annotations_and_typing_generics_pass(tmp_path):
    source = (
        "from __future__ import annotations\n"
        "from typing import Dict, Sequence, Tuple\n"
        "Values = Dict[str, int]\n"
        "Holders = Sequence[Tuple[int, int]]\n"
        "def f(a: dict[str, int], *b: list[int]) -> tuple[int, ...]:\n"
        "    c: set[int] = set()\n"
        "    return ()\n"
    )
    assert subscripts(tmp_path, source) == []


def test_annotations_count_without_the_future_import(tmp_path):
    assert subscripts(tmp_path, "def f(a: dict[str, int]) -> None:\n    pass\n") == ["dict[str, int]"]


def test_the_managed_node_code_has_no_runtime_subscripts():
    module = load_tool("runtime_subscripts")
    files = module.python_files([str(REPO / "plugins" / "modules"), str(REPO / "plugins" / "module_utils")])
    assert files and [line for path in files for line in module.findings(path)] == []


def importer_output(contents: list[tuple[str, str]], log: str = "", documented: bool = True) -> str:
    docs = {"doc": {}} if documented else None
    result = {
        "contents": [{"content_type": kind, "name": name} for kind, name in contents],
        "docs_blob": {
            "contents": [
                {"content_type": kind, "content_name": name, "doc_strings": docs} for kind, name in contents
            ]
        },
    }
    return (
        "Importing with galaxy-importer 0.4.44\n"
        + log
        + "Importer processing completed successfully\n"
        + json.dumps(result, indent=2)
        + "\n"
    )


def test_a_clean_import_passes():
    check = load_tool("galaxy_importer_check")
    assert check.problems(importer_output([("module", "settings"), ("filter", "verify_checks")])) == []


def test_lint_warnings_duplicates_undocumented_and_incomplete_runs_fail():
    check = load_tool("galaxy_importer_check")
    warned = importer_output([("module", "settings")], log="WARNING: roles/x/tasks/main.yml:3: bad\n")
    assert check.problems(warned) == ["WARNING: roles/x/tasks/main.yml:3: bad"]
    twice = importer_output([("filter", "verify_checks"), ("filter", "verify_checks")])
    assert check.problems(twice) == ["filter verify_checks is listed 2 times"]
    undocumented = importer_output([("module", "settings")], documented=False)
    assert check.problems(undocumented) == ["module settings has no documentation"]
    assert "did not complete" in check.problems("Importing with galaxy-importer 0.4.44\n")[0]


def test_the_get_pip_stand_in_goes_where_ansible_test_looks(tmp_path):
    pip = load_tool("ansible_test_pip")
    assert pip.pinned_pip_version("    return dict(pip='24.0', setuptools='1')") == "24.0"
    assert pip.cache_path("24.0", tmp_path) == tmp_path / ".ansible/test/cache/get_pip_24_0.py"
    compile(pip.STANDIN, "get_pip.py", "exec")


def test_a_complete_module_page_from_the_installed_copy_passes_and_gaps_are_named():
    release = load_tool("release_checks")
    page = {
        "doc": {
            "filename": "/inst/plugins/modules/m.py",
            "short_description": "s",
            "description": ["d"],
            "author": ["a"],
            "options": {"x": {"description": "x"}},
        },
        "examples": "- m:",
        "return": {"r": {}},
    }
    assert release.doc_problems("module", "tcp.keepalive.m", "/inst", {"tcp.keepalive.m": page}) == []
    page["doc"]["options"]["y"] = {}
    page["doc"]["filename"] = "/repo/plugins/modules/m.py"
    del page["examples"]
    assert release.doc_problems("module", "tcp.keepalive.m", "/inst", {"tcp.keepalive.m": page}) == [
        "tcp.keepalive.m: rendered from /repo/plugins/modules/m.py, not from /inst",
        "tcp.keepalive.m: no EXAMPLES",
        "tcp.keepalive.m: option y has no description",
    ]


def test_role_pages_need_a_main_entry_point():
    release = load_tool("release_checks")
    docs = {"tcp.keepalive.r": {"path": "/inst"}}
    assert release.doc_problems("role", "tcp.keepalive.r", "/inst", docs) == [
        "tcp.keepalive.r: no documented main entry point"
    ]


def test_reports_with_a_check_in_error_fail(tmp_path):
    release = load_tool("release_checks")
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "localhost.json").write_text(json.dumps({"host": "localhost", "status": "fail"}))
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite><testcase classname="localhost" name="timer"/>'
        '<testcase classname="localhost" name="ghosts"><error message="x"/></testcase>'
        "</testsuite></testsuites>"
    )
    problems, summary = release.report_problems(tmp_path)
    assert problems == ["checks in error (a module or the role broke): ['ghosts']"]
    assert summary == "junit.xml: 2 checks for localhost, 1 in error; status fail"
