"""Search over the union catalogue (ADR 0025): every work's text in two forms, folded (no
tones, đ as d: what matches) and exact (tones kept: what ranks), with a full-text vector
of each and a trigram index for what has no spaces (Hán Nôm, CJK). A work's text is its
own title, author and code and everything its libraries' records say of it: titles and
names in their original script (880 fields), ISBNs. The libraries' records are kept here
too, as MARCXML, for OAI-PMH and SRU."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.catalogue_record import isbn13
from domain.vietnamese_text import exact, fold, has_ideographs, normalise, words
from infra.envelope import Envelope
from projections.catalogue import _LENDABLE  # a copy to lend: the catalogue's rule
from projections.projection import Projection, Statement

RECORD_EVENTS = ("Imported", "Updated", "Separated", "Deleted")


def record_text(d: dict[str, Any]) -> str:
    """What a record adds to its work's search text."""
    return " ".join([d["title"], d["creator"], *d["originals"], *d["isbns"]])


def _fields_folded(d: dict[str, Any]) -> tuple[str, str]:
    return fold(" ".join([d["title"], *d["originals"]])), fold(d["creator"])


class CatalogueSearchProjection(Projection):
    name = "catalogue_search"
    handles = frozenset(
        {
            "libshare.work.Registered.v1",
            *(f"libshare.catalogue_record.{name}.v1" for name in RECORD_EVENTS),
        }
    )
    tables = ("catalogue_search", "catalogue_records")
    ddl = """
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE TABLE IF NOT EXISTS {schema}.catalogue_search (
        work text PRIMARY KEY,
        -- The work's own (a work's Registered is its only event): filtered and sorted on
        -- here, so that only a page of hits joins catalogue_works.
        title text NOT NULL,
        kind text NOT NULL,
        visible_to text[] NOT NULL,
        title_exact text NOT NULL,
        creator_exact text NOT NULL,
        base_folded text NOT NULL,
        other_exact text NOT NULL DEFAULT '',
        folded text NOT NULL,
        fts tsvector NOT NULL,
        exact_fts tsvector NOT NULL,
        -- A work whose every record was deleted is not found (one with no records is).
        records int NOT NULL DEFAULT 0,
        live_records int NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS catalogue_search_fts ON {schema}.catalogue_search USING gin (fts);
    CREATE INDEX IF NOT EXISTS catalogue_search_exact
        ON {schema}.catalogue_search USING gin (exact_fts);
    CREATE INDEX IF NOT EXISTS catalogue_search_trgm
        ON {schema}.catalogue_search USING gin (folded gin_trgm_ops);
    CREATE TABLE IF NOT EXISTS {schema}.catalogue_records (
        id uuid PRIMARY KEY,
        library text NOT NULL,
        local_id text NOT NULL,
        work text NOT NULL,
        rule text NOT NULL,
        title text NOT NULL,
        creator text NOT NULL,
        year text NOT NULL,
        isbns text[] NOT NULL,
        originals text[] NOT NULL,
        language text NOT NULL,
        marcxml text NOT NULL,
        exact text NOT NULL,
        folded text NOT NULL,
        title_folded text NOT NULL,  -- the title and the originals (880), for SRU
        creator_folded text NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        datestamp timestamptz NOT NULL,
        seq bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS catalogue_records_work ON {schema}.catalogue_records (work);
    CREATE INDEX IF NOT EXISTS catalogue_records_seq ON {schema}.catalogue_records (seq);
    CREATE INDEX IF NOT EXISTS catalogue_records_isbns
        ON {schema}.catalogue_records USING gin (isbns);
    """

    def _recompute(self, where: str) -> str:
        search, records = self.table("catalogue_search"), self.table("catalogue_records")
        return (
            f"UPDATE {search} s SET other_exact = x.other_exact, "
            "folded = concat_ws(' ', s.base_folded, x.other_folded), "
            "fts = to_tsvector('simple', concat_ws(' ', s.base_folded, x.other_folded)), "
            "exact_fts = setweight(to_tsvector('simple', s.title_exact), 'A') || "
            "setweight(to_tsvector('simple', s.creator_exact), 'B') || "
            "setweight(to_tsvector('simple', x.other_exact), 'C'), "
            "records = x.records, live_records = x.live_records "
            "FROM (SELECT coalesce(string_agg(r.exact, ' ' ORDER BY r.id) FILTER (WHERE NOT "
            "r.deleted), '') AS other_exact, coalesce(string_agg(r.folded, ' ' ORDER BY r.id) "
            "FILTER (WHERE NOT r.deleted), '') AS other_folded, count(*) AS records, "
            "count(*) FILTER (WHERE NOT r.deleted) AS live_records "
            f"FROM {records} r WHERE r.work = ({where})) x "
            f"WHERE s.work = ({where})"
        )

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, kind = event.data, event.type.split(".")[2]
        search, records = self.table("catalogue_search"), self.table("catalogue_records")
        if event.aggregate_type == "work":
            base = " ".join([d["title"], d["creator"], d["code"]])
            yield (
                f"INSERT INTO {search} (work, title, kind, visible_to, title_exact, "
                "creator_exact, base_folded, folded, fts, exact_fts) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, to_tsvector('simple', %s), "
                "setweight(to_tsvector('simple', %s), 'A') || "
                "setweight(to_tsvector('simple', %s), 'B')) ON CONFLICT (work) DO NOTHING",
                (
                    d["code"],
                    d["title"],
                    d["kind"],
                    d["visible_to"],
                    exact(d["title"]),
                    exact(d["creator"]),
                    fold(base),
                    fold(base),
                    fold(base),
                    exact(d["title"]),
                    exact(d["creator"]),
                ),
            )
            # Records may name a work before its Registered is seen (never in one save).
            yield self._recompute("%s"), (d["code"], d["code"])
            return
        by_id = f"SELECT work FROM {records} WHERE id = %s"
        if kind == "Imported":
            text = record_text(d)
            yield (
                f"INSERT INTO {records} (id, library, local_id, work, rule, title, creator, "
                "year, isbns, originals, language, marcxml, exact, folded, title_folded, "
                "creator_folded, datestamp, seq) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (id) DO NOTHING",
                (
                    event.aggregate_id,
                    d["library"],
                    d["local_id"],
                    d["work"],
                    d["rule"],
                    d["title"],
                    d["creator"],
                    d["year"],
                    d["isbns"],
                    d["originals"],
                    d["language"],
                    d["marcxml"],
                    exact(text),
                    fold(text),
                    *_fields_folded(d),
                    event.time,
                    event.notification_id,
                ),
            )
        elif kind == "Updated":
            text = record_text(d)
            yield (
                f"UPDATE {records} SET title = %s, creator = %s, year = %s, isbns = %s, "
                "originals = %s, language = %s, marcxml = %s, exact = %s, folded = %s, "
                "title_folded = %s, creator_folded = %s, deleted = false, datestamp = %s, "
                "seq = %s WHERE id = %s",
                (
                    d["title"],
                    d["creator"],
                    d["year"],
                    d["isbns"],
                    d["originals"],
                    d["language"],
                    d["marcxml"],
                    exact(text),
                    fold(text),
                    *_fields_folded(d),
                    event.time,
                    event.notification_id,
                    event.aggregate_id,
                ),
            )
        elif kind == "Separated":
            yield (
                f"UPDATE {records} SET work = %s, rule = 'new work', datestamp = %s, seq = %s "
                "WHERE id = %s",
                (d["work"], event.time, event.notification_id, event.aggregate_id),
            )
            yield self._recompute("%s"), (d["previous"], d["previous"])
        else:  # Deleted: kept, as OAI-PMH tells harvesters of deletions
            yield (
                f"UPDATE {records} SET deleted = true, datestamp = %s, seq = %s WHERE id = %s",
                (event.time, event.notification_id, event.aggregate_id),
            )
        yield self._recompute(by_id), (event.aggregate_id, event.aggregate_id)


