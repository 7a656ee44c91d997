"""The postal partners' side: a signed webhook for carrier status updates and the pull
path for pickups. Webhook requests are signed with HMAC-SHA256 over "<timestamp>." + the raw body
with the partner's secret (`X-Libshare-Timestamp`, `X-Libshare-Signature: sha256=<hex>`);
the timestamp must be within the tolerance (5 minutes) to stop replays. Pickups are read
with the partner's API key. A partner only ever reaches its own parcels."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from api.auth import Authorize
from api.deps import system
from api.problems import problem
from api.rate_limit import RateLimiter
from composition.bootstrap import System
from domain.access import Permission, Principal, carrier_webhook, decide
from domain.errors import NotFound
from infra.settings import Settings
from projections.shipments import pickups
from services.commands import RecordCarrierEvents

router = APIRouter(prefix="/partners", tags=["postal partners"])
MAX_ITEMS = 500


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature a partner sends (documented for partners; used by our tests too)."""
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


async def verified_partner(
    partner: str, request: Request, sys: Annotated[System, Depends(system)]
) -> str:
    """The partner code, once the request's timestamp and signature check out."""
    body = await request.body()
    timestamp = request.headers.get("x-libshare-timestamp", "")
    signature = request.headers.get("x-libshare-signature", "")
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise HTTPException(401, "missing or malformed X-Libshare-Timestamp") from None
    if age > sys.settings.webhook_tolerance_seconds:
        raise HTTPException(401, "stale timestamp: sign each request anew")
    try:
        keys = sys.partners.partner_keys(partner)
    except NotFound:
        raise HTTPException(401, "bad signature") from None  # unknown partner: say no more
    if not any(hmac.compare_digest(sign(k, timestamp, body), signature) for k in keys):
        raise HTTPException(401, "bad signature")
    limiter: RateLimiter = request.app.state.partner_limiter
    wait = limiter.take(partner.upper())
    if wait:
        raise RateLimited(wait)
    return partner.upper()


class RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


def install(app: FastAPI, settings: Settings) -> None:
    app.state.partner_limiter = RateLimiter(
        settings.webhook_rate_per_second, settings.webhook_burst
    )

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        response = problem("rate-limited", "Too many requests; retry later.", request=request)
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        return response


@router.post("/{partner}/shipment-events", summary="Carrier status updates (signed batch)")
async def shipment_events(
    request: Request,
    sys: Annotated[System, Depends(system)],
    partner: Annotated[str, Depends(verified_partner)],
) -> dict[str, Any]:
    try:
        payload = json.loads(await request.body())
        items = payload["events"]
        assert isinstance(items, list) and all(isinstance(i, dict) for i in items)
    except (ValueError, KeyError, AssertionError, TypeError):
        raise HTTPException(400, '{"events": [...]} expected') from None
    if len(items) > MAX_ITEMS:
        raise HTTPException(400, f"at most {MAX_ITEMS} events per batch")
    from starlette.concurrency import run_in_threadpool

    def record() -> list[dict[str, str]]:
        # The carrier, proven by its signature, is who acts on these shipments.
        return sys.entry.act(carrier_webhook(partner), RecordCarrierEvents(partner, items))

    results = await run_in_threadpool(record)
    return {
        "results": results,
        "accepted": sum(r["result"] == "accepted" for r in results),
        "duplicates": sum(r["result"] == "duplicate" for r in results),
        "rejected": sum(r["result"] == "rejected" for r in results),
    }


@router.get("/{partner}/pickups", summary="Parcels awaiting pickup, by library")
def partner_pickups(
    partner: str,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal, Depends(Authorize(Permission.PARTNER_PICKUPS))],
) -> list[dict[str, Any]]:
    """For the carrier's routes; called with the partner's API key (a system's credential)."""
    code = partner.strip().upper()
    decide(me, Permission.PARTNER_PICKUPS, partner=code)
    with sys.db.transaction() as conn:
        return pickups(conn, code)
