"""Spoken meter readings: a recogniser's transcript (Ukrainian, Russian or a mix) to a Decimal, or a refusal.

A small explicit grammar, written for this job (docs/speech.md says why no library fits):

* words are compared by a *skeleton* (lower case, no apostrophes or soft signs, і/ї/ы -> и, є/э -> е,
  ґ -> г), so Ukrainian, Russian and the recogniser's spelling variants of one number word meet;
* a run of number words is read as one compound ("двісті один" = 201) while each word can continue it
  (hundreds, then tens or a teen, then a unit); a word that cannot continue it starts a new group, and
  groups are *dictation*, concatenated ("два нуль один" = 201, "шістдесят один шістнадцять" = 6116);
* dictation is accepted only in the shapes people use for long numbers (digit by digit, pairs, or one
  leading three-digit group followed by pairs, as phone numbers are read); anything else is refused as
  ambiguous, because a wrong value read back to a tired caller may be confirmed by mistake.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

MAX_INTEGER_DIGITS = 9
MAX_DECIMALS = 3


class Reason(StrEnum):
    """Why a transcript gives no reading; the voice line words each one for the caller."""

    EMPTY = "empty"  # nothing was recognised
    NO_NUMBER = "no_number"  # words, but no number among them
    NEGATIVE = "negative"  # "мінус ..."
    UNCERTAIN = "uncertain"  # "приблизно", "десь", "мабуть": the caller is estimating
    TWO_NUMBERS = "two_numbers"  # "двісті один або двісті два"
    CORRECTION = "correction"  # the caller took the number back ("двісті один, ні") and said no other
    AMBIGUOUS = "ambiguous"  # more than one plausible reading (or a part is missing)
    MALFORMED = "malformed"  # number words that make no number ("тисяча мільйонів")
    UNKNOWN_WORD = "unknown_word"  # a word inside or right after the number that we cannot place
    UNSUPPORTED = "unsupported"  # "півтори", "з половиною", ordinals, "мільярд"
    TOO_MANY_DECIMALS = "too_many_decimals"
    TOO_MANY_DIGITS = "too_many_digits"


@dataclass(frozen=True, slots=True)
class NumberHeard:
    """A reading understood from speech, or the reason there is none."""

    value: Decimal | None
    reason: Reason | None = None
    fraction_digits: int = 0  # decimals as said: "кома п'ятдесят" -> 2, so read-back can follow the caller
    detail: str = ""  # for logs: the word that could not be placed, if any

    @property
    def ok(self) -> bool:
        """True when a value was understood."""
        return self.value is not None


class _Refusal(Exception):
    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail


# ---- words -----------------------------------------------------------------------------------------------

_APOSTROPHES = dict.fromkeys(map(ord, "'’ʼ‘`´ʹ′ʻ"), None)
# One table: apostrophes and soft signs dropped, Ukrainian/Russian letters folded, and Latin look-alikes
# ("двi" typed with a Latin i) read as the Cyrillic letters they imitate.
_SKELETON = str.maketrans(
    {"і": "и", "ї": "и", "ы": "и", "є": "е", "э": "е", "ґ": "г", "ё": "е", "ь": None, "ъ": None}
    | dict(zip("aceiopxyk", "асеиорхук", strict=True))
    | _APOSTROPHES
)


def skeleton(word: str) -> str:
    """The spelling-neutral key of a word: 'п’ятдесят', 'пятдесят' and 'пятьдесят' all give 'пятдесят'."""
    return word.lower().translate(_SKELETON)


def normalise(transcript: str) -> str:
    """Lower case, composed Unicode, apostrophes dropped and "м³"/"м3" made a plain word."""
    text = unicodedata.normalize("NFC", transcript).lower().translate(_APOSTROPHES)
    text = text.replace("ё", "е").replace("³", "3")
    return _CUBIC.sub("м", text)


_CUBIC = re.compile(r"(?<![^\W\d_])м3(?![0-9])")
_WORD = re.compile(r"[^\W\d_]+")


def spoken_words(transcript: str) -> list[str]:
    """The skeletons of a transcript's words, digits and punctuation dropped (for the answer readers)."""
    return [skeleton(w) for w in _WORD.findall(normalise(transcript))]


