"""The phone lines' words and TwiML: every sentence the robot says, and the call's state in its URLs.

The call flow (`ekc.services.calls`) answers with phrases and data; this module words them in
Ukrainian, for the keypad ("натисніть 1") or for speech ("скажіть «так» або «ні»"), and renders the
TwiML the provider follows: `<Say>` in a Ukrainian voice with SSML slowed for elderly callers and
pauses between sentences and between the digits of an account number, inside a `<Gather>` that waits
for keys or speech, then a `<Redirect>` back to the same step when nothing came (the provider moves
on to the next verb after a silent Gather).

Between webhooks the call's state travels in the action URL, signed (HMAC-SHA256 with a key derived
from the provider's auth token) and bound to the call's id and line, with an expiry: no storage, so no
request, per turn (docs/phone.md, "Call state").

TwiML is built with the `twilio` package, which only the ivr_handler function ships (its own
requirements.txt): this module is imported by that function alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from ekc.channels.ukrainian import KIND_NAMES, plural
from ekc.config import telephony_settings
from ekc.domain.kinds import MeterKind
from ekc.domain.values import WarningCode
from ekc.domain.windows import KYIV
from ekc.exceptions import BadToken
from ekc.services.calls import CallState, Expect, Line, Phrase, Said, Step, Turn
from ekc.services.readings import Question
from ekc.speech.readback import say_date, say_digits, say_number, say_quantity, say_time

PATHS: dict[Line, str] = {Line.KEYPAD: "/ivr/keypad", Line.VOICE: "/ivr/voice"}
STATE_PARAMETER = "s"

# Pauses, in milliseconds: between sentences, and between the digits of a number read back.
SENTENCE_PAUSE = 500
DIGIT_PAUSE = 300
# Seconds the robot waits: for the first key or word, and between the keys of a long number.
CHOICE_TIMEOUT = 8
NUMBER_TIMEOUT = 10
# Seconds of silence that end a spoken number: readers of a dial pause between its digits.
NUMBER_SPEECH_TIMEOUT = 3


class Mode(StrEnum):
    """How the caller answers this turn: keys (the keypad line, or a voice call switched to it) or speech."""

    KEYS = "keys"
    SPEECH = "speech"


class Pause(int):
    """A pause in what the robot says, in milliseconds."""


Segment = str | Pause

# ---- words -----------------------------------------------------------------------------------------------

KIND_GENITIVE: dict[MeterKind, str] = {
    MeterKind.ELECTRICITY: "електроенергії",
    MeterKind.GAS: "газу",
    MeterKind.COLD_WATER: "холодної води",
    MeterKind.HOT_WATER: "гарячої води",
    MeterKind.HEAT: "тепла",
}
YES_NO_KEYS = "Якщо правильно, натисніть 1. Щоб ввести знову, натисніть 2."
YES_NO_SPEECH = "Правильно? Скажіть «так» або «ні»."

SIMPLE: dict[Phrase, tuple[str, str]] = {
    # phrase: (keys, speech)
    Phrase.ASK_ACCOUNT: (
        "Введіть номер вашого особового рахунку і натисніть решітку.",
        "Назвіть номер вашого особового рахунку по цифрах. Можна також набрати його на клавіатурі "
        "і натиснути решітку.",
    ),
    Phrase.ACCOUNT_BAD: ("Номер особового рахунку складається лише з цифр, не більше дванадцяти.",) * 2,
    Phrase.ACCOUNT_NO_METERS: (
        "За цим особовим рахунком немає лічильників, показники яких приймаються телефоном.",
    )
    * 2,
    Phrase.ASK_READING: (
        "Введіть новий показник. Дробову частину відокремте зірочкою. В кінці натисніть решітку.",
        "Назвіть новий показник, як на лічильнику. Дробову частину називайте після слова «кома».",
    ),
    Phrase.OFFER_KEYPAD: ("Будь ласка, наберіть число на клавіатурі телефону.",) * 2,
    Phrase.ASK_RETRY: (
        "Щоб спробувати ще раз, натисніть 1. Щоб завершити дзвінок, натисніть 2.",
        "Спробувати ще раз? Скажіть «так» або «ні».",
    ),
    Phrase.ASK_NEXT: (
        "Щоб передати показник іншого лічильника, натисніть 1. Щоб завершити дзвінок, натисніть 2.",
        "Бажаєте передати показник іншого лічильника? Скажіть «так» або «ні».",
    ),
    Phrase.SILENCE: ("Ми не отримали відповіді.", "Ми вас не почули."),
    Phrase.WRONG_KEY: ("Такої цифри в меню немає.",) * 2,
    Phrase.NOT_UNDERSTOOD: (
        "Вибачте, не вдалося розібрати відповідь.",
        "Вибачте, не вдалося розібрати відповідь. Можна також натиснути цифру на клавіатурі.",
    ),
    Phrase.TROUBLE: ("Вибачте, сталася технічна несправність. Будь ласка, зателефонуйте пізніше.",) * 2,
    Phrase.RESTART: ("Вибачте, сталася помилка. Почнімо спочатку.",) * 2,
    Phrase.GIVE_UP: (
        "На жаль, ми не отримали відповіді. Зателефонуйте, будь ласка, ще раз, коли вам буде зручно. "
        "До побачення.",
    )
    * 2,
    Phrase.GOODBYE: ("Дякуємо за дзвінок! До побачення.",) * 2,
}

VALUE_REFUSALS: dict[str, tuple[str, str]] = {
    "value_not_number": (
        "Показник має складатися з цифр; дробову частину відокремлюйте однією зірочкою.",
        "Показник має бути числом.",
    ),
    "value_too_many_decimals": (
        "Після зірочки можна ввести не більше трьох цифр.",
        "Після коми — не більше трьох цифр.",
    ),
    "value_too_long": ("Показник задовгий: на лічильниках не буває більше дев'яти цифр до коми.",) * 2,
    "value_negative": ("Показник не може бути від'ємним.",) * 2,
    "value_empty": ("Ми не отримали показника.",) * 2,
}
VALUE_REFUSED_OTHER = "Це не схоже на показник лічильника."

# Why a spoken number was refused (ekc.speech.Reason), as the caller hears it before being asked again.
SPEECH_REFUSALS: dict[str, str] = {
    "uncertain": "Назвіть, будь ласка, точні цифри з лічильника.",
    "two_numbers": "Ви назвали два числа. Назвіть, будь ласка, одне.",
    "too_many_decimals": "Після коми — не більше трьох цифр.",
    "negative": "Показник не може бути від'ємним.",
    "too_many_digits": "Це число задовге для показника.",
    "correction": "Назвіть, будь ласка, правильне число ще раз.",
}
SPEECH_REFUSED_OTHER = "Вибачте, не вдалося розібрати число. Назвіть його ще раз, повільно і чітко."

NOT_SAVED: dict[str, str] = {
    "unavailable": "На жаль, показник не збережено через технічну несправність.",
    "outcome_unknown": (
        "На жаль, зв'язок перервався, і невідомо, чи збережено показник. Його можна надіслати ще раз: "
        "зарахується останній."
    ),
}

# Hints help the recogniser with the words a step expects.
NUMBER_HINTS = (
    "нуль, один, два, три, чотири, п'ять, шість, сім, вісім, дев'ять, десять, сто, двісті, тисяча, "
    "кома, цілих, кубів, повторіть"
)
YES_NO_HINTS = "так, ні, правильно, неправильно, повторіть"
KIND_HINTS: dict[MeterKind, str] = {
    MeterKind.ELECTRICITY: "електроенергія, світло",
    MeterKind.GAS: "газ",
    MeterKind.COLD_WATER: "холодна вода",
    MeterKind.HOT_WATER: "гаряча вода",
    MeterKind.HEAT: "тепло, опалення",
}


def _quantity(value: Decimal, unit: str) -> str:
    return say_quantity(Decimal(value), unit)


def _kinds_listed(kinds: list[str]) -> str:
    """'«газ»', '«газ» чи «світло»', '«a», «b» чи «c»'."""
    quoted = [f"«{k}»" for k in kinds]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} чи {quoted[-1]}"


def _digits(digits: str, end: str = "") -> list[Segment]:
    """An account number digit by digit, a pause between digits so an elderly caller can follow."""
    segments: list[Segment] = []
    for n, name in enumerate(say_digits(digits).split(", ")):
        if n:
            segments.append(Pause(DIGIT_PAUSE))
        segments.append(name)
    segments[-1] = f"{segments[-1]}{end}"
    return segments


def _when(moment: datetime) -> str:
    """A window's opening: 'двадцять дев'ятого листопада' (windows open at midnight, Kyiv)."""
    local = moment.astimezone(KYIV)
    day = say_date(local.date())
    return day if (local.hour, local.minute) == (0, 0) else f"{day} {say_time(local.time())}"


def _question(question: Question, unit: str) -> str:
    """Why a reading needs confirming, its numbers in the nominative (after a colon or "становить")."""
    value = _quantity(question.value, unit)
    if question.code == "more_digits_than_dial":
        digits = question.digits or 0
        noun = plural(digits, "цифра", "цифри", "цифр")
        return (
            f"Показник: {value}. У ньому більше цифр до коми, ніж у цього лічильника за нашими даними: "
            f"у нього {say_number(Decimal(digits))} {noun}."
        )
    months = question.months
    period = (
        ""
        if months <= 1
        else f" за {say_number(Decimal(months))} {plural(months, 'місяць', 'місяці', 'місяців')}"
    )
    consumption = "" if question.consumption is None else _quantity(question.consumption, unit)
    if question.usual is None:
        return f"Показник: {value}. Витрата за ним становить {consumption}{period}: це незвично багато."
    usual = _quantity(question.usual, unit)
    return (
        f"Показник: {value}. Витрата за ним становить {consumption}{period}, "
        f"а звичайна витрата за цей час — {usual}."
    )


def _warning(code: WarningCode, numbers: Mapping[str, Decimal], unit: str) -> str | None:
    if code is WarningCode.LOWER_THAN_PREVIOUS:
        previous = _quantity(numbers["previous"], unit)
        return (
            f"Увага: цей показник менший за попередній, {previous}. Його збережено, і його буде передано "
            "постачальнику. Якщо це помилка, передайте правильний показник."
        )
    if code is WarningCode.ROLLOVER:
        consumption = _quantity(numbers["consumption"], unit)
        return f"Лічильник, схоже, перейшов через нуль. Витрату пораховано як {consumption}."
    if code is WarningCode.CONFIRMED_HIGH:
        return "Ви підтвердили незвично велику витрату."
    if code is WarningCode.CONFIRMED_DIGITS:
        return "Ви підтвердили показник, довший за лічильник за нашими даними: ми перевіримо дані лічильника."
    return None  # `opening` is the operator's


def words(said: Said, mode: Mode) -> list[Segment]:
    """What the robot says for one phrase, in Ukrainian, with its pauses."""
    keys = mode is Mode.KEYS
    d = said.data
    match said.phrase:
        case Phrase.GREETING:
            repeat = "натисніть 9" if keys else "скажіть «повторіть» або натисніть 9"
            return [
                "Вітаємо! Це лінія прийому показників лічильників Єдиної комунальної системи.",
                Pause(SENTENCE_PAUSE),
                f"Щоб почути повідомлення ще раз, {repeat}.",
            ]
        case Phrase.ACCOUNT_READBACK:
            lead = "Ви ввели особовий рахунок:" if keys else "Ви назвали особовий рахунок:"
            ask = "Якщо правильно, натисніть 1. Щоб ввести інший, натисніть 2." if keys else YES_NO_SPEECH
            return [lead, Pause(DIGIT_PAUSE), *_digits(d["digits"], end="."), Pause(SENTENCE_PAUSE), ask]
        case Phrase.ACCOUNT_NOT_FOUND:
            return [
                "Особовий рахунок",
                Pause(DIGIT_PAUSE),
                *_digits(d["digits"]),
                Pause(DIGIT_PAUSE),
                "не знайдено. Перевірте номер у рахунку-квитанції.",
            ]
        case Phrase.ACCOUNT_LOCKED:
            until = d["until"].astimezone(KYIV).time()
            return [
                "Забагато спроб ввести неіснуючий особовий рахунок. Наступну спробу можна зробити "
                f"{say_time(until)}."
            ]
        case Phrase.KIND_MENU:
            options = d["options"]
            if keys:
                lines = [f"{KIND_NAMES[kind]} — натисніть {key}." for key, kind in options]
                return _sentences(["Оберіть лічильник.", *lines])
            names = [KIND_NAMES[kind].lower() for _, kind in options]
            return [f"Який лічильник? Скажіть {_kinds_listed(names)}."]
        case Phrase.KIND_CLOSED:
            return [
                f"Прийом показників {KIND_GENITIVE[d['kind']]} зараз закрито. "
                f"Він відкриється {_when(d['opens_at'])}."
            ]
        case Phrase.METER_MENU:
            kind_name = KIND_GENITIVE[d["kind"]]
            names = [_meter_name(n, note, serial) for n, note, serial in d["options"]]
            if keys:
                lines = [
                    f"{name} — натисніть {n}." for (n, _, _), name in zip(d["options"], names, strict=True)
                ]
                return _sentences([f"У вас кілька лічильників {kind_name}.", *lines])
            return [
                f"Який лічильник {kind_name}: {_kinds_listed(names)}? "
                "Можна також сказати «перший» або «другий»."
            ]
        case Phrase.METER_INTRO:
            note = f", {d['note']}" if d["note"] else ""
            return [f"{KIND_NAMES[d['kind']]}{note}."]
        case Phrase.PREVIOUS:
            return [f"Попередній показник: {_quantity(d['value'], d['unit'])}."]
        case Phrase.CURRENT:
            return [
                f"Цього місяця вже передано показник {_quantity(d['value'], d['unit'])}. "
                "Новий показник замінить його."
            ]
        case Phrase.READING_READBACK:
            lead = "Ви ввели:" if keys else "Ви назвали:"
            return [
                f"{lead} {_quantity(d['value'], d['unit'])}.",
                Pause(SENTENCE_PAUSE),
                YES_NO_KEYS if keys else YES_NO_SPEECH,
            ]
        case Phrase.VALUE_REFUSED:
            pair = VALUE_REFUSALS.get(d["code"])
            return [VALUE_REFUSED_OTHER if pair is None else pair[0 if keys else 1]]
        case Phrase.SPEECH_REFUSED:
            return [SPEECH_REFUSALS.get(d["reason"], SPEECH_REFUSED_OTHER)]
        case Phrase.SAVED:
            return [f"Показник {_quantity(d['value'], d['unit'])} збережено."]
        case Phrase.WARNING:
            text = _warning(WarningCode(d["code"]), d["numbers"], d["unit"])
            return [] if text is None else [text]
        case Phrase.QUESTION:
            ask = (
                "Якщо показник правильний, натисніть 1. Щоб ввести його знову, натисніть 2."
                if keys
                else "Показник правильний? Скажіть «так» або «ні»."
            )
            return [_question(d["question"], d["unit"]), Pause(SENTENCE_PAUSE), ask]
        case Phrase.SUPERSEDED:
            newer = "" if d["value"] is None else f": {_quantity(d['value'], d['unit'])}"
            return [
                f"Тим часом надійшов новіший показник цього лічильника{newer}. Ваш показник його не змінив."
            ]
        case Phrase.TOO_MANY_TODAY:
            limit = int(d.get("limit", 20))
            times = plural(limit, "раз", "рази", "разів")
            return [
                f"Показник цього лічильника сьогодні вже змінювали {say_number(Decimal(limit))} {times}. "
                "Спробуйте, будь ласка, завтра."
            ]
        case Phrase.NOT_SAVED:
            return [NOT_SAVED.get(d["code"], NOT_SAVED["unavailable"])]
    pair = SIMPLE[said.phrase]
    return [pair[0 if keys else 1]]


def _meter_name(n: int, note: str, serial: str | None) -> str:
    """One of several meters of a kind, as the menu names it: its note, its serial, or its place in line."""
    if note:
        return note[0].upper() + note[1:]
    if serial:
        return f"Лічильник номер {say_digits(serial)}"
    return ("Перший", "Другий", "Третій", "Четвертий")[n - 1] + " лічильник" if n <= 4 else f"Лічильник {n}"


def _sentences(texts: Iterable[str]) -> list[Segment]:
    segments: list[Segment] = []
    for text in texts:
        if segments:
            segments.append(Pause(SENTENCE_PAUSE))
        segments.append(text)
    return segments


def speech(turn: Turn, mode: Mode) -> list[Segment]:
    """Everything the robot says in a turn: its phrases with a pause between them."""
    segments: list[Segment] = []
    for said in turn.said:
        part = words(said, mode)
        if not part:
            continue
        if segments:
            segments.append(Pause(SENTENCE_PAUSE))
        segments.extend(part)
    return segments


def text_of(segments: Iterable[Segment]) -> str:
    """The words alone, for logs and tests."""
    return " ".join(s for s in segments if not isinstance(s, Pause))


# ---- TwiML -----------------------------------------------------------------------------------------------


def mode_of(line: Line, turn: Turn) -> Mode:
    """Keys on the keypad line and for a voice call switched to the keypad; speech otherwise."""
    return Mode.KEYS if line is Line.KEYPAD or turn.keys else Mode.SPEECH


def _say(segments: list[Segment]) -> Say:
    """One <Say> in the Ukrainian voice, slowed, with SSML breaks for the pauses."""
    settings = telephony_settings()
    say = Say(voice=settings.phone_voice, language=settings.phone_language)
    prosody = say.prosody(rate=settings.phone_speech_rate)
    for segment in segments:
        if isinstance(segment, Pause):
            prosody.break_(time=f"{int(segment)}ms")
        else:
            prosody.append(segment)  # never two texts in a row: speech() puts a pause between them
    return say


def _hints(turn: Turn) -> str:
    if turn.expect is Expect.NUMBER:
        return NUMBER_HINTS
    if turn.expect is Expect.YES_NO:
        return YES_NO_HINTS
    hints: list[str] = []
    for said in turn.said:
        if said.phrase is Phrase.KIND_MENU:
            hints += [KIND_HINTS[kind] for _, kind in said.data["options"]]
        elif said.phrase is Phrase.METER_MENU:
            hints += [note for _, note, _ in said.data["options"] if note] + ["перший, другий"]
    return ", ".join([*hints, "повторіть"])


def _gather(turn: Turn, mode: Mode, action: str) -> Gather:
    number = turn.expect is Expect.NUMBER
    attributes: dict[str, Any] = {"action": action, "method": "POST", "action_on_empty_result": False}
    if number:
        attributes.update(finish_on_key="#", timeout=NUMBER_TIMEOUT)
    else:
        attributes.update(num_digits=1, timeout=CHOICE_TIMEOUT)
    if mode is Mode.KEYS:
        attributes["input"] = "dtmf"
    else:
        settings = telephony_settings()
        attributes.update(
            input="speech dtmf",
            language=settings.phone_language,
            hints=_hints(turn),
            speech_timeout=str(NUMBER_SPEECH_TIMEOUT) if number else "auto",
            profanity_filter=False,
        )
    return Gather(**attributes)


def render(turn: Turn, line: Line, action: str | None) -> str:
    """The TwiML of a turn: say, then wait for the answer at `action` (or hang up when the call ends)."""
    mode = mode_of(line, turn)
    response = VoiceResponse()
    if turn.said and turn.said[0].phrase is Phrase.GREETING:
        response.pause(length=1)  # the first words must not be lost while the line connects
    say = _say(speech(turn, mode))
    if turn.state is None or action is None:
        response.append(say)
        response.hangup()
        return response.to_xml()
    gather = _gather(turn, mode, action)
    gather.append(say)
    response.append(gather)
    # A Gather that hears nothing falls through to the next verb: the same step again, as silence.
    response.redirect(action, method="POST")
    return response.to_xml()


# ---- the call's state in its URLs ------------------------------------------------------------------------

_VERSION = 1
_MAC_BYTES = 16


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"ekc-phone-call-state/1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not canonical")
    return raw


def _mac(secret: str, sid: str, line: Line, body: str) -> bytes:
    return hmac.new(_key(secret), f"{line}|{sid}|{body}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def encode_state(state: CallState, sid: str, line: Line, secret: str, expires: datetime) -> str:
    """The state as a URL-safe token, signed and bound to this call and line, valid until `expires`."""
    fields: dict[str, Any] = {
        "v": _VERSION,
        "e": int(expires.timestamp()),
        "p": str(state.step),
        "n": state.turn,
        "t": state.tries,
        "h": state.misheard,
        "k": int(state.keys_only),
        "c": state.entries,
        "a": state.account,
        "y": None if state.kind is None else str(state.kind),
        "m": state.meter_id,
        "x": state.value,
        "f": int(state.confirmed),
    }
    q = state.question
    if q is not None:
        fields["q"] = [
            q.code,
            _decimal(q.value),
            _decimal(q.consumption),
            _decimal(q.usual),
            q.months,
            q.digits,
        ]
    compact = {k: v for k, v in fields.items() if v not in (None, 0) or k in ("v", "n")}
    body = _b64(json.dumps(compact, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{_b64(_mac(secret, sid, line, body))}"


def decode_state(token: str, sid: str, line: Line, secret: str, now: datetime) -> CallState:
    """The state a token carries; BadToken if forged, for another call or line, expired or malformed."""
    body, _, mac = token.partition(".")
    try:
        expected = _mac(secret, sid, line, body)
        if not hmac.compare_digest(_unb64(mac), expected):
            raise BadToken()
        fields = json.loads(_unb64(body))
        if fields.get("v") != _VERSION or now.timestamp() >= fields["e"]:
            raise BadToken()
        q = fields.get("q")
        question = None
        if q is not None:
            code, value, consumption, usual, months, digits = q
            question = Question(
                Decimal(value),
                code,
                None if consumption is None else Decimal(consumption),
                None if usual is None else Decimal(usual),
                int(months),
                None if digits is None else int(digits),
            )
        return replace(
            CallState(),
            step=Step(fields["p"]),
            turn=int(fields["n"]),
            tries=int(fields.get("t", 0)),
            misheard=int(fields.get("h", 0)),
            keys_only=bool(fields.get("k", 0)),
            entries=int(fields.get("c", 0)),
            account=fields.get("a"),
            kind=None if fields.get("y") is None else MeterKind(fields["y"]),
            meter_id=fields.get("m"),
            value=fields.get("x"),
            question=question,
            confirmed=bool(fields.get("f", 0)),
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadToken() from exc


def state_secret() -> str:
    """The secret the states are signed with: the provider's auth token (the webhook's own secret)."""
    return telephony_settings().twilio_auth_token.get_secret_value()


def action_url(base_url: str, line: Line, state: CallState, sid: str, now: datetime) -> str:
    """Where the provider sends the caller's answer to this turn: the line's path with the signed state."""
    expires = now + timedelta(hours=telephony_settings().phone_state_hours)
    token = encode_state(state, sid, line, state_secret(), expires)
    return f"{base_url}{PATHS[line]}?{STATE_PARAMETER}={token}"
