"""Import every module and module_util of the collection with the interpreter that runs this file.

Run by scripts/python-range.sh with the oldest managed-node Python (3.8), so this file itself must run
on 3.8. The collection must be importable as ansible_collections.tcp.keepalive (pass the collections root
as the first argument) and `ansible.module_utils` must be on sys.path (the second argument, the directory
holding the `ansible` package).

    python3.8 tools/import_plugins.py COLLECTIONS_ROOT ANSIBLE_PARENT_DIR

Prints one line per file and exits 1 if any import failed.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

PACKAGES = ("plugins/module_utils", "plugins/modules")


def module_names(collection: Path) -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((collection / package).glob("*.py")):
            if path.name != "__init__.py":
                dotted = package.replace("/", ".")
                names.append(f"ansible_collections.tcp.keepalive.{dotted}.{path.stem}")
    return names


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root, ansible_parent = argv
    sys.path[:0] = [root, ansible_parent]
    collection = Path(root) / "ansible_collections" / "tcp" / "keepalive"
    failed = 0
    for name in module_names(collection):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - report every failure, then fail
            failed += 1
            last = traceback.format_exc().strip().splitlines()
            print(f"FAIL {name}: {last[-1]}")
            print("\n".join("    " + line for line in last[-4:-1]))
        else:
            print(f"ok   {name}")
    version = ".".join(str(part) for part in sys.version_info[:3])
    print(f"Python {version}: {failed} of {len(module_names(collection))} imports failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
