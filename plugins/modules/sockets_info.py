#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sockets_info
short_description: Find TCP sockets and services without keepalive, and connections that look like ghosts
version_added: 0.1.0
description:
  - The keepalive sysctls only matter for sockets that set C(SO_KEEPALIVE). This module answers the question
    the sysctls cannot answer, which services on this host hold, or will accept, connections that can never
    detect a dead peer, and which connections already look like ghosts.
  - Enumerates TCP sockets (IPv4 and IPv6) with C(NETLINK_SOCK_DIAG) (C(/proc/net/tcp) and C(tcp6) as a
    fallback, without idle times), joins them to their owning processes with one scan of C(/proc/<pid>/fd),
    and classifies each one.
  - B(Authoritative) classification (RV(sockets[].keepalive_source=sockopt)) duplicates the socket with
    C(pidfd_getfd) (Linux 5.6 and later), reads C(SO_KEEPALIVE), C(TCP_KEEPIDLE), C(TCP_KEEPINTVL),
    C(TCP_KEEPCNT) and C(TCP_USER_TIMEOUT) with C(getsockopt), and closes the copy at once; the target is
    never blocked or changed. This needs ptrace rights over the owner (root, or the same user) and is
    skipped, with the reason, where the owner sits in a non-root cgroup-v1 C(net_cls) or C(net_prio) cgroup
    (receiving the copy would rewrite the socket's class id).
  - B(Passive) classification (RV(sockets[].keepalive_source=timer)) reads the kernel's keepalive timer. An
    ESTABLISHED or CLOSE_WAIT socket with the keepalive timer pending has keepalive, one with no timer does
    not; a retransmit or zero-window-probe timer hides it, so the socket is looked at again shortly after
    and stays V(unknown) if it still is. A listening socket never shows the timer, and an orphaned
    FIN_WAIT2 socket shows it without C(SO_KEEPALIVE), so both are V(unknown) unless their options are read.
  - Accepted connections inherit C(SO_KEEPALIVE), C(TCP_KEEP*) and C(TCP_USER_TIMEOUT) from the listening
    socket, but many servers (PostgreSQL, MariaDB, Go, Node with C(setKeepAlive), socat) set keepalive on each
    connection after C(accept()) and never on the listener. So a listener without C(SO_KEEPALIVE) is judged
    by evidence, in this order (RV(sockets[].listener_evidence)), its accepted connections in the same scan
    (same namespace, service and local port), all with keepalive is fine, any without gives
    C(listener_without_keepalive) (high) with how many, then where none is visible and O(probe_listeners)
    is on an active probe, else C(listener_keepalive_unverified) (low), never high.
  - Groups sockets by service (systemd unit, else process name) with a remediation RV(services[].hint) per
    daemon and runtime (OpenSSH, nginx, HAProxy, Redis, PostgreSQL, MySQL/MariaDB, socat, systemd socket
    units; Go, Node.js, Java and Python programs; statically linked programs, detected from the ELF, get no
    C(LD_PRELOAD) advice; libkeepalive for other dynamically linked ones). Where the daemon enables
    keepalive itself and the scan saw it on, the hint says it is already on.
  - With O(namespaces=all), a namespace that vanishes during the scan (a short-lived container) is noted as
    gone in RV(summary.namespaces), not as an error.
  - Never changes anything (the probe opens and resets one connection of its own per probed listener).
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
  - tcp.keepalive._attributes.info_module
options:
  states:
    description:
      - TCP states to report, by kernel name (case does not matter), or V(all).
      - The default is every state but C(TIME_WAIT) and C(CLOSE), which hold no connection that keepalive
        could save.
    type: list
    elements: str
    default: [ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING]
  ports:
    description:
      - Only sockets whose local or remote port is in this list (1-65535). Listening sockets match on their
        local port. Empty means every port.
    type: list
    elements: int
    default: []
  exclude_ports:
    description: Leave out sockets whose local or remote port is in this list (1-65535).
    type: list
    elements: int
    default: []
  include_loopback:
    description:
      - Also report sockets bound to a loopback address (C(127.0.0.0/8), C(::1)). Off by default because a
        peer on the same host cannot vanish without the kernel resetting the connection.
    type: bool
    default: false
  services:
    description:
      - Only sockets of these services (shell-style patterns such as V(nginx*)), matched against the service
        name, the systemd unit (with and without C(.service)) and the process name. Sockets without a
        visible owner are left out when this is set.
    type: list
    elements: str
    default: []
  exclude_services:
    description: Leave out the sockets of these services (same matching as O(services)).
    type: list
    elements: str
    default: []
  idle_threshold:
    description:
      - Seconds without data received after which an ESTABLISHED or CLOSE_WAIT connection without keepalive
        is a C(ghost_candidate). Idle times come from C(TCP_INFO) and need C(NETLINK_SOCK_DIAG).
    type: int
    default: 3600
  max_detection_time:
    description:
      - Longest time, in seconds, a connection with keepalive may take to detect a dead idle peer (its
        effective C(keepidle + keepintvl * keepcnt), or the C(TCP_USER_TIMEOUT) rule). Connections above it
        give a C(detection_time_exceeded) finding. Not checked when unset.
    type: int
  namespaces:
    description:
      - V(current) scans the network namespace the module runs in.
      - V(all) also scans every other network namespace on the host (containers, C(ip netns)); a short-lived
        child enters each one and hands back a C(NETLINK_SOCK_DIAG) socket opened there; the module itself
        never changes namespace. Needs root.
    type: str
    choices: [current, all]
    default: current
  detail:
    description:
      - V(full) lists every socket in RV(sockets).
      - V(summary) lists no socket, and only as many services and findings (the most severe findings and
        the most problematic services first, at most 3 example sockets each) as keep the whole result under
        60 KiB of JSON whatever the number of sockets; RV(summary) still counts everything.
      - A number lists at most that many sockets, the most interesting first (ghost candidates, listeners
        without keepalive, connections without keepalive, unknown, the rest).
      - The default lists at most 1000 sockets, so that a host holding 100,000 connections does not flood
        the controller; services, findings and RV(summary) always count every socket.
      - One result lists at most 20000 sockets. A larger number is refused, and V(full) fails with a message
        naming this option when the host has more sockets to list (use V(summary), a number, or narrow the
        scan with O(ports), O(services) or O(states)).
    type: raw
    default: 1000
  read_socket_options:
    description:
      - V(auto) reads the options of every socket where they add information (listeners, sockets with a
        keepalive or masked timer, FIN_WAIT2 and others) and skips connected sockets without any timer,
        which reliably lack keepalive; it keeps a scan of 100,000 sockets fast.
      - V(always) also reads those, to report their C(TCP_USER_TIMEOUT) and per-socket values.
      - V(never) classifies by the timer alone (no C(pidfd_getfd)).
      - Sockets whose options cannot be read fall back to the timer and say why in
        RV(sockets[].socket_options_skipped).
    type: str
    choices: [auto, always, never]
    default: auto
  probe_listeners:
    description:
      - For a listener without C(SO_KEEPALIVE) (or whose options could not be read) and without any accepted
        connection visible in the scan, connect to it once from inside its network namespace (on
        C(127.0.0.1) or C(::1) for a wildcard address), find the connection the application accepted, read
        its keepalive (socket options, else its timer) once the application has accepted it (waits at most
        2 s, then 0.5 s more for a C(setsockopt) after accept), and close with a reset. At most 32 listeners
        per run; excluded ports are never probed (they are not scanned).
      - The service sees a client that connects and resets without sending anything, and may log it (for
        example PostgreSQL logs C(incomplete startup packet), sshd C(Connection reset by peer)).
    type: bool
    default: false
notes:
  - Run as root to see every owner and read every socket's options; as another user, sockets of other users
    have no visible owner and are classified by the timer alone.
  - For keepalive sockets classified by the timer, RV(sockets[].keepidle) and the others are the namespace's
    sysctls (RV(sockets[].params_source=assumed)); a per-socket value would only show with the socket
    options.
  - RV(sockets[].keepalive) is V(true), V(false) or the string V(unknown). In Jinja test it with
    C(is sameas true) or C(== 'unknown'); the string V(unknown) is truthy.
seealso:
  - module: tcp.keepalive.settings_info
    description: Audit the keepalive sysctls, now and after boot.
  - module: tcp.keepalive.timer_info
    description: Prove that the kernel applies the configured keepalive time to a new socket.
"""

EXAMPLES = r"""
- name: Scan the TCP sockets of this host, results kept small
  tcp.keepalive.sockets_info:
    detail: summary
  register: sockets

- name: Show the services that accept connections without keepalive
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.hint }}"
  loop: "{{ sockets.services | selectattr('listeners_without_keepalive') | list }}"
  loop_control:
    label: "{{ item.name }}"

