"""Viber users as people, and an account's progress this month, on the in-memory stores."""

from __future__ import annotations

from datetime import UTC, datetime

from ekc.domain.identity import PersonCaller
from ekc.domain.notices import Notice, NoticeCode
from ekc.services import progress, readings, viber_people
from tests.fakes import FakeStores

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)


def test_viber_people_a_viber_user_is_made_once_and_stays_one_person() -> None:
    stores = FakeStores()
    assert viber_people.find("vb==", stores=stores) is None
    first = viber_people.person_for("vb==", stores=stores, now=NOW)
    again = viber_people.person_for("vb==", stores=stores, now=NOW)
    assert first == again and first.subscribed
    assert viber_people.find("vb==", stores=stores) == first


def test_viber_people_unsubscribing_is_remembered_and_a_message_subscribes_again() -> None:
    stores = FakeStores()
    assert viber_people.set_subscribed("unknown==", False, stores=stores, now=NOW) is False
    person = viber_people.person_for("vb==", stores=stores, now=NOW)
    viber_people.set_subscribed("vb==", False, stores=stores, now=NOW)
    assert viber_people.may_message("vb==", stores=stores) is False
    assert viber_people.person_for("vb==", stores=stores, now=NOW).person_id == person.person_id
    assert viber_people.may_message("vb==", stores=stores) is True
    assert viber_people.may_message("unknown==", stores=stores) is False


def test_viber_people_a_notice_is_left_for_that_person_alone() -> None:
    stores = FakeStores()
    notice = Notice(
        NoticeCode.READING_SAVED, NOW, account="77777", meter_id="77777.2", params={"value": "205.000"}
    )
    viber_people.leave_notice(PersonCaller("p-1"), notice, stores=stores)
    assert [n.params for n in stores.people.notices("p-1")] == [{"value": "205.000"}]
    assert stores.people.notices("p-2") == []


def test_progress_splits_meters_into_handed_in_waiting_and_closed() -> None:
    # Given the demo account, its gas reading handed in
    from local.seed import seed_demo

    stores = FakeStores()
    seed_demo(NOW, stores)
    caller = PersonCaller(stores.people.get_login("demo@example.com").person_id)  # type: ignore[union-attr]
    origin = __import__("ekc.domain.identity", fromlist=["Origin"]).Origin.viber("p")
    outcome = readings.save_readings(
        caller, "77777", [readings.RowInput("77777.2", "205")], origin, stores=stores, now=NOW
    )
    # When its progress is taken from the save's answer
    split = progress.progress(outcome.meters)
    # Then gas is handed in, electricity and cold water wait, hot water is closed
    assert [v.meter.id for v in split.handed_in] == ["77777.2"]
    assert [v.meter.id for v in split.waiting] == ["77777.1", "77777.3"]
    assert [v.meter.id for v in split.closed] == ["77777.4"]
    assert [v.meter.id for v in split.open] == ["77777.1", "77777.2", "77777.3"]
    assert not split.complete
    assert progress.find(outcome.meters, "77777.3") is split.waiting[1]
    assert progress.find(outcome.meters, "nope") is None
    assert [v.meter.id for v in progress.open_meters(outcome.meters)] == ["77777.1", "77777.2", "77777.3"]
