#!/usr/bin/env bash
# Produce throughput with the idempotent producer on vs off (issue 11), 1 node and 3 nodes, in one
# run on the same machine: 6 partitions, RF = nodes (min.insync.replicas 2 on 3 nodes), 1 KiB
# records, acks=all, linger.ms 5, batch.size 65536. Each cluster runs a warm-up, then alternates
# off/on ROUNDS times (a fresh topic per run), so drift in machine load hits both alike. Prints
# records/sec per run and the on/off ratio of the medians.
#
#   bench/idempotence-perf.sh                       NUM_RECORDS=500000 ROUNDS=3
#   NUM_RECORDS=200000 ROUNDS=2 bench/idempotence-perf.sh   smoke run
#   NODES_LIST=1 bench/idempotence-perf.sh                  one node only
#
# Clusters come from `bin/basalt dev-cluster --base-port 0` (free ports) in /tmp/basalt-idem-bench-N,
# stopped by the PID of their dev-cluster process (which stops its nodes by PID) and wiped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NUM_RECORDS="${NUM_RECORDS:-500000}"
ROUNDS="${ROUNDS:-3}"
B="$ROOT/bin/basalt"
DC_PID=""
DIR=""

stop_cluster() {
  if [[ -n "$DC_PID" ]] && kill -0 "$DC_PID" 2>/dev/null; then
    kill -TERM "$DC_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$DC_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  DC_PID=""
  [[ -n "$DIR" ]] && rm -rf "$DIR"
}
trap stop_cluster EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

run_perf() { # topic idempotence nodes
  "$B" -b "$BOOT" perf produce --topic "$1" --records "$NUM_RECORDS" --record-size 1024 --partitions 6 \
    --replication-factor "$3" --acks all --linger-ms 5 --batch-size 65536 --reporting-interval-ms 600000 \
    --producer-property "enable.idempotence=$2" 2>&1 | tail -1 | sed -E 's/.*, ([0-9.]+) records\/sec.*/\1/'
}

for NODES in ${NODES_LIST:-1 3}; do
  DIR="/tmp/basalt-idem-bench-$NODES"
  rm -rf "$DIR"
  SET=()
  [[ "$NODES" == 3 ]] && SET=(--set min.insync.replicas=2)
  "$B" dev-cluster --nodes "$NODES" --base-port 0 --dir "$DIR" "${SET[@]}" > "$DIR.out" 2>&1 &
  DC_PID=$!
  for _ in $(seq 1 1200); do grep -q '^bootstrap:' "$DIR.out" 2>/dev/null && break; sleep 0.1; done
  BOOT=$(grep '^bootstrap:' "$DIR.out" | awk '{print $2}')
  [[ -n "$BOOT" ]] || { cat "$DIR.out"; exit 1; }
  echo "== $NODES node(s), bootstrap $BOOT, load $(cut -d' ' -f1-3 /proc/loadavg)"
  run_perf "warm-$NODES" true "$NODES" > /dev/null
  OFF=(); ON=()
  for r in $(seq 1 "$ROUNDS"); do
    off=$(run_perf "off-$NODES-$r" false "$NODES"); OFF+=("$off")
    on=$(run_perf "on-$NODES-$r" true "$NODES"); ON+=("$on")
    echo "round $r: off $off rec/s, on $on rec/s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
  moff=$(printf '%s\n' "${OFF[@]}" | median); mon=$(printf '%s\n' "${ON[@]}" | median)
  echo "$NODES node(s): median off $moff, on $mon, on/off $(awk -v a="$mon" -v b="$moff" 'BEGIN {printf "%.3f", a/b}')"
  stop_cluster
  rm -f "$DIR.out"
done
