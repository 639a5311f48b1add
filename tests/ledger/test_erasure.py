"""Erasing a customer destroys its personal values everywhere, and the chain still verifies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from accord import Accord, InvalidInput, NotFound
from accord.cli import main
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY
from tests.http.live_server import start

EMAIL = "ada.lovelace@example.org"
PHONE = "+44 20 7946 0958"


def every_row(acc: Accord) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the store, by table."""
    with acc.store.read() as tx:
        if acc.store.url.startswith("postgresql://"):
            names = [r["name"] for r in tx.rows(
                "SELECT table_name AS name FROM information_schema.tables "
                "WHERE table_schema = current_schema()")]
        else:
            names = [r["name"] for r in tx.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: tx.rows(f"SELECT * FROM {n}") for n in names}


def holding(acc: Accord, *values: str) -> list[str]:
    return sorted({f"{table}: {v}" for table, rows in every_row(acc).items() for r in rows
                   for v in values if v in json.dumps(r, default=str)})


def personal_history(acc: Accord, customer: str, email: str = EMAIL,
                     phone: str = PHONE) -> None:
    acc.record_event(customer, "login", data={"email": email, "phone": phone})
    ctx = acc.context(customer)
    acc.update_context(customer, {"email": email, "phone": phone},
                       expected_version=ctx.version)
    acc.propose("churn-guard", customer, channel="email", intent="retain")


def test_erasure_leaves_no_personal_value_in_any_table_and_the_chain_verifies(
        any_acc: Accord) -> None:
    personal_history(any_acc, "c1")
    personal_history(any_acc, "c2", "grace@example.org", "+1 202 555 0143")
    assert len(holding(any_acc, EMAIL, PHONE)) >= 3, "the history planted no personal value"
    report = any_acc.erase_customer("c1", by="ticket-4711")
    assert report["erased"]["personal"] == 2 and report["erased"]["events"] == 1
    assert holding(any_acc, EMAIL, PHONE) == []
    assert any_acc.verify_ledger().ok
    chain = [e for e in any_acc.ledger() if e.chain == "c1"]
    assert chain[-1].kind == "erasure" and chain[-1].body["by"] == "ticket-4711"
    event = next(e for e in chain if e.kind == "event")
    assert event.body["data"] == {"$personal": event.ref, "erased": True}
    assert any_acc.context("c1").fields == {}
    other = any_acc.export_customer("c2")  # another customer's data is untouched
    assert other["context"]["fields"]["email"] == "grace@example.org"


def test_the_ledger_reads_personal_values_back_until_they_are_erased(any_acc: Accord) -> None:
    personal_history(any_acc, "c1")
    event = next(e for e in any_acc.ledger() if e.kind == "event")
    assert event.body["data"] == {"email": EMAIL, "phone": PHONE}
    with any_acc.store.read() as tx:
        raw = tx.one("SELECT body FROM ledger WHERE seq = ?", (event.seq,))
    assert raw is not None and EMAIL not in raw["body"] and "$personal" in raw["body"]


def test_export_gives_the_customers_data_as_json(any_acc: Accord) -> None:
    personal_history(any_acc, "c1")
    export = any_acc.export_customer("c1")
    json.dumps(export)
    assert export["context"]["fields"]["phone"] == PHONE
    assert export["events"][0]["data"] == {"email": EMAIL, "phone": PHONE}
    assert len(export["decisions"]) == 1
    assert [e["kind"] for e in export["ledger"]][:2] == ["event", "context"]


def test_erasing_or_exporting_an_unknown_or_internal_id_is_refused(any_acc: Accord) -> None:
    with pytest.raises(NotFound):
        any_acc.erase_customer("nobody", by="dpo")
    with pytest.raises(InvalidInput) as err:
        any_acc.export_customer("_fleet")
    assert err.value.where == "customer"
    personal_history(any_acc, "c1")
    with pytest.raises(InvalidInput) as err:
        any_acc.erase_customer("c1", by=" ")
    assert err.value.where == "by"


