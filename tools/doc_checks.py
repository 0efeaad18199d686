"""Checks of the docs that need no external tool: one implementation, used by scripts/docs.sh and pytest.

    python tools/doc_checks.py links        relative links in README.md, docs/ and role READMEs resolve
    python tools/doc_checks.py changelog    every changelogs/fragments file is in a release

Prints each problem and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
RELEASE_HINT = (
    "refresh the release: antsibull-changelog release --update-existing --reload-plugins --use-ansible-doc "
    "(before 0.1.0 ships: delete changelogs/changelog.yaml and run antsibull-changelog release "
    "--reload-plugins --use-ansible-doc)"
)


def markdown_pages(repo: Path = REPO) -> list[Path]:
    docs = sorted((repo / "docs").rglob("*.md"))
    pages = [repo / "README.md", *docs, *sorted(repo.glob("roles/*/README.md"))]
    return [page for page in pages if page.is_file()]


def broken_links(repo: Path = REPO) -> list[str]:
    """`page -> target` for every relative Markdown link whose file does not exist."""
    broken = []
    for page in markdown_pages(repo):
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if SCHEME.match(target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(repo)} -> {target}")
    return broken


def unreleased_fragments(repo: Path = REPO) -> list[str]:
    """Fragments in changelogs/fragments that no release in changelogs/changelog.yaml names."""
    fragments = {path.name for path in (repo / "changelogs" / "fragments").glob("*.y*ml")}
    data = yaml.safe_load((repo / "changelogs" / "changelog.yaml").read_text(encoding="utf-8")) or {}
    releases = (data.get("releases") or {}).values()
    released = {name for release in releases for name in release.get("fragments") or ()}
    return sorted(fragments - released)


def main(argv: list[str]) -> int:
    if argv == ["links"]:
        problems = [f"broken link: {line}" for line in broken_links()]
    elif argv == ["changelog"]:
        problems = [f"fragment in no release (CHANGELOG.md lacks it): {n}" for n in unreleased_fragments()]
        if problems:
            problems.append(RELEASE_HINT)
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
