"""`accord policy replay`: history re-decided under a policy, with the seats as they were."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from accord import Accord
from accord.cli import main
from accord.policy import Policy
from accord.policy.replay import replay
from tests.conftest import EXAMPLE_POLICY


def test_a_proposal_made_while_its_seat_was_paused_is_still_stopped_in_the_replay(
        store_url: str, policy: Policy, clock: Any) -> None:
    with Accord.open(store_url, policy=policy, clock=clock) as acc:
        acc.pause_seat("upsell", by="person:ops", reason="bad offer copy")
        paused = acc.propose("upsell", "c-1", channel="email", intent="upsell")
        clock.advance(3600)
        acc.resume_seat("upsell", by="person:ops")
        clock.advance(3600)
        active = acc.propose("upsell", "c-2", channel="email", intent="upsell")
        report = replay(acc.iter_ledger(), policy)
        out = CliRunner().invoke(main, ["policy", "replay", str(EXAMPLE_POLICY),
                                        "--db", store_url])
    assert paused.outcome == "stop" and active.outcome == "go"
    assert report.decisions == 2
    assert report.changed == [] and report.skipped == []
    assert out.exit_code == 0, out.output
    assert "re-decided 2 proposals" in out.output and ": 0 would change" in out.output
