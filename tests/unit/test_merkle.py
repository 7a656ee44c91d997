"""RFC 9162 Merkle trees: the frontier's root equals the tree's root at every size, every
inclusion and consistency proof verifies, and one changed hash, index or size does not."""

from __future__ import annotations

import hashlib

from infra.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def mth(data: list[bytes]) -> bytes:
    """RFC 9162's definition, word for word, over the leaves' data."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


DATA = [f"event {i}".encode() for i in range(70)]
LEAVES = [leaf_hash(d) for d in DATA]


def test_the_frontier_gives_the_trees_root_at_every_size() -> None:
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT == mth([])
    for n in range(1, len(LEAVES) + 1):
        frontier.append(LEAVES[n - 1])
        assert frontier.root() == root_of(LEAVES[:n]) == mth(DATA[:n])
        again = Frontier.unpack(n, frontier.packed())
        assert again.root() == frontier.root()


def test_every_inclusion_proof_verifies_and_a_changed_one_does_not() -> None:
    for n in range(1, 34):
        root = root_of(LEAVES[:n])
        for i in range(n):
            proof = inclusion_proof(LEAVES[:n], i)
            assert verify_inclusion(LEAVES[i], i, n, proof, root)
            assert not verify_inclusion(leaf_hash(b"forged"), i, n, proof, root)
            if n > 1:
                assert not verify_inclusion(LEAVES[i], (i + 1) % n, n, proof, root)
                assert not verify_inclusion(LEAVES[i], i, n, proof, root_of(LEAVES[: n - 1]))


def test_every_consistency_proof_verifies_and_a_forked_history_does_not() -> None:
    forked = [*LEAVES[:5], leaf_hash(b"rewritten"), *LEAVES[6:]]
    for n in range(1, 34):
        for m in range(0, n + 1):
            proof = consistency_proof(LEAVES[:n], m)
            assert verify_consistency(m, n, root_of(LEAVES[:m]), root_of(LEAVES[:n]), proof)
            if 5 < m < n:
                fork = consistency_proof(forked[:n], m)
                assert not verify_consistency(m, n, root_of(LEAVES[:m]), root_of(forked[:n]), fork)
            if 0 < m < n:
                assert not verify_consistency(
                    m, n, root_of(LEAVES[: m - 1]), root_of(LEAVES[:n]), proof
                )
