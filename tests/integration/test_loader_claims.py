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
from ansible_collections.tcp.keepalive.tests.integration.mountns import (
    empty_dirs_script,
    loader_dirs,
    run_private,
)
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


def test_pattern_after_system_is_ignored(tmp_path):
    """procps-ng 4.0.2 runs --system as soon as it parses it: a --pattern after it restricts nothing.

    The tree holds only per-network-namespace keys (the sentinel and one keepalive key), every sysctl.d
    directory is a tmpfs and /etc/sysctl.conf a bind mount, so even the unrestricted order can only
    write inside the throw-away network namespace.
    """
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1)")
    (tmp_path / "empty").write_text("")
    pattern = "'^-?/?net[./]ipv4[./]tcp_keepalive_'"
    read = "cat /proc/sys/net/ipv4/ip_default_ttl /proc/sys/net/ipv4/tcp_keepalive_time | tr '\\n' ' '; echo"
    (tmp_path / "layers").mkdir()
    mounts = "\n".join(empty_dirs_script(loader_dirs(), str(tmp_path / "layers")))  # every one it reads
    script = f"""
{mounts}
mount --bind {tmp_path}/empty /etc/sysctl.conf
printf 'net.ipv4.ip_default_ttl = 77\\nnet.ipv4.tcp_keepalive_time = 600\\n' > /etc/sysctl.d/50-a.conf
unshare -n sh -c "sysctl --system --pattern {pattern} >/dev/null 2>&1; {read}"
unshare -n sh -c "sysctl --pattern {pattern} --system >/dev/null 2>&1; {read}"
"""
    before = Path("/proc/sys/net/ipv4/ip_default_ttl").read_text()
    done = run_private(script)
    assert done.returncode == 0, done.stderr
    wrong_order, right_order = done.stdout.split("\n")[:2]
    assert wrong_order.split() == ["77", "600"]  # every key applied: the pattern was ignored
    assert right_order.split() == ["64", "600"]
    assert Path("/proc/sys/net/ipv4/ip_default_ttl").read_text() == before
