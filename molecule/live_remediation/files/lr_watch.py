# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Watch the server's ESTABLISHED connections on PORT: python3 lr_watch.py PORT LOG PIDFILE (detaches).

Every 0.1 s counts them from /proc/net/tcp (state 01, local port PORT) and logs {"t", "established"} to LOG
whenever the count changes: the test reads when the dead ones were gone."""

import json
import os
import sys
import time

port, log_path, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if os.fork():
    os._exit(0)
os.setsid()
with open(pidfile, "w", encoding="ascii") as handle:
    handle.write(f"{os.getpid()}\n")
wanted = f":{port:04X}"
last = None
with open(log_path, "a", encoding="utf-8") as log:
    while True:
        with open("/proc/net/tcp", encoding="ascii") as table:
            count = sum(1 for line in table if line.split()[1].endswith(wanted) and line.split()[3] == "01")
        if count != last:
            log.write(json.dumps({"t": time.time(), "established": count}) + "\n")
            log.flush()
            last = count
        time.sleep(0.1)
