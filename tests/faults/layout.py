"""The production layout as real processes, for fault tests: a Kafka broker of its own,
the test session's PostgreSQL given to every process as DATABASE_URL, `libshare serve
--no-workers`, `libshare relay`, two `libshare projector --source kafka`, and a few HTTP
clients creating ILL requests. Each process logs to a file under the test's folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "infra" / "kafka" / "kafka.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port whose successor is free too (the broker's controller takes port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports in a row")


class Broker:
    """A single-node Kafka broker of the fault suite's own (its own port and data), so that
    stopping it disturbs no other test. `stop` then `start` keeps its data and port, as an
    operator's restart does."""

    def __init__(self, data: Path) -> None:
        self.port = free_port_pair()
        self.env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_DATA": str(data)}
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _run(self, action: str, fresh: bool = False) -> None:
        env = {**self.env, "KAFKA_FRESH": "1" if fresh else "0"}
        subprocess.run([str(KAFKA_SH), action], env=env, check=True, capture_output=True)

    def start(self, fresh: bool = False) -> None:
        phase("starting the broker")
        self._run("start", fresh)
        phase("broker answers")

    def stop(self) -> None:
        phase("stopping the broker")
        self._run("stop")
        phase("broker stopped")

    def answers(self) -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", self.port)) == 0


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a pulled plug would."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


@dataclass
class Layout:
    """The processes of one deployment: one API, one relay, `projectors` projectors."""

    database_url: str
    broker: Broker
    folder: Path
    projectors: int = 2
    prefix: str = field(default_factory=lambda: f"fault-{uuid.uuid4().hex[:8]}")
    api_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "LIBSHARE_KAFKA_TOPIC_PREFIX": self.prefix,
            "LIBSHARE_KAFKA_PARTITIONS": "6",
            "LIBSHARE_PORT": str(self.api_port),
            "LIBSHARE_LOG_LEVEL": "INFO",
            "LIBSHARE_DATA_DIR": str(self.folder / "data"),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("LIBSHARE_REQUIRE_KAFKA", None)
        return env

    def process(self, name: str, *args: str) -> Process:
        argv = [sys.executable, "-m", "api", *args]
        p = Process(name, argv, self.env(), self.folder / f"{name}.log")
        self.processes[name] = p
        return p

    def start_api(self) -> Process:
        p = self.process("api", "serve", "--no-workers")
        p.start()
        return p

    def start_relay(self) -> Process:
        p = self.process("relay", "relay")
        p.start()
        return p

    def start_projector(self, n: int) -> Process:
        p = self.process(f"projector-{n}", "projector", "--source", "kafka")
        p.start()
        return p

    def start(self) -> None:
        phase("starting the layout")
        self.start_api()
        self.start_relay()
        for n in range(1, self.projectors + 1):
            self.start_projector(n)
        self.wait_for_api()
        phase("layout serving")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.api_port}{path}"

    def wait_for_api(self, timeout: float = 90) -> None:
        api = self.processes["api"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert api.alive(), api.log_tail()
            try:
                if len(httpx.get(self.url("/libraries"), timeout=2).json()) >= 16:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise AssertionError("the API never served the demo network:\n" + api.log_tail())

    def health(self) -> dict[str, object]:
        answer = httpx.get(self.url("/health"), timeout=10)
        return dict(answer.json())

    def stop(self) -> None:
        phase("stopping the layout")
        for p in self.processes.values():
            if p.alive():
                assert p.proc is not None
                p.proc.terminate()
        for p in self.processes.values():
            p.stop()
        phase("layout stopped")


def token(layout: Layout, username: str) -> str:
    answer = httpx.post(
        layout.url("/auth/token"),
        data={"username": username, "password": "libshare-demo"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@dataclass
class Load:
    """`clients` threads, each a librarian of another library, creating ILL requests over
    HTTP as fast as the API answers, until stopped. Every answer's status is counted."""

    layout: Layout
    clients: int = 3
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    USERS = ("thuthu.adt", "thuthu.kb", "thuthu.ca", "thuthu.tvt", "thuthu.dt")
    WORKS = ("W-KIEU", "W-CHIPHEO", "W-DIACHI-HN")

    def start(self) -> None:
        for n in range(self.clients):
            t = threading.Thread(target=self._client, args=(n,), daemon=True)
            t.start()
            self.threads.append(t)

    def _client(self, n: int) -> None:
        headers = {"Authorization": f"Bearer {token(self.layout, self.USERS[n])}"}
        with httpx.Client(timeout=30) as http:
            i = 0
            while not self.stop_event.is_set():
                i += 1
                body = {
                    "work": self.WORKS[i % len(self.WORKS)],
                    "reader_ref": f"BD-{n}-{i}",
                    "client_request_id": f"fault-{n}-{i}-{uuid.uuid4().hex[:6]}",
                }
                try:
                    answer = http.post(self.layout.url("/requests"), json=body, headers=headers)
                    self._count(answer.status_code, answer.text)
                except httpx.HTTPError as exc:
                    self._count(-1, repr(exc))
                    time.sleep(0.2)

    def _count(self, status: int, text: str) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500 or status < 0:
                self.failures.append(f"{status}: {text[:300]}")

    def finish(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(40)

    def created(self) -> int:
        with self.lock:
            return self.statuses.get(201, 0) + self.statuses.get(200, 0)


_T0 = time.monotonic()


def phase(what: str) -> None:
    """A line in the test's output with the time since the suite started (run with -s)."""
    print(f"[faults +{time.monotonic() - _T0:7.1f} s] {what}", flush=True)


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> float:
    """Seconds until `check()` held; fails after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except Exception:  # a check may fail while things recover
            pass
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")
