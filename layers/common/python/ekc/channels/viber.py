"""The Viber bot's words and keyboards: everything a resident reads in the chat with ВАСя, in one place.

Renderers here turn the services' answers (meter views, row results, notices, errors) into text and
Viber keyboards (the REST API's `keyboard` object). The conversation itself is `viber_chat.py`.
Buttons are `reply` buttons: what a button sends is readable text that appears in the chat as the
resident's own message, and `viber_chat.py` recognises it again (the `ACTION_*` patterns below).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ekc.channels.ukrainian import (
    CHANNEL_SOURCES,
    KIND_NAMES,
    UNIT_SYMBOLS,
    as_of_text,
    clock_time,
    day_and_time,
    plural,
    seed_time,
)
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Account, Meter
from ekc.domain.months import Month
from ekc.domain.notices import Notice, NoticeCode
from ekc.domain.values import Warning, WarningCode, format_value
from ekc.domain.windows import KYIV
from ekc.exceptions import DomainError
from ekc.services.readings import MeterView, Question, RowResult, RowStatus
from ekc.storage.ports import LinkedAccount

# The seed's colours: main menu light green and orange, "back to the main menu" purple everywhere
# else, addresses pink, meters open now light green.
LIGHT_GREEN = "#A5D6A7"
ORANGE = "#FFB74D"
PURPLE = "#7E57C2"
PINK = "#F8BBD0"
GREY = "#E0E0E0"
RED = "#EF9A9A"
DARK_TEXT = "#212121"
LIGHT_TEXT = "#FFFFFF"

# Viber's limits: a keyboard is 6 columns wide and shows at most 24 rows of buttons per message; a
# request may be 30 kB at most (docs "Keyboards" and "send_message"). Longer lists are paged.
MAX_ROWS = 24
MAX_REQUEST_BYTES = 30_000
MAX_TEXT = 7000  # characters of a text message

BTN_CABINET = "Особовий кабінет"
BTN_ENTER = "Введення показників"
BTN_MENU = "Повернутися до головного меню"
BTN_ADD = "Додати о/р"
BTN_YES = "Так"
BTN_NO = "Ні"
BTN_OTHER_METER = "Інший лічильник"
BTN_KEEP = "Ні, залишити"

# What the account, meter and paging buttons send, and how the conversation reads it back.
ACTION_READINGS = "Показники о/р {number}"
ACTION_ACCOUNT = "Кабінет о/р {number}"
ACTION_METER = "Лічильник {meter}"
ACTION_HISTORY = "Попередні показники о/р {number}"
ACTION_DEBT = "Заборгованість о/р {number}"
ACTION_BOTS = "Боти о/р {number}"
ACTION_REMOVE = "Видалити о/р {number}"
ACTION_REMOVE_YES = "Так, видалити о/р {number}"
ACTION_BOT = "Бот лічильника {meter}"
ACTION_BOT_ON = "Увімкнути бот {meter}"
ACTION_BOT_OFF = "Вимкнути бот {meter}"
ACTION_BOT_AMOUNT = "Змінити кількість {meter}"
ACTION_PAGE = "Сторінка {page}"

TEXTS: dict[str, str] = {
    "welcome": (
        "Вітаю! Я ВАСя, бот Єдиної комунальної системи м. Кременчук. Через мене можна передати показники "
        "лічильників води, газу й електроенергії, переглянути попередні показники та заборгованість.\n"
        "Натисніть «Особовий кабінет», щоб додати свій особовий рахунок, або «Введення показників», "
        "щоб передати показники."
    ),
    "welcome_linked": (
        "Вітаю! Я ВАСя, бот Єдиної комунальної системи м. Кременчук. Рахунок {number} ({address}) "
        "додано до Вашого особового кабінету Viber.\nЩоб передати показники, натисніть «Введення "
        "показників»."
    ),
    "welcome_bad_token": (
        "Вітаю! Я ВАСя, бот Єдиної комунальної системи м. Кременчук. На жаль, цей QR-код недійсний або "
        "застарів, тож рахунок я не додав. Відскануйте QR-код «внести через Viber» з нового "
        "рахунку-квитанції або додайте рахунок вручну: «Особовий кабінет» → «Додати о/р»."
    ),
    "menu": (
        "Головне меню. «Особовий кабінет» — Ваші рахунки, попередні показники та заборгованість. "
        "«Введення показників» — передати показники лічильників."
    ),
    "help": (
        "Вибачте, я не зрозумів повідомлення. Я розумію кнопки внизу екрана, а показник лічильника "
        "приймаю числом після того, як Ви оберете лічильник.\nОберіть дію:"
    ),
    "not_text": (
        "Я розумію лише текстові повідомлення та кнопки внизу екрана. Фото, стікери, файли та "
        "геолокацію я не обробляю. Оберіть дію:"
    ),
    "number_without_meter": (
        "Бачу число {value}, але не знаю, для якого воно лічильника. Оберіть адресу й лічильник, а тоді "
        "надішліть показник ще раз."
    ),
    "number_pick_meter": (
        "Бачу число {value}, але не знаю, для якого воно лічильника. Спершу оберіть лічильник:"
    ),
    "no_accounts": (
        "У Вашому кабінеті Viber ще немає жодного рахунку. Натисніть «Додати о/р» і введіть номер "
        "особового рахунку разом із SRC-кодом (8 або 9 цифр) або відскануйте QR-код «внести через Viber» "
        "з рахунку-квитанції."
    ),
    "pick_account": "Оберіть адресу (особовий рахунок), за якою передаєте показники:",
    "pick_meter": "о/р {number}: {address}\nОберіть лічильник, щоб передати показник.",
    "pick_meter_no_address": "о/р {number}\nОберіть лічильник, щоб передати показник.",
    "closed_header": "Зараз не приймають показники:",
    "closed_line": "• {meter}: прийом з {opens} по {closes}",
    "no_open_meters": "Зараз жоден лічильник за цією адресою не приймає показники.",
    "meter_prompt": (
        "{meter}\nПопередній показник: {previous}.\nПоказники за {month} приймаються до {closes}.\n"
        "Введіть показник числом (наприклад, 6116 або 6116.255) і надішліть як звичайне повідомлення. "
        "Коментарі писати не треба."
    ),
    "meter_prompt_current": "Цього місяця вже внесено {value} {unit}; новий показник замінить його.",
    "no_previous": "немає",
    "meter_closed": (
        "Прийом показників для лічильника «{meter}» зараз закрито. Наступний період: з {opens} по {closes}."
    ),
    "saved": "Дякую! Показник {value} {unit} ({meter}) за {month} збережено.",
    "consumption": "Витрата за місяць: {consumption} {unit}.",
    "remaining": "Залишилось передати за цією адресою: {count} {meters}. Оберіть наступний:",
    "all_done": "Усі показники за {month} за о/р {number} передано:\n{lines}\nДякую!",
    "done_line": "• {meter}: {value} {unit}",
    "change_hint": "Помилились? Просто введіть показник ще раз: врахується останній.",
    "confirm_hint": "Якщо показник правильний, натисніть «Так»; якщо ні — «Ні».",
    "question_no": (
        "Добре, показник {value} не збережено. Введіть правильний показник для лічильника «{meter}»."
    ),
    "try_again_value": "Спробуйте ще раз: введіть показник лічильника «{meter}» числом.",
    "superseded": "Тим часом надійшов новіший показник ({value}); Ваш його не змінив.",
    "cabinet": "Ваш особовий кабінет Viber. Рахунки:\n{lines}\nОберіть рахунок або додайте ще один.",
    "cabinet_line": "• о/р {number}: {address}",
    "add_prompt": (
        "Введіть номер особового рахунку та SRC-код з рахунку-квитанції разом, без пробілів і знаків "
        "(загалом 8 або 9 цифр), і надішліть повідомлення. Наприклад: 77777512."
    ),
    "linked": "Готово! Рахунок {number} ({address}) додано до Вашого кабінету Viber.",
    "account_screen": "о/р {number}\n{holder}\n{city}, {address}\nЩо показати?",
    "history": "Останні показники за о/р {number}:\n{lines}",
    "history_line": "• {meter}: {value} {unit} за {month} — внесено {source}, {at}",
    "history_previous": "• {meter}: цього місяця ще не внесено; попередній {value} {unit} за {month}",
    "history_none": "• {meter}: показників ще немає",
    "debt": (
        "Заборгованість за о/р {number}{as_of}: {amount} грн.\nРеквізити для оплати (можна скопіювати):\n"
        "Отримувач: {recipient}\nIBAN: {iban}\nПризначення платежу: {purpose}"
    ),
    "no_debt": "За о/р {number} заборгованості немає.",
    "remove_confirm": (
        "Видалити рахунок {number} ({address}) з Вашого кабінету Viber? Уже передані показники залишаться."
    ),
    "removed": "Рахунок {number} видалено з Вашого кабінету Viber.",
    "kept": "Добре, рахунок {number} залишається у Вашому кабінеті.",
    "bots": (
        "Боти лічильників за о/р {number}. Якщо Ви не передасте показник, бот в останню мить збільшить "
        "попередній показник на вказану Вами кількість. Після повірки чи переопломбування бот треба "
        "увімкнути знову. Оберіть лічильник:"
    ),
    "bot_screen": "{meter}\nБот: {state}.",
    "bot_state_on": "увімкнено, щомісяця додає {amount} {unit}",
    "bot_state_off": "вимкнено",
    "bot_amount_prompt": (
        "Скільки {unit} бот має додавати щомісяця до попереднього показника лічильника «{meter}»? "
        "Введіть число (0 — якщо Ви не проживаєте за адресою)."
    ),
    "bot_on": (
        "Бот для лічильника «{meter}» увімкнено: якщо Ви не передасте показник, він додасть {amount} {unit}."
    ),
    "bot_off": "Бот для лічильника «{meter}» вимкнено.",
}

ERRORS: dict[str, str] = {
    "value_empty": "Введіть показник числом.",
    "value_not_number": (
        "Показник має бути числом, наприклад 6116 або 6116.255: лише цифри і, за потреби, крапка або "
        "кома. Літери та інші знаки не потрібні."
    ),
    "value_negative": "Показник не може бути від’ємним.",
    "value_too_many_decimals": "Після крапки можна ввести не більше 3 цифр (літри або вати).",
    "value_too_long": "Показник задовгий: у лічильників не буває більше {digits} {digit_word} до коми.",
    "too_many_today": (
        "Показник цього лічильника сьогодні вже змінювали {limit} разів. Спробуйте завтра або зверніться "
        "до центру обслуговування."
    ),
    "amount_missing": "Вкажіть кількість числом (0 — якщо за адресою ніхто не проживає).",
    "meter_resealed": (
        "Лічильник тим часом повірено або переопломбовано, тож бота вимкнено. Відкрийте лічильник ще раз "
        "і за потреби увімкніть бота знову."
    ),
    "outcome_unknown": (
        "Зв’язок із базою перервався, і я не знаю, чи збережено показник. За хвилину перегляньте "
        "«Попередні показники»: збережений показник буде там."
    ),
    "bad_amount": "Кількість має бути числом від 0, не більше 3 цифр після крапки, наприклад 5 або 2.5.",
    "invalid_code": (
        "Номер особового рахунку та SRC-код треба ввести разом: 8 або 9 цифр, останні 3 з них — SRC-код "
        "з рахунку-квитанції. Наприклад: 77777512."
    ),
    "link_refused": (
        "Не вдалося додати рахунок: перевірте номер особового рахунку та SRC-код у рахунку-квитанції і "
        "спробуйте ще раз."
    ),
    "holder_needed": (
        "Щоб додати цей рахунок, надішліть також прізвище власника рахунку — так, як його надруковано "
        "в рахунку-квитанції. Наприклад: Горшеньов."
    ),
    "bad_holder": (
        "Прізвище має складатися з літер. Надішліть прізвище власника рахунку, наприклад: Горшеньов."
    ),
    "link_paused": (
        "Забагато невдалих спроб додати рахунок за SRC-кодом. Спробуйте знову {day} після {until} або "
        "відскануйте QR-код «внести через Viber» з рахунку-квитанції: він діє завжди."
    ),
    "too_many_attempts": "Забагато невдалих спроб. Спробуйте знову після {until}.",
    "bad_token": "Цей QR-код недійсний або застарів. Відскануйте QR-код з нового рахунку-квитанції.",
    "not_found": "Цей рахунок не знайдено у Вашому кабінеті Viber. Оберіть рахунок зі списку.",
    "meter_not_found": "Такого лічильника за цим рахунком немає. Оберіть лічильник зі списку.",
    "unavailable": "Сервіс тимчасово недоступний. Нічого не збережено, спробуйте ще раз за хвилину.",
    "internal": "Сталася помилка. Нічого не збережено, спробуйте ще раз.",
    "scope": "Ця дія недоступна.",
}

QUESTIONS: dict[str, str] = {
    "implausible_high": (
        "Показник {value} {unit} означає витрату {consumption} {unit}{period} — набагато більше, ніж "
        "зазвичай (близько {usual} {unit}). Перевірте, будь ласка."
    ),
    "implausible_high_new": (
        "Показник {value} {unit} означає незвично велику витрату: {consumption} {unit}{period}. "
        "Перевірте, будь ласка."
    ),
    "more_digits_than_dial": (
        "У показнику {value} більше цифр до коми, ніж має цей лічильник за нашими даними ({digits} "
        "{digit_word}). Перевірте, будь ласка; якщо показник правильний, ми перевіримо дані лічильника."
    ),
    "bot_amount": (
        "Бот щомісяця додаватиме {value} {unit}, а зазвичай витрата — близько {usual} {unit} на місяць. "
        "Перевірте кількість."
    ),
    "bot_amount_new": "Бот щомісяця додаватиме {value} {unit}: це незвично багато. Перевірте кількість.",
}

WARNINGS: dict[WarningCode, str] = {
    WarningCode.LOWER_THAN_PREVIOUS: (
        "Увага: показник {value} менший за попередній ({previous}). Я його зберіг і передам "
        "постачальнику; якщо це помилка, введіть правильний."
    ),
    WarningCode.ROLLOVER: (
        "Схоже, лічильник перейшов через нуль (максимум {maximum}): витрату пораховано як {consumption}."
    ),
    WarningCode.CONFIRMED_HIGH: "Ви підтвердили незвично велику витрату: {consumption}.",
    WarningCode.CONFIRMED_DIGITS: (
        "Ви підтвердили показник, довший за лічильник за нашими даними ({digits} цифр до коми): ми "
        "перевіримо дані лічильника."
    ),
    WarningCode.OPENING: "Це початковий показник нового або переопломбованого лічильника.",
}

NOTICES: dict[NoticeCode, str] = {
    NoticeCode.BOT_OFF_RESEALED: (
        "Лічильник «{meter}» (о/р {number}) повірено або переопломбовано, тож його бот вимкнено. Якщо "
        "бот потрібен, увімкніть його знову: «Особовий кабінет» → рахунок → «Боти»."
    ),
    NoticeCode.ACCOUNT_LINKED: (
        "До рахунку {number} додано ще один кабінет (на сайті або у Viber). Якщо це були не Ви, "
        "зверніться до ЄКС."
    ),
    NoticeCode.METER_RETIRED: (
        "Лічильник «{meter}» (о/р {number}) більше не приймає показники; його історію збережено."
    ),
    NoticeCode.READING_SAVED: (
        "Нагадую: Ваш показник {value} {unit} ({meter}, о/р {number}) за {month} збережено {at}, але "
        "тоді я не зміг надіслати підтвердження."
    ),
}

# Where a reading came from, as "внесено ..." names it in the chat.
SOURCES = {channel: f"з {word}" for channel, word in CHANNEL_SOURCES.items()}
SOURCES_VIBER = "через Viber"


@dataclass(frozen=True, slots=True)
class Screen:
    """One message of the bot: its text and, for the last message of an answer, its buttons."""

    text: str
    buttons: tuple[dict[str, object], ...] = ()

    def keyboard(self) -> dict[str, object] | None:
        """The Viber keyboard object of this screen, or None without buttons."""
        if not self.buttons:
            return None
        return {
            "Type": "keyboard",
            "DefaultHeight": False,
            "BgColor": "#FFFFFF",
            "Buttons": list(self.buttons),
        }


# ---- buttons --------------------------------------------------------------------------------------


def button(label: str, action: str, colour: str, rows: int = 1, columns: int = 6) -> dict[str, object]:
    """A reply button: `label` shown (escaped; Viber reads a little HTML), `action` sent when tapped."""
    text_colour = LIGHT_TEXT if colour == PURPLE else DARK_TEXT
    return {
        "Columns": columns,
        "Rows": rows,
        "BgColor": colour,
        "ActionType": "reply",
        "ActionBody": action,
        "Text": f'<font color="{text_colour}">{html.escape(label, quote=False)}</font>',
        "TextSize": "regular",
        "TextHAlign": "center",
        "TextVAlign": "middle",
    }


def menu_button() -> dict[str, object]:
    """'Back to the main menu', purple, on every screen but the main menu."""
    return button(BTN_MENU, BTN_MENU, PURPLE)


def main_menu_buttons() -> tuple[dict[str, object], ...]:
    """The main menu: the cabinet (light green) and entering readings (orange)."""
    return (button(BTN_CABINET, BTN_CABINET, LIGHT_GREEN, 2, 3), button(BTN_ENTER, BTN_ENTER, ORANGE, 2, 3))


def rows_of(buttons: Sequence[dict[str, object]]) -> int:
    """How many keyboard rows these buttons take on Viber's 6-column grid."""
    rows, used = 0, 6
    height = 0
    for b in buttons:
        columns, height_b = int(b["Columns"]), int(b["Rows"])  # type: ignore[call-overload]
        if used + columns > 6:
            rows += height
            used, height = 0, 0
        used += columns
        height = max(height, height_b)
    return rows + height


