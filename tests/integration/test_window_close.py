"""The window close's real handler on the demo data: moto's DynamoDB (from template.yaml), S3 and SQS.

EventBridge's schedule, an operator's re-run and the fan-out queue's batches go in as the events Lambda
would deliver (tests/events/); the table's items, the bucket's objects and the queue's messages are
asserted, replays included.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.seed import demo_organizations
from tests.integration.conftest import NOW, Browser

EVENTS = Path(__file__).parent.parent / "events"
SCHEDULE = json.loads((EVENTS / "eventbridge_schedule.json").read_text())
QUEUED = json.loads((EVENTS / "sqs_window_close.json").read_text())
ELECTRICITY = json.loads((EVENTS / "window_close_operator.json").read_text())  # an operator's re-run
BUCKET = "meter-readings-data"
# The demo's electricity (and water) window for 11/2026, laid around NOW by local.seed, ends at Kyiv
# midnight two days later (2026-11-26 22:00 UTC); the close looks a minute after.
_ORGS, _MONTH = demo_organizations(NOW)
ENDS = next(o for o in _ORGS if o.id == "electricity").rule.bounds(_MONTH)[1]
CLOSE = ENDS + timedelta(minutes=1)
CSV_KEY, MANIFEST_KEY = "exports/electricity/2026-11.csv", "exports/electricity/2026-11.manifest.json"


class Context:
    """A Lambda context with the function's 15 minutes (or `seconds`) left."""

    function_name = "meter-readings-window-close-test"
    memory_limit_in_mb = 1024
    invoked_function_arn = (
        "arn:aws:lambda:eu-central-1:123456789012:function:meter-readings-window-close-test"
    )
    aws_request_id = "7d1c3a52-3a8e-4b7e-8d1f-2f6a5e4b3c21"

    def __init__(self, seconds: float = 900) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.fixture
