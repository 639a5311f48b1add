"""The floor ``accord bench --http`` measures Accord against: a bare HTTP endpoint doing a
decision's transaction on PostgreSQL with nothing around it.

One raw ASGI callable under the same uvicorn, ``POST /v1/proposals`` only: parse the JSON body,
then on an async psycopg pool of the store's size, on the event loop, one pipelined transaction with
the statements a decision sends (create-or-lock the customer, read its touches, claims and the
agent's spend, insert a decision, a touch and a ledger entry of a decision's size, extend the
customer's chain), and answer a JSON body of a decision's size. No auth, no validation, no
policy, no threads: what the machine, the driver, uvicorn and PostgreSQL cost for that work.
Its tables live in a schema of their own (``accord_floor_<random>``), so Accord's are never
touched, and it drops that schema when it stops; its statements are in
``accord/store/_baseline.py``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from accord.store._baseline import BODY, floor_decision, floor_drop, floor_prepare


def build(url: str, pool_size: int = 10) -> Any:
    """The floor's ASGI app over an async pool of ``pool_size`` connections."""
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=pool_size, max_size=pool_size, open=False)
    counter = iter(range(1 << 62))

    async def decide(body: dict[str, Any]) -> bytes:
        customer, agent, i, at = str(body["customer"]), str(body["agent"]), next(counter), \
            time.time()
        did = f"d{i}-{customer}"
        async with pool.connection() as conn:
            await floor_decision(conn, customer, agent, did, f"t{i}", body.get("channel"),
                                 body.get("intent"), at)
        return json.dumps({"id": did, "outcome": "go", "proposal": body,
                           "reasons": BODY}).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await pool.open(wait=True)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await pool.close()
                    floor_drop(url)  # here: uvicorn ends its process by re-raising SIGTERM
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            status, out = 200, await decide(json.loads(raw))
        else:
            status, out = 200, b'{"ok":true}'
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app


if __name__ == "__main__":  # python -m accord.http._floor URL PORT
    import uvicorn

    _url, _port = sys.argv[1], int(sys.argv[2])
    floor_prepare(_url)
    uvicorn.run(build(_url), host="127.0.0.1", port=_port, log_level="warning",
                access_log=False)
