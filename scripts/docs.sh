#!/usr/bin/env bash
# Documentation build and checks.
#   bash scripts/docs.sh           regenerate docs/reference/ and the role README variable tables, then lint
#   bash scripts/docs.sh --check   change nothing; fail when the docs are stale or a linter complains
#                                  (this is what scripts/test.sh runs)
# Checks: antsibull-docs lint-collection-docs --plugin-docs (schema and markup of every module, plugin and
# role doc), antsibull-changelog lint (changelogs/fragments), the generated reference and role READMEs in
# step with the collection's own docs, relative links inside docs/ pointing at files that exist
# (tools/doc_checks.py, which tests/unit/test_docs.py uses too), and docs/docsite/ (tools/docsite.py).
source "$(dirname "$0")/lib.sh"
[[ -x "$VENV/bin/antsibull-docs" ]] || bash "$REPO/scripts/venv.sh"
# pandoc (Debian's) turns the how-tos into the RST that antsibull-docs includes (tools/docsite.py).
if ! command -v pandoc >/dev/null 2>&1; then
  log "installing pandoc"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pandoc || { apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pandoc; }; } >/dev/null 2>&1 \
    || die "pandoc could not be installed (apt-get install pandoc)"
fi
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
  step "regenerating docs/docsite/rst/ from docs/how-to/ (pandoc)"
  python "$REPO/tools/docsite.py"
fi

step "antsibull-docs lint-collection-docs --plugin-docs"
# Run on the ansible_collections/tcp/keepalive path so references to tcp.keepalive.* resolve.
(cd "$COLLECTIONS_ROOT/ansible_collections/tcp/keepalive" && antsibull-docs lint-collection-docs --plugin-docs .) \
  || { printf 'FAIL: antsibull-docs lint-collection-docs (above)\n' >&2; rc=1; }

step "antsibull-changelog lint"
(cd "$REPO" && antsibull-changelog lint) || { printf 'FAIL: antsibull-changelog lint (above)\n' >&2; rc=1; }

step "CHANGELOG.md covers every fragment in changelogs/fragments"
python "$REPO/tools/doc_checks.py" changelog || rc=1

step "docs/reference/ in step with the collection's docs"
python "$REPO/tools/docs_reference.py" --check || rc=1

step "role READMEs in step with meta/argument_specs.yml"
python "$REPO/tools/role_readme.py" --check || rc=1

step "relative links in docs/ and README.md"
python "$REPO/tools/doc_checks.py" links || rc=1

step "docs/docsite/rst/ (antsibull-docs extra docs) in step with docs/how-to/"
python "$REPO/tools/docsite.py" --check || rc=1

if [[ $rc -ne 0 ]]; then
  [[ $mode == check ]] && log "to regenerate the generated parts: bash scripts/docs.sh"
  die "documentation checks failed"
fi
log "documentation checks passed"
