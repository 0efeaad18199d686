"""Unit tests for _policy: input validation and every finding id, on small hand-made boot models.

The boot models here are plain stand-ins with the public shape of _sysctl_conf.BootModel (the
precedence itself is tested in test_settings_info_tree.py through the real model on fixture trees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _policy
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import ProcessInfo

DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}


@dataclass
class Definition:
    key: str
    file: str
    line: int
    value: str
    int_value: int | None
    wins: bool = False
    overridden_by: tuple | None = None
    sysctl: str = ""
    ignore_errors: bool = False
    glob: bool = False
    masked_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "file": self.file,
            "line": self.line,
            "value": self.value,
            "wins": self.wins,
            "overridden_by": self.overridden_by,
            "masked_by": self.masked_by,
        }


@dataclass
class ConfFile:
    path: str
    masked_by: str | None = None
    null_mask: bool = False
    readable: bool = True
    error: str | None = None
    target: str | None = None


@dataclass
class BootModel:
    loader: str = "systemd"
    files: list = field(default_factory=list)
    definitions: dict = field(default_factory=dict)
    boot: dict = field(default_factory=lambda: {"time": None, "intvl": None, "probes": None})
    boot_source: dict = field(default_factory=lambda: {"time": None, "intvl": None, "probes": None})
    unparsable: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)


def model_with(*definitions: Definition, **extra: Any) -> BootModel:
    """Last applied definition of a key wins (enough for these tests; real precedence is elsewhere)."""
    model = BootModel(**extra)
    for definition in definitions:
        model.definitions.setdefault(definition.key, []).append(definition)
    for key, defs in model.definitions.items():
        applied = [d for d in defs if d.wins or d.overridden_by is None and d.masked_by is None]
        if applied:
            winner = applied[-1]
            winner.wins = True
            for d in defs:
                if d is not winner and d.masked_by is None:
                    d.wins, d.overridden_by = False, (winner.file, winner.line)
            model.boot[key] = winner.int_value
            model.boot_source[key] = winner
    return model


def facts(runtime=None, model=None, namespaces=None) -> _policy.AuditFacts:
    runtime = dict(DEFAULTS if runtime is None else runtime)
    current = _policy.NamespaceReport(inode=4026531840, current=True, values=runtime)
    return _policy.AuditFacts(
        runtime=runtime,
        loader="systemd",
        loader_reason="test",
        model=model or BootModel(),
        namespaces=[current, *(namespaces or [])],
    )


def ids(found) -> list:
    return [(f.id, f.key, f.namespace) for f in found]


# ------------------------------------------------------------------------------------------ parse_policy


def test_parse_policy_accepts_valid_values():
    policy = _policy.parse_policy({"time": 600, "intvl": "0030", "probes": None}, 900)
    assert policy.expected == {"time": 600, "intvl": 30}
    assert policy.max_detection_time == 900 and policy.active


def test_parse_policy_empty_is_inactive():
    assert not _policy.parse_policy(None, None).active
    assert not _policy.parse_policy({}, None).active


@pytest.mark.parametrize(
    "expected, max_dt, message",
    [
        (
            {"time": 600, "bogus": 1},
            None,
            "expected has unknown key(s) bogus; valid keys: time, intvl, probes",
        ),
        ({"time": 0}, None, "expected.time must be between 1 and 32767, got 0"),
        ({"probes": 128}, None, "expected.probes must be between 1 and 127, got 128"),
        ({"intvl": "ten"}, None, "expected.intvl must be an integer, got 'ten'"),
        ({"time": True}, None, "expected.time must be an integer, got True"),
        (["time"], None, "expected must be a dict with keys time, intvl, probes, got list"),
        (None, -5, "max_detection_time must be a positive number of seconds, got -5"),
        (None, "soon", "max_detection_time must be a positive number of seconds, got 'soon'"),
    ],
)
def test_parse_policy_rejects_bad_input(expected, max_dt, message):
    with pytest.raises(_policy.PolicyError) as info:
        _policy.parse_policy(expected, max_dt)
    assert str(info.value) == message


def test_audit_rejects_bad_modes():
    with pytest.raises(_policy.PolicyError, match="loader must be one of auto, systemd, procps"):
        _policy.audit(loader="busybox")
    with pytest.raises(_policy.PolicyError, match="namespaces must be one of current, all"):
        _policy.audit(namespaces="some")


# -------------------------------------------------------------------------------------- finding ids


def test_clean_defaults_host_has_no_findings():
    assert _policy.findings(facts(), _policy.Policy()) == []


def test_missing_key():
    found = _policy.findings(facts(runtime={"time": None, "intvl": 75, "probes": 9}), _policy.Policy())
    assert ids(found) == [("missing_key", "time", None)]
    assert found[0].file == "/proc/sys/net/ipv4/tcp_keepalive_time"


def test_not_persisted_when_no_file_sets_the_runtime_value():
    found = _policy.findings(facts(runtime={"time": 600, "intvl": 75, "probes": 9}), _policy.Policy())
    assert ids(found) == [("not_persisted", "time", None)]
    assert "is 600 at runtime but no file persists it" in found[0].message
    assert "kernel default 7200" in found[0].message


def test_drift_names_the_file_that_sets_the_boot_value():
    model = model_with(Definition("time", "/etc/sysctl.d/50-ka.conf", 4, "300", 300))
    found = _policy.findings(
        facts(runtime={"time": 600, "intvl": 75, "probes": 9}, model=model), _policy.Policy()
    )
    assert ids(found) == [("drift", "time", None)]
    assert (found[0].file, found[0].line) == ("/etc/sysctl.d/50-ka.conf", 4)
    assert found[0].message == (
        "net.ipv4.tcp_keepalive_time is 600 at runtime but boot sets 300 at /etc/sysctl.d/50-ka.conf:4"
    )


def test_overridden_and_conflicting_definitions():
    model = model_with(
        Definition("time", "/etc/sysctl.d/10-app.conf", 2, "600", 600),
        Definition("time", "/etc/sysctl.conf", 7, "300", 300),
    )
    found = _policy.findings(
        facts(runtime={"time": 300, "intvl": 75, "probes": 9}, model=model), _policy.Policy()
    )
    assert ids(found) == [("overridden_at_boot", "time", None), ("conflicting_definitions", "time", None)]
    overridden, conflict = found
    assert (overridden.file, overridden.line) == ("/etc/sysctl.d/10-app.conf", 2)
    assert overridden.message == (
        "net.ipv4.tcp_keepalive_time = 600 at /etc/sysctl.d/10-app.conf:2 is "
        "overridden at boot by /etc/sysctl.conf:7 (value 300)"
    )
    assert (conflict.file, conflict.line) == ("/etc/sysctl.conf", 7)
    assert "600 at /etc/sysctl.d/10-app.conf:2, 300 at /etc/sysctl.conf:7" in conflict.message
    assert "boot uses 300 (set at /etc/sysctl.conf:7)" in conflict.message


def test_same_value_twice_is_neither_overridden_nor_conflicting():
    # Issue 11 item 7: an override with the same value changes nothing at boot, so it is no finding.
    model = model_with(
        Definition("time", "/etc/sysctl.d/10-app.conf", 1, "0600", 600),
        Definition("time", "/etc/sysctl.d/20-app.conf", 1, "600", 600),
    )
    found = _policy.findings(
        facts(runtime={"time": 600, "intvl": 75, "probes": 9}, model=model), _policy.Policy()
    )
    assert ids(found) == []


def test_definition_in_masked_file():
    mask = "/etc/sysctl.d/50-x.conf"
    masked = Definition("intvl", "/usr/lib/sysctl.d/50-x.conf", 1, "10", 10, masked_by=mask)
    model = model_with(masked, files=[ConfFile(path=mask), ConfFile(path=masked.file, masked_by=mask)])
    found = _policy.findings(facts(model=model), _policy.Policy())
    assert ids(found) == [("overridden_at_boot", "intvl", None)]
    assert (found[0].file, found[0].line) == ("/usr/lib/sysctl.d/50-x.conf", 1)
    assert found[0].message == (
        "net.ipv4.tcp_keepalive_intvl = 10 at /usr/lib/sysctl.d/50-x.conf:1 is never applied at boot: the "
        "file is masked by /etc/sysctl.d/50-x.conf (a same-named file in an earlier directory), so systemd "
        "never reads it; boot uses 75 (kernel default, no file sets it)"
    )


def test_masked_definition_neither_conflicts_nor_is_unparsable():
    mask, vendor = "/etc/sysctl.d/50-x.conf", "/usr/lib/sysctl.d/50-x.conf"
    live = Definition("time", mask, 1, "600", 600)
    bad = Definition("time", vendor, 1, "10m", None, masked_by=mask)
    other = Definition("time", vendor, 2, "300", 300, masked_by=mask)
    model = model_with(live, bad, other, files=[ConfFile(path=mask)])
    found = _policy.findings(
        facts(runtime={"time": 600, "intvl": 75, "probes": 9}, model=model), _policy.Policy()
    )
    # Masked lines are never read: no conflicting_definitions, no unparsable_line, one finding each.
    assert [(f.id, f.key, f.file, f.line) for f in found] == [
        ("overridden_at_boot", "time", "/usr/lib/sysctl.d/50-x.conf", 1),
        ("overridden_at_boot", "time", "/usr/lib/sysctl.d/50-x.conf", 2),
    ]
    assert all("boot uses 600 (set at /etc/sysctl.d/50-x.conf:1)" in f.message for f in found)


def test_unparsable_lines_and_non_integer_values():
    model = model_with(
        Definition("probes", "/etc/sysctl.d/60-x.conf", 3, "5 # five", None),
        unparsable=[("/etc/sysctl.d/60-x.conf", 9, "this is not a sysctl line")],
    )
    found = _policy.findings(facts(model=model), _policy.Policy())
    unparsable = [f for f in found if f.id == "unparsable_line"]
    assert [(f.key, f.line) for f in unparsable] == [(None, 9), ("probes", 3)]
    assert "'5 # five'" in unparsable[1].message and "not an integer" in unparsable[1].message
    assert unparsable[0].message == "cannot parse /etc/sysctl.d/60-x.conf:9: 'this is not a sysctl line'"


def test_unreadable_files_reported_once():
    model = BootModel(
        unreadable=[("/etc/sysctl.d/secret.conf", "Permission denied")],
        files=[
            ConfFile("/etc/sysctl.d/secret.conf", readable=False, error="Permission denied"),
            ConfFile("/run/sysctl.d/x.conf", readable=False, error="I/O error"),
        ],
    )
    found = _policy.findings(facts(model=model), _policy.Policy())
    assert [(f.id, f.file) for f in found] == [
        ("unreadable_file", "/etc/sysctl.d/secret.conf"),
        ("unreadable_file", "/run/sysctl.d/x.conf"),
    ]


def test_not_expected_runtime_and_boot():
    model = model_with(Definition("time", "/etc/sysctl.d/50-ka.conf", 1, "600", 600))
    policy = _policy.parse_policy({"time": 600, "probes": 5}, None)
    found = _policy.findings(facts(runtime={"time": 7200, "intvl": 75, "probes": 9}, model=model), policy)
    not_expected = [f for f in found if f.id == "not_expected"]
    assert [f.message for f in not_expected] == [
        "net.ipv4.tcp_keepalive_time is 7200 at runtime, expected 600",
        "net.ipv4.tcp_keepalive_probes is 9 at runtime, expected 5",
        "net.ipv4.tcp_keepalive_probes is 9 after boot (kernel default, no file sets it), expected 5",
    ]
    assert _policy.compliant(found, policy) is False


def test_detection_time_exceeded_runtime_and_boot():
    model = model_with(
        Definition("time", "/etc/sysctl.d/50-ka.conf", 1, "60", 60),
        Definition("intvl", "/etc/sysctl.d/50-ka.conf", 2, "10", 10),
        Definition("probes", "/etc/sysctl.d/50-ka.conf", 3, "3", 3),
    )
    policy = _policy.parse_policy(None, 100)
    found = _policy.findings(facts(runtime={"time": 60, "intvl": 10, "probes": 9}, model=model), policy)
    exceeded = [f for f in found if f.id == "detection_time_exceeded"]
    assert [f.message for f in exceeded] == [
        "a dead idle peer is detected after 150s at runtime (time 60 + intvl 10 * probes 9), more than "
        "max_detection_time 100s"
    ]
    assert _policy.compliant(found, policy) is False
    assert (
        _policy.compliant(
            _policy.findings(facts(runtime={"time": 60, "intvl": 10, "probes": 3}, model=model), policy),
            policy,
        )
        is True
    )


def _ns(inode, values, error=None, names=(), processes=()):
    return _policy.NamespaceReport(
        inode=inode,
        current=False,
        values=dict(values),
        error=error,
        names=list(names),
        processes=list(processes),
    )


def test_namespace_defaults_only_when_host_is_configured():
    container = _ns(
        4026532500, DEFAULTS, processes=[ProcessInfo(pid=42, comm="nginx", container_id="b" * 64)]
    )
    configured = facts(runtime={"time": 600, "intvl": 75, "probes": 9}, namespaces=[container])
    found = _policy.findings(configured, _policy.Policy())
    assert ids(found) == [("not_persisted", "time", None), ("namespace_defaults", None, 4026532500)]
    assert found[1].message.startswith(
        f"namespace 4026532500 (container {'b' * 12}) is still at the kernel defaults 7200/75/9"
    )
    assert "600/75/9" in found[1].message
    assert _policy.findings(facts(namespaces=[container]), _policy.Policy()) == []


def test_namespace_values_checked_against_policy_and_errors_reported():
    policy = _policy.parse_policy({"time": 600}, 1000)
    good = _ns(4026532600, {"time": 600, "intvl": 30, "probes": 3}, names=["blue"])
    bad = _ns(4026532601, {"time": 1200, "intvl": 30, "probes": 3}, names=["red"])
    broken = _ns(4026532602, {"time": None, "intvl": None, "probes": None}, error="cannot enter x: EPERM")
    partial = _ns(4026532603, {"time": 600, "intvl": 30, "probes": None})
    runtime = {"time": 600, "intvl": 30, "probes": 3}
    model = model_with(
        *(
            Definition(k, "/etc/sysctl.d/50-ka.conf", i, str(v), v)
            for i, (k, v) in enumerate(runtime.items(), 1)
        )
    )
    audit_facts = facts(runtime=runtime, model=model, namespaces=[good, bad, broken, partial])
    found = _policy.findings(audit_facts, policy)
    assert ids(found) == [
        ("not_expected", "time", 4026532601),
        ("detection_time_exceeded", None, 4026532601),
        ("namespace_unreadable", None, 4026532602),
        ("missing_key", "probes", 4026532603),
    ]
    assert found[0].message == (
        "net.ipv4.tcp_keepalive_time is 1200 at runtime in namespace 4026532601 (ip netns red), expected 600"
    )
    assert found[2].message == "namespace 4026532602 could not be read: cannot enter x: EPERM"
    assert _policy.compliant(found, policy) is False


def test_findings_order_is_stable():
    model = model_with(
        Definition("probes", "/etc/sysctl.d/b.conf", 1, "3", 3),
        Definition("probes", "/etc/sysctl.d/c.conf", 1, "4", 4),
        unparsable=[("/etc/sysctl.d/a.conf", 1, "x")],
    )
    runtime = {"time": None, "intvl": 9, "probes": 4}
    expected_order = [
        ("not_persisted", "intvl", None),
        ("overridden_at_boot", "probes", None),
        ("conflicting_definitions", "probes", None),
        ("unparsable_line", None, None),
        ("missing_key", "time", None),
    ]
    assert ids(_policy.findings(facts(runtime=runtime, model=model), _policy.Policy())) == expected_order
    model.unparsable.reverse()
    model.definitions["probes"].reverse()  # input order must not matter for the output order
    assert [f[0] for f in ids(_policy.findings(facts(runtime=runtime, model=model), _policy.Policy()))] == [
        e[0] for e in expected_order
    ]


def test_build_result_shape():
    model = model_with(Definition("time", "/etc/sysctl.d/50-ka.conf", 4, "600", 600))
    result = _policy.build_result(
        facts(runtime={"time": 600, "intvl": 75, "probes": 9}, model=model), _policy.Policy()
    )
    assert result["loader"] == {"name": "systemd", "reason": "test"}
    assert result["settings"]["time"]["boot_source"] == {"file": "/etc/sysctl.d/50-ka.conf", "line": 4}
    assert result["settings"]["time"]["boot"] == 600 and result["settings"]["time"]["drift"] is False
    assert result["settings"]["intvl"]["boot_source"] == "kernel_default"
    assert result["settings"]["intvl"]["kernel_default"] == 75 and result["settings"]["intvl"]["boot"] == 75
    assert result["settings"]["time"]["definitions"][0]["wins"] is True
    assert result["detection_time"] == {"runtime": 600 + 75 * 9, "boot": 600 + 75 * 9}
    assert result["namespaces"] == [
        {
            "inode": 4026531840,
            "current": True,
            "names": [],
            "processes": [],
            "values": {"time": 600, "intvl": 75, "probes": 9},
            "detection_time": 1275,
            "error": None,
        }
    ]
    assert result["findings"] == [] and result["compliant"] is None
