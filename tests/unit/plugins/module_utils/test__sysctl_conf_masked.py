"""Definitions in masked sysctl.d files: listed with `masked_by`, never winning, boot values unchanged.

Fixture trees only. The invariance check compares each model with the model of the same tree after the
masked files are deleted from disk: what the loader applies must be exactly the same.
"""

from __future__ import annotations

import os
import shutil

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf
from ansible_collections.tcp.keepalive.tests.unit.sysctl_tree import link, write

TIME = "net.ipv4.tcp_keepalive_time"
INTVL = "net.ipv4.tcp_keepalive_intvl"
PROBES = "net.ipv4.tcp_keepalive_probes"


def rows(model, key):
    return [
        (d.file, d.line, d.int_value, d.wins, d.overridden_by, d.masked_by) for d in model.definitions[key]
    ]


def live_view(model):
    """Everything the loader's result depends on, for definitions it reads."""
    return (
        model.boot,
        {k: (d.file, d.line) if d else None for k, d in model.boot_source.items()},
        {
            k: [(d.file, d.line, d.wins, d.overridden_by) for d in defs if d.masked_by is None]
            for k, defs in model.definitions.items()
        },
        model.unparsable,
        model.unreadable,
        model.excluded,
    )


@pytest.fixture(params=conf.LOADERS)
def loader(request):
    return request.param


def test_etc_file_masks_vendor_file(tmp_path, loader):
    write(tmp_path, "/usr/lib/sysctl.d/50-ka.conf", f"{TIME} = 300\n{INTVL} = 10\n")
    write(tmp_path, "/etc/sysctl.d/50-ka.conf", f"# admin copy\n{TIME} = 600\n")
    write(tmp_path, "/etc/sysctl.d/10-early.conf", f"{INTVL} = 30\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": 600, "intvl": 30, "probes": None}
    mask = "/etc/sysctl.d/50-ka.conf"
    assert rows(model, "time") == [
        ("/etc/sysctl.d/50-ka.conf", 2, 600, True, None, None),
        ("/usr/lib/sysctl.d/50-ka.conf", 1, 300, False, None, mask),
    ]
    # The masked intvl = 10 sorts after 10-early.conf but overrides nothing: 10-early.conf still wins.
    assert rows(model, "intvl") == [
        ("/etc/sysctl.d/10-early.conf", 1, 30, True, None, None),
        ("/usr/lib/sysctl.d/50-ka.conf", 2, 10, False, None, mask),
    ]
    assert model.as_dict()["definitions"]["intvl"][1]["masked_by"] == mask
    assert model.as_dict()["definitions"]["intvl"][0]["masked_by"] is None


def test_dev_null_symlink_masks_vendor_file(tmp_path, loader):
    write(tmp_path, "/usr/lib/sysctl.d/50-ka.conf", f"{TIME} = 300\n{PROBES} = 3\n")
    link(tmp_path, "/etc/sysctl.d/50-ka.conf", "/dev/null")
    write(tmp_path, "/etc/sysctl.d/20-a.conf", f"{PROBES} = 5\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": None, "intvl": None, "probes": 5}
    assert model.boot_source["time"] is None
    mask = "/etc/sysctl.d/50-ka.conf"
    assert rows(model, "time") == [("/usr/lib/sysctl.d/50-ka.conf", 1, 300, False, None, mask)]
    assert rows(model, "probes") == [
        ("/etc/sysctl.d/20-a.conf", 1, 5, True, None, None),
        ("/usr/lib/sysctl.d/50-ka.conf", 2, 3, False, None, mask),
    ]
    assert model.masker_of("/usr/lib/sysctl.d/50-ka.conf").null_mask is True


def test_masked_file_syntax_takes_no_part(tmp_path, loader):
    # An explicit assignment in a masked file must not make a live glob lose, its '-key' exclusion must not
    # apply, and its broken lines are not unparsable (the loader never reads them).
    write(tmp_path, "/etc/sysctl.d/10-glob.conf", "net.ipv4.tcp_keepalive_* = 7\n")
    write(
        tmp_path,
        "/usr/lib/sysctl.d/60-x.conf",
        f"{TIME} = 100\n-{PROBES}\nnot an assignment\n{INTVL} = 10m\n",
    )
    write(tmp_path, "/etc/sysctl.d/60-x.conf", "# masks the vendor file\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": 7, "intvl": 7, "probes": 7}
    assert model.unparsable == []
    assert model.excluded == {"time": [], "intvl": [], "probes": []}
    masked = [d for defs in model.definitions.values() for d in defs if d.masked_by]
    assert [(d.key, d.line, d.value, d.int_value) for d in masked] == [
        ("time", 1, "100", 100),
        ("intvl", 4, "10m", None),
    ]


