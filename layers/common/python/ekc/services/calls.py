"""The phone lines' call flow: what the robot asks next, given where the call is and what the caller did.

A call is a chain of turns. Each webhook brings the call's state (which the door keeps signed in its
action URLs, `ekc.channels.phone`) and the caller's input (keys, or the recogniser's transcript);
`answer` returns what to say, as phrases with their data, the next state and what input to wait for.
The door words the phrases and renders TwiML; nothing here knows either. Both lines share the flow:
the keypad line reads keys, the voice line reads speech or keys.

Rules of the flow (docs/phone.md): nothing is saved before the caller confirmed the read-back; key 9
(or "повторіть") repeats the prompt at any step; silence, a wrong key or an unclear answer asks again
up to `MAX_REASKS` times, then a polite goodbye; on the voice line two unreadable numbers at a step
switch the call to the keypad; failed account entries are rate-limited per calling number and per
account. Requests per turn: none while the account is not known; then 1 Query of the account (the
organizations are cached), 2 when the turn saves (the save's Query and its transaction).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ekc import clock
from ekc.config import telephony_settings
from ekc.domain.identity import AccountCaller, Origin, Proof, mask_phone
from ekc.domain.kinds import MeterKind
from ekc.domain.values import parse_value
from ekc.exceptions import InvalidValue, NotFound, StorageUnavailable
from ekc.observability import count, logger
from ekc.services import attempts, readings
from ekc.services.readings import MeterView, Question, ReadingsPage, RowInput, RowResult, RowStatus
from ekc.storage import get_stores
from ekc.storage.ports import Stores

# The kind menu's keys are the same on every account, so a regular caller learns that gas is 2.
KIND_KEYS: dict[MeterKind, int] = {
    MeterKind.ELECTRICITY: 1,
    MeterKind.GAS: 2,
    MeterKind.COLD_WATER: 3,
    MeterKind.HOT_WATER: 4,
    MeterKind.HEAT: 5,
}
REPEAT_KEY = "9"
YES_KEY = "1"
NO_KEY = "2"
# Silence, a wrong key or an unclear answer: the prompt is asked again this many times, then goodbye.
MAX_REASKS = 3
# Account numbers not found in one call before the robot says goodbye.
MAX_ENTRIES = 3
# Unreadable spoken numbers at one step before the voice line offers the keypad.
MISHEARD_BEFORE_KEYPAD = 2
_ACCOUNT_DIGITS = re.compile(r"[0-9]{1,12}")


class Line(StrEnum):
    """Which phone line the call came in on."""

    KEYPAD = "keypad"  # DTMF only: callers without internet, many elderly
    VOICE = "voice"  # speech, or keys at any step: callers without a mobile phone


class Step(StrEnum):
    """Where a call is: the question the caller was last asked."""

    ACCOUNT = "account"  # the account number
    ACCOUNT_CHECK = "account_check"  # its read-back: right or again
    KIND = "kind"  # which kind of meter
    METER = "meter"  # which of two meters of that kind
    READING = "reading"  # the reading
    READING_CHECK = "reading_check"  # its read-back: right or again
    CONFIRM_HIGH = "confirm_high"  # an implausible reading: is it really so
    NOT_SAVED = "not_saved"  # storage failed: try again or end
    NEXT = "next"  # saved: another meter or goodbye


class Expect(StrEnum):
    """What the robot waits for after its prompt."""

    NUMBER = "number"  # digits ended by #, or a spoken number
    CHOICE = "choice"  # one key of a menu, or a spoken kind or note
    YES_NO = "yes_no"  # 1 or 2, or "так"/"ні"


class Phrase(StrEnum):
    """Everything the robot can say; `ekc.channels.phone` words each one."""

    GREETING = "greeting"
    ASK_ACCOUNT = "ask_account"
    ACCOUNT_READBACK = "account_readback"  # digits
    ACCOUNT_BAD = "account_bad"  # not 1-12 digits
    ACCOUNT_NOT_FOUND = "account_not_found"  # digits
    ACCOUNT_LOCKED = "account_locked"  # until
    ACCOUNT_NO_METERS = "account_no_meters"
    KIND_MENU = "kind_menu"  # options: ((key, kind), ...)
    KIND_CLOSED = "kind_closed"  # kind, opens_at
    METER_MENU = "meter_menu"  # kind, options: ((key, note, serial), ...)
    METER_INTRO = "meter_intro"  # kind, note (when the kind has several meters)
    PREVIOUS = "previous"  # value, unit
    CURRENT = "current"  # value, unit: this month's reading, which a new one replaces
    ASK_READING = "ask_reading"
    READING_READBACK = "reading_readback"  # value, unit
    VALUE_REFUSED = "value_refused"  # code (ekc.domain.values' codes)
    SPEECH_REFUSED = "speech_refused"  # reason (ekc.speech.Reason)
    OFFER_KEYPAD = "offer_keypad"
    SAVED = "saved"  # value, unit
    WARNING = "warning"  # code, numbers, unit
    QUESTION = "question"  # question, unit
    SUPERSEDED = "superseded"  # value, unit: the newer reading that won
    TOO_MANY_TODAY = "too_many_today"  # limit
    NOT_SAVED = "not_saved"  # code: unavailable | outcome_unknown
    ASK_RETRY = "ask_retry"
    ASK_NEXT = "ask_next"
    SILENCE = "silence"
    WRONG_KEY = "wrong_key"
    NOT_UNDERSTOOD = "not_understood"
    TROUBLE = "trouble"  # storage failed while reading: call again later
    RESTART = "restart"  # the call's state could not be read: from the beginning
    GIVE_UP = "give_up"
    GOODBYE = "goodbye"


@dataclass(frozen=True, slots=True)
class Said:
    """One thing the robot says, with the data its words need."""

    phrase: Phrase
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallState:
    """Where a call is; the door keeps it between webhooks (signed into the action URL)."""

    step: Step = Step.ACCOUNT
    turn: int = 0  # how many answers the call has had: a save's key is the call's id and this
    tries: int = 0  # silences, wrong keys and unclear answers at this step
    misheard: int = 0  # voice line: unreadable numbers at this step
    keys_only: bool = False  # voice line: the caller was switched to the keypad
    entries: int = 0  # account numbers not found in this call
    account: str | None = None
    kind: MeterKind | None = None
    meter_id: str | None = None
    value: str | None = None  # the reading read back or questioned, as parse_value gives it
    question: Question | None = None  # why the reading needs confirming (CONFIRM_HIGH)
    confirmed: bool = False  # NOT_SAVED: the failed save had been confirmed


@dataclass(frozen=True, slots=True)
class Call:
    """The call a webhook belongs to."""

    sid: str  # the provider's call id
    line: Line
    number: str  # the calling number as the provider sent it; kept and logged only masked

    @property
    def origin(self) -> Origin:
        """Where the readings of this call come from (the number masked)."""
        return Origin.keypad(self.number) if self.line is Line.KEYPAD else Origin.voice(self.number)


@dataclass(frozen=True, slots=True)
class Heard:
    """What the caller did: keys pressed, or what the recogniser heard (nothing: silence)."""

    digits: str = ""
    speech: str = ""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """The robot's answer: what it says, the state to come back with, and what it waits for.

    `state` None ends the call after `said`. `keys` tells the door to take keys only (the keypad
    line, or a voice call switched to the keypad).
    """

    said: tuple[Said, ...]
    state: CallState | None
    expect: Expect | None = None

    @property
    def keys(self) -> bool:
        """Whether the next input is keys only."""
        return self.state is not None and self.state.keys_only


@dataclass(frozen=True, slots=True)
class KindOption:
    """A kind of meter the account has, with its menu key and its meters."""

    key: int
    kind: MeterKind
    views: tuple[MeterView, ...]

    @property
    def open(self) -> bool:
        """Whether any meter of this kind takes readings now."""
        return any(v.window.open for v in self.views)

    @property
    def opens_at(self) -> datetime:
        """When the first of its closed meters opens."""
        return min(v.window.opens_at for v in self.views)


def kind_menu(page: ReadingsPage) -> list[KindOption]:
    """The kinds this account has, each with its fixed key (1 electricity ... 5 heat), in key order."""
    by_kind: dict[MeterKind, list[MeterView]] = {}
    for view in page.meters:
        by_kind.setdefault(view.meter.kind, []).append(view)
    return [KindOption(KIND_KEYS[kind], kind, tuple(views)) for kind, views in sorted(
        by_kind.items(), key=lambda item: KIND_KEYS[item[0]]
    )]  # fmt: skip


def start() -> Turn:
    """The first turn of every call: the greeting and the question for the account number."""
    state = CallState()
    return Turn((Said(Phrase.GREETING), Said(Phrase.ASK_ACCOUNT)), state, Expect.NUMBER)


def restart() -> Turn:
    """A call whose state could not be read (a rotated key, a very old URL): from the beginning."""
    state = CallState()
    return Turn((Said(Phrase.RESTART), Said(Phrase.ASK_ACCOUNT)), state, Expect.NUMBER)


def answer(
    call: Call,
    state: CallState,
    heard: Heard,
    *,
    stores: Stores | None = None,
    now: datetime | None = None,
) -> Turn:
    """The robot's next turn after the caller answered `state`'s question with `heard`."""
    flow = _Flow(call, state, heard, stores or get_stores(), now or clock.now())
    try:
        return flow.run()
    except StorageUnavailable:
        # Only reads get here (a save says "not saved" itself): nothing was written, call again later.
        logger.warning("storage unavailable during a call", extra={"step": str(state.step)})
        count("PhoneTrouble", "door", "phone")
        return flow.end(Phrase.TROUBLE, Phrase.GOODBYE, reason="trouble")
    except NotFound:
        # The account or its meter went away during the call (billing removed it): nothing to do.
        logger.warning("account gone during a call", extra={"step": str(state.step)})
        return flow.end(Phrase.TROUBLE, Phrase.GOODBYE, reason="trouble")


def entry_claims(call: Call, number: str) -> list[attempts.Claim]:
    """The budgets an account entry is reserved against: the calling number's and the account's.

    The number is kept as a keyed hash: the counters must not become a list of who called.
    """
    settings = telephony_settings()
    budget = attempts.Budget(
        "phone_entry",
        settings.phone_entry_failures_allowed,
        timedelta(minutes=settings.phone_entry_window_minutes),
    )
    secret = settings.twilio_auth_token.get_secret_value().encode()
    tag = hmac.new(secret, f"phone-caller/{call.number}".encode(), hashlib.sha256).hexdigest()[:32]
    return [attempts.Claim(budget, f"caller#{tag}"), attempts.Claim(budget, f"account#{number}")]


class _Flow:
    """One turn of a call: the handlers of each step, with the account page loaded at most once."""

    def __init__(self, call: Call, state: CallState, heard: Heard, stores: Stores, now: datetime) -> None:
        self.call = call
        self.state = state
        self.heard = heard
        self.stores = stores
        self.now = now
        self._page: ReadingsPage | None = None
        digits = heard.digits.strip().removesuffix("#")
        self.digits = digits
        # On the voice line keys win over speech: a caller who pressed a key meant it.
        self.speech = "" if digits else heard.speech.strip()

    # ---- the account's page, loaded when a step needs it ---------------------------------------------

    @property
    def caller(self) -> AccountCaller:
        assert self.state.account is not None
        return AccountCaller(self.state.account, Proof.ACCOUNT_NUMBER)

    @property
    def page(self) -> ReadingsPage:
        if self._page is None:
            self._page = readings.readings_page(
                self.caller, self.caller.account, stores=self.stores, now=self.now
            )
        return self._page

    def view(self) -> MeterView | None:
        return next((v for v in self.page.meters if v.meter.id == self.state.meter_id), None)

    # ---- turns ---------------------------------------------------------------------------------------

    def run(self) -> Turn:
        if self.digits == REPEAT_KEY or (self.speech and _repeat_asked(self.speech)):
            return self.ask(self.state, ())
        if not self.digits and not self.speech:
            return self.reask(Said(Phrase.SILENCE))
        handler = getattr(self, f"_on_{self.state.step}")
        return handler()

    def next_state(self, state: CallState, **changes: Any) -> CallState:
        """The state after this turn: one more answer, and the tries of a new step start at zero."""
        new = replace(state, turn=self.state.turn + 1, **changes)
        if new.step != self.state.step:
            new = replace(new, tries=0, misheard=0)
        return new

    def ask(self, state: CallState, before: tuple[Said, ...]) -> Turn:
        """Say `before`, then `state`'s prompt (less what `before` just said), and wait for its answer."""
        new = self.next_state(state)
        prompt = tuple(said for said in self.prompt(new) if said not in before)
        return Turn((*before, *prompt), new, EXPECT[new.step])

    def go(self, step: Step, before: tuple[Said, ...] = (), **changes: Any) -> Turn:
        """Move to `step` (with `changes` to the state) and ask its question."""
        return self.ask(replace(self.state, step=step, **changes), before)

    def end(self, *phrases: Phrase | Said, reason: str) -> Turn:
        """Say these and hang up."""
        count("PhoneCallEnded", "reason", reason)
        said = tuple(p if isinstance(p, Said) else Said(p) for p in phrases)
        return Turn(said, None)

    def reask(self, why: Said) -> Turn:
        """The same question again, with why; after MAX_REASKS a polite goodbye."""
        tries = self.state.tries + 1
        if tries > MAX_REASKS:
            return self.end(why, Phrase.GIVE_UP, reason="gave_up")
        return self.ask(replace(self.state, tries=tries), (why,))

    def not_understood(self) -> Turn:
        return self.reask(Said(Phrase.WRONG_KEY if self.digits else Phrase.NOT_UNDERSTOOD))

    def misheard(self, reason: str, detail: str) -> Turn:
        """A spoken number the interpreter refused: ask again; the second time, offer the keypad."""
        count("PhoneSpeechRefused", "reason", reason)
        logger.info(
            "spoken number refused",
            extra={"reason": reason, "detail": detail, "confidence": self.heard.confidence},
        )
        logger.debug("transcript", extra={"transcript": self.speech})
        refused = Said(Phrase.SPEECH_REFUSED, {"reason": reason})
        misheard = self.state.misheard + 1
        if misheard < MISHEARD_BEFORE_KEYPAD:
            return self.reask_with(refused, misheard=misheard)
        count("PhoneKeypadFallback", "step", str(self.state.step))
        # The keypad gets its own tries: the caller starts afresh with a new way of answering.
        return self.ask(
            replace(self.state, keys_only=True, misheard=0, tries=0), (refused, Said(Phrase.OFFER_KEYPAD))
        )

    def reask_with(self, why: Said, **changes: Any) -> Turn:
        tries = self.state.tries + 1
        if tries > MAX_REASKS:
            return self.end(why, Phrase.GIVE_UP, reason="gave_up")
        return self.ask(replace(self.state, tries=tries, **changes), (why,))

    def yes_no(self) -> bool | None:
        if self.digits:
            return {YES_KEY: True, NO_KEY: False}.get(self.digits)
        return _yes_no(self.speech)

    # ---- prompts -------------------------------------------------------------------------------------

    def prompt(self, state: CallState) -> tuple[Said, ...]:
        """The question of a step, with what the caller needs to answer it."""
        match state.step:
            case Step.ACCOUNT:
                return (Said(Phrase.ASK_ACCOUNT),)
            case Step.ACCOUNT_CHECK:
                return (Said(Phrase.ACCOUNT_READBACK, {"digits": state.account}),)
            case Step.KIND:
                return self.kind_prompt()
            case Step.METER:
                return (self.meter_menu(state.kind),)
            case Step.READING:
                return self.reading_prompt(state)
            case Step.READING_CHECK:
                value = Decimal(state.value or "0")
                return (Said(Phrase.READING_READBACK, {"value": value, "unit": self.unit(state)}),)
            case Step.CONFIRM_HIGH:
                return (Said(Phrase.QUESTION, {"question": state.question, "unit": self.unit(state)}),)
            case Step.NOT_SAVED:
                return (Said(Phrase.ASK_RETRY),)
            case Step.NEXT:
                return (Said(Phrase.ASK_NEXT),)
        raise AssertionError(f"no prompt for {state.step}")

    def unit(self, state: CallState) -> str:
        view = next((v for v in self.page.meters if v.meter.id == state.meter_id), None)
        if view is None:
            raise NotFound()
        return str(view.meter.unit)

    def kind_prompt(self) -> tuple[Said, ...]:
        menu = kind_menu(self.page)
        said = []
        open_options = tuple((o.key, o.kind) for o in menu if o.open)
        if open_options:
            said.append(Said(Phrase.KIND_MENU, {"options": open_options}))
        said += [
            Said(Phrase.KIND_CLOSED, {"kind": o.kind, "opens_at": o.opens_at}) for o in menu if not o.open
        ]
        return tuple(said)

    def meter_menu(self, kind: MeterKind | None) -> Said:
        views = self.views_of(kind)
        options = tuple((n, v.meter.note, v.meter.serial) for n, v in enumerate(views, 1))
        return Said(Phrase.METER_MENU, {"kind": kind, "options": options})

    def views_of(self, kind: MeterKind | None) -> list[MeterView]:
        return [v for v in self.page.meters if v.meter.kind == kind]

    def reading_prompt(self, state: CallState) -> tuple[Said, ...]:
        view = next((v for v in self.page.meters if v.meter.id == state.meter_id), None)
        if view is None:
            raise NotFound()
        unit = str(view.meter.unit)
        said = []
        if len(self.views_of(view.meter.kind)) > 1:
            said.append(Said(Phrase.METER_INTRO, {"kind": view.meter.kind, "note": view.meter.note}))
        previous, _ = view.previous
        if previous is not None:
            said.append(Said(Phrase.PREVIOUS, {"value": previous, "unit": unit}))
        if view.current is not None:
            said.append(Said(Phrase.CURRENT, {"value": view.current.value, "unit": unit}))
        said.append(Said(Phrase.ASK_READING))
        return tuple(said)

    # ---- steps ---------------------------------------------------------------------------------------

    def _on_account(self) -> Turn:
        number = self.number_heard(integer=True)
        if isinstance(number, Turn):
            return number
        if not _ACCOUNT_DIGITS.fullmatch(number):
            return self.reask(Said(Phrase.ACCOUNT_BAD))
        return self.go(Step.ACCOUNT_CHECK, account=number)

    def _on_account_check(self) -> Turn:
        answer = self.yes_no()
        if answer is None:
            return self.not_understood()
        if not answer:
            corrected = _number_in(self.speech) if self.speech else None
            if corrected is not None and corrected.isdigit() and _ACCOUNT_DIGITS.fullmatch(corrected):
                return self.go(Step.ACCOUNT_CHECK, account=corrected)  # "ні, сім сім сім ..." in one breath
            return self.go(Step.ACCOUNT, account=None)
        return self.enter_account()

    def enter_account(self) -> Turn:
        number = self.state.account or ""
        # Reserved before the account is looked up, given back when it exists: parallel calls cannot
        # try more numbers than the budget holds.
        try:
            reserved = attempts.reserve(self.stores.attempts, entry_claims(self.call, number), self.now)
        except attempts.Refused as refused:
            logger.warning("phone account entry locked", extra={"caller": mask_phone(self.call.number)})
            return self.end(
                Said(Phrase.ACCOUNT_LOCKED, {"until": refused.until}), Phrase.GOODBYE, reason="locked"
            )
        try:
            page = self.page
        except NotFound:
            count("PhoneAccountNotFound", "line", str(self.call.line))
            entries = self.state.entries + 1
            said = Said(Phrase.ACCOUNT_NOT_FOUND, {"digits": number})
            if entries >= MAX_ENTRIES:
                return self.end(said, Phrase.GIVE_UP, reason="gave_up")
            return self.go(Step.ACCOUNT, (said,), account=None, entries=entries)
        attempts.release(self.stores.attempts, reserved)
        if not page.meters:
            return self.end(Phrase.ACCOUNT_NO_METERS, Phrase.GOODBYE, reason="no_meters")
        if not any(o.open for o in kind_menu(page)):
            closed = tuple(
                Said(Phrase.KIND_CLOSED, {"kind": o.kind, "opens_at": o.opens_at}) for o in kind_menu(page)
            )
            return self.end(*closed, Phrase.GOODBYE, reason="all_closed")
        return self.go(Step.KIND)

    def _on_kind(self) -> Turn:
        menu = {o.key: o for o in kind_menu(self.page)}
        if self.digits:
            chosen = menu.get(int(self.digits)) if self.digits.isdigit() and len(self.digits) == 1 else None
        else:
            key = _choice(self.speech, {key: o.kind for key, o in menu.items()})
            chosen = menu.get(key) if key is not None else None
        if chosen is None:
            return self.not_understood()
        if not chosen.open:
            said = Said(Phrase.KIND_CLOSED, {"kind": chosen.kind, "opens_at": chosen.opens_at})
            return self.go(Step.KIND, (said,))
        if len(chosen.views) > 1:
            return self.go(Step.METER, kind=chosen.kind)
        return self.to_reading(chosen.views[0])

    def _on_meter(self) -> Turn:
        views = self.views_of(self.state.kind)
        options = dict(enumerate(views, 1))
        if self.digits:
            key = int(self.digits) if self.digits.isdigit() and len(self.digits) == 1 else None
        else:
            labels = {n: _label(v) for n, v in options.items()}
            key = _choice(self.speech, labels)
        view = options.get(key) if key is not None else None
        if view is None:
            return self.not_understood()
        return self.to_reading(view)

    def to_reading(self, view: MeterView) -> Turn:
        if not view.window.open:
            said = Said(Phrase.KIND_CLOSED, {"kind": view.meter.kind, "opens_at": view.window.opens_at})
            return self.go(Step.KIND, (said,), kind=None, meter_id=None)
        return self.go(Step.READING, kind=view.meter.kind, meter_id=view.meter.id, value=None, question=None)

    def _on_reading(self) -> Turn:
        view = self.view()
        if view is None:
            return self.go(Step.KIND, kind=None, meter_id=None)
        if not view.window.open:
            said = Said(Phrase.KIND_CLOSED, {"kind": view.meter.kind, "opens_at": view.window.opens_at})
            return self.go(Step.KIND, (said,), kind=None, meter_id=None)
        text = self.number_heard(integer=False)
        if isinstance(text, Turn):
            return text
        return self.read_back(text)

    def read_back(self, text: str) -> Turn:
        """Read the reading back for confirmation, or say why it cannot be a reading and ask again."""
        try:
            value = parse_value(text)
        except InvalidValue as exc:
            refused = Said(Phrase.VALUE_REFUSED, {"code": exc.code})
            if self.state.step is Step.READING:
                return self.reask(refused)
            return self.go(Step.READING, (refused,), value=None)  # a correction after "ні"
        return self.go(Step.READING_CHECK, value=str(value), question=None)

    def number_heard(self, *, integer: bool) -> str | Turn:
        """The digits keyed (`*` is the decimal point) or the number said, as text; or a turn asking again."""
        if self.digits:
            return self.digits.replace("*", ".")
        from ekc.speech.numbers import interpret_number

        heard = interpret_number(self.speech)
        if heard.value is None:
            return self.misheard(str(heard.reason), heard.detail)
        if integer and heard.fraction_digits:
            return self.misheard("malformed", "fraction")
        logger.info("spoken number read", extra={"confidence": self.heard.confidence})
        return f"{heard.value:f}"

    def _on_reading_check(self) -> Turn:
        answer = self.yes_no()
        if answer is None:
            return self.not_understood()
        if answer:
            return self.save(confirmed=False)
        corrected = _number_in(self.speech) if self.speech else None
        if corrected is not None and self.view() is not None:
            return self.read_back(corrected)  # "ні, двісті два": the correction is read back at once
        return self.go(Step.READING, value=None)

    def _on_confirm_high(self) -> Turn:
        answer = self.yes_no()
        if answer is None:
            return self.not_understood()
        if answer:
            return self.save(confirmed=True)
        return self.go(Step.READING, value=None, question=None)

    def _on_not_saved(self) -> Turn:
        answer = self.yes_no()
        if answer is None:
            return self.not_understood()
        if answer:
            return self.save(confirmed=self.state.confirmed)
        return self.end(Phrase.GOODBYE, reason="not_saved")

    def _on_next(self) -> Turn:
        answer = self.yes_no()
        if answer is None and self.speech:
            kinds = {o.key: o.kind for o in kind_menu(self.page)}
            if _choice(self.speech, kinds) is not None:
                return self._on_kind()  # "газ" answers "another meter?" with the meter itself
        if answer is None:
            return self.not_understood()
        if answer:
            return self.go(Step.KIND, kind=None, meter_id=None, value=None, question=None)
        return self.end(Phrase.GOODBYE, reason="goodbye")

    # ---- saving --------------------------------------------------------------------------------------

    def save(self, *, confirmed: bool) -> Turn:
        """Save the confirmed reading under this turn's key: a retried webhook never saves twice."""
        value = self.state.value or ""
        row = RowInput(self.state.meter_id or "", value, value if confirmed else None)
        key = f"{self.call.sid}:{self.state.turn}"
        try:
            outcome = readings.save_readings(
                self.caller,
                self.caller.account,
                [row],
                self.call.origin,
                key=key,
                stores=self.stores,
                now=self.now,
            )
        except StorageUnavailable as exc:
            logger.warning("phone save failed", extra={"code": exc.code})
            count("PhoneTrouble", "door", "phone")
            said = Said(Phrase.NOT_SAVED, {"code": exc.code})
            return self.go(Step.NOT_SAVED, (said,), confirmed=confirmed)
        # The views after the write: the next prompt needs no other read.
        self._page = ReadingsPage(self.caller.account, None, outcome.meters)
        return self.saved(outcome.results[0])

    def saved(self, result: RowResult) -> Turn:
        unit = str(result.view.meter.unit) if result.view is not None else ""
        match result.status:
            case RowStatus.SAVED:
                said = [Said(Phrase.SAVED, {"value": result.value, "unit": unit})]
                said += [
                    Said(Phrase.WARNING, {"code": w.code, "numbers": w.numbers, "unit": unit})
                    for w in result.warnings
                ]
                return self.go(Step.NEXT, tuple(said), value=None, question=None, confirmed=False)
            case RowStatus.NEEDS_CONFIRMATION:
                return self.go(Step.CONFIRM_HIGH, question=result.question)
            case RowStatus.SUPERSEDED:
                newer = result.newer.value if result.newer is not None else None
                said = Said(Phrase.SUPERSEDED, {"value": newer, "unit": unit})
                return self.go(Step.NEXT, (said,), value=None, question=None)
            case RowStatus.CLOSED:
                view = result.view
                assert view is not None
                said = Said(Phrase.KIND_CLOSED, {"kind": view.meter.kind, "opens_at": view.window.opens_at})
                return self.go(Step.KIND, (said,), kind=None, meter_id=None, value=None, question=None)
            case RowStatus.REJECTED if result.reason == "too_many_today":
                said = Said(Phrase.TOO_MANY_TODAY, dict(result.reason_params))
                return self.go(Step.NEXT, (said,), value=None, question=None)
            case RowStatus.REJECTED if result.reason and result.reason.startswith("value_"):
                said = Said(Phrase.VALUE_REFUSED, {"code": result.reason})
                return self.go(Step.READING, (said,), value=None, question=None)
        # The meter is gone (meter_not_found), or nothing to save: back to the menu of what there is.
        return self.go(Step.KIND, kind=None, meter_id=None, value=None, question=None)


