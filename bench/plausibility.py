"""The plausibility rule on the corpora: typos caught, genuine readings questioned, new rule against old.

`measure()` returns (and prints) the figures of the new rule (ekc.domain.plausibility, DEFAULT_RULE)
and of the old one (ekc.domain.values.assess: 10x a running mean), plus the old one at a flat 3x:
typos caught (questioned or refused) of all typos, genuine readings questioned of all genuine ones,
the same by typo effect and by kind, and what follows a typo confirmed by mistake.
`python -m bench.plausibility --tradeoff` also prints the trade-off table of docs/plausibility.md.
Counting, not timing: the figures are the same on every machine.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ekc.domain.plausibility import DEFAULT_RULE, Rule
from tests.unit.data.plausibility_corpus import CorpusMeter, fingerprint, generate
from tests.unit.data.plausibility_scoring import (
    EFFECTS,
    Replay,
    new_rule,
    old_rule,
    score,
    score_after_confirmed_typos,
)

RULES: dict[str, Callable[[CorpusMeter], Replay]] = {
    "new": new_rule(DEFAULT_RULE),
    "old": old_rule(10),
    "old_flat_3x": old_rule(3),
}

# Rows of the trade-off table: the factor, then each part of the rule taken away at factor 3.
TRADEOFF: dict[str, Callable[[CorpusMeter], Replay]] = {
    "old: 10x running mean (today)": old_rule(10),
    "old: 5x running mean": old_rule(5),
    "old: 3x running mean": old_rule(3),
    **{
        f"new, factor {f}": new_rule(replace(DEFAULT_RULE, factor=Decimal(f)))
        for f in ("2", "2.5", "3", "4", "5")
    },
    "new 3x, no seasons (flat shape)": new_rule(replace(DEFAULT_RULE, seasonal=False)),
    "new 3x, no same season last year": new_rule(replace(DEFAULT_RULE, last_year=False)),
    "new 3x, no recent months": new_rule(replace(DEFAULT_RULE, recent=0, raw_recent=False)),
    "new 3x, no plain recent use": new_rule(replace(DEFAULT_RULE, raw_recent=False)),
    "new 3x, no month-after-a-high": new_rule(replace(DEFAULT_RULE, next_after_high=False)),
    "new 3x, median of the year only": new_rule(
        Rule(seasonal=False, last_year=False, recent=0, raw_recent=False, next_after_high=False)
    ),
}


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def measure(tradeoff: bool = False) -> dict[str, Any]:
    """Score each rule on the corpora; print and return the figures (and the trade-off table)."""
    corpora = generate()
    results: dict[str, Any] = {"corpus": fingerprint(corpora)}
    for name, make in RULES.items():
        s = score(corpora, make)
        results[name] = s.figures()
        results[name]["typos_by_effect"] = {
            e: {
                "caught": s.by_effect[e]["questioned"] + s.by_effect[e]["refused"],
                "total": sum(s.by_effect[e].values()),
            }
            for e in EFFECTS
            if e in s.by_effect
        }
        results[name]["genuine_questioned_by_kind"] = {
            k: c["questioned"] + c["refused"] for k, c in sorted(s.genuine_by_kind.items())
        }
        results[name]["after_confirmed_typo"] = score_after_confirmed_typos(corpora, make).figures()
    if tradeoff:
        rows = {}
        for name, make in TRADEOFF.items():
            f = score(corpora, make).figures()
            rows[name] = f
        results["tradeoff"] = rows
    print(json.dumps(results, indent=2))
    if tradeoff:
        print(table(results["tradeoff"]))
    return results


def table(rows: dict[str, dict[str, Any]]) -> str:
    """The trade-off table as Markdown."""
    lines = [
        "| rule | typos caught | catchable typos caught | genuine questioned | of them Nov-Mar"
        " | rollovers recognised |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in rows.items():
        lines.append(
            f"| {name} | {f['typos_caught']}/{f['typos_total']}"
            f" ({_percent(f['typos_caught'], f['typos_total'])})"
            f" | {f['catchable_typos_caught']}/{f['catchable_typos_total']}"
            f" ({_percent(f['catchable_typos_caught'], f['catchable_typos_total'])})"
            f" | {f['genuine_questioned']}/{f['genuine_total']}"
            f" ({_percent(f['genuine_questioned'], f['genuine_total'])})"
            f" | {f['genuine_questioned_winter']}"
            f" | {f['genuine_rollovers_recognised']}/{f['genuine_rollovers_total']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    measure(tradeoff="--tradeoff" in sys.argv)
