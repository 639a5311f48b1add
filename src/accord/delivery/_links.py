"""Signed one-click unsubscribe links.

A link names (customer, channel, touch) and carries an HMAC-SHA256 over them with a secret the
store keeps (``meta.unsubscribe_secret``, made on first use, the same on every replica). Only a
link Accord minted is honoured; it needs no bearer token, because the customer clicks it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import orjson

from accord._errors import Forbidden


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeLinks:
    """Mints and checks ``{base_url}/v1/unsubscribe/{token}`` links."""

    def __init__(self, secret: str, base_url: str) -> None:
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)

    def token(self, customer: str, channel: str, touch_id: str) -> str:
        body = _b64(orjson.dumps([customer, channel, touch_id]))
        mac = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:20])
        return f"{body}.{mac}"

    def url(self, customer: str, channel: str, touch_id: str) -> str:
        return f"{self.base_url}/v1/unsubscribe/{self.token(customer, channel, touch_id)}"

    def check(self, token: str) -> tuple[str, str, str]:
        """(customer, channel, touch_id) of a token this key minted; ``Forbidden`` otherwise."""
        body, _, mac = token.partition(".")
        expected = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:20])
        if not mac or not hmac.compare_digest(expected, mac):
            raise Forbidden("this unsubscribe link is not one Accord issued", where="token")
        try:
            customer, channel, touch = orjson.loads(_unb64(body))
        except (ValueError, TypeError):
            raise Forbidden("this unsubscribe link is damaged", where="token") from None
        return str(customer), str(channel), str(touch)
