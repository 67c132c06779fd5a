"""Failed attempts at guessable things (link codes, passwords), counted per window with atomic ADDs."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from ekc.storage import keys
from ekc.storage.base import errors
from ekc.storage.items import AttemptsItem


class DynamoAttempts:
    """Failure counters with a TTL."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def failures_by_window(self, keys_: list[str], windows: list[int]) -> list[dict[str, int]]:
        """Failures per key, one dict per window in the order given: 1 BatchGetItem."""
        wanted = [(keys.attempts_pk(key), keys.attempts_sk(window)) for key in keys_ for window in windows]
        counts = {window: dict.fromkeys(keys_, 0) for window in windows}
        with errors():
            for item in AttemptsItem.batch_get(wanted):
                counts[int(item.sk.removeprefix("W#"))][item.pk.removeprefix("ATTEMPTS#")] = int(item.count)
        return [counts[window] for window in windows]

    def add_failure(self, keys_: list[str], window: int, expires: datetime) -> None:
        """Count one failure against every key: 1 TransactWriteItems of atomic ADDs."""
        with errors(), TransactWrite(connection=self._connection) as tx:
            for key in keys_:
                item = AttemptsItem(keys.attempts_pk(key), keys.attempts_sk(window))
                tx.update(item, [AttemptsItem.count.add(1), AttemptsItem.ttl.set(expires)])
