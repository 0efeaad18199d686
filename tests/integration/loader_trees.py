"""Seeded differential test of the boot model against the real boot loaders.

A generator makes random sysctl.d trees (the sysctl.d directories and /etc/sysctl.conf: masks, empty
files, symlinks, dangling links, directories named *.conf, hidden files, duplicates, slash and '-' forms,
globs, '-key' exclusions, comments, CR/CRLF and odd whitespace, out-of-range and malformed values). For
each tree, `_sysctl_conf.boot_model()` predicts the three keepalive values under each loader, and the
real procps `sysctl --system` and systemd-sysctl apply the same tree in a fresh network namespace; the
values read back from /proc/sys are compared key by key.

Run this file only as `unshare -m --propagation private python loader_trees.py ...`: it refuses to run
in the host's mount namespace. It mounts a tmpfs over each sysctl.d directory (a directory the host
lacks, such as /usr/local/lib/sysctl.d on a fresh Debian, is made inside an overlay of its parent:
mountns.py) and binds a scratch file (or /dev/null) over /etc/sysctl.conf, all inside that private
mount namespace. Each loader runs in its own `unshare -n` namespace, restricted to our keys
(`sysctl --pattern ... --system`, `systemd-sysctl --prefix=...`); every tree also sets the per-netns
sentinel net.ipv4.ip_default_ttl = 77, which must still read 64 after every loader call.

Output: one JSON line per disagreement or sentinel leak, then a summary line {"summary": {...}}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from ansible_collections.tcp.keepalive.tests.integration.mountns import empty_dirs_script, loader_dirs

PATTERN = r"^-?/?net[./]ipv4[./]tcp_keepalive_"
KEYS = ("time", "intvl", "probes")
DEFAULTS = {"time": 7200, "intvl": 75, "probes": 9}
SENTINEL = "net.ipv4.ip_default_ttl"
SENTINEL_DEFAULT = "64"
SYSTEMD_SYSCTL = next(
    (p for p in ("/lib/systemd/systemd-sysctl", "/usr/lib/systemd/systemd-sysctl") if os.path.exists(p)), None
)
PREFIXES = " ".join(f"--prefix=net.ipv4.tcp_keepalive_{key}" for key in KEYS)
READ_NAMES = ("tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes", "ip_default_ttl")
READ = " ".join(f"/proc/sys/net/ipv4/{name}" for name in READ_NAMES)
LOADER_SCRIPTS = {
    "procps": f"sysctl --pattern '{PATTERN}' --system >/dev/null 2>&1; cat {READ}",
    "systemd": f"{SYSTEMD_SYSCTL} {PREFIXES} >/dev/null 2>&1; cat {READ}",
}
ENV = {"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

# --------------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------------
NAMES = [
    "10-a.conf",
    "50-b.conf",
    "60-tcp-keepalive.conf",
    "99-z.conf",
    "zz.conf",
    "a.conf",
    "99-sysctl.conf",
    ".hidden.conf",
    ".conf",
    "50-b.conf~",
    "x.txt",
    "conf",
]
VALUES = [
    "0600",
    "0x1f",
    "0X10",
    "0x",
    "09",
    "-0",
    "-5",
    "-1",
    "0",
    "00",
    "255",
    "256",
    "300",
    "8589934",
    "8589935",
    "2147483647",
    "1_000",
    "\u0661\u0662",
    "600 # note",
    "600\t# note",
    "600#c",
    "",
    "abc",
    " 42 ",
    "\u00a0600",
    "600\u00a0",
    "\udca0600",
    "60\f",
    "\f60",
    "\v60",
    "60\v",
    "1e3",
    "99999999999999999999",
    "+5",
    "7 8",
    "0000000000000000000010",
    "000000000000000000010",
    "5;6",
]
SEPARATORS = [" = ", "=", " =\t", "\t= ", " =  ", "\f= ", " =\f", "\v=", "\u00a0= ", " = \u00a0"]
PREFIX_FORMS = ["", "", "", "", "-", "-", "- ", " -", "--", "\t"]
ENDINGS = ["\n"] * 12 + ["\r\n", "\r\n", "\r", "\n\r", "\f\n", "\v\n"]
ODD_JOINS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r", "\0"]
GLOBS = [
    "net.ipv4.tcp_keepalive_*",
    "net/ipv4/tcp_keepalive_*",
    "net.ipv4.tcp_keepalive_[ti]*",
    "net.ipv4.tcp_keepalive_?ime",
    "net.ipv4.tcp_keepalive_*l",
    "net.*.tcp_keepalive_time",
    "/net/ipv4/tcp_keepalive_*",
    "net..ipv4.tcp_keepalive_*",
    "net.ipv4.tcp_keepalive_p[",
    "net.ipv4.tcp_keepalive_[!t]*",
    "net.ipv4.tcp_keepalive_*.",
    "net.ipv4.tcp_keepalive_pr?bes",
]


def key_form(rng: random.Random, key: str) -> str:
    dotted = f"net.ipv4.tcp_keepalive_{key}"
    slashed = dotted.replace(".", "/")
    forms = (
        [dotted] * 6
        + [slashed] * 3
        + [
            "/" + slashed,
            "/" + dotted,
            f"net..ipv4.tcp_keepalive_{key}",
            dotted + ".",
            slashed + "/",
            f"net.ipv4/tcp_keepalive_{key}",
            f"net/ipv4.tcp_keepalive_{key}",
            dotted + "..",
        ]
    )
    return rng.choice(forms)


def value(rng: random.Random) -> str:
    if rng.random() < 0.55:
        return str(rng.choice([1, 5, 9, 10, 30, 60, 75, 120, 127, 600, 7200, rng.randint(1, 200)]))
    return rng.choice(VALUES)


def name(rng: random.Random) -> str:
    return key_form(rng, rng.choice(KEYS)) if rng.random() < 0.8 else rng.choice(GLOBS)


def line(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.58:
        return rng.choice(PREFIX_FORMS) + name(rng) + rng.choice(SEPARATORS) + value(rng)
    if roll < 0.68:
        excluded = name(rng)
        return rng.choice(["-", "-", "- ", " -"]) + excluded + rng.choice(["", "", " ", "\t", "\f"])
    if roll < 0.74:
        return rng.choice(["# ", ";", "  # ", "\t;"]) + name(rng) + " = " + value(rng)
    if roll < 0.78:
        return rng.choice(["", "  ", "\t", "\f"])
    if roll < 0.81:
        return rng.choice(["garbage line", "x", "= 5", "==", "net.ipv4.tcp_keepalive_time", "-"])
    if roll < 0.86:
        return rng.choice(["", "-", " "]) + rng.choice([SENTINEL, SENTINEL.replace(".", "/")]) + " = 77"
    first = rng.choice(["# note", name(rng) + " = " + value(rng)])
    return first + rng.choice(ODD_JOINS) + name(rng) + rng.choice(SEPARATORS) + value(rng)


def content(rng: random.Random) -> bytes:
    count = rng.choice([1, 1, 2, 3, 4, 6, 9])
    text = "".join(line(rng) + rng.choice(ENDINGS) for _line in range(count))
    if rng.random() < 0.15:
        text = text.rstrip("\n")  # no final newline
    return text.encode("utf-8", errors="surrogateescape")


def make_tree(rng: random.Random, dirs: list[str]) -> dict:
    """{host path: ("file", bytes) | ("link", target) | ("dir",)}, plus "/etc/sysctl.conf"."""
    tree: dict = {}
    files: list[str] = []
    for _file in range(rng.choice([1, 2, 3, 4, 5, 6, 8])):
        directory = rng.choice(dirs + ["/etc/sysctl.d", "/usr/lib/sysctl.d"])
        path = f"{directory}/{rng.choice(NAMES)}"
        roll = rng.random()
        if roll < 0.66:
            tree[path] = ("file", content(rng))
            files.append(path)
        elif roll < 0.71:
            tree[path] = ("file", b"")
        elif roll < 0.77:
            tree[path] = ("link", "/dev/null")
        elif roll < 0.84 and files:
            target = rng.choice(files)
            relative = os.path.relpath(target, os.path.dirname(path))
            tree[path] = ("link", rng.choice([target, relative]))
        elif roll < 0.89:
            tree[path] = ("link", rng.choice(["/nowhere/x.conf", "missing.conf"]))
        elif roll < 0.94:
            tree[path] = ("dir",)
        else:
            tree[f"{directory}/sub.d"] = ("dir",)
            tree[path] = ("link", "sub.d")
    if rng.random() < 0.5:
        tree["/etc/sysctl.d/99-sysctl.conf"] = ("link", "../sysctl.conf")
    roll = rng.random()
    tree["/etc/sysctl.conf"] = (
        ("file", content(rng)) if roll < 0.6 else ("file", b"") if roll < 0.8 else ("devnull",)
    )
    return tree


def describe(tree: dict) -> dict:
    """JSON-ready view of a tree (for a disagreement report)."""
    shown = {}
    for path, entry in sorted(tree.items()):
        if entry[0] == "file":
            shown[path] = entry[1].decode("utf-8", errors="surrogateescape").encode("unicode_escape").decode()
        else:
            shown[path] = "->" + entry[1] if entry[0] == "link" else entry[0]
    return shown


# --------------------------------------------------------------------------------------------------
# The namespace side
# --------------------------------------------------------------------------------------------------
def _run(*command: str) -> None:
    subprocess.run(command, check=True, env=ENV, capture_output=True)


def sysctl_dirs() -> list[str]:
    return list(loader_dirs())  # /lib/sysctl.d on a split /usr only


def require_private_mount_namespace() -> None:
    if os.geteuid() != 0:
        sys.exit("loader_trees.py needs root (it mounts tmpfs in a private mount namespace)")
    mine = os.readlink("/proc/self/ns/mnt")
    callers = [os.environ["HOST_MNT_NS"]] if os.environ.get("HOST_MNT_NS") else []
    with contextlib.suppress(OSError):  # an orphan's parent is PID 1 of another namespace: HOST_MNT_NS says
        callers.append(os.readlink(f"/proc/{os.getppid()}/ns/mnt"))
    if not callers:
        sys.exit("set HOST_MNT_NS=$(readlink /proc/self/ns/mnt) before unshare -m, so the check can be made")
    if mine in callers:
        sys.exit("refusing to run in the caller's mount namespace: use unshare -m --propagation private")


def prepare(dirs: list[str]) -> str:
    """An empty tmpfs over every sysctl.d directory (one the host lacks is made inside an overlay of its
    parent: mountns.py), a scratch tmpfs for /etc/sysctl.conf."""
    layers = tempfile.mkdtemp(prefix="loader-trees-layers-")
    _run("sh", "-ec", "\n".join(empty_dirs_script(dirs, layers)))
    scratch = tempfile.mkdtemp(prefix="loader-trees-")
    _run("mount", "-t", "tmpfs", "tmpfs", scratch)
    with open(f"{scratch}/sysctl.conf", "wb"):
        pass
    _run("mount", "--bind", f"{scratch}/sysctl.conf", "/etc/sysctl.conf")
    return scratch


def install(tree: dict, dirs: list[str], scratch: str, state: dict) -> None:
    for directory in dirs:
        for entry in os.listdir(directory):
            full = os.path.join(directory, entry)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
    for path, entry in tree.items():
        if path == "/etc/sysctl.conf":
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if entry[0] == "file":
            with open(path, "wb") as handle:
                handle.write(entry[1])
        elif entry[0] == "link":
            os.symlink(entry[1], path)
        else:
            os.makedirs(path, exist_ok=True)
    conf = tree["/etc/sysctl.conf"]
    wanted = "/dev/null" if conf[0] == "devnull" else f"{scratch}/sysctl.conf"
    if state.get("bound") != wanted:
        _run("umount", "/etc/sysctl.conf")
        _run("mount", "--bind", wanted, "/etc/sysctl.conf")
        state["bound"] = wanted
    if conf[0] == "file":
        with open(f"{scratch}/sysctl.conf", "wb") as handle:
            handle.write(conf[1])


def run_loader(loader: str) -> tuple[dict, str]:
    """Run the real loader in a fresh network namespace: (our three values, sentinel value)."""
    command = ["unshare", "-n", "sh", "-c", LOADER_SCRIPTS[loader]]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, check=True)
    numbers = done.stdout.split()
    return {key: int(number) for key, number in zip(KEYS, numbers)}, numbers[3]


def predict(loader: str) -> dict:
    from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import boot_model

    boot = boot_model("/", loader, pattern=PATTERN if loader == "procps" else None).boot
    return {key: DEFAULTS[key] if boot[key] is None else boot[key] for key in KEYS}


def tree_of(files: dict) -> dict:
    """A driver tree from a case's {host path: text | "->target" | "<dir>"}."""
    tree: dict = {"/etc/sysctl.conf": ("file", b"")}
    for path, spec in files.items():
        if spec.startswith("->"):
            tree[path] = ("link", spec[2:])
        elif spec == "<dir>":
            tree[path] = ("dir",)
        else:
            tree[path] = ("file", spec.encode("utf-8", errors="surrogateescape"))
    return tree


