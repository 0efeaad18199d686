"""Unit tests for the drop-in editing helpers and persist planning of _sysctl_edit."""

from __future__ import annotations

import os

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_edit as edit
from ansible_collections.tcp.keepalive.tests.unit.sysctl_tree import write

TIME = "net.ipv4.tcp_keepalive_time"
INTVL = "net.ipv4.tcp_keepalive_intvl"
PROBES = "net.ipv4.tcp_keepalive_probes"
OURS = edit.DEFAULT_FILE


def live_lines(text: str) -> list[str]:
    return [p.raw for p in conf.parse_text(text) if p.kind == "assignment"]


# --- plan_set ------------------------------------------------------------------------------------------
def test_new_file_gets_header_and_keys_in_order():
    text = edit.plan_set(None, {"probes": 5, "time": 600})
    assert text == f"{edit.MANAGED_HEADER}\n{TIME} = 600\n{PROBES} = 5\n"


def test_update_in_place_keeps_everything_else():
    before = (
        "# tuning for the proxies\n"
        "\n"
        "vm.swappiness = 10\n"
        "net/ipv4/tcp_keepalive_time=7200\n"
        "; a comment with ; style\n"
        "  -net.ipv4.tcp_keepalive_intvl   =   75   \n"
        "kernel.pid_max = 4194304\n"
    )
    after = edit.plan_set(before, {"time": 600, "intvl": 30})
    assert after == (
        "# tuning for the proxies\n"
        "\n"
        "vm.swappiness = 10\n"
        "net/ipv4/tcp_keepalive_time=600\n"
        "; a comment with ; style\n"
        "  -net.ipv4.tcp_keepalive_intvl   =   30   \n"
        "kernel.pid_max = 4194304\n"
    )


def test_duplicates_first_updated_later_commented_never_dropped():
    before = f"{TIME} = 100\nvm.a = 1\n{TIME}=200\nnet/ipv4/tcp_keepalive_time = 300\n"
    after = edit.plan_set(before, {"time": 600})
    assert live_lines(after) == [f"{TIME} = 600", "vm.a = 1"]
    # The later duplicates survive as comments, each under a marker line.
    assert f"# {TIME}=200\n" in after and "# net/ipv4/tcp_keepalive_time = 300\n" in after
    assert after.count(edit.DISABLED_MARKER) == 2
    # And the model agrees there is exactly one live definition, with our value.
    parsed = [p for p in conf.parse_text(after) if p.kind == "assignment" and p.keys == ("time",)]
    assert len(parsed) == 1 and conf.kernel_int(parsed[0].value) == 600


def test_inline_note_after_number_is_kept():
    after = edit.plan_set(f"{TIME} = 7200 # two hours, kernel default\n", {"time": 600})
    assert after == f"{TIME} = 600 # two hours, kernel default\n"


def test_leading_zero_in_file_is_octal_so_it_is_rewritten():
    # The kernel reads "0600" as 384: asking for 600 must change the file.
    assert edit.plan_set(f"{TIME} = 0600\n", {"time": 600}) == f"{TIME} = 600\n"
    # ...and asking for 384 leaves it alone (that is what the kernel already gets).
    assert edit.plan_set(f"{TIME} = 0600\n", {"time": 384}) == f"{TIME} = 0600\n"


@pytest.mark.parametrize(
    "before",
    [
        None,
        "",
        "vm.a = 1",  # no trailing newline
        f"# c\n{TIME} = 1\n{TIME} = 2\n",
        "net.ipv4.tcp_keepalive_* = 5\r\nvm.a = 1\r\n",
    ],
)
def test_plan_set_is_idempotent(before):
    values = {"time": 600, "intvl": 30, "probes": 4}
    once = edit.plan_set(before, values)
    assert edit.plan_set(once, values) == once
    for parsed in conf.parse_text(before or ""):
        if parsed.kind != "assignment" or parsed.glob:
            assert parsed.raw in once  # comments, blank lines, other keys, globs: kept as they are
    explicit = [p for p in conf.parse_text(once) if p.kind == "assignment" and not p.glob and p.keys]
    assert sorted((p.keys[0], conf.kernel_int(p.value)) for p in explicit) == [
        ("intvl", 30),
        ("probes", 4),
        ("time", 600),
    ]


def test_missing_trailing_newline_and_crlf_preserved():
    assert edit.plan_set("vm.a = 1", {"time": 5}) == f"vm.a = 1\n{TIME} = 5\n"
    assert edit.plan_set("vm.a = 1\r\n", {"time": 5}) == f"vm.a = 1\r\n{TIME} = 5\r\n"


def test_globs_and_exclusions_are_left_alone():
    before = "net.ipv4.tcp_keepalive_* = 5\n-net.ipv4.tcp_keepalive_probes\n"
    assert edit.plan_set(before, {"time": 9}) == before + f"{TIME} = 9\n"


