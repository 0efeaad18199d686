# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The `node` fixture, from molecule/shared/keepalive_node.py (one copy for every scenario that uses it)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

# `node` is a fixture: pytest finds it in this conftest's namespace.
from keepalive_node import node  # noqa: E402,F401,I001  pylint: disable=unused-import
