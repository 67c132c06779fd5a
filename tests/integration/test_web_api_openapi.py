"""`/api/openapi.json` describes the real answers: schemathesis generates requests from it (a bounded
number per operation, signed in and not) and finds no 5xx and no status, type or shape it does not list.

The requests reach the real `lambda_handler` through a small WSGI adapter that builds API Gateway's
HTTP API (v2) events, so the answers are exactly what API Gateway would send on.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, given, settings

from tests.integration.conftest import EVENT, Browser, LambdaContextStub

# Cases per operation and per caller (signed in or not): bounded, so the suite's time stays known.
CASES = 12
DOCUMENTED_STATUSES = {200, 201, 202, 204, 400, 401, 403, 404, 409, 415, 429, 503}


def lambda_as_wsgi(handler: Callable[[dict, Any], dict]) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that turns each request into an HTTP API v2 event for `handler`, as API Gateway does."""

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
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        path = environ.get("PATH_INFO") or "/"
        method = environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING", "")
        event = copy.deepcopy(EVENT)
        event.update(routeKey=f"{method} {path}", rawPath=path, rawQueryString=query, headers=headers)
        event["cookies"] = cookies
        event["queryStringParameters"] = dict(parse_qsl(query)) or None
        event["requestContext"]["http"].update(method=method, path=path)
        try:
            event["body"], event["isBase64Encoded"] = body.decode(), False
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        if not body:
            event.pop("body", None)
        raw = handler(event, LambdaContextStub())
        payload = raw.get("body") or ""
        data = base64.b64decode(payload) if raw.get("isBase64Encoded") else payload.encode()
        status = int(raw["statusCode"])
        response_headers = list(raw.get("headers", {}).items())
        response_headers += [("Set-Cookie", c) for c in raw.get("cookies", [])]
        start_response(f"{status} X", response_headers)
        return [data]

    return app


@pytest.fixture
def schema(web: Browser) -> Any:
    """The API's own document, loaded through the adapter, as schemathesis sees it."""
    import schemathesis

    from functions.web_api import app

    return schemathesis.openapi.from_wsgi("/api/openapi.json", lambda_as_wsgi(app.lambda_handler))


def test_openapi_documents_every_route_with_its_statuses_and_security(web: Browser) -> None:
    document = web.call("GET", "/api/openapi.json").json
    operations = {
        (method.upper(), path): op for path, item in document["paths"].items() for method, op in item.items()
    }
    # Every documented status is one the API gives, and no Powertools default (422) is left
    assert {int(s) for op in operations.values() for s in op["responses"]} <= DOCUMENTED_STATUSES
    # The error shape is one schema, used by every refusal
    errors = [
        r["content"]["application/json"]["schema"]
        for op in operations.values()
        for status, r in op["responses"].items()
        if int(status) >= 400
    ]
    assert errors and all(e == {"$ref": "#/components/schemas/ErrorAnswer"} for e in errors)
    # The cookie and the CSRF header are the security of the routes that need them
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "__Host-session",
        "description": schemes["session"]["description"],
    }
    assert schemes["csrf"]["in"] == "header" and schemes["csrf"]["name"] == "X-CSRF-Token"
    assert operations[("PUT", "/api/accounts/{account}/meters/{meter}/bot")]["security"] == [
        {"session": [], "csrf": []}
    ]
    assert operations[("GET", "/api/accounts/{account}")]["security"] == [{"session": []}]
    assert "security" not in operations[("POST", "/api/auth/signin")]
    # Successes name their shapes; the image route its two image types; 201 and 204 where they are due
    assert operations[("POST", "/api/auth/signup")]["responses"]["201"]["content"]["application/json"]
    assert "content" not in operations[("DELETE", "/api/accounts/{account}")]["responses"]["204"]
    image = operations[("GET", "/api/accounts/{account}/qr/{kind}")]["responses"]["200"]["content"]
    assert set(image) == {"image/svg+xml", "image/png"}
    viber = operations[("GET", "/api/accounts/{account}/viber-link")]
    assert viber["security"] == [{"session": []}]
    assert viber["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ViberLink"
    }
    # Typed path parameters
    params = {p["name"]: p for p in operations[("GET", "/api/accounts/{account}")]["parameters"]}
    assert params["account"]["schema"]["pattern"] == "^[0-9]{1,12}$"


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


def _fuzz(operation: Any, credentials: dict[str, str], ran: dict[str, int]) -> None:
    """Send CASES requests generated for one operation; each answer must be one the document lists."""
    checks = _checks()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **credentials})
        case.validate_response(response, checks=checks)
        ran[operation.label] = ran.get(operation.label, 0) + 1

    run()


def test_openapi_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    web: Browser, schema: Any
) -> None:
    # Given requests generated from the document for every operation, signed in and not
    operations = [result.ok() for result in schema.get_all_operations()]
    ran: dict[str, int] = {}
    for operation in operations:
        _fuzz(operation, {}, ran)
        web.sign_in()
        assert web.cookie is not None and web.csrf is not None
        # When each is sent / Then its answer is one the document lists, in the listed type and
        # shape, and never a 5xx
        _fuzz(operation, {"Cookie": web.cookie, "X-CSRF-Token": web.csrf}, ran)
    # And every documented operation was tried
    assert set(ran) == {op.label for op in operations} and len(ran) >= 16, ran
    print(f"schemathesis: {sum(ran.values())} requests over {len(ran)} operations, none refused")


def test_openapi_document_is_valid_json_with_ukrainian_title(web: Browser) -> None:
    answer = web.call("GET", "/api/openapi.json")
    assert answer.status == 200 and json.loads(answer.raw)["info"]["title"].startswith("Показники")
