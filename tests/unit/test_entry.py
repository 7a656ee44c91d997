"""The one way in: every command has its handler, and the platform's own processes are
held to the permissions the policy names for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import pytest

import services.commands as commands
from domain.access import (
    DEMO_LOADER,
    TIMERS,
    VIEWER_LINK,
    Forbidden,
    Hidden,
    Permission,
    Principal,
    authorise,
    authorise_grant,
    carrier_webhook,
)
from domain.account import Role
from services.entry import Entry
from tests.actors import ACT_2025


def entry() -> Entry:
    nothing = cast(Any, None)  # no handler runs here: the services are never reached
    return Entry(
        catalogue=nothing,
        copies=nothing,
        transfers=nothing,
        rotations=nothing,
        requests=nothing,
        shipments=nothing,
        partners=nothing,
        accounts=nothing,
        reorganisation=nothing,
        readers=nothing,
        digital=nothing,
        digital_access=nothing,
        clock=lambda: datetime.now(UTC),
        iso_peers=nothing,
        iso_inbound=nothing,
        catalogue_import=nothing,
    )


def test_every_command_has_a_handler() -> None:
    declared = {
        c
        for c in vars(commands).values()
        if isinstance(c, type) and issubclass(c, commands.Command) and c is not commands.Command
    }
    assert declared == set(entry().handlers)


def test_the_timers_may_run_timers_and_nothing_else() -> None:
    assert authorise(TIMERS, Permission.TIMERS_RUN) == {
        "account": "libshare-timers",
        "role": "system",
    }
    with pytest.raises(Forbidden):
        authorise(TIMERS, Permission.REQUEST_ACT, library="HNM-KB")
    with pytest.raises(Forbidden):
        entry().act(TIMERS, commands.RenameLibrary("HNM-KB", "x", "y", ACT_2025))


def test_a_partners_webhook_acts_on_that_partners_shipments_only() -> None:
    vnpost = carrier_webhook("VNPOST")
    assert authorise(vnpost, Permission.SHIPMENT_EVENTS, partner="VNPOST")["via"] == "webhook"
    with pytest.raises(Forbidden):
        authorise(vnpost, Permission.SHIPMENT_EVENTS, partner="OTHER")
    with pytest.raises(Forbidden):
        entry().act(vnpost, commands.RecordCarrierEvents("OTHER", []))


def test_no_account_holds_a_platform_permission() -> None:
    admin = Principal(account="quantri", roles=frozenset(Role))
    for permission in (Permission.TIMERS_RUN, Permission.SHIPMENT_EVENTS, Permission.DIGITAL_VIEW):
        with pytest.raises(Forbidden):
            authorise(admin, permission, partner="VNPOST")
    with pytest.raises(Forbidden):
        entry().act(admin, commands.MarkOverdue(uuid4(), datetime.now(UTC).date()))


def test_a_hidden_resource_is_not_found_for_a_platform_process_too() -> None:
    with pytest.raises(Hidden):
        authorise(TIMERS, Permission.REQUEST_ACT, library={"HNM-KB"}, secret="no such request")


def test_the_demo_loader_grants_any_role() -> None:
    actor = authorise_grant(DEMO_LOADER, Role.POSTAL_PARTNER, None)
    assert actor == {"account": "demo-loader", "role": "network_admin"}


def test_a_viewer_link_reads_pages_and_does_nothing_else() -> None:
    assert authorise(VIEWER_LINK, Permission.DIGITAL_VIEW)["via"] == "viewer link"
    with pytest.raises(Forbidden):
        entry().act(VIEWER_LINK, commands.BorrowDigital("W-THANTICH", "BD-1"))
    with pytest.raises(Forbidden):
        entry().act(VIEWER_LINK, commands.ExpireDigitalLoan("W-THANTICH", "L-1", datetime.now(UTC)))
