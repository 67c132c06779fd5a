"""Who may see an account: a linked person, a caller scoped to that very account, or the system."""

from __future__ import annotations

import re

from ekc.domain.identity import AccountCaller, Caller, PersonCaller, SystemCaller
from ekc.domain.model import AccountBundle
from ekc.exceptions import Forbidden, InvalidRequest, NotFound
from ekc.storage.ports import Stores

ACCOUNT_NUMBER = re.compile(r"[0-9]{1,12}")


def check_number(number: str) -> str:
    """An account number as billing writes them (digits, at most 12); anything else is a bad request."""
    if not ACCOUNT_NUMBER.fullmatch(number):
        raise InvalidRequest("bad_account")
    return number


def load_for(caller: Caller, number: str, stores: Stores) -> AccountBundle:
    """The account with its meters, if the caller may see it; NotFound otherwise (existence stays hidden)."""
    check_number(number)
    if isinstance(caller, AccountCaller) and caller.account != number:
        raise NotFound()
    bundle = stores.accounts.load_account(number)
    if bundle is None:
        raise NotFound()
    if isinstance(caller, PersonCaller) and caller.person_id not in bundle.linked_people:
        raise NotFound()
    return bundle


def require_person(caller: Caller) -> str:
    """The person id; a caller scoped to one account (no person) may not manage addresses."""
    if not isinstance(caller, PersonCaller):
        raise Forbidden("scope")
    return caller.person_id


def sees_personal_data(caller: Caller) -> bool:
    """Whether the holder's name, address and debt may be shown (never to a phone caller)."""
    if isinstance(caller, AccountCaller):
        return caller.sees_personal_data
    return isinstance(caller, PersonCaller | SystemCaller)
