"""The readings page on a phone (390x844, touch): the meters first, the truth impossible to miss, nothing
typed lost. Screenshots of the phone readings page go to test-results/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import (
    ACCOUNT,
    RESULTS,
    fill_sign_in,
    fresh_value,
    in_first_screen,
    meter_row,
    open_readings,
    phone,
    reading_input,
    save,
    shown,
    sign_in,
)

pytestmark = pytest.mark.e2e
__all__ = ["phone"]  # the fixture, shared with test_browser.py


def test_done_a_resident_hands_in_three_readings_across_an_expired_session(phone: Page) -> None:
    # Given a resident who signs in on a phone and chooses the address for work
    sign_in(phone)
    phone.locator("#main").get_by_role("link", name="Ввести показники").click()
    expect(phone.get_by_role("button", name="Зберегти показники")).to_be_visible()
    # Then the first meter's input is on the first screen, above the save bar, with no scrolling
    first = phone.locator("li.meter").first
    in_first_screen(phone, reading_input(first))
    expect(reading_input(first)).to_have_accessible_name(
        re.compile(r"Новий показник за \d{2}/\d{4} — Електроенергія")
    )
    # When three readings are typed: one lower than the previous, one implausibly high, one ordinary
    electricity, gas, water = (meter_row(phone, k) for k in ("electricity", "gas", "cold_water"))
    lower = fresh_value(electricity, "6000", "6001")
    high = fresh_value(gas, "9999", "9998")
    ordinary = fresh_value(water, "106.5", "106.75")
    reading_input(electricity).fill(lower)
    reading_input(gas).fill(high)
    reading_input(water).fill(ordinary)
    # And the session has expired meanwhile (a long pause on a phone)
    phone.context.clear_cookies()
    save(phone)
    # Then the page explains why, and keeps the readings on the device
    expect(phone.locator("#expired")).to_contain_text("Час входу минув")
    expect(phone.locator("#expired")).to_contain_text("збережено на цьому пристрої")
    # When they sign in again
    fill_sign_in(phone)
    # Then they are back on the readings page with all three values, without typing them again
    expect(phone.get_by_role("button", name="Зберегти показники")).to_be_visible()
    expect(reading_input(electricity)).to_have_value(lower)
    expect(reading_input(gas)).to_have_value(high)
    expect(reading_input(water)).to_have_value(ordinary)
    # When they save
    save(phone)
    # Then the summary names both the lower reading and the question
    summary = phone.locator("#save-summary")
    expect(summary).to_have_text(
        "Збережено 2, з них 1 менший за попередній; 1 потребує підтвердження. "
        "Перегляньте позначені лічильники."
    )
    expect(electricity.locator(".warning--lower_than_previous")).to_be_visible()
    # And focus goes to the first row needing attention, where the question shows both uses with units
    question = gas.locator(".row-result--needs_confirmation")
    expect(electricity.locator(".row-result")).to_be_focused()
    expect(question.locator(".question-facts")).to_contain_text("м³")
    expect(question).to_contain_text("Зазвичай")
    phone.screenshot(path=str(RESULTS / "readings-phone-after-save.png"))
    # When the resident confirms the implausible value, with the button right next to the question
    with phone.expect_request(lambda r: r.method == "POST" and r.url.endswith("/readings")) as sent:
        question.get_by_role("button", name="Так, показник правильний").click()
    assert sent.value.post_data_json["rows"] == [{"meter_id": "77777.2", "value": high, "confirm": high}]
    # Then it is saved too, and nothing is left unsaved on the device
    expect(gas.locator(".row-result--saved")).to_be_visible()
    expect(reading_input(gas)).to_have_value(shown(high))
    drafts = phone.evaluate("() => localStorage.getItem('ekc.drafts')")
    assert drafts is None or ACCOUNT not in drafts


def test_readings_first_screen_and_sticky_save_bar_on_a_phone(phone: Page) -> None:
    # Given the readings page on a phone
    sign_in(phone)
    open_readings(phone)
    # Then the account's data, debt and rules are folded away, one tap to open
    more = phone.locator("#account-more")
    expect(more).not_to_have_attribute("open", "")
    in_first_screen(phone, reading_input(phone.locator("li.meter").first))
    phone.screenshot(path=str(RESULTS / "readings-phone.png"))
    phone.screenshot(path=str(RESULTS / "readings-phone-full.png"), full_page=True)
    more.locator("summary").click()
    expect(phone.locator("#debt")).to_contain_text(re.compile(r"грн"))
    expect(phone.locator(".iban")).to_have_text(re.compile(r"^UA\d{2} \d{4} "))
    # Meter kinds are words, and a meter with no serial is named by its kind
    expect(phone.locator("li.meter").first.locator("h3")).to_have_text("Електроенергія")
    expect(meter_row(phone, "cold_water").locator("h3")).to_contain_text("Холодна вода, кухня")
    expect(phone.locator("main")).not_to_contain_text("дані відсутні")
    # When the resident scrolls to the last meter, the save button is still in reach
    meter_row(phone, "hot_water").scroll_into_view_if_needed()
    bar = phone.locator("#save-bar").bounding_box()
    assert bar is not None and bar["y"] + bar["height"] <= 844 + 1 and bar["y"] > 600
    button = phone.get_by_role("button", name="Зберегти показники").bounding_box()
    assert button is not None and button["height"] >= 48 and button["width"] >= 300


def test_readings_a_hung_save_ends_with_an_honest_message_and_the_values_kept(phone: Page) -> None:
    # Given the readings page with a clock the test can move, and a connection where saves hang
    phone.clock.install()
    sign_in(phone)
    open_readings(phone)
    water = meter_row(phone, "cold_water")
    value = fresh_value(water, "107.25", "107.5")
    reading_input(water).fill(value)
    hung: list[str] = []
    phone.route(
        "**/api/accounts/*/readings", lambda route: hung.append(route.request.headers["idempotency-key"])
    )
    # When the resident saves and no answer comes for longer than the page waits
    save(phone)
    expect(phone.locator("#save-summary")).to_have_text("Зберігаємо показники…")
    phone.clock.run_for(26_000)
    # Then the page says it does not know whether it was saved, and what to do; the value stays
    summary = phone.locator("#save-summary")
    expect(summary).to_contain_text("невідомо, чи збережено показники")
    expect(summary).to_contain_text("повторне натискання нічого не задвоїть")
    expect(reading_input(water)).to_have_value(value)
    expect(water.locator(".row-result--saved")).to_have_count(0)
    # When the connection comes back and the resident presses save again
    phone.unroute("**/api/accounts/*/readings")
    with phone.expect_request(lambda r: r.method == "POST" and r.url.endswith("/readings")) as sent:
        save(phone)
    # Then it is the same request (the same key, so a late first copy cannot save twice), and it is saved
    assert sent.value.headers["idempotency-key"] == hung[0]
    expect(water.locator(".row-result--saved")).to_be_visible()


def test_readings_a_qr_resident_whose_session_ran_out_is_told_to_scan_again(
    phone: Page, demo_links: dict[str, str]
) -> None:
    # Given a resident who came by the invoice's QR code and typed a reading
    phone.goto(demo_links["web_qr_77777"])
    expect(phone.get_by_role("button", name="Зберегти показники")).to_be_visible()
    water = meter_row(phone, "cold_water")
    value = fresh_value(water, "106.25", "107.75")
    reading_input(water).fill(value)
    # When the QR session has ended by the time they save
    phone.context.clear_cookies()
    save(phone)
    # Then they are told to scan the QR code again (or sign in), not faced with a bare e-mail form
    expect(phone.locator("#expired")).to_contain_text("Відскануйте QR-код «внести на сайт»")
    # When they scan it again, the typed value is there to save
    phone.goto(demo_links["web_qr_77777"])
    expect(reading_input(meter_row(phone, "cold_water"))).to_have_value(value)
    save(phone)
    expect(meter_row(phone, "cold_water").locator(".row-result--saved")).to_be_visible()


def test_readings_a_value_the_api_refuses_is_explained_under_its_row(phone: Page) -> None:
    # Given the readings page (the page itself judges no value)
    sign_in(phone)
    open_readings(phone)
    water = meter_row(phone, "cold_water")
    # When a value with letters and one with four decimals are saved
    reading_input(water).fill("12a")
    reading_input(meter_row(phone, "gas")).fill("210,1234")
    save(phone)
    # Then each row says why in the API's words, the input is marked, and the summary counts them
    expect(water.locator(".row-result--rejected")).to_contain_text("Показник має бути числом")
    expect(meter_row(phone, "gas").locator(".row-result--rejected")).to_contain_text("не більше 3 цифр")
    expect(reading_input(water)).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#save-summary")).to_contain_text("Жодного показника не збережено; 2 не прийнято.")
    # And the typed text stays for correcting
    expect(reading_input(water)).to_have_value("12a")


def test_readings_closed_meter_says_when_it_opens_and_keeps_a_value_typed_before(phone: Page) -> None:
    # Given the hot water meter, whose window closed while a value was typed for it on this phone
    sign_in(phone)
    phone.evaluate(
        """() => localStorage.setItem('ekc.drafts', JSON.stringify({'77777': {'77777.4': {
            text: '53,5', month: '2000-01', question: null, at: Date.now() }}}))"""
    )
    open_readings(phone)
    hot = meter_row(phone, "hot_water")
    # Then its input is disabled, shows what was typed, and says it was not handed in and when it can be
    expect(reading_input(hot)).to_be_disabled()
    expect(reading_input(hot)).to_have_value("53,5")
    expect(hot.locator(".draft-kept")).to_contain_text("Ви ввели 53,5, але цей показник не передано")
    expect(hot.locator(".closed-note")).to_contain_text(re.compile(r"приймаються з \d{2}/\d{2}/\d{4} по"))
    described = (reading_input(hot).get_attribute("aria-describedby") or "").split()
    assert hot.locator(".closed-note").get_attribute("id") in described


def test_readings_consumption_preview_and_source_words(phone: Page) -> None:
    sign_in(phone)
    open_readings(phone)
    electricity = meter_row(phone, "electricity")
    reading_input(electricity).fill("6200,5")
    expect(electricity.locator(".cons-value")).to_have_text("84,5 кВт·год")
    reading_input(electricity).fill("6100")
    expect(electricity.locator(".cons-value")).to_have_text("−16 кВт·год (менше за попередній)")


def test_bot_has_its_own_save_and_asks_about_an_unusual_amount_in_place(phone: Page) -> None:
    # Given the gas meter's bot block, folded
    sign_in(phone)
    open_readings(phone)
    gas = meter_row(phone, "gas")
    bot = gas.locator("details.bot")
    expect(bot).not_to_have_attribute("open", "")
    bot.locator("summary").click()
    switch = bot.get_by_label("Увімкнути бота")
    amount = bot.get_by_label("Щомісяця додавати")
    save_bot = bot.get_by_role("button", name="Зберегти налаштування бота")
    # When an unusually large amount is set and saved (leaving the field saves nothing by itself)
    switch.check()
    amount.fill("999999")
    amount.blur()
    expect(bot.locator(".bot__status")).not_to_contain_text("збережено")
    save_bot.click()
    # Then the API's question is asked right next to the bot's own save, with its two answers
    question = bot.locator(".bot__question")
    expect(question).to_contain_text("Перевірте кількість")
    expect(question.get_by_role("button", name="Так, кількість правильна")).to_be_focused()
    # When the resident corrects it to a usual amount and saves
    question.get_by_role("button", name="Ні, виправити").click()
    amount.fill("3")
    save_bot.click()
    # Then it is confirmed visibly, saying what the bot will record
    status = meter_row(phone, "gas").locator(".bot__status")
    expect(status).to_contain_text("Налаштування бота збережено.")
    expect(status).to_contain_text(re.compile(r"бот внесе|бот додасть|бот нічого не додасть"))
    # And it is still on after a reload, and can be turned off
    phone.reload()
    gas_bot = meter_row(phone, "gas").locator("details.bot")
    expect(gas_bot.locator("summary")).to_contain_text("увімкнено")
    gas_bot.locator("summary").click()
    gas_bot.get_by_label("Увімкнути бота").uncheck()
    gas_bot.get_by_role("button", name="Зберегти налаштування бота").click()
    expect(meter_row(phone, "gas").locator(".bot__status")).to_have_text("Бота вимкнено.")
