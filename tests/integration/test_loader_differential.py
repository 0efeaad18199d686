"""The boot model against the real loaders on seeded random sysctl.d trees (see loader_trees.py).

Bounded run in the suite: 300 trees of one seed (about 25 s here, 600 network namespaces). Slow mode:
TCP_KEEPALIVE_LOADER_TREES=5000 (and TCP_KEEPALIVE_LOADER_SEED=N) runs that many trees; or run the
driver by hand, as root:

    export HOST_MNT_NS=$(readlink /proc/self/ns/mnt) PYTHONPATH=.venv/collections
    unshare -m --propagation private .venv/bin/python tests/integration/loader_trees.py --seed 7 --trees 5000

Every loader call is restricted to our keys and runs in its own network namespace; the driver itself runs
in a private mount namespace (tmpfs over each sysctl.d directory, a bind mount over /etc/sysctl.conf).
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

pytestmark = pytest.mark.netns

DRIVER = Path(__file__).with_name("loader_trees.py")
COLLECTIONS_ROOT = str(Path(list(plugins_pkg.__path__)[0]).parents[3])
TREES = int(os.environ.get("TCP_KEEPALIVE_LOADER_TREES", "300"))
SEED = int(os.environ.get("TCP_KEEPALIVE_LOADER_SEED", "20261202"))
HOST_KEYS = ("tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes", "ip_default_ttl")


def host_values() -> dict:
    return {name: Path(f"/proc/sys/net/ipv4/{name}").read_text() for name in HOST_KEYS}


def host_files() -> dict:
    """What the host's loader inputs hold (must be byte-identical after the run)."""
    found = {}
    for directory in ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d"):
        if os.path.isdir(directory):
            for name in sorted(os.listdir(directory)):
                path = os.path.join(directory, name)
                found[path] = os.readlink(path) if os.path.islink(path) else Path(path).read_bytes()
    found["/etc/sysctl.conf"] = Path("/etc/sysctl.conf").read_bytes()
    return found


def run_driver(seed: int, trees: int, loaders: str = "procps,systemd") -> tuple[dict, list[dict]]:
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT, HOST_MNT_NS=os.readlink("/proc/self/ns/mnt"))
    command = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        sys.executable,
        str(DRIVER),
        "--seed",
        str(seed),
        "--trees",
        str(trees),
        "--loaders",
        loaders,
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60 + trees, check=False)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return records[-1]["summary"], records[:-1]


def test_model_matches_real_loaders_on_random_trees():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1)")
    if not any(os.path.exists(p) for p in ("/lib/systemd/systemd-sysctl", "/usr/lib/systemd/systemd-sysctl")):
        pytest.skip("systemd-sysctl is not installed")
    before, files = host_values(), host_files()
    summary, wrong = run_driver(SEED, TREES)
    print(json.dumps(summary))  # the record for the report: trees, namespaces, seconds
    assert summary["trees"] == TREES
    assert summary["network_namespaces"] == 2 * TREES
    # The trees are not trivial: most of them make each real loader set something.
    assert summary["trees_with_values_set"]["procps"] > TREES // 3
    assert summary["trees_with_values_set"]["systemd"] > TREES // 4
    assert summary["sentinel_leaks"] == 0, wrong
    assert summary["disagreements"] == {"procps": 0, "systemd": 0}, json.dumps(wrong[:5], indent=1)
    assert host_values() == before
    assert host_files() == files


def test_driver_refuses_the_callers_mount_namespace():
    """The driver mounts over /etc/sysctl.d: it must never run in the namespace that started it.

    --check-only stops right after the check, so neither run below can mount anything.
    """
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1)")
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT, HOST_MNT_NS=os.readlink("/proc/self/ns/mnt"))
    here = subprocess.run(
        [sys.executable, str(DRIVER), "--check-only"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert here.returncode != 0 and "refusing to run" in here.stderr and here.stdout == ""
    command = ["unshare", "-m", "--propagation", "private", sys.executable, str(DRIVER), "--check-only"]
    private = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert private.returncode == 0, private.stderr
    assert json.loads(private.stdout) == {"private_mount_namespace": True}