- name: List up to 50 problem sockets of sshd and nginx, ghosts after 30 minutes idle
  tcp.keepalive.sockets_info:
    services: [ssh*, nginx]
    idle_threshold: 1800
    max_detection_time: 900
    detail: 50
  register: web

- name: Fail when a connection looks like a ghost
  ansible.builtin.assert:
    that:
      - web.summary.ghost_candidates == 0
    fail_msg: >-
      {{ web.summary.ghost_candidates }} idle connection(s) without keepalive:
      {{ web.findings | selectattr('id', 'equalto', 'ghost_candidate') | map(attribute='message') | list }}

- name: Judge listeners without visible connections by connecting to them once
  tcp.keepalive.sockets_info:
    probe_listeners: true
    states: [listen, established]
    detail: summary
  register: probed

- name: Classify by the keepalive timer only, in every network namespace
  tcp.keepalive.sockets_info:
    read_socket_options: never
    namespaces: all
    states: [established, close_wait]
    detail: summary
"""

RETURN = r"""
sockets:
  description:
    - One entry per socket (none with O(detail=summary); at most O(detail) when it is a number), ghost
      candidates first, then listeners without keepalive, connections without keepalive, unknown, the rest.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Inode of the network namespace of the socket.
      type: int
      sample: 4026531840
    family:
      description: V(inet) or V(inet6).
      type: str
      sample: inet
    state:
      description: Kernel TCP state name (C(ESTABLISHED), C(LISTEN), C(CLOSE_WAIT), ...).
      type: str
      sample: ESTABLISHED
    local:
      description: Local C(address:port) (C([address]:port) for IPv6).
      type: str
      sample: "10.0.0.1:22"
    remote:
      description: Remote C(address:port); V(null) for a listening socket.
      type: str
      sample: "10.0.0.2:51514"
    local_address:
      description: Local address.
      type: str
      sample: 10.0.0.1
    local_port:
      description: Local port.
      type: int
      sample: 22
    remote_address:
      description: Remote address; V(null) for a listening socket.
      type: str
      sample: 10.0.0.2
    remote_port:
      description: Remote port; V(null) for a listening socket.
      type: int
      sample: 51514
    inode:
      description: Socket inode (V(0) for sockets without a file, such as orphans).
      type: int
      sample: 48213
    uid:
      description: Owner uid of the socket.
      type: int
      sample: 0
    service:
      description: Service it belongs to (systemd unit, else process name); V(null) without a visible owner.
      type: str
      sample: ssh.service
    systemd_unit:
      description: systemd unit of the first owning process, from its cgroup.
      type: str
      sample: ssh.service
    container_id:
      description: Container id of the first owning process, from its cgroup.
      type: str
      sample: null
    processes:
      description:
        - Processes holding the socket (at most 8), each with C(pid), C(fd), C(comm), C(exe), C(cmdline).
      type: list
      elements: dict
      sample: [{pid: 812, fd: 4, comm: sshd, exe: /usr/sbin/sshd, cmdline: "sshd: /usr/sbin/sshd -D"}]
    keepalive:
      description: V(true), V(false), or the string V(unknown).
      type: raw
      sample: false
    keepalive_source:
      description: V(sockopt) (socket options read), V(timer) (kernel timer), or V(null) when unknown.
      type: str
      sample: sockopt
    keepalive_reason:
      description: Why RV(sockets[].keepalive) is V(unknown); V(null) otherwise.
      type: str
      sample: a listening socket never shows a keepalive timer; its socket options were not read
    socket_options_skipped:
      description: Why the socket options were not read, when they were wanted but could not be.
      type: str
      sample: "no ptrace rights over the owner (pidfd_getfd: EPERM)"
    keepidle:
      description:
        - Effective C(TCP_KEEPIDLE) in seconds, when known. V(null) for a socket without keepalive (its
          C(TCP_KEEP*) options are read only where C(SO_KEEPALIVE) is on); the same for
          RV(sockets[].keepintvl) and RV(sockets[].keepcnt).
      type: int
      sample: 7200
    keepintvl:
      description: Effective C(TCP_KEEPINTVL) in seconds, when known.
      type: int
      sample: 75
    keepcnt:
      description: Effective C(TCP_KEEPCNT), when known.
      type: int
      sample: 9
    user_timeout:
      description: C(TCP_USER_TIMEOUT) in milliseconds (V(0) = not set); V(null) when not read.
      type: int
      sample: 0
    params_source:
      description:
        - V(sockopt) when the keepalive values were read from the socket, V(assumed) when they are the
          namespace's sysctls (keepalive seen by timer only), V(null) when not applicable.
      type: str
      sample: sockopt
    detection_time:
      description:
        - Seconds from the last data received until a dead idle peer is reset, for sockets with keepalive,
          C(keepidle + keepintvl * keepcnt), or with C(TCP_USER_TIMEOUT) the first probe tick at or after
          it.
      type: int
      sample: 7875
    timer:
      description:
        - Pending timer as C(ss -o) names it, V(off), V(on) (retransmit), V(keepalive), V(timewait),
          V(probe).
      type: str
      sample: keepalive
    timer_expires:
      description: Seconds until the pending timer fires; V(null) without a timer.
      type: float
      sample: 7123.4
    retrans:
      description: Retransmits, or unanswered probes for the keepalive and zero-window timers.
      type: int
      sample: 0
    idle:
      description:
        - Seconds since data was last received (C(TCP_INFO)); V(null) for listeners and without sock_diag.
      type: int
      sample: 86400
    listener_verdict:
      description:
        - Listeners only (else V(null)). V(keepalive) (the listener has it, accepted sockets inherit it),
          V(after_accept) (the listener lacks it but its accepted connections have it), V(without) (accepted
          connections without it), V(unverified) (no evidence either way).
      type: str
      sample: after_accept
    listener_evidence:
      description:
        - What RV(sockets[].listener_verdict) rests on, V(listener) (its own options), V(accepted) (its
          accepted connections in this scan), V(probe) (O(probe_listeners)), or V(null) (unverified).
      type: str
      sample: accepted
    ghost_candidate:
      description: No keepalive, ESTABLISHED or CLOSE_WAIT, and idle for at least O(idle_threshold).
      type: bool
      sample: true
