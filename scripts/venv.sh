#!/usr/bin/env bash
# Create (or refresh) the project virtualenv with the pinned controller tooling, and expose the
# collection as tcp.keepalive through $VENV/collections. Idempotent: reinstalls only when
# requirements-dev.txt changed.
source "$(dirname "$0")/lib.sh"

PYTHON="${PYTHON:-python3}"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REPO/requirements-dev.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    log "installing python3-venv"
    command -v apt-get >/dev/null || die "python3 venv support is missing and apt-get is not available"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  log "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  log "installing pinned tooling into $VENV (first run takes about a minute)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-dev.txt" 2>&1 \
    | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c 'import ansible, molecule, testinfra' || die "tooling install failed"
  echo "$want" > "$stamp"
fi
mkdir -p "$COLLECTIONS_ROOT/ansible_collections/tcp"
ln -sfn "$REPO" "$COLLECTIONS_ROOT/ansible_collections/tcp/keepalive"
