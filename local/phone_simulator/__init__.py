"""The local phone simulator: a page at /_local/phone/ that calls the phone lines as the provider does.

The page (index.html, phone.js) plays the provider and the caller: it follows the TwiML (Say, Pause,
Gather, Redirect, Hangup), shows and speaks the robot's words, and sends keys or "what the caller says"
to the Gather's action. This server side only signs: the page posts `{"url", "form"}` (the url is a
Gather's action, or `/ivr/<line>` to dial) to
`/_local/phone/webhook`, which adds `X-Twilio-Signature` (with the stack's TWILIO_AUTH_TOKEN, over the
URL) and forwards the request over real HTTP to the webhook at PUBLIC_BASE_URL, so the function sees
exactly what the provider would send it.

`wsgi(environ, start_response)` is mounted by local.run on the gateway (`gateway.mount(PREFIX, wsgi)`);
it calls `handle(method, path, body)`, where `path` is relative to the mount.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

PREFIX = "/_local/phone"
HERE = Path(__file__).resolve().parent
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "phone.js": "text/javascript; charset=utf-8",
    "phone.css": "text/css; charset=utf-8",
}
# The page loads only its own files and talks only to this server.
PAGE_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
]
# The provider gives up after 15 s.
WEBHOOK_TIMEOUT_SECONDS = 15
MAX_FORM_FIELDS = 40

Answer = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, payload: Any) -> Answer:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return status, [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")], body


def _settings() -> tuple[str, str]:
    """The stack's public base URL and provider token, as local.run chose them."""
    base = (os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:3000").rstrip("/")
    return base, os.environ.get("TWILIO_AUTH_TOKEN", "")


def _sign(token: str, url: str, form: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, form)


def forward(url: str, form: dict[str, str]) -> Answer:
    """Sign a webhook request as the provider does and post it to the phone line; the TwiML comes back."""
    base, token = _settings()
    if url.startswith("/ivr/"):  # the line's number: its webhook at the stack's public address
        url = base + url
    parts = urlsplit(url)
    if not url.startswith(f"{base}/ivr/") or parts.fragment or not token:
        return _json(400, {"error": "only the phone lines at PUBLIC_BASE_URL/ivr/... are called"})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "X-Twilio-Signature": _sign(token, url, form),
        "User-Agent": "TwilioProxy/1.1 (local phone simulator)",
    }
    request = urllib.request.Request(url, urlencode(form).encode(), headers, method="POST")  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError) as exc:
        return _json(502, {"error": f"the phone line did not answer: {exc}"})
    return _json(200, {"status": status, "twiml": body.decode("utf-8", errors="replace")})


def _webhook(body: bytes) -> Answer:
    try:
        request = json.loads(body or b"{}")
        url, form = request["url"], request["form"]
        if not isinstance(url, str) or not isinstance(form, dict) or len(form) > MAX_FORM_FIELDS:
            raise ValueError("bad shape")
        fields = {str(k): str(v) for k, v in form.items()}
    except (ValueError, KeyError, TypeError):
        return _json(400, {"error": 'expected {"url": ..., "form": {...}}'})
    return forward(url, fields)


def handle(method: str, path: str, body: bytes) -> Answer:
    """The simulator's answer to a request for `path` (relative to the mount)."""
    if path in ("", "/"):
        path = "/index.html"
    if path == "/webhook":
        if method != "POST":
            return 405, [("Allow", "POST")], b""
        return _webhook(body)
    name = path.lstrip("/")
    if name not in STATIC:
        return 404, [("Content-Type", "text/plain; charset=utf-8")], b"Not Found\n"
    if method not in ("GET", "HEAD"):
        return 405, [("Allow", "GET, HEAD")], b""
    headers = [("Content-Type", STATIC[name]), *PAGE_HEADERS]
    return 200, headers, (HERE / name).read_bytes()


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Entry point for a WSGI mount (PATH_INFO relative to the mount)."""
    path = environ.get("PATH_INFO") or ""
    if path == "":
        start_response("308 Permanent Redirect", [("Location", f"{environ.get('SCRIPT_NAME', PREFIX)}/")])
        return [b""]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    status, headers, payload = handle(environ.get("REQUEST_METHOD", "GET"), path, body)
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 502: "Bad Gateway"}
    start_response(f"{status} {reasons.get(status, 'Status')}", headers)
    return [payload]