# Token kinds.
NUM, DIGITS, SCALE, FRACSCALE = "num", "digits", "scale", "fracscale"
WHOLE, POINT, AND = "whole", "point", "and"
UNIT_INT, UNIT_LITRE, UNIT_OTHER = "unit_int", "unit_litre", "unit_other"
FILLER, MINUS, ALT, CORRECT, HEDGE = "filler", "minus", "alt", "correct", "hedge"
UNSUPPORTED, UNKNOWN, BOUND = "unsupported", "unknown", "bound"
# Classes of number words, in the order a compound takes them.
ZERO, UNIT, TEEN, TENS, HUNDREDS = "zero", "unit", "teen", "tens", "hundreds"


# Private records are NamedTuples: a dataclass costs ~1.5 ms of cold start each, a NamedTuple ~0.1 ms.
class _Meaning(NamedTuple):
    kind: str
    value: int = 0
    cls: str = ""


_VOCAB: dict[str, _Meaning] = {}


def _add(meaning: _Meaning, words: str) -> None:
    for word in words.split():
        key = skeleton(word)
        known = _VOCAB.setdefault(key, meaning)
        if known != meaning:  # two meanings on one skeleton would make the grammar guess
            raise RuntimeError(f"vocabulary clash on {word!r}: {known} vs {meaning}")


_NUMBER_WORDS: dict[tuple[int, str], str] = {
    (0, ZERO): "нуль ноль нуля ноля нулю нолю нулем нолем нулі нулів нолей нулик нолик",
    (1, UNIT): "один одна одне одно одного одної одной одному одній одним одною одну однієї одном",
    (2, UNIT): "два дві две двох двух двом двум двома двумя",
    (3, UNIT): "три трьох трех трьом трем трьома тремя",
    (4, UNIT): "чотири четыре чотирьох четырех чотирьом четырем чотирма четырьмя",
    (5, UNIT): "п'ять п'яти п'ятьох п'ятьом п'ятьма п'ятьома пятью",
    (6, UNIT): "шість шести шістьох шістьом шістьма шесть шестью",
    (7, UNIT): "сім семи сімох сімом семь семью",
    (8, UNIT): "вісім восьми вісьмох вісьмом вісьма восемь восьмью восемью",
    (9, UNIT): "дев'ять дев'яти дев'ятьох дев'ятьом дев'ятьма девятью",
    (10, TEEN): "десять десяти десятьох десятьом десятьма десятью",
    (11, TEEN): "одинадцять одинадцяти одиннадцать одиннадцати",
    (12, TEEN): "дванадцять дванадцяти двенадцать двенадцати",
    (13, TEEN): "тринадцять тринадцяти тринадцать тринадцати",
    (14, TEEN): "чотирнадцять чотирнадцяти четырнадцать четырнадцати",
    (15, TEEN): "п'ятнадцять п'ятнадцяти пятнадцать пятнадцати",
    (16, TEEN): "шістнадцять шістнадцяти шестнадцать шестнадцати",
    (17, TEEN): "сімнадцять сімнадцяти семнадцать семнадцати",
    (18, TEEN): "вісімнадцять вісімнадцяти восемнадцать восемнадцати",
    (19, TEEN): "дев'ятнадцять дев'ятнадцяти девятнадцать девятнадцати",
    (20, TENS): "двадцять двадцяти двадцятьох двадцать двадцати",
    (30, TENS): "тридцять тридцяти тридцать тридцати",
    (40, TENS): "сорок сорока",
    # "пісят", "шісят": how a recogniser spells the clipped colloquial forms.
    (50, TENS): "п'ятдесят п'ятдесяти пятьдесят пятидесяти пісят писят",
    (60, TENS): "шістдесят шістдесяти шіздесят шісдесят шестьдесят шестидесяти шісят шисят",
    (70, TENS): "сімдесят сімдесяти семьдесят семидесяти",
    (80, TENS): "вісімдесят вісімдесяти восемьдесят восьмидесяти",
    (90, TENS): "дев'яносто дев'яноста",
    (100, HUNDREDS): "сто ста",
    (200, HUNDREDS): "двісті двохсот двомстам двомастами двохстах двести двухсот двумстам двухстах",
    (300, HUNDREDS): "триста трьохсот трьомстам трьомастами трьохстах трехсот тремстам трехстах",
    (400, HUNDREDS): "чотириста чотирьохсот чотирьомстам четыреста четырехсот четыремстам",
    (500, HUNDREDS): "п'ятсот п'ятисот п'ятистам п'ятьмастами пятьсот пятьюстами",
    (600, HUNDREDS): "шістсот шестисот шістьохсот шестистам шестьсот",
    (700, HUNDREDS): "сімсот семисот сімохсот семистам семьсот",
    (800, HUNDREDS): "вісімсот восьмисот вісьмохсот восьмистам восемьсот",
    (900, HUNDREDS): "дев'ятсот дев'ятисот девятьсот девятистам",
}
for (_value, _cls), _words in _NUMBER_WORDS.items():
    _add(_Meaning(NUM, _value, _cls), _words)

