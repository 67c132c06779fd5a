"""The web cabinet's words and JSON shapes (docs/api.md), rendered from the services' answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ekc.channels.ukrainian import KIND_TAGS, UNIT_SYMBOLS, clock_time, plural, seed_time
from ekc.domain.identity import Channel, Origin
from ekc.domain.kinds import Unit
from ekc.domain.model import Account, Submission
from ekc.domain.values import Warning, WarningCode, format_value
from ekc.domain.windows import KYIV, WindowState
from ekc.exceptions import DomainError
from ekc.services.readings import (
    BotOutcome,
    MeterHistory,
    MeterView,
    Question,
    ReadingsPage,
    RowResult,
    RowStatus,
)
from ekc.storage.ports import LinkedAccount

NO_SERIAL = "дані відсутні"

ERRORS: dict[str, str] = {
    "invalid_request": "Запит має неправильний формат.",
    "unreadable_body": "Запит не вдалося прочитати: він має бути в JSON, у кодуванні UTF-8.",
    "unsupported_media_type": "Запит має бути в форматі JSON (Content-Type: application/json).",
    "value_empty": "Введіть показник.",
    "value_not_number": "Показник має бути числом, наприклад 6116 або 6116.255.",
    "value_negative": "Показник не може бути від'ємним.",
    "value_too_many_decimals": "Після крапки можна ввести не більше 3 цифр (літри або вати).",
    "value_too_long": "Показник задовгий: у лічильників не буває більше {digits} цифр до коми.",
    "too_many_today": (
        "Показник цього лічильника сьогодні вже змінювали {limit} разів. Спробуйте завтра "
        "або зверніться до центру обслуговування."
    ),
    "meter_not_found": "Лічильник не знайдено.",
    "bad_account": "Номер особового рахунку складається лише з цифр.",
    "amount_missing": "Вкажіть щомісячну кількість для бота (0, якщо послугою ніхто не користується).",
    "meter_resealed": (
        "Лічильник повірено або переопломбовано, тому бота вимкнено. Оновіть сторінку й за потреби "
        "увімкніть бота знову."
    ),
    "outcome_unknown": (
        "Зв'язок перервався, і невідомо, чи збережено показники. Оновіть сторінку за хвилину: "
        "збережені показники буде видно біля лічильників."
    ),
    "invalid_code": (
        "Введіть особовий рахунок і SRC-код разом, без пробілів і знаків: 8 або 9 цифр, "
        "останні 3 з них — SRC-код з рахунку-квитанції."
    ),
    "link_refused": (
        "Не вдалося додати рахунок: перевірте номер особового рахунку та SRC-код у рахунку-квитанції."
    ),
    "too_many_attempts": "Забагато невдалих спроб. Спробуйте знову після {until}.",
    "not_signed_in": "Увійдіть до кабінету.",
    "bad_credentials": "Невірна електронна пошта або пароль.",
    "email_taken": "Ця електронна пошта вже зареєстрована. Увійдіть або відновіть пароль.",
    "weak_password": "Пароль має містити щонайменше 8 символів.",
    "bad_email": "Перевірте адресу електронної пошти.",
    "not_found": "Не знайдено.",
    "scope": "Ви увійшли за QR-кодом одного рахунку: ця дія недоступна. Увійдіть з паролем.",
    "csrf": "Сторінка застаріла. Оновіть її та спробуйте ще раз.",
    "bad_token": "QR-код недійсний або застарів. Відскануйте QR-код з нового рахунку-квитанції.",
    "bad_amount": "Щомісячна кількість має бути числом від 0, не більше 3 цифр після крапки.",
    "unavailable": "Сервіс тимчасово недоступний. Нічого не збережено, спробуйте ще раз за хвилину.",
    "internal": "Сталася помилка. Нічого не збережено, спробуйте ще раз.",
}

ROWS: dict[RowStatus, str] = {
    RowStatus.SAVED: "Показник {value} збережено.",
    RowStatus.UNCHANGED: "Показник не введено.",
    RowStatus.CLOSED: "Прийом показників закрито. Наступний період: з {opens} по {closes}.",
    RowStatus.SUPERSEDED: "Тим часом надійшов новіший показник ({value}); ваш не змінив його.",
}

# The confirmation question: the new use and the usual one, each with its unit, so neither reads as the other.
QUESTIONS: dict[str, str] = {
    "implausible_high": (
        "Показник {value} означає витрату {consumption} {unit}{period}, а зазвичай за цей час — близько "
        "{usual} {unit}. Перевірте показник. Якщо він правильний, підтвердьте."
    ),
    "implausible_high_new": (
        "Показник {value} означає незвично велику витрату: {consumption} {unit}{period}. "
        "Перевірте показник. Якщо він правильний, підтвердьте."
    ),
    "more_digits_than_dial": (
        "У показнику {value} більше цифр до коми, ніж має цей лічильник за нашими даними ({digits} {noun}). "
        "Перевірте показник. Якщо він правильний, підтвердьте: ми перевіримо дані лічильника."
    ),
    "bot_amount": (
        "Бот щомісяця додаватиме {value} {unit}, а зазвичай витрата — близько {usual} {unit} на місяць. "
        "Перевірте кількість. Якщо вона правильна, підтвердьте."
    ),
    "bot_amount_new": (
        "Бот щомісяця додаватиме {value} {unit}: це незвично багато. Перевірте кількість. "
        "Якщо вона правильна, підтвердьте."
    ),
}

WARNINGS: dict[WarningCode, str] = {
    WarningCode.LOWER_THAN_PREVIOUS: (
        "Увага: показник {value} менший за попередній ({previous}). Його збережено й буде передано "
        "постачальнику; якщо це помилка, введіть правильний."
    ),
    WarningCode.ROLLOVER: (
        "Лічильник, схоже, перейшов через нуль (максимум {maximum}): витрату пораховано як {consumption}."
    ),
    WarningCode.CONFIRMED_HIGH: "Ви підтвердили незвично велику витрату: {consumption}.",
    WarningCode.CONFIRMED_DIGITS: (
        "Ви підтвердили показник, довший за лічильник за нашими даними ({digits} цифр до коми): "
        "ми перевіримо дані лічильника."
    ),
    WarningCode.OPENING: "Початковий показник нового або переопломбованого лічильника.",
}

SOURCE_LABEL = "Дані внесено з {source}, час: {at}"

# How the cabinet has always named a reading's source in the "Дані внесено з ..." line.
SOURCES: dict[Channel, str] = {
    Channel.VIBER: "Viber",
    Channel.BOT: "бот",
    Channel.OPERATOR: "оператор",
}

RULES: tuple[str, ...] = (
    "Показники вносяться в період, строго визначений кожною організацією (вказано біля кожного лічильника).",
    "Показники приладів обліку вносяться в метрах кубічних або кіловат-годинах.",
    "За потреби можна внести також літри або вати в дробовій частині, через крапку або кому: "
    "наприклад 6.255 — це 6 м³ і 255 літрів.",
    "Враховується останній показник, поданий у періоді будь-яким способом.",
    "Якщо послугою не користувалися, продублюйте попередній показник.",
)


def _param(value: object) -> object:
    """A number or a moment in an error, as the cabinet writes it."""
    if isinstance(value, datetime):
        return clock_time(value)
    if isinstance(value, Decimal):
        return format_value(value)
    return value


def error_text(code: str, **params: object) -> str:
    """The cabinet's sentence for an error code."""
    return ERRORS.get(code, ERRORS["internal"]).format(**{k: _param(v) for k, v in params.items()})


