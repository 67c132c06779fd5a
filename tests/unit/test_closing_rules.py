"""The pure rules of a window's close: which windows have closed, what a bot records, which reading counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ekc.channels import export
from ekc.domain.closing import BotSkip, bot_reading, closed_windows, month_result, needs_history
from ekc.domain.identity import Channel, Origin
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Meter, Submission
from ekc.domain.months import Month
from ekc.domain.values import Warning, WarningCode
from ekc.domain.windows import KYIV, DayOfMonth, WindowRule

RULE = WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3))  # the seed's electricity: 31st..3rd
OCT, SEP, NOV = Month(2026, 10), Month(2026, 9), Month(2026, 11)
AT = datetime(2026, 11, 3, 22, 5, tzinfo=UTC)  # Kyiv 2026-11-04 00:05, after October's window


def _meter(**changes: object) -> Meter:
    base = Meter(
        id="77777.1",
        account="77777",
        kind=MeterKind.ELECTRICITY,
        unit=Unit.KILOWATT_HOUR,
        organization_id="el",
        digits=6,
        serial="0011",
        previous_value=Decimal("6116.000"),
        previous_month=SEP,
        bot_enabled=True,
        bot_amount=Decimal("150.500"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _reading(
    value: str, month: Month, at: datetime, origin: Origin | None = None, **kw: object
) -> Submission:
    return Submission("77777.1", month, Decimal(value), at, origin or Origin.viber("p-1"), **kw)  # type: ignore[arg-type]


def test_closed_windows_are_the_most_recent_after_the_grace() -> None:
    # Given October's electricity window, which ends at Kyiv midnight of 4 November
    end = datetime(2026, 11, 4, 0, 0, tzinfo=KYIV)
    # When asked 10 seconds after it ended, with a 30 second grace
    early = closed_windows(RULE, end + timedelta(seconds=10), 2, timedelta(seconds=30))
    # Then October is not yet among them, September and August are
    assert [w.billing_month for w in early] == [SEP, Month(2026, 8)]
    # And a minute after, October is the newest
    later = closed_windows(RULE, end + timedelta(minutes=1), 2, timedelta(seconds=30))
    assert [w.billing_month for w in later] == [OCT, SEP]
    assert later[0].ends_at == end and not later[0].open


def test_bot_reading_is_previous_plus_amount_through_the_bots_channel() -> None:
    # Given a meter whose last reading is September's 6116
    reading = bot_reading(_meter(), OCT, AT)
    # Then October's bot reading is 6116 + 150.5, from the bot, with that consumption
    assert isinstance(reading, Submission)
    assert (reading.value, reading.consumption, reading.billing_month) == (
        Decimal("6266.500"),
        Decimal("150.500"),
        OCT,
    )
    assert reading.channel is Channel.BOT and reading.at == AT and reading.warnings == ()


def test_bot_reading_builds_on_the_current_reading_of_an_earlier_month() -> None:
    # Given a meter showing September's reading handed in by the resident (August before it)
    meter = _meter(
        previous_value=Decimal(6000), previous_month=Month(2026, 8), current=_reading("6100", SEP, AT)
    )
    # Then October's bot adds to September's reading
    reading = bot_reading(meter, OCT, AT)
    assert isinstance(reading, Submission) and reading.value == Decimal("6250.500")


def test_bot_reading_goes_round_a_full_dial() -> None:
    # Given a 4-digit dial at 9990 and a monthly amount of 20
    meter = _meter(digits=4, previous_value=Decimal(9990), bot_amount=Decimal(20))
    reading = bot_reading(meter, OCT, AT)
    # Then the bot records 10 with a rollover, and a consumption of 20
    assert isinstance(reading, Submission)
    assert (reading.value, reading.consumption) == (Decimal(10), Decimal(20))
    assert [w.code for w in reading.warnings] == [WarningCode.ROLLOVER]


def test_bot_reading_skips_a_month_with_a_reading_no_previous_or_a_bot_off() -> None:
    # A reading of October (the resident's), or of a later month
    assert bot_reading(_meter(current=_reading("6200", OCT, AT)), OCT, AT) is BotSkip.HAS_READING
    assert bot_reading(_meter(current=_reading("6300", NOV, AT)), OCT, AT) is BotSkip.HAS_READING
    # A previous reading that already is October's (a meter loaded by billing with it)
    assert bot_reading(_meter(previous_month=OCT), OCT, AT) is BotSkip.HAS_READING
    # Nothing to add to
    assert bot_reading(_meter(previous_value=None, previous_month=None), OCT, AT) is BotSkip.NO_PREVIOUS
    # The bot switched off (or re-sealed) since the index listed the meter
    assert bot_reading(_meter(bot_enabled=False), OCT, AT) is BotSkip.BOT_OFF
    # Billing no longer lists the meter
    assert bot_reading(_meter(retired_on=date(2026, 10, 20)), OCT, AT) is BotSkip.RETIRED
    # An operator took the opening value of a replaced dial in October: that is October's
    assert bot_reading(_meter(opening_value=Decimal(5), opening_month=OCT), OCT, AT) is BotSkip.HAS_READING


def test_month_result_takes_the_current_reading_of_that_month() -> None:
    # Given a meter showing October's reading, with September's before it
    current = _reading("6200", OCT, AT, consumption=Decimal(84))
    result = month_result(_meter(current=current), OCT)
    # Then that is the month's result, compared with September's
    assert (result.reading, result.previous, result.previous_month) == (current, Decimal(6116), SEP)
    # And a month it has no reading for says so, with the reading before it
    nothing = month_result(_meter(), OCT)
    assert (nothing.reading, nothing.previous, nothing.previous_month) == (None, Decimal(6116), SEP)


def test_month_result_of_a_meter_that_moved_on_comes_from_its_history() -> None:
    # Given a meter already showing November, October's winner and loser, and September's in history
    sep = _reading("6116", SEP, AT - timedelta(days=30))
    first = _reading("6190", OCT, AT - timedelta(days=2))
    winner = _reading("6200", OCT, AT - timedelta(days=1), consumption=Decimal(84))
    meter = _meter(previous_value=Decimal(6200), previous_month=OCT, current=_reading("6300", NOV, AT))
    assert needs_history(meter, OCT)
    # When October's result is asked with the history, newest first
    result = month_result(meter, OCT, [meter.current, winner, first, sep])  # type: ignore[list-item]
    # Then the last one handed in within October counts, compared with September's
    assert (result.reading, result.previous, result.previous_month) == (winner, Decimal(6116), SEP)


def test_export_row_says_what_the_month_got_and_how() -> None:
    # Given October's bot reading with a rollover, and a meter with no reading
    bot = _reading("10", OCT, AT, Origin.bot(), consumption=Decimal(20))
    bot = replace(bot, warnings=(Warning(WarningCode.ROLLOVER, {}),))
    row = export.row(_meter(current=bot), OCT, month_result(_meter(current=bot), OCT))
    # Then its line has the values as the cabinet shows them, Kyiv time, and both flags
    assert dict(zip(export.COLUMNS, row, strict=True)) == {
        "billing_month": "2026-10",
        "account": "77777",
        "meter_id": "77777.1",
        "meter_serial": "0011",
        "kind": "electricity",
        "unit": "kWh",
        "previous_value": "6116.000",
        "previous_month": "2026-09",
        "value": "10.000",
        "consumption": "20.000",
        "status": "reading",
        "channel": "bot",
        "submitted_at": "2026-11-04T00:05:00+02:00",
        "flags": "rollover;bot",
    }
    empty = dict(
        zip(export.COLUMNS, export.row(_meter(serial=None), OCT, month_result(_meter(), OCT)), strict=True)
    )
    assert (empty["status"], empty["value"], empty["channel"], empty["meter_serial"]) == (
        "no_reading",
        "",
        "",
        "",
    )
