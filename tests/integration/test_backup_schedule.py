"""The workers' backup schedule: under the supervisor, a backup is made into the folder
when the last good one is older than the interval, /health says when the last good one
was made, and a failing backup shows there as a reason."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from infra.backup_archive import Archive, Sealing
from tests.actors import TESTER
from tests.integration.backup_support import PASSPHRASE, MakeSystem
from tests.integration.support import eventually, register_many


def test_the_workers_back_up_on_schedule_and_health_says_when(
    make_system: MakeSystem, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    system = make_system(
        data_dir=tmp_path / "data",
        backup_dir=folder,
        backup_passphrase=PASSPHRASE,
        backup_every_hours=1.5 / 3600,  # every 1.5 s
    )
    register_many(system, 5)
    with TestClient(create_app(system=system)) as client:
        assert client.get("/health").json()["backup"]["summary"] == "no good backup yet"
        system.start_backups(check_every=0.2)
        eventually(lambda: len(list(folder.glob("*.lsbak"))) >= 1, what="a first backup")
        (first,) = folder.glob("*.lsbak")
        system.catalogue.register_library(TESTER, "HNM-NEW", "Thư viện mới", "school", "Phủ Lý")
        # The next one, the same day: the day keeps only its newest (retention).
        eventually(
            lambda: (
                [p.name for p in folder.glob("*.lsbak")] not in ([], [first.name])
                and len(list(folder.glob("*.lsbak"))) == 1
            ),
            what="a second backup",
        )
        (newest,) = folder.glob("*.lsbak")
        assert not first.exists()
        line = client.get("/health").json()["backup"]
        assert line["scheduled"] and line["last_good"]["path"] == str(newest)
        assert line["last_good"]["events"] == 6
        assert line["summary"].startswith("last good backup ")
        archive = Archive(newest)
        try:
            archive.verify(Sealing(passphrase=PASSPHRASE))
        finally:
            archive.close()
        # The folder is lost (a file stands in its place): the next attempt fails, and
        # /health says so. (Moved away in one step: a backup every 1.5 s may be under way.)
        folder.rename(tmp_path / "lost")
        folder.write_text("not a folder")

        def failure_shown() -> bool:
            return "the last backup failed" in " ".join(client.get("/health").json()["reasons"])

        eventually(failure_shown, what="the failure on /health")
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        # still the last good one (the one checked above, or one finished as it was moved)
        assert health["backup"]["last_good"]["path"].startswith(f"{folder}/")
