"""Submission windows: when each organization takes readings for a billing month, in Kyiv time."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ekc.domain.months import Month

KYIV = ZoneInfo("Europe/Kyiv")


@dataclass(frozen=True, slots=True)
class DayOfMonth:
    """A day counted from the billing month: offset 0 is the month itself, 1 the next one."""

    month_offset: int
    day: int

    def date_in(self, billing_month: Month) -> date:
        """The calendar date, clamped to the month's length (day 31 of June is June 30)."""
        month = billing_month.plus(self.month_offset)
        last = calendar.monthrange(month.year, month.month)[1]
        return date(month.year, month.month, min(self.day, last))


@dataclass(frozen=True, slots=True)
class WindowRule:
    """Readings for month M go in from `opens` 00:00:00 to `closes` 23:59:59, Kyiv time."""

    opens: DayOfMonth
    closes: DayOfMonth

    def __post_init__(self) -> None:
        if not (1 <= self.opens.day <= 31 and 1 <= self.closes.day <= 31):
            raise ValueError("window days must be 1..31")
        # `window_state` looks two months either side: a window opens in M or M+1, closes by M+2.
        if self.opens.month_offset not in (0, 1) or self.closes.month_offset not in (0, 1, 2):
            raise ValueError("a window opens in its billing month or the next, and closes by the one after")
        if (self.closes.month_offset, self.closes.day) < (self.opens.month_offset, self.opens.day):
            raise ValueError("a window must close after it opens")
        if (self.closes.month_offset, self.closes.day) >= (self.opens.month_offset + 1, self.opens.day):
            raise ValueError("a window of a month or longer would overlap the next month's")
        # Days past a month's end are clamped, so a rule that looks shorter than a month (31st to 30th)
        # may still touch the next window in short months: try every pattern of month lengths.
        for month in (Month(2023, 1).plus(n) for n in range(24)):  # a common and a leap year
            closes, next_opens = self.closes.date_in(month), self.opens.date_in(month.plus(1))
            if closes < self.opens.date_in(month) or closes >= next_opens:
                raise ValueError(f"the window for {month} would overlap the next one or be empty")

    def bounds(self, billing_month: Month) -> tuple[datetime, datetime]:
        """Aware datetimes: the first instant inside the window and the first instant after it."""
        start = datetime.combine(self.opens.date_in(billing_month), time(0), KYIV)
        end_day = self.closes.date_in(billing_month) + timedelta(days=1)
        return start, datetime.combine(end_day, time(0), KYIV)


@dataclass(frozen=True, slots=True)
class WindowState:
    """Is a meter open now; if so for which month and until when, if not when it opens next."""

    open: bool
    billing_month: Month
    opens_at: datetime
    ends_at: datetime  # exclusive: the first instant after 23:59:59 of the closing day

    @property
    def closes_at(self) -> datetime:
        """The last second of the window, as residents are told (23:59:59)."""
        return self.ends_at - timedelta(seconds=1)


def window_state(rule: WindowRule, now: datetime) -> WindowState:
    """The window containing `now`, or else the next one to open."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(KYIV)
    # A window opens at most one month before M and closes at most two months after it.
    here = Month(local.year, local.month)
    for billing_month in (here.plus(offset) for offset in range(-2, 3)):
        start, end = rule.bounds(billing_month)
        if start <= now < end:
            return WindowState(True, billing_month, start, end)
        if now < start:
            return WindowState(False, billing_month, start, end)
    raise AssertionError("unreachable: some window in five months opens after now")


def last_closed(rule: WindowRule, now: datetime) -> WindowState:
    """The most recent window that has already closed at `now` (for closing jobs and the bots)."""
    local = now.astimezone(KYIV)
    here = Month(local.year, local.month)
    for billing_month in (here.plus(offset) for offset in range(1, -4, -1)):
        start, end = rule.bounds(billing_month)
        if end <= now:
            return WindowState(False, billing_month, start, end)
    raise AssertionError("unreachable: some window in five months closed before now")
