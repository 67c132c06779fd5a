"""The web cabinet's JSON API: each route turns HTTP into one service call and its answer into JSON.

The answers are the pydantic shapes of `ekc.channels.web_shapes`, declared on each route with every
status it may answer, so `/api/openapi.json` describes what the API really says. Sessions come from the
`__Host-session` cookie (Powertools' `Cookie()`); one middleware checks the CSRF token of every
state-changing route except the few in `CSRF_EXEMPT`, so a new route cannot forget it.
"""

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
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Cookie, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie as SetCookie
from aws_lambda_powertools.shared.cookies import SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from ekc import exceptions as errors
from ekc.channels import web
from ekc.channels import web_shapes as shapes
from ekc.config import link_settings, mail_settings, phone_lines
from ekc.domain.identity import Origin, PersonCaller
from ekc.observability import logger
from ekc.services import accounts, auth, qrcodes, readings, recovery
from ekc.services.auth import WebSession

SESSION_COOKIE = "__Host-session"
CSRF_HEADER = "X-CSRF-Token"
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# State-changing routes that take no CSRF token, and why each may: none acts for a signed-in session
# (they open one, or act on an e-mail or a token the request itself carries). Everything else that
# changes state is checked by `_csrf`, and tests/integration/test_web_api_csrf.py proves it route by route.
CSRF_EXEMPT = frozenset(
    {
        ("POST", "/api/auth/signup"),
        ("POST", "/api/auth/signin"),
        ("POST", "/api/auth/qr"),
        ("POST", "/api/auth/recovery"),
        ("POST", "/api/auth/reset"),
    }
)
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
# A path parameter that does not fit names nothing the service would find: the answer it would give.
PATH_ERRORS: dict[str, errors.DomainError] = {
    "account": errors.InvalidRequest("bad_account"),
    "meter": errors.NotFound(),
    "kind": errors.NotFound(),
}
# How long the page waits for a save before telling the resident (API Gateway gives up at 30 s).
SAVE_TIMEOUT_SECONDS = 25

# Ukrainian stays readable in answers (and a third shorter than \u-escaped).
app = APIGatewayHttpResolver(
    enable_validation=True,
    serializer=partial(json.dumps, ensure_ascii=False, separators=(",", ":")),
    # An answer that does not fit its own declared shape is our bug: a 500, never the resident's 400.
    response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
)


# ---- request shapes and parameters ----------------------------------------------------------------


class Credentials(BaseModel):
    """E-mail and password."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class QrSignIn(BaseModel):
    """The token from the invoice's web QR link."""

    token: str = Field(min_length=1, max_length=512)


class LinkRequest(BaseModel):
    """Account number and SRC code written together; the holder's surname when the answer asked for it."""

    code: str = Field(max_length=40)
    holder: str | None = Field(default=None, max_length=100)


class RecoveryRequest(BaseModel):
    """The e-mail to send a recovery link to."""

    email: str = Field(max_length=254)


class NewPassword(BaseModel):
    """The recovery link's token and the new password."""

    token: str = Field(min_length=1, max_length=128)
    password: str = Field(max_length=1024)


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


# The session cookie, read by Powertools; described to OpenAPI as the `session` security scheme.
SessionCookie = Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)]
AccountNumber = Annotated[str, Path(pattern=r"^[0-9]{1,12}$", description="A personal account: 1-12 digits")]
MeterId = Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$", description="A meter's id")]


# ---- what the document says about answers -------------------------------------------------------------

ERROR_CODES: dict[int, str] = {
    400: "invalid_request (with details), unreadable_body, bad_account, or the route's own codes",
    401: "not_signed_in (no session, or it expired), bad_credentials, bad_token, access_revoked",
    403: "csrf (the X-CSRF-Token header is missing or wrong), scope (outside a QR session's account, or "
    "a QR session asking for QR codes)",
    404: "not_found (also for an account not linked to you: existence is not revealed)",
    409: "email_taken, meter_resealed",
    415: "unsupported_media_type: bodies are application/json",
    429: "too_many_attempts / too_many_recovery / link_paused, with the time (and day) to come back",
    503: "unavailable: nothing was saved, try again; outcome_unknown: reload to see what was saved",
}
SESSION = [{"session": []}]
SESSION_AND_CSRF = [{"session": [], "csrf": []}]


