#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: settings_info
short_description: Audit TCP keepalive sysctls at runtime, after boot, and in every network namespace
version_added: 0.1.0
description:
  - Reads C(net.ipv4.tcp_keepalive_time), C(net.ipv4.tcp_keepalive_intvl) and C(net.ipv4.tcp_keepalive_probes)
    as the kernel uses them now (runtime) and as the boot loader will set them after the next reboot (boot),
    with every file and line that sets them and which one wins.
  - The boot model follows the loader's precedence rules (sysctl.d directories, masking, basename order,
    C(/etc/sysctl.conf) read last by procps). It is the same model M(tcp.keepalive.settings) uses.
  - Modelled loader versions are systemd-sysctl 252 and procps-ng 4.0.2 (each checked against the real
    binary on thousands of random trees), and procps-ng 3.3.16 and older (C(/run/sysctl.d) before
    C(/etc/sysctl.d), no globs; from its source), chosen by the installed C(sysctl --version).
    RV(loader.version) names the version found.
  - These sysctls are per network namespace (Linux 4.5 and later) and a new namespace starts at the kernel
    defaults 7200/75/9. With O(namespaces=all) every network namespace on the host (containers, C(ip netns))
    is entered in a short-lived child process and read there; one that cannot be entered is listed with
    the reason.
  - Returns findings with stable ids (see RV(findings)) and, when O(expected) or O(max_detection_time) is
    given, whether the host is compliant.
  - Never changes anything.
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
  - tcp.keepalive._attributes.info_module
options:
  expected:
    description:
      - Values the keys must have, at runtime and after boot (and at runtime in every other namespace read
        with O(namespaces=all)). A dict with any of these keys; a key left out is not checked.
      - C(time), expected C(net.ipv4.tcp_keepalive_time), idle seconds before the first probe (1-32767).
      - C(intvl), expected C(net.ipv4.tcp_keepalive_intvl), seconds between probes (1-32767).
      - C(probes), expected C(net.ipv4.tcp_keepalive_probes), unanswered probes before the reset (1-127).
      - Any other key, or a value that is not an integer in range, fails the module with a message naming it.
      - A difference gives a C(not_expected) finding and makes RV(compliant) false.
    type: dict
  max_detection_time:
    description:
      - Longest time, in seconds, an idle connection to a dead peer may stay open, that is
        C(time + intvl * probes). Checked at runtime, after boot, and in every other namespace read.
      - More gives a C(detection_time_exceeded) finding and makes RV(compliant) false.
      - From 1 to 4194176 (C(32767 + 32767 * 127), every key at its per-socket limit).
    type: int
  loader:
    description:
      - Which boot loader's precedence rules decide the boot values.
      - V(auto) picks V(systemd) (systemd-sysctl) when C(/run/systemd/system) exists, V(procps)
        (C(sysctl --system)) otherwise; RV(loader.reason) says which and why.
    type: str
    choices: [auto, systemd, procps]
    default: auto
  namespaces:
    description:
      - V(current) audits the network namespace the module runs in.
      - V(all) also lists every distinct network namespace on the host (from C(/proc/<pid>/ns/net) of every
        process and from namespace bind mounts such as C(/run/netns/<name>)) and reads its values.
        Needs root to see and enter the namespaces of other users' processes.
    type: str
    choices: [current, all]
    default: current
notes:
  - The values of RV(settings) are those of the namespace the module runs in; a container's namespace starts
    at the kernel defaults whatever the host sets.
  - RV(compliant) looks only at the C(not_expected), C(detection_time_exceeded) and C(missing_key) findings.
    A namespace that could not be read (C(namespace_unreadable)) does not make the host non-compliant.
  - Runtime differing from boot gives C(not_persisted) when no file sets the key, C(drift) when one does;
    never both for one key.
seealso:
  - module: tcp.keepalive.settings
    description: Set the values at runtime and persist them in a sysctl.d file.
"""

EXAMPLES = r"""
- name: Audit the keepalive settings of this host
  tcp.keepalive.settings_info:
  register: keepalive

- name: Audit against a policy, in every network namespace
  tcp.keepalive.settings_info:
    expected:
      time: 600
      intvl: 30
      probes: 5
    max_detection_time: 900
    namespaces: all
  register: keepalive_audit

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ keepalive_audit.findings | map(attribute='message') | list }}"
  when: keepalive_audit.compliant is false

- name: Fail when the value after the next reboot is not the expected one
  ansible.builtin.assert:
    that:
      - keepalive_audit.settings.time.boot == 600
    fail_msg: >-
      tcp_keepalive_time after boot is {{ keepalive_audit.settings.time.boot }}
      ({{ keepalive_audit.settings.time.boot_source }}), expected 600
