# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every bad option of settings, settings_info, timer_info and the configure role is a named failure.

Issue 12, "Shown by".

Each case runs the real module file as a process (python module.py args.json, as Ansible does on a node), so
a traceback would show, inside one private network + mount namespace: a loop-mounted ext4 image over
/etc/sysctl.d (tmpfs has no chattr attributes), tmpfs over the other sysctl.d directories and /run/lock, an
empty file bound over /etc/sysctl.conf. After each case the test compares a snapshot of those trees (type,
mode, content or link target of every entry) and the live values with the ones taken before the first case:
a failure must leave both byte-identical. The host's files and values are checked unchanged at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_collections.tcp.keepalive.plugins as plugins_pkg
import pytest

pytestmark = pytest.mark.netns

PLUGINS = Path(list(plugins_pkg.__path__)[0])
MODULES = PLUGINS / "modules"
COLLECTIONS_ROOT = str(PLUGINS.parents[3])
KEYS = ("time", "intvl", "probes")
OURS = "/etc/sysctl.d/60-tcp-keepalive.conf"
SEED = "# ops\nvm.swappiness = 10\nnet.ipv4.tcp_keepalive_time = 900 # keep\n"
OTHER_DIRS = ("/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/run/lock")
HUGE = 10**30
RANGE = "must be an integer from"

