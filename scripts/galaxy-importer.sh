#!/usr/bin/env bash
# galaxy-importer 0.4.44 (what Galaxy and Automation Hub run on upload) on the tarball that
# `ansible-galaxy collection build` makes, with no network at all: it runs inside a fresh network
# namespace (`unshare --net`, loopback only; root), so a step that wanted the network would fail here.
# galaxy-importer lives in its own cached virtualenv, .venvs/galaxy-importer, built from
# scripts/requirements/galaxy-importer.txt. tools/galaxy_importer_check.py judges the run: galaxy-importer
# itself exits 0 even when ansible-lint finds problems or times out.
#
#   bash scripts/galaxy-importer.sh        (KEEP=1 keeps the temp dir)
source "$(dirname "$0")/lib.sh"

requirements="$REPO/scripts/requirements/galaxy-importer.txt"
venv="$REPO/.venvs/galaxy-importer"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  log "building $venv"
  rm -rf "$venv"
  "${CONTROLLER_PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" 2>&1 \
    | grep -v '^WARNING: Location' || true
  "$venv/bin/python" -c 'import galaxy_importer' || die "galaxy-importer install failed"
  echo "$want" > "$stamp"
fi

WORK="$(mktemp -d /tmp/tcp-keepalive-importer.XXXXXX)"
cleanup() { if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

"$venv/bin/ansible-galaxy" collection build "$REPO" --output-path "$WORK" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; die "ansible-galaxy collection build failed"; }
tarball="$(ls "$WORK"/tcp-keepalive-*.tar.gz)"
log "galaxy-importer on $(basename "$tarball"), offline (unshare --net)"
cd "$WORK" || exit 1
rc=0
unshare --net env PATH="$venv/bin:$PATH" HOME="$WORK" \
  "$venv/bin/python" -m galaxy_importer.main --print-result "$tarball" > "$WORK/importer.log" 2>&1 || rc=$?
# The log without the per-file "Loading ..." lines and without the JSON result.
sed -n '/^{$/q;/^Loading /!p' "$WORK/importer.log"
((rc == 0)) || die "galaxy-importer exited $rc"
python "$REPO/tools/galaxy_importer_check.py" "$WORK/importer.log"
