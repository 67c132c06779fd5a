"""Whole calls on the keypad line: the real ivr_handler, driven like the provider drives it, against moto.

Each test dials the demo (account 77777: electricity 77777.1, gas 77777.2, cold water 77777.3 "кухня",
hot water 77777.4 whose window is closed), presses keys, and checks what the robot said, what was
stored, and what the web cabinet then shows.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tests.integration.conftest import Browser
from tests.phone_driver import KEYPAD_NUMBER, PhoneCall, handler_transport, use_phone_settings

PERSONAL = ("Горшеньов", "Короля", "1234", "UA21", "Єдина комунальна система»", "кв.")


@pytest.fixture
def ivr(demo: dict[str, Any], clock_at: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ivr_handler's lambda_handler, with the demo seeded and the clock at NOW."""
    use_phone_settings(monkeypatch)
    from functions.ivr_handler import app

    return app.lambda_handler


def keypad_call(ivr: Any, caller: str = KEYPAD_NUMBER) -> PhoneCall:
    return PhoneCall(handler_transport(ivr), "keypad", caller=caller)


def history(table: Any, meter_id: str) -> list[dict[str, Any]]:
    """Submissions of the demo's open month (the seed stores a year before it)."""
    items = table.query(KeyConditionExpression=Key("pk").eq(f"MTR#{meter_id}") & Key("sk").begins_with("R#"))
    return [item for item in items["Items"] if item["billing_month"] >= "2026-11"]


def signed_in_items(table: Any) -> int:
    return len(table.scan()["Items"])


def enter_account(call: PhoneCall, number: str = "77777") -> None:
    call.dial()
    call.press(f"{number}#")
    call.press("1")


def test_ivr_keypad_gas_reading_with_decimals_is_read_back_saved_and_shown_in_the_cabinet(
    ivr: Any, table: Any, web: Browser
) -> None:
    call = keypad_call(ivr)
    # Given a caller who dials the keypad line
    greeting = call.dial()
    assert "Вітаємо" in greeting[0] and "натисніть 9" in greeting[0]
    assert "Введіть номер вашого особового рахунку і натисніть решітку" in call.heard
    # When they key the account number, it is read back digit by digit
    call.press("77777#")
    assert "Ви ввели особовий рахунок: сім сім сім сім сім. Якщо правильно, натисніть 1" in call.heard
    # And on "1" the robot offers only this account's kinds, each key named with its kind
    call.press("1")
    assert "Електроенергія — натисніть 1. Газ — натисніть 2. Холодна вода — натисніть 3." in call.heard
    assert "Прийом показників гарячої води зараз закрито. Він відкриється двадцять дев'ятого листопада" in (
        call.heard
    )
    # When they choose gas, the previous reading is said
    call.press("2")
    assert "Попередній показник: двісті один кубічний метр." in call.heard
    assert "Дробову частину відокремте зірочкою" in call.heard
    # And they key 205.5 with * as the decimal point
    call.press("205*5#")
    assert "Ви ввели: двісті п'ять кома п'ять кубічного метра." in call.heard
    # Then nothing is stored before they confirm
    assert history(table, "77777.2") == []
    call.press("1")
    assert "Показник двісті п'ять кома п'ять кубічного метра збережено." in call.heard
    assert "Щоб передати показник іншого лічильника, натисніть 1" in call.heard
    call.press("2")
    assert call.ended and "До побачення" in call.heard
    # And the reading is stored from the keypad line, the number masked
    (item,) = history(table, "77777.2")
    assert (item["value"], item["channel"], item["phone"]) == ("205.500", "ivr", "+38067***1357")
    assert KEYPAD_NUMBER not in str(table.scan()["Items"])
    # And the web cabinet shows it with its phone source
    web.sign_in()
    meters = {m["id"]: m for m in web.call("GET", "/api/accounts/77777").json["meters"]}
    assert meters["77777.2"]["current"]["value"] == "205.500"
    assert meters["77777.2"]["current"]["channel"] == "ivr"
    assert meters["77777.2"]["current"]["source_label"].startswith("Дані внесено з телефону ")
    # And the robot never said anything about the person
    assert not [word for word in PERSONAL if word in call.everything]


