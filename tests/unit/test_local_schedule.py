"""EventBridge schedules in the local stack: expressions, the events they send, and when they fire."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.schedule import Cron, Rate, Scheduler, parse_expression, scheduled_event
from local.template import Function, ScheduleEvent

SAMPLE = json.loads((Path(__file__).parent.parent / "events" / "eventbridge_scheduled.json").read_text())
FUNCTION = Function("WindowCloseFunction", "functions/window_close/", "app.lambda_handler")
START = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)


def _schedule(expression: str, **fields: Any) -> ScheduleEvent:
    return ScheduleEvent(FUNCTION, "Every15", expression, rule_name="WindowCloseFunctionEvery15", **fields)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(15 minutes)", 900), ("rate(1 minute)", 60), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_parse_expression_reads_rates(expression: str, seconds: int) -> None:
    assert parse_expression(expression) == Rate(seconds)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "every 5 minutes",
        "cron(0 12 * * *)",
        "cron(0 12 * * MON *)",
        "cron(0 12 15W * ? *)",
    ],
)
def test_parse_expression_refuses_what_eventbridge_refuses_or_we_do_not_run(expression: str) -> None:
    with pytest.raises(ValueError):
        parse_expression(expression)


def test_rate_fires_a_period_after_the_schedule_started_and_every_period_after() -> None:
    rate = Rate(900)
    assert rate.next_after(START, START) == START + timedelta(minutes=15)
    assert rate.next_after(START + timedelta(minutes=15), START) == START + timedelta(minutes=30)
    assert rate.next_after(START + timedelta(minutes=44), START) == START + timedelta(minutes=45)


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        ("0 22 * * ? *", "2026-11-24T21:04", "2026-11-24T22:00"),
        ("0/15 * * * ? *", "2026-11-24T21:04", "2026-11-24T21:15"),
        ("0/15 * * * ? *", "2026-11-24T21:45", "2026-11-24T22:00"),
        ("0 9 ? * MON-FRI *", "2026-11-27T10:00", "2026-11-30T09:00"),  # Friday -> Monday
        ("0 12 L * ? *", "2026-11-24T21:04", "2026-11-30T12:00"),
        ("0 10 ? * 6#3 *", "2026-11-24T21:04", "2026-12-18T10:00"),  # the third Friday
        ("0 10 ? * 6L *", "2026-11-24T21:04", "2026-11-27T10:00"),  # the last Friday
        ("30 1 1 JAN,JUL ? 2027", "2026-11-24T21:04", "2027-01-01T01:30"),
        ("0 0 ? * 1 *", "2026-11-24T21:04", "2026-11-29T00:00"),  # 1 is Sunday in EventBridge
    ],
)
def test_cron_finds_the_next_minute_it_selects(fields: str, after: str, expected: str) -> None:
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert Cron.parse(fields).next_after(moment) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_scheduled_event_has_the_shape_eventbridge_sends() -> None:
    # Given a rule's firing at 22:00 UTC
    event = scheduled_event(
        _schedule("rate(15 minutes)"), datetime(2026, 11, 24, 22, 0, tzinfo=UTC), "eu-central-1"
    )
    # Then it has the sample's keys and constants, its own id, time and rule
    assert set(event) == set(SAMPLE)
    for key in ("version", "detail-type", "source", "account", "region", "detail"):
        assert event[key] == SAMPLE[key], key
    assert event["time"] == SAMPLE["time"] == "2026-11-24T22:00:00Z"
    assert event["resources"] == ["arn:aws:events:eu-central-1:123456789012:rule/WindowCloseFunctionEvery15"]
    assert event["id"] != scheduled_event(_schedule("rate(15 minutes)"), START, "eu-central-1")["id"]


def test_scheduled_event_of_a_rule_with_input_is_that_input() -> None:
    schedule = _schedule("rate(1 day)", input='{"job": "export"}')
    assert scheduled_event(schedule, START, "eu-central-1") == {"job": "export"}


def test_scheduled_event_of_scheduler_fills_its_context_attributes() -> None:
    schedule = _schedule(
        "cron(30 2 * * ? *)", kind="ScheduleV2", input='{"at": "<aws.scheduler.scheduled-time>"}'
    )
    assert scheduled_event(schedule, START, "eu-central-1") == {"at": "2026-11-24T21:04:36Z"}
    assert scheduled_event(_schedule("rate(1 hour)", kind="ScheduleV2"), START, "eu-central-1") == {}


class Recorder:
    """A `fire` callback that remembers the events and lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.arrived = threading.Condition()

    def __call__(self, schedule: ScheduleEvent, event: dict[str, Any]) -> None:
        with self.arrived:
            self.events.append((schedule.event_name, event))
            self.arrived.notify_all()

    def wait_for(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.events) >= count, timeout=10)
            return list(self.events)


def test_scheduler_fires_each_schedule_once_when_due_and_plans_the_next() -> None:
    # Given a 15-minute rule, a Kyiv-time Scheduler cron and a disabled rule, started at START
    recorder = Recorder()
    schedules = [
        _schedule("rate(15 minutes)"),
        ScheduleEvent(FUNCTION, "Nightly", "cron(30 2 * * ? *)", kind="ScheduleV2", timezone="Europe/Kyiv"),
        ScheduleEvent(FUNCTION, "Paused", "rate(1 minute)", enabled=False),
    ]
    scheduler = Scheduler(schedules, recorder, "eu-central-1", clock=lambda: START)
    assert scheduler.skipped == {"WindowCloseFunction.Paused": "disabled in the template"}

    # When nothing is due yet, nothing fires; the next moment is the rule's first period
    assert scheduler.tick(START + timedelta(minutes=14)) == START + timedelta(minutes=15)
    # When the clock is 40 minutes on (late by more than one period), the rule fires once
    next_due = scheduler.tick(START + timedelta(minutes=40))
    assert recorder.wait_for(1) == [("Every15", recorder.events[0][1])]
    assert recorder.events[0][1]["time"] == "2026-11-24T21:19:36Z"
    assert next_due == START + timedelta(minutes=45)
    # When it is 02:30 in Kyiv (00:30 UTC), the Scheduler cron fires too
    scheduler.tick(datetime(2026, 11, 25, 0, 30, tzinfo=UTC))
    names = [name for name, _ in recorder.wait_for(3)]
    assert sorted(names) == ["Every15", "Every15", "Nightly"]
    assert [item["next"] for item in scheduler.upcoming()] == ["2026-11-25T00:34:36Z", "2026-11-26T00:30:00Z"]


def test_scheduler_thread_fires_on_its_clock_until_stopped() -> None:
    # Given a clock that moves a minute on every reading
    moments = (START + timedelta(minutes=n) for n in range(10_000))
    recorder = Recorder()
    scheduler = Scheduler(
        [_schedule("rate(1 minute)")], recorder, "eu-central-1", clock=lambda: next(moments)
    )
    # When its thread runs
    scheduler.start()
    try:
        events = recorder.wait_for(3)
    finally:
        scheduler.stop()
    # Then the rule fired again and again, each with its own firing time
    assert len(events) >= 3
    assert len({event["time"] for _, event in events}) == len(events)
