"""Seats and handoffs on the service (issue: fleet governance). Mixed into ``Accord``.

Signatures here are the contract the HTTP, MCP and A2A shells call.
"""

from __future__ import annotations

from typing import Any


class FleetMixin:
    def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                trace_id: str | None = None, parent_id: str | None = None,
                via: str | None = None) -> Any:
        """Send a structured handoff to ``receiver``'s inbox. Returns the Handoff."""
        raise NotImplementedError

    def inbox(self, agent: str, *, include_acked: bool = False) -> list[Any]:
        """The handoffs waiting for ``agent`` (marks them read)."""
        raise NotImplementedError

    def ack_handoff(self, handoff_id: str, *, agent: str) -> Any:
        """The receiver acknowledges a handoff."""
        raise NotImplementedError
