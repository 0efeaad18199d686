"""Regression cases for issue 11: the boot model on fixed trees, per loader, as the real loaders behave.

The trees and expected values come from loader_cases.py, which tests/integration/test_loader_claims.py
runs against the real procps-ng 4.0.2 and systemd-sysctl 252. Also here: kernel value rules, line numbers,
the loader version and procps <= 3.3.16's directory order, and findings (overridden with the same value).
"""

from __future__ import annotations

import os

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _policy
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_edit as edit
from ansible_collections.tcp.keepalive.tests.unit.loader_cases import CASES
from ansible_collections.tcp.keepalive.tests.unit.sysctl_tree import link, write

TIME = "net.ipv4.tcp_keepalive_time"
PROBES = "net.ipv4.tcp_keepalive_probes"


def build(root, files: dict) -> None:
    write(root, "/etc/sysctl.conf", "")
    for path, spec in files.items():
        full = root / path.lstrip("/")
        if spec.startswith("->"):
            if full.exists() or full.is_symlink():
                full.unlink()
            link(root, path, spec[2:])
        elif spec == "<dir>":
            full.mkdir(parents=True, exist_ok=True)
        else:
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(spec.encode("utf-8", errors="surrogateescape"))


@pytest.mark.parametrize("loader", conf.LOADERS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_case(tmp_path, name, loader):
    build(tmp_path, CASES[name]["files"])
    model = conf.boot_model(str(tmp_path), loader)
    assert tuple(model.boot[key] for key in conf.KEYS) == CASES[name][loader]
    for key, source in model.boot_source.items():
        assert (source is None) == (model.boot[key] is None)
        if source is not None:
            assert source.wins and source.int_value == model.boot[key] and source.masked_by is None


# --- item 1: the kernel's value rules ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("255", "probes", 255),
        ("256", "probes", None),
        ("-0", "probes", None),
        ("-0", "time", 0),
        ("-5", "time", -5),
        ("8589934", "time", 8589934),  # INT_MAX // 250
        ("8589935", "intvl", None),
        ("2147483647", "time", None),
        ("1_000", "time", None),
        ("\u0661\u0662", "time", None),
        ("\u00a0600", "time", None),  # UTF-8 NBSP: 0xc2 is not a kernel space
        ("\udca0600", "time", 600),  # the lone byte 0xa0 is (lib/ctype.c)
        ("\f600", "time", 600),
        ("600\f", "time", None),
        ("600 # c", "time", 600),
        ("600\t#", "time", 600),
        ("0000000000000000000010", "time", None),  # 22 characters: longer than proc_get_long() takes
        ("00000000000000000010", "time", 8),  # 20 characters
        ("0x", "time", None),
        ("0X10", "probes", 16),
        ("99999999999999999999", "time", None),
    ],
)
def test_kernel_int_per_key(text, key, expected):
    assert conf.kernel_int(text, key, hz=250) == expected


def test_hz_limits_time_and_intvl():
    assert conf.kernel_int("2147483", "time", hz=1000) == 2147483
    assert conf.kernel_int("2147484", "time", hz=1000) is None
    assert conf.kernel_int("21474836", "intvl", hz=100) == 21474836


def test_probes_300_gives_no_confident_wrong_boot_value(tmp_path):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"{PROBES} = 300\n")
    for loader in conf.LOADERS:
        model = conf.boot_model(str(tmp_path), loader)
        (definition,) = model.definitions["probes"]
        assert model.boot["probes"] is None and definition.int_value is None and not definition.wins


# --- item 3: line numbers count "\n" only ----------------------------------------------------------------
@pytest.mark.parametrize("loader", conf.LOADERS)
def test_line_numbers_count_newlines_only(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"# a\fb\n# c\vd\x1c\x85\u2028\n{TIME} = 5\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot_source["time"].line == 3
    assert conf.split_lines("a\fb\nc\u2028d\ne") == ["a\fb\n", "c\u2028d\n", "e"]


def test_systemd_lines_split_at_lone_cr_keep_newline_numbers(tmp_path):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"x = 1\n{TIME} = 5\r{PROBES} = 4\n")
    model = conf.boot_model(str(tmp_path), "systemd")
    assert (model.boot_source["time"].line, model.boot_source["probes"].line) == (2, 2)