def error(exc: DomainError) -> dict[str, Any]:
    """The API's error shape for a domain error."""
    return {"error": {"code": exc.code, "message": error_text(exc.code, **exc.params)}}


def local_time(moment: datetime) -> str:
    """Kyiv time as the seed prints a submission's time: 2019-07-23 21:04:36."""
    return moment.astimezone(KYIV).strftime("%Y-%m-%d %H:%M:%S")


def window_label(w: WindowState) -> str:
    """'за 07/2019 вносяться в період з 31/07/2019 00:00:00 по 03/08/2019 23:59:59'."""
    return (
        f"за {w.billing_month.label} вносяться в період з {seed_time(w.opens_at)} по {seed_time(w.closes_at)}"
    )


def source(origin: Origin) -> str:
    """Where a reading came from, as the cabinet's source line names it: "IP: 1.2.3.4", "Viber"."""
    if origin.channel is Channel.WEB:
        return f"IP: {origin.ip or 'невідомо'}"
    if origin.channel in (Channel.IVR, Channel.VOICE):
        return f"телефон {origin.phone or ''}".strip()
    return SOURCES.get(origin.channel, str(origin.channel))


def warning(w: Warning) -> dict[str, str]:
    """A warning with its Ukrainian sentence."""
    numbers = {name: format_value(value) for name, value in w.numbers.items()}
    if "digits" in w.numbers:
        numbers["digits"] = str(int(w.numbers["digits"]))
    return {"code": str(w.code), "message": WARNINGS[w.code].format(**numbers)}


