"""The backup archive (ADR 0024): one tar file, portable (JSON lines, gzip, tar), holding

- `events.jsonl.gz`: every stored event, one JSON array a line, in the order the log's
  readers saw them (the writing transaction, then the notification id);
- `commands.jsonl.gz`: the commands' idempotency keys, fingerprints and first results;
- `secrets.bin`: the deployment's keys and the tables they protect (readers' data keys,
  partners' webhook secrets, password and API-key hashes), AES-256-GCM under a key from
  the operator's passphrase (scrypt) or a key the operator gives;
- `manifest.json`, last: counts, the highest notification id, a digest over the events,
  and the SHA-256 of every other member, so that a corrupted or truncated archive is
  refused before anything is written.

The digest over the events covers what an event is (id, aggregate, version, topic, state,
metadata, when recorded) and their order; not the writing transaction's id, which belongs
to the server that wrote it. A store rebuilt from Kafka has the same digest."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

FORMAT = "libshare-backup/1"
EVENTS, COMMANDS, SECRETS, MANIFEST = (
    "events.jsonl.gz",
    "commands.jsonl.gz",
    "secrets.bin",
    "manifest.json",
)
SCRYPT_N = 2**15


class BackupRefused(Exception):
    """The archive (or what it would be restored into) is not fit: nothing was written."""


@dataclass(frozen=True)
class EventRow:
    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    metadata: dict[str, Any] | None
    recorded_at: str  # ISO 8601, UTC (infra/envelope.py instant_text)
    xid: int  # the writing transaction on the server it came from: orders, not digested

    def body(self) -> str:
        """What the digest covers: the event, not the server's transaction id."""
        return json.dumps(
            [
                self.notification_id,
                self.originator_id,
                self.originator_version,
                self.topic,
                base64.b64encode(self.state).decode("ascii"),
                self.metadata,
                self.recorded_at,
            ],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )

    def line(self) -> str:
        return f"{self.body()[:-1]},{self.xid}]"

    @classmethod
    def from_line(cls, line: str) -> EventRow:
        nid, oid, version, topic, state, metadata, recorded_at, xid = json.loads(line)
        return cls(nid, oid, version, topic, base64.b64decode(state), metadata, recorded_at, xid)


@dataclass
class EventDigest:
    """A running digest over events in order, with their count and the highest id."""

    count: int = 0
    max_notification_id: int = 0
    _sha: Any = field(default_factory=hashlib.sha256)

    def add(self, row: EventRow, body: str | None = None) -> None:
        self._sha.update((body or row.body()).encode() + b"\n")
        self.count += 1
        self.max_notification_id = max(self.max_notification_id, row.notification_id)

    def hexdigest(self) -> str:
        return str(self._sha.hexdigest())

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "max_notification_id": self.max_notification_id,
            "digest": f"sha256:{self.hexdigest()}",
        }


def digest_of(rows: Iterable[EventRow]) -> EventDigest:
    digest = EventDigest()
    for row in rows:
        digest.add(row)
    return digest


# -- the operator's secret: a passphrase or a key ---------------------------------------------
@dataclass(frozen=True)
class Sealing:
    """How secrets.bin is sealed: a passphrase (scrypt) or a 32-byte key."""

    passphrase: str | None = None
    key: bytes | None = None

    def __post_init__(self) -> None:
        if (self.passphrase is None) == (self.key is None):
            raise BackupRefused("give a passphrase or a key for the secrets, one of them")
        if self.key is not None and len(self.key) != 32:
            raise BackupRefused("the backup key must be 32 bytes, base64-encoded")
        if self.passphrase is not None and len(self.passphrase) < 12:
            raise BackupRefused("the backup passphrase must be at least 12 characters")

    def derive(self, params: dict[str, Any]) -> bytes:
        if params["kdf"] == "key":
            if self.key is None:
                raise BackupRefused("this backup's secrets are sealed with a key, not a passphrase")
            return self.key
        if self.passphrase is None:
            raise BackupRefused("this backup's secrets are sealed with a passphrase, not a key")
        kdf = Scrypt(salt=base64.b64decode(params["salt"]), length=32, n=params["n"], r=8, p=1)
        return kdf.derive(self.passphrase.encode())

    def new_params(self) -> dict[str, Any]:
        if self.key is not None:
            return {"kdf": "key"}
        return {"kdf": "scrypt", "n": SCRYPT_N, "salt": base64.b64encode(os.urandom(16)).decode()}


def seal(secrets: dict[str, Any], sealing: Sealing) -> tuple[bytes, dict[str, Any]]:
    params = sealing.new_params()
    nonce = os.urandom(12)
    plain = json.dumps(secrets, ensure_ascii=False).encode()
    sealed = nonce + AESGCM(sealing.derive(params)).encrypt(nonce, plain, FORMAT.encode())
    return sealed, params


def unseal(sealed: bytes, params: dict[str, Any], sealing: Sealing) -> dict[str, Any]:
    try:
        plain = AESGCM(sealing.derive(params)).decrypt(sealed[:12], sealed[12:], FORMAT.encode())
    except InvalidTag:
        raise BackupRefused(
            "the secrets do not open with this passphrase or key (wrong one, or corrupted)"
        ) from None
    opened: dict[str, Any] = json.loads(plain)
    return opened