# --- item 2: excluded and dropped keys are reported ------------------------------------------------------
def test_exclusions_are_listed_per_loader(tmp_path):
    write(tmp_path, "/etc/sysctl.d/10-a.conf", f"{TIME} = 100\n-{TIME}\nnet.ipv4.tcp_keepalive_* = 5\n")
    systemd = conf.boot_model(str(tmp_path), "systemd")
    assert systemd.boot["time"] is None and systemd.excluded["time"] == [("/etc/sysctl.d/10-a.conf", 2)]
    procps = conf.boot_model(str(tmp_path), "procps")
    assert procps.boot["time"] == 100 and procps.excluded["time"] == [("/etc/sysctl.d/10-a.conf", 2)]


# --- item 5: the directory entry kinds -------------------------------------------------------------------
@pytest.mark.parametrize("loader", conf.LOADERS)
def test_directory_entry_masks_and_is_reported(tmp_path, loader):
    write(tmp_path, "/usr/lib/sysctl.d/50-a.conf", f"{TIME} = 5\n")
    (tmp_path / "etc" / "sysctl.d" / "50-a.conf").mkdir(parents=True)
    model = conf.boot_model(str(tmp_path), loader)
    vendor = next(f for f in model.files if f.path == "/usr/lib/sysctl.d/50-a.conf")
    assert vendor.masked_by == "/etc/sysctl.d/50-a.conf"
    assert model.unreadable[0][0] == "/etc/sysctl.d/50-a.conf" and "directory" in model.unreadable[0][1]


# --- item 6: procps <= 3.3.16 and the loader version -----------------------------------------------------
@pytest.mark.parametrize(
    ("output", "loader", "version"),
    [
        ("sysctl from procps-ng 4.0.2\n", "procps", "procps-ng 4.0.2"),
        ("sysctl from procps-ng 3.3.16\n", "procps", "procps-ng 3.3.16"),
        ("sysctl from procps-ng 3.3.15\n", "procps", "procps-ng 3.3.15"),
        ("systemd 252 (252.38-1~deb12u1)\n+PAM +AUDIT\n", "systemd", "systemd 252"),
        ("nothing useful", "procps", None),
    ],
)
def test_loader_version_from_version_output(output, loader, version):
    seen = []

    def runner(command):
        seen.append(command)
        return output

    assert conf.loader_version(loader, "/", runner=runner) == version
    assert seen and seen[0][-1] == "--version"


def test_loader_version_is_unknown_for_a_fixture_tree(tmp_path):
    assert conf.loader_version("procps", str(tmp_path), runner=lambda command: "procps-ng 3.3.16") is None


@pytest.mark.parametrize(
    ("version", "legacy"),
    [
        ("procps-ng 3.3.16", True),
        ("procps-ng 3.3.15", True),
        ("procps-ng 3.3.17", False),
        ("procps-ng 4.0.2", False),
        (None, False),
    ],
)
def test_legacy_procps_is_chosen_by_version(version, legacy):
    assert conf.is_legacy_procps(version) is legacy


def test_procps_3_3_16_prefers_run_over_etc(tmp_path):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"{TIME} = 300\n")
    write(tmp_path, "/run/sysctl.d/50-a.conf", f"{TIME} = 200\n")
    modern = conf.boot_model(str(tmp_path), "procps", version="procps-ng 4.0.2")
    legacy = conf.boot_model(str(tmp_path), "procps", version="procps-ng 3.3.16")
    assert modern.boot["time"] == 300 and not modern.legacy
    assert legacy.boot["time"] == 200 and legacy.legacy
    assert legacy.version == "procps-ng 3.3.16" and legacy.as_dict()["version"] == "procps-ng 3.3.16"
    etc = next(f for f in legacy.files if f.path == "/etc/sysctl.d/50-a.conf")
    assert etc.masked_by == "/run/sysctl.d/50-a.conf"
    assert conf.search_dirs("procps", legacy=True)[:2] == ["/run/sysctl.d", "/etc/sysctl.d"]


