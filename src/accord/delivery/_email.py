"""E-mail over SMTP, with one-click unsubscribe (RFC 8058) and Message-IDs tied to touches.

The standard library's ``smtplib`` speaks SMTP, STARTTLS, implicit TLS and AUTH; it is the
well-kept library for this, so nothing else is needed."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
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
        self._client: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSender({self.host}:{self.port}, security={self.security})"

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()

    def _connect(self) -> smtplib.SMTP:
        context = self.tls_context or ssl.create_default_context()
        if self.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            client.starttls(context=context)
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def send(self, message: Outbound) -> str:
        """Send over one kept-open connection; a connection the server closed is reopened
        once, before anything was handed over."""
        msg = compose_email(message, sender=self.sender, domain=self.domain)
        with self._lock:
            try:
                for fresh in (self._client is None, True):
                    if self._client is None:
                        self._client = self._connect()
                    try:
                        refused = self._client.send_message(msg)
                        break
                    except smtplib.SMTPServerDisconnected:
                        self._client = None
                        if fresh:
                            raise
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                raise DeliveryFailed(f"recipient refused: {exc.recipients}",
                                     permanent=True) from None
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                     permanent=500 <= exc.smtp_code < 600) from None
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise DeliveryFailed(f"SMTP: {exc}") from None
        if refused:
            raise DeliveryFailed(f"recipient refused: {refused}", permanent=True)
        return str(msg["Message-ID"])

    def _reset(self) -> None:
        """After a refusal the session is still good: RSET it, or drop it if that fails."""
        if self._client is not None:
            try:
                self._client.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
