"""When a reminder before a window's close is due. Pure rules, no storage."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def due_offset(offsets: Iterable[int], ends_at: datetime, now: datetime) -> int | None:
    """The reminder due at `now` for a window ending at `ends_at`: the nearest offset (hours before the
    end) already reached, or None before the first one and once the window has ended.

    A run that comes late (say 20 h before the end, with offsets 48 and 24) sends the 24-hour one
    only: a resident gets the latest reminder, never two at once.
    """
    if now >= ends_at:
        return None
    reached = [h for h in offsets if now >= ends_at - timedelta(hours=h)]
    return min(reached) if reached else None
