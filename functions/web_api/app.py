"""The web cabinet's JSON API: each route turns HTTP into one service call and its answer into JSON."""

from __future__ import annotations

import gc

# Cold start: importing allocates only long-lived objects, yet crosses the threshold of a full
# collection (~30 ms here) that frees nothing. Collect nothing while importing, then freeze what
# was imported so later collections skip it too.
gc.disable()

import binascii
import json
from functools import lru_cache, partial
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from ekc import exceptions as errors
from ekc.channels import web
from ekc.domain.identity import Origin, PersonCaller
from ekc.observability import logger
from ekc.services import accounts, auth, qrcodes, readings
from ekc.services.auth import WebSession

SESSION_COOKIE = "__Host-session"
STATUS: dict[type[errors.DomainError], HTTPStatus] = {
    errors.InvalidRequest: HTTPStatus.BAD_REQUEST,
    errors.NotSignedIn: HTTPStatus.UNAUTHORIZED,
    errors.BadCredentials: HTTPStatus.UNAUTHORIZED,
    errors.BadToken: HTTPStatus.UNAUTHORIZED,
    errors.Forbidden: HTTPStatus.FORBIDDEN,
    errors.NotFound: HTTPStatus.NOT_FOUND,
    errors.Conflict: HTTPStatus.CONFLICT,
    errors.TooManyAttempts: HTTPStatus.TOO_MANY_REQUESTS,
    errors.StorageUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}

# Ukrainian stays readable in answers (and a third shorter than \u-escaped).
app = APIGatewayHttpResolver(
    enable_validation=True, serializer=partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
)


def _no_store(router: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Answers about people and their readings are never cached by browsers or CloudFront."""
    response = next_middleware(router)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


app.use(middlewares=[_no_store])


# ---- request bodies ------------------------------------------------------------------------------


class Credentials(BaseModel):
    """E-mail and password."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class QrSignIn(BaseModel):
    """The token from the invoice's web QR link."""

    token: str = Field(min_length=1, max_length=512)


class LinkRequest(BaseModel):
    """Account number and SRC code written together."""

    code: str = Field(max_length=40)


# Values travel as the text the resident typed ("6116,255"), never as JSON numbers: a number has already
# been rounded by the JSON parser (106.1239999999999999 arrives as 106.124), so it is refused.
NumberText = Annotated[str, Field(max_length=40, strict=True)]


class Row(BaseModel):
    """One meter's reading as typed; `confirm` repeats the value the resident confirmed."""

    meter_id: str = Field(max_length=64)
    value: NumberText
    confirm: NumberText | None = None


class SaveRequest(BaseModel):
    """All rows of an account's readings page."""

    rows: list[Row] = Field(min_length=1, max_length=50)


class BotRequest(BaseModel):
    """A meter's bot switch, with the seal epoch the page showed and, once asked, the confirmed amount."""

    enabled: bool
    amount: NumberText = ""
    seal_epoch: int | None = None
    confirm: NumberText | None = None


# ---- helpers -------------------------------------------------------------------------------------


def _json(body: Any, status: HTTPStatus = HTTPStatus.OK, cookies: list[Cookie] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        cookies=cookies,
    )


def _session_token() -> str | None:
    for cookie in app.current_event.cookies or []:
        name, _, value = cookie.partition("=")
        if name.strip() == SESSION_COOKIE:
            return value.strip()
    return None


def _session() -> WebSession:
    return auth.resolve(_session_token())


def _changing_session() -> WebSession:
    """The session of a state-changing request, which must carry the session's CSRF token."""
    session = _session()
    auth.check_csrf(session, app.current_event.headers.get("x-csrf-token"))
    return session


def _scoped_key(caller: Any, key: str | None) -> str | None:
    """The client's key, bound to who sent it: one caller's key can never answer for another's save."""
    return None if key is None else f"web:{caller}:{key}"


def _session_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        name=SESSION_COOKIE,
        value=value,
        path="/",
        secure=True,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.STRICT_MODE,
    )


def _signed_in(signed: auth.SignedIn, status: HTTPStatus = HTTPStatus.OK) -> Response:
    max_age = int(signed.lifetime.total_seconds())
    return _json(_me(signed.session), status, [_session_cookie(signed.token, max_age)])


def _me(session: WebSession) -> dict[str, Any]:
    caller = session.caller
    if isinstance(caller, PersonCaller):
        return {
            "person": {"id": caller.person_id, "email": session.email},
            "scope_account": None,
            "csrf": session.csrf,
        }
    return {"person": None, "scope_account": caller.account, "csrf": session.csrf}


# ---- errors: the one map -------------------------------------------------------------------------


