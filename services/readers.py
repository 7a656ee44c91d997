"""Readers and their cards: online registration, the desk's steps (a guardian's consent,
activation once identity is verified, renewal, suspension, reinstatement), the reader's
own data (the right of access), and erasure (the reader's key destroyed, ADR 0023).

The reader proves who they are online with an access key derived from their card number
(HMAC with a key from settings): nothing about it is stored, and a retried registration
answers with the same key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from datetime import date
from typing import Any

import segno
from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.errors import Conflict, InvalidInput
from domain.reader import CardStatus, Reader, reader_ref_of
from infra.network_app import NetworkApp
from infra.personal_data import ReaderKeys
from services import aggregates
from services.idempotency import Idempotency, Planned, command_fingerprint

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U


def new_reader_ref() -> str:
    return "RD-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def card_svg(reader_ref: str) -> str:
    """The card's QR code (SVG): the card number, nothing personal."""
    out = io.BytesIO()
    title = f"Thẻ bạn đọc {reader_ref}"
    segno.make(reader_ref, error="m").save(out, kind="svg", xmldecl=False, scale=4, title=title)
    return out.getvalue().decode("utf-8")


def card_summary(reader: Reader) -> dict[str, Any]:
    """What anyone who may see the card sees: nothing personal."""
    return {
        "reader_ref": reader.reader_ref,
        "version": reader.version,
        "status": reader.status.value,
        "home_library": reader.home_library,
        "card_type": reader.card_type.value,
        "age_band": reader.age_band,
        "minor": reader.minor,
        "guardian_consent": reader.guardian_consent,
        "fee": reader.fee,
        "identity_verified": reader.identity_verified,
        "expires": reader.expires.isoformat() if reader.expires else None,
        "suspended_by": reader.suspended_by,
    }


class ReadersService:
    def __init__(
        self,
        store: NetworkApp,
        keys: ReaderKeys,
        idempotency: Idempotency,
        access_secret: bytes,
        instant_activation: frozenset[str],
    ) -> None:
        self.store = store
        self.keys = keys
        self.idempotency = idempotency
        self.access_secret = access_secret
        self.instant_activation = instant_activation

    def get(self, reader_ref: str) -> Reader:
        return aggregates.reader(self.store, reader_ref)

    def access_key(self, reader_ref: str) -> str:
        mac = hmac.new(self.access_secret, f"reader:{reader_ref}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:24]).decode("ascii")

    def proves(self, reader_ref: str, access_key: str) -> bool:
        expected = self.access_key(reader_ref_of(reader_ref)).encode()
        return hmac.compare_digest(expected, access_key.encode("utf-8", "replace"))

    def register(
        self,
        actor: Actor,
        *,
        home_library: str,
        name: str,
        born: date,
        contact: str,
        guardian: dict[str, str] | None,
        client_request_id: str | None,
        today: date,
    ) -> dict[str, Any]:
        home = aggregates.current_library(self.store, home_library).code
        key = f"reader-registration:{home}:{client_request_id}" if client_request_id else None
        # The fingerprint names no personal data: the key's scope is the library's.
        fingerprint = command_fingerprint("register_reader", home_library=home)

        def plan() -> Planned:
            reader = Reader.register(
                reader_ref=new_reader_ref(),
                home_library=home,
                name=name,
                born=born,
                contact=contact,
                guardian=guardian,
                today=today,
            )
            if home in self.instant_activation and not (reader.minor and not guardian):
                reader.activate(home, "library_policy", 0, today)
            return [reader], card_summary(reader)

        result = self.idempotency.run(actor, key, fingerprint, plan)
        ref = result["reader_ref"]
        return {**result, "access_key": self.access_key(ref), "card_qr_svg": card_svg(ref)}

    def step(
        self, actor: Actor, reader_ref: str, action: str, library: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        reader = self.get(reader_ref)
        today: date = args["today"]
        if action == "consent":
            reader.consent(library, args.get("name") or "", args.get("contact") or "")
        elif action == "activate":
            reader.activate(
                library, args.get("method") or "", int(args.get("fee_paid") or 0), today
            )
        elif action == "renew":
            reader.renew(library, int(args.get("fee_paid") or 0), today)
        elif action == "suspend":
            reader.suspend(library, args.get("reason") or "")
        elif action == "reinstate":
            reader.reinstate(library)
        else:
            raise InvalidInput(f"no such step on a card: {action}")
        self._record(reader, actor)
        return card_summary(reader)

    def _record(self, reader: Reader, actor: Actor) -> None:
        try:
            self.store.record(reader, actor=actor)
        except IntegrityError:
            current = card_summary(self.get(reader.reader_ref))
            raise Conflict(f"card {reader.reader_ref} changed meanwhile", current) from None

    def show(self, reader_ref: str) -> dict[str, Any]:
        """The card with the reader's personal data, for the desk that verifies it."""
        reader = self.get(reader_ref)
        return {**card_summary(reader), "name": reader.name, "personal": reader.personal}

    def export(self, reader_ref: str) -> dict[str, Any]:
        """Everything we hold about the reader (the right of access): the card, the
        personal data, and the card's history (what happened, when, at which library)."""
        reader = self.get(reader_ref)
        history = [
            {
                "event": type(e).__name__,
                "at": vars(e)["timestamp"].isoformat(),
                **{
                    k: (v.isoformat() if isinstance(v, date) else v)
                    for k, v in vars(e).items()
                    if k not in {"originator_id", "originator_version", "timestamp"}
                    and not k.startswith("originator")
                },
            }
            for e in self.store.events.get(reader.id)
        ]
        return {
            "card": card_summary(reader),
            "personal": reader.personal,
            "history": history,
            "kept_elsewhere": "ILL requests and loans name this card number only",
        }

    def erase(self, actor: Actor, reader_ref: str) -> dict[str, Any]:
        """Acknowledge, destroy the reader's key, record the erasure. A repeat (or a
        retry after a failure between the two) finishes what is left."""
        reader = self.get(reader_ref)
        if reader.status is not CardStatus.ERASED:
            reader.request_erasure()
            self._record(reader, actor)  # the acknowledgement, first
            self.keys.destroy(reader.id)
            reader.erased()
            self._record(reader, actor)
        return {**card_summary(reader), "erased": True}