def answers(success: int, description: str, *failures: int) -> dict[int, dict[str, Any]]:
    """A route's documented answers: its success (shaped by the return annotation) and its refusals."""
    documented: dict[int, dict[str, Any]] = {success: {"description": description}}
    for status in failures:
        documented[status] = {
            "description": ERROR_CODES[status],
            "content": {"application/json": {"model": shapes.ErrorAnswer}},
        }
    return documented


# ---- middlewares: caching, CSRF -----------------------------------------------------------------------


def _no_store(router: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Answers about people and their readings are never cached by browsers or CloudFront."""
    response = next_middleware(router)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _csrf(router: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Every state-changing route outside CSRF_EXEMPT needs a session and its CSRF token in the header."""
    route = router.context.get("_route")
    if route is not None and route.method.upper() in CHANGING and _route_key(route) not in CSRF_EXEMPT:
        session = auth.resolve(router.context.get("_route_args", {}).get("session"))
        auth.check_csrf(session, router.current_event.headers.get(CSRF_HEADER.lower()))
        router.append_context(web_session=session)
    return next_middleware(router)


def _route_key(route: Any) -> tuple[str, str]:
    """(METHOD, /path/{param}) of a registered route."""
    return route.method.upper(), route.path.replace("<", "{").replace(">", "}")


app.use(middlewares=[_no_store, _csrf])


# ---- helpers -------------------------------------------------------------------------------------------


def _json(
    body: BaseModel, status: HTTPStatus = HTTPStatus.OK, cookies: list[SetCookie] | None = None
) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, cookies=cookies
    )


def _error(body: shapes.ErrorAnswer, status: HTTPStatus) -> Response:
    # Exception handlers' answers skip the response validation, so they are serialized here.
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump(exclude_none=True),
    )


def _session(token: str | None) -> WebSession:
    """The request's session: the one `_csrf` resolved already, or the cookie's."""
    resolved = app.context.get("web_session")
    return resolved if resolved is not None else auth.resolve(token)


def _scoped_key(caller: Any, key: str | None) -> str | None:
    """The client's key, bound to who sent it: one caller's key can never answer for another's save."""
    return None if key is None else f"web:{caller}:{key}"


def _session_cookie(value: str, max_age: int) -> SetCookie:
    return SetCookie(
        name=SESSION_COOKIE,
        value=value,
        path="/",
        secure=True,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.STRICT_MODE,
    )


def _me(session: WebSession) -> shapes.Me:
    caller = session.caller
    if isinstance(caller, PersonCaller):
        return web.me(caller.person_id, session.email, None, session.csrf)
    return web.me(None, None, caller.account, session.csrf)


def _signed_in(signed: auth.SignedIn, status: HTTPStatus = HTTPStatus.OK) -> Response[shapes.Me]:
    max_age = int(signed.lifetime.total_seconds())
    return _json(_me(signed.session), status, [_session_cookie(signed.token, max_age)])


def _no_content(cookies: list[SetCookie] | None = None) -> Response[None]:
    return Response(status_code=HTTPStatus.NO_CONTENT, body="", cookies=cookies)


# ---- errors: the one map -------------------------------------------------------------------------------


@app.exception_handler(errors.DomainError)
def _domain_error(exc: errors.DomainError) -> Response:
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), HTTPStatus.INTERNAL_SERVER_ERROR)
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        logger.warning("storage unavailable", extra={"code": exc.code}, exc_info=exc.__cause__)
    return _error(web.error(exc), status)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response:
    found = exc.errors()
    for e in found:
        loc = tuple(e.get("loc", ()))
        if len(loc) >= 2 and loc[0] == "path" and loc[1] in PATH_ERRORS:
            return _domain_error(PATH_ERRORS[str(loc[1])])
    # The details name the fields; the values (a password, perhaps) are never echoed back.
    details = [shapes.ErrorDetail(loc=list(e.get("loc", ())), type=e.get("type")) for e in found]
    return _error(web.error_answer("invalid_request", details=details), HTTPStatus.BAD_REQUEST)


