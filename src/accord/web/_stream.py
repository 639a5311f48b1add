"""The live feed: server-sent events from the service's bus, one subscription per open page.

The loop awaits ``Subscription.next`` on the event loop, so an idle page holds no worker thread
and costs decisions nothing; it ends when the browser goes away (Starlette cancels the
response) and the subscription is closed in ``finally``, so a closed tab leaves nothing
subscribed. A comment line every few seconds keeps proxies from timing the connection out.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from accord.store.bus import Message

if TYPE_CHECKING:
    from accord.store.bus import Subscription
    from accord.web._auth import Viewer

KEEPALIVE_S = 15.0
KINDS = {"decision", "revocation", "outcome", "handoff", "handoff_ack", "claim", "seat"}


def shape(message: Message, viewer: Viewer) -> dict[str, Any] | None:
    """What the page needs of a message, or None when this viewer may not see it. An agent sees
    its own decisions (the bus also tells it about others' decisions that pre-empted it: those
    arrive as revocations) and the notices addressed to it."""
    kind = message.get("kind")
    if kind not in KINDS:
        return None
    if kind == "decision":
        d = message["decision"]
        p = d["proposal"]
        if viewer.agent is not None and p["agent"] != viewer.agent:
            return None
        return {"kind": kind, "id": d["id"], "customer": p["customer"], "agent": p["agent"],
                "intent": p["intent"], "channel": p["channel"], "outcome": d["outcome"],
                "rules": [r["rule"] for r in d.get("reasons", [])],
                "touch_id": d.get("touch_id"), "trace": p.get("trace_id") or d["id"],
                "at": d.get("decided_at")}
    out = {k: v for k, v in message.items() if k in (
        "kind", "customer", "touch_id", "decision_id", "status", "why", "action", "by")}
    out["agents"] = message.get("agents", [])
    return out


def frame(data: dict[str, Any]) -> str:
    return f"event: {data['kind']}\ndata: {json.dumps(data, default=str)}\n\n"


async def events(sub: Subscription, viewer: Viewer) -> AsyncIterator[str]:
    quiet = time.monotonic()
    try:
        yield "retry: 2000\n: connected\n\n"
        while True:
            message = await sub.next(max(0.0, KEEPALIVE_S - (time.monotonic() - quiet)))
            data = None if message is None else shape(message, viewer)
            if data is not None:
                quiet = time.monotonic()
                yield frame(data)
            elif time.monotonic() - quiet >= KEEPALIVE_S:
                quiet = time.monotonic()
                yield ": keep-alive\n\n"
    finally:
        sub.close()

