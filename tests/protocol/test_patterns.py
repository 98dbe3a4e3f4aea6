"""The model's patterns that the validator compiles with ``re`` (those without ``\\p`` classes)
answer as ``regex``, the engine AWS's patterns are written for, on valid and invalid strings."""

from __future__ import annotations

import re

import pytest
import regex

from openprofiles.protocol.specs import SERVICES, service_model
from openprofiles.protocol.validate import _pattern
from tests.protocol.wire import sample_string

PROBES = ["", " ", "a", "A1_-.", "abc def", "é", "日本", "\x01", "!", "#tag", "a/b:c=d+e@f", "x" * 300,
          "0123456789", "arn:aws:profile:us-east-1:123456789012:domains/d", "Ä\u00a0b", "\n", "a\nb"]


def _patterns() -> list[str]:
    found = set()
    for service in SERVICES:
        model = service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern:
                found.add(pattern)
    return sorted(found)


PATTERNS = _patterns()


def test_both_engines_are_in_use() -> None:
    from_re = [p for p in PATTERNS if isinstance(_pattern(p), re.Pattern)]
    assert from_re
    assert len(from_re) < len(PATTERNS)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_answers_as_regex_does(pattern: str) -> None:
    compiled = _pattern(pattern)
    if not isinstance(compiled, re.Pattern):
        assert "\\p" in pattern or "\\P" in pattern
        return
    probes = list(PROBES)
    try:
        valid = sample_string(pattern, 1, 64)
        probes += [valid, valid + "!", "!" + valid, valid.upper(), valid + " " + valid]
    except ValueError:
        pass
    reference = regex.compile(pattern)
    for text in probes:
        assert (compiled.search(text) is None) == (reference.search(text) is None), text