@app.exception_handler(ResponseValidationError)
def _answer_out_of_shape(exc: ResponseValidationError) -> Response:
    # Our bug, not the resident's: logged with where the answer broke its shape (never its values).
    logger.error("answer does not fit its shape", extra={"where": [e.get("loc") for e in exc.errors()][:5]})
    return _error(web.error_answer("internal"), HTTPStatus.INTERNAL_SERVER_ERROR)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(_exc: RequestUnsupportedContentType) -> Response:
    return _error(web.error_answer("unsupported_media_type"), HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


@app.exception_handler(UnicodeDecodeError)
@app.exception_handler(RecursionError)
@app.exception_handler(binascii.Error)
def _unreadable_body(_exc: Exception) -> Response:
    # Not UTF-8, not base64 where API Gateway says it is, or JSON nested thousands deep.
    return _error(web.error_answer("unreadable_body"), HTTPStatus.BAD_REQUEST)


@app.not_found
def _no_route(_exc: Exception) -> Response:
    return _error(web.error(errors.NotFound()), HTTPStatus.NOT_FOUND)


# ---- the document --------------------------------------------------------------------------------------


# The cookie and the CSRF header as the document's security schemes (routes name which they need). Plain
# dicts: Powertools' OpenAPI models cost ~0.3 s to import, so they load only when the document is built.
app.configure_openapi(
    title="Показники лічильників: API кабінету",
    version="2.0.0",
    security_schemes={  # type: ignore[dict-item]
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "Set by signing in (HttpOnly, Secure, SameSite=Strict): 30 days, 12 h by QR.",
        },
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": CSRF_HEADER,
            "description": "The `csrf` of the sign-in answer or of GET /api/me, on state-changing requests.",
        },
    },
)


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, built once per container, with only the answers this API really gives."""
    text = app.get_openapi_json_schema()
    document = json.loads(text)
    # Powertools documents a 422 on every route; this API answers a malformed request with 400.
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            responses.pop("500", None)  # an answer out of its shape: a bug, deliberately undocumented
            if "204" in responses:
                responses["204"].pop("content", None)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        document.get("components", {}).get("schemas", {}).pop(unused, None)
    return document


@app.get("/api/openapi.json", include_in_schema=False)
def openapi() -> Response[dict]:
    """This API described as OpenAPI 3 (built once per container)."""
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@lru_cache(maxsize=1)
def _page_config() -> shapes.PageConfig:
    lines = phone_lines()
    return shapes.PageConfig(
        doors=shapes.Doors(
            keypad=web.phone(lines.keypad_phone_number),
            voice=web.phone(lines.voice_phone_number),
            viber=f"viber://pa?chatURI={link_settings().viber_chat_uri}",
        ),
        recovery=mail_settings().enabled,
        password_min_length=auth.MIN_PASSWORD,
        save_timeout_seconds=SAVE_TIMEOUT_SECONDS,
    )


@app.get("/api/config", responses=answers(200, "The page's configuration"))
def page_config() -> Response[shapes.PageConfig]:
    """The other doors (phone lines, Viber), whether recovery works, and what the page tells about them."""
    return _json(_page_config())


# ---- sessions --------------------------------------------------------------------------------------------


@app.post("/api/auth/signup", responses=answers(201, "Signed up and in; sets the cookie", 400, 409, 415, 503))
def sign_up(body: Credentials) -> Response[shapes.Me]:
    """A new e-mail login, signed in."""
    return _signed_in(auth.sign_up(body.email, body.password), HTTPStatus.CREATED)


@app.post("/api/auth/signin", responses=answers(200, "Signed in; sets the cookie", 400, 401, 415, 429, 503))
def sign_in(body: Credentials) -> Response[shapes.Me]:
    """Sign in with e-mail and password."""
    return _signed_in(auth.sign_in(body.email, body.password))


@app.post(
    "/api/auth/qr", responses=answers(200, "Signed in to one account; sets the cookie", 400, 401, 415, 503)
)
def sign_in_by_qr(body: QrSignIn) -> Response[shapes.Me]:
    """Sign in by the invoice's web QR code: a session for that one account."""
    return _signed_in(auth.sign_in_by_qr(body.token))


