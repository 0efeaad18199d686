# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the audit_only and verify_* scenarios' testinfra tests share: the verify role's check names, the
self-contained HTML check and the "nothing changed on the host" comparison against snapshot.sh."""

from __future__ import annotations

import os
import re
from pathlib import Path

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SNAPSHOT_SCRIPT = Path(__file__).resolve().parent / "snapshot.sh"

# The checks of tcp.keepalive.verify, in report order.
CHECKS = (
    "privileges",
    "runtime_values",
    "persistence",
    "detection_time",
    "namespaces",
    "listeners",
    "ghosts",
    "timer",
)


def assert_self_contained(html: str) -> None:
    """The HTML report loads nothing: no URL, external script, stylesheet link or image; its one script is
    inline (sorting and filtering; the page works without it)."""
    assert not re.search(r"(?i)https?://|<script[^>]|<link|<img|<iframe|url\(", html)
    assert html.count("<script>") == 1


def assert_host_unchanged(host) -> str:
    """The host's sysctl files and live values equal the snapshot prepare.yml took; returns that snapshot."""
    before = (EPHEMERAL / "snapshot-before.txt").read_text().strip()
    after = host.run(SNAPSHOT_SCRIPT.read_text())
    assert after.rc == 0, after.stderr
    assert after.stdout.strip() == before
    return before
