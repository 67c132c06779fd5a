"""Integration tests: the real handlers and services against moto tables built from template.yaml."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.tables import create_tables

EVENT = json.loads((Path(__file__).parent.parent / "events" / "http_api_v2.json").read_text())
# Inside the demo windows laid by local.seed around this moment (Kyiv: 2026-11-24 23:04).
NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)


@pytest.fixture
def table() -> Iterator[Any]:
    """An empty table made from template.yaml in moto; yields the boto3 Table for asserting on items."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_tables(client)
        yield boto3.resource("dynamodb", region_name="eu-central-1").Table("MainTable")


@pytest.fixture
def stores(table: Any) -> Any:
    """The production stores, bound to the moto table."""
    from ekc.storage import get_stores

    return get_stores()


@pytest.fixture
def demo(stores: Any) -> dict[str, Any]:
    """The demo data of the local stack, seeded at NOW."""
    from local.seed import seed_demo

    return seed_demo(NOW, stores)


@dataclass
class Answer:
    """An HTTP API answer, decoded."""

    status: int
    headers: dict[str, str]
    cookies: list[str]
    raw: str

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Browser:
    """Calls the real lambda_handler with HTTP API v2 events, keeping the session cookie like a browser."""

    handler: Any
    cookie: str | None = None
    csrf: str | None = None
    source_ip: str = "203.0.113.7"
    sent: list[dict[str, Any]] = field(default_factory=list)

    def event(
        self, method: str, path: str, body: Any = None, query: str = "", headers: dict | None = None
    ) -> dict:
        event = copy.deepcopy(EVENT)
        event["routeKey"] = f"{method} {path}"
        event["rawPath"] = path
        event["rawQueryString"] = query
        if query:
            event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
        event["requestContext"]["http"].update(method=method, path=path, sourceIp=self.source_ip)
        event["cookies"] = [self.cookie] if self.cookie else []
        if self.csrf and method != "GET":
            event["headers"]["x-csrf-token"] = self.csrf
        event["headers"].update(headers or {})
        if body is not None:
            event["body"] = json.dumps(body)
        return event

    def call(
        self, method: str, path: str, body: Any = None, query: str = "", headers: dict | None = None
    ) -> Answer:
        event = self.event(method, path, body, query, headers)
        self.sent.append(event)
        return self.send(event)

    def send(self, event: dict) -> Answer:
        raw = self.handler(event, LambdaContextStub())
        cookies = raw.get("cookies", [])
        for cookie in cookies:
            name_value = cookie.split(";", 1)[0]
            self.cookie = name_value if name_value.split("=", 1)[1] else None
        body = raw.get("body") or ""
        if raw.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("latin-1")
        answer = Answer(
            raw["statusCode"], {k.lower(): v for k, v in raw.get("headers", {}).items()}, cookies, body
        )
        if (
            (
                answer.status < 300
                and answer.raw
                and answer.headers.get("content-type", "").startswith("application/json")
            )
            and isinstance(answer.json, dict)
            and "csrf" in answer.json
        ):
            self.csrf = answer.json["csrf"]
        return answer

    def sign_in(self, email: str = "demo@example.com", password: str = "demo12345") -> Answer:
        answer = self.call("POST", "/api/auth/signin", {"email": email, "password": password})
        assert answer.status == 200, answer.raw
        return answer


class LambdaContextStub:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "web_api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:web_api"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pin the server clock; returns a setter so a test can move time on."""
    from ekc import clock

    state = {"now": NOW}
    monkeypatch.setattr(clock, "now", lambda: state["now"])

    def set_now(moment: datetime) -> None:
        state["now"] = moment

    return set_now


@pytest.fixture
def web(demo: dict[str, Any], clock_at: Any) -> Browser:
    """A browser on the web API with the demo seeded and the clock at NOW."""
    from functions.web_api import app

    return Browser(app.lambda_handler)
