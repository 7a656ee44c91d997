"""The ISO 18626 action table (domain/iso_actions.py) against the aggregate it drives and
the actions the parties are offered."""

from __future__ import annotations

import inspect

from domain.contract import event_types
from domain.ill_actions import ALL_ACTIONS
from domain.ill_request import IllRequest
from domain.iso_actions import ISO_ACTIONS


def test_every_action_offered_to_a_party_is_in_the_table_and_nothing_else() -> None:
    assert set(ISO_ACTIONS) == set(ALL_ACTIONS)


def test_each_action_names_a_command_of_the_request_and_events_of_its_contract() -> None:
    requests_events = {et.event.__name__ for et in event_types() if et.aggregate is IllRequest}
    for action in ISO_ACTIONS.values():
        method = getattr(IllRequest, action.method, None)
        assert inspect.isfunction(method) and not action.method.startswith("_"), action.name
        assert action.events and set(action.events) <= requests_events, action.name


def test_the_table_runs_the_command_it_names() -> None:
    """Each entry's code calls the command it declares (its source names it)."""
    for action in ISO_ACTIONS.values():
        assert f".{action.method}(" in inspect.getsource(action.run), action.name
