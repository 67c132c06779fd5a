"""Reminders before a window closes, with the in-memory stores and a recording sender: who, once, what."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ekc.channels import viber as words
from ekc.config import ReminderSettings
from ekc.domain.identity import Origin
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Meter, Organization, Submission
from ekc.domain.months import Month
from ekc.domain.reminders import due_offset
from ekc.domain.windows import KYIV, DayOfMonth, WindowRule
from ekc.services import reminders
from ekc.storage import keys
from ekc.storage.ports import ReadingWrite, ReminderKey, ViberIdentity
from ekc.viber_api import Sent
from tests.fakes import FakeStores

OCT, SEP = Month(2026, 10), Month(2026, 9)
ELECTRICITY = Organization("el", "ТОВ «Енергозбут»", WindowRule(DayOfMonth(0, 31), DayOfMonth(1, 3)))
GAS = Organization("gas", "Газзбут", WindowRule(DayOfMonth(0, 20), DayOfMonth(0, 25)))
ENDS = datetime(2026, 11, 4, 0, 0, tzinfo=KYIV)  # October's electricity window ends here
T48 = ENDS - timedelta(hours=47)  # the 48-hour reminder is due, the 24-hour one not yet
T24 = ENDS - timedelta(hours=23)
SETTINGS = ReminderSettings(reminder_hours="48,24", reminder_rate_per_second=50)


class RecordingSender:
    """Viber as the reminders see it: records each message; answers what a test arms per Viber user."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Sent] = {}

    def send(self, viber_id: str, message: dict[str, Any]) -> Sent:
        self.sent.append((viber_id, message))
        return self.answers.get(viber_id, Sent(True))

    def to(self, viber_id: str) -> list[str]:
        return [m["text"] for v, m in self.sent if v == viber_id]


def _meter(account: str, n: int, **changes: Any) -> Meter:
    base = Meter(
        id=f"{account}.{n}",
        account=account,
        kind=MeterKind.ELECTRICITY,
        unit=Unit.KILOWATT_HOUR,
        organization_id="el",
        digits=6,
        serial=f"S{account}{n}",
        note="двотарифний" if n == 1 else "",
        previous_value=Decimal(6106),
        previous_month=SEP,
    )
    return replace(base, **changes)


def _account(number: str) -> Account:
    return Account(number, "123", f"Holder {number}", f"вул. Миру, {number[-1]}", "Кременчук", "05366")


def _city() -> FakeStores:
    """Five accounts in October's electricity window, each with its person:

    10000 (p-0, subscribed in Viber): a bot meter adding 10 and a meter without a bot, nothing handed in;
    10004 is p-0's too (one more meter due, and a gas meter of another organization);
    10001 (p-1, subscribed): everything handed in; 10002 (p-2): unsubscribed; 10003 (p-3): no Viber.
    """
    stores = FakeStores([ELECTRICITY, GAS])
    bot = {"bot_enabled": True, "bot_amount": Decimal(10)}
    stores.add_account(_account("10000"), [_meter("10000", 1, **bot), _meter("10000", 2)], ("p-0",))
    gas = _meter("10004", 2, kind=MeterKind.GAS, unit=Unit.CUBIC_METRE, organization_id="gas")
    stores.add_account(_account("10004"), [_meter("10004", 1), gas], ("p-0",))
    for number, person in (("10001", "p-1"), ("10002", "p-2"), ("10003", "p-3")):
        stores.add_account(_account(number), [_meter(number, 1, **bot), _meter(number, 2)], (person,))
    for meter in [m for m in stores.fake_accounts.meters.values() if m.account == "10001"]:
        s = Submission(meter.id, OCT, Decimal(6200), T48 - timedelta(days=1), Origin.viber("p-1"))
        stores.readings.record_readings([ReadingWrite(meter, s)])
    for n in range(3):
        stores.viber_users.create(ViberIdentity(f"vb-{n}==", f"p-{n}", True), T48)
    stores.viber_users.set_subscribed("vb-2==", False, T48)
    return stores


def _send(stores: FakeStores, sender: RecordingSender, now: datetime, **kw: Any) -> reminders.ReminderReport:
    return reminders.send_due(now=now, stores=stores, sender=sender, settings=SETTINGS, **kw)


