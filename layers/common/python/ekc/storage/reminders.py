"""Reminders: one marker per Viber user and reminder (never sent twice), one item per shard done."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from ekc.storage import keys
from ekc.storage.base import errors, is_condition_failure, iso
from ekc.storage.items import ReminderItem, ReminderShardItem
from ekc.storage.ports import ReminderKey


def _run_pk(key: ReminderKey) -> str:
    return keys.reminder_run_pk(key.org_id, str(key.month), key.hours)


class DynamoReminders:
    """Reminder markers and rounds' progress in the one table."""

    def mark(self, viber_id: str, key: ReminderKey, at: datetime, keep_until: datetime) -> bool:
        """1 PutItem on the marker's absence; False when it was there (sent, or being sent, already)."""
        item = ReminderItem(
            keys.reminded_pk(viber_id),
            keys.reminded_sk(key.org_id, str(key.month), key.hours),
            at=iso(at),
            ttl=keep_until,
        )
        with errors():
            try:
                item.save(condition=ReminderItem.pk.does_not_exist())
            except PutError as exc:
                if is_condition_failure(exc):
                    return False
                raise
        return True

    def shards_done(self, key: ReminderKey) -> set[int]:
        """1 Query of the round's partition (strongly consistent)."""
        with errors():
            items = ReminderShardItem.query(
                _run_pk(key), ReminderShardItem.sk.startswith(keys.CLOSE_SHARD_PREFIX), consistent_read=True
            )
            return {int(item.shard) for item in items}

    def finish_shard(self, key: ReminderKey, shard: int, at: datetime, keep_until: datetime) -> None:
        """1 PutItem (a second one changes nothing that matters)."""
        with errors():
            ReminderShardItem(
                _run_pk(key), keys.close_shard_sk(shard), shard=shard, done_at=iso(at), ttl=keep_until
            ).save()
