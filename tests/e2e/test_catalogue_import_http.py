"""A library administrator uploads the library's MARC21 file over HTTP and reads the
report; the works are then found in the union catalogue without tones."""

from __future__ import annotations

from tests.e2e.callers import Librarian, Network, headers_for
from tests.integration.marc_files import Book, iso2709, marcxml, nfd
from tests.integration.support import eventually

BOOKS = (
    Book("KB-100", nfd("Nỗi buồn chiến tranh"), "Bảo Ninh", "1990", barcodes=("A1", "A2")),
    Book("KB-101", "Mùa lá rụng trong vườn", "Ma Văn Kháng", "1985"),
    Book("", "Không có số hiệu"),
)


def test_an_uploaded_file_is_imported_reported_and_found(network: Network) -> None:
    client, _ = network
    admin = headers_for(client, "library_admin", library="HNM-KB")
    r = client.post(
        "/libraries/HNM-KB/catalogue-imports",
        content=iso2709(*BOOKS),
        headers={**admin, "content-type": "application/marc"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["read"], report["created"], report["unchanged"]) == (3, 2, 0)
    assert report["rejected"] == [
        {"position": 3, "record": None, "reason": "no control number (001, 999 $c or 035 $a)"}
    ]
    again = client.post(
        "/libraries/HNM-KB/catalogue-imports",
        content=marcxml(*BOOKS[:2]),
        headers={**admin, "content-type": "application/marcxml+xml"},
    )
    assert again.status_code == 200 and again.json()["unchanged"] == 2, again.text
    school = Librarian(client, "HNM-S-ADT")
    eventually(
        lambda: (
            len(school.get("/catalogue/works", params={"q": "noi buon chien tranh"}).json()) == 1
        ),
        what="the imported work in search",
    )
    (hit,) = school.get("/catalogue/works", params={"q": "bao ninh", "available": True}).json()
    assert hit["title"] == "Nỗi buồn chiến tranh" and hit["available"] == 2
    work = school.get(f"/catalogue/works/{hit['code']}").json()
    assert [(r["library"], r["local_id"], r["rule"]) for r in work["records"]] == [
        ("HNM-KB", "KB-100", "new work")
    ]


def test_an_empty_upload_is_a_problem(network: Network) -> None:
    client, _ = network
    admin = headers_for(client, "library_admin", library="HNM-KB")
    for body, problem in ((b"", "validation-error"), (b" \r\n", "invalid-input")):
        r = client.post("/libraries/HNM-KB/catalogue-imports", content=body, headers=admin)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == f"/problems/{problem}"


def test_an_uploaded_record_of_a_demo_work_joins_it_and_a_separation_takes_its_copies_back(
    network: Network,
) -> None:
    client, _ = network
    admin = headers_for(client, "library_admin", library="HNM-KB")
    kieu = Book("KB-200", "Truyện Kiều", "Nguyễn, Du, 1765-1820", "2018", barcodes=("K7",))
    r = client.post(
        "/libraries/HNM-KB/catalogue-imports",
        content=iso2709(kieu),
        headers={**admin, "content-type": "application/marc"},
    )
    assert r.json()["merged"] == [
        {"record": "KB-200", "work": "W-KIEU", "rule": "title and author"}
    ], r.text
    school = Librarian(client, "HNM-S-ADT")

    def kb_copies(work: str) -> int | None:
        r = school.get(f"/catalogue/works/{work}")
        if r.status_code == 404:  # not projected yet
            return None
        return sum(h["copies"] for h in r.json()["holdings"] if h["library"] == "HNM-KB")

    eventually(lambda: kb_copies("W-KIEU") == 2, what="the imported copy under W-KIEU")
    r = client.post(
        "/libraries/HNM-KB/catalogue-records/KB-200/separate",
        json={"reason": "a different edition"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    separated = r.json()
    assert separated["was"] == "W-KIEU" and separated["copies"] == ["HNM-KB-K7"]
    eventually(lambda: kb_copies(separated["work"]) == 1, what="the copy under its own work")
    assert kb_copies("W-KIEU") == 1
    # a record no longer merged cannot be separated again: a problem, with its type
    again = client.post(
        "/libraries/HNM-KB/catalogue-records/KB-200/separate",
        json={"reason": "twice"},
        headers=admin,
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "/problems/illegal-transition"
