"""The web cabinet's words and JSON answers (`web_shapes`), rendered from the services' answers.

Numbers are written as residents write them: "6116", "6200,5" (a comma, no padding zeros); money as
"1 234,56 грн"; dates as dd/mm/yyyy, Kyiv time. One apostrophe throughout: ’ (U+2019).
The JSON keeps exact machine values beside the words ("6116.000"), for the page to compute with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from ekc.channels import web_shapes as shapes
from ekc.channels.ukrainian import KIND_NAMES, UNIT_SYMBOLS, as_of_text, clock_time, plural, seed_time
from ekc.domain.identity import Channel
from ekc.domain.kinds import Unit
from ekc.domain.model import Account, Submission
from ekc.domain.plausibility import bot_reading
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
    SaveOutcome,
)
from ekc.storage.ports import LinkedAccount

NBSP = "\u00a0"

ERRORS: dict[str, str] = {
    "invalid_request": "Запит має неправильний формат.",
    "unreadable_body": "Запит не вдалося прочитати: він має бути в JSON, у кодуванні UTF-8.",
    "unsupported_media_type": "Запит має бути у форматі JSON (Content-Type: application/json).",
    "value_empty": "Введіть показник.",
    "value_not_number": "Показник має бути числом, наприклад 6116 або 6116,255.",
    "value_negative": "Показник не може бути від’ємним.",
    "value_too_many_decimals": "Після коми чи крапки можна ввести не більше 3 цифр (літри або ват-години).",
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
        "Зв’язок перервався, і невідомо, чи збережено показники. Оновіть сторінку за хвилину: "
        "збережені показники буде видно біля лічильників."
    ),
    "invalid_code": (
        "Введіть особовий рахунок і SRC-код разом, без пробілів і знаків: 8 або 9 цифр, "
        "останні 3 з них — SRC-код з рахунку-квитанції."
    ),
    "link_refused": (
        "Не вдалося додати рахунок: перевірте номер особового рахунку та SRC-код у рахунку-квитанції."
    ),
    "holder_needed": (
        "Щоб додати цю адресу, введіть також прізвище власника рахунку — так, як його надруковано "
        "в рахунку-квитанції."
    ),
    "bad_holder": "Прізвище має складатися з літер, наприклад: Горшеньов.",
    "link_paused": (
        "Забагато невдалих спроб додати адресу за SRC-кодом. Спробуйте знову {day} після {until} "
        "або відскануйте QR-код «внести на сайт» з рахунку-квитанції: він діє завжди."
    ),
    "too_many_attempts": "Забагато невдалих спроб. Спробуйте знову після {until}.",
    "access_revoked": "Доступ за цим QR-кодом припинено. Увійдіть знову.",
    "too_many_recovery": (
        "Забагато запитів на відновлення пароля. Спробуйте знову після {until} або перевірте пошту: "
        "лист міг уже надійти."
    ),
    "not_signed_in": "Увійдіть до кабінету.",
    "bad_credentials": "Неправильна електронна пошта або пароль.",
    "email_taken": "Ця електронна пошта вже зареєстрована. Увійдіть зі своїм паролем.",
    "weak_password": "Пароль має містити щонайменше 8 символів.",
    "bad_email": "Перевірте адресу електронної пошти.",
    "not_found": "Не знайдено.",
    "recovery_off": "Відновлення пароля тут недоступне. Зверніться до центру обслуговування.",
    "recovery_link": (
        "Посилання для відновлення пароля недійсне, уже використане або застаріло. Попросіть нове."
    ),
    "mail_unavailable": "Не вдалося надіслати лист. Спробуйте ще раз за кілька хвилин.",
    "scope": "Ви увійшли за QR-кодом одного рахунку: ця дія недоступна. Увійдіть з паролем.",
    "csrf": "Сторінка застаріла. Оновіть її та спробуйте ще раз.",
    "bad_token": "QR-код недійсний або застарів. Відскануйте QR-код з нового рахунку-квитанції.",
    "bad_amount": "Щомісячна кількість має бути числом від 0, не більше 3 цифр після коми.",
    "unavailable": "Сервіс тимчасово недоступний. Нічого не збережено, спробуйте ще раз за хвилину.",
    "internal": "Сталася помилка. Нічого не збережено, спробуйте ще раз.",
}

ROWS: dict[RowStatus, str] = {
    RowStatus.SAVED: "Показник {value} збережено.",
    RowStatus.UNCHANGED: "Показник не введено.",
    # The page's badge says "Не збережено"; this says why, once.
    RowStatus.CLOSED: "Прийом показників закрито. Наступний прийом: з {opens} по {closes}.",
    RowStatus.SUPERSEDED: "Тим часом надійшов новіший показник ({value}); ваш його не змінив.",
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

# How the save's summary counts a saved row's warning: "з них 1 менший за попередній".
WARNING_COUNTS: dict[WarningCode, tuple[str, str, str]] = {
    WarningCode.LOWER_THAN_PREVIOUS: ("менший за попередній", "менші за попередні", "менших за попередні"),
    WarningCode.ROLLOVER: ("з переходом через нуль", "з переходом через нуль", "з переходом через нуль"),
    WarningCode.CONFIRMED_HIGH: ("з підтвердженою великою витратою",) * 3,  # type: ignore[dict-item]
    WarningCode.CONFIRMED_DIGITS: ("довший за лічильник",) * 3,  # type: ignore[dict-item]
}

SOURCE_LABEL = "Дані внесено {source} {at}"

# Where a reading came from, as "Дані внесено ..." names it (never an IP address or a phone number).
SOURCES: dict[Channel, str] = {
    Channel.WEB: "з сайту",
    Channel.VIBER: "через Viber",
    Channel.IVR: "з телефону",
    Channel.VOICE: "з телефону",
    Channel.BOT: "ботом автоматично",
    Channel.OPERATOR: "центром обслуговування",
}

RULES: tuple[str, ...] = (
    "Кожна організація приймає показники у свій період: його вказано біля кожного лічильника.",
    "Показники вносяться в кубічних метрах (м³) або кіловат-годинах (кВт·год).",
    "За потреби можна внести також літри або ват-години в дробовій частині, через кому або крапку: "
    "наприклад, 6,255 — це 6 м³ і 255 літрів.",
    "Буде враховано останні внесені дані: останній показник, поданий у період будь-яким способом.",
    "Якщо послугою не користувалися, повторіть попередній показник.",
)

BOT_LABELS: dict[str, str] = {
    "off": "Бот вимкнено.",
    "will_record": (
        "Бот увімкнено. Якщо до {closes} показник не надійде, бот внесе {value} {unit} "
        "(попередній {previous} + {amount})."
    ),
    "submitted": "Бот увімкнено. Показник за {month} уже внесено, тому цього разу бот нічого не додасть.",
    "later": (
        "Бот увімкнено. Якщо за наступний прийом (з {opens} по {closes}) показник не надійде, "
        "бот додасть {amount} {unit} до останнього показника."
    ),
}

BOT_SAVED = {True: "Налаштування бота збережено. {label}", False: "Бота вимкнено."}

SUMMARY: dict[str, tuple[str, str, str]] = {
    "needs_confirmation": ("потребує підтвердження", "потребують підтвердження", "потребують підтвердження"),
    "rejected": ("не прийнято", "не прийнято", "не прийнято"),
    "closed": ("не збережено: прийом закрито",) * 3,  # type: ignore[dict-item]
    "superseded": ("не змінено: уже є новіший", "не змінено: уже є новіші", "не змінено: уже є новіші"),
}
SUMMARY_NOTHING = "Жодного показника не збережено"
SUMMARY_LOOK = "Перегляньте позначені лічильники."

RECOVERY_ACCEPTED = (
    "Якщо ця адреса зареєстрована, на неї надіслано лист із посиланням для нового пароля. "
    "Посилання діє {minutes} хвилин. Не бачите листа — перевірте теку «Спам»."
)
RECOVERED = "Пароль змінено."
RECOVERY_SUBJECT = "Відновлення пароля до кабінету показників лічильників"
RECOVERY_BODY = (
    "Добрий день!\n\n"
    "Хтось (можливо, ви) попросив відновити пароль до персонального кабінету показників лічильників "
    "для цієї адреси.\n\n"
    "Щоб задати новий пароль, відкрийте посилання (воно діє {minutes} хвилин і лише один раз):\n"
    "{link}\n\n"
    "Якщо ви нічого не просили, просто видаліть цей лист: пароль не зміниться.\n\n"
    "Єдина комунальна система, Кременчук"
)


# ---- numbers, money, dates -----------------------------------------------------------------------------


def number(value: Decimal) -> str:
    """A reading as residents write it: 6116, 6200,5, 0,25 (no padding zeros, a decimal comma)."""
    text = format_value(value)
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole},{fraction}" if fraction else whole


def money(amount: Decimal) -> str:
    """'1 234,56 грн': thousands apart (a no-break space), two decimals after a comma."""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{NBSP.join(groups)},{cents}{NBSP}грн"


def iban_grouped(iban: str) -> str:
    """'UA21 3223 1300 ...': an IBAN in groups of four, as banks print it."""
    compact = "".join(iban.split())
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def date_text(moment: datetime) -> str:
    """Kyiv date: 24/11/2026."""
    return moment.astimezone(KYIV).strftime("%d/%m/%Y")


def moment_text(moment: datetime) -> str:
    """Kyiv date and time of day: 24/11/2026 о 23:04."""
    return f"{date_text(moment)} о {clock_time(moment)}"


def _param(value: object) -> object:
    """A number or a moment in an error, as the cabinet writes it."""
    if isinstance(value, datetime):
        return clock_time(value)
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Decimal):
        return number(value)
    return value


def error_text(code: str, **params: object) -> str:
    """The cabinet's sentence for an error code."""
    return ERRORS.get(code, ERRORS["internal"]).format(**{k: _param(v) for k, v in params.items()})


