"""What happens when a window closes: which windows have closed, what a meter's bot records, and
which reading of a month is the one handed to the utility. Pure rules, no storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from ekc.domain.identity import Origin
from ekc.domain.model import Meter, Submission
from ekc.domain.months import Month
from ekc.domain.values import Warning, WarningCode, maximum
from ekc.domain.windows import WindowRule, WindowState, last_closed


def closed_windows(rule: WindowRule, now: datetime, count: int, grace: timedelta) -> list[WindowState]:
    """The `count` most recent windows of a rule that ended at least `grace` before `now`, newest first."""
    latest = last_closed(rule, now - grace)
    found = [latest]
    month = latest.billing_month
    while len(found) < count:
        month = month.plus(-1)
        start, end = rule.bounds(month)
        found.append(WindowState(False, month, start, end))
    return found


def latest_month(meter: Meter) -> Month | None:
    """The newest billing month the meter has a reading for, as far as the meter itself knows (an
    operator's opening value of a re-sealed or replaced meter counts for its month)."""
    current = meter.current and meter.current.billing_month
    months = [m for m in (current, meter.previous_month, meter.opening_month) if m]
    return max(months) if months else None


class BotSkip(StrEnum):
    """Why a meter in the bots' index gets no bot reading."""

    HAS_READING = "has_reading"  # the month (or a later one) already has a reading: the resident's wins
    NO_PREVIOUS = "no_previous"  # nothing to add the monthly amount to
    BOT_OFF = "bot_off"  # switched off (or re-sealed) since the index listed it
    RETIRED = "retired"  # billing no longer lists the meter: it takes no readings


def bot_reading(meter: Meter, month: Month, at: datetime) -> Submission | BotSkip:
    """The bot's reading for `month`: the reading before it plus the monthly amount, or why there is none.

    A dial that would pass its maximum goes round, as the meter itself would.
    """
    if not meter.bot_enabled:
        return BotSkip.BOT_OFF
    if meter.retired_on is not None:
        return BotSkip.RETIRED
    newest = latest_month(meter)
    if newest is not None and newest >= month:
        return BotSkip.HAS_READING
    previous, _ = meter.baseline_for(month)
    if previous is None:
        return BotSkip.NO_PREVIOUS
    amount = meter.bot_amount
    value = previous + amount
    warnings: tuple[Warning, ...] = ()
    if meter.digits is not None and value > maximum(meter.digits):
        value -= Decimal(10**meter.digits)
        warnings = (Warning(WarningCode.ROLLOVER, {"maximum": maximum(meter.digits), "consumption": amount}),)
    return Submission(
        meter_id=meter.id,
        billing_month=month,
        value=value,
        at=at,
        origin=Origin.bot(),
        warnings=warnings,
        consumption=amount,
    )


@dataclass(frozen=True, slots=True)
class MonthResult:
    """A meter's result for a billing month, as handed to the utility."""

    reading: Submission | None  # the winning submission; None when the month has no reading
    previous: Decimal | None  # the reading it is compared with
    previous_month: Month | None
    # The reading is known only as a value (the meter's previous reading, loaded without its history).
    value_only: Decimal | None = None


def needs_history(meter: Meter, month: Month) -> bool:
    """Whether the meter has moved past `month`, so its reading of that month is only in its history."""
    current = meter.current
    if current is not None and current.billing_month == month:
        return False
    newest = latest_month(meter)
    return newest is not None and newest >= month


def month_result(meter: Meter, month: Month, history: list[Submission] | None = None) -> MonthResult:
    """The month's final reading and the one before it; `history` (the months' winners, or every
    submission, newest first) when `needs_history`."""
    current = meter.current
    if current is not None and current.billing_month == month:
        previous, previous_month = meter.baseline_for(month)
        return MonthResult(current, previous, previous_month)
    if not needs_history(meter, month):
        previous, previous_month = meter.baseline_for(month)
        return MonthResult(None, previous, previous_month)
    # Newest first: the first seen of a month is the one that won it.
    winner = next((s for s in history or () if s.billing_month == month), None)
    before = next((s for s in history or () if s.billing_month < month), None)
    previous, previous_month = (before.value, before.billing_month) if before else (None, None)
    if winner is None and meter.previous_month == month and meter.previous_value is not None:
        return MonthResult(None, previous, previous_month, value_only=meter.previous_value)
    return MonthResult(winner, previous, previous_month)
