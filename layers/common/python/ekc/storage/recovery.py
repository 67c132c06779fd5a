"""Password recovery: quotas on recovery letters, pending recovery links, and the password they set.

A quota counts a request *before* the letter goes out, with an ADD whose condition is the limit, in one
transaction over every quota it is charged to (the e-mail, the sender's address, the city): however
many requests arrive at once, in however many containers, no more letters go out than the limits allow.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ekc.exceptions import BadToken
from ekc.storage import keys
from ekc.storage.base import Counted, add_within_limits, errors, iso
from ekc.storage.items import LoginItem, QuotaItem, ResetItem
from ekc.storage.ports import QuotaCell, ResetRecord

# Two transactions on one counter at the same moment: DynamoDB cancels one ("TransactionConflict").
# Retried with jitter a few times; then the request answers "try again" (nothing counted, nothing sent).
CONFLICT_RETRIES = 8


def _codes(exc: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in exc.cancellation_reasons or []]


class DynamoRecovery:
    """Recovery quotas and links in DynamoDB."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def take_quota(self, cells: list[QuotaCell]) -> list[QuotaCell]:
        """Count one request in every cell, all or none; the cells already at their limit ([] = counted).

        1 BatchGetItem (a full quota is refused without writing, which also spares a burst most of its
        transaction conflicts) + 1 TransactWriteItems of conditional ADDs, retried on a conflict.
        """
        if not cells:
            return []
        wanted = sorted({(keys.quota_pk(c.key), keys.quota_sk(c.window)) for c in cells})
        counts: dict[tuple[str, str], int] = {}
        with errors():
            for item in QuotaItem.batch_get(wanted):
                counts[(item.pk, item.sk)] = int(item.count or 0)
        full = [c for c in cells if counts.get((keys.quota_pk(c.key), keys.quota_sk(c.window)), 0) >= c.limit]
        if full:
            return full
        counters = [Counted(keys.quota_pk(c.key), keys.quota_sk(c.window), c.limit, c.expires) for c in cells]
        return [cells[i] for i in add_within_limits(self._connection, QuotaItem, counters, CONFLICT_RETRIES)]

    def put_reset(self, token_hash: str, record: ResetRecord) -> None:
        """A pending recovery: 1 PutItem; TTL removes it some time after it expires."""
        item = ResetItem(
            keys.reset_pk(token_hash),
            keys.RESET_SK,
            person_id=record.person_id,
            email=record.email,
            expires_at=iso(record.expires_at),
            ttl=record.expires_at,
        )
        with errors():
            item.save()

    def get_reset(self, token_hash: str) -> ResetRecord | None:
        """A pending recovery: 1 GetItem (strongly consistent: a link just used is seen as used)."""
        with errors():
            try:
                item = ResetItem.get(keys.reset_pk(token_hash), keys.RESET_SK, consistent_read=True)
            except ResetItem.DoesNotExist:
                return None
        return ResetRecord(item.person_id, item.email, datetime.fromisoformat(item.expires_at))

    def use_reset(self, token_hash: str, record: ResetRecord, password_hash: str, now: datetime) -> None:
        """Consume the recovery and set the login's new password together: 1 TransactWriteItems.
        A link opened twice at once sets a password once: the delete's condition refuses the second."""
        login = LoginItem(keys.email_pk(record.email), keys.LOGIN_SK)
        try:
            with errors(), TransactWrite(connection=self._connection) as tx:
                tx.delete(
                    ResetItem(keys.reset_pk(token_hash), keys.RESET_SK),
                    condition=ResetItem.pk.exists() & (ResetItem.expires_at > iso(now)),
                )
                tx.update(
                    login,
                    [LoginItem.password_hash.set(password_hash)],
                    condition=LoginItem.pk.exists() & (LoginItem.person_id == record.person_id),
                )
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" in _codes(exc):
                raise BadToken("recovery_link") from exc
            raise
