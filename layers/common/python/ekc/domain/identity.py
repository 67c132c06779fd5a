"""Who asks (a caller the services understand) and where a reading came from (its origin), for every door.

A door turns its own proof of identity (a web session, a Viber user id, a phone call) into a `Caller`;
services never see sessions, cookies or webhooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Proof(StrEnum):
    """What a caller scoped to one account showed to get in."""

    # The invoice's signed QR token: as good as holding the invoice, so the account's data may be shown.
    INVOICE_QR = "invoice_qr"
    # Only the account number, typed on a phone keypad: readings may be handed in and the meters' own
    # figures heard, but nothing about the person (no name, address or debt).
    ACCOUNT_NUMBER = "account_number"


@dataclass(frozen=True, slots=True)
class PersonCaller:
    """Someone with a cabinet: a web login or a Viber user, seeing the accounts linked to them."""

    person_id: str


@dataclass(frozen=True, slots=True)
class AccountCaller:
    """Someone who may act on one account only: an invoice-QR session, a phone caller."""

    account: str
    proof: Proof

    @property
    def sees_personal_data(self) -> bool:
        """Whether the holder's name, address and debt may be shown to this caller."""
        return self.proof is Proof.INVOICE_QR


@dataclass(frozen=True, slots=True)
class SystemCaller:
    """The system itself: the window close's bots, an operator's tool, the billing import."""

    name: str


Caller = PersonCaller | AccountCaller | SystemCaller


class Channel(StrEnum):
    """Through which door a reading came in."""

    WEB = "web"
    VIBER = "viber"
    IVR = "ivr"  # the keypad (DTMF) line
    VOICE = "voice"
    BOT = "bot"
    OPERATOR = "operator"


_NOT_DIGIT = re.compile(r"\D")


def mask_phone(number: str) -> str:
    """+380671231357 -> +38067***1357: enough for a resident to recognise, too little to call back."""
    digits = _NOT_DIGIT.sub("", number)
    if len(digits) < 7:
        return "***"
    prefix = "+" if number.strip().startswith("+") else ""
    return f"{prefix}{digits[:-7]}***{digits[-4:]}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a submission came from, as history records it: data, worded by each channel."""

    channel: Channel
    who: str  # a person id, "qr:<account>", a masked number, "bot", an operator's name
    ip: str | None = None
    phone: str | None = None  # always masked

    @classmethod
    def web(cls, ip: str, caller: Caller) -> Origin:
        """The web cabinet, from this IP address."""
        return cls(Channel.WEB, _who(caller), ip=ip)

    @classmethod
    def viber(cls, person_id: str) -> Origin:
        """The Viber bot, for this person."""
        return cls(Channel.VIBER, person_id)

    @classmethod
    def keypad(cls, number: str) -> Origin:
        """The keypad line, called from this number (stored masked)."""
        masked = mask_phone(number)
        return cls(Channel.IVR, masked, phone=masked)

    @classmethod
    def voice(cls, number: str) -> Origin:
        """The voice line, called from this number (stored masked)."""
        masked = mask_phone(number)
        return cls(Channel.VOICE, masked, phone=masked)

    @classmethod
    def bot(cls) -> Origin:
        """A meter's auto-increment bot at a window's close."""
        return cls(Channel.BOT, "bot")

    @classmethod
    def operator(cls, name: str) -> Origin:
        """An operator of the billing centre."""
        return cls(Channel.OPERATOR, name)


def _who(caller: Caller) -> str:
    match caller:
        case PersonCaller(person_id=person_id):
            return person_id
        case AccountCaller(account=account):
            return f"qr:{account}"
        case SystemCaller(name=name):
            return name