def paged(
    items: Sequence[dict[str, object]],
    page: int,
    tail: Sequence[dict[str, object]],
    head: Sequence[dict[str, object]] = (),
) -> tuple[tuple[dict[str, object], ...], int]:
    """The buttons of one page of `items` between `head` and `tail`, within Viber's limits; and the page.

    Pages hold as many items as fit in MAX_ROWS rows with room for 'previous'/'next' buttons; a page
    number past the end shows the last page.
    """
    fixed = rows_of([*head, *tail]) + 1  # one row for the paging buttons
    pages: list[list[dict[str, object]]] = [[]]
    for item in items:
        if pages[-1] and rows_of([*pages[-1], item]) > MAX_ROWS - fixed:
            pages.append([])
        pages[-1].append(item)
    page = max(0, min(page, len(pages) - 1))
    nav: list[dict[str, object]] = []
    if len(pages) > 1:
        if page > 0:
            nav.append(
                button(f"◀ {ACTION_PAGE.format(page=page)}", ACTION_PAGE.format(page=page), GREY, 1, 3)
            )
        if page < len(pages) - 1:
            label = f"{ACTION_PAGE.format(page=page + 2)} ▶"
            nav.append(button(label, ACTION_PAGE.format(page=page + 2), GREY, 1, 3 if page > 0 else 6))
    return (*head, *pages[page], *nav, *tail), page