"""

RETURN = r"""
loader:
  description: The boot loader whose precedence rules were applied, and why.
  returned: always
  type: dict
  contains:
    name:
      description: V(systemd) or V(procps).
      type: str
      sample: systemd
    reason:
      description: Why this loader (requested, or what auto-detection saw).
      type: str
      sample: "/run/systemd/system exists (systemd is PID 1): systemd-sysctl applies sysctl.d at boot"
    version:
      description:
        - The installed loader's version, from C(sysctl --version) or C(systemd-sysctl --version);
          V(null) when it cannot be run.
        - The rules modelled are those of systemd-sysctl 252 and procps-ng 4.0.2 (checked against the
          real binaries; used for every procps-ng from 3.3.17 on, whose release notes adopt systemd's
          directory order); for procps-ng 3.3.16 and older (the RHEL 8 family) C(/run/sysctl.d) is read
          before C(/etc/sysctl.d) and globs are not expanded (from its source; not run).
      type: str
      sample: "procps-ng 4.0.2"
settings:
  description:
    - One entry per key, V(time), V(intvl) and V(probes), for the namespace the module runs in.
  returned: always
  type: dict
  contains:
    time:
      description: C(net.ipv4.tcp_keepalive_time).
      type: dict
      contains: &key_fields
        runtime:
          description: Value the kernel uses now; V(null) when C(/proc/sys) does not have the key.
          type: int
          sample: 600
        boot:
          description:
            - Value after the next boot under RV(loader.name) (the kernel default when nothing sets it).
          type: int
          sample: 600
        boot_source:
          description: C({file, line}) of the assignment that wins at boot, or the string V(kernel_default).
          type: raw
          sample: {file: /etc/sysctl.d/60-tcp-keepalive.conf, line: 2}
        definitions:
          description:
            - Every assignment of the key in the loader's files, in application order, including those in
              masked files (listed where the loader would have read them).
            - Each has C(file), C(line), C(value) (as written), C(int_value) (as the kernel parses it, V(null)
              when invalid), C(wins), C(overridden_by) (C({file, line}) or V(null)), C(sysctl) (the name as
              written), C(ignore_errors) (a leading C(-)), C(glob), C(via) (the symlink read, if any) and
              C(masked_by).
            - C(masked_by) is V(null) for a file the loader reads; otherwise the path of the file that masks
              this one (a same-named file in an earlier sysctl.d directory, or a symlink to C(/dev/null) or
              an empty file). The loader never reads a masked file, so such a definition never wins, has
              C(overridden_by=null), does not change RV(settings.time.boot), and gets an
              C(overridden_at_boot) finding naming the mask.
          type: list
          elements: dict
          sample:
            - {file: /etc/sysctl.d/60-tcp-keepalive.conf, line: 2, value: "600", int_value: 600, wins: true,
               overridden_by: null, sysctl: net.ipv4.tcp_keepalive_time, ignore_errors: false, glob: false,
               via: null, masked_by: null}
            - {file: /usr/lib/sysctl.d/60-tcp-keepalive.conf, line: 1, value: "300", int_value: 300,
               wins: false, overridden_by: null, sysctl: net.ipv4.tcp_keepalive_time, ignore_errors: false,
               glob: false, via: null, masked_by: /etc/sysctl.d/60-tcp-keepalive.conf}
        kernel_default:
          description: Value of a new network namespace (7200, 75 or 9).
          type: int
          sample: 7200
        drift:
          description: Whether runtime differs from boot; V(null) when runtime is unknown.
          type: bool
          sample: false
    intvl:
      description: C(net.ipv4.tcp_keepalive_intvl), same fields as RV(settings.time).
      type: dict
      contains: *key_fields
    probes:
      description: C(net.ipv4.tcp_keepalive_probes), same fields as RV(settings.time).
      type: dict
      contains: *key_fields
detection_time:
  description: Seconds until an idle connection to a dead peer is reset, C(time + intvl * probes).
  returned: always
  type: dict
  contains:
    runtime:
      description: With the runtime values; V(null) when one is unknown.
      type: int
      sample: 750
    boot:
      description: With the values after boot.
      type: int
      sample: 750
