"""Unit tests for the sysctl.d precedence model (_sysctl_conf.boot_model) over fixture trees."""

from __future__ import annotations

import pytest
from ansible_collections.tcp.keepalive.plugins.module_utils import _sysctl_conf as conf
from ansible_collections.tcp.keepalive.tests.unit.sysctl_tree import link, write

TIME = "net.ipv4.tcp_keepalive_time"


def where(definition):
    return (definition.file, definition.line) if definition else None


@pytest.fixture(params=conf.LOADERS)
def loader(request):
    return request.param


# --- masking and order -------------------------------------------------------------------------------
def test_same_name_in_earlier_directory_masks_later_ones(tmp_path, loader):
    write(tmp_path, "/usr/lib/sysctl.d/50-tune.conf", f"{TIME} = 100\n")
    write(tmp_path, "/run/sysctl.d/50-tune.conf", f"{TIME} = 200\n")
    write(tmp_path, "/etc/sysctl.d/50-tune.conf", f"{TIME} = 300\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] == 300
    masked = {f.path: f.masked_by for f in model.files}
    assert masked == {
        "/etc/sysctl.d/50-tune.conf": None,
        "/run/sysctl.d/50-tune.conf": "/etc/sysctl.d/50-tune.conf",
        "/usr/lib/sysctl.d/50-tune.conf": "/etc/sysctl.d/50-tune.conf",
    }
    # Masked files are never read by the loader: their definitions are listed, never win, override nothing.
    rows = [(d.file, d.int_value, d.wins, d.overridden_by, d.masked_by) for d in model.definitions["time"]]
    assert rows == [
        ("/etc/sysctl.d/50-tune.conf", 300, True, None, None),
        ("/run/sysctl.d/50-tune.conf", 200, False, None, "/etc/sysctl.d/50-tune.conf"),
        ("/usr/lib/sysctl.d/50-tune.conf", 100, False, None, "/etc/sysctl.d/50-tune.conf"),
    ]
    assert where(model.boot_source["time"]) == ("/etc/sysctl.d/50-tune.conf", 1)


def test_run_masks_vendor_but_not_etc(tmp_path, loader):
    write(tmp_path, "/usr/local/lib/sysctl.d/10-a.conf", f"{TIME} = 100\n")
    write(tmp_path, "/run/sysctl.d/10-a.conf", f"{TIME} = 200\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] == 200
    assert where(model.boot_source["time"]) == ("/run/sysctl.d/10-a.conf", 1)


def test_files_apply_in_basename_order_across_directories(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/10-early.conf", f"{TIME} = 100\n")
    write(tmp_path, "/usr/lib/sysctl.d/90-late.conf", f"{TIME} = 900\n")
    write(tmp_path, "/etc/sysctl.d/50-mid.conf", f"{TIME} = 500\n")
    write(tmp_path, "/etc/sysctl.d/95-not-conf.txt", f"{TIME} = 1\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert [f.path for f in model.files] == [
        "/etc/sysctl.d/10-early.conf",
        "/etc/sysctl.d/50-mid.conf",
        "/usr/lib/sysctl.d/90-late.conf",
    ]
    assert model.boot["time"] == 900
    early, mid, late = model.definitions["time"]
    assert late.wins and not early.wins and not mid.wins
    assert early.overridden_by == ("/usr/lib/sysctl.d/90-late.conf", 1)
    assert mid.overridden_by == ("/usr/lib/sysctl.d/90-late.conf", 1)
    assert late.overridden_by is None


@pytest.mark.parametrize("mask", ["devnull", "empty"])
def test_null_mask_hides_vendor_file(tmp_path, loader, mask):
    write(tmp_path, "/usr/lib/sysctl.d/70-vendor.conf", f"{TIME} = 100\n")
    if mask == "devnull":
        link(tmp_path, "/etc/sysctl.d/70-vendor.conf", "/dev/null")
    else:
        write(tmp_path, "/etc/sysctl.d/70-vendor.conf", "")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] is None
    assert model.boot_source["time"] is None
    (masked,) = model.definitions["time"]
    assert (masked.file, masked.line, masked.int_value) == ("/usr/lib/sysctl.d/70-vendor.conf", 1, 100)
    assert (masked.wins, masked.overridden_by) == (False, None)
    assert masked.masked_by == "/etc/sysctl.d/70-vendor.conf"
    assert model.as_dict()["definitions"]["time"][0]["masked_by"] == "/etc/sysctl.d/70-vendor.conf"
    vendor = next(f for f in model.files if f.path == "/usr/lib/sysctl.d/70-vendor.conf")
    assert vendor.masked_by == "/etc/sysctl.d/70-vendor.conf"
    assert vendor.null_mask is True
    assert model.masker_of("/usr/lib/sysctl.d/70-vendor.conf").path == "/etc/sysctl.d/70-vendor.conf"


def test_merged_usr_lib_symlink_is_not_read_twice(tmp_path, loader):
    write(tmp_path, "/usr/lib/sysctl.d/50-a.conf", f"{TIME} = 100\n")
    link(tmp_path, "/lib", "usr/lib")
    model = conf.boot_model(str(tmp_path), loader)
    assert [f.path for f in model.files] == ["/usr/lib/sysctl.d/50-a.conf"]
    assert len(model.definitions["time"]) == 1


# --- /etc/sysctl.conf under each loader ----------------------------------------------------------------
def test_sysctl_conf_via_symlink_systemd_reads_it_in_sort_order(tmp_path):
    write(tmp_path, "/etc/sysctl.conf", f"{TIME} = 111\n")
    link(tmp_path, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
    write(tmp_path, "/etc/sysctl.d/99-zzz.conf", f"{TIME} = 999\n")
    model = conf.boot_model(str(tmp_path), "systemd")
    assert model.boot["time"] == 999
    first = model.definitions["time"][0]
    assert (first.file, first.via) == ("/etc/sysctl.conf", "/etc/sysctl.d/99-sysctl.conf")
    assert [f.path for f in model.files] == ["/etc/sysctl.d/99-sysctl.conf", "/etc/sysctl.d/99-zzz.conf"]
    assert model.files[0].target == "/etc/sysctl.conf"


def test_sysctl_conf_via_symlink_procps_reads_it_twice_and_last(tmp_path):
    write(tmp_path, "/etc/sysctl.conf", f"{TIME} = 111\n")
    link(tmp_path, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
    write(tmp_path, "/etc/sysctl.d/99-zzz.conf", f"{TIME} = 999\n")
    model = conf.boot_model(str(tmp_path), "procps")
    assert model.boot["time"] == 111
    assert [(d.file, d.via, d.wins) for d in model.definitions["time"]] == [
        ("/etc/sysctl.conf", "/etc/sysctl.d/99-sysctl.conf", False),
        ("/etc/sysctl.d/99-zzz.conf", None, False),
        ("/etc/sysctl.conf", None, True),
    ]
    assert model.files[-1].path == "/etc/sysctl.conf"


def test_sysctl_conf_without_symlink(tmp_path):
    write(tmp_path, "/etc/sysctl.conf", f"{TIME} = 111\n")
    write(tmp_path, "/usr/lib/sysctl.d/99-vendor.conf", f"{TIME} = 999\n")
    assert conf.boot_model(str(tmp_path), "systemd").boot["time"] == 999  # systemd ignores it
    assert conf.boot_model(str(tmp_path), "procps").boot["time"] == 111  # procps reads it last


# --- syntax --------------------------------------------------------------------------------------------
def test_slash_keys_prefix_and_spacing(tmp_path, loader):
    write(
        tmp_path,
        "/etc/sysctl.d/50-a.conf",
        "net/ipv4/tcp_keepalive_time=100\n"
        "  -net.ipv4.tcp_keepalive_intvl   =\t 20  \n"
        "net/ipv4/tcp_keepalive_probes = 3\n",
    )
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": 100, "intvl": 20, "probes": 3}
    time, intvl, probes = (model.definitions[k][0] for k in ("time", "intvl", "probes"))
    assert time.sysctl == "net/ipv4/tcp_keepalive_time"
    assert (intvl.ignore_errors, intvl.value, intvl.line) == (True, "20", 2)
    assert probes.ignore_errors is False


def test_duplicates_in_one_file_last_wins(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"{TIME} = 100\n{TIME} = 200\n# {TIME} = 300\n")
    model = conf.boot_model(str(tmp_path), loader)
    first, second = model.definitions["time"]
    assert model.boot["time"] == 200
    assert first.overridden_by == ("/etc/sysctl.d/50-a.conf", 2)
    assert second.wins


def test_comments_only_at_line_start_inline_hash_is_value(tmp_path, loader):
    write(
        tmp_path,
        "/etc/sysctl.d/50-a.conf",
        f"  ; {TIME} = 1\n\t# {TIME} = 2\n{TIME} = 600 # ten minutes\nnet.ipv4.tcp_keepalive_intvl = 30#x\n",
    )
    model = conf.boot_model(str(tmp_path), loader)
    (time,) = model.definitions["time"]
    assert (time.value, time.int_value, time.line) == ("600 # ten minutes", 600, 3)
    (intvl,) = model.definitions["intvl"]
    # The kernel rejects "30#x" (no blank after the number): not applied.
    assert (intvl.value, intvl.int_value) == ("30#x", None)
    assert model.boot["intvl"] is None and not intvl.wins


def test_values_are_parsed_like_the_kernel(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/50-a.conf", f"{TIME} = 0600\nnet.ipv4.tcp_keepalive_probes = 0x10\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] == 384  # octal, as the kernel reads it
    assert model.boot["probes"] == 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("600", 600),
        ("  600  ", 600),
        ("0600", 384),
        ("0x1f", 31),
        ("-5", -5),
        ("600 # c", 600),
        ("600#c", None),
        ("09", None),
        ("+5", None),
        ("", None),
        ("abc", None),
        ("0", 0),
    ],
)
def test_kernel_int(text, expected):
    assert conf.kernel_int(text) == expected


def test_invalid_last_value_differs_by_loader(tmp_path):
    write(tmp_path, "/etc/sysctl.d/10-a.conf", f"{TIME} = 100\n")
    write(tmp_path, "/etc/sysctl.d/20-b.conf", f"{TIME} = soon\n")
    # systemd keeps only the last assignment, which fails: kernel default.
    assert conf.boot_model(str(tmp_path), "systemd").boot["time"] is None
    # procps writes both in order: 100 stays.
    procps = conf.boot_model(str(tmp_path), "procps")
    assert procps.boot["time"] == 100
    assert where(procps.boot_source["time"]) == ("/etc/sysctl.d/10-a.conf", 1)


def test_glob_applies_when_no_explicit_assignment(tmp_path, loader):
    text = "net.ipv4.tcp_keepalive_* = 42\nnet.ipv4.tcp_keepalive_t?me = 43\n"
    write(tmp_path, "/etc/sysctl.d/50-a.conf", text)
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": 43, "intvl": 42, "probes": 42}
    assert all(d.glob for key in conf.KEYS for d in model.definitions[key])


def test_explicit_beats_glob_whatever_the_order(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/10-a.conf", f"{TIME} = 100\n")
    write(tmp_path, "/etc/sysctl.d/90-glob.conf", "net/ipv4/tcp_keepalive_* = 5\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] == 100
    explicit, glob = model.definitions["time"]
    assert explicit.wins and glob.glob and glob.overridden_by == ("/etc/sysctl.d/10-a.conf", 1)
    assert model.boot["intvl"] == 5


def test_glob_exclusion(tmp_path, loader):
    text = "-net.ipv4.tcp_keepalive_probes\nnet.ipv4.tcp_keepalive_* = 5\n"
    write(tmp_path, "/etc/sysctl.d/10-a.conf", text)
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot == {"time": 5, "intvl": 5, "probes": None}
    assert model.excluded["probes"] == [("/etc/sysctl.d/10-a.conf", 1)]
    assert model.unparsable == []


def test_other_keys_are_ignored_but_unparsable_lines_reported(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/10-a.conf", "vm.swappiness = 10\nthis is not an assignment\n= 5\n")
    model = conf.boot_model(str(tmp_path), loader)
    assert all(not defs for defs in model.definitions.values())
    assert model.unparsable == [
        ("/etc/sysctl.d/10-a.conf", 2, "this is not an assignment"),
        ("/etc/sysctl.d/10-a.conf", 3, "= 5"),
    ]


def test_unreadable_and_dangling_files(tmp_path, loader, monkeypatch):
    """A dangling symlink masks the same name in later directories (issue 11 item 5; checked against both
    real loaders: procps fails to open it, systemd lists it without stat() and fails to read it)."""
    write(tmp_path, "/etc/sysctl.d/10-secret.conf", f"{TIME} = 100\n")
    write(tmp_path, "/usr/lib/sysctl.d/20-b.conf", f"{TIME} = 200\n")
    link(tmp_path, "/etc/sysctl.d/20-b.conf", "/nowhere/20-b.conf")  # dangling: masks the vendor file
    real_read = conf.read_text

    def fake_read(path):
        if path.endswith("10-secret.conf"):
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(conf, "read_text", fake_read)
    model = conf.boot_model(str(tmp_path), loader)
    assert model.boot["time"] is None
    unreadable = [path for path, _error in model.unreadable]
    assert unreadable == ["/etc/sysctl.d/10-secret.conf", "/etc/sysctl.d/20-b.conf"]
    assert "Permission denied" in model.unreadable[0][1]
    vendor = next(f for f in model.files if f.path == "/usr/lib/sysctl.d/20-b.conf")
    assert vendor.masked_by == "/etc/sysctl.d/20-b.conf"
    (masked,) = [d for d in model.definitions["time"] if d.file == "/usr/lib/sysctl.d/20-b.conf"]
    assert masked.masked_by == "/etc/sysctl.d/20-b.conf" and not masked.wins


def test_overrides_model_a_planned_edit(tmp_path, loader):
    write(tmp_path, "/etc/sysctl.d/90-late.conf", f"{TIME} = 900\n")
    model = conf.boot_model(str(tmp_path), loader, {"/etc/sysctl.d/95-new.conf": f"{TIME} = 950\n"})
    assert model.boot["time"] == 950
    removed = conf.boot_model(str(tmp_path), loader, {"/etc/sysctl.d/90-late.conf": None})
    assert removed.boot["time"] is None


def test_as_dict_is_json_ready(tmp_path, loader):
    import json

    write(tmp_path, "/etc/sysctl.d/10-a.conf", f"{TIME} = 100\n{TIME} = 200\n")
    data = conf.boot_model(str(tmp_path), loader).as_dict()
    json.dumps(data)
    assert data["definitions"]["time"][0]["overridden_by"] == {"file": "/etc/sysctl.d/10-a.conf", "line": 2}
    assert data["boot"]["time"] == 200


# --- loader detection --------------------------------------------------------------------------------
def test_detect_loader(tmp_path):
    loader, reason = conf.detect_loader(str(tmp_path))
    assert loader == "procps" and "/run/systemd/system does not exist" in reason
    (tmp_path / "run" / "systemd" / "system").mkdir(parents=True)
    loader, reason = conf.detect_loader(str(tmp_path))
    assert loader == "systemd" and "systemd is PID 1" in reason
    assert conf.detect_loader(str(tmp_path), "procps")[0] == "procps"
    with pytest.raises(ValueError, match="loader must be one of"):
        conf.detect_loader(str(tmp_path), "openrc")


def test_search_dirs():
    assert conf.search_dirs("systemd")[:2] == ["/etc/sysctl.d", "/run/sysctl.d"]
    assert conf.search_dirs("procps")[-1] == "/lib/sysctl.d"
    with pytest.raises(ValueError):
        conf.search_dirs("busybox")
