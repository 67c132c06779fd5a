"""Password recovery in a real browser, through the local stack's fake mailbox (/_local/mail/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import phone, sign_up

pytestmark = pytest.mark.e2e
__all__ = ["phone"]  # the fixture, shared with test_browser.py


def test_recovery_by_email_through_the_fake_mailbox(phone: Page) -> None:
    # Given a resident with a cabinet who signed out and forgot the password
    email = sign_up(phone)
    phone.get_by_role("button", name="Вийти").click()
    expect(phone.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()
    # When they ask for a recovery link
    phone.get_by_role("link", name="Забули пароль?").click()
    phone.get_by_label("Електронна пошта (e-mail)").fill(email)
    phone.get_by_role("button", name="Надіслати посилання").click()
    # Then the page says a letter went out (if the address is known) and for how long the link works
    expect(phone.locator("#recovery-done")).to_contain_text("Посилання діє 60 хвилин")
    # And the letter is in the local mailbox, in Ukrainian, with the link
    phone.goto("/_local/mail/")
    letter = phone.locator("article", has=phone.get_by_text(email)).first
    expect(letter).to_contain_text("Відновлення пароля")
    href = letter.locator("a[href*='/#/reset/']").get_attribute("href") or ""
    # When the resident opens it and sets a new password
    phone.goto(href)
    expect(phone.get_by_role("heading", name="Новий пароль")).to_be_visible()
    phone.get_by_label("Придумайте пароль").fill("short")
    phone.get_by_role("button", name="Зберегти пароль").click()
    expect(phone.locator("#reset-error")).to_contain_text("щонайменше 8 символів")
    phone.get_by_label("Придумайте пароль").fill("second-password-2")
    phone.get_by_role("button", name="Зберегти пароль").click()
    # Then they are signed in with it, and told so
    expect(phone.get_by_role("heading", name="Персональний кабінет", level=1)).to_be_visible()
    expect(phone.locator("#flash")).to_contain_text("Пароль змінено")
    expect(phone.locator("#who")).to_contain_text(email)
    # And the link does not work a second time
    phone.goto(href)
    phone.get_by_label("Придумайте пароль").fill("third-password-3")
    phone.get_by_role("button", name="Зберегти пароль").click()
    expect(phone.locator("#reset-error")).to_contain_text("уже використане")
