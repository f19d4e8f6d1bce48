#!/usr/bin/env bash
# Basalt's half of the 3-node side-by-side benchmark with Apache Kafka, mirroring the 3-node
# scenario of ../shared/bench/kafka-anchor/run.sh on the same machine: 3 combined nodes on 127.0.0.1,
# topics of 6 partitions, replication factor 3, min.insync.replicas 2, 1 KiB records, acks=all;
# produce "tuned" (linger.ms 5, batch.size 65536) and with the client defaults (batch.size 16384),
# then end-to-end latency with one record in flight. Everything runs twice, one mode after the
# other: with durable acks (the default: an acks=all write is acknowledged once every in-sync
# replica has fsynced it), then with the topic config durable.acks=false (acknowledged once
# replicated to the replicas' memory, as Kafka does). Then the failover figures: kill -9 of a
# partition leader, and of the active controller, time to the next acknowledged acks=all write,
# median of ROUNDS (default 10).
#
#   bench/basalt-cluster-perf.sh                                  full run
#   NUM_RECORDS=200000 E2E_RECORDS=500 ROUNDS=3 bench/basalt-cluster-perf.sh   smoke run
#   SKIP_FAILOVER=1 bench/basalt-cluster-perf.sh                  throughput and latency only
#   SKIP_PERF=1 bench/basalt-cluster-perf.sh                      failover only
#   SKIP_FAILOVER=1 SKIP_THROUGHPUT=1 bench/basalt-cluster-perf.sh   end-to-end latency only
#
# The cluster is started with `bin/basalt dev-cluster --nodes 3 --base-port 29400` (clients on
# 127.0.0.1:29410/29420/29430, beside the anchor's 29092/29192/29292), data in /tmp/basalt-cluster-bench
# (wiped at start and end). Every process is tracked by PID and stopped by PID (dev-cluster stops its
# nodes on SIGTERM). The failover runs start their own clusters through the test harness
# (dev.basalt.bench.FailoverMeasurement in jepsen-style-tests' test classes).
# Output: bench-results/cluster-<run>/{summary.tsv,*.log}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NUM_RECORDS="${NUM_RECORDS:-2000000}"
WARMUP_RECORDS="${WARMUP_RECORDS:-300000}"
E2E_RECORDS="${E2E_RECORDS:-5000}"
ROUNDS="${ROUNDS:-10}"
SKIP_FAILOVER="${SKIP_FAILOVER:-0}"
SKIP_PERF="${SKIP_PERF:-0}"
SKIP_THROUGHPUT="${SKIP_THROUGHPUT:-0}"
CLIENT_TIMEOUT_S="${CLIENT_TIMEOUT_S:-600}"
# The topic config that opts a topic out of durable acks (issue 9); override if the name differs.
MEMORY_ACKS_CONFIG="${MEMORY_ACKS_CONFIG:-durable.acks=false}"
RECORD_SIZE=1024
DATA=/tmp/basalt-cluster-bench
BASE_PORT=29400
BOOT=127.0.0.1:29410,127.0.0.1:29420,127.0.0.1:29430
RUN_ID="$(date +%Y%m%d-%H%M%S)"
RES="$ROOT/bench-results/cluster-$RUN_ID"
JAVA="${JAVA:-java}"
mkdir -p "$RES"
B="$ROOT/bin/basalt"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$RES/run.log" >&2; }

DC_PID=""
alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }
stop_cluster() {
  if alive "$DC_PID"; then
    kill -TERM "$DC_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do alive "$DC_PID" || break; sleep 0.1; done
    if alive "$DC_PID"; then log "dev-cluster $DC_PID did not stop in 60 s: SIGKILL to it and its nodes"; fi
  fi
  # If dev-cluster itself could not stop them, stop exactly the node PIDs it recorded (by PID, checked by command line).
  for f in "$DATA"/node-*/pid; do
    [[ -f "$f" ]] || continue
    pid=$(cat "$f")
    if alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$DATA/"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  if alive "$DC_PID"; then kill -KILL "$DC_PID" 2>/dev/null || true; fi
  DC_PID=""
}
cleanup() { local rc=$?; stop_cluster; rm -rf "$DATA"; exit $rc; }
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$DATA"