def run_cases(path: str, loaders: list[str], dirs: list[str], scratch: str) -> int:
    """The real loaders' values for each fixed case, and the model's, one JSON line per case."""
    with open(path, encoding="utf-8") as handle:
        cases = json.load(handle)
    state: dict = {"bound": f"{scratch}/sysctl.conf"}
    for name, files in cases.items():
        install(tree_of(files), dirs, scratch, state)
        record: dict = {"case": name}
        for loader in loaders:
            real, sentinel = run_loader(loader)
            record[loader] = {"real": real, "model": predict(loader), "sentinel": sentinel}
        print(json.dumps(record), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--loaders", default="procps,systemd")
    parser.add_argument("--check-only", action="store_true", help="only check the mount namespace, then exit")
    parser.add_argument("--cases", help="JSON {name: {host path: text | '->target' | '<dir>'}}: run those")
    args = parser.parse_args()
    require_private_mount_namespace()
    if args.check_only:
        print(json.dumps({"private_mount_namespace": True}))
        return 0
    loaders = [name for name in args.loaders.split(",") if name]
    if "systemd" in loaders and SYSTEMD_SYSCTL is None:
        sys.exit("systemd-sysctl is not installed")
    dirs = sysctl_dirs()
    scratch = prepare(dirs)
    if args.cases:
        return run_cases(args.cases, loaders, dirs, scratch)
    rng = random.Random(args.seed)
    counts = {loader: 0 for loader in loaders}
    changed = {loader: 0 for loader in loaders}  # trees where the loader set at least one key
    leaks = 0
    namespaces = 0
    started = time.monotonic()
    state: dict = {"bound": f"{scratch}/sysctl.conf"}
    for index in range(args.trees):
        tree = make_tree(rng, dirs)
        install(tree, dirs, scratch, state)
        for loader in loaders:
            expected = predict(loader)
            real, sentinel = run_loader(loader)
            namespaces += 1
            changed[loader] += real != DEFAULTS
            wrong = {k: {"model": expected[k], "real": real[k]} for k in KEYS if expected[k] != real[k]}
            if sentinel != SENTINEL_DEFAULT:
                leaks += 1
                wrong["sentinel"] = {"model": SENTINEL_DEFAULT, "real": sentinel}
            if wrong:
                counts[loader] += 1
                report = {"seed": args.seed, "tree": index, "loader": loader, "wrong": wrong}
                print(json.dumps({**report, "files": describe(tree)}), flush=True)
    summary = {
        "seed": args.seed,
        "trees": args.trees,
        "disagreements": counts,
        "trees_with_values_set": changed,
        "sentinel_leaks": leaks,
        "network_namespaces": namespaces,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
