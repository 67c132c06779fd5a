"""Linking a person to accounts by the invoice's account number + SRC code, and the cabinet's list."""

from __future__ import annotations

import hmac
from datetime import datetime

from ekc import clock
from ekc.config import get_settings
from ekc.domain.model import Actor
from ekc.exceptions import InvalidCode
from ekc.services import access, attempts, get_repository
from ekc.storage.repository import LinkedAccount, Repository

SRC_DIGITS = 3


def split_code(code: str) -> tuple[str, str]:
    """'77777512' -> ('77777', '512'): 8 or 9 digits written together, the SRC code is the last 3."""
    digits = "".join(code.split())
    if not digits.isdigit() or not 8 <= len(digits) <= 9:
        raise InvalidCode()
    return digits[:-SRC_DIGITS], digits[-SRC_DIGITS:]


def list_accounts(actor: Actor, *, repo: Repository | None = None) -> list[LinkedAccount]:
    """The person's linked addresses: 1 Query."""
    repo = repo or get_repository()
    return repo.linked_accounts(access.require_person(actor))


def link_account(
    actor: Actor, code: str, *, repo: Repository | None = None, now: datetime | None = None
) -> LinkedAccount:
    """Link by account + SRC; rate-limited per person and per account; the refusal never says which was wrong.

    Requests: 1 BatchGetItem (failures) + 1 GetItem (account) + 1 TransactWriteItems (link or failure).
    """
    repo = repo or get_repository()
    now = now or clock.now()
    settings = get_settings()
    person_id = access.require_person(actor)
    number, src = split_code(code)
    keys = [f"link#person#{person_id}", f"link#account#{number}"]
    minutes = settings.link_failure_window_minutes
    attempts.check(repo, keys, settings.link_failures_allowed, minutes, now)
    account = repo.get_account(number)
    if account is None or not hmac.compare_digest(account.src.encode(), src.encode()):
        attempts.fail(repo, keys, minutes, now)
        raise InvalidCode("link_refused")
    repo.link(person_id, account, now)
    return LinkedAccount(account.number, account.city, account.city_code, account.holder, account.address)


def unlink_account(actor: Actor, number: str, *, repo: Repository | None = None) -> None:
    """Remove an address from the person's cabinet: 1 TransactWriteItems (removing twice is harmless)."""
    repo = repo or get_repository()
    repo.unlink(access.require_person(actor), number)