def fits(message: dict[str, object]) -> bool:
    """Whether a send_message request with this message stays within Viber's 30 kB."""
    return len(json.dumps(message, ensure_ascii=False).encode()) <= MAX_REQUEST_BYTES - 1000


# ---- words for the domain's things ---------------------------------------------------------------


def unit(u: Unit) -> str:
    """The unit's symbol."""
    return UNIT_SYMBOLS[u]


def value(v: Decimal) -> str:
    """A reading as the seed writes it: 201.000."""
    return format_value(v)


def meter_name(meter: Meter) -> str:
    """A meter in words: 'Газ, газовий лічильник, № 002352'."""
    parts = [KIND_NAMES.get(meter.kind, str(meter.kind))]
    if meter.note:
        parts.append(meter.note)
    if meter.serial:
        parts.append(f"№ {meter.serial}")
    return ", ".join(parts)


def previous_text(view: MeterView) -> str:
    """'201.000 м³ за 10/2026', or 'немає'."""
    previous, month = view.previous
    if previous is None:
        return TEXTS["no_previous"]
    suffix = f" за {month.label}" if month else ""
    return f"{value(previous)} {unit(view.meter.unit)}{suffix}"


def meter_button(view: MeterView) -> dict[str, object]:
    """A meter open now: light green, kind in words, note, serial, previous reading (and this month's)."""
    label = f"{meter_name(view.meter)}\nпопередній: {previous_text(view)}"
    current = view.current
    if current is not None:
        label += f"\n✓ внесено {value(current.value)}"
    return button(label, ACTION_METER.format(meter=view.meter.id), LIGHT_GREEN, rows=2)


