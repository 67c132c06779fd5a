"""Short answers from a transcript: yes or no, which meter, "say it again". Unclear is None, not a guess."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

from ekc.domain.kinds import MeterKind
from ekc.speech.numbers import interpret_number, skeleton, spoken_words


def _keys(words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words.split())


_YES = _keys(
    "так да ага угу вірно правильно точно авжеж звісно звичайно конечно верно добре ок окей згоден згодна "
    "согласен согласна підтверджую подтверждаю саме"
)
_NO = _keys("ні нет ніт неа неправильно невірно неверно помилка ошибка відміна отмена скасувати")
_NOT = skeleton("не")
# After "не", these make "I don't know / didn't hear": no answer at all.
_UNSURE_AFTER_NOT = _keys(
    "знаю пам'ятаю помню чув почув розчув чула почула слышал слышала зрозумів зрозуміла понял поняла"
)
_HEDGES = _keys("мабуть напевно наверное наверно може можливо может возможно здається кажется")


def interpret_yes_no(transcript: str) -> bool | None:
    """'так', 'ага', 'правильно' -> True; 'ні', 'нет', 'не так' -> False; unclear or both -> None."""
    words = spoken_words(transcript)
    answers: set[bool] = set()
    i = 0
    while i < len(words):
        word = words[i]
        if word in _HEDGES:
            return None  # "мабуть так": the caller is not sure, so neither answer is safe
        if word == _NOT:
            following = words[i + 1] if i + 1 < len(words) else ""
            if following in _UNSURE_AFTER_NOT:
                return None
            answers.add(False)  # "не так", "не правильно", "не те", or a bare "не"
            i += 2 if following in _YES else 1
            continue
        if word in _YES:
            answers.add(True)
        elif word in _NO:
            answers.add(False)
        i += 1
    return answers.pop() if len(answers) == 1 else None


# How callers name each kind (every form a recogniser may write, Ukrainian and Russian).
_GAS = _keys("газ газу газа газом газовий газового газовому газовый газового газовом газовий")
_COLD = _keys(
    "холодна холодну холодної холодною холодний холодного холодная холодную холодной холодный холодного"
)
_HOT = _keys("гаряча гарячу гарячої гарячою гарячий гарячого горячая горячую горячей горячий горячего")
_WATER = _keys("вода воду води водою воды водой водичка водопровід водомір водомер")
_ELECTRICITY = _keys("світло світла світлом свет света светом електрика електрику електрики електрикою")
_HEAT = _keys("тепло тепла теплом опалення опалювання отопление отопления теплова тепловий тепловой")
_ELECTRIC_STEMS = (skeleton("електр"), skeleton("электр"))
_HEAT_STEMS = (skeleton("теплолічил"), skeleton("теплосчетч"), skeleton("гігакалор"), skeleton("гигакалор"))
# Spoken key numbers: cardinals and ordinals ("другий", "на другу"), Ukrainian and Russian.
_KEY_WORDS: dict[int, frozenset[str]] = {
    1: _keys("один одна одну перший перша першу першого перше первый первая первую первого"),
    2: _keys("два дві две другий друга другу другого друге второй вторая вторую второго"),
    3: _keys("три третій третя третю третього третє третий третья третью третьего"),
    4: _keys("чотири четыре четвертий четверта четверту четвертого четвертый четвертая четвертую"),
    5: _keys("п'ять пять п'ятий п'ята п'яту п'ятого пятый пятая пятую"),
    6: _keys("шість шесть шостий шоста шосту шостого шестой шестая шестую"),
    7: _keys("сім семь сьомий сьома сьому сьомого седьмой седьмая седьмую"),
    8: _keys("вісім восемь восьмий восьма восьму восьмого восьмой восьмая восьмую"),
    9: _keys("дев'ять девять дев'ятий дев'ята дев'яту девятый девятая девятую"),
}
_KIND_OF_KEY_WORD = {word: key for key, words in _KEY_WORDS.items() for word in words}


_FIGURE = re.compile(r"[0-9]+")


def _kinds_named(words: list[str]) -> set[MeterKind]:
    kinds: set[MeterKind] = set()
    cold, hot = any(w in _COLD for w in words), any(w in _HOT for w in words)
    if cold:
        kinds.add(MeterKind.COLD_WATER)
    if hot:
        kinds.add(MeterKind.HOT_WATER)
    if not (cold or hot) and any(w in _WATER for w in words):
        kinds |= {MeterKind.COLD_WATER, MeterKind.HOT_WATER}  # "вода": whichever water the caller has
    if any(w in _GAS for w in words):
        kinds.add(MeterKind.GAS)
    if any(w in _ELECTRICITY or w.startswith(_ELECTRIC_STEMS) for w in words):
        kinds.add(MeterKind.ELECTRICITY)
    if any(w in _HEAT or w.startswith(_HEAT_STEMS) for w in words):
        kinds.add(MeterKind.HEAT)
    return kinds


def _label_matches(label: str, words: list[str]) -> bool:
    """A meter's note ('кухня') matches its inflected forms ('на кухні'): every word by its stem."""
    stems = [skeleton(w)[: max(3, len(skeleton(w)) - 2)] for w in label.split()]
    return bool(stems) and all(any(w.startswith(stem) for w in words) for stem in stems)


def interpret_choice(transcript: str, options: Mapping[int, MeterKind | str]) -> int | None:
    """The key of the option the caller named, by kind ('холодна вода'), note or key ('два', 'другий').

    `options` maps each key the caller may press to a MeterKind or, for two meters of one kind, a label
    such as the meter's note ("кухня"). None when nothing matches or the words point to more than one.
    """
    words = spoken_words(transcript)
    keys_said = {_KIND_OF_KEY_WORD[w] for w in words if w in _KIND_OF_KEY_WORD}
    keys_said |= {int(f) for f in _FIGURE.findall(transcript)}
    kinds_said = _kinds_named(words)
    by_name = {
        key
        for key, option in options.items()
        if (isinstance(option, MeterKind) and option in kinds_said)
        or (not isinstance(option, MeterKind) and _label_matches(option, words))
    }
    by_key = keys_said & set(options)
    if len(keys_said) > 1 or (keys_said and not by_key):
        return None  # "один або два", or a key that is not offered
    if by_key and (kinds_said or by_name) and not by_key <= by_name:
        return None  # "газ, третій" where the third is water: the words disagree
    chosen = by_key or by_name
    return next(iter(chosen)) if len(chosen) == 1 else None


_REPEAT_STEMS = (skeleton("повтор"),)
_AGAIN = (_keys("ще еще ещё"), _keys("раз"))
_DID_NOT = _keys(
    "чув почув розчув чула почула розчула розібрав розібрала зрозумів зрозуміла понял поняла расслышал "
    "расслышала"
)
_WHAT = _keys("що шо что га як чого")


def interpret_repeat(transcript: str) -> bool:
    """'повторіть', 'ще раз', 'не почув', a lone 'що?': the caller asks to hear the prompt again.

    False when the transcript also holds a number ("ще раз: двісті один"): that is the answer itself.
    """
    words = spoken_words(transcript)
    if not words or interpret_number(transcript).reason not in ("no_number", "empty"):
        return False
    if any(w.startswith(_REPEAT_STEMS) for w in words):
        return True
    pairs = list(itertools.pairwise(words))
    if any(a in _AGAIN[0] and b in _AGAIN[1] for a, b in pairs):
        return True
    if any(a == _NOT and b in _DID_NOT for a, b in pairs):
        return True
    return len(words) == 1 and words[0] in _WHAT
