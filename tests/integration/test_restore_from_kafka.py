"""When the database and its backups are gone, the store is rebuilt from the Kafka topics
alone, event for event (the same digest), in the log's order, with every read model; and
a restore "as of" an instant takes a backup and the log after it up to that instant,
recording the cut as an event and relaying the cut history to topics of its own."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from composition.restore import restore_archive, restore_at, restore_from_kafka
from domain.history import HistoryCut
from infra.backup_archive import BackupRefused, Sealing, digest_of
from infra.backup_make import make_backup
from infra.backup_store import store_digest_rows
from tests.actors import TESTER
from tests.integration.backup_support import (
    PASSPHRASE,
    MakeSystem,
    another_database,
    event_bodies,
    make_history,
    out_of_order_commit,
    read_models,
)
from tests.integration.support import libraries, register_many
from tests.integration.test_kafka_relay import relay_all
from tests.integration.test_projection_runner import drain

SEALING = Sealing(passphrase=PASSPHRASE)


def test_the_store_rebuilt_from_kafka_alone_is_the_lost_one_event_for_event(
    make_system: MakeSystem, kafka_bootstrap: str, pg_server_url: str, tmp_path: Path
) -> None:
    kafka = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_topic_prefix": f"test-{uuid.uuid4().hex[:10]}",
        "kafka_partitions": 3,
    }
    lost = make_system(data_dir=tmp_path / "lost", **kafka)
    make_history(lost, rounds=2)
    out_of_order_commit(lost)
    drain(lost, lost.make_runner())
    relay_all(lost)
    relay_all(lost)  # a relay that published a batch twice: the copies change nothing
    before = (event_bodies(lost), read_models(lost))
    lost_digest = digest_of(store_digest_rows(lost.db.url)).summary()["digest"]

    with another_database(pg_server_url) as url:
        target = make_system(database_url=url, data_dir=tmp_path / "lost", **kafka)
        report = restore_from_kafka(target)

        assert report.digest == lost_digest
        assert event_bodies(target) == before[0]  # event for event, in the log's order
        assert read_models(target) == before[1]
        assert relay_all(target) == 0  # Kafka has them all: nothing is published again
        with pytest.raises(BackupRefused, match="not empty"):
            restore_from_kafka(target)


def test_a_restore_as_of_an_instant_cuts_history_there_and_says_so(
    make_system: MakeSystem, kafka_bootstrap: str, pg_server_url: str, tmp_path: Path
) -> None:
    old_prefix = f"test-{uuid.uuid4().hex[:10]}"
    kafka = {"kafka_bootstrap_servers": kafka_bootstrap, "kafka_partitions": 3}
    lost = make_system(data_dir=tmp_path / "lost", kafka_topic_prefix=old_prefix, **kafka)
    make_history(lost, rounds=1)
    archive = tmp_path / "network.lsbak"
    make_backup(lost.db, lost.settings, archive, SEALING)
    good = register_many(lost, 3, prefix="GOOD")  # after the backup, before the instant
    time.sleep(0.05)
    instant = datetime.now(UTC)
    time.sleep(0.05)
    bad = register_many(lost, 5, prefix="BAD")  # the mistaken import
    relay_all(lost)
    kept = len(event_bodies(lost)) - len(bad)

    with another_database(pg_server_url) as url:
        same_topics = make_system(database_url=url, data_dir=tmp_path / "new",
                                  kafka_topic_prefix=old_prefix, **kafka)  # fmt: skip
        with pytest.raises(BackupRefused, match="topics of its own"):
            restore_at(same_topics, archive, SEALING, instant, "nhập nhầm dữ liệu")
        new_prefix = f"test-{uuid.uuid4().hex[:10]}"
        target = make_system(database_url=url, data_dir=tmp_path / "new",
                             kafka_topic_prefix=new_prefix, **kafka)  # fmt: skip
        report = restore_at(
            target, archive, SEALING, instant, "nhập nhầm dữ liệu", log_prefix=old_prefix
        )

        assert report.dropped == len(bad) and report.events == kept + 1
        # Started again on the restored store (it reads the restored key files).
        target = make_system(database_url=url, data_dir=tmp_path / "new",
                             kafka_topic_prefix=new_prefix, **kafka)  # fmt: skip
        codes = {lib["code"] for lib in libraries(target)}
        assert set(good) <= codes and not codes & set(bad)
        cuts = [a for a in (target.app.repository.get(i) for i in _ids(target))
                if isinstance(a, HistoryCut)]  # fmt: skip
        (cut,) = cuts
        assert (cut.reason, cut.kept, cut.dropped) == ("nhập nhầm dữ liệu", kept, len(bad))
        assert cut.as_of == instant
        # The cut history is a new log: all of it goes to the new topics.
        assert relay_all(target) == kept + 1
        target.catalogue.register_library(TESTER, "BAD-0000", "Lần này đúng", "school", "Phủ Lý")


def _ids(system: object) -> list[uuid.UUID]:
    with system.db.transaction() as conn:  # type: ignore[attr-defined]
        return [r[0] for r in conn.execute("SELECT DISTINCT originator_id FROM libshare_events")]


def test_a_restored_relay_goes_on_after_what_kafka_has(
    make_system: MakeSystem, kafka_bootstrap: str, pg_server_url: str, tmp_path: Path
) -> None:
    """After a restore the relay publishes what it had not published when the backup was
    made, not the rest again; with `republish` (a new cluster), everything."""
    kafka = {"kafka_bootstrap_servers": kafka_bootstrap, "kafka_partitions": 3}
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    lost = make_system(data_dir=tmp_path / "lost", kafka_topic_prefix=prefix, **kafka)
    make_history(lost, rounds=1)
    relay_all(lost)
    register_many(lost, 2, prefix="LATE")  # stored, not yet on Kafka at the backup
    archive = tmp_path / "network.lsbak"
    manifest = make_backup(lost.db, lost.settings, archive, SEALING)
    total = manifest["events"]["count"]
    assert manifest["events"]["relayed"] == total - 2

    with another_database(pg_server_url) as url:
        same = make_system(database_url=url, data_dir=tmp_path / "same",
                           kafka_topic_prefix=prefix, **kafka)  # fmt: skip
        restore_archive(same, archive, SEALING)
        assert relay_all(same) == 2
    with another_database(pg_server_url) as url:
        other = f"test-{uuid.uuid4().hex[:10]}"
        fresh = make_system(database_url=url, data_dir=tmp_path / "fresh",
                            kafka_topic_prefix=other, **kafka)  # fmt: skip
        restore_archive(fresh, archive, SEALING, republish=True)
        assert relay_all(fresh) == total
