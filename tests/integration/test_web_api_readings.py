"""Handing in readings through the web API: answers and stored items, races and replays, against moto."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from ekc.domain.plausibility import UsageProfile
from tests.integration.conftest import NOW, Browser


def _rows(*pairs: tuple[str, str], confirm: bool = False) -> dict[str, Any]:
    return {"rows": [{"meter_id": m, "value": v, "confirm": v if confirm else None} for m, v in pairs]}


def _history(table: Any, meter_id: str) -> list[dict[str, Any]]:
    """Submissions stored since NOW's billing month (the demo seeds a year before it)."""
    items = table.query(KeyConditionExpression=Key("pk").eq(f"MTR#{meter_id}") & Key("sk").begins_with("R#"))[
        "Items"
    ]
    return [item for item in items if item["billing_month"] >= "2026-11"]


def _meter(table: Any, meter_id: str) -> dict[str, Any]:
    account = meter_id.split(".")[0]
    return table.get_item(Key={"pk": f"ACC#{account}", "sk": f"MTR#{meter_id}"})["Item"]


def _by_meter(answer: Any) -> dict[str, dict[str, Any]]:
    return {r["meter_id"]: r for r in answer.json["results"]}


def test_readings_page_shows_windows_previous_readings_and_the_closed_meter(web: Browser) -> None:
    web.sign_in()
    page = web.call("GET", "/api/accounts/77777").json
    assert page["account"]["holder"] == "Горшеньов М. Ю."
    assert page["account"]["debt"]["iban"].startswith("UA")
    meters = {m["id"]: m for m in page["meters"]}
    # A meter with no known serial is named by its kind; a note joins the kind in words
    assert (meters["77777.1"]["serial"], meters["77777.1"]["name"]) == (None, "Електроенергія")
    assert (meters["77777.3"]["serial"], meters["77777.3"]["name"]) == ("7254663", "Холодна вода, кухня")
    assert meters["77777.1"]["previous"]["value"] == "6116.000"
    bot = meters["77777.1"]["bot"]
    assert (bot["enabled"], bot["amount"], bot["seal_epoch"]) == (True, "0.000", 0)
    assert bot["label"] == (
        "Бот увімкнено. Якщо до 26/11/2026 о 23:59 показник не надійде, бот внесе 6116 кВт·год "
        "(попередній 6116 + 0)."
    )
    assert meters["77777.3"]["note"] == "кухня" and meters["77777.3"]["next_verification"] == "2027-11-08"
    # Money in Ukrainian form, the IBAN grouped for reading and whole for copying
    debt = page["account"]["debt"]
    assert debt["label"].startswith("Заборгованість: 1\u00a0234,56\u00a0грн станом на ")
    # as of the day billing gave (the seed: the billing month's first), written as dd/mm/yyyy
    year, month, day = debt["as_of"].split("-")
    assert day == "01" and debt["label"].endswith(f" станом на {day}/{month}/{year}")
    assert debt["iban_grouped"].replace(" ", "") == debt["iban"] and debt["iban_grouped"][4] == " "
    assert all(meters[m]["window"]["open"] for m in ("77777.1", "77777.2", "77777.3"))
    closed = meters["77777.4"]["window"]
    assert closed["open"] is False and closed["label"].startswith(
        "за 11/2026 вносяться в період з 29/11/2026"
    )


def test_save_readings_writes_reading_and_meter_together(web: Browser, table: Any) -> None:
    # Given the demo resident on 77777
    web.sign_in()
    # When they save three open meters, one with a comma
    answer = web.call(
        "POST",
        "/api/accounts/77777/readings",
        _rows(("77777.1", "6200,5"), ("77777.2", "210"), ("77777.3", "106.125")),
    )
    # Then every row is saved, with its consumption
    assert answer.status == 200
    results = _by_meter(answer)
    assert {r["status"] for r in results.values()} == {"saved"}
    assert results["77777.1"]["message"] == "Показник 6200,5 збережено."
    meters = {m["id"]: m for m in answer.json["meters"]}
    assert meters["77777.1"]["consumption"] == "84.500"
    assert meters["77777.1"]["current"]["source_label"].startswith("Дані внесено з сайту 24/11/2026 о 23:04")
    # And the meter item and its history item agree
    stored = _meter(table, "77777.1")
    assert (stored["cur_value"], stored["cur_month"], stored["cur_channel"]) == ("6200.500", "2026-11", "web")
    history = _history(table, "77777.1")
    assert [(h["value"], h["channel"], h["ip"]) for h in history] == [("6200.500", "web", "203.0.113.7")]


