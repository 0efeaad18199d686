# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Empty sysctl.d directories inside a private mount namespace, whether or not the host has them.

The loader tests run the real procps `sysctl --system` and systemd-sysctl on trees of their own: every
directory those loaders search must be empty and writable inside the test's mount namespace, and nothing
may change on the host. A fresh Debian has no /usr/local/lib/sysctl.d (and a host without systemd no
/run/sysctl.d), and creating one on the host would be touching it. So a missing directory is made inside
an overlay of its nearest existing parent, whose upper layer is a tmpfs: the parent keeps its contents
for everything else that runs in the namespace, and the host's tree is never written.
"""

from __future__ import annotations

import os
import shlex
import subprocess

SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d")


def loader_dirs() -> tuple[str, ...]:
    """Every sysctl.d directory procps-ng and systemd-sysctl read on this host: SYSCTL_DIRS, and
    /lib/sysctl.d where /usr is split (on a merged /usr it is /usr/lib/sysctl.d itself)."""
    if os.path.isdir("/lib/sysctl.d") and os.path.realpath("/lib/sysctl.d") != "/usr/lib/sysctl.d":
        return (*SYSCTL_DIRS, "/lib/sysctl.d")
    return SYSCTL_DIRS


def nearest_existing(path: str) -> str:
    """The deepest directory on the way to `path` that exists (`path` itself when it does)."""
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    return path


def empty_dirs_script(dirs: tuple[str, ...] | list[str], scratch: str) -> list[str]:
    """Shell lines that leave every directory of `dirs` an empty, writable tmpfs.

    Run them in a private mount namespace only (`unshare -m --propagation private`). `scratch` is an
    existing directory the lines mount a tmpfs on, for the overlays' layers. The overlays come first: an
    overlay of a parent would hide a tmpfs already mounted below it.
    """
    missing = [d for d in dirs if not os.path.isdir(d)]
    parents: list[str] = []
    for parent in sorted({nearest_existing(d) for d in missing}, key=len):
        if not any(parent == p or parent.startswith(p.rstrip("/") + "/") for p in parents):
            parents.append(parent)  # one overlay per outermost parent
    lines = [f"mount -t tmpfs tmpfs {shlex.quote(scratch)}"] if parents else []
    for index, parent in enumerate(parents):
        layer = shlex.quote(f"{scratch}/overlay{index}")
        lines += [
            f"mkdir -p {layer}/upper {layer}/work",
            f"mount -t overlay overlay -o lowerdir={parent},upperdir={layer}/upper,workdir={layer}/work "
            + shlex.quote(parent),
        ]
    lines += [f"mkdir -p {shlex.quote(d)}" for d in missing]
    lines += [f"mount -t tmpfs tmpfs {shlex.quote(d)}" for d in dirs]
    return lines


def run_private(script: str, net: bool = False, timeout: int = 60) -> subprocess.CompletedProcess:
    """`sh -ec script` in a private mount namespace (and a fresh network namespace with `net`), its output
    captured as text; the caller checks the return code."""
    command = ["unshare", *(["-n"] if net else []), "-m", "--propagation", "private", "sh", "-ec", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
