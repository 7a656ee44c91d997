"""Every event type a projection says it handles is one on the shared log: a typo'd, an
unknown or an outdated name (say `.v1` after the event went to `.v2`) would make the
runner pass that event by in silence, and its read model would never show it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import ClassVar

import projections
from domain.contract import event_types
from projections.projection import Projection

CONTRACT = frozenset(e.name for e in event_types())


def our_projections() -> list[type[Projection]]:
    """Every projection class in the projections package (found by walking its modules,
    not from a list that a new projection could be left out of)."""
    for module in pkgutil.iter_modules(projections.__path__):
        importlib.import_module(f"projections.{module.name}")
    found: list[type[Projection]] = []
    todo = list(Projection.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("projections.") and "handles" in vars(cls):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.name)


def not_in_the_contract(handles: Iterable[str]) -> set[str]:
    return set(handles) - CONTRACT


def test_every_projection_handles_only_event_types_of_the_contract() -> None:
    found = our_projections()
    names = {cls.name for cls in found}
    assert {"libraries", "catalogue", "requests", "statistics", "shipments", "accounts"} <= names
    unknown = {cls.name: not_in_the_contract(cls.handles) for cls in found}
    assert unknown == {cls.name: set() for cls in found}


def test_a_typo_or_an_unknown_event_name_is_caught() -> None:
    class Typo(Projection):
        name = "typo"
        handles: ClassVar[frozenset[str]] = frozenset(
            {
                "libshare.library.Registered.v1",
                "libshare.library.Renammed.v1",  # the typo
                "libshare.library.Registered.v2",  # a version that does not exist
                "libshare.shelf.Placed.v1",  # an aggregate that does not exist
            }
        )

    assert not_in_the_contract(Typo.handles) == {
        "libshare.library.Renammed.v1",
        "libshare.library.Registered.v2",
        "libshare.shelf.Placed.v1",
    }
