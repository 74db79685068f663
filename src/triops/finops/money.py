"""Money a person can read: one formatter for every amount triops shows (pure, no I/O).

Amounts are integer micro-units of an ISO 4217 currency (1 EUR = 1,000,000 micros), so nothing here sums
floats. ``format_money`` writes the currency symbol (``€``, ``$``, ``£``, ``¥``) or the code, thousands
separators, and a precision adapted to the magnitude: the currency's minor units for amounts of one unit
or more (``€50.00``), enough decimals for two significant digits below that (``€0.000046``), never more
than the six a micro-unit has. ``format_column`` formats a column of amounts and its total with one
precision, rounding the lines by the largest-remainder method so that they add up to the total as printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

MICROS = 1_000_000
MAX_DECIMALS = 6
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩"}
#: ISO 4217 minor units where they are not 2
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JOD": 3}


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def decimals_for(amounts: Sequence[int], currency: str) -> int:
    """Decimals to show a set of amounts: the minor units if the largest is at least one unit, else as many
    as give the largest two significant digits (at most six)."""
    largest = max((abs(int(a)) for a in amounts), default=0)
    base = minor_units(currency)
    if largest == 0 or largest >= MICROS:
        return base
    digits = len(str(largest))  # 46 micros → 2 digits → 0.000046 needs 6 decimals
    return max(base, min(MAX_DECIMALS, MAX_DECIMALS - digits + 2))


def to_decimal(amount_micros: int) -> Decimal:
    return Decimal(int(amount_micros)) / MICROS


def _render(value: Decimal, currency: str, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""
    body = f"{abs(rounded):,.{decimals}f}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency.upper()}"


def format_money(amount_micros: int, currency: str, *, decimals: int | None = None) -> str:
    """``€1,234.50``, ``€0.000046``, ``-$3.10``, ``1,200.00 CHF``."""
    places = column_decimals([amount_micros], currency) if decimals is None else decimals
    return _render(to_decimal(amount_micros), currency, places)


def round_parts(amounts: Sequence[int], decimals: int) -> list[int]:
    """Round micro-amounts to ``decimals`` places (returned in micros) so the rounded parts add up to the
    rounded total: largest remainder, ties to the earlier line."""
    step = 10 ** (MAX_DECIMALS - max(0, min(decimals, MAX_DECIMALS)))
    values = [int(a) for a in amounts]
    total = sum(values)
    target = int((Decimal(total) / step).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) * step
    floors = [(v // step) * step for v in values]
    remainders = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    missing = (target - sum(floors)) // step
    for i in remainders[:missing]:
        floors[i] += step
    return floors


def column_decimals(amounts: Sequence[int], currency: str) -> int:
    """One precision for a column: by magnitude, or up to two places more when that shows every amount
    exactly (so equal amounts never print differently)."""
    places = decimals_for(amounts, currency)
    for extra in range(min(places, minor_units(currency)), min(places + 2, MAX_DECIMALS) + 1):
        step = 10 ** (MAX_DECIMALS - extra)
        if all(int(a) % step == 0 for a in amounts):
            return extra
    return places


def format_column(amounts: Sequence[int], currency: str) -> tuple[list[str], str]:
    """The lines and the total of a column, in one precision, adding up as printed."""
    total = sum(int(a) for a in amounts)
    places = column_decimals([*amounts, total], currency)
    parts = round_parts(amounts, places)
    return [format_money(p, currency, decimals=places) for p in parts], format_money(
        total, currency, decimals=places
    )


def money_json(amount_micros: int, currency: str) -> dict[str, object]:
    """An amount for JSON answers: exact decimal text, micros, currency and the display form."""
    return {
        "amount": str(to_decimal(amount_micros)),
        "amount_micros": int(amount_micros),
        "currency": currency,
        "display": format_money(amount_micros, currency),
    }


__all__ = [
    "decimals_for",
    "format_column",
    "format_money",
    "minor_units",
    "money_json",
    "round_parts",
    "to_decimal",
]
