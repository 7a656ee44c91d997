"""The `libraries` read model: the network's member libraries as they are (with their
lending policies and every code each has had), and the registry as of any day: each
library's changes with their effective dates, folded into validity periods (ADR 0021)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from infra.envelope import Envelope
from projections.projection import Projection, Statement

EVENT = "libshare.library.{}"
# What each change sets in the registry, from its event's data.
CHANGES = {
    "Renamed": lambda d: {"name": d["name"]},
    "Recoded": lambda d: {"code": d["code"]},
    "Reparented": lambda d: {"parent": d["parent"], "province": d["province"]},
    "MergedInto": lambda d: {"status": "merged", "merged_into": d["into"]},
}
ACT_FIELDS = ("act", "act_date", "effective")
# json.dumps(value, ensure_ascii=False) without a new encoder per call: in a rebuild of
# registrations, json.dumps took ~11% of the CPU, ~3.4% of it making the encoder (py-spy).
_TO_JSON = json.JSONEncoder(ensure_ascii=False).encode


class LibrariesProjection(Projection):
    name = "libraries"
    handles = frozenset(
        {
            EVENT.format("Registered.v1"),
            EVENT.format("Renamed.v2"),  # v1 events are upcast on the way out of the store
            EVENT.format("Recoded.v1"),
            EVENT.format("Reparented.v1"),
            EVENT.format("MergedInto.v1"),
            EVENT.format("PolicySet.v1"),
        }
    )
    tables = ("libraries", "lending_policies", "library_codes", "library_changes")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.libraries (
        code text PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        name text NOT NULL,
        kind text NOT NULL,
        locality text NOT NULL,
        registered_at timestamptz NOT NULL
    );
    ALTER TABLE {schema}.libraries ADD COLUMN IF NOT EXISTS parent text;
    ALTER TABLE {schema}.libraries ADD COLUMN IF NOT EXISTS province text;
    ALTER TABLE {schema}.libraries ADD COLUMN IF NOT EXISTS merged_into text;
    ALTER TABLE {schema}.libraries ADD COLUMN IF NOT EXISTS merged_on date;
    CREATE TABLE IF NOT EXISTS {schema}.lending_policies (
        library text PRIMARY KEY,
        loan_days int NOT NULL,
        renewals_allowed int NOT NULL,
        renewal_days int NOT NULL,
        max_active_loans int NOT NULL,
        lends_kinds text[] NOT NULL,
        answer_timeout_hours int NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.library_codes (
        code text PRIMARY KEY,
        library_id uuid NOT NULL
    );
    -- A read model from before ADR 0021: its libraries' codes at once (routing joins them);
    -- its registry history comes with `libshare projections rebuild libraries`.
    INSERT INTO {schema}.library_codes (code, library_id)
        SELECT code, id FROM {schema}.libraries ON CONFLICT DO NOTHING;
    CREATE TABLE IF NOT EXISTS {schema}.library_changes (
        library_id uuid NOT NULL,
        version bigint NOT NULL,
        effective date,
        recorded_at timestamptz NOT NULL,
        sets jsonb NOT NULL,
        act jsonb,
        PRIMARY KEY (library_id, version)
    );
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, kind = event.data, event.type.split(".")[2]
        libs = self.table("libraries")
        if kind == "PolicySet":
            yield self._policy(event)
            return
        if kind == "Registered":
            yield (
                f"INSERT INTO {libs} "
                "(code, id, name, kind, locality, registered_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (d["code"], event.aggregate_id, d["name"], d["kind"], d["locality"], event.time),
            )
            yield (
                f"INSERT INTO {self.table('library_codes')} (code, library_id) VALUES (%s, %s)",
                (d["code"], event.aggregate_id),
            )
            sets = {k: d[k] for k in ("code", "name", "kind", "locality")}
            yield self._change(event, None, sets, None)  # since ever: no earlier history
            return
        sets = CHANGES[kind](d)
        if kind == "Renamed":
            yield (f"UPDATE {libs} SET name = %s WHERE id = %s", (d["name"], event.aggregate_id))
        elif kind == "Recoded":
            yield (
                f"UPDATE {self.table('lending_policies')} SET library = %s WHERE library = %s",
                (d["code"], d["old_code"]),
            )
            yield (f"UPDATE {libs} SET code = %s WHERE id = %s", (d["code"], event.aggregate_id))
            yield (
                f"INSERT INTO {self.table('library_codes')} (code, library_id) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (d["code"], event.aggregate_id),
            )
        elif kind == "Reparented":
            yield (
                f"UPDATE {libs} SET parent = %s, province = %s WHERE id = %s",
                (d["parent"], d["province"], event.aggregate_id),
            )
        else:  # MergedInto
            yield (
                f"UPDATE {libs} SET merged_into = %s, merged_on = %s WHERE id = %s",
                (d["into"], d["effective"], event.aggregate_id),
            )
        act = {k: d[k] for k in (*ACT_FIELDS, "reason") if d.get(k)}
        # A rename from before ADR 0021 names no act: it took effect when recorded.
        yield self._change(event, d.get("effective") or event.time.date(), sets, act)

    def bulk_inserts(self) -> Mapping[str, Sequence[str]]:
        """A registration's three rows, made by the server (ADR 0030). They may go in
        before every other event: a library is registered first, its id and every code
        it ever has are its own alone (domain/library_code.py), and the later events
        only update its rows or insert rows of their own."""
        fields = ("code", "name", "kind", "locality")
        sets = ", ".join(f"'{k}', data->>'{k}'" for k in fields)
        return {
            EVENT.format("Registered.v1"): (
                f"INSERT INTO {self.table('libraries')} "
                "(code, id, name, kind, locality, registered_at) SELECT data->>'code', "
                "aggregate_id, data->>'name', data->>'kind', data->>'locality', time FROM src",
                f"INSERT INTO {self.table('library_codes')} (code, library_id) "
                "SELECT data->>'code', aggregate_id FROM src",
                f"INSERT INTO {self.table('library_changes')} "
                "(library_id, version, effective, recorded_at, sets, act) "
                f"SELECT aggregate_id, version, NULL, time, jsonb_build_object({sets}), NULL "
                "FROM src",
            )
        }

    def _change(
        self, event: Envelope, effective: str | date | None, sets: dict[str, Any], act: Any
    ) -> Statement:
        """A change of the registry from `effective` (None: since ever)."""
        return (
            f"INSERT INTO {self.table('library_changes')} "
            "(library_id, version, effective, recorded_at, sets, act) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                event.aggregate_id,
                event.version,
                effective,
                event.time,
                _TO_JSON(sets),
                _TO_JSON(act) if act else None,
            ),
        )

    def _policy(self, event: Envelope) -> Statement:
        d = event.data
        return (
            f"INSERT INTO {self.table('lending_policies')} AS p (library, loan_days, "
            "renewals_allowed, renewal_days, max_active_loans, lends_kinds, "
            "answer_timeout_hours) SELECT code, %s, %s, %s, %s, %s, %s "
            f"FROM {self.table('libraries')} WHERE id = %s "
            "ON CONFLICT (library) DO UPDATE SET loan_days = EXCLUDED.loan_days, "
            "renewals_allowed = EXCLUDED.renewals_allowed, "
            "renewal_days = EXCLUDED.renewal_days, "
            "max_active_loans = EXCLUDED.max_active_loans, "
            "lends_kinds = EXCLUDED.lends_kinds, "
            "answer_timeout_hours = EXCLUDED.answer_timeout_hours",
            (
                d["loan_days"],
                d["renewals_allowed"],
                d["renewal_days"],
                d["max_active_loans"],
                d["lends_kinds"],
                d["answer_timeout_hours"],
                event.aggregate_id,
            ),
        )


COLUMNS = "code, name, kind, locality, registered_at"


def merges_due(conn: psycopg.Connection[Any], today: date) -> list[str]:
    """The libraries merged into another by `today` (the timers complete their merges)."""
    rows = conn.execute(
        "SELECT code FROM libraries WHERE merged_on <= %s ORDER BY merged_on, code", (today,)
    ).fetchall()
    return [r[0] for r in rows]


def list_libraries(
    conn: psycopg.Connection[Any], *, kind: str | None = None, locality: str | None = None
) -> list[dict[str, Any]]:
    sql = f"SELECT {COLUMNS} FROM libraries WHERE true"
    params: list[Any] = []
    if kind:
        sql += " AND kind = %s"
        params.append(kind)
    if locality:
        sql += " AND locality = %s"
        params.append(locality)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql + " ORDER BY code", params).fetchall()


def get_library(conn: psycopg.Connection[Any], code: str) -> dict[str, Any] | None:
    """The library that has, or once had, `code`, as it is now."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {', '.join('l.' + c for c in COLUMNS.split(', '))} FROM libraries l "
            "JOIN library_codes c ON c.library_id = l.id WHERE c.code = %s",
            (code,),
        ).fetchone()


