"""tcp.keepalive.settings against the real kernel, inside private network (and mount) namespaces.

Each test runs the module file directly (python settings.py args.json, as Ansible does on a node) in a
child made by `unshare -n -m`: live writes land in a fresh network namespace, and a tmpfs mounted over
/etc/sysctl.d inside the private mount namespace takes the persisted file, so the host's namespace and
files are never touched (checked). The persisted file is then loaded by the real loaders (procps
`sysctl --system` and systemd-sysctl, both restricted to the keepalive keys) in yet another fresh
network namespace, which is how a boot sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import ansible_collections.tcp.keepalive.plugins as plugins_pkg
import pytest
from ansible_collections.tcp.keepalive.tests.integration.mountns import (
    empty_dirs_script,
    loader_dirs,
    run_private,
)

pytestmark = pytest.mark.netns

PLUGINS = Path(list(plugins_pkg.__path__)[0])
MODULE = PLUGINS / "modules" / "settings.py"
COLLECTIONS_ROOT = str(PLUGINS.parents[3])
KEYS = ("time", "intvl", "probes")
SYSTEMD_SYSCTL = next(
    (p for p in ("/lib/systemd/systemd-sysctl", "/usr/lib/systemd/systemd-sysctl") if os.path.exists(p)), None
)


def host_values() -> dict:
    return {key: int(Path(f"/proc/sys/net/ipv4/tcp_keepalive_{key}").read_text()) for key in KEYS}


def require_root() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to create network namespaces")


def module_cmd(args_file: Path) -> str:
    return f"PYTHONPATH={COLLECTIONS_ROOT} {sys.executable} {MODULE} {args_file}"


def write_args(tmp_path: Path, name: str, args: dict) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return path


def empty_sysctl_dirs(tmp_path: Path, dirs: tuple[str, ...]) -> str:
    """Shell lines for in_namespaces(): each of `dirs` an empty tmpfs (mountns.py), layers in tmp_path."""
    layers = tmp_path / "layers"
    layers.mkdir(exist_ok=True)
    return "\n".join(empty_dirs_script(dirs, str(layers)))


def in_namespaces(script: str) -> list[str]:
    """Run `script` with sh in fresh network + mount namespaces; return its non-empty stdout lines."""
    done = run_private(script, net=True, timeout=120)
    assert done.returncode == 0, f"rc={done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return [line for line in done.stdout.splitlines() if line.strip()]  # modules print a leading newline


READ_LIVE_SH = """#!/bin/sh
for key in time intvl probes; do printf '%s ' "$(cat /proc/sys/net/ipv4/tcp_keepalive_$key)"; done
echo
"""


SENTINEL = "net.ipv4.ip_default_ttl = 77\n"  # per network namespace: a leak stays in the throw-away one
READ_SENTINEL = "cat /proc/sys/net/ipv4/ip_default_ttl"


def helpers(tmp_path: Path) -> str:
    """Write read_live.sh into tmp_path; return the command that runs it."""
    script = tmp_path / "read_live.sh"
    script.write_text(READ_LIVE_SH)
    return f"sh {script}"


def test_apply_and_persist_in_private_namespace_then_real_loaders(tmp_path):
    require_root()
    before_host = host_values()
    args = write_args(tmp_path, "set", {"time": 600, "intvl": 30, "probes": 4, "loader": "procps"})
    check = write_args(
        tmp_path,
        "check",
        {"time": 600, "intvl": 30, "probes": 4, "loader": "procps", "_ansible_check_mode": True},
    )
    read_live = helpers(tmp_path)
    prefixes = " ".join(f"--prefix=net.ipv4.tcp_keepalive_{key}" for key in KEYS)
    pattern = "'^-?/?net[./]ipv4[./]tcp_keepalive_'"
    (tmp_path / "procps.sh").write_text(
        f"sysctl -q --pattern {pattern} --system >/dev/null\n{read_live}\n{READ_SENTINEL}\n"
    )
    (tmp_path / "systemd.sh").write_text(f"{SYSTEMD_SYSCTL} {prefixes}\n{read_live}\n{READ_SENTINEL}\n")
    systemd_line = f"unshare -n sh {tmp_path}/systemd.sh" if SYSTEMD_SYSCTL else "echo no-systemd; echo 64"
    (tmp_path / "sentinel.conf").write_text(SENTINEL)
    script = f"""
{empty_sysctl_dirs(tmp_path, ("/etc/sysctl.d", "/usr/lib/sysctl.d", "/usr/local/lib/sysctl.d"))}
cp {tmp_path}/sentinel.conf /etc/sysctl.d/10-sentinel.conf
{read_live}
{module_cmd(check)}; echo
{module_cmd(args)}; echo
{module_cmd(args)}; echo
{read_live}
cat /etc/sysctl.d/60-tcp-keepalive.conf | tr '\\n' '|'; echo
unshare -n {read_live}
unshare -n sh {tmp_path}/procps.sh
{systemd_line}
"""
    lines = in_namespaces(script)
    start, checked, first, second, after, persisted, fresh = lines[:7]
    procps_boot, procps_ttl, systemd_boot, systemd_ttl = lines[7:]
    assert (procps_ttl, systemd_ttl) == ("64", "64")  # the sentinel key in the tree was never applied
    assert start.split() == ["7200", "75", "9"]  # a new namespace starts at the kernel defaults
    checked, first, second = json.loads(checked), json.loads(first), json.loads(second)
    assert checked["changed"] is True and checked["live_after"]["time"] == 600
    assert first["changed"] is True, first
    assert first["live_after"] == {"time": 600, "intvl": 30, "probes": 4}
    assert first["boot_after"] == {"time": 600, "intvl": 30, "probes": 4}
    assert second["changed"] is False, second
    assert after.split() == ["600", "30", "4"]
    assert "net.ipv4.tcp_keepalive_time = 600|" in persisted
    assert fresh.split() == ["7200", "75", "9"]
    assert procps_boot.split() == ["600", "30", "4"]  # what the real procps loader makes of the file
    if SYSTEMD_SYSCTL:
        assert systemd_boot.split() == ["600", "30", "4"]
    assert host_values() == before_host
    assert not Path("/etc/sysctl.d/60-tcp-keepalive.conf").exists()


def test_kernel_reads_leading_zero_as_octal_like_the_model(tmp_path):
    """The model's kernel_int() must agree with the real kernel and loader on '0600'."""
    require_root()
    read_live = helpers(tmp_path)
    conf = tmp_path / "50-x.conf"
    conf.write_text(f"net.ipv4.tcp_keepalive_time = 0600\nnet.ipv4.tcp_keepalive_intvl = 30 # c\n{SENTINEL}")
    script = f"""
{empty_sysctl_dirs(tmp_path, ("/etc/sysctl.d", "/usr/lib/sysctl.d", "/usr/local/lib/sysctl.d"))}
cp {conf} /etc/sysctl.d/50-x.conf
sysctl -q --pattern '^-?/?net[./]ipv4[./]tcp_keepalive_' --system >/dev/null
{read_live}
{READ_SENTINEL}
"""
    values, ttl = in_namespaces(script)
    assert values.split() == ["384", "30", "9"]
    assert ttl == "64"


