"""Let `ansible-test --venv` bootstrap pip without reaching ci-files.testing.ansible.com.

ansible-test installs pip into each test venv with a get-pip script it downloads, unless
~/.ansible/test/cache/get_pip_<version>.py already exists (ansible_test/_util/target/setup/requirements.py,
bootstrap()); the version is the pip it pins (ansible_test/_internal/python_requirements.py,
get_venv_packages()). `place()` writes a stand-in there that bootstraps pip from the interpreter's
bundled wheel (ensurepip) and then runs `pip install` with the arguments ansible-test gives it.

    python tools/ansible_test_pip.py        # prints the path it wrote
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

STANDIN = """\
# Stand-in for get-pip.py written by tcp.keepalive tools/ansible_test_pip.py (the real one cannot be
# downloaded here): bootstrap pip from the interpreter's bundled wheel, then install what was asked for.
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip.py options that pip install does not know
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
"""


def pinned_pip_version(source: str) -> str:
    """The pip version in get_venv_packages()'s source (`pip='24.0'`)."""
    match = re.search(r"pip='([0-9.]+)'", source)
    if match is None:
        raise ValueError("no pip='<version>' in ansible-test's get_venv_packages()")
    return match.group(1)


def cache_path(version: str, home: Path) -> Path:
    return home / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"


def place(home: Path | None = None) -> Path:
    from ansible_test._internal import python_requirements

    version = pinned_pip_version(inspect.getsource(python_requirements.get_venv_packages))
    path = cache_path(version, home or Path.home())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STANDIN, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(place())
