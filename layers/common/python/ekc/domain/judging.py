"""A value against its meter: the consumption, the warnings it is saved with, or the question to ask.

The one place where the plausibility rules meet a meter's state; every door gets the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ekc.domain import plausibility
from ekc.domain.model import Meter
from ekc.domain.months import Month
from ekc.domain.plausibility import Code
from ekc.domain.values import Warning, WarningCode, maximum


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a value means for its meter in a billing month."""

    value: Decimal
    consumption: Decimal | None
    warnings: tuple[Warning, ...]
    codes: frozenset[Code]
    months: int  # how many billing months the reading covers
    # Set when the value must be confirmed first: a confirmation holds for this very value only.
    question: plausibility.Question | None = None

    @property
    def needs_confirmation(self) -> bool:
        """Whether nothing may be saved until the resident confirms this value."""
        return self.question is not None


def months_covered(meter: Meter, billing_month: Month) -> int:
    """How many billing months a reading for `billing_month` covers since the meter's baseline."""
    _, baseline_month = meter.baseline_for(billing_month)
    return 1 if baseline_month is None else max(1, billing_month.months_since(baseline_month))


def judge(meter: Meter, billing_month: Month, value: Decimal, *, confirmed: Decimal | None = None) -> Verdict:
    """The verdict on `value`; `confirmed` is the value the resident confirmed, if any."""
    previous, _ = meter.baseline_for(billing_month)
    months = months_covered(meter, billing_month)
    judgement = plausibility.judge_reading(
        previous,
        value,
        kind=meter.kind,
        digits=meter.digits,
        profile=meter.usage,
        billing_month=billing_month,
        months_since_previous=months,
    )
    codes = judgement.codes
    warnings: list[Warning] = []
    if Code.LOWER_THAN_PREVIOUS in codes and previous is not None:
        warnings.append(Warning(WarningCode.LOWER_THAN_PREVIOUS, {"value": value, "previous": previous}))
    if Code.ROLLOVER in codes and meter.digits is not None and judgement.consumption is not None:
        numbers = {"maximum": maximum(meter.digits), "consumption": judgement.consumption}
        warnings.append(Warning(WarningCode.ROLLOVER, numbers))
    if judgement.needs_confirmation:
        if confirmed is None or confirmed != value:
            return Verdict(value, judgement.consumption, tuple(warnings), codes, months, judgement.question)
        question = judgement.question
        if Code.IMPLAUSIBLE_HIGH in codes and judgement.consumption is not None:
            numbers = {"consumption": judgement.consumption}
            if question is not None and question.usual_monthly is not None:
                numbers["usual"] = question.usual_monthly * months
            warnings.append(Warning(WarningCode.CONFIRMED_HIGH, numbers))
        if Code.MORE_DIGITS_THAN_DIAL in codes and meter.digits is not None:
            warnings.append(Warning(WarningCode.CONFIRMED_DIGITS, {"digits": Decimal(meter.digits)}))
    return Verdict(value, judgement.consumption, tuple(warnings), codes, months)
