"""Demo data shaped like the seed document: Кременчук, account 77777 with its four meters, and 88888.

Organizations' windows are laid around `now` (the real time, or LOCAL_NOW), so whatever day someone
tries the demo the meters of 77777 are open, except the hot water one, whose supplier's window is
closed today: its row shows when it opens. Accounts and meters are written only once, so readings
handed in survive restarts; the windows are laid anew on every start.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ekc.domain.identity import Channel, Origin, PersonCaller
from ekc.domain.kinds import KINDS, MeterKind
from ekc.domain.model import Account, Debt, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.plausibility import UsageProfile
from ekc.domain.windows import KYIV, DayOfMonth, WindowRule
from ekc.exceptions import Conflict
from ekc.services import auth, qrcodes
from ekc.storage import get_stores
from ekc.storage.ports import Stores

CITY, CITY_CODE = "Кременчук", "05366"
DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo12345"


def rule_around(today: date, opens_in_days: int, closes_in_days: int) -> tuple[WindowRule, Month]:
    """A window rule whose window for some month runs from today+opens to today+closes."""
    opens, closes = today + timedelta(days=opens_in_days), today + timedelta(days=closes_in_days)
    month = Month(opens.year, opens.month)
    offset = (closes.year - opens.year) * 12 + closes.month - opens.month
    return WindowRule(DayOfMonth(0, opens.day), DayOfMonth(offset, closes.day)), month


def demo_organizations(now: datetime) -> tuple[list[Organization], Month]:
    """The four suppliers; three open now, the hot water supplier closed until five days from now."""
    today = now.astimezone(KYIV).date()
    short, billing_month = rule_around(today, -1, 2)  # like electricity's 31st..3rd
    long, _ = rule_around(today, -1, 4)  # like gas's 31st..5th
    later, _ = rule_around(today, 5, 8)
    orgs = [
        Organization("electricity", "ТОВ «Кременчукенергозбут»", short),
        Organization("gas", "ТОВ «Кременчукгаззбут»", long),
        Organization("water", "КП «Кременчукводоканал»", short),
        Organization("heat", "КП «Кременчуцьке тепло»", later),
    ]
    return orgs, billing_month


def _meter(
    account: str, n: int, kind: MeterKind, org: str, digits: int, previous: str, month: Month, **extra: Any
) -> Meter:
    return Meter(
        id=f"{account}.{n}",
        account=account,
        kind=kind,
        unit=KINDS[kind].unit,
        organization_id=org,
        digits=digits,
        previous_value=Decimal(previous),
        previous_month=month.plus(-1),
        **extra,
    )


def demo_accounts(billing_month: Month) -> list[tuple[Account, list[Meter]]]:
    """77777 as the seed shows it, and 88888 for linking by account + SRC."""
    debt = Debt(
        Decimal("1234.56"),
        "ТОВ «Єдина комунальна система»",
        "UA213223130000026007233566001",
        "Оплата комунальних послуг, о/р 77777",
        date(billing_month.year, billing_month.month, 1),  # billing's amount as of the month's first day
    )
    gorshenov = Account(
        "77777", "512", "Горшеньов М. Ю.", "вул. Короля і Шута, буд. 43, кв. 85", CITY, CITY_CODE, debt
    )
    m = billing_month
    meters_77777 = [
        _meter(
            "77777",
            1,
            MeterKind.ELECTRICITY,
            "electricity",
            6,
            "6116.000",
            m,
            note="лічильник електроенергії",
            bot_enabled=True,
            bot_amount=Decimal(0),
        ),
        _meter("77777", 2, MeterKind.GAS, "gas", 5, "201.000", m, serial="002352", note="газовий лічильник"),
        _meter(
            "77777",
            3,
            MeterKind.COLD_WATER,
            "water",
            5,
            "105.000",
            m,
            serial="7254663",
            note="кухня",
            next_verification=date(2027, 11, 8),
        ),
        _meter("77777", 4, MeterKind.HOT_WATER, "heat", 5, "52.000", m, serial="0415072", note="ванна"),
    ]
    petrenko = Account(
        "88888", "640", "Петренко О. І.", "вул. Соборна, буд. 10, кв. 3", CITY, CITY_CODE, None
    )
    meters_88888 = [
        _meter("88888", 1, MeterKind.COLD_WATER, "water", 5, "310.500", m, serial="5512034", note="кухня"),
        _meter("88888", 2, MeterKind.ELECTRICITY, "electricity", 6, "12034.000", m, serial="99120431"),
    ]
    return [(gorshenov, meters_77777), (petrenko, meters_88888)]


# A year of 77777's monthly use before the demo month, so statistics have something to show.
PAST_USE = {
    "77777.1": ("210", "195", "180", "160", "150", "140", "150", "165", "170", "185", "200", "215"),
    "77777.2": ("18", "15", "12", "8", "5", "3", "3", "3", "4", "8", "12", "16"),
    "77777.3": ("3.2", "3.0", "3.4", "3.1", "3.6", "3.9", "4.2", "4.0", "3.5", "3.3", "3.1", "3.2"),
    "77777.4": ("2.1", "2.0", "2.2", "2.0", "1.8", "1.5", "1.2", "1.3", "1.6", "1.9", "2.0", "2.1"),
}
PAST_CHANNELS = (Channel.VIBER, Channel.WEB, Channel.IVR, Channel.VIBER, Channel.BOT, Channel.VOICE)
PAST_ORIGINS = {
    Channel.VIBER: Origin.viber("demo"),
    Channel.WEB: Origin(Channel.WEB, "demo", ip="192.0.2.15"),
    Channel.IVR: Origin.keypad("+380671231357"),
    Channel.VOICE: Origin.voice("+380536223351"),
    Channel.BOT: Origin.bot(),
}


def _with_past(meter: Meter, billing_month: Month) -> tuple[Meter, list[Submission]]:
    """The meter's last twelve months ending at its previous reading, and its usual use from them."""
    uses = [Decimal(u) for u in PAST_USE.get(meter.id, ())]
    if not uses or meter.previous_value is None:
        return meter, []
    value = meter.previous_value - sum(uses[1:])
    if value < 0:
        raise ValueError(f"the past use of {meter.id} exceeds its previous reading")
    month = billing_month.plus(-len(uses))
    usage = UsageProfile()
    history = []
    for n, use in enumerate(uses):
        if n:
            value += use
            usage = usage.updated(month, use, confirmed_high=False, rollover=False, months_elapsed=1)
        channel = PAST_CHANNELS[n % len(PAST_CHANNELS)]
        # Handed in on the window's second day, in the evening, Kyiv time.
        local = datetime.combine(date(month.year, month.month, 1), time(20, 15 + n), KYIV) + timedelta(
            days=27
        )
        history.append(
            Submission(
                meter_id=meter.id,
                billing_month=month,
                value=value,
                at=local.astimezone(UTC),
                origin=PAST_ORIGINS[channel],
                consumption=use if n else None,
            )
        )
        month = month.plus(1)
    return replace(meter, usage=usage), history


