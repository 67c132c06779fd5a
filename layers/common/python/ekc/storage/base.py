"""What every store shares: one botocore client per container, error translation, small helpers."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DeleteError,
    GetError,
    PutError,
    PynamoDBConnectionError,
    PynamoDBException,
    QueryError,
    TransactGetError,
    TransactWriteError,
    UpdateError,
)
from pynamodb.transactions import TransactWrite

from ekc.config import StorageSettings
from ekc.exceptions import InvalidRequest, StorageUnavailable
from ekc.observability import logger
from ekc.storage.items import MODELS, Item, MeterItem


def bind(settings: StorageSettings) -> Connection:
    """Point every model at the configured table through one shared connection, hence one client.

    PynamoDB gives each model class its own connection, and each connection builds its own botocore
    client on first use (~40 ms and a full garbage collection each). One table, one client.
    """
    Item.Meta.table_name = settings.table_name
    Item.Meta.region = settings.aws_region
    Item.Meta.host = settings.dynamodb_endpoint
    for model in (Item, *MODELS):
        model._connection = None
    # Built from the model that declares the indexes, so queries on them know their keys.
    shared = MeterItem._get_connection()
    for model in (Item, *MODELS):
        model._connection = shared
    return shared.connection


def iso(moment: datetime) -> str:
    """Server time as stored: UTC with microseconds, so strings sort as times do."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_STORAGE_ERRORS = (
    GetError,
    QueryError,
    TransactGetError,
    TransactWriteError,
    UpdateError,
    PutError,
    DeleteError,
    PynamoDBConnectionError,
)


@contextmanager
def errors() -> Iterator[None]:
    """Turn PynamoDB's failures into StorageUnavailable (the resident is told to retry).

    Failed conditions pass through untranslated: what they mean is the caller's to decide.
    """
    try:
        yield
    except PynamoDBException as exc:
        if _is_refused_condition(exc) or not isinstance(exc, _STORAGE_ERRORS):
            raise
        if response_code(exc) == "ValidationException":
            # DynamoDB refused the request itself (a key too long, say): retrying cannot help.
            logger.error("request refused by DynamoDB", extra={"why": response_message(exc)})
            raise InvalidRequest() from exc
        raise StorageUnavailable() from exc


def _is_refused_condition(exc: PynamoDBException) -> bool:
    if isinstance(exc, TransactWriteError) and response_code(exc) == "TransactionCanceledException":
        return {r.code for r in exc.cancellation_reasons if r} <= {"ConditionalCheckFailed"}
    return isinstance(exc, (UpdateError, PutError, DeleteError)) and is_condition_failure(exc)


def response_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code, or None when no answer came at all (a timeout, a reset connection).

    PynamoDB's own `cause_response_code` fails on a cause whose `response` is None (a read timeout):
    that turned a lost answer into a 500.
    """
    response = getattr(exc.cause, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def response_message(exc: PynamoDBException) -> str | None:
    """DynamoDB's error message, or None."""
    response = getattr(exc.cause, "response", None)
    return response.get("Error", {}).get("Message") if isinstance(response, dict) else None


def is_condition_failure(exc: PynamoDBException) -> bool:
    """Whether DynamoDB refused a write because its condition did not hold."""
    return response_code(exc) == "ConditionalCheckFailedException"


def resolved(future: object) -> Item | None:
    """The item a TransactGet future holds, or None when there was none."""
    try:
        return future.get()  # type: ignore[attr-defined]
    except Item.DoesNotExist:
        return None


@dataclass(frozen=True, slots=True)
class Counted:
    """One counter to ADD 1 to, only while it holds fewer than `below`; its TTL."""

    pk: str
    sk: str
    below: int
    expires: datetime


def add_within_limits(
    connection: Connection, model: type[Item], counters: list[Counted], conflict_retries: int
) -> list[int]:
    """ADD 1 to every counter, all or none, each only below its limit: 1 TransactWriteItems.

    Returns the indices of the counters whose condition refused (then nothing was counted); [] when
    counted. Two transactions on one counter at the same moment: DynamoDB cancels one
    ("TransactionConflict"); it is tried again with jitter, then StorageUnavailable ("try again").
    The model needs `count` (a number) and `ttl` attributes: the guess budgets and the recovery quotas.
    """
    for attempt in range(conflict_retries + 1):
        try:
            with TransactWrite(connection=connection) as tx:
                for c in counters:
                    tx.update(
                        model(c.pk, c.sk),
                        [model.count.add(1), model.ttl.set(c.expires)],  # type: ignore[attr-defined]
                        condition=model.count.does_not_exist() | (model.count < c.below),  # type: ignore[attr-defined]
                    )
            return []
        except TransactWriteError as exc:
            codes = [reason.code if reason else None for reason in exc.cancellation_reasons or []]
            if "ConditionalCheckFailed" in codes:
                return [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
            if "TransactionConflict" in codes and attempt < conflict_retries:
                time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
                continue
            with errors():
                raise
    raise StorageUnavailable()  # pragma: no cover - the loop returns or raises
