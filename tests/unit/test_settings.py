"""Settings come from the environment and fail fast on bad values."""

import pytest
from pydantic import ValidationError

from infra.settings import ProjectionSource, Settings


def test_database_and_kafka_come_from_their_conventional_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/libshare")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("LIBSHARE_PORT", "9000")
    s = Settings()
    assert s.database_url == "postgresql://u:p@db:5432/libshare"
    assert s.kafka_bootstrap_servers == "kafka:9092"
    assert s.port == 9000
    assert s.effective_projection_source() is ProjectionSource.KAFKA


def test_without_kafka_projections_read_the_notification_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    assert Settings().effective_projection_source() is ProjectionSource.LOG


def test_a_bad_value_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBSHARE_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Settings()
