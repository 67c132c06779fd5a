"""The conversation with ВАСя on the in-memory stores: every step, its words and its state."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ekc.channels import viber as words
from ekc.channels import viber_chat
from ekc.channels.viber_chat import ChatState, Step, Turn, decode_state, encode_state, recognise
from ekc.domain.model import Account
from ekc.domain.notices import Notice, NoticeCode
from ekc.services import qrcodes
from ekc.storage.ports import ViberIdentity
from tests.fakes import FakeStores

NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)  # inside the demo's windows (local.seed)
VIBER_ID = "vb-user-1=="


@pytest.fixture
def stores() -> FakeStores:
    """The demo data in memory."""
    from local.seed import seed_demo

    stores = FakeStores()
    seed_demo(NOW, stores)
    return stores


class Chat:
    """One Viber user's side of the conversation, keeping the tracking data as Viber does."""

    def __init__(self, stores: FakeStores, viber_id: str = VIBER_ID) -> None:
        self.stores, self.viber_id, self.tracking = stores, viber_id, None
        self.last: Turn | None = None

    def start(self, context: str | None = None) -> Turn:
        turn = viber_chat.started(self.viber_id, context, False, stores=self.stores, now=NOW)
        return self._keep(turn)

    def say(self, text: str | None) -> Turn:
        turn = viber_chat.message(self.viber_id, text, self.tracking, stores=self.stores, now=NOW)
        return self._keep(turn)

    def _keep(self, turn: Turn) -> Turn:
        self.tracking = turn.messages[-1].tracking_data
        self.last = turn
        return turn

    @property
    def state(self) -> ChatState:
        return decode_state(self.tracking, self.viber_id, NOW)

    @property
    def person(self) -> str:
        identity = self.stores.viber_users.get(self.viber_id)
        assert identity is not None
        return identity.person_id


def text(turn: Turn) -> str:
    return "\n".join(m.text for m in turn.messages)


def actions(turn: Turn) -> list[str]:
    keyboard = turn.messages[-1].keyboard
    return [b["ActionBody"] for b in keyboard["Buttons"]] if keyboard else []


def context() -> str:
    return qrcodes.viber_link("77777").split("context=", 1)[1]


def at_meter(chat: Chat, meter_id: str) -> None:
    chat.say("Введення показників")
    chat.say("Показники о/р 77777")
    chat.say(f"Лічильник {meter_id}")


def viber_readings(stores: FakeStores) -> list[Any]:
    return [s for s in stores.fake_readings.written if s.origin.channel == "viber" and s.origin.who != "demo"]


# ---- state -----------------------------------------------------------------------------------------


def test_viber_state_round_trips_for_its_user_only() -> None:
    # Given a state at a meter's step, encoded for one Viber user
    state = ChatState("p-1", Step.CONFIRM, "77777", "77777.1", "99999.000", 2)
    data = encode_state(state, VIBER_ID, NOW)
    # Then it comes back whole for that user, within Viber's 4096 characters
    assert decode_state(data, VIBER_ID, NOW + timedelta(minutes=30)) == state
    assert len(data) < 4096
    # And another user, a changed byte, a day-old state or rubbish give the empty state
    assert decode_state(data, "someone-else==", NOW) == ChatState()
    forged = data[:-3] + ("A" if data[-3] != "A" else "B") + data[-2:]
    assert decode_state(forged, VIBER_ID, NOW) == ChatState()
    assert decode_state(data, VIBER_ID, NOW + timedelta(hours=25)) == ChatState()
    for rubbish in (None, "", "1..", "x.y.z", 42, "1." + "a" * 3000 + ".b"):
        assert decode_state(rubbish, VIBER_ID, NOW) == ChatState()


