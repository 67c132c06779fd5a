"""The chat simulator in Chromium: a newcomer taps the demo QR, hands in every open meter by tapping and
typing, and sees the same values, with source Viber, in the web cabinet.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_browser import meter_row, open_readings, shown, sign_in

# The demo's open meters, their kinds on the cabinet page, and plausible new values for this month.
OPEN_METERS = {
    "77777.1": ("electricity", lambda: f"{random.randint(6180, 6260)}.{random.randint(100, 999)}"),
    "77777.2": ("gas", lambda: f"{random.randint(202, 209)}.{random.randint(100, 999)}"),
    "77777.3": ("cold_water", lambda: f"{random.randint(106, 108)}.{random.randint(100, 999)}"),
}


@pytest.fixture
def page(chromium: Browser, stack_url: str) -> Iterator[Page]:
    """A fresh browser page on the stack; fails on uncaught script errors."""
    context = chromium.new_context(
        base_url=stack_url, viewport={"width": 1280, "height": 900}, locale="uk-UA", timezone_id="Europe/Kyiv"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def keyboard_button(page: Page, action: str) -> object:
    """The simulator's keyboard button that sends `action`."""
    return page.locator(f'#keyboard button[data-action="{action}"]')


def tap(page: Page, action: str) -> None:
    """Tap a keyboard button and wait for the bot's answer."""
    bubbles = page.locator("li.bubble--bot").count()
    keyboard_button(page, action).click()  # type: ignore[attr-defined]
    expect(page.locator("li.bubble--bot")).not_to_have_count(bubbles)


def go_to_meter(page: Page, meter_id: str) -> None:
    """From wherever the chat is, the meter's prompt: through the address list when it is not offered."""
    action = f"Лічильник {meter_id}"
    if not keyboard_button(page, action).count():  # type: ignore[attr-defined]
        if not keyboard_button(page, "Введення показників").count():  # type: ignore[attr-defined]
            tap(page, "Повернутися до головного меню")
        tap(page, "Введення показників")
        tap(page, "Показники о/р 77777")
    tap(page, action)
    expect(page.locator("li.bubble--bot").last).to_contain_text("Введіть показник числом")


def test_viber_simulator_newcomer_hands_in_every_open_meter_and_sees_them_in_the_cabinet(page: Page) -> None:
    # Given the chat simulator linked from the stack's start-up text
    page.goto("/_local/viber/")
    expect(page.get_by_role("heading", name="ВАСя")).to_be_visible()
    # When a newcomer taps the demo invoice's QR
    page.get_by_role("button", name=re.compile("Відсканувати QR-код")).click()
    # Then ВАСя welcomes them with 77777 linked, and the main menu in the seed's colours
    expect(page.locator("li.bubble--bot").last).to_contain_text("Рахунок 77777")
    expect(keyboard_button(page, "Особовий кабінет")).to_have_css("background-color", "rgb(165, 214, 167)")
    expect(keyboard_button(page, "Введення показників")).to_have_css("background-color", "rgb(255, 183, 77)")
    # When they hand in every open meter by tapping and typing
    typed: dict[str, str] = {}
    for meter_id, (_, make_value) in OPEN_METERS.items():
        go_to_meter(page, meter_id)
        typed[meter_id] = make_value()
        page.get_by_role("textbox", name="Повідомлення").fill(typed[meter_id])
        page.get_by_role("button", name="Надіслати").click()
        # Then each one is confirmed in the chat
        expect(page.locator("li.bubble--bot").last).to_contain_text(f"Показник {typed[meter_id]}")
        expect(page.locator("li.bubble--bot").last).to_contain_text("збережено")
    expect(page.locator("li.bubble--bot").last).to_contain_text("Усі показники")
    # And the web cabinet shows the same values, handed in through Viber
    sign_in(page)
    open_readings(page)
    for meter_id, (kind, _) in OPEN_METERS.items():
        row = meter_row(page, kind)
        # (the cabinet writes numbers as residents do: 6226,689)
        expect(row.locator("input.reading-input")).to_have_value(shown(typed[meter_id]))
        expect(row).to_contain_text("Viber")