def question_text(q: Question, unit: Unit) -> str:
    """The confirmation question under a row."""
    symbol = UNIT_SYMBOLS[unit]
    if q.code == "more_digits_than_dial":
        digits = q.digits or 0
        noun = plural(digits, "цифра", "цифри", "цифр")
        return QUESTIONS[q.code].format(value=format_value(q.value), digits=digits, noun=noun)
    period = "" if q.months <= 1 else f" за {q.months} {plural(q.months, 'місяць', 'місяці', 'місяців')}"
    consumption = "?" if q.consumption is None else format_value(q.consumption)
    key = q.code if q.usual is not None else f"{q.code}_new"
    usual = "" if q.usual is None else format_value(q.usual)
    return QUESTIONS[key].format(
        value=format_value(q.value), consumption=consumption, unit=symbol, usual=usual, period=period
    )


def question(q: Question, unit: Unit) -> dict[str, Any]:
    """The question's numbers, for a page that lays them out itself."""
    return {
        "code": q.code,
        "value": format_value(q.value),
        "consumption": None if q.consumption is None else format_value(q.consumption),
        "usual": None if q.usual is None else format_value(q.usual),
        "months": q.months,
        "unit": UNIT_SYMBOLS[unit],
        "digits": q.digits,
        "message": question_text(q, unit),
    }


def account_summary(a: Account | LinkedAccount) -> dict[str, Any]:
    """A row of the addresses table."""
    return {
        "number": a.number,
        "city": a.city,
        "city_code": a.city_code,
        "holder": a.holder,
        "address": a.address,
    }


def submission(s: Submission) -> dict[str, Any]:
    """One accepted reading."""
    text = source(s.origin)
    return {
        "value": format_value(s.value),
        "billing_month": str(s.billing_month),
        "at": s.at.astimezone(KYIV).isoformat(timespec="seconds"),
        "channel": str(s.channel),
        "source": text,
        "source_label": SOURCE_LABEL.format(source=text, at=local_time(s.at)),
        "consumption": None if s.consumption is None else format_value(s.consumption),
        "warnings": [warning(w) for w in s.warnings],
    }


