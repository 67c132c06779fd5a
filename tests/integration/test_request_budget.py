"""The DynamoDB request budget of the two busiest web requests (docs/storage.md), counted not timed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import botocore.session
import pynamodb.connection.base as pynamodb_base
import pytest

from tests.integration.conftest import Browser


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, web: Browser) -> Counter[str]:
    """DynamoDB operations sent from now on, counted with botocore's before-call event."""
    from ekc.storage import forget

    counter: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: counter.update([model.name]))
    monkeypatch.setattr(pynamodb_base, "get_session", lambda: session)
    web.sign_in()
    forget()  # a new container: a fresh connection on the counting session, no cache
    counter.clear()
    return counter


def test_request_budget_readings_page_is_two_requests(web: Browser, calls: Counter[str]) -> None:
    assert web.call("GET", "/api/accounts/77777").status == 200
    assert calls == Counter({"TransactGetItems": 1, "Query": 1})
    calls.clear()
    assert web.call("GET", "/api/accounts/77777").status == 200
    assert calls == Counter({"GetItem": 1, "Query": 1})  # warm: the organizations are cached


def test_request_budget_saving_four_meters_is_three_requests(
    web: Browser, calls: Counter[str], table: Any
) -> None:
    rows = [{"meter_id": f"77777.{n}", "value": v} for n, v in enumerate(("6200", "205", "106", "53"), 1)]
    answer = web.call("POST", "/api/accounts/77777/readings", {"rows": rows})
    assert answer.status == 200
    assert calls == Counter({"TransactGetItems": 1, "Query": 1, "TransactWriteItems": 1})
