"""Postal partners: registered under their agreement with the province, with webhook
secrets issued and retired (rotation keeps two valid; a new one is shown once)."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.postal_partner import PostalPartner
from infra.network_app import NetworkApp
from infra.partner_secrets import PartnerSecrets
from services import aggregates


class PartnersService:
    def __init__(self, store: NetworkApp, secrets: PartnerSecrets) -> None:
        self.store = store
        self.secrets = secrets

    def register_partner(
        self, actor: Actor, code: str, name: str, subsidy_percent: int, monthly_cap: str
    ) -> tuple[PostalPartner, bool]:
        partner = PostalPartner.register(code, name, subsidy_percent, monthly_cap)
        try:
            self.store.record(partner, actor=actor)
            return partner, True
        except IntegrityError:
            return self.get_partner(code), False

    def get_partner(self, code: str) -> PostalPartner:
        return aggregates.partner(self.store, code)

    def add_partner_secret(self, actor: Actor, code: str) -> tuple[str, str]:
        """A new webhook secret (shown once); the existing one stays valid until retired."""
        partner = self.get_partner(code)
        secret_id, secret = self.secrets.create(partner.code)
        partner.add_secret(secret_id)
        self.store.record(partner, actor=actor)
        return secret_id, secret

    def retire_partner_secret(self, actor: Actor, code: str, secret_id: str) -> None:
        partner = self.get_partner(code)
        partner.retire_secret(secret_id)
        self.store.record(partner, actor=actor)

    def partner_keys(self, code: str) -> list[bytes]:
        """The webhook secrets that sign this partner's requests now."""
        partner = self.get_partner(code)
        return self.secrets.valid(partner.code, partner.secret_ids)
