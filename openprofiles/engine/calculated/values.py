"""A profile's value of a calculated attribute, from what its objects bring and the clock.

For the profile's unexpired objects of the definition's object type (REFERENCE 3.2-3.5):

1. without UseHistoricalData, only objects ingested (last written) since the definition was
   created count: AWS includes "new object data ingested" after creation unless asked for history;
2. an object is dated by the Range's TimestampSource, read with its TimestampFormat, when there is
   one (an object without a readable date is then left out), else by its ingestion time;
3. the Filter keeps the objects it matches (see `filters`);
4. the Range keeps the objects dated within ``[now - Start, now - End]`` days (``Value`` is Start,
   with End 0), ``now`` being the App clock at the time of the read: the window moves with the
   clock. BatchGetCalculatedAttributeForProfile's ConditionOverrides.Range replaces it;
5. ObjectCount keeps the N most recent (by date, then by arrival);
6. the Expression gives each object's value (None: left out) and the Statistic combines them:
   FIRST_OCCURRENCE / LAST_OCCURRENCE the value of the oldest / newest object; COUNT how many have
   a value; SUM, AVERAGE, MINIMUM, MAXIMUM over the values that are numbers; MAX_OCCURRENCE the
   most frequent value, a tie going to the one seen most recently;
7. a Threshold turns the result into ``"true"`` or ``"false"``: numbers compare as numbers,
   anything else as text.

With no object left (or no number for a numeric statistic) there is no Value: AWS shows null until
data arrives. LastObjectTimestamp is the date (step 2) of the newest object that gave a value.
IsDataPartial is ``"false"``: every stored object counts, nothing is sampled, and a definition's
backfill is done when its create call returns (see `observations`). A merged profile holds the
objects of the profiles merged into it, so its values cover them all.

Steps 1-3 and the Expression depend on one object only; 4-7 on the set and the clock. `observe`
gives the first part, computed when an object is written and stored as its observation (see
`observations`); `aggregate` the second, on every read, over the profile's stored observations:
no document is read, and the Range follows the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.calculated.definitions import Definition
from openprofiles.engine.calculated.scalars import (
    ARITHMETIC_ERRORS,
    CONTEXT,
    format_number,
    parse_instant,
    parse_number,
)
from openprofiles.engine.mapping import Source, compile_source
from openprofiles.engine.object_types import Field
from openprofiles.store import calculated as store

_DAY = 86400.0
#: the longest Value the API returns (string1To255)
_MAX_VALUE = 255


@dataclass(frozen=True, slots=True)
class StoredObject:
    id: int
    record: dict[str, Any]
    ingested_at: float


@dataclass(frozen=True, slots=True)
class Observation:
    """What one object brings to a calculated attribute: its date and its Expression value."""

    object_id: int
    timestamp: float
    value: str | None


@dataclass(frozen=True, slots=True)
class CalculatedValue:
    value: str | None
    last_object_timestamp: float | None
    is_data_partial: bool = False


class Reader:
    """Reads a definition's attributes off an object: a field of the object type through its
    Source, any other name as a path into the object; and the object's TimestampSource."""

    def __init__(self, definition: Definition, fields: dict[str, Field]) -> None:
        names = definition.expression.attributes
        if definition.filter is not None:
            names += definition.filter.attributes
        self.sources: dict[str, Source] = {
            name: fields[name].source if name in fields else compile_source(f"_source.{name}")
            for name in names
        }
        path = definition.timestamp_path
        self.timestamp = None if path is None else compile_source(f"_source.{path}")
        self.timestamp_format = definition.conditions.get("Range", {}).get("TimestampFormat")


