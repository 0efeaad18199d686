# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Throw-away containers for the per-host and fleet benchmarks, and an inventory that reaches them.

Local images only (scripts/images.sh builds them; nothing is pulled). Each container may write its own
network namespace's sysctls: NET_ADMIN + SYS_ADMIN and /proc/sys remounted read-write (docs/development.md)
(`privileged: true` fails on these machines). No network (`--network none`): the docker connection
plugin talks through `docker exec`, and the benchmarks only touch the container's own namespace.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

IMAGE = "tcp-keepalive/debian:bookworm"
START_COMMAND = "mount -o remount,rw /proc/sys && exec sleep infinity"
LABEL = "tcp-keepalive-bench"


class ContainerError(RuntimeError):
    """Docker is missing, the image is missing, or a container would not start."""


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise ContainerError(f"docker {' '.join(args[:3])}: {proc.stderr.strip()[-500:]}")
    return proc


def docker_ready(image: str = IMAGE) -> str:
    """'' when docker answers and `image` exists, else why not (for a clear message)."""
    try:
        if docker("info", check=False).returncode != 0:
            return "docker does not answer (bash scripts/docker-up.sh)"
    except FileNotFoundError:
        return "docker is not installed (bash scripts/docker-up.sh)"
    if docker("image", "inspect", image, check=False).returncode != 0:
        return f"image {image} is missing (bash scripts/images.sh)"
    return ""


@dataclass
class Fleet:
    names: list[str]
    image: str = IMAGE
    hostvars: dict[str, str] = field(default_factory=dict)

    def inventory(self, path: str, group: str = "bench") -> str:
        """Write an INI inventory: every container under `group`, reached with community.docker.docker."""
        lines = (
            [f"[{group}]"]
            + self.names
            + [
                "",
                f"[{group}:vars]",
                "ansible_connection=community.docker.docker",
                "ansible_python_interpreter=/usr/bin/python3",
            ]
        )
        lines += [f"{key}={value}" for key, value in self.hostvars.items()]
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def exec_all(self, script: str) -> None:
        """Run a shell snippet in every container (reset between runs)."""
        for name in self.names:
            docker("exec", name, "sh", "-c", script)

    def remove(self) -> None:
        if self.names:
            docker("rm", "-f", *self.names, check=False)


def start_fleet(prefix: str, count: int, image: str = IMAGE) -> Fleet:
    """Start `count` containers named <prefix>-<i>; remove them all again if one fails."""
    fleet = Fleet(names=[])
    try:
        for index in range(count):
            name = f"{prefix}-{index:03d}"
            docker("rm", "-f", name, check=False)
            docker(
                "run",
                "-d",
                "--name",
                name,
                "--label",
                LABEL,
                "--network",
                "none",
                "--cap-add",
                "NET_ADMIN",
                "--cap-add",
                "SYS_ADMIN",
                image,
                "sh",
                "-c",
                START_COMMAND,
            )
            fleet.names.append(name)
        for name in fleet.names:
            state = docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
            if state != "true":
                logs = docker("logs", name, check=False).stderr.strip()[-300:]
                raise ContainerError(f"container {name} is not running: {logs}")
    except BaseException:
        fleet.remove()
        raise
    return fleet


def ansible_json_env(extra: Sequence[str] = ()) -> dict[str, str]:
    """Environment for ansible-playbook whose stdout is one JSON document (json callback)."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
    )
    for item in extra:
        key, _equals, value = item.partition("=")
        env[key] = value
    return env


def play_stats(output: dict) -> dict[str, int]:
    """Totals over hosts from a json-callback document: ok, changed, failures, unreachable, skipped."""
    totals = {"ok": 0, "changed": 0, "failures": 0, "unreachable": 0, "skipped": 0, "hosts": 0}
    for host_stats in (output.get("stats") or {}).values():
        totals["hosts"] += 1
        for key in ("ok", "changed", "failures", "unreachable", "skipped"):
            totals[key] += int(host_stats.get(key, 0))
    return totals


def task_durations(output: dict) -> list[tuple[str, float]]:
    """(task name, seconds from its start to its end over all hosts) from a json-callback document."""
    from datetime import datetime

    def stamp(text: str) -> float:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()

    found = []
    for play in output.get("plays") or []:
        for task in play.get("tasks") or []:
            meta = task.get("task") or {}
            duration = meta.get("duration") or {}
            if duration.get("start") and duration.get("end"):
                found.append((str(meta.get("name")), stamp(duration["end"]) - stamp(duration["start"])))
    return found


def first_failure(output: dict) -> str:
    """The first failed or unreachable task result's message, for a readable error."""
    for play in output.get("plays") or []:
        for task in play.get("tasks") or []:
            for host, result in (task.get("hosts") or {}).items():
                if result.get("failed") or result.get("unreachable"):
                    name = (task.get("task") or {}).get("name")
                    return f"{host}: task {name!r}: {str(result.get('msg'))[:300]}"
    return ""
