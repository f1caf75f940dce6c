#!/bin/bash
# racerigd on a shared PostgreSQL queue, on this machine (figures for
# BENCHMARKS.md, the service row of issue 25): one frontend (--workers 0)
# and 1, 2, 3 worker processes (--worker --workers 1 each), JOBS reproduce
# jobs (buggy, 1 snapshot run each) submitted at once through the frontend;
# the wall time until the last one finished, jobs per hour, and each as a
# ratio to 1 worker. Then the queue latency: with every worker idle, one job
# at a time, submit to start (`racerig job`'s "waited"), 5 times, median.
# Root only (PostgreSQL runs as the racerig user); uses build/bin.
#   host/racerigd/bench_hosts.sh [JOBS]
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${1:-12}
bin=$PWD/build/bin
pgbin=${RACERIG_PG_BIN:-/usr/lib/postgresql/15/bin}
job=(--scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 1)
dir=$(mktemp -d /tmp/racerigd-bench-hosts.XXXXXX)
chown racerig "$dir"
port=$((30000 + $$ % 20000))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  runuser -u racerig -- "$pgbin/pg_ctl" stop -D "$dir/pg" -m immediate >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

runuser -u racerig -- "$pgbin/initdb" -D "$dir/pg" -U racerig --auth=trust --no-sync >/dev/null
runuser -u racerig -- "$pgbin/pg_ctl" start -D "$dir/pg" -l "$dir/pg.log" -w \
  -o "-k $dir -p $port -c listen_addresses='' -c fsync=off" >/dev/null

started() {  # $1 log: waits for racerigd's ready line
  for _ in $(seq 1 600); do grep -q "racerigd: \(serving\|worker\)" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "racerigd did not start: $(cat "$1")" >&2
  exit 3
}

declare -A per_hour
for w in 1 2 3; do
  db=bench$w
  runuser -u racerig -- "$pgbin/createdb" -h "$dir" -p "$port" "$db"
  dsn="postgresql://racerig@/$db?host=$dir&port=$port"
  pids=()
  "$bin/racerigd" --store "$dsn" --workers 0 --socket "$dir/f$w.sock" --state "$dir/f$w" --max-queued 1000 \
    --max-queued-per-submitter 1000 2>"$dir/f$w.log" &
  pids+=($!)
  started "$dir/f$w.log"
  for i in $(seq 1 "$w"); do
    "$bin/racerigd" --store "$dsn" --worker --workers 1 --state "$dir/w$w-$i" 2>"$dir/w$w-$i.log" &
    pids+=($!)
    started "$dir/w$w-$i.log"
  done
  t0=$(now)
  clients=()
  for i in $(seq 1 "$jobs"); do
    "$bin/racerig" reproduce --server "unix:$dir/f$w.sock" "${job[@]}" >/dev/null 2>&1 &
    clients+=($!)
  done
  failed=0
  for p in "${clients[@]}"; do wait "$p" || [ $? -eq 1 ] || failed=$((failed + 1)); done
  t1=$(now)
  per_hour[$w]=$(echo "$jobs $t0 $t1" | awk '{printf "%.0f", $1 * 3600 / ($3 - $2)}')
  printf "%d worker(s): %d jobs in %.1f s, %s jobs/h, %d failed\n" "$w" "$jobs" "$(echo "$t1 - $t0" | bc)" \
    "${per_hour[$w]}" "$failed"
  if [ "$w" -eq 1 ]; then
    waits=()
    for i in 1 2 3 4 5; do
      out=$("$bin/racerig" reproduce --server "unix:$dir/f$w.sock" "${job[@]}" 2>&1 || true)
      id=$(echo "$out" | grep -o "job [0-9]*" | head -1 | awk '{print $2}')
      waits+=("$("$bin/racerig" job "$id" --server "unix:$dir/f$w.sock" | awk '/waited/ {print $2}')")
    done
    latency=$(printf "%s\n" "${waits[@]}" | median)
    echo "queue latency (submit to start, an idle worker, median of 5): $latency s"
  fi
  for p in "${pids[@]}"; do kill -TERM "$p"; done
  for p in "${pids[@]}"; do wait "$p" || true; done
  pids=()
done
echo
echo "| workers | jobs/h | ratio to 1 worker |"
echo "|---|---|---|"
for w in 1 2 3; do
  echo "| $w | ${per_hour[$w]} | $(echo "${per_hour[$w]} ${per_hour[1]}" | awk '{printf "%.2f", $1 / $2}') |"
done
echo "queue latency (submit to start, idle worker): ${latency} s; $(nproc) cores: the workers share them"
