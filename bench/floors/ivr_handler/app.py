"""The floor under ivr_handler's account confirmation: its libraries, its five DynamoDB requests and a
TwiML answer of the same shape, nothing more.

`make bench` divides ivr_handler's cold start (a fresh process to the answer of a keypad call's "1: yes,
77777 is my account") by this handler's, run alike from the same built layer and function folder: what
is left is what ivr_handler's own code costs. It imports what the function must load whatever we write
(twilio's TwiML and request validator, logging and metrics, pydantic settings, PynamoDB with botocore,
the time zone database), keeps the function's collector policy (off while importing, then frozen),
checks the signature over the public URL and the form, then sends what the account's entry sends
through one botocore client made at the first request: the caller's and the account's guess counters
read (one BatchGetItem) and reserved (one TransactWriteItems of conditional ADDs, on counters of its
own), the account's partition (one Query), the catalogue (one GetItem), the reservation given back (one
TransactWriteItems); and answers a Gather with the kind menu's speech and a Redirect.
BENCH_FLOOR_GC=on leaves the collector on, as web_api's floor does.
"""

from __future__ import annotations

import gc
import os

SAME_GC_POLICY = os.environ.get("BENCH_FLOOR_GC") != "on"
if SAME_GC_POLICY:
    gc.disable()

import base64  # noqa: E402 - imported after the collector is off, as in ivr_handler
import time  # noqa: E402
import zoneinfo  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import parse_qsl  # noqa: E402

import botocore.session  # noqa: E402
import pydantic  # noqa: E402
import pydantic_settings  # noqa: E402
import pynamodb.attributes  # noqa: E402
import pynamodb.connection  # noqa: E402
import pynamodb.models  # noqa: E402
import pynamodb.transactions  # noqa: E402, F401
from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: E402, F401
from twilio.request_validator import RequestValidator, get_signature_algorithm  # noqa: E402
from twilio.twiml.voice_response import Gather, VoiceResponse  # noqa: E402


class Settings(pydantic_settings.BaseSettings):
    """What the function's settings read from the environment for this request."""

    table_name: str
    twilio_auth_token: pydantic.SecretStr
    public_base_url: str = "http://127.0.0.1:3000"


KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
WINDOW_SECONDS = 15 * 60
logger = Logger()
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


def _counter(table: str, pk: str, window: int, change: int, condition: str, limit: int) -> dict[str, Any]:
    values: dict[str, Any] = {":n": {"N": str(change)}, ":limit": {"N": str(limit)}}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": f"W#{window}"}},
            "UpdateExpression": "ADD #c :n",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#c": "count"},
            "ExpressionAttributeValues": values,
        }
    }


def account_entry(table: str, account: str) -> int:
    """The entry reserved, the account's partition and the catalogue read, the reservation given back."""
    client = dynamodb()
    window = int(time.time()) // WINDOW_SECONDS
    counters = ["ATTEMPTS#bench-floor#caller", f"ATTEMPTS#bench-floor#account#{account}"]
    wanted = [{"pk": {"S": pk}, "sk": {"S": f"W#{w}"}} for pk in counters for w in (window - 1, window)]
    client.batch_get_item(RequestItems={table: {"Keys": wanted}})
    reserve = "attribute_not_exists(#c) OR #c < :limit"
    client.transact_write_items(TransactItems=[_counter(table, pk, window, 1, reserve, 5) for pk in counters])
    items = client.query(
        TableName=table,
        KeyConditionExpression="#0 = :0",
        ExpressionAttributeNames={"#0": "pk"},
        ExpressionAttributeValues={":0": {"S": f"ACC#{account}"}},
    )["Items"]
    client.get_item(
        TableName=table, Key={"pk": {"S": "CATALOG"}, "sk": {"S": "ORGANIZATIONS"}}, ConsistentRead=True
    )
    client.transact_write_items(
        TransactItems=[_counter(table, pk, window, -1, "#c > :limit", 0) for pk in counters]
    )
    return len(items)


if SAME_GC_POLICY:
    gc.freeze()
    gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: Any) -> dict:
    """The Lambda entry point: the signature, the account's entry, the kind menu in TwiML."""
    settings = Settings()
    form = parse_qsl(base64.b64decode(event["body"]).decode(), keep_blank_values=True)
    query = event.get("rawQueryString") or ""
    url = settings.public_base_url + event["rawPath"] + (f"?{query}" if query else "")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    algorithm = get_signature_algorithm(headers.get("x-twilio-webhooks-signature-settings"))
    if not validator.validate(url, dict(form), headers.get("x-twilio-signature", ""), algorithm):
        return {"statusCode": 403, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": ""}
    items = account_entry(settings.table_name, "77777")
    response = VoiceResponse()
    gather = Gather(action=url, method="POST", input="dtmf", num_digits=1, timeout=8)
    say = gather.say(language="uk-UA", voice="Google.uk-UA-Standard-A")
    prosody = say.prosody(rate="90%")
    for key, kind in enumerate(("Електроенергія", "Газ", "Холодна вода", f"({items})"), 1):
        prosody.append(f"{kind} — натисніть {key}.")
        prosody.break_(time="500ms")
    response.append(gather)
    response.redirect(url, method="POST")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store"},
        "body": response.to_xml(xml_declaration=True),
    }