def seed_demo(now: datetime, stores: Stores | None = None) -> dict[str, Any]:
    """Write the demo (idempotently) and say what to print: logins and the invoice QR links of 77777."""
    stores = stores or get_stores()
    orgs, billing_month = demo_organizations(now)
    stores.catalogue.put_organizations(orgs)
    for account, meters in demo_accounts(billing_month):
        if stores.accounts.get_account(account.number) is None:
            for meter in meters:
                meter, history = _with_past(meter, billing_month)
                stores.accounts.put_meter(meter)
                stores.readings.import_history(account.number, history)
            stores.accounts.put_account(account)  # last: its presence marks the account as fully seeded
    try:
        signed = auth.sign_up(DEMO_EMAIL, DEMO_PASSWORD, stores=stores, now=now)
        caller = signed.session.caller
        person_id = caller.person_id if isinstance(caller, PersonCaller) else ""
        stores.people.delete_session(signed.session.session_id, person_id)
    except Conflict:
        login = stores.people.get_login(DEMO_EMAIL)
        person_id = login.person_id if login else ""
    gorshenov = stores.accounts.get_account("77777")
    if gorshenov is not None and person_id:
        stores.people.link(person_id, gorshenov, now)
    return {
        "logins": [[DEMO_EMAIL, DEMO_PASSWORD]],
        "links": {
            "web_qr_77777": qrcodes.web_link("77777", now),
            "viber_qr_77777": qrcodes.viber_link("77777", now),
        },
        "open billing month": billing_month.label,
        **_closing_hints(orgs, billing_month),
    }


def _closing_hints(orgs: list[Organization], month: Month) -> dict[str, str]:
    """When each demo window closes, and the command that closes electricity's a minute later (its bot)."""
    hints = {}
    for org in orgs:
        end = org.rule.bounds(month)[1]
        hints[f"{org.id} window ends"] = f"{end:%Y-%m-%d %H:%M} Kyiv time"
    end = next(o for o in orgs if o.id == "electricity").rule.bounds(month)[1]
    hints["see the bots fire"] = f"make close-window NOW={end + timedelta(minutes=1):%Y-%m-%dT%H:%M}"
    return hints