# (name, args, text the msg must contain)
SETTINGS_CASES = [
    ("time_plus", {"time": "+600"}, "time " + RANGE),
    ("time_newline", {"time": "600\n"}, "time " + RANGE),
    ("time_blank", {"time": " 600"}, "time " + RANGE),
    ("time_exponent", {"time": "6e2"}, "time " + RANGE),
    ("time_true", {"time": True}, "time " + RANGE),
    ("time_float", {"time": 1.5}, "time " + RANGE),
    ("time_negative", {"time": -1}, "time " + RANGE),
    ("time_zero", {"time": 0}, "time " + RANGE),
    ("time_huge", {"time": HUGE}, "time " + RANGE),
    ("time_long_digits", {"time": "9" * 5000}, "time " + RANGE),
    ("time_nan", {"time": "nan"}, "time " + RANGE),
    ("time_nul", {"time": "600\x00"}, "time " + RANGE),
    ("time_empty", {"time": ""}, "time " + RANGE),
    ("time_list_null", {"time": [None]}, "time " + RANGE),
    ("time_dict", {"time": {}}, "time " + RANGE),
    ("intvl_huge", {"intvl": 32768}, "intvl " + RANGE),
    ("probes_128", {"probes": 128}, "probes " + RANGE),
    ("probes_ok_time_bad", {"probes": 5, "time": "x"}, "time " + RANGE),
    ("nothing", {}, "needs at least one of time, intvl, probes"),
    ("state_unknown", {"time": 600, "state": "gone"}, "state"),
    ("on_conflict_unknown", {"time": 600, "on_conflict": "ignore"}, "on_conflict"),
    ("loader_unknown", {"time": 600, "loader": "busybox"}, "loader"),
    ("persist_not_bool", {"time": 600, "persist": "perhaps"}, "persist"),
    ("apply_not_bool", {"time": 600, "apply": [None]}, "apply"),
    ("backup_not_bool", {"time": 600, "backup": "2"}, "backup"),
    ("unknown_option", {"time": 600, "tiem": 600}, "tiem"),
    ("file_relative", {"time": 600, "file": "sysctl.d/x.conf"}, "file must be an absolute path"),
    ("file_empty", {"time": 600, "file": ""}, "file"),
    ("file_nul", {"time": 600, "file": "/etc/sysctl.d/a\x00b.conf"}, "file must not contain a NUL byte"),
    ("file_directory", {"time": 600, "file": "/etc/sysctl.d"}, "/etc/sysctl.d is a directory"),
    ("file_dev_null", {"time": 600, "file": "/dev/null"}, "/dev/null"),
    ("file_dot_dot", {"time": 600, "file": "/etc/sysctl.d/.."}, "file must name a file"),
    ("file_proc", {"time": 600, "file": "/proc/sys/net/ipv4/tcp_keepalive_time"}, "not a path under /proc"),
    ("file_sys", {"time": 600, "file": "/sys/kernel/x.conf"}, "not a path under /sys"),
    ("file_under_a_file", {"time": 600, "file": OURS + "/x.conf"}, f"{OURS}/x.conf cannot be examined"),
]
# File-system conditions on the ext4 image: (name, shell before, args, needle, shell after); the snapshot
# is taken after "after" has undone the condition.
CONDITIONS = [
    (
        "fifo",
        "mkfifo /etc/sysctl.d/70-fifo.conf",
        {"time": 600, "file": "/etc/sysctl.d/70-fifo.conf"},
        "/etc/sysctl.d/70-fifo.conf is a FIFO",
        "rm /etc/sysctl.d/70-fifo.conf",
    ),
    (
        "symlink_to_fifo",
        "mkfifo /etc/sysctl.d/fifo && ln -s fifo /etc/sysctl.d/70-l.conf",
        {"time": 600, "file": "/etc/sysctl.d/70-l.conf"},
        "/etc/sysctl.d/fifo (the target of the symlink",
        "rm /etc/sysctl.d/fifo /etc/sysctl.d/70-l.conf",
    ),
    (
        "immutable",
        f"chattr +i {OURS}",
        {"time": 600},
        f"file {OURS} is immutable (chattr +i)",
        f"chattr -i {OURS}",
    ),
    (
        "append_only",
        f"chattr +a {OURS}",
        {"time": 600},
        f"file {OURS} is append-only (chattr +a)",
        f"chattr -a {OURS}",
    ),
    (
        "immutable_directory",
        "chattr +i /etc/sysctl.d",
        {"time": 600, "file": "/etc/sysctl.d/70-new.conf"},
        "directory /etc/sysctl.d is immutable (chattr +i)",
        "chattr -i /etc/sysctl.d",
    ),
    (
        "immutable_absent",
        f"chattr +i {OURS}",
        {"state": "absent"},
        f"file {OURS} is immutable",
        f"chattr -i {OURS}",
    ),
]
SETTINGS_INFO_CASES = [
    ("expected_unknown_key", {"expected": {"tme": 600}}, "expected has unknown key(s) tme"),
    ("expected_str", {"expected": "600"}, "expected"),
    ("expected_null_value", {"expected": {"time": None}}, "expected.time"),
    ("expected_huge", {"expected": {"time": HUGE}}, "expected.time"),
    ("expected_nan", {"expected": {"intvl": "nan"}}, "expected.intvl"),
    ("expected_nul", {"expected": {"time": "600\x00"}}, "expected.time"),
    ("expected_list", {"expected": [None]}, "expected"),
    ("max_detection_time_huge", {"max_detection_time": HUGE}, "max_detection_time must be a whole number"),
    ("max_detection_time_negative", {"max_detection_time": -1}, "max_detection_time must be a whole number"),
    ("max_detection_time_bool", {"max_detection_time": True}, "max_detection_time must be a whole number"),
    ("max_detection_time_nan", {"max_detection_time": "nan"}, "max_detection_time"),
    ("loader_unknown", {"loader": "busybox"}, "loader"),
    ("namespaces_unknown", {"namespaces": "every"}, "namespaces"),
    ("namespaces_null_list", {"namespaces": [None]}, "namespaces"),
]
TIMER_INFO_CASES = [
    ("tolerance_nan", {"tolerance": "nan"}, "tolerance must be a number of seconds from 0 to 32767"),
    ("tolerance_inf", {"tolerance": "inf"}, "tolerance must be a number of seconds from 0 to 32767"),
    ("tolerance_1e308", {"tolerance": 1e308}, "tolerance must be a number of seconds from 0 to 32767"),
    ("tolerance_negative", {"tolerance": -0.5}, "tolerance must be a number of seconds from 0 to 32767"),
    ("tolerance_word", {"tolerance": "soon"}, "tolerance"),
    ("expected_time_40000", {"expected_time": 40000}, "expected_time must be a number of seconds from 1"),
    ("expected_time_huge", {"expected_time": HUGE}, "expected_time must be a number of seconds from 1"),
    ("expected_time_zero", {"expected_time": 0}, "expected_time must be a number of seconds from 1"),
    ("expected_time_float", {"expected_time": 1.5}, "expected_time"),
    ("expected_time_list", {"expected_time": [None]}, "expected_time"),
    ("fail_on_mismatch_word", {"fail_on_mismatch": "perhaps"}, "fail_on_mismatch"),
]
# The configure role, by ansible-playbook, one inventory host per case (all fail independently).
ROLE_CASES = {
    "role_time_40000": ({"tcp_keepalive_time": 40000}, "time " + RANGE),
    "role_time_plus": ({"tcp_keepalive_time": "+600"}, "time"),
    "role_probes_word": ({"tcp_keepalive_probes": "many"}, "tcp_keepalive_probes"),
    "role_state_unknown": ({"tcp_keepalive_state": "gone"}, "tcp_keepalive_state"),
    "role_file_relative": ({"tcp_keepalive_file": "x.conf"}, "file must be an absolute path"),
    "role_on_conflict_unknown": ({"tcp_keepalive_on_conflict": "ignore"}, "tcp_keepalive_on_conflict"),
    "role_loader_unknown": ({"tcp_keepalive_loader": "busybox"}, "tcp_keepalive_loader"),
    "role_persist_word": ({"tcp_keepalive_persist": "perhaps"}, "tcp_keepalive_persist"),
}

