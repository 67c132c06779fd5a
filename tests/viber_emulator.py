"""A Viber client emulator for the tests: callbacks shaped like Viber's (tests/events/viber_*.json), signed
with the bot's auth token as Viber signs them, posted to the webhook; the bot's answers read back from
the fake Viber API's record. The transport is pluggable: real HTTP to the local stack, or the handler.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent / "events"
MESSAGE = json.loads((EVENTS / "viber_message.json").read_text(encoding="utf-8"))
STARTED = json.loads((EVENTS / "viber_conversation_started.json").read_text(encoding="utf-8"))

# (raw body, headers) -> (HTTP status, decoded JSON body or None)
Post = Callable[[bytes, dict[str, str]], tuple[int, Any]]
# receiver -> every message the bot sent to them, oldest first
Sent = Callable[[str], list[dict[str, Any]]]

_tokens = itertools.count(6_000_000_000_000_000_000 + secrets.randbelow(10**15))


def sign(body: bytes, auth_token: str) -> str:
    """X-Viber-Content-Signature: hex HMAC-SHA256 of the raw body with the auth token."""
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def new_user_id() -> str:
    """A fresh Viber user id (Viber's are base64 of 16 bytes)."""
    return secrets.token_urlsafe(16)[:22] + "=="


@dataclass
class ViberUser:
    """One Viber user chatting with the bot, keeping the tracking data Viber would hand back."""

    post: Post
    sent: Sent
    auth_token: str
    user_id: str = field(default_factory=new_user_id)
    tracking: str | None = None
    seen: int = 0
    last_token: int = 0

    def send(
        self, payload: dict[str, Any], *, signature: str | None = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        """Post a callback (signed correctly unless `signature` says otherwise)."""
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        signed = sign(body, self.auth_token) if signature is None else signature
        if signed:
            headers["X-Viber-Content-Signature"] = signed
        return self.post(body, headers)

    def start(self, context: str | None = None, token: int | None = None) -> tuple[int, Any]:
        """Open the chat (scanning the invoice's QR when `context` is given)."""
        payload = copy.deepcopy(STARTED)
        payload["message_token"] = token or next(_tokens)
        payload["user"]["id"] = self.user_id
        payload["context"] = context
        status, body = self.send(payload)
        if isinstance(body, dict) and body.get("tracking_data"):
            self.tracking = body["tracking_data"]
        return status, body

    def message(
        self, text: str | None = None, *, kind: str = "text", token: int | None = None
    ) -> dict[str, Any]:
        """A message callback from this user, carrying the last tracking data."""
        payload = copy.deepcopy(MESSAGE)
        payload["message_token"] = token or next(_tokens)
        self.last_token = payload["message_token"]
        payload["sender"]["id"] = self.user_id
        payload["message"] = {"type": kind, "tracking_data": self.tracking}
        if text is not None:
            payload["message"]["text"] = text
        return payload

    def say(
        self, text: str | None = None, *, kind: str = "text", token: int | None = None
    ) -> list[dict[str, Any]]:
        """Send a message; the bot's new messages to this user (its tracking data kept for the next one)."""
        status, _ = self.send(self.message(text, kind=kind, token=token))
        assert status == 200, f"the webhook answered {status}"
        return self.replies()

    def replies(self) -> list[dict[str, Any]]:
        """Messages the bot sent to this user since the last look."""
        everything = self.sent(self.user_id)
        new, self.seen = everything[self.seen :], len(everything)
        for m in new:
            if m.get("tracking_data"):
                self.tracking = m["tracking_data"]
        return new


def texts(messages: list[dict[str, Any]]) -> str:
    """The messages' texts, joined."""
    return "\n".join(m.get("text", "") for m in messages)


def actions(messages: list[dict[str, Any]]) -> list[str]:
    """What the last keyboard's buttons send."""
    keyboards = [m["keyboard"] for m in messages if m.get("keyboard")]
    return [b["ActionBody"] for b in keyboards[-1]["Buttons"]] if keyboards else []


def colours(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Each button's colour by what it sends."""
    keyboards = [m["keyboard"] for m in messages if m.get("keyboard")]
    return {b["ActionBody"]: b["BgColor"] for b in keyboards[-1]["Buttons"]} if keyboards else {}
