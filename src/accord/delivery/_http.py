"""The generic HTTP adapter: signed JSON to the operator's own sender (an SMS gateway, a
WhatsApp bridge, a voice dialer).

``POST url`` with the body below, ``Accord-Signature`` (see :mod:`accord._signing`) and
``Idempotency-Key: <touch id>``; any 2xx is accepted (a JSON ``{"id": ...}`` answer is kept
as the provider's reference), a 4xx other than 408/429 is permanent, anything else retried::

    {"touch_id", "customer", "agent", "channel", "to", "subject", "text", "html", "data",
     "unsubscribe_url"}
"""

from __future__ import annotations

import dataclasses

import httpx
import orjson

from accord._signing import sign
from accord.delivery._message import DeliveryFailed, Outbound


class HttpSender:
    """Signed JSON POSTs to one URL for the channels it is configured for."""

    name = "http"

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self.url, self._secret = url, secret
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:  # never show the secret
        return f"HttpSender({self.url})"

    def close(self) -> None:
        self._client.close()

    def send(self, message: Outbound) -> str:
        body = orjson.dumps(dataclasses.asdict(message))
        headers = {"Content-Type": "application/json", "Accord-Signature":
                   sign(self._secret, body), "Idempotency-Key": message.touch_id}
        try:
            r = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{self.url}: {exc.__class__.__name__}: {exc}") from None
        if r.is_success:
            try:
                ref = r.json().get("id") if r.content else None
            except (ValueError, AttributeError):
                ref = None
            return str(ref or message.touch_id)
        permanent = 400 <= r.status_code < 500 and r.status_code not in (408, 429)
        raise DeliveryFailed(f"{self.url} answered {r.status_code}: {r.text[:200]}",
                             permanent=permanent)
