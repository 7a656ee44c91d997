"""Ids worked out from names: what `uuid5(NAMESPACE_URL, name)` gives, built without
`UUID.__init__`'s argument checks, which cost more than the SHA-1 itself. An import works
out six of them for each record (its record, keys, work, holding and copies)."""

from __future__ import annotations

from hashlib import sha1
from uuid import NAMESPACE_URL, UUID, SafeUUID

_NAMESPACE = NAMESPACE_URL.bytes
# RFC 4122 name-based SHA-1: version 5 in bits 76-79, the variant 10 in bits 62-63.
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_MARK = (5 << 76) | (0x8000 << 48)
_set = object.__setattr__  # a UUID refuses setattr: it sets its own fields this way too


def name_id(name: str) -> UUID:
    """uuid5(NAMESPACE_URL, name)."""
    digest = sha1(_NAMESPACE + name.encode(), usedforsecurity=False).digest()
    value = UUID.__new__(UUID)
    _set(value, "int", int.from_bytes(digest[:16]) & _KEEP | _MARK)
    _set(value, "is_safe", SafeUUID.unknown)
    return value
