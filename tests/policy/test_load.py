"""Loading a policy: every problem names the file, the line and the rule id."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from accord import PolicyError
from accord.cli import main
from accord.policy import Policy
from accord.policy._cases import run_cases
from tests.conftest import EXAMPLE_POLICY

BASE = """\
version: 1
channels: [email, sms]
agents:
  - {id: a, owner: team-a, mandate: {intents: [nurture], channels: [email]}}
rules:
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        Policy.from_text(text, source="p.yaml")
    return info.value.problems


def test_the_example_policy_loads_and_its_own_examples_pass() -> None:
    policy = Policy.load(EXAMPLE_POLICY)
    assert {"churn-guard", "upsell", "reengage"} <= set(policy.agents)
    results = run_cases(policy)
    assert results and all(r.ok for r in results), [r.message for r in results if not r.ok]


def test_a_cel_syntax_error_names_file_line_and_rule() -> None:
    found = problems(BASE + "  - id: broken\n    effect: stop\n    when: action.channel ==\n")
    assert len(found) == 1
    assert found[0].startswith("p.yaml:8: rules.0.when (rule broken): CEL:")


def test_an_undeclared_variable_is_a_load_error() -> None:
    found = problems(BASE + "  - {id: typo, effect: stop, when: \"custmer.stage == 'x'\"}\n")
    assert "undeclared reference" in found[0] and "(rule typo)" in found[0]


def test_an_impossible_operation_is_a_load_error() -> None:
    found = problems(BASE + "  - {id: bad-math, effect: stop, when: \"now + 1 > now\"}\n")
    assert "no matching overload" in found[0]


def test_unknown_keys_are_errors_not_silently_ignored() -> None:
    found = problems(BASE + "  - {id: x, effect: stop, when: 'true', efect: flag}\n")
    assert "p.yaml:6" in found[0] and "unknown key" in found[0] and "(rule x)" in found[0]


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = BASE.replace("channels: [email]}", "channels: [fax]}") + (
        "  - {id: r1, effect: maybe, when: 'true'}\n")
    found = problems(text)
    assert len(found) == 1  # schema errors stop before cross-references
    found = problems(BASE.replace("channels: [email]}", "channels: [fax]}").replace(
        "rules:\n", "precedence: [a, ghost]\n"))
    assert any("fax" in p for p in found) and any("ghost" in p for p in found)


def test_schema_and_cel_problems_are_reported_together(tmp_path: Path) -> None:
    text = BASE + ("  - {id: r1, effect: maybe, when: 'true'}\n"
                   "  - {id: r2, effect: stop, when: 'action.chanel =='}\n"
                   "  - {id: r3, effect: defer, when: 'true', until: 'nope + 1'}\n"
                   "reducers:\n  - {event: opt_out, set: {opt_outs: 'append(event.'}}\n")
    found = problems(text)
    assert any("p.yaml:6" in p and "(rule r1)" in p and "effect" in p for p in found)
    assert any(p.startswith("p.yaml:7: rules.1.when (rule r2): CEL:") for p in found)
    assert any(p.startswith("p.yaml:8: rules.2.until (rule r3): CEL:") for p in found)
    assert any("reducers.0.set.opt_outs (rule opt_out): CEL:" in p for p in found)
    assert len(found) == 4

    path = tmp_path / "p.yaml"
    path.write_text(text)
    out = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert out.exit_code == 1
    assert "effect" in out.output and "rules.1.when (rule r2): CEL:" in out.output


def test_a_bad_duration_says_how_to_write_one() -> None:
    found = problems(BASE + "caps:\n  - {id: c, limit: 1, per: 1 day}\n")
    assert "30m, 48h, 7d" in found[0] and "p.yaml:7" in found[0]


def test_duplicate_ids_are_refused() -> None:
    found = problems(BASE + "  - {id: x, effect: stop, when: 'true'}\n"
                            "caps:\n  - {id: x, limit: 1, per: 24h}\n")
    assert any("already used" in p for p in found)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="accord init"):
        Policy.load(tmp_path / "nope.yaml")


def test_a_failing_example_reports_what_fired(tmp_path: Path) -> None:
    text = EXAMPLE_POLICY.read_text().replace(
        "    expect: go\n", "    expect: stop\n", 1)
    results = run_cases(Policy.from_text(text))
    failed = [r for r in results if not r.ok]
    assert len(failed) == 1 and "expected stop, got go" in failed[0].message


def test_missing_field_without_has_fails_closed_with_a_hint() -> None:
    text = BASE.replace("rules:\n", "") + (
        "rules:\n  - {id: renewal, effect: flag, when: \"customer.stage == 'renewal'\"}\n")
    from accord.gate import Snapshot, evaluate
    from accord.model import Proposal

    pol = Policy.from_text(text)
    v = evaluate(Proposal(agent="a", customer="c", channel="email", intent="nurture"), 0.0,
                 Snapshot("c"), pol)
    assert v.outcome.value == "flag"
    assert "has()" in v.reasons[0].message
