"""Who may see an account: a linked person, or a QR session scoped to that very account."""

from __future__ import annotations

from ekc.domain.model import AccountBundle, Actor
from ekc.exceptions import Forbidden, NotFound
from ekc.storage.repository import Repository


def load_for(actor: Actor, number: str, repo: Repository) -> AccountBundle:
    """The account with its meters, if the actor may see it; NotFound otherwise (existence stays hidden)."""
    if actor.scope_account is not None and actor.scope_account != number:
        raise NotFound()
    bundle = repo.load_account(number)
    if bundle is None:
        raise NotFound()
    if actor.scope_account == number:
        return bundle
    if actor.person is None or actor.person.id not in bundle.linked_people:
        raise NotFound()
    return bundle


def require_person(actor: Actor) -> str:
    """The person id; a QR session (one account, no person) may not manage addresses."""
    if actor.person is None:
        raise Forbidden("scope")
    return actor.person.id
