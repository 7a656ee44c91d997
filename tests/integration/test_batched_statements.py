"""A run of one statement over many events gives the read model exactly what applying the
events one by one gives: one-row INSERTs sent as one INSERT from unnest, the rest (array
columns, upserts) row by row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from composition.bootstrap import System
from infra.envelope import Envelope
from projections.projection import Projection, Statement, _as_unnest


class Shelf(Projection):
    """A projection with every kind of statement the runner batches differently."""

    name = "shelf"
    handles = frozenset(
        {
            "libshare.shelf.Placed.v1",
            "libshare.shelf.Tagged.v1",
            "libshare.shelf.Counted.v1",
            "libshare.shelf.Moved.v1",
        }
    )
    tables = ("books", "tags", "counts", "notes")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.books (
        id uuid PRIMARY KEY, title text NOT NULL, copies int NOT NULL, placed timestamptz,
        note text
    );
    CREATE TABLE IF NOT EXISTS {schema}.tags (book uuid NOT NULL, tags text[] NOT NULL);
    CREATE TABLE IF NOT EXISTS {schema}.counts (shelf text PRIMARY KEY, n int NOT NULL);
    CREATE TABLE IF NOT EXISTS {schema}.notes (book uuid NOT NULL, meta jsonb, raw json);
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d = event.data
        if event.type == "libshare.shelf.Tagged.v1":  # an array column: row by row
            yield (f"INSERT INTO {self.table('tags')} VALUES (%s, %s)", (d["book"], d["tags"]))
            return
        if event.type == "libshare.shelf.Placed.v1":  # a run of these goes as one INSERT
            yield (
                f"INSERT INTO {self.table('books')} (id, title, copies, placed, note) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (d["book"], d["title"], d["copies"], event.time, d.get("note")),
            )
            return
        if event.type == "libshare.shelf.Moved.v1":  # an insert, an update, another insert
            yield (
                f"INSERT INTO {self.table('counts')} VALUES (%s, %s)",
                (f"moved {event.notification_id}", 0),
            )
            yield (
                f"UPDATE {self.table('books')} SET note = %s WHERE id = %s",
                (f"moved {event.notification_id}", d["book"]),
            )
            yield (f"INSERT INTO {self.table('tags')} VALUES (%s, %s)", (d["book"], ["moved"]))
            # JSON columns given as text (or NULL): a run of these goes as one INSERT too.
            meta = json.dumps({"kệ": d["shelf"], "n": event.notification_id}, ensure_ascii=False)
            yield (
                f"INSERT INTO {self.table('notes')} (book, meta, raw) VALUES (%s, %s, %s)",
                (d["book"], meta if d["note"] else None, '{"b": 1,  "a": [true, null]}'),
            )
            return
        yield (  # an upsert: row by row
            f"INSERT INTO {self.table('counts')} AS c VALUES (%s, 1) "
            "ON CONFLICT (shelf) DO UPDATE SET n = c.n + 1",
            (d["shelf"],),
        )


KINDS = ["Placed"] * 5 + ["Counted"] * 2 + ["Tagged"] * 3  # runs of each, by event number


def placed(n: int) -> list[Envelope]:
    books = [uuid.uuid4() for _ in range(n)]
    events = []
    for i in range(n):
        data: dict[str, Any] = {
            "book": str(books[i % 13]),  # later events place some books again: kept once
            "title": f"Sách {i}",
            "copies": i,
            "tags": ["thiếu nhi", f"kệ {i % 3}"],
            "shelf": f"kệ {i % 3}",
            "note": None if i % 2 else "ghi chú",
        }
        ev = Envelope(
            type=f"libshare.shelf.{KINDS[i % 10]}.v1",
            aggregate_type="shelf",
            aggregate_id=uuid.uuid4(),
            version=1,
            time=datetime(2026, 11, 25, 9, i % 60, tzinfo=UTC),
            notification_id=i + 1,
            xid=1,
            encoded=json.dumps(data, ensure_ascii=False).encode(),  # as from Kafka
        )
        events.append(ev)
    return events


def rows(system: System, p: Projection) -> dict[str, list[tuple[Any, ...]]]:
    with system.db.transaction() as conn:
        return {
            t: sorted(conn.execute(f"SELECT * FROM {p.table(t)}").fetchall(), key=repr)
            for t in p.tables
        }


def test_a_batched_run_gives_the_rows_that_one_by_one_gives(system: System) -> None:
    events = placed(40)
    one_by_one, batched = Shelf("shelf_one"), Shelf("shelf_many")
    with system.db.transaction() as conn:
        for p in (one_by_one, batched):
            p.create_tables(conn)
        for ev in events:
            one_by_one.apply(conn, ev)
        batched.apply_many(conn, events)
    expected, got = rows(system, one_by_one), rows(system, batched)
    assert got == expected
    placings = [e.data["book"] for e in events if e.type.endswith("Placed.v1")]
    assert len(got["books"]) == len(set(placings)) < len(placings)  # repeats kept once
    assert len(got["tags"]) == sum(e.type.endswith("Tagged.v1") for e in events)
    assert all(t[1][0] == "thiếu nhi" for t in got["tags"])
    assert sum(n for _, n in got["counts"]) == sum(e.type.endswith("Counted.v1") for e in events)


def test_only_plain_one_row_inserts_of_scalar_columns_are_sent_as_one(system: System) -> None:
    shelf = Shelf("shelf_forms")
    with system.db.transaction() as conn:
        shelf.create_tables(conn)
        forms = {
            sql: _as_unnest(conn, sql)
            for event in placed(10)[4:8]  # Placed, Counted, Counted, Tagged
            for sql, _ in shelf.statements(event)
        }
    books, upsert, tags = forms
    assert forms[books] is not None and "unnest(" in (forms[books] or "")
    assert forms[upsert] is None and forms[tags] is None


def test_json_columns_are_sent_as_one_only_when_every_row_gives_text_or_null(
    system: System,
) -> None:
    shelf = Shelf("shelf_json")
    moved = replace(placed(1)[0], type="libshare.shelf.Moved.v1")
    sql, params = list(shelf.statements(moved))[-1]
    book = params[0]
    with system.db.transaction() as conn:
        shelf.create_tables(conn)
        as_text = [(book, '{"a": 1}', "[]"), (book, None, "{}")]
        assert "unnest(" in (_as_unnest(conn, sql, as_text) or "")
        assert _as_unnest(conn, sql, [*as_text, (book, {"a": 1}, "{}")]) is None  # not text
        assert _as_unnest(conn, sql) is None  # rows unknown


MIXED = ["Placed", "Moved", "Tagged", "Placed", "Moved", "Counted", "Moved", "Placed", "Tagged"]


def test_inserts_held_per_table_and_copied_give_the_rows_that_one_by_one_gives(
    system: System,
) -> None:
    """Events of several statements each (inserts into three tables between updates
    that must see them), applied one by one, batched, and batched with COPY (a
    rebuild): the same rows."""
    events = [
        replace(ev, type=f"libshare.shelf.{MIXED[i % len(MIXED)]}.v1")
        for i, ev in enumerate(placed(45))
    ]
    one_by_one, batched, copied = Shelf("mixed_one"), Shelf("mixed_many"), Shelf("mixed_copy")
    with system.db.transaction() as conn:
        for p in (one_by_one, batched, copied):
            p.create_tables(conn)
        for ev in events:
            one_by_one.apply(conn, ev)
        batched.apply_many(conn, events)
        copied.apply_many(conn, events, copy=True)
    expected = rows(system, one_by_one)
    assert rows(system, batched) == expected
    assert rows(system, copied) == expected
    notes = [b[4] for b in expected["books"]]
    assert any(n and n.startswith("moved") for n in notes)  # the updates saw the inserts
    assert sum(t[1] == ["moved"] for t in expected["tags"]) == MIXED.count("Moved") * 5
