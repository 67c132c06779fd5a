"""The meter as a value: what a new reading is compared with, how a winning reading moves it on."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ekc.domain.identity import Channel, Origin
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Meter, Submission
from ekc.domain.months import Month

JUNE, JULY, AUGUST = Month(2019, 6), Month(2019, 7), Month(2019, 8)


def submission(month: Month, value: str, channel: Channel = Channel.WEB, day: int = 1) -> Submission:
    """A reading of meter m-1 for `month`."""
    return Submission(
        meter_id="m-1",
        billing_month=month,
        value=Decimal(value),
        at=datetime(month.plus(1).year, month.plus(1).month, day, 12, tzinfo=UTC),
        origin=Origin(channel, "p-1", ip="192.0.2.1"),
    )


def meter(**changes: object) -> Meter:
    """The seed's gas meter 002352 on account 77777."""
    base = Meter(
        id="m-1",
        account="77777",
        kind=MeterKind.GAS,
        unit=Unit.CUBIC_METRE,
        organization_id="gas",
        digits=5,
        serial="002352",
        previous_value=Decimal("6116.000"),
        previous_month=JUNE,
    )
    return replace(base, **changes)


# ---- baseline_for -------------------------------------------------------------------------------------


def test_meter_baseline_without_current_is_the_previous_reading() -> None:
    # Given a meter with only a previous reading (June)
    m = meter()
    # When a July value is compared / Then it is compared with June's
    assert m.baseline_for(JULY) == (Decimal("6116.000"), JUNE)


def test_meter_baseline_for_the_current_month_skips_its_own_reading() -> None:
    # Given July's reading already given once
    m = meter(current=submission(JULY, "6130"))
    # When July's reading is given again (last wins)
    # Then the new value is compared with June's, not with the July value it replaces
    assert m.baseline_for(JULY) == (Decimal("6116.000"), JUNE)


def test_meter_baseline_for_a_later_month_is_the_current_reading() -> None:
    # Given July's reading, and August's window now open
    m = meter(current=submission(JULY, "6130"))
    # When an August value is compared / Then it is compared with July's
    assert m.baseline_for(AUGUST) == (Decimal("6130"), JULY)


def test_meter_baseline_of_a_new_meter_is_nothing() -> None:
    # Given a meter with no reading at all
    m = meter(previous_value=None, previous_month=None)
    # Then there is nothing to compare a first value with
    assert m.baseline_for(JULY) == (None, None)


# ---- with_reading -------------------------------------------------------------------------------------


def test_meter_with_first_reading_of_a_month_sets_current_only() -> None:
    # Given a meter with no current reading
    m = meter()
    july = submission(JULY, "6130")
    # When July's reading wins
    after = m.with_reading(july)
    # Then it is the current one and June stays the previous
    assert after.current == july
    assert (after.previous_value, after.previous_month) == (Decimal("6116.000"), JUNE)


def test_meter_with_a_second_reading_of_the_same_month_replaces_current() -> None:
    # Given July's reading
    m = meter(current=submission(JULY, "6130"))
    later = submission(JULY, "6131.5", Channel.VIBER, day=2)
    # When a later July reading wins
    after = m.with_reading(later)
    # Then it replaces the current one; previous is still June's, so July's first try is not a baseline
    assert after.current == later
    assert (after.previous_value, after.previous_month) == (Decimal("6116.000"), JUNE)


def test_meter_with_a_reading_of_a_new_month_moves_current_to_previous() -> None:
    # Given July's reading
    m = meter(current=submission(JULY, "6130"))
    august = submission(AUGUST, "6142")
    # When August's reading wins
    after = m.with_reading(august)
    # Then July's becomes the previous reading and August's the current one
    assert after.current == august
    assert (after.previous_value, after.previous_month) == (Decimal("6130"), JULY)
    assert after.baseline_for(AUGUST) == (Decimal("6130"), JULY)


def test_meter_with_reading_leaves_the_original_untouched() -> None:
    # Given a meter
    m = meter(current=submission(JULY, "6130"), bot_enabled=True, bot_amount=Decimal(12))
    # When a reading wins
    after = m.with_reading(submission(AUGUST, "6142"))
    # Then the meter it came from is unchanged (and cannot be changed), and the bot settings carry over
    assert m.current == submission(JULY, "6130")
    assert m.previous_month == JUNE
    assert (after.bot_enabled, after.bot_amount) == (True, Decimal(12))
    with pytest.raises(FrozenInstanceError):
        m.bot_enabled = False  # type: ignore[misc]


# ---- with_seal_epoch -----------------------------------------------------------------------------------


def test_meter_new_seal_epoch_switches_the_bot_off() -> None:
    # Given a meter whose bot is on with 12 m³ a month
    m = meter(bot_enabled=True, bot_amount=Decimal(12), seal_epoch=1)
    # When it is verified or re-sealed
    after = m.with_seal_epoch(2)
    # Then the bot is off until the resident turns it on again; the amount is remembered
    assert after.bot_enabled is False
    assert after.seal_epoch == 2
    assert after.bot_amount == Decimal(12)
    assert m.bot_enabled is True


def test_meter_same_seal_epoch_leaves_the_bot_alone() -> None:
    # Given a meter whose bot is on
    m = meter(bot_enabled=True, bot_amount=Decimal(12), seal_epoch=3)
    # When the same seal epoch is applied again (a replayed import)
    after = m.with_seal_epoch(3)
    # Then nothing changes
    assert after == m
    assert after.bot_enabled is True


def test_meter_bot_turned_on_after_resealing_stays_on_for_that_epoch() -> None:
    # Given a re-sealed meter whose resident turned the bot on again
    m = replace(meter(bot_enabled=True, seal_epoch=1).with_seal_epoch(2), bot_enabled=True)
    # When the same seal is reported again / Then the bot stays on
    assert m.with_seal_epoch(2).bot_enabled is True
    # and a further re-sealing switches it off again
    assert m.with_seal_epoch(3).bot_enabled is False