@app.exception_handler(errors.DomainError)
def _domain_error(exc: errors.DomainError) -> Response:
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), HTTPStatus.INTERNAL_SERVER_ERROR)
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        logger.warning("storage unavailable", exc_info=exc.__cause__)
    return _json(web.error(exc), status)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response:
    # The details name the fields; the values (a password, perhaps) are never echoed back.
    details = [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in exc.errors()]
    body = {
        "error": {"code": "invalid_request", "message": web.error_text("invalid_request"), "details": details}
    }
    return _json(body, HTTPStatus.BAD_REQUEST)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(_exc: RequestUnsupportedContentType) -> Response:
    body = {"error": {"code": "unsupported_media_type", "message": web.error_text("unsupported_media_type")}}
    return _json(body, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


@app.exception_handler(UnicodeDecodeError)
@app.exception_handler(RecursionError)
@app.exception_handler(binascii.Error)
def _unreadable_body(_exc: Exception) -> Response:
    # Not UTF-8, not base64 where API Gateway says it is, or JSON nested thousands deep.
    return _json(web.error(errors.InvalidRequest("unreadable_body")), HTTPStatus.BAD_REQUEST)


@app.not_found
def _no_route(_exc: Exception) -> Response:
    return _json(web.error(errors.NotFound()), HTTPStatus.NOT_FOUND)


# ---- routes --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _openapi_document() -> dict[str, Any]:
    return json.loads(
        app.get_openapi_json_schema(title="Показники лічильників: API кабінету", version="1.0.0")
    )


@app.get("/api/openapi.json", include_in_schema=False)
def openapi() -> Response[dict]:
    """This API described as OpenAPI 3 (built once per container)."""
    return _json(_openapi_document())


@app.post("/api/auth/signup")
def sign_up(body: Credentials) -> Response[dict]:
    """A new e-mail login, signed in."""
    return _signed_in(auth.sign_up(body.email, body.password), HTTPStatus.CREATED)


@app.post("/api/auth/signin")
def sign_in(body: Credentials) -> Response[dict]:
    """Sign in with e-mail and password."""
    return _signed_in(auth.sign_in(body.email, body.password))


@app.post("/api/auth/qr")
def sign_in_by_qr(body: QrSignIn) -> Response[dict]:
    """Sign in by the invoice's web QR code: a session for that one account."""
    return _signed_in(auth.sign_in_by_qr(body.token))


@app.post("/api/auth/signout")
def sign_out() -> Response[Any]:
    """Revoke the session and clear the cookie."""
    auth.sign_out(_changing_session())
    return Response(status_code=HTTPStatus.NO_CONTENT, body="", cookies=[_session_cookie("", 0)])


@app.get("/api/me")
def me() -> Response[dict]:
    """Who is signed in, and the CSRF token for this session."""
    return _json(_me(_session()))


@app.get("/api/accounts")
def list_accounts() -> Response[dict]:
    """The linked addresses."""
    linked = accounts.list_accounts(_session().caller)
    return _json({"accounts": [web.account_summary(a) for a in linked]})


@app.post("/api/accounts")
def link_account(body: LinkRequest) -> Response[dict]:
    """Add an address by account number + SRC code."""
    linked = accounts.link_account(_changing_session().caller, body.code)
    return _json({"account": web.account_summary(linked)}, HTTPStatus.CREATED)


@app.delete("/api/accounts/<account>")
def unlink_account(account: str) -> Response[Any]:
    """Remove an address from the cabinet."""
    accounts.unlink_account(_changing_session().caller, account)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.get("/api/accounts/<account>")
def readings_page(account: str) -> Response[dict]:
    """An account's meters, windows and readings."""
    return _json(web.readings_page(readings.readings_page(_session().caller, account)))


@app.post("/api/accounts/<account>/readings")
def save_readings(
    account: str,
    body: SaveRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=128)] = None,
) -> Response[dict]:
    """Save all rows of the readings page; a result per row. `Idempotency-Key`: one per press of "save"."""
    caller = _changing_session().caller
    rows = [readings.RowInput(r.meter_id, r.value, r.confirm) for r in body.rows]
    origin = Origin.web(app.current_event.request_context.http.source_ip, caller)
    outcome = readings.save_readings(caller, account, rows, origin, key=_scoped_key(caller, idempotency_key))
    return _json(
        {
            "results": [web.row_result(r) for r in outcome.results],
            "meters": [web.meter_view(v) for v in outcome.meters],
        }
    )


@app.get("/api/accounts/<account>/meters/<meter>/history")
def meter_history(
    account: str, meter: str, before: Annotated[str | None, Query(max_length=80)] = None
) -> Response[dict]:
    """A page of a meter's submissions (`before`: the previous page's `next`) and its monthly results."""
    return _json(web.history(readings.meter_history(_session().caller, account, meter, before=before)))


@app.put("/api/accounts/<account>/meters/<meter>/bot")
def set_bot(account: str, meter: str, body: BotRequest) -> Response[dict]:
    """Switch a meter's auto-increment bot; an implausible amount is asked back (`status`)."""
    outcome = readings.set_bot(
        _changing_session().caller,
        account,
        meter,
        body.enabled,
        body.amount,
        seal_epoch=body.seal_epoch,
        confirmed=body.confirm,
    )
    return _json(web.bot_outcome(outcome))


@app.get("/api/accounts/<account>/qr/<kind>")
def account_qr(  # no return annotation: Powertools then passes the image bytes as they are
    account: str, kind: str, format: Annotated[str, Query(pattern="^(svg|png)$")] = "svg"
):
    """The invoice's Viber or web QR code of an account, as SVG or PNG."""
    try:
        qr_kind = qrcodes.QrKind(kind)
    except ValueError as exc:
        raise errors.NotFound() from exc
    image, content_type = qrcodes.account_qr(_session().caller, account, qr_kind, format)
    return Response(status_code=200, content_type=content_type, body=image)


gc.freeze()
gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """The Lambda entry point."""
    return app.resolve(event, context)