def test_ivr_keypad_two_meters_of_a_kind_are_chosen_by_their_note(ivr: Any, table: Any, stores: Any) -> None:
    # Given 77777 with a second cold water meter, in the bathroom
    kitchen = next(m for m in stores.accounts.load_account("77777").meters if m.id == "77777.3")
    stores.accounts.put_meter(
        replace(kitchen, id="77777.5", serial="7254700", note="ванна", usage=kitchen.usage)
    )
    call = keypad_call(ivr)
    enter_account(call)
    # When the caller chooses cold water
    call.press("3")
    # Then the robot names both by their notes
    assert "У вас кілька лічильників холодної води. Кухня — натисніть 1. Ванна — натисніть 2." in call.heard
    call.press("2")
    assert "Холодна вода, ванна." in call.heard
    call.press("106#")
    call.press("1")
    assert "Показник сто шість кубічних метрів збережено." in call.heard
    # And the bathroom meter got it, the kitchen one did not
    assert [i["value"] for i in history(table, "77777.5")] == ["106.000"]
    assert history(table, "77777.3") == []
    # When they go on to the kitchen one
    call.press("1")
    call.press("3")
    call.press("1")
    assert "Холодна вода, кухня." in call.heard
    call.press("105*25#")
    call.press("1")
    assert [i["value"] for i in history(table, "77777.3")] == ["105.250"]


