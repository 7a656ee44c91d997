"""An id worked out from a name is the standard's: uuid5 in the URL namespace, the same
UUID, hash and text, so ids stored before are found again."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from hypothesis import given
from hypothesis import strategies as st

from domain.name_ids import name_id


@given(st.text())
def test_a_name_gives_the_uuid5_of_the_url_namespace(name: str) -> None:
    ours, theirs = name_id(name), uuid5(NAMESPACE_URL, name)
    assert ours == theirs and hash(ours) == hash(theirs) and str(ours) == str(theirs)
    assert ours.version == 5 and ours.variant == theirs.variant and ours.bytes == theirs.bytes


def test_the_id_of_a_stored_copy_is_what_it_was() -> None:
    assert str(name_id("libshare:copy:HNM-KB-KB001")) == "7131a3e2-ef80-53f0-9c1c-1524d24b02da"
