"""What residents read uses one apostrophe, U+2019 (’), in every door that writes: the cabinet, Viber.

The phone's words are spoken (the recogniser's and the voice's forms do not show), and the surname
check folds every form of apostrophe anyway (`accounts.surname_key`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ROOT / "layers" / "common" / "python" / "ekc" / "channels"
WRITTEN = [
    CHANNELS / "web.py",
    CHANNELS / "viber.py",
    CHANNELS / "viber_chat.py",
    CHANNELS / "ukrainian.py",
    *sorted((ROOT / "frontend").rglob("*.js")),
    *sorted((ROOT / "frontend").rglob("*.html")),
]
# An apostrophe inside a Ukrainian word that is not U+2019: ' (U+0027), ʼ (U+02BC), ` and ´.
OTHER_APOSTROPHE = re.compile(r"[а-щьюяєіїґ]['ʼ`´][а-щьюяєіїґ]", re.IGNORECASE)


@pytest.mark.parametrize("path", WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_apostrophes_in_written_words_are_typographic(path: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OTHER_APOSTROPHE.search(line)
    ]
    assert found == []
