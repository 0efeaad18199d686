# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Records full of hostile strings: every report parses, injects nothing, and keeps table rows whole.

Host names, process names (prctl PR_SET_NAME), service names, file paths and messages come from the
managed hosts. JUnit is read by expat (a strict XML 1.0 parser: one bad character rejects the whole file)
and by xmllint when installed; HTML by html.parser here and by Chromium in
tests/integration/test_fleet_page_browser.py.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.tcp.keepalive.plugins.plugin_utils import _records, _report, _text
from ansible_collections.tcp.keepalive.tests.unit.html_vocabulary import HTML_ATTRS, HTML_TAGS

POLICY = {
    "expected": {"time": 600, "intvl": 60, "probes": 5},
    "max_detection_time": 900,
    "fail_on": ["high", "medium"],
    "idle_threshold": 900,
}
HOSTILE = (
    "evil\x1b[31mred\x1b[0m\x1b]0;pwned\x07",
    "nul\x00byte\x01\x02\x08\x0b\x0c\x1f\x7f",
    "cr\rsplit\nrow",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "l](javascript:alert(1))",
    "[x](javascript:alert(1)) **b** _i_ `c` <b>raw</b> | pipe |",
    "q\"uote's & <!-- ]]> \ufffe \uffff",
    "c1\x9b31mcsi\x85nel",
    "bidi\u202eevil\u2066x\u2069",
    "lone\ud800surrogate",
    "ok-host.example.com",
)
GOOD = {"time": 600, "intvl": 60, "probes": 5}


def _raw(i: int, name: str) -> dict[str, Any]:
    finding = {
        "id": "listener_without_keepalive",
        "severity": "high",
        "message": f"{name} listens without keepalive",
        "service": name,
        "comm": name,
        "pid": 100 + i,
        "file": f"/etc/{name}.conf",
        "socket": {"local": f"0.0.0.0:{1000 + i}", "remote": name, "state": "LISTEN"},
    }
    ghost = dict(finding, id="ghost_candidate", count=2, sockets=[name, f"10.0.0.{i}:1->{name}"])
    settings = {
        "settings": {
            k: {"runtime": v, "boot": v, "boot_source": {"file": f"/etc/sysctl.d/{name}", "line": 1}}
            for k, v in GOOD.items()
        },
        "detection_time": {"runtime": 900, "boot": 900},
        "namespaces": [{"inode": 1}],
        "findings": [{"id": "unparsable_line", "severity": "low", "message": name, "file": name, "line": 2}],
        "warnings": [name],
    }
    return {
        "host": name if i % 2 == 0 else f"{name}-{i}",
        "audit": {
            "user": {"uid": 0, "name": name},
            "settings": settings,
            "sockets": {"findings": [finding, ghost], "services": [{"name": name, "hint": name}]},
            "timer": {"ok": True, "findings": [], "observed_time": 600},
        },
    }


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    records = [_report.evaluate_host(_raw(i, name), POLICY) for i, name in enumerate(HOSTILE)]
    records.append(_report.missing_host_record("unreach\x1b[2J<script>", POLICY))
    written, errors = _records.write_records(str(out), records)
    assert not errors and len(written) == len(records)
    _report.rebuild([str(out)], POLICY)
    return out


def _forbidden_xml(text: str) -> list[str]:
    return re.findall("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", text)


def test_junit_parses_in_a_strict_parser(fleet_dir):
    text = (fleet_dir / "junit.xml").read_text(encoding="utf-8")
    assert not _forbidden_xml(text)
    root = ET.fromstring(text.encode("utf-8"))  # expat: not well-formed -> ParseError
    hosts = {case.get("classname") for case in root.iter("testcase")}
    assert len(hosts) == len(HOSTILE) + 1
    assert "evil\\x1b[31mred\\x1b[0m\\x1b]0;pwned\\x07" in hosts  # shown, not dropped
    if shutil.which("xmllint"):
        run = subprocess.run(
            ["xmllint", "--noout", str(fleet_dir / "junit.xml")], capture_output=True, check=False
        )
        assert run.returncode == 0, run.stderr


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def test_html_has_only_the_renderers_elements_and_attributes(fleet_dir):
    text = (fleet_dir / "fleet.html").read_text(encoding="utf-8")
    parser = _Elements()
    parser.feed(text)
    assert {tag for tag, _attrs in parser.tags} <= HTML_TAGS
    assert {name for _tag, attrs in parser.tags for name, _value in attrs} <= HTML_ATTRS
    assert [tag for tag, _attrs in parser.tags].count("script") == 1
    hrefs = [value for _tag, attrs in parser.tags for name, value in attrs if name == "href"]
    assert hrefs and all(re.fullmatch(r"hosts/[A-Za-z0-9._@-]+\.json", h or "") for h in hrefs)
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text


