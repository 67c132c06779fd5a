"""Guesses at guessable things (link codes, passwords), reserved against budgets with conditional ADDs.

A guess is counted *before* it is judged, by an ADD whose condition is the budget's limit; a parallel
burst is therefore judged at most as many times as the limit allows, whatever the number of containers.
"""

from __future__ import annotations

import random
import time

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ekc.storage import keys
from ekc.storage.base import Counted, add_within_limits, errors
from ekc.storage.items import AttemptsItem
from ekc.storage.ports import Cell, Reservation

# Two transactions on one counter at the same moment: DynamoDB cancels one ("TransactionConflict").
# Retried a few times, then the request answers "try again" (nothing was counted or judged).
CONFLICT_RETRIES = 3


class DynamoAttempts:
    """Guess counters with a TTL."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def counts(self, cells: list[Cell]) -> dict[Cell, int]:
        """The guesses counted in each cell: 1 BatchGetItem (eventually consistent, good enough for a
        closed window and an early refusal; the reservation's condition is the exact check)."""
        found = dict.fromkeys(cells, 0)
        wanted = sorted({(keys.attempts_pk(c.key), keys.attempts_sk(c.window)) for c in cells})
        with errors():
            for item in AttemptsItem.batch_get(wanted):
                cell = Cell(item.pk.removeprefix("ATTEMPTS#"), int(item.sk.removeprefix("W#")))
                found[cell] = int(item.count or 0)
        return found

    def reserve(self, wanted: list[Reservation]) -> list[Cell]:
        """Count one guess in every cell, all or none: 1 TransactWriteItems of conditional ADDs.

        Returns the cells whose condition refused (then nothing was counted); [] when reserved.
        """
        refused = [r.cell for r in wanted if r.below <= 0]
        if refused or not wanted:
            return refused
        counters = [
            Counted(keys.attempts_pk(r.cell.key), keys.attempts_sk(r.cell.window), r.below, r.expires)
            for r in wanted
        ]
        refused_at = add_within_limits(self._connection, AttemptsItem, counters, CONFLICT_RETRIES)
        return [wanted[i].cell for i in refused_at]

    def release(self, cells: list[Cell]) -> None:
        """Give back reserved guesses: 1 TransactWriteItems of ADD -1 (retried on a conflict)."""
        if not cells:
            return
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with TransactWrite(connection=self._connection) as tx:
                    for cell in cells:
                        item = AttemptsItem(keys.attempts_pk(cell.key), keys.attempts_sk(cell.window))
                        tx.update(item, [AttemptsItem.count.add(-1)], condition=AttemptsItem.count > 0)
                return
            except TransactWriteError as exc:
                codes = {reason.code for reason in exc.cancellation_reasons if reason}
                if codes == {"ConditionalCheckFailed"}:
                    return  # already expired (TTL) or given back: nothing left to give back
                if "TransactionConflict" in codes and attempt < CONFLICT_RETRIES:
                    time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
                    continue
                with errors():
                    raise