def account_button(number: str, address: str, action: str) -> dict[str, object]:
    """An address: pink."""
    return button(f"о/р {number}: {address}", action, PINK)


def when(moment: datetime) -> str:
    """A window bound as the seed prints it: 30/11/2026 00:00:00."""
    return seed_time(moment)


def saved_at(moment: datetime) -> str:
    """'25/11/2026 о 13:05' in Kyiv time."""
    return f"{moment.astimezone(KYIV).strftime('%d/%m/%Y')} о {clock_time(moment)}"


def source(channel: object) -> str:
    """Where a reading came from, as the history line says it."""
    if str(channel) == "viber":
        return SOURCES_VIBER
    return next((text for c, text in SOURCES.items() if str(c) == str(channel)), str(channel))


def error_text(code: str, **params: object) -> str:
    """The bot's sentence for an error code; unknown codes get the generic one."""
    if code == "value_too_long" and isinstance(params.get("digits"), int):
        digits = int(params["digits"])  # type: ignore[arg-type]
        params = {**params, "digit_word": plural(digits, "цифри", "цифр", "цифр")}  # "більше N ..."
    if code in ("too_many_attempts", "link_paused") and isinstance(params.get("until"), datetime):
        until: datetime = params["until"]  # type: ignore[assignment]
        params = {**params, "until": clock_time(until), "day": until.astimezone(KYIV).strftime("%d.%m.%Y")}
    try:
        return ERRORS.get(code, ERRORS["internal"]).format(**params)
    except (KeyError, IndexError):
        return ERRORS["internal"]


