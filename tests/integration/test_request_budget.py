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


def test_request_budget_one_botocore_client_per_container(
    web: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh container (nothing cached) and a count of botocore clients made from now on
    from ekc.storage import forget

    made: list[str] = []
    real = botocore.session.Session.create_client

    def counting(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return real(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    forget()
    # When a resident signs in, opens the page, saves, and reads a meter's history
    web.sign_in()
    assert web.call("GET", "/api/me").status == 200
    assert web.call("GET", "/api/accounts").status == 200
    assert web.call("GET", "/api/accounts/77777").status == 200
    rows = [{"meter_id": "77777.1", "value": "6200"}]
    assert web.call("POST", "/api/accounts/77777/readings", {"rows": rows}).status == 200
    assert web.call("GET", "/api/accounts/77777/meters/77777.1/history").status == 200
    # Then every model and every transaction went through one client
    assert made == ["dynamodb"]


def test_request_budget_qr_session_readings_page_is_two_requests(
    web: Browser, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a session opened by the invoice's web QR, and a new container counting its requests
    from ekc.storage import forget

    counter: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: counter.update([model.name]))
    monkeypatch.setattr(pynamodb_base, "get_session", lambda: session)
    token = demo["links"]["web_qr_77777"].rsplit("/", 1)[1]
    assert web.call("POST", "/api/auth/qr", {"token": token}).status == 200
    forget()
    counter.clear()
    # When it opens the readings page, cold and then warm
    # Then the token's generation is checked with the account's own Query: no request more
    assert web.call("GET", "/api/accounts/77777").status == 200
    assert counter == Counter({"TransactGetItems": 1, "Query": 1})
    counter.clear()
    assert web.call("GET", "/api/accounts/77777").status == 200
    assert counter == Counter({"GetItem": 1, "Query": 1})


def test_request_budget_signin_and_signout_with_the_sessions_pointer(
    web: Browser, calls: Counter[str]
) -> None:
    # Given a warm container; When the resident signs in with the right password
    web.sign_in()
    # Then: counters read, the guess reserved, the login read, the reservation given back, and the
    # session written with its pointer in the person's partition in one transaction (docs/storage.md)
    assert calls == Counter({"BatchGetItem": 1, "TransactWriteItems": 3, "GetItem": 1})
    calls.clear()
    # And the session check stays one request (with the organizations, this container being cold);
    # signing out deletes the session and its pointer in one transaction
    assert web.call("GET", "/api/me").status == 200
    assert calls == Counter({"TransactGetItems": 1})
    calls.clear()
    assert web.call("POST", "/api/auth/signout").status == 204
    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
