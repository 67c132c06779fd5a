"""The local stack over real HTTP: cabinet files, API Gateway's answers, headers, S3, DynamoDB Local."""

from __future__ import annotations

import http.client
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from local.dynamodb import client, find_dynamodb_local, start_dynamodb
from local.launch import StackProcess
from local.s3 import client as s3_client
from local.tables import create_tables
from local.template import bucket_name, load_template, local_buckets, response_headers
from tests.e2e.conftest import settings_of

ROOT = Path(__file__).resolve().parents[2]


def _raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """GET a request target exactly as written: HTTP libraries would normalise `..` away."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_local_stack_serves_the_cabinet_index(stack_url: str) -> None:
    response = requests.get(f"{stack_url}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == (ROOT / "frontend" / "index.html").read_bytes()


def test_local_stack_answers_unknown_api_paths_like_api_gateway(stack_url: str) -> None:
    for method, path in (("GET", "/api/no-such-route"), ("POST", "/api/me"), ("GET", "/api")):
        response = requests.request(method, f"{stack_url}{path}", timeout=10)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"message": "Not Found"}


def test_local_stack_serves_the_openapi_document(stack_url: str) -> None:
    response = requests.get(f"{stack_url}/api/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "openapi" in response.json()


@pytest.mark.parametrize(
    "target",
    ["/../pyproject.toml", "/%2e%2e/pyproject.toml", "/..%2fpyproject.toml", "/frontend/..%2f..%2fMakefile"],
)
def test_local_stack_refuses_path_traversal(stack_url: str, target: str) -> None:
    status, body = _raw_get(stack_url, target)
    assert status == 404
    assert b"[project]" not in body and b".PHONY" not in body


def test_local_stack_lists_the_template_routes_and_the_warm_workers(stack_url: str) -> None:
    listing = requests.get(f"{stack_url}/_local/routes", timeout=10).json()
    routes = {entry["route"]: (entry["code_uri"], entry["handler"]) for entry in listing["routes"]}
    assert routes["GET /api/openapi.json"] == ("functions/web_api/", "app.lambda_handler")
    # Each function was cold-started when the stack started, in its own worker
    assert listing["workers"]["WebApiFunction"]["cold_starts"] >= 1
    assert listing["workers"]["WebApiFunction"]["max"] >= 2


def test_local_stack_adds_the_template_security_headers(stack_url: str) -> None:
    # Given the headers policy template.yaml puts on CloudFront, less HSTS (plain HTTP locally)
    expected = {h.name: h.value for h in response_headers(load_template(ROOT / "template.yaml"))}
    assert {"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} <= set(expected)
    # When the cabinet and the API answer, Then both carry them
    for path in ("/", "/api/openapi.json", "/api/no-such-route"):
        response = requests.get(f"{stack_url}{path}", timeout=30)
        assert {name: response.headers.get(name) for name in expected} == expected, path
        assert "Strict-Transport-Security" not in response.headers


def test_local_stack_invokes_a_function_with_an_aws_event(stack_url: str) -> None:
    # Given the sample API Gateway event of tests/events
    event = json.loads((ROOT / "tests" / "events" / "http_api_v2.json").read_text())
    # When it is posted to /_local/invoke/<LogicalId>, as `make invoke` does
    response = requests.post(f"{stack_url}/_local/invoke/WebApiFunction", json=event, timeout=30)
    # Then the answer is the handler's return value: GET /api/me without a session is 401
    assert response.status_code == 200 and "X-Amz-Function-Error" not in response.headers
    assert response.json()["statusCode"] == 401


def test_local_stack_serves_s3_with_the_template_buckets(stack: StackProcess) -> None:
    # Given the S3 endpoint the stack printed (and gave the functions as S3_ENDPOINT_URL)
    endpoint = settings_of(stack)["S3_ENDPOINT_URL"]
    # When it is asked for its buckets
    s3 = s3_client(endpoint)
    names = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    # Then they are the template's buckets, less the one behind CloudFront
    template = load_template(ROOT / "template.yaml")
    assert names == {bucket_name(logical_id) for logical_id in local_buckets(template)}


def test_local_stack_serves_parallel_requests(stack_url: str) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: requests.get(f"{stack_url}/", timeout=10).status_code, range(24)))
    assert statuses == [200] * 24


@pytest.mark.skipif(
    find_dynamodb_local() is None or shutil.which("java") is None,
    reason="DynamoDB Local is not installed (make deps) or Java is missing",
)
def test_dynamodb_local_takes_the_template_tables_and_keeps_items() -> None:
    # Given Amazon's DynamoDB Local from the npm package, in memory
    with start_dynamodb(in_memory=True) as ddb:
        assert ddb.kind == "dynamodb-local"
        dynamodb = client(ddb.endpoint)

        # When the template's tables are created, twice, and an item goes in
        tables = {"MainTable": "MainTable", "IdempotencyTable": "IdempotencyTable"}
        assert create_tables(dynamodb) == tables
        assert create_tables(dynamodb) == tables
        key = {"pk": {"S": "ACCOUNT#77777"}, "sk": {"S": "METER#1"}}
        dynamodb.put_item(TableName="MainTable", Item={**key, "value": {"N": "6.255"}})

        # Then it comes back, and TTL is on as the template says
        assert dynamodb.get_item(TableName="MainTable", Key=key)["Item"]["value"] == {"N": "6.255"}
        ttl = dynamodb.describe_time_to_live(TableName="MainTable")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
        assert json.dumps(dynamodb.describe_table(TableName="MainTable")["Table"]["KeySchema"])
