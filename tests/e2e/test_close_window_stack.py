"""Issue 9's "done": on fresh demo data, `make close-window NOW=<a minute after the electricity window
closes>` beside a running stack writes the demo electricity meter's bot reading (the cabinet shows it
as the bot's) and an export a utility could load; a second run changes nothing."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from local.seed import demo_organizations
from tests.e2e.test_billing_cli import Stack, stack  # noqa: F401 - a stack of this module's own
from tests.e2e.test_http_flow import Resident

ROOT = Path(__file__).resolve().parents[2]


def _close_window(url: str, now: str) -> subprocess.CompletedProcess[str]:
    """The README's command, as a newcomer types it in a second terminal."""
    port = url.rsplit(":", 1)[1].rstrip("/")
    return subprocess.run(
        ["make", "--no-print-directory", "close-window", f"PORT={port}", f"NOW={now}", "ORG=electricity"],
        cwd=ROOT,
        env={n: v for n, v in os.environ.items() if n not in ("MAKEFLAGS", "MFLAGS")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_close_window_beside_the_stack_writes_the_bot_reading_and_the_export_once(stack: Stack) -> None:  # noqa: F811
    # Given the fresh demo: 77777's electricity meter has its bot on and no reading this month
    resident = Resident(stack.url)
    signed_in = resident.call(
        "POST", "/api/auth/signin", {"email": "demo@example.com", "password": "demo12345"}
    )
    assert signed_in.status_code == 200, signed_in.text
    meters = resident.call("GET", "/api/accounts/77777").json()["meters"]
    light = next(m for m in meters if m["kind"] == "electricity")
    assert light["bot"]["enabled"] is True and light["current"] is None
    orgs, month = demo_organizations(datetime.now(UTC))
    ends = next(o for o in orgs if o.id == "electricity").rule.bounds(month)[1]
    minute_after = (ends + timedelta(minutes=1)).isoformat()
    # When `make close-window NOW=<a minute after it closed>` runs beside the stack
    first = _close_window(stack.url, minute_after)
    # Then it says what the bots did and where the export is, as an address that downloads it
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bot readings: 1 written by this run, 1 in the export" in first.stdout
    export_url = next(
        line.split("export:", 1)[1].strip() for line in first.stdout.splitlines() if "export:" in line
    )
    assert export_url.startswith("http://") and f"/exports/electricity/{month}.csv?" in export_url
    export = requests.get(export_url, timeout=30)
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    # And the export has a row for every electricity meter, the bot's for 77777's
    ours = next(r for r in rows if r["account"] == "77777")
    assert ours["status"] == "reading" and ours["channel"] == "bot" and "bot" in ours["flags"].split(";")
    expected = float(light["previous"]["value"]) + float(light["bot"]["amount"])
    assert float(ours["value"]) == expected
    # And the cabinet shows it as the bot's reading
    after = next(
        m for m in resident.call("GET", "/api/accounts/77777").json()["meters"] if m["id"] == light["id"]
    )
    assert float(after["current"]["value"]) == expected
    assert after["current"]["source_label"].startswith("Дані внесено ботом автоматично")
    # When it runs again, nothing changes and the file is the same
    again = _close_window(stack.url, minute_after)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already closed, nothing changed" in again.stdout
    assert requests.get(export_url, timeout=30).content == export.content
