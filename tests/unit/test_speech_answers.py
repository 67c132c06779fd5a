"""Short spoken answers: yes or no, which meter, and "say it again"; anything unclear is None."""

from __future__ import annotations

import pytest

from ekc.domain.kinds import MeterKind
from ekc.speech.answers import interpret_choice, interpret_repeat, interpret_yes_no

ALL_KINDS = {1: MeterKind.GAS, 2: MeterKind.COLD_WATER, 3: MeterKind.HOT_WATER, 4: MeterKind.ELECTRICITY}


@pytest.mark.parametrize(
    "text",
    [
        "так",
        "Так.",
        "да",
        "ага",
        "угу",
        "вірно",
        "правильно",
        "так, правильно",
        "так-так",
        "Все вірно",
        "точно",
    ],
)
def test_speech_interpret_yes_no_hears_yes(text: str) -> None:
    # Given a caller confirming the value read back
    # When the answer is interpreted
    # Then it is yes
    assert interpret_yes_no(text) is True


@pytest.mark.parametrize(
    "text",
    ["ні", "Ні.", "нет", "не", "неправильно", "ні, не так", "не так", "не правильно", "ні-ні", "неа", "нєт",
     "ні, двісті два", "не то"],
)  # fmt: skip
def test_speech_interpret_yes_no_hears_no(text: str) -> None:
    # Given a caller rejecting the value read back
    # When the answer is interpreted
    # Then it is no
    assert interpret_yes_no(text) is False


@pytest.mark.parametrize(
    "text",
    ["", "ну", "алло", "так ні", "да нет", "не знаю", "мабуть так", "так... ой, ні", "не почула", "двісті"],
)
def test_speech_interpret_yes_no_is_none_when_unclear_or_contradictory(text: str) -> None:
    # Given silence, noise, a contradiction or a hedge
    # When the answer is interpreted
    # Then there is no answer, so the robot asks again instead of guessing
    assert interpret_yes_no(text) is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("газ", 1),
        ("Газ.", 1),
        ("лічильник газу", 1),
        ("холодна вода", 2),
        ("холодну воду", 2),
        ("холодная вода", 2),
        ("холодна", 2),
        ("гаряча вода", 3),
        ("гарячу", 3),
        ("горячая вода", 3),
        ("світло", 4),
        ("електрика", 4),
        ("електроенергія", 4),
        ("електроенергію", 4),
        ("свет", 4),
        ("электричество", 4),
        ("два", 2),
        ("другий", 2),
        ("другу", 2),
        ("номер три", 3),
        ("четвертий", 4),
        ("2", 2),
        ("газ, перший", 1),
        ("холодна вода, другий", 2),
    ],
)
def test_speech_interpret_choice_finds_the_key(text: str, key: int) -> None:
    # Given the four kinds offered under keys 1-4
    # When the caller names one by its kind or its key
    # Then that key is chosen
    assert interpret_choice(text, ALL_KINDS) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ну",
        "вода",
        "газ і світло",
        "один або два",
        "газ, третій",
        "п'ять",
        "тепло",
        "9",
        "холодна і гаряча",
    ],
)
def test_speech_interpret_choice_is_none_when_unclear(text: str) -> None:
    # Given the four kinds offered (no heat meter)
    # When the words name none, several, a key not offered, or a kind and a key that disagree
    # Then nothing is chosen
    assert interpret_choice(text, ALL_KINDS) is None


def test_speech_interpret_choice_takes_water_when_only_one_water_is_offered() -> None:
    # Given a gas meter and a hot-water meter
    options = {1: MeterKind.GAS, 2: MeterKind.HOT_WATER}
    # When the caller says only "вода"
    # Then the one water meter is chosen
    assert interpret_choice("вода", options) == 2


def test_speech_interpret_choice_heat() -> None:
    # Given a heat meter among the options
    options = {1: MeterKind.HEAT, 2: MeterKind.GAS}
    # When the caller names heat in one of its everyday words
    # Then the heat meter is chosen
    assert [interpret_choice(t, options) for t in ("тепло", "опалення", "отопление", "теплолічильник")] == [
        1
    ] * 4


def test_speech_interpret_choice_between_two_meters_of_one_kind() -> None:
    # Given two cold-water meters, told apart by their notes
    options = {1: "кухня", 2: "ванна кімната"}
    # When the caller names a place, or a key
    # Then the matching meter is chosen; the kind alone chooses nothing
    assert interpret_choice("на кухні", options) == 1
    assert interpret_choice("у ванній кімнаті", options) == 2
    assert interpret_choice("другий", options) == 2
    assert interpret_choice("холодна вода", options) is None
    assert interpret_choice("кухня, другий", options) is None


def test_speech_interpret_choice_two_meters_of_one_kind_by_kind_and_key() -> None:
    # Given two cold-water meters offered as kinds under keys 1 and 2
    options = {1: MeterKind.COLD_WATER, 2: MeterKind.COLD_WATER}
    # When the caller names the kind, or the kind and a key
    # Then the kind alone is ambiguous, and the key decides
    assert interpret_choice("холодна вода", options) is None
    assert interpret_choice("холодна вода, перша", options) == 1


@pytest.mark.parametrize(
    "text",
    ["повторіть", "Повторіть, будь ласка", "повтори", "ще раз", "Ще раз, будь ласка", "еще раз", "повторите",
     "не почув", "я не розчула", "не зрозумів", "що?", "шо"],
)  # fmt: skip
def test_speech_interpret_repeat_hears_the_request(text: str) -> None:
    # Given a caller who did not catch the prompt
    # When the transcript is read
    # Then it asks for a repeat
    assert interpret_repeat(text) is True


@pytest.mark.parametrize(
    "text", ["", "так", "двісті один", "ще раз двісті один", "раз", "що там двісті один", "газ", "ні"]
)
def test_speech_interpret_repeat_ignores_other_answers(text: str) -> None:
    # Given an answer, or a repeat request that carries the number itself
    # When the transcript is read
    # Then it is no repeat request: the number, if any, is the answer
    assert interpret_repeat(text) is False