def test_read_only_proc_sys_fails_naming_apply_false(tmp_path):
    require_root()
    before_host = host_values()
    read_live = helpers(tmp_path)
    args = write_args(tmp_path, "ro", {"time": 600, "persist": False})
    script = f"""
mount --bind /proc/sys /proc/sys
mount -o remount,ro,bind /proc/sys
{module_cmd(args)} || true; echo
{read_live}
"""
    result, values = in_namespaces(script)
    result = json.loads(result)
    assert result["failed"] is True
    assert "apply: false" in result["msg"] and "Read-only file system" in result["msg"]
    assert values.split() == ["7200", "75", "9"]
    assert host_values() == before_host


def test_examples_run_as_written(tmp_path):
    """Every EXAMPLES task runs with ansible-playbook, in private namespaces (tmpfs over /etc/sysctl.d)."""
    require_root()
    import yaml
    from ansible_collections.tcp.keepalive.plugins.modules import settings

    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    if not ansible_playbook.exists():
        pytest.skip("ansible-playbook is not installed next to this Python")
    before_host = host_values()
    tasks = yaml.safe_load(settings.EXAMPLES)
    playbook = tmp_path / "examples.yml"
    play = [
        {
            "name": "EXAMPLES",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": tasks,
        }
    ]
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = (
        f"ANSIBLE_COLLECTIONS_PATH={COLLECTIONS_ROOT} ANSIBLE_LOCALHOST_WARNING=false "
        "ANSIBLE_INVENTORY_UNPARSED_WARNING=false ANSIBLE_NOCOLOR=1"
    )
    script = f"""
mount -t tmpfs tmpfs /etc/sysctl.d
{env} {ansible_playbook} -i localhost, -e ansible_python_interpreter={sys.executable} {playbook}
"""
    output = "\n".join(in_namespaces(script))
    assert "failed=0" in output and "ok=7" in output, output
    assert host_values() == before_host
    assert not Path("/etc/sysctl.d/60-tcp-keepalive.conf").exists()