def test_viber_recognise_reads_buttons_typed_loosely() -> None:
    # Given buttons' texts typed with other case and spaces
    # Then each is recognised with its parts, and other text is not an action
    assert recognise("  введення   показників ") == ("enter", {})
    assert recognise("ПОКАЗНИКИ О/Р 77777") == ("readings", {"number": "77777"})
    assert recognise("Лічильник 77777.2") == ("meter", {"meter": "77777.2"})
    assert recognise("Сторінка 2 ▶") == ("page", {"page": "2"})
    assert recognise("◀ Сторінка 1") == ("page", {"page": "1"})
    assert recognise("привіт") == ("menu", {})
    assert recognise("205.5") == (None, {})
    assert recognise("Лічильник ../../etc") == (None, {})


# ---- joining ---------------------------------------------------------------------------------------


def test_viber_chat_joining_by_qr_links_the_account_and_again_is_harmless(stores: FakeStores) -> None:
    # Given a newcomer scanning 77777's Viber QR
    chat = Chat(stores)
    # When the conversation starts with the QR's context, twice
    first = chat.start(context())
    again = chat.start(context())
    # Then ВАСя welcomes them with the account linked and the main menu, both times, one person
    assert "Рахунок 77777" in text(first) and "додано" in text(first)
    assert text(again) == text(first)
    assert actions(first) == ["Особовий кабінет", "Введення показників"]
    assert [a.number for a in stores.people.linked_accounts(chat.person)] == ["77777"]
    assert chat.state.person_id == chat.person


def test_viber_chat_bad_token_says_so_kindly_and_links_nothing(stores: FakeStores) -> None:
    # Given a QR context that was tampered with
    chat = Chat(stores)
    bad = context()[:-2] + ("AA" if not context().endswith("AA") else "BB")
    # When the conversation starts with it
    turn = chat.start(bad)
    # Then the welcome says the code is not valid, and nothing is linked
    assert "недійсний" in text(turn)
    assert stores.people.linked_accounts(chat.person) == []


def test_viber_chat_welcome_without_context_creates_nobody(stores: FakeStores) -> None:
    # Given someone opening the chat from the public account's page
    turn = Chat(stores).start(None)
    # Then the welcome and main menu, and no person is made until they write
    assert text(turn).startswith("Вітаю! Я ВАСя")
    assert stores.fake_viber_users.identities == {}


# ---- the cabinet -----------------------------------------------------------------------------------


def test_viber_chat_add_account_tolerates_spaces_and_dashes(stores: FakeStores) -> None:
    # Given a resident in the cabinet
    chat = Chat(stores)
    chat.start(context())
    assert actions(chat.say("Особовий кабінет"))[:2] == ["Кабінет о/р 77777", "Додати о/р"]
    chat.say("Додати о/р")
    # When they type account and SRC with a space and a dash
    turn = chat.say("88888 - 640")
    # Then 88888 is linked
    assert "Рахунок 88888" in text(turn)
    assert [a.number for a in stores.people.linked_accounts(chat.person)] == ["77777", "88888"]


def test_viber_chat_refused_code_does_not_say_which_part_was_wrong(stores: FakeStores) -> None:
    # Given a resident adding an account
    chat = Chat(stores)
    chat.start(context())
    chat.say("Додати о/р")
    # When they type letters, then a wrong SRC
    letters = text(chat.say("моя квартира"))
    wrong_src = text(chat.say("88888641"))
    # Then the format error and the refusal are their own sentences, and nothing is linked
    assert letters == words.ERRORS["invalid_code"]
    assert wrong_src == words.ERRORS["link_refused"]
    # When they type a code again (after a mistake the code alone is not judged today)
    asked = text(chat.say("99999640"))
    # Then the bot asks for the holder's surname, and a wrong one is refused in the same words
    assert asked == words.ERRORS["holder_needed"]
    assert chat.state.step is Step.HOLDER
    assert text(chat.say("Петренко")) == words.ERRORS["link_refused"]
    assert [a.number for a in stores.people.linked_accounts(chat.person)] == ["77777"]


