"""EventBridge schedules, locally: `rate(...)` and `cron(...)` expressions, their events, and a firing thread.

A `Schedule` event (an EventBridge rule) delivers EventBridge's "Scheduled Event"; a `ScheduleV2`
event (EventBridge Scheduler) delivers its Input, or `{}` without one. Rules run in UTC; Scheduler
in its ScheduleExpressionTimezone.
"""

from __future__ import annotations

import calendar
import json
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from local.template import ACCOUNT_ID, ScheduleEvent

RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
CRON = re.compile(r"^cron\((.*)\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# English names whatever the machine's locale (calendar.month_abbr follows the locale).
MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
# EventBridge numbers the days of the week 1-7 from Sunday.
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
SEARCH_YEARS = 5


def _eventbridge_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """The numbers a cron field allows: `*`, `a`, `a-b`, `a,b`, `*/n`, `a/n`, `a-b/n`, names."""
    allowed: set[int] = set()
    for part in field.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(part, names)
            end = high if step != 1 else start
        if not low <= start <= high or not low <= end <= high or step < 1:
            raise ValueError(f"cron field {field!r} is out of {low}-{high}")
        allowed.update(range(start, end + 1, step))
    return allowed


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    return int(text)


@dataclass(frozen=True)
class Cron:
    """An EventBridge cron: minutes hours day-of-month month day-of-week year (`L` and `#` included)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    days: str  # the day-of-month field as written
    weekdays: str  # the day-of-week field as written

    @classmethod
    def parse(cls, fields: str) -> Cron:
        """Parse the six fields inside `cron(...)`."""
        parts = fields.split()
        if len(parts) != 6:
            raise ValueError(f"cron needs 6 fields, got {len(parts)}: {fields!r}")
        minutes, hours, days, months, weekdays, years = parts
        if (days == "?") == (weekdays == "?"):
            raise ValueError("cron needs `?` in exactly one of day-of-month and day-of-week")
        if "W" in days.upper():
            raise ValueError("cron's `W` (nearest weekday) is not supported locally")
        cron = cls(
            frozenset(_values(minutes, 0, 59)),
            frozenset(_values(hours, 0, 23)),
            frozenset(_values(months, 1, 12, MONTHS)),
            frozenset(_values(years, 1970, 2199)),
            days.upper(),
            weekdays.upper(),
        )
        cron.matches_day(date(2000, 1, 1))  # refuse a malformed day field now, not at the first firing
        return cron

    def matches_day(self, day: date) -> bool:
        """True when the day-of-month or day-of-week field (whichever is not `?`) allows `day`."""
        last = calendar.monthrange(day.year, day.month)[1]
        if self.weekdays == "?":
            if self.days == "L":
                return day.day == last
            return day.day in _values(self.days, 1, 31)
        weekday = _eventbridge_weekday(day)
        if self.weekdays.endswith("L"):  # `6L`: the last Friday of the month
            return weekday == _number(self.weekdays[:-1], WEEKDAYS) and day.day + 7 > last
        if "#" in self.weekdays:  # `2#1`: the first Monday of the month
            wanted, nth = self.weekdays.split("#", 1)
            return weekday == _number(wanted, WEEKDAYS) and (day.day - 1) // 7 + 1 == int(nth)
        return weekday in _values(self.weekdays, 1, 7, WEEKDAYS)

    def next_after(self, moment: datetime) -> datetime:
        """The first minute strictly after `moment` that the expression selects, in `moment`'s zone."""
        zone = moment.tzinfo
        day = moment.date()
        end = date(day.year + SEARCH_YEARS, 12, 31)
        while day <= end:
            if day.year in self.years and day.month in self.months and self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        if candidate > moment:
                            return candidate
            day += timedelta(days=1)
        raise ValueError(f"cron selects no time in the {SEARCH_YEARS} years after {moment:%Y-%m-%d}")


@dataclass(frozen=True)
class Rate:
    """`rate(n unit)`: every n minutes, hours or days, counted from when the schedule is created."""

    seconds: int

    def next_after(self, moment: datetime, started: datetime) -> datetime:
        """The first firing after `moment` for a schedule created at `started`."""
        periods = int((moment - started).total_seconds() // self.seconds) + 1
        return started + timedelta(seconds=periods * self.seconds)


def parse_expression(expression: str) -> Rate | Cron:
    """A `rate(...)` or `cron(...)` schedule expression (ScheduleV2's one-off `at(...)` is not supported)."""
    text = expression.strip()
    rate = RATE.match(text)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if amount < 1:
            raise ValueError(f"{expression}: the rate must be at least 1")
        return Rate(amount * UNIT_SECONDS[unit])
    cron = CRON.match(text)
    if cron:
        return Cron.parse(cron.group(1))
    raise ValueError(f"{expression!r} is neither rate(...) nor cron(...)")


def scheduled_event(schedule: ScheduleEvent, fired_at: datetime, region: str) -> dict[str, Any]:
    """The event the function receives, shaped as EventBridge (or EventBridge Scheduler) sends it."""
    stamp = fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if schedule.kind == "ScheduleV2":
        arn = f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{schedule.rule_name}"
        text = schedule.input or "{}"
        # Scheduler fills in its context attributes wherever the Input names them.
        for name, value in (
            ("schedule-arn", arn),
            ("scheduled-time", stamp),
            ("execution-id", uuid.uuid4().hex[:16]),
            ("attempt-number", "1"),
        ):
            text = text.replace(f"<aws.scheduler.{name}>", value)
        return json.loads(text)
    if schedule.input is not None:
        return json.loads(schedule.input)  # a rule's constant Input replaces the whole event
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": stamp,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{schedule.rule_name}"],
        "detail": {},
    }


