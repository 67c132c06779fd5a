"""The phone simulator page in a real browser: a newcomer hands in gas by keys and water by voice.

Debian's Chromium (Playwright) opens /_local/phone/ on the local stack, dials each line, presses the
on-screen keypad and types "what the caller says"; the page follows the TwiML, signing each webhook
through its server side. Then the web cabinet shows both readings with their phone source.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_browser import meter_row, open_readings, reading_input, shown, sign_in

pytestmark = pytest.mark.e2e

ROBOT_TIMEOUT_MS = 15_000


@pytest.fixture
def page(chromium: Browser, stack_url: str) -> Iterator[Page]:
    """A fresh desktop page; fails on uncaught script errors and on refusals of the page's CSP."""
    context = chromium.new_context(
        base_url=stack_url, viewport={"width": 1100, "height": 900}, locale="uk-UA"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert errors == []


def robot_says(page: Page, words: str) -> None:
    expect(page.locator("#log .log__item--robot").last).to_contain_text(words, timeout=ROBOT_TIMEOUT_MS)


def press(page: Page, keys: str) -> None:
    keypad = page.get_by_role("group", name="Клавіатура телефону")
    for key in keys:
        keypad.get_by_role("button", name=key, exact=True).click()


def say(page: Page, words: str) -> None:
    page.get_by_label("Що каже абонент").fill(words)
    page.get_by_role("button", name="Сказати").click()


def test_phone_simulator_gas_by_keys_and_water_by_voice_show_in_the_cabinet(page: Page) -> None:
    # Given the simulator, linked from the stack's start-up text
    page.goto("/_local/phone/")
    expect(page.get_by_role("heading", name="Розмова з роботом")).to_be_visible()
    # When a newcomer calls the keypad line
    page.get_by_label("Кнопкова лінія (тоновий набір)").check()
    page.get_by_role("button", name="Подзвонити").click()
    robot_says(page, "Введіть номер вашого особового рахунку і натисніть решітку.")
    expect(page.get_by_role("status", name="Стан дзвінка")).to_contain_text("Робот слухає")
    # And keys the account, confirms it, chooses gas and keys 204.5 with * and #
    press(page, "77777#")
    robot_says(page, "Ви ввели особовий рахунок: сім сім сім сім сім.")
    press(page, "1")
    robot_says(page, "Газ — натисніть 2.")
    press(page, "2")
    robot_says(page, "Попередній показник: двісті один кубічний метр.")
    press(page, "204*5#")
    robot_says(page, "Ви ввели: двісті чотири кома п'ять кубічного метра.")
    press(page, "1")
    robot_says(page, "Показник двісті чотири кома п'ять кубічного метра збережено.")
    press(page, "2")
    robot_says(page, "До побачення.")
    expect(page.get_by_role("status", name="Стан дзвінка")).to_have_text("Робот поклав слухавку.")
    expect(page.get_by_role("button", name="Подзвонити")).to_be_enabled()
    # When they call the voice line and speak
    page.get_by_label("Голосова лінія (стаціонарний телефон)").check()
    expect(page.get_by_label("Номер, з якого дзвонимо")).to_have_value("+380536223351")
    page.get_by_role("button", name="Подзвонити").click()
    robot_says(page, "Назвіть номер вашого особового рахунку по цифрах.")
    say(page, "сім сім сім сім сім")
    robot_says(page, "Правильно? Скажіть «так» або «ні».")
    say(page, "так")
    robot_says(page, "Який лічильник? Скажіть «електроенергія», «газ» чи «холодна вода».")
    say(page, "холодна вода")
    robot_says(page, "Назвіть новий показник, як на лічильнику.")
    say(page, "сто шість кома п'ять")
    robot_says(page, "Ви назвали: сто шість кома п'ять кубічного метра.")
    say(page, "так")
    robot_says(page, "Показник сто шість кома п'ять кубічного метра збережено.")
    page.get_by_role("button", name="Покласти слухавку").click()
    expect(page.get_by_role("status", name="Стан дзвінка")).to_have_text("Ви поклали слухавку.")
    # Then the web cabinet shows both readings, each with its phone source
    sign_in(page)
    open_readings(page)
    gas, water = meter_row(page, "gas"), meter_row(page, "cold_water")
    # (the cabinet writes numbers as residents do: 204,5)
    expect(reading_input(gas)).to_have_value(shown("204.5"))
    expect(gas).to_contain_text("Дані внесено з телефону")
    expect(reading_input(water)).to_have_value(shown("106.5"))
    expect(water).to_contain_text("Дані внесено з телефону")


def test_phone_simulator_repeats_on_9_and_asks_again_after_silence(page: Page) -> None:
    page.goto("/_local/phone/")
    page.get_by_role("button", name="Подзвонити").click()
    robot_says(page, "Введіть номер вашого особового рахунку")
    # When the caller presses 9, the prompt comes again
    press(page, "9")
    expect(page.locator("#log .log__item--robot")).to_have_count(2, timeout=ROBOT_TIMEOUT_MS)
    robot_says(page, "Введіть номер вашого особового рахунку і натисніть решітку.")
    # When they stay silent, the page follows the Redirect after the Gather, as the provider does
    page.get_by_role("button", name="Мовчати").click()
    robot_says(page, "Ми не отримали відповіді.")
    # And the keys typed so far show while a long number is keyed
    press(page, "777")
    expect(page.get_by_label("Набрані цифри")).to_have_text("777")
    page.get_by_role("button", name="Покласти слухавку").click()
    expect(page.get_by_role("button", name="Подзвонити")).to_be_enabled()
