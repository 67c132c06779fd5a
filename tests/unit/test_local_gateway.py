"""The local gateway as a WSGI app, without sockets: routes to functions, local tools, files, headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from local.gateway import Gateway
from local.runtime import InvokeResult
from local.template import Function, ResponseHeader, Route, load_template, response_headers

ROOT = Path(__file__).resolve().parents[2]


def _route(method: str, path: str, name: str = "Fn") -> Route:
    return Route(method=method, path=path, function=Function(name, "functions/fake/", "app.handler"))


class FakeRuntime:
    """Stands in for the worker pools: runs a handler in-process and remembers what it was sent."""

    def __init__(self, answer: Any = None, ok: bool = True) -> None:
        self.answer = answer if answer is not None else {"statusCode": 200, "body": "ok"}
        self.ok = ok
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, name: str, event: Any) -> InvokeResult:
        self.calls.append((name, event))
        return InvokeResult(name, "lambda-request-1", self.ok, self.answer)


def _client(
    routes: list[Route],
    runtime: FakeRuntime | None = None,
    static_dir: Path | None = None,
    headers: list[ResponseHeader] | None = None,
    functions: tuple[str, ...] = (),
) -> tuple[Client, Gateway]:
    gateway = Gateway(routes, runtime or FakeRuntime(), static_dir, headers or [], functions)
    return Client(gateway), gateway


def test_gateway_sends_the_route_event_to_the_function_as_one_invocation() -> None:
    # Given a route served by WebApi
    runtime = FakeRuntime({"statusCode": 201, "headers": {"Content-Type": "application/json"}, "body": "{}"})
    client, _ = _client([_route("GET", "/api/me", "WebApi")], runtime)

    # When a browser asks for it
    response = client.get("/api/me", headers={"Host": "h"})

    # Then WebApi got API Gateway's event once, and its answer went back with a request id
    assert response.status_code == 201 and response.get_json() == {}
    ((name, event),) = runtime.calls
    assert name == "WebApi" and event["routeKey"] == "GET /api/me"
    assert response.headers["Apigw-Requestid"] == event["requestContext"]["requestId"]


def test_gateway_answers_500_when_the_invocation_failed(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a function whose invocation failed (it raised, crashed or timed out)
    error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"}
    client, _ = _client([_route("GET", "/api/me")], FakeRuntime(error, ok=False))
    # When / Then API Gateway's own 500, and the reason in the stack's output
    response = client.get("/api/me")
    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal Server Error"}
    assert "Sandbox.Timedout: Task timed out" in capsys.readouterr().err


def test_gateway_answers_500_when_the_function_answer_is_not_http() -> None:
    client, _ = _client([_route("GET", "/api/me")], FakeRuntime({"statusCode": "teapot"}))
    assert client.get("/api/me").status_code == 500


def test_gateway_answers_api_gateway_404_for_unknown_api_paths(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "secret.txt").write_text("static must not shadow the API")
    runtime = FakeRuntime()
    client, _ = _client([_route("GET", "/api/me")], runtime, tmp_path)
    for method, path in (("GET", "/api/nope"), ("POST", "/api/me"), ("GET", "/api/secret.txt")):
        response = client.open(path, method=method)
        assert response.status_code == 404
        assert response.get_json() == {"message": "Not Found"}
    assert runtime.calls == []


def test_gateway_serves_the_cabinet_files(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Кабінет</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("export {};")
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "logo.svg").write_text("<svg/>")
    client, _ = _client([_route("GET", "/api/me")], static_dir=tmp_path)

    index = client.get("/")
    assert index.status_code == 200 and "Кабінет" in index.get_data(as_text=True)
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert index.headers["Cache-Control"] == "no-cache" and "Content-Disposition" not in index.headers
    assert client.get("/app.js?v=1").headers["Content-Type"] == "text/javascript; charset=utf-8"
    head = client.head("/img/logo.svg")
    assert head.headers["Content-Type"] == "image/svg+xml" and head.get_data() == b""
    assert client.get("/missing.css").status_code == 404
    assert client.get("/img").status_code == 404
    assert client.post("/index.html").status_code == 405
    # A conditional GET from the browser's cache is answered 304
    assert client.get("/", headers={"If-None-Match": index.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize(
    "target",
    [
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/..%2foutside.txt",
        "/site/..%2f..%2foutside.txt",
        "/%2e%2e%5coutside.txt",
        "/link.txt",
        "/.hidden",
        "/a%00.txt",
    ],
)
def test_gateway_never_serves_files_outside_the_cabinet(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside.txt").write_text("SECRET")
    site = tmp_path / "site"
    site.mkdir()
    (site / ".hidden").write_text("SECRET")
    (site / "link.txt").symlink_to(tmp_path / "outside.txt")
    client, _ = _client([], static_dir=site)

    response = client.get(target, environ_overrides={"RAW_URI": target})

    assert response.status_code == 404 and b"SECRET" not in response.get_data()


def test_gateway_mounts_local_tools_under_local_prefix() -> None:
    # Given a local tool written with werkzeug, mounted under /_local/viber
    @Request.application
    def tool(request: Request) -> Response:
        return Response(
            json.dumps(
                {"path": request.path, "root": request.root_path, "body": request.get_data(as_text=True)}
            )
        )

    client, gateway = _client([_route("GET", "/api/me")])
    gateway.mount("/_local/viber", tool)

    # When it is called, it sees paths relative to its mount
    answer = json.loads(client.post("/_local/viber/pa/send_message", data="hi").get_data())
    assert answer == {"path": "/pa/send_message", "root": "/_local/viber", "body": "hi"}
    # Then unmounted local paths are 404, the listing names the tool, and only /_local/<name> mounts
    assert client.get("/_local/nothing").status_code == 404
    listing = client.get("/_local/routes").get_json()
    assert "/_local/viber" in listing["local"]
    assert listing["routes"] == [
        {"route": "GET /api/me", "function": "Fn", "code_uri": "functions/fake/", "handler": "app.handler"}
    ]
    for prefix in ("/viber", "/_local/", "/_local"):
        with pytest.raises(ValueError, match="_local"):
            gateway.mount(prefix, tool)


def test_gateway_invokes_a_function_with_the_posted_event() -> None:
    # Given a non-HTTP function and an EventBridge event
    runtime = FakeRuntime({"closed": 3})
    client, _ = _client([], runtime, functions=("WindowClose",))
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}

    # When it is posted to /_local/invoke/<LogicalId>
    response = client.post("/_local/invoke/WindowClose", json=event)

    # Then the function got exactly that event and its return value is the answer
    assert runtime.calls == [("WindowClose", event)]
    assert response.status_code == 200 and response.get_json() == {"closed": 3}
    assert "X-Amz-Function-Error" not in response.headers


def test_gateway_invoke_reports_a_function_error_as_lambda_does() -> None:
    error = {"errorType": "RuntimeError", "errorMessage": "boom", "stackTrace": []}
    client, _ = _client([], FakeRuntime(error, ok=False), functions=("WindowClose",))
    response = client.post("/_local/invoke/WindowClose", data="{}")
    assert response.status_code == 200 and response.get_json()["errorType"] == "RuntimeError"
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"


def test_gateway_invoke_refuses_unknown_functions_other_methods_and_bad_json() -> None:
    runtime = FakeRuntime()
    client, _ = _client([], runtime, functions=("WindowClose",))
    assert client.post("/_local/invoke/Nope", data="{}").status_code == 404
    assert client.get("/_local/invoke/WindowClose").status_code == 405
    assert client.post("/_local/invoke/WindowClose", data="{not json").status_code == 400
    assert runtime.calls == []


def test_gateway_adds_cloudfront_headers_to_files_and_api_answers_not_to_local_tools(tmp_path: Path) -> None:
    # Given a policy with an overriding header and one that only fills a gap
    (tmp_path / "index.html").write_text("<!doctype html>")
    headers = [ResponseHeader("X-Frame-Options", "DENY"), ResponseHeader("X-Probe", "cdn", override=False)]
    runtime = FakeRuntime(
        {"statusCode": 200, "headers": {"X-Probe": "origin", "X-Frame-Options": "SAMEORIGIN"}}
    )
    client, gateway = _client([_route("GET", "/api/me")], runtime, tmp_path, headers)
    gateway.mount("/_local/tool", Response("tool"))

    # When / Then files and API answers carry them as CloudFront would write them
    page, api = client.get("/"), client.get("/api/me")
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Probe"] == "cdn"
    assert api.headers["X-Frame-Options"] == "DENY" and api.headers["X-Probe"] == "origin"
    assert client.get("/api/nope").headers["X-Frame-Options"] == "DENY"
    # And local tools, which CloudFront never serves, do not
    assert "X-Frame-Options" not in client.get("/_local/tool").headers


def test_gateway_security_headers_are_the_template_policy(tmp_path: Path) -> None:
    # Given the security headers policy template.yaml gives CloudFront, read here on its own
    template = load_template(ROOT / "template.yaml")
    policy = template["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    config = policy["SecurityHeadersConfig"]
    expected = {
        "Content-Security-Policy": " ".join(config["ContentSecurityPolicy"]["ContentSecurityPolicy"].split()),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": config["FrameOptions"]["FrameOption"],
        "Referrer-Policy": config["ReferrerPolicy"]["ReferrerPolicy"],
    }
    (tmp_path / "index.html").write_text("<!doctype html>")
    client, _ = _client([], static_dir=tmp_path, headers=response_headers(template))

    # When the cabinet's page is served
    page = client.get("/")

    # Then it carries exactly those, and no HSTS (meaningless on plain HTTP, see local/template.py)
    assert {name: page.headers.get(name) for name in expected} == expected
    assert "StrictTransportSecurity" in config and "Strict-Transport-Security" not in page.headers
    served = {
        name for name, _ in page.headers if name.lower().startswith(("x-", "content-security", "referrer"))
    }
    assert served == set(expected)