services:
  description:
    - One entry per service, the most problematic first (fewer with O(detail=summary), see there).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description:
        - systemd unit (C(.service) or C(.socket)), else process name (with C(@<container id>) in a
          container).
      type: str
      sample: nginx.service
    systemd_unit:
      description: systemd unit, when the cgroup shows one.
      type: str
      sample: nginx.service
    container_id:
      description: Container id, when the cgroup shows one.
      type: str
      sample: null
    comm:
      description: Process name of the first process seen.
      type: str
      sample: nginx
    exe:
      description: Executable of the first process seen.
      type: str
      sample: /usr/sbin/nginx
    pids:
      description: Up to 10 pids seen holding its sockets.
      type: list
      elements: int
      sample: [901, 902]
    listeners:
      description:
        - Up to 20 listening sockets with C(local), C(namespace), C(keepalive) and C(keepalive_source) (of
          the listening socket itself), C(verdict) and C(evidence) (as RV(sockets[].listener_verdict) and
          RV(sockets[].listener_evidence)), C(accepted_with_keepalive) and C(accepted_without_keepalive).
      type: list
      elements: dict
      sample: [{local: "0.0.0.0:5432", namespace: 4026531840, keepalive: false, keepalive_source: sockopt,
                verdict: after_accept, evidence: accepted, accepted_with_keepalive: 3,
                accepted_without_keepalive: 0}]
    listeners_without_keepalive:
      description: Listeners judged C(without) (accepted connections or a probe without keepalive).
      type: int
      sample: 1
    listeners_unverified:
      description: Listeners without C(SO_KEEPALIVE) whose accepted connections could not be seen or probed.
      type: int
      sample: 0
    connections:
      description: ESTABLISHED and CLOSE_WAIT connections.
      type: int
      sample: 120
    with_keepalive:
      description: Connections with keepalive.
      type: int
      sample: 0
    without_keepalive:
      description: Connections without keepalive.
      type: int
      sample: 120
    keepalive_unknown:
      description:
        - Connections whose keepalive could not be determined (listeners are judged by evidence instead, see
          RV(services[].listeners_unverified)).
      type: int
      sample: 0
    ghost_candidates:
      description: Connections that are ghost candidates.
      type: int
      sample: 3
    max_detection_time:
      description:
        - Largest RV(sockets[].detection_time) among its connections; V(null) when none has keepalive.
      type: int
      sample: null
    hint:
      description:
        - The directive that turns keepalive on for this daemon, when something lacks it; else V(null).
      type: str
      sample: "nginx: add `so_keepalive=on` ... to each `listen` directive"
