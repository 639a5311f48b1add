"""After "not now", Accord keeps the work: kept proposals (``on_defer: reschedule``) are
re-decided at ``retry_at`` through the same gate, once, across replicas and restarts, until
their deadline (issue 13, build item 1)."""

from __future__ import annotations

import re
import threading
from typing import ClassVar

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from accord import Accord, Conflict, Decision, Forbidden, InvalidInput, NotFound, ScheduledStatus
from accord.policy import Policy
from accord.scheduler import Scheduler
from accord.store import open_store
from tests.conftest import ROOT, T0, Clock, fresh_pg_schema

HOUR = 3600.0
DAY = 86400.0


def _capped(acc: Accord, customer: str = "c1") -> None:
    """Use the customer's daily cap, so the next outbound proposal defers by a day."""
    assert acc.propose("email-cadence", customer, channel="email", intent="nurture").go


def _kept(acc: Accord, customer: str = "c1", deadline: str = "7d", agent: str = "email-cadence",
          intent: str = "nurture") -> str:
    d = acc.propose(agent, customer, channel="email", intent=intent, on_defer="reschedule",
                    deadline=deadline)
    assert d.outcome.value == "defer" and d.follow_up is not None
    return d.follow_up


def test_a_kept_defer_is_re_decided_at_retry_at_and_goes_when_the_window_clears(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    clock.advance(2 * HOUR)
    sid = _kept(any_acc)
    s = any_acc.scheduled(sid)
    assert s.status is ScheduledStatus.WAITING and s.due_at.timestamp() == T0 + DAY
    scheduler = Scheduler(any_acc)

    assert scheduler.run_once().total == 0  # not due yet: nothing is re-decided early
    clock.advance(DAY - 2 * HOUR)
    assert scheduler.run_once().decided == [sid]

    s = any_acc.scheduled(sid)
    assert s.status is ScheduledStatus.DONE and s.outcome is not None
    assert s.outcome.value == "go" and len(s.decisions) == 2
    final = any_acc.decision(s.decisions[-1])
    assert final.go and final.touch_id is not None
    assert final.parent_decision == s.decisions[0] and final.follow_up == sid
    assert scheduler.run_once().total == 0  # done: never re-decided again


def test_a_re_decision_that_defers_again_is_kept_again_until_it_goes(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc)
    clock.advance(DAY)
    any_acc.record_event("c1", "ticket_opened")  # the open-ticket pause now holds it 48 h more
    scheduler = Scheduler(any_acc)
    assert scheduler.run_once().decided == [sid]
    s = any_acc.scheduled(sid)
    assert s.status is ScheduledStatus.WAITING and s.due_at.timestamp() == T0 + 3 * DAY
    assert [r.rule for r in any_acc.decision(s.decisions[-1]).reasons] == ["open-ticket-pause"]
    clock.advance(2 * DAY)
    assert scheduler.run_once().decided == [sid]
    s = any_acc.scheduled(sid)
    assert s.status is ScheduledStatus.DONE and len(s.decisions) == 3
    assert any_acc.decision(s.decisions[-1]).go
    kinds = [e.kind for e in any_acc.trace(any_acc.decision(s.decisions[0]).proposal.trace_id
                                           or "")]
    assert kinds == ["decision", "schedule", "decision", "schedule", "decision"]


def test_a_kept_proposal_lapses_at_its_deadline_and_is_never_re_decided(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc, deadline="30h")
    clock.advance(DAY)
    any_acc.record_event("c1", "ticket_opened")
    scheduler = Scheduler(any_acc)
    assert scheduler.run_once().decided == [sid]  # deferred again, to beyond the deadline
    s = any_acc.scheduled(sid)
    assert s.status is ScheduledStatus.LAPSED and "deadline" in (s.note or "")
    clock.advance(5 * DAY)
    assert scheduler.run_once().total == 0
    assert len(any_acc.scheduled(sid).decisions) == 2


def test_a_kept_proposal_whose_scheduler_comes_after_the_deadline_lapses_undecided(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc, deadline="25h")
    clock.advance(3 * DAY)  # every replica was down past the deadline
    assert Scheduler(any_acc).run_once().lapsed == [sid]
    s = any_acc.scheduled(sid)
    assert s.status is ScheduledStatus.LAPSED and len(s.decisions) == 1
    assert any_acc.trace(any_acc.decision(s.decisions[0]).proposal.trace_id or "")[-1].kind \
        == "lapse"


def test_a_defer_that_clears_only_after_the_deadline_is_recorded_as_lapsed_at_once(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc, deadline="1h")
    assert any_acc.scheduled(sid).status is ScheduledStatus.LAPSED


def test_a_cancelled_kept_proposal_is_never_re_decided(any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc)
    with pytest.raises(Forbidden) as refused:
        any_acc.cancel_scheduled(sid, agent="upsell")
    assert refused.value.where == "scheduled_id"
    assert any_acc.cancel_scheduled(sid, agent="email-cadence").status \
        is ScheduledStatus.CANCELLED
    assert any_acc.cancel_scheduled(sid).status is ScheduledStatus.CANCELLED  # idempotent
    clock.advance(2 * DAY)
    assert Scheduler(any_acc).run_once().total == 0
    assert len(any_acc.scheduled(sid).decisions) == 1


def test_a_kept_proposal_that_cannot_be_re_decided_does_not_hold_up_the_others(
        acc: Accord, clock: Clock) -> None:
    _capped(acc)
    _capped(acc, "c2")
    broken, fine = _kept(acc), _kept(acc, "c2")
    with acc.store.lock("c1") as tx:  # a row no version of Accord can read back
        tx.execute("UPDATE scheduled SET proposal = '{}' WHERE id = ?", (broken,))
    clock.advance(DAY)
    report = Scheduler(acc).run_once()
    assert report.decided == [fine] and list(report.failed) == [broken]
    assert "ValidationError" in report.failed[broken]


def test_a_retried_proposal_with_its_idempotency_key_keeps_one_scheduled_row(
        any_acc: Accord) -> None:
    _capped(any_acc)
    args = {"channel": "email", "intent": "nurture", "on_defer": "reschedule",
            "deadline": "7d", "idempotency_key": "once"}
    first = any_acc.propose("email-cadence", "c1", **args)
    again = any_acc.propose("email-cadence", "c1", **args)
    assert again == first and first.follow_up is not None
    with any_acc.store.read() as tx:
        rows = tx.rows("SELECT id FROM scheduled WHERE customer = 'c1'")
    assert [r["id"] for r in rows] == [first.follow_up]


def test_cancelling_a_kept_proposal_that_already_ended_says_how_it_ended(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc)
    clock.advance(DAY)
    Scheduler(any_acc).run_once()
    with pytest.raises(Conflict) as refused:
        any_acc.cancel_scheduled(sid)
    assert "done" in str(refused.value) and refused.value.where == "scheduled_id"
    with pytest.raises(NotFound):
        any_acc.scheduled("s_nope")


def test_an_approval_that_meets_a_defer_is_kept_and_goes_later_without_a_second_review(
        any_acc: Accord, clock: Clock) -> None:
    big = any_acc.propose("upsell", "c1", channel="email", intent="upsell",
                          offer={"product": "pro", "discount_pct": 20})
    assert big.outcome.value == "flag"
    any_acc.record_event("c1", "ticket_opened")
    approved = any_acc.approve(big.id, reviewer="maria")
    assert approved.outcome.value == "defer" and approved.follow_up is not None
    s = any_acc.scheduled(approved.follow_up)
    assert s.status is ScheduledStatus.WAITING and s.due_at.timestamp() == T0 + 2 * DAY
    clock.advance(2 * DAY)
    Scheduler(any_acc).run_once()
    final = any_acc.decision(any_acc.scheduled(approved.follow_up).decisions[-1])
    assert final.go, final.reasons  # the human's approval still stands in for the flag
    assert any_acc.approvals() == []


def test_an_opt_out_ends_a_kept_proposal_at_once_with_a_stop_the_agent_hears(
        any_acc: Accord, clock: Clock) -> None:
    _capped(any_acc)
    sid = _kept(any_acc)
    other = _kept(any_acc, agent="reengage", intent="reactivate")
    with any_acc.subscribe(agent="email-cadence", kinds={"decision"}) as sub:
        any_acc.record_event("c1", "opt_out", data={"channel": "email"})
        told = sub.get(timeout=5)
    assert told is not None and told["kind"] == "decision"
    assert told["decision"]["outcome"] == "stop" and told["decision"]["follow_up"] == sid
    for kept_id in (sid, other):
        s = any_acc.scheduled(kept_id)
        assert s.status is ScheduledStatus.DONE and s.outcome is not None
        assert s.outcome.value == "stop"
        assert "opted-out" in {r.rule for r in any_acc.decision(s.decisions[-1]).reasons}
    clock.advance(DAY)
    assert Scheduler(any_acc).run_once().total == 0


def test_a_kept_proposal_survives_a_restart(store_url: str, clock: Clock,
                                            policy: Policy) -> None:
    with Accord.open(store_url, policy=policy, clock=clock) as acc:
        _capped(acc)
        sid = _kept(acc)
    clock.advance(DAY)
    with Accord.open(store_url, policy=policy, clock=clock) as acc:
        assert acc.scheduled(sid).status is ScheduledStatus.WAITING
        assert Scheduler(acc).run_once().decided == [sid]
        assert acc.decision(acc.scheduled(sid).decisions[-1]).go


def test_reschedule_without_a_deadline_is_refused_naming_the_field(acc: Accord) -> None:
    with pytest.raises(InvalidInput) as refused:
        acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                    on_defer="reschedule")
    assert refused.value.where == "deadline" and "7d" in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                    on_defer="reschedule", deadline="whenever")
    assert refused.value.where == "deadline"