def test_save_readings_warns_but_keeps_a_value_lower_than_previous(web: Browser, table: Any) -> None:
    web.sign_in()
    answer = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.2", "150")))
    result = _by_meter(answer)["77777.2"]
    assert result["status"] == "saved"
    assert [w["code"] for w in result["warnings"]] == ["lower_than_previous"]
    assert "показник 150 менший за попередній (201)" in result["warnings"][0]["message"]
    assert answer.json["summary"]["text"] == (
        "Збережено 1, з них 1 менший за попередній. Перегляньте позначені лічильники."
    )
    assert answer.json["summary"]["tone"] == "warn" and answer.json["summary"]["attention"] == ["77777.2"]
    assert _meter(table, "77777.2")["cur_warnings"][0]["code"] == "lower_than_previous"


def test_implausible_value_is_not_saved_until_confirmed(web: Browser, table: Any, clock_at: Any) -> None:
    web.sign_in()
    # When a far too high gas reading comes in
    first = _by_meter(web.call("POST", "/api/accounts/77777/readings", _rows(("77777.2", "9999"))))["77777.2"]
    # Then it asks for confirmation and writes nothing
    assert first["status"] == "needs_confirmation"
    assert "підтвердьте" in first["message"]
    assert _history(table, "77777.2") == []
    assert "cur_value" not in _meter(table, "77777.2")
    # When the same row comes back confirmed
    clock_at(NOW + timedelta(seconds=5))
    second = _by_meter(
        web.call("POST", "/api/accounts/77777/readings", _rows(("77777.2", "9999"), confirm=True))
    )["77777.2"]
    # Then it is saved, remembering that the resident confirmed it
    assert second["status"] == "saved"
    assert [w["code"] for w in second["warnings"]] == ["confirmed_high"]
    assert _meter(table, "77777.2")["cur_value"] == "9999.000"


def test_bad_rows_are_refused_in_ukrainian_while_good_rows_are_saved(web: Browser, table: Any) -> None:
    web.sign_in()
    answer = web.call(
        "POST",
        "/api/accounts/77777/readings",
        _rows(
            ("77777.1", "6117.1234"),
            ("77777.2", "abc"),
            ("77777.3", "-5"),
            ("77777.4", "53"),
            ("77777.9", "1"),
            ("88888.1", "311"),
        ),
    )
    results = _by_meter(answer)
    assert results["77777.1"]["status"] == "rejected" and "не більше 3 цифр" in results["77777.1"]["message"]
    assert results["77777.2"]["status"] == "rejected" and "числом" in results["77777.2"]["message"]
    assert results["77777.3"]["status"] == "rejected" and "від’ємним" in results["77777.3"]["message"]
    assert (
        results["77777.4"]["status"] == "closed"
        and "Наступний прийом: з 29/11/2026 по" in results["77777.4"]["message"]
    )
    assert results["77777.9"]["status"] == "rejected"
    assert results["88888.1"]["status"] == "rejected"  # another account's meter is not reachable from here
    for meter_id in ("77777.1", "77777.2", "77777.3", "77777.4"):
        assert _history(table, meter_id) == []
    assert "cur_value" not in _meter(table, "88888.1")


def test_empty_rows_are_left_unchanged(web: Browser, table: Any) -> None:
    web.sign_in()
    answer = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.1", "  "), ("77777.2", "202")))
    assert _by_meter(answer)["77777.1"]["status"] == "unchanged"
    assert _history(table, "77777.1") == [] and len(_history(table, "77777.2")) == 1


def test_last_submission_wins_and_history_keeps_both(web: Browser, table: Any, clock_at: Any) -> None:
    web.sign_in()
    web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "106")))
    clock_at(NOW + timedelta(minutes=3))
    web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "107.5")))
    assert _meter(table, "77777.3")["cur_value"] == "107.500"
    assert sorted(h["value"] for h in _history(table, "77777.3")) == ["106.000", "107.500"]
    history = web.call("GET", "/api/accounts/77777/meters/77777.3/history").json
    assert [s["value"] for s in history["submissions"][:3]] == ["107.500", "106.000", "105.000"]
    assert len(history["months"]) == 13  # the seeded year and this month, where the last submission counts
    month = {"channel": "web", "warnings": []}
    assert history["months"][-1] == {
        "billing_month": "2026-11",
        "at": "2026-11-24T23:07:36+02:00",
        "value": "107.500",
        "consumption": "2.500",
        **month,
    }
    assert history["months"][-2]["billing_month"] == "2026-10"
    assert (history["months"][-2]["value"], history["months"][-2]["consumption"]) == ("105.000", "3.200")


