"""The Viber public account's webhook: verify the callback, one conversation turn, the bot's answer to Viber.

`POST /viber/webhook`. The signature is checked before anything else; message and
conversation_started callbacks are made idempotent on Viber's `message_token` (Viber re-sends them);
the conversation itself is `ekc.channels.viber_chat`. Replies go out through viberbot's `Api`, pointed
at `VIBER_API_URL` (docs/viber.md).
"""

from __future__ import annotations

import gc

# Cold start: as in web_api, collect nothing while importing, then freeze what was imported.
gc.disable()

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

import requests
from aws_lambda_powertools.utilities.typing import LambdaContext
from viberbot import Api, BotConfiguration
from viberbot.api.api_request_sender import ApiRequestSender
from viberbot.api.consts import VIBER_BOT_USER_AGENT
from viberbot.api.message_sender import MessageSender
from viberbot.api.messages import TextMessage

from ekc.channels import viber_chat
from ekc.config import viber_settings
from ekc.idempotency import AlreadyInProgress, idempotent, register_lambda_context
from ekc.observability import count, logger
from ekc.services import viber_people

SIGNATURE_HEADER = "x-viber-content-signature"
# Viber's send_message statuses that mean "this user cannot get messages": never retried.
NOT_REACHABLE = {5: "receiver_not_registered", 6: "receiver_not_subscribed"}
TOO_MANY_REQUESTS = 12
MAX_ID = 128  # a Viber user id is ~24 characters


class ViberRefused(Exception):
    """Viber answered HTTP 200 with a non-zero status: the message was not accepted."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Viber status {status}: {message}")
        self.status = status


class _RequestSender(ApiRequestSender):
    """viberbot's sender with our base URL, a timeout, one reused connection and the auth header."""

    def __init__(self, base_url: str, configuration: BotConfiguration, timeout: float) -> None:
        super().__init__(logger, base_url, configuration, VIBER_BOT_USER_AGENT)
        self._timeout = timeout
        self._session = requests.Session()

    def post_request(self, endpoint: str, payload: str) -> Any:
        """POST a JSON payload to `<VIBER_API_URL>/<endpoint>`; its JSON answer (HTTP errors raise)."""
        response = self._session.post(
            f"{self._viber_bot_api_url}/{endpoint}",
            data=payload.encode("utf-8"),
            headers={
                "User-Agent": self._user_agent,
                "Content-Type": "application/json; charset=utf-8",
                "X-Viber-Auth-Token": self._bot_configuration.auth_token,
            },
            timeout=self._timeout,
        )
        response.raise_for_status()
        return response.json()


class _MessageSender(MessageSender):
    """viberbot's message sender, raising ViberRefused with Viber's status instead of a bare Exception."""

    def _post_request(self, endpoint: str, payload: dict[str, Any]) -> Any:
        result = self._request_sender.post_request(endpoint, json.dumps(payload, ensure_ascii=False))
        status = result.get("status") if isinstance(result, dict) else None
        if status != 0:
            message = result.get("status_message", "") if isinstance(result, dict) else ""
            raise ViberRefused(status if isinstance(status, int) else -1, str(message))
        return result.get("message_token")


class ViberApi(Api):
    """viberbot's Api on a configurable base URL (Viber's, or the local fake) with a timeout.

    viberbot builds every URL as `<base>/<endpoint>` from a module constant; the base is replaced here.
    """

    def __init__(self, configuration: BotConfiguration, base_url: str, timeout: float) -> None:
        super().__init__(configuration)
        self._request_sender = _RequestSender(base_url, configuration, timeout)
        self._message_sender = _MessageSender(self._logger, self._request_sender, configuration)


@lru_cache(maxsize=1)
def api() -> ViberApi:
    """The container's Viber client, made on first use."""
    settings = viber_settings()
    configuration = BotConfiguration(
        auth_token=settings.viber_auth_token.get_secret_value(),
        name=settings.viber_bot_name,
        avatar=settings.viber_bot_avatar,
    )
    return ViberApi(configuration, settings.viber_api_url, settings.viber_timeout_seconds)


