"""A real dashboard: the web app mounted at /ui in a small Starlette app over an in-process
Accord on a real SQLite file, served by the one live-server harness (tests/http/live_server.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from accord import Accord
from accord.http import Tokens, create_token
from accord.policy import Policy
from accord.web import COOKIE, build_asgi
from tests.http.live_server import Running

from .browser import Tab

ROLES = {"admin": ("admin", "ops"), "reviewer": ("reviewer", "rita"),
         "upsell": ("agent", "upsell"), "churn": ("agent", "churn-guard")}


@dataclass
class Dashboard:
    url: str
    service: Accord
    tokens: dict[str, str]

    def ui(self, path: str = "") -> str:
        return f"{self.url}/ui{path}"

    def login_url(self, role: str, path: str) -> str:
        """A URL of this test server (not of the dashboard, which signs in only by its posted
        form) that gives the browser ``role``'s cookie and lands on ``path``, so a one-shot
        ``dump_dom`` can open a signed-in page. tests/web/test_sign_in.py signs in through the
        form itself."""
        return str(httpx.URL(f"{self.url}/test-sign-in", params={"role": role,
                                                                 "next": f"/ui{path}"}))

    def http(self, role: str | None = None) -> httpx.Client:
        """A client signed in as ``role`` whose posts carry the dashboard's own Origin, as a
        browser's do from the dashboard's pages (add the form's ``csrf`` with ``form``)."""
        cookies = {"accord_ui": self.tokens[role]} if role else None
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=30,
                            follow_redirects=False, headers={"Origin": self.url})

    def form(self, role: str, **fields: str) -> dict[str, str]:
        """Form fields with the CSRF token the dashboard put in ``role``'s pages."""
        with self.http(role) as client:
            page = client.get("/ui/fleet").text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert found, "no CSRF token in the page"
        return {"csrf": found.group(1), **fields}


def serve(db: Path, policy: Policy, clock: Any = None) -> Iterator[Dashboard]:
    service = Accord.open(db, policy=policy, clock=clock)
    tokens = {name: create_token(service.store, role, subject)  # type: ignore[arg-type]
              for name, (role, subject) in ROLES.items()}
    resolver = Tokens(service.store)

    def resolve_role(token: str) -> tuple[str, str] | None:
        p = resolver.resolve(token)
        return (p.role, p.subject) if p else None

    def test_sign_in(request: Request) -> Response:
        response = RedirectResponse(request.query_params["next"], status_code=303)
        response.set_cookie(COOKIE, tokens[request.query_params["role"]], path="/ui",
                            httponly=True, samesite="strict")
        return response

    app = Starlette(routes=[
        Route("/", lambda request: RedirectResponse("/ui/", status_code=307)),
        Route("/test-sign-in", test_sign_in),
        Mount("/ui", build_asgi(service, resolve_role=resolve_role))])
    try:
        with Running(app) as url:
            yield Dashboard(url, service, tokens)
    finally:
        service.close()


def sign_in_by_form(tab: Tab, ui: str, token: str, path: str) -> None:
    """Sign ``tab`` in as a person does: open ``{ui}/login``, paste ``token`` into the form,
    submit it, and wait for ``{ui}{path}`` (``ui`` ends at the dashboard's mount, ``/ui``)."""
    tab.navigate(f"{ui}/login?next={quote(urlsplit(ui).path + path)}")
    tab.evaluate(f"document.querySelector('input[name=token]').value = {json.dumps(token)}; "
                 "document.querySelector('form.actions').submit(); true")
    target = urlsplit(ui).path + path.split("?")[0]
    tab.wait_for(f"location.pathname === {json.dumps(target)} && "
                 "document.readyState === 'complete'", what=f"the sign-in to land on {path}")
