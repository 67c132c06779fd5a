"""The conversation with ВАСя: one Viber callback in, the bot's messages and the next step out.

Where a resident is in the conversation (which account, which meter, a value awaiting "Так") travels
in Viber's `tracking_data`: every message the bot sends carries the state, signed and bound to the
Viber user, and Viber hands it back with the resident's next message. It survives cold starts and
container changes and costs no database request (docs/viber.md). The services do all the deciding;
this module only picks the service call for a message and words its answer with `viber.py`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ekc import clock
from ekc.channels import viber as words
from ekc.channels.viber import Screen
from ekc.config import link_settings
from ekc.domain.identity import Origin, PersonCaller
from ekc.domain.notices import Notice, NoticeCode
from ekc.exceptions import BadToken, DomainError, NotFound, StorageUnavailable
from ekc.observability import logger
from ekc.services import accounts, notices, progress, readings, viber_people
from ekc.services.readings import BotStatus, MeterView, ReadingsPage, RowInput, RowResult, RowStatus
from ekc.storage import get_stores
from ekc.storage.ports import Stores

STATE_VERSION = "1"
# A state older than this is forgotten: the resident starts again from the menu.
STATE_MAX_AGE = timedelta(hours=24)
MAX_TEXT_IN = 500  # longer messages are not commands, codes or readings
_MAC_BYTES = 12


class Step(StrEnum):
    """Where the resident is; what their next plain message means."""

    MENU = "menu"
    CABINET = "cabinet"
    ADD = "add"  # awaiting account + SRC
    ACCOUNT = "account"  # an account's screen in the cabinet
    REMOVE = "remove"  # awaiting the removal's confirmation
    PICK_ACCOUNT = "pick_account"
    PICK_METER = "pick_meter"
    METER = "meter"  # awaiting a reading
    CONFIRM = "confirm"  # awaiting Так/Ні for an implausible reading
    BOTS = "bots"
    AMOUNT = "amount"  # awaiting a bot's monthly amount
    BOT_CONFIRM = "bot_confirm"  # awaiting Так/Ні for an unusual bot amount


@dataclass(frozen=True, slots=True)
class ChatState:
    """The conversation's state as it travels in `tracking_data`."""

    person_id: str | None = None
    step: Step = Step.MENU
    account: str | None = None
    meter: str | None = None
    value: str | None = None
    page: int = 0
    epoch: int | None = None  # the meter's seal epoch the bot screen showed


def _state_key() -> bytes:
    secret = link_settings().token_signing_key.get_secret_value()
    return hmac.new(secret.encode(), b"ekc-viber-state", hashlib.sha256).digest()


