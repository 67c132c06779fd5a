"""The phone lines' webhooks in TwiML: the keypad line (POST /ivr/keypad) and the voice line (/ivr/voice).

Each request is verified first (`X-Twilio-Signature` over the public URL the provider called and the
form it posted: 403 and nothing done otherwise), then becomes one turn of the call flow
(`ekc.services.calls`), answered with the TwiML of `ekc.channels.phone`. The call's state comes and
goes signed in the action URL's query, so a turn reads and writes no state of its own.
"""

from __future__ import annotations

import gc

# Cold start, as web_api does: importing allocates only long-lived objects, yet crosses a full
# collection's threshold that frees nothing (~15 % of this import, measured with bench/phone.py's
# alternating imports). Collect nothing while importing, then freeze what was imported.
gc.disable()

import base64
import binascii
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from twilio.request_validator import RequestValidator, get_signature_algorithm

from ekc import clock
from ekc.channels import phone
from ekc.config import telephony_settings
from ekc.domain.identity import mask_phone
from ekc.exceptions import BadToken
from ekc.observability import count, logger
from ekc.services import calls

ROUTES: dict[str, calls.Line] = {f"POST {path}": line for line, path in phone.PATHS.items()}
# A provider's webhook form is a few hundred bytes; anything much larger is not one.
MAX_BODY_BYTES = 32 * 1024
SIGNATURE_HEADER = "x-twilio-signature"
SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"


class Form(dict[str, str]):
    """The posted parameters (the last value of each name), and every value for the signature."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def getall(self, name: str) -> list[str]:
        """Every value posted under `name` (the validator signs them all)."""
        return [value for key, value in self.pairs if key == name]


def _plain(status: HTTPStatus) -> dict[str, Any]:
    return {"statusCode": int(status), "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": ""}


def _form(event: dict[str, Any]) -> Form:
    """The form-encoded body; API Gateway hands it over base64-encoded."""
    body = event.get("body") or ""
    raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError("body too large")
    return Form(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _called_url(event: dict[str, Any]) -> str:
    """The public URL the provider requested, which its signature covers: base + path + query."""
    query = event.get("rawQueryString") or ""
    return telephony_settings().public_base_url + event["rawPath"] + (f"?{query}" if query else "")


def _signed(event: dict[str, Any], form: Form) -> bool:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(phone.state_secret())
    return bool(validator.validate(_called_url(event), form, signature, algorithm))


def _state_token(event: dict[str, Any]) -> str | None:
    query = dict(parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True))
    return query.get(phone.STATE_PARAMETER)


def _twiml(body: str) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store"},
        "body": body,
    }


gc.freeze()
gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Lambda entry point: verify, take one turn of the call, answer TwiML."""
    line = ROUTES.get(event.get("routeKey", ""))
    if line is None:
        return _plain(HTTPStatus.NOT_FOUND)
    try:
        form = _form(event)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return _plain(HTTPStatus.BAD_REQUEST)
    if not _signed(event, form):
        # Someone who is not the provider, or a misconfigured token or PUBLIC_BASE_URL (an alarm watches).
        logger.warning("webhook signature refused", extra={"line": str(line)})
        count("PhoneSignatureRefused", "door", "phone")
        return _plain(HTTPStatus.FORBIDDEN)
    sid = form.get("CallSid", "")
    if not sid:
        return _plain(HTTPStatus.BAD_REQUEST)
    call = calls.Call(sid, line, form.get("From", ""))
    logger.append_keys(call_sid=sid, line=str(line), caller=mask_phone(call.number))
    now = clock.now()
    token = _state_token(event)
    if token is None:
        turn = calls.start()
    else:
        try:
            state = phone.decode_state(token, sid, line, phone.state_secret(), now)
        except BadToken:
            logger.warning("call state refused: the call starts again")
            turn = calls.restart()
        else:
            heard = calls.Heard(form.get("Digits", ""), form.get("SpeechResult", ""), _confidence(form))
            turn = calls.answer(call, state, heard, now=now)
            logger.info("turn", extra={"step": str(state.step), "next": turn.state and str(turn.state.step)})
    base_url = telephony_settings().public_base_url
    action = None if turn.state is None else phone.action_url(base_url, line, turn.state, sid, now)
    return _twiml(phone.render(turn, line, action))


def _confidence(form: Form) -> float | None:
    try:
        return float(form["Confidence"])
    except (KeyError, ValueError):
        return None
