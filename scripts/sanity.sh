#!/usr/bin/env bash
# ansible-test sanity over the collection. ansible-test wants the collection at
# .../ansible_collections/tcp/keepalive, so this copies the tracked and untracked-but-not-ignored files
# (what a commit would hold) to build/ansible_collections/tcp/keepalive and runs there, with --venv:
# --docker would pull the default test image, and no registry is reachable here.
#
# ansible-test bootstraps pip in each sanity venv with a get-pip script it downloads from
# ci-files.testing.ansible.com (unreachable here) unless ~/.ansible/test/cache/get_pip_<ver>.py exists:
# we place a stand-in there that runs `python -m ensurepip` and then `pip install` (PyPI is reachable).
# Extra arguments go to `ansible-test sanity` (e.g. `--test validate-modules`).
source "$(dirname "$0")/lib.sh"

PYTHON_VERSION="${SANITY_PYTHON:-3.11}"
BUILD="$REPO/build/ansible_collections/tcp/keepalive"

# Exact name ansible-test looks for (ansible_test/_util/target/setup/requirements.py: bootstrap()),
# from the pip version it pins (ansible_test/_internal/python_requirements.py: get_venv_packages()).
pip_version="$(python - <<'PY'
import ansible_test._internal.python_requirements as r, inspect, re
source = inspect.getsource(r.get_venv_packages)
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$get_pip")"
cat > "$get_pip" <<'PY'
# Stand-in for get-pip.py written by tcp.keepalive scripts/sanity.sh (the real one cannot be downloaded
# here): bootstrap pip from the interpreter's bundled wheel, then install what ansible-test asked for.
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip.py options that pip install does not know
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
PY

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
log "ansible-test sanity --venv --python $PYTHON_VERSION"
# No --skip-test: every sanity test runs here. A test skipped in future must be named with --skip-test
# on this line together with the reason.
ansible-test sanity --venv --python "$PYTHON_VERSION" --color no "$@"