def error(exc: DomainError) -> shapes.ErrorAnswer:
    """The API's error answer for a domain error."""
    return error_answer(exc.code, **exc.params)


def error_answer(
    code: str, details: list[shapes.ErrorDetail] | None = None, **params: object
) -> shapes.ErrorAnswer:
    """The API's error answer for a code."""
    text = error_text(code, **params)
    return shapes.ErrorAnswer(error=shapes.ErrorInfo(code=code, message=text, details=details))


# ---- meters ---------------------------------------------------------------------------------------------


def window_label(w: WindowState) -> str:
    """'за 07/2019 вносяться в період з 31/07/2019 00:00:00 по 03/08/2019 23:59:59'."""
    return (
        f"за {w.billing_month.label} вносяться в період з {seed_time(w.opens_at)} по {seed_time(w.closes_at)}"
    )


def closed_text(w: WindowState) -> str | None:
    """Why a closed meter takes no reading now, and when it will (a closed window is the next one)."""
    if w.open:
        return None
    return (
        f"Зараз прийом показників закрито. Показники за {w.billing_month.label} приймаються "
        f"з {date_text(w.opens_at)} по {date_text(w.closes_at)}."
    )


def window(w: WindowState) -> shapes.Window:
    """A meter's window."""
    return shapes.Window(
        open=w.open,
        billing_month=str(w.billing_month),
        opens_at=w.opens_at.isoformat(),
        closes_at=w.closes_at.isoformat(),
        label=window_label(w),
        closed_text=closed_text(w),
    )


