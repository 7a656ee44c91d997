"""Reorganising the network over HTTP (ADR 0021): merge, rename, re-code and re-parent by
their legal acts, the registry as of a day, statistics by the structure as it was, and
each bad input answered as problem+json with its stable type. Then the demo's
reorganisation, run twice."""

from __future__ import annotations

from datetime import date
from typing import Any

from composition.demo_network import demo_network
from composition.demo_reorganisation import reorganise_demo
from tests.e2e.callers import Network, network_admin
from tests.integration.support import eventually

ACT = {"act": "Nghị quyết 202/2025/QH15", "act_date": "2025-06-12", "effective": "2025-07-01"}


def problem(r: Any, status: int, slug: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"/problems/{slug}", r.text


def test_a_merge_a_rename_a_recode_and_the_registry_as_of_a_day(network: Network) -> None:
    client, _ = network
    admin = network_admin(client)
    merge = {"into": "HNM-PL", "reason": "Sắp xếp 2025", "act": ACT}
    r = client.post("/libraries/HNM-TL/merge", json=merge, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["merged_into"], r.json()["merge_effective"]) == ("HNM-PL", "2025-07-01")
    again = client.post("/libraries/HNM-TL/merge", json=merge, headers=admin)
    assert again.json()["version"] == r.json()["version"]  # a retry records nothing
    renamed = client.post(
        "/libraries/HNM-PL/rename",
        json={"name": "Thư viện Phủ Lý", "reason": "Sắp xếp 2025", "act": ACT},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    recoded = client.post(
        "/libraries/HNM-PL/recode", json={"code": "NBH-PL", "act": ACT}, headers=admin
    )
    assert recoded.status_code == 200 and recoded.json()["codes"] == ["HNM-PL", "NBH-PL"]
    parented = client.post(
        "/libraries/HNM-TVT/reparent",
        json={"parent": None, "province": "Ninh Bình", "act": ACT},
        headers=admin,
    )
    assert parented.status_code == 200 and parented.json()["province"] == "Ninh Bình"

    def as_of(day: str) -> dict[str, dict[str, Any]]:
        libs = client.get("/libraries", params={"as_of": day}).json()
        return {lib["name"]: lib for lib in libs}

    eventually(  # the last change, re-parenting, is in the registry
        lambda: as_of("2025-07-01").get("Thư viện tỉnh Hà Nam", {}).get("province") == "Ninh Bình",
        what="the registry",
    )
    before, after = as_of("2025-06-30"), as_of("2025-07-01")
    assert before["Thư viện huyện Thanh Liêm"]["status"] == "active"
    assert before["Thư viện thành phố Phủ Lý"]["code"] == "HNM-PL"
    assert after["Thư viện huyện Thanh Liêm"]["merged_into"] == "HNM-PL"
    assert after["Thư viện Phủ Lý"]["code"] == "NBH-PL"
    assert after["Thư viện tỉnh Hà Nam"]["province"] == "Ninh Bình"
    one = client.get("/libraries/HNM-PL", params={"as_of": "2025-06-30"}).json()
    assert (one["code"], one["valid_to"]) == ("HNM-PL", "2025-07-01")
    assert [p.get("valid_from") for p in one["history"]] == [None, "2025-07-01"]  # None: ever
    assert client.get("/libraries/NBH-PL").json()["name"] == "Thư viện Phủ Lý"
    stats = client.get("/statistics/monthly", params={"structure": "now"}, headers=admin)
    assert stats.status_code == 200, stats.text
    assert client.get("/libraries/HNM-X", params={"as_of": "2025-06-30"}).status_code == 404


def test_bad_reorganisations_are_problems_with_stable_types(network: Network) -> None:
    client, _ = network
    admin = network_admin(client)

    def merge(code: str, into: str, act: dict[str, str] = ACT) -> Any:
        body = {"into": into, "reason": "Sắp xếp", "act": act}
        return client.post(f"/libraries/{code}/merge", json=body, headers=admin)

    problem(merge("HNM-TL", "HNM-TL"), 422, "merge-into-itself")
    problem(merge("HNM-NONE", "HNM-PL"), 404, "not-found")
    problem(merge("HNM-TL", "HNM-NONE"), 404, "not-found")
    problem(merge("HNM-TL", "HNM-PL", {**ACT, "act": "Nghị quyết"}), 422, "bad-legal-act")
    problem(merge("HNM-TL", "HNM-PL", {**ACT, "effective": "2025-01-01"}), 422, "bad-legal-act")
    problem(merge("HNM-TL", "HNM-PL", {**ACT, "act_date": "2024-06-12"}), 422, "bad-legal-act")
    problem(merge("HNM-TL", "HNM-PL", {**ACT, "act_date": "12/06/2025"}), 422, "validation-error")
    assert merge("HNM-TL", "HNM-PL").status_code == 200
    problem(merge("HNM-TL", "HNM-BL"), 409, "library-merged")  # merged already
    problem(merge("HNM-BL", "HNM-TL"), 409, "library-merged")  # into a merged library
    recode = client.post(
        "/libraries/HNM-BL/recode", json={"code": "HNM-LN", "act": ACT}, headers=admin
    )
    problem(recode, 409, "code-in-use")
    bad_code = client.post(
        "/libraries/HNM-BL/recode", json={"code": "bad code", "act": ACT}, headers=admin
    )
    problem(bad_code, 422, "invalid-input")
    librarian = client.post(
        "/libraries/HNM-LN/merge",
        json={"into": "HNM-BL", "reason": "x", "act": ACT},
        headers={"Authorization": "Bearer nope"},
    )
    problem(librarian, 401, "unauthenticated")
    problem(
        client.get("/statistics/monthly", params={"structure": "soon"}, headers=admin),
        422,
        "validation-error",
    )


def test_the_demo_reorganisation_is_idempotent(network: Network) -> None:
    client, system = network
    codes = [lib["code"] for lib in demo_network()["libraries"]]
    first = reorganise_demo(system, codes)
    assert (first["code"], first["merged_into"]) == ("HNM-TL", "HNM-PL")
    versions = {c: system.catalogue.current_library(c).version for c in [*codes, "NBH-TVT"]}
    reorganise_demo(system, codes)
    assert {c: system.catalogue.current_library(c).version for c in versions} == versions
    tvt = system.catalogue.current_library("HNM-TVT").as_of(date(2025, 7, 1))
    assert (tvt["parent"], tvt["province"]) == ("NBH-TVT", "Ninh Bình")
    eventually(
        lambda: len(client.get("/libraries", params={"as_of": "2025-07-01"}).json()) == 17,
        what="the registry",
    )
