"""The voice line's language: spoken numbers and answers in, Ukrainian words out (docs/speech.md)."""

from ekc.speech.answers import interpret_choice, interpret_repeat, interpret_yes_no
from ekc.speech.numbers import NumberHeard, Reason, interpret_number
from ekc.speech.readback import say_date, say_datetime, say_digits, say_number, say_quantity, say_time

__all__ = [
    "NumberHeard",
    "Reason",
    "interpret_choice",
    "interpret_number",
    "interpret_repeat",
    "interpret_yes_no",
    "say_date",
    "say_datetime",
    "say_digits",
    "say_number",
    "say_quantity",
    "say_time",
]
