"""_netns on the real kernel: named namespaces (ip netns) and an `unshare -n` process, read via setns.

Needs root. Creates namespaces named tka-test-<random>, sets values inside them only, removes them after.
The host namespace's values are compared before and after: they must not change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _netns, _nsenter

pytestmark = pytest.mark.netns

KEYS = ("time", "intvl", "probes")
PY39 = os.path.expanduser("~/.pyenv/versions/3.9.18/bin/python3.9")


def host_values():
    values = {}
    for key in KEYS:
        with open(f"/proc/sys/net/ipv4/tcp_keepalive_{key}", encoding="ascii") as handle:
            values[key] = int(handle.read())
    return values


def set_in_netns(name, values):
    script = "; ".join(f"echo {v} > /proc/sys/net/ipv4/tcp_keepalive_{k}" for k, v in values.items())
    subprocess.run(["ip", "netns", "exec", name, "sh", "-c", script], check=True)


@pytest.fixture(scope="module")
def require_root():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")


@pytest.fixture
def named_netns(require_root):
    """Factory: create `ip netns` namespaces; all removed at the end, host values checked unchanged."""
    before = host_values()
    created = []

    def make(values=None):
        name = "tka-test-" + uuid.uuid4().hex[:8]
        subprocess.run(["ip", "netns", "add", name], check=True)
        created.append(name)
        if values:
            set_in_netns(name, values)
        return name, os.stat(f"/run/netns/{name}").st_ino

    try:
        yield make
    finally:
        for name in created:
            subprocess.run(["ip", "netns", "delete", name], check=False)
        assert host_values() == before, "the host namespace's values changed"


@pytest.fixture
def unshared_process(require_root):
    """A `sleep` in a new network namespace (no bind mount): reachable only through /proc/<pid>/ns/net."""
    proc = subprocess.Popen(["unshare", "-n", "sleep", "120"])
    try:
        for _attempt in range(100):
            try:
                if os.readlink(f"/proc/{proc.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                    break
            except OSError:
                pass
            time.sleep(0.02)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_named_namespace_listed_and_read(named_netns):
    name, inode = named_netns({"time": 600, "intvl": 30, "probes": 5})
    scan = _nsenter.list_namespaces()
    namespace = scan.by_inode(inode)
    assert namespace is not None and namespace.names == [name] and not namespace.current
    assert f"/run/netns/{name}" in namespace.mounts
    assert scan.namespaces[0].current and scan.current_inode == os.stat("/proc/self/ns/net").st_ino
    result = _nsenter.read_namespace(namespace)
    assert result.error is None
    assert result.values == {"time": 600, "intvl": 30, "probes": 5}
    assert result.path == f"/run/netns/{name}"
    assert _netns.current_namespace_inode() == scan.current_inode  # the parent never moved


@pytest.mark.parametrize("force_ctypes", [False, True])
def test_read_namespace_values_setns_paths(named_netns, force_ctypes):
    name, inode = named_netns({"time": 1234, "intvl": 56, "probes": 7})
    path = f"/run/netns/{name}"
    result = _nsenter.read_namespace_values(path, expected_inode=inode, force_ctypes=force_ctypes)
    assert (result.error, result.values) == (None, {"time": 1234, "intvl": 56, "probes": 7})


def test_fresh_namespace_starts_at_kernel_defaults(named_netns):
    name, inode = named_netns()
    result = _nsenter.read_namespace_values(f"/run/netns/{name}", expected_inode=inode)
    assert result.values == {"time": 7200, "intvl": 75, "probes": 9}


def test_unshared_process_namespace(unshared_process):
    pid = unshared_process.pid
    subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "sh", "-c", "echo 900 > /proc/sys/net/ipv4/tcp_keepalive_time"],
        check=True,
    )
    inode = os.stat(f"/proc/{pid}/ns/net").st_ino
    namespace = _nsenter.list_namespaces().by_inode(inode)
    assert namespace is not None and namespace.mounts == [] and namespace.names == []
    assert [(p.pid, p.comm) for p in namespace.processes] == [(pid, "sleep")]
    result = _nsenter.read_namespace(namespace)
    assert result.error is None and result.path == f"/proc/{pid}/ns/net"
    assert result.values == {"time": 900, "intvl": 75, "probes": 9}


def test_read_namespace_skips_a_process_that_exited(unshared_process):
    pid = unshared_process.pid
    inode = os.stat(f"/proc/{pid}/ns/net").st_ino
    gone = _netns.ProcessInfo(pid=2**22 + 12345)  # above pid_max's default: never a live pid
    namespace = _nsenter.Namespace(inode=inode, processes=[gone, _netns.ProcessInfo(pid=pid)])
    result = _nsenter.read_namespace(namespace)
    assert result.error is None and result.path == f"/proc/{pid}/ns/net"


def test_inode_mismatch_is_refused(named_netns):
    name, inode = named_netns()
    result = _nsenter.read_namespace_values(f"/run/netns/{name}", expected_inode=inode + 1)
    assert result.error is not None and "process replaced" in result.error


def _slow_reader():
    time.sleep(30)
    return {}


def test_timeout_kills_the_child(named_netns):
    name, _inode = named_netns()
    started = time.monotonic()
    result = _nsenter.read_namespace_values(f"/run/netns/{name}", timeout=0.5, reader=_slow_reader)
    assert time.monotonic() - started < 5
    assert result.error == f"timed out after 0.5s reading /run/netns/{name}"


def test_reader_exception_comes_back_as_error(named_netns):
    name, _inode = named_netns()

    def broken():
        raise RuntimeError("boom")

    result = _nsenter.read_namespace_values(f"/run/netns/{name}", reader=broken)
    assert result.error == "reading in namespace failed: boom"


def test_python39_uses_ctypes_setns(named_netns):
    if not os.path.exists(PY39):
        pytest.skip("python 3.9 interpreter not installed")
    name, inode = named_netns({"probes": 4})
    collections_root = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections/tcp")))
    script = (
        "import json, os, sys; sys.path.insert(0, sys.argv[1]);"
        "from ansible_collections.tcp.keepalive.plugins.module_utils import _nsenter;"
        "r = _nsenter.read_namespace_values(sys.argv[2], expected_inode=int(sys.argv[3]));"
        "print(json.dumps({'has_os_setns': hasattr(os, 'setns'), 'values': r.values, 'error': r.error}))"
    )
    out = subprocess.run(
        [PY39, "-c", script, collections_root, f"/run/netns/{name}", str(inode)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    answer = json.loads(out)
    values = {"time": 7200, "intvl": 75, "probes": 4}
    assert answer == {"has_os_setns": False, "values": values, "error": None}