# -- the registry as of a day (ADR 0021) ---------------------------------------------------
def periods(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One library's changes (in the order recorded) folded into validity periods: each
    the library's state from `valid_from` (None: since ever) to `valid_to` (exclusive;
    None: still so). Changes of one day apply in the order recorded."""
    ordered = sorted(rows, key=lambda r: (r["effective"] or date.min, r["version"]))
    state: dict[str, Any] = {
        "parent": None,
        "province": None,
        "status": "active",
        "merged_into": None,
    }
    found: list[dict[str, Any]] = []
    for row in ordered:
        state = {**state, **row["sets"]}
        start = row["effective"]
        if found and found[-1]["valid_from"] == start:
            found[-1].update(state=state, acts=[*found[-1]["acts"], *_act(row)])
            continue
        if found:
            found[-1]["valid_to"] = start
        found.append({"valid_from": start, "valid_to": None, "state": state, "acts": _act(row)})
    return found


def _act(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [row["act"]] if row["act"] else []


def _changes(conn: psycopg.Connection[Any], library_id: UUID | None) -> dict[UUID, list[Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT library_id, version, effective, sets, act FROM library_changes "
            "WHERE %(id)s::uuid IS NULL OR library_id = %(id)s ORDER BY library_id, version",
            {"id": library_id},
        ).fetchall()
    by_library: dict[UUID, list[Any]] = {}
    for r in rows:
        by_library.setdefault(r["library_id"], []).append(r)
    return by_library


def _on(found: list[dict[str, Any]], day: date) -> dict[str, Any] | None:
    for p in found:
        if (p["valid_from"] or date.min) <= day and (p["valid_to"] is None or day < p["valid_to"]):
            return {**p["state"], "valid_from": p["valid_from"], "valid_to": p["valid_to"]}
    return None


def registry_as_of(
    conn: psycopg.Connection[Any], day: date, *, kind: str | None = None
) -> list[dict[str, Any]]:
    """Every library as it was on `day`: code, name, kind, locality, parent, province,
    status (active, merged) and what it was merged into, with the period it held."""
    found = [_on(periods(rows), day) for rows in _changes(conn, None).values()]
    return sorted(
        (lib for lib in found if lib and (kind is None or lib["kind"] == kind)),
        key=lambda lib: lib["code"],
    )


def library_as_of(conn: psycopg.Connection[Any], code: str, day: date) -> dict[str, Any] | None:
    """The library that has or had `code`, as it was on `day`, with its whole history."""
    row = conn.execute("SELECT library_id FROM library_codes WHERE code = %s", (code,)).fetchone()
    if row is None:
        return None
    history = periods(_changes(conn, row[0]).get(row[0], []))
    found = _on(history, day)
    return None if found is None else {**found, "history": history}


def structure_as_of(conn: psycopg.Connection[Any], day: date) -> dict[str, dict[str, Any]]:
    """Every code any library ever had -> that library as it was on `day`, merges followed
    to the library it became part of by then (for grouping statistics)."""
    codes = dict(conn.execute("SELECT code, library_id FROM library_codes").fetchall())
    states = {lid: _on(periods(rows), day) for lid, rows in _changes(conn, None).items()}
    by_code = {s["code"]: s for s in states.values() if s}
    out: dict[str, dict[str, Any]] = {}
    for code, lid in codes.items():
        state = states.get(lid)
        seen: set[str] = set()
        while state and state["merged_into"] and state["merged_into"] not in seen:
            seen.add(state["code"])
            state = by_code.get(state["merged_into"]) or _state_of_code(
                state["merged_into"], codes, states
            )
        if state:
            out[code] = state
    return out


def _state_of_code(
    code: str, codes: dict[str, UUID], states: dict[UUID, dict[str, Any] | None]
) -> dict[str, Any] | None:
    lid = codes.get(code)
    return states.get(lid) if lid else None
