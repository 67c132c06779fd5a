"""Submission windows: the seed's examples, the exact edges, short months and Kyiv's clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ekc.channels.ukrainian import seed_time
from ekc.channels.web import window_label
from ekc.domain.months import Month
from ekc.domain.windows import KYIV, DayOfMonth, WindowRule, last_closed, window_state

# The seed: readings for 07/2019 go in from 31/07/2019 00:00:00 to 03/08/2019 23:59:59 (electricity)
# or to 05/08/2019 23:59:59 (gas), Kyiv time.
ELECTRICITY = WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3))
GAS = WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 5))
ONE_SECOND = timedelta(seconds=1)


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A Kyiv wall-clock moment (never one of the ambiguous or skipped hours of a clock change)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=KYIV)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---- the seed's windows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "opens_utc", "ends_utc"),
    [
        (ELECTRICITY, utc(2019, 7, 30, 21), utc(2019, 8, 3, 21)),
        (GAS, utc(2019, 7, 30, 21), utc(2019, 8, 5, 21)),
    ],
    ids=["electricity", "gas"],
)
def test_window_rule_bounds_are_the_seeds_kyiv_midnights(
    rule: WindowRule, opens_utc: datetime, ends_utc: datetime
) -> None:
    # Given the seed's rule and July 2019 (Kyiv is UTC+3 in summer)
    # When its bounds are computed
    start, end = rule.bounds(Month(2019, 7))
    # Then the window opens at local midnight of 31/07 and ends at the local midnight after its last day
    assert start == opens_utc
    assert end == ends_utc
    assert start.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        (ELECTRICITY, "за 07/2019 вносяться в період з 31/07/2019 00:00:00 по 03/08/2019 23:59:59"),
        (GAS, "за 07/2019 вносяться в період з 31/07/2019 00:00:00 по 05/08/2019 23:59:59"),
    ],
    ids=["electricity", "gas"],
)
def test_window_state_label_reads_like_the_seed(rule: WindowRule, label: str) -> None:
    # Given a moment inside the July 2019 window
    # When the state is asked for
    state = window_state(rule, kyiv(2019, 8, 1, 12))
    # Then residents are told the window exactly as the seed prints it
    assert state.open is True
    assert window_label(state) == label


@pytest.mark.parametrize(
    ("rule", "moment", "is_open", "billing_month", "opens_at", "closes_at"),
    [
        # One second before the opening: closed, and the July window is the next one.
        (ELECTRICITY, kyiv(2019, 7, 30, 23, 59, 59), False, Month(2019, 7), kyiv(2019, 7, 31), None),
        (ELECTRICITY, kyiv(2019, 7, 31), True, Month(2019, 7), kyiv(2019, 7, 31), None),
        (ELECTRICITY, kyiv(2019, 8, 3, 23, 59, 59), True, Month(2019, 7), kyiv(2019, 7, 31), None),
        # One second after the last second: closed, the August window is next.
        (
            ELECTRICITY,
            kyiv(2019, 8, 4),
            False,
            Month(2019, 8),
            kyiv(2019, 8, 31),
            kyiv(2019, 9, 3, 23, 59, 59),
        ),
        (GAS, kyiv(2019, 7, 30, 23, 59, 59), False, Month(2019, 7), kyiv(2019, 7, 31), None),
        (GAS, kyiv(2019, 7, 31), True, Month(2019, 7), kyiv(2019, 7, 31), None),
        # Electricity has closed, gas is still open.
        (GAS, kyiv(2019, 8, 4, 12), True, Month(2019, 7), kyiv(2019, 7, 31), None),
        (GAS, kyiv(2019, 8, 5, 23, 59, 59), True, Month(2019, 7), kyiv(2019, 7, 31), None),
        (GAS, kyiv(2019, 8, 6), False, Month(2019, 8), kyiv(2019, 8, 31), kyiv(2019, 9, 5, 23, 59, 59)),
    ],
    ids=[
        "electricity-second-before-opening",
        "electricity-first-second",
        "electricity-last-second",
        "electricity-second-after-close",
        "gas-second-before-opening",
        "gas-first-second",
        "gas-after-electricity-closed",
        "gas-last-second",
        "gas-second-after-close",
    ],
)
def test_window_state_at_the_exact_edges(
    rule: WindowRule,
    moment: datetime,
    is_open: bool,
    billing_month: Month,
    opens_at: datetime,
    closes_at: datetime | None,
) -> None:
    # Given a seed rule and a moment at (or one second off) an edge of the July 2019 window
    # When the state is asked for
    state = window_state(rule, moment)
    # Then it is open or closed as the seed says, for the right billing month
    assert state.open is is_open
    assert state.billing_month == billing_month
    assert state.opens_at == opens_at
    if closes_at is not None:
        assert state.closes_at == closes_at


def test_window_state_edges_hold_for_utc_moments() -> None:
    # Given moments given in UTC around the July 2019 opening (Kyiv midnight is 21:00 UTC)
    before = utc(2019, 7, 30, 20, 59, 59)
    first = utc(2019, 7, 30, 21)
    # When / Then the zone of the input does not matter, only the instant
    assert window_state(ELECTRICITY, before).open is False
    assert window_state(ELECTRICITY, first).open is True
    assert window_state(ELECTRICITY, first).billing_month == Month(2019, 7)


def test_window_state_closes_at_is_the_last_second_and_ends_at_the_next() -> None:
    # Given the open July 2019 electricity window
    state = window_state(ELECTRICITY, kyiv(2019, 8, 2))
    # Then closes_at is 23:59:59 of the closing day and ends_at one second later
    assert state.closes_at == kyiv(2019, 8, 3, 23, 59, 59)
    assert state.ends_at - state.closes_at == ONE_SECOND
    assert seed_time(state.closes_at) == "03/08/2019 23:59:59"


@pytest.mark.parametrize(
    ("moment", "is_open", "billing_month", "opens_at"),
    [
        # Mid-August: the August window opens on the 31st.
        (kyiv(2019, 8, 15), False, Month(2019, 8), kyiv(2019, 8, 31)),
        # Early January: the December window (opened 31/12) is still open, for 12/2019.
        (kyiv(2020, 1, 2, 10), True, Month(2019, 12), kyiv(2019, 12, 31)),
        # Mid-January: the December window has closed; the next opens on 31/01/2020.
        (kyiv(2020, 1, 10), False, Month(2020, 1), kyiv(2020, 1, 31)),
        # New Year's Eve midnight opens the December window.
        (kyiv(2019, 12, 31), True, Month(2019, 12), kyiv(2019, 12, 31)),
    ],
    ids=["mid-month", "december-window-in-january", "after-december-window", "new-years-eve"],
)
def test_window_state_names_the_billing_month_and_next_opening(
    moment: datetime, is_open: bool, billing_month: Month, opens_at: datetime
) -> None:
    # Given the electricity rule and a moment
    # When the state is asked for
    state = window_state(ELECTRICITY, moment)
    # Then an open window names the month it takes readings for, a closed one when the next opens
    assert state.open is is_open
    assert state.billing_month == billing_month
    assert state.opens_at == opens_at
    if not is_open:
        assert state.opens_at > moment


def test_window_state_when_closed_points_to_a_future_window_every_day_of_a_year() -> None:
    # Given every noon of 2019
    day = kyiv(2019, 1, 1, 12)
    while day.year == 2019:
        # When the state is asked for
        state = window_state(ELECTRICITY, day)
        # Then it is either open around now or names a window that opens later, never one in the past
        if state.open:
            assert state.opens_at <= day < state.ends_at
        else:
            assert day < state.opens_at
            # and no window opened in between: the previous month's window has already ended
            _, previous_end = ELECTRICITY.bounds(state.billing_month.plus(-1))
            assert previous_end <= day
        day = (day + timedelta(days=1)).replace(hour=12)


# ---- short months -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "billing_month", "expected"),
    [
        (DayOfMonth(0, 31), Month(2019, 2), date(2019, 2, 28)),
        (DayOfMonth(0, 31), Month(2020, 2), date(2020, 2, 29)),
        (DayOfMonth(0, 31), Month(2100, 2), date(2100, 2, 28)),  # not a leap year
        (DayOfMonth(0, 31), Month(2000, 2), date(2000, 2, 29)),  # a leap year
        (DayOfMonth(1, 31), Month(2019, 1), date(2019, 2, 28)),
        (DayOfMonth(1, 30), Month(2024, 1), date(2024, 2, 29)),
        (DayOfMonth(0, 31), Month(2019, 4), date(2019, 4, 30)),
        (DayOfMonth(0, 31), Month(2019, 6), date(2019, 6, 30)),
        (DayOfMonth(0, 31), Month(2019, 9), date(2019, 9, 30)),
        (DayOfMonth(0, 31), Month(2019, 11), date(2019, 11, 30)),
        (DayOfMonth(0, 31), Month(2019, 7), date(2019, 7, 31)),
        (DayOfMonth(1, 5), Month(2019, 12), date(2020, 1, 5)),
    ],
)
def test_day_of_month_clamps_to_the_months_length(
    day: DayOfMonth, billing_month: Month, expected: date
) -> None:
    # Given a day counted from a billing month
    # When it is placed in the calendar
    # Then day 31 of a short month is its last day, and the offset may cross the year
    assert day.date_in(billing_month) == expected


@pytest.mark.parametrize(
    ("moment", "is_open", "billing_month", "opens_at"),
    [
        # 2019 is not a leap year: the February window opens on the 28th.
        (kyiv(2019, 2, 15), False, Month(2019, 2), kyiv(2019, 2, 28)),
        (kyiv(2019, 2, 27, 23, 59, 59), False, Month(2019, 2), kyiv(2019, 2, 28)),
        (kyiv(2019, 2, 28), True, Month(2019, 2), kyiv(2019, 2, 28)),
        (kyiv(2019, 3, 3, 23, 59, 59), True, Month(2019, 2), kyiv(2019, 2, 28)),
        # 2020 is: the window opens on the 29th, so the 28th is still closed.
        (kyiv(2020, 2, 28, 12), False, Month(2020, 2), kyiv(2020, 2, 29)),
        (kyiv(2020, 2, 29), True, Month(2020, 2), kyiv(2020, 2, 29)),
        # 30-day months open on the 30th.
        (kyiv(2019, 6, 29, 23, 59, 59), False, Month(2019, 6), kyiv(2019, 6, 30)),
        (kyiv(2019, 6, 30), True, Month(2019, 6), kyiv(2019, 6, 30)),
        (kyiv(2019, 4, 30, 8), True, Month(2019, 4), kyiv(2019, 4, 30)),
        (kyiv(2019, 9, 15), False, Month(2019, 9), kyiv(2019, 9, 30)),
    ],
)
def test_window_state_clamps_day_31_in_short_months(
    moment: datetime, is_open: bool, billing_month: Month, opens_at: datetime
) -> None:
    # Given the electricity rule, which opens on day 31
    # When the state is asked for in a shorter month
    state = window_state(ELECTRICITY, moment)
    # Then the window opens on that month's last day
    assert state.open is is_open
    assert state.billing_month == billing_month
    assert state.opens_at == opens_at


def test_window_rule_clamps_the_closing_day_too() -> None:
    # Given a rule whose window runs from the 28th to day 31 of the same month
    rule = WindowRule(DayOfMonth(0, 28), DayOfMonth(0, 31))
    # When its bounds are computed for February 2019 and April 2019
    # Then February's window is the single day 28/02, April's ends after 30/04
    assert rule.bounds(Month(2019, 2)) == (kyiv(2019, 2, 28), kyiv(2019, 3, 1))
    assert rule.bounds(Month(2019, 4)) == (kyiv(2019, 4, 28), kyiv(2019, 5, 1))


# ---- Kyiv's clock changes (UTC+2 in winter, UTC+3 in summer) ------------------------------------------


@pytest.mark.parametrize(
    ("rule", "billing_month", "opens_utc", "ends_utc", "hours"),
    [
        # Last Sunday of March 2019 is the 31st: the window opens at midnight, still winter time,
        # and the clocks go forward at 03:00 that very night.
        (ELECTRICITY, Month(2019, 3), utc(2019, 3, 30, 22), utc(2019, 4, 3, 21), 4 * 24 - 1),
        # Last Sunday of March 2024 is the 31st as well.
        (GAS, Month(2024, 3), utc(2024, 3, 30, 22), utc(2024, 4, 5, 21), 6 * 24 - 1),
        # Last Sunday of October 2021 is the 31st: midnight is still summer time, the close is winter time.
        (ELECTRICITY, Month(2021, 10), utc(2021, 10, 30, 21), utc(2021, 11, 3, 22), 4 * 24 + 1),
        # A window around the last Sunday of October 2019 (the 27th).
        (
            WindowRule(DayOfMonth(0, 25), DayOfMonth(0, 31)),
            Month(2019, 10),
            utc(2019, 10, 24, 21),
            utc(2019, 10, 31, 22),
            7 * 24 + 1,
        ),
        # A window around the last Sunday of March 2019 that closes that very day.
        (
            WindowRule(DayOfMonth(0, 25), DayOfMonth(0, 31)),
            Month(2019, 3),
            utc(2019, 3, 24, 22),
            utc(2019, 3, 31, 21),
            7 * 24 - 1,
        ),
    ],
    ids=["march-2019", "march-2024-gas", "october-2021", "october-2019", "march-2019-closing-day"],
)
def test_window_rule_bounds_across_a_clock_change_are_local_midnights(
    rule: WindowRule, billing_month: Month, opens_utc: datetime, ends_utc: datetime, hours: int
) -> None:
    # Given a window that spans a change between UTC+2 and UTC+3
    # When its bounds are computed
    start, end = rule.bounds(billing_month)
    # Then both bounds are local midnights, so the window is an hour shorter (spring) or longer (autumn)
    assert start == opens_utc
    assert end == ends_utc
    assert start.astimezone(KYIV).time() == end.astimezone(KYIV).time() == datetime.min.time()
    # (Aware datetimes of one zone subtract as wall-clock times in Python: compare in UTC.)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (utc(2019, 3, 30, 21, 59, 59), False),
        (utc(2019, 3, 30, 22), True),
        # 23:59:59 on 03/04/2019 in summer time is 20:59:59 UTC, not 21:59:59.
        (utc(2019, 4, 3, 20, 59, 59), True),
        (utc(2019, 4, 3, 21), False),
        (utc(2021, 10, 30, 20, 59, 59), False),
        (utc(2021, 10, 30, 21), True),
        # 23:59:59 on 03/11/2021 in winter time is 21:59:59 UTC.
        (utc(2021, 11, 3, 21, 59, 59), True),
        (utc(2021, 11, 3, 22), False),
    ],
)
def test_window_state_edges_across_a_clock_change(moment: datetime, is_open: bool) -> None:
    # Given the electricity rule and UTC moments one second around edges that straddle a clock change
    # When the state is asked for
    state = window_state(ELECTRICITY, moment)
    # Then the edges fall on the local midnights, whichever offset applied then
    assert state.open is is_open


def test_window_state_label_after_a_clock_change_shows_local_times() -> None:
    # Given the October 2021 electricity window, which opens in summer and closes in winter time
    state = window_state(ELECTRICITY, utc(2021, 11, 1, 12))
    # Then residents see the local wall-clock times
    assert window_label(state) == "за 10/2021 вносяться в період з 31/10/2021 00:00:00 по 03/11/2021 23:59:59"
    assert state.opens_at.utcoffset() == timedelta(hours=3)
    assert state.closes_at.utcoffset() == timedelta(hours=2)


# ---- refusals -------------------------------------------------------------------------------------------


def test_window_state_refuses_naive_datetimes() -> None:
    # Given a datetime without a zone: it could be Kyiv, UTC or the server's clock
    naive = datetime(2019, 8, 1, 12)
    # When / Then the state refuses to guess
    with pytest.raises(ValueError, match="timezone-aware"):
        window_state(ELECTRICITY, naive)


@pytest.mark.parametrize(
    ("opens", "closes"),
    [
        (DayOfMonth(1, 5), DayOfMonth(1, 3)),
        (DayOfMonth(0, 31), DayOfMonth(0, 30)),
        (DayOfMonth(1, 1), DayOfMonth(0, 31)),
    ],
)
def test_window_rule_refuses_windows_that_close_before_they_open(
    opens: DayOfMonth, closes: DayOfMonth
) -> None:
    # Given a closing day before the opening day
    # When / Then the rule cannot be made
    with pytest.raises(ValueError, match="close after it opens"):
        WindowRule(opens, closes)


@pytest.mark.parametrize("day", [0, 32, -1])
def test_window_rule_refuses_days_outside_a_month(day: int) -> None:
    # Given a day that no month has
    # When / Then the rule cannot be made, whichever end it is
    with pytest.raises(ValueError, match=r"1\.\.31"):
        WindowRule(DayOfMonth(0, day), DayOfMonth(1, 3))
    with pytest.raises(ValueError, match=r"1\.\.31"):
        WindowRule(DayOfMonth(0, 1), DayOfMonth(0, day))


def test_window_rule_refuses_windows_spanning_more_than_the_next_month() -> None:
    # Given a window that would close two months after it opens
    # When / Then the rule cannot be made
    with pytest.raises(ValueError, match="overlap"):
        WindowRule(DayOfMonth(0, 1), DayOfMonth(2, 1))


def test_window_rule_refuses_windows_that_overlap_the_next_months() -> None:
    # Given a window from day 1 of M to day 15 of M+1: longer than a month, so for the first half of
    # every month the windows of M-1 and M would both be open and a reading could go to either
    # When / Then the rule cannot be made ("a window longer than a month would overlap the next one")
    with pytest.raises(ValueError, match="overlap"):
        WindowRule(DayOfMonth(0, 1), DayOfMonth(1, 15))


def test_window_rule_accepts_a_one_day_window() -> None:
    # Given a window that opens and closes on the same day
    rule = WindowRule(DayOfMonth(0, 31), DayOfMonth(0, 31))
    # Then it lasts exactly that local day
    assert rule.bounds(Month(2019, 7)) == (kyiv(2019, 7, 31), kyiv(2019, 8, 1))


# ---- the most recent closed window (for the closing job and the bots) -------------------------------


@pytest.mark.parametrize(
    ("moment", "billing_month"),
    [
        (kyiv(2019, 8, 4), Month(2019, 7)),
        (kyiv(2019, 8, 3, 23, 59, 59), Month(2019, 6)),
        (kyiv(2019, 8, 20), Month(2019, 7)),
        (kyiv(2020, 1, 4), Month(2019, 12)),
    ],
    ids=["first-second-after-close", "last-second-before-close", "mid-month", "year-turn"],
)
def test_last_closed_is_the_most_recent_window_that_has_ended(moment: datetime, billing_month: Month) -> None:
    # Given the electricity rule and a moment
    # When the closing job asks which window has closed last
    state = last_closed(ELECTRICITY, moment)
    # Then it is the latest window whose end is not after the moment
    assert state.open is False
    assert state.billing_month == billing_month
    assert state.ends_at <= moment
    assert ELECTRICITY.bounds(billing_month.plus(1))[1] > moment
