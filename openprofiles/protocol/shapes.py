"""Functions built once per shape of a model (the parser's decoders, the serializer's encoders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import Shape

Convert = Callable[[Any], Any]


class PerShape:
    """Builds, once per shape, the function that converts a value of it, or None where values
    stay as they are; a recursive shape refers to itself through a late lookup. Subclasses say
    how in ``build``, and may add to the shape's ``key``."""

    def __init__(self) -> None:
        self.done: dict[str, Convert | None] = {}
        self.pending: set[str] = set()

    def key(self, shape: Shape) -> str:
        return f"{shape.type_name}:{shape.name}"

    def of(self, shape: Shape) -> Convert | None:
        key = self.key(shape)
        if key in self.pending:
            return lambda value: self._late(key, value)
        if key not in self.done:
            self.pending.add(key)
            self.done[key] = self.build(shape)
            self.pending.discard(key)
        return self.done[key]

    def _late(self, key: str, value: Any) -> Any:
        convert = self.done[key]
        return value if convert is None else convert(value)

    def build(self, shape: Shape) -> Convert | None:
        raise NotImplementedError
