"""The digital lending read model (ADR 0022): one row per digitised work's pool (its
rights, lendable count, loans and waiting), one per digital loan (active until returned
or expired) and one per hold on the waitlist (its place in line, and the offer if a copy
waits for the reader). It follows the pools' events only. The timers find here what is
due: loans past their due time, offers past their pickup window."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from infra.envelope import Envelope
from projections.projection import Projection, Statement

POOL_EVENTS = (
    "Opened",
    "RightsRecorded",
    "LendableCountSet",
    "Lent",
    "Returned",
    "Expired",
    "Renewed",
    "HoldPlaced",
    "Offered",
    "OfferSkipped",
    "HoldCancelled",
    "OfferLapsed",
    "ReadersForgotten",
)


class DigitalProjection(Projection):
    name = "digital"
    handles = frozenset(f"libshare.digital_pool.{n}.v1" for n in POOL_EVENTS)
    tables = ("digital_pools", "digital_loans", "digital_holds")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.digital_pools (
        pool_id uuid PRIMARY KEY,
        work text NOT NULL UNIQUE,
        library text NOT NULL,
        basis text NOT NULL DEFAULT 'not_lendable',
        rights jsonb NOT NULL DEFAULT '{{}}',
        lendable int NOT NULL DEFAULT 0,
        version bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.digital_loans (
        loan_id text PRIMARY KEY,
        pool_id uuid NOT NULL,
        reader_ref text NOT NULL,
        library text NOT NULL,
        reader_type text NOT NULL,
        lent_at timestamptz NOT NULL,
        due_at timestamptz NOT NULL,
        backing text NOT NULL,
        renewals int NOT NULL DEFAULT 0,
        status text NOT NULL,
        ended_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS digital_loans_due ON {schema}.digital_loans (status, due_at);
    CREATE TABLE IF NOT EXISTS {schema}.digital_holds (
        pool_id uuid NOT NULL,
        reader_ref text NOT NULL,
        library text NOT NULL,
        reader_type text NOT NULL,
        seq bigint NOT NULL,
        placed_at timestamptz NOT NULL,
        offered_until timestamptz,
        skipped boolean NOT NULL DEFAULT false,
        PRIMARY KEY (pool_id, reader_ref)
    );
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, name, pid = event.data, event.type.split(".")[2], event.aggregate_id
        pools, loans, holds = (self.table(t) for t in self.tables)
        if name == "Opened":
            yield (
                f"INSERT INTO {pools} (pool_id, work, library, version) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (pid, d["work"], d["library"], event.version),
            )
            return
        yield (f"UPDATE {pools} SET version = %s WHERE pool_id = %s", (event.version, pid))
        if name == "RightsRecorded":
            rights = _json(d)
            yield (
                f"UPDATE {pools} SET basis = %s, rights = %s WHERE pool_id = %s",
                (d["basis"], rights, pid),
            )
        elif name == "LendableCountSet":
            yield (f"UPDATE {pools} SET lendable = %s WHERE pool_id = %s", (d["count"], pid))
        elif name == "Lent":
            yield (
                f"DELETE FROM {holds} WHERE pool_id = %s AND reader_ref = %s",
                (pid, d["reader_ref"]),
            )
            yield (
                f"INSERT INTO {loans} (loan_id, pool_id, reader_ref, library, reader_type, "
                "lent_at, due_at, backing, status) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, 'active') ON CONFLICT DO NOTHING",
                (
                    d["loan_id"],
                    pid,
                    d["reader_ref"],
                    d["library"],
                    d["reader_type"],
                    d["lent_at"],
                    d["due_at"],
                    d["backing"],
                ),
            )
        elif name in ("Returned", "Expired"):
            yield (
                f"UPDATE {loans} SET status = %s, ended_at = %s WHERE loan_id = %s",
                (name.lower(), d["at"], d["loan_id"]),
            )
        elif name == "Renewed":
            yield (
                f"UPDATE {loans} SET due_at = %s, renewals = renewals + 1 WHERE loan_id = %s",
                (d["due_at"], d["loan_id"]),
            )
        elif name == "HoldPlaced":
            yield (
                f"INSERT INTO {holds} (pool_id, reader_ref, library, reader_type, seq, placed_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (pid, d["reader_ref"], d["library"], d["reader_type"], event.version, d["at"]),
            )
        elif name == "Offered":
            yield (
                f"UPDATE {holds} SET offered_until = %s WHERE pool_id = %s AND reader_ref = %s",
                (d["until"], pid, d["reader_ref"]),
            )
        elif name == "OfferSkipped":
            yield (
                f"UPDATE {holds} SET offered_until = NULL, skipped = true "
                "WHERE pool_id = %s AND reader_ref = %s",
                (pid, d["reader_ref"]),
            )
        elif name == "ReadersForgotten":  # retention of reading history (ADR 0023)
            yield (
                f"UPDATE {loans} SET reader_ref = '' WHERE loan_id = ANY(%s)",
                (list(d["loan_ids"]),),
            )
        elif name in ("HoldCancelled", "OfferLapsed"):
            yield (
                f"DELETE FROM {holds} WHERE pool_id = %s AND reader_ref = %s",
                (pid, d["reader_ref"]),
            )


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def _t(name: str) -> str:
    return name  # queries read the public schema, as the other read models' do


def due_for_timers(
    conn: psycopg.Connection[Any], now: datetime
) -> dict[str, list[tuple[str, str]]]:
    """(work, loan id) of active loans past their due time; (work, reader) of offers past
    their pickup window."""
    loans = conn.execute(
        f"SELECT p.work, l.loan_id FROM {_t('digital_loans')} l JOIN {_t('digital_pools')} p "
        "USING (pool_id) WHERE l.status = 'active' AND l.due_at <= %s ORDER BY l.due_at",
        (now,),
    ).fetchall()
    offers = conn.execute(
        f"SELECT p.work, h.reader_ref FROM {_t('digital_holds')} h "
        f"JOIN {_t('digital_pools')} p USING (pool_id) "
        "WHERE h.offered_until IS NOT NULL AND h.offered_until <= %s ORDER BY h.offered_until",
        (now,),
    ).fetchall()
    return {"expire": [tuple(r) for r in loans], "lapse": [tuple(r) for r in offers]}


def readers_to_forget(conn: psycopg.Connection[Any], now: datetime, keep_days: int) -> list[str]:
    """Works whose pools have loans that ended more than `keep_days` ago and still name
    their reader (ADR 0023)."""
    rows = conn.execute(
        f"SELECT DISTINCT p.work FROM {_t('digital_loans')} l JOIN {_t('digital_pools')} p "
        "USING (pool_id) WHERE l.status <> 'active' AND l.reader_ref <> '' "
        "AND l.ended_at < %s::date - %s ORDER BY p.work",
        (now, keep_days),
    ).fetchall()
    return [r[0] for r in rows]


def pool_detail(
    conn: psycopg.Connection[Any], work: str, library: str | None
) -> dict[str, Any] | None:
    """A pool with its waitlist (each hold's position) and its active loans: all of them
    for `library` None (auditors), else those of that library's readers."""
    with conn.cursor(row_factory=dict_row) as cur:
        pool = cur.execute(
            f"SELECT pool_id, work, library, basis, rights, lendable, version "
            f"FROM {_t('digital_pools')} WHERE work = %s",
            (work,),
        ).fetchone()
        if pool is None:
            return None
        holds = cur.execute(
            f"SELECT reader_ref, library, reader_type, placed_at, offered_until, skipped, "
            f"row_number() OVER (ORDER BY seq) AS position FROM {_t('digital_holds')} "
            "WHERE pool_id = %s ORDER BY seq",
            (pool["pool_id"],),
        ).fetchall()
        loans = cur.execute(
            f"SELECT loan_id, reader_ref, library, reader_type, lent_at, due_at, backing, "
            f"renewals FROM {_t('digital_loans')} WHERE pool_id = %s AND status = 'active' "
            "ORDER BY lent_at",
            (pool["pool_id"],),
        ).fetchall()
    pool.pop("pool_id")
    pool["active_loans"] = len(loans)
    pool["waiting"] = len(holds)
    pool["loans"] = [ln for ln in loans if library is None or ln["library"] == library]
    pool["waitlist"] = [
        h if library is None or h["library"] == library else {"position": h["position"]}
        for h in holds
    ]
    return pool


def pool_list(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every digitised work's pool with its title, copies lent now and readers waiting."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT p.work, coalesce(w.title, p.work) AS title, p.library, p.lendable, "
            f"(SELECT count(*) FROM {_t('digital_loans')} l WHERE l.pool_id = p.pool_id "
            " AND l.status = 'active') AS lent, "
            f"(SELECT count(*) FROM {_t('digital_holds')} h WHERE h.pool_id = p.pool_id) "
            f"AS waiting FROM {_t('digital_pools')} p LEFT JOIN catalogue_works w "
            "ON w.code = p.work ORDER BY title"
        ).fetchall()
