"""Serve an ASGI app on a free loopback port for one test (the one live-server harness)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from starlette.applications import Starlette

from accord import Accord
from accord.protocols._a2a_access import SeatTasks
from accord.protocols._actions import not_an_agent
from tests.http.live_server import Running

TOKENS = {"tok-churn": "churn-guard", "tok-upsell": "upsell", "tok-reengage": "reengage",
          "tok-scheduler": "scheduler"}
PEOPLE = {"tok-reviewer": "reviewer", "tok-admin": "admin"}
"""Valid tokens that are not agents' (token → role): refused with 403 on /mcp and /a2a."""


@dataclass
class Loopback:
    url: str
    service: Accord
    tasks: SeatTasks | None = None
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS))
    """token → agent: what the server's ``resolve_agent`` reads; ``token()`` adds to it."""

    def token(self, agent: str) -> str:
        """The agent's bearer token (one is issued for a seat that has none yet)."""
        found = next((t for t, a in self.tokens.items() if a == agent), None)
        if found is None:
            found = f"tok-{agent}"
            self.tokens[found] = agent
        return found

    def agent(self, token: str) -> str | None:
        """The ``resolve_agent`` a host passes: as ``accord serve`` resolves its tokens."""
        if token in PEOPLE:
            raise not_an_agent(PEOPLE[token])
        return self.tokens.get(token)


def serve(app: Starlette) -> Iterator[str]:
    with Running(app) as url:
        yield url


