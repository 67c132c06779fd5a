"""The server's clock: real time, or the local stack's shifted clock that starts at LOCAL_NOW."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ekc.config import clock_settings

_started_monotonic = time.monotonic()


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    start = clock_settings().local_now
    if start is None:
        return datetime.now(UTC)
    # The demo clock starts at LOCAL_NOW and runs on, so two submissions never share a timestamp.
    return start.astimezone(UTC) + timedelta(seconds=time.monotonic() - _started_monotonic)