@app.post(
    "/api/auth/signout",
    responses=answers(204, "Signed out; the cookie is cleared", 401, 403, 503),
    security=SESSION_AND_CSRF,
)
def sign_out(session: SessionCookie = None) -> Response[None]:
    """Revoke the session and clear the cookie."""
    auth.sign_out(_session(session))
    return _no_content([_session_cookie("", 0)])


@app.get("/api/me", responses=answers(200, "The session", 401, 503), security=SESSION)
def me(session: SessionCookie = None) -> Response[shapes.Me]:
    """Who is signed in, and the CSRF token for this session (an invoice-QR session: if still valid)."""
    return _json(_me(auth.confirm(_session(session))))


@app.post(
    "/api/auth/recovery",
    responses=answers(202, "Taken: a letter went out if the e-mail is registered", 400, 404, 415, 429, 503),
)
def request_recovery(body: RecoveryRequest) -> Response[shapes.RecoveryAccepted]:
    """Send a password recovery link to an e-mail (the answer never says whether it is registered)."""
    sender = app.current_event.request_context.http.source_ip
    recovery.request_recovery(body.email, sender, web.recovery_mail)
    return _json(web.recovery_accepted(recovery.link_minutes()), HTTPStatus.ACCEPTED)


@app.post("/api/auth/reset", responses=answers(200, "The new password is set", 400, 401, 404, 415, 503))
def reset_password(body: NewPassword) -> Response[shapes.PasswordChanged]:
    """Set a new password with a recovery link's token (once, before it expires)."""
    return _json(web.password_changed(recovery.reset_password(body.token, body.password)))


# ---- addresses -------------------------------------------------------------------------------------------


@app.get("/api/accounts", responses=answers(200, "The linked addresses", 401, 403, 503), security=SESSION)
def list_accounts(session: SessionCookie = None) -> Response[shapes.AccountsAnswer]:
    """The linked addresses."""
    linked = accounts.list_accounts(_session(session).caller)
    return _json(shapes.AccountsAnswer(accounts=[web.account_summary(a) for a in linked]))


@app.post(
    "/api/accounts",
    responses=answers(201, "Linked", 400, 401, 403, 415, 429, 503),
    security=SESSION_AND_CSRF,
)
def link_account(body: LinkRequest, session: SessionCookie = None) -> Response[shapes.LinkedAnswer]:
    """Add an address by account number + SRC code."""
    linked = accounts.link_account(_session(session).caller, body.code, holder=body.holder)
    return _json(shapes.LinkedAnswer(account=web.account_summary(linked)), HTTPStatus.CREATED)


@app.delete(
    "/api/accounts/<account>",
    responses=answers(204, "Removed from the cabinet", 400, 401, 403, 503),
    security=SESSION_AND_CSRF,
)
def unlink_account(account: AccountNumber, session: SessionCookie = None) -> Response[None]:
    """Remove an address from the cabinet."""
    accounts.unlink_account(_session(session).caller, account)
    return _no_content()


# ---- readings --------------------------------------------------------------------------------------------


@app.get(
    "/api/accounts/<account>",
    responses=answers(200, "The readings page", 400, 401, 404, 503),
    security=SESSION,
)
def readings_page(account: AccountNumber, session: SessionCookie = None) -> Response[shapes.ReadingsPage]:
    """An account's meters, windows and readings."""
    return _json(web.readings_page(readings.readings_page(_session(session).caller, account)))


