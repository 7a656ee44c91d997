"""A library's reorganisation events (ADR 0021), without I/O: each names its legal act and
effective day, a retry records nothing, the old Renamed events still load, and the
registry as of any day replays to what it was."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.legal_act import BadLegalAct, LegalAct
from domain.library import Library, LibraryMerged, MergeIntoItself
from infra.network_app import DateAsISO
from tests.actors import ACT_2025

DEMO_ACT = LegalAct("Quyết định 01/2025/QĐ-DEMO", date(2025, 6, 20), date(2025, 7, 1))


class _Mapper(Application):  # the store's transcodings, in memory
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


def district(code: str = "HNM-TL", name: str = "Thư viện huyện Thanh Liêm") -> Library:
    return Library.register(code, name, "district", "Thanh Liêm")


def replayed(lib: Library) -> Library:
    """The library rebuilt from its events through the store's mapper (stored and loaded)."""
    mapper = _Mapper().mapper
    rebuilt = None
    for e in lib.collect_events():
        rebuilt = mapper.to_domain_event(mapper.to_stored_event(e)).mutate(rebuilt)
    assert isinstance(rebuilt, Library)
    return rebuilt


def test_each_change_is_one_event_naming_its_act_and_a_retry_records_nothing() -> None:
    lib, into = district(), district("HNM-PL", "Thư viện thành phố Phủ Lý")
    above = Library.register("NBH-TVT", "Thư viện tỉnh Ninh Bình", "provincial", "Ninh Bình")
    for _ in range(2):
        lib.rename("Thư viện Thanh Liêm", "Sắp xếp 2025", DEMO_ACT)
        lib.recode("NBH-TL", DEMO_ACT)
        lib.reparent(above, "Ninh Bình", ACT_2025)
        lib.merge_into(into, "Sắp xếp 2025", DEMO_ACT)
    events = lib.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Registered",
        "Renamed",
        "Recoded",
        "Reparented",
        "MergedInto",
    ]
    merged = events[-1]
    assert (merged.into, merged.act, merged.act_date, merged.effective) == (  # type: ignore[attr-defined]
        "HNM-PL",
        "Quyết định 01/2025/QĐ-DEMO",
        date(2025, 6, 20),
        date(2025, 7, 1),
    )
    assert (lib.code, lib.codes, lib.parent, lib.province) == (
        "NBH-TL",
        ["HNM-TL", "NBH-TL"],
        "NBH-TVT",
        "Ninh Bình",
    )


def test_a_merged_library_takes_no_new_work_from_its_effective_day_only() -> None:
    lib, into = district(), district("HNM-PL")
    lib.merge_into(into, "Sắp xếp 2025", DEMO_ACT)
    lib.refuse_work(date(2025, 6, 30), "requester")  # not yet
    with pytest.raises(LibraryMerged, match="merged into HNM-PL on 2025-07-01"):
        lib.refuse_work(date(2025, 7, 1), "requester")


def test_merges_that_make_no_sense_are_refused_with_their_reason() -> None:
    a, b, c = district("HNM-A"), district("HNM-B"), district("HNM-C")
    with pytest.raises(MergeIntoItself):
        a.merge_into(a, "x", DEMO_ACT)
    a.merge_into(b, "x", DEMO_ACT)
    with pytest.raises(LibraryMerged, match="already merged into HNM-B"):
        a.merge_into(c, "x", DEMO_ACT)
    with pytest.raises(LibraryMerged):
        c.merge_into(a, "x", DEMO_ACT)  # into a merged library
    with pytest.raises(LibraryMerged):
        a.rename("Tên khác", "x", DEMO_ACT)


@pytest.mark.parametrize(
    ("act", "complaint"),
    [
        (LegalAct("Nghị quyết", date(2025, 6, 12), date(2025, 7, 1)), "names no number"),
        (LegalAct("", date(2025, 6, 12), date(2025, 7, 1)), "legal act"),
        (LegalAct("Nghị quyết 202/2024/QH15", date(2025, 6, 12), date(2025, 7, 1)), "for 2024"),
        (LegalAct("Nghị quyết 202/2025/QH15", date(2025, 6, 12), date(2025, 6, 1)), "before"),
    ],
)
def test_a_bad_legal_act_is_refused(act: LegalAct, complaint: str) -> None:
    with pytest.raises(BadLegalAct, match=complaint):
        district().rename("Tên mới", "x", act)
    assert issubclass(BadLegalAct, InvalidInput)


def test_a_renamed_event_of_version_1_still_loads_in_effect_when_recorded() -> None:
    lib = district()
    lib.rename("Thư viện mới", "Sáp nhập", ACT_2025)
    mapper = _Mapper().mapper
    registered, renamed = (mapper.to_stored_event(e) for e in lib.collect_events())
    state = json.loads(renamed.state)
    for key in ("act", "act_date", "effective", "class_version"):
        state.pop(key)
    old = StoredEvent(
        originator_id=renamed.originator_id,
        originator_version=renamed.originator_version,
        topic=renamed.topic,
        state=json.dumps(state).encode(),
    )
    rebuilt = None
    for stored in (registered, old):
        rebuilt = mapper.to_domain_event(stored).mutate(rebuilt)
    assert isinstance(rebuilt, Library)
    recorded = rebuilt.changes[0][0]
    assert rebuilt.name == "Thư viện mới"
    assert rebuilt.as_of(recorded - timedelta(days=1))["name"] == "Thư viện huyện Thanh Liêm"
    assert rebuilt.as_of(recorded)["name"] == "Thư viện mới"


DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))
CHANGES = st.lists(
    st.tuples(st.sampled_from(["rename", "recode", "reparent", "merge"]), DAYS, st.integers(0, 9)),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(changes=CHANGES, day=DAYS)
def test_the_registry_of_any_day_replays_to_what_it_was(
    changes: list[tuple[str, date, int]], day: date
) -> None:
    """Changes recorded in any order with any effective days: the replayed library answers
    every day as the recorded one does, and as a plain fold of the changes in effect."""
    lib, into = district(), district("HNM-PL")
    above = Library.register("NBH-TVT", "Thư viện tỉnh Ninh Bình", "provincial", "Ninh Bình")
    expected: list[tuple[date, int, dict[str, object]]] = []
    for n, (kind, effective, k) in enumerate(changes):
        act = LegalAct(f"Quyết định {n + 1}/QĐ-UBND", date(2025, 1, 1), effective)
        try:
            if kind == "rename":
                lib.rename(f"Tên {k}", "x", act)
                what: dict[str, object] = {"name": f"Tên {k}"}
            elif kind == "recode":
                lib.recode(f"NBH-X{k}", act)
                what = {"code": f"NBH-X{k}"}
            elif kind == "reparent":
                lib.reparent(above if k % 2 else None, f"Tỉnh {k}", act)
                what = {"parent": "NBH-TVT" if k % 2 else None, "province": f"Tỉnh {k}"}
            else:
                lib.merge_into(into, "x", act)
                what = {"status": "merged", "merged_into": "HNM-PL"}
        except LibraryMerged:
            continue
        if not expected or expected[-1][1] != lib.version:
            expected.append((effective, lib.version, what))
    fold = {"code": "HNM-TL", "name": "Thư viện huyện Thanh Liêm", "status": "active"}
    for _effective, _, what in sorted(
        ((e, v, w) for e, v, w in expected if e <= day), key=lambda c: (c[0], c[1])
    ):
        fold.update(what)  # type: ignore[arg-type]
    now = lib.as_of(day)
    assert {k: now[k] for k in fold} == fold
    assert replayed(lib).as_of(day) == now
