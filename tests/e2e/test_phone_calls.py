"""Calls to both phone lines over real HTTP against the local stack, then the readings in the web API.

The driver (tests/phone_driver.py) behaves like the provider: it posts form-encoded webhooks signed with
the stack's token to the stack's public URL, follows the TwiML, and records what the robot said.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
import requests

from tests.e2e.test_http_flow import Resident
from tests.phone_driver import PhoneCall, http_transport

pytestmark = pytest.mark.e2e

# local.run's choice when the shell sets none (the e2e stack inherits the shell's value if there is one).
LOCAL_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN") or "local-twilio-auth-token"


def phone_call(stack_url: str, line: str, caller: str) -> PhoneCall:
    return PhoneCall(http_transport(), line, caller=caller, base_url=stack_url, token=LOCAL_TOKEN)


def cabinet(stack_url: str) -> Resident:
    resident = Resident(stack_url)
    signed = resident.call("POST", "/api/auth/signin", {"email": "demo@example.com", "password": "demo12345"})
    assert signed.status_code == 200, signed.text
    return resident


def meters(resident: Resident) -> dict[str, dict]:
    return {m["id"]: m for m in resident.call("GET", "/api/accounts/77777").json()["meters"]}


def test_phone_calls_keypad_and_voice_over_http_reach_the_cabinet(stack_url: str) -> None:
    resident = cabinet(stack_url)
    before = meters(resident)
    gas = Decimal(before["77777.2"]["previous"]["value"]) + Decimal("3.25")
    water = Decimal(before["77777.3"]["previous"]["value"]) + Decimal("1.75")
    # Given a caller on the keypad line
    keypad = phone_call(stack_url, "keypad", "+380671231357")
    keypad.dial()
    keypad.press("77777#")
    keypad.press("1")
    keypad.press("2")
    # When they key the gas reading and confirm it
    keypad.press(f"{gas:f}".replace(".", "*") + "#")
    assert keypad.heard.startswith("Ви ввели:")
    keypad.press("1")
    assert "збережено" in keypad.heard
    # And the provider sends the confirmation again (our answer was lost)
    keypad.retry()
    assert "збережено" in keypad.heard
    keypad.press("2")
    assert keypad.ended
    # And a caller on the voice line says the cold water reading
    voice = phone_call(stack_url, "voice", "+380536223351")
    voice.dial()
    voice.say("сім сім сім сім сім")
    voice.say("так")
    voice.say("холодна вода")
    whole, fraction = f"{water:f}".split(".")
    voice.say(f"{whole},{fraction.rstrip('0')}")  # recognisers write numbers in figures, decimal comma
    assert voice.heard.startswith("Ви назвали:")
    voice.say("так")
    assert "збережено" in voice.heard
    voice.say("ні")
    # Then the cabinet shows both, each with its phone source, and the gas reading once in its history
    after = meters(resident)
    assert Decimal(after["77777.2"]["current"]["value"]) == gas
    assert after["77777.2"]["current"]["channel"] == "ivr"
    assert after["77777.2"]["current"]["source_label"].startswith("Дані внесено з телефону ")
    assert Decimal(after["77777.3"]["current"]["value"]) == water
    assert after["77777.3"]["current"]["channel"] == "voice"
    assert after["77777.3"]["current"]["source_label"].startswith("Дані внесено з телефону ")
    history = resident.call("GET", "/api/accounts/77777/meters/77777.2/history").json()["submissions"]
    phone_gas = [s for s in history if s["channel"] == "ivr" and Decimal(s["value"]) == gas]
    assert len(phone_gas) == 1


def test_phone_calls_an_unsigned_webhook_is_refused_over_http(stack_url: str) -> None:
    # Given a request to the keypad line that the provider did not sign
    response = requests.post(
        f"{stack_url}/ivr/keypad", data={"CallSid": "CA1", "From": "+380671231357"}, timeout=15
    )
    # Then it is refused
    assert response.status_code == 403
    # And one signed with another token too
    call = PhoneCall(http_transport(), "keypad", base_url=stack_url, token="not-the-token")
    with pytest.raises(AssertionError, match="webhook answered 403"):
        call.dial()