def test_a_delayed_older_submission_cannot_overwrite_a_newer_one(
    web: Browser, table: Any, clock_at: Any
) -> None:
    # Given a reading saved at 23:10 (say, by Viber)
    web.sign_in()
    clock_at(NOW + timedelta(minutes=6))
    web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "108")))
    # When a request stamped earlier (23:04) reaches the database only now
    clock_at(NOW)
    answer = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "106"), ("77777.2", "203")))
    # Then the newer reading stays, the resident is told so, and the other row is still saved
    results = _by_meter(answer)
    assert results["77777.3"]["status"] == "superseded" and "(108)" in results["77777.3"]["message"]
    assert results["77777.2"]["status"] == "saved"
    assert _meter(table, "77777.3")["cur_value"] == "108.000"
    assert [h["value"] for h in _history(table, "77777.3")] == ["108.000"]
    assert _meter(table, "77777.2")["cur_value"] == "203.000"


def test_replayed_request_is_harmless(web: Browser, table: Any, clock_at: Any) -> None:
    web.sign_in()
    first = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.2", "204")))
    clock_at(NOW + timedelta(seconds=30))
    again = web.send(web.sent[-1])
    assert first.json["results"] == again.json["results"]
    assert _meter(table, "77777.2")["cur_value"] == "204.000"


def test_a_new_month_moves_the_reading_into_previous(
    web: Browser, table: Any, clock_at: Any, stores: Any
) -> None:
    # Given a November reading on a meter whose usual use the seeded year set
    seeded = _meter(table, "77777.3")
    web.sign_in()
    web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "111")))
    # When December's window opens (the seeded rule repeats a month later)
    clock_at(NOW + timedelta(days=29))
    page = {m["id"]: m for m in web.call("GET", "/api/accounts/77777").json["meters"]}
    assert page["77777.3"]["window"]["billing_month"] == "2026-12"
    assert page["77777.3"]["previous"] == {"value": "111.000", "billing_month": "2026-11"}
    assert page["77777.3"]["current"] is None
    answer = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "115")))
    # Then December's consumption counts from November's reading
    assert _by_meter(answer)["77777.3"]["status"] == "saved"
    stored = _meter(table, "77777.3")
    assert (stored["prev_value"], stored["prev_month"], stored["cur_value"]) == (
        "111.000",
        "2026-11",
        "115.000",
    )
    assert stored["cur_consumption"] == "4.000"
    # And November's use (6) and December's (4) are in the meter's usage profile, on top of the seeded year
    profile = UsageProfile.from_text(stored["usage"])
    before = UsageProfile.from_text(seeded["usage"])
    assert [(str(u.month), u.use) for u in profile.uses[-2:]] == [
        ("2026-11", Decimal(6)),
        ("2026-12", Decimal(4)),
    ]
    assert [u.use for u in profile.uses[:-2]] == [u.use for u in before.uses][-(len(profile.uses) - 2) :]


def test_rollover_is_understood(web: Browser, stores: Any) -> None:
    from dataclasses import replace

    bundle = stores.accounts.load_account("77777")
    gas = next(m for m in bundle.meters if m.id == "77777.2")
    stores.accounts.put_meter(replace(gas, previous_value=Decimal("99990")))
    web.sign_in()
    result = _by_meter(web.call("POST", "/api/accounts/77777/readings", _rows(("77777.2", "5"))))["77777.2"]
    assert result["status"] == "saved"
    assert [w["code"] for w in result["warnings"]] == ["rollover"]
    assert "витрату пораховано як 15 м³" in result["warnings"][0]["message"]


def test_bot_switch_and_amount_are_saved(web: Browser, table: Any) -> None:
    web.sign_in()
    answer = web.call("PUT", "/api/accounts/77777/meters/77777.3/bot", {"enabled": True, "amount": "2,5"})
    assert answer.status == 200 and answer.json["status"] == "saved"
    bot = answer.json["meter"]["bot"]
    assert (bot["enabled"], bot["amount"], bot["seal_epoch"]) == (True, "2.500", 0)
    assert "бот внесе 107,5 м³ (попередній 105 + 2,5)" in bot["label"]
    stored = _meter(table, "77777.3")
    assert stored["bot_enabled"] is True and stored["bot_amount"] == "2.500"
    bad = web.call("PUT", "/api/accounts/77777/meters/77777.3/bot", {"enabled": True, "amount": "-1"})
    assert bad.status == 400 and bad.json["error"]["code"] == "bad_amount"
    assert (
        web.call("PUT", "/api/accounts/77777/meters/77777.8/bot", {"enabled": True, "amount": "1"}).status
        == 404
    )


