"""A phone call as the provider (Twilio) makes it: follows TwiML, signs every webhook, records what was said.

`PhoneCall` dials a line, reads each answer's verbs in order (`<Say>` is recorded, `<Pause>` skipped,
`<Gather>` waits for the caller, `<Redirect>` is followed, `<Hangup>` ends the call) and sends the
caller's keys (`Digits`) or words (`SpeechResult` + `Confidence`) to the Gather's action, with a valid
`X-Twilio-Signature` over the URL it calls. Silence follows the verbs after the Gather, as the provider
does. `retry()` sends the last webhook again, as a provider does when an answer was lost.

Transports: `handler_transport` calls a `lambda_handler` with API Gateway HTTP API events (form-encoded,
base64 body, as the provider's request arrives), `http_transport` posts over real HTTP.
"""

from __future__ import annotations

import base64
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from twilio.request_validator import RequestValidator

# The tests' token and the web's test PUBLIC_BASE_URL (tests/conftest.py): the provider calls this base.
TOKEN = "test-twilio-auth-token-0123456789"
BASE_URL = "https://cabinet.example.test"
KEYPAD_NUMBER = "+380670001357"
VOICE_NUMBER = "+380536700351"
ACCOUNT_SID = "AC" + "0" * 32

Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]


def use_phone_settings(monkeypatch: Any, token: str = TOKEN) -> None:
    """The telephony settings the driver signs with (set before the first webhook of a test)."""
    from ekc.config import clear_settings

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    clear_settings()


