# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who owns a process: systemd unit and container id, read from /proc/<pid>/cgroup.

Pure parsing plus one small reader; `root` lets tests point at a fixture tree.
"""

from __future__ import annotations

import os
import re

from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass

# 64 hex digits: Docker, containerd, CRI-O and Podman all name a container's cgroup with its full id,
# as "docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope", "libpod-<id>.scope",
# or a bare "/docker/<id>" path segment under cgroup v1.
_CONTAINER_ID = re.compile(r"(?:^|[/-])(?P<id>[0-9a-f]{64})(?:\.scope)?(?:/|$)")
_UNIT = re.compile(r"^[^/]+\.(?:service|socket|scope|mount|swap|slice|target|timer)$")


@dataclass
class CgroupInfo:
    paths: dict[str, str]  # controller list ("" for the v2 unified line) -> path
    unit: str | None = None  # innermost systemd unit that is not a slice, e.g. "nginx.service"
    container_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"systemd_unit": self.unit, "container_id": self.container_id}


def parse_cgroup(text: str) -> CgroupInfo:
    """Parse the content of /proc/<pid>/cgroup (v1, v2 or hybrid)."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        paths[parts[1]] = parts[2]
    # The systemd hierarchy names units: v2 unified ("") or the v1 name=systemd one.
    systemd_path = paths.get("") if paths.get("", "/") not in ("", "/") else paths.get("name=systemd")
    candidates: list[str] = [p for p in (systemd_path, *paths.values()) if p]
    container_id = None
    for path in candidates:
        match = _CONTAINER_ID.search(path)
        if match:
            container_id = match.group("id")
            break
    unit = None
    if systemd_path and container_id is None:
        for segment in reversed(systemd_path.strip("/").split("/")):
            if _UNIT.match(segment) and not segment.endswith(".slice"):
                unit = segment
                break
    return CgroupInfo(paths=paths, unit=unit, container_id=container_id)


def read_cgroup(pid: int, root: str = "/") -> CgroupInfo | None:
    """Read and parse /proc/<pid>/cgroup; None when the process is gone or unreadable."""
    try:
        with open(os.path.join(root, "proc", str(pid), "cgroup"), encoding="utf-8") as handle:
            return parse_cgroup(handle.read())
    except OSError:
        return None