def test_the_cli_exports_then_erases_a_customer(tmp_path: Any) -> None:
    db = str(tmp_path / "a.db")
    acc = Accord.open(db, policy=EXAMPLE_POLICY)
    personal_history(acc, "c1")
    acc.close()
    base = ["--db", db, "--policy", str(EXAMPLE_POLICY)]
    run = CliRunner().invoke
    out = run(main, ["customer", "export", "c1", *base])
    assert out.exit_code == 0 and json.loads(out.output)["context"]["fields"]["email"] == EMAIL
    gone = run(main, ["customer", "erase", "c1", "--by", "ticket-1", *base])
    assert gone.exit_code == 0, gone.output
    after = run(main, ["customer", "export", "c1", *base])
    assert EMAIL not in after.output and PHONE not in after.output
    assert run(main, ["ledger", "verify", *base]).exit_code == 0


def test_an_admin_exports_and_erases_over_http_and_nobody_else_may(
        store_url: str, policy: Policy) -> None:
    for server in start(store_url, policy):
        personal_history(server.service, "c1")
        event = {"customer": "c1", "type": "login", "data": {"email": EMAIL}}
        with server.http("admin", **{"Idempotency-Key": "ev-1"}) as http:
            assert http.post("/v1/events", json=event).status_code == 200
        for role in ("agent_a", "reviewer"):
            with server.http(role) as http:
                assert http.get("/v1/customers/c1/export").status_code == 403
                assert http.post("/v1/customers/c1/erase").status_code == 403
        with server.http("admin") as http:
            export = http.get("/v1/customers/c1/export").json()
            assert export["context"]["fields"]["email"] == EMAIL
            erased = http.post("/v1/customers/c1/erase", headers={"Idempotency-Key": "k1"})
            assert erased.status_code == 200, erased.text
            assert erased.json()["by"] == "admin:ops"
            missing = http.post("/v1/customers/nobody/erase")
            assert missing.status_code == 404 and missing.json()["where"] == "customer"
        assert holding(server.service, EMAIL, PHONE) == []
        assert server.service.verify_ledger().ok
        with server.http("admin", **{"Idempotency-Key": "ev-1"}) as http:
            replay = http.post("/v1/events", json=event)
        assert replay.status_code == 410 and EMAIL not in replay.text


def test_the_dashboard_and_mcp_timelines_show_the_values_until_they_are_erased(
        any_acc: Accord) -> None:
    from accord.protocols._actions import timeline as mcp_timeline
    from accord.web._read import timeline as web_timeline

    personal_history(any_acc, "c1")
    web = {e.kind: e.body for e in web_timeline(any_acc, "c1")}
    mcp = {e["kind"]: e["body"] for e in mcp_timeline(any_acc, "churn-guard", "c1")}
    assert web["event"]["data"]["email"] == EMAIL == mcp["context"]["changes"]["email"]
    any_acc.erase_customer("c1", by="dpo")
    web = {e.kind: e.body for e in web_timeline(any_acc, "c1")}
    assert web["event"]["data"]["erased"] is True


def test_personal_values_altered_or_dropped_beside_the_chain_are_caught_by_verify(
        any_acc: Accord) -> None:
    personal_history(any_acc, "c1")
    personal_history(any_acc, "c2", "grace@example.org", "+1 202 555 0143")
    with any_acc.store.lock("c1") as tx:
        tx.execute("UPDATE personal SET value = replace(value, 'ada', 'eve') "
                   "WHERE customer = 'c1'")
    with any_acc.store.lock("c2") as tx:
        tx.execute("DELETE FROM personal WHERE customer = 'c2'")
    problems = any_acc.verify_ledger().problems
    assert sum("altered beside the chain" in p for p in problems) == 2, problems
    assert sum("removed without a recorded erasure" in p for p in problems) == 2, problems
    any_acc.erase_customer("c1", by="dpo")
    any_acc.erase_customer("c2", by="dpo")
    assert any_acc.verify_ledger().ok
    any_acc.record_event("c1", "login", data={"email": "new@example.org"})
    with any_acc.store.lock("c1") as tx:  # values written after the erasure are owed again
        tx.execute("DELETE FROM personal WHERE customer = 'c1'")
    assert [p for p in any_acc.verify_ledger().problems if "without a recorded erasure" in p]
