#!/usr/bin/python
# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_report
short_description: Write the fleet reports of the tcp.keepalive.verify role on the controller
version_added: 0.1.0
description:
  - Used by the R(tcp.keepalive.verify,ansible_collections.tcp.keepalive.verify_role) role, once per play
    (C(run_once)). Reads the record that the role stored for each host of the play (built by the
    P(tcp.keepalive.verify_checks#filter) filter) and writes, in one linear pass, the per-host JSON documents,
    the fleet JSON summary, a Markdown summary, a self-contained HTML page and a JUnit XML file.
  - A host of the play without a record (unreachable, or failed before the role ran) is reported as
    C(unreachable).
  - Runs on the controller only and never contacts a managed node. The report files are written in check
    mode too when the task turns check mode off for itself, as the role does; nothing is reported as changed.
  - This is an action plugin; this page only documents it.
author:
  - tcp.keepalive developers (@tcp-keepalive)
extends_documentation_fragment:
  - tcp.keepalive._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing on any managed host changes; the reports are controller files.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Rewrites the same report files and never reports a change.
  action:
    support: full
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on
        the controller.
options:
  report_dir:
    description:
      - Controller directory for the reports; created when missing. Relative to the working directory of
        ansible-playbook.
      - 'Gets C(hosts/<host>.json), C(fleet.json), C(fleet.md), C(fleet.html) and C(junit.xml).'
    type: path
    required: true
  policy:
    description:
      - 'The policy the records were evaluated against: C(expected) (C(time), C(intvl), C(probes)),
        C(max_detection_time), C(fail_on), C(idle_threshold) and the other keys the role sets.'
      - C(fail_on) entries must be finding ids or severities.
    type: dict
    required: true
  hosts:
    description:
      - Hosts to report on. Defaults to C(ansible_play_hosts_all), every host of the play.
    type: list
    elements: str
  record_var:
    description:
      - Name of the host variable that holds each host's record; a dotted name (C(var.key)) reads a key of
        that variable, for example C(audit.record) when C(audit) is the registered result of
        M(tcp.keepalive.audit_info) with O(tcp.keepalive.audit_info#module:policy).
      - The default is where the P(tcp.keepalive.verify#role) role keeps it, the C(record) of its registered
        C(tcp_keepalive_verify_result).
    type: str
    default: tcp_keepalive_verify_result.record
seealso:
  - module: tcp.keepalive.settings_info
  - module: tcp.keepalive.sockets_info
  - module: tcp.keepalive.timer_info
"""

EXAMPLES = r"""
- name: Write the fleet reports once, after every host has its record
  tcp.keepalive.verify_report:
    report_dir: /var/tmp/keepalive-reports
    policy:
      expected: {time: 600, intvl: 60, probes: 5}
      max_detection_time: 900
      fail_on: [high, medium]
  run_once: true
  delegate_to: localhost
  check_mode: false
"""

RETURN = r"""
files:
  description: Paths of the written reports.
  returned: success
  type: dict
  contains:
    report_dir:
      description: Absolute report directory.
      type: str
      sample: /var/tmp/keepalive-reports
    hosts_dir:
      description: Directory of the per-host JSON documents.
      type: str
      sample: /var/tmp/keepalive-reports/hosts
    json:
      description: Fleet summary (JSON).
      type: str
      sample: /var/tmp/keepalive-reports/fleet.json
    markdown:
      description: Fleet summary (Markdown).
      type: str
      sample: /var/tmp/keepalive-reports/fleet.md
    html:
      description: Self-contained HTML page.
      type: str
      sample: /var/tmp/keepalive-reports/fleet.html
    junit:
      description: JUnit XML, one test case per host and check.
      type: str
      sample: /var/tmp/keepalive-reports/junit.xml
host_files:
  description: Per-host JSON document of each host; empty for more than 50 hosts (see RV(files.hosts_dir)).
  returned: success
  type: dict
  sample: {web1: /var/tmp/keepalive-reports/hosts/web1.json}
summary:
  description: Fleet counts.
  returned: success
  type: dict
  contains:
    hosts:
      description: Number of hosts reported.
      type: int
      sample: 2
    status:
      description: Hosts per status (C(pass), C(fail), C(error), C(unreachable)).
      type: dict
      sample: {pass: 1, fail: 1, error: 0, unreachable: 0}
    compliant:
      description: Whether every host passed.
      type: bool
      sample: false
    severities:
      description: Findings per severity over the fleet.
      type: dict
      sample: {high: 3, medium: 1, low: 0, info: 2}
    check_failures:
      description: Hosts failing each check.
      type: dict
      sample: {runtime_values: 1, persistence: 1}
    not_root:
      description: Hosts audited without root.
      type: list
      elements: str
      sample: []
    unreachable:
      description: Hosts reported as unreachable.
      type: list
      elements: str
      sample: []
msg:
  description: One-line summary with the report directory.
  returned: always
  type: str
  sample: "2 host(s): 1 compliant, 1 non-compliant, 0 with errors, 0 unreachable; reports in /var/tmp/r"
"""
