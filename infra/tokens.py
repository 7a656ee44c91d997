"""Short-lived bearer tokens for people who signed in with a password: JWTs (HS256) that
name the account and expire. They carry no roles: every request reads the account's
current roles and state, so a revocation or a disabled account takes effect at once."""

from __future__ import annotations

import time
import uuid

import jwt

ISSUER = "libshare"


class Tokens:
    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self.key = key
        self.ttl = ttl_seconds

    def issue(self, username: str, ttl_seconds: int | None = None) -> tuple[str, int]:
        """A token for `username` and its lifetime in seconds."""
        ttl = ttl_seconds or self.ttl
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": username,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm="HS256"), ttl

    def subject(self, token: str) -> str | None:
        """The account a valid, unexpired token names; None otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.PyJWTError:
            return None
        sub = claims.get("sub")
        return sub if isinstance(sub, str) else None