summary:
  description: Totals over every socket scanned, whatever O(detail) lists.
  returned: always
  type: dict
  contains:
    sockets:
      description: Sockets scanned after the filters.
      type: int
      sample: 40213
    sockets_listed:
      description: Entries in RV(sockets).
      type: int
      sample: 0
    sockets_truncated:
      description: Whether RV(sockets) lists fewer than were scanned.
      type: bool
      sample: true
    by_state:
      description: Socket count per state.
      type: dict
      sample: {ESTABLISHED: 40000, LISTEN: 12}
    keepalive:
      description: Count per classification, keys C(true), C(false), C(unknown).
      type: dict
      sample: {"true": 10, "false": 40190, "unknown": 13}
    keepalive_source:
      description: Count per source, keys C(sockopt) and C(timer).
      type: dict
      sample: {sockopt: 22, timer: 40178}
    ghost_candidates:
      description: Number of ghost candidates.
      type: int
      sample: 3
    listeners_without_keepalive:
      description: Listeners judged V(without) (see RV(sockets[].listener_verdict)).
      type: int
      sample: 4
    listeners_unverified:
      description: Listeners judged V(unverified).
      type: int
      sample: 0
    listeners_probed:
      description: Listeners probed (O(probe_listeners)).
      type: int
      sample: 0
    services:
      description: Services seen.
      type: int
      sample: 9
    services_listed:
      description: Entries in RV(services).
      type: int
      sample: 9
    findings:
      description: Findings produced.
      type: int
      sample: 11
    findings_listed:
      description: Entries in RV(findings).
      type: int
      sample: 11
    idle_threshold:
      description: The O(idle_threshold) applied.
      type: int
      sample: 3600
    socket_options:
      description:
        - C(mode) (O(read_socket_options)), C(read) (sockets whose options were read) and C(skipped) (count
          per reason).
      type: dict
      sample: {mode: auto, read: 22, skipped: {}}
    method:
      description: How sockets were enumerated, V(sock_diag) or V(proc) (C(/proc/net/tcp), no idle times).
      type: str
      sample: sock_diag
    namespaces:
      description:
        - Per namespace scanned, C(inode), C(current), C(sysctls) (time, intvl, probes), C(sockets),
          C(error) (why it was not scanned) and C(gone) (V(true) when it vanished before it could be
          entered, a short-lived container; not an error).
      type: list
      elements: dict
      sample:
        - {inode: 4026531840, current: true, sysctls: {time: 7200, intvl: 75, probes: 9}, sockets: 40213,
           error: null, gone: false}
    namespaces_listed:
      description: Entries in RV(summary.namespaces) (at most 50 with O(detail=summary)).
      type: int
      sample: 1
    namespaces_gone:
      description: Namespaces that vanished during the scan.
      type: int
      sample: 0
    scan_seconds:
      description: Wall-clock time of the scan.
      type: float
      sample: 0.412
