"""The union catalogue read model: works and every library's holdings, with how many
copies are out on interlibrary loan or lost; and the queries routing and search use.
Visibility-scoped works are filtered inside the queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.lending_policy import DEFAULT_POLICY
from domain.routing import Candidate
from infra.envelope import Envelope
from projections.projection import Projection, Statement

OUT_STATUSES = ("Loaned", "Received", "Overdue", "Recalled", "ShippedReturn")


class CatalogueProjection(Projection):
    name = "catalogue"
    handles = frozenset(
        {
            "libshare.work.Registered.v1",
            "libshare.holding.Registered.v1",
            "libshare.holding.CopiesChanged.v1",
            "libshare.ill-request.Requested.v1",
            "libshare.ill-request.Loaned.v1",
            "libshare.ill-request.LoanCompleted.v1",
            "libshare.ill-request.CompletedWithoutReturn.v1",
            "libshare.ill-request.ShippedForward.v1",
        }
    )
    tables = ("catalogue_works", "catalogue_holdings", "catalogue_request_works")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.catalogue_works (
        code text PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        title text NOT NULL,
        creator text NOT NULL,
        kind text NOT NULL,
        language text NOT NULL,
        shipping text NOT NULL,
        digital boolean NOT NULL,
        visible_to text[] NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.catalogue_holdings (
        id uuid PRIMARY KEY,
        work text NOT NULL,
        library text NOT NULL,
        copies int NOT NULL,
        digital_lendable int NOT NULL,
        on_loan int NOT NULL DEFAULT 0,
        lost int NOT NULL DEFAULT 0,
        UNIQUE (work, library)
    );
    CREATE TABLE IF NOT EXISTS {schema}.catalogue_request_works (
        request_id uuid PRIMARY KEY,
        work text NOT NULL
    );
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, kind = event.data, event.type.split(".")[2]
        holdings, req_works = (
            self.table("catalogue_holdings"),
            self.table("catalogue_request_works"),
        )
        if event.aggregate_type == "work":
            yield (
                f"INSERT INTO {self.table('catalogue_works')} (code, id, title, creator, kind, "
                "language, shipping, digital, visible_to) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    d["code"],
                    event.aggregate_id,
                    d["title"],
                    d["creator"],
                    d["kind"],
                    d["language"],
                    d["shipping"],
                    d["digital"],
                    d["visible_to"],
                ),
            )
        elif kind == "Registered":  # a holding
            yield (
                f"INSERT INTO {holdings} (id, work, library, copies, digital_lendable) "
                "VALUES (%s, %s, %s, %s, %s)",
                (event.aggregate_id, d["work"], d["library"], d["copies"], d["digital_lendable"]),
            )
        elif kind == "CopiesChanged":
            yield (
                f"UPDATE {holdings} SET copies = %s, digital_lendable = %s WHERE id = %s",
                (d["copies"], d["digital_lendable"], event.aggregate_id),
            )
        elif kind == "Requested":
            yield (
                f"INSERT INTO {req_works} (request_id, work) VALUES (%s, %s)",
                (event.aggregate_id, d["work"]),
            )
        else:
            change = {
                "Loaned": "on_loan = on_loan + 1",
                "LoanCompleted": "on_loan = on_loan - 1",
                "CompletedWithoutReturn": "on_loan = on_loan - 1, lost = lost + 1",
                # the forwarded request's own Loaned counts the copy again
                "ShippedForward": "on_loan = on_loan - 1",
            }[kind]
            yield (
                f"UPDATE {holdings} SET {change} WHERE library = %s AND work = "
                f"(SELECT work FROM {req_works} WHERE request_id = %s)",
                (d["supplier"], event.aggregate_id),
            )


def _visible_clause(alias: str) -> str:
    return (
        f"(%(library_kind)s::text IS NULL OR cardinality({alias}.visible_to) = 0 "
        f"OR %(library_kind)s = ANY({alias}.visible_to))"
    )


def search_works(
    conn: psycopg.Connection[Any], library_kind: str | None, q: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Works visible to a library of `library_kind` (None: every work, for auditors), with
    copies available network-wide. Scoped works are filtered inside the query."""
    sql = (
        "SELECT w.code, w.title, w.creator, w.kind, w.language, w.shipping, w.digital, "
        "coalesce(sum(h.copies - h.on_loan - h.lost), 0)::int AS available, "
        "count(h.library)::int AS holders "
        "FROM catalogue_works w LEFT JOIN catalogue_holdings h ON h.work = w.code "
        f"WHERE {_visible_clause('w')} "
        "AND (%(q)s::text IS NULL OR w.title ILIKE '%%' || %(q)s || '%%' "
        "OR w.creator ILIKE '%%' || %(q)s || '%%' OR w.code = upper(%(q)s)) "
        "GROUP BY w.code ORDER BY w.title LIMIT %(limit)s"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {"library_kind": library_kind, "q": q, "limit": limit}).fetchall()


def get_work(
    conn: psycopg.Connection[Any], code: str, library_kind: str | None
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        work = cur.execute(
            "SELECT code, title, creator, kind, language, shipping, digital, visible_to "
            f"FROM catalogue_works w WHERE code = %(code)s AND {_visible_clause('w')}",
            {"code": code.upper(), "library_kind": library_kind},
        ).fetchone()
        if work is None:
            return None
        work["holdings"] = cur.execute(
            "SELECT library, copies, digital_lendable, on_loan, lost, "
            "copies - on_loan - lost AS available FROM catalogue_holdings WHERE work = %s "
            "ORDER BY library",
            (work["code"],),
        ).fetchall()
    return work


def find_candidates(conn: psycopg.Connection[Any], work: str) -> list[Candidate]:
    """The holders of `work` with the facts routing needs: kind, locality, availability,
    active interlibrary loans and lending policy; each under the code its library has now
    (a holding registered under a code it had before is still its holding), and closed,
    with the reason, when it was merged into another library (ADR 0021)."""
    rows = conn.execute(
        "SELECT l.code, l.kind, l.locality, h.copies - h.on_loan - h.lost, "
        "(SELECT count(*) FROM ill_requests r WHERE r.supplier = l.code "
        " AND r.status = ANY(%s)), "
        "p.max_active_loans, p.lends_kinds, "
        "CASE WHEN l.merged_on <= current_date THEN 'merged into ' || l.merged_into || "
        "' on ' || l.merged_on ELSE '' END "
        "FROM catalogue_holdings h JOIN library_codes c ON c.code = h.library "
        "JOIN libraries l ON l.id = c.library_id "
        "LEFT JOIN lending_policies p ON p.library = l.code WHERE h.work = %s",
        (list(OUT_STATUSES), work),
    ).fetchall()
    return [
        Candidate(
            library=lib,
            kind=kind,
            locality=locality,
            available=int(available),
            active_loans=int(active),
            max_active_loans=DEFAULT_POLICY.max_active_loans if max_active is None else max_active,
            lends_kinds=tuple(lends) if lends is not None else DEFAULT_POLICY.lends_kinds,
            closed=closed,
        )
        for lib, kind, locality, available, active, max_active, lends, closed in rows
    ]
