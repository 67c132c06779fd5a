"""The web cabinet's JSON shapes (docs/api.md), rendered from domain objects and service results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ekc.domain.kinds import KINDS
from ekc.domain.model import Account, Submission
from ekc.domain.values import Warning, format_value
from ekc.domain.windows import KYIV
from ekc.messages import RULES, SOURCE_LABEL, WARNINGS
from ekc.services.readings import MeterHistory, MeterView, ReadingsPage, RowResult
from ekc.storage.repository import LinkedAccount

NO_SERIAL = "дані відсутні"


def local_time(moment: datetime) -> str:
    """Kyiv time as the seed prints it: 2019-07-23 21:04:36."""
    return moment.astimezone(KYIV).strftime("%Y-%m-%d %H:%M:%S")


def warning(w: Warning) -> dict[str, str]:
    """A warning with its Ukrainian sentence."""
    return {"code": w.code, "message": WARNINGS[w.code].format(**w.params)}


def account_summary(a: Account | LinkedAccount) -> dict[str, Any]:
    """A row of the addresses table."""
    return {
        "number": a.number,
        "city": a.city,
        "city_code": a.city_code,
        "holder": a.holder,
        "address": a.address,
    }


def submission(s: Submission) -> dict[str, Any]:
    """One accepted reading."""
    return {
        "value": format_value(s.value),
        "billing_month": str(s.billing_month),
        "at": s.at.astimezone(KYIV).isoformat(timespec="seconds"),
        "channel": str(s.channel),
        "source": s.source,
        "source_label": SOURCE_LABEL.format(source=s.source, at=local_time(s.at)),
        "consumption": None if s.consumption is None else format_value(s.consumption),
        "warnings": [warning(w) for w in s.warnings],
    }


def meter_view(v: MeterView) -> dict[str, Any]:
    """A row of the readings page."""
    m, w = v.meter, v.window
    previous, previous_month = v.previous
    current = v.current
    return {
        "id": m.id,
        "serial": m.serial,
        "serial_label": m.serial or NO_SERIAL,
        "kind": str(m.kind),
        "kind_label": KINDS[m.kind].tag,
        "unit": m.unit,
        "note": m.note,
        "next_verification": m.next_verification.isoformat() if m.next_verification else None,
        "digits": m.digits,
        "organization": {"id": v.organization.id, "name": v.organization.name},
        "window": {
            "open": w.open,
            "billing_month": str(w.billing_month),
            "opens_at": w.opens_at.isoformat(),
            "closes_at": w.closes_at.isoformat(),
            "label": w.label,
        },
        "previous": None
        if previous is None
        else {
            "value": format_value(previous),
            "billing_month": str(previous_month) if previous_month else None,
        },
        "current": None if current is None else submission(current),
        "consumption": None
        if current is None or current.consumption is None
        else format_value(current.consumption),
        "bot": {"enabled": m.bot_enabled, "amount": format_value(m.bot_amount)},
    }


def readings_page(page: ReadingsPage) -> dict[str, Any]:
    """The readings page of one account."""
    a = page.account
    debt = None
    if a.debt is not None:
        d = a.debt
        debt = {"amount": f"{d.amount:.2f}", "recipient": d.recipient, "iban": d.iban, "purpose": d.purpose}
    return {
        "account": {**account_summary(a), "debt": debt},
        "rules": list(RULES),
        "meters": [meter_view(v) for v in page.meters],
    }


def row_result(r: RowResult) -> dict[str, Any]:
    """What happened to one row of a save."""
    return {
        "meter_id": r.meter_id,
        "status": r.status,
        "message": r.message,
        "warnings": [warning(w) for w in r.warnings],
    }


def history(h: MeterHistory) -> dict[str, Any]:
    """A meter's statistics."""
    return {
        "meter": meter_view(h.view),
        "submissions": [submission(s) for s in h.submissions],
        "months": [
            {
                "billing_month": str(m.billing_month),
                "value": format_value(m.value),
                "consumption": None if m.consumption is None else format_value(m.consumption),
            }
            for m in h.months
        ],
    }
