"""Vietnamese text as it comes and as search compares it (domain/vietnamese_text.py):
normalising is idempotent and NFC; the same words typed composed, decomposed, with marks
out of order or without tones fold alike; and the rest of the matching keys."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from domain.catalogue_record import isbn13, match_keys, rule_of, title_key
from domain.cql import Boolean, Clause, CqlError, parse
from domain.vietnamese_text import exact, fold, has_ideographs, normalise

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ傳翹 "
)
text = st.text(
    alphabet=VIETNAMESE + VIETNAMESE.upper() + "\u0300\u0301\u0302\u0303\u0309\u0323", max_size=40
)


@given(text)
def test_normalising_is_idempotent_and_nfc(value: str) -> None:
    once = normalise(value)
    assert normalise(once) == once
    assert unicodedata.is_normalized("NFC", once)


@given(text)
def test_composed_decomposed_and_toneless_fold_alike(value: str) -> None:
    assert fold(unicodedata.normalize("NFD", value)) == fold(value) == fold(normalise(value))
    assert fold(fold(value)) == fold(value)
    assert not any(unicodedata.combining(c) for c in fold(value)) and "đ" not in fold(value)


def test_marks_typed_out_of_order_make_the_letter() -> None:
    assert normalise("Tie\u0301\u0302ng Vie\u0323\u0302t") == "Tiếng Việt"
    assert normalise("a\u0301\u0301") == "á"
    assert normalise("  Đời   thừa ") == "Đời thừa"
    assert fold("Đời THỪA") == "doi thua" and exact("Đời THỪA") == "đời thừa"
    assert fold("傳翹") == "傳翹" and has_ideographs("Truyện 傳翹") and not has_ideographs("Kiều")


def test_isbns_are_thirteen_digits_with_a_good_check_digit() -> None:
    assert isbn13("978-604-000001-9") == "9786040000019"
    assert isbn13("0-8044-2957-X (pbk.)") == "9780804429573"  # an ISBN-10, check digit X
    assert isbn13("0-8044-2957-1") is None
    assert isbn13("0-306-40615-2") == "9780306406157"
    assert isbn13("978-604-000001-8") is None and isbn13("12345") is None


def test_a_record_claims_its_isbns_before_its_title() -> None:
    key = title_key("truyen kieu", "nguyen du", "1998")
    assert match_keys(("9780306406157",), key) == ["isbn:9780306406157", key]
    assert rule_of("isbn:9780306406157") == "isbn 9780306406157"
    assert rule_of(key) == "title, author and year"


def test_cql_clauses_booleans_and_errors() -> None:
    assert parse("kieu") == Clause("any", "=", "kieu")
    assert parse('dc.title = "truyện kiều"') == Clause("title", "=", "truyện kiều")
    assert parse("title any kieu or (author = du and isbn = 1)") == Boolean(
        "or",
        Clause("title", "any", "kieu"),
        Boolean("and", Clause("author", "=", "du"), Clause("isbn", "=", "1")),
    )
    for bad, number in (("publisher = x", 16), ('title = "x', 10), ("(x", 10), ("", 10)):
        try:
            parse(bad)
        except CqlError as exc:
            assert exc.diagnostic == number, bad
        else:
            raise AssertionError(f"{bad!r} parsed")
