"""Linking a person to accounts (the invoice's account + SRC code, or its QR token), and their list."""

from __future__ import annotations

import hmac
from datetime import datetime

from ekc import clock
from ekc.config import link_settings, linking_settings
from ekc.domain.identity import Caller
from ekc.domain.model import Account
from ekc.exceptions import BadToken, InvalidCode
from ekc.services import access, attempts
from ekc.storage import get_stores
from ekc.storage.ports import LinkedAccount, Stores
from ekc.tokens import Purpose, check_token

SRC_DIGITS = 3


def split_code(code: str) -> tuple[str, str]:
    """'77777512' -> ('77777', '512'): 8 or 9 digits written together, the SRC code is the last 3."""
    digits = "".join(code.split())
    if not digits.isdigit() or not 8 <= len(digits) <= 9:
        raise InvalidCode()
    return digits[:-SRC_DIGITS], digits[-SRC_DIGITS:]


def _summary(account: Account) -> LinkedAccount:
    return LinkedAccount(account.number, account.city, account.city_code, account.holder, account.address)


def list_accounts(caller: Caller, *, stores: Stores | None = None) -> list[LinkedAccount]:
    """The person's linked addresses: 1 Query."""
    stores = stores or get_stores()
    return stores.people.linked_accounts(access.require_person(caller))


def link_account(
    caller: Caller, code: str, *, stores: Stores | None = None, now: datetime | None = None
) -> LinkedAccount:
    """Link by account + SRC; rate-limited per person and per account; the refusal never says which was wrong.

    Requests: 1 BatchGetItem (failures) + 1 GetItem (account) + 1 TransactWriteItems (link or failure).
    """
    stores = stores or get_stores()
    now = now or clock.now()
    settings = linking_settings()
    person_id = access.require_person(caller)
    number, src = split_code(code)
    keys = [f"link#person#{person_id}", f"link#account#{number}"]
    minutes = settings.link_failure_window_minutes
    attempts.check(stores.attempts, keys, settings.link_failures_allowed, minutes, now)
    account = stores.accounts.get_account(number)
    if account is None or not hmac.compare_digest(account.src.encode(), src.encode()):
        attempts.fail(stores.attempts, keys, minutes, now)
        raise InvalidCode("link_refused")
    stores.people.link(person_id, account, now)
    return _summary(account)


def link_by_token(
    caller: Caller,
    token: str,
    *,
    purpose: Purpose = Purpose.VIBER_LINK,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> LinkedAccount:
    """Link the account an invoice's QR token was made for (the Viber QR): no code to type.

    A forged or expired token counts as a failure against the person, like a wrong SRC code.
    Requests: 1 BatchGetItem + 1 GetItem + 1 TransactWriteItems; scanning the same QR again is harmless.
    """
    stores = stores or get_stores()
    now = now or clock.now()
    settings = linking_settings()
    person_id = access.require_person(caller)
    keys = [f"link#person#{person_id}"]
    minutes = settings.link_failure_window_minutes
    attempts.check(stores.attempts, keys, settings.link_failures_allowed, minutes, now)
    try:
        number = check_token(link_settings().token_signing_key.get_secret_value(), purpose, token, now)
    except BadToken:
        attempts.fail(stores.attempts, keys, minutes, now)
        raise
    account = stores.accounts.get_account(number)
    if account is None:  # printed for an account that billing has since removed
        raise BadToken()
    stores.people.link(person_id, account, now)
    return _summary(account)


def unlink_account(caller: Caller, number: str, *, stores: Stores | None = None) -> None:
    """Remove an address from the person's cabinet: 1 TransactWriteItems (removing twice is harmless)."""
    stores = stores or get_stores()
    stores.people.unlink(access.require_person(caller), number)
