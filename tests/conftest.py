"""Make the collection importable as ansible_collections.tcp.keepalive for plain pytest runs.

Works from a git checkout (a symlink tree is made under .venv/collections, or a temporary one) and from
an installed copy that already sits at .../ansible_collections/tcp/keepalive.
"""

from __future__ import annotations

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _collections_root() -> str:
    parts = REPO.split(os.sep)
    if len(parts) >= 3 and parts[-3:-1] == ["ansible_collections", "tcp"] and parts[-1] == "keepalive":
        return os.sep.join(parts[:-3])
    root = os.environ.get("TCP_KEEPALIVE_COLLECTIONS_ROOT") or os.path.join(REPO, ".venv", "collections")
    try:
        os.makedirs(os.path.join(root, "ansible_collections", "tcp"), exist_ok=True)
    except OSError:
        root = tempfile.mkdtemp(prefix="tcp-keepalive-collections-")
        os.makedirs(os.path.join(root, "ansible_collections", "tcp"))
    link = os.path.join(root, "ansible_collections", "tcp", "keepalive")
    if os.path.realpath(link) != REPO:
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


ROOT = _collections_root()
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
