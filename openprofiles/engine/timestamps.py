"""SourceLastUpdatedTimestampFormat: ``EpochMilli`` or a Java SimpleDateFormat pattern.

The pattern is translated once into a ``strptime`` format (the common letters: y M d H h m s S
a E Z X and quoted literals); a value that does not parse gives no timestamp, so the object is
then ordered by arrival like any other.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

_TOKENS = {
    "yyyy": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%m", "dd": "%d",
    "d": "%d", "HH": "%H", "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M", "ss": "%S",
    "s": "%S", "SSS": "%f", "SS": "%f", "S": "%f", "a": "%p", "EEEE": "%A", "EEE": "%a",
    "XXX": "%z", "XX": "%z", "X": "%z", "Z": "%z", "z": "%Z",
}  # fmt: skip
_PIECE = re.compile(r"'([^']*)'|(y+|M+|d+|H+|h+|m+|s+|S+|a|E+|X+|Z|z)|(.)", re.S)


@functools.lru_cache(maxsize=256)
def strptime_format(pattern: str) -> str:
    out = []
    for quoted, token, other in _PIECE.findall(pattern):
        if token:
            out.append(_TOKENS.get(token, _TOKENS.get(token[:4], token)))
        else:
            out.append((quoted or other).replace("%", "%%"))
    return "".join(out)


def parse_source_timestamp(value: str, pattern: str) -> float | None:
    """Epoch seconds of ``value`` read with ``pattern``, or None if it does not parse."""
    try:
        if pattern == "EpochMilli":
            return int(value) / 1000
        moment = datetime.strptime(value.replace("Z", "+0000"), strptime_format(pattern))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
