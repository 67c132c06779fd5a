"""The floor under web_api's readings page: its libraries and its two DynamoDB requests, nothing more.

`make bench` divides web_api's cold start (a fresh process to the first readings page) by this
handler's, run alike from the same built layer: what is left is what web_api's own code costs. It
imports what web_api must load whatever we write (the resolver with validation, logging and metrics,
pydantic, PynamoDB with botocore, argon2, the time zone database), keeps web_api's collector policy
(off while importing, then frozen), and reads the session with the catalogue in one TransactGetItems,
then the account's partition in one Query, through one botocore client made at the first request.
BENCH_FLOOR_GC=on leaves the collector on, for the figure against the old, uneven baseline.
"""

from __future__ import annotations

import gc
import os

SAME_GC_POLICY = os.environ.get("BENCH_FLOOR_GC") != "on"
if SAME_GC_POLICY:
    gc.disable()

import hashlib  # noqa: E402 - imported after the collector is off, as in web_api
import zoneinfo  # noqa: E402
from typing import Any  # noqa: E402

import argon2  # noqa: E402, F401
import aws_lambda_powertools.event_handler.middlewares.openapi_validation  # noqa: E402, F401
import botocore.session  # noqa: E402
import pydantic  # noqa: E402, F401
import pynamodb.attributes  # noqa: E402
import pynamodb.connection  # noqa: E402
import pynamodb.models  # noqa: E402
import pynamodb.transactions  # noqa: E402, F401
from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types  # noqa: E402
from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: E402, F401

KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
TABLE = os.environ["TABLE_NAME"]
SESSION_COOKIE = "__Host-session"
logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_clients: list[Any] = []


def dynamodb() -> Any:
    """The container's one DynamoDB client, made at its first request."""
    if not _clients:
        _clients.append(
            botocore.session.get_session().create_client(
                "dynamodb",
                region_name=os.environ["AWS_REGION"],
                endpoint_url=os.environ.get("DYNAMODB_ENDPOINT") or None,
            )
        )
    return _clients[0]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"TableName": TABLE, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}


@app.get("/api/accounts/<account>")
def readings_page(account: str) -> Response[dict]:
    """The session and the catalogue, then the account's partition: the two requests of web_api's page."""
    token = next(
        (
            value
            for name, _, value in (c.partition("=") for c in app.current_event.cookies)
            if name == SESSION_COOKIE
        ),
        "",
    )
    session_key = "SESSION#" + hashlib.sha256(token.encode()).hexdigest()
    client = dynamodb()
    got = client.transact_get_items(
        TransactItems=[{"Get": _key(session_key, "SESSION")}, {"Get": _key("CATALOG", "ORGANIZATIONS")}],
        ReturnConsumedCapacity="TOTAL",
    )
    if "Item" not in got["Responses"][0]:
        return Response(401, content_types.APPLICATION_JSON, {"error": "not signed in"})
    items = client.query(
        TableName=TABLE,
        KeyConditionExpression="#0 = :0",
        ExpressionAttributeNames={"#0": "pk"},
        ExpressionAttributeValues={":0": {"S": f"ACC#{account}"}},
        ReturnConsumedCapacity="TOTAL",
    )["Items"]
    if not any(item["sk"]["S"] == "ACCOUNT" for item in items):
        return Response(404, content_types.APPLICATION_JSON, {"error": "not found"})
    return Response(200, content_types.APPLICATION_JSON, {"account": account, "items": len(items)})


if SAME_GC_POLICY:
    gc.freeze()
    gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    """The Lambda entry point."""
    return app.resolve(event, context)
