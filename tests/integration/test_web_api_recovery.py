"""Password recovery through the web API: SES (moto) letters, links that work once and expire, quotas."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.integration.conftest import NOW, Browser

SENDER = "kabinet@example.com"
LINK = re.compile(r"/#/reset/(?P<token>[A-Za-z0-9_-]+)")


def _forget_settings() -> None:
    from ekc.config import clear_settings
    from ekc.mail import get_mailer
    from functions.web_api import app

    clear_settings()
    get_mailer.cache_clear()
    app._page_config.cache_clear()


@pytest.fixture
def outbox(web: Browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[Any]]]:
    """Recovery switched on with a verified SES sender (moto); yields the letters SES accepted."""
    monkeypatch.setenv("MAIL_FROM", SENDER)
    _forget_settings()
    boto3.client("sesv2", region_name="eu-central-1").create_email_identity(EmailIdentity=SENDER)
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    yield lambda: list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].sent_messages)
    monkeypatch.delenv("MAIL_FROM")
    _forget_settings()


def _token(letter: Any) -> str:
    found = LINK.search(letter.body)
    assert found, letter.body
    return found["token"]


def test_recovery_sends_a_link_that_sets_a_new_password_once(
    web: Browser, outbox: Callable[[], list[Any]], table: Any
) -> None:
    # Given the demo resident who forgot the password
    # When recovery is asked for their e-mail
    asked = web.call("POST", "/api/auth/recovery", {"email": " Demo@Example.com "})
    # Then the answer says a letter went out if the address is known, and one letter did, in Ukrainian
    assert asked.status == 202 and "Посилання діє 60 хвилин" in asked.json["message"]
    [letter] = outbox()
    assert letter.destinations["ToAddresses"] == ["demo@example.com"] and letter.source == SENDER
    assert "Відновлення пароля" in letter.subject and "діє 60 хвилин" in letter.body
    token = _token(letter)
    # And only a hash of the link's token is stored
    assert not [i for i in table.scan()["Items"] if token in str(i)]
    # When the link is used with a new password
    changed = web.call("POST", "/api/auth/reset", {"token": token, "password": "new-secret-42"})
    # Then the password is changed: the new one signs in, the old one does not
    assert changed.status == 200 and changed.json == {
        "email": "demo@example.com",
        "message": "Пароль змінено.",
    }
    assert (
        web.call("POST", "/api/auth/signin", {"email": "demo@example.com", "password": "demo12345"}).status
        == 401
    )
    web.sign_in(password="new-secret-42")
    # And the link does not work twice
    again = web.call("POST", "/api/auth/reset", {"token": token, "password": "another-one-43"})
    assert again.status == 401 and again.json["error"]["code"] == "recovery_link"


def test_recovery_answers_the_same_for_an_unknown_email_and_sends_nothing(
    web: Browser, outbox: Callable[[], list[Any]]
) -> None:
    known = web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"})
    unknown = web.call("POST", "/api/auth/recovery", {"email": "nobody@example.com"})
    assert known.status == unknown.status == 202 and known.json == unknown.json
    assert [m.destinations["ToAddresses"] for m in outbox()] == [["demo@example.com"]]


def test_recovery_link_expires(web: Browser, outbox: Callable[[], list[Any]], clock_at: Any) -> None:
    # Given a link sent at NOW
    web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"})
    token = _token(outbox()[0])
    # When it is opened an hour later
    clock_at(NOW + timedelta(minutes=60))
    late = web.call("POST", "/api/auth/reset", {"token": token, "password": "new-secret-42"})
    # Then it no longer works and the old password still does
    assert late.status == 401 and late.json["error"]["code"] == "recovery_link"
    web.sign_in()


def test_recovery_with_a_short_password_keeps_the_link(web: Browser, outbox: Callable[[], list[Any]]) -> None:
    web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"})
    token = _token(outbox()[0])
    short = web.call("POST", "/api/auth/reset", {"token": token, "password": "short"})
    assert short.status == 400 and short.json["error"]["code"] == "weak_password"
    assert web.call("POST", "/api/auth/reset", {"token": token, "password": "long-enough-1"}).status == 200


def test_recovery_is_limited_per_email_with_a_time_to_come_back(
    web: Browser, outbox: Callable[[], list[Any]]
) -> None:
    # Given three letters asked for one e-mail within the hour (the limit)
    for _ in range(3):
        assert web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"}).status == 202
    # When a fourth is asked for
    fourth = web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"})
    # Then it is refused in Ukrainian with the hour it lifts, and no letter went out
    assert fourth.status == 429 and fourth.json["error"]["code"] == "too_many_recovery"
    assert "Спробуйте знову після 00:00" in fourth.json["error"]["message"]
    assert len(outbox()) == 3


def test_recovery_refuses_made_up_tokens_without_hashing_a_password(web: Browser, outbox: Any) -> None:
    for token in ("x", "A" * 43, "z" * 128):
        answer = web.call("POST", "/api/auth/reset", {"token": token, "password": "long-enough-1"})
        assert answer.status == 401 and answer.json["error"]["code"] == "recovery_link"


def test_recovery_is_off_without_a_mail_sender(web: Browser) -> None:
    # Given no SES sender configured
    # Then the page is told not to offer recovery, and the routes say it is unavailable
    assert web.call("GET", "/api/config").json["recovery"] is False
    answer = web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"})
    assert answer.status == 404 and answer.json["error"]["code"] == "recovery_off"


def test_config_offers_recovery_and_the_other_doors(
    web: Browser, outbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given phone lines configured
    monkeypatch.setenv("KEYPAD_PHONE_NUMBER", "+380 53 600 11 22")
    monkeypatch.setenv("VOICE_PHONE_NUMBER", "")
    _forget_settings()
    config = web.call("GET", "/api/config").json
    # Then the page learns them as tap-to-call links, and a line not configured is left out
    assert config["doors"]["keypad"] == {"number": "+380 53 600 11 22", "href": "tel:+380536001122"}
    assert config["doors"]["voice"] is None
    assert config["doors"]["viber"].startswith("viber://pa?chatURI=")
    assert config["recovery"] is True and config["password_min_length"] == 8


# ---- a reset ends the person's other sessions ------------------------------------------------------------


def _session_items(table: Any) -> tuple[list[dict], list[dict]]:
    """(SESSION# items, SESS# pointers in people's partitions) as stored."""
    items = table.scan()["Items"]
    sessions = [i for i in items if i["pk"].startswith("SESSION#")]
    pointers = [i for i in items if i["pk"].startswith("PERSON#") and i["sk"].startswith("SESS#")]
    return sessions, pointers


def test_reset_ends_every_session_signed_in_with_the_old_password(
    web: Browser, outbox: Callable[[], list[Any]], table: Any, demo: dict[str, Any]
) -> None:
    # Given someone who knew the demo resident's password and signed in with it, on two devices
    intruder, laptop = Browser(web.handler), Browser(web.handler)
    intruder.sign_in()
    laptop.sign_in()
    # and a stranger signed in, and a phone on 77777 through the invoice's web QR
    stranger = Browser(web.handler)
    stranger_up = {"email": "stranger@example.com", "password": "stranger-pass"}
    assert stranger.call("POST", "/api/auth/signup", stranger_up).status == 201
    phone = Browser(web.handler)
    qr_token = demo["links"]["web_qr_77777"].rsplit("/", 1)[1]
    assert phone.call("POST", "/api/auth/qr", {"token": qr_token}).status == 200
    sessions, pointers = _session_items(table)
    assert len(sessions) == 4 and len(pointers) == 3  # a QR session has no person, so no pointer
    # When the resident resets the password by e-mail
    assert web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"}).status == 202
    token = _token(outbox()[-1])
    assert web.call("POST", "/api/auth/reset", {"token": token, "password": "new-secret-42"}).status == 200
    # Then the sessions opened with the old password answer 401, for the API as for /api/me
    for old in (intruder, laptop):
        answer = old.call("GET", "/api/accounts/77777")
        assert answer.status == 401 and answer.json["error"]["code"] == "not_signed_in"
        assert old.call("GET", "/api/me").status == 401
    # And the stranger's session and the QR session are untouched
    assert stranger.call("GET", "/api/me").status == 200
    assert phone.call("GET", "/api/accounts/77777").status == 200
    # And only their items are left: the session with its pointer, the QR session alone
    sessions, pointers = _session_items(table)
    assert len(sessions) == 2 and len(pointers) == 1
    # And the new password signs in, to a session that works
    web.sign_in(password="new-secret-42")
    assert web.call("GET", "/api/accounts/77777").status == 200


def test_reset_with_a_used_link_ends_no_session(
    web: Browser, outbox: Callable[[], list[Any]], table: Any
) -> None:
    # Given a reset done, and a session opened with the new password afterwards
    assert web.call("POST", "/api/auth/recovery", {"email": "demo@example.com"}).status == 202
    token = _token(outbox()[-1])
    assert web.call("POST", "/api/auth/reset", {"token": token, "password": "new-secret-42"}).status == 200
    web.sign_in(password="new-secret-42")
    # When the same link is replayed
    again = web.call("POST", "/api/auth/reset", {"token": token, "password": "another-one-43"})
    # Then it is refused and the new session lives on
    assert again.status == 401
    assert web.call("GET", "/api/me").status == 200
