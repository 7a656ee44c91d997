"""The union catalogue read model: works, every library's holdings, and every copy with
its owner, its holder and what it is doing (domain/copy.py); and the queries routing and
search use. Counts come from the copies: a copy in transit or picked for a transfer is
nobody's to lend. Visibility-scoped works are filtered inside the queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.lending_policy import DEFAULT_POLICY
from domain.routing import Candidate
from infra.envelope import Envelope
from projections.projection import Projection, Statement

OUT_STATUSES = ("Loaned", "Received", "Overdue", "Recalled", "ShippedReturn")
# A copy may be lent when it is on a shelf (its owner's, or on deposit) and not picked.
SHELVED = ("on_shelf", "on_deposit")


COPY_EVENTS = (
    "Registered",
    "LentOnIll",
    "LoanForwarded",
    "IllLoanEnded",
    "CheckedOut",
    "CheckedIn",
    "CheckedInAtWrongLibrary",
    "TransferQueued",
    "TransferLeft",
    "Picked",
    "Dispatched",
    "ReceivedOnTransfer",
    "MissingInTransit",
    "LostOnLoan",
    "Found",
    "Withdrawn",
    "LibraryReplaced",
    "SetAside",
    "SetAsideEnded",
    "Recatalogued",
)


class CatalogueProjection(Projection):
    name = "catalogue"
    handles = frozenset(
        {
            "libshare.work.Registered.v1",
            "libshare.holding.Registered.v1",
            "libshare.holding.CopiesChanged.v1",
            *(f"libshare.copy.{name}.v1" for name in COPY_EVENTS),
        }
    )
    tables = ("catalogue_works", "catalogue_holdings", "catalogue_copies")
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
        digital_lendable int NOT NULL,
        UNIQUE (work, library)
    );
    -- Holdings were counts until copies were registered one by one (ADR 0020): the
    -- counts now come from the copies.
    ALTER TABLE {schema}.catalogue_holdings DROP COLUMN IF EXISTS copies,
        DROP COLUMN IF EXISTS on_loan, DROP COLUMN IF EXISTS lost;
    DROP TABLE IF EXISTS {schema}.catalogue_request_works;
    CREATE TABLE IF NOT EXISTS {schema}.catalogue_copies (
        id uuid PRIMARY KEY,
        barcode text NOT NULL UNIQUE,
        work text NOT NULL,
        owner text NOT NULL,
        holder text NOT NULL,
        status text NOT NULL,
        picked_for text,  -- the transfer it is picked for
        lent_to text  -- the library a copy on ILL loan is with
    );
    CREATE INDEX IF NOT EXISTS catalogue_copies_work ON {schema}.catalogue_copies (work, holder);
    -- Search counts a page of works' copies from this index alone (ADR 0025, 2026-12-02).
    CREATE INDEX IF NOT EXISTS catalogue_copies_availability
        ON {schema}.catalogue_copies (work) INCLUDE (holder, status, picked_for);
    """

    def bulk_inserts(self) -> Mapping[str, Sequence[str]]:
        """A work's, a holding's and a copy's first row, made by the server (ADR 0030).
        Each may go in before every other event: its id and keys (a work's code, a
        holding's work and library, a copy's barcode) are its aggregate's own, derived
        from them (domain/catalogue.py, domain/copy.py); no statement of this projection
        changes a key or deletes a row; the later events only update rows by id."""
        return {
            "libshare.work.Registered.v1": (
                f"INSERT INTO {self.table('catalogue_works')} (code, id, title, creator, kind, "
                "language, shipping, digital, visible_to) SELECT data->>'code', aggregate_id, "
                "data->>'title', data->>'creator', data->>'kind', data->>'language', "
                "data->>'shipping', (data->>'digital')::boolean, "
                "ARRAY(SELECT v FROM jsonb_array_elements_text(data->'visible_to') "
                "WITH ORDINALITY AS a(v, n) ORDER BY n) FROM src",
            ),
            "libshare.holding.Registered.v1": (
                f"INSERT INTO {self.table('catalogue_holdings')} "
                "(id, work, library, digital_lendable) SELECT aggregate_id, data->>'work', "
                "data->>'library', (data->>'digital_lendable')::int FROM src",
            ),
            "libshare.copy.Registered.v1": (
                f"INSERT INTO {self.table('catalogue_copies')} "
                "(id, barcode, work, owner, holder, status) SELECT aggregate_id, "
                "data->>'barcode', data->>'work', data->>'owner', data->>'holder', "
                "data->>'status' FROM src",
            ),
        }

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, kind = event.data, event.type.split(".")[2]
        holdings, copies = self.table("catalogue_holdings"), self.table("catalogue_copies")
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
        elif event.aggregate_type == "holding" and kind == "Registered":
            yield (
                f"INSERT INTO {holdings} (id, work, library, digital_lendable) "
                "VALUES (%s, %s, %s, %s)",
                (event.aggregate_id, d["work"], d["library"], d["digital_lendable"]),
            )
        elif event.aggregate_type == "holding":  # CopiesChanged
            yield (
                f"UPDATE {holdings} SET digital_lendable = %s WHERE id = %s",
                (d["digital_lendable"], event.aggregate_id),
            )
        elif kind == "Registered":  # a copy
            yield (
                f"INSERT INTO {copies} (id, barcode, work, owner, holder, status) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (event.aggregate_id, d["barcode"], d["work"], d["owner"], d["holder"], d["status"]),
            )
        elif kind == "Recatalogued":  # its record was separated from a merge (ADR 0025)
            yield (
                f"UPDATE {copies} SET work = %s, status = %s, holder = %s, owner = %s "
                "WHERE id = %s",
                (d["work"], d["status"], d["holder"], d["owner"], event.aggregate_id),
            )
        else:  # every later copy event carries the copy's resulting state
            picked = _PICKED_FOR.get(kind, "picked_for")
            picks = (d.get("transfer_id") or d.get("loan_id"),) if "%s" in picked else ()
            lent_to = _LENT_TO.get(kind, "lent_to")
            lent: tuple[str, ...] = ()
            if kind == "LibraryReplaced":
                lent = (d["old"], d["new"])
            elif kind in ("LentOnIll", "LoanForwarded"):
                lent = (d["requester"],)
            yield (
                f"UPDATE {copies} SET status = %s, holder = %s, owner = %s, "
                f"picked_for = {picked}, lent_to = {lent_to} WHERE id = %s",
                (d["status"], d["holder"], d["owner"], *picks, *lent, event.aggregate_id),
            )


