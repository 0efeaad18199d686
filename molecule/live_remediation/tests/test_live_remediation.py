# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""live_remediation: keepalive enabled in place on a running service clears its ghosts, keeps live clients.

The tests read the nodes through `docker exec` (each test runs once, not once per inventory host) and the
results prepare.yml and converge.yml kept in the ephemeral directory."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parent.parent
VARS = yaml.safe_load((SCENARIO / "vars.yml").read_text())
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SERVER, CLIENT = "live_remediation-server", "live_remediation-client"
PORT, DEAD, LIVE = VARS["lr_port"], VARS["lr_dead"], VARS["lr_live"]
DETECTION = VARS["lr_idle"] + VARS["lr_intvl"] * VARS["lr_count"]  # 2 + 1 * 3 = 5 s
MARGIN = 2.0  # scheduling slack on a shared 2-core machine, on top of the kernel's deadline
RUN = VARS["lr_run"]


def run(container: str, command: str) -> str:
    done = subprocess.run(
        ["docker", "exec", container, "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{container}: `{command}` exited {done.returncode}: {done.stderr}"
    return done.stdout


def jsonl(container: str, path: str) -> list[dict]:
    return [json.loads(line) for line in run(container, f"cat {path}").splitlines() if line.strip()]


def established(options: str = "") -> list[str]:
    return run(SERVER, f"ss -tnH{options} state established '( sport = :{PORT} )'").splitlines()


@pytest.fixture(scope="module")
def converge_times() -> tuple[float, float]:
    return float(run(SERVER, f"cat {RUN}/converge.start")), float(run(SERVER, f"cat {RUN}/converge.end"))


@pytest.fixture(scope="module")
def settled(converge_times) -> float:
    """Wait (at most the kernel's deadline plus margin after the change) for the watcher to see only the
    live connections, so the later tests look at the final state; returns when that was logged."""
    start, end = converge_times
    deadline = end + DETECTION + MARGIN
    while True:  # at least once: verify usually starts well after the deadline
        gone = [
            entry
            for entry in jsonl(SERVER, f"{RUN}/established.jsonl")
            if entry["t"] >= start and entry["established"] <= LIVE
        ]
        if gone:
            return gone[0]["t"]
        if time.time() > deadline + 1:
            return float("inf")
        time.sleep(0.2)


def test_check_mode_changed_nothing():
    check = json.loads((EPHEMERAL / "check-run.json").read_text())
    result = check["result"]
    assert result["changed"] is True, result  # it would change ...
    assert result["sockets_changed"] == DEAD + LIVE + 1  # ... every connection and the listener
    assert result["listeners_changed"] == 1
    assert all(entry["after"]["keepalive"] for entry in result["sockets"])
    assert check["ss"] == [DEAD + LIVE, 0], check["ss"]  # ... and no connection got a keepalive timer


def test_converge_changed_listener_and_every_connection():
    result = json.loads((EPHEMERAL / "converge-run.json").read_text())
    assert result["changed"] is True and result["errors"] == 0, result["socket_errors"]
    assert (result["listeners_changed"], result["connections_changed"]) == (1, DEAD + LIVE)
    assert result["skipped_reasons"] == {}
    service = result["services"][0]
    assert "restarts" in service["lasts"] and service["persistent_fix"], service
    sample = result["sockets"][0]
    assert sample["before"]["keepalive"] is False
    assert (
        sample["after"]["keepalive"],
        sample["after"]["idle"],
        sample["after"]["intvl"],
        sample["after"]["count"],
    ) == (True, VARS["lr_idle"], VARS["lr_intvl"], VARS["lr_count"])


def test_dead_connections_gone_within_the_keepalive_deadline(converge_times, settled):
    start, end = converge_times
    log = jsonl(SERVER, f"{RUN}/established.jsonl")
    before = [entry for entry in log if entry["t"] <= start]
    assert before and before[-1]["established"] == DEAD + LIVE, log[:5]
    # the kernel resets each dead peer idle + intvl * count after its keepalive was armed (during converge)
    assert settled <= end + DETECTION + MARGIN, (
        f"dead connections still there {settled - end:.2f} s after the change; the deadline is "
        f"{DETECTION} s + {MARGIN} s margin. Watcher log tail: {log[-5:]}"
    )
    # and not before the first probe could have gone unanswered (no other cause removed them)
    assert settled >= start + VARS["lr_idle"], (settled, start)


def test_live_connections_still_established_and_answering(settled):
    rows = established("o")
    assert len(rows) == LIVE, rows
    assert all("timer:(keepalive" in row for row in rows), rows
    echoes = jsonl(CLIENT, f"{RUN}/echo.jsonl")
    after = [entry for entry in echoes if entry["t"] > settled]
    if len({entry["port"] for entry in after}) < LIVE:  # the next echo round is at most lr_echo_every away
        time.sleep(VARS["lr_echo_every"] + 1)
        after = [entry for entry in jsonl(CLIENT, f"{RUN}/echo.jsonl") if entry["t"] > settled]
    assert {entry["port"] for entry in after} == {VARS["lr_live_base"] + index for index in range(LIVE)}
    assert all(entry["ok"] for entry in echoes), [entry for entry in echoes if not entry["ok"]][:5]


def test_server_never_restarted():
    pid, start_time = run(SERVER, f"cat {RUN}/server.identity").split()
    assert run(SERVER, f"cat {RUN}/server.pid").strip() == pid
    now = run(SERVER, f"cut -d')' -f2 /proc/{pid}/stat | awk '{{print $20}}'").strip()
    assert now == start_time, (now, start_time)


def test_new_connection_inherits_keepalive_from_the_listener(settled):
    server_ip = run(SERVER, "hostname -i").split()[0]
    script = (
        f"import socket,time; s=socket.create_connection(('{server_ip}', {PORT}));"
        " print(s.getsockname()[1], flush=True); time.sleep(30)"
    )
    run(CLIENT, f'setsid -f python3 -c "{script}" > {RUN}/new.port 2>&1 < /dev/null')
    port = ""
    for _attempt in range(50):
        port = run(CLIENT, f"cat {RUN}/new.port").strip()
        if port:
            break
        time.sleep(0.1)
    assert port.isdigit(), port
    row = run(SERVER, f"ss -tnoH state established '( sport = :{PORT} and dport = :{port} )'").strip()
    assert row and "timer:(keepalive" in row, row


def test_sockets_info_now_sees_the_listener_with_keepalive(settled):
    """What an audit says afterwards: tcp.keepalive.sockets_info reads SO_KEEPALIVE on the service's own
    listener (pidfd_getfd) and finds no connection without keepalive on the port."""
    args = json.dumps({"ports": [PORT], "read_socket_options": "always"})
    command = [
        "ansible",
        "--inventory",
        os.environ["MOLECULE_INVENTORY_FILE"],
        SERVER,
        "-m",
        "tcp.keepalive.sockets_info",
        "-a",
        args,
    ]
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][SERVER]
    listeners = [item for item in result["sockets"] if item["state"] == "LISTEN"]
    assert listeners and all(
        item["keepalive"] is True and item["keepalive_source"] == "sockopt" for item in listeners
    ), listeners
    assert result["summary"]["keepalive"]["false"] == 0, result["summary"]
    ids = {finding["id"] for finding in result["findings"]}
    assert not ids & {"listener_without_keepalive", "connection_without_keepalive", "ghost_candidate"}, ids