findings:
  description:
    - What needs attention, in the same shape as M(tcp.keepalive.settings_info) findings. Per-service
      findings are aggregated (one per id and service, with C(count) and up to 10 example C(sockets)).
    - Every finding has C(scope=runtime).
    - Ids (severity) C(listener_without_keepalive) (high, one per listener judged C(without)),
      C(listener_keepalive_unverified) (low, one per listener without evidence), C(ghost_candidate) (high),
      C(connection_without_keepalive) (medium), C(detection_time_exceeded) (high, with O(max_detection_time)),
      C(user_timeout_overrides_probes) (low), C(keepalive_unknown) (info), C(socket_options_unreadable)
      (info, one per reason).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable identifier of the kind of finding.
      type: str
      sample: listener_without_keepalive
    severity:
      description: V(high), V(medium), V(low) or V(info).
      type: str
      sample: high
    key:
      description: Always V(null) here (kept for the shared shape).
      type: str
      sample: null
    message:
      description: What was found, and where.
      type: str
      sample: "nginx.service listens on 0.0.0.0:443 without SO_KEEPALIVE ..."
    file:
      description: Always V(null) here.
      type: str
      sample: null
    line:
      description: Always V(null) here.
      type: int
      sample: null
    namespace:
      description: Inode of the namespace concerned; V(null) for the namespace the module runs in or several.
      type: int
      sample: null
    pid:
      description: A pid of the service concerned.
      type: int
      sample: 901
    service:
      description: The service concerned.
      type: str
      sample: nginx.service
    socket:
      description:
        - The socket concerned (C(local) for a listener, C(local->remote) for a connection), or the first
          example.
      type: str
      sample: "0.0.0.0:443"
    sockets:
      description: Up to 10 example sockets (aggregated findings only).
      type: list
      elements: str
      sample: ["10.0.0.1:443->10.0.0.9:50000 (idle 7300s)"]
    count:
      description: Number of sockets concerned (aggregated findings only).
      type: int
      sample: 3
    idle:
      description:
        - Longest idle time, in seconds, among the service's ghost candidates (C(ghost_candidate) only).
      type: int
      sample: 86400
    scope:
      description: V(runtime), about the running system (boot-time findings come from settings_info).
      type: str
      sample: runtime
    evidence:
      description: Listener findings only, as RV(sockets[].listener_evidence).
      type: str
      sample: accepted
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import (
    DEFAULT_IDLE_THRESHOLD,
    SELECTION_ARGUMENT_SPEC,
    OptionError,
    parse_options,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._sockets import ResultTooLarge, scan_sockets

ARGUMENT_SPEC = {
    **SELECTION_ARGUMENT_SPEC,
    "idle_threshold": {"type": "int", "default": DEFAULT_IDLE_THRESHOLD},
    "max_detection_time": {"type": "int"},
    "detail": {"type": "raw", "default": 1000},
    "read_socket_options": {"type": "str", "default": "auto", "choices": ["auto", "always", "never"]},
    "probe_listeners": {"type": "bool", "default": False},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        options = parse_options(module.params)
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    try:
        result = scan_sockets(options)
    except ResultTooLarge as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot scan the TCP sockets: {exc}")
    if os.geteuid() != 0:
        module.warn(
            "not running as root: sockets of other users have no visible owner and are classified by "
            "the keepalive timer only"
        )
    failed = [namespace for namespace in result["summary"]["namespaces"] if namespace["error"]]
    if failed:
        module.warn(
            f"{len(failed)} network namespace(s) not scanned, e.g. {failed[0]['inode']}: "
            f"{failed[0]['error']} (see summary.namespaces)"
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
