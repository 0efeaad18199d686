# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Simultaneous runs of tcp.keepalive.settings on one file lose nothing (issue 12, item 1).

Rounds of 2 to 4 runs of the real module file (python settings.py args.json, as Ansible runs it on a node),
started together on the same file, with different keys and with the same key. Everything happens inside one
private network + mount namespace: tmpfs over every sysctl.d directory and over /run/lock (where the
module's lock lives), an empty file bound over /etc/sysctl.conf, so neither the host's files nor its live
values are touched (checked).

What must hold after each round:
- every run succeeded and reported a change;
- the file defines each key exactly once, with the value asked for (different keys), and the live value
  is the file's value;
- runs of the same key form one chain: each saw at boot_before the value the previous one wrote, the first
  saw none, and the file holds the last one's. Without the lock two runs plan from the same file and one
  value is lost, or two runs see the same "before", so this fails;
- no temporary file and no lock file is left behind.

TCP_KEEPALIVE_SETTINGS_MODULE may point the test at another copy of the module file (that is how the
failure without the lock was shown: a copy with HostLock.__enter__ doing nothing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_collections.tcp.keepalive.plugins as plugins_pkg
import pytest

pytestmark = pytest.mark.netns

PLUGINS = Path(list(plugins_pkg.__path__)[0])
MODULE = Path(os.environ.get("TCP_KEEPALIVE_SETTINGS_MODULE") or PLUGINS / "modules" / "settings.py")
COLLECTIONS_ROOT = str(PLUGINS.parents[3])
KEYS = ("time", "intvl", "probes")
TARGET = "/etc/sysctl.d/60-tcp-keepalive.conf"
SYSCTL_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
LINE = re.compile(r"^net\.ipv4\.tcp_keepalive_(time|intvl|probes) = (\d+)$")

# Each round: the runs started together, as (key, value) pairs. Values differ within a round and from the
# previous round, so every run changes something and a lost one is visible.
SHAPES = (
    ("time", "intvl"),  # 2 runs, different keys
    ("time", "intvl", "probes"),  # 3 runs, different keys
    ("time", "time", "time", "time"),  # 4 runs, the same key
    ("time", "time", "intvl", "probes"),  # 4 runs, same and different keys
    ("probes", "probes"),  # 2 runs, the same key
)
ROUNDS = 25


def host_values() -> dict:
    return {key: int(Path(f"/proc/sys/net/ipv4/tcp_keepalive_{key}").read_text()) for key in KEYS}


def plan_rounds() -> list[list[tuple[str, int]]]:
    rounds = []
    for number in range(ROUNDS):
        shape = SHAPES[number % len(SHAPES)]
        # time/intvl in 100..3299, probes in 1..120: distinct per run and per round
        runs = [
            (key, 1 + (number * 4 + index) % 120 if key == "probes" else 100 + number * 100 + index * 7)
            for index, key in enumerate(shape)
        ]
        rounds.append(runs)
    return rounds


def round_script(tmp_path: Path, rounds: list[list[tuple[str, int]]]) -> str:
    module = f"PYTHONPATH={COLLECTIONS_ROOT} {sys.executable} {MODULE}"
    mounts = [f"[ ! -d {d} ] || [ -L {d} ] || mount -t tmpfs tmpfs {d}" for d in SYSCTL_DIRS]
    lines = [
        *mounts,
        "mount -t tmpfs tmpfs /run/lock",
        f": > {tmp_path}/empty.conf",
        f"mount --bind {tmp_path}/empty.conf /etc/sysctl.conf",
    ]
    for number, runs in enumerate(rounds):
        out = tmp_path / f"r{number}"
        out.mkdir()
        lines.append(f"rm -f {TARGET}")
        for index, (key, value) in enumerate(runs):
            args = {"ANSIBLE_MODULE_ARGS": {key: value, "loader": "systemd"}}
            (out / f"{index}.args").write_text(json.dumps(args))
            lines.append(f"{module} {out}/{index}.args > {out}/{index}.json 2>&1 &")
        lines += [
            "wait",
            f"cp {TARGET} {out}/file.conf || : > {out}/file.conf",
            f"cat /proc/sys/net/ipv4/tcp_keepalive_time /proc/sys/net/ipv4/tcp_keepalive_intvl "
            f"/proc/sys/net/ipv4/tcp_keepalive_probes > {out}/live",
            f"{{ ls -A /etc/sysctl.d; ls -A /run/lock; }} > {out}/listing",
        ]
    return "\n".join(lines) + "\n"


def definitions(text: str) -> list[tuple[str, int]]:
    found = []
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            found.append((match.group(1), int(match.group(2))))
        else:
            assert line.startswith("#") or not line.strip(), f"unexpected line {line!r} in\n{text}"
    return found


def module_result(path: Path) -> dict:
    text = path.read_text()
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f"{path.name} is not the module's JSON result:\n{text}") from None


def check_round(out: Path, runs: list[tuple[str, int]]) -> None:
    results = [module_result(out / f"{index}.json") for index in range(len(runs))]
    for (key, value), result in zip(runs, results):
        assert not result.get("failed") and result["changed"] is True, (key, value, result)
    defined = definitions((out / "file.conf").read_text())
    keys_defined = [key for key, _value in defined]
    assert sorted(keys_defined) == sorted(set(keys_defined)), f"a key is defined twice: {defined}"
    final = dict(defined)
    assert set(final) == {key for key, _value in runs}, f"a key was lost: asked {runs}, file holds {defined}"
    live = dict(zip(KEYS, (int(v) for v in (out / "live").read_text().split())))
    for key in final:
        assert live[key] == final[key], f"live {key}={live[key]} but the file holds {final[key]}"
        chain = {result["boot_before"][key]: value for (k, value), result in zip(runs, results) if k == key}
        same_key = [value for k, value in runs if k == key]
        assert len(chain) == len(same_key), f"two {key} runs planned from the same file: {chain}"
        seen, current = [], None
        while current in chain:
            current = chain[current]
            seen.append(current)
        assert sorted(seen) == sorted(same_key) and final[key] == current, (key, chain, final)
    listing = (out / "listing").read_text().split()
    assert listing == ["60-tcp-keepalive.conf"], f"left behind in /etc/sysctl.d or /run/lock: {listing}"


def test_simultaneous_runs_on_one_file_lose_nothing(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to create network and mount namespaces")
    before_host = host_values()
    host_target = os.path.lexists(TARGET) and Path(TARGET).read_bytes()
    rounds = plan_rounds()
    assert sum(len(runs) for runs in rounds) >= 2 * 20 and len(rounds) >= 20
    script = tmp_path / "rounds.sh"
    script.write_text(round_script(tmp_path, rounds))
    done = subprocess.run(
        ["unshare", "-n", "-m", "--propagation", "private", "sh", "-e", str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    failures = []
    for number, runs in enumerate(rounds):
        try:
            check_round(tmp_path / f"r{number}", runs)
        except AssertionError as exc:
            failures.append(f"round {number} {runs}: {exc}")
    assert not failures, f"{len(failures)} of {len(rounds)} rounds lost an update:\n" + "\n".join(failures)
    assert host_values() == before_host
    assert (os.path.lexists(TARGET) and Path(TARGET).read_bytes()) == host_target
