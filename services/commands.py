"""The commands the one entry takes (services/entry.py): what a caller asks for, typed,
and nothing of who asks (the entry knows that). `Command[R]` answers with an R."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.account import Role
from domain.catalogue import Holding, Work
from domain.copy import Copy
from domain.legal_act import LegalAct
from domain.lending_policy import LendingPolicy
from domain.library import Library
from domain.postal_partner import PostalPartner
from services.catalogue_import import ImportReport

R = TypeVar("R", covariant=True)
Summary = dict[str, Any]


class Command(Generic[R]):
    """A command that answers with an R."""


# -- catalogue and policies ---------------------------------------------------------------
@dataclass(frozen=True)
class RegisterLibrary(Command[tuple[Library, bool]]):
    code: str
    name: str
    kind: str
    locality: str


# -- reorganising the network (ADR 0021): each answers with the library's summary ----------
@dataclass(frozen=True)
class RenameLibrary(Command[Summary]):
    code: str
    name: str
    reason: str
    act: LegalAct


@dataclass(frozen=True)
class RecodeLibrary(Command[Summary]):
    code: str
    new_code: str
    act: LegalAct


@dataclass(frozen=True)
class ReparentLibrary(Command[Summary]):
    """The library above `code` (None: none) and its province (None: none)."""

    code: str
    parent: str | None
    province: str | None
    act: LegalAct


@dataclass(frozen=True)
class MergeLibrary(Command[Summary]):
    """Library `code` becomes part of `into` from the act's effective day."""

    code: str
    into: str
    reason: str
    act: LegalAct


@dataclass(frozen=True)
class CompleteMerge(Command[Summary]):
    """A merge's effective day has come (the timers): what is still open under the merged
    library moves on."""

    code: str
    today: date


@dataclass(frozen=True)
class SetPolicy(Command[Library]):
    library: str
    policy: LendingPolicy


@dataclass(frozen=True)
class RegisterWork(Command[tuple[Work, bool]]):
    code: str
    title: str
    kind: str
    creator: str = ""
    language: str = "vi"
    shipping: str = "allowed"
    digital: bool = False
    visible_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterHolding(Command[Holding]):
    work: str
    library: str
    copies: int
    digital_lendable: int = 0


# -- copies, transfers and rotations ------------------------------------------------------
@dataclass(frozen=True)
class RegisterCopy(Command[tuple[Copy, bool]]):
    barcode: str
    work: str
    library: str


@dataclass(frozen=True)
class CheckOutCopy(Command[Copy]):
    """The caller's library lends a copy it holds to one of its readers."""

    barcode: str
    reader_ref: str


@dataclass(frozen=True)
class CheckInCopy(Command[Copy]):
    """A copy is back at the caller's library's desk."""

    barcode: str


@dataclass(frozen=True)
class WithdrawCopy(Command[Copy]):
    barcode: str
    reason: str


@dataclass(frozen=True)
class ProposeTransfer(Command[Summary]):
    """The caller's library proposes to send copies, or to have them sent to it."""

    sender: str
    receiver: str
    reason: str
    copies: tuple[str, ...]
    due_date: date | None = None
    note: str = ""
    client_request_id: str | None = None


@dataclass(frozen=True)
class TransferStep(Command[Summary]):
    """approve, reject, cancel, pick, drop, dispatch, receive, close, found."""

    transfer_id: UUID
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    client_request_id: str | None = None


@dataclass(frozen=True)
class PlanRotation(Command[Summary]):
    """The caller's library plans a rotating collection (or a deposit: one stage)."""

    name: str
    copies: tuple[str, ...]
    stages: tuple[tuple[str, int], ...]  # (library, days)
    cyclical: bool = False
    client_request_id: str | None = None


@dataclass(frozen=True)
class RotationStep(Command[Summary]):
    """advance, recall, extend."""

    rotation_id: UUID
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    client_request_id: str | None = None


# -- requests -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestItem(Command[Summary]):
    """The caller's library asks the network for `work` for a reader."""

    work: str
    reader_ref: str
    service_type: str = "Loan"
    needed_by: date | None = None
    client_request_id: str | None = None


@dataclass(frozen=True)
class TakeAction(Command[Summary]):
    """One ISO 18626 action (domain/ill_actions.py) by the caller's library."""

    request_id: UUID
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    client_request_id: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ShipTogether(Command[Summary]):
    """Several requests' items in one parcel by post to one library: each request Loaned
    (`items`: request and item barcode) or ShippedReturn, one shipment for all."""

    action: str
    items: tuple[tuple[UUID, str], ...]
    shipment: dict[str, Any] = field(default_factory=dict)
    client_request_id: str | None = None


