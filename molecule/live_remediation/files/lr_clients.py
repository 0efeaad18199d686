# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The clients: python3 lr_clients.py HOST PORT DEAD DEAD_BASE LIVE LIVE_BASE EVERY LOG PIDFILE

Opens DEAD connections from source ports DEAD_BASE + i (they never send; the firewall later drops their
path) and LIVE connections from LIVE_BASE + i, which send a line every EVERY seconds and log each echo as
JSON ({"t", "port", "ok"}) to LOG. Detaches itself once every connection is made."""

import json
import os
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
dead, dead_base, live, live_base = (int(value) for value in sys.argv[3:7])
every, log_path, pidfile = float(sys.argv[7]), sys.argv[8], sys.argv[9]


def connect(source_port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", source_port))
    sock.connect((host, port))
    return sock


held = [connect(dead_base + index) for index in range(dead)]
echoing = [connect(live_base + index) for index in range(live)]
if os.fork():
    print(json.dumps({"dead": len(held), "live": len(echoing)}))
    sys.stdout.flush()
    os._exit(0)
os.setsid()
with open(pidfile, "w", encoding="ascii") as handle:
    handle.write(f"{os.getpid()}\n")
with open(log_path, "a", encoding="utf-8") as log:
    while True:
        time.sleep(every)
        for sock in echoing:
            source = sock.getsockname()[1]
            try:
                sock.settimeout(2.0)
                sock.sendall(b"ping\n")
                ok = sock.recv(16) == b"ping\n"
            except OSError:
                ok = False
            log.write(json.dumps({"t": time.time(), "port": source, "ok": ok}) + "\n")
            log.flush()