# --- plan_remove / comment_out -------------------------------------------------------------------------
def test_remove_keeps_other_lines():
    before = f"# mine\n{TIME} = 1\nvm.a = 1\nnet/ipv4/tcp_keepalive_time=2\n{INTVL} = 3\n"
    assert edit.plan_remove(before, ["time"]) == f"# mine\nvm.a = 1\n{INTVL} = 3\n"


def test_remove_deletes_file_with_only_header_left():
    ours = edit.plan_set(None, {"time": 1, "intvl": 2, "probes": 3})
    assert edit.plan_remove(ours, conf.KEYS) is None
    assert edit.plan_remove(None, conf.KEYS) is None
    # A user comment keeps the file.
    assert edit.plan_remove(ours + "# keep me\n", conf.KEYS) == f"{edit.MANAGED_HEADER}\n# keep me\n"


def test_comment_out_marks_only_assignments():
    text = f"# c\n{TIME} = 1\nvm.a = 2\n"
    after = edit.comment_out(text, [1, 2], "managed elsewhere")
    assert after == f"# c\n{edit.DISABLED_MARKER}managed elsewhere\n# {TIME} = 1\nvm.a = 2\n"
    assert edit.comment_out(after, [3], "again") == after  # line 3 is now a comment


def test_editable_only_under_etc():
    assert edit.editable("/etc/sysctl.d/99-x.conf")
    assert edit.editable("/etc/sysctl.conf")
    for path in ("/usr/lib/sysctl.d/a.conf", "/run/sysctl.d/a.conf", "/lib/sysctl.d/a.conf", "/etcetera/a"):
        assert not edit.editable(path)


# --- plan_persist ----------------------------------------------------------------------------------------
def plan(root, values, on_conflict="fail", loader="procps", file=OURS, state="present", keys=None):
    return edit.plan_persist(str(root), loader, file, values, state, on_conflict, keys)


def test_plan_new_file_no_conflict(tmp_path):
    result = plan(tmp_path, {"time": 600})
    assert result.error is None and result.conflicts == []
    assert result.boot_before["time"] is None and result.boot_after["time"] == 600
    assert list(result.edits) == [OURS]
    assert result.edits[OURS][0] is None
    assert not (tmp_path / OURS.lstrip("/")).exists()  # planning writes nothing


def test_plan_unchanged_when_already_right(tmp_path):
    write(tmp_path, OURS, f"{TIME} = 600\n")
    result = plan(tmp_path, {"time": 600})
    assert result.edits == {} and result.boot_before == result.boot_after


