"""A fake mailbox for the local stack: Amazon SES v2's `SendEmail` at `/_local/mail/ses`, and a page at
`/_local/mail/` that shows every letter sent (newest first), so password recovery can be tried locally.

The web API sends with the same boto3 code as in AWS, only pointed here by MAIL_ENDPOINT_URL; the
signature boto3 adds is not checked (nothing here is secret). Letters live in memory, in the gateway's
process, until the stack stops; `Mailbox.wsgi` is what `local.gateway` mounts.
"""

from __future__ import annotations

import html
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

MOUNT = "/_local/mail"
SEND_PATH = "/ses/v2/email/outbound-emails"
MAX_LETTERS = 200
_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Sent:
    """A letter as SES was asked to send it."""

    id: str
    at: str
    sender: str
    to: list[str]
    subject: str
    text: str


Answer = tuple[int, str, bytes]  # status, content type, body


class Mailbox:
    """Letters sent through the fake SES endpoint, kept in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._letters: list[Sent] = []

    def letters(self) -> list[Sent]:
        """Every letter, newest first."""
        with self._lock:
            return list(reversed(self._letters))

    def answer(self, method: str, path: str, body: bytes) -> Answer:
        """The answer to a request for `path` (relative to the mount)."""
        if method == "POST" and path == SEND_PATH:
            return self._send(body)
        if method in ("GET", "HEAD") and path in ("", "/"):
            return 200, "text/html; charset=utf-8", self._page().encode()
        if method in ("GET", "HEAD") and path == "/messages.json":
            payload = json.dumps([asdict(s) for s in self.letters()], ensure_ascii=False)
            return 200, "application/json", payload.encode()
        return 404, "application/json", b'{"message":"Not Found"}'

    def _send(self, body: bytes) -> Answer:
        try:
            request = json.loads(body or b"{}")
            simple = request["Content"]["Simple"]
            letter = Sent(
                id=uuid.uuid4().hex,
                at=datetime.now(UTC).isoformat(timespec="seconds"),
                sender=str(request.get("FromEmailAddress", "")),
                to=[str(a) for a in request.get("Destination", {}).get("ToAddresses", [])],
                subject=str(simple["Subject"]["Data"]),
                text=str(simple["Body"].get("Text", {}).get("Data", "")),
            )
        except (ValueError, KeyError, TypeError):
            error = {"__type": "BadRequestException", "message": "Only Simple content is faked here"}
            return 400, "application/json", json.dumps(error).encode()
        with self._lock:
            self._letters = [*self._letters, letter][-MAX_LETTERS:]
        print(f"MAIL to {', '.join(letter.to)}: {letter.subject}  (see {MOUNT}/)", flush=True)
        return 200, "application/json", json.dumps({"MessageId": letter.id}).encode()

    def _page(self) -> str:
        items = []
        for s in self.letters():
            text = _URL.sub(lambda m: f'<a href="{m[0]}">{m[0]}</a>', html.escape(s.text, quote=False))
            items.append(
                f"<article><h2>{html.escape(s.subject)}</h2>"
                f"<p>Кому: {html.escape(', '.join(s.to))}<br>Від: {html.escape(s.sender)}<br>"
                f"Надіслано: {html.escape(s.at)}</p><pre>{text}</pre></article>"
            )
        letters = "".join(items) or "<p>Листів ще не надсилали.</p>"
        return (
            '<!doctype html><html lang="uk"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Локальна пошта</title></head><body><main>"
            "<h1>Локальна пошта</h1><p>Листи, які сервіс надіслав би через Amazon SES (лише локально).</p>"
            f"{letters}</main></body></html>"
        )

    # ---- the two faces ------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: paths relative to the mount (PATH_INFO), as a WSGI gateway hands them over."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, content_type, payload = self.answer(
            environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body
        )
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", [("Content-Type", content_type)])
        return [payload]


MAILBOX = Mailbox()


def environment(base_url: str) -> dict[str, tuple[str, str]]:
    """The local stack's defaults that send mail here and show demo phone lines on the sign-in page."""
    return {
        "MAIL_FROM": ("kabinet@localhost", "local mailbox"),
        "MAIL_ENDPOINT_URL": (f"{base_url}{MOUNT}/ses", "local mailbox"),
        "KEYPAD_PHONE_NUMBER": ("+380 536 00 00 01", "demo"),
        "VOICE_PHONE_NUMBER": ("+380 536 00 00 02", "demo"),
    }
