"""Items to domain objects and back; values are stored as exact decimal strings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from ekc.domain.identity import Channel, Origin
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Debt, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.plausibility import UsageProfile
from ekc.domain.values import Warning, WarningCode, format_value
from ekc.domain.windows import DayOfMonth, WindowRule
from ekc.storage import keys
from ekc.storage.base import iso
from ekc.storage.items import (
    AccountItem,
    DebtMap,
    MeterItem,
    MonthItem,
    OrganizationMap,
    ReadingItem,
    WarningMap,
    WindowMap,
)


def org_from(item: OrganizationMap) -> Organization:
    """An organization of the catalogue (its window rule validated on the way)."""
    w = item.window
    rule = WindowRule(
        DayOfMonth(int(w.opens_offset), int(w.opens_day)), DayOfMonth(int(w.closes_offset), int(w.closes_day))
    )
    return Organization(item.id, item.name, rule)


def org_to(org: Organization) -> OrganizationMap:
    """An organization as the catalogue stores it."""
    r = org.rule
    window = WindowMap(
        opens_offset=r.opens.month_offset,
        opens_day=r.opens.day,
        closes_offset=r.closes.month_offset,
        closes_day=r.closes.day,
    )
    return OrganizationMap(id=org.id, name=org.name, window=window)


def account_from(item: AccountItem) -> Account:
    """An account item as the domain's Account."""
    debt = None
    if item.debt is not None:
        d = item.debt
        as_of = date.fromisoformat(d.as_of) if d.as_of else None
        debt = Debt(Decimal(d.amount), d.recipient, d.iban, d.purpose, as_of)
    return Account(item.number, item.src, item.holder, item.address, item.city, item.city_code, debt)


def account_to(account: Account) -> AccountItem:
    """An Account as its item."""
    debt = None
    if account.debt is not None:
        d = account.debt
        debt = DebtMap(
            amount=str(d.amount),
            recipient=d.recipient,
            iban=d.iban,
            purpose=d.purpose,
            as_of=d.as_of.isoformat() if d.as_of else None,
        )
    return AccountItem(
        keys.account_pk(account.number),
        keys.ACCOUNT_SK,
        number=account.number,
        src=account.src,
        holder=account.holder,
        address=account.address,
        city=account.city,
        city_code=account.city_code,
        debt=debt,
    )


def warnings_from(items: list[WarningMap] | None) -> tuple[Warning, ...]:
    """Stored warnings, their numbers back as Decimals."""
    found = []
    for w in items or ():
        params = w.params.as_dict() if w.params else {}
        found.append(Warning(WarningCode(w.code), {k: Decimal(str(v)) for k, v in params.items()}))
    return tuple(found)


def warnings_to(warnings: tuple[Warning, ...]) -> list[WarningMap]:
    """Warnings as stored: codes with exact decimal strings."""
    return [
        WarningMap(code=str(w.code), params={k: format_value(v) for k, v in w.numbers.items()})
        for w in warnings
    ]


def dec(text: str | None) -> Decimal | None:
    """A stored decimal string, or None."""
    return None if text is None else Decimal(text)


def origin_of(channel: str | None, who: str | None, ip: str | None, phone: str | None) -> Origin:
    """An origin from its stored parts."""
    return Origin(Channel(channel or Channel.OPERATOR), who or "", ip=ip, phone=phone)


def meter_from(item: MeterItem, account: str) -> Meter:
    """A meter item as the domain's Meter, with the reading it shows now."""
    current = None
    if item.cur_month is not None and item.cur_value is not None:
        current = Submission(
            meter_id=item.meter_id,
            billing_month=Month.parse(item.cur_month),
            value=Decimal(item.cur_value),
            at=datetime.fromisoformat(item.cur_at),
            origin=origin_of(item.cur_channel, item.cur_who, item.cur_ip, item.cur_phone),
            warnings=warnings_from(item.cur_warnings),
            consumption=dec(item.cur_consumption),
        )
    return Meter(
        id=item.meter_id,
        account=account,
        kind=MeterKind(item.kind),
        unit=Unit.parse(item.unit),
        organization_id=item.org_id,
        digits=None if item.digits is None else int(item.digits),
        serial=item.serial,
        note=item.note or "",
        next_verification=date.fromisoformat(item.next_verification) if item.next_verification else None,
        previous_value=dec(item.prev_value),
        previous_month=Month.parse(item.prev_month) if item.prev_month else None,
        current=current,
        bot_enabled=bool(item.bot_enabled),
        bot_amount=Decimal(item.bot_amount or "0"),
        seal_epoch=int(item.seal_epoch or 0),
        usage=UsageProfile.from_text(item.usage),
        opening_value=dec(item.opening_value),
        opening_month=Month.parse(item.opening_month) if item.opening_month else None,
        day=date.fromisoformat(item.day) if item.day else None,
        day_count=int(item.day_count or 0),
        sealed_on=date.fromisoformat(item.sealed_on) if item.sealed_on else None,
        retired_on=date.fromisoformat(item.retired_on) if item.retired_on else None,
    )


def org_index_key(meter: Meter) -> str | None:
    """The meter's key in its organization's index; none once retired (the export no longer lists it)."""
    if meter.retired_on is not None:
        return None
    return keys.org_index_pk(meter.organization_id, keys.shard_of(meter.id))


def bot_index_key(meter: Meter) -> str | None:
    """The meter's key in the bots' index: only while its bot is on and it is not retired."""
    if meter.retired_on is not None or not meter.bot_enabled:
        return None
    return keys.bot_index_pk(meter.organization_id, keys.shard_of(meter.id))


