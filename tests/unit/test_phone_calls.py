"""The call flow (`ekc.services.calls`) on the in-memory stores: steps, limits, saves and their failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ekc.domain.identity import AccountCaller, Origin, Proof
from ekc.domain.kinds import MeterKind
from ekc.domain.windows import KYIV
from ekc.exceptions import StorageUnavailable
from ekc.services import calls
from ekc.services.calls import Call, CallState, Expect, Heard, Line, Phrase, Step, Turn
from ekc.services.readings import RowInput, readings_page, save_readings
from local.seed import demo_accounts, demo_organizations
from tests.fakes import FakeStores
from tests.phone_driver import use_phone_settings

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)  # the demo's windows are laid around it
CALLER = "+380671231357"


@pytest.fixture(autouse=True)
def phone_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    use_phone_settings(monkeypatch)


def demo_stores(now: datetime = NOW) -> FakeStores:
    orgs, month = demo_organizations(now)
    stores = FakeStores(orgs)
    for account, meters in demo_accounts(month):
        stores.add_account(account, meters)
    return stores


class Robot:
    """A call driven straight through the flow: no TwiML, no webhooks."""

    def __init__(
        self, stores: FakeStores, line: Line = Line.KEYPAD, sid: str = "CA-1", number: str = CALLER
    ) -> None:
        self.stores = stores
        self.call = Call(sid, line, number)
        self.now = NOW
        self.turn = calls.start()
        self.state: CallState | None = self.turn.state

    def send(self, heard: Heard) -> Turn:
        assert self.state is not None, "the call has ended"
        self.turn = calls.answer(self.call, self.state, heard, stores=self.stores, now=self.now)
        self.state = self.turn.state
        return self.turn

    def press(self, digits: str) -> Turn:
        return self.send(Heard(digits=digits))

    def say(self, speech: str) -> Turn:
        return self.send(Heard(speech=speech, confidence=0.9))

    def silence(self) -> Turn:
        return self.send(Heard())

    @property
    def phrases(self) -> list[Phrase]:
        return [s.phrase for s in self.turn.said]

    def data(self, phrase: Phrase) -> dict[str, Any]:
        return dict(next(s.data for s in self.turn.said if s.phrase is phrase))


def in_menu(stores: FakeStores, **kwargs: Any) -> Robot:
    robot = Robot(stores, **kwargs)
    robot.press("77777")
    robot.press("1")
    return robot


def test_calls_kind_menu_has_fixed_keys_for_the_kinds_the_account_has() -> None:
    # Given 77777 (electricity, gas, cold water, hot water closed) and 88888 (cold water, electricity)
    stores = demo_stores()
    caller = AccountCaller("88888", Proof.ACCOUNT_NUMBER)
    menu = calls.kind_menu(readings_page(caller, "88888", stores=stores, now=NOW))
    # Then each kind keeps its key whatever the account: electricity 1, cold water 3
    assert [(o.key, o.kind, o.open) for o in menu] == [
        (1, MeterKind.ELECTRICITY, True),
        (3, MeterKind.COLD_WATER, True),
    ]
    full = calls.kind_menu(
        readings_page(AccountCaller("77777", Proof.ACCOUNT_NUMBER), "77777", stores=stores, now=NOW)
    )
    assert [o.key for o in full] == [1, 2, 3, 4]
    hot = full[3]
    assert (
        not hot.open
        and hot.opens_at.astimezone(KYIV).date() == (NOW + timedelta(days=5)).astimezone(KYIV).date()
    )


def test_calls_menu_offers_open_kinds_and_says_when_closed_ones_open() -> None:
    robot = in_menu(demo_stores())
    assert robot.phrases == [Phrase.KIND_MENU, Phrase.KIND_CLOSED]
    assert [k for k, _ in robot.data(Phrase.KIND_MENU)["options"]] == [1, 2, 3]
    assert robot.data(Phrase.KIND_CLOSED)["kind"] is MeterKind.HOT_WATER
    assert robot.turn.expect is Expect.CHOICE


def test_calls_nothing_is_saved_before_the_caller_confirms_the_read_back() -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("2")
    robot.press("205*5")
    # Given the reading read back
    assert robot.phrases == [Phrase.READING_READBACK] and robot.data(Phrase.READING_READBACK)[
        "value"
    ] == Decimal("205.5")
    assert stores.fake_readings.written == []
    # When the caller asks for the read-back again, and again says nothing
    robot.press("9")
    robot.silence()
    assert stores.fake_readings.written == []
    # When they confirm
    robot.press("1")
    # Then it is saved from the keypad line, the calling number masked
    (saved,) = stores.fake_readings.written
    assert saved.value == Decimal("205.5") and saved.origin == Origin.keypad(CALLER)
    assert saved.origin.phone == "+38067***1357"
    assert robot.phrases == [Phrase.SAVED, Phrase.ASK_NEXT]


def test_calls_a_retried_confirmation_saves_once_and_answers_the_same() -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("2")
    robot.press("206")
    state = robot.state
    assert state is not None
    first = robot.press("1")
    # When the same webhook (same state, same input) comes again
    again = calls.answer(robot.call, state, Heard(digits="1"), stores=stores, now=NOW)
    # Then it is answered as the first time and nothing new is written
    assert again == first
    assert len(stores.fake_readings.written) == 1


def test_calls_save_keys_are_the_call_and_its_turn() -> None:
    stores = demo_stores()
    robot = in_menu(stores, sid="CA-key")
    robot.press("2")
    robot.press("206")
    turn_of_confirmation = robot.state.turn  # type: ignore[union-attr]
    robot.press("1")
    assert ("77777", f"CA-key:{turn_of_confirmation}") in stores.fake_readings.markers


def test_calls_a_failed_save_says_not_saved_and_a_retry_uses_a_new_key() -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("2")
    robot.press("207")
    # Given DynamoDB's answer to the save is lost before it was applied
    stores.fake_readings.lose_answer = "before"
    robot.press("1")
    # Then the robot says it was not saved and offers to try again
    assert robot.phrases == [Phrase.NOT_SAVED, Phrase.ASK_RETRY]
    assert robot.data(Phrase.NOT_SAVED)["code"] == "unavailable"
    assert robot.state is not None and robot.state.step is Step.NOT_SAVED
    assert stores.fake_readings.written == []
    # When the caller presses 1, it is saved under a new key
    robot.press("1")
    assert robot.phrases == [Phrase.SAVED, Phrase.ASK_NEXT]
    assert [s.value for s in stores.fake_readings.written] == [Decimal(207)]
    assert sorted(m.state for m in stores.fake_readings.markers.values()) == ["abandoned", "saved"]


def test_calls_an_unknown_outcome_is_said_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("2")
    robot.press("207")
    # Given the save's answer is lost and so is the check that would settle it
    stores.fake_readings.lose_answer = "after"

    def settle(*_: Any) -> Any:
        raise StorageUnavailable()

    monkeypatch.setattr(stores.fake_readings, "settle", settle)
    robot.press("1")
    # Then the robot says it does not know, never "saved" nor "not saved"
    assert robot.phrases == [Phrase.NOT_SAVED, Phrase.ASK_RETRY]
    assert robot.data(Phrase.NOT_SAVED)["code"] == "outcome_unknown"


def test_calls_silence_and_wrong_keys_are_asked_again_three_times_then_goodbye() -> None:
    robot = in_menu(demo_stores())
    robot.press("7")
    assert robot.phrases[0] is Phrase.WRONG_KEY and Phrase.KIND_MENU in robot.phrases
    robot.silence()
    assert robot.phrases[0] is Phrase.SILENCE
    robot.press("0")
    assert robot.state is not None and robot.state.tries == 3
    # The fourth failure at the same step ends the call
    robot.silence()
    assert robot.state is None and robot.phrases == [Phrase.SILENCE, Phrase.GIVE_UP]


def test_calls_repeat_does_not_count_as_a_try_and_a_new_step_starts_afresh() -> None:
    robot = in_menu(demo_stores())
    robot.silence()
    robot.press("9")
    assert robot.state is not None and robot.state.tries == 1
    robot.press("2")
    assert robot.state is not None and robot.state.tries == 0 and robot.state.step is Step.READING


def test_calls_voice_line_offers_the_keypad_after_two_unreadable_numbers() -> None:
    stores = demo_stores()
    robot = in_menu(stores, line=Line.VOICE)
    robot.say("газ")
    robot.say("двісті пядесят")
    assert robot.phrases[0] is Phrase.SPEECH_REFUSED and not robot.turn.keys
    robot.say("десь двісті")
    # Then the second refusal says why, offers the keypad, and takes keys only from now on
    assert robot.phrases[:2] == [Phrase.SPEECH_REFUSED, Phrase.OFFER_KEYPAD]
    assert robot.data(Phrase.SPEECH_REFUSED)["reason"] == "uncertain"
    assert robot.turn.keys and robot.state is not None and robot.state.tries == 0
    robot.press("202")
    robot.press("1")
    assert [s.value for s in stores.fake_readings.written] == [Decimal(202)]
    assert stores.fake_readings.written[0].origin == Origin.voice(CALLER)


def test_calls_voice_line_choices_by_name_and_corrections_by_number() -> None:
    stores = demo_stores()
    robot = Robot(stores, line=Line.VOICE)
    robot.say("сім сім сім сім сім")
    assert robot.data(Phrase.ACCOUNT_READBACK)["digits"] == "77777"
    robot.say("ні, вісім вісім вісім вісім вісім")
    assert robot.data(Phrase.ACCOUNT_READBACK)["digits"] == "88888"
    robot.say("так")
    robot.say("світло")
    assert Phrase.PREVIOUS in robot.phrases
    robot.say("дванадцять тисяч сто")
    robot.say("ні, дванадцять тисяч сто десять")
    assert robot.data(Phrase.READING_READBACK)["value"] == Decimal("12110")
    robot.say("так")
    assert [s.value for s in stores.fake_readings.written] == [Decimal("12110")]


def test_calls_account_entries_are_limited_per_calling_number_and_per_account() -> None:
    stores = demo_stores()
    call = Call("CA-x", Line.KEYPAD, CALLER)
    keys = [claim.key for claim in calls.entry_claims(call, "12345")]
    # The calling number is counted under a keyed hash, never as itself
    assert keys[1] == "phone_entry#account#12345" and "1231357" not in keys[0] and "380" not in keys[0]
    assert calls.entry_claims(Call("CA-y", Line.VOICE, CALLER), "1")[0].key == keys[0]
    assert calls.entry_claims(Call("CA-x", Line.KEYPAD, "+380501112233"), "1")[0].key != keys[0]
    # Given five failed entries from this number
    for number in ("11111", "11112", "11113", "11114", "11115"):
        robot = Robot(stores)
        robot.press(number)
        robot.press("1")
        assert robot.phrases[0] is Phrase.ACCOUNT_NOT_FOUND
    # Then the next entry, even of a real account, is refused with when to try again
    robot = Robot(stores)
    robot.press("77777")
    robot.press("1")
    assert robot.state is None and robot.phrases == [Phrase.ACCOUNT_LOCKED, Phrase.GOODBYE]
    assert robot.data(Phrase.ACCOUNT_LOCKED)["until"] > NOW


def test_calls_an_account_guessed_from_many_numbers_is_locked_too() -> None:
    stores = demo_stores()
    for n in range(5):
        robot = Robot(stores, number=f"+38050000000{n}")
        robot.press("55555")
        robot.press("1")
    robot = Robot(stores, number="+380509999999")
    robot.press("55555")
    robot.press("1")
    assert robot.phrases[0] is Phrase.ACCOUNT_LOCKED


def test_calls_three_unknown_accounts_in_one_call_end_it() -> None:
    robot = Robot(demo_stores())
    for number in ("1", "2"):
        robot.press(number)
        robot.press("1")
        assert robot.state is not None and robot.state.step is Step.ACCOUNT
    robot.press("3")
    robot.press("1")
    assert robot.state is None and robot.phrases == [Phrase.ACCOUNT_NOT_FOUND, Phrase.GIVE_UP]


def test_calls_account_number_must_be_digits() -> None:
    robot = Robot(demo_stores())
    robot.press("777*77")
    assert robot.phrases[0] is Phrase.ACCOUNT_BAD
    robot.press("1234567890123")
    assert robot.phrases[0] is Phrase.ACCOUNT_BAD


def test_calls_a_storage_failure_while_reading_ends_the_call_politely(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stores = demo_stores()
    robot = in_menu(stores)

    def down(_: str) -> Any:
        raise StorageUnavailable()

    monkeypatch.setattr(stores.fake_accounts, "load_account", down)
    robot.press("2")
    assert robot.state is None and robot.phrases == [Phrase.TROUBLE, Phrase.GOODBYE]


def test_calls_a_window_closing_during_the_call_is_said_and_nothing_saved() -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("3")  # cold water: its window closes in two days
    # When the caller keys the reading after the window closed
    robot.now = NOW + timedelta(days=3)
    robot.press("106")
    # Then the robot says it is closed, with when it opens, and goes back to the menu
    assert (
        robot.phrases[0] is Phrase.KIND_CLOSED and robot.state is not None and robot.state.step is Step.KIND
    )
    assert stores.fake_readings.written == []


def test_calls_an_implausible_reading_is_questioned_then_saved_confirmed() -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("3")
    robot.press("900")
    robot.press("1")
    assert robot.phrases == [Phrase.QUESTION]
    question = robot.data(Phrase.QUESTION)["question"]
    assert question.code == "implausible_high" and question.value == Decimal(900)
    assert stores.fake_readings.written == []
    # A repeat of the question needs no save
    robot.press("9")
    assert robot.phrases == [Phrase.QUESTION] and stores.fake_readings.written == []
    robot.press("1")
    assert robot.phrases[0] is Phrase.SAVED
    assert [w.code for w in stores.fake_readings.written[0].warnings] == ["confirmed_high"]


def test_calls_an_implausible_reading_refused_goes_back_to_the_reading() -> None:
    robot = in_menu(demo_stores())
    robot.press("3")
    robot.press("900")
    robot.press("1")
    robot.press("2")
    assert robot.state is not None and robot.state.step is Step.READING and robot.state.question is None


def test_calls_too_many_submissions_today_are_said() -> None:
    stores = demo_stores()
    meter = stores.fake_accounts.meters["77777.2"]
    today = NOW.astimezone(KYIV).date()
    stores.fake_accounts.meters["77777.2"] = replace(meter, day=today, day_count=20)
    robot = in_menu(stores)
    robot.press("2")
    robot.press("205")
    robot.press("1")
    assert robot.phrases == [Phrase.TOO_MANY_TODAY, Phrase.ASK_NEXT]
    assert robot.data(Phrase.TOO_MANY_TODAY)["limit"] == 20


def test_calls_a_newer_reading_from_another_door_is_said_and_wins() -> None:
    stores = demo_stores()
    robot = in_menu(stores)
    robot.press("2")
    robot.press("205")
    web = AccountCaller("77777", Proof.INVOICE_QR)

    def other_door(_: Any) -> None:
        save_readings(
            web,
            "77777",
            [RowInput("77777.2", "204")],
            Origin.web("192.0.2.1", web),
            stores=stores,
            now=NOW + timedelta(seconds=1),
        )

    stores.fake_readings.before_write = other_door
    robot.press("1")
    assert robot.phrases == [Phrase.SUPERSEDED, Phrase.ASK_NEXT]
    assert robot.data(Phrase.SUPERSEDED)["value"] == Decimal(204)


def test_calls_two_meters_of_a_kind_without_notes_are_named_by_serial() -> None:
    stores = demo_stores()
    gas = stores.fake_accounts.meters["77777.2"]
    stores.fake_accounts.meters["77777.2"] = replace(gas, note="")
    stores.fake_accounts.put_meter(replace(gas, id="77777.6", serial=None, note=""))
    robot = in_menu(stores)
    robot.press("2")
    assert robot.phrases == [Phrase.METER_MENU]
    assert robot.data(Phrase.METER_MENU)["options"] == ((1, "", "002352"), (2, "", None))
    robot.press("3")
    assert robot.phrases[0] is Phrase.WRONG_KEY
    robot.press("2")
    assert robot.state is not None and robot.state.meter_id == "77777.6"


def test_calls_an_account_without_open_meters_says_when_they_open_and_ends() -> None:
    # Given a day after every demo window closed (the next ones open later in December)
    robot = Robot(demo_stores())
    robot.now = NOW + timedelta(days=9)
    robot.press("77777")
    robot.press("1")
    # Then the robot says when each kind opens, and says goodbye
    assert robot.state is None and robot.phrases[-1] is Phrase.GOODBYE
    closed = [s.data for s in robot.turn.said if s.phrase is Phrase.KIND_CLOSED]
    assert [d["kind"] for d in closed] == [
        MeterKind.ELECTRICITY,
        MeterKind.GAS,
        MeterKind.COLD_WATER,
        MeterKind.HOT_WATER,
    ]
    assert all(d["opens_at"] > robot.now for d in closed)


def test_calls_an_account_without_meters_ends_the_call() -> None:
    stores = demo_stores()
    for meter_id in [m for m in stores.fake_accounts.meters if m.startswith("88888.")]:
        del stores.fake_accounts.meters[meter_id]
    robot = Robot(stores)
    robot.press("88888")
    robot.press("1")
    assert robot.state is None and robot.phrases == [Phrase.ACCOUNT_NO_METERS, Phrase.GOODBYE]
