"""The web cabinet's JSON answers as pydantic models: `ekc/channels/web.py` fills them, the web API
declares them as its routes' answers, and `/api/openapi.json` is generated from them.

Values and amounts are strings of exact decimals with three places ("6116.000"), as typed values are
strings too; the page shows them as residents write them ("6116", "6200,5"). Times are ISO 8601 in
Europe/Kyiv. Validators are built on first use (`defer_build`), so importing costs a cold start little.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decimal3 = str  # "6116.000": an exact decimal with three places


class Shape(BaseModel):
    """Every answer: built lazily, and nothing but the fields described."""

    model_config = ConfigDict(defer_build=True, extra="forbid")


# ---- errors -------------------------------------------------------------------------------------------


class ErrorDetail(Shape):
    """Where a malformed request went wrong (the value itself is never echoed)."""

    loc: list[str | int]
    type: str | None = None


class ErrorInfo(Shape):
    """A refusal: a stable English code and its Ukrainian sentence."""

    code: str = Field(description="Stable, English; docs/api.md lists them by status.")
    message: str = Field(description="Ukrainian, for the resident.")
    details: list[ErrorDetail] | None = None


class ErrorAnswer(Shape):
    """Every error answer."""

    error: ErrorInfo


# ---- sessions and the page's configuration ------------------------------------------------------------


class Person(Shape):
    """A person with an e-mail login."""

    id: str
    email: str | None


class Me(Shape):
    """Who is signed in, and the CSRF token every state-changing request must echo."""

    person: Person | None = Field(description="Null for a session opened by an invoice's web QR code.")
    scope_account: str | None = Field(description="The one account an invoice-QR session may act on.")
    csrf: str


class Phone(Shape):
    """A phone line residents may call instead."""

    number: str = Field(description="As printed: +380 53 600 00 00")
    href: str = Field(description="A tel: link")


class Doors(Shape):
    """The other ways in, as the sign-in page offers them; a line not configured is null."""

    keypad: Phone | None
    voice: Phone | None
    viber: str = Field(description="A viber://pa?chatURI=... link that opens the public account.")


class PageConfig(Shape):
    """What the page needs to know before anyone signs in. The page checks no value itself: readings,
    amounts and codes go to the API as typed, and each refusal comes back with its reason."""

    doors: Doors
    recovery: bool = Field(description="Whether password recovery by e-mail works here.")
    password_min_length: int = Field(description="For the sign-up form's hint")
    save_timeout_seconds: int = Field(description="How long the page waits for a save before saying so.")


class RecoveryAccepted(Shape):
    """A recovery request was taken (whether or not the e-mail is registered: nobody learns which)."""

    message: str


class PasswordChanged(Shape):
    """A new password is set; the page signs in with it."""

    email: str
    message: str


# ---- accounts -----------------------------------------------------------------------------------------


class AccountSummary(Shape):
    """A linked address."""

    number: str
    city: str
    city_code: str
    holder: str
    address: str


class AccountsAnswer(Shape):
    """The cabinet's addresses."""

    accounts: list[AccountSummary]


class LinkedAnswer(Shape):
    """The address just linked."""

    account: AccountSummary


class Debt(Shape):
    """What the account owes (negative: overpaid) and where to pay."""

    amount: str = Field(description='Two decimals: "1234.56"')
    label: str = Field(
        description='"Заборгованість: 1 234,56 грн станом на 01/11/2026", "Переплата: ...", '
        '"Заборгованості немає ..." (no "станом на" when the day is not known)'
    )
    as_of: str | None = Field(default=None, description='The day the amount is as of: "2026-11-01"')
    recipient: str
    iban: str = Field(description="Without spaces, for copying")
    iban_grouped: str = Field(description="In groups of four, for reading")
    purpose: str


class ViberLink(Shape):
    """The link that opens the Viber bot with this address, as the cabinet's Viber QR code encodes it."""

    link: str = Field(
        description="viber://pa?chatURI=<uri>&context=<token>: the token is this person's, tied to their "
        "link to the account and short-lived (the cabinet's QR token lifetime)"
    )


class AccountData(AccountSummary):
    """An account as its readings page shows it."""

    debt: Debt | None


# ---- meters and readings ------------------------------------------------------------------------------


