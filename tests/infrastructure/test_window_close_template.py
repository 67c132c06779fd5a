"""template.yaml's window close against its code: schedule, queue, permissions, alarms, metrics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ekc.config import CloseSettings
from local.tables import load_template
from tests.infrastructure.test_template import TEMPLATE, functions_of, merged_properties

FUNCTION = "WindowCloseFunction"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml, short tags read as their long forms."""
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def function(template: dict[str, Any]) -> dict[str, Any]:
    """The window close's properties with the Globals applied."""
    return merged_properties(template, functions_of(template)[FUNCTION]["Properties"])


def test_window_close_runs_every_15_minutes_and_takes_the_queues_batches(function: dict[str, Any]) -> None:
    events = function["Events"]
    schedules = [e["Properties"] for e in events.values() if e["Type"] == "Schedule"]
    queues = [e["Properties"] for e in events.values() if e["Type"] == "SQS"]
    assert [s["Schedule"] for s in schedules] == ["rate(15 minutes)"]
    (queue,) = queues
    assert queue["Queue"] == {"Fn::GetAtt": ["CloseQueue", "Arn"]}
    # One task a batch, and a failed one is delivered again alone
    assert queue["BatchSize"] == 1 and queue["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert function["Environment"]["Variables"]["CLOSE_QUEUE_URL"] == {"Ref": "CloseQueue"}


def test_window_close_queue_outlasts_the_function_and_has_dead_letters(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    queue = template["Resources"]["CloseQueue"]["Properties"]
    # A message is not delivered again while an invocation may still be working on it
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["CloseDeadLetterQueue", "Arn"]}
    assert function["Timeout"] == 900


def test_window_close_may_touch_what_it_uses_and_the_idempotency_records(function: dict[str, Any]) -> None:
    policies = function["Policies"]
    assert {"DynamoDBCrudPolicy": {"TableName": {"Ref": "MainTable"}}} in policies
    assert {"S3CrudPolicy": {"BucketName": {"Ref": "DataBucket"}}} in policies
    assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["CloseQueue", "QueueName"]}}} in policies
    statements = [s for p in policies if "Statement" in p for s in p["Statement"]]
    assert any(s["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]} for s in statements)


def test_window_close_grace_outlasts_every_http_request(template: dict[str, Any]) -> None:
    # Given every function behind the HTTP API (a resident's save runs at most its Timeout)
    longest = max(
        merged_properties(template, f["Properties"])["Timeout"]
        for f in functions_of(template).values()
        if any(e.get("Type") == "HttpApi" for e in (f["Properties"].get("Events") or {}).values())
    )
    # Then the close waits longer than that after a window's end before any bot looks at a meter
    assert CloseSettings().close_grace_seconds > longest


def test_window_close_alarms_watch_the_metrics_the_code_emits(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    from pathlib import Path

    source = (Path(__file__).parents[2] / "layers/common/python/ekc/services/closing.py").read_text()
    alarm = template["Resources"]["WindowUnfinishedAlarm"]["Properties"]
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    # The metric, its one dimension as the code emits it, and Powertools' service dimension
    assert re.search(r'count\("WindowsUnfinished", "state", "late"', source)
    assert dimensions == {
        "state": "late",
        "service": function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"],
    }
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Namespace"] == namespace and alarm["TreatMissingData"] == "breaching"
    errors = template["Resources"]["WindowCloseErrorsAlarm"]["Properties"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": FUNCTION}}]
    assert template["Resources"]["WindowCloseLogGroup"]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${WindowCloseFunction}"
    }


def test_window_close_parts_expire_and_exports_stay(template: dict[str, Any]) -> None:
    rules = template["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    parts = next(r for r in rules if r.get("Prefix") == "work/")
    assert parts["ExpirationInDays"] <= 7
    assert not any(r.get("Prefix", "").startswith("exports") for r in rules)
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)
