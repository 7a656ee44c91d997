"""Proofs from the verifiable log (ADR 0026), as JSON an auditor's verifier checks offline
(tools/verify_libshare.py): an event's inclusion proof against a signed checkpoint, and a
consistency proof between two checkpoints. Each answer carries the event's stored bytes
(for inclusion) and the signed notes, so that nothing in it need be taken on trust."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import psycopg

from infra.audit_store import event_at, leaf_data, leaf_hashes, leaf_of
from infra.merkle import consistency_proof, inclusion_proof


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def with_cosignatures(conn: psycopg.Connection[Any], size: int, note: str) -> str:
    """The log's signed note with the witnesses' cosignature lines appended."""
    lines = conn.execute(
        "SELECT line FROM audit_cosignatures WHERE size = %s ORDER BY witness", (size,)
    ).fetchall()
    return note + "".join(line for (line,) in lines)


def checkpoint_note(conn: psycopg.Connection[Any], size: int | None) -> tuple[int, str] | None:
    """The checkpoint of this size (None: the latest), with its cosignatures."""
    if size is None:
        row = conn.execute(
            "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT size, note FROM audit_checkpoints WHERE size = %s", (size,)
        ).fetchone()
    if row is None:
        return None
    return int(row[0]), with_cosignatures(conn, int(row[0]), row[1])


def latest_note(conn: psycopg.Connection[Any]) -> str | None:
    found = checkpoint_note(conn, None)
    return found[1] if found else None


def witnesses(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT witness, vkey, max(size), count(*) FROM audit_cosignatures "
        "GROUP BY witness, vkey ORDER BY witness"
    ).fetchall()
    return [{"name": n, "vkey": v, "latest_size": s, "cosigned": c} for n, v, s, c in rows]


class ProofUnavailable(LookupError):
    """No such event in the log yet, or no such checkpoint."""


def inclusion(
    conn: psycopg.Connection[Any], aggregate_id: UUID, version: int, size: int | None
) -> dict[str, Any]:
    index = leaf_of(conn, aggregate_id, version)
    if index is None:
        raise ProofUnavailable(f"event {aggregate_id} version {version} is not in the log yet")
    found = checkpoint_note(conn, size)
    if found is None:
        raise ProofUnavailable(f"no checkpoint of size {size}" if size else "no checkpoint yet")
    size, note = found
    if index >= size:
        raise ProofUnavailable(
            f"the event is leaf {index}; checkpoint {size} does not cover it yet"
        )
    nid = conn.execute(
        "SELECT notification_id FROM audit_leaves WHERE leaf_index = %s", (index,)
    ).fetchone()
    row = event_at(conn, int(nid[0])) if nid else None
    if row is None:
        raise ProofUnavailable(f"the event at leaf {index} is no longer stored")
    data = leaf_data(row.originator_id, row.version, row.topic, row.state, row.metadata)
    proof = inclusion_proof(leaf_hashes(conn, size), index)
    return {
        "kind": "inclusion",
        "leaf_index": index,
        "tree_size": size,
        "checkpoint": note,
        "event": {
            "aggregate_id": row.originator_id,
            "version": row.version,
            "topic": row.topic,
            "state": _b64(row.state),
            "metadata": row.metadata,
        },
        "leaf_data": _b64(data),
        "proof": [_b64(p) for p in proof],
    }


def consistency(conn: psycopg.Connection[Any], first: int, second: int) -> dict[str, Any]:
    if not 0 < first <= second:
        raise ValueError("0 < first <= second")
    old, new = checkpoint_note(conn, first), checkpoint_note(conn, second)
    if old is None or new is None:
        raise ProofUnavailable(f"no checkpoint of size {first if old is None else second}")
    proof = consistency_proof(leaf_hashes(conn, second), first)
    return {
        "kind": "consistency",
        "first": first,
        "second": second,
        "first_checkpoint": old[1],
        "second_checkpoint": new[1],
        "proof": [_b64(p) for p in proof],
    }