def test_a_re_decision_reaches_the_agent_on_the_bus(acc: Accord, clock: Clock) -> None:
    _capped(acc)
    sid = _kept(acc)
    with acc.subscribe(agent="email-cadence") as sub:
        clock.advance(DAY)
        Scheduler(acc).run_once()
        message = sub.get(timeout=5)
    assert message is not None and message["kind"] == "decision"
    assert message["decision"]["follow_up"] == sid and message["decision"]["outcome"] == "go"


@pytest.mark.postgres
def test_two_replicas_re_decide_each_kept_proposal_exactly_once(clock: Clock,
                                                                policy: Policy) -> None:
    url = fresh_pg_schema()
    customers = [f"c{i}" for i in range(20)]
    with Accord.open(url, policy=policy, clock=clock) as one, \
            Accord.open(url, policy=policy, clock=clock) as two:
        kept = []
        for c in customers:
            _capped(one, c)
            kept.append(_kept(one, c))
        clock.advance(DAY)
        start = threading.Barrier(2)
        reports = []

        def passes(acc: Accord) -> None:
            start.wait()
            reports.append(Scheduler(acc).run_once())

        threads = [threading.Thread(target=passes, args=(a,)) for a in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        decided = sorted(sid for r in reports for sid in r.decided)
        assert decided == sorted(kept)  # each once, between the two replicas
        with one.store.read() as tx:
            count = tx.one("SELECT COUNT(*) AS n FROM decisions WHERE agent = 'email-cadence'")
        assert count is not None and int(count["n"]) == 3 * len(customers)
        for sid in kept:
            s = two.scheduled(sid)
            assert s.status is ScheduledStatus.DONE and len(s.decisions) == 2


COMBOS = [("churn-guard", "retain", "email"), ("upsell", "upsell", "voice"),
          ("email-cadence", "nurture", "email"), ("reengage", "reactivate", "sms")]
TERMINAL = {ScheduledStatus.DONE, ScheduledStatus.LAPSED, ScheduledStatus.CANCELLED}


class KeptMachine(RuleBasedStateMachine):
    """Agents propose with on_defer=reschedule, time passes, scheduler passes run, agents
    cancel, customers opt out — in any order. Every kept proposal ends in exactly one terminal
    state and stays there; no customer ever holds more touches than a cap allows."""

    acc: ClassVar[Accord]
    examples: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        KeptMachine.examples += 1
        self.clock = Clock()
        self.acc.clock = self.clock
        self.scheduler = Scheduler(self.acc)
        self.customers = [f"k{self.examples}-{i}" for i in range(2)]
        self.kept: list[str] = []
        self.ended: dict[str, tuple[ScheduledStatus, list[str]]] = {}
        self.opted: dict[str, set[str]] = {c: set() for c in self.customers}

    @rule(combo=st.sampled_from(COMBOS), who=st.integers(0, 1),
          deadline=st.sampled_from(["6h", "3d", "8d", "14d"]))
    def propose(self, combo: tuple[str, str, str], who: int, deadline: str) -> None:
        agent, intent, channel = combo
        d = self.acc.propose(agent, self.customers[who], channel=channel, intent=intent,
                             on_defer="reschedule", deadline=deadline)
        assert (d.follow_up is not None) == (d.outcome.value == "defer")
        if d.follow_up is not None:
            self.kept.append(d.follow_up)

    @rule(combo=st.sampled_from(COMBOS), deadline=st.sampled_from(["3d", "8d"]))
    def propose_to_the_first(self, combo: tuple[str, str, str], deadline: str) -> None:
        self.propose(combo, 0, deadline)

    @rule(seconds=st.sampled_from([HOUR, 6 * HOUR, 25 * HOUR, 72 * HOUR]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def run_pass(self) -> None:
        report = self.scheduler.run_once()
        for sid in report.decided:
            s = self.acc.scheduled(sid)
            final = self.acc.decision(s.decisions[-1])
            if final.go:
                opted = self.opted[s.customer]
                assert final.proposal.channel not in opted and "all" not in opted

    @rule(pick=st.integers(0, 10_000))
    def cancel(self, pick: int) -> None:
        if not self.kept:
            return
        sid = self.kept[pick % len(self.kept)]
        before = self.acc.scheduled(sid).status
        try:
            after = self.acc.cancel_scheduled(sid).status
        except Conflict:
            assert before in {ScheduledStatus.DONE, ScheduledStatus.LAPSED}
        else:
            assert after is ScheduledStatus.CANCELLED
            assert before in {ScheduledStatus.WAITING, ScheduledStatus.CANCELLED}

    @rule(who=st.integers(0, 1), channel=st.sampled_from(["email", "sms", None]))
    def opt_out(self, who: int, channel: str | None) -> None:
        customer = self.customers[who]
        self.acc.record_event(customer, "opt_out", data={"channel": channel} if channel else {})
        self.opted[customer].add(channel or "all")

    @rule(who=st.integers(0, 1))
    def ticket_opened(self, who: int) -> None:  # holds every outbound proposal for 48 h
        self.acc.record_event(self.customers[who], "ticket_opened")

    @invariant()
    def an_ended_kept_proposal_never_changes_and_a_waiting_one_is_due_by_its_deadline(
            self) -> None:
        for sid in self.kept:
            s = self.acc.scheduled(sid)
            if sid in self.ended:
                assert (s.status, s.decisions) == self.ended[sid], f"{sid} changed after ending"
            elif s.status in TERMINAL:
                self.ended[sid] = (s.status, s.decisions)
            else:
                assert s.due_at <= s.deadline

    @invariant()
    def no_customer_holds_more_than_a_cap(self) -> None:
        lease = self.acc.policy.spec.settings.touch_lease
        with self.acc.store.read() as tx:
            rows = tx.rows("SELECT customer, channel, intent, at, status FROM touches WHERE "
                           "customer IN (?, ?)", tuple(self.customers))
        held = [r for r in rows if r["status"] == "executed"
                or (r["status"] == "pending" and r["at"] + lease >= self.clock())]
        for cap in self.acc.policy.caps:
            for c in self.customers:
                times = sorted(r["at"] for r in held if r["customer"] == c
                               and (cap.channels is None or r["channel"] in cap.channels)
                               and r["intent"] not in cap.exempt_intents)
                for t0 in times:
                    assert len([t for t in times if t0 <= t < t0 + cap.per]) <= cap.limit

    def teardown(self) -> None:
        for _ in range(50):  # follow each waiting one to its next re-decision, then past all
            waiting = [s.due_at.timestamp() for s in map(self.acc.scheduled, self.kept)
                       if s.status is ScheduledStatus.WAITING]
            if not waiting:
                break
            self.clock.now = max(self.clock.now, min(waiting))
            self.scheduler.run_once()
        self.clock.advance(15 * DAY)
        self.scheduler.run_once()
        for sid in self.kept:
            s = self.acc.scheduled(sid)
            assert s.status in TERMINAL, f"{sid} is still {s.status} after its deadline"
            chain = [self.acc.decision(d) for d in s.decisions]
            assert all(d.decided_at is not None and d.decided_at <= s.deadline
                       for d in chain), f"{sid} was re-decided after its deadline"
            outcomes = [d.outcome.value for d in chain]
            assert all(o == "defer" for o in outcomes[:-1])
            assert (outcomes[-1] != "defer") == (s.status is ScheduledStatus.DONE)
        report = self.acc.verify_ledger()
        assert report.ok, report.problems


def test_every_kept_proposal_ends_in_exactly_one_terminal_state_and_caps_hold(
        store_url: str, policy: Policy) -> None:
    store = open_store(store_url)
    KeptMachine.acc = Accord(store, policy)
    phases = [ph for ph in Phase if ph is not Phase.shrink or not store_url.startswith("post")]
    try:
        run_state_machine_as_test(KeptMachine, settings=settings(
            max_examples=30, stateful_step_count=30, deadline=None, database=None,
            phases=phases))
    finally:
        store.close()


@pytest.mark.postgres
def test_a_postgresql_store_from_before_kept_proposals_gains_their_table_on_open(
        clock: Clock, policy: Policy) -> None:
    import psycopg

    url = fresh_pg_schema()
    with Accord.open(url, policy=policy, clock=clock) as acc:
        _capped(acc)
    with psycopg.connect(url, autocommit=True) as conn:  # as schema version 2 left it
        conn.execute("DROP TABLE scheduled")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    with Accord.open(url, policy=policy, clock=clock) as acc:
        sid = _kept(acc)
        clock.advance(DAY)
        assert Scheduler(acc).run_once().decided == [sid]


def test_the_snippets_in_docs_scheduling_run(acc: Accord) -> None:
    text = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    scope: dict[str, object] = {"acc": acc}
    for block in blocks:
        exec(compile(block, "docs/scheduling.md", "exec"), scope)
    d = scope["d"]
    assert isinstance(d, Decision) and d.follow_up is not None
    assert acc.scheduled(d.follow_up).status is ScheduledStatus.CANCELLED