def _metrics(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The CloudWatch EMF lines Powertools printed (its metrics go to stdout)."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return [{k: v for k, v in line.items() if k != "_aws"} for line in lines]


def test_reminders_go_once_and_only_to_subscribed_people_with_meters_due(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stores, sender = _city(), RecordingSender()
    capsys.readouterr()
    # When the 48-hour reminders are due
    report = _send(stores, sender, T48)
    assert _metrics(capsys) == [{"organization": "el", "service": "tests", "RemindersSent": [1.0]}]
    # Then one message goes, to p-0's Viber user: not to p-1 (all handed in), p-2 (unsubscribed), p-3
    assert [v for v, _ in sender.sent] == ["vb-0=="]
    assert [(r.org_id, r.month, r.hours, r.sent, r.shards_done) for r in report.rounds] == [
        ("el", "2026-10", 48, 1, keys.ORG_SHARDS)
    ]
    # When the schedule fires again (15 minutes later, and again at once: EventBridge may fire twice)
    again = _send(stores, sender, T48 + timedelta(minutes=15))
    _send(stores, sender, T48 + timedelta(minutes=15))
    # Then nothing more is sent: every shard is done
    assert len(sender.sent) == 1 and again.rounds[0].sent == 0
    # And with the shards forgotten (a run that died before recording them), the markers still hold
    stores.fake_reminders.done.clear()
    redo = _send(stores, sender, T48 + timedelta(minutes=30))
    assert len(sender.sent) == 1 and redo.rounds[0].already == 1


def test_reminders_wait_for_their_offset_and_stop_at_the_close() -> None:
    stores, sender = _city(), RecordingSender()
    # Before the 48-hour mark, and once the window has ended: no round at all
    assert _send(stores, sender, ENDS - timedelta(hours=49)).rounds == []
    assert _send(stores, sender, ENDS).rounds == []
    assert sender.sent == []
    # From 48 hours before: the 48-hour round; from 24 hours before: the 24-hour one, once each
    _send(stores, sender, ENDS - timedelta(hours=48))
    _send(stores, sender, T24)
    _send(stores, sender, T24 + timedelta(hours=1))
    assert len(sender.to("vb-0==")) == 2


def test_reminders_a_late_first_run_sends_only_the_nearest_reminder() -> None:
    stores, sender = _city(), RecordingSender()
    report = _send(stores, sender, ENDS - timedelta(hours=20))
    assert [r.hours for r in report.rounds] == [24] and len(sender.sent) == 1


def test_reminders_a_resident_who_hands_everything_in_is_not_reminded_again() -> None:
    stores, sender = _city(), RecordingSender()
    _send(stores, sender, T48)
    for meter in [m for m in stores.fake_accounts.meters.values() if m.organization_id == "el"]:
        if meter.account in ("10000", "10004"):
            s = Submission(meter.id, OCT, Decimal(6200), T48 + timedelta(hours=1), Origin.viber("p-0"))
            stores.readings.record_readings([ReadingWrite(meter, s)])
    _send(stores, sender, T24)
    assert len(sender.to("vb-0==")) == 1


def test_reminders_message_lists_each_meter_with_what_the_bot_will_record() -> None:
    stores, sender = _city(), RecordingSender()
    _send(stores, sender, T48)
    (text,) = sender.to("vb-0==")
    # Which window, until when (Kyiv time, in words)
    assert "показники за 10/2026 для «ТОВ «Енергозбут»» приймаються до 3 листопада 2026 р. о 23:59" in text
    # Every meter due of both accounts of p-0 in this organization (not the gas one), with the bot's line
    bot_line = "  якщо не подасте, бот внесе 6\u00a0116,000 кВт·год"
    assert f"• о/р 10000: Електроенергія, двотарифний, № S100001\n{bot_line}\n" in text
    assert "• о/р 10000: Електроенергія, № S100002\n" in text
    assert "• о/р 10004: Електроенергія, двотарифний, № S100041\n" in text
    assert "S100042" not in text and text.count("бот внесе") == 1
    # And the keyboard's "Введення показників" sends what the existing flow answers
    keyboard = sender.sent[0][1]["keyboard"]
    assert words.BTN_ENTER in [b["ActionBody"] for b in keyboard["Buttons"]]


def test_reminders_a_user_viber_says_is_not_subscribed_gets_no_more(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stores, sender = _city(), RecordingSender()
    sender.answers["vb-0=="] = Sent(False, "receiver_not_subscribed", unreachable=True)
    capsys.readouterr()
    report = _send(stores, sender, T48)
    assert _metrics(capsys) == [
        {"reason": "receiver_not_subscribed", "service": "tests", "RemindersFailed": [1.0]},
        {"reason": "all", "service": "tests", "RemindersFailed": [1.0]},  # the series the alarm watches
    ]
    # Then the failure is counted, not retried, and the user is marked unsubscribed
    assert (report.rounds[0].sent, report.rounds[0].failed) == (0, 1)
    assert report.rounds[0].reasons == {"receiver_not_subscribed": 1}
    assert stores.viber_users.get("vb-0==") == ViberIdentity("vb-0==", "p-0", False)
    # And the next reminder does not go to them
    _send(stores, sender, T24)
    assert len(sender.sent) == 1


def test_reminders_a_failed_send_is_not_retried_into_a_duplicate() -> None:
    stores, sender = _city(), RecordingSender()
    sender.answers["vb-0=="] = Sent(False, "http_503")
    _send(stores, sender, T48)
    del sender.answers["vb-0=="]
    stores.fake_reminders.done.clear()
    _send(stores, sender, T48 + timedelta(minutes=15))
    assert len(sender.sent) == 1
    assert stores.viber_users.get("vb-0==").subscribed  # type: ignore[union-attr]


def test_reminders_out_of_time_leave_the_rest_to_the_next_run() -> None:
    stores, sender = _city(), RecordingSender()
    # Given a run with no time left: nothing is looked at, no shard is recorded
    report = _send(stores, sender, T48, time_left=lambda: 1.0)
    assert report.rounds[0].shards_done == 0 and sender.sent == []
    # Then the next run does it all, once
    _send(stores, sender, T48 + timedelta(minutes=15))
    assert len(sender.sent) == 1
    assert stores.fake_reminders.shards_done(ReminderKey("el", OCT, 48)) == set(range(keys.ORG_SHARDS))


def test_reminders_without_a_viber_token_send_nothing_and_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIBER_AUTH_TOKEN", raising=False)
    stores = _city()
    report = reminders.send_due(now=T48, stores=stores, settings=SETTINGS)
    assert report.skipped == "no_viber_token" and stores.fake_reminders.sent == {}


def test_reminders_throttle_spaces_messages_at_the_configured_rate() -> None:
    clock = {"t": 100.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock["t"] += seconds

    throttle = reminders.Throttle(4, monotonic=lambda: clock["t"], sleep=sleep)
    for _ in range(5):
        throttle.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    throttle.pause(5)
    throttle.wait()
    assert slept[-1] == 5.25


def test_reminders_due_offset_is_the_nearest_reached() -> None:
    assert due_offset((48, 24), ENDS, ENDS - timedelta(hours=49)) is None
    assert due_offset((48, 24), ENDS, ENDS - timedelta(hours=48)) == 48
    assert due_offset((48, 24), ENDS, ENDS - timedelta(hours=1)) == 24
    assert due_offset((48, 24), ENDS, ENDS) is None


def test_reminders_hours_are_configurable() -> None:
    assert ReminderSettings(reminder_hours="24, 72,24").offsets == (72, 24)
    assert ReminderSettings(reminder_hours="").offsets == ()
    with pytest.raises(ValueError, match="REMINDER_HOURS"):
        ReminderSettings(reminder_hours="48,soon")


def test_reminders_amounts_are_written_the_ukrainian_way() -> None:
    assert words.amount_words(Decimal("6116")) == "6\u00a0116,000"
    assert words.amount_words(Decimal("116.5")) == "116,500"
    assert words.amount_words(Decimal("1234567.25")) == "1\u00a0234\u00a0567,250"
