"""How the services find an aggregate by its natural key (a library's code, a request's
id, ...), with the NotFound each answers when there is none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.account import Account
from domain.catalogue import Work
from domain.copy import Copy, barcode_of
from domain.digital_pool import DigitalPool
from domain.errors import NotFound
from domain.ill_request import IllRequest
from domain.library import Library
from domain.library_code import LibraryCode
from domain.postal_partner import PostalPartner
from domain.reader import CardNotValid, Reader, is_card_ref, reader_ref_of
from domain.rotation import Rotation
from domain.transfer import Transfer
from infra.network_app import NetworkApp

A = TypeVar("A")


def _load(get: Callable[[UUID], Any], aggregate_id: UUID, kind: type[A], missing: str) -> A:
    """The aggregate of `kind` with this id, or NotFound(`missing`)."""
    try:
        found = get(aggregate_id)
    except AggregateNotFoundError:
        raise NotFound(missing) from None
    if not isinstance(found, kind):
        raise NotFound(missing)
    return found


def _library(get: Callable[[UUID], Any], code: str) -> Library:
    """The library that has or had `code`: registered with it, or given it by a re-code
    (a LibraryCode holds the code, ADR 0021)."""
    missing = f"library {code} is not registered"
    found: Any = _load(get, Library.id_for(code.strip().upper()), Aggregate, missing)
    if isinstance(found, LibraryCode):
        found = _load(get, found.library_id, Library, missing)
    if not isinstance(found, Library):
        raise NotFound(missing)
    return found


def library(store: NetworkApp, code: str) -> Library:
    return _library(store.repository.get, code)


def current_library(store: NetworkApp, code: str) -> Library:
    """The library as it is now, for reading only (never change the object)."""
    return _library(store.fresh.get, code)


def code_holder(store: NetworkApp, code: str) -> Library | LibraryCode | None:
    """What holds `code`: the library registered with it, the LibraryCode a re-code
    made, or nothing (the code is free)."""
    try:
        found: Any = store.repository.get(Library.id_for(code))
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, Library | LibraryCode) else None


def work(store: NetworkApp, code: str) -> Work:
    key = Work.id_for(code.strip().upper())
    return _load(store.repository.get, key, Work, f"work {code} is not in the union catalogue")


def request(store: NetworkApp, request_id: UUID) -> IllRequest:
    return _load(
        store.repository.get, request_id, IllRequest, f"request {request_id} does not exist"
    )


def partner(store: NetworkApp, code: str) -> PostalPartner:
    return _load(
        store.repository.get,
        PostalPartner.id_for(code.upper()),
        PostalPartner,
        f"postal partner {code} is not registered",
    )


def account(store: NetworkApp, username: str) -> Account:
    name = username.strip().lower()
    return _load(store.repository.get, Account.id_for(name), Account, f"no account {username!r}")


def current_account(store: NetworkApp, username: str) -> Account:
    """The account as it is now, for reading only (never change the object)."""
    name = username.strip().lower()
    return _load(store.fresh.get, Account.id_for(name), Account, f"no account {username!r}")


def copy(store: NetworkApp, barcode: str) -> Copy:
    code = barcode_of(barcode)
    return _load(store.repository.get, Copy.id_for(code), Copy, f"no copy {code} is registered")


def transfer(store: NetworkApp, transfer_id: UUID) -> Transfer:
    return _load(
        store.repository.get, transfer_id, Transfer, f"transfer {transfer_id} does not exist"
    )


def rotation(store: NetworkApp, rotation_id: UUID) -> Rotation:
    return _load(
        store.repository.get, rotation_id, Rotation, f"rotation {rotation_id} does not exist"
    )


def reader(store: NetworkApp, reader_ref: str) -> Reader:
    ref = reader_ref_of(reader_ref)
    return _load(store.repository.get, Reader.id_for(ref), Reader, f"no card {ref}")


def check_card(store: NetworkApp, reader_ref: str, today: date) -> None:
    """Refuse a loan or a request for a reader whose card may not borrow today, at any
    library. A reader_ref that is no card number (a library's own reference) is not
    checked here."""
    if not is_card_ref(reader_ref):
        return
    try:
        found = reader(store, reader_ref)
    except NotFound:
        raise CardNotValid(f"no card {reader_ref.strip().upper()}") from None
    why = found.may_borrow(today)
    if why is not None:
        raise CardNotValid(why)


def digital_pool(store: NetworkApp, work: str) -> DigitalPool:
    code = work.strip().upper()
    return _load(
        store.repository.get,
        DigitalPool.id_for(code),
        DigitalPool,
        f"work {code} has no digital copies recorded",
    )


def current_digital_pool(store: NetworkApp, work: str) -> DigitalPool | None:
    """The pool as it is now, for reading only (never change the object); None if none."""
    try:
        return _load(store.fresh.get, DigitalPool.id_for(work.strip().upper()), DigitalPool, "")
    except NotFound:
        return None
