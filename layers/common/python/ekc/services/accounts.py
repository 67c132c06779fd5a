"""Linking a person to accounts (the invoice's account + SRC code, or its QR token), and their list.

The SRC code has 3 digits, so guessing is priced by budgets (`ekc.services.attempts`, reserved before
judging) whose arithmetic is in docs/decisions.md ("Guessing"):
- **code alone** (account + SRC): judged while the person, the account and the city each have room in
  their code-alone budget; otherwise the resident is asked for a second fact from the invoice,
- **code + holder's surname**: its own, larger budgets; once they are spent too, linking by code pauses
  and the answer names the time and points to the invoice's QR code,
- **the invoice's QR token** (`link_by_token`, and the web QR's sign-in): unguessable, so it is never
  rate-limited; whatever strangers spend, the holder can always link this way.
Everyone already linked to an account is told when a new cabinet is linked to it.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ekc import clock
from ekc.config import link_settings, linking_settings
from ekc.domain.identity import Caller, SystemCaller
from ekc.domain.model import AccountBundle
from ekc.domain.notices import Notice, NoticeCode
from ekc.exceptions import BadToken, Forbidden, HolderNeeded, InvalidCode, InvalidRequest, TooManyAttempts
from ekc.observability import count
from ekc.services import access, attempts, notices
from ekc.services.attempts import Budget, Claim
from ekc.storage import get_stores
from ekc.storage.ports import LinkedAccount, Stores
from ekc.tokens import Purpose, read_token

SRC_DIGITS = 3
CITY = "city"
DAY = timedelta(days=1)
MONTH = timedelta(days=30)
# ASCII digits only: str.isdigit() also takes Arabic-Indic, fullwidth and superscript digits.
_CODE = re.compile(r"[0-9]{8,9}")
# A surname: letters, with inner apostrophes or hyphens (Квітка-Основ'яненко).
_SURNAME = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_APOSTROPHES = str.maketrans(dict.fromkeys("’ʼ‘`´′", "'"))
MAX_SURNAME = 64


class Tier(StrEnum):
    """What a link request showed besides the account number."""

    CODE = "code"  # the SRC code alone
    HOLDER = "holder"  # the SRC code and the holder's surname


def split_code(code: str) -> tuple[str, str]:
    """'77777512' -> ('77777', '512'): 8 or 9 ASCII digits written together, the SRC code is the last 3."""
    digits = "".join(code.split())
    if not _CODE.fullmatch(digits):
        raise InvalidCode()
    return digits[:-SRC_DIGITS], digits[-SRC_DIGITS:]


def surname_key(text: str) -> str:
    """'Горшеньов М. Ю.' or ' ГОРШЕНЬОВ ' -> 'горшеньов': the first word, case and apostrophes folded."""
    words = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).split()
    return words[0].strip(".,").casefold() if words else ""


def _surname_guess(holder: str | None) -> str | None:
    """The surname typed, folded; None when none was typed. Malformed is refused before any counting."""
    if holder is None or not holder.strip():
        return None
    key = surname_key(holder)
    if len(key) > MAX_SURNAME or not _SURNAME.fullmatch(key):
        raise InvalidRequest("bad_holder")
    return key


def _claims(tier: Tier, person_id: str, number: str) -> list[Claim]:
    settings = linking_settings()
    if tier is Tier.CODE:
        return [
            Claim(Budget("link_code_person", settings.link_code_person_failures, DAY), person_id),
            Claim(Budget("link_code_account", settings.link_code_account_failures, MONTH), number),
            Claim(Budget("link_code_city", settings.link_code_city_failures, MONTH), CITY),
        ]
    return [
        Claim(Budget("link_holder_person", settings.link_holder_person_failures, DAY), person_id),
        Claim(Budget("link_holder_account", settings.link_holder_account_failures, MONTH), number),
        Claim(Budget("link_holder_city", settings.link_holder_city_failures, DAY), CITY),
    ]


def _summary(bundle: AccountBundle) -> LinkedAccount:
    a = bundle.account
    return LinkedAccount(a.number, a.city, a.city_code, a.holder, a.address)


def list_accounts(caller: Caller, *, stores: Stores | None = None) -> list[LinkedAccount]:
    """The person's linked addresses: 1 Query."""
    stores = stores or get_stores()
    return stores.people.linked_accounts(access.require_person(caller))