# -- writing ------------------------------------------------------------------------------------
def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


class ArchiveWriter:
    """Writes the members into a folder beside the target, then the tar, then renames it
    into place: the target is a whole archive or absent, never half of one."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.work = target.with_name(f".{target.name}.parts")
        self.work.mkdir(parents=True, exist_ok=True)

    def write_events(self, rows: Iterable[EventRow]) -> EventDigest:
        digest = EventDigest()
        with gzip.open(self.work / EVENTS, "wt", encoding="utf-8", compresslevel=1) as out:
            for row in rows:
                body = row.body()
                digest.add(row, body)
                out.write(f"{body[:-1]},{row.xid}]\n")
        return digest

    def write_commands(self, rows: Iterable[list[Any]]) -> dict[str, Any]:
        sha, count = hashlib.sha256(), 0
        with gzip.open(self.work / COMMANDS, "wt", encoding="utf-8", compresslevel=1) as out:
            for row in rows:
                line = json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
                sha.update(line.encode())
                out.write(line)
                count += 1
        return {"count": count, "digest": f"sha256:{sha.hexdigest()}"}

    def write_secrets(self, sealed: bytes) -> None:
        (self.work / SECRETS).write_bytes(sealed)

    def finish(self, manifest: dict[str, Any]) -> dict[str, Any]:
        members = {name: _sha256_file(self.work / name) for name in (EVENTS, COMMANDS, SECRETS)}
        manifest = {"format": FORMAT, **manifest, "members": members}
        (self.work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        partial = self.target.with_name(f".{self.target.name}.partial")
        with tarfile.open(partial, "w") as tar:
            for name in (EVENTS, COMMANDS, SECRETS, MANIFEST):
                tar.add(self.work / name, arcname=name)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.replace(self.target)
        self.discard()
        return manifest

    def discard(self) -> None:
        for name in (EVENTS, COMMANDS, SECRETS, MANIFEST):
            (self.work / name).unlink(missing_ok=True)
        if self.work.exists():
            self.work.rmdir()
        self.target.with_name(f".{self.target.name}.partial").unlink(missing_ok=True)


# -- reading ------------------------------------------------------------------------------------
class Archive:
    """An archive opened for restoring: `verify()` reads every member through and checks
    it against the manifest; only then are its rows worth writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close())
            names = set(self._tar.getnames())
        except (OSError, tarfile.TarError) as exc:
            raise BackupRefused(f"{path} is not a readable backup archive: {exc}") from None
        missing = {EVENTS, COMMANDS, SECRETS, MANIFEST} - names
        if missing:
            raise BackupRefused(f"{path} lacks {', '.join(sorted(missing))}: truncated?")
        try:
            self.manifest: dict[str, Any] = json.loads(self._read(MANIFEST))
        except ValueError as exc:
            raise BackupRefused(f"{path}: its manifest is not JSON: {exc}") from None
        if self.manifest.get("format") != FORMAT:
            raise BackupRefused(f"{path}: unknown format {self.manifest.get('format')!r}")

    def close(self) -> None:
        self._tar.close()

    def _member(self, name: str) -> IO[bytes]:
        try:
            f = self._tar.extractfile(name)
        except (OSError, tarfile.TarError) as exc:
            raise BackupRefused(f"{self.path}: {name} cannot be read: {exc}") from None
        if f is None:
            raise BackupRefused(f"{self.path}: {name} is not a file")
        return f

    def _read(self, name: str) -> bytes:
        try:
            return self._member(name).read()
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise BackupRefused(f"{self.path}: {name} cannot be read: {exc}") from None

    def _check_member(self, name: str) -> None:
        sha = hashlib.sha256()
        try:
            with self._member(name) as f:
                while chunk := f.read(1 << 20):
                    sha.update(chunk)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise BackupRefused(f"{self.path}: {name} cannot be read: {exc}") from None
        if f"sha256:{sha.hexdigest()}" != self.manifest["members"].get(name):
            raise BackupRefused(f"{self.path}: {name} does not match its manifest: corrupted")

    def verify(self, sealing: Sealing) -> dict[str, Any]:
        """Check every member and the digest over the events; open the secrets. Raises
        BackupRefused on the first thing wrong; returns the opened secrets."""
        for name in (EVENTS, COMMANDS, SECRETS):
            self._check_member(name)
        digest = digest_of(self.events())
        expected = self.manifest["events"]
        if digest.summary() != {k: expected[k] for k in ("count", "max_notification_id", "digest")}:
            raise BackupRefused(
                f"{self.path}: the events do not match the manifest's digest "
                f"({digest.count} events, {digest.summary()['digest']})"
            )
        return unseal(self._read(SECRETS), self.manifest["secrets"], sealing)

    def events(self) -> Iterator[EventRow]:
        with (
            self._member(EVENTS) as raw,
            gzip.open(raw, "rt", encoding="utf-8") as lines,
        ):
            try:
                for line in lines:
                    yield EventRow.from_line(line)
            except (OSError, EOFError, ValueError) as exc:
                raise BackupRefused(f"{self.path}: the events cannot be read: {exc}") from None

    def commands(self) -> Iterator[list[Any]]:
        with self._member(COMMANDS) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")