@dataclass(frozen=True)
class ExpireAnswer(Command[Summary]):
    """A wait passed its deadline (the timers)."""

    request_id: UUID
    now: datetime


@dataclass(frozen=True)
class MarkOverdue(Command[Summary]):
    request_id: UUID
    today: date


@dataclass(frozen=True)
class Remind(Command[Summary]):
    request_id: UUID
    today: date


# -- shipments and partners ---------------------------------------------------------------
@dataclass(frozen=True)
class RecordCarrierEvents(Command[list[dict[str, str]]]):
    """A batch of carrier updates from the partner's signed webhook."""

    partner: str
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class RegisterPartner(Command[tuple[PostalPartner, bool]]):
    code: str
    name: str
    subsidy_percent: int
    monthly_cap: str


@dataclass(frozen=True)
class AddPartnerSecret(Command[tuple[str, str]]):
    partner: str


@dataclass(frozen=True)
class RetirePartnerSecret(Command[None]):
    partner: str
    secret_id: str


# -- accounts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenAccount(Command[tuple[Summary, bool]]):
    username: str
    display_name: str
    library: str | None = None
    partner: str | None = None
    roles: tuple[str, ...] = ()
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GrantRole(Command[Summary]):
    username: str
    role: Role


@dataclass(frozen=True)
class RevokeRole(Command[Summary]):
    username: str
    role: str
    reason: str


@dataclass(frozen=True)
class DisableAccount(Command[Summary]):
    username: str
    reason: str


@dataclass(frozen=True)
class EnableAccount(Command[Summary]):
    username: str


@dataclass(frozen=True)
class SetPassword(Command[Summary]):
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class IssueApiKey(Command[tuple[str, str]]):
    username: str
    label: str


@dataclass(frozen=True)
class RevokeApiKey(Command[Summary]):
    username: str
    key_id: str


# -- readers and their cards (ADR 0023): personal fields are never in a command's repr ----
@dataclass(frozen=True)
class RegisterReader(Command[Summary]):
    """Online (the public registration form) or at the home library's desk."""

    home_library: str
    name: str = field(repr=False)
    date_of_birth: date = field(repr=False)
    contact: str = field(repr=False)
    guardian_name: str | None = field(default=None, repr=False)
    guardian_contact: str | None = field(default=None, repr=False)
    client_request_id: str | None = None


@dataclass(frozen=True)
class CardStep(Command[Summary]):
    """consent (`name`, `contact` of the guardian), activate (`method`: the identity
    document sighted, `fee_paid`), renew (`fee_paid`), suspend (`reason`), reinstate."""

    reader_ref: str
    action: str
    params: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ShowReader(Command[Summary]):
    """The card and the reader's personal data, for the desk (records nothing)."""

    reader_ref: str


@dataclass(frozen=True)
class ExportReaderData(Command[Summary]):
    """Everything held about the reader (the right of access; records nothing)."""

    reader_ref: str


@dataclass(frozen=True)
class EraseReader(Command[Summary]):
    reader_ref: str


@dataclass(frozen=True)
class ForgetReader(Command[Summary]):
    """The timers: an ended request forgets its reader after the retention period."""

    request_id: UUID
    today: date
    keep_days: int


# -- digital lending (ADR 0022) -------------------------------------------------------------
@dataclass(frozen=True)
class RecordRights(Command[Summary]):
    """The rights a digitised work is lent under; the first record opens its pool at
    `library` (default: the caller's), which holds the work."""

    work: str
    basis: str
    terms: str = ""
    concurrent_loans: int | None = None
    expires_on: date | None = None
    owner: str = ""
    consent: bool = False
    scope: str = "network"
    library: str | None = None


@dataclass(frozen=True)
class SetLendable(Command[Summary]):
    work: str
    count: int
    backing: tuple[str, ...] = ()


@dataclass(frozen=True)
class BorrowDigital(Command[Summary]):
    """A librarian lends a digital copy to a reader of their library."""

    work: str
    reader_ref: str
    reader_type: str = "adult"
    client_request_id: str | None = None


@dataclass(frozen=True)
class PlaceDigitalHold(Command[Summary]):
    work: str
    reader_ref: str
    reader_type: str = "adult"
    client_request_id: str | None = None