def test_unreadable_or_null_masked_files_are_skipped_silently(tmp_path, loader, monkeypatch):
    write(tmp_path, "/etc/sysctl.d/30-a.conf", f"{TIME} = 600\n")
    write(tmp_path, "/usr/lib/sysctl.d/30-a.conf", f"{TIME} = 1\n")
    write(tmp_path, "/etc/sysctl.d/40-b.conf", f"{INTVL} = 20\n")
    link(tmp_path, "/usr/lib/sysctl.d/40-b.conf", "/dev/null")  # a masked mask
    real_read = conf.read_text

    def fake_read(path):
        if path.endswith("/usr/lib/sysctl.d/30-a.conf"):
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(conf, "read_text", fake_read)
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": 600, "intvl": 20, "probes": None}
    assert model.unreadable == []
    assert all(d.masked_by is None for defs in model.definitions.values() for d in defs)


def test_masked_symlink_reports_the_file_it_points_to(tmp_path, loader):
    write(tmp_path, "/opt/vendor/ka.conf", f"{TIME} = 900\n")
    link(tmp_path, "/usr/lib/sysctl.d/70-ka.conf", "/opt/vendor/ka.conf")
    write(tmp_path, "/run/sysctl.d/70-ka.conf", f"{TIME} = 700\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] == 700
    (_live, masked) = model.definitions["time"]
    assert (masked.file, masked.via, masked.masked_by) == (
        "/opt/vendor/ka.conf",
        "/usr/lib/sysctl.d/70-ka.conf",
        "/run/sysctl.d/70-ka.conf",
    )


def test_planned_content_of_a_masked_file_is_used(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/50-ka.conf", f"{TIME} = 600\n")
    write(tmp_path, "/usr/lib/sysctl.d/50-ka.conf", f"{TIME} = 300\n")
    model = conf.boot_model(str(tmp_path), loader, {"/usr/lib/sysctl.d/50-ka.conf": f"{TIME} = 100\n"})
    assert model.boot["time"] == 600
    assert [(d.int_value, d.masked_by) for d in model.definitions["time"]] == [
        (600, None),
        (100, "/etc/sysctl.d/50-ka.conf"),
    ]


TREES = {
    "etc-masks-vendor": {
        "/usr/lib/sysctl.d/50-ka.conf": f"{TIME} = 300\n{INTVL} = 10\n",
        "/etc/sysctl.d/50-ka.conf": f"{TIME} = 600\n",
        "/etc/sysctl.d/10-early.conf": f"{INTVL} = 30\n{PROBES} = 4\n",
    },
    "devnull-mask": {
        "/usr/lib/sysctl.d/99-late.conf": f"{TIME} = 1\n{PROBES} = 2\n",
        "/etc/sysctl.d/99-late.conf": ("symlink", "/dev/null"),
        "/etc/sysctl.d/20-a.conf": f"{TIME} = 650\n",
    },
    "run-and-local": {
        "/usr/local/lib/sysctl.d/60-x.conf": f"{TIME} = 1\n-{INTVL}\n",
        "/run/sysctl.d/60-x.conf": "net.ipv4.tcp_keepalive_* = 8\n",
        "/usr/lib/sysctl.d/60-x.conf": f"{PROBES} = bad\n",
        "/etc/sysctl.conf": f"{TIME} = 500\n",
        "/etc/sysctl.d/99-sysctl.conf": ("symlink", "../sysctl.conf"),
    },
}


@pytest.mark.parametrize("tree", sorted(TREES))
def test_boot_result_is_the_same_as_without_the_masked_files(tmp_path, loader, tree):
    for path, content in TREES[tree].items():
        if isinstance(content, tuple):
            link(tmp_path, path, content[1])
        else:
            write(tmp_path, path, content)
    model = conf.boot_model(str(tmp_path), loader)
    masked_files = [f.path for f in model.files if f.masked_by]
    assert masked_files, "the tree must contain a masked file"
    assert any(d.masked_by for defs in model.definitions.values() for d in defs)
    assert not any(d.wins for defs in model.definitions.values() for d in defs if d.masked_by)
    trimmed = tmp_path.parent / (tmp_path.name + "-trimmed")
    shutil.copytree(tmp_path, trimmed, symlinks=True)
    for path in masked_files:
        os.unlink(trimmed / path.lstrip("/"))
    without = conf.boot_model(str(trimmed), loader)
    assert live_view(model) == live_view(without)
    assert all(d.masked_by is None for defs in without.definitions.values() for d in defs)
