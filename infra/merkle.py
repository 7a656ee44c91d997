"""RFC 9162 (Certificate Transparency 2.0) Merkle trees over SHA-256: leaf and node
hashes, the root of a list of leaf hashes, a frontier that appends leaves one at a time
(the log worker and the verifier), inclusion and consistency proofs and their checks.
Pure: no I/O. tools/verify_libshare.py holds its own copy of the checks, so that an
auditor's verifier shares no code with the log it checks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """MTH(D[lo:hi]) of these leaf hashes."""
    hi = len(leaves) if hi is None else hi
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return node_hash(root_of(leaves, lo, lo + k), root_of(leaves, lo + k, hi))


class Frontier:
    """The roots of the perfect subtrees of a tree of `size` leaves, largest first (one
    per bit of `size`): enough to append a leaf, or to give the root, in O(log n)."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        hashes, size = self.hashes, self.size
        hashes.append(leaf)
        while size & 1:  # each trailing one bit of the old size: two equal subtrees merge
            right = hashes.pop()
            hashes[-1] = node_hash(hashes[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        found = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            found = node_hash(left, found)
        return found

    def packed(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def unpack(cls, size: int, packed: bytes) -> Frontier:
        return cls(size, [packed[i : i + 32] for i in range(0, len(packed), 32)])


def inclusion_proof(leaves: Sequence[bytes], index: int, lo: int = 0) -> list[bytes]:
    """PATH(index, D[lo:len(leaves)]): the audit path of one leaf."""
    n = len(leaves) - lo
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    proof: list[bytes] = []
    hi = len(leaves)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < k:
            proof.append(root_of(leaves, lo + k, hi))
            hi = lo + k
        else:
            proof.append(root_of(leaves, lo, lo + k))
            lo, index = lo + k, index - k
    return proof[::-1]


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(first, D[len(leaves)]): that the tree of `first` leaves is a prefix."""
    second = len(leaves)
    if not 0 <= first <= second:
        raise ValueError(f"no tree of {first} leaves inside one of {second}")
    if first in (0, second):
        return []
    return _subproof(leaves, first, 0, second, True)


def _subproof(leaves: Sequence[bytes], m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if whole else [root_of(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, lo, lo + k, whole), root_of(leaves, lo + k, hi)]
    return [*_subproof(leaves, m - k, lo + k, hi, False), root_of(leaves, lo, lo + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162, 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162, 2.1.4.2 (and the trivial cases: an empty first tree, equal sizes)."""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a node of the second
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