@dataclass(frozen=True)
class DigitalLoanStep(Command[Summary]):
    """return (early, or on time) or renew a digital loan."""

    work: str
    loan_id: str
    action: str


@dataclass(frozen=True)
class DigitalHoldStep(Command[Summary]):
    """skip (the one courtesy skip of an offer) or cancel a hold."""

    work: str
    reader_ref: str
    action: str


@dataclass(frozen=True)
class IssueViewerLink(Command[Summary]):
    work: str
    loan_id: str


@dataclass(frozen=True)
class ViewPage(Command[tuple[bytes, str]]):
    """A page through a viewer link (the link is the credential)."""

    token: str
    page: int


@dataclass(frozen=True)
class ExpireDigitalLoan(Command[Summary]):
    """The timers: a digital loan's period is over."""

    work: str
    loan_id: str
    now: datetime


@dataclass(frozen=True)
class LapseDigitalOffer(Command[Summary]):
    """The timers: an offered copy's pickup window closed."""

    work: str
    reader_ref: str
    now: datetime


@dataclass(frozen=True)
class ForgetDigitalReaders(Command[Summary]):
    """The timers: a pool's loans ended before the retention period forget their readers."""

    work: str
    today: date
    keep_days: int


# -- a reader's own digital loans (proven by their card's access key) -------------------
@dataclass(frozen=True)
class MyDigitalShelf(Command[Summary]):
    """The reader's digital loans and places on waitlists (an offer waiting for them, and
    until when it waits, is the notice of it)."""

    reader_ref: str


@dataclass(frozen=True)
class MyDigitalStep(Command[Summary]):
    """The reader themself: borrow or hold a work; return, renew or open (a viewer link)
    their loan of it; skip an offer or cancel their place. A reader has at most one loan
    and one place per work, so the work names them."""

    reader_ref: str
    work: str
    action: str
    client_request_id: str | None = None


# -- ISO 18626 on the wire (ADR 0028) ------------------------------------------------------
@dataclass(frozen=True)
class ConfigureIsoPeer(Command[Summary]):
    """An outside ISO 18626 peer standing as `library` (registered as any library)."""

    library: str
    name: str
    agency_id_type: str
    agency_id_value: str
    url: str
    auth: str = "shared-secret"
    schema: str = "2021"
    secret: str | None = None  # the one agreed with the peer; None: a new one, shown once
    certificate: str | None = None  # mutual TLS: the peer's client certificate (PEM)
    # ... or its certificates, two during a rotation's cut-over (replacing the pins)
    certificates: tuple[str, ...] | None = None
    client_identity: str | None = None  # the name of ours presented to it ("": the default)


@dataclass(frozen=True)
class ApplyIsoMessage(Command[bytes]):
    """A peer's ISO 18626 message (parsed and valid), to our library `supplier` where it
    names one; answers with the confirmation's bytes."""

    peer: str
    supplier: str | None
    message: Any  # infra.iso18626_xml.Message
    raw: str


@dataclass(frozen=True)
class KeepRefusedIsoMessage(Command[None]):
    """A peer's message refused before it was applied (invalid against the schema)."""

    peer: str
    raw: str
    confirmation: bytes
    error_type: str
    error_value: str


@dataclass(frozen=True)
class RecordIsoSent(Command[bool]):
    """The outbox sent a message built from the event `source` on `request_id`."""

    request_id: UUID
    peer: str
    source: str
    kind: str
    message: str
    confirmation: str
    status: str
    attempts: int
    error: str = ""


# -- importing libraries' catalogues (ADR 0025) --------------------------------------------
@dataclass(frozen=True)
class ImportCatalogue(Command[ImportReport]):
    """A library's MARC21 file (ISO 2709 or MARCXML): answers with its ImportReport.
    `progress` is told how many records are done (the CLI's progress bar)."""

    library: str
    data: bytes = field(repr=False)
    progress: Callable[[int], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SeparateRecord(Command[Summary]):
    """Reverse the merge of a library's record into another library's work."""

    library: str
    local_id: str
    reason: str


@dataclass(frozen=True)
class DeleteRecords(Command[int]):
    """The library's system deleted these records: answers with how many were live."""

    library: str
    local_ids: tuple[str, ...]
    reason: str


# -- the store's own history (ADR 0024) -------------------------------------------------------
@dataclass(frozen=True)
class CutHistory(Command[Summary]):
    """A restore as of `as_of` kept `kept` events and left `dropped` out, for `reason`."""

    as_of: datetime
    reason: str
    kept: int
    dropped: int
    kept_digest: str
    source: str
