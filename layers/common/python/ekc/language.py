"""Ukrainian grammar that every door needs: the form of a noun after a count."""

from __future__ import annotations


def plural_uk(n: int, one: str, few: str, many: str) -> str:
    """The noun form after the whole number n: 1 цифру, 2 цифри, 5 цифр, 11 цифр, 21 цифру, 0 цифр."""
    n = abs(n)
    if n % 100 in (11, 12, 13, 14):
        return many
    if n % 10 == 1:
        return one
    if n % 10 in (2, 3, 4):
        return few
    return many
