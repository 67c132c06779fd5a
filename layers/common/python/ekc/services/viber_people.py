"""Viber users as people: who a Viber user is, whether they may be messaged, notices left for them.

One Viber user is one person (`PersonCaller`), made on first contact with a random person id. The
identity item names the person, so joining a web login and a Viber identity later is re-pointing that
item (and moving the links); nothing else refers to the Viber id.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ekc import clock
from ekc.domain.identity import Caller
from ekc.domain.notices import Notice
from ekc.services import access
from ekc.storage import get_stores
from ekc.storage.ports import Stores, ViberIdentity


def find(viber_id: str, *, stores: Stores | None = None) -> ViberIdentity | None:
    """The person a Viber user is, or None if the bot never met them: 1 GetItem."""
    return (stores or get_stores()).viber_users.get(viber_id)


def person_for(
    viber_id: str,
    *,
    subscribed: bool = True,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> ViberIdentity:
    """The person a Viber user is, made on first contact: 1 GetItem (+1 TransactWriteItems the first time).

    A Viber user who writes to the bot is subscribed by Viber itself, so a message also marks a known
    user who had unsubscribed as subscribed again (+1 UpdateItem then).
    """
    stores = stores or get_stores()
    now = now or clock.now()
    known = stores.viber_users.get(viber_id)
    if known is None:
        return stores.viber_users.create(ViberIdentity(viber_id, uuid.uuid4().hex, subscribed), now)
    if subscribed and not known.subscribed:
        stores.viber_users.set_subscribed(viber_id, True, now)
        return ViberIdentity(viber_id, known.person_id, True)
    return known


def set_subscribed(
    viber_id: str, subscribed: bool, *, stores: Stores | None = None, now: datetime | None = None
) -> bool:
    """Remember a (un)subscription of a Viber user the bot knows: 1 UpdateItem; False if unknown.

    An unknown user who unsubscribes has nothing to forget; one who subscribes is met on their first
    message.
    """
    return (stores or get_stores()).viber_users.set_subscribed(viber_id, subscribed, now or clock.now())


def may_message(viber_id: str, *, stores: Stores | None = None) -> bool:
    """Whether the bot may write to this Viber user first (never to one who unsubscribed): 1 GetItem."""
    known = (stores or get_stores()).viber_users.get(viber_id)
    return known is not None and known.subscribed


def leave_notice(caller: Caller, notice: Notice, *, stores: Stores | None = None) -> None:
    """Keep a notice for this person alone, told in their next conversation: 1 BatchWriteItem."""
    person_id = access.require_person(caller)
    (stores or get_stores()).people.add_notice([person_id], notice)
