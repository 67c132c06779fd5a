"""`python -m local.run` on a tiny fake template, over real HTTP: what the stack wires, function by function.

The fake functions (tests/fakes/local_stack) answer what their worker process sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from local.dynamodb import client as dynamodb_client
from local.launch import StackProcess, running_stack
from local.s3 import client as s3_client
from tests.e2e.conftest import settings_of

ROOT = Path(__file__).resolve().parents[2]
FAKE_TEMPLATE = ROOT / "tests" / "fakes" / "local_stack" / "template.yaml"
EVENTS = ROOT / "tests" / "events"


@pytest.fixture(scope="module")
def fake_stack() -> Iterator[StackProcess]:
    """The fake template's stack: in memory, no demo data."""
    args = ["--port", "0", "--in-memory", "--template", str(FAKE_TEMPLATE), "--no-seed"]
    with running_stack(args) as stack:
        yield stack


def _get(stack: StackProcess, path: str) -> dict[str, Any]:
    response = requests.get(f"{stack.url}{path}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _post(stack: StackProcess, path: str, body: Any) -> requests.Response:
    return requests.post(f"{stack.url}{path}", json=body, timeout=60)


def test_fake_stack_serves_each_function_from_its_own_workers(fake_stack: StackProcess) -> None:
    alpha, beta = _get(fake_stack, "/alpha"), _get(fake_stack, "/beta")
    assert (alpha["function"], alpha["service_at_import"]) == ("alpha", "alpha")
    assert (beta["function"], beta["service_at_import"]) == ("beta", "beta")
    assert alpha["pid"] != beta["pid"]
    assert alpha["event"]["routeKey"] == "GET /alpha"
    # The stack told them where S3 is, and resolved the template's table and bucket to local names
    settings = settings_of(fake_stack)
    assert alpha["environment"]["S3_ENDPOINT_URL"] == settings["S3_ENDPOINT_URL"]
    assert (alpha["environment"]["TABLE_NAME"], alpha["environment"]["DATA_BUCKET"]) == (
        "Things",
        "data-bucket",
    )


def test_fake_stack_answers_two_slow_requests_at_once(fake_stack: StackProcess, tmp_path: Path) -> None:
    # Given two requests that each wait in the handler until the other has arrived
    body = {"rendezvous": str(tmp_path / "meeting"), "peers": 2}
    # When they are sent together
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda n: _post(fake_stack, f"/alpha/{n}", body), range(2)))
    # Then both met: one function served them at the same time, in two workers
    facts = [answer.json() for answer in answers]
    assert [fact["seen"] for fact in facts] == [2, 2]
    assert facts[0]["pid"] != facts[1]["pid"]


def test_fake_stack_answers_500_when_a_worker_dies_and_replaces_it(fake_stack: StackProcess) -> None:
    # Given the worker that just answered (the pool reuses the most recently used worker first)
    before = _get(fake_stack, "/alpha")["pid"]
    crashes = _workers(fake_stack)["crashes"]
    # When the next request kills it mid-invocation
    crashed = _post(fake_stack, "/alpha/x", {"crash": True})
    # Then API Gateway's 500, and the following requests run in other workers
    assert crashed.status_code == 500 and crashed.json() == {"message": "Internal Server Error"}
    assert _workers(fake_stack)["crashes"] == crashes + 1
    assert before not in {_get(fake_stack, "/alpha")["pid"] for _ in range(3)}


def _workers(stack: StackProcess) -> dict[str, int]:
    return requests.get(f"{stack.url}/_local/routes", timeout=10).json()["workers"]["AlphaFunction"]


def test_fake_stack_invokes_a_function_with_the_event_aws_sends(fake_stack: StackProcess) -> None:
    # Given the sample S3 and EventBridge events
    for sample in ("s3_put.json", "eventbridge_scheduled.json"):
        event = json.loads((EVENTS / sample).read_text())
        # When posted to /_local/invoke/BetaFunction
        answer = _post(fake_stack, "/_local/invoke/BetaFunction", event)
        # Then the handler got exactly that event and its return value is the answer
        assert answer.status_code == 200 and answer.json()["event"] == event
    failed = _post(fake_stack, "/_local/invoke/BetaFunction", {"raise": "bad file"})
    assert failed.headers["X-Amz-Function-Error"] == "Unhandled"
    assert (failed.json()["errorType"], failed.json()["errorMessage"]) == ("RuntimeError", "bad file")


def test_make_invoke_prints_the_return_value_and_fails_with_the_function(fake_stack: StackProcess) -> None:
    port = str(urlsplit(fake_stack.url).port)
    command = [sys.executable, "-m", "local.invoke", "--port", port, "BetaFunction"]
    # Given the S3 sample event, When `make invoke` sends it (what the Makefile target runs)
    done = subprocess.run([*command, str(EVENTS / "s3_put.json")], cwd=ROOT, capture_output=True, text=True)
    # Then it prints the handler's return value, and succeeds
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["event"] == json.loads((EVENTS / "s3_put.json").read_text())
    # And when the function raises, it prints Lambda's error and fails
    failing = subprocess.run(
        [*command, "-"], input='{"raise": "no"}', cwd=ROOT, capture_output=True, text=True
    )
    assert failing.returncode == 1 and json.loads(failing.stdout)["errorType"] == "RuntimeError"


def test_fake_stack_makes_the_buckets_the_functions_use(fake_stack: StackProcess) -> None:
    s3 = s3_client(settings_of(fake_stack)["S3_ENDPOINT_URL"])
    # The bucket behind CloudFront is not made; the functions' bucket is, and they can write to it
    assert {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]} == {"data-bucket"}
    _post(fake_stack, "/_local/invoke/AlphaFunction", {"put": "exports/2026-11/water.csv"})
    stored = s3.get_object(Bucket="data-bucket", Key="exports/2026-11/water.csv")["Body"].read()
    assert stored == b"alpha"


def test_fake_stack_makes_tables_with_their_indexes_and_ttl(fake_stack: StackProcess) -> None:
    dynamodb = dynamodb_client(settings_of(fake_stack)["DYNAMODB_ENDPOINT"])
    table = dynamodb.describe_table(TableName="Things")["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by-due"]
    ttl = dynamodb.describe_time_to_live(TableName="Things")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_fake_stack_lists_its_schedules_and_adds_its_policy_headers(fake_stack: StackProcess) -> None:
    listing = requests.get(f"{fake_stack.url}/_local/routes", timeout=10)
    schedules = {(item["event"], item["expression"]) for item in listing.json()["schedules"]}
    assert schedules == {("Every", "rate(1 minute)"), ("Nightly", "cron(30 2 * * ? *)")}
    api = requests.get(f"{fake_stack.url}/alpha", timeout=30)
    assert api.headers["X-Frame-Options"] == "SAMEORIGIN" and api.headers["X-Probe"] == "yes"
    assert "Strict-Transport-Security" not in api.headers
