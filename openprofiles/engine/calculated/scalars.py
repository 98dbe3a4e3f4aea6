"""Numbers and instants as calculated attributes read them from object values (which are text).

Numbers are decimals, not floats, so that sums of prices stay exact (``10.10 + 20.20`` is
``30.30``, not ``30.299999999999997``), and are written back without a trailing ``.0``. Instants
are ISO-8601 (offset ``Z``, ``+HH:MM`` or ``+HHMM``; no offset means UTC) or epoch numbers, which
are seconds below 10^11 and milliseconds above (10^11 seconds is the year 5138, 10^11
milliseconds 1973), as the documented EPOCHMILLI format allows either precision.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow

#: the arithmetic of every calculation: 28 significant digits, errors raised (not NaN)
CONTEXT = Context(prec=28, traps=[InvalidOperation, DivisionByZero, Overflow])
#: the errors CONTEXT raises: an operation without a defined result
ARITHMETIC_ERRORS = (InvalidOperation, DivisionByZero, Overflow)
TIMESTAMP_FORMATS = ("EPOCHMILLI", "ISO_8601")

_NUMBER = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_EPOCH = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
_MILLIS_FROM = 1e11


def parse_number(text: str) -> Decimal | None:
    """The decimal ``text`` writes, or None (NaN, infinities and words are not numbers)."""
    return Decimal(text.strip()) if _NUMBER.match(text) else None


def format_number(value: Decimal) -> str:
    """``30`` for 30.00, ``2.5`` for 2.50; never an exponent."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(CONTEXT), "f")


def parse_instant(text: str, timestamp_format: str | None = None) -> float | None:
    """Epoch seconds of ``text`` in a TimestampFormat (either, by its shape, when None); None
    when it is not one."""
    if timestamp_format != "ISO_8601" and _EPOCH.match(text):
        number = float(text)
        return number / 1000 if abs(number) >= _MILLIS_FROM else number
    if timestamp_format == "EPOCHMILLI":
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