# How each copy event changes `picked_for` (%s: the event's transfer id, or the digital
# loan a copy is set aside for), as the copy's `reserved_for` and `set_aside_for` change
# (domain/copy.py); other events leave it.
_PICKED_FOR = {
    "Picked": "%s",
    "SetAside": "'digital:' || %s",
    "SetAsideEnded": "NULL",
    "TransferLeft": "CASE WHEN picked_for = %s THEN NULL ELSE picked_for END",
    "ReceivedOnTransfer": "NULL",
    "MissingInTransit": "NULL",
    "CheckedInAtWrongLibrary": "NULL",
}
# How each copy event changes `lent_to` (%s: the requester; or the old and new codes of a
# LibraryReplaced); other events leave it.
_LENT_TO = {
    "LentOnIll": "%s",
    "LoanForwarded": "%s",
    "IllLoanEnded": "NULL",
    "LostOnLoan": "NULL",
    "CheckedInAtWrongLibrary": "NULL",
    "LibraryReplaced": "CASE WHEN lent_to = %s THEN %s ELSE lent_to END",
}

_LENDABLE = "c.status IN ('on_shelf', 'on_deposit') AND c.picked_for IS NULL"

# Per library: the copies it holds (not withdrawn) and what they are doing, with the
# digital loans its holding allows; a library whose copies all left still shows (0).
_HOLDINGS = f"""
SELECT lib AS library,
       count(c.id) FILTER (WHERE c.holder = lib AND c.status <> 'withdrawn')::int AS copies,
       coalesce(max(h.digital_lendable), 0)::int AS digital_lendable,
       count(c.id) FILTER (WHERE c.holder = lib AND c.status = 'on_loan')::int AS on_loan,
       count(c.id) FILTER (WHERE c.holder = lib AND c.status = 'in_transit')::int
         AS in_transit,
       count(c.id) FILTER (WHERE c.holder = lib AND c.status = 'missing')::int AS lost,
       count(c.id) FILTER (WHERE c.holder = lib AND c.status = 'on_deposit')::int
         AS on_deposit_here,
       count(c.id) FILTER (WHERE c.owner = lib AND c.holder <> lib
                           AND c.status <> 'withdrawn')::int AS owned_elsewhere,
       count(c.id) FILTER (WHERE c.holder = lib AND {_LENDABLE})::int AS available
FROM (SELECT holder AS lib FROM catalogue_copies WHERE work = %(work)s
      UNION SELECT owner FROM catalogue_copies WHERE work = %(work)s
      UNION SELECT library FROM catalogue_holdings WHERE work = %(work)s) libs
LEFT JOIN catalogue_copies c ON c.work = %(work)s AND (c.holder = lib OR c.owner = lib)
LEFT JOIN catalogue_holdings h ON h.work = %(work)s AND h.library = lib
GROUP BY lib ORDER BY lib
"""


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
        f"count(c.id) FILTER (WHERE {_LENDABLE})::int AS available, "
        "count(DISTINCT c.holder) FILTER (WHERE c.status <> 'withdrawn')::int AS holders "
        "FROM catalogue_works w LEFT JOIN catalogue_copies c ON c.work = w.code "
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
        work["holdings"] = cur.execute(_HOLDINGS, {"work": work["code"]}).fetchall()
        work["deposits"] = cur.execute(
            "SELECT holder AS at, owner AS owned_by, count(*)::int AS copies "
            "FROM catalogue_copies WHERE work = %s AND status = 'on_deposit' "
            "GROUP BY holder, owner ORDER BY holder, owner",
            (work["code"],),
        ).fetchall()
    return work