def link_account(
    caller: Caller,
    code: str,
    *,
    holder: str | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> LinkedAccount:
    """Link by account + SRC (and, when asked for, the holder's surname); the refusal never says which
    part was wrong, nor whether the account exists.

    Raises InvalidCode (malformed: not counted), HolderNeeded (the code alone may not be judged now:
    ask for the surname), InvalidCode("link_refused") (judged wrong), TooManyAttempts("link_paused").
    Requests: 1 BatchGetItem + 1 TransactWriteItems (reserve) + 1 Query (account and its links)
    + 1 TransactWriteItems (link) + 1 TransactWriteItems (give the reservation back)
    [+ 1 Query + 1 BatchWriteItem telling the people already linked].
    """
    stores = stores or get_stores()
    now = now or clock.now()
    person_id = access.require_person(caller)
    number, src = split_code(code)
    surname = _surname_guess(holder)
    tier = Tier.CODE if surname is None else Tier.HOLDER
    try:
        reserved = attempts.reserve(stores.attempts, _claims(tier, person_id, number), now)
    except attempts.Refused as refused:
        for budget in refused.budgets:
            count("GuessBudgetRefused", "budget", budget.name)
        if tier is Tier.CODE:
            raise HolderNeeded() from None
        raise TooManyAttempts("link_paused", until=refused.until, day=refused.until.date()) from None
    bundle = stores.accounts.load_account(number)
    if bundle is None or not _matches(bundle, src, surname):
        count("LinkGuessWrong", "tier", tier)
        raise InvalidCode("link_refused")
    linked = _link(person_id, bundle, now, stores, how=tier)
    attempts.release(stores.attempts, reserved)
    return linked


def _matches(bundle: AccountBundle, src: str, surname: str | None) -> bool:
    # Both compared in constant time, and both always, so timing says nothing about which was wrong.
    src_ok = hmac.compare_digest(bundle.account.src.encode(), src.encode())
    if surname is None:
        return src_ok
    holder_ok = hmac.compare_digest(surname_key(bundle.account.holder).encode(), surname.encode())
    return src_ok and holder_ok


def link_by_token(
    caller: Caller,
    token: str,
    *,
    purpose: Purpose = Purpose.VIBER_LINK,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> LinkedAccount:
    """Link the account an invoice's QR token was made for (the Viber QR): no code to type.

    Never rate-limited (a token cannot be guessed), so no stranger can lock the holder out of it.
    A token of a revoked generation, or handed out through a link that is gone, is a BadToken.
    Requests: 1 Query + 1 TransactWriteItems [+ 1 Query + 1 BatchWriteItem telling the others].
    """
    stores = stores or get_stores()
    now = now or clock.now()
    person_id = access.require_person(caller)
    claims = read_token(link_settings().token_signing_key.get_secret_value(), purpose, token, now)
    bundle = stores.accounts.load_account(claims.account)
    if bundle is None or not access.grant_holds(claims, bundle):
        raise BadToken()
    return _link(person_id, bundle, now, stores, how="qr")


def _link(person_id: str, bundle: AccountBundle, now: datetime, stores: Stores, *, how: str) -> LinkedAccount:
    """Link (a replay keeps the link's time, so tokens it handed out stay good) and tell the others."""
    number = bundle.account.number
    if person_id in bundle.linked_people:
        stores.people.link(person_id, bundle.account, bundle.linked_since[person_id])
        return _summary(bundle)
    stores.people.link(person_id, bundle.account, now)
    if bundle.linked_people:
        notice = Notice(NoticeCode.ACCOUNT_LINKED, now, number, params={"how": str(how)})
        notices.tell_account(number, notice, stores=stores, skip=person_id)
    return _summary(bundle)


def unlink_account(caller: Caller, number: str, *, stores: Stores | None = None) -> None:
    """Remove an address from the person's cabinet: 1 TransactWriteItems (removing twice is harmless).

    The QR codes the cabinet showed this person for the account, and the sessions opened with them,
    stop working with the link (they carry its id, `ekc.tokens.link_id`).
    """
    stores = stores or get_stores()
    stores.people.unlink(access.require_person(caller), number)


@dataclass(frozen=True, slots=True)
class Revoked:
    """The outcome of revoking an account's access: its new token generation, and who was unlinked."""

    generation: int
    unlinked: tuple[str, ...]


def revoke_access(
    caller: Caller, number: str, *, unlink_everyone: bool = True, stores: Stores | None = None
) -> Revoked:
    """The holder's request (through an operator): void every QR token of the account, printed or handed
    out, end every invoice-QR session, and (by default) unlink every cabinet. The next print run
    carries the new generation. Requests: 1 UpdateItem + 1 Query + 1 TransactWriteItems per link.
    """
    if not isinstance(caller, SystemCaller):
        raise Forbidden("scope")
    stores = stores or get_stores()
    generation = stores.accounts.bump_token_generation(number)
    unlinked: tuple[str, ...] = ()
    if unlink_everyone:
        bundle = stores.accounts.load_account(number)
        unlinked = tuple(sorted(bundle.linked_people)) if bundle else ()
        for person_id in unlinked:
            stores.people.unlink(person_id, number)
    return Revoked(generation, unlinked)
