"""API Gateway's part of the local stack without sockets: route selection, the 2.0 event, the answer."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from local.apigw import RouteTable, build_event, raw_path, split_target, to_response
from local.template import Function, Route

SAMPLE_EVENT = json.loads((Path(__file__).parent.parent / "events" / "http_api_v2.json").read_text())


def _route(method: str, path: str) -> Route:
    return Route(method=method, path=path, function=Function("Fn", "functions/fake/", "app.handler"))


def make_request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    client_ip: str = "127.0.0.1",
) -> Request:
    """A werkzeug Request as the local server builds it: the raw target kept in RAW_URI."""
    path, query = split_target(target)
    builder = EnvironBuilder(
        method=method,
        path=unquote(path),
        query_string=query,
        headers=headers or [],
        data=body or None,
        environ_overrides={"RAW_URI": target, "REQUEST_URI": target, "REMOTE_ADDR": client_ip},
    )
    return Request(builder.get_environ())


def test_route_table_prefers_literal_segment_over_parameter() -> None:
    # Given a parameter route and a literal route at the same depth, in either order
    literal, parameter = _route("GET", "/api/accounts/export"), _route("GET", "/api/accounts/{account}")
    for routes in ([parameter, literal], [literal, parameter]):
        table = RouteTable(routes)
        # When / Then the literal wins for its own path, the parameter takes the rest
        assert table.match("GET", "/api/accounts/export").route is literal
        match = table.match("GET", "/api/accounts/77777")
        assert match.route is parameter and match.path_parameters == {"account": "77777"}


def test_route_table_compares_segments_left_to_right() -> None:
    early = _route("GET", "/api/accounts/{account}/meters/{meter}")
    late = _route("GET", "/api/{section}/77777/meters/{meter}")
    assert RouteTable([late, early]).match("GET", "/api/accounts/77777/meters/1").route is early


def test_route_table_greedy_parameter_is_the_last_resort() -> None:
    single, greedy = _route("GET", "/files/{name}"), _route("GET", "/files/{proxy+}")
    table = RouteTable([greedy, single])
    assert table.match("GET", "/files/a").route is single
    match = table.match("GET", "/files/a/b/c%20d")
    assert match.route is greedy and match.path_parameters == {"proxy": "a/b/c d"}
    assert table.match("GET", "/files") is None


def test_route_table_needs_the_method_and_prefers_it_to_any() -> None:
    get, anything = _route("GET", "/api/me"), _route("ANY", "/api/me")
    assert RouteTable([get]).match("POST", "/api/me") is None
    table = RouteTable([anything, get])
    assert table.match("GET", "/api/me").route is get
    assert table.match("DELETE", "/api/me").route is anything


def test_route_table_decodes_parameters_and_rejects_extra_segments() -> None:
    table = RouteTable([_route("GET", "/api/accounts/{account}")])
    assert table.match("GET", "/api/accounts/77%2077").path_parameters == {"account": "77 77"}
    assert table.match("GET", "/api/accounts/77777/more") is None
    assert table.match("GET", "/api/accounts/") is None


def test_route_table_owns_only_its_first_segments() -> None:
    table = RouteTable([_route("GET", "/api/me"), _route("POST", "/viber/callback")])
    assert table.prefixes() == {"api", "viber"}
    assert table.owns("/api/anything") and table.owns("/viber") and not table.owns("/app.js")
    assert not table.owns("/")
    assert RouteTable([_route("ANY", "/{proxy+}")]).owns("/app.js")


def test_build_event_has_the_shape_of_api_gateway_payload_2() -> None:
    # Given a browser request with a repeated header (joined by the server), cookies and a query string
    request = make_request(
        "POST",
        "/api/accounts/77777/readings?a=1&b=x%20y&a=2",
        headers=[
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("User-Agent", "Mozilla/5.0"),
            ("Accept", "text/html,application/json"),
            ("Cookie", "__Host-session=abc; theme=dark"),
        ],
        body=b'{"rows": []}',
        client_ip="192.0.2.10",
    )
    match = RouteTable([_route("POST", "/api/accounts/{account}/readings")]).match("POST", raw_path(request))

    # When
    event = build_event(request, match, "req-1")

    # Then it carries every key a real event has, with API Gateway's conventions
    assert set(SAMPLE_EVENT) <= set(event)
    assert set(SAMPLE_EVENT["requestContext"]) <= set(event["requestContext"])
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/accounts/{account}/readings"
    assert event["rawPath"] == "/api/accounts/77777/readings"
    assert event["rawQueryString"] == "a=1&b=x%20y&a=2"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["pathParameters"] == {"account": "77777"}
    assert event["cookies"] == ["__Host-session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["accept"] == "text/html,application/json"
    assert event["headers"]["x-forwarded-for"] == "192.0.2.10"
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] == '{"rows": []}' and event["isBase64Encoded"] is False
    http = event["requestContext"]["http"]
    assert http == {
        "method": "POST",
        "path": "/api/accounts/77777/readings",
        "protocol": "HTTP/1.1",
        "sourceIp": "192.0.2.10",
        "userAgent": "Mozilla/5.0",
    }
    context = event["requestContext"]
    assert context["requestId"] == "req-1" and context["stage"] == "$default"
    assert context["routeKey"] == event["routeKey"]
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith(" +0000")


def test_build_event_leaves_out_what_the_request_lacks() -> None:
    request = make_request("GET", "/api/me", [("Host", "127.0.0.1:3000")])
    event = build_event(request, RouteTable([_route("GET", "/api/me")]).match("GET", "/api/me"), "r")
    for absent in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert absent not in event
    assert event["isBase64Encoded"] is False and event["rawQueryString"] == ""


def test_build_event_keeps_the_raw_percent_encoded_path() -> None:
    request = make_request("GET", "/api/accounts/77%2077")
    match = RouteTable([_route("GET", "/api/accounts/{account}")]).match("GET", raw_path(request))
    event = build_event(request, match, "r")
    assert event["rawPath"] == "/api/accounts/77%2077"
    assert event["pathParameters"] == {"account": "77 77"}


@pytest.mark.parametrize(
    ("content_type", "as_text"),
    [
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/xml", True),
        ("application/x-www-form-urlencoded", False),  # as real HTTP APIs do (Twilio's webhooks)
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_build_event_base64_encodes_bodies_that_are_not_text(content_type: str, as_text: bool) -> None:
    body = b"CallSid=CA1&Digits=77777%23"
    headers = [("Content-Type", content_type)] if content_type else []
    request = make_request("POST", "/ivr/voice", headers, body)
    event = build_event(request, RouteTable([_route("POST", "/ivr/voice")]).match("POST", "/ivr/voice"), "r")
    assert event["isBase64Encoded"] is not as_text
    decoded = event["body"].encode() if as_text else base64.b64decode(event["body"])
    assert decoded == body


def test_to_response_turns_cookies_headers_and_base64_into_http() -> None:
    response = to_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "multiValueHeaders": {"Vary": ["Accept", "Cookie"]},
            "cookies": ["a=1; Path=/; HttpOnly", "b=; Max-Age=0"],
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status_code == 201 and response.get_data() == b"\x89PNG"
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers.getlist("Vary") == ["Accept", "Cookie"]
    assert response.headers.getlist("Set-Cookie") == ["a=1; Path=/; HttpOnly", "b=; Max-Age=0"]


def test_to_response_infers_a_json_200_without_status_code() -> None:
    response = to_response({"hello": "світ"})
    assert response.status_code == 200 and json.loads(response.get_data()) == {"hello": "світ"}
    assert response.headers["Content-Type"] == "application/json"
    empty = to_response({"statusCode": 204})
    assert empty.get_data() == b"" and "Content-Type" not in empty.headers
    with pytest.raises(ValueError, match="statusCode"):
        to_response({"statusCode": "teapot"})


def test_split_target_never_reads_a_host_into_the_path() -> None:
    assert split_target("//evil/x?a=1") == ("//evil/x", "a=1")
    assert split_target("http://127.0.0.1:3000/api/me?x") == ("/api/me", "x")
    assert split_target("/a#frag") == ("/a", "")
