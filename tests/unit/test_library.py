"""The Library aggregate, without I/O."""

import pytest

from domain.errors import InvalidInput
from domain.library import Library, LibraryKind
from tests.actors import ACT_2025


def test_registering_a_library_records_one_event_with_its_data() -> None:
    lib = Library.register("hnm-tvt", " Thư viện tỉnh Hà Nam ", "provincial", "Phủ Lý")
    events = lib.collect_events()
    assert [type(e).__name__ for e in events] == ["Registered"]
    assert (lib.code, lib.name, lib.kind, lib.locality) == (
        "HNM-TVT",
        "Thư viện tỉnh Hà Nam",
        LibraryKind.PROVINCIAL,
        "Phủ Lý",
    )


def test_the_id_comes_from_the_code_so_a_code_names_one_library() -> None:
    a = Library.register("HNM-PL", "A", "district", "Phủ Lý")
    b = Library.register("HNM-PL", "B", "district", "Phủ Lý")
    c = Library.register("HNM-DT", "A", "district", "Duy Tiên")
    assert a.id == b.id == Library.id_for("HNM-PL")
    assert a.id != c.id


@pytest.mark.parametrize(
    ("code", "name", "kind", "locality", "complaint"),
    [
        ("HNM TVT", "x", "school", "y", "library code"),
        ("", "x", "school", "y", "library code"),
        ("HNM-" + "X" * 40, "x", "school", "y", "library code"),
        ("HNM-A", "  ", "school", "y", "name"),
        ("HNM-A", "x", "museum", "y", "kind 'museum'"),
        ("HNM-A", "x", "school", "", "locality"),
    ],
)
def test_invalid_registrations_are_refused_with_a_reason(
    code: str, name: str, kind: str, locality: str, complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        Library.register(code, name, kind, locality)


def test_a_repeat_with_the_same_data_is_recognised_and_other_data_is_not() -> None:
    lib = Library.register("HNM-KB", "Thư viện thị xã Kim Bảng", "district", "Kim Bảng")
    assert lib.same_registration(" Thư viện thị xã Kim Bảng", "district", "Kim Bảng")
    assert not lib.same_registration("Thư viện khác", "district", "Kim Bảng")


def test_replaying_the_events_rebuilds_the_same_library() -> None:
    lib = Library.register("HNM-LN", "Thư viện huyện Lý Nhân", "district", "Lý Nhân")
    (event,) = lib.collect_events()
    rebuilt = event.mutate(None)
    assert rebuilt is not None
    assert (rebuilt.id, rebuilt.code, rebuilt.kind, rebuilt.version) == (
        lib.id,
        lib.code,
        lib.kind,
        lib.version,
    )


def test_renaming_records_the_new_name_and_a_repeat_changes_nothing() -> None:
    lib = Library.register("HNM-PL", "Thư viện thành phố Phủ Lý", "district", "Phủ Lý")
    lib.rename("Thư viện Phủ Lý (Ninh Bình)", "Sáp nhập tỉnh 2025", ACT_2025)
    lib.rename("Thư viện Phủ Lý (Ninh Bình)", "Sáp nhập tỉnh 2025", ACT_2025)
    events = lib.collect_events()
    assert [type(e).__name__ for e in events] == ["Registered", "Renamed"]
    assert lib.name == "Thư viện Phủ Lý (Ninh Bình)"
    assert lib.version == 2


def test_renaming_without_a_reason_is_refused() -> None:
    lib = Library.register("HNM-PL", "Thư viện thành phố Phủ Lý", "district", "Phủ Lý")
    with pytest.raises(InvalidInput, match="reason"):
        lib.rename("Tên mới", " ", ACT_2025)


@pytest.mark.parametrize("bad", ["Thư viện\x00", "Thư\nviện", "Thư viện\x1b[31m", "A\u0085B"])
def test_names_localities_and_reasons_with_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="control characters"):
        Library.register("HNM-A", bad, "school", "Phủ Lý")
    with pytest.raises(InvalidInput, match="control characters"):
        Library.register("HNM-A", "Thư viện", "school", bad)
    lib = Library.register("HNM-A", "Thư viện", "school", "Phủ Lý")
    with pytest.raises(InvalidInput, match="control characters"):
        lib.rename(bad, "Sáp nhập", ACT_2025)
    with pytest.raises(InvalidInput, match="control characters"):
        lib.rename("Thư viện mới", bad, ACT_2025)
