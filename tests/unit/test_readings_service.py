"""The readings service with the in-memory stores: races between channels, retries, duplicates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ekc.domain.identity import AccountCaller, Origin, PersonCaller, Proof
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.exceptions import NotFound, StorageUnavailable
from ekc.services.readings import RowInput, RowStatus, readings_page, save_readings
from ekc.storage.ports import ReadingWrite
from tests.fakes import FakeReadings, FakeStores

NOW = datetime(2019, 8, 1, 9, 0, tzinfo=UTC)  # inside the seed's July 2019 windows
JULY = Month(2019, 7)
ELECTRICITY = Organization("el", "Енергозбут", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3)))
RESIDENT = PersonCaller("p-1")
WEB = Origin.web("192.0.2.1", RESIDENT)
ACCOUNT = Account("77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, 43", "Кременчук", "05366")


def _stores(*meters: Meter) -> FakeStores:
    stores = FakeStores([ELECTRICITY])
    stores.add_account(ACCOUNT, list(meters), people=("p-1",))
    return stores


def _meter(current: Submission | None = None) -> Meter:
    return Meter(
        id="77777.1",
        account="77777",
        kind=MeterKind.ELECTRICITY,
        unit=Unit.KILOWATT_HOUR,
        organization_id="el",
        digits=6,
        previous_value=Decimal("6116"),
        previous_month=Month(2019, 6),
        current=current,
    )


def _submission(value: str, at: datetime, month: Month = JULY) -> Submission:
    return Submission("77777.1", month, Decimal(value), at, Origin.viber("p-2"))


def test_save_retries_when_an_older_reading_lands_between_read_and_write() -> None:
    # Given another channel's reading, stamped before ours, that lands while we are deciding
    stores = _stores(_meter())
    stores.fake_readings.before_write = lambda r: _other_channel(r, "6150", NOW - timedelta(seconds=5))
    # When the resident saves
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.1", "6200")], WEB, stores=stores, now=NOW)
    # Then ours, the newer, wins after one re-read, and history keeps both
    assert outcome.results[0].status is RowStatus.SAVED
    assert stores.fake_accounts.meters["77777.1"].current.value == Decimal("6200")
    assert [s.value for s in stores.fake_readings.written] == [Decimal("6150"), Decimal("6200")]
    assert stores.fake_readings.transactions == 3  # the other channel's, our refused one, our retry


def _other_channel(readings: FakeReadings, value: str, at: datetime) -> None:
    readings.record_readings([ReadingWrite(_meter(), _submission(value, at))])


def test_save_yields_to_a_newer_reading_that_lands_between_read_and_write() -> None:
    stores = _stores(_meter())
    stores.fake_readings.before_write = lambda r: _other_channel(r, "6150", NOW + timedelta(seconds=5))
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.1", "6200")], WEB, stores=stores, now=NOW)
    assert outcome.results[0].status is RowStatus.SUPERSEDED
    assert outcome.results[0].newer is not None and outcome.results[0].newer.value == Decimal("6150")
    assert stores.fake_accounts.meters["77777.1"].current.value == Decimal("6150")


def test_save_gives_up_with_try_again_after_three_races() -> None:
    stores = _stores(_meter())
    calls = []

    def always_raced(writes: list[ReadingWrite], *, key: str | None = None) -> list[bool]:
        calls.append(writes)
        return [True] * len(writes)

    stores.fake_readings.record_readings = always_raced  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        save_readings(RESIDENT, "77777", [RowInput("77777.1", "6200")], WEB, stores=stores, now=NOW)
    assert len(calls) == 3 and stores.fake_readings.written == []


def test_two_rows_for_one_meter_count_as_the_last_one() -> None:
    stores = _stores(_meter())
    rows = [RowInput("77777.1", "6200"), RowInput("77777.1", "6210")]
    outcome = save_readings(RESIDENT, "77777", rows, WEB, stores=stores, now=NOW)
    assert [(r.meter_id, r.status) for r in outcome.results] == [("77777.1", RowStatus.SAVED)]
    assert [s.value for s in stores.fake_readings.written] == [Decimal("6210")]


def test_nothing_to_write_makes_no_transaction() -> None:
    stores = _stores(_meter())
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.1", " ")], WEB, stores=stores, now=NOW)
    assert outcome.results[0].status is RowStatus.UNCHANGED
    assert stores.fake_readings.written == [] and stores.fake_readings.transactions == 0


def test_a_meter_whose_organization_is_unknown_is_left_out_not_fatal() -> None:
    orphan = replace(_meter(), id="77777.2", organization_id="gone")
    stores = _stores(_meter(), orphan)
    page = readings_page(RESIDENT, "77777", stores=stores, now=NOW)
    assert [v.meter.id for v in page.meters] == ["77777.1"]
    outcome = save_readings(RESIDENT, "77777", [RowInput("77777.2", "5")], WEB, stores=stores, now=NOW)
    assert outcome.results[0].status is RowStatus.REJECTED


def test_the_page_of_an_account_not_linked_is_not_found() -> None:
    stores = _stores(_meter())
    with pytest.raises(NotFound):
        readings_page(PersonCaller("p-9"), "77777", stores=stores, now=NOW)
    qr_session = AccountCaller("77777", Proof.INVOICE_QR)
    page = readings_page(qr_session, "77777", stores=stores, now=NOW)
    assert page.account is not None and page.account.number == "77777"
    with pytest.raises(NotFound):
        readings_page(qr_session, "88888", stores=stores, now=NOW)


def test_a_phone_caller_gets_the_meters_but_nothing_about_the_person() -> None:
    # Given a caller who only typed the account number on the keypad
    stores = _stores(_meter())
    caller = AccountCaller("77777", Proof.ACCOUNT_NUMBER)
    # When the readings page is asked for
    page = readings_page(caller, "77777", stores=stores, now=NOW)
    # Then the meters come, and no name, address or debt
    assert page.account is None and [v.meter.id for v in page.meters] == ["77777.1"]