SNAPSHOT_PY = r"""
import hashlib, json, os, stat, sys
roots = sys.argv[1:]
tree = {}
for top in roots:
    if not os.path.lexists(top):
        continue
    for path in [top] + [os.path.join(d, n) for d, ds, fs in os.walk(top) for n in ds + fs]:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            tree[path] = ["link", os.readlink(path)]
        elif stat.S_ISREG(info.st_mode):
            with open(path, "rb") as handle:
                tree[path] = ["file", oct(info.st_mode), hashlib.sha256(handle.read()).hexdigest()]
        else:
            tree[path] = ["other", oct(info.st_mode)]
live = [open(f"/proc/sys/net/ipv4/tcp_keepalive_{k}").read().strip() for k in ("time", "intvl", "probes")]
print(json.dumps({"tree": tree, "live": live}, sort_keys=True))
"""


def host_values() -> dict:
    return {key: int(Path(f"/proc/sys/net/ipv4/tcp_keepalive_{key}").read_text()) for key in KEYS}


def build_script(tmp_path: Path) -> tuple[str, list[tuple[str, str, str]]]:
    """The namespace script and the cases as (name, expected needle, result file)."""
    python = f"env PYTHONPATH={COLLECTIONS_ROOT}"
    snap_py = tmp_path / "snapshot.py"
    snap_py.write_text(SNAPSHOT_PY)
    roots = " ".join(("/etc/sysctl.d", "/etc/sysctl.conf", *OTHER_DIRS))
    snapshot = f"{python} {sys.executable} {snap_py} {roots}"
    seed = tmp_path / "seed.conf"
    seed.write_text(SEED)
    image = tmp_path / "sysctl.d.img"
    lines = [
        f"truncate -s 16M {image}",
        f"mkfs.ext4 -q -F {image}",
        f"mount -o loop {image} /etc/sysctl.d",
        "rmdir /etc/sysctl.d/lost+found",
        f"cp {seed} {OURS}",
        *(f"[ ! -d {d} ] || [ -L {d} ] || mount -t tmpfs tmpfs {d}" for d in OTHER_DIRS),
        f": > {tmp_path}/empty.conf",
        f"mount --bind {tmp_path}/empty.conf /etc/sysctl.conf",
        f"{snapshot} > {tmp_path}/baseline.json",
    ]
    cases = []
    groups = [("settings", name, args, needle, "", "") for name, args, needle in SETTINGS_CASES]
    groups += [("settings", name, args, needle, pre, post) for name, pre, args, needle, post in CONDITIONS]
    groups += [("settings_info", name, args, needle, "", "") for name, args, needle in SETTINGS_INFO_CASES]
    groups += [("timer_info", name, args, needle, "", "") for name, args, needle in TIMER_INFO_CASES]
    for module, name, args, needle, before, after in groups:
        case = f"{module}.{name}"
        args_file = tmp_path / f"{case}.args"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        out = tmp_path / f"{case}.out"
        lines += [
            before,
            f"{python} timeout 60 {sys.executable} {MODULES / (module + '.py')} {args_file} "
            f"> {out} 2> {out}.err || echo $? > {out}.rc",
            after,
            f"{snapshot} > {out}.snap",
        ]
        cases.append((case, needle, str(out)))
    lines += role_lines(tmp_path, snapshot)
    return "\n".join(line for line in lines if line) + "\n", cases


