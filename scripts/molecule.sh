#!/usr/bin/env bash
# Run Molecule scenarios (`molecule test -s NAME`), several at a time, each with its own log in
# tests/output/molecule/NAME.log; print a table of results and durations and the tail of every failed
# scenario's log; exit non-zero if any failed. Containers of the scenarios it started are removed on exit,
# even on failure or interrupt (`docker rm -f` of each platform name of a scenario it had to stop).
#
#   scripts/molecule.sh [--results FILE] [SCENARIO...]   # default: every molecule/*/molecule.yml
#   scripts/molecule.sh --cleanup-only [SCENARIO...]      # only remove the scenarios' containers
# Environment: MOLECULE_JOBS (default 3) scenarios at a time.
source "$(dirname "$0")/lib.sh"
set +e
cd "$REPO" || exit 1

# Scenarios stay at molecule/ in the repository root (the issue's layout). Molecule 26 in a collection
# would look in extensions/molecule/ unless molecule/ exists, and then warns; an explicit glob is quiet.
export MOLECULE_GLOB="molecule/*/molecule.yml"
JOBS="${MOLECULE_JOBS:-3}"
LOGS="$REPO/tests/output/molecule"
RESULTS_FILE=""
CLEANUP_ONLY=0
SCENARIOS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) RESULTS_FILE="$2"; shift 2 ;;
    --cleanup-only) CLEANUP_ONLY=1; shift ;;
    -*) die "unknown option $1" ;;
    *) SCENARIOS+=("$1"); shift ;;
  esac
done
if [[ ${#SCENARIOS[@]} -eq 0 ]]; then
  # Longest first (they bound the wall time), then the rest in name order.
  for first in dead_peer platforms conflicts; do
    [[ -f "molecule/$first/molecule.yml" ]] && SCENARIOS+=("$first")
  done
  for file in molecule/*/molecule.yml; do
    name="$(basename "$(dirname "$file")")"
    [[ " ${SCENARIOS[*]} " == *" $name "* ]] || SCENARIOS+=("$name")
  done
fi
[[ ${#SCENARIOS[@]} -gt 0 ]] || die "no Molecule scenario found under molecule/"

platform_names() {  # container names a scenario creates (its platforms)
  python "$REPO/tools/molecule_platforms.py" "$REPO/molecule/$1/molecule.yml"
}

remove_containers() {  # remove_containers SCENARIO...: docker rm -f every platform container
  # (the next `molecule test` starts with its own destroy step, which resets Molecule's state)
  local scenario names
  for scenario in "$@"; do
    names="$(platform_names "$scenario")"
    # shellcheck disable=SC2086  # one name per word
    [[ -z "$names" ]] || docker rm -f $names >/dev/null 2>&1
  done
}

mkdir -p "$LOGS"
if [[ $CLEANUP_ONLY -eq 1 ]]; then
  remove_containers "${SCENARIOS[@]}"
  exit 0
fi

declare -A PID_OF=() START_OF=() RESULT_OF=() SECONDS_OF=()
STARTED=()

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local scenario pid pending=()
  for scenario in "${STARTED[@]}"; do
    pid="${PID_OF[$scenario]:-}"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null
      pending+=("$scenario")
    fi
  done
  # Scenarios that ended on their own destroyed their containers (molecule test ends with destroy,
  # also on failure); the killed ones did not.
  [[ ${#pending[@]} -eq 0 ]] || remove_containers "${pending[@]}"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# A scenario that "passes" without verifying anything must not count as passed: Molecule only warns
# when the testinfra verifier finds no tests or the verify playbook is missing, and pytest exits 0 with
# skipped tests.
hidden_skip() {  # hidden_skip SCENARIO: print why its log shows an unverified pass (nothing if none)
  local log="$LOGS/$1.log"
  if grep -q "Skipping, no tests found" "$log"; then echo "no testinfra tests found"
  elif grep -q "Skipping, verifier is disabled" "$log"; then echo "verifier disabled"
  elif grep -q "> verify\] Executed: Missing playbook" "$log"; then echo "verify playbook missing"
  elif grep -Eq "^=+ .*[0-9]+ skipped.* in [0-9.]+s" "$log"; then echo "pytest skipped tests"
  fi
}

set -m  # each background scenario gets its own process group, so cleanup can stop all its children
finish_one() {
  local done_pid rc scenario skip
  wait -n -p done_pid
  rc=$?
  for scenario in "${STARTED[@]}"; do
    if [[ "${PID_OF[$scenario]:-}" == "$done_pid" ]]; then
      SECONDS_OF[$scenario]=$((SECONDS - START_OF[$scenario]))
      if [[ $rc -ne 0 ]]; then RESULT_OF[$scenario]="FAILED (rc $rc)"
      elif skip="$(hidden_skip "$scenario")" && [[ -n "$skip" ]]; then RESULT_OF[$scenario]="FAILED ($skip)"
      else RESULT_OF[$scenario]=passed; fi
      PID_OF[$scenario]=""
      log "molecule $scenario: ${RESULT_OF[$scenario]} in ${SECONDS_OF[$scenario]} s"
      return 0
    fi
  done
}

running=0
for scenario in "${SCENARIOS[@]}"; do
  if [[ $running -ge $JOBS ]]; then finish_one; running=$((running - 1)); fi
  log "molecule test -s $scenario (log: tests/output/molecule/$scenario.log)"
  START_OF[$scenario]=$SECONDS
  molecule test -s "$scenario" >"$LOGS/$scenario.log" 2>&1 </dev/null &
  PID_OF[$scenario]=$!
  STARTED+=("$scenario")
  running=$((running + 1))
done
while [[ $running -gt 0 ]]; do finish_one; running=$((running - 1)); done
set +m

failed=0
printf '\n%-24s %-20s %8s\n' SCENARIO RESULT SECONDS
[[ -z "$RESULTS_FILE" ]] || : > "$RESULTS_FILE"
for scenario in "${SCENARIOS[@]}"; do
  printf '%-24s %-20s %8s\n' "$scenario" "${RESULT_OF[$scenario]}" "${SECONDS_OF[$scenario]}"
  [[ -z "$RESULTS_FILE" ]] || printf '%s\t%s\t%s\n' "$scenario" "${RESULT_OF[$scenario]}" "${SECONDS_OF[$scenario]}" >> "$RESULTS_FILE"
  [[ "${RESULT_OF[$scenario]}" == passed ]] || failed=1
done
for scenario in "${SCENARIOS[@]}"; do
  if [[ "${RESULT_OF[$scenario]}" != passed ]]; then
    printf '\n---------- tail of tests/output/molecule/%s.log ----------\n' "$scenario"
    tail -n 120 "$LOGS/$scenario.log"
  fi
done
exit "$failed"