def find_candidates(conn: psycopg.Connection[Any], work: str) -> list[Candidate]:
    """The holders of `work` with the facts routing needs: kind, locality, availability,
    active interlibrary loans and lending policy; each under the code its library has now
    (a holding registered under a code it had before is still its holding), and closed,
    with the reason, when it was merged into another library (ADR 0021)."""
    rows = conn.execute(
        "SELECT l.code, l.kind, l.locality, h.available, "
        "(SELECT count(*) FROM ill_requests r WHERE r.supplier = l.code "
        " AND r.status = ANY(%s)), "
        "p.max_active_loans, p.lends_kinds, "
        "CASE WHEN l.merged_on <= current_date THEN 'merged into ' || l.merged_into || "
        "' on ' || l.merged_on ELSE '' END "
        f"FROM (SELECT lc.library_id, count(*) FILTER (WHERE {_LENDABLE}) AS available "
        "      FROM catalogue_copies c JOIN library_codes lc ON lc.code = c.holder "
        "      WHERE c.work = %s AND c.status <> 'withdrawn' GROUP BY lc.library_id) h "
        "JOIN libraries l ON l.id = h.library_id "
        "LEFT JOIN lending_policies p ON p.library = l.code",
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


def copies_naming(conn: psycopg.Connection[Any], library: str) -> list[str]:
    """The barcodes of the copies a library owns, holds or has on ILL loan: what a merge
    or a re-code moves on (ADR 0021)."""
    rows = conn.execute(
        "SELECT barcode FROM catalogue_copies WHERE %s IN (owner, holder, lent_to) "
        "ORDER BY barcode",
        (library,),
    ).fetchall()
    return [r[0] for r in rows]
