#!/usr/bin/env bash
# The managed-node Python range (tests/config.yml: modules.python_requires '>=3.8'), checked three ways
# on plugins/modules and plugins/module_utils:
#   1. vermin --target=3.8- (pinned in requirements-dev.txt): no stdlib API or syntax newer than 3.8.
#      os.setns is excluded: _netns.setns() calls it only when hasattr(os, "setns") (3.12+), ctypes before.
#   2. tools/runtime_subscripts.py: no dict[...]/tuple[...]/collections.abc generics evaluated at run time
#      (module-level aliases, cast(), default_factory); vermin does not see those, and on 3.8 they fail
#      with "'type' object is not subscriptable".
#   3. the real thing: every module and module_util imported by a Python 3.8 interpreter (pyenv's on
#      this machine kind: ~/.pyenv/versions/3.8.*; PYTHON38=/path/to/python3.8 to choose another).
source "$(dirname "$0")/lib.sh"
cd "$REPO" || exit 1
status=0

log "vermin --target=3.8-"
vermin --target=3.8- --violations --no-tips --exclude os.setns plugins/modules plugins/module_utils || status=1

log "runtime-evaluated generic subscripts"
python tools/runtime_subscripts.py plugins/modules plugins/module_utils || status=1

# pyenv's own directory first: its shim on PATH exists even when 3.8 is not the selected version.
python38="${PYTHON38:-}"
for candidate in "$HOME"/.pyenv/versions/3.8.*/bin/python3.8 /usr/bin/python3.8 /usr/local/bin/python3.8; do
  [[ -z "$python38" && -x "$candidate" ]] && python38="$candidate"
done
if [[ -z "$python38" ]]; then
  log "no Python 3.8 interpreter found (PATH, ~/.pyenv/versions/3.8.*): the import check cannot run"
  exit 1
fi
log "importing the managed-node code with $python38"
ansible_parent="$(python -c 'import ansible, os; print(os.path.dirname(os.path.dirname(ansible.__file__)))')"
# Only the `ansible` package goes on 3.8's path, not the whole controller venv.
shim="$(mktemp -d /tmp/tcp-keepalive-py38.XXXXXX)"
trap 'rm -rf "$shim"' EXIT
ln -s "$ansible_parent/ansible" "$shim/ansible"
mkdir -p "$shim/collections/ansible_collections/tcp"
ln -s "$REPO" "$shim/collections/ansible_collections/tcp/keepalive"
PYTHONDONTWRITEBYTECODE=1 "$python38" tools/import_plugins.py "$shim/collections" "$shim" || status=1
exit "$status"
