"""Twilio for SMS and WhatsApp, through Twilio's own SDK (``pip install 'accord[twilio]'``).

Outbound: ``messages.create`` with the touch's text. Inbound: Twilio's webhooks (incoming
messages and status callbacks), verified with Twilio's ``X-Twilio-Signature`` scheme by the
SDK's ``RequestValidator``, become events (see :func:`inbound_events`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from accord.delivery._message import DeliveryFailed, Outbound
from accord.delivery.feedback import sms_keyword


class _Rebased(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no types
    """Sends Twilio's API calls to another origin (a regional proxy, or a stand-in on
    loopback where Twilio itself cannot be reached)."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=15)
        self._base = urlsplit(base)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        u = urlsplit(url)
        url = urlunsplit((self._base.scheme, self._base.netloc, u.path, u.query, u.fragment))
        return super().request(method, url, *args, **kwargs)


class TwilioSender:
    """Sends ``sms`` (and ``whatsapp``, addressed ``whatsapp:+E164``) through Twilio."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_: str, *,
                 status_callback: str | None = None, api_base: str | None = None) -> None:
        self.from_, self.status_callback = from_, status_callback
        self._client = Client(account_sid, auth_token,
                              http_client=_Rebased(api_base) if api_base else None)

    def __repr__(self) -> str:  # never show the token
        return f"TwilioSender(from={self.from_})"

    def close(self) -> None:
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()

    def send(self, message: Outbound) -> str:
        to, sender = message.to, self.from_
        if message.channel == "whatsapp":
            to = to if to.startswith("whatsapp:") else f"whatsapp:{to}"
            sender = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
        body = message.text or message.subject or ""
        try:
            sent = self._client.messages.create(
                to=to, from_=sender, body=body,
                **({"status_callback": self.status_callback} if self.status_callback else {}))
        except TwilioRestException as exc:
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise DeliveryFailed(f"Twilio {exc.status} (code {exc.code}): {exc.msg}",
                                 permanent=permanent) from None
        except OSError as exc:
            raise DeliveryFailed(f"Twilio: {exc}") from None
        return str(sent.sid)


def verify(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """True if ``signature`` (the ``X-Twilio-Signature`` header) signs this request."""
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def inbound_events(params: Mapping[str, str]) -> tuple[str, str, str, dict[str, Any]] | None:
    """(channel, address, event type, data) for one Twilio webhook, or None when it means
    nothing to Accord (a status such as ``queued`` or ``sent``).

    An incoming message (``Body``, ``From``) is a ``reply``, or ``opt_out`` / ``opt_in`` when it
    is a carrier keyword (or Twilio's ``OptOutType`` says so); a status callback
    (``MessageStatus``) is ``delivered`` or a ``bounce`` (``hard`` for ``undelivered`` and
    ``failed``)."""
    if "MessageStatus" in params and "Body" not in params:
        address = params.get("To", "")
        channel = "whatsapp" if address.startswith("whatsapp:") else "sms"
        status = params["MessageStatus"].lower()
        data: dict[str, Any] = {"channel": channel, "sid": params.get("MessageSid")}
        if status == "delivered":
            return channel, address.removeprefix("whatsapp:"), "delivered", data
        if status in ("undelivered", "failed"):
            data.update(hard=True, status=params.get("ErrorCode"))
            return channel, address.removeprefix("whatsapp:"), "bounce", data
        return None
    address = params.get("From", "")
    channel = "whatsapp" if address.startswith("whatsapp:") else "sms"
    optout = (params.get("OptOutType") or "").upper()
    word = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}.get(optout) or sms_keyword(
        params.get("Body", ""))
    kind = word if word in ("opt_out", "opt_in") else "reply"
    return channel, address.removeprefix("whatsapp:"), kind, {"channel": channel,
                                                               "sid": params.get("MessageSid")}