# --- the model against the real loaders ------------------------------------------------------------------
# Each scenario is a tree of sysctl files ({host path: content, or "->target" for a symlink}). It is
# mounted over the host's directories inside a private mount namespace (tmpfs, bind mount for
# /etc/sysctl.conf), then boot_model() predicts, and the real loaders apply it in fresh network
# namespaces. The loaders are restricted to the keepalive keys (procps: an ERE that also admits the
# '-' prefix and slash keys, which --pattern matches against the raw key text).
SCENARIOS = {
    "masking_order_and_sysctl_conf": {
        "/usr/lib/sysctl.d/50-a.conf": "net.ipv4.tcp_keepalive_time = 100\n",
        "/etc/sysctl.d/50-a.conf": "net.ipv4.tcp_keepalive_time = 200\n",
        "/run/sysctl.d/70-b.conf": "net.ipv4.tcp_keepalive_intvl = 0x1e\n",
        "/usr/lib/sysctl.d/80-c.conf": "net.ipv4.tcp_keepalive_probes = 5\n",
        "/etc/sysctl.d/80-c.conf": "->/dev/null",
        "/etc/sysctl.conf": "net.ipv4.tcp_keepalive_intvl = 040\n",
    },
    "syntax_slash_prefix_inline_glob_comments": {
        "/etc/sysctl.d/10-x.conf": (
            "net/ipv4/tcp_keepalive_time = 300 # five minutes\n"
            " -net.ipv4.tcp_keepalive_intvl=20\n"
            "net.ipv4.tcp_keepalive_* = 7\n"
        ),
        "/etc/sysctl.d/20-y.conf": "net.ipv4.tcp_keepalive_time = 400\n; net.ipv4.tcp_keepalive_time = 1\n",
        "/etc/sysctl.conf": "",
    },
    "invalid_last_value": {
        "/etc/sysctl.d/10-a.conf": "net.ipv4.tcp_keepalive_time = 100\n",
        "/etc/sysctl.d/20-b.conf": "net.ipv4.tcp_keepalive_time = soon\n",
        "/etc/sysctl.conf": "",
    },
    "sysctl_conf_symlink_read_twice_by_procps": {
        "/etc/sysctl.conf": "net.ipv4.tcp_keepalive_time = 111\n",
        "/etc/sysctl.d/99-sysctl.conf": "->../sysctl.conf",
        "/etc/sysctl.d/99-zzz.conf": "net.ipv4.tcp_keepalive_time = 999\n",
    },
}

PREDICT = """
import json
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import boot_model
pattern = {"procps": r"^-?/?net[./]ipv4[./]tcp_keepalive_", "systemd": None}  # what the real runs use
print(json.dumps({loader: boot_model("/", loader, pattern=pattern[loader]).boot for loader in pattern}))
"""


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_model_matches_real_loaders(tmp_path, name):
    require_root()
    if SYSTEMD_SYSCTL is None:
        pytest.skip("systemd-sysctl is not installed")
    tree = tmp_path / "tree"
    for path, content in SCENARIOS[name].items():
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("->"):
            os.symlink(content[2:], target)
        else:
            target.write_text(content)
    if not (tree / "etc" / "sysctl.conf").exists():
        (tree / "etc" / "sysctl.conf").write_text("")
    read_live = helpers(tmp_path)
    prefixes = " ".join(f"--prefix=net.ipv4.tcp_keepalive_{key}" for key in KEYS)
    pattern = "'^-?/?net[./]ipv4[./]tcp_keepalive_'"
    (tmp_path / "procps.sh").write_text(
        f"sysctl -q --pattern {pattern} --system >/dev/null 2>&1 || true\n{read_live}\n{READ_SENTINEL}\n"
    )
    (tmp_path / "systemd.sh").write_text(
        f"{SYSTEMD_SYSCTL} {prefixes} 2>/dev/null || true\n{read_live}\n{READ_SENTINEL}\n"
    )
    (tree / "etc" / "sysctl.d").mkdir(parents=True, exist_ok=True)
    (tree / "etc" / "sysctl.d" / "05-sentinel.conf").write_text(SENTINEL)
    (tmp_path / "predict.py").write_text(PREDICT)
    script = f"""
{empty_sysctl_dirs(tmp_path, loader_dirs())}
for dir in etc/sysctl.d usr/lib/sysctl.d run/sysctl.d; do
  if [ -d "{tree}/$dir" ]; then cp -a "{tree}/$dir/." "/$dir/"; fi
done
mount --bind {tree}/etc/sysctl.conf /etc/sysctl.conf
PYTHONPATH={COLLECTIONS_ROOT} {sys.executable} {tmp_path}/predict.py
unshare -n sh {tmp_path}/procps.sh
unshare -n sh {tmp_path}/systemd.sh
"""
    predicted, procps, procps_ttl, systemd, systemd_ttl = in_namespaces(script)
    predicted = json.loads(predicted)
    assert (procps_ttl, systemd_ttl) == ("64", "64")  # the sentinel key in the tree was never applied
    defaults = {"time": 7200, "intvl": 75, "probes": 9}
    for loader, live in (("procps", procps), ("systemd", systemd)):
        expected = [
            predicted[loader][key] if predicted[loader][key] is not None else defaults[key] for key in KEYS
        ]
        assert [int(v) for v in live.split()] == expected, (loader, predicted[loader], live)
