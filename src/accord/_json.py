"""JSON as Accord stores and hashes it: a leaf (orjson and the error type only), so the store,
the ledger and the personal-data seal share one encoding without importing each other."""

from __future__ import annotations

from typing import Any

import orjson

from accord._errors import InvalidInput


def jsonable(value: Any, option: int = 0) -> bytes:
    """JSON bytes, or ``InvalidInput`` for what JSON storage cannot hold (integers beyond 64
    bits, lone surrogates) — a client's mistake, never a server error."""
    try:
        return orjson.dumps(value, default=str, option=option)
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(f"a value cannot be stored as JSON: {exc}",
                           hint="integers must fit in 64 bits; text must be valid Unicode"
                           ) from None


def dumps(value: Any) -> str:
    """JSON text as the stores keep it."""
    return jsonable(value).decode()


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes a hash is taken over."""
    return jsonable(value, orjson.OPT_SORT_KEYS)
