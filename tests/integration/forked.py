# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a test body in a forked child inside another network namespace and bring its result back as JSON.

The parent (pytest) never leaves its own namespace; a failure in the child comes back as its traceback.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import traceback
from typing import Any, Callable

import pytest

CLONE_NEWNET = 0x40000000


def new_netns_with_loopback() -> None:
    """unshare(CLONE_NEWNET) and bring lo up: a fresh namespace at the kernel defaults."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def join_netns(path: str) -> Callable[[], None]:
    """An `enter` step that setns() into the namespace bound at `path` (e.g. /run/netns/NAME)."""

    def enter() -> None:
        fd = os.open(path, os.O_RDONLY)
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    return enter


def run_in_child(enter: Callable[[], None], body: Callable[..., Any], *args: Any, default: Any = None) -> Any:
    """enter(), then body(*args), in a forked child; its JSON-able result (`default` as for json.dumps)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_fd)
            enter()
            payload = json.dumps({"result": body(*args)}, default=default)
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            payload = json.dumps({"error": traceback.format_exc()})
        data = payload.encode()
        while data:
            data = data[os.write(write_fd, data) :]
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks) or b'{"error": "child died without an answer"}')
    if "error" in answer:
        pytest.fail(answer["error"])
    return answer["result"]


def in_private_netns(body: Callable[..., Any], *args: Any) -> Any:
    """body(*args) in a forked child inside a new network namespace; its JSON-able result."""
    return run_in_child(new_netns_with_loopback, body, *args)