class Organization(Shape):
    """The utility a meter's readings go to."""

    id: str
    name: str


class Window(Shape):
    """The meter's submission window: the open one, or the next to open."""

    open: bool
    billing_month: str = Field(description="YYYY-MM")
    opens_at: str
    closes_at: str = Field(description="The last second, 23:59:59")
    label: str = Field(
        description="'за 11/2026 вносяться в період з 22/11/2026 00:00:00 по 27/11/2026 23:59:59'"
    )
    closed_text: str | None = Field(description="Why no reading can be handed in now, and when it can")


class Previous(Shape):
    """The reading a new one is compared with."""

    value: Decimal3
    billing_month: str | None


class Warning(Shape):
    """Something to know about a reading that was nevertheless accepted."""

    code: Literal["lower_than_previous", "rollover", "confirmed_high", "confirmed_digits", "opening"]
    message: str


class Submission(Shape):
    """One accepted reading."""

    value: Decimal3
    billing_month: str
    at: str
    channel: Literal["web", "viber", "ivr", "voice", "bot", "operator"]
    source_label: str = Field(description="'Дані внесено з сайту 24/11/2026 о 23:04'")
    consumption: Decimal3 | None
    warnings: list[Warning]


class Bot(Shape):
    """The meter's auto-increment bot."""

    enabled: bool
    amount: Decimal3
    seal_epoch: int = Field(description="Send it back with a switch: a re-sealing since turns the bot off")
    label: str = Field(description="What the bot will do at this window's close, in words")


class MeterView(Shape):
    """A meter on the readings page."""

    id: str
    name: str = Field(description="The kind in words, with the note: 'Холодна вода, кухня'")
    serial: str | None
    kind: Literal["electricity", "gas", "cold_water", "hot_water", "heat"]
    kind_label: str = Field(description="'Газ'")
    unit: str = Field(description="'м³', 'кВт·год'")
    note: str
    next_verification: str | None
    digits: int | None
    organization: Organization
    window: Window
    previous: Previous | None
    current: Submission | None = Field(description="The winning reading of the window's month")
    consumption: Decimal3 | None
    bot: Bot


class ReadingsPage(Shape):
    """An account's readings page."""

    account: AccountData
    rules: list[str]
    meters: list[MeterView]


class Question(Shape):
    """Why a value (or a bot's amount) needs the resident's confirmation, with its numbers."""

    code: Literal["implausible_high", "more_digits_than_dial"]
    value: Decimal3
    consumption: Decimal3 | None = Field(description="The use the value means, over `months`")
    usual: Decimal3 | None = Field(description="The usual use over the same months; null with no history")
    months: int
    unit: str
    digits: int | None
    message: str


class RowResult(Shape):
    """What became of one row of a save."""

    meter_id: str
    status: Literal["saved", "unchanged", "closed", "needs_confirmation", "rejected", "superseded"]
    code: str | None = Field(description="Why a row was not saved (a rejected row's error code)")
    message: str
    warnings: list[Warning]
    question: Question | None = None


class Summary(Shape):
    """The save in one sentence, counting warnings and questions, and the rows that need a look."""

    text: str
    tone: Literal["ok", "warn", "error"]
    attention: list[str] = Field(description="Meter ids whose rows need a look, in page order")


class SaveAnswer(Shape):
    """A save's answer: a result per row, the meters as they are now, the summary."""

    results: list[RowResult]
    meters: list[MeterView]
    summary: Summary


class BotAnswer(Shape):
    """A bot switch's answer."""

    status: Literal["saved", "needs_confirmation"]
    message: str
    meter: MeterView
    question: Question | None = None


class MonthResult(Shape):
    """A billing month's winning reading, for the chart and to mark which submission counts."""

    billing_month: str
    at: str = Field(description="When the winning submission came in (the one that counts)")
    value: Decimal3
    consumption: Decimal3 | None
    channel: Literal["web", "viber", "ivr", "voice", "bot", "operator"]
    warnings: list[str] = Field(description="Warning codes")


class History(Shape):
    """A page of a meter's submissions (newest first) and, with the first page, its months."""

    meter: MeterView
    submissions: list[Submission]
    next: str | None
    months: list[MonthResult]
