"""Quiet hours: no message inside the customer's own night; a defer to the next local end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord import gate
from accord._errors import PolicyError
from accord.model import Outcome, Proposal
from accord.policy import Policy

POLICY = """
channels: [email, sms, voice]
agents:
  - {id: reengage, owner: marketing, mandate: {intents: [reactivate, support],
                                              channels: [email, sms, voice]}}
quiet_hours:
  - {id: tcpa-quiet, channels: [sms, voice], start: "21:00", end: "08:00",
     default_tz: America/New_York}
"""

ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


def decide(at: datetime, tz: str | None = None, channel: str = "sms",
           intent: str = "reactivate", text: str = POLICY) -> gate.Verdict:
    p = Proposal(agent="reengage", customer="c1", channel=channel, intent=intent)
    snap = gate.Snapshot("c1", {"tz": tz} if tz else {})
    return gate.evaluate(p, at.timestamp(), snap, Policy.from_text(text, source="q.yaml"))


def test_a_text_at_half_past_nine_in_paris_waits_for_eight_the_next_morning_there() -> None:
    v = decide(datetime(2026, 11, 25, 21, 30, tzinfo=ZoneInfo("Europe/Paris")), "Europe/Paris")
    assert v.outcome is Outcome.DEFER and [r.rule for r in v.reasons] == ["tcpa-quiet"]
    assert v.retry_at == datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    assert "21:30 there" in v.reasons[0].message and "Europe/Paris" in v.reasons[0].message


def test_before_the_end_of_the_night_it_waits_until_the_same_mornings_end() -> None:
    v = decide(datetime(2026, 11, 25, 7, 59, tzinfo=ZoneInfo("Asia/Kolkata")), "Asia/Kolkata")
    assert v.retry_at == datetime(2026, 11, 25, 8, 0, tzinfo=ZoneInfo("Asia/Kolkata")).timestamp()


def test_the_daytime_and_other_channels_and_exempt_intents_go() -> None:
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    night = noon.replace(hour=23)
    assert decide(noon, "Europe/Paris").outcome is Outcome.GO
    assert decide(night, "Europe/Paris", channel="email").outcome is Outcome.GO
    assert decide(night, "Europe/Paris", intent="support").outcome is Outcome.GO


def test_the_night_the_clocks_spring_forward_ends_at_eight_local_time() -> None:
    ny = ZoneInfo("America/New_York")
    v = decide(datetime(2026, 3, 8, 1, 30, tzinfo=ny), "America/New_York")  # EST, before the jump
    assert v.retry_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC).timestamp()  # 08:00 EDT


def test_without_a_usable_tz_the_default_zone_holds_and_the_reason_says_so() -> None:
    at = datetime(2026, 11, 25, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    for tz in (None, "Mars/Olympus_Mons"):
        v = decide(at, tz)
        assert v.outcome is Outcome.DEFER
        assert "America/New_York (default)" in v.reasons[0].message


@pytest.mark.parametrize(("entry", "expected"), [
    ('{start: "25:00", end: "08:00"}', "not a local time"),
    ('{start: "21:00", end: "8"}', "not a local time"),
    ('{start: "21:00", end: "08:00", default_tz: Europe/Atlantis}', "not an IANA time zone"),
    ('{start: "21:00", end: "08:00", channels: [fax]}', "unknown channel 'fax'"),
])
def test_a_bad_quiet_hours_entry_is_refused_at_load_with_what_is_wrong(entry: str,
                                                                       expected: str) -> None:
    text = POLICY.split("quiet_hours:")[0] + f"quiet_hours:\n  - {entry}\n"
    with pytest.raises(PolicyError) as err:
        Policy.from_text(text, source="q.yaml")
    assert expected in str(err.value) and "q.yaml:" in str(err.value)


@settings(max_examples=300, deadline=None)
@given(minutes=st.integers(0, 366 * 24 * 60), zone=st.sampled_from(ZONES))
def test_a_defer_is_given_exactly_inside_the_window_and_its_retry_is_the_windows_end(
        minutes: int, zone: str) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    local = at.astimezone(ZoneInfo(zone))
    inside = local.hour >= 21 or local.hour < 8
    v = decide(at, zone)
    assert (v.outcome is Outcome.DEFER) == inside
    if inside:
        assert v.retry_at is not None and at.timestamp() < v.retry_at
        retry = datetime.fromtimestamp(v.retry_at, ZoneInfo(zone))
        assert (retry.hour, retry.minute) == (8, 0)
        assert v.retry_at - at.timestamp() <= 11 * 3600 + 3600  # at most the night (+ DST)
        assert decide(datetime.fromtimestamp(v.retry_at, UTC), zone).outcome is Outcome.GO
