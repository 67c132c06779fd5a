"""axe-core (from npm, run in Debian's Chromium) finds no serious accessibility fault on any cabinet page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_browser import DESKTOP, PHONE, meter_row, reading_input, save, sign_in

AXE = Path(__file__).resolve().parents[2] / "local" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}
WCAG_AA = "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}"


@pytest.fixture
def audited(chromium: Browser, stack_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page whose context lets the test inject axe past the cabinet's Content-Security-Policy."""
    viewport = request.param
    touch = viewport == PHONE
    context = chromium.new_context(
        base_url=stack_url,
        viewport=viewport,
        locale="uk-UA",
        bypass_csp=True,
        has_touch=touch,
        is_mobile=touch,
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; the serious and critical findings, with where they are."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(f"() => axe.run(document, {WCAG_AA})")
    return [
        {"rule": v["id"], "impact": v["impact"], "where": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("audited", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
def test_accessibility_every_page_has_no_serious_wcag_fault(audited: Page) -> None:
    page = audited
    assert AXE.is_file(), "axe-core is missing: make test installs it with npm ci in local/"
    # The sign-in page, and the password recovery page
    page.goto("/#/signin")
    expect(page.get_by_role("heading", name="Вхід до персонального кабінету")).to_be_visible()
    expect(page.locator("#doors-heading")).to_be_visible()
    found = {"signin": serious_violations(page)}
    page.goto("/#/recovery")
    expect(page.get_by_role("heading", name="Відновлення пароля")).to_be_visible()
    found["recovery"] = serious_violations(page)
    page.goto("/#/reset/not-a-token")
    expect(page.get_by_role("heading", name="Новий пароль")).to_be_visible()
    found["reset"] = serious_violations(page)
    # The cabinet, with the chosen address's QR code and a removal asked in place
    sign_in(page)
    expect(page.locator("#open-viber")).to_be_visible()
    page.locator('#addresses li[data-account="77777"]').get_by_role("button", name="Видалити").click()
    found["cabinet"] = serious_violations(page)
    # The readings page, folded parts open, with a refusal and a question shown
    page.goto("/#/account/77777")
    expect(page.get_by_role("button", name="Зберегти показники")).to_be_visible()
    page.locator("#account-more summary").click()
    page.locator('li.meter[data-kind="gas"] details.bot summary').click()
    reading_input(meter_row(page, "cold_water")).fill("12a")
    reading_input(meter_row(page, "gas")).fill("99999")
    save(page)
    expect(meter_row(page, "gas").locator(".row-result--needs_confirmation")).to_be_visible()
    found["readings"] = serious_violations(page)
    # A meter's statistics
    page.goto("/#/account/77777/meter/77777.3")
    expect(page.get_by_role("heading", level=1)).to_contain_text("7254663")
    found["statistics"] = serious_violations(page)
    assert {name: faults for name, faults in found.items() if faults} == {}
