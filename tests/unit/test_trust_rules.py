"""The rules' edge cases found by sweeping the domain, and truthful saves: each was wrong before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ekc.domain.identity import Origin, PersonCaller
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Meter, Organization
from ekc.domain.months import Month
from ekc.domain.notices import NoticeCode
from ekc.domain.plausibility import UsageProfile
from ekc.domain.values import WarningCode
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.exceptions import Conflict, InvalidRequest, InvalidValue, StorageUnavailable
from ekc.services import meters as meter_service
from ekc.services.readings import (
    BotStatus,
    RowInput,
    RowStatus,
    meter_history,
    readings_page,
    save_readings,
    set_bot,
)
from tests.fakes import FakeStores

NOW = datetime(2019, 8, 1, 9, 0, tzinfo=UTC)  # inside the July 2019 windows
JULY, JUNE = Month(2019, 7), Month(2019, 6)
ORGS = [
    Organization("el", "Енергозбут", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3))),
    Organization("water", "Водоканал", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3))),
]
RESIDENT = PersonCaller("p-1")
WEB = Origin.web("192.0.2.1", RESIDENT)
ACCOUNT = Account("77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, 43", "Кременчук", "05366")


def _history(kind: MeterKind, uses: list[str], end: Month = JUNE) -> UsageProfile:
    profile = UsageProfile()
    for n, use in enumerate(uses):
        month = end.plus(n - len(uses) + 1)
        profile = profile.updated(month, Decimal(use), confirmed_high=False, rollover=False, months_elapsed=1)
    return profile


def _meter(**changes: object) -> Meter:
    base = Meter(
        id="77777.1",
        account="77777",
        kind=MeterKind.ELECTRICITY,
        unit=Unit.KILOWATT_HOUR,
        organization_id="el",
        digits=6,
        previous_value=Decimal(6000),
        previous_month=JUNE,
        usage=_history(MeterKind.ELECTRICITY, ["150"] * 12),
    )
    return replace(base, **changes)


def _stores(*meters: Meter) -> FakeStores:
    stores = FakeStores(ORGS)
    stores.add_account(ACCOUNT, list(meters), people=("p-1", "p-2"))
    return stores


def _save(stores: FakeStores, value: str, *, confirmed: str | None = None, key: str | None = None, now=NOW):
    rows = [RowInput("77777.1", value, confirmed)]
    return save_readings(RESIDENT, "77777", rows, WEB, key=key, stores=stores, now=now).results[0]


def _stored(stores: FakeStores) -> Meter:
    return stores.fake_accounts.meters["77777.1"]


# ---- confirmation is tied to the value that was questioned ----------------------------------------


def test_confirming_one_value_does_not_let_another_in() -> None:
    # Given an implausible value asked back (6000 + 9999 kWh in a month of ~150)
    stores = _stores(_meter())
    asked = _save(stores, "15999")
    assert asked.status is RowStatus.NEEDS_CONFIRMATION and asked.question is not None
    # When the resident "confirms" but sends a different, even larger value
    sneaked = _save(stores, "159999", confirmed="15999")
    # Then that one is asked back too, and nothing is saved
    assert sneaked.status is RowStatus.NEEDS_CONFIRMATION
    assert stores.fake_readings.written == []
    # And confirming the value that was asked saves it, with the warning that it was confirmed
    saved = _save(stores, "15999", confirmed="15 999")
    assert saved.status is RowStatus.SAVED
    assert [w.code for w in saved.warnings] == [WarningCode.CONFIRMED_HIGH]


def test_the_question_carries_the_usual_use_and_the_new_consumption() -> None:
    stores = _stores(_meter())
    asked = _save(stores, "7000")
    q = asked.question
    assert q is not None and q.code == "implausible_high"
    assert q.consumption == Decimal(1000) and q.usual is not None and Decimal(100) < q.usual < Decimal(200)


# ---- digits of the dial ------------------------------------------------------------------------------


def test_more_digits_than_the_dial_is_a_question_not_a_refusal() -> None:
    # Given a meter whose dial has 4 digits on record (perhaps wrongly)
    stores = _stores(_meter(digits=4, previous_value=Decimal(9990), usage=UsageProfile()))
    # When a 5-digit value is handed in
    asked = _save(stores, "10020")
    # Then the resident is asked, not refused; confirmed, it is saved and flagged for operators
    assert asked.status is RowStatus.NEEDS_CONFIRMATION and asked.reason == "more_digits_than_dial"
    assert asked.question is not None and asked.question.digits == 4
    saved = _save(stores, "10020", confirmed="10020")
    assert saved.status is RowStatus.SAVED
    assert WarningCode.CONFIRMED_DIGITS in [w.code for w in saved.warnings]


def test_a_meter_with_unknown_digits_works_and_never_rolls_over() -> None:
    # Given a meter whose digit count billing does not know
    stores = _stores(_meter(digits=None, previous_value=Decimal(99990)))
    # Then its page works, and a lower value is lower-than-previous, never a rollover
    assert [v.meter.id for v in readings_page(RESIDENT, "77777", stores=stores, now=NOW).meters] == [
        "77777.1"
    ]
    result = _save(stores, "12")
    assert result.status is RowStatus.SAVED
    assert [w.code for w in result.warnings] == [WarningCode.LOWER_THAN_PREVIOUS]
    assert result.consumption is None


def test_correcting_a_typo_near_the_top_of_the_dial_is_not_a_rollover() -> None:
    # Given last month's typo 99999 on a 5-digit water meter that uses ~3 m³ a month
    meter = _meter(
        kind=MeterKind.COLD_WATER,
        unit=Unit.CUBIC_METRE,
        organization_id="water",
        digits=5,
        previous_value=Decimal(99999),
        usage=_history(MeterKind.COLD_WATER, ["3"] * 12),
    )
    stores = _stores(meter)
    # When the resident hands in the true value 12
    result = _save(stores, "00012")
    # Then it is saved as lower than previous (with its warning), not as "consumption 13"
    assert result.status is RowStatus.SAVED and result.consumption is None
    assert [w.code for w in result.warnings] == [WarningCode.LOWER_THAN_PREVIOUS]


def test_a_genuine_rollover_is_still_understood() -> None:
    meter = _meter(
        digits=5, previous_value=Decimal(99950), usage=_history(MeterKind.ELECTRICITY, ["100"] * 12)
    )
    result = _save(_stores(meter), "30")
    assert result.status is RowStatus.SAVED and result.consumption == Decimal(80)
    assert [w.code for w in result.warnings] == [WarningCode.ROLLOVER]


# ---- a day's submissions ----------------------------------------------------------------------------


def test_submissions_per_meter_per_day_are_limited_to_what_a_person_does() -> None:
    # Given a resident (or a script) correcting one meter again and again in one day
    stores = _stores(_meter())
    results = [_save(stores, str(6100 + n), now=NOW + timedelta(minutes=n)) for n in range(21)]
    # Then twenty are taken and the twenty-first is refused, with the limit named
    assert [r.status for r in results[:20]] == [RowStatus.SAVED] * 20
    assert results[20].status is RowStatus.REJECTED and results[20].reason == "too_many_today"
    # And the next day the meter takes readings again
    assert _save(stores, "6130", now=NOW + timedelta(days=1)).status is RowStatus.SAVED


# ---- a submission key: retries are the same submission ------------------------------------------------


def test_a_late_retry_of_a_save_does_not_overwrite_the_correction() -> None:
    # Given 6300 saved by one press, then corrected to 6230 by another
    stores = _stores(_meter())
    assert _save(stores, "6300", key="press-1").status is RowStatus.SAVED
    assert _save(stores, "6230", key="press-2", now=NOW + timedelta(minutes=1)).status is RowStatus.SAVED
    # When the first request arrives again (a browser's or a proxy's retry)
    again = _save(stores, "6300", key="press-1", now=NOW + timedelta(minutes=2))
    # Then it is answered as the first time, and the meter keeps the correction
    assert again.status is RowStatus.SAVED and again.value == Decimal(6300)
    assert _stored(stores).current is not None and _stored(stores).current.value == Decimal(6230)
    assert [s.value for s in stores.fake_readings.written] == [Decimal(6300), Decimal(6230)]


def test_a_lost_answer_after_the_write_is_answered_saved() -> None:
    # Given a transaction that DynamoDB applied but whose answer never came back
    stores = _stores(_meter())
    stores.fake_readings.lose_answer = "after"
    # When the resident saves / Then the service finds out it was saved, and says so
    assert _save(stores, "6200", key="press-1").status is RowStatus.SAVED
    assert [s.value for s in stores.fake_readings.written] == [Decimal(6200)]


def test_a_lost_request_is_answered_nothing_saved_for_good() -> None:
    # Given a transaction that never reached DynamoDB
    stores = _stores(_meter())
    stores.fake_readings.lose_answer = "before"
    # When the resident saves / Then "nothing saved", truthfully
    with pytest.raises(StorageUnavailable) as caught:
        _save(stores, "6200", key="press-1")
    assert caught.value.code == "unavailable"
    assert stores.fake_readings.written == []
    # And that attempt can never land later: a delayed copy of it writes nothing
    with pytest.raises(StorageUnavailable):
        _save(stores, "6200", key="press-1")
    assert stores.fake_readings.written == []


# ---- the bot's amount --------------------------------------------------------------------------------


def test_an_implausible_bot_amount_is_asked_back_and_zero_is_fine() -> None:
    stores = _stores(_meter())
    asked = set_bot(RESIDENT, "77777", "77777.1", True, "999999", stores=stores, now=NOW)
    assert asked.status is BotStatus.NEEDS_CONFIRMATION and not _stored(stores).bot_enabled
    confirmed = set_bot(
        RESIDENT, "77777", "77777.1", True, "999999", confirmed="999999", stores=stores, now=NOW
    )
    assert confirmed.status is BotStatus.SAVED and _stored(stores).bot_amount == Decimal(999999)
    zero = set_bot(RESIDENT, "77777", "77777.1", True, "0", stores=stores, now=NOW)
    assert zero.status is BotStatus.SAVED and _stored(stores).bot_amount == Decimal(0)
    assert (
        set_bot(RESIDENT, "77777", "77777.1", True, "150", stores=stores, now=NOW).status is BotStatus.SAVED
    )


def test_an_empty_bot_amount_is_not_a_silent_zero() -> None:
    stores = _stores(_meter())
    with pytest.raises(InvalidValue) as caught:
        set_bot(RESIDENT, "77777", "77777.1", True, "  ", stores=stores, now=NOW)
    assert caught.value.code == "amount_missing"
    # Switching off needs no amount, and keeps the one on record
    off = set_bot(RESIDENT, "77777", "77777.1", False, "", stores=stores, now=NOW)
    assert off.status is BotStatus.SAVED and not _stored(stores).bot_enabled


def test_a_page_loaded_before_a_resealing_cannot_switch_the_bot_back_on() -> None:
    # Given a bot-on meter, shown to the resident at seal epoch 0, then re-sealed by an operator
    stores = _stores(_meter(bot_enabled=True, bot_amount=Decimal(150)))
    meter_service.record_seal("77777", "77777.1", 1, stores=stores, now=NOW)
    # When the old page switches the bot on again
    with pytest.raises(Conflict) as caught:
        set_bot(RESIDENT, "77777", "77777.1", True, "150", seal_epoch=0, stores=stores, now=NOW)
    # Then it is refused, and the bot stays off
    assert caught.value.code == "meter_resealed" and not _stored(stores).bot_enabled
    # And the linked people were told, in their next conversation, that the bot went off
    for person in ("p-1", "p-2"):
        assert [n.code for n in stores.people.notices(person)] == [NoticeCode.BOT_OFF_RESEALED]


def test_a_resealed_meters_opening_value_is_the_next_readings_baseline() -> None:
    # Given a meter replaced by a new one showing 12 (the old one showed 6000)
    stores = _stores(_meter())
    meter_service.record_seal("77777", "77777.1", 1, opening=Decimal(12), stores=stores, now=NOW)
    # When the first reading of the new dial comes / Then it is not "lower than previous"
    result = _save(stores, "40")
    assert result.status is RowStatus.SAVED and result.warnings == () and result.consumption == Decimal(28)
    # And a replay of the same re-sealing changes nothing
    again = meter_service.record_seal("77777", "77777.1", 1, opening=Decimal(0), stores=stores, now=NOW)
    assert again.opening_value == Decimal(12)


# ---- history: paged, and the months kept whatever the corrections -------------------------------


def test_history_is_paged_and_the_months_survive_many_corrections() -> None:
    # Given many corrections in this month's window, spread over its four days (16 a day)
    stores = _stores(_meter())
    opened = datetime(2019, 7, 30, 22, 0, tzinfo=UTC)  # 01:00 on the 31st in Kyiv
    for n in range(60):
        assert _save(stores, str(6100 + n), now=opened + timedelta(minutes=90 * n)).status is RowStatus.SAVED
    # When the history is read
    first = meter_history(RESIDENT, "77777", "77777.1", page_size=50, stores=stores, now=NOW)
    second = meter_history(
        RESIDENT, "77777", "77777.1", before=first.next, page_size=50, stores=stores, now=NOW
    )
    # Then it comes in pages, newest first, and the month's winner is the last correction
    assert len(first.submissions) == 50 and first.submissions[0].value == Decimal(6159)
    assert len(second.submissions) == 10 and second.next is None
    assert [(m.billing_month, m.value) for m in first.months] == [(JULY, Decimal(6159))]


def test_a_malformed_history_cursor_or_account_number_is_a_bad_request() -> None:
    stores = _stores(_meter())
    with pytest.raises(InvalidRequest):
        meter_history(RESIDENT, "77777", "77777.1", before="MTR#other", stores=stores, now=NOW)
    with pytest.raises(InvalidRequest):
        readings_page(RESIDENT, "7" * 2000, stores=stores, now=NOW)


# ---- window rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opens", "closes"),
    [
        ((0, 31), (1, 30)),  # looks a day short of a month, overlaps the next window in short months
        ((0, 5), (0, 1)),  # closes before it opens
        ((2, 1), (2, 5)),  # opens two months later
        ((0, 1), (1, 1)),  # a whole month
    ],
)
def test_window_rules_that_would_answer_wrongly_are_refused(
    opens: tuple[int, int], closes: tuple[int, int]
) -> None:
    with pytest.raises(ValueError):
        WindowRule(DayOfMonth(*opens), DayOfMonth(*closes))
