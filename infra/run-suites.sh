#!/usr/bin/env bash
# The whole suite, as `make test` runs it (inside infra/with-kafka.sh): the fault suite
# (tests/faults/: mostly waiting through real outages, with a broker and processes of
# its own, an embedded PostgreSQL server of its own and a database per test) runs beside
# the rest, which uses the broker of with-kafka.sh. The rest runs at a lower CPU priority
# (nice), so that the faults' processes are not slowed by it: their recovery times are
# what the fault tests bound. The fault suite's output is printed after the rest's;
# either failing fails the run. The rest runs in three processes (pytest-xdist: most of a
# test waits, for a server, a broker or a browser; ADR 0035), each with a PostgreSQL
# server of its own. The rest's embedded PostgreSQL runs without fsync
# (LIBSHARE_TEST_FSYNC=off, tests/conftest.py): its databases are thrown away, and
# nothing it tests needs a power cut survived; the fault suite's keeps fsync on.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=.venv/bin
log=.cache/faults-run.log
mkdir -p .cache
LIBSHARE_TEST_PG_DIR=test-faults "$bin/pytest" -q -p no:cacheprovider tests/faults >"$log" 2>&1 &
faults=$!
trap 'kill "$faults" 2>/dev/null' INT TERM
LIBSHARE_TEST_FSYNC=off nice -n 10 "$bin/pytest" -q -n 3 "$@" tests/unit tests/integration tests/e2e
rest=$?
wait "$faults"
fault_rc=$?
echo "================ the fault suite (tests/faults, run beside the rest) ================"
cat "$log"
for rc in $rest $fault_rc; do
  if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then exit "$rc"; fi
done
exit 0
