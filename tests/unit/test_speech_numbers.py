"""Spoken readings: transcripts to a Decimal or a refusal with its reason, never a guessed value."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from num2words import num2words

from ekc.channels.ukrainian import plural
from ekc.speech.numbers import NumberHeard, Reason, interpret_number

DATA = Path(__file__).parent / "data" / "transcripts.json"
CASES = json.loads(DATA.read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parents[2]

UK_DIGITS = ("нуль", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять")
RU_DIGITS = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
QUICK = settings(max_examples=300, deadline=None)

integers = st.integers(min_value=0, max_value=99_999)
fraction_digits = st.text(alphabet="0123456789", min_size=1, max_size=3)


def words(n: int, lang: str, *, feminine: bool = False) -> str:
    gender = ("feminine" if lang == "uk" else "f") if feminine else ("masculine" if lang == "uk" else "m")
    return num2words(n, lang=lang, gender=gender)


def said_fraction(digits: str, lang: str) -> str:
    """Fraction digits as people say them after "кома": leading zeros one by one, the rest as a number."""
    rest = digits.lstrip("0")
    zero = "нуль" if lang == "uk" else "ноль"
    return " ".join([zero] * (len(digits) - len(rest)) + ([words(int(rest), lang)] if rest else []))


def test_speech_transcript_set_is_large_enough_and_well_formed() -> None:
    # Given the realistic transcript set
    # When it is loaded
    # Then it has at least 150 cases, each with exactly one expectation, and no text twice
    assert len(CASES) >= 150
    assert all(("value" in c) != ("refuse" in c) for c in CASES)
    assert sum("we_refuse" in c for c in CASES) <= 5  # misses are few, and each one is written down
    assert len({c["text"] for c in CASES}) == len(CASES)
    assert {c["refuse"] for c in CASES if "refuse" in c} <= {r.value for r in Reason}


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c['text'][:40]}" for i, c in enumerate(CASES)])
def test_speech_interpret_number_reads_the_transcript_set(case: dict[str, str]) -> None:
    # Given a transcript as a recogniser writes it, with the value the caller meant or the refusal due
    # When it is interpreted
    heard = interpret_number(case["text"])
    # Then the value is exactly the one meant, or the refusal carries the expected reason; a known miss
    # (a value a person hears, which we refuse) stays a refusal, never another value
    if "we_refuse" in case:
        assert (heard.value, heard.reason) == (None, case["we_refuse"])
    elif "value" in case:
        assert heard == NumberHeard(Decimal(case["value"]), None, heard.fraction_digits)
        assert heard.value is not None and heard.value.as_tuple() == Decimal(case["value"]).as_tuple()
    else:
        assert heard.value is None
        assert heard.reason == case["refuse"]


@pytest.mark.parametrize(
    ("text", "value", "fraction_digits"),
    [
        ("двісті один кома п'ять", "201.5", 1),
        ("шість кома п'ятдесят", "6.50", 2),
        ("шість кома нуль нуль п'ять", "6.005", 3),
        ("шість кубів п'ять літрів", "6.005", 3),
        ("п'ять десятих", "0.5", 1),
        ("6116,2", "6116.2", 1),
        ("201", "201", 0),
    ],
)
def test_speech_interpret_number_keeps_the_decimals_as_said(
    text: str, value: str, fraction_digits: int
) -> None:
    # Given a reading with decimals said one way or another
    # When it is interpreted
    heard = interpret_number(text)
    # Then the value keeps the decimals the caller said, for the read-back to follow
    assert heard.ok
    assert heard.value is not None and str(heard.value) == value
    assert heard.fraction_digits == fraction_digits


@pytest.mark.parametrize(
    ("text", "reason", "detail"),
    [
        ("двісті стільки один", Reason.UNKNOWN_WORD, "стилки"),
        ("двісті один, ні", Reason.CORRECTION, "ни"),
        ("приблизно двісті", Reason.UNCERTAIN, "приблизно"),
    ],
)
def test_speech_interpret_number_names_the_word_it_refused(text: str, reason: Reason, detail: str) -> None:
    # Given a transcript refused because of one word
    # When it is interpreted
    heard = interpret_number(text)
    # Then the refusal names that word (as its skeleton) for the logs
    assert (heard.value, heard.reason, heard.detail) == (None, reason, detail)


# ---- properties: every number people can say ---------------------------------------------------------------


@QUICK
@given(n=integers, lang=st.sampled_from(["uk", "ru"]))
@example(n=0, lang="uk")
@example(n=1000, lang="uk")
@example(n=99_999, lang="ru")
def test_speech_interpret_number_reads_back_num2words_integers(n: int, lang: str) -> None:
    # Given a whole number as num2words writes it in Ukrainian or Russian
    text = words(n, lang)
    # When it is interpreted
    heard = interpret_number(text)
    # Then it is that number
    assert heard.value == n, (text, heard)


@QUICK
@given(n=integers, digits=fraction_digits, lang=st.sampled_from(["uk", "ru"]))
@example(n=6, digits="255", lang="uk")
@example(n=6, digits="005", lang="uk")
@example(n=0, digits="5", lang="ru")
def test_speech_interpret_number_reads_decimals_after_koma(n: int, digits: str, lang: str) -> None:
    # Given "шість кома двісті п'ятдесят п'ять": the whole part, the decimal word, the fraction as said
    point = "кома" if lang == "uk" else "запятая"
    text = f"{words(n, lang)} {point} {said_fraction(digits, lang)}"
    # When it is interpreted
    heard = interpret_number(text)
    # Then it is the number with exactly those decimals
    assert heard.value == Decimal(f"{n}.{digits}"), (text, heard)
    assert heard.fraction_digits == len(digits)


UK_WHOLE = ("ціла", "цілі", "цілих")
RU_WHOLE = ("целая", "целых", "целых")
UK_SCALES = {1: ("десята", "десятих"), 2: ("сота", "сотих"), 3: ("тисячна", "тисячних")}
RU_SCALES = {1: ("десятая", "десятых"), 2: ("сотая", "сотых"), 3: ("тысячная", "тысячных")}


@QUICK
@given(n=integers, numerator=st.integers(min_value=1, max_value=999), lang=st.sampled_from(["uk", "ru"]))
@example(n=6, numerator=255, lang="uk")
@example(n=1, numerator=1, lang="ru")
def test_speech_interpret_number_reads_whole_and_fraction_words(n: int, numerator: int, lang: str) -> None:
    # Given "шість цілих двісті п'ятдесят п'ять тисячних": the bookish form, with its agreement
    decimals = 1 if numerator < 10 else 2 if numerator < 100 else 3
    whole = plural(n, *(UK_WHOLE if lang == "uk" else RU_WHOLE))
    one, many = (UK_SCALES if lang == "uk" else RU_SCALES)[decimals]
    scale = one if numerator % 10 == 1 and numerator % 100 != 11 else many
    text = f"{words(n, lang, feminine=True)} {whole} {words(numerator, lang, feminine=True)} {scale}"
    # When it is interpreted
    heard = interpret_number(text)
    # Then it is the whole part plus the fraction
    assert heard.value == n + Decimal(numerator).scaleb(-decimals), (text, heard)


@QUICK
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=9), lang=st.sampled_from(["uk", "ru"]))
@example(digits="002352", lang="uk")
@example(digits="77777", lang="uk")
def test_speech_interpret_number_reads_digit_by_digit_dictation(digits: str, lang: str) -> None:
    # Given a reading dictated digit by digit, leading zeros of the dial included
    names = UK_DIGITS if lang == "uk" else RU_DIGITS
    text = " ".join(names[int(d)] for d in digits)
    # When it is interpreted
    heard = interpret_number(text)
    # Then the digits make the number
    assert heard.value == int(digits), (text, heard)


@QUICK
@given(n=st.integers(min_value=0, max_value=99_999_999), separator=st.sampled_from([" ", "\u00a0", "\u202f"]))
def test_speech_interpret_number_reads_figures_with_separators(n: int, separator: str) -> None:
    # Given a number as the recogniser writes it in figures, thousands apart
    text = f"{n:,}".replace(",", separator)
    # When it is interpreted
    heard = interpret_number(text)
    # Then it is that number, except a plain space after three digits ("201 202"), which may be two numbers
    if separator == " " and len(text.split(" ")[0]) == 3 and n >= 1000:
        assert heard.reason == Reason.AMBIGUOUS
    else:
        assert heard.value == n, (text, heard)


# ---- properties: what must never become a value ------------------------------------------------------------


@QUICK
@given(a=integers, b=integers, word=st.sampled_from(["або", "чи", "или"]))
def test_speech_interpret_number_refuses_alternatives(a: int, b: int, word: str) -> None:
    # Given two numbers offered as alternatives
    text = f"{words(a, 'uk')} {word} {words(b, 'uk')}"
    # When it is interpreted
    heard = interpret_number(text)
    # Then no value is taken
    assert (heard.value, heard.reason) == (None, Reason.TWO_NUMBERS)


@QUICK
@given(n=integers, lead=st.sampled_from(["мінус", "минус", "приблизно", "десь", "примерно", "мабуть"]))
def test_speech_interpret_number_refuses_negatives_and_estimates(n: int, lead: str) -> None:
    # Given a number with a minus or a hedge before it
    # When it is interpreted
    heard = interpret_number(f"{lead} {words(n, 'uk')}")
    # Then no value is taken, for the reason said
    assert heard.value is None
    assert heard.reason in (Reason.NEGATIVE, Reason.UNCERTAIN)


@QUICK
@given(a=st.integers(min_value=0, max_value=9_999), b=st.integers(min_value=0, max_value=9_999))
def test_speech_interpret_number_never_invents_a_value_from_two_numbers(a: int, b: int) -> None:
    # Given two numbers said one after the other, with nothing between them
    text = f"{words(a, 'uk')} {words(b, 'uk')}"
    # When it is interpreted
    heard = interpret_number(text)
    # Then the value, if any, is the dictated digits of both, the second (a restart), or the one number
    # those very words also say ("двісті п'ятдесят" + "один"): never an invented sum or a part
    if heard.value is not None and heard.value not in {int(f"{a}{b}"), b}:
        assert words(int(heard.value), "uk") == text, (text, heard)


def test_speech_import_is_light_and_defers_num2words() -> None:
    # Given a fresh interpreter, as a cold Lambda container
    code = "import sys, ekc.speech; print(sorted(m for m in ('num2words', 'decimal') if m in sys.modules))"
    # When the speech package is imported
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'common' / 'python'}"},
        capture_output=True,
        text=True,
        check=True,
    )
    # Then num2words is not loaded yet: only the first read-back pays for it
    assert out.stdout.strip() == "['decimal']"
