"""DynamoDB requests of the Viber webhook's busiest callback: a resident typing a reading.

`measure()` drives the real `lambda_handler` with signed callbacks against moto tables built from
template.yaml, its replies going over HTTP to the local fake of Viber's API, and counts DynamoDB
requests with botocore's `before-call` event (as bench/run.py does for the web). Warm: the container
already served the resident's previous tap. `python -m bench.viber` prints the figures.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import io
import json
import os
import threading
from collections import Counter
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from bench.environment import moto_environment

GOALS = {"ddb_requests.viber_reading_message": 3}
AUTH_TOKEN = "bench-viber-auth-token"
VIBER_ID = "bench-user-0000000000=="


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""


def measure() -> dict[str, Any]:
    """Requests per Viber callback: a reading typed (cold and warm container), a meter tapped, the QR join."""
    moto_environment(VIBER_AUTH_TOKEN=AUTH_TOKEN)
    os.environ.pop("POWERTOOLS_IDEMPOTENCY_DISABLED", None)
    import boto3
    import botocore.session
    import pynamodb.connection.base as pynamodb_base
    from moto import mock_aws

    from local.viber_fake import ViberFake, wsgi_app

    calls: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    pynamodb_base.get_session = lambda: session

    fake = ViberFake(auth_token=lambda: AUTH_TOKEN)
    server = make_server("127.0.0.1", 0, wsgi_app(fake), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["VIBER_API_URL"] = f"http://127.0.0.1:{server.server_address[1]}/pa"

    from ekc import clock
    from ekc.config import clear_settings
    from ekc.idempotency import persistence_layer
    from ekc.services import qrcodes
    from ekc.storage import forget
    from functions.viber_webhook import app
    from local.seed import seed_demo
    from local.tables import create_tables
    from tests.integration.conftest import EVENT, NOW, LambdaContextStub

    moment = {"now": NOW}
    real_now = clock.now
    clock.now = lambda: moment["now"]
    tracking: dict[str, Any] = {"data": None}
    tokens = iter(range(7_000_000_000_000_000_000, 8_000_000_000_000_000_000))

    def post(callback: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(callback, ensure_ascii=False)
        event = copy.deepcopy(EVENT)
        event.update(
            routeKey="POST /viber/webhook", rawPath="/viber/webhook", body=body, isBase64Encoded=False
        )
        signature = hmac.new(AUTH_TOKEN.encode(), body.encode(), hashlib.sha256).hexdigest()
        event["headers"] = {**event["headers"], "x-viber-content-signature": signature}
        answer = app.lambda_handler(event, LambdaContextStub())
        assert answer["statusCode"] == 200, answer
        return json.loads(answer["body"])

    def say(text: str, cold: bool = False) -> tuple[int, dict[str, int]]:
        if cold:  # a new container: no connection, no cached organizations, no idempotency layer
            forget()
            persistence_layer.cache_clear()
        moment["now"] += timedelta(seconds=7)
        calls.clear()
        post(
            {
                "event": "message",
                "timestamp": 1,
                "message_token": next(tokens),
                "sender": {"id": VIBER_ID, "name": "Bench"},
                "message": {"type": "text", "text": text, "tracking_data": tracking["data"]},
            }
        )
        tracking["data"] = fake.sent[-1]["tracking_data"]
        return sum(calls.values()), dict(calls)

    try:
        with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
            create_tables(boto3.client("dynamodb", region_name="eu-central-1"))
            clear_settings()
            forget()
            persistence_layer.cache_clear()
            app.api.cache_clear()
            seed_demo(NOW)
            context = qrcodes.viber_link("77777").split("context=", 1)[1]
            calls.clear()
            welcome = post(
                {
                    "event": "conversation_started",
                    "timestamp": 1,
                    "message_token": next(tokens),
                    "type": "open",
                    "context": context,
                    "user": {"id": VIBER_ID, "name": "Bench"},
                    "subscribed": False,
                }
            )
            join = sum(calls.values()), dict(calls)
            tracking["data"] = welcome["tracking_data"]
            say("Введення показників")
            say("Показники о/р 77777")
            tap = say("Лічильник 77777.2")
            warm = say("205")
            say("Лічильник 77777.3")
            cold = say("106", cold=True)
    finally:
        clock.now = real_now
        server.shutdown()
        server.server_close()
    return {
        "viber_reading_message": warm[0],
        "viber_reading_message_cold": cold[0],
        "viber_meter_tap": tap[0],
        "viber_qr_join": join[0],
        "operations": {
            "viber_reading_message": warm[1],
            "viber_reading_message_cold": cold[1],
            "viber_meter_tap": tap[1],
            "viber_qr_join": join[1],
        },
    }


if __name__ == "__main__":
    results = measure()
    print(json.dumps({"ddb_requests": results, "goals": GOALS}, indent=2, ensure_ascii=False))
    for name, goal in GOALS.items():
        value = results[name.split(".", 1)[1]]
        if value > goal:
            print(f"goal missed: {name}: {value} > {goal}")