def test_reseal_switches_the_bot_off(web: Browser, table: Any) -> None:
    from ekc.services.meters import record_seal

    # Given the electricity meter's bot is on
    web.sign_in()
    assert _meter(table, "77777.1")["bot_enabled"] is True
    # When the meter is verified and re-sealed
    after = record_seal("77777", "77777.1", 1)
    # Then its bot is off, on the page too, until the resident turns it on again
    assert after.bot_enabled is False and after.seal_epoch == 1
    page = {m["id"]: m for m in web.call("GET", "/api/accounts/77777").json["meters"]}
    assert page["77777.1"]["bot"]["enabled"] is False
    web.call("PUT", "/api/accounts/77777/meters/77777.1/bot", {"enabled": True, "amount": "0"})
    # And a replay of the same re-sealing does not switch it off again
    assert record_seal("77777", "77777.1", 1).bot_enabled is True
    assert _meter(table, "77777.1")["seal_epoch"] == 1


def test_storage_failure_answers_try_again_and_writes_nothing(
    web: Browser, table: Any, stores: Any, monkeypatch: Any
) -> None:
    from pynamodb.exceptions import TransactWriteError

    web.sign_in()

    def throttled(*_args: Any, **_kwargs: Any) -> None:
        raise TransactWriteError("Throughput exceeds the current capacity of your table")

    # Given DynamoDB throttles the write transaction
    monkeypatch.setattr(stores.readings._connection, "transact_write_items", throttled)
    # When readings are saved
    answer = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.2", "202")))
    # Then the resident is told nothing was saved, and nothing was
    assert answer.status == 503
    assert answer.json["error"] == {
        "code": "unavailable",
        "message": "Сервіс тимчасово недоступний. Нічого не збережено, спробуйте ще раз за хвилину.",
    }
    assert "cur_value" not in _meter(table, "77777.2")


@pytest.mark.parametrize("value", [106.1239999999999999, 106.125, 106, True])
def test_json_numbers_are_refused_as_already_rounded(web: Browser, table: Any, value: Any) -> None:
    # Given a reading sent as a JSON number: the parser has rounded it before we see it
    # (106.1239999999999999 arrives as 106.124, four decimals typed, three kept)
    web.sign_in()
    before = _meter(table, "77777.3").get("cur_value")
    answer = web.call(
        "POST", "/api/accounts/77777/readings", {"rows": [{"meter_id": "77777.3", "value": value}]}
    )
    # Then it is refused as a malformed request, in Ukrainian, and nothing is written
    assert answer.status == 400 and answer.json["error"]["code"] == "invalid_request"
    assert _meter(table, "77777.3").get("cur_value") == before
    bot = web.call("PUT", "/api/accounts/77777/meters/77777.3/bot", {"enabled": True, "amount": 2})
    assert bot.status == 400


def test_a_transaction_conflict_is_retried_not_reported(
    web: Browser, table: Any, stores: Any, monkeypatch: Any
) -> None:
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    web.sign_in()
    real = stores.readings._connection.transact_write_items
    attempts: list[int] = []

    def busy_once(*args: Any, **kwargs: Any) -> Any:
        # Given another transaction holds the meter at the moment of our first attempt
        attempts.append(1)
        if len(attempts) == 1:
            # One row: its history Put, its month's Put, the submission's marker, the meter's Update.
            reasons = [None, None, None, CancellationReason(code="TransactionConflict")]
            error = {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}}
            cause = VerboseClientError(error, "TransactWriteItems", cancellation_reasons=reasons)
            raise TransactWriteError("Failed to write transaction items", cause=cause)
        return real(*args, **kwargs)

    monkeypatch.setattr(stores.readings._connection, "transact_write_items", busy_once)
    # When the resident saves
    answer = web.call("POST", "/api/accounts/77777/readings", _rows(("77777.3", "106.5")))
    # Then the service re-reads and retries, and the reading is saved once
    assert _by_meter(answer)["77777.3"]["status"] == "saved"
    assert len(attempts) == 2
    assert [h["value"] for h in _history(table, "77777.3")] == ["106.500"]
