"""Delivery settings from the environment, where secrets belong (not on a command line,
which ``ps`` shows, nor in the policy file, which is reviewed and versioned).

- ``ACCORD_SMTP_URL``: ``smtp://user:password@host:587?from=news@example.com`` sends the
  ``email`` channel (``smtp://`` upgrades with STARTTLS, ``smtps://`` is implicit TLS,
  ``?security=none`` is a plain relay on loopback; ``domain`` defaults to the From domain);
- ``ACCORD_HTTP_SENDER_URL`` with ``ACCORD_HTTP_SENDER_SECRET`` and
  ``ACCORD_HTTP_SENDER_CHANNELS`` (default ``sms,whatsapp,voice``) posts those channels as
  signed JSON to the operator's own gateway;
- ``ACCORD_SEND_RATES`` (``smtp=50,twilio=10``) caps sends per second by sender, across
  replicas;
- ``ACCORD_INBOUND_SECRET`` verifies the gateway's signed reports on ``/v1/inbound/…``;
- ``ACCORD_TWILIO_ACCOUNT_SID``, ``ACCORD_TWILIO_AUTH_TOKEN``, ``ACCORD_TWILIO_FROM`` (and
  optionally ``ACCORD_TWILIO_CHANNELS``, default ``sms``; ``ACCORD_TWILIO_STATUS_CALLBACK``;
  ``ACCORD_TWILIO_API_BASE``) send through Twilio and verify its webhooks on
  ``/v1/inbound/twilio``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from accord._errors import InvalidInput
from accord.delivery._email import SmtpSender
from accord.delivery._http import HttpSender
from accord.delivery._message import Sender


@dataclass
class DeliverySettings:
    senders: dict[str, Sender] = field(default_factory=dict)
    inbound_secret: str | None = None
    twilio_auth_token: str | None = None
    rates: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliverySettings:
        senders: dict[str, Sender] = {}
        if env.get("ACCORD_SMTP_URL"):
            senders["email"] = smtp_from_url(env["ACCORD_SMTP_URL"])
        if env.get("ACCORD_HTTP_SENDER_URL"):
            secret = env.get("ACCORD_HTTP_SENDER_SECRET")
            if not secret:
                raise InvalidInput("ACCORD_HTTP_SENDER_URL is set without "
                                   "ACCORD_HTTP_SENDER_SECRET", where="ACCORD_HTTP_SENDER_SECRET",
                                   hint="the gateway checks every request's signature with it")
            http = HttpSender(env["ACCORD_HTTP_SENDER_URL"], secret)
            for channel in env.get("ACCORD_HTTP_SENDER_CHANNELS", "sms,whatsapp,voice").split(","):
                if channel.strip():
                    senders[channel.strip()] = http
        token = env.get("ACCORD_TWILIO_AUTH_TOKEN") or None
        if env.get("ACCORD_TWILIO_ACCOUNT_SID") and token:
            from accord.delivery._twilio import TwilioSender

            if not env.get("ACCORD_TWILIO_FROM"):
                raise InvalidInput("ACCORD_TWILIO_ACCOUNT_SID is set without ACCORD_TWILIO_FROM",
                                   where="ACCORD_TWILIO_FROM",
                                   hint="the Twilio number (E.164) messages are sent from")
            twilio = TwilioSender(env["ACCORD_TWILIO_ACCOUNT_SID"], token,
                                  env["ACCORD_TWILIO_FROM"],
                                  status_callback=env.get("ACCORD_TWILIO_STATUS_CALLBACK"),
                                  api_base=env.get("ACCORD_TWILIO_API_BASE"))
            for channel in env.get("ACCORD_TWILIO_CHANNELS", "sms").split(","):
                if channel.strip():
                    senders[channel.strip()] = twilio
        return cls(senders, env.get("ACCORD_INBOUND_SECRET") or None, token,
                   parse_rates(env.get("ACCORD_SEND_RATES", "")))


def parse_rates(text: str) -> dict[str, float]:
    """``smtp=50,twilio=10`` → sends per second by sender name, shared by every replica."""
    rates: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not name.strip() or not rate > 0:
            raise InvalidInput(f"ACCORD_SEND_RATES: {part!r} is not sender=sends-per-second",
                               where="ACCORD_SEND_RATES", hint="e.g. smtp=50,twilio=10")
        rates[name.strip()] = rate
    return rates


def smtp_from_url(url: str) -> SmtpSender:
    """An SMTP sender from ``smtp[s]://[user[:password]@]host[:port]?from=…[&domain=…]
    [&security=starttls|tls|none]``; errors never repeat the password."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidInput("ACCORD_SMTP_URL must look like smtp://user:password@host:587"
                           "?from=news@example.com", where="ACCORD_SMTP_URL")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    sender = query.get("from")
    if not sender or "@" not in sender:
        raise InvalidInput("ACCORD_SMTP_URL needs ?from=address@domain (the From header)",
                           where="ACCORD_SMTP_URL")
    security = query.get("security", "tls" if parts.scheme == "smtps" else "starttls")
    if security not in ("starttls", "tls", "none"):
        raise InvalidInput(f"security={security!r} is not starttls, tls or none",
                           where="ACCORD_SMTP_URL")
    return SmtpSender(parts.hostname, parts.port or (465 if security == "tls" else 587),
                      sender=sender, domain=query.get("domain", sender.rsplit("@", 1)[1]),
                      security=security,  # type: ignore[arg-type]
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None)
