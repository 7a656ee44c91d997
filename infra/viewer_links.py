"""Signed viewer links of digital loans (ADR 0022): an HMAC-SHA256 over what the link
opens (work, loan, link id) and until when. The signature proves only that we issued it;
the loan behind it is checked on every page request (services/digital.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Link:
    work: str
    loan_id: str
    link_id: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ViewerLinks:
    def __init__(self, key: bytes) -> None:
        self.key = hashlib.sha256(b"libshare-viewer-links:" + key).digest()  # its own key

    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self.key, payload, hashlib.sha256).digest())

    def sign(self, link: Link) -> str:
        expires = int(link.expires_at.timestamp())
        payload = f"{link.work}|{link.loan_id}|{link.link_id}|{expires}".encode()
        return f"{_b64(payload)}.{self._mac(payload)}"

    def verify(self, token: str) -> Link | None:
        """The link a token names if we signed it (expired or not); None if forged."""
        try:
            body, mac = token.split(".", 1)
            payload = _unb64(body)
            if not hmac.compare_digest(mac, self._mac(payload)):
                return None
            work, loan_id, link_id, expires = payload.decode().split("|")
            return Link(work, loan_id, link_id, datetime.fromtimestamp(int(expires), UTC))
        except (ValueError, UnicodeDecodeError):
            return None