def role_lines(tmp_path: Path, snapshot: str) -> list[str]:
    inventory = {
        "all": {
            "hosts": {
                name: dict(vars_, ansible_connection="local", ansible_python_interpreter=sys.executable)
                for name, (vars_, _needle) in ROLE_CASES.items()
            }
        }
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "role.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  roles:\n    - role: tcp.keepalive.configure\n"
    )
    env = (
        f"ANSIBLE_COLLECTIONS_PATH={COLLECTIONS_ROOT} ANSIBLE_STDOUT_CALLBACK=json ANSIBLE_NOCOLOR=1 "
        "ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_HOST_KEY_CHECKING=false"
    )
    playbook = Path(sys.executable).parent / "ansible-playbook"
    return [
        f"{env} timeout 300 {playbook} -i {tmp_path}/inventory.json {tmp_path}/role.yml "
        f"> {tmp_path}/role.out 2> {tmp_path}/role.err || true",
        f"{snapshot} > {tmp_path}/role.snap",
    ]


def test_every_bad_option_is_a_named_failure_that_changes_nothing(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs root, unshare(1) and mkfs.ext4 (e2fsprogs) for namespaces and a loop-mounted ext4")
    before_host = host_values()
    host_ours = os.path.lexists(OURS) and Path(OURS).read_bytes()
    script, cases = build_script(tmp_path)
    (tmp_path / "cases.sh").write_text(script)
    done = subprocess.run(
        ["unshare", "-n", "-m", "--propagation", "private", "sh", "-e", str(tmp_path / "cases.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    assert baseline["tree"][OURS][0] == "file" and baseline["live"] == ["7200", "75", "9"]
    problems = []
    for case, needle, out in cases:
        problems += check_case(case, needle, Path(out), baseline)
    problems += check_role(tmp_path, baseline)
    assert not problems, f"{len(problems)} problem(s) in {len(cases) + len(ROLE_CASES)} cases:\n" + "\n".join(
        problems
    )
    assert host_values() == before_host
    assert (os.path.lexists(OURS) and Path(OURS).read_bytes()) == host_ours


def check_case(case: str, needle: str, out: Path, baseline: dict) -> list[str]:
    text, errors = out.read_text(), Path(f"{out}.err").read_text()
    problems = []
    if "Traceback" in text + errors:
        problems.append(f"{case}: traceback\n{text}\n{errors}")
    try:
        result = json.loads(text)
    except ValueError:
        rc_file = Path(f"{out}.rc")
        rc = rc_file.read_text().strip() if rc_file.exists() else "0"
        return [*problems, f"{case}: no JSON result (rc {rc}):\n{text}{errors}"]
    if result.get("failed") is not True or needle not in result.get("msg", ""):
        problems.append(f"{case}: expected failed with {needle!r}, got {result.get('msg')!r}")
    if result.get("changed"):
        problems.append(f"{case}: reported changed")
    problems += compare(case, json.loads(Path(f"{out}.snap").read_text()), baseline)
    return problems


def compare(case: str, snapshot: dict, baseline: dict) -> list[str]:
    problems = []
    if snapshot["live"] != baseline["live"]:
        problems.append(f"{case}: live values {snapshot['live']} != {baseline['live']}")
    if snapshot["tree"] != baseline["tree"]:
        changed = sorted(
            path
            for path in set(snapshot["tree"]) | set(baseline["tree"])
            if snapshot["tree"].get(path) != baseline["tree"].get(path)
        )
        problems.append(f"{case}: file system changed at {changed}")
    return problems


def check_role(tmp_path: Path, baseline: dict) -> list[str]:
    output = (tmp_path / "role.out").read_text()
    try:
        report = json.loads(output[output.index("{") :])
    except ValueError:
        return [f"role: no JSON report:\n{output}\n{(tmp_path / 'role.err').read_text()}"]
    problems = []
    failed: dict[str, str] = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    failed[host] = str(result.get("msg", ""))
    for host, (_vars, needle) in ROLE_CASES.items():
        msg = failed.get(host)
        if msg is None:
            problems.append(f"{host}: the role did not fail")
        elif needle not in msg or "Traceback" in msg:
            problems.append(f"{host}: expected a failure naming {needle!r}, got {msg!r}")
    for host, stats in report["stats"].items():
        if stats.get("changed"):
            problems.append(f"{host}: reported changed")
    return problems + compare("role", json.loads((tmp_path / "role.snap").read_text()), baseline)
