"""The ledger's hash chain. One chain per customer (plus one for the fleet), so appending never
contends across customers and every chain lives in its customer's partition."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

GENESIS = "0" * 64
FLEET = "_fleet"
"""The chain for entries about no single customer: seats, policy, tokens."""


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes a hash is taken over."""
    from accord.store._rows import jsonable

    return jsonable(value, orjson.OPT_SORT_KEYS)


def entry_hash(prev_hash: str, chain: str, chain_seq: int, kind: str, at: float,
               agent: str | None, trace_id: str | None, parent_id: str | None, ref: str | None,
               body: str) -> str:
    """SHA-256 over the entry's header (canonical JSON) and its body exactly as stored, so
    verifying never depends on serializing the body the same way twice."""
    header = canonical([prev_hash, chain, chain_seq, kind, round(at, 6), agent, trace_id,
                        parent_id, ref])
    return hashlib.sha256(header + b"\n" + body.encode()).hexdigest()
