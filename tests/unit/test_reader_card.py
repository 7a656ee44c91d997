"""A reader's card: a minor's needs a guardian's consent before it is active; a suspended,
pending or expired card may not borrow; erasure leaves a placeholder."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.errors import IllegalTransition, InvalidInput
from domain.reader import PLACEHOLDER, CardStatus, Reader, age_band

TODAY = date(2026, 3, 1)


def reader(born: date, guardian: dict[str, str] | None = None) -> Reader:
    return Reader.register(
        reader_ref="RD-0123456789",
        home_library="HNM-KB",
        name="Lê Minh Châu",
        born=born,
        contact="0912 345 678",
        guardian=guardian,
        today=TODAY,
    )


def test_a_minor_cannot_get_an_active_card_without_a_guardians_consent() -> None:
    child = reader(date(2015, 5, 2))
    assert child.minor and child.card_type.value == "child" and child.age_band == "6-11"
    with pytest.raises(InvalidInput, match="guardian"):
        child.activate("HNM-KB", "student_card", 0, TODAY)
    assert child.status is CardStatus.PENDING
    child.consent("HNM-KB", "Lê Văn Bình", "0987 654 321")
    child.activate("HNM-KB", "guardian", 0, TODAY)
    assert child.status is CardStatus.ACTIVE and child.may_borrow(TODAY) is None


def test_a_pending_suspended_or_expired_card_may_not_borrow() -> None:
    adult = reader(date(1990, 1, 1))
    assert adult.may_borrow(TODAY) == "card RD-0123456789 is pending"
    with pytest.raises(InvalidInput, match="fee"):
        adult.activate("HNM-KB", "citizen_id_card", 0, TODAY)
    adult.activate("HNM-KB", "citizen_id_card", 50_000, TODAY)
    adult.suspend("HNM-DT", "3 sách quá hạn")
    assert adult.may_borrow(TODAY) == "card RD-0123456789 is suspended"
    with pytest.raises(IllegalTransition):
        adult.activate("HNM-KB", "citizen_id_card", 50_000, TODAY)
    adult.reinstate("HNM-DT")
    assert adult.expires is not None
    later = adult.expires + timedelta(days=1)
    assert adult.may_borrow(later) is not None
    adult.renew("HNM-KB", 50_000, later)
    assert adult.may_borrow(later) is None


def test_an_erased_reader_reads_as_a_placeholder_and_keeps_the_age_band() -> None:
    adult = reader(date(1950, 1, 1))
    assert adult.name == "Lê Minh Châu" and adult.age_band == "60+"
    adult.request_erasure()
    adult.erased()
    assert adult.name == PLACEHOLDER and adult.personal is None
    assert adult.status is CardStatus.ERASED and adult.age_band == "60+"


def test_age_bands() -> None:
    assert [age_band(a) for a in (0, 6, 12, 16, 18, 60)] == [
        "0-5",
        "6-11",
        "12-15",
        "16-17",
        "18-59",
        "60+",
    ]


def test_no_repr_names_the_reader() -> None:
    child = reader(date(2015, 5, 2), {"name": "Lê Văn Bình", "contact": "0987 654 321"})
    shown = repr(child) + "".join(repr(e) for e in child.collect_events())
    assert "Lê" not in shown and "0912" not in shown and "0987" not in shown
