"""Signed checkpoints catch what the in-database chain heads cannot: an attacker with write
access who recomputes every hash and head. Each scenario runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Accord
from accord._errors import LedgerMismatch
from accord.cli import main
from accord.ledger import GENESIS, entry_hash
from accord.ledger._checkpoint import Checkpoint, new_key, private_key, public_key
from tests.conftest import EXAMPLE_POLICY, wait_until

CHAINS = ("c1", "c2", "c3")


def fill(acc: Accord, rounds: int = 4) -> None:
    for n in range(rounds):
        for c in CHAINS:
            acc.record_event(c, "login", data={"n": n})


def chain(acc: Accord, name: str) -> list[dict[str, Any]]:
    with acc.store.read() as tx:
        return tx.rows("SELECT * FROM ledger WHERE chain = ? ORDER BY chain_seq", (name,))


def rechain(acc: Accord, name: str, rows: list[dict[str, Any]]) -> None:
    """What a careful attacker does after editing a chain: renumber, relink and rehash every
    entry, then point the customer's head at the new last entry."""
    head, seq = GENESIS, 0
    with acc.store.lock(name) as tx:
        tx.execute("DELETE FROM ledger WHERE chain = ?", (name,))
        for r in rows:
            seq += 1
            digest = entry_hash(head, name, seq, r["kind"], r["at"], r["agent"], r["trace_id"],
                                r["parent_id"], r["ref"], r["body"])
            tx.execute("INSERT INTO ledger (seq, chain, chain_seq, kind, at, customer, agent, "
                       "trace_id, parent_id, ref, body, prev_hash, hash) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (r["seq"], name, seq, r["kind"], r["at"], r["customer"], r["agent"],
                        r["trace_id"], r["parent_id"], r["ref"], r["body"], head, digest))
            head = digest
        tx.execute("UPDATE customers SET chain_seq = ?, chain_head = ? WHERE id = ?",
                   (seq, head, name))


def alter(acc: Accord) -> None:
    """Edit an entry's body and leave the hashes alone."""
    with acc.store.lock("c1") as tx:
        tx.execute("UPDATE ledger SET body = ? WHERE chain = 'c1' AND chain_seq = 2",
                   ('{"forged":true}',))


def rewrite(acc: Accord) -> None:
    rows = chain(acc, "c1")
    rows[1] = {**rows[1], "body": '{"data":{"n":99},"type":"login"}'}
    rechain(acc, "c1", rows)


def delete_tail_and_head(acc: Accord) -> None:
    rechain(acc, "c2", chain(acc, "c2")[:-2])


def truncate(acc: Accord) -> None:
    """Cut every chain back to its first entry, heads included."""
    for c in CHAINS:
        rechain(acc, c, chain(acc, c)[:1])


def reorder(acc: Accord) -> None:
    rows = chain(acc, "c3")
    a, b = rows[1], rows[2]
    rows[1], rows[2] = {**b, "seq": a["seq"]}, {**a, "seq": b["seq"]}
    rechain(acc, "c3", rows)


def forge(acc: Accord) -> None:
    """Insert a well-formed entry with a correct hash (and a free ``seq``) at a chain's start."""
    rows = chain(acc, "c1")
    fake = {**rows[0], "seq": 0, "kind": "approval",
            "body": '{"reviewer":"person:mallory","verdict":"approved"}'}
    rechain(acc, "c1", [fake, *rows])


SCENARIOS: dict[str, Callable[[Accord], None]] = {
    "alter": alter, "rewrite": rewrite, "delete": delete_tail_and_head, "truncate": truncate,
    "reorder": reorder, "forge": forge}


@pytest.fixture
def keys() -> tuple[Any, Any]:
    private, public = new_key()
    return private_key(private), public_key(public)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_tampering_is_caught_against_a_signed_checkpoint(
        any_acc: Accord, keys: tuple[Any, Any], scenario: str) -> None:
    signer, verifier = keys
    fill(any_acc)
    cp = any_acc.checkpoint(signer)
    fill(any_acc, rounds=1)  # the ledger grows past the checkpoint: still consistent
    assert any_acc.verify_ledger(checkpoint=cp, key=verifier).ok
    SCENARIOS[scenario](any_acc)
    report = any_acc.verify_ledger(checkpoint=cp, key=verifier)
    assert not report.ok
    assert any("checkpoint" in p or "altered" in p for p in report.problems), report.problems