# -- the queries ---------------------------------------------------------------------------
_ISBN_TYPED = re.compile(r"^[0-9][0-9\- ]{8,16}[0-9Xx]$")


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# Works ranked per query at most, for a page inside them: a query that matches more (a
# two-word query over a million holdings matches a few thousand works) ranks the first
# that many works the index finds with every word in its tones, then, if the page needs
# more, the first that many of the others (ADR 0025, 2026-12-02). A page past the bound
# ranks every match.
CANDIDATES = 500


@dataclass(frozen=True)
class Query:
    """A search as typed, in the forms the SQL needs: the folded words that must all be
    there (the last one may be the start of a word), the ideographic words that must be
    in the text, the exact words that rank a work higher when they match with their
    tones, and all of them with their tones (the exact-tone candidates)."""

    folded: str | None  # a tsquery, or None
    ideographs: tuple[str, ...]
    exact: str | None  # a tsquery: any exact word
    code: str
    exact_all: str | None = None  # a tsquery: every exact word, when some carry tones

    @classmethod
    def of(cls, typed: str) -> Query:
        text = normalise(typed)
        if _ISBN_TYPED.match(text) and (isbn := isbn13(text)) is not None:
            text = isbn
        folded = [w for w in words(fold(text)) if not has_ideographs(w)]
        ideographs = tuple(w for w in words(fold(text)) if has_ideographs(w))
        tsq = " & ".join(f"'{w}'" for w in folded) + (":*" if folded else "")
        exact_words = [w for w in words(exact(text)) if not has_ideographs(w)]
        toned = exact_words != folded and bool(exact_words)
        return cls(
            folded=tsq or None,
            ideographs=ideographs,
            exact=" | ".join(f"'{w}'" for w in exact_words) or None,
            code=text.upper(),
            exact_all=" & ".join(f"'{w}'" for w in exact_words) + ":*" if toned else None,
        )