# Build first (not timed), so the nodes and every client start from jars; the failover tool needs
# the test classes of jepsen-style-tests.
"$B" --version >/dev/null
if [[ "$SKIP_FAILOVER" != 1 && ! -f "$ROOT/jepsen-style-tests/target/test-classes/dev/basalt/bench/FailoverMeasurement.class" ]]; then
  log "building jepsen-style-tests test classes for the failover tool"
  (cd "$ROOT" && ./mvnw -B -ntp -q -o -pl jepsen-style-tests -am test-compile > "$RES/build.log" 2>&1) \
    || { log "build failed, see $RES/build.log"; exit 1; }
fi

{
  "$JAVA" -version 2>&1 | head -1
  echo "host: $(nproc) cpus, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "num_records=$NUM_RECORDS record_size=$RECORD_SIZE e2e_records=$E2E_RECORDS warmup_records=$WARMUP_RECORDS rounds=$ROUNDS"
  echo "commit: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$RES/env.txt" >&2

host_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
# Like the anchor: do not start measuring while something else keeps the CPUs busy.
wait_quiet() {
  local busy=0
  for _ in $(seq 1 60); do
    read -r b0 t0 < <(host_ticks); sleep 3; read -r b1 t1 < <(host_ticks)
    busy=$(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 ))
    (( busy <= 10 )) && break
    log "host is ${busy}% busy: waiting for it to go idle"
  done
  echo "host_busy_before_start_pct=${busy}" >> "$RES/env.txt"
}

NODE_PIDS=()
nodes_cpu() { local t=0 v p; for p in "${NODE_PIDS[@]}"; do v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + v)); done; echo $t; }
clk=$(getconf CLK_TCK)

run() {   # run NAME COMMAND... : the command's last line, with the nodes' CPU seconds during it
  local name=$1; shift
  local before after
  before=$(nodes_cpu)
  log "$name"
  timeout "$CLIENT_TIMEOUT_S" "$@" > "$RES/$name.log" 2>&1 || { log "$name failed"; tail -5 "$RES/$name.log"; }
  after=$(nodes_cpu)
  printf '%s\tnodes_cpu_s=%s\t%s\n' "$name" "$(awk -v a="$after" -v b="$before" -v c="$clk" 'BEGIN{printf "%.1f", (a-b)/c}')" \
    "$(tail -1 "$RES/$name.log")" | tee -a "$RES/summary.tsv"
}