@pytest.mark.parametrize("scenario", ["rewrite", "delete", "truncate", "reorder", "forge"])
def test_recomputed_hashes_pass_the_chain_check_alone(any_acc: Accord, scenario: str) -> None:
    """Why checkpoints exist: without one, these tamperings are invisible."""
    fill(any_acc)
    SCENARIOS[scenario](any_acc)
    assert any_acc.verify_ledger().ok


def test_a_forged_or_edited_checkpoint_is_refused(any_acc: Accord,
                                                  keys: tuple[Any, Any]) -> None:
    signer, verifier = keys
    fill(any_acc)
    cp = any_acc.checkpoint(signer)
    other = private_key(new_key()[0])
    forged = any_acc.checkpoint(other)
    assert any("not by the given key" in p
               for p in any_acc.verify_ledger(checkpoint=forged, key=verifier).problems)
    edited = Checkpoint(cp.at, cp.size, {**cp.heads, "c1": (1, "f" * 64)}, cp.root, cp.key_id,
                        cp.signature)
    assert any("do not match its signed root" in p
               for p in any_acc.verify_ledger(checkpoint=edited, key=verifier).problems)
    resigned = Checkpoint("2030-01-01T00:00:00+00:00", cp.size, cp.heads, cp.root, cp.key_id,
                          cp.signature)
    assert any("signature does not verify" in p
               for p in any_acc.verify_ledger(checkpoint=resigned, key=verifier).problems)


def test_a_ledger_that_does_not_verify_is_not_signed(any_acc: Accord,
                                                     keys: tuple[Any, Any]) -> None:
    fill(any_acc)
    alter(any_acc)
    with pytest.raises(LedgerMismatch) as err:
        any_acc.checkpoint(keys[0])
    assert err.value.hint and "refusing to sign" in err.value.message


def test_a_forged_decision_row_is_refused_not_served(any_acc: Accord) -> None:
    d = any_acc.propose("churn-guard", "c1", channel="email", intent="retain")
    assert any_acc.decision(d.id) == d
    flipped = "stop" if d.outcome.value != "stop" else "go"
    with any_acc.store.lock("c1") as tx:
        tx.execute("UPDATE decisions SET body = replace(body, ?, ?), outcome = ? WHERE id = ?",
                   (f'"outcome":"{d.outcome.value}"', f'"outcome":"{flipped}"', flipped, d.id))
    with pytest.raises(LedgerMismatch) as err:
        any_acc.decision(d.id)
    assert err.value.where == "decision_id" and "differs from ledger entry" in err.value.message


def test_a_corrupt_decision_row_is_a_ledger_mismatch_not_a_client_error(
        any_acc: Accord) -> None:
    d = any_acc.propose("churn-guard", "c1", channel="email", intent="retain")
    with any_acc.store.lock("c1") as tx:
        tx.execute("UPDATE decisions SET body = '{}' WHERE id = ?", (d.id,))
    with pytest.raises(LedgerMismatch, match="not a valid decision"):
        any_acc.decision(d.id)


def test_an_approved_decision_is_served_with_the_approval_its_ledger_records(
        any_acc: Accord) -> None:
    any_acc.record_event("c9", "stage_changed", data={"stage": "renewal"})
    flagged = any_acc.propose("upsell", "c9", channel="email", intent="upsell")
    assert flagged.outcome.value == "flag", "a renewal is churn-guard's; upsell needs a human"
    any_acc.approve(flagged.id, reviewer="person:alice")
    assert any_acc.decision(flagged.id).approval == "approved"
    with any_acc.store.lock("c9") as tx:
        tx.execute("UPDATE decisions SET body = replace(body, '\"approved\"', '\"rejected\"') "
                   "WHERE id = ?", (flagged.id,))
    with pytest.raises(LedgerMismatch):
        any_acc.decision(flagged.id)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(1, 4), body=st.dictionaries(st.text(max_size=5), st.integers()))
