#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) on 127.0.0.1,
# run with the machine's Java from the official jars fetched through Maven.
#
#   infra/kafka/kafka.sh fetch          resolve the jars into $KAFKA_CACHE/libs (once)
#   infra/kafka/kafka.sh start          fetch, format storage (first time), start, wait until it answers
#   infra/kafka/kafka.sh stop           stop it cleanly (SIGTERM, then SIGKILL after 30 s)
#   infra/kafka/kafka.sh status         exit 0 when it is running
#
# Environment: KAFKA_CACHE (jars, default .cache/kafka), KAFKA_DATA (logs and config,
# default .cache/kafka/node), KAFKA_PORT (default 9092; the controller uses KAFKA_PORT+1),
# KAFKA_FRESH=1 wipes KAFKA_DATA before starting (the test suite wants an empty broker).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${KAFKA_CACHE:-$root/.cache/kafka}
data=${KAFKA_DATA:-$cache/node}
port=${KAFKA_PORT:-9092}
cport=$((port + 1))
libs=$cache/libs
pidfile=$data/kafka.pid

log() { echo "[kafka] $*" >&2; }

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch Kafka"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is required to run Kafka"; exit 1; }
  log "fetching Apache Kafka jars through Maven into $libs"
  rm -rf "$libs"; mkdir -p "$libs"
  mkdir -p "$cache"
  if ! mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$libs" -DincludeScope=runtime >"$cache/mvn.log" 2>&1; then
    cat "$cache/mvn.log" >&2; exit 1
  fi
  touch "$libs/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

configure() {
  mkdir -p "$data/logs"
  cat >"$data/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.ms=-1
log.retention.bytes=-1
PROPS
  cat >"$data/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $data/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
PROPS
}

start() {
  if running; then log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; return 0; fi
  fetch
  if [ "${KAFKA_FRESH:-0}" = 1 ]; then rm -rf "$data"; fi
  configure
  local jvm=(java -Xms256m -Xmx768m -Dlog4j2.configurationFile="$data/log4j2.properties" -cp "$libs/*")
  if [ ! -f "$data/logs/meta.properties" ]; then
    local uuid; uuid=$("${jvm[@]}" kafka.tools.StorageTool random-uuid)
    "${jvm[@]}" kafka.tools.StorageTool format --standalone -t "$uuid" \
        -c "$data/server.properties" >"$data/format.log" 2>&1
  fi
  nohup "${jvm[@]}" kafka.Kafka "$data/server.properties" >"$data/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers && grep -q "Kafka Server started" "$data/server.log" 2>/dev/null; then
      log "broker answers on 127.0.0.1:$port (pid $(cat "$pidfile"))"; return 0
    fi
    running || { log "broker exited; see $data/server.log and $data/stdout.log"; tail -20 "$data/stdout.log" >&2; exit 1; }
    sleep 0.5
  done
  log "broker did not answer within 60 s"; exit 1
}

stop() {
  running || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }; sleep 0.5; done
  log "no clean stop in 30 s; killing"; kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
