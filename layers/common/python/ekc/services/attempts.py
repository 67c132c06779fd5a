"""Budgets on guessable things (account + SRC, passwords): a guess is reserved before it is judged.

A budget allows `limit` guesses in its current window and the one before together (windows are fixed,
epoch-aligned, `window` long), so no boundary resets it and over a long time it allows at most
`limit` per two windows. A guess is *reserved* with a conditional ADD on the current window's counter
before it is judged (`reserve`), and given back when it turned out right (`release`): however many
requests arrive at once, in however many containers, no more guesses are judged than the budget holds.
The arithmetic these budgets give against a determined attacker is in docs/decisions.md ("Guessing").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ekc.domain.windows import KYIV
from ekc.storage.ports import Attempts, Cell, Reservation


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `limit` guesses in the current `window` and the previous one together."""

    name: str
    limit: int
    window: timedelta

    def number(self, moment: datetime) -> int:
        """The window `moment` falls in."""
        return int(moment.timestamp()) // int(self.window.total_seconds())

    def start(self, number: int) -> datetime:
        """When window `number` starts."""
        return datetime.fromtimestamp(number * int(self.window.total_seconds()), UTC)


@dataclass(frozen=True, slots=True)
class Claim:
    """A guess charged to a budget for someone or something (`whose`: a person, an account, the city)."""

    budget: Budget
    whose: str

    @property
    def key(self) -> str:
        """The counter's key."""
        return f"{self.budget.name}#{self.whose}"


@dataclass(frozen=True, slots=True)
class Reserved:
    """Guesses reserved for one judgment, to give back if it was right."""

    cells: tuple[Cell, ...]


class Refused(Exception):
    """No guess could be reserved: which budgets refused, and when the last of them lets up (Kyiv time)."""

    def __init__(self, budgets: tuple[Budget, ...], until: datetime) -> None:
        super().__init__(", ".join(b.name for b in budgets))
        self.budgets = budgets
        self.until = until


def reserve(store: Attempts, claims: list[Claim], now: datetime) -> Reserved:
    """Reserve one guess against every claim, all or none, or raise Refused.

    Requests: 1 BatchGetItem (the previous windows, and the current ones for an early refusal) +
    1 TransactWriteItems of conditional ADDs when there is room (none when there is not).
    """
    current = {c: Cell(c.key, c.budget.number(now)) for c in claims}
    previous = {c: Cell(c.key, c.budget.number(now) - 1) for c in claims}
    counts = store.counts([*current.values(), *previous.values()])
    wanted = [
        Reservation(current[c], c.budget.limit - counts[previous[c]], _expires(c.budget, current[c]))
        for c in claims
    ]
    early = [c for c, r in zip(claims, wanted, strict=True) if counts[r.cell] >= r.below]
    refused_cells = set() if early else set(store.reserve(wanted))
    refused = early or [c for c in claims if current[c] in refused_cells]
    if refused:
        raise Refused(tuple(c.budget for c in refused), _lifts(refused, counts, current, now))
    return Reserved(tuple(current[c] for c in claims))


def release(store: Attempts, reserved: Reserved) -> None:
    """Give back a reservation whose guess was right: 1 TransactWriteItems."""
    store.release(list(reserved.cells))


def _expires(budget: Budget, cell: Cell) -> datetime:
    # A counter matters in its own window and the next one; TTL removes it some time after.
    return budget.start(cell.window + 2)


def _lifts(
    refused: list[Claim], counts: dict[Cell, int], current: dict[Claim, Cell], now: datetime
) -> datetime:
    """When every refusing budget has room again, if nobody guesses meanwhile (Kyiv time)."""
    lifts = []
    for claim in refused:
        window = current[claim].window
        # This window's guesses still count in the next one; if they alone fill the budget, room
        # comes only when the next window ends.
        alone = counts.get(current[claim], 0) >= claim.budget.limit
        lifts.append(claim.budget.start(window + (2 if alone else 1)))
    return max(max(lifts), now).astimezone(KYIV)
