"""The fleet simulation: deterministic, the gate's guarantees hold, the report stands alone."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from accord.cli import main
from accord.policy import Policy
from accord.simulate import (
    HEADLINE,
    SENSITIVITY_KEYS,
    ResponseParams,
    SimConfig,
    render_html,
    simulate,
)
from accord.simulate._arms import example_policy_text, with_fleet_seats
from accord.simulate._company import AT_RISK, RENEWAL, churn_share_untouched
from accord.simulate._report import LABELS, _n
from accord.simulate._run import interval

# Customers unsubscribe twenty times as readily as by default, so a small company produces
# enough opt-outs for "no send after an opt-out" to be tested rather than vacuous.
TOUCHY = replace(
    ResponseParams(), unsubscribe={k: v * 20 for k, v in ResponseParams().unsubscribe.items()}
)
SMALL = SimConfig(
    customers=300, days=10, seed=11, seeds=3, response=TOUCHY, sensitivity_customers=0
)
SUMMARY_METRICS = {
    "sends_after_opt_out",
    "reengage_after_purchase",
    "contradictions",
    "complaints",
    "unsubscribes",
    "conversions",
    "revenue",
    "incremental_revenue",
    "channel_spend",
}


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return simulate(SMALL)


def _numbers(res: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in res.items() if k != "timings_s"}, sort_keys=True)


def test_the_same_seed_gives_the_same_numbers(results: dict[str, Any]) -> None:
    again = simulate(SMALL)
    assert _numbers(again) == _numbers(results)


def test_worker_processes_give_the_same_numbers_as_one_process() -> None:
    cfg = SimConfig(customers=80, days=3, seed=5, seeds=2, sensitivity_customers=40)
    one, two = simulate(cfg, jobs=1), simulate(cfg, jobs=2)
    assert _numbers(one) == _numbers(two)
    assert len(one["sensitivity"]["rows"]) == len(two["sensitivity"]["rows"]) > 1


def test_a_different_seed_gives_a_different_company(results: dict[str, Any]) -> None:
    other = simulate(replace(SMALL, seed=12))
    assert _numbers(other) != _numbers(results)


def test_results_keep_a_stable_summary_of_every_headline_metric_per_arm(
    results: dict[str, Any],
) -> None:
    assert results["seeds"] == [11, 12, 13]
    summary = results["summary"]
    assert {"without", "with"} <= set(summary)
    for arm in ("without", "with"):
        assert set(summary[arm]) >= SUMMARY_METRICS
        for metric, v in summary[arm].items():
            assert set(v) == {"mean", "low", "high"}, (arm, metric)
            assert all(isinstance(x, (int, float)) for x in v.values())
            assert v["low"] <= v["mean"] <= v["high"], (arm, metric, v)
    assert summary["with"]["sends_after_opt_out"] == {"mean": 0, "low": 0, "high": 0}
    assert set(results["difference"]["with"]) == set(summary["with"])


def test_the_summary_is_the_mean_over_the_seeds_of_the_arms(results: dict[str, Any]) -> None:
    one = simulate(replace(SMALL, seeds=1))
    assert one["arms"] == results["arms"], "the first seed's detail does not depend on --seeds"
    first = one["summary"]["with"]["conversions"]
    assert first["low"] == first["mean"] == first["high"] == one["arms"]["accord"]["conversions"]


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_an_interval_contains_its_mean_and_is_a_point_for_equal_values(xs: list[float]) -> None:
    v = interval(xs)
    assert v["low"] <= v["mean"] <= v["high"]
    same = interval([xs[0]] * len(xs))
    assert same["high"] - same["low"] <= 1e-6 * max(1.0, abs(xs[0]))


def test_a_retained_account_adds_only_what_it_would_have_lost_untouched(
    results: dict[str, Any],
) -> None:
    assert churn_share_untouched(RENEWAL) == pytest.approx(0.15)
    assert 0 < churn_share_untouched(AT_RISK) < 1
    for arm in results["arms"].values():
        assert arm["touch_incremental_revenue"] < arm["touch_revenue"]
        assert arm["incremental_revenue"] == pytest.approx(
            arm["touch_incremental_revenue"]
            + arm["organic_revenue"]
            - results["baseline"]["organic_revenue"],
            abs=0.02,
        )
    assert results["baseline"]["delivered"] == 0, "the baseline touches nobody"


def test_net_value_prices_unsubscribes_and_complaints_as_configured(
    results: dict[str, Any],
) -> None:
    free = simulate(replace(SMALL, seeds=1, unsubscribe_value=0.0, complaint_value=0.0))
    priced = simulate(replace(SMALL, seeds=1, unsubscribe_value=10.0, complaint_value=30.0))
    for name in ("uncoordinated", "accord"):
        a, b = free["arms"][name], priced["arms"][name]
        assert a["net_value"] == pytest.approx(a["incremental_revenue"] - a["spend"], abs=0.02)
        cost = 10.0 * b["unsubscribes"] + 30.0 * b["complaints"]
        assert b["net_value"] == pytest.approx(a["net_value"] - cost, abs=0.02)


def test_simulated_agents_let_accord_keep_defers_and_apply_amends(
    results: dict[str, Any],
) -> None:
    accord = results["arms"]["accord"]
    assert accord["kept"] + accord["deferred_dropped"] >= accord["defer"], "no defer ignored"
    assert accord["amends_applied"] > 0
    assert results["arms"]["uncoordinated"]["kept"] == 0
    html = render_html(results)
    assert f"{accord['amends_applied']:,} goes carried an applied amend" in html
    assert "defers were kept by Accord" in html and "re-decisions were" in html


def test_accord_sends_nothing_after_an_opt_out(results: dict[str, Any]) -> None:
    without, with_ = results["arms"]["uncoordinated"], results["arms"]["accord"]
    assert without["sends_after_opt_out"] > 0, "the scenario must contain suppression failures"
    assert with_["sends_after_opt_out"] == 0
    assert with_["rules"].get("opted-out", 0) + with_["self_suppressed"] > 0


def test_accord_has_fewer_collisions_and_contradictions(results: dict[str, Any]) -> None:
    without, with_ = results["arms"]["uncoordinated"], results["arms"]["accord"]
    assert with_["collision_touches"] < without["collision_touches"]
    assert with_["customers_hit_by_2_agents_72h"] <= without["customers_hit_by_2_agents_72h"]
    assert with_["contradictory"] < without["contradictory"]
    assert with_["sends_after_purchase"] == 0 < without["sends_after_purchase"]


def test_renewal_accounts_ask_a_human_only_with_accord(results: dict[str, Any]) -> None:
    assert results["arms"]["uncoordinated"]["approvals_requested"] == 0
    with_ = results["arms"]["accord"]
    assert with_["approvals_requested"] > 0
    assert with_["approved"] + with_["rejected"] <= with_["approvals_requested"]


def test_the_report_is_self_contained(results: dict[str, Any]) -> None:
    html = render_html(results)
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert external == []
    assert "<link" not in html and "<script" not in html
    assert html.count("<svg") >= 5


def test_the_report_shows_every_headline_metric(results: dict[str, Any]) -> None:
    html = render_html(results)
    assert set(HEADLINE) <= set(LABELS)
    for key in HEADLINE:
        assert escape(LABELS[key]) in html, key
        for arm in results["arms"].values():
            assert _n(arm[key]) in html, (key, arm[key])
    assert "model assumptions" in html


def test_the_coordinated_policy_adds_seats_for_the_ad_and_recs_agents() -> None:
    template = example_policy_text()
    text, added = with_fleet_seats(template, ["social-ads", "paid-search", "content-recs"])
    assert added == ["social-ads", "paid-search", "content-recs"]
    policy = Policy.from_text(text)
    assert policy.agents["paid-search"].mandate.channels == ["search_ad"]
    assert yaml.safe_load(template)["agents"] == yaml.safe_load(example_policy_text())["agents"]
    _, again = with_fleet_seats(text, ["social-ads"])
    assert again == []


def test_the_cli_writes_the_report_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    policy = Path(__file__).parents[2] / "src/accord/templates/accord.yaml"
    r = CliRunner().invoke(
        main,
        [
            "simulate",
            "--customers",
            "60",
            "--days",
            "3",
            "--out",
            str(out),
            "--sensitivity-customers",
            "0",
            "--policy",
            str(policy),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (out / "report.html").is_file()
    data = json.loads((out / "results.json").read_text())
    assert list(data["arms"]) == ["uncoordinated", "accord", "policy"]
    assert f"report written to {(out / 'report.html').resolve()}" in r.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--customers", "0"], "--customers"),
        (["--days", "0"], "--days"),
        (["--seeds", "0"], "--seeds"),
        (["--holdout", "1"], "--holdout"),
        (["--unsubscribe-value", "-1"], "--unsubscribe-value"),
        (["--customers", "many"], "--customers"),
        (["--policy", "/nonexistent/accord.yaml"], "--policy"),
    ],
)
def test_the_cli_rejects_bad_input_clearly(args: list[str], needle: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["simulate", "--out", str(tmp_path), *args])
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output


def test_a_broken_policy_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: x\n    effect: stop\n    when: 'customer.'\n")
    r = CliRunner().invoke(
        main,
        [
            "simulate",
            "--customers",
            "20",
            "--days",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--policy",
            str(bad),
        ],
    )
    assert r.exit_code != 0
    assert "bad.yaml" in r.output
    assert "Traceback" not in r.output


def test_the_sensitivity_table_halves_and_doubles_each_key_parameter() -> None:
    res = simulate(SimConfig(customers=60, days=3, seeds=1, sensitivity_customers=40))
    rows = res["sensitivity"]["rows"]
    assert rows[0]["parameter"] == "baseline"
    assert {(r["parameter"], r["factor"]) for r in rows[1:]} == {
        (k, f) for k in SENSITIVITY_KEYS for f in (0.5, 2.0)
    } | {("fatigue_counts", 1.0)}
    assert rows[-1]["value"] == "all", "contact counting: every touch, impressions included"
    assert {"approve_rate", "convert", "value_months", "fatigue_slope"} <= set(SENSITIVITY_KEYS)
    html = render_html(res)
    assert "Sensitivity (one at a time" in html
    assert all(k in html for k in SENSITIVITY_KEYS)


def test_the_terminal_summary_says_what_drives_the_revenue_change_and_where_it_is_explained(
        tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["simulate", "--customers", "60", "--days", "3", "--out",
                                  str(tmp_path), "--sensitivity-customers", "0"])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("Revenue "))
    assert "(With Accord vs Without Accord) is the balance of touches the gate held" in line
    assert "report.html" in line and "Where touch-driven revenue moved" in line


def _coordinated() -> Any:
    from accord.simulate._arms import Coordinated
    from accord.simulate._run import load_policies

    _, _, policy = load_policies(None)[1]
    assert policy is not None
    return Coordinated(policy, keep_days=3.0)



@pytest.mark.parametrize(("seat", "channel"), [("social-ads", "social_ad"),
                                              ("paid-search", "search_ad")])
def test_an_acquisition_ad_to_someone_who_just_bought_is_stopped(seat: str, channel: str) -> None:
    """The ad seats' audiences lag by days; the live purchase holds their acquisition ads back,
    as the response model counts such an ad as context-blind (``complaint_after_purchase``)."""
    from accord.simulate._agents import Pick, fleet
    from accord.simulate._company import DAY, START

    arm = _coordinated()
    try:
        agent = next(a for a in fleet() if a.id == seat)
        ad = Pick(5, channel, "acquire", action="ad")
        assert arm.decide(agent, ad, START, START, 1.0).outcome == "go"
        arm.event(6, "purchase", START, {"via": "organic"}, None)
        late = START + 2 * DAY
        v = arm.decide(agent, Pick(6, channel, "acquire", action="ad"), late, late, 1.0)
        assert v.outcome == "stop" and v.rules == ("bought-recently",)
    finally:
        arm.close()


def test_accord_applies_the_amend_keeps_the_defer_and_re_decides_it_once_when_due() -> None:
    from accord.simulate._agents import Pick, fleet
    from accord.simulate._company import DAY, HOUR, START

    arm = _coordinated()
    try:
        upsell = next(a for a in fleet() if a.id == "upsell")
        arm.event(3, "ticket_opened", START, {}, "crm")
        pick = Pick(3, "email", "upsell", {"product": "analytics", "discount_pct": 10})
        # accept: [time] — the ticket pause clears after 48 h, so the gate answers go then
        first = arm.decide(upsell, pick, START + HOUR, START + HOUR, 12.0)
        assert first.outcome == "go" and first.applied is not None
        assert set(first.applied) == {"at"} and first.at == START + 2 * DAY
        # the same touch again: that slot is taken, so it is deferred, and Accord keeps it
        v = arm.decide(upsell, pick, START + 2 * HOUR, START + 2 * HOUR, 12.0)
        assert v.outcome == "defer" and v.follow_up is not None and v.retry_at is not None
        assert arm.due(v.retry_at - 1) == [], "nothing is re-decided before it is due"
        redecided = arm.due(v.retry_at)
        assert [sid for sid, _ in redecided] == [v.follow_up]
        assert redecided[0][1].outcome in ("go", "defer", "stop", "flag")
        assert arm.due(v.retry_at) == [], "a kept proposal is re-decided once per due time"
    finally:
        arm.close()


def test_a_holdout_adds_the_lift_report_treated_against_holdout(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["simulate", "--customers", "400", "--days", "4", "--seeds",
                                  "1", "--holdout", "0.5", "--sensitivity-customers", "0",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "results.json").read_text())
    lift = data["lift"]["accord"]
    assert lift["holdout"]["share"] == 0.5
    treated, held = lift["customers"]["treated"], lift["customers"]["holdout"]
    assert treated > 50 and held > 50, "a hashed half of the customers the fleet proposed to"
    assert {m["metric"] for m in lift["metrics"]} >= {"contacts", "unsubscribes"}
    assert "uncoordinated" not in data["lift"]
    html = (tmp_path / "report.html").read_text()
    assert "treated against holdout" in html and "Lift, With Accord" in r.output
    plain = CliRunner().invoke(main, ["simulate", "--customers", "60", "--days", "2", "--seeds",
                                      "1", "--sensitivity-customers", "0", "--out",
                                      str(tmp_path / "plain")])
    assert "lift" not in json.loads((tmp_path / "plain" / "results.json").read_text())
    assert plain.exit_code == 0


def test_nightly_agents_plan_through_propose_batch_with_their_value() -> None:
    from accord.simulate._arms import Coordinated
    from accord.simulate._engine import Engine
    from accord.simulate._run import load_policies

    _, _, policy = load_policies(None)[1]
    assert policy is not None
    rounds: list[tuple[str, int, list[float]]] = []

    class Watched(Coordinated):
        def decide_batch(self, agent: Any, picks: Any, at: float, now: float,
                         values: list[float]) -> Any:
            rounds.append((agent.id, len(picks), values))
            return super().decide_batch(agent, picks, at, now, values)

    arm = Watched(policy)
    try:
        Engine(SimConfig(customers=300, days=3, seeds=1, sensitivity_customers=0), arm).run()
    finally:
        arm.close()
    planners = {a for a, _, _ in rounds}
    assert {"churn-guard", "email-cadence"} <= planners
    assert planners <= {"churn-guard", "upsell", "email-cadence", "reengage", "support"}
    assert len([r for r in rounds if r[0] == "email-cadence"]) <= 3, "one round a day"
    assert all(len(values) == n for _, n, values in rounds)
    assert any(v > 0 for _, _, values in rounds for v in values), "rounds carry value"


def test_a_store_goes_to_ram_only_when_it_fits_comfortably(tmp_path: Path) -> None:
    from accord.simulate._run import store_in_ram

    assert store_in_ram(2000 * 14)
    assert not store_in_ram(10**12), "a terabyte-sized store stays on disk"
    assert not store_in_ram(2000 * 14, stores=10**6), "stores that live at once are counted"
    assert not store_in_ram(10, shm=str(tmp_path / "missing"))
