"""Access to digital loans (ADR 0022): short-lived signed viewer links, and the pages
they open from the page store, each checked against the loan as the event store has it
at that moment; every link issued and page served is an event on the loan's access
record (domain/digital_access.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError

from domain.access import Actor
from domain.digital_access import LoanAccess
from domain.digital_errors import ViewerLinkDead
from domain.digital_terms import VIEWER_LINK_TTL
from domain.errors import NotFound
from infra.network_app import NetworkApp
from infra.viewer_links import Link, ViewerLinks
from services import aggregates
from services.digital import plain


class PageStore(Protocol):
    """Where the page images of digitised works are (infra/page_folder.py: a folder)."""

    def count(self, work: str) -> int: ...

    def read(self, work: str, page: int) -> tuple[bytes, str] | None: ...


class DigitalAccessService:
    def __init__(self, store: NetworkApp, links: ViewerLinks, pages: PageStore) -> None:
        self.store = store
        self.links = links
        self.pages = pages

    def issue_link(self, actor: Actor, work: str, loan_id: str, now: datetime) -> dict[str, Any]:
        """A short-lived viewer link for an active loan (never past its due time)."""
        pool = aggregates.digital_pool(self.store, work)
        if not pool.active(loan_id, now):
            raise NotFound(f"loan {loan_id} of {pool.work} is not active")
        expires = min(now + VIEWER_LINK_TTL, pool.loans[loan_id]["due_at"])
        link = Link(pool.work, loan_id, uuid.uuid4().hex, expires)
        access = self._access(pool.work, loan_id)
        access.link_issued(link_id=link.link_id, expires_at=expires, at=now)
        self.store.record(access, actor=actor)
        token = self.links.sign(link)
        return plain(
            {
                "token": token,
                "url": f"/viewer/{token}/pages/1",
                "expires_at": expires,
                "pages": self.pages.count(pool.work),
            }
        )

    def _access(self, work: str, loan_id: str) -> LoanAccess:
        try:
            found: Any = self.store.repository.get(LoanAccess.id_for(loan_id))
        except AggregateNotFoundError:
            return LoanAccess.open(loan_id, work)
        assert isinstance(found, LoanAccess)
        return found

    def opened(self, token: str, now: datetime) -> Link:
        """The link a token opens now: signed by us, unexpired, its loan still active (as
        the event store says at this moment, not a read model)."""
        link = self.links.verify(token)
        if link is None:
            raise ViewerLinkDead("this viewer link was not issued by us")
        if link.expires_at <= now:
            raise ViewerLinkDead("this viewer link has expired; ask for a new one")
        pool = aggregates.current_digital_pool(self.store, link.work)
        if pool is None or not pool.active(link.loan_id, now):
            raise ViewerLinkDead("the loan behind this viewer link has ended")
        return link

    def page(self, actor: Actor, token: str, page: int, now: datetime) -> tuple[bytes, str]:
        link = self.opened(token, now)
        found = self.pages.read(link.work, page)
        if found is None:
            raise NotFound(f"work {link.work} has no page {page}")
        access = self._access(link.work, link.loan_id)
        access.page_served(link_id=link.link_id, page=page, at=now)
        self.store.record(access, actor=actor)
        return found
