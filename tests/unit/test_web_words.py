"""The web cabinet's words: numbers as residents write them, money, dates, meter names, the save's
summary, and one apostrophe throughout (server texts and the page's own)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ekc.channels import web
from ekc.domain.kinds import MeterKind, Unit
from ekc.domain.model import Meter, Organization
from ekc.domain.months import Month
from ekc.domain.values import Warning, WarningCode
from ekc.domain.windows import DayOfMonth, WindowRule, window_state
from ekc.services.readings import MeterView, RowResult, RowStatus

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
ORG = Organization("water", "Водоканал", WindowRule(DayOfMonth(0, 20), DayOfMonth(0, 28)))


def _view(kind: MeterKind = MeterKind.COLD_WATER, note: str = "", **changes: object) -> MeterView:
    meter = Meter(
        id="77777.3",
        account="77777",
        kind=kind,
        unit=Unit.CUBIC_METRE,
        organization_id="water",
        digits=5,
        previous_value=Decimal(105),
        previous_month=Month(2026, 10),
        note=note,
    )
    return MeterView(replace(meter, **changes), ORG, window_state(ORG.rule, NOW))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [("6116.000", "6116"), ("6200.500", "6200,5"), ("0.250", "0,25"), ("105.125", "105,125"), ("0", "0")],
)
def test_number_is_written_as_residents_write_it(value: str, text: str) -> None:
    assert web.number(Decimal(value)) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [("1234.56", "1 234,56 грн"), ("5", "5,00 грн"), ("1234567.8", "1 234 567,80 грн"), ("-10", "10,00 грн")],
)
def test_money_groups_thousands_with_a_comma_before_the_kopecks(amount: str, text: str) -> None:
    assert web.money(Decimal(amount)).replace("\u00a0", " ") == text


def test_debt_label_and_grouped_iban() -> None:
    assert web.debt_label(Decimal("1234.56")) == "Заборгованість: 1\u00a0234,56\u00a0грн"
    assert web.debt_label(Decimal("-3")) == "Переплата: 3,00\u00a0грн"
    assert web.debt_label(Decimal(0)) == "Заборгованості немає"
    # With billing's day: "станом на" and the day as the cabinet writes dates
    day = date(2026, 11, 1)
    dated = web.debt_label(Decimal("1234.56"), day)
    assert dated == "Заборгованість: 1\u00a0234,56\u00a0грн станом на 01/11/2026"
    assert web.debt_label(Decimal(0), day) == "Заборгованості немає станом на 01/11/2026"
    assert web.iban_grouped("UA213223130000026007233566001") == "UA21 3223 1300 0002 6007 2335 6600 1"


def test_dates_are_day_month_year_in_kyiv() -> None:
    assert web.moment_text(NOW) == "24/11/2026 о 23:04"
    assert web.date_text(NOW) == "24/11/2026"


def test_meter_name_is_the_kind_in_words_with_a_place_but_not_a_restated_kind() -> None:
    assert web.meter_name(_view(note="кухня")) == "Холодна вода, кухня"
    assert web.meter_name(_view(MeterKind.GAS, note="газовий лічильник")) == "Газ"
    assert web.meter_name(_view(MeterKind.ELECTRICITY)) == "Електроенергія"


def test_summary_counts_warnings_and_questions_and_names_the_rows_to_look_at() -> None:
    lower = Warning(WarningCode.LOWER_THAN_PREVIOUS, {"value": Decimal(1), "previous": Decimal(2)})
    results = [
        RowResult("a", RowStatus.SAVED),
        RowResult("b", RowStatus.SAVED, warnings=(lower,)),
        RowResult("c", RowStatus.NEEDS_CONFIRMATION),
        RowResult("d", RowStatus.SAVED),
        RowResult("e", RowStatus.UNCHANGED),
    ]
    summary = web.summary(results, ["e", "d", "c", "b", "a"])
    assert summary.text == (
        "Збережено 3, з них 1 менший за попередній; 1 потребує підтвердження. "
        "Перегляньте позначені лічильники."
    )
    assert summary.tone == "warn" and summary.attention == ["c", "b"]
    assert web.summary([RowResult("a", RowStatus.SAVED)]).model_dump() == {
        "text": "Збережено 1.",
        "tone": "ok",
        "attention": [],
    }
    nothing = web.summary([RowResult("a", RowStatus.REJECTED), RowResult("b", RowStatus.REJECTED)])
    assert (nothing.text, nothing.tone) == (
        "Жодного показника не збережено; 2 не прийнято. Перегляньте позначені лічильники.",
        "error",
    )


def test_closed_row_says_it_once() -> None:
    view = _view()
    row = RowResult("77777.3", RowStatus.CLOSED, view=replace(view, window=replace(view.window, open=False)))
    message = web.row_message(row)
    assert message.count("закрито") == 1 and re.search(r"з \d{2}/\d{2}/\d{4} по \d{2}/\d{2}/\d{4}", message)


def test_bot_label_says_what_the_bot_will_record() -> None:
    on = _view(bot_enabled=True, bot_amount=Decimal("2.5"))
    assert web.bot_label(on) == (
        "Бот увімкнено. Якщо до 28/11/2026 о 23:59 показник не надійде, бот внесе 107,5 м³ "
        "(попередній 105 + 2,5)."
    )
    assert web.bot_label(_view()) == "Бот вимкнено."


APOSTROPHE_IN_A_WORD = re.compile(r"[А-Яа-яІіЇїЄєҐґ][\'ʼ`][А-Яа-яІіЇїЄєҐґ]")


def test_one_apostrophe_throughout_server_and_page_texts() -> None:
    texts = [*web.ERRORS.values(), *web.QUESTIONS.values(), *web.WARNINGS.values(), *web.RULES]
    texts += [web.RECOVERY_BODY, web.RECOVERY_ACCEPTED, *web.BOT_LABELS.values()]
    page = "\n".join(
        p.read_text(encoding="utf-8") for p in [FRONTEND / "index.html", *FRONTEND.rglob("*.js")]
    )
    wrong = [t for t in [*texts, page] if APOSTROPHE_IN_A_WORD.search(t)]
    assert wrong == [], [APOSTROPHE_IN_A_WORD.findall(t) for t in wrong]
    assert "’" in page and "від’ємним" in web.ERRORS["value_negative"]


def test_reviewed_sentences() -> None:
    assert web.ERRORS["bad_credentials"] == "Неправильна електронна пошта або пароль."
    assert "ват-години" in web.ERRORS["value_too_many_decimals"]
    assert "в кубічних метрах (м³)" in " ".join(web.RULES)
    assert any(rule.startswith("Буде враховано останні внесені дані") for rule in web.RULES)
    page = (FRONTEND / "js" / "texts.js").read_text(encoding="utf-8")
    assert "Уже є новіші показники" in page and "Вже є" not in page
    assert "Буде враховано останні внесені дані" in (FRONTEND / "index.html").read_text(encoding="utf-8")


def test_the_page_is_native_modules_with_the_csp_unchanged() -> None:
    index = (FRONTEND / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="app.js"></script>' in index
    assert "script-src 'self';" in index and "unsafe" not in index
    modules = {p.relative_to(FRONTEND).as_posix() for p in FRONTEND.rglob("*.js")}
    imported = set(
        re.findall(r"from '\./(js/[\w/]+\.js)'", (FRONTEND / "app.js").read_text(encoding="utf-8"))
    )
    preloaded = set(re.findall(r'rel="modulepreload" href="([\w/]+\.js)"', index))
    assert imported <= modules and preloaded == modules - {"app.js"}
