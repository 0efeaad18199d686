# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet page in a real browser: headless Chromium loads fleet.html and dumps the DOM it built (after its
inline script ran, or with scripts off). Records carry hostile strings; the DOM must hold only elements and
attributes the renderer wrote, the charts and the host table. scripts/chromium.sh installs Chromium."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_collections.tcp.keepalive.plugins.plugin_utils import _checks, _records, _report
from ansible_collections.tcp.keepalive.tests.unit.html_vocabulary import HTML_TAGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (bash scripts/chromium.sh)")

POLICY = {"expected": {"time": 600, "intvl": 60, "probes": 5}, "max_detection_time": 900, "fail_on": ["high"]}
HOSTILE = ("<img src=x onerror=alert(1)>", '"><script>alert(2)</script>', "evil\x1b[31m", "x\u202ey")
N = 120


def _audit(i: int) -> dict:
    time_value = (600, 7200, 30000)[i % 3]
    name = HOSTILE[i % len(HOSTILE)] if i % 5 == 0 else f"svc{i % 7}"
    values = {"time": time_value, "intvl": 60, "probes": 5}
    findings = [{"id": "listener_without_keepalive", "severity": "high", "service": name, "message": name}]
    if i % 4 == 0:
        findings.append(
            {"id": "ghost_candidate", "severity": "high", "service": name, "count": 3, "message": name}
        )
    return {
        "user": {"uid": 0, "name": "root"},
        "settings": {"settings": {k: {"runtime": v, "boot": v} for k, v in values.items()}, "findings": []},
        "sockets": {"findings": findings, "services": []},
        "timer": {"ok": True, "findings": []},
    }


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fleet")
    records = [
        _checks.evaluate_host(
            {"host": f"web{i}{HOSTILE[i % 4] if i % 9 == 0 else ''}", "audit": _audit(i)}, POLICY
        )
        for i in range(N)
    ]
    records += [_checks.missing_host_record(f"down{i}", POLICY) for i in range(5)]
    _records.write_records(str(out), records)
    _report.rebuild([str(out)], POLICY)
    return out / "fleet.html"


def _launch(args: list[str], home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, HOME=str(home)),
    )


def _dump(page: Path, tmp_path: Path, scripts: bool = True) -> str:
    """The DOM Chromium built. Without scripts: the page minus its one inline <script> (Chromium's
    --dump-dom itself needs JavaScript, so scriptEnabled=false would dump nothing)."""
    if not scripts:
        text = page.read_text(encoding="utf-8")
        stripped = re.sub(r"<script>.*?</script>", "", text, count=1, flags=re.S)
        assert stripped != text
        page = tmp_path / "no-script.html"
        page.write_text(stripped, encoding="utf-8")
    profile = tmp_path / f"profile-{int(scripts)}"
    profile.mkdir()
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=2000",
    ]
    proc = _launch([*args, "--dump-dom", page.as_uri()], tmp_path)
    noise = re.compile(r"dbus|DBus|^\s*$")
    assert proc.returncode == 0 and "<html" in proc.stdout, "\n".join(
        line for line in proc.stderr.splitlines() if not noise.search(line)
    )[-3000:]
    return proc.stdout


class _Dom(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def _parse(dom: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Dom()
    parser.feed(dom)
    return parser.elements


def test_browser_dom_has_charts_table_and_nothing_injected(page, tmp_path):
    elements = _parse(_dump(page, tmp_path))
    tags = [tag for tag, _attrs in elements]
    assert set(tags) <= HTML_TAGS, set(tags) - HTML_TAGS
    assert tags.count("script") == 1 and "img" not in tags
    assert not [a for _t, attrs in elements for a in attrs if a.startswith("on")]
    assert all((attrs.get("href") or "").startswith("hosts/") for tag, attrs in elements if tag == "a")
    ids = {attrs.get("id") for _t, attrs in elements}
    assert {
        "chart-detection",
        "chart-checks",
        "chart-services",
        "chart-ghosts",
        "hosts",
        "unreachable",
    } <= ids
    # every chart drew bars; the detection chart has its policy line
    bars = [attrs for tag, attrs in elements if tag == "rect" and attrs.get("class") == "bar"]
    assert len(bars) >= 8
    assert any(tag == "line" and attrs.get("class") == "policy" for tag, attrs in elements)
    rows = [attrs for tag, attrs in elements if tag == "tr" and "data-s" in attrs]
    assert len(rows) == N  # reachable hosts in the table; the 5 unreachable ones in their own section
    # the inline script ran: it shows the filter controls that stay hidden without JavaScript
    box = next(attrs for tag, attrs in elements if tag == "input")
    assert "hidden" not in box


def test_page_works_without_javascript(page, tmp_path):
    dom = _dump(page, tmp_path, scripts=False)
    elements = _parse(dom)
    rows = [attrs for tag, attrs in elements if tag == "tr" and "data-s" in attrs]
    assert len(rows) == N
    box = next(attrs for tag, attrs in elements if tag == "input")
    assert "hidden" in box  # no dead controls without the script
    hosts = re.findall(r'<a href="hosts/[^"]+">([^<]*)</a>', dom)
    web = [h for h in hosts if re.fullmatch(r"web\d+", h)]
    assert web[:3] == sorted(web[:3], key=lambda h: int(h[3:]))  # numeric-aware order within a status
