"""Readings: each meter's history partition, written together with the meter's current value."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ekc.domain.model import RESIDENT_CHANNELS, Submission
from ekc.domain.values import format_value
from ekc.storage import convert, keys
from ekc.storage.base import errors, is_condition_failure, iso, response_code
from ekc.storage.items import MeterItem, MonthItem, ReadingItem, SaveItem
from ekc.storage.ports import HistoryPage, OutcomeUnknown, ReadingWrite, SaveMarker, SaveReplayed

# A failed condition, or another transaction on that meter right now: re-read and retry.
RACED = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
MARKER_LIFETIME = timedelta(days=2)
HISTORY_PAGE = 50


class DynamoReadings:
    """History items, month winners and the meters' `cur_*` attributes, changed in one transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record_readings(self, writes: list[ReadingWrite], *, key: str | None = None) -> list[bool]:
        """Write readings, their months' winners and the meters' values atomically: 1 TransactWriteItems.

        Each meter update is conditional: for the same month, only if the stored reading is not newer
        (last submission wins by server time); when a new month starts, only if the meter still shows
        what we read. Answers, per write, whether it was refused by its condition (True = conflict);
        when any is refused nothing is written, and the caller re-reads and retries the rest.

        With a `key` (one press of "save"), the transaction also creates that submission's marker: a
        second transaction with the same key (a retry, a replay) raises `SaveReplayed` and writes
        nothing. The key also makes DynamoDB's own retries of a lost answer idempotent
        (`ClientRequestToken`). A write whose answer never came raises `OutcomeUnknown`: `settle(key)`
        then tells what happened.
        """
        if not writes:
            return []
        n = len(writes)
        account = writes[0].meter.account
        token = (
            None if key is None else hashlib.sha256(f"{key}#{_fingerprint(writes)}".encode()).hexdigest()[:36]
        )
        with errors():
            try:
                with TransactWrite(connection=self._connection, client_request_token=token) as tx:
                    # PynamoDB sends puts before updates; cancellation reasons follow that order.
                    for write in writes:
                        tx.save(
                            convert.reading_to(write.submission, write.meter.account),
                            condition=ReadingItem.pk.does_not_exist(),
                        )
                    for write in writes:
                        month, condition = _month_put(write)
                        tx.save(month, condition=condition)
                    if key is not None:
                        saved = {w.meter.id: format_value(w.submission.value) for w in writes}
                        marker = _marker(account, key, "saved", saved, writes[0].submission.at)
                        tx.save(marker, condition=SaveItem.pk.does_not_exist())
                    for write in writes:
                        actions, condition = meter_update(write)
                        tx.update(
                            MeterItem(keys.account_pk(write.meter.account), keys.meter_sk(write.meter.id)),
                            actions,
                            condition,
                        )
                return [False] * n
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons
                if response_code(exc) == "IdempotentParameterMismatchException" and key is not None:
                    raise SaveReplayed(self.marker(account, key)) from exc
                if not reasons or response_code(exc) != "TransactionCanceledException":
                    if key is not None and _no_answer(exc):
                        raise OutcomeUnknown(account, key) from exc
                    raise
                codes = [(r.code if r else "None") for r in reasons]
                marker_at = 2 * n
                if key is not None and codes[marker_at] == "ConditionalCheckFailed":
                    raise SaveReplayed(self.marker(account, key)) from exc
                updates = 2 * n + (1 if key is not None else 0)
                if any(c not in RACED | {"None"} for c in codes):
                    raise
                return [bool(RACED & {codes[i], codes[n + i], codes[updates + i]}) for i in range(n)]

    def marker(self, account: str, key: str) -> SaveMarker | None:
        """A submission's marker, read consistently: 1 GetItem."""
        with errors():
            try:
                item = SaveItem.get(keys.save_pk(account, key), keys.SAVE_SK, consistent_read=True)
            except SaveItem.DoesNotExist:
                return None
        return SaveMarker(item.state, dict(item.saved.as_dict()) if item.saved else {})

    def claim(self, account: str, key: str, now: datetime) -> None:
        """Mark a key as answered without a write; SaveReplayed if it was used before: 1 PutItem."""
        with errors():
            try:
                _marker(account, key, "answered", {}, now).save(condition=SaveItem.pk.does_not_exist())
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
                raise SaveReplayed(self.marker(account, key)) from exc

    def settle(self, account: str, key: str, now: datetime) -> SaveMarker:
        """After a lost answer: was the save applied? 1 PutItem (+1 GetItem when it was).

        Creating the marker as "abandoned" succeeds only if the save never happened, and then it never
        can (its own marker would fail its condition): "nothing saved" is final. If the marker exists,
        the save happened: "saved".
        """
        with errors():
            try:
                _marker(account, key, "abandoned", {}, now).save(condition=SaveItem.pk.does_not_exist())
                return SaveMarker("abandoned", {})
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
        found = self.marker(account, key)
        return found if found is not None else SaveMarker("abandoned", {})

    def history(self, meter_id: str, limit: int = HISTORY_PAGE, before: str | None = None) -> HistoryPage:
        """A page of a meter's submissions, newest first: 1 Query; `before` is the last page's cursor."""
        start = None
        if before is not None:
            start = {"pk": {"S": keys.history_pk(meter_id)}, "sk": {"S": before}}
        with errors():
            items = ReadingItem.query(
                keys.history_pk(meter_id),
                ReadingItem.sk.startswith(keys.READING_PREFIX),
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
                page_size=limit,
            )
            found = list(items)
        cursor = found[-1].sk if len(found) == limit else None
        return HistoryPage([convert.reading_from(item) for item in found], cursor)

    def months(self, meter_id: str, count: int = 25) -> list[Submission]:
        """The winning reading of each of the meter's last `count` billing months, oldest first: 1 Query."""
        with errors():
            items = MonthItem.query(
                keys.history_pk(meter_id),
                MonthItem.sk.startswith(keys.MONTH_PREFIX),
                scan_index_forward=False,
                limit=count,
            )
            found = [convert.month_from(item) for item in items]
        return found[::-1]

    def import_history(self, account: str, submissions: list[Submission]) -> None:
        """Load past submissions and their months' winners (seed, migration): BatchWriteItem, 25 a request."""
        winners: dict[tuple[str, str], Submission] = {}
        for s in submissions:
            best = winners.get((s.meter_id, str(s.billing_month)))
            if best is None or best.at <= s.at:
                winners[(s.meter_id, str(s.billing_month))] = s
        with errors(), ReadingItem.batch_write() as batch:
            for submission in submissions:
                batch.save(convert.reading_to(submission, account))
            for submission in winners.values():
                batch.save(convert.month_to(submission, account))


