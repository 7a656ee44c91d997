"""Cards valid network-wide: a suspended card borrows at no library, nor digitally; a
library's policy may activate online cards at once. After erasure, a full replay and
every read model work, and the reader's name, date of birth and contact appear nowhere
we store: every table of the database, every Kafka topic and the log output are searched
for them.
Statistics are unchanged. Before erasure too, they are nowhere in clear: the events
carry them sealed with the reader's own key."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from composition.bootstrap import PROJECTIONS, System
from domain.access import ONLINE_REGISTRATION, Principal, reader_self
from domain.account import Role
from domain.reader import PLACEHOLDER, CardNotValid
from infra.logs import configure_logging
from projections.readers import reader_statistics
from services.commands import (
    BorrowDigital,
    CardStep,
    CheckOutCopy,
    EraseReader,
    ExportReaderData,
    PlaceDigitalHold,
    RegisterReader,
    ShowReader,
)
from tests.actors import TESTER
from tests.integration.kafka_read import read_all
from tests.integration.test_kafka_relay import relay_all
from tests.integration.test_projection_runner import drain

pytestmark = pytest.mark.kafka

NAME, BORN, CONTACT = "Phạm Thị Hồng Nhung", date(1987, 11, 23), "nhung.pham87@example.vn"
GUARDIAN, GUARDIAN_CONTACT = "Phạm Văn Quyết", "0913 777 246"
SECRETS = (
    NAME,
    "Hồng Nhung",
    CONTACT,
    "1987-11-23",
    "23/11/1987",
    "19871123",
    GUARDIAN,
    GUARDIAN_CONTACT,
    "Trần Gia Bảo",
    "2014-06-09",
)
LIBRARIAN = Principal("thu.thu.kb", frozenset({Role.LIBRARIAN}), library="HNM-KB")
OTHER_LIBRARIAN = Principal("thu.thu.dt", frozenset({Role.LIBRARIAN}), library="HNM-DT")


def every_table(system: System) -> str:
    """The text of every row of every table in the database, a dump: COPY's text form,
    and each value as it is (bytea columns, such as the events' state, decoded)."""
    out: list[str] = []
    with psycopg.connect(system.settings.database_url or "", autocommit=True) as conn:
        tables = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert len(tables) > 10
        for (table,) in tables:
            out.append(table)
            with conn.cursor().copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:
                out.extend(bytes(chunk).decode("utf-8", "replace") for chunk in copy)
            for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                out.extend(_text(value) for value in row)
    return "\n".join(out)


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def every_topic(system: System, expect: int) -> str:
    s = system.settings
    records = read_all(s.kafka_bootstrap_servers or "", s.kafka_topic_prefix, expect)
    assert len(records) >= expect
    return "\n".join(
        (r.value or b"").decode()
        + repr(r.key)
        + "".join(k + v.decode("utf-8", "replace") for k, v in r.headers)
        for r in records
    )


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text or s.encode("unicode_escape").decode() in text]


def world(system: System) -> None:
    system.catalogue.register_library(TESTER, "HNM-KB", "Thư viện Kim Bảng", "district", "Ba Sao")
    system.catalogue.register_library(TESTER, "HNM-DT", "Thư viện Duy Tiên", "district", "Hòa Mạc")
    system.catalogue.register_work(TESTER, code="W-KIEU", title="Truyện Kiều", kind="book")
    system.copies.register(TESTER, "HNM-DT-KIEU-1", "W-KIEU", "HNM-DT")
    system.copies.register(TESTER, "HNM-DT-KIEU-2", "W-KIEU", "HNM-DT")


def test_a_suspended_card_borrows_at_no_library(kafka_system: System) -> None:
    system = kafka_system
    world(system)
    card = system.entry.act(
        ONLINE_REGISTRATION,
        RegisterReader(home_library="HNM-KB", name=NAME, date_of_birth=BORN, contact=CONTACT),
    )
    ref = card["reader_ref"]
    assert card["status"] == "pending" and card["card_qr_svg"].startswith("<svg")
    lend = CheckOutCopy(barcode="HNM-DT-KIEU-1", reader_ref=ref)
    with pytest.raises(CardNotValid, match="pending"):
        system.entry.act(OTHER_LIBRARIAN, lend)
    step = CardStep(ref, "activate", {"method": "citizen_id_card", "fee_paid": 50_000})
    assert system.entry.act(LIBRARIAN, step)["status"] == "active"
    system.entry.act(OTHER_LIBRARIAN, lend)  # valid at every library of the network
    system.entry.act(OTHER_LIBRARIAN, CardStep(ref, "suspend", {"reason": "sách quá hạn"}))
    with pytest.raises(CardNotValid, match="suspended"):
        system.entry.act(OTHER_LIBRARIAN, CheckOutCopy("HNM-DT-KIEU-2", ref))
    now = datetime.now(UTC)
    for library in ("HNM-KB", "HNM-DT"):
        with pytest.raises(CardNotValid, match="suspended"):
            system.requests.request_item(
                TESTER, requester=library, work="W-KIEU", reader_ref=ref, now=now
            )
    for digital in (BorrowDigital("W-KIEU", ref), PlaceDigitalHold("W-KIEU", ref)):
        with pytest.raises(CardNotValid, match="suspended"):  # nor lend it a digital copy
            system.entry.act(OTHER_LIBRARIAN, digital)
    system.entry.act(OTHER_LIBRARIAN, CardStep(ref, "reinstate"))
    system.entry.act(OTHER_LIBRARIAN, CheckOutCopy("HNM-DT-KIEU-2", ref))


