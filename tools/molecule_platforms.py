# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the container names a Molecule scenario creates: the `name` of each entry of its `platforms`.

scripts/molecule.sh removes these containers (`docker rm -f`) for the scenarios it had to stop. Usage (with
the project venv, for PyYAML):

    python tools/molecule_platforms.py molecule/default/molecule.yml    # one name per line

With several files, the names of each in turn. A file without `platforms` prints nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def platform_names(path: Path) -> list[str]:
    """The `name` of every platform in the molecule.yml at `path`, in file order."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(platform["name"]) for platform in data.get("platforms") or []]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("molecule_yml", nargs="+", type=Path, help="a scenario's molecule.yml")
    args = parser.parse_args(argv)
    for path in args.molecule_yml:
        for name in platform_names(path):
            print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
