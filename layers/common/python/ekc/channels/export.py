"""The door to the utilities' billing departments: the monthly CSV of readings and its manifest.

Columns and values are documented for them in docs/export.md. Everything here is a function of the
stored readings only (never of the time of export), so a re-run writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ekc.domain.closing import MonthResult
from ekc.domain.identity import Channel
from ekc.domain.model import Meter, Organization
from ekc.domain.months import Month
from ekc.domain.values import WarningCode, format_value
from ekc.domain.windows import KYIV, WindowState

FORMAT = "ekc-readings-export/1"
CONTENT_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "billing_month",
    "account",
    "meter_id",
    "meter_serial",
    "kind",
    "unit",
    "previous_value",
    "previous_month",
    "value",
    "consumption",
    "status",
    "channel",
    "submitted_at",
    "flags",
)
STATUS_READING = "reading"
STATUS_NO_READING = "no_reading"
FLAG_BOT = "bot"
# Warnings given with a reading, as the flags column names them (its order is the column's order).
FLAGS: dict[WarningCode, str] = {
    WarningCode.LOWER_THAN_PREVIOUS: "lower_than_previous",
    WarningCode.ROLLOVER: "rollover",
    WarningCode.CONFIRMED_HIGH: "confirmed_high",
}
FLAG_ORDER = (*FLAGS.values(), FLAG_BOT)


def csv_key(org_id: str, month: Month) -> str:
    """Where an organization's export of a month lives in the data bucket."""
    return f"exports/{org_id}/{month}.csv"


def manifest_key(org_id: str, month: Month) -> str:
    """The export's manifest, beside it."""
    return f"exports/{org_id}/{month}.manifest.json"


def part_key(org_id: str, month: Month, shard: int, number: int) -> str:
    """A piece of an export while it is being made (not for the utilities; expired by the bucket)."""
    return f"work/exports/{org_id}/{month}/{shard:02d}-{number:04d}.csv"


def _lines(rows: Iterable[Iterable[str]]) -> bytes:
    out = io.StringIO()
    # RFC 4180: commas, CRLF, quotes only where a value needs them.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def header() -> bytes:
    """The CSV's first line."""
    return _lines([COLUMNS])


def kyiv_time(moment: datetime) -> str:
    """A server time as Kyiv local time with its UTC offset, to the second: 2026-11-24T23:04:36+02:00."""
    return moment.astimezone(KYIV).replace(microsecond=0).isoformat()


def row(meter: Meter, month: Month, result: MonthResult) -> list[str]:
    """One meter's line: its reading of the month, or a line saying it has none."""
    s = result.reading
    value = s.value if s is not None else result.value_only
    flags: set[str] = set()
    if s is not None:
        flags.update(FLAGS[w.code] for w in s.warnings if w.code in FLAGS)
        if s.channel is Channel.BOT:
            flags.add(FLAG_BOT)
    return [
        str(month),
        meter.account,
        meter.id,
        meter.serial or "",
        str(meter.kind),
        str(meter.unit),
        "" if result.previous is None else format_value(result.previous),
        "" if result.previous_month is None else str(result.previous_month),
        "" if value is None else format_value(value),
        "" if s is None or s.consumption is None else format_value(s.consumption),
        STATUS_NO_READING if value is None else STATUS_READING,
        "" if s is None else str(s.channel),
        "" if s is None else kyiv_time(s.at),
        ";".join(f for f in FLAG_ORDER if f in flags),
    ]


def rows(lines: Iterable[list[str]]) -> bytes:
    """Lines as CSV bytes (no header)."""
    return _lines(lines)


@dataclass
class Totals:
    """What a manifest counts and sums, added up line by line and part by part."""

    counts: dict[str, int]
    sums: dict[str, Decimal]

    @classmethod
    def empty(cls) -> Totals:
        """Nothing counted yet."""
        return cls({}, {})

    def add_row(self, line: list[str]) -> None:
        """Count one CSV line (as `row` made it)."""
        named = dict(zip(COLUMNS, line, strict=True))
        self._count("rows")
        if named["status"] == STATUS_NO_READING:
            self._count("rows_without_reading")
            return
        self._count("rows_with_reading")
        self._count(f"channel.{named['channel'] or 'imported'}")
        unit = named["unit"]
        self._count(f"unit.{unit}")
        self._sum(f"value.{unit}", Decimal(named["value"]))
        if named["consumption"]:
            self._sum(f"consumption.{unit}", Decimal(named["consumption"]))
        for flag in filter(None, named["flags"].split(";")):
            self._count(f"flag.{flag}")

    def merge(self, other: Totals) -> None:
        """Add another part's totals."""
        for name, n in other.counts.items():
            self._count(name, n)
        for name, amount in other.sums.items():
            self._sum(name, amount)

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def _sum(self, name: str, amount: Decimal) -> None:
        self.sums[name] = self.sums.get(name, Decimal(0)) + amount

    def as_strings(self, prefix: str = "") -> dict[str, str]:
        """Flat exact strings, for storing with a shard's progress."""
        out = {f"{prefix}n.{k}": str(v) for k, v in self.counts.items()}
        out.update({f"{prefix}s.{k}": format_value(v) for k, v in self.sums.items()})
        return out

    @classmethod
    def from_strings(cls, stored: Mapping[str, str], prefix: str = "") -> Totals:
        """Totals back from `as_strings`."""
        totals = cls.empty()
        for name, text in stored.items():
            if name.startswith(prefix + "n."):
                totals.counts[name.removeprefix(prefix + "n.")] = int(text)
            elif name.startswith(prefix + "s."):
                totals.sums[name.removeprefix(prefix + "s.")] = Decimal(text)
        return totals


@dataclass(frozen=True, slots=True)
class Run:
    """Which close wrote an export, and when its last part was done."""

    id: str
    started_at: datetime
    completed_at: datetime


def manifest(
    org: Organization,
    month: Month,
    window: WindowState,
    totals: Totals,
    size: int,
    sha256: str,
    run: Run,
) -> bytes:
    """The manifest: what the CSV holds (rows, counts, sums per unit), its SHA-256, and which run wrote it."""
    counts, sums = totals.counts, totals.sums
    units = sorted({name.split(".", 1)[1] for name in counts if name.startswith("unit.")})
    body: dict[str, Any] = {
        "format": FORMAT,
        "organization": {"id": org.id, "name": org.name},
        "billing_month": str(month),
        "window": {"opens_at": kyiv_time(window.opens_at), "closes_at": kyiv_time(window.closes_at)},
        "file": {"key": csv_key(org.id, month), "bytes": size, "sha256": sha256, "columns": list(COLUMNS)},
        "rows": counts.get("rows", 0),
        "rows_with_reading": counts.get("rows_with_reading", 0),
        "rows_without_reading": counts.get("rows_without_reading", 0),
        "rows_by_channel": {
            name.removeprefix("channel."): n
            for name, n in sorted(counts.items())
            if name.startswith("channel.")
        },
        "rows_by_flag": {
            name.removeprefix("flag."): n for name, n in sorted(counts.items()) if name.startswith("flag.")
        },
        "sums_by_unit": {
            unit: {
                "rows_with_reading": counts.get(f"unit.{unit}", 0),
                "value": format_value(sums.get(f"value.{unit}", Decimal(0))),
                "consumption": format_value(sums.get(f"consumption.{unit}", Decimal(0))),
            }
            for unit in units
        },
        "run": {
            "id": run.id,
            "started_at": kyiv_time(run.started_at),
            "completed_at": kyiv_time(run.completed_at),
        },
    }
    return (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
