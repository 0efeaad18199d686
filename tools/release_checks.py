"""The checks scripts/galaxy-test.sh makes on the installed tarball, as functions that pytest tests.

    python tools/release_checks.py version GALAXY_YML          print the collection version
    python tools/release_checks.py doc KIND FQCN INSTALLED     ansible-doc --json on stdin: a complete page
                                                               rendered from the installed copy
    python tools/release_checks.py reports REPORT_DIR          the audit's reports for localhost: every
                                                               check present, none in error

Prints what is wrong (or a one-line summary) and exits 1 on any problem.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml


def collection_version(galaxy_yml: Path) -> str:
    return str(yaml.safe_load(galaxy_yml.read_text(encoding="utf-8"))["version"])


def doc_problems(kind: str, fqcn: str, installed: str, docs: dict[str, Any]) -> list[str]:
    """What a page lacks, from `ansible-doc -t KIND --json FQCN` output."""
    doc = docs.get(fqcn)
    if not doc:
        return [f"{fqcn}: ansible-doc returned no page"]
    problems = []
    if kind == "role":
        entry = (doc.get("entry_points") or {}).get("main")
        if not entry:
            return [f"{fqcn}: no documented main entry point"]
        if not entry.get("short_description"):
            problems.append(f"{fqcn}: main entry point has no short_description")
        if not str(doc.get("path", "")).startswith(installed):
            problems.append(f"{fqcn}: rendered from {doc.get('path')}, not {installed}")
        options = entry.get("options") or {}
        problems += [
            f"{fqcn}: variable {name} has no description"
            for name, spec in options.items()
            if not spec.get("description")
        ]
        return problems
    body = doc.get("doc") or {}
    if not str(body.get("filename", "")).startswith(installed):
        problems.append(f"{fqcn}: rendered from {body.get('filename')}, not from {installed}")
    problems += [
        f"{fqcn}: {key} missing"
        for key in ("short_description", "description", "author")
        if not body.get(key)
    ]
    if not doc.get("examples"):
        problems.append(f"{fqcn}: no EXAMPLES")
    if not doc.get("return"):
        problems.append(f"{fqcn}: no RETURN")
    options = body.get("options") or {}
    problems += [
        f"{fqcn}: option {name} has no description"
        for name, spec in options.items()
        if not spec.get("description")
    ]
    return problems


def report_problems(report_dir: Path) -> tuple[list[str], str]:
    """Problems with the audit's reports for localhost, and a summary line."""
    root = ET.parse(report_dir / "junit.xml").getroot()
    cases = [case for case in root.iter("testcase") if case.get("classname") == "localhost"]
    if not cases:
        return ["junit.xml has no test case for localhost"], ""
    problems = []
    errors = [case.get("name") for case in cases if case.find("error") is not None]
    if errors:
        problems.append(f"checks in error (a module or the role broke): {errors}")
    host = json.loads((report_dir / "hosts" / "localhost.json").read_text(encoding="utf-8"))
    if host.get("host") != "localhost":
        problems.append(f"hosts/localhost.json is about {host.get('host')!r}")
    status = host.get("status")
    summary = f"junit.xml: {len(cases)} checks for localhost, {len(errors)} in error; status {status}"
    return problems, summary


def main(argv: list[str]) -> int:
    if argv[:1] == ["version"] and len(argv) == 2:
        print(collection_version(Path(argv[1])))
        return 0
    if argv[:1] == ["doc"] and len(argv) == 4:
        problems = doc_problems(argv[1], argv[2], argv[3], json.load(sys.stdin))
    elif argv[:1] == ["reports"] and len(argv) == 2:
        problems, summary = report_problems(Path(argv[1]))
        if summary:
            print(summary)
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