def _fingerprint(writes: list[ReadingWrite]) -> str:
    # The token must change with the request's content, or a re-decided retry would be refused.
    return ",".join(f"{w.meter.id}={w.submission.value}@{iso(w.submission.at)}" for w in writes)


def _no_answer(exc: TransactWriteError) -> bool:
    """The request may have reached DynamoDB, but its answer never came back."""
    return response_code(exc) is None


def _marker(account: str, key: str, state: str, saved: dict[str, str], at: datetime) -> SaveItem:
    return SaveItem(
        keys.save_pk(account, key),
        keys.SAVE_SK,
        state=state,
        saved=saved,
        at=iso(at),
        ttl=at + MARKER_LIFETIME,
    )


def _month_put(write: ReadingWrite) -> tuple[MonthItem, Condition]:
    """The month's winner, replaced under the same rule as the meter's current reading."""
    s = write.submission
    item = convert.month_to(s, write.meter.account)
    if write.bot:
        return item, MonthItem.pk.does_not_exist()
    return item, MonthItem.pk.does_not_exist() | (MonthItem.at <= iso(s.at))


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
    optional = (
        (M.cur_ip, s.origin.ip),
        (M.cur_phone, s.origin.phone),
        (M.cur_consumption, None if s.consumption is None else format_value(s.consumption)),
        (M.usage, after.usage.to_text() if after.usage.uses else None),
    )
    for attribute, value in optional:
        actions.append(attribute.remove() if value is None else attribute.set(value))
    if (after.day, after.day_count) != (meter.day, meter.day_count) and after.day is not None:
        actions += [M.day.set(after.day.isoformat()), M.day_count.set(after.day_count)]
    if (after.previous_value, after.previous_month) != (meter.previous_value, meter.previous_month):
        actions += [
            M.prev_value.set(format_value(after.previous_value)),  # type: ignore[arg-type]
            M.prev_month.set(str(after.previous_month)),
        ]
    return actions, _condition(write) & _same_day_count(write)


def _condition(write: ReadingWrite) -> Condition:
    meter, s = write.meter, write.submission
    M = MeterItem
    current = meter.current
    if write.bot:
        # A bot never overwrites a reading of its month, and only while its meter's bot is the one
        # it was decided on (a re-sealing since then switched it off).
        no_reading = M.cur_month.does_not_exist() | (M.cur_month < str(s.billing_month))
        unchanged = M.cur_month.does_not_exist() if current is None else (M.cur_at == iso(current.at))
        bot_still_on = (M.bot_enabled == True) & (M.seal_epoch == meter.seal_epoch)  # noqa: E712
        # ...and never on a meter billing retired since the close read it.
        return no_reading & unchanged & bot_still_on & M.retired_on.does_not_exist()
    if current is not None and current.billing_month == s.billing_month:
        # Same month: replace, unless a newer submission got there first.
        return (M.cur_month == str(s.billing_month)) & (M.cur_at <= iso(s.at))
    if current is None:
        return M.pk.exists() & M.cur_month.does_not_exist()
    # A new month: the meter must still show exactly what we read, since the update moves it.
    return (M.cur_month == str(current.billing_month)) & (M.cur_at == iso(current.at))


def _same_day_count(write: ReadingWrite) -> Condition:
    """The day's count is what we read, so parallel submissions cannot slip past the daily limit."""
    M = MeterItem
    meter = write.meter
    if write.submission.channel not in RESIDENT_CHANNELS or meter.day is None:
        return M.pk.exists()
    return (M.day != meter.day.isoformat()) | M.day.does_not_exist() | (M.day_count == meter.day_count)
