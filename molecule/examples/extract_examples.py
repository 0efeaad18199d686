# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write each module's EXAMPLES block, exactly as documented, to <out>/<module>.yml (a task file).

Used by molecule/examples/converge.yml at run time, so the examples that run are the ones in the module
files at that moment. The module files are parsed with `ast`, never imported. Fails (exit 1, one line
per problem) when a module has no EXAMPLES, or when its EXAMPLES is not a YAML list of named tasks.

    extract_examples.py --out DIR plugins/modules
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import yaml


class ExampleError(Exception):
    """A module's EXAMPLES block is missing or not a list of tasks."""


def examples_text(module: Path) -> str:
    """The EXAMPLES string of a module file, without importing it."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    except SyntaxError as exc:
        raise ExampleError(f"{module}: cannot parse: {exc}") from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "EXAMPLES" for target in node.targets
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
            raise ExampleError(f"{module}: EXAMPLES is not a plain string")
    raise ExampleError(f"{module}: no EXAMPLES block")


def check_tasks(module: Path, text: str) -> int:
    """Number of tasks in the block; raises when it is not a non-empty list of named tasks."""
    try:
        tasks = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExampleError(f"{module}: EXAMPLES is not valid YAML: {exc}") from exc
    if not isinstance(tasks, list) or not tasks:
        raise ExampleError(f"{module}: EXAMPLES must be a non-empty list of tasks")
    for index, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not task.get("name"):
            raise ExampleError(f"{module}: example task {index} is not a mapping with a name")
    return len(tasks)


def extract(modules_dir: Path, out: Path) -> dict[str, int]:
    """Write one task file per module; return {module: number of example tasks}."""
    modules = sorted(p for p in modules_dir.glob("*.py") if not p.name.startswith("_"))
    if not modules:
        raise ExampleError(f"{modules_dir}: no modules")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.yml"):
        stale.unlink()
    counts: dict[str, int] = {}
    problems = []
    for module in modules:
        try:
            text = examples_text(module)
            counts[module.stem] = check_tasks(module, text)
        except ExampleError as exc:
            problems.append(str(exc))
            continue
        header = f"---\n# EXAMPLES of {module.name}, extracted verbatim by extract_examples.py\n"
        (out / f"{module.stem}.yml").write_text(header + text.lstrip("\n"), encoding="utf-8")
    if problems:
        raise ExampleError("\n".join(problems))
    (out / "index.json").write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for the task files")
    parser.add_argument("modules_dir", help="plugins/modules of the collection")
    args = parser.parse_args()
    try:
        counts = extract(Path(args.modules_dir), Path(args.out))
    except ExampleError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
