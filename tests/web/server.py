"""A real dashboard: the web app mounted at /ui in a small Starlette app over an in-process
Accord on a real SQLite file, served by the one live-server harness (tests/http/live_server.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from accord import Accord
from accord.http import Tokens, create_token
from accord.policy import Policy
from accord.web import build_asgi
from tests.http.live_server import Running

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
        """A URL that signs the browser in as ``role`` (cookie) and lands on ``path``."""
        return str(httpx.URL(self.ui("/login"), params={"token": self.tokens[role],
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

    app = Starlette(routes=[
        Route("/", lambda request: RedirectResponse("/ui/", status_code=307)),
        Mount("/ui", build_asgi(service, resolve_role=resolve_role))])
    try:
        with Running(app) as url:
            yield Dashboard(url, service, tokens)
    finally:
        service.close()
