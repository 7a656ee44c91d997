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


def test_every_compose_service_runs_a_real_command_with_known_settings() -> None:
    """Checked everywhere, Docker or not: each service's command is one of ours and
    every LIBSHARE_ variable it sets is a setting the app reads."""
    import yaml
    from typer.testing import CliRunner

    from api.cli import cli
    from infra.settings import Settings

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "kafka", "api", "relay", "projector", "timers"} <= set(services)
    assert {"audit-log", "witness-dt", "witness-kb"} <= set(services)  # the log, 2 witnesses
    known = {f"LIBSHARE_{name.upper()}" for name in Settings.model_fields}
    for name in ("witness-dt", "witness-kb"):  # Kafka only, no database (ADR 0026)
        program, *args = services[name]["command"]
        assert program == "libshare" and args[:2] == ["audit", "witness"]
        assert CliRunner().invoke(cli, [*args[:2], "--help"]).exit_code == 0
    for name in ("api", "relay", "projector", "timers"):
        service = services[name]
        env = service.get("environment") or {}
        unknown = {k for k in env if k.startswith("LIBSHARE_")} - known
        assert not unknown, f"{name} sets unknown settings {unknown}"
        assert env.get("DATABASE_URL", "").startswith("postgresql://")
        program, *args = service["command"]
        assert program == "libshare"
        r = CliRunner().invoke(cli, [*args, "--help"])
        assert r.exit_code == 0, f"{name}: `libshare {' '.join(args)}` is not a command"
