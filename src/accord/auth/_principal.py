"""Who is calling: a role and a subject, shared by every shell that authenticates (HTTP, the
dashboard). What each shell adds (acting as an agent, signing in) stays in the shell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from accord._errors import Forbidden

Role = Literal["agent", "reviewer", "admin"]
ROLES: tuple[Role, ...] = ("agent", "reviewer", "admin")
REVIEWERS: tuple[Role, ...] = ("reviewer",)
"""Who approves and rejects flagged proposals, on every interface (docs/api.md, "Roles"): a
reviewer only. Not an admin — the person who edits the policy does not sign off its
exceptions — and never an agent."""


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    subject: str

    credential: ClassVar[str] = "Authorization"
    """Where the caller's credential came from, named in refusals."""

    @property
    def label(self) -> str:
        return f"{self.role}:{self.subject}"

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"

    @property
    def agent(self) -> str | None:
        """The agent this caller is, or None for people, who see the whole fleet."""
        return self.subject if self.is_agent else None

    @property
    def may_review(self) -> bool:
        return self.role in REVIEWERS

    def require_review(self, *, doing: str = "approve or reject proposals") -> None:
        """Refuse unless this principal may approve and reject (the one rule, ``REVIEWERS``)."""
        self.require(*REVIEWERS, doing=doing)

    def require(self, *roles: Role, doing: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"a {self.role} token may not {doing}", where=self.credential,
                            hint=f"use a token with role {' or '.join(roles)}")
