"""Readings: each meter's history partition, written together with the meter's current value."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ekc.domain.model import Submission
from ekc.domain.values import format_value
from ekc.storage import convert, keys
from ekc.storage.base import errors, iso
from ekc.storage.items import MeterItem, ReadingItem
from ekc.storage.ports import ReadingWrite

# A failed condition, or another transaction on that meter right now: re-read and retry.
RACED = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class DynamoReadings:
    """History items and the meters' `cur_*` attributes, changed in one transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record_readings(self, writes: list[ReadingWrite]) -> list[bool]:
        """Write readings and the meters' current values atomically: 1 TransactWriteItems.

        Each meter update is conditional: for the same month, only if the stored reading is not newer
        (last submission wins by server time); when a new month starts, only if the meter still shows
        what we read. Answers, per write, whether it was refused by its condition (True = conflict);
        when any is refused nothing is written, and the caller re-reads and retries the rest.
        """
        if not writes:
            return []
        with errors():
            try:
                with TransactWrite(connection=self._connection) as tx:
                    # PynamoDB sends puts before updates; cancellation reasons follow that order.
                    for write in writes:
                        tx.save(
                            convert.reading_to(write.submission, write.meter.account),
                            condition=ReadingItem.pk.does_not_exist(),
                        )
                    for write in writes:
                        actions, condition = meter_update(write)
                        tx.update(
                            MeterItem(keys.account_pk(write.meter.account), keys.meter_sk(write.meter.id)),
                            actions,
                            condition,
                        )
                return [False] * len(writes)
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons
                if not reasons or exc.cause_response_code != "TransactionCanceledException":
                    raise
                n = len(writes)
                codes = [(r.code if r else "None") for r in reasons]
                if any(c not in RACED | {"None"} for c in codes):
                    raise
                return [bool(RACED & {codes[i], codes[n + i]}) for i in range(n)]

    def history(self, meter_id: str, limit: int = 500) -> list[Submission]:
        """Every accepted submission of a meter, newest first: 1 Query (paged past 1 MB)."""
        with errors():
            items = ReadingItem.query(
                keys.history_pk(meter_id),
                ReadingItem.sk.startswith(keys.READING_PREFIX),
                scan_index_forward=False,
                limit=limit,
            )
            return [convert.reading_from(item) for item in items]

    def import_history(self, account: str, submissions: list[Submission]) -> None:
        """Load past submissions (seed, migration from the old system): BatchWriteItem, 25 per request."""
        with errors(), ReadingItem.batch_write() as batch:
            for submission in submissions:
                batch.save(convert.reading_to(submission, account))


def meter_update(write: ReadingWrite) -> tuple[list[Action], Condition]:
    """The update actions and the condition that make 'last submission wins' hold under races.

    What changes comes from the domain (`Meter.with_reading`); the condition is storage's own, and the
    in-memory fake of the tests holds the same one (the contract test runs both).
    """
    meter, s = write.meter, write.submission
    after = meter.with_reading(s)
    M = MeterItem
    actions = [
        M.cur_value.set(format_value(s.value)),
        M.cur_month.set(str(s.billing_month)),
        M.cur_at.set(iso(s.at)),
        M.cur_channel.set(str(s.channel)),
        M.cur_who.set(s.origin.who),
        M.cur_warnings.set(convert.warnings_to(s.warnings)),
    ]
    for attribute, value in (
        (M.cur_ip, s.origin.ip),
        (M.cur_phone, s.origin.phone),
        (M.cur_consumption, None if s.consumption is None else format_value(s.consumption)),
    ):
        actions.append(attribute.remove() if value is None else attribute.set(value))
    current = meter.current
    if write.bot:
        # A bot never overwrites a reading of its month, and only while its meter's bot is the one
        # it was decided on (a re-sealing since then switched it off).
        no_reading = M.cur_month.does_not_exist() | (M.cur_month < str(s.billing_month))
        unchanged = M.cur_month.does_not_exist() if current is None else (M.cur_at == iso(current.at))
        condition = no_reading & unchanged & (M.bot_enabled == True) & (M.seal_epoch == meter.seal_epoch)  # noqa: E712
        condition &= M.retired_on.does_not_exist()  # billing retired the meter since the close read it
    elif current is not None and current.billing_month == s.billing_month:
        # Same month: replace, unless a newer submission got there first.
        return actions, (M.cur_month == str(s.billing_month)) & (M.cur_at <= iso(s.at))
    elif current is None:
        return actions, M.pk.exists() & M.cur_month.does_not_exist()
    else:
        # A new month: the meter must still show exactly what we read, since the update moves it.
        condition = (M.cur_month == str(current.billing_month)) & (M.cur_at == iso(current.at))
    if after.previous_value is not None and after.previous_month != meter.previous_month:
        actions += [
            M.prev_value.set(format_value(after.previous_value)),
            M.prev_month.set(str(after.previous_month)),
        ]
    if after.usual is not None and (after.usual, after.usual_months) != (meter.usual, meter.usual_months):
        actions += [M.usual.set(format_value(after.usual)), M.usual_months.set(after.usual_months)]
    return actions, condition
