"""Access to a digital loan (ADR 0022): the viewer links issued for it and every page
served through them, each an event. One aggregate per loan, so reading does not contend
with lending on the work's pool."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


class LoanAccess(Aggregate):
    TYPE_NAME = "digital_access"

    class Opened(Aggregate.Created):
        loan_id: str
        work: str

    def __init__(self, loan_id: str, work: str) -> None:
        self.loan_id = loan_id
        self.work = work
        self.links = 0
        self.pages_served = 0

    @staticmethod
    def id_for(loan_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:digital-access:{loan_id}")

    @classmethod
    def open(cls, loan_id: str, work: str) -> LoanAccess:
        return cls._create(cls.Opened, id=cls.id_for(loan_id), loan_id=loan_id, work=work)

    @event("LinkIssued")
    def link_issued(self, link_id: str, expires_at: datetime, at: datetime) -> None:
        self.links += 1

    @event("PageServed")
    def page_served(self, link_id: str, page: int, at: datetime) -> None:
        self.pages_served += 1
