"""The web API tells the truth about failures: lost answers, unreadable bodies, keys too long, replays."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ReadTimeoutError

from tests.integration.conftest import NOW, Browser

CYRILLIC = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"


def _ukrainian(text: str) -> bool:
    return any(ch in CYRILLIC for ch in text.lower())


def _history_values(table: Any, meter_id: str) -> list[str]:
    items = table.query(KeyConditionExpression=Key("pk").eq(f"MTR#{meter_id}") & Key("sk").begins_with("R#"))
    return [i["value"] for i in items["Items"] if i["billing_month"] >= "2026-11"]


def _current(table: Any, meter_id: str) -> str | None:
    item = table.get_item(Key={"pk": f"ACC#{meter_id.split('.')[0]}", "sk": f"MTR#{meter_id}"})["Item"]
    return item.get("cur_value")


def _lose_transaction_answers(
    monkeypatch: pytest.MonkeyPatch, stores: Any, *, applied: bool, times: int
) -> list[int]:
    """The next `times` TransactWriteItems lose their answer, after (applied) or before reaching DynamoDB."""
    connection = stores.readings._connection
    real = connection.transact_write_items
    lost: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if len(lost) < times:
            lost.append(1)
            if applied:
                real(*args, **kwargs)
            from pynamodb.exceptions import TransactWriteError

            cause = ReadTimeoutError(endpoint_url="https://dynamodb.eu-central-1.amazonaws.com")
            raise TransactWriteError("Failed to write transaction items", cause=cause)
        return real(*args, **kwargs)

    monkeypatch.setattr(connection, "transact_write_items", flaky)
    return lost


def test_a_save_whose_answer_was_lost_after_the_write_says_saved(
    web: Browser, table: Any, stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB applies the transaction but its answer never comes back
    web.sign_in()
    lost = _lose_transaction_answers(monkeypatch, stores, applied=True, times=1)
    # When the resident saves
    answer = web.call(
        "POST",
        "/api/accounts/77777/readings",
        {"rows": [{"meter_id": "77777.3", "value": "107"}]},
        headers={"idempotency-key": "press-1"},
    )
    # Then the service finds out and answers "saved", truthfully, with one submission stored
    assert lost == [1]
    assert answer.status == 200 and answer.json["results"][0]["status"] == "saved"
    assert _history_values(table, "77777.3") == ["107.000"]


def test_a_save_whose_request_was_lost_says_nothing_saved_and_stays_so(
    web: Browser, table: Any, stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the transaction never reaches DynamoDB and its answer never comes
    web.sign_in()
    _lose_transaction_answers(monkeypatch, stores, applied=False, times=1)
    body = {"rows": [{"meter_id": "77777.3", "value": "107"}]}
    answer = web.call("POST", "/api/accounts/77777/readings", body, headers={"idempotency-key": "press-1"})
    # Then the answer is the designed 503 "nothing saved", in Ukrainian, and nothing is stored
    assert answer.status == 503 and answer.json["error"]["code"] == "unavailable"
    assert _ukrainian(answer.json["error"]["message"])
    assert _history_values(table, "77777.3") == [] and _current(table, "77777.3") is None
    # And a delayed copy of that very request can no longer land
    late = web.call("POST", "/api/accounts/77777/readings", body, headers={"idempotency-key": "press-1"})
    assert late.status == 503 and _history_values(table, "77777.3") == []


def test_a_replayed_save_does_not_overwrite_a_later_correction(
    web: Browser, table: Any, clock_at: Any
) -> None:
    # Given 6300 saved, then corrected to 6230 by a second press a minute later
    web.sign_in()

    def save(value: str, key: str) -> Any:
        body = {"rows": [{"meter_id": "77777.1", "value": value}]}
        return web.call("POST", "/api/accounts/77777/readings", body, headers={"idempotency-key": key})

    assert save("6300", "k1").status == 200
    clock_at(NOW + timedelta(minutes=1))
    assert save("6230", "k2").status == 200
    # When the first request is retried late
    clock_at(NOW + timedelta(minutes=2))
    again = save("6300", "k1")
    # Then it is answered as before, and the meter shows the correction
    assert again.status == 200 and again.json["results"][0]["status"] == "saved"
    assert _current(table, "77777.1") == "6230.000"
    assert _history_values(table, "77777.1") == ["6300.000", "6230.000"]


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [
        (b'{"email": "\xff\xfe", "password": "x"}', True),  # not UTF-8
        (b"[" * 5000 + b"]" * 5000, False),  # nested thousands deep
        (b"%%%not base64%%%", True),
    ],
)
def test_unreadable_bodies_are_a_bad_request_in_ukrainian(
    web: Browser, body: bytes, base64_encoded: bool
) -> None:
    # Given a body no JSON reader can take, sent without signing in
    event = web.event("POST", "/api/auth/signin")
    event["isBase64Encoded"] = base64_encoded
    event["body"] = (
        base64.b64encode(body).decode() if base64_encoded and body[0] != 37 else body.decode("latin-1")
    )
    # When it arrives / Then it is a 400 in the documented shape, not a 500
    answer = web.send(event)
    assert answer.status == 400
    assert answer.json["error"]["code"] in ("unreadable_body", "invalid_request")
    assert _ukrainian(answer.json["error"]["message"])


def test_a_content_type_the_api_does_not_take_is_415_in_ukrainian(web: Browser) -> None:
    answer = web.call(
        "POST",
        "/api/auth/signin",
        {"email": "a@b.cd", "password": "x" * 8},
        headers={"content-type": "text/plain"},
    )
    assert answer.status == 415 and answer.json["error"]["code"] == "unsupported_media_type"
    assert _ukrainian(answer.json["error"]["message"])


def test_an_account_number_too_long_for_dynamodb_is_a_bad_request(web: Browser) -> None:
    web.sign_in()
    number = "7" * 2000
    for method, path, body in [
        ("GET", f"/api/accounts/{number}", None),
        ("POST", f"/api/accounts/{number}/readings", {"rows": [{"meter_id": "1", "value": "1"}]}),
    ]:
        answer = web.call(method, path, body)
        assert answer.status == 400, (path[:30], answer.raw)
        assert answer.json["error"]["code"] == "bad_account" and _ukrainian(answer.json["error"]["message"])


def test_a_broken_window_rule_leaves_out_its_organization_not_the_city(web: Browser, table: Any) -> None:
    # Given an operator's typo in the console: the heat supplier's window closes before it opens
    catalog = table.get_item(Key={"pk": "CATALOG", "sk": "ORGANIZATIONS"})["Item"]
    for org in catalog["organizations"]:
        if org["id"] == "heat":
            org["window"] = {"opens_offset": 0, "opens_day": 20, "closes_offset": 0, "closes_day": 5}
    table.put_item(Item=catalog)
    from ekc.storage import forget

    forget()  # a new container reads the catalogue
    # When a resident opens the readings page
    web.sign_in()
    answer = web.call("GET", "/api/accounts/77777")
    # Then everyone else's meters work; only the broken organization's meter is left out
    assert answer.status == 200
    assert [m["id"] for m in answer.json["meters"]] == ["77777.1", "77777.2", "77777.3"]
