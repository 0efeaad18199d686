"""Find generic subscripts that Python 3.8 evaluates at run time and cannot subscript.

Managed nodes run the modules on Python 3.8 and later. There `dict[str, int]`, `tuple[int, ...]` or
`collections.abc.Sequence[int]` raise "'type' object is not subscriptable" (PEP 585 came in 3.9). Under
`from __future__ import annotations` an annotation is never evaluated, so such subscripts are fine in
parameter, return and variable annotations (dataclass and NamedTuple fields included), but not in any
expression the interpreter runs: a module-level alias, `cast(...)`, `default_factory=`, `isinstance`,
a base class, a `TypeVar` bound. vermin reports these only partly, so this check is the one that fails.

    python tools/runtime_subscripts.py plugins/modules plugins/module_utils

Prints `path:line:col: text` for each finding and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

# Built-in classes that became subscriptable only in Python 3.9.
BUILTIN_GENERICS = frozenset({"dict", "list", "tuple", "set", "frozenset", "type"})
# Modules whose classes became subscriptable only in Python 3.9 (PEP 585).
PEP585_MODULES = frozenset({"collections", "collections.abc", "contextlib", "re", "os", "queue"})


def has_future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


def pep585_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to PEP 585 classes (`from collections.abc import Sequence`) and module aliases."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in PEP585_MODULES:
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in PEP585_MODULES:
                    modules.add(alias.asname or alias.name)
    return names, modules


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


class Finder(ast.NodeVisitor):
    def __init__(self, tree: ast.Module) -> None:
        self.lazy_annotations = has_future_annotations(tree)
        self.names, self.modules = pep585_names(tree)
        self.found: list[ast.Subscript] = []

    def unsupported(self, target: ast.expr) -> bool:
        name = dotted(target)
        if isinstance(target, ast.Name):
            return name in BUILTIN_GENERICS or name in self.names
        head = name.rpartition(".")[0]
        return head in self.modules

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.unsupported(node.value):
            self.found.append(node)
        self.generic_visit(node)

    def skip_annotation(self, annotation: ast.expr | None) -> None:
        if annotation is not None and not self.lazy_annotations:
            self.visit(annotation)

    def visit_arg(self, node: ast.arg) -> None:
        self.skip_annotation(node.annotation)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.skip_annotation(node.annotation)
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in (*node.decorator_list, node.args, *node.body):
            self.visit(child)
        self.skip_annotation(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef


def findings(path: Path) -> Iterator[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    finder = Finder(tree)
    finder.visit(tree)
    for node in finder.found:
        text = ast.get_source_segment(source, node) or ""
        yield f"{path}:{node.lineno}:{node.col_offset + 1}: runtime subscript needs Python 3.9: {text}"


def python_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    lines = [line for path in python_files(argv) for line in findings(path)]
    print("\n".join(lines) if lines else f"no runtime-evaluated PEP 585 subscripts in {' '.join(argv)}")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
