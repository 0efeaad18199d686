#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sockets
short_description: Enable TCP keepalive in place on the sockets of running services, without a restart
version_added: 0.1.0
description:
  - A service that never set C(SO_KEEPALIVE) keeps every connection whose peer vanished (a ghost) until it
    restarts, and a restart drops every live client too. This module turns keepalive on in the running
    service's own sockets, so the kernel probes each idle peer; dead ones are reset after
    O(idle) + O(intvl) * O(count) seconds, live ones answer and stay.
  - For each selected socket it duplicates the descriptor with C(pidfd_getfd) (Linux 5.6 and later), reads
    C(SO_KEEPALIVE), C(TCP_KEEPIDLE), C(TCP_KEEPINTVL), C(TCP_KEEPCNT) and C(TCP_USER_TIMEOUT), sets what
    differs with C(setsockopt) on the copy (which is the service's own socket), reads the options back and
    closes the copy at once. The target process is never stopped, signalled or blocked.
  - A listening socket changed this way passes keepalive on to every connection it accepts afterwards
    (accepted sockets inherit C(SO_KEEPALIVE), C(TCP_KEEP*) and C(TCP_USER_TIMEOUT)).
  - The change lasts until the service restarts. RV(services[].persistent_fix) names the setting that makes
    it permanent for well-known daemons (the same table as M(tcp.keepalive.sockets_info)'s hints).
  - Same safety rules as M(tcp.keepalive.sockets_info)'s option reads, each skip reported with its reason in
    RV(skipped_sockets) and RV(skipped_reasons). It needs ptrace rights over the owner (root, or the same
    user; inside Docker also C(CAP_SYS_PTRACE)); owners in a non-root cgroup-v1 C(net_cls) or C(net_prio)
    cgroup are skipped (receiving the copy would rewrite the socket's class id); the copy's inode is
    checked again before anything is set. Sockets without a visible owner are skipped. TCP only (IPv4 and
    IPv6).
  - Errors on single sockets are collected in RV(socket_errors), not fatal.
  - Optional O(destroy_ghosts=true) closes, with C(SOCK_DESTROY) (the C(ss -K) mechanism, kernel option
    C(CONFIG_INET_DIAG_DESTROY)), the selected connections that have no keepalive and have been idle for at
    least O(idle_threshold) seconds. Off by default; probing is the safe way, because an idle connection
    may still have a live peer.
  - Run it with C(--check --diff) first.
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the options of every selected socket and reports what would change; sets nothing and destroys
        nothing.
  diff_mode:
    support: full
    details:
      - One line per changed socket, before and after (the first 50; the rest are summarized in one line).
  idempotent:
    support: full
    details:
      - With O(only_missing=true) a second run finds every socket with C(SO_KEEPALIVE) and changes nothing;
        with O(only_missing=false) a socket that already has the values asked for is left alone.
options:
  ports:
    description:
      - Only sockets whose local or remote port is in this list (1-65535); listening sockets match on their
        local port. As in M(tcp.keepalive.sockets_info).
      - At least one of O(ports), O(services) and O(pids) is required.
    type: list
    elements: int
    default: []
  services:
    description:
      - Only sockets of these services (shell-style patterns such as V(nginx*)), matched against the service
        name, the systemd unit (with and without C(.service)) and the process name, as in
        M(tcp.keepalive.sockets_info).
    type: list
    elements: str
    default: []
  pids:
    description: Only sockets held by these process ids.
    type: list
    elements: int
    default: []
  exclude_ports:
    description: Leave out sockets whose local or remote port is in this list.
    type: list
    elements: int
    default: []
  exclude_services:
    description: Leave out the sockets of these services (same matching as O(services)).
    type: list
    elements: str
    default: []
  include_loopback:
    description: Also change sockets bound to a loopback address (C(127.0.0.0/8), C(::1)).
    type: bool
    default: false
  states:
    description:
      - TCP states to select, by kernel name, or V(all); as in M(tcp.keepalive.sockets_info).
    type: list
    elements: str
    default: [ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING]
  namespaces:
    description:
      - V(current) changes sockets of the network namespace the module runs in; V(all) also those of every
        other network namespace on the host (containers).
    type: str
    default: current
    choices: [current, all]
  scope:
    description:
      - V(listeners) changes listening sockets only (connections accepted later inherit keepalive),
        V(connections) every other selected socket, V(all) both.
    type: str
    default: all
    choices: [listeners, connections, all]
  keepalive:
    description:
      - Set C(SO_KEEPALIVE) on (V(true)) or off (V(false), needs O(only_missing=false)).
    type: bool
    default: true
  idle:
    description:
      - C(TCP_KEEPIDLE), seconds of idle time before the first probe (1-32767). Unset leaves the socket's own
        value or the namespace's C(net.ipv4.tcp_keepalive_time).
    type: int
  intvl:
    description:
      - C(TCP_KEEPINTVL), seconds between probes (1-32767). Unset leaves it as it is.
    type: int
  count:
    description:
      - C(TCP_KEEPCNT), unanswered probes before the reset (1-127). Unset leaves it as it is.
    type: int
  user_timeout:
    description:
      - C(TCP_USER_TIMEOUT) in milliseconds (0 turns it off). When set it replaces O(count) in deciding when
        to reset. Unset leaves it as it is.
    type: int
  only_missing:
    description:
      - Touch only sockets without C(SO_KEEPALIVE); a socket where the application turned keepalive on itself
        is skipped (reason in RV(skipped_sockets)), so its own values are never lowered or changed.
      - V(false) also brings sockets that have keepalive to O(idle), O(intvl), O(count), O(user_timeout).
    type: bool
    default: true
  max_sockets:
    description:
      - Refuse, changing nothing, when the selection holds more sockets than this.
    type: int
    default: 100000
  destroy_ghosts:
    description:
      - Close with C(SOCK_DESTROY) the selected ESTABLISHED and CLOSE_WAIT connections that have no keepalive
        and have received nothing for at least O(idle_threshold) seconds, instead of enabling keepalive on
        them. Check mode lists them. The owner sees C(ECONNABORTED), the peer (if any) a reset.
    type: bool
    default: false
  idle_threshold:
    description: Seconds without received data after which a connection counts as a ghost candidate.
    type: int
    default: 3600
  detail:
    description:
      - Entries kept in each of RV(sockets), RV(skipped_sockets), RV(destroyed) and RV(socket_errors) (the
        counts always cover every socket), or V(full) for all.
    type: raw
    default: 1000
notes:
  - Needs root (or the owner's user) and, inside a container, C(CAP_SYS_PTRACE) for C(pidfd_getfd);
    C(CAP_NET_ADMIN) for O(destroy_ghosts).
seealso:
  - module: tcp.keepalive.sockets_info
"""

EXAMPLES = r"""
- name: See what would change on port 8080 (run the play with --check --diff)
  tcp.keepalive.sockets:
    ports: [8080]
    idle: 300
    intvl: 30
    count: 5
  check_mode: true
  register: keepalive_plan

- name: Enable keepalive on the running nginx, listeners and connections
  tcp.keepalive.sockets:
    services: ["nginx*"]
    idle: 300
    intvl: 30
    count: 5

- name: Only the listening sockets of one process, so new connections get keepalive
  tcp.keepalive.sockets:
    pids: [1234]
    scope: listeners
    idle: 600

- name: Close connections of port 5432 that have been silent for a day and never had keepalive
  tcp.keepalive.sockets:
    ports: [5432]
    destroy_ghosts: true
    idle_threshold: 86400
"""

RETURN = r"""
sockets_selected:
  description: Sockets the selection matched (before the safety skips).
  returned: always
  type: int
  sample: 20012
sockets_changed:
  description: Sockets whose options were changed (in check mode, would be).
  returned: always
  type: int
  sample: 20001
listeners_changed:
  description: Listening sockets among RV(sockets_changed).
  returned: always
  type: int
  sample: 1
connections_changed:
  description: Other sockets among RV(sockets_changed).
  returned: always
  type: int
  sample: 20000
sockets_unchanged:
  description: Reached sockets that already had what was asked for.
  returned: always
  type: int
  sample: 0
sockets_skipped:
  description: Sockets left alone, each for a reason in RV(skipped_reasons).
  returned: always
  type: int
  sample: 11
sockets_destroyed:
  description: Connections closed with O(destroy_ghosts) (in check mode, would be).
  returned: always
  type: int
  sample: 0
errors:
  description: Sockets where C(setsockopt) or C(SOCK_DESTROY) failed.
  returned: always
  type: int
  sample: 0
sockets:
  description:
    - The changed sockets (at most O(detail)), with the options before and after.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Inode of the socket's network namespace.
      type: int
      sample: 4026531840
    state:
      description: TCP state.
      type: str
      sample: ESTABLISHED
    local:
      description: Local address and port.
      type: str
      sample: "10.0.0.1:8080"
    remote:
      description: Remote address and port (V(null) for a listener).
      type: str
      sample: "10.0.0.9:50122"
    inode:
      description: Socket inode.
      type: int
      sample: 61562
    service:
      description: Owning service (systemd unit, else process name).
      type: str
      sample: app.service
    pid:
      description: Process whose descriptor was used.
      type: int
      sample: 1234
    fd:
      description: Its descriptor number.
      type: int
      sample: 7
    idle:
      description: Seconds since data was last received (connections; V(null) without TCP_INFO).
      type: int
      sample: 7300
    before:
      description: C(keepalive), C(idle), C(intvl), C(count), C(user_timeout) as read before the change.
      type: dict
      sample: {keepalive: false, idle: 7200, intvl: 75, count: 9, user_timeout: 0}
    after:
      description: The same, read back after the change (in check mode, predicted).
      type: dict
      sample: {keepalive: true, idle: 300, intvl: 30, count: 5, user_timeout: 0}
sockets_truncated:
  description: Whether RV(sockets) lists fewer than RV(sockets_changed).
  returned: always
  type: bool
  sample: false
destroyed:
  description:
    - Connections closed (or, in check mode, to be closed) by O(destroy_ghosts), same fields as RV(sockets)
      plus C(destroyed) (bool) and C(error).
  returned: always
  type: list
  elements: dict
  sample: []
skipped_sockets:
  description:
    - Named C(skipped_sockets), not C(skipped), because Ansible treats a task result with a true C(skipped)
      as a skipped task.
    - Sockets left alone (at most O(detail)), same fields as RV(sockets) without before/after, plus C(reason),
      for example C(already has SO_KEEPALIVE ...), C(no ptrace rights over the owner ...), C(owner is in a
      non-root cgroup-v1 net_cls/net_prio cgroup ...), C(no owning process visible).
  returned: always
  type: list
  elements: dict
  sample: [{state: LISTEN, local: "0.0.0.0:22", reason: "already has SO_KEEPALIVE (only_missing: true ...)"}]
skipped_reasons:
  description: Count of skipped sockets per reason (covers every skipped socket).
  returned: always
  type: dict
  sample: {"no owning process visible": 3}
socket_errors:
  description: Sockets where a change failed, with C(error); the rest of the run went on.
  returned: always
  type: list
  elements: dict
  sample: []
services:
  description: Per owning service, what was done and how to make it permanent.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Service name.
      type: str
      sample: nginx.service
    systemd_unit:
      description: systemd unit, if any.
      type: str
      sample: nginx.service
    container_id:
      description: Container id, if the owner runs in one.
      type: str
      sample: null
    pids:
      description: Up to 10 pids of the service.
      type: list
      elements: int
      sample: [901]
    listeners_changed:
      description: Listening sockets changed.
      type: int
      sample: 1
    connections_changed:
      description: Connections changed.
      type: int
      sample: 2000
    sockets_destroyed:
      description: Connections destroyed.
      type: int
      sample: 0
    sockets_skipped:
      description: Sockets skipped.
      type: int
      sample: 0
    lasts:
      description: That the change lasts until the service restarts (V(null) when nothing was changed).
      type: str
      sample: lasts until the service restarts (the change is made on the running process's sockets only)
    persistent_fix:
      description: The setting that enables keepalive for good for this kind of service.
      type: str
      sample: "nginx: add `so_keepalive=on` ... to each `listen` directive"
method:
  description: How sockets were enumerated, V(sock_diag) or V(proc).
  returned: always
  type: str
  sample: sock_diag
namespaces:
  description: Per namespace looked at, C(inode), C(current) and C(error).
  returned: always
  type: list
  elements: dict
  sample: [{inode: 4026531840, current: true, error: null}]
unsupported:
  description: Why pidfd_getfd could not be used at all on this host (V(null) when it could).
  returned: always
  type: str
  sample: null
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._live import (
    DEFAULT_DETAIL,
    DEFAULT_MAX_SOCKETS,
    SCOPES,
    TooManySockets,
    parse_live_options,
    remediate,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._selection import (
    DEFAULT_IDLE_THRESHOLD,
    SELECTION_ARGUMENT_SPEC,
    OptionError,
)

ARGUMENT_SPEC = {
    **SELECTION_ARGUMENT_SPEC,
    "pids": {"type": "list", "elements": "int", "default": []},
    "scope": {"type": "str", "default": "all", "choices": list(SCOPES)},
    "keepalive": {"type": "bool", "default": True},
    "idle": {"type": "int"},
    "intvl": {"type": "int"},
    "count": {"type": "int"},
    "user_timeout": {"type": "int"},
    "only_missing": {"type": "bool", "default": True},
    "max_sockets": {"type": "int", "default": DEFAULT_MAX_SOCKETS},
    "destroy_ghosts": {"type": "bool", "default": False},
    "idle_threshold": {"type": "int", "default": DEFAULT_IDLE_THRESHOLD},
    "detail": {"type": "raw", "default": DEFAULT_DETAIL},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        options = parse_live_options(module.params)
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    try:
        result = remediate(options, module.check_mode)
    except TooManySockets as exc:
        module.fail_json(msg=str(exc), changed=False)
    except OSError as exc:
        module.fail_json(msg=f"cannot enumerate the TCP sockets: {exc}", changed=False)
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    if result["unsupported"] and result["sockets_selected"]:
        module.warn(f"no socket could be changed: {result['unsupported']}")
    if result["errors"]:
        first = result["socket_errors"][0] if result["socket_errors"] else {}
        module.warn(
            f"{result['errors']} socket(s) could not be changed, e.g. {first.get('local')}: "
            f"{first.get('error')} (see socket_errors)"
        )
    failed = [namespace for namespace in result["namespaces"] if namespace["error"]]
    if failed:
        module.warn(
            f"{len(failed)} network namespace(s) not reached, e.g. {failed[0]['inode']}: {failed[0]['error']}"
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
