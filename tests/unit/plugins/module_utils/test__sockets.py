# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_sockets: classification, filters, services, findings and result size, on the recorded sock_diag dump
(fixtures/sockdiag) joined to /proc fixture trees. Socket options come from a fake reader (the real one is
covered by test_sockopts.py and the netns integration tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._remediation import remediation_hint
from ansible_collections.tcp.keepalive.plugins.module_utils._sockdiag import (
    parse_messages,
    raw_from_socket,
    socket_from_raw,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import (
    DEFAULT_STATES,
    STATE_NAMES,
    NamespaceContext,
    OptionError,
    Scan,
    effective_detection_time,
    parse_options,
    timer_verdict,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockopts import SKIP_PTRACE, SockOpts
from ansible_collections.tcp.keepalive.plugins.modules import sockets_info
from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sockdiag"
TRUTH = json.loads((FIXTURES / "sockets.json").read_text())
RECORDED = parse_messages((FIXTURES / "dump.bin").read_bytes())[0]
ROLE = {entry["role"]: entry for entry in TRUTH["sockets"]}
INODE = {role: entry["inode"] for role, entry in ROLE.items()}
SYSCTLS = {"time": 600, "intvl": 30, "probes": 5}
CONTEXT_INODE = 4026532999
# Who holds what in the /proc fixture tree: pid -> (comm, unit, roles)
OWNERS = {
    10: ("nginx", "nginx.service", ("listener_keepalive", "accepted_inherits")),
    20: ("curl", None, ("client_plain",)),
    30: ("java", "app.service", ("listener_plain6", "client_keepidle6", "accepted_plain6")),
}


def proc_tree(root: Path, owners: dict | None = None) -> None:
    owners = OWNERS if owners is None else owners
    for pid, (comm, unit, roles) in owners.items():
        base = root / "proc" / str(pid)
        (base / "fd").mkdir(parents=True)
        (base / "comm").write_text(comm + "\n")
        os.symlink(f"/usr/bin/{comm}", base / "exe")
        cgroup = f"0::/system.slice/{unit}\n" if unit else "0::/user.slice/session-1.scope\n"
        (base / "cgroup").write_text(cgroup)
        for fd, role in enumerate(roles, start=3):
            os.symlink(f"socket:[{INODE[role]}]", base / "fd" / str(fd))


class FakeReader:
    """Stands in for SockOptReader: options per inode, or a reason."""

    def __init__(self, by_inode: dict, reason: str = SKIP_PTRACE) -> None:
        self.by_inode = by_inode
        self.reason = reason
        self.calls: list = []

    def read(self, pid: int, fd: int, inode: int, params_if_off: bool = True):
        self.calls.append((pid, fd, inode))
        if inode in self.by_inode:
            return self.by_inode[inode], None
        return None, self.reason

    def read_values(self, pid: int, fd: int, inode: int, params_if_off: bool = True):
        """SockOptReader.read_values(): read() as a tuple in SockOpts's field order."""
        opts, reason = self.read(pid, fd, inode, params_if_off)
        if opts is None:
            return None, reason
        return (opts.keepalive, opts.keepidle, opts.keepintvl, opts.keepcnt, opts.user_timeout), None


def scan(
    root: Path, sockets: list | None = None, reader=None, resampler=None, lane: str = "socket", **raw
) -> dict:
    """One Scan over `sockets`. lane="socket": a caller's source of TcpSockets (add() for every socket);
    lane="raw": the same sockets as the raw records of a sock_diag dump (add_raw(), the default source's
    path), two batches, with the raw filter applied as the dump parser applies it."""
    sockets = RECORDED if sockets is None else sockets
    raw.setdefault("include_loopback", True)
    raw.setdefault("read_socket_options", "never" if reader is None else "auto")
    options = parse_options(raw)
    options.resample_delay = 0
    context = NamespaceContext(inode=CONTEXT_INODE, sysctls=dict(SYSCTLS))

    def source(_context, mask, _keep):
        return [sock for sock in sockets if mask & (1 << sock.state)]

    def raw_source(_context, mask, keep):
        records = [raw_from_socket(sock) for sock in sockets if mask & (1 << sock.state)]
        if keep is not None:
            records = [r for r in records if keep(r[0], r[1], r[4], r[5], r[6])]
        half = len(records) // 2
        return iter([records[:half], records[half:]])

    sources = {"socket_source": source} if lane == "socket" else {"raw_source": raw_source}
    runner = Scan(
        options,
        root=str(root),
        reader=reader,
        resampler=resampler or (lambda _context, _socks: {}),
        **sources,
    )
    runner.run([context])
    result = runner.result()
    result["summary"].pop("method")  # "sock_diag" from a raw source, None from a caller's
    return result


def by_inode(result: dict) -> dict:
    return {entry["inode"]: entry for entry in result["sockets"]}


def ids(result: dict) -> list:
    return sorted(finding["id"] for finding in result["findings"])


@pytest.fixture
def root(tmp_path):
    proc_tree(tmp_path)
    return tmp_path


# ---- classification ---------------------------------------------------------------------------------


def test_timer_alone_classifies_connections_and_leaves_listeners_unknown(root):
    result = scan(root)
    sockets = by_inode(result)
    assert len(sockets) == len(TRUTH["sockets"])
    for role, entry in ROLE.items():
        got = sockets[entry["inode"]]
        if entry["listening"]:
            assert got["keepalive"] == "unknown" and got["keepalive_source"] is None, role
            assert "listening socket" in got["keepalive_reason"]
        else:
            assert got["keepalive"] is entry["keepalive"], role
            assert got["keepalive_source"] == "timer", role
    assert result["summary"]["keepalive"] == {"true": 2, "false": 2, "unknown": 2}


def test_keepalive_seen_by_timer_assumes_the_namespace_values(root):
    got = by_inode(scan(root))[INODE["client_keepidle6"]]
    assert got["params_source"] == "assumed"
    assert (got["keepidle"], got["keepintvl"], got["keepcnt"]) == (600, 30, 5)
    assert got["detection_time"] == 600 + 30 * 5
    assert got["timer"] == "keepalive" and 0 < got["timer_expires"] <= TRUTH["keepidle6"]


def test_socket_options_are_authoritative(root):
    reader = FakeReader(
        {
            INODE["listener_plain6"]: SockOpts(False, 600, 30, 5, 0),
            INODE["listener_keepalive"]: SockOpts(True, 600, 30, 5, 0),
            INODE["client_keepidle6"]: SockOpts(True, 45, 10, 4, 0),
            INODE["accepted_inherits"]: SockOpts(True, 600, 30, 5, 20000),
        }
    )
    result = scan(root, reader=reader)
    sockets = by_inode(result)
    assert sockets[INODE["listener_plain6"]]["keepalive"] is False
    assert sockets[INODE["listener_keepalive"]]["keepalive"] is True
    own = sockets[INODE["client_keepidle6"]]
    assert (own["keepalive_source"], own["params_source"]) == ("sockopt", "sockopt")
    assert own["detection_time"] == 45 + 10 * 4
    # TCP_USER_TIMEOUT 20 s with keepidle 600: reset at the first probe tick, 600 + 30.
    assert sockets[INODE["accepted_inherits"]]["detection_time"] == 630
    # auto mode does not spend a syscall on connected sockets without any timer.
    read_inodes = {call[2] for call in reader.calls}
    assert INODE["client_plain"] not in read_inodes and INODE["accepted_plain6"] not in read_inodes
    assert sockets[INODE["client_plain"]]["socket_options_skipped"] is None
    listener = [f for f in result["findings"] if f["id"] == "listener_without_keepalive"]
    assert len(listener) == 1 and listener[0]["service"] == "app.service" and listener[0]["pid"] == 30
    assert listener[0]["socket"] == f"[::1]:{ROLE['listener_plain6']['local'][1]}"
    assert listener[0]["severity"] == "high" and listener[0]["namespace"] is None
    assert "user_timeout_overrides_probes" in ids(result)


def test_always_reads_every_socket_and_reports_unreadable_ones(root):
    reader = FakeReader({})
    result = scan(root, reader=reader, read_socket_options="always")
    assert {call[2] for call in reader.calls} == set(INODE.values())
    assert result["summary"]["socket_options"]["skipped"] == {SKIP_PTRACE: len(INODE)}
    unreadable = [f for f in result["findings"] if f["id"] == "socket_options_unreadable"]
    assert [f["count"] for f in unreadable] == [len(INODE)]
    # fell back to the timer
    assert by_inode(result)[INODE["accepted_inherits"]]["keepalive"] is True


def test_sockets_without_a_visible_owner_are_not_read(tmp_path):
    reader = FakeReader({})
    result = scan(tmp_path, reader=reader)  # empty /proc: nobody owns anything
    assert reader.calls == []
    assert result["summary"]["socket_options"]["skipped"]["no owning process visible"] == 4
    assert [s["name"] for s in result["services"]] == ["(no owner visible)"]


@pytest.mark.parametrize(
    ("timer", "state", "expected"),
    [
        (2, 1, True),
        (0, 1, False),
        (1, 1, "unknown"),
        (4, 8, "unknown"),
        (2, 8, True),
        (0, 8, False),
        (0, 10, "unknown"),
        (2, 5, "unknown"),
        (0, 2, "unknown"),
    ],
)
def test_timer_verdict_table(timer, state, expected):
    sock = RECORDED[0]._replace(timer=timer, state=state)
    assert timer_verdict(sock).keepalive == expected


def test_masked_timer_is_resampled_once(root):
    masked = [s._replace(timer=1) if s.inode == INODE["client_plain"] else s for s in RECORDED]
    fresh = {s.cookie: s for s in RECORDED if s.inode == INODE["client_plain"]}
    asked = []

    def resampler(_context, sockets):
        asked.extend(s.inode for s in sockets)
        return fresh

    resolved = by_inode(scan(root, sockets=masked, resampler=resampler))[INODE["client_plain"]]
    assert asked == [INODE["client_plain"]]
    assert (resolved["keepalive"], resolved["keepalive_source"]) == (False, "timer")
    still = by_inode(scan(root, sockets=masked))[INODE["client_plain"]]
    assert still["keepalive"] == "unknown" and "re-sample" in still["keepalive_reason"]


# ---- ghosts, findings, services ---------------------------------------------------------------------


def test_idle_connections_without_keepalive_become_ghost_candidates(root):
    result = scan(root, idle_threshold=0)
    ghosts = sorted(e["inode"] for e in result["sockets"] if e["ghost_candidate"])
    assert ghosts == sorted([INODE["client_plain"], INODE["accepted_plain6"]])
    assert result["summary"]["ghost_candidates"] == 2
    ghost_findings = {f["service"]: f for f in result["findings"] if f["id"] == "ghost_candidate"}
    assert set(ghost_findings) == {"curl", "app.service"}
    assert ghost_findings["curl"]["count"] == 1 and "idle" in ghost_findings["curl"]["socket"]
    curl_idle = by_inode(result)[INODE["client_plain"]]["idle"]
    assert ghost_findings["curl"]["idle"] == curl_idle
    # The recording is fresh: nothing crosses the default threshold.
    assert scan(root)["summary"]["ghost_candidates"] == 0


def test_services_group_by_unit_else_process_name_with_hints(root):
    services = {s["name"]: s for s in scan(root)["services"]}
    assert set(services) == {"nginx.service", "curl", "app.service"}
    nginx = services["nginx.service"]
    assert (nginx["connections"], nginx["with_keepalive"], nginx["without_keepalive"]) == (1, 1, 0)
    assert nginx["hint"] is None  # nothing lacks keepalive there
    assert services["curl"]["without_keepalive"] == 1 and "libkeepalive" in services["curl"]["hint"]
    assert "setKeepAlive" in services["app.service"]["hint"]
    assert services["app.service"]["listeners"][0]["local"].startswith("[::1]:")


def test_max_detection_time_finding(root):
    result = scan(root, max_detection_time=700)
    exceeded = [f for f in result["findings"] if f["id"] == "detection_time_exceeded"]
    assert sorted(f["service"] for f in exceeded) == ["app.service", "nginx.service"]
    assert all("750" in f["message"] for f in exceeded)
    assert "detection_time_exceeded" not in ids(scan(root, max_detection_time=750))


@pytest.mark.parametrize("lane", ["socket", "raw"])
def test_detection_finding_counts_every_connection_over_the_limit(root, lane):
    """Three copies of each keepalive connection (750 s by the namespace's sysctls) over a 700 s limit."""
    result = scan(root, sockets=RECORDED * 3, lane=lane, max_detection_time=700)
    exceeded = {f["service"]: f["count"] for f in result["findings"] if f["id"] == "detection_time_exceeded"}
    assert exceeded == {"app.service": 3, "nginx.service": 3}
    assert {s["name"]: s["max_detection_time"] for s in result["services"] if s["with_keepalive"]} == {
        "app.service": 750,
        "nginx.service": 750,
    }


# ---- filters and detail -----------------------------------------------------------------------------


def test_loopback_is_left_out_by_default(root):
    assert scan(root, include_loopback=False)["summary"]["sockets"] == 0


def test_port_filters_match_local_or_remote_port(root):
    port = ROLE["listener_keepalive"]["local"][1]
    chosen = {e["inode"] for e in scan(root, ports=[port])["sockets"]}
    assert chosen == {INODE["listener_keepalive"], INODE["accepted_inherits"], INODE["client_plain"]}
    rest = {e["inode"] for e in scan(root, exclude_ports=[port])["sockets"]}
    assert rest == set(INODE.values()) - chosen


def test_service_filters(root):
    only = {e["inode"] for e in scan(root, services=["nginx"])["sockets"]}
    assert only == {INODE["listener_keepalive"], INODE["accepted_inherits"]}
    without = {e["service"] for e in scan(root, exclude_services=["app*", "curl"])["sockets"]}
    assert without == {"nginx.service"}


def test_states_filter(root):
    result = scan(root, states=["listen"])
    assert result["summary"]["by_state"] == {"LISTEN": 2}


def test_detail_summary_and_cap(root):
    summary = scan(root, detail="summary", idle_threshold=0)
    assert summary["sockets"] == [] and summary["summary"]["sockets"] == 6
    assert summary["summary"]["sockets_truncated"] is True
    capped = scan(root, detail=1, idle_threshold=0)
    assert len(capped["sockets"]) == 1 and capped["sockets"][0]["ghost_candidate"] is True


def test_summary_stays_small_at_100000_sockets(tmp_path):
    owners = {pid: (f"daemon{pid}", None, ()) for pid in range(1, 501)}
    proc_tree(tmp_path, owners)
    for pid in owners:
        os.symlink(f"socket:[{pid}]", tmp_path / "proc" / str(pid) / "fd" / "3")
    template = next(s for s in RECORDED if s.inode == INODE["client_plain"])
    many = [template._replace(inode=1 + i % 500, sport=1024 + i % 60000) for i in range(100_000)]
    result = scan(tmp_path, sockets=many, detail="summary", idle_threshold=0)
    size = len(json.dumps(result))
    assert size < 64 * 1024, size
    summary = result["summary"]
    assert summary["sockets"] == 100_000 and summary["ghost_candidates"] == 100_000
    assert summary["services"] == 500 and 10 < summary["services_listed"] < 500
    assert summary["findings"] == 1000 and 10 < summary["findings_listed"] < 1000
    assert len(result["services"]) == summary["services_listed"]
    assert {f["id"] for f in result["findings"]} == {"ghost_candidate"}  # high severity kept first


# ---- options and module -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"states": ["ESTABLISHED", "BOGUS"]}, "unknown TCP state(s) BOGUS"),
        ({"states": ["ESTABLISHED", None]}, "states: an element is empty or null"),
        ({"ports": [0]}, "out of range"),
        ({"exclude_ports": [70000]}, "out of range"),
        ({"ports": ["ssh"]}, "not a port number"),
        ({"detail": "lots"}, "detail must be"),
        ({"detail": -1}, "detail: a socket cap must be between 0 and 20000"),
        ({"detail": 10**30}, "detail: a socket cap must be between 0 and 20000"),
        ({"detail": 1.5}, "detail must be 'full', 'summary' or a number"),
        ({"idle_threshold": -5}, "idle_threshold must be between 0 and 4294967 seconds"),
        ({"idle_threshold": 10**30}, "idle_threshold must be between 0 and 4294967 seconds"),
        ({"max_detection_time": 10**30}, "max_detection_time must be between 0 and 4194176 seconds"),
        ({"max_detection_time": "1e3"}, "max_detection_time must be a whole number"),
        ({"services": [None]}, "services: element 1 is None"),
        ({"services": [""]}, "services: element 1 is empty"),
        ({"services": ["nginx", {}]}, "services: element 2 is {}"),
        ({"services": ["{}"]}, "services: element 1 '{}' is a mapping"),
        ({"exclude_services": ["ngi\x00nx"]}, "exclude_services: element 1 .* contains a NUL"),
        ({"include_loopback": "yes"}, "include_loopback must be true or false"),
        ({"probe_listeners": 1}, "probe_listeners must be true or false"),
        ({"namespaces": "some"}, "namespaces must be one of"),
        ({"read_socket_options": "maybe"}, "read_socket_options must be one of"),
        ({"services": {"a": 1}}, "services must be a list"),
    ],
)
def test_bad_options_say_what_is_wrong(raw, message):
    with pytest.raises(OptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_options(raw)


def test_option_defaults_and_all_states():
    options = parse_options({})
    assert options.states == DEFAULT_STATES and "TIME_WAIT" not in options.states
    assert options.detail == 1000 and options.read_socket_options == "auto"
    assert parse_options({"detail": "full"}).detail == "full"
    assert parse_options({"states": ["all"]}).states == STATE_NAMES
    assert parse_options({"detail": "25"}).detail == 25
    assert parse_options({"states": ["close-wait"]}).states == ("CLOSE_WAIT",)


@pytest.mark.parametrize(
    ("idle", "intvl", "cnt", "user_timeout_ms", "expected"),
    [
        (7200, 75, 9, 0, 7875),
        (40, 15, 9, 1000, 55),  # below the first tick after one probe: that tick
        (40, 15, 9, 100_000, 100),  # 40 + 4 * 15
        (40, 15, 9, 101_000, 115),  # next tick
        (40, 15, 2, 300_000, 310),  # 40 + 18 * 15: user timeout replaces the probe count, even upwards
    ],
)
def test_effective_detection_time(idle, intvl, cnt, user_timeout_ms, expected):
    assert effective_detection_time(idle, intvl, cnt, user_timeout_ms) == expected


@pytest.mark.parametrize(
    ("comm", "exe", "pid", "needle"),
    [
        ("sshd", "/usr/sbin/sshd", 800, "ClientAliveInterval"),
        ("nginx", "/usr/sbin/nginx", 900, "so_keepalive=on"),
        ("haproxy", "/usr/sbin/haproxy", 901, "option clitcpka"),
        ("redis-server", "/usr/bin/redis-server", 902, "tcp-keepalive"),
        ("postgres", "/usr/lib/postgresql/15/bin/postgres", 903, "tcp_keepalives_idle"),
        ("mariadbd", "/usr/sbin/mariadbd", 904, "tcp_keepalive_time"),
        ("java", "/usr/lib/jvm/bin/java", 905, "ExtendedSocketOptions"),
        ("systemd", "/usr/lib/systemd/systemd", 1, "KeepAlive=yes"),
        ("worker", "/usr/sbin/mysqld", 906, "MySQL"),  # matched by executable name
        ("myapp", "/opt/myapp", 907, "LD_PRELOAD=libkeepalive.so"),
    ],
)
def test_remediation_hints(comm, exe, pid, needle):
    assert needle in remediation_hint(comm, exe, pid)


def run_module(capsys, args: dict) -> dict:
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit):
        sockets_info.main()
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return json.loads(out)


def test_module_fails_cleanly_on_bad_input(capsys):
    result = run_module(capsys, {"states": ["ESTABLISHED", "NOPE"]})
    assert result["failed"] is True and "unknown TCP state(s) NOPE" in result["msg"]
    result = run_module(capsys, {"ports": [22, 99999]})
    assert result["failed"] is True and "port 99999 is out of range" in result["msg"]
    result = run_module(capsys, {"ports": ["ssh"]})
    assert result["failed"] is True and "ports" in result["msg"]


def test_module_runs_in_check_mode_on_this_host(capsys):
    result = run_module(capsys, {"detail": "summary", "read_socket_options": "never"})
    assert result["changed"] is False and "failed" not in result
    assert result["sockets"] == [] and result["summary"]["method"] in ("sock_diag", "proc", None)
    assert result["summary"]["namespaces"][0]["current"] is True


def test_without_sock_diag_the_scan_reads_proc_net_tcp(root, monkeypatch):
    """The whole pipeline (scan_sockets) on a fixture tree, with NETLINK_SOCK_DIAG unavailable."""
    from ansible_collections.tcp.keepalive.plugins.module_utils import _sockdiag, _sockets

    def refuse():
        raise _sockdiag.SockDiagError("cannot open NETLINK_SOCK_DIAG socket: protocol not supported")

    def no_netlink(*_args, **_kwargs):
        yield from refuse()  # a generator that fails on first use, like the real dump

    monkeypatch.setattr(_sockdiag, "dump_raw", no_netlink)
    net = root / "proc" / "net"
    net.mkdir(parents=True)
    for name in ("tcp", "tcp6"):
        (net / name).write_text((FIXTURES / f"proc_net_{name}").read_text())
    ipv4 = root / "proc" / "sys" / "net" / "ipv4"
    ipv4.mkdir(parents=True)
    for key, value in SYSCTLS.items():
        (ipv4 / f"tcp_keepalive_{key}").write_text(f"{value}\n")
    result = _sockets.scan_sockets(
        parse_options({"include_loopback": True, "read_socket_options": "never", "idle_threshold": 0}),
        root=str(root),
    )
    summary = result["summary"]
    assert summary["method"] == "proc" and summary["sockets"] == len(INODE)
    assert summary["namespaces"][0]["sysctls"] == SYSCTLS
    sockets = by_inode(result)
    assert sockets[INODE["accepted_inherits"]]["keepalive"] is True
    assert sockets[INODE["accepted_inherits"]]["detection_time"] == 600 + 30 * 5
    assert sockets[INODE["client_plain"]]["keepalive"] is False
    assert sockets[INODE["client_plain"]]["service"] == "curl"
    # /proc/net/tcp has no TCP_INFO: no idle time, so no ghost can be claimed.
    assert sockets[INODE["client_plain"]]["idle"] is None and summary["ghost_candidates"] == 0


def test_owner_in_a_net_cls_cgroup_is_never_duplicated(root):
    (root / "proc" / "30" / "cgroup").write_text(
        "3:net_cls,net_prio:/kubepods/besteffort/pod1\n0::/system.slice/app.service\n"
    )
    reader = FakeReader({inode: SockOpts(True, 600, 30, 5, 0) for inode in INODE.values()})
    result = scan(root, reader=reader, read_socket_options="always")
    java = {INODE[role] for role in OWNERS[30][2]}
    assert not java & {call[2] for call in reader.calls}
    sockets = by_inode(result)
    for number in java:
        assert "net_cls" in sockets[number]["socket_options_skipped"]
    assert sockets[INODE["listener_plain6"]]["keepalive"] == "unknown"  # timer only for a listener
    assert sockets[INODE["accepted_inherits"]]["keepalive_source"] == "sockopt"  # others still read


def test_inspector_in_a_net_cls_cgroup_reads_nothing(root):
    own = root / "proc" / str(os.getpid())
    own.mkdir(parents=True)
    (own / "cgroup").write_text("3:net_cls:/restricted\n")
    reader = FakeReader({inode: SockOpts(True, 600, 30, 5, 0) for inode in INODE.values()})
    result = scan(root, reader=reader, read_socket_options="always")
    assert reader.calls == []
    skipped = result["summary"]["socket_options"]["skipped"]
    assert list(skipped) == ["inspector is in a non-root cgroup-v1 net_cls/net_prio cgroup"]


# ---- listeners judged from evidence -------------------------------------------------------------------


def _options_reader(keepalive_accepted: bool) -> FakeReader:
    """The IPv6 listener without SO_KEEPALIVE, its accepted connection with or without it (after accept)."""
    return FakeReader(
        {
            INODE["listener_plain6"]: SockOpts(False, None, None, None, 0),
            INODE["listener_keepalive"]: SockOpts(True, 600, 30, 5, 0),
            INODE["accepted_plain6"]: (
                SockOpts(True, 15, 15, 9, 0) if keepalive_accepted else SockOpts(False, None, None, None, 0)
            ),
        }
    )


def listener_of(result: dict, role: str = "listener_plain6") -> dict:
    return by_inode(result)[INODE[role]]


def test_listener_that_sets_keepalive_after_accept_is_fine(root):
    result = scan(root, reader=_options_reader(True), read_socket_options="always")
    entry = listener_of(result)
    assert entry["keepalive"] is False  # the listening socket itself, as read
    assert (entry["listener_verdict"], entry["listener_evidence"]) == ("after_accept", "accepted")
    assert not [f for f in result["findings"] if f["id"].startswith("listener_")]
    app = {s["name"]: s for s in result["services"]}["app.service"]
    assert app["listeners"][0]["verdict"] == "after_accept"
    assert app["listeners"][0]["accepted_with_keepalive"] == 1
    assert app["listeners_without_keepalive"] == 0 and result["summary"]["listeners_without_keepalive"] == 0
    assert listener_of(result, "listener_keepalive")["listener_verdict"] == "keepalive"


def test_listener_whose_accepted_connection_lacks_keepalive_is_high_with_the_count(root):
    result = scan(root, reader=_options_reader(False), read_socket_options="always")
    found = [f for f in result["findings"] if f["id"] == "listener_without_keepalive"]
    assert len(found) == 1 and found[0]["severity"] == "high" and found[0]["evidence"] == "accepted"
    assert "1 of the 1 connection(s) it accepted have no keepalive" in found[0]["message"]
    assert listener_of(result)["listener_verdict"] == "without"


def test_accepted_connections_of_unknown_keepalive_count_in_the_listener_evidence(root):
    """A second accepted connection whose retransmit timer masks the keepalive one (still masked when
    re-sampled) is unknown: the listener's finding counts it among the connections it accepted."""
    accepted = next(sock for sock in RECORDED if sock.inode == INODE["accepted_plain6"])
    masked = accepted._replace(inode=1010200, timer=1, dport=accepted.dport + 1, cookie=77)
    os.symlink("socket:[1010200]", root / "proc" / "30" / "fd" / "9")
    result = scan(root, sockets=[*RECORDED, masked])
    assert by_inode(result)[1010200]["keepalive"] == "unknown"
    found = [f for f in result["findings"] if f["id"] == "listener_without_keepalive"]
    assert len(found) == 1 and "1 of the 2 connection(s) it accepted have no keepalive" in found[0]["message"]


def test_listener_without_visible_connections_is_unverified_never_high(root):
    sockets = [s for s in RECORDED if s.inode != INODE["accepted_plain6"]]
    result = scan(root, sockets=sockets, reader=_options_reader(False), read_socket_options="always")
    listener_ids = [f for f in result["findings"] if f["id"].startswith("listener_")]
    assert [(f["id"], f["severity"]) for f in listener_ids] == [("listener_keepalive_unverified", "low")]
    assert "probe_listeners is off" in listener_ids[0]["message"]
    assert listener_of(result)["listener_verdict"] == "unverified"
    assert result["summary"]["listeners_unverified"] == 1
    assert result["summary"]["listeners_probed"] == 0


@pytest.mark.parametrize(
    ("probe_says", "verdict", "finding"),
    [
        (True, "after_accept", None),
        (False, "without", "listener_without_keepalive"),
        ("unknown", "unverified", "listener_keepalive_unverified"),
    ],
)
def test_probe_decides_where_no_connection_is_visible(root, probe_says, verdict, finding):
    from ansible_collections.tcp.keepalive.plugins.module_utils._probe import ProbeResult

    probed = []

    def prober(context, listener, pids, reader, root_path):
        probed.append((listener.inode, pids))
        return ProbeResult(
            probe_says,
            "sockopt" if probe_says != "unknown" else None,
            error=None if probe_says != "unknown" else "refused",
        )

    sockets = [s for s in RECORDED if s.inode != INODE["accepted_plain6"]]
    options = parse_options(
        {"include_loopback": True, "probe_listeners": True, "read_socket_options": "always"}
    )
    runner = Scan(
        options,
        root=str(root),
        reader=_options_reader(False),
        socket_source=lambda _c, mask, _k: [s for s in sockets if mask & (1 << s.state)],
        resampler=lambda _c, _s: {},
        prober=prober,
    )
    runner.run([NamespaceContext(inode=CONTEXT_INODE, sysctls=dict(SYSCTLS))])
    result = runner.result()
    assert probed == [(INODE["listener_plain6"], [30])]  # only the listener without keepalive, its pids
    entry = listener_of(result)
    assert entry["listener_verdict"] == verdict
    assert entry["listener_evidence"] == ("probe" if probe_says != "unknown" else None)
    listener_ids = [f["id"] for f in result["findings"] if f["id"].startswith("listener_")]
    assert listener_ids == ([finding] if finding else [])
    assert result["summary"]["listeners_probed"] == 1


def test_every_finding_says_its_scope(root):
    result = scan(
        root,
        reader=_options_reader(False),
        read_socket_options="always",
        idle_threshold=0,
        max_detection_time=1,
    )
    assert len(ids(result)) >= 4
    assert {f["scope"] for f in result["findings"]} == {"runtime"}


def test_detail_full_is_refused_above_the_cap(root, monkeypatch):
    from ansible_collections.tcp.keepalive.plugins.module_utils import _sockets

    monkeypatch.setattr(_sockets, "MAX_DETAIL", 3)
    with pytest.raises(_sockets.ResultTooLarge, match="detail=full: this host has 6 sockets to list"):
        scan(root, detail="full")
    assert scan(root, detail=3)["summary"]["sockets_listed"] == 3


def test_namespace_gone_before_entry_is_gone_not_an_error():
    from ansible_collections.tcp.keepalive.plugins.module_utils._netns import ProcessInfo
    from ansible_collections.tcp.keepalive.plugins.module_utils._nsenter import Namespace, enter_for_scan

    vanished = Namespace(inode=4026599999, processes=[ProcessInfo(pid=2**22 + 12345)])
    context = enter_for_scan(vanished)
    assert context.gone is True and context.error is None and context.netlink is None
    options = parse_options({})
    runner = Scan(options, socket_source=lambda *_args: pytest.fail("a gone namespace is not dumped"))
    runner.run([context])
    report = runner.result()["summary"]["namespaces"][0]
    assert report["gone"] is True and report["error"] is None and report["sockets"] == 0


@pytest.mark.parametrize(
    ("params", "option"),
    [
        ({"services": [None]}, "services"),
        ({"services": [{}]}, "services"),
        ({"exclude_services": ["a\x00b"]}, "exclude_services"),
        ({"idle_threshold": 10**30}, "idle_threshold"),
        ({"max_detection_time": 10**30}, "max_detection_time"),
        ({"detail": 10**30}, "detail"),
        ({"states": [None]}, "states"),
    ],
)
def test_module_refuses_inputs_that_would_give_a_false_all_clear(capsys, params, option):
    result = run_module(capsys, params)
    # ansible-core 2.19 lets the module word it ("services ..."); 2.17/2.18 refuse a None element in
    # argument validation first ("Elements value for option 'services' ...").
    named = result["msg"].startswith(option) or f"for option '{option}'" in result["msg"]
    assert result["failed"] is True and named, result["msg"]


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_bulk_path_counts_exactly_what_the_listing_path_counts(root, mode):
    """Connections the timer classifies are counted without building objects unless listed: the totals,
    services and findings must not depend on how many sockets are listed."""
    many = [
        sock._replace(sport=sock.sport, last_data_recv=(index % 7) * 1000)
        for index in range(200)
        for sock in RECORDED
    ]
    reader = _options_reader(True) if mode == "auto" else None
    raw = {"idle_threshold": 3, "max_detection_time": 100}
    listed = scan(root, sockets=many, reader=reader, detail="full", **raw)
    bulk = scan(root, sockets=many, reader=reader, detail="summary", **raw)
    some = scan(root, sockets=many, reader=reader, detail=5, **raw)
    volatile = {"sockets_listed", "sockets_truncated", "services_listed", "findings_listed"}
    for other in (bulk, some):
        assert {k: v for k, v in other["summary"].items() if k not in volatile} == {
            k: v for k, v in listed["summary"].items() if k not in volatile
        }
        assert [dict(s, hint=None) for s in other["services"]] == [
            dict(s, hint=None) for s in listed["services"]
        ]
    # detail=summary trims the findings list to its byte budget (summary.findings still counts them all)
    assert [(f["id"], f.get("service"), f.get("count")) for f in some["findings"]] == [
        (f["id"], f.get("service"), f.get("count")) for f in listed["findings"]
    ]
    assert listed["summary"]["ghost_candidates"] > 0 and listed["summary"]["sockets"] == len(many)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"include_loopback": True, "ports": [22]},
        {"exclude_ports": [443]},
        {"ports": [80, 443], "exclude_ports": [80]},
    ],
)
def test_raw_byte_filter_agrees_with_the_parsed_filter(raw):
    """The dump drops sockets on the raw inet_diag bytes (_selection.Selector.raw_filter); it must keep
    exactly what the filter on parsed sockets keeps, for IPv4, IPv6 and IPv4-mapped addresses."""
    import socket as socket_module

    from ansible_collections.tcp.keepalive.plugins.module_utils._selection import Selector

    selector = Selector(parse_options(raw))
    keep = selector.raw_filter()
    cases = [
        (socket_module.AF_INET, "127.0.0.1"),
        (socket_module.AF_INET, "10.0.0.1"),
        (socket_module.AF_INET6, "::1"),
        (socket_module.AF_INET6, "2001:db8::1"),
        (socket_module.AF_INET6, "::ffff:127.0.0.5"),
        (socket_module.AF_INET6, "::ffff:10.1.2.3"),
    ]
    for family, address in cases:
        src = socket_module.inet_pton(family, address).ljust(16, b"\0")
        for state in (1, 10):
            for sport, dport in ((22, 50000), (50000, 443), (80, 443), (8080, 8081)):
                parsed = selector.socket_wanted(family, state, address, sport, dport)
                assert (keep is None or keep(family, state, sport, dport, src)) == parsed, (
                    raw,
                    address,
                    state,
                    sport,
                    dport,
                )


