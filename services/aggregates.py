"""How the services find an aggregate by its natural key (a library's code, a request's
id, ...), with the NotFound each answers when there is none."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.account import Account
from domain.catalogue import Work
from domain.errors import NotFound
from domain.ill_request import IllRequest
from domain.library import Library
from domain.postal_partner import PostalPartner
from infra.network_app import NetworkApp


def library(store: NetworkApp, code: str) -> Library:
    try:
        found: Library = store.repository.get(Library.id_for(code.strip().upper()))
    except AggregateNotFoundError:
        raise NotFound(f"library {code} is not registered") from None
    return found


def current_library(store: NetworkApp, code: str) -> Library:
    """The library as it is now, for reading only (never change the object)."""
    try:
        found: Library = store.fresh.get(Library.id_for(code.strip().upper()))
    except AggregateNotFoundError:
        raise NotFound(f"library {code} is not registered") from None
    return found


def work(store: NetworkApp, code: str) -> Work:
    try:
        found: Work = store.repository.get(Work.id_for(code.strip().upper()))
    except AggregateNotFoundError:
        raise NotFound(f"work {code} is not in the union catalogue") from None
    return found


def request(store: NetworkApp, request_id: UUID) -> IllRequest:
    try:
        found: object = store.repository.get(request_id)
    except AggregateNotFoundError:
        raise NotFound(f"request {request_id} does not exist") from None
    if not isinstance(found, IllRequest):
        raise NotFound(f"request {request_id} does not exist")
    return found


def partner(store: NetworkApp, code: str) -> PostalPartner:
    try:
        found: PostalPartner = store.repository.get(PostalPartner.id_for(code.upper()))
    except AggregateNotFoundError:
        raise NotFound(f"postal partner {code} is not registered") from None
    return found


def account(store: NetworkApp, username: str) -> Account:
    try:
        found: Account = store.repository.get(Account.id_for(username.strip().lower()))
    except AggregateNotFoundError:
        raise NotFound(f"no account {username!r}") from None
    return found


def current_account(store: NetworkApp, username: str) -> Account:
    """The account as it is now, for reading only (never change the object)."""
    try:
        found: Account = store.fresh.get(Account.id_for(username.strip().lower()))
    except AggregateNotFoundError:
        raise NotFound(f"no account {username!r}") from None
    return found