def test_procps_3_3_16_has_no_globs(tmp_path):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", "net.ipv4.tcp_keepalive_* = 5\n")
    assert conf.boot_model(str(tmp_path), "procps", version="procps-ng 3.3.16").boot["time"] is None
    assert conf.boot_model(str(tmp_path), "procps", version="procps-ng 4.0.2").boot["time"] == 5


def test_plan_names_the_loader_version(tmp_path, monkeypatch):
    monkeypatch.setattr(conf, "loader_version", lambda loader, root="/", runner=None: "procps-ng 3.3.16")
    write(tmp_path, "/run/sysctl.d/60-tcp-keepalive.conf", f"{TIME} = 200\n")
    plan = edit.plan_persist(str(tmp_path), "procps", "/etc/sysctl.d/60-tcp-keepalive.conf", {"time": 600})
    assert plan.loader_version == "procps-ng 3.3.16"
    assert plan.error and "masked by /run/sysctl.d/60-tcp-keepalive.conf" in plan.error


# --- item 7: an override with the same value is no finding -----------------------------------------------
@pytest.mark.parametrize("loader", conf.LOADERS)
def test_same_value_override_is_not_overridden_at_boot(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/10-a.conf", f"{TIME} = 600\n{PROBES} = 4\n")
    write(tmp_path, "/etc/sysctl.d/20-b.conf", f"{TIME} = 0x258\n{PROBES} = 5\n")
    model = conf.boot_model(str(tmp_path), loader)
    findings = _policy._overridden(model)
    assert [(f.key, f.file, f.line) for f in findings] == [("probes", "/etc/sysctl.d/10-a.conf", 2)]


# --- issue 12 item 7: a symlink from /etc into a vendor directory is not edited ---------------------------
@pytest.mark.parametrize("vendor", ["/usr/lib/sysctl.d/x.conf", "/run/sysctl.d/x.conf"])
def test_symlink_into_vendor_directory_is_refused(tmp_path, vendor):
    write(tmp_path, vendor, f"{TIME} = 100\n")
    link(tmp_path, "/etc/sysctl.d/60-tcp-keepalive.conf", vendor)
    before = (tmp_path / vendor.lstrip("/")).read_text()
    plan = edit.plan_persist(str(tmp_path), "systemd", "/etc/sysctl.d/60-tcp-keepalive.conf", {"time": 600})
    assert plan.error and plan.edits == {}
    assert f"is a symlink to {vendor}" in plan.error
    assert ("upgrade" in plan.error) if vendor.startswith("/usr") else ("/run" in plan.error)
    assert (tmp_path / vendor.lstrip("/")).read_text() == before
    assert os.path.islink(tmp_path / "etc" / "sysctl.d" / "60-tcp-keepalive.conf")


def test_symlink_within_etc_is_still_followed(tmp_path):
    write(tmp_path, "/etc/sysctl.d/real.conf", f"{TIME} = 100\n")
    link(tmp_path, "/etc/sysctl.d/60-tcp-keepalive.conf", "real.conf")
    plan = edit.plan_persist(str(tmp_path), "systemd", "/etc/sysctl.d/60-tcp-keepalive.conf", {"time": 600})
    assert plan.error is None and list(plan.edits) == ["/etc/sysctl.d/real.conf"]


def test_rejected_value_is_an_unparsable_line_finding(tmp_path):
    """docs/findings.md: `probes = 300` (a u8) and `600#note` give unparsable_line, not a boot value."""
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"{PROBES} = 300\n{TIME} = 600#note\n")
    model = conf.boot_model(str(tmp_path), "procps")
    found = [(f.id, f.key, f.line) for f in _policy._unparsable(model)]
    assert found == [("unparsable_line", "time", 2), ("unparsable_line", "probes", 1)]
    assert model.boot == {"time": None, "intvl": None, "probes": None}
