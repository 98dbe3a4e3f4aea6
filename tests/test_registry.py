"""The handler registry agrees with the service models, and the coverage table lists them all."""

from __future__ import annotations

from collections import Counter

import pytest
from botocore import xform_name

from openprofiles.protocol.specs import SERVICES, service_model
from openprofiles.services import registry


def test_every_handler_is_an_operation_of_its_model() -> None:
    handlers = registry.load()
    assert handlers, "no handler registered"
    unknown = [
        (service, name)
        for service, name in handlers
        if service not in SERVICES or name not in service_model(service).operation_names
    ]
    assert unknown == []


def test_handlers_are_named_after_their_operation() -> None:
    misnamed = {
        (service, name): handler.__name__
        for (service, name), handler in registry.load().items()
        if handler.__name__ != xform_name(name)
    }
    assert misnamed == {}


def test_handlers_live_in_the_services_package() -> None:
    misplaced = {
        (service, name): handler.__module__
        for (service, name), handler in registry.load().items()
        if not handler.__module__.startswith("openprofiles.services.")
    }
    assert misplaced == {}


def test_coverage_lists_every_operation_exactly_once() -> None:
    table = registry.coverage()
    counts = Counter((service, name) for service, name, _ in table)
    assert [key for key, count in counts.items() if count != 1] == []
    expected = {(s, name) for s in SERVICES for name in service_model(s).operation_names}
    assert set(counts) == expected
    assert len(table) == len(expected)


def test_coverage_marks_exactly_the_registered_operations() -> None:
    handlers = registry.load()
    implemented = {(service, name) for service, name, done in registry.coverage() if done}
    assert implemented == set(handlers)


def test_load_is_idempotent() -> None:
    assert registry.load() == registry.load()


def test_registering_an_operation_twice_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_HANDLERS", {})
    operation = registry.Registrar("connect")

    @operation("DescribeQueue")
    def describe_queue(ctx: object, req: dict) -> dict:
        return {}

    with pytest.raises(RuntimeError, match="registered twice"):
        operation("DescribeQueue")(describe_queue)