def test_viber_chat_asks_for_the_holders_surname_after_a_mistake(stores: FakeStores) -> None:
    # Given a resident who mistyped 88888's SRC code once
    chat = Chat(stores)
    chat.start(context())
    chat.say("Додати о/р")
    assert text(chat.say("88888641")) == words.ERRORS["link_refused"]
    # When they type the right code
    assert text(chat.say("88888640")) == words.ERRORS["holder_needed"]
    # and then something that cannot be a surname, and then the surname
    assert text(chat.say("12345")) == words.ERRORS["bad_holder"]
    turn = chat.say("петренко")
    # Then 88888 is linked
    assert "Рахунок 88888" in text(turn)
    assert [a.number for a in stores.people.linked_accounts(chat.person)] == ["77777", "88888"]


def test_viber_chat_paused_linking_names_the_day_and_the_qr(stores: FakeStores) -> None:
    # Given 88888's budget with a surname spent by strangers this month
    from ekc.domain.identity import PersonCaller
    from ekc.exceptions import InvalidCode
    from ekc.services import accounts

    for n in range(3):
        with pytest.raises(InvalidCode):
            accounts.link_account(
                PersonCaller(f"s-{n}"), f"8888810{n}", holder="Мельник", stores=stores, now=NOW
            )
    chat = Chat(stores)
    chat.start(context())
    chat.say("Додати о/р")
    chat.say("88888100")  # wrong: the code alone is spent for the month after this
    chat.say("88888640")
    # When the resident gives the surname / Then linking by code is paused, with a date and the QR way
    paused = text(chat.say("Петренко"))
    assert "QR-код «внести через Viber»" in paused
    assert re.search(r"\d\d\.\d\d\.\d{4} після \d\d:\d\d", paused)


def test_viber_chat_debt_history_and_removal(stores: FakeStores) -> None:
    # Given a resident with 77777 and 88888
    chat = Chat(stores)
    chat.start(context())
    chat.say("Додати о/р")
    chat.say("88888640")
    # When they look at 77777's debt and readings
    debt = text(chat.say("Заборгованість о/р 77777"))
    history = text(chat.say("Попередні показники о/р 77777"))
    # Then the payment details are there to copy, and each meter's last reading with source and time
    assert "1234.56 грн" in debt and "IBAN: UA213223130000026007233566001" in debt
    # and the day billing's amount is as of, written as the cabinet writes dates
    assert re.search(r"Заборгованість за о/р 77777 станом на 01/\d\d/\d{4}: 1234\.56 грн\.", debt)
    assert "Газ, газовий лічильник, № 002352" in history and "внесено" in history
    # When they remove 88888, declining first
    assert "Так, видалити о/р 88888" in actions(chat.say("Видалити о/р 88888"))
    chat.say("Ні, залишити")
    assert "88888" in [a.number for a in stores.people.linked_accounts(chat.person)]
    chat.say("Видалити о/р 88888")
    removed = chat.say("Так, видалити о/р 88888")
    # Then it is gone
    assert "видалено" in text(removed)
    assert [a.number for a in stores.people.linked_accounts(chat.person)] == ["77777"]


def test_viber_chat_cannot_reach_an_account_linked_to_someone_else(stores: FakeStores) -> None:
    # Given a resident with only 77777
    chat = Chat(stores)
    chat.start(context())
    # When they type the buttons of 88888 (not theirs)
    for typed in ("Показники о/р 88888", "Заборгованість о/р 88888", "Кабінет о/р 88888"):
        turn = chat.say(typed)
        # Then they hear it is not in their cabinet, and nothing of 88888 is shown
        assert text(turn) == words.ERRORS["not_found"]
        assert "Соборна" not in text(turn)


# ---- entering readings -----------------------------------------------------------------------------