def test_any_rewritten_checkpointed_entry_is_caught(
        tmp_path: Path, keys: tuple[Any, Any], position: int, body: dict[str, int]) -> None:
    signer, verifier = keys
    acc = Accord.open(tmp_path / f"h{position}-{abs(hash(str(body)))}.db", policy=EXAMPLE_POLICY)
    try:
        fill(acc)
        cp = acc.checkpoint(signer)
        rows = chain(acc, "c2")
        import json

        rows[position - 1] = {**rows[position - 1], "body": json.dumps(body)}
        changed = rows != chain(acc, "c2")
        rechain(acc, "c2", rows)
        assert acc.verify_ledger(checkpoint=cp, key=verifier).ok is not changed
    finally:
        acc.close()


def test_the_cli_writes_a_checkpoint_and_verifies_against_it(tmp_path: Path) -> None:
    db, key, out = str(tmp_path / "a.db"), str(tmp_path / "k.pem"), str(tmp_path / "cp.json")
    acc = Accord.open(db, policy=EXAMPLE_POLICY)
    fill(acc)
    run = CliRunner().invoke
    base = ["--db", db, "--policy", str(EXAMPLE_POLICY)]
    assert run(main, ["ledger", "keygen", "--out", key]).exit_code == 0
    assert Path(key).stat().st_mode & 0o777 == 0o600
    made = run(main, ["ledger", "checkpoint", *base, "--key", key, "--out", out])
    assert made.exit_code == 0, made.output
    ok = run(main, ["ledger", "verify", *base, "--checkpoint", out, "--key", key + ".pub"])
    assert ok.exit_code == 0 and "consistent with the checkpoint" in ok.output, ok.output
    delete_tail_and_head(acc)
    acc.close()
    bad = run(main, ["ledger", "verify", *base, "--checkpoint", out, "--key", key + ".pub"])
    assert bad.exit_code == 1 and "chain c2" in bad.output, bad.output
    alone = run(main, ["ledger", "verify", *base, "--checkpoint", out])
    assert alone.exit_code == 2 and "--checkpoint and --key go together" in alone.output
    junk = Path(tmp_path / "junk.json")
    junk.write_text("{}")
    refused = run(main, ["ledger", "verify", *base, "--checkpoint", str(junk), "--key", key])
    assert refused.exit_code == 2 and "--checkpoint" in refused.output, refused.output


def test_scheduled_checkpoints_are_written_whole_and_each_verifies(
        any_acc: Accord, keys: tuple[Any, Any], tmp_path: Path) -> None:
    from accord.ledger._checkpoint import Scheduled

    signer, verifier = keys
    fill(any_acc)
    every = Scheduled(any_acc, signer, tmp_path / "cps", every=0.01).start()
    try:
        wait_until(lambda: len(every.written) >= 3, what="three scheduled checkpoints")
    finally:
        every.stop()
    files = sorted((tmp_path / "cps").iterdir())
    assert files and all(f.suffix == ".json" for f in files)
    for f in files:
        cp = Checkpoint.from_json(f.read_text())
        assert any_acc.verify_ledger(checkpoint=cp, key=verifier).ok


def test_accord_serve_writes_checkpoints_where_the_operator_chose(tmp_path: Path) -> None:
    db, key, out = tmp_path / "a.db", tmp_path / "k.pem", tmp_path / "offsite"
    acc = Accord.open(db, policy=EXAMPLE_POLICY)
    fill(acc)
    acc.close()
    assert CliRunner().invoke(main, ["ledger", "keygen", "--out", str(key)]).exit_code == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from accord.cli import main; main()", "serve", "--db", str(db),
         "--policy", str(EXAMPLE_POLICY), "--port", "0", "--checkpoint-key", str(key),
         "--checkpoint-dir", str(out)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        written = wait_until(lambda: list(out.glob("checkpoint-*.json")),
                             what="accord serve to write a checkpoint")
    finally:
        proc.terminate()
        proc.communicate()
    cp = Checkpoint.from_json(written[0].read_text())
    assert cp.size == 4 * len(CHAINS)
