"""Viber users: which person a Viber user is, and whether they are subscribed (docs/viber.md)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ekc.storage import keys
from ekc.storage.base import errors, is_condition_failure, iso
from ekc.storage.items import PersonItem, ViberIdentityItem
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
        """The identity and the person's profile in 1 TransactWriteItems; a lost race reads the winner."""
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
        with errors():
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.save(item, condition=ViberIdentityItem.pk.does_not_exist())
                    tx.save(profile, condition=PersonItem.pk.does_not_exist())
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
