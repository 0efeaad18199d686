"""Judge one galaxy-importer run (`python -m galaxy_importer.main --print-result TARBALL`).

galaxy-importer exits 0 and says "completed successfully" even when ansible-lint finds problems or
times out: it only logs them as WARNING/ERROR lines, which Galaxy then shows on the collection's page.
A clean import here means: the run completed, no WARNING or ERROR line, no content listed twice, and
ansible-doc produced documentation for every module and filter.

    python tools/galaxy_importer_check.py IMPORTER_OUTPUT_FILE

Prints what it found and exits 1 on any problem.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

DOCUMENTED_TYPES = ("module", "filter")


def split_output(text: str) -> tuple[list[str], dict[str, Any]]:
    """The log lines and the JSON result that --print-result appends (a top-level `{` line on)."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line == "{"]
    if not starts:
        return lines, {}
    start = starts[-1]
    end = max(index for index, line in enumerate(lines) if line == "}")
    return lines[:start] + lines[end + 1 :], json.loads("\n".join(lines[start : end + 1]))


def problems(text: str) -> list[str]:
    log, result = split_output(text)
    found = [line for line in log if line.startswith(("WARNING", "ERROR")) or "Traceback" in line]
    if "Importer processing completed successfully" not in log:
        found.append("galaxy-importer did not complete (no 'Importer processing completed successfully')")
    if not result:
        found.append("no JSON result in the output (was --print-result given?)")
        return found
    names = Counter((item["content_type"], item["name"]) for item in result.get("contents", []))
    found += [f"{kind} {name} is listed {count} times" for (kind, name), count in names.items() if count > 1]
    for item in result.get("docs_blob", {}).get("contents", []):
        if item["content_type"] in DOCUMENTED_TYPES and not item.get("doc_strings"):
            found.append(f"{item['content_type']} {item['content_name']} has no documentation")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    text = Path(argv[0]).read_text(encoding="utf-8")
    found = problems(text)
    result = split_output(text)[1]
    kinds = Counter(item["content_type"] for item in result.get("contents", []))
    print("contents: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())))
    for line in found:
        print(f"problem: {line}")
    print("galaxy-importer: clean" if not found else f"galaxy-importer: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
