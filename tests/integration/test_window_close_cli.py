"""`make close-window` (local/close_window.py) on the demo: what it asks the function, what it prints.

The function is reached as the local stack reaches it, over HTTP at `/_local/invoke/WindowCloseFunction`
(here a small server in front of the real handler, on moto), or directly through the handler.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from local import close_window
from local.seed import demo_organizations
from tests.integration.conftest import NOW

_ORGS, _MONTH = demo_organizations(NOW)
ENDS = next(o for o in _ORGS if o.id == "electricity").rule.bounds(_MONTH)[1]
A_MINUTE_AFTER = (ENDS + timedelta(minutes=1)).isoformat()


class Context:
    """A Lambda context with 15 minutes left."""

    function_name = "window-close-local"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:window-close-local"
    aws_request_id = "0b9d7c1e-2f3a-4b5c-8d6e-7f8091a2b3c4"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def direct(event: dict[str, Any]) -> dict[str, Any]:
    """The handler, called as the local stack's worker calls it."""
    from functions.window_close import app

    return app.lambda_handler(event, Context())


@pytest.fixture
def stack(table: Any, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo seeded, its data bucket, and one shard at a time (moto is not safe for threads)."""
    from ekc.config import close_settings

    boto3.client("s3", region_name="eu-central-1").create_bucket(
        Bucket="meter-readings-data", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    monkeypatch.setenv("CLOSE_WORKERS", "1")
    monkeypatch.setenv("CLOSE_LOOKBACK_WINDOWS", "1")
    close_settings.cache_clear()
    yield


@pytest.fixture
def gateway(stack: None) -> Iterator[str]:
    """An HTTP server answering `POST /_local/invoke/WindowCloseFunction` as the local stack does."""

    class Invoke(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/_local/invoke/WindowCloseFunction":
                self.send_response(404)
                self.end_headers()
                return
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(direct(event)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Invoke)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_close_window_cli_closes_what_has_closed_by_now_and_says_what_it_did(stack: None) -> None:
    # Given the fresh demo, and a minute after its electricity window closed
    out = io.StringIO()
    # When `make close-window NOW=...` runs
    code = close_window.main(["--now", A_MINUTE_AFTER], invoke=direct, out=out)
    text = out.getvalue()
    # Then it closed every window closed by then, with progress, the bots' work, the rows and the files
    assert code == 0, text
    assert "Window close at 2026-11-27 00:01:00 Kyiv time: 4 closed windows, 4 to close." in text
    assert "electricity 2026-11 (closed 2026-11-26 23:59:59)" in text
    assert "  shards [################################] 32/32" in text
    electricity = text.split("electricity 2026-11", 1)[1].split("\n\n", 1)[0]
    assert "bot readings: 1 written by this run, 1 in the export" in electricity
    assert "export rows: 2 (1 without a reading)" in electricity
    assert "export:   s3://meter-readings-data/exports/electricity/2026-11.csv" in electricity
    # When it runs again
    again = io.StringIO()
    assert close_window.main(["--now", A_MINUTE_AFTER], invoke=direct, out=again) == 0
    # Then nothing changed, and it says so, with the same files
    assert again.getvalue().count("already closed, nothing changed") == 4
    assert "bot readings: 0 written by this run, 1 in the export" in again.getvalue()


def test_close_window_cli_over_the_local_stacks_invoke_route(gateway: str) -> None:
    # Given the local stack's invoke route; NOW without an offset is Kyiv time
    out = io.StringIO()
    kyiv_minute_after = "2026-11-27T00:01"
    # When one organization's window is closed through it
    code = close_window.main(
        ["--url", gateway, "--org", "electricity", "--month", "2026-11", "--now", kyiv_minute_after],
        out=out,
    )
    # Then it went over HTTP and closed that window only
    assert code == 0, out.getvalue()
    assert "1 closed windows, 1 to close." in out.getvalue()
    assert "bot readings: 1 written by this run" in out.getvalue()
    # And a window not closed at that time is refused with the function's reason
    err = io.StringIO()
    with pytest.raises(close_window.StackError) as refused:
        close_window.close_windows(
            close_window.http_invoke(gateway),
            org="gas",
            month="2026-11",
            now="2026-11-27T00:01+02:00",
            out=err,
        )
    assert "window_not_closed" in str(refused.value)


def test_close_window_cli_says_when_the_stack_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no local stack on the port
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When make close-window runs
    code = close_window.main(["--url", f"http://127.0.0.1:{port}"], out=io.StringIO())
    # Then it says how to start one
    assert code == 1
    assert "Is `make run` running?" in capsys.readouterr().err


def test_close_window_cli_says_when_the_stack_has_no_invoke_route(gateway: str) -> None:
    with pytest.raises(close_window.StackError) as missing:
        close_window.http_invoke(gateway.replace("/_local", "") + "/nothing-here")({"plan": True})
    assert "answered 404" in str(missing.value)
