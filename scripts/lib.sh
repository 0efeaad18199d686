# Common settings for the project's scripts. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TCP_KEEPALIVE_VENV:-$REPO/.venv}"
# The collection is loaded from a symlink tree so that ansible finds it as tcp.keepalive.
COLLECTIONS_ROOT="$VENV/collections"
export REPO VENV COLLECTIONS_ROOT
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true   # community.docker, ansible.posix from the `ansible` wheel
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-1}"
export ANSIBLE_FORCE_COLOR=0
export PY_COLORS="${PY_COLORS:-0}"
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export PATH="$VENV/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