def search(
    conn: psycopg.Connection[Any],
    library_kind: str | None,
    q: str | None = None,
    *,
    library: str | None = None,
    available: bool | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Works visible to a library of `library_kind` (None: every work, for auditors)
    matching `q` without regard to tones, exact-tone matches first; held by `library`,
    with a copy to lend (or none), of `kind`; a page of them."""
    where = [
        # (= '{}' rather than cardinality() = 0: the planner has statistics for it)
        "(%(library_kind)s::text IS NULL OR s.visible_to = '{}' "
        "OR %(library_kind)s = ANY(s.visible_to))",
        "(s.records = 0 OR s.live_records > 0)",
    ]
    params: dict[str, Any] = {"library_kind": library_kind, "limit": limit, "offset": offset}
    # The same bound for every page inside it (pages agree); past it, every match (LIMIT NULL)
    params["candidates"] = CANDIDATES if offset + limit <= CANDIDATES else None
    rank = "0::real"
    exact_rank = "0::real"
    matched: str | None = None
    exact_matched: str | None = None
    if q is not None and q.strip():
        query = Query.of(q)
        text = []
        if query.folded:
            text.append("s.fts @@ to_tsquery('simple', %(fq)s)")
            params["fq"] = query.folded
            rank = "ts_rank(s.fts, to_tsquery('simple', %(fq)s))"
        for n, word in enumerate(query.ideographs):
            text.append(f"s.folded LIKE %(i{n})s")
            params[f"i{n}"] = _like(word)
        if query.exact:
            params["eq"] = query.exact
            exact_rank = "ts_rank(s.exact_fts, to_tsquery('simple', %(eq)s))"
        if query.exact_all and query.folded:
            params["ea"] = query.exact_all
            exact_matched = " AND ".join(["s.exact_fts @@ to_tsquery('simple', %(ea)s)", *text[1:]])
        params["code"] = query.code
        matched = f"(({' AND '.join(text) if text else 'false'}) OR s.work = %(code)s)"
    if kind is not None:
        where.append("s.kind = %(kind)s")
        params["kind"] = kind
    if library is not None:
        where.append(
            "(EXISTS (SELECT 1 FROM catalogue_holdings h WHERE h.work = s.work "
            "AND h.library = %(library)s) OR EXISTS (SELECT 1 FROM catalogue_copies c "
            "WHERE c.work = s.work AND c.holder = %(library)s AND c.status <> 'withdrawn'))"
        )
        params["library"] = library.strip().upper()
    if available is not None:
        lendable = (
            f"EXISTS (SELECT 1 FROM catalogue_copies c WHERE c.work = s.work AND {_LENDABLE})"
        )
        where.append(lendable if available else f"NOT {lendable}")
    filters = " AND ".join(where)
    ranked = f"SELECT s.work, s.title, {exact_rank} AS exact_rank, {rank} AS rank"
    bounded = "LIMIT %(candidates)s"
    if matched is None:  # no words: every work, by title
        tiers = f"SELECT *, 0 AS tier FROM ({ranked} FROM catalogue_search s WHERE {filters}) s"
    elif exact_matched is None:
        tiers = f"SELECT *, 0 AS tier FROM ({ranked} FROM catalogue_search s WHERE {filters} "
        tiers += f"AND {matched} {bounded}) s"
    else:  # every word with its tones first; the others only if the page needs them
        params["page_end"] = offset + limit
        tiers = (
            f"WITH exact AS MATERIALIZED ({ranked} FROM catalogue_search s WHERE {filters} "
            f"AND {exact_matched} {bounded}) SELECT *, 1 AS tier FROM exact UNION ALL "
            f"SELECT *, 0 FROM ({ranked} FROM catalogue_search s WHERE {filters} AND {matched} "
            f"AND NOT ({exact_matched}) AND (SELECT count(*) FROM exact) < %(page_end)s "
            f"{bounded}) s"
        )
    sql = (
        f"WITH hits AS (SELECT * FROM ({tiers}) s "
        "ORDER BY tier DESC, exact_rank DESC, rank DESC, s.title, s.work "
        "LIMIT %(limit)s OFFSET %(offset)s) "
        "SELECT w.code, w.title, w.creator, w.kind, w.language, w.shipping, w.digital, "
        "a.available, a.holders, o.originals FROM hits h "
        "JOIN catalogue_works w ON w.code = h.work "
        "LEFT JOIN LATERAL (SELECT "
        f"count(*) FILTER (WHERE {_LENDABLE})::int AS available, "
        "count(DISTINCT c.holder) FILTER (WHERE c.status <> 'withdrawn')::int AS holders "
        "FROM catalogue_copies c WHERE c.work = h.work) a ON true "
        "LEFT JOIN LATERAL (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') AS originals "
        "FROM catalogue_records r, unnest(r.originals) x "
        "WHERE r.work = h.work AND NOT r.deleted) o ON true "
        "ORDER BY h.tier DESC, h.exact_rank DESC, h.rank DESC, h.title, h.work"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def records_of(conn: psycopg.Connection[Any], work: str) -> list[dict[str, Any]]:
    """The libraries' records of a work, with the rule that put each under it."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT library, local_id, rule, title, creator, year, isbns, originals, deleted "
            "FROM catalogue_records WHERE work = %s ORDER BY library, local_id",
            (work,),
        ).fetchall()
