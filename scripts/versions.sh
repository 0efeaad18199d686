#!/usr/bin/env bash
# The collection on the older ansible-core releases it claims (meta/runtime.yml: >=2.17.0).
# Each release gets its own cached virtualenv, .venvs/ansible-core-<release>, built with the controller
# Python 3.11 from scripts/requirements/ansible-core-<release>.txt and rebuilt only when that file changes
# (the same sha256 stamp as scripts/venv.sh). 2.19 is the main venv (.venv) and is tested by test.sh itself.
#
#   bash scripts/versions.sh 2.17 venv      build (or reuse) the virtualenv only
#   bash scripts/versions.sh 2.17 units     pytest tests/unit on that release
#   bash scripts/versions.sh 2.17 sanity    ansible-test sanity on that release (scripts/sanity.sh)
source "$(dirname "$0")/lib.sh"

release="${1:?usage: versions.sh RELEASE venv|units|sanity [ARGS...]}"
what="${2:-units}"
shift $(($# >= 2 ? 2 : $#))
requirements="$REPO/scripts/requirements/ansible-core-$release.txt"
if [[ ! -f "$requirements" ]]; then
  known=""
  for file in "$REPO"/scripts/requirements/ansible-core-*.txt; do
    file="${file##*/ansible-core-}"; known+="${file%.txt} "
  done
  die "no $requirements (releases: $known)"
fi
PYTHON="${CONTROLLER_PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
venv="$REPO/.venvs/ansible-core-$release"

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  log "building $venv from $(basename "$requirements")"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" 2>&1 \
    | grep -v '^WARNING: Location' || true
  "$venv/bin/python" -c 'import ansible, pytest' || die "install into $venv failed"
  echo "$want" > "$stamp"
fi
installed="$("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)')"
[[ "$installed" == "$release".* ]] || die "$venv holds ansible-core $installed, not $release"
log "ansible-core $installed ($venv)"

case "$what" in
  venv) ;;
  units)
    # The collection is found through tests/conftest.py's symlink tree, which lives in the release's venv.
    cd "$REPO" || exit 1
    TCP_KEEPALIVE_COLLECTIONS_ROOT="$venv/collections" \
      "$venv/bin/python" -m pytest -p no:cacheprovider tests/unit "$@"
    ;;
  sanity)
    TCP_KEEPALIVE_VENV="$venv" SANITY_BUILD_ROOT="$REPO/build/ansible-core-$release" \
      bash "$REPO/scripts/sanity.sh" "$@"
    ;;
  *) die "unknown action '$what' (venv, units or sanity)" ;;
esac
