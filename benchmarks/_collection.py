# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible_collections.tcp.keepalive` importable (tests/conftest.py knows how). Kept tiny: the scan
child imports it, and its start-up time is part of what is measured."""

from __future__ import annotations

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_collection() -> str:
    """Put the collections root on sys.path (via tests/conftest.py); return it."""
    conftest = os.path.join(REPO, "tests", "conftest.py")
    spec = importlib.util.spec_from_file_location("_tcp_keepalive_conftest", conftest)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ROOT
