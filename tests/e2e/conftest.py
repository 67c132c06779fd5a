"""End-to-end tests: the whole local stack (`python -m local.run`) over real HTTP, one per session."""

from __future__ import annotations

import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

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
_printed_links: dict[str, str] = {}
LOG_FILE = ROOT / "test-results" / "local-stack.log"
# The stack chooses these itself; a developer's shell values would make the run depend on the machine.
STACK_CHOOSES = (
    "LOCAL_NOW",
    "DYNAMODB_ENDPOINT",
    "PUBLIC_BASE_URL",
    "VIBER_API_URL",
    "PORT",
    "TABLE_NAME",
    "STAGE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so --strict-markers holds even when xdist is disabled (-p no:xdist).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is `e2e` and shares one worker, so one stack serves them all."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("stack"))


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        # SIGTERM lets local.run stop DynamoDB Local cleanly.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
            process.wait()


@pytest.fixture(scope="session")
def stack_url() -> Iterator[str]:
    """The base URL of a freshly started local stack: real clock, in-memory DynamoDB Local, random key."""
    env = {name: value for name, value in os.environ.items() if name not in STACK_CHOOSES}
    env.update(TOKEN_SIGNING_KEY=secrets.token_urlsafe(48), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run", "--port", "0", "--in-memory"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    ready: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        # Keep draining for the whole session, or the stack would block on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if link := DEMO_LINK.match(line):
                _printed_links[link["name"]] = link["url"]
            if line.startswith("READY "):
                ready.put(line.split()[1])
        ready.put(None)

    threading.Thread(target=read, name="local-stack-output", daemon=True).start()
    try:
        url = ready.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        url = None
    if url is None:
        _stop(process)
        pytest.fail(f"the local stack did not print READY within {STARTUP_TIMEOUT} s:\n{''.join(output)}")
    try:
        yield url
    finally:
        _stop(process)
        LOG_FILE.parent.mkdir(exist_ok=True)
        LOG_FILE.write_text("".join(output), encoding="utf-8")


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
