#!/usr/bin/env bash
# Run the benchmarks (issue 7) and write docs/performance.md.
#
#   bash scripts/bench.sh                 full run: 10k/40k/100k sockets, per host, 32-container fleet, reports
#   bash scripts/bench.sh --smoke         tiny sizes, one round each: checks every benchmark still runs
#                                         (results and doc under benchmarks/results/smoke/, docs/ untouched)
#   bash scripts/bench.sh --only sockets,report   a subset (sockets, settings, fleet, report)
#                                         (the doc is rendered from benchmarks/results/, not committed; a
#                                         benchmark not run keeps its section, targets and date from the
#                                         page being rewritten, and the page's header says which it kept)
#   BENCH_NOTE="measured while other work ran" bash scripts/bench.sh    a line shown at the top of the doc
#
# Needs root (private network namespaces, containers). Docker and the local images are set up through
# scripts/docker-up.sh and scripts/images.sh when the per-host or fleet benchmark is selected.
# Exit status: 0 when every selected benchmark ran, 1 otherwise (timings never fail a run).
source "$(dirname "$0")/lib.sh"

MODE=full
ONLY="sockets,settings,fleet,report"
knobs="$(env | grep -E '^BENCH_(REPEAT|SOCKET_SIZES|FLEET_HOSTS|FLEET_REPEAT|REPEAT_REPORT)=' | sort | tr '\n' ' ' || true)"
invocation="${knobs}bash scripts/bench.sh $*"
export BENCH_INVOCATION="$invocation"   # recorded in each result file
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) MODE=smoke ;;
    --only) ONLY="$2"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

[[ $EUID -eq 0 ]] || die "the benchmarks need root (network namespaces, containers)"
[[ -x "$VENV/bin/python" ]] || bash "$REPO/scripts/venv.sh"
cd "$REPO" || exit 1

if [[ $MODE == smoke ]]; then
  RESULTS="$REPO/benchmarks/results/smoke"
  DOC="$RESULTS/performance.md"
  SOCKETS_ARGS=(--sizes 200 --repeat 1)
  SETTINGS_ARGS=(--repeat 1)
  FLEET_ARGS=(--hosts 2 --repeat 1)
  REPORT_ARGS=(--sizes "20,40" --repeat 1)
else
  RESULTS="$REPO/benchmarks/results"
  DOC="$REPO/docs/performance.md"
  SOCKETS_ARGS=(--sizes "${BENCH_SOCKET_SIZES:-10000,40000,100000}" --repeat "${BENCH_REPEAT:-3}" --profile)
  SETTINGS_ARGS=(--repeat "${BENCH_REPEAT:-5}")
  FLEET_ARGS=(--hosts "${BENCH_FLEET_HOSTS:-32}" --repeat "${BENCH_FLEET_REPEAT:-2}")
  REPORT_ARGS=(--sizes "1000,10000" --repeat "${BENCH_REPEAT_REPORT:-3}" --profile)
fi
mkdir -p "$RESULTS"

selected() { [[ ",$ONLY," == *",$1,"* ]]; }
failed=()
run() {  # run NAME SCRIPT ARGS...
  local name="$1" script="$2"; shift 2
  log "benchmark: $name"
  rm -f "$RESULTS/$name.json"
  if ! python "benchmarks/$script" --results-dir "$RESULTS" "$@"; then
    failed+=("$name")
  fi
  [[ -s "$RESULTS/$name.json" ]] || { log "$name wrote no result"; [[ " ${failed[*]} " == *" $name "* ]] || failed+=("$name"); }
}

if selected settings || selected fleet; then
  bash "$REPO/scripts/docker-up.sh"
  bash "$REPO/scripts/images.sh"
fi
selected sockets && run sockets bench_sockets.py "${SOCKETS_ARGS[@]}"
selected settings && run settings bench_settings.py "${SETTINGS_ARGS[@]}"
selected fleet && run fleet bench_fleet.py "${FLEET_ARGS[@]}"
selected report && run report bench_report.py "${REPORT_ARGS[@]}"

note="${BENCH_NOTE:-}"
[[ $MODE == smoke ]] && note="Smoke run (tiny sizes, one round): checks that each benchmark runs; the numbers mean nothing. ${note}"
python benchmarks/render_doc.py --results-dir "$RESULTS" --out "$DOC" --note "$note" --command "$invocation"
if [[ ${#failed[@]} -gt 0 ]]; then
  log "benchmarks that did not complete: ${failed[*]} (see $DOC)"
  exit 1
fi
log "done: $DOC"
