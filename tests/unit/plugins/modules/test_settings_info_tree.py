"""settings_info logic on fixture trees, through the real boot model (_sysctl_conf) and /proc/sys reader.

Each test builds a small host under tmp_path (sysctl.d files, /proc/sys values, /proc/self/ns/net) and
checks the findings and settings `_policy.audit(root=...)` returns: the precedence-dependent ids.
"""

from __future__ import annotations

import os

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _policy

HOST_NS = 4026531840


def make_host(root, runtime=None, files=None, systemd=False):
    runtime = {"time": 7200, "intvl": 75, "probes": 9} if runtime is None else runtime
    proc = root / "proc" / "sys" / "net" / "ipv4"
    proc.mkdir(parents=True)
    for key, value in runtime.items():
        if value is not None:
            (proc / f"tcp_keepalive_{key}").write_text(f"{value}\n")
    (root / "proc" / "self" / "ns").mkdir(parents=True)
    os.symlink(f"net:[{HOST_NS}]", root / "proc" / "self" / "ns" / "net")
    if systemd:
        (root / "run" / "systemd" / "system").mkdir(parents=True)
    for path, content in (files or {}).items():
        full = root / path.lstrip("/")
        full.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):  # ("symlink", target)
            os.symlink(content[1], full)
        else:
            full.write_text(content)
    return str(root)


def ids(result):
    return [(f["id"], f["key"], f["file"], f["line"]) for f in result["findings"]]


def test_default_host_is_clean(tmp_path):
    result = _policy.audit(root=make_host(tmp_path))
    assert result["findings"] == [] and result["compliant"] is None
    assert result["loader"]["name"] == "procps"
    assert result["namespaces"] == [
        {
            "inode": HOST_NS,
            "current": True,
            "names": [],
            "processes": [],
            "values": {"time": 7200, "intvl": 75, "probes": 9},
            "detection_time": 7875,
            "error": None,
        }
    ]
    assert result["settings"]["time"] == {
        "runtime": 7200,
        "boot": 7200,
        "boot_source": "kernel_default",
        "definitions": [],
        "kernel_default": 7200,
        "drift": False,
    }


def test_runtime_only_change_is_not_persisted(tmp_path):
    result = _policy.audit(root=make_host(tmp_path, runtime={"time": 600, "intvl": 75, "probes": 9}))
    assert ids(result) == [("not_persisted", "time", None, None)]
    assert result["settings"]["time"]["drift"] is True
    assert result["detection_time"] == {"runtime": 600 + 75 * 9, "boot": 7875}


def test_drift_from_the_persisted_value(tmp_path):
    root = make_host(
        tmp_path,
        runtime={"time": 600, "intvl": 75, "probes": 9},
        files={"/etc/sysctl.d/60-ka.conf": "# keepalive\nnet.ipv4.tcp_keepalive_time = 300\n"},
    )
    result = _policy.audit(root=root)
    assert ids(result) == [("drift", "time", "/etc/sysctl.d/60-ka.conf", 2)]
    assert result["settings"]["time"]["boot"] == 300
    assert result["settings"]["time"]["boot_source"] == {"file": "/etc/sysctl.d/60-ka.conf", "line": 2}


@pytest.mark.parametrize(
    "loader, boot, loser, winner",
    [
        # procps reads /etc/sysctl.conf last, after every sysctl.d file
        ("procps", 300, ("/etc/sysctl.d/10-app.conf", 1), ("/etc/sysctl.conf", 3)),
        # systemd-sysctl reads /etc/sysctl.conf only through a 99-sysctl.conf symlink (none here)
        ("systemd", 600, None, ("/etc/sysctl.d/10-app.conf", 1)),
    ],
)
def test_sysctl_conf_depends_on_the_loader(tmp_path, loader, boot, loser, winner):
    root = make_host(
        tmp_path,
        runtime={"time": boot, "intvl": 75, "probes": 9},
        files={
            "/etc/sysctl.d/10-app.conf": "net.ipv4.tcp_keepalive_time = 600\n",
            "/etc/sysctl.conf": "# local\n\nnet/ipv4/tcp_keepalive_time=300\n",
        },
    )
    result = _policy.audit(root=root, loader=loader)
    assert result["loader"] == {"name": loader, "reason": f"loader={loader} was requested"}
    assert result["settings"]["time"]["boot"] == boot
    assert result["settings"]["time"]["boot_source"] == {"file": winner[0], "line": winner[1]}
    if loser is None:
        assert ids(result) == []
    else:
        assert ids(result) == [
            ("overridden_at_boot", "time", *loser),
            ("conflicting_definitions", "time", *winner),
        ]
        overridden = result["findings"][0]
        assert overridden["message"] == (
            "net.ipv4.tcp_keepalive_time = 600 at /etc/sysctl.d/10-app.conf:1 "
            "is overridden at boot by /etc/sysctl.conf:3 (value 300)"
        )
        assert overridden["severity"] == "medium" and overridden["namespace"] is None