def error(exc: DomainError) -> str:
    """A domain error in the bot's words."""
    return error_text(exc.code, **exc.params)


def warning_text(w: Warning) -> str:
    """A warning given with a saved reading."""
    numbers = {name: value(v) for name, v in w.numbers.items()}
    try:
        return WARNINGS[w.code].format(**numbers)
    except KeyError:
        return ""


def row_text(result: RowResult) -> str:
    """What happened to a reading typed in the chat (saved, questioned, refused), without buttons."""
    view = result.view
    name = meter_name(view.meter) if view else ""
    symbol = unit(view.meter.unit) if view else ""
    if result.status is RowStatus.SAVED and view is not None and result.value is not None:
        lines = [
            TEXTS["saved"].format(
                value=value(result.value), unit=symbol, meter=name, month=view.window.billing_month.label
            )
        ]
        if result.consumption is not None and result.consumption >= 0:
            lines.append(TEXTS["consumption"].format(consumption=value(result.consumption), unit=symbol))
        lines.extend(t for t in (warning_text(w) for w in result.warnings) if t)
        return "\n".join(lines)
    if result.status is RowStatus.NEEDS_CONFIRMATION and result.question is not None and view is not None:
        return f"{question_text(result.question, view.meter.unit)}\n{TEXTS['confirm_hint']}"
    if result.status is RowStatus.CLOSED and view is not None:
        w = view.window
        return TEXTS["meter_closed"].format(meter=name, opens=when(w.opens_at), closes=when(w.closes_at))
    if result.status is RowStatus.SUPERSEDED and result.newer is not None:
        return TEXTS["superseded"].format(value=value(result.newer.value))
    if result.status is RowStatus.REJECTED:
        text = error_text(result.reason or "value_not_number", **result.reason_params)
        return f"{text}\n{TEXTS['try_again_value'].format(meter=name)}" if name else text
    return error_text("value_empty")