def test_after_erasure_nothing_personal_is_stored_and_everything_replays(
    kafka_system: System, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    system = kafka_system
    caplog.set_level(logging.DEBUG)
    configure_logging("DEBUG", json=True)  # every log line this test causes, at any level
    try:
        run_and_search(system, capfd, caplog)
    finally:
        configure_logging("WARNING", json=True)  # as tests/conftest.py has it


def run_and_search(
    system: System, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    world(system)
    adult = system.entry.act(
        ONLINE_REGISTRATION,
        RegisterReader(
            home_library="HNM-KB",
            name=NAME,
            date_of_birth=BORN,
            contact=CONTACT,
            client_request_id="dang-ky-1",
        ),
    )
    ref = adult["reader_ref"]
    retried = system.entry.act(
        ONLINE_REGISTRATION,
        RegisterReader("HNM-KB", NAME, BORN, CONTACT, client_request_id="dang-ky-1"),
    )
    assert retried["reader_ref"] == ref and retried["access_key"] == adult["access_key"]
    child = system.entry.act(
        ONLINE_REGISTRATION,
        RegisterReader("HNM-KB", "Trần Gia Bảo", date(2014, 6, 9), "bao@example.vn"),
    )["reader_ref"]
    system.entry.act(
        LIBRARIAN, CardStep(child, "consent", {"name": GUARDIAN, "contact": GUARDIAN_CONTACT})
    )
    system.entry.act(LIBRARIAN, CardStep(child, "activate", {"method": "guardian"}))
    system.entry.act(LIBRARIAN, CardStep(ref, "activate", {"method": "vneid", "fee_paid": 50_000}))
    system.entry.act(OTHER_LIBRARIAN, CheckOutCopy("HNM-DT-KIEU-1", ref))
    runner = system.make_runner()
    drain(system, runner)  # routing reads the catalogue
    system.requests.request_item(
        TESTER, requester="HNM-KB", work="W-KIEU", reader_ref=ref, now=datetime.now(UTC)
    )
    # The desk and the reader see the data; it is sealed wherever it is stored.
    assert system.entry.act(LIBRARIAN, ShowReader(ref))["name"] == NAME
    mine = system.entry.act(reader_self(ref), ExportReaderData(ref))
    assert mine["personal"]["contact"] == CONTACT and len(mine["history"]) == 2
    assert (
        system.entry.act(LIBRARIAN, ShowReader(child))["personal"]["guardian"]["name"] == GUARDIAN
    )
    drain(system, runner)
    relayed = relay_all(system)
    stored = every_table(system)
    assert ref in stored and "sealed:v1:" in stored  # the search does see the events
    assert leaks(stored) == []
    assert leaks(every_topic(system, relayed)) == []
    with system.db.transaction() as conn:
        before = reader_statistics(conn)

    for who, erased in (
        (reader_self(ref), ref),
        (Principal("qt.kb", frozenset({Role.LIBRARY_ADMIN}), library="HNM-KB"), child),
    ):
        answer = system.entry.act(who, EraseReader(erased))
        assert answer["erased"] and answer["status"] == "erased"
    assert system.entry.act(reader_self(ref), EraseReader(ref))["erased"]  # a repeat: done

    # Every aggregate replays from the first event (the write side's full replay).
    ids = {n.originator_id for n in system.app.recorder.select_notifications(start=1, limit=10_000)}
    for aggregate_id in ids:
        system.app.repository.get(aggregate_id)
    gone = system.entry.act(LIBRARIAN, ShowReader(ref))
    assert gone["name"] == PLACEHOLDER and gone["personal"] is None
    assert system.entry.act(reader_self(ref), ExportReaderData(ref))["personal"] is None
    # Every read model, live and rebuilt from the first event.
    drain(system, runner)
    for name in PROJECTIONS:
        system.rebuild(name)
    with system.db.transaction() as conn:
        after = reader_statistics(conn)
    assert after["registered"] == before["registered"] and after["total"] == 2
    assert after["by_status"] == {"erased": 2}

    total = relayed + relay_all(system)
    assert leaks(every_table(system)) == []
    assert leaks(every_topic(system, total)) == []
    out, err = capfd.readouterr()
    logged = out + err + caplog.text
    assert '"level": "info"' in logged  # the capture holds our log lines, info and up
    assert leaks(logged) == []


def test_a_library_whose_policy_allows_it_activates_online_cards_at_once(
    make_system: Any,
) -> None:
    system = make_system(readers_instant_activation=["hnm-kb"])
    world(system)
    adult = RegisterReader("HNM-KB", NAME, BORN, CONTACT)
    assert system.entry.act(ONLINE_REGISTRATION, adult)["status"] == "active"
    elsewhere = RegisterReader("HNM-DT", NAME, BORN, CONTACT)
    assert system.entry.act(ONLINE_REGISTRATION, elsewhere)["status"] == "pending"
    minor = RegisterReader("HNM-KB", "Trần Gia Bảo", date(2014, 6, 9), "bao@example.vn")
    assert system.entry.act(ONLINE_REGISTRATION, minor)["status"] == "pending"
