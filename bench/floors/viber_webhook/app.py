"""The floor under viber_webhook's typed reading: its libraries, its three DynamoDB requests and its
reply to Viber, nothing more.

`make bench` divides viber_webhook's cold start (a fresh process to the answer of a linked resident's
typed reading) by this handler's, run alike from the same built layer and function folder: what is
left is what viber_webhook's own code costs. It imports what the function must load whatever we
write (viberbot's pieces the function uses, requests, logging and metrics, pydantic settings, PynamoDB
with botocore, the time zone database), keeps the function's collector policy (off while importing,
then frozen), checks the signature, then reads the account's partition in one Query and the
catalogue in one GetItem, writes the reading (the reading, the month's winner, the save's marker, the
meter: one TransactWriteItems on items of its own), through one botocore client made at the first
request, and sends one text message through viberbot's sender to VIBER_API_URL.

Not here: Powertools' idempotency (and boto3 with it), which the function imports for its other
messages while a typed reading never uses it; what it costs shows in the ratio.
BENCH_FLOOR_GC=on leaves the collector on, as web_api's floor does.
"""

from __future__ import annotations

import gc
import os

SAME_GC_POLICY = os.environ.get("BENCH_FLOOR_GC") != "on"
if SAME_GC_POLICY:
    gc.disable()

import hashlib  # noqa: E402 - imported after the collector is off, as in viber_webhook
import hmac  # noqa: E402
import json  # noqa: E402
import uuid  # noqa: E402
import zoneinfo  # noqa: E402
from typing import Any  # noqa: E402

import botocore.session  # noqa: E402
import pydantic  # noqa: E402
import pydantic_settings  # noqa: E402
import pynamodb.attributes  # noqa: E402
import pynamodb.connection  # noqa: E402
import pynamodb.models  # noqa: E402
import pynamodb.transactions  # noqa: E402, F401
import requests  # noqa: E402
from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: E402
from viberbot import Api, BotConfiguration  # noqa: E402, F401
from viberbot.api.consts import VIBER_BOT_USER_AGENT  # noqa: E402
from viberbot.api.messages import TextMessage  # noqa: E402


class Settings(pydantic_settings.BaseSettings):
    """What the function's settings read from the environment for this request."""

    table_name: str
    viber_auth_token: pydantic.SecretStr
    viber_api_url: str = "https://chatapi.viber.com/pa"
    viber_timeout_seconds: float = 3.0


KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
logger = Logger()
_clients: list[Any] = []
_sessions: list[requests.Session] = []


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


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def _put(table: str, pk: str, sk: str, **fields: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}} | {name: {"S": value} for name, value in fields.items()}
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def typed_reading(settings: Settings, callback: dict[str, Any]) -> None:
    """The account's partition, the catalogue, the reading written, the confirmation sent."""
    table = settings.table_name
    account = "77777"
    client = dynamodb()
    items = client.query(
        TableName=table,
        KeyConditionExpression="#0 = :0",
        ExpressionAttributeNames={"#0": "pk"},
        ExpressionAttributeValues={":0": {"S": f"ACC#{account}"}},
        ReturnConsumedCapacity="TOTAL",
    )["Items"]
    client.get_item(
        TableName=table, Key={"pk": {"S": "CATALOG"}, "sk": {"S": "ORGANIZATIONS"}}, ConsistentRead=True
    )
    value = callback["message"]["text"]
    scratch = f"BENCH#floor#{uuid.uuid4().hex}"  # its own items: the demo's meters stay as they are
    client.transact_write_items(
        TransactItems=[
            _put(table, scratch, "READING", value=value),
            _put(table, scratch, "MONTH", value=value),
            _put(table, scratch, "SAVE", key=str(callback["message_token"])),
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": scratch}, "sk": {"S": "METER"}},
                    "UpdateExpression": "SET #v = :v",
                    "ExpressionAttributeNames": {"#v": "value"},
                    "ExpressionAttributeValues": {":v": {"S": value}},
                }
            },
        ],
        ClientRequestToken=hashlib.sha256(scratch.encode()).hexdigest()[:36],
    )
    with single_metric(name="ReadingSaved", unit=MetricUnit.Count, value=1, namespace="Bench") as metric:
        metric.add_dimension(name="channel", value="viber")
    message = TextMessage(
        text=f"Збережено: {value} ({len(items)} записів)",
        keyboard={"Type": "keyboard", "Buttons": [{"Text": "Меню", "ActionBody": "Меню"}]},
        tracking_data=callback["message"].get("tracking_data"),
    )
    if not _sessions:
        _sessions.append(requests.Session())
    answer = _sessions[0].post(
        f"{settings.viber_api_url}/send_message",
        data=json.dumps(
            {**message.to_dict(), "receiver": callback["sender"]["id"]}, ensure_ascii=False
        ).encode(),
        headers={
            "User-Agent": VIBER_BOT_USER_AGENT,
            "Content-Type": "application/json; charset=utf-8",
            "X-Viber-Auth-Token": settings.viber_auth_token.get_secret_value(),
        },
        timeout=settings.viber_timeout_seconds,
    )
    answer.raise_for_status()
    if answer.json().get("status") != 0:
        raise RuntimeError(f"Viber refused the message: {answer.text}")


if SAME_GC_POLICY:
    gc.freeze()
    gc.enable()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    """The Lambda entry point: the signature, then the typed reading."""
    settings = Settings()
    body = (event.get("body") or "").encode()
    signature = (event.get("headers") or {}).get("x-viber-content-signature", "")
    expected = hmac.new(settings.viber_auth_token.get_secret_value().encode(), body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature):
        return _json(403, {"message": "Forbidden"})
    typed_reading(settings, json.loads(body))
    return _json(200, {"status": 0})
