#!/usr/bin/env bash
# Basalt's half of the side-by-side benchmark with Apache Kafka (../shared/bench/kafka-anchor/run.sh),
# doing the anchor's single-node work in the anchor's order on the same machine: 1 KiB records,
# 2,000,000 per run; topics p1 (1 partition) and p6 (6 partitions); for each, produce with acks=1
# and acks=all, "tuned" (linger.ms 5, batch.size 65536) and with the client defaults; then consume
# p1, consume p6; then end-to-end latency with one record in flight (acks=all).
#
#   bench/basalt-perf.sh                         full run (~9 min)
#   NUM_RECORDS=200000 E2E_RECORDS=500 bench/basalt-perf.sh   smoke run
#
# Binds to 127.0.0.1 only (ports 19400/19401/19480). Data in /tmp/basalt-bench (wiped at start and end).
# The node is started by this script, tracked by PID and stopped by PID. Output: bench-results/<run>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NUM_RECORDS="${NUM_RECORDS:-2000000}"
WARMUP_RECORDS="${WARMUP_RECORDS:-300000}"
E2E_RECORDS="${E2E_RECORDS:-5000}"
RECORD_SIZE=1024
DATA=/tmp/basalt-bench
RUN_ID="$(date +%Y%m%d-%H%M%S)"
RES="$ROOT/bench-results/$RUN_ID"
BOOT=127.0.0.1:19400
mkdir -p "$RES"
B="$ROOT/bin/basalt"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$RES/run.log" >&2; }

NODE_PID=""
cleanup() {
  if [[ -n "$NODE_PID" ]] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

rm -rf "$DATA"
mkdir -p "$DATA"
cat > "$DATA/node.properties" <<EOF
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@127.0.0.1:19401
listeners=PLAINTEXT://127.0.0.1:19400,CONTROLLER://127.0.0.1:19401
http.admin.listener=127.0.0.1:19480
data.dir=$DATA/data
EOF

# Build first (not timed), so the node and every client start from jars.
"$B" --version >/dev/null

cpu_of() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
clk=$(getconf CLK_TCK)

host_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
# Like the anchor: do not start measuring while something else keeps the CPUs busy.
for _ in $(seq 1 60); do
  read -r b0 t0 < <(host_ticks); sleep 3; read -r b1 t1 < <(host_ticks)
  busy=$(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 ))
  (( busy <= 10 )) && break
  log "host is ${busy}% busy: waiting for it to go idle"
done
echo "host_busy_before_start_pct=${busy}" > "$RES/env.txt"

log "starting the node"
"$B" start --config "$DATA/node.properties" --format-if-missing > "$RES/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 600); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19480/ready || true)" == 200 ]] && break
  kill -0 "$NODE_PID" 2>/dev/null || { log "node died"; tail -30 "$RES/node.log"; exit 1; }
  sleep 0.1
done

for t in "p1 1" "p6 6" "warm 1" "e2e1 1"; do
  read -r name parts <<<"$t"
  "$B" -b "$BOOT" topics --create --topic "$name" --partitions "$parts" >/dev/null
done

run() {   # run NAME COMMAND... : records broker CPU seconds used during the command
  local name=$1; shift
  local before after
  before=$(cpu_of "$NODE_PID")
  log "$name"
  "$@" > "$RES/$name.log" 2>&1 || { log "$name failed"; tail -5 "$RES/$name.log"; }
  after=$(cpu_of "$NODE_PID")
  printf '%s\tbroker_cpu_s=%s\t%s\n' "$name" "$(awk -v a="$after" -v b="$before" -v c="$clk" 'BEGIN{printf "%.1f", (a-b)/c}')" \
    "$(tail -1 "$RES/$name.log")" | tee -a "$RES/summary.tsv"
}

run warmup "$B" -b "$BOOT" perf produce --topic warm --records "$WARMUP_RECORDS" --record-size $RECORD_SIZE --acks 1
TUNED=(--linger-ms 5 --batch-size 65536)
DEFAULTS=(--linger-ms 5 --batch-size 16384)   # the producer's defaults, as Kafka's tool runs without overrides
for t in p1 p6; do
  run "$t-acks1-tuned"     "$B" -b "$BOOT" perf produce --topic "$t" --records "$NUM_RECORDS" --record-size $RECORD_SIZE --acks 1 "${TUNED[@]}"
  run "$t-acks1-default"   "$B" -b "$BOOT" perf produce --topic "$t" --records "$NUM_RECORDS" --record-size $RECORD_SIZE --acks 1 "${DEFAULTS[@]}"
  run "$t-acksall-tuned"   "$B" -b "$BOOT" perf produce --topic "$t" --records "$NUM_RECORDS" --record-size $RECORD_SIZE --acks all "${TUNED[@]}"
  run "$t-acksall-default" "$B" -b "$BOOT" perf produce --topic "$t" --records "$NUM_RECORDS" --record-size $RECORD_SIZE --acks all "${DEFAULTS[@]}"
done
run p1-consume "$B" -b "$BOOT" perf consume --topic p1 --records "$NUM_RECORDS" --timeout-ms 60000
run p6-consume "$B" -b "$BOOT" perf consume --topic p6 --records "$NUM_RECORDS" --timeout-ms 60000
run e2e "$B" -b "$BOOT" perf e2e --topic e2e1 --records "$E2E_RECORDS" --record-size $RECORD_SIZE --acks all

log "done: $RES/summary.tsv"
