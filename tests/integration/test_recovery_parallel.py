"""Recovery quotas hold under parallel requests, against Amazon's DynamoDB Local (real conditional
transactions and conflicts; moto's transactions are not safe across threads, so they cannot show it)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from ekc.exceptions import StorageUnavailable, TooManyAttempts
from tests.fakes import FakeMailer

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
PARALLEL = 16


@pytest.fixture(scope="module")
def dynamodb_local() -> Iterator[str]:
    """DynamoDB Local on the machine's Java, in memory, for this module."""
    from local.dynamodb import start_dynamodb

    ddb = start_dynamodb(in_memory=True)
    if ddb.kind != "dynamodb-local":
        ddb.stop()
        pytest.fail("DynamoDB Local did not start (Java 17 and `make deps` are needed)")
    try:
        yield ddb.endpoint
    finally:
        ddb.stop()


@pytest.fixture
def stores(dynamodb_local: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The production stores on fresh tables of DynamoDB Local, built from template.yaml."""
    from ekc.config import clear_settings
    from ekc.storage import forget, get_stores
    from local.dynamodb import client
    from local.tables import create_tables

    suffix = datetime.now(UTC).strftime("%H%M%S%f")
    monkeypatch.setenv("DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("TABLE_NAME", f"Main{suffix}")
    monkeypatch.setenv("MAIL_FROM", "kabinet@example.com")
    clear_settings()
    forget()
    create_tables(client(dynamodb_local, "eu-central-1"), {"MainTable": f"Main{suffix}"})
    yield get_stores()
    clear_settings()
    forget()


def test_recovery_quota_holds_under_parallel_requests(stores: Any) -> None:
    from ekc.channels import web
    from ekc.services import recovery

    # Given a registered e-mail whose quota is three letters an hour
    stores.people.create_login("p-1", "demo@example.com", "hash", NOW)
    mailer = FakeMailer()

    def ask(_: int) -> str:
        try:
            recovery.request_recovery(
                "demo@example.com", "203.0.113.7", web.recovery_mail, stores=stores, mailer=mailer, now=NOW
            )
        except TooManyAttempts:
            return "refused"
        except StorageUnavailable:
            return "try again"  # a conflict that outlasted the retries: nothing counted, nothing sent
        return "taken"

    # When sixteen requests for it arrive at once
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        outcomes = list(pool.map(ask, range(PARALLEL)))
    # Then three letters went out, never more, and each answer told the truth about its letter
    assert len(mailer.sent) == outcomes.count("taken") == 3, outcomes
    assert outcomes.count("refused") + outcomes.count("try again") == PARALLEL - 3
    # And the quota's counter says three, whatever the order they came in
    assert stores.recovery.take_quota(_email_cell()) != []


def _email_cell() -> list[Any]:
    from ekc.services.recovery import _quota_cells

    return _quota_cells("demo@example.com", "203.0.113.7", NOW)[0][:1]
