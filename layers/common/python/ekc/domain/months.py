"""Billing months: a year and a month, ordered, printable as the seed prints them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A billing month such as 07/2019."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month out of range: {self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """Read the storage form '2019-07'."""
        year, month = text.split("-")
        return cls(int(year), int(month))

    def plus(self, months: int) -> Month:
        """The month `months` later (or earlier, if negative)."""
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def months_since(self, earlier: Month) -> int:
        """How many months `earlier` lies before this one (negative if after)."""
        return (self.year - earlier.year) * 12 + self.month - earlier.month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """The form residents see: 07/2019."""
        return f"{self.month:02d}/{self.year:04d}"
