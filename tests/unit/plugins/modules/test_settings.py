"""Runs tcp.keepalive.settings main() on fixture trees (ROOT pointed at tmp_path) and reads its JSON."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_edit as edit
from ansible_collections.tcp.keepalive.plugins.modules import settings
from ansible_collections.tcp.keepalive.tests.unit.compat import (
    module_utils_internal as _module_utils_internal,
)
from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args

TIME = "net.ipv4.tcp_keepalive_time"
OURS = edit.DEFAULT_FILE


@pytest.fixture
def root(tmp_path, monkeypatch):
    ipv4 = tmp_path / "proc" / "sys" / "net" / "ipv4"
    ipv4.mkdir(parents=True)
    for key, value in (("time", 7200), ("intvl", 75), ("probes", 9)):
        (ipv4 / f"tcp_keepalive_{key}").write_text(f"{value}\n")
    monkeypatch.setattr(settings, "ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def as_on_a_managed_node(monkeypatch):
    """Module warnings go into the result only on a managed node: once any test in the session has imported
    controller code (ansible.inventory, ...), ansible marks the process as the controller and warn() prints
    through Display instead. Run main() as it runs on a managed node."""
    monkeypatch.setattr(_module_utils_internal, "is_controller", False)


def run(capsys, args: dict, check: bool = False, diff: bool = False) -> dict:
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit):
        settings.main()
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return json.loads(out)


def live(root) -> dict:
    ipv4 = root / "proc" / "sys" / "net" / "ipv4"
    return {key: int((ipv4 / f"tcp_keepalive_{key}").read_text()) for key in ("time", "intvl", "probes")}


def ours(root):
    return root / OURS.lstrip("/")


def test_present_sets_live_and_file_then_is_idempotent(root, capsys):
    result = run(capsys, {"time": 600, "intvl": 30, "probes": 4})
    assert result["changed"] is True and not result.get("failed")
    assert live(root) == {"time": 600, "intvl": 30, "probes": 4}
    assert result["live_before"] == {"time": 7200, "intvl": 75, "probes": 9}
    assert result["live_after"] == {"time": 600, "intvl": 30, "probes": 4}
    assert result["boot_before"] == {"time": None, "intvl": None, "probes": None}
    assert result["boot_after"] == {"time": 600, "intvl": 30, "probes": 4}
    assert result["files_changed"] == [OURS]
    assert ours(root).read_text() == edit.plan_set(None, {"time": 600, "intvl": 30, "probes": 4})
    assert stat.S_IMODE(os.stat(ours(root)).st_mode) == 0o644
    assert result["loader"]["name"] == "procps"
    again = run(capsys, {"time": 600, "intvl": 30, "probes": 4})
    assert again["changed"] is False and again["files_changed"] == []
    check_again = run(capsys, {"time": 600, "intvl": 30, "probes": 4}, check=True)
    assert check_again["changed"] is False


def test_check_mode_changes_nothing_and_diff_shows_everything(root, capsys):
    result = run(capsys, {"time": "0600", "probes": 4}, check=True, diff=True)
    assert result["changed"] is True
    assert live(root)["time"] == 7200 and not ours(root).exists()
    assert result["live_after"]["time"] == 600  # predicted
    live_diff, file_diff = result["diff"]
    assert live_diff["before"] == f"{TIME} = 7200\nnet.ipv4.tcp_keepalive_probes = 9\n"
    assert live_diff["after"] == f"{TIME} = 600\nnet.ipv4.tcp_keepalive_probes = 4\n"
    assert "live values" in live_diff["before_header"]
    assert file_diff["before_header"] == f"{OURS} (absent)" and file_diff["after_header"] == OURS
    assert f"{TIME} = 600\n" in file_diff["after"]
    assert "would be" in result["msg"]


def test_leading_zero_string_is_decimal_and_idempotent(root, capsys):
    run(capsys, {"time": 600})
    result = run(capsys, {"tcp_keepalive_time": "0600"})
    assert result["changed"] is False
    assert ours(root).read_text().count(TIME) == 1


def test_existing_file_edited_in_place_with_mode_kept(root, capsys):
    ours(root).parent.mkdir(parents=True)
    ours(root).write_text(
        f"# ops\nvm.swappiness = 10\nnet/ipv4/tcp_keepalive_time=7200 # default\n{TIME} = 1\n"
    )
    os.chmod(ours(root), 0o600)
    result = run(capsys, {"time": 900, "backup": True, "apply": False})
    assert result["changed"] is True
    text = ours(root).read_text()
    assert text.startswith("# ops\nvm.swappiness = 10\nnet/ipv4/tcp_keepalive_time=900 # default\n")
    assert f"# {TIME} = 1\n" in text  # the duplicate is commented out, not lost
    assert stat.S_IMODE(os.stat(ours(root)).st_mode) == 0o600
    backup = result["backup_file"]
    assert os.path.exists(backup) and "=7200 # default" in Path(backup).read_text()
    assert live(root)["time"] == 7200  # apply=false


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"time": 0}, "time must be an integer from 1 to 32767"),
        ({"time": -5}, "time must be an integer from 1 to 32767"),
        ({"intvl": "abc"}, "intvl must be an integer from 1 to 32767"),
        ({"intvl": 1.5}, "intvl must be an integer from 1 to 32767"),
        ({"time": 32768}, "time must be an integer from 1 to 32767"),
        ({"probes": 128}, "probes must be an integer from 1 to 127"),
        ({"probes": ""}, "probes must be an integer from 1 to 127"),
        ({"probes": True}, "probes must be an integer from 1 to 127"),
        ({"time": 600, "probes": 0}, "probes must be an integer from 1 to 127"),
        ({}, "needs at least one of time, intvl, probes"),
        ({"time": 600, "on_conflict": "ignore"}, "on_conflict"),
        ({"time": 600, "file": "sysctl.d/60-tcp-keepalive.conf"}, "file must be an absolute path"),
        # "a string of digits" (issue 12): no sign, blank, newline, exponent, underscore, float or huge number
        ({"time": "+600"}, "time must be an integer from 1 to 32767"),
        ({"time": "600\n"}, "time must be an integer from 1 to 32767"),
        ({"time": " 600"}, "time must be an integer from 1 to 32767"),
        ({"time": "6e2"}, "time must be an integer from 1 to 32767"),
        ({"time": "6_00"}, "time must be an integer from 1 to 32767"),
        ({"time": "nan"}, "time must be an integer from 1 to 32767"),
        ({"time": 600.0}, "time must be an integer from 1 to 32767"),
        ({"time": 10**30}, "time must be an integer from 1 to 32767"),
        ({"time": "9" * 5000}, "time must be an integer from 1 to 32767"),
        ({"time": "\u0663\u0660\u0660"}, "time must be an integer from 1 to 32767"),  # Arabic-Indic 300
        ({"intvl": [600]}, "intvl must be an integer from 1 to 32767"),
        ({"probes": {"value": 5}}, "probes must be an integer from 1 to 127"),
        ({"time": 600, "file": "/etc/sysctl.d/a\0b.conf"}, "file must not contain a NUL byte"),
        ({"time": 600, "file": "/etc/sysctl.d/"}, "file must name a file"),
    ],
)
def test_bad_input_fails_cleanly_and_changes_nothing(root, capsys, args, needle):
    result = run(capsys, args)
    assert result["failed"] is True
    assert needle in result["msg"]
    assert live(root) == {"time": 7200, "intvl": 75, "probes": 9}
    assert not ours(root).exists()


def test_conflict_fail_changes_nothing(root, capsys):
    later = root / "etc" / "sysctl.d" / "99-tuning.conf"
    later.parent.mkdir(parents=True)
    later.write_text(f"{TIME} = 7200\n")
    result = run(capsys, {"time": 600})
    assert result["failed"] is True
    assert "/etc/sysctl.d/99-tuning.conf line 1" in result["msg"]
    assert result["conflicts"][0]["action"] == "failed"
    assert result["files_changed"] == []
    assert live(root)["time"] == 7200 and not ours(root).exists()


def test_conflict_comment_out_with_backup(root, capsys):
    later = root / "etc" / "sysctl.d" / "99-tuning.conf"
    later.parent.mkdir(parents=True)
    later.write_text(f"vm.a = 1\n{TIME} = 7200\n")
    result = run(capsys, {"time": 600, "on_conflict": "comment_out", "backup": True})
    assert result["changed"] is True and not result.get("failed")
    assert result["conflicts"][0]["action"] == "commented_out"
    assert sorted(result["files_changed"]) == [OURS, "/etc/sysctl.d/99-tuning.conf"]
    assert later.read_text().startswith("vm.a = 1\n# tcp.keepalive disabled the next line")
    backup = result["backup_files"]["/etc/sysctl.d/99-tuning.conf"]
    assert Path(backup).read_text() == f"vm.a = 1\n{TIME} = 7200\n"
    assert result["boot_after"]["time"] == 600
    assert run(capsys, {"time": 600, "on_conflict": "comment_out"})["changed"] is False


def test_conflict_warn(root, capsys):
    later = root / "etc" / "sysctl.d" / "99-tuning.conf"
    later.parent.mkdir(parents=True)
    later.write_text(f"{TIME} = 7200\n")
    result = run(capsys, {"time": 600, "on_conflict": "warn"})
    assert result["changed"] is True
    assert result["boot_after"]["time"] == 7200
    assert any("would win at boot" in str(w) for w in result["warnings"])


def test_absent_removes_file_and_leaves_live(root, capsys):
    run(capsys, {"time": 600})
    result = run(capsys, {"state": "absent"}, diff=True)
    assert result["changed"] is True and not ours(root).exists()
    assert live(root)["time"] == 600
    assert "live values are left unchanged" in result["msg"]
    assert result["diff"][0]["after_header"] == f"{OURS} (removed)"
    assert run(capsys, {"state": "absent"})["changed"] is False


def test_read_only_proc_sys_names_apply_false(root, capsys, monkeypatch):
    # Stand-in for a read-only /proc/sys mount (the real one is exercised in tests/integration).
    monkeypatch.setattr(settings, "writable", lambda key, root: f"cannot write {key}: use `apply: false`")
    result = run(capsys, {"time": 600})
    assert result["failed"] is True and "apply: false" in result["msg"]
    assert not ours(root).exists()


def test_persist_false_only_live(root, capsys):
    result = run(capsys, {"time": 600, "persist": False})
    assert result["changed"] is True and live(root)["time"] == 600 and not ours(root).exists()
    assert any("lasts until reboot" in str(w) for w in result["warnings"])


def test_digit_string_is_read_as_decimal(root, capsys):
    result = run(capsys, {"time": "0600", "intvl": "30"})
    assert not result.get("failed") and live(root)["time"] == 600 and live(root)["intvl"] == 30


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket", "symlink_to_fifo"])
def test_non_regular_file_refused_by_name_without_opening_it(root, capsys, kind):
    directory = root / "etc" / "sysctl.d"
    directory.mkdir(parents=True)
    special = directory / "special"
    if kind == "directory":
        special.mkdir()
    elif kind == "socket":
        import socket

        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(special))
    else:
        os.mkfifo(special)  # opening it for reading would block the module for ever
    target = special
    if kind == "symlink_to_fifo":
        target = directory / "60-tcp-keepalive.conf"
        target.symlink_to("special")
    result = run(capsys, {"time": 600, "file": "/" + str(target.relative_to(root))})
    assert result["failed"] is True
    assert "/etc/sysctl.d/special" in result["msg"] and "not a regular file" in result["msg"]
    words = {"fifo": "FIFO", "symlink_to_fifo": "FIFO", "directory": "directory", "socket": "socket"}
    assert words[kind] in result["msg"]
    assert live(root)["time"] == 7200


def test_symlink_to_a_regular_file_is_followed(root, capsys):
    directory = root / "etc" / "sysctl.d"
    directory.mkdir(parents=True)
    (directory / "real.conf").write_text("vm.a = 1\n")
    ours(root).symlink_to("real.conf")
    result = run(capsys, {"time": 600})
    assert not result.get("failed") and result["file"] == "/etc/sysctl.d/real.conf"
    assert ours(root).is_symlink() and f"{TIME} = 600" in (directory / "real.conf").read_text()


def test_atomic_move_failure_is_a_named_error(root, capsys, monkeypatch):
    """ansible-core's atomic_move raises a bare Exception when rename and copy both fail (chattr +i; the real
    immutable file is in tests/integration/test_hostile_input.py): the module names the path instead."""

    def refuse(self, src, dest, unsafe_writes=False, keep_dest_attrs=True):
        raise Exception(f"Could not replace file: {src} to {dest}: [Errno 1] Operation not permitted")

    monkeypatch.setattr(settings.AnsibleModule, "atomic_move", refuse)
    result = run(capsys, {"time": 600})
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot write {OURS}: Could not replace file")
    assert not ours(root).exists() and live(root)["time"] == 7200
    assert not list(ours(root).parent.iterdir())  # the temporary file is gone too


def test_lock_is_taken_and_removed_check_mode_leaves_nothing(root, capsys):
    lock_dir = root / "run" / "lock"
    lock_dir.mkdir(parents=True)
    run(capsys, {"time": 600}, check=True)
    assert list(lock_dir.iterdir()) == [] and not ours(root).exists()
    run(capsys, {"time": 600})
    assert list(lock_dir.iterdir()) == []


def test_a_held_lock_makes_the_module_wait_then_fail_by_name(root, capsys, monkeypatch):
    import fcntl

    lock_dir = root / "run" / "lock"
    lock_dir.mkdir(parents=True)
    lock_path = lock_dir / settings.LOCK_NAME
    monkeypatch.setattr(settings, "LOCK_TIMEOUT", 0.2)
    with open(lock_path, "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        result = run(capsys, {"time": 600})
    assert result["failed"] is True and str(lock_path) in result["msg"] and "held" in result["msg"]
    assert live(root)["time"] == 7200 and not ours(root).exists()


def test_a_foreign_lock_file_is_refused(root, capsys):
    lock_dir = root / "run" / "lock"
    lock_dir.mkdir(parents=True)
    (lock_dir / settings.LOCK_NAME).symlink_to("/etc/passwd")
    result = run(capsys, {"time": 600})
    assert result["failed"] is True and "lock file" in result["msg"]
    assert live(root)["time"] == 7200
