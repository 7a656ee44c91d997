"""The union catalogue's figures (ADR 0025): MARC21 import end to end (through the entry:
parse, match, one transaction per batch of records with their works, keys, holdings and
copies) beside pymarc parsing the same file alone; and search p95 over a generated
catalogue of `BENCH_HOLDINGS` holdings (default 20,000; the issue's size is 1,000,000)
beside the bare indexed full-text query that finds the same works. `make bench` runs them
with the others; `python -m bench.catalogue` alone."""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from typing import Any

import pymarc

from composition.bootstrap import System, bootstrap
from domain.access import CATALOGUE_IMPORTER
from domain.vietnamese_text import exact, fold
from infra.database import ensure_database
from infra.settings import Settings
from projections.catalogue_search import Query, search

MARC_RECORDS = int(os.environ.get("BENCH_MARC", "2000"))
HOLDINGS = int(os.environ.get("BENCH_HOLDINGS", "20000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "300"))
HOLDINGS_PER_WORK = 4
ACTOR = dict(CATALOGUE_IMPORTER.actor)
_WORDS = (
    "truyện kiều nguyễn du chí phèo nam cao lão hạc đời thừa số đỏ vũ trọng phụng dế mèn "
    "phiêu lưu ký tô hoài tắt đèn ngô tất tố việt sử lược trần kim địa hà thần tích làng "
    "hương ước bản đồ tỉnh mùa lá rụng vườn nỗi buồn chiến tranh bảo ninh vợ nhặt lân "
    "người mẹ cầm súng đất nước đứng lên thời xa vắng lê lựu bến không chồng dương hướng "
    "những ngôi sao xa xôi quỳnh giông tố sông đà núi rừng biển đảo quê hương tuổi thơ dữ "
    "dội phùng quán cánh đồng bất tận ánh mắt thiên đường mù dưới bóng hoàng lan thạch "
    "lam gió lạnh đầu mùa hai đứa trẻ nhà văn học lịch sử văn hóa kinh tế giáo dục"
)
SYLLABLES = tuple(_WORDS.split())


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 5))).capitalize()


def _add(record: pymarc.Record, field: pymarc.Field) -> None:
    record.add_field(field)  # type: ignore[no-untyped-call]