def question_text(q: Question, meter_unit: Unit, bot: bool = False) -> str:
    """Why a reading (or a bot's amount) needs a "Так" first, with its numbers."""
    symbol = unit(meter_unit)
    if q.code == "more_digits_than_dial":
        digits = q.digits or 0
        word = plural(digits, "цифра", "цифри", "цифр")
        return QUESTIONS[q.code].format(value=value(q.value), digits=digits, digit_word=word)
    months = q.months or 1
    period = "" if months <= 1 else f" за {months} {plural(months, 'місяць', 'місяці', 'місяців')}"
    code = "bot_amount" if bot else q.code
    key = code if q.usual is not None and code in QUESTIONS else f"{code}_new"
    return QUESTIONS.get(key, QUESTIONS["implausible_high_new"]).format(
        value=value(q.value),
        unit=symbol,
        consumption="?" if q.consumption is None else value(q.consumption),
        usual="" if q.usual is None else value(q.usual),
        period=period,
    )


def notice_text(notice: Notice, meter: str = "", number: str = "") -> str:
    """A notice told at the start of the next answer."""
    params = {
        "meter": meter or notice.params.get("meter", "") or (notice.meter_id or ""),
        "number": number or notice.account or "",
        **{k: v for k, v in notice.params.items() if k != "meter"},
    }
    if notice.code is NoticeCode.READING_SAVED:
        params.setdefault("at", saved_at(notice.at))
        params["unit"] = _unit_symbol(str(params.get("unit", "")))
    try:
        return NOTICES[notice.code].format(**params)
    except (KeyError, IndexError):
        return ""


