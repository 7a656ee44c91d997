"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note) and
witness cosignatures (c2sp.org/tlog-cosignature), with Ed25519 from `cryptography`.

A checkpoint's body is three lines: the log's origin, the tree size in decimal, the root
hash in base64. A signature line is "— <key name> <base64(key id || signature)>"; the key
id is the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key) for a log's
Ed25519 key, and of SHA-256(name || "\\n" || 0x04 || public key) for a cosignature, whose
signed message is "cosignature/v1\\ntime <unix seconds>\\n" followed by the body."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DASH = "\u2014"  # EM DASH, then a space, begins each signature line
ED25519, COSIGNATURE_V1 = 0x01, 0x04


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


class NoteError(ValueError):
    """A note that is malformed, or whose signature does not verify."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey, algorithm: int = ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + _raw(public)).digest()[:4]


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    """The note verifier key: <name>+<hex key id>+<base64(0x01 || public key)>."""
    encoded = base64.b64encode(bytes([ED25519]) + _raw(public)).decode()
    return f"{name}+{key_id(name, public).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hex_id, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise NoteError(f"not a verifier key: {vkey!r}") from exc
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("only Ed25519 verifier keys are known here")
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public).hex() != hex_id:
        raise NoteError(f"the key id of {name!r} does not match its key")
    return name, public


@dataclass(frozen=True)
class Signer:
    name: str  # the key name, e.g. libshare.local/ha-nam/events (no spaces, no '+')
    key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        if not name or any(c.isspace() or c == "+" for c in name):
            raise ValueError(f"a key name has no spaces and no '+': {name!r}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def vkey(self) -> str:
        return verifier_key(self.name, self.public)

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note: the body, a blank line, the log's signature line."""
        body = checkpoint.body()
        sig = key_id(self.name, self.public) + self.key.sign(body.encode())
        return f"{body}\n{DASH} {self.name} {base64.b64encode(sig).decode()}\n"

    def cosign(self, checkpoint: Checkpoint, timestamp: int) -> str:
        """A witness's cosignature line (tlog-cosignature v1) on `checkpoint`."""
        message = f"cosignature/v1\ntime {timestamp}\n{checkpoint.body()}".encode()
        sig = (
            key_id(self.name, self.public, COSIGNATURE_V1)
            + struct.pack(">Q", timestamp)
            + self.key.sign(message)
        )
        return f"{DASH} {self.name} {base64.b64encode(sig).decode()}\n"


def parse(note: str) -> tuple[Checkpoint, list[tuple[str, bytes]]]:
    """The checkpoint of a signed note and its signature lines (name, decoded bytes)."""
    body, sep, sigs = note.partition("\n\n")
    if not sep:
        raise NoteError("a signed note has a blank line before its signatures")
    lines = body.split("\n")
    if len(lines) != 3:  # no extension lines: this log writes none
        raise NoteError("a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"not a tree size: {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise NoteError("the root hash is not base64") from exc
    if len(root) != 32:
        raise NoteError("the root hash is not 32 bytes")
    signatures: list[tuple[str, bytes]] = []
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"not a signature line: {line!r}")
        signatures.append((parts[1], base64.b64decode(parts[2])))
    checkpoint = Checkpoint(origin, int(size_text), root)
    if body + "\n" != checkpoint.body():
        raise NoteError("the note's body is not in its canonical form")
    return checkpoint, signatures


def open_note(note: str, vkey: str) -> Checkpoint:
    """The checkpoint of `note` once the log's key `vkey` has signed it (NoteError if not)."""
    checkpoint, signatures = parse(note)
    name, public = parse_verifier_key(vkey)
    wanted = key_id(name, public)
    for signer, sig in signatures:
        if signer == name and sig[:4] == wanted:
            try:
                public.verify(sig[4:], checkpoint.body().encode())
            except InvalidSignature:
                raise NoteError(f"the signature of {name} does not verify") from None
            return checkpoint
    raise NoteError(f"the note carries no signature of {name}")


def check_cosignature(checkpoint: Checkpoint, line: str, vkey: str) -> int:
    """The time a witness (`vkey`) cosigned `checkpoint` with `line` (NoteError if not)."""
    name, public = parse_verifier_key(vkey)
    parts = line.strip().split(" ")
    if len(parts) != 3 or parts[0] != DASH or parts[1] != name:
        raise NoteError(f"not a cosignature of {name}: {line!r}")
    sig = base64.b64decode(parts[2])
    if len(sig) != 76 or sig[:4] != key_id(name, public, COSIGNATURE_V1):
        raise NoteError(f"not a cosignature of {name}'s key")
    (timestamp,) = struct.unpack(">Q", sig[4:12])
    message = f"cosignature/v1\ntime {timestamp}\n{checkpoint.body()}".encode()
    try:
        public.verify(sig[12:], message)
    except InvalidSignature:
        raise NoteError(f"the cosignature of {name} does not verify") from None
    return int(timestamp)
