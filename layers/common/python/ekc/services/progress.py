"""Where an account stands this month: which meters take readings now, which are handed in, which wait.

Pure rules on what `readings.readings_page` or `readings.save_readings` already returned (no storage):
every door offers "the meters open now", and after the last one "what is saved this month".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ekc.services.readings import MeterView


@dataclass(frozen=True, slots=True)
class MonthProgress:
    """An account's meters sorted by what they still need."""

    handed_in: list[MeterView]  # open now, with a reading of the window's month
    waiting: list[MeterView]  # open now, no reading yet
    closed: list[MeterView]  # not taking readings now (see each view's window for when they open)

    @property
    def open(self) -> list[MeterView]:
        """Every meter taking readings now, handed in or not, in the account's order."""
        return sorted([*self.handed_in, *self.waiting], key=lambda v: v.meter.id)

    @property
    def complete(self) -> bool:
        """Every open meter has this month's reading (and at least one meter is open)."""
        return bool(self.handed_in) and not self.waiting


def progress(views: Iterable[MeterView]) -> MonthProgress:
    """Split an account's meters into handed in, waiting and closed, keeping their order."""
    handed_in, waiting, closed = [], [], []
    for view in views:
        if not view.window.open:
            closed.append(view)
        elif view.current is not None:
            handed_in.append(view)
        else:
            waiting.append(view)
    return MonthProgress(handed_in, waiting, closed)


def open_meters(views: Iterable[MeterView]) -> list[MeterView]:
    """The meters taking readings now."""
    return progress(views).open


def find(views: Iterable[MeterView], meter_id: str) -> MeterView | None:
    """One meter of the account by id, if the account has it."""
    return next((v for v in views if v.meter.id == meter_id), None)
