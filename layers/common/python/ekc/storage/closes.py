"""Window closes' progress: one partition per (organization, month), a record for the window and one a shard.

A run that dies half-way leaves its progress here; the next run resumes from it. Leases keep two runs
from doing the same shard at once (doing it twice would change nothing, only cost).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from ekc.domain.months import Month
from ekc.storage import keys
from ekc.storage.base import errors, is_condition_failure, iso
from ekc.storage.items import CloseItem, CloseShardItem
from ekc.storage.ports import CloseRecord, ShardProgress, WindowKey

# Progress is kept a little over a year: long after the window left every run's look-back, and long
# enough for operators to see when and by which run a past month was closed.
KEEP_FOR = timedelta(days=400)


def _pk(key: WindowKey) -> str:
    return keys.close_pk(key.org_id, str(key.month))


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _record(item: CloseItem) -> CloseRecord:
    return CloseRecord(
        key=WindowKey(item.org_id, Month.parse(item.month)),
        run_id=item.run_id,
        started_at=datetime.fromisoformat(item.started_at),
        ends_at=datetime.fromisoformat(item.ends_at),
        parts_done_at=_time(item.parts_done_at),
        done_at=_time(item.done_at),
        manifest=item.manifest,
    )


def _item(record: CloseRecord) -> CloseItem:
    return CloseItem(
        _pk(record.key),
        keys.CLOSE_SK,
        org_id=record.key.org_id,
        month=str(record.key.month),
        run_id=record.run_id,
        started_at=iso(record.started_at),
        ends_at=iso(record.ends_at),
        ttl=record.started_at + KEEP_FOR,
    )


def _progress(item: CloseShardItem) -> ShardProgress:
    totals = item.totals.as_dict() if item.totals else {}
    return ShardProgress(
        shard=int(item.shard),
        bots_done=bool(item.bots_done),
        bots_cursor=item.bots_cursor,
        export_done=bool(item.export_done),
        export_cursor=item.export_cursor,
        parts=tuple(item.parts or ()),
        totals={str(k): str(v) for k, v in totals.items()},
    )


class DynamoCloses:
    """Close records in the one table."""

    def windows(self, wanted: list[WindowKey]) -> dict[WindowKey, CloseRecord]:
        """Records of these windows: BatchGetItem, 100 keys a request."""
        found = {}
        with errors():
            for item in CloseItem.batch_get([(_pk(k), keys.CLOSE_SK) for k in wanted]):
                record = _record(item)
                found[record.key] = record
        return found

    def open_window(self, record: CloseRecord) -> CloseRecord:
        """PutItem if absent (the first run's id stays); else GetItem of what is there."""
        item = _item(record)
        with errors():
            try:
                item.save(condition=CloseItem.pk.does_not_exist())
                return record
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
            return _record(CloseItem.get(_pk(record.key), keys.CLOSE_SK, consistent_read=True))

    def restart_window(self, record: CloseRecord) -> None:
        """Delete the shards' progress (BatchWriteItem), then replace the window's record (PutItem)."""
        pk = _pk(record.key)
        with errors():
            shards = list(CloseShardItem.query(pk, CloseShardItem.sk.startswith(keys.CLOSE_SHARD_PREFIX)))
            with CloseShardItem.batch_write() as batch:
                for shard in shards:
                    batch.delete(shard)
            _item(record).save()

    def shards(self, key: WindowKey) -> dict[int, ShardProgress]:
        """Every shard's progress: 1 Query of the window's partition (strongly consistent)."""
        with errors():
            items = CloseShardItem.query(
                _pk(key), CloseShardItem.sk.startswith(keys.CLOSE_SHARD_PREFIX), consistent_read=True
            )
            return {int(item.shard): _progress(item) for item in items}

    def claim(self, key: WindowKey, shard: int, token: str, until: datetime, now: datetime) -> bool:
        """Take a shard: 1 UpdateItem, on it being unfinished and free (or already this token's)."""
        item = CloseShardItem(_pk(key), keys.close_shard_sk(shard))
        S = CloseShardItem
        free = S.lease_until.does_not_exist() | (S.lease_until < iso(now)) | (S.lease_token == token)
        unfinished = S.export_done.does_not_exist() | (S.export_done == False)  # noqa: E712
        with errors():
            try:
                item.update(
                    actions=[
                        # An update that makes the item must name its type, or typed queries miss it.
                        S.type.set(CloseShardItem),
                        S.shard.set(shard),
                        S.lease_token.set(token),
                        S.lease_until.set(iso(until)),
                        S.ttl.set(until + KEEP_FOR),
                    ],
                    condition=unfinished & free,
                )
            except UpdateError as exc:
                if is_condition_failure(exc):
                    return False
                raise
        return True

    def save_shard(self, key: WindowKey, progress: ShardProgress, token: str, until: datetime) -> bool:
        """Record progress and extend the lease: 1 UpdateItem, on the lease still being this token's."""
        item = CloseShardItem(_pk(key), keys.close_shard_sk(progress.shard))
        S = CloseShardItem
        actions = [
            S.type.set(CloseShardItem),
            S.shard.set(progress.shard),
            S.bots_done.set(progress.bots_done),
            S.export_done.set(progress.export_done),
            S.parts.set(list(progress.parts)),
            S.totals.set(dict(progress.totals)),
            S.lease_until.set(iso(until)),
        ]
        for attribute, value in (
            (S.bots_cursor, progress.bots_cursor),
            (S.export_cursor, progress.export_cursor),
        ):
            actions.append(attribute.remove() if value is None else attribute.set(value))
        with errors():
            try:
                item.update(actions=actions, condition=S.lease_token == token)
            except UpdateError as exc:
                if is_condition_failure(exc):
                    return False
                raise
        return True

    def mark_parts_done(self, key: WindowKey, at: datetime) -> datetime:
        """1 UpdateItem keeping the first time noted (if_not_exists), answering the stored one."""
        item = CloseItem(_pk(key), keys.CLOSE_SK)
        with errors():
            item.update(
                actions=[CloseItem.parts_done_at.set(CloseItem.parts_done_at | iso(at))],
                condition=CloseItem.pk.exists(),
            )
        assert item.parts_done_at is not None
        return datetime.fromisoformat(item.parts_done_at)

    def finish(self, key: WindowKey, at: datetime, manifest: str) -> None:
        """1 UpdateItem: the window is done, with its manifest."""
        item = CloseItem(_pk(key), keys.CLOSE_SK)
        with errors():
            item.update(
                actions=[CloseItem.done_at.set(iso(at)), CloseItem.manifest.set(manifest)],
                condition=CloseItem.pk.exists(),
            )