@dataclass
class _Planned:
    schedule: ScheduleEvent
    expression: Rate | Cron
    zone: Any
    due: datetime


Fire = Callable[[ScheduleEvent, dict[str, Any]], None]


class Scheduler:
    """Fires each enabled schedule at its times through `fire(schedule, event)`, each in its own thread.

    `tick(now)` fires whatever is due and returns the next due moment; `start()` runs ticks in a
    daemon thread on `clock` (the real time unless a test gives its own).
    """

    def __init__(
        self,
        schedules: Iterable[ScheduleEvent],
        fire: Fire,
        region: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.fire = fire
        self.region = region
        self.clock = clock
        self.started = clock()
        self.planned: list[_Planned] = []
        self.skipped: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for schedule in schedules:
            name = f"{schedule.function.logical_id}.{schedule.event_name}"
            if not schedule.enabled:
                self.skipped[name] = "disabled in the template"
                continue
            try:
                expression = parse_expression(schedule.expression)
                zone = ZoneInfo(schedule.timezone) if schedule.timezone else UTC
            except (ValueError, KeyError) as exc:
                self.skipped[name] = str(exc)
                continue
            planned = _Planned(schedule, expression, zone, self.started)
            planned.due = self._next(planned, self.started)
            self.planned.append(planned)

    def _next(self, planned: _Planned, after: datetime) -> datetime:
        if isinstance(planned.expression, Rate):
            return planned.expression.next_after(after, self.started)
        return planned.expression.next_after(after.astimezone(planned.zone)).astimezone(UTC)

    def upcoming(self) -> list[dict[str, str]]:
        """What fires next, for the stack's listing."""
        return [
            {
                "function": item.schedule.function.logical_id,
                "event": item.schedule.event_name,
                "expression": item.schedule.expression,
                "next": item.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for item in self.planned
        ]

    def tick(self, now: datetime | None = None) -> datetime | None:
        """Fire every schedule due at `now` (once, however late), plan its next time; the next due moment."""
        now = now or self.clock()
        for item in self.planned:
            if item.due <= now:
                event = scheduled_event(item.schedule, item.due, self.region)
                threading.Thread(
                    target=self._fire, args=(item.schedule, event), name="schedule-fire", daemon=True
                ).start()
                # Missed firings (a suspended laptop) are not replayed, as EventBridge does not.
                item.due = self._next(item, now)
        return min((item.due for item in self.planned), default=None)

    def _fire(self, schedule: ScheduleEvent, event: dict[str, Any]) -> None:
        try:
            self.fire(schedule, event)
        except Exception:  # a firing must never stop the scheduler
            traceback.print_exc()

    def start(self) -> None:
        """Run the ticks in a daemon thread until `stop()`."""
        if not self.planned:
            return
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            due = self.tick()
            if due is None:
                return
            wait = (due - self.clock()).total_seconds()
            self._stop.wait(max(0.0, min(wait, 60.0)))  # re-check at least every minute (clock jumps)

    def stop(self) -> None:
        """Stop the firing thread (firings already running finish on their own)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def report_skipped(scheduler: Scheduler) -> None:
    """Say which schedules will not fire locally, and why."""
    for name, reason in scheduler.skipped.items():
        print(f"NOTICE: schedule {name} does not fire locally: {reason}", file=sys.stderr)
