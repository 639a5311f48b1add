"""The policy holdout: a stable hashed share of customers for whom coordination runs in shadow.

Assignment is a pure function of (salt, customer id): the first 64 bits of
``sha256(salt NUL customer)`` read as a fraction of 2**64, compared with ``share``. No process
state, no randomness, no clock — so every replica, after every restart, puts a customer in the
same group, and a new salt draws a new, independent group. Ids never hold control characters,
so the NUL separator makes (salt, id) pairs unambiguous.

For a holdout customer the gate decides as usual and :func:`uncoordinated` then lifts every
coordination rule into ``shadow``: the proposal goes as it would with no coordination layer,
and the decision records what Accord would have done. Governance of the seat itself (a
registered, active seat, its mandate, authority, budget and trace ceilings) still holds — it
limits the agent, not the customer's journey — and so do the rules the policy names in
``settings.holdout.enforce`` (an opt-out must hold for every customer).
"""

from __future__ import annotations

import dataclasses
import hashlib

from accord.gate import Verdict
from accord.model import Outcome, Reason
from accord.policy import Policy
from accord.policy._schema import HoldoutSpec

GOVERNANCE = frozenset({"seat", "mandate", "authority", "budget", "trace-ceiling", "approval"})
"""Reasons a holdout never lifts: they govern the seat, not the customer's coordination."""
HOLDOUT_RULE = "holdout"


def bucket(customer: str, salt: str) -> float:
    """Where ``customer`` falls in [0, 1) under ``salt``; uniform for any salt."""
    digest = hashlib.sha256(f"{salt}\x00{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def in_holdout(customer: str, holdout: HoldoutSpec | None) -> bool:
    """True when ``customer`` is in the control group of ``holdout`` (None: nobody is)."""
    return holdout is not None and bucket(customer, holdout.salt) < holdout.share


def decide(customer: str, verdict: Verdict, policy: Policy) -> Verdict:
    """``verdict`` as it stands for ``customer``: unchanged when treated, uncoordinated when
    the customer is in the policy's holdout."""
    holdout = policy.spec.settings.holdout
    if holdout is None or not in_holdout(customer, holdout):
        return verdict
    return uncoordinated(verdict, holdout)


def uncoordinated(v: Verdict, holdout: HoldoutSpec) -> Verdict:
    """The verdict with every coordination rule moved to shadow (see the module docstring)."""
    keep = GOVERNANCE | frozenset(holdout.enforce)
    reasons = [r for r in v.reasons if r.rule in keep]
    lifted = [r.model_copy(update={"shadow": True}) for r in v.reasons
              if r.rule not in keep and r.rule != "precedence"]
    outcome = max((r.effect for r in reasons), key=lambda o: o.severity, default=Outcome.GO)
    reasons.append(Reason.model_construct(
        rule=HOLDOUT_RULE, effect=Outcome.GO, shadow=False,
        message=f"customer is in the policy holdout ({holdout.share:.4g} of customers, salt "
                f"{holdout.salt!r}): coordination rules ran in shadow"
                + (f"; they would have answered {v.outcome.value}" if lifted else ""),
        refs={"salt": holdout.salt, "would_have_been": v.outcome.value}))
    return dataclasses.replace(
        v, outcome=outcome, reasons=reasons, shadow=[*v.shadow, *lifted],
        retry_at=v.retry_at if outcome is Outcome.DEFER else None,
        amend=v.amend if outcome is not Outcome.GO else {},
        preempt=[],  # an uncoordinated agent overrules nobody
        incidents=[i for i in v.incidents if i in keep])
