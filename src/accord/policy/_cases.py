"""``accord policy test``: the policy's own worked examples, decided by the pure gate."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from accord import gate
from accord._time import parse_duration, to_epoch
from accord.model import Proposal
from accord.policy import Policy
from accord.policy._schema import CaseSpec

CASE_NOW = to_epoch("2026-01-05T12:00:00Z")
"""``now`` in a case unless its proposal says ``at``; touch and claim times may be offsets
from it, like ``-2h``."""


@dataclass
class CaseResult:
    name: str
    ok: bool
    expected: str
    got: str
    rules: list[str]
    message: str


def _when(value: object, now: float) -> float:
    if isinstance(value, str) and value.startswith(("-", "+")):
        sign = -1 if value[0] == "-" else 1
        return now + sign * parse_duration(value[1:])
    return to_epoch(value)  # type: ignore[arg-type]


def run_case(policy: Policy, case: CaseSpec) -> CaseResult:
    try:
        p = Proposal.model_validate(case.proposal)
    except ValidationError as exc:
        return CaseResult(case.name, False, case.expect, "invalid", [], str(exc))
    now = p.at.timestamp() if p.at else CASE_NOW
    touches = [gate.TouchView(t.get("id", f"t{i}"), t["agent"], t["channel"],
                              t.get("intent", "nurture"), _when(t.get("at", "-1h"), now),
                              t.get("status", "executed"), i)
               for i, t in enumerate(case.touches)]
    claims = [gate.ClaimView(c.get("id", f"c{i}"), c["agent"], c.get("purpose", ""),
                             _when(c.get("until", "+1d"), now))
              for i, c in enumerate(case.claims)]
    snap = gate.Snapshot(p.customer, gate.cel_fields(case.context), 1, touches, claims)
    v = gate.evaluate(p, now, snap, policy)
    rules = sorted({r.rule for r in v.reasons})
    missing = [r for r in case.expect_rules if r not in rules]
    ok = v.outcome.value == case.expect and not missing
    message = "" if ok else (
        f"expected {case.expect}, got {v.outcome.value}"
        + (f"; rules that did not fire: {', '.join(missing)}" if missing else "")
        + "".join(f"\n      [{r.rule}] {r.message}" for r in v.reasons))
    return CaseResult(case.name, ok, case.expect, v.outcome.value, rules, message)


def run_cases(policy: Policy) -> list[CaseResult]:
    return [run_case(policy, c) for c in policy.spec.tests]
