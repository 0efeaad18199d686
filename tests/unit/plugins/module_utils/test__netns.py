"""Unit tests for _netns: namespace listing on fixture /proc trees, parsing, and read errors."""

from __future__ import annotations

import errno
import os

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _netns, _nsenter

DOCKER_ID = "a" * 64
MOUNTINFO = "\n".join(
    [
        "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
        "93 27 254:0 /run/netns /run/netns rw,relatime shared:6 - ext4 /dev/vda rw",
        "94 93 0:4 net:[3000] /run/netns/blue rw shared:7 - nsfs nsfs rw",
        "95 93 0:4 net:[3001] /run/netns/with\\040space rw shared:8 - nsfs nsfs rw",
        "96 27 0:4 net:[2000] /run/docker/netns/0123abcd rw - nsfs nsfs rw",
        "97 27 0:4 mnt:[5000] /run/some-mnt-ns rw - nsfs nsfs rw",
        "98 27 0:4 net:[3000] /var/run/alias-of-blue rw - nsfs nsfs rw",
        "",
    ]
)


def _proc(root, pid, inode, comm="app", ppid=1, cgroup="0::/\n"):
    base = root / "proc" / str(pid)
    (base / "ns").mkdir(parents=True)
    if inode is not None:
        os.symlink(f"net:[{inode}]", base / "ns" / "net")
    (base / "stat").write_text(f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 0 0\n")
    (base / "cgroup").write_text(cgroup)


@pytest.fixture
def tree(tmp_path):
    _proc(tmp_path, 1, 1000, comm="systemd", ppid=0, cgroup="0::/init.scope\n")
    _proc(tmp_path, 2, 1000, comm="kthreadd", ppid=0)
    _proc(tmp_path, 3, 1000, comm="kworker/0:1", ppid=2)
    _proc(tmp_path, 101, 1000, comm="nginx", cgroup="0::/system.slice/nginx.service\n")
    _proc(tmp_path, 200, 2000, comm="my app) x", cgroup=f"0::/system.slice/docker-{DOCKER_ID}.scope\n")
    _proc(tmp_path, 300, None)  # exited between listdir and readlink: no ns link any more
    (tmp_path / "proc" / "self" / "ns").mkdir(parents=True)
    os.symlink("net:[1000]", tmp_path / "proc" / "self" / "ns" / "net")
    (tmp_path / "proc" / "self" / "mountinfo").write_text(MOUNTINFO)
    return tmp_path


def test_parse_ns_link():
    assert _netns.parse_ns_link("net:[4026531840]") == 4026531840
    assert _netns.parse_ns_link("mnt:[4026531840]") is None
    assert _netns.parse_ns_link("garbage") is None


def test_parse_stat_comm_with_spaces_and_parens():
    assert _nsenter.parse_stat("42 (a (b) c) S 7 42 42 0") == ("a (b) c", 7)
    assert _nsenter.parse_stat("nonsense") == (None, None)


def test_parse_nsfs_mounts_only_net_namespaces_and_unescapes():
    assert _nsenter.parse_nsfs_mounts(MOUNTINFO) == [
        (3000, "/run/netns/blue"),
        (3001, "/run/netns/with space"),
        (2000, "/run/docker/netns/0123abcd"),
        (3000, "/var/run/alias-of-blue"),
    ]


def test_list_namespaces_on_fixture_tree(tree):
    scan = _nsenter.list_namespaces(root=str(tree))
    assert scan.current_inode == 1000
    assert scan.hidden_processes == 0
    assert [ns.inode for ns in scan.namespaces] == [1000, 2000, 3000, 3001]
    host, container, blue, spaced = scan.namespaces
    assert host.current and not container.current and not blue.current
    # kernel threads (pid 2 and its children) are not listed; pid 300 vanished silently
    assert [p.as_dict() for p in host.processes] == [
        {"pid": 1, "comm": "systemd", "container_id": None, "systemd_unit": "init.scope"},
        {"pid": 101, "comm": "nginx", "container_id": None, "systemd_unit": "nginx.service"},
    ]
    assert container.processes[0].as_dict() == {
        "pid": 200,
        "comm": "my app) x",
        "container_id": DOCKER_ID,
        "systemd_unit": None,
    }
    assert container.mounts == ["/run/docker/netns/0123abcd"] and container.names == []
    assert blue.processes == [] and blue.names == ["blue"]
    assert blue.mounts == ["/run/netns/blue", "/var/run/alias-of-blue"]
    assert spaced.names == ["with space"]


def test_entry_paths_mounts_first_then_processes(tree):
    scan = _nsenter.list_namespaces(root=str(tree))
    container = scan.by_inode(2000)
    assert container is not None
    assert container.entry_paths(str(tree)) == [
        str(tree / "run/docker/netns/0123abcd"),
        str(tree / "proc/200/ns/net"),
    ]
    assert scan.by_inode(424242) is None


def test_unreadable_ns_links_are_counted_as_hidden(tree, monkeypatch):
    real_readlink = os.readlink

    def readlink(path, *args, **kwargs):
        if str(path).endswith("/proc/101/ns/net"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(_netns.os, "readlink", readlink)
    scan = _nsenter.list_namespaces(root=str(tree))
    assert scan.hidden_processes == 1
    assert [p.pid for p in scan.by_inode(1000).processes] == [1]


def test_current_namespace_listed_even_without_visible_process(tmp_path):
    (tmp_path / "proc" / "self" / "ns").mkdir(parents=True)
    os.symlink("net:[77]", tmp_path / "proc" / "self" / "ns" / "net")
    scan = _nsenter.list_namespaces(root=str(tmp_path))
    assert [(ns.inode, ns.current) for ns in scan.namespaces] == [(77, True)]


def test_missing_proc_gives_empty_scan(tmp_path):
    scan = _nsenter.list_namespaces(root=str(tmp_path))
    assert scan.namespaces == [] and scan.current_inode is None


@pytest.mark.parametrize("force_ctypes", [False, True])
def test_read_values_missing_namespace_file_is_reported(tmp_path, force_ctypes):
    result = _nsenter.read_namespace_values(str(tmp_path / "nope"), force_ctypes=force_ctypes)
    assert result.values == {"time": None, "intvl": None, "probes": None}
    assert result.errno == errno.ENOENT
    assert "cannot open" in result.error and "ENOENT" in result.error


@pytest.mark.parametrize("force_ctypes", [False, True])
def test_read_values_not_a_namespace_file_is_reported(tmp_path, force_ctypes):
    plain = tmp_path / "plain"
    plain.write_text("x")
    result = _nsenter.read_namespace_values(str(plain), force_ctypes=force_ctypes)
    # setns(2) rejects a non-nsfs fd with EINVAL (before any capability check)
    assert result.errno == errno.EINVAL, result
    assert result.error.startswith("cannot enter " + str(plain))


def test_read_values_inode_mismatch_is_reported(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    result = _nsenter.read_namespace_values(str(plain), expected_inode=1)
    assert result.errno == errno.ESRCH and "not 1" in result.error


def test_read_namespace_without_any_entry_path():
    result = _nsenter.read_namespace(_nsenter.Namespace(inode=5))
    assert result.error == "no process or bind mount left to enter namespace 5"


def test_read_namespace_all_processes_gone(tmp_path):
    namespace = _nsenter.Namespace(
        inode=5, processes=[_netns.ProcessInfo(pid=11), _netns.ProcessInfo(pid=12)]
    )
    result = _nsenter.read_namespace(namespace, root=str(tmp_path))
    assert result.errno == errno.ENOENT
    assert result.path == str(tmp_path / "proc/12/ns/net")  # tried both, reports the last


def test_parse_child_answer_garbage_and_values():
    bad = _nsenter._parse_child_answer(b"", 256, "/x")
    assert bad.error == "reader for /x exited (wait status 256) without an answer"
    good = _nsenter._parse_child_answer(b'{"values": {"time": 600, "intvl": 5}}', 0, "/x")
    assert good.error is None and good.values == {"time": 600, "intvl": 5, "probes": None}
