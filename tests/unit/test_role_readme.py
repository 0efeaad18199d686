# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role READMEs stay in step with meta/argument_specs.yml (tools/role_readme.py), and the generator works."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.tests.unit.source_loader import load_tool

REPO = Path(__file__).resolve().parents[2]
SHIPPED_ROLES = ("configure", "verify")


role_readme = load_tool("role_readme")

SPEC = """\
argument_specs:
  main:
    short_description: Demo role
    description:
      - Does demo things.
    options:
      demo_time:
        type: int
        default: 300
        description: Idle seconds | before probing.
      demo_mode:
        type: str
        choices: [enforce, audit]
        default: audit
        description: What to do.
      demo_hosts:
        type: list
        elements: str
        required: true
        description:
          - Hosts to check.
          - One per item.
      demo_report:
        type: dict
        description: Report settings.
        options:
          dir:
            type: path
            default: /tmp/r
            description: Where reports go.
"""


def _role(tmp_path: Path, spec: str = SPEC, readme: str | None = None) -> Path:
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(spec, encoding="utf-8")
    if readme is not None:
        (role / "README.md").write_text(readme, encoding="utf-8")
    return role


# --- the shipped roles ------------------------------------------------------------------------------


# The shipped roles, plus any other role that has an argument spec.
ROLES_TO_CHECK = sorted(
    set(SHIPPED_ROLES) | {path.name for path in role_readme.role_dirs(REPO / "roles", [])}
)


@pytest.mark.parametrize("role", ROLES_TO_CHECK)
def test_role_readme_in_step_with_argument_specs(role: str) -> None:
    role_dir = REPO / "roles" / role
    spec = role_dir / "meta" / "argument_specs.yml"
    assert spec.is_file(), f"roles/{role}/meta/argument_specs.yml missing"
    problems = role_readme.check_role(role_dir)
    assert problems == [], "\n".join(problems)


# --- the generator on fixture trees -------------------------------------------------------------------


def test_table_rows_carry_type_default_required_choices_and_suboptions() -> None:
    import yaml

    table = role_readme.render_table(yaml.safe_load(SPEC)["argument_specs"]["main"])
    lines = table.splitlines()
    assert lines[0] == "| Variable | Type | Default | Required | Description |"
    assert "| `demo_time` | int | `300` | no | Idle seconds \\| before probing. |" in lines
    assert "| `demo_mode` | str | `audit` | no | What to do. Choices: `enforce`, `audit`. |" in lines
    assert "| `demo_hosts` | list of str |  | yes | Hosts to check. One per item. |" in lines
    assert "| `demo_report.dir` | path | `/tmp/r` | no | Where reports go. |" in lines
    # sorted by name, sub-options right after their parent
    names = [line.split("`")[1] for line in lines[2:]]
    assert names == ["demo_hosts", "demo_mode", "demo_report", "demo_report.dir", "demo_time"]