def test_viber_chat_meters_open_now_are_light_green_and_the_closed_one_says_when(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    addresses = chat.say("Введення показників")
    assert addresses.messages[-1].keyboard["Buttons"][0]["BgColor"] == words.PINK  # type: ignore[index]
    turn = chat.say("Показники о/р 77777")
    buttons = {b["ActionBody"]: b for b in turn.messages[-1].keyboard["Buttons"]}  # type: ignore[index]
    # Then the three open meters are light-green buttons with kind, note, serial and previous reading
    assert [a for a in buttons if a.startswith("Лічильник")] == [
        "Лічильник 77777.1",
        "Лічильник 77777.2",
        "Лічильник 77777.3",
    ]
    gas = buttons["Лічильник 77777.2"]
    assert gas["BgColor"] == words.LIGHT_GREEN
    assert "Газ, газовий лічильник, № 002352" in str(gas["Text"]) and "201.000 м³" in str(gas["Text"])
    assert buttons["Повернутися до головного меню"]["BgColor"] == words.PURPLE
    # And the hot water meter is listed as closed, with when it opens
    assert "Гаряча вода, ванна, № 0415072: прийом з" in text(turn)


def test_viber_chat_reading_saved_then_remaining_then_a_summary(stores: FakeStores) -> None:
    # Given a resident at the gas meter
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.2")
    assert chat.state.step is Step.METER
    # When they type its reading
    saved = chat.say("205,5")
    # Then it is saved for this person through Viber, and the two other open meters are offered
    assert "Показник 205.500 м³ (Газ, газовий лічильник, № 002352) за 11/2026 збережено" in text(saved)
    assert "Витрата за місяць: 4.500 м³" in text(saved)
    assert "2 лічильники" in text(saved)
    assert actions(saved) == ["Лічильник 77777.1", "Лічильник 77777.3", "Повернутися до головного меню"]
    assert [(s.meter_id, str(s.value), s.origin.who) for s in viber_readings(stores)] == [
        ("77777.2", "205.500", chat.person)
    ]
    assert saved.confirmations and saved.confirmations[0].code is NoticeCode.READING_SAVED
    # When they do the other two
    chat.say("Лічильник 77777.1")
    chat.say("6200")
    chat.say("Лічильник 77777.3")
    last = chat.say("107")
    # Then the last answer sums up the month, and the main menu comes back
    assert "Усі показники за 11/2026 за о/р 77777 передано" in text(last)
    assert "• Газ, газовий лічильник, № 002352: 205.500 м³" in text(last)
    assert actions(last) == ["Особовий кабінет", "Введення показників"]
    # And a meter of that address typed next (to correct it) goes straight to its prompt
    assert text(chat.say("Лічильник 77777.2")).startswith("Газ, газовий лічильник")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("двісті", "value_not_number"),
        ("205.1234", "value_too_many_decimals"),
        ("1234567890123", "value_too_long"),
        ("-5", "value_negative"),
    ],
)
def test_viber_chat_bad_input_is_explained_and_nothing_is_saved(
    stores: FakeStores, typed: str, expected: str
) -> None:
    # Given a resident at the gas meter
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.2")
    # When they type something that is not a reading of it
    turn = chat.say(typed)
    # Then the answer says why, asks again, stays at the meter, and nothing is saved
    assert text(turn).startswith(words.error_text(expected, digits=9))
    assert "Спробуйте ще раз" in text(turn)
    assert chat.state.step is Step.METER and chat.state.meter == "77777.2"
    assert viber_readings(stores) == []