_add(
    _Meaning(SCALE, 1000),
    "тисяча тисячі тисяч тисячу тисячею тисячам тисячами тисячах тысяча тысячи тысяч тысячу тысячей "
    "тысячью тыща тыщи тыщ тыщу тища тищі тищ тис тыс",
)
_add(
    _Meaning(SCALE, 10**6),
    "мільйон мільйона мільйони мільйонів мільйоном мільйонам миллион миллиона миллионы миллионов миллионом",
)
# Fraction scales; the value is the number of decimals they stand for.
# "десяті" (2/10) is spelled like "десяти" (of ten) once skeletonised; the number wins, "десятих" is the norm.
_add(_Meaning(FRACSCALE, 1), "десята десятих десятої десятою десятая десятые десятой")
_add(_Meaning(FRACSCALE, 2), "сота соті сотих сотої сотою сотая сотые сотой")
_add(_Meaning(FRACSCALE, 3), "тисячна тисячні тисячних тисячної тысячная тысячные тысячной")
_add(_Meaning(FRACSCALE, 4), "десятитисячна десятитисячних десятитысячных десятитысячная")
_add(_Meaning(FRACSCALE, 5), "стотисячна стотисячних стотысячных")
_add(_Meaning(FRACSCALE, 6), "мільйонна мільйонних миллионная миллионных")
_add(_Meaning(WHOLE), "ціла цілі цілих цілої ціле цілою целая целые целых целой целое целую")
_add(_Meaning(POINT), "кома коми комою крапка крапки точка точки запятая запятой запятую")
_add(_Meaning(AND), "і й та")
_add(_Meaning(MINUS), "мінус мінуса минус")
_add(_Meaning(ALT), "або чи или либо альбо")
# A self-correction: the number after the last of these is the one meant.
_add(
    _Meaning(CORRECT),
    "ні нет ніт неа ой тобто точніше вірніше вернее точнее вибачте вибач пробачте перепрошую извините "
    "извини пардон стоп помилився помилилася ошибся ошиблась",
)
# The caller is estimating or bounding, not reading the dial.
_add(
    _Meaning(HEDGE),
    "приблизно приблизительно примерно десь около близько біля майже почти мабуть наверное наверно "
    "напевно напевне здається кажется може можливо может возможно знаю пам'ятаю помню більше больше "
    "менше меньше понад трохи чуть плюс гаком",
)
# "до двохсот", "від ...": a bound, not a reading; but "до побачення" after the number is only goodbye.
_add(_Meaning(BOUND), "до від")
# Number words outside the grammar: never guessed at, whatever surrounds them.
_add(
    _Meaning(UNSUPPORTED),
    "пів півтора півтори половина половини половиною половинкою половинка полтора полторы четверть чверть "
    "третина сотня сотні сотню десяток десятка дюжина мільярд мільярда мільярдів миллиард миллиарда "
    "миллиардов трильйон триллион раз перший перша перше першого першій першому первый первая первого "
    "другий друга другого второй вторая второго третій третя третього третий третья третьего",
)
_add(
    _Meaning(UNIT_INT),
    "куб куба куби кубів кубы кубов кубик кубика кубики кубиків кубиков кубометр кубометра кубометри "
    "кубометрів кубометров кубометры кубометру кубічний кубічного кубічні кубічних кубічному кубический "
    "кубического кубические кубических метр метра метри метрів метров метры м",
)
_add(_Meaning(UNIT_LITRE), "літр літра літри літрів литр литра литры литров")
_add(
    _Meaning(UNIT_OTHER),
    "кіловат кіловата кіловати кіловатів кіловатт киловатт киловатта киловатты киловаттов ват вата ватт "
    "ватта година години годин годину год час часа часов квт квтч квтг гкал гігакалорія гігакалорії "
    "гігакалорій гигакалория гигакалории гигакалорий калорій калорий",
)
_add(
    _Meaning(FILLER),
    "ну е ее еее ееее ем мм ммм мммм хм гм а аа ааа о от ось вот так да ага угу значить значит типу типа "
    "короче це то это есть показник показники показника показання показания показание показаний показує "
    "показывает лічильник лічильника лічильнику счетчик счетчика счетчике мій моя мої моє мого мой мои "
    "моего у в на мене меня нас мы ми я зараз сейчас щас там тут будь ласка пожалуйста будьласка дякую "
    "спасибі спасибо все усе добре хорошо отже итак значення число цифри цифры такий такой такі такие "
    "правильно вірно верно точно стоїть стоит записуйте записывайте пишіть пишите кажу говорю скажу "
    "вийшло получилось вышло було было буде будет слухайте слушайте дивіться смотрите побачення свидания",
)
# Words a caller says before a reading: greetings, waiting, the meter's kind. They must be known, not just
# ignored, because an unknown word right next to the number may be a misheard number word ("тиша двісті").
_add(
    _Meaning(FILLER),
    "добрий доброго добрый день дня вечір вечора вечер ранок ранку утро здрастуйте здравствуйте вітаю привіт "
    "алло слухаю зачекайте подождите секунду секундочку хвилинку хвилиночку минутку подивлюся подивлюсь "
    "газ газу газа газовий газового газовому газовый вода воду води водою воды водой холодна холодну "
    "холодної холодний холодного холодная холодную холодной гаряча гарячу гарячої гарячий гарячого горячая "
    "горячую горячей світло світла свет света електрика електрики електроенергія електроенергії "
    "электроэнергия электричество тепло тепла опалення отопление",
)
# Two-word phrases that mean something their words alone do not.
_PHRASES: dict[tuple[str, str], str] = {
    (skeleton("где"), skeleton("то")): HEDGE,
    (skeleton("то"), skeleton("есть")): CORRECT,
    (skeleton("не"), skeleton("так")): CORRECT,
    (skeleton("плюс"), skeleton("мінус")): HEDGE,
    (skeleton("плюс"), skeleton("минус")): HEDGE,
}

