"""The policy holdout (issue 13, item 5): a stable, uniform, salted control group whose
customers are decided with coordination in shadow."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord import Accord
from accord._errors import PolicyError
from accord.policy import Policy
from accord.policy._schema import HoldoutSpec
from accord.service._holdout import bucket, in_holdout
from tests.conftest import EXAMPLE_POLICY, ROOT, Clock

HOUR = 3600.0
SALT = "2026-q4"


def holdout_policy(share: float = 0.5, salt: str = SALT,
                   enforce: tuple[str, ...] = ("opted-out",)) -> Policy:
    """The example policy with a holdout in its settings."""
    text = EXAMPLE_POLICY.read_text()
    lines = [f"  holdout: {{share: {share}, salt: {salt!r}, enforce: [{', '.join(enforce)}]}}"]
    text = text.replace("settings:\n", "settings:\n" + "\n".join(lines) + "\n", 1)
    return Policy.from_text(text)


def first_ids(group: bool, policy: Policy, n: int = 1) -> list[str]:
    """The first ``n`` ids ``c0, c1, …`` that are (``group`` True) or are not in the holdout."""
    spec = policy.spec.settings.holdout
    ids = (f"c{i}" for i in range(10_000))
    return [c for c in ids if in_holdout(c, spec) is group][:n]


@pytest.fixture
def held(store_url: str, clock: Clock) -> Iterator[Accord]:
    a = Accord.open(store_url, policy=holdout_policy(), clock=clock)
    yield a
    a.close()


# -- assignment ------------------------------------------------------------------------------

def test_assignment_is_the_same_in_another_process_with_another_hash_seed() -> None:
    ids = [f"cust-{i}" for i in range(2_000)]
    here = "".join("1" if bucket(c, SALT) < 0.3 else "0" for c in ids)
    script = ("from accord.service._holdout import bucket\n"
              f"print(''.join('1' if bucket(f'cust-{{i}}', {SALT!r}) < 0.3 else '0' "
              "for i in range(2000)))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT / "src")}
    there = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    assert there == here
    assert 0 < here.count("1") < len(ids)


# Hoeffding: P(|share seen - share| >= t) <= 2 exp(-2 n t^2) for n independent ids (the hash
# as a random function of salt and id). With n = 20,000, t = 0.025 and at most 30 examples a
# run, the union bound puts a false failure at 30 * 2 * exp(-25) = 8.3e-10 < 1e-9.
N_IDS, TOLERANCE, EXAMPLES = 20_000, 0.025, 30
assert EXAMPLES * 2 * math.exp(-2 * N_IDS * TOLERANCE**2) < 1e-9


@settings(max_examples=EXAMPLES, deadline=None)
@given(salt=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), min_size=1,
                    max_size=20),
       share=st.floats(min_value=0.01, max_value=0.99))
def test_holdout_share_matches_the_setting_for_any_salt(salt: str, share: float) -> None:
    spec = HoldoutSpec(share=share, salt=salt)
    seen = sum(in_holdout(f"customer-{i}", spec) for i in range(N_IDS)) / N_IDS
    assert abs(seen - share) < TOLERANCE


def test_a_fixed_large_id_set_splits_five_percent_and_a_new_salt_draws_a_new_group() -> None:
    ids = [f"c{i}" for i in range(200_000)]
    q4 = {c for c in ids if in_holdout(c, HoldoutSpec(share=0.05, salt="2026-q4"))}
    q1 = {c for c in ids if in_holdout(c, HoldoutSpec(share=0.05, salt="2027-q1"))}
    # Deterministic (fixed ids, fixed salts); sd of a binomial(200k, 0.05) is 97.
    assert abs(len(q4) - 10_000) < 500 and abs(len(q1) - 10_000) < 500
    assert abs(len(q4 & q1) - 500) < 150  # independent groups overlap by share^2


def test_a_holdout_enforcing_an_unknown_rule_is_refused_with_its_line() -> None:
    with pytest.raises(PolicyError) as err:
        holdout_policy(enforce=("opted-uot",))
    assert "settings.holdout.enforce.0" in str(err.value)
    assert "'opted-uot' is not the id of a rule" in str(err.value)


def test_a_holdout_share_outside_zero_and_one_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"settings\.holdout\.share"):
        holdout_policy(share=1.5)


# -- decisions -------------------------------------------------------------------------------

def test_holdout_customer_goes_with_what_coordination_would_have_done_in_shadow(
        held: Accord, clock: Clock) -> None:
    (control,) = first_ids(True, held.policy)
    (treated,) = first_ids(False, held.policy)
    for c in (control, treated):
        assert held.propose("churn-guard", c, channel="email", intent="retain").go
    clock.advance(HOUR)
    upsell_treated = held.propose("upsell", treated, channel="email", intent="upsell")
    upsell_control = held.propose("upsell", control, channel="email", intent="upsell")

    assert upsell_treated.outcome.value == "stop"
    assert upsell_control.go and upsell_control.touch_id is not None
    assert [r.rule for r in upsell_control.reasons] == ["holdout"]
    assert "would have answered stop" in upsell_control.reasons[0].message
    lifted = {r.rule for r in upsell_control.shadow}
    assert {"mixed-signals", "daily-cap"} <= lifted
    assert all(r.shadow for r in upsell_control.shadow)
    assert upsell_control.amend == {} and upsell_control.retry_at is None


def test_holdout_customer_never_preempts_and_a_purchase_revokes_nothing(
        held: Accord, clock: Clock) -> None:
    (control,) = first_ids(True, held.policy)
    reengage = held.propose("reengage", control, channel="email", intent="reactivate")
    clock.advance(HOUR)
    churn = held.propose("churn-guard", control, channel="email", intent="retain")
    assert reengage.go and churn.go and churn.preempted == []
    event = held.record_event(control, "purchase", data={"value": 50})
    assert event.revoked == []
    assert held.touch(reengage.touch_id or "").status.value == "pending"


def test_holdout_keeps_enforced_rules_and_the_seats_own_limits(
        held: Accord, clock: Clock) -> None:
    control, other = first_ids(True, held.policy, 2)
    pending = held.propose("reengage", control, channel="email", intent="reactivate")
    event = held.record_event(control, "opt_out", data={"channel": "email"})
    assert event.revoked == [pending.touch_id]
    clock.advance(HOUR)
    after = held.propose("churn-guard", control, channel="email", intent="retain")
    assert after.outcome.value == "stop" and "opted-out" in {r.rule for r in after.reasons}

    outside = held.propose("upsell", other, channel="sms", intent="upsell")
    assert outside.outcome.value == "stop" and "mandate" in {r.rule for r in outside.reasons}
    stranger = held.propose("nobody", other, channel="email", intent="upsell")
    assert stranger.outcome.value == "stop" and stranger.reasons[0].rule == "seat"


def test_the_example_policys_commented_holdout_loads_when_uncommented() -> None:
    text = EXAMPLE_POLICY.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("# holdout:"))
    policy = Policy.from_text(text.replace(line, line.replace("# holdout:", "holdout:")))
    spec = policy.spec.settings.holdout
    assert spec is not None and spec.share == 0.05 and spec.enforce == ["opted-out"]
