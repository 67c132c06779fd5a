"""Messages the bot starts (reminders) through Viber's REST `send_message`, with the standard library.

The webhook answers residents through viberbot, which belongs to that function alone; the window
close only pushes a text with a keyboard, so one POST with `urllib` does it: the auth token in the
`X-Viber-Auth-Token` header, a JSON body, Viber's `status` read from the answer (Viber answers HTTP 200
even when it refuses). The base URL is `VIBER_API_URL`: Viber's, or the local fake in `make run`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from ekc.config import ViberSettings

# Viber's statuses that mean "this user cannot get messages": the user is marked unsubscribed.
NOT_REACHABLE = {5: "receiver_not_registered", 6: "receiver_not_subscribed"}
TOO_MANY_REQUESTS = 12
USER_AGENT = "ekc-reminders/1"


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of one message: delivered to Viber, or why not."""

    ok: bool
    reason: str | None = None  # receiver_not_subscribed, status_12, http_503, timeout, ...
    unreachable: bool = False  # Viber says the user cannot get messages (status 5 or 6)

    @property
    def too_fast(self) -> bool:
        """Viber said the bot sends too much (status 12): slow down."""
        return self.reason == f"status_{TOO_MANY_REQUESTS}"


class ViberSender(Protocol):
    """Sends one message the bot starts."""

    def send(self, viber_id: str, message: dict[str, Any]) -> Sent:
        """Send `message` (text, keyboard) to one Viber user; never raises for Viber's refusals."""
        ...


class HttpViberSender:
    """`POST <VIBER_API_URL>/send_message`, one request per message, no retries (never twice)."""

    def __init__(self, settings: ViberSettings) -> None:
        if not settings.viber_api_url.startswith(("https://", "http://")):
            raise ValueError("VIBER_API_URL must be an http(s) address")
        self._url = f"{settings.viber_api_url}/send_message"
        self._token = settings.viber_auth_token.get_secret_value()
        self._sender: dict[str, str] = {"name": settings.viber_bot_name}
        if settings.viber_bot_avatar:
            self._sender["avatar"] = settings.viber_bot_avatar
        self._timeout = settings.viber_timeout_seconds

    def body(self, viber_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Viber's send_message JSON for a text message (with its keyboard, if any)."""
        body: dict[str, Any] = {
            "receiver": viber_id,
            "min_api_version": 1,
            "sender": self._sender,
            "type": "text",
            "text": message["text"],
        }
        if message.get("keyboard"):
            body["keyboard"] = message["keyboard"]
        if message.get("tracking_data"):
            body["tracking_data"] = message["tracking_data"]
        return body

    def send(self, viber_id: str, message: dict[str, Any]) -> Sent:
        """One POST; a lost answer is not retried (Viber may have delivered it: never twice)."""
        data = json.dumps(self.body(viber_id, message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 (an http(s) address: checked when made)
            self._url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Viber-Auth-Token": self._token,
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return Sent(False, f"http_{exc.code}")
        except TimeoutError:
            return Sent(False, "timeout")
        except (urllib.error.URLError, OSError):
            return Sent(False, "connection")
        except ValueError:
            return Sent(False, "bad_answer")
        status = answer.get("status") if isinstance(answer, dict) else None
        if status == 0:
            return Sent(True)
        if status in NOT_REACHABLE:
            return Sent(False, NOT_REACHABLE[status], unreachable=True)
        return Sent(False, f"status_{status}")