def event_for(url: str, form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """The API Gateway HTTP API (payload 2.0) event of a provider's POST: form-encoded, body in base64."""
    parts = urlsplit(url)
    body = urlencode(form).encode()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"POST {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {
            "accept": "*/*",
            "content-length": str(len(body)),
            "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
            "host": parts.hostname or "",
            "i-twilio-idempotency-token": secrets.token_hex(16),
            "user-agent": "TwilioProxy/1.1",
            "x-amzn-trace-id": "Root=1-5f84c7a9-0123456789abcdef01234567",
            "x-forwarded-for": "54.172.60.0",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **{k.lower(): v for k, v in headers.items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": parts.hostname or "",
            "domainPrefix": (parts.hostname or "").split(".")[0],
            "http": {
                "method": "POST",
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "54.172.60.0",
                "userAgent": "TwilioProxy/1.1",
            },
            "requestId": secrets.token_hex(8),
            "routeKey": f"POST {parts.path}",
            "stage": "$default",
            "time": "24/Nov/2026:21:04:36 +0000",
            "timeEpoch": 1795381476000,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    if query:
        event["queryStringParameters"] = query
    return event


class _Context:
    function_name = "ivr_handler"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:ivr_handler"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def handler_transport(handler: Callable[[dict, Any], dict]) -> Transport:
    """Calls a lambda_handler with the event API Gateway would make of the request."""

    def send(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        answer = handler(event_for(url, form, headers), _Context())
        body = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return answer["statusCode"], body

    return send


def http_transport(timeout: float = 15) -> Transport:
    """Posts over real HTTP (the local stack); the provider waits at most 15 s for an answer."""
    import requests

    def send(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = requests.post(url, data=form, headers=headers, timeout=timeout)
        return response.status_code, response.text

    return send


def spoken_text(say: ET.Element) -> str:
    """A <Say>'s words, its SSML breaks read as spaces."""
    return " ".join(" ".join(part.strip() for part in say.itertext() if part.strip()).split())


@dataclass
class PhoneCall:
    """One call on one line, driven like the provider drives it."""

    transport: Transport
    line: str  # "keypad" or "voice"
    caller: str = KEYPAD_NUMBER
    base_url: str = BASE_URL
    token: str = TOKEN
    sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    said: list[str] = field(default_factory=list)  # every <Say>, in order
    turns: list[list[str]] = field(default_factory=list)  # the <Say>s of each answer
    ended: bool = False
    gather: ET.Element | None = None  # the Gather waiting for the caller
    after_gather: list[ET.Element] = field(default_factory=list)  # verbs after it (for silence)
    last: tuple[str, dict[str, str]] | None = None  # the last webhook, for retry()
    statuses: list[int] = field(default_factory=list)

    # ---- the caller ----------------------------------------------------------------------------------

    def dial(self) -> list[str]:
        """Call the line: the provider requests the number's webhook URL."""
        return self._request(f"{self.base_url}/ivr/{self.line}", self._params({"CallStatus": "ringing"}))

    def press(self, keys: str) -> list[str]:
        """Press keys while the robot waits: `#` ends a long number, a menu takes the first key."""
        gather = self._waiting()
        assert "dtmf" in gather.get("input", "dtmf"), "this Gather takes no keys"
        digits, finished = keys, ""
        if gather.get("numDigits"):
            digits = keys[: int(gather.get("numDigits", "1"))]
        elif gather.get("finishOnKey", "#") in keys:
            digits, finished = keys.split(gather.get("finishOnKey", "#"), 1)[0], "#"
        if not digits:
            return self.wait()  # only '#': the provider hears no input
        return self._answer({"Digits": digits, "FinishedOnKey": finished, "msg": "Gather End"})

    def say(self, words: str, confidence: float = 0.92) -> list[str]:
        """Speak while the robot waits: the recogniser's transcript goes to the action."""
        gather = self._waiting()
        assert "speech" in gather.get("input", "dtmf"), "this Gather takes no speech"
        assert gather.get("language") == "uk-UA"
        return self._answer({"SpeechResult": words, "Confidence": f"{confidence:.8f}"})

    def wait(self) -> list[str]:
        """Say and press nothing: the Gather times out and the verbs after it run."""
        self._waiting()
        rest, self.gather, self.after_gather = self.after_gather, None, []
        return self._run(rest, [])

    def retry(self) -> list[str]:
        """The provider sends the last webhook again (its answer was lost): this answer replaces it."""
        assert self.last is not None
        url, form = self.last
        self.ended, self.gather, self.after_gather = False, None, []
        return self._request(url, form)

    @property
    def heard(self) -> str:
        """What the robot said in its last answer, as one text."""
        return " ".join(self.turns[-1]) if self.turns else ""

    @property
    def everything(self) -> str:
        """Everything the robot said in the call."""
        return " ".join(self.said)

    # ---- the provider --------------------------------------------------------------------------------

    def _waiting(self) -> ET.Element:
        assert not self.ended, "the call has ended"
        assert self.gather is not None, "the robot is not waiting for an answer"
        return self.gather

    def _answer(self, extra: dict[str, str]) -> list[str]:
        gather = self._waiting()
        action = gather.get("action")
        assert action, "a Gather without action"
        assert gather.get("method", "POST") == "POST"
        self.gather, self.after_gather = None, []
        return self._request(action, self._params(extra))

    def _params(self, extra: dict[str, str]) -> dict[str, str]:
        to = KEYPAD_NUMBER if self.line == "keypad" else VOICE_NUMBER
        params = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Called": to,
            "Caller": self.caller,
            "Direction": "inbound",
            "From": self.caller,
            "FromCountry": "UA",
            "To": to,
            "ToCountry": "UA",
        }
        params.update(extra)
        return params

    def sign(self, url: str, form: dict[str, str]) -> str:
        """The X-Twilio-Signature of a request."""
        return RequestValidator(self.token).compute_signature(url, form)

    def _request(self, url: str, form: dict[str, str]) -> list[str]:
        self.last = (url, form)
        status, body = self.transport(url, form, {"X-Twilio-Signature": self.sign(url, form)})
        self.statuses.append(status)
        assert status == 200, f"webhook answered {status}: {body}"
        root = ET.fromstring(body)  # noqa: S314 - our own handler's answer, in a test
        assert root.tag == "Response", body
        return self._run(list(root), [])

    def _run(self, verbs: list[ET.Element], said: list[str]) -> list[str]:
        for n, verb in enumerate(verbs):
            if verb.tag == "Say":
                said.append(spoken_text(verb))
            elif verb.tag == "Pause":
                continue
            elif verb.tag == "Gather":
                said.extend(spoken_text(s) for s in verb.iter("Say"))
                self.gather, self.after_gather = verb, verbs[n + 1 :]
                break
            elif verb.tag == "Redirect":
                assert verb.get("method", "POST") == "POST"
                self._record(said)
                return self._request(verb.text or "", self._params({}))
            elif verb.tag == "Hangup":
                self.ended = True
                break
            else:
                raise AssertionError(f"unexpected verb {verb.tag}")
        else:
            self.ended = True  # the provider hangs up when the TwiML runs out
        self._record(said)
        return said

    def _record(self, said: list[str]) -> None:
        self.said.extend(said)
        self.turns.append(list(said))