# ---- the raw lane (add_raw: the default sock_diag source) counts what add() counts ---------------------


def _variants() -> list:
    """Every recorded socket, and each connected one again with every timer, idle or fresh, in both
    connected states: the cases add_raw() counts itself and those it hands to add()."""
    out = list(RECORDED)
    for sock in RECORDED:
        if sock.state_name == "LISTEN":
            continue
        for state in (1, 8):  # ESTABLISHED, CLOSE_WAIT
            for timer in (0, 1, 2, 4):
                for idle_ms in (5_000, 10_000_000):
                    out.append(sock._replace(state=state, timer=timer, last_data_recv=idle_ms))
    out.append(RECORDED[1]._replace(state=4, timer=2))  # FIN_WAIT1: not a connected state
    out.append(RECORDED[1]._replace(inode=0))  # no owner visible
    return out


def _reader() -> FakeReader:
    return FakeReader(
        {
            INODE["accepted_inherits"]: SockOpts(True, 600, 30, 5, 0),
            INODE["client_keepidle6"]: SockOpts(True, 7200, 75, 9, 0),  # over max_detection_time
            INODE["accepted_plain6"]: SockOpts(False, None, None, None, 0),
            INODE["client_plain"]: SockOpts(True, 60, 10, 3, 20_000),  # TCP_USER_TIMEOUT: handed to add()
        }
    )  # the listeners' options are not readable: SKIP_PTRACE


