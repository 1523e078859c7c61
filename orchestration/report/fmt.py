"""Number formatting for the report: every formatter turns a missing figure into "n/a"."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime

import pandas as pd

NA = "n/a"


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):  # lists and other non-scalars
        return False


def _number(value: object) -> float | None:
    """The value as a float, or None for null, NaN, pandas NA and non-numbers."""
    if _missing(value) or isinstance(value, bool | str):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def pct(value: object, digits: int = 1) -> str:
    """A share as a percentage. A share that is not exactly 0 or 1 never shows as 0% or 100%
    (99.996% covered is not full coverage): it gets more digits instead."""
    number = _number(value)
    if number is None:
        return NA
    text = f"{number * 100:.{digits}f}%"
    while digits < 4 and number not in (0.0, 1.0) and text.lstrip("-") in _whole(digits):
        digits += 1
        text = f"{number * 100:.{digits}f}%"
    return text


def _whole(digits: int) -> tuple[str, str]:
    return (f"{0:.{digits}f}%", f"{100:.{digits}f}%")


def pct_points(value: object) -> str:
    """A difference of two shares, in percentage points with its sign."""
    number = _number(value)
    return NA if number is None else f"{number * 100:+.1f} pp"


def usd(value: object) -> str:
    """Compact US dollars: $950, $12.3K, $4.56M, $1.05B."""
    number = _number(value)
    if number is None:
        return NA
    sign = "-" if number < 0 else ""
    number = abs(number)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if number >= threshold:
            return f"{sign}${number / threshold:.3g}{suffix}"
    return f"{sign}${number:,.0f}"


def integer(value: object) -> str:
    number = _number(value)
    return NA if number is None else f"{round(number):,}"


def multiple(value: object) -> str:
    number = _number(value)
    return NA if number is None else f"{number:.2f}×"


def score(value: object) -> str:
    number = _number(value)
    return NA if number is None else f"{number:.2f}"


def days(value: object) -> str:
    number = _number(value)
    return NA if number is None else f"{round(number):,} days"


def day(value: object) -> str:
    if _missing(value):
        return NA
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def text(value: object) -> str:
    if _missing(value):
        return NA
    return str(value) or NA


FORMATTERS: dict[str, Callable[[object], str]] = {
    "pct": pct,
    "pp": pct_points,
    "usd": usd,
    "int": integer,
    "x": multiple,
    "score": score,
    "days": days,
    "date": day,
    "text": text,
}
