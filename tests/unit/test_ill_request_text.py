"""What librarians type into an ILL request (a reader's card number, notes to the other
library) holds no control characters; a note keeps its line breaks."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import InvalidInput
from domain.ill_request import IllRequest
from tests.unit.test_ill_request_lifecycle import HOURS, ROTA, T0, new_request


@pytest.mark.parametrize("bad", ["BD\x00-1", "BD-\x1b[31m", "BD\n42", "BD\x7f"])
def test_a_reader_ref_with_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="control characters"):
        IllRequest.request(
            request_id=uuid.uuid4(),
            requester="REQ",
            work="W-KIEU",
            reader_ref=bad,
            service_type="Loan",
            needed_by=None,
            rota=ROTA,
            now=T0,
            answer_hours=HOURS,
        )


def test_notes_refuse_control_characters_but_keep_line_breaks() -> None:
    req = new_request()
    supplier = req.supplier
    assert supplier is not None
    with pytest.raises(InvalidInput, match="control characters"):
        req.expect_to_supply(supplier, "sẽ gửi\x00", now=T0, answer_hours=HOURS)
    req.expect_to_supply(supplier, "Sẽ gửi thứ Hai.\nCảm ơn.\tThư viện", now=T0)
    with pytest.raises(InvalidInput, match="control characters"):
        req.add_note(supplier, "xin chào\x1b")
    req.add_note(supplier, "Dòng một\r\nDòng hai")
    assert req.notes[-1]["note"] == "Dòng một\r\nDòng hai"
