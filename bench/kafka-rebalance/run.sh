#!/usr/bin/env bash
# Join/leave figures of a Kafka consumer group, measured as Basalt's GroupWorkloadE2ETest measures
# its own (issue 13): a 3-node Apache Kafka KRaft cluster on 127.0.0.1 (three combined
# broker+controller JVMs), then KafkaRebalance.java once per group protocol, each on its own fresh
# 60-partition topic (RF 3, min ISR 2) with its own group.
#
#   ANCHOR=/tmp/kafka-anchor-copy ./run.sh                       # consumer, classic, classic-cooperative
#   ANCHOR=... PROTOCOLS="consumer classic" NODES=1 ./run.sh     # fewer runs, one node (RF 1)
#
# ANCHOR: a COPY of /work/shared/bench/kafka-anchor whose lib/ holds the Kafka 4.3.1 jars
# (cd $ANCHOR && mvn -q -B dependency:copy-dependencies). Group timing as in the Basalt test:
# session 6 s, heartbeat 500 ms (group.consumer.* on the brokers for the consumer protocol,
# session.timeout.ms/heartbeat.interval.ms on the clients for classic), group.initial.rebalance.delay.ms=0,
# 6 partitions of __consumer_offsets.
# Every process this script starts is recorded by PID and stopped by PID (TERM, 30 s, KILL).
# Output: results/<timestamp>/ (FIGURES lines in figures.txt, with `uptime` before each run).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ANCHOR="${ANCHOR:?set ANCHOR to a copy of the kafka-anchor directory with lib/ resolved}"
JAVA="${JAVA:-java}"
JAVAC="${JAVAC:-javac}"
NODES="${NODES:-3}"
PROTOCOLS="${PROTOCOLS:-consumer classic classic-cooperative}"
MEMBERS="${MEMBERS:-10}"
BASE_PORT="${BASE_PORT:-39092}"
DATA="$(mktemp -d /tmp/kafka-rebalance.XXXXXX)"
RES="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RES"
CP="$ANCHOR/lib/*"
[[ -f "$ANCHOR/lib/kafka-clients-4.3.1.jar" ]] || { echo "no Kafka jars in $ANCHOR/lib" >&2; exit 2; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$RES/run.log" >&2; }

PIDS=()
alive() { [[ -r /proc/$1/stat ]] && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
stop_pids() {
  local pid i left
  for pid in "$@"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 300); do
    left=0; for pid in "$@"; do alive "$pid" && left=1; done
    [[ $left == 0 ]] && break; sleep 0.1
  done
  for pid in "$@"; do alive "$pid" && { log "pid $pid still alive 30 s after TERM: KILL"; kill -KILL "$pid" 2>/dev/null || true; }; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}
cleanup() {
  local rc=$?
  [[ ${#PIDS[@]} -gt 0 ]] && stop_pids "${PIDS[@]}"
  rm -rf "$DATA"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RES/classes"
"$JAVAC" -d "$RES/classes" -cp "$CP" "$HERE/KafkaRebalance.java"

voters=""
for n in $(seq 1 "$NODES"); do
  voters+="${voters:+,}$n@127.0.0.1:$((BASE_PORT + 100 * n + 1))"
done
bootstrap=""
for n in $(seq 1 "$NODES"); do bootstrap+="${bootstrap:+,}127.0.0.1:$((BASE_PORT + 100 * n))"; done
RF=$(( NODES >= 3 ? 3 : 1 ))
MISR=$(( RF > 1 ? 2 : 1 ))
cluster_id=$("$JAVA" -cp "$CP" "-Dlog4j2.configurationFile=$ANCHOR/config/log4j2-tools.xml" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)

for n in $(seq 1 "$NODES"); do
  dir="$DATA/node$n"; mkdir -p "$dir/data" "$dir/logs"
  port=$((BASE_PORT + 100 * n)); cport=$((port + 1))
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=$RF
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$RF
transaction.state.log.min.isr=$MISR
share.coordinator.state.topic.replication.factor=$RF
share.coordinator.state.topic.min.isr=$MISR
group.initial.rebalance.delay.ms=0
group.consumer.session.timeout.ms=6000
group.consumer.min.session.timeout.ms=6000
group.consumer.heartbeat.interval.ms=500
group.consumer.min.heartbeat.interval.ms=500
PROPS
  "$JAVA" -Xmx256M "-Dlog4j2.configurationFile=$ANCHOR/config/log4j2-tools.xml" -cp "$CP" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >> "$RES/format.log" 2>&1
done
for n in $(seq 1 "$NODES"); do
  dir="$DATA/node$n"
  "$JAVA" -Xms512M -Xmx1G -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -Djava.awt.headless=true "-Dkafka.logs.dir=$dir/logs" "-Dlog4j2.configurationFile=$ANCHOR/config/log4j2-broker.xml" \
    -cp "$CP" kafka.Kafka "$dir/server.properties" > "$dir/logs/stdout.log" 2>&1 &
  PIDS+=($!)
  log "kafka node $n pid $!"
done
# ready: every broker registered (the tool's topic creation retries on its own too)
for i in $(seq 1 120); do
  if "$JAVA" -cp "$CP" "-Dlog4j2.configurationFile=$ANCHOR/config/log4j2-tools.xml" org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "$bootstrap" 2>/dev/null | grep -c '^127.0.0.1:' | grep -qx "$NODES"; then
    break
  fi
  sleep 1
done
log "cluster of $NODES up: $bootstrap"

for proto in $PROTOCOLS; do
  log "run $proto; uptime: $(uptime)"
  echo "uptime before $proto: $(uptime)" >> "$RES/figures.txt"
  timeout 600 "$JAVA" -Xmx1G "-Dlog4j2.configurationFile=$ANCHOR/config/log4j2-tools.xml" -cp "$RES/classes:$CP" \
    KafkaRebalance "$bootstrap" "$proto" "events-$proto" "$MEMBERS" "$RF" > "$RES/$proto.log" 2>&1 || log "$proto exited non-zero (see $RES/$proto.log)"
  grep -E '^(FIGURES|kafka |ownership|records|member )' "$RES/$proto.log" | tee -a "$RES/figures.txt"
done
log "done: $RES/figures.txt"
