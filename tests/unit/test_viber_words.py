"""The Viber door's words and keyboards: Ukrainian everywhere, the seed's colours, Viber's limits."""

from __future__ import annotations

import re

import pytest

from ekc.channels import viber as words
from ekc.domain.notices import Notice, NoticeCode
from ekc.domain.values import WarningCode

CYRILLIC = re.compile(r"[А-Яа-яІіЇїЄєҐґ]")
# Latin words a Ukrainian resident meets in these texts on purpose.
ALLOWED_LATIN = {"Viber", "SRC", "IBAN", "QR"}


def _latin_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", re.sub(r"\{[a-z_]+\}", "", text))) - ALLOWED_LATIN


@pytest.mark.parametrize(
    "text",
    [*words.TEXTS.values(), *words.ERRORS.values(), *words.WARNINGS.values(), *words.NOTICES.values()],
)
def test_viber_words_are_ukrainian(text: str) -> None:
    # Every sentence the bot says is Ukrainian, with no stray English (a bare "{meter}: {value}" has no words)
    bare = re.sub(r"\{[a-z_]+\}", "", text)
    assert CYRILLIC.search(bare) or not re.search(r"[^\W\d_]", bare)
    assert _latin_words(text) == set()


def test_viber_words_cover_every_warning_notice_and_error_the_services_raise() -> None:
    assert set(words.WARNINGS) == set(WarningCode)
    assert set(words.NOTICES) == set(NoticeCode)
    raised = {
        "value_empty", "value_not_number", "value_negative", "value_too_many_decimals",
        "value_too_long", "too_many_today", "amount_missing", "meter_resealed", "outcome_unknown",
        "bad_amount", "invalid_code", "link_refused", "too_many_attempts",
        "bad_token", "not_found", "meter_not_found", "unavailable", "scope",
    }  # fmt: skip
    assert raised <= set(words.ERRORS)
    assert words.error_text("no_such_code") == words.ERRORS["internal"]


def test_viber_words_digits_agree_with_their_count() -> None:
    assert "більше 9 цифр до коми" in words.error_text("value_too_long", digits=9)
    assert "більше 1 цифри до коми" in words.error_text("value_too_long", digits=1)


def test_viber_words_button_text_is_escaped_and_coloured() -> None:
    # Given an address with markup in it (billing data is not ours to trust)
    button = words.account_button("77777", "<b>вул. Шкільна</b> & Ко", "Показники о/р 77777")
    # Then Viber sees it as text, on a pink button that sends the readable action
    assert "&lt;b&gt;вул. Шкільна&lt;/b&gt; &amp; Ко" in str(button["Text"])
    assert button["BgColor"] == words.PINK and button["ActionType"] == "reply"
    assert words.menu_button()["BgColor"] == words.PURPLE
    assert [b["BgColor"] for b in words.main_menu_buttons()] == [words.LIGHT_GREEN, words.ORANGE]


def test_viber_words_paging_keeps_rows_and_bytes_within_viber_limits() -> None:
    # Given 100 two-row buttons and a purple button under them
    items = [
        words.button(f"Лічильник {n}\nрядок", f"Лічильник {n}", words.LIGHT_GREEN, rows=2) for n in range(100)
    ]
    seen: list[str] = []
    for page in range(20):
        buttons, shown = words.paged(items, page, (words.menu_button(),))
        if shown < page:  # past the end: the last page again
            break
        # Then each page fits 24 rows and the request stays under 30 kB
        assert words.rows_of(buttons) <= words.MAX_ROWS
        message = {"type": "text", "text": "x", "keyboard": {"Buttons": list(buttons)}}
        assert words.fits(message)
        seen += [str(b["ActionBody"]) for b in buttons if str(b["ActionBody"]).startswith("Лічильник")]
    # And the pages together show every item once
    assert seen == [f"Лічильник {n}" for n in range(100)]


def test_viber_words_rows_follow_the_six_column_grid() -> None:
    half = words.button("a", "a", words.GREY, 1, 3)
    assert words.rows_of([half, half]) == 1
    assert words.rows_of([half, half, half]) == 2
    assert words.rows_of([words.button("b", "b", words.GREY, 2, 6), half]) == 3


def test_viber_words_clip_long_texts_to_viber_limit() -> None:
    assert len(words.clip("я" * 10_000)) == words.MAX_TEXT
    assert words.clip("коротко") == "коротко"


def test_viber_words_notice_without_its_numbers_is_still_a_sentence() -> None:
    # A notice from another door may lack params; it is worded from what it has, never crashes
    notice = Notice(
        NoticeCode.METER_RETIRED, __import__("datetime").datetime.now().astimezone(), "77777", "77777.9"
    )
    assert "77777.9" in words.notice_text(notice) and "77777" in words.notice_text(notice)