def test_missing_readme_is_created_then_in_step(tmp_path: Path) -> None:
    role = _role(tmp_path)
    assert "missing" in role_readme.check_role(role)[0]
    assert role_readme.main(["--root", str(tmp_path)]) == 0
    text = (role / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# tcp.keepalive.demo\n")
    assert role_readme.BEGIN in text and "`demo_time`" in text
    assert role_readme.check_role(role) == []
    assert role_readme.main(["--root", str(tmp_path), "--check"]) == 0


def test_changed_default_is_detected_with_a_diff(tmp_path: Path) -> None:
    role = _role(tmp_path)
    role_readme.main(["--root", str(tmp_path)])
    (role / "meta" / "argument_specs.yml").write_text(SPEC.replace("default: 300", "default: 600"), "utf-8")
    problems = role_readme.check_role(role)
    assert len(problems) == 1
    assert "out of step" in problems[0]
    assert "-| `demo_time` | int | `300`" in problems[0] and "+| `demo_time` | int | `600`" in problems[0]
    assert role_readme.main(["--root", str(tmp_path), "--check"]) == 1


def test_new_variable_is_detected(tmp_path: Path) -> None:
    role = _role(tmp_path)
    role_readme.main(["--root", str(tmp_path)])
    extra = SPEC + "      demo_new:\n        type: bool\n        default: false\n        description: New.\n"
    (role / "meta" / "argument_specs.yml").write_text(extra, "utf-8")
    assert role_readme.check_role(role) != []
    role_readme.main(["--root", str(tmp_path)])
    assert "| `demo_new` | bool | `false` | no | New. |" in (role / "README.md").read_text("utf-8")
    assert role_readme.check_role(role) == []


def test_hand_written_table_is_replaced_and_prose_kept(tmp_path: Path) -> None:
    readme = (
        "# Demo\n\nIntro prose.\n\n## Role Variables\n\nSet these in group_vars.\n\n"
        "| Variable | Default |\n|---|---|\n| demo_time | 300 |\n\nAfter-table note.\n\n"
        "## License\n\nGPL-3.0-or-later\n"
    )
    role = _role(tmp_path, readme=readme)
    problems = role_readme.check_role(role)
    assert problems and "no generated variables block" in problems[0]
    role_readme.main(["--root", str(tmp_path)])
    text = (role / "README.md").read_text(encoding="utf-8")
    for kept in ("Intro prose.", "Set these in group_vars.", "After-table note.", "## License", "GPL-3.0"):
        assert kept in text
    assert "| demo_time | 300 |" not in text
    block_at = text.index(role_readme.BEGIN)
    assert text.index("Set these in group_vars.") < block_at < text.index("After-table note.")
    assert role_readme.check_role(role) == []
    # a second run changes nothing
    before = text
    role_readme.main(["--root", str(tmp_path)])
    assert (role / "README.md").read_text(encoding="utf-8") == before


def test_readme_without_variables_section_gets_one_appended(tmp_path: Path) -> None:
    role = _role(tmp_path, readme="# Demo\n\nJust prose.\n")
    role_readme.main(["--root", str(tmp_path)])
    text = (role / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# Demo\n\nJust prose.\n\n## Role Variables\n\n" + role_readme.BEGIN)
    assert role_readme.check_role(role) == []


def test_edit_inside_block_is_detected(tmp_path: Path) -> None:
    role = _role(tmp_path)
    role_readme.main(["--root", str(tmp_path)])
    path = role / "README.md"
    path.write_text(path.read_text("utf-8").replace("Where reports go.", "Hand edit."), "utf-8")
    assert role_readme.check_role(role) != []


def test_bad_spec_is_reported_not_raised(tmp_path: Path) -> None:
    role = _role(tmp_path, spec="argument_specs: [not, a, mapping]\n", readme="# x\n")
    problems = role_readme.check_role(role)
    assert problems and "no 'argument_specs' mapping" in problems[0]
    broken = _role(tmp_path / "b", spec="argument_specs: {main: {options: [\n", readme="# x\n")
    assert "not valid YAML" in role_readme.check_role(broken)[0]
    assert role_readme.main(["--root", str(tmp_path), "--check"]) == 1


def test_multiple_entry_points_get_a_section_each(tmp_path: Path) -> None:
    spec = SPEC + "  report:\n    short_description: Only report.\n    options: {}\n"
    role = _role(tmp_path, spec=spec)
    role_readme.main(["--root", str(tmp_path)])
    text = (role / "README.md").read_text("utf-8")
    assert text.index("### Entry point `main`") < text.index("### Entry point `report`")
    assert "This entry point takes no variables." in text


def test_ansible_markup_becomes_markdown() -> None:
    text = role_readme.markup_to_markdown(
        "Write C(/proc/sys/x) when O(apply=true); V(false) skips; see M(tcp.keepalive.settings), "
        "I(never) B(always) U(https://example.invalid) L(the docs, https://example.invalid/d) (plain parens)."
    )
    assert text == (
        "Write `/proc/sys/x` when `apply=true`; `false` skips; see `tcp.keepalive.settings`, "
        "*never* **always** <https://example.invalid> [the docs](https://example.invalid/d) (plain parens)."
    )
