"""The voice line's number interpreter against tests/unit/data/transcripts.json: accuracy and wrong values.

A case is right when the interpreter gives exactly the expected value, or refuses where a refusal is
expected (any refusal; whether the reason code matches too is counted apart). A *wrong value* is a value
given where another value, or none, was expected: the dangerous error, which must stay at 0.

`python -m bench.speech` prints the figures; `python -m bench.speech --libraries` also scores the
libraries evaluated in docs/speech.md (words2num2, ovos-number-parser) when they are installed; they are
not project dependencies.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "unit" / "data" / "transcripts.json"

Reader = Callable[[str], "Decimal | None"]


def load_cases() -> list[dict[str, Any]]:
    """The transcript set: text, then `value` (a decimal string) or `refuse` (a reason code)."""
    return json.loads(CASES.read_text(encoding="utf-8"))


def score(
    read: Callable[[str], tuple[Decimal | None, str | None]], cases: list[dict[str, Any]]
) -> dict[str, Any]:
    """Accuracy, wrong values and reason agreement of one reader over some cases."""
    right = wrong = reasons = refusals = 0
    wrong_cases: list[str] = []
    for case in cases:
        value, reason = read(case["text"])
        if "value" in case:
            expected = Decimal(case["value"])
            if value is not None and value == expected:
                right += 1
            elif value is not None:
                wrong += 1
                wrong_cases.append(case["text"])
        else:
            refusals += 1
            if value is None:
                right += 1
                reasons += reason == case["refuse"]
            else:
                wrong += 1
                wrong_cases.append(case["text"])
    return {
        "cases": len(cases),
        "accuracy": round(right / len(cases), 4),
        "wrong_values": wrong,
        "reason_matches": f"{reasons}/{refusals}",
        "wrong_cases": wrong_cases,
    }


def _ours(text: str) -> tuple[Decimal | None, str | None]:
    from ekc.speech.numbers import interpret_number

    heard = interpret_number(text)
    return heard.value, heard.reason


# What ekc.speech builds on and the phone handler loads anyway: standard modules and the layer's shared
# Ukrainian (kinds, windows, callers); the difference is the speech package's own cost.
BASELINE = "import re, dataclasses, enum, decimal, unicodedata, functools, itertools, datetime, typing\n" + (
    "import ekc.channels.ukrainian, ekc.domain.kinds, ekc.domain.windows"
)


def import_seconds(rounds: int = 7) -> dict[str, float]:
    """Median seconds to import the speech package in a fresh interpreter, what it builds on, num2words."""
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common' / 'python'}", "PATH": "/usr/bin:/bin"}
    timer = "import time; t = time.perf_counter()\n{body}\nprint(time.perf_counter() - t)"

    def run(body: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", timer.format(body=body)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(out.stdout.strip())

    body = "import ekc.speech"
    run(body)  # writes the .pyc files, as a deployed layer has them
    speech, baseline, num2words = [], [], []
    for _ in range(rounds):  # alternating, so a busy machine slows all three alike
        speech.append(run(body))
        baseline.append(run(BASELINE))
        num2words.append(run("import num2words"))
    return {
        "speech_package": round(statistics.median(speech), 4),
        "what_it_builds_on": round(statistics.median(baseline), 4),
        "num2words_on_first_read_back": round(statistics.median(num2words), 4),
    }


def measure() -> dict[str, Any]:
    """The interpreter's figures on the whole set, and on the held-out part alone; printed and returned."""
    cases = load_cases()
    whole = score(_ours, cases)
    holdout = score(_ours, [c for c in cases if c.get("set") == "holdout"])
    results = {
        "cases": whole["cases"],
        "accuracy": whole["accuracy"],
        "wrong_values": whole["wrong_values"],
        "reason_matches": whole["reason_matches"],
        "holdout": {k: holdout[k] for k in ("cases", "accuracy", "wrong_values")},
        "import_seconds": import_seconds(),
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


# ---- the libraries evaluated (docs/speech.md) -------------------------------------------------------------


def _first(read: Callable[[str, str], Any], text: str) -> Any:
    """Ukrainian first, then Russian, as a caller may speak either."""
    for lang in ("uk", "ru"):
        try:
            found = read(text, lang)
        except Exception:  # noqa: S112 - each library signals "not a number" its own way
            continue
        if found is not None and found is not False:
            return found
    return None


def _as_decimal(found: Any) -> Decimal | None:
    if found is None or isinstance(found, bool):
        return None
    try:
        return Decimal(str(found).replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        return None


def _words2num2_strict(text: str) -> tuple[Decimal | None, str | None]:
    import words2num2

    return _as_decimal(_first(lambda t, lang: words2num2.words2num(t, lang=lang), text)), None


_FIGURES = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


def _words2num2_sentence(text: str) -> tuple[Decimal | None, str | None]:
    """words2num2's sentence mode in both languages: one number in the result, the same in both if both
    find one (so a Russian transcript half-read in Ukrainian mode is refused rather than misread)."""
    import words2num2

    found = set()
    for lang in ("uk", "ru"):
        try:
            numbers = _FIGURES.findall(words2num2.words2num_sentence(text, lang=lang))
        except Exception:  # noqa: S112
            continue
        if len(numbers) == 1:
            found.add(_as_decimal(numbers[0]))
    return (found.pop() if len(found) == 1 else None), None


def _ovos(text: str) -> tuple[Decimal | None, str | None]:
    import ovos_number_parser

    return _as_decimal(_first(lambda t, lang: ovos_number_parser.extract_number(t, lang=lang), text)), None


def libraries() -> dict[str, Any]:
    """Each evaluated library on the same set, through the thinnest fair adapter."""
    cases = load_cases()
    readers = {
        "words2num2.words2num (uk, then ru)": _words2num2_strict,
        "words2num2.words2num_sentence (one number in the result)": _words2num2_sentence,
        "ovos_number_parser.extract_number (uk, then ru)": _ovos,
    }
    results: dict[str, Any] = {}
    for name, read in readers.items():
        try:
            figures = score(read, cases)
        except ImportError as exc:
            results[name] = f"not installed: {exc.name}"
            continue
        figures.pop("reason_matches")
        figures["wrong_cases"] = figures["wrong_cases"][:8]
        results[name] = figures
    results["ours (ekc.speech.numbers)"] = {
        k: v for k, v in score(_ours, cases).items() if k != "wrong_cases"
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    if "--libraries" in sys.argv:
        libraries()
    else:
        measure()