def source_label(s: Submission) -> str:
    """'Дані внесено з сайту 24/11/2026 о 23:04'."""
    return SOURCE_LABEL.format(source=SOURCES.get(s.channel, ""), at=moment_text(s.at))


def _with_unit(value: Decimal, unit: Unit | None) -> str:
    return number(value) if unit is None else f"{number(value)} {UNIT_SYMBOLS[unit]}"


def warning(w: Warning, unit: Unit | None = None) -> shapes.Warning:
    """A warning with its Ukrainian sentence; use (consumption) comes with its unit."""
    numbers = {name: number(value) for name, value in w.numbers.items()}
    if "consumption" in w.numbers:
        numbers["consumption"] = _with_unit(w.numbers["consumption"], unit)
    if "digits" in w.numbers:
        numbers["digits"] = str(int(w.numbers["digits"]))
    return shapes.Warning(code=str(w.code), message=WARNINGS[w.code].format(**numbers))  # type: ignore[arg-type]


def submission(s: Submission, unit: Unit | None = None) -> shapes.Submission:
    """One accepted reading."""
    return shapes.Submission(
        value=format_value(s.value),
        billing_month=str(s.billing_month),
        at=s.at.astimezone(KYIV).isoformat(timespec="seconds"),
        channel=str(s.channel),  # type: ignore[arg-type]
        source_label=source_label(s),
        consumption=None if s.consumption is None else format_value(s.consumption),
        warnings=[warning(w, unit) for w in s.warnings],
    )


