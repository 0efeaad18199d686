# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify_report action: reading each host's record from real Ansible hostvars, linearly."""

from __future__ import annotations

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager
from ansible_collections.tcp.keepalive.plugins.action import verify_report

RECORD_VAR = "a_record"


def _hostvars(tmp_path, hosts: int, with_record: int) -> HostVars:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("".join(f"h{i}\n" for i in range(hosts)))
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(inventory)])
    variables = VariableManager(loader=loader, inventory=manager)
    for i in range(with_record):
        record = {"host": f"h{i}", "status": "pass", "cmdline": "sh -c 'echo {{ not_a_template }}'"}
        variables.set_nonpersistent_facts(f"h{i}", {RECORD_VAR: record})
    return HostVars(inventory=manager, variable_manager=variables, loader=loader)


def test_records_are_read_raw_and_missing_ones_are_none(tmp_path):
    hostvars = _hostvars(tmp_path, hosts=3, with_record=2)
    record = verify_report._plain(verify_report._host_record(hostvars, "h1", RECORD_VAR))
    assert record == {"host": "h1", "status": "pass", "cmdline": "sh -c 'echo {{ not_a_template }}'"}
    assert verify_report._host_record(hostvars, "h2", RECORD_VAR) is None
    assert verify_report._host_record(hostvars, "not-in-inventory", RECORD_VAR) is None


def test_reading_a_thousand_hosts_gives_each_its_own_record(tmp_path):
    # How long this takes is measured by benchmarks/ (report rendering), never asserted here.
    hostvars = _hostvars(tmp_path, hosts=1000, with_record=1000)
    records = [verify_report._host_record(hostvars, f"h{i}", RECORD_VAR) for i in range(1000)]
    assert [r["host"] for r in records] == [f"h{i}" for i in range(1000)]


def test_a_host_without_record_is_reported_unreachable():
    policy = {
        "expected": {"time": 600, "intvl": 60, "probes": 5},
        "max_detection_time": 900,
        "fail_on": ["high"],
    }
    record = verify_report.missing_host_record("h9", policy)
    assert record["status"] == "unreachable" and record["host"] == "h9"
    assert all(check["status"] == "error" for check in record["checks"])


def test_a_dotted_record_var_reads_a_key_of_the_registered_result(tmp_path):
    # the verify role registers audit_info's result as tcp_keepalive_verify_result: .record is the default
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("h0\nh1\nh2\n")
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(inventory)])
    variables = VariableManager(loader=loader, inventory=manager)
    variables.set_nonpersistent_facts("h0", {"audit": {"record": {"host": "h0", "status": "fail"}}})
    variables.set_nonpersistent_facts("h1", {"audit": {"changed": False}})
    hostvars = HostVars(inventory=manager, variable_manager=variables, loader=loader)
    assert verify_report._plain(verify_report._host_record(hostvars, "h0", "audit.record")) == {
        "host": "h0",
        "status": "fail",
    }
    assert verify_report._host_record(hostvars, "h1", "audit.record") is None
    assert verify_report._host_record(hostvars, "h2", "audit.record") is None


def test_record_var_defaults_to_the_record_the_verify_role_registers():
    from pathlib import Path

    import yaml
    from ansible_collections.tcp.keepalive.plugins.modules import verify_report as module

    default = verify_report._ARGS["record_var"]["default"]
    documented = yaml.safe_load(module.DOCUMENTATION)["options"]["record_var"]["default"]
    role_tasks = Path(verify_report.__file__).parents[2] / "roles" / "verify" / "tasks" / "main.yml"
    tasks = yaml.safe_load(role_tasks.read_text())
    audit = next(task for task in tasks if "tcp.keepalive.audit_info" in task)
    report = next(task for task in tasks if "tcp.keepalive.verify_report" in task)
    assert default == documented == f"{audit['register']}.record" == "tcp_keepalive_verify_result.record"
    assert "record_var" not in report["tcp.keepalive.verify_report"]  # the role relies on the default