@pytest.mark.parametrize("loader", conf.LOADERS)
def test_later_file_fails_naming_file_and_line(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/99-tuning.conf", f"vm.a = 1\n{TIME} = 7200\n")
    result = plan(tmp_path, {"time": 600}, loader=loader)
    assert result.error and "/etc/sysctl.d/99-tuning.conf line 2" in result.error
    assert [c.as_dict() for c in result.conflicts] == [
        {
            "key": "time",
            "file": "/etc/sysctl.d/99-tuning.conf",
            "line": 2,
            "value": "7200",
            "action": "failed",
            "reason": result.conflicts[0].reason,
        }
    ]


def test_earlier_file_is_not_a_conflict(tmp_path):
    write(tmp_path, "/usr/lib/sysctl.d/10-vendor.conf", f"{TIME} = 7200\n")
    result = plan(tmp_path, {"time": 600})
    assert result.error is None and result.conflicts == [] and result.boot_after["time"] == 600


def test_later_file_with_same_value_is_not_a_conflict(tmp_path):
    write(tmp_path, "/etc/sysctl.d/99-tuning.conf", f"{TIME} = 600\n")
    assert plan(tmp_path, {"time": 600}).conflicts == []


def test_procps_sysctl_conf_wins_last(tmp_path):
    write(tmp_path, "/etc/sysctl.conf", f"{INTVL} = 75\n")
    procps = plan(tmp_path, {"intvl": 30}, loader="procps")
    assert procps.error and procps.conflicts[0].file == "/etc/sysctl.conf"
    systemd = plan(tmp_path, {"intvl": 30}, loader="systemd")  # no 99-sysctl.conf symlink: not read
    assert systemd.error is None and systemd.boot_after["intvl"] == 30


def test_warn_goes_ahead(tmp_path):
    write(tmp_path, "/etc/sysctl.d/99-tuning.conf", f"{TIME} = 7200\n")
    result = plan(tmp_path, {"time": 600}, on_conflict="warn")
    assert result.error is None
    assert result.conflicts[0].action == "warned"
    assert "would win at boot" in result.warnings[0]
    assert result.boot_after["time"] == 7200  # honest: the other file still wins
    assert list(result.edits) == [OURS]


def test_comment_out_edits_etc_files_until_ours_wins(tmp_path):
    write(tmp_path, "/etc/sysctl.d/80-a.conf", f"{TIME} = 100\nvm.a = 1\n")
    write(tmp_path, "/etc/sysctl.d/90-b.conf", f"{TIME} = 200\n")
    write(tmp_path, "/etc/sysctl.conf", f"{TIME} = 300\n")
    result = plan(tmp_path, {"time": 600}, on_conflict="comment_out")
    assert result.error is None
    assert result.boot_after["time"] == 600
    assert sorted(c.file for c in result.conflicts) == [
        "/etc/sysctl.conf",
        "/etc/sysctl.d/80-a.conf",
        "/etc/sysctl.d/90-b.conf",
    ]
    assert {c.action for c in result.conflicts} == {"commented_out"}
    before, after = result.edits["/etc/sysctl.d/80-a.conf"]
    assert before == f"{TIME} = 100\nvm.a = 1\n"
    assert live_lines(after) == ["vm.a = 1"] and f"# {TIME} = 100" in after


@pytest.mark.parametrize("vendor", ["/usr/lib/sysctl.d/99-vendor.conf", "/run/sysctl.d/99-vendor.conf"])
def test_comment_out_refuses_vendor_and_run(tmp_path, vendor):
    write(tmp_path, "/etc/sysctl.d/80-a.conf", f"{TIME} = 100\n")
    write(tmp_path, vendor, f"{TIME} = 200\n")
    result = plan(tmp_path, {"time": 600}, on_conflict="comment_out")
    assert result.error and vendor in result.error and "only edits files under /etc" in result.error
    assert any(c.action == "not_editable" and c.file == vendor for c in result.conflicts)


def test_masked_file_fails_and_warn_reports(tmp_path):
    os.makedirs(tmp_path / "etc" / "sysctl.d")
    os.symlink("/dev/null", tmp_path / "etc" / "sysctl.d" / "60-tcp-keepalive.conf")
    result = plan(tmp_path, {"time": 600}, file="/usr/lib/sysctl.d/60-tcp-keepalive.conf")
    assert result.error and "masked by /etc/sysctl.d/60-tcp-keepalive.conf" in result.error
    assert result.conflicts[0].line is None
    warned = plan(tmp_path, {"time": 600}, file="/usr/lib/sysctl.d/60-tcp-keepalive.conf", on_conflict="warn")
    assert warned.error is None and "masked" in warned.warnings[0]


def test_file_as_dev_null_symlink_cannot_be_edited(tmp_path):
    os.makedirs(tmp_path / "etc" / "sysctl.d")
    os.symlink("/dev/null", tmp_path / "etc" / "sysctl.d" / "60-tcp-keepalive.conf")
    result = plan(tmp_path, {"time": 600})
    assert result.error and "/dev/null" in result.error and result.edits == {}


def test_file_not_read_at_boot_warns(tmp_path):
    result = plan(tmp_path, {"time": 600}, file="/opt/keepalive.conf")
    assert result.error is None
    assert "not read at boot" in result.warnings[0]
    assert result.boot_after["time"] is None


def test_symlinked_file_edits_its_target(tmp_path):
    write(tmp_path, "/etc/sysctl.conf", "vm.a = 1\n")
    os.makedirs(tmp_path / "etc" / "sysctl.d")
    os.symlink("../sysctl.conf", tmp_path / "etc" / "sysctl.d" / "99-sysctl.conf")
    result = plan(tmp_path, {"time": 600}, file="/etc/sysctl.d/99-sysctl.conf", loader="systemd")
    assert result.target == "/etc/sysctl.conf"
    assert list(result.edits) == ["/etc/sysctl.conf"]
    assert result.boot_after["time"] == 600


def test_absent_removes_and_deletes(tmp_path):
    write(tmp_path, OURS, edit.plan_set(None, {"time": 600, "probes": 4}))
    partial = plan(tmp_path, {}, state="absent", keys=["time"])
    assert partial.edits[OURS][1] == f"{edit.MANAGED_HEADER}\n{PROBES} = 4\n"
    assert partial.boot_after == {"time": None, "intvl": None, "probes": 4}
    full = plan(tmp_path, {}, state="absent")
    assert full.edits[OURS][1] is None
    assert plan(tmp_path / "empty", {}, state="absent").edits == {}


def test_comment_out_round_then_vendor_conflict_writes_nothing(tmp_path):
    # Commenting out the /etc line reveals a vendor line read before it: fail, and say nothing was changed.
    write(tmp_path, "/etc/sysctl.d/80-a.conf", f"{TIME} = 100\n")
    write(tmp_path, "/usr/lib/sysctl.d/90-vendor.conf", f"{TIME} = 200\n")
    write(tmp_path, "/etc/sysctl.d/95-b.conf", f"{TIME} = 300\n")
    result = plan(tmp_path, {"time": 600}, on_conflict="comment_out")
    assert result.error and "/usr/lib/sysctl.d/90-vendor.conf" in result.error
    actions = {(c.file, c.action) for c in result.conflicts}
    assert actions == {
        ("/etc/sysctl.d/95-b.conf", "not_changed"),
        ("/usr/lib/sysctl.d/90-vendor.conf", "not_editable"),
    }
