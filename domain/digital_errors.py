"""What digital lending refuses (ADR 0022); each slug is a problem type of the API."""

from __future__ import annotations

from domain.errors import DomainError


class NotLendable(DomainError):
    """The work's recorded rights do not allow digital lending (to this reader, now)."""

    slug = "not-lendable"
    title = "Not lendable digitally"


class NoCopyFree(DomainError):
    """Every copy the rights allow is lent or offered to someone waiting: place a hold."""

    slug = "no-copy-free"
    title = "No digital copy is free"


class CoolingOff(DomainError):
    slug = "cooling-off"
    title = "The reader borrowed this work too recently"


class ReaderLimit(DomainError):
    slug = "reader-limit"
    title = "The reader has as many digital loans or holds as allowed"


class RenewalRefused(DomainError):
    slug = "renewal-refused"
    title = "The loan cannot be renewed"


class ViewerLinkDead(DomainError):
    """A viewer link that is forged, expired, or whose loan has ended."""

    slug = "viewer-link-dead"
    title = "The viewer link does not open this work (any more)"
