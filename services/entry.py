"""The one way in for commands: `act(caller, command)`. Every face calls it (the API, the
web UI, the CLI, the partners' webhook, the timers, the demo loader), so they cannot
disagree: it finds the resource a command touches, authorises the caller on it through
the policy (domain/access.py), takes who acts from that decision and hands the command,
with its actor, to the service of its capability. Idempotent commands (a client request
id) are answered once by the requests service (services/idempotency.py), whose key is
saved in the transaction of the command's events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from domain.access import (
    Actor,
    Caller,
    Forbidden,
    Permission,
    Principal,
    authorise,
    authorise_grant,
)
from domain.account import check_role
from domain.errors import InvalidInput, NotFound
from domain.transfer import NETWORK
from infra.causation import new_action
from services.accounts import AccountsService
from services.catalogue import CatalogueService
from services.catalogue_import import CatalogueImportService
from services.commands import (
    AddPartnerSecret,
    BorrowDigital,
    CheckInCopy,
    CheckOutCopy,
    Command,
    CompleteMerge,
    CutHistory,
    DeleteRecords,
    DigitalHoldStep,
    DigitalLoanStep,
    DisableAccount,
    EnableAccount,
    ExpireAnswer,
    ExpireDigitalLoan,
    ForgetDigitalReaders,
    ForgetReader,
    GrantRole,
    ImportCatalogue,
    IssueApiKey,
    IssueViewerLink,
    LapseDigitalOffer,
    MarkOverdue,
    MergeLibrary,
    OpenAccount,
    PlaceDigitalHold,
    PlanRotation,
    ProposeTransfer,
    RecodeLibrary,
    RecordCarrierEvents,
    RecordRights,
    RegisterCopy,
    RegisterHolding,
    RegisterLibrary,
    RegisterPartner,
    RegisterWork,
    Remind,
    RenameLibrary,
    ReparentLibrary,
    RequestItem,
    RetirePartnerSecret,
    RevokeApiKey,
    RevokeRole,
    RotationStep,
    SeparateRecord,
    SetLendable,
    SetPassword,
    SetPolicy,
    ShipTogether,
    TakeAction,
    TransferStep,
    ViewPage,
    WithdrawCopy,
)
from services.copies import CopiesService
from services.digital import DigitalService
from services.digital_access import DigitalAccessService
from services.digital_self import ReaderDigitalHandlers
from services.history import HistoryService
from services.iso_entry import IsoHandlers
from services.iso_inbound import IsoInbound
from services.iso_peers import IsoPeersService
from services.partners import PartnersService
from services.reader_entry import ReaderHandlers
from services.readers import ReadersService
from services.reorganisation import ReorganisationService
from services.requests import RequestsService
from services.rotations import RotationsService
from services.shipments import ShipmentsService
from services.transfers import TransfersService

R = TypeVar("R")
Handler = Callable[[Caller, Any], Any]


def unseen_request(request_id: UUID) -> str:
    """What a caller hears of a request that is not theirs to see (as of none at all)."""
    return f"request {request_id} is not among the requests you may see"


def unseen_account(username: str) -> str:
    return f"no account {username!r} that you may see"


def unseen_transfer(transfer_id: UUID) -> str:
    return f"transfer {transfer_id} is not among the transfers you may see"


def unseen_rotation(rotation_id: UUID) -> str:
    return f"rotation {rotation_id} is not among the rotations you may see"


def unseen_loan(work: str, loan_id: str) -> str:
    return f"loan {loan_id} of {work} is not among the digital loans you may see"


def unseen_hold(work: str, reader_ref: str) -> str:
    return f"no hold of {reader_ref} on {work} that you may see"


class Entry:
    def __init__(
        self,
        *,
        catalogue: CatalogueService,
        copies: CopiesService,
        transfers: TransfersService,
        rotations: RotationsService,
        requests: RequestsService,
        shipments: ShipmentsService,
        partners: PartnersService,
        accounts: AccountsService,
        reorganisation: ReorganisationService,
        readers: ReadersService,
        digital: DigitalService,
        digital_access: DigitalAccessService,
        clock: Callable[[], datetime],
        iso_peers: IsoPeersService,
        iso_inbound: IsoInbound,
        catalogue_import: CatalogueImportService,
        history: HistoryService | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.copies = copies
        self.transfers = transfers
        self.rotations = rotations
        self.requests = requests
        self.shipments = shipments
        self.partners = partners
        self.accounts = accounts
        self.reorganisation = reorganisation
        self.digital = digital
        self.digital_access = digital_access
        self.clock = clock
        self.catalogue_import = catalogue_import
        self.handlers: dict[type[Command[Any]], Handler] = {
            RegisterLibrary: self._register_library,
            RenameLibrary: self._rename_library,
            RecodeLibrary: self._recode_library,
            ReparentLibrary: self._reparent_library,
            MergeLibrary: self._merge_library,
            CompleteMerge: self._complete_merge,
            SetPolicy: self._set_policy,
            RegisterWork: self._register_work,
            RegisterHolding: self._register_holding,
            RegisterCopy: self._register_copy,
            CheckOutCopy: self._check_out,
            CheckInCopy: self._check_in,
            WithdrawCopy: self._withdraw,
            ProposeTransfer: self._propose_transfer,
            TransferStep: self._transfer_step,
            PlanRotation: self._plan_rotation,
            RotationStep: self._rotation_step,
            RequestItem: self._request_item,
            TakeAction: self._take_action,
            ShipTogether: self._ship_together,
            ExpireAnswer: self._expire_answer,
            MarkOverdue: self._mark_overdue,
            Remind: self._remind,
            ForgetReader: self._forget_reader,
            RecordCarrierEvents: self._record_carrier_events,
            RegisterPartner: self._register_partner,
            AddPartnerSecret: self._add_partner_secret,
            RetirePartnerSecret: self._retire_partner_secret,
            OpenAccount: self._open_account,
            GrantRole: self._grant_role,
            RevokeRole: self._revoke_role,
            DisableAccount: self._disable_account,
            EnableAccount: self._enable_account,
            SetPassword: self._set_password,
            IssueApiKey: self._issue_api_key,
            RevokeApiKey: self._revoke_api_key,
            **ReaderHandlers(readers, clock).table(),
            **ReaderDigitalHandlers(digital, digital_access, clock).table(),
            RecordRights: self._record_rights,
            SetLendable: self._set_lendable,
            BorrowDigital: self._borrow_digital,
            PlaceDigitalHold: self._place_digital_hold,
            DigitalLoanStep: self._digital_loan_step,
            DigitalHoldStep: self._digital_hold_step,
            IssueViewerLink: self._issue_viewer_link,
            ViewPage: self._view_page,
            ExpireDigitalLoan: self._expire_digital_loan,
            LapseDigitalOffer: self._lapse_digital_offer,
            ForgetDigitalReaders: self._forget_digital_readers,
            **IsoHandlers(iso_peers, iso_inbound, clock).table(),
            ImportCatalogue: self._import_catalogue,
            SeparateRecord: self._separate_record,
            DeleteRecords: self._delete_records,
            CutHistory: self._cut_history,
        }
        self.history = history

    def act(self, caller: Caller, command: Command[R]) -> R:
        """Authorise `caller` for `command`, and run it recording who acted."""
        handler = self.handlers.get(type(command))
        if handler is None:
            raise InvalidInput(f"no such command: {type(command).__name__}")
        with new_action("command"):  # unless the action's face named its cause
            return cast(R, handler(caller, command))

    # -- catalogue and policies -----------------------------------------------------------
    def _register_library(self, caller: Caller, c: RegisterLibrary) -> Any:
        actor = authorise(caller, Permission.LIBRARIES_MANAGE)
        return self.catalogue.register_library(actor, c.code, c.name, c.kind, c.locality)

    # -- reorganising the network (ADR 0021) ---------------------------------------------
    def _rename_library(self, caller: Caller, c: RenameLibrary) -> Any:
        actor = authorise(caller, Permission.LIBRARIES_REORGANISE)
        return self.reorganisation.rename(actor, c.code, c.name, c.reason, c.act)

    def _recode_library(self, caller: Caller, c: RecodeLibrary) -> Any:
        actor = authorise(caller, Permission.LIBRARIES_REORGANISE)
        return self.reorganisation.recode(actor, c.code, c.new_code, c.act)

    def _reparent_library(self, caller: Caller, c: ReparentLibrary) -> Any:
        actor = authorise(caller, Permission.LIBRARIES_REORGANISE)
        return self.reorganisation.reparent(actor, c.code, c.parent, c.province, c.act)

    def _complete_merge(self, caller: Caller, c: CompleteMerge) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.reorganisation.complete_merge(actor, c.code, c.today)

    def _merge_library(self, caller: Caller, c: MergeLibrary) -> Any:
        actor = authorise(caller, Permission.LIBRARIES_REORGANISE)
        today = self.clock().date()
        return self.reorganisation.merge(actor, c.code, c.into, c.reason, c.act, today)

    def _set_policy(self, caller: Caller, c: SetPolicy) -> Any:
        actor = authorise(caller, Permission.POLICY_SET, library=c.library.strip().upper())
        return self.catalogue.set_policy(actor, c.library, c.policy)

    def _register_work(self, caller: Caller, c: RegisterWork) -> Any:
        actor = authorise(caller, Permission.CATALOGUE_MANAGE)
        return self.catalogue.register_work(
            actor,
            code=c.code,
            title=c.title,
            kind=c.kind,
            creator=c.creator,
            language=c.language,
            shipping=c.shipping,
            digital=c.digital,
            visible_to=list(c.visible_to),
        )

    def _register_holding(self, caller: Caller, c: RegisterHolding) -> Any:
        actor = authorise(caller, Permission.CATALOGUE_MANAGE)
        holding = self.catalogue.register_holding(
            actor, c.work, c.library, c.copies, c.digital_lendable
        )
        # The copies a holding counts, each registered (numbered barcodes).
        self.copies.register_counted(actor, holding.work, holding.library, c.copies)
        return holding

    # -- importing libraries' catalogues (ADR 0025) ----------------------------------------
    def _import_catalogue(self, caller: Caller, c: ImportCatalogue) -> Any:
        library = c.library.strip().upper()
        actor = authorise(caller, Permission.CATALOGUE_IMPORT, library=library)
        return self.catalogue_import.import_file(actor, library, c.data, c.progress)

    def _separate_record(self, caller: Caller, c: SeparateRecord) -> Any:
        library = c.library.strip().upper()
        actor = authorise(caller, Permission.CATALOGUE_IMPORT, library=library)
        return self.catalogue_import.separate(actor, library, c.local_id, c.reason)

    def _delete_records(self, caller: Caller, c: DeleteRecords) -> Any:
        library = c.library.strip().upper()
        actor = authorise(caller, Permission.CATALOGUE_IMPORT, library=library)
        return self.catalogue_import.delete(actor, library, c.local_ids, c.reason)

    # -- copies, transfers and rotations ----------------------------------------------------
    def _register_copy(self, caller: Caller, c: RegisterCopy) -> Any:
        library = c.library.strip().upper()
        actor = authorise(caller, Permission.COPIES_REGISTER, library=library)
        return self.copies.register(actor, c.barcode, c.work, library)

    def _check_out(self, caller: Caller, c: CheckOutCopy) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.COPIES_CIRCULATE, library=library)
        return self.copies.check_out(actor, library, c.barcode, c.reader_ref, self.clock().date())

    def _check_in(self, caller: Caller, c: CheckInCopy) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.COPIES_CIRCULATE, library=library)
        return self.copies.check_in(actor, library, c.barcode)

    def _withdraw(self, caller: Caller, c: WithdrawCopy) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.COPIES_WITHDRAW, library=library)
        return self.copies.withdraw(actor, library, c.barcode, c.reason)

    def _propose_transfer(self, caller: Caller, c: ProposeTransfer) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.TRANSFERS_PROPOSE, library=library)
        return self.transfers.propose(
            actor,
            library,
            sender=c.sender,
            receiver=c.receiver,
            reason=c.reason,
            copies=list(c.copies),
            due_date=c.due_date,
            note=c.note,
            client_request_id=c.client_request_id,
            now=self.clock(),
        )

    def _transfer_step(self, caller: Caller, c: TransferStep) -> Any:
        secret = unseen_transfer(c.transfer_id)
        if _library_of(caller) is None and c.action in ("approve", "reject"):
            # The network administrator approves big transfers (domain/transfer.py).
            actor = authorise(caller, Permission.TRANSFERS_APPROVE_NETWORK, secret=secret)
            if not self.transfers.parties(c.transfer_id):
                raise NotFound(secret)
            party = NETWORK
        else:
            involved = self.transfers.parties(c.transfer_id)
            authorise(caller, Permission.TRANSFERS_ACT, library=involved, secret=secret)
            party = _own_library(caller)
            actor = authorise(caller, Permission.TRANSFERS_ACT, library=party)
        return self.transfers.act(
            actor, c.transfer_id, party, c.action, c.params, c.client_request_id, self.clock()
        )

    def _plan_rotation(self, caller: Caller, c: PlanRotation) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.ROTATIONS_MANAGE, library=library)
        return self.rotations.plan(
            actor,
            library,
            name=c.name,
            copies=list(c.copies),
            stages=[{"library": lib, "days": days} for lib, days in c.stages],
            cyclical=c.cyclical,
            client_request_id=c.client_request_id,
        )

    def _rotation_step(self, caller: Caller, c: RotationStep) -> Any:
        involved = self.rotations.parties(c.rotation_id)
        secret = unseen_rotation(c.rotation_id)
        authorise(caller, Permission.ROTATIONS_MANAGE, library=involved, secret=secret)
        library = _own_library(caller)
        actor = authorise(caller, Permission.ROTATIONS_MANAGE, library=library)
        return self.rotations.act(
            actor, c.rotation_id, library, c.action, c.params, c.client_request_id, self.clock()
        )

    # -- requests -------------------------------------------------------------------------
    def _request_item(self, caller: Caller, c: RequestItem) -> Any:
        actor = authorise(caller, Permission.REQUEST_CREATE, library=_library_of(caller))
        return self.requests.request_item(
            actor,
            requester=_own_library(caller),
            work=c.work,
            reader_ref=c.reader_ref,
            service_type=c.service_type,
            needed_by=c.needed_by,
            client_request_id=c.client_request_id,
            now=self.clock(),
        )

    def _take_action(self, caller: Caller, c: TakeAction) -> Any:
        # The write side knows every party at once (the read model may lag behind).
        involved = self.requests.request_parties(c.request_id)
        authorise(
            caller, Permission.REQUEST_ACT, library=involved, secret=unseen_request(c.request_id)
        )
        library = _own_library(caller)
        actor = authorise(caller, Permission.REQUEST_ACT, library=library)
        return self.requests.take_action(
            actor,
            c.request_id,
            library=library,
            action=c.action,
            params=c.params,
            client_request_id=c.client_request_id,
            expected_version=c.expected_version,
            now=self.clock(),
        )

    def _ship_together(self, caller: Caller, c: ShipTogether) -> Any:
        for request_id, _ in c.items:  # a party to every request it names
            involved = self.requests.request_parties(request_id)
            authorise(
                caller, Permission.REQUEST_ACT, library=involved, secret=unseen_request(request_id)
            )
        library = _own_library(caller)
        actor = authorise(caller, Permission.REQUEST_ACT, library=library)
        return self.requests.ship_together(
            actor,
            library=library,
            action=c.action,
            items=list(c.items),
            shipment=dict(c.shipment),
            client_request_id=c.client_request_id,
            now=self.clock(),
        )

    def _expire_answer(self, caller: Caller, c: ExpireAnswer) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.requests.expire_answer(actor, c.request_id, c.now)

    def _mark_overdue(self, caller: Caller, c: MarkOverdue) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.requests.mark_overdue(actor, c.request_id, c.today)

    def _forget_reader(self, caller: Caller, c: ForgetReader) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.requests.forget_reader(actor, c.request_id, c.today, c.keep_days)

    def _remind(self, caller: Caller, c: Remind) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.requests.remind(actor, c.request_id, c.today)

    # -- shipments and partners -----------------------------------------------------------
    def _record_carrier_events(self, caller: Caller, c: RecordCarrierEvents) -> Any:
        actor = authorise(caller, Permission.SHIPMENT_EVENTS, partner=c.partner)
        return self.shipments.record_carrier_events(actor, c.partner, c.items)

    def _register_partner(self, caller: Caller, c: RegisterPartner) -> Any:
        actor = authorise(caller, Permission.PARTNERS_MANAGE)
        return self.partners.register_partner(
            actor, c.code, c.name, c.subsidy_percent, c.monthly_cap
        )

    def _add_partner_secret(self, caller: Caller, c: AddPartnerSecret) -> Any:
        actor = authorise(caller, Permission.PARTNERS_MANAGE)
        return self.partners.add_partner_secret(actor, c.partner)

    def _retire_partner_secret(self, caller: Caller, c: RetirePartnerSecret) -> Any:
        actor = authorise(caller, Permission.PARTNERS_MANAGE)
        self.partners.retire_partner_secret(actor, c.partner, c.secret_id)

    # -- accounts -------------------------------------------------------------------------
    def _open_account(self, caller: Caller, c: OpenAccount) -> Any:
        library = c.library.strip().upper() if c.library else None
        actor = authorise(caller, Permission.ACCOUNTS_MANAGE, library=library)
        for role in c.roles:
            authorise_grant(caller, check_role(role), library)
        return self.accounts.open_account(
            actor,
            c.username,
            c.display_name,
            library=library,
            partner=c.partner,
            roles=list(c.roles),
            password=c.password,
            today=self.clock().date(),
        )

    def _account_library(self, caller: Caller, username: str) -> str | None:
        """The library of the account `username`, once `caller` may manage it (NotFound
        otherwise, so that a library administrator cannot probe other libraries'
        usernames)."""
        try:
            library = self.accounts.get_account(username).library
        except (NotFound, InvalidInput):
            raise NotFound(unseen_account(username)) from None
        authorise(
            caller, Permission.ACCOUNTS_MANAGE, library=library, secret=unseen_account(username)
        )
        return library

    def _managing(self, caller: Caller, username: str) -> dict[str, Any]:
        """Who acts on the account `username`, once `caller` may manage it."""
        library = self._account_library(caller, username)
        return authorise(caller, Permission.ACCOUNTS_MANAGE, library=library)

    def _grant_role(self, caller: Caller, c: GrantRole) -> Any:
        library = self._account_library(caller, c.username)
        actor = authorise_grant(caller, c.role, library)
        return self.accounts.grant_role(actor, c.username, c.role.value)

    def _revoke_role(self, caller: Caller, c: RevokeRole) -> Any:
        library = self._account_library(caller, c.username)
        actor = authorise_grant(caller, check_role(c.role), library)
        return self.accounts.revoke_role(actor, c.username, c.role, c.reason)

    def _disable_account(self, caller: Caller, c: DisableAccount) -> Any:
        actor = self._managing(caller, c.username)
        return self.accounts.disable_account(actor, c.username, c.reason)

    def _enable_account(self, caller: Caller, c: EnableAccount) -> Any:
        actor = self._managing(caller, c.username)
        return self.accounts.enable_account(actor, c.username)

    def _set_password(self, caller: Caller, c: SetPassword) -> Any:
        actor = self._managing(caller, c.username)
        return self.accounts.set_password(actor, c.username, c.password)

    def _issue_api_key(self, caller: Caller, c: IssueApiKey) -> Any:
        actor = self._managing(caller, c.username)
        return self.accounts.issue_api_key(actor, c.username, c.label)

    def _revoke_api_key(self, caller: Caller, c: RevokeApiKey) -> Any:
        actor = self._managing(caller, c.username)
        return self.accounts.revoke_api_key(actor, c.username, c.key_id)

    # -- digital lending (ADR 0022) ---------------------------------------------------------
    def _record_rights(self, caller: Caller, c: RecordRights) -> Any:
        holder = self.digital.holder(c.work)
        library = holder or (c.library or _library_of(caller) or "").strip().upper()
        if holder and c.library and c.library.strip().upper() != holder:
            raise InvalidInput(f"{c.work}'s digital copies are held by {holder}")
        actor = authorise(caller, Permission.DIGITAL_RIGHTS, library=library)
        rights = {
            "basis": c.basis,
            "terms": c.terms,
            "concurrent_loans": c.concurrent_loans,
            "expires_on": c.expires_on,
            "owner": c.owner,
            "consent": c.consent,
            "scope": c.scope,
        }
        return self.digital.record_rights(actor, c.work, library, rights, self.clock())

    def _set_lendable(self, caller: Caller, c: SetLendable) -> Any:
        holder = self.digital.holder(c.work)
        if holder is None:
            raise NotFound(f"work {c.work} has no digital copies recorded")
        actor = authorise(caller, Permission.DIGITAL_RIGHTS, library=holder)
        return self.digital.set_lendable(actor, c.work, c.count, list(c.backing), self.clock())

    def _digital_work(self, caller: Caller, work: str) -> None:
        """A work outside the caller's visibility scope is as if it were not there."""
        scope = caller.work_scope if isinstance(caller, Principal) else None
        if not self.digital.visible(work, scope):
            raise NotFound(f"work {work} has no digital copies recorded")

    def _borrow_digital(self, caller: Caller, c: BorrowDigital) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.DIGITAL_LEND, library=library)
        self._digital_work(caller, c.work)
        return self.digital.borrow(
            actor,
            c.work,
            reader_ref=c.reader_ref,
            library=library,
            reader_type=c.reader_type,
            client_request_id=c.client_request_id,
            now=self.clock(),
        )

    def _place_digital_hold(self, caller: Caller, c: PlaceDigitalHold) -> Any:
        library = _own_library(caller)
        actor = authorise(caller, Permission.DIGITAL_LEND, library=library)
        self._digital_work(caller, c.work)
        return self.digital.place_hold(
            actor,
            c.work,
            reader_ref=c.reader_ref,
            library=library,
            reader_type=c.reader_type,
            client_request_id=c.client_request_id,
            now=self.clock(),
        )

    def _loan_actor(self, caller: Caller, work: str, loan_id: str) -> Actor:
        involved = self.digital.loan_parties(work, loan_id)
        secret = unseen_loan(work, loan_id)
        return authorise(caller, Permission.DIGITAL_LEND, library=involved, secret=secret)

    def _digital_loan_step(self, caller: Caller, c: DigitalLoanStep) -> Any:
        actor = self._loan_actor(caller, c.work, c.loan_id)
        if c.action == "return":
            return self.digital.give_back(actor, c.work, c.loan_id, self.clock())
        if c.action == "renew":
            return self.digital.renew(actor, c.work, c.loan_id, self.clock())
        raise InvalidInput(f"no loan action {c.action!r}; one of return, renew")

    def _digital_hold_step(self, caller: Caller, c: DigitalHoldStep) -> Any:
        if c.action not in ("skip", "cancel"):
            raise InvalidInput(f"no hold action {c.action!r}; one of skip, cancel")
        involved = self.digital.hold_parties(c.work, c.reader_ref)
        secret = unseen_hold(c.work, c.reader_ref)
        actor = authorise(caller, Permission.DIGITAL_LEND, library=involved, secret=secret)
        return self.digital.hold_step(actor, c.work, c.reader_ref, c.action, self.clock())

    def _issue_viewer_link(self, caller: Caller, c: IssueViewerLink) -> Any:
        actor = self._loan_actor(caller, c.work, c.loan_id)
        return self.digital_access.issue_link(actor, c.work, c.loan_id, self.clock())

    def _view_page(self, caller: Caller, c: ViewPage) -> Any:
        actor = authorise(caller, Permission.DIGITAL_VIEW)
        return self.digital_access.page(actor, c.token, c.page, self.clock())

    def _expire_digital_loan(self, caller: Caller, c: ExpireDigitalLoan) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.digital.expire(actor, c.work, c.loan_id, c.now)

    def _lapse_digital_offer(self, caller: Caller, c: LapseDigitalOffer) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.digital.hold_step(actor, c.work, c.reader_ref, "lapse", c.now)

    def _forget_digital_readers(self, caller: Caller, c: ForgetDigitalReaders) -> Any:
        actor = authorise(caller, Permission.TIMERS_RUN)
        return self.digital.forget_readers(actor, c.work, c.today, c.keep_days)

    # -- the store's own history (ADR 0024) -------------------------------------------------
    def _cut_history(self, caller: Caller, c: CutHistory) -> Any:
        actor = authorise(caller, Permission.HISTORY_CUT)
        if self.history is None:
            raise InvalidInput("this entry records no history cuts")
        return self.history.cut(actor, c)


def _library_of(caller: Caller) -> str | None:
    return caller.library if isinstance(caller, Principal) else None


def _own_library(caller: Caller) -> str:
    """The library a librarian acts for (the policy grants library commands only to the
    accounts of a library)."""
    library = _library_of(caller)
    if library is None:
        raise Forbidden("only the accounts of a library act for one")
    return library