def test_basename_order_across_directories(tmp_path):
    root = make_host(
        tmp_path,
        runtime={"time": 900, "intvl": 75, "probes": 9},
        systemd=True,
        files={
            "/etc/sysctl.d/10-admin.conf": "net.ipv4.tcp_keepalive_time = 600\n",
            "/usr/lib/sysctl.d/90-vendor.conf": "net.ipv4.tcp_keepalive_time = 900\n",
        },
    )
    result = _policy.audit(root=root)
    assert result["loader"]["name"] == "systemd"
    assert ids(result) == [
        ("overridden_at_boot", "time", "/etc/sysctl.d/10-admin.conf", 1),
        ("conflicting_definitions", "time", "/usr/lib/sysctl.d/90-vendor.conf", 1),
    ]
    definitions = result["settings"]["time"]["definitions"]
    assert [(d["file"], d["wins"], d["overridden_by"]) for d in definitions] == [
        ("/etc/sysctl.d/10-admin.conf", False, {"file": "/usr/lib/sysctl.d/90-vendor.conf", "line": 1}),
        ("/usr/lib/sysctl.d/90-vendor.conf", True, None),
    ]


@pytest.mark.parametrize("systemd", [True, False], ids=["systemd", "procps"])
def test_masked_vendor_file_sets_nothing(tmp_path, systemd):
    root = make_host(
        tmp_path,
        runtime={"time": 600, "intvl": 75, "probes": 9},
        systemd=systemd,
        files={
            "/usr/lib/sysctl.d/50-ka.conf": "net.ipv4.tcp_keepalive_time = 600\n",
            "/etc/sysctl.d/50-ka.conf": ("symlink", "/dev/null"),
        },
    )
    result = _policy.audit(root=root)
    assert result["settings"]["time"]["boot"] == 7200
    assert result["settings"]["time"]["boot_source"] == "kernel_default"
    assert ids(result) == [
        ("not_persisted", "time", None, None),
        ("overridden_at_boot", "time", "/usr/lib/sysctl.d/50-ka.conf", 1),
    ]
    loader = "systemd" if systemd else "procps"
    assert result["findings"][1]["message"] == (
        "net.ipv4.tcp_keepalive_time = 600 at /usr/lib/sysctl.d/50-ka.conf:1 is never applied at boot: the "
        f"file is masked by /etc/sysctl.d/50-ka.conf (a symlink to /dev/null), so {loader} never reads it; "
        "boot uses 7200 (kernel default, no file sets it)"
    )
    (definition,) = result["settings"]["time"]["definitions"]
    assert (
        definition["file"],
        definition["line"],
        definition["value"],
        definition["wins"],
        definition["overridden_by"],
        definition["masked_by"],
    ) == ("/usr/lib/sysctl.d/50-ka.conf", 1, "600", False, None, "/etc/sysctl.d/50-ka.conf")


@pytest.mark.parametrize("systemd", [True, False], ids=["systemd", "procps"])
def test_etc_copy_masks_vendor_file(tmp_path, systemd):
    root = make_host(
        tmp_path,
        runtime={"time": 600, "intvl": 75, "probes": 9},
        systemd=systemd,
        files={
            "/usr/lib/sysctl.d/50-ka.conf": (
                "net.ipv4.tcp_keepalive_time = 300\nnet.ipv4.tcp_keepalive_intvl = 10\n"
            ),
            "/etc/sysctl.d/50-ka.conf": "# local copy\nnet.ipv4.tcp_keepalive_time = 600\n",
        },
    )
    result = _policy.audit(root=root, expected={"time": 600, "intvl": 75})
    time, intvl = result["settings"]["time"], result["settings"]["intvl"]
    assert (time["boot"], time["boot_source"]) == (600, {"file": "/etc/sysctl.d/50-ka.conf", "line": 2})
    assert (intvl["boot"], intvl["boot_source"]) == (75, "kernel_default")
    assert [(d["file"], d["line"], d["wins"], d["masked_by"]) for d in time["definitions"]] == [
        ("/etc/sysctl.d/50-ka.conf", 2, True, None),
        ("/usr/lib/sysctl.d/50-ka.conf", 1, False, "/etc/sysctl.d/50-ka.conf"),
    ]
    assert [(d["file"], d["line"], d["wins"], d["masked_by"]) for d in intvl["definitions"]] == [
        ("/usr/lib/sysctl.d/50-ka.conf", 2, False, "/etc/sysctl.d/50-ka.conf"),
    ]
    # Masked lines are reported once each, never as conflicting_definitions; boot stays compliant.
    assert ids(result) == [
        ("overridden_at_boot", "time", "/usr/lib/sysctl.d/50-ka.conf", 1),
        ("overridden_at_boot", "intvl", "/usr/lib/sysctl.d/50-ka.conf", 2),
    ]
    assert result["compliant"] is True
    messages = [f["message"] for f in result["findings"]]
    assert messages[0].startswith(
        "net.ipv4.tcp_keepalive_time = 300 at /usr/lib/sysctl.d/50-ka.conf:1 is never applied at boot: the "
        "file is masked by /etc/sysctl.d/50-ka.conf (a same-named file in an earlier directory)"
    )
    assert messages[0].endswith("boot uses 600 (set at /etc/sysctl.d/50-ka.conf:2)")
    assert messages[1].endswith("boot uses 75 (kernel default, no file sets it)")


