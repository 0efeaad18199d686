#!/usr/bin/env bash
# Every test, in order: venv -> Docker engine + base images (and other install steps) -> ruff -> mypy ->
# Python range of the managed-node code -> reuse lint -> pytest (unit + integration) -> ansible-test units ->
# ansible-test sanity -> unit tests and sanity on ansible-core 2.17 and 2.18 (scripts/versions.sh) ->
# ansible-lint -> docs checks (scripts/docs.sh --check) -> release test (scripts/galaxy-test.sh) ->
# galaxy-importer (offline) -> every Molecule scenario under molecule/ (in parallel, see molecule.sh).
# Each stage runs even when an earlier one failed (except those that need what failed); a summary table of
# stage results and durations is printed at the end, and the exit status is non-zero if any stage failed.
# Logs: tests/output/ (pytest.log, sanity.log, ansible-lint.log, molecule/<scenario>.log).
source "$(dirname "$0")/lib.sh"
set +e  # stage failures are recorded, not fatal
cd "$REPO" || exit 1

OUTPUT="$REPO/tests/output"
mkdir -p "$OUTPUT"
STAGES=()
RESULTS=()
DURATIONS=()
FAILED=0
RUN_START=$SECONDS

record() {  # record NAME RESULT SECONDS
  STAGES+=("$1"); RESULTS+=("$2"); DURATIONS+=("$3")
  [[ "$2" == passed ]] || FAILED=1
}

stage() {  # stage NAME COMMAND...: run, show output live, keep a copy in tests/output/NAME.log
  local name="$1" start=$SECONDS rc
  shift
  printf '\n==================== %s ====================\n' "$name"
  "$@" 2>&1 | tee "$OUTPUT/$name.log"
  rc=${PIPESTATUS[0]}
  if [[ $rc -eq 0 ]]; then record "$name" passed $((SECONDS - start))
  else record "$name" "FAILED (rc $rc)" $((SECONDS - start)); fi
  return "$rc"
}

summary() {
  local i
  printf '\n==================== summary ====================\n'
  printf '%-34s %-20s %8s\n' STAGE RESULT SECONDS
  for i in "${!STAGES[@]}"; do
    printf '%-34s %-20s %8s\n' "${STAGES[$i]}" "${RESULTS[$i]}" "${DURATIONS[$i]}"
  done
  printf '%-34s %-20s %8s\n' total "$([[ $FAILED -eq 0 ]] && echo passed || echo FAILED)" $((SECONDS - RUN_START))
  local passed=0 failed=0
  for i in "${!RESULTS[@]}"; do
    if [[ "${RESULTS[$i]}" == passed ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  printf '\nstages: %d passed, %d failed\n' "$passed" "$failed"
}

# shellcheck disable=SC2317  # called from the INT/TERM trap
on_interrupt() {
  log "interrupted: cleaning up containers"
  bash "$REPO/scripts/molecule.sh" --cleanup-only >/dev/null 2>&1
  record interrupted "FAILED (signal)" 0
  summary
  exit 130
}
trap on_interrupt INT TERM

# Install and start what the tests need first (Docker engine, base images, any other install step), so
# that no pytest test finds it missing and skips.
stage venv bash scripts/venv.sh
venv_rc=$?
# Re-read PATH: the venv may have been created just now.
export PATH="$VENV/bin:$PATH"
docker_ready=0
if stage docker bash scripts/docker-up.sh && stage images bash scripts/images.sh; then docker_ready=1; fi
# Other install steps (one line each) go here, before any test runs.
stage chromium bash scripts/chromium.sh


if [[ $venv_rc -eq 0 ]]; then
  stage ruff ruff check .
  stage ruff-format ruff format --check --diff .
  stage mypy mypy
  stage python-range bash scripts/python-range.sh
  stage reuse reuse lint
  stage real-servers bash scripts/real-servers.sh
  stage pytest python -m pytest tests/unit tests/integration
  stage ansible-test-units env ANSIBLE_TEST_COMMAND=units bash scripts/sanity.sh
  stage sanity bash scripts/sanity.sh
  for release in 2.17 2.18; do
    stage "units-$release" bash scripts/versions.sh "$release" units
    stage "sanity-$release" bash scripts/versions.sh "$release" sanity
  done
  stage ansible-lint ansible-lint
  stage docs bash scripts/docs.sh --check
  stage galaxy bash scripts/galaxy-test.sh
  stage galaxy-importer bash scripts/galaxy-importer.sh
else
  for name in ruff ruff-format mypy python-range reuse pytest ansible-test-units sanity units-2.17 sanity-2.17 units-2.18 \
              sanity-2.18 ansible-lint docs galaxy galaxy-importer; do
    record "$name" "not run (no venv)" 0
  done
fi

if [[ $docker_ready -eq 1 && $venv_rc -eq 0 ]]; then
  # molecule.sh prints its own per-scenario table; fold its rows into ours.
  molecule_start=$SECONDS
  bash scripts/molecule.sh --results "$OUTPUT/molecule/results.tsv"
  molecule_rc=$?
  if [[ -s "$OUTPUT/molecule/results.tsv" ]]; then
    while IFS=$'\t' read -r scenario result seconds; do
      record "molecule $scenario" "$result" "$seconds"
    done < "$OUTPUT/molecule/results.tsv"
  fi
  if [[ $molecule_rc -eq 0 ]]; then record "molecule (wall time)" passed $((SECONDS - molecule_start))
  else record "molecule (wall time)" "FAILED (rc $molecule_rc)" $((SECONDS - molecule_start)); fi
else
  record molecule "not run (no docker/images/venv)" 0
fi

summary
exit "$FAILED"
