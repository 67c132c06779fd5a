"""The things of the domain as plain dataclasses: what services take and return."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ekc.domain.kinds import MeterKind
from ekc.domain.months import Month
from ekc.domain.values import Warning
from ekc.domain.windows import WindowRule


class Channel(StrEnum):
    """Through which door a reading came in."""

    WEB = "web"
    VIBER = "viber"
    IVR = "ivr"
    VOICE = "voice"
    BOT = "bot"
    OPERATOR = "operator"


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
    channel: Channel
    source: str  # "IP: 1.2.3.4", "Viber", "+38067***1357"
    who: str  # a person id, a masked caller, "bot", an operator's name
    warnings: tuple[Warning, ...] = ()
    consumption: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter (прилад обліку) on an account, with the readings it currently shows."""

    id: str
    account: str
    kind: MeterKind
    unit: str
    organization_id: str
    digits: int
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

    def baseline_for(self, billing_month: Month) -> tuple[Decimal | None, Month | None]:
        """The reading a new value for `billing_month` is compared with: the last one before that month."""
        if self.current is not None and self.current.billing_month < billing_month:
            return self.current.value, self.current.billing_month
        return self.previous_value, self.previous_month

    def with_reading(self, submission: Submission) -> Meter:
        """The meter after `submission` won: a new month moves the last reading into 'previous'."""
        current = self.current
        if current is None or current.billing_month == submission.billing_month:
            return replace(self, current=submission)
        return replace(
            self, previous_value=current.value, previous_month=current.billing_month, current=submission
        )

    def with_seal_epoch(self, epoch: int) -> Meter:
        """After a verification or re-sealing the bot is off until the resident turns it on again."""
        if epoch == self.seal_epoch:
            return self
        return replace(self, seal_epoch=epoch, bot_enabled=False)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who signs in: a web login now, a Viber identity later."""

    id: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: a signed-in person, or a session scoped to one account by an invoice's QR."""

    session_id: str
    csrf: str
    person: Person | None = None
    scope_account: str | None = None


@dataclass(frozen=True, slots=True)
class AccountBundle:
    """An account with its meters and the people linked to it: what one query of its partition gives."""

    account: Account
    meters: list[Meter] = field(default_factory=list)
    linked_people: frozenset[str] = frozenset()