def meter_name(v: MeterView) -> str:
    """The kind in words, with the note where it tells the meters apart: 'Холодна вода, кухня'.

    Billing's notes either say where a meter is ("кухня") or merely restate what it is ("газовий
    лічильник"); the latter adds nothing to the kind in words. A meter is never 'дані відсутні'.
    """
    kind = KIND_NAMES[v.meter.kind]
    note = v.meter.note.strip()
    return f"{kind}, {note}" if note and "лічильник" not in note.lower() else kind


def bot_label(v: MeterView) -> str:
    """What the bot will do at this window's close, in words."""
    m, w = v.meter, v.window
    if not m.bot_enabled:
        return BOT_LABELS["off"]
    unit = UNIT_SYMBOLS[m.unit]
    amount = number(m.bot_amount)
    if not w.open:
        opens, closes = date_text(w.opens_at), date_text(w.closes_at)
        return BOT_LABELS["later"].format(opens=opens, closes=closes, amount=amount, unit=unit)
    if v.current is not None:
        return BOT_LABELS["submitted"].format(month=w.billing_month.label)
    previous, _ = v.previous
    if previous is None:
        return BOT_LABELS["later"].format(
            opens=date_text(w.opens_at), closes=date_text(w.closes_at), amount=amount, unit=unit
        )
    value = bot_reading(previous, m.bot_amount, m.digits)
    return BOT_LABELS["will_record"].format(
        closes=moment_text(w.closes_at),
        value=number(value),
        unit=unit,
        previous=number(previous),
        amount=amount,
    )


def meter_view(v: MeterView) -> shapes.MeterView:
    """A meter on the readings page."""
    m = v.meter
    previous, previous_month = v.previous
    current = v.current
    return shapes.MeterView(
        id=m.id,
        name=meter_name(v),
        serial=m.serial,
        kind=str(m.kind),  # type: ignore[arg-type]
        kind_label=KIND_NAMES[m.kind],
        unit=UNIT_SYMBOLS[m.unit],
        note=m.note,
        next_verification=m.next_verification.isoformat() if m.next_verification else None,
        digits=m.digits,
        organization=shapes.Organization(id=v.organization.id, name=v.organization.name),
        window=window(v.window),
        previous=None
        if previous is None
        else shapes.Previous(
            value=format_value(previous), billing_month=str(previous_month) if previous_month else None
        ),
        current=None if current is None else submission(current, m.unit),
        consumption=None
        if current is None or current.consumption is None
        else format_value(current.consumption),
        bot=shapes.Bot(
            enabled=m.bot_enabled,
            amount=format_value(m.bot_amount),
            seal_epoch=m.seal_epoch,
            label=bot_label(v),
        ),
    )


# ---- accounts -------------------------------------------------------------------------------------------


def account_summary(a: Account | LinkedAccount) -> shapes.AccountSummary:
    """A linked address."""
    return shapes.AccountSummary(
        number=a.number, city=a.city, city_code=a.city_code, holder=a.holder, address=a.address
    )


def debt_label(amount: Decimal, as_of: date | None = None) -> str:
    """'Заборгованість: 1 234,56 грн станом на 01/11/2026', 'Переплата: 10,00 грн станом на ...' or
    'Заборгованості немає станом на ...' (without the day when billing never said it)."""
    if amount > 0:
        return f"Заборгованість: {money(amount)}{as_of_text(as_of)}"
    if amount < 0:
        return f"Переплата: {money(amount)}{as_of_text(as_of)}"
    return f"Заборгованості немає{as_of_text(as_of)}"


