"""The phone's words and TwiML (`ekc.channels.phone`): every phrase in both modes, gathers, signed state."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ekc.channels import phone
from ekc.channels.phone import Mode, Pause
from ekc.domain.kinds import MeterKind
from ekc.domain.values import WarningCode
from ekc.exceptions import BadToken
from ekc.services.calls import CallState, Expect, Line, Phrase, Said, Step, Turn
from ekc.services.readings import Question
from tests.phone_driver import use_phone_settings

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
OPENS = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # 29 November, midnight in Kyiv
SECRET = "state-secret"
QUESTION = Question(Decimal(900), "implausible_high", Decimal("795"), Decimal("9.9"), 1, None)

SAMPLES: dict[Phrase, dict[str, Any]] = {
    Phrase.ACCOUNT_READBACK: {"digits": "77777"},
    Phrase.ACCOUNT_NOT_FOUND: {"digits": "12345"},
    Phrase.ACCOUNT_LOCKED: {"until": datetime(2026, 11, 24, 12, 30, tzinfo=UTC)},
    Phrase.KIND_MENU: {"options": ((1, MeterKind.ELECTRICITY), (2, MeterKind.GAS))},
    Phrase.KIND_CLOSED: {"kind": MeterKind.HOT_WATER, "opens_at": OPENS},
    Phrase.METER_MENU: {"kind": MeterKind.COLD_WATER, "options": ((1, "кухня", "7254663"), (2, "", None))},
    Phrase.METER_INTRO: {"kind": MeterKind.COLD_WATER, "note": "кухня"},
    Phrase.PREVIOUS: {"value": Decimal(201), "unit": "m3"},
    Phrase.CURRENT: {"value": Decimal("6116"), "unit": "kWh"},
    Phrase.READING_READBACK: {"value": Decimal("201.5"), "unit": "m3"},
    Phrase.VALUE_REFUSED: {"code": "value_too_many_decimals"},
    Phrase.SPEECH_REFUSED: {"reason": "uncertain"},
    Phrase.SAVED: {"value": Decimal("6116"), "unit": "kWh"},
    Phrase.WARNING: {
        "code": WarningCode.LOWER_THAN_PREVIOUS,
        "numbers": {"previous": Decimal(201)},
        "unit": "m3",
    },
    Phrase.QUESTION: {"question": QUESTION, "unit": "m3"},
    Phrase.SUPERSEDED: {"value": Decimal(204), "unit": "m3"},
    Phrase.TOO_MANY_TODAY: {"limit": 20},
    Phrase.NOT_SAVED: {"code": "outcome_unknown"},
}


@pytest.fixture(autouse=True)
def phone_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    use_phone_settings(monkeypatch)


def said(phrase: Phrase, mode: Mode = Mode.KEYS) -> str:
    return phone.text_of(phone.words(Said(phrase, SAMPLES.get(phrase, {})), mode))


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("phrase", list(Phrase))
def test_phone_words_every_phrase_is_ukrainian_in_both_modes(phrase: Phrase, mode: Mode) -> None:
    text = said(phrase, mode)
    # Every phrase says something, in Cyrillic, ending a sentence, with no Latin word or stray brace
    assert text and re.search(r"[а-яіїєґ]", text)
    assert not re.search(r"[A-Za-z{}]", text), text
    assert text.rstrip()[-1] in ".?!", text


def test_phone_words_keys_and_speech_ask_differently() -> None:
    assert said(Phrase.READING_READBACK, Mode.KEYS).endswith(
        "Якщо правильно, натисніть 1. Щоб ввести знову, натисніть 2."
    )
    assert said(Phrase.READING_READBACK, Mode.SPEECH).endswith("Правильно? Скажіть «так» або «ні».")
    assert (
        said(Phrase.KIND_MENU, Mode.KEYS)
        == "Оберіть лічильник. Електроенергія — натисніть 1. Газ — натисніть 2."
    )
    assert said(Phrase.KIND_MENU, Mode.SPEECH) == "Який лічильник? Скажіть «електроенергія» чи «газ»."


def test_phone_words_numbers_in_words_with_units_that_agree() -> None:
    assert said(Phrase.PREVIOUS) == "Попередній показник: двісті один кубічний метр."
    assert said(Phrase.SAVED) == "Показник шість тисяч сто шістнадцять кіловат-годин збережено."
    assert said(Phrase.READING_READBACK).startswith("Ви ввели: двісті один кома п'ять кубічного метра.")
    assert said(Phrase.TOO_MANY_TODAY).startswith(
        "Показник цього лічильника сьогодні вже змінювали двадцять разів."
    )


def test_phone_words_dates_and_times_are_said_in_kyiv() -> None:
    assert said(Phrase.KIND_CLOSED) == (
        "Прийом показників гарячої води зараз закрито. Він відкриється двадцять дев'ятого листопада."
    )
    # 12:30 UTC is 14:30 in Kyiv
    assert said(Phrase.ACCOUNT_LOCKED).endswith(
        "Наступну спробу можна зробити о чотирнадцятій годині тридцять хвилин."
    )


def test_phone_words_question_reads_the_use_against_the_usual_one() -> None:
    assert said(Phrase.QUESTION) == (
        "Показник: дев'ятсот кубічних метрів. "
        "Витрата за ним становить сімсот дев'яносто п'ять кубічних метрів, "
        "а звичайна витрата за цей час — дев'ять кома дев'ять кубічного метра. "
        "Якщо показник правильний, натисніть 1. Щоб ввести його знову, натисніть 2."
    )
    two_months = replace(QUESTION, months=2, usual=None)
    text = phone.text_of(
        phone.words(Said(Phrase.QUESTION, {"question": two_months, "unit": "m3"}), Mode.KEYS)
    )
    assert "становить сімсот дев'яносто п'ять кубічних метрів за два місяці: це незвично багато." in text
    digits = Question(Decimal(123456), "more_digits_than_dial", None, None, 1, 5)
    text = phone.text_of(phone.words(Said(Phrase.QUESTION, {"question": digits, "unit": "m3"}), Mode.KEYS))
    assert "більше цифр до коми, ніж у цього лічильника за нашими даними: у нього п'ять цифр." in text


def test_phone_words_meters_without_notes_are_named_by_serial_or_place() -> None:
    assert said(Phrase.METER_MENU) == (
        "У вас кілька лічильників холодної води. Кухня — натисніть 1. Другий лічильник — натисніть 2."
    )


def test_phone_words_account_digits_have_pauses_between_them() -> None:
    segments = phone.words(Said(Phrase.ACCOUNT_READBACK, {"digits": "705"}), Mode.KEYS)
    digits = segments[2:7]
    assert digits == ["сім", Pause(phone.DIGIT_PAUSE), "нуль", Pause(phone.DIGIT_PAUSE), "п'ять."]


def test_phone_words_warnings_are_spoken_with_their_numbers() -> None:
    assert said(Phrase.WARNING).startswith(
        "Увага: цей показник менший за попередній, двісті один кубічний метр."
    )
    rollover = Said(
        Phrase.WARNING, {"code": WarningCode.ROLLOVER, "numbers": {"consumption": Decimal(12)}, "unit": "m3"}
    )
    assert "Витрату пораховано як дванадцять кубічних метрів." in phone.text_of(
        phone.words(rollover, Mode.KEYS)
    )
    opening = Said(Phrase.WARNING, {"code": WarningCode.OPENING, "numbers": {}, "unit": "m3"})
    assert phone.words(opening, Mode.KEYS) == []


# ---- TwiML ------------------------------------------------------------------------------------------------


def xml(body: str) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - our own renderer's output


def turn(step: Step, expect: Expect | None, *phrases: Phrase, keys_only: bool = False) -> Turn:
    state = None if expect is None else CallState(step=step, keys_only=keys_only)
    return Turn(tuple(Said(p, SAMPLES.get(p, {})) for p in phrases), state, expect)


def test_phone_twiml_keypad_number_waits_for_hash_then_redirects_on_silence() -> None:
    root = xml(
        phone.render(
            turn(Step.READING, Expect.NUMBER, Phrase.PREVIOUS, Phrase.ASK_READING),
            Line.KEYPAD,
            "https://x/ivr/keypad?s=t",
        )
    )
    gather, redirect = root[0], root[1]
    assert (
        gather.tag == "Gather" and redirect.tag == "Redirect" and redirect.text == "https://x/ivr/keypad?s=t"
    )
    assert gather.attrib == {
        "action": "https://x/ivr/keypad?s=t",
        "actionOnEmptyResult": "false",
        "finishOnKey": "#",
        "input": "dtmf",
        "method": "POST",
        "timeout": str(phone.NUMBER_TIMEOUT),
    }
    say = gather.find("Say")
    assert say is not None and say.attrib == {"language": "uk-UA", "voice": "Google.uk-UA-Standard-A"}
    prosody = say.find("prosody")
    assert prosody is not None and prosody.get("rate") == "90%"
    assert [b.get("time") for b in prosody.iter("break")] == ["500ms"]


def test_phone_twiml_menus_take_one_key() -> None:
    root = xml(phone.render(turn(Step.KIND, Expect.CHOICE, Phrase.KIND_MENU), Line.KEYPAD, "https://x/a"))
    assert root[0].get("numDigits") == "1" and root[0].get("finishOnKey") is None


def test_phone_twiml_voice_line_listens_in_ukrainian_with_hints() -> None:
    number = xml(
        phone.render(turn(Step.READING, Expect.NUMBER, Phrase.ASK_READING), Line.VOICE, "https://x/v")
    )[0]
    assert number.get("input") == "speech dtmf" and number.get("language") == "uk-UA"
    assert number.get("speechTimeout") == str(phone.NUMBER_SPEECH_TIMEOUT) and "кома" in number.get(
        "hints", ""
    )
    menu = xml(phone.render(turn(Step.KIND, Expect.CHOICE, Phrase.KIND_MENU), Line.VOICE, "https://x/v"))[0]
    assert (
        menu.get("speechTimeout") == "auto" and menu.get("hints") == "електроенергія, світло, газ, повторіть"
    )
    meters = xml(phone.render(turn(Step.METER, Expect.CHOICE, Phrase.METER_MENU), Line.VOICE, "https://x/v"))[
        0
    ]
    assert meters.get("hints") == "кухня, перший, другий, повторіть"
    # A voice call switched to the keypad takes keys only
    keys = xml(
        phone.render(turn(Step.READING, Expect.NUMBER, Phrase.ASK_READING, keys_only=True), Line.VOICE, "u")
    )[0]
    assert keys.get("input") == "dtmf" and keys.get("language") is None


def test_phone_twiml_the_end_of_a_call_says_goodbye_and_hangs_up() -> None:
    root = xml(phone.render(turn(Step.NEXT, None, Phrase.GOODBYE), Line.KEYPAD, None))
    assert [v.tag for v in root] == ["Say", "Hangup"]
    assert "".join(root[0].itertext()) == "Дякуємо за дзвінок! До побачення."


def test_phone_twiml_greeting_waits_a_second_for_the_line() -> None:
    root = xml(
        phone.render(
            Turn((Said(Phrase.GREETING), Said(Phrase.ASK_ACCOUNT)), CallState(), Expect.NUMBER),
            Line.KEYPAD,
            "u",
        )
    )
    assert root[0].tag == "Pause" and root[0].get("length") == "1"


def test_phone_twiml_account_digits_are_separate_breaks_in_ssml() -> None:
    root = xml(
        phone.render(turn(Step.ACCOUNT_CHECK, Expect.YES_NO, Phrase.ACCOUNT_READBACK), Line.KEYPAD, "u")
    )
    prosody = root.find("Gather/Say/prosody")
    assert prosody is not None
    assert [b.get("time") for b in prosody.iter("break")].count(
        "300ms"
    ) == 5  # after the lead and between 5 digits
    assert prosody.text == "Ви ввели особовий рахунок:"


# ---- the call's state in the URL --------------------------------------------------------------------------


FULL = CallState(
    step=Step.CONFIRM_HIGH,
    turn=12,
    tries=2,
    misheard=1,
    keys_only=True,
    entries=1,
    account="77777",
    kind=MeterKind.COLD_WATER,
    meter_id="77777.3",
    value="900.000",
    question=QUESTION,
    confirmed=True,
)


@pytest.mark.parametrize("state", [CallState(), FULL])
def test_phone_state_round_trips_through_a_short_url_safe_token(state: CallState) -> None:
    token = phone.encode_state(state, "CA1", Line.KEYPAD, SECRET, NOW + timedelta(hours=4))
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token) and len(token) < 300
    assert phone.decode_state(token, "CA1", Line.KEYPAD, SECRET, NOW) == state


def test_phone_state_is_bound_to_its_call_line_secret_and_time() -> None:
    token = phone.encode_state(FULL, "CA1", Line.KEYPAD, SECRET, NOW + timedelta(hours=4))
    body, mac = token.split(".")
    refusals = {
        "another call": lambda: phone.decode_state(token, "CA2", Line.KEYPAD, SECRET, NOW),
        "another line": lambda: phone.decode_state(token, "CA1", Line.VOICE, SECRET, NOW),
        "another secret": lambda: phone.decode_state(token, "CA1", Line.KEYPAD, "other", NOW),
        "expired": lambda: phone.decode_state(token, "CA1", Line.KEYPAD, SECRET, NOW + timedelta(hours=4)),
        "edited body": lambda: phone.decode_state(body[:-2] + "AA." + mac, "CA1", Line.KEYPAD, SECRET, NOW),
        "padded mac": lambda: phone.decode_state(f"{body}.{mac}=", "CA1", Line.KEYPAD, SECRET, NOW),
        "no mac": lambda: phone.decode_state(body, "CA1", Line.KEYPAD, SECRET, NOW),
        "garbage": lambda: phone.decode_state("%%%.%%%", "CA1", Line.KEYPAD, SECRET, NOW),
    }
    for name, decode in refusals.items():
        with pytest.raises(BadToken):
            decode()
            pytest.fail(name)


def test_phone_state_action_url_points_at_the_lines_path() -> None:
    url = phone.action_url("https://api.example", Line.VOICE, FULL, "CA1", NOW)
    assert url.startswith("https://api.example/ivr/voice?s=")
    token = url.split("?s=", 1)[1]
    assert (
        phone.decode_state(token, "CA1", Line.VOICE, phone.state_secret(), NOW + timedelta(hours=3)) == FULL
    )
    with pytest.raises(BadToken):
        phone.decode_state(
            token, "CA1", Line.VOICE, phone.state_secret(), NOW + timedelta(hours=4, seconds=1)
        )