NUMBERISH = frozenset({NUM, DIGITS, SCALE, FRACSCALE})
_CORE = NUMBERISH | {WHOLE, POINT, UNIT_LITRE}

# ---- tokens ----------------------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str
    text: str  # the skeleton of a word, or the digits of a figure
    value: int = 0
    cls: str = ""


_SCAN = re.compile(
    # Figures with thousands separators: "6 116", "1 234 567" (a no-break space is the recogniser's own).
    r"(?<![0-9])(?P<grouped>[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+)(?![0-9])(?P<gfrac>[.,][0-9]+)?"
    r"|(?P<plain>[0-9]+)(?P<pfrac>[.,][0-9]+)?"
    r"|(?P<word>[^\W\d_]+)"
)
_MINUS_SIGN = re.compile(r"(?<![^\W_])[-−–][0-9]")  # attached: a spaced dash is the recogniser's punctuation
_TWO_SEPARATORS = re.compile(r"[0-9][.,][0-9]+[.,][0-9]")
_HYPHEN_SUFFIX = re.compile(r"[0-9][-‐][^\W\d_]")  # "201-й", "2-х": an ordinal or a case, not a reading


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _SCAN.finditer(text):
        if match["word"]:
            key = skeleton(match["word"])
            meaning = _VOCAB.get(key)
            if meaning is None:
                tokens.append(_Token(UNKNOWN, key))
            else:
                tokens.append(_Token(meaning.kind, key, meaning.value, meaning.cls))
            continue
        if match["grouped"]:
            first = re.match(r"[0-9]+", match["grouped"])[0]
            # "201 202" with a plain space may be two numbers said one after the other; a no-break
            # space is the recogniser's own thousands separator.
            if len(first) == 3 and match["grouped"][3] == " ":
                raise _Refusal(Reason.AMBIGUOUS, match["grouped"])
            digits = re.sub(r"[^0-9]", "", match["grouped"])
            fraction = match["gfrac"]
        else:
            digits, fraction = match["plain"], match["pfrac"]
        tokens.append(_Token(DIGITS, digits))
        if fraction:
            tokens += [_Token(POINT, fraction[0]), _Token(DIGITS, fraction[1:])]
    return _phrases(tokens)