def _mac(viber_id: str, body: str) -> str:
    digest = hmac.new(_state_key(), f"{viber_id}\x00{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).rstrip(b"=").decode()


def encode_state(state: ChatState, viber_id: str, now: datetime) -> str:
    """The state as signed `tracking_data`, valid only for this Viber user."""
    data: dict[str, Any] = {"s": str(state.step), "t": int(now.timestamp())}
    for key, value in (("p", state.person_id), ("a", state.account), ("m", state.meter), ("v", state.value)):
        if value is not None:
            data[key] = value
    if state.page:
        data["g"] = state.page
    if state.epoch is not None:
        data["e"] = state.epoch
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{STATE_VERSION}.{body}.{_mac(viber_id, body)}"


def decode_state(tracking_data: object, viber_id: str, now: datetime) -> ChatState:
    """The state a message came back with; a missing, forged, foreign or stale one is the empty state."""
    if not isinstance(tracking_data, str) or tracking_data.count(".") != 2 or len(tracking_data) > 2048:
        return ChatState()
    version, body, mac = tracking_data.split(".")
    if version != STATE_VERSION or not hmac.compare_digest(mac, _mac(viber_id, body)):
        return ChatState()
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        issued = datetime.fromtimestamp(int(data["t"]), now.tzinfo)
        state = ChatState(
            person_id=_text(data.get("p")),
            step=Step(data.get("s", "menu")),
            account=_text(data.get("a")),
            meter=_text(data.get("m")),
            value=_text(data.get("v")),
            page=int(data.get("g", 0)),
            epoch=int(data["e"]) if "e" in data else None,
        )
    except (ValueError, TypeError, KeyError):
        return ChatState()
    if now - issued > STATE_MAX_AGE or issued - now > timedelta(minutes=5):
        return ChatState()
    return state


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for Viber's send_message (or the welcome in the HTTP answer)."""

    text: str
    keyboard: dict[str, Any] | None = None
    tracking_data: str | None = None

    def as_message(self) -> dict[str, Any]:
        """The message fields of Viber's REST API (receiver and sender are the sender's to add)."""
        message: dict[str, Any] = {"type": "text", "text": words.clip(self.text)}
        if self.keyboard is not None:
            message["keyboard"] = self.keyboard
        if self.tracking_data is not None:
            message["tracking_data"] = self.tracking_data
        return message


@dataclass(frozen=True, slots=True)
class Turn:
    """The bot's answer to one callback."""

    messages: list[Outgoing]
    person_id: str | None = None
    # Readings saved in this turn, as notices to leave if their confirmation cannot be delivered.
    confirmations: list[Notice] = field(default_factory=list)
    # The message was a re-sent delivery the core recognised by its key: it was answered already.
    replayed: bool = False


# ---- recognising what a message asks for ------------------------------------------------------


def _pattern(template: str) -> re.Pattern[str]:
    escaped = re.escape(template)
    escaped = escaped.replace(r"\{number\}", r"(?P<number>\d{1,12})")
    escaped = escaped.replace(r"\{meter\}", r"(?P<meter>[0-9A-Za-z._\-]{1,64})")
    escaped = escaped.replace(r"\{page\}", r"(?P<page>\d{1,3})")
    return re.compile(rf"^(?:◀ )?{escaped}(?: ▶)?$", re.IGNORECASE)


ACTIONS: dict[str, re.Pattern[str]] = {
    name: _pattern(template)
    for name, template in {
        "menu": words.BTN_MENU,
        "cabinet": words.BTN_CABINET,
        "enter": words.BTN_ENTER,
        "add": words.BTN_ADD,
        "yes": words.BTN_YES,
        "no": words.BTN_NO,
        "keep": words.BTN_KEEP,
        "other_meter": words.BTN_OTHER_METER,
        "readings": words.ACTION_READINGS,
        "account": words.ACTION_ACCOUNT,
        "meter": words.ACTION_METER,
        "history": words.ACTION_HISTORY,
        "debt": words.ACTION_DEBT,
        "bots": words.ACTION_BOTS,
        "remove": words.ACTION_REMOVE,
        "remove_yes": words.ACTION_REMOVE_YES,
        "bot": words.ACTION_BOT,
        "bot_on": words.ACTION_BOT_ON,
        "bot_off": words.ACTION_BOT_OFF,
        "bot_amount": words.ACTION_BOT_AMOUNT,
        "page": words.ACTION_PAGE,
    }.items()
}
GREETINGS = frozenset({"меню", "головне меню", "start", "/start", "почати", "старт", "привіт", "добрий день"})
_NUMBERISH = re.compile(r"^[0-9][0-9 \u00a0]*(?:[.,][0-9]*)?$")
_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015./]")


def recognise(text: str) -> tuple[str | None, dict[str, str]]:
    """The action a message names (a button's text, typed or tapped), with its parts; or None."""
    clean = re.sub(r"\s+", " ", text.strip())
    if clean.lower() in GREETINGS:
        return "menu", {}
    for name, pattern in ACTIONS.items():
        match = pattern.match(clean)
        if match:
            return name, {k: v for k, v in match.groupdict().items() if v is not None}
    return None, {}


# ---- the conversation -------------------------------------------------------------------------


