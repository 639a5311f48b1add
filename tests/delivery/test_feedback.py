"""Bounces, complaints and carrier keywords, parsed without I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord._errors import InvalidInput
from accord.delivery import Feedback, parse_report, sms_keyword
from accord.delivery._config import smtp_from_url

REPORTS = Path(__file__).with_name("reports")


def test_a_dsn_hard_bounce_names_the_recipient_status_and_original_touch() -> None:
    [fb] = parse_report((REPORTS / "hard_bounce.eml").read_bytes())
    assert fb == Feedback("bounce", "gone@example.com", "t_0123456789abcdef", hard=True,
                          status="5.1.1", detail="550 5.1.1 <gone@example.com>: Recipient "
                          "address rejected: User unknown")
    assert fb.event() == ("bounce", {"channel": "email", "hard": True, "status": "5.1.1",
                                     "detail": fb.detail, "touch_id": "t_0123456789abcdef"})


def test_a_transient_failure_is_a_soft_bounce_and_a_delay_is_no_bounce() -> None:
    soft, delayed = parse_report((REPORTS / "soft_bounce.eml").read_bytes())
    assert (soft.kind, soft.hard, soft.recipient) == ("bounce", False, "full@example.com")
    assert soft.touch_id == "t_feedfacefeedface"  # from the attached message/rfc822
    assert (delayed.kind, delayed.recipient) == ("delayed", "slow@example.com")


def test_an_arf_report_is_a_complaint_about_the_original_touch() -> None:
    [fb] = parse_report((REPORTS / "complaint.eml").read_bytes())
    assert (fb.kind, fb.recipient, fb.touch_id, fb.detail) == (
        "complaint", "someone@example.com", "t_aaaabbbbccccdddd", "abuse")


def test_a_message_that_is_no_report_is_refused_with_what_was_expected() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_report(b"From: a@b.c\r\nSubject: hello\r\n\r\nnot a report\r\n")
    assert "text/plain" in str(err.value) and "multipart/report" in (err.value.hint or "")


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", "opt_out"), ("stop", "opt_out"), (" Stop. ", "opt_out"), ("UNSUBSCRIBE", "opt_out"),
    ("end", "opt_out"), ("START", "opt_in"), ("unstop", "opt_in"), ("HELP", "help"),
    ("please stop texting me", None), ("stopping by later", None), ("", None)])
def test_carrier_keywords_are_whole_replies(text: str, expected: str | None) -> None:
    assert sms_keyword(text) == expected


@given(st.sampled_from(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]),
       st.lists(st.booleans(), min_size=11, max_size=11),
       st.sampled_from(["", " ", "\t", "\n  "]), st.sampled_from(["", ".", "!"]))
def test_any_casing_and_spacing_of_an_opt_out_word_opts_out(
        word: str, upper: list[bool], pad: str, end: str) -> None:
    cased = "".join(c.upper() if u else c.lower() for c, u in zip(word, upper, strict=False))
    assert sms_keyword(f"{pad}{cased}{end}{pad}") == "opt_out"


def test_an_smtp_url_becomes_a_sender_that_never_shows_its_password() -> None:
    s = smtp_from_url("smtp://mailer:s3cr%40t@mail.example.com?from=news@example.com")
    assert (s.host, s.port, s.security, s.username, s.password, s.domain) == (
        "mail.example.com", 587, "starttls", "mailer", "s3cr@t", "example.com")
    assert "s3cr" not in repr(s)
    assert smtp_from_url("smtps://h?from=a@b.c").port == 465
    with pytest.raises(InvalidInput) as err:
        smtp_from_url("smtp://user:hunter2@h")
    assert "from=" in str(err.value) and "hunter2" not in str(err.value)


def test_send_rates_come_from_the_environment_and_bad_ones_are_named() -> None:
    from accord.delivery._config import DeliverySettings, parse_rates

    assert parse_rates("smtp=50, twilio=0.5") == {"smtp": 50.0, "twilio": 0.5}
    assert DeliverySettings.from_env({"ACCORD_SEND_RATES": "smtp=5"}).rates == {"smtp": 5.0}
    for bad in ("smtp", "smtp=0", "=3", "smtp=fast"):
        with pytest.raises(InvalidInput) as err:
            parse_rates(bad)
        assert err.value.where == "ACCORD_SEND_RATES"
