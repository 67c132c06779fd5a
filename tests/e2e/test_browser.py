"""The web cabinet in a real browser: Debian's Chromium driven by Playwright against the local stack.

Phone size is 390x844 with touch (a common phone); desktop is 1280x900. The stack (gateway, web API,
DynamoDB Local, fake mailbox, frontend) comes from the session fixture `stack_url` in conftest.py; its
demo data is the seed's: demo@example.com / demo12345 with account 77777 linked (electricity, no serial,
previous 6116; gas 002352, 201; cold water 7254663 "кухня", 105; hot water, its window closed today),
and 88888 (SRC 640) not linked. Tests choose values that differ from what is saved already, so they
can run again and again against the same stack. This file: sign-in, the cabinet, statistics, layout;
test_browser_readings.py: the readings page; test_browser_recovery.py: password recovery.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo12345"
ACCOUNT = "77777"
OTHER_ACCOUNT = "88888"
OTHER_CODE = "88888640"
OTHER_HOLDER = "Петренко"
NETWORK_MESSAGE = "Не вдалося зв’язатися з сервером. Перевірте з’єднання та спробуйте ще раз."
RESULTS = Path(__file__).resolve().parents[2] / "test-results"

expect.set_options(timeout=10_000)


# ---------------------------------------------------------------- fixtures


def new_page(chromium: Browser, stack_url: str, viewport: dict[str, int], **extra: object) -> Iterator[Page]:
    """A fresh context (no cookies) at a size; fails on uncaught script errors and CSP refusals."""
    touch = viewport == PHONE
    context = chromium.new_context(
        base_url=stack_url,
        viewport=viewport,
        locale="uk-UA",
        timezone_id="Europe/Kyiv",
        has_touch=touch,
        is_mobile=touch,
        **extra,  # type: ignore[arg-type]
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
    """A signed-out page on a 390x844 touch phone."""
    yield from new_page(chromium, stack_url, PHONE)


@pytest.fixture
def desktop(chromium: Browser, stack_url: str) -> Iterator[Page]:
    """A signed-out page at 1280x900."""
    yield from new_page(chromium, stack_url, DESKTOP)


# ---------------------------------------------------------------- helpers


def sign_in(page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form and wait for the cabinet."""
    page.goto("/#/signin")
    fill_sign_in(page, email, password)
    expect(page.get_by_role("heading", name="Персональний кабінет", level=1)).to_be_visible()
    # The add-address form comes with the loaded list, so the cards are complete from here on.
    expect(page.locator("#add-form")).to_be_visible()


