# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sockets_info against real servers and runtimes from Debian's packages (scripts/real-servers.sh installs
them), each with and without keepalive where it has a setting, in private network namespaces.

Topology, made per module: a server namespace S and a client namespace C joined by a veth pair
(10.77.0.1 <-> 10.77.0.2), so connections are not on loopback and sockets_info runs with its defaults.
Servers run inside S (started by `ip netns exec`); clients are sockets this test opens inside C
(_nsenter.open_in_namespace); every scan runs in a forked child that entered S.

Per server: the listener verdict without any connection (unverified, low), with the probe, with an
accepted connection visible; the hint for the program; no disturbance (it still accepts and answers, no
descriptor left in the server or in this process); for some, the ghost candidate after its client
vanishes (the veth pair is deleted before the client closes, so the server never hears of it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._nsenter import open_in_namespace
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import parse_options
from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import scan_sockets
from ansible_collections.tcp.keepalive.tests.integration.forked import join_netns, run_in_child

pytestmark = pytest.mark.netns
SERVER_NS, CLIENT_NS = f"tk-real-s{os.getpid()}", f"tk-real-c{os.getpid()}"
SERVER_IP, CLIENT_IP = "10.77.0.1", "10.77.0.2"
START_TIMEOUT = 60.0


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def veth_up() -> None:
    run(
        "ip",
        "link",
        "add",
        "tkr-s",
        "netns",
        SERVER_NS,
        "type",
        "veth",
        "peer",
        "name",
        "tkr-c",
        "netns",
        CLIENT_NS,
    )
    for ns, dev, ip in ((SERVER_NS, "tkr-s", SERVER_IP), (CLIENT_NS, "tkr-c", CLIENT_IP)):
        run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
        run("ip", "-n", ns, "link", "set", dev, "up")


@pytest.fixture(scope="module")
def topology():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")
    os.makedirs(WORK, mode=0o755, exist_ok=True)
    os.chmod(WORK, 0o755)  # the postgres and mysql users enter it
    for ns in (SERVER_NS, CLIENT_NS):
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    veth_up()
    yield
    for ns in (SERVER_NS, CLIENT_NS):
        run("ip", "netns", "del", ns, check=False)
    shutil.rmtree(WORK, ignore_errors=True)  # database directories, the Go build cache


def in_server_ns(body: Callable[[], Any]) -> Any:
    """body() in a forked child inside S; its JSON-able result."""
    return run_in_child(join_netns(f"/run/netns/{SERVER_NS}"), body, default=str)


def scan(port: int, **raw: Any) -> dict:
    options = parse_options(dict({"ports": [port], "detail": "full"}, **raw))
    return in_server_ns(lambda: scan_sockets(options))


def client(port: int) -> socket.socket:
    """A connection from C to the server, held by this process."""

    def connect() -> socket.socket:
        sock = socket.create_connection((SERVER_IP, port), timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return sock

    entered = open_in_namespace(f"/run/netns/{CLIENT_NS}", connect)
    assert entered.sock is not None, entered.error
    entered.sock.settimeout(5)
    return entered.sock


def listening(port: int) -> bool:
    return bool(
        in_server_ns(
            lambda: any(
                line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
                for name in ("/proc/net/tcp", "/proc/net/tcp6")
                if os.path.exists(name)
                for line in open(name).read().splitlines()[1:]
            )
        )
    )


def fd_count(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += len(os.listdir(f"/proc/{pid}/fd"))
    return total


def group_pids(proc: subprocess.Popen) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == proc.pid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


@dataclass
class Server:
    name: str
    port: int
    argv: list[str]
    listener_keepalive: bool  # SO_KEEPALIVE on the listening socket itself
    accepted_keepalive: bool  # on the connections it accepts
    remedy: str  # the directive its hint must name (when it has a hint)
    keepidle: int | None = None  # the accepted connection's TCP_KEEPIDLE, when it sets one
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    setup: Callable[[str], None] | None = None
    answers: bytes | None = b"ping"  # an echo server answers this; None: just being accepted counts
    ghost: bool = False  # also check the ghost candidate after the client vanishes


WORK = os.path.join(tempfile.gettempdir(), f"tk-real-{os.getpid()}")  # made by the topology fixture

GO_SOURCE = textwrap.dedent("""
    package main

    import (
        "context"
        "net"
        "os"
        "time"
    )

    func main() {
        lc := net.ListenConfig{}
        if os.Args[1] == "off" {
            lc.KeepAlive = -1
        }
        l, err := lc.Listen(context.Background(), "tcp", "0.0.0.0:"+os.Args[2])
        if err != nil {
            panic(err)
        }
        for {
            c, err := l.Accept()
            if err != nil {
                time.Sleep(time.Millisecond)
                continue
            }
            go func(c net.Conn) {
                b := make([]byte, 64)
                for {
                    n, err := c.Read(b)
                    if err != nil {
                        c.Close()
                        return
                    }
                    c.Write(b[:n])
                }
            }(c)
        }
    }
""")

JAVA_SOURCE = textwrap.dedent("""
    import java.io.*;
    import java.net.*;

    public class Echo {
        public static void main(String[] args) throws Exception {
            ServerSocket server = new ServerSocket(Integer.parseInt(args[1]), 50,
                                                   InetAddress.getByName("0.0.0.0"));
            while (true) {
                Socket s = server.accept();
                if (args[0].equals("on")) s.setKeepAlive(true);
                new Thread(() -> {
                    try (Socket c = s) {
                        InputStream in = c.getInputStream();
                        OutputStream out = c.getOutputStream();
                        byte[] b = new byte[64];
                        int n;
                        while ((n = in.read(b)) > 0) out.write(b, 0, n);
                    } catch (IOException e) { }
                }).start();
            }
        }
    }
""")

NODE_SOURCE = (
    "const on = process.argv[1] === 'on';"
    "require('net').createServer(s => { if (on) s.setKeepAlive(true, 120000);"
    " s.on('data', d => s.write(d));"
    " s.on('error', () => {}); }).listen(+process.argv[2], '0.0.0.0');"
)

PYTHON_SOURCE = textwrap.dedent("""
    import asyncio, socket, sys

    async def handle(reader, writer):
        if sys.argv[1] == "on":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 90)
        while data := await reader.read(64):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "0.0.0.0", int(sys.argv[2]))
        async with server:
            await server.serve_forever()

    asyncio.run(main())
""")


def _write(name: str, text: str) -> str:
    path = os.path.join(WORK, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _go_build(_work: str) -> None:
    binary = os.path.join(WORK, "goecho")
    if not os.path.exists(binary):
        source = _write("goecho.go", GO_SOURCE)
        env = dict(
            os.environ, CGO_ENABLED="0", GOCACHE=os.path.join(WORK, "gocache"), GOPATH=WORK, GO111MODULE="off"
        )
        subprocess.run(["go", "build", "-o", binary, source], check=True, env=env, capture_output=True)


def _postgres_setup(work: str) -> None:
    os.makedirs(work, exist_ok=True)
    shutil.chown(work, "postgres", "postgres")
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]
    subprocess.run(
        ["runuser", "-u", "postgres", "--", initdb, "-D", os.path.join(work, "data"), "-A", "trust"],
        check=True,
        capture_output=True,
    )


def _mariadb_setup(work: str) -> None:
    os.makedirs(work, exist_ok=True)
    shutil.chown(work, "mysql", "mysql")
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={work}/data",
            "--user=mysql",
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
        ],
        check=True,
        capture_output=True,
    )


def _libkeepalive() -> str:
    found = glob.glob("/usr/lib/*/libkeepalive.so*") + glob.glob("/usr/lib/libkeepalive.so*")
    return found[0] if found else "libkeepalive.so"


def servers() -> list[Server]:
    postgres = (sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres")) or ["postgres"])[-1]
    pg_work, pg_work_tuned = os.path.join(WORK, "pg"), os.path.join(WORK, "pg-tuned")
    db_work, db_work_tuned = os.path.join(WORK, "maria"), os.path.join(WORK, "maria-tuned")
    node = shutil.which("node") or shutil.which("nodejs") or "node"

    def pg(work: str, port: int, *extra: str) -> list[str]:
        return [
            postgres,
            "-D",
            f"{work}/data",
            "-c",
            "listen_addresses=*",
            "-p",
            str(port),
            "-k",
            work,
            *extra,
        ]

    def maria(work: str, port: int, *extra: str) -> list[str]:
        return [
            "mariadbd",
            "--no-defaults",
            f"--datadir={work}/data",
            "--user=mysql",
            "--bind-address=0.0.0.0",
            f"--port={port}",
            f"--socket={work}/sock",
            f"--pid-file={work}/pid",
            "--skip-grant-tables",
            "--skip-log-error",
            *extra,
        ]

    java_source, python_source = os.path.join(WORK, "Echo.java"), os.path.join(WORK, "echo.py")

    def java_setup(_work: str) -> None:
        _write("Echo.java", JAVA_SOURCE)

    def python_setup(_work: str) -> None:
        _write("echo.py", PYTHON_SOURCE)

    go = os.path.join(WORK, "goecho")
    return [
        Server(
            "postgresql",
            15432,
            pg(pg_work, 15432),
            False,
            True,
            "tcp_keepalives_idle",
            user="postgres",
            setup=lambda _w: _postgres_setup(pg_work),
            answers=None,
        ),
        Server(
            "postgresql-tuned",
            15433,
            pg(pg_work_tuned, 15433, "-c", "tcp_keepalives_idle=300"),
            False,
            True,
            "tcp_keepalives_idle",
            keepidle=300,
            user="postgres",
            setup=lambda _w: _postgres_setup(pg_work_tuned),
            answers=None,
        ),
        Server(
            "mariadb",
            13306,
            maria(db_work, 13306),
            False,
            True,
            "tcp_keepalive_time",
            setup=lambda _w: _mariadb_setup(db_work),
            answers=None,
        ),
        Server(
            "mariadb-tuned",
            13307,
            maria(db_work_tuned, 13307, "--tcp-keepalive-time=200"),
            False,
            True,
            "tcp_keepalive_time",
            keepidle=200,
            setup=lambda _w: _mariadb_setup(db_work_tuned),
            answers=None,
        ),
        Server(
            "go-default",
            17001,
            [go, "on", "17001"],
            False,
            True,
            "net.ListenConfig",
            keepidle=15,
            setup=_go_build,
        ),
        Server(
            "go-off",
            17002,
            [go, "off", "17002"],
            False,
            False,
            "net.ListenConfig",
            setup=_go_build,
            ghost=True,
        ),
        Server(
            "node-setkeepalive",
            17011,
            [node, "-e", NODE_SOURCE, "on", "17011"],
            False,
            True,
            "setKeepAlive",
            keepidle=120,
        ),
        Server("node-plain", 17012, [node, "-e", NODE_SOURCE, "off", "17012"], False, False, "setKeepAlive"),
        Server(
            "java-setkeepalive",
            17021,
            ["java", java_source, "on", "17021"],
            False,
            True,
            "jdk.net.ExtendedSocketOptions",
            setup=java_setup,
        ),
        Server(
            "java-plain",
            17022,
            ["java", java_source, "off", "17022"],
            False,
            False,
            "jdk.net.ExtendedSocketOptions",
            setup=java_setup,
        ),
        Server(
            "python-asyncio-keepalive",
            17031,
            ["python3", python_source, "on", "17031"],
            False,
            True,
            "SO_KEEPALIVE, 1",
            keepidle=90,
            setup=python_setup,
        ),
        Server(
            "python-asyncio-plain",
            17032,
            ["python3", python_source, "off", "17032"],
            False,
            False,
            "SO_KEEPALIVE, 1",
            setup=python_setup,
        ),
        Server(
            "socat-keepalive",
            17041,
            ["socat", "TCP-LISTEN:17041,fork,reuseaddr,keepalive,keepidle=100", "EXEC:cat"],
            False,
            True,
            "keepalive,keepidle=",
            keepidle=100,
        ),
        Server(
            "socat-plain",
            17042,
            ["socat", "TCP-LISTEN:17042,fork,reuseaddr", "EXEC:cat"],
            False,
            False,
            "keepalive,keepidle=",
        ),
        Server(
            "netcat-libkeepalive",
            17051,
            ["nc", "-lk", "17051"],
            True,
            True,
            "libkeepalive",
            env={"LD_PRELOAD": _libkeepalive(), "KEEPIDLE": "110"},
            keepidle=110,
            answers=None,
        ),
        Server(
            "netcat-plain",
            17052,
            ["nc", "-lk", "17052"],
            False,
            False,
            "libkeepalive",
            answers=None,
            ghost=True,
        ),
    ]


SERVERS = {server.name: server for server in servers()}


@pytest.fixture
def started(topology, request):
    server: Server = SERVERS[request.param]
    program = "go" if server.argv[0].startswith(WORK) else server.argv[0]  # the Go server is built here
    if shutil.which(program) is None and not os.path.exists(program):
        pytest.skip(f"{server.argv[0]} not installed (scripts/real-servers.sh)")
    if server.setup is not None:
        server.setup(WORK)
    argv = ["ip", "netns", "exec", SERVER_NS]
    if server.user:
        argv += ["runuser", "-u", server.user, "--"]
    proc = subprocess.Popen(
        argv + server.argv,
        env=dict(os.environ, **server.env),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not listening(server.port):
        if proc.poll() is not None:
            pytest.fail(f"{server.name} exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert listening(server.port), f"{server.name} is not listening on {server.port}"
    yield server, proc
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def service_of(result: dict, server: Server) -> dict:
    listeners = [s for s in result["services"] if s["listeners"]]
    assert len(listeners) == 1, [s["name"] for s in result["services"]]
    return listeners[0]


def listener_findings(result: dict) -> list[tuple[str, str]]:
    return [(f["id"], f["severity"]) for f in result["findings"] if f["id"].startswith("listener_")]


def answer(sock: socket.socket, server: Server) -> None:
    if server.answers is None:
        return
    sock.sendall(server.answers)
    assert sock.recv(64) == server.answers, f"{server.name} did not echo"


@pytest.mark.parametrize("started", list(SERVERS), indirect=True)
def test_real_server(started):
    server, proc = started
    pids = group_pids(proc)
    own_fds = len(os.listdir("/proc/self/fd"))
    if server.listener_keepalive:
        expected = "keepalive"
    else:
        expected = "after_accept" if server.accepted_keepalive else "without"

    # 1. No connection visible, no probe: the listener's own keepalive, else unverified (low, never high).
    quiet = scan(server.port)
    service = service_of(quiet, server)
    verdict = service["listeners"][0]["verdict"]
    if server.listener_keepalive:
        assert verdict == "keepalive" and not listener_findings(quiet)
    else:
        assert verdict == "unverified", service["listeners"]
        assert set(listener_findings(quiet)) == {("listener_keepalive_unverified", "low")}
        assert server.remedy in service["hint"], service["hint"]
    server_fds = fd_count(pids)

    # 2. The probe: connects from inside S, reads the accepted socket, resets: the real program's verdict.
    probed = scan(server.port, probe_listeners=True)
    listener = service_of(probed, server)["listeners"][0]
    assert listener["verdict"] == expected, listener
    assert listener["evidence"] == ("listener" if server.listener_keepalive else "probe")
    ids = listener_findings(probed)
    assert ids == ([("listener_without_keepalive", "high")] if expected == "without" else []), ids
    deadline = time.monotonic() + 2
    while fd_count(pids) > server_fds and time.monotonic() < deadline:
        time.sleep(0.05)  # the server closes its side once it reads the probe's reset
    assert fd_count(pids) <= server_fds, "the probe left a descriptor in the server"
    assert len(os.listdir("/proc/self/fd")) == own_fds, "the probe left a descriptor in the scanner"

    # 3. A real client from C: the accepted connection is the evidence, the service still answers.
    held = client(server.port)
    try:
        answer(held, server)
        deadline = time.monotonic() + 5
        while True:
            seen = scan(server.port)
            service = service_of(seen, server)
            listener = service["listeners"][0]
            if listener["evidence"] != "accepted" and server.listener_keepalive:
                break
            if listener["evidence"] == "accepted" or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # a forking server (socat) hands the connection to its child first
        assert listener["verdict"] == expected, listener
        if not server.listener_keepalive:
            assert listener["evidence"] == "accepted", listener
        accepted = [
            s for s in seen["sockets"] if s["state"] == "ESTABLISHED" and s["local_port"] == server.port
        ]
        assert accepted and {s["keepalive"] for s in accepted} == {server.accepted_keepalive}, accepted
        if server.keepidle is not None:
            assert {s["keepidle"] for s in accepted} == {server.keepidle}, accepted
        if expected == "without":  # the hint for this program, and LD_PRELOAD advice only where it works
            hint = service["hint"]
            assert server.remedy in hint, hint
            assert ("LD_PRELOAD=" in hint) == (server.remedy == "libkeepalive"), hint
            if server.name.startswith("go"):  # a static Go binary (CGO_ENABLED=0), found from its ELF
                assert "libkeepalive cannot help" in hint, hint

        # 4. Ghost: the client's link goes away without a FIN, then the client closes.
        if server.ghost:
            run("ip", "-n", SERVER_NS, "link", "del", "tkr-s")
            held.close()
            time.sleep(1.2)
            ghostly = scan(server.port, idle_threshold=1)
            ghosts = [f for f in ghostly["findings"] if f["id"] == "ghost_candidate"]
            assert len(ghosts) == 1 and ghosts[0]["count"] == 1 and ghosts[0]["severity"] == "high", ghosts
            veth_up()
    finally:
        held.close()

    # 5. No disturbance: still accepting and answering, no descriptor left behind here or in the server.
    again = client(server.port)
    try:
        answer(again, server)
    finally:
        again.close()
    assert proc.poll() is None, f"{server.name} died"
    assert len(os.listdir("/proc/self/fd")) == own_fds


def _start(server: Server) -> subprocess.Popen:
    if server.setup is not None:
        server.setup(WORK)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", SERVER_NS, *server.argv],
        env=dict(os.environ, **server.env),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not listening(server.port) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listening(server.port), server.name
    return proc


def _checks(result: dict) -> dict:
    from ansible_collections.tcp.keepalive.plugins.plugin_utils._checks import evaluate_host

    policy = {
        "expected": {"time": 600, "intvl": 60, "probes": 5},
        "max_detection_time": 900,
        "fail_on": ["high", "medium"],
        "require_root": True,
        "idle_threshold": 900,
    }
    raw = {
        "host": "real",
        "reach": {"ansible_facts": {"ansible_user_uid": 0, "ansible_user_id": "root"}},
        "sockets": result,
    }
    record = evaluate_host(raw, policy)
    return {check["name"]: check for check in record["checks"]}


@pytest.mark.parametrize("probe", [False, True])
def test_verify_checks_pass_a_host_whose_servers_set_keepalive_after_accept(topology, probe):
    """The verify role's checks (plugin_utils/_checks.py, what tcp.keepalive.verify_checks runs) on a host
    whose only servers set keepalive after accept: one with a client connected, one without. A plain
    server added to the same host makes the same check fail, so the check can fail."""
    names = ("go-default", "node-setkeepalive", "python-asyncio-keepalive")
    procs = [_start(SERVERS[name]) for name in names]
    held = client(SERVERS["node-setkeepalive"].port)
    try:
        options = {"probe_listeners": probe, "detail": 100, "idle_threshold": 900, "max_detection_time": 900}
        result = in_server_ns(lambda: scan_sockets(parse_options(options)))
        verdicts = {
            s["name"]: [entry["verdict"] for entry in s["listeners"]]
            for s in result["services"]
            if s["listeners"]
        }
        assert len(verdicts) == 3, verdicts
        checks = _checks(result)
        assert checks["listeners"]["status"] in ("pass", "warn"), checks["listeners"]["message"]
        assert checks["ghosts"]["status"] == "pass", checks["ghosts"]["message"]
        assert not [
            f
            for f in result["findings"]
            if f["severity"] in ("high", "medium")
            and f["service"] in {SERVERS[n].argv[0].rsplit("/", 1)[-1] for n in names}
        ]
        plain = SERVERS["node-plain"]
        procs.append(_start(plain))
        extra = client(plain.port)
        try:
            result = in_server_ns(lambda: scan_sockets(parse_options(options)))
            assert _checks(result)["listeners"]["status"] == "fail"
        finally:
            extra.close()
    finally:
        held.close()
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
