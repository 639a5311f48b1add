"""Suppression audiences: hashed as ad platforms take them, deterministic, with a diff."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from accord import Accord
from accord.cli import main
from accord.delivery import suppression_audience
from tests.conftest import EXAMPLE_POLICY

ADA = "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"  # ada@example.com
ADA_PHONE = "7a8e1bad42416f9a364e27b5494f2499090def39371344dfe39915f3c5dd1a75"  # +15550001111
CY = "c42f5d0033a838d1fd7175a5c0a93acae479330b37bfd307e7fbe62ffae16029"  # cy@example.com
BO = "c828d6b93b6a39e9d9632e863f62e7cc08c9278aa5120a2f0ff84d2449310d26"  # bo@example.com

CONTEXTS = [
    ("ada", {"email": "  Ada@Example.COM ", "phone": "+1 (555) 000-1111",
             "opt_outs": ["social_ad"]}),
    ("bo", {"email": "bo@example.com", "opt_outs": ["sms"]}),           # another channel
    ("cy", {"email": "cy@example.com", "stage": "renewal"}),
    ("di", {"stage": "renewal"}),                                        # nothing to match
    ("ed", {"email": "ed@example.com"}),                                 # not suppressed
]


def test_the_audience_matches_a_hand_built_expectation() -> None:
    export = suppression_audience("social_ad", CONTEXTS)
    assert export.csv() == f"hash,kind\n{ADA_PHONE},phone\n{ADA},email\n{CY},email\n"  # by hash
    assert export.reasons == {"opted_out": 1, "renewal": 1}
    assert export.rows == export.added and export.removed == []


def test_the_audience_is_the_same_whatever_order_customers_come_in() -> None:
    assert (suppression_audience("social_ad", CONTEXTS[::-1]).csv()
            == suppression_audience("social_ad", CONTEXTS).csv())


def test_the_diff_says_what_changed_since_the_previous_export() -> None:
    before = suppression_audience("social_ad", CONTEXTS).rows
    now = [*CONTEXTS[:2], ("cy", {"email": "cy@example.com", "stage": "customer"}),
           ("bo2", {"email": "bo@example.com", "opt_outs": ["all"]})]
    export = suppression_audience("social_ad", now, previous=before)
    assert export.added == [(BO, "email")]
    assert export.removed == [(CY, "email")]


def test_accord_audience_export_writes_the_list_and_the_diff(tmp_path: Path) -> None:
    db = str(tmp_path / "accord.db")
    acc = Accord.open(db, policy=EXAMPLE_POLICY)
    acc.update_context("ada", {"email": "ada@example.com"}, expected_version=0)
    acc.record_event("ada", "opt_out", data={"channel": "all"})
    acc.close()
    out = tmp_path / "aud"
    args = ["audience", "export", "--db", db, "--policy", str(EXAMPLE_POLICY),
            "--channel", "social_ad", "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert (out / "social_ad.csv").read_text() == f"hash,kind\n{ADA},email\n"
    assert (out / "social_ad.added.csv").read_text() == f"hash,kind\n{ADA},email\n"
    again = CliRunner().invoke(main, args)
    assert "+0 −0" in again.output
    assert (out / "social_ad.added.csv").read_text() == "hash,kind\n"
