"""Who may import whom (STYLE.md): the business rules know nothing of GraphQL or HTTP,
jobs never reach into the schema, and models import nothing of ours but models."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "services": ("strawberry", "starlette", "schema", "resolvers", "loaders", "uvicorn"),
    "models": ("strawberry", "starlette", "schema", "resolvers", "loaders", "services", "core"),
    "jobs": ("schema", "resolvers", "strawberry"),
    "loaders": ("schema", "resolvers", "strawberry"),
    "auth": ("resolvers", "loaders"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_it_may(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # alembic's environment reads the runtime's settings, by design
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[package]:
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


def test_the_architecture_test_sees_real_files() -> None:
    assert len(list((ROOT / "services").rglob("*.py"))) > 3
    assert "sqlalchemy" in _imports(ROOT / "services" / "vehicles" / "catalog.py")
