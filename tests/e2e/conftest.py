"""End-to-end tests: the whole local stack (`python -m local.run`) over real HTTP, one per session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from local.launch import StackProcess, running_stack

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 120
CHROMIUM = "/usr/bin/chromium"  # Debian's: `make browser` installs it; nothing is downloaded
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# "  web_qr_77777    http://127.0.0.1:PORT/#/qr/<token>": the invoice QR links the stack prints.
DEMO_LINK = re.compile(r"^\s+(?P<name>(?:web|viber)_qr_\d+)\s+(?P<url>\S+)\s*$")
# "  S3_ENDPOINT_URL   = http://127.0.0.1:PORT  (moto's S3, in memory only)": the settings it chose.
SETTING = re.compile(r"^\s+(?P<name>[A-Z][A-Z0-9_]+)\s+=\s+(?P<value>\S+)")
_printed_links: dict[str, str] = {}
LOG_FILE = ROOT / "test-results" / "local-stack.log"


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so --strict-markers holds even when xdist is disabled (-p no:xdist).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is `e2e` and shares one worker, so one stack serves them all."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("stack"))


def settings_of(stack: StackProcess) -> dict[str, str]:
    """The settings a stack printed at start (NAME = value), e.g. DYNAMODB_ENDPOINT, S3_ENDPOINT_URL."""
    return {match["name"]: match["value"] for line in stack.output if (match := SETTING.match(line))}


@pytest.fixture(scope="session")
def stack() -> Iterator[StackProcess]:
    """A freshly started local stack: real clock, in-memory DynamoDB Local and S3, random key."""

    def remember_links(line: str) -> None:
        if link := DEMO_LINK.match(line):
            _printed_links[link["name"]] = link["url"]

    try:
        with running_stack(on_line=remember_links, timeout=STARTUP_TIMEOUT) as started:
            try:
                yield started
            finally:
                LOG_FILE.parent.mkdir(exist_ok=True)
                LOG_FILE.write_text("".join(started.output), encoding="utf-8")
    except RuntimeError as exc:  # it never printed READY: the reason is in what it printed
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def stack_url(stack: StackProcess) -> str:
    """The base URL of the session's local stack."""
    return stack.url


@pytest.fixture(scope="session")
def demo_links(stack_url: str) -> dict[str, str]:
    """The invoice QR links of the demo accounts, as the stack printed them at start."""
    assert "web_qr_77777" in _printed_links, f"the stack printed no demo QR links: {_printed_links}"
    return dict(_printed_links)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One Chromium for the whole run."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
