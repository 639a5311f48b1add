"""Cross-site request forgery: every state-changing request to the dashboard proves it came
from the dashboard's own pages.

``SameSite=Strict`` keeps the cookie from other *sites*, but a page on another port of the same
host is the same site, and its form would be sent with the reviewer's cookie. Two checks, both
required on every POST:

- **Origin** (or, when a browser sends none, **Referer**) must name this dashboard's own host
  and port — the ``Host`` the browser addressed. A request with neither is refused: browsers
  send ``Origin`` on every form post, so only a request that hides it lacks both.
- a **token** in the form (``csrf``), bound to the session: an HMAC of the session's bearer
  token, so every replica computes the same one with no shared state, and a page that cannot
  read the HttpOnly cookie cannot compute it. Signing in has no session yet; the Origin check
  guards it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from accord._errors import Forbidden

FIELD = "csrf"


def token_for(session: str) -> str:
    """The form token of the session whose bearer token is ``session``."""
    return hmac.new(session.encode(), b"accord-dashboard-csrf", hashlib.sha256).hexdigest()


def check_origin(request: Request) -> None:
    """Refuse a state-changing request that does not come from this dashboard's own pages."""
    own = request.headers.get("host", "").lower()
    origin = request.headers.get("origin")
    where = "Origin"
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if origin is None and referer:
            origin, where = referer, "Referer"
    sent = urlsplit(origin).netloc.lower() if origin and origin != "null" else ""
    if not own or sent != own:
        seen = f"from {origin}" if origin else "without an Origin or Referer header"
        raise Forbidden(f"a form post {seen} was refused: the dashboard accepts changes only "
                        f"from its own pages at {own or 'its own address'}", where=where,
                        hint="open the dashboard and submit the form there; a script must send "
                             "Origin with the dashboard's own scheme, host and port")


def check(request: Request, form: dict[str, object], session: str | None) -> None:
    """Both checks: the request's origin, and the form's token for this session."""
    check_origin(request)
    sent = str(form.get(FIELD) or "")
    if session is None or not hmac.compare_digest(sent, token_for(session)):
        raise Forbidden("the form's CSRF token is missing or not this session's",
                        where=FIELD, hint="reload the page and submit its form again")
