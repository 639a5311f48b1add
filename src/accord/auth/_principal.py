"""Who is calling: a role and a subject, shared by every shell that authenticates (HTTP, the
dashboard), and the one rule of acting as an agent: an agent token acts only as itself. What a
shell adds (where the credential came from, signing in) stays in the shell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from accord._errors import Forbidden, InvalidInput

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

    def acting_agent(self, agent: str | None, *, doing: str, where: str = "agent") -> str:
        """The agent this call acts as: an agent token only ever as itself; an admin names one."""
        if self.is_agent:
            if agent is not None and agent != self.subject:
                raise Forbidden(f"the token of agent {self.subject!r} cannot {doing} as "
                                f"{agent!r}", where=where,
                                hint=f"set {where} to {self.subject!r} or use {agent!r}'s token")
            return self.subject
        if self.role != "admin":
            raise Forbidden(f"a {self.role} token may not {doing}", where="Authorization",
                            hint="use the agent's own token")
        if not agent:
            raise InvalidInput(f"name the agent to {doing} as", where=where,
                               hint="an admin token acts for any agent but must name it")
        return agent