def observe(definition: Definition, reader: Reader, stored: StoredObject) -> Observation | None:
    """The object's observation, or None when it does not feed the attribute (steps 1-3)."""
    if not definition.use_historical_data and stored.ingested_at < definition.created_at:
        return None
    record = stored.record
    stamp: float | None = stored.ingested_at
    if reader.timestamp is not None:
        text = reader.timestamp.evaluate(record)
        stamp = None if text is None else parse_instant(text, reader.timestamp_format)
        if stamp is None:
            return None

    def read(name: str) -> str | None:
        return reader.sources[name].evaluate(record)

    if definition.filter is not None and not definition.filter.matches(read):
        return None
    return Observation(stored.id, stamp, definition.expression.evaluate(read))


def aggregate(
    definition: Definition,
    observations: Iterable[Observation],
    now: float,
    range_override: dict[str, Any] | None = None,
) -> CalculatedValue:
    """The value the observations give at ``now`` (steps 4-7)."""
    conditions = definition.conditions
    kept = sorted(observations, key=lambda o: (o.timestamp, o.object_id))
    window = range_window(range_override or conditions.get("Range"))
    if window is not None:
        start, end = now - window[0] * _DAY, now - window[1] * _DAY
        kept = [o for o in kept if start <= o.timestamp <= end]
    if conditions.get("ObjectCount"):
        kept = kept[-conditions["ObjectCount"] :]
    valued = [o for o in kept if o.value is not None]
    result = _statistic(definition.statistic, [o.value for o in valued if o.value is not None])
    if result is None:
        return CalculatedValue(None, None)
    threshold = conditions.get("Threshold")
    if threshold is not None:
        result = "true" if _passes(result, threshold["Operator"], threshold["Value"]) else "false"
    return CalculatedValue(result[:_MAX_VALUE], valued[-1].timestamp)


def range_window(range_: dict[str, Any] | None) -> tuple[int, int] | None:
    """(Start, End) in days before now, of a Range or a RangeOverride (None: no window)."""
    if range_ is None:
        return None
    if "ValueRange" in range_:
        return range_["ValueRange"]["Start"], range_["ValueRange"]["End"]
    if "Start" in range_:
        return range_["Start"], range_.get("End", 0)
    return range_["Value"], 0


def _statistic(statistic: str, values: list[str]) -> str | None:
    if not values:
        return None
    if statistic == "FIRST_OCCURRENCE":
        return values[0]
    if statistic == "LAST_OCCURRENCE":
        return values[-1]
    if statistic == "COUNT":
        return str(len(values))
    if statistic == "MAX_OCCURRENCE":
        counts = Counter(values)
        latest = {value: at for at, value in enumerate(values)}
        return max(counts, key=lambda value: (counts[value], latest[value]))
    numbers = [n for n in map(parse_number, values) if n is not None]
    if not numbers:
        return None
    try:
        with localcontext(CONTEXT):
            if statistic == "SUM":
                return format_number(sum(numbers, Decimal(0)))
            if statistic == "AVERAGE":
                return format_number(sum(numbers, Decimal(0)) / len(numbers))
    except ARITHMETIC_ERRORS:
        return None
    return format_number(min(numbers) if statistic == "MINIMUM" else max(numbers))


def _passes(value: str, operator: str, threshold: str) -> bool:
    number, bound = parse_number(value), parse_number(threshold)
    left: Any = value
    right: Any = threshold
    if number is not None and bound is not None:
        left, right = number, bound
    if operator == "EQUAL_TO":
        return bool(left == right)
    if operator == "NOT_EQUAL_TO":
        return bool(left != right)
    if operator == "GREATER_THAN":
        return bool(left > right)
    return bool(left < right)


# --- reading the store --------------------------------------------------------------------------


def profile_values(
    conn: Connection,
    definitions: list[Definition],
    profile_pk: int,
    now: datetime,
    range_override: dict[str, Any] | None = None,
) -> list[CalculatedValue]:
    """Each definition's value for one profile at ``now``, from the profile's unexpired
    observations (one indexed read per definition)."""
    stamp = now.timestamp()
    return [
        aggregate(
            definition,
            [Observation(*row) for row in store.observations(conn, definition.id, profile_pk, stamp)],
            stamp,
            range_override,
        )
        for definition in definitions
    ]
