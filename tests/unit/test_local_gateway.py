"""The local gateway without sockets: route selection, API Gateway's event and answer, static files."""

from __future__ import annotations

import base64
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from local.gateway import (
    Gateway,
    LambdaContext,
    ModuleLoader,
    Request,
    Response,
    RouteTable,
    build_event,
    to_response,
)
from local.tables import Function, Route, http_routes, load_template

SAMPLE_EVENT = json.loads((Path(__file__).parent.parent / "events" / "http_api_v2.json").read_text())


def _function(name: str = "Fn", timeout: int = 10) -> Function:
    return Function(
        logical_id=name, code_uri="functions/fake/", handler="app.handler", environment={}, timeout=timeout
    )


def _route(method: str, path: str, function: Function | None = None) -> Route:
    return Route(method=method, path=path, function=function or _function())


class Recorder:
    """A fake handler that remembers its calls and answers what it is told."""

    def __init__(self, answer: Any = None) -> None:
        self.answer = answer if answer is not None else {"statusCode": 200, "body": "ok"}
        self.calls: list[tuple[dict[str, Any], Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append((event, context))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _gateway(routes: list[Route], handler: Any, static_dir: Path | None = None) -> Gateway:
    return Gateway(routes, static_dir, loader=lambda function: handler)


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
    assert RouteTable([_route("ANY", "/{proxy+}")]).owns("/app.js")


def test_build_event_has_the_shape_of_api_gateway_payload_2() -> None:
    # Given a browser request with repeated headers, cookies and a query string
    request = Request(
        method="POST",
        target="/api/accounts/77777/readings?a=1&b=x%20y&a=2",
        headers=[
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("User-Agent", "Mozilla/5.0"),
            ("Accept", "text/html"),
            ("accept", "application/json"),
            ("Cookie", "__Host-session=abc; theme=dark"),
        ],
        body=b'{"rows": []}',
        client_ip="192.0.2.10",
    )
    match = RouteTable([_route("POST", "/api/accounts/{account}/readings")]).match("POST", request.raw_path)

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
    request = Request("GET", "/api/me", [("Host", "127.0.0.1:3000")])
    event = build_event(request, RouteTable([_route("GET", "/api/me")]).match("GET", "/api/me"), "r")
    for absent in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert absent not in event
    assert event["isBase64Encoded"] is False and event["rawQueryString"] == ""


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
    request = Request("POST", "/ivr/voice", headers, body)
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
    assert response.status == 201 and response.body == b"\x89PNG"
    assert ("Content-Type", "image/png") in response.headers
    assert [value for name, value in response.headers if name == "Vary"] == ["Accept", "Cookie"]
    assert [value for name, value in response.headers if name == "Set-Cookie"] == [
        "a=1; Path=/; HttpOnly",
        "b=; Max-Age=0",
    ]


def test_to_response_infers_a_json_200_without_status_code() -> None:
    response = to_response({"hello": "світ"})
    assert response.status == 200 and json.loads(response.body) == {"hello": "світ"}
    assert to_response({"statusCode": 204}).body == b""
    with pytest.raises(ValueError, match="statusCode"):
        to_response({"statusCode": "teapot"})


def test_gateway_calls_the_handler_as_one_lambda_invocation() -> None:
    handler = Recorder({"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"})
    gateway = _gateway([_route("GET", "/api/me", _function("WebApi", timeout=10))], handler)

    response = gateway.handle(Request("GET", "/api/me", [("Host", "h")]))

    assert response.status == 200 and response.route == "WebApi"
    event, context = handler.calls[0]
    assert event["routeKey"] == "GET /api/me"
    assert isinstance(context, LambdaContext)
    assert (
        context.function_name == "WebApi" and context.aws_request_id == event["requestContext"]["requestId"]
    )
    assert context.invoked_function_arn.endswith(":function:WebApi")
    assert 0 < context.get_remaining_time_in_millis() <= 10_000
    assert ("Apigw-Requestid", context.aws_request_id) in response.headers


def test_gateway_answers_500_and_prints_the_traceback_when_the_handler_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway = _gateway([_route("GET", "/api/me")], Recorder(RuntimeError("boom")))
    response = gateway.handle(Request("GET", "/api/me"))
    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_gateway_answers_api_gateway_404_for_unknown_api_paths(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "secret.txt").write_text("static must not shadow the API")
    handler = Recorder()
    gateway = _gateway([_route("GET", "/api/me")], handler, tmp_path)
    for request in (
        Request("GET", "/api/nope"),
        Request("POST", "/api/me"),
        Request("GET", "/api/secret.txt"),
    ):
        response = gateway.handle(request)
        assert response.status == 404
        assert json.loads(response.body) == {"message": "Not Found"}
    assert handler.calls == []


def test_gateway_serves_the_cabinet_files(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Кабінет</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("export {};")
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "logo.svg").write_text("<svg/>")
    gateway = _gateway([_route("GET", "/api/me")], Recorder(), tmp_path)

    index = gateway.handle(Request("GET", "/"))
    assert index.status == 200 and "Кабінет" in index.body.decode()
    assert dict(index.headers)["Content-Type"] == "text/html; charset=utf-8"
    assert dict(index.headers)["X-Content-Type-Options"] == "nosniff"
    assert dict(gateway.handle(Request("GET", "/app.js?v=1")).headers)["Content-Type"].startswith(
        "text/javascript"
    )
    assert dict(gateway.handle(Request("HEAD", "/img/logo.svg")).headers)["Content-Type"] == "image/svg+xml"
    assert gateway.handle(Request("GET", "/missing.css")).status == 404
    assert gateway.handle(Request("GET", "/img")).status == 404
    assert gateway.handle(Request("POST", "/index.html")).status == 405


@pytest.mark.parametrize(
    "target",
    [
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/..%2foutside.txt",
        "/site/..%2f..%2foutside.txt",
        "/%2e%2e%5coutside.txt",
        "/site/link.txt",
        "/site/.hidden",
        "/site/a%00.txt",
    ],
)
def test_gateway_never_serves_files_outside_the_cabinet(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside.txt").write_text("SECRET")
    site = tmp_path / "site"
    site.mkdir()
    (site / ".hidden").write_text("SECRET")
    (site / "link.txt").symlink_to(tmp_path / "outside.txt")
    gateway = _gateway([], Recorder(), site)

    response = gateway.handle(Request("GET", target))

    assert response.status == 404 and b"SECRET" not in response.body


def test_gateway_mounts_local_only_apps_under_local_prefix() -> None:
    gateway = _gateway([_route("GET", "/api/me")], Recorder())
    gateway.mount("/_local/viber", lambda request: Response(200, [], request.raw_path.encode()))

    assert gateway.handle(Request("GET", "/_local/viber/chat")).body == b"/_local/viber/chat"
    assert gateway.handle(Request("GET", "/_local/nothing")).status == 404
    routes = json.loads(gateway.handle(Request("GET", "/_local/routes")).body)
    assert routes["routes"] == [{"route": "GET /api/me", "function": "Fn", "handler": "functions.fake.app"}]
    with pytest.raises(ValueError, match="_local"):
        gateway.mount("/viber", lambda request: Response(200))


def test_module_loader_applies_the_function_environment_during_its_cold_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function module that reads its environment at import, as Powertools does
    package = tmp_path / "fakefns" / "probe"
    package.mkdir(parents=True)
    (package / "app.py").write_text(
        textwrap.dedent(
            """
            import os
            SEEN = {name: os.environ.get(name) for name in ("SERVICE", "LEVEL", "UNKNOWN")}
            def handler(event, context):
                return SEEN
            """
        )
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "fakefns.probe.app", raising=False)
    monkeypatch.setenv("SERVICE", "fallback")
    monkeypatch.setenv("LEVEL", "DEBUG")
    function = Function(
        logical_id="Probe",
        code_uri="fakefns/probe/",
        handler="app.handler",
        environment={"SERVICE": "probe", "LEVEL": "INFO", "UNKNOWN": None},
    )

    # When it is loaded with LEVEL set by the developer's shell
    handler = ModuleLoader(root=tmp_path, pinned={"LEVEL"})(function)

    # Then the template value applied, the pinned one won, and the environment is back as it was
    assert handler({}, None) == {"SERVICE": "probe", "LEVEL": "DEBUG", "UNKNOWN": None}
    assert os.environ["SERVICE"] == "fallback"
    monkeypatch.delitem(sys.modules, "fakefns.probe.app", raising=False)


def test_http_routes_reads_every_function_event_of_the_template() -> None:
    routes = {route.route_key: route for route in http_routes()}

    readings = routes["GET /api/accounts/{account}"].function
    assert readings.module == "functions.web_api.app" and readings.attribute == "lambda_handler"
    assert "layers/common/python/" in readings.layers
    # Resolvable locally: literals and the table; deployment-time values are left to the local stack.
    assert readings.environment["TABLE_NAME"] == "MainTable"
    assert readings.environment["POWERTOOLS_SERVICE_NAME"] == "web_api"
    assert readings.environment["TOKEN_SIGNING_KEY_PARAMETER"] is None  # ${StageName}: deployment-time
    assert readings.environment["PUBLIC_BASE_URL"] is None
    assert {"GET /api/openapi.json", "POST /api/auth/signin", "POST /api/accounts/{account}/readings"} <= set(
        routes
    )


def test_http_routes_resolves_intrinsics_with_local_answers(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        textwrap.dedent(
            """
            Parameters:
              Base: {Type: String, Default: ""}
            Conditions:
              HasBase: !Not [!Equals [!Ref Base, ""]]
            Globals:
              Function:
                Timeout: 7
                Environment:
                  Variables: {SHARED: one, TABLE: !Ref Data}
            Resources:
              Data:
                Type: AWS::DynamoDB::Table
                Properties:
                  KeySchema: [{AttributeName: pk, KeyType: HASH}]
                  AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: functions/fn/
                  Handler: app.handler
                  Environment:
                    Variables:
                      URL: !If [HasBase, !Sub "${Base}/x", !GetAtt Dist.DomainName]
                      JOINED: !Join ["-", [a, !Ref Data]]
                      LITERAL: !Sub "${!Keep}-${Data}"
                  Events:
                    Proxy:
                      Type: HttpApi
                      Properties: {Method: any, Path: "/hook/{proxy+}"}
                    Rest:
                      Type: Api
                      Properties: {Method: get, Path: /rest}
            """
        )
    )

    (route,) = http_routes(template, table_names={"Data": "LocalData"})
    assert route.route_key == "ANY /hook/{proxy+}" and route.function.timeout == 7
    assert dict(route.function.environment) == {
        "SHARED": "one",
        "TABLE": "LocalData",
        "URL": None,
        "JOINED": "a-LocalData",
        "LITERAL": "${Keep}-LocalData",
    }
    (given,) = http_routes(template, parameters={"Base": "http://127.0.0.1:3000"})
    assert given.function.environment["URL"] == "http://127.0.0.1:3000/x"


def test_template_loader_reads_short_tags_as_their_long_form() -> None:
    template = load_template()
    assert template["Resources"]["MainTable"]["Type"] == "AWS::DynamoDB::Table"
    layers = template["Globals"]["Function"]["Layers"]
    assert layers == [{"Ref": "CommonLayer"}]


def test_request_splits_the_target_without_reading_a_host_into_it() -> None:
    assert (Request("GET", "//evil/x?a=1").raw_path, Request("GET", "//evil/x?a=1").raw_query) == (
        "//evil/x",
        "a=1",
    )
    assert Request("GET", "http://127.0.0.1:3000/api/me?x").raw_path == "/api/me"
    assert Request("GET", "/a#frag").raw_path == "/a"
