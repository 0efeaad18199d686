#!/usr/bin/env bash
# ansible-test sanity over the collection. ansible-test wants the collection at
# .../ansible_collections/tcp/keepalive, so this copies the tracked and untracked-but-not-ignored files
# (what a commit would hold) to build/ansible_collections/tcp/keepalive and runs there, with --venv:
# --docker would pull the default test image, and no registry is reachable here.
#
# ansible-test bootstraps pip in each sanity venv with a get-pip script it downloads from
# ci-files.testing.ansible.com (unreachable here) unless ~/.ansible/test/cache/get_pip_<ver>.py exists:
# tools/ansible_test_pip.py places a stand-in there that runs `python -m ensurepip` and then `pip install`.
# Extra arguments go to `ansible-test sanity` (e.g. `--test validate-modules`).
# ANSIBLE_TEST_COMMAND=units runs `ansible-test units` on the same copy instead.
source "$(dirname "$0")/lib.sh"

PYTHON_VERSION="${SANITY_PYTHON:-3.11}"
# SANITY_BUILD_ROOT lets scripts/versions.sh give each ansible-core release its own copy.
BUILD="${SANITY_BUILD_ROOT:-$REPO/build}/ansible_collections/tcp/keepalive"

log "pip bootstrap stand-in: $(python "$REPO/tools/ansible_test_pip.py")"

# The shellcheck sanity test needs the binary (Debian package); install it when missing.
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  log "installing shellcheck"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; } \
    || log "shellcheck could not be installed: ansible-test will report its test as skipped"
fi

log "copying the collection to $BUILD"
rm -rf "$BUILD"
mkdir -p "$BUILD"
cd "$REPO" || exit 1
git ls-files -z -co --exclude-standard \
  | while IFS= read -r -d '' path; do [[ -e "$path" || -L "$path" ]] && printf '%s\0' "$path"; done \
  | tar --null -T - -cf - | tar -C "$BUILD" -xf -

cd "$BUILD" || exit 1
# ansible-test lists files with git from the nearest repository: without one here it would find the
# outer checkout, where build/ is ignored, and skip every target. A throwaway repository fixes that.
git init -q . && git add -A . >/dev/null
if [[ "${ANSIBLE_TEST_COMMAND:-sanity}" == units ]]; then
  # ansible-test units: the tests under tests/unit, run as ansible-test runs them (its own pytest config,
  # the collection loader), which plain pytest does not prove.
  log "ansible-test units --venv --python $PYTHON_VERSION"
  ansible-test units --venv --python "$PYTHON_VERSION" --color no "$@"
  exit
fi
log "ansible-test sanity --venv --python $PYTHON_VERSION"
# No --skip-test: every sanity test runs here. A test skipped in future must be named with --skip-test
# on this line together with the reason.
ansible-test sanity --venv --python "$PYTHON_VERSION" --color no "$@"
