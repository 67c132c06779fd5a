"""Rate limits on guessable things (account + SRC, passwords): failures counted in 15-minute windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ekc.domain.windows import KYIV
from ekc.exceptions import TooManyAttempts
from ekc.storage.ports import Attempts


def _window(now: datetime, minutes: int) -> int:
    return int(now.timestamp()) // (minutes * 60)


def check(store: Attempts, keys: list[str], allowed: int, minutes: int, now: datetime) -> None:
    """Refuse when any key failed `allowed` times in this window and the previous one: 1 BatchGetItem."""
    window = _window(now, minutes)
    previous, current = store.failures_by_window(keys, [window - 1, window])
    if max((previous[k] + current[k] for k in keys), default=0) < allowed:
        return
    # Failures of this window still count in the next one; if they alone reach the limit,
    # the lock lifts only when the next window ends.
    lifts = window + 2 if max(current.values(), default=0) >= allowed else window + 1
    until = datetime.fromtimestamp(lifts * minutes * 60, UTC)
    raise TooManyAttempts(until=until.astimezone(KYIV))


def fail(store: Attempts, keys: list[str], minutes: int, now: datetime) -> None:
    """Count a failure against every key: 1 TransactWriteItems; TTL clears them after two windows."""
    window = _window(now, minutes)
    store.add_failure(keys, window, now + timedelta(minutes=2 * minutes))
