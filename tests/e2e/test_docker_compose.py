"""docker-compose.yml is valid for Docker users (checked where a compose client exists)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not compose_available(), reason="no docker compose client on this machine")
def test_docker_compose_config_is_valid_and_configures_every_service_by_env() -> None:
    out = subprocess.run(
        ["docker", "compose", "config"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for service in ("postgres:", "kafka:", "api:", "relay:", "projector:"):
        assert service in out
    assert "KAFKA_BOOTSTRAP_SERVERS: kafka:9092" in out
