"""The shared vocabulary: integer parsing, detection time, finding shape, cgroup ownership."""

from __future__ import annotations

import re

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils._cgroup import parse_cgroup, read_cgroup
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    FINDING_SCOPES,
    FINDING_SEVERITY,
    FINDINGS,
    SEVERITIES,
    Finding,
    detection_time,
    parse_int,
)

DOCKER_ID = "16a2e1a9bacaf9e2cef566b8204f0790d7337b19f2747c56bd6740695a23f6d5"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("600", 600),
        (" 600 ", 600),
        ("0600", 600),
        ("+5", 5),
        ("-3", -3),
        (42, 42),
        ("", None),
        ("+", None),
        ("6e2", None),
        ("1.5", None),
        (True, None),
        (None, None),
        ("٣", None),
    ],
)
def test_parse_int_reads_user_input_as_decimal(raw, expected):
    assert parse_int(raw) == expected


def test_detection_time_is_time_plus_intvl_times_probes():
    assert detection_time(7200, 75, 9) == 7875
    assert detection_time(2, 1, 3) == 5
    assert detection_time(600, None, 5) is None


def test_finding_defaults_its_severity_from_the_registry_and_merges_extra():
    finding = Finding(id="ghost_candidate", message="m", extra={"pid": 7}).as_dict()
    assert finding["severity"] == "high"
    assert finding["pid"] == 7
    assert set(FINDING_SEVERITY.values()) <= set(SEVERITIES)


def test_every_finding_id_has_a_severity_a_check_and_a_scope():
    # The checks are the controller's (_checks.CHECKS): tests/unit/plugins/plugin_utils checks them there,
    # module_utils does not import plugin_utils.
    assert FINDINGS, "the findings table is empty"
    for fid, kind in FINDINGS.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", fid), fid
        assert kind.severity in SEVERITIES, fid
        assert kind.scope in FINDING_SCOPES, fid
        assert isinstance(kind.check, str) and re.fullmatch(r"[a-z_]+", kind.check), fid
        assert kind.boot_check is None or re.fullmatch(r"[a-z_]+", kind.boot_check), fid
    assert list(FINDING_SEVERITY.items()) == [(fid, kind.severity) for fid, kind in FINDINGS.items()]


def test_cgroup_v2_systemd_service():
    info = parse_cgroup("0::/system.slice/nginx.service\n")
    assert (info.unit, info.container_id) == ("nginx.service", None)


def test_cgroup_v2_docker_scope_gives_container_not_unit():
    info = parse_cgroup(f"0::/system.slice/docker-{DOCKER_ID}.scope\n")
    assert (info.unit, info.container_id) == (None, DOCKER_ID)


def test_cgroup_v1_hybrid_docker_path():
    text = f"12:net_cls,net_prio:/docker/{DOCKER_ID}\n1:name=systemd:/docker/{DOCKER_ID}\n0::/\n"
    info = parse_cgroup(text)
    assert info.container_id == DOCKER_ID
    assert info.paths["net_cls,net_prio"] == f"/docker/{DOCKER_ID}"


def test_cgroup_v1_systemd_unit_and_kubernetes_crio():
    assert parse_cgroup("1:name=systemd:/system.slice/ssh.service\n0::/\n").unit == "ssh.service"
    pod = f"0::/kubepods.slice/kubepods-pod1.slice/crio-{DOCKER_ID}.scope\n"
    assert parse_cgroup(pod).container_id == DOCKER_ID


def test_cgroup_user_session_scope_is_the_unit():
    assert parse_cgroup("0::/user.slice/user-0.slice/session-3.scope\n").unit == "session-3.scope"


def test_read_cgroup_on_a_fixture_tree_and_a_vanished_pid(tmp_path):
    (tmp_path / "proc" / "42").mkdir(parents=True)
    (tmp_path / "proc" / "42" / "cgroup").write_text("0::/system.slice/redis-server.service\n")
    assert read_cgroup(42, root=str(tmp_path)).unit == "redis-server.service"
    assert read_cgroup(43, root=str(tmp_path)) is None


# ---- the collection's dataclass: what the standard library's gives, for what the collection uses -----------
def _pair(frozen=False):
    """The same two classes built by the standard library's dataclass and by ours."""
    import dataclasses

    from ansible_collections.tcp.keepalive.plugins.module_utils import _common

    built = []
    for module in (dataclasses, _common):

        @module.dataclass(frozen=frozen)
        class Base:
            name: str
            count: int = 0
            tags: list = module.field(default_factory=list)

        @module.dataclass(frozen=frozen)
        class Child(Base):
            extra: dict = module.field(default_factory=dict)
            hidden: object = module.field(default=None, repr=False, compare=False)
            count: int = 5  # redefined: keeps its place, takes the new default

        built.append(Child)
    return built


@pytest.mark.parametrize("frozen", [False, True])
def test_dataclass_behaves_as_the_standard_library_one(frozen):
    import inspect

    stdlib, ours = _pair(frozen)

    def parameters(cls):  # name, and the default unless it is a factory's placeholder
        return [
            (p.name, "factory" if repr(p.default) in ("<factory>", "MISSING") else p.default)
            for p in inspect.signature(cls).parameters.values()
        ]

    assert parameters(ours) == parameters(stdlib)
    for args, kwargs in [(("a",), {}), (("a", 2, ["x"]), {"extra": {"k": 1}, "hidden": 7})]:
        theirs, mine = stdlib(*args, **kwargs), ours(*args, **kwargs)
        assert [getattr(mine, n) for n in ("name", "count", "tags", "extra", "hidden")] == [
            getattr(theirs, n) for n in ("name", "count", "tags", "extra", "hidden")
        ]
        assert repr(mine).replace(ours.__qualname__, "X") == repr(theirs).replace(stdlib.__qualname__, "X")
    assert ours("a") == ours("a", hidden="ignored") and ours("a") != ours("b") and ours("a") != stdlib("a")
    assert ours("a").tags is not ours("a").tags  # a fresh default per instance
    assert ours.count == 5 and not hasattr(ours, "tags")  # class attributes as dataclasses leaves them
    if frozen:
        for cls in (stdlib, ours):  # the compared fields, hidden left out
            assert hash(cls("a", 1, (), extra=())) == hash(cls("a", 1, (), extra=(), hidden=1))
        with pytest.raises(AttributeError, match="cannot assign to field 'name'"):
            ours("a").name = "b"
        with pytest.raises(AttributeError):
            del ours("a").name
    else:
        assert ours.__hash__ is None and stdlib.__hash__ is None  # eq without frozen: unhashable
        instance = ours("a")
        instance.count = 3
        assert instance.count == 3


def test_dataclass_refuses_what_the_standard_library_refuses():
    from ansible_collections.tcp.keepalive.plugins.module_utils._common import dataclass

    with pytest.raises(SyntaxError):  # dataclasses: TypeError; both refuse the class

        @dataclass
        class Bad:
            first: int = 0
            second: int
