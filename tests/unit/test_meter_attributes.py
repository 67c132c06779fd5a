"""The billing import's direct item builder against PynamoDB's own serialisation of the same meter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ekc.domain.kinds import KINDS, MeterKind
from ekc.domain.model import Meter
from ekc.domain.months import Month
from ekc.domain.plausibility import MonthUse, UsageProfile
from ekc.storage import convert
from ekc.storage.items import MeterItem

DATES = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)))
VALUES = st.one_of(st.none(), st.decimals(min_value=0, max_value=999999, places=3, allow_nan=False))


@st.composite
def meters(draw: st.DrawFn) -> Meter:
    kind = draw(st.sampled_from(list(MeterKind)))
    account = str(draw(st.integers(10000, 999999)))
    previous = draw(VALUES)
    return Meter(
        id=f"{account}.{draw(st.integers(1, 999))}",
        account=account,
        kind=kind,
        unit=KINDS[kind].unit,
        organization_id=draw(st.sampled_from(["water", "gas", "el-2"])),
        digits=draw(st.one_of(st.none(), st.integers(1, 12))),
        serial=draw(st.one_of(st.none(), st.text(min_size=1, max_size=12))),
        note=draw(st.text(max_size=20)),
        next_verification=draw(DATES),
        previous_value=previous,
        previous_month=None if previous is None else Month(2026, draw(st.integers(1, 12))),
        bot_enabled=draw(st.booleans()),
        bot_amount=draw(st.decimals(min_value=0, max_value=500, places=3, allow_nan=False)),
        seal_epoch=draw(st.integers(0, 5)),
        usage=UsageProfile(
            tuple(MonthUse(Month(2026, m), draw(VALUES)) for m in range(1, draw(st.integers(1, 12))))
        ),
        opening_value=draw(VALUES),
        opening_month=draw(st.one_of(st.none(), st.just(Month(2025, 3)))),
        day=draw(DATES),
        day_count=draw(st.integers(0, 9)),
        sealed_on=draw(DATES),
        retired_on=draw(DATES),
    )


@settings(max_examples=200, deadline=None)
@given(meters())
def test_new_meter_attributes_equal_pynamodbs_serialisation(meter: Meter) -> None:
    # Given any meter without readings / Then the direct attributes are PynamoDB's, attribute for attribute
    assert convert.new_meter_attributes(meter) == convert.meter_to(meter).serialize()


def test_new_meter_attributes_round_trip_to_the_same_meter() -> None:
    # Given a meter as billing describes it
    meter = Meter(
        "77777.3",
        "77777",
        MeterKind.COLD_WATER,
        KINDS[MeterKind.COLD_WATER].unit,
        "water",
        5,
        serial="7254663",
        note="кухня",
        previous_value=Decimal("105.000"),
        previous_month=Month(2026, 10),
        sealed_on=date(2021, 11, 8),
    )
    # When its attributes are read back as PynamoDB reads an item
    item = MeterItem.from_raw_data(convert.new_meter_attributes(meter))
    # Then it is the same meter
    assert convert.meter_from(item, "77777") == meter