def _unit_symbol(code: str) -> str:
    try:
        return unit(Unit.parse(code))
    except (KeyError, ValueError):
        return code


def reading_saved_params(result: RowResult) -> dict[str, str]:
    """What a READING_SAVED notice needs to be worded later, as strings (notices keep strings)."""
    view = result.view
    if view is None or result.value is None:
        return {}
    return {
        "value": value(result.value),
        "unit": str(view.meter.unit),
        "meter": meter_name(view.meter),
        "month": view.window.billing_month.label,
    }


def kind_name(kind: MeterKind) -> str:
    """A kind of meter in words."""
    return KIND_NAMES.get(kind, str(kind))


def account_lines(accounts: Sequence[LinkedAccount]) -> str:
    """The cabinet's list of addresses."""
    return "\n".join(TEXTS["cabinet_line"].format(number=a.number, address=a.address) for a in accounts)


def account_screen(account: Account) -> str:
    """An account's own screen in the cabinet."""
    return TEXTS["account_screen"].format(
        number=account.number, holder=account.holder, city=account.city, address=account.address
    )


def debt_text(account: Account) -> str:
    """The current debt with payment details, as text a resident can copy."""
    d = account.debt
    if d is None:
        return TEXTS["no_debt"].format(number=account.number)
    return TEXTS["debt"].format(
        number=account.number,
        amount=f"{d.amount:.2f}",
        as_of=as_of_text(d.as_of),
        recipient=d.recipient,
        iban=d.iban,
        purpose=d.purpose,
    )


def history_line(view: MeterView) -> str:
    """A meter's last reading with where and when it came in."""
    meter, name, symbol = view.meter, meter_name(view.meter), unit(view.meter.unit)
    last = meter.current
    if last is not None:
        return TEXTS["history_line"].format(
            meter=name,
            value=value(last.value),
            unit=symbol,
            month=last.billing_month.label,
            source=source(last.channel),
            at=saved_at(last.at),
        )
    if meter.previous_value is not None and meter.previous_month is not None:
        return TEXTS["history_previous"].format(
            meter=name, value=value(meter.previous_value), unit=symbol, month=meter.previous_month.label
        )
    return TEXTS["history_none"].format(meter=name)