def test_ivr_keypad_lower_than_previous_is_saved_with_the_warning_spoken(ivr: Any, table: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    call.press("2")
    # When the caller keys a gas reading below the previous 201
    call.press("200#")
    call.press("1")
    # Then it is saved, and the robot says it is lower, naming the previous reading in words
    assert "Показник двісті кубічних метрів збережено." in call.heard
    assert "Увага: цей показник менший за попередній, двісті один кубічний метр." in call.heard
    (item,) = history(table, "77777.2")
    assert item["value"] == "200.000"
    assert [w["code"] for w in item["warnings"]] == ["lower_than_previous"]


def test_ivr_keypad_electricity_in_words_with_the_units_agreement(ivr: Any, table: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    call.press("1")
    assert "Попередній показник: шість тисяч сто шістнадцять кіловат-годин." in call.heard
    call.press("6201#")
    assert "Ви ввели: шість тисяч двісті одна кіловат-година." in call.heard


def test_ivr_keypad_closed_window_says_when_it_opens_and_offers_the_menu_again(ivr: Any, table: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    # When the caller presses the hot water key anyway
    call.press("4")
    # Then the robot says it is closed and when it opens, and asks again (saying that once)
    assert call.heard.startswith("Прийом показників гарячої води зараз закрито. Він відкриється")
    assert "Газ — натисніть 2" in call.heard and call.heard.count("гарячої води") == 1
    assert history(table, "77777.4") == []


def test_ivr_keypad_repeat_key_says_the_prompt_again_at_any_step(ivr: Any) -> None:
    call = keypad_call(ivr)
    call.dial()
    # At the account question
    first = call.heard
    call.press("9")
    assert call.heard == "Введіть номер вашого особового рахунку і натисніть решітку." and first.endswith(
        call.heard
    )
    # At the read-back
    call.press("77777#")
    readback = call.heard
    call.press("9")
    assert call.heard == readback
    # At the menu
    call.press("1")
    menu = call.heard
    call.press("9")
    assert call.heard == menu
    # At the reading's read-back
    call.press("2")
    call.press("210#")
    readback = call.heard
    call.press("9")
    assert call.heard == readback


def test_ivr_keypad_silence_asks_again_three_times_then_says_goodbye(ivr: Any, table: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    before = signed_in_items(table)
    menu = call.heard
    # When the caller says nothing, three times
    for _ in range(3):
        call.wait()
        assert call.heard.startswith("Ми не отримали відповіді.")
        assert menu in call.heard
    # Then the fourth silence ends the call politely
    call.wait()
    assert call.ended
    assert "Зателефонуйте, будь ласка, ще раз" in call.heard and call.heard.endswith("До побачення.")
    assert signed_in_items(table) == before


def test_ivr_keypad_wrong_keys_are_named_and_count_like_silence(ivr: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    # When the caller presses keys that are not in the menu
    call.press("7")
    assert call.heard.startswith("Такої цифри в меню немає.")
    call.press("0")
    call.wait()
    # Then the tries add up, and a key that is in the menu still works
    call.press("2")
    assert "Попередній показник: двісті один кубічний метр." in call.heard
    # And a reading with two decimal points is refused with the reason
    call.press("20*1*5#")
    assert call.heard.startswith(
        "Показник має складатися з цифр; дробову частину відокремлюйте однією зірочкою."
    )
    call.press("201*1234#")
    assert call.heard.startswith("Після зірочки можна ввести не більше трьох цифр.")


def test_ivr_keypad_retried_webhook_never_saves_twice(ivr: Any, table: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    call.press("2")
    call.press("206#")
    # When the confirmation's webhook arrives twice (the provider lost our first answer)
    call.press("1")
    first = call.heard
    call.retry()
    # Then both answers say the same, and one reading is stored
    assert call.heard == first and "збережено" in first
    assert [i["value"] for i in history(table, "77777.2")] == ["206.000"]
    # And a later correction in the same call is a new submission, which wins
    call.press("1")
    call.press("2")
    call.press("207#")
    call.press("1")
    call.retry()
    assert sorted(i["value"] for i in history(table, "77777.2")) == ["206.000", "207.000"]
    meter = table.get_item(Key={"pk": "ACC#77777", "sk": "MTR#77777.2"})["Item"]
    assert meter["cur_value"] == "207.000"


def test_ivr_keypad_an_implausible_reading_is_read_out_and_saved_only_when_confirmed(
    ivr: Any, table: Any
) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    call.press("2")
    # When the caller keys a gas reading 2000 m³ above the previous one
    call.press("2201#")
    call.press("1")
    # Then the robot reads the use out against the usual one and asks again, having saved nothing
    assert (
        "Показник: дві тисячі двісті один кубічний метр. Витрата за ним становить дві тисячі кубічних метрів"
        in call.heard
    )
    assert "Якщо показник правильний, натисніть 1" in call.heard
    assert history(table, "77777.2") == []
    # When they say it is right
    call.press("1")
    # Then it is saved, with the confirmation recorded
    assert "Показник дві тисячі двісті один кубічний метр збережено." in call.heard
    (item,) = history(table, "77777.2")
    assert "confirmed_high" in [w["code"] for w in item["warnings"]]


def test_ivr_keypad_unknown_account_is_refused_and_counted_per_number_and_account(
    ivr: Any, table: Any
) -> None:
    call = keypad_call(ivr)
    call.dial()
    # When the caller keys an account that does not exist
    call.press("12345#")
    call.press("1")
    # Then the robot says so without naming anything else, and asks again
    assert call.heard.startswith("Особовий рахунок один два три чотири п'ять не знайдено.")
    assert "Введіть номер вашого особового рахунку" in call.heard
    # And the failure counts against a keyed hash of the number and against the account number
    counters = [i["pk"] for i in table.scan()["Items"] if i["pk"].startswith("ATTEMPTS#")]
    assert len(counters) == 2 and "ATTEMPTS#phone_entry#account#12345" in counters
    assert not [c for c in counters if "0001357" in c or "380" in c]
    # When two more unknown accounts follow in the same call, it ends
    for number in ("12346", "12347"):
        call.press(f"{number}#")
        call.press("1")
    assert call.ended and call.heard.endswith("До побачення.")


def test_ivr_keypad_too_many_unknown_accounts_lock_the_calling_number(ivr: Any) -> None:
    # Given five failed entries from one number, over two calls
    first = keypad_call(ivr)
    first.dial()
    for number in ("11111", "11112", "11113"):
        first.press(f"{number}#")
        first.press("1")
    second = keypad_call(ivr)
    second.dial()
    for number in ("11114", "11115"):
        second.press(f"{number}#")
        second.press("1")
    # When that number tries once more, even the right account
    second.press("77777#")
    second.press("1")
    # Then the robot says when the next try is possible, and hangs up without saying anything of 77777
    assert second.ended and "Забагато спроб ввести неіснуючий особовий рахунок" in second.heard
    assert "Наступну спробу можна зробити о" in second.heard and "Газ" not in second.heard
    # And another caller is not locked out of 77777
    other = keypad_call(ivr, caller="+380501112233")
    enter_account(other)
    assert "Газ — натисніть 2" in other.heard


def test_ivr_keypad_account_read_back_may_be_refused_and_keyed_again(ivr: Any) -> None:
    call = keypad_call(ivr)
    call.dial()
    call.press("77778#")
    call.press("2")
    assert call.heard == "Введіть номер вашого особового рахунку і натисніть решітку."
    call.press("77777#")
    call.press("1")
    assert "Газ — натисніть 2" in call.heard


def test_ivr_keypad_second_reading_of_the_month_says_the_first_will_be_replaced(ivr: Any, table: Any) -> None:
    call = keypad_call(ivr)
    enter_account(call)
    call.press("2")
    call.press("203#")
    call.press("1")
    call.press("1")
    call.press("2")
    assert "Цього місяця вже передано показник двісті три кубічні метри. Новий показник замінить його." in (
        call.heard
    )
    assert Decimal(history(table, "77777.2")[0]["value"]) == Decimal(203)