if [[ "$SKIP_PERF" != 1 ]]; then
  wait_quiet
  log "=== 3-node cluster (combined roles) via dev-cluster on $BOOT"
  "$B" dev-cluster --nodes 3 --dir "$DATA" --base-port "$BASE_PORT" --ready-timeout-s 150 > "$RES/dev-cluster.log" 2>&1 &
  DC_PID=$!
  for _ in $(seq 1 1500); do
    grep -q '^bootstrap: ' "$RES/dev-cluster.log" && break
    alive "$DC_PID" || { log "dev-cluster exited"; cat "$RES/dev-cluster.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^bootstrap: ' "$RES/dev-cluster.log" || { log "cluster not ready"; cat "$RES/dev-cluster.log" >&2; exit 1; }
  for k in 1 2 3; do NODE_PIDS+=("$(cat "$DATA/node-$k/pid")"); done
  log "nodes ready: pids ${NODE_PIDS[*]}"

  create() {   # create TOPIC ARGS... : stops the run with the CLI's message when the cluster refuses
    "$B" -b "$BOOT" topics --create --topic "$@" >> "$RES/topics.log" 2>&1 || { log "cannot create topic $1:"; tail -3 "$RES/topics.log" >&2; exit 1; }
  }
  ISR=(--replication-factor 3 --config min.insync.replicas=2)
  create r3p6 --partitions 6 "${ISR[@]}"
  create r3p6-memory --partitions 6 "${ISR[@]}" --config "$MEMORY_ACKS_CONFIG"
  create warmup3 --partitions 6 "${ISR[@]}"
  create e2e3 --partitions 1 "${ISR[@]}"
  create e2e3-memory --partitions 1 "${ISR[@]}" --config "$MEMORY_ACKS_CONFIG"
  "$B" -b "$BOOT" topics --describe > "$RES/topics.txt"

  run warmup "$B" -b "$BOOT" perf produce --topic warmup3 --records "$WARMUP_RECORDS" --record-size $RECORD_SIZE --acks all
  TUNED=(--linger-ms 5 --batch-size 65536)
  DEFAULTS=(--linger-ms 5 --batch-size 16384)   # the producer's defaults, as Kafka's tool runs without overrides
  # Each mode runs whole (throughput, then end-to-end latency) before the other. The memory mode's
  # produce runs leave gigabytes in the page cache that the kernel writes back over the next
  # half minute; a durable e2e run measured during that writeback pays it in every fsync (up to
  # ~1 s per fdatasync on this host's disk), a state no durable-only cluster reaches, since
  # everything it acknowledges is already on disk. The page cache's dirty total before each e2e
  # run goes to summary.tsv.
  for mode in durable memory; do
    suffix=""; [[ "$mode" == memory ]] && suffix="-memory"
    if [[ "$SKIP_THROUGHPUT" != 1 ]]; then
      run "3n-r3p6$suffix-acksall-tuned"   "$B" -b "$BOOT" perf produce --topic "r3p6$suffix" --records "$NUM_RECORDS" --record-size $RECORD_SIZE --acks all "${TUNED[@]}"
      run "3n-r3p6$suffix-acksall-default" "$B" -b "$BOOT" perf produce --topic "r3p6$suffix" --records "$NUM_RECORDS" --record-size $RECORD_SIZE --acks all "${DEFAULTS[@]}"
    fi
    printf '3n-e2e3%s-page-cache\tdirty_kib_before_e2e=%s\n' "$suffix" "$(awk '/^Dirty:/{print $2}' /proc/meminfo)" | tee -a "$RES/summary.tsv"
    run "3n-e2e3$suffix-acksall" "$B" -b "$BOOT" perf e2e --topic "e2e3$suffix" --records "$E2E_RECORDS" --record-size $RECORD_SIZE --acks all
  done
  log "stopping the cluster"
  stop_cluster
  for k in 1 2 3; do cp "$DATA/node-$k/node.log" "$RES/node-$k.log" 2>/dev/null || true; done
  rm -rf "$DATA"
fi

if [[ "$SKIP_FAILOVER" != 1 ]]; then
  CP="$ROOT/jepsen-style-tests/target/test-classes:$ROOT/jepsen-style-tests/target/classes"
  CP="$CP:$ROOT/client/target/client-0.1.0-SNAPSHOT.jar:$ROOT/client/target/lib/*"
  CP="$CP:$ROOT/broker/target/broker-0.1.0-SNAPSHOT.jar:$ROOT/broker/target/lib/*"
  for mode in leader controller; do
    wait_quiet
    log "failover: kill -9 of the $mode, $ROUNDS rounds"
    timeout $(( 120 + ROUNDS * 150 )) "$JAVA" -Xmx512m -Djava.io.tmpdir="${TMPDIR:-/tmp}" \
      -Dlogback.configurationFile="$ROOT/bin/logback-cli.xml" -cp "$CP" dev.basalt.bench.FailoverMeasurement \
      --mode "$mode" --rounds "$ROUNDS" --dir "$DATA-failover-$mode" > "$RES/failover-$mode.log" 2>&1 \
      || log "failover $mode exited non-zero (see $RES/failover-$mode.log)"
    grep '^round=' "$RES/failover-$mode.log" >&2 || true
    printf 'failover-%s\t%s\n' "$mode" "$(grep '^median' "$RES/failover-$mode.log" || echo 'no median (see log)')" | tee -a "$RES/summary.tsv"
    rm -rf "$DATA-failover-$mode"
  done
fi

log "done: $RES/summary.tsv"
