"""E-mail over SMTP, with one-click unsubscribe (RFC 8058) and Message-IDs tied to touches.

The standard library's ``smtplib`` speaks SMTP, STARTTLS, implicit TLS and AUTH; it is the
well-kept library for this, so nothing else is needed."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from accord.delivery._message import DeliveryFailed, Outbound

Security = Literal["starttls", "tls", "none"]


def message_id(touch_id: str, domain: str) -> str:
    return f"<{touch_id}@{domain}>"


def touch_of(message_id_header: str | None) -> str | None:
    """The touch id inside a Message-ID this module wrote, else None."""
    if not message_id_header:
        return None
    local = message_id_header.strip().strip("<>").split("@", 1)[0]
    return local if local.startswith("t_") else None


def compose_email(m: Outbound, *, sender: str, domain: str) -> EmailMessage:
    """The e-mail for ``m``: plain text (and HTML when given), a Message-ID made from the touch
    id, and ``List-Unsubscribe`` + ``List-Unsubscribe-Post`` when there is an unsubscribe URL."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = m.to
    msg["Subject"] = m.subject or ""
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(m.touch_id, domain)
    msg["X-Accord-Touch"] = m.touch_id
    if m.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{m.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(m.text or "")
    if m.html:
        msg.add_alternative(m.html, subtype="html")
    return msg


class SmtpSender:
    """Sends the ``email`` channel through one SMTP server.

    ``security``: ``starttls`` (upgrade on port 587, the default), ``tls`` (implicit TLS,
    port 465) or ``none`` (a relay on loopback). ``username``/``password`` turn on AUTH."""

    name = "smtp"

    def __init__(self, host: str, port: int = 587, *, sender: str, domain: str,
                 security: Security = "starttls", username: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.sender, self.domain = host, port, sender, domain
        self.security, self.username, self.password = security, username, password
        self.timeout = timeout
        self.tls_context = tls_context

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSender({self.host}:{self.port}, security={self.security})"

    def send(self, message: Outbound) -> str:
        msg = compose_email(message, sender=self.sender, domain=self.domain)
        context = self.tls_context or ssl.create_default_context()
        try:
            if self.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port,
                                                        timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=context)
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc.recipients}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                 permanent=500 <= exc.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP: {exc}") from None
        if refused:
            raise DeliveryFailed(f"recipient refused: {refused}", permanent=True)
        return str(msg["Message-ID"])
