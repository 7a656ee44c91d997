"""Network administrators manage postal partners: register a partner under its agreement
with the province, and issue and retire its webhook secrets (rotation keeps two valid;
a new secret is shown once and never again)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from api.auth import Authorize
from api.deps import system
from api.fields import Amount, PartnerCode, line
from composition.bootstrap import System
from domain.access import Permission, Principal
from services.commands import AddPartnerSecret, RegisterPartner, RetirePartnerSecret

router = APIRouter(prefix="/partners", tags=["postal partners"])
Admin = Annotated[Principal, Depends(Authorize(Permission.PARTNERS_MANAGE))]


class NewPartner(BaseModel):
    code: PartnerCode = Field(examples=["VNPOST"])
    name: str = line(max_length=200)
    subsidy_percent: int = Field(ge=0, le=100, description="The province's share of postage")
    monthly_cap_per_library: Amount = Field(
        examples=["500000"], description="VND of subsidy per library per month, at most"
    )


@router.post("", status_code=201, summary="Register a postal partner (idempotent by code)")
def register_partner(
    body: NewPartner, response: Response, sys: Annotated[System, Depends(system)], me: Admin
) -> dict[str, Any]:
    command = RegisterPartner(
        body.code, body.name, body.subsidy_percent, body.monthly_cap_per_library
    )
    partner, created = sys.entry.act(me, command)
    if not created:
        response.status_code = 200
    return {
        "code": partner.code,
        "created": created,
        "secret_ids": partner.secret_ids,
        "version": partner.version,
    }


@router.post(
    "/{partner}/secrets", status_code=201, summary="A new webhook secret, shown only in this answer"
)
def add_secret(partner: str, sys: Annotated[System, Depends(system)], me: Admin) -> dict[str, str]:
    secret_id, secret = sys.entry.act(me, AddPartnerSecret(partner))
    return {"secret_id": secret_id, "secret": secret}


@router.delete("/{partner}/secrets/{secret_id}", summary="Retire a webhook secret (rotation)")
def retire_secret(
    partner: str, secret_id: str, sys: Annotated[System, Depends(system)], me: Admin
) -> dict[str, Any]:
    sys.entry.act(me, RetirePartnerSecret(partner, secret_id))
    return {"code": partner.upper(), "secret_ids": sys.partners.get_partner(partner).secret_ids}