def _phrases(tokens: list[_Token]) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        pair = (tokens[i].text, tokens[i + 1].text) if i + 1 < len(tokens) else None
        if pair in _PHRASES:
            out.append(_Token(_PHRASES[pair], " ".join(pair)))
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


# ---- the grammar -----------------------------------------------------------------------------------------


class _Group(NamedTuple):
    digits: str  # as said: "0", "21", "105", or a figure's digits with its leading zeros


def _groups(tokens: list[_Token]) -> list[_Group]:
    """Number words to compounds, greedily: each word joins the current compound while it can."""
    groups: list[_Group] = []
    parts: dict[str, int] = {}

    def close() -> None:
        if parts:
            groups.append(_Group("0" if ZERO in parts else str(sum(parts.values()))))
            parts.clear()

    for token in tokens:
        if token.kind == DIGITS:
            close()
            groups.append(_Group(token.text))
            continue
        if not _continues(parts, token.cls):
            close()
        parts[token.cls] = token.value
    close()
    return groups


def _continues(parts: dict[str, int], cls: str) -> bool:
    if not parts:
        return True
    if cls in (ZERO, HUNDREDS) or ZERO in parts:
        return False
    if cls in (TEEN, TENS):
        return not parts.keys() & {TEEN, TENS, UNIT}
    return not parts.keys() & {TEEN, UNIT}  # a unit