def test_raw_records_round_trip_to_the_same_socket():
    for sock in _variants():
        assert socket_from_raw(raw_from_socket(sock)) == sock


@pytest.mark.parametrize("detail", ["summary", 1, 4, "full"])
@pytest.mark.parametrize("mode", ["never", "auto", "always"])
def test_raw_lane_gives_the_result_the_socket_lane_gives(root, mode, detail):
    sockets = _variants()
    results = {}
    for lane in ("socket", "raw"):
        results[lane] = scan(
            root,
            sockets=sockets,
            reader=None if mode == "never" else _reader(),
            lane=lane,
            read_socket_options=mode,
            detail=detail,
            idle_threshold=60,
            max_detection_time=3600,
        )
    assert results["raw"] == results["socket"]
    summary = results["raw"]["summary"]
    assert summary["sockets"] == len(sockets)
    assert summary["ghost_candidates"] > 0 and summary["keepalive"]["true"] > 0
    if mode != "never":
        assert summary["socket_options"]["read"] > 0 and summary["socket_options"]["skipped"]
    ids_seen = {finding["id"] for finding in results["raw"]["findings"]}
    assert {"ghost_candidate", "connection_without_keepalive"} <= ids_seen
    if mode == "never":  # masked timers, not re-sampled here: unknown
        assert "keepalive_unknown" in ids_seen
    else:
        assert {"detection_time_exceeded", "user_timeout_overrides_probes"} <= ids_seen


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_raw_lane_applies_the_owner_and_loopback_filters(root, mode):
    sockets = _variants()
    for raw in ({"services": ["curl"]}, {"exclude_services": ["java"]}, {"include_loopback": False}):
        got = {
            lane: scan(
                root,
                sockets=sockets,
                reader=None if mode == "never" else _reader(),
                lane=lane,
                read_socket_options=mode,
                detail="summary",
                **raw,
            )
            for lane in ("socket", "raw")
        }
        assert got["raw"] == got["socket"], raw
        assert got["raw"]["summary"]["sockets"] < len(sockets), raw
