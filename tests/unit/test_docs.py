# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/ stays true to the code: findings table, reference pages, links, numbers.

The slower checks that run external tools (antsibull-docs lint-collection-docs --plugin-docs,
antsibull-changelog lint, docs/reference/ regenerated from ansible-doc and compared) live in
`scripts/docs.sh --check`, which scripts/test.sh runs; they are not repeated here to keep pytest fast.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from types import ModuleType

from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    FINDINGS,
    KERNEL_DEFAULTS,
    LIMITS,
    detection_time,
)
from ansible_collections.tcp.keepalive.tests.unit.source_loader import load_tool

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
BIN = Path(sys.executable).parent


def _collections_root() -> str:
    # tests/conftest.py put the collections root (holding ansible_collections/tcp/keepalive) on sys.path.
    for entry in sys.path:
        if (Path(entry) / "ansible_collections" / "tcp" / "keepalive" / "galaxy.yml").is_file():
            return entry
    raise AssertionError("tests/conftest.py did not make tcp.keepalive importable")


def _env() -> dict:
    return dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=_collections_root(),
        ANSIBLE_NOCOLOR="1",
    )


def _markdown_pages() -> list:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md")), *sorted(REPO.glob("roles/*/README.md"))]


def _findings_table() -> dict:
    """docs/findings.md's table: id -> (severity, check cell)."""
    rows = {}
    for line in (DOCS / "findings.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| ([^|]*?) \| ([^|]*?) \|", line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} listed twice in docs/findings.md"
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def _check_cell(fid: str) -> str:
    """What the Check column says for a finding id: its check, and its boot-scope check when it has one."""
    kind = FINDINGS[fid]
    if kind.boot_check is None:
        return f"`{kind.check}`"
    return f"`{kind.check}` (scope {kind.scope}), `{kind.boot_check}` (scope boot)"


def test_findings_page_lists_every_finding_id_with_its_severity_and_check() -> None:
    documented = _findings_table()
    missing = sorted(set(FINDINGS) - set(documented))
    unknown = sorted(set(documented) - set(FINDINGS))
    assert not missing, f"finding ids not in docs/findings.md: {missing}"
    assert not unknown, f"docs/findings.md lists ids the code does not have: {unknown}"
    wrong = {
        i: (documented[i][0], FINDINGS[i].severity)
        for i in documented
        if documented[i][0] != FINDINGS[i].severity
    }
    assert not wrong, f"severity in docs vs code (_common.FINDINGS): {wrong}"
    wrong = {i: (documented[i][1], _check_cell(i)) for i in documented if documented[i][1] != _check_cell(i)}
    assert not wrong, f"check in docs vs code (_common.FINDINGS): {wrong}"


def _doc_checks() -> ModuleType:
    return load_tool("doc_checks")  # the one link checker, shared with scripts/docs.sh


def test_relative_links_in_docs_resolve() -> None:
    broken = _doc_checks().broken_links(REPO)
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_checker_finds_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("ok")
    (tmp_path / "README.md").write_text(
        "[a](docs/here.md) [b](docs/gone.md#x) [c](https://x.invalid/y) [d](#top) [e](docs/here.md#s)"
    )
    assert _doc_checks().broken_links(tmp_path) == ["README.md -> docs/gone.md#x"]


def test_numbers_in_the_prose_match_the_code() -> None:
    text = (DOCS / "ghost-connections.md").read_text(encoding="utf-8")
    t, i, p = (KERNEL_DEFAULTS[k] for k in ("time", "intvl", "probes"))
    assert f"{t} + {i} * {p} = {detection_time(t, i, p)}" in text
    assert f"{t} / {i} / {p}" in text
    troubleshooting = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    assert f"1..{LIMITS['time'][1]}" in troubleshooting and f"1..{LIMITS['probes'][1]}" in troubleshooting


def test_docs_index_names_every_module_and_role() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    modules = [p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_")]
    roles = [p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml")]
    missing = [f"tcp.keepalive.{name}" for name in modules + roles if f"`tcp.keepalive.{name}`" not in index]
    assert not missing, f"docs/README.md does not mention: {missing}"


def test_every_module_and_role_has_a_reference_page() -> None:
    reference = DOCS / "reference"
    modules = [p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_")]
    roles = [p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml")]
    assert modules or roles, "the collection has no modules or roles"
    missing = [f"{m}_module.md" for m in modules if not (reference / f"{m}_module.md").is_file()]
    missing += [f"{r}_role.md" for r in roles if not (reference / f"{r}_role.md").is_file()]
    assert not missing, f"docs/reference lacks: {missing}"
