"""`libshare accounts`: the operator's way in, e.g. the first network administrator of a
new deployment (afterwards, accounts are managed over the API)."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.access import Principal
from domain.account import Role
from infra.settings import Settings
from services.commands import IssueApiKey, OpenAccount

accounts_cli = typer.Typer(help="Accounts, roles and API keys.", no_args_is_help=True)
# The operator at the console acts as a network administrator named operator-cli.
OPERATOR = Principal(account="operator-cli", roles=frozenset({Role.NETWORK_ADMIN}))


@accounts_cli.command("open")
def open_account(
    username: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[list[str], typer.Option(help="A role to grant (repeatable).")],
    library: Annotated[str | None, typer.Option(help="The account's library code.")] = None,
    partner: Annotated[str | None, typer.Option(help="The account's postal partner.")] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Ask for a password (typed twice, no echo).")
    ] = False,
) -> None:
    """Open an account with roles (idempotent)."""
    from composition.bootstrap import bootstrap

    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    system = bootstrap(Settings())
    try:
        opening = OpenAccount(
            username, name, library=library, partner=partner, roles=tuple(role), password=secret
        )
        found, created = system.entry.act(OPERATOR, opening)
        typer.echo(f"{'opened' if created else 'exists'}: {found['username']} {found['roles']}")
    finally:
        system.close()


@accounts_cli.command("api-key")
def api_key(
    username: str, label: Annotated[str, typer.Option(help="What the key is for.")]
) -> None:
    """Issue an API key for a system or partner; it is printed once and never again."""
    from composition.bootstrap import bootstrap

    system = bootstrap(Settings())
    try:
        key_id, key = system.entry.act(OPERATOR, IssueApiKey(username, label))
        typer.echo(f"{key_id}: {key}")
    finally:
        system.close()
