"""The layers import downwards only.

``engine`` (the rules) and ``store`` (the tables) know nothing of HTTP, of the models or of the
handlers: they must not import the protocol, the services, the front doors or their libraries.
``protocol`` is generic AWS REST-JSON: it must not import the services, the engine or the store.
Every import anywhere in a module counts, including those under ``TYPE_CHECKING`` or in functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import openprofiles

PACKAGE_ROOT = Path(openprofiles.__file__).parent

BELOW_THE_PROTOCOL = (
    "openprofiles.protocol",
    "openprofiles.services",
    "openprofiles.http",
    "openprofiles.gateway",
    "openprofiles.mock",
    "starlette",
    "uvicorn",
    "botocore",
)
PROTOCOL_FORBIDDEN = ("openprofiles.services", "openprofiles.engine", "openprofiles.store")

RULES = [
    ("engine", BELOW_THE_PROTOCOL),
    ("store", BELOW_THE_PROTOCOL),
    ("protocol", PROTOCOL_FORBIDDEN),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module a source imports, relative imports resolved; ``from a import b`` gives both
    ``a`` and ``a.b`` (b may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in names for bad in forbidden if name == bad or name.startswith(bad + ".")
    )


def modules_of(layer: str) -> list[Path]:
    return sorted((PACKAGE_ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize(("layer", "forbidden"), RULES, ids=[layer for layer, _ in RULES])
def test_layer_imports(layer: str, forbidden: tuple[str, ...]) -> None:
    paths = modules_of(layer)
    assert paths, f"no modules under openprofiles/{layer}"
    found = {}
    for path in paths:
        names = imported_names(
            path.read_text("utf-8"), module_name(path), is_package=path.name == "__init__.py"
        )
        bad = violations(names, forbidden)
        if bad:
            found[module_name(path)] = bad
    assert found == {}


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import botocore.model", "openprofiles.engine.x", ["botocore.model"]),
        ("from openprofiles import gateway", "openprofiles.store.x", ["openprofiles.gateway"]),
        (
            "from ..protocol import parser",
            "openprofiles.engine.x",
            ["openprofiles.protocol", "openprofiles.protocol.parser"],
        ),
        ("from .. import services", "openprofiles.engine.x", ["openprofiles.services"]),
        ("def f():\n    import starlette\n", "openprofiles.store.x", ["starlette"]),
        ("if TYPE_CHECKING:\n    from uvicorn import Config\n", "openprofiles.store.x",
         ["uvicorn", "uvicorn.Config"]),
        ("from openprofiles.errors import X\nimport sqlalchemy", "openprofiles.store.x", []),
        ("from openprofiles.mockery import y", "openprofiles.store.x", []),
    ],
)
def test_checker_sees_every_kind_of_import(source: str, module: str, expected: list[str]) -> None:
    assert violations(imported_names(source, module), BELOW_THE_PROTOCOL) == expected
