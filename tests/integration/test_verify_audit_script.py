# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/audit.sh (make audit) on this machine: exit status, summary and reports agree with the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KEYS = ("time", "intvl", "probes")


def test_audit_script_exit_status_summary_and_reports(tmp_path):
    env = dict(os.environ, TCP_KEEPALIVE_REPORT_DIR=str(tmp_path))
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "audit.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    record = json.loads((tmp_path / "hosts" / "localhost.json").read_text())
    assert run.returncode == {"pass": 0, "fail": 2}.get(record["status"], 1), run.stdout + run.stderr
    live = {key: int(Path(f"/proc/sys/net/ipv4/tcp_keepalive_{key}").read_text()) for key in KEYS}
    assert record["values"]["runtime"] == live
    now = "  ".join(f"{key}={live[key]}" for key in KEYS)
    assert f"now           {now}" in run.stdout
    assert f"reports: {tmp_path}/fleet.html" in run.stdout
    assert f"exit status {run.returncode} " in run.stdout
    cases = ET.parse(tmp_path / "junit.xml").getroot().findall("./testsuite/testcase")
    assert {case.get("classname") for case in cases} == {"localhost"} and len(cases) == len(record["checks"])
    assert (tmp_path / "audit.log").read_text().count("PLAY RECAP") == 1
