#!/usr/bin/env python3
"""Check libshare's audit proofs offline: one file, Python 3.11's standard library and the
`cryptography` package (pip install cryptography). It shares no code with libshare.

What it checks (docs/adr/0026-a-verifiable-log.md tells why each is enough):

  inclusion PROOF.json    an event is leaf i of the tree a signed checkpoint commits to:
                          the checkpoint's Ed25519 signature by the log's key, the leaf
                          recomputed from the event's bytes as stored, its RFC 9162 audit
                          path up to the checkpoint's root.
  consistency PROOF.json  the tree of the first checkpoint is a prefix of the second's
                          (nothing logged before was altered, removed or reordered): both
                          signatures and the RFC 9162 consistency proof.
  bundle BUNDLE.json      an export (events, checkpoints, public keys): every event's leaf
                          recomputed, every checkpoint's root recomputed from those leaves,
                          every signature checked; names the first event that differs.

Each takes --key VKEY, the log's verifier key as the log publishes it
(`libshare audit key`: name+keyid+base64 key), obtained from a source you trust — not
from the file you are checking. --witness VKEY (repeatable) also requires each named
witness's cosignature on the checkpoints checked. Exit status 0: verified; 1: not.

Formats: RFC 9162 Merkle trees over SHA-256 (leaf = SHA-256(0x00 || data), node =
SHA-256(0x01 || left || right)); checkpoints are C2SP signed notes (c2sp.org/signed-note,
c2sp.org/tlog-checkpoint); cosignatures are c2sp.org/tlog-cosignature v1. A leaf's data
is five fields, each a 4-byte big-endian length then its bytes: the aggregate id (text),
its version (decimal), the event topic, the stored state bytes, the stored metadata
(PostgreSQL's jsonb text; empty when none).

Examples:
  python3 verify_libshare.py inclusion proof.json --key "$(cat log.vkey)"
  python3 verify_libshare.py consistency c.json --key "$KEY" --witness "$W1" --witness "$W2"
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DASH = "\u2014"


class Failed(Exception):
    pass


# -- RFC 9162 -----------------------------------------------------------------------------
def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(data: bytes) -> bytes:
    return _h(b"\x00" + data)


def node(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


def mth(leaves: list[bytes]) -> bytes:
    """The root over leaf hashes, by the RFC's recursive definition."""
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def check_inclusion(h: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, h
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn != 0 and fn % 2 == 0:
                    fn //= 2
                    sn //= 2
        else:
            r = node(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def check_consistency(m: int, n: int, old: bytes, new: bytes, path: list[bytes]) -> bool:
    if m > n:
        return False
    if m == n:
        return not path and old == new
    if m == 0:
        return not path
    path = list(path)
    if m & (m - 1) == 0:
        path = [old, *path]
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if fn % 2 == 0:
                while fn != 0 and fn % 2 == 0:
                    fn //= 2
                    sn //= 2
        else:
            sr = node(sr, c)
        fn //= 2
        sn //= 2
    return fr == old and sr == new and sn == 0


# -- signed notes -------------------------------------------------------------------------
def parse_vkey(vkey: str) -> tuple[str, bytes, Ed25519PublicKey]:
    try:
        name, key_hex, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise Failed(f"not a verifier key: {vkey!r}") from exc
    if len(raw) != 33 or raw[0] != 0x01:
        raise Failed("not an Ed25519 verifier key")
    kid = _h(name.encode() + b"\n" + raw)[:4]
    if kid.hex() != key_hex:
        raise Failed(f"the verifier key of {name} has a wrong key id")
    return name, raw[1:], Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, vkey: str, witnesses: list[str]) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint signed by `vkey` and cosigned by `witnesses`."""
    body, sep, sigs = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) != 3 or not lines[1].isdigit():
        raise Failed("not a checkpoint (origin, size, root hash, blank line, signatures)")
    text = body + "\n"
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Failed("the checkpoint's root hash is not 32 bytes")
    signatures = []
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise Failed(f"not a signature line: {line!r}")
        signatures.append((parts[1], base64.b64decode(parts[2])))
    name, raw_key, public = parse_vkey(vkey)
    kid = _h(name.encode() + b"\n" + b"\x01" + raw_key)[:4]
    signed = [s for n, s in signatures if n == name and s[:4] == kid]
    if not any(_verifies(public, s[4:], text.encode()) for s in signed):
        raise Failed(f"checkpoint {size} is not signed by the log's key {name}")
    for wkey in witnesses:
        wname, raw, wpublic = parse_vkey(wkey)
        wid = _h(wname.encode() + b"\n" + b"\x04" + raw)[:4]
        ok = False
        for n, s in signatures:
            if n == wname and len(s) == 76 and s[:4] == wid:
                (ts,) = struct.unpack(">Q", s[4:12])
                message = f"cosignature/v1\ntime {ts}\n{text}".encode()
                ok = ok or _verifies(wpublic, s[12:], message)
        if not ok:
            raise Failed(f"checkpoint {size} carries no valid cosignature of witness {wname}")
    return origin, size, root


def _verifies(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
        return True
    except InvalidSignature:
        return False


# -- leaves -------------------------------------------------------------------------------
def leaf_data_of(event: dict[str, Any]) -> bytes:
    fields = (
        str(event["aggregate_id"]).encode(),
        str(int(event["version"])).encode(),
        str(event["topic"]).encode(),
        base64.b64decode(event["state"], validate=True),
        (event.get("metadata") or "").encode(),
    )
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def _hashes(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]


# -- commands -----------------------------------------------------------------------------
def inclusion(doc: dict[str, Any], vkey: str, witnesses: list[str]) -> str:
    _, size, root = open_checkpoint(doc["checkpoint"], vkey, witnesses)
    data = leaf_data_of(doc["event"])
    if "leaf_data" in doc and base64.b64decode(doc["leaf_data"]) != data:
        raise Failed("the proof's leaf data is not the event's bytes")
    index = int(doc["leaf_index"])
    if not check_inclusion(leaf(data), index, size, _hashes(doc["proof"]), root):
        raise Failed(f"the event is not leaf {index} of the tree of checkpoint {size}")
    ev = doc["event"]
    return f"event {ev['aggregate_id']} v{ev['version']} is leaf {index} of checkpoint {size}"


def consistency(doc: dict[str, Any], vkey: str, witnesses: list[str]) -> str:
    o1, m, old = open_checkpoint(doc["first_checkpoint"], vkey, witnesses)
    o2, n, new = open_checkpoint(doc["second_checkpoint"], vkey, witnesses)
    if o1 != o2:
        raise Failed(f"the checkpoints are of two logs: {o1} and {o2}")
    if not check_consistency(m, n, old, new, _hashes(doc["proof"])):
        raise Failed(f"checkpoint {n} does not extend checkpoint {m}: the history forked")
    return f"checkpoint {n} extends checkpoint {m}"


def bundle(doc: dict[str, Any], vkey: str, witnesses: list[str]) -> str:
    if doc.get("log_key") and doc["log_key"].strip() != vkey.strip():
        raise Failed("the bundle names another log key than the one you trust")
    leaves = []
    for i, event in enumerate(doc["events"]):
        h = leaf(leaf_data_of(event))
        if "leaf_hash" in event and base64.b64decode(event["leaf_hash"]) != h:
            raise Failed(
                f"leaf {i}: event {event['aggregate_id']} v{event['version']} does not match "
                "its leaf hash"
            )
        leaves.append(h)
    if not doc["checkpoints"]:
        raise Failed("the bundle holds no checkpoint")
    roots = {}
    for note in doc["checkpoints"]:
        _, size, root = open_checkpoint(note, vkey, witnesses)
        if size > len(leaves):
            raise Failed(f"checkpoint {size} covers more events than the bundle's {len(leaves)}")
        roots[size] = root
    stack: list[tuple[int, bytes]] = []  # perfect subtrees (size, root), largest first
    for i, h in enumerate(leaves, start=1):
        stack.append((1, h))
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            (n, right), (_, left) = stack.pop(), stack.pop()
            stack.append((2 * n, node(left, right)))
        if i in roots:
            r = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                r = node(left, r)
            if r != roots[i]:
                raise Failed(f"checkpoint {i}: the bundle's first {i} events do not give its root")
    return f"{len(leaves)} events, {len(doc['checkpoints'])} checkpoints verified"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("inclusion", "consistency", "bundle"))
    parser.add_argument("file", help="the proof or bundle (JSON); - for standard input")
    parser.add_argument("--key", required=True, help="the log's verifier key")
    parser.add_argument("--witness", action="append", default=[], help="a witness's key")
    args = parser.parse_args(argv)
    if args.file == "-":
        text = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
    check = {"inclusion": inclusion, "consistency": consistency, "bundle": bundle}[args.what]
    try:
        print("OK:", check(json.loads(text), args.key, args.witness))
    except (Failed, KeyError, ValueError) as exc:
        print("FAILED:", exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
