"""A rebuild replays into a fresh schema while the API keeps answering from the live
tables; the operator's CLI reports progress and events/s, lists and replays parked events."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from composition.bootstrap import System
from projections.runner import ProjectionRunner
from tests.integration.support import register_many
from tests.integration.test_projection_runner import drain


def test_the_api_answers_from_the_live_tables_until_the_swap(system: System) -> None:
    register_many(system, 30)
    runner: ProjectionRunner = system.make_runner()
    drain(system, runner)
    answered: list[int] = []
    with TestClient(create_app(system=system)) as client:

        def mid_rebuild(seen: int, total: int) -> None:
            # The rebuild has replayed part of the log into its own schema: the API
            # still shows every library, from the live tables.
            if seen < total:
                answered.append(len(client.get("/libraries").json()))

        system.rebuild("libraries", mid_rebuild, batch_size=7)
        assert answered and all(n == 30 for n in answered)
        assert len(client.get("/libraries").json()) == 30  # and after the swap


def test_the_cli_rebuilds_with_progress_and_lists_and_replays_parked_events(
    make_system: Callable[..., System], database_url: str
) -> None:
    system = make_system()
    register_many(system, 12)
    drain(system, system.make_runner())
    env = {"DATABASE_URL": database_url, "LIBSHARE_LOG_LEVEL": "WARNING"}
    run = CliRunner()
    rebuilt = run.invoke(cli, ["projections", "rebuild", "libraries"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilding libraries" in rebuilt.output and "events/s" in rebuilt.output
    assert "libraries: " in rebuilt.output and " events replayed" in rebuilt.output
    parked = run.invoke(cli, ["projections", "parked", "libraries"], env=env)
    assert parked.exit_code == 0 and parked.output.strip() == "[]"
    replay = run.invoke(cli, ["projections", "replay", "libraries"], env=env)
    assert replay.exit_code == 0 and "0 replayed, 0 still failing" in replay.output
    unknown = run.invoke(cli, ["projections", "rebuild", "nope"], env=env)
    assert unknown.exit_code != 0