def test_markdown_rows_stay_whole_and_carry_no_link_html_or_escape(fleet_dir):
    text = (fleet_dir / "fleet.md").read_text(encoding="utf-8")
    assert "\r" not in text and "\x1b" not in text and "\x9b" not in text and "\u2028" not in text
    assert not re.search(r"<(?!br>)[A-Za-z!/]", text)  # no raw HTML tag, comment or closing tag
    assert "](javascript" not in text.replace("\\]", "").replace("\\(", "")  # only escaped brackets remain
    links = re.findall(r"(?<!\\)\]\((?P<target>[^)]*)\)", text)
    assert links and all(re.fullmatch(r"hosts/[A-Za-z0-9._@-]+\.json", target) for target in links)
    header_cells = None
    for line in text.splitlines():
        if line.startswith("| Host | Status |"):
            header_cells = len(re.findall(r"(?<!\\)\|", line))
        elif header_cells and line.startswith("|"):
            assert line.endswith("|"), line
            assert len(re.findall(r"(?<!\\)\|", line)) == header_cells, line
        elif header_cells and not line.startswith("|"):
            break
    host_rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert len(host_rows) == len(HOSTILE) + 1


def test_console_summary_sends_no_escape_sequence(fleet_dir):
    text = (fleet_dir / "summary.txt").read_text(encoding="utf-8")
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]", text)
    assert "unreach\\x1b[2J<script>" in text  # made visible (a terminal shows no markup anyway)


def test_json_records_keep_the_original_strings(fleet_dir):
    names = set()
    for path in (fleet_dir / "hosts").glob("*.json"):
        names.add(json.loads(path.read_text(encoding="utf-8"))["host"])
    assert "evil\x1b[31mred\x1b[0m\x1b]0;pwned\x07" in names


def test_text_helpers():
    assert _text.markdown_cell("a|b\rc\nd") == "a\\|b\\\\x0dc\\\\x0ad"  # shows a|b\x0dc\x0ad
    assert _text.markdown_cell("<script>") == "&lt;script&gt;"
    assert _text.markdown_cell("l](javascript:x)") == "l\\]\\(javascript\\:x\\)"
    assert _text.terminal("\x1b[2J\x9b1m\u202e") == "\\x1b[2J\\x9b1m\\u202e"
    assert _text.xml_text("a\x00b\ufffe\tc\n") == "a\\x00b\\ufffe\tc\n"
    assert _text.html_text('"<&>') == "&quot;&lt;&amp;&gt;"


# ---- host file names -------------------------------------------------------------------------------
def test_long_host_names_get_bounded_distinct_files_and_do_not_stop_the_others(tmp_path):
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    hosts = [long_a, long_b, "x" * 251, "web1", "../../etc/passwd", ".hidden", "WEB1", "web1/../x"]
    names = [_records.host_filename(h) for h in hosts]
    assert len(set(names)) == len(hosts)
    assert all(len(n.encode()) <= 255 - len(".tmp-XXXXXXXX") for n in names)
    assert all(re.fullmatch(r"[A-Za-z0-9._@-]+\.json", n) and not n.startswith(".") for n in names)
    assert _records.host_filename("web1") == "web1.json"
    records = [_report.missing_host_record(h, POLICY) for h in hosts]
    # one host's record cannot be written (a directory sits where its file goes): the others still are
    (tmp_path / "hosts").mkdir()
    blocked = tmp_path / "hosts" / _records.host_filename("web1")
    blocked.mkdir()
    (blocked / "keep").write_text("x")
    written, errors = _records.write_records(str(tmp_path), records)
    assert set(written) == set(hosts) - {"web1"}
    assert len(errors) == 1 and "web1" in errors[0]
    loaded, _warnings = _records.load_records([str(tmp_path)])
    assert {r["host"] for r in loaded} == set(hosts) - {"web1"}
    assert os.path.isdir(blocked)