def aws(table: Any, demo: dict[str, Any], clock_at: Any) -> Iterator[dict[str, Any]]:
    """The demo seeded, the data bucket and the close's queue, and the clock a minute after the close."""
    from ekc.config import close_settings
    from ekc.storage import tasks

    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    sqs = boto3.client("sqs", region_name="eu-central-1")
    queue = sqs.create_queue(QueueName="close-queue")["QueueUrl"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLOSE_QUEUE_URL", queue)
        # moto is not safe for threads writing at once (DynamoDB Local and DynamoDB are), and queries
        # it by scanning the table: one shard at a time, and only the newest closed window.
        patch.setenv("CLOSE_WORKERS", "1")
        patch.setenv("CLOSE_LOOKBACK_WINDOWS", "1")
        close_settings.cache_clear()
        tasks.forget()
        clock_at(CLOSE)
        yield {"table": table, "s3": s3, "sqs": sqs, "queue": queue, "clock_at": clock_at}
    tasks.forget()


def _invoke(event: dict[str, Any], seconds: float = 900) -> dict[str, Any]:
    from functions.window_close import app

    return app.lambda_handler(copy.deepcopy(event), Context(seconds))


def _items(table: Any) -> list[dict[str, Any]]:
    found, kwargs = [], {}
    while True:
        page = table.scan(**kwargs)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(found, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _objects(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def _history(table: Any, meter_id: str) -> list[dict[str, Any]]:
    """The meter's accepted submissions (its history partition also holds each month's winner)."""
    return [i for i in _items(table) if i["pk"] == f"MTR#{meter_id}" and i["sk"].startswith("R#")]


def _window(answer: dict[str, Any], org: str, month: str = "2026-11") -> dict[str, Any]:
    return next(w for w in answer["windows"] if (w["org"], w["month"]) == (org, month))


def test_window_close_schedule_writes_the_demo_bot_reading_and_the_export(aws: dict[str, Any]) -> None:
    # Given the demo's electricity meter 77777.1 (bot on, amount 0, last reading 6116) and the schedule
    before = len(_history(aws["table"], "77777.1"))
    # When EventBridge's scheduled event arrives a minute after its window closed
    answer = _invoke(SCHEDULE)
    # Then 77777.1 has one new history item, the bot's 6116.000 for 11/2026
    history = _history(aws["table"], "77777.1")
    bots = [i for i in history if i["channel"] == "bot" and i["billing_month"] == "2026-11"]
    assert len(history) == before + 1 and len(bots) == 1
    assert (bots[0]["value"], bots[0]["consumption"], bots[0]["who"]) == ("6116.000", "0.000", "bot")
    meter = next(i for i in _items(aws["table"]) if (i["pk"], i["sk"]) == ("ACC#77777", "MTR#77777.1"))
    assert (meter["cur_value"], meter["cur_month"], meter["cur_channel"]) == ("6116.000", "2026-11", "bot")
    # And the electricity export lists both electricity meters: the bot's reading and 88888.2 without one
    objects = _objects(aws["s3"])
    rows = list(csv.DictReader(io.StringIO(objects[CSV_KEY].decode("utf-8"))))
    assert [(r["meter_id"], r["status"], r["value"], r["channel"], r["flags"]) for r in rows] == [
        ("77777.1", "reading", "6116.000", "bot", "bot"),
        ("88888.2", "no_reading", "", "", ""),
    ]
    assert rows[0]["submitted_at"] == "2026-11-27T00:01:00+02:00"
    manifest = json.loads(objects[MANIFEST_KEY])
    assert manifest["file"]["sha256"] == hashlib.sha256(objects[CSV_KEY]).hexdigest()
    assert (manifest["rows"], manifest["rows_by_channel"]) == (2, {"bot": 1})
    # And the answer tells the operator what was done and where the file is
    window = _window(answer, "electricity")
    assert (window["state"], window["bot_readings_written_now"], window["export_rows"]) == ("done", 1, 2)
    assert window["location"] == f"s3://{BUCKET}/{CSV_KEY}"
    # And windows not closed yet (gas closes two days later) were left alone
    assert not any(w["org"] == "gas" and w["month"] == "2026-11" for w in answer["windows"])
    assert all(w["state"] == "done" for w in answer["windows"])


def test_window_close_second_delivery_and_later_runs_change_nothing(aws: dict[str, Any]) -> None:
    # Given a scheduled run that closed the windows
    first = _invoke(SCHEDULE)
    items, objects = _items(aws["table"]), _objects(aws["s3"])
    # When EventBridge delivers the same event again, and the next schedule fires 15 minutes later
    again = _invoke(SCHEDULE)
    aws["clock_at"](CLOSE + timedelta(minutes=15))
    later = _invoke({**SCHEDULE, "id": "a-later-event"})
    # Then the repeat got the first answer, and nothing in the table or the bucket changed
    assert again == first
    assert [w["state"] for w in later["windows"]] == [w["state"] for w in first["windows"]]
    assert _window(later, "electricity")["bot_readings_written_now"] == 0
    assert _items(aws["table"]) == items
    assert _objects(aws["s3"]) == objects


def test_window_close_bot_reading_shows_in_the_web_cabinet_as_the_bots(aws: dict[str, Any]) -> None:
    # Given the close of the electricity window has run
    _invoke(ELECTRICITY)
    # When the resident opens the meter's statistics in the web cabinet
    from functions.web_api import app

    web = Browser(app.lambda_handler)
    web.sign_in()
    history = web.call("GET", "/api/accounts/77777/meters/77777.1/history")
    # Then the newest submission is the bot's, worded as the cabinet words it
    newest = history.json["submissions"][0]
    assert (newest["value"], newest["billing_month"], newest["channel"]) == ("6116.000", "2026-11", "bot")
    assert newest["source_label"] == "Дані внесено ботом автоматично 27/11/2026 о 00:01"
    # And the readings page, still inside the window (the resident's clock), shows it as this month's
    aws["clock_at"](ENDS - timedelta(hours=1))
    page = web.call("GET", "/api/accounts/77777")
    meter = next(m for m in page.json["meters"] if m["id"] == "77777.1")
    assert meter["current"]["source_label"] == "Дані внесено ботом автоматично 27/11/2026 о 00:01"


def test_window_close_resident_reading_before_the_close_is_what_the_utility_gets(aws: dict[str, Any]) -> None:
    # Given the resident handed in 6200 for 77777.1 in the window's last hour, through the cabinet
    from functions.web_api import app

    aws["clock_at"](ENDS - timedelta(hours=1))
    web = Browser(app.lambda_handler)
    web.sign_in()
    saved = web.call(
        "POST", "/api/accounts/77777/readings", {"rows": [{"meter_id": "77777.1", "value": "6200"}]}
    )
    assert saved.status == 200, saved.raw
    # When the window closes
    aws["clock_at"](CLOSE)
    answer = _invoke(ELECTRICITY)
    # Then the bot wrote nothing, and the export hands over the resident's reading
    assert not [
        i
        for i in _history(aws["table"], "77777.1")
        if i["billing_month"] == "2026-11" and i["channel"] == "bot"
    ]
    assert _window(answer, "electricity")["bots"] == {"has_reading": 1}
    rows = list(csv.DictReader(io.StringIO(_objects(aws["s3"])[CSV_KEY].decode("utf-8"))))
    assert (rows[0]["value"], rows[0]["channel"], rows[0]["consumption"]) == ("6200.000", "web", "84.000")


def test_window_close_operator_reruns_a_window_and_redo_rewrites_the_same_file(aws: dict[str, Any]) -> None:
    # Given the operator's test event naming the electricity window of 11/2026
    event = ELECTRICITY
    # When it is run, then run again, then run with redo an hour later
    first = _invoke(event)
    csv_first = _objects(aws["s3"])[CSV_KEY]
    second = _invoke(event)
    aws["clock_at"](CLOSE + timedelta(hours=1))
    redone = _invoke({**event, "redo": True})
    # Then the first closed it, the second found it done, and the redo wrote the same CSV bytes
    assert [w["state"] for w in first["windows"]] == ["done"] == [w["state"] for w in second["windows"]]
    assert first["windows"][0]["bot_readings_written_now"] == 1
    assert redone["windows"][0]["bot_readings_written_now"] == 0
    assert _objects(aws["s3"])[CSV_KEY] == csv_first
    assert redone["windows"][0]["sha256"] == first["windows"][0]["sha256"]
    assert (
        len(
            [
                i
                for i in _history(aws["table"], "77777.1")
                if i["channel"] == "bot" and i["billing_month"] == "2026-11"
            ]
        )
        == 1
    )


def test_window_close_operator_mistakes_are_answered_not_raised(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ekc.config import close_settings

    # A window that has not closed yet, an unknown field, an unknown organization
    assert _invoke({"org": "gas", "month": "2026-11"})["error"]["code"] == "window_not_closed"
    assert _invoke({"org": "gas", "mnth": "2026-11"})["error"]["code"] == "invalid_event"
    assert _invoke({"org": "nope", "month": "2026-10"})["error"]["code"] == "organization_not_found"
    # And a pretended time is refused in AWS (Lambda sets AWS_LAMBDA_FUNCTION_NAME), taken locally
    later = (CLOSE + timedelta(days=3)).isoformat()
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "meter-readings-window-close-prod")
    close_settings.cache_clear()
    assert _invoke({"org": "gas", "month": "2026-11", "now": later})["error"]["code"] == "now_not_allowed"
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    close_settings.cache_clear()
    assert _invoke({"org": "gas", "month": "2026-11", "now": later})["windows"][0]["state"] == "done"


def test_window_close_hands_shards_to_the_queue_and_its_batches_finish_the_window(
    aws: dict[str, Any],
) -> None:
    # Given an invocation with too little time left to start anything (under the 60 s margin)
    answer = _invoke({"org": "electricity", "month": "2026-11"}, seconds=30)
    # Then every shard went to the queue, and there is no export yet
    assert answer["queued"] == 32 and answer["windows"][0]["state"] == "in_progress"
    assert CSV_KEY not in _objects(aws["s3"])
    # When the queue delivers its messages to the function, one per batch as the template says
    delivered = 0
    while True:
        got = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for message in got:
            record = {**QUEUED["Records"][0], "messageId": message["MessageId"], "body": message["Body"]}
            assert _invoke({"Records": [record]}) == {"batchItemFailures": []}
            aws["sqs"].delete_message(QueueUrl=aws["queue"], ReceiptHandle=message["ReceiptHandle"])
            delivered += 1
    # Then the window is done: one bot reading, and the export with its manifest
    assert delivered == 32
    bots = [
        i
        for i in _history(aws["table"], "77777.1")
        if i["channel"] == "bot" and i["billing_month"] == "2026-11"
    ]
    assert len(bots) == 1
    objects = _objects(aws["s3"])
    assert json.loads(objects[MANIFEST_KEY])["rows"] == 2
    status = _invoke({"org": "electricity", "month": "2026-11", "plan": True})
    assert status["windows"][0]["state"] == "done"


def test_window_close_queue_batch_with_an_unreadable_message_drops_only_it(aws: dict[str, Any]) -> None:
    # Given a batch with the sample task and a message that is not a task
    bad = {**QUEUED["Records"][0], "messageId": "bad", "body": "not json"}
    # When it is delivered
    answer = _invoke({"Records": [QUEUED["Records"][0], bad]})
    # Then nothing is delivered again (the sample's shard was done; the bad one cannot be read)
    assert answer == {"batchItemFailures": []}
