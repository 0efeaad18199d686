"""The precedence model and the settings module on a checked-in Debian 12 style tree.

tests/unit/fixtures/sysctl/debian12: systemd is PID 1 (/run/systemd/system), /etc/sysctl.conf is read
through the /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf symlink and sets tcp_keepalive_time = 1800
on line 13, a vendor file sets tcp_keepalive_intvl = 60 early (10-), other files set unrelated keys.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_edit as edit
from ansible_collections.tcp.keepalive.plugins.modules import settings
from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sysctl" / "debian12"


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(FIXTURE, root, symlinks=True)
    return root


def test_fixture_layout_is_intact():
    assert (FIXTURE / "etc" / "sysctl.d" / "99-sysctl.conf").is_symlink()


def test_debian_tree_model(tree):
    loader, reason = conf.detect_loader(str(tree))
    assert loader == "systemd" and "PID 1" in reason
    model = conf.boot_model(str(tree), loader)
    assert [f.path for f in model.files] == [
        "/usr/lib/sysctl.d/10-vendor-keepalive.conf",
        "/etc/sysctl.d/30-local.conf",
        "/usr/lib/sysctl.d/50-pid-max.conf",
        "/usr/lib/sysctl.d/99-protect-links.conf",
        "/etc/sysctl.d/99-sysctl.conf",
    ]
    assert model.boot == {"time": 1800, "intvl": 60, "probes": None}
    source = model.boot_source["time"]
    assert (source.file, source.line, source.via) == ("/etc/sysctl.conf", 13, "/etc/sysctl.d/99-sysctl.conf")
    assert model.unparsable == [] and model.unreadable == []
    # procps reads the same tree plus /etc/sysctl.conf once more, last.
    procps = conf.boot_model(str(tree), "procps")
    assert procps.boot == model.boot and procps.files[-1].path == "/etc/sysctl.conf"


def test_debian_tree_conflict_then_comment_out(tree, capsys, monkeypatch):
    ipv4 = tree / "proc" / "sys" / "net" / "ipv4"
    ipv4.mkdir(parents=True)
    for key, value in (("time", 7200), ("intvl", 75), ("probes", 9)):
        (ipv4 / f"tcp_keepalive_{key}").write_text(f"{value}\n")
    monkeypatch.setattr(settings, "ROOT", str(tree))

    def run(args):
        with patch_module_args(args), pytest.raises(SystemExit):
            settings.main()
        return json.loads(capsys.readouterr().out)

    failed = run({"time": 600, "intvl": 30})
    assert failed["failed"] is True
    assert "/etc/sysctl.conf line 13 (read through /etc/sysctl.d/99-sysctl.conf)" in failed["msg"]
    assert failed["loader"]["name"] == "systemd"
    assert not (tree / "etc" / "sysctl.d" / "60-tcp-keepalive.conf").exists()

    done = run({"time": 600, "intvl": 30, "on_conflict": "comment_out", "backup": True})
    assert done["changed"] is True, done
    assert done["boot_before"] == {"time": 1800, "intvl": 60, "probes": None}
    assert done["boot_after"] == {"time": 600, "intvl": 30, "probes": None}
    assert [(c["file"], c["line"], c["action"]) for c in done["conflicts"]] == [
        ("/etc/sysctl.conf", 13, "commented_out")
    ]
    sysctl_conf = (tree / "etc" / "sysctl.conf").read_text()
    original = (FIXTURE / "etc" / "sysctl.conf").read_text()
    assert "\n# net.ipv4.tcp_keepalive_time = 1800\n" in sysctl_conf
    assert (
        sysctl_conf.replace(
            edit.DISABLED_MARKER
            + "net.ipv4.tcp_keepalive_time is managed in /etc/sysctl.d/60-tcp-keepalive.conf\n",
            "",
        ).replace("# net.ipv4.tcp_keepalive_time = 1800", "net.ipv4.tcp_keepalive_time = 1800")
        == original
    )
    # The symlink is still a symlink: the real file was edited, not replaced by a copy.
    assert (tree / "etc" / "sysctl.d" / "99-sysctl.conf").is_symlink()
    assert Path(done["backup_files"]["/etc/sysctl.conf"]).read_text() == original
    # The vendor file (read before ours) is left alone.
    assert (tree / "usr" / "lib" / "sysctl.d" / "10-vendor-keepalive.conf").read_text().endswith("= 60\n")
    assert run({"time": 600, "intvl": 30, "on_conflict": "comment_out"})["changed"] is False
