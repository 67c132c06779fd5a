"""The web cabinet in a real browser: Debian's Chromium driven by Playwright against the local stack.

The stack (gateway, web API, DynamoDB Local, frontend) comes from the session fixture `stack_url`
in tests/e2e/conftest.py; its demo data is the seed's: demo@example.com / demo12345 with account 77777
linked, account 88888 (SRC 640) not linked, and 77777's meters electricity (no serial, previous
6116.000), gas 002352 (201.000), cold water 7254663 "кухня" (105.000) and hot water (52.000), whose
window is closed today. Tests choose values that differ from whatever is saved already, so they can run
again and again against the same stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

# conftest.py marks every test here e2e and puts them on one xdist worker, so one stack serves them all.
pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo12345"
ACCOUNT = "77777"
OTHER_ACCOUNT = "88888"
OTHER_CODE = "88888640"
NETWORK_MESSAGE = "Не вдалося зв'язатися з сервером. Перевірте з'єднання та спробуйте ще раз."
SCREENSHOT = Path("/tmp/readings-phone.png")

expect.set_options(timeout=10_000)


# ---------------------------------------------------------------- fixtures


def _new_page(chromium: Browser, stack_url: str, viewport: dict[str, int]) -> Iterator[Page]:
    """A fresh context (no cookies) at the given size; fails on uncaught script errors and CSP refusals."""
    context = chromium.new_context(
        base_url=stack_url, viewport=viewport, locale="uk-UA", timezone_id="Europe/Kyiv"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield page
    context.close()
    assert script_errors == [], f"uncaught script errors: {script_errors}"
    assert refused == [], f"the page's Content-Security-Policy refused: {refused}"


@pytest.fixture
def phone(chromium: Browser, stack_url: str) -> Iterator[Page]:
    """A signed-out page at 360x740, the size of a small phone."""
    yield from _new_page(chromium, stack_url, PHONE)


@pytest.fixture
def desktop(chromium: Browser, stack_url: str) -> Iterator[Page]:
    """A signed-out page at 1280x900."""
    yield from _new_page(chromium, stack_url, DESKTOP)


# ---------------------------------------------------------------- helpers


def sign_in(page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form and wait for the cabinet."""
    page.goto("/#/signin")
    form = page.locator("form", has=page.get_by_role("heading", name="Вхід", exact=True))
    form.get_by_label("Електронна пошта (e-mail)").fill(email)
    form.get_by_label("Пароль").fill(password)
    form.get_by_role("button", name="Увійти").click()
    expect(page.get_by_role("heading", name="Персональний кабінет", level=1)).to_be_visible()
    # The add-address form comes with the loaded list, so the table is complete from here on.
    expect(page.locator("#add-form")).to_be_visible()


def open_readings(page: Page, account: str = ACCOUNT) -> None:
    """Open an account's readings page and wait for its meters."""
    page.goto(f"/#/account/{account}")
    expect(page.get_by_role("button", name="Зберегти показники")).to_be_visible()


def meter_row(page: Page, kind: str) -> Locator:
    """The row of the (only) meter of a kind on the readings page."""
    return page.locator(f'li.meter[data-kind="{kind}"]')


def reading_input(row: Locator) -> Locator:
    """The yellow input for the current reading in a meter row."""
    return row.locator("input.reading-input")


def fresh_value(row: Locator, *candidates: str) -> str:
    """The first candidate that differs from the reading already shown, so a save really sends it."""
    shown = reading_input(row).input_value().replace(",", ".")
    for candidate in candidates:
        if float(candidate.replace(",", ".")) != float(shown or "nan"):
            return candidate
    raise AssertionError(f"every candidate equals the saved value {shown}")


def canonical(value: str) -> str:
    """'6201,5' -> '6201.500', the API's way of writing readings."""
    return f"{float(value.replace(',', '.')):.3f}"


def save(page: Page) -> None:
    """Press the one save button."""
    page.get_by_role("button", name="Зберегти показники").click()


def address_rows(page: Page) -> Locator:
    """Rows of the addresses table in the cabinet."""
    return page.locator("#addresses tbody tr")


def unlink_if_linked(page: Page, account: str) -> None:
    """Remove an address from the cabinet if an earlier run left it there."""
    row = page.locator(f'#addresses tr[data-account="{account}"]')
    if row.count():
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name=re.compile("Видалити")).click()
        expect(row).to_have_count(0)


