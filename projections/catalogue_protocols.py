"""What OAI-PMH and SRU serve (ADR 0025): the libraries' records as imported, in the order
they last changed (`seq`, the log position of their last event), deleted ones kept as
such. A record of a visibility-scoped work is served to no one: both protocols are open
to outside systems, which see what an account of no library sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.catalogue_record import isbn13
from domain.cql import Clause, Node
from domain.vietnamese_text import fold, words

_COLUMNS = (
    "r.library, r.local_id, r.work, r.title, r.creator, r.year, r.isbns, r.originals, "
    "r.language, r.marcxml, r.deleted, r.datestamp, r.seq"
)
_PUBLIC = (
    "EXISTS (SELECT 1 FROM catalogue_works w WHERE w.code = r.work "
    "AND cardinality(w.visible_to) = 0)"
)


def records_since(
    conn: psycopg.Connection[Any],
    *,
    library: str | None,
    since: datetime | None,
    until: datetime | None,
    after_seq: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` records changed after `after_seq`, within [since, until], of
    `library` (None: of every library), in the order they changed."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM catalogue_records r WHERE {_PUBLIC} AND r.seq > %(after)s "
            "AND (%(library)s::text IS NULL OR r.library = %(library)s) "
            "AND (%(since)s::timestamptz IS NULL OR r.datestamp >= %(since)s) "
            "AND (%(until)s::timestamptz IS NULL OR r.datestamp <= %(until)s) "
            "ORDER BY r.seq LIMIT %(limit)s",
            {
                "after": after_seq,
                "library": library,
                "since": since,
                "until": until,
                "limit": limit,
            },
        ).fetchall()


def one_record(conn: psycopg.Connection[Any], library: str, local_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM catalogue_records r WHERE {_PUBLIC} "
            "AND r.library = %s AND r.local_id = %s",
            (library, local_id),
        ).fetchone()


def record_sets(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """The libraries that have records: (code, name)."""
    rows = conn.execute(
        "SELECT r.library, coalesce(max(l.name), r.library) FROM catalogue_records r "
        "LEFT JOIN libraries l ON l.code = r.library GROUP BY r.library ORDER BY r.library"
    ).fetchall()
    return [(str(code), str(name)) for code, name in rows]


def earliest_datestamp(conn: psycopg.Connection[Any]) -> datetime | None:
    row = conn.execute("SELECT min(datestamp) FROM catalogue_records").fetchone()
    return row[0] if row else None


# -- SRU: CQL over the records -------------------------------------------------------------
_FIELDS = {"title": "r.title_folded", "author": "r.creator_folded", "any": "r.folded"}


def _condition(node: Node, params: list[Any]) -> str:
    if not isinstance(node, Clause):
        left, right = _condition(node.left, params), _condition(node.right, params)
        joiner = {"and": "AND", "or": "OR", "not": "AND NOT"}[node.op]
        return f"(({left}) {joiner} ({right}))"
    if node.index == "isbn":
        params.append(isbn13(node.term) or node.term)
        return "%s = ANY(r.isbns)"
    terms = words(fold(node.term))
    if not terms:
        return "false"
    column = _FIELDS[node.index]
    joiner = " | " if node.relation == "any" else " & "
    params.append(joiner.join(f"'{t}'" for t in terms))
    return f"to_tsvector('simple', {column}) @@ to_tsquery('simple', %s)"


def sru_search(
    conn: psycopg.Connection[Any], query: Node, start: int, maximum: int
) -> tuple[int, list[dict[str, Any]]]:
    """How many live records match `query`, and those from position `start` (1-based)."""
    params: list[Any] = []
    where = f"{_PUBLIC} AND NOT r.deleted AND {_condition(query, params)}"
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT count(*) AS n FROM catalogue_records r WHERE {where}", params)
        total = int((row.fetchone() or {"n": 0})["n"])
        hits = cur.execute(
            f"SELECT {_COLUMNS} FROM catalogue_records r WHERE {where} "
            "ORDER BY r.library, r.local_id LIMIT %s OFFSET %s",
            [*params, maximum, start - 1],
        ).fetchall()
    return total, hits


def work_isbns(conn: psycopg.Connection[Any], work: str) -> list[str]:
    """The ISBNs our libraries' live records of `work` carry, each once (an outside peer
    is asked for the work by them: services/iso_candidates.py, workers/iso_outbox.py)."""
    rows = conn.execute(
        "SELECT DISTINCT i FROM catalogue_records r, unnest(r.isbns) AS i "
        "WHERE r.work = %s AND NOT r.deleted ORDER BY i",
        (work,),
    ).fetchall()
    return [str(row[0]) for row in rows]