EXPECT: dict[Step, Expect] = {
    Step.ACCOUNT: Expect.NUMBER,
    Step.ACCOUNT_CHECK: Expect.YES_NO,
    Step.KIND: Expect.CHOICE,
    Step.METER: Expect.CHOICE,
    Step.READING: Expect.NUMBER,
    Step.READING_CHECK: Expect.YES_NO,
    Step.CONFIRM_HIGH: Expect.YES_NO,
    Step.NOT_SAVED: Expect.YES_NO,
    Step.NEXT: Expect.YES_NO,
}


def _label(view: MeterView) -> str:
    """How a caller names one of two meters of a kind: its note ("кухня"), else nothing but its key."""
    return view.meter.note or f"№{view.meter.serial or view.meter.id}"


# The speech interpreter is imported on the first spoken answer, not at cold start: the keypad line
# never needs it.
def _repeat_asked(speech: str) -> bool:
    from ekc.speech.answers import interpret_repeat

    return interpret_repeat(speech)


def _yes_no(speech: str) -> bool | None:
    from ekc.speech.answers import interpret_yes_no

    return interpret_yes_no(speech)


def _choice(speech: str, options: Mapping[int, MeterKind | str]) -> int | None:
    from ekc.speech.answers import interpret_choice

    return interpret_choice(speech, options)


def _number_in(speech: str) -> str | None:
    """The number in a transcript, as text, or None (a correction after "ні", say)."""
    from ekc.speech.numbers import interpret_number

    heard = interpret_number(speech)
    return None if heard.value is None else f"{heard.value:f}"