def test_systemd_invalid_last_value_leaves_kernel_default(tmp_path):
    root = make_host(
        tmp_path,
        runtime={"time": 600, "intvl": 75, "probes": 9},
        systemd=True,
        files={
            "/etc/sysctl.d/10-a.conf": "net.ipv4.tcp_keepalive_time = 600\n",
            "/etc/sysctl.d/20-b.conf": "net.ipv4.tcp_keepalive_time = 10m\n",
        },
    )
    result = _policy.audit(root=root)
    assert result["settings"]["time"]["boot"] == 7200
    assert ids(result) == [
        ("not_persisted", "time", None, None),
        ("overridden_at_boot", "time", "/etc/sysctl.d/10-a.conf", 1),
        ("conflicting_definitions", "time", None, None),
        ("unparsable_line", "time", "/etc/sysctl.d/20-b.conf", 1),
    ]
    assert "which the kernel rejects" in result["findings"][1]["message"]


def test_unparsable_line_and_inline_comment(tmp_path):
    root = make_host(
        tmp_path,
        runtime={"time": 7200, "intvl": 75, "probes": 5},
        files={
            "/etc/sysctl.d/60-ka.conf": "net.ipv4.tcp_keepalive_probes = 5 # five\nno equals sign here\n",
        },
    )
    result = _policy.audit(root=root)
    assert result["settings"]["probes"]["boot"] == 5  # an inline '#' after a blank is not part of the number
    assert ids(result) == [("unparsable_line", None, "/etc/sysctl.d/60-ka.conf", 2)]
    assert result["findings"][0]["severity"] == "low"


def test_unreadable_file(tmp_path):
    broken = "/etc/sysctl.d/70-broken.conf"
    root = make_host(tmp_path, files={broken: ("symlink", "/nonexistent/target.conf")})
    result = _policy.audit(root=root)
    assert [(f["id"], f["file"]) for f in result["findings"]] == [("unreadable_file", broken)]


def test_missing_key_and_compliance(tmp_path):
    root = make_host(
        tmp_path,
        runtime={"time": 600, "intvl": 30, "probes": None},
        files={
            "/etc/sysctl.d/60-ka.conf": (
                "net.ipv4.tcp_keepalive_time = 600\nnet.ipv4.tcp_keepalive_intvl = 30\n"
            ),
        },
    )
    result = _policy.audit(root=root, expected={"time": 600})
    assert ids(result) == [("missing_key", "probes", "/proc/sys/net/ipv4/tcp_keepalive_probes", None)]
    assert result["settings"]["probes"]["runtime"] is None and result["settings"]["probes"]["drift"] is None
    assert result["detection_time"]["runtime"] is None
    assert result["compliant"] is False


def test_expected_and_max_detection_time(tmp_path):
    root = make_host(
        tmp_path,
        runtime={"time": 600, "intvl": 30, "probes": 5},
        files={
            "/etc/sysctl.d/60-ka.conf": (
                "net.ipv4.tcp_keepalive_time = 600\nnet.ipv4.tcp_keepalive_intvl = 30\n"
                "net.ipv4.tcp_keepalive_probes = 5\n"
            ),
        },
    )
    assert (
        _policy.audit(root=root, expected={"time": 600, "intvl": 30, "probes": 5}, max_detection_time=750)[
            "compliant"
        ]
        is True
    )
    result = _policy.audit(root=root, expected={"time": 300}, max_detection_time=700)
    assert result["compliant"] is False
    assert [(f["id"], f["key"]) for f in result["findings"]] == [
        ("not_expected", "time"),
        ("not_expected", "time"),
        ("detection_time_exceeded", None),
        ("detection_time_exceeded", None),
    ]
    assert result["findings"][1]["message"] == (
        "net.ipv4.tcp_keepalive_time is 600 after boot (set at /etc/sysctl.d/60-ka.conf:1), expected 300"
    )
    assert result["findings"][1]["file"] == "/etc/sysctl.d/60-ka.conf"


@pytest.mark.parametrize("loader", ["procps", "systemd"])
def test_result_names_the_installed_loader_version(capsys, loader):
    """settings_info run as on a node: RV(loader.version) is what `--version` of the real loader says."""
    import json
    import re
    import subprocess

    from ansible_collections.tcp.keepalive.plugins.modules import settings_info
    from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args

    binary = {"procps": "sysctl", "systemd": "/lib/systemd/systemd-sysctl"}[loader]
    command = [binary, "--version"]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    except OSError:
        pytest.skip(f"{command[0]} is not installed")
    with patch_module_args({"loader": loader}), pytest.raises(SystemExit):
        settings_info.main()
    result = json.loads(capsys.readouterr().out)
    number = re.search(r"(\d+(\.\d+)*)", output).group(1)
    assert result["loader"]["name"] == loader
    assert result["loader"]["version"] == ("procps-ng " if loader == "procps" else "systemd ") + number
