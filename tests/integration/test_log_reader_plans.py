"""The log's followers look at its end on every idle turn: their queries must stay on the
(xid, notification id) index however long the log grows, also with the generic plans
PostgreSQL switches to once a statement is prepared (ADR 0003)."""

from __future__ import annotations

from collections.abc import Callable

from psycopg.sql import SQL, Literal

from composition.bootstrap import System
from domain.library import Library
from infra.log_reader import LogPosition


def generic_plan(system: System, statement: SQL, params: tuple[object, ...]) -> str:
    """EXPLAIN of `statement` as PostgreSQL plans it once prepared: for any parameters."""
    with system.db.connect(autocommit=True) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        parts = statement.as_string(conn).split("%s")
        numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
        conn.execute(f"PREPARE follower_check AS {numbered}")
        values = SQL(", ").join(Literal(str(p)) for p in params).as_string(conn)
        rows = conn.execute(f"EXPLAIN EXECUTE follower_check({values})").fetchall()
    return "\n".join(r[0] for r in rows)


def test_the_held_back_check_and_the_read_use_the_index_at_the_log_end(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    for n in range(0, 5000, 250):
        system.app.save(
            *[Library.register(f"P-{n + i}", "Thư viện", "school", "X") for i in range(250)]
        )
    with system.db.connect(autocommit=True) as conn:
        conn.execute("ANALYZE libshare_events")
        end = system.reader.read(conn, LogPosition(), 5000)[-1]
    at_end = (str(end.xid), end.notification_id)
    reader = system.reader
    held = generic_plan(system, reader._held, at_end)
    read = generic_plan(system, reader._select, (*at_end, 1000))
    assert "Seq Scan" not in held and "libshare_events_xid_idx" in held, held
    assert "Seq Scan" not in read and "libshare_events_xid_idx" in read, read
