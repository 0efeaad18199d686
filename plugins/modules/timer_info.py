#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: timer_info
short_description: Prove that the kernel applies the keepalive time to a new TCP connection
version_added: 0.1.0
description:
  - Active proof of the keepalive policy. Opens a TCP listener and a client on 127.0.0.1 (port 0) in the
    network namespace the module runs in, with C(SO_KEEPALIVE) on the client and no per-socket
    C(TCP_KEEP*) value, then reads the client's keepalive timer from the kernel through
    C(NETLINK_SOCK_DIAG) (C(/proc/net/tcp) as a fallback, to 1/USER_HZ precision).
  - A new connection's keepalive timer must expire after the namespace's C(net.ipv4.tcp_keepalive_time),
    or after O(expected_time) when given, within O(tolerance). RV(ok) says whether it does.
  - Leaves nothing behind. Every socket it opens is closed before it returns, the client with a reset so
    that no C(TIME_WAIT) socket remains. Nothing on the host is changed.
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
  - tcp.keepalive._attributes.info_module
options:
  tolerance:
    description:
      - Largest accepted difference, in seconds, between the observed expiry and the expected time.
      - From 0 to 32767 (the longest keepalive time a socket can have).
    type: float
    default: 2
  expected_time:
    description:
      - Keepalive time, in seconds, the timer must show. Defaults to the namespace's
        C(net.ipv4.tcp_keepalive_time) read from C(/proc/sys), which proves that the kernel uses what
        C(/proc/sys) shows; give the policy value to prove the policy.
      - From 1 to 32767 (C(MAX_TCP_KEEPIDLE)).
    type: int
  fail_on_mismatch:
    description: Fail the task when RV(ok) is false, with RV(message) as the reason.
    type: bool
    default: false
notes:
  - Needs the loopback interface up in the network namespace; in a fresh namespace run C(ip link set lo up).
  - The timer is armed when the connection is established, so a C(tcp_keepalive_time) changed a moment ago
    shows here at once, while connections that already existed keep their armed timer.
seealso:
  - module: tcp.keepalive.settings_info
    description: Audit the keepalive sysctls, now and after boot.
  - module: tcp.keepalive.sockets_info
    description: Find the sockets and services without keepalive.
"""

EXAMPLES = r"""
- name: Prove that a new connection gets the configured keepalive time
  tcp.keepalive.timer_info:
  register: proof

- name: Prove the policy value, failing the task when the kernel does not apply it
  tcp.keepalive.timer_info:
    expected_time: 600
    tolerance: 1
    fail_on_mismatch: true

- name: Report the result as a finding
  ansible.builtin.debug:
    msg: "{{ proof.message }} (findings: {{ proof.findings | map(attribute='id') | list }})"
"""

RETURN = r"""
ok:
  description:
    - Whether the keepalive timer of the new connection expires after the expected time, within O(tolerance).
  returned: always
  type: bool
  sample: true
expected_time:
  description:
    - Expected keepalive time in seconds (O(expected_time), else the namespace sysctl); V(null) if unknown.
  returned: always
  type: int
  sample: 600
expected_source:
  description: V(option) (O(expected_time)) or V(sysctl) (C(net.ipv4.tcp_keepalive_time) of the namespace).
  returned: always
  type: str
  sample: sysctl
observed_time:
  description:
    - Seconds until the connection's keepalive timer expires, as the kernel reports it; V(null) if not seen.
  returned: always
  type: float
  sample: 599.996
difference:
  description: RV(observed_time) minus RV(expected_time), in seconds; V(null) when either is unknown.
  returned: always
  type: float
  sample: -0.004
tolerance:
  description: The O(tolerance) applied.
  returned: always
  type: float
  sample: 2.0
timer:
  description: The timer the connection showed (V(keepalive) expected; V(off), V(on), V(probe) otherwise).
  returned: always
  type: str
  sample: keepalive
namespace:
  description: Inode of the network namespace the proof ran in.
  returned: always
  type: int
  sample: 4026531840
sysctls:
  description: C(time), C(intvl) and C(probes) of the namespace, as C(/proc/sys) shows them.
  returned: always
  type: dict
  sample: {time: 600, intvl: 30, probes: 5}
method:
  description: V(sock_diag) or V(proc) (C(/proc/net/tcp)).
  returned: always
  type: str
  sample: sock_diag
socket:
  description: Local address of the client socket used (closed by the time the module returns).
  returned: always
  type: str
  sample: "127.0.0.1:41234"
message:
  description: The outcome in one sentence.
  returned: always
  type: str
  sample: keepalive timer of a new socket expires in 599.996s, matches the expected 600s (sysctl) within 2s
findings:
  description:
    - Empty when RV(ok), else one C(timer_mismatch) finding (severity high) in the shape of
      M(tcp.keepalive.settings_info) findings, with C(expected), C(observed) and C(socket).
  returned: always
  type: list
  elements: dict
  sample:
    - {id: timer_mismatch, severity: high, key: time, message: "...", file: null, line: null, namespace: null,
       expected: 600, observed: 7199.996, socket: "127.0.0.1:41234"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._timer_proof import (
    ProofError,
    option_problem,
    proof_result,
    prove_keepalive_timer,
)

ARGUMENT_SPEC = {
    "tolerance": {"type": "float", "default": 2.0},
    "expected_time": {"type": "int"},
    "fail_on_mismatch": {"type": "bool", "default": False},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    tolerance = module.params["tolerance"]
    expected = module.params["expected_time"]
    problem = option_problem(tolerance, expected)
    if problem:
        module.fail_json(msg=problem)
    try:
        proof = prove_keepalive_timer(tolerance=tolerance, expected_time=expected)
    except ProofError as exc:
        module.fail_json(msg=str(exc))
    result = proof_result(proof)
    if not proof.ok and module.params["fail_on_mismatch"]:
        module.fail_json(msg=proof.message, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