def fill_sign_in(page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    """Type into the sign-in form and press "Увійти"."""
    form = page.locator("form", has=page.get_by_role("heading", name="Вхід", exact=True))
    form.get_by_label("Електронна пошта (e-mail)").fill(email)
    form.get_by_label("Пароль").fill(password)
    form.get_by_role("button", name="Увійти").click()


def sign_up(page: Page) -> str:
    """A brand-new resident through the sign-up form; their e-mail."""
    email = f"resident-{secrets.token_hex(4)}@example.com"
    page.goto("/#/signin")
    form = page.locator("form", has=page.get_by_role("heading", name="Реєстрація"))
    form.get_by_label("Електронна пошта (e-mail)").fill(email)
    form.get_by_label("Придумайте пароль").fill("first-password-1")
    form.get_by_role("button", name="Зареєструватися").click()
    expect(page.get_by_role("heading", name="Персональний кабінет", level=1)).to_be_visible()
    return email


def open_readings(page: Page, account: str = ACCOUNT) -> None:
    """Open an account's readings page and wait for its meters."""
    page.goto(f"/#/account/{account}")
    expect(page.get_by_role("button", name="Зберегти показники")).to_be_visible()
    expect(page.locator("li.meter").first).to_be_visible()


def meter_row(page: Page, kind: str) -> Locator:
    """The card of the (only) meter of a kind on the readings page."""
    return page.locator(f'li.meter[data-kind="{kind}"]')


def reading_input(row: Locator) -> Locator:
    """The yellow input for the new reading in a meter card."""
    return row.locator("input.reading-input")


def shown(value: str) -> str:
    """'6201.5' or '6201,50' -> '6201,5': a reading as the page writes it."""
    number = f"{float(value.replace(',', '.')):.3f}".rstrip("0").rstrip(".")
    return number.replace(".", ",")


def fresh_value(row: Locator, *candidates: str) -> str:
    """The first candidate that differs from the reading already shown, so a save really sends it."""
    current = reading_input(row).input_value().replace(",", ".")
    for candidate in candidates:
        if float(candidate.replace(",", ".")) != float(current or "nan"):
            return candidate
    raise AssertionError(f"every candidate equals the saved value {current}")


def save(page: Page) -> None:
    """Press the one save button."""
    page.get_by_role("button", name="Зберегти показники").click()


def address_card(page: Page, account: str) -> Locator:
    """An address card in the cabinet."""
    return page.locator(f'#addresses li[data-account="{account}"]')


def remove_address(page: Page, account: str) -> None:
    """Remove an address through its in-page confirmation."""
    card = address_card(page, account)
    card.get_by_role("button", name=re.compile("Видалити")).click()
    card.get_by_role("button", name="Так, видалити").click()
    expect(card).to_have_count(0)


def link_address(page: Page, code: str, holder: str | None = None) -> None:
    """Type account + SRC into the add-address form and submit it; with `holder`, also answer the
    holder's-surname question if the form asks it (it does once the code alone may not be judged)."""
    page.get_by_label("Особовий рахунок і SRC-код разом").fill(code)
    page.get_by_role("button", name="Додати адресу").click()
    if holder is None:
        return
    answered = page.locator("#add-done:not(:empty), #add-code-error:not(:empty), #add-holder:visible")
    expect(answered.first).to_be_visible()
    if page.locator("#add-holder").is_visible():
        page.get_by_label("Прізвище власника рахунку").fill(holder)
        page.get_by_role("button", name="Додати адресу").click()


def assert_no_horizontal_scroll(page: Page) -> None:
    """Nothing on the page is wider than the viewport."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page is {scroll_width}px wide in a {width}px viewport"


def in_first_screen(page: Page, locator: Locator) -> None:
    """The element is whole on the first screen, above the sticky save bar, without scrolling."""
    assert page.evaluate("window.scrollY") == 0
    box = locator.bounding_box()
    bar = page.locator("#save-bar").bounding_box()
    assert box is not None and bar is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= bar["y"], (box, bar)


# ---------------------------------------------------------------- sign in and out


def test_signin_page_offers_the_other_doors_as_links_a_phone_opens(phone: Page) -> None:
    # Given the sign-in page on a phone
    phone.goto("/")
    expect(phone.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()
    # Then the phone lines are tap-to-call links with the configured numbers, and Viber opens the bot
    expect(phone.locator("#door-keypad")).to_have_attribute("href", "tel:+380536000001")
    expect(phone.locator("#door-keypad")).to_contain_text("+380 536 00 00 01")
    expect(phone.locator("#door-voice")).to_have_attribute("href", "tel:+380536000002")
    expect(phone.locator("#door-viber")).to_have_attribute("href", re.compile(r"^viber://pa\?chatURI="))
    # And password recovery is offered, since it works here
    expect(phone.get_by_role("link", name="Забули пароль?")).to_be_visible()
    assert_no_horizontal_scroll(phone)


def test_signin_wrong_password_shows_ukrainian_api_error(phone: Page) -> None:
    # Given the sign-in form
    phone.goto("/#/signin")
    form = phone.locator("form", has=phone.get_by_role("heading", name="Вхід", exact=True))
    # When the password is wrong
    fill_sign_in(phone, DEMO_EMAIL, "wrong-password")
    # Then the API's reviewed sentence is shown, tied to the inputs, and nobody is signed in
    error = form.get_by_role("alert")
    expect(error).to_have_text("Неправильна електронна пошта або пароль.")
    expect(form.get_by_label("Пароль")).to_have_attribute("aria-invalid", "true")
    assert error.get_attribute("id") in (form.get_by_label("Пароль").get_attribute("aria-describedby") or "")
    expect(phone.locator("#who")).to_be_hidden()


def test_signup_and_signout_are_confirmed_visibly(phone: Page) -> None:
    # When a new resident signs up
    sign_up(phone)
    # Then the cabinet says so where they look, not only to screen readers
    expect(phone.locator("#flash")).to_contain_text("Кабінет створено")
    expect(phone.locator("#flash")).to_be_visible()
    # When they sign out
    phone.get_by_role("button", name="Вийти").click()
    # Then the sign-in page says they left, and the cabinet is out of reach
    expect(phone.locator("#flash")).to_have_text("Ви вийшли з кабінету.")
    phone.goto("/#/cabinet")
    expect(phone.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()


def test_qr_signin_with_invalid_token_explains_what_to_do(phone: Page) -> None:
    phone.goto("/#/qr/not-a-real-token")
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("Не вдалося увійти за QR-кодом.")
    expect(alert.locator("p").nth(1)).to_have_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]{3,}"))
    expect(phone.get_by_role("link", name="Увійти за e-mail і паролем")).to_be_visible()


# ---------------------------------------------------------------- cabinet


def test_cabinet_cards_put_choosing_before_removing(phone: Page) -> None:
    # Given a cabinet with 77777 and 88888
    sign_in(phone)
    if not address_card(phone, OTHER_ACCOUNT).count():
        link_address(phone, OTHER_CODE, OTHER_HOLDER)
    card = address_card(phone, OTHER_ACCOUNT)
    expect(card).to_contain_text("Кременчук (05366)")
    # Then "Обрати для роботи" comes before "Видалити" in the tab order, and is the bigger of the two
    choose = card.get_by_role("button", name=re.compile("Обрати для роботи"))
    remove = card.get_by_role("button", name=re.compile("Видалити"))
    choose.focus()
    phone.keyboard.press("Tab")
    expect(remove).to_be_focused()
    choose_box, remove_box = choose.bounding_box(), remove.bounding_box()
    assert choose_box and remove_box
    assert choose_box["width"] * choose_box["height"] > remove_box["width"] * remove_box["height"]
    # And the add-address hint's example is not a code that works
    expect(phone.locator("#add-code-hint")).not_to_contain_text("77777512")


def test_cabinet_links_chooses_and_removes_an_address_with_visible_confirmations(phone: Page) -> None:
    # Given a signed-in resident without account 88888 in the cabinet
    sign_in(phone)
    if address_card(phone, OTHER_ACCOUNT).count():
        remove_address(phone, OTHER_ACCOUNT)
    # When a wrong code is typed, the API's Ukrainian reason is tied to the input
    link_address(phone, "12345")
    expect(phone.locator("#add-code-error")).to_contain_text("8 або 9 цифр")
    expect(phone.get_by_label("Особовий рахунок і SRC-код разом")).to_have_attribute("aria-invalid", "true")
    # When the right one is typed, the address appears and the form says so
    link_address(phone, OTHER_CODE, OTHER_HOLDER)
    card = address_card(phone, OTHER_ACCOUNT)
    expect(card).to_be_visible()
    expect(phone.locator("#add-done")).to_contain_text(OTHER_ACCOUNT)
    # When it is chosen, its Viber QR loads and a link opens the bot with this address on this very phone:
    # the same deep link as the QR code, with this person's token as its context
    card.get_by_role("button", name=re.compile("Обрати для роботи")).click()
    expect(card).to_contain_text("Обрано для роботи")
    qr = phone.get_by_role("img", name=re.compile(f"QR-код Viber.*{OTHER_ACCOUNT}"))
    qr.scroll_into_view_if_needed()
    phone.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    expect(phone.get_by_role("link", name="Відкрити у Viber")).to_have_attribute(
        "href", re.compile(r"^viber://pa\?chatURI=[^&]+&context=[A-Za-z0-9_-]{20,}$")
    )
    expect(phone.locator("#main").get_by_role("link", name="Ввести показники")).to_have_attribute(
        "href", f"#/account/{OTHER_ACCOUNT}"
    )
    # When it is removed: the question is asked in place; "no" keeps it, "yes" removes it, visibly
    card.get_by_role("button", name=re.compile("Видалити")).click()
    card.get_by_role("button", name="Ні, залишити").click()
    expect(card).to_be_visible()
    remove_address(phone, OTHER_ACCOUNT)
    expect(phone.locator("#flash")).to_contain_text("видалено з кабінету")
    phone.reload()
    expect(address_card(phone, ACCOUNT)).to_be_visible()
    expect(address_card(phone, OTHER_ACCOUNT)).to_have_count(0)


def test_cabinet_link_asks_for_the_holders_surname_after_a_mistake(phone: Page) -> None:
    # Given a signed-in resident without 88888, who mistypes its SRC code
    sign_in(phone)
    if address_card(phone, OTHER_ACCOUNT).count():
        remove_address(phone, OTHER_ACCOUNT)
    holder = phone.get_by_label("Прізвище власника рахунку")
    expect(holder).to_be_hidden()
    link_address(phone, "88888001")
    answered = phone.locator("#add-code-error:not(:empty), #add-holder:visible")
    expect(answered.first).to_be_visible()
    # When they type the right code
    link_address(phone, OTHER_CODE)
    # Then the form asks for the holder's surname as the invoice prints it, in Ukrainian
    expect(holder).to_be_visible()
    expect(phone.locator("#add-holder-error")).to_contain_text("прізвище")
    # And with it (in any case) the address is added, and the question goes away
    holder.fill("петренко")
    phone.get_by_role("button", name="Додати адресу").click()
    expect(phone.locator("#add-done")).to_contain_text(OTHER_ACCOUNT)
    expect(address_card(phone, OTHER_ACCOUNT)).to_be_visible()
    expect(phone.get_by_label("Прізвище власника рахунку")).to_be_hidden()


# ---------------------------------------------------------------- statistics


def test_statistics_title_by_kind_marks_bot_months_and_counted_submissions(phone: Page) -> None:
    # Given the cold water meter's statistics
    sign_in(phone)
    open_readings(phone)
    meter_row(phone, "cold_water").get_by_role("link", name=re.compile("Статистика")).click()
    # Then the title names the kind in words and the meter
    expect(phone.get_by_role("heading", level=1)).to_have_text("Статистика: Холодна вода, кухня (№ 7254663)")
    # And the chart draws readable month labels, and marks the months the bot filled in (the seed has them)
    expect(phone.locator(".chart svg[role=img]")).to_be_visible()
    assert phone.locator(".chart .bar--bot").count() >= 1
    assert phone.locator('#months tr[data-mark="bot"]').count() >= 1
    font = phone.locator(".chart .tick").first.evaluate("t => parseFloat(getComputedStyle(t).fontSize)")
    assert font >= 14
    # And the submissions say which one counts for its month, and the channel in Ukrainian
    expect(phone.locator("#submissions .submission--counted").first).to_contain_text("враховано")
    expect(phone.locator("#submissions")).to_contain_text("бот")
    assert_no_horizontal_scroll(phone)
    # And the way back leads to the readings page
    phone.get_by_role("link", name="До введення показників").click()
    expect(phone.get_by_role("button", name="Зберегти показники")).to_be_visible()


# ---------------------------------------------------------------- wide screens


def test_desktop_readings_save_two_meters_in_one_request(desktop: Page) -> None:
    # Given the readings page on a wide screen, meters side by side
    sign_in(desktop)
    open_readings(desktop)
    electricity, water = meter_row(desktop, "electricity"), meter_row(desktop, "cold_water")
    e_box, g_box = electricity.bounding_box(), meter_row(desktop, "gas").bounding_box()
    assert e_box and g_box and abs(e_box["y"] - g_box["y"]) < 2 and g_box["x"] > e_box["x"]
    power = fresh_value(electricity, "6201,5", "6202,5")
    cold = fresh_value(water, "108.25", "108.5")
    # When two readings are typed (one with a decimal comma) and saved with the one button
    reading_input(electricity).fill(power)
    reading_input(water).fill(cold)
    with desktop.expect_request(lambda r: r.method == "POST" and r.url.endswith("/readings")) as sent:
        save(desktop)
    # Then one request carried both rows, the CSRF header and an Idempotency-Key
    request = sent.value
    assert request.headers.get("x-csrf-token") and request.headers.get("idempotency-key")
    assert {row["meter_id"] for row in request.post_data_json["rows"]} == {"77777.1", "77777.3"}
    # And both rows say saved, with the numbers as residents write them, and the summary counts them
    for row, value in ((electricity, power), (water, cold)):
        expect(row.locator(".row-result--saved")).to_contain_text(f"Показник {shown(value)} збережено.")
        expect(reading_input(row)).to_have_value(shown(value))
        expect(row.locator(".source")).to_contain_text(
            re.compile(r"Дані внесено з сайту \d{2}/\d{2}/\d{4} о")
        )
    expect(desktop.locator("#save-summary")).to_have_text("Збережено 2.")
    assert_no_horizontal_scroll(desktop)
