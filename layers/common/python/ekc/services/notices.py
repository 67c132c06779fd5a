"""Notices: tell the people linked to an account what happened, in their next conversation."""

from __future__ import annotations

from ekc.domain.identity import Caller
from ekc.domain.notices import Notice
from ekc.services import access
from ekc.storage import get_stores
from ekc.storage.ports import Stores


def tell_account(
    account: str, notice: Notice, *, stores: Stores | None = None, skip: str | None = None
) -> int:
    """Leave `notice` for everyone linked to `account` (but `skip`): 1 Query + 1 BatchWriteItem."""
    stores = stores or get_stores()
    bundle = stores.accounts.load_account(account)
    people = sorted(p for p in (bundle.linked_people if bundle else ()) if p != skip)
    if people:
        stores.people.add_notice(people, notice)
    return len(people)


def take(caller: Caller, *, stores: Stores | None = None) -> list[Notice]:
    """The person's pending notices, forgotten once taken (a door shows them now): 1 Query (+1 write)."""
    stores = stores or get_stores()
    person_id = access.require_person(caller)
    found = stores.people.notices(person_id)
    if found:
        stores.people.clear_notices(person_id, [n.id for n in found])
    return found
