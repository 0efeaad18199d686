# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one command and print, as one JSON line: wall time, peak RSS, exit code, stdout size.

Usage: python _measure.py [--capture-json] -- COMMAND...

Started fresh for every measurement, so resource.getrusage(RUSAGE_CHILDREN).ru_maxrss is the peak RSS
of the measured command (and of any descendant it waited for), nothing else. Stdout is read through a
pipe and counted (a consumer of `ss` output reads it too); with --capture-json stdout is kept and parsed
as JSON (whole, else its last line) and passed on as "inner" (the scan child reports its own timings that
way). Buffering happens after the fork, so it never shows in the measured command's peak RSS.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

TAIL_BYTES = 1 << 30  # keep all of it in practice: ansible's json callback prints one big document


def _parse_json(text: str) -> dict:
    """The whole output as one JSON document (ansible's json callback), else its last line (scan_child)."""
    text = text.strip()
    for candidate in (text, text.splitlines()[-1] if text else ""):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        return value if isinstance(value, dict) else {"value": value}
    return {"unparsed_tail": text[-500:]}


def main() -> int:
    args = sys.argv[1:]
    capture_json = False
    if args and args[0] == "--capture-json":
        capture_json = True
        args = args[1:]
    if not args or args[0] != "--" or len(args) < 2:
        print("usage: _measure.py [--capture-json] -- COMMAND...", file=sys.stderr)
        return 2
    command = args[1:]
    total = 0
    tail = b""
    start = time.perf_counter()
    # stderr goes to a file (a full pipe would block the command); stdout is read in chunks.
    errfile = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the command ends
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errfile)
    assert proc.stdout is not None
    while True:
        chunk = proc.stdout.read(1 << 16)
        if not chunk:
            break
        total += len(chunk)
        if capture_json:
            tail = (tail + chunk)[-TAIL_BYTES:]
    rc = proc.wait()
    wall = time.perf_counter() - start
    errfile.seek(0)
    stderr = errfile.read()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    inner = {}
    if capture_json:
        inner = _parse_json(tail.decode("utf-8", "replace"))
    if rc != 0:
        inner["stderr_tail"] = stderr.decode("utf-8", "replace")[-2000:]
    print(
        json.dumps(
            {"wall_s": wall, "maxrss_kib": usage.ru_maxrss, "rc": rc, "stdout_bytes": total, "inner": inner}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