def _drop_restarts(tokens: list[_Token]) -> list[_Token]:
    """A caller who started again ("двісті... двісті один", "двісті один, двісті один"): keep the last.

    Only when the repeated part holds a hundreds or scale word, which dictation never repeats
    ("два два" is 22, "двадцять один двадцять один" is refused elsewhere as repeat-or-2121).
    """
    while True:
        for k in range(1, len(tokens) // 2 + 1):
            head, following = tokens[:k], tokens[k : 2 * k]
            if [t.text for t in head] == [t.text for t in following] and any(map(_restartable, head)):
                tokens = tokens[k:]
                break
        else:
            return tokens


def _restartable(token: _Token) -> bool:
    return token.kind == SCALE or token.cls == HUNDREDS or (token.kind == DIGITS and len(token.text) >= 3)


def _concatenate(groups: list[_Group]) -> str:
    """Dictated groups to one digit string, in the shapes people dictate long numbers; else refuse."""
    widths = [len(g.digits) for g in groups]
    if all(w == 1 for w in widths):
        return "".join(g.digits for g in groups)
    if any(w > 3 for w in widths):
        raise _Refusal(Reason.AMBIGUOUS)  # "6116 255": a number and its litres, or two numbers
    half = len(groups) // 2
    if len(groups) % 2 == 0 and groups[:half] == groups[half:]:
        raise _Refusal(Reason.AMBIGUOUS)  # "двадцять один двадцять один": 2121, or 21 said twice
    # A three-digit group only leads, followed by pairs (067 123 45 67); "шість двісті п'ятдесят п'ять"
    # may be 6255 or 6.255, and "двісті один двісті два" two numbers.
    if 3 in widths and (widths[0] != 3 or any(w != 2 for w in widths[1:])):
        raise _Refusal(Reason.AMBIGUOUS)
    return "".join(g.digits for g in groups)


def _compound(tokens: list[_Token]) -> int:
    """The multiplier before a scale word or the rest after it: one compound below 1000."""
    groups = _groups(tokens)
    if len(groups) != 1:
        raise _Refusal(Reason.AMBIGUOUS)
    digits = groups[0].digits
    if len(digits) > 3:
        raise _Refusal(Reason.MALFORMED, digits)  # "2 тисячі 2352"
    if digits.startswith("0"):
        raise _Refusal(Reason.AMBIGUOUS, digits)  # "тисяча нуль": 1000, or 10000 dictated
    return int(digits)


def _with_scales(tokens: list[_Token]) -> str:
    total, last_scale, current = 0, None, []
    for token in tokens:
        if token.kind != SCALE:
            current.append(token)
            continue
        if last_scale is not None and token.value >= last_scale:
            raise _Refusal(Reason.MALFORMED, token.text)  # "тисяча мільйонів", "тисяча тисяч"
        multiplier = _compound(current) if current else 1
        if multiplier == 0:
            raise _Refusal(Reason.MALFORMED, token.text)
        total += multiplier * token.value
        last_scale, current = token.value, []
    if current:
        total += _compound(current)
    return str(total)


def _integer(tokens: list[_Token], *, dictation: bool = True) -> str:
    """Number words and figures to the digit string they say, leading zeros kept."""
    for token in tokens:
        if token.kind not in (NUM, DIGITS, SCALE):
            raise _Refusal(Reason.AMBIGUOUS, token.text)
    tokens = _drop_restarts(tokens)
    if any(t.kind == SCALE for t in tokens):
        return _with_scales(tokens)
    groups = _groups(tokens)
    if len(groups) == 1:
        return groups[0].digits
    if not dictation:
        raise _Refusal(Reason.AMBIGUOUS)
    return _concatenate(groups)


def _scaled(tokens: list[_Token], decimals: int) -> str:
    """'двісті п'ятдесят п'ять' before 'тисячних' (or 'літрів', 3) to the fraction digits '255'."""
    if decimals > MAX_DECIMALS:
        raise _Refusal(Reason.TOO_MANY_DECIMALS)
    if not tokens:
        raise _Refusal(Reason.AMBIGUOUS)
    numerator = int(_integer(tokens, dictation=False))
    if numerator >= 10**decimals:
        raise _Refusal(Reason.MALFORMED)  # "двадцять десятих", "тисяча літрів"
    return str(numerator).zfill(decimals)


def _merge_units(span: list[_Token]) -> list[_Token]:
    """'кубічних метрів', 'кіловат годин': consecutive unit words are one marker."""
    out: list[_Token] = []
    for token in span:
        if out and token.kind in (UNIT_INT, UNIT_OTHER) and out[-1].kind in (UNIT_INT, UNIT_OTHER):
            if token.kind != out[-1].kind:
                raise _Refusal(Reason.AMBIGUOUS, token.text)
            continue
        out.append(token)
    return out


def _parse(span: list[_Token]) -> tuple[str, str]:
    """The core of the utterance to (integer digits, fraction digits)."""
    span = _merge_units(span)
    markers = [i for i, t in enumerate(span) if t.kind in (POINT, WHOLE, UNIT_INT, UNIT_OTHER)]
    if len(markers) > 1:
        raise _Refusal(Reason.AMBIGUOUS)
    if not markers:
        if any(t.kind == AND for t in span):
            raise _Refusal(Reason.AMBIGUOUS)  # "двісті один і п'ять": 201.5, 206, or two numbers
        last = span[-1]
        if last.kind == FRACSCALE:  # "п'ять десятих"
            return "0", _scaled(span[:-1], last.value)
        if last.kind == UNIT_LITRE:
            raise _Refusal(Reason.AMBIGUOUS)  # litres with no cubic metres before them
        return _integer(span), ""
    m = markers[0]
    marker, integer_part, fraction_part = span[m], span[:m], span[m + 1 :]
    if marker.kind == UNIT_OTHER:
        raise _Refusal(Reason.AMBIGUOUS, marker.text)  # "сто кіловат двадцять"
    if fraction_part and fraction_part[0].kind == AND and marker.kind in (WHOLE, UNIT_INT):
        fraction_part = fraction_part[1:]  # "шість цілих і п'ять десятих", "шість кубів і п'ять літрів"
    if not integer_part or not fraction_part:
        raise _Refusal(Reason.AMBIGUOUS)  # "кома п'ять", "шість кома": a part is missing
    if any(t.kind == AND for t in integer_part + fraction_part):
        raise _Refusal(Reason.AMBIGUOUS)
    integer = _integer(integer_part)
    last = fraction_part[-1]
    if last.kind == FRACSCALE:
        if marker.kind != WHOLE:
            raise _Refusal(Reason.AMBIGUOUS)  # "шість кома п'ять десятих"
        return integer, _scaled(fraction_part[:-1], last.value)
    if last.kind == UNIT_LITRE:
        if marker.kind != UNIT_INT:
            raise _Refusal(Reason.AMBIGUOUS)
        return integer, _scaled(fraction_part[:-1], 3)
    fraction = _integer(fraction_part)
    if len(fraction) > MAX_DECIMALS:
        raise _Refusal(Reason.TOO_MANY_DECIMALS)
    # "шість кубів двісті п'ятдесят п'ять" is litres; "шість кубів п'ять" may be 6.5 or 6.005.
    if marker.kind == UNIT_INT and len(fraction) != 3:
        raise _Refusal(Reason.AMBIGUOUS)
    return integer, fraction


def _bounds(tokens: list[_Token]) -> list[_Token]:
    """'до двохсот' is an estimate; a 'до' or 'від' with no number after it is a filler."""
    out = []
    for i, token in enumerate(tokens):
        if token.kind == BOUND:
            following = next((t for t in tokens[i + 1 :] if t.kind != FILLER), None)
            if following is not None and following.kind in NUMBERISH:
                raise _Refusal(Reason.UNCERTAIN, token.text)
            token = token._replace(kind=FILLER)
        out.append(token)
    return out


def _after_correction(tokens: list[_Token]) -> list[_Token]:
    """'двісті один, ні, двісті два': what follows the last correction word is what the caller means."""
    marks = [i for i, t in enumerate(tokens) if t.kind == CORRECT]
    if not marks:
        return tokens
    last_number = max(i for i, t in enumerate(tokens) if t.kind in NUMBERISH)
    if marks[-1] > last_number:
        raise _Refusal(Reason.CORRECTION, tokens[marks[-1]].text)  # "двісті один, ні": nothing after
    return tokens[marks[-1] + 1 :]


def _core(tokens: list[_Token]) -> list[_Token]:
    """The words from the first number word to the last, fillers dropped; unknown words there are refused."""
    core = [i for i, t in enumerate(tokens) if t.kind in _CORE]
    first, last = core[0], core[-1]
    # The nearest word on each side must be known: "тиша двісті" may be "тисяча двісті" misheard,
    # "двісті пядесят" may be 250. Words further out cannot change the number and are ignored.
    for neighbours in (tokens[last + 1 :], reversed(tokens[:first])):
        for token in neighbours:
            if token.kind == UNKNOWN:
                raise _Refusal(Reason.UNKNOWN_WORD, token.text)
            if token.kind != FILLER:
                break
    span = []
    for token in tokens[first : last + 1]:
        if token.kind == UNKNOWN:
            raise _Refusal(Reason.UNKNOWN_WORD, token.text)
        if token.kind != FILLER:
            span.append(token)
    return span


_REFUSED_ANYWHERE = ((UNSUPPORTED, Reason.UNSUPPORTED), (MINUS, Reason.NEGATIVE), (HEDGE, Reason.UNCERTAIN))


def _interpret(transcript: str) -> tuple[Decimal, int]:
    text = normalise(transcript)
    if not text.strip():
        raise _Refusal(Reason.EMPTY)
    if _MINUS_SIGN.search(text):
        raise _Refusal(Reason.NEGATIVE)
    if _HYPHEN_SUFFIX.search(text):
        raise _Refusal(Reason.UNSUPPORTED)
    if _TWO_SEPARATORS.search(text):
        raise _Refusal(Reason.AMBIGUOUS)  # "6.116.255"
    tokens = _tokenise(text)
    if not any(t.kind in NUMBERISH for t in tokens):
        # "мільярд", "півтори" alone are numbers we do not take; "ще раз" is no number at all.
        unsupported = next((t for t in tokens if t.kind == UNSUPPORTED and t.text != "раз"), None)
        if unsupported is not None:
            raise _Refusal(Reason.UNSUPPORTED, unsupported.text)
        raise _Refusal(Reason.NO_NUMBER)
    for kind, reason in _REFUSED_ANYWHERE:
        found = next((t for t in tokens if t.kind == kind), None)
        if found is not None:
            raise _Refusal(reason, found.text)
    tokens = _bounds(tokens)
    tokens = _after_correction(tokens)
    for i, token in enumerate(tokens):
        before = any(t.kind in NUMBERISH for t in tokens[:i])
        after = any(t.kind in NUMBERISH for t in tokens[i + 1 :])
        if token.kind == ALT and before and after:
            raise _Refusal(Reason.TWO_NUMBERS, token.text)
    integer, fraction = _parse(_core(tokens))
    integer = integer.lstrip("0") or "0"
    if len(integer) > MAX_INTEGER_DIGITS:
        raise _Refusal(Reason.TOO_MANY_DIGITS, integer)
    return Decimal(f"{integer}.{fraction}" if fraction else integer), len(fraction)


def interpret_number(transcript: str) -> NumberHeard:
    """A reading from a speech transcript, or a refusal with its reason: never a guess."""
    try:
        value, fraction_digits = _interpret(transcript)
    except _Refusal as refusal:
        return NumberHeard(None, refusal.reason, detail=refusal.detail)
    return NumberHeard(value, None, fraction_digits)