def link_address(page: Page, code: str) -> None:
    """Type account + SRC into the add-address form and submit it."""
    page.get_by_label("Особовий рахунок і SRC-код разом").fill(code)
    page.get_by_role("button", name="Додати адресу").click()


def assert_no_horizontal_scroll(page: Page) -> None:
    """Nothing on the page is wider than the viewport."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page is {scroll_width}px wide in a {width}px viewport"


# ---------------------------------------------------------------- sign in and out


def test_signin_opens_cabinet_with_email_in_header(phone: Page) -> None:
    # Given the sign-in page
    phone.goto("/")
    expect(phone.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()
    # When the demo resident signs in with e-mail and password
    sign_in(phone)
    # Then the cabinet lists account 77777 and the header names the resident
    expect(phone.locator(f'#addresses tr[data-account="{ACCOUNT}"]')).to_be_visible()
    expect(phone.locator("#who")).to_contain_text(DEMO_EMAIL)
    expect(phone.get_by_role("button", name="Вийти")).to_be_visible()


def test_signin_wrong_password_shows_ukrainian_api_error(phone: Page) -> None:
    # Given the sign-in form
    phone.goto("/#/signin")
    form = phone.locator("form", has=phone.get_by_role("heading", name="Вхід", exact=True))
    # When the password is wrong
    form.get_by_label("Електронна пошта (e-mail)").fill(DEMO_EMAIL)
    form.get_by_label("Пароль").fill("wrong-password")
    form.get_by_role("button", name="Увійти").click()
    # Then the API's Ukrainian message is shown, tied to the inputs, and nobody is signed in
    error = form.get_by_role("alert")
    expect(error).to_have_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]{3,}"))
    expect(form.get_by_label("Пароль")).to_have_attribute("aria-invalid", "true")
    described_by = form.get_by_label("Пароль").get_attribute("aria-describedby") or ""
    assert error.get_attribute("id") in described_by.split()
    expect(phone.locator("#who")).to_be_hidden()


def test_signout_returns_to_signin_and_guards_cabinet(phone: Page) -> None:
    # Given a signed-in resident
    sign_in(phone)
    # When they sign out
    phone.get_by_role("button", name="Вийти").click()
    # Then the sign-in page is back and the cabinet is out of reach
    expect(phone.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()
    phone.goto("/#/cabinet")
    expect(phone.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()
    expect(phone.locator("#addresses")).to_have_count(0)


def test_qr_signin_with_invalid_token_explains_what_to_do(phone: Page) -> None:
    # Given an invoice link whose token is not valid
    # When it is opened
    phone.goto("/#/qr/not-a-real-token")
    # Then the page says the QR sign-in failed, with the API's reason, and offers e-mail sign-in
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("Не вдалося увійти за QR-кодом.")
    expect(alert.locator("p").nth(1)).to_have_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]{3,}"))
    expect(phone.get_by_role("link", name="Увійти за e-mail і паролем")).to_be_visible()


def test_qr_signin_lands_on_that_accounts_readings_only(phone: Page, demo_links: dict[str, str]) -> None:
    # Given the web QR link printed on 77777's invoice, scanned by someone who never signed up
    link = demo_links["web_qr_77777"]
    # When it is opened
    phone.goto(link)
    # Then the readings page of 77777 opens, and the page says how they got in
    expect(phone.get_by_role("button", name="Зберегти показники")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"#/account/77777$"))
    expect(phone.get_by_text("Ви увійшли за QR-кодом рахунку-квитанції")).to_be_visible()
    # And a reading can be handed in from there
    row = meter_row(phone, "cold_water")
    value = fresh_value(row, "109.5", "109.75")
    reading_input(row).fill(value)
    save(phone)
    expect(row).to_contain_text(f"Показник {canonical(value)} збережено")
    # But another account stays out of reach
    phone.goto("/#/account/88888")
    expect(phone.locator("main")).to_contain_text("Не знайдено.")
    expect(phone.get_by_role("button", name="Зберегти показники")).to_have_count(0)


# ---------------------------------------------------------------- cabinet


def test_cabinet_links_address_by_account_and_src_code(phone: Page) -> None:
    # Given a signed-in resident without account 88888 in the cabinet
    sign_in(phone)
    unlink_if_linked(phone, OTHER_ACCOUNT)
    # When they add it by account number and SRC code written together
    link_address(phone, OTHER_CODE)
    # Then it appears in the addresses table with its city, holder and address
    row = phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Кременчук (05366)")
    expect(row.get_by_role("button", name=re.compile("Обрати для роботи"))).to_be_visible()
    expect(phone.locator("#add-done")).to_contain_text(OTHER_ACCOUNT)
    expect(phone.get_by_label("Особовий рахунок і SRC-код разом")).to_have_value("")


def test_cabinet_wrong_link_code_shows_ukrainian_error(phone: Page) -> None:
    # Given a signed-in resident
    sign_in(phone)
    unlink_if_linked(phone, OTHER_ACCOUNT)
    code_input = phone.get_by_label("Особовий рахунок і SRC-код разом")
    # When the code has too few digits
    link_address(phone, "12345")
    # Then the form explains the 8-9 digits rule without asking the server
    expect(phone.locator("#add-code-error")).to_contain_text("8 або 9 цифр")
    # When the digits are well-formed but the SRC code is wrong
    link_address(phone, "88888000")
    # Then the API's Ukrainian error is tied to the input and nothing is linked
    error = phone.locator("#add-code-error")
    expect(error).to_have_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]{3,}"))
    expect(code_input).to_have_attribute("aria-invalid", "true")
    assert "add-code-error" in (code_input.get_attribute("aria-describedby") or "").split()
    expect(phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]')).to_have_count(0)


def test_cabinet_choosing_address_shows_its_viber_qr(phone: Page) -> None:
    # Given a cabinet with 77777 and 88888
    sign_in(phone)
    if not phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]').count():
        link_address(phone, OTHER_CODE)
    row = phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]')
    expect(row).to_be_visible()
    # When the resident chooses 88888 for work
    row.get_by_role("button", name=re.compile("Обрати для роботи")).click()
    # Then that row is marked, its Viber QR image loads, and the readings link points to it
    expect(row).to_contain_text("Адресу обрано для роботи")
    qr = phone.get_by_role("img", name=re.compile(f"QR-код Viber.*{OTHER_ACCOUNT}"))
    expect(qr).to_have_attribute("src", f"/api/accounts/{OTHER_ACCOUNT}/qr/viber?format=svg")
    qr.scroll_into_view_if_needed()
    phone.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    expect(phone.get_by_text("Для внесення показників через Viber відскануйте цей QR-код")).to_be_visible()
    expect(phone.locator("#main").get_by_role("link", name="Введення показників")).to_have_attribute(
        "href", f"#/account/{OTHER_ACCOUNT}"
    )
    # And the choice survives a reload (it lives in localStorage)
    phone.reload()
    expect(phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]')).to_contain_text(
        "Адресу обрано для роботи"
    )
    # Clean up: work with 77777 again
    phone.locator(f'#addresses tr[data-account="{ACCOUNT}"]').get_by_role(
        "button", name=re.compile("Обрати для роботи")
    ).click()


def test_cabinet_unlinks_address_after_confirmation(phone: Page) -> None:
    # Given a cabinet with 88888 linked
    sign_in(phone)
    if not phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]').count():
        link_address(phone, OTHER_CODE)
    row = phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]')
    expect(row).to_be_visible()
    # When the resident declines the confirmation, then accepts it
    phone.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name=re.compile("Видалити")).click()
    expect(row).to_be_visible()
    phone.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("Видалити")).click()
    # Then the address is gone, also after a reload, and 77777 stays
    expect(row).to_have_count(0)
    phone.reload()
    expect(phone.locator(f'#addresses tr[data-account="{ACCOUNT}"]')).to_be_visible()
    expect(phone.locator(f'#addresses tr[data-account="{OTHER_ACCOUNT}"]')).to_have_count(0)


# ---------------------------------------------------------------- readings


def test_readings_page_shows_account_data_rules_and_meters(phone: Page) -> None:
    # Given a signed-in resident
    sign_in(phone)
    # When they open 77777's readings page
    open_readings(phone)
    # Then it shows the account, the rules and the four meters with their previous readings
    data = phone.locator("section.your-data")
    expect(data).to_contain_text("Кременчук (05366)")
    expect(data).to_contain_text(ACCOUNT)
    expect(phone.get_by_role("heading", name="Важлива інформація")).to_be_visible()
    expect(phone.locator("aside.rules li").first).to_be_visible()
    expect(meter_row(phone, "electricity")).to_contain_text("дані відсутні")
    expect(meter_row(phone, "electricity")).to_contain_text("6116.000")
    expect(meter_row(phone, "gas")).to_contain_text("002352")
    expect(meter_row(phone, "gas")).to_contain_text("201.000")
    expect(meter_row(phone, "cold_water")).to_contain_text("7254663")
    expect(meter_row(phone, "cold_water")).to_contain_text("кухня")
    expect(meter_row(phone, "hot_water")).to_contain_text("52.000")
    # And each open input is labelled with its window and brings up the numeric keyboard
    gas_input = reading_input(meter_row(phone, "gas"))
    expect(gas_input).to_have_accessible_name(re.compile(r"вносяться.*\d{2}/\d{2}/\d{4}"))
    expect(gas_input).to_have_attribute("inputmode", "decimal")


def test_readings_saves_open_meters_in_one_request(phone: Page) -> None:
    # Given the readings page of 77777
    sign_in(phone)
    open_readings(phone)
    electricity, water = meter_row(phone, "electricity"), meter_row(phone, "cold_water")
    power_value = fresh_value(electricity, "6201,5", "6202,5")
    water_value = fresh_value(water, "113.250", "114.250")
    # When two readings are typed (one with a decimal comma) and saved with the one button
    reading_input(electricity).fill(power_value)
    reading_input(water).fill(water_value)
    with phone.expect_request(lambda r: r.method == "POST" and r.url.endswith("/readings")) as sent:
        save(phone)
    # Then one request carried both rows and the CSRF header
    request = sent.value
    assert request.headers.get("x-csrf-token")
    rows = request.post_data_json["rows"]
    assert {row["meter_id"] for row in rows} == {
        electricity.get_attribute("data-meter-id"),
        water.get_attribute("data-meter-id"),
    }
    # And both rows say saved, the summary counts them, and the rows show the stored readings
    for row, value in ((electricity, power_value), (water, water_value)):
        expect(row.locator(".row-result--saved")).to_contain_text("Збережено")
        expect(reading_input(row)).to_have_value(canonical(value))
        expect(row.locator(".source")).to_contain_text("Дані внесено з")
    expect(phone.locator("#save-summary")).to_contain_text("Збережено показників: 2")


def test_readings_consumption_preview_accepts_comma_and_dot(phone: Page) -> None:
    # Given the electricity meter with previous reading 6116.000
    sign_in(phone)
    open_readings(phone)
    electricity = meter_row(phone, "electricity")
    # When a value is typed with a comma, then with a dot
    reading_input(electricity).fill("6200,5")
    # Then the consumption is previewed before saving
    expect(electricity.locator(".cons-value")).to_have_text("84.500 кВт·год")
    reading_input(electricity).fill("6116.25")
    expect(electricity.locator(".cons-value")).to_have_text("0.250 кВт·год")


def test_readings_lower_than_previous_is_saved_with_warning(phone: Page) -> None:
    # Given the electricity meter with previous reading 6116.000
    sign_in(phone)
    open_readings(phone)
    electricity = meter_row(phone, "electricity")
    value = fresh_value(electricity, "6000", "6001")
    # When a lower value is saved
    reading_input(electricity).fill(value)
    save(phone)
    # Then it is accepted, and the lower-than-previous warning is shown next to the row
    expect(electricity.locator(".row-result--saved")).to_be_visible()
    warning = electricity.locator(".warning--lower_than_previous")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(re.compile("попередн", re.IGNORECASE))


def test_readings_implausible_value_needs_confirmation_then_saves(phone: Page) -> None:
    # Given the gas meter with previous reading 201.000
    sign_in(phone)
    open_readings(phone)
    gas = meter_row(phone, "gas")
    value = fresh_value(gas, "9999", "9998")
    # When an implausibly high value is saved
    reading_input(gas).fill(value)
    save(phone)
    # Then nothing is claimed saved: the row asks for confirmation
    pending = gas.locator(".row-result--needs_confirmation")
    expect(pending).to_be_visible()
    expect(gas.locator(".row-result--saved")).to_have_count(0)
    expect(phone.locator("#save-summary")).not_to_contain_text("Збережено показників")
    # When the resident confirms the value
    with phone.expect_request(lambda r: r.method == "POST" and r.url.endswith("/readings")) as sent:
        gas.get_by_role("button", name="Так, значення правильне").click()
    # Then only that row is re-sent, confirming that very value, and it is saved
    assert sent.value.post_data_json["rows"] == [
        {"meter_id": gas.get_attribute("data-meter-id"), "value": value, "confirm": value}
    ]
    expect(gas.locator(".row-result--saved")).to_be_visible()
    expect(reading_input(gas)).to_have_value(canonical(value))


def test_readings_confirmation_can_be_declined_to_correct_value(phone: Page) -> None:
    # Given the gas meter asking to confirm an implausible value
    sign_in(phone)
    open_readings(phone)
    gas = meter_row(phone, "gas")
    reading_input(gas).fill(fresh_value(gas, "8888", "8887"))
    save(phone)
    expect(gas.locator(".row-result--needs_confirmation")).to_be_visible()
    # When the resident chooses to correct it
    gas.get_by_role("button", name="Ні, виправити").click()
    # Then the confirm step disappears and the cursor is back in the input
    expect(gas.locator(".row-result--needs_confirmation")).to_have_count(0)
    expect(reading_input(gas)).to_be_focused()
    # When a plausible value is typed and saved
    corrected = fresh_value(gas, "215.5", "216.5")
    reading_input(gas).fill(corrected)
    save(phone)
    # Then it is saved
    expect(gas.locator(".row-result--saved")).to_be_visible()
    expect(reading_input(gas)).to_have_value(canonical(corrected))


def test_readings_malformed_value_is_caught_before_sending(phone: Page) -> None:
    # Given the readings page
    sign_in(phone)
    open_readings(phone)
    water = meter_row(phone, "cold_water")
    sent: list[str] = []
    phone.on("request", lambda r: sent.append(r.url) if r.url.endswith("/readings") else None)
    # When a value with letters is saved
    reading_input(water).fill("12a")
    save(phone)
    # Then the row explains the format, the input is marked invalid and focused, and nothing is sent
    expect(water.locator(".row-result--invalid")).to_contain_text("Введіть число")
    expect(reading_input(water)).to_have_attribute("aria-invalid", "true")
    expect(reading_input(water)).to_be_focused()
    assert sent == []


def test_readings_closed_meter_input_is_disabled_and_says_when_it_opens(phone: Page) -> None:
    # Given the hot water meter, whose organization's window is closed today
    sign_in(phone)
    open_readings(phone)
    hot = meter_row(phone, "hot_water")
    # Then its input is disabled and the row says when readings open
    expect(reading_input(hot)).to_be_disabled()
    note = hot.locator(".closed-note")
    expect(note).to_contain_text(re.compile(r"відкриється \d{2}/\d{2}/\d{4}"))
    note_id = note.get_attribute("id")
    assert note_id in (reading_input(hot).get_attribute("aria-describedby") or "").split()


def test_readings_network_failure_is_reported_and_nothing_claimed_saved(phone: Page) -> None:
    # Given the readings page and a connection that drops the save request
    sign_in(phone)
    open_readings(phone)
    water = meter_row(phone, "cold_water")
    phone.route("**/api/accounts/*/readings", lambda route: route.abort("internetdisconnected"))
    # When the resident saves a reading
    reading_input(water).fill(fresh_value(water, "120.5", "121.5"))
    save(phone)
    # Then the summary tells them to try again, no row says saved, and the typed value stays
    expect(phone.locator("#save-summary")).to_have_text(NETWORK_MESSAGE)
    expect(phone.locator(".row-result--saved")).to_have_count(0)
    expect(reading_input(water)).not_to_have_value("")


def test_readings_bot_switch_is_saved_and_explained(phone: Page) -> None:
    # Given the gas meter's bot switch
    sign_in(phone)
    open_readings(phone)
    gas = meter_row(phone, "gas")
    switch = gas.get_by_label("увімкнути бот для лічильника")
    amount = gas.get_by_label("щомісяця автоматично додавати")
    if switch.is_checked():
        switch.uncheck()
        expect(gas.locator(".bot__status--on")).to_have_count(0)
    # When the resident sets 3 m³ a month and turns the bot on
    amount.fill("3")
    switch.check()
    # Then the row explains what the bot will do, using the amount the API stored
    expect(gas.locator(".bot__status--on")).to_contain_text(
        re.compile(
            r"Бот увімкнено! У разі відсутності показників буде автоматично враховано витрату: 3(\.0+)?"
        )
    )
    # And after a reload (the CSRF token comes back from /api/me) it is still on and can be turned off
    phone.reload()
    gas = meter_row(phone, "gas")
    expect(gas.get_by_label("увімкнути бот для лічильника")).to_be_checked()
    expect(gas.get_by_label("щомісяця автоматично додавати")).to_have_value(re.compile(r"^3(\.0+)?$"))
    gas.get_by_label("увімкнути бот для лічильника").uncheck()
    expect(gas.locator(".bot__status--on")).to_have_count(0)
    phone.reload()
    expect(meter_row(phone, "gas").get_by_label("увімкнути бот для лічильника")).not_to_be_checked()


# ---------------------------------------------------------------- statistics


def test_statistics_lists_submissions_with_channel_in_ukrainian(phone: Page) -> None:
    # Given a reading saved from the site for the cold water meter
    sign_in(phone)
    open_readings(phone)
    water = meter_row(phone, "cold_water")
    value = fresh_value(water, "110.125", "111.125")
    reading_input(water).fill(value)
    save(phone)
    expect(water.locator(".row-result--saved")).to_be_visible()
    # When the resident opens the meter's statistics
    water.get_by_role("link", name=re.compile("Статистика")).click()
    # Then the chart, its data table and the submissions table are shown
    expect(phone.get_by_role("heading", name="Статистика лічильника 7254663", level=1)).to_be_visible()
    expect(phone.locator(".chart svg[role=img]")).to_be_visible()
    expect(phone.locator("#months tbody tr").first).to_be_visible()
    # And the new submission is in the history, newest first, with its channel in Ukrainian
    newest = phone.locator("#submissions tbody tr").first
    expect(newest).to_contain_text(canonical(value))
    expect(newest).to_contain_text("сайт")
    # And the way back leads to the readings page
    phone.get_by_role("link", name="До введення показників").click()
    expect(phone.get_by_role("button", name="Зберегти показники")).to_be_visible()


# ---------------------------------------------------------------- phones and wide screens


def test_layout_fits_small_phone_without_horizontal_scroll(phone: Page) -> None:
    # Given a 360x740 phone
    phone.goto("/#/signin")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    assert_no_horizontal_scroll(phone)
    # When the resident goes through the cabinet, the readings page and the statistics
    sign_in(phone)
    assert_no_horizontal_scroll(phone)
    open_readings(phone)
    # Then nothing scrolls sideways and the touch targets are big enough
    assert_no_horizontal_scroll(phone)
    save_box = phone.get_by_role("button", name="Зберегти показники").bounding_box()
    assert save_box is not None and save_box["height"] >= 44 and save_box["width"] >= 300
    input_box = reading_input(meter_row(phone, "gas")).bounding_box()
    assert input_box is not None and input_box["height"] >= 44
    phone.screenshot(path=str(SCREENSHOT), full_page=True)
    meter_row(phone, "gas").get_by_role("link", name=re.compile("Статистика")).click()
    expect(phone.locator("#submissions, .section .notice").first).to_be_visible()
    assert_no_horizontal_scroll(phone)


def test_layout_wide_screen_shows_meters_as_table(desktop: Page) -> None:
    # Given a wide screen
    sign_in(desktop)
    # When the readings page opens
    open_readings(desktop)
    # Then the column headers are shown once and the cells of a row sit on one line
    expect(desktop.locator(".meters-head")).to_be_visible()
    gas = meter_row(desktop, "gas")
    number_box = gas.locator(".cell--number").bounding_box()
    input_box = reading_input(gas).bounding_box()
    assert number_box is not None and input_box is not None
    assert input_box["x"] > number_box["x"] + number_box["width"]