@app.post(
    "/api/accounts/<account>/readings",
    responses=answers(200, "A result per row, the meters now, the summary", 400, 401, 403, 404, 415, 503),
    security=SESSION_AND_CSRF,
)
def save_readings(
    account: AccountNumber,
    body: SaveRequest,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="idempotency-key",
            max_length=128,
            description="One per press of save: a retry is answered as the first",
        ),
    ] = None,
    session: SessionCookie = None,
) -> Response[shapes.SaveAnswer]:
    """Save all rows of the readings page; a result per row. `Idempotency-Key`: one per press of "save"."""
    caller = _session(session).caller
    rows = [readings.RowInput(r.meter_id, r.value, r.confirm) for r in body.rows]
    origin = Origin.web(app.current_event.request_context.http.source_ip, caller)
    outcome = readings.save_readings(caller, account, rows, origin, key=_scoped_key(caller, idempotency_key))
    return _json(web.save_answer(outcome))


@app.get(
    "/api/accounts/<account>/meters/<meter>/history",
    responses=answers(200, "A page of submissions and the months", 400, 401, 404, 503),
    security=SESSION,
)
def meter_history(
    account: AccountNumber,
    meter: MeterId,
    before: Annotated[str | None, Query(max_length=80, description="The previous page's `next`")] = None,
    session: SessionCookie = None,
) -> Response[shapes.History]:
    """A page of a meter's submissions (`before`: the previous page's `next`) and its monthly results."""
    return _json(web.history(readings.meter_history(_session(session).caller, account, meter, before=before)))


@app.put(
    "/api/accounts/<account>/meters/<meter>/bot",
    responses=answers(200, "Saved, or the amount's question", 400, 401, 403, 404, 409, 415, 503),
    security=SESSION_AND_CSRF,
)
def set_bot(
    account: AccountNumber, meter: MeterId, body: BotRequest, session: SessionCookie = None
) -> Response[shapes.BotAnswer]:
    """Switch a meter's auto-increment bot; an implausible amount is asked back (`status`)."""
    outcome = readings.set_bot(
        _session(session).caller,
        account,
        meter,
        body.enabled,
        body.amount,
        seal_epoch=body.seal_epoch,
        confirmed=body.confirm,
    )
    return _json(web.bot_answer(outcome))


QR_IMAGE = {
    200: {
        "description": "The QR code image",
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **{status: doc for status, doc in answers(200, "", 400, 401, 403, 404, 503).items() if status != 200},
}


@app.get("/api/accounts/<account>/qr/<kind>", responses=QR_IMAGE, security=SESSION)
def account_qr(  # no return annotation: Powertools then passes the image bytes as they are
    account: AccountNumber,
    kind: Annotated[qrcodes.QrKind, Path(description="viber or web")],
    format: Annotated[Literal["svg", "png"], Query()] = "svg",
    session: SessionCookie = None,
):
    """The invoice's Viber or web QR code of an account, as SVG or PNG."""
    image, content_type = qrcodes.account_qr(_session(session).caller, account, kind, format)
    return Response(status_code=200, content_type=content_type, body=image)


@app.get(
    "/api/accounts/<account>/viber-link",
    responses=answers(200, "The Viber deep link of the account's Viber QR code", 400, 401, 403, 404, 503),
    security=SESSION,
)
def account_viber_link(account: AccountNumber, session: SessionCookie = None) -> Response[shapes.ViberLink]:
    """The link that opens the Viber bot with this address (what the Viber QR code encodes): a linked
    person's only, like the QR codes; an invoice-QR session is refused (403 `scope`)."""
    link = qrcodes.account_link(_session(session).caller, account, qrcodes.QrKind.VIBER)
    return _json(shapes.ViberLink(link=link))


def _check_csrf_routes() -> None:
    """Every state-changing route outside CSRF_EXEMPT reads the session cookie, so `_csrf` can check it."""
    for route in [*app._static_routes, *app._dynamic_routes]:
        changing = route.method.upper() in CHANGING and _route_key(route) not in CSRF_EXEMPT
        if changing and "session" not in route.func.__annotations__:
            raise RuntimeError(f"{_route_key(route)} changes state but takes no session cookie")
    for key in CSRF_EXEMPT:
        if not any(_route_key(r) == key for r in [*app._static_routes, *app._dynamic_routes]):
            raise RuntimeError(f"CSRF_EXEMPT names {key}, which is no route")


_check_csrf_routes()
gc.freeze()
gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """The Lambda entry point."""
    return app.resolve(event, context)
