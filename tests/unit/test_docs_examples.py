# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES extractor of molecule/examples, and a fast pre-check of every module's EXAMPLES block.

The examples themselves run in a container in the `examples` Molecule scenario; this catches a missing or
malformed block (and an extractor that would silently skip one) in a plain pytest run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.tests.unit.source_loader import load_source

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))


extract_examples = load_source("extract_examples", REPO / "molecule" / "examples" / "extract_examples.py")


def test_the_collection_has_modules() -> None:
    assert MODULES, "plugins/modules holds no module"


@pytest.mark.parametrize("module", MODULES, ids=[m.stem for m in MODULES])
def test_module_examples_are_named_tasks_using_fqcn(module: Path) -> None:
    text = extract_examples.examples_text(module)
    assert extract_examples.check_tasks(module, text) >= 1
    fqcn = f"tcp.keepalive.{module.stem}"
    assert f"{fqcn}:" in text, f"{module.name}: EXAMPLES never calls {fqcn}"


def test_extract_writes_one_task_file_per_module_verbatim(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "_private.py").write_text("EXAMPLES = 'not a module'\n")
    (modules / "alpha.py").write_text(
        'DOCUMENTATION = r"""x"""\nEXAMPLES = r"""\n- name: One\n  tcp.keepalive.alpha:\n    a: 1\n'
        '- name: Two\n  ansible.builtin.debug:\n    msg: "{{ x }}"\n"""\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.yml").write_text("- name: from an earlier run\n")
    counts = extract_examples.extract(modules, out)
    assert counts == {"alpha": 2}
    assert sorted(p.name for p in out.iterdir()) == ["alpha.yml", "index.json"]
    text = (out / "alpha.yml").read_text()
    assert text.startswith("---\n# EXAMPLES of alpha.py")
    assert '- name: Two\n  ansible.builtin.debug:\n    msg: "{{ x }}"\n' in text
    assert json.loads((out / "index.json").read_text()) == {"alpha": 2}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('DOCUMENTATION = "x"\n', "no EXAMPLES block"),
        ("EXAMPLES = r'''\n'''\n", "non-empty list of tasks"),
        ("EXAMPLES = r'''\n- tcp.keepalive.beta:\n'''\n", "not a mapping with a name"),
        ("EXAMPLES = r'''\n- name: [unclosed\n'''\n", "not valid YAML"),
        ("EXAMPLES = 'a' + 'b'\n", "not a plain string"),
        ("def broken(:\n", "cannot parse"),
    ],
)
def test_extract_fails_clearly_on_a_bad_block(tmp_path: Path, source: str, problem: str) -> None:
    (tmp_path / "beta.py").write_text(source)
    with pytest.raises(extract_examples.ExampleError, match=problem):
        extract_examples.extract(tmp_path, tmp_path / "out")