def closed_lines(views: Sequence[MeterView]) -> str:
    """The meters not taking readings now, each with its next window."""
    if not views:
        return ""
    lines = [TEXTS["closed_header"]]
    lines += [
        TEXTS["closed_line"].format(
            meter=meter_name(v.meter), opens=when(v.window.opens_at), closes=when(v.window.closes_at)
        )
        for v in views
    ]
    return "\n".join(lines)


def meter_prompt(view: MeterView) -> str:
    """Asking for a meter's reading, with what it showed before and until when it is taken."""
    text = TEXTS["meter_prompt"].format(
        meter=meter_name(view.meter),
        previous=previous_text(view),
        month=view.window.billing_month.label,
        closes=when(view.window.closes_at),
    )
    if view.current is not None:
        text += "\n" + TEXTS["meter_prompt_current"].format(
            value=value(view.current.value), unit=unit(view.meter.unit)
        )
    return text


def bot_screen(view: MeterView) -> str:
    """A meter's bot: on (with its amount) or off."""
    m = view.meter
    state = (
        TEXTS["bot_state_on"].format(amount=value(m.bot_amount), unit=unit(m.unit))
        if m.bot_enabled
        else TEXTS["bot_state_off"]
    )
    return TEXTS["bot_screen"].format(meter=meter_name(m), state=state)


def done_lines(views: Sequence[MeterView]) -> str:
    """This month's readings of an account, one line per meter."""
    return "\n".join(
        TEXTS["done_line"].format(
            meter=meter_name(v.meter), value=value(v.current.value), unit=unit(v.meter.unit)
        )
        for v in views
        if v.current is not None
    )


def meters_word(count: int) -> str:
    """'лічильник', 'лічильники', 'лічильників' agreeing with a count."""
    return plural(count, "лічильник", "лічильники", "лічильників")


def clip(text: str) -> str:
    """A text within Viber's limit for one message."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """A message as the conversation compares it: trimmed, single spaces, lower case."""
    return _SPACES.sub(" ", text.strip()).lower()


# ---- reminders before a window closes (the window close sends them; docs/viber.md "Reminders") -------

REMINDER_TEXTS: dict[str, str] = {
    "head": (
        "Нагадування від ЄКС: показники за {month} для «{org}» приймаються до {closes} (за київським "
        "часом). Ще не передано:"
    ),
    "line": "• о/р {number}: {meter}",
    "bot": "  якщо не подасте, бот внесе {value} {unit}",
    "tail": "Щоб передати показники, натисніть «Введення показників».",
}
NBSP = "\u00a0"


def amount_words(v: Decimal) -> str:
    """A reading as a sentence shows it: thousands apart, a decimal comma: '6 116,000'."""
    whole, _, fraction = format_value(v).partition(".")
    sign, digits = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return f"{sign}{NBSP.join(groups)},{fraction}" if fraction else f"{sign}{NBSP.join(groups)}"


def reminder(
    org_name: str,
    month: Month,
    closes_at: datetime,
    meters: Sequence[tuple[str, Meter, Decimal | None]],
) -> Screen:
    """A reminder: which meters (account, kind, note, serial) still need a reading for the month, until
    when, what each bot will record; the main menu, whose "Введення показників" starts handing them in."""
    lines = [REMINDER_TEXTS["head"].format(month=month.label, org=org_name, closes=day_and_time(closes_at))]
    for number, meter, bot_value in meters:
        lines.append(REMINDER_TEXTS["line"].format(number=number, meter=meter_name(meter)))
        if bot_value is not None:
            lines.append(REMINDER_TEXTS["bot"].format(value=amount_words(bot_value), unit=unit(meter.unit)))
    lines.append(REMINDER_TEXTS["tail"])
    return Screen(clip("\n".join(lines)), main_menu_buttons())
