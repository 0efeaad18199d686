#!/usr/bin/env bash
# Documentation build and checks.
#   bash scripts/docs.sh           regenerate docs/reference/ and the role README variable tables, then lint
#   bash scripts/docs.sh --check   change nothing; fail when the docs are stale or a linter complains
#                                  (this is what scripts/test.sh runs)
# Checks: antsibull-docs lint-collection-docs --plugin-docs (schema and markup of every module, plugin and
# role doc), antsibull-changelog lint (changelogs/fragments), the generated reference and role READMEs in
# step with the collection's own docs, and relative links inside docs/ pointing at files that exist.
source "$(dirname "$0")/lib.sh"
[[ -x "$VENV/bin/antsibull-docs" ]] || bash "$REPO/scripts/venv.sh"
mkdir -p "$COLLECTIONS_ROOT/ansible_collections/tcp"
ln -sfn "$REPO" "$COLLECTIONS_ROOT/ansible_collections/tcp/keepalive"

mode="write"
case "${1:-}" in
  --check) mode=check ;;
  "") ;;
  *) die "usage: $0 [--check]" ;;
esac
rc=0
step() { log "$*"; }

if [[ $mode == write ]]; then
  step "regenerating docs/reference/ from ansible-doc"
  python "$REPO/tools/docs_reference.py"
  step "regenerating role README variable tables from meta/argument_specs.yml"
  python "$REPO/tools/role_readme.py"
fi

step "antsibull-docs lint-collection-docs --plugin-docs"
# Run on the ansible_collections/tcp/keepalive path so references to tcp.keepalive.* resolve.
(cd "$COLLECTIONS_ROOT/ansible_collections/tcp/keepalive" && antsibull-docs lint-collection-docs --plugin-docs .) \
  || { printf 'FAIL: antsibull-docs lint-collection-docs (above)\n' >&2; rc=1; }

step "antsibull-changelog lint"
(cd "$REPO" && antsibull-changelog lint) || { printf 'FAIL: antsibull-changelog lint (above)\n' >&2; rc=1; }

step "CHANGELOG.md covers every fragment in changelogs/fragments"
python - "$REPO" <<'PY' || rc=1
import sys
from pathlib import Path
import yaml
repo = Path(sys.argv[1])
fragments = {p.name for p in (repo / "changelogs" / "fragments").glob("*.y*ml")}
data = yaml.safe_load((repo / "changelogs" / "changelog.yaml").read_text(encoding="utf-8")) or {}
released = {f for release in (data.get("releases") or {}).values() for f in release.get("fragments") or ()}
missing = sorted(fragments - released)
if missing:
    print("fragments not in any release of changelogs/changelog.yaml (CHANGELOG.md lacks them): "
          + ", ".join(missing) + "\nrefresh the release: antsibull-changelog release --update-existing "
          "--reload-plugins --use-ansible-doc (before 0.1.0 ships: delete changelogs/changelog.yaml and "
          "run antsibull-changelog release --reload-plugins --use-ansible-doc)", file=sys.stderr)
    sys.exit(1)
PY

step "docs/reference/ in step with the collection's docs"
python "$REPO/tools/docs_reference.py" --check || rc=1

step "role READMEs in step with meta/argument_specs.yml"
python "$REPO/tools/role_readme.py" --check || rc=1

step "relative links in docs/ and README.md"
python - "$REPO" <<'PY' || rc=1
import re, sys
from pathlib import Path
repo = Path(sys.argv[1])
link = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
bad = []
for page in [repo / "README.md", *sorted((repo / "docs").rglob("*.md")), *sorted(repo.glob("roles/*/README.md"))]:
    if not page.is_file():
        continue
    for target in link.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            bad.append(f"{page.relative_to(repo)}: broken link {target}")
print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY

if [[ $rc -ne 0 ]]; then
  [[ $mode == check ]] && log "to regenerate the generated parts: bash scripts/docs.sh"
  die "documentation checks failed"
fi
log "documentation checks passed"
