"""Whole calls on the voice line: transcripts as recognisers write them, keys at any step, keypad fallback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Browser
from tests.integration.test_ivr_keypad import PERSONAL, history
from tests.phone_driver import VOICE_NUMBER, PhoneCall, handler_transport, use_phone_settings


@pytest.fixture
def ivr(demo: dict[str, Any], clock_at: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ivr_handler's lambda_handler, with the demo seeded and the clock at NOW."""
    use_phone_settings(monkeypatch)
    from functions.ivr_handler import app

    return app.lambda_handler


def voice_call(ivr: Any) -> PhoneCall:
    return PhoneCall(handler_transport(ivr), "voice", caller=VOICE_NUMBER)


def enter_account(call: PhoneCall) -> None:
    call.dial()
    call.say("сім сім сім сім сім")
    call.say("так")


def test_ivr_voice_water_reading_by_speech_is_saved_and_shown_in_the_cabinet(
    ivr: Any, table: Any, web: Browser
) -> None:
    call = voice_call(ivr)
    # Given a caller on the voice line, who says the account digit by digit
    call.dial()
    assert "Назвіть номер вашого особового рахунку по цифрах" in call.heard
    call.say("сім сім сім сім сім", confidence=0.87)
    assert (
        call.heard == "Ви назвали особовий рахунок: сім сім сім сім сім. Правильно? Скажіть «так» або «ні»."
    )
    # When they confirm, the robot asks for a kind by name
    call.say("так")
    assert "Який лічильник? Скажіть «електроенергія», «газ» чи «холодна вода»." in call.heard
    # And they name it the way people do
    call.say("холодну воду")
    assert "Попередній показник: сто п'ять кубічних метрів." in call.heard
    call.say("ну значить сто шість кома п'ять", confidence=0.71)
    assert (
        call.heard == "Ви назвали: сто шість кома п'ять кубічного метра. Правильно? Скажіть «так» або «ні»."
    )
    assert history(table, "77777.3") == []
    call.say("так, правильно")
    assert "Показник сто шість кома п'ять кубічного метра збережено." in call.heard
    call.say("ні, дякую")
    assert call.ended and call.heard.endswith("До побачення.")
    # Then it is stored as a voice-line reading with the landline masked
    (item,) = history(table, "77777.3")
    assert (item["value"], item["channel"], item["phone"]) == ("106.500", "voice", "+38053***0351")
    web.sign_in()
    meters = {m["id"]: m for m in web.call("GET", "/api/accounts/77777").json["meters"]}
    assert meters["77777.3"]["current"]["channel"] == "voice"
    assert meters["77777.3"]["current"]["source_label"].startswith("Дані внесено з телефону ")
    assert not [word for word in PERSONAL if word in call.everything]


def test_ivr_voice_correction_in_one_breath_is_read_back_at_once(ivr: Any, table: Any) -> None:
    call = voice_call(ivr)
    enter_account(call)
    call.say("газ")
    call.say("двісті два")
    # When the caller answers the read-back with "ні" and the right number together
    call.say("ні, двісті три")
    # Then the robot reads the correction back instead of asking again
    assert call.heard == "Ви назвали: двісті три кубічні метри. Правильно? Скажіть «так» або «ні»."
    call.say("так")
    assert [i["value"] for i in history(table, "77777.2")] == ["203.000"]
    # And "another meter?" may be answered with the meter itself
    call.say("а тепер світло")
    assert call.heard.startswith("Попередній показник: шість тисяч сто шістнадцять кіловат-годин.")


def test_ivr_voice_garbled_transcripts_offer_the_keypad_after_two_tries(ivr: Any, table: Any) -> None:
    call = voice_call(ivr)
    enter_account(call)
    call.say("світло")
    # When the recogniser twice returns something that is not a clear number
    call.say("двісті пядесят е-е шість", confidence=0.31)
    assert call.heard.startswith(
        "Вибачте, не вдалося розібрати число. Назвіть його ще раз, повільно і чітко."
    )
    assert call.gather is not None and call.gather.get("input") == "speech dtmf"
    call.say("приблизно шість тисяч двісті")
    # Then the second time the robot says why, and offers the keypad, now taking keys only
    assert call.heard.startswith("Назвіть, будь ласка, точні цифри з лічильника.")
    assert "Будь ласка, наберіть число на клавіатурі телефону." in call.heard
    assert "Дробову частину відокремте зірочкою. В кінці натисніть решітку." in call.heard
    assert call.gather is not None and call.gather.get("input") == "dtmf"
    # And the keyed reading is read back with keypad words and saved
    call.press("6201*5#")
    assert call.heard.startswith("Ви ввели: шість тисяч двісті один кома п'ять кіловат-години.")
    call.press("1")
    assert [i["value"] for i in history(table, "77777.1")] == ["6201.500"]
    assert history(table, "77777.1")[0]["channel"] == "voice"


def test_ivr_voice_keys_work_at_any_step(ivr: Any, table: Any) -> None:
    call = voice_call(ivr)
    call.dial()
    call.press("77777#")
    call.press("1")
    call.press("2")
    call.press("204#")
    call.press("1")
    assert "Показник двісті чотири кубічні метри збережено." in call.heard
    assert [i["value"] for i in history(table, "77777.2")] == ["204.000"]


def test_ivr_voice_repeat_request_says_the_prompt_again(ivr: Any) -> None:
    call = voice_call(ivr)
    enter_account(call)
    menu = call.heard
    call.say("повторіть, будь ласка")
    assert call.heard == menu
    call.say("що?")
    assert call.heard == menu


def test_ivr_voice_unclear_answers_are_asked_again_with_the_keys_named(ivr: Any) -> None:
    call = voice_call(ivr)
    call.dial()
    call.say("сім сім сім сім сім")
    # When the caller hedges at a yes/no question
    call.say("мабуть так")
    # Then the robot does not guess
    assert call.heard.startswith("Вибачте, не вдалося розібрати відповідь. Можна також натиснути цифру")
    assert "Ви назвали особовий рахунок: сім сім сім сім сім." in call.heard
    # And an unknown kind of meter is not guessed either
    call.say("так")
    call.say("телевізор")
    assert call.heard.startswith("Вибачте, не вдалося розібрати відповідь.")


def test_ivr_voice_decimals_said_as_litres_and_retried_webhook(ivr: Any, table: Any) -> None:
    call = voice_call(ivr)
    enter_account(call)
    call.say("холодна")
    call.say("сто шість кубів двісті п'ятдесят літрів")
    # The read-back drops trailing zeros: 106.250 is "сто шість кома двадцять п'ять"
    assert call.heard.startswith("Ви назвали: сто шість кома двадцять п'ять кубічного метра.")
    call.say("так")
    call.retry()
    assert "збережено" in call.heard
    assert [i["value"] for i in history(table, "77777.3")] == ["106.250"]
