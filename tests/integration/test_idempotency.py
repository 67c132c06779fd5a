"""Powertools' idempotency on the template's IdempotencyTable, through the container's one client."""

from __future__ import annotations

from typing import Any

import boto3

from ekc.idempotency import idempotent, persistence_layer, register_lambda_context
from ekc.storage import dynamodb_client
from tests.integration.conftest import LambdaContextStub


def test_idempotent_runs_once_per_key_and_answers_repeats_with_the_first_result(table: Any) -> None:
    # Given a service entry point made idempotent on a delivery's token
    runs: list[str] = []

    @idempotent("delivery", key_jmespath="token")
    def handle(delivery: dict[str, Any]) -> dict[str, Any]:
        runs.append(delivery["text"])
        return {"answer": f"got {delivery['text']}"}

    register_lambda_context(LambdaContextStub())
    # When the same delivery arrives twice, and another one once
    first = handle(delivery={"token": "m-1", "text": "6116"})
    repeat = handle(delivery={"token": "m-1", "text": "6116"})
    other = handle(delivery={"token": "m-2", "text": "6200"})
    # Then the work ran once per token, and the repeat got the first answer
    assert runs == ["6116", "6200"]
    assert repeat == first == {"answer": "got 6116"}
    assert other == {"answer": "got 6200"}
    # And the records are in the template's idempotency table, written through the shared client
    items = boto3.client("dynamodb", region_name="eu-central-1").scan(TableName="IdempotencyTable")["Items"]
    assert len(items) == 2 and {i["status"]["S"] for i in items} == {"COMPLETED"}
    assert persistence_layer().client is dynamodb_client()
