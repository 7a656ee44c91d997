"""CPU per command of each libshare process under bench/latency.py's load (ADR 0034):
`python -m bench.cpu_per_command [serve|processes] [rate] [seconds]`, under
`infra/with-kafka.sh` (it needs a broker), starts the layout on a store of its own, sends
`rate` commands/s as the latency figure does, and prints each process's CPU time (user +
system, from /proc) over the run divided by the commands accepted, with the latency and
the load average. CPU time is robust to the machine's load; the latency is not. With
PROFILE=1 it also runs py-spy on the API process (bench/results/api-profile.txt, py-spy's
raw format)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.baselines import STEADY_AFTER
from bench.latency import serving, timed_commands
from composition.bootstrap import bootstrap
from infra.database import EmbeddedPostgres, ensure_database
from infra.logs import configure_logging
from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> int:
    configure_logging("WARNING")
    layout = {"serve": "one-process", "processes": "processes"}[sys.argv[1]]
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    server = os.environ.get("DATABASE_URL") or EmbeddedPostgres(ROOT / ".data" / "bench").url
    url = ensure_database(server, f"bench_{uuid.uuid4().hex[:8]}")
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        kafka_topic_prefix=f"bench-{uuid.uuid4().hex[:8]}",
        load_demo=False,
        run_workers=False,
    )
    system = bootstrap(settings, configure=False)
    system.catalogue.register_library(
        {"account": "bench", "role": "network_admin"}, "BENCH-1", "Thư viện", "school", "X"
    )
    system.close()
    rounds = int(os.environ.get("ROUNDS", "1"))
    variants = os.environ.get("VARIANTS", "").split(",")
    for _ in range(rounds):
        for variant in variants:
            os.environ["LAT_VARIANT"] = variant
            measure(settings, layout, rate, seconds, variant)
    return 0


def measure(settings: Settings, layout: str, rate: int, seconds: float, variant: str) -> None:
    me = os.getpid()
    with serving(settings, layout) as served:
        timed_commands(served, rate, 2)  # warm: pools, caches, fetch sessions
        pids = children(me)
        names = {p: Path(f"/proc/{p}/cmdline").read_text().split("\0")[3:4] for p in pids}
        spy = None
        if os.environ.get("PROFILE"):
            api = next(p for p, n in names.items() if n == ["serve"])
            spy = subprocess.Popen(
                [str(ROOT / ".venv/bin/py-spy"), "record", "-p", str(api), "-r", "100",
                 "-f", "raw", "-o", "bench/results/api-profile.txt", "--threads",
                 "-d", str(int(seconds + 3)), *os.environ.get("PYSPY_ARGS", "").split()],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1)
        before = {p: cpu_seconds(p) for p in pids}
        me_before = time.process_time()
        run = timed_commands(served, rate, seconds)
        after = {p: cpu_seconds(p) for p in pids}
        load = os.getloadavg()
        # Every command sent: one untimed, STEADY_AFTER s warming up, then the timed ones.
        commands = 1 + int(rate * STEADY_AFTER) + int(rate * seconds)
        cpu = " ".join(
            f"{' '.join(names[p])} {(after[p] - before[p]) * 1000 / commands:.2f}" for p in pids
        )
        gen = (time.process_time() - me_before) * 1000 / commands
        print(
            f"[{variant or 'main'}] {layout} {rate}/s asked, {run.achieved:.1f}/s accepted, "
            f"p50 {run.p50:.1f} p99 {run.p99:.1f} ms, load {load[0]:.2f}; "
            f"ms CPU per command: {cpu} generator {gen:.2f}",
            flush=True,
        )
        if spy:
            spy.wait()


if __name__ == "__main__":
    sys.exit(main())
