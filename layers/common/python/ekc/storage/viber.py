"""Viber users: which person a Viber user is, and whether they are subscribed (docs/viber.md)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ekc.storage import keys
from ekc.storage.base import errors, is_condition_failure, iso
from ekc.storage.items import PersonItem, PersonViberItem, ViberIdentityItem
from ekc.storage.ports import ViberIdentity


class DynamoViberUsers:
    """Viber identities in the single table, one item per Viber user, beside the person's profile."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, viber_id: str) -> ViberIdentity | None:
        """1 GetItem."""
        with errors():
            try:
                item = ViberIdentityItem.get(keys.viber_pk(viber_id), keys.VIBER_IDENTITY_SK)
            except ViberIdentityItem.DoesNotExist:
                return None
        return ViberIdentity(viber_id, item.person_id, bool(item.subscribed))

    def create(self, identity: ViberIdentity, now: datetime) -> ViberIdentity:
        """The identity, the person's profile and the person's pointer to it in 1 TransactWriteItems; a
        lost race reads the winner."""
        at = iso(now)
        item = ViberIdentityItem(
            keys.viber_pk(identity.viber_id),
            keys.VIBER_IDENTITY_SK,
            person_id=identity.person_id,
            subscribed=identity.subscribed,
            created_at=at,
            changed_at=at,
        )
        # The profile carries no Viber id: joining a web login later re-points the identity item only.
        profile = PersonItem(
            keys.person_pk(identity.person_id), keys.PROFILE_SK, person_id=identity.person_id, created_at=at
        )
        # The reminders go from an account's people to their Viber users: this pointer, never a Scan.
        pointer = PersonViberItem(
            keys.person_pk(identity.person_id),
            keys.person_viber_sk(identity.viber_id),
            viber_id=identity.viber_id,
            created_at=at,
        )
        with errors():
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.save(item, condition=ViberIdentityItem.pk.does_not_exist())
                    tx.save(profile, condition=PersonItem.pk.does_not_exist())
                    tx.save(pointer)
            except TransactWriteError as exc:
                if not any(r and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons):
                    raise
                stored = self.get(identity.viber_id)
                if stored is None:  # the person id collided, not the Viber user: never with uuid4
                    raise
                return stored
        return identity

    def set_subscribed(self, viber_id: str, subscribed: bool, now: datetime) -> bool:
        """1 UpdateItem, only on a known Viber user."""
        item = ViberIdentityItem(keys.viber_pk(viber_id), keys.VIBER_IDENTITY_SK)
        with errors():
            try:
                item.update(
                    actions=[
                        ViberIdentityItem.subscribed.set(subscribed),
                        ViberIdentityItem.changed_at.set(iso(now)),
                    ],
                    condition=ViberIdentityItem.pk.exists(),
                )
            except UpdateError as exc:
                if is_condition_failure(exc):
                    return False
                raise
        return True

    def of_person(self, person_id: str) -> list[ViberIdentity]:
        """1 Query of the person's pointers (+1 BatchGetItem of their identities when there are any).

        The identity decides: a pointer whose identity now names another person (a join re-pointed
        it) is left out.
        """
        with errors():
            pointers = PersonViberItem.query(
                keys.person_pk(person_id), PersonViberItem.sk.startswith(keys.VIBER_POINTER_PREFIX)
            )
            ids = sorted({p.viber_id for p in pointers})
            if not ids:
                return []
            found = ViberIdentityItem.batch_get([(keys.viber_pk(v), keys.VIBER_IDENTITY_SK) for v in ids])
            identities = [
                ViberIdentity(item.pk.removeprefix(keys.viber_pk("")), item.person_id, bool(item.subscribed))
                for item in found
            ]
        return sorted((i for i in identities if i.person_id == person_id), key=lambda i: i.viber_id)
