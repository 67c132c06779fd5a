"""The phone lines' DynamoDB request budget (docs/phone.md): at most 2 per step, 4 for the account's entry
(once a call), counted not timed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import botocore.session
import pynamodb.connection.base as pynamodb_base
import pytest

from tests.phone_driver import PhoneCall, handler_transport, use_phone_settings


@pytest.fixture
def counted(demo: dict[str, Any], clock_at: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Counter[str]]:
    """The handler, and the DynamoDB operations it sends from now on (a new container)."""
    from ekc.storage import forget

    use_phone_settings(monkeypatch)
    counter: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: counter.update([model.name]))
    monkeypatch.setattr(pynamodb_base, "get_session", lambda: session)
    forget()
    from functions.ivr_handler import app

    return app.lambda_handler, counter


def test_ivr_request_budget_of_each_step_of_a_keypad_call(counted: tuple[Any, Counter[str]]) -> None:
    handler, calls = counted
    call = PhoneCall(handler_transport(handler), "keypad")

    def step(action: Any, *args: str) -> Counter[str]:
        calls.clear()
        action(*args)
        return Counter(calls)

    # Until the account is confirmed, no request at all: the state travels in the URL
    assert step(call.dial) == Counter()
    assert step(call.press, "77777#") == Counter()
    # The account's entry: a guess reserved (read + conditional ADD), the account's query (+ the
    # organizations, cold), the reservation given back
    assert step(call.press, "1") == Counter(
        {"BatchGetItem": 1, "TransactWriteItems": 2, "GetItem": 1, "Query": 1}
    )
    # Warm, every step reads the account once, a save adds its transaction
    assert step(call.press, "2") == Counter({"Query": 1})
    assert step(call.press, "205#") == Counter({"Query": 1})
    assert step(call.press, "1") == Counter({"Query": 1, "TransactWriteItems": 1})
    assert step(call.press, "1") == Counter({"Query": 1})
    assert step(call.press, "9") == Counter({"Query": 1})
    assert step(call.press, "5") == Counter({"Query": 1})  # a wrong key
    assert step(call.wait) == Counter({"Query": 1})
    second = PhoneCall(handler_transport(handler), "keypad")
    second.dial()
    second.press("77777#")
    assert step(second.press, "1") == Counter({"BatchGetItem": 1, "TransactWriteItems": 2, "Query": 1})
    assert step(call.press, "2") == Counter({"Query": 1})
    assert step(call.press, "210#") == Counter({"Query": 1})
    assert step(call.press, "1") == Counter({"Query": 1, "TransactWriteItems": 1})
    assert step(call.press, "2") == Counter()  # goodbye
