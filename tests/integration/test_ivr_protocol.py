"""The phone webhooks' protocol: the provider's signature, base64 bodies, the call's state in the URL."""

from __future__ import annotations

import base64
import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from tests.phone_driver import TOKEN, PhoneCall, _Context, handler_transport, use_phone_settings

EVENTS = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture
def ivr(demo: dict[str, Any], clock_at: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ivr_handler's lambda_handler, with the demo seeded and the clock at NOW."""
    use_phone_settings(monkeypatch)
    from functions.ivr_handler import app

    return app.lambda_handler


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def form_of(event: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(base64.b64decode(event["body"]).decode()))


def with_form(event: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["body"] = base64.b64encode(urlencode(form).encode()).decode()
    return changed


def items(table: Any) -> list[dict[str, Any]]:
    return table.scan()["Items"]


def twiml(answer: dict[str, Any]) -> ET.Element:
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["Content-Type"].startswith("text/xml")
    return ET.fromstring(answer["body"])  # noqa: S314 - our own handler's answer, in a test


def test_ivr_protocol_stored_sample_events_are_answered_with_twiml(ivr: Any) -> None:
    # Given the provider's requests as API Gateway delivers them (form-encoded, base64, signed)
    for name, expected in (
        ("twilio_keypad_call", "Введіть номер вашого особового рахунку"),
        ("twilio_keypad_digits", "Ви ввели особовий рахунок: сім сім сім сім сім."),
        ("twilio_voice_speech", "Ви назвали особовий рахунок: сім сім сім сім сім."),
    ):
        event = sample(name)
        assert event["isBase64Encoded"] is True and event["headers"]["x-twilio-signature"]
        # When the handler gets each
        root = twiml(ivr(event, _Context()))
        # Then it answers TwiML: a Gather whose Say holds the expected words, then a Redirect
        gather = root.find("Gather")
        assert gather is not None and expected in " ".join(gather.itertext()), name
        assert root[-1].tag == "Redirect" and root[-1].text == gather.get("action")
        assert gather.get("action", "").startswith(f"https://cabinet.example.test{event['rawPath']}?s=")


def test_ivr_protocol_a_bad_signature_is_refused_with_403_and_writes_nothing(ivr: Any, table: Any) -> None:
    event = sample("twilio_keypad_digits")
    # Given the account read-back step, answered "1" (which would read the account and count attempts)
    state = dict(parse_qsl(event["rawQueryString"]))["s"]
    call = PhoneCall(handler_transport(ivr), "keypad", sid=form_of(event)["CallSid"])
    before = items(table)
    form = {**form_of(event), "Digits": "1"}
    url = f"https://cabinet.example.test/ivr/keypad?s={state}"
    cases = {
        "no signature": {},
        "another token": {
            "x-twilio-signature": RequestValidator("another-token").compute_signature(url, form)
        },
        "signed for other digits": {"x-twilio-signature": call.sign(url, {**form, "Digits": "2"})},
        "signed for another host": {"x-twilio-signature": call.sign(url.replace("cabinet", "evil"), form)},
        "signed for another path": {"x-twilio-signature": call.sign(url.replace("keypad", "voice"), form)},
    }
    for name, headers in cases.items():
        changed = with_form(event, form)
        changed["headers"] = {
            k: v for k, v in event["headers"].items() if k != "x-twilio-signature"
        } | headers
        # When the handler gets it
        answer = ivr(changed, _Context())
        # Then it refuses, says nothing, and nothing is stored
        assert answer["statusCode"] == 403, name
        assert answer["body"] == ""
    assert items(table) == before


def test_ivr_protocol_the_signature_covers_the_state_in_the_query(ivr: Any) -> None:
    event = sample("twilio_keypad_digits")
    # Given a request whose state was swapped for another, signed, state of the same call
    forged = copy.deepcopy(event)
    forged["rawQueryString"] = "s=" + "A" * 40
    # Then the provider's signature no longer matches
    assert ivr(forged, _Context())["statusCode"] == 403


def test_ivr_protocol_a_state_that_fails_its_own_check_starts_the_call_again(ivr: Any) -> None:
    # Given a request the provider signed, but whose state token is not ours (a rotated key, a stale link)
    event = sample("twilio_keypad_digits")
    url = "https://cabinet.example.test/ivr/keypad?s=bm90LW91cnM.AAAAAAAAAAAAAAAAAAAAAA"
    form = form_of(event)
    forged = copy.deepcopy(event)
    parts = urlsplit(url)
    forged["rawQueryString"] = parts.query
    forged["headers"]["x-twilio-signature"] = RequestValidator(TOKEN).compute_signature(url, form)
    # When the handler gets it
    root = twiml(ivr(forged, _Context()))
    # Then the robot apologises and starts from the account number, with a fresh state
    said = " ".join(root.find("Gather").itertext())
    assert said.startswith("Вибачте, сталася помилка. Почнімо спочатку.")
    assert "Введіть номер вашого особового рахунку" in said


def test_ivr_protocol_a_state_of_another_call_is_refused(ivr: Any) -> None:
    # Given a valid state of one call, replayed (signed by the provider) under another call's id
    event = sample("twilio_keypad_digits")
    form = {**form_of(event), "CallSid": "CA" + "1" * 32}
    url = f"https://cabinet.example.test/ivr/keypad?{event['rawQueryString']}"
    changed = with_form(event, form)
    changed["headers"] = {
        **event["headers"],
        "x-twilio-signature": RequestValidator(TOKEN).compute_signature(url, form),
    }
    root = twiml(ivr(changed, _Context()))
    # Then the call starts again rather than reading the other call's account
    assert " ".join(root.find("Gather").itertext()).startswith("Вибачте, сталася помилка.")


def test_ivr_protocol_sha256_signatures_are_accepted_when_announced(ivr: Any) -> None:
    event = sample("twilio_keypad_call")
    url = "https://cabinet.example.test/ivr/keypad"
    signature = RequestValidator(TOKEN).compute_signature(url, form_of(event), "HMAC_SHA256")
    changed = copy.deepcopy(event)
    changed["headers"]["x-twilio-signature"] = signature
    changed["headers"]["x-twilio-webhooks-signature-settings"] = (
        "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    )
    assert ivr(changed, _Context())["statusCode"] == 200
    del changed["headers"]["x-twilio-webhooks-signature-settings"]
    assert ivr(changed, _Context())["statusCode"] == 403


def test_ivr_protocol_plain_text_bodies_are_read_too(ivr: Any) -> None:
    # Given the same request with its body not base64-encoded (a proxy, or another API Gateway setting)
    event = sample("twilio_keypad_call")
    event["body"] = base64.b64decode(event["body"]).decode()
    event["isBase64Encoded"] = False
    assert twiml(ivr(event, _Context())).find("Gather") is not None


def test_ivr_protocol_unreadable_bodies_and_unknown_routes(ivr: Any) -> None:
    event = sample("twilio_keypad_call")
    broken = copy.deepcopy(event)
    broken["body"] = "%%% not base64 %%%"
    assert ivr(broken, _Context())["statusCode"] == 400
    huge = with_form(event, {**form_of(event), "Padding": "x" * 40_000})
    assert ivr(huge, _Context())["statusCode"] == 400
    other = copy.deepcopy(event)
    other["routeKey"] = "POST /ivr/other"
    assert ivr(other, _Context())["statusCode"] == 404


def test_ivr_protocol_a_request_without_call_id_is_refused(ivr: Any) -> None:
    event = sample("twilio_keypad_call")
    form = {k: v for k, v in form_of(event).items() if k != "CallSid"}
    url = "https://cabinet.example.test/ivr/keypad"
    changed = with_form(event, form)
    changed["headers"] = {
        **event["headers"],
        "x-twilio-signature": RequestValidator(TOKEN).compute_signature(url, form),
    }
    assert ivr(changed, _Context())["statusCode"] == 400


def test_ivr_protocol_every_answer_is_well_inside_the_providers_limits(ivr: Any) -> None:
    # Given a whole call's answers
    call = PhoneCall(handler_transport(ivr), "keypad")
    call.dial()
    call.press("77777#")
    call.press("1")
    # Then each action URL stays short (state in the query) and each Say speaks Ukrainian slowly
    assert call.gather is not None
    assert len(call.gather.get("action", "")) < 400
    say = call.gather.find("Say")
    assert (
        say is not None and say.get("language") == "uk-UA" and say.get("voice", "").startswith("Google.uk-UA")
    )
    assert say.find("prosody") is not None and say.find("prosody").get("rate") == "90%"
