#!/bin/bash
# racerigd throughput and overhead on this machine (figures for BENCHMARKS.md).
#   host/racerigd/bench.sh [JOBS] [WORKERS...]
# For each worker count: a fresh racerigd on a temporary socket, JOBS
# reproduce jobs (buggy, 1 snapshot run each) submitted at once, the wall time
# until the last one finished, and jobs per hour. Then the service's overhead:
# one such job through `racerig reproduce --server` against the same job run
# locally (`racerig reproduce`), three times each, medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${1:-6}
shift || true
workers=("${@:-1}")
bin=build/bin
job=(--scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 1)

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_daemon() {  # $1 dir, $2 workers
  $bin/racerigd --socket "$1/s.sock" --state "$1/state" --workers "$2" --max-queued 1000 2>"$1/log" &
  pid=$!
  for _ in $(seq 1 300); do [ -S "$1/s.sock" ] && return 0; sleep 0.1; done
  echo "racerigd did not start: $(cat "$1/log")" >&2
  exit 3
}

for w in "${workers[@]}"; do
  dir=$(mktemp -d /tmp/racerigd-bench.XXXXXX)
  start_daemon "$dir" "$w"
  t0=$(now)
  pids=()
  for i in $(seq 1 "$jobs"); do
    $bin/racerig reproduce --server "unix:$dir/s.sock" "${job[@]}" >/dev/null 2>&1 &
    pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  t1=$(now)
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
  awk -v w="$w" -v n="$jobs" -v s="$(echo "$t1 - $t0" | bc)" -v f="$failed" \
    'BEGIN {printf "workers %d: %d jobs in %.1f s = %.0f jobs/hour (%d did not exit 0)\n", w, n, s, n * 3600 / s, f}'
done

dir=$(mktemp -d /tmp/racerigd-bench.XXXXXX)
start_daemon "$dir" 1
for i in 1 2 3; do
  t0=$(now); $bin/racerig reproduce "${job[@]}" >/dev/null 2>&1 || true; t1=$(now)
  echo "$t1 - $t0" | bc >>"$dir/local"
  t0=$(now); $bin/racerig reproduce --server "unix:$dir/s.sock" "${job[@]}" >/dev/null 2>&1 || true; t1=$(now)
  echo "$t1 - $t0" | bc >>"$dir/service"
done
kill -TERM "$pid"; wait "$pid" || true
l=$(median <"$dir/local"); s=$(median <"$dir/service")
awk -v l="$l" -v s="$s" 'BEGIN {printf "one job: local %.2f s, through racerigd %.2f s (median of 3): overhead %.2f s (x%.2f)\n", l, s, s - l, s / l}'
rm -rf "$dir"
