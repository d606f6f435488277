"""Stroop amounts as the decimal strings classic operations and people read, and back, exactly.

Both KALE and XLM have seven decimals; money stays an integer of stroops everywhere else.
"""
from __future__ import annotations

from decimal import Decimal

STROOPS_PER_UNIT = 10_000_000


def format_stroops(stroops: int) -> str:
    """`stroops` as a decimal string with all seven places ("12.3400000"), signed when negative."""
    sign = "-" if stroops < 0 else ""
    whole, fraction = divmod(abs(stroops), STROOPS_PER_UNIT)
    return f"{sign}{whole}.{fraction:07d}"


def parse_amount(amount: str | Decimal) -> int:
    """A decimal amount ("12.34") as stroops; more than seven places is an error, never rounded."""
    text = str(amount)
    sign = -1 if text.startswith("-") else 1
    whole, _, fraction = text.lstrip("+-").partition(".")
    if len(fraction) > 7 or not (whole + fraction).isdigit():
        raise ValueError(f"not an amount with at most seven decimals: {text!r}")
    return sign * (int(whole or "0") * STROOPS_PER_UNIT + int((fraction + "0000000")[:7]))