def marc_file(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = pymarc.Record(force_utf8=True)
        r.leader = pymarc.Leader("00000nam a22000007a 4500")
        _add(r, pymarc.Field(tag="001", data=f"B-{i:07d}"))
        _add(
            r, pymarc.Field(tag="008", data=f"150101s{2000 + i % 25}    vm            000 0 vie d")
        )
        sub = pymarc.Subfield
        ind = pymarc.Indicators
        _add(
            r, pymarc.Field(tag="100", indicators=ind("1", " "), subfields=[sub("a", _title(rng))])
        )
        _add(
            r, pymarc.Field(tag="245", indicators=ind("1", "0"), subfields=[sub("a", _title(rng))])
        )
        _add(r, pymarc.Field(tag="952", indicators=ind(" ", " "), subfields=[sub("p", f"BC{i}")]))
        out.append(r.as_marc())
    return b"".join(out)


def import_figures(system: System, rounds: int = 3) -> tuple[float, float]:
    """(records/s through the entry, records/s pymarc parse alone), the medians of
    `rounds` turns, each a file of its own for a library of its own, parsed alone just
    before it is imported (the machine's speed drifts: turns keep the ratio fair)."""
    rates: list[float] = []
    parse_rates: list[float] = []
    for n in range(rounds):
        library = f"BENCH-{uuid.uuid4().hex[:6].upper()}"
        system.catalogue.register_library(ACTOR, library, "Thư viện đo", "district", "Hà Nam")
        data = marc_file(MARC_RECORDS, seed=7 + n)
        started = time.perf_counter()
        parsed = sum(1 for _ in pymarc.MARCReader(data, to_unicode=True))
        parse_rates.append(parsed / (time.perf_counter() - started))
        started = time.perf_counter()
        # The service the entry hands ImportCatalogue to (bench/ does not import services/).
        report = system.entry.catalogue_import.import_file(ACTOR, library, data)
        imported = len(report.created) + len(report.merged)
        rates.append(imported / (time.perf_counter() - started))
    return statistics.median(rates), statistics.median(parse_rates)


def generate_catalogue(system: System, holdings: int, seed: int = 11) -> None:
    """Works, holdings and one copy per holding written straight into the read models
    (as the projections would after importing them), with the search rows and indexes."""
    rng = random.Random(seed)
    works = max(1, holdings // HOLDINGS_PER_WORK)
    with system.db.transaction() as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY catalogue_works (code, id, title, creator, kind, language, shipping, "
            "digital, visible_to) FROM STDIN"
        ) as copy:
            titles = []
            for n in range(works):
                title, creator = _title(rng), _title(rng)
                titles.append((f"W-G{n}", title, creator))
                copy.write_row(
                    (f"W-G{n}", uuid.uuid4(), title, creator, "book", "vi", "allowed", False, [])
                )
        cur.execute(
            "CREATE TEMP TABLE search_stage (work text, title text, title_exact text, "
            "creator_exact text, folded text) ON COMMIT DROP"
        )
        with cur.copy("COPY search_stage FROM STDIN") as copy:
            for code, title, creator in titles:
                base = fold(f"{title} {creator} {code}")
                copy.write_row((code, title, exact(title), exact(creator), base))
        # The rows the projection writes for a Registered work (projections/catalogue_search.py).
        cur.execute(
            "INSERT INTO catalogue_search (work, title, kind, visible_to, title_exact, "
            "creator_exact, base_folded, folded, fts, exact_fts) "
            "SELECT work, title, 'book', '{}', title_exact, creator_exact, folded, folded, "
            "to_tsvector('simple', folded), setweight(to_tsvector('simple', title_exact), 'A') "
            "|| setweight(to_tsvector('simple', creator_exact), 'B') FROM search_stage"
        )
        with cur.copy(
            "COPY catalogue_holdings (id, work, library, digital_lendable) FROM STDIN"
        ) as copy:
            for n in range(holdings):
                copy.write_row((uuid.uuid4(), f"W-G{n % works}", _library(n, works), 0))
    with (
        system.db.transaction() as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY catalogue_copies (id, barcode, work, owner, holder, status) FROM STDIN"
        ) as copy,
    ):
        for n in range(holdings):
            lib = _library(n, works)
            status = "on_shelf" if n % 5 else "on_loan"
            copy.write_row((uuid.uuid4(), f"G{n}", f"W-G{n % works}", lib, lib, status))
    # What autovacuum does after a bulk load (its insert threshold): statistics, and the
    # visibility map that lets availability be counted from the index alone.
    with system.db.connect(autocommit=True) as conn:
        for table in (
            "catalogue_search",
            "catalogue_works",
            "catalogue_copies",
            "catalogue_holdings",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")


def _library(holding: int, works: int) -> str:
    """The library of the n-th holding: a work's holdings are at different libraries."""
    return f"L-{(holding % works + 13 * (holding // works)) % 60:03d}"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def search_figures(system: System) -> tuple[float, float]:
    """(p95 ms of our search, p95 ms of the bare indexed query), same queries."""
    generate_catalogue(system, HOLDINGS)
    rng = random.Random(3)
    queries = []
    for _ in range(QUERIES):
        words = [rng.choice(SYLLABLES) for _ in range(2)]
        typed = " ".join(words)
        queries.append(fold(typed) if rng.random() < 0.5 else typed)
    ours: list[float] = []
    bare: list[float] = []
    with system.db.transaction() as conn:
        for q in queries[:20]:  # warm the caches, untimed
            search(conn, "district", q)
        for q in queries:
            started = time.perf_counter()
            search(conn, "district", q, limit=20)
            ours.append((time.perf_counter() - started) * 1000)
            tsq = Query.of(q).folded
            started = time.perf_counter()
            conn.execute(
                "SELECT work FROM catalogue_search WHERE fts @@ to_tsquery('simple', %s) LIMIT 20",
                (tsq,),
            ).fetchall()
            bare.append((time.perf_counter() - started) * 1000)
    return p95(ours), p95(bare)


def catalogue_figures(server_url: str, figure: Any) -> list[dict[str, Any]]:
    """Both figures, in a database of their own (the other figures' events stay theirs)."""
    url = ensure_database(server_url, f"bench_catalogue_{uuid.uuid4().hex[:8]}")
    settings = Settings(database_url=url, load_demo=False, run_workers=False)
    system = bootstrap(settings, configure=False)
    try:
        system.make_runner()  # the read models' tables
        rate, parse_rate = import_figures(system)
        ours, bare = search_figures(system)
    finally:
        system.close()
    return [
        figure(
            f"MARC21 import, records/s end to end ({MARC_RECORDS} records; raw: pymarc parse)",
            rate,
            parse_rate,
            ">= 2,000 records/s",
            rate >= 2000,
            "records/s",
        ),
        figure(
            f"union catalogue search p95, {HOLDINGS:,} holdings (raw: bare indexed query)",
            ours,
            bare,
            "<= 50 ms",
            ours <= 50,
            "ms",
        ),
    ]


if __name__ == "__main__":  # only these two figures: python -m bench.catalogue
    from pathlib import Path

    from bench.figures import figure, print_table
    from infra.database import EmbeddedPostgres

    root = Path(__file__).resolve().parent.parent
    server = os.environ.get("DATABASE_URL") or EmbeddedPostgres(root / ".data" / "bench").url
    print_table(catalogue_figures(server, figure))
