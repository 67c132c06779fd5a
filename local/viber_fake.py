"""A local stand-in for Viber: its REST API (recording what the bot sends) and a chat simulator page.

Mounted at `/_local/viber` by the local stack (`mount(gateway)`); VIBER_API_URL points at its `/pa`:

- `POST /_local/viber/pa/<endpoint>`   Viber's REST API: send_message is checked like Viber does (auth
                                       token, receiver, text) and recorded; `{"status": 0, ...}` back.
- `GET  /_local/viber/sent`            the recorded bodies, oldest first (`?receiver=<id>` narrows them),
                                       never with the auth token. `DELETE` forgets them.
- `POST /_local/viber/fail`            `{"count": n, "status": s}` or `{"count": n, "http": 500}`: the next
                                       n sends fail so (to try an undelivered confirmation).
- `GET  /_local/viber/`                the chat simulator (`local/viber_simulator/`).
- `POST /_local/viber/callback`        a callback from the simulator, signed with the auth token as
                                       Viber signs it and posted to the real webhook over HTTP.
- `GET  /_local/viber/demo`            the demo invoice's Viber QR context (account 77777).

Everything is plain functions of (method, path, query, headers, body); `wsgi_app` serves it on the
local gateway's WSGI mount.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

PREFIX = "/_local/viber"
ROOT = Path(__file__).resolve().parent.parent
STATIC = Path(__file__).resolve().parent / "viber_simulator"
WEBHOOK_PATH = "/viber/webhook"
DEMO_ACCOUNT = "77777"
MAX_BODY = 64 * 1024
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css",
}

Answer = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, payload: Any) -> Answer:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return status, [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")], body


@dataclass
class ViberFake:
    """The fake's state: what the bot sent, and failures armed for the next sends."""

    auth_token: Callable[[], str] = lambda: os.environ.get("VIBER_AUTH_TOKEN", "")
    webhook_url: Callable[[], str] = lambda: os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:3000")
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: Iterable[int] = field(default_factory=lambda: itertools.count(5_000_000_000_000_000_000))

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one request; `path` is relative to the mount point."""
        path = path or "/"
        if path.startswith("/pa/"):
            return self._api(method, path.removeprefix("/pa/"), headers, body)
        if path == "/sent":
            return self._sent(method, query)
        if path == "/fail" and method == "POST":
            return self._arm(body)
        if path == "/callback" and method == "POST":
            return self._callback(body)
        if path == "/demo" and method == "GET":
            return self._demo()
        if method in ("GET", "HEAD"):
            return self._static("index.html" if path == "/" else path.lstrip("/"))
        return _json(405, {"message": "Method Not Allowed"})

    # ---- Viber's REST API ----

    def _api(self, method: str, endpoint: str, headers: dict[str, str], body: bytes) -> Answer:
        if method != "POST":
            return _json(405, {"message": "Viber's API takes POST"})
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _json(200, {"status": 3, "status_message": "badData"})
        if not isinstance(payload, dict):
            return _json(200, {"status": 3, "status_message": "badData"})
        token = headers.get("x-viber-auth-token") or payload.get("auth_token")
        expected = self.auth_token()
        if not token or not expected or not hmac.compare_digest(str(token), expected):
            return _json(200, {"status": 2, "status_message": "invalidAuthToken"})
        if endpoint == "set_webhook":
            return _json(
                200, {"status": 0, "status_message": "ok", "event_types": payload.get("event_types")}
            )
        if endpoint == "get_account_info":
            return _json(200, {"status": 0, "status_message": "ok", "name": "ВАСя (local)", "uri": "local"})
        if endpoint != "send_message":
            return _json(200, {"status": 1, "status_message": "invalidUrl"})
        with self._lock:
            if self.failures:
                failure = self.failures[0]
                failure["count"] -= 1
                if failure["count"] <= 0:
                    self.failures.pop(0)
                if "http" in failure:
                    return _json(failure["http"], {"message": "armed failure"})
                return _json(200, {"status": failure.get("status", 3), "status_message": "armed failure"})
        missing = [name for name in ("receiver", "type") if not payload.get(name)]
        if payload.get("type") == "text" and not payload.get("text"):
            missing.append("text")
        if missing:
            return _json(200, {"status": 4, "status_message": f"missingData: {', '.join(missing)}"})
        if len(body) > 30_000:
            return _json(200, {"status": 3, "status_message": "badData: the request is over 30 kB"})
        recorded = {k: v for k, v in payload.items() if k != "auth_token"}
        with self._lock:
            token_value = next(self._tokens)  # type: ignore[call-overload]
            self.sent.append(recorded)
        return _json(200, {"status": 0, "status_message": "ok", "message_token": token_value})

    def _sent(self, method: str, query: str) -> Answer:
        if method == "DELETE":
            with self._lock:
                self.sent.clear()
                self.failures.clear()
            return _json(200, [])
        receiver = (parse_qs(query).get("receiver") or [None])[0]
        with self._lock:
            found = [m for m in self.sent if receiver is None or m.get("receiver") == receiver]
        return _json(200, found)

    def _arm(self, body: bytes) -> Answer:
        try:
            spec = json.loads(body or b"{}")
            failure = {"count": int(spec.get("count", 1))}
            if "http" in spec:
                failure["http"] = int(spec["http"])
            else:
                failure["status"] = int(spec.get("status", 3))
        except (ValueError, TypeError, AttributeError):
            return _json(400, {"message": 'POST {"count": 1, "status": 3} or {"count": 1, "http": 500}'})
        with self._lock:
            self.failures.append(failure)
        return _json(200, {"armed": failure})

    # ---- the simulator's side ----

    def _callback(self, body: bytes) -> Answer:
        """Sign a callback as Viber does and post it to the real webhook; its answer back."""
        if len(body) > MAX_BODY:
            return _json(413, {"message": "too large"})
        signature = hmac.new(self.auth_token().encode(), body, hashlib.sha256).hexdigest()
        url = self.webhook_url().rstrip("/") + WEBHOOK_PATH
        if not url.startswith(("http://", "https://")):
            return _json(500, {"message": f"PUBLIC_BASE_URL is not an http(s) address: {url}"})
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Viber-Content-Signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (checked above)
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except OSError as exc:
            return _json(502, {"message": f"the webhook did not answer: {exc}"})
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw.decode(errors="replace")
        return _json(200, {"status": status, "body": answer})

    def _demo(self) -> Answer:
        try:
            _layer_on_path()
            from ekc.services import qrcodes

            link = qrcodes.viber_link(DEMO_ACCOUNT)
        except Exception as exc:  # a missing signing key: say so on the page
            return _json(500, {"message": f"cannot make the demo QR link: {exc}"})
        return _json(200, {"account": DEMO_ACCOUNT, "link": link, "context": link.split("context=", 1)[1]})

    def _static(self, name: str) -> Answer:
        root = STATIC.resolve()
        candidate = (root / name).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file() or name.startswith("."):
            return 404, [("Content-Type", "text/plain; charset=utf-8")], b"Not Found\n"
        content_type = CONTENT_TYPES.get(candidate.suffix, "application/octet-stream")
        return 200, [("Content-Type", content_type), ("Cache-Control", "no-cache")], candidate.read_bytes()


def _layer_on_path() -> None:
    layer = str(ROOT / "layers" / "common" / "python")
    if layer not in sys.path:
        sys.path.append(layer)


# ---- adapters ------------------------------------------------------------------------------------


def wsgi_app(fake: ViberFake) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The fake as a WSGI app that sees paths relative to its mount point."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        status, out_headers, out = fake.handle(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO") or "/",
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
        # Every status with its phrase: WSGI servers refuse a bare "503" (an armed failure's status).
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        start_response(f"{status} {reason}", [*out_headers, ("Content-Length", str(len(out)))])
        return [out]

    return app


def mount(gateway: Any, fake: ViberFake | None = None) -> ViberFake:
    """Serve the fake and the simulator at /_local/viber on the local gateway (a WSGI mount)."""
    fake = fake or ViberFake()
    gateway.mount(PREFIX, wsgi_app(fake))
    return fake
