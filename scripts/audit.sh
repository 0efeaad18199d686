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
rm -f "$REPORT_DIR/hosts/localhost.json"  # never summarize a previous run's report
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

# shellcheck disable=SC2153  # VENV comes from lib.sh
"$VENV/bin/python" - "$REPORT_DIR" "$rc" <<'PY'
import json
import os
import sys

report_dir, playbook_rc = sys.argv[1], int(sys.argv[2])
path = os.path.join(report_dir, "hosts", "localhost.json")
if not os.path.exists(path):
    print(f"The audit did not produce a report (ansible-playbook exit {playbook_rc}); see {report_dir}/audit.log")
    with open(os.path.join(report_dir, "audit.log"), encoding="utf-8", errors="replace") as log:
        tail = log.read().splitlines()[-15:]
    print("\n".join("  " + line for line in tail))
    sys.exit(1)
with open(path, encoding="utf-8") as handle:
    record = json.load(handle)
policy = record["policy"]
expected = policy["expected"]


def triple(values):
    return "  ".join(f"{k}={values.get(k) if values.get(k) is not None else '?'}" for k in ("time", "intvl", "probes"))


det = record.get("detection_time", {})
verdict = {"pass": "COMPLIANT", "fail": "NOT COMPLIANT", "error": "INCOMPLETE (errors)",
           "unreachable": "NOT AUDITED"}[record["status"]]
print()
print(f"TCP keepalive audit of {record['host']} as {record.get('user') or 'uid ' + str(record.get('uid'))}: {verdict}")
print(f"  policy        {triple(expected)}   max detection time {policy['max_detection_time']} s")
print(f"  now           {triple(record['values'].get('runtime', {}))}   detection time {det.get('runtime')} s")
print(f"  after reboot  {triple(record['values'].get('boot', {}))}   detection time {det.get('boot')} s")
for check in record["checks"]:
    if check["status"] in ("fail", "error"):
        first = (check["failing"] or [{}])[0].get("message") or check["message"].splitlines()[-1]
        print(f"  FAILED {check['name']}: {first}" + (f" (+{len(check['failing']) - 1} more)"
                                                      if len(check["failing"]) > 1 else ""))
services = record.get("services_without_keepalive", [])
print(f"  services with sockets lacking keepalive: {len(services) or 'none'}")
for svc in services:
    where = ", ".join(svc["listeners"]) or f"{svc['connections']} connection(s)"
    print(f"    - {svc['service']}: {where}" + (f" (pid {', '.join(map(str, svc['pids']))})" if svc["pids"] else ""))
    if svc.get("hint"):
        print(f"      fix: {svc['hint']}")
ghosts = record.get("ghost_candidates", [])
total = sum(ghost.get("count", 1) for ghost in ghosts)
print(f"  ghost candidates (connections without keepalive idle > {policy.get('idle_threshold')} s): {total or 'none'}")
for ghost in ghosts:
    examples = ", ".join(ghost.get("sockets") or [ghost.get("socket", "")])
    print(f"    - {ghost['service'] or '?'} (pid {ghost['pid']}): {ghost.get('count', 1)}: {examples}")
for limitation in record.get("limitations", []):
    print(f"  could not see: {limitation}")
for error in record.get("errors", []):
    print(f"  error in {error['step']}: {error['msg']}")
print(f"  reports: {report_dir}/fleet.html  fleet.md  junit.xml  hosts/{os.path.basename(path)}  (log: audit.log)")
code = {"pass": 0, "fail": 2}.get(record["status"], 1)
if code == 0 and playbook_rc != 0:
    print(f"  ansible-playbook exited {playbook_rc} although the host passed; see audit.log")
    code = 1
print(f"  exit status {code} (0 compliant, 2 not compliant, 1 audit incomplete)")
sys.exit(code)
PY