def test_viber_chat_implausible_value_waits_for_tak_and_ni_asks_again(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.1")
    # When an implausible value is typed, then declined
    question = chat.say("99999")
    assert actions(question)[:2] == ["Так", "Ні"]
    assert chat.state == replace(chat.state, step=Step.CONFIRM, value="99999.000")
    declined = chat.say("Ні")
    # Then nothing is saved and the meter's step comes back
    assert "не збережено" in text(declined) and chat.state.step is Step.METER
    assert viber_readings(stores) == []
    # When it is typed again and confirmed
    chat.say("99999")
    confirmed = chat.say("Так")
    # Then it is saved, marked as confirmed
    assert "99999.000 кВт·год" in text(confirmed) and "Ви підтвердили" in text(confirmed)
    assert [str(s.value) for s in viber_readings(stores)] == ["99999.000"]


def test_viber_chat_lower_than_previous_is_saved_with_the_warning(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.3")
    turn = chat.say("100")
    assert "збережено" in text(turn) and "менший за попередній (105.000)" in text(turn)


def test_viber_chat_closed_meter_says_when_its_window_opens(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    chat.say("Введення показників")
    chat.say("Показники о/р 77777")
    # When they type the closed hot water meter's button anyway
    turn = chat.say("Лічильник 77777.4")
    # Then they hear it is closed and when the next window is, and stay at the list
    assert "зараз закрито. Наступний період: з " in text(turn)
    assert chat.state.step is Step.PICK_METER


def test_viber_chat_a_number_outside_a_meter_step_asks_which_meter(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    turn = chat.say("205")
    assert "не знаю, для якого воно лічильника" in text(turn)
    assert actions(turn)[0] == "Показники о/р 77777"
    assert viber_readings(stores) == []


def test_viber_chat_free_text_and_pictures_get_help_and_the_menu(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    for said in ("як справи?", None, "x" * 5000):
        turn = chat.say(said)
        assert turn.messages and actions(turn) == ["Особовий кабінет", "Введення показників"]
    assert text(chat.say(None)) == words.TEXTS["not_text"]


def test_viber_chat_notices_come_first_but_not_while_typing_a_reading(stores: FakeStores) -> None:
    # Given a resident at the gas meter, and a notice left for them meanwhile
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.2")
    notice = Notice(NoticeCode.BOT_OFF_RESEALED, NOW, account="77777", meter_id="77777.1")
    stores.people.add_notice([chat.person], notice)
    # When they type the reading
    saved = chat.say("205")
    # Then the answer is the confirmation alone; the notice waits
    assert len(saved.messages) == 1 and stores.people.notices(chat.person)
    # When they tap the next button
    turn = chat.say("Лічильник 77777.3")
    # Then the notice is told first, as its own message, and forgotten
    assert "повірено або переопломбовано" in turn.messages[0].text
    assert turn.messages[-1].text.startswith("Холодна вода")
    assert stores.people.notices(chat.person) == []


def test_viber_chat_undelivered_confirmation_becomes_a_notice(stores: FakeStores) -> None:
    # Given a reading saved whose confirmation could not be sent
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.2")
    before = chat.tracking
    turn = chat.say("205")
    viber_chat.leave_confirmations(chat.person, turn.confirmations, stores=stores)
    chat.tracking = before  # the resident never got that message, nor its tracking data
    # When they write again
    later = chat.say("Повернутися до головного меню")
    # Then they are told the reading was saved, with what and when
    assert later.messages[0].text.startswith("Нагадую: Ваш показник 205.000 м³ (Газ")
    assert "24/11/2026 о 23:04" in later.messages[0].text


def test_viber_chat_bot_switch_and_amount(stores: FakeStores) -> None:
    chat = Chat(stores)
    chat.start(context())
    chat.say("Боти о/р 77777")
    screen = chat.say("Бот лічильника 77777.2")
    assert "Бот: вимкнено" in text(screen) and "Увімкнути бот 77777.2" in actions(screen)
    asked = chat.say("Увімкнути бот 77777.2")
    assert "Скільки м³ бот має додавати щомісяця" in text(asked)
    refused = chat.say("багато")
    assert text(refused) == words.ERRORS["bad_amount"]
    on = chat.say("1,5")
    assert "увімкнено" in text(on) and "1.500 м³" in text(on)
    assert stores.fake_accounts.meters["77777.2"].bot_enabled is True
    off = chat.say("Вимкнути бот 77777.2")
    assert "вимкнено" in text(off)
    assert stores.fake_accounts.meters["77777.2"].bot_enabled is False


def test_viber_chat_many_addresses_are_paged_within_viber_limits(stores: FakeStores) -> None:
    # Given a resident with 60 addresses (a property manager)
    chat = Chat(stores)
    chat.start(context())
    for n in range(60):
        account = Account(f"5{n:04d}", "123", "Х", f"вул. Довга, буд. {n}", "Кременчук", "05366")
        stores.accounts.put_account(account)
        stores.people.link(chat.person, account, NOW)
    # When they open the list of addresses and page through it
    pages, turn = [], chat.say("Введення показників")
    while True:
        keyboard = turn.messages[-1].keyboard
        assert keyboard is not None
        # Then every page keeps to 24 rows and 30 kB, and has the purple way back
        assert words.rows_of(keyboard["Buttons"]) <= words.MAX_ROWS
        assert words.fits(turn.messages[-1].as_message())
        assert keyboard["Buttons"][-1]["ActionBody"] == words.BTN_MENU
        pages.append([a for a in actions(turn) if a.startswith("Показники о/р")])
        following = [a for a in actions(turn) if a == f"Сторінка {len(pages) + 1}"]
        if not following:
            break
        turn = chat.say(following[0])
    # And together the pages list every address once
    listed = [a for page in pages for a in page]
    assert len(listed) == 61 and len(set(listed)) == 61
    assert len(pages) >= 3


def test_viber_chat_without_accounts_offers_to_add_one(stores: FakeStores) -> None:
    chat = Chat(stores)
    turn = chat.say("Введення показників")
    assert "ще немає жодного рахунку" in text(turn)
    assert actions(turn) == ["Додати о/р", "Повернутися до головного меню"]


def test_viber_chat_a_message_makes_the_person_once_and_resubscribes(stores: FakeStores) -> None:
    # Given a Viber user who once unsubscribed
    stores.viber_users.create(ViberIdentity(VIBER_ID, "p-old", False), NOW)
    # When they write with no tracking data
    Chat(stores).say("привіт")
    # Then they are the same person, subscribed again
    assert stores.viber_users.get(VIBER_ID) == ViberIdentity(VIBER_ID, "p-old", True)


def test_viber_chat_one_delivery_key_saves_one_reading(stores: FakeStores) -> None:
    # Given a resident at the gas meter, and the reading message delivered twice under one key
    chat = Chat(stores)
    chat.start(context())
    at_meter(chat, "77777.2")
    before = chat.tracking
    first = viber_chat.message(VIBER_ID, "205", before, key="viber-42", stores=stores, now=NOW)
    again = viber_chat.message(VIBER_ID, "205", before, key="viber-42", stores=stores, now=NOW)
    # Then the first answer says it is saved; the re-sent one is recognised and says nothing again
    assert "збережено" in text(first) and not first.replayed
    assert again.replayed and again.messages == []
    # And one reading was written
    assert len(viber_readings(stores)) == 1


def test_viber_chat_an_unusual_bot_amount_waits_for_tak(stores: FakeStores) -> None:
    # Given a resident switching on the gas meter's bot
    chat = Chat(stores)
    chat.start(context())
    chat.say("Боти о/р 77777")
    chat.say("Бот лічильника 77777.2")
    chat.say("Увімкнути бот 77777.2")
    # When they type an amount far above the usual use
    question = chat.say("5000")
    # Then they are asked first, and the bot stays off until "Так"
    assert "незвично" in text(question) or "зазвичай" in text(question)
    assert actions(question)[:2] == ["Так", "Ні"]
    assert stores.fake_accounts.meters["77777.2"].bot_enabled is False
    done = chat.say("Так")
    assert "увімкнено" in text(done) and "5000.000 м³" in text(done)
    assert stores.fake_accounts.meters["77777.2"].bot_enabled is True


def test_viber_chat_a_bot_screen_from_before_a_resealing_cannot_switch_it_back_on(stores: FakeStores) -> None:
    # Given the gas meter's bot screen, then the meter re-sealed by an operator
    chat = Chat(stores)
    chat.start(context())
    chat.say("Боти о/р 77777")
    chat.say("Бот лічильника 77777.2")
    chat.say("Увімкнути бот 77777.2")
    stores.accounts.set_seal_epoch("77777", "77777.2", 1)
    # When the resident types the amount on the old screen
    turn = chat.say("2")
    # Then they hear it was re-sealed, and the bot stays off
    assert text(turn) == words.ERRORS["meter_resealed"]
    assert stores.fake_accounts.meters["77777.2"].bot_enabled is False
