"""Build sysctl fixture trees under a tmp_path root: files and symlinks at host paths."""

from __future__ import annotations

import os


def write(root, path: str, text: str) -> None:
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)


def link(root, path: str, target: str) -> None:
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, full)
