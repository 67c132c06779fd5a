"""The things of the domain as plain dataclasses: what services take and return."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from ekc.domain.identity import Channel, Origin
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.months import Month
from ekc.domain.values import Warning, updated_usual
from ekc.domain.windows import WindowRule


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
    usual: Decimal | None = None
    usual_months: int = 0
    sealed_on: date | None = None  # billing's date of the last verification or re-sealing
    # Billing no longer lists the meter: it takes no readings and leaves the organization's index,
    # but keeps its history, readings and bot settings (it comes back as it was if billing lists it again).
    retired_on: date | None = None

    def baseline_for(self, billing_month: Month) -> tuple[Decimal | None, Month | None]:
        """The reading a new value for `billing_month` is compared with: the last one before that month."""
        if self.current is not None and self.current.billing_month < billing_month:
            return self.current.value, self.current.billing_month
        return self.previous_value, self.previous_month

    def with_reading(self, submission: Submission) -> Meter:
        """The meter after `submission` won: a new month moves the last reading into 'previous'
        and that month's use into the usual monthly use."""
        current = self.current
        if current is None or current.billing_month == submission.billing_month:
            return replace(self, current=submission)
        usual, months = self.usual, self.usual_months
        if current.consumption is not None and current.consumption >= 0:
            usual, months = updated_usual(usual, months, current.consumption)
        return replace(
            self,
            previous_value=current.value,
            previous_month=current.billing_month,
            current=submission,
            usual=usual,
            usual_months=months,
        )

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