def started(
    viber_id: str,
    context: str | None,
    subscribed: bool,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> Turn:
    """The welcome for `conversation_started` (one message, answered in the HTTP response).

    With the invoice's QR context the account is linked to this Viber user first; scanning again
    is harmless; a bad or expired token is said kindly and links nothing.
    """
    stores = stores or get_stores()
    now = now or clock.now()
    if not context:
        known = viber_people.find(viber_id, stores=stores)
        person_id = known.person_id if known else None
        state = ChatState(person_id=person_id)
        return Turn([_out(Screen(words.TEXTS["welcome"], words.main_menu_buttons()), state, viber_id, now)])
    identity = viber_people.person_for(viber_id, subscribed=subscribed, stores=stores, now=now)
    caller = PersonCaller(identity.person_id)
    state = ChatState(person_id=identity.person_id)
    try:
        linked = accounts.link_by_token(caller, context.strip(), stores=stores, now=now)
        text = words.TEXTS["welcome_linked"].format(number=linked.number, address=linked.address)
    except BadToken:
        text = words.TEXTS["welcome_bad_token"]
    except DomainError as exc:  # too many attempts, storage
        text = f"{words.TEXTS['welcome']}\n{words.error(exc)}"
    screen = Screen(text, words.main_menu_buttons())
    return Turn([_out(screen, state, viber_id, now)], person_id=identity.person_id)


def message(
    viber_id: str,
    text: str | None,
    tracking_data: object,
    *,
    key: str | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> Turn:
    """The bot's answer to a resident's message (`text` None for pictures, stickers, files...).

    `key` names the delivery (Viber's message_token): a reading saved under it is never saved twice.
    """
    stores = stores or get_stores()
    now = now or clock.now()
    state = decode_state(tracking_data, viber_id, now)
    if state.person_id is None:
        # No (valid) state: who is this? A message also means Viber has subscribed them.
        state = replace(state, person_id=viber_people.person_for(viber_id, stores=stores, now=now).person_id)
    return _Chat(viber_id, state, stores, now, key).answer(text)


def is_reading(viber_id: str, text: str | None, tracking_data: object, now: datetime | None = None) -> bool:
    """Whether this message is a typed reading (or its Так/Ні): the core's submission key alone then
    keeps a re-sent delivery from being saved or answered twice, at no extra request."""
    if text is None:
        return False
    state = decode_state(tracking_data, viber_id, now or clock.now())
    action, _ = recognise(text[:MAX_TEXT_IN])
    if state.step is Step.METER:
        return action is None
    return state.step is Step.CONFIRM and action in ("yes", None)


def leave_confirmations(
    person_id: str, confirmations: Sequence[Notice], *, stores: Stores | None = None
) -> None:
    """The confirmation of saved readings was not delivered: tell them in the next conversation."""
    caller = PersonCaller(person_id)
    for notice in confirmations:
        viber_people.leave_notice(caller, notice, stores=stores)


def _out(screen: Screen, state: ChatState, viber_id: str, now: datetime) -> Outgoing:
    return Outgoing(screen.text, screen.keyboard(), encode_state(state, viber_id, now))


@dataclass
class _Chat:
    """One turn of the conversation of one person."""

    viber_id: str
    state: ChatState
    stores: Stores
    now: datetime
    key: str | None = None
    confirmations: list[Notice] = field(default_factory=list)
    replayed: bool = False

    @property
    def caller(self) -> PersonCaller:
        assert self.state.person_id is not None
        return PersonCaller(self.state.person_id)

    def answer(self, text: str | None) -> Turn:
        """Notices first (except while typing a reading: the tap before told them), then the reply."""
        action, parts = (None, {}) if text is None else recognise(text[:MAX_TEXT_IN])
        typing_a_reading = action is None and self.state.step in (Step.METER, Step.CONFIRM)
        told = [] if typing_a_reading else self._notices()
        try:
            screen, state = self._reply(text, action, parts)
        except StorageUnavailable as exc:
            logger.warning("storage unavailable in the Viber chat", exc_info=exc.__cause__)
            screen, state = Screen(words.error(exc), self._back_buttons()), self.state
        except NotFound as exc:
            screen, state = Screen(words.error(exc), words.main_menu_buttons()), self._at(Step.MENU)
        except DomainError as exc:
            screen, state = Screen(words.error(exc), self._back_buttons()), self.state
        messages = [Outgoing(t, None, None) for t in told]
        out = _out(screen, state, self.viber_id, self.now)
        messages = [replace(m, tracking_data=out.tracking_data) for m in messages] + [out]
        if self.replayed:
            return Turn([], self.state.person_id, [], replayed=True)
        return Turn(messages, self.state.person_id, self.confirmations)

    # ---- helpers ----

    def _at(self, step: Step, **changes: Any) -> ChatState:
        keep = {"account": self.state.account} if "account" not in changes else {}
        return ChatState(person_id=self.state.person_id, step=step, **{**keep, **changes})

    def _back_buttons(self) -> tuple[dict[str, object], ...]:
        return (words.menu_button(),) if self.state.step is not Step.MENU else words.main_menu_buttons()

    def _notices(self) -> list[str]:
        try:
            pending = notices.take(self.caller, stores=self.stores)
        except StorageUnavailable:
            return []  # told next time; the resident's request matters more now
        return [t for t in (words.notice_text(n) for n in pending) if t]

    def _page(self, number: str) -> ReadingsPage:
        return readings.readings_page(self.caller, number, stores=self.stores, now=self.now)

    # ---- dispatch ----

    def _reply(self, text: str | None, action: str | None, parts: dict[str, str]) -> tuple[Screen, ChatState]:
        if text is None:
            return Screen(words.TEXTS["not_text"], words.main_menu_buttons()), self._at(Step.MENU)
        handler: Callable[..., tuple[Screen, ChatState]] | None = getattr(self, f"_do_{action}", None)
        if action is not None and handler is not None:
            return handler(**parts)
        step = self.state.step
        if step is Step.ADD:
            return self._link(text)
        if step in (Step.METER, Step.CONFIRM) and self.state.account and self.state.meter:
            return self._save(self.state.account, self.state.meter, text, confirm=False)
        if step in (Step.AMOUNT, Step.BOT_CONFIRM) and self.state.account and self.state.meter:
            return self._bot_amount(text)
        if len(text) <= 40 and _NUMBERISH.match(text.strip()):
            return self._number_without_meter(text.strip())
        return Screen(words.TEXTS["help"], words.main_menu_buttons()), self._at(Step.MENU)

    # ---- main menu, cabinet ----

    def _do_menu(self) -> tuple[Screen, ChatState]:
        return Screen(words.TEXTS["menu"], words.main_menu_buttons()), self._at(Step.MENU, account=None)

    def _do_cabinet(self, page: int = 0) -> tuple[Screen, ChatState]:
        linked = accounts.list_accounts(self.caller, stores=self.stores)
        add = words.button(words.BTN_ADD, words.BTN_ADD, words.ORANGE)
        if not linked:
            text = words.TEXTS["no_accounts"]
            return Screen(text, (add, words.menu_button())), self._at(Step.CABINET, account=None)
        items = [
            words.account_button(a.number, a.address, words.ACTION_ACCOUNT.format(number=a.number))
            for a in linked
        ]
        buttons, page = words.paged(items, page, (add, words.menu_button()))
        text = words.TEXTS["cabinet"].format(lines=words.account_lines(linked))
        return Screen(text, buttons), self._at(Step.CABINET, account=None, page=page)

    def _do_add(self) -> tuple[Screen, ChatState]:
        return Screen(words.TEXTS["add_prompt"], (words.menu_button(),)), self._at(Step.ADD, account=None)

    def _link(self, text: str) -> tuple[Screen, ChatState]:
        code = _CODE_SEPARATORS.sub("", text.strip())
        try:
            linked = accounts.link_account(
                self.caller, code if code.isdigit() else text, stores=self.stores, now=self.now
            )
        except DomainError as exc:
            if isinstance(exc, StorageUnavailable):
                raise
            buttons = (
                words.button(words.BTN_CABINET, words.BTN_CABINET, words.LIGHT_GREEN),
                words.menu_button(),
            )
            return Screen(words.error(exc), buttons), self._at(Step.ADD, account=None)
        text_out = words.TEXTS["linked"].format(number=linked.number, address=linked.address)
        screen, state = self._do_cabinet()
        return Screen(f"{text_out}\n{screen.text}", screen.buttons), state

    def _do_account(self, number: str) -> tuple[Screen, ChatState]:
        page = self._page(number)
        assert page.account is not None  # a person sees their accounts' data
        buttons = (
            words.button(
                words.ACTION_HISTORY.format(number=number),
                words.ACTION_HISTORY.format(number=number),
                words.LIGHT_GREEN,
            ),
            words.button(
                words.ACTION_DEBT.format(number=number),
                words.ACTION_DEBT.format(number=number),
                words.LIGHT_GREEN,
            ),
            words.button(
                words.ACTION_BOTS.format(number=number),
                words.ACTION_BOTS.format(number=number),
                words.LIGHT_GREEN,
            ),
            words.button(
                words.ACTION_REMOVE.format(number=number),
                words.ACTION_REMOVE.format(number=number),
                words.RED,
            ),
            words.menu_button(),
        )
        return Screen(words.account_screen(page.account), buttons), self._at(Step.ACCOUNT, account=number)

    def _do_history(self, number: str) -> tuple[Screen, ChatState]:
        page = self._page(number)
        lines = "\n".join(words.history_line(v) for v in page.meters)
        text = words.TEXTS["history"].format(number=number, lines=lines)
        return Screen(text, self._account_buttons(number)), self._at(Step.ACCOUNT, account=number)

    def _do_debt(self, number: str) -> tuple[Screen, ChatState]:
        page = self._page(number)
        assert page.account is not None
        return Screen(words.debt_text(page.account), self._account_buttons(number)), self._at(
            Step.ACCOUNT, account=number
        )

    def _account_buttons(self, number: str) -> tuple[dict[str, object], ...]:
        action = words.ACTION_ACCOUNT.format(number=number)
        return (words.button(f"о/р {number}", action, words.PINK), words.menu_button())

    def _do_remove(self, number: str) -> tuple[Screen, ChatState]:
        page = self._page(number)
        assert page.account is not None
        text = words.TEXTS["remove_confirm"].format(number=number, address=page.account.address)
        yes = words.ACTION_REMOVE_YES.format(number=number)
        buttons = (
            words.button(yes, yes, words.RED),
            words.button(words.BTN_KEEP, words.BTN_KEEP, words.LIGHT_GREEN),
            words.menu_button(),
        )
        return Screen(text, buttons), self._at(Step.REMOVE, account=number)

    def _do_remove_yes(self, number: str) -> tuple[Screen, ChatState]:
        accounts.unlink_account(self.caller, number, stores=self.stores)
        removed = words.TEXTS["removed"].format(number=number)
        screen, state = self._do_cabinet()
        return Screen(f"{removed}\n{screen.text}", screen.buttons), state

    def _do_keep(self) -> tuple[Screen, ChatState]:
        number = self.state.account
        if number is None:
            return self._do_cabinet()
        kept = words.TEXTS["kept"].format(number=number)
        screen, state = self._do_account(number)
        return Screen(f"{kept}\n{screen.text}", screen.buttons), state

    # ---- bots ----

    def _do_bots(self, number: str) -> tuple[Screen, ChatState]:
        page = self._page(number)
        items = [
            words.button(
                f"{words.meter_name(v.meter)}: бот {'увімкнено' if v.meter.bot_enabled else 'вимкнено'}",
                words.ACTION_BOT.format(meter=v.meter.id),
                words.LIGHT_GREEN,
            )
            for v in page.meters
        ]
        buttons, _ = words.paged(items, 0, self._account_buttons(number))
        return Screen(words.TEXTS["bots"].format(number=number), buttons), self._at(Step.BOTS, account=number)

    def _bot_view(self, meter_id: str) -> tuple[str, MeterView]:
        number = self.state.account
        if number is None:
            raise NotFound()
        view = progress.find(self._page(number).meters, meter_id)
        if view is None:
            raise NotFound("meter_not_found")
        return number, view

    def _bot_buttons(self, view: MeterView, number: str) -> tuple[dict[str, object], ...]:
        meter_id = view.meter.id
        if view.meter.bot_enabled:
            switch = words.button(
                words.ACTION_BOT_OFF.format(meter=meter_id),
                words.ACTION_BOT_OFF.format(meter=meter_id),
                words.RED,
            )
        else:
            switch = words.button(
                words.ACTION_BOT_ON.format(meter=meter_id),
                words.ACTION_BOT_ON.format(meter=meter_id),
                words.LIGHT_GREEN,
            )
        amount = words.ACTION_BOT_AMOUNT.format(meter=meter_id)
        bots = words.ACTION_BOTS.format(number=number)
        return (
            switch,
            words.button(amount, amount, words.LIGHT_GREEN),
            words.button(bots, bots, words.PINK),
            words.menu_button(),
        )

    def _do_bot(self, meter: str) -> tuple[Screen, ChatState]:
        number, view = self._bot_view(meter)
        state = self._at(Step.BOTS, account=number, meter=meter, epoch=view.meter.seal_epoch)
        return Screen(words.bot_screen(view), self._bot_buttons(view, number)), state

    def _do_bot_on(self, meter: str) -> tuple[Screen, ChatState]:
        return self._do_bot_amount(meter)

    def _do_bot_amount(self, meter: str) -> tuple[Screen, ChatState]:
        number, view = self._bot_view(meter)
        text = words.TEXTS["bot_amount_prompt"].format(
            unit=words.unit(view.meter.unit), meter=words.meter_name(view.meter)
        )
        bot = words.ACTION_BOT.format(meter=meter)
        buttons = (words.button(bot, bot, words.LIGHT_GREEN), words.menu_button())
        epoch = self.state.epoch if self.state.meter == meter else view.meter.seal_epoch
        return Screen(text, buttons), self._at(Step.AMOUNT, account=number, meter=meter, epoch=epoch)

    def _do_bot_off(self, meter: str) -> tuple[Screen, ChatState]:
        number, view = self._bot_view(meter)
        amount = words.value(view.meter.bot_amount)
        outcome = readings.set_bot(
            self.caller, number, meter, False, amount, stores=self.stores, now=self.now
        )
        updated = outcome.view
        text = words.TEXTS["bot_off"].format(meter=words.meter_name(updated.meter))
        state = self._at(Step.BOTS, account=number, meter=meter, epoch=updated.meter.seal_epoch)
        return Screen(f"{text}\n{words.bot_screen(updated)}", self._bot_buttons(updated, number)), state

    def _bot_amount(self, text: str, confirm: bool = False) -> tuple[Screen, ChatState]:
        number, meter = self.state.account, self.state.meter
        assert number is not None and meter is not None
        amount = text.strip()[:40]
        bot = words.ACTION_BOT.format(meter=meter)
        try:
            outcome = readings.set_bot(
                self.caller,
                number,
                meter,
                True,
                amount,
                seal_epoch=self.state.epoch,
                confirmed=amount if confirm else None,
                stores=self.stores,
                now=self.now,
            )
        except DomainError as exc:
            if isinstance(exc, StorageUnavailable | NotFound):
                raise
            buttons = (words.button(bot, bot, words.LIGHT_GREEN), words.menu_button())
            state = self._at(Step.AMOUNT, account=number, meter=meter, epoch=self.state.epoch)
            return Screen(words.error(exc), buttons), state
        if outcome.status is BotStatus.NEEDS_CONFIRMATION and outcome.question is not None:
            question = words.question_text(outcome.question, outcome.view.meter.unit, bot=True)
            buttons = (
                words.button(words.BTN_YES, words.BTN_YES, words.LIGHT_GREEN, 1, 3),
                words.button(words.BTN_NO, words.BTN_NO, words.RED, 1, 3),
                words.menu_button(),
            )
            state = self._at(
                Step.BOT_CONFIRM, account=number, meter=meter, value=amount, epoch=self.state.epoch
            )
            return Screen(f"{question}\n{words.TEXTS['confirm_hint']}", buttons), state
        m = outcome.view.meter
        done = words.TEXTS["bot_on"].format(
            meter=words.meter_name(m), amount=words.value(m.bot_amount), unit=words.unit(m.unit)
        )
        state = self._at(Step.BOTS, account=number, meter=meter, epoch=m.seal_epoch)
        return Screen(done, self._bot_buttons(outcome.view, number)), state

    # ---- entering readings ----

    def _do_enter(self, page: int = 0) -> tuple[Screen, ChatState]:
        linked = accounts.list_accounts(self.caller, stores=self.stores)
        if not linked:
            add = words.button(words.BTN_ADD, words.BTN_ADD, words.ORANGE)
            return Screen(words.TEXTS["no_accounts"], (add, words.menu_button())), self._at(
                Step.CABINET, account=None
            )
        items = [
            words.account_button(a.number, a.address, words.ACTION_READINGS.format(number=a.number))
            for a in linked
        ]
        buttons, page = words.paged(items, page, (words.menu_button(),))
        return Screen(words.TEXTS["pick_account"], buttons), self._at(
            Step.PICK_ACCOUNT, account=None, page=page
        )

    def _do_readings(self, number: str, page: int = 0, lead: str = "") -> tuple[Screen, ChatState]:
        view_page = self._page(number)
        return self._meter_list(number, view_page.meters, view_page, page, lead)

    def _meter_list(
        self, number: str, views: Sequence[MeterView], page_data: ReadingsPage | None, page: int, lead: str
    ) -> tuple[Screen, ChatState]:
        split = progress.progress(views)
        address = page_data.account.address if page_data and page_data.account else None
        if address:
            heading = words.TEXTS["pick_meter"].format(number=number, address=address)
        else:
            heading = words.TEXTS["pick_meter_no_address"].format(number=number)
        parts = [lead, heading] if lead else [heading]
        if not split.open:
            parts.append(words.TEXTS["no_open_meters"])
        closed = words.closed_lines(split.closed)
        if closed:
            parts.append(closed)
        items = [words.meter_button(v) for v in split.open]
        buttons, page = words.paged(items, page, (words.menu_button(),))
        return Screen("\n".join(parts), buttons), self._at(Step.PICK_METER, account=number, page=page)

    def _do_other_meter(self) -> tuple[Screen, ChatState]:
        if self.state.account is None:
            return self._do_enter()
        return self._do_readings(self.state.account)

    def _do_meter(self, meter: str) -> tuple[Screen, ChatState]:
        number = self.state.account
        if number is None:
            return self._do_enter()
        view = progress.find(self._page(number).meters, meter)
        if view is None:
            raise NotFound("meter_not_found")
        if not view.window.open:
            text = words.TEXTS["meter_closed"].format(
                meter=words.meter_name(view.meter),
                opens=words.when(view.window.opens_at),
                closes=words.when(view.window.closes_at),
            )
            return self._do_readings(number, lead=text)
        return Screen(words.meter_prompt(view), self._meter_buttons()), self._at(
            Step.METER, account=number, meter=meter
        )

    def _meter_buttons(self) -> tuple[dict[str, object], ...]:
        other = words.button(words.BTN_OTHER_METER, words.BTN_OTHER_METER, words.LIGHT_GREEN)
        return (other, words.menu_button())

    def _do_yes(self) -> tuple[Screen, ChatState]:
        s = self.state
        if s.step is Step.CONFIRM and s.account and s.meter and s.value:
            return self._save(s.account, s.meter, s.value, confirm=True)
        if s.step is Step.BOT_CONFIRM and s.account and s.meter and s.value:
            return self._bot_amount(s.value, confirm=True)
        return Screen(words.TEXTS["help"], words.main_menu_buttons()), self._at(Step.MENU)

    def _do_no(self) -> tuple[Screen, ChatState]:
        s = self.state
        if s.step is Step.BOT_CONFIRM and s.meter:
            return self._do_bot_amount(s.meter)
        if s.step is Step.CONFIRM and s.account and s.meter:
            view = progress.find(self._page(s.account).meters, s.meter)
            name = words.meter_name(view.meter) if view else s.meter
            text = words.TEXTS["question_no"].format(value=s.value or "", meter=name)
            return Screen(text, self._meter_buttons()), self._at(Step.METER, account=s.account, meter=s.meter)
        return Screen(words.TEXTS["help"], words.main_menu_buttons()), self._at(Step.MENU)

    def _do_page(self, page: str) -> tuple[Screen, ChatState]:
        index = int(page) - 1
        step = self.state.step
        if step is Step.CABINET:
            return self._do_cabinet(index)
        if step is Step.PICK_ACCOUNT:
            return self._do_enter(index)
        if step is Step.PICK_METER and self.state.account:
            return self._do_readings(self.state.account, index)
        return self._do_menu()

    def _number_without_meter(self, text: str) -> tuple[Screen, ChatState]:
        if self.state.step is Step.PICK_METER and self.state.account:
            lead = words.TEXTS["number_pick_meter"].format(value=text)
            return self._do_readings(self.state.account, self.state.page, lead=lead)
        screen, state = self._do_enter()
        lead = words.TEXTS["number_without_meter"].format(value=text)
        return Screen(f"{lead}\n{screen.text}", screen.buttons), state

    def _save(self, number: str, meter: str, text: str, *, confirm: bool) -> tuple[Screen, ChatState]:
        typed = text.strip()[:40] or " "
        row = RowInput(meter, typed, typed if confirm else None)
        origin = Origin.viber(self.caller.person_id)
        outcome = readings.save_readings(
            self.caller, number, [row], origin, key=self.key, stores=self.stores, now=self.now
        )
        self.replayed = outcome.replayed
        result = (
            outcome.results[0]
            if outcome.results
            else RowResult(meter, RowStatus.REJECTED, reason="meter_not_found")
        )
        text_out = words.row_text(result)
        if result.status is RowStatus.NEEDS_CONFIRMATION and result.question is not None:
            buttons = (
                words.button(words.BTN_YES, words.BTN_YES, words.LIGHT_GREEN, 1, 3),
                words.button(words.BTN_NO, words.BTN_NO, words.RED, 1, 3),
                words.menu_button(),
            )
            value_text = words.value(result.question.value)
            return Screen(text_out, buttons), self._at(
                Step.CONFIRM, account=number, meter=meter, value=value_text
            )
        if result.status is RowStatus.SAVED:
            self._confirmation(number, result)
            return self._after_save(number, outcome.meters, text_out)
        if result.status is RowStatus.CLOSED:
            return self._meter_list(number, outcome.meters, None, 0, text_out)
        return Screen(text_out, self._meter_buttons()), self._at(Step.METER, account=number, meter=meter)

    def _confirmation(self, number: str, result: RowResult) -> None:
        params = words.reading_saved_params(result)
        notice = Notice(
            NoticeCode.READING_SAVED, self.now, account=number, meter_id=result.meter_id, params=params
        )
        self.confirmations.append(notice)

    def _after_save(
        self, number: str, views: Sequence[MeterView], saved_text: str
    ) -> tuple[Screen, ChatState]:
        split = progress.progress(views)
        if split.waiting:
            count = len(split.waiting)
            remaining = words.TEXTS["remaining"].format(count=count, meters=words.meters_word(count))
            text = f"{saved_text}\n{remaining}"
            items = [words.meter_button(v) for v in split.waiting]
            buttons, page = words.paged(items, 0, (words.menu_button(),))
            return Screen(text, buttons), self._at(Step.PICK_METER, account=number, page=page)
        month = split.handed_in[0].window.billing_month.label if split.handed_in else ""
        summary = words.TEXTS["all_done"].format(
            month=month, number=number, lines=words.done_lines(split.handed_in)
        )
        text = f"{saved_text}\n{summary}\n{words.TEXTS['change_hint']}"
        # The account stays in the state: a meter of it typed next still needs no address tap.
        return Screen(text, words.main_menu_buttons()), self._at(Step.MENU, account=number)
