"""Each fixed loader case (tests/unit/loader_cases.py) against the real procps-ng and systemd-sysctl.

The unit tests check the model on the same trees; this file checks that the expected values are what the
real loaders do (procps-ng 4.0.2 and systemd-sysctl 252 here), in throw-away namespaces (see
loader_trees.py), and that the model agrees. The per-netns sentinel net.ipv4.ip_default_ttl stays 64.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_collections.tcp.keepalive.plugins as plugins_pkg
import pytest
from ansible_collections.tcp.keepalive.tests.unit.loader_cases import CASES

pytestmark = pytest.mark.netns

DRIVER = Path(__file__).with_name("loader_trees.py")
COLLECTIONS_ROOT = str(Path(list(plugins_pkg.__path__)[0]).parents[3])
DEFAULTS = (7200, 75, 9)
KEYS = ("time", "intvl", "probes")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1)")
    cases = tmp_path_factory.mktemp("cases") / "cases.json"
    cases.write_text(json.dumps({name: spec["files"] for name, spec in CASES.items()}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT, HOST_MNT_NS=os.readlink("/proc/self/ns/mnt"))
    command = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        sys.executable,
        str(DRIVER),
        "--cases",
        str(cases),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {record["case"]: record for record in map(json.loads, done.stdout.splitlines())}


@pytest.mark.parametrize("loader", ["procps", "systemd"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_real_loader_does_what_the_case_says(real, name, loader):
    expected = [default if value is None else value for value, default in zip(CASES[name][loader], DEFAULTS)]
    seen = real[name][loader]
    assert [seen["real"][key] for key in KEYS] == expected, (name, loader, seen)
    assert [seen["model"][key] for key in KEYS] == expected, (name, loader, seen)
    assert seen["sentinel"] == "64"
