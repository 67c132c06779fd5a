"""The things of the domain as plain dataclasses: what services take and return."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from ekc.domain.identity import Channel, Origin
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.months import Month
from ekc.domain.plausibility import UsageProfile
from ekc.domain.values import Warning, WarningCode
from ekc.domain.windows import KYIV, WindowRule


@dataclass(frozen=True, slots=True)
class Organization:
    """A utility with its own submission window."""

    id: str
    name: str
    rule: WindowRule


@dataclass(frozen=True, slots=True)
class Debt:
    """What the account owes and where to pay it."""

    amount: Decimal
    recipient: str
    iban: str
    purpose: str
    as_of: date | None = None  # the day billing's amount is as of (None: stored before it was known)


@dataclass(frozen=True, slots=True)
class Account:
    """A personal account (особовий рахунок) of one address."""

    number: str
    src: str
    holder: str
    address: str
    city: str
    city_code: str
    debt: Debt | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """One accepted reading, as history keeps it."""

    meter_id: str
    billing_month: Month
    value: Decimal
    at: datetime
    origin: Origin
    warnings: tuple[Warning, ...] = ()
    consumption: Decimal | None = None

    @property
    def channel(self) -> Channel:
        """The door it came through."""
        return self.origin.channel


# A person correcting a typo hands in a meter's reading a few times a day; this many is a script.
MAX_SUBMISSIONS_PER_DAY = 20
RESIDENT_CHANNELS = frozenset({Channel.WEB, Channel.VIBER, Channel.IVR, Channel.VOICE})


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter (прилад обліку) on an account, with the readings it currently shows."""

    id: str
    account: str
    kind: MeterKind
    unit: Unit
    organization_id: str
    digits: int | None  # integer digits of the dial; None when billing does not know them
    serial: str | None = None
    note: str = ""
    next_verification: date | None = None
    previous_value: Decimal | None = None
    previous_month: Month | None = None
    current: Submission | None = None
    bot_enabled: bool = False
    bot_amount: Decimal = Decimal(0)
    seal_epoch: int = 0
    usage: UsageProfile = field(default_factory=UsageProfile)
    # A re-sealed or replaced meter's first value, taken by the operator: readings from the month
    # after `opening_month` on are compared with it, not with the old dial.
    opening_value: Decimal | None = None
    opening_month: Month | None = None
    # Residents' submissions on one Kyiv day, so a script cannot flood a meter's history.
    day: date | None = None
    day_count: int = 0
    sealed_on: date | None = None  # billing's date of the last verification or re-sealing
    # Billing no longer lists the meter: it takes no readings and leaves the organization's index,
    # but keeps its history, readings and bot settings (it comes back as it was if billing lists it again).
    retired_on: date | None = None

    def baseline_for(self, billing_month: Month) -> tuple[Decimal | None, Month | None]:
        """The reading a new value for `billing_month` is compared with: the last one before that month."""
        found: tuple[Month, int, Decimal] | None = None
        candidates = [
            (self.previous_month, 0, self.previous_value),
            (self.opening_month, 1, self.opening_value),  # wins a tie: taken on the new dial, later
        ]
        if self.current is not None:
            candidates.append((self.current.billing_month, 0, self.current.value))
        for month, rank, value in candidates:
            usable = month is not None and value is not None and month < billing_month
            if usable and (found is None or (month, rank) > found[:2]):
                found = (month, rank, value)  # type: ignore[assignment]
        if found is None:
            # An old meter's previous value with no month on record still counts.
            return (self.previous_value, None) if self.previous_month is None else (None, None)
        return found[2], found[0]

    def submissions_on(self, day: date) -> int:
        """How many readings residents handed in for this meter on `day` (Kyiv)."""
        return self.day_count if self.day == day else 0

    def with_reading(self, submission: Submission) -> Meter:
        """The meter after `submission` won: a new month moves the last reading into 'previous';
        the month's use joins the usage profile at once (a correction replaces it)."""
        baseline, baseline_month = self.baseline_for(submission.billing_month)
        usage = self.usage
        if baseline is not None:
            codes = {w.code for w in submission.warnings}
            months = (
                1 if baseline_month is None else max(1, submission.billing_month.months_since(baseline_month))
            )
            usage = usage.updated(
                submission.billing_month,
                submission.consumption,
                confirmed_high=WarningCode.CONFIRMED_HIGH in codes,
                rollover=WarningCode.ROLLOVER in codes,
                months_elapsed=months,
                estimated=submission.channel is Channel.BOT,
            )
        day, day_count = self.day, self.day_count
        if submission.channel in RESIDENT_CHANNELS:
            today = submission.at.astimezone(KYIV).date()
            day, day_count = today, self.submissions_on(today) + 1
        changed = replace(self, usage=usage, day=day, day_count=day_count, current=submission)
        current = self.current
        if current is None or current.billing_month >= submission.billing_month:
            return changed
        return replace(changed, previous_value=current.value, previous_month=current.billing_month)

    def with_seal_epoch(self, epoch: int) -> Meter:
        """After a verification or re-sealing the bot is off until the resident turns it on again."""
        if epoch == self.seal_epoch:
            return self
        return replace(self, seal_epoch=epoch, bot_enabled=False)


@dataclass(frozen=True, slots=True)
class AccountBundle:
    """An account with its meters and the people linked to it: what one query of its partition gives."""

    account: Account
    meters: list[Meter] = field(default_factory=list)
    linked_people: frozenset[str] = frozenset()
    # When each linked person's link was made: a token handed out through a link names it (ekc.tokens).
    linked_since: dict[str, datetime] = field(default_factory=dict)
    # Raised to void every QR token of the account, printed or handed out (ekc.tokens, docs/runbook.md).
    token_generation: int = 0
