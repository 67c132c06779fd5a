"""Who may see an account: a linked person, a caller scoped to that very account, or the system."""

from __future__ import annotations

import re

from ekc.domain.identity import AccountCaller, Caller, Grant, PersonCaller, SystemCaller
from ekc.domain.model import AccountBundle
from ekc.exceptions import Forbidden, InvalidRequest, NotFound, NotSignedIn
from ekc.storage.ports import Stores
from ekc.tokens import TokenClaims, link_id

ACCOUNT_NUMBER = re.compile(r"[0-9]{1,12}")


def check_number(number: str) -> str:
    """An account number as billing writes them (digits, at most 12); anything else is a bad request."""
    if not ACCOUNT_NUMBER.fullmatch(number):
        raise InvalidRequest("bad_account")
    return number


def load_for(caller: Caller, number: str, stores: Stores) -> AccountBundle:
    """The account with its meters, if the caller may see it; NotFound otherwise (existence stays hidden).

    An invoice-QR session is checked against the account it reads in the same request: once the
    account's tokens were revoked, or the link that handed its token out is gone, it is signed out.
    """
    check_number(number)
    if isinstance(caller, AccountCaller) and caller.account != number:
        raise NotFound()
    bundle = stores.accounts.load_account(number)
    if bundle is None:
        raise NotFound()
    if isinstance(caller, PersonCaller) and caller.person_id not in bundle.linked_people:
        raise NotFound()
    grant = caller.grant if isinstance(caller, AccountCaller) else None
    if grant is not None and not grant_holds(grant, bundle):
        raise NotSignedIn("access_revoked")
    return bundle


def grant_holds(grant: Grant | TokenClaims, bundle: AccountBundle) -> bool:
    """Whether a token (or a session opened by one) is still good for this account: same generation,
    and, for a token a cabinet handed out, the person's link that handed it out is still there."""
    if grant.generation != bundle.token_generation:
        return False
    if grant.link is None:
        return True
    return any(link_id(person, since) == grant.link for person, since in bundle.linked_since.items())


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