def signature_ok(body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the hex HMAC-SHA256 of the raw body under the auth token (constant time)."""
    if not signature:
        return False
    token = viber_settings().viber_auth_token.get_secret_value().encode()
    expected = hmac.new(token, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def _who(viber_id: str) -> str:
    """A Viber user in logs: a short hash, never the id itself."""
    return hashlib.sha256(viber_id.encode()).hexdigest()[:12]


# ---- sending ---------------------------------------------------------------------------------------


def _send_one(viber_id: str, message: dict[str, Any]) -> str | None:
    """Send one message; None when Viber accepted it, else why not. Retries once what surely never arrived."""
    text_message = TextMessage(
        text=message["text"], keyboard=message.get("keyboard"), tracking_data=message.get("tracking_data")
    )
    for attempt in (1, 2):
        try:
            api().send_messages(viber_id, [text_message])
            return None
        except ViberRefused as exc:
            reason = NOT_REACHABLE.get(exc.status, f"status_{exc.status}")
            if exc.status in NOT_REACHABLE:
                viber_people.set_subscribed(viber_id, False)
                return reason
            if exc.status != TOO_MANY_REQUESTS or attempt == 2:
                return reason
        except requests.ConnectionError:  # never reached Viber (a read timeout might have: not retried)
            if attempt == 2:
                return "connection"
        except requests.Timeout:
            return "timeout"
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status < 500 or attempt == 2:
                return f"http_{status}"
        except (requests.RequestException, ValueError) as exc:  # a broken answer
            return type(exc).__name__
    return "unknown"


def send(viber_id: str, turn: viber_chat.Turn) -> int:
    """Send the turn's messages in order, stopping at the first that fails; how many were delivered.

    A saved reading whose confirmation did not get through is left as a notice the resident is told
    in their next conversation (docs/viber.md, "When a confirmation cannot be sent").
    """
    delivered = 0
    for out in turn.messages:
        failure = _send_one(viber_id, out.as_message())
        if failure is not None:
            logger.warning("viber message not delivered", extra={"who": _who(viber_id), "reason": failure})
            count("ViberSendFailed", "reason", failure)
            break
        delivered += 1
    if delivered < len(turn.messages) and turn.confirmations and turn.person_id:
        viber_chat.leave_confirmations(turn.person_id, turn.confirmations)
        count("ViberConfirmationUndelivered", "channel", "viber", len(turn.confirmations))
    return delivered


# ---- callbacks -------------------------------------------------------------------------------------


def _text(event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    text = message.get("text") if message.get("type") == "text" else None
    # A sticker, picture, file...: the conversation says it reads text only.
    return message, text if isinstance(text, str) else None


def on_message(event: dict[str, Any]) -> dict[str, int]:
    """A resident's message: one turn of the conversation, sent back, once per message_token.

    A typed reading is keyed by the core's own submission key (saved or answered once, in the
    same requests as the save); every other message goes through Powertools' idempotency.
    """
    message, text = _text(event)
    if viber_chat.is_reading(event["sender"]["id"], text, message.get("tracking_data")):
        return _turn(event)
    return _idempotent_turn(event=event)


@idempotent("event", key_jmespath="message_token")
def _idempotent_turn(event: dict[str, Any]) -> dict[str, int]:
    return _turn(event)


def _turn(event: dict[str, Any]) -> dict[str, int]:
    viber_id = event["sender"]["id"]
    message, text = _text(event)
    key = f"viber-{event['message_token']}"  # the reading's own submission key: never saved twice
    turn = viber_chat.message(viber_id, text, message.get("tracking_data"), key=key)
    if turn.replayed:
        logger.info("viber message re-sent, already answered")
        return {"messages": 0, "delivered": 0}
    delivered = send(viber_id, turn)
    return {"messages": len(turn.messages), "delivered": delivered}


@idempotent("event", key_jmespath="message_token")
def on_conversation_started(event: dict[str, Any]) -> dict[str, Any]:
    """The welcome (and the QR context's link), answered in the HTTP response as Viber allows."""
    user = event["user"]
    context = event.get("context") if isinstance(event.get("context"), str) else None
    turn = viber_chat.started(user["id"], context, bool(event.get("subscribed")))
    settings = viber_settings()
    sender = {"name": settings.viber_bot_name}
    if settings.viber_bot_avatar:
        sender["avatar"] = settings.viber_bot_avatar
    return {"sender": sender, **turn.messages[-1].as_message()}


def _user_id(holder: object) -> str | None:
    if not isinstance(holder, dict):
        return None
    user_id = holder.get("id")
    return user_id if isinstance(user_id, str) and 0 < len(user_id) <= MAX_ID else None


def _has_token(callback: dict[str, Any]) -> bool:
    token = callback.get("message_token")
    return isinstance(token, int | str) and not isinstance(token, bool) and str(token) != ""


def handle(callback: dict[str, Any]) -> dict[str, Any]:
    """One verified callback: the HTTP answer for Viber."""
    kind = callback.get("event")
    try:
        if kind == "message" and _has_token(callback) and _user_id(callback.get("sender")):
            on_message(event=callback)
        elif kind == "conversation_started" and _has_token(callback) and _user_id(callback.get("user")):
            return _json(200, on_conversation_started(event=callback))
        elif kind == "subscribed" and _user_id(callback.get("user")):
            viber_people.set_subscribed(callback["user"]["id"], True)
        elif kind == "unsubscribed" and _user_id({"id": callback.get("user_id")}):
            # Remembered so that nothing is ever sent to them first; their next message subscribes again.
            viber_people.set_subscribed(callback["user_id"], False)
        else:
            logger.info("viber callback ignored", extra={"event": str(kind)[:40]})
    except AlreadyInProgress:
        # The same message_token is being handled right now: that run answers the resident.
        logger.info("viber callback already in progress", extra={"event": kind})
    return _json(200, {"status": 0})


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


gc.freeze()
gc.enable()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Lambda entry point: 403 unless Viber signed the body, 400 unless it is a JSON object."""
    register_lambda_context(context)
    body = _raw_body(event)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if not signature_ok(body, headers.get(SIGNATURE_HEADER)):
        count("ViberCallbackRefused", "reason", "signature")
        logger.warning("viber callback with a bad or missing signature")
        return _json(403, {"message": "Forbidden"})
    try:
        callback = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        callback = None
    if not isinstance(callback, dict):
        count("ViberCallbackRefused", "reason", "malformed")
        return _json(400, {"message": "the body is not a JSON object"})
    return handle(callback)