def meter_to(meter: Meter) -> MeterItem:
    """A Meter as its item, index keys included."""
    item = MeterItem(
        keys.account_pk(meter.account),
        keys.meter_sk(meter.id),
        meter_id=meter.id,
        kind=str(meter.kind),
        unit=str(meter.unit),
        org_id=meter.organization_id,
        digits=meter.digits,
        serial=meter.serial,
        note=meter.note,
        next_verification=meter.next_verification.isoformat() if meter.next_verification else None,
        prev_value=None if meter.previous_value is None else format_value(meter.previous_value),
        prev_month=None if meter.previous_month is None else str(meter.previous_month),
        bot_enabled=meter.bot_enabled,
        bot_amount=format_value(meter.bot_amount),
        seal_epoch=meter.seal_epoch,
        usage=meter.usage.to_text() if meter.usage.uses else None,
        opening_value=None if meter.opening_value is None else format_value(meter.opening_value),
        opening_month=None if meter.opening_month is None else str(meter.opening_month),
        day=meter.day.isoformat() if meter.day else None,
        day_count=meter.day_count,
        sealed_on=meter.sealed_on.isoformat() if meter.sealed_on else None,
        retired_on=meter.retired_on.isoformat() if meter.retired_on else None,
        org_pk=org_index_key(meter),
        bot_pk=bot_index_key(meter),
    )
    if meter.current is not None:
        s = meter.current
        item.cur_value = format_value(s.value)
        item.cur_month = str(s.billing_month)
        item.cur_at = iso(s.at)
        item.cur_channel = str(s.channel)
        item.cur_who = s.origin.who
        item.cur_ip = s.origin.ip
        item.cur_phone = s.origin.phone
        item.cur_consumption = None if s.consumption is None else format_value(s.consumption)
        item.cur_warnings = warnings_to(s.warnings)
    return item


def new_meter_attributes(meter: Meter) -> dict[str, dict[str, object]]:
    """A meter nobody has read yet as DynamoDB attribute values: exactly `meter_to(meter).serialize()`,
    without building the PynamoDB item (the billing import writes 300,000 of these; a test compares)."""
    if meter.current is not None:
        raise ValueError("only a meter without readings")
    item: dict[str, dict[str, object]] = {
        "pk": {"S": keys.account_pk(meter.account)},
        "sk": {"S": keys.meter_sk(meter.id)},
        "type": {"S": "Meter"},
        "meter_id": {"S": meter.id},
        "kind": {"S": str(meter.kind)},
        "unit": {"S": str(meter.unit)},
        "org_id": {"S": meter.organization_id},
        "note": {"S": meter.note},
        "bot_enabled": {"BOOL": meter.bot_enabled},
        "bot_amount": {"S": format_value(meter.bot_amount)},
        "seal_epoch": {"N": str(meter.seal_epoch)},
        "day_count": {"N": str(meter.day_count)},
    }
    optional = (
        ("digits", "N", meter.digits),
        ("serial", "S", meter.serial),
        ("next_verification", "S", meter.next_verification.isoformat() if meter.next_verification else None),
        ("prev_value", "S", None if meter.previous_value is None else format_value(meter.previous_value)),
        ("prev_month", "S", None if meter.previous_month is None else str(meter.previous_month)),
        ("usage", "S", meter.usage.to_text() if meter.usage.uses else None),
        ("opening_value", "S", None if meter.opening_value is None else format_value(meter.opening_value)),
        ("opening_month", "S", None if meter.opening_month is None else str(meter.opening_month)),
        ("day", "S", meter.day.isoformat() if meter.day else None),
        ("sealed_on", "S", meter.sealed_on.isoformat() if meter.sealed_on else None),
        ("retired_on", "S", meter.retired_on.isoformat() if meter.retired_on else None),
        ("org_pk", "S", org_index_key(meter)),
        ("bot_pk", "S", bot_index_key(meter)),
    )
    for name, kind, value in optional:
        if value is not None:
            item[name] = {kind: str(value)}
    return item


def reading_to(s: Submission, account: str) -> ReadingItem:
    """A submission as its history item."""
    at = iso(s.at)
    return ReadingItem(
        keys.history_pk(s.meter_id),
        keys.reading_sk(at, uuid.uuid4().hex[:8]),
        meter_id=s.meter_id,
        account=account,
        billing_month=str(s.billing_month),
        value=format_value(s.value),
        at=at,
        channel=str(s.channel),
        who=s.origin.who,
        ip=s.origin.ip,
        phone=s.origin.phone,
        consumption=None if s.consumption is None else format_value(s.consumption),
        warnings=warnings_to(s.warnings),
    )


def month_to(s: Submission, account: str) -> MonthItem:
    """A submission as its month's winner."""
    return MonthItem(
        keys.history_pk(s.meter_id),
        keys.month_sk(str(s.billing_month)),
        meter_id=s.meter_id,
        account=account,
        billing_month=str(s.billing_month),
        value=format_value(s.value),
        at=iso(s.at),
        channel=str(s.channel),
        who=s.origin.who,
        ip=s.origin.ip,
        phone=s.origin.phone,
        consumption=None if s.consumption is None else format_value(s.consumption),
        warnings=warnings_to(s.warnings),
    )


def month_from(item: MonthItem) -> Submission:
    """A month's winner as a Submission."""
    return reading_from(item)  # type: ignore[arg-type]


def reading_from(item: ReadingItem) -> Submission:
    """A history item as a Submission."""
    return Submission(
        meter_id=item.meter_id,
        billing_month=Month.parse(item.billing_month),
        value=Decimal(item.value),
        at=datetime.fromisoformat(item.at),
        origin=origin_of(item.channel, item.who, item.ip, item.phone),
        warnings=warnings_from(item.warnings),
        consumption=dec(item.consumption),
    )
