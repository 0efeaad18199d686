#!/usr/bin/env bash
# The main job (`make audit`): audit this machine's TCP keepalive with `ansible-playbook tcp.keepalive.audit`
# (localhost, no inventory, changes nothing) and print a short summary: the three values now and after
# reboot, the detection time, the services with sockets lacking keepalive, the ghost candidates, and where
# the full reports are.
#
# Usage: scripts/audit.sh [ansible-playbook options...]   e.g.  -e tcp_keepalive_verify_time=300
#   AUDIT_VERBOSE=1             also show the playbook's own output (it always goes to <reports>/audit.log)
#   TCP_KEEPALIVE_REPORT_DIR    report directory (default: <repo>/reports, gitignored)
#   TCP_KEEPALIVE_VENV          virtualenv to use or create (default: <repo>/.venv)
#
# Exit status: 0 compliant; 2 not compliant (a check failed under tcp_keepalive_verify_fail_on, the same
# status ansible-playbook tcp.keepalive.audit exits with); 1 the audit itself could not run or gather facts.
#
# As a non-root user it works too: it audits what that user can see and says what it could not see (other
# users' processes and sockets, other network namespaces). When the repository's .venv is missing and the
# repository is not writable, the virtualenv is created under ~/.cache/tcp-keepalive/venv (or $TMPDIR when
# there is no writable home); reports then go to ~/tcp-keepalive-reports (or $TMPDIR).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$HERE")"

writable_dir() { local d="$1"; mkdir -p "$d" 2>/dev/null && [[ -w "$d" ]]; }
user_cache() {  # a writable per-user directory for the venv and ansible's temp files
  if [[ -n "${HOME:-}" ]] && writable_dir "$HOME/.cache/tcp-keepalive"; then echo "$HOME/.cache/tcp-keepalive"
  else
    local d
    d="${TMPDIR:-/tmp}/tcp-keepalive-$(id -u)"
    mkdir -p "$d" && chmod 700 "$d"
    echo "$d"
  fi
}

venv_ready() {  # the venv runs for this user, matches requirements-dev.txt and exposes the collection
  local venv="$1"
  [[ -x "$venv/bin/ansible-playbook" ]] && "$venv/bin/python" -c 'import ansible' >/dev/null 2>&1 \
    && [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$(sha256sum "$REPO_DIR/requirements-dev.txt" | cut -d' ' -f1)" ]] \
    && [[ "$(readlink -f "$venv/collections/ansible_collections/tcp/keepalive")" == "$(readlink -f "$REPO_DIR")" ]]
}

# pip and ansible keep caches and temp files in the home directory: elsewhere when it is not writable.
if [[ -z "${HOME:-}" || ! -w "${HOME:-/nonexistent}" ]]; then
  tmp_base="$(user_cache)"
  export ANSIBLE_LOCAL_TEMP="$tmp_base/ansible-local" ANSIBLE_REMOTE_TEMP="$tmp_base/ansible-remote"
  export ANSIBLE_HOME="$tmp_base/ansible-home" PIP_CACHE_DIR="$tmp_base/pip-cache"
fi

if [[ -z "${TCP_KEEPALIVE_VENV:-}" ]] && ! venv_ready "$REPO_DIR/.venv" && [[ ! -w "$REPO_DIR" || -e "$REPO_DIR/.venv" && ! -w "$REPO_DIR/.venv" ]]; then
  export TCP_KEEPALIVE_VENV; TCP_KEEPALIVE_VENV="$(user_cache)/venv"
  printf "==> %s/.venv is not usable by %s and the repository is not writable: using %s\n" "$REPO_DIR" "$(id -un)" "$TCP_KEEPALIVE_VENV" >&2
fi
venv_ready "${TCP_KEEPALIVE_VENV:-$REPO_DIR/.venv}" || bash "$HERE/venv.sh"
# shellcheck source=lib.sh
source "$HERE/lib.sh"


REPORT_DIR="${TCP_KEEPALIVE_REPORT_DIR:-$REPO/reports}"
if ! writable_dir "$REPORT_DIR"; then
  fallback="${HOME:-}/tcp-keepalive-reports"
  writable_dir "$fallback" 2>/dev/null || fallback="$(user_cache)/reports"
  log "$REPORT_DIR is not writable: reports go to $fallback"
  REPORT_DIR="$fallback"; mkdir -p "$REPORT_DIR"
fi
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"
rm -f "$REPORT_DIR/hosts/localhost.json" "$REPORT_DIR/summary.txt"  # never summarize a previous run's report
LOG="$REPORT_DIR/audit.log"

log "auditing this machine as $(id -un) (ansible-playbook tcp.keepalive.audit, changes nothing; log: $LOG)"
cmd=(ansible-playbook tcp.keepalive.audit -i 'localhost,' -c local
     -e 'ansible_python_interpreter={{ ansible_playbook_python }}'
     -e "tcp_keepalive_verify_report_dir=$REPORT_DIR" "$@")
set +e
if [[ "${AUDIT_VERBOSE:-0}" == 1 ]]; then
  "${cmd[@]}" 2>&1 | tee "$LOG"; rc=${PIPESTATUS[0]}
else
  "${cmd[@]}" > "$LOG" 2>&1; rc=$?
fi
set -e

# The summary is the `console` renderer's output (plugins/plugin_utils/_render.py), written by the verify
# role with the other reports: process and host names in it are already made safe for a terminal.
SUMMARY="$REPORT_DIR/summary.txt"
if [[ ! -s "$SUMMARY" || ! -s "$REPORT_DIR/hosts/localhost.json" ]]; then
  printf 'The audit did not produce a report (ansible-playbook exit %s); see %s\n' "$rc" "$LOG"
  tail -n 15 "$LOG" | sed -e 's/^/  /' -e 's/[[:cntrl:]]/?/g'
  exit 1
fi
cat "$SUMMARY"
code="$(sed -n 's/^  exit status \([0-9]\) .*/\1/p' "$SUMMARY" | tail -n 1)"
code="${code:-1}"
if [[ "$code" == 0 && "$rc" != 0 ]]; then
  printf '  ansible-playbook exited %s although the host passed; see %s\n' "$rc" "$LOG"
  code=1
fi
printf '  reports: %s/fleet.html  fleet.md  junit.xml  hosts/localhost.json  (log: audit.log)\n' "$REPORT_DIR"
exit "$code"