namespaces:
  description:
    - The namespace the module runs in, and with O(namespaces=all) every other network namespace on the host,
      the current one first, then by inode.
  returned: always
  type: list
  elements: dict
  contains:
    inode:
      description: Inode of the namespace (as in C(readlink /proc/<pid>/ns/net)).
      type: int
      sample: 4026531840
    current:
      description: Whether it is the namespace the module runs in.
      type: bool
    names:
      description: C(ip netns) names of it (bind mounts under C(/run/netns)).
      type: list
      elements: str
      sample: [blue]
    processes:
      description:
        - Processes in it (kernel threads left out), each with C(pid), C(comm), C(container_id) and
          C(systemd_unit) (from C(/proc/<pid>/cgroup), V(null) when the cgroup does not tell).
        - Only filled with O(namespaces=all).
      type: list
      elements: dict
      sample: [{pid: 1234, comm: nginx, container_id: null, systemd_unit: nginx.service}]
    values:
      description: C(time), C(intvl) and C(probes) in it; V(null) when unknown.
      type: dict
      sample: {time: 600, intvl: 30, probes: 5}
    detection_time:
      description: C(time + intvl * probes) in it.
      type: int
      sample: 750
    error:
      description: Why it could not be read (V(null) when it was).
      type: str
      sample: "cannot enter /proc/4242/ns/net: Operation not permitted (EPERM)"
hidden_processes:
  description:
    - Number of processes whose network namespace could not be seen (no right to read C(/proc/<pid>/ns/net)).
      Always 0 with O(namespaces=current).
  returned: always
  type: int
  sample: 0
findings:
  description:
    - What needs attention, ordered by namespace (the current one first), id, key, file and line.
    - Ids (severity) C(drift) (medium), C(not_persisted) (medium), C(overridden_at_boot) (medium, a
      definition that loses to a later one or sits in a masked file; the message names the winner or the
      mask), C(conflicting_definitions) (low, among the definitions the loader reads), C(unparsable_line)
      (low), C(unreadable_file) (medium), C(missing_key) (medium), C(not_expected) (high),
      C(detection_time_exceeded) (high), C(namespace_defaults) (medium, a namespace at 7200/75/9 while the
      host is configured), C(namespace_unreadable) (low).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable identifier of the kind of finding.
      type: str
      sample: overridden_at_boot
    severity:
      description: V(high), V(medium), V(low) or V(info).
      type: str
      sample: medium
    key:
      description: V(time), V(intvl) or V(probes), or V(null) when the finding is not about one key.
      type: str
      sample: time
    message:
      description: What was expected, what was found, and where.
      type: str
      sample: >-
        net.ipv4.tcp_keepalive_time = 600 at /etc/sysctl.d/10-app.conf:2 is overridden at boot by
        /etc/sysctl.conf:7 (value 300)
    file:
      description: File concerned, if any.
      type: str
      sample: /etc/sysctl.d/10-app.conf
    line:
      description: Line in RV(findings[].file), if any.
      type: int
      sample: 2
    namespace:
      description:
        - Inode of the namespace concerned; V(null) for the namespace the module runs in and for boot files.
      type: int
      sample: null
compliant:
  description:
    - V(true) when neither C(not_expected), C(detection_time_exceeded) nor C(missing_key) was found; V(null)
      when neither O(expected) nor O(max_detection_time) is given.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tcp.keepalive.plugins.module_utils._common import MAX_DETECTION_TIME, check_range
from ansible_collections.tcp.keepalive.plugins.module_utils._policy import PolicyError, audit
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import loader_version

ARGUMENT_SPEC = {
    # Keys and values of `expected` are checked by _policy.parse_policy, not by suboptions: ansible-core's
    # suboption handling answers a non-dict value with a message that does not name the option.
    "expected": {"type": "dict"},
    "max_detection_time": {"type": "int"},
    "loader": {"type": "str", "default": "auto", "choices": ["auto", "systemd", "procps"]},
    "namespaces": {"type": "str", "default": "current", "choices": ["current", "all"]},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    for key, value in (params["expected"] or {}).items():
        if value is None:  # an empty YAML value: a policy that checks nothing must not read as compliant
            module.fail_json(msg=f"expected.{key} must be an integer, got None (an empty value)")
    if params["max_detection_time"] is not None:
        problem = check_range(
            "max_detection_time",
            params["max_detection_time"],
            1,
            MAX_DETECTION_TIME,
            "a whole number of seconds",
        )
        if problem:
            module.fail_json(msg=problem)
    try:
        result = audit(
            expected=params["expected"],
            max_detection_time=params["max_detection_time"],
            loader=params["loader"],
            namespaces=params["namespaces"],
        )
    except PolicyError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot audit the keepalive settings: {exc}")
    if result["hidden_processes"]:
        module.warn(
            f"{result['hidden_processes']} process(es) hidden: permission denied reading their "
            "/proc/<pid>/ns/net, so their network namespace may be missing from `namespaces`"
        )
    result["loader"]["version"] = loader_version(result["loader"]["name"])  # what boot_model() modelled
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