def readings_page(page: ReadingsPage) -> shapes.ReadingsPage:
    """The readings page of one account."""
    a = page.account
    if a is None:  # the web's callers always see their account; a phone caller never reaches here
        raise ValueError("the web renders only pages with the account's data")
    debt = None
    if a.debt is not None:
        d = a.debt
        debt = shapes.Debt(
            amount=f"{d.amount:.2f}",
            label=debt_label(d.amount, d.as_of),
            as_of=d.as_of.isoformat() if d.as_of else None,
            recipient=d.recipient,
            iban="".join(d.iban.split()),
            iban_grouped=iban_grouped(d.iban),
            purpose=d.purpose,
        )
    summary = account_summary(a)
    return shapes.ReadingsPage(
        account=shapes.AccountData(**summary.model_dump(), debt=debt),
        rules=list(RULES),
        meters=[meter_view(v) for v in page.meters],
    )


# ---- saving ---------------------------------------------------------------------------------------------


def question_text(q: Question, unit: Unit) -> str:
    """The confirmation question under a row."""
    symbol = UNIT_SYMBOLS[unit]
    if q.code == "more_digits_than_dial":
        digits = q.digits or 0
        noun = plural(digits, "цифра", "цифри", "цифр")
        return QUESTIONS[q.code].format(value=number(q.value), digits=digits, noun=noun)
    period = "" if q.months <= 1 else f" за {q.months} {plural(q.months, 'місяць', 'місяці', 'місяців')}"
    consumption = "?" if q.consumption is None else number(q.consumption)
    key = q.code if q.usual is not None else f"{q.code}_new"
    usual = "" if q.usual is None else number(q.usual)
    return QUESTIONS[key].format(
        value=number(q.value), consumption=consumption, unit=symbol, usual=usual, period=period
    )


def question(q: Question, unit: Unit, message: str | None = None) -> shapes.Question:
    """The question's numbers, for a page that lays them out itself, and its sentence."""
    return shapes.Question(
        code=q.code,  # type: ignore[arg-type]
        value=format_value(q.value),
        consumption=None if q.consumption is None else format_value(q.consumption),
        usual=None if q.usual is None else format_value(q.usual),
        months=q.months,
        unit=UNIT_SYMBOLS[unit],
        digits=q.digits,
        message=message or question_text(q, unit),
    )


def row_message(r: RowResult) -> str:
    """The sentence under a row after a save."""
    if r.status is RowStatus.REJECTED:
        return error_text(r.reason or "invalid_request", **r.reason_params)
    if r.status is RowStatus.CLOSED and r.view is not None:
        w = r.view.window
        return ROWS[r.status].format(opens=date_text(w.opens_at), closes=date_text(w.closes_at))
    if r.status is RowStatus.NEEDS_CONFIRMATION and r.question is not None and r.view is not None:
        return question_text(r.question, r.view.meter.unit)
    if r.status is RowStatus.SUPERSEDED and r.newer is not None:
        return ROWS[r.status].format(value=number(r.newer.value))
    value = "" if r.value is None else number(r.value)
    return ROWS[r.status].format(value=value)


def row_result(r: RowResult) -> shapes.RowResult:
    """What happened to one row of a save."""
    unit = r.view.meter.unit if r.view is not None else None
    return shapes.RowResult(
        meter_id=r.meter_id,
        status=str(r.status),  # type: ignore[arg-type]
        code=r.reason if r.status is RowStatus.REJECTED else None,
        message=row_message(r),
        warnings=[warning(w, unit) for w in r.warnings],
        question=None if r.question is None or r.view is None else question(r.question, r.view.meter.unit),
    )


def _count(n: int, forms: tuple[str, str, str]) -> str:
    return f"{n} {plural(n, *forms)}"