def meter_view(v: MeterView) -> dict[str, Any]:
    """A row of the readings page."""
    m, w = v.meter, v.window
    previous, previous_month = v.previous
    current = v.current
    return {
        "id": m.id,
        "serial": m.serial,
        "serial_label": m.serial or NO_SERIAL,
        "kind": str(m.kind),
        "kind_label": KIND_TAGS[m.kind],
        "unit": UNIT_SYMBOLS[m.unit],
        "note": m.note,
        "next_verification": m.next_verification.isoformat() if m.next_verification else None,
        "digits": m.digits,
        "organization": {"id": v.organization.id, "name": v.organization.name},
        "window": {
            "open": w.open,
            "billing_month": str(w.billing_month),
            "opens_at": w.opens_at.isoformat(),
            "closes_at": w.closes_at.isoformat(),
            "label": window_label(w),
        },
        "previous": None
        if previous is None
        else {
            "value": format_value(previous),
            "billing_month": str(previous_month) if previous_month else None,
        },
        "current": None if current is None else submission(current),
        "consumption": None
        if current is None or current.consumption is None
        else format_value(current.consumption),
        "bot": {"enabled": m.bot_enabled, "amount": format_value(m.bot_amount), "seal_epoch": m.seal_epoch},
    }


def readings_page(page: ReadingsPage) -> dict[str, Any]:
    """The readings page of one account."""
    a = page.account
    if a is None:  # the web's callers always see their account; a phone caller never reaches here
        raise ValueError("the web renders only pages with the account's data")
    debt = None
    if a.debt is not None:
        d = a.debt
        debt = {"amount": f"{d.amount:.2f}", "recipient": d.recipient, "iban": d.iban, "purpose": d.purpose}
    return {
        "account": {**account_summary(a), "debt": debt},
        "rules": list(RULES),
        "meters": [meter_view(v) for v in page.meters],
    }


def row_message(r: RowResult) -> str:
    """The sentence under a row after a save."""
    if r.status is RowStatus.REJECTED:
        return error_text(r.reason or "invalid_request", **r.reason_params)
    if r.status is RowStatus.CLOSED and r.view is not None:
        w = r.view.window
        return ROWS[r.status].format(opens=seed_time(w.opens_at), closes=seed_time(w.closes_at))
    if r.status is RowStatus.NEEDS_CONFIRMATION and r.question is not None and r.view is not None:
        return question_text(r.question, r.view.meter.unit)
    if r.status is RowStatus.SUPERSEDED and r.newer is not None:
        return ROWS[r.status].format(value=format_value(r.newer.value))
    value = "" if r.value is None else format_value(r.value)
    return ROWS[r.status].format(value=value)


def row_result(r: RowResult) -> dict[str, Any]:
    """What happened to one row of a save."""
    answer: dict[str, Any] = {
        "meter_id": r.meter_id,
        "status": str(r.status),
        "message": row_message(r),
        "warnings": [warning(w) for w in r.warnings],
    }
    if r.question is not None and r.view is not None:
        answer["question"] = question(r.question, r.view.meter.unit)
    return answer


def bot_outcome(outcome: BotOutcome) -> dict[str, Any]:
    """A bot switch's answer: the meter, and the question when the amount must be confirmed."""
    answer: dict[str, Any] = {"status": str(outcome.status), "meter": meter_view(outcome.view)}
    if outcome.question is not None:
        q = outcome.question
        key = "bot_amount" if q.usual is not None else "bot_amount_new"
        symbol = UNIT_SYMBOLS[outcome.view.meter.unit]
        usual = "" if q.usual is None else format_value(q.usual)
        message = QUESTIONS[key].format(value=format_value(q.value), unit=symbol, usual=usual)
        answer["question"] = {**question(q, outcome.view.meter.unit), "message": message}
    return answer


def history(h: MeterHistory) -> dict[str, Any]:
    """A meter's statistics: a page of submissions (and `next`, the next page's cursor) and the months."""
    return {
        "meter": meter_view(h.view),
        "submissions": [submission(s) for s in h.submissions],
        "next": h.next,
        "months": [
            {
                "billing_month": str(m.billing_month),
                "value": format_value(m.value),
                "consumption": None if m.consumption is None else format_value(m.consumption),
                "channel": str(m.winner.channel),
                "warnings": [str(w.code) for w in m.winner.warnings],
            }
            for m in h.months
        ],
    }
