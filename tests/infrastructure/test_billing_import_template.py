"""template.yaml's billing import: its S3 event, its permissions without a dependency cycle, its alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ekc.services.billing_import import IMPORTS_PREFIX, is_input, report_key
from local.tables import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FUNCTION = "BillingImportFunction"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    """The template's resources, short tags read as their long forms."""
    return load_template(TEMPLATE)["Resources"]


def test_billing_import_runs_on_csv_files_created_under_imports(resources: dict[str, Any]) -> None:
    # Given the function's events
    events = resources[FUNCTION]["Properties"]["Events"]
    (event,) = events.values()
    # Then it is the data bucket's ObjectCreated, filtered to imports/*.csv, the keys the service imports
    assert event["Type"] == "S3"
    assert event["Properties"]["Bucket"] == {"Ref": "DataBucket"}
    assert event["Properties"]["Events"] == "s3:ObjectCreated:*"
    rules = {r["Name"]: r["Value"] for r in event["Properties"]["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": IMPORTS_PREFIX, "suffix": ".csv"}
    assert is_input("imports/meters.csv") and not is_input(report_key("imports/meters.csv"))


def test_billing_import_reaches_the_bucket_without_naming_it_in_the_function(
    resources: dict[str, Any],
) -> None:
    # Given the function and the policy attached to its role from outside
    function = resources[FUNCTION]["Properties"]
    policy = resources["BillingImportFilesPolicy"]["Properties"]
    # Then the function itself does not refer to the bucket (its notification refers to the function:
    # a reference back would be a cycle CloudFormation refuses)
    assert "DataBucket" not in repr(function["Environment"]) and "DataBucket" not in repr(
        function["Policies"]
    )
    # and the separate policy lets its role read inputs and write reports under imports/ only
    assert policy["RoleName"] == {"Ref": f"{FUNCTION}Role"}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert statement["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/imports/*"}


def test_billing_import_runs_one_at_a_time_long_enough_with_idempotency(resources: dict[str, Any]) -> None:
    # Given the function
    function = resources[FUNCTION]["Properties"]
    # Then two files never interleave, 300,000 meters fit its time, and its idempotency records can be kept
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Timeout"] == 900
    statements = [s for p in function["Policies"] if "Statement" in p for s in p["Statement"]]
    assert any(s["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]} for s in statements)


def test_billing_import_has_its_log_group_and_errors_alarm(resources: dict[str, Any]) -> None:
    # Then its logs are kept, and a failed import raises an alarm at the first error
    assert resources["BillingImportLogGroup"]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${BillingImportFunction}"
    }
    alarm = resources["BillingImportErrorsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": FUNCTION}}]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("Errors", 1)