def summary(results: Iterable[RowResult], order: Iterable[str] = ()) -> shapes.Summary:
    """'Збережено 3, з них 1 менший за попередній; 1 потребує підтвердження.', its tone, and the rows
    that need a look (not saved, or saved with a warning), in page order."""
    results = list(results)
    sent = [r for r in results if r.status is not RowStatus.UNCHANGED]
    saved = [r for r in sent if r.status is RowStatus.SAVED]
    parts = []
    if saved:
        warned = Counter(w.code for r in saved for w in r.warnings if w.code in WARNING_COUNTS)
        head = f"Збережено {len(saved)}"
        if warned:
            head += ", з них " + ", ".join(_count(n, WARNING_COUNTS[code]) for code, n in warned.items())
        parts.append(head)
    else:
        parts.append(SUMMARY_NOTHING)
    statuses = Counter(str(r.status) for r in sent if r.status is not RowStatus.SAVED)
    parts += [_count(statuses[status], forms) for status, forms in SUMMARY.items() if statuses[status]]
    attention = {r.meter_id for r in sent if r.status is not RowStatus.SAVED or r.warnings}
    text = "; ".join(parts) + "."
    if attention:
        text += " " + SUMMARY_LOOK
    if not saved:
        tone = "error"
    elif attention:
        tone = "warn"
    else:
        tone = "ok"
    ranked = list(order) or [r.meter_id for r in results]
    ranked += [r.meter_id for r in results if r.meter_id not in ranked]
    return shapes.Summary(text=text, tone=tone, attention=[m for m in ranked if m in attention])  # type: ignore[arg-type]


def save_answer(outcome: SaveOutcome) -> shapes.SaveAnswer:
    """A save's answer: rows, meters, summary."""
    order = [v.meter.id for v in outcome.meters]
    return shapes.SaveAnswer(
        results=[row_result(r) for r in outcome.results],
        meters=[meter_view(v) for v in outcome.meters],
        summary=summary(outcome.results, order),
    )


def bot_answer(outcome: BotOutcome) -> shapes.BotAnswer:
    """A bot switch's answer: the meter, and the question when the amount must be confirmed."""
    view = meter_view(outcome.view)
    if outcome.question is not None:
        q = outcome.question
        key = "bot_amount" if q.usual is not None else "bot_amount_new"
        symbol = UNIT_SYMBOLS[outcome.view.meter.unit]
        usual = "" if q.usual is None else number(q.usual)
        message = QUESTIONS[key].format(value=number(q.value), unit=symbol, usual=usual)
        return shapes.BotAnswer(
            status="needs_confirmation",
            message=message,
            meter=view,
            question=question(q, outcome.view.meter.unit, message),
        )
    enabled = outcome.view.meter.bot_enabled
    return shapes.BotAnswer(
        status="saved", message=BOT_SAVED[enabled].format(label=view.bot.label), meter=view
    )


def history(h: MeterHistory) -> shapes.History:
    """A meter's statistics: a page of submissions (and `next`, the next page's cursor) and the months."""
    unit = h.view.meter.unit
    return shapes.History(
        meter=meter_view(h.view),
        submissions=[submission(s, unit) for s in h.submissions],
        next=h.next,
        months=[
            shapes.MonthResult(
                billing_month=str(m.billing_month),
                at=m.winner.at.astimezone(KYIV).isoformat(timespec="seconds"),
                value=format_value(m.value),
                consumption=None if m.consumption is None else format_value(m.consumption),
                channel=str(m.winner.channel),  # type: ignore[arg-type]
                warnings=[str(w.code) for w in m.winner.warnings],
            )
            for m in h.months
        ],
    )


# ---- sessions, the page's configuration, recovery ------------------------------------------------------


def me(person_id: str | None, email: str | None, scope_account: str | None, csrf: str) -> shapes.Me:
    """Who is signed in."""
    person = None if person_id is None else shapes.Person(id=person_id, email=email)
    return shapes.Me(person=person, scope_account=scope_account, csrf=csrf)


def phone(number_text: str) -> shapes.Phone | None:
    """A configured phone line as a tap-to-call link; None when not configured."""
    shown = number_text.strip()
    if not shown:
        return None
    dial = "".join(ch for ch in shown if ch.isdigit() or ch == "+")
    return shapes.Phone(number=shown, href=f"tel:{dial}")


def recovery_accepted(minutes: int) -> shapes.RecoveryAccepted:
    """What the page says after a recovery request (the same whether the e-mail is known or not)."""
    return shapes.RecoveryAccepted(message=RECOVERY_ACCEPTED.format(minutes=minutes))


def password_changed(email: str) -> shapes.PasswordChanged:
    """A new password is set."""
    return shapes.PasswordChanged(email=email, message=RECOVERED)


def recovery_mail(link: str, minutes: int) -> tuple[str, str]:
    """The recovery letter: subject and plain text."""
    return RECOVERY_SUBJECT, RECOVERY_BODY.format(link=link, minutes=minutes)
